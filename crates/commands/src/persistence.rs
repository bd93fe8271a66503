//! Persistence commands and hooks: SAVE, BGSAVE [SCHEDULE], DUMP, RESTORE, MIGRATE, the `save`
//! points (checked by the server's cron through [`cron`]), loading the RDB file at start-up
//! ([`load_at_startup`]), saving on shutdown ([`before_shutdown`], [`signal_shutdown`]),
//! and the `rdb_*` fields of INFO persistence ([`info`]). The append-only file (logging,
//! BGREWRITEAOF, loading it at start-up with `appendonly yes`) lives in [`aof`].
//!
//! The file format lives in the `brim-persist` crate.
//!
//! SAVE runs under the exclusive gate and writes the keyspace stripe by stripe. BGSAVE takes
//! a point-in-time snapshot without fork and without copying the dataset
//! (`brim_persist::snapshot`): under the exclusive gate it arms every stripe, then a
//! background thread serializes the stripes while clients keep running, and a client about
//! to change a stripe not yet saved serializes it first. Extra memory stays bounded by one
//! stripe's serialized size per serializing thread (INFO `rdb_last_cow_size`).

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use brim_config::Config;
use brim_config::MaxmemoryPolicy;
use brim_engine::list::Limit;
use brim_engine::{Access, SetExpire};
use brim_persist::file::{self, AccessLoad, LoadStats, Progress, SaveOptions, SaveStats};
use brim_persist::rdb::encode::{AccessInfo, Options};
use brim_persist::snapshot::Snapshot;
use brim_persist::values::{with_new_value, Limits};
use parking_lot::Mutex;

use crate::args::{is, parse_i64, NOT_INTEGER, SYNTAX};
use crate::ctx::Ctx;
use crate::notify::{self, class};
use crate::shared::{unix_ms, Shared, ShutdownKind};
use crate::table::{cmd, exclusive, Registration};

pub mod aof;

/// The persistence family.
pub const COMMANDS: &[Registration] = &[
    exclusive("save", save),
    exclusive("bgsave", bgsave),
    cmd("dump", dump),
    cmd("restore", restore),
    cmd("migrate", migrate),
    exclusive("bgrewriteaof", aof::bgrewriteaof),
];

/// Redis's CONFIG_BGSAVE_RETRY_DELAY: seconds between save-point attempts after a failure.
const BGSAVE_RETRY_DELAY_S: i64 = 5;

/// Where persistence messages go: the binary installs its logger here (`true`: a warning,
/// else a notice). Until then they go to stderr.
pub static LOG_HOOK: OnceLock<fn(bool, &str)> = OnceLock::new();

fn log(warning: bool, msg: &str) {
    match LOG_HOOK.get() {
        Some(f) => f(warning, msg),
        None => eprintln!("{msg}"),
    }
}

/// The state of saving and loading, server-wide.
#[derive(Debug)]
pub struct State {
    /// A BGSAVE thread is running.
    pub bgsave_in_progress: AtomicBool,
    /// When it started (unix ms).
    pub bgsave_started_ms: AtomicI64,
    /// A BGSAVE was scheduled (BGSAVE SCHEDULE, or BGSAVE inside EXEC).
    pub bgsave_scheduled: AtomicBool,
    /// Whether the last background save succeeded (`rdb_last_bgsave_status`).
    pub last_bgsave_ok: AtomicBool,
    /// Seconds the last background save took (-1: none yet).
    pub last_bgsave_time_s: AtomicI64,
    /// When a background save was last attempted (unix s).
    pub last_bgsave_try_s: AtomicI64,
    /// Saves done (`rdb_saves`).
    pub saves: AtomicU64,
    /// Keys written by the save in progress.
    pub progress: Progress,
    /// Peak extra bytes of the last background save (its largest stripe buffer).
    pub last_cow_size: AtomicU64,
    /// Keys in the keyspace when the save in progress started.
    pub keys_total: AtomicU64,
    /// Asks a running BGSAVE to stop (shutdown).
    pub cancel: AtomicBool,
    /// Keys loaded from the last RDB loaded.
    pub last_load_keys_loaded: AtomicU64,
    /// Keys skipped as expired when loading it.
    pub last_load_keys_expired: AtomicU64,
    /// The RDB is being loaded.
    pub loading: AtomicBool,
    /// SHUTDOWN already saved (or decided not to): the server only has to exit.
    pub shutdown_done: AtomicBool,
}

/// The persistence state.
pub static STATE: State = State {
    bgsave_in_progress: AtomicBool::new(false),
    bgsave_started_ms: AtomicI64::new(0),
    bgsave_scheduled: AtomicBool::new(false),
    last_bgsave_ok: AtomicBool::new(true),
    last_bgsave_time_s: AtomicI64::new(-1),
    last_bgsave_try_s: AtomicI64::new(0),
    saves: AtomicU64::new(0),
    progress: Progress { keys: AtomicU64::new(0) },
    last_cow_size: AtomicU64::new(0),
    keys_total: AtomicU64::new(0),
    cancel: AtomicBool::new(false),
    last_load_keys_loaded: AtomicU64::new(0),
    last_load_keys_expired: AtomicU64::new(0),
    loading: AtomicBool::new(false),
    shutdown_done: AtomicBool::new(false),
};

static SHARED: OnceLock<Arc<Shared>> = OnceLock::new();

/// The background save in progress.
static CURRENT: Mutex<Option<Arc<Snapshot>>> = Mutex::new(None);

/// Give the persistence layer a handle on the server's shared state, so that background
/// saves can outlive the command that started them. Called once by the binary.
pub fn install(shared: Arc<Shared>) {
    let _ = SHARED.set(shared);
}

/// The value encoding options the configuration asks for.
pub fn value_options(cfg: &Config) -> Options {
    let policy = cfg.maxmemory_policy();
    let access = if policy.is_lfu() {
        AccessInfo::Freq { decay_minutes: cfg.lfu_decay_time().min(u32::MAX as u64) as u32 }
    } else if matches!(
        policy,
        MaxmemoryPolicy::AllkeysLru
            | MaxmemoryPolicy::VolatileLru
            | MaxmemoryPolicy::AllkeysLrm
            | MaxmemoryPolicy::VolatileLrm
    ) {
        AccessInfo::Idle
    } else {
        AccessInfo::None
    };
    Options {
        compress: cfg.rdbcompression(),
        list_limit: Limit::from_fill(cfg.list_max_listpack_size()),
        access,
    }
}

fn save_options(cfg: &Config) -> SaveOptions {
    SaveOptions {
        values: value_options(cfg),
        checksum: cfg.rdbchecksum(),
        used_mem: brim_engine::alloc::used_memory() as u64,
        aof_base: false,
        commands: false,
    }
}

fn access_load(cfg: &Config) -> AccessLoad {
    if cfg.maxmemory_policy().is_lfu() {
        AccessLoad::Lfu
    } else {
        AccessLoad::Lru
    }
}

/// `dir/dbfilename`.
pub fn rdb_path(cfg: &Config) -> PathBuf {
    cfg.dir().join(cfg.dbfilename())
}

fn total_changes(shared: &Shared) -> u64 {
    shared.keyspace.dbs().iter().map(|d| d.changes()).sum()
}

fn total_keys(shared: &Shared) -> u64 {
    shared.keyspace.dbs().iter().map(|d| d.len() as u64).sum()
}

/// Save the keyspace to the RDB file now, on the calling thread (SAVE, shutdown). The
/// caller should hold the exclusive gate for a point-in-time file.
pub fn save_now(shared: &Shared) -> Result<SaveStats, String> {
    let cfg = &shared.config;
    let dirty_before = total_changes(shared);
    let acc = Access::at(unix_ms()).no_touch();
    STATE.progress.keys.store(0, Relaxed);
    STATE.keys_total.store(total_keys(shared), Relaxed);
    let r = file::save(
        &shared.keyspace,
        &cfg.dir(),
        &cfg.dbfilename(),
        "",
        &save_options(cfg),
        &acc,
        Some(&STATE.progress),
    );
    match r {
        Ok(stats) => {
            log(false, "DB saved on disk");
            shared.stats.dirty_at_reset.store(dirty_before, Relaxed);
            shared.lastsave.store(acc.now_ms / 1000, Relaxed);
            STATE.saves.fetch_add(1, Relaxed);
            Ok(stats)
        }
        Err(e) => {
            log(true, &e.0);
            Err(e.0)
        }
    }
}

fn save(ctx: &mut Ctx, _args: &[&[u8]]) {
    if STATE.bgsave_in_progress.load(Relaxed) {
        ctx.error("ERR Background save already in progress");
        return;
    }
    match save_now(ctx.shared) {
        Ok(_) => ctx.out.ok(),
        Err(_) => ctx.error("ERR"),
    }
}

/// Start a background save: a point-in-time snapshot of this instant
/// ([`brim_persist::snapshot`]), written by a background thread while clients keep running.
/// The caller must hold the exclusive gate. Fails if one is running or the state was not
/// installed.
pub fn start_bgsave(shared: &Shared) -> Result<(), String> {
    let Some(arc) = SHARED.get().cloned() else {
        return Err("background saving is not available".into());
    };
    if STATE.bgsave_in_progress.swap(true, Relaxed) {
        return Err("Background save already in progress".into());
    }
    let now = unix_ms();
    STATE.bgsave_started_ms.store(now, Relaxed);
    STATE.last_bgsave_try_s.store(now / 1000, Relaxed);
    STATE.bgsave_scheduled.store(false, Relaxed);
    STATE.cancel.store(false, Relaxed);
    STATE.progress.keys.store(0, Relaxed);
    STATE.keys_total.store(total_keys(shared), Relaxed);
    let dirty_before = total_changes(shared);
    let acc = Access::at(now).no_touch();
    let cfg = &shared.config;
    let snap = match Snapshot::start(&shared.keyspace, &cfg.dir(), &cfg.dbfilename(), save_options(cfg), acc)
    {
        Ok(s) => s,
        Err(e) => {
            // Redis's forked child would fail the same way after "Background saving started".
            log(false, "Background saving started");
            log(true, &e.0);
            log(true, "Background saving error");
            STATE.last_bgsave_ok.store(false, Relaxed);
            STATE.bgsave_in_progress.store(false, Relaxed);
            return Ok(());
        }
    };
    *CURRENT.lock() = Some(snap.clone());
    let spawned = std::thread::Builder::new().name("brim-bgsave".into()).spawn(move || {
        let started = Instant::now();
        let r = snap.run(&arc.keyspace);
        let secs = started.elapsed().as_secs() as i64;
        STATE.last_bgsave_time_s.store(secs, Relaxed);
        STATE.last_cow_size.store(snap.peak_buffer.load(Relaxed), Relaxed);
        match r {
            Ok(stats) => {
                log(false, "DB saved on disk");
                log(
                    false,
                    &format!(
                        "Snapshot of {} keys: {} saved by clients ahead of a write, peak buffer {} bytes",
                        stats.keys,
                        snap.by_writers.load(Relaxed),
                        snap.peak_buffer.load(Relaxed)
                    ),
                );
                log(false, "Background saving terminated with success");
                arc.stats.dirty_at_reset.store(dirty_before, Relaxed);
                arc.lastsave.store(acc.now_ms / 1000, Relaxed);
                STATE.saves.fetch_add(1, Relaxed);
                STATE.last_bgsave_ok.store(true, Relaxed);
            }
            Err(e) => {
                log(true, &e.0);
                log(true, "Background saving error");
                STATE.last_bgsave_ok.store(false, Relaxed);
            }
        }
        *CURRENT.lock() = None;
        STATE.bgsave_in_progress.store(false, Relaxed);
    });
    match spawned {
        Ok(_) => {
            log(false, "Background saving started");
            Ok(())
        }
        Err(e) => {
            // The stripes stay armed; cancel the snapshot so that saving a key does nothing.
            if let Some(s) = CURRENT.lock().take() {
                s.cancel.store(true, Relaxed);
                let _ = s.run(&shared.keyspace);
            }
            STATE.bgsave_in_progress.store(false, Relaxed);
            STATE.last_bgsave_ok.store(false, Relaxed);
            Err(format!("Can't save in background: {e}"))
        }
    }
}

fn bgsave(ctx: &mut Ctx, args: &[&[u8]]) {
    // SCHEDULE only matters while another background job (an AOF rewrite in Redis) runs;
    // Brim has none, so it starts at once like a plain BGSAVE.
    if args.len() > 2 || (args.len() == 2 && !is(args[1], "schedule")) {
        ctx.error(SYNTAX);
        return;
    }
    if STATE.bgsave_in_progress.load(Relaxed) {
        ctx.error("ERR Background save already in progress");
        return;
    }
    if aof::rewrite_in_progress() && args.len() == 1 && !ctx.client.in_exec {
        ctx.error("ERR Another child process is active (AOF?): can't BGSAVE right now. Use BGSAVE SCHEDULE in order to schedule a BGSAVE whenever possible.");
        return;
    }
    if ctx.client.in_exec || aof::rewrite_in_progress() {
        STATE.bgsave_scheduled.store(true, Relaxed);
        ctx.out.simple("Background saving scheduled");
        return;
    }
    match start_bgsave(ctx.shared) {
        Ok(()) => ctx.out.simple("Background saving started"),
        Err(e) => {
            log(true, &e);
            ctx.error("ERR");
        }
    }
}

/// Housekeeping from the server's cron (about every 100 ms): start a scheduled BGSAVE, or
/// one that a `save <seconds> <changes>` point calls for (Redis's serverCron rules,
/// including the 5-second retry delay after a failed save). The save starts on a helper
/// thread that takes the exclusive gate, so the caller never blocks.
pub fn cron(shared: &Shared) {
    aof::cron(shared);
    if aof::rewrite_in_progress()
        || STATE.bgsave_in_progress.load(Relaxed)
        || STATE.loading.load(Relaxed)
        || STATE.shutdown_done.load(Relaxed)
    {
        return;
    }
    let now_s = unix_ms() / 1000;
    let may_retry = now_s - STATE.last_bgsave_try_s.load(Relaxed) > BGSAVE_RETRY_DELAY_S
        || STATE.last_bgsave_ok.load(Relaxed);
    if STATE.bgsave_scheduled.load(Relaxed) && may_retry {
        start_bgsave_async(None);
        return;
    }
    let points = shared.config.save();
    if points.is_empty() {
        return;
    }
    let dirty = crate::server::changes_since_save(shared);
    let since = now_s - shared.lastsave.load(Relaxed);
    for (secs, changes) in points {
        if dirty >= changes && since > secs as i64 && may_retry {
            start_bgsave_async(Some(format!("{changes} changes in {secs} seconds. Saving...")));
            break;
        }
    }
}

/// A BGSAVE is being started by a helper thread.
static STARTING: AtomicBool = AtomicBool::new(false);

fn start_bgsave_async(msg: Option<String>) {
    let Some(arc) = SHARED.get().cloned() else { return };
    if STARTING.swap(true, Relaxed) {
        return;
    }
    let spawned = std::thread::Builder::new().name("brim-bgsave-start".into()).spawn(move || {
        let gate = arc.keyspace.exclusive();
        if !STATE.bgsave_in_progress.load(Relaxed) && !STATE.shutdown_done.load(Relaxed) {
            if let Some(m) = &msg {
                log(false, m);
            }
            if let Err(e) = start_bgsave(&arc) {
                log(true, &e);
            }
        }
        drop(gate);
        STARTING.store(false, Relaxed);
    });
    if spawned.is_err() {
        STARTING.store(false, Relaxed);
    }
}

/// The error write commands get while `stop-writes-on-bgsave-error` applies (save points
/// configured and the last background save failed), else `None`. The dispatcher refuses
/// write commands (and PING) with it, as Redis's processCommand does.
pub fn writes_refused(shared: &Shared) -> Option<&'static str> {
    let cfg = &shared.config;
    // The atomic first: this runs before every write command.
    if !STATE.last_bgsave_ok.load(Relaxed) && cfg.stop_writes_on_bgsave_error() && !cfg.save().is_empty() {
        Some(MISCONF)
    } else {
        None
    }
}

/// Redis's MISCONF error.
pub const MISCONF: &str = "MISCONF Redis is configured to save RDB snapshots, but it's currently unable to persist to disk. Commands that may modify the data set are disabled, because this instance is configured to report errors during writes if RDB snapshotting fails (stop-writes-on-bgsave-error option). Please check the Redis logs for details about the RDB error.";

/// Stop a running BGSAVE (its temporary file is removed) and wait for it, up to 10 s.
fn cancel_bgsave() {
    if !STATE.bgsave_in_progress.load(Relaxed) {
        return;
    }
    log(true, "There is a child saving an .rdb. Killing it!");
    STATE.cancel.store(true, Relaxed);
    if let Some(s) = CURRENT.lock().as_ref() {
        s.cancel.store(true, Relaxed);
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    while STATE.bgsave_in_progress.load(Relaxed) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// The save a shutdown makes: with `SAVE`, or by default when save points are configured;
/// never with `NOSAVE`. Returns false (after logging) when the save failed and `force` is
/// not set: the shutdown must then be aborted. The caller holds the exclusive gate.
pub fn shutdown_save(shared: &Shared, kind: ShutdownKind, force: bool) -> bool {
    cancel_bgsave();
    aof::flush_at_shutdown();
    let wanted = match kind {
        ShutdownKind::Save => true,
        ShutdownKind::NoSave => false,
        ShutdownKind::Default => !shared.config.save().is_empty(),
    };
    // Never save a dataset still loading over its file (Redis forces NOSAVE then).
    if !wanted || shared.loading.is_active() {
        return true;
    }
    log(false, "Saving the final RDB snapshot before exiting.");
    match save_now(shared) {
        Ok(_) => true,
        Err(_) if force => {
            log(true, "Error trying to save the DB. Exit anyway.");
            true
        }
        Err(_) => {
            log(true, "Error trying to save the DB, can't exit.");
            false
        }
    }
}

/// Called by SHUTDOWN (which runs under the exclusive gate) before it asks the server to
/// stop: saves as [`shutdown_save`]. On success the caller requests the shutdown and then
/// calls [`hold_until_exit`], so no command runs between the final save and the exit.
pub fn before_shutdown(shared: &Shared, kind: ShutdownKind, force: bool) -> bool {
    let ok = shutdown_save(shared, kind, force);
    if ok {
        STATE.shutdown_done.store(true, Relaxed);
    }
    ok
}

/// Block the calling worker forever (it holds the exclusive gate, so no other command
/// runs); the server's main task exits the process.
pub fn hold_until_exit() -> ! {
    loop {
        std::thread::park();
    }
}

/// A SIGTERM / SIGINT shutdown, on the server's main thread: take the exclusive gate, save
/// as [`shutdown_save`] with the default rules, and keep the gate (no command runs again)
/// if the server may exit. Returns false when the save failed: the server keeps running,
/// as Redis does. The gate is taken on a helper thread, so a SHUTDOWN command that holds it
/// until the exit never leaves the caller waiting.
pub fn signal_shutdown(shared: &Shared) -> bool {
    if STATE.shutdown_done.load(Relaxed) {
        return true;
    }
    let Some(arc) = SHARED.get().cloned() else {
        let gate = shared.keyspace.exclusive();
        let ok = shutdown_save(shared, ShutdownKind::Default, false);
        if ok {
            std::mem::forget(gate);
        }
        return ok;
    };
    let (tx, rx) = std::sync::mpsc::channel();
    let spawned = std::thread::Builder::new().name("brim-shutdown".into()).spawn(move || {
        let gate = arc.keyspace.exclusive();
        if STATE.shutdown_done.load(Relaxed) {
            let _ = tx.send(true);
            return;
        }
        let ok = shutdown_save(&arc, ShutdownKind::Default, false);
        if ok {
            STATE.shutdown_done.store(true, Relaxed);
            // Never released: the process exits next.
            std::mem::forget(gate);
        }
        let _ = tx.send(ok);
    });
    if spawned.is_err() {
        return false;
    }
    loop {
        match rx.recv_timeout(Duration::from_millis(50)) {
            Ok(ok) => return ok,
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) if STATE.shutdown_done.load(Relaxed) => {
                return true
            }
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {}
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => return false,
        }
    }
}

/// Load `dir/dbfilename` into the empty keyspace at start-up, logging as Redis does.
/// `Err` (already logged) means the server must not start.
pub fn load_at_startup(shared: &Shared) -> Result<Option<LoadStats>, String> {
    let cfg = &shared.config;
    if cfg.appendonly() {
        STATE.loading.store(true, Relaxed);
        let r = aof::load_at_startup(shared);
        STATE.loading.store(false, Relaxed);
        shared.stats.dirty_at_reset.store(total_changes(shared), Relaxed);
        return r;
    }
    let path = rdb_path(cfg);
    let started = Instant::now();
    STATE.loading.store(true, Relaxed);
    let acc = Access::at(unix_ms()).no_touch();
    let r = file::load(
        &shared.keyspace,
        &path,
        &Limits::from_config(cfg),
        cfg.rdbchecksum(),
        &acc,
        access_load(cfg),
    );
    STATE.loading.store(false, Relaxed);
    shared.stats.dirty_at_reset.store(total_changes(shared), Relaxed);
    match r {
        Ok(None) => Ok(None),
        Ok(Some(stats)) => {
            for (k, v) in &stats.aux {
                match k.as_str() {
                    "redis-ver" => log(false, &format!("Loading RDB produced by version {v}")),
                    "ctime" => {
                        if let Ok(t) = v.parse::<i64>() {
                            log(false, &format!("RDB age {} seconds", (acc.now_ms / 1000 - t).max(0)));
                        }
                    }
                    "used-mem" => {
                        if let Ok(m) = v.parse::<f64>() {
                            log(
                                false,
                                &format!("RDB memory usage when created {:.2} Mb", m / 1024.0 / 1024.0),
                            );
                        }
                    }
                    _ => {}
                }
            }
            if stats.functions_skipped > 0 {
                log(
                    true,
                    &format!(
                        "Skipped {} function libraries in the RDB file: Brim does not support functions",
                        stats.functions_skipped
                    ),
                );
            }
            if stats.empty_skipped > 0 {
                log(false, &format!("Done loading RDB, {} empty keys skipped.", stats.empty_skipped));
            }
            log(
                false,
                &format!(
                    "Done loading RDB, keys loaded: {}, keys expired: {}.",
                    stats.keys_loaded, stats.keys_expired
                ),
            );
            log(false, &format!("DB loaded from disk: {:.3} seconds", started.elapsed().as_secs_f64()));
            STATE.last_load_keys_loaded.store(stats.keys_loaded, Relaxed);
            STATE.last_load_keys_expired.store(stats.keys_expired, Relaxed);
            Ok(Some(stats))
        }
        Err(e) => {
            log(true, &format!("Fatal error loading the DB ({}): {e}. Exiting.", path.display()));
            Err(e.0)
        }
    }
}

/// DEBUG RELOAD: save the RDB file, empty the keyspace and load the file back (the caller
/// holds the exclusive gate). `Err` carries the reply's error text.
pub fn debug_reload(shared: &Shared) -> Result<(), String> {
    if STATE.bgsave_in_progress.load(Relaxed) {
        return Err("ERR Background save already in progress".into());
    }
    save_now(shared).map_err(|_| "ERR Error trying to save the DB".to_string())?;
    for db in shared.keyspace.dbs() {
        db.clear();
    }
    let cfg = &shared.config;
    let acc = Access::at(unix_ms()).no_touch();
    let r = file::load(
        &shared.keyspace,
        &rdb_path(cfg),
        &Limits::from_config(cfg),
        cfg.rdbchecksum(),
        &acc,
        access_load(cfg),
    );
    shared.stats.dirty_at_reset.store(total_changes(shared), Relaxed);
    match r {
        Ok(_) => {
            log(false, "DB reloaded by DEBUG RELOAD");
            Ok(())
        }
        Err(e) => {
            log(true, &format!("Error loading the DB back: {e}"));
            Err("ERR Error trying to load the RDB dump".into())
        }
    }
}

/// Values for INFO persistence.
#[derive(Debug, Clone, Copy)]
pub struct Info {
    /// `loading`.
    pub loading: bool,
    /// `rdb_bgsave_in_progress`.
    pub bgsave_in_progress: bool,
    /// `rdb_last_bgsave_status` is `ok`.
    pub last_bgsave_ok: bool,
    /// `rdb_last_bgsave_time_sec`.
    pub last_bgsave_time_s: i64,
    /// `rdb_current_bgsave_time_sec`.
    pub current_bgsave_time_s: i64,
    /// `rdb_saves`.
    pub saves: u64,
    /// `current_save_keys_processed`.
    pub keys_processed: u64,
    /// `current_save_keys_total`.
    pub keys_total: u64,
    /// `rdb_last_load_keys_loaded`.
    pub last_load_keys_loaded: u64,
    /// `rdb_last_load_keys_expired`.
    pub last_load_keys_expired: u64,
    /// `rdb_last_cow_size`: the last background save's peak extra memory.
    pub last_cow_size: u64,
}

/// The persistence state as INFO reports it.
pub fn info() -> Info {
    let running = STATE.bgsave_in_progress.load(Relaxed);
    Info {
        loading: STATE.loading.load(Relaxed),
        bgsave_in_progress: running,
        last_bgsave_ok: STATE.last_bgsave_ok.load(Relaxed),
        last_bgsave_time_s: STATE.last_bgsave_time_s.load(Relaxed),
        current_bgsave_time_s: if running {
            (unix_ms() - STATE.bgsave_started_ms.load(Relaxed)) / 1000
        } else {
            -1
        },
        saves: STATE.saves.load(Relaxed),
        keys_processed: if running { CURRENT.lock().as_ref().map_or(0, |s| s.keys.load(Relaxed)) } else { 0 },
        keys_total: if running { STATE.keys_total.load(Relaxed) } else { 0 },
        last_load_keys_loaded: STATE.last_load_keys_loaded.load(Relaxed),
        last_load_keys_expired: STATE.last_load_keys_expired.load(Relaxed),
        last_cow_size: STATE.last_cow_size.load(Relaxed),
    }
}

fn dump(ctx: &mut Ctx, args: &[&[u8]]) {
    let key = args[1];
    let opts = value_options(&ctx.shared.config);
    let mut stripe = ctx.db().lock(key);
    let payload = match stripe.get(key, &ctx.acc) {
        Some(e) => brim_persist::dump::create(&e.value(), &opts),
        None => {
            drop(stripe);
            ctx.hit_or_miss(key, false);
            ctx.out.null();
            return;
        }
    };
    drop(stripe);
    ctx.hit_or_miss(key, true);
    match payload {
        Ok(p) => ctx.out.bulk(&p),
        Err(e) => ctx.error(&format!("ERR {e}")),
    }
}

fn restore(ctx: &mut Ctx, args: &[&[u8]]) {
    let (mut replace, mut absttl) = (false, false);
    let (mut idle, mut freq): (Option<i64>, Option<i64>) = (None, None);
    let mut j = 4;
    while j < args.len() {
        let more = args.len() - j - 1;
        let a = args[j];
        if is(a, "replace") {
            replace = true;
        } else if is(a, "absttl") {
            absttl = true;
        } else if is(a, "idletime") && more >= 1 && freq.is_none() {
            let Some(v) = parse_i64(args[j + 1]) else {
                ctx.error(NOT_INTEGER);
                return;
            };
            if v < 0 {
                ctx.error("ERR Invalid IDLETIME value, must be >= 0");
                return;
            }
            idle = Some(v);
            j += 1;
        } else if is(a, "freq") && more >= 1 && idle.is_none() {
            let Some(v) = parse_i64(args[j + 1]) else {
                ctx.error(NOT_INTEGER);
                return;
            };
            if !(0..=255).contains(&v) {
                ctx.error("ERR Invalid FREQ value, must be >= 0 and <= 255");
                return;
            }
            freq = Some(v);
            j += 1;
        } else {
            ctx.error(SYNTAX);
            return;
        }
        j += 1;
    }
    let key = args[1];
    let acc = ctx.acc;
    let cfg = ctx.shared.config.clone();
    let mut stripe = ctx.db().lock(key);
    if !replace && stripe.exists(key, &acc) {
        drop(stripe);
        ctx.error("BUSYKEY Target key name already exists.");
        return;
    }
    let Some(ttl) = parse_i64(args[2]) else {
        drop(stripe);
        ctx.error(NOT_INTEGER);
        return;
    };
    if ttl < 0 {
        drop(stripe);
        ctx.error("ERR Invalid TTL value, must be >= 0");
        return;
    }
    let payload = args[3];
    if !brim_persist::dump::verify(payload) {
        drop(stripe);
        ctx.error("ERR DUMP payload version or checksum are wrong");
        return;
    }
    let value = match brim_persist::dump::parse(payload) {
        Ok(v) if !v.is_empty() => v,
        _ => {
            drop(stripe);
            ctx.error("ERR Bad data format");
            return;
        }
    };
    let lim = Limits::from_config(&cfg);
    let when = if ttl != 0 && !absttl { ttl.saturating_add(acc.now_ms) } else { ttl };
    let expired = when != 0 && when <= acc.now_ms;
    let expire = if when != 0 { SetExpire::At(when) } else { SetExpire::Clear };
    // The closure runs only once the value is built: a malformed one leaves the key as is.
    let deleted = with_new_value(&value, &lim, |nv| {
        let deleted = replace && stripe.remove(key, &acc);
        if !expired {
            stripe.set(key, nv, expire, &acc);
        }
        deleted
    });
    let Ok(deleted) = deleted else {
        drop(stripe);
        ctx.error("ERR Bad data format");
        return;
    };
    if expired {
        drop(stripe);
        let del: &[u8] = if cfg.lazyfree_lazy_server_del() { b"UNLINK" } else { b"DEL" };
        crate::propagate::replace(&[del, key]);
        if deleted {
            notify::keyspace_event(ctx, class::GENERIC, "del", key);
        }
        ctx.out.ok();
        return;
    }
    let mode = access_load(&cfg);
    let data = file::access_data(mode, &acc, idle.map(|v| v as u64), freq.map(|v| v as u8));
    if let Some(data) = data {
        if let Some(mut e) = stripe.get_mut(key, &acc.no_touch()) {
            e.set_access_data(data);
        }
    }
    drop(stripe);
    if ttl != 0 && !absttl {
        // Logged with the absolute time, as Redis does.
        let abs = when.to_string();
        let mut logged: Vec<&[u8]> = args.to_vec();
        logged[2] = abs.as_bytes();
        logged.push(b"ABSTTL");
        crate::propagate::replace(&logged);
    }
    notify::keyspace_event(ctx, class::GENERIC, "restore", key);
    notify::key_ready(ctx, key);
    ctx.out.ok();
}

/// MIGRATE host port key|"" destination-db timeout [COPY] [REPLACE] [AUTH password |
/// AUTH2 username password] [KEYS key ...]: DUMP each key, RESTORE it on the target (another
/// Brim or a Redis), and delete it here unless COPY, as Redis's migrateCommand. The
/// connection is not cached: each call connects (and SELECTs) afresh.
fn migrate(ctx: &mut Ctx, args: &[&[u8]]) {
    let (mut copy, mut replace) = (false, false);
    let (mut user, mut pass): (Option<&[u8]>, Option<&[u8]>) = (None, None);
    let mut keys: Vec<&[u8]> = vec![args[3]];
    let mut j = 6;
    while j < args.len() {
        let more = args.len() - 1 - j;
        let a = args[j];
        if is(a, "copy") {
            copy = true;
        } else if is(a, "replace") {
            replace = true;
        } else if is(a, "auth") && more >= 1 {
            pass = Some(args[j + 1]);
            j += 1;
        } else if is(a, "auth2") && more >= 2 {
            user = Some(args[j + 1]);
            pass = Some(args[j + 2]);
            j += 2;
        } else if is(a, "keys") {
            if !args[3].is_empty() {
                ctx.error(
                    "ERR When using MIGRATE KEYS option, the key argument must be set to the empty string",
                );
                return;
            }
            keys = args[j + 1..].to_vec();
            break;
        } else {
            ctx.error(SYNTAX);
            return;
        }
        j += 1;
    }
    let (Some(timeout), Some(dbid)) = (parse_i64(args[5]), parse_i64(args[4])) else {
        ctx.error(NOT_INTEGER);
        return;
    };
    let timeout = if timeout <= 0 { 1000 } else { timeout };
    // Serialize the keys that exist (expired ones are skipped).
    let opts = value_options(&ctx.shared.config);
    let acc = ctx.acc;
    let mut found: Vec<(&[u8], Vec<u8>, i64)> = Vec::new();
    for &k in &keys {
        let mut stripe = ctx.db().lock(k);
        let Some(e) = stripe.get(k, &acc) else { continue };
        let ttl = match e.expire_at() {
            Some(w) => (w - acc.now_ms).max(1),
            None => 0,
        };
        match brim_persist::dump::create(&e.value(), &opts) {
            Ok(p) => found.push((k, p, ttl)),
            Err(err) => {
                drop(stripe);
                ctx.error(&format!("ERR {err}"));
                return;
            }
        }
    }
    if found.is_empty() {
        ctx.out.simple("NOKEY");
        return;
    }
    let mut req = Vec::new();
    let mut push_cmd = |parts: &[&[u8]]| {
        req.extend_from_slice(format!("*{}\r\n", parts.len()).as_bytes());
        for p in parts {
            req.extend_from_slice(format!("${}\r\n", p.len()).as_bytes());
            req.extend_from_slice(p);
            req.extend_from_slice(b"\r\n");
        }
    };
    if let Some(p) = pass {
        match user {
            Some(u) => push_cmd(&[b"AUTH", u, p]),
            None => push_cmd(&[b"AUTH", p]),
        }
    }
    let db = dbid.to_string();
    push_cmd(&[b"SELECT", db.as_bytes()]);
    for (k, payload, ttl) in &found {
        let ttl = ttl.to_string();
        if replace {
            push_cmd(&[b"RESTORE", k, ttl.as_bytes(), payload, b"REPLACE"]);
        } else {
            push_cmd(&[b"RESTORE", k, ttl.as_bytes(), payload]);
        }
    }
    let host = String::from_utf8_lossy(args[1]).into_owned();
    let port = String::from_utf8_lossy(args[2]).into_owned();
    let replies = match migrate_exchange(&host, &port, &req, pass.is_some(), found.len(), timeout as u64) {
        Ok(r) => r,
        Err(MigrateError::Connect) => {
            ctx.error("IOERR error or timeout connecting to the client");
            return;
        }
        Err(MigrateError::Write) => {
            ctx.error("IOERR error or timeout writing to target instance");
            return;
        }
        Err(MigrateError::Read) => {
            ctx.error("IOERR error or timeout reading to target instance");
            return;
        }
    };
    // replies: [auth], select, one per key.
    let head = 1 + pass.is_some() as usize;
    let pre_err = replies[..head].iter().find(|l| l.starts_with(b"-"));
    let mut error: Option<String> = None;
    let mut deleted: Vec<&[u8]> = vec![b"DEL"];
    for (i, (k, _, _)) in found.iter().enumerate() {
        let line = &replies[head + i];
        let err_line = pre_err.or(if line.starts_with(b"-") { Some(line) } else { None });
        if let Some(l) = err_line {
            if error.is_none() {
                error = Some(String::from_utf8_lossy(&l[1..]).into_owned());
            }
        } else if !copy {
            let removed = ctx.db().lock(k).remove(k, &acc);
            if removed {
                notify::keyspace_event(ctx, class::GENERIC, "del", k);
                deleted.push(k);
            }
        }
    }
    // Logged as the DEL of the keys moved away (Redis: "Translate MIGRATE as DEL").
    crate::propagate::replace(&deleted);
    match error {
        Some(e) => ctx.error(&format!("ERR Target instance replied with error: {e}")),
        None => ctx.out.ok(),
    }
}

enum MigrateError {
    Connect,
    Write,
    Read,
}

/// Send `req` to `host:port` and read `keys` reply lines (plus AUTH's and SELECT's).
fn migrate_exchange(
    host: &str,
    port: &str,
    req: &[u8],
    auth: bool,
    keys: usize,
    timeout_ms: u64,
) -> Result<Vec<Vec<u8>>, MigrateError> {
    use std::io::{BufRead, BufReader, Write};
    use std::net::{TcpStream, ToSocketAddrs};
    let t = Duration::from_millis(timeout_ms);
    let addr = format!("{host}:{port}");
    let target = addr.to_socket_addrs().ok().and_then(|mut a| a.next()).ok_or(MigrateError::Connect)?;
    // Redis connects without blocking and learns of a refused connection when it writes.
    let mut s = TcpStream::connect_timeout(&target, t).map_err(|e| match e.kind() {
        std::io::ErrorKind::ConnectionRefused => MigrateError::Write,
        _ => MigrateError::Connect,
    })?;
    let _ = s.set_read_timeout(Some(t));
    let _ = s.set_write_timeout(Some(t));
    let _ = s.set_nodelay(true);
    s.write_all(req).map_err(|_| MigrateError::Write)?;
    let mut r = BufReader::new(s);
    let n = keys + 1 + auth as usize;
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let mut line = Vec::new();
        match r.read_until(b'\n', &mut line) {
            Ok(0) | Err(_) => return Err(MigrateError::Read),
            Ok(_) => {
                while line.last().is_some_and(|c| *c == b'\n' || *c == b'\r') {
                    line.pop();
                }
                out.push(line);
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn save_and_debug_reload_round_trip() {
        let dir = std::env::temp_dir().join(format!("brim-reload-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let text = format!("dir {}\ndbfilename r.rdb\nsave \"\"", dir.display());
        let cfg = Arc::new(Config::from_str_config(&text).expect("config"));
        let shared = Shared::new(cfg, String::new());
        let acc = Access::at(unix_ms());
        for i in 0..100 {
            let k = format!("k{i}");
            shared.keyspace.db(i % 3).lock(k.as_bytes()).set(
                k.as_bytes(),
                brim_engine::NewValue::Str(b"v"),
                SetExpire::Clear,
                &acc,
            );
        }
        assert!(crate::server::changes_since_save(&shared) > 0);
        debug_reload(&shared).expect("reload");
        assert_eq!(crate::server::changes_since_save(&shared), 0);
        let n: usize = shared.keyspace.dbs().iter().map(|d| d.len()).sum();
        assert_eq!(n, 100);
        assert!(shared.keyspace.db(1).lock(b"k1").get(b"k1", &acc).is_some());
        assert!(writes_refused(&shared).is_none());
        let cfg = Config::from_str_config("save 60 1").expect("config");
        let with_points = Shared::new(Arc::new(cfg), String::new());
        assert!(writes_refused(&with_points).is_none());
        STATE.last_bgsave_ok.store(false, Relaxed);
        assert_eq!(writes_refused(&with_points), Some(MISCONF));
        assert!(writes_refused(&shared).is_none(), "no save points: writes go on");
        STATE.last_bgsave_ok.store(true, Relaxed);
        std::fs::remove_dir_all(&dir).expect("cleanup");
    }

    #[test]
    fn value_options_follow_the_policy() {
        let cfg =
            Config::from_str_config("maxmemory-policy allkeys-lfu\nlfu-decay-time 3\nrdbcompression no")
                .expect("config");
        let o = value_options(&cfg);
        assert_eq!(o.access, AccessInfo::Freq { decay_minutes: 3 });
        assert!(!o.compress);
        let cfg = Config::from_str_config("maxmemory-policy volatile-lru").expect("config");
        assert_eq!(value_options(&cfg).access, AccessInfo::Idle);
        let cfg = Config::from_str_config("").expect("config");
        assert_eq!(value_options(&cfg).access, AccessInfo::None);
        assert!(value_options(&cfg).compress);
    }
}
