//! Eviction: which keys go when `used_memory` exceeds `maxmemory`, as Redis 7.0's `evict.c`
//! chooses them, over Brim's striped databases. Plus the allocator's own statistics
//! ([`allocator`]), which INFO, MEMORY and the eviction diagnosis read. With
//! `lazyfree-lazy-eviction`, big victims go to the lazy-free thread (`crate::lazyfree`) and
//! count as freed at once (`crate::lazyfree::pending_bytes`).
//!
//! # Choosing keys
//! - **Ranked policies** (`*-lru`, `*-lfu`, `*-lrm`, `volatile-ttl`) keep Redis's 16-entry
//!   candidate pool ([`POOL_SIZE`]), shared by every database and kept warm across calls:
//!   each population looks at `maxmemory-samples` keys per eviction it serves in every
//!   database that has keys, ranks them, and keeps the 16 best-ranked candidates seen so far,
//!   ascending; the best candidate is evicted if it still exists (a vanished key is a "ghost"
//!   and the next best is tried), and the next victim's entry is prefetched. Departures from
//!   Redis, about cost and coverage, not about which keys rank first:
//!   - Redis populates before every eviction; Brim populates once for
//!     [`EVICTIONS_PER_POPULATE`] evictions with that many times the samples: the same keys
//!     looked at per eviction, in one walk (whose cache misses overlap) instead of eight cold
//!     ones. A sampled key ranking below every one of the 8 or more candidates still waiting
//!     is not copied into the pool ([`Pool::floor`]): it would not be evicted before the next
//!     population anyway. And the last stripe a population samples evicts at once those of its
//!     keys the next pops would evict ([`Harvest`]): evicting them there, unlinked where the
//!     sweep saw them, saves per victim the copy into the pool, a second lock and a lookup.
//!   - Redis samples a random run of buckets (`dictGetSomeKeys`) of the whole keyspace; the
//!     `allkeys-*` policies of Brim *sweep* instead ([`sweep`]): each population takes a run
//!     of consecutive buckets of the next stripe, round-robin, continuing where that stripe's
//!     last run stopped, so every key is looked at once per pass over the keys. Random
//!     sampling leaves some keys unlooked-at for long while the rest turn over many times:
//!     keys idle far longer than the ones evicted survive that way, which costs hits (a
//!     Zipf cache held at 64 MB hits 0.8596 of requests swept, 0.8583 sampled at random; true
//!     LRU 0.8600), and after churn, scattered over the allocator's slabs, they keep whole slabs
//!     resident long after their size class went out of use (RSS stayed at ~1.9x maxmemory in
//!     the `frag` benchmark; swept, ~1.0x). Stripes are swept in turn rather than one whole
//!     stripe at a time so that evictions stay spread over the stripes (an emptied stripe
//!     next to growing ones grows their bucket arrays). `volatile-*` policies sample random
//!     runs of random stripes' expire lists.
//!
//!   Ranks: LRU and LRM = the time of the last access or modification, measured as idle
//!   milliseconds less the current time (so a candidate's rank does not age while it waits in
//!   the pool: candidates sampled at different times compare right; see `crate::lru` for the
//!   10 ms clock and what LRM records), LFU = `255 - decayed counter`, TTL = `u64::MAX - expire
//!   time`. Unlike Redis, a candidate is re-ranked when it is picked (in the same lookup that
//!   deletes it, [`crate::Stripe::evict_if`]): one that was used since it was sampled (its rank
//!   dropped) is dropped from the pool instead of evicted, so a stale sample never evicts a key
//!   that just became hot; and a key whose time to live already ran out ranks above all (it is
//!   dead anyway).
//! - **Random policies** evict one random key of the next database that has keys, visiting the
//!   databases round-robin, as Redis does.
//! - `volatile-*` policies only consider keys with an expire time (each stripe's expire list
//!   is sampled instead of its table).
//!
//! # How much
//! [`Evictor::run`] evicts until the estimated bytes freed ([`crate::EntryRef::memory_usage`]
//! of each victim) reach the amount asked, checking every 16 keys whether the caller's real
//! `used_memory` is already under the limit and whether the time budget is spent (Redis's
//! `maxmemory-eviction-tenacity`, [`time_limit`]). The caller (the command layer) computes
//! the amount from `used_memory`, fires the `evicted` keyspace events and keeps the stats.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use crate::db::{Db, Keyspace, StripeGuard};
use crate::entry::EntryPtr;
use crate::lru::Access;
use crate::stripe::{Detached, EntryRef, Stripe};
use crate::table::{prefetch, Rng, Sampled};

/// Entries in the eviction candidate pool (Redis's EVPOOL_SIZE).
pub const POOL_SIZE: usize = 16;
/// Key buffers up to this size are kept for reuse by the pool (Redis's
/// EVPOOL_CACHED_SDS_SIZE).
const CACHED_KEY_MAX: usize = 255;
/// How often the evictor re-checks which databases hold keys.
const DB_RECHECK: Duration = Duration::from_millis(100);
/// Random stripes tried before a database is walked for a non-empty one.
const STRIPE_TRIES: usize = 8;
/// How long a full walk that found no candidate stands before the next one.
const NOTHING_RECHECK: Duration = Duration::from_millis(1);
/// Keys [`Evictor::run`] evicts between two checks of memory and time (Redis's 16).
const CHECK_EVERY: usize = 16;
/// Pool rounds after which a re-ranked candidate is evicted even if it became hotter.
const MAX_ROUNDS: usize = 64;
/// Evictions served by one pool population. Each population samples this many times
/// `maxmemory-samples` keys per database (so the keys sampled per eviction stay what Redis
/// samples), from consecutive buckets of one stripe: the chains of one region are walked
/// together, which costs little more than the first cache miss, where sampling again before
/// every eviction paid a cold stripe, bucket and chain each time.
const EVICTIONS_PER_POPULATE: usize = 8;
/// How a population ranks keys: the rank, the parameters and the access time.
type By<'a> = (Rank, &'a Params, &'a Access);
/// Most keys sampled per database in one population.
const MAX_SAMPLE: usize = 1 << 16;

/// `maxmemory-policy`, as the engine sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Policy {
    /// Never evict: writes are refused over the limit.
    NoEviction,
    /// Least recently used, any key.
    AllkeysLru,
    /// Least frequently used, any key.
    AllkeysLfu,
    /// Random, any key.
    AllkeysRandom,
    /// Least recently modified, any key.
    AllkeysLrm,
    /// Least recently used among keys with an expire time.
    VolatileLru,
    /// Least frequently used among keys with an expire time.
    VolatileLfu,
    /// Random among keys with an expire time.
    VolatileRandom,
    /// Nearest expire time first.
    VolatileTtl,
    /// Least recently modified among keys with an expire time.
    VolatileLrm,
}

/// What a ranked policy orders keys by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Rank {
    Idle,
    Lfu,
    Ttl,
}

impl Policy {
    /// From the name `maxmemory-policy` takes (`allkeys-lru`, ...).
    pub fn from_name(name: &str) -> Option<Policy> {
        Some(match name {
            "noeviction" => Policy::NoEviction,
            "allkeys-lru" => Policy::AllkeysLru,
            "allkeys-lfu" => Policy::AllkeysLfu,
            "allkeys-random" => Policy::AllkeysRandom,
            "allkeys-lrm" => Policy::AllkeysLrm,
            "volatile-lru" => Policy::VolatileLru,
            "volatile-lfu" => Policy::VolatileLfu,
            "volatile-random" => Policy::VolatileRandom,
            "volatile-ttl" => Policy::VolatileTtl,
            "volatile-lrm" => Policy::VolatileLrm,
            _ => return None,
        })
    }

    /// Only keys with an expire time are candidates.
    pub fn volatile_only(self) -> bool {
        matches!(
            self,
            Policy::VolatileLru
                | Policy::VolatileLfu
                | Policy::VolatileRandom
                | Policy::VolatileTtl
                | Policy::VolatileLrm
        )
    }

    /// `None` for the random policies and `noeviction`.
    fn rank(self) -> Option<Rank> {
        match self {
            Policy::AllkeysLru | Policy::VolatileLru | Policy::AllkeysLrm | Policy::VolatileLrm => {
                Some(Rank::Idle)
            }
            Policy::AllkeysLfu | Policy::VolatileLfu => Some(Rank::Lfu),
            Policy::VolatileTtl => Some(Rank::Ttl),
            _ => None,
        }
    }
}

/// Everything that steers one eviction run.
#[derive(Debug, Clone, Copy)]
pub struct Params {
    /// The policy.
    pub policy: Policy,
    /// `maxmemory-samples` (keys sampled per database per round).
    pub samples: usize,
    /// `lfu-decay-time` in minutes.
    pub lfu_decay_minutes: u32,
    /// `lazyfree-lazy-eviction`: big collections are freed on the lazy-free thread.
    pub lazy: bool,
}

/// Redis's evictionTimeLimitUs: the time one eviction call may take for a
/// `maxmemory-eviction-tenacity` of 0..=100 (0 µs, linear to 500 µs at 10, then +15% per
/// step, unlimited at 100).
pub fn time_limit(tenacity: u32) -> Duration {
    if tenacity <= 10 {
        return Duration::from_micros(50 * tenacity as u64);
    }
    if tenacity < 100 {
        return Duration::from_micros((500.0 * 1.15f64.powi(tenacity as i32 - 10)) as u64);
    }
    Duration::MAX
}

/// Added to idle times, less the time they are measured at (see [`rank`]): far above any unix
/// time in ms, far below the rank of expired keys.
const IDLE_BASE: u64 = 1 << 62;

/// The rank of a key under a ranked policy: the higher, the sooner it goes. An idle time is
/// ranked as [`IDLE_BASE`] plus the idle time minus the current time, i.e. by the time of the
/// last access, which does not change while the key waits in the pool: candidates sampled at
/// different times compare as their idle times do now.
fn rank(rank: Rank, p: &Params, acc: &Access, e: &EntryRef<'_>) -> u64 {
    let expire = e.expire_at();
    if let Some(w) = expire {
        if acc.now_ms > w {
            return u64::MAX;
        }
    }
    match rank {
        Rank::Idle => {
            IDLE_BASE.saturating_add(acc.idle_ms(e.access_data())).saturating_sub(acc.now_ms.max(0) as u64)
        }
        Rank::Lfu => 255 - acc.lfu_decayed(e.access_data(), p.lfu_decay_minutes) as u64,
        Rank::Ttl => u64::MAX - 1 - expire.unwrap_or(i64::MAX).max(0) as u64,
    }
}

/// One pool entry.
#[derive(Debug)]
struct Candidate {
    rank: u64,
    db: usize,
    /// The stripe of `db` the key was sampled from (where it lives: stripes are by key hash).
    stripe: usize,
    key: Vec<u8>,
    /// Where the key's bytes were when it was sampled: only ever prefetched (never read), so
    /// that the lookup of the next victim finds its entry in cache.
    at: usize,
    /// What evicting it was estimated to free when it was sampled.
    bytes: usize,
}

/// Start loading the entry whose `len` key bytes are at `at`: the line of the entry's header
/// (at most 32 bytes before its key) and those the lookup's comparison reads: the key's, and
/// for a short key the 32 bytes from its start, which the C library's `memcmp` loads in one
/// (masked) vector read whatever the length.
#[inline]
fn prefetch_key(at: usize, len: usize) {
    let key = at as *const u8;
    prefetch(key.wrapping_sub(32));
    prefetch(key);
    prefetch(key.wrapping_add(len.max(32) - 1));
}

/// The candidate pool: at most [`POOL_SIZE`] entries in ascending rank; the best is last.
#[derive(Debug, Default)]
struct Pool {
    slots: Vec<Candidate>,
    spare: Vec<Vec<u8>>,
}

impl Pool {
    /// Redis's evictionPoolPopulate insertion: a candidate ranking no better than every entry
    /// of a full pool is skipped; otherwise it goes in order, pushing out the worst entry when
    /// the pool is full. Equal ranks go before the existing ones.
    fn insert(&mut self, rank: u64, (db, stripe): (usize, usize), key: &[u8], bytes: usize) {
        let k = self.slots.partition_point(|c| c.rank < rank);
        let at = key.as_ptr() as usize;
        if self.slots.len() == POOL_SIZE {
            if k == 0 {
                return;
            }
            // Drop the worst (first) entry and shift the ones below the new rank down into
            // its place, reusing its key buffer: one short move, no allocation.
            self.slots[..k].rotate_left(1);
            let c = &mut self.slots[k - 1];
            if c.key.capacity() > CACHED_KEY_MAX {
                c.key = key.to_vec();
            } else {
                c.key.clear();
                c.key.extend_from_slice(key);
            }
            (c.rank, c.db, c.stripe, c.at, c.bytes) = (rank, db, stripe, at, bytes);
            return;
        }
        let mut buf = self.spare.pop().unwrap_or_default();
        buf.clear();
        buf.extend_from_slice(key);
        self.slots.insert(k, Candidate { rank, db, stripe, key: buf, at, bytes });
    }

    /// The rank a candidate offered by a population must beat to be worth a place: the worst
    /// in the pool once it holds [`EVICTIONS_PER_POPULATE`] candidates or more. A key ranking
    /// below all of them is not among the ones evicted before the next population (barring
    /// ghosts), which looks at fresh keys anyway; skipping it saves copying its key in.
    fn floor(&self) -> Option<u64> {
        self.slots.first().filter(|_| self.slots.len() >= EVICTIONS_PER_POPULATE).map(|c| c.rank)
    }

    /// Insert the keys of `buf` (emptied) that can enter, from stripe `place` (database,
    /// stripe). With `harvest` (the stripe, still locked, and what the population serves), the
    /// keys the next pops would evict are evicted at once instead ([`Harvest`]).
    ///
    /// # Safety
    /// Every key in `buf` must belong to an entry of that stripe, which must still be locked
    /// and unchanged since they were visited.
    unsafe fn offer(
        &mut self,
        buf: &mut Vec<Visited>,
        place: (usize, usize),
        harvest: Option<(&mut Stripe, &mut Harvest<'_>)>,
    ) {
        keep_best(buf, self.floor());
        if let Some((stripe, h)) = harvest {
            let taken = self.harvest(buf, stripe, place.0, h);
            buf.drain(..taken);
        }
        for v in buf.drain(..) {
            let e = v.entry();
            self.insert(v.rank, place, e.key(), e.memory_usage());
        }
    }

    /// Evict the keys of `buf` that the next pops would evict: walking the candidates waiting
    /// and the keys of `buf` in rank order (as the pops would), while the population serves
    /// evictions and the caller wants bytes freed, the candidates are left to the pops (their
    /// estimated bytes counted as freed) and the keys of `buf` evicted. Sorts `buf` by
    /// descending rank; returns how many of its first keys were evicted.
    ///
    /// # Safety
    /// As for [`Pool::offer`], `stripe` being the one locked.
    unsafe fn harvest(
        &mut self,
        buf: &mut [Visited],
        stripe: &mut Stripe,
        db: usize,
        h: &mut Harvest<'_>,
    ) -> usize {
        buf.sort_unstable_by_key(|v| std::cmp::Reverse(v.rank));
        // The sweep read the entries' headers, not always their keys' lines, which the
        // copies read: load them together.
        for v in buf.iter().take(*h.credit) {
            let key = v.entry().key();
            prefetch_key(key.as_ptr() as usize, key.len());
        }
        let (mut waiting, mut ahead_keys, mut ahead_bytes) = (self.slots.len(), 0, 0);
        let mut taken = 0;
        while let Some(&v) = buf.get(taken) {
            // A candidate ranking equal to a new key goes first (see `insert`).
            while let Some(c) = waiting.checked_sub(1).and_then(|i| self.slots.get(i)) {
                if c.rank < v.rank || ahead_keys >= h.room() || ahead_bytes >= h.want.bytes {
                    break;
                }
                (waiting, ahead_keys, ahead_bytes) =
                    (waiting - 1, ahead_keys + 1, ahead_bytes + c.bytes as u64);
            }
            if ahead_keys >= h.room() || ahead_bytes >= h.want.bytes {
                break;
            }
            taken += 1;
            let mut key = self.spare.pop().unwrap_or_default();
            key.clear();
            key.extend_from_slice(v.entry().key());
            let rest = &mut buf[taken..];
            match (h.evict(stripe, db, (key, v.at), &mut self.spare), v.at) {
                // The key that followed it in its chain now follows its predecessor.
                (true, Some(gone)) => rest
                    .iter_mut()
                    .filter_map(|w| w.at.as_mut())
                    .filter(|a| a.prev == Some(gone.elem))
                    .for_each(|a| a.prev = gone.prev),
                // Not where the sweep saw it: trust no other place either.
                _ => rest.iter_mut().for_each(|w| w.at = None),
            }
        }
        taken
    }

    fn pop_best(&mut self) -> Option<Candidate> {
        self.slots.pop()
    }

    /// Start loading the entry of the best candidate (the next victim).
    fn prefetch_best(&self) {
        if let Some(c) = self.slots.last() {
            prefetch_key(c.at, c.key.len());
        }
    }

    fn recycle(&mut self, key: Vec<u8>) {
        recycle_key(&mut self.spare, key);
    }

    fn clear(&mut self) {
        while let Some(c) = self.slots.pop() {
            self.recycle(c.key);
        }
    }
}

/// Keep `key`'s buffer for reuse if it is small and `spare` is not full.
fn recycle_key(spare: &mut Vec<Vec<u8>>, key: Vec<u8>) {
    if key.capacity() <= CACHED_KEY_MAX && spare.len() < POOL_SIZE + 1 {
        spare.push(key);
    }
}

/// What the last stripe a population samples can serve at once. Of its visited keys, those
/// that rank among the evictions the population still serves (merged with the candidates
/// waiting in the pool, within the bytes and keys the caller still wants) are the ones the
/// next pops would evict. The population holds their stripe locked with their entries just
/// read, so it evicts them there and then ([`Pool::harvest`]), unlinked where the sweep saw
/// them, instead of copying them into the pool and paying, per victim, another lock and a
/// lookup whose lines have gone cold. Only the last stripe: a key sampled later could outrank
/// them otherwise.
struct Harvest<'a> {
    /// Evictions the population still serves (the evictor's credit).
    credit: &'a mut usize,
    /// What the caller still wants.
    want: &'a mut Want,
    volatile: bool,
    lazy: bool,
    /// The keys evicted, in order, for the caller.
    out: &'a mut VecDeque<Evicted>,
}

impl<'a> Harvest<'a> {
    /// For a population serving `credit` evictions of what the caller `want`s, into `out`.
    fn new(
        (credit, want): (&'a mut usize, &'a mut Want),
        out: &'a mut VecDeque<Evicted>,
        p: &Params,
    ) -> Self {
        Harvest { credit, want, volatile: p.policy.volatile_only(), lazy: p.lazy, out }
    }

    /// How many more keys may go: what the population serves, and what the caller takes
    /// before it checks memory again.
    fn room(&self) -> usize {
        (*self.credit).min(self.want.keys)
    }

    /// Evict `key` (a copy, in a buffer from `spare`) of database `db` from the locked
    /// `stripe`, where the sweep saw it linked if `at` is given (and still right), else by
    /// looking it up. Returns whether it was found where `at` says.
    ///
    /// # Safety
    /// As for [`Stripe::evict_sampled`] with `at`.
    unsafe fn evict(
        &mut self,
        stripe: &mut Stripe,
        db: usize,
        (key, at): (Vec<u8>, Option<Sampled>),
        spare: &mut Vec<Vec<u8>>,
    ) -> bool {
        let mut found = at.and_then(|s| stripe.evict_sampled(s, self.lazy));
        let linked = found.is_some();
        if found.is_none() {
            found = stripe.evict_if(&key, self.volatile, self.lazy, |_| true);
        }
        let Some((bytes, detached)) = found else {
            recycle_key(spare, key);
            return false;
        };
        if let Some(d) = detached {
            crate::lazyfree::free_later(d, bytes as u64);
        }
        *self.credit = self.credit.saturating_sub(1);
        self.want.keys = self.want.keys.saturating_sub(1);
        self.want.bytes = self.want.bytes.saturating_sub(bytes as u64);
        self.out.push_back(Evicted { db, key, bytes });
        linked
    }
}

/// What a call to the evictor still wants: bytes freed, and at most so many keys before it
/// checks memory again ([`Evictor::run`]).
#[derive(Debug, Clone, Copy, Default)]
struct Want {
    bytes: u64,
    keys: usize,
}

/// A key the evictor removed.
#[derive(Debug)]
pub struct Evicted {
    /// Its database.
    pub db: usize,
    /// The key.
    pub key: Vec<u8>,
    /// Estimated bytes freed (or about to be freed by the lazy-free thread).
    pub bytes: usize,
}

/// Why [`Evictor::run`] stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The amount asked was freed, or the caller's check found memory under the limit.
    Freed,
    /// The time budget ran out first.
    TimedOut,
    /// Nothing (more) could be evicted: no candidate keys, or `noeviction`.
    NothingToEvict,
}

/// How much one [`Evictor::run`] may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    /// Bytes to free.
    pub to_free: u64,
    /// Time to spend at most (checked every 16 keys).
    pub time: Duration,
}

/// What one [`Evictor::run`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Run {
    /// Keys evicted.
    pub keys: u64,
    /// Estimated bytes freed.
    pub bytes: u64,
    /// Why it stopped.
    pub outcome: Outcome,
}

/// The eviction state Redis keeps in statics: the candidate pool, the round-robin database
/// of the random policies, and which databases hold keys. One per server, behind a lock.
pub struct Evictor {
    pool: Pool,
    rng: Rng,
    scratch: Vec<Sampled>,
    next_db: usize,
    /// Per database: may hold candidate keys (false once seen empty, until the next recheck).
    has_keys: Vec<bool>,
    has_keys_volatile: bool,
    /// Evictions left before the pool is populated again ([`EVICTIONS_PER_POPULATE`]).
    credit: usize,
    /// What the current call still wants (what a population may evict at once).
    want: Want,
    /// Keys a population evicted at once ([`Harvest`]), not yet handed to the caller.
    harvested: VecDeque<Evicted>,
    /// Per database: where the sampling sweep of its keys stands (`allkeys-*` policies).
    sweeps: Vec<Sweep>,
    /// The keys one stripe's sweep visited; empty between calls.
    visited: Vec<Visited>,
    checked_at: Option<Instant>,
    /// When a full recheck last found nothing to evict.
    found_nothing_at: Option<Instant>,
}

// SAFETY: `scratch` and `visited` only hold pointers during a call, under the stripe lock
// they came from; they are always empty between calls. The rest is plain owned data.
unsafe impl Send for Evictor {}

impl std::fmt::Debug for Evictor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Evictor").field("pool", &self.pool.slots.len()).finish_non_exhaustive()
    }
}

/// Where the sweep of one database stands: the next stripe, and the next bucket of each (kept
/// small, and only allocated once a stripe's sweep stops midway: every worker has its own
/// evictor, and all of it counts in `used_memory`).
#[derive(Debug, Clone, Default)]
struct Sweep {
    stripe: usize,
    cursors: Vec<u32>,
}

impl Sweep {
    /// Record where stripe `stripe` (of `n`) continues (0: from its first bucket).
    fn set_cursor(&mut self, stripe: usize, cursor: usize, n: usize) {
        if cursor != 0 && self.cursors.len() < n {
            self.cursors.resize(n, 0);
        }
        if let Some(c) = self.cursors.get_mut(stripe) {
            // A table too big for the field (never in practice) restarts its sweep.
            *c = u32::try_from(cursor).unwrap_or(0);
        }
    }
}

/// A key sampling or the sweep visited: its rank and where its bytes are, valid only while its
/// stripe stays locked.
#[derive(Debug, Clone, Copy)]
struct Visited {
    rank: u64,
    entry: EntryPtr,
    /// Where the sweep saw it linked, if it came from the table.
    at: Option<Sampled>,
}

impl Visited {
    /// The key of `e`, ranked `rank`, linked `at`: only valid while its stripe stays locked
    /// and unchanged.
    fn of(rank: u64, e: &EntryRef<'_>, at: Option<Sampled>) -> Visited {
        Visited { rank, entry: e.ptr(), at }
    }

    /// Its entry.
    ///
    /// # Safety
    /// Its stripe must still be locked and unchanged since it was visited.
    unsafe fn entry<'a>(&self) -> EntryRef<'a> {
        EntryRef::new(self.entry)
    }
}

/// Keep only the visited keys that can enter the pool: those ranking above `floor`
/// ([`Pool::floor`]), and of those the best [`POOL_SIZE`]. Skips copying the others' keys,
/// which most sampled keys are.
fn keep_best(buf: &mut Vec<Visited>, floor: Option<u64>) {
    if let Some(floor) = floor {
        buf.retain(|v| v.rank > floor);
    }
    if buf.len() > POOL_SIZE {
        buf.select_nth_unstable_by(POOL_SIZE - 1, |a, b| b.rank.cmp(&a.rank));
        buf.truncate(POOL_SIZE);
    }
}

/// Visit about `count` keys of `db` (all of them if it holds fewer), continuing from where the
/// last visit stopped: a run of consecutive buckets of one stripe after another, round-robin,
/// each stripe with its own cursor, so that every key is looked at once per pass over the
/// database, and the keys evicted are spread over the stripes as evenly as with random
/// sampling (sweeping one stripe at a time would empty it while the others grow, and their
/// bucket arrays with them). Each key is ranked by `rank_of`, and offered to the pool (as
/// database `i`'s); with `harvest`, the last stripe's best keys are evicted at once
/// ([`Harvest`]). Returns how many keys were visited.
///
/// The buckets are walked first, only noting each key's rank and place in `buf`, and the keys
/// handed over afterwards, still under the stripe's lock: the walk then has the independent
/// cache misses of several buckets in flight at once.
fn sweep(
    db: &Db,
    at: &mut Sweep,
    count: usize,
    (scratch, buf): (&mut Vec<Sampled>, &mut Vec<Visited>),
    rank_of: impl Fn(&EntryRef<'_>) -> u64,
    (pool, i): (&mut Pool, usize),
    mut harvest: Option<&mut Harvest<'_>>,
) -> usize {
    let n = db.stripe_count();
    // Stop after every stripe was swept whole in a row (a small database: all its keys, once),
    // and in any case after two rounds.
    let (mut seen, mut whole, mut visits) = (0, 0, 0);
    while n > 0 && seen < count && whole < n && visits < 2 * n {
        visits += 1;
        let stripe = at.stripe % n;
        at.stripe = (stripe + 1) % n;
        let mut s = db.lock_stripe(stripe);
        let mut cursor = at.cursors.get(stripe).map_or(0, |&c| c as usize);
        let from_start = cursor == 0;
        buf.clear();
        let visit = |e: EntryRef<'_>, at| buf.push(Visited::of(rank_of(&e), &e, Some(at)));
        let done = s.is_empty() || s.eviction_sweep(&mut cursor, count - seen, scratch, visit);
        at.set_cursor(stripe, if done { 0 } else { cursor }, n);
        whole = if done && from_start { whole + 1 } else { 0 };
        seen += buf.len();
        let last = seen >= count;
        let h = harvest.as_deref_mut().filter(|_| last).map(|h| (&mut *s, h));
        // SAFETY: `buf` holds keys of stripe `s`, still locked and unchanged since the sweep.
        unsafe { pool.offer(buf, (i, stripe), h) };
        drop(s);
    }
    seen
}

/// Whether a locked stripe has candidates.
fn has_candidates(s: &StripeGuard<'_>, volatile: bool) -> bool {
    if volatile {
        s.volatile_len() > 0
    } else {
        !s.is_empty()
    }
}

/// Lock a random stripe of `db` that has candidates: a few random tries, then a walk from a
/// random stripe. Returns its index and guard; `None` if the database has none.
fn pick_stripe<'a>(rng: &mut Rng, db: &'a Db, volatile: bool) -> Option<(usize, StripeGuard<'a>)> {
    let n = db.stripe_count();
    for _ in 0..STRIPE_TRIES.min(n) {
        let i = rng.below(n);
        let s = db.lock_stripe(i);
        if has_candidates(&s, volatile) {
            return Some((i, s));
        }
    }
    let start = rng.below(n);
    (0..n)
        .map(|i| ((start + i) % n, db.lock_stripe((start + i) % n)))
        .find(|(_, s)| has_candidates(s, volatile))
}

impl Evictor {
    /// A fresh evictor; `seed` seeds its sampling.
    pub fn new(seed: u64) -> Self {
        Evictor {
            pool: Pool::default(),
            rng: Rng::new(seed),
            scratch: Vec::new(),
            next_db: 0,
            has_keys: Vec::new(),
            has_keys_volatile: false,
            credit: 0,
            want: Want::default(),
            harvested: VecDeque::new(),
            sweeps: Vec::new(),
            visited: Vec::new(),
            checked_at: None,
            found_nothing_at: None,
        }
    }

    /// Number of candidates in the pool.
    pub fn pool_len(&self) -> usize {
        self.pool.slots.len()
    }

    /// Forget every candidate (after FLUSHALL, a policy change, ...). Not required for
    /// correctness: vanished candidates are skipped.
    pub fn clear_pool(&mut self) {
        self.pool.clear();
        self.credit = 0;
    }

    /// Consider every database again if the last check is old, the policy's scope changed or
    /// `force` is set.
    fn recheck_dbs(&mut self, ks: &Keyspace, volatile: bool, force: bool, now: Instant) {
        let stale = self.checked_at.is_none_or(|t| now.saturating_duration_since(t) >= DB_RECHECK);
        if force || stale || self.has_keys.len() != ks.len() || self.has_keys_volatile != volatile {
            self.has_keys.clear();
            self.has_keys.resize(ks.len(), true);
            self.has_keys_volatile = volatile;
            self.checked_at = Some(now);
        }
    }

    /// Sample every database that may hold candidates into the pool, enough for
    /// [`EVICTIONS_PER_POPULATE`] evictions; returns how many databases had some.
    fn populate(&mut self, ks: &Keyspace, p: &Params, acc: &Access, rank_by: Rank) -> usize {
        let volatile = p.policy.volatile_only();
        let samples = p.samples.clamp(1, MAX_SAMPLE).saturating_mul(EVICTIONS_PER_POPULATE).min(MAX_SAMPLE);
        self.credit = EVICTIONS_PER_POPULATE;
        // Only the last database sampled may evict at once: no key sampled after it.
        let last = self.has_keys.iter().rposition(|&has| has);
        let mut found = 0;
        for (i, db) in ks.dbs().iter().enumerate() {
            if !self.has_keys.get(i).copied().unwrap_or(false) {
                continue;
            }
            let by = (rank_by, p, acc);
            let harvest = last == Some(i);
            let any = if volatile {
                self.sample_random(i, db, samples, harvest, by)
            } else {
                self.sample_sweep(i, db, samples, harvest, by)
            };
            if any {
                found += 1;
            } else {
                self.has_keys[i] = false;
            }
        }
        found
    }

    /// Rank about `count` random keys of database `i` into the pool: runs of consecutive
    /// buckets (or of the expire list) of random stripes, each run at most a quarter of its
    /// stripe (at least `maxmemory-samples` keys) so that a small keyspace is still sampled
    /// across several stripes. Returns whether the database had candidates.
    fn sample_random(&mut self, i: usize, db: &Db, count: usize, harvest: bool, by: By<'_>) -> bool {
        let (rank_by, p, acc) = by;
        let volatile = p.policy.volatile_only();
        let pool = &mut self.pool;
        let mut h = harvest.then(|| Harvest::new((&mut self.credit, &mut self.want), &mut self.harvested, p));
        let mut left = count;
        let mut any = false;
        for _ in 0..EVICTIONS_PER_POPULATE {
            let Some((j, mut s)) = pick_stripe(&mut self.rng, db, volatile) else { break };
            let len = if volatile { s.volatile_len() } else { s.len() };
            let take = left.min((len / 4).max(p.samples.max(1)));
            let visited = &mut self.visited;
            let add = |e: EntryRef<'_>, at| visited.push(Visited::of(rank(rank_by, p, acc, &e), &e, at));
            s.eviction_sample(volatile, take, &mut self.scratch, add);
            let h = h.as_mut().filter(|_| take == left).map(|h| (&mut *s, h));
            // SAFETY: `visited` holds keys of stripe `s`, still locked and unchanged since.
            unsafe { pool.offer(visited, (i, j), h) };
            any = true;
            left -= take;
            if left == 0 {
                break;
            }
        }
        any
    }

    /// Rank the next `count` keys of database `i`'s sweep into the pool; returns whether the
    /// database had keys.
    fn sample_sweep(&mut self, i: usize, db: &Db, count: usize, harvest: bool, by: By<'_>) -> bool {
        let (rank_by, p, acc) = by;
        if self.sweeps.len() <= i {
            let rng = &mut self.rng;
            let n = db.stripe_count().max(1);
            self.sweeps.resize_with(i + 1, || Sweep { stripe: rng.below(n), cursors: Vec::new() });
        }
        let pool = &mut self.pool;
        let Some(at) = self.sweeps.get_mut(i) else { return false };
        let rank_of = |e: &EntryRef<'_>| rank(rank_by, p, acc, e);
        let bufs = (&mut self.scratch, &mut self.visited);
        let mut h = harvest.then(|| Harvest::new((&mut self.credit, &mut self.want), &mut self.harvested, p));
        sweep(db, at, count, bufs, rank_of, (pool, i), h.as_mut()) > 0
    }

    /// Remove `key` from database `db` if it is still a candidate; the stripe is locked here.
    fn take(ks: &Keyspace, p: &Params, db: usize, key: &[u8]) -> Option<(usize, Option<Detached>)> {
        ks.dbs().get(db)?.lock(key).evict_if(key, p.policy.volatile_only(), p.lazy, |_| true)
    }

    /// Choose and remove one key under a ranked policy.
    fn evict_ranked(
        &mut self,
        ks: &Keyspace,
        p: &Params,
        acc: &Access,
        rank_by: Rank,
        now: Instant,
    ) -> Option<Evicted> {
        let volatile = p.policy.volatile_only();
        for round in 0..MAX_ROUNDS {
            if let Some(ev) = self.harvested.pop_front() {
                return Some(ev);
            }
            if (self.credit == 0 || self.pool.slots.is_empty()) && self.populate(ks, p, acc, rank_by) == 0 {
                self.recheck_dbs(ks, volatile, true, now);
                if self.populate(ks, p, acc, rank_by) == 0 {
                    self.credit = 0;
                    return None;
                }
            }
            if let Some(ev) = self.harvested.pop_front() {
                self.pool.prefetch_best();
                return Some(ev);
            }
            while let Some(c) = self.pool.pop_best() {
                let last_round = round + 1 == MAX_ROUNDS;
                // Still a candidate, and not used since it was sampled (its rank did not drop):
                // a key that got hotter is no longer the coldest we know of.
                let still = |e: &EntryRef<'_>| last_round || rank(rank_by, p, acc, e) >= c.rank;
                let taken = match ks.dbs().get(c.db) {
                    Some(db) if c.stripe < db.stripe_count() => {
                        db.lock_stripe(c.stripe).evict_if(&c.key, volatile, p.lazy, still)
                    }
                    _ => None,
                };
                let Some((bytes, detached)) = taken else {
                    self.pool.recycle(c.key);
                    continue;
                };
                if let Some(d) = detached {
                    crate::lazyfree::free_later(d, bytes as u64);
                }
                self.credit = self.credit.saturating_sub(1);
                self.pool.prefetch_best();
                return Some(Evicted { db: c.db, key: c.key, bytes });
            }
            self.credit = 0;
        }
        None
    }

    /// Choose and remove one random key of the next database (round-robin) that has
    /// candidates.
    fn evict_random(&mut self, ks: &Keyspace, p: &Params, now: Instant) -> Option<Evicted> {
        let volatile = p.policy.volatile_only();
        let n = ks.len();
        for pass in 0..2 {
            if pass == 1 {
                self.recheck_dbs(ks, volatile, true, now);
            }
            for _ in 0..n {
                self.next_db = (self.next_db + 1) % n;
                let j = self.next_db;
                if !self.has_keys.get(j).copied().unwrap_or(false) {
                    continue;
                }
                let key = {
                    let Some((_, mut s)) = pick_stripe(&mut self.rng, ks.db(j), volatile) else {
                        self.has_keys[j] = false;
                        continue;
                    };
                    match s.eviction_random(volatile) {
                        Some(e) => e.key().to_vec(),
                        None => continue,
                    }
                };
                if let Some((bytes, detached)) = Self::take(ks, p, j, &key) {
                    if let Some(d) = detached {
                        crate::lazyfree::free_later(d, bytes as u64);
                    }
                    return Some(Evicted { db: j, key, bytes });
                }
            }
        }
        None
    }

    /// Choose and remove one key as the policy says; `None` if there is nothing to evict
    /// (or the policy is `noeviction`). Watchers of the key are signalled.
    pub fn evict_one(&mut self, ks: &Keyspace, p: &Params, acc: &Access) -> Option<Evicted> {
        self.want = Want { bytes: u64::MAX, keys: 1 };
        self.evict_one_at(ks, p, acc, Instant::now())
    }

    /// [`Evictor::evict_one`] with the current instant given (one clock read per run).
    fn evict_one_at(&mut self, ks: &Keyspace, p: &Params, acc: &Access, now: Instant) -> Option<Evicted> {
        if !self.ready(ks, p, now) {
            return None;
        }
        self.evict_next(ks, p, acc, now)
    }

    /// Whether there may be something to evict; once per run, not per key. Over the limit
    /// with nothing to evict, every command asks again: walking every stripe of every database
    /// each time would be costly, so a walk that found nothing stands for a moment.
    fn ready(&mut self, ks: &Keyspace, p: &Params, now: Instant) -> bool {
        if p.policy == Policy::NoEviction || ks.is_empty() {
            return false;
        }
        if self.found_nothing_at.is_some_and(|t| now.saturating_duration_since(t) < NOTHING_RECHECK)
            && self.has_keys_volatile == p.policy.volatile_only()
        {
            return false;
        }
        self.recheck_dbs(ks, p.policy.volatile_only(), false, now);
        true
    }

    /// Evict one key as the policy says, [`Evictor::ready`] having said there may be one.
    fn evict_next(&mut self, ks: &Keyspace, p: &Params, acc: &Access, now: Instant) -> Option<Evicted> {
        let ev = match p.policy.rank() {
            Some(r) => self.evict_ranked(ks, p, acc, r, now),
            None => self.evict_random(ks, p, now),
        };
        self.found_nothing_at = if ev.is_none() { Some(now) } else { None };
        ev
    }

    /// Evict until about `budget.to_free` bytes are freed (Redis's performEvictions loop).
    /// Every 16 keys, stops early if `under_limit()` says memory is fine already, or if
    /// `budget.time` has passed since the start. `on_evicted(db, key)` is called for every key
    /// evicted.
    pub fn run(
        &mut self,
        ks: &Keyspace,
        p: &Params,
        acc: &Access,
        budget: Budget,
        mut under_limit: impl FnMut() -> bool,
        mut on_evicted: impl FnMut(usize, &[u8]),
    ) -> Run {
        let start = Instant::now();
        let mut run = Run { keys: 0, bytes: 0, outcome: Outcome::Freed };
        if run.bytes < budget.to_free && !self.ready(ks, p, start) {
            run.outcome = Outcome::NothingToEvict;
            return run;
        }
        while run.bytes < budget.to_free {
            self.want = Want {
                bytes: budget.to_free - run.bytes,
                keys: CHECK_EVERY - run.keys as usize % CHECK_EVERY,
            };
            let Some(ev) = self.evict_next(ks, p, acc, start) else {
                run.outcome = Outcome::NothingToEvict;
                break;
            };
            self.count(&mut run, ev, &mut on_evicted);
            if run.keys.is_multiple_of(CHECK_EVERY as u64) {
                if under_limit() {
                    break;
                }
                if start.elapsed() > budget.time {
                    run.outcome = Outcome::TimedOut;
                    break;
                }
            }
        }
        // Keys a population evicted at once, beyond what was needed after all.
        while let Some(ev) = self.harvested.pop_front() {
            self.count(&mut run, ev, &mut on_evicted);
        }
        run
    }

    /// Add a key evicted to `run`, and tell `on_evicted`.
    fn count(&mut self, run: &mut Run, ev: Evicted, on_evicted: &mut impl FnMut(usize, &[u8])) {
        run.keys += 1;
        run.bytes += ev.bytes as u64;
        on_evicted(ev.db, &ev.key);
        self.pool.recycle(ev.key);
    }
}

/// jemalloc's own view of memory (`allocator_*` in INFO, MEMORY STATS, MALLOC-STATS, PURGE),
/// sampled on a timer by the server's cron as Redis does, not per call.
pub mod allocator {
    use std::ffi::{c_char, c_void, CStr};
    use std::sync::atomic::{AtomicI64, AtomicU64, Ordering::Relaxed};

    /// One sample of the allocator and process statistics.
    #[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
    pub struct Stats {
        /// jemalloc `stats.allocated`: bytes in live allocations.
        pub allocated: u64,
        /// jemalloc `stats.active`: bytes in active pages.
        pub active: u64,
        /// jemalloc `stats.resident`: bytes in physically resident data pages.
        pub resident: u64,
        /// jemalloc `stats.retained`: virtual memory kept for reuse.
        pub retained: u64,
        /// jemalloc `stats.mapped`: bytes in active extents mapped.
        pub mapped: u64,
        /// jemalloc `stats.metadata`: bytes of the allocator's own metadata.
        pub metadata: u64,
        /// Resident set size of the process.
        pub rss: u64,
        /// `used_memory` when the sample was taken.
        pub used_memory: u64,
        /// When the sample was taken, unix ms (0: never).
        pub at_ms: i64,
    }

    static ALLOCATED: AtomicU64 = AtomicU64::new(0);
    static ACTIVE: AtomicU64 = AtomicU64::new(0);
    static RESIDENT: AtomicU64 = AtomicU64::new(0);
    static RETAINED: AtomicU64 = AtomicU64::new(0);
    static MAPPED: AtomicU64 = AtomicU64::new(0);
    static METADATA: AtomicU64 = AtomicU64::new(0);
    static RSS: AtomicU64 = AtomicU64::new(0);
    static USED: AtomicU64 = AtomicU64::new(0);
    static AT_MS: AtomicI64 = AtomicI64::new(0);

    /// Resident set size of the process in bytes (0 if unknown).
    pub fn process_rss() -> u64 {
        let Ok(statm) = std::fs::read_to_string("/proc/self/statm") else { return 0 };
        let pages: u64 = statm.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
        // SAFETY: sysconf only reads a system constant.
        let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
        pages * if page > 0 { page as u64 } else { 4096 }
    }

    /// Take a new sample (the cron calls this every 100 ms).
    pub fn refresh(now_ms: i64) -> Stats {
        use tikv_jemalloc_ctl::{epoch, stats};
        let _ = epoch::advance();
        let read = |r: tikv_jemalloc_ctl::Result<usize>| r.map(|v| v as u64).unwrap_or(0);
        let s = Stats {
            allocated: read(stats::allocated::read()),
            active: read(stats::active::read()),
            resident: read(stats::resident::read()),
            retained: read(stats::retained::read()),
            mapped: read(stats::mapped::read()),
            metadata: read(stats::metadata::read()),
            rss: process_rss(),
            used_memory: crate::alloc::used_memory() as u64,
            at_ms: now_ms.max(1),
        };
        ALLOCATED.store(s.allocated, Relaxed);
        ACTIVE.store(s.active, Relaxed);
        RESIDENT.store(s.resident, Relaxed);
        RETAINED.store(s.retained, Relaxed);
        MAPPED.store(s.mapped, Relaxed);
        METADATA.store(s.metadata, Relaxed);
        RSS.store(s.rss, Relaxed);
        USED.store(s.used_memory, Relaxed);
        AT_MS.store(s.at_ms, Relaxed);
        s
    }

    impl Stats {
        /// Free pages the allocator keeps resident for reuse (dirty pages): resident minus
        /// active pages and metadata.
        pub fn dirty(&self) -> u64 {
            self.resident.saturating_sub(self.active.saturating_add(self.metadata))
        }
    }

    /// The latest sample (taken now if none was yet).
    pub fn latest(now_ms: i64) -> Stats {
        let at_ms = AT_MS.load(Relaxed);
        if at_ms == 0 {
            return refresh(now_ms);
        }
        Stats {
            allocated: ALLOCATED.load(Relaxed),
            active: ACTIVE.load(Relaxed),
            resident: RESIDENT.load(Relaxed),
            retained: RETAINED.load(Relaxed),
            mapped: MAPPED.load(Relaxed),
            metadata: METADATA.load(Relaxed),
            rss: RSS.load(Relaxed),
            used_memory: USED.load(Relaxed),
            at_ms,
        }
    }

    unsafe extern "C" fn append(opaque: *mut c_void, text: *const c_char) {
        if opaque.is_null() || text.is_null() {
            return;
        }
        // SAFETY: `opaque` is the `String` passed by `malloc_stats_text`, alive for the call;
        // jemalloc passes NUL-terminated text.
        let out = &mut *(opaque as *mut String);
        out.push_str(&CStr::from_ptr(text).to_string_lossy());
    }

    /// jemalloc's `malloc_stats_print` report (MEMORY MALLOC-STATS).
    pub fn malloc_stats_text() -> String {
        let mut out = String::new();
        // SAFETY: the callback only appends to `out`, which outlives the call.
        unsafe {
            tikv_jemalloc_sys::malloc_stats_print(
                Some(append),
                &mut out as *mut String as *mut c_void,
                std::ptr::null(),
            );
        }
        out
    }

    /// Turn jemalloc's background threads on or off (`jemalloc-bg-thread`, as Redis's
    /// `set_jemalloc_bg_thread`): with them, free pages go back to the system as they decay
    /// (10 s) even while no thread allocates, instead of at the next allocations. Returns
    /// whether jemalloc accepted.
    pub fn set_background_thread(on: bool) -> bool {
        tikv_jemalloc_ctl::background_thread::write(on).is_ok()
    }

    /// Run a jemalloc control that takes and returns nothing; whether jemalloc accepted.
    fn control(name: &CStr) -> bool {
        // SAFETY: a NUL-terminated name, no input and no output buffers.
        unsafe {
            tikv_jemalloc_sys::mallctl(
                name.as_ptr(),
                std::ptr::null_mut(),
                std::ptr::null_mut(),
                std::ptr::null_mut(),
                0,
            ) == 0
        }
    }

    /// Return the unused dirty pages of every arena to the system (MEMORY PURGE, as Redis's
    /// jemalloc_purge; 4096 is jemalloc's MALLCTL_ARENAS_ALL). Returns whether jemalloc
    /// accepted.
    pub fn purge() -> bool {
        control(c"arena.4096.purge")
    }

    /// Hand this thread's cached free blocks back to their arenas, so that a [`purge`] can
    /// return their pages too.
    pub fn flush_thread_cache() -> bool {
        control(c"thread.tcache.flush")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lru::Touch;
    use crate::stripe::SetExpire;
    use crate::value::NewValue;
    use proptest::prelude::*;
    use std::sync::atomic::Ordering::Relaxed;

    fn params(policy: Policy, samples: usize) -> Params {
        Params { policy, samples, lfu_decay_minutes: 1, lazy: false }
    }

    fn key(i: usize) -> Vec<u8> {
        format!("key:{i}").into_bytes()
    }

    fn set(ks: &Keyspace, db: usize, k: &[u8], expire: SetExpire, acc: &Access) {
        ks.db(db).lock(k).set(k, NewValue::Str(b"some value"), expire, acc);
    }

    fn exists(ks: &Keyspace, db: usize, k: &[u8]) -> bool {
        ks.db(db).lock(k).peek(k).is_some()
    }

    fn evict_n(ev: &mut Evictor, ks: &Keyspace, p: &Params, acc: &Access, n: usize) -> Vec<Evicted> {
        (0..n).map_while(|_| ev.evict_one(ks, p, acc)).collect()
    }

    #[test]
    fn time_limits_follow_redis() {
        assert_eq!(time_limit(0), Duration::ZERO);
        assert_eq!(time_limit(10), Duration::from_micros(500));
        assert_eq!(time_limit(11), Duration::from_micros(575));
        assert!(time_limit(99) > Duration::from_secs(60));
        assert_eq!(time_limit(100), Duration::MAX);
    }

    #[test]
    fn allkeys_lru_keeps_recently_used_keys() {
        let ks = Keyspace::new(4, 16);
        let t0 = Access::at(1_000_000);
        for i in 0..2000 {
            set(&ks, i % 3, &key(i), SetExpire::Clear, &t0);
        }
        // A minute later the first 200 keys are read.
        let t1 = Access::at(1_060_000);
        for i in 0..200 {
            assert!(ks.db(i % 3).lock(&key(i)).get(&key(i), &t1).is_some());
        }
        let t2 = Access::at(1_061_000);
        let mut ev = Evictor::new(1);
        let p = params(Policy::AllkeysLru, 5);
        let gone = evict_n(&mut ev, &ks, &p, &t2, 1000);
        assert_eq!(gone.len(), 1000);
        let hot_kept = (0..200).filter(|&i| exists(&ks, i % 3, &key(i))).count();
        assert!(hot_kept >= 195, "only {hot_kept} of 200 recently read keys kept");
        // The keys reported are really gone, and only once each.
        let mut names: Vec<_> = gone.iter().map(|e| (e.db, e.key.clone())).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), 1000);
        assert!(gone.iter().all(|e| !exists(&ks, e.db, &e.key) && e.bytes > 0));
        let left: usize = ks.dbs().iter().map(|d| d.len()).sum();
        assert_eq!(left, 1000);
    }

    #[test]
    fn volatile_policies_only_evict_keys_with_a_ttl() {
        for policy in [
            Policy::VolatileLru,
            Policy::VolatileLfu,
            Policy::VolatileRandom,
            Policy::VolatileTtl,
            Policy::VolatileLrm,
        ] {
            let ks = Keyspace::new(2, 8);
            let acc = Access::at(5_000_000);
            for i in 0..300 {
                let exp = if i % 3 == 0 { SetExpire::At(9_000_000 + i as i64) } else { SetExpire::Clear };
                set(&ks, i % 2, &key(i), exp, &acc);
            }
            let mut ev = Evictor::new(3);
            let gone = evict_n(&mut ev, &ks, &params(policy, 5), &acc, 1000);
            assert_eq!(gone.len(), 100, "{policy:?}");
            for i in 0..300 {
                assert_eq!(exists(&ks, i % 2, &key(i)), i % 3 != 0, "{policy:?} key {i}");
            }
            assert!(ev.evict_one(&ks, &params(policy, 5), &acc).is_none());
        }
    }

    #[test]
    fn volatile_ttl_evicts_the_soonest_to_expire() {
        let ks = Keyspace::new(1, 8);
        let acc = Access::at(1_000);
        for i in 0..500 {
            set(&ks, 0, &key(i), SetExpire::At(100_000 + (i as i64) * 1000), &acc);
        }
        let mut ev = Evictor::new(9);
        let gone = evict_n(&mut ev, &ks, &params(Policy::VolatileTtl, 10), &acc, 100);
        // The victims are among the soonest to expire (approximately, as in Redis).
        let late = gone.iter().filter(|e| {
            let i: usize = std::str::from_utf8(&e.key[4..]).unwrap().parse().unwrap();
            i >= 250
        });
        assert!(late.count() <= 5, "evicted keys expiring late");
        let soonest_gone = (0..20).filter(|&i| !exists(&ks, 0, &key(i))).count();
        assert!(soonest_gone >= 12, "only {soonest_gone} of the 20 soonest went");
    }

    #[test]
    fn allkeys_lfu_keeps_frequently_used_keys() {
        let ks = Keyspace::new(1, 16);
        let lfu = Access { now_ms: 10_000_000, touch: Touch::Lfu { log_factor: 10, decay_minutes: 1 } };
        for i in 0..1000 {
            set(&ks, 0, &key(i), SetExpire::Clear, &lfu);
        }
        for _ in 0..200 {
            for i in 0..100 {
                ks.db(0).lock(&key(i)).get(&key(i), &lfu);
            }
        }
        // Later reads of the cold keys (recent, but rare) must not save them.
        for i in 500..1000 {
            ks.db(0).lock(&key(i)).get(&key(i), &lfu);
        }
        let mut ev = Evictor::new(5);
        let p = Params { lfu_decay_minutes: 1, ..params(Policy::AllkeysLfu, 5) };
        evict_n(&mut ev, &ks, &p, &lfu, 600);
        let kept = (0..100).filter(|&i| exists(&ks, 0, &key(i))).count();
        assert!(kept >= 98, "only {kept} of 100 frequent keys kept");
    }

    #[test]
    fn lrm_ranks_by_last_write_not_read() {
        let ks = Keyspace::new(1, 8);
        let t0 = Access { now_ms: 1_000_000, touch: Touch::Lrm };
        for i in 0..400 {
            set(&ks, 0, &key(i), SetExpire::Clear, &t0);
        }
        let t1 = Access { now_ms: 1_100_000, ..t0 };
        for i in 0..100 {
            // Reads of keys 0..100, writes of keys 100..200.
            ks.db(0).lock(&key(i)).get(&key(i), &t1);
            let k = key(100 + i);
            if let Some(mut e) = ks.db(0).lock(&k).get_mut(&k, &t1) {
                e.set_value(NewValue::Str(b"new"));
            }
        }
        let mut ev = Evictor::new(11);
        evict_n(&mut ev, &ks, &params(Policy::AllkeysLrm, 10), &t1, 250);
        let written = (100..200).filter(|&i| exists(&ks, 0, &key(i))).count();
        let read = (0..100).filter(|&i| exists(&ks, 0, &key(i))).count();
        assert!(written >= 97, "{written} written keys kept");
        assert!(read <= 60, "{read} read keys kept: reads must not count as modifications");
    }

    #[test]
    fn random_policies_visit_every_database_and_stop_when_empty() {
        let ks = Keyspace::new(3, 4);
        let acc = Access::at(1);
        for i in 0..30 {
            set(&ks, i % 3, &key(i), SetExpire::Clear, &acc);
        }
        let mut ev = Evictor::new(2);
        let gone = evict_n(&mut ev, &ks, &params(Policy::AllkeysRandom, 5), &acc, 6);
        let mut per_db = [0; 3];
        gone.iter().for_each(|e| per_db[e.db] += 1);
        assert_eq!(per_db, [2, 2, 2], "round-robin over databases");
        assert_eq!(evict_n(&mut ev, &ks, &params(Policy::AllkeysRandom, 5), &acc, 100).len(), 24);
        assert!(ev.evict_one(&ks, &params(Policy::AllkeysLru, 5), &acc).is_none());
        assert!(ev.evict_one(&ks, &params(Policy::NoEviction, 5), &acc).is_none());
    }

    #[test]
    fn run_stops_at_the_amount_or_the_check() {
        let ks = Keyspace::new(1, 8);
        let acc = Access::at(1);
        for i in 0..1000 {
            set(&ks, 0, &key(i), SetExpire::Clear, &acc);
        }
        let one = ks.db(0).lock(&key(0)).peek(&key(0)).map(|e| e.memory_usage()).unwrap_or(0) as u64;
        let mut ev = Evictor::new(4);
        let p = params(Policy::AllkeysLru, 5);
        let mut seen = 0;
        let r = ev.run(
            &ks,
            &p,
            &acc,
            Budget { to_free: one * 10, time: Duration::MAX },
            || false,
            |_, _| seen += 1,
        );
        assert_eq!(r.outcome, Outcome::Freed);
        assert!((9..=11).contains(&r.keys), "{r:?}");
        assert_eq!(seen, r.keys);
        let r = ev.run(&ks, &p, &acc, Budget { to_free: u64::MAX, time: Duration::MAX }, || true, |_, _| {});
        assert_eq!((r.keys, r.outcome), (16, Outcome::Freed));
        let r =
            ev.run(&ks, &p, &acc, Budget { to_free: u64::MAX, time: Duration::ZERO }, || false, |_, _| {});
        assert_eq!((r.keys, r.outcome), (16, Outcome::TimedOut));
        let r = ev.run(&ks, &p, &acc, Budget { to_free: u64::MAX, time: Duration::MAX }, || false, |_, _| {});
        assert_eq!(r.outcome, Outcome::NothingToEvict);
        assert_eq!(ks.db(0).len(), 0);
    }

    #[test]
    fn keys_evicted_at_once_stop_at_the_callers_check() {
        // Populations out of step with the 16-key checks: the one under way when a check says
        // memory is fine has not evicted past it.
        let ks = Keyspace::new(1, 1);
        for i in 0..2000 {
            set(&ks, 0, &key(i), SetExpire::Clear, &Access::at(1_000 + i as i64));
        }
        let one = ks.db(0).lock(&key(0)).peek(&key(0)).map(|e| e.memory_usage()).unwrap_or(0) as u64;
        let (mut ev, p, acc) = (Evictor::new(6), params(Policy::AllkeysLru, 5), Access::at(1_000_000));
        for first in [3, 5, 11] {
            let r = ev.run(
                &ks,
                &p,
                &acc,
                Budget { to_free: one * first, time: Duration::MAX },
                || false,
                |_, _| {},
            );
            assert_eq!(r.keys, first, "exact amounts: every key is the same size");
            let r =
                ev.run(&ks, &p, &acc, Budget { to_free: u64::MAX, time: Duration::MAX }, || true, |_, _| {});
            assert_eq!(r.keys, 16);
        }
    }

    #[test]
    fn keys_evicted_where_the_sweep_saw_them_leave_the_others_linked() {
        // One stripe of keys of distinct ages: most victims are evicted by the population
        // that sampled them, unlinked where it saw them, several of one chain at times.
        let ks = Keyspace::new(1, 1);
        let n = 3000;
        for i in 0..n {
            set(&ks, 0, &key(i), SetExpire::Clear, &Access::at(1_000 + i as i64));
        }
        let one = ks.db(0).lock(&key(0)).peek(&key(0)).map(|e| e.memory_usage()).unwrap_or(0) as u64;
        let (mut ev, p, acc) = (Evictor::new(5), params(Policy::AllkeysLru, 5), Access::at(1_000_000));
        let mut gone = std::collections::HashSet::new();
        let budget = Budget { to_free: one * 2000, time: Duration::MAX };
        let r = ev.run(&ks, &p, &acc, budget, || false, |_, k| assert!(gone.insert(k.to_vec())));
        assert_eq!(r.keys as usize, gone.len());
        assert!(gone.len() >= 2000);
        assert_eq!(ks.db(0).len(), n - gone.len());
        for i in 0..n {
            assert_eq!(exists(&ks, 0, &key(i)), !gone.contains(&key(i)), "key {i}");
        }
        // The oldest keys went: none of the newest 500.
        assert!((n - 500..n).all(|i| !gone.contains(&key(i))));
    }

    #[test]
    fn expired_keys_go_first_and_watchers_are_signalled() {
        let ks = Keyspace::new(1, 1);
        let acc = Access::at(10_000);
        for i in 0..50 {
            set(&ks, 0, &key(i), SetExpire::Clear, &Access::at(1_000));
        }
        set(&ks, 0, b"dead", SetExpire::At(5_000), &Access::at(1_000));
        let flag = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        ks.db(0).lock(b"dead").watch(b"dead", &flag);
        let mut ev = Evictor::new(8);
        // Sample everything so the expired key is surely seen.
        let gone = ev.evict_one(&ks, &params(Policy::AllkeysLru, 64), &acc).map(|e| e.key);
        assert_eq!(gone.as_deref(), Some(&b"dead"[..]));
        assert!(flag.load(Relaxed));
    }

    #[test]
    fn lazy_eviction_frees_big_values_on_the_lazyfree_thread() {
        let ks = Keyspace::new(1, 4);
        let acc = Access::at(1);
        set(&ks, 0, b"s", SetExpire::Clear, &acc);
        let mut ev = Evictor::new(1);
        let p = Params { lazy: true, ..params(Policy::AllkeysRandom, 5) };
        assert!(ev.evict_one(&ks, &p, &acc).is_some());
        assert!(crate::lazyfree::wait_idle(Duration::from_secs(5)));
        assert_eq!(ks.db(0).len(), 0);
    }

    #[test]
    fn sweep_leaves_no_stale_keys_behind() {
        // 1000 old keys and 1000 newer ones, then a churn of new keys, each write evicting one
        // key: the old keys must all go (random sampling alone leaves a few percent behind).
        let ks = Keyspace::new(1, 16);
        let old = |i: usize| format!("old:{i}").into_bytes();
        for i in 0..1000 {
            set(&ks, 0, &old(i), SetExpire::Clear, &Access::at(1_000_000));
        }
        let mut ev = Evictor::new(21);
        let p = params(Policy::AllkeysLru, 5);
        for i in 0..4000 {
            let t = Access::at(2_000_000 + i as i64 * 20);
            set(&ks, 0, &key(i), SetExpire::Clear, &t);
            if i >= 1000 {
                assert!(ev.evict_one(&ks, &p, &t).is_some());
            }
        }
        let old_left = (0..1000).filter(|&i| exists(&ks, 0, &old(i))).count();
        assert!(old_left == 0, "{old_left} old keys survived");
        assert_eq!(ks.db(0).len(), 2000);
    }

    #[test]
    fn sweep_visits_every_key_once_per_pass() {
        let ks = Keyspace::new(1, 8);
        let acc = Access::at(1);
        for i in 0..500 {
            set(&ks, 0, &key(i), SetExpire::Clear, &acc);
        }
        let mut at = Sweep::default();
        let (mut scratch, mut buf) = (Vec::new(), Vec::new());
        // Stripes are swept at the same pace whatever their size: two passes' worth of keys
        // sees every key, none more than three times.
        let seen = std::cell::RefCell::new(std::collections::HashMap::new());
        let count = |e: &EntryRef<'_>| {
            *seen.borrow_mut().entry(e.key().to_vec()).or_insert(0) += 1;
            0
        };
        let mut pool = Pool::default();
        let mut visited = 0;
        while visited < 1000 {
            visited += sweep(ks.db(0), &mut at, 7, (&mut scratch, &mut buf), count, (&mut pool, 0), None);
        }
        let seen = seen.into_inner();
        assert_eq!(seen.len(), 500);
        assert!(seen.values().all(|&n| n <= 3), "a key was visited more than three times in two passes");
        assert!(pool.slots.len() >= EVICTIONS_PER_POPULATE, "the keys were offered to the pool");
        // A database with fewer keys than asked: every key, then stop.
        let small = Keyspace::new(1, 8);
        set(&small, 0, b"only", SetExpire::Clear, &acc);
        let bufs = (&mut scratch, &mut buf);
        assert_eq!(sweep(small.db(0), &mut Sweep::default(), 100, bufs, |_| 0, (&mut pool, 0), None), 1);
        let (empty, bufs) = (Keyspace::new(1, 8), (&mut scratch, &mut buf));
        assert_eq!(sweep(empty.db(0), &mut Sweep::default(), 5, bufs, |_| 0, (&mut pool, 0), None), 0);
        assert!(buf.is_empty());
    }

    #[test]
    fn idle_ranks_do_not_age_in_the_pool() {
        let ks = Keyspace::new(1, 1);
        set(&ks, 0, b"old", SetExpire::Clear, &Access::at(1_000_000));
        set(&ks, 0, b"new", SetExpire::Clear, &Access::at(1_500_000));
        let p = params(Policy::AllkeysLru, 5);
        let rank_at = |k: &[u8], t: i64| {
            let mut s = ks.db(0).lock(k);
            s.peek(k).map(|e| rank(Rank::Idle, &p, &Access::at(t), &e))
        };
        // The same key ranks the same whenever it is looked at, as long as it is not used.
        assert_eq!(rank_at(b"old", 2_000_000), rank_at(b"old", 9_000_000));
        // A key sampled early still ranks above (goes before) a newer one sampled later.
        assert!(rank_at(b"old", 2_000_000) > rank_at(b"new", 9_000_000));
        // Using it lowers its rank: a candidate that got hotter is dropped when picked.
        let before = rank_at(b"old", 3_000_000);
        assert!(ks.db(0).lock(b"old").get(b"old", &Access::at(2_500_000)).is_some());
        assert!(rank_at(b"old", 3_000_000) < before);
    }

    #[test]
    fn evict_if_keeps_a_key_that_is_no_longer_a_candidate() {
        let ks = Keyspace::new(1, 4);
        let acc = Access::at(1_000);
        set(&ks, 0, b"k", SetExpire::Clear, &acc);
        let mut s = ks.db(0).lock(b"k");
        assert!(s.evict_if(b"k", false, false, |_| false).is_none());
        assert!(s.evict_if(b"k", true, false, |_| true).is_none(), "no TTL: not volatile");
        assert!(s.evict_if(b"absent", false, false, |_| true).is_none());
        assert!(s.peek(b"k").is_some());
        let (bytes, detached) = s.evict_if(b"k", false, true, |_| true).unwrap();
        assert!(bytes > 0 && detached.is_none(), "a small string is freed at once");
        assert!(s.peek(b"k").is_none());
    }

    #[test]
    fn sweeping_spreads_evictions_over_the_stripes() {
        let stripes = 32;
        let ks = Keyspace::new(1, stripes);
        for i in 0..16_000 {
            set(&ks, 0, &key(i), SetExpire::Clear, &Access::at(1_000_000 + i as i64 * 10));
        }
        let before: Vec<usize> = (0..stripes).map(|j| ks.db(0).lock_stripe(j).len()).collect();
        let mut ev = Evictor::new(17);
        let acc = Access::at(2_000_000);
        assert_eq!(evict_n(&mut ev, &ks, &params(Policy::AllkeysLru, 5), &acc, 8000).len(), 8000);
        let lost: Vec<usize> = (0..stripes).map(|j| before[j] - ks.db(0).lock_stripe(j).len()).collect();
        let (min, max) = (lost.iter().min().copied().unwrap(), lost.iter().max().copied().unwrap());
        // 250 per stripe on average: no stripe is emptied while others keep all their keys.
        assert!(min >= 150 && max <= 350, "keys evicted per stripe range from {min} to {max}");
        // And the victims are the oldest keys, as LRU wants.
        let old_left = (0..8000).filter(|&i| exists(&ks, 0, &key(i))).count();
        assert!(old_left < 1500, "{old_left} of the 8000 oldest keys left");
    }

    proptest! {
        #[test]
        fn keep_best_keeps_the_best_ranks(
            ranks in proptest::collection::vec(0u64..50, 0..60),
            floor in proptest::option::of(0u64..50),
        ) {
            let mut buf: Vec<Visited> =
                ranks.iter().map(|&rank| Visited { rank, entry: EntryPtr::dangling(), at: None }).collect();
            keep_best(&mut buf, floor);
            let mut want: Vec<u64> = ranks.into_iter().filter(|&r| floor.is_none_or(|f| r > f)).collect();
            want.sort_unstable_by(|a, b| b.cmp(a));
            want.truncate(POOL_SIZE);
            let mut got: Vec<u64> = buf.iter().map(|v| v.rank).collect();
            got.sort_unstable_by(|a, b| b.cmp(a));
            prop_assert_eq!(got, want);
        }
    }

    #[test]
    fn pool_reuses_key_buffers_when_full() {
        let mut pool = Pool::default();
        for r in 0..(POOL_SIZE as u64 + 40) {
            pool.insert(r, (0, 0), &r.to_be_bytes(), 0);
        }
        let ranks: Vec<u64> = pool.slots.iter().map(|c| c.rank).collect();
        assert_eq!(ranks, (40..POOL_SIZE as u64 + 40).collect::<Vec<_>>());
        assert!(pool.slots.iter().all(|c| c.key == c.rank.to_be_bytes()));
        // A long key does not keep a big buffer in the pool.
        pool.insert(1000, (0, 0), &[7; 4096], 0);
        pool.insert(1001, (0, 0), b"short", 0);
        pool.insert(1002, (0, 0), b"short", 0);
        assert!(pool.slots.iter().all(|c| c.key.len() == 4096 || c.key.capacity() <= 4096));
    }

    #[test]
    fn allocator_stats_and_purge() {
        let s = allocator::refresh(123);
        assert!(s.allocated > 0 && s.active >= s.allocated && s.resident > 0 && s.rss > 0, "{s:?}");
        assert!(s.metadata > 0 && s.dirty() < s.resident, "{s:?}");
        assert_eq!(allocator::latest(0).at_ms, 123);
        assert!(allocator::malloc_stats_text().contains("jemalloc statistics"));
        assert!(allocator::purge());
    }

    /// Redis's pool semantics, written as Redis writes them (an array with empty slots).
    fn model_insert(pool: &mut Vec<Option<u64>>, idle: u64) {
        let mut k = 0;
        while k < POOL_SIZE && pool[k].is_some_and(|v| v < idle) {
            k += 1;
        }
        if k == 0 && pool[POOL_SIZE - 1].is_some() {
            return;
        } else if k < POOL_SIZE && pool[k].is_none() {
        } else if pool[POOL_SIZE - 1].is_none() {
            pool.insert(k, None);
            pool.pop();
        } else {
            k -= 1;
            pool.remove(0);
            pool.insert(k, None);
        }
        pool[k] = Some(idle);
    }

    proptest! {
        #[test]
        fn pool_matches_redis(ops in proptest::collection::vec((any::<bool>(), 0u64..40), 0..200)) {
            let mut pool = Pool::default();
            let mut model: Vec<Option<u64>> = vec![None; POOL_SIZE];
            for (pop, v) in ops {
                if pop {
                    let got = pool.pop_best().map(|c| c.rank);
                    // Redis takes the rightmost filled slot.
                    let pos = model.iter().rposition(|s| s.is_some());
                    let want = pos.and_then(|p| model[p].take());
                    // Redis's filled slots are always a prefix.
                    prop_assert_eq!(got, want);
                } else {
                    pool.insert(v, (0, 0), &v.to_be_bytes(), 0);
                    model_insert(&mut model, v);
                }
                let ours: Vec<u64> = pool.slots.iter().map(|c| c.rank).collect();
                let theirs: Vec<u64> = model.iter().flatten().copied().collect();
                prop_assert_eq!(ours, theirs);
            }
        }
    }
}
