//! Views of values as commands see them, and the rules for choosing a string's encoding.

use crate::object::Object;

/// Longest string Redis stores as `embstr`.
pub const EMBSTR_MAX: usize = 44;

/// The type of a value, as TYPE names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueType {
    /// `string`
    String,
    /// `list`
    List,
    /// `set`
    Set,
    /// `zset`
    ZSet,
    /// `hash`
    Hash,
    /// `stream`
    Stream,
}

impl ValueType {
    /// The name TYPE replies with.
    pub fn name(self) -> &'static str {
        match self {
            ValueType::String => "string",
            ValueType::List => "list",
            ValueType::Set => "set",
            ValueType::ZSet => "zset",
            ValueType::Hash => "hash",
            ValueType::Stream => "stream",
        }
    }

    /// Parse a type name as SCAN's TYPE option takes it (case-insensitive).
    pub fn from_name(name: &[u8]) -> Option<ValueType> {
        [
            ValueType::String,
            ValueType::List,
            ValueType::Set,
            ValueType::ZSet,
            ValueType::Hash,
            ValueType::Stream,
        ]
        .into_iter()
        .find(|t| t.name().as_bytes().eq_ignore_ascii_case(name))
    }
}

/// The compact encodings a small collection is stored in, inline in its keyspace entry (see
/// `crate::packed`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum PackedKind {
    /// A list's items (OBJECT ENCODING `listpack`).
    List = 1,
    /// A hash's field, value, field, value, ... (`listpack`).
    Hash = 2,
    /// A set of integers only (`intset`).
    SetInts = 3,
    /// A set of strings (`listpack`).
    Set = 4,
    /// A sorted set's member, score, member, score, ... ordered by score then member
    /// (`listpack`).
    ZSet = 5,
}

impl PackedKind {
    /// The type of value it encodes.
    pub fn value_type(self) -> ValueType {
        match self {
            PackedKind::List => ValueType::List,
            PackedKind::Hash => ValueType::Hash,
            PackedKind::SetInts | PackedKind::Set => ValueType::Set,
            PackedKind::ZSet => ValueType::ZSet,
        }
    }

    /// The name OBJECT ENCODING reports (Redis 7.0 calls every list a quicklist, even one
    /// node long).
    pub fn encoding(self) -> &'static str {
        match self {
            PackedKind::SetInts => "intset",
            PackedKind::List => "quicklist",
            _ => "listpack",
        }
    }

    pub(crate) fn from_u8(b: u8) -> PackedKind {
        match b {
            1 => PackedKind::List,
            2 => PackedKind::Hash,
            3 => PackedKind::SetInts,
            4 => PackedKind::Set,
            _ => PackedKind::ZSet,
        }
    }
}

/// A string value, borrowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StrRef<'a> {
    /// Stored as an integer (`int` encoding).
    Int(i64),
    /// Stored as bytes.
    Bytes(&'a [u8]),
}

impl StrRef<'_> {
    /// Length of the string's text.
    pub fn len(&self) -> usize {
        match self {
            StrRef::Int(n) => int_len(*n),
            StrRef::Bytes(b) => b.len(),
        }
    }

    /// Whether the string is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The string's text, owned.
    pub fn to_vec(&self) -> Vec<u8> {
        match self {
            StrRef::Int(n) => n.to_string().into_bytes(),
            StrRef::Bytes(b) => b.to_vec(),
        }
    }
}

/// Number of characters in the decimal text of `n`.
pub fn int_len(n: i64) -> usize {
    let mut len = if n < 0 { 2 } else { 1 };
    let mut v = n.unsigned_abs() / 10;
    while v > 0 {
        len += 1;
        v /= 10;
    }
    len
}

/// A value, borrowed.
#[derive(Debug, Clone, Copy)]
pub enum ValueRef<'a> {
    /// A string.
    Str(StrRef<'a>),
    /// A small collection in packed form (see `crate::packed`).
    Packed(PackedKind, &'a [u8]),
    /// A collection in its big encoding.
    Obj(&'a Object),
}

impl ValueRef<'_> {
    /// The value's type.
    pub fn value_type(&self) -> ValueType {
        match self {
            ValueRef::Str(_) => ValueType::String,
            ValueRef::Packed(k, _) => k.value_type(),
            ValueRef::Obj(o) => o.value_type(),
        }
    }
}

/// A value to store.
#[derive(Debug)]
pub enum NewValue<'a> {
    /// A string from a client, encoded as Redis's tryObjectEncoding would: `int` when it is
    /// the canonical text of a 64-bit integer (at most 20 characters), else `embstr` up to 44
    /// bytes, else `raw`.
    Str(&'a [u8]),
    /// A string never turned into an integer (`embstr` up to 44 bytes, else `raw`), as
    /// Redis's createStringObject.
    Plain(&'a [u8]),
    /// An integer-encoded string.
    Int(i64),
    /// A string kept in its own growable buffer (`raw`), as APPEND and SETRANGE leave it.
    Raw(Vec<u8>),
    /// A small collection in packed form, stored inline in the entry.
    Packed(PackedKind, &'a [u8]),
    /// A collection in its big encoding.
    Obj(Box<Object>),
}

/// Parse `s` as Redis's string2ll does: the canonical decimal text of an i64 (no leading
/// zeros, no `+`, no spaces, `-0` refused).
pub fn parse_i64_strict(s: &[u8]) -> Option<i64> {
    if s.is_empty() || s.len() > 20 {
        return None;
    }
    if s == b"0" {
        return Some(0);
    }
    let (neg, digits) = match s[0] {
        b'-' => (true, &s[1..]),
        _ => (false, s),
    };
    if digits.is_empty() || digits[0] == b'0' {
        return None;
    }
    let mut v: u64 = 0;
    for &c in digits {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add((c - b'0') as u64)?;
    }
    if neg {
        if v > i64::MAX as u64 + 1 {
            None
        } else {
            Some((v as i64).wrapping_neg())
        }
    } else {
        i64::try_from(v).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strict_integers() {
        assert_eq!(parse_i64_strict(b"123"), Some(123));
        assert_eq!(parse_i64_strict(b"-9223372036854775808"), Some(i64::MIN));
        assert_eq!(parse_i64_strict(b"9223372036854775808"), None);
        for bad in [&b"01"[..], b"-0", b"+1", b" 1", b"1 ", b"", b"-", b"1a"] {
            assert_eq!(parse_i64_strict(bad), None, "{:?}", bad);
        }
        assert_eq!(int_len(-100), 4);
        assert_eq!(int_len(0), 1);
        assert_eq!(int_len(i64::MIN), 20);
    }
}
