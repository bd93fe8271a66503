//! Lazy freeing: UNLINK, DEL with `lazyfree-lazy-user-del`, FLUSHDB / FLUSHALL ASYNC (and
//! with `lazyfree-lazy-user-flush`) take big values out of the keyspace at once and free
//! them on a background thread while the server keeps answering. Checked with INFO's
//! `lazyfree_pending_objects` / `lazyfreed_objects` (never with timings: "answered before
//! the free finished" means "answered while the value was still pending"), with
//! `used_memory` going back to its baseline, and against the real Redis 7.0 for which
//! deletions count as lazy frees (the 64-allocation threshold, FLUSH's options).

mod common;

use std::time::{Duration, Instant};

use common::{assert_same, encode, info_i64, pair, same, Raw, Server};

/// A numeric field of INFO (any section).
fn info_num(raw: &mut Raw, field: &str) -> i64 {
    info_i64(raw, "all", field)
}

fn used(raw: &mut Raw) -> i64 {
    info_num(raw, "used_memory")
}

/// Wait (at most 60 s) until nothing is pending on the lazy-free thread; returns
/// `lazyfreed_objects` then.
fn settle(raw: &mut Raw) -> i64 {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if info_num(raw, "lazyfree_pending_objects") == 0 {
            return info_num(raw, "lazyfreed_objects");
        }
        assert!(Instant::now() < deadline, "the lazy-free thread never caught up");
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Send `cmds` pipelined (1000 at a time) and check every reply is an integer.
fn pipeline(raw: &mut Raw, cmds: &[Vec<String>]) {
    for chunk in cmds.chunks(1000) {
        let mut buf = Vec::new();
        for c in chunk {
            let a: Vec<&[u8]> = c.iter().map(|s| s.as_bytes()).collect();
            buf.extend_from_slice(&encode(&a));
        }
        raw.send(&buf);
        for c in chunk {
            let reply = raw.read_reply();
            assert!(reply.starts_with(b":") || reply.starts_with(b"+"), "{c:?}: {reply:?}");
        }
    }
}

/// Fill hash `key` with `fields` fields through pipelined HSETs of 1000 fields each.
fn big_hash(raw: &mut Raw, key: &str, fields: usize) {
    let cmds: Vec<Vec<String>> = (0..fields)
        .step_by(1000)
        .map(|start| {
            let mut c = vec!["HSET".to_string(), key.to_string()];
            for i in start..(start + 1000).min(fields) {
                c.push(format!("field:{i}"));
                c.push(format!("value:{i}"));
            }
            c
        })
        .collect();
    pipeline(raw, &cmds);
    assert_eq!(raw.cmd_str(&["HLEN", key]), format!(":{fields}\r\n"));
}

/// Fields of the big hashes: freeing one takes the thread a good fraction of a second, while
/// a PING takes well under a millisecond.
const BIG: usize = 2_000_000;

/// Delete `key` (a big hash) with `del` on connection `a`; meanwhile `b` must be answered.
/// Returns whether `b`'s PING was answered while the value was still pending on the thread
/// (false: the thread was done first, nothing proven either way).
fn answered_while_pending(a: &mut Raw, b: &mut Raw, del: &str, key: &str) -> bool {
    let freed = info_num(b, "lazyfreed_objects");
    assert_eq!(a.cmd_str(&[del, key]), ":1\r\n");
    // The key is gone at once, for everyone.
    assert_eq!(b.cmd_str(&["EXISTS", key]), ":0\r\n");
    assert_eq!(b.cmd_str(&["PING"]), "+PONG\r\n");
    let pending = info_num(b, "lazyfree_pending_objects");
    let done = info_num(b, "lazyfreed_objects");
    assert!(pending >= 0);
    assert!(pending == 1 || done == freed + 1, "pending {pending}, freed {freed} -> {done}");
    assert_eq!(settle(b), freed + 1, "one object freed in the background");
    pending == 1
}

/// Build a big hash, delete it with `del`, check the server answers while it is being freed
/// and that the memory comes back.
fn background_delete(s: &Server, del: &str) {
    let (mut a, mut b) = (s.raw(), s.raw());
    let baseline = used(&mut b);
    let mut proven = false;
    // A loaded machine may delay the PING past the whole free: try again then.
    for _ in 0..3 {
        big_hash(&mut a, "big", BIG);
        let peak = used(&mut b);
        assert!(peak > baseline + 40 * BIG as i64 / 2, "{BIG} fields take {} bytes", peak - baseline);
        proven = answered_while_pending(&mut a, &mut b, del, "big");
        let after = used(&mut b);
        assert!(
            after < baseline + (peak - baseline) / 20 + (1 << 20),
            "used_memory {after} after freeing: baseline {baseline}, peak {peak}"
        );
        if proven {
            break;
        }
    }
    assert!(proven, "{del}: the free always finished before a PING was answered");
}

#[test]
fn unlink_frees_a_big_hash_in_the_background() {
    let s = Server::start(&[]);
    background_delete(&s, "UNLINK");
}

#[test]
fn del_with_lazyfree_lazy_user_del_frees_in_the_background() {
    let s = Server::start(&["--lazyfree-lazy-user-del", "yes"]);
    background_delete(&s, "DEL");
}

#[test]
fn del_without_lazy_user_del_frees_before_replying() {
    let s = Server::start(&[]);
    let mut a = s.raw();
    let baseline = used(&mut a);
    big_hash(&mut a, "big", 200_000);
    let peak = used(&mut a);
    assert_eq!(a.cmd_str(&["DEL", "big"]), ":1\r\n");
    assert_eq!(info_num(&mut a, "lazyfree_pending_objects"), 0);
    assert_eq!(info_num(&mut a, "lazyfreed_objects"), 0);
    let after = used(&mut a);
    assert!(after < baseline + (peak - baseline) / 20 + (1 << 20), "{baseline} {peak} {after}");
}

#[test]
fn flushall_async_empties_at_once_and_frees_in_the_background() {
    let s = Server::start(&[]);
    let (mut a, mut b) = (s.raw(), s.raw());
    let baseline = used(&mut b);
    let mut proven = false;
    for _ in 0..3 {
        big_hash(&mut a, "big", BIG);
        let strings: Vec<Vec<String>> =
            (0..20_000).map(|i| vec!["SET".to_string(), format!("key:{i}"), format!("value:{i}")]).collect();
        pipeline(&mut a, &strings);
        a.cmd(&["SELECT", "3"]);
        pipeline(&mut a, &strings[..1000]);
        a.cmd(&["SELECT", "0"]);
        let peak = used(&mut b);
        let freed = info_num(&mut b, "lazyfreed_objects");
        assert_eq!(a.cmd_str(&["FLUSHALL", "ASYNC"]), "+OK\r\n");
        // Empty at once.
        assert_eq!(b.cmd_str(&["DBSIZE"]), ":0\r\n");
        assert_eq!(b.cmd_str(&["PING"]), "+PONG\r\n");
        let pending = info_num(&mut b, "lazyfree_pending_objects");
        assert!(pending >= 0);
        proven = pending > 0;
        // Every key counts as one object, as in Redis.
        assert_eq!(settle(&mut b), freed + 21_001);
        let after = used(&mut b);
        assert!(after < baseline + (peak - baseline) / 20 + (1 << 20), "{baseline} {peak} {after}");
        // The server goes on as usual.
        assert_eq!(b.cmd_str(&["SET", "k", "v"]), "+OK\r\n");
        assert_eq!(b.cmd_str(&["DBSIZE"]), ":1\r\n");
        b.cmd(&["FLUSHALL"]);
        if proven {
            break;
        }
    }
    assert!(proven, "the free always finished before a PING was answered");
}

#[test]
fn flushdb_with_lazyfree_lazy_user_flush_frees_in_the_background() {
    let s = Server::start(&["--lazyfree-lazy-user-flush", "yes"]);
    let (mut a, mut b) = (s.raw(), s.raw());
    let baseline = used(&mut b);
    big_hash(&mut a, "big", 500_000);
    a.cmd(&["SET", "other", "1"]);
    let peak = used(&mut b);
    assert_eq!(a.cmd_str(&["FLUSHDB"]), "+OK\r\n");
    assert_eq!(b.cmd_str(&["DBSIZE"]), ":0\r\n");
    assert_eq!(settle(&mut b), 2);
    let after = used(&mut b);
    assert!(after < baseline + (peak - baseline) / 20 + (1 << 20), "{baseline} {peak} {after}");
    // An explicit SYNC is synchronous whatever lazyfree-lazy-user-flush says.
    big_hash(&mut a, "big", 1000);
    assert_eq!(a.cmd_str(&["FLUSHALL", "SYNC"]), "+OK\r\n");
    assert_eq!(settle(&mut b), 2);
}

/// What counts as a lazy free, against Redis: values of more than 64 allocations deleted
/// lazily (UNLINK, DEL with lazyfree-lazy-user-del), each key of a database flushed
/// asynchronously; nothing for synchronous deletes and small values.
#[test]
fn lazy_free_counts_match_redis() {
    let (_bs, _rs, mut b, mut r) = pair(&[]);
    let setup = [
        "config set hash-max-listpack-entries 16",
        "config set zset-max-listpack-entries 16",
        "config set list-max-listpack-size 1",
    ];
    for c in setup {
        same(&mut b, &mut r, c);
    }
    let fill = |n: usize, f: &dyn Fn(usize) -> String| (0..n).map(f).collect::<Vec<_>>().join(" ");
    let build = format!(
        "hset h64 {}\nhset h65 {}\nhset h65b {}\nrpush l64 {}\nrpush l65 {}\nzadd z64 {}\nzadd z65 {}\n\
         sadd s200 {}\nsadd ints {}\nset str hello\nobject encoding h65\nobject encoding z65\n\
         object encoding s200\nobject encoding ints",
        fill(64, &|i| format!("f{i} v")),
        fill(65, &|i| format!("f{i} v")),
        fill(65, &|i| format!("f{i} v")),
        fill(64, &|i| format!("e{i}")),
        fill(65, &|i| format!("e{i}")),
        fill(64, &|i| format!("{i} m{i}")),
        fill(65, &|i| format!("{i} m{i}")),
        fill(200, &|i| format!("m{i}")),
        fill(100, &|i| format!("{i}")),
    );
    let check = |b: &mut Raw, r: &mut Raw, what: &str| {
        assert_eq!(settle(b), settle(r), "lazyfreed_objects after {what}");
    };
    same(&mut b, &mut r, &build);
    let steps = [
        "unlink h64",
        "unlink h65",
        "unlink l64 l65 missing",
        "unlink z64",
        "unlink z65",
        "unlink s200 ints str",
        "del h65b",
        "get h65b",
    ];
    for step in steps {
        same(&mut b, &mut r, step);
        check(&mut b, &mut r, step);
    }
    same(&mut b, &mut r, "config set lazyfree-lazy-user-del yes");
    same(&mut b, &mut r, &build);
    for step in ["del h64 h65 missing", "del l64 l65 z64 z65 s200 ints str", "dbsize"] {
        same(&mut b, &mut r, step);
        check(&mut b, &mut r, step);
    }
    same(&mut b, &mut r, "config set lazyfree-lazy-user-del no");
    // FLUSH*: every key of a database flushed asynchronously counts.
    let flushes = [
        "flushall async",
        "flushdb async",
        "flushall sync",
        "flushdb sync",
        "flushall",
        "flushdb",
        "config set lazyfree-lazy-user-flush yes",
        "flushall",
        "flushdb",
        "flushall sync",
        "flushdb sync",
        "flushdb async",
        "config set lazyfree-lazy-user-flush no",
    ];
    for step in flushes {
        same(&mut b, &mut r, &build);
        same(&mut b, &mut r, "select 5\nmset a 1 b 2 c 3\nselect 0");
        same(&mut b, &mut r, step);
        same(&mut b, &mut r, "dbsize\nselect 5\ndbsize\nselect 0");
        check(&mut b, &mut r, step);
        same(&mut b, &mut r, "select 5\nflushdb sync\nselect 0\nflushdb sync");
    }
    // Argument errors are Redis's.
    assert_same(
        &mut b,
        &mut r,
        &[
            &["FLUSHALL", "lazy"],
            &["FLUSHALL", "async", "sync"],
            &["FLUSHDB", "ASYNC", "x"],
            &["UNLINK"],
            &["DEL"],
        ],
    );
}

/// DEL and UNLINK reply with the number of keys removed; expired keys do not count; a key
/// named twice counts once.
#[test]
fn del_and_unlink_replies_match_redis() {
    let (_bs, _rs, mut b, mut r) = pair(&[]);
    same(
        &mut b,
        &mut r,
        "mset a 1 b 2 c 3\nrpush l x y z\nhset h f v\n\
         del a a b missing\nunlink c c l\nunlink h\ndel h\nexists a b c l h\n\
         set e 1 px 1",
    );
    std::thread::sleep(Duration::from_millis(20));
    same(&mut b, &mut r, "del e\nset e 1 px 1");
    std::thread::sleep(Duration::from_millis(20));
    same(&mut b, &mut r, "unlink e\ndbsize");
}

/// DEL and UNLINK publish `del` for each key removed, as Redis.
#[test]
fn del_and_unlink_notify_like_redis() {
    let (bs, rs, mut b, mut r) = pair(&["--notify-keyspace-events", "KEA"]);
    let (mut bsub, mut rsub) = (bs.raw(), rs.raw());
    for sub in [&mut bsub, &mut rsub] {
        sub.cmd(&["SUBSCRIBE", "__keyevent@0__:del"]);
    }
    same(
        &mut b,
        &mut r,
        "set a 1\nset b 2\nhset h f v\ndel a missing b\nunlink h\nunlink nothing\n\
         publish __keyevent@0__:del end",
    );
    // del a, del b, del h, then the end marker.
    for i in 0..4 {
        let (got, want) = (bsub.read_reply(), rsub.read_reply());
        assert_eq!(String::from_utf8_lossy(&got), String::from_utf8_lossy(&want), "message {i}");
    }
}

/// FLUSHALL / FLUSHDB (either way) abort the transactions of clients watching keys that
/// existed, not of those watching absent keys (Redis 7.0's touchAllWatchedKeysInDb).
#[test]
fn flush_touches_only_watched_keys_that_exist() {
    let brim = Server::start(&[]);
    let redis = Server::redis(&[]);
    for server in [&brim, &redis] {
        for flush in [["FLUSHALL", "SYNC"], ["FLUSHALL", "ASYNC"], ["FLUSHDB", "ASYNC"], ["FLUSHDB", "SYNC"]]
        {
            let (mut w, mut other) = (server.raw(), server.raw());
            for (key, exists) in [("nokey", false), ("yes", true)] {
                if exists {
                    other.cmd(&["SET", key, "1"]);
                }
                w.cmd(&["WATCH", key]);
                other.cmd(&flush);
                w.cmd(&["MULTI"]);
                w.cmd(&["PING"]);
                let want = if exists { "*-1\r\n" } else { "*1\r\n+PONG\r\n" };
                assert_eq!(w.cmd_str(&["EXEC"]), want, "{flush:?} watching {key} ({})", server.port);
            }
        }
    }
}

/// `lazyfree-lazy-server-del` (values replaced by SET, RENAME, COPY REPLACE, SUNIONSTORE, ...)
/// and `lazyfree-lazy-expire` (lazy and active expiry) count like Redis, and CONFIG RESETSTAT
/// zeroes `lazyfreed_objects`.
#[test]
fn server_del_and_expire_counts_match_redis() {
    let (_bs, _rs, mut b, mut r) = pair(&[]);
    let fields = (0..1000).map(|i| format!("f{i} v")).collect::<Vec<_>>().join(" ");
    let check = |b: &mut Raw, r: &mut Raw, what: &str| {
        assert_eq!(settle(b), settle(r), "lazyfreed_objects after {what}");
    };
    for lazy in ["no", "yes"] {
        same(&mut b, &mut r, &format!("config set lazyfree-lazy-server-del {lazy}"));
        for step in ["set h x", "rename k h", "copy k h replace", "sunionstore h s"] {
            same(&mut b, &mut r, &format!("hset h {fields}\nset k v\nsadd s a b c"));
            same(&mut b, &mut r, step);
            check(&mut b, &mut r, step);
        }
    }
    for lazy in ["no", "yes"] {
        same(&mut b, &mut r, &format!("config set lazyfree-lazy-expire {lazy}"));
        same(&mut b, &mut r, &format!("hset h {fields}\npexpire h 5"));
        std::thread::sleep(Duration::from_millis(20));
        same(&mut b, &mut r, "exists h");
        check(&mut b, &mut r, "lazy expiry");
        same(&mut b, &mut r, &format!("hset h {fields}\npexpire h 5"));
        let deadline = Instant::now() + Duration::from_secs(10);
        while info_num(&mut b, "expired_keys") < info_num(&mut r, "expired_keys") {
            assert!(Instant::now() < deadline, "active expiry never reclaimed h");
            std::thread::sleep(Duration::from_millis(20));
        }
        std::thread::sleep(Duration::from_millis(300));
        same(&mut b, &mut r, "dbsize");
        check(&mut b, &mut r, "active expiry");
    }
    same(&mut b, &mut r, "config resetstat");
    check(&mut b, &mut r, "config resetstat");
}
