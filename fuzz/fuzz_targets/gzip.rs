//! `grpc-encoding: gzip` payloads: never past the limit, in output or in allocation.
//!
//! Input layout and checks: `grpc_lambda_proptests::fuzz_checks::GzipInput`.
#![no_main]

use grpc_lambda_proptests::counting_alloc::CountingAllocator;
use grpc_lambda_proptests::fuzz_checks::{FuzzInput, GzipInput};
use libfuzzer_sys::fuzz_target;

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

fuzz_target!(|input: GzipInput| input.check());
