//! Point-in-time snapshots of a stripe, key by key (BGSAVE, AOF rewrite), without copying
//! the stripe and without a fork.
//!
//! Every entry carries a one-bit *snapshot mark* (`crate::entry::snap_mark`) and every stripe
//! a `mark` value meaning "saved, or not part of the snapshot". Arming a stripe flips its
//! `mark`: at that instant every entry it holds becomes unsaved. From then on:
//! - a new entry is created with the stripe's `mark` (it is not part of the snapshot);
//! - a client about to change or delete an unsaved entry first serializes it as it is (into
//!   the stripe's `early` buffer, handed to the saver in pieces) and marks it saved: only the
//!   key being written is copied, never the whole stripe;
//! - the saver walks the stripe a few hundred keys per step under the stripe's lock,
//!   serializing the entries still unsaved and marking them. It walks the buckets in index
//!   order while the table keeps its size and is not rehashing (entries stay in their
//!   bucket then); when that changes, it starts over with a SCAN cursor, which returns every
//!   entry present from its first step to its last whatever resizes happen in between. An
//!   entry absent for part of the walk was deleted or replaced, and a client saved it
//!   first; entries met twice are skipped by their mark.
//!
//! When the walk ends the stripe is disarmed and every entry has the stripe's `mark` again,
//! so the next snapshot can flip it. A snapshot that fails or is cancelled still has its
//! walk finished (its saver just stops serializing), which restores that invariant.

use std::sync::Arc;

use super::{EntryRef, Stripe};
use crate::entry;
use crate::table::hash_key;

/// Bytes of keys a client serialized before changing them, kept in the stripe until handed
/// to the saver.
const EARLY_HANDOFF_BYTES: usize = 32 * 1024;

/// Where a stripe's snapshot goes: serializes keys, and takes the pieces clients serialized.
pub trait KeySaver: Send + Sync {
    /// Serialize `e`, as it is now, onto `out`.
    fn save(&self, e: EntryRef<'_>, out: &mut Vec<u8>);
    /// Take `buf`, holding `keys` keys that clients serialized before changing them.
    fn hand_off(&self, buf: Vec<u8>, keys: u64);
}

/// Where the saver's walk of a stripe goes on.
#[derive(Clone, Copy)]
enum Walk {
    /// The next bucket, in a table of `slots` buckets that is not rehashing.
    Buckets { next: usize, slots: usize },
    /// A SCAN cursor.
    Scan(u64),
}

/// The state of an armed stripe.
pub(super) struct Armed {
    saver: Arc<dyn KeySaver>,
    walk: Walk,
    /// Keys serialized by clients, not yet handed off.
    early: Vec<u8>,
    early_keys: u64,
}

impl Stripe {
    /// Arm a point-in-time snapshot of this stripe's keys as they are now, to go to `saver`
    /// (through [`Stripe::snapshot_step`] and clients' writes). A snapshot still armed is
    /// finished first, all at once.
    pub fn arm_snapshot(&mut self, saver: Arc<dyn KeySaver>) {
        if self.snapshot_armed() {
            self.save_all_before_change();
        }
        self.set_mark(!self.mark());
        let walk = self.walk_start();
        self.extras.get_or_insert_with(Default::default).snap =
            Some(Armed { saver, walk, early: Vec::new(), early_keys: 0 });
    }

    /// Whether a snapshot is armed here.
    pub fn snapshot_armed(&self) -> bool {
        self.extras.as_ref().is_some_and(|x| x.snap.is_some())
    }

    fn armed(&mut self) -> Option<&mut Armed> {
        self.extras.as_mut().and_then(|x| x.snap.as_mut())
    }

    /// Disarm: the snapshot's state, if one was armed.
    fn disarm(&mut self) -> Option<Armed> {
        let armed = self.extras.as_mut().and_then(|x| x.snap.take());
        self.drop_empty_extras();
        armed
    }

    /// The saver's share: put on `out` what clients serialized so far, then walk on,
    /// serializing the keys not saved yet, until about `budget` keys were looked at. Returns
    /// how many keys went on `out` and whether the walk is over (the stripe is then
    /// disarmed; a stripe not armed is over at once).
    pub fn snapshot_step(&mut self, budget: usize, out: &mut Vec<u8>) -> (u64, bool) {
        let Some(armed) = self.armed() else { return (0, true) };
        if out.is_empty() {
            std::mem::swap(out, &mut armed.early);
        } else {
            out.append(&mut armed.early);
        }
        let mut keys = std::mem::take(&mut armed.early_keys);
        let saver = armed.saver.clone();
        let mut walk = armed.walk;
        let mark = self.mark();
        let mut save = |e: crate::ElemPtr| {
            // SAFETY: the table hands out live entries; only the mark bit is written.
            unsafe {
                if entry::snap_mark(e) != mark {
                    saver.save(EntryRef::new(e), out);
                    entry::set_snap_mark(e, mark);
                    keys += 1;
                }
            }
        };
        if let Walk::Buckets { slots, .. } = walk {
            if self.table.is_rehashing() || self.table.slots() != slots {
                // The table changed shape: entries may have moved between buckets.
                walk = Walk::Scan(0);
            }
        }
        let done = match walk {
            Walk::Buckets { next, slots } => match self.table.walk_buckets(next, budget, &mut save) {
                Some(next) => {
                    walk = Walk::Buckets { next, slots };
                    false
                }
                None => true,
            },
            Walk::Scan(mut cursor) => {
                let mut looked = 0;
                loop {
                    cursor = self.table.scan(cursor, |e| {
                        looked += 1;
                        save(e)
                    });
                    if cursor == 0 || looked >= budget {
                        break;
                    }
                }
                walk = Walk::Scan(cursor);
                cursor == 0
            }
        };
        match self.armed() {
            Some(armed) if !done => {
                armed.walk = walk;
                (keys, false)
            }
            _ => {
                self.disarm();
                (keys, true)
            }
        }
    }

    /// How a walk starts: bucket by bucket unless the table is rehashing.
    fn walk_start(&self) -> Walk {
        if self.table.is_rehashing() {
            Walk::Scan(0)
        } else {
            Walk::Buckets { next: 0, slots: self.table.slots() }
        }
    }

    /// Before `key` changes: if a snapshot still needs its current value, serialize it now.
    #[inline]
    pub(super) fn save_before_change(&mut self, key: &[u8]) {
        if self.extras.is_some() && self.snapshot_armed() {
            self.save_key_early(key);
        }
    }

    #[cold]
    fn save_key_early(&mut self, key: &[u8]) {
        let mark = self.mark();
        let Some((_, e)) = self.table.find(key, hash_key(key)) else { return };
        let Some(armed) = self.armed() else { return };
        // SAFETY: `e` is live; only the mark bit is written.
        unsafe {
            if entry::snap_mark(e) == mark {
                return;
            }
            armed.saver.save(EntryRef::new(e), &mut armed.early);
            entry::set_snap_mark(e, mark);
        }
        armed.early_keys += 1;
        if armed.early.len() >= EARLY_HANDOFF_BYTES {
            let buf = std::mem::take(&mut armed.early);
            armed.saver.hand_off(buf, std::mem::take(&mut armed.early_keys));
        }
    }

    /// Before a change to the whole stripe (FLUSHDB, SWAPDB): serialize every key a snapshot
    /// still needs, hand them to the saver and disarm.
    pub(super) fn save_all_before_change(&mut self) {
        let Some(armed) = self.disarm() else { return };
        let Armed { saver, mut early, mut early_keys, .. } = armed;
        let mark = self.mark();
        self.table.for_each(|e| {
            // SAFETY: the table hands out live entries; only the mark bit is written.
            unsafe {
                if entry::snap_mark(e) != mark {
                    saver.save(EntryRef::new(e), &mut early);
                    entry::set_snap_mark(e, mark);
                    early_keys += 1;
                }
            }
        });
        if early_keys > 0 {
            saver.hand_off(early, early_keys);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lru::Access;
    use crate::value::NewValue;
    use crate::SetExpire;
    use std::sync::Mutex;

    /// Records saved keys as "key=value;" text.
    #[derive(Default)]
    struct Recorder {
        handed: Mutex<Vec<u8>>,
    }

    impl KeySaver for Recorder {
        fn save(&self, e: EntryRef<'_>, out: &mut Vec<u8>) {
            out.extend_from_slice(e.key());
            out.push(b'=');
            out.extend_from_slice(&e.str().map(|s| s.to_vec()).unwrap_or_default());
            out.push(b';');
        }
        fn hand_off(&self, buf: Vec<u8>, _keys: u64) {
            self.handed.lock().unwrap().extend_from_slice(&buf);
        }
    }

    fn saved(text: &[u8]) -> Vec<String> {
        let mut v: Vec<String> =
            String::from_utf8_lossy(text).split(';').filter(|s| !s.is_empty()).map(String::from).collect();
        v.sort();
        v
    }

    fn set(s: &mut Stripe, k: &str, v: &str, acc: &Access) {
        s.set(k.as_bytes(), NewValue::Plain(v.as_bytes()), SetExpire::Clear, acc);
    }

    /// A stripe of keys `k0`.. `k{n-1}` holding `v`.
    fn filled(seed: u64, n: usize, v: &str, acc: &Access) -> Stripe {
        let mut s = Stripe::new(seed);
        for i in 0..n {
            set(&mut s, &format!("k{i}"), v, acc);
        }
        s
    }

    /// Walk to the end in small steps, running `between` after each; returns what was saved.
    fn walk(s: &mut Stripe, rec: &Recorder, mut between: impl FnMut(&mut Stripe, usize)) -> Vec<String> {
        let mut out = Vec::new();
        for step in 0.. {
            let mut buf = Vec::new();
            let (_, done) = s.snapshot_step(7, &mut buf);
            out.extend_from_slice(&buf);
            if done {
                break;
            }
            between(s, step);
        }
        out.extend_from_slice(&rec.handed.lock().unwrap());
        saved(&out)
    }

    #[test]
    fn snapshot_is_the_instant_it_was_armed_at_whatever_clients_do_meanwhile() {
        let acc = Access::at(1_000_000);
        for seed in 0..20u64 {
            let mut s = filled(seed, 300, "old", &acc);
            let mut want: Vec<String> = (0..300).map(|i| format!("k{i}=old")).collect();
            want.sort();
            let rec = Arc::new(Recorder::default());
            s.arm_snapshot(rec.clone());
            let got = walk(&mut s, &rec, |s, step| {
                // Overwrite, delete and add keys (growing the table) between steps.
                for j in 0..20 {
                    let i = (step * 37 + j * 11 + seed as usize) % 300;
                    match j % 3 {
                        0 => set(s, &format!("k{i}"), "new", &acc),
                        1 => {
                            s.remove(format!("k{i}").as_bytes(), &acc);
                        }
                        _ => set(s, &format!("added{step}-{j}"), "x", &acc),
                    }
                }
            });
            assert_eq!(got, want, "seed {seed}");
            assert!(!s.snapshot_armed());
        }
    }

    #[test]
    fn a_second_snapshot_sees_the_changes_of_the_first_ones_time() {
        let acc = Access::at(1_000_000);
        let mut s = filled(1, 50, "a", &acc);
        let first = Arc::new(Recorder::default());
        s.arm_snapshot(first.clone());
        set(&mut s, "k1", "b", &acc);
        set(&mut s, "fresh", "c", &acc);
        assert_eq!(walk(&mut s, &first, |_, _| {}).len(), 50);
        let second = Arc::new(Recorder::default());
        s.arm_snapshot(second.clone());
        let got = walk(&mut s, &second, |_, _| {});
        assert_eq!(got.len(), 51);
        assert!(got.contains(&"k1=b".to_string()) && got.contains(&"fresh=c".to_string()));
    }

    #[test]
    fn flushing_an_armed_stripe_saves_everything_first() {
        let acc = Access::at(1_000_000);
        let mut s = filled(2, 40, "v", &acc);
        let rec = Arc::new(Recorder::default());
        s.arm_snapshot(rec.clone());
        let mut out = Vec::new();
        s.snapshot_step(5, &mut out);
        s.clear();
        assert!(!s.snapshot_armed());
        out.extend_from_slice(&rec.handed.lock().unwrap());
        assert_eq!(saved(&out).len(), 40);
    }
}
