//! The command table and one module per command family. Turns parsed arguments into
//! engine calls and replies. A command lives in the module of its family: `GET` in
//! `strings.rs`, `EXPIRE` in `keys.rs`, `CLIENT LIST` in `connection.rs`, `INFO` in
//! `server.rs`, `MULTI` in `transactions.rs`, `COMMAND` in `command.rs`.

pub mod args;
pub mod client;
pub mod command;
pub mod connection;
pub mod ctx;
pub mod dispatch;
pub mod keys;
pub mod server;
pub mod shared;
pub mod slowlog;
pub mod spec;
pub mod stats;
pub mod strings;
pub mod table;
pub mod transactions;

pub use client::{Client, ClientHandle, ReplyMode};
pub use ctx::Ctx;
pub use dispatch::{Gate, Outcome, Session};
pub use shared::{Shared, ShutdownKind};
