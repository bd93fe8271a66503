//! Client-side caching (CLIENT TRACKING) and `keymiss` notifications: most scenarios run on
//! Brim and on the real Redis 7.0 side by side and compare every reply and invalidation
//! message byte for byte (client ids, which differ, are left out of the transcripts). The
//! connections of a scenario are opened one after another, so with several worker threads
//! they land on different workers. Expiry by the active cycle and eviction are checked on
//! Brim alone, polling with a deadline.

mod common;

use std::time::{Duration, Instant};

use common::{pair, same, wait_for_clients, Raw, Server};

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// A connection and the transcript of what it received.
struct Conn<'a> {
    raw: Raw,
    log: &'a mut Vec<String>,
    name: &'static str,
}

impl<'a> Conn<'a> {
    fn new(server: &Server, name: &'static str, log: &'a mut Vec<String>) -> Self {
        Conn { raw: server.raw(), log, name }
    }

    /// Run a command; record its reply.
    fn cmd(&mut self, args: &[&str]) {
        let r = self.raw.cmd(args);
        self.log.push(format!("{} {:?} -> {}", self.name, args, text(&r)));
    }

    /// Run a command without recording its reply (it holds a client id).
    fn quiet(&mut self, args: &[&str]) -> String {
        text(&self.raw.cmd(args))
    }

    /// Record everything that arrived before the reply to a PING (the invalidations a
    /// client was sent before this point come first).
    fn drain(&mut self) {
        let mut got = Vec::new();
        let ping = ["PING"].iter().map(|s| s.as_bytes()).collect::<Vec<_>>();
        self.raw.send(&common::encode(&ping));
        for _ in 0..100 {
            let r = self.raw.read_reply();
            if r == b"+PONG\r\n" {
                break;
            }
            got.push(text(&r));
        }
        self.log.push(format!("{} received {got:?}", self.name));
    }

    /// Record the next message (a subscriber's).
    fn next(&mut self) {
        let r = self.raw.read_reply();
        self.log.push(format!("{} message {}", self.name, text(&r)));
    }
}

/// Run `scenario` on Brim and on Redis (both started with `extra`) and compare transcripts.
fn differential(extra: &[&str], scenario: impl Fn(&Server, &mut Vec<String>)) {
    let brim = Server::start(extra);
    let redis = Server::redis(extra);
    let mut want = Vec::new();
    scenario(&redis, &mut want);
    let mut got = Vec::new();
    scenario(&brim, &mut got);
    for (i, (g, w)) in got.iter().zip(&want).enumerate() {
        assert_eq!(g, w, "step {i}");
    }
    assert_eq!(got.len(), want.len());
}

fn client_id(c: &mut Conn) -> String {
    c.quiet(&["CLIENT", "ID"]).trim_start_matches(':').trim().to_string()
}

fn info_field(raw: &mut Raw, name: &str) -> String {
    let t = text(&raw.cmd(&["INFO", "everything"]));
    t.lines()
        .find_map(|l| l.strip_prefix(&format!("{name}:")))
        .map(|v| v.trim().to_string())
        .unwrap_or_else(|| panic!("no {name} in INFO"))
}

/// The pushes that arrive before the reply to a PING.
fn pushes_before_pong(raw: &mut Raw) -> Vec<String> {
    raw.send(b"*1\r\n$4\r\nPING\r\n");
    let mut got = Vec::new();
    for _ in 0..1000 {
        let r = raw.read_reply();
        if r == b"+PONG\r\n" {
            break;
        }
        got.push(text(&r));
    }
    got
}

/// Send PING until a push arrives before its PONG, for at most 5 s; the first push.
fn wait_push(raw: &mut Raw) -> String {
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        if let Some(p) = pushes_before_pong(raw).into_iter().next() {
            return p;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("no push within 5 s");
}

fn invalidate(key: &str) -> String {
    format!(">2\r\n$10\r\ninvalidate\r\n*1\r\n${}\r\n{key}\r\n", key.len())
}

#[test]
fn default_mode_invalidates_keys_read_when_another_client_writes() {
    differential(&[], |s, log| {
        let mut l = Vec::new();
        let mut a = Conn::new(s, "a", &mut l);
        let mut l2 = Vec::new();
        let mut b = Conn::new(s, "b", &mut l2);
        a.quiet(&["HELLO", "3"]);
        a.cmd(&["CLIENT", "TRACKING", "ON"]);
        a.cmd(&["GET", "k"]);
        a.cmd(&["MGET", "k2", "k3"]);
        b.cmd(&["SET", "k", "1"]);
        b.cmd(&["MSET", "k2", "1", "k3", "2", "untracked", "3"]);
        a.drain();
        // Invalidated keys are forgotten: a second write tells nobody.
        b.cmd(&["SET", "k", "2"]);
        a.drain();
        // The client's own write: the message follows the reply.
        a.cmd(&["GET", "k"]);
        a.cmd(&["SET", "k", "3"]);
        a.drain();
        // Inside a transaction each write invalidates at once; the messages follow EXEC.
        a.cmd(&["GET", "k"]);
        a.cmd(&["MULTI"]);
        a.cmd(&["SET", "k", "4"]);
        a.cmd(&["GET", "k"]);
        a.cmd(&["SET", "k", "5"]);
        a.cmd(&["EXEC"]);
        a.drain();
        // A read that fails (wrong type) still tracks the key; the database does not matter.
        b.cmd(&["LPUSH", "list", "x"]);
        a.cmd(&["GET", "list"]);
        a.cmd(&["GET", "other"]);
        b.cmd(&["LPUSH", "list", "y"]);
        b.cmd(&["SELECT", "1"]);
        b.cmd(&["SET", "other", "1"]);
        a.drain();
        a.cmd(&["CLIENT", "TRACKING", "OFF"]);
        a.cmd(&["GET", "k"]);
        b.cmd(&["SELECT", "0"]);
        b.cmd(&["SET", "k", "6"]);
        a.drain();
        log.append(&mut l);
        log.append(&mut l2);
    });
}

#[test]
fn own_invalidation_follows_the_reply() {
    let s = Server::start(&[]);
    let mut a = s.raw();
    a.cmd(&["HELLO", "3"]);
    a.cmd(&["CLIENT", "TRACKING", "ON"]);
    a.cmd(&["GET", "k"]);
    assert_eq!(a.cmd(&["SET", "k", "v"]), b"+OK\r\n");
    assert_eq!(text(&a.read_reply()), invalidate("k"));
    assert_eq!(a.cmd(&["PING"]), b"+PONG\r\n");
}

#[test]
fn noloop_leaves_out_own_changes() {
    differential(&[], |s, log| {
        let mut l = Vec::new();
        let mut a = Conn::new(s, "a", &mut l);
        let mut l2 = Vec::new();
        let mut b = Conn::new(s, "b", &mut l2);
        a.quiet(&["HELLO", "3"]);
        a.cmd(&["CLIENT", "TRACKING", "ON", "NOLOOP"]);
        a.cmd(&["GET", "n"]);
        a.cmd(&["SET", "n", "x"]);
        a.drain();
        a.cmd(&["GET", "n"]);
        b.cmd(&["SET", "n", "y"]);
        a.drain();
        a.cmd(&["CLIENT", "TRACKINGINFO"]);
        log.append(&mut l);
        log.append(&mut l2);
    });
}

#[test]
fn optin_and_optout_follow_client_caching() {
    differential(&[], |s, log| {
        let mut l = Vec::new();
        let mut a = Conn::new(s, "a", &mut l);
        let mut l2 = Vec::new();
        let mut b = Conn::new(s, "b", &mut l2);
        a.quiet(&["HELLO", "3"]);
        a.cmd(&["CLIENT", "TRACKING", "ON", "OPTIN"]);
        a.cmd(&["GET", "o1"]);
        a.cmd(&["CLIENT", "CACHING", "YES"]);
        a.cmd(&["CLIENT", "TRACKINGINFO"]);
        a.cmd(&["GET", "o2"]);
        a.cmd(&["GET", "o3"]);
        b.cmd(&["MSET", "o1", "1", "o2", "2", "o3", "3"]);
        a.drain();
        // CACHING YES before MULTI covers the whole transaction.
        a.cmd(&["CLIENT", "CACHING", "YES"]);
        a.cmd(&["MULTI"]);
        a.cmd(&["GET", "o4"]);
        a.cmd(&["GET", "o5"]);
        a.cmd(&["EXEC"]);
        b.cmd(&["MSET", "o4", "1", "o5", "2"]);
        a.drain();
        a.cmd(&["CLIENT", "CACHING", "NO"]);
        a.cmd(&["CLIENT", "TRACKING", "OFF"]);
        a.cmd(&["CLIENT", "CACHING", "YES"]);
        a.cmd(&["CLIENT", "TRACKING", "ON", "OPTOUT"]);
        a.cmd(&["GET", "o1"]);
        a.cmd(&["CLIENT", "CACHING", "NO"]);
        a.cmd(&["CLIENT", "TRACKINGINFO"]);
        a.cmd(&["GET", "o2"]);
        a.cmd(&["GET", "o3"]);
        b.cmd(&["MSET", "o1", "1", "o2", "2", "o3", "3"]);
        a.drain();
        a.cmd(&["CLIENT", "CACHING", "YES"]);
        a.cmd(&["CLIENT", "CACHING", "MAYBE"]);
        a.cmd(&["CLIENT", "TRACKING", "ON", "OPTIN"]);
        log.append(&mut l);
        log.append(&mut l2);
    });
}

#[test]
fn bcast_sends_keys_under_prefixes() {
    differential(&[], |s, log| {
        let mut l = Vec::new();
        let mut a = Conn::new(s, "a", &mut l);
        let mut l2 = Vec::new();
        let mut b = Conn::new(s, "b", &mut l2);
        a.quiet(&["HELLO", "3"]);
        a.cmd(&["CLIENT", "TRACKING", "ON", "BCAST"]);
        a.cmd(&["CLIENT", "TRACKINGINFO"]);
        b.cmd(&["MSET", "y", "1", "x", "2"]);
        b.cmd(&["SET", "x", "3"]);
        a.drain();
        a.cmd(&["CLIENT", "TRACKING", "OFF"]);
        a.cmd(&["CLIENT", "TRACKING", "ON", "BCAST", "PREFIX", "p:", "PREFIX", "q:", "NOLOOP"]);
        a.cmd(&["CLIENT", "TRACKING", "ON", "BCAST", "PREFIX", "p"]);
        a.cmd(&["CLIENT", "TRACKING", "ON", "BCAST", "PREFIX", "r:"]);
        a.cmd(&["CLIENT", "TRACKINGINFO"]);
        b.cmd(&["MSET", "p:2", "1", "q:1", "2", "p:1", "3", "z", "4", "r:1", "5"]);
        a.drain();
        // NOLOOP: the client's own changes are left out.
        a.cmd(&["SET", "p:1", "x"]);
        a.drain();
        b.cmd(&["DEL", "p:1"]);
        a.drain();
        b.cmd(&["FLUSHALL"]);
        a.drain();
        log.append(&mut l);
        log.append(&mut l2);
    });
}

#[test]
fn resp2_redirect_to_invalidate_channel_subscriber() {
    differential(&[], |s, log| {
        let mut l = Vec::new();
        let mut sub = Conn::new(s, "sub", &mut l);
        let mut l2 = Vec::new();
        let mut t = Conn::new(s, "t", &mut l2);
        let mut l3 = Vec::new();
        let mut w = Conn::new(s, "w", &mut l3);
        let sid = client_id(&mut sub);
        sub.cmd(&["SUBSCRIBE", "__redis__:invalidate"]);
        let ok = t.quiet(&["CLIENT", "TRACKING", "ON", "REDIRECT", &sid]);
        t.log.push(ok);
        let info = t.quiet(&["CLIENT", "TRACKINGINFO"]);
        t.log.push(format!("trackinginfo redirects: {}", info.contains(&format!(":{sid}\r\n"))));
        let redir = t.quiet(&["CLIENT", "GETREDIR"]);
        t.log.push(format!("getredir is sub: {}", redir == format!(":{sid}\r\n")));
        t.cmd(&["GET", "rk"]);
        w.cmd(&["SET", "rk", "1"]);
        sub.next();
        t.cmd(&["GET", "rk"]);
        w.cmd(&["FLUSHDB"]);
        sub.next();
        // The redirect client goes away: a RESP3 client is told, its flags say so.
        let mut l4 = Vec::new();
        let mut r3 = Conn::new(s, "r3", &mut l4);
        r3.quiet(&["HELLO", "3"]);
        r3.quiet(&["CLIENT", "TRACKING", "ON", "REDIRECT", &sid]);
        r3.cmd(&["GET", "rk"]);
        drop(sub);
        let deadline = Instant::now() + Duration::from_secs(5);
        while w.quiet(&["CLIENT", "LIST"]).matches("id=").count() > 3 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        w.cmd(&["SET", "rk", "2"]);
        let broken = text(&r3.raw.read_reply());
        r3.log.push(format!(
            "broken: {}",
            broken == format!(">2\r\n$21\r\ntracking-redir-broken\r\n:{sid}\r\n")
        ));
        let info = r3.quiet(&["CLIENT", "TRACKINGINFO"]);
        r3.log.push(format!("flags: {}", info.contains("broken_redirect")));
        let line = r3.quiet(&["CLIENT", "INFO"]);
        r3.log.push(format!("flags=tR: {}", line.contains("flags=tR ")));
        log.append(&mut l2);
        log.append(&mut l3);
        log.append(&mut l4);
        log.append(&mut l);
    });
}

#[test]
fn flush_sends_null_invalidation_to_every_tracking_client() {
    differential(&[], |s, log| {
        let mut l = Vec::new();
        let mut a = Conn::new(s, "a", &mut l);
        let mut l2 = Vec::new();
        let mut b = Conn::new(s, "b", &mut l2);
        a.quiet(&["HELLO", "3"]);
        a.cmd(&["CLIENT", "TRACKING", "ON"]);
        a.cmd(&["FLUSHALL"]);
        a.drain();
        a.cmd(&["GET", "k"]);
        b.cmd(&["SELECT", "3"]);
        b.cmd(&["FLUSHDB"]);
        a.drain();
        // The table was emptied: the key read before the flush is no longer tracked.
        b.cmd(&["SELECT", "0"]);
        b.cmd(&["SET", "k", "1"]);
        a.drain();
        b.cmd(&["FLUSHALL", "ASYNC"]);
        a.drain();
        log.append(&mut l);
        log.append(&mut l2);
    });
}

#[test]
fn tracking_table_max_keys_bounds_the_table() {
    differential(&["--tracking-table-max-keys", "5"], |s, log| {
        let mut l = Vec::new();
        let mut a = Conn::new(s, "a", &mut l);
        a.quiet(&["HELLO", "3"]);
        a.cmd(&["CLIENT", "TRACKING", "ON"]);
        let keys: Vec<String> = (0..20).map(|i| format!("mk{i}")).collect();
        let mut mget = vec!["MGET"];
        mget.extend(keys.iter().map(String::as_str));
        let reply = a.quiet(&mget);
        let pushes = pushes_before_pong(&mut a.raw);
        assert!(pushes
            .iter()
            .all(|p| p.starts_with(">2\r\n$10\r\ninvalidate\r\n*1\r\n$") && p.contains("\r\nmk")));
        a.log.push(format!("mget {} pushes {}", reply.len(), pushes.len()));
        let keys_now = info_field(&mut a.raw, "tracking_total_keys");
        a.log.push(format!("tracking_total_keys {keys_now}"));
        log.append(&mut l);
    });
}

#[test]
fn trackinginfo_getredir_and_errors_match_redis() {
    let (_b, _r, mut b, mut r) = pair(&[]);
    same(
        &mut b,
        &mut r,
        "CLIENT TRACKINGINFO
         CLIENT GETREDIR
         CLIENT CACHING YES
         CLIENT TRACKING
         CLIENT TRACKING MAYBE
         CLIENT TRACKING ON BOGUS
         CLIENT TRACKING ON REDIRECT
         CLIENT TRACKING ON REDIRECT abc
         CLIENT TRACKING ON REDIRECT 999999
         CLIENT TRACKING ON REDIRECT -1
         CLIENT TRACKING ON PREFIX a
         CLIENT TRACKING ON BCAST OPTIN
         CLIENT TRACKING ON OPTIN OPTOUT
         CLIENT TRACKING ON BCAST PREFIX foo PREFIX foobar
         CLIENT TRACKING ON BCAST PREFIX foobar PREFIX foo
         CLIENT TRACKING ON BCAST PREFIX xy PREFIX xy
         CLIENT TRACKING ON
         CLIENT TRACKINGINFO
         CLIENT GETREDIR
         CLIENT CACHING YES
         CLIENT CACHING NO
         CLIENT TRACKING ON BCAST
         CLIENT TRACKING ON OPTIN
         CLIENT TRACKING ON NOLOOP
         CLIENT TRACKINGINFO
         CLIENT TRACKING OFF
         CLIENT TRACKING ON BCAST PREFIX foo
         CLIENT TRACKING ON BCAST PREFIX fo
         CLIENT TRACKING ON BCAST PREFIX bar
         CLIENT TRACKING ON
         CLIENT TRACKING ON OPTIN
         CLIENT TRACKINGINFO
         CLIENT TRACKING OFF
         CLIENT TRACKING OFF
         CLIENT TRACKINGINFO
         CLIENT GETREDIR",
    );
    for raw in [&mut b, &mut r] {
        raw.cmd(&["HELLO", "3"]);
    }
    same(
        &mut b,
        &mut r,
        "CLIENT TRACKING ON OPTOUT NOLOOP
         CLIENT CACHING NO
         CLIENT TRACKINGINFO
         CLIENT CACHING YES
         RESET
         CLIENT TRACKINGINFO",
    );
}

#[test]
fn info_and_client_list_report_tracking() {
    let (_bs, _rs, mut b, mut r) = pair(&[]);
    let (mut b2, mut r2) = (_bs.raw(), _rs.raw());
    for (main, other) in [(&mut b, &mut b2), (&mut r, &mut r2)] {
        other.cmd(&["CLIENT", "TRACKING", "ON", "BCAST", "PREFIX", "a", "PREFIX", "b"]);
        main.cmd(&["CLIENT", "TRACKING", "ON"]);
        main.cmd(&["MGET", "k1", "k2"]);
    }
    for name in ["tracking_clients", "tracking_total_keys", "tracking_total_items", "tracking_total_prefixes"]
    {
        assert_eq!(info_field(&mut b, name), info_field(&mut r, name), "{name}");
    }
    assert_eq!(info_field(&mut b, "tracking_clients"), "2");
    let flags = |raw: &mut Raw| {
        let t = text(&raw.cmd(&["CLIENT", "INFO"]));
        let f = t.split(' ').find(|f| f.starts_with("flags=")).unwrap_or_default().to_string();
        let redir = t.split(' ').find(|f| f.starts_with("redir=")).unwrap_or_default().to_string();
        (f, redir)
    };
    assert_eq!(flags(&mut b2), flags(&mut r2));
    assert_eq!(flags(&mut b2), ("flags=tB".to_string(), "redir=0".to_string()));
    assert_eq!(flags(&mut b), flags(&mut r));
    // A client that goes stops tracking; the keys it read stay until invalidated.
    drop(b2);
    drop(r2);
    for raw in [&mut b, &mut r] {
        let deadline = Instant::now() + Duration::from_secs(5);
        while info_field(raw, "tracking_clients") != "1" && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
    }
    for name in ["tracking_clients", "tracking_total_keys", "tracking_total_items", "tracking_total_prefixes"]
    {
        assert_eq!(info_field(&mut b, name), info_field(&mut r, name), "{name}");
    }
    assert_eq!(info_field(&mut b, "tracking_total_prefixes"), "0");
}

#[test]
fn lazy_and_active_expiry_invalidate() {
    let s = Server::start(&["--enable-debug-command", "yes"]);
    let (mut a, mut w) = (s.raw(), s.raw());
    a.cmd(&["HELLO", "3"]);
    a.cmd(&["CLIENT", "TRACKING", "ON"]);
    // Lazy: the active cycle is off; the reader's own lookup expires the key.
    assert_eq!(w.cmd(&["DEBUG", "SET-ACTIVE-EXPIRE", "0"]), b"+OK\r\n");
    w.cmd(&["SET", "lazy", "1", "PX", "30"]);
    assert_eq!(text(&a.cmd(&["GET", "lazy"])), "$1\r\n1\r\n");
    std::thread::sleep(Duration::from_millis(60));
    assert_eq!(a.cmd(&["PING"]), b"+PONG\r\n", "nothing before the key is looked up");
    assert_eq!(a.cmd(&["GET", "lazy"]), b"_\r\n");
    assert_eq!(text(&a.read_reply()), invalidate("lazy"));
    // Another client's lookup expires it: the reader hears of it.
    w.cmd(&["SET", "lazy2", "1", "PX", "30"]);
    a.cmd(&["GET", "lazy2"]);
    std::thread::sleep(Duration::from_millis(60));
    assert_eq!(w.cmd(&["EXISTS", "lazy2"]), b":0\r\n");
    assert_eq!(wait_push(&mut a), invalidate("lazy2"));
    // Active: nobody touches the key.
    assert_eq!(w.cmd(&["DEBUG", "SET-ACTIVE-EXPIRE", "1"]), b"+OK\r\n");
    w.cmd(&["SET", "active", "1", "PX", "30"]);
    a.cmd(&["GET", "active"]);
    assert_eq!(wait_push(&mut a), invalidate("active"));
    // Only the key read after it expired is still remembered.
    assert_eq!(info_field(&mut w, "tracking_total_keys"), "1");
}

#[test]
fn eviction_invalidates() {
    let s = Server::start(&["--maxmemory-policy", "allkeys-random"]);
    let (mut a, mut w) = (s.raw(), s.raw());
    let value = "x".repeat(1000);
    for i in 0..200 {
        w.cmd(&["SET", &format!("ev{i}"), &value]);
    }
    a.cmd(&["HELLO", "3"]);
    a.cmd(&["CLIENT", "TRACKING", "ON"]);
    let keys: Vec<String> = (0..200).map(|i| format!("ev{i}")).collect();
    let mut mget = vec!["MGET"];
    mget.extend(keys.iter().map(String::as_str));
    a.cmd(&mget);
    let used: u64 = info_field(&mut w, "used_memory").parse().unwrap_or(0);
    assert!(used > 100_000);
    w.cmd(&["CONFIG", "SET", "maxmemory", &(used - 100_000).to_string()]);
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut pushes = Vec::new();
    while pushes.is_empty() && Instant::now() < deadline {
        // Commands evict before they run.
        w.cmd(&["SET", "trigger", "1"]);
        pushes = pushes_before_pong(&mut a);
    }
    let push = pushes.first().cloned().unwrap_or_default();
    assert!(push.starts_with(">2\r\n$10\r\ninvalidate\r\n*1\r\n$"), "{push:?}");
    let key = push.rsplit("\r\n").nth(1).unwrap_or_default().to_string();
    assert!(key.starts_with("ev"), "{push:?}");
    w.cmd(&["CONFIG", "SET", "maxmemory", "0"]);
    assert_eq!(w.cmd(&["EXISTS", &key]), b":0\r\n", "{key} was evicted");
}

#[test]
fn keymiss_events_match_redis() {
    differential(&["--notify-keyspace-events", "Em"], |s, log| {
        let mut l = Vec::new();
        let mut sub = Conn::new(s, "sub", &mut l);
        let mut l2 = Vec::new();
        let mut c = Conn::new(s, "c", &mut l2);
        c.cmd(&["CONFIG", "GET", "notify-keyspace-events"]);
        sub.cmd(&["PSUBSCRIBE", "__keyevent@*__:*"]);
        c.cmd(&["SET", "str", "v"]);
        c.cmd(&["LPUSH", "list", "a"]);
        let reads: &[&[&str]] = &[
            &["GET", "miss1"],
            &["GET", "str"],
            &["MGET", "m2", "str", "m3"],
            &["EXISTS", "m4", "str"],
            &["TTL", "m5"],
            &["TYPE", "m6"],
            &["LRANGE", "m7", "0", "-1"],
            &["HGETALL", "m8"],
            &["SMEMBERS", "m9"],
            &["ZSCORE", "m10", "x"],
            &["OBJECT", "ENCODING", "m11"],
            &["INCR", "m12"],
            &["SUNION", "m13", "m14"],
            &["GET", "list"],
        ];
        for r in reads {
            c.cmd(r);
        }
        c.cmd(&["SELECT", "2"]);
        c.cmd(&["GET", "indb2"]);
        c.cmd(&["SELECT", "0"]);
        // The messages, in order, up to the marker.
        c.cmd(&["CONFIG", "SET", "notify-keyspace-events", "Eg"]);
        c.cmd(&["DEL", "str"]);
        for _ in 0..40 {
            let r = text(&sub.raw.read_reply());
            let done = r.contains(":del");
            sub.log.push(r);
            if done {
                break;
            }
        }
        c.cmd(&["CONFIG", "SET", "notify-keyspace-events", "KEA"]);
        c.cmd(&["CONFIG", "GET", "notify-keyspace-events"]);
        c.cmd(&["CONFIG", "SET", "notify-keyspace-events", "KEAm"]);
        c.cmd(&["CONFIG", "GET", "notify-keyspace-events"]);
        log.append(&mut l2);
        log.append(&mut l);
    });
}

#[test]
fn table_memory_is_counted_and_given_back() {
    let s = Server::start(&[]);
    let (mut a, mut w) = (s.raw(), s.raw());
    a.cmd(&["HELLO", "3"]);
    a.cmd(&["CLIENT", "TRACKING", "ON"]);
    let used = |w: &mut Raw| -> i64 { info_field(w, "used_memory").parse().unwrap_or(0) };
    wait_for_clients(&mut w, 2);
    let before = used(&mut w);
    for batch in 0..20 {
        let keys: Vec<String> = (0..1000).map(|i| format!("user:{batch:04}:{i:04}")).collect();
        let mut mget = vec!["MGET"];
        mget.extend(keys.iter().map(String::as_str));
        a.cmd(&mget);
    }
    assert_eq!(info_field(&mut w, "tracking_total_keys"), "20000");
    let tracked = used(&mut w) - before;
    // At least the keys themselves, and less than Redis's ~98 bytes per key.
    assert!(tracked > 20_000 * 16 && tracked < 20_000 * 90, "{tracked} bytes for 20000 keys");
    w.cmd(&["FLUSHALL"]);
    assert_eq!(pushes_before_pong(&mut a), vec![">2\r\n$10\r\ninvalidate\r\n_\r\n".to_string()]);
    assert_eq!(info_field(&mut w, "tracking_total_keys"), "0");
    let left = used(&mut w) - before;
    assert!(left < tracked / 10, "{left} bytes left of {tracked}");
}
