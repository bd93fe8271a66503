//! Server commands: INFO, CONFIG, DBSIZE, FLUSHDB/FLUSHALL, SWAPDB, TIME, SLOWLOG, DEBUG,
//! SHUTDOWN, MONITOR, LASTSAVE, WAIT.
//!
//! INFO lives in `server/info.rs`, CONFIG in `server/config.rs`, DEBUG in `server/debug.rs`;
//! the rest is here.

mod config;
mod debug;
mod info;

use std::sync::atomic::Ordering::Relaxed;
use std::sync::OnceLock;

use crate::args::{is, parse_i64, NOT_INTEGER, SYNTAX};
use crate::ctx::Ctx;
use crate::shared::{unix_us, ShutdownKind};
use crate::table::{cmd, exclusive, Registration};

pub use info::{
    bytes_to_human, changes_since_save, info_string, rss_bytes, track_instantaneous_metrics, worker_totals,
    Sections, WorkerTotals,
};

/// The server family.
pub const COMMANDS: &[Registration] = &[
    cmd("info", info::info),
    cmd("config|get", config::get),
    cmd("config|set", config::set),
    cmd("config|resetstat", config::resetstat),
    cmd("config|rewrite", config::rewrite),
    cmd("config|help", config::help),
    cmd("dbsize", dbsize),
    exclusive("flushdb", flushdb),
    exclusive("flushall", flushall),
    exclusive("swapdb", swapdb),
    cmd("time", time),
    cmd("lastsave", lastsave),
    cmd("wait", wait),
    cmd("monitor", monitor),
    cmd("slowlog|get", slowlog_get),
    cmd("slowlog|len", slowlog_len),
    cmd("slowlog|reset", slowlog_reset),
    cmd("slowlog|help", slowlog_help),
    exclusive("debug", debug::debug),
    exclusive("shutdown", shutdown),
];

/// Where CONFIG SET reports a new `loglevel` (`debug`, `verbose`, `notice`, `warning`). The
/// binary installs its logger's level setter here at start-up; until then the change only
/// shows in CONFIG GET.
pub static LOGLEVEL_HOOK: OnceLock<fn(&str)> = OnceLock::new();

/// `ERR unknown subcommand or wrong number of arguments for '<sub>'. Try <CMD> HELP.`
pub fn subcommand_syntax_error(ctx: &mut Ctx, command: &str, sub: &[u8]) {
    let sub = String::from_utf8_lossy(&sub[..sub.len().min(128)]).into_owned();
    ctx.error(&format!(
        "ERR unknown subcommand or wrong number of arguments for '{sub}'. Try {command} HELP."
    ));
}

/// Whether the calling client is local (unix socket or loopback address), for protected
/// configs and commands.
pub fn is_local_client(ctx: &Ctx) -> bool {
    let h = &ctx.client.handle;
    if h.unix {
        return true;
    }
    let host = match h.addr.rsplit_once(':') {
        Some((host, _)) => host.trim_start_matches('[').trim_end_matches(']'),
        None => h.addr.as_str(),
    };
    match host.parse::<std::net::IpAddr>() {
        Ok(ip) => ip.is_loopback(),
        Err(_) => false,
    }
}

fn dbsize(ctx: &mut Ctx, _args: &[&[u8]]) {
    let n = ctx.db().len();
    ctx.out.int(n as i64);
}

/// Parse FLUSHDB / FLUSHALL's optional `ASYNC` / `SYNC` as Redis 7.0's
/// getFlushCommandFlags: whether to free asynchronously (no argument: as
/// `lazyfree-lazy-user-flush` says; an explicit `SYNC` is synchronous whatever it says).
/// Writes the error and returns `None` on a bad argument.
fn flush_async(ctx: &mut Ctx, args: &[&[u8]]) -> Option<bool> {
    let lazy = match args.len() {
        1 => Some(ctx.shared.config.lazyfree_lazy_user_flush()),
        2 if is(args[1], "sync") => Some(false),
        2 if is(args[1], "async") => Some(true),
        _ => None,
    };
    if lazy.is_none() {
        ctx.error(SYNTAX);
    }
    lazy
}

/// Empty one database: at once, its keys freed on the lazy-free thread when `lazy`, else
/// freed here.
fn flush_db(db: &brim_engine::Db, lazy: bool) {
    if lazy {
        brim_engine::lazyfree::flush_db_async(db);
    } else {
        db.clear();
    }
}

/// FLUSHDB [ASYNC|SYNC]
fn flushdb(ctx: &mut Ctx, args: &[&[u8]]) {
    let Some(lazy) = flush_async(ctx, args) else { return };
    flush_db(ctx.db(), lazy);
    ctx.out.ok();
}

/// FLUSHALL [ASYNC|SYNC]
fn flushall(ctx: &mut Ctx, args: &[&[u8]]) {
    let Some(lazy) = flush_async(ctx, args) else { return };
    for db in ctx.shared.keyspace.dbs() {
        flush_db(db, lazy);
    }
    ctx.out.ok();
}

/// Keep the engine's lazy-free switches (`lazyfree-lazy-server-del`,
/// `lazyfree-lazy-expire`: see `brim_engine::lazyfree::configure`) in step with the
/// configuration; CONFIG SET calls it when either changes (start-up configures it in
/// `Shared::new`).
pub(crate) fn sync_lazyfree_config(shared: &crate::shared::Shared) {
    let cfg = &shared.config;
    brim_engine::lazyfree::configure(cfg.lazyfree_lazy_server_del(), cfg.lazyfree_lazy_expire());
}

/// Parse a DB index as Redis's getIntFromObjectOrReply: a strict integer in `int` range.
fn parse_db_index(arg: &[u8]) -> Option<i64> {
    parse_i64(arg).filter(|n| i32::try_from(*n).is_ok())
}

fn swapdb(ctx: &mut Ctx, args: &[&[u8]]) {
    if ctx.shared.config.cluster_enabled() {
        ctx.error("ERR SWAPDB is not allowed in cluster mode");
        return;
    }
    let Some(a) = parse_db_index(args[1]) else {
        ctx.error("ERR invalid first DB index");
        return;
    };
    let Some(b) = parse_db_index(args[2]) else {
        ctx.error("ERR invalid second DB index");
        return;
    };
    let n = ctx.shared.keyspace.len() as i64;
    if a < 0 || a >= n || b < 0 || b >= n {
        ctx.error("ERR DB index is out of range");
        return;
    }
    if a != b {
        let ks = &ctx.shared.keyspace;
        ks.db(a as usize).swap_with(ks.db(b as usize));
        crate::blocking::signal_db(ctx.shared, a as usize);
        crate::blocking::signal_db(ctx.shared, b as usize);
    }
    ctx.out.ok();
}

fn time(ctx: &mut Ctx, _args: &[&[u8]]) {
    let us = unix_us();
    ctx.out.array(2);
    ctx.out.bulk((us / 1_000_000).to_string().as_bytes());
    ctx.out.bulk((us % 1_000_000).to_string().as_bytes());
}

fn lastsave(ctx: &mut Ctx, _args: &[&[u8]]) {
    ctx.out.int(ctx.shared.lastsave.load(Relaxed));
}

/// Parse a millisecond timeout as Redis 7.0's getTimeoutFromObjectOrReply: an integer, not
/// negative (7.0 has no overflow check yet). Writes the error on failure.
fn parse_timeout_ms(ctx: &mut Ctx, arg: &[u8]) -> Option<i64> {
    let Some(t) = parse_i64(arg) else {
        ctx.error("ERR timeout is not an integer or out of range");
        return None;
    };
    if t < 0 {
        ctx.error("ERR timeout is negative");
        return None;
    }
    Some(t)
}

/// WAIT: Brim has no replicas, so the number of acknowledging replicas is always 0 and the
/// reply comes at once.
fn wait(ctx: &mut Ctx, args: &[&[u8]]) {
    if ctx.shared.config.replicaof().is_some() {
        ctx.error(
            "ERR WAIT cannot be used with replica instances. Please also note that since Redis \
             4.0 if a replica is configured to be writable (which is not the default) writes to \
             replicas are just local and are not propagated.",
        );
        return;
    }
    if parse_i64(args[1]).is_none() {
        ctx.error(NOT_INTEGER);
        return;
    }
    if parse_timeout_ms(ctx, args[2]).is_none() {
        return;
    }
    ctx.out.int(0);
}

fn monitor(ctx: &mut Ctx, _args: &[&[u8]]) {
    if ctx.client.in_exec {
        ctx.error("ERR MONITOR isn't allowed for DENY BLOCKING client");
        return;
    }
    let h = ctx.client.handle.clone();
    if h.monitor.swap(true, Relaxed) {
        // Already a monitor: Redis ignores the command without a reply.
        return;
    }
    let mut monitors = ctx.shared.monitors.lock();
    if !monitors.iter().any(|m| m.id == h.id) {
        monitors.push(h);
    }
    ctx.shared.has_monitors.store(true, Relaxed);
    drop(monitors);
    ctx.out.ok();
}

fn slowlog_get(ctx: &mut Ctx, args: &[&[u8]]) {
    if args.len() > 3 {
        subcommand_syntax_error(ctx, "SLOWLOG", args[1]);
        return;
    }
    let mut count: Option<usize> = Some(10);
    if args.len() == 3 {
        match parse_i64(args[2]) {
            Some(-1) => count = None,
            Some(n) if n >= 0 => count = Some(usize::try_from(n).unwrap_or(usize::MAX)),
            _ => {
                ctx.error("ERR count should be greater than or equal to -1");
                return;
            }
        }
    }
    let log = ctx.shared.slowlog.lock();
    let n = count.map_or(log.entries.len(), |c| c.min(log.entries.len()));
    let out = &mut *ctx.out;
    out.array(n);
    for e in log.entries.iter().take(n) {
        out.array(6);
        out.int(e.id as i64);
        out.int(e.time_s);
        out.int(e.duration_us as i64);
        out.array(e.args.len());
        for a in &e.args {
            out.bulk(a);
        }
        out.bulk(e.peer.as_bytes());
        out.bulk(&e.name);
    }
}

fn slowlog_len(ctx: &mut Ctx, _args: &[&[u8]]) {
    let n = ctx.shared.slowlog.lock().entries.len();
    ctx.out.int(n as i64);
}

fn slowlog_reset(ctx: &mut Ctx, _args: &[&[u8]]) {
    ctx.shared.slowlog.lock().entries.clear();
    ctx.out.ok();
}

fn slowlog_help(ctx: &mut Ctx, _args: &[&[u8]]) {
    ctx.help(
        "SLOWLOG",
        &[
            "GET [<count>]",
            "    Return top <count> entries from the slowlog (default: 10, -1 mean all).",
            "    Entries are made of:",
            "    id, timestamp, time in microseconds, arguments array, client IP and port,",
            "    client name",
            "LEN",
            "    Return the length of the slowlog.",
            "RESET",
            "    Reset the slowlog.",
        ],
    );
}

/// SHUTDOWN [NOSAVE|SAVE] [NOW] [FORCE] [ABORT]. On success nothing is replied: the server
/// exits and the connection closes.
fn shutdown(ctx: &mut Ctx, args: &[&[u8]]) {
    let (mut nosave, mut save, mut now, mut force, mut abort) = (false, false, false, false, false);
    for a in &args[1..] {
        if is(a, "nosave") {
            nosave = true;
        } else if is(a, "save") {
            save = true;
        } else if is(a, "now") {
            now = true;
        } else if is(a, "force") {
            force = true;
        } else if is(a, "abort") {
            abort = true;
        } else {
            ctx.error(SYNTAX);
            return;
        }
    }
    if (abort && (nosave || save || now || force)) || (nosave && save) {
        ctx.error(SYNTAX);
        return;
    }
    if abort {
        // A shutdown, once requested, is carried out at once: there is never one to abort.
        ctx.error("ERR No shutdown in progress.");
        return;
    }
    if !now && ctx.client.in_exec {
        ctx.error("ERR SHUTDOWN without NOW or ABORT isn't allowed for DENY BLOCKING client");
        return;
    }
    let kind = if nosave {
        ShutdownKind::NoSave
    } else if save {
        ShutdownKind::Save
    } else {
        ShutdownKind::Default
    };
    if !crate::persistence::before_shutdown(ctx.shared, kind, force) {
        ctx.error("ERR Errors trying to SHUTDOWN. Check logs.");
        return;
    }
    ctx.shared.request_shutdown(kind);
    crate::persistence::hold_until_exit();
}
