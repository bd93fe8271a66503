//! `brim-nullserver [--port N] [--bind ADDR]`: a RESP server without a keyspace, the benchmark's limit.
//!
//! It parses every command (multibulk or inline, pipelined) like a real server must, and answers from the
//! command name alone, the cheapest reply of the right kind: `+PONG` for PING, `$-1` for reads (GET, *POP,
//! HGET), `*0` for array reads (LRANGE, MGET, ...), an empty name/value pair for CONFIG GET, `:1` for
//! counters and pushes (INCR, LPUSH, SADD, HSET, ZADD, DEL, ...), `+OK` for anything else. One thread, one
//! epoll loop, non-blocking sockets, like Brim's own single-worker mode, so `scripts/bench` can show how
//! close each server gets to what loopback I/O and `redis-benchmark` allow on the machine. Nothing is stored.

use std::io::{ErrorKind, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::fd::{AsRawFd, RawFd};

/// Largest request buffer kept for one connection before it is closed (a null server needs no more).
const MAX_BUFFER: usize = 64 << 20;

/// What the parser found at the start of a buffer.
#[derive(Debug, PartialEq, Eq)]
enum Parsed {
    /// A complete command: bytes consumed and the (upper-cased, truncated) command name.
    Command(usize, [u8; 16]),
    /// More bytes are needed.
    Incomplete,
    /// Not RESP: the connection is answered with an error and closed.
    Invalid,
}

fn find_crlf(buf: &[u8], from: usize) -> Option<usize> {
    let mut at = from;
    loop {
        let cr = buf.get(at..)?.iter().position(|&b| b == b'\r')? + at;
        if buf.get(cr + 1) == Some(&b'\n') {
            return Some(cr);
        }
        at = cr + 1;
    }
}

fn parse_int(b: &[u8]) -> Option<i64> {
    std::str::from_utf8(b).ok()?.parse().ok()
}

fn upper_name(src: &[u8]) -> [u8; 16] {
    let mut name = [0u8; 16];
    for (d, s) in name.iter_mut().zip(src) {
        *d = s.to_ascii_uppercase();
    }
    name
}

/// Parse one command at the start of `buf`.
fn parse(buf: &[u8]) -> Parsed {
    let Some(&first) = buf.first() else { return Parsed::Incomplete };
    if first != b'*' {
        // Inline command: a line of space-separated words.
        let Some(end) = find_crlf(buf, 0).or_else(|| buf.iter().position(|&b| b == b'\n')) else {
            return if buf.len() > MAX_BUFFER { Parsed::Invalid } else { Parsed::Incomplete };
        };
        let line = buf.get(..end).unwrap_or_default();
        let word = line.split(|&b| b == b' ').find(|w| !w.is_empty()).unwrap_or_default();
        let consumed = if buf.get(end) == Some(&b'\r') { end + 2 } else { end + 1 };
        return Parsed::Command(consumed, upper_name(word));
    }
    let Some(end) = find_crlf(buf, 1) else { return Parsed::Incomplete };
    let Some(argc) = buf.get(1..end).and_then(parse_int) else { return Parsed::Invalid };
    let mut pos = end + 2;
    let mut name = [0u8; 16];
    for i in 0..argc.max(0) {
        match buf.get(pos) {
            None => return Parsed::Incomplete,
            Some(b'$') => {}
            Some(_) => return Parsed::Invalid,
        }
        let Some(end) = find_crlf(buf, pos + 1) else { return Parsed::Incomplete };
        let Some(len) = buf.get(pos + 1..end).and_then(parse_int) else { return Parsed::Invalid };
        let Ok(len) = usize::try_from(len) else { return Parsed::Invalid };
        let start = end + 2;
        let Some(stop) = start.checked_add(len).and_then(|s| s.checked_add(2)) else {
            return Parsed::Invalid;
        };
        if buf.len() < stop {
            return Parsed::Incomplete;
        }
        if i == 0 {
            name = upper_name(buf.get(start..start + len).unwrap_or_default());
        }
        pos = stop;
    }
    Parsed::Command(pos, name)
}

/// The reply for a command name.
fn reply(name: &[u8; 16]) -> &'static [u8] {
    let n = name.split(|&b| b == 0).next().unwrap_or_default();
    match n {
        b"PING" => b"+PONG\r\n",
        b"GET" | b"LPOP" | b"RPOP" | b"SPOP" | b"HGET" | b"GETDEL" | b"SRANDMEMBER" | b"LINDEX" => b"$-1\r\n",
        b"CONFIG" => b"*2\r\n$0\r\n\r\n$0\r\n\r\n",
        b"LRANGE" | b"ZRANGE" | b"MGET" | b"HGETALL" | b"SMEMBERS" | b"ZPOPMIN" | b"ZPOPMAX" | b"KEYS"
        | b"SCAN" => b"*0\r\n",
        b"INCR" | b"DECR" | b"INCRBY" | b"DECRBY" | b"LPUSH" | b"RPUSH" | b"SADD" | b"HSET" | b"ZADD"
        | b"DEL" | b"EXISTS" | b"EXPIRE" | b"LLEN" | b"SCARD" | b"HLEN" | b"ZCARD" | b"DBSIZE"
        | b"UNLINK" => b":1\r\n",
        _ => b"+OK\r\n",
    }
}

/// Handle every complete command in `inp`, appending replies to `out`. Returns false to close.
fn serve(inp: &mut Vec<u8>, out: &mut Vec<u8>) -> bool {
    let mut pos = 0;
    let mut keep = true;
    loop {
        match parse(inp.get(pos..).unwrap_or_default()) {
            Parsed::Command(used, name) => {
                pos += used;
                if name.starts_with(b"QUIT\0") {
                    out.extend_from_slice(b"+OK\r\n");
                    keep = false;
                    break;
                }
                if name.starts_with(b"SHUTDOWN\0") {
                    std::process::exit(0);
                }
                if name[0] != 0 {
                    out.extend_from_slice(reply(&name));
                }
            }
            Parsed::Incomplete => break,
            Parsed::Invalid => {
                out.extend_from_slice(b"-ERR Protocol error\r\n");
                keep = false;
                break;
            }
        }
    }
    inp.drain(..pos);
    keep && inp.len() <= MAX_BUFFER
}

struct Conn {
    stream: TcpStream,
    inp: Vec<u8>,
    out: Vec<u8>,
    closing: bool,
}

fn epoll_ctl(ep: RawFd, op: i32, fd: RawFd, events: u32) -> std::io::Result<()> {
    let mut ev = libc::epoll_event { events, u64: fd as u64 };
    // SAFETY: ep and fd are open descriptors owned by this process; ev outlives the call.
    if unsafe { libc::epoll_ctl(ep, op, fd, &mut ev) } < 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

/// Write as much of `out` as the socket takes; Err when the connection is gone.
fn flush(c: &mut Conn) -> std::io::Result<()> {
    let mut sent = 0;
    while sent < c.out.len() {
        match c.stream.write(c.out.get(sent..).unwrap_or_default()) {
            Ok(0) => return Err(ErrorKind::WriteZero.into()),
            Ok(n) => sent += n,
            Err(e) if e.kind() == ErrorKind::WouldBlock => break,
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    c.out.drain(..sent);
    Ok(())
}

/// Read what is there, serve it, write replies. Ok(false) when the connection should be dropped.
fn on_event(c: &mut Conn, chunk: &mut [u8]) -> std::io::Result<bool> {
    loop {
        match c.stream.read(chunk) {
            Ok(0) => return Ok(false),
            Ok(n) => {
                c.inp.extend_from_slice(chunk.get(..n).unwrap_or_default());
                if !serve(&mut c.inp, &mut c.out) {
                    c.closing = true;
                    break;
                }
                if n < chunk.len() {
                    break;
                }
            }
            Err(e) if e.kind() == ErrorKind::WouldBlock => break,
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    flush(c)?;
    Ok(!(c.closing && c.out.is_empty()))
}

/// Accept every pending connection, registering each with epoll in its fd-indexed slot.
fn accept_all(listener: &TcpListener, ep: RawFd, conns: &mut Vec<Option<Conn>>) -> std::io::Result<()> {
    loop {
        match listener.accept() {
            Ok((stream, _)) => {
                stream.set_nonblocking(true)?;
                let _ = stream.set_nodelay(true);
                let cfd = stream.as_raw_fd();
                let Ok(slot) = usize::try_from(cfd) else { continue };
                epoll_ctl(ep, libc::EPOLL_CTL_ADD, cfd, (libc::EPOLLIN | libc::EPOLLRDHUP) as u32)?;
                if conns.len() <= slot {
                    conns.resize_with(slot + 1, || None);
                }
                if let Some(s) = conns.get_mut(slot) {
                    *s = Some(Conn { stream, inp: Vec::new(), out: Vec::new(), closing: false });
                }
            }
            Err(e) if e.kind() == ErrorKind::WouldBlock => return Ok(()),
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(_) => return Ok(()),
        }
    }
}

fn run(bind: &str, port: u16) -> std::io::Result<()> {
    let listener = TcpListener::bind((bind, port))?;
    listener.set_nonblocking(true)?;
    // SAFETY: plain syscall; the result is checked.
    let ep = unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) };
    if ep < 0 {
        return Err(std::io::Error::last_os_error());
    }
    let lfd = listener.as_raw_fd();
    epoll_ctl(ep, libc::EPOLL_CTL_ADD, lfd, libc::EPOLLIN as u32)?;
    let mut conns: Vec<Option<Conn>> = Vec::new();
    let mut scratch = vec![0u8; 64 * 1024];
    let mut events = vec![libc::epoll_event { events: 0, u64: 0 }; 256];
    loop {
        // SAFETY: events has room for `len` entries and lives across the call.
        let n = unsafe { libc::epoll_wait(ep, events.as_mut_ptr(), events.len() as i32, -1) };
        if n < 0 {
            let e = std::io::Error::last_os_error();
            if e.kind() == ErrorKind::Interrupted {
                continue;
            }
            return Err(e);
        }
        for ev in events.iter().take(n as usize) {
            let fd = ev.u64 as RawFd;
            if fd == lfd {
                accept_all(&listener, ep, &mut conns)?;
                continue;
            }
            let slot = usize::try_from(fd).unwrap_or(usize::MAX);
            let Some(Some(c)) = conns.get_mut(slot) else { continue };
            let had_out = !c.out.is_empty();
            match on_event(c, &mut scratch) {
                Ok(true) => {
                    let want_out = !c.out.is_empty();
                    if want_out != had_out {
                        let mut flags = (libc::EPOLLIN | libc::EPOLLRDHUP) as u32;
                        if want_out {
                            flags |= libc::EPOLLOUT as u32;
                        }
                        epoll_ctl(ep, libc::EPOLL_CTL_MOD, fd, flags)?;
                    }
                }
                _ => {
                    let _ = epoll_ctl(ep, libc::EPOLL_CTL_DEL, fd, 0);
                    if let Some(s) = conns.get_mut(slot) {
                        *s = None;
                    }
                }
            }
        }
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let mut port: u16 = 6399;
    let mut bind = "127.0.0.1".to_string();
    let mut i = 1;
    while i < args.len() {
        let value = args.get(i + 1).cloned().unwrap_or_default();
        match args.get(i).map(String::as_str) {
            Some("--port") => match value.parse() {
                Ok(p) => port = p,
                Err(_) => {
                    eprintln!("bad --port {value:?}");
                    std::process::exit(1);
                }
            },
            Some("--bind") => bind = value,
            Some("-h" | "--help") => {
                println!("Usage: brim-nullserver [--port N] [--bind ADDR]");
                return;
            }
            Some(other) => {
                eprintln!("unknown argument {other:?}");
                std::process::exit(1);
            }
            None => break,
        }
        i += 2;
    }
    if let Err(e) = run(&bind, port) {
        eprintln!("brim-nullserver: {e}");
        std::process::exit(1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(s: &[u8]) -> [u8; 16] {
        upper_name(s)
    }

    #[test]
    fn multibulk_and_inline() {
        assert_eq!(parse(b"*1\r\n$4\r\nping\r\n"), Parsed::Command(14, name(b"PING")));
        assert_eq!(parse(b"PING\r\nxx"), Parsed::Command(6, name(b"PING")));
        assert_eq!(parse(b"*2\r\n$3\r\nGET\r\n$1\r\n"), Parsed::Incomplete);
        assert_eq!(parse(b"*2\r\n$3\r\nGET\r\n$1\r\nk\r\n"), Parsed::Command(20, name(b"GET")));
        assert_eq!(parse(b"*1\r\n:3\r\n"), Parsed::Invalid);
        assert_eq!(parse(b"*x\r\n"), Parsed::Invalid);
        assert_eq!(parse(b"*1\r\n$-5\r\n"), Parsed::Invalid);
        assert_eq!(parse(b"*1\r\n$18446744073709551615\r\n"), Parsed::Invalid);
        assert_eq!(parse(b""), Parsed::Incomplete);
    }

    #[test]
    fn pipelined_replies() {
        let mut inp = [
            &b"*1\r\n$4\r\nPING\r\n*2\r\n$3\r\nGET\r\n$1\r\nk\r\n"[..],
            b"*2\r\n$4\r\nINCR\r\n$1\r\nk\r\nSET a b\r\n*1\r\n$4\r\nPI",
        ]
        .concat();
        let mut out = Vec::new();
        assert!(serve(&mut inp, &mut out));
        assert_eq!(out, b"+PONG\r\n$-1\r\n:1\r\n+OK\r\n");
        assert_eq!(inp, b"*1\r\n$4\r\nPI");
    }

    #[test]
    fn quit_closes() {
        let mut inp = b"QUIT\r\nPING\r\n".to_vec();
        let mut out = Vec::new();
        assert!(!serve(&mut inp, &mut out));
        assert_eq!(out, b"+OK\r\n");
    }
}
