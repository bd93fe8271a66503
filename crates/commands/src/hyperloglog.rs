//! The HyperLogLog family: PFADD, PFCOUNT, PFMERGE, PFDEBUG, PFSELFTEST, with Redis 7.0.15's
//! semantics, replies and error texts.
//!
//! An HLL is a string holding Redis's own representation byte for byte (see [`hll`]): GET
//! of an HLL key returns what Redis would, and a payload taken from Redis with GET and
//! stored with SET works here (and the other way round). Writes go through
//! [`crate::bitmaps::strbuf`], which leaves the string `raw` like Redis and stores small
//! sparse HLLs inline in their keyspace entry. A command that changes nothing (a PFADD of
//! elements already counted, a PFCOUNT answered from the cached cardinality) leaves the
//! value untouched.

pub mod hll;

use brim_engine::{Db, EntryRef, StrRef};

use crate::args::{c_str, WRONGTYPE};
use crate::bitmaps::strbuf;
use crate::ctx::Ctx;
use crate::notify::{class, keyspace_event};
use crate::table::{cmd, Registration};

/// The HyperLogLog family.
pub const COMMANDS: &[Registration] = &[
    cmd("pfadd", pfadd),
    cmd("pfcount", pfcount),
    cmd("pfmerge", pfmerge),
    cmd("pfdebug", pfdebug),
    cmd("pfselftest", pfselftest),
];

/// `WRONGTYPE Key is not a valid HyperLogLog string value.`
pub const NOT_HLL: &str = "WRONGTYPE Key is not a valid HyperLogLog string value.";
/// `INVALIDOBJ Corrupted HLL object detected`.
pub const CORRUPT: &str = "INVALIDOBJ Corrupted HLL object detected";

fn db_of<'a>(ctx: &Ctx<'a>) -> &'a Db {
    ctx.shared.keyspace.db(ctx.client.db)
}

/// Why a key cannot be used as an HLL.
enum Bad {
    /// Not a string at all.
    WrongType,
    /// A string that is not an HLL.
    NotHll,
}

impl Bad {
    fn reply(&self, ctx: &mut Ctx) {
        match self {
            Bad::WrongType => ctx.error(WRONGTYPE),
            Bad::NotHll => ctx.error(NOT_HLL),
        }
    }
}

/// The bytes of a key holding a valid HLL (Redis's isHLLObjectOrReply).
fn hll_bytes<'a>(e: &EntryRef<'a>) -> Result<&'a [u8], Bad> {
    match e.str() {
        None => Err(Bad::WrongType),
        // An integer-encoded string is never an HLL.
        Some(StrRef::Int(_)) => Err(Bad::NotHll),
        Some(StrRef::Bytes(b)) if hll::is_valid(b) => Ok(b),
        Some(StrRef::Bytes(_)) => Err(Bad::NotHll),
    }
}

// ---------------------------------------------------------------------------------------
// PFADD.
// ---------------------------------------------------------------------------------------

fn pfadd(ctx: &mut Ctx, args: &[&[u8]]) {
    let key = args[1];
    let elements = args.get(2..).unwrap_or_default();
    let sparse_max = ctx.shared.config.hll_sparse_max_bytes();
    let acc = ctx.acc;
    let mut s = db_of(ctx).lock(key);
    let outcome: Result<bool, &str> = match s.get_mut(key, &acc) {
        None => {
            let mut v = hll::new_sparse();
            for ele in elements {
                // A fresh HLL is valid: adding cannot fail.
                let _ = hll::add(&mut v, ele, sparse_max);
            }
            hll::invalidate_cache(&mut v);
            strbuf::create(&mut s, key, v, &acc);
            Ok(true)
        }
        Some(mut e) => {
            if let Err(bad) = hll_bytes(&e.as_ref()) {
                bad.reply(ctx);
                return;
            }
            strbuf::unshare(&mut e);
            let Ok(cur) = hll_bytes(&e.as_ref()) else {
                return;
            };
            if hll::encoding(cur) == hll::DENSE {
                // Dense: find the registers to raise without touching the value, then raise
                // them in place.
                let regs = cur.get(hll::HDR..).unwrap_or_default();
                let raises = |ele: &&[u8]| {
                    let (i, c) = hll::pat_len(ele);
                    c > hll::dense_get(regs, i)
                };
                if !elements.iter().any(raises) {
                    Ok(false)
                } else {
                    match e.str_buffer() {
                        Some(buf) => {
                            if let Some(r) = buf.get_mut(hll::HDR..) {
                                for ele in elements {
                                    let (i, c) = hll::pat_len(ele);
                                    hll::dense_set(r, i, c);
                                }
                            }
                            hll::invalidate_cache(buf);
                            Ok(true)
                        }
                        None => Ok(false),
                    }
                }
            } else {
                // Sparse (small): work on a copy, store it back if it changed.
                let mut v = cur.to_vec();
                let mut updated = false;
                let mut failed = false;
                for ele in elements {
                    match hll::add(&mut v, ele, sparse_max) {
                        Ok(changed) => updated |= changed,
                        Err(_) => {
                            failed = true;
                            break;
                        }
                    }
                }
                if updated && !failed {
                    hll::invalidate_cache(&mut v);
                }
                // Redis updates in place: on a corrupted HLL, what was added before the
                // error stays.
                if v != cur {
                    strbuf::replace(&mut e, v);
                }
                if failed {
                    Err(CORRUPT)
                } else {
                    Ok(updated)
                }
            }
        }
    };
    drop(s);
    match outcome {
        Ok(updated) => {
            if updated {
                keyspace_event(ctx, class::STRING, "pfadd", key);
            }
            ctx.out.int(updated as i64);
        }
        Err(msg) => ctx.error(msg),
    }
}

// ---------------------------------------------------------------------------------------
// PFCOUNT.
// ---------------------------------------------------------------------------------------

fn pfcount(ctx: &mut Ctx, args: &[&[u8]]) {
    if args.len() > 2 {
        pfcount_union(ctx, &args[1..]);
        return;
    }
    let key = args[1];
    let acc = ctx.acc;
    let mut s = db_of(ctx).lock(key);
    let Some(mut e) = s.get_mut(key, &acc) else {
        ctx.hit_or_miss(key, false);
        ctx.out.int(0);
        return;
    };
    ctx.hit_or_miss(key, true);
    if let Err(bad) = hll_bytes(&e.as_ref()) {
        bad.reply(ctx);
        return;
    }
    strbuf::unshare(&mut e);
    let Ok(cur) = hll_bytes(&e.as_ref()) else {
        return;
    };
    if let Some(card) = hll::cached(cur) {
        ctx.out.int(card as i64);
        return;
    }
    let Ok(card) = hll::count(cur) else {
        ctx.error(CORRUPT);
        return;
    };
    // Cache the cardinality in the value (a write, as in Redis).
    let bytes = hll::card_bytes(card);
    let patches: Vec<(usize, u8)> = hll::card_range().zip(bytes).collect();
    strbuf::patch(&mut e, 0, &patches);
    ctx.out.int(card as i64);
}

/// PFCOUNT of several keys: the cardinality of their union.
fn pfcount_union(ctx: &mut Ctx, keys: &[&[u8]]) {
    let acc = ctx.acc;
    let mut locked = db_of(ctx).lock_keys(keys.iter().copied());
    let mut max = Box::new([0u8; hll::REGISTERS]);
    for &key in keys {
        let Some(e) = locked.stripe(key).get(key, &acc) else {
            ctx.hit_or_miss(key, false);
            continue;
        };
        ctx.hit_or_miss(key, true);
        let bytes = match hll_bytes(&e) {
            Ok(b) => b,
            Err(bad) => {
                drop(locked);
                bad.reply(ctx);
                return;
            }
        };
        if hll::merge(&mut max, bytes).is_err() {
            drop(locked);
            ctx.error(CORRUPT);
            return;
        }
    }
    drop(locked);
    ctx.out.int(hll::count_raw(&max) as i64);
}

// ---------------------------------------------------------------------------------------
// PFMERGE.
// ---------------------------------------------------------------------------------------

fn pfmerge(ctx: &mut Ctx, args: &[&[u8]]) {
    let dest = args[1];
    let sparse_max = ctx.shared.config.hll_sparse_max_bytes();
    let acc = ctx.acc;
    let keys = &args[1..];
    let mut locked = db_of(ctx).lock_keys(keys.iter().copied());
    let mut max = Box::new([0u8; hll::REGISTERS]);
    let mut use_dense = false;
    // Every key, the destination included, is a source.
    for &key in keys {
        let Some(e) = locked.stripe(key).get(key, &acc) else {
            ctx.hit_or_miss(key, false);
            continue;
        };
        ctx.hit_or_miss(key, true);
        let bytes = match hll_bytes(&e) {
            Ok(b) => b,
            Err(bad) => {
                drop(locked);
                bad.reply(ctx);
                return;
            }
        };
        use_dense |= hll::encoding(bytes) == hll::DENSE;
        if hll::merge(&mut max, bytes).is_err() {
            drop(locked);
            ctx.error(CORRUPT);
            return;
        }
    }

    let stripe = locked.stripe(dest);
    let existing = stripe.get_mut(dest, &acc.no_touch());
    let mut v = match &existing {
        Some(e) => match hll_bytes(&e.as_ref()) {
            Ok(b) => b.to_vec(),
            Err(_) => hll::new_sparse(),
        },
        None => hll::new_sparse(),
    };
    if use_dense {
        match hll::sparse_to_dense(&v) {
            Ok(d) => v = d,
            Err(_) => {
                drop(locked);
                ctx.error(CORRUPT);
                return;
            }
        }
    }
    for (j, &m) in max.iter().enumerate() {
        if m == 0 {
            continue;
        }
        if hll::encoding(&v) == hll::DENSE {
            if let Some(r) = v.get_mut(hll::HDR..) {
                hll::dense_set(r, j, m);
            }
        } else {
            let _ = hll::sparse_set(&mut v, j, m, sparse_max);
        }
    }
    hll::invalidate_cache(&mut v);
    match existing {
        Some(mut e) => strbuf::replace(&mut e, v),
        None => strbuf::create(stripe, dest, v, &acc),
    }
    drop(locked);
    // PFMERGE reports a PFADD, as in Redis.
    keyspace_event(ctx, class::STRING, "pfadd", dest);
    ctx.out.ok();
}

// ---------------------------------------------------------------------------------------
// PFDEBUG, PFSELFTEST.
// ---------------------------------------------------------------------------------------

fn pfdebug(ctx: &mut Ctx, args: &[&[u8]]) {
    let sub = c_str(args[1]);
    let key = args[2];
    let acc = ctx.acc;
    let mut s = db_of(ctx).lock(key);
    let Some(mut e) = s.get_mut(key, &acc) else {
        ctx.error("ERR The specified key does not exist");
        return;
    };
    if let Err(bad) = hll_bytes(&e.as_ref()) {
        bad.reply(ctx);
        return;
    }
    strbuf::unshare(&mut e);
    let Ok(cur) = hll_bytes(&e.as_ref()) else {
        return;
    };
    let sparse = hll::encoding(cur) == hll::SPARSE;
    if sub.eq_ignore_ascii_case(b"getreg") {
        let dense = if sparse {
            let Ok(d) = hll::sparse_to_dense(cur) else {
                ctx.error(CORRUPT);
                return;
            };
            strbuf::replace(&mut e, d);
            match e.as_ref().str() {
                Some(StrRef::Bytes(b)) => b,
                _ => return,
            }
        } else {
            cur
        };
        ctx.out.array(hll::REGISTERS);
        for r in hll::registers(dense) {
            ctx.out.int(r as i64);
        }
    } else if sub.eq_ignore_ascii_case(b"decode") {
        if !sparse {
            ctx.error("ERR HLL encoding is not sparse");
            return;
        }
        ctx.out.bulk(hll::decode(cur).as_bytes());
    } else if sub.eq_ignore_ascii_case(b"encoding") {
        ctx.out.simple(if sparse { "sparse" } else { "dense" });
    } else if sub.eq_ignore_ascii_case(b"todense") {
        if sparse {
            let Ok(d) = hll::sparse_to_dense(cur) else {
                ctx.error(CORRUPT);
                return;
            };
            strbuf::replace(&mut e, d);
        }
        ctx.out.int(sparse as i64);
    } else {
        let name = String::from_utf8_lossy(sub);
        ctx.error(&format!("ERR Unknown PFDEBUG subcommand '{name}'"));
    }
}

/// A small xorshift generator for PFSELFTEST.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }
}

/// PFSELFTEST's checks (Redis's pfselftestCommand): register access, then dense and sparse
/// estimates against each other and the true cardinality at 1, 10, ..., 10^7 elements.
/// `Err` carries the failure text.
fn selftest(seed: u64, sparse_max: u64) -> Result<(), String> {
    let mut rng = XorShift(seed | 1);
    let mut regs = vec![0u8; hll::DENSE_SIZE - hll::HDR];
    let mut want = vec![0u8; hll::REGISTERS];
    for _ in 0..1000 {
        for (i, w) in want.iter_mut().enumerate() {
            let r = (rng.next() & hll::REGISTER_MAX as u64) as u8;
            *w = r;
            hll::dense_set_raw(&mut regs, i, r);
        }
        for (i, &w) in want.iter().enumerate() {
            let v = hll::dense_get(&regs, i);
            if v != w {
                return Err(format!("TESTFAILED Register {i} should be {w} but is {v}"));
            }
        }
    }

    let mut dense = hll::sparse_to_dense(&hll::new_sparse()).map_err(|_| "TESTFAILED dense".to_string())?;
    let mut sparse = hll::new_sparse();
    let relerr = 1.04 / (hll::REGISTERS as f64).sqrt();
    let mut checkpoint: u64 = 1;
    let seed = rng.next();
    for j in 1..=10_000_000u64 {
        let ele = (j ^ seed).to_ne_bytes();
        let _ = hll::add(&mut dense, &ele, sparse_max);
        let _ = hll::add(&mut sparse, &ele, sparse_max);
        if j != checkpoint {
            continue;
        }
        if j < sparse_max / 2 && hll::encoding(&sparse) != hll::SPARSE {
            return Err("TESTFAILED sparse encoding not used".into());
        }
        let d = hll::count(&dense).unwrap_or(0);
        if d != hll::count(&sparse).unwrap_or(u64::MAX) {
            return Err("TESTFAILED dense/sparse disagree".into());
        }
        let abserr = (checkpoint as i64 - d as i64).unsigned_abs();
        let mut maxerr = (relerr * 6.0 * checkpoint as f64).ceil() as u64;
        if j == 10 {
            maxerr = 1;
        }
        if abserr > maxerr {
            return Err(format!("TESTFAILED Too big error. card:{checkpoint} abserr:{abserr}"));
        }
        checkpoint *= 10;
    }
    Ok(())
}

fn pfselftest(ctx: &mut Ctx, _args: &[&[u8]]) {
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0x9e37_79b9_7f4a_7c15);
    match selftest(seed, ctx.shared.config.hll_sparse_max_bytes()) {
        Ok(()) => ctx.out.ok(),
        // Redis sends these through addReplyErrorFormat: they get the ERR prefix.
        Err(msg) => ctx.error(&format!("ERR {msg}")),
    }
}
