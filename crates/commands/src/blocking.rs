//! Blocking commands: BLPOP, BRPOP, BLMOVE, BRPOPLPUSH, BLMPOP, BZPOPMIN, BZPOPMAX, BZMPOP,
//! with Redis 7.0's semantics, replies and error texts.
//!
//! A blocking command first behaves as its non-blocking twin: when one of its keys holds
//! something it pops (or moves) at once. Otherwise, still under its keys' stripe locks, it
//! registers a [`Waiter`] in the server-wide [`Registry`] (one FIFO queue per database and
//! key, as Redis's `db->blocking_keys`) and the dispatcher returns
//! [`crate::dispatch::Outcome::Blocked`]: the connection stops running that client's
//! pipeline until the waiter gets its reply (served, timed out, or `CLIENT UNBLOCK`ed).
//!
//! Wake-ups, as Redis's signalKeyAsReady / handleClientsBlockedOnKeys: a command that adds
//! elements calls [`crate::notify::key_ready`], which records the key for the current
//! thread when someone waits on it ([`signal_ready`]). Once the command (or EXEC as a
//! whole) has finished and released its locks, the dispatcher calls [`serve_ready`]: for
//! each ready key, the waiters are taken in arrival order; each is served under the key's
//! stripe lock with the family's own pop code (`crate::lists::pop_and_reply`,
//! `crate::zsets::pop`), its reply written in the waiter's protocol and handed over through
//! the waiter, whose connection (on any worker thread) then wakes. A waiter only takes from
//! a key holding its type (a list waiter ignores a sorted set under its key, and the
//! reverse). A served BLMOVE pushes to its destination, which becomes ready in turn, so
//! chains of BLMOVEs are served.
//!
//! Exactly-once: whoever takes a waiter out of the registry (a server, its timeout, CLIENT
//! UNBLOCK, its disconnection) decides its fate, under the registry lock. Lock order: stripe
//! locks, then the registry lock (never the reverse), so registering under the keys' locks
//! cannot miss a push: a pusher looks the key up in the registry after its change, and a
//! client that locks the key after that change sees the elements instead of blocking.
//!
//! Inside EXEC nothing blocks: the commands reply a null at once, as Redis does for clients
//! that may not block.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ahash::AHashMap;
use brim_engine::list::End;
use brim_engine::{Access, Stripe, ValueType};
use brim_resp::Reply;
use parking_lot::Mutex;
use tokio::sync::Notify;

use crate::args::{SYNTAX, WRONGTYPE};
use crate::client::{Client, ClientHandle};
use crate::ctx::Ctx;
use crate::dispatch::touch_mode;
use crate::lists::{move_and_reply, parse_end, parse_mpop, pop_and_reply, PopReply, Popped};
use crate::shared::{unix_ms, Shared};
use crate::stats::{bump, WorkerStats};
use crate::strings::float::is_valid_long_double;
use crate::table::{cmd, Registration};
use crate::zsets::{self, PopShape};

/// The blocking commands.
pub const COMMANDS: &[Registration] = &[
    cmd("blpop", blpop),
    cmd("brpop", brpop),
    cmd("blmove", blmove),
    cmd("brpoplpush", brpoplpush),
    cmd("blmpop", blmpop),
    cmd("bzpopmin", bzpopmin),
    cmd("bzpopmax", bzpopmax),
    cmd("bzmpop", bzmpop),
];

/// `ERR timeout is not a float or out of range`.
pub const TIMEOUT_NOT_FLOAT: &str = "ERR timeout is not a float or out of range";
/// `ERR timeout is negative`.
pub const TIMEOUT_NEGATIVE: &str = "ERR timeout is negative";
/// The error a client unblocked by `CLIENT UNBLOCK <id> ERROR` gets.
pub const UNBLOCKED_ERROR: &str = "UNBLOCKED client unblocked via CLIENT UNBLOCK";

// ---------------------------------------------------------------------------------------
// Waiters and the registry.
// ---------------------------------------------------------------------------------------

/// What a blocked client does with a key once it holds something.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    /// BLPOP / BRPOP (`count: None`: `[key, element]`) and BLMPOP (`Some(n)`:
    /// `[key, [elements...]]`).
    ListPop {
        /// Which end to pop from.
        end: End,
        /// BLMPOP's COUNT.
        count: Option<usize>,
    },
    /// BLMOVE / BRPOPLPUSH: pop from the key, push to `dst`, reply with the element.
    ListMove {
        /// The destination key.
        dst: Vec<u8>,
        /// The source end.
        from: End,
        /// The destination end.
        to: End,
    },
    /// BZPOPMIN / BZPOPMAX (`count: None`: `[key, member, score]`) and BZMPOP (`Some(n)`:
    /// `[key, [[member, score], ...]]`).
    ZPop {
        /// Highest scores first.
        max: bool,
        /// BZMPOP's COUNT.
        count: Option<usize>,
    },
}

impl Op {
    /// What serving this operation from `key` logs to the AOF (Redis 7.0's non-blocking
    /// forms: LPOP / RPOP [count], LMOVE, ZPOPMIN / ZPOPMAX [count]).
    fn logged_form(&self, key: &[u8]) -> Vec<Vec<u8>> {
        let side = |e: &End| if *e == End::Head { b"left".to_vec() } else { b"right".to_vec() };
        match self {
            Op::ListPop { end, count } => {
                crate::propagate::pop_form(if *end == End::Head { "LPOP" } else { "RPOP" }, key, *count)
            }
            Op::ZPop { max, count } => {
                crate::propagate::pop_form(if *max { "ZPOPMAX" } else { "ZPOPMIN" }, key, *count)
            }
            Op::ListMove { dst, from, to } => {
                vec![b"LMOVE".to_vec(), key.to_vec(), dst.clone(), side(from), side(to)]
            }
        }
    }

    /// The type of key this operation takes from.
    fn wants(&self) -> ValueType {
        match self {
            Op::ListPop { .. } | Op::ListMove { .. } => ValueType::List,
            Op::ZPop { .. } => ValueType::ZSet,
        }
    }
}

/// How a blocked command's wait ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    /// A key it waited on was served to it.
    Served,
    /// `CLIENT UNBLOCK` ended it.
    Unblocked,
    /// Its timeout passed.
    TimedOut,
}

/// A blocked client: what it waits on, what to do, and where its reply goes.
#[derive(Debug)]
pub struct Waiter {
    /// Arrival order (unique, from 1).
    seq: u64,
    /// The blocked client.
    handle: Arc<ClientHandle>,
    /// Its database.
    db: usize,
    /// The keys it waits on (no duplicates).
    keys: Vec<Vec<u8>>,
    /// What serving it does.
    op: Op,
    /// Whether it speaks RESP3.
    resp3: bool,
    /// When it times out (`None`: never).
    deadline: Option<Instant>,
    /// Its reply, once decided.
    result: Mutex<Option<(Reply, Ending)>>,
    /// Wakes its connection when the reply is there.
    notify: Notify,
}

impl Waiter {
    /// The blocked client's id.
    pub fn client_id(&self) -> u64 {
        self.handle.id
    }

    /// When the wait times out (`None`: never).
    pub fn deadline(&self) -> Option<Instant> {
        self.deadline
    }

    /// The keys waited on.
    pub fn keys(&self) -> &[Vec<u8>] {
        &self.keys
    }

    /// What serving does.
    pub fn op(&self) -> &Op {
        &self.op
    }

    /// Resolves once the reply may be there (check with [`poll`]); a wake-up that comes
    /// before anyone waits is kept.
    pub async fn notified(&self) {
        self.notify.notified().await
    }

    /// Hand the reply over and wake the connection.
    fn complete(&self, reply: Reply, how: Ending) {
        *self.result.lock() = Some((reply, how));
        self.notify.notify_one();
    }

    fn take_result(&self) -> Option<(Reply, Ending)> {
        self.result.lock().take()
    }

    /// An empty reply in the waiter's protocol.
    fn new_reply(&self) -> Reply {
        let mut r = Reply::new();
        r.set_resp3(self.resp3);
        r
    }
}

/// The waiters on one key, in arrival order (ascending sequence numbers: they are given
/// out under the registry lock), so a waiter is found by binary search.
type Queue = VecDeque<Arc<Waiter>>;

#[derive(Default)]
struct Inner {
    /// Waiters by database, by key, in arrival order.
    keys: AHashMap<usize, AHashMap<Vec<u8>, Queue>>,
    /// The waiter of each blocked client.
    clients: AHashMap<u64, Arc<Waiter>>,
    /// Blocked clients with a timeout (INFO `clients_in_timeout_table`).
    timed: usize,
    /// The last sequence number given out.
    last_seq: u64,
}

impl Inner {
    /// Take `w` out of every structure (it must be the registered waiter of its client).
    fn unlink(&mut self, w: &Waiter) {
        self.clients.remove(&w.handle.id);
        if w.deadline.is_some() {
            self.timed = self.timed.saturating_sub(1);
        }
        let Some(db) = self.keys.get_mut(&w.db) else { return };
        for k in &w.keys {
            if let Some(q) = db.get_mut(k.as_slice()) {
                if let Ok(i) = q.binary_search_by_key(&w.seq, |x| x.seq) {
                    q.remove(i);
                }
                if q.is_empty() {
                    db.remove(k.as_slice());
                }
            }
        }
        if db.is_empty() {
            self.keys.remove(&w.db);
        }
    }

    /// Whether `w` is still the registered waiter of its client.
    fn holds(&self, w: &Waiter) -> bool {
        self.clients.get(&w.handle.id).is_some_and(|cur| cur.seq == w.seq)
    }
}

/// Every blocked client, by key (FIFO per key) and by client id.
pub struct Registry {
    inner: Mutex<Inner>,
    /// Number of blocked clients (read without the lock by the pushers' fast path).
    blocked: AtomicUsize,
}

impl Default for Registry {
    fn default() -> Self {
        Self::new()
    }
}

impl Registry {
    /// No client blocked.
    pub fn new() -> Self {
        Registry { inner: Mutex::new(Inner::default()), blocked: AtomicUsize::new(0) }
    }

    /// Number of blocked clients (INFO `blocked_clients`).
    pub fn blocked_clients(&self) -> usize {
        self.blocked.load(Relaxed)
    }

    /// Number of blocked clients with a timeout (INFO `clients_in_timeout_table`).
    pub fn clients_in_timeout_table(&self) -> usize {
        if self.blocked.load(Relaxed) == 0 {
            return 0;
        }
        self.inner.lock().timed
    }

    /// Whether client `id` is blocked (CLIENT LIST flag `b`).
    pub fn is_blocked(&self, id: u64) -> bool {
        self.blocked.load(Relaxed) > 0 && self.inner.lock().clients.contains_key(&id)
    }

    /// Whether anyone waits on `key` of database `db`.
    pub fn has_waiters(&self, db: usize, key: &[u8]) -> bool {
        if self.blocked.load(Relaxed) == 0 {
            return false;
        }
        self.inner.lock().keys.get(&db).is_some_and(|d| d.contains_key(key))
    }

    /// Register a waiter of `handle` on `keys` of database `db` (duplicates ignored).
    /// Called with the keys' stripes locked.
    fn block(
        &self,
        handle: Arc<ClientHandle>,
        db: usize,
        keys: &[&[u8]],
        op: Op,
        resp3: bool,
        deadline: Option<Instant>,
    ) -> Arc<Waiter> {
        let mut uniq: Vec<Vec<u8>> = Vec::with_capacity(keys.len());
        for k in keys {
            if !uniq.iter().any(|u| u.as_slice() == *k) {
                uniq.push(k.to_vec());
            }
        }
        let mut g = self.inner.lock();
        g.last_seq += 1;
        let w = Arc::new(Waiter {
            seq: g.last_seq,
            handle,
            db,
            keys: uniq,
            op,
            resp3,
            deadline,
            result: Mutex::new(None),
            notify: Notify::new(),
        });
        if let Some(old) = g.clients.get(&w.handle.id).cloned() {
            // A client waits once at a time; a stale entry cannot stay behind.
            g.unlink(&old);
        }
        g.clients.insert(w.handle.id, w.clone());
        if w.deadline.is_some() {
            g.timed += 1;
        }
        let dbmap = g.keys.entry(db).or_default();
        for k in &w.keys {
            dbmap.entry(k.clone()).or_default().push_back(w.clone());
        }
        self.blocked.store(g.clients.len(), Relaxed);
        w
    }

    /// The first waiter on `key` of `db` that arrived after sequence number `after`.
    fn next_after(&self, db: usize, key: &[u8], after: u64) -> Option<Arc<Waiter>> {
        let g = self.inner.lock();
        let q = g.keys.get(&db)?.get(key)?;
        q.get(q.partition_point(|w| w.seq <= after)).cloned()
    }

    /// Take `w` out of the registry if it is still waiting; whoever succeeds decides its
    /// reply.
    pub fn claim(&self, w: &Waiter) -> bool {
        let mut g = self.inner.lock();
        if !g.holds(w) {
            return false;
        }
        g.unlink(w);
        self.blocked.store(g.clients.len(), Relaxed);
        true
    }

    /// Take client `id`'s waiter out of the registry, if it is blocked.
    fn take_client(&self, id: u64) -> Option<Arc<Waiter>> {
        if self.blocked.load(Relaxed) == 0 {
            return None;
        }
        let mut g = self.inner.lock();
        let w = g.clients.get(&id).cloned()?;
        g.unlink(&w);
        self.blocked.store(g.clients.len(), Relaxed);
        Some(w)
    }

    /// Forget client `id` (it disconnected).
    pub fn remove_client(&self, id: u64) {
        self.take_client(id);
    }

    /// CLIENT UNBLOCK: end client `id`'s wait with the timeout reply, or with the
    /// `UNBLOCKED` error when `error`. Returns whether it was blocked.
    pub fn unblock(&self, id: u64, error: bool) -> bool {
        let Some(w) = self.take_client(id) else { return false };
        let mut r = w.new_reply();
        if error {
            r.error(UNBLOCKED_ERROR);
        } else {
            r.null_array();
        }
        w.complete(r, Ending::Unblocked);
        true
    }
}

// ---------------------------------------------------------------------------------------
// The hand-offs between handlers, the dispatcher and the connection.
// ---------------------------------------------------------------------------------------

thread_local! {
    /// Keys made ready by the commands run on this thread, not served yet.
    static READY: RefCell<Vec<(usize, Vec<u8>)>> = const { RefCell::new(Vec::new()) };
    /// The waiter the command running on this thread registered.
    static NEW_WAITER: RefCell<Option<Arc<Waiter>>> = const { RefCell::new(None) };
    /// How long that command ran, µs.
    static BLOCKED_USEC: Cell<u64> = const { Cell::new(0) };
}

/// Record that `key` of database `db` may serve blocked clients (when anyone waits on it);
/// they are served by [`serve_ready`] once the current command is over.
pub fn signal_ready(shared: &Shared, db: usize, key: &[u8]) {
    if !shared.blocking.has_waiters(db, key) {
        return;
    }
    READY.with(|r| {
        let mut r = r.borrow_mut();
        if !r.iter().any(|(d, k)| *d == db && k.as_slice() == key) {
            r.push((db, key.to_vec()));
        }
    });
}

/// Record every key of database `db` someone waits on as ready (SWAPDB and other
/// whole-database changes: Redis's scanDatabaseForReadyKeys).
pub fn signal_db(shared: &Shared, db: usize) {
    if shared.blocking.blocked_clients() == 0 {
        return;
    }
    let keys: Vec<Vec<u8>> =
        shared.blocking.inner.lock().keys.get(&db).map(|d| d.keys().cloned().collect()).unwrap_or_default();
    READY.with(|r| {
        let mut r = r.borrow_mut();
        for key in keys {
            if !r.iter().any(|(d, k)| *d == db && *k == key) {
                r.push((db, key));
            }
        }
    });
}

/// Whether the command running on this thread blocked (the dispatcher then defers its
/// statistics to the moment it is unblocked, as Redis does).
pub fn has_new_waiter() -> bool {
    NEW_WAITER.with(|w| w.borrow().is_some())
}

/// The waiter the command that just ran on this thread registered, if it blocked.
pub fn take_new_waiter() -> Option<Arc<Waiter>> {
    NEW_WAITER.with(|w| w.borrow_mut().take())
}

/// A connection's blocked command, held by its session until the reply comes.
#[derive(Debug)]
pub struct Blocked {
    /// The registered waiter.
    pub waiter: Arc<Waiter>,
    /// The command's id in the table (for its statistics).
    pub cmd_id: usize,
    /// The reply is to be dropped (CLIENT REPLY OFF / SKIP at the time of the command).
    pub silent: bool,
    /// When to time out; `None` once a server took the waiter first (its reply is coming).
    pub deadline: Option<Instant>,
    /// The command's arguments (for the slow log, written when it is unblocked).
    pub args: Vec<Vec<u8>>,
    /// Time the command took before blocking, µs.
    pub usec: u64,
}

impl Blocked {
    /// The blocked state of the command `cmd_id` (`args`) that registered `waiter` (its
    /// running time is the one [`note_blocked_usec`] recorded on this thread).
    pub fn new(waiter: Arc<Waiter>, cmd_id: usize, args: &[&[u8]]) -> Self {
        let deadline = waiter.deadline;
        let usec = BLOCKED_USEC.with(|u| u.replace(0));
        Blocked {
            waiter,
            cmd_id,
            silent: false,
            deadline,
            args: args.iter().map(|a| a.to_vec()).collect(),
            usec,
        }
    }
}

/// Record how long the command that just blocked on this thread ran (for
/// [`count_unblocked`]).
pub fn note_blocked_usec(us: u64) {
    BLOCKED_USEC.with(|u| u.set(us));
}

/// The reply of a blocked command if it is decided: served, `CLIENT UNBLOCK`ed, or timed
/// out now (the deadline passed and no server took it first). `None`: keep waiting (for
/// the waiter's notification, and until `b.deadline`).
pub fn poll(shared: &Shared, b: &mut Blocked) -> Option<(Reply, Ending)> {
    let w = &b.waiter;
    if let Some(r) = w.take_result() {
        return Some(r);
    }
    if b.deadline.is_some_and(|d| Instant::now() >= d) {
        if shared.blocking.claim(w) {
            let mut r = w.new_reply();
            r.null_array();
            return Some((r, Ending::TimedOut));
        }
        // Served (or unblocked) concurrently: its reply is on its way, with a notification.
        b.deadline = None;
        return w.take_result();
    }
    None
}

/// The statistics of a blocked command once its wait ended, as Redis 7.0.15 keeps them
/// (the call itself was counted when it blocked, without a slow log entry): a timeout adds
/// nothing; a served command adds its time again, a failed call if its reply is an error,
/// and its slow log entry; CLIENT UNBLOCK (TIMEOUT or ERROR alike) adds its time, a failed
/// call and a slow log entry without arguments (Redis's updateStatsOnUnblock then runs
/// after the arguments were freed).
pub fn count_unblocked(shared: &Shared, worker: &WorkerStats, b: &Blocked, how: Ending, error_reply: bool) {
    if how == Ending::TimedOut {
        return;
    }
    if let Some(stat) = worker.commands.get(b.cmd_id) {
        bump(&stat.usec, b.usec);
        if error_reply || how == Ending::Unblocked {
            bump(&stat.failed, 1);
        }
    }
    let threshold = shared.config.slowlog_log_slower_than();
    if threshold >= 0 && b.usec >= threshold as u64 {
        let h = &b.waiter.handle;
        let name = h.name.lock().clone().unwrap_or_default();
        let args: Vec<&[u8]> = match how {
            Ending::Served => b.args.iter().map(|a| a.as_slice()).collect(),
            _ => Vec::new(),
        };
        shared.slowlog.lock().push(
            &args,
            b.usec,
            unix_ms() / 1000,
            h.addr.clone(),
            name,
            shared.config.slowlog_max_len() as usize,
        );
    }
}

// ---------------------------------------------------------------------------------------
// Serving.
// ---------------------------------------------------------------------------------------

/// Serve the clients blocked on the keys made ready on this thread, until no key is ready
/// (a served BLMOVE makes its destination ready). Call after a command (or EXEC) finished
/// and released its stripe locks.
pub fn serve_ready(shared: &Shared, worker: &WorkerStats) {
    if !has_ready() {
        return;
    }
    brim_engine::release_kept();
    crate::notify::sync_engine_log(shared);
    loop {
        let batch = READY.with(|r| std::mem::take(&mut *r.borrow_mut()));
        if batch.is_empty() {
            break;
        }
        for (db, key) in batch {
            serve_key(shared, worker, db, &key);
        }
    }
}

/// Whether this thread's commands made keys ready that blocked clients wait on.
pub fn has_ready() -> bool {
    READY.with(|r| !r.borrow().is_empty())
}

/// Serve the waiters on `key` of `db` in arrival order while it holds something.
fn serve_key(shared: &Shared, worker: &WorkerStats, db: usize, key: &[u8]) {
    let mut after = 0u64;
    while let Some(w) = shared.blocking.next_after(db, key, after) {
        after = w.seq;
        if serve_one(shared, worker, &w, key) == Flow::Stop {
            break;
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flow {
    /// Go on with the next waiter.
    Next,
    /// The key is gone (or never was): nobody else can be served from it.
    Stop,
}

/// Under the key's lock: `None` when `w` can take from `key` now (and has been claimed),
/// else what to do next.
fn claim_for(shared: &Shared, s: &mut Stripe, key: &[u8], acc: &Access, w: &Waiter) -> Option<Flow> {
    match s.get(key, acc).map(|e| e.value().value_type()) {
        None => Some(Flow::Stop),
        Some(t) if t != w.op.wants() => Some(Flow::Next),
        Some(_) if !shared.blocking.claim(w) => Some(Flow::Next),
        Some(_) => None,
    }
}

/// Serve waiter `w` from `key`: pop (or move) on its behalf, reply in its protocol, wake it.
fn serve_one(shared: &Shared, worker: &WorkerStats, w: &Waiter, key: &[u8]) -> Flow {
    // The AOF logs the pop in its place among other clients' changes.
    let _order = crate::propagate::is_on().then(crate::propagate::order);
    let mods = brim_engine::stripe::thread_modifications();
    let mut client = Client::new(w.handle.clone(), true);
    client.db = w.db;
    let mut out = w.new_reply();
    let acc = Access { now_ms: unix_ms(), touch: touch_mode(shared, &client) };
    let db = shared.keyspace.db(w.db);
    let mut ctx = Ctx { shared, client: &mut client, out: &mut out, acc, worker };
    let flow = match &w.op {
        Op::ListPop { end, count } => {
            let mut s = db.lock(key);
            if let Some(flow) = claim_for(shared, &mut s, key, &acc, w) {
                return flow;
            }
            let how = count.map_or(PopReply::KeyOne, PopReply::KeyCount);
            pop_and_reply(&mut ctx, &mut s, key, *end, how);
            if s.exists(key, &acc) {
                Flow::Next
            } else {
                Flow::Stop
            }
        }
        Op::ListMove { dst, from, to } => {
            let mut locked = db.lock_keys([key, dst.as_slice()]);
            if let Some(flow) = claim_for(shared, locked.stripe(key), key, &acc, w) {
                return flow;
            }
            // A destination of another type: the waiter gets WRONGTYPE and the source stays.
            move_and_reply(&mut ctx, &mut locked, key, dst, *from, *to);
            if locked.stripe(key).exists(key, &acc) {
                Flow::Next
            } else {
                Flow::Stop
            }
        }
        Op::ZPop { max, count } => {
            let mut s = db.lock(key);
            if let Some(flow) = claim_for(shared, &mut s, key, &acc, w) {
                return flow;
            }
            let res = zsets::pop(&ctx, &mut s, key, *max, count.unwrap_or(1));
            drop(s);
            let shape = if count.is_some() { PopShape::NestedWithKey } else { PopShape::FlatWithKey };
            match res {
                Ok(Some(p)) => {
                    zsets::write_popped(ctx.out, key, &p.items, shape);
                    zsets::pop_notify(&mut ctx, key, *max, p.items.len(), p.deleted);
                    if p.deleted {
                        Flow::Stop
                    } else {
                        Flow::Next
                    }
                }
                // Not reachable: the type was checked under the same lock.
                Ok(None) => {
                    ctx.out.null_array();
                    Flow::Stop
                }
                Err(zsets::WrongType) => {
                    ctx.error(WRONGTYPE);
                    Flow::Next
                }
            }
        }
    };
    if brim_engine::stripe::thread_modifications() != mods {
        crate::propagate::log_now(shared, w.db, &w.op.logged_form(key));
    }
    crate::notify::flush_engine_events(&mut ctx);
    w.complete(out, Ending::Served);
    flow
}

// ---------------------------------------------------------------------------------------
// Arguments.
// ---------------------------------------------------------------------------------------

/// A timeout in seconds, as Redis 7.0's getTimeoutFromObjectOrReply reads it: a `long
/// double` (strtold syntax: decimal, hex, `inf`), times 1000, rounded up, as a C `long long`
/// (milliseconds; a value beyond its range becomes negative, as the C conversion does).
/// `Ok(0)`: wait forever.
pub fn timeout_ms(arg: &[u8]) -> Result<u64, &'static str> {
    if !is_valid_long_double(arg) {
        return Err(TIMEOUT_NOT_FLOAT);
    }
    let v = strtod(arg);
    let ms = if v == 0.0 && mantissa_nonzero(arg) {
        // Below f64's range but not below long double's: a tiny amount that rounds up to
        // one millisecond (or, negative, to zero).
        if arg.first() == Some(&b'-') {
            0.0
        } else {
            1.0
        }
    } else {
        (v * 1000.0).ceil()
    };
    // 2^63: C's conversion of anything at or beyond it gives LLONG_MIN.
    if ms.is_nan() || !(0.0..9_223_372_036_854_775_808.0).contains(&ms) {
        return Err(TIMEOUT_NEGATIVE);
    }
    Ok(ms as u64)
}

/// C's strtod on a valid float text (NUL bytes were refused by the validation).
fn strtod(arg: &[u8]) -> f64 {
    let mut buf = Vec::with_capacity(arg.len() + 1);
    buf.extend_from_slice(arg);
    buf.push(0);
    // SAFETY: `buf` is NUL-terminated and lives across the call; strtod only reads it and
    // a null end pointer is allowed.
    unsafe { libc::strtod(buf.as_ptr().cast(), std::ptr::null_mut()) }
}

/// Whether the mantissa of a float text has a non-zero digit (it is not a written zero).
fn mantissa_nonzero(arg: &[u8]) -> bool {
    let s = match arg.first() {
        Some(b'+') | Some(b'-') => &arg[1..],
        _ => arg,
    };
    if s.len() > 1 && s[0] == b'0' && (s[1] == b'x' || s[1] == b'X') {
        s[2..].iter().take_while(|c| !matches!(c, b'p' | b'P')).any(|c| c.is_ascii_hexdigit() && *c != b'0')
    } else {
        s.iter().take_while(|c| !matches!(c, b'e' | b'E')).any(|c| matches!(c, b'1'..=b'9'))
    }
}

/// Parse a timeout argument, writing Redis's error when it is not one.
fn parse_timeout(ctx: &mut Ctx, arg: &[u8]) -> Option<u64> {
    match timeout_ms(arg) {
        Ok(ms) => Some(ms),
        Err(e) => {
            ctx.error(e);
            None
        }
    }
}

/// Register the calling client as waiting on `keys` (call with their stripes locked).
fn block(ctx: &mut Ctx, keys: &[&[u8]], op: Op, timeout_ms: u64) {
    let deadline =
        if timeout_ms == 0 { None } else { Instant::now().checked_add(Duration::from_millis(timeout_ms)) };
    let w = ctx.shared.blocking.block(
        ctx.client.handle.clone(),
        ctx.client.db,
        keys,
        op,
        ctx.out.is_resp3(),
        deadline,
    );
    NEW_WAITER.with(|n| *n.borrow_mut() = Some(w));
}

// ---------------------------------------------------------------------------------------
// Lists.
// ---------------------------------------------------------------------------------------

/// Redis's blockingPopGenericCommand: pop from the first non-empty list of `keys`, else
/// block (inside EXEC: reply a null array).
fn list_pop_or_block(ctx: &mut Ctx, keys: &[&[u8]], end: End, count: Option<usize>, timeout: u64) {
    let how = count.map_or(PopReply::KeyOne, PopReply::KeyCount);
    let mut locked = ctx.db().lock_keys(keys.iter().copied());
    for &key in keys {
        match pop_and_reply(ctx, locked.stripe(key), key, end, how) {
            Popped::Missing => continue,
            Popped::WrongType => return,
            Popped::Done => {
                crate::propagate::replace(&Op::ListPop { end, count }.logged_form(key));
                return;
            }
        }
    }
    if ctx.client.in_exec {
        drop(locked);
        ctx.out.null_array();
        return;
    }
    block(ctx, keys, Op::ListPop { end, count }, timeout);
    drop(locked);
}

fn bpop(ctx: &mut Ctx, args: &[&[u8]], end: End) {
    let last = args.len() - 1;
    let Some(timeout) = parse_timeout(ctx, args[last]) else { return };
    list_pop_or_block(ctx, &args[1..last], end, None, timeout);
}

/// BLPOP key [key ...] timeout.
fn blpop(ctx: &mut Ctx, args: &[&[u8]]) {
    bpop(ctx, args, End::Head)
}

/// BRPOP key [key ...] timeout.
fn brpop(ctx: &mut Ctx, args: &[&[u8]]) {
    bpop(ctx, args, End::Tail)
}

/// BLMPOP timeout numkeys key [key ...] LEFT|RIGHT [COUNT count]: the arguments are
/// checked as LMPOP checks them, then the timeout.
fn blmpop(ctx: &mut Ctx, args: &[&[u8]]) {
    let Some((keys, end, count)) = parse_mpop(ctx, args, 2) else { return };
    let Some(timeout) = parse_timeout(ctx, args[1]) else { return };
    list_pop_or_block(ctx, &args[keys], end, Some(count), timeout);
}

/// Redis's blmoveGenericCommand: LMOVE when the source exists, else block (inside EXEC:
/// reply a null).
fn bmove(ctx: &mut Ctx, src: &[u8], dst: &[u8], from: End, to: End, timeout: u64) {
    let mut locked = ctx.db().lock_keys([src, dst]);
    if move_and_reply(ctx, &mut locked, src, dst, from, to) != Popped::Missing {
        crate::propagate::replace(&Op::ListMove { dst: dst.to_vec(), from, to }.logged_form(src));
        return;
    }
    if ctx.client.in_exec {
        drop(locked);
        ctx.out.null();
        return;
    }
    block(ctx, &[src], Op::ListMove { dst: dst.to_vec(), from, to }, timeout);
    drop(locked);
}

/// BLMOVE source destination LEFT|RIGHT LEFT|RIGHT timeout.
fn blmove(ctx: &mut Ctx, args: &[&[u8]]) {
    let Some(from) = parse_end(args[3]) else {
        ctx.error(SYNTAX);
        return;
    };
    let Some(to) = parse_end(args[4]) else {
        ctx.error(SYNTAX);
        return;
    };
    let Some(timeout) = parse_timeout(ctx, args[5]) else { return };
    bmove(ctx, args[1], args[2], from, to, timeout);
}

/// BRPOPLPUSH source destination timeout.
fn brpoplpush(ctx: &mut Ctx, args: &[&[u8]]) {
    let Some(timeout) = parse_timeout(ctx, args[3]) else { return };
    bmove(ctx, args[1], args[2], End::Tail, End::Head, timeout);
    crate::propagate::replace(&[&b"RPOPLPUSH"[..], args[1], args[2]]);
}

// ---------------------------------------------------------------------------------------
// Sorted sets.
// ---------------------------------------------------------------------------------------

/// Redis's blockingGenericZpopCommand: pop from the first non-empty sorted set of `keys`,
/// else block (inside EXEC: reply a null array).
fn zpop_or_block(ctx: &mut Ctx, keys: &[&[u8]], max: bool, count: Option<usize>, timeout: u64) {
    let shape = if count.is_some() { PopShape::NestedWithKey } else { PopShape::FlatWithKey };
    let db = ctx.db();
    let mut locked = db.lock_keys(keys.iter().copied());
    for &key in keys {
        match zsets::pop(ctx, locked.stripe(key), key, max, count.unwrap_or(1)) {
            Ok(None) => continue,
            Ok(Some(p)) if p.items.is_empty() => continue,
            Err(zsets::WrongType) => {
                drop(locked);
                ctx.error(WRONGTYPE);
                return;
            }
            Ok(Some(p)) => {
                drop(locked);
                crate::propagate::replace(&Op::ZPop { max, count }.logged_form(key));
                zsets::write_popped(ctx.out, key, &p.items, shape);
                zsets::pop_notify(ctx, key, max, p.items.len(), p.deleted);
                return;
            }
        }
    }
    if ctx.client.in_exec {
        drop(locked);
        ctx.out.null_array();
        return;
    }
    block(ctx, keys, Op::ZPop { max, count }, timeout);
    drop(locked);
}

fn bzpop(ctx: &mut Ctx, args: &[&[u8]], max: bool) {
    let last = args.len() - 1;
    let Some(timeout) = parse_timeout(ctx, args[last]) else { return };
    zpop_or_block(ctx, &args[1..last], max, None, timeout);
}

/// BZPOPMIN key [key ...] timeout.
fn bzpopmin(ctx: &mut Ctx, args: &[&[u8]]) {
    bzpop(ctx, args, false)
}

/// BZPOPMAX key [key ...] timeout.
fn bzpopmax(ctx: &mut Ctx, args: &[&[u8]]) {
    bzpop(ctx, args, true)
}

/// BZMPOP timeout numkeys key [key ...] MIN|MAX [COUNT count]: the arguments are checked as
/// ZMPOP checks them, then the timeout.
fn bzmpop(ctx: &mut Ctx, args: &[&[u8]]) {
    let Some((keys, max, count)) = zsets::parse_mpop(ctx, args, 2) else { return };
    let Some(timeout) = parse_timeout(ctx, args[1]) else { return };
    zpop_or_block(ctx, &keys, max, Some(count), timeout);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn handle(id: u64) -> Arc<ClientHandle> {
        ClientHandle::new(id, "127.0.0.1:1".into(), "127.0.0.1:2".into(), 0, false, 0).0
    }

    fn pop_op() -> Op {
        Op::ListPop { end: End::Head, count: None }
    }

    #[test]
    fn timeouts_like_redis() {
        assert_eq!(timeout_ms(b"0"), Ok(0));
        assert_eq!(timeout_ms(b"1"), Ok(1000));
        assert_eq!(timeout_ms(b"0.1"), Ok(100));
        assert_eq!(timeout_ms(b"0.0001"), Ok(1));
        assert_eq!(timeout_ms(b"1e-10"), Ok(1));
        assert_eq!(timeout_ms(b"1e-400"), Ok(1));
        assert_eq!(timeout_ms(b"-1e-400"), Ok(0));
        assert_eq!(timeout_ms(b"-0.0000001"), Ok(0));
        assert_eq!(timeout_ms(b"-0"), Ok(0));
        assert_eq!(timeout_ms(b"0x10"), Ok(16000));
        assert_eq!(timeout_ms(b"+1"), Ok(1000));
        assert_eq!(timeout_ms(b".5"), Ok(500));
        assert_eq!(timeout_ms(b"5."), Ok(5000));
        assert_eq!(timeout_ms(b"9.2e15"), Ok(9_200_000_000_000_000_000));
        assert_eq!(timeout_ms(b"-1"), Err(TIMEOUT_NEGATIVE));
        assert_eq!(timeout_ms(b"-0.5"), Err(TIMEOUT_NEGATIVE));
        assert_eq!(timeout_ms(b"1e16"), Err(TIMEOUT_NEGATIVE));
        assert_eq!(timeout_ms(b"9.3e15"), Err(TIMEOUT_NEGATIVE));
        assert_eq!(timeout_ms(b"inf"), Err(TIMEOUT_NEGATIVE));
        assert_eq!(timeout_ms(b"-inf"), Err(TIMEOUT_NEGATIVE));
        assert_eq!(timeout_ms(b"infinity"), Err(TIMEOUT_NEGATIVE));
        assert_eq!(timeout_ms(b"1e400"), Err(TIMEOUT_NEGATIVE));
        for bad in [&b"abc"[..], b"nan", b" 1", b"1 ", b"", b"1e", b"0x", b"1e5000", b"1\x000"] {
            assert_eq!(timeout_ms(bad), Err(TIMEOUT_NOT_FLOAT), "{bad:?}");
        }
    }

    #[test]
    fn fifo_per_key_and_claim_once() {
        let r = Registry::new();
        let a = r.block(handle(1), 0, &[b"k", b"j"], pop_op(), false, None);
        let b = r.block(handle(2), 0, &[b"k"], pop_op(), true, None);
        let c = r.block(handle(3), 0, &[b"k", b"k"], pop_op(), false, Some(Instant::now()));
        assert_eq!(c.keys(), &[b"k".to_vec()]);
        assert_eq!(r.blocked_clients(), 3);
        assert_eq!(r.clients_in_timeout_table(), 1);
        assert!(r.has_waiters(0, b"j"));
        assert!(!r.has_waiters(1, b"k"));
        let order: Vec<u64> =
            std::iter::successors(r.next_after(0, b"k", 0), |w| r.next_after(0, b"k", w.seq))
                .map(|w| w.client_id())
                .collect();
        assert_eq!(order, vec![1, 2, 3]);
        assert!(r.claim(&a));
        assert!(!r.claim(&a), "served twice");
        assert!(!r.has_waiters(0, b"j"));
        assert_eq!(r.next_after(0, b"k", 0).map(|w| w.client_id()), Some(2));
        assert!(r.unblock(3, true));
        assert!(!r.unblock(3, true));
        let (reply, how) = c.take_result().expect("unblocked reply");
        assert_eq!(how, Ending::Unblocked);
        assert_eq!(reply.as_bytes(), b"-UNBLOCKED client unblocked via CLIENT UNBLOCK\r\n");
        assert!(r.unblock(2, false));
        assert_eq!(b.take_result().expect("timeout reply").0.as_bytes(), b"_\r\n");
        assert_eq!(r.blocked_clients(), 0);
        assert_eq!(r.clients_in_timeout_table(), 0);
        assert!(r.inner.lock().keys.is_empty());
    }

    #[test]
    fn disconnect_and_reblock_leave_nothing_behind() {
        let r = Registry::new();
        let h = handle(7);
        let first = r.block(h.clone(), 2, &[b"a"], pop_op(), false, None);
        let second = r.block(h, 2, &[b"b"], pop_op(), false, None);
        assert!(!r.claim(&first), "a replaced waiter is not servable");
        assert!(r.is_blocked(7));
        assert!(!r.has_waiters(2, b"a"));
        r.remove_client(7);
        assert!(!r.is_blocked(7));
        assert!(!r.claim(&second));
        assert!(r.inner.lock().keys.is_empty());
        assert!(r.inner.lock().clients.is_empty());
    }

    #[test]
    fn poll_times_out_once() {
        let shared = Shared::new(Arc::new(brim_config::Config::new()), String::new());
        let w = shared.blocking.block(handle(9), 0, &[b"k"], pop_op(), false, Some(Instant::now()));
        let mut b = Blocked::new(w.clone(), 0, &[]);
        let (reply, how) = poll(&shared, &mut b).expect("timed out");
        assert_eq!((reply.as_bytes(), how), (&b"*-1\r\n"[..], Ending::TimedOut));
        assert!(!shared.blocking.is_blocked(9));
        assert!(poll(&shared, &mut b).is_none());
        assert!(b.deadline.is_none(), "no second timeout");
        let forever = shared.blocking.block(handle(10), 0, &[b"k"], pop_op(), false, None);
        let mut f = Blocked::new(forever, 0, &[]);
        assert!(poll(&shared, &mut f).is_none());
        assert!(shared.blocking.is_blocked(10));
        // Claimed by a server: the timeout does not answer, the server's reply does.
        let late = shared.blocking.block(handle(11), 0, &[b"k"], pop_op(), false, Some(Instant::now()));
        let mut l = Blocked::new(late.clone(), 0, &[]);
        assert!(shared.blocking.claim(&late));
        assert!(poll(&shared, &mut l).is_none());
        assert!(l.deadline.is_none());
        late.complete(late.new_reply(), Ending::Served);
        assert!(poll(&shared, &mut l).is_some());
    }
}
