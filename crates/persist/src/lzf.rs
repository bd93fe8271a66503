//! LZF, the compression of RDB strings (Redis ships liblzf 3.6). The decompressor accepts
//! exactly liblzf's format; the compressor produces that format (not necessarily liblzf's
//! exact bytes: any valid stream decompresses the same in Redis).
//!
//! The format is a sequence of runs, each starting with a control byte `c`:
//! - `c < 32`: `c + 1` literal bytes follow;
//! - otherwise a back reference: length field `c >> 5` (7 means a further byte is added),
//!   then the low byte of the offset; `(c & 31) << 8 | low` is the distance minus one, and
//!   `length + 2` bytes are copied from that far back in the output.

/// Bits of the largest match table (16K entries).
const HLOG_MAX: u32 = 14;
const MAX_LIT: usize = 32;
const MAX_OFF: usize = 1 << 13;
const MAX_REF: usize = (1 << 8) + (1 << 3);

#[inline]
fn hash(a: u8, b: u8, c: u8, hlog: u32) -> usize {
    let v = ((a as u32) << 16) | ((b as u32) << 8) | c as u32;
    (v.wrapping_mul(2_654_435_761) >> (32 - hlog)) as usize
}

thread_local! {
    /// The match table, reused across calls (only the part an input needs is cleared).
    static TABLE: std::cell::RefCell<Vec<u32>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Compress `input`. The result may be longer than the input (incompressible data): RDB
/// writers keep the plain string unless it saves at least 4 bytes, as Redis does.
pub fn compress(input: &[u8]) -> Vec<u8> {
    TABLE.with(|t| match t.try_borrow_mut() {
        Ok(mut table) => compress_with(input, &mut table),
        Err(_) => compress_with(input, &mut Vec::new()),
    })
}

fn compress_with(input: &[u8], table: &mut Vec<u32>) -> Vec<u8> {
    let n = input.len();
    // A table about twice the input's size (at least 256 entries): small strings clear
    // little.
    let hlog = (usize::BITS - n.leading_zeros()).clamp(8, HLOG_MAX);
    table.clear();
    table.resize(1 << hlog, 0);
    let htab = &mut table[..];
    let mut out = Vec::with_capacity(n + n / MAX_LIT + 2);
    let mut lit_at = 0usize;
    let mut lit = 0usize;
    out.push(0);
    let mut ip = 0usize;
    while ip + 2 < n {
        let h = hash(input[ip], input[ip + 1], input[ip + 2], hlog);
        let slot = htab[h] as usize;
        htab[h] = (ip + 1) as u32;
        if slot > 0 {
            let r = slot - 1;
            let off = ip - r - 1;
            if off < MAX_OFF && input[r..r + 3] == input[ip..ip + 3] {
                let maxlen = MAX_REF.min(n - ip);
                let mut len = 3;
                while len < maxlen && input[r + len] == input[ip + len] {
                    len += 1;
                }
                if lit > 0 {
                    out[lit_at] = (lit - 1) as u8;
                } else {
                    out.pop();
                }
                let l = len - 2;
                if l < 7 {
                    out.push((off >> 8) as u8 | ((l as u8) << 5));
                } else {
                    out.push((off >> 8) as u8 | (7 << 5));
                    out.push((l - 7) as u8);
                }
                out.push(off as u8);
                let end = (ip + len).min(n.saturating_sub(2));
                for p in ip + 1..end {
                    htab[hash(input[p], input[p + 1], input[p + 2], hlog)] = (p + 1) as u32;
                }
                ip += len;
                lit_at = out.len();
                out.push(0);
                lit = 0;
                continue;
            }
        }
        out.push(input[ip]);
        ip += 1;
        lit += 1;
        if lit == MAX_LIT {
            out[lit_at] = (MAX_LIT - 1) as u8;
            lit_at = out.len();
            out.push(0);
            lit = 0;
        }
    }
    while ip < n {
        out.push(input[ip]);
        ip += 1;
        lit += 1;
        if lit == MAX_LIT {
            out[lit_at] = (MAX_LIT - 1) as u8;
            lit_at = out.len();
            out.push(0);
            lit = 0;
        }
    }
    if lit > 0 {
        out[lit_at] = (lit - 1) as u8;
    } else {
        out.pop();
    }
    out
}

/// Decompress `input`, which must expand to exactly `expected` bytes (RDB strings record
/// their length). `None` for a malformed stream or another length.
pub fn decompress(input: &[u8], expected: usize) -> Option<Vec<u8>> {
    let mut out: Vec<u8> = Vec::with_capacity(expected);
    let mut ip = 0usize;
    while ip < input.len() {
        let ctrl = input[ip] as usize;
        ip += 1;
        if ctrl < 32 {
            let run = ctrl + 1;
            if out.len() + run > expected {
                return None;
            }
            out.extend_from_slice(input.get(ip..ip + run)?);
            ip += run;
        } else {
            let mut len = ctrl >> 5;
            if len == 7 {
                len += *input.get(ip)? as usize;
                ip += 1;
            }
            let low = *input.get(ip)? as usize;
            ip += 1;
            let back = ((ctrl & 0x1F) << 8) + low + 1;
            let len = len + 2;
            if back > out.len() || out.len() + len > expected {
                return None;
            }
            let start = out.len() - back;
            for i in 0..len {
                let b = out[start + i];
                out.push(b);
            }
        }
    }
    (out.len() == expected).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn round_trips_and_shrinks_repetitive_data() {
        for data in [
            Vec::new(),
            b"a".to_vec(),
            b"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa".to_vec(),
            b"hello hello hello hello hello hello world".to_vec(),
            vec![0u8; 100_000],
            (0..70_000u32).map(|i| (i % 253) as u8).collect(),
        ] {
            let c = compress(&data);
            assert_eq!(decompress(&c, data.len()).as_deref(), Some(&data[..]));
        }
        assert!(compress(&vec![b'x'; 1000]).len() < 40);
    }

    #[test]
    fn malformed_streams_are_refused() {
        assert_eq!(decompress(&[0x20, 0x00], 3), None, "reference before the start");
        assert_eq!(decompress(&[5, b'a'], 6), None, "short literal");
        assert_eq!(decompress(&[0, b'a'], 2), None, "wrong length");
        assert_eq!(decompress(&[0xE0], 10), None, "truncated reference");
    }

    proptest! {
        #[test]
        fn any_bytes_round_trip(data in proptest::collection::vec(prop_oneof![Just(b'a'), Just(b'b'), any::<u8>()], 0..3000)) {
            let c = compress(&data);
            prop_assert_eq!(decompress(&c, data.len()), Some(data));
        }

        #[test]
        fn decompress_never_panics(data in proptest::collection::vec(any::<u8>(), 0..200), n in 0usize..500) {
            let _ = decompress(&data, n);
        }
    }
}
