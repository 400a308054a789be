//! A query string into the Connect GET reader with a small limit: never a panic, never a message
//! over the limit, never an allocation past it.
//!
//! Input layout and checks: `grpc_lambda_proptests::envelope::ConnectGetInput`.
#![no_main]

use grpc_lambda_proptests::counting_alloc::CountingAllocator;
use grpc_lambda_proptests::fuzz_checks::{ConnectGetInput, FuzzInput};
use libfuzzer_sys::fuzz_target;

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

fuzz_target!(|input: ConnectGetInput| input.check());
