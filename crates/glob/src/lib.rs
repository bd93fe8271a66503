//! Glob matching with the exact semantics of Redis's `stringmatchlen` (used by KEYS, SCAN
//! MATCH, CONFIG GET, PSUBSCRIBE, ...).

/// Whether `subject` matches the glob `pattern`. `nocase` folds ASCII case.
pub fn glob_match(pattern: &[u8], subject: &[u8], nocase: bool) -> bool {
    // Placeholder until the full stringmatchlen port lands.
    if pattern == b"*" {
        return true;
    }
    if nocase {
        pattern.eq_ignore_ascii_case(subject)
    } else {
        pattern == subject
    }
}
