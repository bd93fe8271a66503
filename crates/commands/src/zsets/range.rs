//! ZRANGE and its relatives (ZRANGESTORE, ZREVRANGE, Z[REV]RANGEBYSCORE, Z[REV]RANGEBYLEX),
//! ZCOUNT, ZLEXCOUNT and ZREMRANGEBYRANK/SCORE/LEX, following Redis's
//! `zrangeGenericCommand`, `zcountCommand`, `zlexcountCommand` and
//! `zremrangeGenericCommand`.

use brim_engine::packed::Elem;
use brim_engine::zset::{with_text, LexRange, ScoreRange, ZRef, ZSeq, ZWork};

use super::{
    limits, lookup_read, lookup_write, open, opt, parse_lex_range, parse_score_range, store_back,
    store_value, write_pairs, Lookup, Write, RANGE_NOT_FLOAT, RANGE_NOT_LEX,
};
use crate::args::{parse_i64, NOT_INTEGER, SYNTAX, WRONGTYPE};
use crate::ctx::Ctx;
use crate::notify::{class, key_ready, keyspace_event};

/// How a range is given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Rank,
    Score,
    Lex,
}

/// A parsed range.
enum Spec {
    Rank(i64, i64),
    Score(ScoreRange),
    Lex(LexRange),
}

/// Members of ranks `start..=end` (negative counting from the end), ascending or (`rev`)
/// counting ranks from the highest score.
fn rank_range<'a>(seq: &ZSeq<'a>, start: i64, end: i64, rev: bool, out: &mut Vec<(Elem<'a>, f64)>) {
    let llen = seq.len() as i64;
    let (mut start, mut end) = (start, end);
    if start < 0 {
        start += llen;
    }
    if end < 0 {
        end += llen;
    }
    if start < 0 {
        start = 0;
    }
    if start > end || start >= llen {
        return;
    }
    if end >= llen {
        end = llen - 1;
    }
    let n = (end - start + 1) as usize;
    let from = if rev { (llen - 1 - start) as usize } else { start as usize };
    seq.walk(from, rev, |m, s| {
        out.push((m, s));
        out.len() < n
    });
}

/// ZRANGEBYSCORE's walk: from the first (or, `rev`, last) member in range, skip `offset`,
/// then take up to `limit` (negative: all) while in range. A negative offset walks off the
/// end, as in Redis.
pub(super) fn score_range<'a>(
    seq: &ZSeq<'a>,
    r: &ScoreRange,
    offset: i64,
    limit: i64,
    rev: bool,
    out: &mut Vec<(Elem<'a>, f64)>,
) {
    if offset > 0 && offset as u64 >= seq.len() as u64 {
        return;
    }
    let start = if rev { seq.last_in_score(r) } else { seq.first_in_score(r) };
    walk_limited(seq, start, offset, limit, rev, |_, s| if rev { r.gte_min(s) } else { r.lte_max(s) }, out);
}

/// ZRANGEBYLEX's walk, as [`score_range`] by member.
fn lex_range<'a>(
    seq: &ZSeq<'a>,
    r: &LexRange,
    offset: i64,
    limit: i64,
    rev: bool,
    out: &mut Vec<(Elem<'a>, f64)>,
) {
    let start = if rev { seq.last_in_lex(r) } else { seq.first_in_lex(r) };
    let inside = |m: Elem<'_>, _| with_text(m, |t| if rev { r.gte_min(t) } else { r.lte_max(t) });
    walk_limited(seq, start, offset, limit, rev, inside, out);
}

/// From rank `start` (none: nothing), skip `offset` members, then take up to `limit`
/// (negative: all) while `inside` holds. A negative offset selects nothing, as in Redis.
fn walk_limited<'a>(
    seq: &ZSeq<'a>,
    start: Option<usize>,
    offset: i64,
    limit: i64,
    rev: bool,
    inside: impl Fn(Elem<'a>, f64) -> bool,
    out: &mut Vec<(Elem<'a>, f64)>,
) {
    let Some(start) = start else {
        return;
    };
    if offset < 0 {
        return;
    }
    let mut skip = offset;
    let mut left = limit;
    seq.walk(start, rev, |m, s| {
        if skip > 0 {
            skip -= 1;
            return true;
        }
        if left == 0 || !inside(m, s) {
            return false;
        }
        out.push((m, s));
        if left > 0 {
            left -= 1;
        }
        true
    });
}

/// The members `spec` selects.
fn select<'a>(z: ZRef<'a>, spec: &Spec, offset: i64, limit: i64, rev: bool) -> Vec<(Elem<'a>, f64)> {
    let seq = z.seq();
    let mut out = Vec::new();
    match spec {
        Spec::Rank(a, b) => rank_range(&seq, *a, *b, rev, &mut out),
        Spec::Score(r) => score_range(&seq, r, offset, limit, rev, &mut out),
        Spec::Lex(r) => lex_range(&seq, r, offset, limit, rev, &mut out),
    }
    out
}

/// Redis's `zrangeGenericCommand`: `src_idx` is the source key's argument, `dst` the
/// destination of ZRANGESTORE; `kind` and `rev` are fixed by the legacy commands and come
/// from the options for ZRANGE and ZRANGESTORE.
fn generic(
    ctx: &mut Ctx,
    args: &[&[u8]],
    src_idx: usize,
    dst: Option<&[u8]>,
    kind: Option<Kind>,
    rev: Option<bool>,
) {
    let store_mode = dst.is_some();
    let (mut kind, mut rev) = (kind, rev);
    let mut withscores = false;
    let (mut offset, mut limit) = (0i64, -1i64);
    let mut j = src_idx + 3;
    while j < args.len() {
        let left = args.len() - j - 1;
        let a = args[j];
        if !store_mode && opt(a, "withscores") {
            withscores = true;
        } else if opt(a, "limit") && left >= 2 {
            match (parse_i64(args[j + 1]), parse_i64(args[j + 2])) {
                (Some(o), Some(l)) => {
                    offset = o;
                    limit = l;
                }
                _ => {
                    ctx.error(NOT_INTEGER);
                    return;
                }
            }
            j += 2;
        } else if rev.is_none() && opt(a, "rev") {
            rev = Some(true);
        } else if kind.is_none() && opt(a, "bylex") {
            kind = Some(Kind::Lex);
        } else if kind.is_none() && opt(a, "byscore") {
            kind = Some(Kind::Score);
        } else {
            ctx.error(SYNTAX);
            return;
        }
        j += 1;
    }
    let kind = kind.unwrap_or(Kind::Rank);
    let rev = rev.unwrap_or(false);
    if limit != -1 && kind == Kind::Rank {
        ctx.error("ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX");
        return;
    }
    if withscores && kind == Kind::Lex {
        ctx.error("ERR syntax error, WITHSCORES not supported in combination with BYLEX");
        return;
    }
    let (mut lo, mut hi) = (args[src_idx + 1], args[src_idx + 2]);
    if rev && kind != Kind::Rank {
        std::mem::swap(&mut lo, &mut hi);
    }
    let spec = match kind {
        Kind::Rank => match (parse_i64(lo), parse_i64(hi)) {
            (Some(a), Some(b)) => Spec::Rank(a, b),
            _ => {
                ctx.error(NOT_INTEGER);
                return;
            }
        },
        Kind::Score => match parse_score_range(lo, hi) {
            Some(r) => Spec::Score(r),
            None => {
                ctx.error(RANGE_NOT_FLOAT);
                return;
            }
        },
        Kind::Lex => match parse_lex_range(lo, hi) {
            Some(r) => Spec::Lex(r),
            None => {
                ctx.error(RANGE_NOT_LEX);
                return;
            }
        },
    };
    let src = args[src_idx];
    let db = ctx.db();
    match dst {
        None => {
            let mut s = db.lock(src);
            match lookup_read(ctx, &mut s, src) {
                Lookup::Missing => ctx.out.array(0),
                Lookup::WrongType => ctx.out.error(WRONGTYPE),
                Lookup::Found(z) => {
                    let items = select(z, &spec, offset, limit, rev);
                    write_pairs(ctx.out, items.into_iter(), withscores);
                }
            }
        }
        Some(dst) => {
            let mut locked = db.lock_keys([dst, src]);
            // Redis adds the results one by one to a new listpack (converting it when it
            // outgrows the limits), so a -0 score added while packed becomes 0.
            let lim = limits(ctx);
            let mut w = ZWork::empty();
            match lookup_read(ctx, locked.stripe(src), src) {
                Lookup::Missing => {}
                Lookup::WrongType => {
                    drop(locked);
                    ctx.error(WRONGTYPE);
                    return;
                }
                Lookup::Found(z) => {
                    for (m, s) in select(z, &spec, offset, limit, rev) {
                        with_text(m, |t| w.add(t, s, &lim));
                    }
                }
            };
            let n = w.len();
            let acc = ctx.acc;
            let deleted = if n == 0 {
                locked.stripe(dst).remove(dst, &acc)
            } else {
                store_value(locked.stripe(dst), dst, w.finish(), &acc);
                false
            };
            drop(locked);
            ctx.out.int(n as i64);
            if n > 0 {
                keyspace_event(ctx, class::ZSET, "zrangestore", dst);
                key_ready(ctx, dst);
            } else if deleted {
                keyspace_event(ctx, class::GENERIC, "del", dst);
            }
        }
    }
}

/// ZRANGE key start stop [BYSCORE|BYLEX] [REV] [LIMIT offset count] [WITHSCORES]
pub(super) fn zrange(ctx: &mut Ctx, args: &[&[u8]]) {
    generic(ctx, args, 1, None, None, None)
}

/// ZRANGESTORE dst src min max [BYSCORE|BYLEX] [REV] [LIMIT offset count]
pub(super) fn zrangestore(ctx: &mut Ctx, args: &[&[u8]]) {
    generic(ctx, args, 2, Some(args[1]), None, None)
}

/// ZREVRANGE key start stop [WITHSCORES]
pub(super) fn zrevrange(ctx: &mut Ctx, args: &[&[u8]]) {
    generic(ctx, args, 1, None, Some(Kind::Rank), Some(true))
}

/// ZRANGEBYSCORE key min max [WITHSCORES] [LIMIT offset count]
pub(super) fn zrangebyscore(ctx: &mut Ctx, args: &[&[u8]]) {
    generic(ctx, args, 1, None, Some(Kind::Score), Some(false))
}

/// ZREVRANGEBYSCORE key max min [WITHSCORES] [LIMIT offset count]
pub(super) fn zrevrangebyscore(ctx: &mut Ctx, args: &[&[u8]]) {
    generic(ctx, args, 1, None, Some(Kind::Score), Some(true))
}

/// ZRANGEBYLEX key min max [LIMIT offset count]
pub(super) fn zrangebylex(ctx: &mut Ctx, args: &[&[u8]]) {
    generic(ctx, args, 1, None, Some(Kind::Lex), Some(false))
}

/// ZREVRANGEBYLEX key max min [LIMIT offset count]
pub(super) fn zrevrangebylex(ctx: &mut Ctx, args: &[&[u8]]) {
    generic(ctx, args, 1, None, Some(Kind::Lex), Some(true))
}

/// ZCOUNT key min max
pub(super) fn zcount(ctx: &mut Ctx, args: &[&[u8]]) {
    let Some(r) = parse_score_range(args[2], args[3]) else {
        ctx.error(RANGE_NOT_FLOAT);
        return;
    };
    let key = args[1];
    let db = ctx.db();
    let mut s = db.lock(key);
    match lookup_read(ctx, &mut s, key) {
        Lookup::Missing => ctx.out.int(0),
        Lookup::WrongType => ctx.out.error(WRONGTYPE),
        Lookup::Found(z) => ctx.out.int(z.seq().count_score(&r) as i64),
    }
}

/// ZLEXCOUNT key min max
pub(super) fn zlexcount(ctx: &mut Ctx, args: &[&[u8]]) {
    let Some(r) = parse_lex_range(args[2], args[3]) else {
        ctx.error(RANGE_NOT_LEX);
        return;
    };
    let key = args[1];
    let db = ctx.db();
    let mut s = db.lock(key);
    match lookup_read(ctx, &mut s, key) {
        Lookup::Missing => ctx.out.int(0),
        Lookup::WrongType => ctx.out.error(WRONGTYPE),
        Lookup::Found(z) => ctx.out.int(z.seq().count_lex(&r) as i64),
    }
}

/// ZREMRANGEBYRANK / ZREMRANGEBYSCORE / ZREMRANGEBYLEX.
fn zremrange(ctx: &mut Ctx, args: &[&[u8]], kind: Kind) {
    let (spec, event) = match kind {
        Kind::Rank => match (parse_i64(args[2]), parse_i64(args[3])) {
            (Some(a), Some(b)) => (Spec::Rank(a, b), "zremrangebyrank"),
            _ => {
                ctx.error(NOT_INTEGER);
                return;
            }
        },
        Kind::Score => match parse_score_range(args[2], args[3]) {
            Some(r) => (Spec::Score(r), "zremrangebyscore"),
            None => {
                ctx.error(RANGE_NOT_FLOAT);
                return;
            }
        },
        Kind::Lex => match parse_lex_range(args[2], args[3]) {
            Some(r) => (Spec::Lex(r), "zremrangebylex"),
            None => {
                ctx.error(RANGE_NOT_LEX);
                return;
            }
        },
    };
    let key = args[1];
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
            let span = match ZRef::of(e.value()) {
                None => (0, 0),
                Some(z) => {
                    let seq = z.seq();
                    match &spec {
                        Spec::Rank(a, b) => {
                            let llen = seq.len() as i64;
                            let (mut start, mut end) = (*a, *b);
                            if start < 0 {
                                start += llen;
                            }
                            if end < 0 {
                                end += llen;
                            }
                            if start < 0 {
                                start = 0;
                            }
                            if start > end || start >= llen {
                                (0, 0)
                            } else {
                                (start as usize, end.min(llen - 1) as usize + 1)
                            }
                        }
                        Spec::Score(r) => seq.score_span(r),
                        Spec::Lex(r) => seq.lex_span(r),
                    }
                }
            };
            if span.1 <= span.0 {
                (0, false)
            } else {
                let mut w = open(&mut e);
                let n = w.remove_range(span.0, span.1);
                let stored = w.finish();
                (n, store_back(e, stored))
            }
        }
    };
    drop(s);
    if deleted > 0 {
        keyspace_event(ctx, class::ZSET, event, key);
        if removed {
            keyspace_event(ctx, class::GENERIC, "del", key);
        }
    }
    ctx.out.int(deleted as i64);
}

/// ZREMRANGEBYRANK key start stop
pub(super) fn zremrangebyrank(ctx: &mut Ctx, args: &[&[u8]]) {
    zremrange(ctx, args, Kind::Rank)
}

/// ZREMRANGEBYSCORE key min max
pub(super) fn zremrangebyscore(ctx: &mut Ctx, args: &[&[u8]]) {
    zremrange(ctx, args, Kind::Score)
}

/// ZREMRANGEBYLEX key min max
pub(super) fn zremrangebylex(ctx: &mut Ctx, args: &[&[u8]]) {
    zremrange(ctx, args, Kind::Lex)
}
