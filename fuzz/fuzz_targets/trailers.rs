//! Raw gRPC-Web trailer blocks, alone and inside a trailer frame cut in arbitrary chunks, against
//! the reference reader.
//!
//! Input layout and checks: `grpc_lambda_proptests::fuzz_checks::TrailersInput`.
#![no_main]

use grpc_lambda_proptests::counting_alloc::CountingAllocator;
use grpc_lambda_proptests::fuzz_checks::{FuzzInput, TrailersInput};
use libfuzzer_sys::fuzz_target;

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

fuzz_target!(|input: TrailersInput| input.check());
