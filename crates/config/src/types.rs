//! Typed views of enum-valued directives.

macro_rules! config_enum {
    ($(#[$m:meta])* $name:ident { $($(#[$vm:meta])* $var:ident = $raw:expr => $text:expr),* $(,)? }) => {
        $(#[$m])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum $name { $($(#[$vm])* $var),* }

        impl $name {
            /// From the stored table value (unknown values map to the first variant).
            pub(crate) fn from_raw(raw: i64) -> Self {
                match raw {
                    $(x if x == $raw => $name::$var,)*
                    _ => config_enum!(@first $($name::$var),*),
                }
            }

            /// The name as written in redis.conf and printed by CONFIG GET.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$var => $text),* }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
    (@first $first:expr $(, $rest:expr)*) => { $first };
}

config_enum! {
    /// `maxmemory-policy`.
    MaxmemoryPolicy {
        /// Evict using approximated LRU, only keys with an expire set.
        VolatileLru = 0 => "volatile-lru",
        /// Evict using approximated LFU, only keys with an expire set.
        VolatileLfu = 1 => "volatile-lfu",
        /// Remove a random key having an expire set.
        VolatileRandom = 2 => "volatile-random",
        /// Remove the key with the nearest expire time.
        VolatileTtl = 3 => "volatile-ttl",
        /// Evict any key using approximated LRU.
        AllkeysLru = 4 => "allkeys-lru",
        /// Evict any key using approximated LFU.
        AllkeysLfu = 5 => "allkeys-lfu",
        /// Remove a random key, any key.
        AllkeysRandom = 6 => "allkeys-random",
        /// Don't evict anything, just return an error on write operations.
        NoEviction = 7 => "noeviction",
        /// Evict any key using approximated least-recently-modified.
        AllkeysLrm = 8 => "allkeys-lrm",
        /// Evict keys with an expire using approximated least-recently-modified.
        VolatileLrm = 9 => "volatile-lrm",
    }
}

impl MaxmemoryPolicy {
    /// Only keys with an expire are candidates.
    pub fn is_volatile(self) -> bool {
        matches!(
            self,
            Self::VolatileLru
                | Self::VolatileLfu
                | Self::VolatileRandom
                | Self::VolatileTtl
                | Self::VolatileLrm
        )
    }

    /// Uses LFU counters (the object's access field holds LFU data).
    pub fn is_lfu(self) -> bool {
        matches!(self, Self::VolatileLfu | Self::AllkeysLfu)
    }
}

config_enum! {
    /// `loglevel`.
    LogLevel {
        /// Very verbose.
        Debug = 0 => "debug",
        /// Verbose.
        Verbose = 1 => "verbose",
        /// Production default.
        Notice = 2 => "notice",
        /// Only important messages.
        Warning = 3 => "warning",
    }
}

config_enum! {
    /// `appendfsync`.
    AppendFsync {
        /// Don't fsync, let the OS decide.
        No = 0 => "no",
        /// fsync after every write.
        Always = 1 => "always",
        /// fsync once per second.
        Everysec = 2 => "everysec",
    }
}

config_enum! {
    /// `repl-diskless-load`.
    ReplDisklessLoad {
        /// Load from disk.
        Disabled = 0 => "disabled",
        /// Load from the socket only when the dataset is empty.
        OnEmptyDb = 1 => "on-empty-db",
        /// Keep a copy of the dataset while loading from the socket.
        Swapdb = 2 => "swapdb",
    }
}

config_enum! {
    /// `enable-protected-configs`, `enable-debug-command`, `enable-module-command`.
    ProtectedAction {
        /// Never allowed.
        No = 0 => "no",
        /// Always allowed.
        Yes = 1 => "yes",
        /// Allowed for local (loopback / unix socket) connections.
        Local = 2 => "local",
    }
}

impl ProtectedAction {
    /// Redis `allowProtectedAction`.
    pub fn allows(self, local_client: bool) -> bool {
        self == Self::Yes || (self == Self::Local && local_client)
    }
}

config_enum! {
    /// `sanitize-dump-payload`.
    SanitizeDumpPayload {
        /// Never deep-sanitize.
        No = 0 => "no",
        /// Always deep-sanitize.
        Yes = 1 => "yes",
        /// Deep-sanitize for client connections only.
        Clients = 2 => "clients",
    }
}

config_enum! {
    /// `propagation-error-behavior`.
    PropagationErrorBehavior {
        /// Ignore errors in replicated / AOF commands.
        Ignore = 0 => "ignore",
        /// Panic.
        Panic = 1 => "panic",
        /// Panic only on replicas.
        PanicOnReplicas = 2 => "panic-on-replicas",
    }
}

config_enum! {
    /// `oom-score-adj`.
    OomScoreAdj {
        /// Don't touch oom_score_adj.
        No = 0 => "no",
        /// Values are relative to the initial oom_score_adj (`yes` is an alias).
        Relative = 1 => "yes",
        /// Values are absolute.
        Absolute = 2 => "absolute",
    }
}

config_enum! {
    /// `acl-pubsub-default`.
    AclPubsubDefault {
        /// New users get no channel permissions.
        ResetChannels = 0 => "resetchannels",
        /// New users may access all channels.
        AllChannels = 1 => "allchannels",
    }
}

/// Client classes of `client-output-buffer-limit`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ClientClass {
    /// Normal clients (including MONITOR).
    Normal = 0,
    /// Replicas.
    Replica = 1,
    /// Pub/Sub subscribers.
    Pubsub = 2,
}

impl ClientClass {
    /// Redis `getClientTypeByName` restricted to the classes that have limits.
    pub(crate) fn parse(name: &[u8]) -> Option<Self> {
        if name.eq_ignore_ascii_case(b"normal") {
            Some(Self::Normal)
        } else if name.eq_ignore_ascii_case(b"slave") || name.eq_ignore_ascii_case(b"replica") {
            Some(Self::Replica)
        } else if name.eq_ignore_ascii_case(b"pubsub") {
            Some(Self::Pubsub)
        } else {
            None
        }
    }

    /// Name used by CONFIG GET (`slave` for replicas, like Redis).
    pub(crate) fn get_name(self) -> &'static str {
        ["normal", "slave", "pubsub"][self as usize]
    }

    pub(crate) const ALL: [ClientClass; 3] = [Self::Normal, Self::Replica, Self::Pubsub];
}

/// One class of `client-output-buffer-limit`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct ObufLimit {
    /// Hard limit in bytes (0 = none).
    pub hard: u64,
    /// Soft limit in bytes (0 = none).
    pub soft: u64,
    /// Seconds the soft limit may be exceeded.
    pub soft_seconds: u64,
}

/// `maxmemory-clients`: absolute or a percentage of `maxmemory`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MaxmemoryClients {
    /// Absolute byte limit (0 = disabled).
    Bytes(u64),
    /// Percentage of `maxmemory` (1..=100).
    Percent(u64),
}

/// Flags of `shutdown-on-sigint` / `shutdown-on-sigterm` (Redis `SHUTDOWN_*`).
pub mod shutdown {
    /// Force a save even without save points.
    pub const SAVE: u32 = 1;
    /// Skip saving.
    pub const NOSAVE: u32 = 2;
    /// Don't wait for replicas.
    pub const NOW: u32 = 4;
    /// Ignore errors writing the RDB / AOF.
    pub const FORCE: u32 = 8;
}
