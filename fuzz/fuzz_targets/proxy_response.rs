//! The proxy's reading of a function's response, in every shape it accepts (headers as strings,
//! lists or pairs; base64 or text bodies; the streaming prelude) and as raw bytes: never a panic,
//! the status, headers and body read back exactly.
//!
//! Input layout and checks: `grpc_lambda_proptests::proxy_response::ProxyResponseInput`.
#![no_main]

use grpc_lambda_proptests::counting_alloc::CountingAllocator;
use grpc_lambda_proptests::fuzz_checks::{FuzzInput, ProxyResponseInput};
use libfuzzer_sys::fuzz_target;

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

fuzz_target!(|input: ProxyResponseInput| input.check());
