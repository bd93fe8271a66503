//! One client connection: read what arrived, run every complete command in it, answer the
//! whole batch at once. Also delivers out-of-band messages (pub/sub, MONITOR), closes on
//! CLIENT KILL, idle `timeout`, protocol errors, the query buffer limit and the output
//! buffer limits.
//!
//! The per-request path is Redis's: wait for input, read it, run the batch, write the
//! replies at once (one non-blocking attempt, as Redis writes them before it sleeps, rather
//! than waiting for writability first), then wait again. The stream is kept whole (no
//! `split` and its lock: one task drives both directions) and the wait is one hand-written
//! poll over the sources instead of a `select!` rebuilt every time: input first (when
//! input is there nothing else is looked at: pushes and kills are checked between
//! commands anyway), then the handle's wake-up, the rest of the output, pushes, the
//! blocked command's reply and one timer for the earliest deadline (idle `timeout`,
//! CLIENT PAUSE retry, blocking timeout). A short read leaves tokio knowing the socket is
//! drained, so the next wait goes to sleep without another read: one wake-up, one read and
//! one write per request.
//!
//! Output goes through one outgoing buffer that is written whenever the socket takes data,
//! while the connection keeps reading and keeps taking messages queued for it by other
//! connections. Everything waiting to go out (that buffer plus the queue: `obl` +
//! `queued` in the client's handle) is what `client-output-buffer-limit` bounds for the
//! client's class, as Redis bounds its reply list: over the hard limit, or over the soft
//! one for longer than its seconds, the connection is closed at once, unwritten output
//! dropped, so a slow subscriber cannot grow memory without bound. When the client's class
//! has no limit (`normal` by default) the connection stops reading new commands while
//! [`READ_PAUSE_BYTES`] of replies wait unwritten instead: a client that does not read its
//! replies holds at most that much.
//!
//! Whenever what it holds changed, and every 16 KiB of replies within a batch, the
//! connection publishes it (`client_evict::publish`: CLIENT LIST `tot-mem`, the sums behind
//! `maxmemory-clients` and `mem_not_counted_for_evict`) and lets `client_evict` close the
//! biggest clients when they hold more than `maxmemory-clients`, itself included; after
//! every batch it checks the limit again (a lowered `maxmemory-clients` applies at once).
//!
//! Pushes queued for the client are put into its output between commands, so they never
//! split a reply and keep their order with respect to the client's own commands.
//!
//! A connection whose batches keep waiting for a hot key's stripe held by another worker
//! (`brim_engine::contention`) moves to that worker between two batches, with nothing in
//! flight: its socket leaves this worker's runtime, and its client state ([`Moved`]) goes
//! along to be served there from the next batch on ([`Conn::moves_now`]). The same way, a
//! connection that has been on a worker serving two more connections than another, for
//! [`BALANCE_AFTER`] without waiting for a hot key, moves to even out the load again.

use std::future::{poll_fn, Future};
use std::pin::{pin, Pin};
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::task::{ready, Context, Poll};
use std::time::Duration;

use brim_commands::client_evict::{self, MultiMemory, Usage};
use brim_commands::pubsub::{check_output_limits, client_class};
use brim_commands::stats::{bump, WorkerStats};
use brim_commands::{Client, ClientHandle, Outcome, Session, Shared};
use brim_resp::parse::{Args, ParseLimits, Parser};
use brim_resp::Reply;
use smallvec::SmallVec;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::futures::Notified;
use tokio::sync::mpsc::UnboundedReceiver;
use tokio::time::{Instant, Sleep};

use crate::log::{log, Level};
use crate::worker::{Dealt, Incoming, Workers};

const READ_CHUNK: usize = 16 * 1024;
/// Unwritten reply bytes at which a client without an output limit stops being read.
const READ_PAUSE_BYTES: usize = 1 << 20;
/// An empty outgoing buffer larger than this is given back.
const KEEP_OUT_CAPACITY: usize = 64 * 1024;
/// An empty query buffer larger than this is given back.
const KEEP_IN_CAPACITY: usize = 64 * 1024;
/// Reply bytes a batch may add between two publications of the client's memory.
const ACCOUNT_STEP: usize = 16 * 1024;

/// Move the messages queued for `handle` to the end of `dst`.
fn take_pushes(push: &mut UnboundedReceiver<Vec<u8>>, handle: &ClientHandle, dst: &mut Vec<u8>) {
    while let Ok(msg) = push.try_recv() {
        handle.queued.fetch_sub(msg.len(), Relaxed);
        dst.extend_from_slice(&msg);
    }
}

/// Whether the client's class has an output buffer limit (then it is read without pause:
/// the limit bounds what it may accumulate).
fn has_output_limit(shared: &Shared, handle: &ClientHandle) -> bool {
    let l = shared.config.client_output_buffer_limit(client_class(handle));
    l.hard > 0 || l.soft > 0
}

fn log_limit_close(handle: &ClientHandle) {
    log(
        Level::Warning,
        &format!(
            "Client id={} addr={} scheduled to be closed ASAP for overcoming of output buffer limits.",
            handle.id, handle.addr
        ),
    );
}

/// The connection's memory as last published for client eviction.
#[derive(Debug, Default)]
struct Accounting {
    /// The MULTI queue's and WATCHed keys' memory, measured incrementally.
    multi: MultiMemory,
    /// `tot-mem` and the unwritten output last published (`None`: nothing yet).
    published: Option<(usize, usize)>,
}

impl Accounting {
    /// Publish what this connection holds (CLIENT LIST `tot-mem`, `mem_clients_normal`, the
    /// clients' sums behind `maxmemory-clients` and `mem_not_counted_for_evict`) if it
    /// changed since the last time, then evict clients if they hold more than
    /// `maxmemory-clients` (this one included).
    fn update(&mut self, shared: &Shared, client: &Client, query: usize, pending: &Vec<u8>, out: &Reply) {
        let queued = client.handle.queued.load(Relaxed);
        let output = pending.capacity() + out.capacity() + queued;
        let waiting = pending.len() + out.len() + queued > 0;
        let unwritten = if waiting { output } else { 0 };
        let usage = Usage { query, output, unwritten, multi: self.multi.measure(client) };
        let key = (usage.total(&client.handle), unwritten);
        if self.published == Some(key) {
            return;
        }
        self.published = Some(key);
        client_evict::publish(shared, &client.handle, &usage);
        client_evict::evict_if_over(shared);
    }
}

/// What ended a wait.
enum Event {
    /// Input arrived.
    Read,
    /// Something else moved (output written, a push taken, the handle woken): look again.
    Again,
    /// The blocked command's reply may be there.
    Unblocked,
    /// The timer went off: a deadline may have passed.
    Timer,
    /// The peer is gone or the socket failed.
    Closed,
}

/// What a timer going off means.
enum Due {
    /// The client was idle longer than `timeout`.
    Idle,
    /// A CLIENT PAUSE retry or a blocking timeout: run the connection's commands.
    Run,
    /// Nothing yet (the timer was set for an earlier deadline that moved).
    Early,
}

/// What to do after a batch.
enum Next {
    /// Go on serving.
    Go,
    /// Close now, unwritten output dropped.
    Close,
    /// Write what is owed (unless the client gets killed meanwhile), then close.
    FlushAndClose,
}

/// How a batch of commands from the query buffer ended.
#[derive(Default)]
struct Batch {
    /// Bytes of the query buffer consumed.
    consumed: usize,
    /// A protocol error: the connection closes after the reply.
    fatal: bool,
    /// CLIENT PAUSE held the next command back.
    paused: bool,
    /// The client went over its output buffer limit.
    over_limit: bool,
}

/// One connection's state, owned by its task.
struct Conn<'a, S> {
    shared: &'a Shared,
    worker: &'a WorkerStats,
    handle: &'a ClientHandle,
    stream: S,
    push: UnboundedReceiver<Vec<u8>>,
    client: Client,
    session: Session<'a>,
    out: Reply,
    parser: Parser,
    args: Args,
    inbuf: Vec<u8>,
    /// Output not yet written: `pending[sent..]`.
    pending: Vec<u8>,
    sent: usize,
    /// Last input or output, tracked only while `timeout` is set.
    last_io: Option<Instant>,
    /// CLIENT PAUSE: when to offer the held-back command again.
    resume_at: Option<Instant>,
    /// Commands left unexecuted in `inbuf` because too many replies were waiting unwritten.
    stalled: bool,
    /// When the timer is set to go off (`None`: not set, or gone off).
    timer_at: Option<Instant>,
    accounting: Accounting,
    /// Every worker, and this one's index.
    workers: &'a Workers,
    me: usize,
    /// The worker holding a hot key the last batch waited for (see [`Conn::moves_now`]).
    move_to: Option<usize>,
    /// When the connection came to this worker (connected, or moved here).
    arrived_at: Instant,
    /// When a batch of the connection last waited for a hot key another worker held.
    hot_wait_at: Option<Instant>,
}

/// Where a connection is served: the server, its worker and the other workers.
pub struct At {
    /// The server.
    pub shared: Arc<Shared>,
    /// The serving worker's counters.
    pub worker: Arc<WorkerStats>,
    /// Every worker, to move to.
    pub workers: Arc<Workers>,
    /// The serving worker's index.
    pub me: usize,
}

/// What a connection takes along when it moves to another worker: everything but its
/// socket, handle and push channel (which travel beside it), taken between batches with no
/// output owed and no input left, so nothing in flight is lost.
pub struct Moved {
    client: Client,
    /// The (empty) reply buffer, which knows the protocol (HELLO 3).
    out: Reply,
    parser: Parser,
    accounting: Accounting,
    last_io: Option<Instant>,
    moved_at: Instant,
    hot_wait_at: Option<Instant>,
}

/// A connection's socket, which can leave its worker's runtime to move to another.
pub trait Socket: AsyncRead + AsyncWrite + Unpin {
    /// The socket, out of this runtime.
    fn detach(self) -> std::io::Result<Incoming>;
}

impl Socket for tokio::net::TcpStream {
    fn detach(self) -> std::io::Result<Incoming> {
        self.into_std().map(Incoming::Tcp)
    }
}

impl Socket for tokio::net::UnixStream {
    fn detach(self) -> std::io::Result<Incoming> {
        self.into_std().map(Incoming::Unix)
    }
}

/// A connection moves at most this often: a guard against trading connections back and
/// forth (`Workers::should_move` already only moves them one way).
const MOVE_EVERY: Duration = Duration::from_millis(100);

/// How long a connection must have been served by its worker (since it connected or moved
/// there) without waiting for a hot key before it moves to even out the workers' load
/// ([`Why::Balance`]). Short-lived connections never move so; one still using a hot key
/// moves back to its worker after a few waits, at most once per this period.
const BALANCE_AFTER: Duration = Duration::from_secs(5);

/// Why a connection moves to another worker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Why {
    /// It keeps waiting for a hot key that worker holds.
    HotKey,
    /// Its worker serves at least two connections more than that one.
    Balance,
}

/// Serve one client until it disconnects, is closed, or moves to another worker: the one
/// holding the hot key it keeps waiting for (`brim_engine::contention`), or a less loaded one.
pub async fn serve<S: Socket>(
    at: At,
    stream: S,
    handle: Arc<ClientHandle>,
    push: UnboundedReceiver<Vec<u8>>,
    moved: Option<Box<Moved>>,
) {
    let wake = pin!(handle.wake.notified());
    let timer = pin!(tokio::time::sleep_until(Instant::now()));
    let mut conn = Conn::new(&at, &handle, stream, push, moved);
    let end = conn.run(wake, timer).await;
    at.workers.left(at.me);
    match end {
        End::Close => conn.close().await,
        End::Move(to, why) => {
            let (stream, push, moved) = conn.pack();
            let Ok(incoming) = stream.detach() else { return forget(&at.shared, &handle, moved.client) };
            let d = Dealt { incoming, handle: handle.clone(), push, moved: Some(moved) };
            match at.workers.deal(to, d) {
                Ok(()) => {
                    let stats = &at.shared.stats;
                    match why {
                        Why::HotKey => stats.hot_key_client_moves.fetch_add(1, Relaxed),
                        Why::Balance => stats.balance_client_moves.fetch_add(1, Relaxed),
                    };
                }
                Err(d) => {
                    if let Some(m) = d.moved {
                        forget(&at.shared, &handle, m.client);
                    }
                }
            }
        }
    }
}

/// Why [`Conn::run`] returned.
enum End {
    /// The connection is to be closed.
    Close,
    /// It is to move to this worker.
    Move(usize, Why),
}

/// Forget a connection whose socket its worker could not take (registering it failed).
pub fn abandon(at: &At, handle: &Arc<ClientHandle>, moved: Option<Box<Moved>>) {
    at.workers.left(at.me);
    let client = moved.map_or_else(|| Client::new(handle.clone(), false), |m| m.client);
    forget(&at.shared, handle, client);
}

/// Everything a closed client leaves behind: subscriptions, WATCHes, its registration.
fn forget(shared: &Shared, handle: &ClientHandle, mut client: Client) {
    handle.queued.store(0, Relaxed);
    handle.obl.store(0, Relaxed);
    brim_commands::pubsub::unsubscribe_all(shared, handle);
    brim_commands::transactions::unwatch_all(shared, &mut client);
    shared.remove_client(handle.id);
}

impl<'a, S: Socket> Conn<'a, S> {
    fn new(
        at: &'a At,
        handle: &'a Arc<ClientHandle>,
        stream: S,
        push: UnboundedReceiver<Vec<u8>>,
        moved: Option<Box<Moved>>,
    ) -> Self {
        let shared = &*at.shared;
        let needs_auth = shared.config.requirepass().is_some();
        let moved = moved.map(|m| *m);
        let (client, out, parser, accounting, last_io, arrived_at, hot_wait_at) = match moved {
            Some(m) => (m.client, m.out, m.parser, m.accounting, m.last_io, m.moved_at, m.hot_wait_at),
            None => {
                let client = Client::new(handle.clone(), !needs_auth);
                (client, Reply::new(), Parser::new(), Accounting::default(), None, Instant::now(), None)
            }
        };
        Conn {
            shared,
            worker: &at.worker,
            workers: &at.workers,
            me: at.me,
            handle,
            stream,
            push,
            client,
            session: Session::new(shared, &at.worker),
            out,
            parser,
            args: Args::default(),
            inbuf: Vec::with_capacity(READ_CHUNK),
            pending: Vec::new(),
            sent: 0,
            last_io,
            resume_at: None,
            stalled: false,
            timer_at: None,
            accounting,
            move_to: None,
            arrived_at,
            hot_wait_at,
        }
    }

    /// Everything but the socket, to move to another worker.
    fn pack(self) -> (S, UnboundedReceiver<Vec<u8>>, Box<Moved>) {
        let moved = Moved {
            client: self.client,
            out: self.out,
            parser: self.parser,
            accounting: self.accounting,
            last_io: self.last_io,
            moved_at: Instant::now(),
            hot_wait_at: self.hot_wait_at,
        };
        (self.stream, self.push, Box::new(moved))
    }

    /// Whether the connection moves now, and where: to the worker holding the hot key it
    /// waited for, if `Workers::should_move` allows and not again within [`MOVE_EVERY`]; else
    /// to the least loaded worker if its own serves two connections more
    /// (`Workers::lighter`) and it has been there, without waiting for a hot key, for
    /// [`BALANCE_AFTER`]. Only between batches with nothing in flight (no output owed, no
    /// input left, not blocked, paused, in MULTI or closing).
    fn moves_now(&mut self) -> Option<(usize, Why)> {
        let (to, why) = match self.move_to.take() {
            Some(to) if self.workers.should_move(self.me, to) => (to, Why::HotKey),
            Some(_) => return None,
            None => (self.workers.lighter(self.me)?, Why::Balance),
        };
        let idle = self.owed() == 0
            && self.out.is_empty()
            && self.inbuf.is_empty()
            && !self.stalled
            && self.resume_at.is_none()
            && self.session.blocked.is_none()
            && self.client.multi.is_none()
            && !self.client.close_after_reply;
        if !idle {
            return None;
        }
        let now = Instant::now();
        let within = |at: Instant, d: Duration| now.duration_since(at) < d;
        let settled = match why {
            Why::HotKey => !within(self.arrived_at, MOVE_EVERY),
            Why::Balance => {
                !within(self.arrived_at, BALANCE_AFTER)
                    && !self.hot_wait_at.is_some_and(|t| within(t, BALANCE_AFTER))
            }
        };
        settled.then_some((to, why))
    }

    /// Serve until the connection is to be closed or moves to another worker.
    async fn run(&mut self, mut wake: Pin<&mut Notified<'a>>, mut timer: Pin<&mut Sleep>) -> End {
        loop {
            if !self.take_queued_pushes() || self.handle.killed.load(Relaxed) {
                return End::Close;
            }
            if self.owed() > 0 && !self.write_now().await {
                return End::Close;
            }
            if let Some((to, why)) = self.moves_now() {
                return End::Move(to, why);
            }
            self.account();
            self.track_idle();
            let limited = has_output_limit(self.shared, self.handle);
            let room = self.owed() < READ_PAUSE_BYTES || limited;
            if self.stalled && room {
                self.stalled = false;
            } else {
                let can_read = self.prepare_read(room);
                match self.wait(can_read, wake.as_mut(), timer.as_mut()).await {
                    Event::Closed => return End::Close,
                    Event::Again => continue,
                    Event::Timer => match self.due() {
                        Due::Idle => {
                            log(Level::Verbose, "Closing idle client");
                            return End::Close;
                        }
                        Due::Early => continue,
                        Due::Run => {}
                    },
                    Event::Read | Event::Unblocked => {}
                }
            }
            if self.handle.killed.load(Relaxed) {
                return End::Close;
            }
            if self.session.blocked.is_some() && !self.session.resume(&mut self.out) {
                continue;
            }
            let next = self.run_batch(limited).await;
            self.move_to = brim_engine::contention::take_hot_wait();
            if self.move_to.is_some() {
                self.hot_wait_at = Some(Instant::now());
            }
            match next {
                Next::Go => {}
                Next::Close => return End::Close,
                Next::FlushAndClose => {
                    self.flush_unless_woken(wake.as_mut()).await;
                    return End::Close;
                }
            }
        }
    }

    /// Unwritten output bytes.
    fn owed(&self) -> usize {
        self.pending.len() - self.sent
    }

    /// Take the messages queued for the client into its output; `false` when that puts it
    /// over its output buffer limit (then it is closed).
    fn take_queued_pushes(&mut self) -> bool {
        if self.handle.queued.load(Relaxed) == 0 {
            return true;
        }
        take_pushes(&mut self.push, self.handle, &mut self.pending);
        self.handle.obl.store(self.owed(), Relaxed);
        if check_output_limits(self.shared, self.handle, 0) {
            log_limit_close(self.handle);
            return false;
        }
        true
    }

    fn account(&mut self) {
        self.accounting.update(self.shared, &self.client, self.inbuf.capacity(), &self.pending, &self.out);
    }

    /// Start or stop tracking the last I/O for the idle `timeout` as it is set or unset. A
    /// client already idle when `timeout` is set counts from its last command, as Redis's
    /// `lastinteraction`.
    fn track_idle(&mut self) {
        if self.shared.config.timeout() == 0 {
            self.last_io = None;
        } else if self.last_io.is_none() {
            let last = self.handle.last_interaction_ms.load(Relaxed);
            let idle_ms = u64::try_from(brim_commands::shared::unix_ms() - last).unwrap_or(0);
            let now = Instant::now();
            self.last_io = Some(now.checked_sub(Duration::from_millis(idle_ms)).unwrap_or(now));
        }
    }

    /// Note input or output for the idle `timeout`.
    fn touch(&mut self) {
        if self.last_io.is_some() {
            self.last_io = Some(Instant::now());
        }
    }

    /// Whether to read now, making room in the query buffer if so. A client is not read
    /// while CLIENT PAUSE holds its next command, while its commands wait for their
    /// replies to be read (`stalled`, no `room`), or over the query buffer limit.
    fn prepare_read(&mut self, room: bool) -> bool {
        let limit = self.shared.config.client_query_buffer_limit();
        let can_read = self.resume_at.is_none() && !self.stalled && room && self.inbuf.len() as u64 <= limit;
        if can_read && self.inbuf.capacity() - self.inbuf.len() < READ_CHUNK / 2 {
            let want = self.parser.pending_bulk().map(|b| b + 2).unwrap_or(READ_CHUNK).max(READ_CHUNK);
            self.inbuf.reserve(want.min(limit as usize));
        }
        self.handle.qbuf_free.store(self.inbuf.capacity() - self.inbuf.len(), Relaxed);
        can_read
    }

    /// Write what is owed once, without waiting for the socket (what it does not take now
    /// is written by [`Conn::wait`]); `false` when the connection is gone.
    async fn write_now(&mut self) -> bool {
        let event = poll_fn(|cx| Poll::Ready(self.poll_write(cx))).await;
        !matches!(event, Poll::Ready(Event::Closed))
    }

    fn poll_write(&mut self, cx: &mut Context<'_>) -> Poll<Event> {
        let r = ready!(Pin::new(&mut self.stream).poll_write(cx, &self.pending[self.sent..]));
        Poll::Ready(match r {
            Ok(0) | Err(_) => Event::Closed,
            Ok(n) => {
                self.wrote(n);
                Event::Again
            }
        })
    }

    /// Account for `n` bytes of output written.
    fn wrote(&mut self, n: usize) {
        self.sent += n;
        bump(&self.worker.net_output_bytes, n as u64);
        bump(&self.handle.net_out, n as u64);
        self.touch();
        if self.sent == self.pending.len() {
            self.pending.clear();
            self.sent = 0;
            if self.pending.capacity() > KEEP_OUT_CAPACITY {
                self.pending = Vec::new();
            }
        }
        self.handle.obl.store(self.owed(), Relaxed);
    }

    fn poll_read(&mut self, cx: &mut Context<'_>) -> Poll<Event> {
        let r = ready!(pin!(self.stream.read_buf(&mut self.inbuf)).poll(cx));
        Poll::Ready(match r {
            Ok(0) | Err(_) => Event::Closed,
            Ok(n) => {
                bump(&self.worker.net_input_bytes, n as u64);
                bump(&self.handle.net_in, n as u64);
                self.touch();
                Event::Read
            }
        })
    }

    /// Wait for input (if `can_read`), a wake-up of the handle (kill, pushes), the socket
    /// taking more output, a push, the blocked command's reply or the next deadline.
    async fn wait(
        &mut self,
        can_read: bool,
        mut wake: Pin<&mut Notified<'a>>,
        mut timer: Pin<&mut Sleep>,
    ) -> Event {
        let timed = self.arm(timer.as_mut());
        let handle = self.handle;
        let waiter = self.session.blocked_waiter();
        let mut unblocked = pin!(async {
            if let Some(w) = &waiter {
                w.notified().await
            }
        });
        poll_fn(|cx| {
            if can_read {
                if let Poll::Ready(event) = self.poll_read(cx) {
                    return Poll::Ready(event);
                }
            }
            if wake.as_mut().poll(cx).is_ready() {
                wake.set(handle.wake.notified());
                return Poll::Ready(Event::Again);
            }
            if self.owed() > 0 {
                if let Poll::Ready(event) = self.poll_write(cx) {
                    return Poll::Ready(event);
                }
            }
            if let Poll::Ready(Some(msg)) = self.push.poll_recv(cx) {
                handle.queued.fetch_sub(msg.len(), Relaxed);
                self.pending.extend_from_slice(&msg);
                handle.obl.store(self.owed(), Relaxed);
                return Poll::Ready(Event::Again);
            }
            if waiter.is_some() && unblocked.as_mut().poll(cx).is_ready() {
                return Poll::Ready(Event::Unblocked);
            }
            if timed && timer.as_mut().poll(cx).is_ready() {
                self.timer_at = None;
                return Poll::Ready(Event::Timer);
            }
            Poll::Pending
        })
        .await
    }

    /// When the idle `timeout` closes the client, if it may (not a MONITOR, subscriber or
    /// blocked client).
    fn idle_deadline(&self) -> Option<Instant> {
        let last = self.last_io?;
        let exempt =
            self.handle.monitor.load(Relaxed) || self.handle.pubsub.any() || self.session.blocked.is_some();
        (!exempt).then(|| last + Duration::from_secs(self.shared.config.timeout()))
    }

    fn block_deadline(&self) -> Option<Instant> {
        self.session.block_deadline().map(Instant::from_std)
    }

    /// Set the timer for the earliest deadline; `false` when there is none. A timer set for
    /// an earlier time is left alone (it goes off early and the deadlines are looked at
    /// again), so an idle deadline moving on with every request costs no timer update.
    fn arm(&mut self, timer: Pin<&mut Sleep>) -> bool {
        let next = [self.idle_deadline(), self.resume_at, self.block_deadline()].into_iter().flatten().min();
        let Some(deadline) = next else { return false };
        if self.timer_at.is_none_or(|at| at > deadline) {
            timer.reset(deadline);
            self.timer_at = Some(deadline);
        }
        true
    }

    /// Which deadline passed when the timer went off.
    fn due(&mut self) -> Due {
        let now = Instant::now();
        if self.idle_deadline().is_some_and(|d| d <= now) {
            return Due::Idle;
        }
        if self.resume_at.is_some_and(|r| r <= now) {
            self.resume_at = None;
            return Due::Run;
        }
        if self.block_deadline().is_some_and(|d| d <= now) {
            return Due::Run;
        }
        Due::Early
    }

    /// Run the complete commands in the query buffer, then queue their replies (after the
    /// AOF got what they logged) and drop what they consumed.
    async fn run_batch(&mut self, limited: bool) -> Next {
        let batch = self.execute_input(limited);
        self.session.gate.release();
        brim_engine::batch_done();
        // What this batch logged reaches the AOF (fsynced with `appendfsync always`) first.
        brim_commands::persistence::aof::before_reply().await;
        // A lowered `maxmemory-clients` applies even if this client closes right after.
        client_evict::evict_if_over(self.shared);
        if batch.over_limit {
            log_limit_close(self.handle);
            return Next::Close;
        }
        self.inbuf.drain(..batch.consumed);
        self.handle.qbuf.store(self.inbuf.len(), Relaxed);
        self.handle.qbuf_free.store(self.inbuf.capacity() - self.inbuf.len(), Relaxed);
        if !batch.fatal && self.inbuf.len() as u64 > self.shared.config.client_query_buffer_limit() {
            log(
                Level::Warning,
                &format!(
                    "Closing client that reached max query buffer length: id={} addr={} qbuf={}",
                    self.handle.id,
                    self.handle.addr,
                    self.inbuf.len()
                ),
            );
            return Next::Close;
        }
        self.queue_replies();
        if self.inbuf.is_empty() && self.inbuf.capacity() > KEEP_IN_CAPACITY {
            self.inbuf = Vec::with_capacity(READ_CHUNK);
        }
        if batch.fatal || self.client.close_after_reply {
            return Next::FlushAndClose;
        }
        if batch.paused {
            // CLIENT PAUSE: offer the same command again a little later, without reading
            // more (the rest of the pipeline stays queued behind it).
            let wait = brim_commands::connection::pause_remaining_ms(self.shared).unwrap_or(0).clamp(1, 10);
            self.resume_at = Some(Instant::now() + Duration::from_millis(wait));
        }
        Next::Go
    }

    /// Parse and execute commands from the query buffer until it has no complete one left,
    /// or a command blocks, is paused, or the client must stop (limits, kill, QUIT, a
    /// protocol error).
    fn execute_input(&mut self, limited: bool) -> Batch {
        let limits = ParseLimits {
            max_bulk_len: self.shared.config.proto_max_bulk_len(),
            authenticated: self.client.authenticated,
        };
        let unwritten = self.owed();
        let mut batch = Batch::default();
        let mut accounted_out = 0;
        loop {
            let buf = &self.inbuf[batch.consumed..];
            if buf.is_empty() {
                break;
            }
            let consumed = match self.parser.parse(buf, &limits, &mut self.args) {
                Ok(Some(consumed)) => consumed,
                Ok(None) => break,
                Err(e) => {
                    self.out.error(&format!("ERR {}", e.message()));
                    log(
                        Level::Verbose,
                        &format!(
                            "Protocol error ({}) from client: id={} addr={}",
                            e.message(),
                            self.handle.id,
                            self.handle.addr
                        ),
                    );
                    batch.fatal = true;
                    break;
                }
            };
            if self.handle.queued.load(Relaxed) > 0 {
                // Messages queued so far go out before this command's reply.
                take_pushes(&mut self.push, self.handle, self.out.buffer_mut());
            }
            let argv: SmallVec<[&[u8]; 16]> = (0..self.args.len()).map(|i| self.args.get(buf, i)).collect();
            match self.session.execute(&mut self.client, &mut self.out, &argv) {
                Outcome::Done => {}
                Outcome::Paused => {
                    batch.paused = true;
                    break;
                }
                Outcome::Blocked => {
                    // The rest of the pipeline waits until the reply comes.
                    batch.consumed += consumed;
                    break;
                }
            }
            batch.consumed += consumed;
            if self.out.len() >= accounted_out + ACCOUNT_STEP {
                accounted_out = self.out.len();
                // Client eviction may run: nothing kept locked meanwhile.
                brim_engine::release_kept();
                let query = self.inbuf.capacity();
                self.accounting.update(self.shared, &self.client, query, &self.pending, &self.out);
            }
            if check_output_limits(self.shared, self.handle, self.out.len()) {
                batch.over_limit = true;
                break;
            }
            if !limited && self.out.len() + unwritten >= READ_PAUSE_BYTES {
                // Let the client read what it asked for before running more.
                self.stalled = true;
                break;
            }
            if self.client.close_after_reply || self.handle.killed.load(Relaxed) {
                break;
            }
        }
        batch
    }

    /// Move the batch's replies to the outgoing buffer.
    fn queue_replies(&mut self) {
        if self.out.is_empty() {
            return;
        }
        if self.pending.is_empty() {
            std::mem::swap(self.out.buffer_mut(), &mut self.pending);
            self.sent = 0;
        } else {
            self.pending.extend_from_slice(self.out.as_bytes());
        }
        self.out.clear();
        self.handle.obl.store(self.owed(), Relaxed);
    }

    /// Write what is owed before closing, unless the handle is woken (a kill) meanwhile.
    async fn flush_unless_woken(&mut self, wake: Pin<&mut Notified<'a>>) {
        let owed = &self.pending[self.sent..];
        tokio::select! {
            _ = self.stream.write_all(owed) => {}
            _ = wake => {}
        }
    }

    /// Let go of everything the client holds in the server.
    async fn close(mut self) {
        let _ = self.stream.flush().await;
        drop(self.session);
        drop(self.push);
        forget(self.shared, self.handle, self.client);
    }
}
