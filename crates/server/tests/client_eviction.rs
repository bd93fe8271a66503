//! Client eviction (`maxmemory-clients`) and "clients cannot blow the limit": the biggest
//! clients are closed first, NO-EVICT and small clients survive, `evicted_clients` counts,
//! CONFIG SET applies at once, the percent form follows `maxmemory`; and clients that do not
//! read big replies never make the server evict keys. Scenarios run on Brim and on the Redis
//! 7.0 oracle alike where both must behave the same.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use common::{assert_same, encode, info_str as info_field, pair, Raw, Server};

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn info_num(raw: &mut Raw, section: &str, name: &str) -> u64 {
    info_field(raw, section, name).parse().unwrap_or_else(|_| panic!("{name} is not a number"))
}

/// Poll `f` every 20 ms for up to `secs` seconds.
fn eventually(secs: u64, mut f: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        if f() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// CLIENT LIST as (name, line) pairs.
fn clients(admin: &mut Raw) -> Vec<(String, String)> {
    let list = text(&admin.cmd(&["CLIENT", "LIST"]));
    list.lines().filter(|l| l.contains("id=")).map(|l| (field(l, "name"), l.to_string())).collect()
}

fn field(line: &str, name: &str) -> String {
    let prefix = format!("{name}=");
    line.split(' ').find_map(|f| f.strip_prefix(&prefix)).unwrap_or_default().to_string()
}

/// The names of the connected clients, sorted (unnamed ones left out).
fn names(admin: &mut Raw) -> Vec<String> {
    let mut v: Vec<String> = clients(admin).into_iter().map(|(n, _)| n).filter(|n| !n.is_empty()).collect();
    v.sort();
    v
}

/// `tot-mem` of the client called `name` (0 when gone).
fn tot_mem(admin: &mut Raw, name: &str) -> u64 {
    clients(admin)
        .into_iter()
        .find(|(n, _)| n == name)
        .map_or(0, |(_, l)| field(&l, "tot-mem").parse().unwrap_or(0))
}

/// A connection with a small receive buffer (so unread replies pile up in the server),
/// named `name`.
fn named(port: u16, name: &str) -> TcpStream {
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
    s.set_read_timeout(Some(Duration::from_secs(10))).ok();
    let mut s2 = s.try_clone().expect("clone");
    s2.write_all(&encode(&[b"CLIENT", b"SETNAME", name.as_bytes()])).expect("setname");
    let mut buf = [0u8; 5];
    s2.read_exact(&mut buf).expect("setname reply");
    assert_eq!(&buf, b"+OK\r\n");
    s
}

/// A named client that starts a SET whose value is `announced` bytes long, sends `sent` of
/// them, and stalls: its query buffer holds the partial argument.
fn partial_set(port: u16, name: &str, announced: usize, sent: usize, no_evict: bool) -> TcpStream {
    let mut s = named(port, name);
    if no_evict {
        s.write_all(&encode(&[b"CLIENT", b"NO-EVICT", b"on"])).expect("no-evict");
        let mut buf = [0u8; 5];
        s.read_exact(&mut buf).expect("no-evict reply");
        assert_eq!(&buf, b"+OK\r\n");
    }
    // A client evicted while it sends sees a broken pipe: whether it stays is checked after.
    let _ = s.write_all(format!("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n${announced}\r\n").as_bytes());
    let _ = s.write_all(&vec![b'v'; sent]);
    s
}

/// Wait until the client called `name` holds at least `bytes`.
fn wait_holding(admin: &mut Raw, name: &str, bytes: u64) {
    assert!(
        eventually(10, || tot_mem(admin, name) >= bytes),
        "{name} never held {bytes} bytes (tot-mem {})",
        tot_mem(admin, name)
    );
}

fn names_of(list: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = list.iter().map(|s| s.to_string()).collect();
    v.sort();
    v
}

const MB: usize = 1 << 20;

#[test]
fn lowering_the_limit_evicts_the_biggest_clients_first() {
    for srv in [Server::start(&[]), Server::redis(&[])] {
        let mut admin = srv.raw();
        admin.cmd(&["CLIENT", "SETNAME", "admin"]);
        let _small = named(srv.port, "small");
        let _big8 = partial_set(srv.port, "big8", 8 * MB, 7 * MB, false);
        let _big4 = partial_set(srv.port, "big4", 4 * MB, 3 * MB + MB / 2, false);
        let _big2 = partial_set(srv.port, "big2", 2 * MB, MB + MB / 2, false);
        let _keep3 = partial_set(srv.port, "keep3", 3 * MB, 2 * MB + MB / 2, true);
        for (name, bytes) in [("big8", 8 * MB), ("big4", 4 * MB), ("big2", 2 * MB), ("keep3", 3 * MB)] {
            wait_holding(&mut admin, name, bytes as u64);
        }
        assert_eq!(info_num(&mut admin, "stats", "evicted_clients"), 0);
        let all = names_of(&["admin", "small", "big8", "big4", "big2", "keep3"]);
        assert_eq!(names(&mut admin), all);

        // 17 MB held (Redis's query buffers may hold up to 22 MB: it grows them ahead of what
        // arrives, more so on a busy machine), 13 MB allowed: only the biggest has to go.
        assert_eq!(text(&admin.cmd(&["CONFIG", "SET", "maxmemory-clients", "13mb"])), "+OK\r\n");
        let want = names_of(&["admin", "small", "big4", "big2", "keep3"]);
        assert!(eventually(5, || names(&mut admin) == want), "left: {:?}", names(&mut admin));
        assert_eq!(info_num(&mut admin, "stats", "evicted_clients"), 1);

        // 4 MB allowed: the NO-EVICT client (3 MB) stays, so both others go, biggest first.
        assert_eq!(text(&admin.cmd(&["CONFIG", "SET", "maxmemory-clients", "4mb"])), "+OK\r\n");
        let want = names_of(&["admin", "small", "keep3"]);
        assert!(eventually(5, || names(&mut admin) == want), "left: {:?}", names(&mut admin));
        assert_eq!(info_num(&mut admin, "stats", "evicted_clients"), 3);
        assert_eq!(text(&admin.cmd(&["PING"])), "+PONG\r\n");
    }
}

#[test]
fn a_client_growing_past_the_limit_is_evicted_at_once() {
    for srv in
        [Server::start(&["--maxmemory-clients", "4mb"]), Server::redis(&["--maxmemory-clients", "4mb"])]
    {
        let mut admin = srv.raw();
        admin.cmd(&["CLIENT", "SETNAME", "admin"]);
        let _small = partial_set(srv.port, "small", 64 * 1024, 32 * 1024, false);
        let mut huge = partial_set(srv.port, "huge", 50_000_000, 2 * MB, false);
        assert!(eventually(5, || names(&mut admin) == names_of(&["admin", "small"])));
        assert_eq!(info_num(&mut admin, "stats", "evicted_clients"), 1);
        // Its connection is closed (without a reply).
        huge.set_read_timeout(Some(Duration::from_secs(5))).ok();
        let mut buf = [0u8; 64];
        assert!(matches!(huge.read(&mut buf), Ok(0) | Err(_)));
        // Disabled: the same client is kept.
        admin.cmd(&["CONFIG", "SET", "maxmemory-clients", "0"]);
        let _huge = partial_set(srv.port, "huge", 50_000_000, 2 * MB, false);
        wait_holding(&mut admin, "huge", 2 * MB as u64);
        assert_eq!(info_num(&mut admin, "stats", "evicted_clients"), 1);
        assert_eq!(names(&mut admin), names_of(&["admin", "huge", "small"]));
    }
}

#[test]
fn percent_limit_follows_maxmemory() {
    let args = ["--maxmemory", "100mb", "--maxmemory-clients", "10%", "--maxmemory-policy", "allkeys-lru"];
    for srv in [Server::start(&args), Server::redis(&args)] {
        let mut admin = srv.raw();
        admin.cmd(&["CLIENT", "SETNAME", "admin"]);
        assert_eq!(
            text(&admin.cmd(&["CONFIG", "GET", "maxmemory-clients"])),
            "*2\r\n$17\r\nmaxmemory-clients\r\n$3\r\n10%\r\n"
        );
        let _mid = partial_set(srv.port, "mid", 3 * MB, 2 * MB + MB / 2, false);
        wait_holding(&mut admin, "mid", 3 * MB as u64);
        let _big = partial_set(srv.port, "big", 16 * MB, MB, false);
        assert!(eventually(5, || names(&mut admin) == names_of(&["admin", "mid"])));
        assert_eq!(info_num(&mut admin, "stats", "evicted_clients"), 1);
        // 10% of 20 MB is 2 MB: the 3 MB client goes.
        admin.cmd(&["CONFIG", "SET", "maxmemory", "20mb"]);
        assert!(eventually(5, || names(&mut admin) == names_of(&["admin"])), "left: {:?}", names(&mut admin));
        assert_eq!(info_num(&mut admin, "stats", "evicted_clients"), 2);
        // Without maxmemory a percentage means no limit.
        admin.cmd(&["CONFIG", "SET", "maxmemory", "0"]);
        let _mid = partial_set(srv.port, "mid", 3 * MB, 2 * MB + MB / 2, false);
        wait_holding(&mut admin, "mid", 3 * MB as u64);
        assert_eq!(names(&mut admin), names_of(&["admin", "mid"]));
    }
}

/// A client that subscribes and never reads: what is published to it piles up in the server.
fn deaf_subscriber(port: u16, name: &str, channel: &str) -> TcpStream {
    let mut s = named(port, name);
    s.write_all(&encode(&[b"SUBSCRIBE", channel.as_bytes()])).expect("subscribe");
    let want = format!("*3\r\n$9\r\nsubscribe\r\n${}\r\n{channel}\r\n:1\r\n", channel.len());
    let mut buf = vec![0u8; want.len()];
    s.read_exact(&mut buf).expect("subscribe reply");
    s
}

#[test]
fn unread_output_counts_and_the_biggest_reader_goes() {
    for srv in
        [Server::start(&["--maxmemory-clients", "4mb"]), Server::redis(&["--maxmemory-clients", "4mb"])]
    {
        let mut admin = srv.raw();
        admin.cmd(&["CLIENT", "SETNAME", "admin"]);
        let _deaf = deaf_subscriber(srv.port, "deaf", "news");
        let mut keeper = named(srv.port, "keeper");
        keeper.write_all(&encode(&[b"CLIENT", b"NO-EVICT", b"on"])).expect("no-evict");
        let mut buf = [0u8; 5];
        keeper.read_exact(&mut buf).expect("no-evict reply");
        let mut publisher = srv.raw();
        publisher.cmd(&["CLIENT", "SETNAME", "publisher"]);
        let payload = "p".repeat(64 * 1024);
        // Up to 64 MB offered; the pub/sub class's hard limit (32 MB) is never reached first.
        for _ in 0..1024 {
            publisher.cmd(&["PUBLISH", "news", &payload]);
            if info_num(&mut admin, "stats", "evicted_clients") > 0 {
                break;
            }
        }
        assert!(eventually(5, || names(&mut admin) == names_of(&["admin", "keeper", "publisher"])));
        assert_eq!(info_num(&mut admin, "stats", "evicted_clients"), 1);
        assert_eq!(text(&publisher.cmd(&["PUBLISH", "news", "x"])), ":0\r\n");
    }
}

#[test]
fn a_client_whose_own_replies_overflow_the_limit_is_evicted() {
    for srv in [Server::start(&[]), Server::redis(&[])] {
        let mut admin = srv.raw();
        admin.cmd(&["CLIENT", "SETNAME", "admin"]);
        // Set by a connection that goes away: Redis keeps a big query buffer allocated for
        // seconds, and the SET's own 3 MB argument would get a client evicted.
        let mut setter = srv.raw();
        setter.cmd(&["SET", "big", &"b".repeat(3 * MB)]);
        drop(setter);
        assert!(eventually(5, || clients(&mut admin).len() == 1));
        admin.cmd(&["CONFIG", "SET", "maxmemory-clients", "2mb"]);
        let mut greedy = named(srv.port, "greedy");
        let mut pipeline = Vec::new();
        for _ in 0..32 {
            pipeline.extend_from_slice(&encode(&[b"GET", b"big"]));
        }
        greedy.write_all(&pipeline).expect("pipeline");
        assert!(eventually(5, || names(&mut admin) == names_of(&["admin"])), "left: {:?}", names(&mut admin));
        assert_eq!(info_num(&mut admin, "stats", "evicted_clients"), 1);
    }
}

#[test]
fn client_no_evict_replies_like_redis() {
    let (_b, _r, mut b, mut r) = pair(&[]);
    assert_same(
        &mut b,
        &mut r,
        &[
            &["CLIENT", "NO-EVICT", "on"],
            &["CLIENT", "NO-EVICT", "OFF"],
            &["CLIENT", "NO-EVICT", "On"],
            &["CLIENT", "NO-EVICT", "maybe"],
            &["CLIENT", "NO-EVICT"],
            &["CLIENT", "NO-EVICT", "on", "extra"],
            &["CONFIG", "SET", "maxmemory-clients", "1mb"],
            &["CONFIG", "GET", "maxmemory-clients"],
            &["CONFIG", "SET", "maxmemory-clients", "5%"],
            &["CONFIG", "GET", "maxmemory-clients"],
            &["CONFIG", "SET", "maxmemory-clients", "101%"],
            &["CONFIG", "SET", "maxmemory-clients", "-1"],
            &["CONFIG", "SET", "maxmemory-clients", "0"],
            &["CONFIG", "GET", "maxmemory-clients"],
        ],
    );
    // The flag shows in CLIENT LIST (`e`).
    b.cmd(&["CLIENT", "NO-EVICT", "on"]);
    assert!(field(&text(&b.cmd(&["CLIENT", "INFO"])), "flags").contains('e'));
}

#[test]
fn client_memory_fields_add_up() {
    let s = Server::start(&[]);
    let mut admin = s.raw();
    admin.cmd(&["CLIENT", "SETNAME", "admin"]);
    let _q = partial_set(s.port, "query", 4 * MB, 2 * MB, false);
    let qbuf = |admin: &mut Raw| {
        let line = clients(admin).into_iter().find(|(n, _)| n == "query").map(|(_, l)| l).unwrap_or_default();
        field(&line, "qbuf").parse::<u64>().unwrap_or(0)
    };
    assert!(eventually(10, || qbuf(&mut admin) >= 2 * MB as u64));
    let line = clients(&mut admin).into_iter().find(|(n, _)| n == "query").map(|(_, l)| l).expect("listed");
    let qbuf: u64 = field(&line, "qbuf").parse().expect("qbuf");
    let qbuf_free: u64 = field(&line, "qbuf-free").parse().expect("qbuf-free");
    let tot: u64 = field(&line, "tot-mem").parse().expect("tot-mem");
    assert!(qbuf >= 2 * MB as u64, "qbuf {qbuf}");
    assert!(tot >= qbuf + qbuf_free, "tot-mem {tot} < qbuf {qbuf} + qbuf-free {qbuf_free}");
    // INFO's mem_clients_normal covers it.
    assert!(info_num(&mut admin, "memory", "mem_clients_normal") >= tot);
    // A MULTI queue counts in tot-mem.
    let mut m = s.raw();
    m.cmd(&["CLIENT", "SETNAME", "multi"]);
    m.cmd(&["MULTI"]);
    let before = tot_mem(&mut admin, "multi");
    let value = "m".repeat(64 * 1024);
    for i in 0..16 {
        assert_eq!(text(&m.cmd(&["SET", &format!("k{i}"), &value])), "+QUEUED\r\n");
    }
    assert!(eventually(5, || tot_mem(&mut admin, "multi") >= before + 16 * 64 * 1024));
    assert_eq!(text(&m.cmd(&["DISCARD"])), "+OK\r\n");
    assert!(eventually(5, || tot_mem(&mut admin, "multi") < before + 64 * 1024));
    // So do subscriptions.
    let before = tot_mem(&mut admin, "multi");
    let channels: Vec<String> = (0..100).map(|i| format!("channel:{i}")).collect();
    let mut args = vec!["SUBSCRIBE"];
    args.extend(channels.iter().map(String::as_str));
    let one: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
    m.send(&encode(&one));
    for _ in 0..100 {
        m.read_reply();
    }
    assert!(eventually(5, || tot_mem(&mut admin, "multi") >= before + 100 * 32));
}

/// A raw connection that pipelines `cmd` `n` times and never reads.
fn flood(port: u16, name: &str, cmd: &[&[u8]], n: usize) -> TcpStream {
    let mut s = named(port, name);
    let one = encode(cmd);
    let mut all = Vec::with_capacity(one.len() * n);
    for _ in 0..n {
        all.extend_from_slice(&one);
    }
    s.set_write_timeout(Some(Duration::from_secs(5))).ok();
    // The server stops reading once enough replies wait: what it does not take stays here.
    let _ = s.write_all(&all);
    s
}

/// Whether the client called `name` is gone or has stopped making progress (same `qbuf`,
/// `obl` and `tot-mem` over 200 ms).
fn settled(admin: &mut Raw, name: &str) -> bool {
    let snap = |admin: &mut Raw| {
        clients(admin)
            .into_iter()
            .find(|(n, _)| n == name)
            .map(|(_, l)| (field(&l, "qbuf"), field(&l, "obl"), field(&l, "tot-mem"), field(&l, "cmd")))
    };
    let a = snap(admin);
    std::thread::sleep(Duration::from_millis(200));
    a == snap(admin)
}

#[test]
fn unread_big_replies_never_evict_the_dataset() {
    let s = Server::start(&["--maxmemory-policy", "allkeys-lru"]);
    let mut admin = s.raw();
    admin.cmd(&["CLIENT", "SETNAME", "admin"]);
    let value = "h".repeat(100);
    for chunk in 0..20 {
        let mut hset: Vec<String> = vec!["HSET".into(), "bighash".into()];
        let mut mset: Vec<String> = vec!["MSET".into()];
        for i in chunk * 1000..(chunk + 1) * 1000 {
            if chunk < 2 {
                hset.extend([format!("field:{i}"), value.clone()]);
            }
            mset.extend([format!("key:{i}"), value.clone()]);
        }
        for args in [hset, mset].iter().filter(|a| a.len() > 2) {
            let refs: Vec<&str> = args.iter().map(String::as_str).collect();
            admin.cmd(&refs);
        }
    }
    let dbsize = text(&admin.cmd(&["DBSIZE"]));
    assert_eq!(dbsize, ":20001\r\n");
    let used = info_num(&mut admin, "memory", "used_memory");
    let rss_before = info_num(&mut admin, "memory", "used_memory_rss");
    // Just above the dataset (a reply being built on another worker counts until it is done).
    let margin = 2 * MB as u64;
    admin.cmd(&["CONFIG", "SET", "maxmemory", &(used + margin).to_string()]);
    let mut flooders = Vec::new();
    for (name, cmd) in [
        ("hgetall1", "HGETALL bighash"),
        ("hgetall2", "HGETALL bighash"),
        ("keys1", "KEYS *"),
        ("keys2", "KEYS *"),
    ] {
        let args: Vec<&[u8]> = cmd.split(' ').map(str::as_bytes).collect();
        flooders.push(flood(s.port, name, &args, 200));
    }
    let names = ["hgetall1", "hgetall2", "keys1", "keys2"];
    assert!(eventually(20, || names.iter().all(|n| settled(&mut admin, n))));
    // Writes check the limit: nothing has to go.
    for i in 0..10 {
        assert_eq!(text(&admin.cmd(&["SET", &format!("key:{i}"), &value])), "+OK\r\n");
    }
    assert_eq!(info_num(&mut admin, "stats", "evicted_keys"), 0);
    assert_eq!(text(&admin.cmd(&["DBSIZE"])), dbsize);
    let held = info_num(&mut admin, "memory", "mem_not_counted_for_evict");
    assert!(held > margin, "the unread replies ({held} bytes) would have to evict keys if counted");
    // Every flooder is still connected (held back, not closed) and the memory is bounded.
    let left = names_of(&["admin", "hgetall1", "hgetall2", "keys1", "keys2"]);
    assert_eq!(self::names(&mut admin), left);
    let rss = info_num(&mut admin, "memory", "used_memory_rss");
    assert!(rss < rss_before + 64 * MB as u64, "RSS grew from {rss_before} to {rss}");
}
