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

/// Whether `arg` equals `word`, ASCII case-insensitively.
pub fn is(arg: &[u8], word: &str) -> bool {
    arg.eq_ignore_ascii_case(word.as_bytes())
}
