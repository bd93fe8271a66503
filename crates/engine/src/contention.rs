//! Which worker holds which stripe, and whether this thread keeps waiting for one stripe a
//! worker holds: a hot key served from two workers. Its connections then belong on the one
//! worker holding it (`brim-server`'s connection loop moves them), where the key's stripe
//! and its cache lines stay put instead of going back and forth between cores.
//!
//! Each worker thread publishes the stripe it holds in a slot of its own (one relaxed store
//! per lock and per unlock, on a cache line only it writes). A thread that finds a stripe
//! locked looks the holder up there before it waits. Waiting for the same stripe
//! [`HOT_RUN`] times in a row (a chance collision of two random keys repeats with odds of
//! one in the stripe count) marks the holder as the worker this thread's current
//! connection waits for; [`take_hot_wait`] reads and clears that mark after each batch.

use std::cell::Cell;
use std::ptr;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::atomic::{AtomicPtr, AtomicUsize};

/// Workers that publish what they hold; workers beyond these are not told hot waits.
const SLOTS: usize = 128;

/// Consecutive waits for one stripe that make it hot.
pub const HOT_RUN: u32 = 3;

/// A worker's published stripe (null: none), alone on its cache line.
#[repr(align(64))]
struct Slot(AtomicPtr<()>);

static HOLDING: [Slot; SLOTS] = [const { Slot(AtomicPtr::new(ptr::null_mut())) }; SLOTS];

/// Slots in use: one past the highest worker index set.
static IN_USE: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    /// This thread's worker slot (`usize::MAX`: not a worker).
    static WORKER: Cell<usize> = const { Cell::new(usize::MAX) };
    /// The stripe this thread last waited for, and how many times in a row.
    static LAST_WAIT: Cell<(*const (), u32)> = const { Cell::new((ptr::null(), 0)) };
    /// The worker holding the hot stripe this thread waited for (`usize::MAX`: none).
    static HOT: Cell<usize> = const { Cell::new(usize::MAX) };
}

/// Make this thread worker `i`: it publishes the stripes it holds from now on.
pub fn set_worker(i: usize) {
    WORKER.set(i);
    IN_USE.fetch_max((i + 1).min(SLOTS), Relaxed);
}

/// This thread holds the stripe locked by `lock`.
#[inline]
pub(crate) fn holding(lock: *const ()) {
    let w = WORKER.get();
    if let Some(slot) = HOLDING.get(w) {
        slot.0.store(lock as *mut (), Relaxed);
    }
}

/// This thread let its stripe go.
#[inline]
pub(crate) fn released() {
    holding(ptr::null());
}

/// This thread is about to wait for the stripe locked by `lock`.
#[cold]
pub(crate) fn waiting(lock: *const ()) {
    let (last, run) = LAST_WAIT.get();
    let run = if ptr::eq(last, lock) { run.saturating_add(1) } else { 1 };
    LAST_WAIT.set((lock, run));
    if run < HOT_RUN {
        return;
    }
    let me = WORKER.get();
    let in_use = IN_USE.load(Relaxed);
    let holder = HOLDING[..in_use].iter().position(|s| ptr::eq(s.0.load(Relaxed), lock));
    if let Some(w) = holder.filter(|&w| w != me) {
        HOT.set(w);
    }
}

/// The worker holding a hot stripe this thread waited for since the last call, if any.
#[inline]
pub fn take_hot_wait() -> Option<usize> {
    let w = HOT.replace(usize::MAX);
    (w != usize::MAX).then_some(w)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_repeated_waits_for_a_stripe_another_worker_holds_are_hot() {
        let (a, b) = (1usize, 2usize);
        let (a, b) = (&a as *const usize as *const (), &b as *const usize as *const ());
        let held = a as usize;
        std::thread::spawn(move || {
            set_worker(7);
            holding(held as *const ());
        })
        .join()
        .ok();
        set_worker(3);
        for _ in 1..HOT_RUN {
            waiting(a);
        }
        assert_eq!(take_hot_wait(), None, "fewer than HOT_RUN waits");
        waiting(b);
        waiting(a);
        assert_eq!(take_hot_wait(), None, "a wait for another stripe breaks the run");
        for _ in 0..HOT_RUN {
            waiting(a);
        }
        assert_eq!(take_hot_wait(), Some(7));
        assert_eq!(take_hot_wait(), None, "taken");
        waiting(b);
        waiting(b);
        waiting(b);
        assert_eq!(take_hot_wait(), None, "nobody publishes b");
        HOLDING[7].0.store(ptr::null_mut(), Relaxed);
    }
}
