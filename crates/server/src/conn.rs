//! One client connection: read what arrived, run every complete command in it, answer the
//! whole batch with one write. Also delivers out-of-band messages (MONITOR), closes on
//! CLIENT KILL, idle `timeout`, protocol errors and the query buffer limit.

use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::Duration;

use brim_commands::stats::{bump, WorkerStats};
use brim_commands::{Client, ClientHandle, Outcome, Session, Shared};
use brim_resp::parse::{Args, ParseLimits, Parser};
use brim_resp::Reply;
use smallvec::SmallVec;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::mpsc::UnboundedReceiver;

use crate::log::{log, Level};

const READ_CHUNK: usize = 16 * 1024;

/// Serve one client until it disconnects or is closed.
pub async fn serve<S>(
    shared: Arc<Shared>,
    worker: Arc<WorkerStats>,
    mut stream: S,
    handle: Arc<ClientHandle>,
    mut push: UnboundedReceiver<Vec<u8>>,
) where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let needs_auth = shared.config.requirepass().is_some();
    let mut client = Client::new(handle.clone(), !needs_auth);
    let mut out = Reply::new();
    let mut parser = Parser::new();
    let mut args = Args::default();
    let mut inbuf: Vec<u8> = Vec::with_capacity(READ_CHUNK);
    let mut session = Session::new(&shared, &worker);
    let mut resume = false;
    loop {
        let timeout = shared.config.timeout();
        let idle = async {
            if timeout > 0 && !handle.monitor.load(Relaxed) {
                tokio::time::sleep(Duration::from_secs(timeout)).await
            } else {
                std::future::pending::<()>().await
            }
        };
        if inbuf.capacity() - inbuf.len() < READ_CHUNK / 2 {
            let want = parser.pending_bulk().map(|b| b + 2).unwrap_or(READ_CHUNK).max(READ_CHUNK);
            inbuf.reserve(want.min(shared.config.client_query_buffer_limit() as usize));
        }
        if !std::mem::take(&mut resume) {
            tokio::select! {
                biased;
                _ = handle.wake.notified() => {
                    if handle.killed.load(Relaxed) { break; }
                    continue;
                }
                Some(msg) = push.recv() => {
                    if stream.write_all(&msg).await.is_err() { break; }
                    bump(&handle.net_out, msg.len() as u64);
                    continue;
                }
                _ = idle => {
                    log(Level::Verbose, "Closing idle client");
                    break;
                }
                r = stream.read_buf(&mut inbuf) => {
                    match r {
                        Ok(0) | Err(_) => break,
                        Ok(n) => {
                            bump(&worker.net_input_bytes, n as u64);
                            bump(&handle.net_in, n as u64);
                        }
                    }
                }
            }
        }
        if handle.killed.load(Relaxed) {
            break;
        }
        let limits = ParseLimits {
            max_bulk_len: shared.config.proto_max_bulk_len(),
            authenticated: client.authenticated,
        };
        let mut pos = 0;
        let mut fatal = false;
        let mut paused = false;
        {
            loop {
                let buf = &inbuf[pos..];
                if buf.is_empty() {
                    break;
                }
                match parser.parse(buf, &limits, &mut args) {
                    Ok(Some(consumed)) => {
                        let argv: SmallVec<[&[u8]; 16]> = (0..args.len()).map(|i| args.get(buf, i)).collect();
                        if session.execute(&mut client, &mut out, &argv) == Outcome::Paused {
                            paused = true;
                            break;
                        }
                        pos += consumed;
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
            handle.obl.store(out.len(), Relaxed);
            if stream.write_all(out.as_bytes()).await.is_err() {
                break;
            }
            bump(&worker.net_output_bytes, out.len() as u64);
            bump(&handle.net_out, out.len() as u64);
            out.clear();
            handle.obl.store(0, Relaxed);
        }
        if inbuf.is_empty() && inbuf.capacity() > 64 * 1024 {
            inbuf = Vec::with_capacity(READ_CHUNK);
        }
        if fatal || client.close_after_reply {
            break;
        }
        if paused {
            // CLIENT PAUSE: wait a little and offer the same command again, without reading
            // more (the rest of the pipeline stays queued behind it).
            let wait = brim_commands::connection::pause_remaining_ms(&shared).unwrap_or(0).clamp(1, 10);
            tokio::time::sleep(Duration::from_millis(wait)).await;
            resume = true;
        }
    }
    let _ = stream.flush().await;
    drop(session);
    brim_commands::transactions::unwatch_all(&shared, &mut client);
    shared.remove_client(handle.id);
}
