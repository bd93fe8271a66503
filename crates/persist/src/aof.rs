//! Redis 7's multi-part append-only file, the format side: the manifest (which files make
//! up the AOF, in order), the file names, the RESP encoding of logged commands and the
//! reader that replays them.
//!
//! An AOF directory (`appenddirname`) holds:
//! - one base file, `<appendfilename>.<seq>.base.rdb` (an RDB file, `aof-use-rdb-preamble
//!   yes`) or `.base.aof` (commands);
//! - incremental files `<appendfilename>.<seq>.incr.aof`: commands logged after the base,
//!   replayed in manifest order;
//! - the manifest `<appendfilename>.manifest`, one line per file:
//!   `file appendonly.aof.1.base.rdb seq 1 type b\n` (types `b` base, `h` history, `i`
//!   incremental), replaced atomically (temporary file + rename) when the set changes.
//!
//! Logged commands are RESP arrays of bulk strings; a line starting with `#` is an
//! annotation (`#TS:<unix seconds>` with `aof-timestamp-enabled`) and is skipped on load.

use std::path::Path;

/// The kind of a file listed in the manifest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    /// The base: a snapshot of the dataset (`type b`).
    Base,
    /// A file left from before a rewrite, about to be deleted (`type h`).
    History,
    /// Commands logged after the base (`type i`).
    Incr,
}

impl FileKind {
    fn letter(self) -> char {
        match self {
            FileKind::Base => 'b',
            FileKind::History => 'h',
            FileKind::Incr => 'i',
        }
    }
}

/// One file of the manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AofFile {
    /// Its name, inside the AOF directory.
    pub name: String,
    /// Its sequence number.
    pub seq: u64,
    /// What it is.
    pub kind: FileKind,
}

/// The manifest: the base (if any) and the incremental files in replay order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Manifest {
    /// The base file.
    pub base: Option<AofFile>,
    /// History files (to delete).
    pub history: Vec<AofFile>,
    /// The incremental files, oldest first.
    pub incrs: Vec<AofFile>,
}

/// The manifest's file name for `appendfilename`.
pub fn manifest_name(appendfilename: &str) -> String {
    format!("{appendfilename}.manifest")
}

/// The name of base file `seq` (`rdb`: an RDB preamble, else commands).
pub fn base_name(appendfilename: &str, seq: u64, rdb: bool) -> String {
    format!("{appendfilename}.{seq}.base.{}", if rdb { "rdb" } else { "aof" })
}

/// The name of incremental file `seq`.
pub fn incr_name(appendfilename: &str, seq: u64) -> String {
    format!("{appendfilename}.{seq}.incr.aof")
}

impl Manifest {
    /// Parse a manifest's text. `Err` names what is wrong, as Redis's messages do.
    pub fn parse(text: &[u8]) -> Result<Manifest, String> {
        let mut m = Manifest::default();
        for line in text.split(|&b| b == b'\n') {
            let line = String::from_utf8_lossy(line);
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let f = parse_line(line)?;
            match f.kind {
                FileKind::Base => {
                    if m.base.is_some() {
                        return Err("Found duplicate base file information".into());
                    }
                    m.base = Some(f);
                }
                FileKind::History => m.history.push(f),
                FileKind::Incr => {
                    if m.incrs.last().is_some_and(|l| l.seq >= f.seq) {
                        return Err("Found a non-monotonic sequence number".into());
                    }
                    m.incrs.push(f);
                }
            }
        }
        if m.base.is_none() && m.incrs.is_empty() {
            return Err("Found an empty AOF manifest".into());
        }
        Ok(m)
    }

    /// The manifest's text, as Redis writes it (base, history, then incremental files).
    pub fn render(&self) -> String {
        let mut s = String::new();
        for f in self.base.iter().chain(self.history.iter()).chain(self.incrs.iter()) {
            s.push_str(&format!("file {} seq {} type {}\n", f.name, f.seq, f.kind.letter()));
        }
        s
    }

    /// The last incremental file's sequence number (0: none).
    pub fn last_incr_seq(&self) -> u64 {
        self.incrs.last().map_or(0, |f| f.seq)
    }

    /// Every file the manifest lists.
    pub fn files(&self) -> impl Iterator<Item = &AofFile> {
        self.base.iter().chain(self.history.iter()).chain(self.incrs.iter())
    }
}

fn parse_line(line: &str) -> Result<AofFile, String> {
    let words: Vec<&str> = line.split_ascii_whitespace().collect();
    if !words.len().is_multiple_of(2) || words.len() < 6 {
        return Err("Invalid AOF manifest file format".into());
    }
    let (mut name, mut seq, mut kind) = (None, None, None);
    for pair in words.chunks(2) {
        match (pair[0], pair[1]) {
            ("file", v) => name = Some(v.to_string()),
            ("seq", v) => seq = v.parse::<u64>().ok(),
            ("type", "b") => kind = Some(FileKind::Base),
            ("type", "h") => kind = Some(FileKind::History),
            ("type", "i") => kind = Some(FileKind::Incr),
            _ => {}
        }
    }
    match (name, seq, kind) {
        (Some(name), Some(seq), Some(kind)) if !name.contains('/') => Ok(AofFile { name, seq, kind }),
        _ => Err("Invalid AOF manifest file format".into()),
    }
}

/// Write `text` to `dir/name` atomically: a temporary file, fsync, rename, fsync the
/// directory.
pub fn write_atomically(dir: &Path, name: &str, text: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let tmp = dir.join(format!("temp-{name}"));
    {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(text)?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, dir.join(name))?;
    sync_dir(dir)
}

/// fsync a directory (after creating, renaming or deleting files in it).
pub fn sync_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::File::open(dir)?.sync_all()
}

/// Append `argv` to `out` as a RESP array of bulk strings.
pub fn encode_command<A: AsRef<[u8]>>(out: &mut Vec<u8>, argv: &[A]) {
    out.push(b'*');
    out.extend_from_slice(argv.len().to_string().as_bytes());
    out.extend_from_slice(b"\r\n");
    for a in argv {
        let a = a.as_ref();
        out.push(b'$');
        out.extend_from_slice(a.len().to_string().as_bytes());
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(a);
        out.extend_from_slice(b"\r\n");
    }
}

/// One command's arguments.
pub type Argv = Vec<Vec<u8>>;

/// What went wrong reading commands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReadError {
    /// The data ends in the middle of a command (a crash while appending): the valid part
    /// ends at this offset.
    Truncated(usize),
    /// Not the AOF format, at this offset.
    Corrupt(usize),
}

/// Most arguments one logged command may have, and the longest argument (Redis's limits
/// for a request: 1M-ish arguments, 512 MB bulk strings) — the reader allocates by them.
const MAX_ARGS: usize = 1 << 20;
const MAX_BULK: usize = 512 << 20;

/// Read the command at `pos` of `buf`: `Ok(None)` at the end, else the arguments and the
/// offset after them. Annotation lines (`#...\r\n`) are skipped.
pub fn read_command(buf: &[u8], mut pos: usize) -> Result<Option<(Argv, usize)>, ReadError> {
    loop {
        match buf.get(pos) {
            None => return Ok(None),
            Some(b'#') => {
                let (_, next) = read_line(buf, pos)?;
                pos = next;
            }
            Some(b'*') => break,
            Some(_) => return Err(ReadError::Corrupt(pos)),
        }
    }
    let start = pos;
    let (line, mut at) = read_line(buf, pos)?;
    let argc =
        parse_len(&line[1..]).filter(|n| (1..=MAX_ARGS).contains(n)).ok_or(ReadError::Corrupt(start))?;
    let mut argv = Vec::with_capacity(argc.min(1024));
    for _ in 0..argc {
        let (line, next) = read_line(buf, at).map_err(|e| widen(e, start))?;
        if line.first() != Some(&b'$') {
            return Err(ReadError::Corrupt(at));
        }
        let len = parse_len(&line[1..]).filter(|&n| n <= MAX_BULK).ok_or(ReadError::Corrupt(at))?;
        let end = next + len;
        if buf.len() < end + 2 {
            return Err(ReadError::Truncated(start));
        }
        if &buf[end..end + 2] != b"\r\n" {
            return Err(ReadError::Corrupt(end));
        }
        argv.push(buf[next..end].to_vec());
        at = end + 2;
    }
    Ok(Some((argv, at)))
}

fn widen(e: ReadError, start: usize) -> ReadError {
    match e {
        ReadError::Truncated(_) => ReadError::Truncated(start),
        c => c,
    }
}

/// The line at `pos` (without `\r\n`) and the offset after it.
fn read_line(buf: &[u8], pos: usize) -> Result<(&[u8], usize), ReadError> {
    let rest = &buf[pos.min(buf.len())..];
    match rest.iter().position(|&b| b == b'\n') {
        Some(i) if i > 0 && rest[i - 1] == b'\r' => Ok((&rest[..i - 1], pos + i + 1)),
        Some(_) => Err(ReadError::Corrupt(pos)),
        None => Err(ReadError::Truncated(pos)),
    }
}

fn parse_len(s: &[u8]) -> Option<usize> {
    if s.is_empty() || s.len() > 12 || !s.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(s).ok()?.parse().ok()
}

/// Reads commands from a stream (an AOF file) a chunk at a time: memory is one chunk plus
/// the longest command, never the whole file.
pub struct CommandReader<R> {
    inner: R,
    buf: Vec<u8>,
    /// Where the next command starts in `buf`.
    start: usize,
    /// The stream offset of `buf[0]`.
    base: usize,
    eof: bool,
}

const READ_CHUNK: usize = 1 << 20;

impl<R: std::io::Read> CommandReader<R> {
    /// A reader of `inner` from its current position.
    pub fn new(inner: R) -> Self {
        CommandReader { inner, buf: Vec::new(), start: 0, base: 0, eof: false }
    }

    /// The next command and the stream offsets where it starts and ends; `Ok(None)` at the
    /// end. Error offsets are stream offsets.
    pub fn next_command(&mut self) -> Result<Option<(Argv, usize, usize)>, ReadError> {
        loop {
            let r = read_command(&self.buf, self.start);
            match r {
                Ok(Some((argv, next))) => {
                    let at = self.base + self.start;
                    self.start = next;
                    return Ok(Some((argv, at, self.base + next)));
                }
                Err(ReadError::Corrupt(at)) => return Err(ReadError::Corrupt(self.base + at)),
                Ok(None) | Err(ReadError::Truncated(_)) if !self.eof => self.fill()?,
                Ok(None) => return Ok(None),
                Err(ReadError::Truncated(at)) => return Err(ReadError::Truncated(self.base + at)),
            }
        }
    }

    /// Drop what was consumed and read one more chunk (or note the end).
    fn fill(&mut self) -> Result<(), ReadError> {
        self.buf.drain(..self.start);
        self.base += self.start;
        self.start = 0;
        let old = self.buf.len();
        self.buf.resize(old + READ_CHUNK, 0);
        let n = loop {
            match self.inner.read(&mut self.buf[old..]) {
                Ok(n) => break n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(_) => break 0,
            }
        };
        self.buf.truncate(old + n);
        if n == 0 {
            self.eof = true;
        }
        Ok(())
    }
}

/// Whether a file's contents start like an RDB file (a base written with the RDB preamble).
pub fn is_rdb(head: &[u8]) -> bool {
    head.starts_with(b"REDIS")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manifest_round_trip_matches_redis_bytes() {
        let text =
            b"file appendonly.aof.1.base.rdb seq 1 type b\nfile appendonly.aof.1.incr.aof seq 1 type i\n";
        let m = Manifest::parse(text).unwrap();
        assert_eq!(m.base.as_ref().unwrap().name, "appendonly.aof.1.base.rdb");
        assert_eq!(m.incrs.len(), 1);
        assert_eq!(m.render().as_bytes(), &text[..]);
        assert!(Manifest::parse(b"").is_err());
        assert!(Manifest::parse(b"file x seq 1\n").is_err());
    }

    #[test]
    fn commands_encode_and_read_back() {
        let mut buf = b"#TS:1700000000\r\n".to_vec();
        encode_command(&mut buf, &["SET", "k", "v\r\n"]);
        encode_command(&mut buf, &["DEL", "k"]);
        let (a, p) = read_command(&buf, 0).unwrap().unwrap();
        assert_eq!(a, vec![b"SET".to_vec(), b"k".to_vec(), b"v\r\n".to_vec()]);
        let (b, p2) = read_command(&buf, p).unwrap().unwrap();
        assert_eq!(b.len(), 2);
        assert_eq!(read_command(&buf, p2), Ok(None));
        for cut in p + 1..p2 {
            assert_eq!(read_command(&buf[..cut], p), Err(ReadError::Truncated(p)), "cut {cut}");
        }
        assert!(matches!(read_command(b"GET k\r\n", 0), Err(ReadError::Corrupt(0))));
        let mut r = CommandReader::new(&buf[..p2 - 1]);
        assert_eq!(r.next_command().unwrap().map(|c| (c.1, c.2)), Some((0, p)));
        assert_eq!(r.next_command(), Err(ReadError::Truncated(p)));
        assert!(matches!(read_command(b"*1\r\n$3\r\nGETxx", 0), Err(ReadError::Corrupt(_))));
    }
}
