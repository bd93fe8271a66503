//! The sorted set type, in both encodings, and the operations the ZSET commands (and GEO,
//! which is built on sorted sets) run on either.
//!
//! **Small** sorted sets (OBJECT ENCODING `listpack`) are packed inline in their keyspace
//! entry (`PackedKind::ZSet`, format in `crate::packed`): member, score, member, score, ...
//! ordered by score then member, as Redis 7.0's listpack. A score is stored as a packed
//! integer when Redis's `double2ll` would store it as one (integral, |score| <= 2^62; this
//! turns -0 into 0 exactly as Redis does), else as a raw f64. The [`lp`] module works on
//! these bytes.
//!
//! **Big** sorted sets (`skiplist`) are a [`ZSet`]: every member is ONE heap allocation
//! (8-byte hash chain link, 8-byte score, length, member bytes) linked into a
//! `crate::table::Table` for O(1) member -> score, and pointed to from an order-statistics
//! B+ tree (`tree.rs`, 8 to 12 bytes per element) for O(log n) rank, rank -> element and
//! range by score or lex. A 10-byte member costs about 32 + 4..8 + 8..12 bytes, where
//! Redis spends a dict entry, a skiplist node and an sds (100+ bytes).
//!
//! Reading either encoding goes through [`ZRef`] (and [`ZSeq`] for positional access);
//! changing one goes through [`ZWork`], which converts listpack -> skiplist exactly where
//! Redis 7.0's `zsetAdd` does. [`build`] makes a new value from sorted pairs with the rule
//! of Redis's `zsetConvertToListpackIfNeeded` (ZUNIONSTORE & co, ZRANGESTORE).
//!
//! # API for GEO and other users
//! - add or update a member: [`ZWork::add`] / [`ZWork::set_score`] (or the command-level
//!   `brim_commands::zsets::add`, which also creates the key, converts and notifies);
//! - score of a member: [`ZRef::score`];
//! - range by score with offset/limit: [`ZRef::seq`] then [`ZSeq::first_in_score`] /
//!   [`ZSeq::last_in_score`] and [`ZSeq::walk`] (or `brim_commands::zsets::range_by_score`);
//! - iterate all: [`ZRef::for_each`].

mod tree;

use std::alloc::{alloc, dealloc, handle_alloc_error, Layout};
use std::cmp::Ordering;
use std::marker::PhantomData;
use std::ptr::{self, NonNull};

use crate::object::Object;
use crate::packed::{self, Elem};
use crate::table::{hash_key, ChainKey, ElemPtr, Table};
use crate::value::{PackedKind, ValueRef};
use tree::{Cursor, Tree};

// ---------------------------------------------------------------------------------------
// Elements of a big sorted set.
// ---------------------------------------------------------------------------------------

// Layout: 0 chain link (8) | 8 score f64 (8) | 16 length: one byte < 255, else 0xFF + u64 |
// member bytes. Everything unaligned-safe.
const OFF_SCORE: usize = 8;
const OFF_LEN: usize = 16;

fn elem_size(len: usize) -> usize {
    OFF_LEN + if len < 255 { 1 } else { 9 } + len
}

fn elem_layout(size: usize) -> Layout {
    Layout::from_size_align(size, 8).unwrap_or(Layout::new::<u64>())
}

fn elem_new(member: &[u8], score: f64) -> ElemPtr {
    let size = elem_size(member.len());
    let lay = elem_layout(size);
    // SAFETY: non-zero size; every write below stays within `size` bytes.
    unsafe {
        let p = alloc(lay);
        if p.is_null() {
            handle_alloc_error(lay);
        }
        ptr::write_unaligned(p as *mut usize, 0);
        ptr::write_unaligned(p.add(OFF_SCORE) as *mut f64, score);
        let mut off = OFF_LEN;
        if member.len() < 255 {
            *p.add(off) = member.len() as u8;
            off += 1;
        } else {
            *p.add(off) = 0xFF;
            ptr::write_unaligned(p.add(off + 1) as *mut u64, member.len() as u64);
            off += 9;
        }
        ptr::copy_nonoverlapping(member.as_ptr(), p.add(off), member.len());
        NonNull::new_unchecked(p)
    }
}

/// The member of element `e`.
///
/// # Safety
/// `e` is a live element; the slice must not outlive it.
#[inline]
unsafe fn elem_member<'a>(e: ElemPtr) -> &'a [u8] {
    let p = e.as_ptr();
    let b = *p.add(OFF_LEN);
    if b < 255 {
        std::slice::from_raw_parts(p.add(OFF_LEN + 1), b as usize)
    } else {
        let len = ptr::read_unaligned(p.add(OFF_LEN + 1) as *const u64) as usize;
        std::slice::from_raw_parts(p.add(OFF_LEN + 9), len)
    }
}

#[inline]
unsafe fn elem_score(e: ElemPtr) -> f64 {
    ptr::read_unaligned(e.as_ptr().add(OFF_SCORE) as *const f64)
}

#[inline]
unsafe fn elem_set_score(e: ElemPtr, s: f64) {
    ptr::write_unaligned(e.as_ptr().add(OFF_SCORE) as *mut f64, s)
}

/// Bytes the allocator hands out for an element with a `len`-byte member.
fn elem_class(len: usize) -> usize {
    crate::alloc::size_class(elem_size(len), 8)
}

unsafe fn elem_free(e: ElemPtr) {
    let len = elem_member(e).len();
    dealloc(e.as_ptr(), elem_layout(elem_size(len)));
}

/// The tree's item for live element `e`, with its current score.
#[inline]
unsafe fn item(e: ElemPtr) -> tree::Item {
    tree::Item { score: elem_score(e), ptr: e.as_ptr() }
}

#[inline]
fn elem(i: tree::Item) -> ElemPtr {
    // SAFETY: the tree only ever holds element pointers, never null.
    unsafe { NonNull::new_unchecked(i.ptr) }
}

/// Whether tree item `x` sorts before the key (`score`, `member`): its copied score decides
/// unless the scores are equal; only then is its element (and member) read.
#[inline]
unsafe fn item_below(x: tree::Item, score: f64, member: &[u8]) -> bool {
    x.score < score || (x.score == score && elem_member(elem(x)) < member)
}

/// How the member table finds an element's member.
struct ZKey;

impl ChainKey for ZKey {
    unsafe fn key<'a>(e: ElemPtr) -> &'a [u8] {
        elem_member(e)
    }
}

/// Sorted-set order: by score, then by member bytes (Redis's `sdscmp`: memcmp, then
/// length). Scores are never NaN; -0 and 0 compare equal, as in C.
#[inline]
pub fn cmp_key(s1: f64, m1: &[u8], s2: f64, m2: &[u8]) -> Ordering {
    if s1 < s2 {
        Ordering::Less
    } else if s1 > s2 {
        Ordering::Greater
    } else {
        m1.cmp(m2)
    }
}

// ---------------------------------------------------------------------------------------
// The big encoding.
// ---------------------------------------------------------------------------------------

/// A sorted set too big to be packed (OBJECT ENCODING `skiplist`).
pub struct ZSet {
    /// Member -> element.
    table: Table<ZKey>,
    /// Elements in (score, member) order.
    tree: Tree,
    /// Bytes of all elements at their allocator size classes.
    elem_bytes: usize,
}

// SAFETY: a ZSet owns its elements and nodes outright; shared references only read.
unsafe impl Send for ZSet {}
// SAFETY: no interior mutability: `&ZSet` methods never write.
unsafe impl Sync for ZSet {}

impl Default for ZSet {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for ZSet {
    fn drop(&mut self) {
        self.tree.clear();
        // SAFETY: drained elements are unreachable from the table; the tree was cleared.
        self.table.drain(|e| unsafe { elem_free(e) });
        self.elem_bytes = 0;
    }
}

impl Clone for ZSet {
    fn clone(&self) -> Self {
        let mut z = ZSet::new();
        for (m, s) in self.iter_at(0, false) {
            z.push_back(m, s);
        }
        z
    }
}

impl std::fmt::Debug for ZSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ZSet").field("len", &self.len()).field("table", &self.table).finish()
    }
}

/// Iterator over a big sorted set from some rank, forward or backward.
pub struct Iter<'a> {
    cur: Option<Cursor>,
    rev: bool,
    _z: PhantomData<&'a ZSet>,
}

impl<'a> Iterator for Iter<'a> {
    type Item = (&'a [u8], f64);

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        let c = self.cur.as_mut()?;
        let e = elem(c.item());
        let more = if self.rev { c.prev() } else { c.next() };
        if !more {
            self.cur = None;
        }
        // SAFETY: the set is borrowed for 'a, so the element lives that long.
        unsafe { Some((elem_member(e), elem_score(e))) }
    }
}

impl ZSet {
    /// An empty set (allocates nothing).
    pub fn new() -> Self {
        ZSet { table: Table::new(), tree: Tree::new(), elem_bytes: 0 }
    }

    /// The name OBJECT ENCODING reports.
    pub fn encoding(&self) -> &'static str {
        "skiplist"
    }

    /// Bytes allocated for the value (MEMORY USAGE): the elements, the order index, the
    /// member table's buckets and the boxed object itself.
    pub fn memory_usage(&self) -> usize {
        self.elem_bytes
            + self.tree.node_bytes()
            + self.table.bucket_bytes()
            + crate::alloc::size_class(std::mem::size_of::<Object>(), 8)
    }

    /// Number of members.
    pub fn len(&self) -> usize {
        self.tree.len()
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.tree.len() == 0
    }

    /// The element of `member`, through a shared reference.
    fn find_ref(&self, member: &[u8]) -> Option<ElemPtr> {
        self.table.get(member, hash_key(member))
    }

    /// Rank of live element `e`.
    fn rank_of(&self, e: ElemPtr) -> usize {
        // SAFETY: `e` is live.
        unsafe { self.rank_below(elem_score(e), elem_member(e)) }
    }

    /// Number of elements that sort before the key (`score`, `member`).
    fn rank_below(&self, score: f64, member: &[u8]) -> usize {
        // SAFETY: the tree's elements are live.
        self.tree.partition_point(|x| unsafe { item_below(x, score, member) })
    }

    /// Advance the member table's incremental rehash by a step.
    fn settle(&mut self) {
        self.table.rehash_step(1);
    }

    /// Score of `member`.
    pub fn score(&self, member: &[u8]) -> Option<f64> {
        // SAFETY: found elements are live.
        self.find_ref(member).map(|e| unsafe { elem_score(e) })
    }

    /// 0-based rank of `member` in ascending order.
    pub fn rank(&self, member: &[u8]) -> Option<usize> {
        self.find_ref(member).map(|e| self.rank_of(e))
    }

    /// The member and score at `rank`.
    pub fn get(&self, rank: usize) -> Option<(&[u8], f64)> {
        // SAFETY: the tree hands out live elements borrowed with `self`.
        self.tree.get(rank).map(|i| unsafe { (elem_member(elem(i)), elem_score(elem(i))) })
    }

    /// Iterate from `rank`, toward higher ranks or (`rev`) lower ones.
    pub fn iter_at(&self, rank: usize, rev: bool) -> Iter<'_> {
        Iter { cur: self.tree.seek(rank), rev, _z: PhantomData }
    }

    /// Number of leading elements (in ascending order) for which `pred` holds; `pred` must
    /// hold for a prefix of the elements and not for the rest.
    pub fn partition_point(&self, mut pred: impl FnMut(&[u8], f64) -> bool) -> usize {
        // SAFETY: the tree hands out live elements.
        self.tree.partition_point(|x| unsafe { pred(elem_member(elem(x)), elem_score(elem(x))) })
    }

    /// Add `member` (absent) with `score`; false if the member was already there (nothing
    /// changes then).
    pub fn insert(&mut self, member: &[u8], score: f64) -> bool {
        self.settle();
        let h = hash_key(member);
        if self.table.find(member, h).is_some() {
            return false;
        }
        let e = elem_new(member, score);
        let rank = self.rank_below(score, member);
        // SAFETY: `e` was just made.
        self.tree.insert_at(rank, unsafe { item(e) });
        self.table.insert(e, h);
        self.elem_bytes += elem_class(member.len());
        true
    }

    /// Append a member known to sort after every present one and to be absent (bulk
    /// building from ordered input).
    fn push_back(&mut self, member: &[u8], score: f64) {
        let e = elem_new(member, score);
        // SAFETY: `e` was just made.
        self.tree.insert_at(self.tree.len(), unsafe { item(e) });
        self.table.insert(e, hash_key(member));
        self.settle();
        self.elem_bytes += elem_class(member.len());
    }

    /// Change the score of `member`; returns the old score (`None`: no such member).
    ///
    /// Two descents of the order index find where the element is and where its new key
    /// goes; it moves only if those differ (two more), as Redis's zslUpdateScore.
    pub fn set_score(&mut self, member: &[u8], score: f64) -> Option<f64> {
        let e = self.table.find(member, hash_key(member)).map(|(_, e)| e)?;
        // SAFETY: `e` is live; the tree holds it at the rank computed from its old key.
        unsafe {
            let old = elem_score(e);
            let rank = self.rank_of(e);
            // Elements below the new key, `e` itself included if its old key is below it.
            let below = self.rank_below(score, member);
            let to = if old < score { below - 1 } else { below };
            elem_set_score(e, score);
            if to == rank {
                self.tree.replace_at(rank, item(e));
            } else {
                self.tree.remove_at(rank);
                self.tree.insert_at(to, item(e));
            }
            Some(old)
        }
    }

    /// Unlink and free the element of `member`, which the tree no longer holds.
    fn drop_member(&mut self, member: &[u8]) {
        self.settle();
        if let Some((link, e)) = self.table.find(member, hash_key(member)) {
            // SAFETY: found just now, table unchanged since; the tree no longer holds it.
            unsafe {
                self.table.unlink(link, e);
                self.elem_bytes -= elem_class(member.len());
                elem_free(e);
            }
        }
    }

    /// Remove `member`; returns its score.
    pub fn remove(&mut self, member: &[u8]) -> Option<f64> {
        let e = self.find_ref(member)?;
        let rank = self.rank_of(e);
        self.tree.remove_at(rank);
        // SAFETY: `e` is live until drop_member frees it.
        let score = unsafe { elem_score(e) };
        self.drop_member(member);
        Some(score)
    }

    /// Remove the element at `rank`; returns its member and score.
    pub fn remove_at(&mut self, rank: usize) -> Option<(Vec<u8>, f64)> {
        let e = elem(self.tree.remove_at(rank)?);
        // SAFETY: `e` stays live until drop_member frees it; the member is copied first.
        let (member, score) = unsafe { (elem_member(e).to_vec(), elem_score(e)) };
        self.drop_member(&member);
        Some((member, score))
    }

    /// Remove the elements of ranks `start..end`; returns how many went.
    pub fn remove_range(&mut self, start: usize, end: usize) -> usize {
        let end = end.min(self.len());
        let n = end.saturating_sub(start);
        for _ in 0..n {
            if let Some(e) = self.tree.remove_at(start) {
                let e = elem(e);
                // SAFETY: live until drop_member; the member bytes are read before the free
                // (drop_member copies nothing but only reads them before freeing).
                let member: &[u8] = unsafe { elem_member(e) };
                let h = hash_key(member);
                self.settle();
                if let Some((link, found)) = self.table.find(member, h) {
                    // SAFETY: found just now; the tree no longer holds it.
                    unsafe {
                        self.table.unlink(link, found);
                        self.elem_bytes -= elem_class(member.len());
                        elem_free(found);
                    }
                }
            }
        }
        n
    }

    /// One ZSCAN step over the member table from `cursor`: calls `f` for the members of
    /// the bucket(s) visited; returns the next cursor (0: done).
    pub fn scan(&self, cursor: u64, mut f: impl FnMut(&[u8], f64)) -> u64 {
        // SAFETY: the table hands out live elements.
        self.table.scan(cursor, |e| unsafe { f(elem_member(e), elem_score(e)) })
    }

    /// A big set holding the pairs of a packed one.
    pub fn from_packed(buf: &[u8]) -> ZSet {
        let mut z = ZSet::new();
        for (m, s, _) in lp::iter(buf) {
            with_text(m, |t| z.push_back(t, s));
        }
        z
    }

    /// A big set from pairs already in (score, member) order, without duplicates.
    pub fn from_sorted<M: AsRef<[u8]>>(pairs: &[(M, f64)]) -> ZSet {
        let mut z = ZSet::new();
        for (m, s) in pairs {
            z.push_back(m.as_ref(), *s);
        }
        z
    }

    /// Check the internal invariants (tests).
    #[cfg(test)]
    fn check(&self) {
        // SAFETY: test only; live elements.
        self.tree.check(|a, b| unsafe {
            cmp_key(elem_score(elem(a)), elem_member(elem(a)), elem_score(elem(b)), elem_member(elem(b)))
                == Ordering::Less
        });
        assert_eq!(self.table.len(), self.tree.len());
        let mut bytes = 0;
        for (i, (m, s)) in self.iter_at(0, false).enumerate() {
            assert_eq!(self.score(m), Some(s));
            assert_eq!(self.rank(m), Some(i));
            bytes += elem_class(m.len());
        }
        assert_eq!(bytes, self.elem_bytes);
    }
}

// ---------------------------------------------------------------------------------------
// The packed encoding.
// ---------------------------------------------------------------------------------------

/// Call `f` with the text of a packed element (integers in decimal).
#[inline]
pub fn with_text<R>(e: Elem, f: impl FnOnce(&[u8]) -> R) -> R {
    match e {
        Elem::Bytes(b) => f(b),
        Elem::Int(n) => {
            let mut tmp = Vec::with_capacity(20);
            brim_resp::number::write_i64(&mut tmp, n);
            f(&tmp)
        }
        Elem::Double(_) => f(&e.to_vec()),
    }
}

/// Compare a packed member with `s` as Redis's `zzlCompareElements`.
#[inline]
pub fn cmp_elem(e: Elem, s: &[u8]) -> Ordering {
    with_text(e, |t| t.cmp(s))
}

/// Packed sorted sets: member, score pairs in order (see the module documentation).
pub mod lp {
    use super::*;

    /// Largest listpack Redis builds (`LISTPACK_MAX_SAFETY_SIZE`, 1 GiB).
    pub const MAX_SAFE_BYTES: usize = 1 << 30;

    /// How a score is packed: an integer when Redis's `double2ll` accepts it (integral and
    /// within +-2^62, so -0 becomes 0), else the double.
    pub fn score_elem(score: f64) -> Elem<'static> {
        const LIM: f64 = (i64::MAX / 2) as f64;
        if (-LIM..=LIM).contains(&score) {
            let n = score as i64;
            if n as f64 == score {
                return Elem::Int(n);
            }
        }
        Elem::Double(score)
    }

    /// The score a packed element holds.
    pub fn elem_score(e: Elem) -> f64 {
        match e {
            Elem::Int(n) => n as f64,
            Elem::Double(d) => d,
            Elem::Bytes(b) => std::str::from_utf8(b).ok().and_then(|s| s.parse().ok()).unwrap_or(0.0),
        }
    }

    /// The text ZSCAN shows for a packed score: integers as stored, doubles as `%.17g`.
    pub fn score_text(score: f64) -> Vec<u8> {
        score_elem(score).to_vec()
    }

    /// Append a pair (the caller keeps the order).
    pub fn push(buf: &mut Vec<u8>, member: &[u8], score: f64) {
        packed::push_str(buf, member);
        packed::push(buf, score_elem(score));
    }

    /// Iterator over the pairs of a packed sorted set: member, score, byte offset.
    pub fn iter(buf: &[u8]) -> Pairs<'_> {
        Pairs { inner: packed::iter(buf) }
    }

    /// Pairs of a packed sorted set.
    #[derive(Debug, Clone)]
    pub struct Pairs<'a> {
        inner: packed::Iter<'a>,
    }

    impl<'a> Iterator for Pairs<'a> {
        type Item = (Elem<'a>, f64, usize);

        fn next(&mut self) -> Option<Self::Item> {
            let (at, m) = self.inner.next()?;
            let (_, s) = self.inner.next()?;
            Some((m, elem_score(s), at))
        }
    }

    /// Number of pairs.
    pub fn len(buf: &[u8]) -> usize {
        packed::count(buf) / 2
    }

    /// Byte offset where the pair starting at `at` ends.
    fn pair_end(buf: &[u8], at: usize) -> usize {
        let m_end = packed::read(buf, at).map(|(_, n)| n).unwrap_or(buf.len());
        packed::read(buf, m_end).map(|(_, n)| n).unwrap_or(buf.len())
    }

    /// Find `member`: its rank, score and byte range.
    pub fn find(buf: &[u8], member: &[u8]) -> Option<(usize, f64, std::ops::Range<usize>)> {
        iter(buf)
            .enumerate()
            .find(|(_, (m, _, _))| m.eq_bytes(member))
            .map(|(i, (_, s, at))| (i, s, at..pair_end(buf, at)))
    }

    /// Insert a pair for an absent member at its place in the order (Redis's `zzlInsert`).
    pub fn insert(buf: &mut Vec<u8>, member: &[u8], score: f64) {
        let at = iter(buf)
            .find(|(m, s, _)| *s > score || (*s == score && cmp_elem(*m, member) == Ordering::Greater))
            .map(|(_, _, at)| at)
            .unwrap_or(buf.len());
        let mut pair = Vec::with_capacity(member.len() + 16);
        push(&mut pair, member, score);
        buf.splice(at..at, pair);
    }

    /// Remove the pairs of ranks `start..end`.
    pub fn remove_ranks(buf: &mut Vec<u8>, start: usize, end: usize) {
        let mut from = None;
        let mut to = buf.len();
        for (i, (_, _, at)) in iter(buf).enumerate() {
            if i == start {
                from = Some(at);
            }
            if i == end {
                to = at;
                break;
            }
        }
        if let Some(from) = from {
            buf.drain(from..to.max(from));
        }
    }
}

// ---------------------------------------------------------------------------------------
// Ranges.
// ---------------------------------------------------------------------------------------

/// A score interval as ZRANGEBYSCORE takes it (`(` makes an end exclusive).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ScoreRange {
    /// Lower end.
    pub min: f64,
    /// Upper end.
    pub max: f64,
    /// The lower end is excluded.
    pub minex: bool,
    /// The upper end is excluded.
    pub maxex: bool,
}

impl ScoreRange {
    /// Whether `v` is above the lower end.
    #[inline]
    pub fn gte_min(&self, v: f64) -> bool {
        if self.minex {
            v > self.min
        } else {
            v >= self.min
        }
    }

    /// Whether `v` is below the upper end.
    #[inline]
    pub fn lte_max(&self, v: f64) -> bool {
        if self.maxex {
            v < self.max
        } else {
            v <= self.max
        }
    }

    /// Whether no score can be in the range.
    pub fn is_empty(&self) -> bool {
        self.min > self.max || (self.min == self.max && (self.minex || self.maxex))
    }
}

/// An end of a lex interval: `-`, `+` or a string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LexValue {
    /// `-`: below every string.
    Min,
    /// `+`: above every string.
    Max,
    /// A string (given with `[` or `(`).
    Str(Vec<u8>),
}

/// A member interval as ZRANGEBYLEX takes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LexRange {
    /// Lower end.
    pub min: LexValue,
    /// Upper end.
    pub max: LexValue,
    /// The lower end is excluded (always for `-` and `+`).
    pub minex: bool,
    /// The upper end is excluded.
    pub maxex: bool,
}

/// Redis's `sdscmplex` between two range ends.
fn cmp_ends(a: &LexValue, b: &LexValue) -> Ordering {
    match (a, b) {
        (LexValue::Min, LexValue::Min) | (LexValue::Max, LexValue::Max) => Ordering::Equal,
        (LexValue::Min, _) | (_, LexValue::Max) => Ordering::Less,
        (LexValue::Max, _) | (_, LexValue::Min) => Ordering::Greater,
        (LexValue::Str(x), LexValue::Str(y)) => x.cmp(y),
    }
}

/// A member against a range end.
fn cmp_value(v: &[u8], end: &LexValue) -> Ordering {
    match end {
        LexValue::Min => Ordering::Greater,
        LexValue::Max => Ordering::Less,
        LexValue::Str(s) => v.cmp(s),
    }
}

impl LexRange {
    /// Whether `v` is above the lower end.
    pub fn gte_min(&self, v: &[u8]) -> bool {
        let c = cmp_value(v, &self.min);
        if self.minex {
            c == Ordering::Greater
        } else {
            c != Ordering::Less
        }
    }

    /// Whether `v` is below the upper end.
    pub fn lte_max(&self, v: &[u8]) -> bool {
        let c = cmp_value(v, &self.max);
        if self.maxex {
            c == Ordering::Less
        } else {
            c != Ordering::Greater
        }
    }

    /// Whether no member can be in the range.
    pub fn is_empty(&self) -> bool {
        let c = cmp_ends(&self.min, &self.max);
        c == Ordering::Greater || (c == Ordering::Equal && (self.minex || self.maxex))
    }

    fn gte_min_elem(&self, e: Elem) -> bool {
        with_text(e, |t| self.gte_min(t))
    }

    fn lte_max_elem(&self, e: Elem) -> bool {
        with_text(e, |t| self.lte_max(t))
    }
}

// ---------------------------------------------------------------------------------------
// Reading either encoding.
// ---------------------------------------------------------------------------------------

/// A sorted set in either encoding, borrowed for reading.
#[derive(Debug, Clone, Copy)]
pub enum ZRef<'a> {
    /// Packed pairs (`listpack`).
    Packed(&'a [u8]),
    /// The big encoding (`skiplist`).
    Big(&'a ZSet),
}

impl<'a> ZRef<'a> {
    /// The sorted set a value holds; `None` for any other type.
    pub fn of(v: ValueRef<'a>) -> Option<ZRef<'a>> {
        match v {
            ValueRef::Packed(PackedKind::ZSet, b) => Some(ZRef::Packed(b)),
            ValueRef::Obj(Object::ZSet(z)) => Some(ZRef::Big(z)),
            _ => None,
        }
    }

    /// Number of members.
    pub fn len(&self) -> usize {
        match self {
            ZRef::Packed(b) => lp::len(b),
            ZRef::Big(z) => z.len(),
        }
    }

    /// Whether the set is empty (never, for a stored key).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The encoding's OBJECT ENCODING name.
    pub fn encoding(&self) -> &'static str {
        match self {
            ZRef::Packed(_) => "listpack",
            ZRef::Big(_) => "skiplist",
        }
    }

    /// Score of `member`.
    pub fn score(&self, member: &[u8]) -> Option<f64> {
        match self {
            ZRef::Packed(b) => lp::find(b, member).map(|(_, s, _)| s),
            ZRef::Big(z) => z.score(member),
        }
    }

    /// 0-based ascending rank of `member`.
    pub fn rank(&self, member: &[u8]) -> Option<usize> {
        match self {
            ZRef::Packed(b) => lp::find(b, member).map(|(r, _, _)| r),
            ZRef::Big(z) => z.rank(member),
        }
    }

    /// Call `f` on every member and score, in ascending order (`rev`: descending).
    pub fn for_each(&self, rev: bool, mut f: impl FnMut(Elem<'a>, f64)) {
        match *self {
            ZRef::Packed(b) if !rev => lp::iter(b).for_each(|(m, s, _)| f(m, s)),
            ZRef::Packed(b) => {
                let v: Vec<(Elem<'a>, f64)> = lp::iter(b).map(|(m, s, _)| (m, s)).collect();
                v.into_iter().rev().for_each(|(m, s)| f(m, s));
            }
            ZRef::Big(z) if !rev => z.iter_at(0, false).for_each(|(m, s)| f(Elem::Bytes(m), s)),
            ZRef::Big(z) => {
                z.iter_at(z.len().saturating_sub(1), true).for_each(|(m, s)| f(Elem::Bytes(m), s))
            }
        }
    }

    /// Positional access (decodes a packed set once).
    pub fn seq(&self) -> ZSeq<'a> {
        match *self {
            ZRef::Packed(b) => ZSeq::Packed(lp::iter(b).map(|(m, s, _)| (m, s)).collect()),
            ZRef::Big(z) => ZSeq::Big(z),
        }
    }

    /// A copy in the other encoding's terms: every pair, in order, as owned bytes.
    pub fn to_pairs(&self) -> Vec<(Vec<u8>, f64)> {
        let mut v = Vec::with_capacity(self.len());
        self.for_each(false, |m, s| v.push((m.to_vec(), s)));
        v
    }
}

/// A sorted set with positional access: packed pairs decoded once, or the big encoding.
/// The range searches follow Redis: on packed sets the linear scans of its listpack code,
/// on big ones the ordered descents of its skiplist code (the two agree whenever the
/// searched order is consistent, i.e. always except lex ranges over mixed scores).
#[derive(Debug)]
pub enum ZSeq<'a> {
    /// Decoded packed pairs.
    Packed(Vec<(Elem<'a>, f64)>),
    /// The big encoding.
    Big(&'a ZSet),
}

impl<'a> ZSeq<'a> {
    /// Number of members.
    pub fn len(&self) -> usize {
        match self {
            ZSeq::Packed(v) => v.len(),
            ZSeq::Big(z) => z.len(),
        }
    }

    /// Whether there is no member.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Member and score at `rank`.
    pub fn get(&self, rank: usize) -> Option<(Elem<'a>, f64)> {
        match self {
            ZSeq::Packed(v) => v.get(rank).copied(),
            ZSeq::Big(z) => {
                let z: &'a ZSet = z;
                z.get(rank).map(|(m, s)| (Elem::Bytes(m), s))
            }
        }
    }

    /// Visit members from `rank` on, ascending (or descending with `rev`), while `f`
    /// returns true.
    pub fn walk(&self, rank: usize, rev: bool, mut f: impl FnMut(Elem<'a>, f64) -> bool) {
        match self {
            ZSeq::Packed(v) => {
                if rank >= v.len() {
                    return;
                }
                if rev {
                    for &(m, s) in v[..=rank].iter().rev() {
                        if !f(m, s) {
                            return;
                        }
                    }
                } else {
                    for &(m, s) in &v[rank..] {
                        if !f(m, s) {
                            return;
                        }
                    }
                }
            }
            ZSeq::Big(z) => {
                let z: &'a ZSet = z;
                for (m, s) in z.iter_at(rank, rev) {
                    if !f(Elem::Bytes(m), s) {
                        return;
                    }
                }
            }
        }
    }

    fn partition_point(&self, mut pred: impl FnMut(Elem<'_>, f64) -> bool) -> usize {
        match self {
            ZSeq::Packed(v) => v.partition_point(|&(m, s)| pred(m, s)),
            ZSeq::Big(z) => z.partition_point(|m, s| pred(Elem::Bytes(m), s)),
        }
    }

    fn first_score(&self) -> Option<f64> {
        self.get(0).map(|(_, s)| s)
    }

    fn last_score(&self) -> Option<f64> {
        self.len().checked_sub(1).and_then(|i| self.get(i)).map(|(_, s)| s)
    }

    /// Whether part of the set is in `r` (Redis's `zslIsInRange`).
    fn in_score_range(&self, r: &ScoreRange) -> bool {
        !r.is_empty()
            && self.last_score().is_some_and(|s| r.gte_min(s))
            && self.first_score().is_some_and(|s| r.lte_max(s))
    }

    /// Rank of the first member in `r`.
    pub fn first_in_score(&self, r: &ScoreRange) -> Option<usize> {
        if !self.in_score_range(r) {
            return None;
        }
        let i = self.partition_point(|_, s| !r.gte_min(s));
        self.get(i).filter(|&(_, s)| r.lte_max(s)).map(|_| i)
    }

    /// Rank of the last member in `r`.
    pub fn last_in_score(&self, r: &ScoreRange) -> Option<usize> {
        if !self.in_score_range(r) {
            return None;
        }
        let i = self.partition_point(|_, s| r.lte_max(s)).checked_sub(1)?;
        self.get(i).filter(|&(_, s)| r.gte_min(s)).map(|_| i)
    }

    /// Number of members in `r` (ZCOUNT).
    pub fn count_score(&self, r: &ScoreRange) -> usize {
        match (self.first_in_score(r), self.last_in_score(r)) {
            (Some(a), Some(b)) if b >= a => b - a + 1,
            _ => 0,
        }
    }

    /// Ranks `start..end` that ZREMRANGEBYSCORE removes.
    pub fn score_span(&self, r: &ScoreRange) -> (usize, usize) {
        let start = self.partition_point(|_, s| !r.gte_min(s));
        let mut end = start;
        self.walk(start, false, |_, s| {
            let take = r.lte_max(s);
            end += take as usize;
            take
        });
        (start, end)
    }

    fn in_lex_range(&self, r: &LexRange) -> bool {
        !r.is_empty()
            && self.len().checked_sub(1).and_then(|i| self.get(i)).is_some_and(|(m, _)| r.gte_min_elem(m))
            && self.get(0).is_some_and(|(m, _)| r.lte_max_elem(m))
    }

    /// Rank of the first member in `r`.
    pub fn first_in_lex(&self, r: &LexRange) -> Option<usize> {
        if !self.in_lex_range(r) {
            return None;
        }
        let i = match self {
            ZSeq::Packed(v) => v.iter().position(|&(m, _)| r.gte_min_elem(m))?,
            ZSeq::Big(_) => self.partition_point(|m, _| !r.gte_min_elem(m)),
        };
        self.get(i).filter(|&(m, _)| r.lte_max_elem(m)).map(|_| i)
    }

    /// Rank of the last member in `r`.
    pub fn last_in_lex(&self, r: &LexRange) -> Option<usize> {
        if !self.in_lex_range(r) {
            return None;
        }
        let i = match self {
            ZSeq::Packed(v) => v.iter().rposition(|&(m, _)| r.lte_max_elem(m))?,
            ZSeq::Big(_) => self.partition_point(|m, _| r.lte_max_elem(m)).checked_sub(1)?,
        };
        self.get(i).filter(|&(m, _)| r.gte_min_elem(m)).map(|_| i)
    }

    /// Number of members in `r` (ZLEXCOUNT).
    pub fn count_lex(&self, r: &LexRange) -> usize {
        let Some(first) = self.first_in_lex(r) else {
            return 0;
        };
        match self {
            ZSeq::Packed(_) => {
                let mut n = 0;
                self.walk(first, false, |m, _| {
                    let take = r.lte_max_elem(m);
                    n += take as usize;
                    take
                });
                n
            }
            ZSeq::Big(_) => match self.last_in_lex(r) {
                Some(last) if last >= first => last - first + 1,
                _ => 0,
            },
        }
    }

    /// Ranks `start..end` that ZREMRANGEBYLEX removes.
    pub fn lex_span(&self, r: &LexRange) -> (usize, usize) {
        let start = match self {
            ZSeq::Packed(_) => match self.first_in_lex(r) {
                Some(i) => i,
                None => return (0, 0),
            },
            ZSeq::Big(_) => self.partition_point(|m, _| !r.gte_min_elem(m)),
        };
        let mut end = start;
        self.walk(start, false, |m, _| {
            let take = r.lte_max_elem(m);
            end += take as usize;
            take
        });
        (start, end)
    }
}

// ---------------------------------------------------------------------------------------
// Changing either encoding.
// ---------------------------------------------------------------------------------------

/// The `zset-max-listpack-*` thresholds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// `zset-max-listpack-entries`.
    pub max_entries: usize,
    /// `zset-max-listpack-value` (bytes of a member).
    pub max_value: usize,
}

/// A sorted set being changed: a copy of packed bytes (stored back at the end), the big
/// set of the entry changed in place, or a big set converted from packed during the change.
#[derive(Debug)]
pub enum ZWork<'a> {
    /// Packed pairs (written back with `EntryMut::set_value`).
    Packed(Vec<u8>),
    /// The entry's own big set.
    Big(&'a mut ZSet),
    /// Converted from packed in this change (stored with `EntryMut::set_value`).
    Owned(Box<ZSet>),
}

/// What a change leaves to store.
#[derive(Debug)]
pub enum Stored {
    /// Packed bytes to put back in the entry.
    Packed(Vec<u8>),
    /// The entry's big set was changed in place: nothing to store.
    InPlace,
    /// A new big set to store.
    Big(Box<ZSet>),
}

impl<'a> ZWork<'a> {
    /// A new, empty sorted set (packed, as Redis creates one before converting).
    pub fn empty() -> ZWork<'a> {
        ZWork::Packed(Vec::new())
    }

    /// Read access.
    pub fn view(&self) -> ZRef<'_> {
        match self {
            ZWork::Packed(b) => ZRef::Packed(b),
            ZWork::Big(z) => ZRef::Big(z),
            ZWork::Owned(z) => ZRef::Big(z),
        }
    }

    /// Number of members.
    pub fn len(&self) -> usize {
        self.view().len()
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Score of `member`.
    pub fn score(&self, member: &[u8]) -> Option<f64> {
        self.view().score(member)
    }

    fn big(&mut self) -> Option<&mut ZSet> {
        match self {
            ZWork::Packed(_) => None,
            ZWork::Big(z) => Some(z),
            ZWork::Owned(z) => Some(z),
        }
    }

    /// Convert packed to the big encoding (no-op if already big).
    pub fn convert(&mut self) {
        if let ZWork::Packed(b) = self {
            *self = ZWork::Owned(Box::new(ZSet::from_packed(b)));
        }
    }

    /// Add an absent `member` with `score`, converting first when the set would exceed
    /// `limits` (Redis's `zsetAdd`: more than `max_entries` members, a member longer than
    /// `max_value`, or a listpack past 1 GiB).
    pub fn add(&mut self, member: &[u8], score: f64, limits: &Limits) {
        if let ZWork::Packed(b) = self {
            if lp::len(b) + 1 > limits.max_entries
                || member.len() > limits.max_value
                || b.len() + member.len() > lp::MAX_SAFE_BYTES
            {
                self.convert();
            }
        }
        match self {
            ZWork::Packed(b) => lp::insert(b, member, score),
            ZWork::Big(z) => {
                z.insert(member, score);
            }
            ZWork::Owned(z) => {
                z.insert(member, score);
            }
        }
    }

    /// Change the score of a present `member` (never converts).
    pub fn set_score(&mut self, member: &[u8], score: f64) {
        if let ZWork::Packed(b) = self {
            if let Some((_, _, range)) = lp::find(b, member) {
                b.drain(range);
                lp::insert(b, member, score);
            }
            return;
        }
        if let Some(z) = self.big() {
            z.set_score(member, score);
        }
    }

    /// Remove `member`; returns its score.
    pub fn remove(&mut self, member: &[u8]) -> Option<f64> {
        if let ZWork::Packed(b) = self {
            let (_, s, range) = lp::find(b, member)?;
            b.drain(range);
            return Some(s);
        }
        self.big().and_then(|z| z.remove(member))
    }

    /// Remove the members of ranks `start..end`; returns how many went.
    pub fn remove_range(&mut self, start: usize, end: usize) -> usize {
        let end = end.min(self.len());
        if start >= end {
            return 0;
        }
        if let ZWork::Packed(b) = self {
            lp::remove_ranks(b, start, end);
            return end - start;
        }
        self.big().map(|z| z.remove_range(start, end)).unwrap_or(0)
    }

    /// Remove and return the lowest (or, with `max`, highest) member.
    pub fn pop(&mut self, max: bool) -> Option<(Vec<u8>, f64)> {
        let n = self.len();
        let rank = if max { n.checked_sub(1)? } else { 0 };
        if let ZWork::Packed(b) = self {
            let (m, s) = lp::iter(b).nth(rank).map(|(m, s, _)| (m.to_vec(), s))?;
            lp::remove_ranks(b, rank, rank + 1);
            return Some((m, s));
        }
        self.big().and_then(|z| z.remove_at(rank))
    }

    /// What to store back.
    pub fn finish(self) -> Stored {
        match self {
            ZWork::Packed(b) => Stored::Packed(b),
            ZWork::Big(_) => Stored::InPlace,
            ZWork::Owned(z) => Stored::Big(z),
        }
    }
}

/// A new sorted set from pairs in (score, member) order without duplicates, in the
/// encoding Redis gives a stored result (`zsetConvertToListpackIfNeeded`): packed when at
/// most `max_entries` members, none longer than `max_value`, and small enough.
pub fn build<M: AsRef<[u8]>>(pairs: &[(M, f64)], limits: &Limits) -> Stored {
    let max_len = pairs.iter().map(|(m, _)| m.as_ref().len()).max().unwrap_or(0);
    let total: usize = pairs.iter().map(|(m, _)| m.as_ref().len()).sum();
    if pairs.len() <= limits.max_entries && max_len <= limits.max_value && total <= lp::MAX_SAFE_BYTES {
        let mut buf = Vec::with_capacity(total + pairs.len() * 4);
        for (m, s) in pairs {
            lp::push(&mut buf, m.as_ref(), *s);
        }
        Stored::Packed(buf)
    } else {
        Stored::Big(Box::new(ZSet::from_sorted(pairs)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    /// The model: member -> score, plus the order.
    #[derive(Default)]
    struct Model(BTreeMap<Vec<u8>, f64>);

    impl Model {
        fn sorted(&self) -> Vec<(Vec<u8>, f64)> {
            let mut v: Vec<(Vec<u8>, f64)> = self.0.iter().map(|(m, s)| (m.clone(), *s)).collect();
            v.sort_by(|a, b| cmp_key(a.1, &a.0, b.1, &b.0));
            v
        }
    }

    fn pairs_of(z: ZRef) -> Vec<(Vec<u8>, f64)> {
        z.to_pairs()
    }

    #[test]
    fn big_set_basic_operations() {
        let mut z = ZSet::new();
        assert!(z.insert(b"b", 2.0));
        assert!(z.insert(b"a", 2.0));
        assert!(z.insert(b"c", 1.0));
        assert!(!z.insert(b"c", 5.0));
        assert_eq!(z.len(), 3);
        assert_eq!(z.score(b"c"), Some(1.0));
        assert_eq!(z.rank(b"a"), Some(1));
        assert_eq!(z.get(0), Some((&b"c"[..], 1.0)));
        assert_eq!(z.set_score(b"c", 3.0), Some(1.0));
        assert_eq!(z.rank(b"c"), Some(2));
        assert_eq!(z.remove(b"a"), Some(2.0));
        assert_eq!(z.remove(b"a"), None);
        let all: Vec<_> = z.iter_at(0, false).map(|(m, s)| (m.to_vec(), s)).collect();
        assert_eq!(all, vec![(b"b".to_vec(), 2.0), (b"c".to_vec(), 3.0)]);
        let back: Vec<_> = z.iter_at(1, true).map(|(m, _)| m.to_vec()).collect();
        assert_eq!(back, vec![b"c".to_vec(), b"b".to_vec()]);
        let long = vec![b'x'; 300];
        z.insert(&long, -1.0);
        assert_eq!(z.get(0).map(|(m, _)| m.len()), Some(300));
        let c = z.clone();
        c.check();
        z.check();
        assert_eq!(z.remove_at(0).map(|(m, _)| m.len()), Some(300));
        z.check();
    }

    #[test]
    fn big_set_many_members_and_memory() {
        let mut z = ZSet::new();
        for i in 0..20_000u32 {
            z.insert(format!("member:{i}").as_bytes(), (i % 1000) as f64);
        }
        z.check();
        let per = z.memory_usage() as f64 / z.len() as f64;
        assert!(per < 72.0, "{per} bytes per member");
        for i in (0..20_000u32).step_by(3) {
            assert!(z.remove(format!("member:{i}").as_bytes()).is_some());
        }
        z.check();
        assert_eq!(z.remove_range(10, 5000), 4990);
        z.check();
        let mut seen = 0;
        let mut cursor = 0;
        loop {
            cursor = z.scan(cursor, |_, _| seen += 1);
            if cursor == 0 {
                break;
            }
        }
        assert_eq!(seen, z.len());
    }

    #[test]
    fn lookups_stay_right_while_the_table_shrinks() {
        let mut z = ZSet::new();
        for i in 0..50_000u32 {
            z.insert(&i.to_be_bytes(), i as f64);
        }
        for i in 0..49_900u32 {
            assert_eq!(z.remove(&i.to_be_bytes()), Some(i as f64));
        }
        for i in 49_900..50_000u32 {
            assert_eq!(z.score(&i.to_be_bytes()), Some(i as f64));
        }
        while z.table.rehash_step(64) {}
        assert!(z.table.slots() <= 1024, "{} slots", z.table.slots());
        z.check();
    }

    #[test]
    fn packed_scores_follow_double2ll() {
        assert_eq!(lp::score_elem(3.0), Elem::Int(3));
        assert_eq!(lp::score_elem(-0.0), Elem::Int(0));
        assert_eq!(lp::score_elem(1.5), Elem::Double(1.5));
        assert_eq!(lp::score_elem(1e20), Elem::Double(1e20));
        assert_eq!(lp::score_elem(f64::INFINITY), Elem::Double(f64::INFINITY));
        assert_eq!(lp::score_elem(4611686018427387904.0), Elem::Int(4611686018427387904));
        assert_eq!(lp::score_text(2.5e15), b"2500000000000000".to_vec());
        assert_eq!(lp::score_text(0.1), b"0.10000000000000001".to_vec());
        let mut b = Vec::new();
        lp::insert(&mut b, b"b", 1.0);
        lp::insert(&mut b, b"10", 1.0);
        lp::insert(&mut b, b"a", 0.5);
        lp::insert(&mut b, b"9", 1.0);
        let v: Vec<_> = lp::iter(&b).map(|(m, s, _)| (m.to_vec(), s)).collect();
        assert_eq!(
            v,
            vec![(b"a".to_vec(), 0.5), (b"10".to_vec(), 1.0), (b"9".to_vec(), 1.0), (b"b".to_vec(), 1.0)]
        );
        assert_eq!(lp::find(&b, b"9").map(|(r, s, _)| (r, s)), Some((2, 1.0)));
        lp::remove_ranks(&mut b, 1, 3);
        assert_eq!(lp::len(&b), 2);
    }

    #[test]
    fn ranges() {
        let z = ZSet::from_sorted(&[(b"a", 1.0), (b"b", 2.0), (b"c", 2.0), (b"d", 3.0)]);
        let mut buf = Vec::new();
        for (m, s) in [(b"a", 1.0), (b"b", 2.0), (b"c", 2.0), (b"d", 3.0)] {
            lp::push(&mut buf, m, s);
        }
        for seq in [ZRef::Big(&z).seq(), ZRef::Packed(&buf).seq()] {
            let r = ScoreRange { min: 2.0, max: 3.0, minex: false, maxex: true };
            assert_eq!(seq.first_in_score(&r), Some(1));
            assert_eq!(seq.last_in_score(&r), Some(2));
            assert_eq!(seq.count_score(&r), 2);
            assert_eq!(seq.score_span(&r), (1, 3));
            let r = ScoreRange { min: 5.0, max: 1.0, minex: false, maxex: false };
            assert_eq!(seq.first_in_score(&r), None);
            assert_eq!(seq.count_score(&r), 0);
            let lex =
                LexRange { min: LexValue::Str(b"b".to_vec()), max: LexValue::Max, minex: true, maxex: true };
            assert_eq!(seq.first_in_lex(&lex), Some(2));
            assert_eq!(seq.last_in_lex(&lex), Some(3));
            assert_eq!(seq.count_lex(&lex), 2);
            let lex = LexRange { min: LexValue::Min, max: LexValue::Min, minex: true, maxex: true };
            assert!(lex.is_empty());
            assert_eq!(seq.first_in_lex(&lex), None);
        }
    }

    #[derive(Debug, Clone)]
    enum Op {
        Add(u8, i8),
        Remove(u8),
        Incr(u8, i8),
        RemoveRange(u8, u8),
        Pop(bool),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            4 => (any::<u8>(), any::<i8>()).prop_map(|(m, s)| Op::Add(m, s)),
            2 => any::<u8>().prop_map(Op::Remove),
            2 => (any::<u8>(), any::<i8>()).prop_map(|(m, s)| Op::Incr(m, s)),
            1 => (any::<u8>(), any::<u8>()).prop_map(|(a, b)| Op::RemoveRange(a, b)),
            1 => any::<bool>().prop_map(Op::Pop),
        ]
    }

    fn member(m: u8) -> Vec<u8> {
        if m.is_multiple_of(3) {
            (m as u32 * 7).to_string().into_bytes()
        } else {
            format!("m{m}").into_bytes()
        }
    }

    fn apply(w: &mut ZWork, model: &mut Model, op: &Op, limits: &Limits) {
        match *op {
            Op::Add(m, s) => {
                let m = member(m);
                let s = s as f64 / 4.0;
                if w.score(&m).is_some() {
                    w.set_score(&m, s);
                } else {
                    w.add(&m, s, limits);
                }
                model.0.insert(m, s);
            }
            Op::Remove(m) => {
                let m = member(m);
                assert_eq!(w.remove(&m), model.0.remove(&m));
            }
            Op::Incr(m, s) => {
                let m = member(m);
                let cur = w.score(&m);
                assert_eq!(cur, model.0.get(&m).copied());
                let new = cur.unwrap_or(0.0) + s as f64;
                match cur {
                    Some(_) => w.set_score(&m, new),
                    None => w.add(&m, new, limits),
                }
                model.0.insert(m, new);
            }
            Op::RemoveRange(a, b) => {
                let (a, b) = (a as usize % 40, b as usize % 40);
                let sorted = model.sorted();
                let n = w.remove_range(a, b);
                let end = b.min(sorted.len());
                assert_eq!(n, end.saturating_sub(a));
                for (m, _) in sorted.get(a..end.max(a)).unwrap_or_default() {
                    model.0.remove(m);
                }
            }
            Op::Pop(max) => {
                let sorted = model.sorted();
                let want = if max { sorted.last() } else { sorted.first() }.cloned();
                assert_eq!(w.pop(max), want);
                if let Some((m, _)) = want {
                    model.0.remove(&m);
                }
            }
        }
    }

    proptest! {
        #[test]
        fn work_matches_model(ops in proptest::collection::vec(op(), 1..300), max_entries in 0usize..40) {
            let limits = Limits { max_entries, max_value: 64 };
            let mut w = ZWork::empty();
            let mut model = Model::default();
            for op in &ops {
                apply(&mut w, &mut model, op, &limits);
                let want = model.sorted();
                prop_assert_eq!(pairs_of(w.view()), want.clone());
                if let ZWork::Packed(_) = w {
                    prop_assert!(w.len() <= max_entries);
                }
                for (i, (m, s)) in want.iter().enumerate() {
                    prop_assert_eq!(w.view().score(m), Some(*s));
                    prop_assert_eq!(w.view().rank(m), Some(i));
                }
            }
            if let ZWork::Owned(z) = &w {
                z.check();
                let seq = w.view().seq();
                let want = model.sorted();
                for lo in [-40.0, -1.0, 0.0, 0.25, 3.0] {
                    for ex in [false, true] {
                        let r = ScoreRange { min: lo, max: lo + 10.0, minex: ex, maxex: !ex };
                        let n = want.iter().filter(|(_, s)| r.gte_min(*s) && r.lte_max(*s)).count();
                        prop_assert_eq!(seq.count_score(&r), n);
                    }
                }
            }
        }
    }
}
