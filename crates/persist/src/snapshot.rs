//! Point-in-time snapshots without fork and without copying the dataset (BGSAVE, AOF rewrite).
//!
//! Under the exclusive gate (no command runs) [`Snapshot::start`] writes the file header and
//! arms every non-empty stripe ([`brim_engine::Stripe::arm_snapshot`]): from that instant each
//! stripe saves its keys as they were, key by key (the engine's `stripe::snapshot` module
//! explains how):
//! - the saver thread ([`Snapshot::run`]) walks every stripe a few hundred keys at a time,
//!   serializing under the stripe's lock and writing with no lock held;
//! - a client about to change or delete a key the walk has not reached serializes just that
//!   key first (compressed as `rdbcompression` says: one key is cheap) and goes on; its keys
//!   reach the saver in pieces of a few tens of KB through a queue.
//!
//! Keys of one database may come in any order, which RDB allows: each piece is preceded by
//! SELECTDB when the database changes (RESIZEDB the first time). Extra memory is the queue,
//! capped at a share of the dataset (past it a client appends its piece to the file itself),
//! plus one step's buffer — never a copy of the dataset. Keys whose time ran out after the
//! snapshot started are still written (they existed at that instant); keys written after it
//! are not.

use std::collections::VecDeque;
use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};

use brim_engine::{Access, EntryRef, KeySaver, Keyspace};

use crate::dataset::{write_key, write_select, Out};
use crate::file::{temp_path, SaveOptions, SaveStats};
use crate::rdb::{Error, Result};

/// The file being written, and the database its last piece was of.
struct Output {
    out: Out<BufWriter<File>>,
    db: Option<usize>,
    /// Databases whose RESIZEDB hint was written.
    sized: Vec<bool>,
}

/// The least room for clients' pieces waiting for the saver.
const MIN_QUEUE_BYTES: u64 = 4 << 20;
/// The queue's room as a fraction of the dataset (`used-mem`): 1/20, 5%.
const QUEUE_FRACTION: u64 = 20;
/// Keys the saver looks at per step under a stripe's lock.
const STEP_KEYS: usize = 256;

/// Keys a client serialized before changing them, waiting for the saver.
struct Pending {
    db: usize,
    buf: Vec<u8>,
    keys: u64,
}

/// A snapshot being written.
pub struct Snapshot {
    out: Mutex<Option<Output>>,
    acc: Access,
    opts: SaveOptions,
    /// Keys and keys with an expire, per database, at the snapshot's instant.
    sizes: Vec<(u64, u64)>,
    tmp: PathBuf,
    target: PathBuf,
    error: Mutex<Option<Error>>,
    /// Clients' pieces waiting for the saver.
    queue: Mutex<VecDeque<Pending>>,
    /// Bytes in `queue`.
    queued_bytes: AtomicU64,
    /// Most bytes `queue` may hold.
    queue_cap: u64,
    /// Stop writing (cancelled or failed): keys are no longer serialized.
    dead: AtomicBool,
    /// Stop as soon as possible (shutdown).
    pub cancel: AtomicBool,
    /// Keys written so far.
    pub keys: AtomicU64,
    /// Most bytes held at once by the snapshot itself: clients' queued pieces, or the
    /// saver's buffer if larger (the snapshot's own extra memory).
    pub peak_buffer: AtomicU64,
    /// Keys serialized by clients about to change them (not by the saver).
    pub by_writers: AtomicU64,
}

thread_local! {
    /// Set on the saver thread while it walks the stripes.
    static SAVER: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// The [`KeySaver`] of one database's stripes.
struct DbSaver {
    snap: Arc<Snapshot>,
    db: usize,
}

impl KeySaver for DbSaver {
    fn save(&self, e: EntryRef<'_>, out: &mut Vec<u8>) {
        if !SAVER.with(|f| f.get()) {
            self.snap.by_writers.fetch_add(1, Relaxed);
        }
        self.snap.save_key(&e, out);
    }

    fn hand_off(&self, buf: Vec<u8>, keys: u64) {
        self.snap.queue_or_append(self.db, buf, keys);
    }
}

impl Snapshot {
    /// Start a snapshot of `ks` into `dir/filename` (through a temporary file). The caller
    /// must hold the keyspace's exclusive gate: the snapshot is of this instant.
    pub fn start(
        ks: &Keyspace,
        dir: &Path,
        filename: &str,
        opts: SaveOptions,
        acc: Access,
    ) -> Result<Arc<Snapshot>> {
        let tmp = temp_path(dir, "bg-");
        let f = File::create(&tmp).map_err(|e| {
            Error(format!(
                "Failed opening the temp RDB file {} (in server root dir {}) for saving: {e}",
                tmp.file_name().and_then(|n| n.to_str()).unwrap_or(""),
                dir.display()
            ))
        })?;
        let out = Out::start(BufWriter::with_capacity(1 << 16, f), &opts, &acc)?;
        let output = Output { out, db: None, sized: vec![false; ks.len()] };
        let sizes: Vec<(u64, u64)> =
            ks.dbs().iter().map(|d| (d.len() as u64, d.volatile_len() as u64)).collect();
        let queue_cap = (opts.used_mem / QUEUE_FRACTION).max(MIN_QUEUE_BYTES);
        let snap = Arc::new(Snapshot {
            out: Mutex::new(Some(output)),
            acc,
            opts,
            sizes,
            tmp,
            target: dir.join(filename),
            error: Mutex::new(None),
            queue: Mutex::new(VecDeque::new()),
            queued_bytes: AtomicU64::new(0),
            queue_cap,
            dead: AtomicBool::new(false),
            cancel: AtomicBool::new(false),
            keys: AtomicU64::new(0),
            peak_buffer: AtomicU64::new(0),
            by_writers: AtomicU64::new(0),
        });
        for (i, db) in ks.dbs().iter().enumerate() {
            if snap.sizes[i].0 == 0 {
                continue;
            }
            let saver: Arc<dyn KeySaver> = Arc::new(DbSaver { snap: snap.clone(), db: i });
            for s in 0..db.stripe_count() {
                let mut stripe = db.lock_stripe(s);
                if !stripe.is_empty() {
                    stripe.arm_snapshot(saver.clone());
                }
            }
        }
        Ok(snap)
    }

    fn fail(&self, e: Error) {
        self.dead.store(true, Relaxed);
        let mut slot = self.error.lock().unwrap_or_else(|p| p.into_inner());
        if slot.is_none() {
            *slot = Some(e);
        }
    }

    /// Serialize one key onto `out` (nothing once the snapshot is dead).
    fn save_key(&self, e: &EntryRef<'_>, out: &mut Vec<u8>) {
        if self.dead.load(Relaxed) {
            return;
        }
        if let Err(x) = write_key(out, &self.opts, e, &self.acc) {
            self.fail(x);
        }
    }

    /// A client's piece: queue it for the saver, or, when the queue is full, write it here.
    fn queue_or_append(&self, db: usize, buf: Vec<u8>, keys: u64) {
        if self.dead.load(Relaxed) {
            return;
        }
        let size = buf.capacity() as u64;
        let queued = self.queued_bytes.fetch_add(size, Relaxed) + size;
        if queued <= self.queue_cap {
            self.peak_buffer.fetch_max(queued, Relaxed);
            self.queue.lock().unwrap_or_else(|p| p.into_inner()).push_back(Pending { db, buf, keys });
            return;
        }
        self.queued_bytes.fetch_sub(size, Relaxed);
        self.append(db, &buf, keys);
    }

    /// Write the pieces clients queued (on the saver thread).
    fn drain_queue(&self) {
        loop {
            let next = self.queue.lock().unwrap_or_else(|p| p.into_inner()).pop_front();
            let Some(p) = next else { return };
            self.queued_bytes.fetch_sub(p.buf.capacity() as u64, Relaxed);
            self.append(p.db, &p.buf, p.keys);
        }
    }

    /// Append `n` serialized keys of database `db` to the file.
    fn append(&self, db: usize, buf: &[u8], n: u64) {
        if buf.is_empty() || self.dead.load(Relaxed) {
            return;
        }
        let mut guard = self.out.lock().unwrap_or_else(|p| p.into_inner());
        let Some(o) = guard.as_mut() else { return };
        let mut head = Vec::with_capacity(24);
        if o.db != Some(db) {
            let first = !std::mem::replace(&mut o.sized[db], true);
            write_select(&mut head, &self.opts, db, first.then_some(self.sizes[db]));
            o.db = Some(db);
        }
        let r = o.out.put(&head).and_then(|_| o.out.put(buf));
        drop(guard);
        match r {
            Ok(()) => {
                self.keys.fetch_add(n, Relaxed);
            }
            Err(e) => self.fail(e),
        }
    }

    /// Walk every stripe to the end of its snapshot, writing what it saves and what clients
    /// queued, then finish the file (EOF, checksum, flush to disk, rename over the target).
    /// Runs on the saver thread. A cancelled or failed snapshot still walks every stripe
    /// (serializing nothing), which disarms them.
    pub fn run(&self, ks: &Keyspace) -> Result<SaveStats> {
        SAVER.with(|f| f.set(true));
        let mut buf = Vec::new();
        for (i, db) in ks.dbs().iter().enumerate() {
            for s in 0..db.stripe_count() {
                loop {
                    if self.cancel.load(Relaxed) && !self.dead.load(Relaxed) {
                        self.fail(Error("Background save cancelled".into()));
                    }
                    buf.clear();
                    let (n, done) = db.lock_stripe(s).snapshot_step(STEP_KEYS, &mut buf);
                    self.peak_buffer.fetch_max(buf.capacity() as u64, Relaxed);
                    self.append(i, &buf, n);
                    self.drain_queue();
                    if done {
                        break;
                    }
                }
                if buf.capacity() > 1 << 20 {
                    buf = Vec::new();
                }
            }
        }
        self.drain_queue();
        SAVER.with(|f| f.set(false));
        let result = self.finish();
        if result.is_err() {
            let _ = std::fs::remove_file(&self.tmp);
        }
        result
    }

    fn finish(&self) -> Result<SaveStats> {
        if let Some(e) = self.error.lock().unwrap_or_else(|p| p.into_inner()).take() {
            return Err(e);
        }
        let Some(o) = self.out.lock().unwrap_or_else(|p| p.into_inner()).take() else {
            return Err(Error("snapshot already finished".into()));
        };
        let (bytes, w) = o.out.end(&self.opts)?;
        let f = w.into_inner().map_err(|e| Error(e.error().to_string()))?;
        f.sync_all()?;
        drop(f);
        std::fs::rename(&self.tmp, &self.target).map_err(|e| {
            Error(format!(
                "Error moving temp DB file {} on the final destination {}: {e}",
                self.tmp.display(),
                self.target.display()
            ))
        })?;
        Ok(SaveStats { keys: self.keys.load(Relaxed), bytes })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::file::{load_from, AccessLoad};
    use crate::rdb::encode::Options;
    use crate::values::Limits;
    use brim_engine::{NewValue, SetExpire};

    fn opts() -> SaveOptions {
        SaveOptions {
            values: Options::default(),
            checksum: true,
            used_mem: 0,
            aof_base: false,
            commands: false,
        }
    }

    fn keys_of(ks: &Keyspace, acc: &Access) -> Vec<(usize, Vec<u8>, Vec<u8>)> {
        let mut v = Vec::new();
        for (i, db) in ks.dbs().iter().enumerate() {
            for s in 0..db.stripe_count() {
                db.lock_stripe(s).for_each(acc, |e| {
                    v.push((i, e.key().to_vec(), e.str().map(|x| x.to_vec()).unwrap_or_default()))
                });
            }
        }
        v.sort();
        v
    }

    #[test]
    fn snapshot_is_point_in_time_under_writes() {
        let dir = std::env::temp_dir().join(format!("brim-snap-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let ks = Keyspace::new(4, 16);
        let acc = Access::at(1_000_000);
        for i in 0..2000u32 {
            let k = format!("k{i}");
            ks.db((i % 3) as usize).lock(k.as_bytes()).set(
                k.as_bytes(),
                NewValue::Str(b"old"),
                SetExpire::Clear,
                &acc,
            );
        }
        let before = keys_of(&ks, &acc);
        let snap = Snapshot::start(&ks, &dir, "snap.rdb", opts(), acc).unwrap();
        // Writes after the instant: overwrite, delete, add, flush a database.
        for i in 0..1000u32 {
            let k = format!("k{i}");
            let db = ks.db((i % 3) as usize);
            let mut s = db.lock(k.as_bytes());
            if i % 2 == 0 {
                s.set(k.as_bytes(), NewValue::Str(b"new"), SetExpire::Clear, &acc);
            } else {
                s.remove(k.as_bytes(), &acc);
            }
            s.set(format!("added{i}").as_bytes(), NewValue::Str(b"x"), SetExpire::Clear, &acc);
        }
        ks.db(2).clear();
        assert!(snap.by_writers.load(Relaxed) > 0);
        snap.run(&ks).unwrap();
        let loaded = Keyspace::new(4, 16);
        let f = std::fs::File::open(dir.join("snap.rdb")).unwrap();
        load_from(&loaded, f, &Limits::default(), true, &acc, AccessLoad::Lru).unwrap();
        assert_eq!(keys_of(&loaded, &acc), before);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn keys_serialized_by_writers_are_compressed_too() {
        let dir = std::env::temp_dir().join(format!("brim-snapz-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let ks = Keyspace::new(2, 16);
        let acc = Access::at(1_000_000);
        let value = [b'v'; 200];
        for i in 0..4000u32 {
            let k = format!("key:{i}");
            ks.db(0).lock(k.as_bytes()).set(k.as_bytes(), NewValue::Str(&value), SetExpire::Clear, &acc);
        }
        let quiet = Snapshot::start(&ks, &dir, "quiet.rdb", opts(), acc).unwrap();
        quiet.run(&ks).unwrap();
        let busy = Snapshot::start(&ks, &dir, "busy.rdb", opts(), acc).unwrap();
        // New keys cost the snapshot nothing; every other old key is overwritten, so the
        // writer serializes it first.
        for i in 0..4000u32 {
            let k = format!("new:{i}");
            ks.db(0).lock(k.as_bytes()).set(k.as_bytes(), NewValue::Str(b"x"), SetExpire::Clear, &acc);
        }
        assert_eq!(busy.by_writers.load(Relaxed), 0);
        for i in (0..4000u32).step_by(2) {
            let k = format!("key:{i}");
            ks.db(0).lock(k.as_bytes()).set(k.as_bytes(), NewValue::Str(b"y"), SetExpire::Clear, &acc);
        }
        assert_eq!(busy.by_writers.load(Relaxed), 2000);
        busy.run(&ks).unwrap();
        let size = |f: &str| std::fs::metadata(dir.join(f)).unwrap().len();
        assert_eq!(size("busy.rdb"), size("quiet.rdb"));
        assert!(size("quiet.rdb") < 4000 * 100, "values were not compressed: {}", size("quiet.rdb"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
