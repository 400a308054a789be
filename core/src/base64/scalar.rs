//! The scalar reference: RFC 4648 base64, one 4-character group at a time.
//!
//! Every answer the fast engines give is checked against this code in the tests, and every error
//! is located by it: when an engine refuses a run of groups, this code walks the same run and names
//! the first byte that makes the stream invalid. It is also what completes a group split across two
//! chunks, and what encodes the last, padded group.

use super::{Base64Error, Output, ALPHABET, PAD};

/// Marks a byte outside the alphabet in [`DECODE_TABLE`].
const INVALID: u8 = 0xff;

/// The 6-bit value of each alphabet byte, [`INVALID`] for every other byte.
// Evaluated at compile time: an index out of range would fail the build, not panic.
#[allow(clippy::indexing_slicing)]
const DECODE_TABLE: [u8; 256] = {
    let mut table = [INVALID; 256];
    let mut value = 0;
    while value < ALPHABET.len() {
        table[ALPHABET[value] as usize] = value as u8;
        value += 1;
    }
    table
};

/// The 6-bit value of `byte`, or `None` outside the alphabet.
#[inline]
fn sextet(byte: u8) -> Option<u8> {
    // A `u8` always indexes a 256-entry table; `get` compiles to the same load.
    match DECODE_TABLE.get(usize::from(byte)) {
        Some(&INVALID) | None => None,
        Some(&value) => Some(value),
    }
}

/// The alphabet byte for the low 6 bits of `value`.
#[inline]
fn symbol(value: u32) -> u8 {
    // The index is masked to 0..=63 and ALPHABET has 64 entries, so `get` always answers.
    ALPHABET
        .get((value & 0x3f) as usize)
        .copied()
        .unwrap_or(PAD)
}

/// The error for `byte`, found at `offset` where a data symbol was required.
fn not_a_symbol(byte: u8, offset: u64) -> Base64Error {
    if byte == PAD {
        Base64Error::InvalidPadding { offset }
    } else {
        Base64Error::InvalidByte { offset, byte }
    }
}

/// One decoded 4-character group.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Group {
    /// The decoded bytes; only the first `len` are meaningful.
    pub(super) bytes: [u8; 3],
    /// 3 for a group without padding, 2 for `xxx=`, 1 for `xx==`.
    pub(super) len: usize,
}

impl Group {
    /// The decoded bytes.
    pub(super) fn as_slice(&self) -> &[u8] {
        self.bytes.get(..self.len).unwrap_or(&[])
    }
}

/// Decodes one group whose first byte is at absolute stream offset `offset`.
///
/// A group is `xxxx`, `xxx=` or `xx==`; in the padded forms the last data symbol must not carry
/// bits past the end of the data (RFC 4648 section 3.5, canonical encoding).
///
/// # Errors
///
/// The first byte of the group that no continuation could make valid, as a [`Base64Error`].
pub(super) fn decode_group(group: [u8; 4], offset: u64) -> Result<Group, Base64Error> {
    let [c0, c1, c2, c3] = group;
    let s0 = sextet(c0).ok_or_else(|| not_a_symbol(c0, offset))?;
    let s1 = sextet(c1).ok_or_else(|| not_a_symbol(c1, offset + 1))?;
    let b0 = (s0 << 2) | (s1 >> 4);
    if c2 == PAD {
        if s1 & 0x0f != 0 {
            return Err(Base64Error::NonCanonical {
                offset: offset + 1,
                byte: c1,
            });
        }
        if c3 != PAD {
            return Err(Base64Error::InvalidPadding { offset: offset + 2 });
        }
        return Ok(Group {
            bytes: [b0, 0, 0],
            len: 1,
        });
    }
    let s2 = sextet(c2).ok_or(Base64Error::InvalidByte {
        offset: offset + 2,
        byte: c2,
    })?;
    let b1 = (s1 << 4) | (s2 >> 2);
    if c3 == PAD {
        if s2 & 0x03 != 0 {
            return Err(Base64Error::NonCanonical {
                offset: offset + 2,
                byte: c2,
            });
        }
        return Ok(Group {
            bytes: [b0, b1, 0],
            len: 2,
        });
    }
    let s3 = sextet(c3).ok_or(Base64Error::InvalidByte {
        offset: offset + 3,
        byte: c3,
    })?;
    Ok(Group {
        bytes: [b0, b1, (s2 << 6) | s3],
        len: 3,
    })
}

/// Checks the 0–3 bytes of a group that has not arrived whole yet, first byte at `offset`.
///
/// Refusing what can already be refused keeps the reported error independent of where the input
/// was split: a stream fails at the same byte whether it came in one chunk or many.
///
/// # Errors
///
/// The first byte that no continuation could make valid.
pub(super) fn check_partial_group(partial: &[u8], offset: u64) -> Result<(), Base64Error> {
    let mut previous = 0u8;
    for (at, (position, &byte)) in (offset..).zip(partial.iter().enumerate()) {
        match (position, byte) {
            (0 | 1, _) => {
                sextet(byte).ok_or_else(|| not_a_symbol(byte, at))?;
            }
            (2, PAD) => {
                if sextet(previous).is_some_and(|s1| s1 & 0x0f != 0) {
                    return Err(Base64Error::NonCanonical {
                        offset: at - 1,
                        byte: previous,
                    });
                }
            }
            _ => {
                sextet(byte).ok_or(Base64Error::InvalidByte { offset: at, byte })?;
            }
        }
        previous = byte;
    }
    Ok(())
}

/// Decodes a whole input, any number of separately padded segments, appending to `out`: the
/// answer every other path is tested against. `offset` is the absolute stream offset of `input[0]`.
///
/// # Errors
///
/// The first invalid byte, as [`decode_group`] names it; `out` then holds the groups before it.
pub(super) fn decode_groups(
    input: &[u8],
    offset: u64,
    out: &mut impl Output,
) -> Result<(), Base64Error> {
    out.reserve_bytes(input.len() / 4 * 3);
    let mut at = offset;
    let mut groups = input.chunks_exact(4);
    for group in &mut groups {
        let group = <[u8; 4]>::try_from(group).unwrap_or([PAD; 4]);
        out.append(decode_group(group, at)?.as_slice());
        at += 4;
    }
    // A partial group at the end is reported as the decoder's `finish` would report it.
    check_partial_group(groups.remainder(), at)?;
    match groups.remainder().len() {
        0 => Ok(()),
        leftover => Err(Base64Error::Truncated {
            offset: at,
            leftover: leftover as u8,
        }),
    }
}

/// Encodes one whole 3-byte group.
#[inline]
pub(super) fn encode_group(group: [u8; 3]) -> [u8; 4] {
    let [a, b, c] = group;
    let bits = (u32::from(a) << 16) | (u32::from(b) << 8) | u32::from(c);
    [
        symbol(bits >> 18),
        symbol(bits >> 12),
        symbol(bits >> 6),
        symbol(bits),
    ]
}

/// Encodes the last 1 or 2 bytes of a stream as a padded group; `None` for any other length.
pub(super) fn encode_tail(tail: &[u8]) -> Option<[u8; 4]> {
    match *tail {
        [a] => {
            let [c0, c1, _, _] = encode_group([a, 0, 0]);
            Some([c0, c1, PAD, PAD])
        }
        [a, b] => {
            let [c0, c1, c2, _] = encode_group([a, b, 0]);
            Some([c0, c1, c2, PAD])
        }
        _ => None,
    }
}

/// Encodes `input` with padding, appending to `out`.
pub(super) fn encode(input: &[u8], out: &mut impl Output) {
    out.reserve_bytes(super::encoded_len(input.len()));
    let mut groups = input.chunks_exact(3);
    for group in &mut groups {
        let group = <[u8; 3]>::try_from(group).unwrap_or([0; 3]);
        out.append(&encode_group(group));
    }
    if let Some(tail) = encode_tail(groups.remainder()) {
        out.append(&tail);
    }
}
