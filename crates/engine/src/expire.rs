//! Active expiry, and the log through which the keyspace reports what it did to keys
//! behind a command's back.
//!
//! # The active cycle
//! Redis's activeExpireCycle walks each database's expires dict from a cursor, 20 keys at a
//! time (more with `active-expire-effort`), and repeats while more than 10% of a batch was
//! stale; a *slow* cycle runs `hz` times a second within 25% of that period, *fast* cycles
//! (1 ms) run in between while the estimated stale share is high or the last cycle ran out
//! of time. Brim does the same per stripe, with batches of keys picked at random among the
//! stripe's keys with a TTL (its volatile list is in insertion order, which correlates with
//! deadlines, so a sequential walk would misjudge the stale share), one batch per lock hold
//! (a few microseconds), repeated while the batch was stale enough. A cycle goes stripe by
//! stripe, database by database, and remembers where it stopped when its time ran out: the
//! next cycle resumes there, so no stripe, database or key is starved, however big one
//! database is and however busy clients keep a stripe. Each batch holds the keyspace gate
//! shared, so nothing expires in the middle of an EXEC or of another exclusive command.
//!
//! While it walks, a slow cycle also does what Redis's databasesCron does: it moves pending
//! rehash buckets of stripes nobody touches, and gives back bucket arrays and expire lists
//! the remaining keys have outgrown ([`Stripe::upkeep`]); after a wave of expiry it asks the
//! allocator to return the freed pages to the system. So a key with a TTL that nobody reads
//! again gives its memory back within about one `hz` period of its deadline.
//!
//! # The key event log
//! Keyspace notifications need to hear about keys removed by lazy expiry (any lookup may
//! find a key past its time and delete it) and about keys created (`new`). The engine knows
//! nothing of notifications: when asked to ([`set_event_log`]), it appends such events to a
//! per-thread log that the command layer drains ([`take_events`]) before it publishes a
//! command's own events, which keeps Redis's order (`expired` before `set`, `new` before
//! `lpush`). Each event names its stripe; [`StripeMap`] turns that into a database number.
//!
//! Client-side caching needs every changed key (any database) and every flush: while
//! [`set_track_modified`] is on, `Stripe::signal` and `Stripe::take_all` log them in a
//! second per-thread log, drained with [`take_modified`].

use std::cell::RefCell;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering::Relaxed};
use std::time::{Duration, Instant};

use crate::db::Keyspace;
use crate::stripe::Stripe;

// ---------------------------------------------------------------------------------------
// Key event log
// ---------------------------------------------------------------------------------------

/// What happened to a key outside of what its command reports itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyEventKind {
    /// A lookup found the key past its expire time and deleted it.
    Expired,
    /// The key was created (Redis's `new` event).
    New,
}

/// One logged event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyEvent {
    /// What happened.
    pub kind: KeyEventKind,
    /// The stripe it happened in ([`stripe_id`]); [`StripeMap::db_of`] finds its database.
    pub stripe: usize,
    /// The key.
    pub key: Box<[u8]>,
}

const LOG_EXPIRED: u32 = 1;
const LOG_NEW: u32 = 2;
/// Most events a thread keeps before dropping new ones (a thread that never drains, or one
/// command that expires a huge number of keys without reporting anything in between).
const LOG_CAP: usize = 1 << 16;

static LOG_FLAGS: AtomicU32 = AtomicU32::new(0);

thread_local! {
    static LOG: RefCell<Vec<KeyEvent>> = const { RefCell::new(Vec::new()) };
}

/// Choose which events the keyspace logs (both off by default: then logging costs one
/// relaxed load per lazily expired or created key).
pub fn set_event_log(expired: bool, new: bool) {
    let f = if expired { LOG_EXPIRED } else { 0 } | if new { LOG_NEW } else { 0 };
    if LOG_FLAGS.load(Relaxed) != f {
        LOG_FLAGS.store(f, Relaxed);
    }
}

/// Which events are logged: `(expired, new)`.
pub fn event_log() -> (bool, bool) {
    let f = LOG_FLAGS.load(Relaxed);
    (f & LOG_EXPIRED != 0, f & LOG_NEW != 0)
}

/// The identity of a stripe in logged events: its address, stable for the server's life
/// (SWAPDB exchanges contents, never stripes).
pub fn stripe_id(s: &Stripe) -> usize {
    s as *const Stripe as usize
}

#[inline]
pub(crate) fn note(kind: KeyEventKind, stripe: &Stripe, key: &[u8]) {
    let bit = match kind {
        KeyEventKind::Expired => LOG_EXPIRED,
        KeyEventKind::New => LOG_NEW,
    };
    if LOG_FLAGS.load(Relaxed) & bit == 0 {
        return;
    }
    let ev = KeyEvent { kind, stripe: stripe_id(stripe), key: key.into() };
    let _ = LOG.try_with(|l| {
        if let Ok(mut l) = l.try_borrow_mut() {
            if l.len() < LOG_CAP {
                l.push(ev);
            }
        }
    });
}

/// Whether this thread has logged events waiting.
#[inline]
pub fn has_events() -> bool {
    LOG.try_with(|l| l.try_borrow().is_ok_and(|l| !l.is_empty())).unwrap_or(false)
}

/// Move this thread's logged events, oldest first, to the end of `out`.
pub fn take_events(out: &mut Vec<KeyEvent>) {
    let _ = LOG.try_with(|l| {
        if let Ok(mut l) = l.try_borrow_mut() {
            if out.is_empty() {
                std::mem::swap(out, &mut *l);
            } else {
                out.append(&mut l);
            }
        }
    });
}

/// Forget this thread's logged events.
pub fn discard_events() {
    let _ = LOG.try_with(|l| {
        if let Ok(mut l) = l.try_borrow_mut() {
            l.clear();
        }
    });
}

// ---------------------------------------------------------------------------------------
// Modified-key log (client-side caching)
// ---------------------------------------------------------------------------------------

/// A change the modified-key log recorded: a key (written, deleted, expired or evicted,
/// whatever its database), or a whole database emptied (`None`: FLUSHDB, FLUSHALL, a
/// reload). A thread that logged more than 65,536 changes before draining gets one
/// `None` in their place: "anything may have changed".
pub type Modified = Option<Box<[u8]>>;

static TRACK_MODIFIED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

thread_local! {
    static MODIFIED: RefCell<Vec<Modified>> = const { RefCell::new(Vec::new()) };
}

/// Have [`Stripe::signal`] and flushes log the keys they change, per thread, for client
/// tracking to invalidate (off by default: then it costs one relaxed load per change).
pub fn set_track_modified(on: bool) {
    if TRACK_MODIFIED.load(Relaxed) != on {
        TRACK_MODIFIED.store(on, Relaxed);
    }
}

/// Whether changed keys are logged for client tracking (see [`set_track_modified`]).
#[inline]
pub fn tracks_modified() -> bool {
    TRACK_MODIFIED.load(Relaxed)
}

#[inline]
pub(crate) fn note_modified(key: &[u8]) {
    if TRACK_MODIFIED.load(Relaxed) {
        push_modified(Some(key.into()));
    }
}

/// Log that a stripe was emptied at once (its keys are not signalled one by one).
#[inline]
pub(crate) fn note_flushed() {
    if TRACK_MODIFIED.load(Relaxed) {
        push_modified(None);
    }
}

fn push_modified(m: Modified) {
    let _ = MODIFIED.try_with(|l| {
        if let Ok(mut l) = l.try_borrow_mut() {
            if m.is_none() && l.last().is_some_and(|x| x.is_none()) {
                return;
            }
            if l.len() >= LOG_CAP {
                // Too many to remember: "anything may have changed" stands for them.
                l.clear();
                l.push(None);
            }
            l.push(m);
        }
    });
}

/// Move this thread's modified-key log, oldest first, to the end of `out`.
pub fn take_modified(out: &mut Vec<Modified>) {
    let _ = MODIFIED.try_with(|l| {
        if let Ok(mut l) = l.try_borrow_mut() {
            if l.is_empty() {
                return;
            }
            out.append(&mut l);
            if l.capacity() > 1024 {
                *l = Vec::new();
            }
        }
    });
}

/// Which database a stripe belongs to, from the stripes' addresses.
#[derive(Debug, Clone, Default)]
pub struct StripeMap {
    /// Per database: address of its first and of its last stripe.
    ranges: Vec<(usize, usize)>,
}

impl StripeMap {
    /// The map of `ks`. Locks every database's first and last stripe once: build it before
    /// serving (never while holding a stripe lock).
    pub fn new(ks: &Keyspace) -> Self {
        let ranges = ks
            .dbs()
            .iter()
            .map(|db| {
                let first = stripe_id(&db.lock_stripe(0));
                let last = stripe_id(&db.lock_stripe(db.stripe_count() - 1));
                (first.min(last), first.max(last))
            })
            .collect();
        StripeMap { ranges }
    }

    /// The database holding stripe `id`, if it is one of the map's.
    pub fn db_of(&self, id: usize) -> Option<usize> {
        self.ranges.iter().position(|&(lo, hi)| (lo..=hi).contains(&id))
    }
}

// ---------------------------------------------------------------------------------------
// Statistics
// ---------------------------------------------------------------------------------------

/// Server-wide statistics of active expiry (INFO stats).
#[derive(Debug)]
pub struct Stats {
    /// Estimated share of stale keys among keys with a TTL (0..1), as f64 bits: a running
    /// average with each cycle weighing 5%.
    stale_perc_bits: AtomicU64,
    /// Cycles that stopped because their time ran out.
    time_cap_reached: AtomicU64,
    /// CPU time spent in cycles, microseconds.
    cpu_us: AtomicU64,
    /// Keys reclaimed by the active cycle (they are also counted in
    /// [`crate::stripe::EXPIRED_KEYS`]).
    active_expired: AtomicU64,
    /// Cycles run.
    cycles: AtomicU64,
}

/// The statistics of the active expiry cycle.
pub static STATS: Stats = Stats {
    stale_perc_bits: AtomicU64::new(0),
    time_cap_reached: AtomicU64::new(0),
    cpu_us: AtomicU64::new(0),
    active_expired: AtomicU64::new(0),
    cycles: AtomicU64::new(0),
};

impl Stats {
    /// `expired_stale_perc`: estimated percentage of stale keys among keys with a TTL.
    pub fn stale_perc(&self) -> f64 {
        f64::from_bits(self.stale_perc_bits.load(Relaxed)) * 100.0
    }

    /// `expired_time_cap_reached_count`.
    pub fn time_cap_reached(&self) -> u64 {
        self.time_cap_reached.load(Relaxed)
    }

    /// `expire_cycle_cpu_milliseconds`: CPU time the cycles used.
    pub fn cpu_ms(&self) -> u64 {
        self.cpu_us.load(Relaxed) / 1000
    }

    /// Keys reclaimed by the active cycle.
    pub fn active_expired(&self) -> u64 {
        self.active_expired.load(Relaxed)
    }

    /// Cycles run so far.
    pub fn cycles(&self) -> u64 {
        self.cycles.load(Relaxed)
    }

    /// Zero everything (CONFIG RESETSTAT); [`crate::stripe::EXPIRED_KEYS`] too.
    pub fn reset(&self) {
        self.stale_perc_bits.store(0f64.to_bits(), Relaxed);
        self.time_cap_reached.store(0, Relaxed);
        self.cpu_us.store(0, Relaxed);
        self.active_expired.store(0, Relaxed);
        crate::stripe::EXPIRED_KEYS.store(0, Relaxed);
    }

    fn fold_stale(&self, current: f64) {
        let old = f64::from_bits(self.stale_perc_bits.load(Relaxed));
        self.stale_perc_bits.store((current * 0.05 + old * 0.95).to_bits(), Relaxed);
    }
}

fn thread_cpu_us() -> u64 {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: clock_gettime only writes the timespec it is given.
    if unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) } != 0 {
        return 0;
    }
    ts.tv_sec as u64 * 1_000_000 + ts.tv_nsec as u64 / 1000
}

// ---------------------------------------------------------------------------------------
// The cycle
// ---------------------------------------------------------------------------------------

/// Redis's tuning of the cycle for an `active-expire-effort`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Params {
    /// Keys looked at per batch (20 at effort 1, +5 per effort step).
    pub keys_per_loop: usize,
    /// Time budget of a fast cycle, µs (1000, +250 per step).
    pub fast_duration_us: u64,
    /// Share of each `hz` period a slow cycle may use, % (25, +2 per step).
    pub slow_time_perc: u64,
    /// Stale share of a batch below which a stripe is left alone, % (10, -1 per step).
    pub acceptable_stale: u64,
}

impl Params {
    /// The parameters for `active-expire-effort` `effort` (clamped to 1..=10).
    pub fn new(effort: u32) -> Params {
        let e = effort.clamp(1, 10) as u64 - 1;
        Params {
            keys_per_loop: (20 + 20 / 4 * e) as usize,
            fast_duration_us: 1000 + 1000 / 4 * e,
            slow_time_perc: 25 + 2 * e,
            acceptable_stale: 10 - e,
        }
    }

    /// Time budget of one slow cycle at `hz` cycles a second.
    pub fn slow_budget(&self, hz: u32) -> Duration {
        Duration::from_micros((self.slow_time_perc * 1_000_000 / hz.max(1) as u64 / 100).max(1))
    }
}

/// A slow cycle (every `hz` period) or a fast one (in between, while there is work).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CycleKind {
    /// The main cycle; also does the stripes' upkeep.
    Slow,
    /// A short extra cycle.
    Fast,
}

/// What one cycle did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CycleReport {
    /// Keys with a TTL looked at.
    pub sampled: u64,
    /// Keys reclaimed.
    pub expired: u64,
    /// The cycle stopped because its time ran out.
    pub timelimit_hit: bool,
    /// Stripes visited.
    pub stripes: u64,
}

/// The settings the cycle reads from the configuration at each step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Settings {
    /// `hz` (1..=500).
    pub hz: u32,
    /// `active-expire-effort` (1..=10).
    pub effort: u32,
    /// Active expiry is on (DEBUG SET-ACTIVE-EXPIRE); when off only the upkeep runs.
    pub enabled: bool,
    /// Hand the keys reclaimed to the caller (keyspace notifications want them).
    pub report_keys: bool,
}

/// Buckets of pending rehash moved per stripe per slow cycle.
const UPKEEP_BUCKETS: usize = 256;
/// Freed bytes that make the cycle ask the allocator to return pages to the system while
/// keys keep expiring.
const PURGE_BYTES: usize = 4 << 20;
/// The same once the expiring is over.
const PURGE_TAIL_BYTES: usize = 256 << 10;
/// How long after a wave of expiry the cycle keeps purging once a second.
const PURGE_AFTER_WAVE: Duration = Duration::from_secs(5);

/// The active expiry state: where the next cycle starts, the fast-cycle clock.
#[derive(Debug)]
pub struct ActiveExpire {
    db: usize,
    stripe: usize,
    timelimit_exit: bool,
    last_fast: Option<Instant>,
    next_slow: Option<Instant>,
    /// used_memory when the allocator last purged (or the highest seen since).
    purge_mark: usize,
    last_purge: Option<Instant>,
    /// When a slow cycle last found keys to reclaim.
    last_wave: Option<Instant>,
    keys: Vec<Box<[u8]>>,
}

impl Default for ActiveExpire {
    fn default() -> Self {
        Self::new()
    }
}

impl ActiveExpire {
    /// A cycle that starts at the first stripe of database 0.
    pub fn new() -> Self {
        ActiveExpire {
            db: 0,
            stripe: 0,
            timelimit_exit: false,
            last_fast: None,
            next_slow: None,
            purge_mark: 0,
            last_purge: None,
            last_wave: None,
            keys: Vec::new(),
        }
    }

    /// Whether a fast cycle is due at `now` (the last cycle ran out of time, or the estimated
    /// stale share is above the acceptable one), and no fast cycle started within twice its
    /// duration.
    pub fn wants_fast(&self, p: &Params, now: Instant) -> bool {
        if !self.timelimit_exit && STATS.stale_perc() <= p.acceptable_stale as f64 {
            return false;
        }
        match self.last_fast {
            Some(t) => now >= t + Duration::from_micros(p.fast_duration_us * 2),
            None => true,
        }
    }

    /// Run whatever is due now (a slow cycle every `1/hz` s, fast cycles in between when
    /// [`ActiveExpire::wants_fast`]); `clock` gives unix ms, `on_expired(db, key)` hears the
    /// keys reclaimed (only with `report_keys`), after their stripe was unlocked. Returns how
    /// long to wait before the next step.
    pub fn step(
        &mut self,
        ks: &Keyspace,
        s: &Settings,
        clock: &dyn Fn() -> i64,
        on_expired: &mut dyn FnMut(usize, &[u8]),
    ) -> Duration {
        let hz = s.hz.clamp(1, 500);
        let period = Duration::from_micros(1_000_000 / hz as u64);
        let p = Params::new(s.effort);
        let now = Instant::now();
        let next_slow = *self.next_slow.get_or_insert(now);
        if now >= next_slow {
            self.next_slow = Some(now + period);
            let r = self.cycle(ks, CycleKind::Slow, hz, &p, s, clock, on_expired);
            self.maybe_purge(r.expired > 0);
        } else if s.enabled && self.wants_fast(&p, now) {
            self.cycle(ks, CycleKind::Fast, hz, &p, s, clock, on_expired);
        }
        let now = Instant::now();
        let until_slow = self.next_slow.map_or(period, |t| t.saturating_duration_since(now));
        if s.enabled && (self.timelimit_exit || STATS.stale_perc() > p.acceptable_stale as f64) {
            let fast_gap = Duration::from_micros(p.fast_duration_us * 2);
            let since = self.last_fast.map_or(fast_gap, |t| now.saturating_duration_since(t));
            until_slow.min(fast_gap.saturating_sub(since))
        } else {
            until_slow
        }
    }

    fn ensure_position(&mut self, ks: &Keyspace) {
        if self.db >= ks.len() {
            self.db = 0;
            self.stripe = 0;
        }
    }

    fn advance(&mut self, ks: &Keyspace) {
        self.stripe += 1;
        if self.stripe >= ks.db(self.db).stripe_count() {
            self.stripe = 0;
            self.db = (self.db + 1) % ks.len();
        }
    }

    /// Run one cycle of `kind` now.
    #[allow(clippy::too_many_arguments)]
    pub fn cycle(
        &mut self,
        ks: &Keyspace,
        kind: CycleKind,
        hz: u32,
        p: &Params,
        s: &Settings,
        clock: &dyn Fn() -> i64,
        on_expired: &mut dyn FnMut(usize, &[u8]),
    ) -> CycleReport {
        let start = Instant::now();
        let cpu_start = thread_cpu_us();
        let timelimit = match kind {
            CycleKind::Slow => p.slow_budget(hz),
            CycleKind::Fast => {
                self.last_fast = Some(start);
                Duration::from_micros(p.fast_duration_us)
            }
        };
        self.timelimit_exit = false;
        self.ensure_position(ks);
        let total: usize = ks.dbs().iter().map(|d| d.stripe_count()).sum();
        let upkeep = kind == CycleKind::Slow;
        let mut report = CycleReport::default();
        let mut iteration = 0u64;
        let mut keys = std::mem::take(&mut self.keys);
        'stripes: for _ in 0..total {
            let (d, si) = (self.db, self.stripe);
            self.advance(ks);
            report.stripes += 1;
            let db = ks.db(d);
            let mut first = true;
            loop {
                iteration += 1;
                let (sampled, expired) = {
                    let _gate = ks.shared();
                    let mut st = db.lock_stripe(si);
                    if upkeep && first {
                        st.upkeep(UPKEEP_BUCKETS);
                    }
                    if !s.enabled || st.volatile_len() == 0 {
                        (0, 0)
                    } else {
                        let sink = if s.report_keys { Some(&mut keys) } else { None };
                        st.expire_sample(p.keys_per_loop, clock(), sink)
                    }
                };
                first = false;
                for k in keys.drain(..) {
                    on_expired(d, &k);
                }
                report.sampled += sampled as u64;
                report.expired += expired as u64;
                if iteration.is_multiple_of(16) && start.elapsed() > timelimit {
                    report.timelimit_hit = true;
                    break 'stripes;
                }
                if sampled == 0 || (expired * 100 / sampled) as u64 <= p.acceptable_stale {
                    break;
                }
            }
        }
        self.keys = keys;
        if report.timelimit_hit {
            self.timelimit_exit = true;
            STATS.time_cap_reached.fetch_add(1, Relaxed);
        }
        if s.enabled {
            let current =
                if report.sampled > 0 { report.expired as f64 / report.sampled as f64 } else { 0.0 };
            STATS.fold_stale(current);
        }
        STATS.active_expired.fetch_add(report.expired, Relaxed);
        STATS.cycles.fetch_add(1, Relaxed);
        STATS.cpu_us.fetch_add(thread_cpu_us().saturating_sub(cpu_start), Relaxed);
        report
    }

    /// After frees, have jemalloc hand unused dirty pages back to the system, so RSS follows
    /// used_memory down instead of waiting for jemalloc's 10 s decay: while a wave of expiry
    /// lasts (`expiring`), at most once a second and only after [`PURGE_BYTES`] were freed;
    /// once it is over (a slow cycle found nothing to reclaim), as soon as anything
    /// noticeable was freed since the last purge, and once a second for
    /// [`PURGE_AFTER_WAVE`].
    fn maybe_purge(&mut self, expiring: bool) {
        let now = Instant::now();
        if expiring {
            self.last_wave = Some(now);
        }
        let used = crate::alloc::used_memory();
        if used > self.purge_mark {
            self.purge_mark = used;
            return;
        }
        let freed = self.purge_mark - used;
        let since_last = self.last_purge.map(|t| now.duration_since(t));
        let a_second_ago = since_last.is_none_or(|d| d >= Duration::from_secs(1));
        let due = if expiring {
            freed >= PURGE_BYTES && a_second_ago
        } else {
            // Right after a wave, once a second for a few seconds more: what the wave's
            // clients and threads free afterwards goes back too.
            let after_wave = self.last_wave.is_some_and(|t| now.duration_since(t) < PURGE_AFTER_WAVE);
            freed >= PURGE_TAIL_BYTES || (after_wave && a_second_ago)
        };
        if due {
            crate::evict::allocator::flush_thread_cache();
            crate::evict::allocator::purge();
            self.purge_mark = used;
            self.last_purge = Some(now);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lru::Access;
    use crate::stripe::{SetExpire, Stripe, EXPIRED_KEYS};
    use crate::value::NewValue;

    fn settings(report_keys: bool) -> Settings {
        Settings { hz: 10, effort: 1, enabled: true, report_keys }
    }

    fn fill(ks: &Keyspace, db: usize, n: usize, ttl_at: impl Fn(usize) -> Option<i64>) {
        let acc = Access::at(1_000);
        for i in 0..n {
            let key = format!("key:{i}");
            let exp = match ttl_at(i) {
                Some(w) => SetExpire::At(w),
                None => SetExpire::Clear,
            };
            ks.db(db).lock(key.as_bytes()).set(key.as_bytes(), NewValue::Str(b"value"), exp, &acc);
        }
    }

    #[test]
    fn params_follow_effort_like_redis() {
        assert_eq!(
            Params::new(1),
            Params { keys_per_loop: 20, fast_duration_us: 1000, slow_time_perc: 25, acceptable_stale: 10 }
        );
        assert_eq!(
            Params::new(10),
            Params { keys_per_loop: 65, fast_duration_us: 3250, slow_time_perc: 43, acceptable_stale: 1 }
        );
        assert_eq!(Params::new(0), Params::new(1));
        assert_eq!(Params::new(1).slow_budget(10), Duration::from_millis(25));
        assert_eq!(Params::new(1).slow_budget(500), Duration::from_micros(500));
    }

    #[test]
    fn a_slow_cycle_reclaims_every_stale_key_and_nothing_else() {
        let ks = Keyspace::new(2, 16);
        fill(&ks, 0, 3000, |i| if i % 3 == 0 { None } else { Some(2_000 + (i % 2) as i64 * 1_000_000) });
        fill(&ks, 1, 500, |_| Some(1_500));
        let mut ae = ActiveExpire::new();
        let mut heard = Vec::new();
        let clock = || 5_000i64;
        let r = ae.cycle(&ks, CycleKind::Slow, 10, &Params::new(1), &settings(true), &clock, &mut |db, k| {
            heard.push((db, k.to_vec()))
        });
        assert!(!r.timelimit_hit);
        // Stale: keys i%3 != 0 with i even (deadline 2000) in db0, all of db1. Keys are
        // reclaimed until a batch is at most 10% stale, then the rest is left for later
        // cycles; run a few more to converge.
        for _ in 0..200 {
            ae.cycle(&ks, CycleKind::Slow, 10, &Params::new(1), &settings(true), &clock, &mut |db, k| {
                heard.push((db, k.to_vec()))
            });
        }
        let stale0 = (0..3000).filter(|i| i % 3 != 0 && i % 2 == 0).count();
        assert_eq!(ks.db(0).len(), 3000 - stale0);
        assert_eq!(ks.db(1).len(), 0);
        assert_eq!(heard.len(), stale0 + 500);
        assert!(heard.iter().all(|(db, k)| *db < 2 && k.starts_with(b"key:")));
        let acc = Access::at(5_000).no_touch();
        for i in 0..3000 {
            let key = format!("key:{i}");
            let alive = ks.db(0).lock(key.as_bytes()).get(key.as_bytes(), &acc).is_some();
            assert_eq!(alive, i % 3 == 0 || i % 2 == 1, "{key}");
        }
    }

    #[test]
    fn the_cycle_resumes_where_its_time_ran_out() {
        let ks = Keyspace::new(1, 64);
        fill(&ks, 0, 20_000, |_| Some(2_000));
        let mut ae = ActiveExpire::new();
        // A budget so small the cycle stops after its first time check.
        let p = Params { keys_per_loop: 20, fast_duration_us: 0, slow_time_perc: 0, acceptable_stale: 10 };
        let clock = || 10_000i64;
        let mut cycles = 0;
        while !ks.db(0).is_empty() {
            let r = ae.cycle(&ks, CycleKind::Fast, 10, &p, &settings(false), &clock, &mut |_, _| {});
            assert!(r.stripes <= 64);
            cycles += 1;
            assert!(cycles < 10_000, "no progress");
        }
        assert!(cycles > 1, "a zero budget must split the work");
        assert!(STATS.time_cap_reached() > 0);
    }

    #[test]
    fn disabled_cycles_only_do_upkeep() {
        let ks = Keyspace::new(1, 4);
        fill(&ks, 0, 100, |_| Some(2_000));
        let mut ae = ActiveExpire::new();
        let s = Settings { enabled: false, ..settings(false) };
        let r = ae.cycle(&ks, CycleKind::Slow, 10, &Params::new(1), &s, &|| 10_000, &mut |_, _| {});
        assert_eq!(r.expired, 0);
        assert_eq!(ks.db(0).len(), 100);
    }

    #[test]
    fn step_runs_slow_then_fast_cycles_and_sleeps_in_between() {
        let ks = Keyspace::new(1, 8);
        let mut ae = ActiveExpire::new();
        let s = settings(false);
        let clock = || 10_000i64;
        let wait = ae.step(&ks, &s, &clock, &mut |_, _| {});
        assert!(wait <= Duration::from_millis(100));
        assert!(
            wait > Duration::from_millis(50),
            "nothing to do: sleep until the next slow cycle ({wait:?})"
        );
    }

    #[test]
    fn upkeep_gives_back_what_the_remaining_keys_do_not_need() {
        let acc = Access::at(0);
        let mut big = Stripe::new(3);
        let mut fresh = Stripe::new(3);
        for i in 0..5000u32 {
            let key = format!("k{i}");
            let when = if i < 300 { 10_000_000 } else { 100 };
            big.set(key.as_bytes(), NewValue::Int(i as i64), SetExpire::At(when), &acc);
            if i < 300 {
                fresh.set(key.as_bytes(), NewValue::Int(i as i64), SetExpire::At(when), &acc);
            }
        }
        while fresh.rehash_step(1 << 20) {}
        let mut cursor = 0;
        while big.len() > 300 {
            big.expire_sweep(&mut cursor, 1000, 1_000, None);
        }
        assert_eq!(big.volatile_len(), 300);
        for _ in 0..100 {
            big.upkeep(1 << 20);
        }
        // The bucket array is what inserting the 300 remaining keys grows; the expire list
        // holds at most four times its keys.
        assert_eq!(big.overhead_parts().0, fresh.overhead_parts().0);
        assert!(big.overhead_parts().1 <= 4 * 300 * 8);
        let check = Access::at(1_000).no_touch();
        for i in 0..300u32 {
            let key = format!("k{i}");
            assert_eq!(
                big.get(key.as_bytes(), &check).and_then(|e| e.str()),
                Some(crate::StrRef::Int(i as i64))
            );
        }
        // Everything gone: nothing is kept.
        let mut cursor = 0;
        while !big.is_empty() {
            big.expire_sweep(&mut cursor, 1000, 20_000_000, None);
        }
        big.upkeep(1 << 20);
        assert_eq!(big.overhead_parts(), (0, 0));
    }

    #[test]
    fn modified_keys_and_flushes_are_logged_while_tracking() {
        let ks = Keyspace::new(1, 4);
        let acc = Access::at(1_000);
        set_track_modified(true);
        take_modified(&mut Vec::new());
        ks.db(0).lock(b"a").set(b"a", NewValue::Str(b"v"), SetExpire::At(1_500), &acc);
        assert!(ks.db(0).lock(b"a").get(b"a", &Access::at(2_000)).is_none());
        ks.db(0).clear();
        let mut log = Vec::new();
        take_modified(&mut log);
        set_track_modified(false);
        ks.db(0).lock(b"b").set(b"b", NewValue::Str(b"v"), SetExpire::Clear, &acc);
        take_modified(&mut log);
        // Set, lazily expired, then one "everything" for the flush of all stripes.
        assert_eq!(log, vec![Some(b"a"[..].into()), Some(b"a"[..].into()), None]);
    }

    #[test]
    fn lazy_expiry_and_new_keys_are_logged_when_asked() {
        // The log is per thread, so this test sees only its own events.
        let ks = Keyspace::new(2, 4);
        let map = StripeMap::new(&ks);
        set_event_log(true, true);
        discard_events();
        let acc = Access::at(1_000);
        let before = EXPIRED_KEYS.load(Relaxed);
        ks.db(1).lock(b"k").set(b"k", NewValue::Str(b"v"), SetExpire::At(1_500), &acc);
        ks.db(1).lock(b"k").set(b"k", NewValue::Str(b"w"), SetExpire::Keep, &acc);
        assert!(ks.db(1).lock(b"k").get(b"k", &Access::at(2_000)).is_none());
        let mut evs = Vec::new();
        take_events(&mut evs);
        set_event_log(false, false);
        let got: Vec<_> = evs.iter().map(|e| (e.kind, map.db_of(e.stripe), &e.key[..])).collect();
        assert_eq!(
            got,
            vec![(KeyEventKind::New, Some(1), &b"k"[..]), (KeyEventKind::Expired, Some(1), &b"k"[..])]
        );
        assert!(EXPIRED_KEYS.load(Relaxed) > before);
        assert!(!has_events());
    }
}
