//! The set family (SADD, SREM, SCARD, SISMEMBER, SMISMEMBER, SMEMBERS, SRANDMEMBER, SPOP,
//! SMOVE, SINTER, SINTERCARD, SINTERSTORE, SUNION, SUNIONSTORE, SDIFF, SDIFFSTORE, SSCAN):
//! differential tests against the real Redis 7.0 (replies compared byte for byte, or as
//! sorted member lists where Redis's order is unspecified: its hashtable order), plus
//! targeted checks of what differs on purpose (Redis 7.2's `listpack` encoding of small
//! sets, which 7.0 does not have) or cannot be compared directly (random replies, output
//! limits, concurrency).

mod common;

use std::collections::HashSet;
use std::thread;

use common::{assert_same, pair, Raw, Server};

/// The non-empty, non-comment lines of a script, split on whitespace.
fn lines(script: &str) -> Vec<Vec<&str>> {
    script
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| l.split_whitespace().collect())
        .collect()
}

/// Run a script on both servers and compare every reply byte for byte.
fn same(b: &mut Raw, r: &mut Raw, script: &str) {
    for args in lines(script) {
        assert_same(b, r, &[&args]);
    }
}

/// A reply parsed just enough to compare members regardless of order.
#[derive(Debug, PartialEq, Eq)]
enum Parsed {
    /// An aggregate (`*`, `~`): its type byte and its elements, sorted.
    Members(u8, Vec<Vec<u8>>),
    /// Anything else, raw.
    Other(Vec<u8>),
}

/// Parse a flat aggregate of bulk strings (or an SSCAN-like `[cursor, [members]]`, of
/// which the members are taken); other replies stay raw.
fn parse_members(reply: &[u8]) -> Parsed {
    let t = reply[0];
    if t != b'*' && t != b'~' {
        return Parsed::Other(reply.to_vec());
    }
    let mut pos = 0;
    let line = |pos: &mut usize| {
        let end = reply[*pos..].windows(2).position(|w| w == b"\r\n").expect("CRLF") + *pos;
        let l = String::from_utf8_lossy(&reply[*pos..end]).into_owned();
        *pos = end + 2;
        l
    };
    let mut head = line(&mut pos);
    let mut out = Vec::new();
    if head == "*2" && reply[pos] == b'$' {
        // [cursor, [members]] (SSCAN): keep the cursor first, then the members.
        let mut p = pos;
        let h = line(&mut p);
        let len: usize = h[1..].parse().expect("bulk length");
        if reply.get(p + len + 2) == Some(&b'*') {
            out.push(reply[p..p + len].to_vec());
            pos = p + len + 2;
            head = line(&mut pos);
        }
    }
    let n: i64 = head[1..].parse().expect("aggregate length");
    let skip = out.len();
    for _ in 0..n.max(0) {
        let h = line(&mut pos);
        match h.as_bytes()[0] {
            b'$' => {
                let len: usize = h[1..].parse().expect("bulk length");
                out.push(reply[pos..pos + len].to_vec());
                pos += len + 2;
            }
            b':' => out.push(h.into_bytes()),
            _ => return Parsed::Other(reply.to_vec()),
        }
    }
    out[skip..].sort();
    Parsed::Members(t, out)
}

/// Run a script on both servers and compare replies as sorted member lists.
fn same_sorted(b: &mut Raw, r: &mut Raw, script: &str) {
    for args in lines(script) {
        let want = parse_members(&r.cmd(&args));
        let got = parse_members(&b.cmd(&args));
        assert_eq!(got, want, "command {args:?}");
    }
}

/// The members in a reply, in reply order.
fn members(reply: &[u8]) -> Vec<String> {
    let s = String::from_utf8_lossy(reply).into_owned();
    let mut it = s.split("\r\n");
    let head = it.next().unwrap_or("");
    assert!(head.starts_with('*') || head.starts_with('~'), "not an aggregate: {s:?}");
    let mut out = Vec::new();
    while let Some(l) = it.next() {
        if l.starts_with('$') {
            out.push(it.next().unwrap_or("").to_string());
        }
    }
    out
}

/// The integer in a `:n` reply.
fn int(reply: &[u8]) -> i64 {
    let s = String::from_utf8_lossy(reply);
    assert!(s.starts_with(':'), "not an integer reply: {s:?}");
    s[1..].trim_end().parse().expect("integer reply")
}

fn encoding(raw: &mut Raw, key: &str) -> String {
    let reply = raw.cmd_str(&["OBJECT", "ENCODING", key]);
    reply.trim_end().rsplit("\r\n").next().unwrap_or("").to_string()
}

/// SADD `key` with `members` on a connection (arguments with no spaces needed).
fn sadd(raw: &mut Raw, key: &str, members: &[String]) -> i64 {
    let mut args = vec!["SADD", key];
    args.extend(members.iter().map(String::as_str));
    int(&raw.cmd(&args))
}

fn nums(range: std::ops::Range<i64>) -> Vec<String> {
    range.map(|i| i.to_string()).collect()
}

fn words(prefix: &str, range: std::ops::Range<i64>) -> Vec<String> {
    range.map(|i| format!("{prefix}{i}")).collect()
}

// ---------------------------------------------------------------------------------------
// Arity and errors.
// ---------------------------------------------------------------------------------------

const WRONG_ARITY: &str = "
    SADD
    SADD k
    SREM k
    SCARD
    SCARD k x
    SISMEMBER k
    SISMEMBER k a b
    SMISMEMBER k
    SMEMBERS
    SMEMBERS k x
    SRANDMEMBER
    SPOP
    SMOVE a b
    SMOVE a b c d
    SINTER
    SINTERCARD
    SINTERCARD 1
    SINTERSTORE d
    SUNION
    SUNIONSTORE d
    SDIFF
    SDIFFSTORE d
    SSCAN k
";

#[test]
fn wrong_arity_matches_redis() {
    let (_b, _r, mut b, mut r) = pair(&[]);
    same(&mut b, &mut r, WRONG_ARITY);
}

const ERRORS: &str = "
    SET str x
    SADD s 1 2 3
    SADD str a
    SREM str a
    SCARD str
    SISMEMBER str a
    SMISMEMBER str a
    SMISMEMBER nokey a b
    SMEMBERS str
    SRANDMEMBER str
    SRANDMEMBER str 0
    SRANDMEMBER str -3
    SRANDMEMBER s abc
    SRANDMEMBER nokey abc
    SRANDMEMBER s 1.5
    SRANDMEMBER s -9223372036854775808
    SRANDMEMBER s 9223372036854775808
    SRANDMEMBER s 1 2
    SRANDMEMBER nokey 1 2
    SPOP str
    SPOP str 0
    SPOP str 3
    SPOP s -1
    SPOP s abc
    SPOP nokey -1
    SPOP s 1 2
    SPOP nokey 1 2
    SMOVE str s 1
    SMOVE s str 1
    SMOVE s str 9
    SMOVE nokey str 1
    SMOVE str nokey 1
    SMOVE str str 1
    SINTER str
    SINTER s str
    SINTER str s
    SINTER nokey str
    SINTER str nokey
    SINTER s nokey str
    SINTERSTORE d s str
    SINTERSTORE d nokey str
    SINTERCARD 1 str
    SINTERCARD 2 nokey str
    SINTERCARD 0 s
    SINTERCARD -1 s
    SINTERCARD abc s
    SINTERCARD 99999999999999999999 s
    SINTERCARD 2 s
    SINTERCARD 1 s LIMIT
    SINTERCARD 1 s LIMIT -1
    SINTERCARD 1 s LIMIT abc
    SINTERCARD 1 s FOO
    SINTERCARD 1 s FOO 1
    SINTERCARD 1 s LIMIT 1 LIMIT 0
    SINTERCARD 1 s limit 2 foo
    SUNION str
    SUNION s str
    SUNION nokey str
    SUNIONSTORE d s str
    SDIFF str
    SDIFF s str
    SDIFF nokey str
    SDIFFSTORE d nokey str
    SSCAN str 0
    SSCAN str abc
    SSCAN s abc
    SSCAN s -1
    SSCAN s 18446744073709551616
    SSCAN s 0 COUNT
    SSCAN s 0 COUNT 0
    SSCAN s 0 COUNT -1
    SSCAN s 0 COUNT abc
    SSCAN s 0 MATCH
    SSCAN s 0 TYPE set
    SSCAN s 0 FOO bar
    SSCAN nokey 0 COUNT abc
    SSCAN nokey 0 FOO
    SSCAN str 0 COUNT abc
    # Nothing above changed anything.
    SMEMBERS s
    GET str
    EXISTS d nokey
";

#[test]
fn errors_match_redis() {
    let (_b, _r, mut b, mut r) = pair(&[]);
    same(&mut b, &mut r, ERRORS);
}

// ---------------------------------------------------------------------------------------
// Replies.
// ---------------------------------------------------------------------------------------

/// Integer-only sets are intsets in both Redis versions, with an exact order.
const INTEGER_SETS: &str = "
    SADD s 3 1 2
    SADD s 2 5 -7 100000 99999999999 -9223372036854775808 9223372036854775807
    SMEMBERS s
    SCARD s
    SISMEMBER s 5
    SISMEMBER s 6
    SISMEMBER s 007
    SISMEMBER s 05
    SISMEMBER s +5
    SISMEMBER s -9223372036854775808
    SMISMEMBER s 1 9 3 007 abc
    OBJECT ENCODING s
    SREM s 9 007 05 +5
    SREM s 1 2 2
    SMEMBERS s
    SREM s nothing
    SADD n 10 9 8 7 6 5
    SADD m 5 6 11 12 -1
    SINTER n m
    SINTER m n
    SINTER n n m m
    SINTER n
    SINTERCARD 2 n m
    SINTERCARD 2 n m LIMIT 1
    SINTERCARD 1 n LIMIT 4
    SINTERCARD 1 n LIMIT 0
    SUNION n m
    SUNION m n nokey
    SUNION nokey
    SDIFF n m
    SDIFF m n
    SDIFF n n
    SDIFF n nokey m
    SDIFF nokey n
    SINTERSTORE d n m
    SMEMBERS d
    OBJECT ENCODING d
    SUNIONSTORE d n m
    SMEMBERS d
    OBJECT ENCODING d
    SDIFFSTORE d n m
    SMEMBERS d
    SDIFFSTORE d n n
    EXISTS d
    SUNIONSTORE d n
    SINTERSTORE d n nokey
    EXISTS d
    SUNIONSTORE d nokey
    SDIFFSTORE d nokey n
    SDIFFSTORE n n m
    SMEMBERS n
    SUNIONSTORE n n m
    SMEMBERS n
    SRANDMEMBER m 5
    SRANDMEMBER m 100
    SRANDMEMBER m 0
    SRANDMEMBER nokey 5
    SRANDMEMBER nokey
    SSCAN m 0
    SSCAN m 0 COUNT 1
    SSCAN m 0 MATCH 1*
    SSCAN m 0 MATCH *1 COUNT 100
    SSCAN m 123 MATCH *
    SSCAN nokey 0
    SMOVE m n 11
    SMOVE m n 11
    SMOVE m n 5
    SMOVE m m 6
    SMOVE m m 99
    SMOVE nokey m 6
    SMOVE m fresh 6
    SMEMBERS fresh
    OBJECT ENCODING fresh
    SMEMBERS m
    SMEMBERS n
    SMOVE fresh n 6
    EXISTS fresh
    SPOP m 100
    EXISTS m
    SPOP m
    SPOP m 0
    SPOP m 5
    SADD one 42
    SPOP one
    EXISTS one
    SADD two 1
    SPOP two 1
    SPOP two 0
";

#[test]
fn integer_sets_match_redis_exactly() {
    let (_b, _r, mut b, mut r) = pair(&[]);
    same(&mut b, &mut r, INTEGER_SETS);
}

#[test]
fn integer_sets_match_redis_in_resp3() {
    let (_b, _r, mut b, mut r) = pair(&[]);
    b.cmd(&["HELLO", "3"]);
    r.cmd(&["HELLO", "3"]);
    same(&mut b, &mut r, INTEGER_SETS);
    same(&mut b, &mut r, ERRORS);
}

/// Sets with strings: Redis 7.0 keeps them in a hashtable, whose order is unspecified.
const STRING_SETS: &str = "
    SADD n 3 1 2
    SADD n 007 -0 +1 1.0 3
    SMEMBERS n
    SISMEMBER n 007
    SISMEMBER n 7
    SREM n 007 7
    SMEMBERS n
    SADD s a b c 1 2
    SADD s b d
    SMEMBERS s
    SCARD s
    SISMEMBER s a
    SISMEMBER s 1
    SISMEMBER s x
    SMISMEMBER s a x 2 3
    SREM s a x
    SMEMBERS s
    SADD t c d e 2 3
    SINTER s t
    SINTER t s s
    SINTERCARD 2 s t
    SINTERCARD 2 s t LIMIT 2
    SUNION s t
    SDIFF s t
    SDIFF t s
    SDIFF s t nokey
    SINTERSTORE d s t
    SMEMBERS d
    SUNIONSTORE d s t
    SMEMBERS d
    SDIFFSTORE d s t
    SMEMBERS d
    SDIFFSTORE d t s nokey
    SMEMBERS d
    SSCAN s 0
    SSCAN s 0 MATCH [bc]*
    SRANDMEMBER s 100
    SMOVE s t b
    SMOVE s t c
    SMEMBERS s
    SMEMBERS t
    SMOVE t newkey e
    SMEMBERS newkey
    SADD e {}
    SADD e x
    SREM e x
    SMEMBERS e
    SPOP s 10
    EXISTS s
    SADD int 1 2 3
    SADD mixed 2 3 x
    SINTER int mixed
    SINTER mixed int
    SINTERSTORE d mixed int
    SMEMBERS d
    SDIFF mixed int
    SDIFFSTORE d mixed int
    SMEMBERS d
    SUNION mixed int
    SREM mixed x
    SMEMBERS mixed
    SPOP mixed 5
";

#[test]
fn string_sets_match_redis() {
    let (_b, _r, mut b, mut r) = pair(&[]);
    same_sorted(&mut b, &mut r, STRING_SETS);
}

#[test]
fn string_sets_match_redis_in_resp3() {
    let (_b, _r, mut b, mut r) = pair(&[]);
    b.cmd(&["HELLO", "3"]);
    r.cmd(&["HELLO", "3"]);
    same_sorted(&mut b, &mut r, STRING_SETS);
}

#[test]
fn binary_and_empty_members_match_redis() {
    let (_b, _r, mut b, mut r) = pair(&[]);
    let long = "L".repeat(300);
    let huge = "H".repeat(70_000);
    let cmds: Vec<Vec<&str>> = vec![
        vec!["SADD", "s", "", "a\r\nb", "\0", "caf\u{e9}", &long, &huge],
        vec!["SCARD", "s"],
        vec!["SISMEMBER", "s", ""],
        vec!["SISMEMBER", "s", "\0"],
        vec!["SISMEMBER", "s", &huge],
        vec!["SMISMEMBER", "s", &long, "a\r\nb", "a"],
        vec!["SREM", "s", &huge, ""],
        vec!["SCARD", "s"],
    ];
    for c in &cmds {
        assert_same(&mut b, &mut r, &[c]);
    }
    for c in [vec!["SMEMBERS", "s"], vec!["SUNION", "s", "s"], vec!["SINTER", "s", "s"]] {
        assert_eq!(parse_members(&b.cmd(&c)), parse_members(&r.cmd(&c)), "{c:?}");
    }
}

/// Big sets (hashtables in both): every command, compared as sorted members.
#[test]
fn big_sets_match_redis() {
    let (_b, _r, mut b, mut r) = pair(&[]);
    for raw in [&mut b, &mut r] {
        assert_eq!(sadd(raw, "a", &words("m", 0..3000)), 3000);
        assert_eq!(sadd(raw, "b", &words("m", 1500..4000)), 2500);
        assert_eq!(sadd(raw, "c", &nums(0..2000)), 2000);
        assert_eq!(sadd(raw, "small", &words("m", 2990..3010)), 20);
    }
    same(
        &mut b,
        &mut r,
        "
        OBJECT ENCODING a
        OBJECT ENCODING c
        SCARD a
        SISMEMBER a m2999
        SISMEMBER a m3000
        SMISMEMBER b m0 m1500 m3999 m4000
        SINTERCARD 2 a b
        SINTERCARD 2 a b LIMIT 10
        SINTERCARD 3 a b small
        SINTERCARD 2 a c
        SINTERSTORE d a b
        SUNIONSTORE d a b c
        SDIFFSTORE d a b
        SDIFFSTORE d b small
        SDIFFSTORE d small a
        SCARD d
        SREM a m0 m1 m2 nothing
        SCARD a
        SMOVE a b m10
        SMOVE a b m2000
        SCARD a
        SCARD b
        ",
    );
    same_sorted(
        &mut b,
        &mut r,
        "
        SMEMBERS a
        SMEMBERS c
        SINTER a b
        SINTER small a b
        SINTER c a
        SUNION a b c
        SDIFF a b
        SDIFF b a small
        SDIFF small a
        SDIFF c small
        SINTERSTORE d a b
        SMEMBERS d
        SUNIONSTORE d a small
        SMEMBERS d
        SDIFFSTORE d a b
        SMEMBERS d
        SRANDMEMBER small 1000
        ",
    );
    // Shrinking back (members removed) keeps working.
    for raw in [&mut b, &mut r] {
        let mut args = vec!["SREM".to_string(), "a".to_string()];
        args.extend(words("m", 0..2990));
        let a: Vec<&str> = args.iter().map(String::as_str).collect();
        raw.cmd(&a);
    }
    same(&mut b, &mut r, "SCARD a\nOBJECT ENCODING a\nSISMEMBER a m2995\nSISMEMBER a m5");
    same_sorted(&mut b, &mut r, "SMEMBERS a\nSINTER a small\nSDIFF small a");
}

/// Every member of a full SSCAN iteration (cursors differ between servers).
fn sscan_all(raw: &mut Raw, key: &str, extra: &[&str]) -> Vec<String> {
    let mut cursor = "0".to_string();
    let mut seen = Vec::new();
    loop {
        let mut args = vec!["SSCAN", key, &cursor];
        args.extend_from_slice(extra);
        let reply = raw.cmd_str(&args);
        let mut parts = reply.split("\r\n");
        assert_eq!(parts.next(), Some("*2"));
        parts.next();
        let next = parts.next().unwrap_or("0").to_string();
        let rest: Vec<&str> = parts.collect();
        let mut i = 1;
        while i < rest.len() {
            if rest[i].starts_with('$') {
                seen.push(rest[i + 1].to_string());
                i += 2;
            } else {
                i += 1;
            }
        }
        cursor = next;
        if cursor == "0" {
            break;
        }
    }
    seen
}

#[test]
fn sscan_iterates_big_sets_like_redis() {
    let (_b, _r, mut b, mut r) = pair(&[]);
    for raw in [&mut b, &mut r] {
        sadd(raw, "s", &words("k", 0..5000));
        sadd(raw, "i", &nums(0..300));
    }
    for extra in
        [&[][..], &["COUNT", "1"], &["COUNT", "1000"], &["MATCH", "k1*"], &["MATCH", "*7", "COUNT", "3"]]
    {
        let mut got = sscan_all(&mut b, "s", extra);
        let mut want = sscan_all(&mut r, "s", extra);
        // Brim never returns a member twice when the set does not change.
        assert_eq!(got.iter().collect::<HashSet<_>>().len(), got.len(), "{extra:?}");
        got.sort();
        want.sort();
        want.dedup();
        assert_eq!(got, want, "{extra:?}");
    }
    // An intset is returned whole, in order, with cursor 0.
    assert_same(&mut b, &mut r, &[&["SSCAN", "i", "0", "MATCH", "1*"], &["SSCAN", "i", "0"]]);
    // A bounded number of members per call.
    let reply = b.cmd_str(&["SSCAN", "s", "0", "COUNT", "5"]);
    assert!(members(&reply.as_bytes()[reply.find("\r\n*").map_or(0, |p| p + 2)..]).len() < 100);
}

#[test]
fn sscan_sees_every_member_present_throughout_while_the_set_changes() {
    let brim = Server::start(&[]);
    let mut b = brim.raw();
    sadd(&mut b, "s", &words("keep", 0..2000));
    let mut cursor = "0".to_string();
    let mut seen = HashSet::new();
    let mut n = 0;
    loop {
        let reply = b.cmd_str(&["SSCAN", "s", &cursor, "COUNT", "20"]);
        let mut parts = reply.split("\r\n");
        parts.next();
        parts.next();
        cursor = parts.next().unwrap_or("0").to_string();
        for p in parts {
            if p.starts_with("keep") || p.starts_with("new") {
                seen.insert(p.to_string());
            }
        }
        // Grow and shrink the set between calls (rehashing in both directions).
        sadd(&mut b, "s", &words("new", n..n + 50));
        n += 50;
        if n > 3000 {
            let gone: Vec<String> = words("new", n - 3000..n - 2950);
            let mut args = vec!["SREM", "s"];
            args.extend(gone.iter().map(String::as_str));
            b.cmd(&args);
        }
        if cursor == "0" {
            break;
        }
    }
    for i in 0..2000 {
        assert!(seen.contains(&format!("keep{i}")), "missed keep{i}");
    }
}

// ---------------------------------------------------------------------------------------
// Encodings.
// ---------------------------------------------------------------------------------------

/// Integer-only sets: intset up to set-max-intset-entries in both versions.
#[test]
fn integer_set_encodings_match_redis() {
    let (_b, _r, mut b, mut r) = pair(&[]);
    for raw in [&mut b, &mut r] {
        sadd(raw, "a", &nums(0..512));
        sadd(raw, "b", &nums(0..513));
        sadd(raw, "c", &nums(0..100));
    }
    same(
        &mut b,
        &mut r,
        "
        OBJECT ENCODING a
        OBJECT ENCODING b
        SADD a 512
        OBJECT ENCODING a
        SREM a 0 1 2 3 4 5 6 7 8 9 10
        OBJECT ENCODING a
        CONFIG SET set-max-intset-entries 10
        OBJECT ENCODING c
        SADD c 1000
        OBJECT ENCODING c
        SADD d 1 2 3 4 5 6 7 8 9 10
        OBJECT ENCODING d
        SADD d 11
        OBJECT ENCODING d
        SUNIONSTORE e d
        OBJECT ENCODING e
        CONFIG SET set-max-intset-entries 512
        SUNIONSTORE e b
        OBJECT ENCODING e
        SDIFFSTORE e b a
        OBJECT ENCODING e
        SMEMBERS e
        SINTERSTORE e b b
        OBJECT ENCODING e
        ",
    );
}

#[test]
fn small_sets_are_listpacks_as_in_redis_7_2() {
    let brim = Server::start(&[]);
    let mut b = brim.raw();
    // Strings: listpack up to 128 members of up to 64 bytes.
    sadd(&mut b, "s", &words("m", 0..128));
    assert_eq!(encoding(&mut b, "s"), "listpack");
    sadd(&mut b, "s", &words("m", 128..129));
    assert_eq!(encoding(&mut b, "s"), "hashtable");
    b.cmd(&["SADD", "v", &"x".repeat(64)]);
    assert_eq!(encoding(&mut b, "v"), "listpack");
    b.cmd(&["SADD", "v", &"y".repeat(65)]);
    assert_eq!(encoding(&mut b, "v"), "hashtable");
    // Never back, even when members go.
    b.cmd(&["SREM", "v", &"y".repeat(65)]);
    assert_eq!(encoding(&mut b, "v"), "hashtable");
    // An intset meeting a string: listpack (ascending integers first) if it fits.
    sadd(&mut b, "i", &nums(0..10));
    assert_eq!(encoding(&mut b, "i"), "intset");
    b.cmd(&["SADD", "i", "x"]);
    assert_eq!(encoding(&mut b, "i"), "listpack");
    assert_eq!(members(&b.cmd(&["SMEMBERS", "i"]))[..3], ["0", "1", "2"]);
    sadd(&mut b, "j", &nums(0..128));
    b.cmd(&["SADD", "j", "x"]);
    assert_eq!(encoding(&mut b, "j"), "hashtable");
    sadd(&mut b, "k", &nums(0..127));
    b.cmd(&["SADD", "k", "x"]);
    assert_eq!(encoding(&mut b, "k"), "listpack");
    // SADD's size hint: a new set expecting many members starts as a hashtable, an
    // existing packed one converts first (Redis 7.2's setTypeCreate / setTypeMaybeConvert).
    let dups = vec!["a".to_string(); 129];
    sadd(&mut b, "h", &dups);
    assert_eq!(encoding(&mut b, "h"), "hashtable");
    sadd(&mut b, "h2", &["a".to_string()]);
    sadd(&mut b, "h2", &dups);
    assert_eq!(encoding(&mut b, "h2"), "hashtable");
    assert_eq!(int(&b.cmd(&["SCARD", "h2"])), 1);
    let ones = vec!["1".to_string(); 513];
    sadd(&mut b, "h3", &ones);
    assert_eq!(encoding(&mut b, "h3"), "hashtable");
    sadd(&mut b, "h4", &vec!["1".to_string(); 512]);
    assert_eq!(encoding(&mut b, "h4"), "intset");
    // The thresholds are live configuration.
    b.cmd(&["CONFIG", "SET", "set-max-listpack-entries", "3"]);
    b.cmd(&["CONFIG", "SET", "set-max-listpack-value", "4"]);
    sadd(&mut b, "c", &["a".into(), "b".into(), "c".into()]);
    assert_eq!(encoding(&mut b, "c"), "listpack");
    sadd(&mut b, "c", &["d".into()]);
    assert_eq!(encoding(&mut b, "c"), "hashtable");
    sadd(&mut b, "c2", &["abcd".into()]);
    assert_eq!(encoding(&mut b, "c2"), "listpack");
    sadd(&mut b, "c2", &["abcde".into()]);
    assert_eq!(encoding(&mut b, "c2"), "hashtable");
    // An intset whose integers are too wide for a listpack goes straight to hashtable.
    sadd(&mut b, "w", &["12345".into()]);
    sadd(&mut b, "w", &["a".into()]);
    assert_eq!(encoding(&mut b, "w"), "hashtable");
}

#[test]
fn built_sets_choose_their_encoding_afresh() {
    let brim = Server::start(&[]);
    let mut b = brim.raw();
    sadd(&mut b, "big", &words("m", 0..300));
    sadd(&mut b, "few", &words("m", 0..5));
    sadd(&mut b, "ints", &nums(0..50));
    sadd(&mut b, "mixed", &["1".into(), "2".into(), "x".into()]);
    let stored = |b: &mut Raw, cmd: &[&str], enc: &str, card: i64| {
        assert_eq!(int(&b.cmd(cmd)), card, "{cmd:?}");
        assert_eq!(encoding(b, "d"), enc, "{cmd:?}");
    };
    stored(&mut b, &["SINTERSTORE", "d", "big", "few"], "listpack", 5);
    stored(&mut b, &["SINTERSTORE", "d", "big", "big"], "hashtable", 300);
    stored(&mut b, &["SINTERSTORE", "d", "mixed", "ints"], "intset", 2);
    stored(&mut b, &["SUNIONSTORE", "d", "few", "ints"], "listpack", 55);
    stored(&mut b, &["SUNIONSTORE", "d", "few", "big"], "hashtable", 300);
    stored(&mut b, &["SUNIONSTORE", "d", "ints"], "intset", 50);
    stored(&mut b, &["SDIFFSTORE", "d", "mixed", "few"], "listpack", 3);
    stored(&mut b, &["SDIFFSTORE", "d", "mixed", "big"], "listpack", 3);
    // Algorithm 1 (walk the first set) builds up from an intset: a small result is packed.
    stored(&mut b, &["SDIFFSTORE", "d", "big", "few"], "hashtable", 295);
    // SPOP taking most of a hashtable leaves the rest in a new, packed set (Redis 7.2).
    assert_eq!(members(&b.cmd(&["SPOP", "big", "290"])).len(), 290);
    assert_eq!(encoding(&mut b, "big"), "listpack");
    assert_eq!(int(&b.cmd(&["SCARD", "big"])), 10);
    // SMOVE creates its destination as for one member.
    b.cmd(&["SMOVE", "few", "dst1", "m1"]);
    assert_eq!(encoding(&mut b, "dst1"), "listpack");
    b.cmd(&["SMOVE", "ints", "dst2", "7"]);
    assert_eq!(encoding(&mut b, "dst2"), "intset");
}

// ---------------------------------------------------------------------------------------
// Random members.
// ---------------------------------------------------------------------------------------

#[test]
fn spop_and_srandmember_return_real_members() {
    let brim = Server::start(&[]);
    let mut b = brim.raw();
    for (key, set) in [
        ("ints", nums(0..100)),
        ("pack", words("p", 0..100)),
        ("big", words("b", 0..1000)),
        ("bigints", nums(0..1000)),
    ] {
        sadd(&mut b, key, &set);
        let all: HashSet<String> = set.iter().cloned().collect();
        let n = set.len();
        // SRANDMEMBER: distinct for a positive count, whole set at or above the size.
        for count in [1, 2, 10, n / 3, n / 3 + 1, n / 2, n - 1, n, n + 5] {
            let got = members(&b.cmd(&["SRANDMEMBER", key, &count.to_string()]));
            assert_eq!(got.len(), count.min(n), "{key} {count}");
            assert_eq!(got.iter().collect::<HashSet<_>>().len(), got.len(), "{key} {count}: repeats");
            assert!(got.iter().all(|m| all.contains(m)));
        }
        // A negative count repeats and covers the set.
        let got = members(&b.cmd(&["SRANDMEMBER", key, &format!("-{}", n * 20)]));
        assert_eq!(got.len(), n * 20);
        assert!(got.iter().all(|m| all.contains(m)));
        assert!(got.iter().collect::<HashSet<_>>().len() > n * 9 / 10, "{key}: poor coverage");
        let one = b.cmd_str(&["SRANDMEMBER", key]);
        assert!(all.contains(one.split("\r\n").nth(1).unwrap_or("")));
        // SPOP with counts in each strategy, then one by one: every member exactly once.
        let mut popped = Vec::new();
        for count in [1usize, n / 10, n / 2] {
            let got = members(&b.cmd(&["SPOP", key, &count.to_string()]));
            assert_eq!(got.len(), count);
            popped.extend(got);
        }
        let left = int(&b.cmd(&["SCARD", key])) as usize;
        assert_eq!(left, n - popped.len());
        let mut rest = members(&b.cmd(&["SMEMBERS", key]));
        rest.sort();
        for _ in 0..3 {
            let m = b.cmd_str(&["SPOP", key]);
            popped.push(m.split("\r\n").nth(1).unwrap_or("").to_string());
        }
        popped.extend(members(&b.cmd(&["SPOP", key, "100000"])));
        assert_eq!(b.cmd_str(&["EXISTS", key]), ":0\r\n");
        assert_eq!(popped.len(), n, "{key}");
        assert_eq!(popped.iter().cloned().collect::<HashSet<_>>(), all, "{key}");
    }
}

#[test]
fn spop_reply_shapes_match_redis() {
    let (_b, _r, mut b, mut r) = pair(&[]);
    for resp in ["2", "3"] {
        b.cmd(&["HELLO", resp]);
        r.cmd(&["HELLO", resp]);
        for raw in [&mut b, &mut r] {
            sadd(raw, "s", &words("m", 0..50));
            sadd(raw, "t", &["only".into()]);
        }
        for c in [
            &["SPOP", "s", "3"][..],
            &["SPOP", "s", "45"],
            &["SRANDMEMBER", "s", "1"],
            &["SRANDMEMBER", "s", "-2"],
            &["SPOP", "s"],
            &["SRANDMEMBER", "s"],
        ] {
            let (x, y) = (b.cmd(c), r.cmd(c));
            assert_eq!(x[0], y[0], "{c:?}: reply type");
            let len = |v: &[u8]| String::from_utf8_lossy(v).split("\r\n").next().map(str::to_string);
            assert_eq!(len(&x).map(|l| l.len()), len(&y).map(|l| l.len()), "{c:?}");
        }
        same(&mut b, &mut r, "SPOP t\nSPOP t\nSPOP t 2\nSRANDMEMBER t -3\nDEL s");
    }
}

#[test]
fn huge_negative_srandmember_count_is_bounded_by_the_output_limit() {
    let (_b, _r, mut b, mut r) = pair(&[]);
    for raw in [&mut b, &mut r] {
        sadd(raw, "s", &words("m", 0..3));
        sadd(raw, "big", &words("m", 0..300));
        raw.cmd(&["CONFIG", "SET", "client-output-buffer-limit", "normal 1mb 0 0"]);
    }
    // Both give up on the reply and close the connection.
    for key in ["s", "big"] {
        let (mut b2, mut r2) = (_b.raw(), _r.raw());
        let cmd = common::encode(&[b"SRANDMEMBER", key.as_bytes(), b"-10000000000"]);
        b2.send(&cmd);
        r2.send(&cmd);
        assert!(b2.is_closed(), "brim kept the connection ({key})");
        assert!(r2.is_closed(), "redis kept the connection ({key})");
    }
    // Other clients are unaffected, and a reply under the limit is served whole.
    assert_eq!(members(&b.cmd(&["SRANDMEMBER", "s", "-1000"])).len(), 1000);
    assert_eq!(int(&b.cmd(&["SCARD", "big"])), 300);
}

// ---------------------------------------------------------------------------------------
// Keyspace semantics.
// ---------------------------------------------------------------------------------------

fn hits_misses(raw: &mut Raw) -> (i64, i64) {
    let text = raw.cmd_str(&["INFO", "stats"]);
    let get = |f: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(&format!("{f}:")))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(-1)
    };
    (get("keyspace_hits"), get("keyspace_misses"))
}

#[test]
fn keyspace_hits_and_misses_match_redis() {
    let (_b, _r, mut b, mut r) = pair(&[]);
    let script = "
        SET str x
        SADD a 1 2 3
        SADD b x y
        SREM a 9
        SMOVE a b 1
        SMOVE zz b 1
        SMISMEMBER nokey 1
        SISMEMBER a 2
        SCARD nokey
        SMEMBERS a
        SRANDMEMBER a
        SRANDMEMBER nokey 5
        SRANDMEMBER a abc
        SSCAN a 0
        SSCAN nokey 0
        SSCAN a xyz
        SINTER a nokey b
        SINTER str nokey a
        SINTER a str nokey
        SINTERCARD 2 a b
        SINTERSTORE d a b
        SUNION a nokey
        SUNIONSTORE d a nokey
        SDIFF nokey a
        SDIFFSTORE d a a
        SPOP a 1
        SPOP b
        SPOP nokey
        SPOP nokey 5
        SPOP a 100
        SADD c 1 2
        SPOP c 0
    ";
    for args in lines(script) {
        b.cmd(&args);
        r.cmd(&args);
        assert_eq!(hits_misses(&mut b), hits_misses(&mut r), "after {args:?}");
    }
}

#[test]
fn writes_that_change_nothing_keep_watchers_happy() {
    let (_b, _r, mut b, mut r) = pair(&[]);
    for raw in [&mut b, &mut r] {
        sadd(raw, "small", &["a".into(), "1".into()]);
        sadd(raw, "big", &words("m", 0..500));
        sadd(raw, "ints", &nums(0..5));
    }
    // Each pair: a no-op write (the transaction still runs), then a real one (aborted).
    for (noop, change) in [
        ("SADD small a", "SADD small b"),
        ("SADD big m1 m2", "SADD big m1 new"),
        ("SADD ints 1", "SADD ints 9"),
        ("SREM small zz", "SREM small a"),
        ("SREM big zz", "SREM big m3"),
        ("SMOVE small ints zz", "SMOVE ints small 2"),
        ("SPOP small 0", "SPOP big"),
        ("SISMEMBER big m5", "SINTERSTORE ints big"),
    ] {
        for cmd in [noop, change] {
            let args: Vec<&str> = cmd.split_whitespace().collect();
            for raw in [&mut b, &mut r] {
                raw.cmd(&["WATCH", args[1]]);
                raw.cmd(&args);
                raw.cmd(&["MULTI"]);
                raw.cmd(&["PING"]);
            }
            assert_same(&mut b, &mut r, &[&["EXEC"]]);
        }
    }
}

#[test]
fn ttls_survive_changes_and_store_commands_replace_the_destination() {
    let (_b, _r, mut b, mut r) = pair(&[]);
    same(
        &mut b,
        &mut r,
        "
        SADD s a b c 1
        EXPIRE s 1000
        SADD s d
        SREM s a
        SADD big x
        EXPIRE big 1000
        SMOVE s other b
        TTL other
        SET d str
        EXPIRE d 500
        SADD t c d 1
        SINTERSTORE d s t
        TTL d
        TYPE d
        SET d str
        SUNIONSTORE d s
        TYPE d
        TTL d
        SET d str
        SDIFFSTORE d nokey
        EXISTS d
        SADD d x
        EXPIRE d 100
        SINTERSTORE d s nokey
        EXISTS d
        ",
    );
    for key in ["s", "big"] {
        let (x, y) = (int(&b.cmd(&["TTL", key])), int(&r.cmd(&["TTL", key])));
        assert!(x > 990 && y > 990, "{key}: {x} vs {y}");
    }
    // SPOP keeps the TTL, also with a count that builds a new set.
    b.cmd(&["SPOP", "s"]);
    assert!(int(&b.cmd(&["TTL", "s"])) > 990);
    sadd(&mut b, "big", &words("m", 0..300));
    b.cmd(&["SPOP", "big", "290"]);
    assert!(int(&b.cmd(&["TTL", "big"])) > 990);
}

#[test]
fn expired_sets_are_gone() {
    let (_b, _r, mut b, mut r) = pair(&[]);
    same(&mut b, &mut r, "SADD s 1 2\nSADD t a\nPEXPIRE s 1\nPEXPIRE t 1");
    thread::sleep(std::time::Duration::from_millis(20));
    same(
        &mut b,
        &mut r,
        "SCARD s\nSMEMBERS t\nSINTER s t\nSUNION s t\nSADD s 5\nSMEMBERS s\nSMOVE t s a\nSPOP t",
    );
}

#[test]
fn copy_rename_and_type_work_on_every_encoding() {
    let (_b, _r, mut b, mut r) = pair(&[]);
    for raw in [&mut b, &mut r] {
        sadd(raw, "i", &nums(0..10));
        sadd(raw, "h", &words("m", 0..600));
    }
    same(
        &mut b,
        &mut r,
        "
        TYPE i
        TYPE h
        COPY i i2
        COPY h h2
        SCARD i2
        SCARD h2
        SREM h2 m1
        SCARD h
        SCARD h2
        RENAME i2 i3
        SMEMBERS i3
        SINTERCARD 2 h h2
        DEL h h2
        EXISTS h h2
        ",
    );
}

#[test]
fn concurrent_smoves_conserve_members() {
    let brim = Server::start(&[]);
    let mut b = brim.raw();
    sadd(&mut b, "a", &words("m", 0..400));
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let mut c = brim.raw();
            thread::spawn(move || {
                for i in 0..400 {
                    let m = format!("m{}", (i * 7 + t * 13) % 400);
                    let (from, to) = if (i + t) % 2 == 0 { ("a", "b") } else { ("b", "a") };
                    c.cmd(&["SMOVE", from, to, &m]);
                    if i % 50 == 0 {
                        c.cmd(&["SUNIONSTORE", &format!("u{t}"), "a", "b"]);
                        assert_eq!(int(&c.cmd(&["SCARD", &format!("u{t}")])), 400);
                    }
                }
            })
        })
        .collect();
    for t in threads {
        t.join().expect("thread");
    }
    let total = int(&b.cmd(&["SCARD", "a"])) + int(&b.cmd(&["SCARD", "b"]));
    assert_eq!(total, 400);
    assert_eq!(int(&b.cmd(&["SINTERCARD", "2", "a", "b"])), 0);
}
