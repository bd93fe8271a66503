//! Saving the whole keyspace to an RDB file and loading one.
//!
//! Saving walks every database stripe by stripe: each stripe is serialized into a buffer
//! under its lock, then the buffer is written (and checksummed) with no lock held, so extra
//! memory is bounded by one stripe's serialized size. The file is written under a temporary
//! name, flushed to disk, and renamed over the target, so a crash never leaves a partial
//! RDB under the real name.

use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;

use brim_engine::{Access, Keyspace, SetExpire};

use crate::dataset::{write_key, write_select, Out};
use crate::rdb::decode::{Reader, Record};
use crate::rdb::encode::Options;
use crate::rdb::{Error, Result};
use crate::values::{with_new_value, Limits};

/// How to save.
#[derive(Debug, Clone)]
pub struct SaveOptions {
    /// Value encoding options.
    pub values: Options,
    /// `rdbchecksum`: write the CRC-64 (else 0).
    pub checksum: bool,
    /// `used-mem` AUX field.
    pub used_mem: u64,
    /// Write `aof-base 1` (an AOF base file).
    pub aof_base: bool,
    /// Write the dataset as commands (an AOF base with `aof-use-rdb-preamble no`) instead of
    /// RDB.
    pub commands: bool,
}

/// What a save did.
#[derive(Debug, Clone, Copy, Default)]
pub struct SaveStats {
    /// Keys written.
    pub keys: u64,
    /// Bytes written.
    pub bytes: u64,
}

/// Live progress of a save, for INFO (`current_save_keys_processed`).
#[derive(Debug, Default)]
pub struct Progress {
    /// Keys written so far.
    pub keys: AtomicU64,
}

/// Live progress of a load, for INFO (`loading_total_bytes`, `loading_loaded_bytes`,
/// `loading_rdb_used_mem`). Loads on a thread inside [`track_loading`] update it.
#[derive(Debug, Default)]
pub struct LoadProgress {
    /// Size of the files being loaded.
    pub total_bytes: AtomicU64,
    /// Bytes read from them so far.
    pub loaded_bytes: AtomicU64,
    /// The `used-mem` AUX field of the RDB being loaded.
    pub rdb_used_mem: AtomicU64,
}

thread_local! {
    /// The progress the loads on this thread report to (see [`track_loading`]).
    static TRACKER: std::cell::RefCell<Option<Arc<LoadProgress>>> = const { std::cell::RefCell::new(None) };
}

/// Run `f` with every [`load`] it makes on this thread reporting to `progress` (file sizes,
/// bytes read, the `used-mem` AUX field), so that callers that do not know about progress
/// (start-up loading, whatever files it reads) still report it.
pub fn track_loading<R>(progress: Arc<LoadProgress>, f: impl FnOnce() -> R) -> R {
    let previous = TRACKER.with(|t| t.replace(Some(progress)));
    let r = f();
    TRACKER.with(|t| *t.borrow_mut() = previous);
    r
}

fn tracker() -> Option<Arc<LoadProgress>> {
    TRACKER.with(|t| t.borrow().clone())
}

/// A reader that adds the bytes it reads to a [`LoadProgress`].
struct Counted<R> {
    inner: R,
    progress: Option<Arc<LoadProgress>>,
}

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        if let Some(p) = &self.progress {
            p.loaded_bytes.fetch_add(n as u64, Relaxed);
        }
        Ok(n)
    }
}

/// Write the whole keyspace to `w`: an RDB stream, or commands (`opts.commands`).
pub fn write_keyspace<W: Write>(
    ks: &Keyspace,
    w: W,
    opts: &SaveOptions,
    acc: &Access,
    progress: Option<&Progress>,
) -> Result<(SaveStats, W)> {
    let mut out = Out::start(w, opts, acc)?;
    let mut buf = Vec::with_capacity(1 << 16);
    let mut keys = 0u64;
    for (i, db) in ks.dbs().iter().enumerate() {
        if db.is_empty() {
            continue;
        }
        buf.clear();
        write_select(&mut buf, opts, i, Some((db.len() as u64, db.volatile_len() as u64)));
        out.put(&buf)?;
        for s in 0..db.stripe_count() {
            buf.clear();
            let mut err = None;
            let mut n = 0u64;
            {
                let stripe = db.lock_stripe(s);
                stripe.for_each(acc, |e| {
                    if err.is_none() {
                        match write_key(&mut buf, opts, &e, acc) {
                            Ok(()) => n += 1,
                            Err(x) => err = Some(x),
                        }
                    }
                });
            }
            if let Some(e) = err {
                return Err(e);
            }
            out.put(&buf)?;
            keys += n;
            if let Some(p) = progress {
                p.keys.fetch_add(n, Relaxed);
            }
            if buf.capacity() > 1 << 22 {
                buf = Vec::with_capacity(1 << 16);
            }
        }
    }
    let (bytes, w) = out.end(opts)?;
    Ok((SaveStats { keys, bytes }, w))
}

/// The temporary file a save writes before renaming it.
pub fn temp_path(dir: &Path, tag: &str) -> PathBuf {
    dir.join(format!("temp-{}{}.rdb", tag, std::process::id()))
}

/// Save the keyspace to `dir/filename` through a temporary file (`tag` tells concurrent
/// savers' temporary files apart).
pub fn save(
    ks: &Keyspace,
    dir: &Path,
    filename: &str,
    tag: &str,
    opts: &SaveOptions,
    acc: &Access,
    progress: Option<&Progress>,
) -> Result<SaveStats> {
    let tmp = temp_path(dir, tag);
    let result = (|| {
        let f = File::create(&tmp).map_err(|e| {
            Error(format!(
                "Failed opening the temp RDB file {} (in server root dir {}) for saving: {e}",
                tmp.file_name().and_then(|n| n.to_str()).unwrap_or(""),
                dir.display()
            ))
        })?;
        let (stats, w) = write_keyspace(ks, BufWriter::with_capacity(1 << 16, f), opts, acc, progress)?;
        let f = w.into_inner().map_err(|e| Error(e.error().to_string()))?;
        f.sync_all()?;
        drop(f);
        std::fs::rename(&tmp, dir.join(filename)).map_err(|e| {
            Error(format!(
                "Error moving temp DB file {} on the final destination {filename}: {e}",
                tmp.display()
            ))
        })?;
        Ok(stats)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// What a load did.
#[derive(Debug, Clone, Default)]
pub struct LoadStats {
    /// The file's RDB version.
    pub version: u16,
    /// Keys stored.
    pub keys_loaded: u64,
    /// Keys skipped because their time had run out.
    pub keys_expired: u64,
    /// Empty collections skipped.
    pub empty_skipped: u64,
    /// Function libraries skipped (Brim has no functions).
    pub functions_skipped: u64,
    /// The AUX fields.
    pub aux: Vec<(String, String)>,
}

/// How a loaded key's access data is set from the file's IDLE / FREQ records.
#[derive(Debug, Clone, Copy)]
pub enum AccessLoad {
    /// An LRU-style policy: IDLE sets the access time.
    Lru,
    /// An LFU policy: FREQ sets the counter.
    Lfu,
}

/// The access data for a key restored with an idle time (seconds) or a counter, or `None`
/// to keep the fresh key's own.
pub fn access_data(mode: AccessLoad, acc: &Access, idle_s: Option<u64>, freq: Option<u8>) -> Option<u32> {
    match mode {
        AccessLoad::Lfu => {
            let minutes = ((acc.now_ms / 60_000) as u64 & 0xFFFF) as u32;
            freq.map(|f| (minutes << 8) | f as u32)
        }
        AccessLoad::Lru => idle_s.map(|s| {
            let ticks = s.saturating_mul(1000 / brim_engine::lru::ACCESS_CLOCK_RESOLUTION_MS as u64);
            acc.access_clock().wrapping_sub(ticks.min(u32::MAX as u64 / 2) as u32)
        }),
    }
}

/// Load an RDB file into the (empty) keyspace. Keys whose time ran out are skipped, as a
/// master does. `Ok(None)` if the file does not exist.
pub fn load(
    ks: &Keyspace,
    path: &Path,
    lim: &Limits,
    verify: bool,
    acc: &Access,
    mode: AccessLoad,
) -> Result<Option<LoadStats>> {
    let f = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error(format!("Fatal error loading the DB: {e}. Exiting."))),
    };
    let progress = tracker();
    if let (Some(p), Ok(meta)) = (&progress, f.metadata()) {
        p.total_bytes.fetch_add(meta.len(), Relaxed);
    }
    let counted = Counted { inner: f, progress };
    load_from(ks, BufReader::with_capacity(1 << 16, counted), lim, verify, acc, mode).map(Some)
}

/// Load an RDB stream into the keyspace.
pub fn load_from<R: std::io::Read>(
    ks: &Keyspace,
    r: R,
    lim: &Limits,
    verify: bool,
    acc: &Access,
    mode: AccessLoad,
) -> Result<LoadStats> {
    let mut rd = Reader::new(r, verify)?;
    let mut stats = LoadStats { version: rd.version(), ..LoadStats::default() };
    let mut db = 0usize;
    let progress = tracker();
    loop {
        match rd.next_record()? {
            Record::Eof => return Ok(stats),
            Record::Aux(k, v) => {
                if let (Some(p), b"used-mem") = (&progress, &k[..]) {
                    let used = std::str::from_utf8(&v).ok().and_then(|v| v.parse().ok()).unwrap_or(0);
                    p.rdb_used_mem.store(used, Relaxed);
                }
                stats.aux.push((
                    String::from_utf8_lossy(&k).into_owned(),
                    String::from_utf8_lossy(&v).into_owned(),
                ))
            }
            Record::SelectDb(n) => {
                if n >= ks.len() as u64 {
                    return Err(Error(format!(
                        "FATAL: Data file was created with a Redis server configured to handle more than {} databases. Exiting\n",
                        ks.len()
                    )));
                }
                db = n as usize;
            }
            Record::ResizeDb(..) => {}
            Record::Function(_) => stats.functions_skipped += 1,
            Record::Entry(e) => {
                if e.value.is_empty() {
                    stats.empty_skipped += 1;
                    continue;
                }
                if e.expire_ms.is_some_and(|w| w < acc.now_ms) {
                    stats.keys_expired += 1;
                    continue;
                }
                let d = ks.db(db);
                let mut stripe = d.lock(&e.key);
                let before = stripe.len();
                let expire = e.expire_ms.map_or(SetExpire::Clear, SetExpire::At);
                with_new_value(&e.value, lim, |nv| stripe.set(&e.key, nv, expire, acc))
                    .map_err(|x| Error(format!("{x} (key '{}')", String::from_utf8_lossy(&e.key))))?;
                // The keyspace starts empty and nothing expires here: a key that did not add
                // one was already there.
                if stripe.len() == before {
                    return Err(Error(format!(
                        "RDB has duplicated key '{}' in DB {db}",
                        String::from_utf8_lossy(&e.key)
                    )));
                }
                if let Some(data) = access_data(mode, acc, e.idle_s, e.freq) {
                    if let Some(mut m) = stripe.get_mut(&e.key, &acc.no_touch()) {
                        m.set_access_data(data);
                    }
                }
                stats.keys_loaded += 1;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rdb::encode::write_string;
    use crate::rdb::opcodes;
    use crate::rdb::types;

    #[test]
    fn loads_inside_track_loading_report_their_progress() {
        let dir = std::env::temp_dir().join(format!("brim-loadprog-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let ks = Keyspace::new(1, 4);
        let acc = Access::at(1_000_000);
        for i in 0..3000u32 {
            let k = format!("k{i}");
            ks.db(0).lock(k.as_bytes()).set(
                k.as_bytes(),
                brim_engine::NewValue::Str(format!("value {i}").as_bytes()),
                SetExpire::Clear,
                &acc,
            );
        }
        let opts = SaveOptions {
            values: Options::default(),
            checksum: true,
            used_mem: 12345,
            aof_base: false,
            commands: false,
        };
        save(&ks, &dir, "p.rdb", "t", &opts, &acc, None).unwrap();
        let size = std::fs::metadata(dir.join("p.rdb")).unwrap().len();
        let progress = Arc::new(LoadProgress::default());
        let load_it = || {
            load(&Keyspace::new(1, 4), &dir.join("p.rdb"), &Limits::default(), true, &acc, AccessLoad::Lru)
        };
        let stats = track_loading(progress.clone(), load_it).unwrap().unwrap();
        assert_eq!(stats.keys_loaded, 3000);
        assert_eq!(progress.total_bytes.load(Relaxed), size);
        assert_eq!(progress.loaded_bytes.load(Relaxed), size);
        assert_eq!(progress.rdb_used_mem.load(Relaxed), 12345);
        // Outside track_loading, nothing is reported.
        load_it().unwrap();
        assert_eq!(progress.loaded_bytes.load(Relaxed), size);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn duplicate_keys_and_too_many_databases_are_refused() {
        let mut f = b"REDIS0010".to_vec();
        f.extend_from_slice(&[opcodes::SELECTDB, 0]);
        for _ in 0..2 {
            f.push(types::STRING);
            write_string(&mut f, b"k", false);
            write_string(&mut f, b"v", false);
        }
        f.push(opcodes::EOF);
        f.extend_from_slice(&[0; 8]);
        let ks = Keyspace::new(2, 4);
        let acc = Access::at(0);
        let err = load_from(&ks, &f[..], &Limits::default(), true, &acc, AccessLoad::Lru).unwrap_err();
        assert!(err.0.contains("duplicated key 'k'"), "{err}");
        let mut f = b"REDIS0010".to_vec();
        f.extend_from_slice(&[opcodes::SELECTDB, 5, opcodes::EOF]);
        f.extend_from_slice(&[0; 8]);
        let err = load_from(&Keyspace::new(2, 4), &f[..], &Limits::default(), true, &acc, AccessLoad::Lru)
            .unwrap_err();
        assert!(err.0.contains("more than 2 databases"), "{err}");
    }
}
