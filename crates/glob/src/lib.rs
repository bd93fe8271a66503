//! Glob matching with the exact semantics of Redis's `stringmatchlen` (used by KEYS, SCAN
//! MATCH, CONFIG GET, PSUBSCRIBE, ...).
//!
//! Redis 7.0's `stringmatchlen_impl` is recursive (one level per `*`) and uses a
//! `skipLongerMatches` flag: once the rest of the pattern after a `*` failed to match at every
//! remaining string position, the whole match fails. That makes the search equivalent to the
//! classic single-backtrack-point algorithm implemented here without recursion: only the most
//! recent `*` is ever retried. Worst case is `O(pattern * subject)`.
//!
//! Quirks of the C implementation that are reproduced on purpose:
//! - an empty subject only matches an empty pattern (even `*` does not match `""`);
//! - bytes past the end of the pattern read as NUL (sds strings are NUL-terminated);
//! - an unterminated class (`[abc`) runs to the end of the pattern;
//! - `\x` inside a class compares case-sensitively even with `nocase`;
//! - range bounds are compared as signed C `char`s (bytes >= 0x80 are negative),
//!   reversed ranges (`[z-a]`) are swapped.

/// Byte at `i`, or NUL past the end (like reading an sds string's terminator).
#[inline]
fn at(p: &[u8], i: usize) -> u8 {
    p.get(i).copied().unwrap_or(0)
}

/// C `tolower` in the "C" locale applied to a (possibly negative) `char` value.
#[inline]
fn c_tolower(x: i32) -> i32 {
    if (b'A' as i32..=b'Z' as i32).contains(&x) {
        x + 32
    } else {
        x
    }
}

#[inline]
fn byte_eq(a: u8, b: u8, nocase: bool) -> bool {
    if nocase {
        a.eq_ignore_ascii_case(&b)
    } else {
        a == b
    }
}

/// Matches the single pattern element starting at `pi` (which is not `*`) against byte `c`.
/// Returns whether it matched and the index of the next pattern element.
#[inline]
fn match_elem(p: &[u8], pi: usize, c: u8, nocase: bool) -> (bool, usize) {
    match p[pi] {
        b'?' => (true, pi + 1),
        b'[' => match_class(p, pi + 1, c, nocase),
        b'\\' => {
            let i = if p.len() - pi >= 2 { pi + 1 } else { pi };
            (byte_eq(p[i], c, nocase), i + 1)
        }
        x => (byte_eq(x, c, nocase), pi + 1),
    }
}

/// Matches the class whose body starts at `i` (just after `[`) against `c`.
fn match_class(p: &[u8], mut i: usize, c: u8, nocase: bool) -> (bool, usize) {
    let plen = p.len();
    let not = at(p, i) == b'^';
    if not {
        i += 1;
    }
    let mut matched = false;
    loop {
        let len = plen - i;
        let cur = at(p, i);
        if cur == b'\\' && len >= 2 {
            i += 1;
            if p[i] == c {
                matched = true;
            }
        } else if cur == b']' {
            break;
        } else if len == 0 {
            i -= 1;
            break;
        } else if len >= 3 && p[i + 1] == b'-' {
            let mut start = p[i] as i8 as i32;
            let mut end = p[i + 2] as i8 as i32;
            let mut ch = c as i8 as i32;
            if start > end {
                std::mem::swap(&mut start, &mut end);
            }
            if nocase {
                start = c_tolower(start);
                end = c_tolower(end);
                ch = c_tolower(ch);
            }
            i += 2;
            if ch >= start && ch <= end {
                matched = true;
            }
        } else if byte_eq(cur, c, nocase) {
            matched = true;
        }
        i += 1;
    }
    (matched != not, i + 1)
}

/// Whether `subject` matches the glob `pattern`. `nocase` folds ASCII case.
pub fn glob_match(pattern: &[u8], subject: &[u8], nocase: bool) -> bool {
    let p = pattern;
    let s = subject;
    let (plen, slen) = (p.len(), s.len());
    if plen == 0 || slen == 0 {
        return plen == 0 && slen == 0;
    }
    let (mut pi, mut si) = (0usize, 0usize);
    // (pattern index just after the most recent '*', string index it was last tried at)
    let mut backtrack: Option<(usize, usize)> = None;
    loop {
        // Invariant: pi < plen && si < slen.
        if p[pi] == b'*' {
            while pi + 1 < plen && p[pi + 1] == b'*' {
                pi += 1;
            }
            if pi + 1 == plen {
                return true;
            }
            pi += 1;
            backtrack = Some((pi, si));
            continue;
        }
        let (matched, next) = match_elem(p, pi, s[si], nocase);
        if matched {
            pi = next;
            si += 1;
            if si == slen {
                while pi < plen && p[pi] == b'*' {
                    pi += 1;
                }
                if pi == plen {
                    return true;
                }
            } else if pi < plen {
                continue;
            }
        }
        // Mismatch: retry the rest after the last '*' one byte further, if any byte is left.
        match backtrack {
            Some((bp, bs)) if bs + 1 < slen => {
                backtrack = Some((bp, bs + 1));
                pi = bp;
                si = bs + 1;
            }
            _ => return false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Literal recursive port of Redis 7.0.15 `stringmatchlen_impl`, used as a reference.
    fn reference(p: &[u8], s: &[u8], nocase: bool) -> bool {
        fn imp(p: &[u8], mut pi: usize, s: &[u8], mut si: usize, nocase: bool, skip: &mut bool) -> bool {
            let plen = p.len();
            let slen = s.len();
            while pi < plen && si < slen {
                match p[pi] {
                    b'*' => {
                        while pi < plen && at(p, pi + 1) == b'*' {
                            pi += 1;
                        }
                        if plen - pi == 1 {
                            return true;
                        }
                        while si < slen {
                            if imp(p, pi + 1, s, si, nocase, skip) {
                                return true;
                            }
                            if *skip {
                                return false;
                            }
                            si += 1;
                        }
                        *skip = true;
                        return false;
                    }
                    _ => {
                        let (m, next) = match_elem(p, pi, s[si], nocase);
                        if !m {
                            return false;
                        }
                        si += 1;
                        pi = next - 1;
                    }
                }
                pi += 1;
                if si == slen {
                    while at(p, pi) == b'*' {
                        pi += 1;
                    }
                    break;
                }
            }
            pi >= plen && si == slen
        }
        let mut skip = false;
        imp(p, 0, s, 0, nocase, &mut skip)
    }

    fn m(p: &str, s: &str) -> bool {
        glob_match(p.as_bytes(), s.as_bytes(), false)
    }

    #[test]
    fn basics() {
        assert!(m("*", "abc"));
        assert!(!m("*", ""));
        assert!(!m("**", ""));
        assert!(m("", ""));
        assert!(!m("", "a"));
        assert!(m("a*", "a"));
        assert!(m("a*b*", "ab"));
        assert!(m("h?llo", "hello"));
        assert!(!m("h?llo", "hllo"));
        assert!(m("h*llo", "hllo"));
        assert!(m("h*llo", "heeeello"));
        assert!(m("h[ae]llo", "hallo"));
        assert!(!m("h[ae]llo", "hillo"));
        assert!(m("h[^e]llo", "hallo"));
        assert!(!m("h[^e]llo", "hello"));
        assert!(m("h[a-b]llo", "hbllo"));
        assert!(m("h[b-a]llo", "hbllo"));
        assert!(m("[z-a]", "m"));
        assert!(!m("[z-a]", "A"));
        assert!(m("\\*", "*"));
        assert!(!m("\\*", "a"));
        assert!(m("\\", "\\"));
        assert!(m("a\\", "a\\"));
        assert!(m("[\\]]", "]"));
        assert!(m("[\\-]", "-"));
        // "[a-]" is the range 'a'..']' (reversed) with no closing bracket.
        assert!(!m("[a-]", "-"));
        assert!(m("[a-]", "^"));
        assert!(!m("[]]", "]"));
        assert!(m("[abc", "c"));
        assert!(!m("[abc", "d"));
        assert!(m("[^", "x"));
        assert!(!m("[", "x"));
        assert!(m("[]", "]") == reference(b"[]", b"]", false));
        assert!(m("*a*b", "xaxxb"));
        assert!(!m("*a*b", "xaxxc"));
    }

    #[test]
    fn nocase() {
        assert!(glob_match(b"HeLLo", b"hello", true));
        assert!(glob_match(b"[A-C]", b"b", true));
        assert!(glob_match(b"[a-c]", b"B", true));
        // escapes inside classes stay case-sensitive
        assert!(!glob_match(b"[\\A]", b"a", true));
        assert!(glob_match(b"\\A", b"a", true));
        assert!(!glob_match(b"HeLLo", b"hello", false));
    }

    #[test]
    fn signed_ranges() {
        // [a-\xff]: \xff is -1 as a signed char, so the range is [-1, 'a'].
        assert!(glob_match(b"[a-\xff]", b"0", false));
        assert!(!glob_match(b"[a-\xff]", b"b", false));
        assert!(glob_match(b"[\x80-\xff]", b"\x90", false));
        assert!(glob_match(b"\xe9*", b"\xe9t\xe9", true));
    }

    #[test]
    fn pathological_is_fast() {
        let mut p = Vec::new();
        for _ in 0..5000 {
            p.extend_from_slice(b"a*");
        }
        p.push(b'b');
        let s = vec![b'a'; 20000];
        let t = std::time::Instant::now();
        assert!(!glob_match(&p, &s, false));
        assert!(t.elapsed().as_secs() < 5);
        let many_stars = vec![b'*'; 1_000_000];
        assert!(glob_match(&many_stars, b"x", false));
    }

    proptest! {
        #[test]
        fn same_as_reference(
            p in proptest::collection::vec(prop::sample::select(b"ab*?[]^-\\A\xe9".to_vec()), 0..10),
            s in proptest::collection::vec(prop::sample::select(b"ab]^-\\*A\xe9".to_vec()), 0..8),
            nocase in any::<bool>(),
        ) {
            prop_assert_eq!(glob_match(&p, &s, nocase), reference(&p, &s, nocase));
        }

        #[test]
        fn never_panics(p in proptest::collection::vec(any::<u8>(), 0..64),
                        s in proptest::collection::vec(any::<u8>(), 0..64),
                        nocase in any::<bool>()) {
            let _ = glob_match(&p, &s, nocase);
        }
    }
}
