//! The list type in its big encoding, Redis's `quicklist`: a deque of chunks, each a run of
//! elements in Brim's packed format (`crate::packed`) with its element count. Small lists are
//! not stored here but packed inline in their keyspace entry (one chunk's bytes, no object at
//! all); [`List::from_packed`] and [`List::packable`] convert between the two.
//!
//! Chunks honour `list-max-listpack-size` like Redis's quicklist nodes ([`Limit`]): pushes
//! at either end fill the end chunk and start a new one when it is full, so a list built by
//! pushes is made of full chunks. Per chunk Brim spends one 32-byte slot in the deque plus
//! jemalloc's rounding of the chunk buffer (buffers are grown and shrunk to exact size
//! classes, never doubled); per element it spends the packed element alone: no back-length
//! byte as in Redis's listpack, and strings that are integers are stored as integers. Chunks
//! are walked forward; reaching an element of a chunk walks that chunk up to it (at most one
//! node's bytes, as `list-max-listpack-size` bounds them). Pops from the tail are O(1)
//! amortized all the same: the first one builds sparse marks of element starts in the tail
//! chunk (`Marks`), which pushes and pops at the ends keep up to date.
//!
//! Interior chunks (all but `list-compress-depth` chunks at each end, at least one) are
//! compressed with an LZF-style codec when that saves at least 8 bytes, as Redis's
//! quicklist does when `list-compress-depth` is set. Brim's default depth is 1 (Redis's is
//! 0, no compression), so pushes and pops work on raw end chunks while the bulk of a long
//! list is stored compressed; 0 turns compression off as in Redis. Reading an interior
//! chunk decompresses it into a temporary buffer.
//!
//! Redis 7.0 reports every list as `quicklist` (its listpack encoding for small lists came
//! with 7.2), so the inline/big choice is invisible to clients.

use std::borrow::Cow;
use std::collections::VecDeque;

use crate::alloc::size_class;
use crate::packed::{self, Elem};

/// Which end of a list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum End {
    /// The head (`LEFT`, index 0).
    Head,
    /// The tail (`RIGHT`, index -1).
    Tail,
}

/// Redis's quicklist `SIZE_SAFETY_LIMIT`: the byte cap of a count-limited node.
const SIZE_SAFETY_LIMIT: usize = 8192;
/// Redis's quicklist `FILL_MAX`.
const FILL_MAX: i64 = 1 << 15;
/// Chunks smaller than this are not worth compressing (Redis's `MIN_COMPRESS_BYTES`).
const MIN_COMPRESS_BYTES: usize = 48;
/// Compression must save at least this much (Redis's `MIN_COMPRESS_IMPROVE`).
const MIN_COMPRESS_IMPROVE: usize = 8;
/// Chunks bigger than this (single huge elements) are left alone.
const MAX_COMPRESS_BYTES: usize = 1 << 17;

/// How big one chunk (and an inline list) may grow: Redis's `list-max-listpack-size`
/// (`fill`). Negative: a byte size (-1 4 KB, -2 8 KB, -3 16 KB, -4 32 KB, -5 64 KB; lower
/// values count as -5); positive: a number of elements, with 8 KB as a safety cap. Also
/// carries how many chunks at each end stay uncompressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    bytes: usize,
    count: usize,
    depth: usize,
}

/// A compression depth no chunk index reaches: `list-compress-depth 0`.
const NEVER_COMPRESS: usize = usize::MAX / 4;

impl Limit {
    /// The limit `list-max-listpack-size` = `fill` stands for (one raw chunk at each end).
    pub fn from_fill(fill: i64) -> Limit {
        if fill >= 0 {
            // Redis lets a node with fill 0 hold one element (it never allows an insert).
            Limit { bytes: SIZE_SAFETY_LIMIT, count: fill.clamp(1, FILL_MAX) as usize, depth: 1 }
        } else {
            let level = fill.max(-5).unsigned_abs() as u32;
            Limit { bytes: 4096usize << (level - 1), count: usize::MAX, depth: 1 }
        }
    }

    /// The same limit keeping `depth` chunks at each end uncompressed (`list-compress-depth`;
    /// 0 means never compress, as in Redis).
    pub fn with_compress_depth(self, depth: u64) -> Limit {
        let depth = match depth {
            0 => NEVER_COMPRESS,
            d => usize::try_from(d).unwrap_or(NEVER_COMPRESS).min(NEVER_COMPRESS),
        };
        Limit { depth, ..self }
    }

    /// Maximum bytes of packed elements in one chunk.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// Maximum elements in one chunk.
    pub fn count(&self) -> usize {
        self.count
    }

    fn fits(&self, bytes: usize, count: usize) -> bool {
        bytes <= self.bytes && count <= self.count
    }
}

impl Default for Limit {
    /// Redis's default, `-2` (8 KB).
    fn default() -> Self {
        Limit::from_fill(-2)
    }
}

/// Grow `buf` so `extra` more bytes fit, to an exact jemalloc size class.
fn grow(buf: &mut Vec<u8>, extra: usize) {
    let need = buf.len() + extra;
    if need > buf.capacity() {
        let cap = size_class(need, 1);
        buf.reserve_exact(cap - buf.len());
    }
}

/// Give back capacity beyond the size class `buf`'s length needs.
fn shrink(buf: &mut Vec<u8>) {
    let want = size_class(buf.len().max(1), 1);
    if buf.capacity() > want {
        buf.shrink_to(want);
    }
}

/// A copy of `bytes` in a buffer of exactly its size class.
fn exact_copy(bytes: &[u8]) -> Vec<u8> {
    let mut buf = Vec::new();
    grow(&mut buf, bytes.len());
    buf.extend_from_slice(bytes);
    buf
}

/// Byte offset of element `k` of a packed buffer (the buffer's length when `k` is the count).
fn offset_of(buf: &[u8], k: usize) -> usize {
    starts(buf).nth(k).unwrap_or(buf.len())
}

/// The byte offsets where the elements of a packed buffer start (headers only, no decoding).
fn starts(buf: &[u8]) -> impl Iterator<Item = usize> + '_ {
    std::iter::successors(Some(0), |&at| packed::skip(buf, at)).take_while(|&at| at < buf.len())
}

/// A small LZ77 codec in the format of liblzf (Redis's quicklist compression): literal runs
/// of 1..=32 bytes behind a control byte `len - 1`, and back-references of 3..=264 bytes up
/// to 8 KB back (`len - 2` in the top 3 bits of the control byte, 7 meaning one more length
/// byte follows, then the 13-bit offset).
mod lzf {
    const HLOG: u32 = 12;
    const MAX_OFF: usize = 1 << 13;
    const MAX_REF: usize = (1 << 8) + (1 << 3);
    const MAX_LIT: usize = 1 << 5;

    fn hash(p: &[u8]) -> usize {
        let v = (p[0] as u32) << 16 | (p[1] as u32) << 8 | p[2] as u32;
        (v.wrapping_mul(2_654_435_761) >> (32 - HLOG)) as usize
    }

    /// Compress `input` into `out` (cleared first); `false` when the result would exceed
    /// `max_out` bytes.
    pub fn compress(input: &[u8], out: &mut Vec<u8>, max_out: usize) -> bool {
        out.clear();
        let n = input.len();
        let mut htab = [0u32; 1 << HLOG];
        let mut lit_at = 0usize;
        let mut lit = 0usize;
        out.push(0);
        let mut ip = 0usize;
        while ip < n {
            if ip + 2 < n {
                let h = hash(&input[ip..]);
                let r = htab[h] as usize;
                htab[h] = (ip + 1) as u32;
                if r > 0 && ip - (r - 1) <= MAX_OFF && input[r - 1..r + 2] == input[ip..ip + 3] {
                    let rp = r - 1;
                    let max = (n - ip).min(MAX_REF);
                    let mut len = 3;
                    while len < max && input[rp + len] == input[ip + len] {
                        len += 1;
                    }
                    if lit > 0 {
                        out[lit_at] = (lit - 1) as u8;
                    } else {
                        out.pop();
                    }
                    let (l, o) = (len - 2, ip - rp - 1);
                    if l < 7 {
                        out.push(((l << 5) | (o >> 8)) as u8);
                    } else {
                        out.push(((7 << 5) | (o >> 8)) as u8);
                        out.push((l - 7) as u8);
                    }
                    out.push((o & 0xFF) as u8);
                    // Like liblzf, remember the two positions before the match's end.
                    for p in (ip + len).saturating_sub(2)..(ip + len).min(n.saturating_sub(2)) {
                        htab[hash(&input[p..])] = (p + 1) as u32;
                    }
                    ip += len;
                    lit = 0;
                    lit_at = out.len();
                    out.push(0);
                    if out.len() > max_out {
                        return false;
                    }
                    continue;
                }
            }
            out.push(input[ip]);
            lit += 1;
            ip += 1;
            if lit == MAX_LIT {
                out[lit_at] = (MAX_LIT - 1) as u8;
                lit = 0;
                lit_at = out.len();
                out.push(0);
            }
            if out.len() > max_out {
                return false;
            }
        }
        if lit > 0 {
            out[lit_at] = (lit - 1) as u8;
        } else {
            out.pop();
        }
        out.len() <= max_out
    }

    /// Decompress `input`, appending to `out`; `None` on malformed input (never written).
    pub fn decompress(input: &[u8], out: &mut Vec<u8>) -> Option<()> {
        let mut ip = 0;
        while ip < input.len() {
            let ctrl = *input.get(ip)? as usize;
            ip += 1;
            if ctrl < MAX_LIT {
                let run = input.get(ip..ip + ctrl + 1)?;
                out.extend_from_slice(run);
                ip += ctrl + 1;
            } else {
                let mut len = ctrl >> 5;
                if len == 7 {
                    len += *input.get(ip)? as usize;
                    ip += 1;
                }
                len += 2;
                let back = (((ctrl & 0x1F) << 8) | *input.get(ip)? as usize) + 1;
                ip += 1;
                let start = out.len().checked_sub(back)?;
                if back >= len {
                    out.extend_from_within(start..start + len);
                } else {
                    // Overlapping: the run repeats the last `back` bytes.
                    for k in start..start + len {
                        let b = *out.get(k)?;
                        out.push(b);
                    }
                }
            }
        }
        Some(())
    }
}

/// `Chunk::state` values below this are raw; at or above it, the decompressed length.
const COMPRESSED_MIN: u32 = 2;
/// Raw, not yet tried for compression (or changed since).
const RAW: u32 = 0;
/// Raw, and compression did not pay off.
const RAW_INCOMPRESSIBLE: u32 = 1;

/// Tail marks are built this many bytes apart: finding the last element walks at most this
/// many bytes plus one element.
const MARK_SPACING: usize = 128;

/// Offsets of some element starts of a raw chunk, ascending, so the chunk's last element
/// is found by walking forward from the last mark instead of from the chunk's start
/// (Brim's elements have no back-length). Built [`MARK_SPACING`] bytes apart by the first
/// pop from the chunk's tail; a pop marks every start it walks past, so a run of pops walks
/// each byte once. Kept only by the changes at the chunk's ends (push and pop at either
/// end); any other change drops them. Offsets are stored as `real - shift` (wrapping), so
/// an element added or removed at the head moves them all in O(1). They cost a few percent of
/// the tail chunk's bytes (3–7%).
#[derive(Debug, Clone, Default)]
struct Marks {
    shift: u32,
    offs: Vec<u32>,
}

impl Marks {
    /// Marks for the packed elements of `buf`, or `None` when its offsets exceed `u32`.
    fn build(buf: &[u8]) -> Option<Box<Marks>> {
        u32::try_from(buf.len()).ok()?;
        let mut offs = Vec::new();
        let mut next_mark = 0;
        for at in starts(buf) {
            if at >= next_mark {
                offs.push(at as u32);
                next_mark = at + MARK_SPACING;
            }
        }
        offs.shrink_to_fit();
        Some(Box::new(Marks { shift: 0, offs }))
    }

    fn real(&self, stored: u32) -> usize {
        stored.wrapping_add(self.shift) as usize
    }

    fn last(&self) -> Option<usize> {
        self.offs.last().map(|&o| self.real(o))
    }

    fn first(&self) -> Option<usize> {
        self.offs.first().map(|&o| self.real(o))
    }

    /// Note an element appended at `at`.
    fn pushed_back(&mut self, at: usize) {
        if self.last().is_none_or(|last| at >= last + MARK_SPACING) {
            self.offs.push((at as u32).wrapping_sub(self.shift));
        }
    }

    /// Note that the last element, at `at`, was removed.
    fn popped_back(&mut self, at: usize) {
        if self.last() == Some(at) {
            self.offs.pop();
        }
    }

    /// Note `added` bytes inserted at the head.
    fn pushed_front(&mut self, added: usize) {
        self.shift = self.shift.wrapping_add(added as u32);
    }

    /// Note the first element, `removed` bytes, was removed.
    fn popped_front(&mut self, removed: usize) {
        if self.first() == Some(0) {
            self.offs.remove(0);
        }
        self.shift = self.shift.wrapping_sub(removed as u32);
    }

    /// Bytes allocated for the marks.
    fn memory_usage(&self) -> usize {
        let offs = match self.offs.capacity() {
            0 => 0,
            n => size_class(n * std::mem::size_of::<u32>(), 4),
        };
        size_class(std::mem::size_of::<Marks>(), 8) + offs
    }
}

/// One run of packed elements, possibly compressed.
#[derive(Debug, Clone, Default)]
struct Chunk {
    buf: Vec<u8>,
    count: u32,
    /// [`RAW`], [`RAW_INCOMPRESSIBLE`], or the raw length of the compressed `buf`.
    state: u32,
    /// Tail marks of a raw chunk, when a pop from its tail built them.
    marks: Option<Box<Marks>>,
}

impl Chunk {
    fn from_bytes(bytes: &[u8], count: usize) -> Chunk {
        Chunk { buf: exact_copy(bytes), count: count as u32, state: RAW, marks: None }
    }

    fn len(&self) -> usize {
        self.count as usize
    }

    fn is_compressed(&self) -> bool {
        self.state >= COMPRESSED_MIN
    }

    /// Bytes of packed elements (decompressed).
    fn raw_len(&self) -> usize {
        if self.is_compressed() {
            self.state as usize
        } else {
            self.buf.len()
        }
    }

    /// The packed elements, decompressed if needed.
    fn raw(&self) -> Cow<'_, [u8]> {
        if !self.is_compressed() {
            return Cow::Borrowed(&self.buf);
        }
        let mut out = Vec::with_capacity(self.state as usize);
        // Brim wrote the bytes; a failure would only truncate what is read.
        let _ = lzf::decompress(&self.buf, &mut out);
        Cow::Owned(out)
    }

    /// Decompress the chunk in place (if it is compressed) before a change.
    fn make_raw(&mut self) {
        if self.is_compressed() {
            self.buf = exact_copy(&self.raw());
        }
        self.state = RAW;
    }

    /// The packed elements for a change other than a push or pop at an end (decompressing
    /// them in place; the tail marks are dropped).
    fn raw_mut(&mut self) -> &mut Vec<u8> {
        self.marks = None;
        self.make_raw();
        &mut self.buf
    }

    /// Compress the chunk if it is raw, untried, and compression pays off. Interior chunks
    /// are not popped from: their tail marks go.
    fn compress(&mut self) {
        self.marks = None;
        if self.state != RAW {
            return;
        }
        let n = self.buf.len();
        if !(MIN_COMPRESS_BYTES..=MAX_COMPRESS_BYTES).contains(&n) {
            self.state = RAW_INCOMPRESSIBLE;
            return;
        }
        let mut out = Vec::with_capacity(n);
        if lzf::compress(&self.buf, &mut out, n - MIN_COMPRESS_IMPROVE - 1) {
            self.buf = exact_copy(&out);
            self.state = n as u32;
        } else {
            self.state = RAW_INCOMPRESSIBLE;
        }
    }

    fn push_back(&mut self, e: Elem) {
        self.make_raw();
        let at = self.buf.len();
        grow(&mut self.buf, packed::encoded_len(e));
        packed::push(&mut self.buf, e);
        self.count += 1;
        if let Some(m) = &mut self.marks {
            m.pushed_back(at);
        }
        self.check_mark_range();
    }

    fn push_front(&mut self, e: Elem) {
        let marks = self.marks.take();
        self.insert(0, e);
        self.marks = marks;
        if let Some(m) = &mut self.marks {
            m.pushed_front(packed::encoded_len(e));
        }
        self.check_mark_range();
    }

    /// Drop the marks of a chunk grown beyond what `u32` offsets address.
    fn check_mark_range(&mut self) {
        if self.buf.len() > u32::MAX as usize {
            self.marks = None;
        }
    }

    /// Start of the last element, found from the tail marks (built here if missing). The
    /// starts walked past are marked too, so a run of pops walks each byte once.
    fn last_start(&mut self) -> Option<usize> {
        if self.marks.as_ref().is_none_or(|m| m.offs.is_empty()) {
            self.marks = Marks::build(&self.buf);
        }
        let mut marks = self.marks.as_deref_mut();
        let mut at = marks.as_ref().and_then(|m| m.last()).unwrap_or(0);
        loop {
            let next = packed::skip(&self.buf, at)?;
            if next >= self.buf.len() {
                return Some(at);
            }
            at = next;
            if let Some(m) = marks.as_mut() {
                m.offs.push((at as u32).wrapping_sub(m.shift));
            }
        }
    }

    /// Remove the last element, handing it to `f` first.
    fn pop_back<R>(&mut self, f: impl FnOnce(Elem<'_>) -> R) -> Option<R> {
        self.make_raw();
        let at = self.last_start()?;
        let r = f(packed::read(&self.buf, at)?.0);
        self.buf.truncate(at);
        shrink(&mut self.buf);
        self.count -= 1;
        if let Some(m) = &mut self.marks {
            m.popped_back(at);
        }
        Some(r)
    }

    /// Remove the first element, handing it to `f` first.
    fn pop_front<R>(&mut self, f: impl FnOnce(Elem<'_>) -> R) -> Option<R> {
        self.make_raw();
        let (e, next) = packed::read(&self.buf, 0)?;
        let r = f(e);
        self.buf.drain(..next);
        shrink(&mut self.buf);
        self.count -= 1;
        if let Some(m) = &mut self.marks {
            m.popped_front(next);
        }
        Some(r)
    }

    /// Insert `e` so it becomes element `k`.
    fn insert(&mut self, k: usize, e: Elem) {
        let buf = self.raw_mut();
        let off = offset_of(buf, k);
        let old = buf.len();
        grow(buf, packed::encoded_len(e));
        packed::push(buf, e);
        let added = buf.len() - old;
        buf[off..].rotate_right(added);
        self.count += 1;
    }

    /// Replace element `k` by `e`.
    fn replace(&mut self, k: usize, e: Elem) {
        let buf = self.raw_mut();
        let off = offset_of(buf, k);
        let Some((_, next)) = packed::read(buf, off) else { return };
        let mut enc = Vec::with_capacity(packed::encoded_len(e));
        packed::push(&mut enc, e);
        if enc.len() > next - off {
            grow(buf, enc.len() - (next - off));
        }
        buf.splice(off..next, enc);
        shrink(buf);
    }

    /// Remove `n` elements starting with element `k`.
    fn remove(&mut self, k: usize, n: usize) {
        let buf = self.raw_mut();
        let a = offset_of(buf, k);
        let mut b = a;
        for _ in 0..n {
            match packed::skip(buf, b) {
                Some(next) => b = next,
                None => break,
            }
        }
        buf.drain(a..b);
        shrink(buf);
        self.count -= n as u32;
    }

    /// Split off the second half into a new chunk (`count >= 2`).
    fn split(&mut self) -> Chunk {
        let keep = self.len() / 2;
        let total = self.len();
        let buf = self.raw_mut();
        let off = offset_of(buf, keep);
        let tail = Chunk::from_bytes(&buf[off..], total - keep);
        buf.truncate(off);
        shrink(buf);
        self.count = keep as u32;
        tail
    }
}

/// A list too big to be packed inline.
#[derive(Debug, Clone, Default)]
pub struct List {
    chunks: VecDeque<Chunk>,
    len: usize,
}

impl List {
    /// An empty list.
    pub fn new() -> List {
        List::default()
    }

    /// A list holding the elements of a packed buffer (an inline list's bytes), as one chunk.
    pub fn from_packed(bytes: &[u8]) -> List {
        let n = packed::count(bytes);
        let mut l = List::new();
        if n > 0 {
            l.chunks.reserve_exact(1);
            l.chunks.push_back(Chunk::from_bytes(bytes, n));
            l.len = n;
        }
        l
    }

    /// The name OBJECT ENCODING reports (Redis 7.0 reports every list as a quicklist).
    pub fn encoding(&self) -> &'static str {
        "quicklist"
    }

    /// Bytes allocated for the value (MEMORY USAGE): the object, the chunk deque and the
    /// chunk buffers, at their allocator size classes.
    pub fn memory_usage(&self) -> usize {
        let object = size_class(std::mem::size_of::<crate::object::Object>(), 8);
        let deque = match self.chunks.capacity() {
            0 => 0,
            n => size_class(n * std::mem::size_of::<Chunk>(), 8),
        };
        let bufs: usize = self
            .chunks
            .iter()
            .map(|c| {
                let buf = if c.buf.capacity() == 0 { 0 } else { size_class(c.buf.capacity(), 1) };
                buf + c.marks.as_ref().map_or(0, |m| m.memory_usage())
            })
            .sum();
        object + deque + bufs
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the list has no element.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Number of chunks (quicklist nodes).
    pub fn chunk_count(&self) -> usize {
        self.chunks.len()
    }

    /// Number of compressed chunks.
    pub fn compressed_chunks(&self) -> usize {
        self.chunks.iter().filter(|c| c.is_compressed()).count()
    }

    /// A read-only view.
    pub fn as_ref(&self) -> ListRef<'_> {
        ListRef { repr: Repr::Big(self) }
    }

    /// Whether the list may be stored packed inline: a single chunk within `limit`, or,
    /// after a shrinking change, within half of it (Redis 7.2's hysteresis between its
    /// listpack and quicklist encodings).
    pub fn packable(&self, limit: Limit, shrinking: bool) -> bool {
        let Some(c) = self.chunks.front() else { return false };
        if self.chunks.len() != 1 {
            return false;
        }
        if shrinking {
            c.raw_len() <= limit.bytes / 2 && c.len() <= limit.count / 2
        } else {
            limit.fits(c.raw_len(), c.len())
        }
    }

    /// The packed bytes of the first chunk (all elements when [`List::packable`]).
    pub fn first_chunk_bytes(&self) -> Cow<'_, [u8]> {
        self.chunks.front().map_or(Cow::Borrowed(&[][..]), |c| c.raw())
    }

    fn reserve_chunk(&mut self) {
        // Few chunks: grow the deque one slot at a time; many: let it double.
        if self.chunks.len() == self.chunks.capacity() && self.chunks.len() < 8 {
            self.chunks.reserve_exact(1);
        }
    }

    /// Insert chunk `c` at index `at`, settling it and the chunks the longer deque makes
    /// interior: the one shifted to index `depth` and the one now `depth` from the tail.
    fn insert_chunk(&mut self, at: usize, c: Chunk, limit: Limit) {
        self.reserve_chunk();
        self.chunks.insert(at, c);
        self.settle(at, limit);
        self.settle(limit.depth, limit);
        self.settle(self.chunks.len().saturating_sub(limit.depth + 1), limit);
    }

    /// Compress chunk `i` if it is an interior one (not within `depth` of either end).
    fn settle(&mut self, i: usize, limit: Limit) {
        let n = self.chunks.len();
        if i >= limit.depth && i + limit.depth < n {
            if let Some(c) = self.chunks.get_mut(i) {
                c.compress();
            }
        }
    }

    fn settle_range(&mut self, from: usize, to: usize, limit: Limit) {
        for i in from..to.min(self.chunks.len()) {
            self.settle(i, limit);
        }
    }

    /// Add `e` at `end`, starting a new chunk when the end one is full.
    pub fn push(&mut self, end: End, e: Elem, limit: Limit) {
        let n = packed::encoded_len(e);
        let c = match end {
            End::Head => self.chunks.front_mut(),
            End::Tail => self.chunks.back_mut(),
        };
        match c {
            Some(c) if limit.fits(c.raw_len() + n, c.len() + 1) => match end {
                End::Head => c.push_front(e),
                End::Tail => c.push_back(e),
            },
            _ => {
                let mut c = Chunk::default();
                c.push_back(e);
                let at = match end {
                    End::Head => 0,
                    End::Tail => self.chunks.len(),
                };
                self.insert_chunk(at, c, limit);
            }
        }
        self.len += 1;
    }

    /// Remove and return the element at `end` (its text).
    pub fn pop(&mut self, end: End, _limit: Limit) -> Option<Vec<u8>> {
        self.pop_with(end, |e| e.to_vec())
    }

    /// Remove the element at `end`, handing it to `f` first; `None` when empty. Popping
    /// from the tail is O(1) amortized: the tail chunk keeps marks to find its last element.
    pub fn pop_with<R>(&mut self, end: End, f: impl FnOnce(Elem<'_>) -> R) -> Option<R> {
        // Removing an end element never makes a chunk interior: no settling needed.
        let ci = match end {
            End::Head => 0,
            End::Tail => self.chunks.len().checked_sub(1)?,
        };
        let c = self.chunks.get_mut(ci)?;
        let r = match end {
            End::Head => c.pop_front(f)?,
            End::Tail => c.pop_back(f)?,
        };
        if c.count == 0 {
            self.chunks.remove(ci);
        }
        self.len -= 1;
        self.fit_deque();
        Some(r)
    }

    /// Remove up to `n` elements at `end`, handing each to `f` in pop order (the tail first
    /// for [`End::Tail`]); returns how many were removed.
    pub fn pop_many(&mut self, end: End, n: usize, limit: Limit, mut f: impl FnMut(Elem<'_>)) -> usize {
        let n = n.min(self.len);
        if n == 0 {
            return 0;
        }
        match end {
            End::Tail => {
                for _ in 0..n {
                    self.pop_with(End::Tail, &mut f);
                }
            }
            End::Head if n == 1 => {
                self.pop_with(End::Head, f);
            }
            End::Head => {
                // One pass over the head chunks and one cut, not a memmove per element.
                let mut left = n;
                self.as_ref().for_each(|e| {
                    f(e);
                    left -= 1;
                    left > 0
                });
                self.remove_range(0, n, limit);
            }
        }
        n
    }

    /// Chunk and position in it of element `index`.
    fn locate(&self, index: usize) -> Option<(usize, usize)> {
        self.as_ref().locate(index)
    }

    /// Replace the element at `index`; false when out of range.
    pub fn set(&mut self, index: usize, e: Elem, limit: Limit) -> bool {
        let Some((ci, k)) = self.locate(index) else { return false };
        let c = &mut self.chunks[ci];
        c.replace(k, e);
        if !limit.fits(c.raw_len(), c.len()) && c.len() > 1 {
            let tail = c.split();
            self.insert_chunk(ci + 1, tail, limit);
        }
        self.settle_range(ci, ci + 2, limit);
        true
    }

    /// Insert `e` so it becomes element `index` (`index <= len`).
    pub fn insert(&mut self, index: usize, e: Elem, limit: Limit) {
        if index == 0 {
            return self.push(End::Head, e, limit);
        }
        if index >= self.len {
            return self.push(End::Tail, e, limit);
        }
        let Some((mut ci, mut k)) = self.locate(index) else { return };
        let n = packed::encoded_len(e);
        let fits = |c: &Chunk| limit.fits(c.raw_len() + n, c.len() + 1);
        if k == 0 && ci > 0 && !fits(&self.chunks[ci]) && fits(&self.chunks[ci - 1]) {
            // Before the first element of a full chunk: append to the previous one.
            ci -= 1;
            k = self.chunks[ci].len();
        }
        let c = &mut self.chunks[ci];
        c.insert(k, e);
        self.len += 1;
        if !limit.fits(c.raw_len(), c.len()) && c.len() > 1 {
            let tail = c.split();
            self.insert_chunk(ci + 1, tail, limit);
        }
        self.settle_range(ci, ci + 2, limit);
    }

    /// Remove `n` elements starting at `start` (clamped to the list).
    pub fn remove_range(&mut self, start: usize, n: usize, limit: Limit) {
        let n = n.min(self.len.saturating_sub(start));
        let Some((first, mut k)) = self.locate(start) else { return };
        let mut ci = first;
        let mut left = n;
        while left > 0 && ci < self.chunks.len() {
            let c = &mut self.chunks[ci];
            let take = left.min(c.len() - k);
            if k == 0 && take == c.len() {
                self.chunks.remove(ci);
            } else {
                c.remove(k, take);
                ci += 1;
            }
            k = 0;
            left -= take;
        }
        self.len -= n - left;
        self.settle_range(first, ci + 1, limit);
        self.fit_deque();
    }

    /// Remove up to `max` elements equal to `target` (all of them when `max` is 0), scanning
    /// from the tail when `from_tail`; returns how many were removed. Chunks left small are
    /// merged with their neighbours.
    pub fn remove_matching(&mut self, target: Elem, max: usize, from_tail: bool, limit: Limit) -> usize {
        let mut removed = 0usize;
        let n = self.chunks.len();
        let mut hits: Vec<(usize, usize)> = Vec::new();
        for step in 0..n {
            let want = if max == 0 { usize::MAX } else { max - removed };
            if want == 0 {
                break;
            }
            let ci = if from_tail { n - 1 - step } else { step };
            let c = &mut self.chunks[ci];
            let raw = c.raw();
            hits.clear();
            hits.extend(
                packed::iter(&raw)
                    .filter(|(_, e)| *e == target)
                    .map(|(o, e)| (o, o + packed::encoded_len(e))),
            );
            if hits.is_empty() {
                continue;
            }
            let chosen = if from_tail {
                &hits[hits.len().saturating_sub(want)..]
            } else {
                &hits[..want.min(hits.len())]
            };
            let gone: usize = chosen.iter().map(|(a, b)| b - a).sum();
            let mut buf = Vec::new();
            grow(&mut buf, raw.len() - gone);
            let mut at = 0;
            for &(a, b) in chosen {
                buf.extend_from_slice(&raw[at..a]);
                at = b;
            }
            buf.extend_from_slice(&raw[at..]);
            drop(raw);
            let k = chosen.len();
            c.buf = buf;
            c.state = RAW;
            c.marks = None;
            c.count -= k as u32;
            removed += k;
        }
        if removed > 0 {
            self.len -= removed;
            self.chunks.retain(|c| c.count > 0);
            self.compact(limit);
            self.settle_range(0, self.chunks.len(), limit);
        }
        removed
    }

    /// Merge neighbouring chunks whose elements fit one chunk together.
    fn compact(&mut self, limit: Limit) {
        let mut i = 0;
        while i + 1 < self.chunks.len() {
            let (a, b) = (&self.chunks[i], &self.chunks[i + 1]);
            if limit.fits(a.raw_len() + b.raw_len(), a.len() + b.len()) {
                if let Some(b) = self.chunks.remove(i + 1) {
                    let a = &mut self.chunks[i];
                    let raw = b.raw();
                    let buf = a.raw_mut();
                    grow(buf, raw.len());
                    buf.extend_from_slice(&raw);
                    a.count += b.count;
                }
            } else {
                i += 1;
            }
        }
        self.fit_deque();
    }

    fn fit_deque(&mut self) {
        if self.chunks.capacity() > 8 && self.chunks.len() * 4 < self.chunks.capacity() {
            self.chunks.shrink_to(self.chunks.len() * 2);
        }
    }

    /// Check the internal invariants (tests).
    #[doc(hidden)]
    pub fn check(&self, limit: Limit) {
        let mut total = 0;
        let n = self.chunks.len();
        for (i, c) in self.chunks.iter().enumerate() {
            assert!(c.count > 0, "empty chunk");
            let raw = c.raw();
            assert_eq!(raw.len(), c.raw_len());
            assert_eq!(packed::count(&raw), c.len(), "chunk count");
            if let Some(m) = &c.marks {
                assert!(!c.is_compressed(), "marks on a compressed chunk");
                let starts: Vec<usize> = packed::iter(&raw).map(|(at, _)| at).collect();
                let reals: Vec<usize> = m.offs.iter().map(|&o| m.real(o)).collect();
                assert!(reals.windows(2).all(|w| w[0] < w[1]), "marks ascending");
                assert!(reals.iter().all(|r| starts.binary_search(r).is_ok()), "marks at element starts");
                if let (Some(&last), Some(&tail)) = (reals.last(), starts.last()) {
                    let walked = starts.iter().filter(|&&at| at > last && at < tail);
                    assert!(walked.clone().all(|&at| at < last + MARK_SPACING), "marks too sparse");
                }
            }
            if i >= limit.depth && i + limit.depth < n && c.raw_len() >= MIN_COMPRESS_BYTES {
                assert!(c.state != RAW, "interior chunk {i}/{n} left untried");
            }
            total += c.len();
        }
        assert_eq!(total, self.len, "list length");
    }
}

/// A list, borrowed for reading: an inline packed one or a big one. Elements are handed to
/// callbacks (a compressed chunk is decompressed into a temporary buffer while it is read).
#[derive(Debug, Clone, Copy)]
pub struct ListRef<'a> {
    repr: Repr<'a>,
}

#[derive(Debug, Clone, Copy)]
enum Repr<'a> {
    Packed(&'a [u8], usize),
    Big(&'a List),
}

impl<'a> ListRef<'a> {
    /// A view of an inline list's packed bytes.
    pub fn packed(bytes: &'a [u8]) -> ListRef<'a> {
        ListRef { repr: Repr::Packed(bytes, packed::count(bytes)) }
    }

    /// A view of a big list.
    pub fn big(list: &'a List) -> ListRef<'a> {
        list.as_ref()
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        match self.repr {
            Repr::Packed(_, n) => n,
            Repr::Big(l) => l.len,
        }
    }

    /// Whether the list has no element.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn chunk_count(&self) -> usize {
        match self.repr {
            Repr::Packed(..) => 1,
            Repr::Big(l) => l.chunks.len(),
        }
    }

    fn chunk_len(&self, i: usize) -> usize {
        match self.repr {
            Repr::Packed(_, n) => n,
            Repr::Big(l) => l.chunks.get(i).map_or(0, Chunk::len),
        }
    }

    fn chunk(&self, i: usize) -> Option<Cow<'a, [u8]>> {
        match self.repr {
            Repr::Packed(b, _) => (i == 0).then_some(Cow::Borrowed(b)),
            Repr::Big(l) => l.chunks.get(i).map(Chunk::raw),
        }
    }

    /// Chunk and position in it of element `index`, searching from the nearer end.
    fn locate(&self, index: usize) -> Option<(usize, usize)> {
        let len = self.len();
        if index >= len {
            return None;
        }
        let nchunks = self.chunk_count();
        if index < len / 2 {
            let mut k = index;
            for i in 0..nchunks {
                let n = self.chunk_len(i);
                if k < n {
                    return Some((i, k));
                }
                k -= n;
            }
        } else {
            let mut from_end = len - 1 - index;
            for i in (0..nchunks).rev() {
                let n = self.chunk_len(i);
                if from_end < n {
                    return Some((i, n - 1 - from_end));
                }
                from_end -= n;
            }
        }
        None
    }

    /// Call `f` with the element at `index`.
    pub fn get_with<R>(&self, index: usize, f: impl FnOnce(Elem<'_>) -> R) -> Option<R> {
        let (ci, k) = self.locate(index)?;
        let buf = self.chunk(ci)?;
        packed::read(&buf, offset_of(&buf, k)).map(|(e, _)| f(e))
    }

    /// Call `f` with each element from `start` towards the tail while it returns true.
    pub fn for_each_from(&self, start: usize, mut f: impl FnMut(Elem<'_>) -> bool) {
        let Some((mut ci, k)) = self.locate(start) else { return };
        let mut skip = k;
        while let Some(buf) = self.chunk(ci) {
            let mut at = offset_of(&buf, skip);
            while let Some((e, next)) = packed::read(&buf, at) {
                if !f(e) {
                    return;
                }
                at = next;
            }
            ci += 1;
            skip = 0;
        }
    }

    /// Call `f` with each element, head to tail, while it returns true.
    pub fn for_each(&self, f: impl FnMut(Elem<'_>) -> bool) {
        self.for_each_from(0, f)
    }

    /// Call `f` with each element from `index` towards the head (`index` first) while it
    /// returns true.
    pub fn for_each_rev_from(&self, index: usize, mut f: impl FnMut(Elem<'_>) -> bool) {
        let Some((mut ci, k)) = self.locate(index) else { return };
        let mut offs: Vec<usize> = Vec::new();
        let mut take = k + 1;
        loop {
            let Some(buf) = self.chunk(ci) else { return };
            offs.clear();
            offs.extend(starts(&buf).take(take));
            while let Some(off) = offs.pop() {
                match packed::read(&buf, off) {
                    Some((e, _)) if f(e) => {}
                    _ => return,
                }
            }
            if ci == 0 {
                return;
            }
            ci -= 1;
            take = usize::MAX;
        }
    }

    /// Call `f` with each element, tail to head, while it returns true.
    pub fn for_each_rev(&self, f: impl FnMut(Elem<'_>) -> bool) {
        if let Some(last) = self.len().checked_sub(1) {
            self.for_each_rev_from(last, f)
        }
    }

    /// Index of the first element equal to `target`.
    pub fn position(&self, target: Elem) -> Option<usize> {
        let mut i = 0;
        let mut found = None;
        self.for_each(|e| {
            if e == target {
                found = Some(i);
                return false;
            }
            i += 1;
            true
        });
        found
    }

    /// The elements' texts, head to tail (tests and debugging).
    pub fn to_vecs(&self) -> Vec<Vec<u8>> {
        let mut v = Vec::with_capacity(self.len());
        self.for_each(|e| {
            v.push(e.to_vec());
            true
        });
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn text(l: &ListRef) -> Vec<Vec<u8>> {
        l.to_vecs()
    }

    fn rev_from(l: &ListRef, i: usize) -> Vec<Vec<u8>> {
        let mut v = Vec::new();
        l.for_each_rev_from(i, |e| {
            v.push(e.to_vec());
            true
        });
        v
    }

    fn fwd_from(l: &ListRef, i: usize) -> Vec<Vec<u8>> {
        let mut v = Vec::new();
        l.for_each_from(i, |e| {
            v.push(e.to_vec());
            true
        });
        v
    }

    fn rev(l: &ListRef) -> Vec<Vec<u8>> {
        let mut v = Vec::new();
        l.for_each_rev(|e| {
            v.push(e.to_vec());
            true
        });
        v
    }

    #[test]
    fn lzf_round_trips() {
        let mut inputs: Vec<Vec<u8>> = vec![vec![], vec![1], vec![0; 10_000], b"abcabcabcabcabcabc".to_vec()];
        let mut x = 7u64;
        let mut rand = Vec::new();
        let mut text = Vec::new();
        for i in 0..20_000u64 {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            rand.push((x >> 33) as u8);
            text.extend_from_slice(format!("item:{:07}", (x >> 20) % 10_000_000 + i).as_bytes());
        }
        inputs.push(rand);
        inputs.push(text);
        for input in inputs {
            let mut out = Vec::new();
            if compress_ok(&input, &mut out) {
                let mut back = Vec::new();
                assert!(lzf::decompress(&out, &mut back).is_some());
                assert_eq!(back, input);
            }
        }
        let mut out = Vec::new();
        assert!(lzf::compress(&[0; 10_000], &mut out, 10_000));
        assert!(out.len() < 200, "{}", out.len());
        assert!(!lzf::compress(&[1, 2, 3, 4, 5, 6, 7, 8, 9], &mut out, 5));
        assert!(lzf::decompress(&[40, 0], &mut Vec::new()).is_none());
        assert!(lzf::decompress(&[5, 1], &mut Vec::new()).is_none());
    }

    fn compress_ok(input: &[u8], out: &mut Vec<u8>) -> bool {
        lzf::compress(input, out, input.len() + input.len() / 16 + 64)
    }

    #[test]
    fn limits_follow_redis_fill() {
        assert_eq!(Limit::from_fill(-1).bytes(), 4096);
        assert_eq!(Limit::from_fill(-2).bytes(), 8192);
        assert_eq!(Limit::from_fill(-5).bytes(), 65536);
        assert_eq!(Limit::from_fill(-100).bytes(), 65536);
        assert_eq!(Limit::from_fill(i64::MIN).bytes(), 65536);
        assert_eq!(Limit::from_fill(0).count(), 1);
        assert_eq!(Limit::from_fill(5).count(), 5);
        assert_eq!(Limit::from_fill(i64::MAX).count(), 32768);
        assert_eq!(Limit::from_fill(5).bytes(), 8192);
    }

    #[test]
    fn pushes_fill_chunks_to_the_limit() {
        let lim = Limit::from_fill(-1);
        let mut l = List::new();
        for i in 0..10_000 {
            l.push(End::Tail, Elem::Bytes(format!("element:{i:06}").as_bytes()), lim);
        }
        l.check(lim);
        // 15 bytes per element, 4096 per chunk: 273 per chunk.
        assert_eq!(l.chunk_count(), 10_000usize.div_ceil(273));
        assert!(!l.packable(lim, false));
        assert_eq!(l.as_ref().get_with(9_999, |e| e.to_vec()), Some(b"element:009999".to_vec()));
        assert_eq!(l.compressed_chunks(), l.chunk_count() - 2);
        assert_eq!(l.pop(End::Tail, lim), Some(b"element:009999".to_vec()));
        assert_eq!(l.pop(End::Head, lim), Some(b"element:000000".to_vec()));
        l.check(lim);
        let per_elem = l.memory_usage() as f64 / l.len() as f64;
        assert!(per_elem < 10.0, "{per_elem}");
        assert_eq!(text(&l.as_ref()).len(), 9_998);
        // Count-limited.
        let lim = Limit::from_fill(3);
        let mut l = List::new();
        for i in 0..10 {
            l.push(End::Head, Elem::Int(i), lim);
        }
        l.check(lim);
        assert_eq!(l.chunk_count(), 4);
        let v: Vec<Vec<u8>> = text(&l.as_ref());
        assert_eq!(v.first(), Some(&b"9".to_vec()));
    }

    #[test]
    fn packed_round_trip_and_hysteresis() {
        let mut buf = Vec::new();
        for s in [&b"a"[..], b"12", b"hello"] {
            packed::push_str(&mut buf, s);
        }
        let r = ListRef::packed(&buf);
        assert_eq!(r.len(), 3);
        assert_eq!(text(&r), vec![b"a".to_vec(), b"12".to_vec(), b"hello".to_vec()]);
        assert_eq!(rev(&r), vec![b"hello".to_vec(), b"12".to_vec(), b"a".to_vec()]);
        let l = List::from_packed(&buf);
        assert_eq!(&*l.first_chunk_bytes(), &buf[..]);
        let lim = Limit::from_fill(4);
        assert!(l.packable(lim, false));
        assert!(!l.packable(lim, true));
        assert!(List::from_packed(&buf[..2]).packable(lim, true));
        assert!(List::from_packed(&[]).is_empty());
    }

    #[derive(Debug, Clone)]
    enum Op {
        Push(bool, Vec<u8>),
        Pop(bool),
        PopMany(bool, usize),
        Set(usize, Vec<u8>),
        Insert(usize, Vec<u8>),
        RemoveRange(usize, usize),
        RemoveMatching(Vec<u8>, usize, bool),
    }

    fn value() -> impl Strategy<Value = Vec<u8>> {
        prop_oneof![
            (0u8..4).prop_map(|n| vec![b'a' + n]),
            (-200i64..200).prop_map(|n| n.to_string().into_bytes()),
            (0usize..40).prop_map(|n| vec![b'x'; n]),
        ]
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            4 => (any::<bool>(), value()).prop_map(|(h, v)| Op::Push(h, v)),
            2 => any::<bool>().prop_map(Op::Pop),
            1 => (any::<bool>(), 0usize..30).prop_map(|(h, n)| Op::PopMany(h, n)),
            1 => (0usize..300, value()).prop_map(|(i, v)| Op::Set(i, v)),
            1 => (0usize..300, value()).prop_map(|(i, v)| Op::Insert(i, v)),
            1 => (0usize..300, 0usize..20).prop_map(|(i, n)| Op::RemoveRange(i, n)),
            1 => (value(), 0usize..4, any::<bool>()).prop_map(|(v, n, t)| Op::RemoveMatching(v, n, t)),
        ]
    }

    fn end_of(head: bool) -> End {
        if head {
            End::Head
        } else {
            End::Tail
        }
    }

    /// Apply `op` to the list and to its model; the model's answer and the list's must agree
    /// (an assertion failure otherwise).
    fn apply(op: Op, l: &mut List, m: &mut VecDeque<Vec<u8>>, lim: Limit) {
        match op {
            Op::Push(head, v) => {
                l.push(end_of(head), packed::elem_of(&v), lim);
                if head {
                    m.push_front(v)
                } else {
                    m.push_back(v)
                }
            }
            Op::Pop(head) => {
                let want = if head { m.pop_front() } else { m.pop_back() };
                assert_eq!(l.pop(end_of(head), lim), want);
            }
            Op::PopMany(head, n) => {
                let mut got = Vec::new();
                let k = l.pop_many(end_of(head), n, lim, |e| got.push(e.to_vec()));
                let want: Vec<Vec<u8>> =
                    (0..n).map_while(|_| if head { m.pop_front() } else { m.pop_back() }).collect();
                assert_eq!(k, want.len());
                assert_eq!(got, want);
            }
            Op::Set(i, v) => {
                let ok = l.set(i, packed::elem_of(&v), lim);
                assert_eq!(ok, i < m.len());
                if ok {
                    m[i] = v;
                }
            }
            Op::Insert(i, v) => {
                let i = i.min(m.len());
                l.insert(i, packed::elem_of(&v), lim);
                m.insert(i, v);
            }
            Op::RemoveRange(i, n) => {
                l.remove_range(i, n, lim);
                let end = (i + n).min(m.len());
                if i < end {
                    m.drain(i..end);
                }
            }
            Op::RemoveMatching(v, max, tail) => {
                let n = l.remove_matching(packed::elem_of(&v), max, tail, lim);
                let mut left = if max == 0 { usize::MAX } else { max };
                let mut gone = vec![false; m.len()];
                let idx: Vec<usize> =
                    if tail { (0..m.len()).rev().collect() } else { (0..m.len()).collect() };
                for i in idx {
                    if left > 0 && m[i] == v {
                        gone[i] = true;
                        left -= 1;
                    }
                }
                let mut j = 0;
                m.retain(|_| {
                    j += 1;
                    !gone[j - 1]
                });
                assert_eq!(n, gone.iter().filter(|g| **g).count());
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]
        #[test]
        fn behaves_like_a_vecdeque(fill in prop_oneof![Just(-1i64), Just(-9), Just(0), Just(1), Just(3), Just(16)],
                                   ops in proptest::collection::vec(op(), 0..300)) {
            let lim = Limit::from_fill(fill);
            let lim = if fill == -1 { Limit { bytes: 64, count: usize::MAX, depth: 1 } } else { lim };
            // Chunks of several tail marks each.
            let lim = if fill == -9 { Limit { bytes: 600, count: usize::MAX, depth: 1 } } else { lim };
            let lim = if fill == 16 { lim.with_compress_depth(2) } else { lim };
            let mut l = List::new();
            let mut m: VecDeque<Vec<u8>> = Default::default();
            for op in ops {
                apply(op, &mut l, &mut m, lim);
                l.check(lim);
                let r = l.as_ref();
                prop_assert_eq!(r.len(), m.len());
                let fwd: Vec<Vec<u8>> = text(&r);
                prop_assert_eq!(&fwd, &m.iter().cloned().collect::<Vec<_>>());
            }
            let r = l.as_ref();
            prop_assert_eq!(rev(&r), m.iter().rev().cloned().collect::<Vec<_>>());
            for i in 0..m.len() {
                prop_assert_eq!(r.get_with(i, |e| e.to_vec()), Some(m[i].clone()));
                prop_assert_eq!(fwd_from(&r, i), m.iter().skip(i).cloned().collect::<Vec<_>>());
                prop_assert_eq!(rev_from(&r, i), m.iter().take(i + 1).rev().cloned().collect::<Vec<_>>());
            }
            prop_assert_eq!(r.get_with(m.len(), |e| e.to_vec()), None);
            prop_assert_eq!(fwd_from(&r, m.len()).len(), 0);
        }
    }

    /// Elements of 1..=12 bytes, strings and integers, from a seed.
    fn small_value(x: u64) -> Vec<u8> {
        match x % 3 {
            0 => ((x >> 8) % 100_000).to_string().into_bytes(),
            1 => vec![b'a' + (x >> 8) as u8 % 26; 1 + (x >> 16) as usize % 12],
            _ => format!("v{}", (x >> 8) % 1000).into_bytes(),
        }
    }

    fn tail_marks(l: &List) -> usize {
        l.chunks.back().and_then(|c| c.marks.as_ref()).map_or(0, |m| m.offs.len())
    }

    fn pop_tail_all(l: &mut List, lim: Limit) -> Vec<Vec<u8>> {
        let mut v = Vec::new();
        while let Some(e) = l.pop(End::Tail, lim) {
            v.push(e);
        }
        v
    }

    #[test]
    fn tail_pops_use_marks_kept_by_end_changes() {
        let lim = Limit::default();
        let mut l = List::new();
        let mut m = VecDeque::new();
        for i in 0..1500u64 {
            apply(Op::Push(false, small_value(i * 7919)), &mut l, &mut m, lim);
        }
        assert_eq!(l.chunk_count(), 1);
        apply(Op::Pop(false), &mut l, &mut m, lim);
        let built = tail_marks(&l);
        assert!(built > 8_000 / MARK_SPACING / 2, "{built} marks");
        // Pushes and pops at both ends keep the marks (and they stay right).
        for i in 0..2000u64 {
            let op = match i % 5 {
                0 => Op::Push(true, small_value(i)),
                1 => Op::Pop(true),
                2 => Op::Push(false, small_value(i * 31)),
                _ => Op::Pop(false),
            };
            apply(op, &mut l, &mut m, lim);
            assert!(tail_marks(&l) > 0);
            if i % 97 == 0 {
                l.check(lim);
            }
        }
        l.check(lim);
        assert_eq!(l.chunk_count(), 1);
        let marks = l.chunks.back().and_then(|c| c.marks.as_ref()).map_or(0, |m| m.memory_usage());
        let without = l.memory_usage() - marks;
        assert!(marks > 0 && marks * 8 < without, "marks {marks} of {without} bytes");
        assert_eq!(pop_tail_all(&mut l, lim), m.iter().rev().cloned().collect::<Vec<_>>());
        assert!(l.is_empty());
        assert_eq!(l.chunk_count(), 0);
    }

    #[test]
    fn tail_pops_after_every_change_in_the_tail_chunk() {
        let lim = Limit { bytes: 2048, count: usize::MAX, depth: 1 };
        let changes: Vec<Box<dyn Fn(usize) -> Op>> = vec![
            Box::new(|n| Op::Insert(n - 3, b"inserted".to_vec())),
            Box::new(|n| Op::Insert(n - 1, vec![b'y'; 70])),
            Box::new(|n| Op::Set(n - 2, b"set".to_vec())),
            Box::new(|n| Op::Set(n - 1, vec![b'z'; 300])),
            Box::new(|n| Op::Set(n - 40, b"1".to_vec())),
            Box::new(|n| Op::RemoveRange(n - 10, 4)),
            Box::new(|n| Op::RemoveRange(n - 5, 5)),
            Box::new(|_| Op::RemoveMatching(b"v7".to_vec(), 0, true)),
            Box::new(|_| Op::RemoveMatching(b"42".to_vec(), 1, false)),
            Box::new(|_| Op::PopMany(false, 7)),
            Box::new(|_| Op::PopMany(true, 3)),
            Box::new(|_| Op::PopMany(false, 700)),
        ];
        for (which, change) in changes.iter().enumerate() {
            let mut l = List::new();
            let mut m = VecDeque::new();
            for i in 0..1200u64 {
                apply(Op::Push(false, small_value(i * 104_729 + which as u64)), &mut l, &mut m, lim);
            }
            assert!(l.chunk_count() > 3);
            for round in 0..6 {
                apply(Op::Pop(false), &mut l, &mut m, lim);
                let n = m.len();
                apply(change(n), &mut l, &mut m, lim);
                l.check(lim);
                for _ in 0..=round * 5 {
                    apply(Op::Pop(false), &mut l, &mut m, lim);
                }
                l.check(lim);
            }
            let want: Vec<Vec<u8>> = m.iter().rev().cloned().collect();
            assert_eq!(pop_tail_all(&mut l, lim), want, "after change {which}");
        }
    }

    #[test]
    fn pops_with_count_cross_chunks() {
        let lim = Limit::from_fill(-1);
        let mut l = List::new();
        let mut m = VecDeque::new();
        for i in 0..5000u64 {
            apply(Op::Push(i % 3 == 0, small_value(i * 6151)), &mut l, &mut m, lim);
        }
        let chunks = l.chunk_count();
        assert!(chunks > 5, "{chunks}");
        for op in [
            Op::PopMany(false, 1),
            Op::PopMany(false, 1500),
            Op::PopMany(true, 1),
            Op::PopMany(true, 1500),
            Op::PopMany(false, 0),
            Op::PopMany(false, 10_000),
        ] {
            apply(op, &mut l, &mut m, lim);
            l.check(lim);
        }
        assert!(l.is_empty() && m.is_empty());
        assert_eq!(l.pop_many(End::Tail, 3, lim, |_| {}), 0);
    }

    /// A long random walk against the model, biased to the end operations the marks serve,
    /// on chunks big enough to hold many marks, compressed and not.
    #[test]
    fn long_random_walk_matches_a_vecdeque() {
        let limits = [
            Limit::default(),
            Limit::from_fill(-1).with_compress_depth(0),
            Limit { bytes: 700, count: usize::MAX, depth: 2 },
            Limit::from_fill(100),
        ];
        for (li, lim) in limits.into_iter().enumerate() {
            let mut x = 0x9E37_79B9_7F4A_7C15u64 ^ li as u64;
            let mut l = List::new();
            let mut m = VecDeque::new();
            for step in 0..40_000usize {
                x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                let r = x >> 33;
                let len = m.len().max(1);
                // Grow for the first half, then shrink.
                let grow = step < 20_000;
                let op = match r % 100 {
                    0..=29 => Op::Push(r.is_multiple_of(2) || !grow, small_value(r)),
                    30..=49 if grow => Op::Push(false, small_value(r)),
                    30..=69 => Op::Pop(false),
                    70..=84 => Op::Pop(true),
                    85..=87 => Op::PopMany(r.is_multiple_of(2), (r as usize >> 8) % 40),
                    88..=90 => Op::Set(len - 1 - (r as usize >> 8) % len.min(50), small_value(r * 3)),
                    91..=93 => Op::Insert(len - (r as usize >> 8) % len.min(50), small_value(r * 5)),
                    94..=96 => Op::RemoveRange(len - 1 - (r as usize >> 8) % len.min(50), r as usize % 4),
                    _ => Op::RemoveMatching(small_value(r), (r as usize >> 8) % 3, r.is_multiple_of(2)),
                };
                apply(op, &mut l, &mut m, lim);
                assert_eq!(l.len(), m.len());
                if step % 1000 == 0 {
                    l.check(lim);
                    assert_eq!(text(&l.as_ref()), m.iter().cloned().collect::<Vec<_>>());
                }
            }
            l.check(lim);
            assert_eq!(pop_tail_all(&mut l, lim), m.iter().rev().cloned().collect::<Vec<_>>());
        }
    }
}
