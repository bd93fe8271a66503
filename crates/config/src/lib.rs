//! Brim's configuration: the Redis 7.0 directive table, redis.conf / command-line parsing
//! with Redis's exact fatal errors, and CONFIG GET / SET / REWRITE.
//!
//! A [`Config`] is shared as `Arc<Config>`; every method takes `&self`. Numbers, booleans
//! and enums are atomics (getters are one relaxed load), strings and lists sit behind
//! `RwLock`s, and writers (CONFIG SET, REWRITE) are serialized by a mutex.
//!
//! ```
//! let cfg = brim_config::Config::load(None, &["--port".into(), "7000".into()]).unwrap();
//! assert_eq!(cfg.port(), 7000);
//! cfg.set(&[(b"maxmemory", b"1mb")]).unwrap();
//! assert_eq!(cfg.maxmemory(), 1 << 20);
//! assert_eq!(cfg.get(&[b"maxmemory"]), vec![("maxmemory".to_string(), "1048576".to_string())]);
//! ```

#![warn(missing_docs)]

mod error;
mod ops;
mod parse;
mod rewrite;
mod store;
mod table;
mod types;
mod value;

use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering::Relaxed;
use std::sync::atomic::{AtomicI64, AtomicU64};

use parking_lot::{Mutex, RwLock};

pub use error::{ConfigError, REDIS_VERSION};
pub use ops::{SetContext, LOADING_ERROR};
pub use parse::{split_args, DirectiveHandler};
pub use table::{DENY_LOADING, HIDDEN, IMMUTABLE, MULTI_ARG, PROTECTED, SENSITIVE};
pub use types::{
    shutdown, AclPubsubDefault, AppendFsync, ClientClass, LogLevel, MaxmemoryClients, MaxmemoryPolicy,
    ObufLimit, OomScoreAdj, PropagationErrorBehavior, ProtectedAction, ReplDisklessLoad, SanitizeDumpPayload,
};
pub use value::{keyspace_events_from_str, keyspace_events_to_string, memtoull, notify};

use store::{DEFAULT_BIND, DEFAULT_OBUF, DEFAULT_OOM, DEFAULT_PERCENTILES, DEFAULT_SAVE};
use table::{Id, Kind, TABLE};

/// Public description of one directive.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DirectiveInfo {
    /// Primary name.
    pub name: &'static str,
    /// Alias, if any (e.g. `slaveof` for `replicaof`).
    pub alias: Option<&'static str>,
    /// [`IMMUTABLE`], [`SENSITIVE`], [`HIDDEN`], [`PROTECTED`], [`DENY_LOADING`], [`MULTI_ARG`] bits.
    pub flags: u32,
}

/// Every directive Brim knows, in table order.
pub fn directives() -> impl Iterator<Item = DirectiveInfo> {
    TABLE.iter().map(|d| DirectiveInfo { name: d.name, alias: d.alias, flags: d.flags })
}

/// Look up a directive by name or alias (case-insensitive).
pub fn directive(name: &str) -> Option<DirectiveInfo> {
    table::lookup(name.as_bytes()).map(|r| {
        let d = &TABLE[r.idx];
        DirectiveInfo { name: d.name, alias: d.alias, flags: d.flags }
    })
}

/// The server configuration.
pub struct Config {
    /// Bool / numeric / enum / notify-flag values, indexed by table position.
    nums: Box<[AtomicI64]>,
    /// String values (None = NULL), indexed by table position.
    strs: Box<[RwLock<Option<String>>]>,
    dir: RwLock<String>,
    save: RwLock<Vec<(i64, i32)>>,
    /// hard, soft, soft-seconds per client class.
    obuf: [[AtomicU64; 3]; 3],
    oom: RwLock<[i32; 3]>,
    bind: RwLock<Vec<String>>,
    replicaof: RwLock<Option<(String, u16)>>,
    percentiles: RwLock<Vec<f64>>,
    io_threads_default: i64,
    config_file: Option<PathBuf>,
    extra: RwLock<Vec<Vec<String>>>,
    write_lock: Mutex<()>,
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config").field("config_file", &self.config_file).finish_non_exhaustive()
    }
}

impl Default for Config {
    fn default() -> Self {
        Config::with_file(None)
    }
}

impl Config {
    /// All defaults (Redis 7.0.15's, with `io-threads` = number of CPU cores and `dir` = the
    /// current directory), no config file.
    pub fn new() -> Config {
        Config::default()
    }

    fn with_file(config_file: Option<PathBuf>) -> Config {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let io_threads_default = cores.clamp(1, 128) as i64;
        let cwd = std::env::current_dir().map(|p| p.to_string_lossy().into_owned()).unwrap_or_default();
        let cfg = Config {
            nums: TABLE.iter().map(|_| AtomicI64::new(0)).collect(),
            strs: TABLE
                .iter()
                .map(|d| match d.kind {
                    Kind::Str { default, .. } => RwLock::new(default.map(str::to_string)),
                    _ => RwLock::new(None),
                })
                .collect(),
            dir: RwLock::new(cwd),
            save: RwLock::new(DEFAULT_SAVE.to_vec()),
            obuf: DEFAULT_OBUF.map(|l| [l.hard, l.soft, l.soft_seconds].map(AtomicU64::new)),
            oom: RwLock::new(DEFAULT_OOM),
            bind: RwLock::new(DEFAULT_BIND.iter().map(|s| s.to_string()).collect()),
            replicaof: RwLock::new(None),
            percentiles: RwLock::new(DEFAULT_PERCENTILES.to_vec()),
            io_threads_default,
            config_file,
            extra: RwLock::new(Vec::new()),
            write_lock: Mutex::new(()),
        };
        for idx in 0..TABLE.len() {
            cfg.nums[idx].store(cfg.default_num(idx), Relaxed);
        }
        cfg
    }

    /// Load like `redis-server [configfile] [--name value ...]`.
    ///
    /// With `file` = None, `args[0]` is the config file unless it starts with `-`. The
    /// `--name value...` options are appended to the file as extra lines (values quoted), a
    /// bare `--save` means `save ""`, and `-` as first or last argument reads config from
    /// stdin. Errors carry Redis's exact fatal text (print `"\n{err}"` and exit 1).
    pub fn load(file: Option<&Path>, args: &[String]) -> Result<Config, ConfigError> {
        Config::load_with(file, args, None)
    }

    /// [`Config::load`] with a handler for `rename-command`, `user`, `loadmodule` and
    /// `module.option` lines (which are otherwise only recorded, see
    /// [`Config::extra_directives`]).
    pub fn load_with(
        file: Option<&Path>,
        args: &[String],
        handler: Option<&mut dyn DirectiveHandler>,
    ) -> Result<Config, ConfigError> {
        let cl = parse::command_line(file, args);
        let abs = cl.file.as_ref().map(|f| std::path::absolute(f).unwrap_or_else(|_| PathBuf::from(f)));
        let cfg = Config::with_file(abs);
        if cl.file.is_some() || cl.from_stdin || !args.is_empty() {
            let mut loader = parse::Loader::new(&cfg, handler);
            loader.load_server_config(cl.file.as_deref(), cl.from_stdin, Some(&cl.options))?;
        }
        Ok(cfg)
    }

    /// Load configuration text as if it were a config file (no file is remembered, so
    /// CONFIG REWRITE is refused).
    pub fn from_str_config(text: &str) -> Result<Config, ConfigError> {
        let cfg = Config::with_file(None);
        parse::Loader::new(&cfg, None).load_string(text.as_bytes())?;
        Ok(cfg)
    }

    /// The absolute path of the config file the server was started with.
    pub fn config_file(&self) -> Option<PathBuf> {
        self.config_file.clone()
    }

    /// `rename-command`, `user`, `loadmodule` and `module.option` lines seen while loading,
    /// in order (`[0]` is the lowercased directive name).
    pub fn extra_directives(&self) -> Vec<Vec<String>> {
        self.extra.read().clone()
    }

    /// CONFIG REWRITE: rewrite the config file keeping comments and line order, updating
    /// directives in place, appending others after `# Generated by CONFIG REWRITE`, and
    /// blanking lines of directives that no longer need them. `user` lines are kept as is.
    pub fn rewrite(&self) -> Result<(), String> {
        self.rewrite_impl(None)
    }

    /// [`Config::rewrite`] that also replaces the `user` lines with `users` (each an ACL
    /// user description, with or without the leading `user `).
    pub fn rewrite_with_users(&self, users: &[String]) -> Result<(), String> {
        self.rewrite_impl(Some(users))
    }

    #[inline]
    fn n(&self, id: Id) -> i64 {
        self.nums[id as usize].load(Relaxed)
    }

    #[inline]
    fn flag(&self, id: Id) -> bool {
        self.n(id) != 0
    }

    fn string(&self, id: Id) -> Option<String> {
        self.strs[id as usize].read().clone()
    }
}

macro_rules! bool_getters {
    ($($(#[$m:meta])* $fn:ident => $id:ident),* $(,)?) => {
        impl Config {
            $( $(#[$m])* #[inline] pub fn $fn(&self) -> bool { self.flag(Id::$id) } )*
        }
    };
}

macro_rules! num_getters {
    ($($(#[$m:meta])* $fn:ident : $ty:ty => $id:ident),* $(,)?) => {
        impl Config {
            $( $(#[$m])* #[inline] pub fn $fn(&self) -> $ty { self.n(Id::$id) as $ty } )*
        }
    };
}

macro_rules! str_getters {
    ($($(#[$m:meta])* $fn:ident => $id:ident),* $(,)?) => {
        impl Config {
            $( $(#[$m])* pub fn $fn(&self) -> Option<String> { self.string(Id::$id) } )*
        }
    };
}

bool_getters! {
    /// `daemonize`.
    daemonize => Daemonize,
    /// `protected-mode`.
    protected_mode => ProtectedMode,
    /// `rdbcompression`.
    rdbcompression => Rdbcompression,
    /// `rdbchecksum`.
    rdbchecksum => Rdbchecksum,
    /// `rdb-del-sync-files`.
    rdb_del_sync_files => RdbDelSyncFiles,
    /// `activerehashing`.
    activerehashing => Activerehashing,
    /// `stop-writes-on-bgsave-error`.
    stop_writes_on_bgsave_error => StopWritesOnBgsaveError,
    /// `dynamic-hz`.
    dynamic_hz => DynamicHz,
    /// `lazyfree-lazy-eviction`.
    lazyfree_lazy_eviction => LazyfreeLazyEviction,
    /// `lazyfree-lazy-expire`.
    lazyfree_lazy_expire => LazyfreeLazyExpire,
    /// `lazyfree-lazy-server-del`.
    lazyfree_lazy_server_del => LazyfreeLazyServerDel,
    /// `lazyfree-lazy-user-del`.
    lazyfree_lazy_user_del => LazyfreeLazyUserDel,
    /// `lazyfree-lazy-user-flush`.
    lazyfree_lazy_user_flush => LazyfreeLazyUserFlush,
    /// `appendonly`.
    appendonly => Appendonly,
    /// `aof-use-rdb-preamble`.
    aof_use_rdb_preamble => AofUseRdbPreamble,
    /// `aof-load-truncated`.
    aof_load_truncated => AofLoadTruncated,
    /// `aof-timestamp-enabled`.
    aof_timestamp_enabled => AofTimestampEnabled,
    /// `aof-rewrite-incremental-fsync`.
    aof_rewrite_incremental_fsync => AofRewriteIncrementalFsync,
    /// `rdb-save-incremental-fsync`.
    rdb_save_incremental_fsync => RdbSaveIncrementalFsync,
    /// `no-appendfsync-on-rewrite`.
    no_appendfsync_on_rewrite => NoAppendfsyncOnRewrite,
    /// `activedefrag`.
    activedefrag => Activedefrag,
    /// `latency-tracking`.
    latency_tracking => LatencyTracking,
    /// `cluster-enabled`.
    cluster_enabled => ClusterEnabled,
    /// `replica-read-only` (`slave-read-only`).
    replica_read_only => ReplicaReadOnly,
    /// `replica-serve-stale-data`.
    replica_serve_stale_data => ReplicaServeStaleData,
    /// `replica-ignore-maxmemory`.
    replica_ignore_maxmemory => ReplicaIgnoreMaxmemory,
    /// `replica-lazy-flush`.
    replica_lazy_flush => ReplicaLazyFlush,
    /// `repl-diskless-sync`.
    repl_diskless_sync => ReplDisklessSync,
    /// `repl-disable-tcp-nodelay`.
    repl_disable_tcp_nodelay => ReplDisableTcpNodelay,
    /// `io-threads-do-reads`.
    io_threads_do_reads => IoThreadsDoReads,
    /// `jemalloc-bg-thread`.
    jemalloc_bg_thread => JemallocBgThread,
    /// `syslog-enabled`.
    syslog_enabled => SyslogEnabled,
    /// `crash-log-enabled`.
    crash_log_enabled => CrashLogEnabled,
    /// `always-show-logo`.
    always_show_logo => AlwaysShowLogo,
    /// `set-proc-title`.
    set_proc_title => SetProcTitle,
    /// `tls-replication`.
    tls_replication => TlsReplication,
    /// `tls-cluster`.
    tls_cluster => TlsCluster,
}

num_getters! {
    /// `port`.
    port: u16 => Port,
    /// `tls-port`.
    tls_port: u16 => TlsPort,
    /// `databases`.
    databases: usize => Databases,
    /// `timeout` (seconds; 0 = never).
    timeout: u64 => Timeout,
    /// `tcp-keepalive` (seconds).
    tcp_keepalive: u64 => TcpKeepalive,
    /// `tcp-backlog`.
    tcp_backlog: u32 => TcpBacklog,
    /// `maxclients`.
    maxclients: u64 => Maxclients,
    /// `maxmemory` in bytes (0 = no limit).
    maxmemory: u64 => Maxmemory,
    /// `maxmemory-samples`.
    maxmemory_samples: usize => MaxmemorySamples,
    /// `maxmemory-eviction-tenacity` (0..=100).
    maxmemory_eviction_tenacity: u32 => MaxmemoryEvictionTenacity,
    /// `lfu-log-factor`.
    lfu_log_factor: u32 => LfuLogFactor,
    /// `lfu-decay-time` (minutes).
    lfu_decay_time: u64 => LfuDecayTime,
    /// `active-expire-effort` (1..=10).
    active_expire_effort: u32 => ActiveExpireEffort,
    /// `proto-max-bulk-len` in bytes.
    proto_max_bulk_len: u64 => ProtoMaxBulkLen,
    /// `client-query-buffer-limit` in bytes.
    client_query_buffer_limit: u64 => ClientQueryBufferLimit,
    /// `hz` (clamped to 1..=500).
    hz: u32 => Hz,
    /// `unixsocketperm` (octal permission bits).
    unixsocketperm: u32 => Unixsocketperm,
    /// `slowlog-log-slower-than` in microseconds (negative disables, 0 logs everything).
    slowlog_log_slower_than: i64 => SlowlogLogSlowerThan,
    /// `slowlog-max-len`.
    slowlog_max_len: u64 => SlowlogMaxLen,
    /// `latency-monitor-threshold` in milliseconds.
    latency_monitor_threshold: u64 => LatencyMonitorThreshold,
    /// `acllog-max-len`.
    acllog_max_len: u64 => AcllogMaxLen,
    /// `hash-max-listpack-entries` (`hash-max-ziplist-entries`).
    hash_max_listpack_entries: u64 => HashMaxListpackEntries,
    /// `hash-max-listpack-value` in bytes.
    hash_max_listpack_value: u64 => HashMaxListpackValue,
    /// `list-max-listpack-size` (negative: size class -1..-5; positive: entries).
    list_max_listpack_size: i64 => ListMaxListpackSize,
    /// `list-compress-depth`.
    list_compress_depth: u64 => ListCompressDepth,
    /// `set-max-intset-entries`.
    set_max_intset_entries: u64 => SetMaxIntsetEntries,
    /// `set-max-listpack-entries` (Brim extension, Redis 7.2 name; hidden from patterns).
    set_max_listpack_entries: u64 => SetMaxListpackEntries,
    /// `set-max-listpack-value` in bytes (Brim extension; hidden from patterns).
    set_max_listpack_value: u64 => SetMaxListpackValue,
    /// `zset-max-listpack-entries`.
    zset_max_listpack_entries: u64 => ZsetMaxListpackEntries,
    /// `zset-max-listpack-value` in bytes.
    zset_max_listpack_value: u64 => ZsetMaxListpackValue,
    /// `stream-node-max-bytes`.
    stream_node_max_bytes: u64 => StreamNodeMaxBytes,
    /// `stream-node-max-entries`.
    stream_node_max_entries: u64 => StreamNodeMaxEntries,
    /// `hll-sparse-max-bytes`.
    hll_sparse_max_bytes: u64 => HllSparseMaxBytes,
    /// `tracking-table-max-keys`.
    tracking_table_max_keys: u64 => TrackingTableMaxKeys,
    /// `busy-reply-threshold` (`lua-time-limit`) in milliseconds.
    busy_reply_threshold: u64 => BusyReplyThreshold,
    /// `repl-backlog-size` in bytes.
    repl_backlog_size: u64 => ReplBacklogSize,
    /// `repl-backlog-ttl` in seconds.
    repl_backlog_ttl: u64 => ReplBacklogTtl,
    /// `repl-timeout` in seconds.
    repl_timeout: u64 => ReplTimeout,
    /// `repl-ping-replica-period` in seconds.
    repl_ping_replica_period: u64 => ReplPingReplicaPeriod,
    /// `repl-diskless-sync-delay` in seconds.
    repl_diskless_sync_delay: u64 => ReplDisklessSyncDelay,
    /// `min-replicas-to-write`.
    min_replicas_to_write: u32 => MinReplicasToWrite,
    /// `min-replicas-max-lag` in seconds.
    min_replicas_max_lag: u64 => MinReplicasMaxLag,
    /// `replica-priority`.
    replica_priority: u32 => ReplicaPriority,
    /// `replica-announce-port` (0 = use `port`).
    replica_announce_port: u16 => ReplicaAnnouncePort,
    /// `auto-aof-rewrite-percentage`.
    auto_aof_rewrite_percentage: u32 => AutoAofRewritePercentage,
    /// `auto-aof-rewrite-min-size` in bytes.
    auto_aof_rewrite_min_size: u64 => AutoAofRewriteMinSize,
    /// `shutdown-timeout` in seconds.
    shutdown_timeout: u64 => ShutdownTimeout,
    /// `active-defrag-ignore-bytes`.
    active_defrag_ignore_bytes: u64 => ActiveDefragIgnoreBytes,
    /// `active-defrag-threshold-lower` (percent).
    active_defrag_threshold_lower: u32 => ActiveDefragThresholdLower,
    /// `active-defrag-threshold-upper` (percent).
    active_defrag_threshold_upper: u32 => ActiveDefragThresholdUpper,
    /// `active-defrag-cycle-min` (percent CPU).
    active_defrag_cycle_min: u32 => ActiveDefragCycleMin,
    /// `active-defrag-cycle-max` (percent CPU).
    active_defrag_cycle_max: u32 => ActiveDefragCycleMax,
    /// `active-defrag-max-scan-fields`.
    active_defrag_max_scan_fields: u64 => ActiveDefragMaxScanFields,
    /// `cluster-node-timeout` in milliseconds.
    cluster_node_timeout: u64 => ClusterNodeTimeout,
    /// `cluster-port` (0 = port + 10000).
    cluster_port: u16 => ClusterPort,
    /// `socket-mark-id`.
    socket_mark_id: u32 => SocketMarkId,
    /// `rdb-key-save-delay` (hidden, testing; microseconds).
    rdb_key_save_delay: i64 => RdbKeySaveDelay,
    /// `key-load-delay` (hidden, testing; microseconds).
    key_load_delay: i64 => KeyLoadDelay,
    /// `loading-process-events-interval-bytes` (hidden).
    loading_process_events_interval_bytes: u64 => LoadingProcessEventsIntervalBytes,
    /// `watchdog-period` (hidden) in milliseconds.
    watchdog_period: u64 => WatchdogPeriod,
}

str_getters! {
    /// `requirepass` (None when unset or empty).
    requirepass => Requirepass,
    /// `masterauth`.
    masterauth => Masterauth,
    /// `masteruser`.
    masteruser => Masteruser,
    /// `unixsocket` path.
    unixsocket => Unixsocket,
    /// `pidfile`.
    pidfile => Pidfile,
    /// `replica-announce-ip`.
    replica_announce_ip => ReplicaAnnounceIp,
    /// `bind-source-addr`.
    bind_source_addr => BindSourceAddr,
    /// `tls-cert-file`.
    tls_cert_file => TlsCertFile,
    /// `tls-key-file`.
    tls_key_file => TlsKeyFile,
    /// `tls-ca-cert-file`.
    tls_ca_cert_file => TlsCaCertFile,
}

impl Config {
    /// `io-threads` (Brim's default: the number of CPU cores, at most 128).
    #[inline]
    pub fn io_threads(&self) -> usize {
        self.n(Id::IoThreads) as usize
    }

    /// `maxmemory-policy`.
    #[inline]
    pub fn maxmemory_policy(&self) -> MaxmemoryPolicy {
        MaxmemoryPolicy::from_raw(self.n(Id::MaxmemoryPolicy))
    }

    /// `loglevel`.
    #[inline]
    pub fn loglevel(&self) -> LogLevel {
        LogLevel::from_raw(self.n(Id::Loglevel))
    }

    /// `appendfsync`.
    #[inline]
    pub fn appendfsync(&self) -> AppendFsync {
        AppendFsync::from_raw(self.n(Id::Appendfsync))
    }

    /// `repl-diskless-load`.
    #[inline]
    pub fn repl_diskless_load(&self) -> ReplDisklessLoad {
        ReplDisklessLoad::from_raw(self.n(Id::ReplDisklessLoad))
    }

    /// `sanitize-dump-payload`.
    #[inline]
    pub fn sanitize_dump_payload(&self) -> SanitizeDumpPayload {
        SanitizeDumpPayload::from_raw(self.n(Id::SanitizeDumpPayload))
    }

    /// `propagation-error-behavior`.
    #[inline]
    pub fn propagation_error_behavior(&self) -> PropagationErrorBehavior {
        PropagationErrorBehavior::from_raw(self.n(Id::PropagationErrorBehavior))
    }

    /// `oom-score-adj`.
    #[inline]
    pub fn oom_score_adj(&self) -> OomScoreAdj {
        OomScoreAdj::from_raw(self.n(Id::OomScoreAdj))
    }

    /// `acl-pubsub-default`.
    #[inline]
    pub fn acl_pubsub_default(&self) -> AclPubsubDefault {
        AclPubsubDefault::from_raw(self.n(Id::AclPubsubDefault))
    }

    /// `enable-protected-configs`.
    #[inline]
    pub fn enable_protected_configs(&self) -> ProtectedAction {
        ProtectedAction::from_raw(self.n(Id::EnableProtectedConfigs))
    }

    /// `enable-debug-command`.
    #[inline]
    pub fn enable_debug_command(&self) -> ProtectedAction {
        ProtectedAction::from_raw(self.n(Id::EnableDebugCommand))
    }

    /// `enable-module-command`.
    #[inline]
    pub fn enable_module_command(&self) -> ProtectedAction {
        ProtectedAction::from_raw(self.n(Id::EnableModuleCommand))
    }

    /// `shutdown-on-sigint` as [`shutdown`] flag bits.
    #[inline]
    pub fn shutdown_on_sigint(&self) -> u32 {
        self.n(Id::ShutdownOnSigint) as u32
    }

    /// `shutdown-on-sigterm` as [`shutdown`] flag bits.
    #[inline]
    pub fn shutdown_on_sigterm(&self) -> u32 {
        self.n(Id::ShutdownOnSigterm) as u32
    }

    /// `notify-keyspace-events` as [`notify`] flag bits.
    #[inline]
    pub fn notify_keyspace_events(&self) -> u32 {
        self.n(Id::NotifyKeyspaceEvents) as u32
    }

    /// `maxmemory-clients`.
    #[inline]
    pub fn maxmemory_clients(&self) -> MaxmemoryClients {
        let v = self.n(Id::MaxmemoryClients);
        if v < 0 {
            MaxmemoryClients::Percent(v.unsigned_abs())
        } else {
            MaxmemoryClients::Bytes(v as u64)
        }
    }

    /// `client-output-buffer-limit` for one client class.
    #[inline]
    pub fn client_output_buffer_limit(&self, class: ClientClass) -> ObufLimit {
        let s = &self.obuf[class as usize];
        ObufLimit { hard: s[0].load(Relaxed), soft: s[1].load(Relaxed), soft_seconds: s[2].load(Relaxed) }
    }

    /// `bind` addresses (empty: don't listen on TCP).
    pub fn bind(&self) -> Vec<String> {
        self.bind.read().clone()
    }

    /// `save` points as (seconds, changes).
    pub fn save(&self) -> Vec<(u64, u64)> {
        self.save.read().iter().map(|&(s, c)| (s as u64, c.max(0) as u64)).collect()
    }

    /// `replicaof` master (None: this is a master).
    pub fn replicaof(&self) -> Option<(String, u16)> {
        self.replicaof.read().clone()
    }

    /// `oom-score-adj-values` (master, replica, background child).
    pub fn oom_score_adj_values(&self) -> [i32; 3] {
        *self.oom.read()
    }

    /// `latency-tracking-info-percentiles`.
    pub fn latency_tracking_info_percentiles(&self) -> Vec<f64> {
        self.percentiles.read().clone()
    }

    /// `dir`: the absolute working directory (RDB/AOF files live there). Unlike Redis,
    /// Brim does not chdir(); relative paths should be resolved against this.
    pub fn dir(&self) -> PathBuf {
        PathBuf::from(&*self.dir.read())
    }

    /// `dbfilename`.
    pub fn dbfilename(&self) -> String {
        self.string(Id::Dbfilename).unwrap_or_default()
    }

    /// `appendfilename`.
    pub fn appendfilename(&self) -> String {
        self.string(Id::Appendfilename).unwrap_or_default()
    }

    /// `appenddirname`.
    pub fn appenddirname(&self) -> String {
        self.string(Id::Appenddirname).unwrap_or_default()
    }

    /// `logfile` (empty: standard output).
    pub fn logfile(&self) -> String {
        self.string(Id::Logfile).unwrap_or_default()
    }

    /// `aclfile` (empty: none).
    pub fn aclfile(&self) -> String {
        self.string(Id::Aclfile).unwrap_or_default()
    }

    /// `proc-title-template`.
    pub fn proc_title_template(&self) -> String {
        self.string(Id::ProcTitleTemplate).unwrap_or_default()
    }

    /// `syslog-ident`.
    pub fn syslog_ident(&self) -> String {
        self.string(Id::SyslogIdent).unwrap_or_default()
    }
}
