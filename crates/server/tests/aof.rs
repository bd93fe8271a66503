//! The append-only file (Redis 7.0's multi-part AOF): every key type survives a restart
//! through the AOF alone; commands are logged in the same replication form as the real
//! Redis 7.0.15 logs them (read back from both servers' incremental files); BGREWRITEAOF
//! while clients write; CONFIG SET appendonly at runtime; crash tests with `kill -9` under
//! `appendfsync always` and `everysec`; truncated and corrupt files; `redis-check-aof`
//! accepts Brim's directory, and Redis and Brim load each other's.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{bulks, free_port, info_str, wait_for, Raw, Server};

/// A fresh data directory, removed when dropped.
struct Dir(PathBuf);

impl Dir {
    fn new(tag: &str) -> Dir {
        let d = std::env::temp_dir().join(format!("brim-aof-{tag}-{}-{}", std::process::id(), free_port()));
        std::fs::create_dir_all(&d).expect("dir");
        Dir(d)
    }

    fn path(&self) -> &str {
        self.0.to_str().expect("utf-8 path")
    }

    fn aof(&self, name: &str) -> PathBuf {
        self.0.join("appendonlydir").join(name)
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Brim with the AOF on in `dir` (no RDB save points), plus `extra`.
fn brim_aof(dir: &Dir, extra: &[&str]) -> Server {
    let mut args = vec!["--dir", dir.path(), "--save", "", "--appendonly", "yes"];
    args.extend_from_slice(extra);
    loaded(Server::start(&args))
}

/// `s` once it has loaded its data (no more `-LOADING` replies).
fn loaded(s: Server) -> Server {
    let mut raw = s.raw();
    wait_for(|| !raw.cmd_str(&["DBSIZE"]).starts_with("-LOADING"), "the end of loading");
    s
}

/// Redis 7.0.15 with the AOF on in `dir`.
fn redis_aof(dir: &Dir, extra: &[&str]) -> Server {
    let mut args = vec!["--dir", dir.path(), "--save", "", "--appendonly", "yes"];
    args.extend_from_slice(extra);
    loaded(Server::redis(&args))
}

/// Kill the server with SIGKILL and wait for it.
fn kill9(mut s: Server) {
    let _ = s.child.kill();
    let _ = s.child.wait();
}

fn ok(raw: &mut Raw, args: &[&str]) -> String {
    let r = raw.cmd_str(args);
    assert!(!r.starts_with('-'), "{args:?}: {r}");
    r
}

/// Keys of every type, in databases 0 and 2, some with expire times, written partly through
/// commands the AOF logs in another form.
fn populate(raw: &mut Raw) {
    let big: Vec<String> = (0..300).map(|i| format!("member:{i}")).collect();
    let mut cmds: Vec<Vec<String>> = Vec::new();
    let mut c = |v: &[&str]| cmds.push(v.iter().map(|s| s.to_string()).collect());
    c(&["SET", "s:int", "12345"]);
    c(&["SET", "s:text", "hello\r\nworld"]);
    c(&["SET", "s:ttl", "v", "EX", "5000"]);
    c(&["SETEX", "s:setex", "4000", "v"]);
    c(&["INCRBYFLOAT", "s:float", "2.5"]);
    c(&["INCRBYFLOAT", "s:float", "0.25"]);
    c(&["RPUSH", "l:small", "a", "b", "c", "d"]);
    c(&["LPOP", "l:small"]);
    c(&["BLPOP", "l:small", "0"]);
    c(&["EXPIRE", "l:small", "3000"]);
    c(&["HSET", "h:small", "f1", "v1", "f2", "2"]);
    c(&["HINCRBYFLOAT", "h:small", "f2", "1.5"]);
    c(&["SADD", "set:ints", "1", "2", "3", "4", "5"]);
    c(&["SPOP", "set:ints"]);
    c(&["SPOP", "set:ints", "2"]);
    c(&["ZADD", "z:small", "1", "a", "2.5", "b", "3", "c"]);
    c(&["BZPOPMIN", "z:small", "0"]);
    c(&["SET", "gone", "x"]);
    c(&["GETDEL", "gone"]);
    c(&["SET", "past", "x"]);
    c(&["EXPIRE", "past", "-1"]);
    c(&["MULTI"]);
    c(&["SET", "tx:a", "1"]);
    c(&["INCR", "tx:a"]);
    c(&["EXEC"]);
    c(&["SELECT", "2"]);
    c(&["SET", "db2:key", "in db 2"]);
    c(&["HSET", "db2:hash", "a", "1"]);
    c(&["SELECT", "0"]);
    let mut sadd = vec!["SADD".to_string(), "set:big".to_string()];
    sadd.extend(big.iter().cloned());
    cmds.push(sadd);
    let mut zadd = vec!["ZADD".to_string(), "z:big".to_string()];
    for (i, m) in big.iter().enumerate() {
        zadd.push(format!("{}", i as f64 * 1.5));
        zadd.push(m.clone());
    }
    cmds.push(zadd);
    let mut rpush = vec!["RPUSH".to_string(), "l:big".to_string()];
    rpush.extend(big.iter().cloned());
    cmds.push(rpush);
    for c in &cmds {
        let a: Vec<&str> = c.iter().map(|s| s.as_str()).collect();
        ok(raw, &a);
    }
}

type Snap = BTreeMap<(u32, String), (String, Vec<String>, String)>;

/// Every key of databases 0 and 2: type, value (canonical order), absolute expire time.
fn snapshot(raw: &mut Raw) -> Snap {
    let mut all = BTreeMap::new();
    for db in [0u32, 2] {
        ok(raw, &["SELECT", &db.to_string()]);
        for k in bulks(&raw.cmd(&["KEYS", "*"])) {
            let t = raw.cmd_str(&["TYPE", &k]).trim().trim_start_matches('+').to_string();
            let mut v = match t.as_str() {
                "string" => vec![raw.cmd_str(&["GET", &k])],
                "list" => bulks(&raw.cmd(&["LRANGE", &k, "0", "-1"])),
                "hash" => bulks(&raw.cmd(&["HGETALL", &k])),
                "set" => bulks(&raw.cmd(&["SMEMBERS", &k])),
                "zset" => bulks(&raw.cmd(&["ZRANGE", &k, "0", "-1", "WITHSCORES"])),
                other => panic!("unexpected type {other} for {k}"),
            };
            if t == "hash" {
                let mut pairs: Vec<String> = v.chunks(2).map(|p| p.join("=")).collect();
                pairs.sort();
                v = pairs;
            } else if t == "set" {
                v.sort();
            }
            let exp = raw.cmd_str(&["PEXPIRETIME", &k]).trim().to_string();
            all.insert((db, k), (t, v, exp));
        }
    }
    ok(raw, &["SELECT", "0"]);
    all
}

/// The commands of an AOF file (RESP arrays; `#` annotation lines skipped).
fn read_commands(path: &Path) -> Vec<Vec<String>> {
    let data = std::fs::read(path).unwrap_or_else(|e| panic!("read {path:?}: {e}"));
    let mut out = Vec::new();
    let mut pos = 0;
    let line = |pos: &mut usize| -> String {
        let end = data[*pos..].windows(2).position(|w| w == b"\r\n").expect("line end") + *pos;
        let s = String::from_utf8_lossy(&data[*pos..end]).into_owned();
        *pos = end + 2;
        s
    };
    while pos < data.len() {
        let head = line(&mut pos);
        if head.starts_with('#') {
            continue;
        }
        let n: usize = head[1..].parse().expect("argc");
        let mut argv = Vec::new();
        for _ in 0..n {
            let len: usize = line(&mut pos)[1..].parse().expect("len");
            argv.push(String::from_utf8_lossy(&data[pos..pos + len]).into_owned());
            pos += len + 2;
        }
        out.push(argv);
    }
    out
}

/// Commands with absolute times (13-digit unix ms around now) made comparable.
fn normalized(cmds: Vec<Vec<String>>) -> Vec<Vec<String>> {
    cmds.into_iter()
        .map(|c| {
            c.into_iter()
                .map(
                    |a| {
                        if a.len() == 13 && a.bytes().all(|b| b.is_ascii_digit()) {
                            "<ms>".into()
                        } else {
                            a
                        }
                    },
                )
                .collect()
        })
        .collect()
}

#[test]
fn every_type_survives_a_restart_through_the_aof_alone() {
    let dir = Dir::new("types");
    let brim = brim_aof(&dir, &[]);
    let mut raw = brim.raw();
    populate(&mut raw);
    let before = snapshot(&mut raw);
    assert!(before.len() > 10);
    assert_eq!(info_str(&mut raw, "persistence", "aof_enabled"), "1");
    kill9(brim);
    assert!(!dir.0.join("dump.rdb").exists(), "the data must come from the AOF");
    let brim = brim_aof(&dir, &[]);
    let mut raw = brim.raw();
    assert_eq!(snapshot(&mut raw), before);
}

#[test]
fn commands_are_logged_in_the_form_redis_logs_them() {
    let (bd, rd) = (Dir::new("form-brim"), Dir::new("form-redis"));
    let brim = brim_aof(&bd, &["--appendfsync", "always"]);
    let redis = redis_aof(&rd, &["--appendfsync", "always"]);
    let script: &[&[&str]] = &[
        &["set", "a", "1"],
        &["expire", "a", "100"],
        &["pexpire", "a", "100000"],
        &["expireat", "a", "99999999999"],
        &["set", "b", "2", "ex", "100"],
        &["setex", "c", "100", "v"],
        &["psetex", "c", "100000", "v"],
        &["set", "n", "v", "nx", "px", "10000"],
        &["incrbyfloat", "f", "1.5"],
        &["hincrbyfloat", "h", "f", "2.5"],
        &["sadd", "s", "x"],
        &["spop", "s"],
        &["sadd", "s2", "a"],
        &["spop", "s2", "5"],
        &["getex", "a", "persist"],
        &["getex", "b", "px", "5000"],
        &["getdel", "b"],
        &["set", "g", "1"],
        &["set", "g", "2", "get"],
        &["set", "g", "3", "keepttl", "get"],
        &["set", "e", "1"],
        &["expire", "e", "-1"],
        &["expire", "missing", "10"],
        &["lpush", "l", "a", "b", "c"],
        &["blpop", "l", "0"],
        &["brpop", "l", "0"],
        &["lpush", "l", "x", "y"],
        &["blmove", "l", "l2", "left", "right", "0"],
        &["brpoplpush", "l", "l3", "0"],
        &["lpush", "bl", "p", "q", "r"],
        &["blmpop", "0", "1", "bl", "left", "count", "2"],
        &["zadd", "z", "1", "a", "2", "b", "3", "c"],
        &["bzpopmin", "z", "0"],
        &["bzpopmax", "z", "0"],
        &["multi"],
        &["set", "m1", "1"],
        &["select", "3"],
        &["set", "m2", "2"],
        &["exec"],
        &["multi"],
        &["set", "m3", "1"],
        &["get", "m3"],
        &["exec"],
        &["rpush", "lm", "a", "b", "c"],
        &["lmpop", "2", "nolist", "lm", "left", "count", "2"],
        &["zadd", "zm", "1", "a", "2", "b"],
        &["zmpop", "1", "zm", "max"],
        &["set", "k9", "v"],
        &["pexpireat", "k9", "1"],
        &["set", "k10", "v"],
        &["persist", "k10"],
        &["setrange", "k10", "0", "x"],
        &["hsetnx", "h", "f", "ignored"],
        &["smove", "nosuch", "x", "y"],
        &["rename", "k10", "k11"],
        &["flushdb"],
        &["set", "q", "1", "px", "30"],
    ];
    let (mut b, mut r) = (brim.raw(), redis.raw());
    for c in script {
        let (x, y) = (b.cmd_str(c), r.cmd_str(c));
        assert_eq!(x, y, "reply to {c:?}");
    }
    std::thread::sleep(Duration::from_millis(60));
    // A lookup of the expired key logs its deletion.
    assert_eq!(b.cmd_str(&["get", "q"]), r.cmd_str(&["get", "q"]));
    let ours = normalized(read_commands(&bd.aof("appendonly.aof.1.incr.aof")));
    let theirs = normalized(read_commands(&rd.aof("appendonly.aof.1.incr.aof")));
    assert_eq!(ours, theirs);
    assert!(ours.iter().any(|c| c[0] == "PEXPIREAT"), "{ours:?}");
    assert!(ours.iter().any(|c| c[0] == "SREM"), "{ours:?}");
    // The manifests are byte for byte the same.
    let manifest = |d: &Dir| std::fs::read(d.aof("appendonly.aof.manifest")).expect("manifest");
    assert_eq!(manifest(&bd), manifest(&rd));
}

#[test]
fn spop_with_a_count_is_logged_as_one_srem_per_member() {
    let dir = Dir::new("spop");
    let brim = brim_aof(&dir, &["--appendfsync", "always"]);
    let mut raw = brim.raw();
    ok(&mut raw, &["SADD", "s", "a", "b", "c", "d", "e", "f"]);
    let popped = bulks(&raw.cmd(&["SPOP", "s", "2"]));
    let cmds = read_commands(&dir.aof("appendonly.aof.1.incr.aof"));
    let n = cmds.len();
    assert_eq!(cmds[n - 1], vec!["EXEC"]);
    assert_eq!(cmds[n - 4], vec!["MULTI"]);
    let mut srem: Vec<String> = cmds[n - 3..n - 1]
        .iter()
        .map(|c| {
            assert_eq!(&c[..2], ["SREM", "s"]);
            c[2].clone()
        })
        .collect();
    srem.sort();
    let mut popped = popped;
    popped.sort();
    assert_eq!(srem, popped);
}

/// Writes `INCR counter` in a loop until told to stop or the server dies; returns the last
/// value acknowledged and when each was acknowledged.
fn incr_writer(port: u16, stop: Arc<AtomicBool>) -> std::thread::JoinHandle<Vec<(i64, Instant)>> {
    std::thread::spawn(move || {
        let mut acks = Vec::new();
        let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) else { return acks };
        use std::io::{Read, Write};
        s.set_read_timeout(Some(Duration::from_secs(5))).ok();
        let mut buf = [0u8; 64];
        while !stop.load(Relaxed) && acks.len() < 5_000_000 {
            if s.write_all(b"*2\r\n$4\r\nINCR\r\n$7\r\ncounter\r\n").is_err() {
                break;
            }
            let n = match s.read(&mut buf) {
                Ok(n) if n > 0 => n,
                _ => break,
            };
            let text = String::from_utf8_lossy(&buf[..n]);
            match text.trim().strip_prefix(':').and_then(|v| v.parse::<i64>().ok()) {
                Some(v) => acks.push((v, Instant::now())),
                None => break,
            }
        }
        acks
    })
}

/// Run INCRs for a while, `kill -9` the server, restart it: (acks, recovered value).
fn crash_run(fsync: &str) -> (Vec<(i64, Instant)>, Instant, i64) {
    let dir = Dir::new(&format!("crash-{fsync}"));
    let brim = brim_aof(&dir, &["--appendfsync", fsync]);
    let stop = Arc::new(AtomicBool::new(false));
    let writer = incr_writer(brim.port, stop.clone());
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut probe = brim.raw();
    // Let it write for a while (at least some acknowledged writes).
    std::thread::sleep(Duration::from_millis(700));
    while probe.cmd_str(&["GET", "counter"]).starts_with("$-1") && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    kill9(brim);
    let killed = Instant::now();
    stop.store(true, Relaxed);
    let acks = writer.join().expect("writer");
    assert!(!acks.is_empty(), "no write was acknowledged");
    let brim = brim_aof(&dir, &[]);
    let got = brim.raw().cmd_str(&["GET", "counter"]);
    let v = bulks(format!("*1\r\n{got}").as_bytes()).first().and_then(|s| s.parse().ok()).unwrap_or(0);
    (acks, killed, v)
}

#[test]
fn crash_with_appendfsync_always_loses_no_acknowledged_write() {
    let (acks, _, recovered) = crash_run("always");
    let last = acks.last().map_or(0, |a| a.0);
    assert!(recovered >= last, "acknowledged {last}, recovered {recovered}");
}

#[test]
fn crash_with_appendfsync_everysec_loses_at_most_about_a_second() {
    let (acks, killed, recovered) = crash_run("everysec");
    let last = acks.last().map_or(0, |a| a.0);
    let recent = acks.iter().filter(|a| killed.duration_since(a.1) <= Duration::from_secs(2)).count() as i64;
    let lost = last - recovered;
    assert!(lost <= recent, "lost {lost} writes, only {recent} acknowledged in the last 2 s");
}

/// Start brim-server in `dir` expecting it to refuse: its exit code and log.
fn refused_start(dir: &Dir, extra: &[&str]) -> (Option<i32>, String) {
    let log = dir.0.join("refused.log");
    let port = free_port().to_string();
    let mut args = vec!["--port", &port, "--dir", dir.path(), "--save", "", "--appendonly", "yes"];
    args.extend_from_slice(extra);
    args.extend_from_slice(&["--logfile", log.to_str().expect("path")]);
    let mut child = Command::new(env!("CARGO_BIN_EXE_brim-server"))
        .args(&args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Ok(Some(s)) = child.try_wait() {
            break Some(s);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    (status.and_then(|s| s.code()), text)
}

#[test]
fn a_truncated_tail_loads_with_aof_load_truncated_and_is_refused_without() {
    let dir = Dir::new("trunc");
    let brim = brim_aof(&dir, &["--appendfsync", "always"]);
    let mut raw = brim.raw();
    for i in 0..20 {
        ok(&mut raw, &["SET", &format!("k{i}"), &format!("v{i}")]);
    }
    kill9(brim);
    let incr = dir.aof("appendonly.aof.1.incr.aof");
    let len = std::fs::metadata(&incr).expect("incr").len();
    let f = std::fs::OpenOptions::new().write(true).open(&incr).expect("open");
    f.set_len(len - 3).expect("chop");
    drop(f);
    let (code, log) = refused_start(&dir, &["--aof-load-truncated", "no"]);
    assert_eq!(code, Some(1), "log: {log}");
    assert!(log.contains("Unexpected end of file"), "{log}");
    let brim = brim_aof(&dir, &["--aof-load-truncated", "yes"]);
    let mut raw = brim.raw();
    assert_eq!(raw.cmd_str(&["GET", "k18"]), "$3\r\nv18\r\n");
    assert_eq!(raw.cmd_str(&["GET", "k19"]), "$-1\r\n");
    assert_eq!(raw.cmd_str(&["DBSIZE"]), ":19\r\n");
    // The tail was cut off; what is logged next follows a whole command.
    ok(&mut raw, &["SET", "after", "1"]);
    kill9(brim);
    let brim = brim_aof(&dir, &["--aof-load-truncated", "no"]);
    assert_eq!(brim.raw().cmd_str(&["GET", "after"]), "$1\r\n1\r\n");
}

#[test]
fn a_corrupt_aof_is_refused_with_a_clear_error() {
    let dir = Dir::new("corrupt");
    let brim = brim_aof(&dir, &[]);
    ok(&mut brim.raw(), &["SET", "k", "v"]);
    kill9(brim);
    let incr = dir.aof("appendonly.aof.1.incr.aof");
    let mut data = std::fs::read(&incr).expect("incr");
    data.extend_from_slice(b"GARBAGE\r\n*1\r\n$4\r\nPING\r\n");
    std::fs::write(&incr, data).expect("write");
    let (code, log) = refused_start(&dir, &[]);
    assert_eq!(code, Some(1), "log: {log}");
    assert!(log.contains("Bad file format reading the append only file"), "{log}");
}

#[test]
fn bgrewriteaof_while_clients_write_then_restart_keeps_everything() {
    let dir = Dir::new("rewrite");
    let brim = brim_aof(&dir, &[]);
    let mut raw = brim.raw();
    populate(&mut raw);
    let stop = Arc::new(AtomicBool::new(false));
    let writer = incr_writer(brim.port, stop.clone());
    wait_for(|| raw.cmd(&["EXISTS", "counter"]) == b":1\r\n", "the writer");
    assert_eq!(ok(&mut raw, &["BGREWRITEAOF"]), "+Background append only file rewriting started\r\n");
    wait_for(|| info_str(&mut raw, "persistence", "aof_rewrite_in_progress") == "0", "the rewrite");
    assert_eq!(info_str(&mut raw, "persistence", "aof_rewrites"), "1");
    assert_eq!(info_str(&mut raw, "persistence", "aof_last_bgrewrite_status"), "ok");
    std::thread::sleep(Duration::from_millis(100));
    stop.store(true, Relaxed);
    let acks = writer.join().expect("writer");
    assert!(!acks.is_empty());
    let manifest = std::fs::read_to_string(dir.aof("appendonly.aof.manifest")).expect("manifest");
    assert_eq!(
        manifest,
        "file appendonly.aof.2.base.rdb seq 2 type b\nfile appendonly.aof.2.incr.aof seq 2 type i\n"
    );
    assert!(!dir.aof("appendonly.aof.1.incr.aof").exists());
    assert!(!dir.aof("appendonly.aof.1.base.rdb").exists());
    let before = snapshot(&mut raw);
    kill9(brim);
    let brim = brim_aof(&dir, &[]);
    assert_eq!(snapshot(&mut brim.raw()), before);
}

#[test]
fn config_set_appendonly_yes_at_runtime_starts_logging() {
    let dir = Dir::new("runtime");
    let brim = Server::start(&["--dir", dir.path(), "--save", ""]);
    let mut raw = brim.raw();
    populate(&mut raw);
    assert_eq!(info_str(&mut raw, "persistence", "aof_enabled"), "0");
    assert_eq!(ok(&mut raw, &["CONFIG", "SET", "appendonly", "yes"]), "+OK\r\n");
    wait_for(
        || {
            info_str(&mut raw, "persistence", "aof_rewrites") == "1"
                && info_str(&mut raw, "persistence", "aof_rewrite_in_progress") == "0"
        },
        "the first rewrite",
    );
    ok(&mut raw, &["SET", "after", "enabled"]);
    let before = snapshot(&mut raw);
    kill9(brim);
    let brim = brim_aof(&dir, &[]);
    let mut raw = brim.raw();
    assert_eq!(snapshot(&mut raw), before);
    // And off again: nothing more is logged.
    assert_eq!(ok(&mut raw, &["CONFIG", "SET", "appendonly", "no"]), "+OK\r\n");
    ok(&mut raw, &["SET", "not", "logged"]);
    kill9(brim);
    let brim = brim_aof(&dir, &[]);
    assert_eq!(brim.raw().cmd_str(&["GET", "not"]), "$-1\r\n");
}

/// `redis-check-aof` on the directory's manifest says it is valid.
fn assert_redis_check_aof_accepts(dir: &Dir) {
    let out = Command::new("redis-check-aof")
        .arg(dir.aof("appendonly.aof.manifest"))
        .output()
        .expect("redis-check-aof");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success() && text.contains("is valid"), "redis-check-aof:\n{text}");
}

#[test]
fn redis_check_aof_accepts_brims_dir_and_redis_loads_it() {
    let dir = Dir::new("to-redis");
    let brim = brim_aof(&dir, &[]);
    let mut raw = brim.raw();
    populate(&mut raw);
    ok(&mut raw, &["BGREWRITEAOF"]);
    wait_for(|| info_str(&mut raw, "persistence", "aof_rewrite_in_progress") == "0", "the rewrite");
    ok(&mut raw, &["SET", "after-rewrite", "1"]);
    ok(&mut raw, &["SPOP", "set:big", "3"]);
    let before = snapshot(&mut raw);
    kill9(brim);
    assert_redis_check_aof_accepts(&dir);
    let redis = redis_aof(&dir, &[]);
    assert_eq!(snapshot(&mut redis.raw()), before);
}

#[test]
fn brim_loads_a_dir_written_by_redis() {
    let dir = Dir::new("from-redis");
    let redis = redis_aof(&dir, &[]);
    let mut raw = redis.raw();
    populate(&mut raw);
    let before = snapshot(&mut raw);
    kill9(redis);
    let brim = brim_aof(&dir, &[]);
    assert_eq!(snapshot(&mut brim.raw()), before);
}

#[test]
fn bgrewriteaof_inside_exec_is_scheduled_as_in_redis() {
    let dir = Dir::new("sched");
    let brim = brim_aof(&dir, &[]);
    let rd = Dir::new("sched-redis");
    let redis = redis_aof(&rd, &[]);
    let (mut b, mut r) = (brim.raw(), redis.raw());
    common::assert_same(&mut b, &mut r, &[&["MULTI"], &["BGREWRITEAOF"], &["EXEC"]]);
    // The cron starts it once nothing else runs.
    wait_for(|| info_str(&mut b, "persistence", "aof_rewrites") == "1", "the scheduled rewrite");
    assert_eq!(info_str(&mut b, "persistence", "aof_rewrite_scheduled"), "0");
    assert!(dir.aof("appendonly.aof.2.base.rdb").exists());
}

#[test]
fn timestamps_annotate_the_file_and_it_still_loads() {
    let dir = Dir::new("ts");
    let brim = brim_aof(&dir, &["--aof-timestamp-enabled", "yes", "--appendfsync", "always"]);
    ok(&mut brim.raw(), &["SET", "k", "v"]);
    let data = std::fs::read(dir.aof("appendonly.aof.1.incr.aof")).expect("incr");
    assert!(data.starts_with(b"#TS:"), "{}", String::from_utf8_lossy(&data));
    kill9(brim);
    let brim = brim_aof(&dir, &[]);
    assert_eq!(brim.raw().cmd_str(&["GET", "k"]), "$1\r\nv\r\n");
    assert_redis_check_aof_accepts(&dir);
}

#[test]
fn shutdown_and_evictions_are_logged() {
    let dir = Dir::new("evict");
    let brim = brim_aof(&dir, &["--maxmemory-policy", "allkeys-random"]);
    let mut raw = brim.raw();
    let value = "x".repeat(1000);
    for i in 0..200 {
        ok(&mut raw, &["SET", &format!("k{i}"), &value]);
    }
    let used: u64 = raw
        .cmd_str(&["INFO", "memory"])
        .lines()
        .find_map(|l| l.strip_prefix("used_memory:"))
        .and_then(|v| v.trim().parse().ok())
        .expect("used_memory");
    ok(&mut raw, &["CONFIG", "SET", "maxmemory", &(used - 50_000).to_string()]);
    ok(&mut raw, &["SET", "trigger", "1"]);
    ok(&mut raw, &["CONFIG", "SET", "maxmemory", "0"]);
    let before = snapshot(&mut raw);
    assert!(before.len() < 201, "nothing was evicted");
    raw.send(&common::encode(&[b"SHUTDOWN", b"NOSAVE"]));
    let mut brim = brim;
    assert!(brim.wait_exit());
    let cmds = read_commands(&dir.aof("appendonly.aof.1.incr.aof"));
    assert!(cmds.iter().any(|c| c[0] == "DEL"), "no DEL logged for evicted keys");
    let brim = brim_aof(&dir, &[]);
    assert_eq!(snapshot(&mut brim.raw()), before);
}

#[test]
fn the_aof_is_rewritten_automatically_when_it_grows() {
    let dir = Dir::new("auto");
    let brim =
        brim_aof(&dir, &["--auto-aof-rewrite-percentage", "100", "--auto-aof-rewrite-min-size", "20000"]);
    let mut raw = brim.raw();
    let value = "v".repeat(100);
    for i in 0..100 {
        ok(&mut raw, &["SET", "k", &format!("{value}{i}")]);
    }
    assert_eq!(info_str(&mut raw, "persistence", "aof_rewrites"), "0");
    for i in 0..200 {
        ok(&mut raw, &["SET", "k", &format!("{value}{i}")]);
    }
    wait_for(|| info_str(&mut raw, "persistence", "aof_rewrites") == "1", "the automatic rewrite");
    wait_for(|| info_str(&mut raw, "persistence", "aof_rewrite_in_progress") == "0", "its end");
    let size: u64 = info_str(&mut raw, "persistence", "aof_current_size").parse().expect("size");
    assert!(size < 20000, "the rewritten AOF holds one key: {size} bytes");
}

#[test]
fn an_old_style_single_file_with_rdb_preamble_is_loaded_and_upgraded() {
    let dir = Dir::new("upgrade");
    let brim = Server::start(&["--dir", dir.path(), "--save", "", "--dbfilename", "pre.rdb"]);
    let mut raw = brim.raw();
    populate(&mut raw);
    ok(&mut raw, &["SAVE"]);
    ok(&mut raw, &["SET", "tail", "1"]);
    ok(&mut raw, &["SELECT", "2"]);
    ok(&mut raw, &["DEL", "db2:key"]);
    let before = snapshot(&mut raw);
    kill9(brim);
    // Redis 6's appendonly.aof: an RDB preamble, then commands.
    let mut old = std::fs::read(dir.0.join("pre.rdb")).expect("rdb");
    std::fs::remove_file(dir.0.join("pre.rdb")).expect("rm");
    old.extend_from_slice(&common::encode(&[b"SET", b"tail", b"1"]));
    old.extend_from_slice(&common::encode(&[b"SELECT", b"2"]));
    old.extend_from_slice(&common::encode(&[b"DEL", b"db2:key"]));
    std::fs::write(dir.0.join("appendonly.aof"), old).expect("write");
    let brim = brim_aof(&dir, &[]);
    let mut raw = brim.raw();
    assert_eq!(snapshot(&mut raw), before);
    let manifest = std::fs::read_to_string(dir.aof("appendonly.aof.manifest")).expect("manifest");
    assert_eq!(manifest, "file appendonly.aof seq 1 type b\nfile appendonly.aof.1.incr.aof seq 1 type i\n");
    assert!(!dir.0.join("appendonly.aof").exists());
    ok(&mut raw, &["SET", "after", "upgrade"]);
    kill9(brim);
    let brim = brim_aof(&dir, &[]);
    assert_eq!(brim.raw().cmd_str(&["GET", "after"]), "$7\r\nupgrade\r\n");
}

#[test]
fn bgrewriteaof_with_appendonly_no_writes_a_base_only_as_redis() {
    let (bd, rd) = (Dir::new("off-brim"), Dir::new("off-redis"));
    let brim = Server::start(&["--dir", bd.path(), "--save", ""]);
    let redis = Server::redis(&["--dir", rd.path(), "--save", ""]);
    for (s, d) in [(&brim, &bd), (&redis, &rd)] {
        let mut raw = s.raw();
        ok(&mut raw, &["SET", "a", "1"]);
        for round in 1..=2 {
            ok(&mut raw, &["BGREWRITEAOF"]);
            wait_for(
                || info_str(&mut raw, "persistence", "aof_rewrites") == round.to_string(),
                "the rewrite",
            );
            wait_for(|| info_str(&mut raw, "persistence", "aof_rewrite_in_progress") == "0", "its end");
        }
        assert_eq!(info_str(&mut raw, "persistence", "aof_enabled"), "0");
        let mut names: Vec<String> = std::fs::read_dir(d.0.join("appendonlydir"))
            .expect("dir")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(names, ["appendonly.aof.2.base.rdb", "appendonly.aof.manifest"]);
        let manifest = std::fs::read_to_string(d.aof("appendonly.aof.manifest")).expect("manifest");
        assert_eq!(manifest, "file appendonly.aof.2.base.rdb seq 2 type b\n");
    }
}

// ---------------------------------------------------------------------------------------
// `aof-use-rdb-preamble no`: the base written as commands
// ---------------------------------------------------------------------------------------

const NO_PREAMBLE: &[&str] = &["--aof-use-rdb-preamble", "no"];

/// BGREWRITEAOF, then wait for its end.
fn rewrite_now(raw: &mut Raw) {
    assert_eq!(ok(raw, &["BGREWRITEAOF"]), "+Background append only file rewriting started\r\n");
    wait_for(|| info_str(raw, "persistence", "aof_rewrite_in_progress") == "0", "the rewrite");
    assert_eq!(info_str(raw, "persistence", "aof_last_bgrewrite_status"), "ok");
}

/// The sorted names of the files in `dir`'s AOF directory.
fn aof_names(dir: &Dir) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir.0.join("appendonlydir"))
        .expect("aof dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// A command-form base's shape: for each command, the database it runs in, its name, key
/// and argument count, sorted (Redis writes big collections in hash-table order, so the
/// arguments themselves and the order of keys differ between servers).
fn base_shape(cmds: &[Vec<String>]) -> Vec<(String, String, String, usize)> {
    let mut db = String::from("none");
    let mut shape = Vec::new();
    for c in cmds {
        if c[0] == "SELECT" {
            db = c[1].clone();
        }
        shape.push((db.clone(), c[0].clone(), c.get(1).cloned().unwrap_or_default(), c.len()));
    }
    shape.sort();
    shape
}

/// A copy of `from`'s AOF directory in a new data directory.
fn copy_aof_dir(from: &Dir, tag: &str) -> Dir {
    let to = Dir::new(tag);
    std::fs::create_dir_all(to.0.join("appendonlydir")).expect("mkdir");
    for name in aof_names(from) {
        std::fs::copy(from.aof(&name), to.aof(&name)).expect("copy");
    }
    to
}

#[test]
fn without_the_preamble_the_base_is_the_commands_redis_writes() {
    let (bd, rd) = (Dir::new("cmdbase-brim"), Dir::new("cmdbase-redis"));
    let brim = brim_aof(&bd, NO_PREAMBLE);
    let redis = redis_aof(&rd, NO_PREAMBLE);
    let mut shapes = Vec::new();
    for (s, d) in [(&brim, &bd), (&redis, &rd)] {
        let mut raw = s.raw();
        assert_eq!(
            aof_names(d),
            ["appendonly.aof.1.base.aof", "appendonly.aof.1.incr.aof", "appendonly.aof.manifest"]
        );
        assert_eq!(std::fs::metadata(d.aof("appendonly.aof.1.base.aof")).expect("base").len(), 0);
        populate(&mut raw);
        rewrite_now(&mut raw);
        assert_eq!(
            aof_names(d),
            ["appendonly.aof.2.base.aof", "appendonly.aof.2.incr.aof", "appendonly.aof.manifest"]
        );
        let manifest = std::fs::read_to_string(d.aof("appendonly.aof.manifest")).expect("manifest");
        assert_eq!(
            manifest,
            "file appendonly.aof.2.base.aof seq 2 type b\nfile appendonly.aof.2.incr.aof seq 2 type i\n"
        );
        let base = d.aof("appendonly.aof.2.base.aof");
        assert!(std::fs::read(&base).expect("base").starts_with(b"*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n"));
        shapes.push(base_shape(&read_commands(&base)));
    }
    assert!(shapes[0].iter().any(|c| c.1 == "ZADD" && c.3 == 130), "{:?}", shapes[0]);
    assert!(shapes[0].iter().any(|c| c.1 == "PEXPIREAT"), "{:?}", shapes[0]);
    assert_eq!(shapes[0], shapes[1]);
}

#[test]
fn a_command_form_base_passes_redis_check_aof_and_loads_in_brim_and_redis() {
    let dir = Dir::new("cmdbase-load");
    let brim = brim_aof(&dir, NO_PREAMBLE);
    let mut raw = brim.raw();
    populate(&mut raw);
    ok(&mut raw, &["SET", "s:bin", "\u{0}\u{1}\r\n\u{ff}"]);
    ok(&mut raw, &["ZADD", "z:inf", "inf", "a", "-inf", "b", "0.1", "c", "-0", "d"]);
    rewrite_now(&mut raw);
    ok(&mut raw, &["SET", "after-rewrite", "1"]);
    ok(&mut raw, &["SPOP", "set:big", "3"]);
    let before = snapshot(&mut raw);
    kill9(brim);
    assert_redis_check_aof_accepts(&dir);
    let copy = copy_aof_dir(&dir, "cmdbase-copy");
    let brim = brim_aof(&dir, NO_PREAMBLE);
    assert_eq!(snapshot(&mut brim.raw()), before);
    let redis = redis_aof(&copy, NO_PREAMBLE);
    assert_eq!(snapshot(&mut redis.raw()), before);
    // Same values in the same encodings (big values aside: LZF output differs).
    for k in ["s:bin", "z:inf", "h:small", "set:ints", "l:small"] {
        let (b, r) = (brim.raw().cmd(&["DUMP", k]), redis.raw().cmd(&["DUMP", k]));
        assert_eq!(b, r, "DUMP {k}");
    }
}

#[test]
fn brim_loads_a_command_form_base_written_by_redis() {
    let dir = Dir::new("cmdbase-from-redis");
    let redis = redis_aof(&dir, NO_PREAMBLE);
    let mut raw = redis.raw();
    populate(&mut raw);
    rewrite_now(&mut raw);
    ok(&mut raw, &["SET", "after-rewrite", "1"]);
    let before = snapshot(&mut raw);
    kill9(redis);
    assert!(std::fs::read(dir.aof("appendonly.aof.2.base.aof"))
        .expect("base")
        .starts_with(b"*2\r\n$6\r\nSELECT"));
    let brim = brim_aof(&dir, NO_PREAMBLE);
    assert_eq!(snapshot(&mut brim.raw()), before);
}

#[test]
fn each_aof_file_replays_from_database_0_as_in_redis() {
    let mut keyspaces = Vec::new();
    for redis in [false, true] {
        let dir = Dir::new("db0-per-file");
        std::fs::create_dir_all(dir.0.join("appendonlydir")).expect("mkdir");
        let mut base = Vec::new();
        for c in [&["SELECT", "3"][..], &["SET", "a", "1"]] {
            base.extend_from_slice(format!("*{}\r\n", c.len()).as_bytes());
            for a in c {
                base.extend_from_slice(format!("${}\r\n{a}\r\n", a.len()).as_bytes());
            }
        }
        std::fs::write(dir.aof("appendonly.aof.1.base.aof"), &base).expect("base");
        std::fs::write(dir.aof("appendonly.aof.1.incr.aof"), b"*3\r\n$3\r\nSET\r\n$1\r\nx\r\n$1\r\n1\r\n")
            .expect("incr");
        std::fs::write(
            dir.aof("appendonly.aof.manifest"),
            "file appendonly.aof.1.base.aof seq 1 type b\nfile appendonly.aof.1.incr.aof seq 1 type i\n",
        )
        .expect("manifest");
        let s = if redis { redis_aof(&dir, &[]) } else { brim_aof(&dir, &[]) };
        let mut raw = s.raw();
        let mut dbs = Vec::new();
        for db in ["0", "3"] {
            ok(&mut raw, &["SELECT", db]);
            dbs.push(bulks(&raw.cmd(&["KEYS", "*"])));
        }
        keyspaces.push(dbs);
    }
    assert_eq!(keyspaces[0], vec![vec!["x".to_string()], vec!["a".to_string()]]);
    assert_eq!(keyspaces[0], keyspaces[1]);
}

#[test]
fn config_set_aof_use_rdb_preamble_picks_the_next_bases_format_as_in_redis() {
    let (bd, rd) = (Dir::new("fmt-brim"), Dir::new("fmt-redis"));
    let brim = brim_aof(&bd, &[]);
    let redis = redis_aof(&rd, &[]);
    for (s, d) in [(&brim, &bd), (&redis, &rd)] {
        let mut raw = s.raw();
        ok(&mut raw, &["SET", "k", "v"]);
        assert_eq!(ok(&mut raw, &["CONFIG", "SET", "aof-use-rdb-preamble", "no"]), "+OK\r\n");
        rewrite_now(&mut raw);
        assert_eq!(
            aof_names(d),
            ["appendonly.aof.2.base.aof", "appendonly.aof.2.incr.aof", "appendonly.aof.manifest"]
        );
        assert_eq!(
            read_commands(&d.aof("appendonly.aof.2.base.aof")),
            [vec!["SELECT", "0"], vec!["SET", "k", "v"]]
        );
        assert_eq!(ok(&mut raw, &["CONFIG", "SET", "aof-use-rdb-preamble", "yes"]), "+OK\r\n");
        rewrite_now(&mut raw);
        assert_eq!(
            aof_names(d),
            ["appendonly.aof.3.base.rdb", "appendonly.aof.3.incr.aof", "appendonly.aof.manifest"]
        );
        assert!(std::fs::read(d.aof("appendonly.aof.3.base.rdb")).expect("base").starts_with(b"REDIS"));
    }
}

#[test]
fn a_command_form_rewrite_while_clients_write_then_restart_keeps_everything() {
    let dir = Dir::new("cmdbase-rewrite");
    let brim = brim_aof(&dir, NO_PREAMBLE);
    let mut raw = brim.raw();
    populate(&mut raw);
    let stop = Arc::new(AtomicBool::new(false));
    let writer = incr_writer(brim.port, stop.clone());
    wait_for(|| raw.cmd_str(&["EXISTS", "counter"]) == ":1\r\n", "the writer");
    rewrite_now(&mut raw);
    let mut counter = || {
        let reply = raw.cmd_str(&["GET", "counter"]);
        reply.split("\r\n").nth(1).and_then(|v| v.parse::<i64>().ok()).expect("counter")
    };
    let at_rewrite_end = counter();
    wait_for(|| counter() > at_rewrite_end + 10, "more writes after the rewrite");
    stop.store(true, Relaxed);
    let acks = writer.join().expect("writer");
    let last = acks.last().expect("acks").0;
    let before = snapshot(&mut raw);
    kill9(brim);
    let base = read_commands(&dir.aof("appendonly.aof.2.base.aof"));
    let keys: Vec<&str> = base.iter().filter(|c| c[0] != "SELECT").map(|c| c[1].as_str()).collect();
    assert!(keys.contains(&"counter"), "the base holds the counter: {keys:?}");
    let brim = brim_aof(&dir, NO_PREAMBLE);
    let mut raw = brim.raw();
    assert_eq!(snapshot(&mut raw), before);
    assert_eq!(raw.cmd_str(&["GET", "counter"]), format!("${}\r\n{last}\r\n", last.to_string().len()));
}
