//! The hash type in its big encoding, `hashtable` (small ones are packed inline in their
//! entry; see `crate::packed`).
//!
//! A big hash is a [`Table`] whose elements are single heap allocations holding the chain
//! link, the field and the value:
//!
//! ```text
//! 0   next     8 bytes   intrusive chain link of the table bucket
//! 8   flen     varint    field length (LEB128: one byte below 128)
//!     vlen     varint    value length
//!     field    flen bytes
//!     value    vlen bytes
//! ```
//! A 10-byte field with a 10-byte value takes 30 bytes (one 32-byte size class) plus 4 to 8
//! bytes of bucket, where Redis spends a 24-byte dict entry, two sds strings and 8 to 16
//! bytes of bucket. Lengths are read and written unaligned; the element module below is the
//! only code that knows the layout.

use std::fmt;

use crate::alloc::size_class;
use crate::table::{hash_key, ElemPtr, Rng, Table};

/// Raw field/value elements. Everything here is `unsafe` to call with anything but a
/// pointer `create` produced and that has not been freed.
mod elem {
    use std::alloc::{alloc, dealloc, handle_alloc_error, Layout};
    use std::ptr::{self, NonNull};

    use crate::table::{ChainKey, ElemPtr};

    /// Offset of the lengths, after the chain link.
    const LINK: usize = 8;

    /// How the table finds an element's field.
    pub(super) struct FieldKey;

    impl ChainKey for FieldKey {
        unsafe fn key<'a>(e: ElemPtr) -> &'a [u8] {
            parts(e).0
        }
    }

    fn varint_len(n: usize) -> usize {
        let mut len = 1;
        let mut v = n >> 7;
        while v != 0 {
            len += 1;
            v >>= 7;
        }
        len
    }

    unsafe fn write_varint(p: *mut u8, n: usize) -> usize {
        let mut v = n;
        let mut i = 0;
        loop {
            let b = (v & 0x7F) as u8;
            v >>= 7;
            if v == 0 {
                *p.add(i) = b;
                return i + 1;
            }
            *p.add(i) = b | 0x80;
            i += 1;
        }
    }

    unsafe fn read_varint(p: *const u8) -> (usize, usize) {
        let mut v = 0usize;
        let mut shift = 0;
        let mut i = 0;
        loop {
            let b = *p.add(i);
            v |= ((b & 0x7F) as usize) << shift;
            i += 1;
            if b & 0x80 == 0 {
                return (v, i);
            }
            shift += 7;
        }
    }

    /// Bytes an element for a field and value of these lengths takes.
    pub(super) fn size(flen: usize, vlen: usize) -> usize {
        LINK + varint_len(flen) + varint_len(vlen) + flen + vlen
    }

    fn layout(size: usize) -> Layout {
        // 8-byte alignment: the size of live slices always fits an isize, so this cannot fail.
        Layout::from_size_align(size, 8).unwrap_or(Layout::new::<u64>())
    }

    /// Allocate an element (its link is null).
    pub(super) fn create(field: &[u8], value: &[u8]) -> ElemPtr {
        let lay = layout(size(field.len(), value.len()));
        // SAFETY: the size is non-zero; every byte written below lies within it.
        unsafe {
            let p = alloc(lay);
            if p.is_null() {
                handle_alloc_error(lay);
            }
            ptr::write_unaligned(p as *mut usize, 0);
            let mut off = LINK;
            off += write_varint(p.add(off), field.len());
            off += write_varint(p.add(off), value.len());
            ptr::copy_nonoverlapping(field.as_ptr(), p.add(off), field.len());
            off += field.len();
            ptr::copy_nonoverlapping(value.as_ptr(), p.add(off), value.len());
            NonNull::new_unchecked(p)
        }
    }

    /// The field and the value; the slices live as long as the element (callers pick).
    #[inline]
    pub(super) unsafe fn parts<'a>(e: ElemPtr) -> (&'a [u8], &'a [u8]) {
        let p = e.as_ptr();
        let (flen, a) = read_varint(p.add(LINK));
        let (vlen, b) = read_varint(p.add(LINK + a));
        let f = p.add(LINK + a + b);
        (std::slice::from_raw_parts(f, flen), std::slice::from_raw_parts(f.add(flen), vlen))
    }

    /// The value, writable in place (same length only).
    pub(super) unsafe fn value_mut<'a>(e: ElemPtr) -> &'a mut [u8] {
        let p = e.as_ptr();
        let (flen, a) = read_varint(p.add(LINK));
        let (vlen, b) = read_varint(p.add(LINK + a));
        std::slice::from_raw_parts_mut(p.add(LINK + a + b + flen), vlen)
    }

    /// Size of the element's allocation as requested.
    pub(super) unsafe fn alloc_size(e: ElemPtr) -> usize {
        let (f, v) = parts(e);
        size(f.len(), v.len())
    }

    #[inline]
    pub(super) unsafe fn next(e: ElemPtr) -> *mut u8 {
        ptr::read_unaligned(e.as_ptr() as *const *mut u8)
    }

    #[inline]
    pub(super) unsafe fn set_next(e: ElemPtr, n: *mut u8) {
        ptr::write_unaligned(e.as_ptr() as *mut *mut u8, n)
    }

    /// Free an element.
    pub(super) unsafe fn free(e: ElemPtr) {
        dealloc(e.as_ptr(), layout(alloc_size(e)));
    }
}

use elem::FieldKey;

/// A hash too big to be packed: a chained table of field+value elements.
pub struct Hash {
    table: Table<FieldKey>,
    /// Bytes held by the elements, counted at their allocator size classes.
    elem_bytes: usize,
}

impl Default for Hash {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Hash").field("len", &self.len()).field("elem_bytes", &self.elem_bytes).finish()
    }
}

impl Clone for Hash {
    fn clone(&self) -> Self {
        let mut h = Hash::new();
        self.for_each(|f, v| {
            h.insert(f, v);
        });
        h
    }
}

impl Drop for Hash {
    fn drop(&mut self) {
        // SAFETY: drained elements are no longer reachable from the table.
        self.table.drain(|e| unsafe { elem::free(e) });
    }
}

/// Buckets of pending resize moved by each write. Redis moves one per operation; a few
/// more finish a resize well before the next one starts, so a hash spends less of its life
/// paying for two bucket arrays (at 10,000 fields: 6.5 bytes of bucket per field instead
/// of 9.8) and reads look in one table only.
const REHASH_STEPS: usize = 4;

fn class(size: usize) -> usize {
    size_class(size, 8)
}

impl Hash {
    /// An empty hash (allocates nothing).
    pub fn new() -> Self {
        Hash { table: Table::new(), elem_bytes: 0 }
    }

    /// The name OBJECT ENCODING reports.
    pub fn encoding(&self) -> &'static str {
        "hashtable"
    }

    /// Bytes allocated for the value (MEMORY USAGE): the object holding it, the bucket
    /// arrays and every element.
    pub fn memory_usage(&self) -> usize {
        class(std::mem::size_of::<crate::object::Object>()) + self.table.bucket_bytes() + self.elem_bytes
    }

    /// Number of fields.
    pub fn len(&self) -> usize {
        self.table.len()
    }

    /// Whether the hash has no field.
    pub fn is_empty(&self) -> bool {
        self.table.is_empty()
    }

    /// The element holding `field`, found without changing anything.
    fn lookup(&self, field: &[u8]) -> Option<ElemPtr> {
        self.table.get(field, hash_key(field))
    }

    /// The value of `field`.
    pub fn get(&self, field: &[u8]) -> Option<&[u8]> {
        // SAFETY: the element lives as long as `self` is borrowed.
        self.lookup(field).map(|e| unsafe { elem::parts(e) }.1)
    }

    /// Whether `field` exists.
    pub fn contains(&self, field: &[u8]) -> bool {
        self.lookup(field).is_some()
    }

    /// Set `field` to `value`; returns whether the field is new.
    pub fn insert(&mut self, field: &[u8], value: &[u8]) -> bool {
        self.table.rehash_step(REHASH_STEPS);
        let h = hash_key(field);
        match self.table.find(field, h) {
            // SAFETY: `old` is live and linked at `link`; the replacement takes over its
            // chain link before the old element is freed.
            Some((link, old)) => unsafe {
                let cur = elem::value_mut(old);
                if cur.len() == value.len() {
                    cur.copy_from_slice(value);
                    return false;
                }
                let new = elem::create(field, value);
                elem::set_next(new, elem::next(old));
                self.table.replace(link, new);
                self.elem_bytes -= class(elem::alloc_size(old));
                self.elem_bytes += class(elem::alloc_size(new));
                elem::free(old);
                false
            },
            None => {
                let e = elem::create(field, value);
                self.elem_bytes += class(elem::size(field.len(), value.len()));
                self.table.insert(e, h);
                true
            }
        }
    }

    /// Delete `field`; returns whether it existed.
    pub fn remove(&mut self, field: &[u8]) -> bool {
        self.table.rehash_step(REHASH_STEPS);
        match self.table.find(field, hash_key(field)) {
            // SAFETY: found just now, unlinked before being freed.
            Some((link, e)) => unsafe {
                self.table.unlink(link, e);
                self.elem_bytes -= class(elem::alloc_size(e));
                elem::free(e);
                true
            },
            None => false,
        }
    }

    /// Call `f` with every field and value (in table order).
    pub fn for_each<'a>(&'a self, mut f: impl FnMut(&'a [u8], &'a [u8])) {
        self.table.for_each(|e| {
            // SAFETY: the table hands out live elements, which live as long as `self`.
            let (k, v) = unsafe { elem::parts(e) };
            f(k, v)
        })
    }

    /// One HSCAN step from `cursor` (Redis's reverse-binary cursor): calls `f` with each
    /// field and value of the buckets visited. Returns the next cursor, 0 when done.
    pub fn scan<'a>(&'a self, cursor: u64, mut f: impl FnMut(&'a [u8], &'a [u8])) -> u64 {
        self.table.scan(cursor, |e| {
            // SAFETY: as in for_each.
            let (k, v) = unsafe { elem::parts(e) };
            f(k, v)
        })
    }

    /// A random field and its value (uniform bucket, then uniform within its chain).
    pub fn random(&self, rng: &mut Rng) -> Option<(&[u8], &[u8])> {
        // SAFETY: as in for_each.
        self.table.random(rng).map(|e| unsafe { elem::parts(e) })
    }

    /// Do up to `n` buckets of pending incremental rehashing; returns whether more is left.
    pub fn rehash_step(&mut self, n: usize) -> bool {
        self.table.rehash_step(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::table::Rng;
    use proptest::prelude::*;
    use std::collections::{BTreeMap, HashSet};

    fn collect(h: &Hash) -> BTreeMap<Vec<u8>, Vec<u8>> {
        let mut m = BTreeMap::new();
        h.for_each(|f, v| {
            assert!(m.insert(f.to_vec(), v.to_vec()).is_none(), "duplicate field");
        });
        m
    }

    #[test]
    fn insert_get_update_remove() {
        let mut h = Hash::new();
        assert!(h.is_empty());
        assert!(h.insert(b"f", b"v"));
        assert!(!h.insert(b"f", b"w"), "same length: in place");
        assert_eq!(h.get(b"f"), Some(&b"w"[..]));
        assert!(!h.insert(b"f", b"longer value"));
        assert_eq!(h.get(b"f"), Some(&b"longer value"[..]));
        assert!(h.insert(b"", b""));
        assert_eq!(h.get(b""), Some(&b""[..]));
        assert_eq!(h.len(), 2);
        assert!(h.contains(b"f"));
        assert!(!h.contains(b"g"));
        assert!(h.remove(b"f"));
        assert!(!h.remove(b"f"));
        assert_eq!(h.len(), 1);
        assert_eq!(h.encoding(), "hashtable");
    }

    #[test]
    fn long_fields_and_values_use_multi_byte_lengths() {
        let mut h = Hash::new();
        let f = vec![b'f'; 200];
        let v = vec![b'v'; 70_000];
        h.insert(&f, &v);
        h.insert(b"short", &f);
        assert_eq!(h.get(&f), Some(&v[..]));
        assert_eq!(h.get(b"short"), Some(&f[..]));
        assert_eq!(elem::size(200, 70_000), 8 + 2 + 3 + 200 + 70_000);
        assert_eq!(elem::size(10, 10), 30);
    }

    #[test]
    fn memory_usage_tracks_elements_exactly() {
        let mut h = Hash::new();
        let base = h.memory_usage();
        for i in 0..1000u32 {
            h.insert(format!("field:{i}").as_bytes(), b"0123456789");
        }
        let expected: usize =
            (0..1000u32).map(|i| size_class(elem::size(format!("field:{i}").len(), 10), 8)).sum::<usize>()
                + h.table.bucket_bytes()
                + base;
        assert_eq!(h.memory_usage(), expected);
        for i in 0..1000u32 {
            h.remove(format!("field:{i}").as_bytes());
        }
        assert_eq!(h.elem_bytes, 0);
    }

    #[test]
    fn lookups_work_while_rehashing() {
        let mut h = Hash::new();
        for i in 0..5000u32 {
            h.insert(&i.to_le_bytes(), &i.to_be_bytes());
            // Every element stays reachable from `&self` in the middle of a resize.
            if i % 97 == 0 {
                for j in 0..=i {
                    assert_eq!(h.get(&j.to_le_bytes()), Some(&j.to_be_bytes()[..]), "{j} after {i}");
                }
            }
        }
        for i in 0..4990u32 {
            h.remove(&i.to_le_bytes());
            if i % 331 == 0 {
                for j in i + 1..5000 {
                    assert!(h.contains(&j.to_le_bytes()));
                }
            }
        }
        assert_eq!(h.len(), 10);
    }

    #[test]
    fn clone_is_deep_and_scan_sees_everything() {
        let mut h = Hash::new();
        for i in 0..300u32 {
            h.insert(format!("f{i}").as_bytes(), format!("v{i}").as_bytes());
        }
        let c = h.clone();
        h.insert(b"f1", b"changed");
        h.remove(b"f2");
        assert_eq!(c.get(b"f1"), Some(&b"v1"[..]));
        assert_eq!(c.get(b"f2"), Some(&b"v2"[..]));
        assert_eq!(c.len(), 300);
        let mut seen = HashSet::new();
        let mut cursor = 0;
        loop {
            cursor = c.scan(cursor, |f, _| {
                seen.insert(f.to_vec());
            });
            if cursor == 0 {
                break;
            }
        }
        assert_eq!(seen.len(), 300);
        let mut rng = Rng::new(7);
        let mut picked = HashSet::new();
        for _ in 0..5000 {
            let (f, v) = c.random(&mut rng).unwrap();
            assert_eq!(c.get(f), Some(v));
            picked.insert(f.to_vec());
        }
        assert!(picked.len() > 250);
        assert!(Hash::new().random(&mut rng).is_none());
    }

    #[derive(Debug, Clone)]
    enum Op {
        Set(u8, Vec<u8>),
        Del(u8),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            3 => (any::<u8>(), proptest::collection::vec(any::<u8>(), 0..40)).prop_map(|(f, v)| Op::Set(f, v)),
            1 => any::<u8>().prop_map(Op::Del),
        ]
    }

    proptest! {
        #[test]
        fn behaves_like_a_map(ops in proptest::collection::vec(op(), 0..600)) {
            let mut h = Hash::new();
            let mut model: BTreeMap<Vec<u8>, Vec<u8>> = BTreeMap::new();
            for o in ops {
                match o {
                    Op::Set(f, v) => {
                        let field = format!("field-{f}").into_bytes();
                        prop_assert_eq!(h.insert(&field, &v), model.insert(field.clone(), v).is_none());
                    }
                    Op::Del(f) => {
                        let field = format!("field-{f}").into_bytes();
                        prop_assert_eq!(h.remove(&field), model.remove(&field).is_some());
                    }
                }
                prop_assert_eq!(h.len(), model.len());
            }
            prop_assert_eq!(collect(&h), model.clone());
            for (f, v) in &model {
                prop_assert_eq!(h.get(f), Some(&v[..]));
            }
            let expected: usize = model.iter().map(|(f, v)| size_class(elem::size(f.len(), v.len()), 8)).sum();
            prop_assert_eq!(h.elem_bytes, expected);
        }
    }
}
