//! The counting global allocator behind `used_memory`.
//!
//! Every allocation the process makes through Rust's global allocator goes to jemalloc and
//! adds its real size-class size (what jemalloc actually hands out, not what was asked for)
//! to a per-thread, cache-line-padded counter. `used_memory` is the sum of the counters.
//! Each thread owns one slot and updates it without a locked instruction; threads beyond
//! the slot count share one atomic slot.

use std::alloc::{GlobalAlloc, Layout};
use std::cell::Cell;
use std::sync::atomic::{AtomicIsize, AtomicUsize, Ordering::Relaxed};

use tikv_jemallocator::Jemalloc;

const SLOTS: usize = 128;
const SHARED_SLOT: usize = SLOTS - 1;
/// jemalloc's largest small size class; larger sizes are asked of jemalloc itself.
const SMALL_MAX: usize = 14336;

#[repr(align(128))]
struct Slot(AtomicIsize);

#[allow(clippy::declare_interior_mutable_const)]
const EMPTY_SLOT: Slot = Slot(AtomicIsize::new(0));
static COUNTERS: [Slot; SLOTS] = [EMPTY_SLOT; SLOTS];
static NEXT_SLOT: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    static MY_SLOT: Cell<usize> = const { Cell::new(usize::MAX) };
}

/// jemalloc wrapped with exact byte counting. Install it with
/// `#[global_allocator] static A: CountingAlloc = CountingAlloc;` in the binary.
pub struct CountingAlloc;

#[inline]
fn add(delta: isize) {
    let slot = MY_SLOT
        .try_with(|s| {
            let mut i = s.get();
            if i == usize::MAX {
                i = NEXT_SLOT.fetch_add(1, Relaxed).min(SHARED_SLOT);
                s.set(i);
            }
            i
        })
        .unwrap_or(SHARED_SLOT);
    let c = &COUNTERS[slot].0;
    if slot == SHARED_SLOT {
        c.fetch_add(delta, Relaxed);
    } else {
        // Only this thread writes this slot: a plain load/store pair is enough.
        c.store(c.load(Relaxed).wrapping_add(delta), Relaxed);
    }
}

/// The size class jemalloc serves a request of `size` bytes with alignment `align` from.
#[inline]
pub fn size_class(size: usize, align: usize) -> usize {
    if align > 16 || size > SMALL_MAX {
        // SAFETY: nallocx only computes; it never touches memory.
        let flags = align.trailing_zeros() as i32; // MALLOCX_LG_ALIGN
        let n = unsafe { tikv_jemalloc_sys::nallocx(size.max(1), flags) };
        return if n == 0 { size } else { n };
    }
    if size <= 8 {
        return 8;
    }
    if size <= 128 {
        return (size + 15) & !15;
    }
    // Four classes per doubling above 128 bytes.
    let lg = usize::BITS - (size - 1).leading_zeros(); // 2^lg >= size
    let step = 1usize << (lg - 3);
    (size + step - 1) & !(step - 1)
}

unsafe impl GlobalAlloc for CountingAlloc {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = Jemalloc.alloc(layout);
        if !p.is_null() {
            add(size_class(layout.size(), layout.align()) as isize);
        }
        p
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let p = Jemalloc.alloc_zeroed(layout);
        if !p.is_null() {
            add(size_class(layout.size(), layout.align()) as isize);
        }
        p
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        Jemalloc.dealloc(ptr, layout);
        add(-(size_class(layout.size(), layout.align()) as isize));
    }

    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = Jemalloc.realloc(ptr, layout, new_size);
        if !p.is_null() {
            let old = size_class(layout.size(), layout.align()) as isize;
            let new = size_class(new_size, layout.align()) as isize;
            add(new - old);
        }
        p
    }
}

/// Bytes currently allocated by the process through the global allocator, counted at
/// jemalloc's size-class sizes. Only meaningful when [`CountingAlloc`] is installed.
pub fn used_memory() -> usize {
    // Only slots handed out so far can be non-zero (plus the shared one).
    let assigned = NEXT_SLOT.load(Relaxed).min(SHARED_SLOT);
    let sum: isize = COUNTERS[..assigned].iter().map(|c| c.0.load(Relaxed)).sum::<isize>()
        + COUNTERS[SHARED_SLOT].0.load(Relaxed);
    sum.max(0) as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn size_classes_match_jemalloc() {
        for size in (1..20_000).chain([65_536, 100_000, 1 << 20, (1 << 20) + 1, 3 << 22]) {
            // SAFETY: nallocx only computes.
            let want = unsafe { tikv_jemalloc_sys::nallocx(size, 0) };
            assert_eq!(size_class(size, 8), want, "size {size}");
        }
    }
}
