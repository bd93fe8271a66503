//! Protocol and networking: inline and multibulk requests, pipelining, protocol errors that
//! close the connection (compared with the real Redis), limits, maxclients, idle timeout,
//! unix sockets, start-up errors.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Command;
use std::time::{Duration, Instant};

use common::{encode, Raw, Server};

/// Send `bytes` on a fresh connection and collect everything the server sends back until it
/// closes the connection or stays silent for a while.
fn exchange(port: u16, bytes: &[u8]) -> (Vec<u8>, bool) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_millis(700))).unwrap();
    s.write_all(bytes).unwrap();
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match s.read(&mut buf) {
            Ok(0) => return (out, true),
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {
                return (out, false)
            }
            Err(_) => return (out, true),
        }
    }
}

#[test]
fn protocol_errors_match_redis_and_close_the_connection() {
    let brim = Server::start(&[]);
    let redis = Server::redis(&[]);
    let cases: &[&[u8]] = &[
        b"*1\r\n$4\r\nPING\r\n*x\r\n",
        b"*1\r\n$4\r\nPING\r\n*3\r\n$3\r\nSET\r\n:1\r\n",
        b"*2\r\n$3\r\nGET\r\n$-5\r\n",
        b"*1\r\n$999999999999\r\n",
        b"*-1\r\nPING\r\n",
        b"*0\r\nPING\r\n",
        b"SET k \"unbalanced\r\n",
        b"SET k 'a'b\r\n",
        b"  \r\n\r\nPING\r\n",
        b"ECHO \"a\\x41\\n\"\r\n",
        b"*1\r\n$4\r\nPING\r\n*2000000\r\n",
        b"*3\r\n$3\r\nset\r\n$1\r\na\r\n$536870913\r\n",
    ];
    for case in cases {
        let want = exchange(redis.port, case);
        let got = exchange(brim.port, case);
        assert_eq!(
            (String::from_utf8_lossy(&got.0), got.1),
            (String::from_utf8_lossy(&want.0), want.1),
            "input {:?}",
            String::from_utf8_lossy(case)
        );
    }
}

#[test]
fn inline_commands_and_quoting() {
    let brim = Server::start(&[]);
    let (out, _) = exchange(brim.port, b"SET greeting \"hello world\"\r\nGET greeting\nECHO 'it''s'\r\n");
    assert_eq!(
        String::from_utf8_lossy(&out),
        "+OK\r\n$11\r\nhello world\r\n-ERR Protocol error: unbalanced quotes in request\r\n"
    );
}

#[test]
fn thousands_of_pipelined_commands_in_one_write() {
    let brim = Server::start(&[]);
    let mut raw = brim.raw();
    let mut batch = Vec::new();
    for i in 0..5000 {
        batch.extend_from_slice(&encode(&[b"SET", format!("k{i}").as_bytes(), format!("{i}").as_bytes()]));
    }
    for i in 0..5000 {
        batch.extend_from_slice(&encode(&[b"GET", format!("k{i}").as_bytes()]));
    }
    raw.send(&batch);
    for _ in 0..5000 {
        assert_eq!(raw.read_reply(), b"+OK\r\n");
    }
    for i in 0..5000 {
        let v = i.to_string();
        assert_eq!(raw.read_reply(), format!("${}\r\n{}\r\n", v.len(), v).into_bytes());
    }
}

#[test]
fn a_command_split_across_many_writes_is_parsed_once_complete() {
    let brim = Server::start(&[]);
    let mut s = TcpStream::connect(("127.0.0.1", brim.port)).unwrap();
    let value = vec![b'x'; 100_000];
    let cmd = encode(&[b"SET", b"big", &value]);
    for chunk in cmd.chunks(7_777) {
        s.write_all(chunk).unwrap();
        s.flush().unwrap();
    }
    let mut raw = Raw::connect(brim.port);
    let mut buf = [0u8; 5];
    s.read_exact(&mut buf).unwrap();
    assert_eq!(&buf, b"+OK\r\n");
    let reply = raw.cmd(&["STRLEN", "big"]);
    assert!(reply == b":100000\r\n" || reply.starts_with(b"-ERR unknown command"), "{reply:?}");
}

#[test]
fn an_announced_huge_bulk_does_not_allocate_or_crash() {
    let brim = Server::start(&["--proto-max-bulk-len", "1gb"]);
    // Announce ~1 GB and send only a little: the server must wait without reserving it.
    let mut s = TcpStream::connect(("127.0.0.1", brim.port)).unwrap();
    s.write_all(b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1000000000\r\nabc").unwrap();
    std::thread::sleep(Duration::from_millis(200));
    let mut raw = brim.raw();
    let info = String::from_utf8_lossy(&raw.cmd(&["INFO", "memory"])).into_owned();
    if let Some(used) = info.lines().find_map(|l| l.strip_prefix("used_memory:")) {
        let used: u64 = used.trim().parse().unwrap();
        assert!(used < 200 << 20, "used_memory {used} after announcing a 1 GB bulk");
    }
    assert_eq!(raw.cmd(&["PING"]), b"+PONG\r\n");
    // Beyond proto-max-bulk-len: refused with Redis's error.
    let (out, closed) = exchange(brim.port, b"*2\r\n$3\r\nGET\r\n$2000000000\r\n");
    assert_eq!(out, b"-ERR Protocol error: invalid bulk length\r\n");
    assert!(closed);
}

#[test]
fn query_buffer_limit_closes_the_client() {
    let brim = Server::start(&["--client-query-buffer-limit", "1mb"]);
    let mut s = TcpStream::connect(("127.0.0.1", brim.port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let header = b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$3000000\r\n";
    let _ = s.write_all(header);
    let chunk = vec![b'a'; 64 * 1024];
    let mut closed = false;
    for _ in 0..40 {
        if s.write_all(&chunk).is_err() {
            closed = true;
            break;
        }
    }
    if !closed {
        let mut buf = [0u8; 16];
        closed = matches!(s.read(&mut buf), Ok(0) | Err(_));
    }
    assert!(closed, "connection stayed open past client-query-buffer-limit");
    assert_eq!(brim.raw().cmd(&["PING"]), b"+PONG\r\n");
}

/// A connection the server admits, retried while it refuses: the start-up probe's two
/// connections may still count for a moment (a busy machine has been seen refusing even the
/// first client after them).
fn admitted(port: u16) -> Raw {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let mut c = Raw::connect(port);
        let reply = c.cmd(&["PING"]);
        if reply == b"+PONG\r\n" {
            return c;
        }
        assert!(Instant::now() < deadline, "client refused: {reply:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn maxclients_refuses_with_redis_error() {
    let brim = Server::start(&["--maxclients", "2"]);
    let _a = admitted(brim.port);
    let _b = admitted(brim.port);
    let (out, closed) = exchange(brim.port, b"PING\r\n");
    assert_eq!(out, b"-ERR max number of clients reached\r\n");
    assert!(closed);
}

#[test]
fn idle_clients_are_closed_after_timeout() {
    let brim = Server::start(&["--timeout", "1"]);
    let mut raw = brim.raw();
    assert_eq!(raw.cmd(&["PING"]), b"+PONG\r\n");
    let start = Instant::now();
    assert!(
        raw.is_closed() || {
            // is_closed waits 2 s at most; the server closes after about 1 s of idleness.
            Raw::connect(brim.port).is_closed()
        }
    );
    assert!(start.elapsed() < Duration::from_secs(5));
}

#[test]
fn a_timeout_set_at_runtime_closes_clients_already_idle() {
    for server in [Server::start(&[]), Server::redis(&[])] {
        let mut idle = server.raw();
        assert_eq!(idle.cmd(&["PING"]), b"+PONG\r\n");
        std::thread::sleep(Duration::from_millis(1100));
        let start = Instant::now();
        assert_eq!(server.raw().cmd(&["CONFIG", "SET", "timeout", "1"]), b"+OK\r\n");
        // Idle for over a second already: closed at once by Brim, by the next clientsCron
        // pass in Redis (is_closed waits 2 s at most).
        assert!(idle.is_closed(), "port {}: the idle client is still open", server.port);
        assert!(start.elapsed() < Duration::from_secs(3));
    }
}

#[test]
fn unix_socket_serves_commands() {
    let dir = std::env::temp_dir().join(format!("brim-sock-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("brim.sock");
    let path_s = path.to_str().unwrap().to_string();
    let _brim = Server::start(&["--unixsocket", &path_s, "--unixsocketperm", "700"]);
    let out = Command::new("redis-cli").args(["-s", &path_s, "PING"]).output().unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "PONG");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn bad_config_stops_startup_naming_the_line() {
    let dir = std::env::temp_dir().join(format!("brim-conf-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let conf = dir.join("bad.conf");
    std::fs::write(&conf, "port 7000\nmaxmemory lots\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_brim-server")).arg(&conf).output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr).into_owned() + &String::from_utf8_lossy(&out.stdout);
    assert!(err.contains("line 2"), "{err}");
    assert!(err.contains("maxmemory lots"), "{err}");
    let out =
        Command::new(env!("CARGO_BIN_EXE_brim-server")).args(["--no-such-directive", "1"]).output().unwrap();
    assert!(!out.status.success());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn sigterm_shuts_down_cleanly() {
    let mut brim = Server::start(&[]);
    // SAFETY: sending a signal to our own child process.
    unsafe { libc::kill(brim.child.id() as i32, libc::SIGTERM) };
    assert!(brim.wait_exit(), "server did not exit on SIGTERM");
}

#[test]
fn connections_on_different_workers_see_each_others_writes() {
    let brim = Server::start(&[]);
    let mut conns: Vec<Raw> = (0..4).map(|_| brim.raw()).collect();
    for (i, c) in conns.iter_mut().enumerate() {
        assert_eq!(c.cmd(&["SET", &format!("w{i}"), &i.to_string()]), b"+OK\r\n");
    }
    for c in conns.iter_mut() {
        for i in 0..4 {
            let v = i.to_string();
            assert_eq!(c.cmd(&["GET", &format!("w{i}")]), format!("${}\r\n{}\r\n", v.len(), v).into_bytes());
        }
    }
}
