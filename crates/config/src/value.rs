//! Low-level value parsing and formatting helpers that reproduce the C routines Redis uses
//! for its configuration (`memtoull`, `string2ll`, `strtoll`, `sdscatrepr`, ...).

/// C `isspace` in the "C" locale.
#[inline]
pub(crate) fn c_isspace(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c)
}

/// Redis `string2ll`: strict base-10 parse (no spaces, no `+`, no leading zeros, `-0` rejected).
pub(crate) fn string2ll(s: &[u8]) -> Option<i64> {
    if s.is_empty() || s.len() >= 21 {
        return None;
    }
    if s == b"0" {
        return Some(0);
    }
    let (neg, digits) = match s[0] {
        b'-' => (true, &s[1..]),
        _ => (false, s),
    };
    if digits.is_empty() || !(b'1'..=b'9').contains(&digits[0]) {
        return None;
    }
    let mut v: u64 = 0;
    for &c in digits {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add(u64::from(c - b'0'))?;
    }
    if neg {
        if v > (i64::MAX as u64) + 1 {
            return None;
        }
        Some((v as i64).wrapping_neg())
    } else {
        i64::try_from(v).ok()
    }
}

/// glibc `strtoll(s, &end, base)` for base 8 or 10: returns the value (saturated on
/// overflow), whether it overflowed, and the index where parsing stopped (0 if no digits).
pub(crate) fn strtoll(s: &[u8], base: u32) -> (i64, bool, usize) {
    let mut i = 0;
    while i < s.len() && c_isspace(s[i]) {
        i += 1;
    }
    let mut neg = false;
    if i < s.len() && (s[i] == b'+' || s[i] == b'-') {
        neg = s[i] == b'-';
        i += 1;
    }
    let start = i;
    let mut v: u64 = 0;
    let mut overflow = false;
    while i < s.len() {
        let d = match (s[i] as char).to_digit(base) {
            Some(d) => d,
            None => break,
        };
        match v.checked_mul(u64::from(base)).and_then(|x| x.checked_add(u64::from(d))) {
            Some(x) => v = x,
            None => overflow = true,
        }
        i += 1;
    }
    if i == start {
        return (0, false, 0);
    }
    let limit = if neg { (i64::MAX as u64) + 1 } else { i64::MAX as u64 };
    if overflow || v > limit {
        return (if neg { i64::MIN } else { i64::MAX }, true, i);
    }
    let val = if neg { (v as i64).wrapping_neg() } else { v as i64 };
    (val, false, i)
}

/// `strtoll(s, &eptr, 10)` followed by Redis's usual `*eptr == '\0'` check.
pub(crate) fn strtoll_full(s: &[u8]) -> Option<i64> {
    let (v, _, end) = strtoll(s, 10);
    // With no digits glibc leaves eptr at the start of the string, which is only
    // the terminator when the string is empty.
    if end == 0 {
        return if s.is_empty() { Some(0) } else { None };
    }
    (end == s.len()).then_some(v)
}

/// Redis `memtoull`: a non-negative integer with an optional case-insensitive unit
/// (`b`, `k`=1000, `kb`=1024, `m`, `mb`, `g`, `gb`). Overflow wraps exactly like the C code.
pub fn memtoull(s: &[u8]) -> Option<u64> {
    if s.first() == Some(&b'-') {
        return None;
    }
    let digits = s.iter().take_while(|c| c.is_ascii_digit()).count();
    let unit = &s[digits..];
    let mul: u64 = if unit.is_empty() || unit.eq_ignore_ascii_case(b"b") {
        1
    } else if unit.eq_ignore_ascii_case(b"k") {
        1000
    } else if unit.eq_ignore_ascii_case(b"kb") {
        1024
    } else if unit.eq_ignore_ascii_case(b"m") {
        1000 * 1000
    } else if unit.eq_ignore_ascii_case(b"mb") {
        1024 * 1024
    } else if unit.eq_ignore_ascii_case(b"g") {
        1000 * 1000 * 1000
    } else if unit.eq_ignore_ascii_case(b"gb") {
        1024 * 1024 * 1024
    } else {
        return None;
    };
    if digits >= 128 {
        return None;
    }
    // strtoull on pure digits: saturates at u64::MAX (ERANGE is not checked by Redis).
    let mut v: u64 = 0;
    for &c in &s[..digits] {
        v = v.checked_mul(10).and_then(|x| x.checked_add(u64::from(c - b'0'))).unwrap_or(u64::MAX);
        if v == u64::MAX {
            break;
        }
    }
    Some(v.wrapping_mul(mul))
}

/// Redis `rewriteConfigFormatMemory`: `1gb`, `3mb`, `2kb` when divisible, else plain bytes.
pub(crate) fn format_memory(bytes: i64) -> String {
    const GB: i64 = 1024 * 1024 * 1024;
    const MB: i64 = 1024 * 1024;
    const KB: i64 = 1024;
    if bytes != 0 && bytes % GB == 0 {
        format!("{}gb", bytes / GB)
    } else if bytes != 0 && bytes % MB == 0 {
        format!("{}mb", bytes / MB)
    } else if bytes != 0 && bytes % KB == 0 {
        format!("{}kb", bytes / KB)
    } else {
        bytes.to_string()
    }
}

/// Redis `sdscatrepr`: a double-quoted, escaped representation.
pub(crate) fn repr(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for &b in s.as_bytes() {
        match b {
            b'\\' => out.push_str("\\\\"),
            b'"' => out.push_str("\\\""),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b'\t' => out.push_str("\\t"),
            0x07 => out.push_str("\\a"),
            0x08 => out.push_str("\\b"),
            0x20..=0x7e => out.push(b as char),
            _ => out.push_str(&format!("\\x{b:02x}")),
        }
    }
    out.push('"');
    out
}

/// `yesnotoi`.
pub(crate) fn yes_no(s: &[u8]) -> Option<bool> {
    if s.eq_ignore_ascii_case(b"yes") {
        Some(true)
    } else if s.eq_ignore_ascii_case(b"no") {
        Some(false)
    } else {
        None
    }
}

/// Redis `string2d`: strtod over the whole string, no leading space, no NaN, no overflow.
pub(crate) fn string2d(s: &[u8]) -> Option<f64> {
    if s.is_empty() || c_isspace(s[0]) {
        return None;
    }
    let lower = std::str::from_utf8(s).ok()?.to_ascii_lowercase();
    let body = lower.trim_start_matches(['+', '-']);
    let v: f64 = match body.strip_prefix("0x") {
        // strtod also accepts hexadecimal (integers only here).
        Some(hex) => {
            let mag = u64::from_str_radix(hex, 16).ok()? as f64;
            if lower.starts_with('-') {
                -mag
            } else {
                mag
            }
        }
        None => lower.parse().ok()?,
    };
    let overflow = v.is_infinite() && !body.starts_with("inf");
    let underflow = v == 0.0 && body.bytes().take_while(|&c| c != b'e').any(|c| (b'1'..=b'9').contains(&c));
    if v.is_nan() || overflow || underflow {
        return None;
    }
    Some(v)
}

/// `sprintf("%f")` followed by Redis's `trimDoubleString`.
pub(crate) fn format_percentile(v: f64) -> String {
    let mut s = format!("{v:.6}");
    if s.contains('.') {
        while s.ends_with('0') {
            s.pop();
        }
        if s.ends_with('.') {
            s.pop();
        }
    }
    s
}

/// Keyspace notification flag bits (Redis's `NOTIFY_*`).
pub mod notify {
    /// `K`: keyspace events (`__keyspace@<db>__` prefix).
    pub const KEYSPACE: u32 = 1 << 0;
    /// `E`: keyevent events (`__keyevent@<db>__` prefix).
    pub const KEYEVENT: u32 = 1 << 1;
    /// `g`: generic commands (DEL, EXPIRE, RENAME, ...).
    pub const GENERIC: u32 = 1 << 2;
    /// `$`: string commands.
    pub const STRING: u32 = 1 << 3;
    /// `l`: list commands.
    pub const LIST: u32 = 1 << 4;
    /// `s`: set commands.
    pub const SET: u32 = 1 << 5;
    /// `h`: hash commands.
    pub const HASH: u32 = 1 << 6;
    /// `z`: sorted set commands.
    pub const ZSET: u32 = 1 << 7;
    /// `x`: expired events.
    pub const EXPIRED: u32 = 1 << 8;
    /// `e`: evicted events.
    pub const EVICTED: u32 = 1 << 9;
    /// `t`: stream commands.
    pub const STREAM: u32 = 1 << 10;
    /// `m`: key-miss events (excluded from `A`).
    pub const KEY_MISS: u32 = 1 << 11;
    /// Module-only "loaded" events (no character).
    pub const LOADED: u32 = 1 << 12;
    /// `d`: module key type events.
    pub const MODULE: u32 = 1 << 13;
    /// `n`: new key events (excluded from `A`).
    pub const NEW: u32 = 1 << 14;
    /// `A`: alias for `g$lshzxetd`.
    pub const ALL: u32 = GENERIC | STRING | LIST | SET | HASH | ZSET | EXPIRED | EVICTED | STREAM | MODULE;
}

/// Redis `keyspaceEventsStringToFlags`; `None` for an invalid class character.
pub fn keyspace_events_from_str(s: &[u8]) -> Option<u32> {
    let mut flags = 0;
    for &c in s {
        flags |= match c {
            0 => break,
            b'A' => notify::ALL,
            b'g' => notify::GENERIC,
            b'$' => notify::STRING,
            b'l' => notify::LIST,
            b's' => notify::SET,
            b'h' => notify::HASH,
            b'z' => notify::ZSET,
            b'x' => notify::EXPIRED,
            b'e' => notify::EVICTED,
            b'K' => notify::KEYSPACE,
            b'E' => notify::KEYEVENT,
            b't' => notify::STREAM,
            b'm' => notify::KEY_MISS,
            b'd' => notify::MODULE,
            b'n' => notify::NEW,
            _ => return None,
        };
    }
    Some(flags)
}

/// Redis `keyspaceEventsFlagsToString` (canonical form, e.g. `AKE`, `xE`).
pub fn keyspace_events_to_string(flags: u32) -> String {
    let mut s = String::new();
    if flags & notify::ALL == notify::ALL {
        s.push('A');
    } else {
        for (bit, c) in [
            (notify::GENERIC, 'g'),
            (notify::STRING, '$'),
            (notify::LIST, 'l'),
            (notify::SET, 's'),
            (notify::HASH, 'h'),
            (notify::ZSET, 'z'),
            (notify::EXPIRED, 'x'),
            (notify::EVICTED, 'e'),
            (notify::STREAM, 't'),
            (notify::MODULE, 'd'),
            (notify::NEW, 'n'),
        ] {
            if flags & bit != 0 {
                s.push(c);
            }
        }
    }
    for (bit, c) in [(notify::KEYSPACE, 'K'), (notify::KEYEVENT, 'E'), (notify::KEY_MISS, 'm')] {
        if flags & bit != 0 {
            s.push(c);
        }
    }
    s
}

/// The text of an OS error without Rust's ` (os error N)` suffix, like C `strerror`.
pub(crate) fn strerror(e: &std::io::Error) -> String {
    let s = e.to_string();
    match s.find(" (os error ") {
        Some(i) => s[..i].to_string(),
        None => s,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memtoull_units() {
        assert_eq!(memtoull(b"1k"), Some(1000));
        assert_eq!(memtoull(b"1kb"), Some(1024));
        assert_eq!(memtoull(b"1KB"), Some(1024));
        assert_eq!(memtoull(b"1m"), Some(1_000_000));
        assert_eq!(memtoull(b"1mb"), Some(1 << 20));
        assert_eq!(memtoull(b"1Mb"), Some(1 << 20));
        assert_eq!(memtoull(b"1g"), Some(1_000_000_000));
        assert_eq!(memtoull(b"1gb"), Some(1 << 30));
        assert_eq!(memtoull(b"1GB"), Some(1 << 30));
        assert_eq!(memtoull(b"12b"), Some(12));
        assert_eq!(memtoull(b"12"), Some(12));
        assert_eq!(memtoull(b""), Some(0));
        assert_eq!(memtoull(b"-1"), None);
        assert_eq!(memtoull(b"+1"), None);
        assert_eq!(memtoull(b" 1"), None);
        assert_eq!(memtoull(b"1 kb"), None);
        assert_eq!(memtoull(b"1tb"), None);
        assert_eq!(memtoull(b"99999999999999999999999"), Some(u64::MAX));
        assert_eq!(memtoull(b"20000000000000000000k"), Some(18446744073709550616));
    }

    #[test]
    fn string2ll_strict() {
        assert_eq!(string2ll(b"0"), Some(0));
        assert_eq!(string2ll(b"-1"), Some(-1));
        assert_eq!(string2ll(b"9223372036854775807"), Some(i64::MAX));
        assert_eq!(string2ll(b"-9223372036854775808"), Some(i64::MIN));
        assert_eq!(string2ll(b"9223372036854775808"), None);
        for bad in [&b"007"[..], b"+7", b"-0", b" 7", b"7 ", b"", b"-", b"1k"] {
            assert_eq!(string2ll(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn strtoll_glibc() {
        assert_eq!(strtoll(b"  +12x", 10), (12, false, 5));
        assert_eq!(strtoll(b"x", 10), (0, false, 0));
        assert_eq!(strtoll(b"-99999999999999999999", 10).0, i64::MIN);
        assert_eq!(strtoll(b"777", 8), (511, false, 3));
        assert_eq!(strtoll(b"8", 8), (0, false, 0));
        assert_eq!(strtoll_full(b""), Some(0));
        assert_eq!(strtoll_full(b"05"), Some(5));
        assert_eq!(strtoll_full(b"5 "), None);
    }

    #[test]
    fn memory_format() {
        assert_eq!(format_memory(0), "0");
        assert_eq!(format_memory(1 << 30), "1gb");
        assert_eq!(format_memory(3 << 20), "3mb");
        assert_eq!(format_memory(1025 * 1024), "1025kb");
        assert_eq!(format_memory(1000), "1000");
        assert_eq!(format_memory(-1), "-1");
    }

    #[test]
    fn repr_escapes() {
        assert_eq!(repr("a b"), "\"a b\"");
        assert_eq!(repr("q\"\\\n\x01"), "\"q\\\"\\\\\\n\\x01\"");
        assert_eq!(repr(""), "\"\"");
    }

    #[test]
    fn keyspace_events() {
        let f = |s: &str| keyspace_events_to_string(keyspace_events_from_str(s.as_bytes()).unwrap());
        assert_eq!(f("KEA"), "AKE");
        assert_eq!(f("Ex"), "xE");
        assert_eq!(f("g$lshzxetmdn"), "Am");
        assert_eq!(f("Kt"), "tK");
        assert_eq!(f("Kg$lshzxe"), "g$lshzxeK");
        assert_eq!(f("Kn"), "nK");
        assert_eq!(f(""), "");
        assert_eq!(keyspace_events_from_str(b"xyz"), None);
    }

    #[test]
    fn percentiles() {
        assert_eq!(format_percentile(50.0), "50");
        assert_eq!(format_percentile(99.9), "99.9");
        assert_eq!(format_percentile(99.999999), "99.999999");
        assert_eq!(format_percentile(0.25), "0.25");
        assert_eq!(string2d(b"1e1"), Some(10.0));
        assert_eq!(string2d(b"abc"), None);
        assert_eq!(string2d(b" 1"), None);
        assert_eq!(string2d(b"nan"), None);
    }
}
