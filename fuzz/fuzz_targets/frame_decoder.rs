//! Raw bytes into a `FrameDecoder` with a small limit, in arbitrary chunks: never a panic, never an
//! allocation past the limit, never a disagreement with itself or the reference reader.
//!
//! Input layout and checks: `grpc_lambda_proptests::fuzz_checks::FrameDecoderInput`.
#![no_main]

use grpc_lambda_proptests::counting_alloc::CountingAllocator;
use grpc_lambda_proptests::fuzz_checks::{FrameDecoderInput, FuzzInput};
use libfuzzer_sys::fuzz_target;

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

fuzz_target!(|input: FrameDecoderInput| input.check());
