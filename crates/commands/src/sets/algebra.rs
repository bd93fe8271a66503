//! Set algebra: SINTER, SINTERCARD, SINTERSTORE, SUNION, SUNIONSTORE, SDIFF, SDIFFSTORE.
//!
//! All keys (the destination included) are locked together for the whole command. The
//! algorithms are Redis's: the intersection walks the smallest set and probes the others;
//! the union adds everything to a result set; the difference picks, by the same estimate
//! as Redis, between walking the first set and probing the others (algorithm 1) and copying
//! the first set and removing the others' members (algorithm 2). Results are built as
//! Redis 7.2 builds them (an empty `intset` growing through the usual conversions), so
//! replies of all-integer results come out in ascending order as in Redis, and stored
//! results get Redis 7.2's encodings.
//!
//! A set is walked piecewise (`SetRef::chunk`), a few hundred members at a time, each piece
//! probed against the other sets before the next is read: stripes are borrowed one at a
//! time, and the memory used beyond the reply stays small whatever the sets' sizes.

use std::io::Write;

use brim_engine::packed::Elem;
use brim_engine::set::{SetRef, SetValue};
use brim_engine::value::parse_i64_strict;
use brim_engine::{Access, MultiLock, SetExpire};
use brim_resp::Aggregate;

use super::{c_str, limits, with_text, write_elem, WrongType};
use crate::args::{is, parse_i64, SYNTAX, WRONGTYPE};
use crate::ctx::Ctx;
use crate::notify::{class, keyspace_event};

/// Members read from a set before probing the others.
const CHUNK: usize = 256;

/// How a set was encoded when the command found it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Enc {
    Ints,
    Pack,
    Big,
}

/// An input set as the command found it.
#[derive(Debug, Clone, Copy)]
struct Input<'k> {
    key: &'k [u8],
    len: usize,
    enc: Enc,
}

/// Look each key up for reading, in order, counting hits and misses as Redis's
/// lookupKeyRead; `None` for a missing key. Stops at the first key of another type.
fn gather<'k>(
    ctx: &Ctx,
    ml: &mut MultiLock<'_>,
    keys: &[&'k [u8]],
    acc: &Access,
) -> Result<Vec<Option<Input<'k>>>, WrongType> {
    let mut found = Vec::with_capacity(keys.len());
    for &key in keys {
        match ml.stripe(key).get(key, acc) {
            None => {
                ctx.hit_or_miss(key, false);
                found.push(None);
            }
            Some(e) => {
                ctx.hit_or_miss(key, true);
                let r = SetRef::of(e.value()).ok_or(WrongType)?;
                let enc = match r {
                    SetRef::Ints(_) => Enc::Ints,
                    SetRef::Pack(_) => Enc::Pack,
                    SetRef::Big(_) => Enc::Big,
                };
                found.push(Some(Input { key, len: r.len(), enc }));
            }
        }
    }
    Ok(found)
}

/// The set at `key`, already known to exist, borrowed from its locked stripe.
fn set_at<'m>(ml: &'m mut MultiLock<'_>, key: &[u8], acc: &Access) -> Option<SetRef<'m>> {
    ml.stripe(key).get(key, acc).and_then(|e| SetRef::of(e.value()))
}

/// A piece of a set's members, copied out of it: their texts back to back.
#[derive(Default)]
struct Chunk {
    data: Vec<u8>,
    ends: Vec<usize>,
}

impl Chunk {
    fn clear(&mut self) {
        self.data.clear();
        self.ends.clear();
    }

    fn push(&mut self, e: Elem<'_>) {
        match e {
            Elem::Bytes(b) => self.data.extend_from_slice(b),
            Elem::Int(n) => {
                let _ = write!(self.data, "{n}");
            }
            Elem::Double(_) => self.data.extend_from_slice(&e.to_vec()),
        }
        self.ends.push(self.data.len());
    }

    fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// The members, in order.
    fn iter(&self) -> impl Iterator<Item = &[u8]> {
        let starts = std::iter::once(0).chain(self.ends.iter().copied());
        starts.zip(self.ends.iter().copied()).map(|(s, e)| self.data.get(s..e).unwrap_or(&[]))
    }

    /// Keep only the members `keep` says yes to, in order.
    fn retain(&mut self, mut keep: impl FnMut(&[u8]) -> bool) {
        let (mut write, mut start, mut kept) = (0, 0, 0);
        for i in 0..self.ends.len() {
            let end = self.ends[i];
            if keep(self.data.get(start..end).unwrap_or(&[])) {
                self.data.copy_within(start..end, write);
                write += end - start;
                self.ends[kept] = write;
                kept += 1;
            }
            start = end;
        }
        self.data.truncate(write);
        self.ends.truncate(kept);
    }
}

/// Walk the members of the set at `base` in its order and hand `emit` those that every set
/// at `others` contains (`inter`), or that none of them contains (a difference). Missing
/// `others` are skipped (for an intersection the caller has ruled them out). `emit`
/// returns false to stop.
fn filtered(
    ml: &mut MultiLock<'_>,
    base: &[u8],
    others: &[&[u8]],
    inter: bool,
    acc: &Access,
    mut emit: impl FnMut(&[u8]) -> bool,
) {
    let mut chunk = Chunk::default();
    let mut cursor = 0;
    loop {
        chunk.clear();
        match set_at(ml, base, acc) {
            Some(r) => cursor = r.chunk(cursor, CHUNK, |e| chunk.push(e)),
            None => return,
        }
        for &k in others {
            if chunk.is_empty() {
                break;
            }
            if let Some(r) = set_at(ml, k, acc) {
                chunk.retain(|m| r.contains(m) == inter);
            }
        }
        for m in chunk.iter() {
            if !emit(m) {
                return;
            }
        }
        if cursor == 0 {
            return;
        }
    }
}

/// Store `v` at `dst` (replacing whatever is there, expire included) and reply with its
/// size; an empty result deletes `dst` instead and replies 0.
fn store_result(ctx: &mut Ctx, ml: &mut MultiLock<'_>, dst: &[u8], v: SetValue, event: &str, acc: &Access) {
    let n = v.len();
    if n > 0 {
        v.store(|nv| ml.stripe(dst).set(dst, nv, SetExpire::Clear, acc));
        ctx.out.int(n as i64);
        keyspace_event(ctx, class::SET, event, dst);
    } else {
        ctx.out.int(0);
        if ml.stripe(dst).remove(dst, acc) {
            keyspace_event(ctx, class::GENERIC, "del", dst);
        }
    }
}

/// What an intersection is for.
#[derive(Debug, Clone, Copy)]
enum Inter<'k> {
    /// SINTER / SMEMBERS: reply with the members.
    Reply,
    /// SINTERCARD: count them, stopping at the limit (0: none).
    Card(u64),
    /// SINTERSTORE: store them at this key.
    Store(&'k [u8]),
}

/// Redis's sinterGenericCommand.
fn sinter_generic(ctx: &mut Ctx, keys: &[&[u8]], mode: Inter<'_>) {
    let lim = limits(ctx);
    let acc = ctx.acc;
    let nt = acc.no_touch();
    let db = ctx.db();
    let dst = match mode {
        Inter::Store(d) => Some(d),
        _ => None,
    };
    let mut ml = db.lock_keys(keys.iter().copied().chain(dst));
    let Ok(inputs) = gather(ctx, &mut ml, keys, &acc) else {
        ctx.error(WRONGTYPE);
        return;
    };
    // An intersection with an empty set is empty.
    let mut sets: Vec<Input<'_>> = inputs.iter().flatten().copied().collect();
    let base = if sets.len() == inputs.len() {
        // Smallest first (stable, as glibc's qsort on a small array).
        sets.sort_by_key(|i| i.len);
        sets.first().copied()
    } else {
        None
    };
    let Some(base) = base else {
        match mode {
            Inter::Store(d) => store_result(ctx, &mut ml, d, SetValue::new_ints(), "sinterstore", &acc),
            Inter::Card(_) => ctx.out.int(0),
            Inter::Reply => ctx.out.set(0),
        }
        return;
    };
    let others: Vec<&[u8]> = sets.iter().skip(1).map(|i| i.key).filter(|k| *k != base.key).collect();
    match mode {
        Inter::Reply => {
            let at = ctx.out.begin_deferred();
            let mut n = 0;
            let out = &mut *ctx.out;
            filtered(&mut ml, base.key, &others, true, &nt, |m| {
                out.bulk(m);
                n += 1;
                true
            });
            ctx.out.end_deferred(at, Aggregate::Set, n);
        }
        Inter::Card(limit) => {
            let mut n = 0u64;
            filtered(&mut ml, base.key, &others, true, &nt, |_| {
                n += 1;
                limit == 0 || n < limit
            });
            ctx.out.int(n as i64);
        }
        Inter::Store(d) => {
            // Redis 7.2: an intset stays an intset; anything else starts as a listpack;
            // an all-integer result becomes an intset if it can.
            let mut v = match base.enc {
                Enc::Ints => SetValue::new_ints(),
                Enc::Pack | Enc::Big => SetValue::new_pack(),
            };
            let mut only_integers = true;
            filtered(&mut ml, base.key, &others, true, &nt, |m| {
                if only_integers && parse_i64_strict(m).is_none() {
                    only_integers = false;
                }
                v.add(m, &lim);
                true
            });
            if only_integers && !v.is_empty() {
                v.maybe_convert_to_intset(&lim);
            }
            store_result(ctx, &mut ml, d, v, "sinterstore", &acc);
        }
    }
}

/// SINTER key [key ...]
pub(super) fn sinter(ctx: &mut Ctx, args: &[&[u8]]) {
    sinter_generic(ctx, &args[1..], Inter::Reply);
}

/// SINTERSTORE destination key [key ...]
pub(super) fn sinterstore(ctx: &mut Ctx, args: &[&[u8]]) {
    sinter_generic(ctx, &args[2..], Inter::Store(args[1]));
}

/// SINTERCARD numkeys key [key ...] [LIMIT limit]
pub(super) fn sintercard(ctx: &mut Ctx, args: &[&[u8]]) {
    let numkeys = match parse_i64(args[1]) {
        Some(n) if n >= 1 => n as u64,
        _ => {
            ctx.error("ERR numkeys should be greater than 0");
            return;
        }
    };
    let avail = args.len() as u64 - 2;
    if numkeys > avail {
        ctx.error("ERR Number of keys can't be greater than number of args");
        return;
    }
    let first_opt = 2 + numkeys as usize;
    let mut limit = 0u64;
    let mut j = first_opt;
    while j < args.len() {
        let more = args.len() - 1 - j;
        if is(c_str(args[j]), "limit") && more > 0 {
            j += 1;
            match parse_i64(args[j]) {
                Some(n) if n >= 0 => limit = n as u64,
                _ => {
                    ctx.error("ERR LIMIT can't be negative");
                    return;
                }
            }
        } else {
            ctx.error(SYNTAX);
            return;
        }
        j += 1;
    }
    sinter_generic(ctx, &args[2..first_opt], Inter::Card(limit));
}

/// Redis's sunionDiffGenericCommand: `dst` for the *STORE variants.
fn sunion_diff(ctx: &mut Ctx, keys: &[&[u8]], dst: Option<&[u8]>, union: bool) {
    let lim = limits(ctx);
    let acc = ctx.acc;
    let nt = acc.no_touch();
    let db = ctx.db();
    let mut ml = db.lock_keys(keys.iter().copied().chain(dst));
    let Ok(inputs) = gather(ctx, &mut ml, keys, &acc) else {
        ctx.error(WRONGTYPE);
        return;
    };
    let mut v = SetValue::new_ints();
    if union {
        for i in inputs.iter().flatten() {
            if let Some(r) = set_at(&mut ml, i.key, &nt) {
                r.for_each(|e| {
                    with_text(e, |t| v.add(t, &lim));
                });
            }
        }
    } else if let Some(Some(first)) = inputs.first().copied() {
        let rest = inputs.get(1..).unwrap_or(&[]);
        let sameset = rest.iter().flatten().any(|i| i.key == first.key);
        if !sameset {
            // Algorithm 1 costs |first| per set, algorithm 2 the sizes of all the sets;
            // algorithm 1 gets a 2× head start.
            let present = inputs.iter().flatten().count() as u64;
            let one = first.len as u64 * present / 2;
            let two: u64 = inputs.iter().flatten().map(|i| i.len as u64).sum();
            if one <= two {
                // Algorithm 1: walk the first set; probe the biggest sets first.
                let mut others: Vec<Input<'_>> = rest.iter().flatten().copied().collect();
                others.sort_by_key(|i| std::cmp::Reverse(i.len));
                let others: Vec<&[u8]> = others.iter().map(|i| i.key).collect();
                filtered(&mut ml, first.key, &others, false, &nt, |m| {
                    v.add(m, &lim);
                    true
                });
            } else {
                // Algorithm 2: copy the first set, then remove the others' members.
                for (j, i) in inputs.iter().enumerate() {
                    let Some(i) = i else { continue };
                    if let Some(r) = set_at(&mut ml, i.key, &nt) {
                        r.for_each(|e| {
                            with_text(e, |t| if j == 0 { v.add(t, &lim) } else { v.remove(t) });
                        });
                    }
                    if v.is_empty() {
                        break;
                    }
                }
            }
        }
    }
    match dst {
        Some(d) => {
            let event = if union { "sunionstore" } else { "sdiffstore" };
            store_result(ctx, &mut ml, d, v, event, &acc);
        }
        None => {
            ctx.out.set(v.len());
            let out = &mut *ctx.out;
            v.as_ref().for_each(|e| write_elem(out, e));
        }
    }
}

/// SUNION key [key ...]
pub(super) fn sunion(ctx: &mut Ctx, args: &[&[u8]]) {
    sunion_diff(ctx, &args[1..], None, true);
}

/// SUNIONSTORE destination key [key ...]
pub(super) fn sunionstore(ctx: &mut Ctx, args: &[&[u8]]) {
    sunion_diff(ctx, &args[2..], Some(args[1]), true);
}

/// SDIFF key [key ...]
pub(super) fn sdiff(ctx: &mut Ctx, args: &[&[u8]]) {
    sunion_diff(ctx, &args[1..], None, false);
}

/// SDIFFSTORE destination key [key ...]
pub(super) fn sdiffstore(ctx: &mut Ctx, args: &[&[u8]]) {
    sunion_diff(ctx, &args[2..], Some(args[1]), false);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunk_retain_compacts_in_order() {
        let mut c = Chunk::default();
        for e in [Elem::Bytes(b"aa"), Elem::Int(-12), Elem::Bytes(b""), Elem::Bytes(b"xyz")] {
            c.push(e);
        }
        let all: Vec<&[u8]> = c.iter().collect();
        assert_eq!(all, vec![&b"aa"[..], b"-12", b"", b"xyz"]);
        c.retain(|m| m != b"-12");
        let left: Vec<&[u8]> = c.iter().collect();
        assert_eq!(left, vec![&b"aa"[..], b"", b"xyz"]);
        c.retain(|m| m.is_empty());
        assert_eq!(c.iter().collect::<Vec<_>>(), vec![&b""[..]]);
        c.retain(|_| false);
        assert!(c.is_empty());
    }
}
