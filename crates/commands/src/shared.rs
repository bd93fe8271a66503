//! State shared by every worker: the keyspace, the configuration, the command table, the
//! client registry and the server-wide statistics.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use brim_config::Config;
use brim_engine::Keyspace;
use parking_lot::Mutex;

use crate::client::ClientHandle;
use crate::slowlog::Slowlog;
use crate::stats::WorkerStats;
use crate::table::CommandTable;

/// Unix time in milliseconds.
pub fn unix_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}

/// Unix time in microseconds.
pub fn unix_us() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_micros() as i64).unwrap_or(0)
}

/// A request to stop the server, set by SHUTDOWN or a signal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShutdownKind {
    /// Save if save points are configured.
    Default,
    /// Save regardless.
    Save,
    /// Don't save.
    NoSave,
}

/// Server-wide counters (per-worker ones live in [`WorkerStats`]).
#[derive(Debug, Default)]
pub struct ServerStats {
    pub total_connections_received: AtomicU64,
    pub rejected_connections: AtomicU64,
    pub evicted_keys: AtomicU64,
    pub evicted_clients: AtomicU64,
    pub total_error_replies: AtomicU64,
    pub unexpected_error_replies: AtomicU64,
    pub errorstats: Mutex<HashMap<String, u64>>,
    pub dirty_at_reset: AtomicU64,
    /// Connections moved to the worker holding a hot key they kept waiting for (Brim's own
    /// INFO field `hot_key_client_moves`).
    pub hot_key_client_moves: AtomicU64,
    /// Connections moved to even out the workers' load after hot-key moves piled them up on
    /// one (Brim's own INFO field `balance_client_moves`).
    pub balance_client_moves: AtomicU64,
}

/// CLIENT PAUSE state.
#[derive(Debug, Default)]
pub struct Pause {
    /// Unix ms until which clients are paused (0: not paused).
    pub until_ms: AtomicI64,
    /// Only writes are paused (`WRITE` mode).
    pub writes_only: AtomicBool,
}

/// Loading the dataset at start-up (INFO `loading:1` and the `loading_*` fields): while
/// `active`, commands without the `loading` flag are refused with `-LOADING`.
#[derive(Debug, Default)]
pub struct Loading {
    /// The dataset is being loaded.
    pub active: AtomicBool,
    /// When the load started (unix s).
    pub start_time_s: AtomicI64,
    /// Bytes to load, bytes loaded, and the file's `used-mem`.
    pub progress: Arc<brim_persist::file::LoadProgress>,
}

impl Loading {
    /// Mark the load as started now.
    pub fn begin(&self) {
        self.start_time_s.store(unix_ms() / 1000, Relaxed);
        self.active.store(true, Relaxed);
    }

    /// Whether the dataset is being loaded.
    pub fn is_active(&self) -> bool {
        self.active.load(Relaxed)
    }

    /// Run `load` (on this thread) with the files it loads reporting their progress here.
    pub fn track<R>(&self, load: impl FnOnce() -> R) -> R {
        brim_persist::file::track_loading(self.progress.clone(), load)
    }

    /// Mark the load as over: commands touching data run from now on.
    pub fn finish(&self) {
        self.active.store(false, Relaxed);
    }
}

/// Everything the workers share.
pub struct Shared {
    /// The databases.
    pub keyspace: Keyspace,
    /// Live configuration.
    pub config: Arc<Config>,
    /// The command table.
    pub table: CommandTable,
    /// Connected clients by id.
    pub clients: Mutex<BTreeMap<u64, Arc<ClientHandle>>>,
    /// Server-wide stats.
    pub stats: ServerStats,
    /// Stats of each worker thread, summed for INFO.
    pub workers: Mutex<Vec<Arc<WorkerStats>>>,
    /// The slow log.
    pub slowlog: Mutex<Slowlog>,
    /// Clients in MONITOR mode.
    pub monitors: Mutex<Vec<Arc<ClientHandle>>>,
    /// Whether any client is in MONITOR mode (checked per command without a lock).
    pub has_monitors: AtomicBool,
    /// CLIENT PAUSE.
    pub pause: Pause,
    /// Set by SHUTDOWN; the server's main task acts on it.
    pub shutdown: Mutex<Option<ShutdownKind>>,
    /// Woken when `shutdown` is set.
    pub shutdown_notify: tokio::sync::Notify,
    /// 40 hex characters identifying this run.
    pub run_id: String,
    /// Start instant and unix time.
    pub started: Instant,
    /// Start time, unix ms.
    pub started_ms: i64,
    /// Next client id.
    pub next_client_id: AtomicU64,
    /// Unix time (s) of the last successful save.
    pub lastsave: AtomicI64,
    /// used_memory right after start-up.
    pub startup_memory: AtomicU64,
    /// Peak used_memory and when it was reached (unix ms).
    pub peak_memory: AtomicU64,
    /// When the peak was reached.
    pub peak_time_ms: AtomicI64,
    /// TCP port actually listened on.
    pub port: AtomicU64,
    /// The executable's path and the config file's, for INFO server.
    pub executable: String,
    /// Active expire enabled (DEBUG SET-ACTIVE-EXPIRE).
    pub active_expire: AtomicBool,
    /// Pub/Sub subscriptions (channels, patterns, shard channels).
    pub pubsub: crate::pubsub::Registry,
    /// Which database each stripe belongs to (for keys the engine reports by stripe).
    pub stripe_map: brim_engine::expire::StripeMap,
    /// Clients blocked in BLPOP, BZPOPMIN, ... by key.
    pub blocking: crate::blocking::Registry,
    /// Start-up loading of the dataset.
    pub loading: Loading,
    /// What the clients hold, summed (client eviction, `mem_not_counted_for_evict`).
    pub clients_memory: crate::client_evict::ClientsMemory,
    /// Connections each worker serves, counted by the workers' dealer (set once they start;
    /// Brim's own INFO field `worker_connections`).
    pub worker_clients: std::sync::OnceLock<Arc<[std::sync::atomic::AtomicUsize]>>,
}

impl Shared {
    /// Shared state for a server with `config`.
    pub fn new(config: Arc<Config>, executable: String) -> Self {
        let keyspace = Keyspace::new(config.databases(), brim_engine::db::DEFAULT_STRIPES);
        brim_engine::lazyfree::configure(config.lazyfree_lazy_server_del(), config.lazyfree_lazy_expire());
        let stripe_map = brim_engine::expire::StripeMap::new(&keyspace);
        let now = unix_ms();
        Shared {
            keyspace,
            config,
            table: CommandTable::build(),
            clients: Mutex::new(BTreeMap::new()),
            stats: ServerStats::default(),
            workers: Mutex::new(Vec::new()),
            slowlog: Mutex::new(Slowlog::default()),
            monitors: Mutex::new(Vec::new()),
            has_monitors: AtomicBool::new(false),
            pause: Pause::default(),
            shutdown: Mutex::new(None),
            shutdown_notify: tokio::sync::Notify::new(),
            run_id: random_hex(40),
            started: Instant::now(),
            started_ms: now,
            next_client_id: AtomicU64::new(1),
            lastsave: AtomicI64::new(now / 1000),
            startup_memory: AtomicU64::new(0),
            peak_memory: AtomicU64::new(0),
            peak_time_ms: AtomicI64::new(now),
            port: AtomicU64::new(0),
            executable,
            active_expire: AtomicBool::new(true),
            pubsub: crate::pubsub::Registry::new(),
            stripe_map,
            blocking: crate::blocking::Registry::new(),
            loading: Loading::default(),
            clients_memory: crate::client_evict::ClientsMemory::default(),
            worker_clients: std::sync::OnceLock::new(),
        }
    }

    /// Register a worker's stats block.
    pub fn add_worker(&self) -> Arc<WorkerStats> {
        let w = Arc::new(WorkerStats::new(self.table.len()));
        self.workers.lock().push(w.clone());
        w
    }

    /// Register a new client.
    pub fn add_client(&self, h: Arc<ClientHandle>) {
        self.clients.lock().insert(h.id, h);
        self.stats.total_connections_received.fetch_add(1, Relaxed);
    }

    /// Forget a client that disconnected.
    pub fn remove_client(&self, id: u64) {
        if let Some(h) = self.clients.lock().remove(&id) {
            crate::client_evict::retract(self, &h);
            crate::tracking::stop(&h);
        }
        self.blocking.remove_client(id);
        let mut m = self.monitors.lock();
        m.retain(|c| c.id != id);
        self.has_monitors.store(!m.is_empty(), Relaxed);
    }

    /// Ask the server to shut down.
    pub fn request_shutdown(&self, kind: ShutdownKind) {
        *self.shutdown.lock() = Some(kind);
        self.shutdown_notify.notify_waiters();
        self.shutdown_notify.notify_one();
    }

    /// Record an error reply under its code (errorstats).
    pub fn count_error(&self, code: &str) {
        self.stats.total_error_replies.fetch_add(1, Relaxed);
        *self.stats.errorstats.lock().entry(code.to_string()).or_insert(0) += 1;
    }

    /// Update the used_memory peak; returns the current used_memory.
    pub fn sample_memory(&self) -> u64 {
        let used = brim_engine::alloc::used_memory() as u64;
        if used > self.peak_memory.fetch_max(used, Relaxed) {
            self.peak_time_ms.store(unix_ms(), Relaxed);
        }
        used
    }
}

/// `n` random hex characters (run ids).
pub fn random_hex(n: usize) -> String {
    let mut seed = unix_us() as u64 ^ (std::process::id() as u64) << 32;
    let mut rng = brim_engine::Rng::new(seed);
    let mut s = String::with_capacity(n);
    for _ in 0..n {
        seed = rng.next_u64();
        s.push(char::from_digit((seed >> 60) as u32, 16).unwrap_or('0'));
    }
    s
}
