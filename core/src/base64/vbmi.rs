//! Our own decoding kernel, for x86_64 CPUs with AVX-512 VBMI (Ice Lake and later, Zen 4 and
//! later), detected at runtime under `std`.
//!
//! Why our own: the engines we measured pay a fixed cost per call that streaming multiplies. They
//! decode whole 32-character blocks with SIMD and finish each call's last partial block one
//! group at a time, and the faster of the two also needs its output zeroed first. A stream read
//! in 1000-byte chunks makes a thousand calls per MiB, and those scalar tails alone cost 30% over
//! one call on the whole body. Here every call is SIMD from its first byte to its last, and
//! nothing is written twice:
//!
//! - 64 characters at a time: one `vpermi2b` maps each byte through a 128-entry table to its 6-bit
//!   value (bytes outside the alphabet, and every byte with the top bit set, flag bit 7), two
//!   multiply-adds pack four values into 24 bits, one `vpermb` gathers the 48 output bytes, and a
//!   masked store writes exactly those 48.
//! - The last 4 to 60 characters: the same steps on a masked load (the lanes past the end read as
//!   `A` and are never fetched) and a masked store of exactly the bytes they decode to. No scalar
//!   loop, no scratch buffer, no write past the end of the output.
//! - A padded last group (`xx==`, `xxx=`) is the only one the scalar reference decodes, since it
//!   also checks that its unused bits are zero.
//!
//! The kernel answers like the other engines: whole groups in, padding only in the last group,
//! `None` for anything else, leaving error location to the scalar reference.

use core::mem::MaybeUninit;

/// Proof that this CPU runs the kernel: only [`Kernel::detect`] makes one.
#[derive(Clone, Copy, Debug)]
pub(super) struct Kernel {
    _detected: (),
}

impl Kernel {
    /// The kernel, when this CPU runs it. Detected once; after that one relaxed atomic load.
    #[inline]
    pub(super) fn detect() -> Option<Self> {
        #[cfg(all(test, feature = "std"))]
        if switch::off() {
            return None;
        }
        imp::detected().then_some(Self { _detected: () })
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
        imp::decode(self, input, out)
    }
}

/// Turns the kernel off on the current thread, so that the tests reach the other engines on a
/// CPU that has it.
#[cfg(all(test, feature = "std"))]
pub(super) mod switch {
    use std::cell::Cell;

    std::thread_local! {
        static OFF: Cell<bool> = const { Cell::new(false) };
    }

    pub(super) fn off() -> bool {
        OFF.with(Cell::get)
    }

    /// Keeps the kernel off (when `off`) until dropped.
    pub(in super::super) struct Guard {
        was: bool,
    }

    /// The kernel on or off until the guard drops.
    pub(in super::super) fn set(off: bool) -> Guard {
        Guard {
            was: OFF.with(|cell| cell.replace(off)),
        }
    }

    impl Drop for Guard {
        fn drop(&mut self) {
            OFF.with(|cell| cell.set(self.was));
        }
    }
}

#[cfg(all(feature = "std", target_arch = "x86_64"))]
#[allow(unsafe_code)]
mod imp {
    use super::super::{scalar, ALPHABET, PAD};
    use super::Kernel;
    use core::arch::x86_64::{
        __m512i, _mm512_loadu_si512, _mm512_madd_epi16, _mm512_maddubs_epi16,
        _mm512_mask_loadu_epi8, _mm512_mask_storeu_epi8, _mm512_movepi8_mask, _mm512_or_si512,
        _mm512_permutex2var_epi8, _mm512_permutexvar_epi8, _mm512_set1_epi32, _mm512_set1_epi8,
        _mm_prefetch, _MM_HINT_T0,
    };
    use core::mem::MaybeUninit;
    use core::sync::atomic::{AtomicU8, Ordering};

    /// 0: not looked at yet; 1: absent; 2: present.
    static DETECTED: AtomicU8 = AtomicU8::new(0);

    #[inline]
    pub(super) fn detected() -> bool {
        match DETECTED.load(Ordering::Relaxed) {
            0 => detect(),
            state => state == 2,
        }
    }

    #[cold]
    fn detect() -> bool {
        let present = std::is_x86_feature_detected!("avx512f")
            && std::is_x86_feature_detected!("avx512bw")
            && std::is_x86_feature_detected!("avx512vbmi");
        DETECTED.store(if present { 2 } else { 1 }, Ordering::Relaxed);
        present
    }

    /// The 6-bit value of each ASCII byte, `0x80` for bytes outside the alphabet (`=` included).
    /// `vpermi2b` reads it as two 64-byte tables, chosen by bit 6 of the byte.
    // Evaluated at compile time: an index out of range would fail the build, not panic.
    #[allow(clippy::indexing_slicing)]
    static TABLE: [u8; 128] = {
        let mut table = [0x80; 128];
        let mut value = 0;
        while value < ALPHABET.len() {
            table[ALPHABET[value] as usize] = value as u8;
            value += 1;
        }
        table
    };

    /// For output byte `i` of a block, the byte of the packed words it comes from: each 32-bit
    /// lane holds its group's 24 bits with the first output byte in lane byte 2.
    #[allow(clippy::indexing_slicing)]
    static GATHER: [u8; 64] = {
        let mut gather = [0; 64];
        let mut i = 0;
        while i < 48 {
            gather[i] = (i / 3 * 4 + 2 - i % 3) as u8;
            i += 1;
        }
        gather
    };

    pub(super) fn decode<'a>(
        _kernel: Kernel,
        input: &[u8],
        out: &'a mut [MaybeUninit<u8>],
    ) -> Option<&'a mut [u8]> {
        if !input.len().is_multiple_of(4) || out.len() < input.len() / 4 * 3 {
            return None;
        }
        // Only the last group may be padded; it goes to the reference, which also checks its
        // unused bits. A `=` anywhere else is outside the kernel's table and refused there.
        let (body, last) = match input.split_last_chunk::<4>() {
            Some((body, last)) if last[3] == PAD => (body, Some(*last)),
            _ => (input, None),
        };
        let body_len = body.len() / 4 * 3;
        // SAFETY: the CPU has the three features (a `Kernel` exists); `body.len()` is a multiple of
        // 4 and `out` has room for `body.len() / 4 * 3` bytes (checked above), which is what
        // `decode_body` requires.
        if !unsafe { decode_body(body, out.as_mut_ptr().cast::<u8>()) } {
            return None;
        }
        let mut len = body_len;
        if let Some(last) = last {
            let group = scalar::decode_group(last, 0).ok()?;
            let bytes = group.as_slice();
            let slot = out.get_mut(len..len + bytes.len())?;
            for (slot, &byte) in slot.iter_mut().zip(bytes) {
                slot.write(byte);
            }
            len += bytes.len();
        }
        let written = out.get_mut(..len)?;
        // SAFETY: `decode_body` initialized the first `body_len` bytes of `out`, and the loop
        // above the `len - body_len` after them; `MaybeUninit<u8>` has the layout of `u8`.
        Some(unsafe { &mut *(written as *mut [MaybeUninit<u8>] as *mut [u8]) })
    }

    /// Decodes `input` into `out`, 64 characters to 48 bytes per step; `false` at the first step
    /// holding a byte outside the alphabet.
    ///
    /// # Safety
    ///
    /// The CPU has AVX-512 F, BW and VBMI; `input.len()` is a multiple of 4; `out` is valid for
    /// writes of `input.len() / 4 * 3` bytes. Exactly those bytes are written, no others.
    #[target_feature(enable = "avx512f,avx512bw,avx512vbmi")]
    unsafe fn decode_body(input: &[u8], out: *mut u8) -> bool {
        // SAFETY (whole body): every load reads 64 bytes at `src` only while 64 remain, and the
        // last one is masked to the bytes that remain; every store writes 48 bytes at `dst`
        // only while 64 characters (so 48 bytes of room) remain, and the last one is masked to
        // the bytes the remaining characters decode to. `src` and `dst` advance together, 64
        // characters for 48 bytes.
        unsafe {
            let low = _mm512_loadu_si512(TABLE.as_ptr().cast());
            let high = _mm512_loadu_si512(TABLE.as_ptr().add(64).cast());
            let gather = _mm512_loadu_si512(GATHER.as_ptr().cast());
            let pair = _mm512_set1_epi32(0x0140_0140);
            let quad = _mm512_set1_epi32(0x0001_1000);
            let block = |chars: __m512i| -> Option<__m512i> {
                let values = _mm512_permutex2var_epi8(low, chars, high);
                if _mm512_movepi8_mask(_mm512_or_si512(values, chars)) != 0 {
                    return None;
                }
                let pairs = _mm512_maddubs_epi16(values, pair);
                let words = _mm512_madd_epi16(pairs, quad);
                Some(_mm512_permutexvar_epi8(gather, words))
            };

            let mut src = input.as_ptr();
            let mut dst = out;
            let mut left = input.len();
            // Ask for the first KiB at once. Without this a stream read in 1000-byte chunks ran
            // 1.15× slower than with it: each call starts with its input cold, and the loop's
            // own loads reach memory one after another rather than together. Only bytes of
            // `input` are named; a prefetch never faults and changes no value.
            let mut ahead = 0;
            while ahead < left.min(1024) {
                _mm_prefetch::<_MM_HINT_T0>(src.add(ahead).cast());
                ahead += 64;
            }
            // Two blocks a step, so the two dependency chains overlap.
            while left >= 128 {
                let first = _mm512_loadu_si512(src.cast());
                let second = _mm512_loadu_si512(src.add(64).cast());
                let (Some(first), Some(second)) = (block(first), block(second)) else {
                    return false;
                };
                _mm512_mask_storeu_epi8(dst.cast(), (1 << 48) - 1, first);
                _mm512_mask_storeu_epi8(dst.add(48).cast(), (1 << 48) - 1, second);
                src = src.add(128);
                dst = dst.add(96);
                left -= 128;
            }
            if left >= 64 {
                let Some(bytes) = block(_mm512_loadu_si512(src.cast())) else {
                    return false;
                };
                _mm512_mask_storeu_epi8(dst.cast(), (1 << 48) - 1, bytes);
                src = src.add(64);
                dst = dst.add(48);
                left -= 64;
            }
            if left > 0 {
                let load_mask = (1u64 << left) - 1;
                let store_mask = (1u64 << (left / 4 * 3)) - 1;
                let chars =
                    _mm512_mask_loadu_epi8(_mm512_set1_epi8(b'A' as i8), load_mask, src.cast());
                let Some(bytes) = block(chars) else {
                    return false;
                };
                _mm512_mask_storeu_epi8(dst.cast(), store_mask, bytes);
            }
            true
        }
    }
}

/// Without `std` (no runtime detection) or off x86_64, the kernel never runs.
#[cfg(not(all(feature = "std", target_arch = "x86_64")))]
mod imp {
    use super::Kernel;
    use core::mem::MaybeUninit;

    pub(super) fn detected() -> bool {
        false
    }

    pub(super) fn decode<'a>(
        _kernel: Kernel,
        _input: &[u8],
        _out: &'a mut [MaybeUninit<u8>],
    ) -> Option<&'a mut [u8]> {
        None
    }
}

#[cfg(test)]
#[allow(unsafe_code)]
mod tests {
    use super::*;
    use ::base64::engine::general_purpose::STANDARD;
    use ::base64::Engine as _;

    /// Runs the kernel into a buffer whose every byte was set to `0xee` first, and checks that it
    /// wrote nothing past what it answers.
    fn run(input: &[u8]) -> Option<Vec<u8>> {
        let room = input.len() / 4 * 3;
        let mut buffer = vec![0xeeu8; room + 70];
        buffer.clear();
        let kernel = Kernel::detect()?;
        let decoded = kernel.decode(input, buffer.spare_capacity_mut())?.to_vec();
        let spare = buffer.spare_capacity_mut();
        let past = spare.get(decoded.len()..).unwrap_or_default();
        // SAFETY: every byte of the buffer was initialized to 0xee before `clear`, which only
        // shortens the length; the kernel only writes initialized bytes.
        let past: Vec<u8> = past
            .iter()
            .map(|byte| unsafe { byte.assume_init() })
            .collect();
        assert!(
            past.iter().all(|&byte| byte == 0xee),
            "a write past the output"
        );
        Some(decoded)
    }

    #[test]
    fn agrees_with_the_base64_crate_at_every_length() {
        if Kernel::detect().is_none() {
            return;
        }
        for len in 0..700usize {
            let data: Vec<u8> = (0..len).map(|i| (i * 131 + 7) as u8).collect();
            let text = STANDARD.encode(&data);
            assert_eq!(
                run(text.as_bytes()).as_deref(),
                Some(&data[..]),
                "len {len}"
            );
            // From an odd address too.
            let shifted = format!("#{text}");
            assert_eq!(
                run(&shifted.as_bytes()[1..]).as_deref(),
                Some(&data[..]),
                "len {len}"
            );
        }
    }

    #[test]
    fn refuses_every_byte_outside_the_alphabet_at_every_position() {
        if Kernel::detect().is_none() {
            return;
        }
        // Two full blocks and a 60-character tail, so every lane of both paths is hit.
        let text = STANDARD.encode(vec![0x5au8; 141]);
        assert_eq!(text.len(), 188);
        for at in 0..text.len() {
            for byte in 0..=255u8 {
                let mut damaged = text.clone().into_bytes();
                let original = damaged[at];
                damaged[at] = byte;
                let expected = STANDARD.decode(&damaged).ok();
                assert_eq!(
                    run(&damaged),
                    expected,
                    "byte {byte:#x} at {at} (was {original:#x})"
                );
            }
        }
    }

    #[test]
    fn padding_only_at_the_end_and_canonical() {
        if Kernel::detect().is_none() {
            return;
        }
        assert_eq!(run(b"AAAAAAE=").as_deref(), Some(&[0, 0, 0, 0, 1][..]));
        assert_eq!(run(b"AAAAAA=="), Some(vec![0, 0, 0, 0]));
        assert_eq!(run(b"AAAAAAF="), None, "unused bits set");
        assert_eq!(run(b"AAAAAAB=AAAA"), None, "a segment boundary");
        assert_eq!(run(b"AAAAA==="), None);
        assert_eq!(run(b"AAAAAAA"), None, "not whole groups");
        let mut short = [MaybeUninit::new(0u8); 2];
        let kernel = Kernel::detect().unwrap();
        assert_eq!(kernel.decode(b"AAAA", &mut short), None, "no room");
    }
}
