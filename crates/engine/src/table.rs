//! The chained hash table behind each keyspace stripe (and the big encodings of hashes, sets
//! and sorted sets): chained buckets whose links live inside the elements themselves (no
//! separate dict entry), grown and shrunk by incremental rehashing, with Redis's
//! reverse-binary SCAN cursor and cheap random sampling.
//!
//! An element is any heap allocation whose first 8 bytes are the chain link; a
//! [`ChainKey`] tells the table where its key is. The table never allocates or frees
//! elements: callers create them, insert them, and free what they unlink.
//!
//! - A bucket is one pointer. The table grows when it holds more than two entries per
//!   bucket, and shrinks below one entry per eight buckets, so the buckets cost 4 to 8
//!   bytes per key (Redis: 8 to 16 plus a 24-byte dict entry).
//! - Growing or shrinking allocates the new bucket array and then moves one bucket per
//!   operation (plus what the background rehash does), so no single command pays for the
//!   whole table, and memory never doubles: only the bucket array exists twice.
//! - SCAN visits buckets in reverse-binary order, which guarantees that every entry present
//!   for the whole scan is returned at least once even when the table resizes between calls.

use std::marker::PhantomData;
use std::ptr::{self, NonNull};

/// A pointer to an element: a heap allocation starting with its 8-byte chain link.
pub type ElemPtr = NonNull<u8>;

/// How a table finds the key of its elements.
pub trait ChainKey {
    /// The key of element `e`.
    ///
    /// # Safety
    /// `e` must be a live element of this kind; the slice must not outlive it.
    unsafe fn key<'a>(e: ElemPtr) -> &'a [u8];
}

#[inline]
unsafe fn next(e: ElemPtr) -> *mut u8 {
    ptr::read_unaligned(e.as_ptr() as *const *mut u8)
}

#[inline]
unsafe fn set_next(e: ElemPtr, n: *mut u8) {
    ptr::write_unaligned(e.as_ptr() as *mut *mut u8, n)
}

/// Most entries per bucket before the table grows.
const MAX_LOAD: usize = 2;
/// Fewer entries than buckets / this makes the table shrink.
const MIN_FILL_DIV: usize = 8;
const MIN_SIZE: usize = 4;

/// Hash of a key: one process-wide seeded hash, shared by stripe selection and buckets.
pub fn hash_key(key: &[u8]) -> u64 {
    use std::sync::OnceLock;
    static STATE: OnceLock<ahash::RandomState> = OnceLock::new();
    STATE.get_or_init(ahash::RandomState::new).hash_one(key)
}

/// A bucket array: zeroed, allocated through [`crate::alloc::alloc_pages_zeroed`] so that
/// a big one's pages go back to the system as soon as a resize frees it.
struct Buckets {
    ptr: NonNull<*mut u8>,
    len: usize,
}

impl Buckets {
    fn bytes(len: usize) -> usize {
        len * std::mem::size_of::<*mut u8>()
    }
}

impl std::ops::Deref for Buckets {
    type Target = [*mut u8];
    fn deref(&self) -> &[*mut u8] {
        // SAFETY: `ptr` holds `len` initialized pointers (or dangles with `len == 0`).
        unsafe { std::slice::from_raw_parts(self.ptr.as_ptr(), self.len) }
    }
}

impl std::ops::DerefMut for Buckets {
    fn deref_mut(&mut self) -> &mut [*mut u8] {
        // SAFETY: as for `deref`; `&mut self` makes the access unique.
        unsafe { std::slice::from_raw_parts_mut(self.ptr.as_ptr(), self.len) }
    }
}

impl Drop for Buckets {
    fn drop(&mut self) {
        if self.len > 0 {
            // SAFETY: a non-empty array came from `alloc_pages_zeroed` with this size.
            unsafe { crate::alloc::free_pages(self.ptr.as_ptr().cast(), Self::bytes(self.len)) }
        }
    }
}

/// A pointer to the slot that points at an element: a bucket or the previous element's link.
pub type Link = *mut *mut u8;

/// An element a sampling run took, and where it was linked: the bucket its chain hangs off
/// (numbered as in [`Table::sample_run`]) and the element before it (`None`: the chain's head).
/// Lets [`Table::sampled_link`] find its link without a lookup while the table is unchanged.
#[derive(Debug, Clone, Copy)]
pub struct Sampled {
    /// The element.
    pub elem: ElemPtr,
    /// Its bucket.
    pub bucket: usize,
    /// The element whose link points at it, if not the bucket.
    pub prev: Option<ElemPtr>,
}

/// A chained hash table of elements whose keys `K` finds.
pub struct Table<K: ChainKey> {
    ht: [Buckets; 2],
    /// While `ht[1]` is non-empty: the next bucket of `ht[0]` to move. (This and `len` are
    /// 32-bit to keep a stripe small: no stripe holds 4 billion keys.)
    rehash_idx: u32,
    len: u32,
    _key: PhantomData<K>,
}

// SAFETY: the table's elements are owned by whoever owns the table; the raw pointers are
// never shared outside it.
unsafe impl<K: ChainKey> Send for Table<K> {}

impl<K: ChainKey> Default for Table<K> {
    fn default() -> Self {
        Self::new()
    }
}

impl<K: ChainKey> std::fmt::Debug for Table<K> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Table")
            .field("len", &self.len)
            .field("buckets", &(self.ht[0].len() + self.ht[1].len()))
            .finish()
    }
}

fn empty() -> Buckets {
    Buckets { ptr: NonNull::dangling(), len: 0 }
}

/// `n` empty buckets (`n > 0`); aborts as the global allocator does when memory is out.
fn buckets(n: usize) -> Buckets {
    let bytes = Buckets::bytes(n);
    match NonNull::new(crate::alloc::alloc_pages_zeroed(bytes)) {
        // Zeroed memory reads as null pointers: every bucket starts empty.
        Some(p) => Buckets { ptr: p.cast(), len: n },
        None => std::alloc::handle_alloc_error(
            std::alloc::Layout::array::<*mut u8>(n).unwrap_or(std::alloc::Layout::new::<u8>()),
        ),
    }
}

fn reverse_increment(v: u64, mask: u64) -> u64 {
    let v = v | !mask;
    (v.reverse_bits().wrapping_add(1)).reverse_bits()
}

impl<K: ChainKey> Table<K> {
    /// An empty table (allocates nothing).
    pub fn new() -> Self {
        Table { ht: [empty(), empty()], rehash_idx: 0, len: 0, _key: PhantomData }
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        self.len as usize
    }

    /// Whether the table is empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Whether a resize is in progress.
    pub fn is_rehashing(&self) -> bool {
        !self.ht[1].is_empty()
    }

    /// Bytes held by the bucket arrays.
    pub fn bucket_bytes(&self) -> usize {
        (self.ht[0].len() + self.ht[1].len()) * std::mem::size_of::<*mut u8>()
    }

    /// Number of buckets (both tables while rehashing).
    pub fn slots(&self) -> usize {
        self.ht[0].len() + self.ht[1].len()
    }

    /// Find the element with `key` (whose hash is `h`); returns the link pointing at it and
    /// the element.
    #[inline]
    pub fn find(&mut self, key: &[u8], h: u64) -> Option<(Link, ElemPtr)> {
        for t in 0..2 {
            let size = self.ht[t].len();
            if size == 0 {
                break;
            }
            let mut link: Link = &mut self.ht[t][h as usize & (size - 1)];
            // SAFETY: every non-null link points at a live entry owned by this table.
            unsafe {
                while let Some(e) = ElemPtr::new(*link) {
                    if K::key(e) == key {
                        return Some((link, e));
                    }
                    link = e.as_ptr() as Link;
                }
            }
            if !self.is_rehashing() {
                break;
            }
        }
        None
    }

    /// The element with `key` (whose hash is `h`), for reading.
    #[inline]
    pub fn get(&self, key: &[u8], h: u64) -> Option<ElemPtr> {
        for t in 0..2 {
            let size = self.ht[t].len();
            if size == 0 {
                break;
            }
            let mut cur = self.ht[t][h as usize & (size - 1)];
            // SAFETY: every chain holds live elements owned by this table.
            unsafe {
                while let Some(e) = ElemPtr::new(cur) {
                    if K::key(e) == key {
                        return Some(e);
                    }
                    cur = next(e);
                }
            }
            if !self.is_rehashing() {
                break;
            }
        }
        None
    }

    /// Insert an element whose key (hashing to `h`) is known to be absent.
    pub fn insert(&mut self, e: ElemPtr, h: u64) {
        if self.ht[0].is_empty() {
            self.ht[0] = buckets(MIN_SIZE);
        }
        let t = if self.is_rehashing() { 1 } else { 0 };
        let size = self.ht[t].len();
        let slot = &mut self.ht[t][h as usize & (size - 1)];
        // SAFETY: `e` is a live entry not yet linked anywhere.
        unsafe { set_next(e, *slot) };
        *slot = e.as_ptr();
        self.len += 1;
        self.maybe_resize();
    }

    /// Unlink the element `e` that `link` points at. The caller frees it.
    ///
    /// # Safety
    /// `link` and `e` must come from [`Table::find`] with no change to the table since.
    pub unsafe fn unlink(&mut self, link: Link, e: ElemPtr) {
        *link = next(e);
        self.len -= 1;
        self.maybe_resize();
    }

    /// The link pointing at `s`, taken by [`Table::sample_run`] with no change to the table
    /// since but the unlinking of other elements so taken (each one's successor given its
    /// `prev` then); `None` if `s` is not linked where it says.
    ///
    /// # Safety
    /// `s.prev`, if any, must be a live element of this table.
    pub unsafe fn sampled_link(&mut self, s: Sampled) -> Option<Link> {
        let s0 = self.ht[0].len();
        let link: Link = match s.prev {
            Some(p) => p.as_ptr() as Link,
            None if s.bucket < s0 => &mut self.ht[0][s.bucket],
            None => self.ht[1].get_mut(s.bucket - s0)?,
        };
        (*link == s.elem.as_ptr()).then_some(link)
    }

    /// Replace the element `link` points at with `new` (which already carries the old
    /// element's chain link).
    ///
    /// # Safety
    /// As for [`Table::unlink`]; `new` has the same key.
    pub unsafe fn replace(&mut self, link: Link, new: ElemPtr) {
        *link = new.as_ptr();
    }

    /// Start growing or shrinking when the load calls for it.
    fn maybe_resize(&mut self) {
        if self.is_rehashing() {
            return;
        }
        let size = self.ht[0].len();
        let len = self.len();
        let target = if len > size * MAX_LOAD {
            (len / MAX_LOAD + 1).next_power_of_two()
        } else if size > MIN_SIZE && len * MIN_FILL_DIV < size {
            len.max(MIN_SIZE).next_power_of_two()
        } else {
            return;
        };
        if target != size {
            self.ht[1] = buckets(target);
            self.rehash_idx = 0;
        }
    }

    /// Move up to `n` buckets to the new table (visiting at most `10 * n` empty ones).
    /// Returns whether rehashing is still under way.
    pub fn rehash_step(&mut self, n: usize) -> bool {
        if !self.is_rehashing() {
            return false;
        }
        let mut moved = 0;
        let mut empty_visits = n * 10;
        let mask1 = self.ht[1].len() - 1;
        while moved < n && (self.rehash_idx as usize) < self.ht[0].len() {
            let mut cur = std::mem::replace(&mut self.ht[0][self.rehash_idx as usize], ptr::null_mut());
            self.rehash_idx += 1;
            if cur.is_null() {
                empty_visits -= 1;
                if empty_visits == 0 {
                    break;
                }
                continue;
            }
            // SAFETY: entries in the chain are live and owned by this table.
            unsafe {
                while let Some(e) = ElemPtr::new(cur) {
                    cur = next(e);
                    let slot = &mut self.ht[1][hash_key(K::key(e)) as usize & mask1];
                    set_next(e, *slot);
                    *slot = e.as_ptr();
                }
            }
            moved += 1;
        }
        if self.rehash_idx as usize >= self.ht[0].len() {
            self.ht[0] = std::mem::replace(&mut self.ht[1], empty());
            self.rehash_idx = 0;
            self.maybe_resize();
        }
        self.is_rehashing()
    }

    /// Call `f` on every entry of bucket chain `head`.
    fn walk(mut cur: *mut u8, f: &mut impl FnMut(ElemPtr)) {
        // SAFETY: chains only hold live entries; `f` must not unlink them.
        unsafe {
            while let Some(e) = ElemPtr::new(cur) {
                cur = next(e);
                f(e);
            }
        }
    }

    /// Call `f` on the entries of buckets `from`, `from + 1`, ... in index order until at
    /// least `budget` entries were seen; returns the next bucket, `None` past the last. Only
    /// while not rehashing, and only meaningful across calls while the table keeps its size:
    /// an entry's bucket is its hash masked by the size, so entries never move between
    /// buckets then.
    pub fn walk_buckets(&self, from: usize, budget: usize, mut f: impl FnMut(ElemPtr)) -> Option<usize> {
        let t = &self.ht[0];
        let mut seen = 0;
        for (i, &head) in t.iter().enumerate().skip(from) {
            Self::walk(head, &mut |e| {
                seen += 1;
                f(e)
            });
            if seen >= budget {
                return (i + 1 < t.len()).then_some(i + 1);
            }
        }
        None
    }

    /// One SCAN step from cursor `v`: visits the entries of one bucket (and, while
    /// rehashing, of the buckets of the larger table it expands to). Returns the next
    /// cursor, 0 when the scan is complete.
    pub fn scan(&self, v: u64, mut f: impl FnMut(ElemPtr)) -> u64 {
        if self.ht[0].is_empty() {
            return 0;
        }
        let mut v = v;
        if !self.is_rehashing() {
            let m0 = (self.ht[0].len() - 1) as u64;
            Self::walk(self.ht[0][(v & m0) as usize], &mut f);
            return reverse_increment(v, m0);
        }
        let (small, large) = if self.ht[0].len() <= self.ht[1].len() {
            (&self.ht[0], &self.ht[1])
        } else {
            (&self.ht[1], &self.ht[0])
        };
        let m0 = (small.len() - 1) as u64;
        let m1 = (large.len() - 1) as u64;
        Self::walk(small[(v & m0) as usize], &mut f);
        loop {
            Self::walk(large[(v & m1) as usize], &mut f);
            v = reverse_increment(v, m1);
            if v & (m0 ^ m1) == 0 {
                break;
            }
        }
        v
    }

    /// Call `f` on every element.
    pub fn for_each(&self, mut f: impl FnMut(ElemPtr)) {
        for t in &self.ht {
            for &head in t.iter() {
                Self::walk(head, &mut f);
            }
        }
    }

    /// Remove every element, handing each to `f` (which takes ownership).
    pub fn drain(&mut self, mut f: impl FnMut(ElemPtr)) {
        let tables = std::mem::replace(&mut self.ht, [empty(), empty()]);
        self.len = 0;
        self.rehash_idx = 0;
        for t in tables.iter() {
            for &head in t.iter() {
                Self::walk(head, &mut f);
            }
        }
    }

    /// A uniformly chosen bucket's random element (Redis's dictGetFairRandomKey is close
    /// enough: chains are short).
    pub fn random(&self, rng: &mut Rng) -> Option<ElemPtr> {
        if self.len == 0 {
            return None;
        }
        let s0 = self.ht[0].len();
        let total = s0 + self.ht[1].len();
        let start = if self.is_rehashing() { self.rehash_idx as usize } else { 0 };
        loop {
            let i = start + rng.below(total - start);
            let head = if i >= s0 { self.ht[1][i - s0] } else { self.ht[0][i] };
            if head.is_null() {
                continue;
            }
            let mut n = 0;
            Self::walk(head, &mut |_| n += 1);
            let mut pick = rng.below(n);
            let mut found = None;
            Self::walk(head, &mut |e| {
                if pick == 0 && found.is_none() {
                    found = Some(e);
                }
                pick = pick.wrapping_sub(1);
            });
            return found;
        }
    }

    /// Up to `count` elements from consecutive buckets starting at a random one (Redis's
    /// dictGetSomeKeys): cheap sampling for eviction and active expiry.
    pub fn sample(&self, rng: &mut Rng, count: usize, out: &mut Vec<Sampled>) {
        if self.len == 0 || count == 0 {
            return;
        }
        let (total, start, before) = (self.slots(), rng.below(self.slots()), out.len());
        let want = count.min(self.len());
        let budget = count.saturating_mul(10);
        let next = self.sample_run(start, want, budget, out);
        let got = out.len() - before;
        if got < want && next == total && next - start < budget {
            // Wrap around to the first bucket.
            self.sample_run(0, want - got, budget - (next - start), out);
        }
        out.truncate(before + want);
    }

    /// The elements of consecutive buckets starting at bucket `start` (numbering the buckets of
    /// the main table, then those of the one being rehashed into) until at least `count` were
    /// taken (whole buckets: the last ones may add a few more), visiting at most `max_buckets`
    /// buckets and never wrapping past the last: the evictor's sweep over the keys, and
    /// [`Table::sample`]. Returns the bucket to continue from ([`Table::slots`] once the last
    /// one was visited).
    ///
    /// The elements are scattered over the heap, one cache miss each, so they are not walked
    /// chain by chain: the heads of a run of buckets expected to hold what is still wanted are
    /// taken first, each prefetched as the bucket array is read, then all their chains advance
    /// one link per round, each round's links prefetched together. The misses of one round
    /// overlap instead of following one another.
    pub fn sample_run(
        &self,
        start: usize,
        count: usize,
        max_buckets: usize,
        out: &mut Vec<Sampled>,
    ) -> usize {
        let s0 = self.ht[0].len();
        let total = s0 + self.ht[1].len();
        let head = |i: usize| if i >= s0 { self.ht[1][i - s0] } else { self.ht[0][i] };
        let want = out.len().saturating_add(count);
        let end = total.min(start.saturating_add(max_buckets));
        let mut i = start.min(total);
        while i < end && out.len() < want {
            let rest = want - out.len();
            // A bucket that is not empty holds about `load + 1/2` elements at this load.
            let heads = (rest as u128 * total as u128 / (self.len() as u128 + total as u128 / 2 + 1))
                .clamp(1, rest as u128) as usize;
            let mut frontier = out.len();
            let mut taken = 0;
            while i < end && taken < heads {
                if let Some(elem) = ElemPtr::new(head(i)) {
                    prefetch(elem.as_ptr());
                    out.push(Sampled { elem, bucket: i, prev: None });
                    taken += 1;
                }
                i += 1;
            }
            while frontier < out.len() {
                let level_end = out.len();
                for k in frontier..level_end {
                    let Sampled { elem, bucket, .. } = out[k];
                    // SAFETY: chains only hold live elements owned by this table.
                    if let Some(n) = ElemPtr::new(unsafe { next(elem) }) {
                        prefetch(n.as_ptr());
                        out.push(Sampled { elem: n, bucket, prev: Some(elem) });
                    }
                }
                frontier = level_end;
            }
        }
        i
    }
}

/// Ask the CPU to start loading the cache line at `addr`. A hint only: the address is never
/// dereferenced, so a stale or null one is harmless.
#[inline]
pub fn prefetch<T>(addr: *const T) {
    prefetch_as::<3>(addr as *const i8); // _MM_HINT_T0
}

/// Ask the CPU to start loading the cache line at `addr` for writing (a hint, as [`prefetch`]):
/// PREFETCHW where the build targets it, else a plain prefetch, which brings a line no other
/// core holds in exclusive state anyway.
#[inline]
pub fn prefetch_write<T>(addr: *const T) {
    prefetch_as::<7>(addr as *const i8); // _MM_HINT_ET0
}

#[inline]
fn prefetch_as<const HINT: i32>(addr: *const i8) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: prefetch instructions never fault and do not read memory architecturally; SSE
    // is part of the x86_64 baseline.
    unsafe {
        std::arch::x86_64::_mm_prefetch::<HINT>(addr);
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = addr;
}

/// A small, fast PRNG (xorshift64*), one per stripe.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator from a seed (any value; zero is replaced).
    pub fn new(seed: u64) -> Self {
        Rng(seed | 1)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A number in `0..n` (`n > 0`).
    pub fn below(&mut self, n: usize) -> usize {
        ((self.next_u64() as u128 * n as u128) >> 64) as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entry::{self, EntryKey, Payload};
    use std::collections::HashSet;

    type Table = super::Table<EntryKey>;

    fn put(t: &mut Table, k: &[u8]) {
        let e = entry::create(k, Payload::Int(1), None, 0);
        t.insert(e, hash_key(k));
    }

    fn del(t: &mut Table, k: &[u8]) -> bool {
        match t.find(k, hash_key(k)) {
            Some((link, e)) => unsafe {
                t.unlink(link, e);
                entry::free(e);
                true
            },
            None => false,
        }
    }

    fn clear(t: &mut Table) {
        t.drain(|e| unsafe { entry::free(e) });
    }

    #[test]
    fn insert_find_delete_across_growth_and_shrink() {
        let mut t = Table::new();
        for i in 0..10_000u32 {
            put(&mut t, &i.to_be_bytes());
            t.rehash_step(1);
        }
        assert_eq!(t.len(), 10_000);
        for i in 0..10_000u32 {
            assert!(t.find(&i.to_be_bytes(), hash_key(&i.to_be_bytes())).is_some());
            assert!(t.get(&i.to_be_bytes(), hash_key(&i.to_be_bytes())).is_some());
        }
        assert!(t.get(b"absent", hash_key(b"absent")).is_none());
        for i in 0..9_990u32 {
            assert!(del(&mut t, &i.to_be_bytes()));
            t.rehash_step(1);
        }
        while t.rehash_step(100) {}
        assert_eq!(t.len(), 10);
        assert!(t.slots() <= 64, "shrunk to {}", t.slots());
        clear(&mut t);
    }

    #[test]
    fn scan_returns_every_key_present_throughout_while_growing() {
        let mut t = Table::new();
        for i in 0..1000u32 {
            put(&mut t, &i.to_be_bytes());
        }
        while t.rehash_step(100) {}
        let mut seen = HashSet::new();
        let mut cursor = 0;
        let mut next_new = 1000u32;
        loop {
            cursor = t.scan(cursor, |e| {
                seen.insert(unsafe { entry::key(e) }.to_vec());
            });
            // Grow the table between calls, with rehashing in flight.
            for _ in 0..50 {
                put(&mut t, &next_new.to_be_bytes());
                next_new += 1;
            }
            t.rehash_step(3);
            if cursor == 0 {
                break;
            }
        }
        for i in 0..1000u32 {
            assert!(seen.contains(&i.to_be_bytes()[..]), "missed {i}");
        }
        clear(&mut t);
    }

    #[test]
    fn scan_survives_shrinking() {
        let mut t = Table::new();
        for i in 0..5000u32 {
            put(&mut t, &i.to_be_bytes());
        }
        while t.rehash_step(100) {}
        let mut seen = HashSet::new();
        let mut cursor = 0;
        let mut victim = 100u32;
        loop {
            cursor = t.scan(cursor, |e| {
                seen.insert(unsafe { entry::key(e) }.to_vec());
            });
            for _ in 0..100 {
                if victim < 5000 {
                    del(&mut t, &victim.to_be_bytes());
                    victim += 1;
                }
            }
            t.rehash_step(2);
            if cursor == 0 {
                break;
            }
        }
        for i in 0..100u32 {
            assert!(seen.contains(&i.to_be_bytes()[..]), "missed {i}");
        }
        clear(&mut t);
    }

    #[test]
    fn sample_run_walks_whole_buckets_in_order_once_per_pass() {
        let mut t = Table::new();
        for i in 0..3000u32 {
            put(&mut t, &i.to_be_bytes());
            t.rehash_step(1);
        }
        // Whether rehashing or not, runs of at least 7 elements from bucket 0 on see every
        // element once, in whole buckets, and end at `slots()`.
        for settle in [false, true] {
            while settle && t.rehash_step(100) {}
            let mut seen = HashSet::new();
            let (mut at, mut out) = (0, Vec::new());
            while at < t.slots() {
                out.clear();
                let next = t.sample_run(at, 7, 70, &mut out);
                assert!(next > at && next <= t.slots());
                assert!(out.len() >= 7 || next == t.slots() || next - at == 70);
                for s in &out {
                    assert!(seen.insert(unsafe { entry::key(s.elem) }.to_vec()), "an element seen twice");
                }
                at = next;
            }
            assert_eq!(seen.len(), 3000);
        }
        // Never past the end, nor beyond the bucket budget.
        let mut out = Vec::new();
        assert_eq!(t.sample_run(t.slots(), 5, 50, &mut out), t.slots());
        assert_eq!(t.sample_run(0, usize::MAX, 3, &mut out), 3);
        clear(&mut t);
    }

    #[test]
    fn random_and_sample_find_entries() {
        let mut t = Table::new();
        let mut rng = Rng::new(42);
        assert!(t.random(&mut rng).is_none());
        for i in 0..100u32 {
            put(&mut t, &i.to_be_bytes());
        }
        let mut seen = HashSet::new();
        for _ in 0..2000 {
            seen.insert(unsafe { entry::key(t.random(&mut rng).unwrap()) }.to_vec());
        }
        assert!(seen.len() > 90);
        let mut out = Vec::new();
        t.sample(&mut rng, 5, &mut out);
        assert_eq!(out.len(), 5);
        clear(&mut t);
    }
}
