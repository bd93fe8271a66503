//! The blocking commands (BLPOP, BRPOP, BLMOVE, BRPOPLPUSH, BLMPOP, BZPOPMIN, BZPOPMAX,
//! BZMPOP) and what surrounds them (CLIENT UNBLOCK, INFO `blocked_clients`, CLIENT LIST flag
//! `b`): differential tests against the real Redis 7.0. Single-connection behaviour
//! (argument errors, immediate pops, timeouts, MULTI) is compared reply by reply; scenarios
//! with several connections (waiters served by pushes from other connections, which the
//! test server deals to different worker threads, FIFO order, BLMOVE chains, type changes,
//! CLIENT UNBLOCK, pipelines, disconnections, notifications) are run step by step on both
//! servers and their transcripts compared.

mod common;

use std::time::{Duration, Instant};

use common::{encode, info_i64 as info_field, pair, same, Raw, Server};

/// Send a command without reading its reply.
fn send(c: &mut Raw, args: &[&str]) {
    let a: Vec<&[u8]> = args.iter().map(|s| s.as_bytes()).collect();
    c.send(&encode(&a));
}

/// Switch a connection to RESP3 (HELLO's own reply differs between the servers).
fn resp3(c: &mut Raw) {
    c.cmd(&["HELLO", "3"]);
}

/// Wait (up to 10 s) until the server reports `n` blocked clients.
fn wait_blocked(ctl: &mut Raw, n: i64) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let now = info_field(ctl, "clients", "blocked_clients");
        if now == n {
            return;
        }
        assert!(Instant::now() < deadline, "blocked_clients stays {now}, want {n}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// The client id of a connection.
fn client_id(c: &mut Raw) -> String {
    let r = c.cmd_str(&["CLIENT", "ID"]);
    r.trim().trim_start_matches(':').to_string()
}

/// Run `scenario` on the Redis oracle and on Brim (both started with `extra`) and compare
/// the transcripts it returns.
fn transcript_same(extra: &[&str], scenario: impl Fn(&Server) -> Vec<String>) {
    let redis = Server::redis(extra);
    let want = scenario(&redis);
    drop(redis);
    let brim = Server::start(extra);
    let got = scenario(&brim);
    assert_eq!(got, want, "Brim's transcript (left) differs from Redis's (right)");
}

/// A reply as text, labelled.
fn note(log: &mut Vec<String>, label: &str, reply: Vec<u8>) {
    log.push(format!("{label}: {}", String::from_utf8_lossy(&reply)));
}

const ARGUMENTS: &str = "
    BLPOP
    BLPOP k
    BRPOP k
    BLMOVE a b LEFT RIGHT
    BRPOPLPUSH a b
    BLMPOP 0 1 k
    BZPOPMIN z
    BZMPOP 0 1 z
    BLPOP k abc
    BLPOP k -1
    BLPOP k -0.5
    BLPOP k nan
    BLPOP k inf
    BLPOP k -inf
    BLPOP k infinity
    BLPOP k 1e16
    BLPOP k 9.3e15
    BLPOP k 9223372036854775807
    BLPOP k 1e
    BLPOP k 0x
    BLPOP k 1e5000
    BLPOP k 1e400
    BRPOP k abc
    BZPOPMIN z abc
    BZPOPMAX z -1
    RPUSH l a b c d e f g h i j k l m n o p
    SET s x
    BLPOP nokey l 0
    BRPOP nokey l 0
    BLPOP l nokey 0
    BLPOP nokey s 0
    BLPOP l s 0
    BLPOP s l 0
    BLPOP l l 0
    BLMOVE l d LEFT RIGHT 0
    BLMOVE l d RIGHT LEFT 0
    BLMOVE l d UP RIGHT 0
    BLMOVE l d LEFT DOWN 0
    BLMOVE l d LEFT RIGHT abc
    BLMOVE l d left right -1
    BLMOVE l s LEFT LEFT 0
    BLMOVE s l LEFT LEFT 0
    BLMOVE d d LEFT RIGHT 0
    BRPOPLPUSH l d 0
    BRPOPLPUSH l d abc
    BRPOPLPUSH l d -1
    LRANGE d 0 -1
    RPUSH l g h i j k
    BLMPOP 0 1 l LEFT
    BLMPOP 0 2 nokey l RIGHT COUNT 2
    BLMPOP 0 1 l LEFT COUNT 1000
    RPUSH l a b c
    BLMPOP abc 1 l LEFT
    BLMPOP -1 1 l LEFT
    BLMPOP 0 0 l LEFT
    BLMPOP 0 -1 l LEFT
    BLMPOP 0 abc l LEFT
    BLMPOP 0 5 l LEFT
    BLMPOP 0 99999999999999 l LEFT
    BLMPOP 0 1 l MIDDLE
    BLMPOP 0 1 l LEFT COUNT 0
    BLMPOP 0 1 l LEFT COUNT -1
    BLMPOP 0 1 l LEFT COUNT abc
    BLMPOP 0 1 l LEFT COUNT 1 COUNT 2
    BLMPOP 0 1 l LEFT COUNT
    BLMPOP 0 1 l LEFT foo
    BLMPOP abc 1 l MIDDLE
    BLMPOP 0 1 s LEFT
    BLMPOP 0 2 nokey s LEFT
    BLMPOP 0 2 l s RIGHT
    ZADD z 1 a 2 b 3 c 4 d 5 e 6 f 7 g 8.5 h
    BZPOPMIN z 0
    BZPOPMAX z 0
    BZPOPMIN nokey z 0
    BZPOPMAX z nokey 0
    BZPOPMIN s 0
    BZPOPMIN nokey s 0
    BZPOPMIN l 0
    BZMPOP 0 1 z MIN
    BZMPOP 0 2 nokey z MAX COUNT 1
    BZMPOP abc 1 z MIN
    BZMPOP -1 1 z MIN
    BZMPOP 0 0 z MIN
    BZMPOP 0 1 z FOO
    BZMPOP 0 1 z MIN COUNT 0
    BZMPOP 0 1 z MIN COUNT 1 foo
    BZMPOP 0 1 s MIN
    BZMPOP 0 1 z MAX COUNT 100
    EXISTS z
    LPUSH l x
    BLPOP l 0
    EXISTS l
";

const TIMEOUTS: &str = "
    BLPOP nokey 0.05
    BRPOP nokey other 0.01
    BLPOP nokey 0.0001
    BLPOP nokey 1e-10
    BLPOP nokey 1e-400
    BLPOP nokey 0x0.01p-4
    BLMOVE nokey d LEFT RIGHT 0.01
    BRPOPLPUSH nokey d 0.01
    SET s x
    BLMOVE nokey s LEFT LEFT 0.01
    BLMPOP 0.01 2 nokey other LEFT COUNT 3
    BZPOPMIN nokey 0.01
    BZPOPMAX nokey other 0.01
    BZMPOP 0.01 1 nokey MIN COUNT 2
    EXISTS nokey d
";

const IN_MULTI: &str = "
    MULTI
    BLPOP nokey 0
    BRPOP nokey 0
    BLMOVE nokey d LEFT LEFT 0
    BRPOPLPUSH nokey d 0
    BLMPOP 0 1 nokey LEFT
    BZPOPMIN nokey 0
    BZPOPMAX nokey 0
    BZMPOP 0 1 nokey MAX
    RPUSH l a b
    BLPOP l 0
    BLMOVE l d LEFT LEFT 0
    ZADD z 1 m
    BZPOPMAX z 0
    BLPOP nokey abc
    EXEC
    MULTI
    BLPOP
    EXEC
";

#[test]
fn arguments_errors_and_immediate_replies_match_redis() {
    let (_bs, _rs, mut b, mut r) = pair(&[]);
    same(&mut b, &mut r, ARGUMENTS);
    same(&mut b, &mut r, "FLUSHALL");
    resp3(&mut b);
    resp3(&mut r);
    same(&mut b, &mut r, ARGUMENTS);
}

#[test]
fn timeouts_match_redis() {
    let (_bs, _rs, mut b, mut r) = pair(&[]);
    same(&mut b, &mut r, TIMEOUTS);
    same(&mut b, &mut r, "FLUSHALL");
    resp3(&mut b);
    resp3(&mut r);
    same(&mut b, &mut r, TIMEOUTS);
}

#[test]
fn timeouts_are_timely() {
    let brim = Server::start(&[]);
    let mut c = brim.raw();
    let start = Instant::now();
    assert_eq!(c.cmd(&["BLPOP", "nokey", "0.2"]), b"*-1\r\n");
    let took = start.elapsed();
    assert!(took >= Duration::from_millis(195), "timed out after {took:?}");
    assert!(took < Duration::from_secs(3), "timed out after {took:?}");
    let start = Instant::now();
    assert_eq!(c.cmd(&["BZMPOP", "0.05", "1", "nokey", "MIN"]), b"*-1\r\n");
    assert!(start.elapsed() >= Duration::from_millis(45));
    assert_eq!(info_field(&mut c, "clients", "blocked_clients"), 0);
}

#[test]
fn nothing_blocks_inside_multi() {
    let (_bs, _rs, mut b, mut r) = pair(&[]);
    same(&mut b, &mut r, IN_MULTI);
    same(&mut b, &mut r, "FLUSHALL");
    resp3(&mut b);
    resp3(&mut r);
    same(&mut b, &mut r, IN_MULTI);
}

#[test]
fn push_from_another_connection_serves_the_waiter() {
    transcript_same(&[], |s| {
        let mut log = Vec::new();
        // Consecutive connections land on different worker threads.
        let mut waiter = s.raw();
        let mut pusher = s.raw();
        for (block, push) in [
            (&["BLPOP", "k", "0"][..], &["LPUSH", "k", "v"][..]),
            (&["BRPOP", "nokey", "k", "0"], &["RPUSH", "k", "a", "b", "c"]),
            (&["BLPOP", "k9", "5"], &["LPUSHX", "k9", "x"]),
            (&["BLMPOP", "0", "1", "k8", "LEFT", "COUNT", "10"], &["RPUSH", "k8", "d", "e"]),
            (&["BLMOVE", "src", "dst", "LEFT", "RIGHT", "0"], &["RPUSH", "src", "x", "y"]),
            (&["BRPOPLPUSH", "src2", "dst", "0"], &["LMOVE", "src", "src2", "LEFT", "LEFT"]),
            (&["BZPOPMIN", "z", "0"], &["ZADD", "z", "1", "a", "2", "b"]),
            (&["BZPOPMAX", "z4", "0"], &["ZPOPMIN", "z4"]),
            (&["BZPOPMAX", "z5", "0"], &["ZADD", "z5", "3", "c", "2.5", "d"]),
            (&["BZMPOP", "0", "1", "z2", "MAX", "COUNT", "5"], &["ZADD", "z2", "1.5", "x", "-2", "y"]),
            (&["BZMPOP", "0", "1", "z3", "MIN"], &["ZUNIONSTORE", "z3", "1", "z5"]),
        ] {
            send(&mut waiter, block);
            wait_blocked(&mut pusher, 1);
            note(&mut log, "push", pusher.cmd(push));
            if push[0] == "LPUSHX" || push[0] == "ZPOPMIN" {
                // Nothing for the waiter yet: feed it for real.
                wait_blocked(&mut pusher, 1);
                let feed: &[&str] =
                    if push[0] == "LPUSHX" { &["RPUSH", "k9", "z"] } else { &["ZADD", "z4", "9", "q"] };
                note(&mut log, "feed", pusher.cmd(feed));
            }
            note(&mut log, "waiter", waiter.read_reply());
            wait_blocked(&mut pusher, 0);
        }
        for k in ["k", "k8", "k9", "src", "src2", "dst"] {
            note(&mut log, k, pusher.cmd(&["LRANGE", k, "0", "-1"]));
        }
        for k in ["z", "z2", "z3", "z4", "z5"] {
            note(&mut log, k, pusher.cmd(&["ZRANGE", k, "0", "-1", "WITHSCORES"]));
        }
        log
    });
}

#[test]
fn resp3_waiters_get_resp3_replies() {
    transcript_same(&[], |s| {
        let mut log = Vec::new();
        let mut waiter = s.raw();
        let mut pusher = s.raw();
        resp3(&mut waiter);
        for (block, push) in [
            (&["BLPOP", "k", "0"][..], &["RPUSH", "k", "v"][..]),
            (&["BLMPOP", "0", "1", "k", "RIGHT", "COUNT", "2"], &["RPUSH", "k", "a", "b", "c"]),
            (&["BZPOPMIN", "z", "0"], &["ZADD", "z", "1.5", "a", "2", "b"]),
            (&["BZMPOP", "0", "1", "z2", "MAX", "COUNT", "5"], &["ZADD", "z2", "1", "x", "inf", "y"]),
        ] {
            send(&mut waiter, block);
            wait_blocked(&mut pusher, 1);
            note(&mut log, "push", pusher.cmd(push));
            note(&mut log, "waiter", waiter.read_reply());
        }
        let id = client_id(&mut waiter);
        send(&mut waiter, &["BLMOVE", "nokey", "d", "LEFT", "LEFT", "0"]);
        wait_blocked(&mut pusher, 1);
        note(&mut log, "unblock", pusher.cmd(&["CLIENT", "UNBLOCK", &id]));
        note(&mut log, "waiter", waiter.read_reply());
        log
    });
}

#[test]
fn waiters_are_served_in_fifo_order() {
    transcript_same(&[], |s| {
        let mut log = Vec::new();
        let mut ctl = s.raw();
        let mut w: Vec<Raw> = (0..3).map(|_| s.raw()).collect();
        for (i, c) in w.iter_mut().enumerate() {
            send(c, &["BLPOP", "k", "0"]);
            wait_blocked(&mut ctl, i as i64 + 1);
        }
        note(&mut log, "push", ctl.cmd(&["RPUSH", "k", "a", "b", "c", "d"]));
        for (i, c) in w.iter_mut().enumerate() {
            note(&mut log, &format!("w{i}"), c.read_reply());
        }
        note(&mut log, "left", ctl.cmd(&["LRANGE", "k", "0", "-1"]));
        // One element for three waiters: the first gets it, the others keep waiting.
        ctl.cmd(&["DEL", "k"]);
        for (i, c) in w.iter_mut().enumerate() {
            send(c, &["BRPOP", "k", "other", "0"]);
            wait_blocked(&mut ctl, i as i64 + 1);
        }
        note(&mut log, "push", ctl.cmd(&["LPUSH", "other", "x"]));
        note(&mut log, "w0", w[0].read_reply());
        wait_blocked(&mut ctl, 2);
        note(&mut log, "push", ctl.cmd(&["LPUSH", "k", "y", "z"]));
        note(&mut log, "w1", w[1].read_reply());
        note(&mut log, "w2", w[2].read_reply());
        // A waiter on several keys is served by whichever is pushed first, once.
        send(&mut w[0], &["BLPOP", "k1", "k2", "0"]);
        wait_blocked(&mut ctl, 1);
        send(&mut w[1], &["BLPOP", "k2", "0"]);
        wait_blocked(&mut ctl, 2);
        note(&mut log, "push", ctl.cmd(&["RPUSH", "k2", "p", "q", "r"]));
        note(&mut log, "w0", w[0].read_reply());
        note(&mut log, "w1", w[1].read_reply());
        note(&mut log, "push", ctl.cmd(&["RPUSH", "k1", "s"]));
        note(&mut log, "k1", ctl.cmd(&["LRANGE", "k1", "0", "-1"]));
        note(&mut log, "k2", ctl.cmd(&["LRANGE", "k2", "0", "-1"]));
        log
    });
}

#[test]
fn blmove_chains_are_served() {
    transcript_same(&[], |s| {
        let mut log = Vec::new();
        let mut ctl = s.raw();
        let mut w1 = s.raw();
        let mut w2 = s.raw();
        let mut w3 = s.raw();
        let mut w4 = s.raw();
        send(&mut w1, &["BLMOVE", "a", "b", "RIGHT", "LEFT", "0"]);
        wait_blocked(&mut ctl, 1);
        send(&mut w2, &["BRPOPLPUSH", "b", "c", "0"]);
        wait_blocked(&mut ctl, 2);
        send(&mut w3, &["BLMOVE", "c", "a", "LEFT", "LEFT", "0"]);
        wait_blocked(&mut ctl, 3);
        send(&mut w4, &["BLPOP", "a", "0"]);
        wait_blocked(&mut ctl, 4);
        note(&mut log, "push", ctl.cmd(&["RPUSH", "a", "x"]));
        note(&mut log, "w1", w1.read_reply());
        note(&mut log, "w2", w2.read_reply());
        note(&mut log, "w3", w3.read_reply());
        note(&mut log, "w4", w4.read_reply());
        wait_blocked(&mut ctl, 0);
        for k in ["a", "b", "c"] {
            note(&mut log, k, ctl.cmd(&["LRANGE", k, "0", "-1"]));
        }
        // A rotation onto itself, then a destination of the wrong type.
        send(&mut w1, &["BLMOVE", "r", "r", "LEFT", "RIGHT", "0"]);
        wait_blocked(&mut ctl, 1);
        note(&mut log, "push", ctl.cmd(&["RPUSH", "r", "1", "2"]));
        note(&mut log, "w1", w1.read_reply());
        note(&mut log, "r", ctl.cmd(&["LRANGE", "r", "0", "-1"]));
        ctl.cmd(&["SET", "str", "v"]);
        send(&mut w1, &["BLMOVE", "q", "str", "LEFT", "RIGHT", "0"]);
        wait_blocked(&mut ctl, 1);
        send(&mut w2, &["BLPOP", "q", "0"]);
        wait_blocked(&mut ctl, 2);
        note(&mut log, "push", ctl.cmd(&["RPUSH", "q", "only"]));
        note(&mut log, "w1", w1.read_reply());
        note(&mut log, "w2", w2.read_reply());
        note(&mut log, "q", ctl.cmd(&["EXISTS", "q"]));
        log
    });
}

#[test]
fn waiters_take_only_their_type() {
    transcript_same(&[], |s| {
        let mut log = Vec::new();
        let mut ctl = s.raw();
        let mut zw = s.raw();
        let mut lw = s.raw();
        send(&mut zw, &["BZPOPMIN", "k", "0"]);
        wait_blocked(&mut ctl, 1);
        send(&mut lw, &["BLPOP", "k", "0"]);
        wait_blocked(&mut ctl, 2);
        // A list: the list waiter (second in line) is served, the sorted-set one waits on.
        note(&mut log, "push", ctl.cmd(&["RPUSH", "k", "v"]));
        note(&mut log, "lw", lw.read_reply());
        wait_blocked(&mut ctl, 1);
        note(&mut log, "blocked", ctl.cmd(&["EXISTS", "k"]));
        // A string, then a deletion: still waiting.
        note(&mut log, "set", ctl.cmd(&["SET", "k", "str"]));
        note(&mut log, "del", ctl.cmd(&["DEL", "k"]));
        send(&mut lw, &["BLPOP", "k", "0"]);
        wait_blocked(&mut ctl, 2);
        note(&mut log, "zadd", ctl.cmd(&["ZADD", "k", "1", "m", "2", "n"]));
        note(&mut log, "zw", zw.read_reply());
        wait_blocked(&mut ctl, 1);
        note(&mut log, "left", ctl.cmd(&["ZRANGE", "k", "0", "-1", "WITHSCORES"]));
        note(&mut log, "del", ctl.cmd(&["DEL", "k"]));
        note(&mut log, "push", ctl.cmd(&["LPUSH", "k", "w"]));
        note(&mut log, "lw", lw.read_reply());
        // Databases are separate.
        note(&mut log, "select", lw.cmd(&["SELECT", "1"]));
        send(&mut lw, &["BLPOP", "k", "0"]);
        wait_blocked(&mut ctl, 1);
        note(&mut log, "push db0", ctl.cmd(&["RPUSH", "k", "db0"]));
        wait_blocked(&mut ctl, 1);
        ctl.cmd(&["SELECT", "1"]);
        note(&mut log, "push db1", ctl.cmd(&["RPUSH", "k", "db1"]));
        note(&mut log, "lw", lw.read_reply());
        ctl.cmd(&["SELECT", "0"]);
        note(&mut log, "db0 k", ctl.cmd(&["LRANGE", "k", "0", "-1"]));
        log
    });
}

#[test]
fn exec_serves_after_the_whole_transaction() {
    transcript_same(&[], |s| {
        let mut log = Vec::new();
        let mut ctl = s.raw();
        let mut w = s.raw();
        send(&mut w, &["BLPOP", "k", "0"]);
        wait_blocked(&mut ctl, 1);
        ctl.cmd(&["MULTI"]);
        ctl.cmd(&["RPUSH", "k", "a"]);
        ctl.cmd(&["LPOP", "k"]);
        note(&mut log, "exec", ctl.cmd(&["EXEC"]));
        wait_blocked(&mut ctl, 1);
        ctl.cmd(&["MULTI"]);
        ctl.cmd(&["RPUSH", "k2", "b"]);
        ctl.cmd(&["RPUSH", "k", "c", "d"]);
        ctl.cmd(&["LPOP", "k"]);
        note(&mut log, "exec", ctl.cmd(&["EXEC"]));
        note(&mut log, "w", w.read_reply());
        note(&mut log, "k", ctl.cmd(&["LRANGE", "k", "0", "-1"]));
        log
    });
}

#[test]
fn client_unblock_timeout_and_error() {
    transcript_same(&[], |s| {
        let mut log = Vec::new();
        let mut ctl = s.raw();
        let mut w = s.raw();
        let id = client_id(&mut w);
        note(&mut log, "not blocked", ctl.cmd(&["CLIENT", "UNBLOCK", &id]));
        for (block, how) in [
            (&["BLPOP", "k", "0"][..], None),
            (&["BRPOP", "k", "100"], Some("TIMEOUT")),
            (&["BLMOVE", "k", "d", "LEFT", "LEFT", "0"], Some("timeout")),
            (&["BLMPOP", "0", "1", "k", "LEFT"], Some("ERROR")),
            (&["BZPOPMIN", "k", "0"], Some("error")),
            (&["BZMPOP", "0", "1", "k", "MAX"], None),
        ] {
            send(&mut w, block);
            wait_blocked(&mut ctl, 1);
            note(&mut log, "bad reason", ctl.cmd(&["CLIENT", "UNBLOCK", &id, "maybe"]));
            note(&mut log, "other id", ctl.cmd(&["CLIENT", "UNBLOCK", "123456789"]));
            let mut args = vec!["CLIENT", "UNBLOCK", id.as_str()];
            args.extend(how);
            note(&mut log, "unblock", ctl.cmd(&args));
            note(&mut log, "waiter", w.read_reply());
            note(&mut log, "again", ctl.cmd(&["CLIENT", "UNBLOCK", &id]));
            note(&mut log, "waiter runs", w.cmd(&["PING"]));
        }
        resp3(&mut w);
        send(&mut w, &["BLPOP", "k", "0"]);
        wait_blocked(&mut ctl, 1);
        note(&mut log, "unblock", ctl.cmd(&["CLIENT", "UNBLOCK", &id]));
        note(&mut log, "resp3 waiter", w.read_reply());
        let errors = ctl.cmd_str(&["INFO", "errorstats"]);
        log.push(errors.lines().filter(|l| l.contains("UNBLOCKED")).collect::<Vec<_>>().join(","));
        log
    });
}

#[test]
fn a_pipelined_command_runs_after_the_blocked_one() {
    transcript_same(&[], |s| {
        let mut log = Vec::new();
        let mut w = s.raw();
        let mut ctl = s.raw();
        let mut batch = Vec::new();
        for c in
            [&["BLPOP", "k", "0"][..], &["SET", "after", "1"], &["GET", "after"], &["LPUSH", "k", "again"]]
        {
            let a: Vec<&[u8]> = c.iter().map(|x| x.as_bytes()).collect();
            batch.extend(encode(&a));
        }
        w.send(&batch);
        wait_blocked(&mut ctl, 1);
        note(&mut log, "before", ctl.cmd(&["GET", "after"]));
        note(&mut log, "push", ctl.cmd(&["RPUSH", "k", "v"]));
        for label in ["blpop", "set", "get", "lpush"] {
            note(&mut log, label, w.read_reply());
        }
        note(&mut log, "k", ctl.cmd(&["LRANGE", "k", "0", "-1"]));
        // A pipelined command behind a timeout.
        let mut batch = Vec::new();
        for c in [&["BRPOP", "nokey", "0.05"][..], &["PING"]] {
            let a: Vec<&[u8]> = c.iter().map(|x| x.as_bytes()).collect();
            batch.extend(encode(&a));
        }
        w.send(&batch);
        note(&mut log, "brpop", w.read_reply());
        note(&mut log, "ping", w.read_reply());
        // CLIENT REPLY SKIP drops the blocked command's reply, whenever it comes.
        let mut batch = Vec::new();
        for c in [&["CLIENT", "REPLY", "SKIP"][..], &["BLPOP", "nokey", "0.02"], &["PING"]] {
            let a: Vec<&[u8]> = c.iter().map(|x| x.as_bytes()).collect();
            batch.extend(encode(&a));
        }
        w.send(&batch);
        note(&mut log, "after skip", w.read_reply());
        log
    });
}

#[test]
fn a_disconnected_waiter_is_forgotten() {
    transcript_same(&[], |s| {
        let mut log = Vec::new();
        let mut ctl = s.raw();
        {
            let mut w1 = s.raw();
            let mut w2 = s.raw();
            send(&mut w1, &["BLPOP", "k", "0"]);
            wait_blocked(&mut ctl, 1);
            send(&mut w2, &["BZPOPMIN", "z", "k", "100"]);
            wait_blocked(&mut ctl, 2);
        }
        wait_blocked(&mut ctl, 0);
        note(&mut log, "push", ctl.cmd(&["RPUSH", "k", "v"]));
        note(&mut log, "zadd", ctl.cmd(&["ZADD", "z", "1", "m"]));
        note(&mut log, "k", ctl.cmd(&["LRANGE", "k", "0", "-1"]));
        note(&mut log, "z", ctl.cmd(&["ZCARD", "z"]));
        // A killed waiter too.
        let mut w = s.raw();
        let id = client_id(&mut w);
        send(&mut w, &["BLPOP", "nokey", "0"]);
        wait_blocked(&mut ctl, 1);
        note(&mut log, "kill", ctl.cmd(&["CLIENT", "KILL", "ID", &id]));
        wait_blocked(&mut ctl, 0);
        note(&mut log, "closed", format!("{}", w.is_closed()).into_bytes());
        log
    });
}

#[test]
fn info_and_client_list_show_blocked_clients() {
    transcript_same(&[], |s| {
        let mut log = Vec::new();
        let mut ctl = s.raw();
        let mut w1 = s.raw();
        let mut w2 = s.raw();
        let id1 = client_id(&mut w1);
        send(&mut w1, &["BLPOP", "k", "0"]);
        wait_blocked(&mut ctl, 1);
        send(&mut w2, &["BZPOPMAX", "z", "100"]);
        wait_blocked(&mut ctl, 2);
        for f in ["blocked_clients", "clients_in_timeout_table"] {
            log.push(format!("{f}={}", info_field(&mut ctl, "clients", f)));
        }
        let list = ctl.cmd_str(&["CLIENT", "LIST"]);
        let mut lines: Vec<String> = list
            .lines()
            .filter(|l| l.contains("id="))
            .map(|l| {
                let flags = l.split(' ').find(|f| f.starts_with("flags=")).unwrap_or("");
                let cmd = l.split(' ').find(|f| f.starts_with("cmd=")).unwrap_or("");
                format!("{flags} {cmd}")
            })
            .collect();
        lines.sort();
        log.extend(lines);
        let one = ctl.cmd_str(&["CLIENT", "LIST", "ID", &id1]);
        log.push(one.split(' ').filter(|f| f.starts_with("flags=")).collect());
        ctl.cmd(&["RPUSH", "k", "v"]);
        w1.read_reply();
        ctl.cmd(&["ZADD", "z", "1", "a"]);
        w2.read_reply();
        wait_blocked(&mut ctl, 0);
        log.push(format!("after={}", info_field(&mut ctl, "clients", "clients_in_timeout_table")));
        let stats = ctl.cmd_str(&["INFO", "commandstats"]);
        for l in stats.lines().filter(|l| l.starts_with("cmdstat_blpop") || l.starts_with("cmdstat_bzpopmax"))
        {
            // calls and failed calls; the times differ.
            let calls = l.split(',').filter(|f| f.contains("calls=")).collect::<Vec<_>>().join(",");
            log.push(calls.replace("cmdstat_blpop:", "").replace("cmdstat_bzpopmax:", ""));
        }
        log
    });
}

#[test]
fn keyspace_events_of_served_pops_match_redis() {
    transcript_same(&["--notify-keyspace-events", "KEA"], |s| {
        let mut log = Vec::new();
        let mut sub = s.raw();
        let mut ctl = s.raw();
        let mut w = s.raw();
        note(&mut log, "psub", sub.cmd(&["PSUBSCRIBE", "__key*__:*"]));
        send(&mut w, &["BLMOVE", "src", "dst", "LEFT", "RIGHT", "0"]);
        wait_blocked(&mut ctl, 1);
        note(&mut log, "push", ctl.cmd(&["RPUSH", "src", "x"]));
        note(&mut log, "w", w.read_reply());
        send(&mut w, &["BZPOPMIN", "z", "0"]);
        wait_blocked(&mut ctl, 1);
        note(&mut log, "zadd", ctl.cmd(&["ZADD", "z", "1", "a"]));
        note(&mut log, "w", w.read_reply());
        ctl.cmd(&["PUBLISH", "__keyspace@0__:end", "end"]);
        loop {
            let m = sub.read_reply();
            let text = String::from_utf8_lossy(&m).into_owned();
            log.push(text.clone());
            if text.contains("end") {
                break;
            }
        }
        log
    });
}

#[test]
fn many_waiters_across_workers() {
    // Brim only: 40 clients on 2 workers wait on 4 keys; pushes from both workers serve
    // each exactly once.
    let brim = Server::start(&[]);
    let mut ctl = brim.raw();
    let mut waiters: Vec<Raw> = (0..40).map(|_| brim.raw()).collect();
    for (i, w) in waiters.iter_mut().enumerate() {
        let key = format!("k{}", i % 4);
        send(w, &["BRPOP", &key, "0"]);
    }
    wait_blocked(&mut ctl, 40);
    let mut pushers: Vec<Raw> = (0..2).map(|_| brim.raw()).collect();
    for i in 0..40 {
        let key = format!("k{}", i % 4);
        let p = &mut pushers[i % 2];
        p.cmd(&["LPUSH", &key, &format!("v{i}")]);
    }
    let mut got: Vec<String> =
        waiters.iter_mut().map(|w| String::from_utf8_lossy(&w.read_reply()).into_owned()).collect();
    got.sort();
    let mut want: Vec<String> = (0..40)
        .map(|i| format!("*2\r\n$2\r\nk{}\r\n${}\r\nv{i}\r\n", i % 4, format!("v{i}").len()))
        .collect();
    want.sort();
    assert_eq!(got, want);
    wait_blocked(&mut ctl, 0);
    for k in 0..4 {
        assert_eq!(ctl.cmd(&["EXISTS", &format!("k{k}")]), b":0\r\n");
    }
}

#[test]
fn timeouts_racing_pushes_lose_and_duplicate_nothing() {
    // Brim only: waiters with 1 ms timeouts on several threads race pushers on both workers;
    // every pushed element ends up exactly once in a waiter's reply or in the list.
    let brim = Server::start(&[]);
    let port = brim.port;
    let pushed: usize = 2000;
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let waiters: Vec<_> = (0..6)
        .map(|i| {
            let stop = stop.clone();
            std::thread::spawn(move || {
                let mut c = Raw::connect(port);
                let mut got = Vec::new();
                let timeout = if i % 2 == 0 { "0.001" } else { "0.01" };
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    let r = c.cmd(&["BLPOP", "k", "other", timeout]);
                    if r != b"*-1\r\n" {
                        got.push(String::from_utf8_lossy(&r).into_owned());
                    }
                }
                got
            })
        })
        .collect();
    let pushers: Vec<_> = (0..2)
        .map(|p| {
            std::thread::spawn(move || {
                let mut c = Raw::connect(port);
                for i in (p..pushed).step_by(2) {
                    c.cmd(&["RPUSH", "k", &format!("e{i}")]);
                }
            })
        })
        .collect();
    for p in pushers {
        p.join().expect("pusher");
    }
    std::thread::sleep(Duration::from_millis(100));
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let mut seen: Vec<String> = Vec::new();
    for w in waiters {
        for r in w.join().expect("waiter") {
            let elem = r.rsplit("\r\n").nth(1).unwrap_or_default().to_string();
            assert!(r.starts_with("*2\r\n$1\r\nk\r\n"), "reply {r:?}");
            seen.push(elem);
        }
    }
    let mut ctl = brim.raw();
    let rest = ctl.cmd_str(&["LRANGE", "k", "0", "-1"]);
    seen.extend(rest.split("\r\n").filter(|l| l.starts_with('e')).map(str::to_string));
    seen.sort();
    let mut want: Vec<String> = (0..pushed).map(|i| format!("e{i}")).collect();
    want.sort();
    assert_eq!(seen.len(), want.len(), "elements lost or duplicated");
    assert_eq!(seen, want);
    wait_blocked(&mut ctl, 0);
}

/// The argument lists of the slow log's entries, newest first.
fn slowlog_args(con: &mut redis::Connection) -> Vec<Vec<String>> {
    let entries: Vec<redis::Value> =
        redis::cmd("SLOWLOG").arg("GET").arg("-1").query(con).expect("SLOWLOG GET");
    entries
        .into_iter()
        .filter_map(|e| match e {
            redis::Value::Array(fields) => match fields.get(3) {
                Some(redis::Value::Array(args)) => Some(
                    args.iter()
                        .map(|a| match a {
                            redis::Value::BulkString(b) => String::from_utf8_lossy(b).into_owned(),
                            other => format!("{other:?}"),
                        })
                        .collect(),
                ),
                _ => None,
            },
            _ => None,
        })
        .collect()
}

#[test]
fn blocked_commands_are_counted_and_slow_logged_when_unblocked() {
    transcript_same(&["--slowlog-log-slower-than", "0"], |s| {
        let mut log = Vec::new();
        let mut ctl = s.raw();
        let mut w = s.raw();
        let mut con = s.client();
        let id = client_id(&mut w);
        ctl.cmd(&["SLOWLOG", "RESET"]);
        ctl.cmd(&["CONFIG", "RESETSTAT"]);
        let counts = |ctl: &mut Raw, log: &mut Vec<String>, when: &str| {
            let stats = ctl.cmd_str(&["INFO", "commandstats"]);
            let mut lines: Vec<String> = stats
                .lines()
                .filter(|l| l.starts_with("cmdstat_b"))
                .map(|l| l.split(',').filter(|f| f.contains("calls=")).collect::<Vec<_>>().join(","))
                .collect();
            lines.sort();
            log.push(format!("{when}: {}", lines.join(" ")));
        };
        send(&mut w, &["BLPOP", "k", "0"]);
        wait_blocked(&mut ctl, 1);
        counts(&mut ctl, &mut log, "blocked");
        ctl.cmd(&["RPUSH", "k", "v"]);
        note(&mut log, "w", w.read_reply());
        counts(&mut ctl, &mut log, "served");
        assert_eq!(w.cmd(&["BRPOP", "k", "0.01"]), b"*-1\r\n");
        counts(&mut ctl, &mut log, "timed out");
        for how in ["TIMEOUT", "ERROR"] {
            send(&mut w, &["BLMPOP", "0", "1", "k", "LEFT"]);
            wait_blocked(&mut ctl, 1);
            ctl.cmd(&["CLIENT", "UNBLOCK", &id, how]);
            note(&mut log, how, w.read_reply());
            counts(&mut ctl, &mut log, how);
        }
        ctl.cmd(&["SET", "str", "x"]);
        send(&mut w, &["BLMOVE", "k", "str", "LEFT", "LEFT", "0"]);
        wait_blocked(&mut ctl, 1);
        ctl.cmd(&["RPUSH", "k", "v"]);
        note(&mut log, "wrong type", w.read_reply());
        counts(&mut ctl, &mut log, "wrong type");
        for args in slowlog_args(&mut con) {
            if !args
                .first()
                .is_some_and(|a| a.eq_ignore_ascii_case("info") || a.eq_ignore_ascii_case("client"))
            {
                log.push(args.join(" "));
            }
        }
        log
    });
}
