//! Connections that keep waiting for a hot key another worker holds move to that worker
//! (`brim_engine::contention`, `conn::Conn::moves_now`). A move must be invisible to the
//! client: its selected database, name, protocol, WATCHed keys, client-side caching and
//! replies carry on; every INCR lands once. And connections only move toward the worker
//! serving more of them, so each moves once at most.

mod common;

use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::{Arc, Barrier};
use std::thread;

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

#[test]
fn connections_waiting_for_a_hot_key_move_to_its_worker_once_and_lose_nothing() {
    let server = Server::start(&["--io-threads", "2", "--appendonly", "no"]);
    let sh = Arc::new(Shared {
        port: server.port,
        stop: AtomicBool::new(false),
        done: Barrier::new(HAMMERS + 1),
        changed: Barrier::new(HAMMERS + 1),
    });
    let hammers: Vec<_> = (0..HAMMERS)
        .map(|who| {
            let sh = sh.clone();
            thread::spawn(move || hammer(&sh, who))
        })
        .collect();
    let mut admin = server.raw();
    wait_for(|| info_i64(&mut admin, "stats", "hot_key_client_moves") > 0, "a connection to move");
    sh.stop.store(true, Relaxed);
    sh.done.wait();
    assert_eq!(admin.cmd_str(&["SELECT", "5"]), "+OK\r\n");
    assert_eq!(admin.cmd_str(&["SET", "tracked", "x"]), "+OK\r\n");
    assert_eq!(admin.cmd_str(&["SET", "w", "x"]), "+OK\r\n");
    sh.changed.wait();
    let sent: usize = hammers.into_iter().map(|h| h.join().expect("hammer")).sum();
    assert_eq!(admin.cmd_str(&["GET", "hot"]), format!("${}\r\n{sent}\r\n", sent.to_string().len()));
    let moves = info_i64(&mut admin, "stats", "hot_key_client_moves");
    assert!(moves <= HAMMERS as i64, "{moves} moves for {HAMMERS} connections: moved back and forth");
    // Moved connections are still known as clients, and closing them forgets them.
    wait_for_clients(&mut admin, 1);
}
