//! `long double` arithmetic as Redis 7.0 does it for INCRBYFLOAT (and HINCRBYFLOAT): both
//! operands parsed with `strtold`, added in C's `long double` (80-bit extended precision on
//! x86-64) and printed with `%.17Lf` minus trailing zeros. Rust has no `long double`, so the
//! computation is done by `csrc/longdouble.c`, compiled by the build script.

use std::os::raw::{c_char, c_int, c_long};

/// Redis's `MAX_LONG_DOUBLE_CHARS`: operands must be shorter than this, and results fit in it.
pub const MAX_LONG_DOUBLE_CHARS: usize = 5 * 1024;

extern "C" {
    fn brim_ld_valid(s: *const c_char, len: usize) -> c_int;
    fn brim_ld_incr(
        cur: *const c_char,
        cur_len: usize,
        has_cur: c_int,
        incr: *const c_char,
        incr_len: usize,
        out: *mut c_char,
        out_cap: usize,
    ) -> c_long;
}

/// Why a float increment failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IncrFloatError {
    /// The current value is not a float (`ERR value is not a valid float` for INCRBYFLOAT).
    InvalidValue,
    /// The increment is not a float.
    InvalidIncrement,
    /// The sum is NaN or infinite (`ERR increment would produce NaN or Infinity`).
    NanOrInfinity,
}

/// Whether `s` is a float as Redis's `string2ld` accepts it (shorter than 5 KiB, no leading
/// space, no trailing garbage, no NUL byte, not NaN, not out of range).
pub fn is_valid_long_double(s: &[u8]) -> bool {
    // SAFETY: the pointer and length describe a live byte slice; the C side only reads it.
    unsafe { brim_ld_valid(s.as_ptr().cast(), s.len()) != 0 }
}

/// `current + incr` in `long double`, formatted as Redis stores the result of INCRBYFLOAT.
/// `current` is `None` for a missing key (counts as 0). The current value is validated first.
pub fn incr_by_float(current: Option<&[u8]>, incr: &[u8]) -> Result<Vec<u8>, IncrFloatError> {
    let mut out = vec![0u8; MAX_LONG_DOUBLE_CHARS];
    let (cur_ptr, cur_len, has_cur) = match current {
        Some(c) => (c.as_ptr(), c.len(), 1),
        None => (std::ptr::null(), 0, 0),
    };
    // SAFETY: input pointers and lengths describe live slices (or null with `has_cur == 0`,
    // never read); `out` is writable for `out.len()` bytes and the C side writes at most that.
    let n = unsafe {
        brim_ld_incr(
            cur_ptr.cast(),
            cur_len,
            has_cur,
            incr.as_ptr().cast(),
            incr.len(),
            out.as_mut_ptr().cast(),
            out.len(),
        )
    };
    match n {
        -1 => Err(IncrFloatError::InvalidValue),
        -2 => Err(IncrFloatError::InvalidIncrement),
        -3 => Err(IncrFloatError::NanOrInfinity),
        n if n < 0 => Err(IncrFloatError::NanOrInfinity),
        n => {
            out.truncate((n as usize).min(MAX_LONG_DOUBLE_CHARS));
            out.shrink_to_fit();
            Ok(out)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn incr(cur: Option<&str>, by: &str) -> Result<String, IncrFloatError> {
        incr_by_float(cur.map(str::as_bytes), by.as_bytes()).map(|v| String::from_utf8(v).unwrap())
    }

    #[test]
    fn sums_like_redis() {
        assert_eq!(incr(Some("10.50"), "0.1").unwrap(), "10.6");
        assert_eq!(incr(None, "10.5").unwrap(), "10.5");
        assert_eq!(incr(Some("10"), "-10").unwrap(), "0");
        assert_eq!(incr(Some("5.0e3"), "2.0e2").unwrap(), "5200");
        assert_eq!(incr(None, "-0.000000000000000000001").unwrap(), "0");
        assert_eq!(incr(None, "1e-4940").unwrap(), "0");
        assert_eq!(incr(Some("3"), "1.1").unwrap(), "4.1");
        assert_eq!(incr(None, "1.5e4931").unwrap().len(), 4932);
    }

    #[test]
    fn errors_like_redis() {
        assert_eq!(incr(Some("abc"), "1"), Err(IncrFloatError::InvalidValue));
        assert_eq!(incr(Some("1"), "x"), Err(IncrFloatError::InvalidIncrement));
        assert_eq!(incr(None, " 1"), Err(IncrFloatError::InvalidIncrement));
        assert_eq!(incr(None, "1 "), Err(IncrFloatError::InvalidIncrement));
        assert_eq!(incr(None, ""), Err(IncrFloatError::InvalidIncrement));
        assert_eq!(incr(None, "nan"), Err(IncrFloatError::InvalidIncrement));
        assert_eq!(incr(None, "1e-4960"), Err(IncrFloatError::InvalidIncrement));
        assert_eq!(incr(None, "1e5000"), Err(IncrFloatError::InvalidIncrement));
        assert_eq!(incr(None, "inf"), Err(IncrFloatError::NanOrInfinity));
        assert_eq!(incr(Some("1.1e4932"), "1.1e4932"), Err(IncrFloatError::NanOrInfinity));
        assert_eq!(incr(None, "0x10").unwrap(), "16");
        assert_eq!(incr(None, "1\0junk"), Err(IncrFloatError::InvalidIncrement));
        assert!(!is_valid_long_double(&vec![b'0'; MAX_LONG_DOUBLE_CHARS]));
        assert!(is_valid_long_double(&vec![b'0'; MAX_LONG_DOUBLE_CHARS - 1]));
    }
}
