//! The keyspace entry: one heap allocation holding the chain link, the LRU/LFU bits, the
//! flags, the expire time, the key and (for strings) the value itself.
//!
//! ```text
//! 0   next      8 bytes   intrusive chain link of the table bucket
//! 8   lru       4 bytes   LRU clock (10 ms units) or LFU data (see lru.rs)
//! 12  flags     1 byte    bit 0: has expire; bits 1-3: payload kind
//! 13  [expire   8 bytes   absolute unix ms, only with the expire flag
//!      vidx     4 bytes]  index in the stripe's volatile list, only with the expire flag
//!     keylen    1 or 5    < 255 in one byte, else 0xFF and a u32
//!     key       keylen bytes
//!     payload   Int: i64 | Inline: len (1 or 5) + bytes | Heap: Box<Vec<u8>> | Obj: Box<Object>
//!               | Packed: kind (1) + len (1 or 5) + packed elements (a small collection)
//! ```
//! A 14-byte key with a 32-byte value takes 61 bytes: one 64-byte size class, where Redis
//! spends a dict entry, two objects and an sds. All fields are read and written unaligned.
//! This module is the only place that knows the layout; everything here is `unsafe` to call
//! with anything but a pointer it produced and that has not been freed.

use std::alloc::{alloc, dealloc, handle_alloc_error, Layout};
use std::ptr::{self, NonNull};

use crate::object::Object;
use crate::value::PackedKind;

const OFF_LRU: usize = 8;
const OFF_FLAGS: usize = 12;
const HEADER: usize = 13;
const EXPIRE_LEN: usize = 12;

const F_EXPIRE: u8 = 1;
const KIND_SHIFT: u8 = 1;
const KIND_MASK: u8 = 0b1110;

const KIND_INT: u8 = 0;
const KIND_INLINE: u8 = 1;
const KIND_HEAP: u8 = 2;
const KIND_OBJ: u8 = 3;
const KIND_PACKED: u8 = 4;

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

#[inline]
fn len_prefix(n: usize) -> usize {
    if n < 255 {
        1
    } else {
        5
    }
}

#[inline]
unsafe fn write_len(p: *mut u8, n: usize) -> usize {
    if n < 255 {
        *p = n as u8;
        1
    } else {
        *p = 255;
        ptr::write_unaligned(p.add(1) as *mut u32, n as u32);
        5
    }
}

#[inline]
unsafe fn read_len(p: *const u8) -> (usize, usize) {
    let b = *p;
    if b < 255 {
        (b as usize, 1)
    } else {
        (ptr::read_unaligned(p.add(1) as *const u32) as usize, 5)
    }
}

fn payload_size(p: &Payload) -> usize {
    match p {
        Payload::Int(_) | Payload::Heap(_) | Payload::Obj(_) => 8,
        Payload::Inline(b) => len_prefix(b.len()) + b.len(),
        Payload::Packed(_, b) => 1 + len_prefix(b.len()) + b.len(),
    }
}

fn layout(size: usize) -> Layout {
    // 8-byte alignment: the size always fits an isize, so this cannot fail.
    Layout::from_size_align(size, 8).unwrap_or(Layout::new::<u64>())
}

/// Allocate an entry. `expire` is `(unix ms, volatile index)`.
pub(crate) fn create(key: &[u8], payload: Payload, expire: Option<(i64, u32)>, lru: u32) -> EntryPtr {
    let size = HEADER
        + if expire.is_some() { EXPIRE_LEN } else { 0 }
        + len_prefix(key.len())
        + key.len()
        + payload_size(&payload);
    let lay = layout(size);
    // SAFETY: the size is non-zero; every byte written below lies within `size`.
    unsafe {
        let p = alloc(lay);
        if p.is_null() {
            handle_alloc_error(lay);
        }
        ptr::write_unaligned(p as *mut usize, 0);
        ptr::write_unaligned(p.add(OFF_LRU) as *mut u32, lru);
        let kind = match payload {
            Payload::Int(_) => KIND_INT,
            Payload::Inline(_) => KIND_INLINE,
            Payload::Heap(_) => KIND_HEAP,
            Payload::Obj(_) => KIND_OBJ,
            Payload::Packed(..) => KIND_PACKED,
        };
        let mut flags = kind << KIND_SHIFT;
        let mut off = HEADER;
        if let Some((when, vidx)) = expire {
            flags |= F_EXPIRE;
            ptr::write_unaligned(p.add(off) as *mut i64, when);
            ptr::write_unaligned(p.add(off + 8) as *mut u32, vidx);
            off += EXPIRE_LEN;
        }
        *p.add(OFF_FLAGS) = flags;
        off += write_len(p.add(off), key.len());
        ptr::copy_nonoverlapping(key.as_ptr(), p.add(off), key.len());
        off += key.len();
        match payload {
            Payload::Int(n) => ptr::write_unaligned(p.add(off) as *mut i64, n),
            Payload::Inline(b) => {
                off += write_len(p.add(off), b.len());
                ptr::copy_nonoverlapping(b.as_ptr(), p.add(off), b.len());
            }
            Payload::Heap(h) => ptr::write_unaligned(p.add(off) as *mut *mut Vec<u8>, Box::into_raw(h)),
            Payload::Obj(o) => ptr::write_unaligned(p.add(off) as *mut *mut Object, Box::into_raw(o)),
            Payload::Packed(k, b) => {
                *p.add(off) = k as u8;
                off += 1;
                off += write_len(p.add(off), b.len());
                ptr::copy_nonoverlapping(b.as_ptr(), p.add(off), b.len());
            }
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

#[inline]
pub(crate) unsafe fn lru(p: EntryPtr) -> u32 {
    ptr::read_unaligned(p.as_ptr().add(OFF_LRU) as *const u32)
}

#[inline]
pub(crate) unsafe fn set_lru(p: EntryPtr, v: u32) {
    ptr::write_unaligned(p.as_ptr().add(OFF_LRU) as *mut u32, v)
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

/// The key. The returned slice lives as long as the entry; callers pick the lifetime.
#[inline]
pub(crate) unsafe fn key<'a>(p: EntryPtr) -> &'a [u8] {
    let off = key_offset(p);
    let (len, n) = read_len(p.as_ptr().add(off));
    std::slice::from_raw_parts(p.as_ptr().add(off + n), len)
}

#[inline]
unsafe fn payload_offset(p: EntryPtr) -> usize {
    let off = key_offset(p);
    let (len, n) = read_len(p.as_ptr().add(off));
    off + n + len
}

/// The value, borrowed.
pub(crate) unsafe fn payload<'a>(p: EntryPtr) -> PayloadRef<'a> {
    let at = p.as_ptr().add(payload_offset(p));
    match kind(p) {
        KIND_INT => PayloadRef::Int(ptr::read_unaligned(at as *const i64)),
        KIND_INLINE => {
            let (len, n) = read_len(at);
            PayloadRef::Inline(std::slice::from_raw_parts(at.add(n), len))
        }
        KIND_HEAP => PayloadRef::Heap(&*ptr::read_unaligned(at as *const *const Vec<u8>)),
        KIND_PACKED => {
            let (len, n) = read_len(at.add(1));
            PayloadRef::Packed(PackedKind::from_u8(*at), std::slice::from_raw_parts(at.add(1 + n), len))
        }
        _ => PayloadRef::Obj(&*ptr::read_unaligned(at as *const *const Object)),
    }
}

/// Overwrite the integer of an `int` string; false if the entry holds something else.
pub(crate) unsafe fn set_int_in_place(p: EntryPtr, n: i64) -> bool {
    if kind(p) != KIND_INT {
        return false;
    }
    ptr::write_unaligned(p.as_ptr().add(payload_offset(p)) as *mut i64, n);
    true
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
    let at = payload_offset(p);
    at + match kind(p) {
        KIND_INLINE => {
            let (len, n) = read_len(p.as_ptr().add(at));
            len + n
        }
        KIND_PACKED => {
            let (len, n) = read_len(p.as_ptr().add(at + 1));
            1 + len + n
        }
        _ => 8,
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

/// Free the entry and its value.
pub(crate) unsafe fn free(p: EntryPtr) {
    drop(into_payload(p));
}

/// A copy of the entry with another value and/or expire (same key and LRU). The old entry
/// is freed; its value is dropped unless `payload` moved it.
pub(crate) unsafe fn rebuild(p: EntryPtr, payload: Payload, expire: Option<(i64, u32)>) -> EntryPtr {
    let moved_heap = matches!(payload, Payload::Heap(_) | Payload::Obj(_));
    let new = create(key(p), payload, expire, lru(p));
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
    let new = create(key(p), new_payload, expire, lru(p));
    set_next(new, next(p));
    dealloc(p.as_ptr(), layout(alloc_size(p)));
    new
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_string_fits_one_64_byte_class() {
        let k = b"key:0000000001";
        let val = [b'x'; 32];
        let p = create(k, Payload::Inline(&val), None, 7);
        unsafe {
            assert_eq!(alloc_size(p), 61);
            assert_eq!(key(p), k);
            assert!(matches!(payload(p), PayloadRef::Inline(v) if v == val));
            assert_eq!(lru(p), 7);
            assert_eq!(expire(p), None);
            let q = with_expire(p, Some((1234, 9)));
            assert_eq!(expire(q), Some(1234));
            assert_eq!(volatile_index(q), 9);
            assert_eq!(key(q), k);
            let r = rebuild(q, Payload::Heap(Box::new(vec![1; 300])), None);
            assert!(matches!(payload(r), PayloadRef::Heap(v) if v.len() == 300));
            let long_key = vec![b'k'; 1000];
            let s = create(&long_key, Payload::Int(-5), Some((1, 2)), 0);
            assert_eq!(key(s), &long_key[..]);
            assert!(matches!(payload(s), PayloadRef::Int(-5)));
            free(r);
            free(s);
        }
    }
}
