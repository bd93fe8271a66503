//! Worker threads: each runs a current-thread runtime and owns the connections dealt to it.

use std::sync::Arc;

use brim_commands::{ClientHandle, Shared};
use tokio::sync::mpsc;

use crate::conn;
use crate::log::{log, Level};

/// A connection handed to a worker.
pub enum Incoming {
    /// A TCP connection.
    Tcp(std::net::TcpStream),
    /// A unix socket connection.
    Unix(std::os::unix::net::UnixStream),
}

/// A connection with its client handle and the receiving end of its push channel.
pub type Dealt = (Incoming, Arc<ClientHandle>, mpsc::UnboundedReceiver<Vec<u8>>);

/// Start `n` workers; returns the channels to deal connections to them.
pub fn start(shared: &Arc<Shared>, n: usize) -> Vec<mpsc::UnboundedSender<Dealt>> {
    (0..n.max(1))
        .map(|i| {
            let (tx, rx) = mpsc::unbounded_channel();
            let shared = shared.clone();
            let spawned =
                std::thread::Builder::new().name(format!("brim-worker-{i}")).spawn(move || run(shared, rx));
            if let Err(e) = spawned {
                log(Level::Warning, &format!("Can't start worker thread: {e}"));
                std::process::exit(1);
            }
            tx
        })
        .collect()
}

fn run(shared: Arc<Shared>, mut rx: mpsc::UnboundedReceiver<Dealt>) {
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
    let stats = shared.add_worker();
    let local = tokio::task::LocalSet::new();
    local.block_on(&rt, async move {
        while let Some((incoming, handle, push)) = rx.recv().await {
            let shared = shared.clone();
            let stats = stats.clone();
            match incoming {
                Incoming::Tcp(s) => {
                    if let Ok(s) = tokio::net::TcpStream::from_std(s) {
                        tokio::task::spawn_local(conn::serve(shared, stats, s, handle, push));
                    }
                }
                Incoming::Unix(s) => {
                    if let Ok(s) = tokio::net::UnixStream::from_std(s) {
                        tokio::task::spawn_local(conn::serve(shared, stats, s, handle, push));
                    }
                }
            }
        }
    });
}
