//! The list family, with Redis 7.0.15's semantics, replies and error texts: LPUSH, RPUSH,
//! LPUSHX, RPUSHX, LPOP, RPOP, LLEN, LRANGE, LINDEX, LSET, LINSERT, LREM, LTRIM, LPOS,
//! LMOVE, RPOPLPUSH, LMPOP.
//!
//! A list is stored packed inline in its keyspace entry while it fits one node of
//! `list-max-listpack-size`, and as a chunked [`List`] beyond (back to inline once a
//! shrinking change leaves it a single chunk within half the limit, as Redis 7.2 converts
//! its quicklists back to listpacks). OBJECT ENCODING reports `quicklist` for both, as Redis
//! 7.0 does. Every command runs under its keys' stripe locks, so it is atomic.
//!
//! Keyspace statistics follow Redis 7.0: only the read lookups (LLEN, LINDEX, LRANGE, LPOS)
//! count hits and misses. A change that does nothing (LINSERT without its pivot, LREM with
//! no match, LPOP with count 0) signals no WATCHer and emits no event, as in Redis.
//!
//! The blocking commands (BLPOP, BRPOP, BLMPOP, BLMOVE, BRPOPLPUSH) live elsewhere and reuse
//! [`pop_and_reply`] and [`move_and_reply`].

use brim_engine::list::{End, Limit, List, ListRef};
use brim_engine::packed::{elem_of, Elem};
use brim_engine::{EntryMut, MultiLock, NewValue, Object, PackedKind, SetExpire, Stripe, ValueRef};
use brim_resp::{Aggregate, Reply};

use crate::args::{is, parse_i64, NOT_INTEGER, SYNTAX, WRONGTYPE};
use crate::ctx::Ctx;
use crate::notify::{class, key_ready, keyspace_event};
use crate::table::{cmd, Registration};

/// The list family.
pub const COMMANDS: &[Registration] = &[
    cmd("lpush", lpush),
    cmd("rpush", rpush),
    cmd("lpushx", lpushx),
    cmd("rpushx", rpushx),
    cmd("lpop", lpop),
    cmd("rpop", rpop),
    cmd("llen", llen),
    cmd("lrange", lrange),
    cmd("lindex", lindex),
    cmd("lset", lset),
    cmd("linsert", linsert),
    cmd("lrem", lrem),
    cmd("ltrim", ltrim),
    cmd("lpos", lpos),
    cmd("lmove", lmove),
    cmd("rpoplpush", rpoplpush),
    cmd("lmpop", lmpop),
];

/// Redis's `LIST_MAX_ITEM_SIZE`: the longest element a list takes.
const LIST_MAX_ITEM_SIZE: usize = (1 << 32) - 1024;
/// `ERR Element too large`.
const ELEMENT_TOO_LARGE: &str = "ERR Element too large";
/// `ERR no such key`.
const NO_SUCH_KEY: &str = "ERR no such key";
/// `ERR index out of range`.
const OUT_OF_RANGE: &str = "ERR index out of range";

/// The chunk limit the current `list-max-listpack-size` and `list-compress-depth` stand for.
pub fn limit(ctx: &Ctx) -> Limit {
    Limit::from_fill(ctx.shared.config.list_max_listpack_size())
        .with_compress_depth(ctx.shared.config.list_compress_depth())
}

/// A list value, for reading; `None` for another type.
pub fn list_view(v: ValueRef<'_>) -> Option<ListRef<'_>> {
    match v {
        ValueRef::Packed(PackedKind::List, b) => Some(ListRef::packed(b)),
        ValueRef::Obj(Object::List(l)) => Some(ListRef::big(l)),
        _ => None,
    }
}

/// Whether `v` is a list (without counting an inline list's elements, as a view does).
fn is_list(v: ValueRef<'_>) -> bool {
    matches!(v, ValueRef::Packed(PackedKind::List, _) | ValueRef::Obj(Object::List(_)))
}

/// Write one list element as a bulk string.
pub fn write_elem(out: &mut Reply, e: Elem) {
    match e {
        Elem::Int(n) => out.bulk_i64(n),
        Elem::Bytes(b) => out.bulk(b),
        Elem::Double(_) => out.bulk(&e.to_vec()),
    }
}

/// Store a new list under `key` (it must not be empty), packed inline when it fits.
fn create(s: &mut Stripe, key: &[u8], l: List, limit: Limit, acc: &brim_engine::Access) {
    if l.packable(limit, false) {
        s.set(key, NewValue::Packed(PackedKind::List, &l.first_chunk_bytes()), SetExpire::Clear, acc);
    } else {
        s.set(key, NewValue::Obj(Box::new(Object::List(l))), SetExpire::Clear, acc);
    }
}

/// Apply `f` to the list held by `e` (which must hold a list) and store the result in the
/// encoding it now needs; the key is deleted when the list ends up empty. Returns `f`'s
/// result and whether the key was deleted. Only call it for a change that will happen: it
/// signals the key's WATCHers.
fn update<R>(mut e: EntryMut<'_>, limit: Limit, f: impl FnOnce(&mut List) -> R) -> Option<(R, bool)> {
    let inline = match e.value() {
        ValueRef::Packed(PackedKind::List, b) => Some(List::from_packed(b)),
        _ => None,
    };
    if let Some(mut l) = inline {
        let r = f(&mut l);
        if l.is_empty() {
            e.delete();
            return Some((r, true));
        }
        if l.packable(limit, false) {
            e.set_value(NewValue::Packed(PackedKind::List, &l.first_chunk_bytes()));
        } else {
            e.set_value(NewValue::Obj(Box::new(Object::List(l))));
        }
        return Some((r, false));
    }
    let Some(Object::List(l)) = e.obj_mut() else { return None };
    let r = f(l);
    let empty = l.is_empty();
    let pack = (!empty && l.packable(limit, true)).then(|| l.first_chunk_bytes().into_owned());
    if empty {
        e.delete();
        return Some((r, true));
    }
    if let Some(bytes) = pack {
        e.set_value(NewValue::Packed(PackedKind::List, &bytes));
    }
    Some((r, false))
}

/// Parse `LEFT` / `RIGHT` (Redis's getListPositionFromObjectOrReply).
pub fn parse_end(arg: &[u8]) -> Option<End> {
    if is(arg, "right") {
        Some(End::Tail)
    } else if is(arg, "left") {
        Some(End::Head)
    } else {
        None
    }
}

fn pop_event(end: End) -> &'static str {
    match end {
        End::Head => "lpop",
        End::Tail => "rpop",
    }
}

fn push_event(end: End) -> &'static str {
    match end {
        End::Head => "lpush",
        End::Tail => "rpush",
    }
}

// ---------------------------------------------------------------------------------------
// Pushes.
// ---------------------------------------------------------------------------------------

/// Redis's pushGenericCommand: LPUSH, RPUSH, and with `xx` LPUSHX, RPUSHX.
fn push_generic(ctx: &mut Ctx, args: &[&[u8]], end: End, xx: bool) {
    let key = args[1];
    let elems = &args[2..];
    if elems.iter().any(|v| v.len() > LIST_MAX_ITEM_SIZE) {
        ctx.error(ELEMENT_TOO_LARGE);
        return;
    }
    let lim = limit(ctx);
    let acc = ctx.acc;
    let mut s = ctx.db().lock(key);
    let len = match s.get_mut(key, &acc) {
        Some(e) => {
            if !is_list(e.value()) {
                ctx.error(WRONGTYPE);
                return;
            }
            let r = update(e, lim, |l| {
                for v in elems {
                    l.push(end, elem_of(v), lim);
                }
                l.len()
            });
            r.map_or(0, |(n, _)| n)
        }
        None if xx => {
            ctx.out.int(0);
            return;
        }
        None => {
            let mut l = List::new();
            for v in elems {
                l.push(end, elem_of(v), lim);
            }
            let n = l.len();
            create(&mut s, key, l, lim, &acc);
            n
        }
    };
    drop(s);
    ctx.out.int(len as i64);
    keyspace_event(ctx, class::LIST, push_event(end), key);
    key_ready(ctx, key);
}

fn lpush(ctx: &mut Ctx, args: &[&[u8]]) {
    push_generic(ctx, args, End::Head, false)
}

fn rpush(ctx: &mut Ctx, args: &[&[u8]]) {
    push_generic(ctx, args, End::Tail, false)
}

fn lpushx(ctx: &mut Ctx, args: &[&[u8]]) {
    push_generic(ctx, args, End::Head, true)
}

fn rpushx(ctx: &mut Ctx, args: &[&[u8]]) {
    push_generic(ctx, args, End::Tail, true)
}

// ---------------------------------------------------------------------------------------
// Pops: the core shared with the blocking commands.
// ---------------------------------------------------------------------------------------

/// The shape of a pop's reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PopReply {
    /// One element as a bulk string (LPOP without count).
    One,
    /// Up to `n` elements as an array (LPOP with count; `n` may be 0).
    Count(usize),
    /// `[key, element]` (BLPOP, BRPOP).
    KeyOne,
    /// `[key, [elements...]]` with up to `n >= 1` elements (LMPOP, BLMPOP).
    KeyCount(usize),
}

/// What [`pop_and_reply`] or [`move_and_reply`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Popped {
    /// The key does not exist: nothing was written, nothing changed.
    Missing,
    /// The key holds another type: the WRONGTYPE error was written.
    WrongType,
    /// The reply was written (and the elements removed).
    Done,
}

/// Pop from the list at `key` in the locked stripe `s`, writing the reply shaped as `how`,
/// then emit `lpop`/`rpop` (and `del` when the list is emptied), as Redis's
/// popGenericCommand / listPopRangeAndReplyWithKey / serveClientBlockedOnList do. Elements
/// come in pop order (the tail first for `End::Tail`).
pub fn pop_and_reply(ctx: &mut Ctx, s: &mut Stripe, key: &[u8], end: End, how: PopReply) -> Popped {
    let acc = ctx.acc;
    let lim = limit(ctx);
    let Some(e) = s.get_mut(key, &acc) else { return Popped::Missing };
    if !is_list(e.value()) {
        ctx.error(WRONGTYPE);
        return Popped::WrongType;
    }
    let want = match how {
        PopReply::One | PopReply::KeyOne => 1,
        PopReply::Count(c) | PopReply::KeyCount(c) => c,
    };
    if want == 0 {
        // LPOP key 0 (lists are never empty otherwise).
        ctx.out.array(0);
        return Popped::Done;
    }
    if matches!(how, PopReply::KeyOne | PopReply::KeyCount(_)) {
        ctx.out.array(2);
        ctx.out.bulk(key);
    }
    let out = &mut *ctx.out;
    let popped = update(e, lim, |l| {
        let n = want.min(l.len());
        if matches!(how, PopReply::Count(_) | PopReply::KeyCount(_)) {
            out.array(n);
        }
        l.pop_many(end, n, lim, |x| write_elem(out, x))
    });
    let deleted = popped.is_some_and(|(_, d)| d);
    keyspace_event(ctx, class::LIST, pop_event(end), key);
    if deleted {
        keyspace_event(ctx, class::GENERIC, "del", key);
    }
    Popped::Done
}

/// Redis's popGenericCommand: LPOP and RPOP with an optional count.
fn pop_generic(ctx: &mut Ctx, args: &[&[u8]], end: End) {
    if args.len() > 3 {
        let name = if end == End::Head { "lpop" } else { "rpop" };
        ctx.error(&format!("ERR wrong number of arguments for '{name}' command"));
        return;
    }
    let how = match args.get(2) {
        None => PopReply::One,
        Some(arg) => match parse_i64(arg) {
            Some(n) if n >= 0 => PopReply::Count(n as usize),
            _ => {
                ctx.error("ERR value is out of range, must be positive");
                return;
            }
        },
    };
    let key = args[1];
    let mut s = ctx.db().lock(key);
    if pop_and_reply(ctx, &mut s, key, end, how) == Popped::Missing {
        match how {
            PopReply::One => ctx.out.null(),
            _ => ctx.out.null_array(),
        }
    }
}

fn lpop(ctx: &mut Ctx, args: &[&[u8]]) {
    pop_generic(ctx, args, End::Head)
}

fn rpop(ctx: &mut Ctx, args: &[&[u8]]) {
    pop_generic(ctx, args, End::Tail)
}

/// The `numkeys key [key ...] LEFT|RIGHT [COUNT count]` part of LMPOP and BLMPOP, starting
/// at `args[at]`: the keys' index range, the end to pop from and the count (default 1).
/// Replies with Redis's error and returns `None` when malformed.
pub fn parse_mpop(ctx: &mut Ctx, args: &[&[u8]], at: usize) -> Option<(std::ops::Range<usize>, End, usize)> {
    let numkeys = match parse_i64(args[at]) {
        Some(n) if n >= 1 => n as u64,
        _ => {
            ctx.error("ERR numkeys should be greater than 0");
            return None;
        }
    };
    let where_idx = (at as u64 + 1).saturating_add(numkeys);
    let Some(where_arg) = usize::try_from(where_idx).ok().and_then(|i| args.get(i)) else {
        ctx.error(SYNTAX);
        return None;
    };
    let where_idx = where_idx as usize;
    let Some(end) = parse_end(where_arg) else {
        ctx.error(SYNTAX);
        return None;
    };
    let mut count: Option<usize> = None;
    let mut j = where_idx + 1;
    while j < args.len() {
        let more = args.len() - 1 - j;
        if count.is_none() && is(args[j], "count") && more > 0 {
            j += 1;
            match parse_i64(args[j]) {
                Some(n) if n >= 1 => count = Some(usize::try_from(n).unwrap_or(usize::MAX)),
                _ => {
                    ctx.error("ERR count should be greater than 0");
                    return None;
                }
            }
        } else {
            ctx.error(SYNTAX);
            return None;
        }
        j += 1;
    }
    Some((at + 1..where_idx, end, count.unwrap_or(1)))
}

/// LMPOP numkeys key [key ...] LEFT|RIGHT [COUNT count].
fn lmpop(ctx: &mut Ctx, args: &[&[u8]]) {
    let Some((keys, end, count)) = parse_mpop(ctx, args, 1) else { return };
    let keys = &args[keys];
    let mut locked = ctx.db().lock_keys(keys.iter().copied());
    for &key in keys {
        match pop_and_reply(ctx, locked.stripe(key), key, end, PopReply::KeyCount(count)) {
            Popped::Missing => continue,
            Popped::WrongType => return,
            Popped::Done => {
                let name = if end == End::Head { "LPOP" } else { "RPOP" };
                crate::propagate::replace(&crate::propagate::pop_form(name, key, Some(count)));
                return;
            }
        }
    }
    ctx.out.null_array();
}

// ---------------------------------------------------------------------------------------
// Moves.
// ---------------------------------------------------------------------------------------

/// Move one element from the `from` end of `src` to the `to` end of `dst` (both locked in
/// `locked`; they may be the same key, which rotates it), replying with the element, as
/// Redis's lmoveGenericCommand. `Missing` (nothing written) when `src` does not exist.
/// Emits `lpush`/`rpush` on `dst`, then `lpop`/`rpop` (and `del`) on `src`.
pub fn move_and_reply(
    ctx: &mut Ctx,
    locked: &mut MultiLock<'_>,
    src: &[u8],
    dst: &[u8],
    from: End,
    to: End,
) -> Popped {
    let acc = ctx.acc;
    let lim = limit(ctx);
    match locked.stripe(src).get_mut(src, &acc) {
        None => return Popped::Missing,
        Some(e) if !is_list(e.value()) => {
            ctx.error(WRONGTYPE);
            return Popped::WrongType;
        }
        Some(_) => {}
    }
    let same = src == dst;
    if !same {
        if let Some(e) = locked.stripe(dst).get_mut(dst, &acc) {
            if !is_list(e.value()) {
                ctx.error(WRONGTYPE);
                return Popped::WrongType;
            }
        }
    }
    let mut src_deleted = false;
    let value = if same {
        let Some(e) = locked.stripe(src).get_mut(src, &acc) else { return Popped::Missing };
        update(e, lim, |l| {
            let v = l.pop(from, lim);
            if let Some(v) = &v {
                l.push(to, elem_of(v), lim);
            }
            v
        })
        .and_then(|(v, _)| v)
    } else {
        let Some(e) = locked.stripe(src).get_mut(src, &acc) else { return Popped::Missing };
        let popped = update(e, lim, |l| l.pop(from, lim));
        let value = popped.as_ref().and_then(|(v, _)| v.clone());
        src_deleted = popped.is_some_and(|(_, d)| d);
        if let Some(v) = &value {
            let s = locked.stripe(dst);
            match s.get_mut(dst, &acc) {
                Some(e) => {
                    update(e, lim, |l| l.push(to, elem_of(v), lim));
                }
                None => {
                    let mut l = List::new();
                    l.push(to, elem_of(v), lim);
                    create(s, dst, l, lim, &acc);
                }
            }
        }
        value
    };
    let Some(value) = value else {
        ctx.out.null();
        return Popped::Done;
    };
    ctx.out.bulk(&value);
    keyspace_event(ctx, class::LIST, push_event(to), dst);
    keyspace_event(ctx, class::LIST, pop_event(from), src);
    if src_deleted {
        keyspace_event(ctx, class::GENERIC, "del", src);
    }
    key_ready(ctx, dst);
    Popped::Done
}

fn move_generic(ctx: &mut Ctx, src: &[u8], dst: &[u8], from: End, to: End) {
    let mut locked = ctx.db().lock_keys([src, dst]);
    if move_and_reply(ctx, &mut locked, src, dst, from, to) == Popped::Missing {
        ctx.out.null();
    }
}

/// LMOVE source destination LEFT|RIGHT LEFT|RIGHT.
fn lmove(ctx: &mut Ctx, args: &[&[u8]]) {
    let Some(from) = parse_end(args[3]) else {
        ctx.error(SYNTAX);
        return;
    };
    let Some(to) = parse_end(args[4]) else {
        ctx.error(SYNTAX);
        return;
    };
    move_generic(ctx, args[1], args[2], from, to);
}

/// RPOPLPUSH source destination.
fn rpoplpush(ctx: &mut Ctx, args: &[&[u8]]) {
    move_generic(ctx, args[1], args[2], End::Tail, End::Head);
}

// ---------------------------------------------------------------------------------------
// Reads.
// ---------------------------------------------------------------------------------------

/// Number of elements of the list at `key` in a locked stripe: `Ok(0)` when missing,
/// `Err(())` when it holds another type. No statistics are counted.
#[allow(clippy::result_unit_err)]
pub fn list_len(s: &mut Stripe, key: &[u8], acc: &brim_engine::Access) -> Result<usize, ()> {
    match s.get(key, acc) {
        None => Ok(0),
        Some(e) => list_view(e.value()).map(|v| v.len()).ok_or(()),
    }
}

fn llen(ctx: &mut Ctx, args: &[&[u8]]) {
    let key = args[1];
    let acc = ctx.acc;
    let mut s = ctx.db().lock(key);
    let Some(e) = s.get(key, &acc) else {
        ctx.hit_or_miss(key, false);
        ctx.out.int(0);
        return;
    };
    ctx.hit_or_miss(key, true);
    match list_view(e.value()) {
        Some(v) => ctx.out.int(v.len() as i64),
        None => ctx.error(WRONGTYPE),
    }
}

/// Resolve Redis's start/end range arguments against a length: `None` when empty.
fn resolve_range(start: i64, end: i64, llen: usize) -> Option<(usize, usize)> {
    let llen = llen as i64;
    let mut start = if start < 0 { llen + start } else { start };
    let mut end = if end < 0 { llen + end } else { end };
    if start < 0 {
        start = 0;
    }
    if start > end || start >= llen {
        return None;
    }
    if end >= llen {
        end = llen - 1;
    }
    Some((start as usize, (end - start + 1) as usize))
}

fn lrange(ctx: &mut Ctx, args: &[&[u8]]) {
    let (Some(start), Some(end)) = (parse_i64(args[2]), parse_i64(args[3])) else {
        ctx.error(NOT_INTEGER);
        return;
    };
    let key = args[1];
    let acc = ctx.acc;
    let mut s = ctx.db().lock(key);
    let Some(e) = s.get(key, &acc) else {
        ctx.hit_or_miss(key, false);
        ctx.out.array(0);
        return;
    };
    ctx.hit_or_miss(key, true);
    let Some(v) = list_view(e.value()) else {
        ctx.error(WRONGTYPE);
        return;
    };
    match resolve_range(start, end, v.len()) {
        None => ctx.out.array(0),
        Some((from, n)) => {
            ctx.out.array(n);
            let mut left = n;
            v.for_each_from(from, |x| {
                write_elem(ctx.out, x);
                left -= 1;
                left > 0
            });
        }
    }
}

/// A Redis index (negative counts from the tail) as a position, if within `len`.
fn resolve_index(index: i64, len: usize) -> Option<usize> {
    let i = if index < 0 { index.checked_add(len as i64)? } else { index };
    usize::try_from(i).ok().filter(|&i| i < len)
}

fn lindex(ctx: &mut Ctx, args: &[&[u8]]) {
    let key = args[1];
    let acc = ctx.acc;
    let mut s = ctx.db().lock(key);
    let Some(e) = s.get(key, &acc) else {
        ctx.hit_or_miss(key, false);
        ctx.out.null();
        return;
    };
    ctx.hit_or_miss(key, true);
    let Some(v) = list_view(e.value()) else {
        ctx.error(WRONGTYPE);
        return;
    };
    let Some(index) = parse_i64(args[2]) else {
        ctx.error(NOT_INTEGER);
        return;
    };
    let out = &mut *ctx.out;
    if resolve_index(index, v.len()).and_then(|i| v.get_with(i, |x| write_elem(out, x))).is_none() {
        out.null();
    }
}

/// LPOS key element [RANK rank] [COUNT num-matches] [MAXLEN len].
fn lpos(ctx: &mut Ctx, args: &[&[u8]]) {
    if args[2].len() > LIST_MAX_ITEM_SIZE {
        ctx.error(ELEMENT_TOO_LARGE);
        return;
    }
    let (mut rank, mut count, mut maxlen) = (1i64, -1i64, 0i64);
    let mut j = 3;
    while j < args.len() {
        let more = args.len() - 1 - j > 0;
        let opt = args[j];
        if is(opt, "rank") && more {
            j += 1;
            let Some(r) = parse_i64(args[j]) else {
                ctx.error(NOT_INTEGER);
                return;
            };
            if r == 0 {
                ctx.error(
                    "ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... \
                     or use negative to start from the end of the list",
                );
                return;
            }
            rank = r;
        } else if is(opt, "count") && more {
            j += 1;
            match parse_i64(args[j]) {
                Some(n) if n >= 0 => count = n,
                _ => {
                    ctx.error("ERR COUNT can't be negative");
                    return;
                }
            }
        } else if is(opt, "maxlen") && more {
            j += 1;
            match parse_i64(args[j]) {
                Some(n) if n >= 0 => maxlen = n,
                _ => {
                    ctx.error("ERR MAXLEN can't be negative");
                    return;
                }
            }
        } else {
            ctx.error(SYNTAX);
            return;
        }
        j += 1;
    }
    // A negative rank searches from the tail (Redis negates it in C: LONG_MIN stays).
    let from_head = rank > 0;
    if rank < 0 {
        rank = rank.wrapping_neg();
    }
    let key = args[1];
    let target = elem_of(args[2]);
    let acc = ctx.acc;
    let mut s = ctx.db().lock(key);
    let Some(e) = s.get(key, &acc) else {
        ctx.hit_or_miss(key, false);
        if count != -1 {
            ctx.out.array(0);
        } else {
            ctx.out.null();
        }
        return;
    };
    ctx.hit_or_miss(key, true);
    let Some(v) = list_view(e.value()) else {
        ctx.error(WRONGTYPE);
        return;
    };
    let with_count = count != -1;
    let at = with_count.then(|| ctx.out.begin_deferred());
    let llen = v.len() as i64;
    let (mut index, mut matches, mut matchindex, mut arraylen) = (0i64, 0i64, -1i64, 0usize);
    let mut scan = |x: Elem, out: &mut Reply| -> bool {
        if maxlen != 0 && index >= maxlen {
            return false;
        }
        if x == target {
            matches += 1;
            matchindex = if from_head { index } else { llen - index - 1 };
            if matches >= rank {
                if with_count {
                    arraylen += 1;
                    out.int(matchindex);
                    if count != 0 && matches.wrapping_sub(rank).wrapping_add(1) >= count {
                        return false;
                    }
                } else {
                    return false;
                }
            }
        }
        index += 1;
        matchindex = -1;
        true
    };
    let out = &mut *ctx.out;
    if from_head {
        v.for_each(|x| scan(x, out));
    } else {
        v.for_each_rev(|x| scan(x, out));
    }
    match at {
        Some(at) => ctx.out.end_deferred(at, Aggregate::Array, arraylen),
        None if matchindex != -1 => ctx.out.int(matchindex),
        None => ctx.out.null(),
    }
}

// ---------------------------------------------------------------------------------------
// Changes in place.
// ---------------------------------------------------------------------------------------

fn lset(ctx: &mut Ctx, args: &[&[u8]]) {
    let key = args[1];
    let value = args[3];
    let lim = limit(ctx);
    let acc = ctx.acc;
    let mut s = ctx.db().lock(key);
    let Some(e) = s.get_mut(key, &acc) else {
        ctx.error(NO_SUCH_KEY);
        return;
    };
    let Some(v) = list_view(e.value()) else {
        ctx.error(WRONGTYPE);
        return;
    };
    let Some(index) = parse_i64(args[2]) else {
        ctx.error(NOT_INTEGER);
        return;
    };
    if value.len() > LIST_MAX_ITEM_SIZE {
        ctx.error(ELEMENT_TOO_LARGE);
        return;
    }
    let Some(i) = resolve_index(index, v.len()) else {
        ctx.error(OUT_OF_RANGE);
        return;
    };
    update(e, lim, |l| l.set(i, elem_of(value), lim));
    drop(s);
    ctx.out.ok();
    keyspace_event(ctx, class::LIST, "lset", key);
}

/// LINSERT key BEFORE|AFTER pivot element.
fn linsert(ctx: &mut Ctx, args: &[&[u8]]) {
    let after = if is(args[2], "after") {
        true
    } else if is(args[2], "before") {
        false
    } else {
        ctx.error(SYNTAX);
        return;
    };
    let (key, pivot, value) = (args[1], args[3], args[4]);
    if value.len() > LIST_MAX_ITEM_SIZE {
        ctx.error(ELEMENT_TOO_LARGE);
        return;
    }
    let lim = limit(ctx);
    let acc = ctx.acc;
    let mut s = ctx.db().lock(key);
    let Some(e) = s.get_mut(key, &acc) else {
        ctx.out.int(0);
        return;
    };
    let Some(v) = list_view(e.value()) else {
        ctx.error(WRONGTYPE);
        return;
    };
    let Some(at) = v.position(elem_of(pivot)) else {
        ctx.out.int(-1);
        return;
    };
    let at = if after { at + 1 } else { at };
    let len = update(e, lim, |l| {
        l.insert(at, elem_of(value), lim);
        l.len()
    })
    .map_or(0, |(n, _)| n);
    drop(s);
    keyspace_event(ctx, class::LIST, "linsert", key);
    ctx.out.int(len as i64);
}

/// LREM key count element.
fn lrem(ctx: &mut Ctx, args: &[&[u8]]) {
    if args[3].len() > LIST_MAX_ITEM_SIZE {
        ctx.error(ELEMENT_TOO_LARGE);
        return;
    }
    let Some(toremove) = parse_i64(args[2]) else {
        ctx.error(NOT_INTEGER);
        return;
    };
    let (key, target) = (args[1], elem_of(args[3]));
    let lim = limit(ctx);
    let acc = ctx.acc;
    let mut s = ctx.db().lock(key);
    let Some(e) = s.get_mut(key, &acc) else {
        ctx.out.int(0);
        return;
    };
    let Some(v) = list_view(e.value()) else {
        ctx.error(WRONGTYPE);
        return;
    };
    if v.position(target).is_none() {
        ctx.out.int(0);
        return;
    }
    let from_tail = toremove < 0;
    // |LONG_MIN| is never reached, as in Redis where the negation overflows.
    let max = usize::try_from(toremove.unsigned_abs()).unwrap_or(usize::MAX);
    let (removed, deleted) =
        update(e, lim, |l| l.remove_matching(target, max, from_tail, lim)).unwrap_or((0, false));
    drop(s);
    keyspace_event(ctx, class::LIST, "lrem", key);
    if deleted {
        keyspace_event(ctx, class::GENERIC, "del", key);
    }
    ctx.out.int(removed as i64);
}

/// LTRIM key start stop.
fn ltrim(ctx: &mut Ctx, args: &[&[u8]]) {
    let (Some(start), Some(end)) = (parse_i64(args[2]), parse_i64(args[3])) else {
        ctx.error(NOT_INTEGER);
        return;
    };
    let key = args[1];
    let lim = limit(ctx);
    let acc = ctx.acc;
    let mut s = ctx.db().lock(key);
    let Some(mut e) = s.get_mut(key, &acc) else {
        ctx.out.ok();
        return;
    };
    let Some(v) = list_view(e.value()) else {
        ctx.error(WRONGTYPE);
        return;
    };
    let llen = v.len();
    let (ltrim, rtrim) = match resolve_range(start, end, llen) {
        None => (llen, 0),
        Some((from, n)) => (from, llen - from - n),
    };
    let mut deleted = false;
    if ltrim + rtrim == 0 {
        // Nothing to remove; Redis still signals the key's WATCHers.
        let _ = e.obj_mut();
    } else {
        deleted = update(e, lim, |l| {
            l.remove_range(llen - rtrim, rtrim, lim);
            l.remove_range(0, ltrim, lim);
        })
        .is_some_and(|(_, d)| d);
    }
    drop(s);
    keyspace_event(ctx, class::LIST, "ltrim", key);
    if deleted {
        keyspace_event(ctx, class::GENERIC, "del", key);
    }
    ctx.out.ok();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_resolve_like_redis() {
        assert_eq!(resolve_range(0, -1, 5), Some((0, 5)));
        assert_eq!(resolve_range(-100, 100, 5), Some((0, 5)));
        assert_eq!(resolve_range(3, 1, 5), None);
        assert_eq!(resolve_range(5, 10, 5), None);
        assert_eq!(resolve_range(-2, -1, 5), Some((3, 2)));
        assert_eq!(resolve_range(i64::MIN, i64::MAX, 5), Some((0, 5)));
        assert_eq!(resolve_range(0, i64::MIN, 5), None);
        assert_eq!(resolve_range(0, 0, 0), None);
        assert_eq!(resolve_index(-1, 3), Some(2));
        assert_eq!(resolve_index(-4, 3), None);
        assert_eq!(resolve_index(3, 3), None);
        assert_eq!(resolve_index(i64::MIN, 3), None);
        assert_eq!(parse_end(b"LeFt"), Some(End::Head));
        assert_eq!(parse_end(b"up"), None);
        assert_eq!(pop_event(End::Head), "lpop");
        assert_eq!(pop_event(End::Tail), "rpop");
    }
}
