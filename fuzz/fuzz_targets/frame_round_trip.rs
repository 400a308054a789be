//! Arbitrary frames encoded under a limit, then decoded in arbitrary chunks: the same frames back,
//! over-limit frames refused whole.
//!
//! Input layout and checks: `grpc_lambda_proptests::fuzz_checks::FrameRoundTripInput`.
#![no_main]

use grpc_lambda_proptests::counting_alloc::CountingAllocator;
use grpc_lambda_proptests::fuzz_checks::{FrameRoundTripInput, FuzzInput};
use libfuzzer_sys::fuzz_target;

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

fuzz_target!(|input: FrameRoundTripInput| input.check());
