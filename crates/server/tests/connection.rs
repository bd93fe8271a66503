//! Connection commands: PING, ECHO, HELLO, AUTH, SELECT, QUIT, RESET and CLIENT *,
//! compared byte for byte with the real Redis 7.0 where the output is deterministic, plus
//! targeted tests of what depends on connection ids and addresses.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use common::{assert_same, encode, pair, Raw, Server};

/// Send `commands` pipelined on a fresh connection and collect everything the server sends
/// back until it closes the connection or stays silent for a while. Returns the bytes and
/// whether the connection was closed.
fn exchange(port: u16, commands: &[&[&str]]) -> (String, bool) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    s.set_read_timeout(Some(Duration::from_millis(500))).expect("timeout");
    let mut bytes = Vec::new();
    for c in commands {
        let a: Vec<&[u8]> = c.iter().map(|x| x.as_bytes()).collect();
        bytes.extend_from_slice(&encode(&a));
    }
    s.write_all(&bytes).expect("send");
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    let closed = loop {
        match s.read(&mut buf) {
            Ok(0) => break true,
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {
                break false
            }
            Err(_) => break true,
        }
    };
    (String::from_utf8_lossy(&out).into_owned(), closed)
}

/// Run the same pipelined exchange against Brim and Redis and compare.
fn assert_same_exchange(brim: &Server, redis: &Server, commands: &[&[&str]]) {
    let want = exchange(redis.port, commands);
    let got = exchange(brim.port, commands);
    assert_eq!(got, want, "commands {commands:?}");
}

/// The `key=value` field names of a CLIENT LIST / CLIENT INFO line.
fn field_names(line: &str) -> Vec<String> {
    line.split(' ').map(|f| f.split('=').next().unwrap_or("").to_string()).collect()
}

/// The value of field `name` in a CLIENT LIST line.
fn field<'a>(line: &'a str, name: &str) -> &'a str {
    let prefix = format!("{name}=");
    line.split(' ')
        .find_map(|f| f.strip_prefix(prefix.as_str()))
        .unwrap_or_else(|| panic!("no {name} in {line}"))
}

/// The text of a bulk / verbatim reply (RESP2 `$n` or RESP3 `=n txt:`).
fn bulk_text(reply: &[u8]) -> String {
    let s = String::from_utf8_lossy(reply).into_owned();
    let body = s.split_once("\r\n").map(|(_, b)| b).unwrap_or("");
    let body = body.strip_suffix("\r\n").unwrap_or(body);
    body.strip_prefix("txt:").unwrap_or(body).to_string()
}

fn client_id(raw: &mut Raw) -> i64 {
    let r = raw.cmd_str(&["CLIENT", "ID"]);
    r.trim_start_matches(':').trim().parse().expect("client id")
}

const BASIC: &[&[&str]] = &[
    &["PING"],
    &["ping", "hello world"],
    &["PING", ""],
    &["PING", "a", "b"],
    &["ECHO"],
    &["ECHO", "x y\r\nz"],
    &["ECHO", ""],
    &["ECHO", "a", "b"],
    &["SELECT"],
    &["SELECT", "16"],
    &["SELECT", "-1"],
    &["SELECT", "abc"],
    &["SELECT", "1.5"],
    &["SELECT", "+1"],
    &["SELECT", "01"],
    &["SELECT", " 1"],
    &["SELECT", "99999999999"],
    &["SELECT", "-2147483649"],
    &["SELECT", "15"],
    &["SET", "k", "in15"],
    &["GET", "k"],
    &["SELECT", "0"],
    &["GET", "k"],
    &["SELECT", "1", "2"],
    &["AUTH"],
    &["AUTH", "x"],
    &["AUTH", "default", "x"],
    &["AUTH", "DEFAULT", "x"],
    &["AUTH", "foo", "bar"],
    &["AUTH", "a", "b", "c"],
    &["HELLO", "4"],
    &["HELLO", "1"],
    &["HELLO", "0"],
    &["HELLO", "-3"],
    &["HELLO", "abc"],
    &["HELLO", "3.0"],
    &["HELLO", "3", "foo"],
    &["HELLO", "3", "auth", "default"],
    &["HELLO", "3", "AUTH", "foo", "bar"],
    &["HELLO", "3", "AUTH", "default", "x", "AUTH", "foo", "bar"],
    &["HELLO", "2", "setname"],
    &["HELLO", "2", "SETNAME", "a b"],
    &["HELLO", "3", "SETNAME", "x\n"],
    &["CLIENT", "GETNAME"],
    &["RESET", "x"],
    &["QUIT", "now"],
];

const CLIENT_ERRORS: &[&[&str]] = &[
    &["CLIENT"],
    &["CLIENT", "foo"],
    &["CLIENT", "FOO", "bar"],
    &["client", "list", "type"],
    &["CLIENT", "LIST", "TYPE", "foo"],
    &["CLIENT", "LIST", "TYPE", "normal", "x"],
    &["CLIENT", "LIST", "ID"],
    &["CLIENT", "LIST", "ID", "abc"],
    &["CLIENT", "LIST", "ID", "1", "abc"],
    &["CLIENT", "LIST", "ID", "0"],
    &["CLIENT", "LIST", "ID", "-5", "123456"],
    &["CLIENT", "LIST", "ID", "1", "ID", "2"],
    &["CLIENT", "LIST", "foo", "bar"],
    &["CLIENT", "LIST", "TYPE", "pubsub"],
    &["CLIENT", "LIST", "TYPE", "master"],
    &["CLIENT", "LIST", "TYPE", "replica"],
    &["CLIENT", "LIST", "TYPE", "slave"],
    &["CLIENT", "SETNAME"],
    &["CLIENT", "SETNAME", "a", "b"],
    &["CLIENT", "SETNAME", "a b"],
    &["CLIENT", "SETNAME", "tab\there"],
    &["CLIENT", "SETNAME", "caf\u{e9}"],
    &["CLIENT", "GETNAME"],
    &["CLIENT", "SETNAME", "conn-1~!"],
    &["CLIENT", "GETNAME"],
    &["CLIENT", "SETNAME", ""],
    &["CLIENT", "GETNAME"],
    &["CLIENT", "GETNAME", "x"],
    &["CLIENT", "ID", "x"],
    &["CLIENT", "INFO", "x"],
    &["CLIENT", "HELP", "x"],
    &["CLIENT", "REPLY"],
    &["CLIENT", "REPLY", "foo"],
    &["CLIENT", "REPLY", "on", "off"],
    &["CLIENT", "REPLY", "ON"],
    &["CLIENT", "KILL"],
    &["CLIENT", "KILL", "1.2.3.4:5"],
    &["CLIENT", "KILL", "id"],
    &["CLIENT", "KILL", "ID", "0"],
    &["CLIENT", "KILL", "ID", "-1"],
    &["CLIENT", "KILL", "ID", "abc"],
    &["CLIENT", "KILL", "ID", "999999"],
    &["CLIENT", "KILL", "TYPE", "foo"],
    &["CLIENT", "KILL", "TYPE", "pubsub"],
    &["CLIENT", "KILL", "USER", "foo"],
    &["CLIENT", "KILL", "USER", "default"],
    &["CLIENT", "KILL", "SKIPME", "maybe"],
    &["CLIENT", "KILL", "foo", "bar"],
    &["CLIENT", "KILL", "a", "b", "c"],
    &["CLIENT", "KILL", "ID", "1", "SKIPME"],
    &["CLIENT", "KILL", "ADDR", "1.1.1.1:1", "LADDR", "x"],
    &["CLIENT", "KILL", "user", "default", "skipme", "yes"],
    &["CLIENT", "PAUSE"],
    &["CLIENT", "PAUSE", "abc"],
    &["CLIENT", "PAUSE", "-1"],
    &["CLIENT", "PAUSE", "1.5"],
    &["CLIENT", "PAUSE", "10", "foo"],
    &["CLIENT", "PAUSE", "abc", "foo"],
    &["CLIENT", "PAUSE", "10", "all", "extra"],
    &["CLIENT", "PAUSE", "0"],
    &["CLIENT", "PAUSE", "1", "WRITE"],
    &["CLIENT", "UNPAUSE", "x"],
    &["CLIENT", "UNPAUSE"],
    &["CLIENT", "NO-EVICT"],
    &["CLIENT", "NO-EVICT", "maybe"],
    &["CLIENT", "NO-EVICT", "on"],
    &["CLIENT", "NO-EVICT", "OFF"],
    &["CLIENT", "UNBLOCK"],
    &["CLIENT", "UNBLOCK", "abc"],
    &["CLIENT", "UNBLOCK", "1", "foo"],
    &["CLIENT", "UNBLOCK", "abc", "foo"],
    &["CLIENT", "UNBLOCK", "1", "timeout", "x"],
    &["CLIENT", "UNBLOCK", "99"],
    &["CLIENT", "UNBLOCK", "99", "ERROR"],
    &["CLIENT", "GETREDIR"],
    &["CLIENT", "GETREDIR", "x"],
    &["CLIENT", "TRACKINGINFO"],
    &["CLIENT", "CACHING", "yes"],
    &["CLIENT", "CACHING", "yes", "no"],
    &["CLIENT", "HELP"],
    &["client", "help"],
];

/// Replies in RESP3 (after HELLO 3, whose reply carries the connection id).
const RESP3: &[&[&str]] = &[
    &["PING"],
    &["PING", "x"],
    &["ECHO", "e"],
    &["CLIENT", "GETNAME"],
    &["CLIENT", "SETNAME", "r3"],
    &["CLIENT", "GETNAME"],
    &["CLIENT", "TRACKINGINFO"],
    &["CLIENT", "LIST", "ID", "0"],
    &["CLIENT", "GETREDIR"],
    &["CLIENT", "HELP"],
    &["HELLO", "4"],
    &["SELECT", "99"],
    &["AUTH", "x"],
];

#[test]
fn differential_basic_commands() {
    let (_brim, _redis, mut b, mut r) = pair(&[]);
    assert_same(&mut b, &mut r, BASIC);
    assert!(b.is_closed(), "QUIT with an argument still closes");
}

#[test]
fn differential_client_subcommands() {
    let (_brim, _redis, mut b, mut r) = pair(&[]);
    assert_same(&mut b, &mut r, CLIENT_ERRORS);
}

#[test]
fn differential_resp3() {
    let (_brim, _redis, mut b, mut r) = pair(&[]);
    b.cmd(&["HELLO", "3"]);
    r.cmd(&["HELLO", "3"]);
    assert_same(&mut b, &mut r, RESP3);
}

#[test]
fn differential_client_reply() {
    let brim = Server::start(&[]);
    let redis = Server::redis(&[]);
    let cases: &[&[&[&str]]] = &[
        &[&["CLIENT", "REPLY", "OFF"], &["PING"], &["ECHO", "a"], &["CLIENT", "REPLY", "ON"], &["PING"]],
        &[&["CLIENT", "REPLY", "SKIP"], &["ECHO", "hidden"], &["ECHO", "shown"]],
        &[&["CLIENT", "REPLY", "SKIP"], &["CLIENT", "REPLY", "SKIP"], &["ECHO", "1"], &["ECHO", "2"]],
        &[&["CLIENT", "REPLY", "SKIP"], &["CLIENT", "REPLY", "ON"], &["ECHO", "after"]],
        &[
            &["CLIENT", "REPLY", "OFF"],
            &["CLIENT", "REPLY", "SKIP"],
            &["PING"],
            &["CLIENT", "REPLY", "ON"],
            &["PING"],
        ],
        &[
            &["CLIENT", "REPLY", "OFF"],
            &["CLIENT", "REPLY", "bad"],
            &["NOSUCHCMD"],
            &["CLIENT", "REPLY", "ON"],
        ],
        &[&["CLIENT", "REPLY", "SKIP"], &["GET", "a", "b"], &["PING"]],
        &[&["CLIENT", "REPLY", "OFF"], &["RESET"], &["PING"]],
        &[&["CLIENT", "REPLY", "SKIP"], &["RESET"], &["PING"]],
    ];
    for case in cases {
        assert_same_exchange(&brim, &redis, case);
    }
    // Deliberate deviation: Redis 7.0 never closes a connection that QUITs with replies
    // off (it waits for a reply to flush first); Brim closes it.
    let (out, closed) = exchange(brim.port, &[&["CLIENT", "REPLY", "OFF"], &["QUIT"], &["PING"]]);
    assert_eq!((out.as_str(), closed), ("", true));
}

#[test]
fn differential_reset_and_quit() {
    let brim = Server::start(&[]);
    let redis = Server::redis(&[]);
    let cases: &[&[&[&str]]] = &[
        &[&["QUIT"], &["PING"]],
        &[&["PING"], &["QUIT"], &["PING"]],
        &[
            &["SELECT", "3"],
            &["SET", "r", "1"],
            &["CLIENT", "SETNAME", "before"],
            &["MULTI"],
            &["SET", "r", "2"],
            &["RESET"],
            &["EXEC"],
            &["GET", "r"],
            &["CLIENT", "GETNAME"],
            &["SELECT", "3"],
            &["GET", "r"],
        ],
        &[&["HELLO", "3"], &["RESET"], &["CLIENT", "GETNAME"], &["PING"]],
        &[&["WATCH", "w"], &["RESET"], &["MULTI"], &["EXEC"]],
        &[&["MULTI"], &["PING"], &["QUIT"]],
        &[&["MULTI"], &["RESET"], &["PING"]],
    ];
    for case in cases {
        // HELLO's reply carries the connection id: compare what follows it only.
        if case[0][0] == "HELLO" {
            let strip = |s: String| s.split_once("*0\r\n").map(|(_, rest)| rest.to_string()).unwrap_or(s);
            let (want, want_closed) = exchange(redis.port, case);
            let (got, got_closed) = exchange(brim.port, case);
            assert_eq!((strip(got), got_closed), (strip(want), want_closed), "commands {case:?}");
        } else {
            assert_same_exchange(&brim, &redis, case);
        }
    }
}

#[test]
fn hello_3_switches_to_resp3() {
    let (_brim, _redis, mut b, mut r) = pair(&[]);
    let (bid, rid) = (client_id(&mut b), client_id(&mut r));
    let got = String::from_utf8_lossy(&b.cmd(&["HELLO", "3"])).into_owned();
    let want = String::from_utf8_lossy(&r.cmd(&["HELLO", "3"])).into_owned();
    assert!(
        got.starts_with("%7\r\n$6\r\nserver\r\n$5\r\nredis\r\n$7\r\nversion\r\n$6\r\n7.0.15\r\n"),
        "{got}"
    );
    let id_field = |id: i64| format!("$2\r\nid\r\n:{id}\r\n");
    assert_eq!(got, want.replace(&id_field(rid), &id_field(bid)));
    // Now in RESP3: null is `_`, CLIENT INFO is a verbatim string with resp=3.
    assert_eq!(b.cmd(&["CLIENT", "GETNAME"]), b"_\r\n");
    let info = String::from_utf8_lossy(&b.cmd(&["CLIENT", "INFO"])).into_owned();
    assert!(info.starts_with('=') && info.contains("\r\ntxt:id=") && info.contains(" resp=3\n"), "{info}");
    // HELLO without a version keeps the protocol; HELLO 2 goes back.
    assert!(b.cmd(&["HELLO"]).starts_with(b"%7\r\n"));
    let two = String::from_utf8_lossy(&b.cmd(&["HELLO", "2", "SETNAME", "back"])).into_owned();
    assert!(two.starts_with("*14\r\n") && two.contains("$5\r\nproto\r\n:2\r\n"), "{two}");
    assert_eq!(b.cmd(&["CLIENT", "GETNAME"]), b"$4\r\nback\r\n");
    assert_eq!(b.cmd(&["CLIENT", "GETNAME", "x"]), r.cmd(&["CLIENT", "GETNAME", "x"]));
}

#[test]
fn auth_with_requirepass() {
    let brim = Server::start(&["--requirepass", "s3cret"]);
    let redis = Server::redis(&["--requirepass", "s3cret"]);
    let (mut b, mut r) = (brim.raw(), redis.raw());
    assert_same(
        &mut b,
        &mut r,
        &[
            &["PING"],
            &["GET", "k"],
            &["SELECT", "1"],
            &["CLIENT", "ID"],
            &["HELLO"],
            &["HELLO", "3"],
            &["HELLO", "3", "AUTH", "default", "wrong"],
            &["HELLO", "3", "AUTH", "nobody", "s3cret"],
            &["AUTH", "wrong"],
            &["AUTH", "default", "wrong"],
            &["AUTH", "s3cret", "x", "y"],
            &["AUTH", "S3CRET"],
            &["PING"],
            &["AUTH", "s3cret"],
            &["PING"],
            &["AUTH", "wrong"],
            &["PING"],
            &["RESET"],
            &["PING"],
            &["AUTH", "default", "s3cret"],
            &["SET", "k", "v"],
            &["GET", "k"],
            &["RESET"],
            &["QUIT"],
        ],
    );
    // HELLO AUTH authenticates even when SETNAME then fails.
    let mut b = brim.raw();
    let mut r = redis.raw();
    assert_same(
        &mut b,
        &mut r,
        &[
            &["HELLO", "2", "AUTH", "default", "s3cret", "SETNAME", "bad name"],
            &["PING"],
            &["CLIENT", "GETNAME"],
        ],
    );
    let mut b = brim.raw();
    let hello = b.cmd_str(&["HELLO", "3", "AUTH", "default", "s3cret", "SETNAME", "ok"]);
    assert!(hello.starts_with("%7\r\n"), "{hello}");
    assert_eq!(b.cmd(&["CLIENT", "GETNAME"]), b"$2\r\nok\r\n");
    // A client library authenticating through the URL.
    let client = redis::Client::open(format!("redis://:s3cret@127.0.0.1:{}/", brim.port)).expect("url");
    let mut con = client.get_connection().expect("authenticated connection");
    let pong: String = redis::cmd("PING").query(&mut con).expect("ping");
    assert_eq!(pong, "PONG");
}

#[test]
fn client_list_shows_both_connections() {
    let brim = Server::start(&[]);
    let redis = Server::redis(&[]);
    let mut a = brim.raw();
    let mut b = brim.raw();
    assert_eq!(a.cmd(&["CLIENT", "SETNAME", "alpha"]), b"+OK\r\n");
    assert_eq!(b.cmd(&["CLIENT", "SETNAME", "beta"]), b"+OK\r\n");
    assert_eq!(b.cmd(&["SELECT", "5"]), b"+OK\r\n");
    let (ida, idb) = (client_id(&mut a), client_id(&mut b));
    let list = bulk_text(&a.cmd(&["CLIENT", "LIST"]));
    let lines: Vec<&str> = list.split_terminator('\n').collect();
    assert_eq!(lines.len(), 2, "{list}");
    assert!(list.ends_with('\n'));
    assert_eq!(field(lines[0], "id"), ida.to_string());
    assert_eq!(field(lines[0], "name"), "alpha");
    assert_eq!(field(lines[0], "cmd"), "client|list");
    assert_eq!(field(lines[1], "id"), idb.to_string());
    assert_eq!(field(lines[1], "name"), "beta");
    assert_eq!(field(lines[1], "db"), "5");
    for line in &lines {
        assert_eq!(field(line, "laddr"), brim.addr());
        assert_eq!(field(line, "flags"), "N");
        assert_eq!(field(line, "user"), "default");
    }
    // Same fields, in the same order, as Redis 7.0.
    let mut r = redis.raw();
    let redis_line = bulk_text(&r.cmd(&["CLIENT", "LIST"]));
    let redis_fields = field_names(redis_line.trim_end());
    assert_eq!(field_names(lines[0]), redis_fields);
    let info = bulk_text(&b.cmd(&["CLIENT", "INFO"]));
    assert_eq!(field_names(info.trim_end()), redis_fields);
    assert_eq!(field(info.trim_end(), "addr"), field(lines[1], "addr"));
    assert_eq!(field(info.trim_end(), "cmd"), "client|info");
    // Filters.
    let only_b = bulk_text(&a.cmd(&["CLIENT", "LIST", "ID", &idb.to_string(), "424242"]));
    assert_eq!(only_b.lines().count(), 1);
    assert_eq!(field(only_b.trim_end(), "name"), "beta");
    let normal = bulk_text(&a.cmd(&["CLIENT", "LIST", "TYPE", "NORMAL"]));
    assert_eq!(normal.lines().count(), 2);
    assert_eq!(a.cmd(&["CLIENT", "LIST", "TYPE", "pubsub"]), b"$0\r\n\r\n");
    // Flags follow the connection's state (CLIENT INFO itself would be queued in MULTI).
    assert_eq!(b.cmd(&["MULTI"]), b"+OK\r\n");
    assert_eq!(b.cmd(&["PING"]), b"+QUEUED\r\n");
    let other = bulk_text(&a.cmd(&["CLIENT", "LIST", "ID", &idb.to_string()]));
    assert_eq!(field(other.trim_end(), "flags"), "x", "{other}");
    assert_eq!(field(other.trim_end(), "multi"), "1", "{other}");
    assert_eq!(b.cmd(&["DISCARD"]), b"+OK\r\n");
    assert_eq!(b.cmd(&["CLIENT", "NO-EVICT", "on"]), b"+OK\r\n");
    let info = bulk_text(&a.cmd(&["CLIENT", "LIST", "ID", &idb.to_string()]));
    assert_eq!(field(info.trim_end(), "flags"), "e");
    assert_eq!(field(info.trim_end(), "multi"), "-1");
    // A closed connection leaves the list.
    drop(b);
    let mut n = 0;
    for _ in 0..100 {
        n = bulk_text(&a.cmd(&["CLIENT", "LIST"])).lines().count();
        if n == 1 {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(n, 1);
}

#[test]
fn client_kill_closes_connections() {
    let brim = Server::start(&[]);
    let mut a = brim.raw();
    let mut b = brim.raw();
    let idb = client_id(&mut b);
    assert_eq!(a.cmd(&["CLIENT", "KILL", "ID", &idb.to_string()]), b":1\r\n");
    assert!(b.is_closed());
    assert_eq!(bulk_text(&a.cmd(&["CLIENT", "LIST"])).lines().count(), 1);
    assert_eq!(a.cmd(&["CLIENT", "KILL", "ID", &idb.to_string()]), b":0\r\n");

    // By address, new and old forms.
    let mut c = brim.raw();
    let addr = field(bulk_text(&c.cmd(&["CLIENT", "INFO"])).trim_end(), "addr").to_string();
    assert_eq!(a.cmd(&["CLIENT", "KILL", "ADDR", &addr]), b":1\r\n");
    assert!(c.is_closed());
    let mut d = brim.raw();
    let addr = field(bulk_text(&d.cmd(&["CLIENT", "INFO"])).trim_end(), "addr").to_string();
    assert_eq!(a.cmd(&["CLIENT", "KILL", &addr]), b"+OK\r\n");
    assert!(d.is_closed());
    assert_eq!(a.cmd(&["CLIENT", "KILL", &addr]), b"-ERR No such client\r\n");

    // LADDR / TYPE / USER kill everybody else (SKIPME defaults to yes).
    let mut e = brim.raw();
    let mut f = brim.raw();
    e.cmd(&["PING"]);
    f.cmd(&["PING"]);
    assert_eq!(a.cmd(&["CLIENT", "KILL", "LADDR", &brim.addr()]), b":2\r\n");
    assert!(e.is_closed() && f.is_closed());
    let mut g = brim.raw();
    g.cmd(&["PING"]);
    assert_eq!(a.cmd(&["CLIENT", "KILL", "TYPE", "normal", "USER", "default"]), b":1\r\n");
    assert!(g.is_closed());
    assert_eq!(a.cmd(&["PING"]), b"+PONG\r\n");

    // Killing yourself: the reply arrives, then the connection closes.
    let ida = client_id(&mut a);
    assert_eq!(a.cmd(&["CLIENT", "KILL", "ID", &ida.to_string()]), b":0\r\n");
    assert_eq!(a.cmd(&["CLIENT", "KILL", "ID", &ida.to_string(), "SKIPME", "no"]), b":1\r\n");
    assert!(a.is_closed());
    let mut h = brim.raw();
    let addr = field(bulk_text(&h.cmd(&["CLIENT", "INFO"])).trim_end(), "addr").to_string();
    assert_eq!(h.cmd(&["CLIENT", "KILL", &addr]), b"+OK\r\n");
    assert!(h.is_closed());
}

#[test]
fn quit_closes_the_connection() {
    let brim = Server::start(&[]);
    let mut a = brim.raw();
    assert_eq!(a.cmd(&["QUIT"]), b"+OK\r\n");
    assert!(a.is_closed());
    let (out, closed) = exchange(brim.port, &[&["PING"], &["QUIT"], &["PING"]]);
    assert_eq!((out.as_str(), closed), ("+PONG\r\n+OK\r\n", true));
}

#[test]
fn reset_restores_a_fresh_connection() {
    let brim = Server::start(&[]);
    let mut a = brim.raw();
    let id = client_id(&mut a);
    a.cmd(&["HELLO", "3", "SETNAME", "x"]);
    assert_eq!(a.cmd(&["SELECT", "2"]), b"+OK\r\n");
    assert_eq!(a.cmd(&["WATCH", "w"]), b"+OK\r\n");
    assert_eq!(a.cmd(&["MULTI"]), b"+OK\r\n");
    assert_eq!(a.cmd(&["SET", "a", "1"]), b"+QUEUED\r\n");
    assert_eq!(a.cmd(&["RESET"]), b"+RESET\r\n");
    let info = bulk_text(&a.cmd(&["CLIENT", "INFO"]));
    let line = info.trim_end();
    assert_eq!(field(line, "id"), id.to_string(), "same connection");
    assert_eq!(field(line, "name"), "");
    assert_eq!(field(line, "db"), "0");
    assert_eq!(field(line, "multi"), "-1");
    assert_eq!(field(line, "flags"), "N");
    assert_eq!(field(line, "resp"), "2");
    assert_eq!(a.cmd(&["EXEC"]), b"-ERR EXEC without MULTI\r\n");
    assert_eq!(a.cmd(&["CLIENT", "GETNAME"]), b"$-1\r\n");
    // The WATCH is gone: a change to `w` no longer aborts a transaction.
    let mut other = brim.raw();
    assert_eq!(other.cmd(&["SET", "w", "changed"]), b"+OK\r\n");
    assert_eq!(a.cmd(&["MULTI"]), b"+OK\r\n");
    assert_eq!(a.cmd(&["PING"]), b"+QUEUED\r\n");
    assert_eq!(a.cmd(&["EXEC"]), b"*1\r\n+PONG\r\n");
    // CLIENT REPLY OFF is cleared.
    a.send(&encode(&[b"CLIENT", b"REPLY", b"OFF"]));
    assert_eq!(a.cmd(&["RESET"]), b"+RESET\r\n");
    assert_eq!(a.cmd(&["PING"]), b"+PONG\r\n");
}

#[test]
fn select_is_per_connection() {
    let brim = Server::start(&["--databases", "4"]);
    let mut a = brim.raw();
    let mut b = brim.raw();
    assert_eq!(a.cmd(&["SELECT", "3"]), b"+OK\r\n");
    assert_eq!(a.cmd(&["SELECT", "4"]), b"-ERR DB index is out of range\r\n");
    assert_eq!(a.cmd(&["SET", "k", "a"]), b"+OK\r\n");
    assert_eq!(b.cmd(&["GET", "k"]), b"$-1\r\n");
    assert_eq!(b.cmd(&["SELECT", "3"]), b"+OK\r\n");
    assert_eq!(b.cmd(&["GET", "k"]), b"$1\r\na\r\n");
}

#[test]
fn client_pause_and_unpause_reply() {
    let brim = Server::start(&[]);
    let mut a = brim.raw();
    assert_eq!(a.cmd(&["CLIENT", "PAUSE", "50", "WRITE"]), b"+OK\r\n");
    assert_eq!(a.cmd(&["CLIENT", "UNPAUSE"]), b"+OK\r\n");
    assert_eq!(a.cmd(&["SET", "k", "v"]), b"+OK\r\n");
    assert_eq!(a.cmd(&["CLIENT", "PAUSE", "9223372036854775807"]), b"+OK\r\n");
    assert_eq!(a.cmd(&["PING"]), b"+PONG\r\n", "an overflowing timeout does not pause, as in Redis");
}

#[test]
fn unix_socket_clients_are_listed_like_redis() {
    use std::os::unix::net::UnixStream;
    let dir = std::env::temp_dir().join(format!("brim-conn-unix-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let path = dir.join("brim.sock");
    let path_str = path.to_str().expect("utf-8 path").to_string();
    let brim = Server::start(&["--unixsocket", &path_str]);
    let mut s = UnixStream::connect(&path).expect("unix connect");
    s.set_read_timeout(Some(Duration::from_secs(5))).expect("timeout");
    s.write_all(&encode(&[b"CLIENT", b"INFO"])).expect("send");
    let mut buf = vec![0u8; 4096];
    let n = s.read(&mut buf).expect("read");
    let info = bulk_text(&buf[..n]);
    let line = info.trim_end();
    assert_eq!(field(line, "addr"), format!("{path_str}:0"));
    assert_eq!(field(line, "laddr"), format!("{path_str}:0"));
    assert_eq!(field(line, "flags"), "U");
    let mut tcp = brim.raw();
    let killed = tcp.cmd(&["CLIENT", "KILL", &format!("{path_str}:0")]);
    assert_eq!(killed, b"+OK\r\n");
    assert_eq!(s.read(&mut buf).ok(), Some(0), "killed unix client is closed");
    drop(brim);
    let _ = std::fs::remove_dir_all(&dir);
}
