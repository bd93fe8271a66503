//! Worker threads: each runs a current-thread runtime and owns the connections dealt to it,
//! or moved to it from another worker (a hot key's connections gather on the worker that
//! holds the key: see `conn`).

use std::sync::atomic::AtomicUsize;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;

use brim_commands::{ClientHandle, Shared};
use tokio::sync::mpsc;

use crate::conn::{self, Moved};
use crate::log::{log, Level};

/// A connection handed to a worker.
pub enum Incoming {
    /// A TCP connection.
    Tcp(std::net::TcpStream),
    /// A unix socket connection.
    Unix(std::os::unix::net::UnixStream),
}

/// A connection for a worker to serve.
pub struct Dealt {
    /// Its socket.
    pub incoming: Incoming,
    /// Its client handle.
    pub handle: Arc<ClientHandle>,
    /// The receiving end of its push channel.
    pub push: mpsc::UnboundedReceiver<Vec<u8>>,
    /// What it had when it moved from another worker (`None`: a new connection).
    pub moved: Option<Box<Moved>>,
}

/// The workers, as the accept loop and moving connections see them.
pub struct Workers {
    senders: Vec<mpsc::UnboundedSender<Dealt>>,
    /// Connections each worker serves (shared with INFO, `Shared::worker_clients`).
    clients: Arc<[AtomicUsize]>,
}

impl Workers {
    /// Number of workers.
    pub fn len(&self) -> usize {
        self.senders.len()
    }

    /// Hand `d` to worker `i`; gives it back if that worker is gone (shutting down).
    pub fn deal(&self, i: usize, d: Dealt) -> Result<(), Box<Dealt>> {
        let (Some(tx), Some(n)) = (self.senders.get(i), self.clients.get(i)) else { return Err(Box::new(d)) };
        n.fetch_add(1, Relaxed);
        tx.send(d).map_err(|e| {
            n.fetch_sub(1, Relaxed);
            Box::new(e.0)
        })
    }

    /// A connection of worker `i` ended (or moved away).
    pub fn left(&self, i: usize) {
        if let Some(n) = self.clients.get(i) {
            n.fetch_sub(1, Relaxed);
        }
    }

    /// Whether a connection of worker `from` that keeps waiting for a key worker `to` holds
    /// should move there. Connections move toward the worker serving more of them (the
    /// lower-numbered one when even), never back, so two workers sharing a hot key end up
    /// with all its connections on one of them instead of trading them.
    pub fn should_move(&self, from: usize, to: usize) -> bool {
        let count = |i: usize| self.clients.get(i).map(|n| n.load(Relaxed));
        match (count(from), count(to)) {
            (Some(f), Some(t)) => from != to && (t > f || (t == f && to < from)),
            _ => false,
        }
    }

    /// The worker serving the fewest connections, if worker `from` serves at least two more
    /// than it: where a connection of `from` goes to even the load out again (hot-key moves
    /// pile connections up on one worker, and they would otherwise stay there after the key
    /// cooled down).
    pub fn lighter(&self, from: usize) -> Option<usize> {
        let mine = self.clients.get(from)?.load(Relaxed);
        let (to, least) = self.clients.iter().map(|n| n.load(Relaxed)).enumerate().min_by_key(|&(_, n)| n)?;
        (mine >= least + 2).then_some(to)
    }
}

/// Start `n` workers.
pub fn start(shared: &Arc<Shared>, n: usize) -> Arc<Workers> {
    let (senders, receivers): (Vec<_>, Vec<_>) = (0..n.max(1)).map(|_| mpsc::unbounded_channel()).unzip();
    let clients: Arc<[AtomicUsize]> = senders.iter().map(|_| AtomicUsize::new(0)).collect();
    let _ = shared.worker_clients.set(clients.clone());
    let workers = Arc::new(Workers { senders, clients });
    for (i, rx) in receivers.into_iter().enumerate() {
        let shared = shared.clone();
        let w = workers.clone();
        let spawned =
            std::thread::Builder::new().name(format!("brim-worker-{i}")).spawn(move || run(shared, w, i, rx));
        if let Err(e) = spawned {
            log(Level::Warning, &format!("Can't start worker thread: {e}"));
            std::process::exit(1);
        }
    }
    workers
}

fn run(shared: Arc<Shared>, workers: Arc<Workers>, me: usize, mut rx: mpsc::UnboundedReceiver<Dealt>) {
    // A worker about to sleep lets go of the stripe it kept (brim_engine::keep_stripes).
    let built = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .on_thread_park(brim_engine::release_kept)
        .build();
    let rt = match built {
        Ok(rt) => rt,
        Err(e) => {
            log(Level::Warning, &format!("Can't start worker runtime: {e}"));
            std::process::exit(1);
        }
    };
    brim_engine::contention::set_worker(me);
    let stats = shared.add_worker();
    let local = tokio::task::LocalSet::new();
    local.block_on(&rt, async move {
        while let Some(Dealt { incoming, handle, push, moved }) = rx.recv().await {
            let at = conn::At { shared: shared.clone(), worker: stats.clone(), workers: workers.clone(), me };
            match incoming {
                Incoming::Tcp(s) => match tokio::net::TcpStream::from_std(s) {
                    Ok(s) => drop(tokio::task::spawn_local(conn::serve(at, s, handle, push, moved))),
                    Err(_) => conn::abandon(&at, &handle, moved),
                },
                Incoming::Unix(s) => match tokio::net::UnixStream::from_std(s) {
                    Ok(s) => drop(tokio::task::spawn_local(conn::serve(at, s, handle, push, moved))),
                    Err(_) => conn::abandon(&at, &handle, moved),
                },
            }
        }
    });
}
