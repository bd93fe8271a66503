//! The keys family (DEL, EXISTS, TYPE, KEYS, SCAN, RENAME, MOVE, COPY, EXPIRE, TTL, OBJECT,
//! ...): differential tests against the real Redis 7.0 plus targeted checks of what cannot
//! be compared byte for byte (SCAN order, concurrency, expiry timing).

mod common;

use std::collections::HashSet;
use std::time::{Duration, Instant};

use common::{assert_same, pair, same, Raw, Server};

fn keys_sorted(con: &mut redis::Connection, pattern: &[u8]) -> Vec<Vec<u8>> {
    let mut v: Vec<Vec<u8>> = redis::cmd("KEYS").arg(pattern).query(con).expect("KEYS");
    v.sort();
    v
}

/// A full SCAN iteration with `extra` options; returns the distinct keys, sorted.
fn scan_all(con: &mut redis::Connection, extra: &[&[u8]]) -> Vec<Vec<u8>> {
    let mut cursor = "0".to_string();
    let mut seen = HashSet::new();
    let mut calls = 0;
    loop {
        let mut c = redis::cmd("SCAN");
        c.arg(&cursor);
        for a in extra {
            c.arg(*a);
        }
        let (next, keys): (String, Vec<Vec<u8>>) = c.query(con).expect("SCAN");
        seen.extend(keys);
        calls += 1;
        assert!(calls < 1_000_000, "SCAN does not terminate");
        if next == "0" {
            break;
        }
        cursor = next;
    }
    let mut v: Vec<Vec<u8>> = seen.into_iter().collect();
    v.sort();
    v
}

#[test]
fn del_exists_type_touch_rename_match_redis() {
    let (_bs, _rs, mut b, mut r) = pair(&[]);
    let long = "x".repeat(50);
    assert_same(&mut b, &mut r, &[&["SET", "c", &long]]);
    same(
        &mut b,
        &mut r,
        "
        SET a 1
        SET b hello
        DEL a
        DEL a
        SET a 1
        DEL a b nosuch a
        UNLINK c c
        UNLINK c
        SET a 1
        SET b 2
        EXISTS a
        EXISTS a a a
        EXISTS nosuch
        EXISTS a nosuch b a
        TYPE a
        TYPE nosuch
        TOUCH a a nosuch b
        TOUCH nosuch
        DEL
        UNLINK
        EXISTS
        TOUCH
        TYPE
        TYPE a b
        # RENAME / RENAMENX
        RENAME a a
        RENAMENX a a
        RENAME nosuch x
        RENAME nosuch nosuch
        RENAMENX nosuch a
        RENAMENX nosuch nosuch
        RENAME a x
        GET x
        GET a
        EXISTS a
        RENAME x b
        GET b
        RENAMENX b a
        SET c 3
        RENAMENX a c
        GET a
        GET c
        RENAME a
        RENAME a b c
        RENAMENX a
        # the expire time travels with the value
        SET e v
        EXPIRE e 100
        RENAME e f
        TTL f
        TTL e
        SET g v
        EXPIRE g 100
        SET h v
        RENAME h g
        TTL g
        SET h w
        RENAME g h
        GET h
        TTL h
        ",
    );
}

#[test]
fn expire_family_matches_redis() {
    let (_bs, _rs, mut b, mut r) = pair(&[]);
    same(
        &mut b,
        &mut r,
        "
        SET k v
        EXPIRE k abc
        EXPIRE k 1.5
        EXPIRE k 10 foo
        EXPIRE k abc foo
        EXPIRE k 10 nx xx
        EXPIRE k 10 nx gt
        EXPIRE k 10 nx lt
        EXPIRE k 10 gt lt
        EXPIRE k 10 xx gt lt
        PEXPIRE k 10 NX NX XX
        EXPIRE nosuch 10 nx xx
        EXPIRE k 9223372036854775807
        EXPIRE k 9223372036854776
        EXPIRE k 9223372036854775
        EXPIRE k -9223372036854776
        EXPIRE k -9223372036854775808
        PEXPIRE k 9223372036854775807
        EXPIREAT k 9223372036854775807
        EXPIREAT k -9223372036854776
        EXPIRE k
        EXPIREAT k
        TTL
        TTL a b
        PTTL
        EXPIRETIME
        PEXPIRETIME a b
        PERSIST
        TTL k
        PTTL k
        EXPIRETIME k
        PEXPIRETIME k
        PEXPIREAT k 9223372036854775807
        EXPIRETIME k
        PEXPIRETIME k
        PERSIST k
        PERSIST k
        TTL k
        PERSIST nosuch
        EXPIRE nosuch 10
        PEXPIRE nosuch 10
        EXPIREAT nosuch 10
        PEXPIREAT nosuch 10
        TTL nosuch
        PTTL nosuch
        EXPIRETIME nosuch
        PEXPIRETIME nosuch
        # NX / XX / GT / LT
        EXPIRE k 100 XX
        EXPIRE k 100 GT
        EXPIRE k 100 LT
        TTL k
        EXPIRE k 200 NX
        EXPIRE k 200 nx
        EXPIRE k 200 LT
        EXPIRE k 50 GT
        EXPIRE k 200 GT
        TTL k
        EXPIRE k 150 XX
        TTL k
        EXPIRE k 150 XX LT
        EXPIRE k 300 xx GT
        EXPIRE k 299 Gt Xx
        TTL k
        PEXPIRE k 400000 lt
        TTL k
        EXPIREAT k 4000000000
        EXPIRETIME k
        PEXPIRETIME k
        PEXPIREAT k 4000000000123
        EXPIRETIME k
        PEXPIRETIME k
        PEXPIREAT k 4000000000600
        EXPIRETIME k
        EXPIREAT k 4000000001 LT
        EXPIREAT k 4000000002 GT
        EXPIRETIME k
        # times in the past delete the key
        EXPIRE k -5 GT
        EXISTS k
        EXPIRE k -5 LT
        EXISTS k
        TTL k
        SET k v
        EXPIRE k -1
        EXISTS k
        SET k v
        EXPIREAT k 1
        EXISTS k
        SET k v
        PEXPIRE k 0
        EXISTS k
        SET k v
        PEXPIREAT k 0 NX
        GET k
        SET k v
        EXPIRE k -9223372036854775
        EXISTS k
        SET k v
        PEXPIRE k -9223372036854775808
        EXISTS k
        SET k v
        EXPIRE k 0 XX
        EXISTS k
        # a plain SET clears the expire time
        EXPIRE k 100
        SET k w
        TTL k
        ",
    );
}

#[test]
fn ttl_rounds_and_pttl_counts_down() {
    let s = Server::start(&[]);
    let mut b = s.raw();
    b.cmd(&["SET", "k", "v"]);
    assert_eq!(b.cmd_str(&["PEXPIRE", "k", "1499"]), ":1\r\n");
    assert_eq!(b.cmd_str(&["TTL", "k"]), ":1\r\n");
    assert_eq!(b.cmd_str(&["PEXPIRE", "k", "1900"]), ":1\r\n");
    assert_eq!(b.cmd_str(&["TTL", "k"]), ":2\r\n");
    let pttl: i64 = b.cmd_str(&["PTTL", "k"]).trim()[1..].parse().expect("int");
    assert!((1800..=1900).contains(&pttl), "{pttl}");
    let now_ms =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("clock").as_millis() as i64;
    let at: i64 = b.cmd_str(&["PEXPIRETIME", "k"]).trim()[1..].parse().expect("int");
    assert!((now_ms + 1700..=now_ms + 1900).contains(&at), "{at} vs {now_ms}");
}

#[test]
fn pexpire_makes_the_key_disappear() {
    let s = Server::start(&[]);
    let mut b = s.raw();
    b.cmd(&["SET", "k", "v"]);
    b.cmd(&["SET", "other", "v"]);
    assert_eq!(b.cmd_str(&["PEXPIRE", "k", "50"]), ":1\r\n");
    let start = Instant::now();
    loop {
        if b.cmd_str(&["EXISTS", "k"]) == ":0\r\n" {
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(3), "the key did not expire");
        std::thread::sleep(Duration::from_millis(5));
    }
    assert!(start.elapsed() >= Duration::from_millis(40), "expired too early");
    assert_eq!(b.cmd_str(&["TTL", "k"]), ":-2\r\n");
    assert_eq!(b.cmd_str(&["GET", "k"]), "$-1\r\n");

    // An expired key nobody looked up yet is invisible to KEYS, SCAN, RANDOMKEY and the
    // lookups, which then reclaim it.
    b.cmd(&["SET", "gone", "v"]);
    b.cmd(&["PEXPIRE", "gone", "20"]);
    std::thread::sleep(Duration::from_millis(60));
    let mut con = s.client();
    assert_eq!(keys_sorted(&mut con, b"*"), vec![b"other".to_vec()]);
    assert_eq!(scan_all(&mut con, &[]), vec![b"other".to_vec()]);
    assert_eq!(scan_all(&mut con, &[b"MATCH", b"g*"]), Vec::<Vec<u8>>::new());
    for cmd in ["TTL", "PTTL", "EXPIRETIME", "PEXPIRETIME"] {
        assert_eq!(b.cmd_str(&[cmd, "gone"]), ":-2\r\n", "{cmd}");
    }
    assert_eq!(b.cmd_str(&["RENAME", "gone", "x"]), "-ERR no such key\r\n");
    assert_eq!(b.cmd_str(&["EXPIRE", "gone", "100"]), ":0\r\n");
    assert_eq!(b.cmd_str(&["DEL", "other"]), ":1\r\n");
    b.cmd(&["SET", "gone", "v"]);
    b.cmd(&["PEXPIRE", "gone", "20"]);
    std::thread::sleep(Duration::from_millis(60));
    assert_eq!(b.cmd_str(&["RANDOMKEY"]), "$-1\r\n");
}

#[test]
fn object_matches_redis() {
    let (_bs, _rs, mut b, mut r) = pair(&[]);
    let long = "y".repeat(45);
    assert_same(&mut b, &mut r, &[&["SET", "r", &long], &["SET", "r44", &long[..44]]]);
    same(
        &mut b,
        &mut r,
        "
        SET i 5
        SET zero 0
        SET top 9999
        SET big 10000
        SET neg -1
        SET e hello
        SET f 1.5
        SET lz 0123
        SET huge 9223372036854775807
        SET over 9223372036854775808
        OBJECT ENCODING i
        OBJECT ENCODING big
        OBJECT ENCODING neg
        OBJECT ENCODING e
        OBJECT ENCODING r
        OBJECT ENCODING r44
        OBJECT ENCODING f
        OBJECT ENCODING lz
        OBJECT ENCODING huge
        OBJECT ENCODING over
        OBJECT ENCODING nosuch
        OBJECT REFCOUNT i
        OBJECT REFCOUNT zero
        OBJECT REFCOUNT top
        OBJECT REFCOUNT big
        OBJECT REFCOUNT neg
        OBJECT REFCOUNT e
        OBJECT REFCOUNT r
        OBJECT REFCOUNT nosuch
        OBJECT IDLETIME e
        OBJECT IDLETIME nosuch
        OBJECT FREQ e
        OBJECT FREQ nosuch
        OBJECT HELP
        object help
        Object Help
        OBJECT HELP x
        OBJECT
        OBJECT foo
        OBJECT foo bar
        OBJECT ENCODING
        OBJECT ENCODING a b
        OBJECT REFCOUNT
        OBJECT IDLETIME
        OBJECT FREQ
        object encoding E
        object encoding e
        ",
    );
}

#[test]
fn object_under_lfu_and_lru_policies_matches_redis() {
    let (_bs, _rs, mut b, mut r) = pair(&["--maxmemory-policy", "allkeys-lfu", "--lfu-decay-time", "0"]);
    same(
        &mut b,
        &mut r,
        "
        SET e v
        OBJECT FREQ e
        TYPE e
        EXISTS e
        TTL e
        OBJECT FREQ e
        GET e
        OBJECT FREQ e
        OBJECT IDLETIME e
        OBJECT IDLETIME nosuch
        OBJECT FREQ nosuch
        SET i 5
        OBJECT REFCOUNT i
        ",
    );
    // Shared integers are not used with maxmemory set and an LRU/LFU policy.
    let (_bs, _rs, mut b, mut r) = pair(&["--maxmemory", "100mb", "--maxmemory-policy", "allkeys-lru"]);
    same(
        &mut b,
        &mut r,
        "
        SET i 5
        OBJECT REFCOUNT i
        OBJECT ENCODING i
        OBJECT IDLETIME i
        OBJECT FREQ i
        ",
    );
    let (_bs, _rs, mut b, mut r) = pair(&["--maxmemory", "100mb", "--maxmemory-policy", "allkeys-random"]);
    same(&mut b, &mut r, "SET i 5\nOBJECT REFCOUNT i");
}

#[test]
fn type_exists_ttl_object_do_not_touch_but_touch_does() {
    let s = Server::start(&[]);
    let mut b = s.raw();
    b.cmd(&["SET", "k", "v"]);
    std::thread::sleep(Duration::from_millis(2100));
    for c in
        [&["TYPE", "k"][..], &["EXISTS", "k"], &["TTL", "k"], &["PTTL", "k"], &["OBJECT", "ENCODING", "k"]]
    {
        b.cmd(c);
    }
    let idle: i64 = b.cmd_str(&["OBJECT", "IDLETIME", "k"]).trim()[1..].parse().expect("int");
    assert!(idle >= 2, "idle {idle}");
    assert_eq!(b.cmd_str(&["TOUCH", "k", "k", "nosuch"]), ":2\r\n");
    assert_eq!(b.cmd_str(&["OBJECT", "IDLETIME", "k"]), ":0\r\n");
}

#[test]
fn move_and_copy_match_redis() {
    let (_bs, _rs, mut b, mut r) = pair(&[]);
    let long = "z".repeat(60);
    assert_same(&mut b, &mut r, &[&["SET", "raw", &long]]);
    same(
        &mut b,
        &mut r,
        "
        SET a 1
        SET b hello
        MOVE a 0
        MOVE nosuch 0
        MOVE a 16
        MOVE a -1
        MOVE a abc
        MOVE a 1.0
        MOVE a 99999999999
        MOVE a -99999999999
        MOVE a 2147483648
        MOVE nosuch 1
        MOVE a
        MOVE a 1 2
        MOVE a 1
        EXISTS a
        SELECT 1
        GET a
        OBJECT ENCODING a
        SELECT 0
        SET a x
        MOVE a 1
        GET a
        EXPIRE b 100
        MOVE b 2
        TTL b
        SELECT 2
        TTL b
        GET b
        SELECT 0
        MOVE raw 15
        SELECT 15
        OBJECT ENCODING raw
        SELECT 0
        # COPY
        COPY a a
        COPY a a DB 0
        COPY nosuch nosuch
        COPY a b DB 16
        COPY a b DB -1
        COPY a b DB abc
        COPY a b DB 99999999999
        COPY a b DB
        COPY a b foo
        COPY a b REPLACE foo
        COPY a b DB 1 DB 16
        COPY a b DB 16 foo
        COPY a
        COPY nosuch x
        COPY nosuch x DB 1
        SET s 12
        COPY s s2
        GET s2
        OBJECT ENCODING s2
        COPY s s2
        SET s 13
        COPY s s2 REPLACE
        GET s2
        COPY s s2 replace replace
        SET e hello
        EXPIRE e 100
        COPY e e2
        TTL e2
        OBJECT ENCODING e2
        COPY e e3 DB 3
        SELECT 3
        TTL e3
        GET e3
        SELECT 0
        COPY e a DB 1
        SELECT 1
        GET a
        SELECT 0
        COPY e a DB 1 REPLACE
        SELECT 1
        GET a
        TTL a
        COPY a a DB 0
        SELECT 0
        COPY a a DB 1
        COPY a a DB 1 REPLACE
        GET a
        ",
    );
}

#[test]
fn copy_keeps_the_string_encoding() {
    let (_bs, _rs, mut b, mut r) = pair(&[]);
    let long = "w".repeat(100);
    assert_same(&mut b, &mut r, &[&["SET", "raw", &long]]);
    same(
        &mut b,
        &mut r,
        "
        COPY raw raw2
        OBJECT ENCODING raw2
        GET raw2
        SET n -77
        COPY n n2
        OBJECT ENCODING n2
        GET n2
        SET em abc
        COPY em em2
        OBJECT ENCODING em2
        ",
    );
}

#[test]
fn randomkey_matches_redis_and_spreads() {
    let (_bs, _rs, mut b, mut r) = pair(&[]);
    same(&mut b, &mut r, "RANDOMKEY\nSET only v\nRANDOMKEY\nRANDOMKEY x");
    let s = Server::start(&[]);
    let mut con = s.client();
    let mut pipe = redis::pipe();
    for i in 0..100 {
        pipe.cmd("SET").arg(format!("k{i}")).arg(i).ignore();
    }
    pipe.query::<()>(&mut con).expect("SET");
    let mut seen = HashSet::new();
    for _ in 0..200 {
        let k: String = redis::cmd("RANDOMKEY").query(&mut con).expect("RANDOMKEY");
        assert!(k.starts_with('k') && k[1..].parse::<u32>().is_ok_and(|n| n < 100), "{k}");
        seen.insert(k);
    }
    assert!(seen.len() > 20, "RANDOMKEY returned only {} distinct keys", seen.len());
}

/// Keys with glob-special characters, binary bytes and case differences.
const GLOB_KEYS: &[&[u8]] = &[
    b"hello",
    b"hallo",
    b"hxllo",
    b"hllo",
    b"heeeello",
    b"h*llo",
    b"h?llo",
    b"h[a]llo",
    b"h\\llo",
    b"a\\b",
    b"foo:1",
    b"foo:2",
    b"foo:10",
    b"foo:bar:baz",
    b"bar",
    b"",
    b"-",
    b"^",
    b"]",
    b"[",
    b"*",
    b"?",
    b"\\",
    b"abc",
    b"ABC",
    b"aBc",
    b"x\x80y",
    b"x\xffy",
    b"x\x01y",
    b"\x00nul",
    b"with space",
    b"long:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
];

const GLOB_PATTERNS: &[&[u8]] = &[
    b"*",
    b"**",
    b"",
    b"?",
    b"h?llo",
    b"h*llo",
    b"h*",
    b"*llo",
    b"*l*o*",
    b"h[ae]llo",
    b"h[^e]llo",
    b"h[!e]llo",
    b"h[a-b]llo",
    b"h[b-a]llo",
    b"h[a-]llo",
    b"h\\*llo",
    b"h\\?llo",
    b"h\\[a]llo",
    b"h\\\\llo",
    b"a\\\\b",
    b"foo:*",
    b"foo:?",
    b"foo:[0-9]",
    b"foo:[0-9]*",
    b"foo:*:*",
    b"[",
    b"[a",
    b"[[]",
    b"[]]",
    b"[\\]]",
    b"[^]",
    b"[^a]",
    b"\\",
    b"\\*",
    b"*\\",
    b"*[",
    b"ABC",
    b"abc",
    b"[A-Z]*",
    b"[a-z][A-Z]c",
    b"x?y",
    b"x[\x80-\xff]y",
    b"x[\x01]y",
    b"?nul",
    b"* *",
    b"long:*a",
    b"*a*a*a*a*a*a*a*a*a*b",
    b"[z-a]*",
    b"[abc",
    b"nomatch",
];

#[test]
fn keys_and_scan_match_globs_like_redis() {
    let brim = Server::start(&[]);
    let redis = Server::redis(&[]);
    let mut bc = brim.client();
    let mut rc = redis.client();
    for k in GLOB_KEYS {
        let _: () = redis::cmd("SET").arg(*k).arg("v").query(&mut bc).expect("SET");
        let _: () = redis::cmd("SET").arg(*k).arg("v").query(&mut rc).expect("SET");
    }
    for p in GLOB_PATTERNS {
        let want = keys_sorted(&mut rc, p);
        assert_eq!(keys_sorted(&mut bc, p), want, "KEYS {:?}", String::from_utf8_lossy(p));
        assert_eq!(scan_all(&mut bc, &[b"MATCH", p]), want, "SCAN MATCH {:?}", String::from_utf8_lossy(p));
        assert_eq!(
            scan_all(&mut rc, &[b"MATCH", p]),
            want,
            "oracle SCAN MATCH {:?}",
            String::from_utf8_lossy(p)
        );
    }
    let (mut b, mut r) = (brim.raw(), redis.raw());
    same(&mut b, &mut r, "KEYS\nKEYS a b");
}

#[test]
fn scan_arguments_match_redis() {
    let (_bs, _rs, mut b, mut r) = pair(&[]);
    same(
        &mut b,
        &mut r,
        "
        SCAN 0
        SCAN 0 COUNT 1
        SCAN 0 MATCH *
        SCAN
        SET k v
        SCAN 0
        SCAN +0
        SCAN 0 COUNT 100
        SCAN 0 count 5 MATCH k TYPE string
        SCAN 0 TYPE STRING
        SCAN 0 TYPE list
        SCAN 0 TYPE none
        SCAN 0 TYPE foo
        SCAN 0 MATCH x*
        SCAN 0 COUNT 5 COUNT 1000
        SCAN 0 MATCH x* MATCH k*
        SCAN abc
        SCAN 0x1
        SCAN 1.5
        SCAN 18446744073709551616
        SCAN -18446744073709551616
        SCAN 99999999999999999999999
        SCAN 0 COUNT 0
        SCAN 0 COUNT -1
        SCAN 0 COUNT abc
        SCAN 0 COUNT 9223372036854775808
        SCAN 0 COUNT
        SCAN 0 MATCH
        SCAN 0 TYPE
        SCAN 0 foo
        SCAN 0 foo bar
        SCAN 0 COUNT 10 MATCH
        SCAN abc COUNT 0
        SCAN 0 COUNT 0 foo
        ",
    );
    // Arguments the script cannot spell: empty and space-led cursors.
    assert_same(&mut b, &mut r, &[&["SCAN", ""], &["SCAN", " 0"], &["SCAN", "0 "], &["SCAN", "-"]]);
    // Huge and wrapping cursors are accepted; where they lead depends on the table layout.
    for c in ["18446744073709551615", "-18446744073709551615"] {
        let reply = b.cmd_str(&["SCAN", c]);
        assert!(reply.starts_with("*2\r\n$"), "{reply}");
    }
}

#[test]
fn scan_type_and_match_over_a_full_iteration() {
    let brim = Server::start(&[]);
    let redis = Server::redis(&[]);
    for s in [&brim, &redis] {
        let mut con = s.client();
        let mut pipe = redis::pipe();
        for i in 0..1000 {
            pipe.cmd("SET").arg(format!("user:{i}")).arg(i).ignore();
            pipe.cmd("SET").arg(format!("item:{i}")).arg("x").ignore();
        }
        pipe.query::<()>(&mut con).expect("SET");
    }
    let (mut bc, mut rc) = (brim.client(), redis.client());
    let cases: &[&[&[u8]]] = &[
        &[],
        &[b"COUNT", b"1"],
        &[b"COUNT", b"7", b"MATCH", b"user:1*"],
        &[b"MATCH", b"item:?"],
        &[b"TYPE", b"string"],
        &[b"TYPE", b"String", b"MATCH", b"*:99*"],
        &[b"TYPE", b"hash"],
        &[b"COUNT", b"100000"],
        &[b"MATCH", b"nothing*", b"COUNT", b"3"],
    ];
    for extra in cases {
        let want = scan_all(&mut rc, extra);
        assert_eq!(scan_all(&mut bc, extra), want, "SCAN {extra:?}");
    }
    assert_eq!(scan_all(&mut bc, &[]).len(), 2000);
    // COUNT is a hint: a call returns about that many keys, not the whole database.
    let (_, page): (String, Vec<String>) =
        redis::cmd("SCAN").arg(0).arg("COUNT").arg(10).query(&mut bc).expect("SCAN");
    assert!(!page.is_empty() && page.len() < 200, "{}", page.len());
    let (next, page): (String, Vec<String>) =
        redis::cmd("SCAN").arg(0).arg("COUNT").arg(1_000_000).query(&mut bc).expect("SCAN");
    assert_eq!((next.as_str(), page.len()), ("0", 2000));
}

#[test]
fn scan_returns_every_key_present_throughout_despite_concurrent_inserts() {
    let s = Server::start(&[]);
    let mut con = s.client();
    let mut pipe = redis::pipe();
    for i in 0..20_000 {
        pipe.cmd("SET").arg(format!("orig:{i}")).arg(i).ignore();
    }
    pipe.query::<()>(&mut con).expect("SET");

    let port = s.port;
    let writer = std::thread::spawn(move || {
        let mut con = redis::Client::open(format!("redis://127.0.0.1:{port}/"))
            .and_then(|c| c.get_connection())
            .expect("connect");
        for chunk in 0..200 {
            let mut pipe = redis::pipe();
            for i in 0..100 {
                pipe.cmd("SET").arg(format!("new:{}", chunk * 100 + i)).arg(i).ignore();
            }
            pipe.query::<()>(&mut con).expect("SET");
        }
    });

    let mut seen: HashSet<Vec<u8>> = HashSet::new();
    let mut cursor = "0".to_string();
    let mut calls = 0u64;
    loop {
        let (next, keys): (String, Vec<Vec<u8>>) =
            redis::cmd("SCAN").arg(&cursor).arg("COUNT").arg(10).query(&mut con).expect("SCAN");
        for k in keys {
            assert!(k.starts_with(b"orig:") || k.starts_with(b"new:"), "{k:?}");
            seen.insert(k);
        }
        calls += 1;
        if next == "0" {
            break;
        }
        cursor = next;
    }
    writer.join().expect("writer");
    let missing: Vec<usize> =
        (0..20_000).filter(|i| !seen.contains(format!("orig:{i}").as_bytes())).collect();
    assert!(
        missing.is_empty(),
        "{} original keys never returned, e.g. {:?}",
        missing.len(),
        &missing[..missing.len().min(5)]
    );
    assert!(calls > 100, "SCAN COUNT 10 finished in {calls} calls");
}

#[test]
fn key_changes_abort_watching_transactions() {
    let s = Server::start(&[]);
    let mut other = s.raw();
    let cases: &[(&[&str], &[&str], &str)] = &[
        (&["SET", "src", "v"], &["RENAME", "src", "w"], "w"),
        (&["SET", "src", "v"], &["RENAME", "src", "w"], "src"),
        (&["SET", "src", "v"], &["COPY", "src", "w"], "w"),
        (&["SET", "src", "v"], &["MOVE", "src", "1"], "src"),
        (&["SET", "w", "v"], &["DEL", "w"], "w"),
        (&["SET", "w", "v"], &["UNLINK", "w"], "w"),
        (&["SET", "w", "v"], &["EXPIRE", "w", "100"], "w"),
        (&["SET", "w", "v"], &["EXPIRE", "w", "-1"], "w"),
        (&["SET", "w", "v"], &["PEXPIREAT", "w", "1"], "w"),
    ];
    for (setup, change, watched) in cases {
        let mut c = s.raw();
        other.cmd(&["DEL", "src", "w"]);
        other.cmd(setup);
        assert_eq!(c.cmd_str(&["WATCH", watched]), "+OK\r\n");
        other.cmd(change);
        c.cmd(&["MULTI"]);
        c.cmd(&["PING"]);
        assert_eq!(c.cmd_str(&["EXEC"]), "*-1\r\n", "{change:?} should abort a WATCH of {watched}");
    }
    // Commands that only read, or that change nothing, do not.
    let untouched: &[&[&str]] = &[
        &["EXISTS", "w"],
        &["TYPE", "w"],
        &["TTL", "w"],
        &["TOUCH", "w"],
        &["OBJECT", "ENCODING", "w"],
        &["COPY", "w", "other"],
        &["RENAMENX", "other", "w"],
        &["PERSIST", "w"],
        &["EXPIRE", "w", "100", "XX"],
        &["KEYS", "*"],
        &["SCAN", "0"],
    ];
    for change in untouched {
        let mut c = s.raw();
        other.cmd(&["DEL", "w", "other"]);
        other.cmd(&["SET", "w", "v"]);
        other.cmd(&["SET", "other", "v"]);
        assert_eq!(c.cmd_str(&["WATCH", "w"]), "+OK\r\n");
        other.cmd(change);
        c.cmd(&["MULTI"]);
        c.cmd(&["PING"]);
        assert_eq!(c.cmd_str(&["EXEC"]), "*1\r\n+PONG\r\n", "{change:?} should not abort the WATCH");
    }
}

#[test]
fn many_keys_across_stripes_are_counted_exactly() {
    let s = Server::start(&[]);
    let mut con = s.client();
    let keys: Vec<String> = (0..500).map(|i| format!("key:{i}")).collect();
    let mut pipe = redis::pipe();
    for k in &keys {
        pipe.cmd("SET").arg(k).arg("v").ignore();
    }
    pipe.query::<()>(&mut con).expect("SET");
    let n: i64 =
        redis::cmd("EXISTS").arg(&keys).arg(&keys[..10]).arg("nosuch").query(&mut con).expect("EXISTS");
    assert_eq!(n, 510);
    let n: i64 = redis::cmd("TOUCH").arg(&keys).query(&mut con).expect("TOUCH");
    assert_eq!(n, 500);
    let n: i64 = redis::cmd("DEL").arg(&keys[..250]).arg(&keys[..10]).query(&mut con).expect("DEL");
    assert_eq!(n, 250);
    let n: i64 = redis::cmd("UNLINK").arg(&keys).query(&mut con).expect("UNLINK");
    assert_eq!(n, 250);
    assert_eq!(keys_sorted(&mut con, b"*"), Vec::<Vec<u8>>::new());
}

#[test]
fn resp3_replies_match_redis() {
    let (_bs, _rs, mut b, mut r) = pair(&[]);
    b.cmd(&["HELLO", "3"]);
    r.cmd(&["HELLO", "3"]);
    same(
        &mut b,
        &mut r,
        "
        RANDOMKEY
        OBJECT ENCODING nosuch
        OBJECT REFCOUNT nosuch
        OBJECT IDLETIME nosuch
        OBJECT FREQ nosuch
        SET k 1
        RANDOMKEY
        KEYS *
        SCAN 0
        SCAN 0 TYPE string
        TYPE k
        TYPE nosuch
        OBJECT ENCODING k
        OBJECT HELP
        TTL k
        EXISTS k k
        RENAME nosuch x
        COPY k k
        ",
    );
}

/// `keyspace_hits` and `keyspace_misses` from INFO stats.
fn hits_misses(raw: &mut Raw) -> (u64, u64) {
    let info = raw.cmd_str(&["INFO", "stats"]);
    let field = |name: &str| {
        info.lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().parse::<u64>().ok())
            .unwrap_or_else(|| panic!("{name} missing from INFO stats"))
    };
    (field("keyspace_hits:"), field("keyspace_misses:"))
}

#[test]
fn read_lookups_count_keyspace_hits_and_misses_like_redis() {
    let (_bs, _rs, mut b, mut r) = pair(&[]);
    let script: &[&[&str]] = &[
        &["SET", "a", "1"],
        &["SET", "b", "2"],
        &["EXISTS", "a", "b", "nosuch", "a"],
        &["TOUCH", "a", "nosuch"],
        &["TYPE", "a"],
        &["TYPE", "nosuch"],
        &["TTL", "a"],
        &["PTTL", "nosuch"],
        &["EXPIRETIME", "a"],
        &["OBJECT", "ENCODING", "a"],
        &["OBJECT", "REFCOUNT", "nosuch"],
        &["COPY", "a", "c"],
        &["COPY", "nosuch", "c"],
        &["SCAN", "0", "TYPE", "string"],
        &["SCAN", "0", "MATCH", "a", "TYPE", "hash"],
        // Write lookups and key walks count nothing.
        &["RENAME", "c", "d"],
        &["EXPIRE", "d", "100"],
        &["EXPIRE", "nosuch", "100"],
        &["PERSIST", "d"],
        &["MOVE", "d", "1"],
        &["DEL", "b", "nosuch"],
        &["KEYS", "*"],
        &["SCAN", "0"],
        &["RANDOMKEY"],
    ];
    for c in script {
        b.cmd(c);
        r.cmd(c);
        assert_eq!(hits_misses(&mut b), hits_misses(&mut r), "after {c:?}");
    }
}

#[test]
fn concurrent_multi_key_commands_do_not_deadlock_or_lose_keys() {
    let s = Server::start(&[]);
    let port = s.port;
    let keys: Vec<String> = (0..16).map(|i| format!("k{i}")).collect();
    {
        let mut con = s.client();
        for k in &keys {
            let _: () = redis::cmd("SET").arg(k).arg(k).query(&mut con).expect("SET");
        }
    }
    let threads: Vec<_> = (0..4u64)
        .map(|t| {
            let keys = keys.clone();
            std::thread::spawn(move || {
                let mut con = redis::Client::open(format!("redis://127.0.0.1:{port}/"))
                    .and_then(|c| c.get_connection())
                    .expect("connect");
                let mut x = t.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
                let deadline = Instant::now() + Duration::from_millis(1500);
                while Instant::now() < deadline {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    let a = &keys[(x % 16) as usize];
                    let b = &keys[((x >> 8) % 16) as usize];
                    let mut c = match (x >> 16) % 8 {
                        0 | 1 => redis::cmd("RENAME"),
                        2 => redis::cmd("RENAMENX"),
                        3 => redis::cmd("COPY"),
                        4 => redis::cmd("EXISTS"),
                        5 => redis::cmd("TOUCH"),
                        6 => {
                            let mut c = redis::cmd("MOVE");
                            c.arg(a).arg(1 + (x >> 20) % 2);
                            let _: redis::RedisResult<redis::Value> = c.query(&mut con);
                            continue;
                        }
                        _ => redis::cmd("KEYS"),
                    };
                    c.arg(a).arg(b);
                    let _: redis::RedisResult<redis::Value> = c.query(&mut con);
                }
            })
        })
        .collect();
    for t in threads {
        t.join().expect("worker");
    }
    let mut b = s.raw();
    assert_eq!(b.cmd_str(&["PING"]), "+PONG\r\n");
    // Every key still holds one of the original values.
    let mut con = s.client();
    for k in keys_sorted(&mut con, b"*") {
        let v: String = redis::cmd("GET").arg(&k).query(&mut con).expect("GET");
        assert!(keys.contains(&v), "{v}");
    }
}
