//! Bit-level helpers of the bitmap commands, with Redis 7.0's `bitops.c` semantics and no
//! I/O: population count, first set/clear bit, BITCOUNT/BITPOS range arithmetic, and the
//! BITFIELD integer reads, writes and overflow rules.
//!
//! Bit 0 is the most significant bit of byte 0, as in SETBIT.

use std::collections::BTreeMap;

/// Number of set bits.
pub fn popcount(bytes: &[u8]) -> u64 {
    let mut chunks = bytes.chunks_exact(8);
    let mut n: u64 = 0;
    for c in &mut chunks {
        let mut w = [0u8; 8];
        w.copy_from_slice(c);
        n += u64::from_ne_bytes(w).count_ones() as u64;
    }
    n + chunks.remainder().iter().map(|b| b.count_ones() as u64).sum::<u64>()
}

/// Position of the first bit equal to `bit` (Redis's redisBitpos). Looking for a 1 in
/// all-zero bytes gives -1; looking for a 0 in all-one bytes gives `8 * len` (the string is
/// taken as zero padded on the right).
pub fn first_bit(bytes: &[u8], bit: bool) -> i64 {
    let skip = if bit { 0u8 } else { 0xff };
    let mut chunks = bytes.chunks_exact(8);
    let mut pos: i64 = 0;
    for c in &mut chunks {
        let mut w = [0u8; 8];
        w.copy_from_slice(c);
        let word = u64::from_be_bytes(w);
        let found = if bit { word != 0 } else { word != u64::MAX };
        if found {
            let off = if bit { word.leading_zeros() } else { word.leading_ones() };
            return pos + off as i64;
        }
        pos += 64;
    }
    for &b in chunks.remainder() {
        if b != skip {
            let off = if bit { b.leading_zeros() } else { b.leading_ones() };
            return pos + off as i64;
        }
        pos += 8;
    }
    if bit {
        -1
    } else {
        pos
    }
}

/// A normalized BITCOUNT/BITPOS range: whole bytes `start..=end` plus, in BIT mode, masks of
/// the bits outside the range in the first and last byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Range {
    /// First byte.
    pub start: i64,
    /// Last byte (`start > end`: empty).
    pub end: i64,
    /// Bits of the first byte before the range.
    pub first_mask: u8,
    /// Bits of the last byte after the range.
    pub last_mask: u8,
}

/// Normalize `start..=end` over a string of `len` bytes as BITCOUNT and BITPOS do: negative
/// indexes count from the end, then both are clamped; in BIT mode the indexes are bits.
pub fn normalize(start: i64, end: i64, len: usize, bit_mode: bool) -> Range {
    let mut totlen = len as i64;
    if bit_mode {
        totlen = totlen.saturating_mul(8);
    }
    let mut start = if start < 0 { totlen.saturating_add(start) } else { start };
    let mut end = if end < 0 { totlen.saturating_add(end) } else { end };
    start = start.max(0);
    end = end.max(0);
    if end >= totlen {
        end = totlen - 1;
    }
    let (mut first_mask, mut last_mask) = (0u8, 0u8);
    if bit_mode && start <= end {
        first_mask = !((1u16 << (8 - (start & 7))) - 1) as u8;
        last_mask = ((1u16 << (7 - (end & 7))) - 1) as u8;
        start >>= 3;
        end >>= 3;
    }
    Range { start, end, first_mask, last_mask }
}

/// BITCOUNT over a normalized range.
pub fn count_range(p: &[u8], r: Range) -> i64 {
    if r.start > r.end {
        return 0;
    }
    let (s, e) = (r.start as usize, r.end as usize);
    let mut n = popcount(p.get(s..=e).unwrap_or_default()) as i64;
    if r.first_mask != 0 {
        n -= (p.get(s).copied().unwrap_or(0) & r.first_mask).count_ones() as i64;
    }
    if r.last_mask != 0 {
        n -= (p.get(e).copied().unwrap_or(0) & r.last_mask).count_ones() as i64;
    }
    n
}

/// BITPOS over a normalized range of an existing string (the part of Redis's bitposCommand
/// after argument parsing). `end_given`: the caller passed an explicit end, so running off
/// the range while looking for a 0 gives -1.
pub fn bitpos_range(p: &[u8], r: Range, bit: bool, end_given: bool) -> i64 {
    if r.start > r.end {
        return -1;
    }
    let byte = |i: i64| p.get(i as usize).copied().unwrap_or(0);
    let mut start = r.start;
    let mut bytes = r.end - r.start + 1;
    let pos = 'search: {
        if r.first_mask != 0 {
            let mut c = if bit { byte(start) & !r.first_mask } else { byte(start) | r.first_mask };
            if r.last_mask != 0 && bytes == 1 {
                c = if bit { c & !r.last_mask } else { c | r.last_mask };
            }
            let pos = first_bit(&[c], bit);
            if bytes == 1 || (pos != -1 && pos != 8) {
                break 'search pos;
            }
            start += 1;
            bytes -= 1;
        }
        let cur = bytes - if r.last_mask != 0 { 1 } else { 0 };
        if cur > 0 {
            let slice = p.get(start as usize..(start + cur) as usize).unwrap_or_default();
            let pos = first_bit(slice, bit);
            if bytes == cur || (pos != -1 && pos != cur << 3) {
                break 'search pos;
            }
            start += cur;
            bytes -= cur;
        }
        let c = if bit { byte(r.end) & !r.last_mask } else { byte(r.end) | r.last_mask };
        first_bit(&[c], bit)
    };
    if end_given && !bit && pos == bytes << 3 {
        return -1;
    }
    if pos != -1 {
        pos + (start << 3)
    } else {
        pos
    }
}

// ---------------------------------------------------------------------------------------
// BITFIELD.
// ---------------------------------------------------------------------------------------

/// What happens when an INCRBY or SET does not fit the field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Overflow {
    /// Wrap around (modular arithmetic; signed fields wrap to the most negative value).
    Wrap,
    /// Saturate at the field's minimum or maximum.
    Sat,
    /// Do nothing and reply null.
    Fail,
}

/// A string seen through pending byte writes: reads past `len` give 0.
pub struct View<'a> {
    base: &'a [u8],
    len: usize,
    patch: BTreeMap<usize, u8>,
}

impl<'a> View<'a> {
    /// `base` seen as a string of `len` bytes (zero padded if longer).
    pub fn new(base: &'a [u8], len: usize) -> Self {
        View { base, len, patch: BTreeMap::new() }
    }

    /// Byte `i`.
    pub fn byte(&self, i: usize) -> u8 {
        match self.patch.get(&i) {
            Some(&b) => b,
            None if i < self.len => self.base.get(i).copied().unwrap_or(0),
            None => 0,
        }
    }

    fn set_byte(&mut self, i: usize, v: u8) {
        self.patch.insert(i, v);
    }

    /// The bytes written that differ from the base, in order.
    pub fn changed_bytes(&self) -> Vec<(usize, u8)> {
        self.patch
            .iter()
            .filter(|&(&i, &v)| self.base.get(i).copied().unwrap_or(0) != v)
            .map(|(&i, &v)| (i, v))
            .collect()
    }

    /// Read a `bits`-wide unsigned field at bit `offset`.
    pub fn get_unsigned(&self, offset: u64, bits: u32) -> u64 {
        let mut value: u64 = 0;
        for j in 0..bits as u64 {
            let o = offset + j;
            let b = self.byte((o >> 3) as usize);
            let bitval = (b >> (7 - (o & 7))) & 1;
            value = (value << 1) | bitval as u64;
        }
        value
    }

    /// Read a `bits`-wide signed (two's complement) field at bit `offset`.
    pub fn get_signed(&self, offset: u64, bits: u32) -> i64 {
        let mut value = self.get_unsigned(offset, bits) as i64;
        if bits < 64 && (value as u64) & (1u64 << (bits - 1)) != 0 {
            value |= (u64::MAX << bits) as i64;
        }
        value
    }

    /// Write the low `bits` of `value` at bit `offset`.
    pub fn set_unsigned(&mut self, offset: u64, bits: u32, value: u64) {
        for j in 0..bits as u64 {
            let bitval = ((value >> (bits as u64 - 1 - j)) & 1) as u8;
            let o = offset + j;
            let byte = (o >> 3) as usize;
            let bit = 7 - (o & 7);
            let mut b = self.byte(byte);
            b &= !(1 << bit);
            b |= bitval << bit;
            self.set_byte(byte, b);
        }
    }
}

/// Whether `value + incr` fits an unsigned field of `bits` bits (checkUnsignedBitfieldOverflow):
/// 0, 1 (overflow) or -1 (underflow), with the value to store under WRAP or SAT.
pub fn unsigned_overflow(value: u64, incr: i64, bits: u32, ow: Overflow) -> (i32, u64) {
    let max: u64 = if bits == 64 { u64::MAX } else { (1u64 << bits) - 1 };
    let maxincr = max.wrapping_sub(value) as i64;
    let minincr = value.wrapping_neg() as i64;
    let wrap = || {
        let mask = if bits >= 64 { 0 } else { u64::MAX << bits };
        value.wrapping_add(incr as u64) & !mask
    };
    if value > max || (incr > 0 && incr > maxincr) {
        let limit = match ow {
            Overflow::Wrap => wrap(),
            Overflow::Sat => max,
            Overflow::Fail => 0,
        };
        (1, limit)
    } else if incr < 0 && incr < minincr {
        let limit = match ow {
            Overflow::Wrap => wrap(),
            Overflow::Sat => 0,
            Overflow::Fail => 0,
        };
        (-1, limit)
    } else {
        (0, 0)
    }
}

/// Whether `value + incr` fits a signed field of `bits` bits (checkSignedBitfieldOverflow):
/// 0, 1 (overflow) or -1 (underflow), with the value to store under WRAP or SAT.
pub fn signed_overflow(value: i64, incr: i64, bits: u32, ow: Overflow) -> (i32, i64) {
    let max: i64 = if bits == 64 { i64::MAX } else { (1i64 << (bits - 1)) - 1 };
    let min: i64 = -max - 1;
    let maxincr = (max as u64).wrapping_sub(value as u64) as i64;
    let minincr = min.wrapping_sub(value);
    let wrap = || {
        let msb = 1u64 << (bits - 1);
        let mut c = (value as u64).wrapping_add(incr as u64);
        if bits < 64 {
            let mask = u64::MAX << bits;
            if c & msb != 0 {
                c |= mask;
            } else {
                c &= !mask;
            }
        }
        c as i64
    };
    if value > max || (bits != 64 && incr > maxincr) || (value >= 0 && incr > 0 && incr > maxincr) {
        let limit = match ow {
            Overflow::Wrap => wrap(),
            Overflow::Sat => max,
            Overflow::Fail => 0,
        };
        (1, limit)
    } else if value < min || (bits != 64 && incr < minincr) || (value < 0 && incr < 0 && incr < minincr) {
        let limit = match ow {
            Overflow::Wrap => wrap(),
            Overflow::Sat => min,
            Overflow::Fail => 0,
        };
        (-1, limit)
    } else {
        (0, 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Bit `i` of `p` (MSB first), the slow way.
    fn bit_at(p: &[u8], i: usize) -> bool {
        p.get(i / 8).is_some_and(|b| b >> (7 - i % 8) & 1 == 1)
    }

    #[test]
    fn first_bit_edges() {
        assert_eq!(first_bit(&[], true), -1);
        assert_eq!(first_bit(&[], false), 0);
        assert_eq!(first_bit(&[0xff; 3], false), 24);
        assert_eq!(first_bit(&[0xff; 16], false), 128);
        assert_eq!(first_bit(&[0; 9], true), -1);
        assert_eq!(first_bit(&[0, 0, 0, 0, 0, 0, 0, 0, 0x10], true), 67);
        assert_eq!(first_bit(&[0xff, 0xfe], false), 15);
    }

    #[test]
    fn bitfield_signed_unsigned_roundtrip() {
        let mut v = View::new(&[], 16);
        v.set_unsigned(7, 5, 23);
        assert_eq!(v.byte(0), 0b0000_0001);
        assert_eq!(v.byte(1), 0b0111_0000);
        assert_eq!(v.get_unsigned(7, 5), 23);
        assert_eq!(v.get_signed(7, 5), 23 - 32);
        v.set_unsigned(64, 64, (-2i64) as u64);
        assert_eq!(v.get_signed(64, 64), -2);
        assert_eq!(v.changed_bytes().len(), 10);
    }

    #[test]
    fn overflow_rules() {
        assert_eq!(unsigned_overflow(250, 10, 8, Overflow::Wrap), (1, 4));
        assert_eq!(unsigned_overflow(250, 10, 8, Overflow::Sat), (1, 255));
        assert_eq!(unsigned_overflow(5, -10, 8, Overflow::Sat), (-1, 0));
        assert_eq!(unsigned_overflow(5, -10, 8, Overflow::Wrap), (-1, 251));
        assert_eq!(unsigned_overflow(5, 10, 8, Overflow::Wrap), (0, 0));
        assert_eq!(signed_overflow(120, 10, 8, Overflow::Wrap), (1, -126));
        assert_eq!(signed_overflow(120, 10, 8, Overflow::Sat), (1, 127));
        assert_eq!(signed_overflow(-120, -10, 8, Overflow::Sat), (-1, -128));
        assert_eq!(signed_overflow(i64::MAX, 1, 64, Overflow::Wrap), (1, i64::MIN));
        assert_eq!(signed_overflow(i64::MIN, -1, 64, Overflow::Sat), (-1, i64::MIN));
        assert_eq!(signed_overflow(300, 0, 8, Overflow::Wrap), (1, 44));
    }

    proptest! {
        #[test]
        fn popcount_and_first_bit_match_a_bit_model(p in proptest::collection::vec(any::<u8>(), 0..40)) {
            let n = p.len() * 8;
            prop_assert_eq!(popcount(&p) as usize, (0..n).filter(|&i| bit_at(&p, i)).count());
            let one = (0..n).find(|&i| bit_at(&p, i)).map_or(-1, |i| i as i64);
            let zero = (0..n).find(|&i| !bit_at(&p, i)).map_or(n as i64, |i| i as i64);
            prop_assert_eq!(first_bit(&p, true), one);
            prop_assert_eq!(first_bit(&p, false), zero);
        }

        #[test]
        fn ranges_match_a_bit_model(p in proptest::collection::vec(any::<u8>(), 0..12),
                                    s in -100i64..100, e in -100i64..100, bit in any::<bool>()) {
            let n = (p.len() * 8) as i64;
            let r = normalize(s, e, p.len(), true);
            // The model: the bits of [s, e] after index normalization.
            let norm = |x: i64| if x < 0 { (n + x).max(0) } else { x };
            let (a, b) = (norm(s), norm(e).min(n - 1));
            let want = if a > b { 0 } else { (a..=b).filter(|&i| bit_at(&p, i as usize)).count() as i64 };
            prop_assert_eq!(count_range(&p, r), want);
            let want_pos = if a > b { -1 } else {
                (a..=b).find(|&i| bit_at(&p, i as usize) == bit).unwrap_or(-1)
            };
            prop_assert_eq!(bitpos_range(&p, r, bit, true), want_pos);
        }

        #[test]
        fn bitfield_write_then_read(off in 0u64..100, bits in 1u32..=64, v in any::<i64>()) {
            let mut view = View::new(&[], 32);
            view.set_unsigned(off, bits, v as u64);
            let mask = if bits == 64 { u64::MAX } else { (1u64 << bits) - 1 };
            prop_assert_eq!(view.get_unsigned(off, bits), v as u64 & mask);
            let back = view.get_signed(off, bits);
            let wrapped = signed_overflow(v, 0, bits, Overflow::Wrap);
            prop_assert_eq!(back, if wrapped.0 == 0 { v } else { wrapped.1 });
        }
    }
}
