//! The bitmap family: SETBIT, GETBIT, BITCOUNT, BITPOS, BITOP, BITFIELD, BITFIELD_RO, with
//! Redis 7.0.15's semantics, replies and error texts.
//!
//! Bitmaps are plain strings (an `int` string reads as its decimal text). Reads borrow the
//! stored bytes; writes compute what changes first and touch the value only when something
//! does (a SETBIT or BITFIELD that changes nothing leaves the key, its watchers and the
//! change counter alone, as in Redis 7.0), then write through [`strbuf`], which leaves the
//! string `raw` like Redis and stores it compactly. Each command runs under its key's stripe
//! lock (BITOP under all its keys' stripes), so it is atomic.

pub mod bits;
pub mod strbuf;

use brim_engine::Db;

use crate::args::{c_str, is, parse_i64, NOT_INTEGER, SYNTAX, WRONGTYPE};
use crate::ctx::Ctx;
use crate::notify::{class, keyspace_event};
use crate::table::{cmd, Registration};

use bits::{Overflow, View};
use strbuf::{text, ALLOC_FAILED};

/// The bitmap family.
pub const COMMANDS: &[Registration] = &[
    cmd("setbit", setbit),
    cmd("getbit", getbit),
    cmd("bitcount", bitcount),
    cmd("bitpos", bitpos),
    cmd("bitop", bitop),
    cmd("bitfield", bitfield),
    cmd("bitfield_ro", bitfield_ro),
];

const BIT_OFFSET_ERR: &str = "ERR bit offset is not an integer or out of range";
const BIT_VALUE_ERR: &str = "ERR bit is not an integer or out of range";
const BITFIELD_TYPE_ERR: &str =
    "ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is.";

/// The client's database, borrowed from the shared state so a stripe can stay locked while
/// replies are written through `ctx`.
fn db_of<'a>(ctx: &Ctx<'a>) -> &'a Db {
    ctx.shared.keyspace.db(ctx.client.db)
}

/// Redis's getBitOffsetFromArgument: a bit offset, or with `hash` and `bits > 0` a
/// `#<n>` offset counted in fields of `bits` bits. Must address a byte below
/// proto-max-bulk-len. Writes the error and returns `None` otherwise.
fn bit_offset(ctx: &mut Ctx, arg: &[u8], hash: bool, bits: u32) -> Option<u64> {
    let usehash = hash && bits > 0 && arg.first() == Some(&b'#');
    let digits = if usehash { arg.get(1..).unwrap_or_default() } else { arg };
    let Some(mut v) = parse_i64(digits) else {
        ctx.error(BIT_OFFSET_ERR);
        return None;
    };
    if usehash {
        v = v.wrapping_mul(bits as i64);
    }
    if v < 0 || ((v >> 3) as u64) >= ctx.shared.config.proto_max_bulk_len() {
        ctx.error(BIT_OFFSET_ERR);
        return None;
    }
    Some(v as u64)
}

// ---------------------------------------------------------------------------------------
// SETBIT, GETBIT.
// ---------------------------------------------------------------------------------------

fn setbit(ctx: &mut Ctx, args: &[&[u8]]) {
    let key = args[1];
    let Some(offset) = bit_offset(ctx, args[2], false, 0) else {
        return;
    };
    let on = match parse_i64(args[3]) {
        Some(v) if v & !1 == 0 => v as u8,
        _ => {
            ctx.error(BIT_VALUE_ERR);
            return;
        }
    };
    let byte = (offset >> 3) as usize;
    let shift = 7 - (offset & 7) as u32;
    let acc = ctx.acc;
    let mut s = db_of(ctx).lock(key);
    let (old, changed) = match s.get_mut(key, &acc) {
        None => {
            let Some(v) = strbuf::build(byte + 1, &[(byte, on << shift)]) else {
                ctx.error(ALLOC_FAILED);
                return;
            };
            strbuf::create(&mut s, key, v, &acc);
            (0, true)
        }
        Some(mut e) => {
            if e.as_ref().str().is_none() {
                ctx.error(WRONGTYPE);
                return;
            }
            strbuf::unshare(&mut e);
            let (len, cur) = match e.as_ref().str() {
                Some(v) => (v.len(), text(v).get(byte).copied().unwrap_or(0)),
                None => (0, 0),
            };
            let old = (cur >> shift) & 1;
            let grow = byte >= len;
            if grow || old != on {
                let new = (cur & !(1 << shift)) | (on << shift);
                if !strbuf::patch(&mut e, byte + 1, &[(byte, new)]) {
                    ctx.error(ALLOC_FAILED);
                    return;
                }
                (old, true)
            } else {
                (old, false)
            }
        }
    };
    drop(s);
    if changed {
        keyspace_event(ctx, class::STRING, "setbit", key);
    }
    ctx.out.int(old as i64);
}

fn getbit(ctx: &mut Ctx, args: &[&[u8]]) {
    let key = args[1];
    let Some(offset) = bit_offset(ctx, args[2], false, 0) else {
        return;
    };
    let acc = ctx.acc;
    let mut s = db_of(ctx).lock(key);
    let Some(e) = s.get(key, &acc) else {
        ctx.hit_or_miss(key, false);
        ctx.out.int(0);
        return;
    };
    ctx.hit_or_miss(key, true);
    let Some(v) = e.str() else {
        ctx.error(WRONGTYPE);
        return;
    };
    let byte = text(v).get((offset >> 3) as usize).copied().unwrap_or(0);
    ctx.out.int(((byte >> (7 - (offset & 7))) & 1) as i64);
}

// ---------------------------------------------------------------------------------------
// BITCOUNT, BITPOS.
// ---------------------------------------------------------------------------------------

/// `BIT` (true) or `BYTE` (false), or `None` for anything else.
fn bit_or_byte(arg: &[u8]) -> Option<bool> {
    let a = c_str(arg);
    if is(a, "bit") {
        Some(true)
    } else if is(a, "byte") {
        Some(false)
    } else {
        None
    }
}

fn bitcount(ctx: &mut Ctx, args: &[&[u8]]) {
    let key = args[1];
    let acc = ctx.acc;
    let mut s = db_of(ctx).lock(key);
    // Redis 7.0 looks the key up before parsing the range: a missing key is 0 whatever
    // the arguments.
    let Some(e) = s.get(key, &acc) else {
        ctx.hit_or_miss(key, false);
        ctx.out.int(0);
        return;
    };
    ctx.hit_or_miss(key, true);
    let Some(v) = e.str() else {
        ctx.error(WRONGTYPE);
        return;
    };
    let p = text(v);
    let range = match args.len() {
        4 | 5 => {
            let (Some(start), Some(end)) = (parse_i64(args[2]), parse_i64(args[3])) else {
                ctx.error(NOT_INTEGER);
                return;
            };
            if start < 0 && end < 0 && start > end {
                ctx.out.int(0);
                return;
            }
            let bit_mode = match args.get(4) {
                None => false,
                Some(a) => match bit_or_byte(a) {
                    Some(b) => b,
                    None => {
                        ctx.error(SYNTAX);
                        return;
                    }
                },
            };
            bits::normalize(start, end, p.len(), bit_mode)
        }
        2 => bits::Range { start: 0, end: p.len() as i64 - 1, first_mask: 0, last_mask: 0 },
        _ => {
            ctx.error(SYNTAX);
            return;
        }
    };
    ctx.out.int(bits::count_range(&p, range));
}

fn bitpos(ctx: &mut Ctx, args: &[&[u8]]) {
    let key = args[1];
    let bit = match parse_i64(args[2]) {
        Some(b @ (0 | 1)) => b == 1,
        Some(_) => {
            ctx.error("ERR The bit argument must be 1 or 0.");
            return;
        }
        None => {
            ctx.error(NOT_INTEGER);
            return;
        }
    };
    let acc = ctx.acc;
    let mut s = db_of(ctx).lock(key);
    // A missing key is an infinite run of zeros.
    let Some(e) = s.get(key, &acc) else {
        ctx.hit_or_miss(key, false);
        ctx.out.int(if bit { -1 } else { 0 });
        return;
    };
    ctx.hit_or_miss(key, true);
    let Some(v) = e.str() else {
        ctx.error(WRONGTYPE);
        return;
    };
    let p = text(v);
    let mut end_given = false;
    let range = match args.len() {
        4..=6 => {
            let Some(start) = parse_i64(args[3]) else {
                ctx.error(NOT_INTEGER);
                return;
            };
            let bit_mode = match args.get(5) {
                None => false,
                Some(a) => match bit_or_byte(a) {
                    Some(b) => b,
                    None => {
                        ctx.error(SYNTAX);
                        return;
                    }
                },
            };
            let end = match args.get(4) {
                Some(a) => match parse_i64(a) {
                    Some(e) => {
                        end_given = true;
                        e
                    }
                    None => {
                        ctx.error(NOT_INTEGER);
                        return;
                    }
                },
                None => p.len() as i64 - 1,
            };
            bits::normalize(start, end, p.len(), bit_mode)
        }
        3 => bits::Range { start: 0, end: p.len() as i64 - 1, first_mask: 0, last_mask: 0 },
        _ => {
            ctx.error(SYNTAX);
            return;
        }
    };
    ctx.out.int(bits::bitpos_range(&p, range, bit, end_given));
}

// ---------------------------------------------------------------------------------------
// BITOP.
// ---------------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BitOp {
    And,
    Or,
    Xor,
    Not,
}

fn bitop(ctx: &mut Ctx, args: &[&[u8]]) {
    let name = c_str(args[1]);
    let op = if is(name, "and") {
        BitOp::And
    } else if is(name, "or") {
        BitOp::Or
    } else if is(name, "xor") {
        BitOp::Xor
    } else if is(name, "not") {
        BitOp::Not
    } else {
        ctx.error(SYNTAX);
        return;
    };
    if op == BitOp::Not && args.len() != 4 {
        ctx.error("ERR BITOP NOT must be called with a single source key.");
        return;
    }
    let dest = args[2];
    let sources = args.get(3..).unwrap_or_default();
    let acc = ctx.acc;
    let mut locked = db_of(ctx).lock_keys(args[2..].iter().copied());

    // First pass: types and lengths (and the keyspace hit/miss of each source, once).
    let mut maxlen = 0usize;
    for &src in sources {
        match locked.stripe(src).get(src, &acc) {
            None => ctx.hit_or_miss(src, false),
            Some(e) => {
                ctx.hit_or_miss(src, true);
                match e.str() {
                    Some(v) => maxlen = maxlen.max(v.len()),
                    None => {
                        drop(locked);
                        ctx.error(WRONGTYPE);
                        return;
                    }
                }
            }
        }
    }

    // Second pass: fold every source into the result, zero padded to `maxlen`.
    let mut res = Vec::new();
    if maxlen > 0 {
        let Some(v) = strbuf::zeroed(maxlen) else {
            drop(locked);
            ctx.error(ALLOC_FAILED);
            return;
        };
        res = v;
        let quiet = acc.no_touch();
        for (j, &src) in sources.iter().enumerate() {
            let stripe = locked.stripe(src);
            let bytes = match stripe.get(src, &quiet).and_then(|e| e.str()) {
                Some(v) => text(v),
                None => std::borrow::Cow::Borrowed(&[][..]),
            };
            fold(&mut res, &bytes, op, j == 0);
        }
    }

    let stripe = locked.stripe(dest);
    let event = if maxlen > 0 {
        strbuf::create(stripe, dest, res, &acc);
        Some((class::STRING, "set"))
    } else if stripe.remove(dest, &acc) {
        Some((class::GENERIC, "del"))
    } else {
        None
    };
    drop(locked);
    if let Some((c, name)) = event {
        keyspace_event(ctx, c, name, dest);
    }
    ctx.out.int(maxlen as i64);
}

/// Combine one source (`first`: the first one) into `res`; bytes past its end count as 0.
fn fold(res: &mut [u8], src: &[u8], op: BitOp, first: bool) {
    let padded = src.iter().copied().chain(std::iter::repeat(0));
    for (r, b) in res.iter_mut().zip(padded) {
        *r = match op {
            BitOp::Not => !b,
            _ if first => b,
            BitOp::And => *r & b,
            BitOp::Or => *r | b,
            BitOp::Xor => *r ^ b,
        };
    }
}

// ---------------------------------------------------------------------------------------
// BITFIELD, BITFIELD_RO.
// ---------------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FieldOp {
    Get,
    Set(i64),
    IncrBy(i64),
}

#[derive(Debug, Clone, Copy)]
struct Field {
    op: FieldOp,
    offset: u64,
    bits: u32,
    signed: bool,
    overflow: Overflow,
}

/// Redis's getBitfieldTypeFromArgument: `i1`..`i64` or `u1`..`u63`.
fn field_type(arg: &[u8]) -> Option<(bool, u32)> {
    let a = c_str(arg);
    let signed = match a.first() {
        Some(b'i') => true,
        Some(b'u') => false,
        _ => return None,
    };
    let bits = parse_i64(a.get(1..).unwrap_or_default())?;
    let max = if signed { 64 } else { 63 };
    if (1..=max).contains(&bits) {
        Some((signed, bits as u32))
    } else {
        None
    }
}

/// Parse BITFIELD's operations; writes the error and returns `None` on a bad one.
fn parse_fields(ctx: &mut Ctx, args: &[&[u8]]) -> Option<Vec<Field>> {
    let mut fields = Vec::new();
    let mut overflow = Overflow::Wrap;
    let mut j = 2;
    while j < args.len() {
        let remargs = args.len() - j - 1;
        let sub = c_str(args[j]);
        let kind = if is(sub, "get") && remargs >= 2 {
            0
        } else if is(sub, "set") && remargs >= 3 {
            1
        } else if is(sub, "incrby") && remargs >= 3 {
            2
        } else if is(sub, "overflow") && remargs >= 1 {
            let name = c_str(args[j + 1]);
            overflow = if is(name, "wrap") {
                Overflow::Wrap
            } else if is(name, "sat") {
                Overflow::Sat
            } else if is(name, "fail") {
                Overflow::Fail
            } else {
                ctx.error("ERR Invalid OVERFLOW type specified");
                return None;
            };
            j += 2;
            continue;
        } else {
            ctx.error(SYNTAX);
            return None;
        };
        let Some((signed, bits)) = field_type(args[j + 1]) else {
            ctx.error(BITFIELD_TYPE_ERR);
            return None;
        };
        let offset = bit_offset(ctx, args[j + 2], true, bits)?;
        let op = if kind == 0 {
            FieldOp::Get
        } else {
            let Some(v) = parse_i64(args[j + 3]) else {
                ctx.error(NOT_INTEGER);
                return None;
            };
            if kind == 1 {
                FieldOp::Set(v)
            } else {
                FieldOp::IncrBy(v)
            }
        };
        fields.push(Field { op, offset, bits, signed, overflow });
        j += if kind == 0 { 3 } else { 4 };
    }
    Some(fields)
}

/// Run one write operation on `view`: the reply (`None`: null, the FAIL overflow) and
/// whether the field's value changed.
fn run_write(view: &mut View, f: &Field) -> (Option<i64>, bool) {
    if f.signed {
        let old = view.get_signed(f.offset, f.bits);
        let (overflow, new, ret) = match f.op {
            FieldOp::IncrBy(incr) => {
                let (o, wrapped) = bits::signed_overflow(old, incr, f.bits, f.overflow);
                let new = if o != 0 { wrapped } else { old.wrapping_add(incr) };
                (o, new, new)
            }
            FieldOp::Set(v) => {
                let (o, wrapped) = bits::signed_overflow(v, 0, f.bits, f.overflow);
                (o, if o != 0 { wrapped } else { v }, old)
            }
            FieldOp::Get => (0, old, old),
        };
        if overflow != 0 && f.overflow == Overflow::Fail {
            return (None, false);
        }
        view.set_unsigned(f.offset, f.bits, new as u64);
        (Some(ret), old != new)
    } else {
        let old = view.get_unsigned(f.offset, f.bits);
        let (overflow, new, ret) = match f.op {
            FieldOp::IncrBy(incr) => {
                let (o, wrapped) = bits::unsigned_overflow(old, incr, f.bits, f.overflow);
                let new = if o != 0 { wrapped } else { old.wrapping_add(incr as u64) };
                (o, new, new)
            }
            FieldOp::Set(v) => {
                let (o, wrapped) = bits::unsigned_overflow(v as u64, 0, f.bits, f.overflow);
                (o, if o != 0 { wrapped } else { v as u64 }, old)
            }
            FieldOp::Get => (0, old, old),
        };
        if overflow != 0 && f.overflow == Overflow::Fail {
            return (None, false);
        }
        view.set_unsigned(f.offset, f.bits, new);
        (Some(ret as i64), old != new)
    }
}

/// A GET operation's value.
fn run_get(view: &View, f: &Field) -> i64 {
    if f.signed {
        view.get_signed(f.offset, f.bits)
    } else {
        view.get_unsigned(f.offset, f.bits) as i64
    }
}

/// Run every operation on `view`, writing the replies; returns the number of operations
/// that changed something (each counts when the string grew, as in Redis).
fn run_fields(ctx: &mut Ctx, view: &mut View, fields: &[Field], grew: bool) -> usize {
    let mut changes = 0;
    ctx.out.array(fields.len());
    for f in fields {
        if f.op == FieldOp::Get {
            let v = run_get(view, f);
            ctx.out.int(v);
            continue;
        }
        match run_write(view, f) {
            (Some(v), changed) => {
                ctx.out.int(v);
                if grew || changed {
                    changes += 1;
                }
            }
            (None, _) => ctx.out.null(),
        }
    }
    changes
}

fn bitfield(ctx: &mut Ctx, args: &[&[u8]]) {
    bitfield_generic(ctx, args, false);
}

fn bitfield_ro(ctx: &mut Ctx, args: &[&[u8]]) {
    bitfield_generic(ctx, args, true);
}

fn bitfield_generic(ctx: &mut Ctx, args: &[&[u8]], ro: bool) {
    let key = args[1];
    let Some(fields) = parse_fields(ctx, args) else {
        return;
    };
    let writes = fields.iter().filter(|f| f.op != FieldOp::Get);
    let highest = writes.map(|f| f.offset + f.bits as u64 - 1).max();
    let acc = ctx.acc;

    let Some(highest) = highest else {
        // Only GETs: a read (a missing key reads as zeros).
        let mut s = db_of(ctx).lock(key);
        let found = s.get(key, &acc);
        ctx.hit_or_miss(key, found.is_some());
        let base = match found.map(|e| e.str()) {
            Some(Some(v)) => text(v),
            Some(None) => {
                ctx.error(WRONGTYPE);
                return;
            }
            None => std::borrow::Cow::Borrowed(&[][..]),
        };
        let mut view = View::new(&base, base.len());
        run_fields(ctx, &mut view, &fields, false);
        return;
    };
    if ro {
        ctx.error("ERR BITFIELD_RO only supports the GET subcommand");
        return;
    }

    let need = (highest >> 3) as usize + 1;
    let mut s = db_of(ctx).lock(key);
    let changes = match s.get_mut(key, &acc) {
        None => {
            // Allocate before replying: nothing can fail once the replies are out.
            let Some(mut v) = strbuf::zeroed(need) else {
                ctx.error(ALLOC_FAILED);
                return;
            };
            let (changes, patches) = {
                let mut view = View::new(&v, need);
                let changes = run_fields(ctx, &mut view, &fields, true);
                (changes, view.changed_bytes())
            };
            for (i, b) in patches {
                if let Some(slot) = v.get_mut(i) {
                    *slot = b;
                }
            }
            strbuf::create(&mut s, key, v, &acc);
            changes
        }
        Some(mut e) => {
            if e.as_ref().str().is_none() {
                ctx.error(WRONGTYPE);
                return;
            }
            strbuf::unshare(&mut e);
            // The string grows first (even if every operation then fails, as in Redis).
            let cur_len = e.as_ref().str().map_or(0, |v| v.len());
            let grew = need > cur_len;
            if grew && !strbuf::patch(&mut e, need, &[]) {
                ctx.error(ALLOC_FAILED);
                return;
            }
            let (changes, patches) = {
                let base = match e.as_ref().str() {
                    Some(v) => text(v),
                    None => std::borrow::Cow::Borrowed(&[][..]),
                };
                let mut view = View::new(&base, base.len());
                let changes = run_fields(ctx, &mut view, &fields, grew);
                (changes, view.changed_bytes())
            };
            if !patches.is_empty() {
                strbuf::patch(&mut e, 0, &patches);
            }
            changes
        }
    };
    drop(s);
    if changes > 0 {
        keyspace_event(ctx, class::STRING, "setbit", key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bitfield_types() {
        assert_eq!(field_type(b"i64"), Some((true, 64)));
        assert_eq!(field_type(b"u63"), Some((false, 63)));
        assert_eq!(field_type(b"u64"), None);
        assert_eq!(field_type(b"i0"), None);
        assert_eq!(field_type(b"I8"), None);
        assert_eq!(field_type(b"i8\0x"), Some((true, 8)));
        assert_eq!(field_type(b"i"), None);
        assert_eq!(field_type(b""), None);
        assert_eq!(field_type(b"i+8"), None);
    }

    #[test]
    fn bitop_folds() {
        let mut r = vec![0u8; 3];
        fold(&mut r, &[0xf0, 0x0f], BitOp::And, true);
        fold(&mut r, &[0xff, 0xff, 0xff], BitOp::And, false);
        assert_eq!(r, vec![0xf0, 0x0f, 0]);
        let mut r = vec![0u8; 2];
        fold(&mut r, &[0x01], BitOp::Not, true);
        assert_eq!(r, vec![0xfe, 0xff]);
        let mut r = vec![0u8; 2];
        fold(&mut r, &[0x01], BitOp::Xor, true);
        fold(&mut r, &[0x03, 0x80], BitOp::Xor, false);
        assert_eq!(r, vec![0x02, 0x80]);
    }
}
