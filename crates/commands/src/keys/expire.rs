//! EXPIRE, PEXPIRE, EXPIREAT, PEXPIREAT, TTL, PTTL, EXPIRETIME, PEXPIRETIME, PERSIST.

use crate::args::{is, parse_i64, NOT_INTEGER};
use crate::ctx::Ctx;
use crate::notify::{class, keyspace_event};

use super::db;

const NX: u8 = 1;
const XX: u8 = 2;
const GT: u8 = 4;
const LT: u8 = 8;

/// EXPIRE key seconds [NX|XX|GT|LT]
pub(super) fn expire(ctx: &mut Ctx, args: &[&[u8]]) {
    let now = ctx.now_ms();
    expire_generic(ctx, args, "expire", now, 1000);
}

/// PEXPIRE key milliseconds [NX|XX|GT|LT]
pub(super) fn pexpire(ctx: &mut Ctx, args: &[&[u8]]) {
    let now = ctx.now_ms();
    expire_generic(ctx, args, "pexpire", now, 1);
}

/// EXPIREAT key unix-time-seconds [NX|XX|GT|LT]
pub(super) fn expireat(ctx: &mut Ctx, args: &[&[u8]]) {
    expire_generic(ctx, args, "expireat", 0, 1000);
}

/// PEXPIREAT key unix-time-milliseconds [NX|XX|GT|LT]
pub(super) fn pexpireat(ctx: &mut Ctx, args: &[&[u8]]) {
    expire_generic(ctx, args, "pexpireat", 0, 1);
}

/// Parse NX/XX/GT/LT as Redis's parseExtendedExpireArgumentsOrReply.
fn parse_flags(ctx: &mut Ctx, opts: &[&[u8]]) -> Option<u8> {
    let mut flags = 0;
    for opt in opts {
        flags |= if is(opt, "nx") {
            NX
        } else if is(opt, "xx") {
            XX
        } else if is(opt, "gt") {
            GT
        } else if is(opt, "lt") {
            LT
        } else {
            ctx.error(&format!("ERR Unsupported option {}", String::from_utf8_lossy(opt)));
            return None;
        };
    }
    if flags & NX != 0 && flags & (XX | GT | LT) != 0 {
        ctx.error("ERR NX and XX, GT or LT options at the same time are not compatible");
        return None;
    }
    if flags & GT != 0 && flags & LT != 0 {
        ctx.error("ERR GT and LT options at the same time are not compatible");
        return None;
    }
    Some(flags)
}

/// Redis's expireGenericCommand: `basetime` in ms is added to the argument times `unit`.
fn expire_generic(ctx: &mut Ctx, args: &[&[u8]], name: &str, basetime: i64, unit: i64) {
    let Some(flags) = parse_flags(ctx, &args[3..]) else { return };
    let Some(when) = parse_i64(args[2]) else {
        ctx.error(NOT_INTEGER);
        return;
    };
    let Some(when) = when.checked_mul(unit).and_then(|w| w.checked_add(basetime)) else {
        ctx.error(&format!("ERR invalid expire time in '{name}' command"));
        return;
    };
    let key = args[1];
    let acc = ctx.acc;
    let mut stripe = db(ctx).lock(key);
    let event = match stripe.get_mut(key, &acc) {
        None => None,
        Some(mut e) => {
            let current = e.expire_at();
            let refused = (flags & NX != 0 && current.is_some())
                || (flags & XX != 0 && current.is_none())
                || (flags & GT != 0 && current.is_none_or(|c| when <= c))
                || (flags & LT != 0 && current.is_some_and(|c| when >= c));
            if refused {
                None
            } else if when <= acc.now_ms {
                e.delete();
                Some("del")
            } else {
                e.set_expire(Some(when));
                Some("expire")
            }
        }
    };
    drop(stripe);
    match event {
        Some("del") => crate::propagate::replace_with_del(ctx.shared, key),
        Some(_) => crate::propagate::replace_with_pexpireat(key, when),
        None => {}
    }
    // Redis reports a deletion before its reply, a new expire time after it.
    match event {
        None => ctx.out.int(0),
        Some("del") => {
            keyspace_event(ctx, class::GENERIC, "del", key);
            ctx.out.int(1);
        }
        Some(ev) => {
            ctx.out.int(1);
            keyspace_event(ctx, class::GENERIC, ev, key);
        }
    }
}

/// TTL key
pub(super) fn ttl(ctx: &mut Ctx, args: &[&[u8]]) {
    ttl_generic(ctx, args[1], false, false);
}

/// PTTL key
pub(super) fn pttl(ctx: &mut Ctx, args: &[&[u8]]) {
    ttl_generic(ctx, args[1], true, false);
}

/// EXPIRETIME key
pub(super) fn expiretime(ctx: &mut Ctx, args: &[&[u8]]) {
    ttl_generic(ctx, args[1], false, true);
}

/// PEXPIRETIME key
pub(super) fn pexpiretime(ctx: &mut Ctx, args: &[&[u8]]) {
    ttl_generic(ctx, args[1], true, true);
}

/// Redis's ttlGenericCommand: -2 for a missing key, -1 without an expire, else the time
/// left (or the deadline with `absolute`), seconds rounded to the nearest.
fn ttl_generic(ctx: &mut Ctx, key: &[u8], ms: bool, absolute: bool) {
    let acc = ctx.acc.no_touch();
    let found = db(ctx).lock(key).get(key, &acc).map(|e| e.expire_at());
    ctx.hit_or_miss(key, found.is_some());
    let reply = match found {
        None => -2,
        Some(None) => -1,
        Some(Some(when)) => {
            let t = if absolute { when } else { when.saturating_sub(acc.now_ms) }.max(0);
            if ms {
                t
            } else {
                ((t as i128 + 500) / 1000) as i64
            }
        }
    };
    ctx.out.int(reply);
}

/// PERSIST key
pub(super) fn persist(ctx: &mut Ctx, args: &[&[u8]]) {
    let key = args[1];
    let acc = ctx.acc;
    let mut stripe = db(ctx).lock(key);
    let reply = match stripe.get_mut(key, &acc) {
        Some(mut e) if e.expire_at().is_some() => {
            e.set_expire(None);
            1
        }
        _ => 0,
    };
    drop(stripe);
    if reply == 1 {
        keyspace_event(ctx, class::GENERIC, "persist", key);
    }
    ctx.out.int(reply);
}
