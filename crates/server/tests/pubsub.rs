//! Pub/Sub: differential tests against the real Redis 7.0 (subscribed-mode rules and errors,
//! RESP3 pushes beside normal replies, PUBSUB introspection), delivery across connections on
//! different worker threads with per-channel order, pattern and shard channels, CLIENT LIST
//! and INFO fields, and the output buffer limits that disconnect slow subscribers.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use common::{assert_same, encode, info_str as info_field, pair, Raw, Server};

/// A RESP2 array of bulk strings; RESP3 pushes are the same with `>`.
fn frame(parts: &[&str]) -> Vec<u8> {
    let a: Vec<&[u8]> = parts.iter().map(|s| s.as_bytes()).collect();
    encode(&a)
}

fn push(parts: &[&str]) -> Vec<u8> {
    let mut f = frame(parts);
    f[0] = b'>';
    f
}

/// A (un)subscribe confirmation: `*3 $word $name :count`.
fn confirm(word: &str, name: &str, count: i64) -> Vec<u8> {
    let mut f = frame(&[word, name]);
    f[1] = b'3';
    f.extend_from_slice(format!(":{count}\r\n").as_bytes());
    f
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Send `cmd` to both servers and compare the next `n` replies of each.
fn same_n(b: &mut Raw, r: &mut Raw, cmd: &[&str], n: usize) {
    let a: Vec<&[u8]> = cmd.iter().map(|s| s.as_bytes()).collect();
    r.send(&encode(&a));
    b.send(&encode(&a));
    for i in 0..n {
        let want = r.read_reply();
        let got = b.read_reply();
        assert_eq!(text(&got), text(&want), "{cmd:?} reply {i}");
    }
}

fn int_reply(b: &[u8]) -> i64 {
    let s = text(b);
    s.trim_start_matches([':', '+']).trim().parse().unwrap_or_else(|_| panic!("not an integer: {s:?}"))
}

fn client_list(raw: &mut Raw, extra: &[&str]) -> String {
    let mut args = vec!["CLIENT", "LIST"];
    args.extend_from_slice(extra);
    text(&raw.cmd(&args))
}

fn field<'a>(line: &'a str, name: &str) -> &'a str {
    line.split(' ').find_map(|kv| kv.strip_prefix(&format!("{name}="))).unwrap_or("")
}

/// Wait up to `secs` for `f` to hold.
fn eventually(secs: u64, mut f: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while Instant::now() < deadline {
        if f() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    f()
}

#[test]
fn subscribed_mode_rules_match_redis() {
    let (_brim, _redis, mut b, mut r) = pair(&[]);
    assert_same(
        &mut b,
        &mut r,
        &[
            &["SUBSCRIBE", "news"],
            &["PING"],
            &["PING", "hello"],
            &["GET", "x"],
            &["SET", "x", "1"],
            &["CLIENT", "LIST"],
            &["PUBSUB", "NUMPAT"],
            &["HELLO", "2"],
            &["PUBLISH", "news", "x"],
            &["PSUBSCRIBE", "n*"],
            &["SSUBSCRIBE", "shard"],
            &["PUNSUBSCRIBE", "n*"],
            &["PUNSUBSCRIBE"],
            &["UNSUBSCRIBE", "nothere"],
            &["SUNSUBSCRIBE"],
            &["EXEC"],
            &["UNSUBSCRIBE"],
            &["UNSUBSCRIBE"],
            &["PING"],
            &["GET", "x"],
            &["PSUBSCRIBE", "a"],
            &["MULTI"],
            &["QUIT"],
        ],
    );
    assert!(b.is_closed());
}

#[test]
fn subscribe_and_unsubscribe_many_at_once_match_redis() {
    let (_brim, _redis, mut b, mut r) = pair(&[]);
    same_n(&mut b, &mut r, &["SUBSCRIBE", "a", "b", "a", "c"], 4);
    same_n(&mut b, &mut r, &["PSUBSCRIBE", "x*", "y?"], 2);
    same_n(&mut b, &mut r, &["UNSUBSCRIBE", "b", "zz"], 2);
    same_n(&mut b, &mut r, &["PUNSUBSCRIBE", "y?"], 1);
    // Mass unsubscribes: one reply per subscription, each with the count left; Redis's order
    // is its dict's, so only the single-subscription cases compare byte for byte.
    same_n(&mut b, &mut r, &["PUNSUBSCRIBE"], 1);
    same_n(&mut b, &mut r, &["SSUBSCRIBE", "s1"], 1);
    same_n(&mut b, &mut r, &["SUNSUBSCRIBE"], 1);
    b.send(&encode(&[b"UNSUBSCRIBE"]));
    let mut got: Vec<String> = (0..2).map(|_| text(&b.read_reply())).collect();
    got.sort();
    let one = text(&confirm("unsubscribe", "a", 1));
    let zero = text(&confirm("unsubscribe", "c", 0));
    let (one_c, zero_a) = (text(&confirm("unsubscribe", "c", 1)), text(&confirm("unsubscribe", "a", 0)));
    assert!(got == vec![one.clone(), zero.clone()] || got == vec![zero_a, one_c], "{got:?}");
    r.send(&encode(&[b"UNSUBSCRIBE"]));
    r.read_reply();
    r.read_reply();
    assert_same(&mut b, &mut r, &[&["PING"], &["SUBSCRIBE"], &["PSUBSCRIBE"], &["SSUBSCRIBE"]]);
}

#[test]
fn resp3_pushes_beside_normal_replies_match_redis() {
    let (_brim, _redis, mut b, mut r) = pair(&[]);
    b.cmd(&["HELLO", "3"]);
    r.cmd(&["HELLO", "3"]);
    assert_same(&mut b, &mut r, &[&["SET", "k", "v"], &["SUBSCRIBE", "c1"]]);
    // A client publishing to itself gets the message before PUBLISH's reply.
    same_n(&mut b, &mut r, &["PUBLISH", "c1", "hi"], 2);
    assert_same(&mut b, &mut r, &[&["GET", "k"], &["PSUBSCRIBE", "c*"]]);
    same_n(&mut b, &mut r, &["PUBLISH", "c1", "both"], 3);
    assert_same(
        &mut b,
        &mut r,
        &[
            &["PUBSUB", "NUMSUB", "c1", "c2"],
            &["PUBSUB", "NUMPAT"],
            &["PUBSUB", "CHANNELS"],
            &["PING"],
            &["PING", "x"],
            &["UNSUBSCRIBE", "c1"],
            &["PUNSUBSCRIBE"],
            &["GET", "k"],
            &["SSUBSCRIBE", "s"],
        ],
    );
    same_n(&mut b, &mut r, &["SPUBLISH", "s", "m"], 2);
    // Back to RESP2 while subscribed: the subscribed-mode rules apply again.
    b.cmd(&["HELLO", "2"]);
    r.cmd(&["HELLO", "2"]);
    assert_same(&mut b, &mut r, &[&["GET", "k"], &["PING"], &["RESET"], &["GET", "k"]]);
}

#[test]
fn introspection_matches_redis() {
    let brim = Server::start(&[]);
    let redis = Server::redis(&[]);
    let mut subs = Vec::new();
    for (srv, name) in [(&brim, "brim"), (&redis, "redis")] {
        let mut s1 = srv.raw();
        s1.cmd(&["SUBSCRIBE", "news.tech"]);
        s1.cmd(&["PSUBSCRIBE", "news.*"]);
        s1.cmd(&["SSUBSCRIBE", "orders"]);
        let mut s2 = srv.raw();
        s2.cmd(&["SUBSCRIBE", "news.tech"]);
        s2.cmd(&["PSUBSCRIBE", "news.*"]);
        subs.push((name, s1, s2));
    }
    let (mut b, mut r) = (brim.raw(), redis.raw());
    assert_same(
        &mut b,
        &mut r,
        &[
            &["PUBSUB", "CHANNELS"],
            &["PUBSUB", "CHANNELS", "news.*"],
            &["PUBSUB", "CHANNELS", "x*"],
            &["PUBSUB", "NUMSUB"],
            &["PUBSUB", "NUMSUB", "news.tech", "news.sport", "orders"],
            &["PUBSUB", "NUMPAT"],
            &["PUBSUB", "SHARDCHANNELS"],
            &["PUBSUB", "SHARDCHANNELS", "ord*"],
            &["PUBSUB", "SHARDCHANNELS", "x"],
            &["PUBSUB", "SHARDNUMSUB", "orders", "news.tech"],
            &["PUBSUB", "SHARDNUMSUB"],
            &["PUBSUB", "HELP"],
            &["PUBSUB", "help"],
            &["PUBSUB", "CHANNELS", "a", "b"],
            &["PUBSUB", "NUMPAT", "x"],
            &["PUBSUB", "nosuch"],
            &["PUBSUB"],
            &["PUBLISH", "news.tech", "hello"],
            &["PUBLISH", "news.sport", "hello"],
            &["PUBLISH", "nobody", "hello"],
            &["SPUBLISH", "orders", "o1"],
            &["SPUBLISH", "news.tech", "o1"],
            &["PUBLISH", "a"],
            &["SUBSCRIBE"],
            &["SSUBSCRIBE"],
        ],
    );
    // What the subscribers received, on both servers.
    let mut got = Vec::new();
    for (_, s1, s2) in subs.iter_mut() {
        let mut seen = Vec::new();
        for _ in 0..3 {
            seen.push(text(&s1.read_reply()));
        }
        for _ in 0..3 {
            seen.push(text(&s2.read_reply()));
        }
        got.push(seen);
    }
    assert_eq!(got[0], got[1]);
    assert_eq!(got[0][0], text(&frame(&["message", "news.tech", "hello"])));
    assert_eq!(got[0][1], text(&frame(&["pmessage", "news.*", "news.tech", "hello"])));
    assert_eq!(got[0][2], text(&frame(&["pmessage", "news.*", "news.sport", "hello"])));
    // INFO counts channels and patterns with subscribers.
    assert_eq!(
        info_field(&mut b, "stats", "pubsub_channels"),
        info_field(&mut r, "stats", "pubsub_channels")
    );
    assert_eq!(
        info_field(&mut b, "stats", "pubsub_patterns"),
        info_field(&mut r, "stats", "pubsub_patterns")
    );
    assert_eq!(
        info_field(&mut b, "stats", "pubsubshard_channels"),
        info_field(&mut r, "stats", "pubsubshard_channels")
    );
    assert_eq!(info_field(&mut b, "stats", "pubsub_channels"), "1");
    // The shard subscriber got its smessage; after the subscribers leave, everything is gone.
    let (_, s1, _) = &mut subs[0];
    assert_eq!(text(&s1.read_reply()), text(&frame(&["smessage", "orders", "o1"])));
    subs.clear();
    // Both servers drop a closed connection's channels, patterns and shard channels one
    // after the other: wait for the last of them on each.
    for raw in [&mut b, &mut r] {
        assert!(eventually(5, || int_reply(&raw.cmd(&["PUBSUB", "NUMPAT"])) == 0
            && raw.cmd(&["PUBSUB", "CHANNELS"]) == b"*0\r\n"
            && raw.cmd(&["PUBSUB", "SHARDCHANNELS"]) == b"*0\r\n"));
    }
    assert_same(
        &mut b,
        &mut r,
        &[&["PUBSUB", "CHANNELS"], &["PUBSUB", "NUMSUB", "news.tech"], &["PUBSUB", "SHARDCHANNELS"]],
    );
}

#[test]
fn messages_cross_worker_threads_with_patterns_and_shards() {
    let brim = Server::start(&["--io-threads", "2"]);
    // Connections are dealt to the workers round-robin: consecutive ones land on different
    // threads.
    let mut a = brim.raw();
    let mut bsub = brim.raw();
    let mut c = brim.raw();
    let mut publisher = brim.raw();
    assert_eq!(a.cmd(&["SUBSCRIBE", "ch"]), confirm("subscribe", "ch", 1));
    bsub.cmd(&["PSUBSCRIBE", "c?"]);
    c.cmd(&["HELLO", "3"]);
    c.cmd(&["SSUBSCRIBE", "ch"]);
    assert_eq!(int_reply(&publisher.cmd(&["PUBLISH", "ch", "one"])), 2);
    assert_eq!(int_reply(&publisher.cmd(&["SPUBLISH", "ch", "two"])), 1);
    assert_eq!(int_reply(&publisher.cmd(&["PUBLISH", "cx", "three"])), 1);
    assert_eq!(a.read_reply(), frame(&["message", "ch", "one"]));
    assert_eq!(bsub.read_reply(), frame(&["pmessage", "c?", "ch", "one"]));
    assert_eq!(bsub.read_reply(), frame(&["pmessage", "c?", "cx", "three"]));
    assert_eq!(c.read_reply(), push(&["smessage", "ch", "two"]));
    // Nothing else arrived: the next reply each gets is its PING's.
    assert_eq!(a.cmd(&["PING"]), frame(&["pong", ""]));
    assert_eq!(bsub.cmd(&["PING", "z"]), frame(&["pong", "z"]));
    assert_eq!(c.cmd(&["PING"]), b"+PONG\r\n".to_vec());
    // Binary-safe channels and messages.
    let bin = "bin\u{0}\r\nary";
    a.cmd(&["SUBSCRIBE", bin]);
    assert_eq!(int_reply(&publisher.cmd(&["PUBLISH", bin, "\r\n\u{0}"])), 1);
    assert_eq!(a.read_reply(), frame(&["message", bin, "\r\n\u{0}"]));
}

#[test]
fn per_channel_order_holds_across_publishers_and_workers() {
    let brim = Server::start(&["--io-threads", "2"]);
    let mut subs: Vec<Raw> = (0..2).map(|_| brim.raw()).collect();
    for s in subs.iter_mut() {
        s.cmd(&["SUBSCRIBE", "ordered"]);
    }
    let mut pattern_sub = brim.raw();
    pattern_sub.cmd(&["PSUBSCRIBE", "order*"]);
    const N: usize = 2000;
    let port = brim.port;
    let publishers: Vec<_> = (0..2)
        .map(|p| {
            std::thread::spawn(move || {
                let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
                let mut buf = Vec::new();
                for i in 0..N {
                    let msg = format!("{p}-{i}");
                    buf.extend_from_slice(&encode(&[b"PUBLISH", b"ordered", msg.as_bytes()]));
                    if i % 50 == 49 {
                        s.write_all(&buf).expect("write");
                        buf.clear();
                    }
                }
                s.write_all(&buf).expect("write");
                // Read the N integer replies (":3\r\n" each).
                let mut got = 0;
                let mut rbuf = [0u8; 4096];
                while got < N * 4 {
                    let n = s.read(&mut rbuf).expect("read");
                    assert!(n > 0);
                    got += n;
                }
            })
        })
        .collect();
    for p in publishers {
        p.join().expect("publisher");
    }
    // The message is the last bulk of each frame.
    let read_all = |s: &mut Raw| -> Vec<String> {
        (0..2 * N)
            .map(|_| {
                let r = text(&s.read_reply());
                r.rsplit("\r\n").nth(1).unwrap_or_default().to_string()
            })
            .collect()
    };
    let first = read_all(&mut subs[0]);
    let second = read_all(&mut subs[1]);
    let third = read_all(&mut pattern_sub);
    assert_eq!(first, second);
    assert_eq!(first, third);
    // Each publisher's own messages arrive in the order it sent them.
    for p in 0..2 {
        let mine: Vec<usize> = first
            .iter()
            .filter_map(|m| m.strip_prefix(&format!("{p}-")).and_then(|i| i.parse().ok()))
            .collect();
        assert_eq!(mine, (0..N).collect::<Vec<_>>());
    }
}

#[test]
fn client_list_and_kill_know_subscribers() {
    let brim = Server::start(&[]);
    let mut s = brim.raw();
    let id = int_reply(&s.cmd(&["CLIENT", "ID"]));
    s.cmd(&["SUBSCRIBE", "a"]);
    s.send(&encode(&[b"SUBSCRIBE", b"b", b"c"]));
    s.read_reply();
    s.read_reply();
    s.cmd(&["PSUBSCRIBE", "p*"]);
    s.cmd(&["SSUBSCRIBE", "s"]);
    let mut admin = brim.raw();
    let list = client_list(&mut admin, &["ID", &id.to_string()]);
    assert_eq!(field(&list, "sub"), "3");
    assert_eq!(field(&list, "psub"), "1");
    assert_eq!(field(&list, "ssub"), "1");
    assert_eq!(field(&list, "flags"), "P");
    let pubsub_only = client_list(&mut admin, &["TYPE", "pubsub"]);
    assert_eq!(pubsub_only.lines().filter(|l| l.contains("id=")).count(), 1);
    assert!(pubsub_only.contains(&format!("id={id} ")));
    let normal = client_list(&mut admin, &["TYPE", "normal"]);
    assert!(!normal.contains(&format!("id={id} ")));
    assert_eq!(int_reply(&admin.cmd(&["CLIENT", "KILL", "TYPE", "pubsub"])), 1);
    assert!(s.is_closed());
    assert!(eventually(5, || int_reply(&admin.cmd(&["PUBSUB", "NUMPAT"])) == 0));
    assert_eq!(text(&admin.cmd(&["PUBSUB", "CHANNELS"])), "*0\r\n");
    assert_eq!(info_field(&mut admin, "stats", "pubsub_channels"), "0");
}

#[test]
fn reset_and_disconnect_drop_subscriptions() {
    let brim = Server::start(&[]);
    let mut s = brim.raw();
    let mut admin = brim.raw();
    s.cmd(&["SUBSCRIBE", "x"]);
    s.cmd(&["PSUBSCRIBE", "y*"]);
    assert_eq!(text(&s.cmd(&["RESET"])), "+RESET\r\n");
    assert_eq!(text(&admin.cmd(&["PUBSUB", "NUMSUB", "x"])), "*2\r\n$1\r\nx\r\n:0\r\n");
    assert_eq!(int_reply(&admin.cmd(&["PUBSUB", "NUMPAT"])), 0);
    assert_eq!(int_reply(&admin.cmd(&["PUBLISH", "x", "m"])), 0);
    assert_eq!(text(&s.cmd(&["PING"])), "+PONG\r\n");
    s.cmd(&["SUBSCRIBE", "x"]);
    assert_eq!(int_reply(&admin.cmd(&["PUBLISH", "x", "m"])), 1);
    drop(s);
    assert!(eventually(5, || int_reply(&admin.cmd(&["PUBLISH", "x", "m"])) == 0));
}

/// A subscriber socket with a small receive buffer, subscribed to `channel`, that then
/// reads nothing.
fn lazy_subscriber(port: u16, channel: &str) -> TcpStream {
    let s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    {
        use std::os::fd::AsRawFd;
        let size: libc::c_int = 4096;
        // SAFETY: setsockopt with a correctly sized int option on a socket we own.
        unsafe {
            libc::setsockopt(
                s.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_RCVBUF,
                &size as *const _ as *const libc::c_void,
                std::mem::size_of::<libc::c_int>() as libc::socklen_t,
            );
        }
    }
    let mut w = s.try_clone().expect("clone");
    w.write_all(&encode(&[b"SUBSCRIBE", channel.as_bytes()])).expect("subscribe");
    let mut buf = [0u8; 64];
    let mut got = 0;
    while got < confirm("subscribe", channel, 1).len() {
        got += w.read(&mut buf[got..]).expect("read");
    }
    s
}

fn count_type(admin: &mut Raw, t: &str) -> usize {
    client_list(admin, &["TYPE", t]).lines().filter(|l| l.contains("id=")).count()
}

#[test]
fn slow_subscriber_is_disconnected_at_the_hard_limit() {
    let brim = Server::start(&["--client-output-buffer-limit", "pubsub 256kb 0 0"]);
    let _sub = lazy_subscriber(brim.port, "flood");
    let mut admin = brim.raw();
    assert_eq!(count_type(&mut admin, "pubsub"), 1);
    let before: u64 = info_field(&mut admin, "memory", "used_memory").parse().expect("used_memory");
    let payload = "x".repeat(4096);
    let mut publisher = brim.raw();
    let mut delivered = 0;
    // 64 MB offered; the socket buffers take a few MB at most, the rest would pile up.
    for _ in 0..16_384 {
        delivered += int_reply(&publisher.cmd(&["PUBLISH", "flood", &payload]));
        if delivered > 0 && count_type(&mut admin, "pubsub") == 0 {
            break;
        }
    }
    assert!(
        eventually(5, || count_type(&mut admin, "pubsub") == 0),
        "the slow subscriber is still connected"
    );
    assert_eq!(int_reply(&publisher.cmd(&["PUBLISH", "flood", "x"])), 0);
    let after: u64 = info_field(&mut admin, "memory", "used_memory").parse().expect("used_memory");
    assert!(after < before + (8 << 20), "memory grew from {before} to {after}");
}

#[test]
fn soft_limit_disconnects_only_after_its_seconds() {
    let brim = Server::start(&["--client-output-buffer-limit", "pubsub 0 128kb 2"]);
    let _sub = lazy_subscriber(brim.port, "trickle");
    let mut admin = brim.raw();
    let mut publisher = brim.raw();
    let payload = "y".repeat(16 * 1024);
    let start = Instant::now();
    let mut over_since: Option<Instant> = None;
    let mut gone_at = None;
    while start.elapsed() < Duration::from_secs(12) {
        // ~2.5 MB/s: the socket buffers fill within a second or two, then output piles up.
        for _ in 0..8 {
            publisher.cmd(&["PUBLISH", "trickle", &payload]);
        }
        let list = client_list(&mut admin, &["TYPE", "pubsub"]);
        let Some(line) = list.lines().find(|l| l.contains("id=")) else {
            gone_at = Some(Instant::now());
            break;
        };
        let omem: u64 = field(line, "omem").parse().unwrap_or(0);
        let obl: u64 = field(line, "obl").parse().unwrap_or(0);
        if over_since.is_none() && omem.max(obl) >= 128 * 1024 {
            over_since = Some(Instant::now());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let gone_at = gone_at.expect("the subscriber over its soft limit was never disconnected");
    let over_since = over_since.unwrap_or(start);
    let held = gone_at.duration_since(over_since);
    assert!(held >= Duration::from_millis(1500), "disconnected after only {held:?} over the soft limit");
}

#[test]
fn normal_client_over_its_hard_limit_is_closed_like_redis() {
    for srv in [Server::start(&[]), Server::redis(&[])] {
        let mut admin = srv.raw();
        admin.cmd(&["CONFIG", "SET", "client-output-buffer-limit", "normal 100000 0 0"]);
        admin.cmd(&["SET", "big", &"z".repeat(200_000)]);
        admin.cmd(&["SET", "small", "s"]);
        let mut c = srv.raw();
        assert_eq!(text(&c.cmd(&["GET", "small"])), "$1\r\ns\r\n");
        c.send(&encode(&[b"GET", b"big"]));
        // No reply: the connection is closed with the reply unsent.
        assert!(c.is_closed());
        // The admin connection (its replies are small) is fine.
        assert_eq!(text(&admin.cmd(&["PING"])), "+PONG\r\n");
        admin.cmd(&["CONFIG", "SET", "client-output-buffer-limit", "normal 0 0 0"]);
        let mut c = srv.raw();
        assert_eq!(c.cmd(&["GET", "big"]).len(), 200_000 + 2 + 9);
    }
}

#[test]
fn a_client_not_reading_its_replies_is_held_back_not_buffered() {
    // Without an output limit for normal clients, a client that pipelines without reading
    // is simply not read further once its unwritten replies pass a bound: memory stays flat.
    let brim = Server::start(&[]);
    let mut admin = brim.raw();
    admin.cmd(&["SET", "v", &"q".repeat(64 * 1024)]);
    let before: u64 = info_field(&mut admin, "memory", "used_memory").parse().expect("used_memory");
    let mut s = TcpStream::connect(("127.0.0.1", brim.port)).expect("connect");
    s.set_write_timeout(Some(Duration::from_millis(500))).ok();
    let cmd = encode(&[b"GET", b"v"]);
    // 20,000 GETs = 1.3 GB of replies; the writes stall once Brim stops reading.
    for _ in 0..20_000 {
        if s.write_all(&cmd).is_err() {
            break;
        }
    }
    std::thread::sleep(Duration::from_millis(300));
    let after: u64 = info_field(&mut admin, "memory", "used_memory").parse().expect("used_memory");
    assert!(after < before + (16 << 20), "memory grew from {before} to {after}");
    assert_eq!(text(&admin.cmd(&["PING"])), "+PONG\r\n");
}
