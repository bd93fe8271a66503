//! The CLIENT subcommands: ID, SETNAME, GETNAME, LIST, INFO, KILL, PAUSE, UNPAUSE, REPLY,
//! NO-EVICT, NO-TOUCH, SETINFO, HELP, GETREDIR, TRACKINGINFO, CACHING, UNBLOCK.
//!
//! TRACKING, CACHING, GETREDIR and TRACKINGINFO are `crate::tracking`'s. Clients with
//! pub/sub subscriptions are of type `pubsub` (flag `P`).

use std::fmt::Write as _;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;

use crate::args::{is, parse_i64, NOT_INTEGER, SYNTAX};
use crate::client::{Client, ClientHandle, ReplyMode};
use crate::ctx::Ctx;
use crate::shared::{unix_ms, Shared};

use super::{set_client_name, valid_client_name};

/// Redis's reply buffer size (`rbs`/`rbp` in CLIENT LIST): Brim's reply buffer grows on
/// demand, so the fields show Redis's fixed per-client buffer.
const REPLY_CHUNK_BYTES: usize = 16 * 1024;

/// `ERR unknown subcommand or wrong number of arguments for '<sub>'. Try <CMD> HELP.`
fn subcommand_syntax_error(ctx: &mut Ctx, args: &[&[u8]]) {
    let sub = args.get(1).copied().unwrap_or_default();
    let sub = String::from_utf8_lossy(&sub[..sub.len().min(128)]).into_owned();
    let container = String::from_utf8_lossy(args[0]).to_ascii_uppercase();
    ctx.error(&format!(
        "ERR unknown subcommand or wrong number of arguments for '{sub}'. Try {container} HELP."
    ));
}

pub(super) fn id(ctx: &mut Ctx, _args: &[&[u8]]) {
    ctx.out.int(ctx.client.handle.id as i64);
}

pub(super) fn setname(ctx: &mut Ctx, args: &[&[u8]]) {
    if set_client_name(ctx, args[2]) {
        ctx.out.ok();
    }
}

pub(super) fn getname(ctx: &mut Ctx, _args: &[&[u8]]) {
    let name = ctx.client.handle.name.lock().clone();
    match name {
        Some(n) => ctx.out.bulk(&n),
        None => ctx.out.null(),
    }
}

/// Client classes for CLIENT LIST TYPE / CLIENT KILL TYPE.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ClientType {
    Normal,
    Replica,
    Master,
    Pubsub,
}

fn parse_type(arg: &[u8]) -> Option<ClientType> {
    let t = if is(arg, "normal") {
        ClientType::Normal
    } else if is(arg, "slave") || is(arg, "replica") {
        ClientType::Replica
    } else if is(arg, "master") {
        ClientType::Master
    } else if is(arg, "pubsub") {
        ClientType::Pubsub
    } else {
        return None;
    };
    Some(t)
}

/// A client's class. MONITOR clients count as normal, as in Redis; a client with pub/sub
/// subscriptions is `pubsub`; replication does not exist yet.
fn type_of(h: &ClientHandle) -> ClientType {
    if h.pubsub.any() {
        ClientType::Pubsub
    } else {
        ClientType::Normal
    }
}

fn unknown_type(ctx: &mut Ctx, arg: &[u8]) {
    ctx.error(&format!("ERR Unknown client type '{}'", String::from_utf8_lossy(arg)));
}

/// The client's address as Redis prints it: `ip:port`, or `path:0` for a unix socket.
fn peer_id(h: &ClientHandle) -> String {
    if h.unix {
        format!("{}:0", h.addr)
    } else {
        h.addr.clone()
    }
}

/// The local address as Redis prints it: `ip:port`, or `path:0` for a unix socket.
fn sock_name(h: &ClientHandle) -> String {
    if h.unix {
        format!("{}:0", h.laddr)
    } else {
        h.laddr.clone()
    }
}

/// What only the calling connection knows about itself (the registry holds the rest).
struct Own<'a> {
    client: &'a Client,
    cmd: &'static str,
    argv_mem: usize,
    resp: usize,
}

impl<'a> Own<'a> {
    fn of(ctx: &'a Ctx, args: &[&[u8]], cmd: &'static str) -> Self {
        Own {
            client: ctx.client,
            cmd,
            argv_mem: args.iter().map(|a| a.len()).sum(),
            resp: if ctx.out.is_resp3() { 3 } else { 2 },
        }
    }

    fn multi_mem(&self) -> usize {
        self.client
            .multi
            .as_ref()
            .map_or(0, |q| q.iter().map(|argv| crate::client_evict::queued_command_bytes(argv)).sum())
    }
}

/// Append one CLIENT LIST line (without the newline) for `h`, Redis 7.0's field list;
/// `blocked`: it waits in a blocking command (flag `b`).
fn info_line(text: &mut String, h: &ClientHandle, now_ms: i64, own: Option<&Own>, blocked: bool) {
    let now_s = now_ms.div_euclid(1000);
    let mut flags = String::new();
    if h.monitor.load(Relaxed) {
        flags.push('O');
    }
    if h.pubsub.any() {
        flags.push('P');
    }
    let multi = match own {
        Some(o) => o.client.multi.as_ref().map_or(-1, |q| q.len() as i64),
        None => h.multi.load(Relaxed),
    };
    if multi >= 0 {
        flags.push('x');
    }
    if blocked {
        flags.push('b');
    }
    h.tracking.list_flags(&mut flags);
    if own.is_some_and(|o| !o.client.watched.is_empty() && o.client.watch_flag.load(Relaxed)) {
        flags.push('d');
    }
    if own.is_some_and(|o| o.client.close_after_reply) {
        flags.push('c');
    }
    if h.killed.load(Relaxed) {
        flags.push('A');
    }
    if h.unix {
        flags.push('U');
    }
    if h.no_evict.load(Relaxed) {
        flags.push('e');
    }
    if h.no_touch.load(Relaxed) {
        flags.push('T');
    }
    if flags.is_empty() {
        flags.push('N');
    }
    let name = h.name.lock().as_ref().map(|n| String::from_utf8_lossy(n).into_owned()).unwrap_or_default();
    let idle = match own {
        Some(_) => 0,
        None => now_s - h.last_interaction_ms.load(Relaxed).div_euclid(1000),
    };
    let db = own.map_or_else(|| h.db.load(Relaxed), |o| o.client.db);
    let qbuf = h.qbuf.load(Relaxed);
    let qbuf_free = h.qbuf_free.load(Relaxed);
    let argv_mem = own.map_or(0, |o| o.argv_mem);
    let multi_mem = own.map_or(0, |o| o.multi_mem());
    let obl = h.obl.load(Relaxed);
    // Output waiting to be written: what the connection holds plus what is queued for it.
    let omem = h.omem.load(Relaxed).max(h.queued.load(Relaxed) + obl);
    let tot_mem = match h.tot_mem.load(Relaxed) {
        0 => {
            std::mem::size_of::<Client>()
                + std::mem::size_of::<ClientHandle>()
                + qbuf
                + qbuf_free
                + argv_mem
                + multi_mem
                + REPLY_CHUNK_BYTES
                + omem
        }
        n => n,
    };
    let events = if obl > 0 { "rw" } else { "r" };
    let cmd = match own {
        Some(o) => o.cmd.to_string(),
        None => h.last_command(),
    };
    let resp = own.map_or_else(|| h.resp.load(Relaxed), |o| o.resp);
    let _ = write!(
        text,
        "id={} addr={} laddr={} fd={} name={} age={} idle={} flags={} db={} sub={} psub={} ssub={} \
         multi={} qbuf={} qbuf-free={} argv-mem={} multi-mem={} rbs={} rbp={} obl={} oll=0 \
         omem={} tot-mem={} events={} cmd={} user=default redir={} resp={}",
        h.id,
        peer_id(h),
        sock_name(h),
        h.fd,
        name,
        now_s - h.created_ms.div_euclid(1000),
        idle,
        flags,
        db,
        h.pubsub.channels(),
        h.pubsub.patterns(),
        h.pubsub.shard(),
        multi,
        qbuf,
        qbuf_free,
        argv_mem,
        multi_mem,
        REPLY_CHUNK_BYTES,
        REPLY_CHUNK_BYTES,
        obl,
        omem,
        tot_mem,
        events,
        cmd,
        h.tracking.redirect(),
        resp,
    );
}

/// Every connected client, in id (= connection) order.
fn snapshot(shared: &Shared) -> Vec<Arc<ClientHandle>> {
    shared.clients.lock().values().cloned().collect()
}

/// The CLIENT LIST text for `clients`: one line each, each ending with a newline.
fn list_text(ctx: &Ctx, args: &[&[u8]], clients: &[Arc<ClientHandle>]) -> String {
    let own = Own::of(ctx, args, "client|list");
    let now = ctx.now_ms();
    let me = ctx.client.handle.id;
    let mut text = String::with_capacity(clients.len() * 320);
    for h in clients {
        let blocked = h.id != me && ctx.shared.blocking.is_blocked(h.id);
        info_line(&mut text, h, now, (h.id == me).then_some(&own), blocked);
        text.push('\n');
    }
    text
}

pub(super) fn list(ctx: &mut Ctx, args: &[&[u8]]) {
    let clients = if args.len() == 4 && is(args[2], "type") {
        let Some(t) = parse_type(args[3]) else {
            unknown_type(ctx, args[3]);
            return;
        };
        let mut all = snapshot(ctx.shared);
        all.retain(|h| type_of(h) == t);
        all
    } else if args.len() > 3 && is(args[2], "id") {
        let mut ids = Vec::with_capacity(args.len() - 3);
        for a in &args[3..] {
            let Some(id) = parse_i64(a) else {
                ctx.error("ERR Invalid client ID");
                return;
            };
            ids.push(id);
        }
        let registry = ctx.shared.clients.lock();
        ids.iter()
            .filter_map(|&id| u64::try_from(id).ok().and_then(|id| registry.get(&id)).cloned())
            .collect()
    } else if args.len() == 2 {
        snapshot(ctx.shared)
    } else {
        ctx.error(SYNTAX);
        return;
    };
    let text = list_text(ctx, args, &clients);
    ctx.out.verbatim("txt", text.as_bytes());
}

pub(super) fn info(ctx: &mut Ctx, args: &[&[u8]]) {
    let own = Own::of(ctx, args, "client|info");
    let mut text = String::with_capacity(320);
    info_line(&mut text, &ctx.client.handle, ctx.now_ms(), Some(&own), false);
    text.push('\n');
    ctx.out.verbatim("txt", text.as_bytes());
}

/// CLIENT KILL's filters.
#[derive(Default)]
struct KillFilter<'a> {
    addr: Option<&'a [u8]>,
    laddr: Option<&'a [u8]>,
    client_type: Option<ClientType>,
    id: Option<u64>,
    skipme: bool,
}

impl KillFilter<'_> {
    fn matches(&self, h: &ClientHandle) -> bool {
        self.addr.is_none_or(|a| peer_id(h).as_bytes() == a)
            && self.laddr.is_none_or(|a| sock_name(h).as_bytes() == a)
            && self.client_type.is_none_or(|t| type_of(h) == t)
            && self.id.is_none_or(|id| h.id == id)
    }
}

/// Parse the new-style CLIENT KILL options, or reply with the error.
fn kill_filter<'a>(ctx: &mut Ctx, args: &[&'a [u8]]) -> Option<KillFilter<'a>> {
    let mut f = KillFilter { skipme: true, ..KillFilter::default() };
    let mut i = 2;
    while i < args.len() {
        let opt = args[i];
        let Some(&val) = args.get(i + 1) else {
            ctx.error(SYNTAX);
            return None;
        };
        if is(opt, "id") {
            match parse_i64(val) {
                Some(id) if id >= 1 => f.id = Some(id as u64),
                _ => {
                    ctx.error("ERR client-id should be greater than 0");
                    return None;
                }
            }
        } else if is(opt, "type") {
            let Some(t) = parse_type(val) else {
                unknown_type(ctx, val);
                return None;
            };
            f.client_type = Some(t);
        } else if is(opt, "addr") {
            f.addr = Some(val);
        } else if is(opt, "laddr") {
            f.laddr = Some(val);
        } else if is(opt, "user") {
            // Every client is authenticated as (or will be) `default`, the only user.
            if val != b"default" {
                ctx.error(&format!("ERR No such user '{}'", String::from_utf8_lossy(val)));
                return None;
            }
        } else if is(opt, "skipme") {
            if is(val, "yes") {
                f.skipme = true;
            } else if is(val, "no") {
                f.skipme = false;
            } else {
                ctx.error(SYNTAX);
                return None;
            }
        } else {
            ctx.error(SYNTAX);
            return None;
        }
        i += 2;
    }
    Some(f)
}

pub(super) fn kill(ctx: &mut Ctx, args: &[&[u8]]) {
    let old_form = args.len() == 3;
    let filter = if old_form {
        // `CLIENT KILL addr:port`: may kill the caller itself.
        KillFilter { addr: Some(args[2]), skipme: false, ..KillFilter::default() }
    } else if args.len() > 3 {
        match kill_filter(ctx, args) {
            Some(f) => f,
            None => return,
        }
    } else {
        ctx.error(SYNTAX);
        return;
    };
    let me = ctx.client.handle.id;
    let mut killed = 0;
    let mut close_me = false;
    for h in snapshot(ctx.shared) {
        if !filter.matches(&h) {
            continue;
        }
        if h.id == me {
            if filter.skipme {
                continue;
            }
            close_me = true;
        } else {
            h.kill();
            ctx.shared.remove_client(h.id);
        }
        killed += 1;
    }
    if old_form {
        if killed == 0 {
            ctx.error("ERR No such client");
        } else {
            ctx.out.ok();
        }
    } else {
        ctx.out.int(killed);
    }
    if close_me {
        ctx.client.close_after_reply = true;
    }
}

/// Pause clients until `until_ms` (unix ms; 0 or past: no effect beyond an ongoing pause),
/// all commands or only writes. An ongoing pause is extended, never shortened, and keeps
/// the more restrictive mode, as Redis does.
pub fn start_pause(shared: &Shared, until_ms: i64, writes_only: bool) {
    let p = &shared.pause;
    let current = p.until_ms.load(Relaxed);
    if current > unix_ms() {
        p.writes_only.store(p.writes_only.load(Relaxed) && writes_only, Relaxed);
        p.until_ms.store(current.max(until_ms), Relaxed);
    } else {
        p.writes_only.store(writes_only, Relaxed);
        p.until_ms.store(until_ms, Relaxed);
    }
}

pub(super) fn pause(ctx: &mut Ctx, args: &[&[u8]]) {
    if !(3..=4).contains(&args.len()) {
        subcommand_syntax_error(ctx, args);
        return;
    }
    let mut writes_only = false;
    if let Some(&mode) = args.get(3) {
        if is(mode, "write") {
            writes_only = true;
        } else if !is(mode, "all") {
            ctx.error("ERR CLIENT PAUSE mode must be WRITE or ALL");
            return;
        }
    }
    let Some(timeout) = parse_i64(args[2]) else {
        ctx.error("ERR timeout is not an integer or out of range");
        return;
    };
    if timeout < 0 {
        ctx.error("ERR timeout is negative");
        return;
    }
    // Redis adds without an overflow check: a huge timeout wraps into the past (no pause).
    let until = if timeout > 0 { timeout.wrapping_add(ctx.now_ms()) } else { 0 };
    start_pause(ctx.shared, until, writes_only);
    ctx.out.ok();
}

pub(super) fn unpause(ctx: &mut Ctx, _args: &[&[u8]]) {
    ctx.shared.pause.until_ms.store(0, Relaxed);
    ctx.shared.pause.writes_only.store(false, Relaxed);
    ctx.out.ok();
}

pub(super) fn reply(ctx: &mut Ctx, args: &[&[u8]]) {
    let mode = args[2];
    if is(mode, "on") {
        ctx.client.reply_mode = ReplyMode::On;
        ctx.out.ok();
    } else if is(mode, "off") {
        ctx.client.reply_mode = ReplyMode::Off;
    } else if is(mode, "skip") {
        if ctx.client.reply_mode != ReplyMode::Off {
            ctx.client.reply_mode = ReplyMode::SkipNext;
        }
    } else {
        ctx.error(SYNTAX);
    }
}

/// Parse ON|OFF into `flag` and reply, or reply with a syntax error.
fn on_off(ctx: &mut Ctx, arg: &[u8], flag: &std::sync::atomic::AtomicBool) {
    if is(arg, "on") {
        flag.store(true, Relaxed);
        ctx.out.ok();
    } else if is(arg, "off") {
        flag.store(false, Relaxed);
        ctx.out.ok();
    } else {
        ctx.error(SYNTAX);
    }
}

pub(super) fn no_evict(ctx: &mut Ctx, args: &[&[u8]]) {
    let handle = ctx.client.handle.clone();
    on_off(ctx, args[2], &handle.no_evict);
}

pub(super) fn no_touch(ctx: &mut Ctx, args: &[&[u8]]) {
    let handle = ctx.client.handle.clone();
    on_off(ctx, args[2], &handle.no_touch);
}

/// CLIENT SETINFO LIB-NAME|LIB-VER value (Redis 7.2; not shown in 7.0's CLIENT LIST).
pub(super) fn setinfo(ctx: &mut Ctx, args: &[&[u8]]) {
    let (attr, val) = (args[2], args[3]);
    let lib_name = if is(attr, "lib-name") {
        true
    } else if is(attr, "lib-ver") {
        false
    } else {
        ctx.error(&format!("ERR Unrecognized option '{}'", String::from_utf8_lossy(attr)));
        return;
    };
    if !valid_client_name(val) {
        ctx.error(&format!(
            "ERR {} cannot contain spaces, newlines or special characters.",
            String::from_utf8_lossy(attr)
        ));
        return;
    }
    {
        let mut lib = ctx.client.handle.lib.lock();
        let slot = if lib_name { &mut lib.0 } else { &mut lib.1 };
        *slot = val.to_vec();
    }
    ctx.out.ok();
}

const HELP: &[&str] = &[
    "CACHING (YES|NO)",
    "    Enable/disable tracking of the keys for next command in OPTIN/OPTOUT modes.",
    "GETREDIR",
    "    Return the client ID we are redirecting to when tracking is enabled.",
    "GETNAME",
    "    Return the name of the current connection.",
    "ID",
    "    Return the ID of the current connection.",
    "INFO",
    "    Return information about the current client connection.",
    "KILL <ip:port>",
    "    Kill connection made from <ip:port>.",
    "KILL <option> <value> [<option> <value> [...]]",
    "    Kill connections. Options are:",
    "    * ADDR (<ip:port>|<unixsocket>:0)",
    "      Kill connections made from the specified address",
    "    * LADDR (<ip:port>|<unixsocket>:0)",
    "      Kill connections made to specified local address",
    "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
    "      Kill connections by type.",
    "    * USER <username>",
    "      Kill connections authenticated by <username>.",
    "    * SKIPME (YES|NO)",
    "      Skip killing current connection (default: yes).",
    "LIST [options ...]",
    "    Return information about client connections. Options:",
    "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
    "      Return clients of specified type.",
    "UNPAUSE",
    "    Stop the current client pause, resuming traffic.",
    "PAUSE <timeout> [WRITE|ALL]",
    "    Suspend all, or just write, clients for <timeout> milliseconds.",
    "REPLY (ON|OFF|SKIP)",
    "    Control the replies sent to the current connection.",
    "SETNAME <name>",
    "    Assign the name <name> to the current connection.",
    "UNBLOCK <clientid> [TIMEOUT|ERROR]",
    "    Unblock the specified blocked client.",
    "TRACKING (ON|OFF) [REDIRECT <id>] [BCAST] [PREFIX <prefix> [...]]",
    "         [OPTIN] [OPTOUT] [NOLOOP]",
    "    Control server assisted client side caching.",
    "TRACKINGINFO",
    "    Report tracking status for the current connection.",
    "NO-EVICT (ON|OFF)",
    "    Protect current client connection from eviction.",
];

pub(super) fn help(ctx: &mut Ctx, _args: &[&[u8]]) {
    ctx.help("CLIENT", HELP);
}

pub(super) use crate::tracking::{
    caching_command as caching, getredir_command as getredir, tracking_command as tracking,
    trackinginfo_command as trackinginfo,
};

pub(super) fn unblock(ctx: &mut Ctx, args: &[&[u8]]) {
    if !(3..=4).contains(&args.len()) {
        subcommand_syntax_error(ctx, args);
        return;
    }
    if let Some(&reason) = args.get(3) {
        if !is(reason, "timeout") && !is(reason, "error") {
            ctx.error("ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR");
            return;
        }
    }
    let Some(id) = parse_i64(args[2]) else {
        ctx.error(NOT_INTEGER);
        return;
    };
    let error = args.get(3).is_some_and(|r| is(r, "error"));
    let done = u64::try_from(id).is_ok_and(|id| ctx.shared.blocking.unblock(id, error));
    ctx.out.int(i64::from(done));
}
