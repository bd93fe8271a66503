//! Connections that keep waiting for a hot key another worker holds move to that worker
//! (`brim_engine::contention`, `conn::Conn::moves_now`). A move must be invisible to the
//! client: its selected database, name and replies carry on; every INCR lands once. And
//! connections only move toward the worker serving more of them, so each moves once at most.

mod common;

use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::Arc;
use std::thread;

use common::*;

/// Connections pipelining INCRs on one key.
const HAMMERS: usize = 6;
const DEPTH: usize = 16;
/// Most pipelines a connection sends before giving up on seeing a move.
const MAX_ROUNDS: usize = 20_000;
/// Pipelines every connection sends after a move was seen.
const AFTER: usize = 50;

/// Pipelines of INCR `hot` in db 5 until `stop` (plus [`AFTER`] more); checks the replies
/// rise and that the connection kept its state; returns the INCRs sent.
fn hammer(port: u16, who: usize, stop: &AtomicBool) -> usize {
    let mut raw = Raw::connect(port);
    let name = format!("hammer{who}");
    assert_eq!(raw.cmd_str(&["SELECT", "5"]), "+OK\r\n");
    assert_eq!(raw.cmd_str(&["CLIENT", "SETNAME", &name]), "+OK\r\n");
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
        if stop.load(Relaxed) {
            after += 1;
            if after == AFTER {
                break;
            }
        }
    }
    let info = raw.cmd_str(&["CLIENT", "INFO"]);
    assert!(info.contains(&format!(" name={name} ")), "{info}");
    assert!(info.contains(" db=5 "), "{info}");
    sent
}

#[test]
fn connections_waiting_for_a_hot_key_move_to_its_worker_once_and_lose_nothing() {
    let server = Server::start(&["--io-threads", "2", "--appendonly", "no"]);
    let port = server.port;
    let stop = Arc::new(AtomicBool::new(false));
    let hammers: Vec<_> = (0..HAMMERS)
        .map(|who| {
            let stop = stop.clone();
            thread::spawn(move || hammer(port, who, &stop))
        })
        .collect();
    let mut admin = server.raw();
    wait_for(|| info_i64(&mut admin, "stats", "hot_key_client_moves") > 0, "a connection to move");
    stop.store(true, Relaxed);
    let sent: usize = hammers.into_iter().map(|h| h.join().expect("hammer")).sum();
    assert_eq!(admin.cmd_str(&["SELECT", "5"]), "+OK\r\n");
    assert_eq!(admin.cmd_str(&["GET", "hot"]), format!("${}\r\n{sent}\r\n", sent.to_string().len()));
    let moves = info_i64(&mut admin, "stats", "hot_key_client_moves");
    assert!(moves <= HAMMERS as i64, "{moves} moves for {HAMMERS} connections: moved back and forth");
    // Moved connections are still known as clients, and closing them forgets them.
    wait_for_clients(&mut admin, 1);
}
