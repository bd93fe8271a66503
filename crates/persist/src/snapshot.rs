//! Point-in-time snapshots without fork and without copying the dataset (BGSAVE).
//!
//! Under the exclusive gate (no command runs) [`Snapshot::start`] writes the file header and
//! arms a hook on every non-empty stripe ([`brim_engine::Stripe::set_snapshot_hook`]). From
//! then on, each armed stripe is serialized exactly once, as it was at that instant:
//! - by the saver thread ([`Snapshot::run`]), which walks the stripes and runs the hooks
//!   still pending, each under its stripe's lock; or
//! - by whichever client is about to change the stripe first: the engine runs the hook
//!   before the change.
//!
//! Either way the stripe's keys are serialized into a buffer under the stripe's lock and
//! appended to the one output file (preceded by SELECTDB when the database changes; keys of
//! one database may come in any order, which RDB allows). A client serializes without
//! compressing (LZF is most of the cost, and it waits) and queues its buffer: the saver
//! compresses queued buffers ([`crate::rdb::encode::recompress`]) before they are written,
//! so the file is as small as if the saver had done it all. Extra memory is one stripe's
//! serialized size per thread serializing at that moment plus the queue, which is capped
//! (past the cap a client compresses its buffer itself) — never a copy of the dataset.
//! Keys whose time ran out after the snapshot started are still written (they existed at
//! that instant); keys written after it are not.

use std::collections::VecDeque;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};

use brim_engine::{Access, Keyspace, Stripe};

use crate::crc64::crc64;
use crate::file::{temp_path, SaveOptions, SaveStats};
use crate::rdb::encode::{recompress, write_aux, write_entry, write_len};
use crate::rdb::{opcodes, Error, Result, RDB_VERSION};

struct Out {
    w: BufWriter<File>,
    crc: u64,
    bytes: u64,
    db: Option<usize>,
    sized: Vec<bool>,
}

impl Out {
    fn put(&mut self, b: &[u8]) -> Result<()> {
        self.crc = crc64(self.crc, b);
        self.bytes += b.len() as u64;
        self.w.write_all(b)?;
        Ok(())
    }
}

/// The least room for clients' uncompressed buffers waiting for the saver.
const MIN_QUEUE_BYTES: u64 = 4 << 20;
/// The queue's room as a fraction of the dataset (`used-mem`): 1/20, 5%.
const QUEUE_FRACTION: u64 = 20;

/// A stripe a client serialized without compressing, waiting for the saver.
struct Pending {
    db: usize,
    buf: Vec<u8>,
    keys: u64,
}

thread_local! {
    /// Set on the saver thread while it walks the stripes.
    static SAVER: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// A snapshot being written.
pub struct Snapshot {
    out: Mutex<Option<Out>>,
    acc: Access,
    opts: SaveOptions,
    /// Keys and keys with an expire, per database, at the snapshot's instant.
    sizes: Vec<(u64, u64)>,
    tmp: PathBuf,
    target: PathBuf,
    error: Mutex<Option<Error>>,
    /// Clients' uncompressed stripes waiting for the saver to compress them.
    queue: Mutex<VecDeque<Pending>>,
    /// Bytes in `queue`.
    queued_bytes: AtomicU64,
    /// Most bytes `queue` may hold.
    queue_cap: u64,
    /// Stop writing (cancelled or failed): pending hooks do nothing.
    dead: AtomicBool,
    /// Stop as soon as possible (shutdown).
    pub cancel: AtomicBool,
    /// Keys written so far.
    pub keys: AtomicU64,
    /// Largest serialized stripe buffer so far, or queue of them if larger (the snapshot's
    /// own extra memory, per serializing thread).
    pub peak_buffer: AtomicU64,
    /// Stripes serialized by clients about to change them (not by the saver).
    pub by_writers: AtomicU64,
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
        let mut out = Out {
            w: BufWriter::with_capacity(1 << 16, f),
            crc: 0,
            bytes: 0,
            db: None,
            sized: vec![false; ks.len()],
        };
        let mut buf = Vec::with_capacity(256);
        buf.extend_from_slice(format!("REDIS{RDB_VERSION:04}").as_bytes());
        write_aux(&mut buf, "redis-ver", b"7.0.15");
        write_aux(&mut buf, "redis-bits", b"64");
        write_aux(&mut buf, "ctime", (acc.now_ms / 1000).to_string().as_bytes());
        write_aux(&mut buf, "used-mem", opts.used_mem.to_string().as_bytes());
        write_aux(&mut buf, "aof-base", if opts.aof_base { b"1" } else { b"0" });
        out.put(&buf)?;
        let sizes = ks.dbs().iter().map(|d| (d.len() as u64, d.volatile_len() as u64)).collect();
        let queue_cap = (opts.used_mem / QUEUE_FRACTION).max(MIN_QUEUE_BYTES);
        let snap = Arc::new(Snapshot {
            out: Mutex::new(Some(out)),
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
            for s in 0..db.stripe_count() {
                let mut stripe = db.lock_stripe(s);
                if stripe.is_empty() {
                    continue;
                }
                let me = snap.clone();
                stripe.set_snapshot_hook(Box::new(move |st: &Stripe| me.serialize(i, st)));
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

    /// Serialize one stripe of database `db` and append it to the file. A client about to
    /// change the stripe does this on its own thread, so there strings are not compressed
    /// (LZF is most of the cost): the client waits only for the stripe's keys to be copied
    /// out, and queues them for the saver to compress. The saver thread compresses as
    /// `rdbcompression` says.
    fn serialize(&self, db: usize, stripe: &Stripe) {
        if self.dead.load(Relaxed) {
            return;
        }
        let by_saver = SAVER.with(|f| f.get());
        if !by_saver {
            self.by_writers.fetch_add(1, Relaxed);
        }
        let mut opts = self.opts.values;
        let defer = opts.compress && !by_saver;
        opts.compress &= by_saver;
        let mut buf = Vec::new();
        let mut err = None;
        let mut n = 0u64;
        stripe.for_each(&self.acc, |e| {
            if err.is_none() {
                match write_entry(&mut buf, &e, &self.acc, &opts) {
                    Ok(()) => n += 1,
                    Err(x) => err = Some(x),
                }
            }
        });
        if let Some(e) = err {
            self.fail(e);
            return;
        }
        if buf.is_empty() {
            return;
        }
        self.peak_buffer.fetch_max(buf.capacity() as u64, Relaxed);
        if defer {
            self.queue_or_compress(db, buf, n);
        } else {
            self.append(db, &buf, n);
        }
    }

    /// A client's uncompressed stripe: queue it for the saver, or, when the queue is full,
    /// compress it here and write it.
    fn queue_or_compress(&self, db: usize, buf: Vec<u8>, keys: u64) {
        let size = buf.capacity() as u64;
        let queued = self.queued_bytes.fetch_add(size, Relaxed) + size;
        if queued <= self.queue_cap {
            self.peak_buffer.fetch_max(queued, Relaxed);
            self.queue.lock().unwrap_or_else(|p| p.into_inner()).push_back(Pending { db, buf, keys });
            return;
        }
        self.queued_bytes.fetch_sub(size, Relaxed);
        self.compress_and_append(Pending { db, buf, keys });
    }

    /// Compress a client's stripe and write it (as it is if it cannot be parsed back).
    fn compress_and_append(&self, p: Pending) {
        let mut packed = Vec::with_capacity(p.buf.len() / 2);
        if recompress(&p.buf, &mut packed).is_ok() {
            self.append(p.db, &packed, p.keys);
        } else {
            self.append(p.db, &p.buf, p.keys);
        }
    }

    /// Compress and write the stripes clients queued (on the saver thread).
    fn drain_queue(&self) {
        loop {
            let next = self.queue.lock().unwrap_or_else(|p| p.into_inner()).pop_front();
            let Some(p) = next else { return };
            self.queued_bytes.fetch_sub(p.buf.capacity() as u64, Relaxed);
            if !self.dead.load(Relaxed) {
                self.compress_and_append(p);
            }
        }
    }

    /// Append `n` serialized keys of database `db` to the file.
    fn append(&self, db: usize, buf: &[u8], n: u64) {
        let mut guard = self.out.lock().unwrap_or_else(|p| p.into_inner());
        let Some(out) = guard.as_mut() else { return };
        let mut head = Vec::with_capacity(24);
        if out.db != Some(db) {
            head.push(opcodes::SELECTDB);
            write_len(&mut head, db as u64);
            if !out.sized[db] {
                out.sized[db] = true;
                head.push(opcodes::RESIZEDB);
                write_len(&mut head, self.sizes[db].0);
                write_len(&mut head, self.sizes[db].1);
            }
            out.db = Some(db);
        }
        let r = out.put(&head).and_then(|_| out.put(buf));
        drop(guard);
        match r {
            Ok(()) => {
                self.keys.fetch_add(n, Relaxed);
            }
            Err(e) => self.fail(e),
        }
    }

    /// Walk every stripe, serializing those still pending, then finish the file (EOF,
    /// checksum, flush to disk, rename over the target). Runs on the saver thread.
    pub fn run(&self, ks: &Keyspace) -> Result<SaveStats> {
        SAVER.with(|f| f.set(true));
        for db in ks.dbs() {
            for s in 0..db.stripe_count() {
                if self.cancel.load(Relaxed) {
                    self.fail(Error("Background save cancelled".into()));
                }
                db.lock_stripe(s).run_snapshot_hook();
                self.drain_queue();
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
        let Some(mut out) = self.out.lock().unwrap_or_else(|p| p.into_inner()).take() else {
            return Err(Error("snapshot already finished".into()));
        };
        out.put(&[opcodes::EOF])?;
        let crc = if self.opts.checksum { out.crc } else { 0 };
        out.w.write_all(&crc.to_le_bytes())?;
        let bytes = out.bytes + 8;
        let f = out.w.into_inner().map_err(|e| Error(e.error().to_string()))?;
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
        SaveOptions { values: Options::default(), checksum: true, used_mem: 0, aof_base: false }
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
    fn stripes_serialized_by_writers_are_compressed_too() {
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
        // A write to every stripe: each is serialized by the writer, not the saver.
        for i in 0..4000u32 {
            let k = format!("new:{i}");
            ks.db(0).lock(k.as_bytes()).set(k.as_bytes(), NewValue::Str(b"x"), SetExpire::Clear, &acc);
        }
        assert_eq!(busy.by_writers.load(Relaxed), 16);
        busy.run(&ks).unwrap();
        let size = |f: &str| std::fs::metadata(dir.join(f)).unwrap().len();
        assert_eq!(size("busy.rdb"), size("quiet.rdb"));
        assert!(size("quiet.rdb") < 4000 * 100, "values were not compressed: {}", size("quiet.rdb"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
