//! `INFO keysizes` (Redis 8's section): power-of-two histograms of key sizes per type per
//! database, kept up to date as keys change. The real Redis 7.0 oracle has no such section,
//! so the expected lines come from Redis 8's own test suite (tests/unit/info-keysizes.tcl,
//! reproduced step by step) and, for random workloads, from a recount that walks the keys
//! with KEYS, TYPE and STRLEN/LLEN/SCARD/ZCARD/HLEN.

mod common;

use std::time::{Duration, Instant};

use common::{Raw, Server};

/// The text of a bulk reply.
fn bulk_text(reply: &[u8]) -> String {
    let s = String::from_utf8_lossy(reply).into_owned();
    assert!(s.starts_with('$'), "not a bulk reply: {s:?}");
    s[s.find("\r\n").map_or(0, |i| i + 2)..s.len() - 2].to_string()
}

/// The lines of `INFO keysizes` after its header, joined by spaces.
fn hist(c: &mut Raw) -> String {
    let text = bulk_text(&c.cmd(&["INFO", "keysizes"]));
    let body = text.strip_prefix("# Keysizes\r\n").unwrap_or_else(|| panic!("no header: {text:?}"));
    assert!(body.is_empty() || body.ends_with("\r\n"), "{body:?}");
    body.split("\r\n").filter(|l| !l.is_empty()).collect::<Vec<_>>().join(" ")
}

/// Expand the abbreviations of Redis's test suite: `db0_LIST:4=1` is
/// `db0_distrib_lists_items:4=1`.
fn expand(short: &str) -> String {
    [
        ("_STR:", "_distrib_strings_sizes:"),
        ("_LIST:", "_distrib_lists_items:"),
        ("_SET:", "_distrib_sets_items:"),
        ("_ZSET:", "_distrib_zsets_items:"),
        ("_HASH:", "_distrib_hashes_items:"),
    ]
    .iter()
    .fold(short.to_string(), |s, (from, to)| s.replace(from, to))
}

/// Run each command (split on whitespace) and check the histogram after it.
fn steps(c: &mut Raw, script: &[(&str, &str)]) {
    for (cmd, want) in script {
        let args: Vec<&str> = cmd.split_whitespace().collect();
        let reply = c.cmd(&args);
        assert!(!reply.starts_with(b"-"), "{cmd}: {}", String::from_utf8_lossy(&reply));
        assert_eq!(hist(c), expand(want), "after {cmd}");
    }
}

/// Poll (every 10 ms, up to 5 s) until the histogram is `want`.
fn wait_hist(c: &mut Raw, want: &str) {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let got = hist(c);
        if got == expand(want) {
            return;
        }
        assert!(Instant::now() < deadline, "histogram stayed {got:?}, want {:?}", expand(want));
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn int(c: &mut Raw, args: &[&str]) -> u64 {
    let r = String::from_utf8_lossy(&c.cmd(args)).into_owned();
    r.strip_prefix(':').and_then(|v| v.trim_end().parse().ok()).unwrap_or_else(|| panic!("{args:?}: {r:?}"))
}

/// The elements of an array reply of bulk strings.
fn bulk_array(reply: &[u8]) -> Vec<String> {
    let s = String::from_utf8_lossy(reply).into_owned();
    let mut lines = s.split("\r\n");
    let n: usize = lines.next().and_then(|h| h.strip_prefix('*')).and_then(|n| n.parse().ok()).unwrap_or(0);
    (0..n).filter_map(|_| lines.nth(1).map(str::to_string)).collect()
}

/// The label Redis gives the bin of `size`: the largest power of two not above it, with a
/// binary suffix (written independently of the server's bin arithmetic).
fn label(size: u64) -> String {
    if size == 0 {
        return "0".into();
    }
    let mut power = 1u64;
    while power * 2 <= size {
        power *= 2;
    }
    let mut suffix = 0;
    while power >= 1024 {
        power /= 1024;
        suffix += 1;
    }
    format!("{power}{}", ["", "K", "M", "G", "T"][suffix])
}

/// The histogram lines of the selected database `db`, recomputed by walking its keys.
fn recount(c: &mut Raw, db: usize) -> Vec<String> {
    c.cmd(&["SELECT", &db.to_string()]);
    let mut counts: std::collections::BTreeMap<(usize, u64), u64> = Default::default();
    for key in bulk_array(&c.cmd(&["KEYS", "*"])) {
        let ty =
            String::from_utf8_lossy(&c.cmd(&["TYPE", &key])).trim_end().trim_start_matches('+').to_string();
        let (row, cmd) = match ty.as_str() {
            "string" => (0, "STRLEN"),
            "list" => (1, "LLEN"),
            "set" => (2, "SCARD"),
            "zset" => (3, "ZCARD"),
            "hash" => (4, "HLEN"),
            _ => continue,
        };
        let size = int(c, &[cmd, &key]);
        let bin = if size == 0 { 0 } else { 64 - size.leading_zeros() as u64 };
        *counts.entry((row, bin)).or_default() += 1;
    }
    let names = ["STR", "LIST", "SET", "ZSET", "HASH"];
    (0..names.len())
        .filter_map(|row| {
            let bins: Vec<String> = counts
                .iter()
                .filter(|((r, _), _)| *r == row)
                .map(|((_, bin), n)| format!("{}={n}", label(if *bin == 0 { 0 } else { 1 << (bin - 1) })))
                .collect();
            (!bins.is_empty()).then(|| expand(&format!("db{db}_{}:{}", names[row], bins.join(","))))
        })
        .collect()
}

/// The whole histogram recomputed over databases 0..`dbs` (leaves database 0 selected).
fn recount_all(c: &mut Raw, dbs: usize) -> String {
    let lines: Vec<String> = (0..dbs).flat_map(|db| recount(c, db)).collect();
    c.cmd(&["SELECT", "0"]);
    lines.join(" ")
}

#[test]
fn section_is_shown_only_when_asked_for_by_name() {
    let brim = Server::start(&[]);
    let mut c = brim.raw();
    c.cmd(&["SET", "k", "v"]);
    assert_eq!(bulk_text(&c.cmd(&["INFO", "keysizes"])), "# Keysizes\r\ndb0_distrib_strings_sizes:1=1\r\n");
    assert_eq!(bulk_text(&c.cmd(&["INFO", "KEYSIZES"])), bulk_text(&c.cmd(&["INFO", "keysizes"])));
    for words in [&[][..], &["default"], &["all"], &["everything"]] {
        let mut cmd = vec!["INFO"];
        cmd.extend_from_slice(words);
        let text = bulk_text(&c.cmd(&cmd));
        assert!(text.contains("# Keyspace\r\n"), "{words:?}");
        assert!(!text.contains("Keysizes") && !text.contains("distrib_"), "{words:?}");
    }
    // After the keyspace, whatever order it is asked in.
    let text = bulk_text(&c.cmd(&["INFO", "keysizes", "keyspace"]));
    assert_eq!(
        text,
        "# Keyspace\r\ndb0:keys=1,expires=0,avg_ttl=0\r\n\r\n# Keysizes\r\ndb0_distrib_strings_sizes:1=1\r\n"
    );
    c.cmd(&["FLUSHALL"]);
    assert_eq!(bulk_text(&c.cmd(&["INFO", "keysizes"])), "# Keysizes\r\n");
}

#[test]
fn strings_are_binned_by_length() {
    let brim = Server::start(&[]);
    let mut c = brim.raw();
    let mut value = String::new();
    for i in 1..=10u64 {
        value.push('x');
        assert_eq!(c.cmd(&["SET", "mykey", &value]), b"+OK\r\n");
        assert_eq!(hist(&mut c), expand(&format!("db0_STR:{}=1", label(i))));
    }
    steps(
        &mut c,
        &[
            ("FLUSHALL", ""),
            ("SET s1 1024", "db0_STR:4=1"),
            ("SET s1 842", "db0_STR:2=1"),
            ("SET s1 2", "db0_STR:1=1"),
            ("SET s1 1234567", "db0_STR:4=1"),
            ("INCRBY s1 9000000", "db0_STR:8=1"),
            ("DECRBY s1 10234566", "db0_STR:1=1"),
            ("DECRBY s1 2", "db0_STR:2=1"),
            ("INCRBYFLOAT s1 0.5", "db0_STR:4=1"),
            ("SET e x", "db0_STR:1=1,4=1"),
            ("SETRANGE e 0 abc", "db0_STR:2=1,4=1"),
            ("GETSET e 123456789", "db0_STR:4=1,8=1"),
            ("SET z x", "db0_STR:1=1,4=1,8=1"),
            ("GETDEL z", "db0_STR:4=1,8=1"),
            ("INCR counter", "db0_STR:1=1,4=1,8=1"),
            ("DEL s1 e counter", ""),
            ("SET s2 1234567890", "db0_STR:8=1"),
            ("SETRANGE s2 10 123456", "db0_STR:16=1"),
            ("SETRANGE s2 0 x", "db0_STR:16=1"),
            ("APPEND s3 abc", "db0_STR:2=1,16=1"),
            ("APPEND s3 d", "db0_STR:4=1,16=1"),
            ("FLUSHALL", ""),
            ("MSET s3 1 s4 2 s5 3", "db0_STR:1=3"),
            ("MSETNX s6 1 s7 2 s8 3", "db0_STR:1=6"),
            ("SETNX s6 abcdef", "db0_STR:1=6"),
            ("SET s6 abcdef XX GET", "db0_STR:1=5,4=1"),
            ("FLUSHALL", ""),
            ("SET b1 x123456789", "db0_STR:8=1"),
            ("SET b2 x12345678", "db0_STR:8=2"),
            ("BITOP AND b3 b1 b2", "db0_STR:8=3"),
            ("BITOP OR b4 b1 b2", "db0_STR:8=4"),
            ("FLUSHALL", ""),
            ("SETBIT b1 71 1", "db0_STR:8=1"),
            ("SETBIT b1 72 1", "db0_STR:8=1"),
            ("SETBIT b2 72 1", "db0_STR:8=2"),
            ("SETBIT b2 640 0", "db0_STR:8=1,64=1"),
            ("FLUSHALL", ""),
            ("BITFIELD b3 SET u8 6 255", "db0_STR:2=1"),
            ("BITFIELD b3 SET u8 65 255", "db0_STR:8=1"),
            ("BITFIELD b4 SET u8 1000 255", "db0_STR:8=1,64=1"),
        ],
    );
    // A HyperLogLog is a string of its representation's length.
    c.cmd(&["PFADD", "h", "a", "b", "c"]);
    assert_eq!(hist(&mut c), recount_all(&mut c, 1));
    // An empty string has a bin of its own.
    c.cmd(&["FLUSHALL"]);
    assert_eq!(c.cmd(&["SET", "empty", ""]), b"+OK\r\n");
    assert_eq!(hist(&mut c), expand("db0_STR:0=1"));
    c.cmd(&["APPEND", "empty", "ab"]);
    assert_eq!(hist(&mut c), expand("db0_STR:2=1"));
    // Doubling by APPEND walks the bins up to mega.
    let mut s = "0123456789ABCDEF".to_string();
    c.cmd(&["SET", "x", &s]);
    let mut want = vec!["16".to_string()];
    for _ in 0..17 {
        c.cmd(&["APPEND", "x", &s.clone()]);
        s = s.repeat(2);
        want.push(label(s.len() as u64));
        assert_eq!(hist(&mut c), expand(&format!("db0_STR:2=1,{}=1", label(s.len() as u64))));
    }
    assert_eq!(want.last().map(String::as_str), Some("2M"));
    assert_eq!(hist(&mut c), recount_all(&mut c, 1));
}

#[test]
fn lists_follow_pushes_pops_and_moves() {
    let brim = Server::start(&[]);
    let mut c = brim.raw();
    steps(
        &mut c,
        &[
            ("RPUSH l1 1 2 3 4 5", "db0_LIST:4=1"),
            ("RPUSH l1 6 7 8 9", "db0_LIST:8=1"),
            ("LPUSH l2 1", "db0_LIST:1=1,8=1"),
            ("LPUSH l2 2", "db0_LIST:2=1,8=1"),
            ("LPUSHX l2 3", "db0_LIST:2=1,8=1"),
            ("RPUSHX l2 4", "db0_LIST:4=1,8=1"),
            ("RPOP l1", "db0_LIST:4=1,8=1"),
            ("RPOP l1", "db0_LIST:4=2"),
            ("DEL l1", "db0_LIST:4=1"),
            ("RPUSH l3 0 1 2 3 4 5 6 7 8 9 10 11 12 13 14", "db0_LIST:4=1,8=1"),
            ("LINSERT l3 AFTER 9 10", "db0_LIST:4=1,16=1"),
            ("LTRIM l3 0 8", "db0_LIST:4=1,8=1"),
            ("LSET l3 0 x", "db0_LIST:4=1,8=1"),
            ("DEL l3", "db0_LIST:4=1"),
            ("DEL l2", ""),
            ("RPUSH l4 1 2 3 4 5 6 7 8", "db0_LIST:8=1"),
            ("LMOVE l4 l5 LEFT LEFT", "db0_LIST:1=1,4=1"),
            ("LMOVE l4 l5 RIGHT RIGHT", "db0_LIST:2=1,4=1"),
            ("LMOVE l4 l5 LEFT RIGHT", "db0_LIST:2=1,4=1"),
            ("LMOVE l4 l5 RIGHT LEFT", "db0_LIST:4=2"),
            ("BLMOVE l4 l5 RIGHT LEFT 0", "db0_LIST:2=1,4=1"),
            ("RPOPLPUSH l4 l4", "db0_LIST:2=1,4=1"),
            ("DEL l4", "db0_LIST:4=1"),
            ("DEL l5", ""),
            ("RPUSH l6 1 2 3 4 5 6 7 8 9 10", "db0_LIST:8=1"),
            ("LMPOP 1 l6 LEFT COUNT 2", "db0_LIST:8=1"),
            ("LMPOP 1 l6 LEFT COUNT 1", "db0_LIST:4=1"),
            ("LMPOP 1 l6 LEFT COUNT 6", "db0_LIST:1=1"),
            ("BLPOP l6 0", ""),
            ("RPUSH l7 1 2 3 4", "db0_LIST:4=1"),
            ("LPOP l7", "db0_LIST:2=1"),
            ("LPOP l7", "db0_LIST:2=1"),
            ("LPOP l7", "db0_LIST:1=1"),
            ("LPOP l7", ""),
            ("RPUSH l8 y x y x y x y x y y", "db0_LIST:8=1"),
            ("LREM l8 3 x", "db0_LIST:4=1"),
            ("LREM l8 0 y", "db0_LIST:1=1"),
            ("LREM l8 0 x", ""),
            ("RPUSH l9 1 2 3 4", "db0_LIST:4=1"),
            ("SET l9 1234567", "db0_STR:4=1"),
            ("DEL l9", ""),
        ],
    );
    // A client blocked on an empty list is served by a push: the element never stays.
    let mut waiter = brim.raw();
    waiter.send(&common::encode(&[b"BLPOP", b"lb", b"0"]));
    let deadline = Instant::now() + Duration::from_secs(5);
    while !String::from_utf8_lossy(&c.cmd(&["CLIENT", "LIST"])).contains("cmd=blpop") {
        assert!(Instant::now() < deadline, "BLPOP did not block");
        std::thread::sleep(Duration::from_millis(5));
    }
    steps(&mut c, &[("RPUSH lb a b", "db0_LIST:1=1")]);
    assert_eq!(bulk_array(&waiter.read_reply()), ["lb", "a"]);
}

#[test]
fn sets_follow_adds_removes_and_stores() {
    let brim = Server::start(&[]);
    let mut c = brim.raw();
    steps(
        &mut c,
        &[
            ("SADD s1 1 2 3 4 5", "db0_SET:4=1"),
            ("SADD s1 6 7 8", "db0_SET:8=1"),
            ("SADD s2 1", "db0_SET:1=1,8=1"),
            ("SADD s2 2", "db0_SET:2=1,8=1"),
            ("SREM s2 3", "db0_SET:2=1,8=1"),
            ("SMOVE s2 s3 2", "db0_SET:1=2,8=1"),
            ("SPOP s3", "db0_SET:1=1,8=1"),
            ("SPOP s2", "db0_SET:8=1"),
            ("SPOP s1", "db0_SET:4=1"),
            ("SPOP s1 7", ""),
            ("SADD s2 1", "db0_SET:1=1"),
            ("SMOVE s2 s4 1", "db0_SET:1=1"),
            ("SREM s4 1", ""),
            ("SADD s2 a b c d e f g h", "db0_SET:8=1"),
            ("SPOP s2 7", "db0_SET:1=1"),
            ("FLUSHALL", ""),
            ("SADD s1 1 2 3 4 5 6 7 8", "db0_SET:8=1"),
            ("SADD s2 6 7 8 9 A B C D", "db0_SET:8=2"),
            ("SADD s3 x", "db0_SET:1=1,8=2"),
            ("SDIFFSTORE s3 s1 s2", "db0_SET:4=1,8=2"),
            ("SINTERSTORE s3 s1 s2", "db0_SET:2=1,8=2"),
            ("SUNIONSTORE s3 s1 s2", "db0_SET:8=3"),
            ("SINTERSTORE s3 s1 nosuch", "db0_SET:8=2"),
            ("SADD s4 E F G H", "db0_SET:4=1,8=2"),
            ("SUNIONSTORE s5 s1 s4", "db0_SET:4=1,8=3"),
            ("SET s5 1234567", "db0_STR:4=1 db0_SET:4=1,8=2"),
            ("DEL s1 s2 s4 s5", ""),
        ],
    );
}

#[test]
fn zsets_follow_adds_removes_and_stores() {
    let brim = Server::start(&[]);
    let mut c = brim.raw();
    steps(
        &mut c,
        &[
            ("ZADD z1 1 a 2 b 3 c 4 d 5 e", "db0_ZSET:4=1"),
            ("ZADD z1 6 f 7 g 8 h 9 i", "db0_ZSET:8=1"),
            ("ZADD z2 1 a", "db0_ZSET:1=1,8=1"),
            ("ZREM z1 a", "db0_ZSET:1=1,8=1"),
            ("ZREM z1 b", "db0_ZSET:1=1,4=1"),
            ("ZINCRBY z2 5 a", "db0_ZSET:1=1,4=1"),
            ("ZINCRBY z2 5 b", "db0_ZSET:2=1,4=1"),
            ("FLUSHALL", ""),
            ("ZADD z1 1 a 2 b 3 c 4 d 5 e", "db0_ZSET:4=1"),
            ("ZREMRANGEBYSCORE z1 -inf (2", "db0_ZSET:4=1"),
            ("ZREMRANGEBYSCORE z1 -inf (3", "db0_ZSET:2=1"),
            ("FLUSHALL", ""),
            ("ZADD z1 1 a 2 b 3 c 4 d 5 e 6 f", "db0_ZSET:4=1"),
            ("ZREMRANGEBYRANK z1 0 1", "db0_ZSET:4=1"),
            ("ZREMRANGEBYRANK z1 0 0", "db0_ZSET:2=1"),
            ("FLUSHALL", ""),
            ("ZADD z1 0 a 0 b 0 c 0 d 0 e 0 f", "db0_ZSET:4=1"),
            ("ZREMRANGEBYLEX z1 - (d", "db0_ZSET:2=1"),
            ("FLUSHALL", ""),
            ("ZADD z1 1 a 2 b 3 c 4 d 5 e", "db0_ZSET:4=1"),
            ("ZADD z2 6 f 7 g 8 h 9 i", "db0_ZSET:4=2"),
            ("ZUNIONSTORE z3 2 z1 z2", "db0_ZSET:4=2,8=1"),
            ("ZADD z2 3 c 4 d 5 e", "db0_ZSET:4=2,8=1"),
            ("ZINTERSTORE z3 2 z1 z2", "db0_ZSET:2=1,4=2"),
            ("ZDIFFSTORE z3 2 z1 z2", "db0_ZSET:2=1,4=2"),
            ("ZRANGESTORE z3 z2 0 0", "db0_ZSET:1=1,4=2"),
            ("FLUSHALL", ""),
            ("ZADD z1 1 a 2 b 3 c 4 d 5 e", "db0_ZSET:4=1"),
            ("BZPOPMIN z1 0", "db0_ZSET:4=1"),
            ("BZPOPMAX z1 0", "db0_ZSET:2=1"),
            ("ZPOPMIN z1 2", "db0_ZSET:1=1"),
            ("ZMPOP 1 z1 MIN", ""),
            ("ZADD z1 1 a 2 b 3 c 4 d 5 e", "db0_ZSET:4=1"),
            ("SET z1 1234567", "db0_STR:4=1"),
            ("DEL z1", ""),
        ],
    );
}

#[test]
fn hashes_follow_fields_in_both_encodings() {
    for entries in ["128", "0"] {
        let brim = Server::start(&["--hash-max-listpack-entries", entries]);
        let mut c = brim.raw();
        steps(
            &mut c,
            &[
                ("HSETNX h1 1 1", "db0_HASH:1=1"),
                ("HSETNX h1 2 2", "db0_HASH:2=1"),
                ("HSETNX h1 2 3", "db0_HASH:2=1"),
                ("FLUSHALL", ""),
                ("HSET h2 1 1", "db0_HASH:1=1"),
                ("HSET h2 2 2", "db0_HASH:2=1"),
                ("HDEL h2 1", "db0_HASH:1=1"),
                ("HDEL h2 2", ""),
                ("HMSET h1 1 1 2 2 3 3", "db0_HASH:2=1"),
                ("HMSET h1 1 1 2 2 3 3", "db0_HASH:2=1"),
                ("HMSET h1 1 1 2 2 3 3 4 4", "db0_HASH:4=1"),
                ("FLUSHALL", ""),
                ("HINCRBY h1 f1 10", "db0_HASH:1=1"),
                ("HINCRBY h1 f1 10", "db0_HASH:1=1"),
                ("HINCRBY h1 f2 20", "db0_HASH:2=1"),
                ("HINCRBYFLOAT h1 f3 10.5", "db0_HASH:2=1"),
                ("HINCRBYFLOAT h1 f3 10.5", "db0_HASH:2=1"),
                ("HSET h1 f4 x", "db0_HASH:4=1"),
                ("SET h1 1234567", "db0_STR:4=1"),
            ],
        );
    }
}

/// A collection that outgrows its packed encoding keeps the same count, and so does one
/// shrinking back.
#[test]
fn big_collections_keep_counts_across_encoding_conversions() {
    let brim = Server::start(&["--hash-max-listpack-entries", "128"]);
    let mut c = brim.raw();
    let fields: Vec<String> = (0..200).map(|i| format!("f{i}")).collect();
    for (i, f) in fields.iter().enumerate() {
        c.cmd(&["HSET", "h", f, "v"]);
        c.cmd(&["SADD", "s", &i.to_string()]);
        c.cmd(&["ZADD", "z", &i.to_string(), f]);
        c.cmd(&["RPUSH", "l", &"x".repeat(100)]);
        let n = i as u64 + 1;
        if [1, 127, 128, 129, 200].contains(&n) {
            let l = label(n);
            let want = format!("db0_LIST:{l}=1 db0_SET:{l}=1 db0_ZSET:{l}=1 db0_HASH:{l}=1");
            assert_eq!(hist(&mut c), expand(&want), "at {n}");
        }
    }
    let enc = |c: &mut Raw, k: &str| bulk_text(&c.cmd(&["OBJECT", "ENCODING", k]));
    assert_eq!(enc(&mut c, "h"), "hashtable");
    assert_eq!(enc(&mut c, "z"), "skiplist");
    c.cmd(&["SADD", "s", "not-an-int"]);
    assert_eq!(enc(&mut c, "s"), "hashtable");
    // Integer sets grow past set-max-intset-entries (512) into a hash table.
    let ints: Vec<String> = (0..600).map(|i| i.to_string()).collect();
    let mut cmd = vec!["SADD", "si"];
    cmd.extend(ints[..511].iter().map(String::as_str));
    c.cmd(&cmd);
    assert_eq!(enc(&mut c, "si"), "intset");
    let mut cmd = vec!["SADD", "si"];
    cmd.extend(ints[511..].iter().map(String::as_str));
    c.cmd(&cmd);
    assert_eq!(enc(&mut c, "si"), "hashtable");
    assert_eq!(hist(&mut c), expand("db0_LIST:128=1 db0_SET:128=1,512=1 db0_ZSET:128=1 db0_HASH:128=1"));
    // Shrinking back under the packed limits.
    c.cmd(&["LTRIM", "l", "0", "2"]);
    c.cmd(&["ZREMRANGEBYRANK", "z", "0", "-4"]);
    let mut cmd = vec!["HDEL", "h"];
    cmd.extend(fields[..196].iter().map(String::as_str));
    c.cmd(&cmd);
    c.cmd(&["SPOP", "si", "599"]);
    assert_eq!(hist(&mut c), expand("db0_LIST:2=1 db0_SET:1=1,128=1 db0_ZSET:2=1 db0_HASH:4=1"));
    assert_eq!(hist(&mut c), recount_all(&mut c, 1));
}

/// Keys leaving or moving: DEL/UNLINK (a big value freed lazily), expiry (lazy and active),
/// FLUSHDB, FLUSHALL ASYNC, SWAPDB, MOVE, RENAME, COPY and RESTORE.
#[test]
fn keys_leaving_or_moving_between_databases() {
    let brim = Server::start(&[]);
    let mut c = brim.raw();
    let big: Vec<String> = (0..1000).map(|i| i.to_string()).collect();
    let mut sadd = vec!["SADD", "big"];
    sadd.extend(big.iter().map(String::as_str));
    c.cmd(&sadd);
    steps(
        &mut c,
        &[
            ("UNLINK big", ""),
            ("RPUSH l1 1 2 3 4", "db0_LIST:4=1"),
            ("RPUSH l2 1", "db0_LIST:1=1,4=1"),
            ("MOVE l1 1", "db0_LIST:1=1 db1_LIST:4=1"),
            ("RENAME l2 l3", "db0_LIST:1=1 db1_LIST:4=1"),
            ("COPY l3 l4", "db0_LIST:1=2 db1_LIST:4=1"),
            ("COPY l3 l1 DB 1 REPLACE", "db0_LIST:1=2 db1_LIST:1=1"),
            ("SELECT 1", "db0_LIST:1=2 db1_LIST:1=1"),
            ("ZADD z1 1 A", "db0_LIST:1=2 db1_LIST:1=1 db1_ZSET:1=1"),
            ("SWAPDB 0 1", "db0_LIST:1=1 db0_ZSET:1=1 db1_LIST:1=2"),
            ("FLUSHDB", "db0_LIST:1=1 db0_ZSET:1=1"),
            ("SELECT 0", "db0_LIST:1=1 db0_ZSET:1=1"),
            ("SET s 1234567890", "db0_STR:8=1 db0_LIST:1=1 db0_ZSET:1=1"),
            ("FLUSHALL ASYNC", ""),
            ("RPUSH l10 1 2 3 4", "db0_LIST:4=1"),
        ],
    );
    let dump = c.cmd(&["DUMP", "l10"]);
    let start = dump.iter().position(|&b| b == b'\n').map_or(0, |i| i + 1);
    let payload = &dump[start..dump.len() - 2];
    c.cmd(&["DEL", "l10"]);
    c.send(&common::encode(&[b"RESTORE", b"l11", b"0", payload]));
    assert_eq!(c.read_reply(), b"+OK\r\n");
    assert_eq!(hist(&mut c), expand("db0_LIST:4=1"));

    // Active expiry.
    steps(
        &mut c,
        &[
            ("SADD s1 1 2 3 4 5 6 7 8", "db0_LIST:4=1 db0_SET:8=1"),
            ("PEXPIRE s1 1", "db0_LIST:4=1 db0_SET:8=1"),
        ],
    );
    wait_hist(&mut c, "db0_LIST:4=1");
    // Lazy expiry: the key counts until it is looked up.
    c.cmd(&["DEBUG", "SET-ACTIVE-EXPIRE", "0"]);
    steps(
        &mut c,
        &[("SET s10 1234567890", "db0_STR:8=1 db0_LIST:4=1"), ("PEXPIRE s10 1", "db0_STR:8=1 db0_LIST:4=1")],
    );
    std::thread::sleep(Duration::from_millis(5));
    assert_eq!(hist(&mut c), expand("db0_STR:8=1 db0_LIST:4=1"));
    assert_eq!(c.cmd(&["GET", "s10"]), b"$-1\r\n");
    assert_eq!(hist(&mut c), expand("db0_LIST:4=1"));
}

/// Keys evicted under maxmemory leave the histograms.
#[test]
fn evicted_keys_leave_the_histograms() {
    let brim = Server::start(&["--maxmemory-policy", "allkeys-random"]);
    let mut c = brim.raw();
    for i in 0..300 {
        let k = format!("k{i}");
        match i % 3 {
            0 => c.cmd(&["SET", &k, &"v".repeat(i * 7)]),
            1 => c.cmd(&["RPUSH", &k, "a", "b", "c"]),
            _ => c.cmd(&["HSET", &k, "f", "v", "g", "w"]),
        };
    }
    let used = bulk_text(&c.cmd(&["INFO", "memory"]))
        .lines()
        .find_map(|l| l.strip_prefix("used_memory:").and_then(|v| v.parse::<u64>().ok()))
        .expect("used_memory");
    c.cmd(&["CONFIG", "SET", "maxmemory", &(used - 20_000).to_string()]);
    c.cmd(&["SET", "trigger", "x"]);
    let evicted = bulk_text(&c.cmd(&["INFO", "stats"]))
        .lines()
        .find_map(|l| l.strip_prefix("evicted_keys:").and_then(|v| v.parse::<u64>().ok()))
        .expect("evicted_keys");
    assert!(evicted > 0, "nothing was evicted");
    c.cmd(&["CONFIG", "SET", "maxmemory", "0"]);
    assert_eq!(hist(&mut c), recount_all(&mut c, 1));
}

/// A deterministic random mix of commands over every type and two databases, with small
/// packed limits so that keys change encodings often: the histograms always equal a recount
/// from scratch, and survive SAVE and a restart.
#[test]
fn random_workload_matches_a_recount_and_survives_a_restart() {
    let brim = Server::start(&["--list-max-listpack-size", "4", "--set-max-intset-entries", "8"]);
    let mut c = brim.raw();
    let mut seed = 0x9E37_79B9_7F4A_7C15u64;
    let mut rand = move |n: u64| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed % n
    };
    for round in 0..1500 {
        let key = format!("k{}", rand(40));
        let other = format!("k{}", rand(40));
        let m = rand(300).to_string();
        let text = "y".repeat(rand(70) as usize);
        let cmd: Vec<&str> = match rand(22) {
            0 => vec!["SET", &key, &text],
            1 => vec!["APPEND", &key, &text],
            2 => vec!["INCR", &key],
            3 => vec!["SETRANGE", &key, &m, "z"],
            4 => vec!["RPUSH", &key, &m, &text],
            5 => vec!["LPOP", &key],
            6 => vec!["LTRIM", &key, "1", "-2"],
            7 => vec!["SADD", &key, &m],
            8 => vec!["SREM", &key, &m],
            9 => vec!["SPOP", &key],
            10 => vec!["ZADD", &key, &m, &m],
            11 => vec!["ZREMRANGEBYSCORE", &key, "0", &m],
            12 => vec!["HSET", &key, &m, &text],
            13 => vec!["HDEL", &key, &m],
            14 => vec!["DEL", &key],
            15 => vec!["RENAME", &key, &other],
            16 => vec!["PEXPIRE", &key, "100000"],
            17 => vec!["MOVE", &key, "1"],
            18 => vec!["SUNIONSTORE", &key, &key, &other],
            19 => vec!["LMOVE", &key, &other, "LEFT", "RIGHT"],
            20 => vec!["SWAPDB", "0", "1"],
            _ => vec!["GET", &key],
        };
        c.cmd(&cmd);
        if round % 100 == 99 {
            assert_eq!(hist(&mut c), recount_all(&mut c, 2), "round {round}");
        }
    }
    c.cmd(&["SELECT", "0"]);
    let before = hist(&mut c);
    assert_eq!(before, recount_all(&mut c, 2));
    assert!(before.contains("db1_"), "{before}");
    assert_eq!(c.cmd(&["SAVE"]), b"+OK\r\n");
    let dir = brim.dir.to_string_lossy().into_owned();
    let again = Server::start(&["--dir", &dir]);
    assert_eq!(hist(&mut again.raw()), before);
}
