//! Keyspace notifications: for each `notify-keyspace-events` class, a representative
//! command per type runs on Brim and on the real Redis 7.0, and the event streams a pattern
//! subscriber receives (`__keyspace@<db>__:<key>` / `__keyevent@<db>__:<event>`) are compared.
//! Plus `expired` events from lazy and active expiry, `new`, databases other than 0, and a
//! RESP3 client hearing its own events in its reply stream.

mod common;

use std::time::Duration;

use common::{Raw, Server};

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// The bulk strings of a RESP2/RESP3 array or push of bulks (`None` for anything else).
fn bulks(frame: &[u8]) -> Option<Vec<String>> {
    let s = text(frame);
    let mut lines = s.split("\r\n");
    let head = lines.next()?;
    if !(head.starts_with('*') || head.starts_with('>')) {
        return None;
    }
    let n: usize = head[1..].parse().ok()?;
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let len = lines.next()?;
        if !len.starts_with('$') {
            return None;
        }
        out.push(lines.next()?.to_string());
    }
    Some(out)
}

/// Read a subscriber's messages up to the reply to a PING sent now (RESP2 subscribed mode
/// answers `["pong", ""]`): everything published before the PING arrives before it.
fn drain(sub: &mut Raw) -> Vec<(String, String)> {
    sub.send(&common::encode(&[b"PING"]));
    let mut events = Vec::new();
    loop {
        let f = sub.read_reply();
        let parts = bulks(&f).unwrap_or_else(|| panic!("unexpected frame {:?}", text(&f)));
        if parts.first().map(String::as_str) == Some("pong") {
            return events;
        }
        assert_eq!(parts[0], "pmessage", "{parts:?}");
        events.push((parts[2].clone(), parts[3].clone()));
    }
}

/// Run `setup` with notifications off, then `cmds` with `flags`, on a fresh database; return
/// what a `__key*__:*` subscriber heard.
fn events(srv: &Server, flags: &str, setup: &[&[&str]], cmds: &[&[&str]]) -> Vec<(String, String)> {
    let mut c = srv.raw();
    c.cmd(&["FLUSHALL"]);
    c.cmd(&["CONFIG", "SET", "notify-keyspace-events", ""]);
    for s in setup {
        c.cmd(s);
    }
    let mut sub = srv.raw();
    sub.cmd(&["PSUBSCRIBE", "__key*__:*"]);
    assert_eq!(text(&c.cmd(&["CONFIG", "SET", "notify-keyspace-events", flags])), "+OK\r\n");
    for cmd in cmds {
        c.cmd(cmd);
    }
    let got = drain(&mut sub);
    c.cmd(&["CONFIG", "SET", "notify-keyspace-events", ""]);
    got
}

fn compare(flags: &str, setup: &[&[&str]], cmds: &[&[&str]]) -> Vec<(String, String)> {
    let brim = Server::start(&[]);
    let redis = Server::redis(&[]);
    let want = events(&redis, flags, setup, cmds);
    let got = events(&brim, flags, setup, cmds);
    assert_eq!(got, want, "flags {flags:?}, commands {cmds:?}");
    got
}

#[test]
fn generic_events_match_redis() {
    let got = compare(
        "KEg",
        &[&["SET", "a", "1"], &["SET", "b", "2"], &["SET", "c", "3"]],
        &[
            &["DEL", "a", "nosuch"],
            &["EXPIRE", "b", "100"],
            &["PERSIST", "b"],
            &["RENAME", "b", "b2"],
            &["EXPIRE", "c", "0"],
            &["SET", "d", "4"],
            &["COPY", "d", "d2"],
            &["MOVE", "d2", "1"],
            &["UNLINK", "d"],
        ],
    );
    assert!(got.contains(&("__keyevent@0__:rename_from".into(), "b".into())));
}

#[test]
fn string_events_match_redis() {
    compare(
        "KE$",
        &[],
        &[
            &["SET", "s", "v"],
            &["APPEND", "s", "w"],
            &["INCR", "n"],
            &["INCRBYFLOAT", "n", "1.5"],
            &["SETRANGE", "s", "1", "xx"],
            &["MSET", "m1", "1", "m2", "2"],
            &["GETDEL", "m1"],
            &["SET", "x", "1", "EX", "100"],
            &["GETEX", "x", "PERSIST"],
            &["SETBIT", "bits", "7", "1"],
        ],
    );
}

#[test]
fn list_events_match_redis() {
    compare(
        "KEl",
        &[],
        &[
            &["LPUSH", "l", "a", "b"],
            &["RPUSH", "l", "c"],
            &["LSET", "l", "0", "z"],
            &["LINSERT", "l", "BEFORE", "c", "y"],
            &["LREM", "l", "1", "y"],
            &["LTRIM", "l", "0", "1"],
            &["LPOP", "l"],
            &["RPOP", "l"],
        ],
    );
}

#[test]
fn set_events_match_redis() {
    compare(
        "KEs",
        &[],
        &[&["SADD", "s", "a", "b"], &["SADD", "s", "a"], &["SREM", "s", "a", "x"], &["SREM", "s", "b"]],
    );
}

#[test]
fn hash_events_match_redis() {
    compare(
        "KEh",
        &[],
        &[
            &["HSET", "h", "f", "1", "g", "2"],
            &["HINCRBY", "h", "f", "5"],
            &["HINCRBYFLOAT", "h", "g", "0.5"],
            &["HDEL", "h", "f", "nosuch"],
            &["HDEL", "h", "g"],
        ],
    );
}

#[test]
fn zset_events_match_redis() {
    compare(
        "KEz",
        &[],
        &[
            &["ZADD", "z", "1", "a", "2", "b"],
            &["ZINCRBY", "z", "3", "a"],
            &["ZREM", "z", "a"],
            &["ZREM", "z", "b"],
        ],
    );
}

#[test]
fn new_key_events_match_redis() {
    compare(
        "KEn",
        &[&["SET", "old", "1"]],
        &[
            &["SET", "old", "2"],
            &["SET", "fresh", "1"],
            &["LPUSH", "list", "a"],
            &["LPUSH", "list", "b"],
            &["SADD", "set", "x"],
        ],
    );
}

#[test]
fn keyspace_only_and_keyevent_only_match_redis() {
    compare("Kl", &[], &[&["RPUSH", "l", "a"], &["LPOP", "l"]]);
    compare("El", &[], &[&["RPUSH", "l", "a"], &["LPOP", "l"]]);
    // A class without K or E publishes nothing.
    assert!(compare("l", &[], &[&["RPUSH", "l", "a"]]).is_empty());
    // The class filter: list events are not string events.
    assert!(compare("KE$", &[], &[&["RPUSH", "l", "a"]]).is_empty());
}

#[test]
fn expired_events_from_lazy_and_active_expiry() {
    let brim = Server::start(&[]);
    let redis = Server::redis(&[]);
    for srv in [&brim, &redis] {
        let mut c = srv.raw();
        c.cmd(&["CONFIG", "SET", "notify-keyspace-events", "KEx"]);
        let mut sub = srv.raw();
        sub.cmd(&["PSUBSCRIBE", "__key*__:*"]);
        // Active: nobody touches the key.
        c.cmd(&["SET", "quiet", "v", "PX", "30"]);
        std::thread::sleep(Duration::from_millis(600));
        let got = drain(&mut sub);
        assert_eq!(
            got,
            vec![
                ("__keyspace@0__:quiet".to_string(), "expired".to_string()),
                ("__keyevent@0__:expired".to_string(), "quiet".to_string())
            ]
        );
        // Lazy, in another database: the lookup finds it expired (the active cycle may get
        // there first: either way exactly one event).
        c.cmd(&["SELECT", "3"]);
        c.cmd(&["SET", "touched", "v", "PX", "1"]);
        std::thread::sleep(Duration::from_millis(5));
        assert_eq!(text(&c.cmd(&["GET", "touched"])), "$-1\r\n");
        let got = drain(&mut sub);
        assert_eq!(
            got,
            vec![
                ("__keyspace@3__:touched".to_string(), "expired".to_string()),
                ("__keyevent@3__:expired".to_string(), "touched".to_string())
            ]
        );
    }
}

#[test]
fn all_classes_stream_matches_redis() {
    compare(
        "KEA",
        &[],
        &[
            &["LPUSH", "l", "1"],
            &["SADD", "s", "1"],
            &["HSET", "h", "f", "v"],
            &["ZADD", "z", "1", "m"],
            &["SETBIT", "b", "1", "1"],
            &["PFADD", "hll", "a"],
            &["LPOP", "l"],
            &["SPOP", "s"],
            &["HDEL", "h", "f"],
            &["ZREM", "z", "m"],
        ],
    );
}

#[test]
fn all_classes_stream_with_strings_and_keys_matches_redis() {
    compare(
        "KEA",
        &[],
        &[
            &["SET", "k", "v"],
            &["EXPIRE", "k", "100"],
            &["LPUSH", "l", "1"],
            &["SADD", "s", "1"],
            &["HSET", "h", "f", "v"],
            &["DEL", "k", "l", "s", "h"],
        ],
    );
}

#[test]
fn a_resp3_client_hears_its_own_events_in_order() {
    let brim = Server::start(&[]);
    let redis = Server::redis(&[]);
    let mut seen = Vec::new();
    for srv in [&brim, &redis] {
        let mut c = srv.raw();
        c.cmd(&["HELLO", "3"]);
        c.cmd(&["CONFIG", "SET", "notify-keyspace-events", "KEA"]);
        c.cmd(&["SUBSCRIBE", "__keyevent@0__:lpush", "__keyevent@0__:sadd"]);
        c.read_reply();
        let mut replies = Vec::new();
        for cmd in [&["LPUSH", "l", "a"][..], &["SADD", "s", "x"], &["SADD", "s", "x"]] {
            let a: Vec<&[u8]> = cmd.iter().map(|s| s.as_bytes()).collect();
            c.send(&common::encode(&a));
            // Each command here produces its reply plus at most one push.
            let first = c.read_reply();
            replies.push(text(&first));
            if first.starts_with(b">") || cmd[0] == "LPUSH" {
                replies.push(text(&c.read_reply()));
            }
        }
        seen.push(replies);
    }
    assert_eq!(seen[0], seen[1]);
}
