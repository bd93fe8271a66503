//! Parsing numbers and options out of command arguments, with Redis's error texts.

/// `ERR value is not an integer or out of range`.
pub const NOT_INTEGER: &str = "ERR value is not an integer or out of range";
/// `ERR value is not a valid float`.
pub const NOT_FLOAT: &str = "ERR value is not a valid float";
/// `ERR syntax error`.
pub const SYNTAX: &str = "ERR syntax error";
/// `WRONGTYPE ...`.
pub const WRONGTYPE: &str = "WRONGTYPE Operation against a key holding the wrong kind of value";

/// Parse an integer argument as Redis's string2ll (strict).
pub fn parse_i64(arg: &[u8]) -> Option<i64> {
    brim_engine::value::parse_i64_strict(arg)
}

/// Parse a double argument as Redis's string2d / strtod: no leading spaces, the whole
/// string consumed, `nan` refused, `inf`/`-inf`/`+inf` accepted.
pub fn parse_f64(arg: &[u8]) -> Option<f64> {
    let s = std::str::from_utf8(arg).ok()?;
    if s.is_empty() || s.starts_with(char::is_whitespace) || s.ends_with(char::is_whitespace) {
        return None;
    }
    let lower = s.to_ascii_lowercase();
    let v = match lower.as_str() {
        "inf" | "+inf" | "infinity" | "+infinity" => f64::INFINITY,
        "-inf" | "-infinity" => f64::NEG_INFINITY,
        _ => {
            if lower.contains("nan") || lower.contains("inf") {
                return None;
            }
            s.parse::<f64>().ok()?
        }
    };
    if v.is_nan() {
        None
    } else {
        Some(v)
    }
}

/// The part of an argument C's string functions see: up to the first NUL byte (Redis
/// compares option names with `strcasecmp` on NUL-terminated strings).
pub fn c_str(arg: &[u8]) -> &[u8] {
    match arg.iter().position(|&b| b == 0) {
        Some(n) => arg.get(..n).unwrap_or(arg),
        None => arg,
    }
}

/// The `[MATCH pattern] [COUNT count]` options of HSCAN, SSCAN and ZSCAN from `args[from..]`,
/// as Redis's scanGenericCommand reads them: COUNT below 1 is a syntax error, a pattern of
/// `*` matches everything (`None`). The error is the whole reply text.
pub fn parse_scan_options<'a>(
    args: &[&'a [u8]],
    from: usize,
) -> Result<(usize, Option<&'a [u8]>), &'static str> {
    let mut count = 10usize;
    let mut pattern = None;
    let mut i = from;
    while i < args.len() {
        let left = args.len() - i;
        let opt = c_str(args[i]);
        if is(opt, "count") && left >= 2 {
            match parse_i64(args[i + 1]) {
                None => return Err(NOT_INTEGER),
                Some(c) if c < 1 => return Err(SYNTAX),
                Some(c) => count = usize::try_from(c).unwrap_or(usize::MAX),
            }
        } else if is(opt, "match") && left >= 2 {
            pattern = Some(args[i + 1]).filter(|p| *p != b"*");
        } else {
            return Err(SYNTAX);
        }
        i += 2;
    }
    Ok((count, pattern))
}

/// Whether `arg` equals `word`, ASCII case-insensitively.
pub fn is(arg: &[u8], word: &str) -> bool {
    arg.eq_ignore_ascii_case(word.as_bytes())
}

/// Parse a SCAN cursor as Redis's parseScanCursorOrReply (C `strtoul`: optional sign, a
/// negative number wraps, no leading space, nothing after the digits, no overflow; the
/// empty string is cursor 0).
pub fn parse_cursor(arg: &[u8]) -> Option<u64> {
    let (neg, digits) = match arg.first() {
        Some(b'-') => (true, arg.get(1..).unwrap_or_default()),
        Some(b'+') => (false, arg.get(1..).unwrap_or_default()),
        _ => (false, arg),
    };
    if digits.is_empty() {
        // strtoul consumed nothing: the end pointer is the start, which must be the end.
        return arg.is_empty().then_some(0);
    }
    let mut v: u64 = 0;
    for &c in digits {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add((c - b'0') as u64)?;
    }
    Some(if neg { v.wrapping_neg() } else { v })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_parsing_follows_strtoul() {
        assert_eq!(parse_cursor(b"0"), Some(0));
        assert_eq!(parse_cursor(b""), Some(0));
        assert_eq!(parse_cursor(b"+7"), Some(7));
        assert_eq!(parse_cursor(b"-1"), Some(u64::MAX));
        assert_eq!(parse_cursor(b"-18446744073709551615"), Some(1));
        assert_eq!(parse_cursor(b"18446744073709551615"), Some(u64::MAX));
        for bad in [&b"18446744073709551616"[..], b" 0", b"0 ", b"0x1", b"-", b"+", b"1a", b"--1"] {
            assert_eq!(parse_cursor(bad), None, "{:?}", bad);
        }
    }
}
