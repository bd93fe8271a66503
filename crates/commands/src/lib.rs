//! The command table and one module per command family. Turns parsed arguments into
//! engine calls and replies. A command lives in the module of its family: `GET` in
//! `strings.rs`, `EXPIRE` in `keys.rs`, `LPUSH` in `lists.rs`, `HSET` in `hashes.rs`,
//! `SADD` in `sets.rs`, `ZADD` in `zsets.rs`, `CLIENT LIST` in `connection.rs`, `INFO` in
//! `server.rs`, `MULTI` in `transactions.rs`, `COMMAND` in `command.rs`.

pub mod args;
pub mod bitmaps;
pub mod blocking;
pub mod client;
pub mod client_evict;
pub mod command;
pub mod connection;
pub mod ctx;
pub mod dispatch;
pub mod geo;
pub mod hashes;
pub mod hyperloglog;
pub mod keys;
pub mod lists;
pub mod memory;
pub mod notify;
pub mod persistence;
pub mod propagate;
pub mod pubsub;
pub mod server;
pub mod sets;
pub mod shared;
pub mod slowlog;
pub mod sort;
pub mod spec;
pub mod stats;
pub mod strings;
pub mod table;
pub mod tracking;
pub mod transactions;
pub mod zsets;

pub use client::{Client, ClientHandle, ReplyMode};
pub use ctx::Ctx;
pub use dispatch::{Gate, Outcome, Session};
pub use shared::{Shared, ShutdownKind};
