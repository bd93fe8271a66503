//! The RDB format: constants, the decoded value model, and the encoder and decoder.
//!
//! A file is `REDIS` + four version digits, then records: AUX fields, SELECTDB, RESIZEDB,
//! key/value pairs (optionally preceded by EXPIRETIME_MS, IDLE or FREQ), and EOF followed by
//! a CRC-64 of everything before it (0 when checksums are disabled). Brim writes version 10
//! (Redis 7.0) and reads versions 1 to 11 (Redis 7.2).

pub mod decode;
pub mod encode;

/// The version Brim writes (Redis 7.0's).
pub const RDB_VERSION: u16 = 10;
/// The newest version Brim reads (Redis 7.2's).
pub const RDB_MAX_READ_VERSION: u16 = 11;

/// Value types (the byte before a key).
pub mod types {
    /// A string.
    pub const STRING: u8 = 0;
    /// A list as a plain sequence of strings.
    pub const LIST: u8 = 1;
    /// A set as a plain sequence of strings.
    pub const SET: u8 = 2;
    /// A sorted set with scores as strings.
    pub const ZSET: u8 = 3;
    /// A hash as field/value pairs.
    pub const HASH: u8 = 4;
    /// A sorted set with binary scores.
    pub const ZSET_2: u8 = 5;
    /// A module value (pre-GA format).
    pub const MODULE_PRE_GA: u8 = 6;
    /// A module value.
    pub const MODULE_2: u8 = 7;
    /// A hash as a zipmap (Redis < 2.6).
    pub const HASH_ZIPMAP: u8 = 9;
    /// A list as one ziplist.
    pub const LIST_ZIPLIST: u8 = 10;
    /// A set of integers as an intset.
    pub const SET_INTSET: u8 = 11;
    /// A sorted set as a ziplist.
    pub const ZSET_ZIPLIST: u8 = 12;
    /// A hash as a ziplist.
    pub const HASH_ZIPLIST: u8 = 13;
    /// A list as a quicklist of ziplists.
    pub const LIST_QUICKLIST: u8 = 14;
    /// A stream.
    pub const STREAM_LISTPACKS: u8 = 15;
    /// A hash as a listpack.
    pub const HASH_LISTPACK: u8 = 16;
    /// A sorted set as a listpack.
    pub const ZSET_LISTPACK: u8 = 17;
    /// A list as a quicklist of listpack or plain nodes.
    pub const LIST_QUICKLIST_2: u8 = 18;
    /// A stream (Redis 7.0).
    pub const STREAM_LISTPACKS_2: u8 = 19;
    /// A set as a listpack (Redis 7.2).
    pub const SET_LISTPACK: u8 = 20;
    /// A stream (Redis 7.2).
    pub const STREAM_LISTPACKS_3: u8 = 21;
}

/// Opcodes (record types that are not values).
pub mod opcodes {
    /// Function library (Redis 7.0).
    pub const FUNCTION2: u8 = 245;
    /// Function library (Redis 7.0 release candidates).
    pub const FUNCTION_PRE_GA: u8 = 246;
    /// Module auxiliary data.
    pub const MODULE_AUX: u8 = 247;
    /// LRU idle time of the next key, in seconds.
    pub const IDLE: u8 = 248;
    /// LFU counter of the next key.
    pub const FREQ: u8 = 249;
    /// An auxiliary field.
    pub const AUX: u8 = 250;
    /// Database and expires sizes (hints).
    pub const RESIZEDB: u8 = 251;
    /// Expire time of the next key in ms.
    pub const EXPIRETIME_MS: u8 = 252;
    /// Expire time of the next key in seconds.
    pub const EXPIRETIME: u8 = 253;
    /// Select a database.
    pub const SELECTDB: u8 = 254;
    /// End of file.
    pub const EOF: u8 = 255;
}

/// Quicklist node containers (RDB_TYPE_LIST_QUICKLIST_2).
pub mod container {
    /// A node holding one plain element.
    pub const PLAIN: u64 = 1;
    /// A node holding a listpack.
    pub const PACKED: u64 = 2;
}

/// A value as read from an RDB file or a DUMP payload, before it is stored.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// A string.
    Str(Vec<u8>),
    /// A list's elements, head to tail.
    List(Vec<Vec<u8>>),
    /// A set's members.
    Set(Vec<Vec<u8>>),
    /// A hash's fields and values.
    Hash(Vec<(Vec<u8>, Vec<u8>)>),
    /// A sorted set's members and scores.
    ZSet(Vec<(Vec<u8>, f64)>),
}

impl Value {
    /// Number of elements (1 for a string).
    pub fn len(&self) -> usize {
        match self {
            Value::Str(_) => 1,
            Value::List(v) | Value::Set(v) => v.len(),
            Value::Hash(v) => v.len(),
            Value::ZSet(v) => v.len(),
        }
    }

    /// Whether it is an empty collection (Redis skips those when loading).
    pub fn is_empty(&self) -> bool {
        !matches!(self, Value::Str(_)) && self.len() == 0
    }
}

/// An error reading or writing RDB data.
#[derive(Debug)]
pub struct Error(pub String);

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Self {
        if e.kind() == std::io::ErrorKind::UnexpectedEof {
            Error("Short read or OOM loading DB. Unrecoverable error, aborting now.".into())
        } else {
            Error(e.to_string())
        }
    }
}

/// Result of RDB operations.
pub type Result<T> = std::result::Result<T, Error>;

/// Shorthand for a corruption error.
pub(crate) fn corrupt<T>(what: &str) -> Result<T> {
    Err(Error(format!("Internal error in RDB reading: {what}")))
}
