//! `INFO keysizes` (a Redis 8 section): per database, power-of-two histograms of key sizes per
//! type, kept up to date as keys change instead of walking the keyspace when INFO runs.
//!
//! Rules, as Redis 8 prints them:
//! - A string's size is its length in bytes (an integer-encoded string counts the characters
//!   of its decimal text, so `SET k 1024` is 4); a list, set, sorted set or hash counts its
//!   elements (fields for a hash). Streams are not counted (Redis 8 has no line for them).
//! - Bin `i` holds sizes in `[2^i, 2^(i+1))`, labelled `2^i` with a binary suffix (`1K` is
//!   1024, then `M`, `G`, `T`); an empty string goes in a bin of its own labelled `0`.
//!   Sizes of 2^47 and more share the last bin (`128T`).
//! - For each database, one line per type that has at least one key, only non-empty bins,
//!   ascending: `db0_distrib_strings_sizes:0=1,4=2,1K=1`, then `db0_distrib_lists_items`,
//!   `_sets_items`, `_zsets_items`, `_hashes_items`. A database with no key prints nothing.
//! - Keys whose time ran out but that were not reclaimed yet still count, as in `keys=` of
//!   INFO keyspace.
//! - Brim answers to Redis 7.0.15, whose `default`, `all` and `everything` section sets do
//!   not have this section: it is shown only when asked for by name (`INFO keysizes`).
//!   (Redis 8 also prints it by default.)
//!
//! Each stripe keeps its own counts ([`KeySizes`], behind the stripe's lock: no atomics;
//! sparse, so an empty stripe costs nothing and a busy one a few words). The stripe updates
//! them wherever a key enters or leaves its table or is rebuilt (see `SizeTrack` in
//! `crate::stripe`): the key changed last is settled lazily, when another key of the stripe
//! changes or INFO reads the counts, so a key changed again and again is measured once. A
//! size is found in O(1), except for a small collection packed inline, whose elements are
//! counted by one walk of its bytes (at most a few kilobytes, and the change being counted
//! rewrote those bytes anyway). [`Histogram`] sums the stripes of a database for INFO, taking
//! each stripe's lock in turn.

use std::fmt::Write as _;

use crate::object::Object;
use crate::packed;
use crate::value::{PackedKind, StrRef, ValueRef};

/// Types that have a histogram, in INFO's order, with their field names.
const NAMES: [&str; TYPES] = [
    "distrib_strings_sizes",
    "distrib_lists_items",
    "distrib_sets_items",
    "distrib_zsets_items",
    "distrib_hashes_items",
];
const TYPES: usize = 5;
const STRING: u8 = 0;
const LIST: u8 = 1;
const SET: u8 = 2;
const ZSET: u8 = 3;
const HASH: u8 = 4;

/// Number of bins: one for size 0, then one per power of two from 2^0 to 2^47.
pub const BINS: usize = 49;

/// Where a key falls in the histograms: its type and the bin of its size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SizeClass {
    row: u8,
    bin: u8,
}

impl SizeClass {
    /// A key that is not counted (a stream).
    pub const UNTRACKED: SizeClass = SizeClass { row: TYPES as u8, bin: 0 };

    /// Its position in a type-by-bin table; `None` when not counted.
    fn index(self) -> Option<u16> {
        ((self.row as usize) < TYPES).then(|| self.row as u16 * BINS as u16 + self.bin as u16)
    }

    fn new(row: u8, size: usize) -> SizeClass {
        SizeClass { row, bin: bin_of(size as u64) as u8 }
    }

    /// The class of a value.
    pub fn of(v: ValueRef<'_>) -> SizeClass {
        match v {
            ValueRef::Str(StrRef::Int(n)) => SizeClass::new(STRING, crate::value::int_len(n)),
            ValueRef::Str(StrRef::Bytes(b)) => SizeClass::new(STRING, b.len()),
            ValueRef::Packed(k, b) => packed_class(k, b),
            ValueRef::Obj(o) => object_class(o),
        }
    }
}

fn packed_class(kind: PackedKind, bytes: &[u8]) -> SizeClass {
    let n = packed::count(bytes);
    match kind {
        PackedKind::List => SizeClass::new(LIST, n),
        PackedKind::SetInts | PackedKind::Set => SizeClass::new(SET, n),
        PackedKind::ZSet => SizeClass::new(ZSET, n / 2),
        PackedKind::Hash => SizeClass::new(HASH, n / 2),
    }
}

fn object_class(o: &Object) -> SizeClass {
    match o {
        Object::List(l) => SizeClass::new(LIST, l.len()),
        Object::Set(s) => SizeClass::new(SET, s.len()),
        Object::ZSet(z) => SizeClass::new(ZSET, z.len()),
        Object::Hash(h) => SizeClass::new(HASH, h.len()),
    }
}

/// The bin of a size: 0 for 0, else 1 + floor(log2(size)), capped at the last bin.
pub fn bin_of(size: u64) -> usize {
    (u64::BITS - size.leading_zeros()).min(BINS as u32 - 1) as usize
}

/// The label INFO gives a bin: `0`, `1`, `2`, ... `512`, `1K`, ... `512K`, `1M`, ... `128T`.
pub fn bin_label(bin: usize) -> String {
    const SUFFIXES: [&str; 5] = ["", "K", "M", "G", "T"];
    match bin.checked_sub(1) {
        None => "0".to_string(),
        Some(exp) => format!("{}{}", 1u32 << (exp % 10), SUFFIXES.get(exp / 10).copied().unwrap_or("?")),
    }
}

type Counts<T> = [[T; BINS]; TYPES];

/// One stripe's counts, sparse: only the (type, bin) pairs that hold keys, in no order. A
/// stripe's keys fall in a handful of bins, so this is a few words of memory (nothing for an
/// empty stripe) and a short scan per change. A boxed slice rather than a `Vec`, one word
/// smaller, since every stripe has one: a bin comes or goes only when a class does.
#[derive(Default)]
pub struct KeySizes {
    bins: Box<[BinCount]>,
}

#[derive(Clone, Copy)]
struct BinCount {
    /// `row * BINS + bin`.
    class: u16,
    count: u32,
}

impl KeySizes {
    /// Count one more key of class `c`.
    #[inline]
    pub fn add(&mut self, c: SizeClass) {
        let Some(class) = c.index() else { return };
        match self.bins.iter_mut().find(|b| b.class == class) {
            Some(b) => b.count = b.count.wrapping_add(1),
            None => {
                let mut bins = std::mem::take(&mut self.bins).into_vec();
                bins.push(BinCount { class, count: 1 });
                self.bins = bins.into_boxed_slice();
            }
        }
    }

    /// Count one key of class `c` less.
    #[inline]
    pub fn remove(&mut self, c: SizeClass) {
        let Some(class) = c.index() else { return };
        let Some(i) = self.bins.iter().position(|b| b.class == class) else { return };
        let b = &mut self.bins[i];
        b.count = b.count.wrapping_sub(1);
        if b.count == 0 {
            let mut bins = std::mem::take(&mut self.bins).into_vec();
            bins.swap_remove(i);
            self.bins = bins.into_boxed_slice();
        }
    }

    /// A key changed from class `from` to class `to`.
    #[inline]
    pub fn change(&mut self, from: SizeClass, to: SizeClass) {
        if from != to {
            self.add(to);
            self.remove(from);
        }
    }

    /// Forget every count (the stripe was emptied).
    pub fn clear(&mut self) {
        self.bins = Box::default();
    }
}

/// Counts summed over stripes: one database's histograms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Histogram {
    counts: Counts<u64>,
}

impl Default for Histogram {
    fn default() -> Self {
        Histogram { counts: [[0; BINS]; TYPES] }
    }
}

impl Histogram {
    /// Add a stripe's counts.
    pub fn add_stripe(&mut self, s: &KeySizes) {
        for b in &s.bins {
            let (row, bin) = (b.class as usize / BINS, b.class as usize % BINS);
            if let Some(n) = self.counts.get_mut(row).and_then(|r| r.get_mut(bin)) {
                *n += b.count as u64;
            }
        }
    }

    /// Count one key of class `c` (building a histogram from scratch).
    pub fn add(&mut self, c: SizeClass) {
        if let Some(n) = self.counts.get_mut(c.row as usize).and_then(|r| r.get_mut(c.bin as usize)) {
            *n += 1;
        }
    }

    /// Whether no key is counted.
    pub fn is_empty(&self) -> bool {
        self.counts.iter().flatten().all(|&n| n == 0)
    }

    /// Append database `db`'s lines of `INFO keysizes` (see the module doc).
    pub fn write_info(&self, db: usize, out: &mut String) {
        for (name, row) in NAMES.iter().zip(self.counts.iter()) {
            let mut first = true;
            for (bin, &n) in row.iter().enumerate().filter(|(_, &n)| n > 0) {
                if first {
                    let _ = write!(out, "db{db}_{name}:");
                } else {
                    out.push(',');
                }
                first = false;
                let _ = write!(out, "{}={n}", bin_label(bin));
            }
            if !first {
                out.push_str("\r\n");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::list::List;
    use crate::lru::Access;
    use crate::stripe::{SetExpire, Stripe};
    use crate::value::NewValue;
    use proptest::prelude::*;

    #[test]
    fn bins_are_powers_of_two_with_zero_apart() {
        assert_eq!(bin_of(0), 0);
        assert_eq!(bin_of(1), 1);
        assert_eq!(bin_of(2), 2);
        assert_eq!(bin_of(3), 2);
        assert_eq!(bin_of(4), 3);
        assert_eq!(bin_of(1023), 10);
        assert_eq!(bin_of(1024), 11);
        assert_eq!(bin_of(u64::MAX), BINS - 1);
        let labels: Vec<String> = [0, 1, 2, 10, 11, 12, 20, 21, 31, 41, 48].map(bin_label).to_vec();
        assert_eq!(labels, ["0", "1", "2", "512", "1K", "2K", "512K", "1M", "1G", "1T", "128T"]);
    }

    #[test]
    fn info_lines_list_non_empty_bins_per_type() {
        let mut h = Histogram::default();
        h.write_info(0, &mut String::new());
        assert!(h.is_empty());
        for c in [
            SizeClass::new(STRING, 0),
            SizeClass::new(STRING, 5),
            SizeClass::new(STRING, 4),
            SizeClass::new(STRING, 2000),
            SizeClass::new(HASH, 1),
            SizeClass::new(LIST, 1 << 20),
            SizeClass::UNTRACKED,
        ] {
            h.add(c);
        }
        let mut out = String::new();
        h.write_info(3, &mut out);
        assert_eq!(out, "db3_distrib_strings_sizes:0=1,4=2,1K=1\r\ndb3_distrib_lists_items:1M=1\r\ndb3_distrib_hashes_items:1=1\r\n");
    }

    #[test]
    fn counts_are_freed_with_the_last_key() {
        let mut k = KeySizes::default();
        let (a, b) = (SizeClass::new(STRING, 3), SizeClass::new(HASH, 70));
        k.add(a);
        k.change(a, b);
        k.add(SizeClass::UNTRACKED);
        k.change(b, SizeClass::UNTRACKED);
        assert_eq!(k.bins.len(), 0, "freed when the only key stops being counted");
        k.add(a);
        k.add(b);
        k.add(b);
        k.remove(a);
        assert_eq!(k.bins.len(), 1);
        k.remove(b);
        k.remove(b);
        assert_eq!(k.bins.len(), 0);
    }

    #[test]
    fn classes_of_values() {
        assert_eq!(SizeClass::of(ValueRef::Str(StrRef::Int(1024))), SizeClass::new(STRING, 4));
        assert_eq!(SizeClass::of(ValueRef::Str(StrRef::Int(-1))), SizeClass::new(STRING, 2));
        let mut buf = Vec::new();
        for s in [&b"a"[..], b"1", b"b", b"2.5"] {
            packed::push_str(&mut buf, s);
        }
        assert_eq!(SizeClass::of(ValueRef::Packed(PackedKind::Hash, &buf)), SizeClass::new(HASH, 2));
        assert_eq!(SizeClass::of(ValueRef::Packed(PackedKind::List, &buf)), SizeClass::new(LIST, 4));
        let l = List::from_packed(&buf);
        assert_eq!(SizeClass::of(ValueRef::Obj(&Object::List(l))), SizeClass::new(LIST, 4));
    }

    /// The histogram of a stripe recomputed by walking its keys.
    fn recount(s: &Stripe) -> Histogram {
        let mut h = Histogram::default();
        s.for_each(&Access::at(i64::MIN), |e| h.add(SizeClass::of(e.value())));
        h
    }

    fn counted(s: &mut Stripe) -> Histogram {
        let mut h = Histogram::default();
        h.add_stripe(s.keysizes());
        h
    }

    /// One random operation on a stripe, through every path that changes a key's size or
    /// takes a key in or out.
    #[derive(Debug, Clone)]
    enum Op {
        Set(u8, usize),
        SetInt(u8, i64),
        Append(u8, usize),
        Packed(u8, usize),
        BigList(u8, usize),
        Push(u8, usize),
        Pop(u8, usize),
        Del(u8),
        Take(u8),
        Put(u8, u8),
        Expire(u8, i64),
        Evict(u8),
        TakeValue(u8),
        ExpireCycle,
        Clear,
    }

    fn op() -> impl Strategy<Value = Op> {
        let k = 0u8..12;
        prop_oneof![
            (k.clone(), 0usize..300).prop_map(|(k, n)| Op::Set(k, n)),
            (k.clone(), any::<i64>()).prop_map(|(k, n)| Op::SetInt(k, n)),
            (k.clone(), 0usize..100).prop_map(|(k, n)| Op::Append(k, n)),
            (k.clone(), 1usize..20).prop_map(|(k, n)| Op::Packed(k, n)),
            (k.clone(), 1usize..40).prop_map(|(k, n)| Op::BigList(k, n)),
            (k.clone(), 1usize..20).prop_map(|(k, n)| Op::Push(k, n)),
            (k.clone(), 1usize..20).prop_map(|(k, n)| Op::Pop(k, n)),
            k.clone().prop_map(Op::Del),
            k.clone().prop_map(Op::Take),
            (k.clone(), k.clone()).prop_map(|(a, b)| Op::Put(a, b)),
            (k.clone(), 0i64..200).prop_map(|(k, t)| Op::Expire(k, t)),
            k.clone().prop_map(Op::Evict),
            k.prop_map(Op::TakeValue),
            Just(Op::ExpireCycle),
            Just(Op::Clear),
        ]
    }

    fn packed_list(n: usize) -> Vec<u8> {
        let mut buf = Vec::new();
        (0..n).for_each(|i| packed::push_str(&mut buf, format!("e{i}").as_bytes()));
        buf
    }

    fn apply(s: &mut Stripe, op: &Op, now: &mut i64) {
        *now += 10;
        let acc = Access::at(*now);
        let key = |k: &u8| [b'k', *k];
        match op {
            Op::Set(k, n) => s.set(&key(k), NewValue::Plain(&vec![b'x'; *n]), SetExpire::Keep, &acc),
            Op::SetInt(k, n) => match s.get_mut(&key(k), &acc) {
                Some(mut e) => e.set_value(NewValue::Int(*n)),
                None => s.set(&key(k), NewValue::Int(*n), SetExpire::Clear, &acc),
            },
            Op::Append(k, n) => {
                if let Some(mut e) = s.get_mut(&key(k), &acc) {
                    if let Some(b) = e.str_buffer() {
                        b.extend(std::iter::repeat_n(b'y', *n));
                    }
                }
            }
            Op::Packed(k, n) => {
                s.set(&key(k), NewValue::Packed(PackedKind::List, &packed_list(*n)), SetExpire::Clear, &acc)
            }
            Op::BigList(k, n) => {
                let l = List::from_packed(&packed_list(*n));
                s.set(&key(k), NewValue::Obj(Box::new(Object::List(l))), SetExpire::Clear, &acc)
            }
            Op::Push(k, n) => {
                if let Some(mut e) = s.get_mut(&key(k), &acc) {
                    match e.value() {
                        ValueRef::Packed(PackedKind::List, b) => {
                            let mut b = b.to_vec();
                            (0..*n).for_each(|_| packed::push_str(&mut b, b"p"));
                            e.set_value(NewValue::Packed(PackedKind::List, &b));
                        }
                        _ => {
                            if let Some(Object::List(l)) = e.obj_mut() {
                                let more = packed_list(*n);
                                packed::iter(&more)
                                    .for_each(|(_, x)| l.push(crate::list::End::Tail, x, Default::default()));
                            }
                        }
                    }
                }
            }
            Op::Pop(k, n) => {
                if let Some(mut e) = s.get_mut(&key(k), &acc) {
                    if let Some(Object::List(l)) = e.obj_mut() {
                        for _ in 0..*n {
                            l.pop(crate::list::End::Head, Default::default());
                        }
                        if l.is_empty() {
                            e.delete();
                        }
                    }
                }
            }
            Op::Del(k) => {
                s.remove(&key(k), &acc);
            }
            Op::Take(k) => {
                s.take(&key(k), &acc);
            }
            Op::Put(a, b) => {
                if let Some(d) = s.take(&key(a), &acc) {
                    s.put(&key(b), d, &acc);
                }
            }
            Op::Expire(k, t) => {
                if let Some(mut e) = s.get_mut(&key(k), &acc) {
                    e.set_expire(Some(*now + t));
                }
            }
            Op::Evict(k) => {
                s.evict(&key(k), false);
            }
            Op::TakeValue(k) => {
                s.take_value(&key(k), &acc);
            }
            Op::ExpireCycle => {
                s.expire_sample(5, *now, None);
            }
            Op::Clear => {
                if *now % 7 == 0 {
                    s.clear();
                }
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]

        /// The key test: after any sequence of operations, the counts kept incrementally equal
        /// a recount from scratch.
        #[test]
        fn incremental_counts_match_a_recount(ops in proptest::collection::vec(op(), 1..120)) {
            let mut s = Stripe::new(7);
            let mut now = 1000;
            for op in &ops {
                apply(&mut s, op, &mut now);
                prop_assert_eq!(counted(&mut s), recount(&s), "after {:?}", op);
            }
        }
    }

    /// What the bookkeeping costs on the hot paths, in ns per operation (run in release with
    /// `cargo test --release -p brim-engine --lib keysizes::tests::bookkeeping_cost --
    /// --ignored --nocapture`, beside a build without the hooks).
    #[test]
    #[ignore]
    fn bookkeeping_cost() {
        const N: usize = 200_000;
        let acc = Access::at(0);
        let time = |what: &str, n: usize, f: &mut dyn FnMut()| {
            let start = std::time::Instant::now();
            f();
            println!("{what}: {:.1} ns/op", start.elapsed().as_nanos() as f64 / n as f64);
        };
        let mut s = Stripe::new(1);
        let keys: Vec<Vec<u8>> = (0..N).map(|i| format!("key:{i:010}").into_bytes()).collect();
        time("SET new key", N, &mut || {
            keys.iter().for_each(|k| s.set(k, NewValue::Str(b"xxx"), SetExpire::Clear, &acc))
        });
        time("SET existing key", N, &mut || {
            keys.iter().for_each(|k| s.set(k, NewValue::Str(b"yyy"), SetExpire::Clear, &acc))
        });
        time("INCR", N, &mut || {
            for i in 0..N as i64 {
                if let Some(mut e) = s.get_mut(b"counter", &acc) {
                    e.set_value(NewValue::Int(i));
                } else {
                    s.set(b"counter", NewValue::Int(i), SetExpire::Clear, &acc);
                }
            }
        });
        // LPUSH on a list packed inline, rebuilt up to 2000 elements (about 8 KB) and again.
        let rounds = N / 2000;
        time("LPUSH packed (avg 1000 elements)", rounds * 2000, &mut || {
            for _ in 0..rounds {
                s.remove(b"plist", &acc);
                for _ in 0..2000 {
                    let mut buf = match s.get_mut(b"plist", &acc) {
                        Some(e) => match e.value() {
                            ValueRef::Packed(_, b) => b.to_vec(),
                            _ => Vec::new(),
                        },
                        None => Vec::new(),
                    };
                    packed::push_str(&mut buf, b"xxx");
                    match s.get_mut(b"plist", &acc) {
                        Some(mut e) => e.set_value(NewValue::Packed(PackedKind::List, &buf)),
                        None => {
                            s.set(b"plist", NewValue::Packed(PackedKind::List, &buf), SetExpire::Clear, &acc)
                        }
                    }
                }
            }
        });
        s.set(b"blist", NewValue::Obj(Box::new(Object::List(List::new()))), SetExpire::Clear, &acc);
        time("LPUSH big list", N, &mut || {
            for _ in 0..N {
                if let Some(mut e) = s.get_mut(b"blist", &acc) {
                    if let Some(Object::List(l)) = e.obj_mut() {
                        l.push(crate::list::End::Head, packed::Elem::Bytes(b"xxx"), Default::default());
                    }
                }
            }
        });
        time("DEL", N, &mut || {
            keys.iter().for_each(|k| {
                s.remove(k, &acc);
            })
        });
        assert_eq!(counted(&mut s), recount(&s));
    }

    #[test]
    fn swapped_stripes_swap_their_counts() {
        let (mut a, mut b) = (Stripe::new(1), Stripe::new(2));
        let acc = Access::at(0);
        a.set(b"s", NewValue::Str(b"hello"), SetExpire::Clear, &acc);
        b.set(b"l", NewValue::Packed(PackedKind::List, &packed_list(3)), SetExpire::Clear, &acc);
        let (ha, hb) = (counted(&mut a), counted(&mut b));
        a.swap_contents(&mut b);
        assert_eq!((counted(&mut a), counted(&mut b)), (hb, ha));
        assert_eq!((counted(&mut a), counted(&mut b)), (recount(&a), recount(&b)));
    }
}
