//! Redis's HyperLogLog representation, byte for byte, with no I/O.
//!
//! An HLL is a string: a 16-byte header (`"HYLL"`, the encoding byte — 0 dense, 1 sparse —,
//! three unused bytes, and the cached cardinality as a little-endian u64 whose top bit marks
//! it stale) followed by the registers. Dense: 16384 6-bit registers packed LSB first (12288
//! bytes). Sparse: run-length opcodes `ZERO` (`00xxxxxx`, 1-64 zero registers), `XZERO`
//! (`01xxxxxx yyyyyyyy`, 1-16384 zero registers) and `VAL` (`1vvvvvxx`, 1-4 registers of
//! value 1-32). Every function here reproduces the corresponding one of Redis 7.0's
//! `hyperloglog.c` (same hash, same opcode splitting and merging, same promotion points, same
//! estimator), so the bytes and the counts equal Redis's for the same input.

/// Register index bits.
pub const P: u32 = 14;
/// Bits of the hash left after the index.
pub const Q: usize = 64 - P as usize;
/// Number of registers.
pub const REGISTERS: usize = 1 << P;
/// Largest register value.
pub const REGISTER_MAX: u8 = 63;
/// Header size.
pub const HDR: usize = 16;
/// Size of a dense HLL.
pub const DENSE_SIZE: usize = HDR + (REGISTERS * 6).div_ceil(8);
/// The dense encoding byte.
pub const DENSE: u8 = 0;
/// The sparse encoding byte.
pub const SPARSE: u8 = 1;

const XZERO_BIT: u8 = 0x40;
const VAL_BIT: u8 = 0x80;
const VAL_MAX_VALUE: u8 = 32;
const VAL_MAX_LEN: usize = 4;
const ZERO_MAX_LEN: usize = 64;
const XZERO_MAX_LEN: usize = 16384;
const ALPHA_INF: f64 = 0.721_347_520_444_481_7;
const ENCODING_AT: usize = 4;
const CARD_AT: usize = 8;

/// The representation is corrupted (Redis's `INVALIDOBJ Corrupted HLL object detected`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Corrupt;

/// Redis's MurmurHash64A (endian neutral).
pub fn murmur64a(key: &[u8], seed: u64) -> u64 {
    const M: u64 = 0xc6a4_a793_5bd1_e995;
    const R: u32 = 47;
    let mut h = seed ^ (key.len() as u64).wrapping_mul(M);
    let mut chunks = key.chunks_exact(8);
    for c in &mut chunks {
        let mut w = [0u8; 8];
        w.copy_from_slice(c);
        let mut k = u64::from_le_bytes(w);
        k = k.wrapping_mul(M);
        k ^= k >> R;
        k = k.wrapping_mul(M);
        h ^= k;
        h = h.wrapping_mul(M);
    }
    let rest = chunks.remainder();
    if !rest.is_empty() {
        for (i, &b) in rest.iter().enumerate() {
            h ^= (b as u64) << (8 * i);
        }
        h = h.wrapping_mul(M);
    }
    h ^= h >> R;
    h = h.wrapping_mul(M);
    h ^= h >> R;
    h
}

/// The register an element maps to and the length of its `000..1` pattern (Redis's
/// hllPatLen).
pub fn pat_len(ele: &[u8]) -> (usize, u8) {
    let mut hash = murmur64a(ele, 0xadc8_3b19);
    let index = (hash & (REGISTERS as u64 - 1)) as usize;
    hash >>= P;
    hash |= 1u64 << Q;
    let count = hash.trailing_zeros() as u8 + 1;
    (index, count)
}

// ---------------------------------------------------------------------------------------
// Header.
// ---------------------------------------------------------------------------------------

/// Whether `s` is a string Redis accepts as an HLL (isHLLObjectOrReply, past the type check).
pub fn is_valid(s: &[u8]) -> bool {
    s.len() >= HDR
        && s.starts_with(b"HYLL")
        && s[ENCODING_AT] <= SPARSE
        && (s[ENCODING_AT] != DENSE || s.len() == DENSE_SIZE)
}

/// The encoding byte (call on a valid HLL).
pub fn encoding(s: &[u8]) -> u8 {
    s.get(ENCODING_AT).copied().unwrap_or(DENSE)
}

/// The cached cardinality, if it is not marked stale.
pub fn cached(s: &[u8]) -> Option<u64> {
    let card: [u8; 8] = s.get(CARD_AT..HDR)?.try_into().ok()?;
    if card[7] & 0x80 != 0 {
        None
    } else {
        Some(u64::from_le_bytes(card))
    }
}

/// The bytes of a cached cardinality, to be written at [`card_range`].
pub fn card_bytes(card: u64) -> [u8; 8] {
    card.to_le_bytes()
}

/// Where the cached cardinality lives.
pub fn card_range() -> std::ops::Range<usize> {
    CARD_AT..HDR
}

/// Mark the cached cardinality stale.
pub fn invalidate_cache(s: &mut [u8]) {
    if let Some(b) = s.get_mut(HDR - 1) {
        *b |= 0x80;
    }
}

/// A new, empty HLL, sparse (Redis's createHLLObject).
pub fn new_sparse() -> Vec<u8> {
    let mut v = Vec::with_capacity(HDR + 2);
    v.extend_from_slice(b"HYLL");
    v.push(SPARSE);
    v.extend_from_slice(&[0; 11]);
    let mut aux = REGISTERS;
    while aux > 0 {
        let n = aux.min(XZERO_MAX_LEN);
        v.extend_from_slice(&xzero(n));
        aux -= n;
    }
    v
}

// ---------------------------------------------------------------------------------------
// Dense registers.
// ---------------------------------------------------------------------------------------

/// Register `i` of dense registers `r` (the byte after the last one reads as 0, as the sds
/// terminator does in Redis).
#[inline]
pub fn dense_get(r: &[u8], i: usize) -> u8 {
    let byte = i * 6 / 8;
    let fb = (i * 6) & 7;
    let b0 = r.get(byte).copied().unwrap_or(0) as u32;
    let b1 = r.get(byte + 1).copied().unwrap_or(0) as u32;
    (((b0 >> fb) | (b1 << (8 - fb))) & REGISTER_MAX as u32) as u8
}

/// Set register `i` of dense registers `r` to `v`.
#[inline]
pub fn dense_set_raw(r: &mut [u8], i: usize, v: u8) {
    let byte = i * 6 / 8;
    let fb = (i * 6) & 7;
    let fb8 = 8 - fb;
    let v = v as u32;
    if let Some(b) = r.get_mut(byte) {
        *b &= !((REGISTER_MAX as u32) << fb) as u8;
        *b |= (v << fb) as u8;
    }
    if let Some(b) = r.get_mut(byte + 1) {
        *b &= !((REGISTER_MAX as u32) >> fb8) as u8;
        *b |= (v >> fb8) as u8;
    }
}

/// Raise register `i` to `count` if it is lower; returns whether it changed (hllDenseSet).
pub fn dense_set(r: &mut [u8], i: usize, count: u8) -> bool {
    if count > dense_get(r, i) {
        dense_set_raw(r, i, count);
        true
    } else {
        false
    }
}

fn dense_histo(r: &[u8], histo: &mut [u32; 64]) {
    for i in 0..REGISTERS {
        histo[dense_get(r, i) as usize] += 1;
    }
}

// ---------------------------------------------------------------------------------------
// Sparse opcodes.
// ---------------------------------------------------------------------------------------

#[inline]
fn is_zero(b: u8) -> bool {
    b & 0xc0 == 0
}

#[inline]
fn is_xzero(b: u8) -> bool {
    b & 0xc0 == XZERO_BIT
}

#[inline]
fn is_val(b: u8) -> bool {
    b & VAL_BIT != 0
}

#[inline]
fn zero_len(b: u8) -> usize {
    (b & 0x3f) as usize + 1
}

/// XZERO run length from its two bytes (the second reads as 0 past the end).
#[inline]
fn xzero_len(s: &[u8], p: usize) -> usize {
    let b0 = s.get(p).copied().unwrap_or(0) as usize;
    let b1 = s.get(p + 1).copied().unwrap_or(0) as usize;
    (((b0 & 0x3f) << 8) | b1) + 1
}

#[inline]
fn val_value(b: u8) -> u8 {
    ((b >> 2) & 0x1f) + 1
}

#[inline]
fn val_len(b: u8) -> usize {
    (b & 0x3) as usize + 1
}

#[inline]
fn val(v: u8, len: usize) -> u8 {
    ((v.wrapping_sub(1) << 2) | (len as u8).wrapping_sub(1)) | VAL_BIT
}

#[inline]
fn zero(len: usize) -> u8 {
    (len - 1) as u8
}

#[inline]
fn xzero(len: usize) -> [u8; 2] {
    let l = len - 1;
    [((l >> 8) as u8) | XZERO_BIT, (l & 0xff) as u8]
}

/// One opcode of a sparse body.
enum Op {
    Zero(usize),
    Val(u8, usize),
}

/// Walk the opcodes of a sparse HLL's body: `(op, bytes it takes)`.
fn ops(s: &[u8]) -> impl Iterator<Item = (Op, usize)> + '_ {
    let mut p = HDR;
    std::iter::from_fn(move || {
        let b = *s.get(p)?;
        let (op, n) = if is_zero(b) {
            (Op::Zero(zero_len(b)), 1)
        } else if is_xzero(b) {
            (Op::Zero(xzero_len(s, p)), 2)
        } else {
            (Op::Val(val_value(b), val_len(b)), 1)
        };
        p += n;
        Some((op, n))
    })
}

/// The dense form of a sparse HLL (header copied, cache included), or `Corrupt` if the
/// opcodes do not cover exactly the 16384 registers (hllSparseToDense). A dense input is
/// returned as is.
pub fn sparse_to_dense(s: &[u8]) -> Result<Vec<u8>, Corrupt> {
    if encoding(s) == DENSE {
        return Ok(s.to_vec());
    }
    let mut dense = vec![0u8; DENSE_SIZE];
    if let (Some(dst), Some(src)) = (dense.get_mut(..HDR), s.get(..HDR)) {
        dst.copy_from_slice(src);
    }
    dense[ENCODING_AT] = DENSE;
    let regs = &mut dense[HDR..];
    let mut idx = 0usize;
    for (op, _) in ops(s) {
        match op {
            Op::Zero(n) => idx += n,
            Op::Val(v, n) => {
                if idx + n > REGISTERS {
                    break;
                }
                for i in idx..idx + n {
                    dense_set_raw(regs, i, v);
                }
                idx += n;
            }
        }
    }
    if idx != REGISTERS {
        return Err(Corrupt);
    }
    Ok(dense)
}

/// Raise register `index` of the sparse HLL `s` to `count` if lower (hllSparseSet), splitting
/// and merging opcodes in place. Promotes `s` to dense when `count` does not fit a VAL opcode
/// or the result would grow past `sparse_max` bytes. Returns whether a register changed.
pub fn sparse_set(s: &mut Vec<u8>, index: usize, count: u8, sparse_max: u64) -> Result<bool, Corrupt> {
    if count > VAL_MAX_VALUE {
        return promote(s, index, count);
    }
    // Step 1: find the opcode covering `index`.
    let mut end = s.len();
    let mut p = HDR;
    let mut first = 0usize;
    let mut prev: Option<usize> = None;
    let mut span = 0usize;
    while p < end {
        let b = s[p];
        let mut oplen = 1;
        span = if is_zero(b) {
            zero_len(b)
        } else if is_val(b) {
            val_len(b)
        } else {
            oplen = 2;
            xzero_len(s, p)
        };
        if index < first + span {
            break;
        }
        prev = Some(p);
        p += oplen;
        first += span;
    }
    if span == 0 || p >= end {
        return Err(Corrupt);
    }
    let b = s[p];
    let next = if is_xzero(b) { p + 2 } else { p + 1 };
    let has_next = next < end;
    let (zero_op, xzero_op) = (is_zero(b), is_xzero(b));
    let runlen = if zero_op {
        zero_len(b)
    } else if xzero_op {
        xzero_len(s, p)
    } else {
        val_len(b)
    };

    // Step 2: the trivial cases, then the general split.
    let mut in_place = false;
    if !zero_op && !xzero_op {
        if val_value(b) >= count {
            return Ok(false);
        }
        if runlen == 1 {
            s[p] = val(count, 1);
            in_place = true;
        }
    }
    if !in_place && zero_op && runlen == 1 {
        s[p] = val(count, 1);
        in_place = true;
    }
    if !in_place {
        let mut seq = [0u8; 5];
        let mut n = 0;
        let last = first + span - 1;
        let push_zero = |seq: &mut [u8; 5], n: &mut usize, len: usize| {
            if len > ZERO_MAX_LEN {
                let x = xzero(len);
                seq[*n] = x[0];
                seq[*n + 1] = x[1];
                *n += 2;
            } else {
                seq[*n] = zero(len);
                *n += 1;
            }
        };
        if zero_op || xzero_op {
            if index != first {
                push_zero(&mut seq, &mut n, index - first);
            }
            seq[n] = val(count, 1);
            n += 1;
            if index != last {
                push_zero(&mut seq, &mut n, last - index);
            }
        } else {
            let cur = val_value(b);
            if index != first {
                seq[n] = val(cur, index - first);
                n += 1;
            }
            seq[n] = val(count, 1);
            n += 1;
            if index != last {
                seq[n] = val(cur, last - index);
                n += 1;
            }
        }
        // Step 3: substitute the new sequence for the old opcode.
        let seqlen = n;
        let oldlen = if xzero_op { 2 } else { 1 };
        if seqlen > oldlen && (s.len() + seqlen - oldlen) as u64 > sparse_max {
            return promote(s, index, count);
        }
        let new_len = s.len() + seqlen - oldlen;
        let tail: Vec<u8> = if has_next { s.get(next..).unwrap_or_default().to_vec() } else { Vec::new() };
        s.truncate(p);
        s.extend_from_slice(&seq[..seqlen]);
        s.extend_from_slice(&tail);
        s.resize(new_len, 0);
        end = new_len;
    }

    // Step 4: merge adjacent VAL opcodes of equal value, scanning up to 5 opcodes from the
    // one before the change.
    let mut p = prev.unwrap_or(HDR);
    let mut scanlen = 5;
    while p < end && scanlen > 0 {
        scanlen -= 1;
        let b = s[p];
        if is_xzero(b) {
            p += 2;
            continue;
        } else if is_zero(b) {
            p += 1;
            continue;
        }
        if p + 1 < end && is_val(s[p + 1]) {
            let (v1, v2) = (val_value(b), val_value(s[p + 1]));
            if v1 == v2 {
                let len = val_len(b) + val_len(s[p + 1]);
                if len <= VAL_MAX_LEN {
                    s[p + 1] = val(v1, len);
                    s.remove(p);
                    end -= 1;
                    continue;
                }
            }
        }
        p += 1;
    }
    invalidate_cache(s);
    Ok(true)
}

/// Convert to dense and set the register there (the `promote:` path of hllSparseSet).
fn promote(s: &mut Vec<u8>, index: usize, count: u8) -> Result<bool, Corrupt> {
    let mut dense = sparse_to_dense(s)?;
    if let Some(regs) = dense.get_mut(HDR..) {
        dense_set(regs, index, count);
    }
    *s = dense;
    Ok(true)
}

/// Add an element (hllAdd): returns whether a register changed.
pub fn add(s: &mut Vec<u8>, ele: &[u8], sparse_max: u64) -> Result<bool, Corrupt> {
    let (index, count) = pat_len(ele);
    match encoding(s) {
        DENSE => Ok(dense_set(s.get_mut(HDR..).unwrap_or_default(), index, count)),
        SPARSE => sparse_set(s, index, count, sparse_max),
        _ => Err(Corrupt),
    }
}

// ---------------------------------------------------------------------------------------
// Counting and merging.
// ---------------------------------------------------------------------------------------

/// Ertl's sigma function (hllSigma).
fn sigma(mut x: f64) -> f64 {
    if x == 1.0 {
        return f64::INFINITY;
    }
    let mut y = 1.0;
    let mut z = x;
    loop {
        x *= x;
        let z_prime = z;
        z += x * y;
        y += y;
        if z_prime == z {
            return z;
        }
    }
}

/// Ertl's tau function (hllTau).
fn tau(mut x: f64) -> f64 {
    if x == 0.0 || x == 1.0 {
        return 0.0;
    }
    let mut y = 1.0;
    let mut z = 1.0 - x;
    loop {
        x = x.sqrt();
        let z_prime = z;
        y *= 0.5;
        let d = 1.0 - x;
        z -= d * d * y;
        if z_prime == z {
            return z / 3.0;
        }
    }
}

/// The cardinality estimate of a register histogram (the estimator of hllCount).
pub fn estimate(histo: &[u32; 64]) -> u64 {
    let m = REGISTERS as f64;
    let mut z = m * tau((m - histo[Q + 1] as f64) / m);
    for j in (1..=Q).rev() {
        z += histo[j] as f64;
        z *= 0.5;
    }
    z += m * sigma(histo[0] as f64 / m);
    let e = (ALPHA_INF * m * m / z).round();
    e as i64 as u64
}

/// The estimate of a valid HLL (hllCount); `Corrupt` for a sparse body that does not cover
/// exactly the 16384 registers.
pub fn count(s: &[u8]) -> Result<u64, Corrupt> {
    let mut histo = [0u32; 64];
    let body = s.get(HDR..).unwrap_or_default();
    if encoding(s) == DENSE {
        dense_histo(body, &mut histo);
    } else {
        let mut idx = 0usize;
        for (op, _) in ops(s) {
            match op {
                Op::Zero(n) => {
                    idx += n;
                    histo[0] = histo[0].wrapping_add(n as u32);
                }
                Op::Val(v, n) => {
                    idx += n;
                    histo[v as usize] = histo[v as usize].wrapping_add(n as u32);
                }
            }
        }
        if idx != REGISTERS {
            return Err(Corrupt);
        }
    }
    Ok(estimate(&histo))
}

/// The estimate of one byte per register (the union PFCOUNT computes).
pub fn count_raw(max: &[u8; REGISTERS]) -> u64 {
    let mut histo = [0u32; 64];
    for &r in max.iter() {
        histo[(r & 63) as usize] += 1;
    }
    estimate(&histo)
}

/// `max[i] = max(max[i], register i of s)` for a valid HLL (hllMerge).
pub fn merge(max: &mut [u8; REGISTERS], s: &[u8]) -> Result<(), Corrupt> {
    if encoding(s) == DENSE {
        let regs = s.get(HDR..).unwrap_or_default();
        for (i, m) in max.iter_mut().enumerate() {
            let v = dense_get(regs, i);
            if v > *m {
                *m = v;
            }
        }
        return Ok(());
    }
    let mut i = 0usize;
    for (op, _) in ops(s) {
        match op {
            Op::Zero(n) => i += n,
            Op::Val(v, n) => {
                if i + n > REGISTERS {
                    break;
                }
                for m in &mut max[i..i + n] {
                    if v > *m {
                        *m = v;
                    }
                }
                i += n;
            }
        }
    }
    if i != REGISTERS {
        return Err(Corrupt);
    }
    Ok(())
}

/// PFDEBUG DECODE's text of a sparse HLL: `z:<len>`, `Z:<len>` and `v:<value>,<len>`.
pub fn decode(s: &[u8]) -> String {
    let mut out = String::new();
    let mut p = HDR;
    while let Some(&b) = s.get(p) {
        if is_zero(b) {
            out.push_str(&format!("z:{} ", zero_len(b)));
            p += 1;
        } else if is_xzero(b) {
            out.push_str(&format!("Z:{} ", xzero_len(s, p)));
            p += 2;
        } else {
            out.push_str(&format!("v:{},{} ", val_value(b), val_len(b)));
            p += 1;
        }
    }
    out.trim_matches(' ').to_string()
}

/// Every register of a dense HLL.
pub fn registers(s: &[u8]) -> impl Iterator<Item = u8> + '_ {
    let regs = s.get(HDR..).unwrap_or_default();
    (0..REGISTERS).map(move |i| dense_get(regs, i))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A simple model: one byte per register.
    fn model_of(s: &[u8]) -> Vec<u8> {
        let mut max = [0u8; REGISTERS];
        merge(&mut max, s).unwrap();
        max.to_vec()
    }

    #[test]
    fn murmur_matches_redis_vectors() {
        // Values computed by Redis's MurmurHash64A with seed 0xadc83b19.
        let (idx, count) = pat_len(b"a");
        assert!(idx < REGISTERS && (1..=51).contains(&count));
        assert_eq!(murmur64a(b"", 0), 0);
        // Length-dependent tail handling: every tail length exercises a branch.
        let all: Vec<u64> = (0..17).map(|n| murmur64a(&b"abcdefghijklmnopq"[..n], 0xadc83b19)).collect();
        let mut dedup = all.clone();
        dedup.sort_unstable();
        dedup.dedup();
        assert_eq!(dedup.len(), all.len());
    }

    #[test]
    fn new_hll_is_one_xzero() {
        let h = new_sparse();
        assert_eq!(h.len(), 18);
        assert_eq!(&h[16..], &[0x7f, 0xff]);
        assert!(is_valid(&h));
        assert_eq!(count(&h), Ok(0));
        assert_eq!(decode(&h), "Z:16384");
        assert_eq!(cached(&h), Some(0));
    }

    #[test]
    fn validity() {
        assert!(!is_valid(b"HYLL"));
        let mut d = sparse_to_dense(&new_sparse()).unwrap();
        assert_eq!(d.len(), DENSE_SIZE);
        assert!(is_valid(&d));
        d.push(0);
        assert!(!is_valid(&d));
        let mut s = new_sparse();
        s[4] = 2;
        assert!(!is_valid(&s));
    }

    #[test]
    fn dense_registers_roundtrip_without_touching_neighbours() {
        let mut r = vec![0u8; DENSE_SIZE - HDR];
        let mut want = vec![0u8; REGISTERS];
        let mut x = 12345u64;
        for _ in 0..5 {
            for (i, w) in want.iter_mut().enumerate() {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                let v = (x & 63) as u8;
                *w = v;
                dense_set_raw(&mut r, i, v);
            }
            for (i, &w) in want.iter().enumerate() {
                assert_eq!(dense_get(&r, i), w);
            }
        }
    }

    #[test]
    fn sparse_and_dense_agree_with_a_model() {
        let mut sparse = new_sparse();
        let mut dense = sparse_to_dense(&new_sparse()).unwrap();
        let mut model = vec![0u8; REGISTERS];
        for j in 0u64..20_000 {
            let ele = j.to_le_bytes();
            let (i, c) = pat_len(&ele);
            let changed = c > model[i];
            if changed {
                model[i] = c;
            }
            assert_eq!(add(&mut sparse, &ele, 3000).unwrap(), changed, "element {j}");
            assert_eq!(add(&mut dense, &ele, 3000).unwrap(), changed);
            if j % 997 == 0 || j < 300 {
                assert_eq!(model_of(&sparse), model, "element {j}");
                assert_eq!(count(&sparse).unwrap(), count(&dense).unwrap());
                if encoding(&sparse) == SPARSE {
                    assert!(sparse.len() <= 3000);
                    assert_eq!(sparse_to_dense(&sparse).unwrap()[HDR..], dense[HDR..]);
                }
            }
        }
        assert_eq!(encoding(&sparse), DENSE);
        let est = count(&dense).unwrap() as f64;
        assert!((est - 20_000.0).abs() < 20_000.0 * 0.05, "{est}");
    }

    #[test]
    fn sparse_promotes_on_big_counts() {
        let mut s = new_sparse();
        assert_eq!(sparse_set(&mut s, 100, 33, 3000), Ok(true));
        assert_eq!(encoding(&s), DENSE);
        assert_eq!(s.len(), DENSE_SIZE);
        assert_eq!(dense_get(&s[HDR..], 100), 33);
    }

    #[test]
    fn sparse_splits_and_merges_opcodes() {
        let mut s = new_sparse();
        sparse_set(&mut s, 0, 3, 3000).unwrap();
        assert_eq!(decode(&s), "v:3,1 Z:16383");
        sparse_set(&mut s, 1, 3, 3000).unwrap();
        assert_eq!(decode(&s), "v:3,2 Z:16382");
        sparse_set(&mut s, 70, 1, 3000).unwrap();
        assert_eq!(decode(&s), "v:3,2 Z:68 v:1,1 Z:16313");
        sparse_set(&mut s, 16383, 2, 3000).unwrap();
        assert_eq!(decode(&s), "v:3,2 Z:68 v:1,1 Z:16312 v:2,1");
        assert_eq!(sparse_set(&mut s, 0, 2, 3000), Ok(false));
        assert!(cached(&s).is_none());
    }

    #[test]
    fn corrupted_sparse_bodies_are_detected() {
        let mut s = new_sparse();
        s.truncate(17); // half an XZERO: covers (0x7f << 8 | 0) + 1 registers
        assert_eq!(count(&s), Err(Corrupt));
        let mut max = [0u8; REGISTERS];
        assert_eq!(merge(&mut max, &s), Err(Corrupt));
        assert_eq!(sparse_to_dense(&s), Err(Corrupt));
        let mut short = new_sparse();
        short.truncate(HDR);
        assert_eq!(sparse_set(&mut short, 5, 1, 3000), Err(Corrupt));
        // VAL runs past the end of the registers.
        let mut over = new_sparse();
        over.truncate(HDR);
        over.extend_from_slice(&xzero(16383));
        over.push(val(1, 4));
        assert_eq!(count(&over), Err(Corrupt));
        assert_eq!(merge(&mut max, &over), Err(Corrupt));
    }

    #[test]
    fn estimator_edges() {
        let mut h = [0u32; 64];
        h[0] = REGISTERS as u32;
        assert_eq!(estimate(&h), 0);
        let max = [1u8; REGISTERS];
        assert!(count_raw(&max) > 10_000);
    }
}
