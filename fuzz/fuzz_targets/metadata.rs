//! `grpc-timeout`, `-bin` values, `grpc-message` percent-encoding, content types, status codes and
//! statuses in trailer frames.
//!
//! Input layout and checks: `grpc_lambda_proptests::fuzz_checks::MetadataInput`.
#![no_main]

use grpc_lambda_proptests::counting_alloc::CountingAllocator;
use grpc_lambda_proptests::fuzz_checks::{FuzzInput, MetadataInput};
use libfuzzer_sys::fuzz_target;

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

fuzz_target!(|input: MetadataInput| input.check());
