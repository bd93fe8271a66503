//! The set type: its big encoding ([`Set`]), a borrowed view of a set in any encoding
//! ([`SetRef`]), an owned working copy ([`SetValue`]), and the rules that choose between
//! encodings ([`Limits`]), as Redis 7.2 has them.
//!
//! Encodings, as OBJECT ENCODING names them:
//! - `intset`: a packed buffer (`PackedKind::SetInts`, format in `crate::packed`) of integers
//!   only, kept in ascending order like Redis's intset, while there are at most
//!   `set-max-intset-entries` of them.
//! - `listpack`: a packed buffer (`PackedKind::Set`) in insertion order, while there are at
//!   most `set-max-listpack-entries` members of at most `set-max-listpack-value` bytes.
//! - `hashtable`: a [`Set`], a `crate::table::Table` whose elements are single allocations
//!   holding the chain link, the member's length and its bytes (no dict entry, no sds header,
//!   no value pointer): 16 bytes for a member of up to 7 bytes, where Redis spends a 24-byte
//!   dict entry plus an sds.
//!
//! Packed sets live inline in their keyspace entry; commands copy them into a [`SetValue`],
//! change it, and store it back. Big sets are changed in place. Conversions follow Redis
//! 7.2's `setTypeCreate`, `setTypeMaybeConvert` and `setTypeAddAux`: a set only ever moves
//! towards `hashtable` when members are added, and never converts back when members are
//! removed (the commands that build a new set, such as SPOP with a count and the *STORE
//! commands, choose the new set's encoding afresh).

use std::alloc::{alloc, dealloc, handle_alloc_error, Layout};
use std::ptr::{self, NonNull};

use crate::alloc::size_class;
use crate::object::Object;
use crate::packed::{self, Elem};
use crate::table::{hash_key, ChainKey, ElemPtr, Rng, Table};
use crate::value::{int_len, parse_i64_strict, NewValue, PackedKind, ValueRef};

// ---------------------------------------------------------------------------------------
// Members of a big set: one allocation each.
//
// 0  next   8 bytes   chain link
// 8  len    1 byte (< 255), or 0xFF and a u64
//    bytes  len bytes
// ---------------------------------------------------------------------------------------

const LINK: usize = 8;
const LONG_LEN: u8 = 0xFF;

fn member_size(len: usize) -> usize {
    LINK + if len < LONG_LEN as usize { 1 } else { 9 } + len
}

fn member_layout(size: usize) -> Layout {
    // Alignment 1 always fits: the size of a member that exists in memory fits an isize.
    Layout::from_size_align(size, 1).unwrap_or(Layout::new::<u8>())
}

fn new_member(m: &[u8]) -> ElemPtr {
    let lay = member_layout(member_size(m.len()));
    // SAFETY: the layout is non-zero sized; every write below lies within it.
    unsafe {
        let p = alloc(lay);
        if p.is_null() {
            handle_alloc_error(lay);
        }
        ptr::write_unaligned(p as *mut usize, 0);
        let mut off = LINK;
        if m.len() < LONG_LEN as usize {
            *p.add(off) = m.len() as u8;
            off += 1;
        } else {
            *p.add(off) = LONG_LEN;
            ptr::write_unaligned(p.add(off + 1) as *mut u64, m.len() as u64);
            off += 9;
        }
        ptr::copy_nonoverlapping(m.as_ptr(), p.add(off), m.len());
        NonNull::new_unchecked(p)
    }
}

/// The bytes of a member.
///
/// # Safety
/// `e` must be a live member made by `new_member`; the slice must not outlive it.
unsafe fn member<'a>(e: ElemPtr) -> &'a [u8] {
    let p = e.as_ptr().add(LINK);
    if *p < LONG_LEN {
        std::slice::from_raw_parts(p.add(1), *p as usize)
    } else {
        let len = ptr::read_unaligned(p.add(1) as *const u64) as usize;
        std::slice::from_raw_parts(p.add(9), len)
    }
}

/// Free a member.
///
/// # Safety
/// `e` must be a live member no longer linked anywhere.
unsafe fn free_member(e: ElemPtr) -> usize {
    let size = member_size(member(e).len());
    dealloc(e.as_ptr(), member_layout(size));
    size_class(size, 1)
}

/// How a big set's table finds its members.
struct MemberKey;

impl ChainKey for MemberKey {
    unsafe fn key<'a>(e: ElemPtr) -> &'a [u8] {
        member(e)
    }
}

/// A set in its big encoding (OBJECT ENCODING `hashtable`).
pub struct Set {
    table: Table<MemberKey>,
    /// Bytes allocated for the members, at jemalloc's size classes.
    bytes: usize,
}

impl Default for Set {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for Set {
    fn drop(&mut self) {
        // SAFETY: drained members are unlinked and owned by nobody else.
        self.table.drain(|e| unsafe {
            free_member(e);
        });
        self.bytes = 0;
    }
}

impl Clone for Set {
    fn clone(&self) -> Self {
        let mut s = Set::new();
        self.for_each(|m| {
            s.insert(m);
        });
        s
    }
}

impl std::fmt::Debug for Set {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Set").field("len", &self.len()).field("bytes", &self.bytes).finish()
    }
}

impl Set {
    /// An empty set (allocates nothing).
    pub fn new() -> Self {
        Set { table: Table::new(), bytes: 0 }
    }

    /// The name OBJECT ENCODING reports.
    pub fn encoding(&self) -> &'static str {
        "hashtable"
    }

    /// Bytes allocated for the value (MEMORY USAGE): the object, the bucket arrays and the
    /// members.
    pub fn memory_usage(&self) -> usize {
        size_class(std::mem::size_of::<Object>(), 8) + self.table.bucket_bytes() + self.bytes
    }

    /// Number of members.
    pub fn len(&self) -> usize {
        self.table.len()
    }

    /// Whether the set has no member.
    pub fn is_empty(&self) -> bool {
        self.table.is_empty()
    }

    /// Whether `m` is a member.
    pub fn contains(&self, m: &[u8]) -> bool {
        self.table.get(m, hash_key(m)).is_some()
    }

    /// Add `m`; returns whether it was new.
    pub fn insert(&mut self, m: &[u8]) -> bool {
        let h = hash_key(m);
        self.table.rehash_step(1);
        if self.table.find(m, h).is_some() {
            return false;
        }
        self.bytes += size_class(member_size(m.len()), 1);
        self.table.insert(new_member(m), h);
        true
    }

    /// Remove `m`; returns whether it was a member.
    pub fn remove(&mut self, m: &[u8]) -> bool {
        self.table.rehash_step(1);
        match self.table.find(m, hash_key(m)) {
            Some((link, e)) => {
                // SAFETY: `link` and `e` come from `find` with no change since; once unlinked
                // the member is ours to free.
                unsafe {
                    self.table.unlink(link, e);
                    self.bytes -= free_member(e);
                }
                true
            }
            None => false,
        }
    }

    /// Call `f` on every member (in table order).
    pub fn for_each<'a>(&'a self, mut f: impl FnMut(&'a [u8])) {
        // SAFETY: the table hands out live members, which live as long as `self`.
        self.table.for_each(|e| f(unsafe { member(e) }))
    }

    /// One SSCAN step from `cursor` (Redis's reverse-binary cursor): calls `f` on the
    /// members of one bucket (more while rehashing) and returns the next cursor, 0 at the
    /// end. Every member present for the whole scan is returned at least once.
    pub fn scan<'a>(&'a self, cursor: u64, mut f: impl FnMut(&'a [u8])) -> u64 {
        // SAFETY: as in for_each.
        self.table.scan(cursor, |e| f(unsafe { member(e) }))
    }

    /// A random member.
    pub fn random(&self, rng: &mut Rng) -> Option<&[u8]> {
        // SAFETY: as in for_each.
        self.table.random(rng).map(|e| unsafe { member(e) })
    }

    /// Remove and return a random member.
    pub fn pop_random(&mut self, rng: &mut Rng) -> Option<Vec<u8>> {
        let m = self.random(rng)?.to_vec();
        self.remove(&m);
        Some(m)
    }

    /// Do a slice of pending incremental rehashing; returns whether more is left.
    pub fn rehash_step(&mut self, buckets: usize) -> bool {
        self.table.rehash_step(buckets)
    }
}

// ---------------------------------------------------------------------------------------
// Encoding rules.
// ---------------------------------------------------------------------------------------

/// Redis's bound on an intset (`intsetMaxEntries`): 2^30 entries.
const INTSET_HARD_MAX: usize = 1 << 30;
/// Largest packed buffer Brim builds (Redis's `LISTPACK_MAX_SAFETY_SIZE`); a set that would
/// grow past it becomes a `hashtable`.
const PACKED_MAX_BYTES: usize = 1 << 30;

/// The thresholds of the set encodings (`set-max-intset-entries`,
/// `set-max-listpack-entries`, `set-max-listpack-value`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Most members of an `intset`.
    pub intset_entries: usize,
    /// Most members of a `listpack`.
    pub listpack_entries: usize,
    /// Longest member of a `listpack`, in bytes.
    pub listpack_value: usize,
}

impl Default for Limits {
    /// Redis's defaults: 512, 128, 64.
    fn default() -> Self {
        Limits { intset_entries: 512, listpack_entries: 128, listpack_value: 64 }
    }
}

impl Limits {
    fn intset_max(&self) -> usize {
        self.intset_entries.min(INTSET_HARD_MAX)
    }
}

// ---------------------------------------------------------------------------------------
// Packed helpers.
// ---------------------------------------------------------------------------------------

/// Where integer `n` is in a sorted integer buffer: `Ok(offset)` of the element, or
/// `Err(offset)` where it would be inserted.
fn ints_find(buf: &[u8], n: i64) -> Result<usize, usize> {
    for (off, e) in packed::iter(buf) {
        if let Elem::Int(v) = e {
            if v == n {
                return Ok(off);
            }
            if v > n {
                return Err(off);
            }
        }
    }
    Err(buf.len())
}

/// Offset of the element equal to `target` in a packed buffer.
fn pack_find(buf: &[u8], target: Elem) -> Option<usize> {
    packed::iter(buf).find(|(_, e)| *e == target).map(|(off, _)| off)
}

/// Remove the element at offset `off` of a packed buffer.
fn remove_at(buf: &mut Vec<u8>, off: usize) {
    if let Some((_, next)) = packed::read(buf, off) {
        buf.drain(off..next);
    }
}

/// The element at index `i` of a packed buffer.
fn nth(buf: &[u8], i: usize) -> Option<(usize, Elem<'_>)> {
    packed::iter(buf).nth(i)
}

fn first_last_int(buf: &[u8]) -> Option<(i64, i64)> {
    let mut it = packed::iter(buf).filter_map(|(_, e)| match e {
        Elem::Int(n) => Some(n),
        _ => None,
    });
    let first = it.next()?;
    Some((first, it.last().unwrap_or(first)))
}

// ---------------------------------------------------------------------------------------
// Borrowed view.
// ---------------------------------------------------------------------------------------

/// A set in any encoding, borrowed (from the keyspace or from a [`SetValue`]).
#[derive(Debug, Clone, Copy)]
pub enum SetRef<'a> {
    /// `intset`: packed integers in ascending order.
    Ints(&'a [u8]),
    /// `listpack`: packed members in insertion order.
    Pack(&'a [u8]),
    /// `hashtable`.
    Big(&'a Set),
}

impl<'a> SetRef<'a> {
    /// The set a value holds; `None` if it holds another type.
    pub fn of(v: ValueRef<'a>) -> Option<SetRef<'a>> {
        match v {
            ValueRef::Packed(PackedKind::SetInts, b) => Some(SetRef::Ints(b)),
            ValueRef::Packed(PackedKind::Set, b) => Some(SetRef::Pack(b)),
            ValueRef::Obj(Object::Set(s)) => Some(SetRef::Big(s)),
            _ => None,
        }
    }

    /// The name OBJECT ENCODING reports.
    pub fn encoding(&self) -> &'static str {
        match self {
            SetRef::Ints(_) => "intset",
            SetRef::Pack(_) => "listpack",
            SetRef::Big(_) => "hashtable",
        }
    }

    /// Number of members (walks a packed set).
    pub fn len(&self) -> usize {
        match self {
            SetRef::Ints(b) | SetRef::Pack(b) => packed::count(b),
            SetRef::Big(s) => s.len(),
        }
    }

    /// Whether the set has no member.
    pub fn is_empty(&self) -> bool {
        match self {
            SetRef::Ints(b) | SetRef::Pack(b) => b.is_empty(),
            SetRef::Big(s) => s.is_empty(),
        }
    }

    /// Whether `m` is a member.
    pub fn contains(&self, m: &[u8]) -> bool {
        match self {
            SetRef::Ints(b) => parse_i64_strict(m).is_some_and(|n| ints_find(b, n).is_ok()),
            SetRef::Pack(b) => pack_find(b, packed::elem_of(m)).is_some(),
            SetRef::Big(s) => s.contains(m),
        }
    }

    /// Call `f` on every member, in the encoding's order (ascending for `intset`, insertion
    /// order for `listpack`, table order for `hashtable`).
    pub fn for_each(&self, mut f: impl FnMut(Elem<'a>)) {
        match *self {
            SetRef::Ints(b) | SetRef::Pack(b) => packed::iter(b).for_each(|(_, e)| f(e)),
            SetRef::Big(s) => s.for_each(|m| f(Elem::Bytes(m))),
        }
    }

    /// Visit the members piecewise: from `cursor` (0 to start), call `f` on about `max`
    /// members and return the cursor to continue from, 0 when all were visited. As long as
    /// the set does not change between calls, every member is visited exactly once.
    pub fn chunk(&self, cursor: u64, max: usize, mut f: impl FnMut(Elem<'a>)) -> u64 {
        match *self {
            SetRef::Ints(b) | SetRef::Pack(b) => {
                let mut at = usize::try_from(cursor).unwrap_or(usize::MAX);
                let mut n = 0;
                while n < max.max(1) {
                    match packed::read(b, at) {
                        Some((e, next)) => {
                            f(e);
                            at = next;
                            n += 1;
                        }
                        None => return 0,
                    }
                }
                if at >= b.len() {
                    0
                } else {
                    at as u64
                }
            }
            SetRef::Big(s) => {
                let mut c = cursor;
                let mut n = 0;
                loop {
                    c = s.scan(c, |m| {
                        n += 1;
                        f(Elem::Bytes(m))
                    });
                    if c == 0 || n >= max {
                        return c;
                    }
                }
            }
        }
    }

    /// A random member (`None` if the set is empty).
    pub fn random(&self, rng: &mut Rng) -> Option<Elem<'a>> {
        match *self {
            SetRef::Ints(b) | SetRef::Pack(b) => {
                let n = packed::count(b);
                if n == 0 {
                    return None;
                }
                nth(b, rng.below(n)).map(|(_, e)| e)
            }
            SetRef::Big(s) => s.random(rng).map(Elem::Bytes),
        }
    }

    /// Every member, in the encoding's order (for a small set, or to index a packed one).
    pub fn to_elems(&self) -> Vec<Elem<'a>> {
        let mut v = Vec::new();
        self.for_each(|e| v.push(e));
        v
    }
}

// ---------------------------------------------------------------------------------------
// Owned working copy.
// ---------------------------------------------------------------------------------------

/// A set being built or changed, in any encoding.
#[derive(Debug, Clone)]
pub enum SetValue {
    /// `intset`: packed integers in ascending order, and how many.
    Ints(Vec<u8>, usize),
    /// `listpack`: packed members in insertion order, and how many.
    Pack(Vec<u8>, usize),
    /// `hashtable`.
    Big(Set),
}

impl SetValue {
    /// An empty `intset`.
    pub fn new_ints() -> Self {
        SetValue::Ints(Vec::new(), 0)
    }

    /// An empty `listpack`.
    pub fn new_pack() -> Self {
        SetValue::Pack(Vec::new(), 0)
    }

    /// The empty set that will receive `first` and about `hint` members in all (Redis's
    /// setTypeCreate): an `intset` if `first` is an integer and `hint` fits one, else a
    /// `listpack` if `hint` fits one, else a `hashtable`.
    pub fn create(first: &[u8], hint: usize, lim: &Limits) -> Self {
        if parse_i64_strict(first).is_some() && hint <= lim.intset_entries {
            SetValue::new_ints()
        } else if hint <= lim.listpack_entries {
            SetValue::new_pack()
        } else {
            SetValue::Big(Set::new())
        }
    }

    /// A copy of a stored set, in the same encoding.
    pub fn from_ref(r: SetRef) -> Self {
        match r {
            SetRef::Ints(b) => SetValue::Ints(b.to_vec(), packed::count(b)),
            SetRef::Pack(b) => SetValue::Pack(b.to_vec(), packed::count(b)),
            SetRef::Big(s) => SetValue::Big(s.clone()),
        }
    }

    /// A view of the set.
    pub fn as_ref(&self) -> SetRef<'_> {
        match self {
            SetValue::Ints(b, _) => SetRef::Ints(b),
            SetValue::Pack(b, _) => SetRef::Pack(b),
            SetValue::Big(s) => SetRef::Big(s),
        }
    }

    /// The name OBJECT ENCODING reports.
    pub fn encoding(&self) -> &'static str {
        self.as_ref().encoding()
    }

    /// Number of members.
    pub fn len(&self) -> usize {
        match self {
            SetValue::Ints(_, n) | SetValue::Pack(_, n) => *n,
            SetValue::Big(s) => s.len(),
        }
    }

    /// Whether the set has no member.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether `m` is a member.
    pub fn contains(&self, m: &[u8]) -> bool {
        self.as_ref().contains(m)
    }

    /// Convert to `hashtable` ahead of adding about `hint` members, when that many could not
    /// stay packed (Redis's setTypeMaybeConvert, run by SADD on an existing set).
    pub fn maybe_convert(&mut self, hint: usize, lim: &Limits) {
        let convert = match self {
            SetValue::Pack(..) => hint > lim.listpack_entries,
            SetValue::Ints(..) => hint > lim.intset_entries,
            SetValue::Big(_) => false,
        };
        if convert {
            self.to_big();
        }
    }

    /// Convert to `hashtable`.
    pub fn to_big(&mut self) {
        if let SetValue::Ints(b, _) | SetValue::Pack(b, _) = self {
            let mut s = Set::new();
            for (_, e) in packed::iter(b) {
                match e {
                    Elem::Bytes(m) => s.insert(m),
                    other => s.insert(&other.to_vec()),
                };
            }
            *self = SetValue::Big(s);
        }
    }

    /// Add `m`, converting the encoding as Redis 7.2's setTypeAddAux does; returns whether
    /// it was new.
    pub fn add(&mut self, m: &[u8], lim: &Limits) -> bool {
        match self {
            SetValue::Big(s) => s.insert(m),
            SetValue::Pack(buf, len) => {
                let e = packed::elem_of(m);
                if pack_find(buf, e).is_some() {
                    return false;
                }
                if *len < lim.listpack_entries
                    && m.len() <= lim.listpack_value
                    && buf.len() + packed::encoded_len(e) <= PACKED_MAX_BYTES
                {
                    packed::push(buf, e);
                    *len += 1;
                } else {
                    self.to_big();
                    self.add(m, lim);
                }
                true
            }
            SetValue::Ints(buf, len) => match parse_i64_strict(m) {
                Some(n) => match ints_find(buf, n) {
                    Ok(_) => false,
                    Err(at) => {
                        let mut enc = Vec::with_capacity(9);
                        packed::push(&mut enc, Elem::Int(n));
                        buf.splice(at..at, enc);
                        *len += 1;
                        if *len > lim.intset_max() || buf.len() > PACKED_MAX_BYTES {
                            self.to_big();
                        }
                        true
                    }
                },
                None => {
                    // A string joins: a listpack if everything fits one, else a hashtable.
                    let widest = first_last_int(buf).map_or(0, |(lo, hi)| int_len(lo).max(int_len(hi)));
                    if *len < lim.listpack_entries
                        && m.len() <= lim.listpack_value
                        && widest <= lim.listpack_value
                        && buf.len() + m.len() + 5 <= PACKED_MAX_BYTES
                    {
                        let n = *len + 1;
                        let mut b = std::mem::take(buf);
                        packed::push_str(&mut b, m);
                        *self = SetValue::Pack(b, n);
                    } else {
                        self.to_big();
                        self.add(m, lim);
                    }
                    true
                }
            },
        }
    }

    /// Remove `m`; returns whether it was a member. The encoding never changes.
    pub fn remove(&mut self, m: &[u8]) -> bool {
        match self {
            SetValue::Big(s) => s.remove(m),
            SetValue::Pack(buf, len) => match pack_find(buf, packed::elem_of(m)) {
                Some(off) => {
                    remove_at(buf, off);
                    *len -= 1;
                    true
                }
                None => false,
            },
            SetValue::Ints(buf, len) => match parse_i64_strict(m).map(|n| ints_find(buf, n)) {
                Some(Ok(off)) => {
                    remove_at(buf, off);
                    *len -= 1;
                    true
                }
                _ => false,
            },
        }
    }

    /// Remove and return a random member.
    pub fn pop_random(&mut self, rng: &mut Rng) -> Option<Vec<u8>> {
        match self {
            SetValue::Big(s) => s.pop_random(rng),
            SetValue::Ints(buf, len) | SetValue::Pack(buf, len) => {
                if *len == 0 {
                    return None;
                }
                let (off, e) = nth(buf, rng.below(*len))?;
                let m = e.to_vec();
                remove_at(buf, off);
                *len -= 1;
                Some(m)
            }
        }
    }

    /// Convert to `intset` if it holds only integers and few enough of them (Redis 7.2's
    /// maybeConvertToIntset, for SINTERSTORE's result).
    pub fn maybe_convert_to_intset(&mut self, lim: &Limits) {
        if matches!(self, SetValue::Ints(..)) || self.len() > lim.intset_max() {
            return;
        }
        let mut ints = Vec::with_capacity(self.len());
        let mut all = true;
        self.as_ref().for_each(|e| match e {
            Elem::Int(n) => ints.push(n),
            Elem::Bytes(b) => match parse_i64_strict(b) {
                Some(n) => ints.push(n),
                None => all = false,
            },
            Elem::Double(_) => all = false,
        });
        if !all {
            return;
        }
        ints.sort_unstable();
        ints.dedup();
        let mut buf = Vec::new();
        for &n in &ints {
            packed::push(&mut buf, Elem::Int(n));
        }
        if buf.len() <= PACKED_MAX_BYTES {
            *self = SetValue::Ints(buf, ints.len());
        }
    }

    /// Hand the set to `f` as a value to store in the keyspace.
    pub fn store<R>(self, f: impl FnOnce(NewValue<'_>) -> R) -> R {
        match self {
            SetValue::Ints(b, _) => f(NewValue::Packed(PackedKind::SetInts, &b)),
            SetValue::Pack(b, _) => f(NewValue::Packed(PackedKind::Set, &b)),
            SetValue::Big(s) => f(NewValue::Obj(Box::new(Object::Set(s)))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::table::Rng;
    use proptest::prelude::*;
    use std::collections::HashSet;

    fn members(r: SetRef) -> Vec<Vec<u8>> {
        let mut v = Vec::new();
        r.for_each(|e| v.push(e.to_vec()));
        v
    }

    fn sorted(r: SetRef) -> Vec<Vec<u8>> {
        let mut v = members(r);
        v.sort();
        v
    }

    #[test]
    fn big_set_insert_remove_contains_across_resizes() {
        let mut s = Set::new();
        for i in 0..5000u32 {
            assert!(s.insert(format!("m{i}").as_bytes()));
            assert!(!s.insert(format!("m{i}").as_bytes()));
        }
        assert_eq!(s.len(), 5000);
        for i in 0..5000u32 {
            assert!(s.contains(format!("m{i}").as_bytes()), "{i}");
        }
        assert!(!s.contains(b"nope"));
        for i in 0..4990u32 {
            assert!(s.remove(format!("m{i}").as_bytes()));
            assert!(!s.contains(format!("m{i}").as_bytes()));
        }
        assert!(!s.remove(b"m0"));
        assert_eq!(s.len(), 10);
        for i in 4990..5000u32 {
            assert!(s.contains(format!("m{i}").as_bytes()));
        }
        let c = s.clone();
        assert_eq!(c.len(), 10);
        assert_eq!(sorted(SetRef::Big(&c)), sorted(SetRef::Big(&s)));
    }

    #[test]
    fn long_members_and_empty_member() {
        let mut s = Set::new();
        let long = vec![b'x'; 1000];
        assert!(s.insert(&long));
        assert!(s.insert(b""));
        assert!(s.contains(&long));
        assert!(s.contains(b""));
        assert!(!s.contains(&long[..999]));
        assert_eq!(
            s.memory_usage(),
            size_class(std::mem::size_of::<Object>(), 8) + s.table.bucket_bytes() + s.bytes
        );
        assert!(s.remove(&long));
        assert_eq!(s.bytes, size_class(member_size(0), 1));
    }

    #[test]
    fn member_costs_one_small_allocation() {
        assert_eq!(size_class(member_size(7), 1), 16);
        assert_eq!(size_class(member_size(12), 1), 32);
    }

    #[test]
    fn scan_visits_everything_once_when_unchanged() {
        let mut s = Set::new();
        for i in 0..3000u32 {
            s.insert(&i.to_le_bytes());
        }
        // Leave a resize in flight.
        let mut seen = Vec::new();
        let mut c = 0;
        loop {
            c = s.scan(c, |m| seen.push(m.to_vec()));
            if c == 0 {
                break;
            }
        }
        assert_eq!(seen.len(), 3000);
        assert_eq!(seen.iter().collect::<HashSet<_>>().len(), 3000);
        let mut via_chunks = 0;
        let r = SetRef::Big(&s);
        let mut c = 0;
        loop {
            c = r.chunk(c, 100, |_| via_chunks += 1);
            if c == 0 {
                break;
            }
        }
        assert_eq!(via_chunks, 3000);
    }

    #[test]
    fn random_and_pop() {
        let mut rng = Rng::new(7);
        let mut s = Set::new();
        assert!(s.random(&mut rng).is_none());
        for i in 0..50u32 {
            s.insert(format!("{i}").as_bytes());
        }
        let mut seen = HashSet::new();
        for _ in 0..2000 {
            seen.insert(s.random(&mut rng).map(|m| m.to_vec()));
        }
        assert!(seen.len() > 45);
        let mut popped = HashSet::new();
        while let Some(m) = s.pop_random(&mut rng) {
            assert!(popped.insert(m));
        }
        assert_eq!(popped.len(), 50);
        assert!(s.is_empty());
    }

    #[test]
    fn intset_stays_sorted_and_converts_past_its_limit() {
        let lim = Limits { intset_entries: 5, ..Limits::default() };
        let mut v = SetValue::create(b"5", 1, &lim);
        assert_eq!(v.encoding(), "intset");
        for m in ["5", "-3", "100000", "7", "-3", "0"] {
            v.add(m.as_bytes(), &lim);
        }
        assert_eq!(v.encoding(), "intset");
        assert_eq!(members(v.as_ref()), ["-3", "0", "5", "7", "100000"].map(|s| s.as_bytes().to_vec()));
        assert!(v.contains(b"7") && !v.contains(b"07") && !v.contains(b"8"));
        assert!(v.add(b"9", &lim));
        assert_eq!(v.encoding(), "hashtable");
        assert_eq!(v.len(), 6);
    }

    #[test]
    fn intset_to_listpack_keeps_ascending_order_then_appends() {
        let lim = Limits::default();
        let mut v = SetValue::new_ints();
        for m in ["3", "1", "2"] {
            v.add(m.as_bytes(), &lim);
        }
        assert!(v.add(b"a", &lim));
        assert_eq!(v.encoding(), "listpack");
        assert_eq!(members(v.as_ref()), ["1", "2", "3", "a"].map(|s| s.as_bytes().to_vec()));
        assert!(!v.add(b"2", &lim));
        assert!(v.add(b"0", &lim));
        assert_eq!(members(v.as_ref()).last().map(|m| m.as_slice()), Some(&b"0"[..]));
    }

    #[test]
    fn intset_with_wide_integers_goes_to_hashtable_on_a_string() {
        let lim = Limits { listpack_value: 3, ..Limits::default() };
        let mut v = SetValue::new_ints();
        v.add(b"12345", &lim);
        v.add(b"ab", &lim);
        assert_eq!(v.encoding(), "hashtable");
        let mut v = SetValue::new_ints();
        v.add(b"12", &lim);
        v.add(b"ab", &lim);
        assert_eq!(v.encoding(), "listpack");
        v.add(b"abcd", &lim);
        assert_eq!(v.encoding(), "hashtable");
    }

    #[test]
    fn listpack_limits() {
        let lim = Limits { listpack_entries: 3, ..Limits::default() };
        let mut v = SetValue::create(b"a", 1, &lim);
        assert_eq!(v.encoding(), "listpack");
        for m in ["a", "b", "c"] {
            v.add(m.as_bytes(), &lim);
        }
        assert_eq!(v.encoding(), "listpack");
        assert!(v.remove(b"b"));
        assert!(v.add(b"d", &lim));
        assert_eq!(v.encoding(), "listpack");
        assert!(v.add(b"e", &lim));
        assert_eq!(v.encoding(), "hashtable");
        assert_eq!(sorted(v.as_ref()), ["a", "c", "d", "e"].map(|s| s.as_bytes().to_vec()));
        let long = vec![b'x'; 65];
        let mut v = SetValue::create(b"a", 1, &Limits::default());
        v.add(&long, &Limits::default());
        assert_eq!(v.encoding(), "hashtable");
    }

    #[test]
    fn create_and_maybe_convert_follow_the_size_hint() {
        let lim = Limits::default();
        assert_eq!(SetValue::create(b"1", 512, &lim).encoding(), "intset");
        assert_eq!(SetValue::create(b"1", 513, &lim).encoding(), "hashtable");
        assert_eq!(SetValue::create(b"a", 128, &lim).encoding(), "listpack");
        assert_eq!(SetValue::create(b"a", 129, &lim).encoding(), "hashtable");
        let small = Limits { intset_entries: 10, ..lim };
        assert_eq!(SetValue::create(b"1", 12, &small).encoding(), "listpack");
        let mut v = SetValue::new_pack();
        v.maybe_convert(128, &lim);
        assert_eq!(v.encoding(), "listpack");
        v.maybe_convert(129, &lim);
        assert_eq!(v.encoding(), "hashtable");
        let mut v = SetValue::new_ints();
        v.maybe_convert(513, &lim);
        assert_eq!(v.encoding(), "hashtable");
    }

    #[test]
    fn convert_to_intset() {
        let lim = Limits::default();
        let mut v = SetValue::Big(Set::new());
        for m in ["3", "-1", "2"] {
            v.add(m.as_bytes(), &lim);
        }
        v.maybe_convert_to_intset(&lim);
        assert_eq!(v.encoding(), "intset");
        assert_eq!(members(v.as_ref()), ["-1", "2", "3"].map(|s| s.as_bytes().to_vec()));
        let mut v = SetValue::new_pack();
        v.add(b"x", &lim);
        v.maybe_convert_to_intset(&lim);
        assert_eq!(v.encoding(), "listpack");
    }

    #[test]
    fn chunks_of_packed_sets() {
        let lim = Limits::default();
        let mut v = SetValue::new_pack();
        for i in 0..10 {
            v.add(format!("m{i}").as_bytes(), &lim);
        }
        let r = v.as_ref();
        let mut got = Vec::new();
        let mut c = r.chunk(0, 3, |e| got.push(e.to_vec()));
        assert_ne!(c, 0);
        while c != 0 {
            c = r.chunk(c, 3, |e| got.push(e.to_vec()));
        }
        assert_eq!(got, members(r));
        assert_eq!(SetRef::Pack(&[]).chunk(0, 3, |_| panic!("empty")), 0);
    }

    #[test]
    fn store_produces_the_matching_value() {
        let lim = Limits::default();
        let mut v = SetValue::new_ints();
        v.add(b"1", &lim);
        v.clone().store(|nv| assert!(matches!(nv, NewValue::Packed(PackedKind::SetInts, _))));
        v.add(b"a", &lim);
        v.clone().store(|nv| assert!(matches!(nv, NewValue::Packed(PackedKind::Set, _))));
        v.to_big();
        v.store(|nv| assert!(matches!(nv, NewValue::Obj(_))));
    }

    #[derive(Debug, Clone)]
    enum Op {
        Add(String),
        Remove(String),
        Pop,
    }

    fn member_strategy() -> impl Strategy<Value = String> {
        prop_oneof![
            (-40i64..40).prop_map(|n| n.to_string()),
            "[a-c]{0,3}",
            Just("007".to_string()),
            Just("-0".to_string()),
            (0usize..12).prop_map(|n| "z".repeat(n)),
            any::<i64>().prop_map(|n| n.to_string()),
        ]
    }

    fn op_strategy() -> impl Strategy<Value = Op> {
        prop_oneof![
            4 => member_strategy().prop_map(Op::Add),
            2 => member_strategy().prop_map(Op::Remove),
            1 => Just(Op::Pop),
        ]
    }

    fn check_invariants(v: &SetValue, lim: &Limits, model: &HashSet<Vec<u8>>) {
        assert_eq!(v.len(), model.len());
        let got: HashSet<Vec<u8>> = members(v.as_ref()).into_iter().collect();
        assert_eq!(&got, model);
        match v {
            SetValue::Ints(b, n) => {
                assert_eq!(packed::count(b), *n);
                assert!(*n <= lim.intset_entries);
                let ints: Vec<i64> = packed::iter(b)
                    .map(|(_, e)| match e {
                        Elem::Int(i) => i,
                        _ => panic!("non-integer in an intset"),
                    })
                    .collect();
                assert!(ints.windows(2).all(|w| w[0] < w[1]), "intset not sorted: {ints:?}");
            }
            SetValue::Pack(b, n) => {
                assert_eq!(packed::count(b), *n);
                assert!(*n <= lim.listpack_entries);
                for (_, e) in packed::iter(b) {
                    assert!(e.to_vec().len() <= lim.listpack_value);
                }
            }
            SetValue::Big(s) => assert_eq!(s.len(), model.len()),
        }
        for m in model {
            assert!(v.contains(m));
        }
    }

    proptest! {
        #[test]
        fn behaves_like_a_hash_set(
            first in member_strategy(),
            ops in proptest::collection::vec(op_strategy(), 0..120),
            intset_entries in 0usize..12,
            listpack_entries in 0usize..12,
            listpack_value in 0usize..8,
            seed in any::<u64>(),
        ) {
            let lim = Limits { intset_entries, listpack_entries, listpack_value };
            let mut rng = Rng::new(seed);
            let mut v = SetValue::create(first.as_bytes(), 1, &lim);
            let mut model: HashSet<Vec<u8>> = HashSet::new();
            let mut was_big = false;
            for op in ops {
                match op {
                    Op::Add(m) => {
                        let new = model.insert(m.clone().into_bytes());
                        prop_assert_eq!(v.add(m.as_bytes(), &lim), new);
                    }
                    Op::Remove(m) => {
                        let had = model.remove(m.as_bytes());
                        prop_assert_eq!(v.remove(m.as_bytes()), had);
                    }
                    Op::Pop => {
                        match v.pop_random(&mut rng) {
                            Some(m) => prop_assert!(model.remove(&m)),
                            None => prop_assert!(model.is_empty()),
                        }
                    }
                }
                // A hashtable never converts back by itself.
                if was_big {
                    prop_assert_eq!(v.encoding(), "hashtable");
                }
                was_big = v.encoding() == "hashtable";
                check_invariants(&v, &lim, &model);
            }
        }
    }
}
