//! The most heap one invocation holds at once, and how many blocks it allocates, ours against
//! `lambda_http` + `tonic-web`, on P5's event and service:
//!
//! ```text
//! cargo run --release -p grpc-lambda-benches --bin peak-memory
//! ```
//!
//! A counting allocator (this binary's alone, so `perf-report`'s timings stay unaffected) tracks
//! the bytes allocated and not yet freed; a line reports the highest they reach during one
//! warm invocation, above what was live before it. A reallocation counts both blocks, as both
//! exist while it copies. A Lambda function's memory setting must hold this (and the event and
//! the runtime's own buffers) for its largest call. The allocations (a reallocation counts as
//! one) are a measure of the hot path's work that, unlike its time, does not move between runs.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

use grpc_lambda_benches::lambda::{event, LambdaHttpTonicWeb, Ours, SIZES};
use grpc_lambda_benches::size_label;

/// The system allocator, counting.
struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);
static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

fn grew(bytes: usize) {
    ALLOCATIONS.fetch_add(1, Relaxed);
    let live = LIVE.fetch_add(bytes, Relaxed).saturating_add(bytes);
    PEAK.fetch_max(live, Relaxed);
}

// SAFETY: every call is passed to `System` unchanged; the counters only observe.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        grew(layout.size());
        // SAFETY: the caller's contract is `System`'s.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size(), Relaxed);
        // SAFETY: as above.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        grew(new_size);
        // SAFETY: as above.
        let moved = unsafe { System.realloc(ptr, layout, new_size) };
        if moved.is_null() {
            // The old block stays, the new one never was.
            LIVE.fetch_sub(new_size, Relaxed);
        } else {
            LIVE.fetch_sub(layout.size(), Relaxed);
        }
        moved
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// What one call of `invoke` allocates.
struct Usage {
    /// The peak heap, above what was live before the call.
    peak: usize,
    /// Allocations and reallocations.
    allocations: usize,
}

/// What one call of `invoke` allocates; `invoke` runs once before, so that lazily built state
/// (the runtime's, tonic's) is not counted.
fn usage_of(invoke: &dyn Fn()) -> Usage {
    invoke();
    let before = LIVE.load(Relaxed);
    PEAK.store(before, Relaxed);
    let allocations = ALLOCATIONS.load(Relaxed);
    invoke();
    Usage {
        peak: PEAK.load(Relaxed).saturating_sub(before),
        allocations: ALLOCATIONS.load(Relaxed).saturating_sub(allocations),
    }
}

fn main() {
    let ours = Ours::default();
    let anchor = LambdaHttpTonicWeb::default();
    println!(
        "one invocation's heap: its peak above what was live before it, and its allocations \
         (P5's event and service)"
    );
    for len in SIZES {
        let event = event(len);
        let ours = usage_of(&|| drop(ours.invoke(&event)));
        let anchor = usage_of(&|| drop(anchor.invoke(&event)));
        println!(
            "{} message ({} bytes of event): peak ours {} bytes, lambda_http + tonic-web {} bytes, \
             ratio {:.2}; allocations ours {}, lambda_http + tonic-web {}",
            size_label(len),
            event.len(),
            ours.peak,
            anchor.peak,
            ours.peak as f64 / anchor.peak as f64,
            ours.allocations,
            anchor.allocations,
        );
    }
}
