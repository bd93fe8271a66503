//! A worker keeps the stripe its last command locked for its next commands
//! (`brim_engine::keep_stripes`). These tests drive pipelines on a few hot keys from several
//! connections (spread over the workers) while other connections run what must never wait
//! for a kept stripe forever: whole-keyspace commands (EXEC, SWAPDB, DBSIZE), blocking pops
//! served from another worker, and the AOF switched on at runtime (its rewrite takes the
//! keyspace exclusively, and logged commands take the AOF's order lock before any stripe).
//! A lock-up shows as a reply that doesn't come within the client's 10 s read timeout; lost
//! or doubled work shows in the final counts.

mod common;

use std::thread;

use common::*;

const ROUNDS: usize = 150;
const DEPTH: usize = 16;
/// Connections pipelining on the hot keys.
const HAMMERS: usize = 4;
/// Commands a pipeline cycles through (ZADD, HINCRBY, SADD, RPUSH): each hot key gets
/// `DEPTH / KINDS` of a pipeline.
const KINDS: usize = 4;

/// `ROUNDS` pipelines of `DEPTH` commands on three hot keys; returns the RPUSHes to `q`.
fn hammer(port: u16, who: usize) -> usize {
    let mut raw = Raw::connect(port);
    let mut pushed = 0;
    for round in 0..ROUNDS {
        let mut bytes = Vec::new();
        for i in 0..DEPTH {
            let n = (round * DEPTH + i).to_string();
            let member = format!("m{who}:{n}");
            let cmd: Vec<&[u8]> = match i % KINDS {
                0 => vec![b"ZADD", b"z", n.as_bytes(), member.as_bytes()],
                1 => vec![b"HINCRBY", b"h", b"f", b"1"],
                2 => vec![b"SADD", b"s", member.as_bytes()],
                _ => {
                    pushed += 1;
                    vec![b"RPUSH", b"q", n.as_bytes()]
                }
            };
            bytes.extend_from_slice(&encode(&cmd));
        }
        raw.send(&bytes);
        for _ in 0..DEPTH {
            let reply = raw.read_reply();
            assert_eq!(reply[0], b':', "{}", String::from_utf8_lossy(&reply));
        }
    }
    pushed
}

#[test]
fn hot_key_pipelines_mix_with_exclusive_commands_blocking_pops_and_the_aof() {
    let server = Server::start(&["--appendonly", "no"]);
    let port = server.port;
    let hammers: Vec<_> = (0..HAMMERS).map(|who| thread::spawn(move || hammer(port, who))).collect();
    // Blocked clients served by whichever worker pushes.
    let poppers: Vec<_> = (0..2)
        .map(|_| {
            thread::spawn(move || {
                let mut raw = Raw::connect(port);
                let mut popped = 0;
                while raw.cmd(&["BLPOP", "q", "1"]) != b"*-1\r\n" {
                    popped += 1;
                }
                popped
            })
        })
        .collect();
    // Whole-keyspace commands meanwhile, and the AOF switched on halfway.
    let mut admin = server.raw();
    for i in 0..60 {
        admin.send(&encode(&[b"MULTI"]));
        admin.send(&encode(&[b"INCR", b"tx"]));
        admin.send(&encode(&[b"EXEC"]));
        assert_eq!(admin.read_reply(), b"+OK\r\n");
        assert_eq!(admin.read_reply(), b"+QUEUED\r\n");
        assert_eq!(admin.read_reply()[0], b'*');
        assert_eq!(admin.cmd_str(&["SWAPDB", "1", "2"]), "+OK\r\n");
        assert_eq!(admin.cmd(&["DBSIZE"])[0], b':');
        if i == 30 {
            assert_eq!(admin.cmd_str(&["CONFIG", "SET", "appendonly", "yes"]), "+OK\r\n");
        }
    }
    let pushed: usize = hammers.into_iter().map(|h| h.join().expect("hammer")).sum();
    let popped: usize = poppers.into_iter().map(|p| p.join().expect("popper")).sum();
    let left: usize = admin.cmd_str(&["LLEN", "q"]).trim_start_matches(':').trim().parse().unwrap_or(0);
    assert_eq!(popped + left, pushed, "every pushed element popped once or still there");
    let per_key = HAMMERS * ROUNDS * DEPTH / KINDS;
    assert_eq!(
        admin.cmd_str(&["HGET", "h", "f"]),
        format!("${}\r\n{per_key}\r\n", per_key.to_string().len())
    );
    assert_eq!(admin.cmd_str(&["ZCARD", "z"]), format!(":{per_key}\r\n"));
    assert_eq!(admin.cmd_str(&["SCARD", "s"]), format!(":{per_key}\r\n"));
    assert_eq!(admin.cmd_str(&["GET", "tx"]), "$2\r\n60\r\n");
}
