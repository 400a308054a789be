//! The SIMD engines behind the module's one API, and which one runs for which input length.
//!
//! - Our own kernels ([`super::kernel`]), on x86_64 CPUs with AVX-512 VBMI or AVX2,
//!   detected at runtime under `std`: they decode every length, SIMD to the last byte, into
//!   uninitialized memory. Where one runs, nothing below decodes. The AVX-512 VBMI one encodes
//!   too.
//! - [base64-simd](https://docs.rs/base64-simd): AVX2/SSSE3/NEON/WASM chosen at runtime under
//!   `std` (from the compile-time target features without it). It writes into uninitialized
//!   memory and has the smallest fixed cost per call of the two crates: it encodes everything
//!   our AVX-512 VBMI kernel does not,
//!   decodes short runs, and decodes everything in a build without the `base64` crate's engine.
//! - The `base64` crate's `engine::Simd` (AVX2 on x86_64, NEON on aarch64, detected at runtime,
//!   so only under `std`): the faster decoding kernel of the two crates on long runs, even though
//!   it needs its output zeroed first.
//!
//! The threshold below is a measurement, not a guess: the two crates' engines timed against each
//! other on the same inputs from 16 to 2048 characters (the criterion group `base64 decode` shows
//! both ends, 64 B and 1 KiB).

use super::{append_uninit, kernel, Output, PAD};
use base64_simd::{Out, STANDARD};

/// Runs of at least this many base64 characters are decoded by the `base64` crate's engine, when
/// the build has it (`std`, on x86_64 or aarch64 with NEON); shorter ones by base64-simd.
///
/// On AVX2, output zeroing included, base64-simd is the faster for short inputs and the `base64`
/// crate's kernel for long ones; the crossing point is measured in `benches/README.md` (P1). For
/// encoding base64-simd was the faster at every length measured, so it encodes everything.
pub(super) const WIDE_DECODE_MIN: usize = 512;

/// Whether runs of `len` characters go to the `base64` crate's engine.
#[inline]
pub(super) fn prefers_wide(len: usize) -> bool {
    wide::AVAILABLE && len >= WIDE_DECODE_MIN
}

/// Decodes one segment — whole groups, padding at most in the last one — appending to `out`, with
/// the fastest engine this CPU has for its length: one of our own kernels where the CPU runs it, else the
/// `base64` crate's engine for long runs (into zeroed room) and base64-simd for short ones (into
/// spare capacity).
///
/// Answers `false`, leaving `out` as it was, when the engine refuses the segment: padding in the
/// middle (several segments) or a byte that is not base64.
#[inline]
pub(super) fn decode_run(input: &[u8], out: &mut impl Output) -> bool {
    let max = input.len() / 4 * 3;
    if let Some(kernel) = kernel::Kernel::detect() {
        return append_uninit(out, max, |spare| kernel.decode(input, spare));
    }
    if prefers_wide(input.len()) {
        let start = out.written();
        let decoded = wide::decode(input, out.zero_extend(max));
        out.truncate_to(start + decoded.unwrap_or(0));
        return decoded.is_some();
    }
    append_uninit(out, max, |spare| {
        STANDARD.decode(input, Out::from_uninit_slice(spare)).ok()
    })
}

/// Encodes `input` with padding, appending to `out`: with our AVX-512 VBMI kernel where the CPU
/// runs it, else with base64-simd.
#[inline]
pub(super) fn encode(input: &[u8], out: &mut impl Output) {
    let len = super::encoded_len(input.len());
    let written = append_uninit(out, len, |spare| match kernel::Kernel::detect() {
        Some(kernel) if kernel.encodes() => kernel.encode(input, spare),
        _ => Some(STANDARD.encode(input, Out::from_uninit_slice(spare))),
    });
    if !written {
        // base64-simd hands back the prefix of the buffer it was given, so this is never taken;
        // the reference keeps the answer right if that ever changes.
        super::scalar::encode(input, out);
    }
}

/// The position of the first `=` in `input`.
///
/// Eight bytes at a time: `x ^ "========"` has a zero byte where `input` has a `=`, and
/// `(v - 0x01…01) & !v & 0x80…80` flags the lowest zero byte of `v` exactly (a borrow can only
/// flag bytes above a true zero).
pub(super) fn find_padding(input: &[u8]) -> Option<usize> {
    const ONES: u64 = u64::from_le_bytes([0x01; 8]);
    const HIGHS: u64 = u64::from_le_bytes([0x80; 8]);
    const PADS: u64 = u64::from_le_bytes([PAD; 8]);
    let flags = |word: u64| {
        let x = word ^ PADS;
        x.wrapping_sub(ONES) & !x & HIGHS
    };
    let mut words = input.chunks_exact(8);
    for (index, word) in (&mut words).enumerate() {
        let word = u64::from_le_bytes(<[u8; 8]>::try_from(word).unwrap_or([0; 8]));
        let found = flags(word);
        if found != 0 {
            return Some(index * 8 + (found.trailing_zeros() / 8) as usize);
        }
    }
    let tail_start = input.len() - words.remainder().len();
    words
        .remainder()
        .iter()
        .position(|&byte| byte == PAD)
        .map(|at| tail_start + at)
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

    #[inline]
    pub(super) fn decode(input: &[u8], target: &mut [u8]) -> Option<usize> {
        engine().decode_slice(input, target).ok()
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
    /// Whether this engine exists in this build.
    pub(super) const AVAILABLE: bool = false;

    pub(super) fn decode(_input: &[u8], _target: &mut [u8]) -> Option<usize> {
        None
    }
}
