//! Databases and the keyspace: 16 (by default) databases, each split into stripes by key
//! hash, each stripe behind its own lock, and one gate that a whole batch of commands holds
//! shared while whole-keyspace operations (EXEC, FLUSHALL, SWAPDB, ...) take it exclusively.

use std::cell::Cell;
use std::marker::PhantomData;
use std::ops::{Deref, DerefMut};
use std::ptr;

use parking_lot::{Mutex, RwLock, RwLockReadGuard, RwLockWriteGuard};

use crate::contention;
use crate::lru::Access;
use crate::stripe::Stripe;
use crate::table::hash_key;

/// Stripes per database unless configured otherwise. Fewer would save start-up memory (each
/// empty stripe costs 128 bytes, 16 × 256 of them), but bigger per-stripe tables raise the RSS
/// peaks of a cache at `maxmemory` (their bucket arrays grow in bigger steps): with 128,
/// allkeys-lfu's peak went from 1.02 to 1.045 × maxmemory in the cache benchmark.
pub const DEFAULT_STRIPES: usize = 256;

/// A stripe with its lock on two cache lines of its own: two stripes' locks never share a
/// line, and no empty stripe costs more than 128 bytes.
#[repr(align(64))]
struct Padded(Mutex<Stripe>);

/// One database: its keys spread over stripes.
pub struct Db {
    stripes: Box<[Padded]>,
    shift: u32,
}

/// A stripe, locked. Dropped while [`keep_stripes`] is on, it may leave its stripe locked
/// for the thread's next command (see there).
pub struct StripeGuard<'a> {
    lock: &'a Mutex<Stripe>,
    /// A lock belongs to the thread that took it.
    _not_send: PhantomData<*mut ()>,
}

impl Deref for StripeGuard<'_> {
    type Target = Stripe;

    #[inline]
    fn deref(&self) -> &Stripe {
        // SAFETY: the guard stands for the locked mutex.
        unsafe { &*self.lock.data_ptr() }
    }
}

impl DerefMut for StripeGuard<'_> {
    #[inline]
    fn deref_mut(&mut self) -> &mut Stripe {
        // SAFETY: the guard stands for the locked mutex, and is borrowed mutably.
        unsafe { &mut *self.lock.data_ptr() }
    }
}

impl Drop for StripeGuard<'_> {
    #[inline]
    fn drop(&mut self) {
        if KEEP.get() && KEPT.get().is_null() {
            KEPT.set(self.lock);
        } else {
            contention::released();
            // SAFETY: the guard stands for the lock this thread holds.
            unsafe { self.lock.force_unlock() }
        }
    }
}

thread_local! {
    /// The stripe this thread left locked after its last command (null: none).
    static KEPT: Cell<*const Mutex<Stripe>> = const { Cell::new(ptr::null()) };
    /// Whether a stripe guard dropped now leaves its stripe locked (see [`keep_stripes`]).
    static KEEP: Cell<bool> = const { Cell::new(false) };
    /// Batches run since the kept stripe last went (see [`batch_done`]).
    static BATCHES: Cell<u32> = const { Cell::new(0) };
}

/// While on, the last stripe guard this thread drops leaves its stripe locked, and the
/// thread's next lock of that same stripe takes it over without touching the lock. A pipeline
/// of commands on one key then locks its stripe once, not once per command, and a worker's
/// run of such batches once per [`KEEP_BATCHES`]: two workers serving one hot key no longer
/// hand its stripe (and its cache lines) back and forth per command, each hand-over a futex
/// wake. Locking any other stripe lets the kept one go first, so a thread never waits for a
/// stripe while keeping one. The caller turns this on only around commands that lock stripes
/// before anything else; it calls [`release_kept`] before it waits for any lock another
/// thread may hold while waiting for a stripe (the keyspace gate, the AOF order, ...), when it
/// goes idle, and counts its batches with [`batch_done`].
#[inline]
pub fn keep_stripes(on: bool) {
    KEEP.set(on);
}

/// Batches of commands a thread may run keeping one stripe before it lets the stripe go, so
/// that another thread waiting for it waits a bounded time.
pub const KEEP_BATCHES: u32 = 8;

/// Count a batch of commands run on this thread; every [`KEEP_BATCHES`] batches, the kept
/// stripe goes.
#[inline]
pub fn batch_done() {
    let n = BATCHES.get() + 1;
    if n >= KEEP_BATCHES {
        BATCHES.set(0);
        release_kept();
    } else {
        BATCHES.set(n);
    }
}

/// Unlock the stripe this thread kept, if any (see [`keep_stripes`]).
#[inline]
pub fn release_kept() {
    BATCHES.set(0);
    let kept = KEPT.replace(ptr::null());
    if !kept.is_null() {
        contention::released();
        // Handed straight to a thread waiting for it, if any: this thread would otherwise
        // take it back with its next batch before the waiter wakes, again and again.
        // SAFETY: a kept stripe is locked by this thread, and stripes live as long as their
        // keyspace, which outlives every batch of commands run on it.
        unsafe { (*kept).force_unlock_fair() }
    }
}

/// Lock `lock` for this thread, taking over the kept stripe if it is that one, else letting
/// the kept one go first.
#[inline]
fn acquire(lock: &Mutex<Stripe>) -> StripeGuard<'_> {
    let kept = KEPT.get();
    if !kept.is_null() {
        if ptr::eq(kept, lock) {
            KEPT.set(ptr::null());
            return StripeGuard { lock, _not_send: PhantomData };
        }
        release_kept();
    }
    let held = lock.try_lock().unwrap_or_else(|| {
        contention::waiting(lock as *const _ as *const ());
        lock.lock()
    });
    std::mem::forget(held);
    contention::holding(lock as *const _ as *const ());
    let g = StripeGuard { lock, _not_send: PhantomData };
    g.prefetch_tracked();
    g
}

impl Db {
    /// An empty database with `stripes` stripes (a power of two).
    pub fn new(stripes: usize, seed: u64) -> Self {
        let n = stripes.max(1).next_power_of_two();
        let stripes = (0..n)
            .map(|i| {
                Padded(Mutex::new(Stripe::new(
                    seed.wrapping_mul(0x9E37_79B9_7F4A_7C15).wrapping_add(i as u64),
                )))
            })
            .collect();
        Db { stripes, shift: 64 - n.trailing_zeros() }
    }

    /// Number of stripes.
    pub fn stripe_count(&self) -> usize {
        self.stripes.len()
    }

    /// The stripe `key` lives in.
    #[inline]
    pub fn stripe_of(&self, key: &[u8]) -> usize {
        if self.shift == 64 {
            0
        } else {
            (hash_key(key) >> self.shift) as usize
        }
    }

    /// Lock the stripe holding `key`.
    #[inline]
    pub fn lock(&self, key: &[u8]) -> StripeGuard<'_> {
        acquire(&self.stripes[self.stripe_of(key)].0)
    }

    /// Lock stripe number `i`.
    pub fn lock_stripe(&self, i: usize) -> StripeGuard<'_> {
        acquire(&self.stripes[i].0)
    }

    /// Lock the stripes of all `keys`, in ascending order (so two multi-key commands never
    /// deadlock).
    pub fn lock_keys<'k>(&self, keys: impl IntoIterator<Item = &'k [u8]>) -> MultiLock<'_> {
        let mut idx: Vec<usize> = keys.into_iter().map(|k| self.stripe_of(k)).collect();
        idx.sort_unstable();
        idx.dedup();
        let guards = idx.iter().map(|&i| (i, acquire(&self.stripes[i].0))).collect();
        MultiLock { db: self, guards }
    }

    /// Number of keys (expired ones not yet reclaimed included, as in Redis).
    pub fn len(&self) -> usize {
        self.stripes.iter().map(|s| acquire(&s.0).len()).sum()
    }

    /// Whether the database holds no key.
    pub fn is_empty(&self) -> bool {
        self.stripes.iter().all(|s| acquire(&s.0).is_empty())
    }

    /// Number of keys with an expire time.
    pub fn volatile_len(&self) -> usize {
        self.stripes.iter().map(|s| acquire(&s.0).volatile_len()).sum()
    }

    /// Average remaining time to live of keys with an expire, in ms (sampled), or 0.
    pub fn avg_ttl(&self, acc: &Access) -> i64 {
        let (mut sum, mut n) = (0i128, 0u64);
        for s in self.stripes.iter() {
            let (a, b) = acquire(&s.0).ttl_sample(acc, 4);
            sum += a;
            n += b;
        }
        if n == 0 {
            0
        } else {
            (sum / n as i128) as i64
        }
    }

    /// Remove every key; returns how many there were.
    pub fn clear(&self) -> usize {
        self.stripes.iter().map(|s| acquire(&s.0).clear()).sum()
    }

    /// Bytes of keyspace table overhead.
    pub fn overhead_bytes(&self) -> usize {
        self.stripes.iter().map(|s| acquire(&s.0).overhead_bytes()).sum::<usize>()
            + self.stripes.len() * std::mem::size_of::<Padded>()
    }

    /// The histograms of its keys' sizes, summed over the stripes (INFO keysizes).
    pub fn keysizes(&self) -> crate::keysizes::Histogram {
        let mut h = crate::keysizes::Histogram::default();
        for s in self.stripes.iter() {
            h.add_stripe(acquire(&s.0).keysizes());
        }
        h
    }

    /// Modifications counted in this database.
    pub fn changes(&self) -> u64 {
        self.stripes.iter().map(|s| acquire(&s.0).changes()).sum()
    }

    /// One SCAN step. The cursor holds the stripe in its low bits and that stripe's table
    /// cursor above them; every key present for the whole scan is returned at least once.
    /// Calls `f` for each live key visited until about `count` keys were visited or
    /// `count * 10` buckets of non-empty stripes were walked; empty stripes cost nothing, so
    /// a small database is covered in one call, as Redis covers a small dict.
    pub fn scan(
        &self,
        cursor: u64,
        count: usize,
        acc: &Access,
        mut f: impl FnMut(crate::EntryRef<'_>),
    ) -> u64 {
        let n = self.stripes.len();
        let bits = n.trailing_zeros();
        let mask = n as u64 - 1;
        let mut stripe = (cursor & mask) as usize;
        let mut inner = cursor.checked_shr(bits).unwrap_or(0);
        let mut visited = 0usize;
        let mut budget = count.saturating_mul(10).max(10);
        loop {
            {
                let mut s = acquire(&self.stripes[stripe].0);
                if s.is_empty() {
                    inner = 0;
                } else {
                    inner = s.scan(inner, acc, |e| {
                        visited += 1;
                        f(e)
                    });
                    budget -= 1;
                }
            }
            if inner == 0 {
                stripe += 1;
                if stripe == n {
                    return 0;
                }
            }
            if visited >= count || budget == 0 {
                return (inner << bits) | stripe as u64;
            }
        }
    }

    /// A random live key.
    pub fn random_key(&self, acc: &Access, rng: &mut crate::Rng) -> Option<Vec<u8>> {
        let n = self.stripes.len();
        let start = rng.below(n);
        // Pick a random non-empty stripe, weighting is approximate (stripes are balanced).
        for i in 0..n {
            let mut s = acquire(&self.stripes[(start + i) % n].0);
            if s.is_empty() {
                continue;
            }
            if let Some(k) = s.random_key(acc) {
                return Some(k);
            }
        }
        None
    }

    /// Exchange all contents with another database (SWAPDB).
    pub fn swap_with(&self, other: &Db) {
        for (a, b) in self.stripes.iter().zip(other.stripes.iter()) {
            let mut ga = acquire(&a.0);
            let mut gb = acquire(&b.0);
            ga.swap_contents(&mut gb);
        }
    }
}

/// Several stripes of one database, locked together.
pub struct MultiLock<'a> {
    db: &'a Db,
    guards: Vec<(usize, StripeGuard<'a>)>,
}

impl MultiLock<'_> {
    /// The locked stripe holding `key` (which must be one of the keys locked).
    pub fn stripe(&mut self, key: &[u8]) -> &mut Stripe {
        let i = self.db.stripe_of(key);
        let pos = self.guards.iter().position(|(s, _)| *s == i).unwrap_or(0);
        &mut self.guards[pos].1
    }
}

/// All databases plus the gate.
pub struct Keyspace {
    gate: RwLock<()>,
    dbs: Box<[Db]>,
}

/// Held by a worker while it runs a batch of commands.
pub type SharedGate<'a> = RwLockReadGuard<'a, ()>;
/// Held while a command needs the whole keyspace to itself.
pub type ExclusiveGate<'a> = RwLockWriteGuard<'a, ()>;

impl Keyspace {
    /// `databases` empty databases of `stripes` stripes each.
    pub fn new(databases: usize, stripes: usize) -> Self {
        let dbs = (0..databases.max(1)).map(|i| Db::new(stripes, i as u64 + 1)).collect();
        Keyspace { gate: RwLock::new(()), dbs }
    }

    /// Number of databases.
    pub fn len(&self) -> usize {
        self.dbs.len()
    }

    /// Whether there are no databases (never: there is at least one).
    pub fn is_empty(&self) -> bool {
        self.dbs.is_empty()
    }

    /// Database `i` (`i < len()`).
    pub fn db(&self, i: usize) -> &Db {
        &self.dbs[i]
    }

    /// All databases.
    pub fn dbs(&self) -> &[Db] {
        &self.dbs
    }

    /// Take the gate shared (a batch of ordinary commands).
    pub fn shared(&self) -> SharedGate<'_> {
        self.gate.read()
    }

    /// Take the gate shared if that needs no wait (no whole-keyspace operation holds it or
    /// waits for it).
    pub fn try_shared(&self) -> Option<SharedGate<'_>> {
        self.gate.try_read()
    }

    /// Take the gate exclusively (the caller must not hold it shared).
    pub fn exclusive(&self) -> ExclusiveGate<'_> {
        self.gate.write()
    }
}

/// Eviction and memory reporting (see `crate::evict`).
impl Db {
    /// Bytes of overhead of the key tables' buckets and of the expire lists, summed over the
    /// stripes (MEMORY STATS `overhead.hashtable.main` / `.expires`).
    pub fn overhead_parts(&self) -> (usize, usize) {
        self.stripes.iter().fold((0, 0), |(m, x), s| {
            let (a, b) = acquire(&s.0).overhead_parts();
            (m + a, x + b)
        })
    }
}

#[cfg(test)]
mod layout_tests {
    #[test]
    fn a_stripe_with_its_lock_fits_two_cache_lines() {
        assert_eq!(std::mem::size_of::<super::Padded>(), 128);
    }
}

#[cfg(test)]
mod keep_tests {
    use super::*;

    /// Drop a guard of `key`'s stripe with keeping on.
    fn lock_and_keep(db: &Db, key: &[u8]) {
        keep_stripes(true);
        drop(db.lock(key));
        keep_stripes(false);
    }

    #[test]
    fn a_kept_stripe_is_taken_over_by_its_next_lock_and_let_go_before_any_other() {
        let db = Db::new(4, 1);
        let a = db.stripe_of(b"a");
        let locked = |i: usize| db.stripes[i].0.is_locked();
        lock_and_keep(&db, b"a");
        assert!(locked(a), "kept after the guard went");
        let mut g = db.lock(b"a");
        g.set(b"a", crate::NewValue::Int(1), crate::SetExpire::Keep, &Access::at(0));
        drop(g);
        assert!(!locked(a), "taken over, then unlocked with keeping off");
        lock_and_keep(&db, b"a");
        let other = (0u32..).map(|n| n.to_string()).find(|k| db.stripe_of(k.as_bytes()) != a);
        let other = other.unwrap_or_default();
        let g = db.lock(other.as_bytes());
        assert!(!locked(a), "let go before another stripe is locked");
        drop(g);
        lock_and_keep(&db, b"a");
        assert_eq!(db.len(), 1, "whole-database walks let it go too");
        lock_and_keep(&db, b"a");
        release_kept();
        assert!(!locked(a));
        release_kept();
    }
}
