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

/// Smallest allocation [`alloc_pages_zeroed`] serves from the page arena (one page).
pub const PAGE_ARENA_MIN: usize = 4096;

/// The jemalloc arena that holds page-sized and larger hash-table bucket arrays, created on
/// first use with dirty-page decay off, so the pages of a freed array go back to the system
/// at once instead of lingering for jemalloc's 10 s decay. A table that doubles frees its
/// old array when the move is done; with the arrays in the common arena, loading a million
/// keys left about 2 bytes per key of such free pages resident. `None` if jemalloc refused.
fn page_arena() -> Option<u32> {
    use std::sync::OnceLock;
    static ARENA: OnceLock<Option<u32>> = OnceLock::new();
    *ARENA.get_or_init(|| {
        let mut arena: u32 = 0;
        let mut len = std::mem::size_of::<u32>();
        // SAFETY: plain mallctl calls with correctly sized buffers and NUL-terminated names.
        unsafe {
            let created = tikv_jemalloc_sys::mallctl(
                c"arenas.create".as_ptr(),
                &mut arena as *mut u32 as *mut std::ffi::c_void,
                &mut len,
                std::ptr::null_mut(),
                0,
            );
            if created != 0 {
                return None;
            }
            for decay in ["dirty_decay_ms", "muzzy_decay_ms"] {
                let name = std::ffi::CString::new(format!("arena.{arena}.{decay}")).ok()?;
                let mut zero: isize = 0;
                tikv_jemalloc_sys::mallctl(
                    name.as_ptr(),
                    std::ptr::null_mut(),
                    std::ptr::null_mut(),
                    &mut zero as *mut isize as *mut std::ffi::c_void,
                    std::mem::size_of::<isize>(),
                );
            }
        }
        Some(arena)
    })
}

/// Allocate `size` zeroed bytes, 8-aligned, counted in `used_memory` like any allocation;
/// from the page arena when `size >= PAGE_ARENA_MIN`. Null if out of memory. Free it with
/// [`free_pages`] and the same size.
pub fn alloc_pages_zeroed(size: usize) -> *mut u8 {
    let p = match page_arena() {
        Some(arena) if size >= PAGE_ARENA_MIN => {
            let flags = tikv_jemalloc_sys::MALLOCX_ARENA(arena as usize)
                | tikv_jemalloc_sys::MALLOCX_TCACHE_NONE
                | tikv_jemalloc_sys::MALLOCX_ZERO;
            // SAFETY: size is non-zero; the flags name an arena that exists.
            unsafe { tikv_jemalloc_sys::mallocx(size, flags) as *mut u8 }
        }
        // SAFETY: size is non-zero (PAGE_ARENA_MIN > 0 or the caller's non-empty array).
        _ => unsafe { Jemalloc.alloc_zeroed(Layout::from_size_align_unchecked(size.max(1), 8)) },
    };
    if !p.is_null() {
        add(size_class(size.max(1), 8) as isize);
    }
    p
}

/// Free what [`alloc_pages_zeroed`] returned.
///
/// # Safety
/// `p` must come from `alloc_pages_zeroed(size)` and not be freed yet.
pub unsafe fn free_pages(p: *mut u8, size: usize) {
    match page_arena() {
        Some(_) if size >= PAGE_ARENA_MIN => {
            tikv_jemalloc_sys::sdallocx(p.cast(), size, tikv_jemalloc_sys::MALLOCX_TCACHE_NONE)
        }
        _ => Jemalloc.dealloc(p, Layout::from_size_align_unchecked(size.max(1), 8)),
    }
    add(-(size_class(size.max(1), 8) as isize));
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

    /// `stats.arenas.<arena>.pdirty`: the arena's free pages still resident.
    fn dirty_pages(arena: u32) -> usize {
        let _ = tikv_jemalloc_ctl::epoch::advance();
        let name = std::ffi::CString::new(format!("stats.arenas.{arena}.pdirty")).unwrap();
        let mut pages: usize = 0;
        let mut len = std::mem::size_of::<usize>();
        // SAFETY: a read of a size_t statistic into a correctly sized buffer.
        let rc = unsafe {
            tikv_jemalloc_sys::mallctl(
                name.as_ptr(),
                &mut pages as *mut usize as *mut std::ffi::c_void,
                &mut len,
                std::ptr::null_mut(),
                0,
            )
        };
        assert_eq!(rc, 0);
        pages
    }

    #[test]
    fn freed_page_arrays_leave_no_dirty_pages() {
        let arena = page_arena().expect("jemalloc creates the page arena");
        let size = 1 << 20;
        let p = alloc_pages_zeroed(size);
        assert!(!p.is_null());
        // SAFETY: `p` holds `size` zeroed bytes.
        unsafe {
            assert!(std::slice::from_raw_parts(p, size).iter().all(|&b| b == 0));
            std::ptr::write_bytes(p, 0xAB, size);
            free_pages(p, size);
        }
        assert_eq!(dirty_pages(arena), 0);
    }

    #[test]
    fn size_classes_match_jemalloc() {
        for size in (1..20_000).chain([65_536, 100_000, 1 << 20, (1 << 20) + 1, 3 << 22]) {
            // SAFETY: nallocx only computes.
            let want = unsafe { tikv_jemalloc_sys::nallocx(size, 0) };
            assert_eq!(size_class(size, 8), want, "size {size}");
        }
    }
}
