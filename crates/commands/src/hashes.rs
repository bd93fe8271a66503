//! The hash family, with Redis 7.0.15's semantics, replies and error texts: HSET, HMSET,
//! HSETNX, HGET, HMGET, HDEL, HLEN, HSTRLEN, HEXISTS, HKEYS, HVALS, HGETALL, HINCRBY,
//! HINCRBYFLOAT, HRANDFIELD, HSCAN.
//!
//! Encodings follow Redis's `t_hash.c`: a hash starts packed (`listpack`: field, value,
//! field, value, ... inline in its keyspace entry, in insertion order) and is converted to
//! the big `hashtable` encoding ([`brim_engine::hash::Hash`]) when a command's argument is
//! longer than `hash-max-listpack-value` (checked over all the arguments before HSET and
//! HSETNX write, and on every field/value written by HINCRBY and HINCRBYFLOAT) or when,
//! after any write, it holds more than `hash-max-listpack-entries` fields. It never goes
//! back. A hash left empty is deleted.
//!
//! Every command runs under its key's stripe lock, so it is atomic as in Redis. Read
//! commands count keyspace hits and misses; writes do not (Redis's lookupKeyWrite). A
//! write that changes nothing (HSETNX on an existing field, HDEL of absent fields, an
//! error) does not touch the key, so WATCH is not triggered.

use std::borrow::Cow;
use std::cell::Cell;
use std::collections::HashSet;

use brim_config::ClientClass;
use brim_engine::hash::Hash;
use brim_engine::packed::{self, Elem};
use brim_engine::value::int_len;
use brim_engine::{EntryMut, NewValue, Object, PackedKind, Rng, SetExpire, ValueRef};
use brim_glob::glob_match;
use brim_resp::Reply;

use crate::args::{
    c_str, is, parse_cursor, parse_i64, parse_scan_options, NOT_FLOAT, NOT_INTEGER, SYNTAX, WRONGTYPE,
};
use crate::ctx::Ctx;
use crate::notify::{class, keyspace_event};
use crate::strings::float::{self, IncrFloatError};
use crate::table::{cmd, Registration};

/// The hash family.
pub const COMMANDS: &[Registration] = &[
    cmd("hset", hset),
    cmd("hmset", hset),
    cmd("hsetnx", hsetnx),
    cmd("hget", hget),
    cmd("hmget", hmget),
    cmd("hdel", hdel),
    cmd("hlen", hlen),
    cmd("hstrlen", hstrlen),
    cmd("hexists", hexists),
    cmd("hkeys", hkeys),
    cmd("hvals", hvals),
    cmd("hgetall", hgetall),
    cmd("hincrby", hincrby),
    cmd("hincrbyfloat", hincrbyfloat),
    cmd("hrandfield", hrandfield),
    cmd("hscan", hscan),
];

/// `ERR hash value is not an integer` (HINCRBY on a non-integer value).
pub const NOT_INTEGER_VALUE: &str = "ERR hash value is not an integer";
/// `ERR hash value is not a float` (HINCRBYFLOAT on a non-float value).
pub const NOT_FLOAT_VALUE: &str = "ERR hash value is not a float";

/// Redis's `LISTPACK_MAX_SAFETY_SIZE`: a listpack is never let grow past 1 GiB.
const LISTPACK_MAX_SAFETY_SIZE: usize = 1 << 30;

/// Bytes a reply repeating elements (HRANDFIELD with a negative count) may grow to when
/// `client-output-buffer-limit normal` sets no hard limit. Past it the client is
/// disconnected after what was written, as Redis does when a client overruns its output
/// buffer limit; Brim does not let a client number allocate without bound.
const MAX_REPEAT_REPLY: usize = 512 << 20;

// ---------------------------------------------------------------------------------------
// Reading hashes.
// ---------------------------------------------------------------------------------------

/// A hash, borrowed for reading.
#[derive(Clone, Copy)]
enum View<'a> {
    /// Packed: field, value, field, value, ... in insertion order.
    Packed(&'a [u8]),
    /// The big encoding.
    Big(&'a Hash),
}

/// The field/value pairs of a packed hash.
fn pairs(buf: &[u8]) -> impl Iterator<Item = (Elem<'_>, Elem<'_>)> {
    let mut it = packed::iter(buf).map(|(_, e)| e);
    std::iter::from_fn(move || {
        let f = it.next()?;
        let v = it.next()?;
        Some((f, v))
    })
}

/// Where `field` is in a packed hash: byte offsets of the field, its value, and the end of
/// the value.
fn packed_find(buf: &[u8], field: &[u8]) -> Option<(usize, usize, usize)> {
    // Integers are stored canonically, so comparing elements compares texts.
    let want = packed::elem_of(field);
    let mut at = 0;
    while let Some((f, vstart)) = packed::read(buf, at) {
        let (_, vend) = packed::read(buf, vstart)?;
        if f == want {
            return Some((at, vstart, vend));
        }
        at = vend;
    }
    None
}

/// An element's text.
fn text(e: Elem<'_>) -> Cow<'_, [u8]> {
    match e {
        Elem::Bytes(b) => Cow::Borrowed(b),
        other => Cow::Owned(other.to_vec()),
    }
}

/// Length of an element's text.
fn text_len(e: Elem<'_>) -> usize {
    match e {
        Elem::Bytes(b) => b.len(),
        Elem::Int(n) => int_len(n),
        Elem::Double(_) => e.to_vec().len(),
    }
}

/// Write an element as a bulk string.
fn write_elem(out: &mut Reply, e: Elem<'_>) {
    match e {
        Elem::Bytes(b) => out.bulk(b),
        Elem::Int(n) => out.bulk_i64(n),
        Elem::Double(_) => out.bulk(&e.to_vec()),
    }
}

impl<'a> View<'a> {
    /// The hash in `v`, or `None` for a value of another type.
    fn of(v: ValueRef<'a>) -> Option<View<'a>> {
        match v {
            ValueRef::Packed(PackedKind::Hash, b) => Some(View::Packed(b)),
            ValueRef::Obj(Object::Hash(h)) => Some(View::Big(h)),
            _ => None,
        }
    }

    /// Number of fields.
    fn len(self) -> usize {
        match self {
            View::Packed(b) => packed::count(b) / 2,
            View::Big(h) => h.len(),
        }
    }

    /// The value of `field`.
    fn get(self, field: &[u8]) -> Option<Elem<'a>> {
        match self {
            View::Packed(b) => {
                let (_, vstart, _) = packed_find(b, field)?;
                packed::read(b, vstart).map(|(v, _)| v)
            }
            View::Big(h) => h.get(field).map(Elem::Bytes),
        }
    }

    /// Call `f` with every field and value (insertion order when packed).
    fn for_each(self, mut f: impl FnMut(Elem<'a>, Elem<'a>)) {
        match self {
            View::Packed(b) => pairs(b).for_each(|(k, v)| f(k, v)),
            View::Big(h) => h.for_each(|k, v| f(Elem::Bytes(k), Elem::Bytes(v))),
        }
    }
}

/// Look `key` up for reading as Redis's lookupKeyReadOrReply + checkType: counts the hit
/// or miss, replies WRONGTYPE for another type, else calls `f` with the hash (`None` when
/// the key is missing).
fn read_hash(ctx: &mut Ctx, key: &[u8], f: impl FnOnce(&mut Ctx, Option<View<'_>>)) {
    let acc = ctx.acc;
    let mut s = ctx.db().lock(key);
    match s.get(key, &acc) {
        None => {
            ctx.hit_or_miss(key, false);
            f(ctx, None);
        }
        Some(e) => {
            ctx.hit_or_miss(key, true);
            match View::of(e.value()) {
                Some(v) => f(ctx, Some(v)),
                None => ctx.error(WRONGTYPE),
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// Writing hashes.
// ---------------------------------------------------------------------------------------

/// The thresholds of the packed encoding (`hash-max-listpack-*`).
#[derive(Debug, Clone, Copy)]
struct Limits {
    entries: usize,
    value: usize,
}

impl Limits {
    fn of(ctx: &Ctx) -> Limits {
        let c = &ctx.shared.config;
        Limits {
            entries: usize::try_from(c.hash_max_listpack_entries()).unwrap_or(usize::MAX),
            value: usize::try_from(c.hash_max_listpack_value()).unwrap_or(usize::MAX),
        }
    }
}

/// A hash being modified by one command.
enum Writer<'a> {
    /// Packed, rebuilt in this buffer (stored back when the command is done).
    Packed { buf: Vec<u8>, len: usize },
    /// Converted to the big encoding by this command (stored when it is done).
    Converted(Hash),
    /// The stored big hash, modified in place.
    Big(&'a mut Hash),
}

impl Writer<'_> {
    /// Number of fields.
    fn len(&self) -> usize {
        match self {
            Writer::Packed { len, .. } => *len,
            Writer::Converted(h) => h.len(),
            Writer::Big(h) => h.len(),
        }
    }

    /// Whether the hash is packed.
    fn is_packed(&self) -> bool {
        matches!(self, Writer::Packed { .. })
    }

    /// Convert a packed hash to the big encoding (Redis's hashTypeConvert).
    fn convert(&mut self) {
        if let Writer::Packed { buf, .. } = self {
            let mut h = Hash::new();
            for (f, v) in pairs(buf) {
                h.insert(&text(f), &text(v));
            }
            *self = Writer::Converted(h);
        }
    }

    /// Redis's hashTypeTryConversion: convert before writing if any of `args` is too long
    /// for the packed encoding, or if they could push it past the 1 GiB safety size.
    fn try_conversion(&mut self, lim: Limits, args: &[&[u8]]) {
        let Writer::Packed { buf, .. } = self else { return };
        let mut sum = 0usize;
        for a in args {
            if a.len() > lim.value {
                self.convert();
                return;
            }
            sum = sum.saturating_add(a.len());
        }
        if buf.len().saturating_add(sum) > LISTPACK_MAX_SAFETY_SIZE {
            self.convert();
        }
    }

    /// Redis's hashTypeSet: set `field` to `value`, converting when the field or value is
    /// too long to be packed or when the hash ends up with too many fields. Returns whether
    /// the field is new.
    fn set(&mut self, lim: Limits, field: &[u8], value: &[u8]) -> bool {
        if self.is_packed() && (field.len() > lim.value || value.len() > lim.value) {
            self.convert();
        }
        let created = match self {
            Writer::Packed { buf, len } => match packed_find(buf, field) {
                Some((_, vstart, vend)) => {
                    let mut enc = Vec::with_capacity(packed::encoded_len(packed::elem_of(value)));
                    packed::push_str(&mut enc, value);
                    buf.splice(vstart..vend, enc);
                    false
                }
                None => {
                    packed::push_str(buf, field);
                    packed::push_str(buf, value);
                    *len += 1;
                    true
                }
            },
            Writer::Converted(h) => h.insert(field, value),
            Writer::Big(h) => h.insert(field, value),
        };
        if self.is_packed() && self.len() > lim.entries {
            self.convert();
        }
        created
    }

    /// Delete `field`; returns whether it existed.
    fn remove(&mut self, field: &[u8]) -> bool {
        match self {
            Writer::Packed { buf, len } => match packed_find(buf, field) {
                Some((start, _, end)) => {
                    buf.drain(start..end);
                    *len -= 1;
                    true
                }
                None => false,
            },
            Writer::Converted(h) => h.remove(field),
            Writer::Big(h) => h.remove(field),
        }
    }
}

/// What a write command decided after looking at the hash.
enum Step<P> {
    /// Nothing to change (the reply says so).
    Skip,
    /// Change it, with this plan.
    Write(P),
}

/// What [`write_hash`] did.
enum Written<R> {
    /// An error was replied (WRONGTYPE or the check's).
    Failed,
    /// The check decided to change nothing.
    Skipped,
    /// The hash was changed; `apply` returned this.
    Done(R),
}

/// Store a packed buffer or a converted hash back into its entry (or delete the key when
/// the hash ended empty). A big hash modified in place needs nothing.
fn store_back(e: EntryMut<'_>, w: Writer<'_>) {
    match w {
        Writer::Big(_) => {}
        w if w.len() == 0 => e.delete(),
        Writer::Packed { buf, .. } => {
            let mut e = e;
            e.set_value(NewValue::Packed(PackedKind::Hash, &buf));
        }
        Writer::Converted(h) => {
            let mut e = e;
            e.set_value(NewValue::Obj(Box::new(Object::Hash(h))));
        }
    }
}

/// Modify the hash at `key` as Redis's write commands do (lookupKeyWrite: no hit/miss
/// counted). `check` sees the current hash (`None` when the key is missing) and decides;
/// its error is replied as is. `apply` then changes the hash through a [`Writer`], creating
/// the key when missing (with a `new` keyspace event) and deleting it when left empty.
fn write_hash<P, R>(
    ctx: &mut Ctx,
    key: &[u8],
    check: impl FnOnce(Option<View<'_>>) -> Result<Step<P>, &'static str>,
    apply: impl FnOnce(&mut Writer<'_>, P) -> R,
) -> Written<R> {
    let acc = ctx.acc;
    let mut s = ctx.db().lock(key);
    let decide = |ctx: &mut Ctx, step: Result<Step<P>, &'static str>| match step {
        Err(msg) => {
            ctx.error(msg);
            None
        }
        Ok(Step::Skip) => None,
        Ok(Step::Write(p)) => Some(p),
    };
    match s.get_mut(key, &acc) {
        Some(mut e) => {
            let step = match View::of(e.value()) {
                Some(v) => check(Some(v)),
                None => Err(WRONGTYPE),
            };
            let failed = step.is_err();
            let Some(plan) = decide(ctx, step) else {
                return if failed { Written::Failed } else { Written::Skipped };
            };
            let packed = match e.value() {
                ValueRef::Packed(_, b) => Some(b.to_vec()),
                _ => None,
            };
            match packed {
                Some(buf) => {
                    let mut w = Writer::Packed { len: packed::count(&buf) / 2, buf };
                    let r = apply(&mut w, plan);
                    store_back(e, w);
                    Written::Done(r)
                }
                None => {
                    let (r, empty) = match e.obj_mut() {
                        Some(Object::Hash(h)) => {
                            let mut w = Writer::Big(h);
                            let r = apply(&mut w, plan);
                            (r, w.len() == 0)
                        }
                        _ => {
                            // Unreachable: the type was checked above.
                            ctx.error(WRONGTYPE);
                            return Written::Failed;
                        }
                    };
                    if empty {
                        e.delete();
                    }
                    Written::Done(r)
                }
            }
        }
        None => {
            let step = check(None);
            let failed = step.is_err();
            let Some(plan) = decide(ctx, step) else {
                return if failed { Written::Failed } else { Written::Skipped };
            };
            let mut w = Writer::Packed { buf: Vec::new(), len: 0 };
            let r = apply(&mut w, plan);
            if w.len() == 0 {
                return Written::Done(r);
            }
            match w {
                Writer::Packed { buf, .. } => {
                    s.set(key, NewValue::Packed(PackedKind::Hash, &buf), SetExpire::Clear, &acc)
                }
                Writer::Converted(h) => {
                    s.set(key, NewValue::Obj(Box::new(Object::Hash(h))), SetExpire::Clear, &acc)
                }
                Writer::Big(_) => {}
            }
            drop(s);
            keyspace_event(ctx, class::NEW, "new", key);
            Written::Done(r)
        }
    }
}

// ---------------------------------------------------------------------------------------
// HSET, HMSET, HSETNX, HDEL, HINCRBY, HINCRBYFLOAT.
// ---------------------------------------------------------------------------------------

/// HSET key field value [field value ...] / HMSET key field value [field value ...]
fn hset(ctx: &mut Ctx, args: &[&[u8]]) {
    let name = String::from_utf8_lossy(args[0]).to_ascii_lowercase();
    if args.len() % 2 == 1 {
        ctx.error(&format!("ERR wrong number of arguments for '{name}' command"));
        return;
    }
    let key = args[1];
    let lim = Limits::of(ctx);
    let written = write_hash(
        ctx,
        key,
        |_| Ok(Step::Write(())),
        |w, ()| {
            w.try_conversion(lim, &args[2..]);
            let mut created = 0i64;
            for p in args[2..].chunks_exact(2) {
                created += w.set(lim, p[0], p[1]) as i64;
            }
            created
        },
    );
    let Written::Done(created) = written else { return };
    if name == "hset" {
        ctx.out.int(created);
    } else {
        ctx.out.ok();
    }
    keyspace_event(ctx, class::HASH, "hset", key);
}

/// HSETNX key field value
fn hsetnx(ctx: &mut Ctx, args: &[&[u8]]) {
    let (key, field, value) = (args[1], args[2], args[3]);
    let lim = Limits::of(ctx);
    let written = write_hash(
        ctx,
        key,
        |v| Ok(if v.and_then(|v| v.get(field)).is_some() { Step::Skip } else { Step::Write(()) }),
        |w, ()| {
            w.try_conversion(lim, &args[2..4]);
            w.set(lim, field, value);
        },
    );
    match written {
        Written::Failed => {}
        Written::Skipped => ctx.out.int(0),
        Written::Done(()) => {
            ctx.out.int(1);
            keyspace_event(ctx, class::HASH, "hset", key);
        }
    }
}

/// HDEL key field [field ...]
fn hdel(ctx: &mut Ctx, args: &[&[u8]]) {
    let key = args[1];
    let fields = &args[2..];
    let written = write_hash(
        ctx,
        key,
        |v| match v {
            Some(v) if fields.iter().any(|f| v.get(f).is_some()) => Ok(Step::Write(())),
            _ => Ok(Step::Skip),
        },
        |w, ()| {
            let mut deleted = 0i64;
            for f in fields {
                if w.remove(f) {
                    deleted += 1;
                    if w.len() == 0 {
                        break;
                    }
                }
            }
            (deleted, w.len() == 0)
        },
    );
    match written {
        Written::Failed => {}
        Written::Skipped => ctx.out.int(0),
        Written::Done((deleted, removed)) => {
            ctx.out.int(deleted);
            keyspace_event(ctx, class::HASH, "hdel", key);
            if removed {
                keyspace_event(ctx, class::GENERIC, "del", key);
            }
        }
    }
}

/// HINCRBY key field increment
fn hincrby(ctx: &mut Ctx, args: &[&[u8]]) {
    let (key, field) = (args[1], args[2]);
    let Some(incr) = parse_i64(args[3]) else {
        ctx.error(NOT_INTEGER);
        return;
    };
    let lim = Limits::of(ctx);
    let written = write_hash(
        ctx,
        key,
        |v| {
            let cur = match v.and_then(|v| v.get(field)) {
                None => 0,
                Some(Elem::Int(n)) => n,
                Some(e) => parse_i64(&text(e)).ok_or(NOT_INTEGER_VALUE)?,
            };
            cur.checked_add(incr).map(Step::Write).ok_or("ERR increment or decrement would overflow")
        },
        |w, n: i64| {
            w.set(lim, field, n.to_string().as_bytes());
            n
        },
    );
    if let Written::Done(n) = written {
        ctx.out.int(n);
        keyspace_event(ctx, class::HASH, "hincrby", key);
    }
}

/// HINCRBYFLOAT key field increment
fn hincrbyfloat(ctx: &mut Ctx, args: &[&[u8]]) {
    let (key, field, incr) = (args[1], args[2], args[3]);
    if !float::is_valid_long_double(incr) {
        ctx.error(NOT_FLOAT);
        return;
    }
    // A valid increment whose sum with 0 is not finite is itself infinite.
    if float::incr_by_float(None, incr) == Err(IncrFloatError::NanOrInfinity) {
        ctx.error("ERR value is NaN or Infinity");
        return;
    }
    let lim = Limits::of(ctx);
    let written = write_hash(
        ctx,
        key,
        |v| {
            let cur = v.and_then(|v| v.get(field)).map(text);
            match float::incr_by_float(cur.as_deref(), incr) {
                Ok(t) => Ok(Step::Write(t)),
                Err(IncrFloatError::InvalidValue) => Err(NOT_FLOAT_VALUE),
                Err(IncrFloatError::InvalidIncrement) => Err(NOT_FLOAT),
                Err(IncrFloatError::NanOrInfinity) => Err("ERR increment would produce NaN or Infinity"),
            }
        },
        |w, t: Vec<u8>| {
            w.set(lim, field, &t);
            t
        },
    );
    if let Written::Done(t) = written {
        crate::propagate::replace(&[&b"HSET"[..], key, field, &t]);
        ctx.out.bulk(&t);
        keyspace_event(ctx, class::HASH, "hincrbyfloat", key);
    }
}

// ---------------------------------------------------------------------------------------
// HGET, HMGET, HLEN, HSTRLEN, HEXISTS, HKEYS, HVALS, HGETALL.
// ---------------------------------------------------------------------------------------

/// HGET key field
fn hget(ctx: &mut Ctx, args: &[&[u8]]) {
    let field = args[2];
    read_hash(ctx, args[1], |ctx, v| match v.and_then(|v| v.get(field)) {
        Some(e) => write_elem(ctx.out, e),
        None => ctx.out.null(),
    });
}

/// HMGET key field [field ...]
fn hmget(ctx: &mut Ctx, args: &[&[u8]]) {
    let fields = &args[2..];
    read_hash(ctx, args[1], |ctx, v| {
        ctx.out.array(fields.len());
        for f in fields {
            match v.and_then(|v| v.get(f)) {
                Some(e) => write_elem(ctx.out, e),
                None => ctx.out.null(),
            }
        }
    });
}

/// HLEN key
fn hlen(ctx: &mut Ctx, args: &[&[u8]]) {
    read_hash(ctx, args[1], |ctx, v| ctx.out.int(v.map_or(0, |v| v.len()) as i64));
}

/// HSTRLEN key field
fn hstrlen(ctx: &mut Ctx, args: &[&[u8]]) {
    let field = args[2];
    read_hash(ctx, args[1], |ctx, v| ctx.out.int(v.and_then(|v| v.get(field)).map_or(0, text_len) as i64));
}

/// HEXISTS key field
fn hexists(ctx: &mut Ctx, args: &[&[u8]]) {
    let field = args[2];
    read_hash(ctx, args[1], |ctx, v| ctx.out.int(v.and_then(|v| v.get(field)).is_some() as i64));
}

/// What HKEYS, HVALS and HGETALL reply with.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Parts {
    Keys,
    Values,
    Both,
}

/// Redis's genericHgetallCommand: an array of fields or values, or a map of both.
fn getall(ctx: &mut Ctx, key: &[u8], parts: Parts) {
    read_hash(ctx, key, |ctx, v| {
        let n = v.map_or(0, |v| v.len());
        if parts == Parts::Both {
            ctx.out.map(n);
        } else {
            ctx.out.array(n);
        }
        if let Some(v) = v {
            let out = &mut *ctx.out;
            v.for_each(|f, val| {
                if parts != Parts::Values {
                    write_elem(out, f);
                }
                if parts != Parts::Keys {
                    write_elem(out, val);
                }
            });
        }
    });
}

/// HKEYS key
fn hkeys(ctx: &mut Ctx, args: &[&[u8]]) {
    getall(ctx, args[1], Parts::Keys);
}

/// HVALS key
fn hvals(ctx: &mut Ctx, args: &[&[u8]]) {
    getall(ctx, args[1], Parts::Values);
}

/// HGETALL key
fn hgetall(ctx: &mut Ctx, args: &[&[u8]]) {
    getall(ctx, args[1], Parts::Both);
}

// ---------------------------------------------------------------------------------------
// HRANDFIELD.
// ---------------------------------------------------------------------------------------

thread_local! {
    static RNG_STATE: Cell<u64> = const { Cell::new(0) };
}

/// Run `f` with this thread's random generator (seeded from the clock on first use).
fn with_rng<R>(f: impl FnOnce(&mut Rng) -> R) -> R {
    let mut seed = RNG_STATE.with(Cell::get);
    if seed == 0 {
        let local = 0u8;
        seed = (crate::shared::unix_us() as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15)
            ^ (&local as *const u8 as u64);
    }
    let mut rng = Rng::new(seed);
    let r = f(&mut rng);
    RNG_STATE.with(|s| s.set(rng.next_u64() | 1));
    r
}

/// HRANDFIELD key [count [WITHVALUES]]
fn hrandfield(ctx: &mut Ctx, args: &[&[u8]]) {
    let key = args[1];
    if args.len() >= 3 {
        let Some(l) = parse_i64(args[2]) else {
            ctx.error(NOT_INTEGER);
            return;
        };
        if l == i64::MIN {
            ctx.error(
                "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807",
            );
            return;
        }
        if args.len() > 4 || (args.len() == 4 && !is(c_str(args[3]), "withvalues")) {
            ctx.error(SYNTAX);
            return;
        }
        let withvalues = args.len() == 4;
        if withvalues && !(-(i64::MAX / 2)..=i64::MAX / 2).contains(&l) {
            ctx.error("ERR value is out of range");
            return;
        }
        read_hash(ctx, key, |ctx, v| match v {
            None => ctx.out.array(0),
            Some(v) => with_rng(|rng| rand_with_count(ctx, v, l, withvalues, rng)),
        });
        return;
    }
    read_hash(ctx, key, |ctx, v| {
        let picked = v.and_then(|v| with_rng(|rng| random_pair(v, rng)));
        match picked {
            Some((f, _)) => write_elem(ctx.out, f),
            None => ctx.out.null(),
        }
    });
}

/// A uniformly chosen field of a packed hash, or a random one of a big hash.
fn random_pair<'a>(v: View<'a>, rng: &mut Rng) -> Option<(Elem<'a>, Elem<'a>)> {
    match v {
        View::Packed(b) => {
            let n = packed::count(b) / 2;
            if n == 0 {
                return None;
            }
            pairs(b).nth(rng.below(n))
        }
        View::Big(h) => h.random(rng).map(|(f, val)| (Elem::Bytes(f), Elem::Bytes(val))),
    }
}

/// Redis's hrandfieldWithCountCommand on an existing hash.
fn rand_with_count(ctx: &mut Ctx, v: View<'_>, l: i64, withvalues: bool, rng: &mut Rng) {
    let size = v.len();
    let (count, uniq) = if l >= 0 { (l.unsigned_abs(), true) } else { (l.unsigned_abs(), false) };
    if count == 0 || size == 0 {
        ctx.out.array(0);
        return;
    }
    let resp3 = ctx.out.is_resp3();
    let header = |out: &mut Reply, n: u64| {
        let n = usize::try_from(n).unwrap_or(usize::MAX);
        if withvalues && !resp3 {
            out.array(n.saturating_mul(2));
        } else {
            out.array(n);
        }
    };
    let emit = |out: &mut Reply, f: Elem<'_>, val: Elem<'_>| {
        if withvalues && resp3 {
            out.array(2);
        }
        write_elem(out, f);
        if withvalues {
            write_elem(out, val);
        }
    };

    // CASE 1: a negative count (repetitions allowed) or a single element: sample anew
    // each time, in random order.
    if !uniq || count == 1 {
        let hard = ctx.shared.config.client_output_buffer_limit(ClientClass::Normal).hard;
        let budget = if hard > 0 { usize::try_from(hard).unwrap_or(usize::MAX) } else { MAX_REPEAT_REPLY };
        let start = ctx.out.len();
        header(ctx.out, count);
        let all: Vec<(Elem<'_>, Elem<'_>)> = match v {
            View::Packed(b) => pairs(b).collect(),
            View::Big(_) => Vec::new(),
        };
        for _ in 0..count {
            let picked = match v {
                View::Packed(_) => all.get(rng.below(all.len())).copied(),
                View::Big(_) => random_pair(v, rng),
            };
            let Some((f, val)) = picked else { break };
            emit(ctx.out, f, val);
            if ctx.out.len() - start > budget {
                // The reply would outgrow any output buffer: disconnect after it, as Redis
                // does to a client past its output buffer limit.
                ctx.client.close_after_reply = true;
                break;
            }
        }
        return;
    }

    // CASE 2: at least as many as there are: the whole hash.
    if count >= size as u64 {
        header(ctx.out, size as u64);
        let out = &mut *ctx.out;
        v.for_each(|f, val| emit(out, f, val));
        return;
    }
    let count = count as usize; // < size

    match v {
        // CASE 2.5: packed: distinct fields in hash order (selection sampling, as Redis's
        // lpRandomPairsUnique).
        View::Packed(b) => {
            header(ctx.out, count as u64);
            let mut needed = count;
            let mut left = size;
            for (f, val) in pairs(b) {
                if needed == 0 {
                    break;
                }
                if rng.below(left) < needed {
                    emit(ctx.out, f, val);
                    needed -= 1;
                }
                left -= 1;
            }
        }
        // CASE 3: a large share of a big hash: shuffle all of it and take the first ones.
        View::Big(h) if count * 3 > size => {
            let mut all: Vec<(&[u8], &[u8])> = Vec::with_capacity(size);
            h.for_each(|f, val| all.push((f, val)));
            let n = all.len();
            let count = count.min(n);
            for i in 0..count {
                let j = i + rng.below(n - i);
                all.swap(i, j);
            }
            header(ctx.out, count as u64);
            for &(f, val) in all.iter().take(count) {
                emit(ctx.out, Elem::Bytes(f), Elem::Bytes(val));
            }
        }
        // CASE 4: a small share of a big hash: random picks, skipping repeats.
        View::Big(h) => {
            header(ctx.out, count as u64);
            let mut seen: HashSet<*const u8> = HashSet::with_capacity(count);
            while seen.len() < count {
                let Some((f, val)) = h.random(rng) else { break };
                if seen.insert(f.as_ptr()) {
                    emit(ctx.out, Elem::Bytes(f), Elem::Bytes(val));
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// HSCAN.
// ---------------------------------------------------------------------------------------

/// HSCAN key cursor [MATCH pattern] [COUNT count]
fn hscan(ctx: &mut Ctx, args: &[&[u8]]) {
    let Some(cursor) = parse_cursor(args[2]) else {
        ctx.error("ERR invalid cursor");
        return;
    };
    read_hash(ctx, args[1], |ctx, v| {
        let Some(v) = v else {
            ctx.out.array(2);
            ctx.out.bulk(b"0");
            ctx.out.array(0);
            return;
        };
        let (count, pattern) = match parse_scan_options(args, 3) {
            Ok(o) => o,
            Err(e) => return ctx.error(e),
        };
        let matches = |f: &[u8]| pattern.is_none_or(|p| glob_match(p, f, false));
        let mut found: Vec<(Elem<'_>, Elem<'_>)> = Vec::new();
        let next = match v {
            // A packed hash is returned whole, with cursor 0.
            View::Packed(b) => {
                found.extend(pairs(b).filter(|(f, _)| matches(&text(*f))));
                0
            }
            // As Redis: scan buckets until COUNT elements (fields and values both count)
            // were collected, the scan ends, or 10 × COUNT steps were taken; then filter.
            View::Big(h) => {
                let mut max_steps = count.saturating_mul(10);
                let mut visited: Vec<(&[u8], &[u8])> = Vec::new();
                let mut c = cursor;
                loop {
                    c = h.scan(c, |f, val| visited.push((f, val)));
                    if c == 0 || max_steps == 0 || visited.len().saturating_mul(2) >= count {
                        break;
                    }
                    max_steps -= 1;
                }
                found.extend(
                    visited
                        .into_iter()
                        .filter(|(f, _)| matches(f))
                        .map(|(f, val)| (Elem::Bytes(f), Elem::Bytes(val))),
                );
                c
            }
        };
        ctx.out.array(2);
        ctx.out.bulk(next.to_string().as_bytes());
        ctx.out.array(found.len() * 2);
        for (f, val) in found {
            write_elem(ctx.out, f);
            write_elem(ctx.out, val);
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIM: Limits = Limits { entries: 4, value: 8 };

    fn contents(w: &Writer) -> Vec<(Vec<u8>, Vec<u8>)> {
        let mut v = Vec::new();
        match w {
            Writer::Packed { buf, .. } => View::Packed(buf).for_each(|f, x| v.push((f.to_vec(), x.to_vec()))),
            Writer::Converted(h) => View::Big(h).for_each(|f, x| v.push((f.to_vec(), x.to_vec()))),
            Writer::Big(h) => View::Big(h).for_each(|f, x| v.push((f.to_vec(), x.to_vec()))),
        }
        v
    }

    #[test]
    fn packed_set_update_remove_keep_insertion_order() {
        let mut w = Writer::Packed { buf: Vec::new(), len: 0 };
        assert!(w.set(LIM, b"a", b"1"));
        assert!(w.set(LIM, b"b", b"two"));
        assert!(w.set(LIM, b"12", b"-5"));
        assert!(!w.set(LIM, b"a", b"longer"));
        assert!(!w.set(LIM, b"12", b"007"));
        assert_eq!(
            contents(&w),
            vec![
                (b"a".to_vec(), b"longer".to_vec()),
                (b"b".to_vec(), b"two".to_vec()),
                (b"12".to_vec(), b"007".to_vec()),
            ]
        );
        assert!(w.remove(b"b"));
        assert!(!w.remove(b"b"));
        assert!(!w.remove(b"012"), "integers compare by text");
        assert_eq!(w.len(), 2);
        assert!(w.is_packed());
        let Writer::Packed { buf, .. } = &w else { unreachable!() };
        let v = View::Packed(buf);
        assert_eq!(v.get(b"12"), Some(Elem::Bytes(b"007")));
        assert_eq!(v.get(b"a").map(text_len), Some(6));
        assert_eq!(v.len(), 2);
    }

    #[test]
    fn converts_on_entries_and_on_long_values() {
        let mut w = Writer::Packed { buf: Vec::new(), len: 0 };
        for i in 0..4 {
            w.set(LIM, format!("f{i}").as_bytes(), b"v");
        }
        assert!(w.is_packed());
        w.set(LIM, b"f4", b"v");
        assert!(matches!(w, Writer::Converted(_)));
        assert_eq!(contents(&w).len(), 5);

        let mut w = Writer::Packed { buf: Vec::new(), len: 0 };
        w.set(LIM, b"f", b"12345678");
        assert!(w.is_packed());
        w.set(LIM, b"f", b"123456789");
        assert!(!w.is_packed());
        assert_eq!(contents(&w), vec![(b"f".to_vec(), b"123456789".to_vec())]);

        let mut w = Writer::Packed { buf: Vec::new(), len: 0 };
        w.set(LIM, b"1", b"2");
        w.try_conversion(LIM, &[b"x", b"123456789"]);
        assert!(!w.is_packed());
        assert_eq!(contents(&w), vec![(b"1".to_vec(), b"2".to_vec())]);
    }

    #[test]
    fn option_names_stop_at_nul() {
        assert_eq!(c_str(b"withvalues\0junk"), b"withvalues");
        assert_eq!(c_str(b"count"), b"count");
    }
}
