//! The directive table: every parameter Redis 7.0.15 reports for `CONFIG GET *`, plus its
//! hidden (exact-name only) parameters and a few hidden Brim extensions.

/// Cannot be changed with CONFIG SET (`can't set immutable config`).
pub const IMMUTABLE: u32 = 1 << 0;
/// Value is redacted from SLOWLOG / MONITOR when set.
pub const SENSITIVE: u32 = 1 << 1;
/// Not matched by CONFIG GET patterns; only by its exact name.
pub const HIDDEN: u32 = 1 << 2;
/// CONFIG SET needs `enable-protected-configs` (`can't set protected config`).
pub const PROTECTED: u32 = 1 << 3;
/// CONFIG SET refused with `-LOADING` while the dataset is loading.
pub const DENY_LOADING: u32 = 1 << 4;
/// Takes several arguments (space separated in CONFIG SET).
pub const MULTI_ARG: u32 = 1 << 5;

const M: u32 = 0;
const I: u32 = IMMUTABLE;

/// How a numeric value is parsed and printed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NumFmt {
    /// Plain integer (`string2ll`).
    Int,
    /// Memory value with units (`memtoull`), printed as plain bytes.
    Memory,
    /// Memory value or `N%` (stored as `-N`).
    MemoryPercent,
    /// Octal integer (`unixsocketperm`).
    Octal,
}

/// One allowed enum name and its value.
#[derive(Clone, Copy, Debug)]
pub struct EnumVal {
    /// Name (matched case-insensitively).
    pub name: &'static str,
    /// Stored value.
    pub val: i64,
    /// Listed in the "must be one of" error text (false for Brim-only extensions).
    pub listed: bool,
}

const fn ev(name: &'static str, val: i64) -> EnumVal {
    EnumVal { name, val, listed: true }
}

/// Validator for string directives: returns Redis's error text.
pub type StrCheck = fn(&str) -> Result<(), &'static str>;

/// Special (multi-field) directives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Special {
    /// `dir`: the working directory.
    Dir,
    /// `save <seconds> <changes> ...`.
    Save,
    /// `client-output-buffer-limit <class> <hard> <soft> <secs> ...`.
    ClientOutputBufferLimit,
    /// `oom-score-adj-values <master> <replica> <bgchild>`.
    OomScoreAdjValues,
    /// `notify-keyspace-events <flags>`.
    NotifyKeyspaceEvents,
    /// `bind <addr> ...`.
    Bind,
    /// `replicaof <host> <port>` / `no one`.
    Replicaof,
    /// `latency-tracking-info-percentiles <p> ...`.
    LatencyTrackingInfoPercentiles,
}

/// The type of a directive and its default.
#[derive(Clone, Copy, Debug)]
pub enum Kind {
    /// `yes` / `no`.
    Bool {
        /// Default value.
        default: bool,
    },
    /// Integer-like value.
    Num {
        /// Lower bound (inclusive).
        min: i64,
        /// Upper bound (inclusive; compared as unsigned when `unsigned`).
        max: i64,
        /// Default value.
        default: i64,
        /// Bounds compared as unsigned (C unsigned int / size_t / unsigned long long).
        unsigned: bool,
        /// Parse/print format.
        fmt: NumFmt,
    },
    /// One of a set of names (or several, OR-ed, when `bitflags`).
    Enum {
        /// Allowed names.
        values: &'static [EnumVal],
        /// Default value.
        default: i64,
        /// Several names may be given and their values OR-ed.
        bitflags: bool,
    },
    /// Free-form string.
    Str {
        /// Default (None = NULL, printed as empty).
        default: Option<&'static str>,
        /// An empty value is stored as NULL.
        empty_is_null: bool,
        /// Extra validation.
        check: Option<StrCheck>,
    },
    /// Hand-written parser and formatter.
    Special(Special),
}

/// A configuration directive.
#[derive(Clone, Copy, Debug)]
pub struct Directive {
    /// Primary name.
    pub name: &'static str,
    /// Alternative name accepted everywhere (e.g. `slaveof`).
    pub alias: Option<&'static str>,
    /// `IMMUTABLE`, `SENSITIVE`, ... bits.
    pub flags: u32,
    /// Type and default.
    pub kind: Kind,
}

const INT_MAX: i64 = i32::MAX as i64;
const INT_MIN: i64 = i32::MIN as i64;
const UINT_MAX: i64 = u32::MAX as i64;
const LONG_MAX: i64 = i64::MAX;
const ULLONG_MAX: i64 = -1; // u64::MAX, compared as unsigned
const MB: i64 = 1024 * 1024;

const fn b(name: &'static str, alias: Option<&'static str>, flags: u32, default: bool) -> Directive {
    Directive { name, alias, flags, kind: Kind::Bool { default } }
}

#[allow(clippy::too_many_arguments)]
const fn num(
    name: &'static str,
    alias: Option<&'static str>,
    flags: u32,
    min: i64,
    max: i64,
    default: i64,
    unsigned: bool,
    fmt: NumFmt,
) -> Directive {
    Directive { name, alias, flags, kind: Kind::Num { min, max, default, unsigned, fmt } }
}

/// Signed integer (int, long, long long, time_t, off_t).
const fn int(
    name: &'static str,
    alias: Option<&'static str>,
    flags: u32,
    min: i64,
    max: i64,
    default: i64,
) -> Directive {
    num(name, alias, flags, min, max, default, false, NumFmt::Int)
}

/// Unsigned integer (unsigned int, size_t).
const fn uint(
    name: &'static str,
    alias: Option<&'static str>,
    flags: u32,
    min: i64,
    max: i64,
    default: i64,
) -> Directive {
    num(name, alias, flags, min, max, default, true, NumFmt::Int)
}

/// Signed memory value (long long, off_t).
const fn mem(name: &'static str, flags: u32, min: i64, max: i64, default: i64) -> Directive {
    num(name, None, flags, min, max, default, false, NumFmt::Memory)
}

/// Unsigned memory value (size_t, unsigned long long).
const fn umem(
    name: &'static str,
    alias: Option<&'static str>,
    flags: u32,
    min: i64,
    max: i64,
    default: i64,
) -> Directive {
    num(name, alias, flags, min, max, default, true, NumFmt::Memory)
}

const fn en(name: &'static str, flags: u32, values: &'static [EnumVal], default: i64) -> Directive {
    Directive { name, alias: None, flags, kind: Kind::Enum { values, default, bitflags: false } }
}

const fn s(
    name: &'static str,
    alias: Option<&'static str>,
    flags: u32,
    default: Option<&'static str>,
    empty_is_null: bool,
    check: Option<StrCheck>,
) -> Directive {
    Directive { name, alias, flags, kind: Kind::Str { default, empty_is_null, check } }
}

/// String whose empty value means NULL, default NULL.
const fn sn(name: &'static str, flags: u32) -> Directive {
    s(name, None, flags, None, true, None)
}

const fn sp(name: &'static str, alias: Option<&'static str>, flags: u32, special: Special) -> Directive {
    Directive { name, alias, flags, kind: Kind::Special(special) }
}

/// `maxmemory-policy` values (order matters for the error text).
pub static MAXMEMORY_POLICY: &[EnumVal] = &[
    ev("volatile-lru", 0),
    ev("volatile-lfu", 1),
    ev("volatile-random", 2),
    ev("volatile-ttl", 3),
    ev("allkeys-lru", 4),
    ev("allkeys-lfu", 5),
    ev("allkeys-random", 6),
    ev("noeviction", 7),
    EnumVal { name: "allkeys-lrm", val: 8, listed: false },
    EnumVal { name: "volatile-lrm", val: 9, listed: false },
];
static SYSLOG_FACILITY: &[EnumVal] = &[
    ev("user", 8),
    ev("local0", 128),
    ev("local1", 136),
    ev("local2", 144),
    ev("local3", 152),
    ev("local4", 160),
    ev("local5", 168),
    ev("local6", 176),
    ev("local7", 184),
];
static LOGLEVEL: &[EnumVal] = &[ev("debug", 0), ev("verbose", 1), ev("notice", 2), ev("warning", 3)];
static SUPERVISED: &[EnumVal] = &[ev("upstart", 1), ev("systemd", 2), ev("auto", 3), ev("no", 0)];
static APPENDFSYNC: &[EnumVal] = &[ev("everysec", 2), ev("always", 1), ev("no", 0)];
/// `shutdown-on-sigint` / `shutdown-on-sigterm` flags.
pub static SHUTDOWN_ON_SIG: &[EnumVal] =
    &[ev("default", 0), ev("save", 1), ev("nosave", 2), ev("now", 4), ev("force", 8)];
static REPL_DISKLESS_LOAD: &[EnumVal] = &[ev("disabled", 0), ev("on-empty-db", 1), ev("swapdb", 2)];
static TLS_AUTH_CLIENTS: &[EnumVal] = &[ev("no", 0), ev("yes", 1), ev("optional", 2)];
static OOM_SCORE_ADJ: &[EnumVal] = &[ev("no", 0), ev("yes", 1), ev("relative", 1), ev("absolute", 2)];
static ACL_PUBSUB_DEFAULT: &[EnumVal] = &[ev("allchannels", 1), ev("resetchannels", 0)];
static SANITIZE_DUMP_PAYLOAD: &[EnumVal] = &[ev("no", 0), ev("yes", 1), ev("clients", 2)];
static PROTECTED_ACTION: &[EnumVal] = &[ev("no", 0), ev("yes", 1), ev("local", 2)];
static CLUSTER_ENDPOINT_TYPE: &[EnumVal] = &[ev("ip", 0), ev("hostname", 1), ev("unknown-endpoint", 2)];
static PROPAGATION_ERROR_BEHAVIOR: &[EnumVal] =
    &[ev("ignore", 0), ev("panic", 1), ev("panic-on-replicas", 2)];

fn check_dbfilename(v: &str) -> Result<(), &'static str> {
    if v.contains('/') {
        return Err("dbfilename can't be a path, just a filename");
    }
    Ok(())
}

fn check_aof_filename(v: &str) -> Result<(), &'static str> {
    if v.is_empty() {
        return Err("appendfilename can't be empty");
    }
    if v.contains('/') {
        return Err("appendfilename can't be a path, just a filename");
    }
    Ok(())
}

fn check_aof_dirname(v: &str) -> Result<(), &'static str> {
    if v.is_empty() {
        return Err("appenddirname can't be empty");
    }
    if v.contains('/') {
        return Err("appenddirname can't be a path, just a dirname");
    }
    Ok(())
}

fn check_hostname(v: &str) -> Result<(), &'static str> {
    if v.len() >= 256 {
        return Err("Hostnames must be less than 256 characters");
    }
    if !v.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'.') {
        return Err("Hostnames may only contain alphanumeric characters, hyphens or dots");
    }
    Ok(())
}

/// Redis `validateProcTitleTemplate`: every `{var}` must be known and the expansion (with an
/// empty title) must not be blank.
fn check_proc_title(v: &str) -> Result<(), &'static str> {
    const ERR: &str = "template format is invalid or contains unknown variables";
    let mut out = String::new();
    let mut rest = v;
    while let Some(start) = rest.find('{') {
        out.push_str(&rest[..start]);
        let after = &rest[start + 1..];
        if after.is_empty() {
            return Err(ERR);
        }
        if let Some(r) = after.strip_prefix('{') {
            out.push('{');
            rest = r;
            continue;
        }
        let end = after.find('}').ok_or(ERR)?;
        out.push_str(match &after[..end] {
            "title" | "server-mode" | "config-file" | "unixsocket" => "",
            "listen-addr" => "*:6379",
            "port" | "tls-port" => "0",
            _ => return Err(ERR),
        });
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    if out.trim_matches(' ').is_empty() {
        return Err(ERR);
    }
    Ok(())
}

macro_rules! directives {
    ($( $id:ident = $entry:expr ),* $(,)?) => {
        /// Index of each directive in [`TABLE`].
        #[allow(non_camel_case_types, missing_docs, dead_code, clippy::enum_variant_names)]
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        #[repr(usize)]
        pub enum Id { $($id),* }

        /// All directives, indexed by [`Id`].
        pub static TABLE: &[Directive] = &[ $($entry),* ];
    };
}

directives! {
    // Bool configs
    Rdbchecksum = b("rdbchecksum", None, I, true),
    Daemonize = b("daemonize", None, I, false),
    IoThreadsDoReads = b("io-threads-do-reads", None, I, false),
    AlwaysShowLogo = b("always-show-logo", None, I, false),
    ProtectedMode = b("protected-mode", None, M, true),
    Rdbcompression = b("rdbcompression", None, M, true),
    RdbDelSyncFiles = b("rdb-del-sync-files", None, M, false),
    Activerehashing = b("activerehashing", None, M, true),
    StopWritesOnBgsaveError = b("stop-writes-on-bgsave-error", None, M, true),
    SetProcTitle = b("set-proc-title", None, I, true),
    DynamicHz = b("dynamic-hz", None, M, true),
    LazyfreeLazyEviction = b("lazyfree-lazy-eviction", None, M, false),
    LazyfreeLazyExpire = b("lazyfree-lazy-expire", None, M, false),
    LazyfreeLazyServerDel = b("lazyfree-lazy-server-del", None, M, false),
    LazyfreeLazyUserDel = b("lazyfree-lazy-user-del", None, M, false),
    LazyfreeLazyUserFlush = b("lazyfree-lazy-user-flush", None, M, false),
    ReplDisableTcpNodelay = b("repl-disable-tcp-nodelay", None, M, false),
    ReplDisklessSync = b("repl-diskless-sync", None, M, true),
    AofRewriteIncrementalFsync = b("aof-rewrite-incremental-fsync", None, M, true),
    NoAppendfsyncOnRewrite = b("no-appendfsync-on-rewrite", None, M, false),
    ClusterRequireFullCoverage = b("cluster-require-full-coverage", None, M, true),
    RdbSaveIncrementalFsync = b("rdb-save-incremental-fsync", None, M, true),
    AofLoadTruncated = b("aof-load-truncated", None, M, true),
    AofUseRdbPreamble = b("aof-use-rdb-preamble", None, M, true),
    AofTimestampEnabled = b("aof-timestamp-enabled", None, M, false),
    ClusterReplicaNoFailover = b("cluster-replica-no-failover", Some("cluster-slave-no-failover"), M, false),
    ReplicaLazyFlush = b("replica-lazy-flush", Some("slave-lazy-flush"), M, false),
    ReplicaServeStaleData = b("replica-serve-stale-data", Some("slave-serve-stale-data"), M, true),
    ReplicaReadOnly = b("replica-read-only", Some("slave-read-only"), M, true),
    ReplicaIgnoreMaxmemory = b("replica-ignore-maxmemory", Some("slave-ignore-maxmemory"), M, true),
    JemallocBgThread = b("jemalloc-bg-thread", None, M, true),
    // Brim has no active defragmentation: refused like a Redis built without HAVE_DEFRAG.
    Activedefrag = b("activedefrag", None, M, false),
    SyslogEnabled = b("syslog-enabled", None, I, false),
    ClusterEnabled = b("cluster-enabled", None, I, false),
    Appendonly = b("appendonly", None, DENY_LOADING, false),
    ClusterAllowReadsWhenDown = b("cluster-allow-reads-when-down", None, M, false),
    ClusterAllowPubsubshardWhenDown = b("cluster-allow-pubsubshard-when-down", None, M, true),
    CrashLogEnabled = b("crash-log-enabled", None, M, true),
    CrashMemcheckEnabled = b("crash-memcheck-enabled", None, M, true),
    UseExitOnPanic = b("use-exit-on-panic", None, HIDDEN, false),
    DisableThp = b("disable-thp", None, I, true),
    ClusterAllowReplicaMigration = b("cluster-allow-replica-migration", None, M, true),
    ReplicaAnnounced = b("replica-announced", None, M, true),
    LatencyTracking = b("latency-tracking", None, M, true),
    AofDisableAutoGc = b("aof-disable-auto-gc", None, M, false),
    ReplicaIgnoreDiskWriteErrors = b("replica-ignore-disk-write-errors", None, M, false),

    // String configs
    Aclfile = s("aclfile", None, I, Some(""), false, None),
    Unixsocket = sn("unixsocket", I),
    Pidfile = sn("pidfile", I),
    ReplicaAnnounceIp = s("replica-announce-ip", Some("slave-announce-ip"), M, None, true, None),
    Masteruser = sn("masteruser", SENSITIVE),
    ClusterAnnounceIp = sn("cluster-announce-ip", M),
    ClusterConfigFile = s("cluster-config-file", None, I, Some("nodes.conf"), false, None),
    ClusterAnnounceHostname = s("cluster-announce-hostname", None, M, None, true, Some(check_hostname)),
    SyslogIdent = s("syslog-ident", None, I, Some("redis"), false, None),
    Dbfilename = s("dbfilename", None, PROTECTED, Some("dump.rdb"), false, Some(check_dbfilename)),
    Appendfilename = s("appendfilename", None, I, Some("appendonly.aof"), false, Some(check_aof_filename)),
    Appenddirname = s("appenddirname", None, I, Some("appendonlydir"), false, Some(check_aof_dirname)),
    ServerCpulist = sn("server_cpulist", I),
    BioCpulist = sn("bio_cpulist", I),
    AofRewriteCpulist = sn("aof_rewrite_cpulist", I),
    BgsaveCpulist = sn("bgsave_cpulist", I),
    IgnoreWarnings = s("ignore-warnings", None, M, Some(""), false, None),
    ProcTitleTemplate = s("proc-title-template", None, M, Some("{title} {listen-addr} {server-mode}"), false, Some(check_proc_title)),
    BindSourceAddr = sn("bind-source-addr", M),
    Logfile = s("logfile", None, I, Some(""), false, None),
    Masterauth = sn("masterauth", SENSITIVE),
    Requirepass = sn("requirepass", SENSITIVE),

    // Enum configs
    Supervised = en("supervised", I, SUPERVISED, 0),
    SyslogFacility = en("syslog-facility", I, SYSLOG_FACILITY, 128),
    ReplDisklessLoad = en("repl-diskless-load", DENY_LOADING, REPL_DISKLESS_LOAD, 0),
    Loglevel = en("loglevel", M, LOGLEVEL, 2),
    MaxmemoryPolicy = en("maxmemory-policy", M, MAXMEMORY_POLICY, 7),
    Appendfsync = en("appendfsync", M, APPENDFSYNC, 2),
    OomScoreAdj = en("oom-score-adj", M, OOM_SCORE_ADJ, 0),
    AclPubsubDefault = en("acl-pubsub-default", M, ACL_PUBSUB_DEFAULT, 0),
    SanitizeDumpPayload = en("sanitize-dump-payload", M, SANITIZE_DUMP_PAYLOAD, 0),
    EnableProtectedConfigs = en("enable-protected-configs", I, PROTECTED_ACTION, 0),
    EnableDebugCommand = en("enable-debug-command", I, PROTECTED_ACTION, 0),
    EnableModuleCommand = en("enable-module-command", I, PROTECTED_ACTION, 0),
    ClusterPreferredEndpointType = en("cluster-preferred-endpoint-type", M, CLUSTER_ENDPOINT_TYPE, 0),
    PropagationErrorBehavior = en("propagation-error-behavior", M, PROPAGATION_ERROR_BEHAVIOR, 0),
    ShutdownOnSigint = Directive { name: "shutdown-on-sigint", alias: None, flags: MULTI_ARG, kind: Kind::Enum { values: SHUTDOWN_ON_SIG, default: 0, bitflags: true } },
    ShutdownOnSigterm = Directive { name: "shutdown-on-sigterm", alias: None, flags: MULTI_ARG, kind: Kind::Enum { values: SHUTDOWN_ON_SIG, default: 0, bitflags: true } },

    // Integer configs
    Databases = int("databases", None, I, 1, INT_MAX, 16),
    Port = int("port", None, M, 0, 65535, 6379),
    // Brim's default is the number of CPU cores (see `Config::io_threads`).
    IoThreads = int("io-threads", None, I, 1, 128, 1),
    AutoAofRewritePercentage = int("auto-aof-rewrite-percentage", None, M, 0, INT_MAX, 100),
    ClusterReplicaValidityFactor = int("cluster-replica-validity-factor", Some("cluster-slave-validity-factor"), M, 0, INT_MAX, 10),
    ListMaxListpackSize = int("list-max-listpack-size", Some("list-max-ziplist-size"), M, INT_MIN, INT_MAX, -2),
    TcpKeepalive = int("tcp-keepalive", None, M, 0, INT_MAX, 300),
    ClusterMigrationBarrier = int("cluster-migration-barrier", None, M, 0, INT_MAX, 1),
    ActiveDefragCycleMin = int("active-defrag-cycle-min", None, M, 1, 99, 1),
    ActiveDefragCycleMax = int("active-defrag-cycle-max", None, M, 1, 99, 25),
    ActiveDefragThresholdLower = int("active-defrag-threshold-lower", None, M, 0, 1000, 10),
    ActiveDefragThresholdUpper = int("active-defrag-threshold-upper", None, M, 0, 1000, 100),
    LfuLogFactor = int("lfu-log-factor", None, M, 0, INT_MAX, 10),
    LfuDecayTime = int("lfu-decay-time", None, M, 0, INT_MAX, 1),
    ReplicaPriority = int("replica-priority", Some("slave-priority"), M, 0, INT_MAX, 100),
    ReplDisklessSyncDelay = int("repl-diskless-sync-delay", None, M, 0, INT_MAX, 5),
    MaxmemorySamples = int("maxmemory-samples", None, M, 1, INT_MAX, 5),
    MaxmemoryEvictionTenacity = int("maxmemory-eviction-tenacity", None, M, 0, 100, 10),
    Timeout = int("timeout", None, M, 0, INT_MAX, 0),
    ReplicaAnnouncePort = int("replica-announce-port", Some("slave-announce-port"), M, 0, 65535, 0),
    TcpBacklog = int("tcp-backlog", None, I, 0, INT_MAX, 511),
    ClusterPort = int("cluster-port", None, I, 0, 65535, 0),
    ClusterAnnounceBusPort = int("cluster-announce-bus-port", None, M, 0, 65535, 0),
    ClusterAnnouncePort = int("cluster-announce-port", None, M, 0, 65535, 0),
    ClusterAnnounceTlsPort = int("cluster-announce-tls-port", None, M, 0, 65535, 0),
    ReplTimeout = int("repl-timeout", None, M, 1, INT_MAX, 60),
    ReplPingReplicaPeriod = int("repl-ping-replica-period", Some("repl-ping-slave-period"), M, 1, INT_MAX, 10),
    ListCompressDepth = int("list-compress-depth", None, M, 0, INT_MAX, 1),
    RdbKeySaveDelay = int("rdb-key-save-delay", None, HIDDEN, INT_MIN, INT_MAX, 0),
    KeyLoadDelay = int("key-load-delay", None, HIDDEN, INT_MIN, INT_MAX, 0),
    ActiveExpireEffort = int("active-expire-effort", None, M, 1, 10, 1),
    Hz = int("hz", None, M, 0, INT_MAX, 10),
    MinReplicasToWrite = int("min-replicas-to-write", Some("min-slaves-to-write"), M, 0, INT_MAX, 0),
    MinReplicasMaxLag = int("min-replicas-max-lag", Some("min-slaves-max-lag"), M, 0, INT_MAX, 10),
    WatchdogPeriod = int("watchdog-period", None, HIDDEN, 0, INT_MAX, 0),
    ShutdownTimeout = int("shutdown-timeout", None, M, 0, INT_MAX, 10),
    ReplDisklessSyncMaxReplicas = int("repl-diskless-sync-max-replicas", None, M, 0, INT_MAX, 0),

    // Unsigned int configs
    Maxclients = uint("maxclients", None, M, 1, UINT_MAX, 10000),
    Unixsocketperm = num("unixsocketperm", None, I, 0, 0o777, 0, true, NumFmt::Octal),
    SocketMarkId = uint("socket-mark-id", None, I, 0, UINT_MAX, 0),

    // Unsigned long configs (bounds checked as signed, like Redis)
    ActiveDefragMaxScanFields = int("active-defrag-max-scan-fields", None, M, 1, LONG_MAX, 1000),
    SlowlogMaxLen = int("slowlog-max-len", None, M, 0, LONG_MAX, 128),
    AcllogMaxLen = int("acllog-max-len", None, M, 0, LONG_MAX, 128),

    // Long long configs
    BusyReplyThreshold = int("busy-reply-threshold", Some("lua-time-limit"), M, 0, LONG_MAX, 5000),
    ClusterNodeTimeout = int("cluster-node-timeout", None, M, 0, LONG_MAX, 15000),
    SlowlogLogSlowerThan = int("slowlog-log-slower-than", None, M, -1, LONG_MAX, 10000),
    LatencyMonitorThreshold = int("latency-monitor-threshold", None, M, 0, LONG_MAX, 0),
    ProtoMaxBulkLen = mem("proto-max-bulk-len", M, MB, LONG_MAX, 512 * MB),
    StreamNodeMaxEntries = int("stream-node-max-entries", None, M, 0, LONG_MAX, 100),
    ReplBacklogSize = mem("repl-backlog-size", M, 1, LONG_MAX, MB),

    // Unsigned long long configs
    Maxmemory = umem("maxmemory", None, M, 0, ULLONG_MAX, 0),
    ClusterLinkSendbufLimit = umem("cluster-link-sendbuf-limit", None, M, 0, ULLONG_MAX, 0),

    // Size_t configs
    HashMaxListpackEntries = uint("hash-max-listpack-entries", Some("hash-max-ziplist-entries"), M, 0, LONG_MAX, 512),
    SetMaxIntsetEntries = uint("set-max-intset-entries", None, M, 0, LONG_MAX, 512),
    ZsetMaxListpackEntries = uint("zset-max-listpack-entries", Some("zset-max-ziplist-entries"), M, 0, LONG_MAX, 128),
    ActiveDefragIgnoreBytes = umem("active-defrag-ignore-bytes", None, M, 1, LONG_MAX, 100 * MB),
    HashMaxListpackValue = umem("hash-max-listpack-value", Some("hash-max-ziplist-value"), M, 0, LONG_MAX, 64),
    StreamNodeMaxBytes = umem("stream-node-max-bytes", None, M, 0, LONG_MAX, 4096),
    ZsetMaxListpackValue = umem("zset-max-listpack-value", Some("zset-max-ziplist-value"), M, 0, LONG_MAX, 64),
    HllSparseMaxBytes = umem("hll-sparse-max-bytes", None, M, 0, LONG_MAX, 3000),
    TrackingTableMaxKeys = uint("tracking-table-max-keys", None, M, 0, LONG_MAX, 1_000_000),
    ClientQueryBufferLimit = umem("client-query-buffer-limit", None, M, MB, LONG_MAX, 1024 * MB),
    MaxmemoryClients = num("maxmemory-clients", None, M, -100, LONG_MAX, 0, false, NumFmt::MemoryPercent),
    // Brim extensions (Redis 7.2 names), hidden so that `CONFIG GET *` matches Redis 7.0.
    SetMaxListpackEntries = uint("set-max-listpack-entries", None, HIDDEN, 0, LONG_MAX, 128),
    SetMaxListpackValue = umem("set-max-listpack-value", None, HIDDEN, 0, LONG_MAX, 64),

    // Other numeric configs
    ReplBacklogTtl = int("repl-backlog-ttl", None, M, 0, LONG_MAX, 3600),
    AutoAofRewriteMinSize = mem("auto-aof-rewrite-min-size", M, 0, LONG_MAX, 64 * MB),
    LoadingProcessEventsIntervalBytes = int("loading-process-events-interval-bytes", None, HIDDEN, 1024, INT_MAX, 2 * MB),

    // TLS configs
    TlsPort = int("tls-port", None, M, 0, 65535, 0),
    TlsSessionCacheSize = int("tls-session-cache-size", None, M, 0, INT_MAX, 20 * 1024),
    TlsSessionCacheTimeout = int("tls-session-cache-timeout", None, M, 0, INT_MAX, 300),
    TlsCluster = b("tls-cluster", None, M, false),
    TlsReplication = b("tls-replication", None, M, false),
    TlsAuthClients = en("tls-auth-clients", M, TLS_AUTH_CLIENTS, 1),
    TlsPreferServerCiphers = b("tls-prefer-server-ciphers", None, M, false),
    TlsSessionCaching = b("tls-session-caching", None, M, true),
    TlsCertFile = sn("tls-cert-file", M),
    TlsKeyFile = sn("tls-key-file", M),
    TlsKeyFilePass = sn("tls-key-file-pass", M),
    TlsClientCertFile = sn("tls-client-cert-file", M),
    TlsClientKeyFile = sn("tls-client-key-file", M),
    TlsClientKeyFilePass = sn("tls-client-key-file-pass", M),
    TlsDhParamsFile = sn("tls-dh-params-file", M),
    TlsCaCertFile = sn("tls-ca-cert-file", M),
    TlsCaCertDir = sn("tls-ca-cert-dir", M),
    TlsProtocols = sn("tls-protocols", M),
    TlsCiphers = sn("tls-ciphers", M),
    TlsCiphersuites = sn("tls-ciphersuites", M),

    // Special configs
    Dir = sp("dir", None, PROTECTED | DENY_LOADING, Special::Dir),
    Save = sp("save", None, MULTI_ARG, Special::Save),
    ClientOutputBufferLimit = sp("client-output-buffer-limit", None, MULTI_ARG, Special::ClientOutputBufferLimit),
    OomScoreAdjValues = sp("oom-score-adj-values", None, MULTI_ARG, Special::OomScoreAdjValues),
    NotifyKeyspaceEvents = sp("notify-keyspace-events", None, M, Special::NotifyKeyspaceEvents),
    Bind = sp("bind", None, MULTI_ARG, Special::Bind),
    Replicaof = sp("replicaof", Some("slaveof"), I | MULTI_ARG, Special::Replicaof),
    LatencyTrackingInfoPercentiles = sp("latency-tracking-info-percentiles", None, MULTI_ARG, Special::LatencyTrackingInfoPercentiles),
}

/// A name resolved against the table: which directive and whether the alias was used.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Resolved {
    /// Table index.
    pub idx: usize,
    /// The name matched the alias rather than the primary name.
    pub alias: bool,
}

impl Resolved {
    /// The registered spelling of the name that matched (primary or alias).
    pub fn registered_name(self) -> &'static str {
        let d = &TABLE[self.idx];
        if self.alias {
            d.alias.unwrap_or(d.name)
        } else {
            d.name
        }
    }
}

/// Case-insensitive lookup of a directive by primary name or alias.
pub fn lookup(name: &[u8]) -> Option<Resolved> {
    static INDEX: std::sync::OnceLock<std::collections::HashMap<String, Resolved>> =
        std::sync::OnceLock::new();
    let index = INDEX.get_or_init(|| {
        let mut m = std::collections::HashMap::new();
        for (idx, d) in TABLE.iter().enumerate() {
            m.insert(d.name.to_string(), Resolved { idx, alias: false });
            if let Some(a) = d.alias {
                m.insert(a.to_string(), Resolved { idx, alias: true });
            }
        }
        m
    });
    let lower = std::str::from_utf8(name).ok()?.to_ascii_lowercase();
    index.get(&lower).copied()
}

/// All registered names in table order (primary name, then its alias), like Redis's config
/// dictionary which holds one entry per name.
pub fn registered() -> impl Iterator<Item = Resolved> {
    TABLE.iter().enumerate().flat_map(|(idx, d)| {
        std::iter::once(Resolved { idx, alias: false }).chain(d.alias.map(|_| Resolved { idx, alias: true }))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_unique_and_lowercase() {
        let mut seen = std::collections::HashSet::new();
        for r in registered() {
            let n = r.registered_name();
            assert_eq!(n, n.to_ascii_lowercase());
            assert!(seen.insert(n), "duplicate {n}");
        }
    }

    #[test]
    fn id_matches_table() {
        assert_eq!(TABLE[Id::Maxmemory as usize].name, "maxmemory");
        assert_eq!(TABLE[Id::Replicaof as usize].alias, Some("slaveof"));
        assert_eq!(Id::LatencyTrackingInfoPercentiles as usize, TABLE.len() - 1);
    }

    #[test]
    fn proc_title() {
        assert!(check_proc_title("{title} {listen-addr} {server-mode}").is_ok());
        assert!(check_proc_title("{title}").is_err());
        assert!(check_proc_title("").is_err());
        assert!(check_proc_title("{foo}").is_err());
        assert!(check_proc_title("x {{ y").is_ok());
        assert!(check_proc_title("x {").is_err());
    }
}
