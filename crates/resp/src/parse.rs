//! The zero-copy request parser: multibulk (`*N\r\n$len\r\n...`) and inline commands,
//! byte for byte as Redis 7.0's `processMultibulkBuffer` / `processInlineBuffer` do.
//!
//! The parser works on the connection's query buffer without copying: a parsed command is
//! a list of `(start, len)` positions into that buffer ([`Args`]). Only inline arguments
//! that need unescaping (quotes) are copied, into a scratch buffer inside [`Args`].
//!
//! A [`Parser`] is resumable: when a command is incomplete it remembers how far it got
//! (the count line, the bulks already complete, where the search for the next line end
//! stopped), so a command arriving in many small reads costs O(command size) in total.
//!
//! Redis quirks reproduced on purpose (checked against a real Redis 7.0.15):
//!
//! * Line ends are searched with C's `strchr` on a NUL-terminated buffer, so a NUL byte
//!   before the line end hides it: the command never completes, and once more than 64 KiB
//!   are buffered the client gets the matching "too big" error.
//! * In a multibulk request the byte after each `\r` of a count line is skipped unchecked,
//!   and so are the two bytes after each bulk payload (`*1\r\n$4\r\nPINGxy` is `PING`).
//! * A count or length is C's `string2ll`: no `+`, no spaces, no leading zeros, no `-0`,
//!   at most 20 characters.
//! * `*0`, `*-1` and any other non-positive count are skipped without a reply, as is an
//!   empty (or blank) inline line.
//! * The multibulk count may go up to `INT_MAX`; an unauthenticated client is limited to 10
//!   arguments of 16384 bytes ("unauthenticated multibulk/bulk length").
//! * The 64 KiB "too big" checks only apply while the line end has not arrived, so the
//!   outcome for a longer line depends on how the bytes were read: a complete 100 KiB
//!   inline line in one buffer is accepted, as by Redis's code. Redis reads at most 16 KiB
//!   per `read` while the query buffer is small, so in practice it rejects inline lines
//!   longer than about 80 KiB; a connection that reads in 16 KiB chunks and parses after
//!   each read behaves the same.

use std::fmt;

/// Longest line (inline request, or count line of a multibulk request) that may be
/// buffered without its terminator: Redis's `PROTO_INLINE_MAX_SIZE`.
pub const INLINE_MAX_SIZE: usize = 64 * 1024;

/// Bulks at least this long are "big arguments" for which Redis reserves the query buffer
/// up front (`PROTO_MBULK_BIG_ARG`); see [`Parser::pending_bulk`].
pub const MBULK_BIG_ARG: usize = 32 * 1024;

/// Most arguments an unauthenticated client may announce.
const UNAUTH_MAX_MULTIBULK: i64 = 10;
/// Longest bulk an unauthenticated client may announce.
const UNAUTH_MAX_BULK: i64 = 16384;

/// Limits the parser enforces (from config).
#[derive(Debug, Clone)]
pub struct ParseLimits {
    /// `proto-max-bulk-len` (default 512 MiB): a larger announced bulk is
    /// "invalid bulk length".
    pub max_bulk_len: u64,
    /// Whether the client may send unrestricted requests. `false` means Redis's
    /// `authRequired(c)` is true (a password is set and the client has not authenticated
    /// yet): then a multibulk count above 10 is "unauthenticated multibulk length" and a bulk
    /// length above 16384 is "unauthenticated bulk length". Set it to `true` when no
    /// authentication is required. Inline requests are not affected.
    pub authenticated: bool,
}

impl Default for ParseLimits {
    /// 512 MiB bulks, authenticated.
    fn default() -> Self {
        Self { max_bulk_len: 512 * 1024 * 1024, authenticated: true }
    }
}

/// A protocol error: the connection replies `-ERR <message>` and closes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProtoError {
    /// An inline request without `\n` longer than 64 KiB.
    TooBigInline,
    /// An inline request with an unterminated quote, or a closing quote followed by
    /// something other than a space.
    UnbalancedQuotes,
    /// A multibulk count line without `\r` longer than 64 KiB.
    TooBigMbulkCount,
    /// A multibulk count that is not a number or is above `INT_MAX`.
    InvalidMultibulkLength,
    /// A multibulk count above 10 from a client that must authenticate first.
    UnauthenticatedMultibulkLength,
    /// A bulk length line without `\r` longer than 64 KiB.
    TooBigBulkCount,
    /// A line inside a multibulk request that does not start with `$`; holds the byte found.
    ExpectedDollar(u8),
    /// A bulk length that is not a number, is negative, or exceeds `proto-max-bulk-len`.
    InvalidBulkLength,
    /// A bulk length above 16384 from a client that must authenticate first.
    UnauthenticatedBulkLength,
}

impl ProtoError {
    /// The error message without the `ERR ` code, e.g.
    /// `Protocol error: invalid multibulk length`.
    ///
    /// Exact for every error except [`ProtoError::ExpectedDollar`] with a byte >= 0x80,
    /// which Redis sends raw and a `String` cannot hold: it becomes U+FFFD here. Use
    /// [`ProtoError::message_bytes`] to send exactly what Redis sends.
    pub fn message(&self) -> String {
        String::from_utf8_lossy(&self.message_bytes()).into_owned()
    }

    /// The error message as the bytes Redis 7.0 sends (without `-ERR ` and CRLF). CR and LF
    /// are already replaced by spaces, as Redis's `addReplyErrorFormat` does.
    pub fn message_bytes(&self) -> Vec<u8> {
        let text: &str = match self {
            ProtoError::TooBigInline => "Protocol error: too big inline request",
            ProtoError::UnbalancedQuotes => "Protocol error: unbalanced quotes in request",
            ProtoError::TooBigMbulkCount => "Protocol error: too big mbulk count string",
            ProtoError::InvalidMultibulkLength => "Protocol error: invalid multibulk length",
            ProtoError::UnauthenticatedMultibulkLength => "Protocol error: unauthenticated multibulk length",
            ProtoError::TooBigBulkCount => "Protocol error: too big bulk count string",
            ProtoError::InvalidBulkLength => "Protocol error: invalid bulk length",
            ProtoError::UnauthenticatedBulkLength => "Protocol error: unauthenticated bulk length",
            ProtoError::ExpectedDollar(b) => {
                let b = if *b == b'\r' || *b == b'\n' { b' ' } else { *b };
                let mut v = b"Protocol error: expected '$', got '".to_vec();
                v.push(b);
                v.push(b'\'');
                return v;
            }
        };
        text.as_bytes().to_vec()
    }

    /// The complete reply frame, `-ERR <message>\r\n`, byte-exact.
    pub fn to_resp(&self) -> Vec<u8> {
        let mut v = b"-ERR ".to_vec();
        v.extend_from_slice(&self.message_bytes());
        v.extend_from_slice(b"\r\n");
        v
    }
}

impl fmt::Display for ProtoError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message())
    }
}

impl std::error::Error for ProtoError {}

/// Argument positions of one parsed command.
///
/// Each argument is a `(start, len)` range, either into the buffer passed to
/// [`Parser::parse`] or, for inline commands with quoted arguments, into a scratch buffer
/// owned by `Args`. The allocations are reused from command to command.
#[derive(Debug, Default)]
pub struct Args {
    spans: Vec<(usize, usize)>,
    scratch: Vec<u8>,
    /// Whether the spans point into `scratch` rather than into the caller's buffer.
    in_scratch: bool,
}

impl Args {
    /// An empty argument list.
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of arguments.
    #[inline]
    pub fn len(&self) -> usize {
        self.spans.len()
    }

    /// Whether there are no arguments (an empty inline line, `*0`, `*-1`).
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.spans.is_empty()
    }

    /// The i-th argument; `buf` is the same slice that was passed to [`Parser::parse`].
    ///
    /// Returns an empty slice when `i` is out of range (or `buf` is not the parsed buffer)
    /// instead of panicking; check [`Args::len`] first.
    #[inline]
    pub fn get<'a>(&'a self, buf: &'a [u8], i: usize) -> &'a [u8] {
        let Some(&(start, len)) = self.spans.get(i) else {
            return &[];
        };
        let src: &'a [u8] = if self.in_scratch { &self.scratch } else { buf };
        src.get(start..start.saturating_add(len)).unwrap_or(&[])
    }

    /// Fill `out` with all argument slices (out is cleared first).
    pub fn slices<'a>(&'a self, buf: &'a [u8], out: &mut Vec<&'a [u8]>) {
        out.clear();
        out.extend(self.iter(buf));
    }

    /// Iterate over the argument slices; `buf` as for [`Args::get`].
    pub fn iter<'a>(&'a self, buf: &'a [u8]) -> impl ExactSizeIterator<Item = &'a [u8]> + 'a {
        (0..self.len()).map(move |i| self.get(buf, i))
    }

    /// Remove all arguments (keeps the allocations, except a scratch buffer that grew past
    /// 64 KiB for one big quoted inline argument).
    pub fn clear(&mut self) {
        self.spans.clear();
        self.scratch.clear();
        if self.scratch.capacity() > INLINE_MAX_SIZE {
            self.scratch = Vec::new();
        }
        self.in_scratch = false;
    }
}

/// What the parser is in the middle of.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Between commands.
    #[default]
    Idle,
    /// An inline command: waiting for its `\n`.
    Inline,
    /// A multibulk command: waiting for the `*N` count line.
    Count,
    /// A multibulk command: reading bulks.
    Bulks,
}

/// Result of looking for a line terminator.
enum Line {
    /// The terminator is at this index (and, for `\r`, a byte follows it).
    Found(usize),
    /// A `\r` was found but it is the last byte: wait without a size check.
    CrAtEnd,
    /// No terminator (or a NUL byte came first): check the size limit.
    NotFound,
}

/// Resumable parser, one per connection.
///
/// Like Redis's client fields `reqtype`, `multibulklen` and `bulklen`, it keeps the
/// position reached in the current command between calls.
#[derive(Debug, Default)]
pub struct Parser {
    phase: Phase,
    /// Start of the element being parsed (line start, or bulk payload start).
    pos: usize,
    /// Where the search for the current line's terminator resumes.
    scan: usize,
    /// A NUL byte was found before the current line's terminator: C's `strchr` never
    /// gets past it, so the line never completes.
    blocked: bool,
    /// Bulks still to read in the current multibulk command.
    remaining: usize,
    /// Length of the bulk payload being waited for (it starts at `pos`), if its `$` line
    /// has been read.
    bulk: Option<usize>,
    /// Arguments of the multibulk command in progress; swapped into the caller's `Args`
    /// when the command is complete, so both allocations are reused.
    spans: Vec<(usize, usize)>,
    /// Bytes examined by line searches (tests check the total work stays linear).
    #[cfg(test)]
    scanned: usize,
}

impl Parser {
    /// A parser between commands.
    pub fn new() -> Self {
        Self::default()
    }

    /// Length of the bulk currently being waited for, if any (lets the connection reserve
    /// the buffer once for a big argument, as Redis does for bulks >= 32 KiB).
    pub fn pending_bulk(&self) -> Option<usize> {
        if self.phase == Phase::Bulks {
            self.bulk
        } else {
            None
        }
    }

    /// Where, in the buffer, the bulk being waited for ends including its trailing CRLF:
    /// the buffer must be at least this long for the parser to make progress. `None` when
    /// no bulk is pending.
    pub fn pending_bulk_end(&self) -> Option<usize> {
        self.pending_bulk().map(|len| self.pos.saturating_add(len).saturating_add(2))
    }

    /// Whether the parser is between commands (no partial command buffered).
    pub fn is_idle(&self) -> bool {
        self.phase == Phase::Idle
    }

    /// Forget any partial command.
    pub fn reset(&mut self) {
        self.phase = Phase::Idle;
        self.pos = 0;
        self.scan = 0;
        self.blocked = false;
        self.remaining = 0;
        self.bulk = None;
        self.spans.clear();
    }

    /// Parse one command from the start of `buf`. `Ok(Some(consumed))`: a command was
    /// parsed (`args` holds it; `args` may be empty for an empty inline line or `*0`/`*-1`,
    /// which Redis skips); the caller drops `consumed` bytes. `Ok(None)`: more bytes needed;
    /// the caller must call again with a buffer that starts with the same bytes (possibly
    /// longer). `args` is left unchanged on `Ok(None)` and unspecified on `Err`.
    ///
    /// Total work for one command arriving in many small reads is O(command size).
    /// After an error the parser is reset; the connection is expected to reply and close.
    pub fn parse(
        &mut self,
        buf: &[u8],
        limits: &ParseLimits,
        args: &mut Args,
    ) -> Result<Option<usize>, ProtoError> {
        if self.phase == Phase::Idle {
            let Some(&first) = buf.first() else {
                return Ok(None);
            };
            self.reset();
            self.phase = if first == b'*' { Phase::Count } else { Phase::Inline };
        }
        let res = if self.phase == Phase::Inline {
            self.parse_inline(buf, args)
        } else {
            self.parse_multibulk(buf, limits, args)
        };
        match res {
            Ok(Some(_)) | Err(_) => {
                self.phase = Phase::Idle;
                self.bulk = None;
            }
            Ok(None) => {}
        }
        res
    }

    /// Look for the terminator of the line starting at `self.pos`, resuming at
    /// `self.scan`. For `\r` (multibulk lines) one more byte must follow it.
    #[inline]
    fn find_line(&mut self, buf: &[u8], term: u8) -> Line {
        if self.blocked {
            return Line::NotFound;
        }
        let from = self.scan.max(self.pos);
        let Some(rest) = buf.get(from..) else {
            return Line::NotFound;
        };
        let found = rest.iter().position(|&b| b == term || b == 0);
        #[cfg(test)]
        {
            self.scanned += found.map_or(rest.len(), |i| i + 1);
        }
        match found {
            Some(i) => {
                let at = from + i;
                if rest[i] == 0 {
                    self.blocked = true;
                    Line::NotFound
                } else if term == b'\r' && at + 1 >= buf.len() {
                    self.scan = at;
                    Line::CrAtEnd
                } else {
                    Line::Found(at)
                }
            }
            None => {
                self.scan = buf.len();
                Line::NotFound
            }
        }
    }

    /// Whether more than 64 KiB are buffered from the current line's start on.
    #[inline]
    fn line_too_big(&self, buf: &[u8]) -> bool {
        buf.len().saturating_sub(self.pos) > INLINE_MAX_SIZE
    }

    fn parse_inline(&mut self, buf: &[u8], args: &mut Args) -> Result<Option<usize>, ProtoError> {
        let nl = match self.find_line(buf, b'\n') {
            Line::Found(nl) => nl,
            Line::CrAtEnd | Line::NotFound => {
                if self.line_too_big(buf) {
                    return Err(ProtoError::TooBigInline);
                }
                return Ok(None);
            }
        };
        let mut end = nl;
        if end > 0 && buf.get(end - 1) == Some(&b'\r') {
            end -= 1;
        }
        let line = buf.get(..end).unwrap_or(&[]);
        args.clear();
        if line.iter().any(|&b| b == b'"' || b == b'\'') {
            split_quoted(line, args)?;
        } else {
            split_plain(line, &mut args.spans);
        }
        Ok(Some(nl + 1))
    }

    /// The general way to find the count/length line at `self.pos`: `Ok(Some(cr))` when it
    /// is complete, `Ok(None)` to wait, `too_big` when more than 64 KiB are buffered
    /// without a `\r`.
    #[cold]
    fn slow_line(&mut self, buf: &[u8], too_big: ProtoError) -> Result<Option<usize>, ProtoError> {
        match self.find_line(buf, b'\r') {
            Line::Found(cr) => Ok(Some(cr)),
            Line::CrAtEnd => Ok(None),
            Line::NotFound if self.line_too_big(buf) => Err(too_big),
            Line::NotFound => Ok(None),
        }
    }

    fn parse_multibulk(
        &mut self,
        buf: &[u8],
        limits: &ParseLimits,
        args: &mut Args,
    ) -> Result<Option<usize>, ProtoError> {
        if self.phase == Phase::Count {
            let (n, cr) = match quick_number(buf, self.pos, b'*') {
                Some(found) => found,
                None => {
                    let Some(cr) = self.slow_line(buf, ProtoError::TooBigMbulkCount)? else {
                        return Ok(None);
                    };
                    match buf.get(self.pos + 1..cr).and_then(string2ll) {
                        Some(n) => (n, cr),
                        None => return Err(ProtoError::InvalidMultibulkLength),
                    }
                }
            };
            if n > i32::MAX as i64 {
                return Err(ProtoError::InvalidMultibulkLength);
            }
            if n > UNAUTH_MAX_MULTIBULK && !limits.authenticated {
                return Err(ProtoError::UnauthenticatedMultibulkLength);
            }
            self.pos = cr + 2;
            if n <= 0 {
                args.clear();
                return Ok(Some(self.pos));
            }
            self.remaining = n as usize;
            self.bulk = None;
            self.spans.clear();
            self.phase = Phase::Bulks;
        }

        // Work on locals; the state is written back when waiting for more bytes.
        let mut pos = self.pos;
        let mut remaining = self.remaining;
        let mut bulk = self.bulk;
        while remaining > 0 {
            let len = match bulk {
                Some(len) => len,
                None => {
                    let (n, cr) = match quick_number(buf, pos, b'$') {
                        Some(found) => found,
                        None => {
                            self.pos = pos;
                            self.remaining = remaining;
                            self.bulk = None;
                            let Some(cr) = self.slow_line(buf, ProtoError::TooBigBulkCount)? else {
                                return Ok(None);
                            };
                            // `cr >= pos`, so the line has a first byte.
                            let first = buf.get(pos).copied().unwrap_or(b'\r');
                            if first != b'$' {
                                return Err(ProtoError::ExpectedDollar(first));
                            }
                            match buf.get(pos + 1..cr).and_then(string2ll) {
                                Some(n) => (n, cr),
                                None => return Err(ProtoError::InvalidBulkLength),
                            }
                        }
                    };
                    if n < 0 || n as u64 > limits.max_bulk_len {
                        return Err(ProtoError::InvalidBulkLength);
                    }
                    if n > UNAUTH_MAX_BULK && !limits.authenticated {
                        return Err(ProtoError::UnauthenticatedBulkLength);
                    }
                    pos = cr + 2;
                    // A length that does not fit in usize can never arrive: wait forever
                    // (only possible on 32-bit targets).
                    usize::try_from(n).unwrap_or(usize::MAX)
                }
            };
            // Payload plus two bytes Redis skips without looking at them.
            let end = pos.saturating_add(len).saturating_add(2);
            if buf.len() < end {
                self.pos = pos;
                self.remaining = remaining;
                self.bulk = Some(len);
                return Ok(None);
            }
            self.spans.push((pos, len));
            pos = end;
            bulk = None;
            remaining -= 1;
        }
        self.pos = pos;
        self.remaining = 0;
        args.clear();
        std::mem::swap(&mut args.spans, &mut self.spans);
        Ok(Some(pos))
    }
}

/// The common case of a count or length line at `pos`: `prefix`, 1 to 18 digits without a
/// leading zero, `\r`, and at least one more byte. Returns the number and the index of the
/// `\r`; `None` sends the caller to the general (and exact) path, which also produces the
/// errors.
#[inline(always)]
fn quick_number(buf: &[u8], pos: usize, prefix: u8) -> Option<(i64, usize)> {
    let line = buf.get(pos..)?;
    if *line.first()? != prefix {
        return None;
    }
    let mut v: i64 = 0;
    let mut i = 1;
    while i < line.len() && i <= 18 {
        let d = line[i].wrapping_sub(b'0');
        if d > 9 {
            break;
        }
        v = v * 10 + i64::from(d);
        i += 1;
    }
    if i == 1 || (i > 2 && line[1] == b'0') {
        return None;
    }
    if line.get(i) != Some(&b'\r') || i + 1 >= line.len() {
        return None;
    }
    Some((v, pos + i))
}

/// C's `isspace` in the C locale.
#[inline]
fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

/// Whether `b` ends an unquoted token in `sdssplitargs` (`\v` and `\f` do not, although
/// they are skipped between tokens).
#[inline]
fn ends_token(b: u8) -> bool {
    matches!(b, b' ' | b'\n' | b'\r' | b'\t' | 0)
}

/// `sdssplitargs` for a line without quote characters: the arguments are slices of `line`
/// (which starts at offset 0 of the parsed buffer).
fn split_plain(line: &[u8], spans: &mut Vec<(usize, usize)>) {
    let mut p = 0;
    loop {
        while p < line.len() && is_space(line[p]) {
            p += 1;
        }
        if p >= line.len() {
            return;
        }
        let start = p;
        while p < line.len() && !ends_token(line[p]) {
            p += 1;
        }
        spans.push((start, p - start));
        // The terminator (if any) is a space of some kind; the loop above skips it.
    }
}

/// Value of a hex digit, as Redis's `hex_digit_to_int`.
#[inline]
fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Redis's `sdssplitargs`, unescaping into `args.scratch`. `line` holds no NUL byte (the
/// line search stops at one), so its end plays the part of C's terminating NUL.
fn split_quoted(line: &[u8], args: &mut Args) -> Result<(), ProtoError> {
    let at = |i: usize| line.get(i).copied().unwrap_or(0);
    args.in_scratch = true;
    let scratch = &mut args.scratch;
    let mut p = 0;
    loop {
        while at(p) != 0 && is_space(at(p)) {
            p += 1;
        }
        if at(p) == 0 {
            return Ok(());
        }
        let start = scratch.len();
        let mut in_dq = false;
        let mut in_sq = false;
        let mut done = false;
        while !done {
            let c = at(p);
            if in_dq {
                if c == b'\\' && at(p + 1) == b'x' {
                    if let (Some(hi), Some(lo)) = (hex_value(at(p + 2)), hex_value(at(p + 3))) {
                        scratch.push(hi * 16 + lo);
                        p += 3;
                    } else {
                        // `\x` without two hex digits: the `x` is taken literally.
                        p += 1;
                        scratch.push(b'x');
                    }
                } else if c == b'\\' && at(p + 1) != 0 {
                    p += 1;
                    scratch.push(match at(p) {
                        b'n' => b'\n',
                        b'r' => b'\r',
                        b't' => b'\t',
                        b'b' => 0x08,
                        b'a' => 0x07,
                        other => other,
                    });
                } else if c == b'"' {
                    // The closing quote must be followed by a space or nothing at all.
                    if at(p + 1) != 0 && !is_space(at(p + 1)) {
                        return Err(ProtoError::UnbalancedQuotes);
                    }
                    done = true;
                } else if c == 0 {
                    return Err(ProtoError::UnbalancedQuotes);
                } else {
                    scratch.push(c);
                }
            } else if in_sq {
                if c == b'\\' && at(p + 1) == b'\'' {
                    p += 1;
                    scratch.push(b'\'');
                } else if c == b'\'' {
                    if at(p + 1) != 0 && !is_space(at(p + 1)) {
                        return Err(ProtoError::UnbalancedQuotes);
                    }
                    done = true;
                } else if c == 0 {
                    return Err(ProtoError::UnbalancedQuotes);
                } else {
                    scratch.push(c);
                }
            } else {
                match c {
                    b' ' | b'\n' | b'\r' | b'\t' | 0 => done = true,
                    b'"' => in_dq = true,
                    b'\'' => in_sq = true,
                    _ => scratch.push(c),
                }
            }
            if at(p) != 0 {
                p += 1;
            }
        }
        args.spans.push((start, scratch.len() - start));
    }
}

/// Redis's `string2ll`: a decimal `long long` with no sign other than `-`, no leading
/// zeros, no `-0`, no spaces, and fewer than 21 characters.
#[inline]
pub fn string2ll(s: &[u8]) -> Option<i64> {
    if s.is_empty() || s.len() >= 21 {
        return None;
    }
    if s == b"0" {
        return Some(0);
    }
    let (negative, digits) = match s.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, s),
    };
    let (&first, rest) = digits.split_first()?;
    if !(b'1'..=b'9').contains(&first) {
        return None;
    }
    let mut v = u64::from(first - b'0');
    for &d in rest {
        if !d.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add(u64::from(d - b'0'))?;
    }
    if negative {
        if v > i64::MAX as u64 + 1 {
            return None;
        }
        Some((v as i64).wrapping_neg())
    } else {
        i64::try_from(v).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The outcome of one `parse` call, with the arguments copied out.
    #[derive(Debug, Clone, PartialEq, Eq)]
    enum Out {
        Cmd(usize, Vec<Vec<u8>>),
        More,
        Err(ProtoError),
    }

    fn run(p: &mut Parser, buf: &[u8], limits: &ParseLimits, args: &mut Args) -> Out {
        match p.parse(buf, limits, args) {
            Ok(Some(n)) => {
                assert!(n > 0 && n <= buf.len(), "consumed {n} of {}", buf.len());
                Out::Cmd(n, args.iter(buf).map(<[u8]>::to_vec).collect())
            }
            Ok(None) => Out::More,
            Err(e) => Out::Err(e),
        }
    }

    fn once_with(buf: &[u8], limits: &ParseLimits) -> Out {
        run(&mut Parser::new(), buf, limits, &mut Args::new())
    }

    fn once(buf: &[u8]) -> Out {
        once_with(buf, &ParseLimits::default())
    }

    fn cmd(n: usize, args: &[&[u8]]) -> Out {
        Out::Cmd(n, args.iter().map(|a| a.to_vec()).collect())
    }

    fn args_of(buf: &[u8]) -> Vec<Vec<u8>> {
        match once(buf) {
            Out::Cmd(_, a) => a,
            other => panic!("{:?}: {other:?}", String::from_utf8_lossy(buf)),
        }
    }

    fn err_of(buf: &[u8]) -> ProtoError {
        err_with(buf, &ParseLimits::default())
    }

    fn err_with(buf: &[u8], limits: &ParseLimits) -> ProtoError {
        match once_with(buf, limits) {
            Out::Err(e) => e,
            other => panic!("{:?}: {other:?}", String::from_utf8_lossy(buf)),
        }
    }

    fn encode(args: &[Vec<u8>]) -> Vec<u8> {
        let mut v = format!("*{}\r\n", args.len()).into_bytes();
        for a in args {
            v.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
            v.extend_from_slice(a);
            v.extend_from_slice(b"\r\n");
        }
        v
    }

    /// Feed `buf` to one parser as a growing buffer, one byte at a time (as a connection
    /// receiving one byte per read does), draining commands as they complete. Returns the
    /// outcomes that were not `More`, and whether the end was reached waiting for more.
    fn feed_bytewise(buf: &[u8], limits: &ParseLimits) -> Vec<Out> {
        let mut p = Parser::new();
        let mut args = Args::new();
        let mut start = 0;
        let mut outs = Vec::new();
        let mut end = start;
        while end <= buf.len() {
            match run(&mut p, &buf[start..end], limits, &mut args) {
                Out::More => end += 1,
                Out::Cmd(n, a) => {
                    outs.push(Out::Cmd(n, a));
                    start += n;
                    end = end.max(start);
                }
                e @ Out::Err(_) => {
                    outs.push(e);
                    return outs;
                }
            }
        }
        outs.push(Out::More);
        outs
    }

    /// Parse everything in `buf` at once, draining commands.
    fn feed_all(buf: &[u8], limits: &ParseLimits) -> Vec<Out> {
        let mut p = Parser::new();
        let mut args = Args::new();
        let mut start = 0;
        let mut outs = Vec::new();
        loop {
            match run(&mut p, &buf[start..], limits, &mut args) {
                Out::Cmd(n, a) => {
                    outs.push(Out::Cmd(n, a));
                    start += n;
                }
                other => {
                    outs.push(other);
                    return outs;
                }
            }
        }
    }

    #[test]
    fn set_command() {
        let buf = b"*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$5\r\nvalue\r\n";
        let mut p = Parser::new();
        let mut args = Args::new();
        let limits = ParseLimits::default();
        assert_eq!(p.parse(buf, &limits, &mut args), Ok(Some(buf.len())));
        assert_eq!(args.len(), 3);
        assert!(!args.is_empty());
        assert_eq!(args.get(buf, 0), b"SET");
        assert_eq!(args.get(buf, 1), b"key");
        assert_eq!(args.get(buf, 2), b"value");
        assert_eq!(args.get(buf, 3), b"");
        // Zero-copy: the arguments are slices of `buf`.
        let range = buf.as_ptr_range();
        assert!(range.contains(&args.get(buf, 2).as_ptr()));
        let mut out = vec![&b"stale"[..]];
        args.slices(buf, &mut out);
        assert_eq!(out, vec![&b"SET"[..], b"key", b"value"]);
        assert!(p.is_idle());
        args.clear();
        assert!(args.is_empty());
    }

    #[test]
    fn pipelined_commands() {
        let mut buf = Vec::new();
        buf.extend_from_slice(b"*1\r\n$4\r\nPING\r\n");
        buf.extend_from_slice(b"PING\r\n");
        buf.extend_from_slice(b"*0\r\n*-1\r\n\r\n");
        buf.extend_from_slice(b"ECHO \"a b\"\n");
        buf.extend_from_slice(b"*2\r\n$4\r\nECHO\r\n$0\r\n\r\n");
        buf.extend_from_slice(b"*2\r\n$4\r\nECHO");
        let outs = feed_all(&buf, &ParseLimits::default());
        assert_eq!(
            outs,
            vec![
                cmd(14, &[b"PING"]),
                cmd(6, &[b"PING"]),
                cmd(4, &[]),
                cmd(5, &[]),
                cmd(2, &[]),
                cmd(11, &[b"ECHO", b"a b"]),
                cmd(20, &[b"ECHO", b""]),
                Out::More,
            ]
        );
        assert_eq!(feed_bytewise(&buf, &ParseLimits::default()), outs);
    }

    #[test]
    fn every_split_point() {
        let inputs: Vec<Vec<u8>> = vec![
            b"*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$5\r\nvalue\r\n".to_vec(),
            b"*2\r\n$4\r\nECHO\r\n$0\r\n\r\n".to_vec(),
            b"*0\r\n".to_vec(),
            b"*-1\r\n".to_vec(),
            b"PING\r\n".to_vec(),
            b"SET k \"a\\x41\\n\" 'b\\'c'\n".to_vec(),
            b"\r\n".to_vec(),
            b"*1\r\n$4\r\nPINGxy".to_vec(),
        ];
        let limits = ParseLimits::default();
        for input in &inputs {
            let full = once(input);
            assert!(matches!(full, Out::Cmd(n, _) if n == input.len()), "{input:?}: {full:?}");
            let mut p = Parser::new();
            let mut args = Args::new();
            for k in 0..input.len() {
                assert_eq!(run(&mut p, &input[..k], &limits, &mut args), Out::More, "{input:?} at {k}");
            }
            assert_eq!(run(&mut p, input, &limits, &mut args), full);
            // And the parser is ready for the next command.
            assert_eq!(run(&mut p, input, &limits, &mut args), full);
        }
        // Error inputs: the incremental parser reports the error exactly when a fresh parser
        // given the same prefix would.
        let errors: Vec<Vec<u8>> = vec![
            b"*1\r\n:4\r\n".to_vec(),
            b"*2\r\n$3\r\nfoo\r\n$-3\r\n".to_vec(),
            b"*abc\r\n".to_vec(),
            b"ECHO \"abc\r\n".to_vec(),
        ];
        for input in &errors {
            let mut p = Parser::new();
            let mut args = Args::new();
            for k in 0..=input.len() {
                let inc = run(&mut p, &input[..k], &limits, &mut args);
                assert_eq!(inc, once(&input[..k]), "{input:?} at {k}");
                if inc != Out::More {
                    break;
                }
            }
            assert!(matches!(once(input), Out::Err(_)));
        }
    }

    #[test]
    fn error_messages() {
        let cases: Vec<(ProtoError, &str)> = vec![
            (ProtoError::TooBigInline, "Protocol error: too big inline request"),
            (ProtoError::UnbalancedQuotes, "Protocol error: unbalanced quotes in request"),
            (ProtoError::TooBigMbulkCount, "Protocol error: too big mbulk count string"),
            (ProtoError::InvalidMultibulkLength, "Protocol error: invalid multibulk length"),
            (ProtoError::UnauthenticatedMultibulkLength, "Protocol error: unauthenticated multibulk length"),
            (ProtoError::TooBigBulkCount, "Protocol error: too big bulk count string"),
            (ProtoError::ExpectedDollar(b':'), "Protocol error: expected '$', got ':'"),
            (ProtoError::ExpectedDollar(b'\r'), "Protocol error: expected '$', got ' '"),
            (ProtoError::ExpectedDollar(b'\n'), "Protocol error: expected '$', got ' '"),
            (ProtoError::InvalidBulkLength, "Protocol error: invalid bulk length"),
            (ProtoError::UnauthenticatedBulkLength, "Protocol error: unauthenticated bulk length"),
        ];
        for (e, text) in cases {
            assert_eq!(e.message(), text);
            assert_eq!(e.to_string(), text);
            assert_eq!(e.message_bytes(), text.as_bytes());
            assert_eq!(e.to_resp(), format!("-ERR {text}\r\n").into_bytes());
        }
        // A byte >= 0x80 is sent raw by Redis.
        assert_eq!(
            ProtoError::ExpectedDollar(0xff).message_bytes(),
            b"Protocol error: expected '$', got '\xff'"
        );
    }

    #[test]
    fn too_big_inline() {
        assert_eq!(once(&[b'x'; INLINE_MAX_SIZE]), Out::More);
        assert_eq!(once(&[b'x'; INLINE_MAX_SIZE + 1]), Out::Err(ProtoError::TooBigInline));
        // A `\r` does not end an inline request: only `\n` does.
        let mut v = vec![b'x'; INLINE_MAX_SIZE];
        v.push(b'\r');
        assert_eq!(once(&v), Out::Err(ProtoError::TooBigInline));
        // Redis only checks the size when no `\n` is buffered: a longer complete line is
        // accepted (in practice Redis reads at most 16 KiB at a time, see the module docs).
        let mut v = b"ECHO ".to_vec();
        v.extend(std::iter::repeat_n(b'y', 100_000));
        v.push(b'\n');
        assert_eq!(args_of(&v).len(), 2);
    }

    #[test]
    fn unbalanced_quotes() {
        for input in [
            &b"ECHO \"abc\r\n"[..],
            b"ECHO 'abc\n",
            b"ECHO \"a\"x\r\n",
            b"ECHO 'a'x\r\n",
            b"ECHO 'a'\"b\"\r\n",
            b"ECHO \"a\"\"b\"\r\n",
            b"ECHO a\"b c\"d\r\n",
            b"ECHO \"a\\\"\r\n",
            b"ECHO \"a\\\r\n",
            b"ECHO 'a\\'\r\n",
            b"\"\n",
        ] {
            assert_eq!(err_of(input), ProtoError::UnbalancedQuotes, "{input:?}");
        }
    }

    #[test]
    fn inline_splitting() {
        let cases: Vec<(&[u8], Vec<&[u8]>)> = vec![
            (b"PING\r\n", vec![b"PING"]),
            (b"PING\n", vec![b"PING"]),
            (b" \tPING \t\r\n", vec![b"PING"]),
            (b"\r\n", vec![]),
            (b"\n", vec![]),
            (b"   \r\n", vec![]),
            // Only one `\r` is stripped; a second one is a separator.
            (b"\r\r\n", vec![]),
            (b"ECHO a\r\r\n", vec![b"ECHO", b"a"]),
            (b"ECHO a\rb\r\n", vec![b"ECHO", b"a", b"b"]),
            // `\v` and `\f` are skipped between tokens but do not end a token.
            (b"\x0bECHO\x0ca\r\n", vec![b"ECHO\x0ca"]),
            (b"SET k v\xff\r\n", vec![b"SET", b"k", b"v\xff"]),
            (b"ECHO \"\"\r\n", vec![b"ECHO", b""]),
            (b"ECHO ''\r\n", vec![b"ECHO", b""]),
            (b"ECHO \"a b\" c\r\n", vec![b"ECHO", b"a b", b"c"]),
            (b"ECHO \"\\x41\\xZZ\\q\\n\\r\\t\\b\\a\\\"\\\\\"\r\n", vec![b"ECHO", b"AxZZq\n\r\t\x08\x07\"\\"]),
            (b"ECHO \"\\x4g\" \"\\X41\" \"\\x4\" \"\\x\"\r\n", vec![b"ECHO", b"x4g", b"X41", b"x4", b"x"]),
            (b"ECHO \"\\xfF\"\n", vec![b"ECHO", b"\xff"]),
            (b"ECHO 'a\\'b\\n'\r\n", vec![b"ECHO", b"a'b\\n"]),
            (b"ECHO '\\x41'\r\n", vec![b"ECHO", b"\\x41"]),
            (b"ECHO \"it's\" 'say \"hi\"'\r\n", vec![b"ECHO", b"it's", b"say \"hi\""]),
            // A quote may start in the middle of a token.
            (b"ECHO a\"b c\"\r\n", vec![b"ECHO", b"ab c"]),
            (b"ECHO x\"a\" \"b\"\r\n", vec![b"ECHO", b"xa", b"b"]),
            // Any C space may follow the closing quote.
            (b"ECHO \"a\"\x0b\r\n", vec![b"ECHO", b"a"]),
            (b"ECHO \"a\"\r\r\n", vec![b"ECHO", b"a"]),
            (b"ECHO \"a\"\tb\r\n", vec![b"ECHO", b"a", b"b"]),
            // Inside quotes every byte is literal.
            (b"ECHO \"a\r\x0b\"\r\n", vec![b"ECHO", b"a\r\x0b"]),
        ];
        for (input, want) in cases {
            let got = args_of(input);
            let want: Vec<Vec<u8>> = want.iter().map(|a| a.to_vec()).collect();
            assert_eq!(got, want, "{:?}", String::from_utf8_lossy(input));
        }
        // Unquoted inline arguments are zero-copy too.
        let buf = b"SET key value\r\n";
        let mut args = Args::new();
        Parser::new().parse(buf, &ParseLimits::default(), &mut args).unwrap();
        assert!(buf.as_ptr_range().contains(&args.get(buf, 1).as_ptr()));
    }

    #[test]
    fn nul_hides_the_line_end() {
        // C's strchr stops at the NUL: Redis never sees these lines end.
        assert_eq!(once(b"PING\0\r\nPING\r\n"), Out::More);
        assert_eq!(once(b"*1\0\r\n$4\r\nPING\r\n"), Out::More);
        assert_eq!(once(b"*1\r\n$4\0\r\nPING\r\n"), Out::More);
        // ... until more than 64 KiB are buffered.
        let mut v = b"PING\0\r\n".to_vec();
        v.resize(INLINE_MAX_SIZE + 1, b'x');
        assert_eq!(once(&v), Out::Err(ProtoError::TooBigInline));
        let mut v = b"*1\0\r\n".to_vec();
        v.resize(INLINE_MAX_SIZE + 1, b'x');
        assert_eq!(once(&v), Out::Err(ProtoError::TooBigMbulkCount));
        let mut v = b"*2\r\n$1\r\na\r\n$1\0\r\n".to_vec();
        v.resize(11 + INLINE_MAX_SIZE + 1, b'x');
        assert_eq!(once(&v), Out::Err(ProtoError::TooBigBulkCount));
        v.pop();
        assert_eq!(once(&v), Out::More);
        // A NUL inside a bulk payload is just data.
        assert_eq!(args_of(b"*1\r\n$4\r\nPI\0G\r\n"), vec![b"PI\0G".to_vec()]);
    }

    #[test]
    fn unchecked_bytes() {
        // The two bytes after a payload and the byte after each `\r` are not looked at.
        assert_eq!(once(b"*1\r\n$4\r\nPINGxy"), cmd(14, &[b"PING"]));
        assert_eq!(once(b"*1\rx$4\r\nPING\r\n"), cmd(14, &[b"PING"]));
        assert_eq!(once(b"*1\r\n$4\r\rPING\r\n"), cmd(14, &[b"PING"]));
        assert_eq!(once(b"*1\r\n$4\r\nPING"), Out::More);
        assert_eq!(once(b"*1\r\n$4\r\nPING\r"), Out::More);
        // A `\r` at the very end waits, whatever the size.
        let mut v = vec![b'*'];
        v.extend(std::iter::repeat_n(b'0', 70_000));
        v.push(b'\r');
        assert_eq!(once(&v), Out::More);
        v.push(b'\n');
        assert_eq!(once(&v), Out::Err(ProtoError::InvalidMultibulkLength));
    }

    #[test]
    fn empty_commands() {
        for input in [&b"*0\r\n"[..], b"*-1\r\n", b"*-5\r\n", b"*-9223372036854775808\r\n"] {
            assert_eq!(once(input), cmd(input.len(), &[]), "{input:?}");
        }
        let unauth = ParseLimits { authenticated: false, ..ParseLimits::default() };
        assert_eq!(once_with(b"*-100\r\n", &unauth), cmd(7, &[]));
        // An empty bulk is an argument.
        assert_eq!(once(b"*1\r\n$0\r\n\r\n"), cmd(10, &[b""]));
    }

    #[test]
    fn multibulk_length() {
        for input in [
            &b"*01\r\n"[..],
            b"*+1\r\n",
            b"* 1\r\n",
            b"*1 \r\n",
            b"*\r\n",
            b"*-\r\n",
            b"*-0\r\n",
            b"*abc\r\n",
            b"*2147483648\r\n",
            b"*9223372036854775808\r\n",
            b"*-9223372036854775809\r\n",
            b"*10000000000000000000\r\n",
            b"*000000000000000000001\r\n",
        ] {
            assert_eq!(err_of(input), ProtoError::InvalidMultibulkLength, "{input:?}");
        }
        // INT_MAX is fine (and allocates nothing up front).
        let mut p = Parser::new();
        let mut args = Args::new();
        let limits = ParseLimits::default();
        assert_eq!(p.parse(b"*2147483647\r\n", &limits, &mut args), Ok(None));
        assert!(p.spans.capacity() < 1024);

        let mut v = vec![b'*'];
        v.extend(std::iter::repeat_n(b'0', INLINE_MAX_SIZE - 1));
        assert_eq!(once(&v), Out::More);
        v.push(b'0');
        assert_eq!(once(&v), Out::Err(ProtoError::TooBigMbulkCount));
    }

    #[test]
    fn bulk_length() {
        for input in [
            &b"*1\r\n$-1\r\n"[..],
            b"*1\r\n$-5\r\n",
            b"*1\r\n$-0\r\n",
            b"*1\r\n$04\r\n",
            b"*1\r\n$\r\n",
            b"*1\r\n$+4\r\n",
            b"*1\r\n$4x\r\n",
            b"*1\r\n$536870913\r\n",
            b"*1\r\n$9223372036854775807\r\n",
            b"*1\r\n$9223372036854775808\r\n",
            b"*2\r\n$3\r\nfoo\r\n$bar\r\n",
        ] {
            assert_eq!(err_of(input), ProtoError::InvalidBulkLength, "{input:?}");
        }
        assert_eq!(once(b"*1\r\n$536870912\r\n"), Out::More);
        let small = ParseLimits { max_bulk_len: 3, authenticated: true };
        assert_eq!(once_with(b"*1\r\n$3\r\nfoo\r\n", &small), cmd(13, &[b"foo"]));
        assert_eq!(err_with(b"*1\r\n$4\r\n", &small), ProtoError::InvalidBulkLength);

        for prefix in [&b"*1\r\n$"[..], b"*2\r\n$1\r\na\r\n$"] {
            let mut v = prefix.to_vec();
            v.extend(std::iter::repeat_n(b'0', INLINE_MAX_SIZE - 1));
            assert_eq!(once(&v), Out::More);
            v.push(b'0');
            assert_eq!(once(&v), Out::Err(ProtoError::TooBigBulkCount));
            v.extend_from_slice(b"\r\n");
            assert_eq!(once(&v), Out::Err(ProtoError::InvalidBulkLength));
        }
    }

    #[test]
    fn expected_dollar() {
        assert_eq!(err_of(b"*1\r\n:4\r\n"), ProtoError::ExpectedDollar(b':'));
        assert_eq!(err_of(b"*1\r\nfoo\r\n"), ProtoError::ExpectedDollar(b'f'));
        assert_eq!(err_of(b"*1\r\n\r\n"), ProtoError::ExpectedDollar(b'\r'));
        assert_eq!(err_of(b"*1\r\n\n\r\n"), ProtoError::ExpectedDollar(b'\n'));
        assert_eq!(err_of(b"*1\r\n\xff4\r\n"), ProtoError::ExpectedDollar(0xff));
        assert_eq!(err_of(b"*3\r\n$3\r\nSET\r\n$1\r\nx\r\nfooz\r\n"), ProtoError::ExpectedDollar(b'f'));
        // The line must be complete (with a byte after its `\r`) before the `$` is checked.
        assert_eq!(once(b"*1\r\n:4"), Out::More);
        assert_eq!(once(b"*1\r\n:4\r"), Out::More);
    }

    #[test]
    fn unauthenticated_limits() {
        let unauth = ParseLimits { authenticated: false, ..ParseLimits::default() };
        assert_eq!(once_with(b"*10\r\n", &unauth), Out::More);
        assert_eq!(err_with(b"*11\r\n", &unauth), ProtoError::UnauthenticatedMultibulkLength);
        assert_eq!(err_with(b"*2147483648\r\n", &unauth), ProtoError::InvalidMultibulkLength);
        assert_eq!(once_with(b"*1\r\n$16384\r\n", &unauth), Out::More);
        assert_eq!(err_with(b"*1\r\n$16385\r\n", &unauth), ProtoError::UnauthenticatedBulkLength);
        assert_eq!(err_with(b"*1\r\n$536870913\r\n", &unauth), ProtoError::InvalidBulkLength);
        assert_eq!(err_with(b"*1\r\n$-5\r\n", &unauth), ProtoError::InvalidBulkLength);
        // Inline requests have no such limit.
        let mut v = b"AUTH".to_vec();
        for _ in 0..20 {
            v.extend_from_slice(b" x");
        }
        v.extend_from_slice(b"\r\n");
        assert!(matches!(once_with(&v, &unauth), Out::Cmd(_, a) if a.len() == 21));
        // The same inputs are fine once authenticated.
        assert_eq!(once(b"*11\r\n"), Out::More);
        assert_eq!(once(b"*1\r\n$16385\r\n"), Out::More);
    }

    #[test]
    fn pending_bulk() {
        let limits = ParseLimits::default();
        let mut p = Parser::new();
        let mut args = Args::new();
        assert_eq!(p.pending_bulk(), None);
        let mut buf = b"*2\r\n$3\r\nSET\r\n$100000\r\nab".to_vec();
        assert_eq!(p.parse(&buf, &limits, &mut args), Ok(None));
        assert_eq!(p.pending_bulk(), Some(100_000));
        assert_eq!(p.pending_bulk_end(), Some(22 + 100_000 + 2));
        buf.resize(22 + 100_000, b'z');
        assert_eq!(p.parse(&buf, &limits, &mut args), Ok(None));
        buf.extend_from_slice(b"\r\n");
        assert_eq!(p.parse(&buf, &limits, &mut args), Ok(Some(buf.len())));
        assert_eq!(args.get(&buf, 1).len(), 100_000);
        assert_eq!(p.pending_bulk(), None);
        assert_eq!(p.pending_bulk_end(), None);
    }

    #[test]
    fn args_survive_a_different_args_between_calls() {
        // The parser keeps partial arguments itself, so the caller may even use another
        // `Args` (or clear it) while waiting for more bytes.
        let limits = ParseLimits::default();
        let buf = b"*2\r\n$3\r\nGET\r\n$1\r\nk\r\n";
        let mut p = Parser::new();
        let mut a1 = Args::new();
        assert_eq!(p.parse(&buf[..15], &limits, &mut a1), Ok(None));
        let mut a2 = Args::new();
        assert_eq!(p.parse(buf, &limits, &mut a2), Ok(Some(buf.len())));
        assert_eq!(a2.iter(buf).collect::<Vec<_>>(), vec![&b"GET"[..], b"k"]);
        // A quoted inline command followed by a multibulk one reuses the same Args.
        let q = b"SET \"a b\" c\r\n";
        assert_eq!(p.parse(q, &limits, &mut a2), Ok(Some(q.len())));
        assert_eq!(a2.get(q, 1), b"a b");
        assert_eq!(p.parse(buf, &limits, &mut a2), Ok(Some(buf.len())));
        assert_eq!(a2.get(buf, 0), b"GET");
    }

    #[test]
    fn linear_work_for_slow_clients() {
        // Lines close to 64 KiB arriving one byte at a time are scanned once, not once per
        // read.
        let limits = ParseLimits::default();
        let mut inputs = Vec::new();
        let mut inline = vec![b'x'; INLINE_MAX_SIZE - 10];
        inline.extend_from_slice(b" y\r\n");
        inputs.push(inline);
        let mut count = vec![b'*'];
        count.extend(std::iter::repeat_n(b'0', INLINE_MAX_SIZE - 10));
        count.extend_from_slice(b"\r\n");
        inputs.push(count);
        let mut bulk = b"*2\r\n$1\r\na\r\n$".to_vec();
        bulk.extend(std::iter::repeat_n(b'0', INLINE_MAX_SIZE - 10));
        bulk.extend_from_slice(b"\r\n");
        inputs.push(bulk);
        let mut nul = b"PING\0".to_vec();
        nul.resize(INLINE_MAX_SIZE + 1, b'x');
        inputs.push(nul);
        let mut big = encode(&[b"SET".to_vec(), b"k".to_vec(), vec![b'v'; 200_000]]);
        big.extend_from_slice(b"PING\r\n");
        inputs.push(big);
        for input in inputs {
            let mut p = Parser::new();
            let mut args = Args::new();
            let mut results = 0;
            let mut start = 0;
            for end in 0..=input.len() {
                match p.parse(&input[start..end], &limits, &mut args) {
                    Ok(Some(n)) => {
                        start += n;
                        results += 1;
                    }
                    Ok(None) => {}
                    Err(_) => {
                        results += 1;
                        break;
                    }
                }
            }
            assert!(results >= 1);
            assert!(p.scanned <= 2 * input.len() + 16, "{} > {}", p.scanned, input.len());
        }
    }

    #[test]
    fn string2ll_like_redis() {
        assert_eq!(string2ll(b"0"), Some(0));
        assert_eq!(string2ll(b"-1"), Some(-1));
        assert_eq!(string2ll(b"9223372036854775807"), Some(i64::MAX));
        assert_eq!(string2ll(b"-9223372036854775808"), Some(i64::MIN));
        for bad in [
            &b""[..],
            b"-",
            b"-0",
            b"00",
            b"01",
            b"+1",
            b" 1",
            b"1 ",
            b"1a",
            b"9223372036854775808",
            b"-9223372036854775809",
            b"18446744073709551616",
            b"000000000000000000001",
        ] {
            assert_eq!(string2ll(bad), None, "{bad:?}");
        }
    }

    fn arb_args() -> impl Strategy<Value = Vec<Vec<u8>>> {
        prop::collection::vec(prop::collection::vec(any::<u8>(), 0..40), 1..8)
    }

    /// Bytes biased towards protocol characters, so that random input reaches deep states.
    fn arb_protocolish() -> impl Strategy<Value = Vec<u8>> {
        let byte = prop_oneof![
            4 => prop::sample::select(b"*$\r\n0123-456789 \t\"'\\x\0aZ\x0b".to_vec()),
            1 => any::<u8>(),
        ];
        prop::collection::vec(byte, 0..300)
    }

    fn arb_limits() -> impl Strategy<Value = ParseLimits> {
        (prop_oneof![Just(512u64 * 1024 * 1024), 0u64..20], any::<bool>())
            .prop_map(|(max_bulk_len, authenticated)| ParseLimits { max_bulk_len, authenticated })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn multibulk_roundtrip(args in arb_args(), split in any::<prop::sample::Index>()) {
            let buf = encode(&args);
            let limits = ParseLimits::default();
            prop_assert_eq!(once(&buf), Out::Cmd(buf.len(), args.clone()));
            // Split at a random point: first a prefix, then the whole buffer.
            let k = split.index(buf.len());
            let mut p = Parser::new();
            let mut a = Args::new();
            prop_assert_eq!(run(&mut p, &buf[..k], &limits, &mut a), Out::More);
            prop_assert_eq!(run(&mut p, &buf, &limits, &mut a), Out::Cmd(buf.len(), args.clone()));
            // Pipelined after another command, with trailing bytes of a third.
            let mut two = encode(&[b"PING".to_vec()]);
            two.extend_from_slice(&buf);
            two.extend_from_slice(&buf[..k]);
            let outs = feed_all(&two, &limits);
            prop_assert_eq!(outs.len(), 3);
            prop_assert_eq!(&outs[1], &Out::Cmd(buf.len(), args.clone()));
        }

        #[test]
        fn inline_roundtrip(args in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..20), 1..6)) {
            // Quote every argument with escapes for every byte that needs one.
            let mut line = Vec::new();
            for a in &args {
                line.extend_from_slice(b" \"");
                for &b in a {
                    match b {
                        b'"' | b'\\' => line.extend_from_slice(&[b'\\', b]),
                        0 | b'\n' | 0x80..=0xff => line.extend_from_slice(format!("\\x{b:02x}").as_bytes()),
                        _ => line.push(b),
                    }
                }
                line.push(b'"');
            }
            line.extend_from_slice(b"\r\n");
            prop_assert_eq!(once(&line), Out::Cmd(line.len(), args));
        }

        #[test]
        fn arbitrary_bytes_never_panic(
            data in prop::collection::vec(any::<u8>(), 0..400),
            limits in arb_limits(),
        ) {
            let mut p = Parser::new();
            let mut a = Args::new();
            let mut start = 0;
            while let Ok(Some(n)) = p.parse(&data[start..], &limits, &mut a) {
                prop_assert!(n > 0 && n <= data.len() - start);
                for arg in a.iter(&data[start..]) {
                    prop_assert!(arg.len() <= data.len());
                }
                start += n;
            }
        }

        #[test]
        fn incremental_equals_one_shot(
            data in arb_protocolish(),
            limits in arb_limits(),
            cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..6),
        ) {
            let all = feed_all(&data, &limits);
            prop_assert_eq!(&feed_bytewise(&data, &limits), &all);
            // Arbitrary read sizes: feed growing prefixes ending at the cut points.
            let mut ends: Vec<usize> = cuts.iter().map(|c| c.index(data.len() + 1)).collect();
            ends.push(data.len());
            ends.sort_unstable();
            let mut p = Parser::new();
            let mut a = Args::new();
            let mut start = 0;
            let mut outs = Vec::new();
            let mut i = 0;
            loop {
                let end = ends[i].max(start);
                match run(&mut p, &data[start..end], &limits, &mut a) {
                    Out::More if i + 1 < ends.len() => i += 1,
                    Out::Cmd(n, args) => {
                        outs.push(Out::Cmd(n, args));
                        start += n;
                    }
                    other => {
                        outs.push(other);
                        break;
                    }
                }
            }
            prop_assert_eq!(&outs, &all);
        }

        #[test]
        fn plain_split_matches_sdssplitargs(
            line in prop::collection::vec(
                prop::sample::select(b"ab \t\r\x0b\x0cx\xff".to_vec()), 0..40),
        ) {
            let mut fast = Args::new();
            split_plain(&line, &mut fast.spans);
            let mut slow = Args::new();
            prop_assert_eq!(split_quoted(&line, &mut slow), Ok(()));
            let f: Vec<&[u8]> = fast.iter(&line).collect();
            let s: Vec<&[u8]> = slow.iter(&line).collect();
            prop_assert_eq!(f, s);
        }

        #[test]
        fn string2ll_canonical(n in any::<i64>(), s in "[-+0-9 ]{0,22}") {
            prop_assert_eq!(string2ll(n.to_string().as_bytes()), Some(n));
            if let Some(v) = string2ll(s.as_bytes()) {
                prop_assert_eq!(v.to_string(), s);
            }
        }
    }
}
