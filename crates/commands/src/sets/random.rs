//! SPOP and SRANDMEMBER: random members, with Redis 7.2's strategies (and so its encodings
//! after SPOP with a count) and Redis 7.0's replies.

use std::collections::HashSet;

use brim_config::ClientClass;
use brim_engine::packed;
use brim_engine::set::{Limits, SetRef, SetValue};
use brim_engine::{Object, Rng};

use super::{limits, read_set, rng, with_text, write_elem};
use crate::args::{parse_i64, NOT_INTEGER, SYNTAX, WRONGTYPE};
use crate::ctx::Ctx;
use crate::notify::{class, keyspace_event};

/// `ERR value is out of range, must be positive` (SPOP's count).
const NOT_POSITIVE: &str = "ERR value is out of range, must be positive";

/// How many times bigger than what stays the popped part must be for SPOP to build a new
/// set of what stays (Redis's SPOP_MOVE_STRATEGY_MUL).
const SPOP_MOVE_STRATEGY_MUL: u64 = 5;

/// How many times the requested count a big set must exceed for SRANDMEMBER to sample
/// instead of copying and thinning (Redis's SRANDMEMBER_SUB_STRATEGY_MUL).
const SRANDMEMBER_SUB_STRATEGY_MUL: u64 = 3;

/// Bytes a reply repeating members (SRANDMEMBER with a negative count) may grow to when
/// `client-output-buffer-limit normal` sets no hard limit. Past it the client is
/// disconnected without the reply, as Redis does to a client past its output buffer limit:
/// a client number never allocates without bound.
const MAX_REPEAT_REPLY: usize = 512 << 20;

/// Indexes of a uniformly random subset of `k` of `0..n`, ascending (Knuth's selection
/// sampling; Redis's lpRandomPairsUnique is the same idea).
fn pick_in_order(rng: &mut Rng, n: usize, k: usize) -> Vec<bool> {
    let mut chosen = vec![false; n];
    let mut need = k.min(n);
    for (i, c) in chosen.iter_mut().enumerate() {
        if need == 0 {
            break;
        }
        if rng.below(n - i) < need {
            *c = true;
            need -= 1;
        }
    }
    chosen
}

/// Reply with all of `r` as Redis's SUNION of that one set would: through a result set
/// built from an empty `intset` (so an all-integer set comes out in ascending order).
fn reply_as_union(ctx: &mut Ctx, r: SetRef<'_>, lim: &Limits) {
    let len = r.len();
    let stays_big = matches!(r, SetRef::Big(_)) && len > lim.intset_entries.max(lim.listpack_entries);
    if matches!(r, SetRef::Ints(_)) || stays_big {
        ctx.out.set(len);
        let out = &mut *ctx.out;
        r.for_each(|e| write_elem(out, e));
        return;
    }
    let mut v = SetValue::new_ints();
    r.for_each(|e| {
        with_text(e, |t| v.add(t, lim));
    });
    ctx.out.set(v.len());
    let out = &mut *ctx.out;
    v.as_ref().for_each(|e| write_elem(out, e));
}

/// SPOP key [count]
pub(super) fn spop(ctx: &mut Ctx, args: &[&[u8]]) {
    if args.len() == 3 {
        let mark = ctx.out.len();
        spop_count(ctx, args);
        log_spop_count(ctx, args[1], mark);
        return;
    }
    if args.len() > 3 {
        ctx.error(SYNTAX);
        return;
    }
    let key = args[1];
    let acc = ctx.acc;
    let mut rng = rng();
    let mut s = ctx.db().lock(key);
    let Some(mut e) = s.get_mut(key, &acc) else {
        ctx.out.null();
        return;
    };
    let (popped, emptied) = match SetRef::of(e.value()) {
        None => {
            ctx.error(WRONGTYPE);
            return;
        }
        Some(SetRef::Big(_)) => match e.obj_mut() {
            Some(Object::Set(set)) => {
                let m = set.pop_random(&mut rng);
                (m, set.is_empty())
            }
            _ => (None, false),
        },
        Some(r) => {
            let mut v = SetValue::from_ref(r);
            let m = v.pop_random(&mut rng);
            let empty = v.is_empty();
            if !empty {
                v.store(|nv| e.set_value(nv));
            }
            (m, empty)
        }
    };
    if emptied {
        e.delete();
    }
    drop(s);
    let Some(m) = popped else {
        ctx.out.null();
        return;
    };
    crate::propagate::replace(&[&b"SREM"[..], key, &m]);
    keyspace_event(ctx, class::SET, "spop", key);
    ctx.out.bulk(&m);
    if emptied {
        keyspace_event(ctx, class::GENERIC, "del", key);
    }
}

/// What SPOP with a count logs (Redis 7.0): `DEL key` when it took the whole set, else one
/// `SREM key member` per member popped (read back from the reply written after `mark`).
fn log_spop_count(ctx: &mut Ctx, key: &[u8], mark: usize) {
    if !crate::propagate::is_on() {
        return;
    }
    let acc = ctx.acc.no_touch();
    if !ctx.db().lock(key).exists(key, &acc) {
        crate::propagate::replace(&[&b"DEL"[..], key]);
        return;
    }
    let popped = crate::propagate::reply_items(ctx.out.as_bytes().get(mark..).unwrap_or_default());
    if popped.is_empty() {
        return;
    }
    crate::propagate::suppress();
    for m in popped {
        crate::propagate::also(&[&b"SREM"[..], key, &m]);
    }
}

/// SPOP key count
fn spop_count(ctx: &mut Ctx, args: &[&[u8]]) {
    let key = args[1];
    let count = match parse_i64(args[2]) {
        Some(n) if n >= 0 => n as u64,
        _ => {
            ctx.error(NOT_POSITIVE);
            return;
        }
    };
    let lim = limits(ctx);
    let acc = ctx.acc;
    let mut rng = rng();
    let mut s = ctx.db().lock(key);
    let Some(mut e) = s.get_mut(key, &acc) else {
        ctx.out.set(0);
        return;
    };
    let Some(r) = SetRef::of(e.value()) else {
        ctx.error(WRONGTYPE);
        return;
    };
    if count == 0 {
        ctx.out.set(0);
        return;
    }
    let size = r.len() as u64;
    keyspace_event(ctx, class::SET, "spop", key);

    // CASE 1: at least as many as there are: the whole set (replied as SUNION of it, which
    // looks the key up once more and counts a hit), and the key goes.
    if count >= size {
        ctx.hit_or_miss(key, true);
        reply_as_union(ctx, r, &lim);
        e.delete();
        keyspace_event(ctx, class::GENERIC, "del", key);
        return;
    }
    let remaining = size - count;
    let count = count as usize; // < size
    ctx.out.set(count);

    if remaining * SPOP_MOVE_STRATEGY_MUL > count as u64 {
        // CASE 2: few to pop compared to what stays: pop them one by one (a listpack in
        // one ordered pass, as Redis does).
        match r {
            SetRef::Big(_) => {
                if let Some(Object::Set(set)) = e.obj_mut() {
                    for _ in 0..count {
                        if let Some(m) = set.pop_random(&mut rng) {
                            ctx.out.bulk(&m);
                        }
                    }
                }
            }
            SetRef::Pack(_) => {
                let all = r.to_elems();
                let chosen = pick_in_order(&mut rng, all.len(), count);
                // What stays keeps its order.
                let mut buf = Vec::new();
                for (e, &c) in all.iter().zip(&chosen) {
                    if c {
                        write_elem(ctx.out, *e);
                    } else {
                        packed::push(&mut buf, *e);
                    }
                }
                SetValue::Pack(buf, all.len() - count).store(|nv| e.set_value(nv));
            }
            SetRef::Ints(_) => {
                let mut v = SetValue::from_ref(r);
                for _ in 0..count {
                    if let Some(m) = v.pop_random(&mut rng) {
                        ctx.out.bulk(&m);
                    }
                }
                v.store(|nv| e.set_value(nv));
            }
        }
        return;
    }

    // CASE 3: most of the set goes: build a new set of the members that stay (a listpack
    // for a listpack or a hashtable, an intset for an intset), reply with the rest, and
    // store the new set in place of the old.
    let remaining = remaining as usize;
    let new = match r {
        SetRef::Ints(_) | SetRef::Pack(_) => {
            let all = r.to_elems();
            let keep = pick_in_order(&mut rng, all.len(), remaining);
            // What stays keeps its order (ascending for an intset).
            let mut buf = Vec::new();
            for (e, &k) in all.iter().zip(&keep) {
                if k {
                    packed::push(&mut buf, *e);
                } else {
                    write_elem(ctx.out, *e);
                }
            }
            match r {
                SetRef::Ints(_) => SetValue::Ints(buf, remaining),
                _ => SetValue::Pack(buf, remaining),
            }
        }
        SetRef::Big(_) => {
            let mut v = SetValue::new_pack();
            if let Some(Object::Set(set)) = e.obj_mut() {
                for _ in 0..remaining {
                    if let Some(m) = set.pop_random(&mut rng) {
                        v.add(&m, &lim);
                    }
                }
                let out = &mut *ctx.out;
                set.for_each(|m| out.bulk(m));
            }
            v
        }
    };
    new.store(|nv| e.set_value(nv));
}

/// SRANDMEMBER key [count]
pub(super) fn srandmember(ctx: &mut Ctx, args: &[&[u8]]) {
    if args.len() == 3 {
        return srandmember_count(ctx, args);
    }
    if args.len() > 3 {
        ctx.error(SYNTAX);
        return;
    }
    let mut rng = rng();
    read_set(ctx, args[1], |ctx, r| match r.and_then(|r| r.random(&mut rng)) {
        Some(e) => write_elem(ctx.out, e),
        None => ctx.out.null(),
    });
}

/// SRANDMEMBER key count: distinct members for a positive count, repetitions allowed (and
/// random order) for a negative one. Always an array reply, even in RESP3.
fn srandmember_count(ctx: &mut Ctx, args: &[&[u8]]) {
    let (count, uniq) = match parse_i64(args[2]) {
        None => {
            ctx.error(NOT_INTEGER);
            return;
        }
        Some(i64::MIN) => {
            ctx.error(
                "ERR value is out of range, value must between -9223372036854775807 and \
                 9223372036854775807",
            );
            return;
        }
        Some(n) if n < 0 => (n.unsigned_abs(), false),
        Some(n) => (n as u64, true),
    };
    let hard = ctx.shared.config.client_output_buffer_limit(ClientClass::Normal).hard;
    let budget = if hard > 0 { usize::try_from(hard).unwrap_or(usize::MAX) } else { MAX_REPEAT_REPLY };
    let mut rng = rng();
    read_set(ctx, args[1], |ctx, r| {
        let Some(r) = r else {
            ctx.out.array(0);
            return;
        };
        if count == 0 {
            ctx.out.array(0);
            return;
        }
        // CASE 1: a negative count (or 1): sample anew each time.
        if !uniq || count == 1 {
            let start = ctx.out.len();
            ctx.out.array(usize::try_from(count).unwrap_or(usize::MAX));
            // A packed set is indexed once; a big one samples its table.
            let all = match r {
                SetRef::Big(_) => Vec::new(),
                _ => r.to_elems(),
            };
            for _ in 0..count {
                let picked = match r {
                    SetRef::Big(_) => r.random(&mut rng),
                    _ => all.get(rng.below(all.len())).copied(),
                };
                let Some(e) = picked else { break };
                write_elem(ctx.out, e);
                if ctx.out.len() - start > budget {
                    // The reply would outgrow any output buffer: drop it and disconnect,
                    // as Redis does to a client past its output buffer limit.
                    ctx.out.truncate(start);
                    ctx.client.close_after_reply = true;
                    return;
                }
            }
            return;
        }
        let size = r.len();
        // CASE 2: at least as many as there are: the whole set.
        if count >= size as u64 {
            ctx.out.array(size);
            let out = &mut *ctx.out;
            r.for_each(|e| write_elem(out, e));
            return;
        }
        let count = count as usize; // < size
        ctx.out.array(count);
        match r {
            // CASE 2.5: a packed set: distinct members in the set's order.
            SetRef::Ints(_) | SetRef::Pack(_) => {
                let all = r.to_elems();
                let chosen = pick_in_order(&mut rng, all.len(), count);
                for (e, &c) in all.iter().zip(&chosen) {
                    if c {
                        write_elem(ctx.out, *e);
                    }
                }
            }
            SetRef::Big(set) => {
                if count as u64 * SRANDMEMBER_SUB_STRATEGY_MUL > size as u64 {
                    // CASE 3: close to the whole set: take everything, keep a random
                    // `count` of it.
                    let mut all: Vec<&[u8]> = Vec::with_capacity(size);
                    set.for_each(|m| all.push(m));
                    for i in 0..count {
                        let j = i + rng.below(all.len() - i);
                        all.swap(i, j);
                    }
                    for m in all.iter().take(count) {
                        ctx.out.bulk(m);
                    }
                } else {
                    // CASE 4: far fewer than the set holds: sample until `count` distinct.
                    let mut seen: HashSet<*const u8> = HashSet::with_capacity(count);
                    while seen.len() < count {
                        let Some(m) = set.random(&mut rng) else { break };
                        if seen.insert(m.as_ptr()) {
                            ctx.out.bulk(m);
                        }
                    }
                }
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use brim_engine::packed::Elem;

    #[test]
    fn selection_sampling_picks_exactly_k() {
        let mut rng = Rng::new(3);
        for n in 0..20 {
            for k in 0..=n {
                let c = pick_in_order(&mut rng, n, k);
                assert_eq!(c.iter().filter(|&&b| b).count(), k);
            }
        }
        // Every index gets picked sometimes.
        let mut hits = [0usize; 10];
        for _ in 0..2000 {
            for (i, &b) in pick_in_order(&mut rng, 10, 3).iter().enumerate() {
                hits[i] += b as usize;
            }
        }
        assert!(hits.iter().all(|&h| h > 400), "{hits:?}");
    }

    #[test]
    fn elem_text() {
        assert_eq!(with_text(Elem::Int(-5), |t| t.to_vec()), b"-5".to_vec());
    }
}
