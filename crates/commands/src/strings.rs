//! String commands: GET, SET, INCR, APPEND, ...

use brim_engine::{NewValue, SetExpire, StrRef};

use crate::args::WRONGTYPE;
use crate::ctx::Ctx;
use crate::table::{cmd, Registration};

/// The string family.
pub const COMMANDS: &[Registration] = &[cmd("get", get), cmd("set", set)];

/// Write a string value as a bulk reply.
pub fn reply_str(ctx: &mut Ctx, s: StrRef) {
    match s {
        StrRef::Int(n) => ctx.out.bulk_i64(n),
        StrRef::Bytes(b) => ctx.out.bulk(b),
    }
}

fn get(ctx: &mut Ctx, args: &[&[u8]]) {
    let db = ctx.db();
    let mut s = db.lock(args[1]);
    let found = s.get(args[1], &ctx.acc).map(|e| e.str());
    match found {
        None => {
            drop(s);
            ctx.hit_or_miss(false);
            ctx.out.null();
        }
        Some(None) => {
            drop(s);
            ctx.hit_or_miss(true);
            ctx.error(WRONGTYPE);
        }
        Some(Some(v)) => {
            match v {
                StrRef::Int(n) => ctx.out.bulk_i64(n),
                StrRef::Bytes(b) => ctx.out.bulk(b),
            }
            drop(s);
            ctx.hit_or_miss(true);
        }
    }
}

fn set(ctx: &mut Ctx, args: &[&[u8]]) {
    let db = ctx.db();
    db.lock(args[1]).set(args[1], NewValue::Str(args[2]), SetExpire::Clear, &ctx.acc);
    ctx.out.ok();
}
