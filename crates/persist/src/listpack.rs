//! Redis's listpack format, read (every encoding Redis writes) and written (the compact RDB
//! types: quicklist nodes, small hashes and sorted sets).
//!
//! ```text
//! total-bytes u32 LE | num-elements u16 LE (65535: unknown) | entry ... | 0xFF
//! entry = encoding [data] backlen
//!   0xxxxxxx            7-bit unsigned integer
//!   10xxxxxx            string of up to 63 bytes
//!   110xxxxx yyyyyyyy   13-bit signed integer
//!   1110xxxx yyyyyyyy   string of up to 4095 bytes
//!   11110000 + u32 LE   string
//!   0xF1 / F2 / F3 / F4 16 / 24 / 32 / 64-bit signed integer, little endian
//! backlen: the size of encoding + data, 1-5 bytes of 7 bits, read right to left
//! ```

use brim_engine::packed::Elem;
use brim_engine::value::parse_i64_strict;

/// Header size: total bytes and element count.
pub const HEADER: usize = 6;
const EOF: u8 = 0xFF;

fn backlen_size(l: usize) -> usize {
    match l {
        0..=127 => 1,
        128..=16382 => 2,
        16383..=2097150 => 3,
        2097151..=268435454 => 4,
        _ => 5,
    }
}

fn push_backlen(buf: &mut Vec<u8>, l: usize) {
    let l = l as u64;
    match backlen_size(l as usize) {
        1 => buf.push(l as u8),
        2 => buf.extend_from_slice(&[(l >> 7) as u8, (l & 127) as u8 | 128]),
        3 => buf.extend_from_slice(&[(l >> 14) as u8, ((l >> 7) & 127) as u8 | 128, (l & 127) as u8 | 128]),
        4 => buf.extend_from_slice(&[
            (l >> 21) as u8,
            ((l >> 14) & 127) as u8 | 128,
            ((l >> 7) & 127) as u8 | 128,
            (l & 127) as u8 | 128,
        ]),
        _ => buf.extend_from_slice(&[
            (l >> 28) as u8,
            ((l >> 21) & 127) as u8 | 128,
            ((l >> 14) & 127) as u8 | 128,
            ((l >> 7) & 127) as u8 | 128,
            (l & 127) as u8 | 128,
        ]),
    }
}

/// Builds a listpack.
#[derive(Debug, Clone)]
pub struct Writer {
    buf: Vec<u8>,
    count: usize,
}

impl Default for Writer {
    fn default() -> Self {
        Self::new()
    }
}

impl Writer {
    /// An empty listpack.
    pub fn new() -> Writer {
        let mut buf = Vec::with_capacity(64);
        buf.extend_from_slice(&[0; HEADER]);
        Writer { buf, count: 0 }
    }

    /// Number of entries so far.
    pub fn count(&self) -> usize {
        self.count
    }

    /// Bytes so far (header included, terminator not).
    pub fn len(&self) -> usize {
        self.buf.len()
    }

    /// Whether no entry was added.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Append an integer.
    pub fn push_int(&mut self, v: i64) {
        let start = self.buf.len();
        if (0..=127).contains(&v) {
            self.buf.push(v as u8);
        } else if (-4096..=4095).contains(&v) {
            let uv = if v < 0 { ((1i64 << 13) + v) as u64 } else { v as u64 };
            self.buf.extend_from_slice(&[0xC0 | (uv >> 8) as u8, uv as u8]);
        } else if let Ok(x) = i16::try_from(v) {
            self.buf.push(0xF1);
            self.buf.extend_from_slice(&x.to_le_bytes());
        } else if (-8_388_608..=8_388_607).contains(&v) {
            self.buf.push(0xF2);
            self.buf.extend_from_slice(&(v as i32).to_le_bytes()[..3]);
        } else if let Ok(x) = i32::try_from(v) {
            self.buf.push(0xF3);
            self.buf.extend_from_slice(&x.to_le_bytes());
        } else {
            self.buf.push(0xF4);
            self.buf.extend_from_slice(&v.to_le_bytes());
        }
        let l = self.buf.len() - start;
        push_backlen(&mut self.buf, l);
        self.count += 1;
    }

    /// Append a string, stored as an integer when it is the canonical text of one (as
    /// Redis's lpAppend does).
    pub fn push_str(&mut self, s: &[u8]) {
        if s.len() <= 20 {
            if let Some(v) = parse_i64_strict(s) {
                self.push_int(v);
                return;
            }
        }
        self.push_raw_str(s);
    }

    /// Append a string as a string.
    pub fn push_raw_str(&mut self, s: &[u8]) {
        let start = self.buf.len();
        let n = s.len();
        if n < 64 {
            self.buf.push(0x80 | n as u8);
        } else if n < 4096 {
            self.buf.extend_from_slice(&[0xE0 | (n >> 8) as u8, n as u8]);
        } else {
            self.buf.push(0xF0);
            self.buf.extend_from_slice(&(n as u32).to_le_bytes());
        }
        self.buf.extend_from_slice(s);
        let l = self.buf.len() - start;
        push_backlen(&mut self.buf, l);
        self.count += 1;
    }

    /// Append a packed element (doubles as Redis prints them, `%.17g`).
    pub fn push_elem(&mut self, e: Elem) {
        match e {
            Elem::Int(n) => self.push_int(n),
            Elem::Bytes(b) => self.push_str(b),
            Elem::Double(d) => self.push_double(d),
        }
    }

    /// Append a sorted-set score as Redis's d2string writes it: an integer when it is one
    /// (below 2^52 in magnitude), else `%.17g`.
    pub fn push_double(&mut self, d: f64) {
        const LIM: f64 = 4_503_599_627_370_496.0;
        if d != 0.0 && d > -LIM && d < LIM && d == (d as i64) as f64 {
            self.push_int(d as i64);
        } else {
            let s = brim_resp::number::format_double(d);
            self.push_str(s.as_bytes());
        }
    }

    /// The finished listpack.
    pub fn finish(mut self) -> Vec<u8> {
        self.buf.push(EOF);
        let total = self.buf.len() as u32;
        self.buf[0..4].copy_from_slice(&total.to_le_bytes());
        let n = if self.count < 65535 { self.count as u16 } else { 65535 };
        self.buf[4..6].copy_from_slice(&n.to_le_bytes());
        self.buf
    }
}

/// Decode the entry at `at`: the element and the offset of the next entry. `None` at the
/// terminator or for malformed bytes (backlen included in the check).
fn entry(lp: &[u8], at: usize) -> Option<(Elem<'_>, usize)> {
    let b = *lp.get(at)?;
    let p = at + 1;
    let (e, len) = if b & 0x80 == 0 {
        (Elem::Int((b & 0x7F) as i64), 1)
    } else if b & 0xC0 == 0x80 {
        let n = (b & 0x3F) as usize;
        (Elem::Bytes(lp.get(p..p + n)?), 1 + n)
    } else if b & 0xE0 == 0xC0 {
        let uv = (((b & 0x1F) as i64) << 8) | *lp.get(p)? as i64;
        let v = if uv >= 1 << 12 { uv - (1 << 13) } else { uv };
        (Elem::Int(v), 2)
    } else if b & 0xF0 == 0xE0 {
        let n = (((b & 0x0F) as usize) << 8) | *lp.get(p)? as usize;
        (Elem::Bytes(lp.get(p + 1..p + 1 + n)?), 2 + n)
    } else {
        match b {
            0xF0 => {
                let n = u32::from_le_bytes(lp.get(p..p + 4)?.try_into().ok()?) as usize;
                (Elem::Bytes(lp.get(p + 4..(p + 4).checked_add(n)?)?), 5 + n)
            }
            0xF1 => (Elem::Int(i16::from_le_bytes(lp.get(p..p + 2)?.try_into().ok()?) as i64), 3),
            0xF2 => {
                let s = lp.get(p..p + 3)?;
                let v = ((s[0] as i32) | (s[1] as i32) << 8 | (s[2] as i32) << 16) << 8 >> 8;
                (Elem::Int(v as i64), 4)
            }
            0xF3 => (Elem::Int(i32::from_le_bytes(lp.get(p..p + 4)?.try_into().ok()?) as i64), 5),
            0xF4 => (Elem::Int(i64::from_le_bytes(lp.get(p..p + 8)?.try_into().ok()?)), 9),
            _ => return None,
        }
    };
    let mut expect = Vec::with_capacity(5);
    push_backlen(&mut expect, len);
    let bl = at + len;
    if lp.get(bl..bl + expect.len())? != &expect[..] {
        return None;
    }
    Some((e, bl + expect.len()))
}

/// Check a listpack's structure (header, every entry, terminator) and return its entries.
/// `None` if it is malformed.
pub fn entries(lp: &[u8]) -> Option<Vec<Elem<'_>>> {
    if lp.len() < HEADER + 1 {
        return None;
    }
    let total = u32::from_le_bytes(lp[0..4].try_into().ok()?) as usize;
    let n = u16::from_le_bytes(lp[4..6].try_into().ok()?) as usize;
    if total != lp.len() || lp[lp.len() - 1] != EOF {
        return None;
    }
    let mut out = Vec::with_capacity(n.min(4096));
    let mut at = HEADER;
    while at < lp.len() - 1 {
        let (e, next) = entry(lp, at)?;
        out.push(e);
        at = next;
    }
    if at != lp.len() - 1 || (n != 65535 && n != out.len()) {
        return None;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn known_bytes() {
        // Redis: lpNew + lpAppend "hello", 1024, -1.
        let mut w = Writer::new();
        w.push_str(b"hello");
        w.push_str(b"1024");
        w.push_str(b"-1");
        let lp = w.finish();
        assert_eq!(
            lp,
            [20, 0, 0, 0, 3, 0, 0x85, b'h', b'e', b'l', b'l', b'o', 6, 0xC4, 0x00, 2, 0xDF, 0xFF, 2, 0xFF]
        );
        assert_eq!(entries(&lp).unwrap(), vec![Elem::Bytes(b"hello"), Elem::Int(1024), Elem::Int(-1)]);
    }

    #[test]
    fn every_encoding_round_trips() {
        let long = vec![b'y'; 5000];
        let mid = vec![b'x'; 300];
        let mut w = Writer::new();
        let ints = [
            0,
            127,
            128,
            -1,
            -4096,
            4095,
            4096,
            -4097,
            32767,
            -32768,
            8_388_607,
            -8_388_608,
            1 << 31,
            i64::MIN,
            i64::MAX,
        ];
        for v in ints {
            w.push_int(v);
        }
        w.push_str(b"");
        w.push_str(&mid);
        w.push_str(&long);
        w.push_str(b"007");
        let lp = w.finish();
        let got = entries(&lp).unwrap();
        let mut want: Vec<Elem> = ints.iter().map(|&v| Elem::Int(v)).collect();
        want.extend([Elem::Bytes(b""), Elem::Bytes(&mid), Elem::Bytes(&long), Elem::Bytes(b"007")]);
        assert_eq!(got, want);
    }

    #[test]
    fn malformed_is_refused() {
        let mut w = Writer::new();
        w.push_str(b"abc");
        let lp = w.finish();
        for cut in 0..lp.len() {
            assert!(entries(&lp[..cut]).is_none(), "cut {cut}");
        }
        let mut bad = lp.clone();
        bad[4] = 2; // wrong count
        assert!(entries(&bad).is_none());
        let mut bad = lp;
        bad[10] = 9; // wrong backlen
        assert!(entries(&bad).is_none());
    }

    proptest! {
        #[test]
        fn round_trip(items in proptest::collection::vec(prop_oneof![any::<i64>().prop_map(|v| v.to_string().into_bytes()), proptest::collection::vec(any::<u8>(), 0..200)], 0..100)) {
            let mut w = Writer::new();
            for it in &items {
                w.push_str(it);
            }
            let lp = w.finish();
            let got: Vec<Vec<u8>> = entries(&lp).unwrap().iter().map(|e| e.to_vec()).collect();
            prop_assert_eq!(got, items);
        }

        #[test]
        fn never_panics(data in proptest::collection::vec(any::<u8>(), 0..100)) {
            let _ = entries(&data);
        }
    }
}
