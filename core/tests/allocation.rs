//! Allocation is bounded by the limit, measured with a counting global allocator rather than
//! assumed: a header that announces 4 GiB must be refused before anything near it is reserved.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use bytes::Bytes;
use grpc_lambda_core::{DecodeError, FrameDecoder};

struct Counting;

thread_local! {
    /// The largest single allocation made on this thread while armed.
    static LARGEST: Cell<usize> = const { Cell::new(0) };
    static ARMED: Cell<bool> = const { Cell::new(false) };
}

// SAFETY: defers to the system allocator; only records sizes in thread-locals that never allocate.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        record(layout.size());
        System.alloc(layout)
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout)
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        record(new_size);
        System.realloc(ptr, layout, new_size)
    }
}

fn record(size: usize) {
    let _ = ARMED.try_with(|armed| {
        if armed.get() {
            let _ = LARGEST.try_with(|largest| largest.set(largest.get().max(size)));
        }
    });
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// The largest single allocation `f` makes on this thread.
fn largest_allocation<T>(f: impl FnOnce() -> T) -> (T, usize) {
    LARGEST.with(|l| l.set(0));
    ARMED.with(|a| a.set(true));
    let value = f();
    ARMED.with(|a| a.set(false));
    (value, LARGEST.with(Cell::get))
}

#[test]
fn a_4_gib_header_is_refused_before_any_large_allocation() {
    let header = Bytes::from_static(b"\x00\xff\xff\xff\xff");
    // Header whole, and header split so the decoder has to assemble it.
    for split in 0..=5 {
        let (result, largest) = largest_allocation(|| {
            let mut decoder = FrameDecoder::new();
            decoder.push(header.slice(..split));
            decoder.push(header.slice(split..));
            decoder.push(Bytes::from_static(&[0u8; 64]));
            decoder.decode()
        });
        assert_eq!(
            result,
            Err(DecodeError::MessageTooLarge {
                len: u32::MAX,
                max: 4 << 20,
                offset: 0
            })
        );
        assert!(
            largest < 1024,
            "split at {split}: largest allocation {largest} bytes"
        );
    }
}

#[test]
fn a_frame_under_the_limit_reserves_its_exact_length_once() {
    // A 1 MiB frame arriving in 4 KiB pieces: one buffer of exactly 1 MiB, never a doubling.
    let len = 1usize << 20;
    let mut wire = vec![0u8, 0, 0x10, 0, 0];
    wire.extend(std::iter::repeat_n(7u8, len));
    let chunks: Vec<Bytes> = wire.chunks(4096).map(Bytes::copy_from_slice).collect();
    let (frame, largest) = largest_allocation(|| {
        let mut decoder = FrameDecoder::new();
        let mut frame = None;
        for chunk in chunks {
            decoder.push(chunk);
            if let Some(f) = decoder.decode().unwrap() {
                frame = Some(f);
            }
        }
        frame
    });
    assert_eq!(frame.unwrap().payload().len(), len);
    assert_eq!(largest, len);
}

#[cfg(feature = "gzip")]
#[test]
fn a_gzip_bomb_never_allocates_past_the_limit() {
    let bomb = grpc_lambda_core::gzip::compress(&vec![0u8; 64 << 20]);
    let limit = 4 << 20;
    let (result, largest) = largest_allocation(|| grpc_lambda_core::gzip::decompress(&bomb, limit));
    assert!(result.is_err());
    assert!(
        largest <= limit,
        "largest allocation {largest} bytes, limit {limit}"
    );
}

/// Found by the `gzip` fuzz target: growing the output from a length that is not a power of two
/// let `Vec` reserve twice its capacity, 93,184 bytes under a 64 KiB limit.
#[cfg(feature = "gzip")]
#[test]
fn gzip_output_growth_never_reserves_past_a_limit_that_is_not_a_power_of_two() {
    for limit in [46_592usize, 64 * 1024, 100_000, 3 << 20] {
        let bomb = grpc_lambda_core::gzip::compress(&vec![0u8; limit * 4]);
        let (result, largest) =
            largest_allocation(|| grpc_lambda_core::gzip::decompress(&bomb, limit));
        assert!(result.is_err());
        assert!(
            largest <= limit,
            "limit {limit}: largest allocation {largest} bytes"
        );
    }
}
