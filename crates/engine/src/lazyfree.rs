//! Lazy freeing, as Redis 7.0's `lazyfree.c`: big values leave the keyspace at once and are
//! freed on a background thread, so that deleting a 10-million-element hash (UNLINK,
//! FLUSHALL ASYNC, an eviction or an expiry with the matching `lazyfree-lazy-*` option)
//! does not stall anyone.
//!
//! # What goes to the thread
//! - One value ([`free_obj`], [`free_payload`], [`free_detached`]) when freeing is asked to
//!   be lazy and its [`free_effort`] (the number of allocations freeing it walks) exceeds
//!   [`LAZYFREE_THRESHOLD`] (64), as Redis's `freeObjAsync`; anything smaller is freed on
//!   the spot, where a hand-over would cost more than the free. Effort: the number of
//!   elements of a big hash, set or sorted set; the number of chunks (quicklist nodes) of a
//!   big list; 1 for strings and packed (inline) collections, which are one allocation.
//! - A whole database's keys, always ([`flush_db_async`], Redis's `emptyDbAsync`): every
//!   stripe's table is swapped for an empty one under its lock and the old tables go to the
//!   thread in one job.
//!
//! INFO's `lazyfree_pending_objects` ([`pending_objects`]) counts values handed over and
//! not yet freed (a flushed database counts its keys), `lazyfreed_objects`
//! ([`freed_objects`]) those freed so far, as Redis counts them.
//!
//! # Which deletions are lazy
//! The caller decides for the deletions it makes (DEL with `lazyfree-lazy-user-del`, UNLINK
//! always, FLUSH* with ASYNC or `lazyfree-lazy-user-flush`, eviction with
//! `lazyfree-lazy-eviction`). Deletions the engine makes by itself follow two process-wide
//! switches the command layer keeps in step with the configuration ([`configure`]):
//! [`server_del`] (`lazyfree-lazy-server-del`: a value replaced by SET, RENAME, COPY
//! REPLACE, a *STORE command, ... or a key deleted by a command) and [`lazy_expire`]
//! (`lazyfree-lazy-expire`: keys reclaimed by lazy or active expiry).
//!
//! The thread is started on first use and lives as long as the process. Freeing a value
//! only releases memory, which any thread may do: the allocation counters behind
//! `used_memory` go down as the thread works.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{channel, Sender};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use crate::db::Db;
use crate::entry::OwnedPayload;
use crate::object::Object;
use crate::stripe::{Detached, FlushedKeys};
use crate::value::ValueRef;

/// Values whose free effort is at most this are freed on the spot even when lazy freeing is
/// asked for (Redis's `LAZYFREE_THRESHOLD`).
pub const LAZYFREE_THRESHOLD: usize = 64;

static PENDING: AtomicU64 = AtomicU64::new(0);
static PENDING_BYTES: AtomicU64 = AtomicU64::new(0);
static FREED: AtomicU64 = AtomicU64::new(0);
static SERVER_DEL: AtomicBool = AtomicBool::new(false);
static EXPIRE: AtomicBool = AtomicBool::new(false);
static QUEUE: OnceLock<Option<Sender<Job>>> = OnceLock::new();

/// What a job frees.
enum Work {
    Obj(#[allow(dead_code)] Box<Object>),
    Detached(#[allow(dead_code)] Detached),
    Keys(#[allow(dead_code)] Vec<FlushedKeys>),
}

/// A job for the thread: the work, how many objects it counts for, and the bytes it was
/// estimated to hold (only [`free_later`] gives an estimate).
struct Job {
    work: Work,
    objects: u64,
    bytes: u64,
}

// SAFETY: a job owns what it frees outright: it was unlinked from the keyspace before being
// handed over, nothing else points into it, and dropping it only releases memory.
unsafe impl Send for Job {}

impl Job {
    /// Free the work and settle the counters.
    fn run(self) {
        let Job { work, objects, bytes } = self;
        drop(work);
        PENDING_BYTES.fetch_sub(bytes, Ordering::AcqRel);
        FREED.fetch_add(objects, Ordering::AcqRel);
        PENDING.fetch_sub(objects, Ordering::AcqRel);
    }
}

fn queue() -> Option<&'static Sender<Job>> {
    QUEUE
        .get_or_init(|| {
            let (tx, rx) = channel::<Job>();
            let spawned = std::thread::Builder::new().name("brim-lazyfree".into()).spawn(move || {
                while let Ok(job) = rx.recv() {
                    job.run();
                }
            });
            spawned.ok().map(|_| tx)
        })
        .as_ref()
}

/// Hand a job to the thread (or run it here if the thread could not be started).
fn submit(job: Job) {
    PENDING.fetch_add(job.objects, Ordering::AcqRel);
    PENDING_BYTES.fetch_add(job.bytes, Ordering::AcqRel);
    let job = match queue() {
        Some(tx) => match tx.send(job) {
            Ok(()) => return,
            Err(e) => e.0,
        },
        None => job,
    };
    job.run();
}

/// How many allocations freeing `obj` walks (Redis's `lazyfreeGetFreeEffort`): elements of a
/// hash, set or sorted set, chunks of a list.
pub fn free_effort_obj(obj: &Object) -> usize {
    match obj {
        Object::List(l) => l.chunk_count(),
        Object::Hash(h) => h.len(),
        Object::Set(s) => s.len(),
        Object::ZSet(z) => z.len(),
    }
}

/// How many allocations freeing a value walks: [`free_effort_obj`] for a big collection, 1
/// for anything else (a string or a packed collection is at most one allocation).
pub fn free_effort(value: ValueRef<'_>) -> usize {
    match value {
        ValueRef::Obj(o) => free_effort_obj(o),
        _ => 1,
    }
}

/// Whether freeing `obj` lazily goes to the thread (its effort exceeds the threshold).
pub fn worth_it(obj: &Object) -> bool {
    free_effort_obj(obj) > LAZYFREE_THRESHOLD
}

/// Free a big collection: on the thread when `lazy` and its effort exceeds
/// [`LAZYFREE_THRESHOLD`] (counted in [`pending_objects`] until done), else here. Returns
/// whether it went to the thread.
pub fn free_obj(obj: Box<Object>, lazy: bool) -> bool {
    if lazy && worth_it(&obj) {
        submit(Job { work: Work::Obj(obj), objects: 1, bytes: 0 });
        true
    } else {
        drop(obj);
        false
    }
}

/// Free a value taken out of the keyspace, as [`free_obj`] (anything but a big collection is
/// freed here). Returns whether it went to the thread.
pub fn free_payload(value: OwnedPayload, lazy: bool) -> bool {
    match value {
        OwnedPayload::Obj(o) => free_obj(o, lazy),
        other => {
            drop(other);
            false
        }
    }
}

/// Free a detached key (from [`crate::Stripe::take`] or `evict_lazy`), as [`free_obj`].
/// Returns whether it went to the thread.
pub fn free_detached(d: Detached, lazy: bool) -> bool {
    free_payload(d.into_payload(), lazy)
}

/// Free `d` on the thread whatever its effort, counting `bytes` (its estimated size) in
/// [`pending_bytes`] until it is freed. For eviction, which counts what is on its way out as
/// freed already.
pub fn free_later(d: Detached, bytes: u64) {
    submit(Job { work: Work::Detached(d), objects: 1, bytes });
}

/// Free the keys of flushed stripes on the thread, counting each key as one object (Redis's
/// `emptyDbAsync`). Returns the number of keys.
pub fn free_keys(parts: Vec<FlushedKeys>) -> usize {
    let n: usize = parts.iter().map(FlushedKeys::len).sum();
    submit(Job { work: Work::Keys(parts), objects: n as u64, bytes: 0 });
    n
}

/// Empty `db` at once, its keys to be freed on the thread (FLUSHDB / FLUSHALL ASYNC, Redis's
/// `emptyDbAsync`): each stripe is locked just long enough to swap its table for an empty
/// one. Watchers of keys that existed are signalled. Returns the number of keys removed.
pub fn flush_db_async(db: &Db) -> usize {
    let mut parts = Vec::new();
    for i in 0..db.stripe_count() {
        let keys = db.lock_stripe(i).take_all();
        if keys.holds_memory() {
            parts.push(keys);
        }
    }
    free_keys(parts)
}

/// Values handed to the thread and not freed yet (a flushed database counts its keys).
pub fn pending_objects() -> u64 {
    PENDING.load(Ordering::Acquire)
}

/// Values the thread freed so far (INFO `lazyfreed_objects`).
pub fn freed_objects() -> u64 {
    FREED.load(Ordering::Acquire)
}

/// Estimated bytes of the values handed over with [`free_later`] and not freed yet.
pub fn pending_bytes() -> u64 {
    PENDING_BYTES.load(Ordering::Acquire)
}

/// Zero [`freed_objects`] (CONFIG RESETSTAT, as Redis's `lazyfreeResetStats`).
pub fn reset_stats() {
    FREED.store(0, Ordering::Release);
}

/// Wait up to `max` for everything handed over to be freed; returns whether it was.
pub fn wait_idle(max: Duration) -> bool {
    let deadline = Instant::now() + max;
    while pending_objects() > 0 {
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_micros(200));
    }
    true
}

/// Set the switches for the deletions the engine makes by itself: `server_del`
/// (`lazyfree-lazy-server-del`) and `expire` (`lazyfree-lazy-expire`). Cheap enough to call
/// before every command (two relaxed loads, stores only on change).
#[inline]
pub fn configure(server_del: bool, expire: bool) {
    if SERVER_DEL.load(Ordering::Relaxed) != server_del {
        SERVER_DEL.store(server_del, Ordering::Relaxed);
    }
    if EXPIRE.load(Ordering::Relaxed) != expire {
        EXPIRE.store(expire, Ordering::Relaxed);
    }
}

/// `lazyfree-lazy-server-del`: values replaced (SET, RENAME, COPY REPLACE, *STORE, ...) or
/// keys deleted by commands other than DEL/UNLINK go to the thread when big.
#[inline]
pub fn server_del() -> bool {
    SERVER_DEL.load(Ordering::Relaxed)
}

/// `lazyfree-lazy-expire`: keys reclaimed by lazy or active expiry go to the thread when big.
#[inline]
pub fn lazy_expire() -> bool {
    EXPIRE.load(Ordering::Relaxed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hash::Hash;
    use crate::list::{End, Limit, List};
    use crate::packed::Elem;
    use crate::set::Set;
    use crate::stripe::{SetExpire, Stripe};
    use crate::value::NewValue;
    use crate::zset::ZSet;
    use crate::{Access, Keyspace};
    use parking_lot::Mutex;
    use proptest::prelude::*;

    /// The counters and switches are process-wide: tests that read them run one at a time.
    static SERIAL: Mutex<()> = Mutex::new(());

    fn hash(n: usize) -> Box<Object> {
        let mut h = Hash::new();
        for i in 0..n {
            h.insert(format!("field:{i}").as_bytes(), b"value");
        }
        Box::new(Object::Hash(h))
    }

    fn set(n: usize) -> Box<Object> {
        let mut s = Set::new();
        for i in 0..n {
            s.insert(format!("m{i}").as_bytes());
        }
        Box::new(Object::Set(s))
    }

    fn zset(n: usize) -> Box<Object> {
        let mut z = ZSet::new();
        for i in 0..n {
            z.insert(format!("m{i}").as_bytes(), i as f64);
        }
        Box::new(Object::ZSet(z))
    }

    /// A list of `chunks` chunks of one element each (`list-max-listpack-size 1`).
    fn list(chunks: usize) -> Box<Object> {
        let mut l = List::new();
        let limit = Limit::from_fill(1);
        for i in 0..chunks {
            l.push(End::Tail, Elem::Int(i as i64), limit);
        }
        Box::new(Object::List(l))
    }

    /// Wait for the thread, then the change of `freed_objects` since `before`.
    fn freed_since(before: u64) -> u64 {
        assert!(wait_idle(Duration::from_secs(20)), "the lazy-free thread did not catch up");
        freed_objects() - before
    }

    #[test]
    fn effort_is_elements_or_chunks() {
        assert_eq!(free_effort_obj(&hash(100)), 100);
        assert_eq!(free_effort_obj(&set(70)), 70);
        assert_eq!(free_effort_obj(&zset(65)), 65);
        assert_eq!(free_effort_obj(&list(80)), 80);
        let packed = [0u8; 4];
        assert_eq!(free_effort(ValueRef::Packed(crate::PackedKind::Hash, &packed)), 1);
        assert_eq!(free_effort(ValueRef::Str(crate::StrRef::Int(5))), 1);
        assert_eq!(free_effort(ValueRef::Obj(&hash(3))), 3);
    }

    #[test]
    fn only_values_above_the_threshold_go_to_the_thread() {
        let _g = SERIAL.lock();
        let before = freed_objects();
        assert!(!free_obj(hash(LAZYFREE_THRESHOLD), true), "64 is freed inline");
        assert!(!free_obj(hash(1000), false), "not lazy: inline");
        assert!(free_obj(hash(LAZYFREE_THRESHOLD + 1), true));
        assert!(free_obj(set(200), true));
        assert!(free_obj(zset(200), true));
        assert!(free_obj(list(65), true));
        assert!(!free_obj(list(64), true));
        assert!(!free_payload(OwnedPayload::Bytes(vec![1; 1000]), true));
        assert!(free_payload(OwnedPayload::Obj(hash(100)), true));
        assert_eq!(freed_since(before), 5);
        assert_eq!(pending_objects(), 0);
    }

    #[test]
    fn a_big_free_is_pending_while_the_thread_works() {
        let _g = SERIAL.lock();
        let before = freed_objects();
        assert!(free_obj(hash(300_000), true));
        // Returned at once: the 300,000 frees happen on the thread.
        let seen_pending = pending_objects();
        assert_eq!(freed_since(before), 1);
        assert!(seen_pending <= 1);
    }

    #[test]
    fn free_later_ignores_the_threshold_and_counts_bytes() {
        let _g = SERIAL.lock();
        let before = freed_objects();
        let mut s = Stripe::new(1);
        let a = Access::at(0);
        s.set(b"k", NewValue::Str(b"v"), SetExpire::Clear, &a);
        let d = s.take(b"k", &a).unwrap();
        free_later(d, 1234);
        assert_eq!(freed_since(before), 1);
        assert_eq!(pending_bytes(), 0);
    }

    #[test]
    fn flush_async_counts_keys_and_empties_at_once() {
        let _g = SERIAL.lock();
        let ks = Keyspace::new(2, 8);
        let a = Access::at(0);
        let db = ks.db(0);
        for i in 0..500 {
            let k = format!("key:{i}");
            let mut s = db.lock(k.as_bytes());
            if i % 100 == 0 {
                s.set(k.as_bytes(), NewValue::Obj(hash(1000)), SetExpire::At(10_000), &a);
            } else {
                s.set(k.as_bytes(), NewValue::Str(k.as_bytes()), SetExpire::Clear, &a);
            }
        }
        let before = freed_objects();
        assert_eq!(flush_db_async(db), 500);
        assert_eq!(db.len(), 0);
        assert_eq!(db.volatile_len(), 0);
        assert_eq!(flush_db_async(ks.db(1)), 0);
        assert_eq!(freed_since(before), 500);
        // The database works as before.
        db.lock(b"x").set(b"x", NewValue::Int(1), SetExpire::At(5), &a);
        assert_eq!(db.len(), 1);
        assert_eq!(db.volatile_len(), 1);
    }

    #[test]
    fn flush_signals_only_watched_keys_that_exist() {
        let mut s = Stripe::new(3);
        let a = Access::at(0);
        s.set(b"here", NewValue::Str(b"v"), SetExpire::Clear, &a);
        let here = std::sync::Arc::new(AtomicBool::new(false));
        let gone = std::sync::Arc::new(AtomicBool::new(false));
        s.watch(b"here", &here);
        s.watch(b"missing", &gone);
        assert_eq!(s.clear(), 1);
        assert!(here.load(Ordering::Relaxed));
        assert!(!gone.load(Ordering::Relaxed));
    }

    #[test]
    fn server_del_switch_frees_replaced_and_deleted_values_lazily() {
        let _g = SERIAL.lock();
        let a = Access::at(0);
        let mut s = Stripe::new(2);
        let before = freed_objects();
        // Off: replaced values are freed in place.
        configure(false, false);
        s.set(b"h", NewValue::Obj(hash(100)), SetExpire::Clear, &a);
        s.set(b"h", NewValue::Str(b"x"), SetExpire::Clear, &a);
        assert_eq!(freed_since(before), 0);
        configure(true, false);
        // SET over a big value, keeping the expire time.
        s.set(b"h", NewValue::Obj(hash(100)), SetExpire::At(50), &a);
        s.set(b"h", NewValue::Str(b"x"), SetExpire::Keep, &a);
        assert_eq!(s.get(b"h", &a).map(|e| e.expire_at()), Some(Some(50)));
        // Replacing through an EntryMut.
        s.set(b"g", NewValue::Obj(set(100)), SetExpire::Clear, &a);
        s.get_mut(b"g", &a).unwrap().set_value(NewValue::Int(3));
        // Deleting through an EntryMut / remove.
        s.set(b"z", NewValue::Obj(zset(100)), SetExpire::At(70), &a);
        assert!(s.remove(b"z", &a));
        // Small ones never go.
        s.set(b"small", NewValue::Obj(hash(10)), SetExpire::Clear, &a);
        assert!(s.remove(b"small", &a));
        configure(false, false);
        assert_eq!(freed_since(before), 3);
        assert_eq!(s.len(), 2);
        assert_eq!(s.volatile_len(), 1);
        assert_eq!(s.get(b"g", &a).and_then(|e| e.str()), Some(crate::StrRef::Int(3)));
    }

    #[test]
    fn expire_switch_frees_expired_values_lazily() {
        let _g = SERIAL.lock();
        let mut s = Stripe::new(4);
        let before = freed_objects();
        configure(false, true);
        s.set(b"a", NewValue::Obj(hash(100)), SetExpire::At(10), &Access::at(0));
        s.set(b"b", NewValue::Obj(hash(100)), SetExpire::At(10), &Access::at(0));
        s.set(b"c", NewValue::Obj(hash(100)), SetExpire::At(10), &Access::at(0));
        // Lazy expiry on lookup.
        assert!(s.get(b"a", &Access::at(11)).is_none());
        // Active expiry.
        let mut cursor = 0;
        let (_, expired) = s.expire_sweep(&mut cursor, 10, 11, None);
        assert_eq!(expired, 2);
        configure(false, false);
        assert_eq!(freed_since(before), 3);
        assert!(s.is_empty());
        assert_eq!(s.volatile_len(), 0);
    }

    #[test]
    fn take_value_hands_back_big_values_only() {
        let a = Access::at(100);
        let mut s = Stripe::new(5);
        s.set(b"str", NewValue::Str(b"hello"), SetExpire::At(1000), &a);
        s.set(b"big", NewValue::Obj(hash(5)), SetExpire::At(1000), &a);
        s.set(b"old", NewValue::Obj(hash(5)), SetExpire::At(50), &a);
        assert!(matches!(s.take_value(b"str", &a), Some(None)));
        assert!(s.take_value(b"str", &a).is_none());
        assert!(s.take_value(b"old", &a).is_none(), "expired: absent");
        match s.take_value(b"big", &a) {
            Some(Some(o)) => assert_eq!(free_effort_obj(&o), 5),
            _ => panic!("the hash should come back"),
        }
        assert!(s.is_empty());
        assert_eq!(s.volatile_len(), 0);
    }

    #[derive(Debug, Clone)]
    enum Op {
        SetStr(u8),
        SetBig(u8, u16, bool),
        Del(u8, bool),
        Expire(u8),
        Flush(bool),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            3 => any::<u8>().prop_map(|k| Op::SetStr(k % 16)),
            3 => (any::<u8>(), 0u16..200, any::<bool>()).prop_map(|(k, n, e)| Op::SetBig(k % 16, n, e)),
            3 => (any::<u8>(), any::<bool>()).prop_map(|(k, l)| Op::Del(k % 16, l)),
            1 => any::<u8>().prop_map(|k| Op::Expire(k % 16)),
            1 => any::<bool>().prop_map(Op::Flush),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        /// Against a model of which keys exist and what they hold: deleting (lazily or not),
        /// replacing, expiring and flushing keep the stripe consistent, and exactly the values
        /// above the threshold deleted lazily are counted by the thread.
        #[test]
        fn lazy_and_inline_deletes_agree_with_a_model(ops in proptest::collection::vec(op(), 1..60)) {
            let _g = SERIAL.lock();
            configure(false, false);
            let before = freed_objects();
            let mut s = Stripe::new(9);
            let mut model: std::collections::BTreeMap<u8, (usize, Option<i64>)> = Default::default();
            let mut expect = 0u64;
            let mut now = 1000i64;
            for o in ops {
                now += 1;
                let a = Access::at(now);
                model.retain(|_, (_, exp)| exp.is_none_or(|w| now <= w));
                match o {
                    Op::SetStr(k) => {
                        s.set(&[k], NewValue::Str(b"v"), SetExpire::Clear, &a);
                        model.insert(k, (0, None));
                    }
                    Op::SetBig(k, n, e) => {
                        let exp = e.then_some(now + 2);
                        let when = exp.map_or(SetExpire::Clear, SetExpire::At);
                        s.set(&[k], NewValue::Obj(hash(n as usize)), when, &a);
                        model.insert(k, (n as usize, exp));
                    }
                    Op::Del(k, lazy) => {
                        let got = s.take_value(&[k], &a);
                        let want = model.remove(&k);
                        prop_assert_eq!(got.is_some(), want.is_some());
                        if let Some(Some(obj)) = got {
                            let n = want.map_or(0, |w| w.0);
                            prop_assert_eq!(free_effort_obj(&obj), n);
                            if free_obj(obj, lazy) {
                                expect += 1;
                            }
                        }
                    }
                    Op::Expire(k) => {
                        if let Some(mut e) = s.get_mut(&[k], &a) {
                            e.set_expire(Some(now));
                        }
                        if let Some(m) = model.get_mut(&k) {
                            m.1 = Some(now);
                        }
                    }
                    Op::Flush(lazy) => {
                        let keys = s.take_all();
                        let n = keys.len();
                        prop_assert!(s.is_empty());
                        prop_assert!(n >= model.len());
                        model.clear();
                        if lazy {
                            expect += free_keys(vec![keys]) as u64;
                        }
                    }
                }
                let live = model.len();
                let mut seen = 0;
                s.for_each(&a, |_| seen += 1);
                prop_assert_eq!(seen, live);
            }
            prop_assert_eq!(freed_since(before), expect);
        }
    }
}
