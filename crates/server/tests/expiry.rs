//! Active expiry: keys with a TTL that nobody touches disappear on their own and give their
//! memory back; a burst of short TTLs is reclaimed within a bounded time; expiry inside
//! MULTI and with WATCH behaves as in Redis; the INFO counters; DEBUG SET-ACTIVE-EXPIRE.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use common::{assert_same, encode, info_str as info_field, pair, Raw, Server};

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn int_reply(b: &[u8]) -> i64 {
    let s = text(b);
    s.trim_start_matches([':', '+']).trim().parse().unwrap_or_else(|_| panic!("not an integer: {s:?}"))
}

fn info_u64(raw: &mut Raw, section: &str, name: &str) -> u64 {
    info_field(raw, section, name).parse().unwrap_or_else(|_| panic!("{name} is not a number"))
}

fn dbsize(raw: &mut Raw) -> i64 {
    int_reply(&raw.cmd(&["DBSIZE"]))
}

/// Pipeline `SET prefix:i value PX ttl(i)` for `n` keys over one connection.
fn load(port: u16, prefix: &str, n: usize, value: &str, ttl: impl Fn(usize) -> Option<u64>) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    let mut buf = Vec::new();
    let mut expect = 0;
    for i in 0..n {
        let key = format!("{prefix}:{i}");
        match ttl(i) {
            Some(ms) => {
                let ms = ms.to_string();
                buf.extend_from_slice(&encode(&[
                    b"SET",
                    key.as_bytes(),
                    value.as_bytes(),
                    b"PX",
                    ms.as_bytes(),
                ]))
            }
            None => buf.extend_from_slice(&encode(&[b"SET", key.as_bytes(), value.as_bytes()])),
        }
        expect += 5;
        if buf.len() > 64 * 1024 || i + 1 == n {
            s.write_all(&buf).expect("write");
            buf.clear();
        }
    }
    let mut got = 0;
    let mut rbuf = vec![0u8; 64 * 1024];
    while got < expect {
        let k = s.read(&mut rbuf).expect("read");
        assert!(k > 0, "closed");
        got += k;
    }
}

/// Wait up to `limit` for `f`; returns how long it took.
fn wait_for(limit: Duration, mut f: impl FnMut() -> bool) -> Option<Duration> {
    let start = Instant::now();
    while start.elapsed() < limit {
        if f() {
            return Some(start.elapsed());
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    None
}

#[test]
fn an_untouched_key_disappears_and_its_memory_comes_back() {
    let brim = Server::start(&[]);
    let mut c = brim.raw();
    c.cmd(&["SET", "keep", "me"]);
    std::thread::sleep(Duration::from_millis(200));
    let base = info_u64(&mut c, "memory", "used_memory");
    // 2,000 keys with 1 KB values and one 1 MB value, all expiring in 300 ms.
    load(brim.port, "gone", 2000, &"v".repeat(1024), |_| Some(300));
    c.cmd(&["SET", "big", &"b".repeat(1 << 20), "PX", "300"]);
    let loaded = info_u64(&mut c, "memory", "used_memory");
    assert!(loaded > base + 3 * (1 << 20), "loaded {loaded}, base {base}");
    assert_eq!(dbsize(&mut c), 2002);
    // Nobody reads them: DBSIZE counts keys not yet reclaimed, so it only drops when the
    // active cycle deletes them.
    let took = wait_for(Duration::from_secs(5), || dbsize(&mut c) == 1).expect("keys still there after 5 s");
    assert!(took < Duration::from_secs(2), "took {took:?}");
    let after =
        wait_for(Duration::from_secs(3), || info_u64(&mut c, "memory", "used_memory") <= base + 64 * 1024);
    let used = info_u64(&mut c, "memory", "used_memory");
    assert!(after.is_some(), "used_memory {used} did not come back near {base}");
    assert_eq!(info_u64(&mut c, "stats", "expired_keys"), 2001);
    assert_eq!(text(&c.cmd(&["GET", "keep"])), "$2\r\nme\r\n");
    // Nothing was looked up: no keyspace misses from the expiry.
    assert_eq!(info_u64(&mut c, "stats", "keyspace_misses"), 0);
}

#[test]
fn ten_thousand_short_ttls_vanish_without_reads() {
    let brim = Server::start(&[]);
    let mut c = brim.raw();
    load(brim.port, "persist", 1000, "p", |_| None);
    let start = Instant::now();
    load(brim.port, "short", 10_000, "value", |i| Some(100 + (i % 200) as u64));
    let loaded_in = start.elapsed();
    assert!(dbsize(&mut c) <= 11_000);
    // The last deadline is at most 300 ms after the load; allow 1 s on top of that.
    let took =
        wait_for(Duration::from_secs(10), || dbsize(&mut c) == 1000).expect("short keys not reclaimed");
    assert!(
        took < loaded_in + Duration::from_millis(1300),
        "reclaimed {took:?} after the load started (load took {loaded_in:?})"
    );
    assert_eq!(info_u64(&mut c, "stats", "expired_keys"), 10_000);
    let keyspace = info_field(&mut c, "keyspace", "db0");
    assert_eq!(keyspace, "keys=1000,expires=0,avg_ttl=0");
    assert!(info_u64(&mut c, "stats", "expire_cycle_cpu_milliseconds") < 5_000);
}

#[test]
fn one_huge_database_does_not_starve_another() {
    let brim = Server::start(&[]);
    let mut c = brim.raw();
    // 200,000 keys with long TTLs in db 0 (the cycle finds nothing stale there) ...
    load(brim.port, "huge", 200_000, "h", |_| Some(3_600_000));
    // ... and 500 short ones in db 9.
    let mut s9 = brim.raw();
    s9.cmd(&["SELECT", "9"]);
    for i in 0..500 {
        s9.cmd(&["SET", &format!("k{i}"), "v", "PX", "50"]);
    }
    let took = wait_for(Duration::from_secs(5), || dbsize(&mut s9) == 0).expect("db 9 starved");
    assert!(took < Duration::from_secs(2), "took {took:?}");
    assert_eq!(dbsize(&mut c), 200_000);
    let ks = info_field(&mut c, "keyspace", "db0");
    assert!(ks.starts_with("keys=200000,expires=200000,avg_ttl="), "{ks}");
    let avg: i64 = ks.rsplit('=').next().and_then(|v| v.parse().ok()).unwrap_or(0);
    assert!(avg > 3_000_000 && avg <= 3_600_000, "avg_ttl {avg}");
}

#[test]
fn debug_set_active_expire_stops_and_restarts_the_cycle() {
    let brim = Server::start(&["--enable-debug-command", "yes"]);
    let mut c = brim.raw();
    assert_eq!(text(&c.cmd(&["DEBUG", "SET-ACTIVE-EXPIRE", "0"])), "+OK\r\n");
    load(brim.port, "k", 300, "v", |_| Some(20));
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(dbsize(&mut c), 300, "keys were reclaimed with active expiry off");
    assert_eq!(info_u64(&mut c, "stats", "expired_keys"), 0);
    // Lazy expiry still works.
    assert_eq!(text(&c.cmd(&["GET", "k:0"])), "$-1\r\n");
    assert_eq!(dbsize(&mut c), 299);
    assert_eq!(info_u64(&mut c, "stats", "expired_keys"), 1);
    assert_eq!(text(&c.cmd(&["DEBUG", "SET-ACTIVE-EXPIRE", "1"])), "+OK\r\n");
    wait_for(Duration::from_secs(3), || dbsize(&mut c) == 0).expect("not reclaimed after re-enabling");
    assert_eq!(info_u64(&mut c, "stats", "expired_keys"), 300);
}

#[test]
fn expiry_stats_are_reported() {
    let brim = Server::start(&["--enable-debug-command", "yes"]);
    let mut c = brim.raw();
    for name in ["expired_keys", "expired_time_cap_reached_count", "expire_cycle_cpu_milliseconds"] {
        info_u64(&mut c, "stats", name);
    }
    let perc: f64 = info_field(&mut c, "stats", "expired_stale_perc").parse().expect("a percentage");
    assert!((0.0..=100.0).contains(&perc));
    // Loaded with the active cycle off, so the whole wave is stale when the cycle starts
    // (on a loaded machine the load can outlast the keys' 1 ms).
    assert_eq!(c.cmd(&["DEBUG", "SET-ACTIVE-EXPIRE", "0"]), b"+OK\r\n");
    load(brim.port, "s", 20_000, "v", |_| Some(1));
    std::thread::sleep(Duration::from_millis(5));
    assert_eq!(c.cmd(&["DEBUG", "SET-ACTIVE-EXPIRE", "1"]), b"+OK\r\n");
    // The stat is a moving average that decays once the wave is gone: watch it during the wave.
    let mut peak: f64 = 0.0;
    wait_for(Duration::from_secs(5), || {
        let perc: f64 = info_field(&mut c, "stats", "expired_stale_perc").parse().unwrap_or(0.0);
        peak = peak.max(perc);
        dbsize(&mut c) == 0
    })
    .expect("not reclaimed");
    // The cycle that took the last keys folds its share into the average only when it has
    // been through every stripe of every database, which on a busy machine can come well
    // after DBSIZE reads 0; the average then takes many cycles to decay, so wait for it.
    wait_for(Duration::from_secs(3), || {
        peak = peak.max(info_field(&mut c, "stats", "expired_stale_perc").parse().unwrap_or(0.0));
        peak > 0.0
    });
    assert!(peak > 0.0, "a wave of stale keys shows in expired_stale_perc");
    assert_eq!(info_u64(&mut c, "stats", "expired_keys"), 20_000);
}

#[test]
fn expiry_with_multi_and_watch_matches_redis() {
    let (_brim, _redis, mut b, mut r) = pair(&[]);
    // A key that expires while a transaction is queued: EXEC sees it gone.
    assert_same(
        &mut b,
        &mut r,
        &[&["SET", "k", "v", "PX", "100"], &["MULTI"], &["GET", "k"], &["EXISTS", "k"]],
    );
    std::thread::sleep(Duration::from_millis(400));
    assert_same(&mut b, &mut r, &[&["EXEC"], &["EXISTS", "k"]]);
    // A WATCHed key that expires (reclaimed by the active cycle, untouched) aborts EXEC.
    assert_same(
        &mut b,
        &mut r,
        &[&["SET", "w", "v", "PX", "100"], &["WATCH", "w"], &["MULTI"], &["SET", "x", "1"]],
    );
    std::thread::sleep(Duration::from_millis(400));
    assert_same(&mut b, &mut r, &[&["EXEC"], &["EXISTS", "x"], &["DBSIZE"]]);
    // A WATCHed key with a TTL that has not run out yet does not abort, while other keys
    // expire around it.
    assert_same(
        &mut b,
        &mut r,
        &[
            &["SET", "y", "v", "PX", "5000"],
            &["SET", "o", "v", "PX", "50"],
            &["WATCH", "y"],
            &["MULTI"],
            &["SET", "z", "1"],
        ],
    );
    std::thread::sleep(Duration::from_millis(400));
    assert_same(&mut b, &mut r, &[&["EXEC"], &["GET", "z"], &["EXISTS", "y"]]);
    // Inside EXEC the keys a command writes expire like anywhere else.
    assert_same(&mut b, &mut r, &[&["MULTI"], &["SET", "t", "1", "PX", "50"], &["PTTL", "t"], &["EXEC"]]);
    std::thread::sleep(Duration::from_millis(300));
    assert_same(&mut b, &mut r, &[&["EXISTS", "t"]]);
    assert_eq!(
        info_u64(&mut b, "stats", "expired_keys"),
        info_u64(&mut r, "stats", "expired_keys"),
        "expired_keys differs from Redis"
    );
}

#[test]
fn lazy_expiry_counts_and_keyspace_line() {
    let (_brim, _redis, mut b, mut r) = pair(&[]);
    assert_same(
        &mut b,
        &mut r,
        &[
            &["DEBUG", "SET-ACTIVE-EXPIRE", "0"],
            &["SET", "a", "1", "PX", "10"],
            &["SET", "b", "1", "EX", "100"],
            &["SET", "c", "1"],
        ],
    );
    std::thread::sleep(Duration::from_millis(50));
    // DEBUG is refused by default in both; the active cycle may run in either, so only what
    // a lookup does is compared.
    assert_same(&mut b, &mut r, &[&["GET", "a"], &["EXISTS", "a"], &["TTL", "b"], &["DBSIZE"]]);
    let ks = info_field(&mut b, "keyspace", "db0");
    assert!(ks.starts_with("keys=2,expires=1,avg_ttl="), "{ks}");
    assert_eq!(info_u64(&mut b, "stats", "expired_keys"), info_u64(&mut r, "stats", "expired_keys"));
}
