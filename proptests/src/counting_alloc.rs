//! A global allocator that records the largest single allocation, so "never allocates past the
//! limit" is measured rather than assumed.
//!
//! A binary opts in with `#[global_allocator]`; the fuzz targets and the regression test do.
//! Elsewhere [`largest_allocation`] answers `None` and the checks that use it skip the bound.
//!
//! ```
//! // In a binary or a test file:
//! #[global_allocator]
//! static ALLOCATOR: grpc_lambda_proptests::counting_alloc::CountingAllocator =
//!     grpc_lambda_proptests::counting_alloc::CountingAllocator;
//!
//! let (_, largest) = grpc_lambda_proptests::counting_alloc::largest_allocation(|| vec![0u8; 100]);
//! assert_eq!(largest, Some(100));
//! ```
#![allow(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicBool, Ordering};

/// Defers to the system allocator and records, while armed on the calling thread, the size of
/// the largest allocation or reallocation.
#[derive(Debug, Clone, Copy, Default)]
pub struct CountingAllocator;

/// Set by the first allocation through [`CountingAllocator`]: it is the global allocator.
static INSTALLED: AtomicBool = AtomicBool::new(false);

thread_local! {
    static ARMED: Cell<bool> = const { Cell::new(false) };
    static LARGEST: Cell<usize> = const { Cell::new(0) };
}

fn record(size: usize) {
    if !INSTALLED.load(Ordering::Relaxed) {
        INSTALLED.store(true, Ordering::Relaxed);
    }
    // `try_with`: allocations during thread teardown must not panic. Const-initialised
    // thread-locals of `Cell`s never allocate, so this cannot recurse.
    let _ = ARMED.try_with(|armed| {
        if armed.get() {
            let _ = LARGEST.try_with(|largest| largest.set(largest.get().max(size)));
        }
    });
}

// SAFETY: every method forwards its arguments unchanged to `System`, which upholds the
// `GlobalAlloc` contract; `record` only touches atomics and const thread-locals and never
// allocates.
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        record(layout.size());
        // SAFETY: the caller's `layout` obligations carry over unchanged.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        record(layout.size());
        // SAFETY: as `alloc`.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `System` through this allocator, with this `layout`.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        record(new_size);
        // SAFETY: as `dealloc`, and the caller guarantees `new_size` is valid for `layout`.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

/// Runs `f` and returns the size of the largest single allocation it made on this thread, or
/// `None` when [`CountingAllocator`] is not the global allocator.
pub fn largest_allocation<T>(f: impl FnOnce() -> T) -> (T, Option<usize>) {
    let outer = LARGEST.with(|largest| largest.replace(0));
    let was_armed = ARMED.with(|armed| armed.replace(true));
    let value = f();
    ARMED.with(|armed| armed.set(was_armed));
    let largest = LARGEST.with(|largest| largest.replace(outer.max(largest.get())));
    let installed = INSTALLED.load(Ordering::Relaxed);
    (value, installed.then_some(largest))
}

/// Whether [`CountingAllocator`] is the global allocator of this binary.
pub fn is_installed() -> bool {
    // One allocation settles it when nothing has been allocated yet.
    drop(std::hint::black_box(Box::new(0u8)));
    INSTALLED.load(Ordering::Relaxed)
}
