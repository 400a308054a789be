//! The SIMD engines behind the module's one API, and which one runs for which input length.
//!
//! - [base64-simd](https://docs.rs/base64-simd): AVX2/SSSE3/NEON/WASM chosen at runtime under
//!   `std` (compile-time target features without it). It writes into uninitialized memory and has
//!   the smallest fixed cost, so it takes short runs, and everything in a `no_std` build.
//! - The `base64` crate's `engine::Simd` (AVX2 on x86_64, NEON on aarch64, detected at runtime, so
//!   only under `std`): the faster kernel on long runs, even though it needs its output zeroed.
//!
//! The thresholds below are measurements (`benches/benches/base64.rs`), not guesses.

use super::{append_uninit, scalar, Output, PAD};
use base64_simd::{Out, STANDARD};

/// Runs of at least this many base64 characters are decoded by the `base64` crate's engine (under
/// `std` on x86_64 and aarch64); shorter ones by base64-simd.
pub const WIDE_DECODE_MIN: usize = 1024;

/// Runs of at least this many bytes are encoded by the `base64` crate's engine (under `std` on
/// x86_64 and aarch64); shorter ones by base64-simd.
pub const WIDE_ENCODE_MIN: usize = 1 << 20;

/// Decodes one segment — whole groups, padding at most in the last one — appending to `out`.
///
/// Answers `false`, leaving `out` as it was, when the engine refuses the segment: padding in the
/// middle (several segments) or a byte that is not base64. The caller then cuts the input at the
/// padding, or asks the scalar reference where the error is.
#[inline]
pub(super) fn decode_segment(input: &[u8], out: &mut impl Output) -> bool {
    if wide::AVAILABLE && input.len() >= WIDE_DECODE_MIN {
        return wide::decode(input, out);
    }
    let max = input.len() / 4 * 3;
    append_uninit(out, max, |spare| {
        STANDARD.decode(input, Out::from_uninit_slice(spare)).ok()
    })
}

/// Encodes `input` with padding, appending to `out`.
#[inline]
pub(super) fn encode(input: &[u8], out: &mut impl Output) {
    if wide::AVAILABLE && input.len() >= WIDE_ENCODE_MIN {
        return wide::encode(input, out);
    }
    let len = super::encoded_len(input.len());
    let written = append_uninit(out, len, |spare| {
        Some(STANDARD.encode(input, Out::from_uninit_slice(spare)))
    });
    if !written {
        // base64-simd hands back the prefix of the buffer it was given, so this is never taken;
        // the reference keeps the answer right if that ever changes.
        scalar::encode(input, out);
    }
}

/// The position of the first `=` in `input`.
///
/// Scans 32 bytes at a time with a test the compiler turns into vector compares; only the block
/// holding a `=` is searched byte by byte.
pub(super) fn find_padding(input: &[u8]) -> Option<usize> {
    const BLOCK: usize = 32;
    let mut blocks = input.chunks_exact(BLOCK);
    let mut start = 0;
    for block in &mut blocks {
        if let Ok(block) = <&[u8; BLOCK]>::try_from(block) {
            if block
                .iter()
                .fold(false, |found, &byte| found | (byte == PAD))
            {
                return block
                    .iter()
                    .position(|&byte| byte == PAD)
                    .map(|at| start + at);
            }
        }
        start += BLOCK;
    }
    blocks
        .remainder()
        .iter()
        .position(|&byte| byte == PAD)
        .map(|at| start + at)
}

/// The `base64` crate's runtime-detected engine.
#[cfg(all(
    feature = "std",
    any(
        target_arch = "x86_64",
        all(target_arch = "aarch64", target_feature = "neon")
    )
))]
mod wide {
    use super::super::Output;
    use super::scalar;
    use ::base64::engine::{general_purpose::GeneralPurposeConfig, Simd};
    use ::base64::Engine as _;
    use std::sync::OnceLock;

    /// Whether this engine exists in this build.
    pub(super) const AVAILABLE: bool = true;

    /// Built once: the constructor detects the CPU. The default configuration is the strict one:
    /// padding required and canonical, no trailing bits.
    fn engine() -> &'static Simd {
        static ENGINE: OnceLock<Simd> = OnceLock::new();
        ENGINE.get_or_init(|| Simd::standard(GeneralPurposeConfig::new()))
    }

    pub(super) fn decode(input: &[u8], out: &mut impl Output) -> bool {
        let start = out.written();
        // This engine needs initialized output: the zeroing is part of its measured cost.
        let buf = out.zero_extend(input.len() / 4 * 3);
        match engine().decode_slice(input, buf) {
            Ok(written) => {
                out.truncate_to(start + written);
                true
            }
            Err(_) => {
                out.truncate_to(start);
                false
            }
        }
    }

    pub(super) fn encode(input: &[u8], out: &mut impl Output) {
        let start = out.written();
        let buf = out.zero_extend(super::super::encoded_len(input.len()));
        match engine().encode_slice(input, buf) {
            Ok(written) => out.truncate_to(start + written),
            Err(_) => {
                out.truncate_to(start);
                scalar::encode(input, out);
            }
        }
    }
}

/// Without `std`, or on other targets, base64-simd takes every length.
#[cfg(not(all(
    feature = "std",
    any(
        target_arch = "x86_64",
        all(target_arch = "aarch64", target_feature = "neon")
    )
)))]
mod wide {
    use super::super::Output;

    /// Whether this engine exists in this build.
    pub(super) const AVAILABLE: bool = false;

    pub(super) fn decode(_input: &[u8], _out: &mut impl Output) -> bool {
        false
    }

    pub(super) fn encode(_input: &[u8], _out: &mut impl Output) {}
}
