//! ZUNION, ZINTER, ZDIFF, their STORE forms and ZINTERCARD, following Redis's
//! `zunionInterDiffGenericCommand`: inputs may be sorted sets or sets (members of a set
//! score 1), WEIGHTS multiply, AGGREGATE SUM|MIN|MAX combines (a NaN from `inf - inf` or
//! `inf * 0` becomes 0 as in Redis), inputs other than ZDIFF's are taken smallest first.

use ahash::AHashMap;
use brim_engine::packed::Elem;
use brim_engine::set::SetRef;
use brim_engine::zset::{cmp_key, with_text, ZRef};
use brim_engine::{Access, MultiLock};

use super::{opt, parse_score, store, write_pairs};
use crate::args::{parse_i64, NOT_INTEGER, SYNTAX, WRONGTYPE};
use crate::ctx::Ctx;
use crate::notify::{class, key_ready, keyspace_event};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Union,
    Inter,
    Diff,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Agg {
    Sum,
    Min,
    Max,
}

/// Redis's `zunionInterAggregate`.
#[inline]
fn aggregate(target: &mut f64, val: f64, agg: Agg) {
    match agg {
        Agg::Sum => {
            *target += val;
            if target.is_nan() {
                *target = 0.0;
            }
        }
        Agg::Min => {
            if val < *target {
                *target = val;
            }
        }
        Agg::Max => {
            if val > *target {
                *target = val;
            }
        }
    }
}

/// An input: a sorted set or a set (whose members score 1).
#[derive(Clone, Copy)]
enum Src<'a> {
    Z(ZRef<'a>),
    S(SetRef<'a>),
}

impl<'a> Src<'a> {
    fn for_each(&self, mut f: impl FnMut(Elem<'a>, f64)) {
        match self {
            Src::Z(z) => z.for_each(true, f),
            Src::S(s) => s.for_each(|m| f(m, 1.0)),
        }
    }

    fn score(&self, m: &[u8]) -> Option<f64> {
        match self {
            Src::Z(z) => z.score(m),
            Src::S(s) => s.contains(m).then_some(1.0),
        }
    }
}

/// Run `f` on input `key` (already type-checked; looked up again without counting).
fn with_src<R>(
    locked: &mut MultiLock<'_>,
    key: &[u8],
    acc: &Access,
    f: impl FnOnce(Option<Src<'_>>) -> R,
) -> R {
    let src = locked.stripe(key).get(key, &acc.no_touch()).and_then(|e| {
        let v = e.value();
        ZRef::of(v).map(Src::Z).or_else(|| SetRef::of(v).map(Src::S))
    });
    f(src)
}

/// Redis's `zunionInterDiffGenericCommand`. `name` is the command's name for errors.
fn generic(
    ctx: &mut Ctx,
    args: &[&[u8]],
    dst: Option<&[u8]>,
    numkeys_idx: usize,
    op: Op,
    card_only: bool,
    name: &str,
) {
    let Some(setnum) = parse_i64(args[numkeys_idx]) else {
        ctx.error(NOT_INTEGER);
        return;
    };
    if setnum < 1 {
        ctx.error(&format!("ERR at least 1 input key is needed for '{name}' command"));
        return;
    }
    let avail = args.len() - (numkeys_idx + 1);
    if setnum as u64 > avail as u64 {
        ctx.error(SYNTAX);
        return;
    }
    let setnum = setnum as usize;
    let keys = &args[numkeys_idx + 1..numkeys_idx + 1 + setnum];
    let acc = ctx.acc;
    let db = ctx.db();
    let mut locked = db.lock_keys(dst.into_iter().chain(keys.iter().copied()));
    // Every input is looked up (a keyspace hit or miss each) before the options are read.
    let mut lens = Vec::with_capacity(setnum);
    for &k in keys {
        let len = match locked.stripe(k).get(k, &acc) {
            None => {
                ctx.hit_or_miss(k, false);
                Some(0)
            }
            Some(e) => {
                ctx.hit_or_miss(k, true);
                let v = e.value();
                ZRef::of(v).map(|z| z.len()).or_else(|| SetRef::of(v).map(|s| s.len()))
            }
        };
        match len {
            Some(n) => lens.push(n),
            None => {
                drop(locked);
                ctx.error(WRONGTYPE);
                return;
            }
        }
    }
    let mut weights = vec![1.0f64; setnum];
    let mut agg = Agg::Sum;
    let mut withscores = false;
    let mut limit = 0usize;
    let mut j = numkeys_idx + 1 + setnum;
    while j < args.len() {
        let remaining = args.len() - j;
        let a = args[j];
        if op != Op::Diff && !card_only && remaining > setnum && opt(a, "weights") {
            j += 1;
            for w in weights.iter_mut() {
                match parse_score(args[j]) {
                    Some(v) => *w = v,
                    None => {
                        drop(locked);
                        ctx.error("ERR weight value is not a float");
                        return;
                    }
                }
                j += 1;
            }
        } else if op != Op::Diff && !card_only && remaining >= 2 && opt(a, "aggregate") {
            let v = args[j + 1];
            agg = if opt(v, "sum") {
                Agg::Sum
            } else if opt(v, "min") {
                Agg::Min
            } else if opt(v, "max") {
                Agg::Max
            } else {
                drop(locked);
                ctx.error(SYNTAX);
                return;
            };
            j += 2;
        } else if dst.is_none() && !card_only && opt(a, "withscores") {
            withscores = true;
            j += 1;
        } else if card_only && remaining >= 2 && opt(a, "limit") {
            match parse_i64(args[j + 1]) {
                Some(l) if l >= 0 => limit = usize::try_from(l).unwrap_or(usize::MAX),
                _ => {
                    drop(locked);
                    ctx.error("ERR LIMIT can't be negative");
                    return;
                }
            }
            j += 2;
        } else {
            drop(locked);
            ctx.error(SYNTAX);
            return;
        }
    }
    // Inputs smallest first (a stable sort, as glibc's qsort is a merge sort), except for
    // ZDIFF whose first input is special.
    let mut order: Vec<usize> = (0..setnum).collect();
    if op != Op::Diff {
        order.sort_by_key(|&i| lens[i]);
    }
    let mut result: Vec<(Vec<u8>, f64)> = Vec::new();
    let first = order[0];
    match op {
        Op::Union => {
            let mut acc_map: AHashMap<Vec<u8>, f64> =
                AHashMap::with_capacity(lens.iter().copied().max().unwrap_or(0));
            for &i in &order {
                if lens[i] == 0 {
                    continue;
                }
                let w = weights[i];
                with_src(&mut locked, keys[i], &acc, |src| {
                    if let Some(src) = src {
                        src.for_each(|m, s| {
                            let mut score = w * s;
                            if score.is_nan() {
                                score = 0.0;
                            }
                            with_text(m, |t| match acc_map.get_mut(t) {
                                Some(target) => aggregate(target, score, agg),
                                None => {
                                    acc_map.insert(t.to_vec(), score);
                                }
                            });
                        });
                    }
                });
            }
            result = acc_map.into_iter().collect();
        }
        Op::Inter | Op::Diff => {
            if lens[first] > 0 {
                let w0 = if op == Op::Inter { weights[first] } else { 1.0 };
                with_src(&mut locked, keys[first], &acc, |src| {
                    if let Some(src) = src {
                        src.for_each(|m, s| {
                            let mut score = if op == Op::Inter { w0 * s } else { s };
                            if score.is_nan() {
                                score = 0.0;
                            }
                            result.push((m.to_vec(), score));
                        });
                    }
                });
                for &i in &order[1..] {
                    if result.is_empty() {
                        break;
                    }
                    let w = weights[i];
                    with_src(&mut locked, keys[i], &acc, |src| match op {
                        Op::Inter => result.retain_mut(|(m, score)| match src.and_then(|s| s.score(m)) {
                            Some(v) => {
                                aggregate(score, v * w, agg);
                                true
                            }
                            None => false,
                        }),
                        _ => result.retain(|(m, _)| src.and_then(|s| s.score(m)).is_none()),
                    });
                }
            }
        }
    }
    if card_only {
        drop(locked);
        let n = if limit > 0 { result.len().min(limit) } else { result.len() };
        ctx.out.int(n as i64);
        return;
    }
    result.sort_by(|a, b| cmp_key(a.1, &a.0, b.1, &b.0));
    match dst {
        None => {
            drop(locked);
            write_pairs(ctx.out, result.iter().map(|(m, s)| (Elem::Bytes(m), *s)), withscores);
        }
        Some(dst) => {
            let deleted = store(ctx, locked.stripe(dst), dst, &result);
            drop(locked);
            ctx.out.int(result.len() as i64);
            if !result.is_empty() {
                let event = match op {
                    Op::Union => "zunionstore",
                    Op::Inter => "zinterstore",
                    Op::Diff => "zdiffstore",
                };
                keyspace_event(ctx, class::ZSET, event, dst);
                key_ready(ctx, dst);
            } else if deleted {
                keyspace_event(ctx, class::GENERIC, "del", dst);
            }
        }
    }
}

/// ZUNION numkeys key [key ...] [WEIGHTS w ...] [AGGREGATE SUM|MIN|MAX] [WITHSCORES]
pub(super) fn zunion(ctx: &mut Ctx, args: &[&[u8]]) {
    generic(ctx, args, None, 1, Op::Union, false, "zunion")
}

/// ZINTER numkeys key [key ...] [WEIGHTS w ...] [AGGREGATE SUM|MIN|MAX] [WITHSCORES]
pub(super) fn zinter(ctx: &mut Ctx, args: &[&[u8]]) {
    generic(ctx, args, None, 1, Op::Inter, false, "zinter")
}

/// ZDIFF numkeys key [key ...] [WITHSCORES]
pub(super) fn zdiff(ctx: &mut Ctx, args: &[&[u8]]) {
    generic(ctx, args, None, 1, Op::Diff, false, "zdiff")
}

/// ZUNIONSTORE destination numkeys key [key ...] [WEIGHTS w ...] [AGGREGATE SUM|MIN|MAX]
pub(super) fn zunionstore(ctx: &mut Ctx, args: &[&[u8]]) {
    generic(ctx, args, Some(args[1]), 2, Op::Union, false, "zunionstore")
}

/// ZINTERSTORE destination numkeys key [key ...] [WEIGHTS w ...] [AGGREGATE SUM|MIN|MAX]
pub(super) fn zinterstore(ctx: &mut Ctx, args: &[&[u8]]) {
    generic(ctx, args, Some(args[1]), 2, Op::Inter, false, "zinterstore")
}

/// ZDIFFSTORE destination numkeys key [key ...]
pub(super) fn zdiffstore(ctx: &mut Ctx, args: &[&[u8]]) {
    generic(ctx, args, Some(args[1]), 2, Op::Diff, false, "zdiffstore")
}

/// ZINTERCARD numkeys key [key ...] [LIMIT limit]
pub(super) fn zintercard(ctx: &mut Ctx, args: &[&[u8]]) {
    generic(ctx, args, None, 1, Op::Inter, true, "zintercard")
}
