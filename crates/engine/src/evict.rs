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
//!   and the next best is tried), and the next victim's entry is prefetched. Two departures
//!   from Redis, both about cost and coverage, not about which keys rank first:
//!   - Redis populates before every eviction; Brim populates once for
//!     [`EVICTIONS_PER_POPULATE`] evictions with that many times the samples: the same keys
//!     looked at per eviction, in one walk (whose cache misses overlap) instead of eight cold
//!     ones.
//!   - Redis samples a random run of buckets (`dictGetSomeKeys`), and so does Brim, unless
//!     the allocator is fragmented (active pages 10% above the bytes allocated,
//!     [`allocator::fragmented`], [`Params::sweep`]): then the `allkeys-*` policies *sweep*
//!     instead, each population continuing where the last one stopped (stripe after stripe,
//!     SCAN's cursor within each; [`sweep`]), so every key is looked at once per pass over
//!     the keys. Random sampling leaves some keys unlooked-at while the rest turn over many
//!     times: after churn, old keys that survive that way, scattered over the allocator's
//!     slabs, keep whole slabs resident long after their size class went out of use (RSS
//!     stayed at ~1.9x maxmemory in the `frag` benchmark; swept, ~1.0x). The sweep costs more
//!     per key (SCAN's bucket order misses the cache more), hence random runs otherwise.
//!     `volatile-*` policies always sample random runs of random stripes' expire lists.
//!
//!   Ranks: LRU and LRM = idle milliseconds (see `crate::lru` for the 10 ms clock and what LRM
//!   records), LFU = `255 - decayed counter`, TTL = `u64::MAX - expire time`. Unlike Redis, a
//!   candidate is re-ranked when it is picked: one that was used since it was sampled (its rank
//!   dropped) is dropped from the pool instead of evicted, so a stale sample never evicts a key
//!   that just became hot; and a key whose time to live already ran out ranks above all (it
//!   is dead anyway).
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

use std::time::{Duration, Instant};

use crate::db::{Db, Keyspace, StripeGuard};
use crate::lru::{Access, Touch};
use crate::stripe::{Detached, EntryRef};
use crate::table::{ElemPtr, Rng};

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
    /// Under `allkeys-*` policies, take the samples from the sweep instead of random runs of
    /// buckets: set while the allocator is fragmented ([`allocator::fragmented`]), so that no
    /// key escapes eviction for long (see the module documentation).
    pub sweep: bool,
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

/// The rank of a key under a ranked policy: the higher, the sooner it goes.
fn rank(rank: Rank, p: &Params, acc: &Access, e: &EntryRef<'_>) -> u64 {
    let expire = e.expire_at();
    if let Some(w) = expire {
        if acc.now_ms > w {
            return u64::MAX;
        }
    }
    match rank {
        Rank::Idle => acc.idle_ms(e.access_data()),
        Rank::Lfu => 255 - acc.lfu_decayed(e.access_data(), p.lfu_decay_minutes) as u64,
        Rank::Ttl => u64::MAX - 1 - expire.unwrap_or(i64::MAX).max(0) as u64,
    }
}

/// One pool entry.
#[derive(Debug)]
struct Candidate {
    rank: u64,
    db: usize,
    key: Vec<u8>,
    /// Where the key's bytes were when it was sampled: only ever prefetched (never read), so
    /// that the lookup of the next victim finds its entry in cache.
    at: usize,
}

/// Ask the CPU to start loading the cache line at `addr` (and the one before, where an
/// entry's chain link and header are). A hint only: the address is never dereferenced, so a
/// stale one is harmless.
#[inline]
fn prefetch(addr: usize) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: prefetch instructions never fault and do not read memory architecturally; SSE
    // is part of the x86_64 baseline.
    unsafe {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        _mm_prefetch::<_MM_HINT_T0>(addr as *const i8);
        _mm_prefetch::<_MM_HINT_T0>(addr.wrapping_sub(32) as *const i8);
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = addr;
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
    fn insert(&mut self, rank: u64, db: usize, key: &[u8]) {
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
            (c.rank, c.db, c.at) = (rank, db, at);
            return;
        }
        let mut buf = self.spare.pop().unwrap_or_default();
        buf.clear();
        buf.extend_from_slice(key);
        self.slots.insert(k, Candidate { rank, db, key: buf, at });
    }

    fn pop_best(&mut self) -> Option<Candidate> {
        self.slots.pop()
    }

    /// Start loading the entry of the best candidate (the next victim).
    fn prefetch_best(&self) {
        if let Some(c) = self.slots.last() {
            prefetch(c.at);
        }
    }

    fn recycle(&mut self, key: Vec<u8>) {
        if key.capacity() <= CACHED_KEY_MAX && self.spare.len() < POOL_SIZE + 1 {
            self.spare.push(key);
        }
    }

    fn clear(&mut self) {
        while let Some(c) = self.slots.pop() {
            self.recycle(c.key);
        }
    }
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
    scratch: Vec<ElemPtr>,
    next_db: usize,
    /// Per database: may hold candidate keys (false once seen empty, until the next recheck).
    has_keys: Vec<bool>,
    has_keys_volatile: bool,
    /// Evictions left before the pool is populated again ([`EVICTIONS_PER_POPULATE`]).
    credit: usize,
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

/// Where the sweep of one database stands: the stripe, and the SCAN cursor within it.
#[derive(Debug, Clone, Copy, Default)]
struct Sweep {
    stripe: usize,
    cursor: u64,
}

/// An access that sees every key, expired or not (expired keys rank first).
const SEE_ALL: Access = Access { now_ms: i64::MIN, touch: Touch::None };

/// A key the sweep visited: its rank and where its bytes are, valid only while its stripe
/// stays locked.
#[derive(Debug, Clone, Copy)]
struct Visited {
    rank: u64,
    key: *const u8,
    len: usize,
}

/// Visit at least `count` keys of `db` (all of them if it holds fewer), continuing from where
/// the last visit stopped: stripe after stripe, each with SCAN's cursor, so that every key is
/// looked at once per pass over the database. Each key is ranked by `rank_of`, and the best
/// [`POOL_SIZE`] of each stripe's visit (the only ones that can stay in the pool) are handed
/// to `keep`. Returns how many keys were visited.
///
/// The buckets are walked first, only noting each key's rank and place in `buf`, and the keys
/// handed over afterwards, still under the stripe's lock: the walk then has the independent
/// cache misses of several buckets in flight at once.
fn sweep(
    db: &Db,
    at: &mut Sweep,
    count: usize,
    buf: &mut Vec<Visited>,
    rank_of: impl Fn(&EntryRef<'_>) -> u64,
    mut keep: impl FnMut(u64, &[u8]),
) -> usize {
    let n = db.stripe_count();
    // Starting inside a stripe, its first part is only seen after all the others.
    let limit = if at.cursor == 0 { n } else { n + 1 };
    let (mut seen, mut stripes) = (0, 0);
    while n > 0 && seen < count && stripes < limit {
        at.stripe %= n;
        let mut s = db.lock_stripe(at.stripe);
        buf.clear();
        loop {
            at.cursor = if s.is_empty() {
                0
            } else {
                s.scan(at.cursor, &SEE_ALL, |e| {
                    let key = e.key();
                    buf.push(Visited { rank: rank_of(&e), key: key.as_ptr(), len: key.len() });
                })
            };
            if at.cursor == 0 {
                at.stripe = (at.stripe + 1) % n;
                stripes += 1;
                break;
            }
            if seen + buf.len() >= count {
                break;
            }
        }
        seen += buf.len();
        if buf.len() > POOL_SIZE {
            // Only the best POOL_SIZE of them can stay in the pool: skip copying the rest in.
            buf.select_nth_unstable_by(POOL_SIZE - 1, |a, b| b.rank.cmp(&a.rank));
            buf.truncate(POOL_SIZE);
        }
        for v in buf.drain(..) {
            // SAFETY: `v.key` points at the key bytes of an entry of stripe `s`, which is still
            // locked and has not been changed since the scan above.
            keep(v.rank, unsafe { std::slice::from_raw_parts(v.key, v.len) });
        }
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
/// random stripe. `None` if the database has none.
fn pick_stripe<'a>(rng: &mut Rng, db: &'a Db, volatile: bool) -> Option<StripeGuard<'a>> {
    let n = db.stripe_count();
    for _ in 0..STRIPE_TRIES.min(n) {
        let s = db.lock_stripe(rng.below(n));
        if has_candidates(&s, volatile) {
            return Some(s);
        }
    }
    let start = rng.below(n);
    (0..n).map(|i| db.lock_stripe((start + i) % n)).find(|s| has_candidates(s, volatile))
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
        let mut found = 0;
        for (i, db) in ks.dbs().iter().enumerate() {
            if !self.has_keys.get(i).copied().unwrap_or(false) {
                continue;
            }
            let by = (rank_by, p, acc);
            let any = if volatile || !p.sweep {
                self.sample_random(i, db, samples, volatile, by)
            } else {
                self.sample_sweep(i, db, samples, by)
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
    fn sample_random(&mut self, i: usize, db: &Db, count: usize, volatile: bool, by: By<'_>) -> bool {
        let (rank_by, p, acc) = by;
        let pool = &mut self.pool;
        let mut add = |e: EntryRef<'_>| pool.insert(rank(rank_by, p, acc, &e), i, e.key());
        let mut left = count;
        let mut any = false;
        for _ in 0..EVICTIONS_PER_POPULATE {
            let Some(mut s) = pick_stripe(&mut self.rng, db, volatile) else { break };
            let len = if volatile { s.volatile_len() } else { s.len() };
            let take = left.min((len / 4).max(p.samples.max(1)));
            s.eviction_sample(volatile, take, &mut self.scratch, &mut add);
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
    fn sample_sweep(&mut self, i: usize, db: &Db, count: usize, by: By<'_>) -> bool {
        let (rank_by, p, acc) = by;
        if self.sweeps.len() <= i {
            let rng = &mut self.rng;
            let n = db.stripe_count().max(1);
            self.sweeps.resize_with(i + 1, || Sweep { stripe: rng.below(n), cursor: 0 });
        }
        let pool = &mut self.pool;
        let Some(at) = self.sweeps.get_mut(i) else { return false };
        let rank_of = |e: &EntryRef<'_>| rank(rank_by, p, acc, e);
        sweep(db, at, count, &mut self.visited, rank_of, |r, k| pool.insert(r, i, k)) > 0
    }

    /// Remove `key` from database `db` if it is still a candidate; the stripe is locked here.
    fn take(ks: &Keyspace, p: &Params, db: usize, key: &[u8]) -> Option<(usize, Option<Detached>)> {
        let volatile = p.policy.volatile_only();
        let mut s = ks.dbs().get(db)?.lock(key);
        if p.lazy {
            s.evict_lazy(key, volatile)
        } else {
            s.evict(key, volatile).map(|b| (b, None))
        }
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
            if (self.credit == 0 || self.pool.slots.is_empty()) && self.populate(ks, p, acc, rank_by) == 0 {
                self.recheck_dbs(ks, volatile, true, now);
                if self.populate(ks, p, acc, rank_by) == 0 {
                    self.credit = 0;
                    return None;
                }
            }
            while let Some(c) = self.pool.pop_best() {
                let Some(db) = ks.dbs().get(c.db) else {
                    self.pool.recycle(c.key);
                    continue;
                };
                let mut s = db.lock(&c.key);
                let now = match s.peek(&c.key) {
                    Some(e) if !volatile || e.expire_at().is_some() => rank(rank_by, p, acc, &e),
                    _ => {
                        // A ghost: gone or no longer a candidate.
                        drop(s);
                        self.pool.recycle(c.key);
                        continue;
                    }
                };
                if now < c.rank && round + 1 < MAX_ROUNDS {
                    // Used since it was sampled: no longer the coldest we know of.
                    drop(s);
                    self.pool.recycle(c.key);
                    continue;
                }
                let taken = if p.lazy {
                    s.evict_lazy(&c.key, volatile)
                } else {
                    s.evict(&c.key, volatile).map(|b| (b, None))
                };
                drop(s);
                if let Some((bytes, detached)) = taken {
                    if let Some(d) = detached {
                        crate::lazyfree::free_later(d, bytes as u64);
                    }
                    self.credit = self.credit.saturating_sub(1);
                    self.pool.prefetch_best();
                    return Some(Evicted { db: c.db, key: c.key, bytes });
                }
                self.pool.recycle(c.key);
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
                    let Some(mut s) = pick_stripe(&mut self.rng, ks.db(j), volatile) else {
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
        self.evict_one_at(ks, p, acc, Instant::now())
    }

    /// [`Evictor::evict_one`] with the current instant given (one clock read per run).
    fn evict_one_at(&mut self, ks: &Keyspace, p: &Params, acc: &Access, now: Instant) -> Option<Evicted> {
        if p.policy == Policy::NoEviction || ks.is_empty() {
            return None;
        }
        // Over the limit with nothing to evict, every command asks again: walking every
        // stripe of every database each time would be costly, so a walk that found nothing
        // stands for a moment.
        if self.found_nothing_at.is_some_and(|t| now.saturating_duration_since(t) < NOTHING_RECHECK)
            && self.has_keys_volatile == p.policy.volatile_only()
        {
            return None;
        }
        self.recheck_dbs(ks, p.policy.volatile_only(), false, now);
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
        while run.bytes < budget.to_free {
            let Some(ev) = self.evict_one_at(ks, p, acc, start) else {
                run.outcome = Outcome::NothingToEvict;
                break;
            };
            run.keys += 1;
            run.bytes += ev.bytes as u64;
            on_evicted(ev.db, &ev.key);
            self.pool.recycle(ev.key);
            if run.keys.is_multiple_of(16) {
                if under_limit() {
                    break;
                }
                if start.elapsed() > budget.time {
                    run.outcome = Outcome::TimedOut;
                    break;
                }
            }
        }
        run
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

    /// Whether the latest sample shows the allocator fragmented: active pages more than 10%
    /// (and 1 MiB) above the bytes allocated. `false` before the first sample.
    pub fn fragmented() -> bool {
        let (allocated, active) = (ALLOCATED.load(Relaxed), ACTIVE.load(Relaxed));
        allocated > 0 && active > allocated + (allocated / 10).max(1 << 20)
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

    /// Return the unused dirty pages of every arena to the system (MEMORY PURGE, as Redis's
    /// jemalloc_purge). Returns whether jemalloc accepted.
    pub fn purge() -> bool {
        let mut narenas: u32 = 0;
        let mut len = std::mem::size_of::<u32>();
        // SAFETY: plain mallctl calls with correctly sized buffers and NUL-terminated names.
        unsafe {
            let name = c"arenas.narenas";
            if tikv_jemalloc_sys::mallctl(
                name.as_ptr(),
                &mut narenas as *mut u32 as *mut c_void,
                &mut len,
                std::ptr::null_mut(),
                0,
            ) != 0
            {
                return false;
            }
            let Ok(purge) = std::ffi::CString::new(format!("arena.{narenas}.purge")) else { return false };
            tikv_jemalloc_sys::mallctl(
                purge.as_ptr(),
                std::ptr::null_mut(),
                std::ptr::null_mut(),
                std::ptr::null_mut(),
                0,
            ) == 0
        }
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
        Params { policy, samples, lfu_decay_minutes: 1, lazy: false, sweep: false }
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
        for sweep in [false, true] {
            lru_keeps_recently_used_keys(sweep);
        }
    }

    fn lru_keeps_recently_used_keys(sweep: bool) {
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
        let p = Params { sweep, ..params(Policy::AllkeysLru, 5) };
        let gone = evict_n(&mut ev, &ks, &p, &t2, 1000);
        assert_eq!(gone.len(), 1000);
        let hot_kept = (0..200).filter(|&i| exists(&ks, i % 3, &key(i))).count();
        assert!(hot_kept >= 195, "sweep {sweep}: only {hot_kept} of 200 recently read keys kept");
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
        let p = Params { sweep: true, ..params(Policy::AllkeysLru, 5) };
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
        let mut buf = Vec::new();
        let mut seen = std::collections::HashMap::new();
        let mut visited = 0;
        while visited < 500 {
            let count = |_: u64, k: &[u8]| *seen.entry(k.to_vec()).or_insert(0) += 1;
            visited += sweep(ks.db(0), &mut at, 7, &mut buf, |_| 0, count);
        }
        assert_eq!(seen.len(), 500);
        assert!(seen.values().all(|&n| n <= 2), "a key was visited more than twice in one pass");
        // A database with fewer keys than asked: every key, then stop.
        let small = Keyspace::new(1, 8);
        set(&small, 0, b"only", SetExpire::Clear, &acc);
        assert_eq!(sweep(small.db(0), &mut Sweep::default(), 100, &mut buf, |_| 0, |_, _| {}), 1);
        assert_eq!(sweep(Keyspace::new(1, 8).db(0), &mut Sweep::default(), 5, &mut buf, |_| 0, |_, _| {}), 0);
        assert!(buf.is_empty());
    }

    #[test]
    fn pool_reuses_key_buffers_when_full() {
        let mut pool = Pool::default();
        for r in 0..(POOL_SIZE as u64 + 40) {
            pool.insert(r, 0, &r.to_be_bytes());
        }
        let ranks: Vec<u64> = pool.slots.iter().map(|c| c.rank).collect();
        assert_eq!(ranks, (40..POOL_SIZE as u64 + 40).collect::<Vec<_>>());
        assert!(pool.slots.iter().all(|c| c.key == c.rank.to_be_bytes()));
        // A long key does not keep a big buffer in the pool.
        pool.insert(1000, 0, &[7; 4096]);
        pool.insert(1001, 0, b"short");
        pool.insert(1002, 0, b"short");
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
                    pool.insert(v, 0, &v.to_be_bytes());
                    model_insert(&mut model, v);
                }
                let ours: Vec<u64> = pool.slots.iter().map(|c| c.rank).collect();
                let theirs: Vec<u64> = model.iter().flatten().copied().collect();
                prop_assert_eq!(ours, theirs);
            }
        }
    }
}
