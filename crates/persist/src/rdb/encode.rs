//! Writing RDB data: lengths, strings (integer-encoded and LZF-compressed as Redis writes
//! them), and keys with their values, from Brim's keyspace entries.
//!
//! Brim's small collections are written in the compact types Redis 7.0 writes for its
//! own small collections (listpack hashes and sorted sets, intsets, quicklist nodes as
//! listpacks); big ones in the plain types (a hash as field/value pairs, a set as its
//! members, a sorted set with binary scores), which Redis 7.0 loads into the encoding its
//! own thresholds choose. A small set of strings (Brim's `listpack` set, a Redis 7.2
//! encoding that RDB version 10 cannot express) is written as a plain set.

use brim_engine::list::{Limit, ListRef};
use brim_engine::packed::{self, Elem};
use brim_engine::value::parse_i64_strict;
use brim_engine::{Access, EntryRef, Object, PackedKind, StrRef, ValueRef};

use super::{container, opcodes, types, Error, Result};
use crate::{intset, listpack, lzf};

/// What LRU/LFU information to save with each key (Redis saves IDLE under the LRU
/// policies and FREQ under the LFU ones, nothing otherwise).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccessInfo {
    /// Save nothing.
    None,
    /// Save the idle time in seconds.
    Idle,
    /// Save the LFU counter, decayed with this `lfu-decay-time` (minutes).
    Freq {
        /// `lfu-decay-time`.
        decay_minutes: u32,
    },
}

/// How values are written.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// `rdbcompression`: LZF-compress strings longer than 20 bytes when it saves space.
    pub compress: bool,
    /// `list-max-listpack-size`: the size of the quicklist nodes written.
    pub list_limit: Limit,
    /// Which access data to save.
    pub access: AccessInfo,
}

impl Default for Options {
    fn default() -> Self {
        Options { compress: true, list_limit: Limit::default(), access: AccessInfo::None }
    }
}

/// Append a length in RDB's variable format.
pub fn write_len(buf: &mut Vec<u8>, n: u64) {
    if n < 1 << 6 {
        buf.push(n as u8);
    } else if n < 1 << 14 {
        buf.extend_from_slice(&[0x40 | (n >> 8) as u8, n as u8]);
    } else if n <= u32::MAX as u64 {
        buf.push(0x80);
        buf.extend_from_slice(&(n as u32).to_be_bytes());
    } else {
        buf.push(0x81);
        buf.extend_from_slice(&n.to_be_bytes());
    }
}

/// Append `v` as an integer-encoded string if it fits 32 bits (Redis's rdbEncodeInteger).
fn write_encoded_int(buf: &mut Vec<u8>, v: i64) -> bool {
    if let Ok(x) = i8::try_from(v) {
        buf.extend_from_slice(&[0xC0, x as u8]);
    } else if let Ok(x) = i16::try_from(v) {
        buf.push(0xC1);
        buf.extend_from_slice(&x.to_le_bytes());
    } else if let Ok(x) = i32::try_from(v) {
        buf.push(0xC2);
        buf.extend_from_slice(&x.to_le_bytes());
    } else {
        return false;
    }
    true
}

/// Append a string as Redis's rdbSaveRawString does: integer-encoded when it is the
/// canonical text of a 32-bit integer, LZF-compressed when longer than 20 bytes and that
/// saves at least 4 bytes, else its length and bytes.
pub fn write_string(buf: &mut Vec<u8>, s: &[u8], compress: bool) {
    if s.len() <= 11 {
        if let Some(v) = parse_i64_strict(s) {
            if write_encoded_int(buf, v) {
                return;
            }
        }
    }
    if compress && s.len() > 20 {
        let c = lzf::compress(s);
        if !c.is_empty() && c.len() <= s.len() - 4 {
            buf.push(0xC3);
            write_len(buf, c.len() as u64);
            write_len(buf, s.len() as u64);
            buf.extend_from_slice(&c);
            return;
        }
    }
    write_len(buf, s.len() as u64);
    buf.extend_from_slice(s);
}

/// Append an integer as a string (Redis's rdbSaveLongLongAsStringObject).
pub fn write_int_string(buf: &mut Vec<u8>, v: i64) {
    if !write_encoded_int(buf, v) {
        let s = v.to_string();
        write_len(buf, s.len() as u64);
        buf.extend_from_slice(s.as_bytes());
    }
}

/// Append a packed element as a string.
fn write_elem(buf: &mut Vec<u8>, e: Elem, compress: bool) {
    match e {
        Elem::Bytes(b) => write_string(buf, b, compress),
        Elem::Int(n) => write_int_string(buf, n),
        Elem::Double(d) => write_string(buf, brim_resp::number::format_double(d).as_bytes(), compress),
    }
}

/// Append a binary double (ZSET_2 scores).
pub fn write_binary_double(buf: &mut Vec<u8>, d: f64) {
    buf.extend_from_slice(&d.to_le_bytes());
}

/// The RDB type byte `v` is written with.
pub fn type_of(v: &ValueRef) -> u8 {
    match v {
        ValueRef::Str(_) => types::STRING,
        ValueRef::Packed(PackedKind::List, _) | ValueRef::Obj(Object::List(_)) => types::LIST_QUICKLIST_2,
        ValueRef::Packed(PackedKind::Hash, _) => types::HASH_LISTPACK,
        ValueRef::Obj(Object::Hash(_)) => types::HASH,
        ValueRef::Packed(PackedKind::SetInts, _) => types::SET_INTSET,
        ValueRef::Packed(PackedKind::Set, _) | ValueRef::Obj(Object::Set(_)) => types::SET,
        ValueRef::Packed(PackedKind::ZSet, _) => types::ZSET_LISTPACK,
        ValueRef::Obj(Object::ZSet(_)) => types::ZSET_2,
    }
}

/// Cut a list into quicklist nodes of at most `limit` (counted as listpack bytes): calls
/// `f(element, starts_new_node)` for each element.
fn list_nodes(list: &ListRef, limit: Limit, mut f: impl FnMut(Elem, bool)) {
    let (mut count, mut bytes) = (0usize, listpack::HEADER + 1);
    list.for_each(|e| {
        let size = packed::encoded_len(e) + 2;
        let new = count == 0 || count + 1 > limit.count() || bytes + size > limit.bytes();
        if new {
            count = 0;
            bytes = listpack::HEADER + 1;
        }
        count += 1;
        bytes += size;
        f(e, new);
        true
    });
}

/// A list as RDB_TYPE_LIST_QUICKLIST_2: node count, then each node as a listpack. Nodes are
/// counted in a first pass, so only one node is ever built at a time.
fn write_list(buf: &mut Vec<u8>, list: ListRef, opts: &Options) {
    let limit = opts.list_limit;
    let mut nodes = 0u64;
    list_nodes(&list, limit, |_, new| nodes += new as u64);
    write_len(buf, nodes);
    let mut w = listpack::Writer::new();
    list_nodes(&list, limit, |e, new| {
        if new && !w.is_empty() {
            write_len(buf, container::PACKED);
            write_string(buf, &std::mem::take(&mut w).finish(), opts.compress);
        }
        w.push_elem(e);
    });
    if !w.is_empty() {
        write_len(buf, container::PACKED);
        write_string(buf, &w.finish(), opts.compress);
    }
}

/// Append the body of a value (what follows the type byte and the key).
pub fn write_value(buf: &mut Vec<u8>, v: &ValueRef, opts: &Options) -> Result<()> {
    let compress = opts.compress;
    match *v {
        ValueRef::Str(StrRef::Int(n)) => write_int_string(buf, n),
        ValueRef::Str(StrRef::Bytes(b)) => write_string(buf, b, compress),
        ValueRef::Packed(PackedKind::List, b) => write_list(buf, ListRef::packed(b), opts),
        ValueRef::Obj(Object::List(l)) => write_list(buf, l.as_ref(), opts),
        ValueRef::Packed(PackedKind::Hash, b) | ValueRef::Packed(PackedKind::ZSet, b) => {
            let mut w = listpack::Writer::new();
            for (_, e) in packed::iter(b) {
                w.push_elem(e);
            }
            write_string(buf, &w.finish(), compress);
        }
        ValueRef::Packed(PackedKind::SetInts, b) => {
            let mut ints: Vec<i64> = Vec::with_capacity(b.len() / 2);
            for (_, e) in packed::iter(b) {
                match e {
                    Elem::Int(n) => ints.push(n),
                    _ => return Err(Error("intset holds a non-integer".into())),
                }
            }
            ints.sort_unstable();
            ints.dedup();
            write_string(buf, &intset::encode(&ints), compress);
        }
        ValueRef::Packed(PackedKind::Set, b) => {
            write_len(buf, packed::count(b) as u64);
            for (_, e) in packed::iter(b) {
                write_elem(buf, e, compress);
            }
        }
        ValueRef::Obj(Object::Hash(h)) => {
            write_len(buf, h.len() as u64);
            h.for_each(|f, v| {
                write_string(buf, f, compress);
                write_string(buf, v, compress);
            });
        }
        ValueRef::Obj(Object::Set(s)) => {
            write_len(buf, s.len() as u64);
            s.for_each(|m| write_string(buf, m, compress));
        }
        ValueRef::Obj(Object::ZSet(z)) => return crate::values::write_big_zset(buf, z, compress),
    }
    Ok(())
}

/// Append a whole key: its expire time, access data, type, name and value.
pub fn write_entry(buf: &mut Vec<u8>, e: &EntryRef, acc: &Access, opts: &Options) -> Result<()> {
    if let Some(when) = e.expire_at() {
        buf.push(opcodes::EXPIRETIME_MS);
        buf.extend_from_slice(&when.to_le_bytes());
    }
    match opts.access {
        AccessInfo::None => {}
        AccessInfo::Idle => {
            buf.push(opcodes::IDLE);
            write_len(buf, acc.idle_ms(e.access_data()) / 1000);
        }
        AccessInfo::Freq { decay_minutes } => {
            buf.push(opcodes::FREQ);
            buf.push(acc.lfu_decayed(e.access_data(), decay_minutes));
        }
    }
    let v = e.value();
    buf.push(type_of(&v));
    write_string(buf, e.key(), opts.compress);
    write_value(buf, &v, opts)
}

/// Append an AUX field.
pub fn write_aux(buf: &mut Vec<u8>, key: &str, value: &[u8]) {
    buf.push(opcodes::AUX);
    write_string(buf, key.as_bytes(), false);
    write_string(buf, value, false);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_and_strings_as_redis_writes_them() {
        let mut b = Vec::new();
        write_len(&mut b, 10);
        write_len(&mut b, 700);
        write_len(&mut b, 70_000);
        write_len(&mut b, 1 << 40);
        assert_eq!(b, [10, 0x42, 0xBC, 0x80, 0, 1, 0x11, 0x70, 0x81, 0, 0, 1, 0, 0, 0, 0, 0]);
        let mut b = Vec::new();
        write_string(&mut b, b"12", true);
        write_string(&mut b, b"-300", true);
        write_string(&mut b, b"100000", true);
        write_string(&mut b, b"012", true);
        write_string(&mut b, b"12345678901", true);
        assert_eq!(
            b,
            [
                0xC0, 12, 0xC1, 0xD4, 0xFE, 0xC2, 0xA0, 0x86, 1, 0, 3, b'0', b'1', b'2', 11, b'1', b'2',
                b'3', b'4', b'5', b'6', b'7', b'8', b'9', b'0', b'1'
            ]
        );
        let mut b = Vec::new();
        write_string(&mut b, &[b'a'; 100], true);
        assert_eq!(b[0], 0xC3);
        let mut b = Vec::new();
        write_string(&mut b, &[b'a'; 100], false);
        assert_eq!(b[..2], [0x40, 100]);
    }
}
