//! Shared helpers for integration tests: start the real `brim-server` binary (or the real
//! `redis-server` oracle) on a free loopback port, and talk to it with raw RESP or the
//! `redis` crate.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

/// A free loopback port (bound then released).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("free port")
}

/// Worker threads for test servers: `BRIM_IO_THREADS` (CI runs the suite with 1 and 2).
pub fn io_threads() -> String {
    std::env::var("BRIM_IO_THREADS").unwrap_or_else(|_| "2".to_string())
}

/// A server process that is killed when dropped.
pub struct Server {
    pub port: u16,
    pub child: Child,
    pub dir: PathBuf,
}

/// Whether the server came up on `port`: `Err` with its exit status if it exited first.
fn wait_for_port(port: u16, child: &mut Child) -> Result<(), String> {
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            // Another test's server may hold the port (ours then fails to bind and exits):
            // only a server reporting our child's process id (or refusing INFO before
            // AUTH) counts.
            match process_id(port) {
                Probe::Pid(pid) if pid == child.id() => return Ok(()),
                Probe::Refused if matches!(child.try_wait(), Ok(None)) => return Ok(()),
                _ => {}
            }
        }
        if let Ok(Some(status)) = child.try_wait() {
            return Err(format!("server exited during start-up: {status}"));
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    panic!("server did not listen on port {port}");
}

/// What answered on a port at start-up.
enum Probe {
    /// A server reporting this process id in INFO.
    Pid(u32),
    /// A server refusing INFO (NOAUTH before AUTH).
    Refused,
    /// Nothing usable: no answer, or not a server (a socket connected to itself).
    Unknown,
}

/// Ask the server on `port` for its `process_id` (INFO server).
fn process_id(port: u16) -> Probe {
    let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) else { return Probe::Unknown };
    if s.set_read_timeout(Some(Duration::from_secs(1))).is_err() || s.write_all(b"INFO server\r\n").is_err() {
        return Probe::Unknown;
    }
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let n = match s.read(&mut chunk) {
            Ok(n) if n > 0 => n,
            _ => return Probe::Unknown,
        };
        buf.extend_from_slice(&chunk[..n]);
        let text = String::from_utf8_lossy(&buf);
        if text.starts_with('-') {
            return Probe::Refused;
        }
        if !text.starts_with('$') {
            return Probe::Unknown;
        }
        if let Some(i) = text.find("process_id:") {
            if let Some(len) = text[i..].find("\r\n") {
                let pid = text[i + "process_id:".len()..i + len].parse().ok();
                return pid.map_or(Probe::Unknown, Probe::Pid);
            }
        }
    }
}

/// Spawn the command `build` makes for a free port until one comes up listening. A server
/// that exits during start-up is retried twice on another port: between `free_port`
/// releasing a port and the server binding it, a parallel test may take it. The server's
/// output goes to `log` (see [`log_path`]).
fn spawn_listening(log: &Path, mut build: impl FnMut(u16) -> Command) -> (u16, Child) {
    let mut attempts = 0;
    loop {
        let port = free_port();
        let mut cmd = build(port);
        let out = std::fs::OpenOptions::new().create(true).append(true).open(log).expect("server log");
        let err = out.try_clone().expect("server log");
        cmd.stdout(out).stderr(err);
        let mut child = cmd.spawn().expect("spawn server");
        match wait_for_port(port, &mut child) {
            Ok(()) => return (port, child),
            Err(e) if attempts == 2 => panic!("{e}"),
            Err(_) => attempts += 1,
        }
    }
}

/// Where the output of the server whose `--dir` is `dir` goes: beside the directory, so that
/// tests listing the directory don't see it. Shown when a test fails (see `Drop for Server`).
fn log_path(dir: &Path) -> PathBuf {
    dir.with_extension("log")
}

fn temp_dir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("brim-test-{tag}-{}-{}", std::process::id(), free_port()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

impl Server {
    /// Start `brim-server` with `extra` arguments (`--name value` pairs).
    pub fn start(extra: &[&str]) -> Server {
        Self::start_with(None, extra)
    }

    /// Start `brim-server` with a config file and `extra` arguments.
    pub fn start_with(config_file: Option<&str>, extra: &[&str]) -> Server {
        let dir = temp_dir("brim");
        let (port, child) = spawn_listening(&log_path(&dir), |port| {
            let mut cmd = Command::new(env!("CARGO_BIN_EXE_brim-server"));
            if let Some(f) = config_file {
                cmd.arg(f);
            }
            cmd.args([
                "--port",
                &port.to_string(),
                "--io-threads",
                &io_threads(),
                "--dir",
                dir.to_str().unwrap_or("."),
            ]);
            cmd.args(extra);
            cmd
        });
        Server { port, child, dir }
    }

    /// Start the real Redis 7.0 (`redis-server`), the oracle, with `extra` arguments.
    pub fn redis(extra: &[&str]) -> Server {
        let dir = temp_dir("redis");
        let (port, child) = spawn_listening(&log_path(&dir), |port| {
            let mut cmd = Command::new("redis-server");
            cmd.args([
                "--port",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                dir.to_str().unwrap_or("."),
            ]);
            cmd.args(extra);
            cmd
        });
        Server { port, child, dir }
    }

    /// `127.0.0.1:port`.
    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// A raw RESP connection.
    pub fn raw(&self) -> Raw {
        Raw::connect(self.port)
    }

    /// A `redis` crate connection.
    pub fn client(&self) -> redis::Connection {
        redis::Client::open(format!("redis://127.0.0.1:{}/", self.port))
            .and_then(|c| c.get_connection())
            .expect("redis connection")
    }

    /// Run `redis-cli` against this server with `args`; returns stdout.
    pub fn cli(&self, args: &[&str]) -> String {
        let out = Command::new("redis-cli")
            .args(["-p", &self.port.to_string()])
            .args(args)
            .output()
            .expect("redis-cli");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Wait up to 10 s for the process to exit; returns whether it did.
    pub fn wait_exit(&mut self) -> bool {
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        false
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let log = log_path(&self.dir);
        if std::thread::panicking() {
            let text = std::fs::read_to_string(&log).unwrap_or_default();
            let tail: Vec<&str> = text.lines().rev().take(40).collect();
            let tail: Vec<&str> = tail.into_iter().rev().collect();
            eprintln!("--- last lines of the server on port {} ---\n{}", self.port, tail.join("\n"));
        }
        let _ = std::fs::remove_file(log);
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A raw RESP connection that reads whole replies.
pub struct Raw {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
}

/// Encode a command as a RESP multibulk.
pub fn encode(args: &[&[u8]]) -> Vec<u8> {
    let mut v = format!("*{}\r\n", args.len()).into_bytes();
    for a in args {
        v.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
        v.extend_from_slice(a);
        v.extend_from_slice(b"\r\n");
    }
    v
}

impl Raw {
    /// Connect to a loopback port (a refused connection is retried for up to a second:
    /// under a loaded CI machine a fresh server has been seen refusing a connection right
    /// after answering its start-up probe).
    pub fn connect(port: u16) -> Raw {
        let deadline = Instant::now() + Duration::from_secs(1);
        let s = loop {
            match TcpStream::connect(("127.0.0.1", port)) {
                Ok(s) => break s,
                Err(e) if Instant::now() >= deadline => panic!("connect to port {port}: {e}"),
                Err(_) => std::thread::sleep(Duration::from_millis(10)),
            }
        };
        s.set_read_timeout(Some(Duration::from_secs(10))).ok();
        s.set_nodelay(true).ok();
        Raw { reader: BufReader::new(s.try_clone().expect("clone")), writer: s }
    }

    /// Send raw bytes.
    pub fn send(&mut self, bytes: &[u8]) {
        self.writer.write_all(bytes).expect("send");
    }

    /// Send a command and read its whole reply, as raw bytes.
    pub fn cmd(&mut self, args: &[&str]) -> Vec<u8> {
        let a: Vec<&[u8]> = args.iter().map(|s| s.as_bytes()).collect();
        self.send(&encode(&a));
        self.read_reply()
    }

    /// Like `cmd`, returning the reply as (lossy) text.
    pub fn cmd_str(&mut self, args: &[&str]) -> String {
        String::from_utf8_lossy(&self.cmd(args)).into_owned()
    }

    /// Read one complete reply (any RESP2/RESP3 type), raw.
    pub fn read_reply(&mut self) -> Vec<u8> {
        let mut out = Vec::new();
        self.read_into(&mut out);
        out
    }

    fn read_into(&mut self, out: &mut Vec<u8>) {
        let mut first = [0u8; 1];
        self.reader.read_exact(&mut first).expect("read reply");
        out.push(first[0]);
        let head = self.read_line_rest(out);
        match first[0] {
            b'$' | b'=' | b'!' => {
                let n: i64 = head.parse().unwrap_or(-1);
                if n >= 0 {
                    let mut body = vec![0u8; n as usize + 2];
                    self.reader.read_exact(&mut body).expect("read bulk");
                    out.extend_from_slice(&body);
                }
            }
            b'*' | b'~' | b'>' => {
                let n: i64 = head.parse().unwrap_or(-1);
                for _ in 0..n.max(0) {
                    self.read_into(out);
                }
            }
            b'%' | b'|' => {
                let n: i64 = head.parse().unwrap_or(-1);
                for _ in 0..(n.max(0) * 2) {
                    self.read_into(out);
                }
            }
            _ => {}
        }
    }

    fn read_line_rest(&mut self, out: &mut Vec<u8>) -> String {
        let mut line = Vec::new();
        self.reader.read_until(b'\n', &mut line).expect("read line");
        out.extend_from_slice(&line);
        String::from_utf8_lossy(&line[..line.len().saturating_sub(2)]).into_owned()
    }

    /// Whether the server closed the connection (reads until EOF or 2 s).
    pub fn is_closed(&mut self) -> bool {
        self.writer.set_read_timeout(Some(Duration::from_secs(2))).ok();
        let mut buf = [0u8; 256];
        loop {
            match self.reader.read(&mut buf) {
                Ok(0) => return true,
                Ok(_) => continue,
                Err(_) => return false,
            }
        }
    }
}

/// Assert that Brim and the Redis oracle give byte-identical replies to each command.
/// Each line is a command split on spaces (no quoting needed for simple cases).
pub fn assert_same(brim: &mut Raw, redis: &mut Raw, commands: &[&[&str]]) {
    for c in commands {
        let want = redis.cmd(c);
        let got = brim.cmd(c);
        assert_eq!(String::from_utf8_lossy(&got), String::from_utf8_lossy(&want), "command {c:?}");
    }
}

/// Brim and the Redis oracle started with the same extra arguments, plus a raw connection
/// to each.
pub fn pair(extra: &[&str]) -> (Server, Server, Raw, Raw) {
    let brim = Server::start(extra);
    let redis = Server::redis(extra);
    let (b, r) = (brim.raw(), redis.raw());
    (brim, redis, b, r)
}

/// Run a script (one command per line, arguments split on whitespace, `#` comments) on both
/// servers and compare every reply byte for byte.
pub fn same(b: &mut Raw, r: &mut Raw, script: &str) {
    for line in script.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')) {
        let args: Vec<&str> = line.split_whitespace().collect();
        assert_same(b, r, &[&args]);
    }
}

/// The value of `field` in `INFO section` (panics if it is missing).
pub fn info_str(raw: &mut Raw, section: &str, field: &str) -> String {
    let text = raw.cmd_str(&["INFO", section]);
    let prefix = format!("{field}:");
    text.lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .unwrap_or_else(|| panic!("no {field} in INFO {section}: {text}"))
        .trim()
        .to_string()
}

/// A numeric `INFO section` field.
pub fn info_i64(raw: &mut Raw, section: &str, field: &str) -> i64 {
    info_str(raw, section, field).parse().expect("numeric INFO field")
}

/// Poll `f` every 20 ms until it holds; panics naming `what` after 20 s.
pub fn wait_for(mut f: impl FnMut() -> bool, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if f() {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("timed out waiting for {what}");
}

/// Wait until the server counts exactly `clients` connections, so a measurement does not
/// include the buffers of a connection (such as the start-up probe) still being torn down.
pub fn wait_for_clients(raw: &mut Raw, clients: i64) {
    wait_for(|| info_i64(raw, "clients", "connected_clients") == clients, "the other connections to close");
}

/// The elements of a RESP array reply of bulk strings, as text (`(nil)` for a null).
pub fn bulks(reply: &[u8]) -> Vec<String> {
    let text = String::from_utf8_lossy(reply).into_owned();
    let mut out = Vec::new();
    let mut lines = text.split("\r\n");
    let head = lines.next().unwrap_or("");
    assert!(head.starts_with('*'), "not an array: {text:?}");
    while let Some(l) = lines.next() {
        if l.starts_with('$') {
            if l == "$-1" {
                out.push("(nil)".to_string());
            } else {
                out.push(lines.next().unwrap_or("").to_string());
            }
        }
    }
    out
}
