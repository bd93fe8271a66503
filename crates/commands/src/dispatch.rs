//! From parsed arguments to an executed command: table lookup, arity, authentication,
//! MULTI queueing, the OOM check, the keyspace gate, then the handler, with statistics,
//! the slow log and MONITOR feeds around it.

use std::sync::atomic::Ordering::Relaxed;
use std::time::Instant;

use brim_engine::{Access, ExclusiveGate, SharedGate, Touch};
use brim_resp::Reply;

use crate::client::{Client, ReplyMode};
use crate::ctx::Ctx;
use crate::shared::{unix_ms, unix_us, Shared};
use crate::spec::flags;
use crate::stats::{bump, WorkerStats};
use crate::table::Command;

/// The keyspace gate as held by a worker during one batch.
#[derive(Default)]
pub enum Gate<'a> {
    /// Not held.
    #[default]
    Open,
    /// Held shared: ordinary commands.
    Shared(SharedGate<'a>),
    /// Held exclusively: the command runs alone.
    Exclusive(ExclusiveGate<'a>),
}

/// A stripe its thread kept locked (`brim_engine::keep_stripes`) may outlive the gate, but
/// no wait for the gate happens while it is kept: a whole-keyspace command holding or
/// awaiting the gate may be waiting for that stripe.
impl<'a> Gate<'a> {
    fn shared(&mut self, shared: &'a Shared) {
        if !matches!(self, Gate::Shared(_)) {
            *self = Gate::Open;
            let g = shared.keyspace.try_shared().unwrap_or_else(|| {
                brim_engine::release_kept();
                shared.keyspace.shared()
            });
            *self = Gate::Shared(g);
        }
    }

    fn exclusive(&mut self, shared: &'a Shared) {
        if !matches!(self, Gate::Exclusive(_)) {
            *self = Gate::Open;
            brim_engine::release_kept();
            *self = Gate::Exclusive(shared.keyspace.exclusive());
        }
    }

    /// Let go of the gate (end of a batch, or before waiting on anything).
    pub fn release(&mut self) {
        *self = Gate::Open;
    }
}

/// The error for an unknown command, worded as Redis 7 words it.
pub fn unknown_command_error(args: &[&[u8]]) -> String {
    let name = String::from_utf8_lossy(&args[0][..args[0].len().min(128)]).into_owned();
    let mut msg = format!("ERR unknown command '{name}', with args beginning with: ");
    let mut room: usize = 128;
    for a in &args[1..] {
        if room == 0 {
            break;
        }
        let s = String::from_utf8_lossy(&a[..a.len().min(room)]).into_owned();
        room = room.saturating_sub(a.len());
        msg.push_str(&format!("'{s}' "));
    }
    msg
}

/// The arity error for `cmd`.
pub fn arity_error(cmd: &Command) -> String {
    format!("ERR wrong number of arguments for '{}' command", cmd.full_name())
}

/// Find the command `args` names, or write the error Redis gives. Returns `Err` after
/// writing an error, with the command when it was found but had the wrong arity (Redis
/// counts that as a rejected call).
pub fn resolve<'t>(
    shared: &'t Shared,
    out: &mut Reply,
    args: &[&[u8]],
) -> Result<&'t Command, Option<&'t Command>> {
    let Some(cmd) = shared.table.get(args[0]) else {
        out.error(&unknown_command_error(args));
        return Err(None);
    };
    let cmd = if !cmd.spec.subcommands.is_empty() && args.len() >= 2 {
        let sub = args[1].to_ascii_lowercase();
        match cmd.subcommands.get(&sub) {
            Some(s) => s,
            None => {
                out.error(&format!(
                    "ERR unknown subcommand '{}'. Try {} HELP.",
                    String::from_utf8_lossy(&args[1][..args[1].len().min(128)]),
                    cmd.spec.name.to_ascii_uppercase()
                ));
                return Err(None);
            }
        }
    } else {
        cmd
    };
    let arity = cmd.spec.arity;
    let n = args.len() as i32;
    if (arity > 0 && arity != n) || n < -arity || cmd.handler.is_none() {
        out.error(&arity_error(cmd));
        return Err(Some(cmd));
    }
    Ok(cmd)
}

/// Whether `cmd` runs even inside MULTI instead of being queued.
fn runs_in_multi(cmd: &Command) -> bool {
    matches!(cmd.spec.name, "exec" | "discard" | "multi" | "watch" | "quit" | "reset")
        && cmd.spec.container.is_none()
}

/// The reply to a command without the `loading` flag while the dataset loads.
pub const LOADING_ERROR: &str = "LOADING Redis is loading the dataset in memory";

/// The OOM error text.
pub const OOM_ERROR: &str = "OOM command not allowed when used memory > 'maxmemory'.";

/// Whether memory is over `maxmemory` with nothing left to evict, so that a `denyoom`
/// command must be refused now. Evicts first, as the policy says and within
/// `maxmemory-eviction-tenacity`'s time budget (`crate::memory::perform_evictions`, which
/// also leaves out of `used_memory` what Redis leaves out). Call with the keyspace gate held.
pub fn over_maxmemory(shared: &Shared) -> bool {
    shared.config.maxmemory() > 0 && crate::memory::perform_evictions(shared) == crate::memory::Evict::Fail
}

/// How reads and writes touch keys for this client under the current policy.
pub fn touch_mode(shared: &Shared, client: &Client) -> Touch {
    if client.handle.no_touch.load(Relaxed) {
        return Touch::None;
    }
    let policy = shared.config.maxmemory_policy();
    if policy.is_lfu() {
        Touch::Lfu {
            log_factor: shared.config.lfu_log_factor(),
            decay_minutes: shared.config.lfu_decay_time() as u32,
        }
    } else if matches!(
        policy,
        brim_config::MaxmemoryPolicy::AllkeysLrm | brim_config::MaxmemoryPolicy::VolatileLrm
    ) {
        // Least recently modified: writes record the time, reads don't (see brim_engine::lru).
        Touch::Lrm
    } else {
        Touch::Lru
    }
}

/// What became of a command offered to [`Session::execute`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// It ran (or was refused with an error reply).
    Done,
    /// CLIENT PAUSE holds it back; offer it again later.
    Paused,
    /// It blocked (BLPOP, ...): run nothing more for this client until
    /// [`Session::resume`] says its reply is there (wait on [`Session::blocked_waiter`]).
    Blocked,
}

/// Everything one connection needs to run commands.
pub struct Session<'a> {
    /// Server-wide state.
    pub shared: &'a Shared,
    /// The worker's counters.
    pub worker: &'a WorkerStats,
    /// The keyspace gate for the current batch.
    pub gate: Gate<'a>,
    /// The command this client is blocked in, if any.
    pub blocked: Option<crate::blocking::Blocked>,
}

impl<'a> Session<'a> {
    /// A session on `shared` for a worker.
    pub fn new(shared: &'a Shared, worker: &'a WorkerStats) -> Self {
        Session { shared, worker, gate: Gate::Open, blocked: None }
    }

    /// Run one command from the network and write its reply (honouring CLIENT REPLY).
    /// Returns [`Outcome::Paused`] without running it while CLIENT PAUSE holds it back: the
    /// caller waits and offers the same command again. Returns [`Outcome::Blocked`] when it
    /// blocked (BLPOP, ...): its reply comes through [`Session::resume`].
    pub fn execute(&mut self, client: &mut Client, out: &mut Reply, args: &[&[u8]]) -> Outcome {
        if args.is_empty() {
            return Outcome::Done;
        }
        let mark = out.len();
        let outcome = self.process(client, out, args);
        if outcome == Outcome::Paused {
            return Outcome::Paused;
        }
        if let Some(b) = self.blocked.as_mut() {
            b.silent = matches!(client.reply_mode, ReplyMode::Off | ReplyMode::Skip);
        }
        match client.reply_mode {
            ReplyMode::On => {}
            ReplyMode::Off => out.truncate(mark),
            ReplyMode::Skip => {
                out.truncate(mark);
                client.reply_mode = ReplyMode::On;
            }
            ReplyMode::SkipNext => client.reply_mode = ReplyMode::Skip,
        }
        for code in out.take_errors() {
            self.shared.count_error(&code);
        }
        outcome
    }

    /// The waiter of the command this client is blocked in (its `notified()` resolves when
    /// the reply may be there: then [`Session::resume`]).
    pub fn blocked_waiter(&self) -> Option<std::sync::Arc<crate::blocking::Waiter>> {
        self.blocked.as_ref().map(|b| b.waiter.clone())
    }

    /// When to [`Session::resume`] the blocked command for its timeout (`None`: no timeout,
    /// or not blocked).
    pub fn block_deadline(&self) -> Option<std::time::Instant> {
        self.blocked.as_ref().and_then(|b| b.deadline)
    }

    /// If the client is blocked and its command's reply is decided (served, timed out, or
    /// CLIENT UNBLOCK), write that reply (unless CLIENT REPLY dropped it), count the command,
    /// and return `true`: the client runs commands again. `false`: still blocked.
    pub fn resume(&mut self, out: &mut Reply) -> bool {
        let Some(b) = self.blocked.as_mut() else { return true };
        let Some((mut reply, how)) = crate::blocking::poll(self.shared, b) else { return false };
        let errors = reply.take_errors();
        crate::blocking::count_unblocked(self.shared, self.worker, b, how, !errors.is_empty());
        if !b.silent {
            out.raw(reply.as_bytes());
        }
        for code in errors {
            self.shared.count_error(&code);
        }
        self.blocked = None;
        true
    }

    fn process(&mut self, client: &mut Client, out: &mut Reply, args: &[&[u8]]) -> Outcome {
        let shared = self.shared;
        let cmd = match resolve(shared, out, args) {
            Ok(cmd) => cmd,
            Err(found) => {
                if let Some(cmd) = found {
                    bump(&self.worker.commands[cmd.id].rejected, 1);
                }
                if client.multi.is_some() {
                    client.multi_error = true;
                }
                return Outcome::Done;
            }
        };
        if !client.authenticated && !cmd.spec.has(flags::NO_AUTH) {
            reject(self.worker, cmd, out, "NOAUTH Authentication required.");
            return Outcome::Done;
        }
        if client.multi.is_some() && !runs_in_multi(cmd) && cmd.spec.has(flags::NO_MULTI) {
            reject(self.worker, cmd, out, "ERR Command not allowed inside a transaction");
            client.multi_error = true;
            return Outcome::Done;
        }
        // No eviction while the dataset loads (Redis: isSafeToPerformEvictions).
        if shared.config.maxmemory() > 0
            && !shared.loading.is_active()
            && self.refused_for_memory(client, out, cmd)
        {
            return Outcome::Done;
        }
        if cmd.spec.has(flags::WRITE) || (cmd.spec.name == "ping" && cmd.spec.container.is_none()) {
            if let Some(e) = crate::persistence::writes_refused(shared) {
                reject(self.worker, cmd, out, e);
                if client.multi.is_some() {
                    client.multi_error = true;
                }
                return Outcome::Done;
            }
        }
        if client.handle.pubsub.any()
            && !out.is_resp3()
            && !(cmd.spec.container.is_none() && crate::pubsub::allowed_when_subscribed(cmd.spec.name))
        {
            let reason = crate::pubsub::subscribed_mode_error(&cmd.full_name());
            if cmd.spec.name == "exec" && cmd.spec.container.is_none() {
                crate::transactions::discard_transaction(shared, client);
                reject(
                    self.worker,
                    cmd,
                    out,
                    &format!("EXECABORT Transaction discarded because of: {reason}"),
                );
            } else {
                reject(self.worker, cmd, out, &format!("ERR {reason}"));
                if client.multi.is_some() {
                    client.multi_error = true;
                }
            }
            return Outcome::Done;
        }
        if shared.loading.is_active() && !cmd.spec.has(flags::LOADING) {
            reject(self.worker, cmd, out, LOADING_ERROR);
            if client.multi.is_some() {
                client.multi_error = true;
            }
            return Outcome::Done;
        }
        if crate::connection::paused_for(shared, client, cmd) {
            self.gate.release();
            return Outcome::Paused;
        }
        if client.multi.is_some() && !runs_in_multi(cmd) {
            if let Some(q) = client.multi.as_mut() {
                q.push(args.iter().map(|a| a.to_vec()).collect());
                client.handle.multi.store(q.len() as i64, Relaxed);
            }
            out.simple("QUEUED");
            return Outcome::Done;
        }
        if cmd.exclusive {
            self.gate.exclusive(shared);
        } else {
            self.gate.shared(shared);
        }
        call(shared, self.worker, client, out, cmd, args, keeps_stripe(cmd));
        let waiter = crate::blocking::take_new_waiter();
        // Serve the clients blocked on keys this command (or EXEC) made ready.
        crate::blocking::serve_ready(shared, self.worker);
        crate::tracking::flush_pending(shared, client, out);
        match waiter {
            Some(waiter) => {
                self.blocked = Some(crate::blocking::Blocked::new(waiter, cmd.id, args));
                Outcome::Blocked
            }
            None => Outcome::Done,
        }
    }
}

impl<'a> Session<'a> {
    /// The OOM check, as Redis's processCommand does it when `maxmemory` is set: evict first
    /// (with the keyspace gate held, so no eviction happens inside another client's EXEC),
    /// then, if memory is still over the limit with nothing left to evict, refuse `denyoom`
    /// commands and, inside MULTI, every command but EXEC, DISCARD, QUIT and RESET (queueing
    /// would grow memory; the transaction is flagged so EXEC aborts). EXEC itself is refused
    /// by the transaction code when its queue holds a `denyoom` command. Returns whether the
    /// command was refused.
    fn refused_for_memory(&mut self, client: &mut Client, out: &mut Reply, cmd: &Command) -> bool {
        if matches!(self.gate, Gate::Open) {
            self.gate.shared(self.shared);
        }
        if !over_maxmemory(self.shared) {
            return false;
        }
        let in_multi = client.multi.is_some();
        let control =
            cmd.spec.container.is_none() && matches!(cmd.spec.name, "exec" | "discard" | "quit" | "reset");
        if !(cmd.spec.has(flags::DENYOOM) || (in_multi && !control)) {
            return false;
        }
        reject(self.worker, cmd, out, OOM_ERROR);
        if in_multi {
            client.multi_error = true;
        }
        true
    }
}

fn reject(worker: &WorkerStats, cmd: &Command, out: &mut Reply, msg: &str) {
    bump(&worker.commands[cmd.id].rejected, 1);
    out.error(msg);
}

/// Whether `cmd`, from the network, may leave the stripe it locked locked for its thread's
/// next command (`brim_engine::keep_stripes`): a data type's command that locks its keys'
/// stripes before anything else (not blocking, scripting, pub/sub, administrative or
/// whole-keyspace commands).
fn keeps_stripe(cmd: &Command) -> bool {
    use crate::spec::acl;
    const DATA: u64 = acl::STRING
        | acl::LIST
        | acl::HASH
        | acl::SET
        | acl::SORTEDSET
        | acl::BITMAP
        | acl::HYPERLOGLOG
        | acl::GEO;
    const OTHER: u64 = acl::BLOCKING
        | acl::SCRIPTING
        | acl::PUBSUB
        | acl::ADMIN
        | acl::DANGEROUS
        | acl::TRANSACTION
        | acl::CONNECTION;
    let cats = cmd.spec.acl_categories;
    cats & DATA != 0 && cats & OTHER == 0 && !cmd.exclusive
}

/// Whether nothing that runs between two commands may wait for a lock that another thread
/// holds while waiting for a stripe: no AOF (its order lock comes before stripes), MONITOR,
/// keyspace events, client tracking or blocked clients to serve. Only then does a command
/// keep its stripe locked for the next one.
fn quiet_between_commands(shared: &Shared) -> bool {
    !crate::propagate::is_on()
        && !shared.has_monitors.load(Relaxed)
        && shared.config.notify_keyspace_events() == 0
        && !brim_engine::expire::tracks_modified()
        && !crate::blocking::has_ready()
}

/// Run a resolved command: the handler plus statistics, the slow log and MONITOR. Used for
/// commands from the network and for those EXEC and the AOF loader run. `keep`: the command
/// may leave the stripe it locked locked for the thread's next command (only for a command
/// from the network that [`keeps_stripe`]).
pub fn call(
    shared: &Shared,
    worker: &WorkerStats,
    client: &mut Client,
    out: &mut Reply,
    cmd: &Command,
    args: &[&[u8]],
    keep: bool,
) {
    let Some(handler) = cmd.handler else { return };
    if !keep {
        brim_engine::release_kept();
    }
    let now_ms = client.frozen_now.unwrap_or_else(unix_ms);
    let acc = Access { now_ms, touch: touch_mode(shared, client) };
    let errors_before = out.has_errors();
    let start = Instant::now();
    let unit = crate::propagate::begin();
    crate::notify::sync_engine_log(shared);
    {
        let mut ctx = Ctx { shared, client: &mut *client, out: &mut *out, acc, worker };
        crate::tracking::before_call(&ctx, cmd, args);
        brim_engine::keep_stripes(keep);
        handler(&mut ctx, args);
        brim_engine::keep_stripes(false);
        if keep && !quiet_between_commands(shared) {
            brim_engine::release_kept();
        }
        crate::notify::flush_engine_events(&mut ctx);
        crate::tracking::after_call(&ctx, cmd, args);
    }
    crate::propagate::end(unit, shared, client.db, cmd, args);
    let us = start.elapsed().as_micros() as u64;
    let blocked = crate::blocking::has_new_waiter();
    let stat = &worker.commands[cmd.id];
    bump(&stat.calls, 1);
    bump(&stat.usec, us);
    if !errors_before && out.has_errors() {
        bump(&stat.failed, 1);
    }
    bump(&worker.commands_processed, 1);
    if blocked {
        // The rest of its statistics and its slow log entry come when it is unblocked.
        crate::blocking::note_blocked_usec(us);
    }
    if shared.has_monitors.load(Relaxed) && !cmd.spec.has(flags::SKIP_MONITOR | flags::ADMIN) {
        feed_monitors(shared, client, args);
    }
    let h = &client.handle;
    bump(&h.commands, 1);
    h.last_interaction_ms.store(acc.now_ms, Relaxed);
    h.set_last_command(cmd.spec);
    if cmd.spec.has(flags::SKIP_SLOWLOG) || blocked {
        return;
    }
    let threshold = shared.config.slowlog_log_slower_than();
    if threshold >= 0 && us >= threshold as u64 {
        brim_engine::release_kept();
        let name = h.name.lock().clone().unwrap_or_default();
        shared.slowlog.lock().push(
            args,
            us,
            acc.now_ms / 1000,
            h.addr.clone(),
            name,
            shared.config.slowlog_max_len() as usize,
        );
    }
}

/// Redis's sdscatrepr: a quoted, escaped rendering of bytes.
pub fn repr(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() + 2);
    s.push('"');
    for &b in bytes {
        match b {
            b'\\' => s.push_str("\\\\"),
            b'"' => s.push_str("\\\""),
            b'\n' => s.push_str("\\n"),
            b'\r' => s.push_str("\\r"),
            b'\t' => s.push_str("\\t"),
            7 => s.push_str("\\a"),
            8 => s.push_str("\\b"),
            b if b.is_ascii_graphic() || b == b' ' => s.push(b as char),
            b => s.push_str(&format!("\\x{b:02x}")),
        }
    }
    s.push('"');
    s
}

fn feed_monitors(shared: &Shared, client: &Client, args: &[&[u8]]) {
    let us = unix_us();
    let mut line = format!(
        "+{}.{:06} [{} {}]",
        us / 1_000_000,
        us % 1_000_000,
        client.db,
        if client.handle.unix { format!("unix:{}", client.handle.addr) } else { client.handle.addr.clone() }
    );
    for a in args {
        line.push(' ');
        line.push_str(&repr(a));
    }
    line.push_str("\r\n");
    for m in shared.monitors.lock().iter() {
        m.send(line.clone().into_bytes());
    }
}
