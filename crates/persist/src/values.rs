//! Between RDB values and Brim's keyspace values: building a key's value from what was
//! read, in the encoding Brim's commands would have chosen for it (so OBJECT ENCODING after
//! a load agrees with Redis 7.0 after its own load), and writing the big encodings whose
//! contents only their type module can walk.

use std::collections::HashSet;

use brim_config::Config;
use brim_engine::list::{End, Limit, List};
use brim_engine::packed::{self, elem_of};
use brim_engine::set::{Limits as SetLimits, SetValue};
use brim_engine::zset::{self, Stored, ZSet};
use brim_engine::{NewValue, Object, PackedKind};

use crate::rdb::encode::{write_binary_double, write_len, write_string};
use crate::rdb::{Error, Result, Value};

/// The encoding thresholds in force (from the configuration).
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// `hash-max-listpack-entries`.
    pub hash_entries: usize,
    /// `hash-max-listpack-value`.
    pub hash_value: usize,
    /// `zset-max-listpack-entries`.
    pub zset_entries: usize,
    /// `zset-max-listpack-value`.
    pub zset_value: usize,
    /// The set thresholds.
    pub set: SetLimits,
    /// `list-max-listpack-size`.
    pub list: Limit,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            hash_entries: 128,
            hash_value: 64,
            zset_entries: 128,
            zset_value: 64,
            set: SetLimits::default(),
            list: Limit::default(),
        }
    }
}

fn to_usize(v: u64) -> usize {
    usize::try_from(v).unwrap_or(usize::MAX)
}

impl Limits {
    /// The thresholds `config` sets now.
    pub fn from_config(c: &Config) -> Limits {
        Limits {
            hash_entries: to_usize(c.hash_max_listpack_entries()),
            hash_value: to_usize(c.hash_max_listpack_value()),
            zset_entries: to_usize(c.zset_max_listpack_entries()),
            zset_value: to_usize(c.zset_max_listpack_value()),
            set: SetLimits {
                intset_entries: to_usize(c.set_max_intset_entries()),
                listpack_entries: to_usize(c.set_max_listpack_entries()),
                listpack_value: to_usize(c.set_max_listpack_value()),
            },
            list: Limit::from_fill(c.list_max_listpack_size()).with_compress_depth(c.list_compress_depth()),
        }
    }
}

fn dup<T>(what: &str) -> Result<T> {
    Err(Error(format!("Bad data format: duplicate {what} detected")))
}

/// Build the keyspace value for `v` and hand it to `f` (which stores it). Fails on
/// duplicate members or fields, and on an empty collection.
pub fn with_new_value<T>(v: &Value, lim: &Limits, f: impl FnOnce(NewValue<'_>) -> T) -> Result<T> {
    if v.is_empty() {
        return Err(Error("Bad data format: empty collection".into()));
    }
    match v {
        Value::Str(s) => Ok(f(NewValue::Str(s))),
        Value::List(items) => {
            let mut l = List::new();
            for it in items {
                l.push(End::Tail, elem_of(it), lim.list);
            }
            if l.packable(lim.list, false) {
                let bytes = l.first_chunk_bytes().to_vec();
                Ok(f(NewValue::Packed(PackedKind::List, &bytes)))
            } else {
                Ok(f(NewValue::Obj(Box::new(Object::List(l)))))
            }
        }
        Value::Hash(pairs) => {
            let small = pairs.len() <= lim.hash_entries
                && pairs.iter().all(|(k, v)| k.len() <= lim.hash_value && v.len() <= lim.hash_value);
            if small {
                let mut seen = HashSet::with_capacity(pairs.len());
                let mut buf = Vec::new();
                for (k, v) in pairs {
                    if !seen.insert(k.as_slice()) {
                        return dup("hash field");
                    }
                    packed::push_str(&mut buf, k);
                    packed::push_str(&mut buf, v);
                }
                Ok(f(NewValue::Packed(PackedKind::Hash, &buf)))
            } else {
                let mut h = brim_engine::hash::Hash::new();
                for (k, v) in pairs {
                    if !h.insert(k, v) {
                        return dup("hash field");
                    }
                }
                Ok(f(NewValue::Obj(Box::new(Object::Hash(h)))))
            }
        }
        Value::Set(members) => {
            let first = members.first().map_or(&[][..], |m| m.as_slice());
            let mut s = SetValue::create(first, members.len(), &lim.set);
            for m in members {
                if !s.add(m, &lim.set) {
                    return dup("set member");
                }
            }
            Ok(s.store(f))
        }
        Value::ZSet(pairs) => zset_value(pairs, lim, f),
    }
}

/// Build a sorted set: sorted by (score, member), then packed or big as Redis's
/// `zsetConvertToListpackIfNeeded` decides after loading.
fn zset_value<T>(pairs: &[(Vec<u8>, f64)], lim: &Limits, f: impl FnOnce(NewValue<'_>) -> T) -> Result<T> {
    let mut seen = HashSet::with_capacity(pairs.len().min(1 << 16));
    let mut sorted: Vec<(&[u8], f64)> = Vec::with_capacity(pairs.len());
    for (m, s) in pairs {
        if s.is_nan() {
            return Err(Error("Bad data format: NaN score".into()));
        }
        if !seen.insert(m.as_slice()) {
            return dup("sorted set member");
        }
        sorted.push((m.as_slice(), *s));
    }
    drop(seen);
    sorted.sort_by(|a, b| zset::cmp_key(a.1, a.0, b.1, b.0));
    let zl = zset::Limits { max_entries: lim.zset_entries, max_value: lim.zset_value };
    Ok(match zset::build(&sorted, &zl) {
        Stored::Packed(buf) => f(NewValue::Packed(PackedKind::ZSet, &buf)),
        Stored::Big(z) => f(NewValue::Obj(Box::new(Object::ZSet(*z)))),
        Stored::InPlace => return Err(Error("unexpected sorted set build result".into())),
    })
}

/// Write a big sorted set's body (ZSET_2: count, then member and binary score pairs, from
/// the highest score down as Redis writes them, so loading appends at the head).
pub fn write_big_zset(buf: &mut Vec<u8>, z: &ZSet, compress: bool) -> Result<()> {
    write_len(buf, z.len() as u64);
    if z.is_empty() {
        return Ok(());
    }
    for (m, s) in z.iter_at(z.len() - 1, true) {
        write_string(buf, m, compress);
        write_binary_double(buf, s);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rdb::decode::{read_value, Input};
    use crate::rdb::encode::{type_of, write_value, Options};
    use brim_engine::{Access, SetExpire, Stripe};
    use proptest::prelude::*;

    fn canonical(v: Value) -> Value {
        match v {
            Value::Set(mut m) => {
                m.sort();
                Value::Set(m)
            }
            Value::Hash(mut p) => {
                p.sort();
                Value::Hash(p)
            }
            Value::ZSet(mut p) => {
                p.sort_by(|a, b| zset::cmp_key(a.1, &a.0, b.1, &b.0));
                Value::ZSet(p)
            }
            v => v,
        }
    }

    /// Store `v` with `lim`, write it back, read it again.
    fn round_trip(v: &Value, lim: &Limits, compress: bool) -> (Value, &'static str) {
        let mut s = Stripe::new(1);
        let acc = Access::at(1000);
        with_new_value(v, lim, |nv| s.set(b"k", nv, SetExpire::Clear, &acc)).unwrap();
        let e = s.get(b"k", &acc).unwrap();
        let opts = Options { compress, list_limit: lim.list, ..Options::default() };
        let val = e.value();
        let mut buf = vec![type_of(&val)];
        write_value(&mut buf, &val, &opts).unwrap();
        let mut inp = Input::new(&buf[..]);
        let t = inp.u8().unwrap();
        (read_value(&mut inp, t).unwrap(), e.encoding())
    }

    fn text() -> impl Strategy<Value = Vec<u8>> {
        prop_oneof![
            (-1000i64..1000).prop_map(|n| n.to_string().into_bytes()),
            any::<i64>().prop_map(|n| n.to_string().into_bytes()),
            proptest::collection::vec(any::<u8>(), 0..80),
            (0usize..300).prop_map(|n| vec![b'r'; n]),
        ]
    }

    fn value() -> impl Strategy<Value = Value> {
        prop_oneof![
            text().prop_map(Value::Str),
            proptest::collection::vec(text(), 1..300).prop_map(Value::List),
            proptest::collection::hash_set(text(), 1..300).prop_map(|s| Value::Set(s.into_iter().collect())),
            proptest::collection::hash_map(text(), text(), 1..200)
                .prop_map(|m| Value::Hash(m.into_iter().collect())),
            proptest::collection::hash_map(
                text(),
                prop_oneof![
                    any::<i32>().prop_map(|n| n as f64),
                    -1e300f64..1e300,
                    Just(f64::INFINITY),
                    Just(f64::NEG_INFINITY)
                ],
                1..200
            )
            .prop_map(|m| Value::ZSet(m.into_iter().collect())),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]
        #[test]
        fn every_value_survives_store_write_read(v in value(), small in any::<bool>(), compress in any::<bool>()) {
            let lim = if small {
                Limits {
                    hash_entries: 4,
                    hash_value: 8,
                    zset_entries: 4,
                    zset_value: 8,
                    set: SetLimits { intset_entries: 4, listpack_entries: 4, listpack_value: 8 },
                    list: Limit::from_fill(3),
                }
            } else {
                Limits::default()
            };
            let (back, _) = round_trip(&v, &lim, compress);
            let want = match &v {
                Value::Str(s) => Value::Str(s.clone()),
                other => other.clone(),
            };
            prop_assert_eq!(canonical(back), canonical(want));
        }
    }

    #[test]
    fn encodings_follow_the_limits() {
        let lim = Limits::default();
        let ints = Value::Set((0..10).map(|i| i.to_string().into_bytes()).collect());
        assert_eq!(round_trip(&ints, &lim, true).1, "intset");
        let many = Value::Set((0..600).map(|i| i.to_string().into_bytes()).collect());
        assert_eq!(round_trip(&many, &lim, true).1, "hashtable");
        let h = Value::Hash(vec![(b"f".to_vec(), vec![b'v'; 65])]);
        assert_eq!(round_trip(&h, &lim, true).1, "hashtable");
        let h = Value::Hash(vec![(b"f".to_vec(), vec![b'v'; 64])]);
        assert_eq!(round_trip(&h, &lim, true).1, "listpack");
        let z = Value::ZSet((0..129).map(|i| (format!("m{i}").into_bytes(), i as f64)).collect());
        assert_eq!(round_trip(&z, &lim, true).1, "skiplist");
        let dup = Value::Hash(vec![(b"f".to_vec(), b"1".to_vec()), (b"f".to_vec(), b"2".to_vec())]);
        assert!(with_new_value(&dup, &lim, |_| ()).is_err());
        let dup = Value::Set(vec![b"a".to_vec(), b"a".to_vec()]);
        assert!(with_new_value(&dup, &lim, |_| ()).is_err());
        let dup = Value::ZSet(vec![(b"a".to_vec(), 1.0), (b"a".to_vec(), 2.0)]);
        assert!(with_new_value(&dup, &lim, |_| ()).is_err());
        assert!(with_new_value(&Value::List(vec![]), &lim, |_| ()).is_err());
    }
}
