//! Brim's packed element format, the compact encoding of small collections (what Redis
//! calls listpack, and intset for small integer sets). A packed collection is a flat byte
//! string of elements, each a header byte followed by its data:
//!
//! ```text
//! 0x00..=0x3F  a string of that many bytes (0..63), the bytes follow
//! 0x40..=0xDF  an integer from -32 to 127 in the header byte itself (value = header - 0x60)
//! 0xE0         a string, u8 length follows, then the bytes
//! 0xE1         a string, u16 length (little endian) follows, then the bytes
//! 0xE2         a string, u32 length follows, then the bytes
//! 0xE3         an integer from 128 to 383: one byte b follows, the value is 128 + b
//! 0xE4..=0xEA  an integer in 2..=8 bytes (header - 0xE2), little endian, sign-extended
//! 0xEB         a double, f64 (little endian)
//! 0xEC..=0xFA  a double that is the decimal m / 10^k, k = header - 0xEB (1..=15): the
//!              integer m follows as an integer element (any of the integer forms)
//! 0xFB         an integer from -33 down to -288: one byte b follows, the value is -33 - b
//! 0xFC..=0xFF  unused (malformed)
//! ```
//! A string that is the canonical text of an i64 is stored as an integer, so `"7"` costs
//! one byte, and a sorted-set score like `1.5` or `0.1` two. Every value has exactly one
//! encoding (the shortest), so `encoded_len` of a decoded element is the number of bytes it
//! was read from. There is no back-length as in Redis's listpack: collections small enough
//! to be packed are walked forward. Packed bytes live inline in the keyspace entry (no
//! separate allocation, no object header), which is where small collections win memory over
//! Redis.

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

/// Largest length of a string whose length fits in the header byte.
const SHORT_LAST: u8 = 0x3F;
const SHORT_MAX: usize = SHORT_LAST as usize;
/// Header bytes of the integers `IMM_MIN..=IMM_MAX`, which need no more bytes.
const IMM_FIRST: u8 = 0x40;
const IMM_LAST: u8 = 0xDF;
const IMM_MIN: i64 = -32;
const IMM_MAX: i64 = IMM_MIN + (IMM_LAST - IMM_FIRST) as i64;
const STR8: u8 = 0xE0;
const STR16: u8 = 0xE1;
const STR32: u8 = 0xE2;
/// An integer just above the immediates, in one byte: `POS1_MIN + b`.
const POS1: u8 = 0xE3;
const POS1_MIN: i64 = IMM_MAX + 1;
const POS1_MAX: i64 = POS1_MIN + u8::MAX as i64;
/// An integer just below the immediates, in one byte: `NEG1_MAX - b`.
const NEG1: u8 = 0xFB;
const NEG1_MAX: i64 = IMM_MIN - 1;
const NEG1_MIN: i64 = NEG1_MAX - u8::MAX as i64;
/// `INT_BASE + n` is an integer stored in `n` bytes (2..=8).
const INT_BASE: u8 = 0xE2;
const INT_FIRST: u8 = INT_BASE + 2;
const INT_LAST: u8 = INT_BASE + 8;
const DOUBLE: u8 = 0xEB;
/// `DEC_BASE + k` is a double written as m / 10^k (k in 1..=DEC_MAX_K).
const DEC_BASE: u8 = 0xEB;
const DEC_MAX_K: usize = 15;
const DEC_FIRST: u8 = DEC_BASE + 1;
const DEC_LAST: u8 = DEC_BASE + DEC_MAX_K as u8;
/// Powers of ten that are exact doubles (all up to 10^22 are).
const POW10: [f64; DEC_MAX_K + 1] =
    [1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15];
/// Mantissas stay below 2^53 so they convert to f64 exactly.
const MANTISSA_LIMIT: f64 = (1u64 << 53) as f64;

/// Bytes of the header of a string of `len` bytes.
fn str_header_len(len: usize) -> usize {
    if len <= SHORT_MAX {
        1
    } else if len <= u8::MAX as usize {
        2
    } else if len <= u16::MAX as usize {
        3
    } else {
        5
    }
}

/// Fewest bytes that hold `n` as a sign-extended little-endian integer (1..=8).
pub(crate) fn int_width(n: i64) -> usize {
    // Bits needed beyond the sign: the position of the highest bit that differs from it.
    let magnitude_bits = 64 - (n ^ (n >> 63)).leading_zeros() as usize;
    (magnitude_bits + 1).div_ceil(8).max(1)
}

/// Bytes an integer element takes.
fn int_len(n: i64) -> usize {
    if (IMM_MIN..=IMM_MAX).contains(&n) {
        1
    } else if (POS1_MIN..=POS1_MAX).contains(&n) || (NEG1_MIN..=NEG1_MAX).contains(&n) {
        2
    } else {
        1 + int_width(n).max(2)
    }
}

/// `d` as `(k, m)` with `d == m / 10^k` exactly (the smallest such k in 1..=15), if there is
/// one. Zero is left out: its sign would not survive.
fn decimal_form(d: f64) -> Option<(usize, i64)> {
    if !d.is_finite() || d == 0.0 {
        return None;
    }
    for (k, &p) in POW10.iter().enumerate().skip(1) {
        let scaled = (d * p).round();
        if scaled.abs() >= MANTISSA_LIMIT {
            return None;
        }
        let m = scaled as i64;
        if (m as f64 / p).to_bits() == d.to_bits() {
            return Some((k, m));
        }
    }
    None
}

/// The double a decimal element `m / 10^k` stands for.
fn decimal_value(k: usize, m: i64) -> Option<f64> {
    let p = POW10.get(k)?;
    Some(m as f64 / p)
}

/// Bytes `e` takes when packed.
pub fn encoded_len(e: Elem) -> usize {
    match e {
        Elem::Bytes(b) => str_header_len(b.len()) + b.len(),
        Elem::Int(n) => int_len(n),
        Elem::Double(d) => match decimal_form(d) {
            Some((_, m)) => 1 + int_len(m),
            None => 9,
        },
    }
}

/// The element a client's string becomes: an integer when it is the canonical text of one.
pub fn elem_of(s: &[u8]) -> Elem<'_> {
    match parse_i64_strict(s) {
        Some(n) => Elem::Int(n),
        None => Elem::Bytes(s),
    }
}

fn push_bytes(buf: &mut Vec<u8>, b: &[u8]) {
    let len = b.len();
    if len <= SHORT_MAX {
        buf.push(len as u8);
    } else if let Ok(l) = u8::try_from(len) {
        buf.extend_from_slice(&[STR8, l]);
    } else if let Ok(l) = u16::try_from(len) {
        buf.push(STR16);
        buf.extend_from_slice(&l.to_le_bytes());
    } else {
        buf.push(STR32);
        buf.extend_from_slice(&(len as u32).to_le_bytes());
    }
    buf.extend_from_slice(b);
}

fn push_int(buf: &mut Vec<u8>, n: i64) {
    if (IMM_MIN..=IMM_MAX).contains(&n) {
        buf.push((n - IMM_MIN) as u8 + IMM_FIRST);
    } else if (POS1_MIN..=POS1_MAX).contains(&n) {
        buf.extend_from_slice(&[POS1, (n - POS1_MIN) as u8]);
    } else if (NEG1_MIN..=NEG1_MAX).contains(&n) {
        buf.extend_from_slice(&[NEG1, (NEG1_MAX - n) as u8]);
    } else {
        let w = int_width(n).max(2);
        buf.push(INT_BASE + w as u8);
        buf.extend_from_slice(&n.to_le_bytes()[..w]);
    }
}

/// Append `e` to `buf`.
pub fn push(buf: &mut Vec<u8>, e: Elem) {
    match e {
        Elem::Bytes(b) => push_bytes(buf, b),
        Elem::Int(n) => push_int(buf, n),
        Elem::Double(d) => match decimal_form(d) {
            Some((k, m)) => {
                buf.push(DEC_BASE + k as u8);
                push_int(buf, m);
            }
            None => {
                buf.push(DOUBLE);
                buf.extend_from_slice(&d.to_le_bytes());
            }
        },
    }
}

/// Append a client's string (stored as an integer when it is one).
pub fn push_str(buf: &mut Vec<u8>, s: &[u8]) {
    push(buf, elem_of(s))
}

fn read_array<const N: usize>(buf: &[u8], at: usize) -> Option<[u8; N]> {
    buf.get(at..at.checked_add(N)?)?.try_into().ok()
}

/// The `w`-byte sign-extended integer at `at`.
pub(crate) fn read_int(buf: &[u8], at: usize, w: usize) -> Option<i64> {
    let bytes = buf.get(at..at.checked_add(w)?)?;
    let fill = if bytes.last().is_some_and(|b| b & 0x80 != 0) { 0xFF } else { 0 };
    let mut full = [fill; 8];
    full.get_mut(..w)?.copy_from_slice(bytes);
    Some(i64::from_le_bytes(full))
}

/// The string whose `len` bytes start at `start`.
fn read_bytes(buf: &[u8], start: usize, len: usize) -> Option<(Elem<'_>, usize)> {
    let end = start.checked_add(len)?;
    Some((Elem::Bytes(buf.get(start..end)?), end))
}

/// The integer element (immediate or 1..=8 bytes) at `at` and the offset after it.
fn read_int_elem(buf: &[u8], at: usize) -> Option<(i64, usize)> {
    let h = *buf.get(at)?;
    let p = at + 1;
    match h {
        IMM_FIRST..=IMM_LAST => Some(((h - IMM_FIRST) as i64 + IMM_MIN, p)),
        POS1 => Some((POS1_MIN + *buf.get(p)? as i64, p + 1)),
        NEG1 => Some((NEG1_MAX - *buf.get(p)? as i64, p + 1)),
        INT_FIRST..=INT_LAST => {
            let w = (h - INT_BASE) as usize;
            Some((read_int(buf, p, w)?, p + w))
        }
        _ => None,
    }
}

/// Decode the element at byte offset `at`; returns it and the offset of the next one.
/// `None` at the end (or on malformed bytes, which Brim never writes).
pub fn read(buf: &[u8], at: usize) -> Option<(Elem<'_>, usize)> {
    let h = *buf.get(at)?;
    let p = at + 1;
    match h {
        0..=SHORT_LAST => read_bytes(buf, p, h as usize),
        STR8 => read_bytes(buf, p + 1, *buf.get(p)? as usize),
        STR16 => read_bytes(buf, p + 2, u16::from_le_bytes(read_array(buf, p)?) as usize),
        STR32 => read_bytes(buf, p + 4, u32::from_le_bytes(read_array(buf, p)?) as usize),
        IMM_FIRST..=IMM_LAST | POS1 | NEG1 | INT_FIRST..=INT_LAST => {
            read_int_elem(buf, at).map(|(n, next)| (Elem::Int(n), next))
        }
        DOUBLE => Some((Elem::Double(f64::from_le_bytes(read_array(buf, p)?)), p + 8)),
        DEC_FIRST..=DEC_LAST => {
            let (m, next) = read_int_elem(buf, p)?;
            Some((Elem::Double(decimal_value((h - DEC_BASE) as usize, m)?), next))
        }
        _ => None,
    }
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

/// Bytes of the integer element whose header is `h`, if `h` is an integer header.
#[inline]
fn int_elem_len(h: u8) -> Option<usize> {
    match h {
        IMM_FIRST..=IMM_LAST => Some(1),
        POS1 | NEG1 => Some(2),
        INT_FIRST..=INT_LAST => Some(1 + (h - INT_BASE) as usize),
        _ => None,
    }
}

/// The offset after the element at `at`, from its header alone (no decoding): what
/// [`read`] returns beside the element, and `None` where it returns `None`.
#[inline]
pub fn skip(buf: &[u8], at: usize) -> Option<usize> {
    let h = *buf.get(at)?;
    let p = at + 1;
    let next = match h {
        0..=SHORT_LAST => p + h as usize,
        STR8 => p + 1 + *buf.get(p)? as usize,
        STR16 => p + 2 + u16::from_le_bytes(read_array(buf, p)?) as usize,
        STR32 => p.checked_add(4 + u32::from_le_bytes(read_array(buf, p)?) as usize)?,
        DOUBLE => p + 8,
        DEC_FIRST..=DEC_LAST => p + int_elem_len(*buf.get(p)?)?,
        _ => at + int_elem_len(h)?,
    };
    (next <= buf.len()).then_some(next)
}

/// Number of elements in a packed buffer (short strings and small integers, the common
/// elements, on a fast path).
pub fn count(buf: &[u8]) -> usize {
    let (mut n, mut at) = (0, 0);
    while let Some(&h) = buf.get(at) {
        at = match h {
            0..=SHORT_LAST => at + 1 + h as usize,
            IMM_FIRST..=IMM_LAST => at + 1,
            _ => match skip(buf, at) {
                Some(next) => next,
                None => break,
            },
        };
        if at > buf.len() {
            break;
        }
        n += 1;
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(elems: &[Elem]) -> Vec<u8> {
        let mut buf = Vec::new();
        for e in elems {
            push(&mut buf, *e);
        }
        assert_eq!(buf.len(), elems.iter().map(|e| encoded_len(*e)).sum::<usize>());
        let back: Vec<Elem> = iter(&buf).map(|(_, e)| e).collect();
        assert_eq!(back.len(), elems.len());
        for (a, b) in back.iter().zip(elems) {
            match (a, b) {
                (Elem::Double(x), Elem::Double(y)) => assert_eq!(x.to_bits(), y.to_bits(), "{y}"),
                _ => assert_eq!(a, b),
            }
            assert_eq!(
                encoded_len(*a),
                encoded_len(*b),
                "re-encoding {b:?} takes the bytes it was read from"
            );
        }
        assert_eq!(count(&buf), elems.len());
        let mut at = 0;
        for (start, _) in iter(&buf) {
            assert_eq!(at, start);
            at = skip(&buf, at).expect("skip agrees with read");
        }
        assert_eq!((at, skip(&buf, at)), (buf.len(), None));
        buf
    }

    #[test]
    fn round_trip_every_form() {
        let long = vec![b'x'; 300];
        let huge = vec![b'y'; 70_000];
        let mid = vec![b'z'; 64];
        let elems = [
            Elem::Bytes(b""),
            Elem::Bytes(b"hello"),
            Elem::Bytes(&mid),
            Elem::Bytes(&long),
            Elem::Bytes(&huge),
            Elem::Int(0),
            Elem::Int(-128),
            Elem::Int(30_000),
            Elem::Int(8_000_000),
            Elem::Int(-8_388_608),
            Elem::Int(8_388_608),
            Elem::Int(-2_000_000_000),
            Elem::Int(1_700_000_000_000),
            Elem::Int(i64::MIN),
            Elem::Int(i64::MAX),
            Elem::Double(1.5),
            Elem::Double(0.1),
            Elem::Double(-0.0),
            Elem::Double(f64::INFINITY),
            Elem::Double(f64::NEG_INFINITY),
            Elem::Double(std::f64::consts::PI),
            Elem::Double(1e-300),
            Elem::Double(123456.789),
        ];
        round_trip(&elems);
    }

    #[test]
    fn integers_take_the_fewest_bytes() {
        for n in [-32, 0, 9, 127] {
            assert_eq!(encoded_len(Elem::Int(n)), 1, "{n}");
        }
        for (n, len) in [
            (-33, 2),
            (-288, 2),
            (-289, 3),
            (128, 2),
            (383, 2),
            (384, 3),
            (32_767, 3),
            (32_768, 4),
            (-32_769, 4),
        ] {
            assert_eq!(encoded_len(Elem::Int(n)), len, "{n}");
        }
        assert_eq!(encoded_len(Elem::Int(1_700_000_000_000)), 7);
        assert_eq!(encoded_len(Elem::Int(i64::MIN)), 9);
        assert_eq!(encoded_len(Elem::Int(i64::MAX)), 9);
        let every_boundary: Vec<Elem> = (0..64)
            .flat_map(|b| {
                let p = 1i64 << b;
                [-1, 0, 1]
                    .into_iter()
                    .flat_map(move |d| [p.wrapping_add(d), p.wrapping_neg().wrapping_add(d)])
            })
            .chain(NEG1_MIN - 2..=POS1_MAX + 2)
            .map(Elem::Int)
            .collect();
        round_trip(&every_boundary);
    }

    #[test]
    fn decimal_scores_pack_small() {
        assert_eq!(encoded_len(Elem::Double(1.5)), 2);
        assert_eq!(encoded_len(Elem::Double(0.1)), 2);
        assert_eq!(encoded_len(Elem::Double(-2.5)), 2);
        assert_eq!(encoded_len(Elem::Double(-2.25)), 3);
        assert_eq!(encoded_len(Elem::Double(13.5)), 3);
        assert_eq!(encoded_len(Elem::Double(19.99)), 4);
        // Zero keeps its sign only as a raw double; values with no short decimal stay raw.
        assert_eq!(encoded_len(Elem::Double(-0.0)), 9);
        assert_eq!(encoded_len(Elem::Double(1.0 / 3.0)), 9);
        assert_eq!(encoded_len(Elem::Double(f64::NAN)), 9);
        let mut x = 0.0f64;
        let mut sums = Vec::new();
        for i in 0..2000 {
            x += 0.1;
            sums.push(Elem::Double(x));
            sums.push(Elem::Double(i as f64 / 7.0));
            sums.push(Elem::Double(i as f64 * 0.001 - 1.0));
            sums.push(Elem::Double(f64::from_bits(0x3FF0_0000_0000_0000 + i * 977_777)));
        }
        round_trip(&sums);
    }

    #[test]
    fn strings_that_are_integers_pack_small() {
        let mut buf = Vec::new();
        push_str(&mut buf, b"7");
        push_str(&mut buf, b"007");
        assert_eq!(buf.len(), 1 + 4);
        let v: Vec<Vec<u8>> = iter(&buf).map(|(_, e)| e.to_vec()).collect();
        assert_eq!(v, vec![b"7".to_vec(), b"007".to_vec()]);
        assert!(elem_of(b"12").eq_bytes(b"12"));
        assert!(!Elem::Int(12).eq_bytes(b"012"));
    }

    #[test]
    fn string_headers_grow_with_length() {
        for (len, header) in [(0, 1), (63, 1), (64, 2), (255, 2), (256, 3), (65_535, 3), (65_536, 5)] {
            let s = vec![b'a'; len];
            assert_eq!(encoded_len(Elem::Bytes(&s)), header + len, "{len}");
            round_trip(&[Elem::Bytes(&s), Elem::Int(1)]);
        }
    }

    #[test]
    fn malformed_bytes_stop_iteration() {
        assert_eq!(count(&[0xFF, 1, 2]), 0);
        assert_eq!(count(&[5, b'a']), 0);
        assert_eq!(count(&[INT_BASE + 4, 1, 2]), 0);
        assert_eq!(count(&[POS1]), 0);
        assert_eq!(count(&[NEG1]), 0);
        assert_eq!(count(&[0xFC, 1]), 0);
        assert_eq!(count(&[DEC_BASE + 1, 3]), 0);
        assert_eq!(count(&[DEC_BASE + 1, DEC_BASE + 1, IMM_FIRST]), 0);
        assert_eq!(count(&[STR16, 1]), 0);
        assert_eq!(count(&[IMM_FIRST, STR8]), 1);
    }

    /// An element of any form: strings around the header limits, integers of every width,
    /// and doubles both decimal-looking and arbitrary.
    fn elem_strategy() -> impl proptest::strategy::Strategy<Value = Owned> {
        use proptest::prelude::*;
        prop_oneof![
            proptest::collection::vec(any::<u8>(), 0..300).prop_map(Owned::Bytes),
            any::<i64>().prop_map(Owned::Int),
            (-400i64..400).prop_map(Owned::Int),
            any::<f64>().prop_filter("no NaN", |d| !d.is_nan()).prop_map(Owned::Double),
            (any::<i32>(), 0u32..18).prop_map(|(m, k)| Owned::Double(m as f64 / 10f64.powi(k as i32))),
        ]
    }

    #[derive(Debug, Clone)]
    enum Owned {
        Bytes(Vec<u8>),
        Int(i64),
        Double(f64),
    }

    impl Owned {
        fn elem(&self) -> Elem<'_> {
            match self {
                Owned::Bytes(b) => Elem::Bytes(b),
                Owned::Int(n) => Elem::Int(*n),
                Owned::Double(d) => Elem::Double(*d),
            }
        }
    }

    proptest::proptest! {
        #[test]
        fn skip_agrees_with_read_on_any_bytes(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..64)) {
            for at in 0..=bytes.len() + 1 {
                proptest::prop_assert_eq!(skip(&bytes, at), read(&bytes, at).map(|(_, next)| next), "at {}", at);
            }
            proptest::prop_assert_eq!(count(&bytes), iter(&bytes).count());
        }

        #[test]
        fn any_elements_round_trip(elems in proptest::collection::vec(elem_strategy(), 0..40)) {
            let elems: Vec<Elem> = elems.iter().map(Owned::elem).collect();
            let buf = round_trip(&elems);
            // Offsets from `iter` delimit each element's own bytes, as callers splice them.
            let offsets: Vec<usize> = iter(&buf).map(|(at, _)| at).chain([buf.len()]).collect();
            for (w, e) in offsets.windows(2).zip(&elems) {
                proptest::prop_assert_eq!(w[1] - w[0], encoded_len(*e));
            }
        }
    }
}
