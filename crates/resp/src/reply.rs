//! The reply writer: appends RESP2 or RESP3 frames to an output buffer.
//!
//! One `Reply` belongs to one connection. Handlers write through it; the connection flushes
//! the buffer once per pipelined batch. Aggregate types degrade to their RESP2 shapes when
//! the connection speaks RESP2 (maps become flat arrays, doubles become bulk strings, ...),
//! exactly as Redis does.

use crate::number::{format_double, write_i64};

/// A position in the output buffer reserved for an aggregate header whose length is not
/// known yet (see [`Reply::begin_deferred`]).
#[derive(Debug, Clone, Copy)]
pub struct Deferred(usize);

/// The kind of aggregate a deferred header stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Aggregate {
    /// `*n`.
    Array,
    /// `%n` in RESP3, `*2n` in RESP2.
    Map,
    /// `~n` in RESP3, `*n` in RESP2.
    Set,
}

/// Output buffer plus the protocol version it is written in.
#[derive(Debug, Default)]
pub struct Reply {
    buf: Vec<u8>,
    resp3: bool,
    /// Error codes (the first word of each error reply, e.g. `ERR`, `WRONGTYPE`) written
    /// since the last [`Reply::take_errors`]; the dispatcher turns them into error stats.
    errors: Vec<String>,
}

impl Reply {
    /// An empty RESP2 writer.
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether replies are written in RESP3.
    pub fn is_resp3(&self) -> bool {
        self.resp3
    }

    /// Switch the protocol version (HELLO).
    pub fn set_resp3(&mut self, on: bool) {
        self.resp3 = on;
    }

    /// The bytes written so far.
    pub fn as_bytes(&self) -> &[u8] {
        &self.buf
    }

    /// Bytes currently buffered.
    pub fn len(&self) -> usize {
        self.buf.len()
    }

    /// Whether nothing is buffered.
    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// The capacity of the underlying buffer (for memory reporting).
    pub fn capacity(&self) -> usize {
        self.buf.capacity()
    }

    /// Drop everything written from `len` on (used by `CLIENT REPLY OFF|SKIP`).
    pub fn truncate(&mut self, len: usize) {
        self.buf.truncate(len);
    }

    /// Empty the buffer after it was written to the socket; gives back a large allocation so
    /// that one big reply does not pin memory for the life of the connection.
    pub fn clear(&mut self) {
        self.buf.clear();
        if self.buf.capacity() > 64 * 1024 {
            self.buf = Vec::new();
        }
    }

    /// Mutable access to the raw buffer, for callers that move bytes out.
    pub fn buffer_mut(&mut self) -> &mut Vec<u8> {
        &mut self.buf
    }

    /// Error codes written since the last call.
    pub fn take_errors(&mut self) -> Vec<String> {
        std::mem::take(&mut self.errors)
    }

    /// Whether any error was written since the last [`Reply::take_errors`].
    pub fn has_errors(&self) -> bool {
        !self.errors.is_empty()
    }

    /// Append pre-encoded protocol bytes verbatim.
    pub fn raw(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    /// `+OK`.
    pub fn ok(&mut self) {
        self.buf.extend_from_slice(b"+OK\r\n");
    }

    /// A simple string `+text`. The text must not contain CR or LF.
    pub fn simple(&mut self, text: &str) {
        self.buf.push(b'+');
        self.buf.extend_from_slice(text.as_bytes());
        self.buf.extend_from_slice(b"\r\n");
    }

    /// An error reply. `msg` starts with the error code (`ERR ...`, `WRONGTYPE ...`); a
    /// message without an upper-case code gets `ERR ` in front, as Redis's `addReplyError`
    /// does. CR and LF in the message are replaced by spaces.
    pub fn error(&mut self, msg: &str) {
        let code_len = msg.find(' ').unwrap_or(msg.len());
        let has_code = code_len > 0 && msg[..code_len].bytes().all(|b| b.is_ascii_uppercase());
        self.buf.push(b'-');
        let code = if has_code {
            &msg[..code_len]
        } else {
            self.buf.extend_from_slice(b"ERR ");
            "ERR"
        };
        self.errors.push(code.to_string());
        self.buf.extend(msg.bytes().map(|b| if b == b'\r' || b == b'\n' { b' ' } else { b }));
        self.buf.extend_from_slice(b"\r\n");
    }

    /// An integer `:n`.
    pub fn int(&mut self, n: i64) {
        self.buf.push(b':');
        write_i64(&mut self.buf, n);
        self.buf.extend_from_slice(b"\r\n");
    }

    /// A bulk string `$len\r\nbytes\r\n`.
    pub fn bulk(&mut self, bytes: &[u8]) {
        self.buf.push(b'$');
        write_i64(&mut self.buf, bytes.len() as i64);
        self.buf.extend_from_slice(b"\r\n");
        self.buf.extend_from_slice(bytes);
        self.buf.extend_from_slice(b"\r\n");
    }

    /// A bulk string holding the decimal text of `n` (what GET returns for an int-encoded
    /// string).
    pub fn bulk_i64(&mut self, n: i64) {
        let mut tmp = Vec::with_capacity(20);
        write_i64(&mut tmp, n);
        self.bulk(&tmp);
    }

    /// The null bulk string: `$-1` in RESP2, `_` in RESP3.
    pub fn null(&mut self) {
        if self.resp3 {
            self.buf.extend_from_slice(b"_\r\n");
        } else {
            self.buf.extend_from_slice(b"$-1\r\n");
        }
    }

    /// The null array: `*-1` in RESP2, `_` in RESP3.
    pub fn null_array(&mut self) {
        if self.resp3 {
            self.buf.extend_from_slice(b"_\r\n");
        } else {
            self.buf.extend_from_slice(b"*-1\r\n");
        }
    }

    /// An array header `*n`; the caller writes `n` elements after it.
    pub fn array(&mut self, n: usize) {
        self.header(b'*', n);
    }

    /// A map header for `n` key/value pairs: `%n` in RESP3, `*2n` in RESP2.
    pub fn map(&mut self, n: usize) {
        if self.resp3 {
            self.header(b'%', n);
        } else {
            self.header(b'*', n * 2);
        }
    }

    /// A set header: `~n` in RESP3, `*n` in RESP2.
    pub fn set(&mut self, n: usize) {
        self.header(if self.resp3 { b'~' } else { b'*' }, n);
    }

    /// A push header: `>n` in RESP3, `*n` in RESP2 (pub/sub messages).
    pub fn push(&mut self, n: usize) {
        self.header(if self.resp3 { b'>' } else { b'*' }, n);
    }

    /// An attribute-free double: `,d` in RESP3, a bulk string in RESP2, formatted as Redis
    /// 7.0 does (`%.17g`, `inf`, `-inf`).
    pub fn double(&mut self, d: f64) {
        let text = format_double(d);
        if self.resp3 {
            self.buf.push(b',');
            self.buf.extend_from_slice(text.as_bytes());
            self.buf.extend_from_slice(b"\r\n");
        } else {
            self.bulk(text.as_bytes());
        }
    }

    /// A boolean: `#t`/`#f` in RESP3, `:1`/`:0` in RESP2.
    pub fn boolean(&mut self, b: bool) {
        if self.resp3 {
            self.buf.extend_from_slice(if b { b"#t\r\n" } else { b"#f\r\n" });
        } else {
            self.int(b as i64);
        }
    }

    /// A verbatim string (`=len\r\ntxt:...` in RESP3) or a bulk string in RESP2. `format` is
    /// the three-letter type, `txt` or `mkd`.
    pub fn verbatim(&mut self, format: &str, text: &[u8]) {
        if self.resp3 {
            self.buf.push(b'=');
            write_i64(&mut self.buf, (text.len() + 4) as i64);
            self.buf.extend_from_slice(b"\r\n");
            self.buf.extend_from_slice(format.as_bytes());
            self.buf.push(b':');
            self.buf.extend_from_slice(text);
            self.buf.extend_from_slice(b"\r\n");
        } else {
            self.bulk(text);
        }
    }

    /// Reserve room for an aggregate header whose length is only known after the elements
    /// are written; finish it with [`Reply::end_deferred`].
    pub fn begin_deferred(&mut self) -> Deferred {
        Deferred(self.buf.len())
    }

    /// Write the header reserved by `at` for `n` elements (pairs, for a map).
    pub fn end_deferred(&mut self, at: Deferred, kind: Aggregate, n: usize) {
        let mut head = Vec::with_capacity(24);
        let (tag, count) = match kind {
            Aggregate::Array => (b'*', n),
            Aggregate::Map if self.resp3 => (b'%', n),
            Aggregate::Map => (b'*', n * 2),
            Aggregate::Set if self.resp3 => (b'~', n),
            Aggregate::Set => (b'*', n),
        };
        head.push(tag);
        write_i64(&mut head, count as i64);
        head.extend_from_slice(b"\r\n");
        self.buf.splice(at.0..at.0, head);
    }

    fn header(&mut self, tag: u8, n: usize) {
        self.buf.push(tag);
        write_i64(&mut self.buf, n as i64);
        self.buf.extend_from_slice(b"\r\n");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resp2_shapes() {
        let mut r = Reply::new();
        r.map(1);
        r.bulk(b"a");
        r.double(1.5);
        r.null();
        r.set(0);
        r.boolean(true);
        assert_eq!(r.as_bytes(), b"*2\r\n$1\r\na\r\n$3\r\n1.5\r\n$-1\r\n*0\r\n:1\r\n");
    }

    #[test]
    fn resp3_shapes() {
        let mut r = Reply::new();
        r.set_resp3(true);
        r.map(1);
        r.bulk(b"a");
        r.double(f64::INFINITY);
        r.null();
        r.set(0);
        r.boolean(false);
        assert_eq!(r.as_bytes(), b"%1\r\n$1\r\na\r\n,inf\r\n_\r\n~0\r\n#f\r\n");
    }

    #[test]
    fn errors_get_a_code_and_are_recorded() {
        let mut r = Reply::new();
        r.error("unknown thing\r\nhere");
        r.error("WRONGTYPE Operation");
        assert_eq!(r.as_bytes(), b"-ERR unknown thing  here\r\n-WRONGTYPE Operation\r\n");
        assert_eq!(r.take_errors(), vec!["ERR".to_string(), "WRONGTYPE".to_string()]);
    }

    #[test]
    fn deferred_headers() {
        let mut r = Reply::new();
        r.int(7);
        let at = r.begin_deferred();
        r.int(1);
        r.int(2);
        r.end_deferred(at, Aggregate::Map, 1);
        assert_eq!(r.as_bytes(), b":7\r\n*2\r\n:1\r\n:2\r\n");
    }
}
