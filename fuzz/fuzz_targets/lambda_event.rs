//! Every event shape the Lambda shim accepts, built from the input (and raw JSON too), run end to
//! end through `Shim::invoke` with an echo handler: never a panic, always a well-formed response,
//! the echo back for a valid gRPC-Web call.
//!
//! Input layout and checks: `grpc_lambda_proptests::lambda_event::LambdaEventInput`.
#![no_main]

use grpc_lambda_proptests::counting_alloc::CountingAllocator;
use grpc_lambda_proptests::fuzz_checks::{FuzzInput, LambdaEventInput};
use libfuzzer_sys::fuzz_target;

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

fuzz_target!(|input: LambdaEventInput| input.check());
