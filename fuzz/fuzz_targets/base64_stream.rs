//! Streaming base64, differential against the `base64` crate: decoding, encoding, padded segments
//! and gRPC-Web-text frame streams, cut in arbitrary chunks.
//!
//! Input layout and checks: `grpc_lambda_proptests::fuzz_checks::Base64Input`.
#![no_main]

use grpc_lambda_proptests::counting_alloc::CountingAllocator;
use grpc_lambda_proptests::fuzz_checks::{Base64Input, FuzzInput};
use libfuzzer_sys::fuzz_target;

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

fuzz_target!(|input: Base64Input| input.check());
