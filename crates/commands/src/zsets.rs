//! The sorted set family, with Redis 7.0.15's semantics, replies and error texts: ZADD,
//! ZINCRBY, ZREM, ZCARD, ZSCORE, ZMSCORE, ZRANK, ZREVRANK, ZRANGE (BYSCORE, BYLEX, REV,
//! LIMIT, WITHSCORES), ZRANGESTORE, ZREVRANGE, Z[REV]RANGEBYSCORE, Z[REV]RANGEBYLEX, ZCOUNT,
//! ZLEXCOUNT, ZREMRANGEBYRANK/SCORE/LEX, ZPOPMIN, ZPOPMAX, ZMPOP, ZRANDMEMBER, ZUNION,
//! ZINTER, ZDIFF (and their STORE forms), ZINTERCARD, ZSCAN.
//!
//! Values live in either encoding of `brim_engine::zset` (`listpack` packed inline in the
//! key's entry, `skiplist` for big sets) and change encoding exactly where Redis 7.0 does:
//! listpack -> skiplist in `zsetAdd` when a member would exceed `zset-max-listpack-value`
//! or the count `zset-max-listpack-entries`; never back, except that stored results
//! (ZUNIONSTORE & co, ZRANGESTORE) are built in the encoding their size calls for.
//!
//! Each single-key command runs under its key's stripe lock; multi-key ones lock all their
//! stripes together (`Db::lock_keys`), so every command is atomic as in Redis. Writes only
//! touch an entry (signalling WATCH) when something really changes.
//!
//! # API for other families (GEO, blocking pops)
//! - [`add_members`] + [`add_notify`]: ZADD's core (creates the key, converts, counts);
//! - [`range_by_score`]: members of a score range with offset and limit, either encoding;
//! - [`store`]: store sorted pairs as a new sorted set (the STORE variants);
//! - [`pop`] + [`write_popped`] + [`pop_notify`]: the core of ZPOPMIN/ZPOPMAX/ZMPOP, for
//!   BZPOPMIN/BZPOPMAX/BZMPOP;
//! - reading a value: `brim_engine::zset::ZRef::of(entry.value())` then `score`, `rank`,
//!   `for_each`, `seq`.

mod range;
mod setops;

use std::cell::RefCell;

use brim_engine::packed::Elem;
use brim_engine::zset::{self, Limits, ScoreRange, Stored, ZRef, ZWork};
use brim_engine::{Access, EntryMut, NewValue, Object, PackedKind, Rng, SetExpire, Stripe, ValueRef};
use brim_resp::Reply;

use crate::args::{c_str, is, parse_i64, parse_scan_options, NOT_FLOAT, NOT_INTEGER, SYNTAX, WRONGTYPE};
use crate::ctx::Ctx;
use crate::notify::{class, key_ready, keyspace_event};
use crate::table::{cmd, Registration};

/// The sorted set family.
pub const COMMANDS: &[Registration] = &[
    cmd("zadd", zadd),
    cmd("zincrby", zincrby),
    cmd("zrem", zrem),
    cmd("zcard", zcard),
    cmd("zscore", zscore),
    cmd("zmscore", zmscore),
    cmd("zrank", zrank),
    cmd("zrevrank", zrevrank),
    cmd("zrange", range::zrange),
    cmd("zrangestore", range::zrangestore),
    cmd("zrevrange", range::zrevrange),
    cmd("zrangebyscore", range::zrangebyscore),
    cmd("zrevrangebyscore", range::zrevrangebyscore),
    cmd("zrangebylex", range::zrangebylex),
    cmd("zrevrangebylex", range::zrevrangebylex),
    cmd("zcount", range::zcount),
    cmd("zlexcount", range::zlexcount),
    cmd("zremrangebyrank", range::zremrangebyrank),
    cmd("zremrangebyscore", range::zremrangebyscore),
    cmd("zremrangebylex", range::zremrangebylex),
    cmd("zpopmin", zpopmin),
    cmd("zpopmax", zpopmax),
    cmd("zmpop", zmpop),
    cmd("zrandmember", zrandmember),
    cmd("zunion", setops::zunion),
    cmd("zinter", setops::zinter),
    cmd("zdiff", setops::zdiff),
    cmd("zunionstore", setops::zunionstore),
    cmd("zinterstore", setops::zinterstore),
    cmd("zdiffstore", setops::zdiffstore),
    cmd("zintercard", setops::zintercard),
    cmd("zscan", zscan),
];

/// `ERR resulting score is not a number (NaN)`.
pub const NAN_SCORE: &str = "ERR resulting score is not a number (NaN)";
/// `ERR min or max is not a float`.
pub const RANGE_NOT_FLOAT: &str = "ERR min or max is not a float";
/// `ERR min or max not valid string range item`.
pub const RANGE_NOT_LEX: &str = "ERR min or max not valid string range item";

/// Most elements ZRANDMEMBER returns for a negative count (Redis has no bound and would
/// build the whole reply in memory; Brim refuses past this many).
pub const RANDOM_REPLY_MAX: u64 = 10_000_000;

// ---------------------------------------------------------------------------------------
// Argument parsing.
// ---------------------------------------------------------------------------------------

/// Whether option argument `arg` is `word` (Redis compares with `strcasecmp`).
pub(crate) fn opt(arg: &[u8], word: &str) -> bool {
    is(c_str(arg), word)
}

/// C's `isspace`.
fn is_c_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0B | 0x0C | b'\r')
}

/// C's `strtod` over the text of `s` up to its first NUL byte: the value, how many bytes it
/// consumed, and whether it set `errno` to `ERANGE`. Leading spaces, hex floats, `inf`,
/// `infinity` and `nan` are accepted as C does.
fn strtod(s: &[u8]) -> (f64, usize, bool) {
    let s = c_str(s);
    let mut stack = [0u8; 64];
    let mut heap = Vec::new();
    let buf: &[u8] = if s.len() < stack.len() {
        stack[..s.len()].copy_from_slice(s);
        &stack[..=s.len()]
    } else {
        heap.reserve_exact(s.len() + 1);
        heap.extend_from_slice(s);
        heap.push(0);
        &heap
    };
    let start = buf.as_ptr() as *const libc::c_char;
    let mut end: *mut libc::c_char = std::ptr::null_mut();
    // SAFETY: `buf` is NUL-terminated and outlives the call; strtod only reads up to the
    // NUL and stores a pointer into `buf` in `end`; errno is this thread's.
    unsafe {
        *libc::__errno_location() = 0;
        let v = libc::strtod(start, &mut end);
        let erange = *libc::__errno_location() == libc::ERANGE;
        let consumed = (end as usize).saturating_sub(start as usize).min(s.len());
        (v, consumed, erange)
    }
}

/// Parse a score, increment or weight as Redis's `getDoubleFromObject`: the whole argument
/// must be a C float (no leading space, no NUL), not NaN, and not overflow or underflow to
/// zero.
pub fn parse_score(arg: &[u8]) -> Option<f64> {
    if let Some(n) = parse_i64(arg) {
        if n.unsigned_abs() < 1 << 53 {
            return Some(n as f64);
        }
    }
    let first = *arg.first()?;
    if is_c_space(first) || arg.contains(&0) {
        return None;
    }
    let (v, n, erange) = strtod(arg);
    if n != arg.len() || v.is_nan() || (erange && (v.is_infinite() || v == 0.0)) {
        return None;
    }
    Some(v)
}

/// Parse one end of a score interval as Redis's `zslParseRange`: `(` makes it exclusive,
/// the rest is read by `strtod` up to the first NUL, leading spaces allowed, must be
/// consumed whole, NaN refused (`inf` and overflows are fine).
pub fn parse_score_end(arg: &[u8]) -> Option<(f64, bool)> {
    let c = c_str(arg);
    let (ex, text) = match c.split_first() {
        Some((b'(', rest)) => (true, rest),
        _ => (false, c),
    };
    let (v, n, _) = strtod(text);
    if n != text.len() || v.is_nan() {
        return None;
    }
    Some((v, ex))
}

/// Parse a score interval (`min`, `max`).
pub fn parse_score_range(min: &[u8], max: &[u8]) -> Option<ScoreRange> {
    let (min, minex) = parse_score_end(min)?;
    let (max, maxex) = parse_score_end(max)?;
    Some(ScoreRange { min, max, minex, maxex })
}

/// Parse one end of a lex interval as `zslParseLexRangeItem`: `-`, `+`, or a string after
/// `(` (exclusive) or `[` (inclusive).
pub fn parse_lex_end(arg: &[u8]) -> Option<(zset::LexValue, bool)> {
    let (&first, rest) = arg.split_first()?;
    match first {
        b'+' | b'-' => {
            if rest.first().is_some_and(|&b| b != 0) {
                return None;
            }
            let v = if first == b'+' { zset::LexValue::Max } else { zset::LexValue::Min };
            Some((v, true))
        }
        b'(' => Some((zset::LexValue::Str(rest.to_vec()), true)),
        b'[' => Some((zset::LexValue::Str(rest.to_vec()), false)),
        _ => None,
    }
}

/// Parse a lex interval (`min`, `max`).
pub fn parse_lex_range(min: &[u8], max: &[u8]) -> Option<zset::LexRange> {
    let (min, minex) = parse_lex_end(min)?;
    let (max, maxex) = parse_lex_end(max)?;
    Some(zset::LexRange { min, max, minex, maxex })
}

/// Parse a SCAN cursor as Redis's `parseScanCursorOrReply` (C `strtoul`).
fn parse_cursor(arg: &[u8]) -> Option<u64> {
    let (neg, digits) = match arg.split_first() {
        Some((b'-', rest)) => (true, rest),
        Some((b'+', rest)) => (false, rest),
        _ => (false, arg),
    };
    if digits.is_empty() {
        return arg.is_empty().then_some(0);
    }
    let mut v: u64 = 0;
    for &c in digits {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add((c - b'0') as u64)?;
    }
    Some(if neg { v.wrapping_neg() } else { v })
}

/// The `zset-max-listpack-*` limits in force.
pub fn limits(ctx: &Ctx) -> Limits {
    let c = &ctx.shared.config;
    Limits {
        max_entries: usize::try_from(c.zset_max_listpack_entries()).unwrap_or(usize::MAX),
        max_value: usize::try_from(c.zset_max_listpack_value()).unwrap_or(usize::MAX),
    }
}

// ---------------------------------------------------------------------------------------
// Replies.
// ---------------------------------------------------------------------------------------

/// Write a member as a bulk string.
pub fn write_elem(out: &mut Reply, e: Elem) {
    match e {
        Elem::Bytes(b) => out.bulk(b),
        Elem::Int(n) => out.bulk_i64(n),
        Elem::Double(_) => out.bulk(&e.to_vec()),
    }
}

/// Write members with optional scores as ZRANGE does: a flat array in RESP2, an array of
/// [member, score] pairs in RESP3 when scores are included.
pub fn write_pairs<'a>(
    out: &mut Reply,
    items: impl ExactSizeIterator<Item = (Elem<'a>, f64)>,
    withscores: bool,
) {
    let resp3 = out.is_resp3();
    let n = items.len();
    out.array(if withscores && !resp3 { n * 2 } else { n });
    for (m, s) in items {
        if withscores && resp3 {
            out.array(2);
        }
        write_elem(out, m);
        if withscores {
            out.double(s);
        }
    }
}

// ---------------------------------------------------------------------------------------
// Looking keys up and storing values.
// ---------------------------------------------------------------------------------------

/// The key holds a value of another type (`WRONGTYPE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WrongType;

/// A key looked up for reading: missing, of another type, or a sorted set.
pub enum Lookup<'a> {
    /// No such key.
    Missing,
    /// The key holds another type.
    WrongType,
    /// The sorted set.
    Found(ZRef<'a>),
}

/// Look `key` up for reading, counting the keyspace hit or miss (Redis's lookupKeyRead).
pub fn lookup_read<'s>(ctx: &Ctx, s: &'s mut Stripe, key: &[u8]) -> Lookup<'s> {
    let acc = ctx.acc;
    match s.get(key, &acc) {
        None => {
            ctx.hit_or_miss(key, false);
            Lookup::Missing
        }
        Some(e) => {
            ctx.hit_or_miss(key, true);
            match ZRef::of(e.value()) {
                Some(z) => Lookup::Found(z),
                None => Lookup::WrongType,
            }
        }
    }
}

/// A key looked up for writing.
enum Write<'s> {
    Missing,
    WrongType,
    Found(EntryMut<'s>),
}

/// Look `key` up for writing (Redis's lookupKeyWrite: no hit/miss counting).
fn lookup_write<'s>(s: &'s mut Stripe, key: &[u8], acc: &Access) -> Write<'s> {
    match s.get_mut(key, acc) {
        None => Write::Missing,
        Some(e) => match ZRef::of(e.value()) {
            Some(_) => Write::Found(e),
            None => Write::WrongType,
        },
    }
}

/// The sorted set of entry `e`, for changing (signals the key's watchers once).
fn open<'e>(e: &'e mut EntryMut<'_>) -> ZWork<'e> {
    if let ValueRef::Packed(PackedKind::ZSet, b) = e.value() {
        return ZWork::Packed(b.to_vec());
    }
    match e.obj_mut() {
        Some(Object::ZSet(z)) => ZWork::Big(z),
        _ => ZWork::empty(),
    }
}

/// Put a changed sorted set back in its entry, deleting the key if it became empty.
/// Returns whether the key was deleted.
fn store_back(mut e: EntryMut<'_>, stored: Stored) -> bool {
    match stored {
        Stored::Packed(b) if b.is_empty() => {
            e.delete();
            true
        }
        Stored::Packed(b) => {
            e.set_value(NewValue::Packed(PackedKind::ZSet, &b));
            false
        }
        Stored::Big(z) if z.is_empty() => {
            e.delete();
            true
        }
        Stored::Big(z) => {
            e.set_value(NewValue::Obj(Box::new(Object::ZSet(*z))));
            false
        }
        Stored::InPlace => {
            if ZRef::of(e.value()).is_none_or(|z| z.is_empty()) {
                e.delete();
                true
            } else {
                false
            }
        }
    }
}

/// Store a new sorted set under `key`, replacing whatever was there and clearing any TTL
/// (Redis's setKey).
fn store_value(s: &mut Stripe, key: &[u8], stored: Stored, acc: &Access) {
    match stored {
        Stored::Packed(b) => s.set(key, NewValue::Packed(PackedKind::ZSet, &b), SetExpire::Clear, acc),
        Stored::Big(z) => s.set(key, NewValue::Obj(Box::new(Object::ZSet(*z))), SetExpire::Clear, acc),
        Stored::InPlace => {}
    }
}

/// Store `pairs` (in (score, member) order, no duplicates) as the sorted set at `key`, in
/// the encoding Redis gives a stored result; an empty `pairs` deletes the key. Returns
/// whether a key was deleted. No reply, no notification.
pub fn store(ctx: &Ctx, s: &mut Stripe, key: &[u8], pairs: &[(Vec<u8>, f64)]) -> bool {
    let acc = ctx.acc;
    if pairs.is_empty() {
        return s.remove(key, &acc);
    }
    store_value(s, key, zset::build(pairs, &limits(ctx)), &acc);
    false
}

// ---------------------------------------------------------------------------------------
// ZADD, ZINCRBY.
// ---------------------------------------------------------------------------------------

/// ZADD's options.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct AddFlags {
    /// Only add new members.
    pub nx: bool,
    /// Only update existing members.
    pub xx: bool,
    /// Only update when the new score is greater.
    pub gt: bool,
    /// Only update when the new score is less.
    pub lt: bool,
    /// Add the score to the current one (ZINCRBY, ZADD INCR).
    pub incr: bool,
}

/// What an add did.
#[derive(Debug, Default, Clone, Copy, PartialEq)]
pub struct AddOutcome {
    /// Members added.
    pub added: usize,
    /// Members whose score changed.
    pub updated: usize,
    /// Members not skipped by NX/XX/GT/LT.
    pub processed: usize,
    /// The last processed member's new score.
    pub score: f64,
}

/// Why an add failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddError {
    /// The key holds another type.
    WrongType,
    /// An increment made a score NaN (`ERR resulting score is not a number (NaN)`).
    Nan,
}

/// What `zsetAdd` does with one member.
enum Decision {
    Skip,
    Same(f64),
    Update(f64),
    Add(f64),
    Nan,
}

fn decide(cur: Option<f64>, score: f64, f: AddFlags) -> Decision {
    match cur {
        Some(cur) => {
            if f.nx {
                return Decision::Skip;
            }
            let mut score = score;
            if f.incr {
                score += cur;
                if score.is_nan() {
                    return Decision::Nan;
                }
            }
            if (f.lt && score >= cur) || (f.gt && score <= cur) {
                return Decision::Skip;
            }
            if score != cur {
                Decision::Update(score)
            } else {
                Decision::Same(score)
            }
        }
        None if f.xx => Decision::Skip,
        None => Decision::Add(score),
    }
}

/// The first pair of a ZADD that changes the set, found by its dry run: its index and the
/// member's score then, which the run of the adds need not look up again.
type FirstChange = Option<(usize, Option<f64>)>;

/// Run the adds on `w` (the score of pair `first.0` being `first.1`). `false` on NaN, with
/// the counts so far in `o`.
fn apply_adds(
    w: &mut ZWork,
    f: AddFlags,
    pairs: &[(f64, &[u8])],
    (lim, first): (&Limits, FirstChange),
    o: &mut AddOutcome,
) -> bool {
    for (i, &(score, member)) in pairs.iter().enumerate() {
        let current = match first {
            Some((at, known)) if at == i => known,
            _ => w.score(member),
        };
        match decide(current, score, f) {
            Decision::Skip => {}
            Decision::Same(s) => {
                o.processed += 1;
                o.score = s;
            }
            Decision::Update(s) => {
                w.set_score(member, s);
                o.updated += 1;
                o.processed += 1;
                o.score = s;
            }
            Decision::Add(s) => {
                w.add(member, s, lim);
                o.added += 1;
                o.processed += 1;
                o.score = s;
            }
            Decision::Nan => return false,
        }
    }
    true
}

/// The core of ZADD (and GEOADD): add or update `pairs` (score, member) in the sorted set
/// at `key` in locked stripe `s` with ZADD's `flags`, creating the key if needed (not with
/// XX) and converting its encoding as Redis does. Nothing is replied or notified: call
/// [`add_notify`] after the reply. On `Err(Nan)` the members before the failing one stay
/// changed, as in Redis.
pub fn add_members(
    ctx: &Ctx,
    s: &mut Stripe,
    key: &[u8],
    flags: AddFlags,
    pairs: &[(f64, &[u8])],
) -> Result<AddOutcome, (AddError, AddOutcome)> {
    let acc = ctx.acc;
    let lim = limits(ctx);
    let mut o = AddOutcome::default();
    match lookup_write(s, key, &acc) {
        Write::WrongType => Err((AddError::WrongType, o)),
        Write::Missing => {
            if flags.xx {
                return Ok(o);
            }
            let mut w = ZWork::empty();
            let ok = apply_adds(&mut w, flags, pairs, (&lim, None), &mut o);
            if !w.is_empty() {
                store_value(s, key, w.finish(), &acc);
            }
            if ok {
                Ok(o)
            } else {
                Err((AddError::Nan, o))
            }
        }
        Write::Found(mut e) => {
            // A dry run on the current value first: a ZADD that changes nothing must not
            // touch the key (WATCH).
            let mut first = None;
            if let Some(z) = ZRef::of(e.value()) {
                let mut dry = AddOutcome::default();
                for (i, &(score, member)) in pairs.iter().enumerate() {
                    let current = z.score(member);
                    match decide(current, score, flags) {
                        Decision::Skip => {}
                        Decision::Same(s) => {
                            dry.processed += 1;
                            dry.score = s;
                        }
                        Decision::Nan => return Err((AddError::Nan, dry)),
                        Decision::Update(_) | Decision::Add(_) => {
                            first = Some((i, current));
                            break;
                        }
                    }
                }
                if first.is_none() {
                    return Ok(dry);
                }
            }
            let mut w = open(&mut e);
            let ok = apply_adds(&mut w, flags, pairs, (&lim, first), &mut o);
            let stored = w.finish();
            store_back(e, stored);
            if ok {
                Ok(o)
            } else {
                Err((AddError::Nan, o))
            }
        }
    }
}

/// Emit what ZADD emits after an add: the `zadd` (or, with INCR, `zincr`) event when
/// something changed, and wake clients blocked on the key.
pub fn add_notify(ctx: &mut Ctx, key: &[u8], flags: AddFlags, o: &AddOutcome) {
    if o.added + o.updated > 0 {
        keyspace_event(ctx, class::ZSET, if flags.incr { "zincr" } else { "zadd" }, key);
        if o.added > 0 {
            key_ready(ctx, key);
        }
    }
}

fn zadd_generic(ctx: &mut Ctx, args: &[&[u8]], incr_cmd: bool) {
    let mut f = AddFlags { incr: incr_cmd, ..AddFlags::default() };
    let mut ch = false;
    let mut i = 2;
    while i < args.len() {
        let a = args[i];
        if opt(a, "nx") {
            f.nx = true;
        } else if opt(a, "xx") {
            f.xx = true;
        } else if opt(a, "ch") {
            ch = true;
        } else if opt(a, "incr") {
            f.incr = true;
        } else if opt(a, "gt") {
            f.gt = true;
        } else if opt(a, "lt") {
            f.lt = true;
        } else {
            break;
        }
        i += 1;
    }
    let rest = args.get(i..).unwrap_or_default();
    if rest.is_empty() || rest.len() % 2 == 1 {
        ctx.error(SYNTAX);
        return;
    }
    if f.nx && f.xx {
        ctx.error("ERR XX and NX options at the same time are not compatible");
        return;
    }
    if ((f.gt || f.lt) && f.nx) || (f.gt && f.lt) {
        ctx.error("ERR GT, LT, and/or NX options at the same time are not compatible");
        return;
    }
    if f.incr && rest.len() > 2 {
        ctx.error("ERR INCR option supports a single increment-element pair");
        return;
    }
    let mut pairs = Vec::with_capacity(rest.len() / 2);
    for p in rest.chunks_exact(2) {
        let Some(score) = parse_score(p[0]) else {
            ctx.error(NOT_FLOAT);
            return;
        };
        pairs.push((score, p[1]));
    }
    let key = args[1];
    let db = ctx.db();
    let mut s = db.lock(key);
    let res = add_members(ctx, &mut s, key, f, &pairs);
    drop(s);
    let o = match res {
        Ok(o) => {
            if f.incr {
                if o.processed > 0 {
                    ctx.out.double(o.score);
                } else {
                    ctx.out.null();
                }
            } else {
                ctx.out.int((if ch { o.added + o.updated } else { o.added }) as i64);
            }
            o
        }
        Err((AddError::WrongType, _)) => {
            ctx.error(WRONGTYPE);
            return;
        }
        Err((AddError::Nan, o)) => {
            ctx.error(NAN_SCORE);
            o
        }
    };
    add_notify(ctx, key, f, &o);
}

fn zadd(ctx: &mut Ctx, args: &[&[u8]]) {
    zadd_generic(ctx, args, false)
}

fn zincrby(ctx: &mut Ctx, args: &[&[u8]]) {
    zadd_generic(ctx, args, true)
}

// ---------------------------------------------------------------------------------------
// ZREM, ZCARD, ZSCORE, ZMSCORE, ZRANK, ZREVRANK.
// ---------------------------------------------------------------------------------------

fn zrem(ctx: &mut Ctx, args: &[&[u8]]) {
    let key = args[1];
    let members = args.get(2..).unwrap_or_default();
    let acc = ctx.acc;
    let db = ctx.db();
    let mut s = db.lock(key);
    let (deleted, removed) = match lookup_write(&mut s, key, &acc) {
        Write::Missing => (0, false),
        Write::WrongType => {
            drop(s);
            ctx.error(WRONGTYPE);
            return;
        }
        Write::Found(mut e) => {
            if ZRef::of(e.value()).is_some_and(|z| members.iter().all(|m| z.score(m).is_none())) {
                (0, false)
            } else {
                let mut w = open(&mut e);
                let mut deleted = 0;
                for m in members {
                    if w.remove(m).is_some() {
                        deleted += 1;
                    }
                    if w.is_empty() {
                        break;
                    }
                }
                let stored = w.finish();
                (deleted, store_back(e, stored))
            }
        }
    };
    drop(s);
    if deleted > 0 {
        keyspace_event(ctx, class::ZSET, "zrem", key);
        if removed {
            keyspace_event(ctx, class::GENERIC, "del", key);
        }
    }
    ctx.out.int(deleted);
}

fn zcard(ctx: &mut Ctx, args: &[&[u8]]) {
    let key = args[1];
    let db = ctx.db();
    let mut s = db.lock(key);
    match lookup_read(ctx, &mut s, key) {
        Lookup::Missing => ctx.out.int(0),
        Lookup::WrongType => ctx.out.error(WRONGTYPE),
        Lookup::Found(z) => ctx.out.int(z.len() as i64),
    }
}

fn zscore(ctx: &mut Ctx, args: &[&[u8]]) {
    let key = args[1];
    let db = ctx.db();
    let mut s = db.lock(key);
    match lookup_read(ctx, &mut s, key) {
        Lookup::Missing => ctx.out.null(),
        Lookup::WrongType => ctx.out.error(WRONGTYPE),
        Lookup::Found(z) => match z.score(args[2]) {
            Some(v) => ctx.out.double(v),
            None => ctx.out.null(),
        },
    }
}

fn zmscore(ctx: &mut Ctx, args: &[&[u8]]) {
    let key = args[1];
    let members = args.get(2..).unwrap_or_default();
    let db = ctx.db();
    let mut s = db.lock(key);
    let z = match lookup_read(ctx, &mut s, key) {
        Lookup::Missing => None,
        Lookup::WrongType => {
            ctx.out.error(WRONGTYPE);
            return;
        }
        Lookup::Found(z) => Some(z),
    };
    ctx.out.array(members.len());
    for m in members {
        match z.and_then(|z| z.score(m)) {
            Some(v) => ctx.out.double(v),
            None => ctx.out.null(),
        }
    }
}

/// ZRANK / ZREVRANK key member [WITHSCORE] (WITHSCORE as Redis 7.2 has it).
fn zrank_generic(ctx: &mut Ctx, args: &[&[u8]], rev: bool) {
    if args.len() > 4 {
        ctx.error(SYNTAX);
        return;
    }
    let withscore = args.len() == 4;
    if withscore && !opt(args[3], "withscore") {
        ctx.error(SYNTAX);
        return;
    }
    let key = args[1];
    let db = ctx.db();
    let mut s = db.lock(key);
    let found = match lookup_read(ctx, &mut s, key) {
        Lookup::Missing => None,
        Lookup::WrongType => {
            ctx.out.error(WRONGTYPE);
            return;
        }
        Lookup::Found(z) => z.rank(args[2]).map(|r| {
            let r = if rev { z.len() - 1 - r } else { r };
            (r, z.score(args[2]).unwrap_or(0.0))
        }),
    };
    match (found, withscore) {
        (Some((r, _)), false) => ctx.out.int(r as i64),
        (Some((r, score)), true) => {
            ctx.out.array(2);
            ctx.out.int(r as i64);
            ctx.out.double(score);
        }
        (None, false) => ctx.out.null(),
        (None, true) => ctx.out.null_array(),
    }
}

fn zrank(ctx: &mut Ctx, args: &[&[u8]]) {
    zrank_generic(ctx, args, false)
}

fn zrevrank(ctx: &mut Ctx, args: &[&[u8]]) {
    zrank_generic(ctx, args, true)
}

// ---------------------------------------------------------------------------------------
// ZPOPMIN, ZPOPMAX, ZMPOP (and the core of the blocking pops).
// ---------------------------------------------------------------------------------------

/// The reply shapes of the pop commands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PopShape {
    /// member, score, member, score ... (ZPOPMIN in RESP2 or without count).
    Flat,
    /// [[member, score], ...] (ZPOPMIN with count in RESP3).
    Nested,
    /// key, member, score, ... (BZPOPMIN / BZPOPMAX).
    FlatWithKey,
    /// [key, [[member, score], ...]] (ZMPOP / BZMPOP).
    NestedWithKey,
}

/// What a pop took.
#[derive(Debug, Clone, PartialEq)]
pub struct Popped {
    /// The members and scores, in pop order.
    pub items: Vec<(Vec<u8>, f64)>,
    /// Whether the key was deleted (the set emptied).
    pub deleted: bool,
}

/// Pop up to `count` members of the sorted set at `key` in locked stripe `s`, lowest
/// scores first (highest with `max`); the core of ZPOPMIN, ZPOPMAX, ZMPOP and the blocking
/// pops. `Ok(None)`: no such key; `Err(WrongType)`: another type. No reply and no
/// notification: see [`write_popped`] and [`pop_notify`].
pub fn pop(
    ctx: &Ctx,
    s: &mut Stripe,
    key: &[u8],
    max: bool,
    count: usize,
) -> Result<Option<Popped>, WrongType> {
    let acc = ctx.acc;
    match lookup_write(s, key, &acc) {
        Write::Missing => Ok(None),
        Write::WrongType => Err(WrongType),
        Write::Found(mut e) => {
            let n = ZRef::of(e.value()).map(|z| z.len()).unwrap_or(0).min(count);
            if n == 0 {
                return Ok(Some(Popped { items: Vec::new(), deleted: false }));
            }
            let mut w = open(&mut e);
            let mut items = Vec::with_capacity(n);
            for _ in 0..n {
                match w.pop(max) {
                    Some(p) => items.push(p),
                    None => break,
                }
            }
            let stored = w.finish();
            let deleted = store_back(e, stored);
            Ok(Some(Popped { items, deleted }))
        }
    }
}

/// Write popped pairs in `shape`.
pub fn write_popped(out: &mut Reply, key: &[u8], items: &[(Vec<u8>, f64)], shape: PopShape) {
    match shape {
        PopShape::Flat => out.array(items.len() * 2),
        PopShape::Nested => out.array(items.len()),
        PopShape::FlatWithKey => {
            out.array(items.len() * 2 + 1);
            out.bulk(key);
        }
        PopShape::NestedWithKey => {
            out.array(2);
            out.bulk(key);
            out.array(items.len());
        }
    }
    let nested = matches!(shape, PopShape::Nested | PopShape::NestedWithKey);
    for (m, s) in items {
        if nested {
            out.array(2);
        }
        out.bulk(m);
        out.double(*s);
    }
}

/// The events of a pop: `zpopmin`/`zpopmax` when something was popped, then `del` if the
/// key went.
pub fn pop_notify(ctx: &mut Ctx, key: &[u8], max: bool, popped: usize, deleted: bool) {
    if popped > 0 {
        keyspace_event(ctx, class::ZSET, if max { "zpopmax" } else { "zpopmin" }, key);
    }
    if deleted {
        keyspace_event(ctx, class::GENERIC, "del", key);
    }
}

fn zpop_minmax(ctx: &mut Ctx, args: &[&[u8]], max: bool) {
    if args.len() > 3 {
        ctx.error(SYNTAX);
        return;
    }
    let mut count: Option<usize> = None;
    if let Some(arg) = args.get(2) {
        match parse_i64(arg) {
            Some(n) if n >= 0 => count = Some(usize::try_from(n).unwrap_or(usize::MAX)),
            _ => {
                ctx.error("ERR value is out of range, must be positive");
                return;
            }
        }
    }
    let shape = if ctx.out.is_resp3() && count.is_some() { PopShape::Nested } else { PopShape::Flat };
    let key = args[1];
    let db = ctx.db();
    let mut s = db.lock(key);
    let res = pop(ctx, &mut s, key, max, count.unwrap_or(1));
    drop(s);
    match res {
        Err(WrongType) => ctx.error(WRONGTYPE),
        Ok(None) => ctx.out.array(0),
        Ok(Some(p)) => {
            write_popped(ctx.out, key, &p.items, shape);
            pop_notify(ctx, key, max, p.items.len(), p.deleted);
        }
    }
}

fn zpopmin(ctx: &mut Ctx, args: &[&[u8]]) {
    zpop_minmax(ctx, args, false)
}

fn zpopmax(ctx: &mut Ctx, args: &[&[u8]]) {
    zpop_minmax(ctx, args, true)
}

/// Parse the arguments of ZMPOP / BZMPOP from `numkeys_idx` on: the keys, MIN|MAX and the
/// count. Writes the error and returns `None` on a bad argument.
#[allow(clippy::type_complexity)]
pub fn parse_mpop<'a>(
    ctx: &mut Ctx,
    args: &[&'a [u8]],
    numkeys_idx: usize,
) -> Option<(Vec<&'a [u8]>, bool, usize)> {
    let numkeys = match args.get(numkeys_idx).and_then(|a| parse_i64(a)) {
        Some(n) if n >= 1 => n as u64,
        _ => {
            ctx.error("ERR numkeys should be greater than 0");
            return None;
        }
    };
    let where_idx = (numkeys_idx as u64).saturating_add(numkeys).saturating_add(1);
    let Some(&where_arg) = usize::try_from(where_idx).ok().and_then(|i| args.get(i)) else {
        ctx.error(SYNTAX);
        return None;
    };
    let where_idx = where_idx as usize;
    let max = if opt(where_arg, "min") {
        false
    } else if opt(where_arg, "max") {
        true
    } else {
        ctx.error(SYNTAX);
        return None;
    };
    let mut count: Option<usize> = None;
    let mut j = where_idx + 1;
    while j < args.len() {
        let more = args.len() - 1 - j;
        if count.is_none() && opt(args[j], "count") && more > 0 {
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
    let keys = args.get(numkeys_idx + 1..where_idx).unwrap_or_default().to_vec();
    Some((keys, max, count.unwrap_or(1)))
}

fn zmpop(ctx: &mut Ctx, args: &[&[u8]]) {
    let Some((keys, max, count)) = parse_mpop(ctx, args, 1) else {
        return;
    };
    let db = ctx.db();
    let mut locked = db.lock_keys(keys.iter().copied());
    for key in &keys {
        match pop(ctx, locked.stripe(key), key, max, count) {
            Ok(None) => continue,
            Err(WrongType) => {
                drop(locked);
                ctx.error(WRONGTYPE);
                return;
            }
            Ok(Some(p)) => {
                drop(locked);
                let name = if max { "ZPOPMAX" } else { "ZPOPMIN" };
                crate::propagate::replace(&crate::propagate::pop_form(name, key, Some(count)));
                write_popped(ctx.out, key, &p.items, PopShape::NestedWithKey);
                pop_notify(ctx, key, max, p.items.len(), p.deleted);
                return;
            }
        }
    }
    drop(locked);
    ctx.out.null_array();
}

// ---------------------------------------------------------------------------------------
// ZRANDMEMBER.
// ---------------------------------------------------------------------------------------

thread_local! {
    static RNG: RefCell<Rng> = RefCell::new(Rng::new({
        let t = crate::shared::unix_us() as u64;
        let id = std::thread::current().id();
        t ^ brim_engine::hash_key(format!("{id:?}").as_bytes())
    }));
}

fn with_rng<R>(f: impl FnOnce(&mut Rng) -> R) -> R {
    RNG.with(|r| f(&mut r.borrow_mut()))
}

fn zrandmember(ctx: &mut Ctx, args: &[&[u8]]) {
    let key = args[1];
    if args.len() >= 3 {
        let l = match parse_i64(args[2]) {
            None => {
                ctx.error(NOT_INTEGER);
                return;
            }
            Some(i64::MIN) => {
                ctx.error("ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807");
                return;
            }
            Some(l) => l,
        };
        let withscores = args.len() == 4;
        if args.len() > 4 || (withscores && !opt(args[3], "withscores")) {
            ctx.error(SYNTAX);
            return;
        }
        if withscores && !(-(i64::MAX / 2)..=i64::MAX / 2).contains(&l) {
            ctx.error("ERR value is out of range");
            return;
        }
        randmember_count(ctx, key, l, withscores);
        return;
    }
    let db = ctx.db();
    let mut s = db.lock(key);
    match lookup_read(ctx, &mut s, key) {
        Lookup::Missing => ctx.out.null(),
        Lookup::WrongType => ctx.out.error(WRONGTYPE),
        Lookup::Found(z) => {
            let seq = z.seq();
            let r = with_rng(|rng| rng.below(seq.len().max(1)));
            match seq.get(r) {
                Some((m, _)) => write_elem(ctx.out, m),
                None => ctx.out.null(),
            }
        }
    }
}

fn randmember_count(ctx: &mut Ctx, key: &[u8], l: i64, withscores: bool) {
    let db = ctx.db();
    let mut s = db.lock(key);
    let z = match lookup_read(ctx, &mut s, key) {
        Lookup::Missing => {
            ctx.out.array(0);
            return;
        }
        Lookup::WrongType => {
            ctx.out.error(WRONGTYPE);
            return;
        }
        Lookup::Found(z) => z,
    };
    let count = l.unsigned_abs();
    if count == 0 {
        ctx.out.array(0);
        return;
    }
    let resp3 = ctx.out.is_resp3();
    let seq = z.seq();
    let size = seq.len();
    let emit = |out: &mut Reply, rank: usize| {
        if let Some((m, sc)) = seq.get(rank) {
            if withscores && resp3 {
                out.array(2);
            }
            write_elem(out, m);
            if withscores {
                out.double(sc);
            }
        }
    };
    let header = |out: &mut Reply, n: usize| out.array(if withscores && !resp3 { n * 2 } else { n });
    // Negative count (or 1): with repetitions, in random order.
    if l < 0 || count == 1 {
        if count > RANDOM_REPLY_MAX {
            ctx.out.error("ERR value is out of range");
            return;
        }
        let n = count as usize;
        header(ctx.out, n);
        with_rng(|rng| {
            for _ in 0..n {
                emit(ctx.out, rng.below(size));
            }
        });
        return;
    }
    // The whole set: Redis walks it from the highest score down.
    if count >= size as u64 {
        header(ctx.out, size);
        for rank in (0..size).rev() {
            emit(ctx.out, rank);
        }
        return;
    }
    // Distinct members.
    let n = count as usize;
    let ranks: Vec<usize> = with_rng(|rng| {
        if n * 3 > size {
            let mut all: Vec<usize> = (0..size).collect();
            for i in 0..n {
                let j = i + rng.below(size - i);
                all.swap(i, j);
            }
            all.truncate(n);
            all
        } else {
            let mut seen = ahash::AHashSet::with_capacity(n);
            let mut v = Vec::with_capacity(n);
            while v.len() < n {
                let r = rng.below(size);
                if seen.insert(r) {
                    v.push(r);
                }
            }
            v
        }
    });
    header(ctx.out, n);
    for r in ranks {
        emit(ctx.out, r);
    }
}

// ---------------------------------------------------------------------------------------
// ZSCAN.
// ---------------------------------------------------------------------------------------

fn zscan(ctx: &mut Ctx, args: &[&[u8]]) {
    let Some(cursor) = parse_cursor(args[2]) else {
        ctx.error("ERR invalid cursor");
        return;
    };
    let key = args[1];
    let db = ctx.db();
    let mut s = db.lock(key);
    let z = match lookup_read(ctx, &mut s, key) {
        Lookup::Missing => {
            ctx.out.array(2);
            ctx.out.bulk(b"0");
            ctx.out.array(0);
            return;
        }
        Lookup::WrongType => {
            ctx.out.error(WRONGTYPE);
            return;
        }
        Lookup::Found(z) => z,
    };
    let (count, pattern) = match parse_scan_options(args, 3) {
        Ok(o) => o,
        Err(e) => return ctx.out.error(e),
    };
    let keep = |m: &[u8]| pattern.is_none_or(|p| brim_glob::glob_match(p, m, false));
    let mut found: Vec<(Vec<u8>, Vec<u8>)> = Vec::new();
    let next = match z {
        ZRef::Packed(b) => {
            for (m, sc, _) in zset::lp::iter(b) {
                if zset::with_text(m, keep) {
                    found.push((m.to_vec(), zset::lp::score_text(sc)));
                }
            }
            0
        }
        ZRef::Big(big) => {
            let mut c = cursor;
            let mut budget = count.saturating_mul(10);
            let mut visited = 0usize;
            loop {
                c = big.scan(c, |m, sc| {
                    visited += 1;
                    if keep(m) {
                        found.push((m.to_vec(), brim_resp::number::format_double(sc).into_bytes()));
                    }
                });
                budget = budget.saturating_sub(1);
                if c == 0 || budget == 0 || visited * 2 >= count {
                    break;
                }
            }
            c
        }
    };
    drop(s);
    ctx.out.array(2);
    ctx.out.bulk(next.to_string().as_bytes());
    ctx.out.array(found.len() * 2);
    for (m, sc) in &found {
        ctx.out.bulk(m);
        ctx.out.bulk(sc);
    }
}

/// Members of a score range with ZRANGEBYSCORE's offset and limit (`limit < 0`: no limit;
/// `offset < 0`: nothing), ascending from the range's low end or (`rev`) descending from
/// its high end. For GEO's radius searches over either encoding.
pub fn range_by_score<'a>(
    z: ZRef<'a>,
    r: &ScoreRange,
    offset: i64,
    limit: i64,
    rev: bool,
) -> Vec<(Elem<'a>, f64)> {
    let mut out = Vec::new();
    range::score_range(&z.seq(), r, offset, limit, rev, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scores_parse_like_strtod() {
        assert_eq!(parse_score(b"1.5"), Some(1.5));
        assert_eq!(parse_score(b"-0").map(|v| v.is_sign_negative()), Some(true));
        assert_eq!(parse_score(b"0x10"), Some(16.0));
        assert_eq!(parse_score(b"inf"), Some(f64::INFINITY));
        assert_eq!(parse_score(b"-Infinity"), Some(f64::NEG_INFINITY));
        assert_eq!(parse_score(b"1e-310"), Some(1e-310));
        assert_eq!(parse_score(b".5"), Some(0.5));
        for bad in [&b""[..], b" 1", b"1 ", b"nan", b"1e400", b"1e-400", b"abc", b"1\0", b"--1"] {
            assert_eq!(parse_score(bad), None, "{:?}", bad);
        }
        assert_eq!(parse_score_end(b"(1.5"), Some((1.5, true)));
        assert_eq!(parse_score_end(b" 2"), Some((2.0, false)));
        assert_eq!(parse_score_end(b"("), Some((0.0, true)));
        assert_eq!(parse_score_end(b""), Some((0.0, false)));
        assert_eq!(parse_score_end(b"1e400"), Some((f64::INFINITY, false)));
        assert_eq!(parse_score_end(b"3\0junk"), Some((3.0, false)));
        assert_eq!(parse_score_end(b"nan"), None);
        assert_eq!(parse_score_end(b"1x"), None);
        let long = format!("{}1", "0".repeat(100));
        assert_eq!(parse_score(long.as_bytes()), Some(1.0));
    }

    #[test]
    fn lex_ends() {
        assert_eq!(parse_lex_end(b"-"), Some((zset::LexValue::Min, true)));
        assert_eq!(parse_lex_end(b"+\0x"), Some((zset::LexValue::Max, true)));
        assert_eq!(parse_lex_end(b"+x"), None);
        assert_eq!(parse_lex_end(b"[a"), Some((zset::LexValue::Str(b"a".to_vec()), false)));
        assert_eq!(parse_lex_end(b"("), Some((zset::LexValue::Str(Vec::new()), true)));
        assert_eq!(parse_lex_end(b"a"), None);
        assert_eq!(parse_lex_end(b""), None);
        assert_eq!(parse_cursor(b"-1"), Some(u64::MAX));
        assert_eq!(parse_cursor(b"x"), None);
    }
}
