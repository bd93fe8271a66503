//! Redis's intset format: `encoding u32 LE (2, 4 or 8) | length u32 LE | values LE`, values
//! sorted ascending without duplicates.

/// Encode sorted, distinct integers as an intset (the narrowest encoding that fits all).
pub fn encode(sorted: &[i64]) -> Vec<u8> {
    let width: usize = if sorted.iter().all(|&v| i16::try_from(v).is_ok()) {
        2
    } else if sorted.iter().all(|&v| i32::try_from(v).is_ok()) {
        4
    } else {
        8
    };
    let mut out = Vec::with_capacity(8 + width * sorted.len());
    out.extend_from_slice(&(width as u32).to_le_bytes());
    out.extend_from_slice(&(sorted.len() as u32).to_le_bytes());
    for &v in sorted {
        out.extend_from_slice(&v.to_le_bytes()[..width]);
    }
    out
}

/// Decode and validate an intset (encoding, size, strictly ascending); `None` if malformed.
pub fn decode(buf: &[u8]) -> Option<Vec<i64>> {
    let width = u32::from_le_bytes(buf.get(0..4)?.try_into().ok()?) as usize;
    let len = u32::from_le_bytes(buf.get(4..8)?.try_into().ok()?) as usize;
    if !matches!(width, 2 | 4 | 8) || buf.len() != 8 + width.checked_mul(len)? {
        return None;
    }
    let mut out = Vec::with_capacity(len);
    for c in buf[8..].chunks_exact(width) {
        let v = match width {
            2 => i16::from_le_bytes([c[0], c[1]]) as i64,
            4 => i32::from_le_bytes([c[0], c[1], c[2], c[3]]) as i64,
            _ => i64::from_le_bytes(c.try_into().ok()?),
        };
        if out.last().is_some_and(|&p| p >= v) {
            return None;
        }
        out.push(v);
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_each_width() {
        for vals in [vec![], vec![-5, 1, 300], vec![-70000, 5], vec![i64::MIN, 0, i64::MAX]] {
            assert_eq!(decode(&encode(&vals)), Some(vals));
        }
        assert_eq!(encode(&[1, 2]).len(), 8 + 4);
        assert_eq!(decode(&encode(&[2, 1])), None, "unsorted");
        assert_eq!(decode(&[2, 0, 0, 0, 1, 0, 0, 0]), None, "short");
        assert_eq!(decode(&[3, 0, 0, 0, 0, 0, 0, 0]), None, "bad width");
    }
}
