//! Persistence (SAVE, BGSAVE, save points, loading at start-up, SHUTDOWN SAVE, DUMP /
//! RESTORE): interoperability with the real Redis 7.0.15 in both directions. Brim writes an
//! RDB with every type and encoding, `redis-check-rdb` accepts it and `redis-server` loads it
//! with every key, value and expire time intact; Redis writes one and Brim loads it; DUMP
//! payloads travel both ways; corrupt files are refused with a clear error; a shutdown with
//! save keeps the data across a restart.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{assert_same, bulks, encode, free_port, info_str, pair, wait_for, Raw, Server};

/// A fresh directory for RDB files, removed when dropped.
struct Dir(PathBuf);

impl Dir {
    fn new(tag: &str) -> Dir {
        let d =
            std::env::temp_dir().join(format!("brim-persist-{tag}-{}-{}", std::process::id(), free_port()));
        std::fs::create_dir_all(&d).expect("dir");
        Dir(d)
    }

    fn path(&self) -> &str {
        self.0.to_str().expect("utf-8 path")
    }

    fn file(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Start Brim saving to / loading from `dir/file`.
fn brim_in(dir: &Dir, file: &str, extra: &[&str]) -> Server {
    let mut args = vec!["--dir", dir.path(), "--dbfilename", file];
    args.extend_from_slice(extra);
    Server::start(&args)
}

/// Start Redis saving to / loading from `dir/file`.
fn redis_in(dir: &Dir, file: &str, extra: &[&str]) -> Server {
    let mut args = vec!["--dir", dir.path(), "--dbfilename", file];
    args.extend_from_slice(extra);
    Server::redis(&args)
}

fn cmd<A: AsRef<[u8]>>(raw: &mut Raw, args: &[A]) -> Vec<u8> {
    let a: Vec<&[u8]> = args.iter().map(|s| s.as_ref()).collect();
    raw.send(&encode(&a));
    raw.read_reply()
}

fn run(raw: &mut Raw, args: &[&str]) -> String {
    raw.cmd_str(args)
}

fn strs(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

/// Keys of every type and encoding, in databases 0 and 2, some with expire times.
fn populate(raw: &mut Raw) {
    let long_text = "lorem ipsum dolor sit amet ".repeat(40);
    let binary: String = (1u8..=126).map(|b| b as char).collect();
    let mut cmds: Vec<Vec<String>> = vec![
        strs(&["SET", "s:int", "12345"]),
        strs(&["SET", "s:negint", "-70000"]),
        strs(&["SET", "s:bigint", "9223372036854775807"]),
        strs(&["SET", "s:notint", "007"]),
        strs(&["SET", "s:embstr", "hello world"]),
        strs(&["SET", "s:empty", ""]),
        vec!["SET".into(), "s:long".into(), long_text.clone()],
        vec!["SET".into(), "s:binary".into(), binary],
        strs(&["SET", "s:ttl", "v", "PX", "5000000"]),
        strs(&["RPUSH", "l:small", "a", "b", "1", "2", "300", "-5", "70000", "9223372036854775807"]),
        strs(&["RPUSH", "l:ttl", "x"]),
        strs(&["PEXPIRE", "l:ttl", "4000000"]),
        strs(&["HSET", "h:small", "f1", "v1", "f2", "2", "f3", ""]),
        strs(&["SADD", "set:ints", "1", "2", "3", "-100", "100000", "5000000000"]),
        strs(&["SADD", "set:small", "a", "b", "c", "1"]),
        strs(&["ZADD", "z:small", "1", "a", "2.5", "b", "-inf", "c", "inf", "d", "0", "e"]),
        strs(&["ZADD", "z:ttl", "1", "a"]),
        strs(&["EXPIRE", "z:ttl", "3000"]),
    ];
    let mut big_list = strs(&["RPUSH", "l:big"]);
    for i in 0..5000 {
        big_list.push(format!("element-{i}-{}", "x".repeat(i % 50)));
    }
    cmds.push(big_list);
    let mut hash_many = strs(&["HSET", "h:many"]);
    for i in 0..600 {
        hash_many.push(format!("field{i}"));
        hash_many.push(format!("value{i}"));
    }
    cmds.push(hash_many);
    cmds.push(vec!["HSET".into(), "h:longvalue".into(), "f".into(), "v".repeat(100)]);
    let mut ints = strs(&["SADD", "set:manyints"]);
    ints.extend((0..600).map(|i| (i * 7).to_string()));
    cmds.push(ints);
    let mut members = strs(&["SADD", "set:big"]);
    members.extend((0..300).map(|i| format!("member:{i}")));
    cmds.push(members);
    let mut z = strs(&["ZADD", "z:big"]);
    for i in 0..400 {
        z.push(format!("{}", i as f64 * 1.25 - 100.0));
        z.push(format!("zm{i}"));
    }
    cmds.push(z);
    cmds.push(vec!["ZADD".into(), "z:longmember".into(), "1".into(), "m".repeat(100)]);
    cmds.push(strs(&["SELECT", "2"]));
    cmds.push(strs(&["SET", "db2:key", "in db 2"]));
    cmds.push(strs(&["HSET", "db2:hash", "a", "1"]));
    cmds.push(strs(&["SELECT", "0"]));
    for c in &cmds {
        let r = cmd(raw, c);
        assert!(!r.starts_with(b"-"), "{:?}: {}", &c[..2], String::from_utf8_lossy(&r));
    }
}

/// Everything observable about the keyspace: per database and key, its type, its value
/// (collections in a canonical order), and its absolute expire time.
fn snapshot(raw: &mut Raw) -> BTreeMap<(u32, String), (String, Vec<String>, String)> {
    let mut all = BTreeMap::new();
    for db in [0u32, 2] {
        run(raw, &["SELECT", &db.to_string()]);
        let keys = bulks(&raw.cmd(&["KEYS", "*"]));
        for k in keys {
            let t = run(raw, &["TYPE", &k]).trim().trim_start_matches('+').to_string();
            let mut v = match t.as_str() {
                "string" => vec![String::from_utf8_lossy(&raw.cmd(&["GET", &k])).into_owned()],
                "list" => bulks(&raw.cmd(&["LRANGE", &k, "0", "-1"])),
                "hash" => {
                    let b = bulks(&raw.cmd(&["HGETALL", &k]));
                    let mut pairs: Vec<String> = b.chunks(2).map(|p| format!("{}={}", p[0], p[1])).collect();
                    pairs.sort();
                    pairs
                }
                "set" => {
                    let mut m = bulks(&raw.cmd(&["SMEMBERS", &k]));
                    m.sort();
                    m
                }
                "zset" => bulks(&raw.cmd(&["ZRANGE", &k, "0", "-1", "WITHSCORES"])),
                other => panic!("unexpected type {other} for {k}"),
            };
            v.shrink_to_fit();
            let exp = run(raw, &["PEXPIRETIME", &k]).trim().to_string();
            all.insert((db, k), (t, v, exp));
        }
    }
    run(raw, &["SELECT", "0"]);
    all
}

fn check_rdb(path: &Path) {
    let out = Command::new("redis-check-rdb").arg(path).output().expect("redis-check-rdb");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && text.contains("RDB looks OK"),
        "redis-check-rdb refused {path:?}:\n{text}"
    );
}

/// Encodings Brim and Redis 7.0 agree on after loading the same data.
const SAME_ENCODING: &[&str] = &[
    "s:int",
    "s:embstr",
    "s:long",
    "h:small",
    "h:many",
    "h:longvalue",
    "set:ints",
    "set:manyints",
    "set:big",
    "z:small",
    "z:big",
    "z:longmember",
    "l:big",
];

#[test]
fn brim_writes_every_type_and_redis_loads_it() {
    let dir = Dir::new("b2r");
    let brim = brim_in(&dir, "brim.rdb", &[]);
    let mut b = brim.raw();
    populate(&mut b);
    let want = snapshot(&mut b);
    assert_eq!(run(&mut b, &["SAVE"]), "+OK\r\n");
    check_rdb(&dir.file("brim.rdb"));
    let redis = redis_in(&dir, "brim.rdb", &[]);
    let mut r = redis.raw();
    let got = snapshot(&mut r);
    assert_eq!(got.len(), want.len());
    assert_eq!(got, want);
    for k in SAME_ENCODING {
        assert_same(&mut b, &mut r, &[&["OBJECT", "ENCODING", k]]);
    }
}

#[test]
fn brim_writes_without_compression_or_checksum() {
    let dir = Dir::new("b2r-plain");
    let brim = brim_in(&dir, "plain.rdb", &["--rdbcompression", "no", "--rdbchecksum", "no"]);
    let mut b = brim.raw();
    populate(&mut b);
    let want = snapshot(&mut b);
    assert_eq!(run(&mut b, &["SAVE"]), "+OK\r\n");
    let bytes = std::fs::read(dir.file("plain.rdb")).expect("rdb");
    assert_eq!(&bytes[bytes.len() - 8..], &[0; 8], "checksum disabled");
    assert_eq!(&bytes[..9], b"REDIS0010");
    check_rdb(&dir.file("plain.rdb"));
    let redis = redis_in(&dir, "plain.rdb", &[]);
    assert_eq!(snapshot(&mut redis.raw()), want);
}

#[test]
fn redis_writes_every_type_and_brim_loads_it() {
    let dir = Dir::new("r2b");
    let redis = redis_in(&dir, "redis.rdb", &[]);
    let mut r = redis.raw();
    populate(&mut r);
    let want = snapshot(&mut r);
    assert_eq!(run(&mut r, &["SAVE"]), "+OK\r\n");
    let brim = brim_in(&dir, "redis.rdb", &[]);
    let mut b = brim.raw();
    assert_eq!(snapshot(&mut b), want);
    for k in SAME_ENCODING {
        assert_same(&mut b, &mut r, &[&["OBJECT", "ENCODING", k]]);
    }
    assert_eq!(info_str(&mut b, "persistence", "rdb_last_load_keys_loaded"), want.len().to_string());
    assert_eq!(info_str(&mut b, "persistence", "rdb_changes_since_last_save"), "0");
    // And Brim writes it back in a form Redis loads again identically.
    assert_eq!(run(&mut b, &["SAVE"]), "+OK\r\n");
    check_rdb(&dir.file("redis.rdb"));
    drop(redis);
    let again = redis_in(&dir, "redis.rdb", &[]);
    assert_eq!(snapshot(&mut again.raw()), want);
}

#[test]
fn redis_rdb_written_with_small_thresholds_loads_in_every_encoding() {
    // Redis writes listpack/intset/ziplist-era compact types only for small values; with the
    // thresholds raised, the compact types carry big collections, and with them lowered the
    // plain types carry small ones. Brim must read both and pick its own encodings.
    let dir = Dir::new("r2b-thresholds");
    let redis = redis_in(
        &dir,
        "t.rdb",
        &[
            "--hash-max-listpack-entries",
            "1000",
            "--zset-max-listpack-entries",
            "1000",
            "--set-max-intset-entries",
            "2000",
            "--list-max-listpack-size",
            "5",
        ],
    );
    let mut r = redis.raw();
    populate(&mut r);
    let want = snapshot(&mut r);
    assert_eq!(run(&mut r, &["SAVE"]), "+OK\r\n");
    let brim = brim_in(&dir, "t.rdb", &[]);
    let mut b = brim.raw();
    assert_eq!(snapshot(&mut b), want);
    // Loaded with Brim's (default) thresholds: big ones are big again.
    assert_eq!(run(&mut b, &["OBJECT", "ENCODING", "h:many"]), "$9\r\nhashtable\r\n");
    assert_eq!(run(&mut b, &["OBJECT", "ENCODING", "z:big"]), "$8\r\nskiplist\r\n");
    assert_eq!(run(&mut b, &["OBJECT", "ENCODING", "set:manyints"]), "$9\r\nhashtable\r\n");
}

#[test]
fn dump_payloads_travel_both_ways() {
    let (_brim, _redis, mut b, mut r) = pair(&[]);
    populate(&mut r);
    populate(&mut b);
    let want = snapshot(&mut r);
    // Strings and small compact values dump to the same bytes.
    for k in ["s:int", "s:negint", "s:bigint", "s:notint", "s:embstr", "s:empty", "h:small"] {
        assert_same(&mut b, &mut r, &[&["DUMP", k]]);
    }
    // Redis -> Brim and Brim -> Redis, for every key of database 0.
    let b2 = Server::start(&[]);
    let r2 = Server::redis(&[]);
    let (mut b2, mut r2) = (b2.raw(), r2.raw());
    for ((db, key), _) in want.iter().filter(|((db, _), _)| *db == 0) {
        let _ = db;
        let from_redis = r.cmd(&["DUMP", key]);
        let payload = payload_of(&from_redis);
        let reply = cmd(&mut b2, &[b"RESTORE".to_vec(), key.clone().into_bytes(), b"0".to_vec(), payload]);
        assert_eq!(String::from_utf8_lossy(&reply), "+OK\r\n", "RESTORE in Brim of Redis's DUMP of {key}");
        let from_brim = b.cmd(&["DUMP", key]);
        let payload = payload_of(&from_brim);
        let reply = cmd(&mut r2, &[b"RESTORE".to_vec(), key.clone().into_bytes(), b"0".to_vec(), payload]);
        assert_eq!(String::from_utf8_lossy(&reply), "+OK\r\n", "RESTORE in Redis of Brim's DUMP of {key}");
    }
    let strip_ttl = |m: BTreeMap<(u32, String), (String, Vec<String>, String)>| {
        m.into_iter()
            .filter(|((db, _), _)| *db == 0)
            .map(|(k, (t, v, _))| (k, (t, v)))
            .collect::<BTreeMap<_, _>>()
    };
    let want = strip_ttl(want);
    assert_eq!(strip_ttl(snapshot(&mut b2)), want);
    assert_eq!(strip_ttl(snapshot(&mut r2)), want);
}

/// The payload of a bulk reply.
fn payload_of(reply: &[u8]) -> Vec<u8> {
    assert!(reply.starts_with(b"$"), "not a bulk: {:?}", String::from_utf8_lossy(reply));
    let nl = reply.iter().position(|&c| c == b'\n').expect("header");
    let n: usize = std::str::from_utf8(&reply[1..nl - 1]).expect("len").parse().expect("len");
    reply[nl + 1..nl + 1 + n].to_vec()
}

#[test]
fn restore_options_and_errors_match_redis() {
    let (_brim, _redis, mut b, mut r) = pair(&[]);
    for raw in [&mut b, &mut r] {
        run(raw, &["SET", "src", "value"]);
        run(raw, &["RPUSH", "lsrc", "a", "b"]);
    }
    let p = payload_of(&r.cmd(&["DUMP", "src"]));
    let lp = payload_of(&r.cmd(&["DUMP", "lsrc"]));
    let mut bad = p.clone();
    let n = bad.len();
    bad[n - 1] ^= 0xFF;
    let restore = |key: &str, ttl: &str, payload: &[u8], opts: &[&str]| -> Vec<Vec<u8>> {
        let mut v =
            vec![b"RESTORE".to_vec(), key.as_bytes().to_vec(), ttl.as_bytes().to_vec(), payload.to_vec()];
        v.extend(opts.iter().map(|o| o.as_bytes().to_vec()));
        v
    };
    let c = |args: &[&str]| -> Vec<Vec<u8>> { args.iter().map(|a| a.as_bytes().to_vec()).collect() };
    let script: Vec<Vec<Vec<u8>>> = vec![
        c(&["DUMP", "nosuchkey"]),
        restore("src", "0", &p, &[]),
        restore("new", "-1", &p, &[]),
        restore("new", "abc", &p, &[]),
        restore("new", "0", &bad, &[]),
        restore("new", "0", b"short", &[]),
        restore("new", "0", &p, &["BOGUS"]),
        restore("new", "0", &p, &["IDLETIME"]),
        restore("new", "0", &p, &["IDLETIME", "-1"]),
        restore("new", "0", &p, &["IDLETIME", "x"]),
        restore("new", "0", &p, &["FREQ", "256"]),
        restore("new", "0", &p, &["FREQ", "-1"]),
        restore("new", "0", &p, &["FREQ", "1", "IDLETIME", "1"]),
        restore("new", "0", &p, &["IDLETIME", "1", "FREQ", "1"]),
        restore("src", "0", &lp, &["REPLACE"]),
        c(&["TYPE", "src"]),
        c(&["LRANGE", "src", "0", "-1"]),
        restore("ttl", "100000", &p, &[]),
        c(&["TYPE", "ttl"]),
        restore("past", "1000", &p, &["ABSTTL"]),
        c(&["EXISTS", "past"]),
        restore("src", "1000", &p, &["ABSTTL", "REPLACE"]),
        c(&["EXISTS", "src"]),
        restore("idle", "0", &p, &["IDLETIME", "1000"]),
        restore("freq", "0", &p, &["FREQ", "100"]),
        restore("abs", "99999999999999", &p, &["ABSTTL"]),
        c(&["PEXPIRETIME", "abs"]),
        c(&["DBSIZE"]),
    ];
    for cm in &script {
        let want = cmd(&mut r, cm);
        let got = cmd(&mut b, cm);
        let name: Vec<String> = cm.iter().take(3).map(|a| String::from_utf8_lossy(a).into_owned()).collect();
        assert_eq!(String::from_utf8_lossy(&got), String::from_utf8_lossy(&want), "{name:?}");
    }
    // TTL from a relative RESTORE.
    let ttl: i64 = run(&mut b, &["PTTL", "ttl"]).trim().trim_start_matches(':').parse().expect("pttl");
    assert!((99_000..=100_000).contains(&ttl), "pttl {ttl}");
    // A version newer than 7.2's is refused; an empty collection is bad data.
    let mut v12 = payload_of(&r.cmd(&["DUMP", "lsrc"]));
    let n = v12.len();
    v12[n - 10] = 12;
    let crc = brim_crc(&v12[..n - 8]);
    v12[n - 8..].copy_from_slice(&crc.to_le_bytes());
    let reply = cmd(&mut b, &restore("v12", "0", &v12, &[]));
    assert_eq!(String::from_utf8_lossy(&reply), "-ERR DUMP payload version or checksum are wrong\r\n");
    let mut empty = vec![2u8, 0, 10, 0];
    let crc = brim_crc(&empty);
    empty.extend_from_slice(&crc.to_le_bytes());
    let want = cmd(&mut r, &restore("e", "0", &empty, &[]));
    let got = cmd(&mut b, &restore("e", "0", &empty, &[]));
    assert_eq!(String::from_utf8_lossy(&got), String::from_utf8_lossy(&want));
}

/// Redis's CRC-64 (Jones), bit by bit, for building test payloads.
fn brim_crc(data: &[u8]) -> u64 {
    let mut crc = 0u64;
    for &b in data {
        crc ^= b as u64;
        for _ in 0..8 {
            crc = if crc & 1 != 0 { (crc >> 1) ^ 0x95AC_9329_AC4B_C9B5 } else { crc >> 1 };
        }
    }
    crc
}

#[test]
fn restore_freq_and_idletime_set_access_data() {
    let lfu = Server::start(&["--maxmemory-policy", "allkeys-lfu", "--lfu-decay-time", "0"]);
    let mut b = lfu.raw();
    run(&mut b, &["SET", "k", "v"]);
    let p = payload_of(&b.cmd(&["DUMP", "k"]));
    let reply = cmd(&mut b, &[&b"RESTORE"[..], b"f", b"0", &p, b"FREQ", b"42"]);
    assert_eq!(reply, b"+OK\r\n");
    assert_eq!(run(&mut b, &["OBJECT", "FREQ", "f"]), ":42\r\n");
    let lru = Server::start(&[]);
    let mut b = lru.raw();
    let reply = cmd(&mut b, &[&b"RESTORE"[..], b"i", b"0", &p, b"IDLETIME", b"3600"]);
    assert_eq!(reply, b"+OK\r\n");
    let idle: i64 =
        run(&mut b, &["OBJECT", "IDLETIME", "i"]).trim().trim_start_matches(':').parse().expect("idle");
    assert!((3600..=3601).contains(&idle), "idle {idle}");
}

#[test]
fn idle_and_freq_survive_a_save_and_load() {
    let dir = Dir::new("access");
    // No decay: a minute boundary between the RESTORE and the last OBJECT FREQ would take
    // one off the counter, on both servers.
    let lfu: &[&str] = &["--maxmemory-policy", "allkeys-lfu", "--lfu-decay-time", "0"];
    {
        let brim = brim_in(&dir, "a.rdb", lfu);
        let mut b = brim.raw();
        run(&mut b, &["SET", "k", "v"]);
        let p = payload_of(&b.cmd(&["DUMP", "k"]));
        cmd(&mut b, &[&b"RESTORE"[..], b"f", b"0", &p, b"FREQ", b"77"]);
        assert_eq!(run(&mut b, &["SAVE"]), "+OK\r\n");
    }
    check_rdb(&dir.file("a.rdb"));
    let redis = redis_in(&dir, "a.rdb", lfu);
    assert_eq!(run(&mut redis.raw(), &["OBJECT", "FREQ", "f"]), ":77\r\n");
    let brim = brim_in(&dir, "a.rdb", lfu);
    assert_eq!(run(&mut brim.raw(), &["OBJECT", "FREQ", "f"]), ":77\r\n");
}

#[test]
fn bgsave_writes_a_file_redis_loads_and_reports_in_info() {
    let dir = Dir::new("bgsave");
    let brim = brim_in(&dir, "bg.rdb", &[]);
    let mut b = brim.raw();
    populate(&mut b);
    let want = snapshot(&mut b);
    assert_ne!(info_str(&mut b, "persistence", "rdb_changes_since_last_save"), "0");
    assert_eq!(run(&mut b, &["BGSAVE"]), "+Background saving started\r\n");
    wait_for(|| info_str(&mut b, "persistence", "rdb_bgsave_in_progress") == "0", "BGSAVE");
    assert_eq!(info_str(&mut b, "persistence", "rdb_last_bgsave_status"), "ok");
    assert_eq!(info_str(&mut b, "persistence", "rdb_changes_since_last_save"), "0");
    assert_eq!(info_str(&mut b, "persistence", "rdb_saves"), "1");
    assert_ne!(info_str(&mut b, "persistence", "rdb_last_bgsave_time_sec"), "-1");
    assert_eq!(run(&mut b, &["BGSAVE", "NOW"]), "-ERR syntax error\r\n");
    assert_eq!(run(&mut b, &["BGSAVE", "SCHEDULE"]), "+Background saving started\r\n");
    wait_for(|| info_str(&mut b, "persistence", "rdb_bgsave_in_progress") == "0", "BGSAVE SCHEDULE");
    // Inside a transaction it is scheduled.
    run(&mut b, &["MULTI"]);
    run(&mut b, &["BGSAVE"]);
    assert_eq!(run(&mut b, &["EXEC"]), "*1\r\n+Background saving scheduled\r\n");
    wait_for(|| info_str(&mut b, "persistence", "rdb_saves") == "3", "scheduled BGSAVE");
    wait_for(|| info_str(&mut b, "persistence", "rdb_bgsave_in_progress") == "0", "scheduled BGSAVE to end");
    check_rdb(&dir.file("bg.rdb"));
    let redis = redis_in(&dir, "bg.rdb", &[]);
    assert_eq!(snapshot(&mut redis.raw()), want);
}

#[test]
fn save_points_trigger_a_background_save() {
    let dir = Dir::new("savepoint");
    let brim = brim_in(&dir, "sp.rdb", &["--save", "1 2"]);
    let mut b = brim.raw();
    let before: i64 = run(&mut b, &["LASTSAVE"]).trim().trim_start_matches(':').parse().expect("lastsave");
    run(&mut b, &["SET", "a", "1"]);
    std::thread::sleep(Duration::from_millis(2200));
    assert!(!dir.file("sp.rdb").exists(), "one change does not reach the save point");
    run(&mut b, &["SET", "b", "2"]);
    wait_for(
        || dir.file("sp.rdb").exists() && info_str(&mut b, "persistence", "rdb_bgsave_in_progress") == "0",
        "save point",
    );
    let after: i64 = run(&mut b, &["LASTSAVE"]).trim().trim_start_matches(':').parse().expect("lastsave");
    assert!(after > before);
    check_rdb(&dir.file("sp.rdb"));
}

#[test]
fn shutdown_save_then_restart_keeps_the_data() {
    let dir = Dir::new("shutdown");
    let want;
    {
        let mut brim = brim_in(&dir, "s.rdb", &["--save", ""]);
        let mut b = brim.raw();
        populate(&mut b);
        want = snapshot(&mut b);
        b.send(&encode(&[b"SHUTDOWN", b"SAVE"]));
        assert!(b.is_closed());
        assert!(brim.wait_exit());
    }
    check_rdb(&dir.file("s.rdb"));
    let brim = brim_in(&dir, "s.rdb", &["--save", ""]);
    let mut b = brim.raw();
    assert_eq!(snapshot(&mut b), want);
    // NOSAVE leaves the file alone; the default saves only with save points.
    run(&mut b, &["FLUSHALL"]);
    b.send(&encode(&[b"SHUTDOWN", b"NOSAVE"]));
    assert!(b.is_closed());
    let brim = brim_in(&dir, "s.rdb", &["--save", "3600 1"]);
    let mut b = brim.raw();
    assert_eq!(snapshot(&mut b), want);
    run(&mut b, &["FLUSHALL"]);
    run(&mut b, &["SET", "only", "this"]);
    b.send(&encode(&[b"SHUTDOWN"]));
    assert!(b.is_closed());
    let brim = brim_in(&dir, "s.rdb", &[]);
    assert_eq!(run(&mut brim.raw(), &["KEYS", "*"]), "*1\r\n$4\r\nonly\r\n");
}

#[test]
fn sigterm_saves_when_save_points_are_configured() {
    let dir = Dir::new("sigterm");
    let mut brim = brim_in(&dir, "t.rdb", &["--save", "3600 1"]);
    let mut b = brim.raw();
    run(&mut b, &["SET", "k", "v"]);
    let status = Command::new("kill").args(["-TERM", &brim.child.id().to_string()]).status().expect("kill");
    assert!(status.success());
    assert!(brim.wait_exit());
    check_rdb(&dir.file("t.rdb"));
    let brim = brim_in(&dir, "t.rdb", &[]);
    assert_eq!(run(&mut brim.raw(), &["GET", "k"]), "$1\r\nv\r\n");
}

#[test]
fn failed_saves_are_reported_and_abort_shutdown() {
    let dir = Dir::new("fail");
    let gone = Dir::new("gone");
    let brim = brim_in(&dir, "f.rdb", &["--enable-protected-configs", "yes"]);
    let mut b = brim.raw();
    run(&mut b, &["SET", "k", "v"]);
    assert_eq!(run(&mut b, &["CONFIG", "SET", "dir", gone.path()]), "+OK\r\n");
    std::fs::remove_dir_all(&gone.0).expect("remove dir");
    assert_eq!(run(&mut b, &["SAVE"]), "-ERR\r\n");
    assert_eq!(run(&mut b, &["BGSAVE"]), "+Background saving started\r\n");
    wait_for(|| info_str(&mut b, "persistence", "rdb_bgsave_in_progress") == "0", "failed BGSAVE");
    assert_eq!(info_str(&mut b, "persistence", "rdb_last_bgsave_status"), "err");
    assert_eq!(run(&mut b, &["SHUTDOWN", "SAVE"]), "-ERR Errors trying to SHUTDOWN. Check logs.\r\n");
    assert_eq!(run(&mut b, &["GET", "k"]), "$1\r\nv\r\n", "still running");
    assert_eq!(run(&mut b, &["CONFIG", "SET", "dir", dir.path()]), "+OK\r\n");
    assert_eq!(run(&mut b, &["SAVE"]), "+OK\r\n");
    // FORCE exits even though the save fails.
    let gone = Dir::new("gone2");
    assert_eq!(run(&mut b, &["CONFIG", "SET", "dir", gone.path()]), "+OK\r\n");
    std::fs::remove_dir_all(&gone.0).expect("remove dir");
    let mut brim = brim;
    b.send(&encode(&[b"SHUTDOWN", b"SAVE", b"FORCE"]));
    assert!(b.is_closed());
    assert!(brim.wait_exit());
}

#[test]
fn sigterm_with_a_failing_save_keeps_running() {
    let dir = Dir::new("sigterm-fail");
    let gone = Dir::new("sigterm-gone");
    let mut brim = brim_in(&dir, "t.rdb", &["--save", "3600 1", "--enable-protected-configs", "yes"]);
    let mut b = brim.raw();
    run(&mut b, &["SET", "k", "v"]);
    assert_eq!(run(&mut b, &["CONFIG", "SET", "dir", gone.path()]), "+OK\r\n");
    std::fs::remove_dir_all(&gone.0).expect("remove dir");
    let term = |pid: u32| {
        let status = Command::new("kill").args(["-TERM", &pid.to_string()]).status().expect("kill");
        assert!(status.success());
    };
    term(brim.child.id());
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(run(&mut b, &["GET", "k"]), "$1\r\nv\r\n", "still serving after a failed save");
    assert_eq!(run(&mut b, &["CONFIG", "SET", "dir", dir.path()]), "+OK\r\n");
    term(brim.child.id());
    assert!(brim.wait_exit());
    let brim = brim_in(&dir, "t.rdb", &[]);
    assert_eq!(run(&mut brim.raw(), &["GET", "k"]), "$1\r\nv\r\n");
}

/// Start Brim on a file expected to be refused: it must exit with an error, not crash.
fn refuses(dir: &Dir, file: &str) -> String {
    let log = dir.file("refused.log");
    let port = free_port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_brim-server"))
        .args(["--port", &port.to_string(), "--dir", dir.path(), "--dbfilename", file])
        .args(["--logfile", log.to_str().expect("path")])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Ok(Some(s)) = child.try_wait() {
            break s;
        }
        assert!(Instant::now() < deadline, "Brim did not refuse {file}");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(status.code(), Some(1), "exit status for {file}");
    std::fs::read_to_string(&log).unwrap_or_default()
}

#[test]
fn corrupt_rdb_files_are_refused_with_a_clear_error() {
    let dir = Dir::new("corrupt");
    {
        let brim = brim_in(&dir, "good.rdb", &[]);
        let mut b = brim.raw();
        populate(&mut b);
        assert_eq!(run(&mut b, &["SAVE"]), "+OK\r\n");
    }
    let good = std::fs::read(dir.file("good.rdb")).expect("rdb");
    std::fs::write(dir.file("garbage.rdb"), b"this is not an rdb file").expect("write");
    assert!(refuses(&dir, "garbage.rdb").contains("Wrong signature"));
    std::fs::write(dir.file("truncated.rdb"), &good[..good.len() / 2]).expect("write");
    assert!(refuses(&dir, "truncated.rdb").contains("Short read"));
    let mut flipped = good.clone();
    let n = flipped.len();
    flipped[n - 20] ^= 0x01;
    std::fs::write(dir.file("flipped.rdb"), &flipped).expect("write");
    let log = refuses(&dir, "flipped.rdb");
    assert!(log.contains("Wrong RDB checksum") || log.contains("Fatal error loading"), "{log}");
    let mut newer = good.clone();
    newer[5..9].copy_from_slice(b"0012");
    std::fs::write(dir.file("newer.rdb"), &newer).expect("write");
    assert!(refuses(&dir, "newer.rdb").contains("Can't handle RDB format version 12"));
    // A stream (type 15) is refused by name.
    let mut stream = b"REDIS0010\xfe\x00\x0f\x01s".to_vec();
    stream.extend_from_slice(&[0; 16]);
    std::fs::write(dir.file("stream.rdb"), &stream).expect("write");
    assert!(refuses(&dir, "stream.rdb").contains("stream"));
    // Random corruption anywhere never crashes: it loads (a flipped bit inside a value's
    // bytes with checksums off) or is refused with exit status 1.
    for i in 0..20 {
        let mut bad = good.clone();
        let at = 9 + (i * 7919) % (good.len() - 17);
        bad[at] = bad[at].wrapping_add(1 + i as u8);
        let name = format!("rand{i}.rdb");
        std::fs::write(dir.file(&name), &bad).expect("write");
        refuses(&dir, &name);
    }
}

#[test]
fn expired_keys_are_skipped_when_loading() {
    let dir = Dir::new("expired");
    {
        let brim = brim_in(&dir, "e.rdb", &[]);
        let mut b = brim.raw();
        run(&mut b, &["SET", "stays", "1"]);
        run(&mut b, &["SET", "goes", "1", "PX", "300"]);
        assert_eq!(run(&mut b, &["SAVE"]), "+OK\r\n");
    }
    std::thread::sleep(Duration::from_millis(500));
    let brim = brim_in(&dir, "e.rdb", &[]);
    let mut b = brim.raw();
    assert_eq!(run(&mut b, &["DBSIZE"]), ":1\r\n");
    assert_eq!(info_str(&mut b, "persistence", "rdb_last_load_keys_expired"), "1");
    assert_eq!(info_str(&mut b, "persistence", "rdb_last_load_keys_loaded"), "1");
}

#[test]
fn bgsave_is_a_point_in_time_snapshot_under_writes() {
    let dir = Dir::new("pit");
    let brim = brim_in(&dir, "pit.rdb", &[]);
    let mut b = brim.raw();
    const N: usize = 50_000;
    let mut pipeline = Vec::new();
    let mut replies = 0;
    for chunk in (0..N).collect::<Vec<_>>().chunks(1000) {
        let mut args: Vec<Vec<u8>> = vec![b"MSET".to_vec()];
        for i in chunk {
            args.push(format!("k{i}").into_bytes());
            args.push(format!("old-{i}").into_bytes());
        }
        let a: Vec<&[u8]> = args.iter().map(|x| x.as_slice()).collect();
        pipeline.extend(encode(&a));
        replies += 1;
    }
    pipeline.extend(encode(&[b"BGSAVE"]));
    replies += 1;
    // Right behind BGSAVE in the same pipeline: overwrite, delete, add, flush another db.
    for i in 0..N {
        let k = format!("k{i}");
        if i % 3 == 0 {
            pipeline.extend(encode(&[b"DEL", k.as_bytes()]));
        } else {
            pipeline.extend(encode(&[b"SET", k.as_bytes(), b"new"]));
        }
        pipeline.extend(encode(&[b"SET", format!("added{i}").as_bytes(), b"x"]));
        replies += 2;
    }
    b.send(&pipeline);
    let mut saw_started = false;
    for _ in 0..replies {
        let r = b.read_reply();
        assert!(!r.starts_with(b"-"), "{}", String::from_utf8_lossy(&r));
        saw_started |= r == b"+Background saving started\r\n";
    }
    assert!(saw_started);
    wait_for(|| info_str(&mut b, "persistence", "rdb_bgsave_in_progress") == "0", "BGSAVE");
    assert_eq!(info_str(&mut b, "persistence", "rdb_last_bgsave_status"), "ok");
    check_rdb(&dir.file("pit.rdb"));
    let redis = redis_in(&dir, "pit.rdb", &[]);
    let mut r = redis.raw();
    assert_eq!(run(&mut r, &["DBSIZE"]), format!(":{N}\r\n"));
    for i in (0..N).step_by(97) {
        let k = format!("k{i}");
        assert_eq!(run(&mut r, &["GET", &k]), format!("${}\r\nold-{i}\r\n", format!("old-{i}").len()));
    }
    assert_eq!(run(&mut r, &["EXISTS", "added0"]), ":0\r\n");
    // Brim itself moved on.
    assert_eq!(run(&mut b, &["GET", "k1"]), "$3\r\nnew\r\n");
}

#[test]
fn bgsave_keeps_collections_as_they_were_while_clients_change_them() {
    let dir = Dir::new("pit-coll");
    let brim = brim_in(&dir, "pit.rdb", &[]);
    let mut b = brim.raw();
    const N: usize = 3_000;
    let mut pipeline = Vec::new();
    for i in 0..N {
        let (l, h, z, n) = (format!("l{i}"), format!("h{i}"), format!("z{i}"), format!("n{i}"));
        pipeline.extend(encode(&[b"RPUSH", l.as_bytes(), b"a", b"b"]));
        pipeline.extend(encode(&[b"HSET", h.as_bytes(), b"f", b"v"]));
        pipeline.extend(encode(&[b"ZADD", z.as_bytes(), b"1", b"m"]));
        pipeline.extend(encode(&[b"SET", n.as_bytes(), b"10"]));
    }
    pipeline.extend(encode(&[b"BGSAVE"]));
    // Right behind BGSAVE: change every kind of value in place, add TTLs, rename, move.
    for i in 0..N {
        let (l, h, z, n) = (format!("l{i}"), format!("h{i}"), format!("z{i}"), format!("n{i}"));
        pipeline.extend(encode(&[b"LPUSH", l.as_bytes(), b"new"]));
        pipeline.extend(encode(&[b"HSET", h.as_bytes(), b"f", b"new", b"g", b"w"]));
        pipeline.extend(encode(&[b"ZINCRBY", z.as_bytes(), b"5", b"m"]));
        pipeline.extend(encode(&[b"INCR", n.as_bytes()]));
        pipeline.extend(encode(&[b"EXPIRE", l.as_bytes(), b"1000"]));
        if i % 2 == 0 {
            pipeline.extend(encode(&[b"RENAME", h.as_bytes(), format!("moved{i}").as_bytes()]));
        } else {
            pipeline.extend(encode(&[b"MOVE", z.as_bytes(), b"1"]));
        }
    }
    b.send(&pipeline);
    for _ in 0..N * 4 + 1 + N * 6 {
        let r = b.read_reply();
        assert!(!r.starts_with(b"-"), "{}", String::from_utf8_lossy(&r));
    }
    wait_for(|| info_str(&mut b, "persistence", "rdb_bgsave_in_progress") == "0", "BGSAVE");
    assert_eq!(info_str(&mut b, "persistence", "rdb_last_bgsave_status"), "ok");
    check_rdb(&dir.file("pit.rdb"));
    let redis = redis_in(&dir, "pit.rdb", &[]);
    let mut r = redis.raw();
    assert_eq!(run(&mut r, &["DBSIZE"]), format!(":{}\r\n", N * 4));
    for i in (0..N).step_by(7) {
        assert_eq!(run(&mut r, &["LRANGE", &format!("l{i}"), "0", "-1"]), "*2\r\n$1\r\na\r\n$1\r\nb\r\n");
        assert_eq!(run(&mut r, &["TTL", &format!("l{i}")]), ":-1\r\n");
        assert_eq!(run(&mut r, &["HGETALL", &format!("h{i}")]), "*2\r\n$1\r\nf\r\n$1\r\nv\r\n");
        assert_eq!(run(&mut r, &["ZSCORE", &format!("z{i}"), "m"]), "$1\r\n1\r\n");
        assert_eq!(run(&mut r, &["GET", &format!("n{i}")]), "$2\r\n10\r\n");
        assert_eq!(run(&mut r, &["EXISTS", &format!("moved{i}")]), ":0\r\n");
    }
    assert_eq!(run(&mut r, &["SELECT", "1"]), "+OK\r\n");
    assert_eq!(run(&mut r, &["DBSIZE"]), ":0\r\n");
}

#[test]
fn migrate_moves_keys_between_brim_and_redis() {
    let brim = Server::start(&[]);
    let redis = Server::redis(&["--requirepass", "secret"]);
    let (mut b, mut r) = (brim.raw(), redis.raw());
    assert_eq!(run(&mut r, &["AUTH", "secret"]), "+OK\r\n");
    populate(&mut b);
    let want = snapshot(&mut b);
    let rport = redis.port.to_string();
    // Brim -> Redis, every key of database 0 at once, into Redis's database 0.
    let keys: Vec<String> = want.keys().filter(|(db, _)| *db == 0).map(|(_, k)| k.clone()).collect();
    let mut m: Vec<&str> = vec!["MIGRATE", "127.0.0.1", &rport, "", "0", "5000", "AUTH", "secret", "KEYS"];
    m.extend(keys.iter().map(|k| k.as_str()));
    assert_eq!(run(&mut b, &m), "+OK\r\n");
    assert_eq!(run(&mut b, &["DBSIZE"]), ":0\r\n");
    let moved = snapshot(&mut r);
    let db0: BTreeMap<_, _> =
        want.iter().filter(|((db, _), _)| *db == 0).map(|(k, v)| (k.clone(), v.clone())).collect();
    let strip = |m: &BTreeMap<(u32, String), (String, Vec<String>, String)>| {
        m.iter()
            .map(|(k, (t, v, e))| (k.clone(), (t.clone(), v.clone(), e != "-1")))
            .collect::<BTreeMap<_, _>>()
    };
    assert_eq!(strip(&moved), strip(&db0), "values and which keys expire");
    // Redis -> Brim (no password on Brim), one key, COPY keeps it in Redis.
    let bport = brim.port.to_string();
    assert_eq!(run(&mut r, &["MIGRATE", "127.0.0.1", &bport, "h:many", "3", "5000", "COPY"]), "+OK\r\n");
    assert_eq!(run(&mut r, &["EXISTS", "h:many"]), ":1\r\n");
    run(&mut b, &["SELECT", "3"]);
    assert_eq!(run(&mut b, &["HLEN", "h:many"]), ":600\r\n");
    // Target errors, NOKEY, REPLACE.
    assert_eq!(
        run(&mut r, &["MIGRATE", "127.0.0.1", &bport, "h:many", "3", "5000", "COPY"]),
        "-ERR Target instance replied with error: BUSYKEY Target key name already exists.\r\n"
    );
    assert_eq!(run(&mut r, &["MIGRATE", "127.0.0.1", &bport, "h:many", "3", "5000", "REPLACE"]), "+OK\r\n");
    assert_eq!(run(&mut r, &["EXISTS", "h:many"]), ":0\r\n");
    assert_eq!(
        run(&mut b, &["MIGRATE", "127.0.0.1", &rport, "h:many", "0", "5000"]),
        "-ERR Target instance replied with error: NOAUTH Authentication required.\r\n"
    );
    assert_eq!(run(&mut b, &["HLEN", "h:many"]), ":600\r\n", "kept after an error");
}

#[test]
fn migrate_errors_match_redis() {
    let (_brim, _redis, mut b, mut r) = pair(&[]);
    let closed = free_port().to_string();
    for raw in [&mut b, &mut r] {
        run(raw, &["SET", "k", "v"]);
    }
    assert_same(
        &mut b,
        &mut r,
        &[
            &["MIGRATE", "127.0.0.1", &closed, "nokey", "0", "100"],
            &["MIGRATE", "127.0.0.1", &closed, "k", "0", "100"],
            &["MIGRATE", "127.0.0.1", &closed, "k", "0", "100", "KEYS", "k"],
            &["MIGRATE", "127.0.0.1", &closed, "", "0", "100", "KEYS", "nokey"],
            &["MIGRATE", "127.0.0.1", &closed, "k", "0", "100", "BOGUS"],
            &["MIGRATE", "127.0.0.1", &closed, "k", "0", "100", "AUTH"],
            &["MIGRATE", "127.0.0.1", &closed, "k", "0", "100", "AUTH2", "u"],
            &["MIGRATE", "127.0.0.1", &closed, "k", "x", "100"],
            &["MIGRATE", "127.0.0.1", &closed, "k", "0", "x"],
            &["MIGRATE", "127.0.0.1", &closed, "k", "0"],
            &["EXISTS", "k"],
        ],
    );
}
