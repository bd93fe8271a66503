//! String commands, with Redis 7.0.15's semantics, replies and error texts: GET, SET,
//! SETNX, SETEX, PSETEX, GETSET, GETDEL, GETEX, MGET, MSET, MSETNX, APPEND, STRLEN, GETRANGE,
//! SUBSTR, SETRANGE, INCR, DECR, INCRBY, DECRBY, INCRBYFLOAT, LCS.
//!
//! Each single-key command runs entirely under its key's stripe lock, so it is atomic like
//! in Redis; the multi-key ones (MGET, MSET, MSETNX, LCS) lock all their stripes together.
//! Encodings follow Redis: values from clients are stored as its `tryObjectEncoding` would
//! (`int`/`embstr`/`raw`), APPEND and SETRANGE leave `raw`, INCR leaves `int`, INCRBYFLOAT
//! leaves `embstr` (or `raw` beyond 44 bytes).

#[path = "float.rs"]
pub mod float;

use brim_engine::{Db, NewValue, SetExpire, StrRef, Stripe};
use brim_resp::{Aggregate, Reply};

use crate::args::{c_str, is, parse_i64, NOT_FLOAT, NOT_INTEGER, SYNTAX, WRONGTYPE};
use crate::ctx::Ctx;
use crate::notify::{class, keyspace_event};
use crate::table::{cmd, Registration};

/// The string family.
pub const COMMANDS: &[Registration] = &[
    cmd("get", get),
    cmd("set", set),
    cmd("setnx", setnx),
    cmd("setex", setex),
    cmd("psetex", psetex),
    cmd("getset", getset),
    cmd("getdel", getdel),
    cmd("getex", getex),
    cmd("mget", mget),
    cmd("mset", mset),
    cmd("msetnx", msetnx),
    cmd("append", append),
    cmd("strlen", strlen),
    cmd("getrange", getrange),
    cmd("substr", getrange),
    cmd("setrange", setrange),
    cmd("incr", incr),
    cmd("decr", decr),
    cmd("incrby", incrby),
    cmd("decrby", decrby),
    cmd("incrbyfloat", incrbyfloat),
    cmd("lcs", lcs),
];

/// `ERR string exceeds maximum allowed size (proto-max-bulk-len)`.
pub const STRING_TOO_LONG: &str = "ERR string exceeds maximum allowed size (proto-max-bulk-len)";

/// Reply when the buffer of a string cannot be allocated (Redis aborts the process instead).
const ALLOC_FAILED: &str = "ERR Insufficient memory, failed allocating memory for the string";

/// Write a string value as a bulk reply.
pub fn reply_str(ctx: &mut Ctx, s: StrRef) {
    write_str(ctx.out, s);
}

/// Write a string value as a bulk reply into `out` (usable while a stripe is locked).
pub fn write_str(out: &mut Reply, s: StrRef) {
    match s {
        StrRef::Int(n) => out.bulk_i64(n),
        StrRef::Bytes(b) => out.bulk(b),
    }
}

/// The client's database, borrowed from the shared state rather than from `ctx`, so that a
/// stripe can stay locked while the handler writes replies through `ctx`.
fn db_of<'a>(ctx: &Ctx<'a>) -> &'a Db {
    ctx.shared.keyspace.db(ctx.client.db)
}

/// Whether a string of `size + append` bytes is allowed (Redis's checkStringLength); writes
/// the error if not.
fn check_string_length(ctx: &mut Ctx, size: u64, append: u64) -> bool {
    let max = ctx.shared.config.proto_max_bulk_len();
    match size.checked_add(append) {
        Some(total) if total <= max && total <= i64::MAX as u64 => true,
        _ => {
            ctx.error(STRING_TOO_LONG);
            false
        }
    }
}

/// A zero-filled buffer of `len` bytes, or `None` if it cannot be allocated.
fn zeroed(len: usize) -> Option<Vec<u8>> {
    let mut v = Vec::new();
    v.try_reserve_exact(len).ok()?;
    v.resize(len, 0);
    Some(v)
}

// ---------------------------------------------------------------------------------------
// GET and the SET family.
// ---------------------------------------------------------------------------------------

/// Reply with the string at `key` in locked stripe `s` (or null), counting the hit or miss,
/// as Redis's getGenericCommand. Returns `false` after a WRONGTYPE error.
fn reply_get(ctx: &mut Ctx, s: &mut Stripe, key: &[u8]) -> bool {
    let acc = ctx.acc;
    match s.get(key, &acc) {
        None => {
            ctx.hit_or_miss(key, false);
            ctx.out.null();
            true
        }
        Some(e) => {
            ctx.hit_or_miss(key, true);
            match e.str() {
                Some(v) => {
                    write_str(ctx.out, v);
                    true
                }
                None => {
                    ctx.error(WRONGTYPE);
                    false
                }
            }
        }
    }
}

fn get(ctx: &mut Ctx, args: &[&[u8]]) {
    let key = args[1];
    let mut s = db_of(ctx).lock(key);
    reply_get(ctx, &mut s, key);
}

/// How an expire argument is given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ExpireKind {
    /// `EX seconds`.
    Ex,
    /// `PX milliseconds`.
    Px,
    /// `EXAT unix-seconds`.
    ExAt,
    /// `PXAT unix-milliseconds`.
    PxAt,
}

impl ExpireKind {
    fn from_option(opt: &[u8]) -> Option<ExpireKind> {
        if is(opt, "ex") {
            Some(ExpireKind::Ex)
        } else if is(opt, "px") {
            Some(ExpireKind::Px)
        } else if is(opt, "exat") {
            Some(ExpireKind::ExAt)
        } else if is(opt, "pxat") {
            Some(ExpireKind::PxAt)
        } else {
            None
        }
    }

    fn in_seconds(self) -> bool {
        matches!(self, ExpireKind::Ex | ExpireKind::ExAt)
    }

    fn relative(self) -> bool {
        matches!(self, ExpireKind::Ex | ExpireKind::Px)
    }
}

/// The options of SET (`NX XX GET KEEPTTL EX PX EXAT PXAT`) or GETEX (`PERSIST EX PX EXAT
/// PXAT`).
#[derive(Debug, Default, Clone, Copy)]
struct ExtOpts<'a> {
    nx: bool,
    xx: bool,
    get: bool,
    keepttl: bool,
    persist: bool,
    expire: Option<(ExpireKind, &'a [u8])>,
}

/// Redis's parseExtendedStringArgumentsOrReply: options start at `args[3]` for SET and at
/// `args[2]` for GETEX. `None` means a syntax error. An expire option may be repeated (the
/// last one wins) but not combined with another kind, KEEPTTL or PERSIST.
fn parse_extended<'a>(args: &[&'a [u8]], for_set: bool) -> Option<ExtOpts<'a>> {
    let mut o = ExtOpts::default();
    let mut j = if for_set { 3 } else { 2 };
    while j < args.len() {
        let opt = c_str(args[j]);
        let next = args.get(j + 1).copied();
        let kind = o.expire.map(|(k, _)| k);
        if for_set && is(opt, "nx") && !o.xx {
            o.nx = true;
        } else if for_set && is(opt, "xx") && !o.nx {
            o.xx = true;
        } else if for_set && is(opt, "get") {
            o.get = true;
        } else if for_set && is(opt, "keepttl") && !o.persist && kind.is_none() {
            o.keepttl = true;
        } else if !for_set && is(opt, "persist") && kind.is_none() && !o.keepttl {
            o.persist = true;
        } else {
            let new = ExpireKind::from_option(opt)?;
            let next = next?;
            if o.keepttl || o.persist || kind.is_some_and(|k| k != new) {
                return None;
            }
            o.expire = Some((new, next));
            j += 1;
        }
        j += 1;
    }
    Some(o)
}

/// The absolute expire time (unix ms) an expire argument stands for, validated as Redis's
/// getExpireMillisecondsOrReply; writes the error (naming `command`) and returns `None`.
fn expire_at_ms(ctx: &mut Ctx, arg: &[u8], kind: ExpireKind, command: &str) -> Option<i64> {
    let Some(mut ms) = parse_i64(arg) else {
        ctx.error(NOT_INTEGER);
        return None;
    };
    let invalid = |ctx: &mut Ctx| {
        ctx.error(&format!("ERR invalid expire time in '{command}' command"));
    };
    if ms <= 0 || (kind.in_seconds() && ms > i64::MAX / 1000) {
        invalid(ctx);
        return None;
    }
    if kind.in_seconds() {
        ms *= 1000;
    }
    if kind.relative() {
        // Redis adds in C and detects the wrap-around by the sign.
        ms = ms.wrapping_add(ctx.now_ms());
    }
    if ms <= 0 {
        invalid(ctx);
        return None;
    }
    Some(ms)
}

/// What SET-like commands reply when they set the key or when NX/XX stops them.
#[derive(Clone, Copy)]
enum SetReplies {
    /// `+OK` / null (SET, SETEX, PSETEX).
    OkOrNull,
    /// `:1` / `:0` (SETNX).
    OneOrZero,
}

/// Redis's setGenericCommand: SET, SETNX, SETEX, PSETEX.
fn set_generic(ctx: &mut Ctx, key: &[u8], value: &[u8], o: &ExtOpts, command: &str, replies: SetReplies) {
    let when = match o.expire {
        Some((kind, arg)) => match expire_at_ms(ctx, arg, kind, command) {
            Some(ms) => Some(ms),
            None => return,
        },
        None => None,
    };
    let acc = ctx.acc;
    let mut s = db_of(ctx).lock(key);
    if o.get && !reply_get(ctx, &mut s, key) {
        return;
    }
    // Only NX and XX need to know beforehand (`set` expires a stale old value itself).
    if (o.nx || o.xx) && s.exists(key, &acc) == o.nx {
        if !o.get {
            match replies {
                SetReplies::OkOrNull => ctx.out.null(),
                SetReplies::OneOrZero => ctx.out.int(0),
            }
        }
        return;
    }
    let expire = match when {
        Some(ms) => SetExpire::At(ms),
        None if o.keepttl => SetExpire::Keep,
        None => SetExpire::Clear,
    };
    s.set(key, NewValue::Str(value), expire, &acc);
    drop(s);
    if let Some(ms) = when {
        // Logged with the absolute time, as Redis does.
        crate::propagate::replace(&[&b"SET"[..], key, value, b"PXAT", ms.to_string().as_bytes()]);
    }
    keyspace_event(ctx, class::STRING, "set", key);
    if when.is_some() {
        keyspace_event(ctx, class::GENERIC, "expire", key);
    }
    if !o.get {
        match replies {
            SetReplies::OkOrNull => ctx.out.ok(),
            SetReplies::OneOrZero => ctx.out.int(1),
        }
    }
}

fn set(ctx: &mut Ctx, args: &[&[u8]]) {
    let Some(o) = parse_extended(args, true) else {
        ctx.error(SYNTAX);
        return;
    };
    set_generic(ctx, args[1], args[2], &o, "set", SetReplies::OkOrNull);
    if o.get && o.expire.is_none() {
        // Logged without GET (Redis skips every GET after the value).
        let kept: Vec<&[u8]> =
            args.iter().enumerate().filter(|(i, a)| *i < 3 || !is(a, "get")).map(|(_, a)| *a).collect();
        crate::propagate::replace(&kept);
    }
}

fn setnx(ctx: &mut Ctx, args: &[&[u8]]) {
    let o = ExtOpts { nx: true, ..ExtOpts::default() };
    set_generic(ctx, args[1], args[2], &o, "setnx", SetReplies::OneOrZero);
}

fn setex(ctx: &mut Ctx, args: &[&[u8]]) {
    let o = ExtOpts { expire: Some((ExpireKind::Ex, args[2])), ..ExtOpts::default() };
    set_generic(ctx, args[1], args[3], &o, "setex", SetReplies::OkOrNull);
}

fn psetex(ctx: &mut Ctx, args: &[&[u8]]) {
    let o = ExtOpts { expire: Some((ExpireKind::Px, args[2])), ..ExtOpts::default() };
    set_generic(ctx, args[1], args[3], &o, "psetex", SetReplies::OkOrNull);
}

fn getset(ctx: &mut Ctx, args: &[&[u8]]) {
    let (key, value) = (args[1], args[2]);
    let acc = ctx.acc;
    let mut s = db_of(ctx).lock(key);
    if reply_get(ctx, &mut s, key) {
        s.set(key, NewValue::Str(value), SetExpire::Clear, &acc);
        drop(s);
        keyspace_event(ctx, class::STRING, "set", key);
    }
}

fn getdel(ctx: &mut Ctx, args: &[&[u8]]) {
    let key = args[1];
    let acc = ctx.acc;
    let mut s = db_of(ctx).lock(key);
    let Some(e) = s.get_mut(key, &acc) else {
        ctx.hit_or_miss(key, false);
        ctx.out.null();
        return;
    };
    ctx.hit_or_miss(key, true);
    let Some(v) = e.as_ref().str() else {
        ctx.error(WRONGTYPE);
        return;
    };
    write_str(ctx.out, v);
    e.delete();
    drop(s);
    crate::propagate::replace(&[&b"DEL"[..], key]);
    keyspace_event(ctx, class::GENERIC, "del", key);
}

fn getex(ctx: &mut Ctx, args: &[&[u8]]) {
    let Some(o) = parse_extended(args, false) else {
        ctx.error(SYNTAX);
        return;
    };
    let key = args[1];
    let acc = ctx.acc;
    let mut s = db_of(ctx).lock(key);
    let Some(mut e) = s.get_mut(key, &acc) else {
        ctx.hit_or_miss(key, false);
        ctx.out.null();
        return;
    };
    ctx.hit_or_miss(key, true);
    let Some(v) = e.as_ref().str() else {
        ctx.error(WRONGTYPE);
        return;
    };
    // The expire time is validated only once the key is known to be a string.
    let when = match o.expire {
        Some((kind, arg)) => match expire_at_ms(ctx, arg, kind, "getex") {
            Some(ms) => Some((kind, ms)),
            None => return,
        },
        None => None,
    };
    write_str(ctx.out, v);
    let event = match when {
        // An absolute time already past deletes the key.
        Some((kind, ms)) if !kind.relative() && ms <= acc.now_ms => {
            e.delete();
            "del"
        }
        Some((_, ms)) => {
            e.set_expire(Some(ms));
            "expire"
        }
        None if o.persist && e.expire_at().is_some() => {
            e.set_expire(None);
            "persist"
        }
        None => return,
    };
    drop(s);
    match (event, when) {
        ("del", _) => crate::propagate::replace_with_del(ctx.shared, key),
        ("expire", Some((_, ms))) => crate::propagate::replace_with_pexpireat(key, ms),
        _ => crate::propagate::replace(&[&b"PERSIST"[..], key]),
    }
    keyspace_event(ctx, class::GENERIC, event, key);
}

fn mget(ctx: &mut Ctx, args: &[&[u8]]) {
    let keys = &args[1..];
    let acc = ctx.acc;
    let mut locked = db_of(ctx).lock_keys(keys.iter().copied());
    ctx.out.array(keys.len());
    for &key in keys {
        match locked.stripe(key).get(key, &acc) {
            None => {
                ctx.hit_or_miss(key, false);
                ctx.out.null();
            }
            Some(e) => {
                ctx.hit_or_miss(key, true);
                match e.str() {
                    Some(v) => write_str(ctx.out, v),
                    None => ctx.out.null(),
                }
            }
        }
    }
}

fn mset_generic(ctx: &mut Ctx, args: &[&[u8]], nx: bool) {
    if args.len().is_multiple_of(2) {
        let name = if nx { "msetnx" } else { "mset" };
        ctx.error(&format!("ERR wrong number of arguments for '{name}' command"));
        return;
    }
    let pairs = args.get(1..).unwrap_or_default();
    let acc = ctx.acc;
    let mut locked = db_of(ctx).lock_keys(pairs.iter().step_by(2).copied());
    if nx {
        for pair in pairs.chunks_exact(2) {
            if let &[key, _] = pair {
                if locked.stripe(key).exists(key, &acc) {
                    drop(locked);
                    ctx.out.int(0);
                    return;
                }
            }
        }
    }
    for pair in pairs.chunks_exact(2) {
        if let &[key, value] = pair {
            locked.stripe(key).set(key, NewValue::Str(value), SetExpire::Clear, &acc);
        }
    }
    drop(locked);
    for key in pairs.iter().step_by(2) {
        keyspace_event(ctx, class::STRING, "set", key);
    }
    if nx {
        ctx.out.int(1);
    } else {
        ctx.out.ok();
    }
}

fn mset(ctx: &mut Ctx, args: &[&[u8]]) {
    mset_generic(ctx, args, false);
}

fn msetnx(ctx: &mut Ctx, args: &[&[u8]]) {
    mset_generic(ctx, args, true);
}

// ---------------------------------------------------------------------------------------
// APPEND, STRLEN, GETRANGE, SETRANGE.
// ---------------------------------------------------------------------------------------

fn append(ctx: &mut Ctx, args: &[&[u8]]) {
    let (key, value) = (args[1], args[2]);
    let acc = ctx.acc;
    let mut s = db_of(ctx).lock(key);
    if let Some(mut e) = s.get_mut(key, &acc) {
        let Some(cur_len) = e.as_ref().str().map(|v| v.len()) else {
            ctx.error(WRONGTYPE);
            return;
        };
        if !check_string_length(ctx, cur_len as u64, value.len() as u64) {
            return;
        }
        // The value becomes `raw` even when nothing is appended, as in Redis.
        let Some(buf) = e.str_buffer() else {
            ctx.error(WRONGTYPE);
            return;
        };
        if buf.try_reserve(value.len()).is_err() {
            ctx.error(ALLOC_FAILED);
            return;
        }
        buf.extend_from_slice(value);
        let total = buf.len();
        drop(s);
        keyspace_event(ctx, class::STRING, "append", key);
        ctx.out.int(total as i64);
        return;
    }
    s.set(key, NewValue::Str(value), SetExpire::Clear, &acc);
    drop(s);
    keyspace_event(ctx, class::STRING, "append", key);
    ctx.out.int(value.len() as i64);
}

fn strlen(ctx: &mut Ctx, args: &[&[u8]]) {
    let key = args[1];
    let acc = ctx.acc;
    let mut s = db_of(ctx).lock(key);
    match s.get(key, &acc) {
        None => {
            ctx.hit_or_miss(key, false);
            ctx.out.int(0);
        }
        Some(e) => {
            ctx.hit_or_miss(key, true);
            match e.str() {
                Some(v) => ctx.out.int(v.len() as i64),
                None => ctx.error(WRONGTYPE),
            }
        }
    }
}

/// The byte range GETRANGE returns for `start..=end` of a string of `len` bytes, or `None`
/// for the empty string (Redis's index rules: negative indexes count from the end, then both
/// are clamped into the string).
fn getrange_bounds(start: i64, end: i64, len: usize) -> Option<(usize, usize)> {
    if start < 0 && end < 0 && start > end {
        return None;
    }
    let len = len as i64;
    let mut start = if start < 0 { len + start } else { start };
    let mut end = if end < 0 { len + end } else { end };
    start = start.max(0);
    end = end.max(0);
    if end >= len {
        end = len - 1;
    }
    if start > end || len == 0 {
        return None;
    }
    Some((start as usize, end as usize))
}

fn getrange(ctx: &mut Ctx, args: &[&[u8]]) {
    let key = args[1];
    let (Some(start), Some(end)) = (parse_i64(args[2]), parse_i64(args[3])) else {
        ctx.error(NOT_INTEGER);
        return;
    };
    let acc = ctx.acc;
    let mut s = db_of(ctx).lock(key);
    let Some(e) = s.get(key, &acc) else {
        ctx.hit_or_miss(key, false);
        ctx.out.bulk(b"");
        return;
    };
    ctx.hit_or_miss(key, true);
    let Some(v) = e.str() else {
        ctx.error(WRONGTYPE);
        return;
    };
    let text;
    let bytes = match v {
        StrRef::Bytes(b) => b,
        StrRef::Int(n) => {
            text = n.to_string();
            text.as_bytes()
        }
    };
    let slice = getrange_bounds(start, end, bytes.len()).and_then(|(a, b)| bytes.get(a..=b));
    ctx.out.bulk(slice.unwrap_or_default());
}

fn setrange(ctx: &mut Ctx, args: &[&[u8]]) {
    let (key, value) = (args[1], args[3]);
    let Some(offset) = parse_i64(args[2]) else {
        ctx.error(NOT_INTEGER);
        return;
    };
    if offset < 0 {
        ctx.error("ERR offset is out of range");
        return;
    }
    let offset = offset as u64;
    let acc = ctx.acc;
    let mut s = db_of(ctx).lock(key);
    if let Some(mut e) = s.get_mut(key, &acc) {
        let Some(cur_len) = e.as_ref().str().map(|v| v.len()) else {
            ctx.error(WRONGTYPE);
            return;
        };
        if value.is_empty() {
            ctx.out.int(cur_len as i64);
            return;
        }
        if !check_string_length(ctx, offset, value.len() as u64) {
            return;
        }
        // Checked above: offset + value.len() fits proto-max-bulk-len.
        let (start, end) = (offset as usize, offset as usize + value.len());
        let Some(buf) = e.str_buffer() else {
            ctx.error(WRONGTYPE);
            return;
        };
        if buf.len() < end {
            if buf.try_reserve_exact(end - buf.len()).is_err() {
                ctx.error(ALLOC_FAILED);
                return;
            }
            buf.resize(end, 0);
        }
        if let Some(dst) = buf.get_mut(start..end) {
            dst.copy_from_slice(value);
        }
        let total = buf.len();
        drop(s);
        keyspace_event(ctx, class::STRING, "setrange", key);
        ctx.out.int(total as i64);
        return;
    }
    if value.is_empty() {
        ctx.out.int(0);
        return;
    }
    if !check_string_length(ctx, offset, value.len() as u64) {
        return;
    }
    let (start, end) = (offset as usize, offset as usize + value.len());
    let Some(mut buf) = zeroed(end) else {
        ctx.error(ALLOC_FAILED);
        return;
    };
    if let Some(dst) = buf.get_mut(start..end) {
        dst.copy_from_slice(value);
    }
    s.set(key, NewValue::Raw(buf), SetExpire::Clear, &acc);
    drop(s);
    keyspace_event(ctx, class::STRING, "setrange", key);
    ctx.out.int(end as i64);
}

// ---------------------------------------------------------------------------------------
// Counters.
// ---------------------------------------------------------------------------------------

/// Redis's incrDecrCommand: add `by` to the integer at `args[1]` (a missing key counts as 0).
/// The key keeps its expire time and ends up `int`-encoded.
fn incr_decr(ctx: &mut Ctx, key: &[u8], by: i64) {
    let acc = ctx.acc;
    let mut s = db_of(ctx).lock(key);
    if let Some(mut e) = s.get_mut(key, &acc) {
        let current = match e.as_ref().str() {
            None => {
                ctx.error(WRONGTYPE);
                return;
            }
            Some(StrRef::Int(n)) => Some(n),
            Some(StrRef::Bytes(b)) => parse_i64(b),
        };
        let Some(current) = current else {
            ctx.error(NOT_INTEGER);
            return;
        };
        let Some(value) = current.checked_add(by) else {
            ctx.error("ERR increment or decrement would overflow");
            return;
        };
        e.set_value(NewValue::Int(value));
        drop(s);
        keyspace_event(ctx, class::STRING, "incrby", key);
        ctx.out.int(value);
        return;
    }
    s.set(key, NewValue::Int(by), SetExpire::Clear, &acc);
    drop(s);
    keyspace_event(ctx, class::STRING, "incrby", key);
    ctx.out.int(by);
}

fn incr(ctx: &mut Ctx, args: &[&[u8]]) {
    incr_decr(ctx, args[1], 1);
}

fn decr(ctx: &mut Ctx, args: &[&[u8]]) {
    incr_decr(ctx, args[1], -1);
}

fn incrby(ctx: &mut Ctx, args: &[&[u8]]) {
    let Some(by) = parse_i64(args[2]) else {
        ctx.error(NOT_INTEGER);
        return;
    };
    incr_decr(ctx, args[1], by);
}

fn decrby(ctx: &mut Ctx, args: &[&[u8]]) {
    let Some(by) = parse_i64(args[2]) else {
        ctx.error(NOT_INTEGER);
        return;
    };
    if by == i64::MIN {
        ctx.error("ERR decrement would overflow");
        return;
    }
    incr_decr(ctx, args[1], -by);
}

/// The reply for a failed float increment.
fn incr_float_error(e: float::IncrFloatError) -> &'static str {
    match e {
        float::IncrFloatError::NanOrInfinity => "ERR increment would produce NaN or Infinity",
        float::IncrFloatError::InvalidValue | float::IncrFloatError::InvalidIncrement => NOT_FLOAT,
    }
}

fn incrbyfloat(ctx: &mut Ctx, args: &[&[u8]]) {
    let (key, by) = (args[1], args[2]);
    let acc = ctx.acc;
    let mut s = db_of(ctx).lock(key);
    if let Some(mut e) = s.get_mut(key, &acc) {
        let result = match e.as_ref().str() {
            None => {
                ctx.error(WRONGTYPE);
                return;
            }
            Some(StrRef::Int(n)) => float::incr_by_float(Some(n.to_string().as_bytes()), by),
            Some(StrRef::Bytes(b)) => float::incr_by_float(Some(b), by),
        };
        match result {
            Ok(text) => {
                e.set_value(NewValue::Plain(&text));
                drop(s);
                crate::propagate::replace(&[&b"SET"[..], key, &text, b"KEEPTTL"]);
                keyspace_event(ctx, class::STRING, "incrbyfloat", key);
                ctx.out.bulk(&text);
            }
            Err(err) => ctx.error(incr_float_error(err)),
        }
        return;
    }
    match float::incr_by_float(None, by) {
        Ok(text) => {
            s.set(key, NewValue::Plain(&text), SetExpire::Clear, &acc);
            drop(s);
            crate::propagate::replace(&[&b"SET"[..], key, &text, b"KEEPTTL"]);
            keyspace_event(ctx, class::STRING, "incrbyfloat", key);
            ctx.out.bulk(&text);
        }
        Err(err) => ctx.error(incr_float_error(err)),
    }
}

// ---------------------------------------------------------------------------------------
// LCS.
// ---------------------------------------------------------------------------------------

/// A key's value as LCS reads it.
enum Fetched {
    Missing,
    WrongType,
    Str(Vec<u8>),
}

fn lcs(ctx: &mut Ctx, args: &[&[u8]]) {
    let (ka, kb) = (args[1], args[2]);
    let acc = ctx.acc;
    let (fa, fb) = {
        let mut locked = db_of(ctx).lock_keys([ka, kb]);
        let mut fetch = |ctx: &Ctx, key: &[u8]| match locked.stripe(key).get(key, &acc) {
            None => {
                ctx.hit_or_miss(key, false);
                Fetched::Missing
            }
            Some(e) => {
                ctx.hit_or_miss(key, true);
                match e.str() {
                    Some(v) => Fetched::Str(v.to_vec()),
                    None => Fetched::WrongType,
                }
            }
        };
        let fa = fetch(ctx, ka);
        let fb = fetch(ctx, kb);
        (fa, fb)
    };
    let (a, b) = match (fa, fb) {
        (Fetched::WrongType, _) | (_, Fetched::WrongType) => {
            ctx.error("ERR The specified keys must contain string values");
            return;
        }
        (a, b) => {
            let bytes = |f: Fetched| match f {
                Fetched::Str(v) => v,
                _ => Vec::new(),
            };
            (bytes(a), bytes(b))
        }
    };

    let (mut getlen, mut getidx, mut withmatchlen) = (false, false, false);
    let mut minmatchlen: i64 = 0;
    let mut j = 3;
    while j < args.len() {
        let opt = c_str(args[j]);
        if is(opt, "IDX") {
            getidx = true;
        } else if is(opt, "LEN") {
            getlen = true;
        } else if is(opt, "WITHMATCHLEN") {
            withmatchlen = true;
        } else if is(opt, "MINMATCHLEN") && j + 1 < args.len() {
            let Some(n) = parse_i64(args[j + 1]) else {
                ctx.error(NOT_INTEGER);
                return;
            };
            minmatchlen = n.max(0);
            j += 1;
        } else {
            ctx.error(SYNTAX);
            return;
        }
        j += 1;
    }
    if getlen && getidx {
        ctx.error("ERR If you want both the length and indexes, please just use IDX.");
        return;
    }
    if a.len() as u64 >= u32::MAX as u64 - 1 || b.len() as u64 >= u32::MAX as u64 - 1 {
        ctx.error("ERR String too long for LCS");
        return;
    }

    // The dynamic programming table: t[i * w + j] = LCS length of a[..i] and b[..j].
    let (alen, blen) = (a.len(), b.len());
    let w = blen + 1;
    let cells = (alen as u64 + 1) * (blen as u64 + 1);
    if cells.saturating_mul(4) > ctx.shared.config.proto_max_bulk_len() {
        ctx.error("ERR Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len");
        return;
    }
    let mut t: Vec<u32> = Vec::new();
    let reserved = match usize::try_from(cells) {
        Ok(n) => t.try_reserve_exact(n).is_ok(),
        Err(_) => false,
    };
    if !reserved {
        ctx.error("ERR Insufficient memory, failed allocating transient memory for LCS");
        return;
    }
    t.resize(cells as usize, 0);
    for (i, &ai) in a.iter().enumerate() {
        let (prev, rest) = t.split_at_mut((i + 1) * w);
        let prev = &prev[i * w..];
        let cur = &mut rest[..w];
        for (jj, &bj) in b.iter().enumerate() {
            cur[jj + 1] = if ai == bj { prev[jj] + 1 } else { prev[jj + 1].max(cur[jj]) };
        }
    }
    let at = |i: usize, j: usize| t.get(i * w + j).copied().unwrap_or(0);
    let total = at(alen, blen);

    let computelcs = getidx || !getlen;
    let mut result = if computelcs { vec![0u8; total as usize] } else { Vec::new() };
    let deferred = if getidx {
        ctx.out.map(2);
        ctx.out.bulk(b"matches");
        Some(ctx.out.begin_deferred())
    } else {
        None
    };
    let mut emitted = 0usize;
    // Walk back from the end, as Redis does, emitting maximal common runs.
    let unset = alen; // `arange_start == alen` means no current range.
    let (mut arange_start, mut arange_end, mut brange_start, mut brange_end) = (unset, 0, 0, 0);
    let (mut i, mut j, mut idx) = (alen, blen, total as usize);
    while computelcs && i > 0 && j > 0 {
        let mut emit_range = false;
        if a.get(i - 1) == b.get(j - 1) {
            if let (Some(slot), Some(&c)) = (result.get_mut(idx.wrapping_sub(1)), a.get(i - 1)) {
                *slot = c;
            }
            if arange_start == unset {
                arange_start = i - 1;
                arange_end = i - 1;
                brange_start = j - 1;
                brange_end = j - 1;
            } else if arange_start == i && brange_start == j {
                arange_start -= 1;
                brange_start -= 1;
            } else {
                emit_range = true;
            }
            if arange_start == 0 || brange_start == 0 {
                emit_range = true;
            }
            idx = idx.wrapping_sub(1);
            i -= 1;
            j -= 1;
        } else {
            if at(i - 1, j) > at(i, j - 1) {
                i -= 1;
            } else {
                j -= 1;
            }
            if arange_start != unset {
                emit_range = true;
            }
        }
        if emit_range {
            let match_len = arange_end.wrapping_sub(arange_start).wrapping_add(1) as u64;
            if (minmatchlen == 0 || match_len >= minmatchlen as u64) && deferred.is_some() {
                ctx.out.array(2 + withmatchlen as usize);
                ctx.out.array(2);
                ctx.out.int(arange_start as i64);
                ctx.out.int(arange_end as i64);
                ctx.out.array(2);
                ctx.out.int(brange_start as i64);
                ctx.out.int(brange_end as i64);
                if withmatchlen {
                    ctx.out.int(match_len as i64);
                }
                emitted += 1;
            }
            arange_start = unset;
        }
    }
    if let Some(d) = deferred {
        ctx.out.end_deferred(d, Aggregate::Array, emitted);
        ctx.out.bulk(b"len");
        ctx.out.int(total as i64);
    } else if getlen {
        ctx.out.int(total as i64);
    } else {
        ctx.out.bulk(&result);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(v: &[&'static str]) -> Option<ExtOpts<'static>> {
        let args: Vec<&'static [u8]> = v.iter().map(|s| s.as_bytes()).collect();
        parse_extended(&args, true)
    }

    fn getex(v: &[&'static str]) -> Option<ExtOpts<'static>> {
        let args: Vec<&'static [u8]> = v.iter().map(|s| s.as_bytes()).collect();
        parse_extended(&args, false)
    }

    #[test]
    fn extended_options() {
        assert!(set(&["set", "k", "v", "nx", "xx"]).is_none());
        assert!(set(&["set", "k", "v", "ex", "1", "px", "1"]).is_none());
        assert!(set(&["set", "k", "v", "ex"]).is_none());
        assert!(set(&["set", "k", "v", "keepttl", "ex", "1"]).is_none());
        assert!(set(&["set", "k", "v", "persist"]).is_none());
        let o = set(&["set", "k", "v", "EX", "1", "ex", "2", "GET", "nx"]).unwrap();
        assert_eq!(o.expire, Some((ExpireKind::Ex, &b"2"[..])));
        assert!(o.get && o.nx && !o.xx);
        assert!(set(&["set", "k", "v", "nx\0junk"]).unwrap().nx);
        assert!(getex(&["getex", "k", "nx"]).is_none());
        assert!(getex(&["getex", "k", "persist", "ex", "1"]).is_none());
        assert!(getex(&["getex", "k", "PERSIST"]).unwrap().persist);
        assert_eq!(getex(&["getex", "k", "pxat", "5"]).unwrap().expire.map(|e| e.0), Some(ExpireKind::PxAt));
    }

    #[test]
    fn getrange_indexes() {
        assert_eq!(getrange_bounds(0, -1, 5), Some((0, 4)));
        assert_eq!(getrange_bounds(-1, -5, 5), None);
        assert_eq!(getrange_bounds(-100, -50, 3), Some((0, 0)));
        assert_eq!(getrange_bounds(5, 1, 3), None);
        assert_eq!(getrange_bounds(0, i64::MAX, 3), Some((0, 2)));
        assert_eq!(getrange_bounds(i64::MIN, -1, 3), Some((0, 2)));
        assert_eq!(getrange_bounds(0, 0, 0), None);
        assert_eq!(getrange_bounds(2, 10, 3), Some((2, 2)));
    }
}
