//! How a stream is cut into the chunks a decoder is fed.
//!
//! A decoder must answer the same whatever the cuts: inside a frame header, inside a trailer line,
//! inside a base64 group or its padding, with empty chunks in between.

use bytes::Bytes;
use core::fmt;
use core::ops::Range;

/// The most chunk sizes a [`Chunking::Sizes`] read from fuzz bytes holds.
pub const MAX_SIZES: usize = 16;

/// A way of cutting a stream into consecutive chunks.
///
/// `Debug` prints the Rust expression that rebuilds it.
///
/// # Examples
///
/// ```
/// use grpc_lambda_proptests::chunking::Chunking;
///
/// assert_eq!(Chunking::Fixed(2).ranges(5), [0..2, 2..4, 4..5]);
/// assert_eq!(Chunking::Sizes(vec![1, 0]).ranges(2), [0..1, 1..1, 1..2]);
/// assert_eq!(format!("{:?}", Chunking::Sizes(vec![1, 0])), "Chunking::Sizes(vec![1, 0])");
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub enum Chunking {
    /// The whole stream as one chunk.
    Whole,
    /// One byte per chunk.
    EveryByte,
    /// Chunks of this many bytes (0 is read as 1); the last one may be shorter.
    Fixed(usize),
    /// Chunk sizes used in turn, cycling; a 0 is an empty chunk. All zeros (or none) is `Whole`.
    Sizes(Vec<usize>),
    /// Pseudo-random sizes, from empty to a few KiB, drawn from this seed: a fuzz input of two
    /// bytes describes a long irregular cut.
    Seeded(u64),
}

impl Chunking {
    /// Every chunking a caller without a strategy should try: one chunk, every byte, small odd
    /// sizes, and a few irregular cuts.
    pub fn standard_set() -> Vec<Chunking> {
        vec![
            Chunking::Whole,
            Chunking::EveryByte,
            Chunking::Fixed(2),
            Chunking::Fixed(3),
            Chunking::Fixed(7),
            Chunking::Sizes(vec![4, 0, 1, 5]),
            Chunking::Seeded(1),
            Chunking::Seeded(0x5eed),
        ]
    }

    /// The ranges of the chunks of a stream of `len` bytes: consecutive, covering `0..len`, at
    /// least one.
    pub fn ranges(&self, len: usize) -> Vec<Range<usize>> {
        if len == 0 {
            return whole(0);
        }
        match self {
            Chunking::Whole => whole(len),
            Chunking::EveryByte => (0..len).map(|i| i..i + 1).collect(),
            Chunking::Fixed(size) => {
                let size = (*size).max(1);
                (0..len)
                    .step_by(size)
                    .map(|start| start..len.min(start + size))
                    .collect()
            }
            Chunking::Sizes(sizes) if sizes.iter().all(|&s| s == 0) => whole(len),
            Chunking::Sizes(sizes) => cut(len, sizes.iter().copied().cycle()),
            Chunking::Seeded(seed) => {
                let mut rng = XorShift::new(*seed);
                cut(len, core::iter::from_fn(|| Some(rng.chunk_size())))
            }
        }
    }

    /// The chunks of `data`, as slices of it (no copies).
    pub fn cut(&self, data: &Bytes) -> Vec<Bytes> {
        self.ranges(data.len())
            .into_iter()
            .map(|range| data.slice(range))
            .collect()
    }

    /// The chunks of `data`, as borrowed slices.
    pub fn cut_slice<'a>(&self, data: &'a [u8]) -> Vec<&'a [u8]> {
        self.ranges(data.len())
            .into_iter()
            .map(|range| data.get(range).unwrap_or_default())
            .collect()
    }

    /// Reads a chunking from fuzz bytes: one byte picks the kind, then its parameter.
    ///
    /// | byte % 5 | chunking | then |
    /// | --- | --- | --- |
    /// | 0 | `Whole` | |
    /// | 1 | `EveryByte` | |
    /// | 2 | `Fixed(n + 1)` | one byte `n` |
    /// | 3 | `Seeded(seed)` | two bytes, little-endian |
    /// | 4 | `Sizes` | one byte `n % 16`, then `n` sizes of one byte each |
    pub fn read(reader: &mut Reader<'_>) -> Chunking {
        match reader.byte() % 5 {
            0 => Chunking::Whole,
            1 => Chunking::EveryByte,
            2 => Chunking::Fixed(usize::from(reader.byte()) + 1),
            3 => Chunking::Seeded(u64::from(reader.u16())),
            _ => {
                let count = usize::from(reader.byte()) % MAX_SIZES;
                Chunking::Sizes((0..count).map(|_| usize::from(reader.byte())).collect())
            }
        }
    }
}

/// Cuts `0..len` with sizes taken from `sizes` (an endless iterator).
fn cut(len: usize, sizes: impl Iterator<Item = usize>) -> Vec<Range<usize>> {
    let mut ranges = Vec::new();
    let mut start = 0;
    for size in sizes {
        if start >= len {
            break;
        }
        let end = len.min(start.saturating_add(size));
        ranges.push(start..end);
        start = end;
    }
    if ranges.is_empty() {
        return whole(len);
    }
    ranges
}

/// One chunk: all of `0..len` (empty for an empty stream).
fn whole(len: usize) -> Vec<Range<usize>> {
    std::iter::once(0..len).collect()
}

impl fmt::Debug for Chunking {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Chunking::Whole => f.write_str("Chunking::Whole"),
            Chunking::EveryByte => f.write_str("Chunking::EveryByte"),
            Chunking::Fixed(size) => write!(f, "Chunking::Fixed({size})"),
            Chunking::Sizes(sizes) => write!(f, "Chunking::Sizes(vec!{sizes:?})"),
            Chunking::Seeded(seed) => write!(f, "Chunking::Seeded({seed:#x})"),
        }
    }
}

/// xorshift64*: small, fast, and the same on every platform, so a seed is a reproducer.
struct XorShift(u64);

impl XorShift {
    fn new(seed: u64) -> Self {
        // Zero is the one state xorshift never leaves.
        Self(seed ^ 0x9e37_79b9_7f4a_7c15)
    }

    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// Mostly small chunks, some empty, a few of up to 4 KiB.
    fn chunk_size(&mut self) -> usize {
        let r = self.next();
        let pick = (r >> 32) as usize;
        match r % 16 {
            0 | 1 => 0,
            2..=9 => 1 + pick % 8,
            10..=14 => 1 + pick % 64,
            _ => 1 + pick % 4096,
        }
    }
}

/// Reads fixed fields from the front of fuzz bytes; past the end every read is zero or empty.
///
/// # Examples
///
/// ```
/// use grpc_lambda_proptests::chunking::Reader;
///
/// let mut reader = Reader::new(&[7, 1, 0, 9]);
/// assert_eq!(reader.byte(), 7);
/// assert_eq!(reader.u16(), 1);
/// assert_eq!(reader.rest(), [9]);
/// assert_eq!(reader.byte(), 0);
/// ```
#[derive(Debug)]
pub struct Reader<'a> {
    data: &'a [u8],
}

impl<'a> Reader<'a> {
    /// A reader at the start of `data`.
    pub fn new(data: &'a [u8]) -> Self {
        Self { data }
    }

    /// The next byte, or 0 past the end.
    pub fn byte(&mut self) -> u8 {
        match self.data.split_first() {
            Some((&byte, rest)) => {
                self.data = rest;
                byte
            }
            None => 0,
        }
    }

    /// The next two bytes, little-endian.
    pub fn u16(&mut self) -> u16 {
        u16::from_le_bytes([self.byte(), self.byte()])
    }

    /// The next four bytes, little-endian.
    pub fn u32(&mut self) -> u32 {
        u32::from_le_bytes([self.byte(), self.byte(), self.byte(), self.byte()])
    }

    /// The next eight bytes, little-endian.
    pub fn u64(&mut self) -> u64 {
        u64::from(self.u32()) | (u64::from(self.u32()) << 32)
    }

    /// The next `len` bytes, or as many as are left.
    pub fn take(&mut self, len: usize) -> &'a [u8] {
        let (head, rest) = self.data.split_at(len.min(self.data.len()));
        self.data = rest;
        head
    }

    /// A length byte, then that many bytes.
    pub fn short_bytes(&mut self) -> &'a [u8] {
        let len = usize::from(self.byte());
        self.take(len)
    }

    /// Whatever is left.
    pub fn rest(&mut self) -> &'a [u8] {
        core::mem::take(&mut self.data)
    }

    /// Whether nothing is left.
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_chunking_covers_the_stream_in_order() {
        for len in [0usize, 1, 5, 17, 300, 9000] {
            let mut all = Chunking::standard_set();
            all.push(Chunking::Sizes(vec![]));
            all.push(Chunking::Sizes(vec![0, 0]));
            all.push(Chunking::Fixed(0));
            for chunking in all {
                let ranges = chunking.ranges(len);
                assert!(!ranges.is_empty(), "{chunking:?}");
                let mut at = 0;
                for range in &ranges {
                    assert_eq!(range.start, at, "{chunking:?} at {len}");
                    assert!(range.end >= range.start);
                    at = range.end;
                }
                assert_eq!(at, len, "{chunking:?}");
            }
        }
    }

    #[test]
    fn seeded_cuts_are_irregular_and_reproducible() {
        let a = Chunking::Seeded(3).ranges(10_000);
        assert_eq!(a, Chunking::Seeded(3).ranges(10_000));
        assert_ne!(a, Chunking::Seeded(4).ranges(10_000));
        assert!(a.iter().any(|r| r.is_empty()));
        assert!(a.iter().any(|r| r.len() > 64));
    }

    #[test]
    fn reads_every_kind_from_bytes() {
        let read = |bytes: &[u8]| Chunking::read(&mut Reader::new(bytes));
        assert_eq!(read(&[]), Chunking::Whole);
        assert_eq!(read(&[1]), Chunking::EveryByte);
        assert_eq!(read(&[2, 6]), Chunking::Fixed(7));
        assert_eq!(read(&[3, 1, 2]), Chunking::Seeded(0x201));
        assert_eq!(read(&[4, 2, 5, 0, 9]), Chunking::Sizes(vec![5, 0]));
    }
}
