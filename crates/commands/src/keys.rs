//! Generic key commands: DEL, EXISTS, EXPIRE, TTL, SCAN, RENAME, OBJECT, ...
//!
//! Everything follows Redis 7.0.15 (`db.c`, `expire.c`, `object.c`): same replies, same
//! error texts, same order of checks. Commands touching several keys of one database lock
//! their stripes together (`Db::lock_keys`) so they are atomic; the ones crossing databases
//! (MOVE, COPY) and KEYS run with the keyspace to themselves.

mod expire;
mod object;
mod scan;

use std::cell::RefCell;

use brim_engine::value::EMBSTR_MAX;
use brim_engine::{
    Access, Db, EntryRef, MultiLock, NewValue, Object, PackedKind, SetExpire, StrRef, Stripe, StripeGuard,
    ValueRef,
};

use brim_engine::lazyfree;
use smallvec::SmallVec;

use crate::args::{is, parse_i64, NOT_INTEGER, SYNTAX};
use crate::ctx::Ctx;
use crate::notify::{class, keyspace_event};
use crate::shared::unix_us;
use crate::table::{cmd, exclusive, Registration};

/// The keys family.
pub const COMMANDS: &[Registration] = &[
    cmd("del", del),
    cmd("unlink", unlink),
    cmd("exists", exists),
    cmd("type", type_),
    cmd("touch", touch),
    cmd("randomkey", randomkey),
    cmd("rename", rename),
    cmd("renamenx", renamenx),
    exclusive("move", move_),
    exclusive("copy", copy),
    exclusive("keys", scan::keys),
    cmd("scan", scan::scan),
    cmd("expire", expire::expire),
    cmd("pexpire", expire::pexpire),
    cmd("expireat", expire::expireat),
    cmd("pexpireat", expire::pexpireat),
    cmd("ttl", expire::ttl),
    cmd("pttl", expire::pttl),
    cmd("expiretime", expire::expiretime),
    cmd("pexpiretime", expire::pexpiretime),
    cmd("persist", expire::persist),
    cmd("object|encoding", object::encoding),
    cmd("object|freq", object::freq),
    cmd("object|idletime", object::idletime),
    cmd("object|refcount", object::refcount),
    cmd("object|help", object::help),
];

/// `ERR no such key`.
pub const NO_SUCH_KEY: &str = "ERR no such key";
/// `ERR source and destination objects are the same`.
pub const SAME_OBJECT: &str = "ERR source and destination objects are the same";
/// `ERR DB index is out of range`.
pub const DB_OUT_OF_RANGE: &str = "ERR DB index is out of range";

/// The client's selected database, borrowed from the shared state (not from `ctx`, so the
/// reply writer stays usable while stripes are locked).
fn db<'a>(ctx: &Ctx<'a>) -> &'a Db {
    ctx.shared.keyspace.db(ctx.client.db)
}

/// Parse a database index as Redis's getIntFromObjectOrReply + selectDb check it, writing
/// the error reply on failure.
pub fn parse_db_index(ctx: &mut Ctx, arg: &[u8]) -> Option<usize> {
    let Some(n) = parse_i64(arg) else {
        ctx.error(NOT_INTEGER);
        return None;
    };
    if n < i32::MIN as i64 || n > i32::MAX as i64 {
        ctx.error("ERR value is out of range, value must between -2147483648 and 2147483647");
        return None;
    }
    if n < 0 || n as usize >= ctx.shared.keyspace.len() {
        ctx.error(DB_OUT_OF_RANGE);
        return None;
    }
    Some(n as usize)
}

/// DEL key [key ...]: big values are freed on the lazy-free thread with
/// `lazyfree-lazy-user-del`.
fn del(ctx: &mut Ctx, args: &[&[u8]]) {
    let lazy = ctx.shared.config.lazyfree_lazy_user_del();
    del_generic(ctx, args, lazy);
}

/// UNLINK key [key ...]: DEL that always frees big values on the lazy-free thread.
fn unlink(ctx: &mut Ctx, args: &[&[u8]]) {
    del_generic(ctx, args, true);
}

/// Redis's delGenericCommand. The keys leave the keyspace under their stripes' locks; big
/// values are freed only once the locks are released, on the lazy-free thread when `lazy`
/// and they are worth it (`brim_engine::lazyfree`), else here: even a synchronous DEL of a
/// huge value never holds a stripe while it frees.
fn del_generic(ctx: &mut Ctx, args: &[&[u8]], lazy: bool) {
    let keys = &args[1..];
    let mut deleted: SmallVec<[usize; 8]> = SmallVec::new();
    let mut big: SmallVec<[Box<Object>; 2]> = SmallVec::new();
    let mut ml = db(ctx).lock_keys(keys.iter().copied());
    for (i, k) in keys.iter().enumerate() {
        if let Some(value) = ml.stripe(k).take_value(k, &ctx.acc) {
            deleted.push(i);
            big.extend(value);
        }
    }
    drop(ml);
    for obj in big {
        lazyfree::free_obj(obj, lazy);
    }
    for &i in &deleted {
        keyspace_event(ctx, class::GENERIC, "del", keys[i]);
    }
    ctx.out.int(deleted.len() as i64);
}

/// EXISTS key [key ...]: counts repeated keys each time; does not touch them.
fn exists(ctx: &mut Ctx, args: &[&[u8]]) {
    let keys = &args[1..];
    let acc = ctx.acc.no_touch();
    let mut ml = db(ctx).lock_keys(keys.iter().copied());
    let found: Vec<bool> = keys.iter().map(|k| ml.stripe(k).get(k, &acc).is_some()).collect();
    drop(ml);
    count_lookups(ctx, keys, &found);
}

/// TOUCH key [key ...]: like EXISTS but updates the access data.
fn touch(ctx: &mut Ctx, args: &[&[u8]]) {
    let keys = &args[1..];
    let mut ml = db(ctx).lock_keys(keys.iter().copied());
    let found: Vec<bool> = keys.iter().map(|k| ml.stripe(k).get(k, &ctx.acc).is_some()).collect();
    drop(ml);
    count_lookups(ctx, keys, &found);
}

/// Record the keyspace hit or miss of each of `keys` (`found` in step) and reply with the
/// number found.
fn count_lookups(ctx: &mut Ctx, keys: &[&[u8]], found: &[bool]) {
    for (key, hit) in keys.iter().zip(found) {
        ctx.hit_or_miss(key, *hit);
    }
    ctx.out.int(found.iter().filter(|f| **f).count() as i64);
}

/// TYPE key (does not touch the key).
fn type_(ctx: &mut Ctx, args: &[&[u8]]) {
    let acc = ctx.acc.no_touch();
    let name = db(ctx).lock(args[1]).get(args[1], &acc).map(|e| e.value_type().name());
    ctx.hit_or_miss(args[1], name.is_some());
    ctx.out.simple(name.unwrap_or("none"));
}

thread_local! {
    /// Per-thread generator for RANDOMKEY, seeded from the clock and the thread's stack.
    static RNG: RefCell<brim_engine::Rng> = RefCell::new({
        let marker = 0u8;
        let stack = std::ptr::addr_of!(marker) as u64;
        brim_engine::Rng::new((unix_us() as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ stack)
    });
}

/// RANDOMKEY
fn randomkey(ctx: &mut Ctx, _args: &[&[u8]]) {
    let acc = ctx.acc.no_touch();
    let db = db(ctx);
    let key = RNG.with(|r| db.random_key(&acc, &mut r.borrow_mut()));
    match key {
        Some(k) => ctx.out.bulk(&k),
        None => ctx.out.null(),
    }
}

/// RENAME key newkey
fn rename(ctx: &mut Ctx, args: &[&[u8]]) {
    rename_generic(ctx, args, false);
}

/// RENAMENX key newkey
fn renamenx(ctx: &mut Ctx, args: &[&[u8]]) {
    rename_generic(ctx, args, true);
}

fn rename_generic(ctx: &mut Ctx, args: &[&[u8]], nx: bool) {
    let (src, dst) = (args[1], args[2]);
    let acc = ctx.acc;
    let mut ml = db(ctx).lock_keys([src, dst]);
    if ml.stripe(src).get(src, &acc).is_none() {
        drop(ml);
        ctx.error(NO_SUCH_KEY);
        return;
    }
    if src == dst {
        drop(ml);
        if nx {
            ctx.out.int(0);
        } else {
            ctx.out.ok();
        }
        return;
    }
    if nx && ml.stripe(dst).exists(dst, &acc) {
        drop(ml);
        ctx.out.int(0);
        return;
    }
    let Some(detached) = ml.stripe(src).take(src, &acc) else {
        drop(ml);
        ctx.error(NO_SUCH_KEY);
        return;
    };
    ml.stripe(dst).put(dst, detached, &acc);
    drop(ml);
    keyspace_event(ctx, class::GENERIC, "rename_from", src);
    keyspace_event(ctx, class::GENERIC, "rename_to", dst);
    crate::notify::key_ready(ctx, dst);
    if nx {
        ctx.out.int(1);
    } else {
        ctx.out.ok();
    }
}

/// MOVE key db (exclusive: two databases are involved).
fn move_(ctx: &mut Ctx, args: &[&[u8]]) {
    let key = args[1];
    let Some(target) = parse_db_index(ctx, args[2]) else { return };
    if target == ctx.client.db {
        ctx.error(SAME_OBJECT);
        return;
    }
    let acc = ctx.acc;
    let ks = &ctx.shared.keyspace;
    let mut src = ks.db(ctx.client.db).lock(key);
    if src.get(key, &acc).is_none() {
        drop(src);
        ctx.out.int(0);
        return;
    }
    let mut dst = ks.db(target).lock(key);
    if dst.exists(key, &acc) {
        drop((src, dst));
        ctx.out.int(0);
        return;
    }
    let moved = match src.take(key, &acc) {
        Some(d) => {
            dst.put(key, d, &acc);
            1
        }
        None => 0,
    };
    drop((src, dst));
    if moved == 1 {
        keyspace_event(ctx, class::GENERIC, "move_from", key);
        crate::notify::keyspace_event_in(ctx, target, class::GENERIC, "move_to", key);
        crate::blocking::signal_ready(ctx.shared, target, key);
    }
    ctx.out.int(moved);
}

/// A value copied out of the keyspace, keeping its encoding (Redis's dupStringObject).
enum Copied {
    Int(i64),
    Plain(Vec<u8>),
    Raw(Vec<u8>),
    Obj(Box<Object>),
    Packed(PackedKind, Vec<u8>),
}

impl Copied {
    fn of(e: EntryRef<'_>) -> Copied {
        match e.value() {
            ValueRef::Str(StrRef::Int(n)) => Copied::Int(n),
            ValueRef::Str(StrRef::Bytes(b)) if e.encoding() == "raw" && b.len() <= EMBSTR_MAX => {
                Copied::Raw(b.to_vec())
            }
            ValueRef::Str(StrRef::Bytes(b)) => Copied::Plain(b.to_vec()),
            ValueRef::Obj(o) => Copied::Obj(Box::new(o.clone())),
            ValueRef::Packed(k, b) => Copied::Packed(k, b.to_vec()),
        }
    }

    /// Store under `key` in `dst` (a new key: fresh access data) with `expire`.
    fn store(self, dst: &mut Stripe, key: &[u8], expire: Option<i64>, acc: &Access) {
        let exp = match expire {
            Some(w) => SetExpire::At(w),
            None => SetExpire::Clear,
        };
        match self {
            Copied::Int(n) => dst.set(key, NewValue::Int(n), exp, acc),
            Copied::Plain(b) => dst.set(key, NewValue::Plain(&b), exp, acc),
            Copied::Raw(b) => dst.set(key, NewValue::Raw(b), exp, acc),
            Copied::Obj(o) => dst.set(key, NewValue::Obj(o), exp, acc),
            Copied::Packed(k, b) => dst.set(key, NewValue::Packed(k, &b), exp, acc),
        }
    }
}

/// The stripes of COPY's source and destination keys, locked.
enum CopyLocks<'a, 'k> {
    /// Both keys in one database.
    Same(MultiLock<'a>, &'k [u8], &'k [u8]),
    /// Two databases: source stripe, destination stripe.
    Cross(StripeGuard<'a>, StripeGuard<'a>),
}

impl CopyLocks<'_, '_> {
    fn src(&mut self) -> &mut Stripe {
        match self {
            CopyLocks::Same(ml, k, _) => ml.stripe(k),
            CopyLocks::Cross(s, _) => s,
        }
    }

    fn dst(&mut self) -> &mut Stripe {
        match self {
            CopyLocks::Same(ml, _, k) => ml.stripe(k),
            CopyLocks::Cross(_, d) => d,
        }
    }
}

/// COPY source destination [DB destination-db] [REPLACE]
fn copy(ctx: &mut Ctx, args: &[&[u8]]) {
    let (key, newkey) = (args[1], args[2]);
    let src_id = ctx.client.db;
    let mut dst_id = src_id;
    let mut replace = false;
    let mut j = 3;
    while j < args.len() {
        let additional = args.len() - j - 1;
        if is(args[j], "replace") {
            replace = true;
        } else if is(args[j], "db") && additional >= 1 {
            let Some(id) = parse_db_index(ctx, args[j + 1]) else { return };
            dst_id = id;
            j += 1;
        } else {
            ctx.error(SYNTAX);
            return;
        }
        j += 1;
    }
    if src_id == dst_id && key == newkey {
        ctx.error(SAME_OBJECT);
        return;
    }
    let acc = ctx.acc;
    let ks = &ctx.shared.keyspace;
    let mut locks = if src_id == dst_id {
        CopyLocks::Same(ks.db(src_id).lock_keys([key, newkey]), key, newkey)
    } else {
        CopyLocks::Cross(ks.db(src_id).lock(key), ks.db(dst_id).lock(newkey))
    };
    let Some(expire) = locks.src().get(key, &acc).map(|e| e.expire_at()) else {
        drop(locks);
        ctx.hit_or_miss(key, false);
        ctx.out.int(0);
        return;
    };
    let reply = if locks.dst().exists(newkey, &acc) && !replace {
        0
    } else {
        match locks.src().get(key, &acc.no_touch()).map(Copied::of) {
            Some(value) => {
                let dst = locks.dst();
                dst.remove(newkey, &acc);
                value.store(dst, newkey, expire, &acc);
                1
            }
            None => 0,
        }
    };
    drop(locks);
    if reply == 1 {
        crate::notify::keyspace_event_in(ctx, dst_id, class::GENERIC, "copy_to", newkey);
        crate::blocking::signal_ready(ctx.shared, dst_id, newkey);
    }
    ctx.hit_or_miss(key, true);
    ctx.out.int(reply);
}
