//! INFO: the sections, field names and order of Redis 7.0.15, filled from the shared state,
//! the workers' counters, the allocator and the operating system.

use std::fmt::Write as _;
use std::sync::atomic::Ordering::Relaxed;

use brim_engine::Access;
use parking_lot::Mutex;

use crate::ctx::Ctx;
use crate::shared::{unix_ms, unix_us, Shared};

/// A set of INFO sections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sections(u32);

const SERVER: u32 = 1 << 0;
const CLIENTS: u32 = 1 << 1;
const MEMORY: u32 = 1 << 2;
const PERSISTENCE: u32 = 1 << 3;
const STATS: u32 = 1 << 4;
const REPLICATION: u32 = 1 << 5;
const CPU: u32 = 1 << 6;
const MODULES: u32 = 1 << 7;
const COMMANDSTATS: u32 = 1 << 8;
const ERRORSTATS: u32 = 1 << 9;
const LATENCYSTATS: u32 = 1 << 10;
const CLUSTER: u32 = 1 << 11;
const KEYSPACE: u32 = 1 << 12;
/// Redis 8's section: only when asked for by name (see `brim_engine::keysizes`).
const KEYSIZES: u32 = 1 << 13;

const NAMES: [(&str, u32); 14] = [
    ("server", SERVER),
    ("clients", CLIENTS),
    ("memory", MEMORY),
    ("persistence", PERSISTENCE),
    ("stats", STATS),
    ("replication", REPLICATION),
    ("cpu", CPU),
    ("modules", MODULES),
    ("commandstats", COMMANDSTATS),
    ("errorstats", ERRORSTATS),
    ("latencystats", LATENCYSTATS),
    ("cluster", CLUSTER),
    ("keyspace", KEYSPACE),
    ("keysizes", KEYSIZES),
];

impl Sections {
    /// What INFO without arguments (or `default`) shows.
    pub const DEFAULT: Sections = Sections(
        SERVER
            | CLIENTS
            | MEMORY
            | PERSISTENCE
            | STATS
            | REPLICATION
            | CPU
            | MODULES
            | ERRORSTATS
            | CLUSTER
            | KEYSPACE,
    );
    /// `all` (and `everything`: Brim has no module-generated sections).
    pub const ALL: Sections = Sections((1 << 13) - 1);

    /// The sections INFO's arguments ask for: names are case-insensitive, unknown ones are
    /// ignored, no argument means `default`.
    pub fn parse(args: &[&[u8]]) -> Sections {
        if args.is_empty() {
            return Sections::DEFAULT;
        }
        let mut bits = 0;
        for a in args {
            let lower = a.to_ascii_lowercase();
            match &lower[..] {
                b"default" => bits |= Sections::DEFAULT.0,
                b"all" | b"everything" => bits |= Sections::ALL.0,
                name => {
                    if let Some((_, b)) = NAMES.iter().find(|(n, _)| n.as_bytes() == name) {
                        bits |= b;
                    }
                }
            }
        }
        Sections(bits)
    }

    fn has(self, bit: u32) -> bool {
        self.0 & bit != 0
    }
}

/// INFO [section ...].
pub(super) fn info(ctx: &mut Ctx, args: &[&[u8]]) {
    let text = info_string(ctx.shared, Sections::parse(&args[1..]), ctx.acc.now_ms);
    ctx.out.verbatim("txt", text.as_bytes());
}

/// Writes one section's header and fields.
type SectionWriter = fn(&Shared, i64, &mut String);

/// The INFO text for `sections`, as Redis 7.0.15 lays it out.
pub fn info_string(shared: &Shared, sections: Sections, now_ms: i64) -> String {
    let mut out = String::with_capacity(4096);
    let mut first = true;
    let parts: [(u32, SectionWriter); 14] = [
        (SERVER, server),
        (CLIENTS, clients),
        (MEMORY, memory),
        (PERSISTENCE, persistence),
        (STATS, stats),
        (REPLICATION, replication),
        (CPU, cpu),
        (MODULES, modules),
        (COMMANDSTATS, commandstats),
        (ERRORSTATS, errorstats),
        (LATENCYSTATS, latencystats),
        (CLUSTER, cluster),
        (KEYSPACE, keyspace),
        (KEYSIZES, keysizes),
    ];
    for (bit, write) in parts {
        if sections.has(bit) {
            if !first {
                out.push_str("\r\n");
            }
            first = false;
            write(shared, now_ms, &mut out);
        }
    }
    out
}

/// Append `name:value\r\n`.
macro_rules! field {
    ($out:expr, $name:expr, $($arg:tt)*) => {{
        let _ = write!($out, "{}:", $name);
        let _ = write!($out, $($arg)*);
        $out.push_str("\r\n");
    }};
}

/// Redis's bytesToHuman.
pub fn bytes_to_human(n: u64) -> String {
    const UNITS: [(&str, u32); 5] = [("K", 1), ("M", 2), ("G", 3), ("T", 4), ("P", 5)];
    if n < 1024 {
        return format!("{n}B");
    }
    for (unit, p) in UNITS {
        if (n as u128) < 1u128 << (10 * (p + 1)) {
            return format!("{:.2}{unit}", n as f64 / (1u64 << (10 * p)) as f64);
        }
    }
    format!("{n}B")
}

fn build_id() -> u64 {
    // FNV-1a of the version: stable per release, like Redis's build id.
    env!("CARGO_PKG_VERSION")
        .bytes()
        .fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ b as u64).wrapping_mul(0x0100_0000_01b3))
}

fn uname() -> String {
    // SAFETY: utsname is plain old data; uname fills it with NUL-terminated strings.
    unsafe {
        let mut u: libc::utsname = std::mem::zeroed();
        if libc::uname(&mut u) != 0 {
            return String::new();
        }
        let s = |f: &[libc::c_char]| std::ffi::CStr::from_ptr(f.as_ptr()).to_string_lossy().into_owned();
        format!("{} {} {}", s(&u.sysname), s(&u.release), s(&u.machine))
    }
}

fn server(shared: &Shared, now_ms: i64, out: &mut String) {
    let cfg = &shared.config;
    let uptime = shared.started.elapsed().as_secs();
    out.push_str("# Server\r\n");
    field!(out, "redis_version", "{}", brim_config::REDIS_VERSION);
    field!(out, "brim_version", "{}", env!("CARGO_PKG_VERSION"));
    field!(out, "redis_git_sha1", "00000000");
    field!(out, "redis_git_dirty", "0");
    field!(out, "redis_build_id", "{:x}", build_id());
    field!(out, "redis_mode", "{}", if cfg.cluster_enabled() { "cluster" } else { "standalone" });
    field!(out, "os", "{}", uname());
    field!(out, "arch_bits", "{}", usize::BITS);
    field!(out, "monotonic_clock", "POSIX clock_gettime");
    field!(out, "multiplexing_api", "epoll");
    field!(out, "atomicvar_api", "c11-builtin");
    field!(out, "gcc_version", "0.0.0");
    field!(out, "process_id", "{}", std::process::id());
    field!(out, "process_supervised", "no");
    field!(out, "run_id", "{}", shared.run_id);
    field!(out, "tcp_port", "{}", shared.port.load(Relaxed));
    field!(out, "server_time_usec", "{}", unix_us());
    field!(out, "uptime_in_seconds", "{uptime}");
    field!(out, "uptime_in_days", "{}", uptime / 86_400);
    field!(out, "hz", "{}", cfg.hz());
    field!(out, "configured_hz", "{}", cfg.hz());
    field!(out, "lru_clock", "{}", Access::at(now_ms).lru_clock());
    field!(out, "executable", "{}", shared.executable);
    field!(out, "config_file", "{}", cfg.config_file().map(|p| p.display().to_string()).unwrap_or_default());
    field!(out, "io_threads_active", "0");
}

fn clients(shared: &Shared, _now_ms: i64, out: &mut String) {
    let clients = shared.clients.lock();
    let max_in = clients.values().map(|c| c.qbuf.load(Relaxed)).max().unwrap_or(0);
    let max_out = clients.values().map(|c| c.obl.load(Relaxed)).max().unwrap_or(0);
    out.push_str("# Clients\r\n");
    field!(out, "connected_clients", "{}", clients.len());
    field!(out, "cluster_connections", "0");
    field!(out, "maxclients", "{}", shared.config.maxclients());
    field!(out, "client_recent_max_input_buffer", "{max_in}");
    field!(out, "client_recent_max_output_buffer", "{max_out}");
    field!(out, "blocked_clients", "{}", shared.blocking.blocked_clients());
    field!(out, "tracking_clients", "{}", crate::tracking::info().0);
    field!(out, "clients_in_timeout_table", "{}", shared.blocking.clients_in_timeout_table());
    if let Some(per_worker) = shared.worker_clients.get() {
        let counts: Vec<String> = per_worker.iter().map(|n| n.load(Relaxed).to_string()).collect();
        field!(out, "worker_connections", "{}", counts.join(","));
    }
}

/// Resident set size of the process in bytes (0 if unknown).
pub fn rss_bytes() -> u64 {
    let Ok(statm) = std::fs::read_to_string("/proc/self/statm") else { return 0 };
    let pages: u64 = statm.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    pages * page_size()
}

fn page_size() -> u64 {
    // SAFETY: sysconf only reads a system constant.
    let n = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    if n > 0 {
        n as u64
    } else {
        4096
    }
}

fn total_system_memory() -> u64 {
    // SAFETY: sysconf only reads a system constant.
    let pages = unsafe { libc::sysconf(libc::_SC_PHYS_PAGES) };
    if pages > 0 {
        pages as u64 * page_size()
    } else {
        0
    }
}

fn memory(shared: &Shared, now_ms: i64, out: &mut String) {
    // Where the memory goes (crate::memory::overhead); RSS and the allocator's figures are
    // the cron's latest sample, refreshed every 100 ms, as Redis's cron_malloc_stats.
    let mh = crate::memory::overhead(shared, now_ms);
    let used = mh.total_allocated;
    let rss = mh.alloc.rss;
    let peak = mh.peak_allocated;
    let maxmemory = shared.config.maxmemory();
    out.push_str("# Memory\r\n");
    field!(out, "used_memory", "{used}");
    field!(out, "used_memory_human", "{}", bytes_to_human(used));
    field!(out, "used_memory_rss", "{rss}");
    field!(out, "used_memory_rss_human", "{}", bytes_to_human(rss));
    field!(out, "used_memory_peak", "{peak}");
    field!(out, "used_memory_peak_human", "{}", bytes_to_human(peak));
    // Redis 8.2's field: when the peak was reached (unix seconds).
    field!(out, "used_memory_peak_time", "{}", shared.peak_time_ms.load(Relaxed) / 1000);
    field!(out, "used_memory_peak_perc", "{:.2}%", mh.peak_perc);
    field!(out, "used_memory_overhead", "{}", mh.overhead_total);
    field!(out, "used_memory_startup", "{}", mh.startup_allocated);
    field!(out, "used_memory_dataset", "{}", mh.dataset);
    field!(out, "used_memory_dataset_perc", "{:.2}%", mh.dataset_perc);
    field!(out, "allocator_allocated", "{}", mh.alloc.allocated);
    field!(out, "allocator_active", "{}", mh.alloc.active);
    field!(out, "allocator_resident", "{}", mh.alloc.resident);
    field!(out, "total_system_memory", "{}", total_system_memory());
    field!(out, "total_system_memory_human", "{}", bytes_to_human(total_system_memory()));
    for name in ["used_memory_lua", "used_memory_vm_eval"] {
        field!(out, name, "0");
    }
    field!(out, "used_memory_lua_human", "0B");
    for name in [
        "used_memory_scripts_eval",
        "number_of_cached_scripts",
        "number_of_functions",
        "number_of_libraries",
        "used_memory_vm_functions",
        "used_memory_vm_total",
    ] {
        field!(out, name, "0");
    }
    field!(out, "used_memory_vm_total_human", "0B");
    field!(out, "used_memory_functions", "0");
    field!(out, "used_memory_scripts", "0");
    field!(out, "used_memory_scripts_human", "0B");
    field!(out, "maxmemory", "{maxmemory}");
    field!(out, "maxmemory_human", "{}", bytes_to_human(maxmemory));
    field!(out, "maxmemory_policy", "{}", shared.config.maxmemory_policy().as_str());
    field!(out, "allocator_frag_ratio", "{:.2}", mh.allocator_frag);
    field!(out, "allocator_frag_bytes", "{}", mh.allocator_frag_bytes);
    field!(out, "allocator_rss_ratio", "{:.2}", mh.allocator_rss);
    field!(out, "allocator_rss_bytes", "{}", mh.allocator_rss_bytes);
    field!(out, "rss_overhead_ratio", "{:.2}", mh.rss_extra);
    field!(out, "rss_overhead_bytes", "{}", mh.rss_extra_bytes);
    field!(out, "mem_fragmentation_ratio", "{:.2}", mh.total_frag);
    field!(out, "mem_fragmentation_bytes", "{}", mh.total_frag_bytes);
    field!(out, "mem_not_counted_for_evict", "{}", crate::memory::mem_not_counted_for_evict(shared));
    field!(out, "mem_replication_backlog", "{}", mh.repl_backlog);
    field!(out, "mem_total_replication_buffers", "0");
    field!(out, "mem_clients_slaves", "{}", mh.clients_slaves);
    field!(out, "mem_clients_normal", "{}", mh.clients_normal);
    field!(out, "mem_cluster_links", "{}", mh.cluster_links);
    field!(out, "mem_aof_buffer", "{}", mh.aof_buffer);
    field!(out, "mem_allocator", "jemalloc-5.3.0");
    field!(out, "active_defrag_running", "0");
    field!(out, "lazyfree_pending_objects", "{}", brim_engine::lazyfree::pending_objects());
    field!(out, "lazyfreed_objects", "{}", brim_engine::lazyfree::freed_objects());
}

/// Changes to the keyspace since the last save (Redis's `dirty`).
pub fn changes_since_save(shared: &Shared) -> u64 {
    let total: u64 = shared.keyspace.dbs().iter().map(|d| d.changes()).sum();
    total.saturating_sub(shared.stats.dirty_at_reset.load(Relaxed))
}

fn persistence(shared: &Shared, _now_ms: i64, out: &mut String) {
    out.push_str("# Persistence\r\n");
    let p = crate::persistence::info();
    field!(out, "loading", "{}", (p.loading || shared.loading.is_active()) as u8);
    for name in ["async_loading", "current_cow_peak", "current_cow_size", "current_cow_size_age"] {
        field!(out, name, "0");
    }
    field!(out, "current_fork_perc", "0.00");
    field!(out, "current_save_keys_processed", "{}", p.keys_processed);
    field!(out, "current_save_keys_total", "{}", p.keys_total);
    field!(out, "rdb_changes_since_last_save", "{}", changes_since_save(shared));
    field!(out, "rdb_bgsave_in_progress", "{}", p.bgsave_in_progress as u8);
    field!(out, "rdb_last_save_time", "{}", shared.lastsave.load(Relaxed));
    field!(out, "rdb_last_bgsave_status", "{}", if p.last_bgsave_ok { "ok" } else { "err" });
    field!(out, "rdb_last_bgsave_time_sec", "{}", p.last_bgsave_time_s);
    field!(out, "rdb_current_bgsave_time_sec", "{}", p.current_bgsave_time_s);
    field!(out, "rdb_saves", "{}", p.saves);
    field!(out, "rdb_last_cow_size", "{}", p.last_cow_size);
    field!(out, "rdb_last_load_keys_expired", "{}", p.last_load_keys_expired);
    field!(out, "rdb_last_load_keys_loaded", "{}", p.last_load_keys_loaded);
    crate::persistence::aof::info_fields(shared, out);
    loading_progress(shared, out);
}

/// The `loading_*` fields, while the dataset loads (Redis's genRedisInfoString).
fn loading_progress(shared: &Shared, out: &mut String) {
    if !shared.loading.is_active() {
        return;
    }
    let l = &shared.loading;
    let start = l.start_time_s.load(Relaxed);
    let total = l.progress.total_bytes.load(Relaxed);
    let loaded = l.progress.loaded_bytes.load(Relaxed);
    let elapsed = (crate::shared::unix_ms() / 1000 - start).max(0) as u64;
    let eta =
        if elapsed == 0 { 1 } else { elapsed.saturating_mul(total.saturating_sub(loaded)) / (loaded + 1) };
    field!(out, "loading_start_time", "{start}");
    field!(out, "loading_total_bytes", "{total}");
    field!(out, "loading_rdb_used_mem", "{}", l.progress.rdb_used_mem.load(Relaxed));
    field!(out, "loading_loaded_bytes", "{loaded}");
    field!(out, "loading_loaded_perc", "{:.2}", loaded as f64 / (total as f64 + 1.0) * 100.0);
    field!(out, "loading_eta_seconds", "{eta}");
}

/// Totals of the per-worker counters.
#[derive(Debug, Default, Clone, Copy)]
pub struct WorkerTotals {
    /// Commands executed.
    pub commands: u64,
    /// Keyspace hits.
    pub hits: u64,
    /// Keyspace misses.
    pub misses: u64,
    /// Bytes read from clients.
    pub net_in: u64,
    /// Bytes written to clients.
    pub net_out: u64,
}

/// Sum the counters of every worker.
pub fn worker_totals(shared: &Shared) -> WorkerTotals {
    let mut t = WorkerTotals::default();
    for w in shared.workers.lock().iter() {
        t.commands += w.commands_processed.load(Relaxed);
        t.hits += w.keyspace_hits.load(Relaxed);
        t.misses += w.keyspace_misses.load(Relaxed);
        t.net_in += w.net_input_bytes.load(Relaxed);
        t.net_out += w.net_output_bytes.load(Relaxed);
    }
    t
}

const INST_SAMPLES: usize = 16;
const INST_COMMANDS: usize = 0;
const INST_NET_INPUT: usize = 1;
const INST_NET_OUTPUT: usize = 2;

#[derive(Clone, Copy)]
struct InstMetric {
    last_time_ms: i64,
    last_count: u64,
    samples: [u64; INST_SAMPLES],
    idx: usize,
}

const EMPTY_METRIC: InstMetric =
    InstMetric { last_time_ms: 0, last_count: 0, samples: [0; INST_SAMPLES], idx: 0 };

static INSTANTANEOUS: Mutex<[InstMetric; 3]> = Mutex::new([EMPTY_METRIC; 3]);

/// Take one sample of the ops/s and network rates (Redis's trackInstantaneousMetric), at
/// most every 100 ms. The server's periodic task should call this every 100 ms; INFO calls
/// it too.
pub fn track_instantaneous_metrics(shared: &Shared) {
    let now = unix_ms();
    let totals = worker_totals(shared);
    let mut m = INSTANTANEOUS.lock();
    for (i, reading) in
        [(INST_COMMANDS, totals.commands), (INST_NET_INPUT, totals.net_in), (INST_NET_OUTPUT, totals.net_out)]
    {
        let metric = &mut m[i];
        let t = now - metric.last_time_ms;
        if metric.last_time_ms != 0 && t < 100 {
            continue;
        }
        let ops = reading.saturating_sub(metric.last_count);
        let rate = if t > 0 && metric.last_time_ms != 0 { ops.saturating_mul(1000) / t as u64 } else { 0 };
        metric.samples[metric.idx] = rate;
        metric.idx = (metric.idx + 1) % INST_SAMPLES;
        metric.last_time_ms = now;
        metric.last_count = reading;
    }
}

fn instantaneous(i: usize) -> u64 {
    INSTANTANEOUS.lock()[i].samples.iter().sum::<u64>() / INST_SAMPLES as u64
}

/// Forget the rate samples (CONFIG RESETSTAT).
pub(super) fn reset_instantaneous_metrics() {
    *INSTANTANEOUS.lock() = [EMPTY_METRIC; 3];
}

fn stats(shared: &Shared, _now_ms: i64, out: &mut String) {
    track_instantaneous_metrics(shared);
    let t = worker_totals(shared);
    let s = &shared.stats;
    out.push_str("# Stats\r\n");
    field!(out, "total_connections_received", "{}", s.total_connections_received.load(Relaxed));
    field!(out, "total_commands_processed", "{}", t.commands);
    field!(out, "instantaneous_ops_per_sec", "{}", instantaneous(INST_COMMANDS));
    field!(out, "total_net_input_bytes", "{}", t.net_in);
    field!(out, "total_net_output_bytes", "{}", t.net_out);
    field!(out, "total_net_repl_input_bytes", "0");
    field!(out, "total_net_repl_output_bytes", "0");
    field!(out, "instantaneous_input_kbps", "{:.2}", instantaneous(INST_NET_INPUT) as f32 / 1024.0);
    field!(out, "instantaneous_output_kbps", "{:.2}", instantaneous(INST_NET_OUTPUT) as f32 / 1024.0);
    field!(out, "instantaneous_input_repl_kbps", "0.00");
    field!(out, "instantaneous_output_repl_kbps", "0.00");
    field!(out, "rejected_connections", "{}", s.rejected_connections.load(Relaxed));
    field!(out, "sync_full", "0");
    field!(out, "sync_partial_ok", "0");
    field!(out, "sync_partial_err", "0");
    field!(out, "expired_keys", "{}", brim_engine::stripe::EXPIRED_KEYS.load(Relaxed));
    let ex = &brim_engine::expire::STATS;
    field!(out, "expired_stale_perc", "{:.2}", ex.stale_perc());
    field!(out, "expired_time_cap_reached_count", "{}", ex.time_cap_reached());
    field!(out, "expire_cycle_cpu_milliseconds", "{}", ex.cpu_ms());
    field!(out, "evicted_keys", "{}", s.evicted_keys.load(Relaxed));
    field!(out, "evicted_clients", "{}", s.evicted_clients.load(Relaxed));
    let (exceeded_total, exceeded_now) = crate::memory::eviction_exceeded_ms();
    field!(out, "total_eviction_exceeded_time", "{exceeded_total}");
    field!(out, "current_eviction_exceeded_time", "{exceeded_now}");
    field!(out, "keyspace_hits", "{}", t.hits);
    field!(out, "keyspace_misses", "{}", t.misses);
    field!(out, "pubsub_channels", "{}", shared.pubsub.channel_count());
    field!(out, "pubsub_patterns", "{}", shared.pubsub.pattern_count());
    field!(out, "pubsubshard_channels", "{}", shared.pubsub.shard_channel_count());
    for name in [
        "latest_fork_usec",
        "total_forks",
        "migrate_cached_sockets",
        "slave_expires_tracked_keys",
        "active_defrag_hits",
        "active_defrag_misses",
        "active_defrag_key_hits",
        "active_defrag_key_misses",
        "total_active_defrag_time",
        "current_active_defrag_time",
    ] {
        field!(out, name, "0");
    }
    let (_, keys, items, prefixes) = crate::tracking::info();
    field!(out, "tracking_total_keys", "{keys}");
    field!(out, "tracking_total_items", "{items}");
    field!(out, "tracking_total_prefixes", "{prefixes}");
    field!(out, "unexpected_error_replies", "{}", s.unexpected_error_replies.load(Relaxed));
    field!(out, "total_error_replies", "{}", s.total_error_replies.load(Relaxed));
    for name in [
        "dump_payload_sanitizations",
        "total_reads_processed",
        "total_writes_processed",
        "io_threaded_reads_processed",
        "io_threaded_writes_processed",
        "reply_buffer_shrinks",
        "reply_buffer_expands",
    ] {
        field!(out, name, "0");
    }
    field!(out, "hot_key_client_moves", "{}", s.hot_key_client_moves.load(Relaxed));
    field!(out, "balance_client_moves", "{}", s.balance_client_moves.load(Relaxed));
}

static REPLID: std::sync::OnceLock<String> = std::sync::OnceLock::new();

fn replication(shared: &Shared, _now_ms: i64, out: &mut String) {
    out.push_str("# Replication\r\n");
    field!(out, "role", "master");
    field!(out, "connected_slaves", "0");
    field!(out, "master_failover_state", "no-failover");
    field!(out, "master_replid", "{}", REPLID.get_or_init(|| crate::shared::random_hex(40)));
    field!(out, "master_replid2", "{}", "0".repeat(40));
    field!(out, "master_repl_offset", "0");
    field!(out, "second_repl_offset", "-1");
    field!(out, "repl_backlog_active", "0");
    field!(out, "repl_backlog_size", "{}", shared.config.repl_backlog_size());
    field!(out, "repl_backlog_first_byte_offset", "0");
    field!(out, "repl_backlog_histlen", "0");
}

fn rusage(who: libc::c_int) -> (String, String) {
    // SAFETY: rusage is plain old data filled by getrusage.
    let ru = unsafe {
        let mut ru: libc::rusage = std::mem::zeroed();
        if libc::getrusage(who, &mut ru) != 0 {
            return ("0.000000".into(), "0.000000".into());
        }
        ru
    };
    let tv = |t: libc::timeval| format!("{}.{:06}", t.tv_sec, t.tv_usec);
    (tv(ru.ru_stime), tv(ru.ru_utime))
}

fn cpu(_shared: &Shared, _now_ms: i64, out: &mut String) {
    let (sys, user) = rusage(libc::RUSAGE_SELF);
    let (csys, cuser) = rusage(libc::RUSAGE_CHILDREN);
    let (tsys, tuser) = rusage(libc::RUSAGE_THREAD);
    out.push_str("# CPU\r\n");
    field!(out, "used_cpu_sys", "{sys}");
    field!(out, "used_cpu_user", "{user}");
    field!(out, "used_cpu_sys_children", "{csys}");
    field!(out, "used_cpu_user_children", "{cuser}");
    field!(out, "used_cpu_sys_main_thread", "{tsys}");
    field!(out, "used_cpu_user_main_thread", "{tuser}");
}

fn modules(_shared: &Shared, _now_ms: i64, out: &mut String) {
    out.push_str("# Modules\r\n");
}

fn commandstats(shared: &Shared, _now_ms: i64, out: &mut String) {
    out.push_str("# Commandstats\r\n");
    let workers = shared.workers.lock();
    let mut rows: Vec<(String, [u64; 4])> = Vec::new();
    for c in shared.table.iter_all() {
        let mut sum = [0u64; 4];
        for w in workers.iter() {
            if let Some(s) = w.commands.get(c.id) {
                sum[0] += s.calls.load(Relaxed);
                sum[1] += s.usec.load(Relaxed);
                sum[2] += s.rejected.load(Relaxed);
                sum[3] += s.failed.load(Relaxed);
            }
        }
        if sum[0] != 0 || sum[2] != 0 || sum[3] != 0 {
            rows.push((c.full_name(), sum));
        }
    }
    drop(workers);
    rows.sort_by(|a, b| a.0.cmp(&b.0));
    for (name, [calls, usec, rejected, failed]) in rows {
        let per_call = if calls == 0 { 0.0 } else { usec as f32 / calls as f32 };
        field!(
            out,
            format_args!("cmdstat_{name}"),
            "calls={calls},usec={usec},usec_per_call={per_call:.2},rejected_calls={rejected},failed_calls={failed}"
        );
    }
}

fn errorstats(shared: &Shared, _now_ms: i64, out: &mut String) {
    out.push_str("# Errorstats\r\n");
    let mut rows: Vec<(String, u64)> =
        shared.stats.errorstats.lock().iter().map(|(k, v)| (k.clone(), *v)).collect();
    rows.sort();
    for (code, count) in rows {
        field!(out, format_args!("errorstat_{code}"), "count={count}");
    }
}

fn latencystats(_shared: &Shared, _now_ms: i64, out: &mut String) {
    // Brim keeps no per-command latency histograms yet.
    out.push_str("# Latencystats\r\n");
}

fn cluster(shared: &Shared, _now_ms: i64, out: &mut String) {
    out.push_str("# Cluster\r\n");
    field!(out, "cluster_enabled", "{}", shared.config.cluster_enabled() as u8);
}

fn keyspace(shared: &Shared, now_ms: i64, out: &mut String) {
    out.push_str("# Keyspace\r\n");
    let acc = Access::at(now_ms).no_touch();
    for (i, db) in shared.keyspace.dbs().iter().enumerate() {
        let keys = db.len();
        let expires = db.volatile_len();
        if keys > 0 || expires > 0 {
            let avg_ttl = if expires > 0 { db.avg_ttl(&acc) } else { 0 };
            field!(out, format_args!("db{i}"), "keys={keys},expires={expires},avg_ttl={avg_ttl}");
        }
    }
}

/// Redis 8's `# Keysizes`: per database, histograms of key sizes per type.
fn keysizes(shared: &Shared, _now_ms: i64, out: &mut String) {
    out.push_str("# Keysizes\r\n");
    for (i, db) in shared.keyspace.dbs().iter().enumerate() {
        db.keysizes().write_info(i, out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_sizes_match_redis() {
        assert_eq!(bytes_to_human(0), "0B");
        assert_eq!(bytes_to_human(1023), "1023B");
        assert_eq!(bytes_to_human(1024), "1.00K");
        assert_eq!(bytes_to_human(1_064_528), "1.02M");
        assert_eq!(bytes_to_human(25_276_514_304), "23.54G");
        assert_eq!(bytes_to_human(1 << 40), "1.00T");
        assert_eq!(bytes_to_human(1 << 50), "1.00P");
        assert_eq!(bytes_to_human(u64::MAX), format!("{}B", u64::MAX));
    }

    #[test]
    fn section_parsing() {
        assert_eq!(Sections::parse(&[]), Sections::DEFAULT);
        assert_eq!(Sections::parse(&[b"DEFAULT"]), Sections::DEFAULT);
        assert_eq!(Sections::parse(&[b"everything"]), Sections::ALL);
        assert_eq!(Sections::parse(&[b"all"]), Sections::ALL);
        assert_eq!(Sections::parse(&[b"nosuch"]), Sections(0));
        let s = Sections::parse(&[b"Cluster", b"errorstats", b"cluster"]);
        assert_eq!(s, Sections(CLUSTER | ERRORSTATS));
        assert!(!Sections::DEFAULT.has(COMMANDSTATS));
        assert!(Sections::ALL.has(LATENCYSTATS));
    }
}
