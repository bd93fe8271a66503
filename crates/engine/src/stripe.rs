//! One stripe of a database: a share of its keys (chosen by hash), the list of those with an
//! expire time, and the clients WATCHing any of them. Everything here runs under the
//! stripe's lock; commands reach keys only through this safe API.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::Arc;

use crate::entry::{self, EntryKey, EntryPtr, OwnedPayload, Payload, PayloadRef, Reserved};
use crate::keysizes::{KeySizes, SizeClass};
use crate::lru::Access;
use crate::object::Object;
use crate::table::{hash_key, Link, Rng, Sampled};

mod snapshot;
pub use snapshot::KeySaver;

/// The bit of `Stripe::changes` that holds the stripe's snapshot mark.
const MARK_BIT: u64 = 1 << 63;

type Table = crate::table::Table<EntryKey>;
use crate::value::{parse_i64_strict, NewValue, StrRef, ValueRef, ValueType, EMBSTR_MAX};

thread_local! {
    /// Keyspace modifications made by this thread (see [`thread_modifications`]).
    static THREAD_MODS: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

/// How many key modifications this thread has made so far: a counter that only grows, so
/// two readings tell whether a command changed the dataset (as Redis's `server.dirty`).
/// Counted where watchers are signalled: every change to a key, flushes and SWAPDB.
pub fn thread_modifications() -> u64 {
    THREAD_MODS.with(|c| c.get())
}

fn count_modifications(n: u64) {
    THREAD_MODS.with(|c| c.set(c.get().wrapping_add(n)));
}

/// Keys removed because their time ran out (lazily or by the active cycle).
pub static EXPIRED_KEYS: AtomicU64 = AtomicU64::new(0);

/// What SET does with the key's existing expire time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SetExpire {
    /// The key ends up with no expire (plain SET).
    Clear,
    /// The key keeps whatever expire it had (KEEPTTL, SETRANGE, ...).
    Keep,
    /// The key expires at this unix time in ms.
    At(i64),
}

/// A key taken out of the keyspace with everything it carries, to be put back under a new
/// name or in another database (RENAME, MOVE, COPY).
pub struct Detached {
    value: OwnedPayload,
    expire: Option<i64>,
    lru: u32,
}

impl Detached {
    /// The expire time it carries.
    pub fn expire_at(&self) -> Option<i64> {
        self.expire
    }

    /// Replace the expire time it carries.
    pub fn set_expire_at(&mut self, when: Option<i64>) {
        self.expire = when;
    }

    /// A deep copy (COPY).
    pub fn duplicate(&self) -> Detached {
        let value = match &self.value {
            OwnedPayload::Int(n) => OwnedPayload::Int(*n),
            OwnedPayload::Bytes(b) => OwnedPayload::Bytes(b.clone()),
            OwnedPayload::Heap(h) => OwnedPayload::Heap(h.clone()),
            OwnedPayload::Obj(o) => OwnedPayload::Obj(o.clone()),
            OwnedPayload::Packed(k, b) => OwnedPayload::Packed(*k, b.clone()),
        };
        Detached { value, expire: self.expire, lru: self.lru }
    }
}

type Watchers = HashMap<Box<[u8]>, Vec<Arc<AtomicBool>>>;

/// What few stripes need at any time, boxed together so that a stripe stays small (two
/// cache lines with its lock).
#[derive(Default)]
struct Extras {
    /// The clients WATCHing keys of the stripe (empty: none).
    watched: Watchers,
    /// A point-in-time snapshot (BGSAVE) being taken of the stripe (see `snapshot`).
    snap: Option<snapshot::Armed>,
}

/// A share of one database's keys.
pub struct Stripe {
    table: Table,
    /// Entries that have an expire time; each entry stores its index here.
    volatile: Vec<EntryPtr>,
    /// Clients WATCHing its keys and a snapshot being taken, when there are any.
    extras: Option<Box<Extras>>,
    rng: Rng,
    /// Modifications made here (Redis's `dirty`), for save points, in the low 63 bits; the
    /// top bit is the snapshot mark of entries saved by the snapshot being taken, or not part
    /// of it (see `snapshot`; kept here so that a stripe fits two cache lines).
    changes: u64,
    /// Histograms of the keys' sizes (INFO keysizes, see `crate::keysizes`).
    sizes: KeySizes,
    /// The key last changed, whose size class `sizes` may not have caught up with yet (see
    /// [`SizeTrack`]).
    size_track: Option<SizeTrack>,
}

/// The one key per stripe whose size class is settled lazily (INFO keysizes): a key changed
/// again and again (LPUSH after LPUSH) is counted once, when another key of the stripe
/// changes or INFO reads the counts, instead of at every change; that matters for a packed
/// collection, whose size takes a walk of its bytes. Every path that frees an entry or moves
/// it to a new allocation goes through `Stripe::count_out` / `Stripe::size_moved`, so `e` is
/// always live.
#[derive(Clone, Copy)]
struct SizeTrack {
    e: EntryPtr,
    /// The class `sizes` counts the key in (`SizeClass::UNTRACKED`: not counted yet).
    counted: SizeClass,
    /// Whether `counted` is known to be the key's class now.
    exact: bool,
}

// SAFETY: a stripe owns its entries outright; it is only reached through its mutex.
unsafe impl Send for Stripe {}

impl Drop for Stripe {
    fn drop(&mut self) {
        self.clear();
    }
}

/// A live key, borrowed.
#[derive(Clone, Copy)]
pub struct EntryRef<'a> {
    e: EntryPtr,
    _life: std::marker::PhantomData<&'a ()>,
}

impl<'a> EntryRef<'a> {
    /// A view of the live entry `e`, for as long as the caller keeps it alive and unchanged.
    pub(crate) fn new(e: EntryPtr) -> Self {
        EntryRef { e, _life: std::marker::PhantomData }
    }

    /// The entry viewed.
    pub(crate) fn ptr(&self) -> EntryPtr {
        self.e
    }

    /// The key.
    pub fn key(&self) -> &'a [u8] {
        // SAFETY: the entry outlives 'a (it is borrowed from the stripe).
        unsafe { entry::key(self.e) }
    }

    /// The value.
    pub fn value(&self) -> ValueRef<'a> {
        // SAFETY: as above.
        value_of(unsafe { entry::payload(self.e) })
    }

    /// The value's type.
    pub fn value_type(&self) -> ValueType {
        self.value().value_type()
    }

    /// The value as a string, or `None` for another type.
    pub fn str(&self) -> Option<StrRef<'a>> {
        match self.value() {
            ValueRef::Str(s) => Some(s),
            _ => None,
        }
    }

    /// Absolute expire time in unix ms.
    pub fn expire_at(&self) -> Option<i64> {
        // SAFETY: as above.
        unsafe { entry::expire(self.e) }
    }

    /// The 24-bit LRU/LFU data.
    pub fn access_data(&self) -> u32 {
        // SAFETY: as above.
        unsafe { entry::lru(self.e) }
    }

    /// The encoding, as OBJECT ENCODING names it.
    pub fn encoding(&self) -> &'static str {
        // SAFETY: as above.
        match unsafe { entry::payload(self.e) } {
            PayloadRef::Int(_) => "int",
            PayloadRef::Inline(b) if b.len() <= EMBSTR_MAX => "embstr",
            PayloadRef::Inline(_) | PayloadRef::Heap(_) => "raw",
            PayloadRef::Obj(o) => o.encoding(),
            PayloadRef::Packed(k, _) => k.encoding(),
        }
    }

    /// Bytes this key costs: its entry, its value's buffers and its share of the table.
    pub fn memory_usage(&self) -> usize {
        // SAFETY: as above.
        let own = crate::alloc::size_class(unsafe { entry::alloc_size(self.e) }, 8);
        let value = match unsafe { entry::payload(self.e) } {
            PayloadRef::Heap(h) => 32 + crate::alloc::size_class(h.capacity(), 8),
            PayloadRef::Obj(o) => o.memory_usage(),
            _ => 0,
        };
        own + value + std::mem::size_of::<usize>()
    }
}

/// A live key, borrowed for modification. Every change signals the key's watchers.
pub struct EntryMut<'a> {
    stripe: &'a mut Stripe,
    link: Link,
    e: EntryPtr,
}

impl<'a> EntryMut<'a> {
    /// A read-only view.
    pub fn as_ref(&self) -> EntryRef<'_> {
        EntryRef::new(self.e)
    }

    /// The value.
    pub fn value(&self) -> ValueRef<'_> {
        self.as_ref().value()
    }

    /// Absolute expire time in unix ms.
    pub fn expire_at(&self) -> Option<i64> {
        self.as_ref().expire_at()
    }

    /// Replace the value, keeping the expire time.
    pub fn set_value(&mut self, value: NewValue) {
        self.signal();
        self.stripe.size_begin(self.e);
        self.replace_value(value);
    }

    /// Store the same value in another encoding (SORT turning a packed sorted set into a
    /// skiplist): not a change, so WATCH, the change counter and a snapshot don't see it.
    pub fn convert(&mut self, value: NewValue) {
        self.replace_value(value);
    }

    fn replace_value(&mut self, value: NewValue) {
        // SAFETY: `e` is live and linked at `link`; rebuild returns a fresh entry that takes
        // over the link.
        unsafe {
            if let NewValue::Int(n) = value {
                if entry::set_int_in_place(self.e, n) {
                    return;
                }
            }
            let expire = entry::expire(self.e).map(|w| (w, entry::volatile_index(self.e)));
            let new = rebuild_dispose(self.e, encode(value), expire, None);
            self.relink(new);
        }
    }

    /// The string's bytes in a growable buffer, converting the value to `raw` if needed
    /// (APPEND, SETRANGE). `None` if the value is not a string.
    pub fn str_buffer(&mut self) -> Option<&mut Vec<u8>> {
        self.signal();
        self.stripe.size_begin(self.e);
        // SAFETY: as in set_value.
        unsafe {
            if entry::heap_mut(self.e).is_none() {
                let bytes = match entry::payload(self.e) {
                    PayloadRef::Int(n) => n.to_string().into_bytes(),
                    PayloadRef::Inline(b) => b.to_vec(),
                    _ => return None,
                };
                let expire = entry::expire(self.e).map(|w| (w, entry::volatile_index(self.e)));
                let new = entry::rebuild(self.e, Payload::Heap(Box::new(bytes)), expire, None);
                self.relink(new);
            }
            entry::heap_mut(self.e)
        }
    }

    /// The collection, for modification. `None` for a string.
    pub fn obj_mut(&mut self) -> Option<&mut Object> {
        self.signal();
        self.stripe.size_begin(self.e);
        // SAFETY: `e` is live and exclusively borrowed through `self`.
        unsafe { entry::obj_mut(self.e) }
    }

    /// Set or remove the expire time.
    pub fn set_expire(&mut self, when: Option<i64>) {
        self.signal();
        // SAFETY: as in set_value.
        unsafe {
            match (entry::expire(self.e), when) {
                (Some(_), Some(w)) => entry::set_expire_in_place(self.e, w),
                (None, None) => {}
                (None, Some(w)) => {
                    let idx = self.stripe.volatile.len() as u32;
                    let new = entry::with_expire(self.e, Some((w, idx)));
                    self.stripe.volatile.push(new);
                    self.relink_keep_volatile(new);
                }
                (Some(_), None) => {
                    self.stripe.volatile_remove(self.e);
                    let new = entry::with_expire(self.e, None);
                    self.relink_keep_volatile(new);
                }
            }
        }
    }

    /// Replace the key's LRU/LFU access data (RESTORE's IDLETIME / FREQ, an RDB's IDLE /
    /// FREQ records). Not a modification: watchers are not signalled.
    pub fn set_access_data(&mut self, data: u32) {
        // SAFETY: `e` is live and exclusively borrowed through `self`.
        unsafe { entry::set_lru(self.e, data) }
    }

    /// Delete the key.
    pub fn delete(mut self) {
        self.signal();
        // SAFETY: `e` is live and linked at `link`.
        unsafe { self.stripe.unlink_dispose(self.link, self.e, crate::lazyfree::server_del()) };
    }

    fn signal(&mut self) {
        // SAFETY: `e` is live; the key is only read while the stripe updates its watchers.
        let key = unsafe { entry::key(self.e) };
        self.stripe.signal(key);
    }

    unsafe fn relink(&mut self, new: EntryPtr) {
        if entry::expire(new).is_some() {
            self.stripe.volatile[entry::volatile_index(new) as usize] = new;
        }
        self.relink_keep_volatile(new);
    }

    unsafe fn relink_keep_volatile(&mut self, new: EntryPtr) {
        self.stripe.size_moved(self.e, new);
        self.stripe.table.replace(self.link, new);
        self.e = new;
    }
}

/// The size class of a live entry's value (INFO keysizes).
fn size_class(e: EntryPtr) -> SizeClass {
    SizeClass::of(EntryRef::new(e).value())
}

/// The size class of a value about to be stored, known before its entry is written: a new
/// entry often lands in a slot whose lines are not in cache (after eviction, one freed anywhere
/// in the heap), and reading it back right after writing it waits for them.
fn payload_size_class(p: &Payload<'_>) -> SizeClass {
    SizeClass::of(value_of(p.as_ref()))
}

/// A stored value as commands see it.
fn value_of(p: PayloadRef<'_>) -> ValueRef<'_> {
    match p {
        PayloadRef::Int(n) => ValueRef::Str(StrRef::Int(n)),
        PayloadRef::Inline(b) => ValueRef::Str(StrRef::Bytes(b)),
        PayloadRef::Heap(h) => ValueRef::Str(StrRef::Bytes(h)),
        PayloadRef::Obj(o) => ValueRef::Obj(o),
        PayloadRef::Packed(k, b) => ValueRef::Packed(k, b),
    }
}

fn encode(value: NewValue<'_>) -> Payload<'_> {
    match value {
        NewValue::Str(b) => match parse_i64_strict(b) {
            Some(n) => Payload::Int(n),
            None => Payload::Inline(b),
        },
        NewValue::Plain(b) => Payload::Inline(b),
        NewValue::Int(n) => Payload::Int(n),
        NewValue::Raw(v) => Payload::Heap(Box::new(v)),
        NewValue::Obj(o) => Payload::Obj(o),
        NewValue::Packed(k, b) => Payload::Packed(k, b),
    }
}

impl Default for Stripe {
    fn default() -> Self {
        Self::new(0)
    }
}

impl Stripe {
    /// An empty stripe; `seed` seeds its sampling.
    pub fn new(seed: u64) -> Self {
        Stripe {
            table: Table::new(),
            volatile: Vec::new(),
            extras: None,
            rng: Rng::new(seed),
            changes: 0,
            sizes: KeySizes::default(),
            size_track: None,
        }
    }

    /// Number of keys (including expired ones not yet reclaimed).
    pub fn len(&self) -> usize {
        self.table.len()
    }

    /// Whether the stripe holds no key.
    pub fn is_empty(&self) -> bool {
        self.table.len() == 0
    }

    /// Number of keys with an expire time.
    pub fn volatile_len(&self) -> usize {
        self.volatile.len()
    }

    /// The histograms of its keys' sizes (INFO keysizes).
    pub fn keysizes(&mut self) -> &KeySizes {
        self.settle_size();
        &self.sizes
    }

    /// Start loading the tracked key's entry (see [`SizeTrack`]), which the next change in
    /// the stripe reads to settle its count: called when the stripe is locked, so that the
    /// miss overlaps the lookup instead of following it.
    #[inline]
    pub(crate) fn prefetch_tracked(&self) {
        if let Some(t) = &self.size_track {
            crate::table::prefetch(t.e.as_ptr());
        }
    }

    /// Bring the counts up to date with the tracked key (see [`SizeTrack`]).
    fn settle_size(&mut self) {
        if let Some(t) = &mut self.size_track {
            if !t.exact {
                let now = size_class(t.e);
                self.sizes.change(t.counted, now);
                t.counted = now;
                t.exact = true;
            }
        }
    }

    /// `e` (live, in the table) is about to change: track it, settling the key tracked so far.
    fn size_begin(&mut self, e: EntryPtr) {
        match &mut self.size_track {
            Some(t) if t.e == e => t.exact = false,
            _ => {
                self.settle_size();
                self.size_track = Some(SizeTrack { e, counted: size_class(e), exact: false });
            }
        }
    }

    /// `e` (live, in the table) is about to get a whole new value, whose class the caller
    /// counts at once: stop tracking it if it is the tracked key. Returns the class `sizes`
    /// counts it in. The tracked key, if another, stays unsettled: settling it would read an
    /// entry likely long out of cache, where a SET touches only its own.
    fn size_untrack(&mut self, e: EntryPtr) -> SizeClass {
        match self.size_track {
            Some(t) if t.e == e => {
                self.size_track = None;
                t.counted
            }
            _ => size_class(e),
        }
    }

    /// Entry `old` was rebuilt as `new` (`old` is freed).
    fn size_moved(&mut self, old: EntryPtr, new: EntryPtr) {
        if let Some(t) = &mut self.size_track {
            if t.e == old {
                t.e = new;
            }
        }
    }

    /// Stop counting a key that is leaving the table.
    fn count_out(&mut self, e: EntryPtr) {
        match self.size_track {
            Some(t) if t.e == e => {
                self.sizes.remove(t.counted);
                self.size_track = None;
            }
            _ => self.sizes.remove(size_class(e)),
        }
    }

    /// Modifications counted so far.
    pub fn changes(&self) -> u64 {
        self.changes & !MARK_BIT
    }

    /// The snapshot mark value of entries a snapshot need not save (see `snapshot`).
    fn mark(&self) -> bool {
        self.changes & MARK_BIT != 0
    }

    fn set_mark(&mut self, mark: bool) {
        self.changes = self.changes & !MARK_BIT | if mark { MARK_BIT } else { 0 };
    }

    /// Bytes of table overhead (bucket arrays and the volatile list).
    pub fn overhead_bytes(&self) -> usize {
        self.table.bucket_bytes() + self.volatile.capacity() * std::mem::size_of::<EntryPtr>()
    }

    /// Find a live key; an expired one is deleted on the way (lazy expiry).
    fn lookup(&mut self, key: &[u8], acc: &Access) -> Option<(Link, EntryPtr)> {
        self.table.rehash_step(1);
        let (link, e) = self.table.find(key, hash_key(key))?;
        // SAFETY: `e` is live and linked at `link`.
        unsafe {
            if let Some(when) = entry::expire(e) {
                if acc.now_ms > when {
                    self.signal(key);
                    self.unlink_dispose(link, e, crate::lazyfree::lazy_expire());
                    EXPIRED_KEYS.fetch_add(1, Relaxed);
                    crate::expire::note(crate::expire::KeyEventKind::Expired, self, key);
                    return None;
                }
            }
            let old = entry::lru(e);
            let new = acc.touched(old, self.rng.next_u64());
            if new != old {
                entry::set_lru(e, new);
            }
        }
        Some((link, e))
    }

    /// A live key, for reading. Touches its access data as `acc` says (a read: under an LRM
    /// policy it does not touch, see `crate::lru`).
    pub fn get(&mut self, key: &[u8], acc: &Access) -> Option<EntryRef<'_>> {
        self.lookup(key, &acc.for_read()).map(|(_, e)| EntryRef::new(e))
    }

    /// A live key, for modification.
    pub fn get_mut(&mut self, key: &[u8], acc: &Access) -> Option<EntryMut<'_>> {
        let (link, e) = self.lookup(key, acc)?;
        Some(EntryMut { stripe: self, link, e })
    }

    /// Whether a live key exists (touching it, as EXISTS does in Redis).
    pub fn exists(&mut self, key: &[u8], acc: &Access) -> bool {
        self.lookup(key, &acc.for_read()).is_some()
    }

    /// Store `value` under `key`, replacing any value of any type.
    pub fn set(&mut self, key: &[u8], value: NewValue, expire: SetExpire, acc: &Access) {
        self.set_payload(key, encode(value), expire, acc, None);
    }

    fn set_payload(
        &mut self,
        key: &[u8],
        payload: Payload,
        expire: SetExpire,
        acc: &Access,
        lru: Option<u32>,
    ) {
        self.signal(key);
        let h = hash_key(key);
        // The new entry's memory, allocated now to be loaded while the lookup walks the chain
        // (unless its size waits on the old expire time).
        let with_expire = match expire {
            SetExpire::Clear => Some(false),
            SetExpire::At(_) => Some(true),
            SetExpire::Keep => None,
        };
        let reserved = with_expire.map(|w| Reserved::new(key, &payload, w));
        self.table.rehash_step(1);
        let old = self.table.find(key, h);
        // SAFETY: entries found are live; a new entry is linked exactly once.
        unsafe {
            let old_expire = match old {
                Some((_, e)) => entry::expire(e).filter(|&w| acc.now_ms <= w),
                None => None,
            };
            // An old value past its time is expired here (as a lookup would have), and the
            // key is new again.
            let stale = old.is_some_and(|(_, e)| entry::expire(e).is_some_and(|w| acc.now_ms > w));
            if stale {
                EXPIRED_KEYS.fetch_add(1, Relaxed);
                crate::expire::note(crate::expire::KeyEventKind::Expired, self, key);
            }
            if old.is_none() || stale {
                crate::expire::note(crate::expire::KeyEventKind::New, self, key);
            }
            let when = match expire {
                SetExpire::Clear => None,
                SetExpire::Keep => old_expire,
                SetExpire::At(w) => Some(w),
            };
            match old {
                Some((link, e)) => {
                    let had_vidx = entry::expire(e).map(|_| entry::volatile_index(e));
                    let exp = match (when, had_vidx) {
                        (Some(w), Some(i)) => Some((w, i)),
                        (Some(w), None) => Some((w, self.volatile.len() as u32)),
                        (None, _) => None,
                    };
                    if had_vidx.is_some() && when.is_none() {
                        self.volatile_remove(e);
                    }
                    let before = self.size_untrack(e);
                    let class = payload_size_class(&payload);
                    let new = rebuild_dispose(e, payload, exp, reserved);
                    self.sizes.change(before, class);
                    entry::set_lru(
                        new,
                        lru.unwrap_or_else(|| acc.touched(entry::lru(new), self.rng.next_u64())),
                    );
                    match (had_vidx, when) {
                        (Some(i), Some(_)) => self.volatile[i as usize] = new,
                        (None, Some(_)) => self.volatile.push(new),
                        _ => {}
                    }
                    self.table.replace(link, new);
                }
                None => {
                    let exp = when.map(|w| (w, self.volatile.len() as u32));
                    let lru = lru.unwrap_or_else(|| acc.initial());
                    let class = payload_size_class(&payload);
                    let word = entry::access_word_of(lru, self.mark());
                    let new = entry::create_in(reserved, key, payload, exp, word);
                    if exp.is_some() {
                        self.volatile.push(new);
                    }
                    self.sizes.change(SizeClass::UNTRACKED, class);
                    self.table.insert(new, h);
                }
            }
        }
    }

    /// Delete a live key; returns whether it existed.
    pub fn remove(&mut self, key: &[u8], acc: &Access) -> bool {
        match self.get_mut(key, &acc.no_touch()) {
            Some(e) => {
                e.delete();
                true
            }
            None => false,
        }
    }

    /// Take a live key out with its value, expire time and access data.
    pub fn take(&mut self, key: &[u8], acc: &Access) -> Option<Detached> {
        let (link, e) = self.lookup(key, &acc.no_touch())?;
        self.signal(key);
        // SAFETY: `e` is live and linked at `link`; it is unlinked before being consumed.
        unsafe {
            if entry::expire(e).is_some() {
                self.volatile_remove(e);
            }
            self.count_out(e);
            self.table.unlink(link, e);
            let expire = entry::expire(e);
            let lru = entry::lru(e);
            Some(Detached { value: entry::into_payload(e), expire, lru })
        }
    }

    /// Store a detached key under `key`, replacing any existing value.
    pub fn put(&mut self, key: &[u8], d: Detached, acc: &Access) {
        let expire = match d.expire {
            Some(w) => SetExpire::At(w),
            None => SetExpire::Clear,
        };
        let mut scratch = Vec::new();
        let payload = d.value.into_payload(&mut scratch);
        self.set_payload(key, payload, expire, acc, Some(d.lru));
    }

    /// Remove every key; returns how many there were. Watchers of the keys that existed are
    /// signalled (Redis's touchAllWatchedKeysInDb).
    pub fn clear(&mut self) -> usize {
        // The keys are freed here, as the bundle is dropped.
        self.take_all().len()
    }

    /// Exchange contents with another stripe (SWAPDB). Watchers of keys on either side are
    /// signalled; the watch lists stay where they are.
    pub fn swap_contents(&mut self, other: &mut Stripe) {
        self.save_all_before_change();
        count_modifications(1);
        other.save_all_before_change();
        for s in [&*self, &*other] {
            if let Some(w) = s.watched() {
                for flags in w.values() {
                    flags.iter().for_each(|f| f.store(true, Relaxed));
                }
            }
        }
        std::mem::swap(&mut self.table, &mut other.table);
        let (mine, theirs) = (self.mark(), other.mark());
        self.set_mark(theirs);
        other.set_mark(mine);
        std::mem::swap(&mut self.volatile, &mut other.volatile);
        for s in [&mut *self, &mut *other] {
            s.settle_size();
            s.size_track = None;
        }
        std::mem::swap(&mut self.sizes, &mut other.sizes);
    }

    /// One SCAN step from `cursor`; calls `f` with each live key visited. Returns the next
    /// cursor (0: done with this stripe).
    pub fn scan(&mut self, cursor: u64, acc: &Access, mut f: impl FnMut(EntryRef<'_>)) -> u64 {
        let now = acc.now_ms;
        self.table.scan(cursor, |e| {
            // SAFETY: the table hands out live entries.
            if unsafe { entry::expire(e) }.is_none_or(|w| now <= w) {
                f(EntryRef::new(e));
            }
        })
    }

    /// Call `f` on every live key.
    pub fn for_each(&self, acc: &Access, mut f: impl FnMut(EntryRef<'_>)) {
        let now = acc.now_ms;
        self.table.for_each(|e| {
            // SAFETY: the table hands out live entries.
            if unsafe { entry::expire(e) }.is_none_or(|w| now <= w) {
                f(EntryRef::new(e));
            }
        })
    }

    /// A random live key (expired keys met on the way are reclaimed).
    pub fn random_key(&mut self, acc: &Access) -> Option<Vec<u8>> {
        for _ in 0..100 {
            let e = self.table.random(&mut self.rng)?;
            // SAFETY: the table hands out live entries.
            let key = unsafe { entry::key(e) }.to_vec();
            if self.lookup(&key, &acc.no_touch()).is_some() {
                return Some(key);
            }
        }
        None
    }

    /// Sum and count of the remaining time to live of up to `samples` keys with an expire
    /// time (for INFO's avg_ttl).
    pub fn ttl_sample(&mut self, acc: &Access, samples: usize) -> (i128, u64) {
        let mut sum = 0i128;
        let mut n = 0u64;
        for _ in 0..samples.min(self.volatile.len()) {
            let e = self.volatile[self.rng.below(self.volatile.len())];
            // SAFETY: the volatile list only holds live entries with an expire.
            if let Some(w) = unsafe { entry::expire(e) } {
                let ttl = w - acc.now_ms;
                if ttl > 0 {
                    sum += ttl as i128;
                    n += 1;
                }
            }
        }
        (sum, n)
    }

    /// Register `flag` to be set when `key` changes (WATCH).
    pub fn watch(&mut self, key: &[u8], flag: &Arc<AtomicBool>) {
        let w = &mut self.extras.get_or_insert_with(Default::default).watched;
        let list = w.entry(key.into()).or_default();
        if !list.iter().any(|f| Arc::ptr_eq(f, flag)) {
            list.push(flag.clone());
        }
    }

    /// Forget a WATCH registration.
    pub fn unwatch(&mut self, key: &[u8], flag: &Arc<AtomicBool>) {
        if let Some(x) = &mut self.extras {
            if let Some(list) = x.watched.get_mut(key) {
                list.retain(|f| !Arc::ptr_eq(f, flag));
                if list.is_empty() {
                    x.watched.remove(key);
                }
            }
            if x.watched.is_empty() {
                x.watched = HashMap::new();
            }
        }
        self.drop_empty_extras();
    }

    /// The clients WATCHing keys of the stripe, if any.
    fn watched(&self) -> Option<&Watchers> {
        self.extras.as_deref().map(|x| &x.watched).filter(|w| !w.is_empty())
    }

    /// Free the extras once nothing is in them.
    fn drop_empty_extras(&mut self) {
        if self.extras.as_ref().is_some_and(|x| x.watched.is_empty() && x.snap.is_none()) {
            self.extras = None;
        }
    }

    /// Whether `key` holds a value whose expire time has passed (EXEC treats a watched key
    /// that expired meanwhile as modified).
    pub fn is_logically_expired(&mut self, key: &[u8], acc: &Access) -> bool {
        match self.table.find(key, hash_key(key)) {
            // SAFETY: found entries are live.
            Some((_, e)) => unsafe { entry::expire(e) }.is_some_and(|w| acc.now_ms > w),
            None => false,
        }
    }

    /// Mark `key` modified: sets the flags of the clients watching it. Called before the
    /// change: a snapshot being taken saves the key's value first.
    pub fn signal(&mut self, key: &[u8]) {
        self.save_before_change(key);
        self.changes += 1;
        count_modifications(1);
        crate::expire::note_modified(key);
        if let Some(w) = self.watched() {
            if let Some(flags) = w.get(key) {
                flags.iter().for_each(|f| f.store(true, Relaxed));
            }
        }
    }

    /// Do a slice of pending incremental rehashing; returns whether more is left.
    pub fn rehash_step(&mut self, buckets: usize) -> bool {
        self.table.rehash_step(buckets)
    }

    unsafe fn unlink_free(&mut self, link: Link, e: EntryPtr) {
        if entry::expire(e).is_some() {
            self.volatile_remove(e);
        }
        self.count_out(e);
        self.table.unlink(link, e);
        entry::free(e);
    }

    unsafe fn volatile_remove(&mut self, e: EntryPtr) {
        let i = entry::volatile_index(e) as usize;
        self.volatile.swap_remove(i);
        if let Some(&moved) = self.volatile.get(i) {
            entry::set_volatile_index(moved, i as u32);
        }
        if self.volatile.capacity() > 64 && self.volatile.len() * 4 < self.volatile.capacity() {
            self.volatile.shrink_to(self.volatile.len() * 2);
        }
    }
}

/// Eviction and memory reporting (see `crate::evict`): sampling keys with their access data,
/// looking keys up without expiring or touching them, and deleting chosen keys.
impl Stripe {
    /// Call `f` with up to `count` keys sampled for eviction: from consecutive buckets of the
    /// whole stripe (Redis's dictGetSomeKeys), with where each is linked (for
    /// [`Stripe::evict_sampled`]), or, when `volatile_only`, from a random window of the keys
    /// with an expire time. Expired keys are included. `scratch` is working space (left
    /// empty).
    pub fn eviction_sample(
        &mut self,
        volatile_only: bool,
        count: usize,
        scratch: &mut Vec<Sampled>,
        mut f: impl FnMut(EntryRef<'_>, Option<Sampled>),
    ) {
        scratch.clear();
        if volatile_only {
            let n = self.volatile.len();
            if n > 0 {
                let start = self.rng.below(n);
                for i in 0..count.min(n) {
                    f(EntryRef::new(self.volatile[(start + i) % n]), None);
                }
            }
            return;
        }
        self.table.sample(&mut self.rng, count, scratch);
        for &s in scratch.iter() {
            f(EntryRef::new(s.elem), Some(s));
        }
        scratch.clear();
    }

    /// The evictor's sweep over the stripe's keys: call `f` with up to `count` keys (expired
    /// ones included) from consecutive buckets, starting at bucket `*cursor`, which moves past
    /// them; at most `10 * count` buckets are visited. Returns whether the sweep got past the
    /// last bucket (`*cursor` is then back to 0). A resize between two calls may make the
    /// sweep skip or repeat a few keys, which sampling can afford. `f` is also told where each
    /// key is linked, for [`Stripe::evict_sampled`]. `scratch` is working space (left empty).
    pub fn eviction_sweep(
        &mut self,
        cursor: &mut usize,
        count: usize,
        scratch: &mut Vec<Sampled>,
        mut f: impl FnMut(EntryRef<'_>, Sampled),
    ) -> bool {
        scratch.clear();
        let next = self.table.sample_run(*cursor, count, count.saturating_mul(10), scratch);
        for &s in scratch.iter() {
            f(EntryRef::new(s.elem), s);
        }
        scratch.clear();
        let done = next >= self.table.slots();
        *cursor = if done { 0 } else { next };
        done
    }

    /// One uniformly chosen key of the stripe (or of its keys with an expire time), expired
    /// or not, for the random eviction policies.
    pub fn eviction_random(&mut self, volatile_only: bool) -> Option<EntryRef<'_>> {
        let e = if volatile_only {
            let n = self.volatile.len();
            if n == 0 {
                return None;
            }
            self.volatile[self.rng.below(n)]
        } else {
            self.table.random(&mut self.rng)?
        };
        Some(EntryRef::new(e))
    }

    /// A key as it is stored, expired or not, without touching it (Redis's dbFind: MEMORY
    /// USAGE, eviction).
    pub fn peek(&mut self, key: &[u8]) -> Option<EntryRef<'_>> {
        self.table.find(key, hash_key(key)).map(|(_, e)| EntryRef::new(e))
    }

    /// Delete `key` for eviction, expired or not (only if it has an expire time when
    /// `volatile_only`). Watchers are signalled. Returns the bytes it was estimated to hold
    /// ([`EntryRef::memory_usage`]), or `None` if there was no such key.
    pub fn evict(&mut self, key: &[u8], volatile_only: bool) -> Option<usize> {
        self.evict_if(key, volatile_only, false, |_| true).map(|(bytes, _)| bytes)
    }

    /// Like [`Stripe::evict`], but a big collection worth freeing lazily
    /// ([`crate::lazyfree::worth_it`]) is handed back instead of freed, so that it can be freed
    /// on the lazy-free thread (`lazyfree-lazy-eviction`). Returns the estimated bytes and, for
    /// such a collection, the detached key.
    pub fn evict_lazy(&mut self, key: &[u8], volatile_only: bool) -> Option<(usize, Option<Detached>)> {
        self.evict_if(key, volatile_only, true, |_| true)
    }

    /// The evictor's one lookup per victim: delete `key` if it is still a candidate (it exists,
    /// has an expire time when `volatile_only`, and `still` says so of it, e.g. that it did not
    /// get hotter since it was sampled), as [`Stripe::evict_lazy`] does with `lazy`, else as
    /// [`Stripe::evict`] does. Returns the estimated bytes and the detached big collection, if
    /// any; `None` if the key is no longer a candidate (nothing changes then).
    pub fn evict_if(
        &mut self,
        key: &[u8],
        volatile_only: bool,
        lazy: bool,
        still: impl FnOnce(&EntryRef<'_>) -> bool,
    ) -> Option<(usize, Option<Detached>)> {
        let (link, e) = self.table.find(key, hash_key(key))?;
        let entry = EntryRef::new(e);
        if (volatile_only && entry.expire_at().is_none()) || !still(&entry) {
            return None;
        }
        // SAFETY: `e` is live and linked at `link`, found just above with no change since.
        Some(unsafe { self.evict_at(link, e, lazy) })
    }

    /// [`Stripe::evict_if`] for a key the evictor's sweep took ([`Stripe::eviction_sweep`]),
    /// with no change to the stripe since but other such evictions (each one's successor in
    /// its chain given its `prev` then): no lookup. `None` if it is not where `s` says
    /// (nothing changes then).
    ///
    /// # Safety
    /// `s.prev`, if any, must be a live entry of this stripe.
    pub unsafe fn evict_sampled(&mut self, s: Sampled, lazy: bool) -> Option<(usize, Option<Detached>)> {
        let link = self.table.sampled_link(s)?;
        Some(self.evict_at(link, s.elem, lazy))
    }

    /// Delete the entry `e`, linked at `link`, for eviction; see [`Stripe::evict_if`].
    ///
    /// # Safety
    /// `e` must be a live entry of this stripe linked at `link`.
    unsafe fn evict_at(&mut self, link: Link, e: EntryPtr, lazy: bool) -> (usize, Option<Detached>) {
        let entry = EntryRef::new(e);
        let bytes = entry.memory_usage();
        let big = lazy && matches!(entry.value(), ValueRef::Obj(o) if crate::lazyfree::worth_it(o));
        self.signal(entry::key(e));
        // SAFETY: `e` is unlinked before being consumed.
        unsafe {
            if !big {
                self.unlink_free(link, e);
                return (bytes, None);
            }
            if entry::expire(e).is_some() {
                self.volatile_remove(e);
            }
            self.count_out(e);
            self.table.unlink(link, e);
            let expire = entry::expire(e);
            let lru = entry::lru(e);
            (bytes, Some(Detached { value: entry::into_payload(e), expire, lru }))
        }
    }

    /// Bytes of overhead of the key table's buckets and of the expire list, apart (MEMORY
    /// STATS `overhead.hashtable.main` / `.expires`).
    pub fn overhead_parts(&self) -> (usize, usize) {
        (self.table.bucket_bytes(), self.volatile.capacity() * std::mem::size_of::<EntryPtr>())
    }
}

/// Active expiry and background upkeep (see `crate::expire`).
impl Stripe {
    /// Look at up to `max` keys chosen at random among those with an expire time (at most as
    /// many as there are), deleting those whose expire time is before `now_ms`. Random picks
    /// keep each batch's stale share an unbiased estimate of the stripe's (the volatile list
    /// is in insertion order, which correlates with deadlines). Deleted keys are counted in
    /// [`EXPIRED_KEYS`], signal their watchers and, with `keys`, are appended there.
    /// Returns `(looked at, deleted)`.
    pub fn expire_sample(
        &mut self,
        max: usize,
        now_ms: i64,
        mut keys: Option<&mut Vec<Box<[u8]>>>,
    ) -> (usize, usize) {
        let n = max.min(self.volatile.len());
        let (mut looked, mut expired) = (0, 0);
        for _ in 0..n {
            if self.volatile.is_empty() {
                break;
            }
            looked += 1;
            let i = self.rng.below(self.volatile.len());
            if self.expire_at_index(i, now_ms, keys.as_deref_mut()) {
                expired += 1;
            }
        }
        (looked, expired)
    }

    /// Like [`Stripe::expire_sample`], but walking the volatile list from `*cursor` (which
    /// moves on and wraps, so successive calls visit every key).
    pub fn expire_sweep(
        &mut self,
        cursor: &mut usize,
        max: usize,
        now_ms: i64,
        mut keys: Option<&mut Vec<Box<[u8]>>>,
    ) -> (usize, usize) {
        let n = max.min(self.volatile.len());
        let (mut looked, mut expired) = (0, 0);
        for _ in 0..n {
            if self.volatile.is_empty() {
                break;
            }
            if *cursor >= self.volatile.len() {
                *cursor = 0;
            }
            looked += 1;
            // Deleting moves the list's last key to `*cursor`: it is looked at next.
            if self.expire_at_index(*cursor, now_ms, keys.as_deref_mut()) {
                expired += 1;
            } else {
                *cursor += 1;
            }
        }
        (looked, expired)
    }

    /// Delete the key at position `i` of the volatile list if its time ran out before
    /// `now_ms`; returns whether it did.
    fn expire_at_index(&mut self, i: usize, now_ms: i64, keys: Option<&mut Vec<Box<[u8]>>>) -> bool {
        let Some(&e) = self.volatile.get(i) else { return false };
        // SAFETY: the volatile list only holds live entries that have an expire time.
        let when = unsafe { entry::expire(e) }.unwrap_or(i64::MAX);
        if now_ms <= when {
            return false;
        }
        // SAFETY: as above; the key is copied out before the entry is freed.
        let key = unsafe { entry::key(e) };
        let Some((link, found)) = self.table.find(key, hash_key(key)) else { return false };
        if found != e {
            return false;
        }
        if let Some(k) = keys {
            k.push(key.into());
        }
        self.signal(key);
        // SAFETY: `e` is live and linked at `link`; a big value may go to the lazy-free
        // thread (`lazyfree-lazy-expire`).
        unsafe { self.unlink_dispose(link, e, crate::lazyfree::lazy_expire()) };
        EXPIRED_KEYS.fetch_add(1, Relaxed);
        true
    }

    /// Background upkeep for a stripe nobody may be touching: move up to `buckets` buckets of
    /// a pending resize, or give back a bucket array at least twice the size inserting the
    /// remaining keys would have grown (rebuilt in one go while small; big tables shrink
    /// incrementally by themselves), and a volatile list far larger than its keys.
    pub fn upkeep(&mut self, buckets: usize) {
        let len = self.table.len();
        if len <= UPKEEP_REBUILD_MAX && self.table.slots() >= 2 * natural_slots(len).max(1) {
            self.rebuild_table();
        } else if self.table.is_rehashing() {
            self.table.rehash_step(buckets);
        }
        let (len, cap) = (self.volatile.len(), self.volatile.capacity());
        if len == 0 && cap > 0 {
            self.volatile = Vec::new();
        } else if cap > 16 && cap > 4 * len {
            self.volatile.shrink_to(len * 2);
        }
    }

    /// Re-insert every key into a fresh table: its size becomes what the keys need.
    fn rebuild_table(&mut self) {
        let mut all: Vec<EntryPtr> = Vec::with_capacity(self.table.len());
        self.table.drain(|e| all.push(e));
        let mut table = Table::new();
        for e in all {
            // SAFETY: drained entries are live and no longer linked anywhere.
            let h = hash_key(unsafe { entry::key(e) });
            table.insert(e, h);
        }
        while table.rehash_step(1 << 16) {}
        self.table = table;
    }
}

/// Largest stripe [`Stripe::upkeep`] rebuilds in one go (a few hundred microseconds).
const UPKEEP_REBUILD_MAX: usize = 4096;

/// The bucket count a table reaches by inserting `len` keys from empty (mirrors the growth
/// rule of `crate::table`: at most two keys per bucket, at least 4 buckets).
fn natural_slots(len: usize) -> usize {
    if len == 0 {
        return 0;
    }
    let mut size = 4;
    while len > size * 2 {
        size *= 2;
    }
    size
}

/// Lazy freeing (see `crate::lazyfree`): taking keys out with their values, one or all at
/// once, so that big values are freed outside the stripe's lock or on the lazy-free thread.
impl Stripe {
    /// Delete a live key (DEL, UNLINK). An expired key is reclaimed as any lookup does and
    /// counts as absent: `None`. A string or a packed collection (one allocation) is freed
    /// here: `Some(None)`. A big collection is handed back, to be freed once the stripe is
    /// unlocked, here or on the lazy-free thread ([`crate::lazyfree::free_obj`]):
    /// `Some(Some(obj))`. Watchers are signalled.
    pub fn take_value(&mut self, key: &[u8], acc: &Access) -> Option<Option<Box<Object>>> {
        let (link, e) = self.lookup(key, &acc.no_touch())?;
        self.signal(key);
        // SAFETY: `e` is live and linked at `link`; it is unlinked before being consumed.
        unsafe {
            if !matches!(entry::payload(e), PayloadRef::Obj(_)) {
                self.unlink_free(link, e);
                return Some(None);
            }
            if entry::expire(e).is_some() {
                self.volatile_remove(e);
            }
            self.count_out(e);
            self.table.unlink(link, e);
            match entry::into_payload(e) {
                OwnedPayload::Obj(o) => Some(Some(o)),
                _ => Some(None),
            }
        }
    }

    /// Remove every key at once and hand them back: they are freed when the bundle is
    /// dropped (on the lazy-free thread for FLUSHDB / FLUSHALL ASYNC, see
    /// [`crate::lazyfree::flush_db_async`]). The stripe is left with an empty table. Watchers
    /// of keys that existed (expired or not) are signalled, as Redis's
    /// touchAllWatchedKeysInDb; a snapshot being taken saves them first.
    pub fn take_all(&mut self) -> FlushedKeys {
        self.save_all_before_change();
        crate::expire::note_flushed();
        let n = self.table.len();
        if let Some(w) = self.watched() {
            for (key, flags) in w.iter() {
                if self.table.get(key, hash_key(key)).is_some() {
                    flags.iter().for_each(|f| f.store(true, Relaxed));
                }
            }
        }
        self.volatile = Vec::new();
        self.size_track = None;
        self.sizes.clear();
        count_modifications(n as u64);
        self.changes += n as u64;
        FlushedKeys { table: std::mem::take(&mut self.table) }
    }

    /// Unlink `e` and free it, or, when `lazy` and its value is a big collection worth it
    /// ([`crate::lazyfree::worth_it`]), hand the value to the lazy-free thread.
    unsafe fn unlink_dispose(&mut self, link: Link, e: EntryPtr, lazy: bool) {
        if lazy && matches!(entry::payload(e), PayloadRef::Obj(o) if crate::lazyfree::worth_it(o)) {
            if entry::expire(e).is_some() {
                self.volatile_remove(e);
            }
            self.count_out(e);
            self.table.unlink(link, e);
            crate::lazyfree::free_payload(entry::into_payload(e), true);
        } else {
            self.unlink_free(link, e);
        }
    }
}

/// [`entry::rebuild`] for a value being replaced (SET over a key, `EntryMut::set_value`): with
/// `lazyfree-lazy-server-del` ([`crate::lazyfree::server_del`]) a big old value goes to the
/// lazy-free thread instead of being freed here.
unsafe fn rebuild_dispose(
    e: EntryPtr,
    payload: Payload,
    expire: Option<(i64, u32)>,
    reserved: Option<Reserved>,
) -> EntryPtr {
    let lazy = crate::lazyfree::server_del()
        && matches!(entry::payload(e), PayloadRef::Obj(o) if crate::lazyfree::worth_it(o));
    if !lazy {
        return entry::rebuild(e, payload, expire, reserved);
    }
    let new = entry::create_in(reserved, entry::key(e), payload, expire, entry::access_word(e));
    entry::set_next(new, entry::next(e));
    crate::lazyfree::free_payload(entry::into_payload(e), true);
    new
}

impl Detached {
    /// The value it carries, owned (the expire time and access data are dropped).
    pub fn into_payload(self) -> OwnedPayload {
        self.value
    }
}

/// The keys of a stripe taken out all at once ([`Stripe::take_all`]); freed when dropped.
pub struct FlushedKeys {
    table: Table,
}

impl FlushedKeys {
    /// Number of keys.
    pub fn len(&self) -> usize {
        self.table.len()
    }

    /// Whether there are no keys.
    pub fn is_empty(&self) -> bool {
        self.table.is_empty()
    }

    /// Whether dropping it frees anything (keys or a bucket array).
    pub fn holds_memory(&self) -> bool {
        !self.table.is_empty() || self.table.slots() > 0
    }
}

impl Drop for FlushedKeys {
    fn drop(&mut self) {
        // SAFETY: the entries were unlinked from their stripe with the table that holds them;
        // drained entries are no longer reachable from anywhere.
        self.table.drain(|e| unsafe { entry::free(e) });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn acc(now: i64) -> Access {
        Access::at(now)
    }

    #[test]
    fn set_get_overwrite_and_encodings() {
        let mut s = Stripe::new(1);
        let a = acc(1000);
        s.set(b"n", NewValue::Str(b"123"), SetExpire::Clear, &a);
        s.set(b"e", NewValue::Str(b"hello"), SetExpire::Clear, &a);
        s.set(b"r", NewValue::Str(&[b'x'; 45]), SetExpire::Clear, &a);
        assert_eq!(s.get(b"n", &a).unwrap().encoding(), "int");
        assert_eq!(s.get(b"e", &a).unwrap().encoding(), "embstr");
        assert_eq!(s.get(b"r", &a).unwrap().encoding(), "raw");
        assert_eq!(s.get(b"n", &a).unwrap().str(), Some(StrRef::Int(123)));
        s.set(b"n", NewValue::Str(b"0123"), SetExpire::Clear, &a);
        assert_eq!(s.get(b"n", &a).unwrap().str(), Some(StrRef::Bytes(b"0123")));
        assert_eq!(s.len(), 3);
        assert!(s.remove(b"n", &a));
        assert!(!s.remove(b"n", &a));
        assert_eq!(s.len(), 2);
    }

    #[test]
    fn expiry_is_lazy_and_exact() {
        let mut s = Stripe::new(1);
        s.set(b"k", NewValue::Str(b"v"), SetExpire::At(2000), &acc(1000));
        s.set(b"p", NewValue::Str(b"v"), SetExpire::Clear, &acc(1000));
        assert_eq!(s.volatile_len(), 1);
        assert!(s.get(b"k", &acc(2000)).is_some(), "alive at its deadline");
        assert!(s.get(b"k", &acc(2001)).is_none());
        assert_eq!(s.len(), 1);
        assert_eq!(s.volatile_len(), 0);
    }

    #[test]
    fn expire_add_change_remove_keeps_volatile_list_consistent() {
        let mut s = Stripe::new(1);
        let a = acc(0);
        for i in 0..50u32 {
            s.set(&i.to_be_bytes(), NewValue::Int(i as i64), SetExpire::Clear, &a);
            s.get_mut(&i.to_be_bytes(), &a).unwrap().set_expire(Some(100 + i as i64));
        }
        assert_eq!(s.volatile_len(), 50);
        for i in (0..50u32).step_by(2) {
            s.get_mut(&i.to_be_bytes(), &a).unwrap().set_expire(None);
        }
        for i in (1..50u32).step_by(4) {
            s.get_mut(&i.to_be_bytes(), &a).unwrap().set_value(NewValue::Plain(&[7; 100]));
        }
        assert_eq!(s.volatile_len(), 25);
        for i in 0..50u32 {
            let e = s.get(&i.to_be_bytes(), &a).unwrap();
            assert_eq!(e.expire_at().is_some(), i % 2 == 1, "{i}");
        }
        // Everything with an expire goes at t=200; the rest stays.
        for i in 0..50u32 {
            let alive = s.get(&i.to_be_bytes(), &acc(200)).is_some();
            assert_eq!(alive, i % 2 == 0);
        }
        assert_eq!(s.volatile_len(), 0);
    }

    #[test]
    fn keepttl_take_put_and_watch() {
        let mut s = Stripe::new(1);
        let a = acc(0);
        s.set(b"k", NewValue::Str(b"v"), SetExpire::At(500), &a);
        s.set(b"k", NewValue::Str(b"w"), SetExpire::Keep, &a);
        assert_eq!(s.get(b"k", &a).unwrap().expire_at(), Some(500));
        let flag = Arc::new(AtomicBool::new(false));
        s.watch(b"k2", &flag);
        let d = s.take(b"k", &a).unwrap();
        assert!(!flag.load(Relaxed));
        s.put(b"k2", d, &a);
        assert!(flag.load(Relaxed));
        let e = s.get(b"k2", &a).unwrap();
        assert_eq!(e.expire_at(), Some(500));
        assert_eq!(e.str(), Some(StrRef::Bytes(b"w")));
        assert!(s.get(b"k", &a).is_none());
        assert_eq!(s.volatile_len(), 1);
    }

    #[test]
    fn str_buffer_converts_to_raw() {
        let mut s = Stripe::new(1);
        let a = acc(0);
        s.set(b"k", NewValue::Str(b"12"), SetExpire::Clear, &a);
        s.get_mut(b"k", &a).unwrap().str_buffer().unwrap().extend_from_slice(b"ab");
        let e = s.get(b"k", &a).unwrap();
        assert_eq!(e.encoding(), "raw");
        assert_eq!(e.str(), Some(StrRef::Bytes(b"12ab")));
    }
}
