//! Loading the dataset at start-up while clients are connected (-LOADING, INFO `loading:1`
//! and the `loading_*` fields), shutting down during a load, and RDB file sizes beside
//! Redis's for the same dataset (SAVE, and BGSAVE with stripes serialized by writers).

mod common;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::{encode, Raw, Server};

const LOADING: &str = "-LOADING Redis is loading the dataset in memory\r\n";

/// Keys in the dataset whose load is observed: big enough that loading takes a while.
const BIG_KEYS: u64 = 1_500_000;

/// A directory removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> TempDir {
        let dir = std::env::temp_dir().join(format!(
            "brim-test-{tag}-{}-{}",
            std::process::id(),
            common::free_port()
        ));
        std::fs::create_dir_all(&dir).expect("temp dir");
        TempDir(dir)
    }

    fn path(&self) -> &str {
        self.0.to_str().expect("utf-8 path")
    }

    fn rdb(&self) -> PathBuf {
        self.0.join("dump.rdb")
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The Redis oracle with `keys` DEBUG POPULATE keys (values of 100 bytes) plus `script`,
/// saved; its RDB is copied into a fresh directory. Returns the directory and the value of
/// `key:1` as Redis replies it.
fn redis_rdb(keys: u64, script: &[Vec<String>]) -> (TempDir, Vec<u8>) {
    let redis = Server::redis(&["--enable-debug-command", "yes"]);
    // Populating and saving take long on a busy machine: no read timeout for them.
    let mut slow = redis.client();
    let populated: redis::RedisResult<()> =
        redis::cmd("DEBUG").arg("POPULATE").arg(keys).arg("key").arg(100).query(&mut slow);
    populated.expect("DEBUG POPULATE");
    let mut r = redis.raw();
    pipeline(&mut r, script);
    let saved: redis::RedisResult<()> = redis::cmd("SAVE").query(&mut slow);
    saved.expect("SAVE");
    let value = r.cmd(&["GET", "key:1"]);
    let dir = TempDir::new("loading");
    std::fs::copy(redis.dir.join("dump.rdb"), dir.rdb()).expect("copy the RDB");
    (dir, value)
}

/// Send `cmds` in one write and read every reply.
fn pipeline(c: &mut Raw, cmds: &[Vec<String>]) -> Vec<String> {
    let mut bytes = Vec::new();
    for cmd in cmds {
        let args: Vec<&[u8]> = cmd.iter().map(|a| a.as_bytes()).collect();
        bytes.extend_from_slice(&encode(&args));
    }
    c.send(&bytes);
    cmds.iter().map(|_| String::from_utf8_lossy(&c.read_reply()).into_owned()).collect()
}

fn cmds(list: &[&[&str]]) -> Vec<Vec<String>> {
    list.iter().map(|c| c.iter().map(|a| a.to_string()).collect()).collect()
}

/// Wait (up to 5 minutes) until the server answers PING with PONG.
fn wait_loaded(c: &mut Raw) {
    let deadline = Instant::now() + Duration::from_secs(300);
    loop {
        let r = c.cmd_str(&["PING"]);
        if r == "+PONG\r\n" {
            return;
        }
        assert_eq!(r, LOADING);
        assert!(Instant::now() < deadline, "the dataset did not load in time");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// `name:value` lines of an INFO reply, in order.
fn info_fields(info: &str) -> Vec<(String, String)> {
    info.lines()
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.to_string(), v.trim_end().to_string()))
        .collect()
}

fn field<'a>(fields: &'a [(String, String)], name: &str) -> Option<&'a str> {
    fields.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

/// INFO persistence while loading: `loading:1`, then Redis 7.0's progress fields last, in
/// its order, with sane values.
fn assert_loading_progress(info: &str, file_size: u64) {
    let f = info_fields(info);
    assert_eq!(field(&f, "loading"), Some("1"), "{info}");
    assert_eq!(field(&f, "async_loading"), Some("0"), "{info}");
    let names: Vec<&str> = f.iter().rev().take(6).rev().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        names,
        [
            "loading_start_time",
            "loading_total_bytes",
            "loading_rdb_used_mem",
            "loading_loaded_bytes",
            "loading_loaded_perc",
            "loading_eta_seconds"
        ],
        "{info}"
    );
    let num = |name: &str| -> f64 { field(&f, name).and_then(|v| v.parse().ok()).expect(name) };
    let now_s = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("clock").as_secs();
    let start = num("loading_start_time") as u64;
    assert!(start <= now_s && now_s - start < 600, "{info}");
    assert_eq!(num("loading_total_bytes") as u64, file_size, "{info}");
    assert!(num("loading_rdb_used_mem") > 0.0, "the file's used-mem: {info}");
    let loaded = num("loading_loaded_bytes");
    assert!(loaded > 0.0 && loaded <= file_size as f64, "{info}");
    let perc = num("loading_loaded_perc");
    assert!((0.0..=100.0).contains(&perc), "{info}");
    assert!((perc - loaded / (file_size as f64 + 1.0) * 100.0).abs() < 0.01, "{info}");
    assert!(num("loading_eta_seconds") >= 0.0, "{info}");
}

#[test]
fn commands_get_loading_while_the_dataset_loads_then_the_data_is_there() {
    let (dir, value) = redis_rdb(BIG_KEYS, &[]);
    let file_size = std::fs::metadata(dir.rdb()).expect("rdb").len();
    let brim = Server::start(&["--dir", dir.path()]);
    let mut c = brim.raw();
    // One batch, INFO persistence last: if it still says loading:1, every command before it
    // ran while loading (loading only ever ends).
    let probe = cmds(&[
        &["PING"],
        &["GET", "key:1"],
        // Changes nothing if the load ended in the middle of the batch.
        &["SETNX", "key:1", "x"],
        &["DBSIZE"],
        &["MULTI"],
        &["GET", "key:1"],
        &["EXEC"],
        &["CONFIG", "GET", "maxmemory"],
        &["SELECT", "0"],
        &["INFO", "errorstats"],
        &["INFO", "commandstats"],
        &["INFO", "persistence"],
    ]);
    let r = pipeline(&mut c, &probe);
    if !r[11].contains("loading:1") {
        println!("loading finished during the first probe: in-progress checks skipped");
    } else {
        assert_eq!(r[0], LOADING);
        assert_eq!(r[1], LOADING);
        assert_eq!(r[2], LOADING);
        assert_eq!(r[3], LOADING);
        // As Redis 7.0: a refused command flags the transaction.
        assert_eq!(r[4], "+OK\r\n");
        assert_eq!(r[5], LOADING);
        assert_eq!(r[6], "-EXECABORT Transaction discarded because of previous errors.\r\n");
        // Commands with the `loading` flag run.
        assert_eq!(r[7], "*2\r\n$9\r\nmaxmemory\r\n$1\r\n0\r\n");
        assert_eq!(r[8], "+OK\r\n");
        assert!(r[9].contains("errorstat_LOADING:count=5\r\n"), "{}", r[9]);
        assert!(
            r[10].contains("cmdstat_ping:calls=0,usec=0,usec_per_call=0.00,rejected_calls=1,"),
            "{}",
            r[10]
        );
        assert!(
            r[10].contains("cmdstat_get:calls=0,usec=0,usec_per_call=0.00,rejected_calls=2,"),
            "{}",
            r[10]
        );
        assert_loading_progress(&r[11], file_size);
    }
    wait_loaded(&mut c);
    assert_eq!(c.cmd_str(&["DBSIZE"]), format!(":{BIG_KEYS}\r\n"));
    assert_eq!(c.cmd(&["GET", "key:1"]), value);
    let info = c.cmd_str(&["INFO", "persistence"]);
    let f = info_fields(&info);
    assert_eq!(field(&f, "loading"), Some("0"), "{info}");
    assert_eq!(field(&f, "rdb_last_load_keys_loaded"), Some(BIG_KEYS.to_string().as_str()), "{info}");
    assert!(!info.contains("loading_start_time"), "{info}");
    assert_eq!(c.cmd_str(&["SET", "foo", "bar"]), "+OK\r\n");
}

#[test]
fn a_small_dataset_is_in_before_any_client_is_served() {
    let first = Server::start(&[]);
    let mut c = first.raw();
    assert_eq!(c.cmd_str(&["SET", "k", "v"]), "+OK\r\n");
    assert_eq!(c.cmd_str(&["RPUSH", "l", "a", "b"]), ":2\r\n");
    assert_eq!(c.cmd_str(&["SAVE"]), "+OK\r\n");
    let dir = TempDir::new("small");
    std::fs::copy(first.dir.join("dump.rdb"), dir.rdb()).expect("copy the RDB");
    for _ in 0..3 {
        let brim = Server::start(&["--dir", dir.path()]);
        let mut c = brim.raw();
        assert_eq!(c.cmd_str(&["GET", "k"]), "$1\r\nv\r\n");
        assert_eq!(c.cmd_str(&["LRANGE", "l", "0", "-1"]), "*2\r\n$1\r\na\r\n$1\r\nb\r\n");
        assert!(c.cmd_str(&["INFO", "persistence"]).contains("loading:0\r\n"));
    }
}

/// The file's size and modification time.
fn stamp(path: &Path) -> (u64, std::time::SystemTime) {
    let m = std::fs::metadata(path).expect("rdb");
    (m.len(), m.modified().expect("mtime"))
}

#[test]
fn shutdown_while_loading_exits_without_saving_over_the_file() {
    let (dir, _) = redis_rdb(BIG_KEYS, &[]);
    let before = stamp(&dir.rdb());
    // SHUTDOWN (save points configured: it would save) and SIGTERM.
    for how in ["SHUTDOWN", "SIGTERM"] {
        let mut brim = Server::start(&["--dir", dir.path(), "--save", "3600 1"]);
        let mut c = brim.raw();
        if c.cmd_str(&["PING"]) != LOADING {
            println!("{how}: loading finished before the first probe: skipped");
            continue;
        }
        if how == "SHUTDOWN" {
            c.send(&encode(&[b"SHUTDOWN"]));
            assert!(c.is_closed());
        } else {
            let status = std::process::Command::new("kill")
                .args(["-TERM", &brim.child.id().to_string()])
                .status()
                .expect("kill");
            assert!(status.success());
        }
        assert!(brim.wait_exit(), "{how}: the server did not exit");
        assert_eq!(stamp(&dir.rdb()), before, "{how}: the RDB was written");
        assert!(!std::fs::read_dir(&dir.0)
            .expect("dir")
            .any(|e| e.map(|e| e.file_name().to_string_lossy().starts_with("temp-")).unwrap_or(false)));
    }
}

/// Compressible collections of every encoding, small and big.
fn collections() -> Vec<Vec<String>> {
    let mut v = Vec::new();
    let s = |parts: &[&str]| parts.iter().map(|p| p.to_string()).collect::<Vec<_>>();
    for i in 0..300 {
        let (a, b) = (format!("{}{i}", "a".repeat(40)), format!("{}{i}", "b".repeat(48)));
        v.push(s(&["HSET", &format!("h:{i}"), "f1", &a, "f2", &b]));
        v.push(s(&["RPUSH", &format!("l:{i}"), &a, &b]));
        v.push(s(&["SADD", &format!("s:{i}"), &a, &b]));
        v.push(s(&["ZADD", &format!("z:{i}"), "1", &a, "2", &b]));
    }
    for i in 0..2000 {
        let long = format!("{}{i}", "g".repeat(70));
        v.push(s(&["HSET", "bigh", &format!("field{i}"), &long]));
        v.push(s(&["RPUSH", "bigl", &long]));
        v.push(s(&["SADD", "bigs", &long]));
        v.push(s(&["ZADD", "bigz", &i.to_string(), &long]));
    }
    v
}

fn assert_within_10_percent(what: &str, brim: u64, redis: u64) {
    println!("{what}: Brim {brim} bytes, Redis {redis} bytes");
    assert!(brim * 10 <= redis * 11, "{what}: Brim's RDB is {brim} bytes, Redis's {redis}");
}

fn wait_bgsave_done(c: &mut Raw) {
    let deadline = Instant::now() + Duration::from_secs(120);
    while !c.cmd_str(&["INFO", "persistence"]).contains("rdb_bgsave_in_progress:0\r\n") {
        assert!(Instant::now() < deadline, "BGSAVE did not finish");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn rdb_files_are_as_small_as_redis_ones_for_the_same_dataset() {
    let (dir, _) = redis_rdb(200_000, &collections());
    let redis_size = std::fs::metadata(dir.rdb()).expect("rdb").len();
    let log = dir.0.join("brim.log");
    let brim = Server::start(&["--dir", dir.path(), "--save", "", "--logfile", log.to_str().expect("path")]);
    let mut c = brim.raw();
    wait_loaded(&mut c);
    assert_eq!(c.cmd_str(&["DBSIZE"]), format!(":{}\r\n", 200_000 + 4 * 300 + 4));
    assert_eq!(c.cmd_str(&["SAVE"]), "+OK\r\n");
    assert_within_10_percent("SAVE", stamp(&dir.rdb()).0, redis_size);
    // BGSAVE followed at once by writes to every stripe, in the same batch: the writers
    // serialize most stripes before the saver gets there. The file is the dataset as it was
    // at BGSAVE, the same as Redis's.
    let mut batch = cmds(&[&["BGSAVE"]]);
    batch.extend((0..5000).map(|i| vec!["SET".to_string(), format!("w:{i}"), "x".repeat(100)]));
    let replies = pipeline(&mut c, &batch);
    assert_eq!(replies[0], "+Background saving started\r\n");
    wait_bgsave_done(&mut c);
    assert!(c.cmd_str(&["INFO", "persistence"]).contains("rdb_last_bgsave_status:ok\r\n"));
    assert_within_10_percent("BGSAVE under writes", stamp(&dir.rdb()).0, redis_size);
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    if let Some(line) = text.lines().rev().find(|l| l.contains("stripes serialized ahead of a write")) {
        println!("{line}");
        assert!(!line.contains(": 0 stripes serialized"), "no stripe was serialized by a writer: {line}");
    }
}
