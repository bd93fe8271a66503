//! Memory: the MEMORY command (USAGE, STATS, DOCTOR, MALLOC-STATS, PURGE, HELP), the
//! accounting INFO memory and MEMORY STATS share ([`overhead`]), and the `maxmemory` side of
//! the server: [`perform_evictions`] (Redis's performEvictions, run by the dispatcher before
//! commands and by the background evictor), the eviction statistics, and the background
//! evictor thread ([`start_background_eviction`]).
//!
//! # The OOM contract
//! When `maxmemory` is set, every command first lets [`perform_evictions`] bring
//! `used_memory` (minus what Redis does not count, [`mem_not_counted_for_evict`]) under the
//! limit, within `maxmemory-eviction-tenacity`'s time budget. If that is impossible (the
//! policy is `noeviction`, or no candidate key is left), commands flagged `denyoom` (and, in
//! MULTI, every command but EXEC/DISCARD/QUIT/RESET) are refused with the OOM error; EXEC of
//! a transaction holding a `denyoom` command is aborted with EXECABORT. If the budget runs
//! out first, the command runs and the background evictor keeps evicting in bounded slices
//! (it also picks up a `CONFIG SET maxmemory` below the current usage within 10 ms).

use std::cell::RefCell;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use brim_engine::evict::{self, allocator, Evictor, Outcome, Params, Policy};
use brim_engine::lazyfree;
use brim_engine::{Access, Touch};

use crate::args::{is, parse_i64, NOT_INTEGER, SYNTAX};
use crate::ctx::Ctx;
use crate::notify::{class, keyspace_event_db};
use crate::server::bytes_to_human;
use crate::shared::{unix_ms, Shared};
use crate::table::{cmd, Registration};

/// The MEMORY family.
pub const COMMANDS: &[Registration] = &[
    cmd("memory|usage", usage),
    cmd("memory|stats", stats),
    cmd("memory|doctor", doctor),
    cmd("memory|malloc-stats", malloc_stats),
    cmd("memory|purge", purge),
    cmd("memory|help", help),
];

/// What [`perform_evictions`] achieved (Redis's EVICT_OK / EVICT_RUNNING / EVICT_FAIL).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Evict {
    /// Memory is under the limit (or there is no limit).
    Ok,
    /// Still over the limit, but eviction is making progress in the background: commands
    /// run.
    Running,
    /// Over the limit with nothing left to evict (or `noeviction`): `denyoom` commands are
    /// refused.
    Fail,
}

thread_local! {
    /// Each thread that evicts (the workers, the background evictor) keeps its own candidate
    /// pool: no lock is shared between workers that evict at the same time. Two threads over
    /// the limit at once each free about what they saw missing, and re-check every 16 keys.
    static EVICTOR: RefCell<Evictor> = RefCell::new(Evictor::new(next_seed()));
}

fn next_seed() -> u64 {
    static SEED: AtomicU64 = AtomicU64::new(0x5eed_e71c);
    SEED.fetch_add(0x9E37_79B9_7F4A_7C15, Relaxed)
}
/// A previous eviction ran out of time while memory was still over the limit.
static BACKGROUND: AtomicBool = AtomicBool::new(false);

/// Held by the one thread evicting at a time. Two evictors that each measured the same
/// excess before either freed anything would free it twice (a worker and the background
/// evictor right after `CONFIG SET maxmemory`, with lazily freed values in flight).
static EVICTING: parking_lot::Mutex<()> = parking_lot::Mutex::new(());
/// The last eviction run found nothing left to evict while memory stayed over the limit.
/// A command that finds another thread evicting is refused then, as it would be after that
/// run, instead of going ahead on the hope that the run frees something.
static NOTHING_LEFT: AtomicBool = AtomicBool::new(false);
/// Microseconds since [`epoch`] (plus one) when memory went over the limit without eviction
/// bringing it back; 0 when it is not over.
static EXCEEDED_SINCE_US: AtomicI64 = AtomicI64::new(0);
/// Finished over-the-limit periods, summed, in microseconds.
static EXCEEDED_TOTAL_US: AtomicU64 = AtomicU64::new(0);

fn epoch() -> Instant {
    static START: OnceLock<Instant> = OnceLock::new();
    *START.get_or_init(Instant::now)
}

fn mono_us() -> i64 {
    epoch().elapsed().as_micros() as i64 + 1
}

/// Memory left out of the `maxmemory` check. Redis leaves out replica output buffers and the
/// AOF buffer (freeMemoryGetNotCountedMemory; Brim has no replicas yet). Brim also leaves out the
/// reply bytes waiting to be written to clients (unlike Redis, which counts them): a client
/// that runs `KEYS *` or big HGETALLs without reading must not make the server evict the
/// dataset to pay for its replies. Those are bounded by `client-output-buffer-limit`,
/// `maxmemory-clients` and the read pause of normal clients instead (see `client_evict`).
pub fn mem_not_counted_for_evict(shared: &Shared) -> u64 {
    shared.clients_memory.output() + crate::persistence::aof::buffer_memory()
}

/// `used_memory` as the `maxmemory` check sees it: without what Redis does not count, and
/// without the values already handed to the lazy-free thread (freed as far as eviction is
/// concerned; Redis instead re-checks every 16 keys and over-evicts meanwhile).
pub fn used_memory_for_eviction(shared: &Shared) -> u64 {
    (brim_engine::alloc::used_memory() as u64)
        .saturating_sub(mem_not_counted_for_evict(shared))
        .saturating_sub(lazyfree::pending_bytes())
}

/// The eviction parameters from the configuration.
pub fn eviction_params(shared: &Shared) -> Params {
    let cfg = &shared.config;
    Params {
        policy: Policy::from_name(cfg.maxmemory_policy().as_str()).unwrap_or(Policy::NoEviction),
        samples: cfg.maxmemory_samples().max(1),
        lfu_decay_minutes: u32::try_from(cfg.lfu_decay_time()).unwrap_or(u32::MAX),
        lazy: cfg.lazyfree_lazy_eviction(),
    }
}

/// Track how long memory stays over the limit (INFO's `*_eviction_exceeded_time`).
fn update_metrics(result: Evict) {
    match result {
        Evict::Running | Evict::Fail => {
            let _ = EXCEEDED_SINCE_US.compare_exchange(0, mono_us(), Relaxed, Relaxed);
        }
        Evict::Ok => {
            // Read first: this runs before every command under a limit, and a plain load keeps
            // the cache line shared between the workers.
            if EXCEEDED_SINCE_US.load(Relaxed) != 0 {
                let since = EXCEEDED_SINCE_US.swap(0, Relaxed);
                if since != 0 {
                    EXCEEDED_TOTAL_US.fetch_add((mono_us() - since).max(0) as u64, Relaxed);
                }
            }
        }
    }
}

/// `(total_eviction_exceeded_time, current_eviction_exceeded_time)` in ms, as INFO reports
/// them (the total includes the current period).
pub fn eviction_exceeded_ms() -> (u64, u64) {
    let since = EXCEEDED_SINCE_US.load(Relaxed);
    let current = if since == 0 { 0 } else { (mono_us() - since).max(0) as u64 };
    ((EXCEEDED_TOTAL_US.load(Relaxed) + current) / 1000, current / 1000)
}

/// Zero the eviction timing statistics (CONFIG RESETSTAT, with `evicted_keys`).
pub fn reset_stats() {
    EXCEEDED_TOTAL_US.store(0, Relaxed);
    if EXCEEDED_SINCE_US.load(Relaxed) != 0 {
        EXCEEDED_SINCE_US.store(mono_us(), Relaxed);
    }
}

/// Memory is under the limit: the background evictor has nothing left to do.
fn under_limit() -> Evict {
    // Loads first: this runs before every command under a limit.
    if BACKGROUND.load(Relaxed) {
        BACKGROUND.store(false, Relaxed);
    }
    if NOTHING_LEFT.load(Relaxed) {
        NOTHING_LEFT.store(false, Relaxed);
    }
    update_metrics(Evict::Ok);
    Evict::Ok
}

/// How far under a `maxmemory` of `max` one eviction goes once memory is over it: 1/1024 of the
/// limit, at most 64 KiB (a few hundred small keys, 0.1% of a limit of 64 MB). The writes that
/// follow then find memory under the limit and evict nothing, instead of each evicting about
/// one key: the cost of an eviction run (reading `used_memory` again, the clock, the locks,
/// the pool's first candidates) is paid once per batch of keys. Memory never goes more over
/// the limit than one command adds.
fn eviction_slack(max: u64) -> u64 {
    (max / 1024).min(64 << 10)
}

/// Redis's performEvictions: if `used_memory` is over `maxmemory`, evict keys as the policy
/// says until it is [`eviction_slack`] under, for at most the tenacity time budget. Call with
/// the keyspace gate held (shared or exclusive) so no eviction happens inside another client's
/// EXEC. Fires the `evicted` event for every key and counts `evicted_keys`.
pub fn perform_evictions(shared: &Shared) -> Evict {
    let max = shared.config.maxmemory();
    let used = if max == 0 { 0 } else { used_memory_for_eviction(shared) };
    if used <= max {
        return under_limit();
    }
    let params = eviction_params(shared);
    if params.policy == Policy::NoEviction {
        update_metrics(Evict::Fail);
        return Evict::Fail;
    }
    // Another thread is evicting: it frees what it measured; this command goes ahead, as
    // Redis lets commands run while its eviction continues in the background.
    let Some(_evicting) = EVICTING.try_lock() else {
        return if NOTHING_LEFT.load(Relaxed) { Evict::Fail } else { Evict::Running };
    };
    let used = used_memory_for_eviction(shared);
    if used <= max {
        return under_limit();
    }
    let limit = evict::time_limit(shared.config.maxmemory_eviction_tenacity());
    let acc = Access { now_ms: unix_ms(), touch: Touch::None };
    let target = max - eviction_slack(max);
    let budget = evict::Budget { to_free: used - target, time: limit };
    let run = EVICTOR.with(|ev| {
        let mut ev = ev.try_borrow_mut().ok()?;
        Some(ev.run(
            &shared.keyspace,
            &params,
            &acc,
            budget,
            || used_memory_for_eviction(shared) <= target,
            |db, key| {
                crate::propagate::deleted_later(shared, db, key, true);
                keyspace_event_db(shared, db, class::EVICTED, "evicted", key)
            },
        ))
    });
    crate::propagate::flush_deleted(shared);
    // Only a re-entrant call finds the evictor busy: the outer call is evicting.
    let Some(run) = run else { return Evict::Running };
    // Clients caching the evicted keys hear of it now (before the command that evicted).
    crate::tracking::drain_background(shared);
    shared.stats.evicted_keys.fetch_add(run.keys, Relaxed);
    let result = match run.outcome {
        Outcome::Freed if BACKGROUND.load(Relaxed) => Evict::Running,
        Outcome::Freed => Evict::Ok,
        Outcome::TimedOut => {
            BACKGROUND.store(true, Relaxed);
            Evict::Running
        }
        Outcome::NothingToEvict => {
            // Values may still be on their way out on the lazy-free thread.
            if lazyfree::pending_objects() > 0 {
                lazyfree::wait_idle(limit.min(Duration::from_millis(1)));
            }
            if used_memory_for_eviction(shared) <= max {
                Evict::Ok
            } else {
                Evict::Fail
            }
        }
    };
    NOTHING_LEFT.store(result == Evict::Fail, Relaxed);
    update_metrics(result);
    result
}

/// How often the background evictor looks at the allocator's free dirty pages.
const DIRTY_CHECK: Duration = Duration::from_millis(100);

/// Free pages the allocator may keep, under a `maxmemory` of `max`, before the background
/// evictor returns them to the system: 1/64 of the limit, at least 1 MiB.
fn dirty_allowance(max: u64) -> u64 {
    (max / 64).max(1 << 20)
}

/// Under a `maxmemory`, return the allocator's free dirty pages to the system once they exceed
/// [`dirty_allowance`] (as MEMORY PURGE does), so that RSS follows what eviction freed instead
/// of jemalloc's 10 s decay (which, with `jemalloc-bg-thread no`, only advances when the
/// allocator is busy). This is what keeps RSS near the limit after churn: slabs that eviction
/// emptied are released within [`DIRTY_CHECK`]. Reads the cron's latest allocator sample.
fn return_dirty_pages(max: u64) {
    if max == 0 {
        return;
    }
    let s = allocator::latest(unix_ms());
    if s.dirty() > dirty_allowance(max) && allocator::purge() {
        allocator::refresh(unix_ms());
    }
}

/// The background evictor: a thread (`brim-evict`) that checks every 10 ms whether memory is
/// over `maxmemory`, and evicts in slices of the tenacity time budget (releasing the keyspace
/// gate between slices, so clients keep being served) when commands are not doing it
/// themselves: after `CONFIG SET maxmemory` below the usage, after a command's eviction ran out
/// of time (Redis's eviction time proc), or when memory has stayed over the limit for 100 ms
/// with no command evicting. It also closes the over-the-limit timer when memory comes back
/// under without any command running, and returns the allocator's free pages to the system
/// when a `maxmemory` is set ([`return_dirty_pages`]).
pub fn start_background_eviction(shared: Arc<Shared>) -> std::io::Result<()> {
    std::thread::Builder::new().name("brim-evict".into()).spawn(move || {
        let mut last_max = shared.config.maxmemory();
        let mut lowered = false;
        let mut over_since: Option<Instant> = None;
        let mut dirty_checked = Instant::now();
        loop {
            let max = shared.config.maxmemory();
            if dirty_checked.elapsed() >= DIRTY_CHECK {
                dirty_checked = Instant::now();
                return_dirty_pages(max);
            }
            if max != 0 && (last_max == 0 || max < last_max) {
                lowered = true;
            }
            last_max = max;
            if max == 0 || used_memory_for_eviction(&shared) <= max {
                lowered = false;
                over_since = None;
                under_limit();
                std::thread::sleep(Duration::from_millis(10));
                continue;
            }
            let since = *over_since.get_or_insert_with(Instant::now);
            let stuck = since.elapsed() >= Duration::from_millis(100);
            if !(lowered || stuck || BACKGROUND.load(Relaxed)) {
                std::thread::sleep(Duration::from_millis(10));
                continue;
            }
            let result = {
                let _gate = shared.keyspace.shared();
                perform_evictions(&shared)
            };
            match result {
                Evict::Running => std::thread::sleep(Duration::from_micros(200)),
                Evict::Ok => {
                    lowered = false;
                    over_since = None;
                    std::thread::sleep(Duration::from_millis(1));
                }
                Evict::Fail => {
                    lowered = false;
                    std::thread::sleep(Duration::from_millis(10));
                }
            }
        }
    })?;
    Ok(())
}

/// Redis's redisMemOverhead: where the memory goes, for INFO memory, MEMORY STATS and
/// MEMORY DOCTOR.
#[derive(Debug, Clone, Default)]
pub struct Overhead {
    /// Peak `used_memory`.
    pub peak_allocated: u64,
    /// `used_memory` now.
    pub total_allocated: u64,
    /// `used_memory` right after start-up.
    pub startup_allocated: u64,
    /// Replication backlog (none yet).
    pub repl_backlog: u64,
    /// Replica client buffers (none yet).
    pub clients_slaves: u64,
    /// Normal clients' buffers and state.
    pub clients_normal: u64,
    /// Cluster links (none).
    pub cluster_links: u64,
    /// AOF buffer (none).
    pub aof_buffer: u64,
    /// Lua caches (none).
    pub lua_caches: u64,
    /// Function caches (none).
    pub functions_caches: u64,
    /// `(db index, key table buckets, expire list)` for each database holding keys.
    pub dbs: Vec<(usize, u64, u64)>,
    /// Sum of all overheads.
    pub overhead_total: u64,
    /// Keys in all databases.
    pub keys_count: u64,
    /// Keys with an expire time in all databases.
    pub volatile_count: u64,
    /// Net memory per key.
    pub bytes_per_key: u64,
    /// `used_memory` minus the overheads.
    pub dataset: u64,
    /// Dataset as a percentage of the net memory.
    pub dataset_perc: f32,
    /// `used_memory` as a percentage of the peak.
    pub peak_perc: f32,
    /// The allocator's latest sample.
    pub alloc: allocator::Stats,
    /// jemalloc active / allocated.
    pub allocator_frag: f32,
    /// jemalloc active - allocated.
    pub allocator_frag_bytes: i64,
    /// jemalloc resident / active.
    pub allocator_rss: f32,
    /// jemalloc resident - active.
    pub allocator_rss_bytes: i64,
    /// Process RSS / jemalloc resident.
    pub rss_extra: f32,
    /// Process RSS - jemalloc resident.
    pub rss_extra_bytes: i64,
    /// Process RSS / `used_memory` (both from the latest sample).
    pub total_frag: f32,
    /// Process RSS - `used_memory` (both from the latest sample).
    pub total_frag_bytes: i64,
}

fn ratio(a: u64, b: u64) -> f32 {
    if b == 0 {
        0.0
    } else {
        a as f32 / b as f32
    }
}

/// Sum of the normal clients' memory (what each connection publishes in `tot_mem`).
pub fn clients_normal_memory(shared: &Shared) -> u64 {
    shared.clients.lock().values().map(|c| c.tot_mem.load(Relaxed) as u64).sum()
}

/// Compute where the memory goes (Redis's getMemoryOverheadData).
pub fn overhead(shared: &Shared, now_ms: i64) -> Overhead {
    let used = shared.sample_memory();
    let mut mh = Overhead {
        peak_allocated: shared.peak_memory.load(Relaxed).max(used),
        total_allocated: used,
        startup_allocated: shared.startup_memory.load(Relaxed),
        clients_normal: clients_normal_memory(shared),
        aof_buffer: crate::persistence::aof::buffer_memory(),
        alloc: allocator::latest(now_ms),
        ..Overhead::default()
    };
    let mut total = mh.startup_allocated
        + mh.repl_backlog
        + mh.clients_slaves
        + mh.clients_normal
        + mh.cluster_links
        + mh.aof_buffer
        + mh.lua_caches
        + mh.functions_caches;
    for (i, db) in shared.keyspace.dbs().iter().enumerate() {
        let keys = db.len() as u64;
        if keys == 0 {
            continue;
        }
        mh.keys_count += keys;
        mh.volatile_count += db.volatile_len() as u64;
        let (main, expires) = db.overhead_parts();
        mh.dbs.push((i, main as u64, expires as u64));
        total += main as u64 + expires as u64;
    }
    mh.overhead_total = total;
    mh.dataset = used.saturating_sub(total);
    mh.peak_perc = used as f32 * 100.0 / mh.peak_allocated.max(1) as f32;
    let net = if used > mh.startup_allocated { used - mh.startup_allocated } else { 1 };
    mh.dataset_perc = mh.dataset as f32 * 100.0 / net as f32;
    mh.bytes_per_key = net.checked_div(mh.keys_count).unwrap_or(0);
    let a = &mh.alloc;
    mh.allocator_frag = ratio(a.active, a.allocated);
    mh.allocator_frag_bytes = a.active as i64 - a.allocated as i64;
    mh.allocator_rss = ratio(a.resident, a.active);
    mh.allocator_rss_bytes = a.resident as i64 - a.active as i64;
    mh.rss_extra = ratio(a.rss, a.resident);
    mh.rss_extra_bytes = a.rss as i64 - a.resident as i64;
    mh.total_frag = ratio(a.rss, a.used_memory);
    mh.total_frag_bytes = a.rss as i64 - a.used_memory as i64;
    mh
}

/// MEMORY USAGE key [SAMPLES count]: the bytes the key costs in Brim (its entry's size
/// class, its value's own allocations, its share of the key table), found without touching
/// or expiring it, as Redis's dbFind. Brim computes collections exactly, so SAMPLES is
/// checked and accepted but not needed.
fn usage(ctx: &mut Ctx, args: &[&[u8]]) {
    let mut j = 3;
    while j < args.len() {
        if is(args[j], "samples") && j + 1 < args.len() {
            match parse_i64(args[j + 1]) {
                None => return ctx.error(NOT_INTEGER),
                Some(n) if n < 0 => return ctx.error(SYNTAX),
                Some(_) => {}
            }
            j += 2;
        } else {
            return ctx.error(SYNTAX);
        }
    }
    let key = args[2];
    let bytes = ctx.db().lock(key).peek(key).map(|e| e.memory_usage());
    match bytes {
        Some(n) => ctx.out.int(n as i64),
        None => ctx.out.null(),
    }
}

/// MEMORY STATS: Redis 7.0's map, same names and order.
fn stats(ctx: &mut Ctx, _args: &[&[u8]]) {
    let mh = overhead(ctx.shared, ctx.acc.now_ms);
    let out = &mut *ctx.out;
    out.map(27 + mh.dbs.len());
    let int = |out: &mut brim_resp::Reply, name: &str, v: i64| {
        out.bulk(name.as_bytes());
        out.int(v);
    };
    int(out, "peak.allocated", mh.peak_allocated as i64);
    int(out, "total.allocated", mh.total_allocated as i64);
    int(out, "startup.allocated", mh.startup_allocated as i64);
    int(out, "replication.backlog", mh.repl_backlog as i64);
    int(out, "clients.slaves", mh.clients_slaves as i64);
    int(out, "clients.normal", mh.clients_normal as i64);
    int(out, "cluster.links", mh.cluster_links as i64);
    int(out, "aof.buffer", mh.aof_buffer as i64);
    int(out, "lua.caches", mh.lua_caches as i64);
    int(out, "functions.caches", mh.functions_caches as i64);
    for &(i, main, expires) in &mh.dbs {
        out.bulk(format!("db.{i}").as_bytes());
        out.map(3);
        int(out, "overhead.hashtable.main", main as i64);
        int(out, "overhead.hashtable.expires", expires as i64);
        int(out, "overhead.hashtable.slot-to-keys", 0);
    }
    int(out, "overhead.total", mh.overhead_total as i64);
    int(out, "keys.count", mh.keys_count as i64);
    int(out, "keys.bytes-per-key", mh.bytes_per_key as i64);
    int(out, "dataset.bytes", mh.dataset as i64);
    out.bulk(b"dataset.percentage");
    out.double(mh.dataset_perc as f64);
    out.bulk(b"peak.percentage");
    out.double(mh.peak_perc as f64);
    int(out, "allocator.allocated", mh.alloc.allocated as i64);
    int(out, "allocator.active", mh.alloc.active as i64);
    int(out, "allocator.resident", mh.alloc.resident as i64);
    out.bulk(b"allocator-fragmentation.ratio");
    out.double(mh.allocator_frag as f64);
    int(out, "allocator-fragmentation.bytes", mh.allocator_frag_bytes);
    out.bulk(b"allocator-rss.ratio");
    out.double(mh.allocator_rss as f64);
    int(out, "allocator-rss.bytes", mh.allocator_rss_bytes);
    out.bulk(b"rss-overhead.ratio");
    out.double(mh.rss_extra as f64);
    int(out, "rss-overhead.bytes", mh.rss_extra_bytes);
    out.bulk(b"fragmentation");
    out.double(mh.total_frag as f64);
    int(out, "fragmentation.bytes", mh.total_frag_bytes);
}

/// At most this many keys are measured by MEMORY DOCTOR's big-key search.
const DOCTOR_KEY_BUDGET: usize = 200_000;
/// Big keys listed by MEMORY DOCTOR.
const DOCTOR_TOP_KEYS: usize = 5;

/// The biggest keys: `(bytes, db, key)` descending, plus how many keys were measured.
fn biggest_keys(shared: &Shared, now_ms: i64) -> (Vec<(usize, usize, Vec<u8>)>, usize) {
    let acc = Access::at(now_ms).no_touch();
    let mut top: Vec<(usize, usize, Vec<u8>)> = Vec::new();
    let mut seen = 0usize;
    'dbs: for (i, db) in shared.keyspace.dbs().iter().enumerate() {
        for s in 0..db.stripe_count() {
            if seen >= DOCTOR_KEY_BUDGET {
                break 'dbs;
            }
            let stripe = db.lock_stripe(s);
            stripe.for_each(&acc, |e| {
                seen += 1;
                let bytes = e.memory_usage();
                if top.len() < DOCTOR_TOP_KEYS || top.last().is_some_and(|t| t.0 < bytes) {
                    let pos = top.partition_point(|t| t.0 >= bytes);
                    top.insert(pos, (bytes, i, e.key().to_vec()));
                    top.truncate(DOCTOR_TOP_KEYS);
                }
            });
        }
    }
    (top, seen)
}

fn quote(key: &[u8]) -> String {
    crate::dispatch::repr(&key[..key.len().min(64)])
}

/// MEMORY DOCTOR's report: Redis's framing, with Brim's diagnosis naming the cause and the
/// numbers (noeviction under pressure, a volatile policy without keys to evict, big keys,
/// client buffers, fragmentation, the peak).
pub fn doctor_report(shared: &Shared, now_ms: i64) -> String {
    let mh = overhead(shared, now_ms);
    let cfg = &shared.config;
    let used = mh.total_allocated;
    let max = cfg.maxmemory();
    let policy = cfg.maxmemory_policy();
    let pct = |a: u64, b: u64| if b == 0 { 0.0 } else { a as f64 * 100.0 / b as f64 };
    let mut issues: Vec<String> = Vec::new();
    let oom_refused = shared.stats.errorstats.lock().get("OOM").copied().unwrap_or(0);
    let (exceeded_total, exceeded_now) = eviction_exceeded_ms();

    if max > 0 && policy.as_str() == "noeviction" && (used * 10 >= max * 9 || oom_refused > 0) {
        issues.push(format!(
            "Writes are being refused: maxmemory-policy is noeviction and used_memory is {} ({:.1}% of \
             maxmemory {}). {} command(s) were refused with OOM so far; memory has been over the limit for \
             {} ms in total ({} ms now). Delete or expire keys, raise maxmemory, or choose an evicting policy \
             (allkeys-lru, allkeys-lfu) if this is a cache.",
            bytes_to_human(used),
            pct(used, max),
            bytes_to_human(max),
            oom_refused,
            exceeded_total,
            exceeded_now
        ));
    }
    if max > 0 && policy.is_volatile() && mh.keys_count > 0 && mh.volatile_count * 10 < mh.keys_count {
        issues.push(format!(
            "maxmemory-policy is {} but only {} of {} keys ({:.1}%) have an expire time: only those can be \
             evicted, so once they are gone writes fail with OOM although {} of memory is held by keys \
             without a TTL. Set TTLs on cache keys or use an allkeys-* policy.",
            policy.as_str(),
            mh.volatile_count,
            mh.keys_count,
            pct(mh.volatile_count, mh.keys_count),
            bytes_to_human(mh.dataset)
        ));
    }
    if mh.dataset >= 1 << 20 {
        let (top, seen) = biggest_keys(shared, now_ms);
        let top_sum: usize = top.iter().map(|t| t.0).sum();
        if top_sum as u64 * 2 >= mh.dataset {
            let list: Vec<String> = top
                .iter()
                .map(|(b, db, k)| {
                    format!(
                        "{} in db {db} ({}, {:.1}%)",
                        quote(k),
                        bytes_to_human(*b as u64),
                        pct(*b as u64, mh.dataset)
                    )
                })
                .collect();
            let scope = if (seen as u64) < mh.keys_count {
                format!(" (measured {seen} of {} keys)", mh.keys_count)
            } else {
                String::new()
            };
            issues.push(format!(
                "A few big keys hold most of the data: {} of the {} dataset{scope} is in {}. Check that they \
                 are meant to be this big; evicting or deleting one frees a lot at once.",
                bytes_to_human(top_sum as u64),
                bytes_to_human(mh.dataset),
                list.join(", ")
            ));
        }
    }
    let client_threshold = (used / 4).max(32 << 20);
    if mh.clients_normal > client_threshold {
        let clients = shared.clients.lock();
        let biggest = clients.values().max_by_key(|c| c.tot_mem.load(Relaxed));
        let who = biggest
            .map(|c| {
                format!(
                    "; the biggest is id={} addr={} with {} (query buffer {}, output {})",
                    c.id,
                    c.addr,
                    bytes_to_human(c.tot_mem.load(Relaxed) as u64),
                    bytes_to_human(c.qbuf.load(Relaxed) as u64),
                    bytes_to_human((c.obl.load(Relaxed) + c.omem.load(Relaxed)) as u64)
                )
            })
            .unwrap_or_default();
        issues.push(format!(
            "Client buffers use {} ({:.1}% of used_memory) across {} clients{who}. Big replies (KEYS, HGETALL of \
             big hashes) or slow readers hold memory that counts toward maxmemory: consider \
             client-output-buffer-limit and maxmemory-clients.",
            bytes_to_human(mh.clients_normal),
            pct(mh.clients_normal, used),
            clients.len()
        ));
    }
    let a = &mh.alloc;
    if a.used_memory > 0 && mh.total_frag > 1.4 && mh.total_frag_bytes > 10 << 20 {
        issues.push(format!(
            "RSS is {} for {} of used_memory (fragmentation ratio {:.2}, {} more). jemalloc holds {} in active \
             pages for {} allocated (ratio {:.2}) and {} resident (ratio {:.2} of active). If memory was freed \
             after a peak, MEMORY PURGE returns the dirty pages to the system.",
            bytes_to_human(a.rss),
            bytes_to_human(a.used_memory),
            mh.total_frag,
            bytes_to_human(mh.total_frag_bytes.max(0) as u64),
            bytes_to_human(a.active),
            bytes_to_human(a.allocated),
            mh.allocator_frag,
            bytes_to_human(a.resident),
            mh.allocator_rss
        ));
    }
    if mh.peak_allocated as f64 > used as f64 * 1.5 && mh.peak_allocated > 5 << 20 {
        let at = shared.peak_time_ms.load(Relaxed);
        issues.push(format!(
            "The peak memory usage was {} at unix time {} ({} s ago), {:.0}% more than the {} used now; RSS and \
             fragmentation figures reflect that peak until the allocator reuses or returns the pages.",
            bytes_to_human(mh.peak_allocated),
            at / 1000,
            (now_ms - at).max(0) / 1000,
            pct(mh.peak_allocated - used, used),
            bytes_to_human(used)
        ));
    }
    if issues.is_empty() {
        if used < 5 << 20 {
            return "Hi Sam, this instance is empty or is using very little memory, my issues detector can't be \
                    used in these conditions. Please, leave for your mission on Earth and fill it with some \
                    data. The new Sam and I will be back to our programming as soon as I finished rebooting.\n"
                .to_string();
        }
        return format!(
            "Hi Sam, I can't find any memory issue in your instance. I can only account for what occurs on this \
             base. (used_memory {}, {} keys, {} per key, RSS {}.)\n",
            bytes_to_human(used),
            mh.keys_count,
            bytes_to_human(mh.bytes_per_key),
            bytes_to_human(a.rss)
        );
    }
    let mut s = String::from("Sam, I detected a few issues in this Brim instance memory implants:\n\n");
    for i in issues {
        s.push_str(" * ");
        s.push_str(&i);
        s.push_str("\n\n");
    }
    s.push_str("I'm here to keep you safe, Sam. I want to help you.\n");
    s
}

/// MEMORY DOCTOR.
fn doctor(ctx: &mut Ctx, _args: &[&[u8]]) {
    let report = doctor_report(ctx.shared, ctx.acc.now_ms);
    ctx.out.verbatim("txt", report.as_bytes());
}

/// MEMORY MALLOC-STATS: jemalloc's statistics report.
fn malloc_stats(ctx: &mut Ctx, _args: &[&[u8]]) {
    let text = allocator::malloc_stats_text();
    ctx.out.verbatim("txt", text.as_bytes());
}

/// MEMORY PURGE: give the allocator's dirty pages back to the system.
fn purge(ctx: &mut Ctx, _args: &[&[u8]]) {
    if allocator::purge() {
        allocator::refresh(ctx.acc.now_ms);
        ctx.out.ok();
    } else {
        ctx.error("ERR Error purging dirty pages");
    }
}

/// MEMORY HELP.
fn help(ctx: &mut Ctx, _args: &[&[u8]]) {
    ctx.help(
        "MEMORY",
        &[
            "DOCTOR",
            "    Return memory problems reports.",
            "MALLOC-STATS",
            "    Return internal statistics report from the memory allocator.",
            "PURGE",
            "    Attempt to purge dirty pages for reclamation by the allocator.",
            "STATS",
            "    Return information about the memory usage of the server.",
            "USAGE <key> [SAMPLES <count>]",
            "    Return memory in bytes used by <key> and its value. Nested values are",
            "    sampled up to <count> times (default: 5, 0 means sample all).",
        ],
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eviction_goes_a_little_under_the_limit() {
        assert_eq!(eviction_slack(0), 0);
        assert_eq!(eviction_slack(1 << 20), 1 << 10);
        assert_eq!(eviction_slack(64 << 20), 64 << 10);
        assert_eq!(eviction_slack(1 << 40), 64 << 10);
    }
}
