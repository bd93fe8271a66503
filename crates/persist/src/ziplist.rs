//! Redis's ziplist format (RDB files of Redis before 7.0), read only.
//!
//! ```text
//! zlbytes u32 LE | zltail u32 LE | zllen u16 LE | entry ... | 0xFF
//! entry = prevlen (1 byte < 254, or 0xFE + u32 LE) encoding [data]
//!   00pppppp / 01pppppp qqqqqqqq / 10000000 + u32 BE   string of that length
//!   0xC0 i16 | 0xD0 i32 | 0xE0 i64 | 0xF0 i24 | 0xFE i8   (little endian)
//!   0xF1..=0xFD                                          the integer 0..12
//! ```

use brim_engine::packed::Elem;

const HEADER: usize = 10;

/// Check a ziplist's structure and return its entries; `None` if it is malformed.
pub fn entries(zl: &[u8]) -> Option<Vec<Elem<'_>>> {
    if zl.len() < HEADER + 1 {
        return None;
    }
    let total = u32::from_le_bytes(zl[0..4].try_into().ok()?) as usize;
    let n = u16::from_le_bytes(zl[8..10].try_into().ok()?) as usize;
    if total != zl.len() || zl[zl.len() - 1] != 0xFF {
        return None;
    }
    let end = zl.len() - 1;
    let mut out = Vec::with_capacity(n.min(4096));
    let mut at = HEADER;
    let mut prev_len = 0usize;
    while at < end {
        let start = at;
        let (prev, plen) = match zl[at] {
            0xFE => (u32::from_le_bytes(zl.get(at + 1..at + 5)?.try_into().ok()?) as usize, 5),
            0xFF => return None,
            b => (b as usize, 1),
        };
        if prev != prev_len {
            return None;
        }
        at += plen;
        let e = *zl.get(at)?;
        at += 1;
        let elem = match e >> 6 {
            0 => {
                let len = (e & 0x3F) as usize;
                Elem::Bytes(zl.get(at..at + len)?)
            }
            1 => {
                let len = (((e & 0x3F) as usize) << 8) | *zl.get(at)? as usize;
                at += 1;
                Elem::Bytes(zl.get(at..at + len)?)
            }
            2 if e == 0x80 => {
                let len = u32::from_be_bytes(zl.get(at..at + 4)?.try_into().ok()?) as usize;
                at += 4;
                Elem::Bytes(zl.get(at..at.checked_add(len)?)?)
            }
            2 => return None,
            _ => {
                let (v, n) = match e {
                    0xC0 => (i16::from_le_bytes(zl.get(at..at + 2)?.try_into().ok()?) as i64, 2),
                    0xD0 => (i32::from_le_bytes(zl.get(at..at + 4)?.try_into().ok()?) as i64, 4),
                    0xE0 => (i64::from_le_bytes(zl.get(at..at + 8)?.try_into().ok()?), 8),
                    0xF0 => {
                        let s = zl.get(at..at + 3)?;
                        (((s[0] as i32 | (s[1] as i32) << 8 | (s[2] as i32) << 16) << 8 >> 8) as i64, 3)
                    }
                    0xFE => (*zl.get(at)? as i8 as i64, 1),
                    0xF1..=0xFD => ((e & 0x0F) as i64 - 1, 0),
                    _ => return None,
                };
                at += n;
                out.push(Elem::Int(v));
                prev_len = at - start;
                continue;
            }
        };
        if let Elem::Bytes(b) = elem {
            at += b.len();
        }
        out.push(elem);
        prev_len = at - start;
    }
    if at != end || (n != 65535 && n != out.len()) {
        return None;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A ziplist as Redis 6 builds it for RPUSH l "hello" 12 1024 -70000 (bytes taken from
    /// ziplistNew/ziplistPush).
    fn sample() -> Vec<u8> {
        let mut body = Vec::new();
        // "hello": prevlen 0, 6-bit string
        body.extend_from_slice(&[0, 0x05]);
        body.extend_from_slice(b"hello");
        // 12: prevlen 7, immediate 12 -> 0xF1 + 12 = 0xFD
        body.extend_from_slice(&[7, 0xFD]);
        // 1024: prevlen 2, int16
        body.extend_from_slice(&[2, 0xC0, 0x00, 0x04]);
        // -70000: prevlen 4, int24
        body.push(4);
        body.push(0xF0);
        body.extend_from_slice(&(-70000i32).to_le_bytes()[..3]);
        let mut zl = Vec::new();
        let total = (HEADER + body.len() + 1) as u32;
        zl.extend_from_slice(&total.to_le_bytes());
        zl.extend_from_slice(&((HEADER + 7 + 2 + 4) as u32).to_le_bytes());
        zl.extend_from_slice(&4u16.to_le_bytes());
        zl.extend_from_slice(&body);
        zl.push(0xFF);
        zl
    }

    #[test]
    fn reads_every_kind() {
        let zl = sample();
        assert_eq!(
            entries(&zl).unwrap(),
            vec![Elem::Bytes(b"hello"), Elem::Int(12), Elem::Int(1024), Elem::Int(-70000)]
        );
        for cut in 0..zl.len() {
            assert!(entries(&zl[..cut]).is_none());
        }
        let mut bad = zl.clone();
        bad[HEADER + 7] = 3; // wrong prevlen
        assert!(entries(&bad).is_none());
    }
}
