//! Brim's persistence: Redis-compatible RDB files and DUMP payloads.
//!
//! - [`crc64`], [`lzf`]: Redis's checksum and string compression.
//! - [`listpack`], [`ziplist`], [`intset`]: Redis's compact binary formats, read (every
//!   encoding) and, for listpack and intset, written.
//! - [`rdb`]: the RDB format: [`rdb::encode`] writes keys from Brim's keyspace,
//!   [`rdb::decode`] reads every type and encoding of RDB versions 1 to 11.
//! - [`values`]: builds keyspace values from what was read, in the encodings Brim's
//!   commands choose.
//! - [`dump`]: DUMP / RESTORE payloads (a value, the RDB version, a CRC-64).
//! - [`file`]: saving the whole keyspace to an RDB file and loading one at start-up.
//! - [`aof`]: the multi-part append-only file's manifest, names and command encoding.
//! - [`aof_commands`]: the dataset as commands (the AOF base with `aof-use-rdb-preamble no`).
//! - [`snapshot`]: point-in-time background saves without fork (per-key copy on write).
//! - `dataset`: the framing of a whole dataset, RDB or commands.

pub mod aof;
pub mod aof_commands;
pub mod crc64;
mod dataset;
pub mod dump;
pub mod file;
pub mod intset;
pub mod listpack;
pub mod lzf;
pub mod rdb;
pub mod snapshot;
pub mod values;
pub mod ziplist;
