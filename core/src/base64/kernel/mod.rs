//! Our own kernels for x86_64, chosen at runtime under `std`: AVX-512 VBMI (Ice Lake and later,
//! Zen 4 and later), which decodes and encodes, and AVX2 (everything x86_64 Lambda runs on), which
//! decodes (base64-simd's AVX2 encoder encodes there).
//!
//! Why our own: the engines we measured pay a fixed cost per call that streaming multiplies. They
//! decode whole 32-character blocks with SIMD and finish each call's last partial block one
//! group at a time, and the faster of the two also needs its output zeroed first. A stream read
//! in 1000-byte chunks makes a thousand calls per MiB, and those scalar tails alone cost 30% over
//! one call on the whole body. Here every call is SIMD from its first byte to its last, into
//! uninitialized memory, and never past the end of its input or output:
//!
//! - AVX-512 VBMI, 64 characters a block: one `vpermi2b` maps each byte through a 128-entry table
//!   to its 6-bit value (bytes outside the alphabet, and every byte with the top bit set, flag
//!   bit 7), two multiply-adds pack four values into 24 bits, one `vpermb` gathers the 48 output
//!   bytes, and a masked store writes exactly those 48.
//! - AVX2, 32 characters a block: two nibble-indexed `vpshufb` tables validate every byte (a byte
//!   is in the alphabet exactly when its two table entries share no bit), a third turns each
//!   character into its value by adding an offset chosen by its high nibble (`/` adjusted), the
//!   same two multiply-adds pack, and one `vpshufb` and one `vpermd` gather 24 bytes. While room
//!   allows, each block is stored whole (32 bytes) and the next block rewrites the spare 8;
//!   otherwise exactly its 24.
//! - The last partial block: for an input of at least one block, the input's last block again,
//!   overlapping what is already decoded (whole groups, so it decodes to the same bytes), stored
//!   as the output's last bytes. For a shorter input, a load masked to the input (lanes past it
//!   read as `A` and are never fetched) and exactly its bytes written out.
//! - A padded last group (`xx==`, `xxx=`) is the only one the scalar reference decodes, since it
//!   also checks that its unused bits are zero.
//!
//! A kernel answers like the other engines: whole groups in, padding only in the last group, `None`
//! for anything else, leaving error location to the scalar reference.
//!
//! Encoding, AVX-512 VBMI, 48 bytes to 64 characters a block: one `vpermb` spreads each group's
//! three bytes over a 32-bit lane so that its 24 bits read from the top, one `vpmultishiftqb`
//! lifts the four 6-bit values into bytes, and a second `vpermb` looks each up in the alphabet,
//! which fits in one register. The last, shorter block is loaded masked to the bytes left and
//! stored masked to its characters; a last partial group (1 or 2 bytes, padded) is the scalar
//! reference's.
//!
//! `GRPC_LAMBDA_BASE64_KERNEL` (`avx512vbmi`, `avx2` or `none`), read once, picks a kernel below
//! the best the CPU has, or none (the crates' engines then decode): for comparing them, and as a
//! way out should one ever misbehave on some CPU.

use super::{scalar, PAD};
use core::mem::MaybeUninit;

#[cfg(all(feature = "std", target_arch = "x86_64"))]
#[allow(unsafe_code)]
mod x86;

/// A kernel this CPU runs: only [`Kernel::detect`] makes one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Kernel {
    isa: Isa,
}

/// The instruction sets a kernel is written for.
// Without `std` or off x86_64 no kernel is ever made.
#[cfg_attr(not(all(feature = "std", target_arch = "x86_64")), allow(dead_code))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Isa {
    /// AVX2: 32 characters a block.
    Avx2,
    /// AVX-512 F, BW and VBMI: 64 characters a block.
    Avx512Vbmi,
}

impl Kernel {
    /// The kernel to use on this CPU, if any. Detected once; after that one relaxed atomic load.
    #[inline]
    pub(super) fn detect() -> Option<Self> {
        #[cfg(all(test, feature = "std"))]
        if let Some(choice) = switch::get() {
            return choice.and_then(Self::supported);
        }
        detected().map(|isa| Self { isa })
    }

    /// A kernel for `isa` when this CPU runs it (the tests pick each in turn).
    #[cfg(test)]
    pub(super) fn supported(isa: Isa) -> Option<Self> {
        #[cfg(all(feature = "std", target_arch = "x86_64"))]
        if x86::supports(isa) {
            return Some(Self { isa });
        }
        let _ = isa;
        None
    }

    /// Which kernel this is.
    #[cfg(test)]
    pub(super) fn isa(self) -> Isa {
        self.isa
    }

    /// Decodes `input` (whole groups, padding at most in the last one) into the start of `out`,
    /// which must have room for `input.len() / 4 * 3` bytes, and answers the initialized prefix.
    ///
    /// `None` when the input is not one such segment (a byte outside the alphabet, padding
    /// anywhere but the end, unused bits set in a padded group) or when `out` is too short;
    /// what was written to `out` is then meaningless.
    #[inline]
    pub(super) fn decode<'a>(
        self,
        input: &[u8],
        out: &'a mut [MaybeUninit<u8>],
    ) -> Option<&'a mut [u8]> {
        if !input.len().is_multiple_of(4) || out.len() < input.len() / 4 * 3 {
            return None;
        }
        // Only the last group may be padded; it goes to the reference, which also checks its
        // unused bits. A `=` anywhere else is outside the kernels' tables and refused there.
        let (body, last) = match input.split_last_chunk::<4>() {
            Some((body, last)) if last[3] == PAD => (body, Some(*last)),
            _ => (input, None),
        };
        let body_len = body.len() / 4 * 3;
        let (decoded, rest) = out.split_at_mut(body_len);
        if !self.decode_body(body, decoded) {
            return None;
        }
        let mut len = body_len;
        if let Some(last) = last {
            let group = scalar::decode_group(last, 0).ok()?;
            let bytes = group.as_slice();
            let slot = rest.get_mut(..bytes.len())?;
            for (slot, &byte) in slot.iter_mut().zip(bytes) {
                slot.write(byte);
            }
            len += bytes.len();
        }
        init::initialized(out, len)
    }

    /// Whether this kernel encodes: AVX-512 VBMI does; on AVX2, base64-simd's AVX2 encoder runs.
    #[inline]
    pub(super) fn encodes(self) -> bool {
        self.isa == Isa::Avx512Vbmi
    }

    /// Encodes `input` with padding into the start of `out`, which must have room for
    /// `4 * ceil(input.len() / 3)` characters, and answers the initialized prefix; `None` when
    /// this kernel has no encoder ([`Kernel::encodes`]) or `out` is too short.
    #[inline]
    pub(super) fn encode<'a>(
        self,
        input: &[u8],
        out: &'a mut [MaybeUninit<u8>],
    ) -> Option<&'a mut [u8]> {
        let whole = input.len() / 3 * 3;
        let (body, tail) = input.split_at(whole);
        let body_len = whole / 3 * 4;
        let len = super::encoded_len(input.len());
        if out.len() < len {
            return None;
        }
        let (encoded, rest) = out.split_at_mut(body_len);
        if !self.encode_body(body, encoded) {
            return None;
        }
        if let Some(last) = scalar::encode_tail(tail) {
            for (slot, &char) in rest.iter_mut().zip(&last) {
                slot.write(char);
            }
        }
        init::initialized(out, len)
    }

    /// Encodes whole groups into all of `out`, exactly `input.len() / 3 * 4` characters long;
    /// `false` (nothing written) when this kernel has no encoder.
    #[inline]
    fn encode_body(self, input: &[u8], out: &mut [MaybeUninit<u8>]) -> bool {
        #[cfg(all(feature = "std", target_arch = "x86_64"))]
        {
            x86::encode_body(self, input, out)
        }
        #[cfg(not(all(feature = "std", target_arch = "x86_64")))]
        {
            let _ = (input, out);
            false
        }
    }

    /// Decodes whole unpadded groups into all of `out`, exactly `input.len() / 4 * 3` bytes
    /// long; `false` for a byte outside the alphabet.
    #[inline]
    fn decode_body(self, input: &[u8], out: &mut [MaybeUninit<u8>]) -> bool {
        #[cfg(all(feature = "std", target_arch = "x86_64"))]
        {
            x86::decode_body(self, input, out)
        }
        #[cfg(not(all(feature = "std", target_arch = "x86_64")))]
        {
            let _ = (input, out);
            false
        }
    }
}

/// The one `unsafe` step outside the kernels: the prefix of `out` both parts of
/// [`Kernel::decode`] (or of [`Kernel::encode`]) initialized, as bytes.
mod init {
    use core::mem::MaybeUninit;

    /// `out[..len]`, which the caller initialized, as `&mut [u8]`.
    #[allow(unsafe_code)]
    pub(super) fn initialized(out: &mut [MaybeUninit<u8>], len: usize) -> Option<&mut [u8]> {
        let prefix = out.get_mut(..len)?;
        // SAFETY: the caller (only `Kernel::decode` and `Kernel::encode`) initialized
        // `out[..len]`: the body bytes by a kernel that answered true (so wrote all of them), the
        // last group's bytes by `MaybeUninit::write`. `MaybeUninit<u8>` has the
        // layout of `u8`.
        Some(unsafe { &mut *(prefix as *mut [MaybeUninit<u8>] as *mut [u8]) })
    }
}

/// The kernel this CPU runs, detected once (and capped by `GRPC_LAMBDA_BASE64_KERNEL`).
#[inline]
fn detected() -> Option<Isa> {
    #[cfg(all(feature = "std", target_arch = "x86_64"))]
    {
        x86::detected()
    }
    #[cfg(not(all(feature = "std", target_arch = "x86_64")))]
    {
        None
    }
}

/// Which kernel the current thread's tests use, so that they reach every kernel and the other
/// engines on a CPU that has the best kernel.
#[cfg(all(test, feature = "std"))]
pub(super) mod switch {
    use super::Isa;
    use std::cell::Cell;

    std::thread_local! {
        /// `None`: as detected; `Some(None)`: no kernel; `Some(Some(isa))`: that one, if the CPU
        /// has it.
        static CHOICE: Cell<Option<Option<Isa>>> = const { Cell::new(None) };
    }

    pub(super) fn get() -> Option<Option<Isa>> {
        CHOICE.with(Cell::get)
    }

    /// Restores the previous choice when dropped.
    pub(in super::super) struct Guard {
        was: Option<Option<Isa>>,
    }

    /// Use `isa` (`None`: no kernel) on this thread until the guard drops.
    pub(in super::super) fn set(isa: Option<Isa>) -> Guard {
        Guard {
            was: CHOICE.with(|cell| cell.replace(Some(isa))),
        }
    }

    /// Every choice a test should run under: each kernel, then none.
    pub(in super::super) const ALL: [Option<Isa>; 3] =
        [Some(Isa::Avx512Vbmi), Some(Isa::Avx2), None];

    impl Drop for Guard {
        fn drop(&mut self) {
            CHOICE.with(|cell| cell.set(self.was));
        }
    }
}

#[cfg(test)]
#[allow(unsafe_code)]
mod tests {
    use super::*;
    use ::base64::engine::general_purpose::STANDARD;
    use ::base64::Engine as _;

    /// The kernels this CPU runs.
    fn kernels() -> Vec<Kernel> {
        [Isa::Avx512Vbmi, Isa::Avx2]
            .into_iter()
            .filter_map(Kernel::supported)
            .collect()
    }

    /// Runs `call` (one kernel's) into a buffer of `room` bytes whose every byte was set to `0xee`
    /// first, and checks that it wrote nothing past what it answers.
    fn in_fresh_buffer(
        kernel: Kernel,
        room: usize,
        call: impl FnOnce(&mut [MaybeUninit<u8>]) -> Option<&mut [u8]>,
    ) -> Option<Vec<u8>> {
        let mut buffer = vec![0xeeu8; room + 70];
        buffer.clear();
        let written = call(buffer.spare_capacity_mut())?.to_vec();
        let spare = buffer.spare_capacity_mut();
        let past = spare.get(written.len()..).unwrap_or_default();
        // SAFETY: every byte of the buffer was initialized to 0xee before `clear`, which only
        // shortens the length; the kernels only write initialized bytes.
        let past: Vec<u8> = past
            .iter()
            .map(|byte| unsafe { byte.assume_init() })
            .collect();
        assert!(
            past.iter().all(|&byte| byte == 0xee),
            "{kernel:?} wrote past the output"
        );
        Some(written)
    }

    /// `len` base64 symbols in alphabet order from symbol `shift` on, wrapping: every symbol
    /// meets every lane as `shift` runs over 0..64.
    fn symbols_from(shift: usize, len: usize) -> Vec<u8> {
        (0..len)
            .map(|i| super::super::ALPHABET[(i + shift) % 64])
            .collect()
    }

    /// Decodes with `kernel` ([`in_fresh_buffer`]).
    fn run(kernel: Kernel, input: &[u8]) -> Option<Vec<u8>> {
        in_fresh_buffer(kernel, input.len() / 4 * 3, |out| kernel.decode(input, out))
    }

    #[test]
    fn agree_with_the_base64_crate_at_every_length() {
        for kernel in kernels() {
            for len in 0..700usize {
                let data: Vec<u8> = (0..len).map(|i| (i * 131 + 7) as u8).collect();
                let text = STANDARD.encode(&data);
                assert_eq!(
                    run(kernel, text.as_bytes()).as_deref(),
                    Some(&data[..]),
                    "{kernel:?} len {len}"
                );
                // From an odd address too.
                let shifted = format!("#{text}");
                assert_eq!(
                    run(kernel, &shifted.as_bytes()[1..]).as_deref(),
                    Some(&data[..]),
                    "{kernel:?} len {len}"
                );
            }
        }
    }

    #[test]
    fn refuse_every_byte_outside_the_alphabet_at_every_position() {
        for kernel in kernels() {
            // Two full blocks of either kernel and a 60-character tail, so every lane of every
            // path is hit.
            let text = STANDARD.encode(vec![0x5au8; 141]);
            assert_eq!(text.len(), 188);
            for at in 0..text.len() {
                for byte in 0..=255u8 {
                    let mut damaged = text.clone().into_bytes();
                    let original = damaged[at];
                    damaged[at] = byte;
                    let expected = STANDARD.decode(&damaged).ok();
                    assert_eq!(
                        run(kernel, &damaged),
                        expected,
                        "{kernel:?}: byte {byte:#x} at {at} (was {original:#x})"
                    );
                }
            }
        }
    }

    #[test]
    fn every_symbol_in_every_lane() {
        // Each of the 64 symbols at each position of a 128-character run decodes to its value.
        for kernel in kernels() {
            for shift in 0..64 {
                let text = symbols_from(shift, 128);
                let expected = STANDARD.decode(&text).unwrap();
                assert_eq!(
                    run(kernel, &text),
                    Some(expected),
                    "{kernel:?} shift {shift}"
                );
            }
        }
    }

    #[test]
    fn padding_only_at_the_end_and_canonical() {
        for kernel in kernels() {
            assert_eq!(
                run(kernel, b"AAAAAAE=").as_deref(),
                Some(&[0, 0, 0, 0, 1][..])
            );
            assert_eq!(run(kernel, b"AAAAAA=="), Some(vec![0, 0, 0, 0]));
            assert_eq!(run(kernel, b"AAAAAAF="), None, "unused bits set");
            assert_eq!(run(kernel, b"AAAAAAB=AAAA"), None, "a segment boundary");
            assert_eq!(run(kernel, b"AAAAA==="), None);
            assert_eq!(run(kernel, b"AAAAAAA"), None, "not whole groups");
            let mut short = [MaybeUninit::new(0u8); 2];
            assert_eq!(kernel.decode(b"AAAA", &mut short), None, "no room");
        }
    }

    /// Encodes with `kernel` ([`in_fresh_buffer`]).
    fn run_encode(kernel: Kernel, input: &[u8]) -> Option<Vec<u8>> {
        let room = super::super::encoded_len(input.len());
        in_fresh_buffer(kernel, room, |out| kernel.encode(input, out))
    }

    #[test]
    fn encoders_agree_with_the_base64_crate_at_every_length() {
        for kernel in kernels().into_iter().filter(|kernel| kernel.encodes()) {
            for len in 0..700usize {
                let data: Vec<u8> = (0..len).map(|i| (i * 131 + 7) as u8).collect();
                let expected = STANDARD.encode(&data).into_bytes();
                assert_eq!(
                    run_encode(kernel, &data),
                    Some(expected.clone()),
                    "{kernel:?} len {len}"
                );
                // From an odd address too.
                let mut shifted = vec![0u8];
                shifted.extend_from_slice(&data);
                assert_eq!(
                    run_encode(kernel, &shifted[1..]),
                    Some(expected),
                    "{kernel:?} len {len}"
                );
            }
        }
    }

    #[test]
    fn encoders_give_every_symbol_in_every_lane() {
        // Every 6-bit value at each of the 64 character positions of a block, and of a short
        // block: the bytes of a text of all 64 symbols, rotated.
        for kernel in kernels().into_iter().filter(|kernel| kernel.encodes()) {
            for shift in 0..64 {
                for len in [128, 60] {
                    let text = symbols_from(shift, len);
                    let data = STANDARD.decode(&text).unwrap();
                    assert_eq!(
                        run_encode(kernel, &data),
                        Some(text),
                        "{kernel:?} shift {shift} len {len}"
                    );
                }
            }
        }
    }

    #[test]
    fn encoders_need_room_and_avx2_has_none() {
        for kernel in kernels() {
            let mut short = [MaybeUninit::new(0u8); 3];
            assert_eq!(kernel.encode(b"abc", &mut short), None, "no room");
            let mut room = [MaybeUninit::new(0u8); 4];
            let encoded = kernel.encode(b"abc", &mut room).map(|text| text.to_vec());
            if kernel.encodes() {
                assert_eq!(encoded.as_deref(), Some(&b"YWJj"[..]));
            } else {
                assert_eq!(encoded, None, "{kernel:?} has no encoder");
            }
        }
    }

    #[test]
    fn this_cpu_gets_its_best_kernel() {
        let best = kernels().first().map(|kernel| kernel.isa());
        if std::env::var_os("GRPC_LAMBDA_BASE64_KERNEL").is_none() {
            assert_eq!(detected(), best);
        }
    }
}
