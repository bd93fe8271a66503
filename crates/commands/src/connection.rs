//! Connection commands: PING, ECHO, HELLO, AUTH, SELECT, QUIT, RESET and the CLIENT
//! subcommands (in `connection/client.rs`), with Redis 7.0.15's replies and error texts.
//!
//! Only the `default` user exists: it has no password unless `requirepass` is set, in which
//! case that is its password.

mod client;

pub use client::start_pause;

use std::sync::atomic::Ordering::Relaxed;

use crate::args::{parse_i64, NOT_INTEGER, SYNTAX};
use crate::client::{Client, ReplyMode};
use crate::ctx::Ctx;
use crate::shared::{unix_ms, Shared};
use crate::spec::flags;
use crate::table::{cmd, Command, Registration};

/// The version Brim announces (HELLO, INFO): the Redis release it is compatible with.
pub const REDIS_VERSION: &str = "7.0.15";

/// `WRONGPASS ...`: failed AUTH / HELLO AUTH.
pub const WRONGPASS: &str = "WRONGPASS invalid username-password pair or user is disabled.";

/// The error for a client name (or SETINFO value) with forbidden characters.
pub const BAD_NAME: &str = "ERR Client names cannot contain spaces, newlines or special characters.";

const NOAUTH_HELLO: &str = "NOAUTH HELLO must be called with the client already authenticated, \
otherwise the HELLO AUTH <user> <pass> option can be used to authenticate the client and \
select the RESP protocol version at the same time";

const AUTH_WITHOUT_PASSWORD: &str = "ERR AUTH <password> called without any password configured \
for the default user. Are you sure your configuration is correct?";

/// The connection family.
pub const COMMANDS: &[Registration] = &[
    cmd("ping", ping),
    cmd("echo", echo),
    cmd("hello", hello),
    cmd("auth", auth),
    cmd("select", select),
    cmd("quit", quit),
    cmd("reset", reset),
    cmd("client|id", client::id),
    cmd("client|setname", client::setname),
    cmd("client|getname", client::getname),
    cmd("client|list", client::list),
    cmd("client|info", client::info),
    cmd("client|kill", client::kill),
    cmd("client|pause", client::pause),
    cmd("client|unpause", client::unpause),
    cmd("client|reply", client::reply),
    cmd("client|no-evict", client::no_evict),
    cmd("client|no-touch", client::no_touch),
    cmd("client|setinfo", client::setinfo),
    cmd("client|help", client::help),
    cmd("client|getredir", client::getredir),
    cmd("client|trackinginfo", client::trackinginfo),
    cmd("client|caching", client::caching),
    cmd("client|tracking", client::tracking),
    cmd("client|unblock", client::unblock),
];

fn ping(ctx: &mut Ctx, args: &[&[u8]]) {
    if ctx.client.handle.pubsub.any() && !ctx.out.is_resp3() && args.len() <= 2 {
        // Subscribed RESP2 clients read every reply as a pub/sub message.
        ctx.out.array(2);
        ctx.out.bulk(b"pong");
        ctx.out.bulk(args.get(1).copied().unwrap_or_default());
        return;
    }
    match args {
        [_] => ctx.out.simple("PONG"),
        [_, msg] => ctx.out.bulk(msg),
        _ => ctx.error("ERR wrong number of arguments for 'ping' command"),
    }
}

fn echo(ctx: &mut Ctx, args: &[&[u8]]) {
    match args {
        [_, msg] => ctx.out.bulk(msg),
        _ => ctx.error("ERR wrong number of arguments for 'echo' command"),
    }
}

/// Byte comparison whose time does not depend on where the inputs differ.
fn same_secret(a: &[u8], b: &[u8]) -> bool {
    let mut diff = a.len() ^ b.len();
    for i in 0..a.len().max(b.len()) {
        let x = a.get(i).copied().unwrap_or(0);
        let y = b.get(i).copied().unwrap_or(0);
        diff |= usize::from(x ^ y);
    }
    diff == 0
}

/// Whether `user`/`pass` are valid credentials. Only `default` exists; it accepts any
/// password when `requirepass` is unset.
pub fn check_credentials(shared: &Shared, user: &[u8], pass: &[u8]) -> bool {
    if user != b"default" {
        return false;
    }
    match shared.config.requirepass() {
        None => true,
        Some(p) => same_secret(p.as_bytes(), pass),
    }
}

/// Mark `client` as authenticated (or not).
pub fn set_authenticated(client: &mut Client, yes: bool) {
    client.authenticated = yes;
    client.handle.authenticated.store(yes, Relaxed);
}

fn auth(ctx: &mut Ctx, args: &[&[u8]]) {
    let (user, pass): (&[u8], &[u8]) = match args {
        [_, pass] => {
            if ctx.shared.config.requirepass().is_none() {
                ctx.error(AUTH_WITHOUT_PASSWORD);
                return;
            }
            (b"default", *pass)
        }
        [_, user, pass] => (*user, *pass),
        _ => {
            ctx.error(SYNTAX);
            return;
        }
    };
    if check_credentials(ctx.shared, user, pass) {
        set_authenticated(ctx.client, true);
        ctx.out.ok();
    } else {
        ctx.error(WRONGPASS);
    }
}

/// Whether `name` is acceptable as a client name (or SETINFO value): printable ASCII
/// without spaces. The empty name is valid (it removes the name).
pub fn valid_client_name(name: &[u8]) -> bool {
    name.iter().all(|c| (b'!'..=b'~').contains(c))
}

/// Set the client's name (empty removes it), or reply with the error and return false.
pub fn set_client_name(ctx: &mut Ctx, name: &[u8]) -> bool {
    if !valid_client_name(name) {
        ctx.error(BAD_NAME);
        return false;
    }
    *ctx.client.handle.name.lock() = if name.is_empty() { None } else { Some(name.to_vec()) };
    true
}

/// Switch the connection's protocol version (2 or 3).
pub fn set_protocol(ctx: &mut Ctx, resp3: bool) {
    ctx.out.set_resp3(resp3);
    ctx.client.handle.resp.store(if resp3 { 3 } else { 2 }, Relaxed);
}

fn hello(ctx: &mut Ctx, args: &[&[u8]]) {
    let mut ver = 0;
    let mut next = 1;
    if let Some(v) = args.get(1) {
        let Some(v) = parse_i64(v) else {
            ctx.error("ERR Protocol version is not an integer or out of range");
            return;
        };
        if !(2..=3).contains(&v) {
            ctx.error("NOPROTO unsupported protocol version");
            return;
        }
        ver = v;
        next = 2;
    }
    let mut credentials = None;
    let mut name = None;
    let mut j = next;
    while let Some(opt) = args.get(j) {
        let more = args.len() - 1 - j;
        if opt.eq_ignore_ascii_case(b"auth") && more >= 2 {
            credentials = Some((args[j + 1], args[j + 2]));
            j += 3;
        } else if opt.eq_ignore_ascii_case(b"setname") && more >= 1 {
            name = Some(args[j + 1]);
            j += 2;
        } else {
            ctx.error(&format!("ERR Syntax error in HELLO option '{}'", String::from_utf8_lossy(opt)));
            return;
        }
    }
    if let Some((user, pass)) = credentials {
        if !check_credentials(ctx.shared, user, pass) {
            ctx.error(WRONGPASS);
            return;
        }
        set_authenticated(ctx.client, true);
    }
    if !ctx.client.authenticated {
        ctx.error(NOAUTH_HELLO);
        return;
    }
    if let Some(name) = name {
        if !set_client_name(ctx, name) {
            return;
        }
    }
    if ver != 0 {
        set_protocol(ctx, ver == 3);
    }
    let out = &mut *ctx.out;
    out.map(7);
    out.bulk(b"server");
    out.bulk(b"redis");
    out.bulk(b"version");
    out.bulk(REDIS_VERSION.as_bytes());
    out.bulk(b"proto");
    out.int(if out.is_resp3() { 3 } else { 2 });
    out.bulk(b"id");
    out.int(ctx.client.handle.id as i64);
    out.bulk(b"mode");
    out.bulk(b"standalone");
    out.bulk(b"role");
    out.bulk(b"master");
    out.bulk(b"modules");
    out.array(0);
}

fn select(ctx: &mut Ctx, args: &[&[u8]]) {
    let Some(id) = parse_i64(args[1]) else {
        ctx.error(NOT_INTEGER);
        return;
    };
    if i32::try_from(id).is_err() {
        ctx.error("ERR value is out of range, value must between -2147483648 and 2147483647");
        return;
    }
    match usize::try_from(id) {
        Ok(db) if db < ctx.shared.keyspace.len() => {
            ctx.client.db = db;
            ctx.client.handle.db.store(db, Relaxed);
            ctx.out.ok();
        }
        _ => ctx.error("ERR DB index is out of range"),
    }
}

fn quit(ctx: &mut Ctx, _args: &[&[u8]]) {
    ctx.out.ok();
    ctx.client.close_after_reply = true;
}

/// Stop feeding MONITOR output to `client`.
fn leave_monitor(shared: &Shared, client: &Client) {
    if client.handle.monitor.swap(false, Relaxed) {
        let mut m = shared.monitors.lock();
        m.retain(|h| h.id != client.handle.id);
        shared.has_monitors.store(!m.is_empty(), Relaxed);
    }
}

/// RESET: back to a fresh connection's state (as Redis 7.0's clearClientConnectionState).
/// CLIENT NO-EVICT survives, as in Redis 7.0; NO-TOUCH (a 7.2 addition) is cleared as 7.2
/// does.
fn reset(ctx: &mut Ctx, _args: &[&[u8]]) {
    leave_monitor(ctx.shared, ctx.client);
    crate::pubsub::unsubscribe_all(ctx.shared, &ctx.client.handle);
    crate::transactions::discard_transaction(ctx.shared, ctx.client);
    crate::tracking::stop(&ctx.client.handle);
    ctx.client.db = 0;
    ctx.client.handle.db.store(0, Relaxed);
    set_protocol(ctx, false);
    let no_password = ctx.shared.config.requirepass().is_none();
    set_authenticated(ctx.client, no_password);
    *ctx.client.handle.name.lock() = None;
    // A pending SKIP for this very command still drops the +RESET, as in Redis.
    if ctx.client.reply_mode != ReplyMode::Skip {
        ctx.client.reply_mode = ReplyMode::On;
    }
    ctx.client.handle.no_touch.store(false, Relaxed);
    ctx.out.simple("RESET");
}

/// Whether `client` must wait before running `cmd` because of CLIENT PAUSE: everything
/// waits in `ALL` mode; in `WRITE` mode, commands flagged `write` or `may-replicate`, and
/// EXEC when a queued command is. MONITOR clients (replicas, in Redis's terms) never wait.
/// Checked before MULTI queueing, as Redis does.
pub fn paused_for(shared: &Shared, client: &Client, cmd: &Command) -> bool {
    let until = shared.pause.until_ms.load(Relaxed);
    if until <= 0 || client.handle.monitor.load(Relaxed) || unix_ms() >= until {
        return false;
    }
    if !shared.pause.writes_only.load(Relaxed) {
        return true;
    }
    const REPLICATES: u64 = flags::WRITE | flags::MAY_REPLICATE;
    if cmd.spec.has(REPLICATES) {
        return true;
    }
    if cmd.spec.name == "exec" && cmd.spec.container.is_none() {
        if let Some(queue) = &client.multi {
            return queue.iter().any(|argv| {
                argv.first()
                    .and_then(|name| shared.table.get(name))
                    .is_some_and(|c| queued_spec_has(c, argv, REPLICATES))
            });
        }
    }
    false
}

fn queued_spec_has(c: &Command, argv: &[Vec<u8>], f: u64) -> bool {
    if c.subcommands.is_empty() {
        return c.spec.has(f);
    }
    match argv.get(1).and_then(|s| c.subcommands.get(&s.to_ascii_lowercase())) {
        Some(sub) => sub.spec.has(f),
        None => c.spec.has(f),
    }
}

/// Milliseconds until the current CLIENT PAUSE ends (`None` when not paused). CLIENT
/// UNPAUSE can end it earlier: waiters should re-check rather than sleep the whole time.
pub fn pause_remaining_ms(shared: &Shared) -> Option<u64> {
    let until = shared.pause.until_ms.load(Relaxed);
    let now = unix_ms();
    (until > now).then(|| (until - now) as u64)
}

#[cfg(test)]
mod tests;
