//! Brim's packed element format, the compact encoding of small collections (what Redis
//! calls listpack, and intset for small integer sets). A packed collection is a flat byte
//! string of elements, each a header byte followed by its data:
//!
//! ```text
//! 0x00..=0xEF  a string of that many bytes (0..239), the bytes follow
//! 0xF0         a string, u16 length (little endian) follows, then the bytes
//! 0xF1         a string, u32 length follows, then the bytes
//! 0xF2         an integer, i8
//! 0xF3         an integer, i16
//! 0xF4         an integer, i32
//! 0xF5         an integer, i64
//! 0xF6         a double, f64 (for sorted-set scores that are not integers)
//! 0xF7         an integer, i24 (three bytes, little endian)
//! ```
//! A string that is the canonical text of an i64 is stored as an integer, so `"7"` costs
//! two bytes. There is no back-length as in Redis's listpack: collections small enough to be
//! packed are walked forward. Packed bytes live inline in the keyspace entry (no separate
//! allocation, no object header), which is where small collections win memory over Redis.

use crate::value::parse_i64_strict;

/// One element of a packed collection.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Elem<'a> {
    /// A string.
    Bytes(&'a [u8]),
    /// A string that is the canonical text of this integer.
    Int(i64),
    /// A double (sorted-set scores).
    Double(f64),
}

impl Elem<'_> {
    /// The element's text (integers in decimal; doubles as Redis prints them).
    pub fn to_vec(&self) -> Vec<u8> {
        match self {
            Elem::Bytes(b) => b.to_vec(),
            Elem::Int(n) => n.to_string().into_bytes(),
            Elem::Double(d) => brim_resp::number::format_double(*d).into_bytes(),
        }
    }

    /// Whether the element's text equals `s`.
    pub fn eq_bytes(&self, s: &[u8]) -> bool {
        match self {
            Elem::Bytes(b) => *b == s,
            Elem::Int(n) => parse_i64_strict(s) == Some(*n),
            Elem::Double(_) => self.to_vec() == s,
        }
    }

    /// The element as a number, if it is one (integers and doubles).
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Elem::Int(n) => Some(*n as f64),
            Elem::Double(d) => Some(*d),
            Elem::Bytes(_) => None,
        }
    }
}

const STR16: u8 = 0xF0;
const STR32: u8 = 0xF1;
const INT8: u8 = 0xF2;
const INT16: u8 = 0xF3;
const INT32: u8 = 0xF4;
const INT64: u8 = 0xF5;
const DOUBLE: u8 = 0xF6;
const INT24: u8 = 0xF7;
const I24_MIN: i64 = -(1 << 23);
const I24_MAX: i64 = (1 << 23) - 1;
const SHORT_MAX: usize = 0xEF;

/// Bytes `e` takes when packed.
pub fn encoded_len(e: Elem) -> usize {
    match e {
        Elem::Bytes(b) if b.len() <= SHORT_MAX => 1 + b.len(),
        Elem::Bytes(b) if b.len() <= u16::MAX as usize => 3 + b.len(),
        Elem::Bytes(b) => 5 + b.len(),
        Elem::Int(n) if i8::try_from(n).is_ok() => 2,
        Elem::Int(n) if i16::try_from(n).is_ok() => 3,
        Elem::Int(n) if (I24_MIN..=I24_MAX).contains(&n) => 4,
        Elem::Int(n) if i32::try_from(n).is_ok() => 5,
        Elem::Int(_) => 9,
        Elem::Double(_) => 9,
    }
}

/// The element a client's string becomes: an integer when it is the canonical text of one.
pub fn elem_of(s: &[u8]) -> Elem<'_> {
    match parse_i64_strict(s) {
        Some(n) => Elem::Int(n),
        None => Elem::Bytes(s),
    }
}

/// Append `e` to `buf`.
pub fn push(buf: &mut Vec<u8>, e: Elem) {
    match e {
        Elem::Bytes(b) if b.len() <= SHORT_MAX => {
            buf.push(b.len() as u8);
            buf.extend_from_slice(b);
        }
        Elem::Bytes(b) if b.len() <= u16::MAX as usize => {
            buf.push(STR16);
            buf.extend_from_slice(&(b.len() as u16).to_le_bytes());
            buf.extend_from_slice(b);
        }
        Elem::Bytes(b) => {
            buf.push(STR32);
            buf.extend_from_slice(&(b.len() as u32).to_le_bytes());
            buf.extend_from_slice(b);
        }
        Elem::Int(n) => {
            if let Ok(v) = i8::try_from(n) {
                buf.push(INT8);
                buf.extend_from_slice(&v.to_le_bytes());
            } else if let Ok(v) = i16::try_from(n) {
                buf.push(INT16);
                buf.extend_from_slice(&v.to_le_bytes());
            } else if (I24_MIN..=I24_MAX).contains(&n) {
                buf.push(INT24);
                buf.extend_from_slice(&(n as i32).to_le_bytes()[..3]);
            } else if let Ok(v) = i32::try_from(n) {
                buf.push(INT32);
                buf.extend_from_slice(&v.to_le_bytes());
            } else {
                buf.push(INT64);
                buf.extend_from_slice(&n.to_le_bytes());
            }
        }
        Elem::Double(d) => {
            buf.push(DOUBLE);
            buf.extend_from_slice(&d.to_le_bytes());
        }
    }
}

/// Append a client's string (stored as an integer when it is one).
pub fn push_str(buf: &mut Vec<u8>, s: &[u8]) {
    push(buf, elem_of(s))
}

fn read_array<const N: usize>(buf: &[u8], at: usize) -> Option<[u8; N]> {
    buf.get(at..at + N)?.try_into().ok()
}

/// Decode the element at byte offset `at`; returns it and the offset of the next one.
/// `None` at the end (or on malformed bytes, which Brim never writes).
pub fn read(buf: &[u8], at: usize) -> Option<(Elem<'_>, usize)> {
    let h = *buf.get(at)?;
    let p = at + 1;
    let (len, start) = match h {
        0..=0xEF => (h as usize, p),
        STR16 => (u16::from_le_bytes(read_array(buf, p)?) as usize, p + 2),
        STR32 => (u32::from_le_bytes(read_array(buf, p)?) as usize, p + 4),
        INT8 => return Some((Elem::Int(i8::from_le_bytes(read_array(buf, p)?) as i64), p + 1)),
        INT16 => return Some((Elem::Int(i16::from_le_bytes(read_array(buf, p)?) as i64), p + 2)),
        INT32 => return Some((Elem::Int(i32::from_le_bytes(read_array(buf, p)?) as i64), p + 4)),
        INT64 => return Some((Elem::Int(i64::from_le_bytes(read_array(buf, p)?)), p + 8)),
        DOUBLE => return Some((Elem::Double(f64::from_le_bytes(read_array(buf, p)?)), p + 8)),
        INT24 => {
            let [a, b, c] = read_array::<3>(buf, p)?;
            // Sign-extend from 24 bits.
            let v = i32::from_le_bytes([a, b, c, if c & 0x80 != 0 { 0xFF } else { 0 }]);
            return Some((Elem::Int(v as i64), p + 3));
        }
        _ => return None,
    };
    Some((Elem::Bytes(buf.get(start..start + len)?), start + len))
}

/// Iterate the elements of a packed buffer, with the byte offset of each.
pub fn iter(buf: &[u8]) -> Iter<'_> {
    Iter { buf, at: 0 }
}

/// Iterator over packed elements; yields `(offset, element)`.
#[derive(Debug, Clone)]
pub struct Iter<'a> {
    buf: &'a [u8],
    at: usize,
}

impl<'a> Iterator for Iter<'a> {
    type Item = (usize, Elem<'a>);

    fn next(&mut self) -> Option<Self::Item> {
        let (e, next) = read(self.buf, self.at)?;
        let at = self.at;
        self.at = next;
        Some((at, e))
    }
}

/// Number of elements in a packed buffer.
pub fn count(buf: &[u8]) -> usize {
    iter(buf).count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_every_form() {
        let long = vec![b'x'; 300];
        let huge = vec![b'y'; 70_000];
        let elems = [
            Elem::Bytes(b""),
            Elem::Bytes(b"hello"),
            Elem::Bytes(&long),
            Elem::Bytes(&huge),
            Elem::Int(0),
            Elem::Int(-128),
            Elem::Int(30_000),
            Elem::Int(8_000_000),
            Elem::Int(-8_388_608),
            Elem::Int(8_388_608),
            Elem::Int(-2_000_000_000),
            Elem::Int(i64::MIN),
            Elem::Double(1.5),
        ];
        let mut buf = Vec::new();
        for e in elems {
            push(&mut buf, e);
        }
        assert_eq!(buf.len(), elems.iter().map(|e| encoded_len(*e)).sum::<usize>());
        let back: Vec<Elem> = iter(&buf).map(|(_, e)| e).collect();
        assert_eq!(back, elems);
        assert_eq!(count(&buf), elems.len());
    }

    #[test]
    fn strings_that_are_integers_pack_small() {
        let mut buf = Vec::new();
        push_str(&mut buf, b"7");
        push_str(&mut buf, b"007");
        assert_eq!(buf.len(), 2 + 4);
        let v: Vec<Vec<u8>> = iter(&buf).map(|(_, e)| e.to_vec()).collect();
        assert_eq!(v, vec![b"7".to_vec(), b"007".to_vec()]);
        assert!(elem_of(b"12").eq_bytes(b"12"));
        assert!(!Elem::Int(12).eq_bytes(b"012"));
    }

    #[test]
    fn malformed_bytes_stop_iteration() {
        assert_eq!(count(&[0xFF, 1, 2]), 0);
        assert_eq!(count(&[5, b'a']), 0);
    }
}
