//! One client connection: read what arrived, run every complete command in it, answer the
//! whole batch at once. Also delivers out-of-band messages (pub/sub, MONITOR), closes on
//! CLIENT KILL, idle `timeout`, protocol errors, the query buffer limit and the output
//! buffer limits.
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
//! After every wake-up and every 16 KiB of replies the connection publishes what it holds
//! (`client_evict::publish`: CLIENT LIST `tot-mem`, the sums behind `maxmemory-clients` and
//! `mem_not_counted_for_evict`) and lets `client_evict` close the biggest clients when they
//! hold more than `maxmemory-clients`, itself included.
//!
//! Pushes queued for the client are put into its output between commands, so they never
//! split a reply and keep their order with respect to the client's own commands.

use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::Duration;

use brim_commands::client_evict::{self, MultiMemory, Usage};
use brim_commands::pubsub::{check_output_limits, client_class};
use brim_commands::stats::{bump, WorkerStats};
use brim_commands::{Client, ClientHandle, Outcome, Session, Shared};
use brim_resp::parse::{Args, ParseLimits, Parser};
use brim_resp::Reply;
use smallvec::SmallVec;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::mpsc::UnboundedReceiver;
use tokio::time::Instant;

use crate::log::{log, Level};

const READ_CHUNK: usize = 16 * 1024;
/// Unwritten reply bytes at which a client without an output limit stops being read.
const READ_PAUSE_BYTES: usize = 1 << 20;
/// An empty outgoing buffer larger than this is given back.
const KEEP_OUT_CAPACITY: usize = 64 * 1024;

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

/// Reply bytes a batch may add between two [`account`] calls.
const ACCOUNT_STEP: usize = 16 * 1024;

/// Publish what this connection holds (CLIENT LIST `tot-mem`, `mem_clients_normal`, the
/// clients' sums behind `maxmemory-clients` and `mem_not_counted_for_evict`), then evict
/// clients if they hold more than `maxmemory-clients` (this one included).
fn account(
    shared: &Shared,
    client: &Client,
    multi: &mut MultiMemory,
    query: usize,
    pending: &Vec<u8>,
    out: &Reply,
) {
    let queued = client.handle.queued.load(Relaxed);
    let output = pending.capacity() + out.capacity() + queued;
    let waiting = pending.len() + out.len() + queued > 0;
    let usage =
        Usage { query, output, unwritten: if waiting { output } else { 0 }, multi: multi.measure(client) };
    client_evict::publish(shared, &client.handle, &usage);
    client_evict::evict_if_over(shared);
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

/// Serve one client until it disconnects or is closed.
pub async fn serve<S>(
    shared: Arc<Shared>,
    worker: Arc<WorkerStats>,
    stream: S,
    handle: Arc<ClientHandle>,
    mut push: UnboundedReceiver<Vec<u8>>,
) where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let (mut rd, mut wr) = tokio::io::split(stream);
    let needs_auth = shared.config.requirepass().is_some();
    let mut client = Client::new(handle.clone(), !needs_auth);
    let mut out = Reply::new();
    let mut parser = Parser::new();
    let mut args = Args::default();
    let mut inbuf: Vec<u8> = Vec::with_capacity(READ_CHUNK);
    let mut session = Session::new(&shared, &worker);
    // Output not yet written: `pending[sent..]`.
    let mut pending: Vec<u8> = Vec::new();
    let mut sent = 0usize;
    let mut last_io = Instant::now();
    // CLIENT PAUSE: when to offer the held-back command again.
    let mut resume_at: Option<Instant> = None;
    // Commands left unexecuted in `inbuf` because too many replies were waiting unwritten.
    let mut stalled = false;
    let mut multi_mem = MultiMemory::default();
    loop {
        account(&shared, &client, &mut multi_mem, inbuf.capacity(), &pending, &out);
        handle.qbuf_free.store(inbuf.capacity() - inbuf.len(), Relaxed);
        if handle.queued.load(Relaxed) > 0 {
            take_pushes(&mut push, &handle, &mut pending);
            handle.obl.store(pending.len() - sent, Relaxed);
            if check_output_limits(&shared, &handle, 0) {
                log_limit_close(&handle);
                break;
            }
        }
        if handle.killed.load(Relaxed) {
            break;
        }
        let unwritten = pending.len() - sent;
        let limited = has_output_limit(&shared, &handle);
        let room = unwritten < READ_PAUSE_BYTES || limited;
        let can_read = resume_at.is_none()
            && !stalled
            && room
            && inbuf.len() as u64 <= shared.config.client_query_buffer_limit();
        if can_read && inbuf.capacity() - inbuf.len() < READ_CHUNK / 2 {
            let want = parser.pending_bulk().map(|b| b + 2).unwrap_or(READ_CHUNK).max(READ_CHUNK);
            inbuf.reserve(want.min(shared.config.client_query_buffer_limit() as usize));
        }
        // Blocked in BLPOP & co.: wait for the waiter's reply or its timeout (input is still
        // read, so a disconnection is seen, but not run).
        let waiter = session.blocked_waiter();
        let block_deadline = session.block_deadline().map(Instant::from_std);
        let timeout = shared.config.timeout();
        let idle_deadline =
            (timeout > 0 && !handle.monitor.load(Relaxed) && !handle.pubsub.any() && waiter.is_none())
                .then(|| last_io + Duration::from_secs(timeout));
        if stalled && room {
            stalled = false;
        } else {
            tokio::select! {
                biased;
                _ = handle.wake.notified() => continue,
                r = wr.write(&pending[sent..]), if sent < pending.len() => {
                    match r {
                        Ok(0) | Err(_) => break,
                        Ok(n) => {
                            sent += n;
                            bump(&worker.net_output_bytes, n as u64);
                            bump(&handle.net_out, n as u64);
                            last_io = Instant::now();
                            if sent == pending.len() {
                                pending.clear();
                                sent = 0;
                                if pending.capacity() > KEEP_OUT_CAPACITY {
                                    pending = Vec::new();
                                }
                            }
                            handle.obl.store(pending.len() - sent, Relaxed);
                        }
                    }
                    continue;
                }
                Some(msg) = push.recv() => {
                    handle.queued.fetch_sub(msg.len(), Relaxed);
                    pending.extend_from_slice(&msg);
                    handle.obl.store(pending.len() - sent, Relaxed);
                    continue;
                }
                _ = async { if let Some(w) = &waiter { w.notified().await } }, if waiter.is_some() => {}
                _ = tokio::time::sleep_until(block_deadline.unwrap_or_else(Instant::now)), if block_deadline.is_some() => {}
                _ = tokio::time::sleep_until(resume_at.unwrap_or_else(Instant::now)), if resume_at.is_some() => {
                    resume_at = None;
                }
                _ = tokio::time::sleep_until(idle_deadline.unwrap_or_else(Instant::now)), if idle_deadline.is_some() => {
                    log(Level::Verbose, "Closing idle client");
                    break;
                }
                r = rd.read_buf(&mut inbuf), if can_read => {
                    match r {
                        Ok(0) | Err(_) => break,
                        Ok(n) => {
                            bump(&worker.net_input_bytes, n as u64);
                            bump(&handle.net_in, n as u64);
                            last_io = Instant::now();
                        }
                    }
                }
            }
        }
        if handle.killed.load(Relaxed) {
            break;
        }
        if waiter.is_some() && !session.resume(&mut out) {
            continue;
        }
        let limits = ParseLimits {
            max_bulk_len: shared.config.proto_max_bulk_len(),
            authenticated: client.authenticated,
        };
        let mut pos = 0;
        let mut fatal = false;
        let mut paused = false;
        let mut over_limit = false;
        let mut accounted_out = 0;
        loop {
            let buf = &inbuf[pos..];
            if buf.is_empty() {
                break;
            }
            match parser.parse(buf, &limits, &mut args) {
                Ok(Some(consumed)) => {
                    if handle.queued.load(Relaxed) > 0 {
                        // Messages queued so far go out before this command's reply.
                        take_pushes(&mut push, &handle, out.buffer_mut());
                    }
                    let argv: SmallVec<[&[u8]; 16]> = (0..args.len()).map(|i| args.get(buf, i)).collect();
                    match session.execute(&mut client, &mut out, &argv) {
                        Outcome::Done => {}
                        Outcome::Paused => {
                            paused = true;
                            break;
                        }
                        Outcome::Blocked => {
                            // The rest of the pipeline waits until the reply comes.
                            pos += consumed;
                            break;
                        }
                    }
                    pos += consumed;
                    if out.len() >= accounted_out + ACCOUNT_STEP {
                        accounted_out = out.len();
                        account(&shared, &client, &mut multi_mem, inbuf.capacity(), &pending, &out);
                    }
                    if check_output_limits(&shared, &handle, out.len()) {
                        over_limit = true;
                        break;
                    }
                    if !limited && out.len() + unwritten >= READ_PAUSE_BYTES {
                        // Let the client read what it asked for before running more.
                        stalled = true;
                        break;
                    }
                    if client.close_after_reply || handle.killed.load(Relaxed) {
                        break;
                    }
                }
                Ok(None) => break,
                Err(e) => {
                    out.error(&format!("ERR {}", e.message()));
                    log(
                        Level::Verbose,
                        &format!(
                            "Protocol error ({}) from client: id={} addr={}",
                            e.message(),
                            handle.id,
                            handle.addr
                        ),
                    );
                    fatal = true;
                    break;
                }
            }
        }
        session.gate.release();
        // What this batch logged reaches the AOF (fsynced with `appendfsync always`) first.
        brim_commands::persistence::aof::before_reply().await;
        // A lowered `maxmemory-clients` applies even if this client closes right after.
        client_evict::evict_if_over(&shared);
        if over_limit {
            log_limit_close(&handle);
            break;
        }
        inbuf.drain(..pos);
        handle.qbuf.store(inbuf.len(), Relaxed);
        handle.qbuf_free.store(inbuf.capacity() - inbuf.len(), Relaxed);
        if !fatal && inbuf.len() as u64 > shared.config.client_query_buffer_limit() {
            log(
                Level::Warning,
                &format!(
                    "Closing client that reached max query buffer length: id={} addr={} qbuf={}",
                    handle.id,
                    handle.addr,
                    inbuf.len()
                ),
            );
            break;
        }
        if !out.is_empty() {
            if pending.is_empty() {
                std::mem::swap(out.buffer_mut(), &mut pending);
                sent = 0;
            } else {
                pending.extend_from_slice(out.as_bytes());
            }
            out.clear();
            handle.obl.store(pending.len() - sent, Relaxed);
        }
        if inbuf.is_empty() && inbuf.capacity() > 64 * 1024 {
            inbuf = Vec::with_capacity(READ_CHUNK);
        }
        if fatal || client.close_after_reply {
            // Flush what is owed (unless the client gets killed meanwhile), then close.
            tokio::select! {
                _ = wr.write_all(&pending[sent..]) => {}
                _ = handle.wake.notified() => {}
            }
            break;
        }
        if paused {
            // CLIENT PAUSE: offer the same command again a little later, without reading
            // more (the rest of the pipeline stays queued behind it).
            let wait = brim_commands::connection::pause_remaining_ms(&shared).unwrap_or(0).clamp(1, 10);
            resume_at = Some(Instant::now() + Duration::from_millis(wait));
        }
    }
    let _ = wr.flush().await;
    drop(session);
    drop(push);
    handle.queued.store(0, Relaxed);
    handle.obl.store(0, Relaxed);
    brim_commands::pubsub::unsubscribe_all(&shared, &handle);
    brim_commands::transactions::unwatch_all(&shared, &mut client);
    shared.remove_client(handle.id);
}
