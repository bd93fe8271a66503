//! The append-only file (Redis 7.0's multi-part AOF): opening it at start-up, logging the
//! commands `crate::propagate` hands over, `appendfsync`, BGREWRITEAOF, CONFIG SET
//! appendonly, loading at start-up and the `aof_*` fields of INFO persistence.
//!
//! Logged commands are encoded into one in-memory buffer ([`feed`], called under the
//! propagation ordering lock). Before a connection sends its replies ([`before_reply`]) the
//! buffer is written to the current incremental file and, with `appendfsync always`,
//! fsynced by a sync thread that serves every connection waiting at that moment (group
//! commit): no reply leaves before what it acknowledges is on disk. With `everysec` a
//! background thread fsyncs once a second; with `no` the OS decides. Keys deleted behind
//! commands' backs, the ordering lock and the logged forms are `crate::propagate`'s.
//!
//! Start-up with `appendonly yes` and no manifest creates base 1 and incremental file 1
//! (an old single `appendonly.aof` in `dir` is moved in as the base, as Redis 7.0 does).
//! An automatic rewrite starts when the AOF grew by `auto-aof-rewrite-percentage`.
//!
//! BGREWRITEAOF (under the exclusive gate): the buffer goes to the current file, a new
//! incremental file is opened for what comes next and listed in the manifest, and a new
//! base is written from a point-in-time snapshot (the BGSAVE machinery,
//! [`brim_persist::snapshot`]) while clients keep running. When it is complete the manifest
//! lists the new base and the new incremental file only, and the old files are deleted.
//! A base is RDB (`<appendfilename>.<seq>.base.rdb`) with `aof-use-rdb-preamble yes`, else
//! commands (`.base.aof`, [`brim_persist::aof_commands`]).
//!
//! Loading replays each file's commands through the command table with a client of its
//! own, nothing logged; `MULTI` … `EXEC` blocks run whole; a truncated tail of the last
//! file is cut off with `aof-load-truncated yes` and refused otherwise.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant};

use brim_config::AppendFsync;
use brim_engine::Access;
use brim_persist::aof::{self as fmt, AofFile, FileKind, Manifest, ReadError};
use brim_persist::file::{self, LoadStats};
use brim_persist::snapshot::Snapshot;
use brim_persist::values::Limits;
use brim_resp::Reply;
use parking_lot::Mutex;

use super::{log, SHARED, STATE as RDB};
use crate::args::is;
use crate::client::{Client, ClientHandle};
use crate::ctx::Ctx;
use crate::propagate::{self, Op};
use crate::shared::{unix_ms, Shared};
use crate::stats::WorkerStats;

/// The AOF's state for INFO and the commands.
struct Stats {
    rewriting: AtomicBool,
    scheduled: AtomicBool,
    rewrite_started_ms: AtomicI64,
    last_rewrite_time_s: AtomicI64,
    last_rewrite_ok: AtomicBool,
    rewrites: AtomicU64,
    failures: AtomicU64,
    last_write_ok: AtomicBool,
    current_size: AtomicU64,
    base_size: AtomicU64,
    buffer_len: AtomicU64,
    buffer_cap: AtomicU64,
    /// The AOF's size after the last rewrite (or at start-up): automatic rewrites measure
    /// growth from it.
    rewrite_base_size: AtomicU64,
    /// When a rewrite was last attempted (unix ms).
    last_try_ms: AtomicI64,
}

static STATS: Stats = Stats {
    rewriting: AtomicBool::new(false),
    scheduled: AtomicBool::new(false),
    rewrite_started_ms: AtomicI64::new(0),
    last_rewrite_time_s: AtomicI64::new(-1),
    last_rewrite_ok: AtomicBool::new(true),
    rewrites: AtomicU64::new(0),
    failures: AtomicU64::new(0),
    last_write_ok: AtomicBool::new(true),
    current_size: AtomicU64::new(0),
    base_size: AtomicU64::new(0),
    buffer_len: AtomicU64::new(0),
    buffer_cap: AtomicU64::new(0),
    rewrite_base_size: AtomicU64::new(0),
    last_try_ms: AtomicI64::new(0),
};

/// Seconds between automatic rewrite attempts after a failed one.
const REWRITE_RETRY_DELAY_MS: i64 = 5000;

/// Bytes fed to the buffer, written to the file and fsynced, since start-up.
static APPENDED: AtomicU64 = AtomicU64::new(0);
static WRITTEN: AtomicU64 = AtomicU64::new(0);
static SYNCED: AtomicU64 = AtomicU64::new(0);

/// Commands encoded but not written yet.
struct Buf {
    data: Vec<u8>,
    /// The database the file's last command ran in (`None`: emit SELECT first).
    db: Option<usize>,
    /// The last `#TS:` annotation written (unix s).
    last_ts: i64,
}

static BUF: Mutex<Buf> = Mutex::new(Buf { data: Vec::new(), db: None, last_ts: 0 });

/// The open AOF: its directory, manifest and current incremental file.
struct Files {
    dir: PathBuf,
    manifest: Manifest,
    file: File,
    /// Spare buffer swapped with [`BUF`]'s on each write.
    spare: Vec<u8>,
}

/// Lock order: `FILES`, then `BUF`.
static FILES: Mutex<Option<Files>> = Mutex::new(None);

/// The everysec thread runs.
static FSYNC_THREAD: AtomicBool = AtomicBool::new(false);

/// The AOF directory: `dir/appenddirname`.
pub fn aof_dir(shared: &Shared) -> PathBuf {
    shared.config.dir().join(shared.config.appenddirname())
}

/// Encode `ops` (logged under the ordering lock) into the buffer: inside `MULTI` … `EXEC`
/// when there is more than one, `SELECT` where the database changes, a `#TS:` annotation
/// each new second with `aof-timestamp-enabled`.
pub fn feed(shared: &Shared, ops: &[Op]) {
    let mut b = BUF.lock();
    let before = b.data.len();
    if shared.config.aof_timestamp_enabled() {
        let now = unix_ms() / 1000;
        if now != b.last_ts {
            b.last_ts = now;
            b.data.extend_from_slice(format!("#TS:{now}\r\n").as_bytes());
        }
    }
    let wrap = ops.len() > 1;
    if wrap {
        fmt::encode_command(&mut b.data, &["MULTI"]);
    }
    for (db, argv) in ops {
        if b.db != Some(*db) {
            b.db = Some(*db);
            fmt::encode_command(&mut b.data, &[&b"SELECT"[..], db.to_string().as_bytes()]);
        }
        fmt::encode_command(&mut b.data, argv);
    }
    if wrap {
        fmt::encode_command(&mut b.data, &["EXEC"]);
    }
    APPENDED.fetch_add((b.data.len() - before) as u64, Relaxed);
    STATS.buffer_len.store(b.data.len() as u64, Relaxed);
    STATS.buffer_cap.store(b.data.capacity() as u64, Relaxed);
}

fn fsync_always(shared: &Shared) -> bool {
    shared.config.appendfsync() == AppendFsync::Always
}

/// Before a connection sends replies: write what was logged to the file, and with
/// `appendfsync always` wait until it is fsynced, so that no write is acknowledged before
/// it is on disk. The fsyncs run on a thread of their own, one for everything logged
/// meanwhile (group commit): the connection's worker serves other clients while it waits.
/// One relaxed load or two when there is nothing to do.
pub async fn before_reply() {
    let appended = APPENDED.load(Relaxed);
    if appended == SYNCED.load(Relaxed) {
        return;
    }
    let Some(shared) = SHARED.get() else { return };
    if !fsync_always(shared) {
        if appended != WRITTEN.load(Relaxed) {
            write_out(false);
        }
        return;
    }
    if !start_sync_thread() {
        write_out(true);
        return;
    }
    loop {
        let notified = SYNCED_NOTIFY.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        if SYNCED.load(Relaxed) >= appended {
            return;
        }
        request_sync();
        notified.await;
    }
}

/// A write + fsync is wanted from the sync thread.
static SYNC_WANTED: Mutex<bool> = Mutex::new(false);
static SYNC_COND: parking_lot::Condvar = parking_lot::Condvar::new();
/// Woken each time the sync thread has fsynced.
static SYNCED_NOTIFY: tokio::sync::Notify = tokio::sync::Notify::const_new();
/// The sync thread runs.
static SYNC_THREAD: AtomicBool = AtomicBool::new(false);

fn request_sync() {
    *SYNC_WANTED.lock() = true;
    SYNC_COND.notify_one();
}

/// Start the `appendfsync always` sync thread if needed; false if it can't run.
fn start_sync_thread() -> bool {
    if SYNC_THREAD.load(Relaxed) || SYNC_THREAD.swap(true, Relaxed) {
        return true;
    }
    let spawned = std::thread::Builder::new().name("brim-aof-sync".into()).spawn(|| loop {
        {
            let mut wanted = SYNC_WANTED.lock();
            while !*wanted {
                SYNC_COND.wait(&mut wanted);
            }
            *wanted = false;
        }
        write_out(true);
        SYNCED_NOTIFY.notify_waiters();
    });
    if spawned.is_err() {
        SYNC_THREAD.store(false, Relaxed);
        return false;
    }
    true
}

/// Write the buffer to the current file (and fsync it when `sync`).
fn write_out(sync: bool) {
    let mut files = FILES.lock();
    let Some(f) = files.as_mut() else {
        discard_buffer();
        return;
    };
    let upto = {
        let mut b = BUF.lock();
        std::mem::swap(&mut b.data, &mut f.spare);
        STATS.buffer_len.store(0, Relaxed);
        APPENDED.load(Relaxed)
    };
    if !f.spare.is_empty() {
        let ok = f.file.write_all(&f.spare).is_ok();
        note_write(ok);
        STATS.current_size.fetch_add(f.spare.len() as u64, Relaxed);
        f.spare.clear();
        if f.spare.capacity() > 1 << 20 {
            f.spare = Vec::new();
        }
    }
    WRITTEN.store(upto, Relaxed);
    if sync && SYNCED.load(Relaxed) < upto {
        note_write(f.file.sync_data().is_ok());
        SYNCED.fetch_max(upto, Relaxed);
    }
}

fn note_write(ok: bool) {
    if STATS.last_write_ok.swap(ok, Relaxed) != ok {
        if ok {
            log(true, "AOF write error looks solved, Redis can write again.");
        } else {
            log(true, "Error writing to the AOF file");
        }
    }
}

/// The AOF is closed: what was logged has nowhere to go.
fn discard_buffer() {
    let mut b = BUF.lock();
    b.data = Vec::new();
    b.db = None;
    let a = APPENDED.load(Relaxed);
    WRITTEN.store(a, Relaxed);
    SYNCED.store(a, Relaxed);
    STATS.buffer_len.store(0, Relaxed);
    STATS.buffer_cap.store(0, Relaxed);
}

/// `appendfsync everysec`: fsync once a second, off the workers (the fsync runs on a
/// duplicate of the file's descriptor, so writes go on meanwhile).
fn start_fsync_thread() {
    if FSYNC_THREAD.swap(true, Relaxed) {
        return;
    }
    let spawned = std::thread::Builder::new().name("brim-aof-fsync".into()).spawn(|| loop {
        std::thread::sleep(Duration::from_secs(1));
        let Some(shared) = SHARED.get() else { continue };
        if shared.config.appendfsync() != AppendFsync::Everysec || !propagate::is_on() {
            continue;
        }
        if APPENDED.load(Relaxed) != WRITTEN.load(Relaxed) {
            write_out(false);
        }
        let upto = WRITTEN.load(Relaxed);
        if SYNCED.load(Relaxed) >= upto {
            continue;
        }
        let dup = FILES.lock().as_ref().and_then(|f| f.file.try_clone().ok());
        if let Some(d) = dup {
            note_write(d.sync_data().is_ok());
            SYNCED.fetch_max(upto, Relaxed);
        }
    });
    if spawned.is_err() {
        FSYNC_THREAD.store(false, Relaxed);
    }
}

fn io_err(what: &str, e: std::io::Error) -> String {
    format!("{what}: {e}")
}

fn open_append(path: &std::path::Path) -> Result<File, String> {
    OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|e| io_err(&format!("Can't open the append-only file {}", path.display()), e))
}

fn file_size(dir: &std::path::Path, f: &AofFile) -> u64 {
    std::fs::metadata(dir.join(&f.name)).map_or(0, |m| m.len())
}

fn persist_manifest(shared: &Shared, dir: &std::path::Path, m: &Manifest) -> Result<(), String> {
    fmt::write_atomically(dir, &fmt::manifest_name(&shared.config.appendfilename()), m.render().as_bytes())
        .map_err(|e| io_err("Can't persist the AOF manifest", e))
}

/// Install `files` as the open AOF and start logging.
fn install(files: Files) {
    let sizes: u64 = files.manifest.files().map(|f| file_size(&files.dir, f)).sum();
    STATS.current_size.store(sizes, Relaxed);
    if STATS.rewrite_base_size.load(Relaxed) == 0 {
        STATS.rewrite_base_size.store(sizes, Relaxed);
    }
    STATS.base_size.store(files.manifest.base.as_ref().map_or(0, |b| file_size(&files.dir, b)), Relaxed);
    *FILES.lock() = Some(files);
    BUF.lock().db = None;
    propagate::set_on(true);
    start_fsync_thread();
}

/// How a base is written: RDB with `aof-use-rdb-preamble yes`, else commands.
fn base_save_options(shared: &Shared) -> file::SaveOptions {
    let mut opts = super::save_options(&shared.config);
    opts.aof_base = true;
    opts.commands = !shared.config.aof_use_rdb_preamble();
    opts
}

/// Write a base of the current dataset into `dir` as `name` (on the calling thread).
fn write_base_now(shared: &Shared, dir: &std::path::Path, name: &str) -> Result<(), String> {
    let opts = base_save_options(shared);
    let acc = Access::at(unix_ms()).no_touch();
    file::save(&shared.keyspace, dir, name, "aof-", &opts, &acc, None).map(|_| ()).map_err(|e| e.0)
}

/// Open the AOF for logging at start-up, after loading (`appendonly yes`): continue the
/// manifest's last incremental file, or create base 1 (of the current dataset) and
/// incremental file 1 when there is no manifest yet, as Redis 7.0 does.
pub fn open_at_boot(shared: &Shared) -> Result<(), String> {
    let dir = aof_dir(shared);
    std::fs::create_dir_all(&dir).map_err(|e| io_err("Can't create the AOF directory", e))?;
    let name = shared.config.appendfilename();
    let mpath = dir.join(fmt::manifest_name(&name));
    let mut manifest = match std::fs::read(&mpath) {
        Ok(text) => Manifest::parse(&text)?,
        Err(_) => Manifest::default(),
    };
    if manifest.base.is_none() && manifest.incrs.is_empty() && old_style_path(shared).exists() {
        // Upgrade, as Redis 7.0 does: the old file becomes the base of the directory.
        std::fs::rename(old_style_path(shared), dir.join(&name))
            .map_err(|e| io_err("Can't move the old-style AOF into the AOF directory", e))?;
        manifest.base = Some(AofFile { name: name.clone(), seq: 1, kind: FileKind::Base });
        log(false, "Successfully migrated an old-style AOF into the AOF directory");
    }
    if manifest.base.is_none() && manifest.incrs.is_empty() {
        let base = fmt::base_name(&name, 1, shared.config.aof_use_rdb_preamble());
        write_base_now(shared, &dir, &base)?;
        log(false, &format!("Creating AOF base file {base} on server start"));
        manifest.base = Some(AofFile { name: base, seq: 1, kind: FileKind::Base });
    }
    if manifest.incrs.is_empty() {
        let seq = manifest.last_incr_seq() + 1;
        let incr = fmt::incr_name(&name, seq);
        log(false, &format!("Creating AOF incr file {incr} on server start"));
        manifest.incrs.push(AofFile { name: incr, seq, kind: FileKind::Incr });
        persist_manifest(shared, &dir, &manifest)?;
    }
    let last = manifest.incrs.last().map(|f| f.name.clone()).unwrap_or_default();
    let file = open_append(&dir.join(&last))?;
    install(Files { dir, manifest, file, spare: Vec::new() });
    Ok(())
}

/// Before the server exits: write and fsync what was logged (Redis's flushAppendOnlyFile
/// with force, then fsync).
pub fn flush_at_shutdown() {
    if propagate::is_on() {
        let _order = propagate::order();
        write_out(true);
    }
}

/// Stop logging and close the file (CONFIG SET appendonly no), after writing and fsyncing
/// what was logged.
pub fn stop() {
    let _order = propagate::order();
    write_out(true);
    propagate::set_on(false);
    *FILES.lock() = None;
    discard_buffer();
}

// ---------------------------------------------------------------------------------------
// BGREWRITEAOF
// ---------------------------------------------------------------------------------------

/// BGREWRITEAOF.
pub fn bgrewriteaof(ctx: &mut Ctx, _args: &[&[u8]]) {
    if STATS.rewriting.load(Relaxed) {
        ctx.error("ERR Background append only file rewriting already in progress");
        return;
    }
    if RDB.bgsave_in_progress.load(Relaxed) || ctx.client.in_exec {
        STATS.scheduled.store(true, Relaxed);
        ctx.out.simple("Background append only file rewriting scheduled");
        return;
    }
    match start_rewrite(ctx.shared) {
        Ok(()) => ctx.out.simple("Background append only file rewriting started"),
        Err(e) => {
            log(true, &e);
            ctx.error("ERR Can't execute an AOF background rewriting. Please check the server logs for more information.");
        }
    }
}

/// A rewrite runs (BGSAVE must wait).
pub fn rewrite_in_progress() -> bool {
    STATS.rewriting.load(Relaxed)
}

/// From the persistence cron: start a scheduled rewrite when no BGSAVE runs, or an
/// automatic one when the AOF grew by `auto-aof-rewrite-percentage` since the last rewrite
/// and is over `auto-aof-rewrite-min-size` (Redis's serverCron rules).
pub fn cron(shared: &Shared) {
    if STATS.rewriting.load(Relaxed) || RDB.bgsave_in_progress.load(Relaxed) {
        return;
    }
    let retry_ok = STATS.last_rewrite_ok.load(Relaxed)
        || unix_ms() - STATS.last_try_ms.load(Relaxed) > REWRITE_RETRY_DELAY_MS;
    if STATS.scheduled.load(Relaxed) && retry_ok {
        start_rewrite_async();
    } else if propagate::is_on() && retry_ok {
        if let Some(growth) = auto_rewrite_growth(shared) {
            log(false, &format!("Starting automatic rewriting of AOF on {growth}% growth"));
            start_rewrite_async();
        }
    }
}

/// The growth (percent) that calls for an automatic rewrite now, if any.
fn auto_rewrite_growth(shared: &Shared) -> Option<u64> {
    let perc = shared.config.auto_aof_rewrite_percentage() as u64;
    let size = STATS.current_size.load(Relaxed);
    if perc == 0 || size <= shared.config.auto_aof_rewrite_min_size() {
        return None;
    }
    let base = STATS.rewrite_base_size.load(Relaxed).max(1);
    let growth = (size * 100 / base).saturating_sub(100);
    (growth >= perc).then_some(growth)
}

/// Start a rewrite from a helper thread that takes the exclusive gate (CONFIG SET
/// appendonly yes, a scheduled rewrite).
pub fn start_rewrite_async() {
    let Some(arc) = SHARED.get().cloned() else { return };
    let _ = std::thread::Builder::new().name("brim-aofrw-start".into()).spawn(move || {
        let gate = arc.keyspace.exclusive();
        if !STATS.rewriting.load(Relaxed) && !RDB.bgsave_in_progress.load(Relaxed) {
            if let Err(e) = start_rewrite(&arc) {
                log(true, &e);
            }
        }
        drop(gate);
    });
}

/// CONFIG SET appendonly: start logging (through a rewrite that writes the first base) or
/// stop.
pub fn config_changed(shared: &Shared) {
    let want = shared.config.appendonly();
    if want && !propagate::is_on() {
        if STATS.rewriting.load(Relaxed) || RDB.bgsave_in_progress.load(Relaxed) {
            STATS.scheduled.store(true, Relaxed);
        } else {
            start_rewrite_async();
        }
    } else if !want && propagate::is_on() {
        stop();
    }
}

/// Switch to a new incremental file and start writing a new base from a point-in-time
/// snapshot. The caller holds the exclusive gate.
pub fn start_rewrite(shared: &Shared) -> Result<(), String> {
    let Some(arc) = SHARED.get().cloned() else { return Err("AOF rewriting is not available".into()) };
    if STATS.rewriting.swap(true, Relaxed) {
        return Err("Background append only file rewriting already in progress".into());
    }
    STATS.scheduled.store(false, Relaxed);
    STATS.last_try_ms.store(unix_ms(), Relaxed);
    let r = switch_and_snapshot(shared);
    match r {
        Ok((snap, switch_seq, base)) => {
            STATS.rewrite_started_ms.store(unix_ms(), Relaxed);
            log(false, "Background append only file rewriting started");
            let spawned = std::thread::Builder::new()
                .name("brim-aofrw".into())
                .spawn(move || finish_rewrite(&arc, snap, switch_seq, base));
            spawned.map(|_| ()).map_err(|e| {
                STATS.rewriting.store(false, Relaxed);
                format!("Can't rewrite the AOF in background: {e}")
            })
        }
        Err(e) => {
            STATS.rewriting.store(false, Relaxed);
            STATS.last_rewrite_ok.store(false, Relaxed);
            STATS.failures.fetch_add(1, Relaxed);
            Err(e)
        }
    }
}

/// Under the ordering lock: flush the buffer, open incremental file `last + 1` for what
/// comes next (listed in the manifest at once; not with `appendonly no`, where the rewrite
/// only writes a base), and arm the snapshot of the new base. Returns the snapshot, the
/// first incremental file the new base does not cover, and the base.
fn switch_and_snapshot(shared: &Shared) -> Result<(Arc<Snapshot>, u64, AofFile), String> {
    let _order = propagate::order();
    write_out(true);
    let dir = aof_dir(shared);
    std::fs::create_dir_all(&dir).map_err(|e| io_err("Can't create the AOF directory", e))?;
    let name = shared.config.appendfilename();
    let mut manifest = current_manifest(shared);
    let on = propagate::is_on() || shared.config.appendonly();
    let seq = manifest.last_incr_seq() + 1;
    let file = if on {
        let incr = AofFile { name: fmt::incr_name(&name, seq), seq, kind: FileKind::Incr };
        let file = open_append(&dir.join(&incr.name))?;
        manifest.incrs.push(incr);
        persist_manifest(shared, &dir, &manifest)?;
        Some(file)
    } else {
        None
    };
    let base_seq = manifest.base.as_ref().map_or(0, |b| b.seq) + 1;
    let opts = base_save_options(shared);
    let rdb = !opts.commands;
    let base = AofFile { name: fmt::base_name(&name, base_seq, rdb), seq: base_seq, kind: FileKind::Base };
    let snap = Snapshot::start(&shared.keyspace, &dir, &base.name, opts, Access::at(unix_ms()).no_touch())
        .map_err(|e| e.0)?;
    if let Some(file) = file {
        install(Files { dir, manifest, file, spare: Vec::new() });
    }
    Ok((snap, seq, base))
}

/// The open AOF's manifest, else the one on disk (else an empty one).
fn current_manifest(shared: &Shared) -> Manifest {
    match FILES.lock().as_ref() {
        Some(f) => f.manifest.clone(),
        None => manifest_on_disk(shared),
    }
}

/// The manifest on disk (an empty one if there is none).
fn manifest_on_disk(shared: &Shared) -> Manifest {
    let path = aof_dir(shared).join(fmt::manifest_name(&shared.config.appendfilename()));
    std::fs::read(path).ok().and_then(|t| Manifest::parse(&t).ok()).unwrap_or_default()
}

/// The rewrite's thread: write the base, then make the manifest list it and the
/// incremental files from `switch_seq` on, and delete the files it replaces.
fn finish_rewrite(shared: &Shared, snap: Arc<Snapshot>, switch_seq: u64, base: AofFile) {
    let started = Instant::now();
    let r = snap.run(&shared.keyspace).map_err(|e| e.0).and_then(|_| adopt_base(shared, base, switch_seq));
    STATS.last_rewrite_time_s.store(started.elapsed().as_secs() as i64, Relaxed);
    match r {
        Ok(()) => {
            log(false, "Background AOF rewrite terminated with success");
            log(false, "Background AOF rewrite finished successfully");
            STATS.last_rewrite_ok.store(true, Relaxed);
            STATS.rewrites.fetch_add(1, Relaxed);
            STATS.failures.store(0, Relaxed);
        }
        Err(e) => {
            log(true, &format!("Background AOF rewrite failed: {e}"));
            STATS.last_rewrite_ok.store(false, Relaxed);
            STATS.failures.fetch_add(1, Relaxed);
        }
    }
    STATS.rewriting.store(false, Relaxed);
}

fn adopt_base(shared: &Shared, base: AofFile, switch_seq: u64) -> Result<(), String> {
    let mut files = FILES.lock();
    let dir = aof_dir(shared);
    let mut next = match files.as_ref() {
        Some(f) => f.manifest.clone(),
        None => manifest_on_disk(shared),
    };
    let old: Vec<AofFile> = next
        .base
        .take()
        .into_iter()
        .chain(next.history.drain(..))
        .chain(next.incrs.iter().filter(|i| i.seq < switch_seq).cloned())
        .collect();
    next.incrs.retain(|i| i.seq >= switch_seq);
    next.base = Some(base);
    persist_manifest(shared, &dir, &next)?;
    for o in &old {
        if next.files().all(|n| n.name != o.name) {
            let _ = std::fs::remove_file(dir.join(&o.name));
        }
    }
    let sizes: u64 = next.files().map(|x| file_size(&dir, x)).sum();
    STATS.current_size.store(sizes, Relaxed);
    STATS.rewrite_base_size.store(sizes, Relaxed);
    STATS.base_size.store(next.base.as_ref().map_or(0, |b| file_size(&dir, b)), Relaxed);
    if let Some(f) = files.as_mut() {
        f.manifest = next;
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Loading
// ---------------------------------------------------------------------------------------

/// The AOF's part of start-up with `appendonly yes`: load the files the manifest lists
/// (`Ok(None)`: there is no AOF), then open the AOF for logging. `Err` (already logged):
/// the server must not start.
pub fn load_at_startup(shared: &Shared) -> Result<Option<LoadStats>, String> {
    let r = load(shared);
    if let Err(e) = &r {
        log(true, e);
        return r;
    }
    if let Err(e) = open_at_boot(shared) {
        log(true, &e);
        return Err(e);
    }
    r
}

fn load(shared: &Shared) -> Result<Option<LoadStats>, String> {
    let dir = aof_dir(shared);
    let name = shared.config.appendfilename();
    let mpath = dir.join(fmt::manifest_name(&name));
    let files: Vec<(PathBuf, String)> = match std::fs::read(&mpath) {
        Ok(text) => {
            let m = Manifest::parse(&text).map_err(|e| format!("{e} in {}", mpath.display()))?;
            m.base.iter().chain(m.incrs.iter()).map(|f| (dir.join(&f.name), f.name.clone())).collect()
        }
        // Redis before 7.0: one file in `dir` (upgraded by [`open_at_boot`]).
        Err(_) if old_style_path(shared).exists() => vec![(old_style_path(shared), name)],
        Err(_) => return Ok(None),
    };
    let started = Instant::now();
    let total: u64 = files.iter().map(|(p, _)| std::fs::metadata(p).map_or(0, |m| m.len())).sum();
    shared.loading.progress.total_bytes.fetch_add(total, Relaxed);
    let mut loader = Loader::new(shared);
    for (i, (path, name)) in files.iter().enumerate() {
        loader.load_file(path, name, i + 1 == files.len())?;
    }
    let keys: u64 = shared.keyspace.dbs().iter().map(|d| d.len() as u64).sum();
    log(false, &format!("DB loaded from append only file: {:.3} seconds", started.elapsed().as_secs_f64()));
    Ok(Some(LoadStats { keys_loaded: keys, ..LoadStats::default() }))
}

/// Where Redis before 7.0 kept its single append-only file: `dir/appendfilename`.
fn old_style_path(shared: &Shared) -> PathBuf {
    shared.config.dir().join(shared.config.appendfilename())
}

/// Replays AOF files through the command table.
struct Loader<'a> {
    shared: &'a Shared,
    worker: WorkerStats,
    client: Client,
    out: Reply,
}

impl<'a> Loader<'a> {
    fn new(shared: &'a Shared) -> Self {
        let (handle, _rx) = ClientHandle::new(0, String::new(), String::new(), -1, false, unix_ms());
        Loader {
            shared,
            worker: WorkerStats::new(shared.table.len()),
            client: Client::new(handle, true),
            out: Reply::new(),
        }
    }

    /// Load one file: an RDB part first if it starts with one (a base, or an old-style
    /// file's preamble), then commands. Each file starts in database 0, as Redis replays each
    /// with a client of its own (a command-form base ends in the last database it selected).
    fn load_file(&mut self, path: &std::path::Path, name: &str, last: bool) -> Result<(), String> {
        use std::io::{BufRead, Seek};
        self.client.db = 0;
        self.client.handle.db.store(0, Relaxed);
        let file = File::open(path).map_err(|e| io_err(&format!("Can't open {name}"), e))?;
        let mut br = std::io::BufReader::with_capacity(1 << 16, file);
        let rdb = br.fill_buf().map(fmt::is_rdb).unwrap_or(false);
        let mut rdb_len = 0;
        if rdb {
            self.load_rdb(&mut br, name)?;
            rdb_len = br.stream_position().map_err(|e| io_err(&format!("Can't read {name}"), e))? as usize;
            self.shared.loading.progress.loaded_bytes.fetch_add(rdb_len as u64, Relaxed);
        }
        let mut reader = fmt::CommandReader::new(br);
        match self.replay(&mut reader, name) {
            Ok(()) => Ok(()),
            Err(Stop::Truncated(at)) => self.truncated(path, name, rdb_len + at, last),
            Err(Stop::Fatal(e)) => Err(e),
        }
    }

    fn load_rdb<R: std::io::Read>(&mut self, r: R, name: &str) -> Result<(), String> {
        log(false, "Reading RDB base file on AOF loading...");
        let cfg = &self.shared.config;
        let acc = Access::at(unix_ms()).no_touch();
        let limits = Limits::from_config(cfg);
        file::load_from(&self.shared.keyspace, r, &limits, cfg.rdbchecksum(), &acc, super::access_load(cfg))
            .map_err(|e| format!("Error reading the RDB base file {name}: {e}"))?;
        log(false, &format!("DB loaded from base file {name}"));
        Ok(())
    }

    /// A file whose valid part ends at `at`.
    fn truncated(&self, path: &std::path::Path, name: &str, at: usize, last: bool) -> Result<(), String> {
        if !last || !self.shared.config.aof_load_truncated() {
            return Err(format!(
                "Unexpected end of file reading the append only file {name}. You can: 1) Make a backup of your AOF file, then use ./redis-check-aof --fix <filename.manifest>. 2) Alternatively you can set the 'aof-load-truncated' configuration option to yes and restart the server."
            ));
        }
        log(true, &format!("!!! Warning: short read while loading the AOF file {name}!!!"));
        log(true, &format!("!!! Truncating the AOF {name} at offset {at} !!!"));
        let f = OpenOptions::new().write(true).open(path).map_err(|e| io_err("Can't truncate the AOF", e))?;
        f.set_len(at as u64).map_err(|e| io_err("Can't truncate the AOF", e))?;
        f.sync_all().map_err(|e| io_err("Can't truncate the AOF", e))?;
        log(true, &format!("AOF {name} loaded anyway because aof-load-truncated is enabled"));
        Ok(())
    }

    /// Run the file's commands; a `MULTI` … `EXEC` block runs once complete.
    fn replay<R: std::io::Read>(
        &mut self,
        reader: &mut fmt::CommandReader<R>,
        name: &str,
    ) -> Result<(), Stop> {
        let mut multi: Option<(usize, Vec<Vec<Vec<u8>>>)> = None;
        let progress = self.shared.loading.progress.clone();
        let mut reported = 0;
        loop {
            match reader.next_command() {
                Ok(None) => break,
                Ok(Some((argv, at, end))) => {
                    progress.loaded_bytes.fetch_add((end - reported) as u64, Relaxed);
                    reported = end;
                    if is(&argv[0], "multi") {
                        multi = Some((at, Vec::new()));
                    } else if is(&argv[0], "exec") {
                        for c in multi.take().map(|m| m.1).unwrap_or_default() {
                            self.run(&c, name)?;
                        }
                    } else if let Some((_, q)) = multi.as_mut() {
                        q.push(argv);
                    } else {
                        self.run(&argv, name)?;
                    }
                }
                Err(ReadError::Truncated(at)) => {
                    return Err(Stop::Truncated(multi.map_or(at, |m| m.0)));
                }
                Err(ReadError::Corrupt(_)) => {
                    return Err(Stop::Fatal(format!("Bad file format reading the append only file {name}: make a backup of your AOF file, then use ./redis-check-aof --fix <filename.manifest>")));
                }
            }
        }
        if let Some((at, _)) = multi {
            log(true, &format!("Revert incomplete MULTI/EXEC transaction in AOF file {name}"));
            return Err(Stop::Truncated(at));
        }
        Ok(())
    }

    fn run(&mut self, argv: &[Vec<u8>], name: &str) -> Result<(), Stop> {
        let args: Vec<&[u8]> = argv.iter().map(|a| a.as_slice()).collect();
        let cmd = match crate::dispatch::resolve(self.shared, &mut self.out, &args) {
            Ok(c) => c,
            Err(_) => {
                return Err(Stop::Fatal(format!(
                    "Unknown command '{}' reading the append only file {name}",
                    String::from_utf8_lossy(&args[0][..args[0].len().min(128)])
                )))
            }
        };
        crate::dispatch::call(self.shared, &self.worker, &mut self.client, &mut self.out, cmd, &args, false);
        self.out.clear();
        let _ = self.out.take_errors();
        Ok(())
    }
}

enum Stop {
    Truncated(usize),
    Fatal(String),
}

// ---------------------------------------------------------------------------------------
// INFO
// ---------------------------------------------------------------------------------------

/// The AOF buffer's size in bytes (`mem_aof_buffer`, left out of eviction's used memory).
pub fn buffer_memory() -> u64 {
    STATS.buffer_cap.load(Relaxed)
}

/// Append the `aof_*` fields of INFO persistence, in Redis 7.0's order.
pub fn info_fields(shared: &Shared, out: &mut String) {
    let on = propagate::is_on();
    let rewriting = STATS.rewriting.load(Relaxed);
    let mut f = |k: &str, v: String| {
        out.push_str(k);
        out.push(':');
        out.push_str(&v);
        out.push_str("\r\n");
    };
    f("aof_enabled", (shared.config.appendonly() as u8).to_string());
    f("aof_rewrite_in_progress", (rewriting as u8).to_string());
    f("aof_rewrite_scheduled", (STATS.scheduled.load(Relaxed) as u8).to_string());
    f("aof_last_rewrite_time_sec", STATS.last_rewrite_time_s.load(Relaxed).to_string());
    let current = if rewriting { (unix_ms() - STATS.rewrite_started_ms.load(Relaxed)) / 1000 } else { -1 };
    f("aof_current_rewrite_time_sec", current.to_string());
    f("aof_last_bgrewrite_status", ok_err(STATS.last_rewrite_ok.load(Relaxed)));
    f("aof_rewrites", STATS.rewrites.load(Relaxed).to_string());
    f("aof_rewrites_consecutive_failures", STATS.failures.load(Relaxed).to_string());
    f("aof_last_write_status", ok_err(STATS.last_write_ok.load(Relaxed)));
    f("aof_last_cow_size", "0".into());
    f("module_fork_in_progress", "0".into());
    f("module_fork_last_cow_size", "0".into());
    if on {
        f("aof_current_size", STATS.current_size.load(Relaxed).to_string());
        f("aof_base_size", STATS.base_size.load(Relaxed).to_string());
        f("aof_pending_rewrite", (STATS.scheduled.load(Relaxed) as u8).to_string());
        f("aof_buffer_length", STATS.buffer_len.load(Relaxed).to_string());
        f("aof_pending_bio_fsync", "0".into());
        f("aof_delayed_fsync", "0".into());
    }
}

fn ok_err(ok: bool) -> String {
    if ok { "ok" } else { "err" }.to_string()
}
