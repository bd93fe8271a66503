//! Connections that keep waiting for a hot key another worker holds move to that worker
//! (`brim_engine::contention`, `conn::Conn::moves_now`). A move must be invisible to the
//! client: its selected database, name, protocol, WATCHed keys, client-side caching and
//! replies carry on; every INCR lands once. And connections only move toward the worker
//! serving more of them, so each moves once at most, unless it moved away to even out the
//! workers' load: once a hot key cools down, the connections piled up on its worker spread
//! out again.

mod common;

use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::{Duration, Instant};

use common::*;

/// Connections pipelining INCRs on one key.
const HAMMERS: usize = 6;
const DEPTH: usize = 16;
/// Most pipelines a connection sends before giving up on seeing a move.
const MAX_ROUNDS: usize = 20_000;
/// Pipelines every connection sends after a move was seen.
const AFTER: usize = 50;

/// What every hammer and the test's own connection share.
struct Shared {
    port: u16,
    /// A move was seen.
    stop: AtomicBool,
    /// Every hammer is done hammering / the admin changed the watched and tracked keys.
    done: Barrier,
    changed: Barrier,
}

/// A connection with state to lose: RESP3, db 5, a name, a WATCH and a tracked key. It
/// pipelines INCR `hot` until `stop` (plus [`AFTER`] more pipelines), checking that the
/// replies rise; then checks its state survived; returns the INCRs sent.
fn hammer(sh: &Shared, who: usize) -> usize {
    let mut raw = Raw::connect(sh.port);
    let name = format!("hammer{who}");
    assert_eq!(raw.cmd(&["HELLO", "3"])[0], b'%');
    assert_eq!(raw.cmd_str(&["SELECT", "5"]), "+OK\r\n");
    assert_eq!(raw.cmd_str(&["CLIENT", "SETNAME", &name]), "+OK\r\n");
    assert_eq!(raw.cmd_str(&["CLIENT", "TRACKING", "on"]), "+OK\r\n");
    assert_eq!(raw.cmd_str(&["GET", "tracked"]), "_\r\n");
    assert_eq!(raw.cmd_str(&["WATCH", "w"]), "+OK\r\n");
    let pipeline: Vec<u8> = (0..DEPTH).flat_map(|_| encode(&[b"INCR", b"hot"])).collect();
    let (mut sent, mut last, mut after) = (0, 0i64, 0);
    for _ in 0..MAX_ROUNDS {
        raw.send(&pipeline);
        for _ in 0..DEPTH {
            let reply = raw.read_reply();
            let text = String::from_utf8_lossy(&reply);
            let n: i64 = text.trim_start_matches(':').trim_end().parse().unwrap_or_else(|_| panic!("{text}"));
            assert!(n > last, "INCR replies must rise on one connection: {n} after {last}");
            last = n;
        }
        sent += DEPTH;
        if sh.stop.load(Relaxed) {
            after += 1;
            if after == AFTER {
                break;
            }
        }
    }
    sh.done.wait();
    sh.changed.wait();
    let push = String::from_utf8_lossy(&raw.read_reply()).into_owned();
    assert!(push.starts_with(">2\r\n$10\r\ninvalidate\r\n") && push.contains("tracked"), "{push}");
    assert_eq!(raw.cmd_str(&["MULTI"]), "+OK\r\n");
    assert_eq!(raw.cmd_str(&["INCR", "hot"]), "+QUEUED\r\n");
    assert_eq!(raw.cmd_str(&["EXEC"]), "_\r\n", "the WATCHed key changed: EXEC aborts");
    let info = raw.cmd_str(&["CLIENT", "INFO"]);
    for field in [format!(" name={name} "), " db=5 ".into(), " resp=3".into(), "flags=t".into()] {
        assert!(info.contains(&field), "{field} not in {info}");
    }
    sent
}

/// Run `conn(who)` on [`HAMMERS`] threads until one of their connections moved to a hot key's
/// worker; returns the threads and an admin connection.
fn start_until_a_move<T: Send + 'static>(
    server: &Server,
    conn: impl Fn(usize) -> T + Send + Sync + 'static,
) -> (Vec<thread::JoinHandle<T>>, Raw) {
    let conn = Arc::new(conn);
    let threads = (0..HAMMERS)
        .map(|who| {
            let conn = conn.clone();
            thread::spawn(move || conn(who))
        })
        .collect();
    let mut admin = server.raw();
    wait_for(|| info_i64(&mut admin, "stats", "hot_key_client_moves") > 0, "a connection to move");
    (threads, admin)
}

#[test]
fn connections_waiting_for_a_hot_key_move_to_its_worker_once_and_lose_nothing() {
    let server = Server::start(&["--io-threads", "2", "--appendonly", "no"]);
    let sh = Arc::new(Shared {
        port: server.port,
        stop: AtomicBool::new(false),
        done: Barrier::new(HAMMERS + 1),
        changed: Barrier::new(HAMMERS + 1),
    });
    let sh2 = sh.clone();
    let (hammers, mut admin) = start_until_a_move(&server, move |who| hammer(&sh2, who));
    sh.stop.store(true, Relaxed);
    sh.done.wait();
    assert_eq!(admin.cmd_str(&["SELECT", "5"]), "+OK\r\n");
    assert_eq!(admin.cmd_str(&["SET", "tracked", "x"]), "+OK\r\n");
    assert_eq!(admin.cmd_str(&["SET", "w", "x"]), "+OK\r\n");
    sh.changed.wait();
    let sent: usize = hammers.into_iter().map(|h| h.join().expect("hammer")).sum();
    assert_eq!(admin.cmd_str(&["GET", "hot"]), format!("${}\r\n{sent}\r\n", sent.to_string().len()));
    // A connection that moved to even out the load and still wants the hot key moves back
    // once: that is the only way back and forth.
    let moves = info_i64(&mut admin, "stats", "hot_key_client_moves");
    let balance = info_i64(&mut admin, "stats", "balance_client_moves");
    assert!(
        moves <= (HAMMERS as i64) + balance,
        "{moves} moves for {HAMMERS} connections: moved back and forth"
    );
    // Moved connections are still known as clients, and closing them forgets them.
    wait_for_clients(&mut admin, 1);
}

/// Each worker's connections (INFO clients `worker_connections`).
fn per_worker(admin: &mut Raw) -> Vec<i64> {
    let text = info_str(admin, "clients", "worker_connections");
    text.split(',').map(|n| n.parse().expect("a count")).collect()
}

/// What the connections of the spreading test share.
struct Phases {
    port: u16,
    /// The hot key has cooled: connections use keys of their own.
    cool: AtomicBool,
    stop: AtomicBool,
}

/// A connection with RESP3, db 5 and a name that pipelines INCR `hot` until `cool`, then INCR
/// of a key of its own until `stop`, checking that replies rise; then checks its own key's
/// count and its state. Gives up after a minute.
fn hot_then_cool(ph: &Phases, who: usize) {
    let mut raw = Raw::connect(ph.port);
    let name = format!("spread{who}");
    let own = format!("own{who}");
    assert_eq!(raw.cmd(&["HELLO", "3"])[0], b'%');
    assert_eq!(raw.cmd_str(&["SELECT", "5"]), "+OK\r\n");
    assert_eq!(raw.cmd_str(&["CLIENT", "SETNAME", &name]), "+OK\r\n");
    let hot: Vec<u8> = (0..DEPTH).flat_map(|_| encode(&[b"INCR", b"hot"])).collect();
    let mine: Vec<u8> = (0..DEPTH).flat_map(|_| encode(&[b"INCR", own.as_bytes()])).collect();
    let deadline = Instant::now() + Duration::from_secs(60);
    let (mut last_hot, mut last_own) = (0i64, 0i64);
    while !ph.stop.load(Relaxed) && Instant::now() < deadline {
        let cool = ph.cool.load(Relaxed);
        raw.send(if cool { &mine } else { &hot });
        let last = if cool { &mut last_own } else { &mut last_hot };
        for _ in 0..DEPTH {
            let reply = raw.read_reply();
            let text = String::from_utf8_lossy(&reply);
            let n: i64 = text.trim_start_matches(':').trim_end().parse().unwrap_or_else(|_| panic!("{text}"));
            assert!(n > *last, "INCR replies must rise on one connection: {n} after {}", *last);
            *last = n;
        }
    }
    let want = match last_own {
        0 => "_\r\n".to_string(),
        n => format!("${}\r\n{n}\r\n", n.to_string().len()),
    };
    assert_eq!(raw.cmd_str(&["GET", &own]), want, "every INCR of its own key landed once");
    let info = raw.cmd_str(&["CLIENT", "INFO"]);
    for field in [format!(" name={name} "), " db=5 ".into(), " resp=3".into()] {
        assert!(info.contains(&field), "{field} not in {info}");
    }
}

#[test]
fn connections_piled_up_by_a_hot_key_spread_out_again_once_it_cools() {
    let server = Server::start(&["--io-threads", "2", "--appendonly", "no"]);
    let ph =
        Arc::new(Phases { port: server.port, cool: AtomicBool::new(false), stop: AtomicBool::new(false) });
    let ph2 = ph.clone();
    let (conns, mut admin) = start_until_a_move(&server, move |who| hot_then_cool(&ph2, who));
    ph.cool.store(true, Relaxed);
    // Connections that neither moved nor waited for a hot key for a while leave the busier
    // worker until the two serve as many (the admin connection counts too).
    wait_for(
        || {
            let counts = per_worker(&mut admin);
            counts.iter().max().unwrap_or(&0) - counts.iter().min().unwrap_or(&0) <= 1
        },
        "the workers' connections to even out",
    );
    // Each connection moves to even out the load at most once per hold-off (a few seconds),
    // and only from a worker serving two more: no churn.
    let balance = info_i64(&mut admin, "stats", "balance_client_moves");
    assert!(balance <= 2 * HAMMERS as i64, "{balance} moves to even out {HAMMERS} connections");
    ph.stop.store(true, Relaxed);
    for c in conns {
        c.join().expect("connection");
    }
    wait_for_clients(&mut admin, 1);
}
