//! The x86_64 kernels and their runtime detection. Every `unsafe` block of the kernels is here.

use super::super::ALPHABET;
use super::{Isa, Kernel};
use core::arch::x86_64::{
    __m256i, __m512i, _mm256_add_epi8, _mm256_and_si256, _mm256_blendv_epi8,
    _mm256_castsi256_si128, _mm256_cmpeq_epi8, _mm256_cmpgt_epi32, _mm256_extracti128_si256,
    _mm256_loadu_si256, _mm256_madd_epi16, _mm256_maddubs_epi16, _mm256_maskload_epi32,
    _mm256_or_si256, _mm256_permutevar8x32_epi32, _mm256_set1_epi32, _mm256_set1_epi8,
    _mm256_setr_epi32, _mm256_setr_epi8, _mm256_shuffle_epi8, _mm256_srli_epi32,
    _mm256_storeu_si256, _mm256_testz_si256, _mm512_loadu_si512, _mm512_madd_epi16,
    _mm512_maddubs_epi16, _mm512_mask_loadu_epi8, _mm512_mask_storeu_epi8, _mm512_movepi8_mask,
    _mm512_multishift_epi64_epi8, _mm512_or_si512, _mm512_permutex2var_epi8,
    _mm512_permutexvar_epi8, _mm512_set1_epi32, _mm512_set1_epi64, _mm512_set1_epi8,
    _mm512_setzero_si512, _mm512_storeu_si512, _mm_prefetch, _mm_storel_epi64, _mm_storeu_si128,
    _MM_HINT_T0,
};
use core::mem::MaybeUninit;
use core::sync::atomic::{AtomicU8, Ordering};

/// 0: not looked at yet; 1: no kernel; 2: AVX2; 3: AVX-512 VBMI.
static DETECTED: AtomicU8 = AtomicU8::new(0);

/// The best kernel this CPU runs, capped by `GRPC_LAMBDA_BASE64_KERNEL`; detected once.
#[inline]
pub(super) fn detected() -> Option<Isa> {
    match DETECTED.load(Ordering::Relaxed) {
        0 => detect(),
        2 => Some(Isa::Avx2),
        3 => Some(Isa::Avx512Vbmi),
        _ => None,
    }
}

#[cold]
fn detect() -> Option<Isa> {
    let best = [Isa::Avx512Vbmi, Isa::Avx2]
        .into_iter()
        .find(|&isa| supports(isa));
    let cap = match std::env::var("GRPC_LAMBDA_BASE64_KERNEL").as_deref() {
        Ok("none") => None,
        Ok("avx2") => Some(Isa::Avx2),
        _ => Some(Isa::Avx512Vbmi),
    };
    let chosen = best.zip(cap).map(|(best, cap)| best.min(cap));
    let chosen = chosen.filter(|&isa| supports(isa));
    DETECTED.store(
        match chosen {
            None => 1,
            Some(Isa::Avx2) => 2,
            Some(Isa::Avx512Vbmi) => 3,
        },
        Ordering::Relaxed,
    );
    chosen
}

/// Whether this CPU has the instructions of `isa`.
pub(super) fn supports(isa: Isa) -> bool {
    match isa {
        Isa::Avx2 => std::is_x86_feature_detected!("avx2"),
        Isa::Avx512Vbmi => {
            std::is_x86_feature_detected!("avx512f")
                && std::is_x86_feature_detected!("avx512bw")
                && std::is_x86_feature_detected!("avx512vbmi")
        }
    }
}

/// Decodes whole unpadded groups with `kernel` (only made for an instruction set this CPU has)
/// into all of `out`; `true` when every byte of `out` was written,
/// `false` for a byte outside the alphabet or lengths that do not match.
#[inline]
pub(super) fn decode_body(kernel: Kernel, input: &[u8], out: &mut [MaybeUninit<u8>]) -> bool {
    if !input.len().is_multiple_of(4) || out.len() != input.len() / 4 * 3 {
        return false;
    }
    let dst = out.as_mut_ptr().cast::<u8>();
    // SAFETY: a `Kernel` is only made after `supports` answered true for its instruction set, so
    // the CPU has the instructions; `input.len()` is a multiple of 4 and `dst` is valid for writes of
    // exactly `input.len() / 4 * 3` bytes (checked just above), which is what both bodies
    // require; on `true` they wrote all of them.
    unsafe {
        match kernel.isa {
            Isa::Avx512Vbmi => avx512vbmi(input, dst),
            Isa::Avx2 => avx2(input, dst),
        }
    }
}

/// Encodes `input`, whole groups of 3 bytes, into all of `out`, exactly `input.len() / 3 * 4`
/// characters long; `false` (nothing written) when the lengths do not match or `kernel` has no
/// encoder (on AVX2, base64-simd's AVX2 encoder runs).
#[inline]
pub(super) fn encode_body(kernel: Kernel, input: &[u8], out: &mut [MaybeUninit<u8>]) -> bool {
    if kernel.isa != Isa::Avx512Vbmi
        || !input.len().is_multiple_of(3)
        || out.len() != input.len() / 3 * 4
    {
        return false;
    }
    // SAFETY: a `Kernel` is only made after `supports` answered true for its instruction set, so
    // the CPU has AVX-512 F, BW and VBMI; `input.len()` is a multiple of 3 and `out` is valid for
    // writes of exactly `input.len() / 3 * 4` bytes (both checked just above), which is what the
    // body requires; it writes all of them.
    unsafe { avx512vbmi_encode(input, out.as_mut_ptr().cast()) };
    true
}

/// For byte `i` of a register, the byte of a 48-byte block it takes: group `g` (bytes `a b c`)
/// fills 32-bit lane `g` as `[c, b, a, a]`, so the lane's low 24 bits read `a b c` from the top,
/// the order base64 takes its four 6-bit values in. The lane's top byte is never looked at.
#[allow(clippy::indexing_slicing)]
static VBMI_SPREAD: [u8; 64] = {
    let mut spread = [0; 64];
    let mut i = 0;
    while i < 64 {
        let group = i / 4 * 3;
        spread[i] = match i % 4 {
            0 => group + 2,
            1 => group + 1,
            _ => group,
        } as u8;
        i += 1;
    }
    spread
};

/// `vpmultishiftqb`'s bit offsets for each byte of a 64-bit word (two lanes): a lane's four
/// characters are its bits 18, 12, 6 and 0 up (the two bits above each value are ignored by
/// the lookup, which reads six), the second lane's the same 32 bits further.
const VBMI_SEXTETS: i64 = i64::from_le_bytes([18, 12, 6, 0, 50, 44, 38, 32]);

/// AVX-512 VBMI: 48 bytes to 64 characters a block. `vpermb` spreads each group's 3 bytes into a
/// 32-bit lane, `vpmultishiftqb` lifts its four 6-bit values into bytes, and a second `vpermb`
/// looks each up in the 64-character alphabet, which fits in one register.
///
/// # Safety
///
/// The CPU has AVX-512 F, BW and VBMI; `input.len()` is a multiple of 3; `out` is valid for
/// writes of `input.len() / 3 * 4` bytes. Exactly those bytes are written, no others.
#[target_feature(enable = "avx512f,avx512bw,avx512vbmi")]
unsafe fn avx512vbmi_encode(input: &[u8], out: *mut u8) {
    // SAFETY (whole body): a full load reads 64 bytes at `src` only while 64 remain; a block
    // with fewer left is loaded masked to the bytes that remain (masked-off bytes are not read).
    // A block of 48 bytes writes its 64 characters at `dst`, where 64 characters of room remain;
    // the last, shorter block writes exactly its whole groups' characters. `src` and `dst`
    // advance together, 48 bytes for 64 characters.
    unsafe {
        let spread = _mm512_loadu_si512(VBMI_SPREAD.as_ptr().cast());
        let sextets = _mm512_set1_epi64(VBMI_SEXTETS);
        let alphabet = _mm512_loadu_si512(ALPHABET.as_ptr().cast());
        let encode = |bytes: __m512i| -> __m512i {
            let lanes = _mm512_permutexvar_epi8(spread, bytes);
            let values = _mm512_multishift_epi64_epi8(sextets, lanes);
            _mm512_permutexvar_epi8(values, alphabet)
        };

        let mut src = input.as_ptr();
        let mut dst = out;
        let mut left = input.len();
        while left >= 64 {
            _mm512_storeu_si512(dst.cast(), encode(_mm512_loadu_si512(src.cast())));
            src = src.add(48);
            dst = dst.add(64);
            left -= 48;
        }
        while left > 0 {
            let take = left.min(48);
            let bytes = _mm512_mask_loadu_epi8(_mm512_setzero_si512(), (1 << take) - 1, src.cast());
            let chars = take / 3 * 4;
            _mm512_mask_storeu_epi8(dst.cast(), u64::MAX >> (64 - chars), encode(bytes));
            src = src.add(take);
            dst = dst.add(chars);
            left -= take;
        }
    }
}

/// Asks for the first KiB of `input` at once. Without this a stream read in 1000-byte chunks ran
/// 1.08× slower with the AVX-512 kernel: each call starts with its input cold, and the loop's own
/// loads reach memory one after another rather than together. Only bytes of `input` are named;
/// a prefetch never faults and changes no value.
#[inline(always)]
fn prefetch_head(input: &[u8]) {
    let mut ahead = 0;
    while ahead < input.len().min(1024) {
        if let Some(byte) = input.get(ahead) {
            // SAFETY: SSE is part of x86_64; the address is that of a byte of `input`.
            unsafe { _mm_prefetch::<_MM_HINT_T0>((byte as *const u8).cast()) };
        }
        ahead += 64;
    }
}

/// The 6-bit value of each ASCII byte, `0x80` for bytes outside the alphabet (`=` included).
/// `vpermi2b` reads it as two 64-byte tables, chosen by bit 6 of the byte.
// Evaluated at compile time: an index out of range would fail the build, not panic.
#[allow(clippy::indexing_slicing)]
static VBMI_TABLE: [u8; 128] = {
    let mut table = [0x80; 128];
    let mut value = 0;
    while value < ALPHABET.len() {
        table[ALPHABET[value] as usize] = value as u8;
        value += 1;
    }
    table
};

/// For output byte `i` of a 64-character block, the byte of the packed words it comes from: each
/// 32-bit lane holds its group's 24 bits with the first output byte in lane byte 2.
#[allow(clippy::indexing_slicing)]
static VBMI_GATHER: [u8; 64] = {
    let mut gather = [0; 64];
    let mut i = 0;
    while i < 48 {
        gather[i] = (i / 3 * 4 + 2 - i % 3) as u8;
        i += 1;
    }
    gather
};

/// AVX-512 VBMI: 64 characters to 48 bytes a block; `false` at the first block holding a byte
/// outside the alphabet.
///
/// # Safety
///
/// The CPU has AVX-512 F, BW and VBMI; `input.len()` is a multiple of 4; `out` is valid for
/// writes of `input.len() / 4 * 3` bytes. Exactly those bytes are written, no others.
#[target_feature(enable = "avx512f,avx512bw,avx512vbmi")]
unsafe fn avx512vbmi(input: &[u8], out: *mut u8) -> bool {
    prefetch_head(input);
    // SAFETY (whole body): every load reads 64 bytes at `src` only while 64 remain; every store
    // writes 48 bytes at `dst` only while 64 characters (so 48 bytes of room) remain. `src` and
    // `dst` advance together, 64 characters for 48 bytes. The last partial block is either the
    // input's last 64 characters, stored as the output's last 48 bytes, or, in an input shorter
    // than 64 characters, a load masked to the input and a store masked to exactly its bytes.
    unsafe {
        let low = _mm512_loadu_si512(VBMI_TABLE.as_ptr().cast());
        let high = _mm512_loadu_si512(VBMI_TABLE.as_ptr().add(64).cast());
        let gather = _mm512_loadu_si512(VBMI_GATHER.as_ptr().cast());
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
        if left > 0 && input.len() >= 64 {
            // The last 64 characters again, overlapping what is already decoded: whole groups
            // (every length here is), so the overlap decodes to the bytes already written. A
            // masked load here instead reached past the input and was slower when that memory
            // had just been written (a store-forwarding stall).
            let start = input.len() - 64;
            let Some(bytes) = block(_mm512_loadu_si512(input.as_ptr().add(start).cast())) else {
                return false;
            };
            _mm512_mask_storeu_epi8(out.add(start / 4 * 3).cast(), (1 << 48) - 1, bytes);
        } else if left > 0 {
            let load_mask = (1u64 << left) - 1;
            let store_mask = (1u64 << (left / 4 * 3)) - 1;
            let filler = _mm512_set1_epi8(b'A' as i8);
            let chars = _mm512_mask_loadu_epi8(filler, load_mask, src.cast());
            let Some(bytes) = block(chars) else {
                return false;
            };
            _mm512_mask_storeu_epi8(dst.cast(), store_mask, bytes);
        }
        true
    }
}

/// AVX2: 32 characters to 24 bytes a block; `false` at the first block holding a byte outside
/// the alphabet.
///
/// # Safety
///
/// The CPU has AVX2; `input.len()` is a multiple of 4; `out` is valid for writes of
/// `input.len() / 4 * 3` bytes. Exactly those bytes are written, no others.
#[target_feature(enable = "avx2")]
unsafe fn avx2(input: &[u8], out: *mut u8) -> bool {
    prefetch_head(input);
    // SAFETY (whole body): every load reads 32 bytes at `src` only while 32 remain, and the last
    // one is a masked load of the whole groups that remain. A block writes 32 bytes at `dst`
    // only while 76 characters remain (so 57 bytes of room), otherwise exactly its 24 (16 + 8)
    // while 32 characters (so 24 bytes of room) remain. The last partial block is either the
    // input's last 32 characters, stored as the output's last 24 bytes, or, in an input shorter
    // than 32 characters, a masked load of its groups with exactly their bytes copied out. `src` and `dst` advance together,
    // 32 characters for 24 bytes.
    unsafe {
        // Indexed by the low nibble and by the high nibble of a byte: the byte is in the
        // alphabet exactly when the two entries share no bit. Bit 0x10 of every low entry and
        // of the high entries for 0x0_, 0x1_ and 0x8_–0xf_ refuses those rows outright.
        #[rustfmt::skip]
        let low_table = _mm256_setr_epi8(
            0x15, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11,
            0x11, 0x11, 0x13, 0x1a, 0x1b, 0x1b, 0x1b, 0x1a,
            0x15, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11,
            0x11, 0x11, 0x13, 0x1a, 0x1b, 0x1b, 0x1b, 0x1a,
        );
        #[rustfmt::skip]
        let high_table = _mm256_setr_epi8(
            0x10, 0x10, 0x01, 0x02, 0x04, 0x08, 0x04, 0x08,
            0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x10,
            0x10, 0x10, 0x01, 0x02, 0x04, 0x08, 0x04, 0x08,
            0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x10,
        );
        // What to add to a valid character to get its value, by high nibble; `/` (0x2f) is
        // looked up one row down, where it gets +16 rather than `+`'s +19.
        #[rustfmt::skip]
        let shift_table = _mm256_setr_epi8(
            0, 16, 19, 4, -65, -65, -71, -71, 0, 0, 0, 0, 0, 0, 0, 0,
            0, 16, 19, 4, -65, -65, -71, -71, 0, 0, 0, 0, 0, 0, 0, 0,
        );
        let nibble = _mm256_set1_epi8(0x0f);
        let slash = _mm256_set1_epi8(0x2f);
        let pair = _mm256_set1_epi32(0x0140_0140);
        let quad = _mm256_set1_epi32(0x0001_1000);
        // Per 128-bit lane: the 12 output bytes of its 4 groups first (each group's bytes are
        // lane bytes 2, 1, 0 of its dword), then zeroes.
        #[rustfmt::skip]
        let pack = _mm256_setr_epi8(
            2, 1, 0, 6, 5, 4, 10, 9, 8, 14, 13, 12, -1, -1, -1, -1,
            2, 1, 0, 6, 5, 4, 10, 9, 8, 14, 13, 12, -1, -1, -1, -1,
        );
        // The two lanes' 12 bytes side by side.
        let join = _mm256_setr_epi32(0, 1, 2, 4, 5, 6, 3, 7);
        // A block's bytes that are outside the alphabet have a bit set here, and only those.
        let refused = |chars: __m256i| -> __m256i {
            let high = _mm256_and_si256(_mm256_srli_epi32(chars, 4), nibble);
            let low = _mm256_and_si256(chars, nibble);
            _mm256_and_si256(
                _mm256_shuffle_epi8(high_table, high),
                _mm256_shuffle_epi8(low_table, low),
            )
        };
        // A validated block's 24 bytes, in the low 24 of the result.
        let decode = |chars: __m256i| -> __m256i {
            let high = _mm256_and_si256(_mm256_srli_epi32(chars, 4), nibble);
            let row = _mm256_add_epi8(_mm256_cmpeq_epi8(chars, slash), high);
            let values = _mm256_add_epi8(chars, _mm256_shuffle_epi8(shift_table, row));
            let pairs = _mm256_maddubs_epi16(values, pair);
            let words = _mm256_madd_epi16(pairs, quad);
            let packed = _mm256_shuffle_epi8(words, pack);
            _mm256_permutevar8x32_epi32(packed, join)
        };
        let block = |chars: __m256i| -> Option<__m256i> {
            let bad = refused(chars);
            (_mm256_testz_si256(bad, bad) != 0).then(|| decode(chars))
        };

        let mut src = input.as_ptr();
        let mut dst = out;
        let mut left = input.len();
        // Two blocks a step, one check for both, each stored whole: its 8 bytes past the 24 land
        // where the next block's bytes go, and are rewritten by them. Taken only while 12 more
        // characters follow the two blocks, so those 8 bytes are inside `out`.
        while left >= 64 + 12 {
            let first = _mm256_loadu_si256(src.cast());
            let second = _mm256_loadu_si256(src.add(32).cast());
            let bad = _mm256_or_si256(refused(first), refused(second));
            if _mm256_testz_si256(bad, bad) == 0 {
                return false;
            }
            _mm256_storeu_si256(dst.cast(), decode(first));
            _mm256_storeu_si256(dst.add(24).cast(), decode(second));
            src = src.add(64);
            dst = dst.add(48);
            left -= 64;
        }
        // What is left of the exact path: at most two blocks, then the tail.
        if left >= 64 {
            let first = _mm256_loadu_si256(src.cast());
            let second = _mm256_loadu_si256(src.add(32).cast());
            let (Some(first), Some(second)) = (block(first), block(second)) else {
                return false;
            };
            _mm_storeu_si128(dst.cast(), _mm256_castsi256_si128(first));
            _mm_storel_epi64(dst.add(16).cast(), _mm256_extracti128_si256::<1>(first));
            _mm_storeu_si128(dst.add(24).cast(), _mm256_castsi256_si128(second));
            _mm_storel_epi64(dst.add(40).cast(), _mm256_extracti128_si256::<1>(second));
            src = src.add(64);
            dst = dst.add(48);
            left -= 64;
        }
        if left >= 32 {
            let Some(bytes) = block(_mm256_loadu_si256(src.cast())) else {
                return false;
            };
            _mm_storeu_si128(dst.cast(), _mm256_castsi256_si128(bytes));
            _mm_storel_epi64(dst.add(16).cast(), _mm256_extracti128_si256::<1>(bytes));
            src = src.add(32);
            dst = dst.add(24);
            left -= 32;
        }
        if left > 0 && input.len() >= 32 {
            // The last 32 characters again, overlapping what is already decoded: whole groups
            // (every length here is), so the overlap decodes to the bytes already written.
            let start = input.len() - 32;
            let Some(bytes) = block(_mm256_loadu_si256(input.as_ptr().add(start).cast())) else {
                return false;
            };
            let at = out.add(start / 4 * 3);
            _mm_storeu_si128(at.cast(), _mm256_castsi256_si128(bytes));
            _mm_storel_epi64(at.add(16).cast(), _mm256_extracti128_si256::<1>(bytes));
        } else if left > 0 {
            // Whole groups are whole dwords: a dword lane is loaded when its top bit is set.
            let groups = (left / 4) as i32;
            let lanes = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
            let mask = _mm256_cmpgt_epi32(_mm256_set1_epi32(groups), lanes);
            let loaded = _mm256_maskload_epi32(src.cast(), mask);
            let chars = _mm256_blendv_epi8(_mm256_set1_epi8(b'A' as i8), loaded, mask);
            let Some(bytes) = block(chars) else {
                return false;
            };
            let mut staged = [0u8; 32];
            _mm256_storeu_si256(staged.as_mut_ptr().cast(), bytes);
            core::ptr::copy_nonoverlapping(staged.as_ptr(), dst, left / 4 * 3);
        }
        true
    }
}
