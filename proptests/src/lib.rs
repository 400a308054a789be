//! Property suites and fuzz checks for `grpc-lambda-core` and `grpc-lambda-protocol`: everything
//! that parses input.
//!
//! One place holds every check. The property suites in `tests/` call them with values drawn by
//! [`strategies`], the libFuzzer targets in `fuzz/` call them with inputs read from raw fuzz bytes
//! ([`fuzz_checks`]), and the regression test replays every saved crash and every seed through the
//! same code.
//!
//! - [`chunking`]: how a stream is cut into the chunks a decoder is fed.
//! - [`check`]: the shared round-trip helper ([`check::check_round_trip`]) and the checks built on
//!   it.
//! - [`model`]: slow, obviously correct reference readers written from the protocol text, that the
//!   fast code is compared with.
//! - [`counting_alloc`]: a global allocator that records the largest single allocation.
//! - [`envelope`]: each protocol's envelope flags, and the Connect GET query reader.
//! - [`fuzz_checks`]: the fuzz inputs, whose `Debug` output is Rust that rebuilds them.
//! - [`event_reference`]: a reference reading of Lambda event JSON, and the event reader's
//!   contract checked against it.
//! - [`lambda_event`]: every event shape the Lambda shim accepts, run through it end to end.
//! - [`proxy_response`]: every response shape the proxy reads from a function.
//!
//! ```
//! use grpc_lambda_core::Frame;
//! use grpc_lambda_proptests::{check, chunking::Chunking};
//!
//! let frames = [Frame::message("hi".into()), Frame::trailers_block("grpc-status: 0\r\n".into())];
//! check::check_frames(&frames, 1024, &[Chunking::Whole, Chunking::EveryByte]);
//! ```
#![deny(missing_docs)]

pub mod check;
pub mod chunking;
pub mod counting_alloc;
pub mod envelope;
pub mod event_reference;
pub mod fuzz_checks;
pub mod lambda_event;
pub mod model;
pub mod proxy_response;
#[cfg(feature = "strategies")]
pub mod strategies;
