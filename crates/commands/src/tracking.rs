//! Client-side caching: CLIENT TRACKING and its invalidation messages, as Redis 7.0's
//! tracking.c.
//!
//! # Modes
//! A client turns tracking on with `CLIENT TRACKING ON`. In the default mode the keys its
//! read-only commands read (found with the command's key specs) are remembered in a
//! server-wide table, key → ids of the clients that may cache it; the key's database does
//! not matter, as in Redis. `OPTIN` remembers only the keys of the command that follows
//! `CLIENT CACHING YES`, `OPTOUT` all but those of the command that follows `CLIENT CACHING
//! NO`. `BCAST` remembers nothing: the client hears about every key that starts with one of
//! its prefixes. `NOLOOP` leaves out the changes the client made itself. `REDIRECT <id>`
//! sends the messages to another connection: a RESP3 one gets them as pushes, a RESP2 one
//! subscribed to `__redis__:invalidate` as messages of that channel.
//!
//! # Invalidation
//! Every change to a key goes through `Stripe::signal` (writes, deletions, lazy and active
//! expiry, eviction), and emptying a database through `Stripe::take_all`. While tracking is
//! in use, the engine logs those changes per thread (`brim_engine::expire::take_modified`);
//! they are drained here:
//! - after each command ([`after_call`], EXEC's commands included) the changed keys are
//!   invalidated: other clients are sent their messages through their push channels, the
//!   running client's own wait until its reply is written ([`flush_pending`], called once
//!   the command, its EXEC and the blocked clients it served are done), as Redis 7.0 queues
//!   them (`tracking_pending_keys`);
//! - by the threads that change keys outside any command (active expiry, background
//!   eviction) and by eviction before a command ([`drain_background`]).
//!
//! A modified key is forgotten once its clients were told; a flush sends every tracking
//! client a null invalidation ("everything") and empties the table, as
//! trackingInvalidateKeysOnFlush does. BCAST clients get, per prefix, one message with the
//! modified keys under it, sorted, at the end of the command that changed them (Redis sends
//! them before it next sleeps).
//!
//! # Concurrency
//! Commands run on several workers. A reader's keys are remembered both before and after
//! its command runs: a write that lands while the read runs finds the key in the table and
//! invalidates it (the message reaches the reader after its reply, as pushes queued while
//! a command runs follow its reply), and the key stays remembered for the value the reader
//! got.
//!
//! # Memory
//! The table is a hash map from the key to its clients' ids, one id inline (no allocation
//! of its own): about 70 bytes per key of 13 bytes read by one client, where Redis 7.0's
//! radix trees take about 98 (tracking 100,000 keys with MGET, `used_memory` before and
//! after). It is freed as keys are invalidated, and at once by a flush.
//!
//! # Limits
//! `tracking-table-max-keys`: when the table holds more keys, keys picked at random are
//! invalidated (as if modified) until it is back under the limit, with an effort that grows
//! while it stays over, as trackingLimitUsedSlots. Keys stay in the table until invalidated
//! even when their clients are gone or stopped tracking, as in Redis.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering::Relaxed};
use std::sync::Arc;

use brim_engine::expire::Modified;
use brim_resp::Reply;
use parking_lot::Mutex;

use crate::args::{is, parse_i64, NOT_INTEGER, SYNTAX};
use crate::client::{Client, ClientHandle};
use crate::ctx::Ctx;
use crate::shared::Shared;
use crate::spec::flags;
use crate::table::Command;

// ---------------------------------------------------------------------------------------
// Per-client state
// ---------------------------------------------------------------------------------------

/// A client's tracking mode (part of its [`ClientHandle`]: other clients' changes are sent
/// to it by what it says).
#[derive(Debug)]
pub struct ClientTracking {
    id: u64,
    on: AtomicBool,
    mode: Mutex<Mode>,
}

#[derive(Debug, Default, Clone)]
struct Mode {
    bcast: bool,
    optin: bool,
    optout: bool,
    noloop: bool,
    /// CLIENT CACHING YES (OPTIN) / NO (OPTOUT) applies to the next command.
    caching: bool,
    /// The redirect client was gone when a message was due.
    broken_redirect: bool,
    /// Client id to send the messages to (0: this client).
    redirect: u64,
    /// BCAST prefixes, sorted.
    prefixes: BTreeSet<Vec<u8>>,
}

impl ClientTracking {
    /// Tracking off, for client `id`.
    pub fn new(id: u64) -> Self {
        ClientTracking { id, on: AtomicBool::new(false), mode: Mutex::new(Mode::default()) }
    }

    /// Whether tracking is on.
    pub fn is_on(&self) -> bool {
        self.on.load(Relaxed)
    }

    /// Its CLIENT LIST flags: `t` (tracking), `R` (broken redirect), `B` (BCAST).
    pub fn list_flags(&self, flags: &mut String) {
        if !self.is_on() {
            return;
        }
        let m = self.mode.lock();
        flags.push('t');
        if m.broken_redirect {
            flags.push('R');
        }
        if m.bcast {
            flags.push('B');
        }
    }

    /// CLIENT LIST's `redir`: the redirect id, 0 without one, -1 when not tracking.
    pub fn redirect(&self) -> i64 {
        if self.is_on() {
            self.mode.lock().redirect as i64
        } else {
            -1
        }
    }
}

// ---------------------------------------------------------------------------------------
// The server-wide table
// ---------------------------------------------------------------------------------------

/// The clients that read a key.
type Ids = smallvec::SmallVec<[u64; 1]>;

#[derive(Default)]
struct Table {
    /// Key → ids of the clients that read it (one, inline, in the common case).
    keys: HashMap<Box<[u8]>, Ids>,
    /// Sum of the id lists' lengths (`tracking_total_items`).
    items: usize,
    /// BCAST prefix → ids of the clients following it.
    prefixes: BTreeMap<Vec<u8>, Vec<u64>>,
    /// Clients with tracking on (`tracking_clients`).
    clients: usize,
}

impl Table {
    /// Keep the engine logging changes exactly while someone may need to hear of them.
    fn sync_engine(&self) {
        brim_engine::expire::set_track_modified(self.clients > 0 || !self.keys.is_empty());
    }

    fn remember(&mut self, key: &[u8], id: u64) {
        let ids = match self.keys.get_mut(key) {
            Some(ids) => ids,
            None => self.keys.entry(key.into()).or_default(),
        };
        if !ids.contains(&id) {
            ids.push(id);
            self.items += 1;
        }
    }

    fn forget(&mut self, key: &[u8]) -> Option<Ids> {
        let ids = self.keys.remove(key)?;
        self.items -= ids.len();
        if self.keys.capacity() > 64 && self.keys.len() < self.keys.capacity() / 8 {
            // Give the memory back as the table empties.
            self.keys.shrink_to(self.keys.len() * 2);
        }
        Some(ids)
    }

    fn clear_keys(&mut self) {
        self.keys = HashMap::new();
        self.items = 0;
    }
}

static TABLE: Mutex<Option<Table>> = Mutex::new(None);

/// The table's key count, readable without its lock.
static TABLE_KEYS: AtomicUsize = AtomicUsize::new(0);

fn with_table<T>(f: impl FnOnce(&mut Table) -> T) -> T {
    let mut t = TABLE.lock();
    let t = t.get_or_insert_with(Table::default);
    let r = f(t);
    t.sync_engine();
    TABLE_KEYS.store(t.keys.len(), Relaxed);
    r
}

/// INFO figures: `(tracking_clients, tracking_total_keys, tracking_total_items,
/// tracking_total_prefixes)`.
pub fn info() -> (usize, usize, usize, usize) {
    match &*TABLE.lock() {
        Some(t) => (t.clients, t.keys.len(), t.items, t.prefixes.len()),
        None => (0, 0, 0, 0),
    }
}

// ---------------------------------------------------------------------------------------
// CLIENT TRACKING / CACHING / GETREDIR / TRACKINGINFO
// ---------------------------------------------------------------------------------------

/// The options of a CLIENT TRACKING line.
#[derive(Default)]
struct Options<'a> {
    redirect: u64,
    bcast: bool,
    optin: bool,
    optout: bool,
    noloop: bool,
    prefixes: Vec<&'a [u8]>,
}

/// Parse CLIENT TRACKING's options (from `args[3]`), as Redis: errors in the order Redis
/// finds them.
fn parse_options<'a>(shared: &Shared, args: &[&'a [u8]]) -> Result<Options<'a>, &'static str> {
    let mut o = Options::default();
    let mut j = 3;
    while j < args.len() {
        let more = j + 1 < args.len();
        let a = args[j];
        if is(a, "redirect") && more {
            j += 1;
            if o.redirect != 0 {
                return Err("ERR A client can only redirect to a single other client");
            }
            let id = parse_i64(args[j]).ok_or(NOT_INTEGER)?;
            let exists = u64::try_from(id).is_ok_and(|id| shared.clients.lock().contains_key(&id));
            if !exists {
                return Err("ERR The client ID you want redirect to does not exist");
            }
            o.redirect = id as u64;
        } else if is(a, "bcast") {
            o.bcast = true;
        } else if is(a, "optin") {
            o.optin = true;
        } else if is(a, "optout") {
            o.optout = true;
        } else if is(a, "noloop") {
            o.noloop = true;
        } else if is(a, "prefix") && more {
            j += 1;
            o.prefixes.push(args[j]);
        } else {
            return Err(SYNTAX);
        }
        j += 1;
    }
    Ok(o)
}

/// The checks of CLIENT TRACKING ON against the options and the client's current mode.
fn check_on(current: Option<&Mode>, o: &Options) -> Result<(), String> {
    if !o.bcast && !o.prefixes.is_empty() {
        return Err("ERR PREFIX option requires BCAST mode to be enabled".into());
    }
    if current.is_some_and(|m| m.bcast != o.bcast) {
        return Err("ERR You can't switch BCAST mode on/off before disabling tracking for this client, \
                    and then re-enabling it with a different mode."
            .into());
    }
    if o.bcast && (o.optin || o.optout) {
        return Err("ERR OPTIN and OPTOUT are not compatible with BCAST".into());
    }
    if o.optin && o.optout {
        return Err("ERR You can't specify both OPTIN mode and OPTOUT mode".into());
    }
    if current.is_some_and(|m| (o.optin && m.optout) || (o.optout && m.optin)) {
        return Err("ERR You can't switch OPTIN/OPTOUT mode before disabling tracking for this client, \
                    and then re-enabling it with a different mode."
            .into());
    }
    if o.bcast {
        check_prefixes(current.map(|m| &m.prefixes), &o.prefixes)?;
    }
    Ok(())
}

/// Redis's checkPrefixCollisionsOrReply: no new prefix may be a prefix of (or start with)
/// an existing one or another new one.
fn check_prefixes(existing: Option<&BTreeSet<Vec<u8>>>, new: &[&[u8]]) -> Result<(), String> {
    let overlap = |a: &[u8], b: &[u8]| a.starts_with(b) || b.starts_with(a);
    let text = |b: &[u8]| String::from_utf8_lossy(crate::args::c_str(b)).into_owned();
    for (i, p) in new.iter().enumerate() {
        if let Some(old) = existing.and_then(|e| e.iter().find(|o| overlap(o, p))) {
            return Err(format!(
                "ERR Prefix '{}' overlaps with an existing prefix '{}'. Prefixes for a single client \
                 must not overlap.",
                text(p),
                text(old)
            ));
        }
        if let Some(other) = new.get(i + 1..).and_then(|rest| rest.iter().find(|o| overlap(o, p))) {
            return Err(format!(
                "ERR Prefix '{}' overlaps with another provided prefix '{}'. Prefixes for a single \
                 client must not overlap.",
                text(p),
                text(other)
            ));
        }
    }
    Ok(())
}

/// CLIENT TRACKING ON|OFF [REDIRECT id] [PREFIX p ...] [BCAST] [OPTIN] [OPTOUT] [NOLOOP]
pub fn tracking_command(ctx: &mut Ctx, args: &[&[u8]]) {
    let o = match parse_options(ctx.shared, args) {
        Ok(o) => o,
        Err(e) => return ctx.error(e),
    };
    let handle = ctx.client.handle.clone();
    if is(args[2], "on") {
        let current = handle.tracking.is_on().then(|| handle.tracking.mode.lock().clone());
        if let Err(e) = check_on(current.as_ref(), &o) {
            return ctx.error(&e);
        }
        enable(&handle.tracking, &o);
    } else if is(args[2], "off") {
        disable(&handle.tracking);
    } else {
        return ctx.error(SYNTAX);
    }
    ctx.out.ok();
}

/// Redis's enableTracking: the flags are replaced by the new options, prefixes are added.
fn enable(t: &ClientTracking, o: &Options) {
    let mut m = t.mode.lock();
    let was_on = t.on.swap(true, Relaxed);
    m.broken_redirect = false;
    m.bcast = o.bcast;
    m.optin = o.optin;
    m.optout = o.optout;
    m.noloop = o.noloop;
    m.redirect = o.redirect;
    let mut added: Vec<Vec<u8>> = Vec::new();
    if o.bcast {
        let new: Vec<&[u8]> = if o.prefixes.is_empty() { vec![b"".as_slice()] } else { o.prefixes.clone() };
        for p in new {
            if m.prefixes.insert(p.to_vec()) {
                added.push(p.to_vec());
            }
        }
    }
    drop(m);
    with_table(|tab| {
        if !was_on {
            tab.clients += 1;
        }
        for p in added {
            tab.prefixes.entry(p).or_default().push(t.id);
        }
    });
}

/// Redis's disableTracking: off, prefixes dropped (the keys it read stay in the table until
/// invalidated).
fn disable(t: &ClientTracking) {
    if !t.on.swap(false, Relaxed) {
        return;
    }
    let prefixes = std::mem::take(&mut *t.mode.lock()).prefixes;
    with_table(|tab| {
        tab.clients = tab.clients.saturating_sub(1);
        for p in prefixes {
            if let Some(ids) = tab.prefixes.get_mut(&p) {
                ids.retain(|&id| id != t.id);
                if ids.is_empty() {
                    tab.prefixes.remove(&p);
                }
            }
        }
    });
}

/// Turn tracking off for a client that disconnects or RESETs.
pub fn stop(handle: &ClientHandle) {
    disable(&handle.tracking);
}

/// CLIENT CACHING YES|NO
pub fn caching_command(ctx: &mut Ctx, args: &[&[u8]]) {
    let t = &ctx.client.handle.tracking;
    if !t.is_on() {
        return ctx.error(
            "ERR CLIENT CACHING can be called only when the client is in tracking mode with OPTIN \
             or OPTOUT mode enabled",
        );
    }
    let mut m = t.mode.lock();
    let err = if is(args[2], "yes") {
        (!m.optin).then_some("ERR CLIENT CACHING YES is only valid when tracking is enabled in OPTIN mode.")
    } else if is(args[2], "no") {
        (!m.optout).then_some("ERR CLIENT CACHING NO is only valid when tracking is enabled in OPTOUT mode.")
    } else {
        Some(SYNTAX)
    };
    match err {
        Some(e) => {
            drop(m);
            ctx.error(e);
        }
        None => {
            m.caching = true;
            drop(m);
            ctx.out.ok();
        }
    }
}

/// CLIENT GETREDIR
pub fn getredir_command(ctx: &mut Ctx, _args: &[&[u8]]) {
    let r = ctx.client.handle.tracking.redirect();
    ctx.out.int(r);
}

/// CLIENT TRACKINGINFO
pub fn trackinginfo_command(ctx: &mut Ctx, _args: &[&[u8]]) {
    let t = &ctx.client.handle.tracking;
    let on = t.is_on();
    let m = if on { t.mode.lock().clone() } else { Mode::default() };
    let mut flags: Vec<&str> = Vec::new();
    if !on {
        flags.push("off");
    } else {
        flags.push("on");
        if m.bcast {
            flags.push("bcast");
        }
        if m.optin {
            flags.push("optin");
            if m.caching {
                flags.push("caching-yes");
            }
        }
        if m.optout {
            flags.push("optout");
            if m.caching {
                flags.push("caching-no");
            }
        }
        if m.noloop {
            flags.push("noloop");
        }
        if m.broken_redirect {
            flags.push("broken_redirect");
        }
    }
    let out = &mut *ctx.out;
    out.map(3);
    out.bulk(b"flags");
    out.set(flags.len());
    for f in flags {
        out.bulk(f.as_bytes());
    }
    out.bulk(b"redirect");
    out.int(if on { m.redirect as i64 } else { -1 });
    out.bulk(b"prefixes");
    out.array(m.prefixes.len());
    for p in &m.prefixes {
        out.bulk(p);
    }
}

// ---------------------------------------------------------------------------------------
// Remembering what clients read
// ---------------------------------------------------------------------------------------

/// Remember the keys `cmd` reads for its client if it tracks them (Redis's
/// trackingRememberKeys). The dispatcher calls it before the handler runs.
pub fn before_call(ctx: &Ctx, cmd: &Command, args: &[&[u8]]) {
    remember_keys(ctx, cmd, args);
}

/// After a command (EXEC's included): invalidate the keys it changed (its own client's
/// messages wait for [`flush_pending`]), remember the keys it read (again: see the module's
/// notes on concurrency), then let CLIENT CACHING's one-command effect end, as Redis's
/// resetClient (outside MULTI, after any command but CLIENT ...).
pub fn after_call(ctx: &Ctx, cmd: &Command, args: &[&[u8]]) {
    let t = &ctx.client.handle.tracking;
    drain_command(ctx.shared, t.id);
    if !t.is_on() {
        return;
    }
    remember_keys(ctx, cmd, args);
    let top_level = !ctx.client.in_exec && ctx.client.multi.is_none();
    let client_cmd = cmd.spec.container == Some("client");
    if top_level && !client_cmd {
        t.mode.lock().caching = false;
    }
}

fn remember_keys(ctx: &Ctx, cmd: &Command, args: &[&[u8]]) {
    let t = &ctx.client.handle.tracking;
    if !t.is_on() || !cmd.spec.has(flags::READONLY) || cmd.spec.has(flags::PUBSUB) {
        return;
    }
    {
        let m = t.mode.lock();
        if m.bcast || (m.optin && !m.caching) || (m.optout && m.caching) {
            return;
        }
    }
    let keys = crate::spec::reply::key_positions(cmd.spec, args);
    if keys.is_empty() {
        return;
    }
    with_table(|tab| {
        for k in keys.iter().filter_map(|&i| args.get(i)) {
            tab.remember(k, t.id);
        }
    });
}

// ---------------------------------------------------------------------------------------
// Invalidation
// ---------------------------------------------------------------------------------------

/// The client whose command is running: its messages are kept to follow its reply.
struct Own<'a> {
    id: u64,
    buf: &'a mut Vec<u8>,
}

/// What to tell a tracking client.
enum Payload<'a> {
    /// One key: `*1 $<key>`.
    Key(&'a [u8]),
    /// Pre-encoded: a null (flush) or an array of keys (BCAST).
    Proto(&'a [u8]),
}

fn lookup(shared: &Shared, id: u64) -> Option<Arc<ClientHandle>> {
    shared.clients.lock().get(&id).cloned()
}

fn deliver(to: &ClientHandle, bytes: Vec<u8>, own: &mut Option<Own>) {
    match own {
        Some(o) if o.id == to.id => o.buf.extend_from_slice(&bytes),
        _ => to.send(bytes),
    }
}

/// Redis's sendTrackingMessage: an invalidation for `c`, to `c` itself (RESP3) or to its
/// redirect client (RESP3 push, or a `__redis__:invalidate` message when it is a subscribed
/// RESP2 connection); a RESP3 client whose redirect client is gone hears
/// `tracking-redir-broken` instead.
fn send_message(shared: &Shared, c: &Arc<ClientHandle>, payload: Payload, own: &mut Option<Own>) {
    let redirect = c.tracking.mode.lock().redirect;
    let target = if redirect != 0 {
        match lookup(shared, redirect) {
            Some(r) => r,
            None => {
                c.tracking.mode.lock().broken_redirect = true;
                if c.resp.load(Relaxed) > 2 {
                    let msg = format!(">2\r\n$21\r\ntracking-redir-broken\r\n:{redirect}\r\n");
                    deliver(c, msg.into_bytes(), own);
                }
                return;
            }
        }
    } else {
        c.clone()
    };
    let mut msg = Vec::with_capacity(64);
    if target.resp.load(Relaxed) > 2 {
        msg.extend_from_slice(b">2\r\n$10\r\ninvalidate\r\n");
    } else if redirect != 0 && target.pubsub.any() {
        msg.extend_from_slice(b"*3\r\n$7\r\nmessage\r\n$20\r\n__redis__:invalidate\r\n");
    } else {
        return;
    }
    match payload {
        Payload::Key(k) => {
            msg.extend_from_slice(b"*1\r\n");
            push_bulk(&mut msg, k);
        }
        Payload::Proto(p) => msg.extend_from_slice(p),
    }
    deliver(&target, msg, own);
}

fn push_bulk(msg: &mut Vec<u8>, b: &[u8]) {
    msg.extend_from_slice(format!("${}\r\n", b.len()).as_bytes());
    msg.extend_from_slice(b);
    msg.extend_from_slice(b"\r\n");
}

/// Redis's trackingInvalidateKey for the default mode: tell the clients that read `key`
/// (still tracking, not in BCAST mode, not the running client when it asked for NOLOOP)
/// and forget it.
fn invalidate_key(shared: &Shared, key: &[u8], own: &mut Option<Own>) {
    let Some(ids) = with_table(|t| t.forget(key)) else { return };
    for id in ids {
        let Some(c) = lookup(shared, id) else { continue };
        if !c.tracking.is_on() {
            continue;
        }
        let (bcast, noloop) = {
            let m = c.tracking.mode.lock();
            (m.bcast, m.noloop)
        };
        if bcast || (noloop && own.as_ref().is_some_and(|o| o.id == id)) {
            continue;
        }
        send_message(shared, &c, Payload::Key(key), own);
    }
}

/// Redis's trackingInvalidateKeysOnFlush: every tracking client hears "everything"
/// (a null in its own protocol), and the table is emptied.
fn invalidate_all(shared: &Shared, own: &mut Option<Own>) {
    let tracking: Vec<Arc<ClientHandle>> =
        shared.clients.lock().values().filter(|c| c.tracking.is_on()).cloned().collect();
    for c in &tracking {
        let null: &[u8] = if c.resp.load(Relaxed) > 2 { b"_\r\n" } else { b"$-1\r\n" };
        send_message(shared, c, Payload::Proto(null), own);
    }
    with_table(Table::clear_keys);
}

/// Redis's trackingBroadcastInvalidationMessages: per prefix, the modified keys under it
/// (sorted, once each) to each client following it, but to a NOLOOP client only if someone
/// else changed them (`own` made them all, when set).
fn broadcast(shared: &Shared, keys: &BTreeSet<Box<[u8]>>, own: &mut Option<Own>) {
    let prefixes: Vec<(Vec<u8>, Vec<u64>)> = match &*TABLE.lock() {
        Some(t) => t.prefixes.iter().map(|(p, ids)| (p.clone(), ids.clone())).collect(),
        None => return,
    };
    for (prefix, ids) in prefixes {
        let under: Vec<&[u8]> = keys.iter().map(|k| &k[..]).filter(|k| k.starts_with(&prefix)).collect();
        if under.is_empty() {
            continue;
        }
        let mut proto = format!("*{}\r\n", under.len()).into_bytes();
        for k in &under {
            push_bulk(&mut proto, k);
        }
        for id in ids {
            let Some(c) = lookup(shared, id) else { continue };
            let noloop = c.tracking.mode.lock().noloop;
            if noloop && own.as_ref().is_some_and(|o| o.id == id) {
                continue;
            }
            send_message(shared, &c, Payload::Proto(&proto), own);
        }
    }
}

/// What a thread holds between the commands of one network command (an EXEC runs
/// several): the running client's own messages, and the keys BCAST clients will hear of.
#[derive(Default)]
struct Pending {
    /// Whose messages `own` holds.
    owner: u64,
    own: Vec<u8>,
    bcast: BTreeSet<Box<[u8]>>,
}

impl Pending {
    /// Make `id` the owner of `own`; messages kept for another client (a command run
    /// outside the dispatcher's loop) are sent to it now.
    fn own_for(&mut self, shared: &Shared, id: u64) {
        if self.owner != id && !self.own.is_empty() {
            if let Some(c) = lookup(shared, self.owner) {
                c.send(std::mem::take(&mut self.own));
            }
            self.own.clear();
        }
        self.owner = id;
    }
}

thread_local! {
    static PENDING: std::cell::RefCell<Pending> = std::cell::RefCell::new(Pending::default());
}

fn take_pending() -> Pending {
    PENDING
        .try_with(|p| p.try_borrow_mut().map(|mut p| std::mem::take(&mut *p)).unwrap_or_default())
        .unwrap_or_default()
}

fn pending_is_empty() -> bool {
    PENDING
        .try_with(|p| p.try_borrow().map_or(true, |p| p.own.is_empty() && p.bcast.is_empty()))
        .unwrap_or(true)
}

fn put_pending(pending: Pending) {
    let _ = PENDING.try_with(|p| {
        if let Ok(mut p) = p.try_borrow_mut() {
            *p = pending;
        }
    });
}

/// Invalidate the changes this thread logged, oldest first, at once (as Redis does when a
/// key changes), `own_id` being the running client; its messages and the BCAST keys are
/// kept in `pending`.
fn drain_log(shared: &Shared, own_id: Option<u64>, log: Vec<Modified>, pending: &mut Pending) {
    if let Some(id) = own_id {
        pending.own_for(shared, id);
    }
    if log.is_empty() {
        return;
    }
    let bcast = TABLE.lock().as_ref().is_some_and(|t| !t.prefixes.is_empty());
    let mut own = own_id.map(|id| Own { id, buf: &mut pending.own });
    for m in log {
        match m {
            Some(key) => {
                invalidate_key(shared, &key, &mut own);
                if bcast {
                    pending.bcast.insert(key);
                }
            }
            None => invalidate_all(shared, &mut own),
        }
    }
}

/// Invalidate what the running command changed so far (called by the dispatcher after
/// each command, EXEC's included): the running client's own messages wait for
/// [`flush_pending`].
fn drain_command(shared: &Shared, own_id: u64) {
    let log = take_log();
    if log.is_empty() {
        return;
    }
    let mut pending = take_pending();
    drain_log(shared, Some(own_id), log, &mut pending);
    put_pending(pending);
}

fn take_log() -> Vec<Modified> {
    let mut log: Vec<Modified> = Vec::new();
    brim_engine::expire::take_modified(&mut log);
    log
}

/// After a command from the network (and the EXEC or blocked clients it ran): send what
/// is left to send, the running client's messages after its reply (`out`), then the
/// BCAST messages; keep the table within `tracking-table-max-keys`.
pub fn flush_pending(shared: &Shared, client: &Client, out: &mut Reply) {
    let log = take_log();
    if log.is_empty() && pending_is_empty() {
        limit_table(shared);
        return;
    }
    let mut pending = take_pending();
    let id = client.handle.id;
    drain_log(shared, Some(id), log, &mut pending);
    if !pending.bcast.is_empty() {
        let keys = std::mem::take(&mut pending.bcast);
        broadcast(shared, &keys, &mut Some(Own { id, buf: &mut pending.own }));
    }
    if !pending.own.is_empty() {
        out.raw(&pending.own);
        pending.own.clear();
    }
    put_pending(pending);
    limit_table(shared);
}

/// Send the invalidations for what this thread changed outside any client's command
/// (active expiry, eviction).
pub fn drain_background(shared: &Shared) {
    let mut pending = Pending::default();
    drain_log(shared, None, take_log(), &mut pending);
    if !pending.bcast.is_empty() {
        broadcast(shared, &pending.bcast, &mut None);
    }
    limit_table(shared);
}

/// Times in a row the table was found over `tracking-table-max-keys` after a full effort.
static OVER_LIMIT_RUNS: AtomicU32 = AtomicU32::new(0);

/// Redis's trackingLimitUsedSlots: bring the table back under `tracking-table-max-keys` by
/// invalidating keys picked at random, with an effort of 100 keys per run that grows while
/// the table stays over the limit.
fn limit_table(shared: &Shared) {
    let max = shared.config.tracking_table_max_keys() as usize;
    let over = |len: usize| max > 0 && len > max;
    if !over(TABLE_KEYS.load(Relaxed)) {
        return;
    }
    let runs = OVER_LIMIT_RUNS.load(Relaxed);
    let mut effort = 100u64 * (u64::from(runs) + 1);
    while effort > 0 {
        effort -= 1;
        let skip = (fastrand_u64() % 16) as usize;
        let key = {
            let t = TABLE.lock();
            let Some(t) = t.as_ref() else { return };
            let n = t.keys.len();
            t.keys.keys().nth(skip % n.max(1)).cloned()
        };
        let Some(key) = key else { break };
        invalidate_key(shared, &key, &mut None);
        if !over(TABLE_KEYS.load(Relaxed)) {
            OVER_LIMIT_RUNS.store(0, Relaxed);
            return;
        }
    }
    OVER_LIMIT_RUNS.store(runs.saturating_add(1), Relaxed);
}

/// A cheap pseudo-random number (which table key to drop).
fn fastrand_u64() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = ahash::RandomState::new().build_hasher();
    h.write_u64(brim_engine::alloc::used_memory() as u64);
    h.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(items: &[&str]) -> BTreeSet<Vec<u8>> {
        items.iter().map(|s| s.as_bytes().to_vec()).collect()
    }

    #[test]
    fn prefixes_must_not_overlap_existing_or_each_other() {
        let existing = set(&["foo"]);
        let err = check_prefixes(Some(&existing), &[b"fo"]).unwrap_err();
        assert_eq!(
            err,
            "ERR Prefix 'fo' overlaps with an existing prefix 'foo'. Prefixes for a single client must \
             not overlap."
        );
        let err = check_prefixes(None, &[b"a", b"b", b"ab"]).unwrap_err();
        assert!(err.starts_with("ERR Prefix 'a' overlaps with another provided prefix 'ab'."), "{err}");
        assert!(check_prefixes(Some(&existing), &[b"bar", b"baz"]).is_ok());
        // The empty prefix (BCAST without PREFIX) covers every key.
        assert!(check_prefixes(Some(&set(&[""])), &[b"x"]).is_err());
    }

    #[test]
    fn on_checks_come_in_redis_order() {
        let o = Options { prefixes: vec![b"p"], optin: true, optout: true, ..Options::default() };
        assert_eq!(check_on(None, &o).unwrap_err(), "ERR PREFIX option requires BCAST mode to be enabled");
        let o = Options { bcast: true, optin: true, optout: true, ..Options::default() };
        assert_eq!(check_on(None, &o).unwrap_err(), "ERR OPTIN and OPTOUT are not compatible with BCAST");
        let current = Mode { optout: true, ..Mode::default() };
        let o = Options { optin: true, ..Options::default() };
        assert!(check_on(Some(&current), &o).unwrap_err().starts_with("ERR You can't switch OPTIN/OPTOUT"));
        assert!(check_on(Some(&current), &Options::default()).is_ok());
    }

    #[test]
    fn table_counts_items_once_per_client_and_key() {
        let mut t = Table::default();
        t.remember(b"k", 1);
        t.remember(b"k", 1);
        t.remember(b"k", 2);
        t.remember(b"j", 1);
        assert_eq!((t.keys.len(), t.items), (2, 3));
        assert_eq!(t.forget(b"k").map(|ids| ids.to_vec()), Some(vec![1, 2]));
        assert_eq!((t.keys.len(), t.items), (1, 1));
        assert_eq!(t.forget(b"k"), None);
        t.clear_keys();
        assert_eq!((t.keys.len(), t.items), (0, 0));
    }
}
