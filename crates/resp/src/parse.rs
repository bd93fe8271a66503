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
            ProtoError::UnauthenticatedMultibulkLength => {
                "Protocol error: unauthenticated multibulk length"
            }
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
        match rest.iter().position(|&b| b == term || b == 0) {
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

    fn parse_multibulk(
        &mut self,
        buf: &[u8],
        limits: &ParseLimits,
        args: &mut Args,
    ) -> Result<Option<usize>, ProtoError> {
        if self.phase == Phase::Count {
            let cr = match self.find_line(buf, b'\r') {
                Line::Found(cr) => cr,
                Line::CrAtEnd => return Ok(None),
                Line::NotFound => {
                    if self.line_too_big(buf) {
                        return Err(ProtoError::TooBigMbulkCount);
                    }
                    return Ok(None);
                }
            };
            let digits = buf.get(self.pos + 1..cr).unwrap_or(&[]);
            let n = match string2ll(digits) {
                Some(n) if n <= i32::MAX as i64 => n,
                _ => return Err(ProtoError::InvalidMultibulkLength),
            };
            if n > UNAUTH_MAX_MULTIBULK && !limits.authenticated {
                return Err(ProtoError::UnauthenticatedMultibulkLength);
            }
            self.pos = cr + 2;
            if n <= 0 {
                args.clear();
                return Ok(Some(self.pos));
            }
            self.remaining = n as usize;
            self.scan = self.pos;
            self.bulk = None;
            self.spans.clear();
            self.phase = Phase::Bulks;
        }

        while self.remaining > 0 {
            let len = match self.bulk {
                Some(len) => len,
                None => {
                    let cr = match self.find_line(buf, b'\r') {
                        Line::Found(cr) => cr,
                        Line::CrAtEnd => return Ok(None),
                        Line::NotFound => {
                            if self.line_too_big(buf) {
                                return Err(ProtoError::TooBigBulkCount);
                            }
                            return Ok(None);
                        }
                    };
                    // `cr >= pos`, so the line has a first byte.
                    let first = buf.get(self.pos).copied().unwrap_or(b'\r');
                    if first != b'$' {
                        return Err(ProtoError::ExpectedDollar(first));
                    }
                    let digits = buf.get(self.pos + 1..cr).unwrap_or(&[]);
                    let n = match string2ll(digits) {
                        Some(n) if n >= 0 && n as u64 <= limits.max_bulk_len => n,
                        _ => return Err(ProtoError::InvalidBulkLength),
                    };
                    if n > UNAUTH_MAX_BULK && !limits.authenticated {
                        return Err(ProtoError::UnauthenticatedBulkLength);
                    }
                    // A length that does not fit in usize can never arrive: wait forever
                    // (only possible on 32-bit targets).
                    let len = usize::try_from(n).unwrap_or(usize::MAX);
                    self.pos = cr + 2;
                    self.bulk = Some(len);
                    len
                }
            };
            // Payload plus two bytes Redis skips without looking at them.
            let end = self.pos.saturating_add(len).saturating_add(2);
            if buf.len() < end {
                return Ok(None);
            }
            self.spans.push((self.pos, len));
            self.pos = end;
            self.scan = end;
            self.bulk = None;
            self.remaining -= 1;
        }

        args.clear();
        std::mem::swap(&mut args.spans, &mut self.spans);
        Ok(Some(self.pos))
    }
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
