//! Raw bytes into a `FrameDecoder` reading one protocol's envelope (gRPC, gRPC-Web, Connect
//! streaming), with a small limit, in arbitrary chunks: never a panic, never an allocation past
//! the limit, never a flag another protocol owns let through, never a disagreement with the
//! reference reader.
//!
//! Input layout and checks: `grpc_lambda_proptests::envelope::EnvelopeInput`.
#![no_main]

use grpc_lambda_proptests::counting_alloc::CountingAllocator;
use grpc_lambda_proptests::fuzz_checks::{EnvelopeInput, FuzzInput};
use libfuzzer_sys::fuzz_target;

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

fuzz_target!(|input: EnvelopeInput| input.check());
