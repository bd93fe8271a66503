//! The set family, with Redis 7.0.15's replies and error texts: SADD, SREM, SCARD,
//! SISMEMBER, SMISMEMBER, SMEMBERS, SRANDMEMBER, SPOP, SMOVE, SINTER, SINTERCARD,
//! SINTERSTORE, SUNION, SUNIONSTORE, SDIFF, SDIFFSTORE, SSCAN.
//!
//! Encodings follow Redis 7.2 (`brim_engine::set` has the rules): a set of integers is an
//! `intset` (kept in ascending order, so SMEMBERS of one replies in ascending order as in
//! Redis) while it has at most `set-max-intset-entries` members; other small sets are a
//! `listpack` (at most `set-max-listpack-entries` members of at most
//! `set-max-listpack-value` bytes); the rest are a `hashtable`. Redis 7.0 has no listpack
//! sets (it goes from intset straight to hashtable): that is the one intended difference.
//! Small sets are packed inline in their keyspace entry; big ones are changed in place.
//!
//! Single-key commands run under their key's stripe lock; SMOVE and the multi-key commands
//! lock all their keys' stripes together, so every command is atomic as in Redis. Reads
//! count keyspace hits and misses (SINTER & co. count them for the *STORE variants too, as
//! Redis 7.0 does); writes do not. A write that changes nothing does not touch the key, so
//! WATCH is not triggered. A set left empty is deleted.

mod algebra;
mod random;

use brim_engine::packed::Elem;
use brim_engine::set::{Limits, SetRef, SetValue};
use brim_engine::{Access, Object, Rng, SetExpire, Stripe};
use brim_glob::glob_match;
use brim_resp::Reply;

use crate::args::{c_str, parse_cursor, parse_scan_options, WRONGTYPE};
use crate::ctx::Ctx;
use crate::notify::{class, keyspace_event};
use crate::table::{cmd, Registration};

/// The set family.
pub const COMMANDS: &[Registration] = &[
    cmd("sadd", sadd),
    cmd("srem", srem),
    cmd("scard", scard),
    cmd("sismember", sismember),
    cmd("smismember", smismember),
    cmd("smembers", smembers),
    cmd("srandmember", random::srandmember),
    cmd("spop", random::spop),
    cmd("smove", smove),
    cmd("sinter", algebra::sinter),
    cmd("sintercard", algebra::sintercard),
    cmd("sinterstore", algebra::sinterstore),
    cmd("sunion", algebra::sunion),
    cmd("sunionstore", algebra::sunionstore),
    cmd("sdiff", algebra::sdiff),
    cmd("sdiffstore", algebra::sdiffstore),
    cmd("sscan", sscan),
];

// ---------------------------------------------------------------------------------------
// Shared helpers.
// ---------------------------------------------------------------------------------------

/// The encoding thresholds from the live configuration.
fn limits(ctx: &Ctx) -> Limits {
    let c = &ctx.shared.config;
    let n = |v: u64| usize::try_from(v).unwrap_or(usize::MAX);
    Limits {
        intset_entries: n(c.set_max_intset_entries()),
        listpack_entries: n(c.set_max_listpack_entries()),
        listpack_value: n(c.set_max_listpack_value()),
    }
}

/// Write a member as a bulk string.
fn write_elem(out: &mut Reply, e: Elem<'_>) {
    match e {
        Elem::Bytes(b) => out.bulk(b),
        Elem::Int(n) => out.bulk_i64(n),
        Elem::Double(_) => out.bulk(&e.to_vec()),
    }
}

/// Call `f` with the text of a member.
fn with_text<R>(e: Elem<'_>, f: impl FnOnce(&[u8]) -> R) -> R {
    match e {
        Elem::Bytes(b) => f(b),
        other => f(&other.to_vec()),
    }
}

thread_local! {
    /// Per-thread random state for SPOP and SRANDMEMBER, seeded from the clock and the
    /// thread's stack.
    static RNG_STATE: std::cell::Cell<u64> = std::cell::Cell::new({
        let marker = 0u8;
        let stack = std::ptr::addr_of!(marker) as u64;
        (crate::shared::unix_us() as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ stack
    });
}

/// A generator for one command, drawn from the thread's random state.
fn rng() -> Rng {
    RNG_STATE.with(|s| {
        let mut r = Rng::new(s.get());
        let next = r.next_u64();
        s.set(next);
        Rng::new(next ^ 0xD1B5_4A32_D192_ED03)
    })
}

/// The set stored at `key` in `s`, looked up for reading (counting a hit or a miss), handed
/// to `f`; `None` when the key does not exist. Replies WRONGTYPE (without calling `f`) for
/// another type.
fn read_set(ctx: &mut Ctx, key: &[u8], f: impl FnOnce(&mut Ctx, Option<SetRef<'_>>)) {
    let acc = ctx.acc;
    let mut s = ctx.db().lock(key);
    match s.get(key, &acc) {
        None => {
            ctx.hit_or_miss(key, false);
            f(ctx, None)
        }
        Some(e) => {
            ctx.hit_or_miss(key, true);
            match SetRef::of(e.value()) {
                Some(r) => f(ctx, Some(r)),
                None => ctx.error(WRONGTYPE),
            }
        }
    }
}

/// A key holds another type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct WrongType;

/// Add `members` to the set at `key` (in locked stripe `s`), creating it if needed as
/// Redis's setTypeCreate with size hint `hint`; with `convert`, an existing packed set is
/// first converted if `hint` members could not stay packed (SADD's setTypeMaybeConvert).
/// Returns how many were new. The key is only written when something changed.
fn add_members(
    s: &mut Stripe,
    key: &[u8],
    members: &[&[u8]],
    hint: usize,
    convert: bool,
    lim: &Limits,
    acc: &Access,
) -> Result<usize, WrongType> {
    let Some(first) = members.first() else { return Ok(0) };
    let Some(mut e) = s.get_mut(key, acc) else {
        let mut v = SetValue::create(first, hint, lim);
        let added = members.iter().filter(|m| v.add(m, lim)).count();
        v.store(|nv| s.set(key, nv, SetExpire::Clear, acc));
        return Ok(added);
    };
    match SetRef::of(e.value()) {
        None => Err(WrongType),
        Some(SetRef::Big(set)) => {
            if members.iter().all(|m| set.contains(m)) {
                return Ok(0);
            }
            match e.obj_mut() {
                Some(Object::Set(set)) => Ok(members.iter().filter(|m| set.insert(m)).count()),
                _ => Ok(0),
            }
        }
        Some(r) => {
            let mut v = SetValue::from_ref(r);
            let before = v.encoding();
            if convert {
                v.maybe_convert(hint, lim);
            }
            let added = members.iter().filter(|m| v.add(m, lim)).count();
            if added > 0 || v.encoding() != before {
                v.store(|nv| e.set_value(nv));
            }
            Ok(added)
        }
    }
}

/// Remove `members` from the set at `key` (in locked stripe `s`), stopping when it becomes
/// empty (which deletes it). Returns how many were removed and whether the key was deleted;
/// `None` if there is no such key.
fn remove_members(
    s: &mut Stripe,
    key: &[u8],
    members: &[&[u8]],
    acc: &Access,
) -> Result<Option<(usize, bool)>, WrongType> {
    let Some(mut e) = s.get_mut(key, acc) else { return Ok(None) };
    let mut removed = 0;
    let mut emptied = false;
    match SetRef::of(e.value()) {
        None => return Err(WrongType),
        Some(SetRef::Big(set)) => {
            if !members.iter().any(|m| set.contains(m)) {
                return Ok(Some((0, false)));
            }
            if let Some(Object::Set(set)) = e.obj_mut() {
                for m in members {
                    if set.remove(m) {
                        removed += 1;
                        if set.is_empty() {
                            emptied = true;
                            break;
                        }
                    }
                }
            }
            if emptied {
                e.delete();
            }
        }
        Some(r) => {
            let mut v = SetValue::from_ref(r);
            for m in members {
                if v.remove(m) {
                    removed += 1;
                    if v.is_empty() {
                        emptied = true;
                        break;
                    }
                }
            }
            if emptied {
                e.delete();
            } else if removed > 0 {
                v.store(|nv| e.set_value(nv));
            }
        }
    }
    Ok(Some((removed, emptied)))
}

// ---------------------------------------------------------------------------------------
// Single-key commands.
// ---------------------------------------------------------------------------------------

/// SADD key member [member ...]
fn sadd(ctx: &mut Ctx, args: &[&[u8]]) {
    let key = args[1];
    let members = &args[2..];
    let lim = limits(ctx);
    let acc = ctx.acc;
    let added = add_members(&mut ctx.db().lock(key), key, members, members.len(), true, &lim, &acc);
    match added {
        Err(WrongType) => ctx.error(WRONGTYPE),
        Ok(n) => {
            if n > 0 {
                keyspace_event(ctx, class::SET, "sadd", key);
            }
            ctx.out.int(n as i64);
        }
    }
}

/// SREM key member [member ...]
fn srem(ctx: &mut Ctx, args: &[&[u8]]) {
    let key = args[1];
    let acc = ctx.acc;
    let res = remove_members(&mut ctx.db().lock(key), key, &args[2..], &acc);
    match res {
        Err(WrongType) => ctx.error(WRONGTYPE),
        Ok(None) => ctx.out.int(0),
        Ok(Some((removed, emptied))) => {
            if removed > 0 {
                keyspace_event(ctx, class::SET, "srem", key);
                if emptied {
                    keyspace_event(ctx, class::GENERIC, "del", key);
                }
            }
            ctx.out.int(removed as i64);
        }
    }
}

/// SCARD key
fn scard(ctx: &mut Ctx, args: &[&[u8]]) {
    read_set(ctx, args[1], |ctx, r| ctx.out.int(r.map_or(0, |r| r.len() as i64)));
}

/// SISMEMBER key member
fn sismember(ctx: &mut Ctx, args: &[&[u8]]) {
    let m = args[2];
    read_set(ctx, args[1], |ctx, r| ctx.out.int(r.is_some_and(|r| r.contains(m)) as i64));
}

/// SMISMEMBER key member [member ...]
fn smismember(ctx: &mut Ctx, args: &[&[u8]]) {
    let members = &args[2..];
    read_set(ctx, args[1], |ctx, r| {
        ctx.out.array(members.len());
        for m in members {
            ctx.out.int(r.is_some_and(|r| r.contains(m)) as i64);
        }
    });
}

/// SMEMBERS key (a set reply in RESP3; an `intset` in ascending order).
fn smembers(ctx: &mut Ctx, args: &[&[u8]]) {
    read_set(ctx, args[1], |ctx, r| match r {
        None => ctx.out.set(0),
        Some(r) => {
            ctx.out.set(r.len());
            let out = &mut *ctx.out;
            r.for_each(|e| write_elem(out, e));
        }
    });
}

/// SMOVE source destination member
fn smove(ctx: &mut Ctx, args: &[&[u8]]) {
    let (src, dst, member) = (args[1], args[2], args[3]);
    let lim = limits(ctx);
    let acc = ctx.acc;
    let db = ctx.db();
    let mut ml = db.lock_keys([src, dst]);
    let is_set = |s: &mut Stripe, key: &[u8]| s.get_mut(key, &acc).map(|e| SetRef::of(e.value()).is_some());
    // Both are looked up (and lazily expired) before anything is decided, as in Redis.
    let src_is_set = is_set(ml.stripe(src), src);
    let dst_is_set = is_set(ml.stripe(dst), dst);
    let Some(src_is_set) = src_is_set else {
        ctx.out.int(0);
        return;
    };
    if !src_is_set || dst_is_set == Some(false) {
        ctx.error(WRONGTYPE);
        return;
    }
    if src == dst {
        let nt = acc.no_touch();
        let found = ml
            .stripe(src)
            .get(src, &nt)
            .and_then(|e| SetRef::of(e.value()))
            .is_some_and(|r| r.contains(member));
        ctx.out.int(found as i64);
        return;
    }
    let (removed, emptied) = match remove_members(ml.stripe(src), src, &[member], &acc) {
        Ok(Some(r)) => r,
        _ => (0, false),
    };
    if removed == 0 {
        ctx.out.int(0);
        return;
    }
    keyspace_event(ctx, class::SET, "srem", src);
    if emptied {
        keyspace_event(ctx, class::GENERIC, "del", src);
    }
    if let Ok(1) = add_members(ml.stripe(dst), dst, &[member], 1, false, &lim, &acc) {
        keyspace_event(ctx, class::SET, "sadd", dst);
    }
    ctx.out.int(1);
}

/// SSCAN key cursor [MATCH pattern] [COUNT count]
fn sscan(ctx: &mut Ctx, args: &[&[u8]]) {
    let Some(cursor) = parse_cursor(args[2]) else {
        ctx.error("ERR invalid cursor");
        return;
    };
    read_set(ctx, args[1], |ctx, r| {
        let Some(r) = r else {
            ctx.out.array(2);
            ctx.out.bulk(b"0");
            ctx.out.array(0);
            return;
        };
        // Options are parsed only for an existing set, as in Redis.
        let (count, pattern) = match parse_scan_options(args, 3) {
            Ok(o) => o,
            Err(e) => return ctx.error(e),
        };
        let mut found: Vec<Elem<'_>> = Vec::new();
        let next = match r {
            // A packed set is returned whole, with cursor 0.
            SetRef::Ints(_) | SetRef::Pack(_) => {
                r.for_each(|e| found.push(e));
                0
            }
            // As Redis 7.0: scan buckets until COUNT members were collected, the scan ends,
            // or 10 × COUNT more steps were taken; then filter by the pattern.
            SetRef::Big(s) => {
                let mut steps = count.saturating_mul(10);
                let mut c = cursor;
                loop {
                    c = s.scan(c, |m| found.push(Elem::Bytes(m)));
                    if c == 0 || steps == 0 || found.len() >= count {
                        break;
                    }
                    steps -= 1;
                }
                c
            }
        };
        if let Some(p) = pattern {
            found.retain(|e| with_text(*e, |t| glob_match(p, t, false)));
        }
        ctx.out.array(2);
        ctx.out.bulk(next.to_string().as_bytes());
        ctx.out.array(found.len());
        for e in found {
            write_elem(ctx.out, e);
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn add_and_remove_members_in_a_stripe() {
        let mut s = Stripe::new(1);
        let acc = Access::at(0);
        let lim = Limits::default();
        let enc = |s: &mut Stripe| s.get(b"k", &acc).map(|e| e.encoding());
        assert_eq!(add_members(&mut s, b"k", &[b"3", b"1", b"2"], 3, true, &lim, &acc), Ok(3));
        assert_eq!(enc(&mut s), Some("intset"));
        assert_eq!(add_members(&mut s, b"k", &[b"1"], 1, true, &lim, &acc), Ok(0));
        assert_eq!(add_members(&mut s, b"k", &[b"a"], 1, true, &lim, &acc), Ok(1));
        assert_eq!(enc(&mut s), Some("listpack"));
        let many: Vec<Vec<u8>> = (0..200).map(|i| format!("m{i}").into_bytes()).collect();
        let refs: Vec<&[u8]> = many.iter().map(|m| m.as_slice()).collect();
        assert_eq!(add_members(&mut s, b"k", &refs, refs.len(), true, &lim, &acc), Ok(200));
        assert_eq!(enc(&mut s), Some("hashtable"));
        assert_eq!(remove_members(&mut s, b"k", &refs, &acc), Ok(Some((200, false))));
        assert_eq!(remove_members(&mut s, b"k", &[b"1", b"2", b"3", b"a", b"x"], &acc), Ok(Some((4, true))));
        assert!(s.get(b"k", &acc).is_none());
        assert_eq!(remove_members(&mut s, b"k", &[b"1"], &acc), Ok(None));
        s.set(b"str", brim_engine::NewValue::Str(b"v"), SetExpire::Clear, &acc);
        assert_eq!(add_members(&mut s, b"str", &[b"1"], 1, true, &lim, &acc), Err(WrongType));
        assert_eq!(remove_members(&mut s, b"str", &[b"1"], &acc), Err(WrongType));
    }
}
