//! Listening sockets, the accept loop that deals connections to the workers round-robin,
//! signals and shutdown.

use std::os::fd::AsRawFd;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::Duration;

use brim_commands::shared::unix_ms;
use brim_commands::{ClientHandle, Shared, ShutdownKind};
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, UnixListener};

use crate::log::{log, Level};
use crate::worker::{self, Dealt, Incoming};

const MAXCLIENTS_ERROR: &[u8] = b"-ERR max number of clients reached\r\n";

/// Redis's reply to a non-loopback client while protected mode is on and no password is set.
const PROTECTED_MODE_ERROR: &[u8] = b"-DENIED Redis is running in protected mode because protected mode is enabled and no password is set for the default user. In this mode connections are only accepted from the loopback interface. If you want to connect from external computers to Redis you may adopt one of the following solutions: 1) Just disable protected mode sending the command 'CONFIG SET protected-mode no' from the loopback interface by connecting to Redis from the same host the server is running, however MAKE SURE Redis is not publicly accessible from internet if you do so. Use CONFIG REWRITE to make this change permanent. 2) Alternatively you can just disable the protected mode by editing the Redis configuration file, and setting the protected mode option to 'no', and then restarting the server. 3) If you started the server manually just for testing, restart it with the '--protected-mode no' option. 4) Set up an authentication password for the default user. NOTE: You only need to do one of the above things in order for the server to start accepting connections from the outside.\r\n";

/// Bind, serve until shutdown, return the exit code.
pub async fn run(shared: Arc<Shared>) -> i32 {
    let cfg = shared.config.clone();
    let port = cfg.port();
    let mut tcp = Vec::new();
    if port != 0 {
        for addr in cfg.bind() {
            let (optional, host) = match addr.strip_prefix('-') {
                Some(h) => (true, h),
                None => (false, addr.as_str()),
            };
            let host = match host {
                "*" => "0.0.0.0",
                "::*" => "::",
                h => h,
            };
            let sockaddr =
                if host.contains(':') { format!("[{host}]:{port}") } else { format!("{host}:{port}") };
            match bind_tcp(&sockaddr, cfg.tcp_backlog() as i32) {
                Ok(l) => tcp.push(l),
                Err(e) if optional => log(Level::Verbose, &format!("Skipping optional bind {sockaddr}: {e}")),
                Err(e) => {
                    log(
                        Level::Warning,
                        &format!("Warning: Could not create server TCP listening socket {sockaddr}: {e}"),
                    );
                    log(Level::Warning, &format!("Failed listening on port {port} (tcp), aborting."));
                    return 1;
                }
            }
        }
    }
    shared.port.store(port as u64, Relaxed);
    let unix = match cfg.unixsocket() {
        Some(path) if !path.is_empty() => {
            let _ = std::fs::remove_file(&path);
            match UnixListener::bind(&path) {
                Ok(l) => {
                    let perm = cfg.unixsocketperm();
                    if perm != 0 {
                        use std::os::unix::fs::PermissionsExt;
                        let _ = std::fs::set_permissions(&path, std::fs::Permissions::from_mode(perm));
                    }
                    Some((l, path))
                }
                Err(e) => {
                    log(Level::Warning, &format!("Failed opening Unix socket: {e}"));
                    return 1;
                }
            }
        }
        _ => None,
    };
    let workers = worker::start(&shared, cfg.io_threads());
    // The cron, active expiry and eviction start once the load is over (a failed load ends
    // the process from there).
    tokio::spawn(after_loading(shared.clone(), crate::start_loading(shared.clone())));
    first_load_chunk(&shared).await;
    log(Level::Notice, "Server initialized");
    if !tcp.is_empty() {
        log(Level::Notice, "Ready to accept connections tcp");
    }
    if unix.is_some() {
        log(Level::Notice, "Ready to accept connections unix");
    }
    let mut next = 0usize;
    let mut deal = |incoming: Incoming, addr: String, laddr: String, fd: i32, is_unix: bool| {
        let (handle, push) = ClientHandle::new(
            shared.next_client_id.fetch_add(1, Relaxed),
            addr,
            laddr,
            fd,
            is_unix,
            unix_ms(),
        );
        shared.add_client(handle.clone());
        // A worker gone means the server is shutting down: the connection just closes.
        let _ = workers.deal(next % workers.len(), Dealt { incoming, handle, push, moved: None });
        next += 1;
    };
    let mut sigterm = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    let mut sigint = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt()).ok();
    let accept_tcp = || async {
        if tcp.is_empty() {
            return std::future::pending().await;
        }
        let futs = tcp.iter().map(|l| Box::pin(l.accept()));
        futures_select_ok(futs).await
    };
    loop {
        tokio::select! {
            _ = shared.shutdown_notify.notified() => break,
            _ = async { match sigterm.as_mut() { Some(s) => { s.recv().await; } None => std::future::pending().await } } => {
                log(Level::Warning, "Received SIGTERM scheduling shutdown...");
                // While loading, exit without saving a partial dataset (as Redis does).
                if !shared.loading.is_active() && !brim_commands::persistence::signal_shutdown(&shared) {
                    continue;
                }
                shared.request_shutdown(ShutdownKind::Default);
                break;
            }
            _ = async { match sigint.as_mut() { Some(s) => { s.recv().await; } None => std::future::pending().await } } => {
                log(Level::Warning, "Received SIGINT scheduling shutdown...");
                // While loading, exit without saving a partial dataset (as Redis does).
                if !shared.loading.is_active() && !brim_commands::persistence::signal_shutdown(&shared) {
                    continue;
                }
                shared.request_shutdown(ShutdownKind::Default);
                break;
            }
            r = accept_tcp() => {
                let Ok((stream, peer)) = r else { continue };
                if too_many_clients(&shared) {
                    refuse(stream, MAXCLIENTS_ERROR).await;
                    continue;
                }
                if cfg.protected_mode() && cfg.requirepass().is_none() && !peer.ip().is_loopback() {
                    refuse(stream, PROTECTED_MODE_ERROR).await;
                    continue;
                }
                let _ = stream.set_nodelay(true);
                set_keepalive(stream.as_raw_fd(), cfg.tcp_keepalive());
                let laddr = stream.local_addr().map(|a| a.to_string()).unwrap_or_default();
                let fd = stream.as_raw_fd();
                if let Ok(std_stream) = stream.into_std() {
                    log(Level::Verbose, &format!("Accepted {peer}"));
                    deal(Incoming::Tcp(std_stream), peer.to_string(), laddr, fd, false);
                }
            }
            r = async { match &unix { Some((l, _)) => l.accept().await, None => std::future::pending().await } } => {
                let Ok((stream, _)) = r else { continue };
                if too_many_clients(&shared) {
                    let mut stream = stream;
                    let _ = stream.write_all(MAXCLIENTS_ERROR).await;
                    continue;
                }
                let path = unix.as_ref().map(|(_, p)| p.clone()).unwrap_or_default();
                let fd = stream.as_raw_fd();
                if let Ok(std_stream) = stream.into_std() {
                    deal(Incoming::Unix(std_stream), path.clone(), path, fd, true);
                }
            }
        }
    }
    log(Level::Warning, "User requested shutdown...");
    if let Some((_, path)) = &unix {
        log(Level::Notice, "Removing the unix socket file.");
        let _ = std::fs::remove_file(path);
    }
    log(Level::Warning, "Brim is now ready to exit, bye bye...");
    0
}

/// Wait until the load is over or has read its first chunk: Redis serves clients only
/// every `loading-process-events-interval-bytes` loaded, so a dataset smaller than that is
/// in before any client is served and nobody sees -LOADING for it.
async fn first_load_chunk(shared: &Shared) {
    let chunk = shared.config.loading_process_events_interval_bytes();
    while shared.loading.is_active() && shared.loading.progress.loaded_bytes.load(Relaxed) < chunk {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

/// Once the dataset is loaded, start what acts on it: the cron (save points), active
/// expiry and background eviction. A failed load (already logged) ends the process.
async fn after_loading(shared: Arc<Shared>, loaded: tokio::sync::oneshot::Receiver<bool>) {
    if loaded.await != Ok(true) {
        std::process::exit(1);
    }
    tokio::spawn(cron(shared.clone()));
    start_active_expiry(shared.clone());
    // Eviction in the background (maxmemory lowered below the usage, or a command's eviction
    // out of time): bounded slices on a thread of its own, see brim_commands::memory.
    if let Err(e) = brim_commands::memory::start_background_eviction(shared.clone()) {
        log(Level::Warning, &format!("Can't start the eviction thread: {e}"));
    }
}

/// Accept on whichever listener is ready first.
async fn futures_select_ok<F, T>(futs: impl Iterator<Item = std::pin::Pin<Box<F>>>) -> T
where
    F: std::future::Future<Output = T>,
{
    let mut futs: Vec<_> = futs.collect();
    std::future::poll_fn(move |cx| {
        for f in futs.iter_mut() {
            if let std::task::Poll::Ready(v) = f.as_mut().poll(cx) {
                return std::task::Poll::Ready(v);
            }
        }
        std::task::Poll::Pending
    })
    .await
}

fn too_many_clients(shared: &Shared) -> bool {
    let max = shared.config.maxclients() as usize;
    if shared.clients.lock().len() >= max {
        shared.stats.rejected_connections.fetch_add(1, Relaxed);
        true
    } else {
        false
    }
}

async fn refuse(mut stream: tokio::net::TcpStream, reply: &[u8]) {
    let _ = stream.write_all(reply).await;
}

fn bind_tcp(addr: &str, backlog: i32) -> std::io::Result<TcpListener> {
    let sockaddr: std::net::SocketAddr =
        addr.parse().map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, format!("{e}")))?;
    let socket =
        if sockaddr.is_ipv4() { tokio::net::TcpSocket::new_v4()? } else { tokio::net::TcpSocket::new_v6()? };
    socket.set_reuseaddr(true)?;
    socket.bind(sockaddr)?;
    socket.listen(backlog.max(1) as u32)
}

fn set_keepalive(fd: i32, secs: u64) {
    if secs == 0 {
        return;
    }
    let on: libc::c_int = 1;
    let idle = secs as libc::c_int;
    let intvl = (secs / 3).max(1) as libc::c_int;
    let cnt: libc::c_int = 3;
    let sz = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: plain setsockopt calls on a socket we own, with correctly sized int options.
    unsafe {
        libc::setsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_KEEPALIVE,
            &on as *const _ as *const libc::c_void,
            sz,
        );
        libc::setsockopt(
            fd,
            libc::IPPROTO_TCP,
            libc::TCP_KEEPIDLE,
            &idle as *const _ as *const libc::c_void,
            sz,
        );
        libc::setsockopt(
            fd,
            libc::IPPROTO_TCP,
            libc::TCP_KEEPINTVL,
            &intvl as *const _ as *const libc::c_void,
            sz,
        );
        libc::setsockopt(
            fd,
            libc::IPPROTO_TCP,
            libc::TCP_KEEPCNT,
            &cnt as *const _ as *const libc::c_void,
            sz,
        );
    }
}

/// How much nicer than the rest of the process the active expiry thread runs.
const EXPIRE_NICE: libc::c_int = 5;

/// Active expiry (`brim_engine::expire`) on a thread of its own, `brim-expire`, rather than
/// in [`cron`]: the cycle's batches take stripe locks for microseconds each and may run for a
/// quarter of every `hz` period (and fast cycles in between) during a wave of expiring keys;
/// on its own thread that work never delays this runtime's accept loop or timers, never waits
/// behind a worker's batch of client commands, and the OS schedules it beside the workers
/// instead of inside one of them. It reads `hz`, `active-expire-effort`, DEBUG
/// SET-ACTIVE-EXPIRE and whether `expired` notifications are wanted at every step, and
/// publishes `expired` events for the keys it reclaims.
fn start_active_expiry(shared: Arc<Shared>) {
    use brim_commands::notify::{class, keyspace_event_db, wants_expired};
    use brim_engine::expire::{ActiveExpire, Settings};
    let spawned = std::thread::Builder::new().name("brim-expire".into()).spawn(move || {
        // A little below the workers: when the CPU is contended, client commands go first;
        // the cycle still gets its share (nice 5 weighs about a third of nice 0).
        // SAFETY: setpriority on this thread's own id; failure is harmless.
        unsafe {
            let tid = libc::gettid() as libc::id_t;
            let nice = libc::getpriority(libc::PRIO_PROCESS, tid);
            libc::setpriority(libc::PRIO_PROCESS, tid, (nice + EXPIRE_NICE).min(19));
        }
        let mut cycle = ActiveExpire::new();
        loop {
            let settings = Settings {
                hz: shared.config.hz(),
                effort: shared.config.active_expire_effort(),
                enabled: shared.active_expire.load(Relaxed),
                report_keys: wants_expired(&shared) || brim_commands::propagate::is_on(),
            };
            let wait = cycle.step(&shared.keyspace, &settings, &unix_ms, &mut |db, key| {
                brim_commands::propagate::deleted_later(&shared, db, key, false);
                keyspace_event_db(&shared, db, class::EXPIRED, "expired", key)
            });
            // The AOF logs the reclaimed keys as DEL (after the stripe locks are let go).
            brim_commands::propagate::flush_deleted(&shared);
            brim_commands::tracking::drain_background(&shared);
            std::thread::sleep(wait.max(Duration::from_micros(100)));
        }
    });
    if let Err(e) = spawned {
        log(Level::Warning, &format!("Can't start the active expiry thread: {e}"));
    }
}

/// Periodic housekeeping: memory peak sampling and instantaneous metrics (active expiry
/// runs on its own thread, see [`start_active_expiry`]).
async fn cron(shared: Arc<Shared>) {
    let mut tick = tokio::time::interval(Duration::from_millis(100));
    loop {
        tick.tick().await;
        shared.sample_memory();
        // The allocator's statistics and RSS for INFO / MEMORY STATS, sampled here rather
        // than per call (Redis's cron_malloc_stats).
        brim_engine::evict::allocator::refresh(unix_ms());
        brim_commands::server::track_instantaneous_metrics(&shared);
        brim_commands::persistence::cron(&shared);
    }
}
