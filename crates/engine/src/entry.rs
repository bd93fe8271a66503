//! The keyspace entry: one heap allocation holding the chain link, the LRU/LFU bits, the
//! flags, the expire time, the key and (for strings and small collections) the value itself.
//!
//! ```text
//! 0   next      8 bytes   intrusive chain link of the table bucket
//! 8   lru       4 bytes   bits 0-30: LRU clock (10 ms units) or LFU data (see lru.rs);
//!                         bit 31: the snapshot mark (see `Stripe` in stripe.rs)
//! 12  flags     1 byte    bit 0: has expire; bits 1-3: payload kind (string, heap string,
//!                         object, or one of the five packed kinds); bits 4-7: the key's
//!                         length when it is 1..=15 bytes, else 0 and a keylen field follows
//! 13  [expire   8 bytes   absolute unix ms, only with the expire flag
//!      vidx     4 bytes]  index in the stripe's volatile list, only with the expire flag
//!     [keylen   varlen]   only for keys that are empty or longer than 15 bytes
//!     key       keylen bytes
//!     payload   String: varlen + bytes, or an integer marker + 1..=8 bytes
//!               | Heap: Box<Vec<u8>> | Obj: Box<Object>
//!               | Packed: varlen + packed elements (a small collection; format in packed.rs)
//! ```
//! A varlen is one byte for 0..=245, 0xF6 and a u16, or 0xF7 and a u32. In a string payload
//! the first byte 0xF8 + w - 1 instead marks an integer stored in w = 1..=8 bytes (little
//! endian, sign-extended). A 14-byte key with a 32-byte value takes 60 bytes: one 64-byte
//! size class, where Redis spends a dict entry, two objects and an sds; a sorted set of ten
//! 8-byte members with small integer scores under that key takes 128. All fields are read
//! and written unaligned. This module is the only place that knows the layout; everything
//! here is `unsafe` to call with anything but a pointer it produced and that has not been
//! freed.

use std::alloc::{alloc, dealloc, handle_alloc_error, Layout};
use std::ptr::{self, NonNull};

use crate::object::Object;
use crate::packed;
use crate::value::PackedKind;

const OFF_LRU: usize = 8;
const OFF_FLAGS: usize = 12;
const HEADER: usize = 13;
const EXPIRE_LEN: usize = 12;

const F_EXPIRE: u8 = 1;
const KIND_SHIFT: u8 = 1;
const KIND_MASK: u8 = 0b1110;
const KEYLEN_SHIFT: u8 = 4;
/// Longest key whose length lives in the flags byte.
const FLAGS_KEYLEN_MAX: usize = 15;

/// A string (inline bytes or an integer).
const KIND_STR: u8 = 0;
const KIND_HEAP: u8 = 1;
const KIND_OBJ: u8 = 2;
/// `KIND_PACKED_BASE + k` is a packed collection of `PackedKind` k (1..=5).
const KIND_PACKED_BASE: u8 = 2;

/// Largest length a varlen holds in its first byte.
const LEN_SHORT_MAX: usize = 0xF5;
const LEN_U16: u8 = 0xF6;
const LEN_U32: u8 = 0xF7;
/// `INT_MARKER_BASE + w` (w = 1..=8) starts a string payload that is an integer of w bytes.
const INT_MARKER_BASE: u8 = 0xF7;

/// A raw pointer to an entry.
pub(crate) type EntryPtr = NonNull<u8>;

/// How the keyspace table finds an entry's key.
pub(crate) struct EntryKey;

impl crate::table::ChainKey for EntryKey {
    unsafe fn key<'a>(e: EntryPtr) -> &'a [u8] {
        key(e)
    }
}

/// A value on its way into an entry.
#[allow(clippy::box_collection)]
pub(crate) enum Payload<'a> {
    Int(i64),
    Inline(&'a [u8]),
    Heap(Box<Vec<u8>>),
    Obj(Box<Object>),
    Packed(PackedKind, &'a [u8]),
}

impl Payload<'_> {
    /// A view of the value, as the entry it goes into will show it.
    pub(crate) fn as_ref(&self) -> PayloadRef<'_> {
        match self {
            Payload::Int(n) => PayloadRef::Int(*n),
            Payload::Inline(b) => PayloadRef::Inline(b),
            Payload::Heap(h) => PayloadRef::Heap(h),
            Payload::Obj(o) => PayloadRef::Obj(o),
            Payload::Packed(k, b) => PayloadRef::Packed(*k, b),
        }
    }
}

/// A borrowed view of an entry's value.
pub(crate) enum PayloadRef<'a> {
    Int(i64),
    Inline(&'a [u8]),
    Heap(&'a Vec<u8>),
    Obj(&'a Object),
    Packed(PackedKind, &'a [u8]),
}

/// A value taken out of an entry (the entry itself is gone). Heap strings stay boxed: the
/// entry stores them behind one thin pointer.
#[allow(clippy::box_collection)]
pub enum OwnedPayload {
    /// An integer-encoded string.
    Int(i64),
    /// A string that was stored inline.
    Bytes(Vec<u8>),
    /// A string that had its own growable buffer.
    Heap(Box<Vec<u8>>),
    /// A collection in its big encoding.
    Obj(Box<Object>),
    /// A small collection in packed form.
    Packed(PackedKind, Vec<u8>),
}

impl OwnedPayload {
    pub(crate) fn into_payload<'a>(self, scratch: &'a mut Vec<u8>) -> Payload<'a> {
        match self {
            OwnedPayload::Int(n) => Payload::Int(n),
            OwnedPayload::Bytes(b) => {
                *scratch = b;
                Payload::Inline(scratch)
            }
            OwnedPayload::Heap(h) => Payload::Heap(h),
            OwnedPayload::Obj(o) => Payload::Obj(o),
            OwnedPayload::Packed(k, b) => {
                *scratch = b;
                Payload::Packed(k, scratch)
            }
        }
    }
}

/// Bytes of the varlen of `n`.
#[inline]
fn varlen_size(n: usize) -> usize {
    if n <= LEN_SHORT_MAX {
        1
    } else if n <= u16::MAX as usize {
        3
    } else {
        5
    }
}

/// Write the varlen of `n` at `p`; returns its size.
#[inline]
unsafe fn write_varlen(p: *mut u8, n: usize) -> usize {
    if n <= LEN_SHORT_MAX {
        *p = n as u8;
        1
    } else if let Ok(v) = u16::try_from(n) {
        *p = LEN_U16;
        ptr::write_unaligned(p.add(1) as *mut u16, v);
        3
    } else {
        *p = LEN_U32;
        ptr::write_unaligned(p.add(1) as *mut u32, n as u32);
        5
    }
}

/// The varlen at `p`: (value, its size).
#[inline]
unsafe fn read_varlen(p: *const u8) -> (usize, usize) {
    match *p {
        LEN_U16 => (ptr::read_unaligned(p.add(1) as *const u16) as usize, 3),
        LEN_U32 => (ptr::read_unaligned(p.add(1) as *const u32) as usize, 5),
        b => (b as usize, 1),
    }
}

/// The width of the integer a string payload at `p` holds, if it holds one.
#[inline]
unsafe fn int_marker_width(p: *const u8) -> Option<usize> {
    let b = *p;
    (b > INT_MARKER_BASE).then(|| (b - INT_MARKER_BASE) as usize)
}

/// The `w`-byte integer at `p`.
#[inline]
unsafe fn read_int_at(p: *const u8, w: usize) -> i64 {
    packed::read_int(std::slice::from_raw_parts(p, w), 0, w).unwrap_or(0)
}

/// Write `n` in its `w` low bytes at `p`.
#[inline]
unsafe fn write_int_at(p: *mut u8, n: i64, w: usize) {
    ptr::copy_nonoverlapping(n.to_le_bytes().as_ptr(), p, w);
}

fn payload_size(p: &Payload) -> usize {
    match p {
        Payload::Heap(_) | Payload::Obj(_) => 8,
        Payload::Int(n) => 1 + packed::int_width(*n),
        Payload::Inline(b) | Payload::Packed(_, b) => varlen_size(b.len()) + b.len(),
    }
}

fn kind_of(p: &Payload) -> u8 {
    match p {
        Payload::Int(_) | Payload::Inline(_) => KIND_STR,
        Payload::Heap(_) => KIND_HEAP,
        Payload::Obj(_) => KIND_OBJ,
        Payload::Packed(k, _) => KIND_PACKED_BASE + *k as u8,
    }
}

/// Whether the key's length goes in the flags byte (no keylen field).
#[inline]
fn keylen_in_flags(len: usize) -> bool {
    (1..=FLAGS_KEYLEN_MAX).contains(&len)
}

fn layout(size: usize) -> Layout {
    // 8-byte alignment: the size always fits an isize, so this cannot fail.
    Layout::from_size_align(size, 8).unwrap_or(Layout::new::<u64>())
}

/// Bytes of an entry for `key` holding `payload`, with an expire time or not.
fn entry_size(key: &[u8], payload: &Payload, with_expire: bool) -> usize {
    HEADER
        + if with_expire { EXPIRE_LEN } else { 0 }
        + if keylen_in_flags(key.len()) { 0 } else { varlen_size(key.len()) }
        + key.len()
        + payload_size(payload)
}

/// Allocate `size` bytes for an entry.
fn alloc_entry(size: usize) -> NonNull<u8> {
    let lay = layout(size);
    // SAFETY: the size is non-zero.
    NonNull::new(unsafe { alloc(lay) }).unwrap_or_else(|| handle_alloc_error(lay))
}

/// The memory of an entry about to be created, allocated ahead and being loaded for writing
/// meanwhile: a slot freed by an eviction anywhere in the heap is rarely in cache, and writing
/// the entry would otherwise wait for its lines. Freed if dropped unused.
pub(crate) struct Reserved {
    p: NonNull<u8>,
    size: usize,
}

impl Reserved {
    /// Memory for an entry of `key` holding `payload`, with an expire time or not.
    pub(crate) fn new(key: &[u8], payload: &Payload, with_expire: bool) -> Reserved {
        let size = entry_size(key, payload, with_expire);
        let p = alloc_entry(size);
        for line in (0..size).step_by(64) {
            crate::table::prefetch_write(p.as_ptr().wrapping_add(line));
        }
        Reserved { p, size }
    }
}

impl Drop for Reserved {
    fn drop(&mut self) {
        // SAFETY: allocated by `alloc_entry` with this size, never handed out.
        unsafe { dealloc(self.p.as_ptr(), layout(self.size)) }
    }
}

/// Allocate an entry. `expire` is `(unix ms, volatile index)`; `word` is the access word
/// (access data and snapshot mark, see [`access_word_of`]).
pub(crate) fn create(key: &[u8], payload: Payload, expire: Option<(i64, u32)>, word: u32) -> EntryPtr {
    create_in(None, key, payload, expire, word)
}

/// [`create`] in the memory `reserved` for it, if any and of the right size (else it is freed).
pub(crate) fn create_in(
    reserved: Option<Reserved>,
    key: &[u8],
    payload: Payload,
    expire: Option<(i64, u32)>,
    word: u32,
) -> EntryPtr {
    let short_key = keylen_in_flags(key.len());
    let size = entry_size(key, &payload, expire.is_some());
    let p = match reserved {
        Some(r) if r.size == size => std::mem::ManuallyDrop::new(r).p,
        _ => alloc_entry(size),
    }
    .as_ptr();
    // SAFETY: `p` holds `size` bytes; every byte written below lies within them.
    unsafe {
        ptr::write_unaligned(p as *mut usize, 0);
        ptr::write_unaligned(p.add(OFF_LRU) as *mut u32, word);
        let mut flags = kind_of(&payload) << KIND_SHIFT;
        let mut off = HEADER;
        if let Some((when, vidx)) = expire {
            flags |= F_EXPIRE;
            ptr::write_unaligned(p.add(off) as *mut i64, when);
            ptr::write_unaligned(p.add(off + 8) as *mut u32, vidx);
            off += EXPIRE_LEN;
        }
        if short_key {
            flags |= (key.len() as u8) << KEYLEN_SHIFT;
        } else {
            off += write_varlen(p.add(off), key.len());
        }
        *p.add(OFF_FLAGS) = flags;
        ptr::copy_nonoverlapping(key.as_ptr(), p.add(off), key.len());
        off += key.len();
        match payload {
            Payload::Int(n) => {
                let w = packed::int_width(n);
                *p.add(off) = INT_MARKER_BASE + w as u8;
                write_int_at(p.add(off + 1), n, w);
            }
            Payload::Inline(b) | Payload::Packed(_, b) => {
                off += write_varlen(p.add(off), b.len());
                ptr::copy_nonoverlapping(b.as_ptr(), p.add(off), b.len());
            }
            Payload::Heap(h) => ptr::write_unaligned(p.add(off) as *mut *mut Vec<u8>, Box::into_raw(h)),
            Payload::Obj(o) => ptr::write_unaligned(p.add(off) as *mut *mut Object, Box::into_raw(o)),
        }
        NonNull::new_unchecked(p)
    }
}

#[inline]
pub(crate) unsafe fn next(p: EntryPtr) -> *mut u8 {
    ptr::read_unaligned(p.as_ptr() as *const *mut u8)
}

#[inline]
pub(crate) unsafe fn set_next(p: EntryPtr, n: *mut u8) {
    ptr::write_unaligned(p.as_ptr() as *mut *mut u8, n)
}

/// The snapshot mark in the access word.
const SNAP_MARK: u32 = 1 << 31;

/// The whole access word: the access data and the snapshot mark (what a rebuilt entry
/// carries over).
#[inline]
pub(crate) unsafe fn access_word(p: EntryPtr) -> u32 {
    ptr::read_unaligned(p.as_ptr().add(OFF_LRU) as *const u32)
}

#[inline]
unsafe fn set_access_word(p: EntryPtr, v: u32) {
    ptr::write_unaligned(p.as_ptr().add(OFF_LRU) as *mut u32, v)
}

/// The LRU/LFU access data.
#[inline]
pub(crate) unsafe fn lru(p: EntryPtr) -> u32 {
    access_word(p) & !SNAP_MARK
}

/// Replace the access data, keeping the snapshot mark.
#[inline]
pub(crate) unsafe fn set_lru(p: EntryPtr, v: u32) {
    set_access_word(p, (v & !SNAP_MARK) | (access_word(p) & SNAP_MARK))
}

/// The snapshot mark.
#[inline]
pub(crate) unsafe fn snap_mark(p: EntryPtr) -> bool {
    access_word(p) & SNAP_MARK != 0
}

/// Set the snapshot mark.
#[inline]
pub(crate) unsafe fn set_snap_mark(p: EntryPtr, mark: bool) {
    let w = access_word(p) & !SNAP_MARK;
    set_access_word(p, if mark { w | SNAP_MARK } else { w })
}

/// An access word of access data `lru` and snapshot mark `mark`, for [`create`].
#[inline]
pub(crate) fn access_word_of(lru: u32, mark: bool) -> u32 {
    (lru & !SNAP_MARK) | if mark { SNAP_MARK } else { 0 }
}

#[inline]
unsafe fn flags(p: EntryPtr) -> u8 {
    *p.as_ptr().add(OFF_FLAGS)
}

#[inline]
unsafe fn kind(p: EntryPtr) -> u8 {
    (flags(p) & KIND_MASK) >> KIND_SHIFT
}

/// The absolute expire time in unix milliseconds, if the entry has one.
#[inline]
pub(crate) unsafe fn expire(p: EntryPtr) -> Option<i64> {
    if flags(p) & F_EXPIRE != 0 {
        Some(ptr::read_unaligned(p.as_ptr().add(HEADER) as *const i64))
    } else {
        None
    }
}

/// Change the expire time of an entry that already has one.
pub(crate) unsafe fn set_expire_in_place(p: EntryPtr, when: i64) {
    debug_assert!(flags(p) & F_EXPIRE != 0);
    ptr::write_unaligned(p.as_ptr().add(HEADER) as *mut i64, when)
}

#[inline]
pub(crate) unsafe fn volatile_index(p: EntryPtr) -> u32 {
    ptr::read_unaligned(p.as_ptr().add(HEADER + 8) as *const u32)
}

#[inline]
pub(crate) unsafe fn set_volatile_index(p: EntryPtr, i: u32) {
    ptr::write_unaligned(p.as_ptr().add(HEADER + 8) as *mut u32, i)
}

#[inline]
unsafe fn key_offset(p: EntryPtr) -> usize {
    if flags(p) & F_EXPIRE != 0 {
        HEADER + EXPIRE_LEN
    } else {
        HEADER
    }
}

/// The key's offset and length.
#[inline]
unsafe fn key_span(p: EntryPtr) -> (usize, usize) {
    let off = key_offset(p);
    let short = (flags(p) >> KEYLEN_SHIFT) as usize;
    if short != 0 {
        (off, short)
    } else {
        let (len, n) = read_varlen(p.as_ptr().add(off));
        (off + n, len)
    }
}

/// The key. The returned slice lives as long as the entry; callers pick the lifetime.
#[inline]
pub(crate) unsafe fn key<'a>(p: EntryPtr) -> &'a [u8] {
    let (off, len) = key_span(p);
    std::slice::from_raw_parts(p.as_ptr().add(off), len)
}

#[inline]
unsafe fn payload_offset(p: EntryPtr) -> usize {
    let (off, len) = key_span(p);
    off + len
}

/// Size of a varlen at `at` and the bytes it counts.
#[inline]
unsafe fn varlen_total(at: *const u8) -> usize {
    let (len, n) = read_varlen(at);
    n + len
}

/// The bytes after a varlen at `at`.
#[inline]
unsafe fn varlen_bytes<'a>(at: *const u8) -> &'a [u8] {
    let (len, n) = read_varlen(at);
    std::slice::from_raw_parts(at.add(n), len)
}

/// The value, borrowed.
pub(crate) unsafe fn payload<'a>(p: EntryPtr) -> PayloadRef<'a> {
    let at = p.as_ptr().add(payload_offset(p));
    match kind(p) {
        KIND_STR => match int_marker_width(at) {
            Some(w) => PayloadRef::Int(read_int_at(at.add(1), w)),
            None => PayloadRef::Inline(varlen_bytes(at)),
        },
        KIND_HEAP => PayloadRef::Heap(&*ptr::read_unaligned(at as *const *const Vec<u8>)),
        KIND_OBJ => PayloadRef::Obj(&*ptr::read_unaligned(at as *const *const Object)),
        k => PayloadRef::Packed(PackedKind::from_u8(k - KIND_PACKED_BASE), varlen_bytes(at)),
    }
}

/// Overwrite the integer of an `int` string when it fits the bytes the entry keeps for it;
/// false if it does not or the entry holds something else.
pub(crate) unsafe fn set_int_in_place(p: EntryPtr, n: i64) -> bool {
    if kind(p) != KIND_STR {
        return false;
    }
    let at = p.as_ptr().add(payload_offset(p));
    match int_marker_width(at) {
        Some(w) if packed::int_width(n) <= w => {
            write_int_at(at.add(1), n, w);
            true
        }
        _ => false,
    }
}

/// The growable string buffer of a heap string, if that is what the entry holds.
pub(crate) unsafe fn heap_mut<'a>(p: EntryPtr) -> Option<&'a mut Vec<u8>> {
    if kind(p) != KIND_HEAP {
        return None;
    }
    let at = p.as_ptr().add(payload_offset(p));
    Some(&mut *ptr::read_unaligned(at as *const *mut Vec<u8>))
}

/// The object of a non-string entry.
pub(crate) unsafe fn obj_mut<'a>(p: EntryPtr) -> Option<&'a mut Object> {
    if kind(p) != KIND_OBJ {
        return None;
    }
    let at = p.as_ptr().add(payload_offset(p));
    Some(&mut *ptr::read_unaligned(at as *const *mut Object))
}

/// Size of the entry's own allocation (the value's separate buffers not included).
pub(crate) unsafe fn alloc_size(p: EntryPtr) -> usize {
    let off = payload_offset(p);
    let at = p.as_ptr().add(off);
    off + match kind(p) {
        KIND_HEAP | KIND_OBJ => 8,
        KIND_STR => match int_marker_width(at) {
            Some(w) => 1 + w,
            None => varlen_total(at),
        },
        _ => varlen_total(at),
    }
}

/// Free the entry and give its value back, owned.
pub(crate) unsafe fn into_payload(p: EntryPtr) -> OwnedPayload {
    let owned = match payload(p) {
        PayloadRef::Int(n) => OwnedPayload::Int(n),
        PayloadRef::Inline(b) => OwnedPayload::Bytes(b.to_vec()),
        PayloadRef::Heap(h) => OwnedPayload::Heap(Box::from_raw(h as *const Vec<u8> as *mut Vec<u8>)),
        PayloadRef::Obj(o) => OwnedPayload::Obj(Box::from_raw(o as *const Object as *mut Object)),
        PayloadRef::Packed(k, b) => OwnedPayload::Packed(k, b.to_vec()),
    };
    dealloc(p.as_ptr(), layout(alloc_size(p)));
    owned
}

/// Free the entry and its value (a value stored inline goes with the entry, uncopied).
pub(crate) unsafe fn free(p: EntryPtr) {
    match payload(p) {
        PayloadRef::Heap(h) => drop(Box::from_raw(h as *const Vec<u8> as *mut Vec<u8>)),
        PayloadRef::Obj(o) => drop(Box::from_raw(o as *const Object as *mut Object)),
        PayloadRef::Int(_) | PayloadRef::Inline(_) | PayloadRef::Packed(..) => {}
    }
    dealloc(p.as_ptr(), layout(alloc_size(p)));
}

/// A copy of the entry with another value and/or expire (same key and LRU), in the memory
/// `reserved` for it if any ([`create_in`]). The old entry is freed; its value is dropped
/// unless `payload` moved it.
pub(crate) unsafe fn rebuild(
    p: EntryPtr,
    payload: Payload,
    expire: Option<(i64, u32)>,
    reserved: Option<Reserved>,
) -> EntryPtr {
    let moved_heap = matches!(payload, Payload::Heap(_) | Payload::Obj(_));
    let new = create_in(reserved, key(p), payload, expire, access_word(p));
    set_next(new, next(p));
    if moved_heap {
        // The box now belongs to the new entry if it is the same one; only free the shell.
        let old_box = match self::payload(p) {
            PayloadRef::Heap(h) => Some(h as *const Vec<u8> as *const u8),
            PayloadRef::Obj(o) => Some(o as *const Object as *const u8),
            _ => None,
        };
        let new_box = match self::payload(new) {
            PayloadRef::Heap(h) => Some(h as *const Vec<u8> as *const u8),
            PayloadRef::Obj(o) => Some(o as *const Object as *const u8),
            _ => None,
        };
        if old_box.is_some() && old_box == new_box {
            dealloc(p.as_ptr(), layout(alloc_size(p)));
            return new;
        }
    }
    free(p);
    new
}

/// Replace the entry's payload with a copy of the current one (used to add or drop the
/// expire section).
pub(crate) unsafe fn with_expire(p: EntryPtr, expire: Option<(i64, u32)>) -> EntryPtr {
    let new_payload = match payload(p) {
        PayloadRef::Int(n) => Payload::Int(n),
        PayloadRef::Inline(b) => Payload::Inline(b),
        PayloadRef::Heap(h) => Payload::Heap(Box::from_raw(h as *const Vec<u8> as *mut Vec<u8>)),
        PayloadRef::Obj(o) => Payload::Obj(Box::from_raw(o as *const Object as *mut Object)),
        PayloadRef::Packed(k, b) => Payload::Packed(k, b),
    };
    let new = create(key(p), new_payload, expire, access_word(p));
    set_next(new, next(p));
    dealloc(p.as_ptr(), layout(alloc_size(p)));
    new
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_are_built_in_reserved_memory_of_their_size_only() {
        let k = b"key:0000000001";
        let reserved = Reserved::new(k, &Payload::Inline(b"value"), false);
        let at = reserved.p;
        let p = create_in(Some(reserved), k, Payload::Inline(b"value"), None, 3);
        assert_eq!(p, at);
        // A reservation of another size (here without the expire section) is not used.
        let reserved = Reserved::new(k, &Payload::Inline(b"value"), false);
        let q = create_in(Some(reserved), k, Payload::Inline(b"value"), Some((5, 0)), 4);
        unsafe {
            assert!(matches!(payload(p), PayloadRef::Inline(b"value")));
            assert_eq!((key(q), expire(q), lru(q)), (&k[..], Some(5), 4));
            free(p);
            free(q);
        }
    }

    #[test]
    fn small_string_fits_one_64_byte_class() {
        let k = b"key:0000000001";
        let val = [b'x'; 32];
        let p = create(k, Payload::Inline(&val), None, 7);
        unsafe {
            assert_eq!(alloc_size(p), 60);
            assert_eq!(key(p), k);
            assert!(matches!(payload(p), PayloadRef::Inline(v) if v == val));
            assert_eq!(lru(p), 7);
            assert_eq!(expire(p), None);
            let q = with_expire(p, Some((1234, 9)));
            assert_eq!(expire(q), Some(1234));
            assert_eq!(volatile_index(q), 9);
            assert_eq!(key(q), k);
            let r = rebuild(q, Payload::Heap(Box::new(vec![1; 300])), None, None);
            assert!(matches!(payload(r), PayloadRef::Heap(v) if v.len() == 300));
            let long_key = vec![b'k'; 1000];
            let s = create(&long_key, Payload::Int(-5), Some((1, 2)), 0);
            assert_eq!(key(s), &long_key[..]);
            assert!(matches!(payload(s), PayloadRef::Int(-5)));
            free(r);
            free(s);
        }
    }

    /// Every payload kind under `key`, with and without an expire: read back intact, and
    /// `alloc_size` is what `create` asked for.
    fn check_every_payload(name: &[u8]) {
        let long = vec![b'v'; 70_000];
        let packed_kinds =
            [PackedKind::List, PackedKind::Hash, PackedKind::SetInts, PackedKind::Set, PackedKind::ZSet];
        for expire in [None, Some((-5, 3))] {
            for len in [0, 1, 245, 246, 65_535, 65_536] {
                let p = create(name, Payload::Inline(&long[..len]), expire, 1);
                unsafe {
                    assert_eq!((key(p), self::expire(p)), (name, expire.map(|e| e.0)));
                    assert!(matches!(payload(p), PayloadRef::Inline(v) if v == &long[..len]), "{len}");
                    let want = HEADER
                        + expire.map_or(0, |_| EXPIRE_LEN)
                        + if keylen_in_flags(name.len()) { 0 } else { varlen_size(name.len()) }
                        + name.len()
                        + varlen_size(len)
                        + len;
                    assert_eq!(alloc_size(p), want);
                    free(p);
                }
            }
            for k in packed_kinds {
                let p = create(name, Payload::Packed(k, &long[..300]), expire, 2);
                unsafe {
                    assert!(matches!(payload(p), PayloadRef::Packed(got, b) if got == k && b.len() == 300));
                    assert_eq!(key(p), name);
                    free(p);
                }
            }
            for n in [0, -1, 127, 128, -129, 1 << 40, i64::MIN, i64::MAX] {
                let p = create(name, Payload::Int(n), expire, 3);
                unsafe {
                    assert!(matches!(payload(p), PayloadRef::Int(got) if got == n), "{n}");
                    assert_eq!(key(p), name);
                    free(p);
                }
            }
        }
    }

    #[test]
    fn every_key_length_and_payload_round_trips() {
        for len in [0, 1, 14, 15, 16, 245, 246, 300, 70_000] {
            check_every_payload(&vec![b'k'; len]);
        }
    }

    #[test]
    fn integers_take_their_width_and_change_in_place_while_they_fit() {
        let k = b"counter";
        let p = create(k, Payload::Int(5), None, 0);
        unsafe {
            assert_eq!(alloc_size(p), HEADER + k.len() + 2);
            assert!(set_int_in_place(p, -128));
            assert!(matches!(payload(p), PayloadRef::Int(-128)));
            assert!(!set_int_in_place(p, 128), "128 needs two bytes");
            assert!(matches!(payload(p), PayloadRef::Int(-128)));
            free(p);
            let q = create(k, Payload::Int(1 << 40), Some((9, 9)), 0);
            assert!(set_int_in_place(q, -7));
            assert!(matches!(payload(q), PayloadRef::Int(-7)));
            assert_eq!(alloc_size(q), HEADER + EXPIRE_LEN + k.len() + 1 + 6);
            free(q);
            let s = create(k, Payload::Inline(b"abc"), None, 0);
            assert!(!set_int_in_place(s, 1));
            free(s);
        }
    }

    #[test]
    fn small_sorted_set_fits_one_128_byte_class() {
        let mut buf = Vec::new();
        for i in 0..10 {
            crate::packed::push_str(&mut buf, format!("e{i:07}").as_bytes());
            crate::packed::push(&mut buf, crate::packed::Elem::Int(i));
        }
        let p = create(b"key:0000000000", Payload::Packed(PackedKind::ZSet, &buf), None, 0);
        unsafe {
            assert_eq!(alloc_size(p), 128);
            assert!(matches!(payload(p), PayloadRef::Packed(PackedKind::ZSet, b) if b == buf));
            free(p);
        }
    }
}
