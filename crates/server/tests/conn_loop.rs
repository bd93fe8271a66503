//! The per-connection loop (crates/server/src/conn.rs): replies written right after their
//! batch, partial writes of replies bigger than the socket takes, the read pause while
//! replies wait unwritten, INFO's byte counters, and the one timer behind the idle
//! `timeout` and blocking timeouts. Outcomes are checked on Brim and on the Redis oracle.

mod common;

use std::time::{Duration, Instant};

use common::*;

/// `INFO stats` input and output byte counters, and the length of that INFO reply.
fn net_bytes(raw: &mut Raw) -> (i64, i64, i64) {
    let reply = raw.cmd(&["INFO", "stats"]);
    let text = String::from_utf8_lossy(&reply);
    let field = |name: &str| -> i64 {
        text.lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or_else(|| panic!("no {name} in {text}"))
    };
    (field("total_net_input_bytes:"), field("total_net_output_bytes:"), reply.len() as i64)
}

/// Send `commands` in one write and read their replies; returns (bytes sent, bytes read).
fn pipeline(raw: &mut Raw, commands: &[&[&str]]) -> (i64, i64) {
    let mut bytes = Vec::new();
    for c in commands {
        let args: Vec<&[u8]> = c.iter().map(|a| a.as_bytes()).collect();
        bytes.extend_from_slice(&encode(&args));
    }
    raw.send(&bytes);
    let read: usize = commands.iter().map(|_| raw.read_reply().len()).sum();
    (bytes.len() as i64, read as i64)
}

/// Check that INFO's byte counters move by exactly what the only client sent and got. A
/// request is counted when read, before it runs; a reply when written, after: so the
/// second INFO counts its own request and the first INFO's reply.
fn counters_follow_the_bytes(server: &Server) {
    let mut raw = server.raw();
    wait_for_clients(&mut raw, 1);
    let info_request = encode(&[b"INFO", b"stats"]).len() as i64;
    let (in1, out1, info_reply) = net_bytes(&mut raw);
    let big = "x".repeat(300_000);
    let (sent, read) = pipeline(
        &mut raw,
        &[&["PING"], &["SET", "k", &big], &["GET", "k"], &["GET", "k"], &["INCR", "n"], &["DEL", "k"]],
    );
    let (in2, out2, _) = net_bytes(&mut raw);
    assert_eq!(in2 - in1, sent + info_request, "input bytes");
    assert_eq!(out2 - out1, info_reply + read, "output bytes");
}

#[test]
fn byte_counters_count_every_request_and_reply_byte() {
    for server in [Server::start(&[]), Server::redis(&[])] {
        counters_follow_the_bytes(&server);
    }
}

/// Pipeline many replies bigger than a socket buffer (several MB in all, past the read
/// pause) without reading, then read them: every reply whole, in order, then the rest.
fn big_replies_in_order(server: &Server) -> Vec<Vec<u8>> {
    let mut raw = server.raw();
    let value: String = (0..200_000u32).map(|i| char::from(b'a' + (i % 26) as u8)).collect();
    assert_eq!(raw.cmd(&["SET", "big", &value]), b"+OK\r\n");
    let mut commands: Vec<&[&str]> = vec![&["GET", "big"]; 40];
    commands.push(&["ECHO", "end"]);
    commands.push(&["STRLEN", "big"]);
    let mut bytes = Vec::new();
    for c in &commands {
        let args: Vec<&[u8]> = c.iter().map(|a| a.as_bytes()).collect();
        bytes.extend_from_slice(&encode(&args));
    }
    raw.send(&bytes);
    let replies: Vec<Vec<u8>> = commands.iter().map(|_| raw.read_reply()).collect();
    let whole = format!("${}\r\n{value}\r\n", value.len()).into_bytes();
    assert!(replies[..40].iter().all(|r| *r == whole), "every GET reply whole");
    assert_eq!(raw.cmd(&["PING"]), b"+PONG\r\n");
    replies
}

#[test]
fn replies_bigger_than_the_socket_takes_arrive_whole_and_in_order() {
    let (brim, redis) = (Server::start(&[]), Server::redis(&[]));
    assert_eq!(big_replies_in_order(&brim), big_replies_in_order(&redis));
}

/// With `timeout 1`: an idle client is closed; one sending a command every 100 ms and one
/// blocked in a 2 s BLPOP are not. Returns the blocked client's reply.
fn timeout_spares_busy_and_blocked_clients(port: u16) -> Vec<u8> {
    assert_eq!(Raw::connect(port).cmd(&["CONFIG", "SET", "timeout", "1"]), b"+OK\r\n");
    let mut idle = Raw::connect(port);
    assert_eq!(idle.cmd(&["PING"]), b"+PONG\r\n");
    let mut blocked = Raw::connect(port);
    blocked.send(&encode(&[b"BLPOP", b"nokey", b"2"]));
    let mut busy = Raw::connect(port);
    let start = Instant::now();
    while start.elapsed() < Duration::from_millis(2500) {
        assert_eq!(busy.cmd(&["PING"]), b"+PONG\r\n", "a busy client stays open");
        std::thread::sleep(Duration::from_millis(100));
    }
    let reply = blocked.read_reply();
    assert_eq!(blocked.cmd(&["PING"]), b"+PONG\r\n", "a blocked client stays open");
    assert!(idle.is_closed(), "the idle client is closed");
    reply
}

#[test]
fn idle_timeout_spares_busy_and_blocked_clients() {
    let (brim, redis) = (Server::start(&[]), Server::redis(&[]));
    // Both at once: each takes a few seconds.
    let threads = [brim.port, redis.port]
        .map(|port| std::thread::spawn(move || timeout_spares_busy_and_blocked_clients(port)));
    let [b, r] = threads.map(|t| t.join().expect("thread"));
    assert_eq!(b, b"*-1\r\n");
    assert_eq!(b, r);
}
