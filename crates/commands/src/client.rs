//! Clients: the state a connection owns (`Client`) and the part other connections can see
//! and act on (`ClientHandle`: CLIENT LIST, CLIENT KILL, MONITOR feeds, ...).

use std::sync::atomic::{AtomicBool, AtomicI64, AtomicPtr, AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::sync::Arc;

use parking_lot::Mutex;
use tokio::sync::{mpsc, Notify};

use crate::spec::CommandSpec;

/// What `CLIENT REPLY` set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplyMode {
    /// Replies are sent.
    On,
    /// Replies are dropped until `CLIENT REPLY ON`.
    Off,
    /// The next command's reply is dropped.
    Skip,
    /// Set by SKIP; turns into `Skip` after the current command.
    SkipNext,
}

/// The part of a client other connections see.
#[derive(Debug)]
pub struct ClientHandle {
    /// CLIENT ID.
    pub id: u64,
    /// Peer address `ip:port` (or the socket path for unix sockets).
    pub addr: String,
    /// Local address.
    pub laddr: String,
    /// File descriptor number.
    pub fd: i32,
    /// Creation time, unix ms.
    pub created_ms: i64,
    /// CLIENT SETNAME.
    pub name: Mutex<Option<Vec<u8>>>,
    /// CLIENT SETINFO LIB-NAME / LIB-VER.
    pub lib: Mutex<(Vec<u8>, Vec<u8>)>,
    /// The selected database.
    pub db: AtomicUsize,
    /// Last command time, unix ms.
    pub last_interaction_ms: AtomicI64,
    /// Last command run (a pointer to its static spec; null before the first).
    last_cmd: AtomicPtr<CommandSpec>,
    /// Protocol version (2 or 3).
    pub resp: AtomicUsize,
    /// Commands queued in MULTI, or -1 outside a transaction.
    pub multi: AtomicI64,
    /// Query buffer length and capacity.
    pub qbuf: AtomicUsize,
    /// Query buffer free space.
    pub qbuf_free: AtomicUsize,
    /// Output buffer length.
    pub obl: AtomicUsize,
    /// Output memory.
    pub omem: AtomicUsize,
    /// Total memory of the client.
    pub tot_mem: AtomicUsize,
    /// Input/output bytes.
    pub net_in: AtomicU64,
    /// Output bytes.
    pub net_out: AtomicU64,
    /// Commands run.
    pub commands: AtomicU64,
    /// This client is a MONITOR.
    pub monitor: AtomicBool,
    /// CLIENT NO-EVICT.
    pub no_evict: AtomicBool,
    /// CLIENT NO-TOUCH.
    pub no_touch: AtomicBool,
    /// Set when the client must be closed (CLIENT KILL, limits).
    pub killed: AtomicBool,
    /// Wakes the connection task for kills and pushes.
    pub wake: Notify,
    /// Out-of-band messages to write to this client (MONITOR lines, later pub/sub).
    pub push: mpsc::UnboundedSender<Vec<u8>>,
    /// The connection is a unix socket.
    pub unix: bool,
    /// Whether the client is authenticated (for CLIENT LIST `user`).
    pub authenticated: AtomicBool,
    /// Bytes queued by [`ClientHandle::send`] that the connection has not taken yet (part of
    /// the output buffer `client-output-buffer-limit` bounds, with `obl`).
    pub queued: AtomicUsize,
    /// Unix time (s) since which the output buffer has been over its soft limit (0: not).
    pub obuf_soft_since: AtomicI64,
    /// Pub/Sub subscriptions.
    pub pubsub: crate::pubsub::ClientSubs,
    /// CLIENT TRACKING mode.
    pub tracking: crate::tracking::ClientTracking,
    /// What this client adds to the server-wide client memory sums (client eviction).
    pub counted: crate::client_evict::Counted,
}

impl ClientHandle {
    /// A handle plus the receiving end of its push channel.
    pub fn new(
        id: u64,
        addr: String,
        laddr: String,
        fd: i32,
        unix: bool,
        now_ms: i64,
    ) -> (Arc<Self>, mpsc::UnboundedReceiver<Vec<u8>>) {
        let (tx, rx) = mpsc::unbounded_channel();
        let h = ClientHandle {
            id,
            addr,
            laddr,
            fd,
            created_ms: now_ms,
            name: Mutex::new(None),
            lib: Mutex::new((Vec::new(), Vec::new())),
            db: AtomicUsize::new(0),
            last_interaction_ms: AtomicI64::new(now_ms),
            last_cmd: AtomicPtr::new(std::ptr::null_mut()),
            resp: AtomicUsize::new(2),
            multi: AtomicI64::new(-1),
            qbuf: AtomicUsize::new(0),
            qbuf_free: AtomicUsize::new(0),
            obl: AtomicUsize::new(0),
            omem: AtomicUsize::new(0),
            tot_mem: AtomicUsize::new(0),
            net_in: AtomicU64::new(0),
            net_out: AtomicU64::new(0),
            commands: AtomicU64::new(0),
            monitor: AtomicBool::new(false),
            no_evict: AtomicBool::new(false),
            no_touch: AtomicBool::new(false),
            killed: AtomicBool::new(false),
            wake: Notify::new(),
            push: tx,
            unix,
            authenticated: AtomicBool::new(false),
            queued: AtomicUsize::new(0),
            obuf_soft_since: AtomicI64::new(0),
            pubsub: crate::pubsub::ClientSubs::default(),
            tracking: crate::tracking::ClientTracking::new(id),
            counted: crate::client_evict::Counted::default(),
        };
        (Arc::new(h), rx)
    }

    /// Record the command the client just ran.
    pub fn set_last_command(&self, spec: &'static CommandSpec) {
        self.last_cmd.store(spec as *const CommandSpec as *mut CommandSpec, Relaxed);
    }

    /// The full name of the last command run (`client|list`), or `NULL`.
    pub fn last_command(&self) -> String {
        // SAFETY: only pointers to `'static` specs are ever stored.
        match unsafe { self.last_cmd.load(Relaxed).as_ref() } {
            Some(spec) => spec.full_name(),
            None => "NULL".to_string(),
        }
    }

    /// Ask the connection to close.
    pub fn kill(&self) {
        self.killed.store(true, Relaxed);
        self.wake.notify_one();
    }

    /// Queue bytes to be written to this client (counted in `queued` until its connection
    /// takes them).
    pub fn send(&self, bytes: Vec<u8>) {
        let n = bytes.len();
        self.queued.fetch_add(n, Relaxed);
        if self.push.send(bytes).is_err() {
            self.queued.fetch_sub(n, Relaxed);
        }
    }
}

/// A key a client WATCHes.
#[derive(Debug)]
pub struct WatchedKey {
    /// Its database.
    pub db: usize,
    /// The key.
    pub key: Vec<u8>,
    /// Whether it had already expired (without being reclaimed) when WATCHed; such a key
    /// does not abort EXEC by expiring.
    pub expired_at_watch: bool,
}

/// Per-connection state, owned by the connection's task.
#[derive(Debug)]
pub struct Client {
    /// The shared part.
    pub handle: Arc<ClientHandle>,
    /// Selected database.
    pub db: usize,
    /// Passed AUTH (or no password is required).
    pub authenticated: bool,
    /// Queued commands while in MULTI.
    pub multi: Option<Vec<Vec<Vec<u8>>>>,
    /// A command failed to queue: EXEC will abort.
    pub multi_error: bool,
    /// Set by the keyspace when a WATCHed key changes.
    pub watch_flag: Arc<AtomicBool>,
    /// WATCHed keys.
    pub watched: Vec<WatchedKey>,
    /// CLIENT REPLY state.
    pub reply_mode: ReplyMode,
    /// Close the connection once the pending replies are written (QUIT, protocol errors).
    pub close_after_reply: bool,
    /// Executing inside EXEC.
    pub in_exec: bool,
    /// The time every command of the running EXEC sees (Redis freezes the clock for a
    /// transaction), unix ms.
    pub frozen_now: Option<i64>,
}

impl Client {
    /// A new client; `authenticated` is whether no password is required.
    pub fn new(handle: Arc<ClientHandle>, authenticated: bool) -> Self {
        handle.authenticated.store(authenticated, Relaxed);
        Client {
            handle,
            db: 0,
            authenticated,
            multi: None,
            multi_error: false,
            watch_flag: Arc::new(AtomicBool::new(false)),
            watched: Vec::new(),
            reply_mode: ReplyMode::On,
            close_after_reply: false,
            in_exec: false,
            frozen_now: None,
        }
    }

    /// The client's id.
    pub fn id(&self) -> u64 {
        self.handle.id
    }
}
