//! The hash family (HSET, HMSET, HSETNX, HGET, HMGET, HDEL, HLEN, HSTRLEN, HEXISTS, HKEYS,
//! HVALS, HGETALL, HINCRBY, HINCRBYFLOAT, HRANDFIELD, HSCAN): differential tests against the
//! real Redis 7.0 (replies compared byte for byte, OBJECT ENCODING included at every
//! conversion threshold), plus structural checks where Redis's reply is random or in hash
//! table order (HRANDFIELD, HSCAN and HGETALL of big hashes are compared as sets).

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::thread;

use common::{info_i64 as info_field, pair, same, Raw, Server};

/// Send the same command to both servers and compare the replies byte for byte.
fn both(b: &mut Raw, r: &mut Raw, args: &[&str]) -> Vec<u8> {
    let want = r.cmd(args);
    let got = b.cmd(args);
    assert_eq!(
        String::from_utf8_lossy(&got),
        String::from_utf8_lossy(&want),
        "command {:?}",
        args.iter().map(|a| &a[..a.len().min(40)]).collect::<Vec<_>>()
    );
    got
}

/// A parsed RESP reply.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum V {
    Simple(String),
    Error(String),
    Int(i64),
    Bulk(Vec<u8>),
    Null,
    /// An aggregate: its type byte (`*`, `%`, `~`) and its elements (a map's flattened).
    Agg(u8, Vec<V>),
    Other(String),
}

fn parse(bytes: &[u8]) -> V {
    let mut at = 0;
    let v = parse_at(bytes, &mut at);
    assert_eq!(at, bytes.len(), "trailing bytes in {:?}", String::from_utf8_lossy(bytes));
    v
}

fn parse_at(b: &[u8], at: &mut usize) -> V {
    let tag = b[*at];
    let end = *at + b[*at..].windows(2).position(|w| w == b"\r\n").expect("CRLF");
    let line = String::from_utf8_lossy(&b[*at + 1..end]).into_owned();
    *at = end + 2;
    match tag {
        b'+' => V::Simple(line),
        b'-' => V::Error(line),
        b':' => V::Int(line.parse().expect("int")),
        b'_' => V::Null,
        b'$' => {
            let n: i64 = line.parse().expect("len");
            if n < 0 {
                return V::Null;
            }
            let v = b[*at..*at + n as usize].to_vec();
            *at += n as usize + 2;
            V::Bulk(v)
        }
        b'*' | b'~' | b'%' => {
            let n: i64 = line.parse().expect("len");
            if n < 0 {
                return V::Null;
            }
            let n = if tag == b'%' { n * 2 } else { n };
            V::Agg(tag, (0..n).map(|_| parse_at(b, at)).collect())
        }
        _ => V::Other(line),
    }
}

impl V {
    fn items(&self) -> &[V] {
        match self {
            V::Agg(_, v) => v,
            other => panic!("not an aggregate: {other:?}"),
        }
    }

    fn text(&self) -> String {
        match self {
            V::Bulk(b) => String::from_utf8_lossy(b).into_owned(),
            V::Simple(s) => s.clone(),
            other => panic!("not a string: {other:?}"),
        }
    }

    fn int(&self) -> i64 {
        match self {
            V::Int(n) => *n,
            other => panic!("not an integer: {other:?}"),
        }
    }
}

/// A flat field, value, field, value, ... list as a map (panics on a repeated field).
fn to_map(items: &[V]) -> BTreeMap<String, String> {
    assert_eq!(items.len() % 2, 0);
    let mut m = BTreeMap::new();
    for p in items.chunks(2) {
        assert!(m.insert(p[0].text(), p[1].text()).is_none(), "field {} twice", p[0].text());
    }
    m
}

/// HGETALL as a map.
fn getall(c: &mut Raw, key: &str) -> BTreeMap<String, String> {
    to_map(parse(&c.cmd(&["HGETALL", key])).items())
}

/// Every field and value HSCAN returns over a whole iteration (fields may repeat).
fn hscan_all(c: &mut Raw, key: &str, extra: &[&str]) -> BTreeMap<String, String> {
    let mut seen = BTreeMap::new();
    let mut cursor = "0".to_string();
    loop {
        let mut args = vec!["HSCAN", key, &cursor];
        args.extend_from_slice(extra);
        let reply = parse(&c.cmd(&args));
        let parts = reply.items();
        let next = parts[0].text();
        for p in parts[1].items().chunks(2) {
            seen.insert(p[0].text(), p[1].text());
        }
        if next == "0" {
            return seen;
        }
        cursor = next;
    }
}

fn encoding(c: &mut Raw, key: &str) -> String {
    parse(&c.cmd(&["OBJECT", "ENCODING", key])).text()
}

/// HSET `n` fields `f<i>` = `v<i>` in one command.
fn fill(c: &mut Raw, key: &str, from: usize, to: usize) {
    let pairs: Vec<String> = (from..to).flat_map(|i| [format!("f{i}"), format!("v{i}")]).collect();
    let mut args = vec!["HSET", key];
    args.extend(pairs.iter().map(String::as_str));
    c.cmd(&args);
}

// Every command with too few or too many arguments (the odd ones of HSET/HMSET are
// rejected by the command itself, after the dispatcher's arity check).
const WRONG_ARITY: &str = "
    HSET
    HSET k
    HSET k f
    HSET k f v f2
    HSET k f v f2 v2 f3
    HMSET k f
    HMSET k f v f2
    HSETNX k f
    HSETNX k f v extra
    HGET k
    HGET k f extra
    HMGET k
    HDEL k
    HLEN
    HLEN k extra
    HSTRLEN k
    HSTRLEN k f extra
    HEXISTS k
    HEXISTS k f extra
    HKEYS
    HKEYS k extra
    HVALS
    HGETALL
    HGETALL k extra
    HINCRBY k f
    HINCRBY k f 1 extra
    HINCRBYFLOAT k f
    HINCRBYFLOAT k f 1 extra
    HRANDFIELD
    HSCAN k
    EXISTS k
";

#[test]
fn wrong_arity_matches_redis() {
    let (_b, _r, mut b, mut r) = pair(&[]);
    same(&mut b, &mut r, WRONG_ARITY);
}

#[test]
fn small_hashes_match_redis_exactly() {
    let (_b, _r, mut b, mut r) = pair(&[]);
    same(
        &mut b,
        &mut r,
        "
        HGET nokey f
        HMGET nokey a b
        HLEN nokey
        HSTRLEN nokey f
        HEXISTS nokey f
        HKEYS nokey
        HVALS nokey
        HGETALL nokey
        HDEL nokey f
        EXISTS nokey
        HSET h a 1 b 2 c hello
        OBJECT ENCODING h
        TYPE h
        HSET h a 1 b 3 d 4
        HMSET h e 5 a x
        HGETALL h
        HKEYS h
        HVALS h
        HLEN h
        HGET h a
        HGET h nofield
        HMGET h a nofield b a
        HEXISTS h a
        HEXISTS h zz
        HSET h int 123 neg -45 big 9223372036854775807 small -9223372036854775808 lead 007 plus +1
        HSET h over 9223372036854775808
        HSTRLEN h int
        HSTRLEN h neg
        HSTRLEN h big
        HSTRLEN h small
        HSTRLEN h lead
        HSTRLEN h nofield
        HGETALL h
        HSETNX h a y
        HSETNX h newf y
        HSETNX newkey f v
        HSET dup a 1 a 2 b 3 a 4
        HMSET dup b 5 b 6
        HGETALL dup
        HGETALL newkey
        HGETALL h
        HDEL h a nofield b a
        HGETALL h
        HDEL h c d e int neg big small lead plus over sp empty newf
        EXISTS h
        HGETALL h
        HDEL h x
        HSET num 1 one 2 two -3 three
        HGET num 1
        HGET num -3
        HMGET num 1 01 2
        HDEL num 01
        HDEL num 2
        HGETALL num
        # WRONGTYPE for every command.
        SET s v
        HSET s f v
        HMSET s f v
        HSETNX s f v
        HGET s f
        HMGET s f
        HDEL s f
        HLEN s
        HSTRLEN s f
        HEXISTS s f
        HKEYS s
        HVALS s
        HGETALL s
        HINCRBY s f 1
        HINCRBYFLOAT s f 1
        HRANDFIELD s
        HRANDFIELD s 1
        HSCAN s 0
        GET s
        ",
    );
}

#[test]
fn binary_and_empty_fields_match_redis() {
    let (_b, _r, mut b, mut r) = pair(&[]);
    let bin = "a\0b\r\nc";
    for cmd in [
        &["HSET", "h", bin, "x\0y", "", "empty-field", "e", ""][..],
        &["HGET", "h", bin],
        &["HGET", "h", ""],
        &["HSTRLEN", "h", bin],
        &["HEXISTS", "h", "a"],
        &["HGETALL", "h"],
        &["HSCAN", "h", "0", "MATCH", "a*"],
        &["HDEL", "h", bin],
        &["HGETALL", "h"],
        // Spaces and non-canonical numbers stay strings.
        &["HSET", "n", "sp", "1 ", "lsp", " 1", "plus", "+1", "e", "1e3"],
        &["HINCRBY", "n", "sp", "1"],
        &["HINCRBY", "n", "lsp", "1"],
        &["HINCRBY", "n", "plus", "1"],
        &["HINCRBYFLOAT", "n", "sp", "1"],
        &["HINCRBYFLOAT", "n", "lsp", "1"],
        &["HINCRBYFLOAT", "n", "e", "1"],
        &["HINCRBYFLOAT", "n", "f", " 1"],
        &["HINCRBYFLOAT", "n", "f", ""],
        &["HINCRBY", "n", "f", ""],
        &["HSTRLEN", "n", "sp"],
        &["HGETALL", "n"],
        &["HSCAN", "n", ""],
        &["HRANDFIELD", "n", "5", "WITHVALUES\0junk"],
        &["HSCAN", "n", "0", "COUNT\0junk", "5", "MATCH\0", "*"],
        &["CONFIG", "SET", "hash-max-listpack-value", "0"],
        &["HSET", "z", "", ""],
        &["OBJECT", "ENCODING", "z"],
        &["HSET", "z2", "", "x"],
        &["OBJECT", "ENCODING", "z2"],
    ] {
        both(&mut b, &mut r, cmd);
    }
}

#[test]
fn hincrby_matches_redis() {
    let (_b, _r, mut b, mut r) = pair(&[]);
    same(
        &mut b,
        &mut r,
        "
        HINCRBY h n 5
        HINCRBY h n -10
        HINCRBY h n 0
        HGET h n
        OBJECT ENCODING h
        HINCRBY h n x
        HINCRBY h n 1.5
        HINCRBY h n 01
        HINCRBY h n 9223372036854775808
        HINCRBY h n -9223372036854775809
        HSET h s hello f 1.5 lz 007 max 9223372036854775807 min -9223372036854775808
        HINCRBY h s 1
        HINCRBY h f 1
        HINCRBY h lz 1
        HINCRBY h max 1
        HINCRBY h max 0
        HINCRBY h max -1
        HINCRBY h min -1
        HINCRBY h min 1
        HINCRBY h new 9223372036854775807
        HINCRBY h new 1
        HINCRBY nokey f 1
        HINCRBY nokey2 f x
        EXISTS nokey2
        HGETALL h
        HGETALL nokey
        ",
    );
}

#[test]
fn hincrbyfloat_matches_redis() {
    let (_b, _r, mut b, mut r) = pair(&[]);
    same(
        &mut b,
        &mut r,
        "
        HINCRBYFLOAT h f 10.5
        HINCRBYFLOAT h f 0.1
        HINCRBYFLOAT h f -10.6
        HINCRBYFLOAT h f 5.0e3
        HINCRBYFLOAT h f 2.0e2
        HINCRBYFLOAT h f 0x10
        HGET h f
        HSET h i 17 s abc
        HINCRBYFLOAT h i 1.5
        HINCRBYFLOAT h i -1.5
        HGET h i
        HINCRBYFLOAT h s 1
        HINCRBYFLOAT h f abc
        HINCRBYFLOAT h f nan
        HINCRBYFLOAT h f inf
        HINCRBYFLOAT h f -inf
        HINCRBYFLOAT h f +inf
        HINCRBYFLOAT h f 1e5000
        HINCRBYFLOAT nokey f inf
        EXISTS nokey
        HINCRBYFLOAT h big 1.1e4932
        HINCRBYFLOAT h big 1.1e4932
        HINCRBYFLOAT h tiny 1e-4940
        HGET h tiny
        OBJECT ENCODING h
        # A result longer than hash-max-listpack-value converts the hash.
        HINCRBYFLOAT h long 1e70
        HSTRLEN h long
        OBJECT ENCODING h
        HINCRBYFLOAT h long 1
        HGETALL nokey
        ",
    );
    // Sorted comparison once big.
    assert_eq!(getall(&mut b, "h"), getall(&mut r, "h"));
}

#[test]
fn encoding_conversions_match_redis() {
    let (_b, _r, mut b, mut r) = pair(&[]);
    let v64 = "x".repeat(64);
    let v65 = "x".repeat(65);
    let cases: Vec<Vec<&str>> = vec![
        // Values and fields at and past hash-max-listpack-value.
        vec!["HSET", "a", "f", &v64],
        vec!["OBJECT", "ENCODING", "a"],
        vec!["HSET", "a", "f", &v65],
        vec!["OBJECT", "ENCODING", "a"],
        vec!["HSET", "b", &v64, "v"],
        vec!["OBJECT", "ENCODING", "b"],
        vec!["HSET", "b", &v65, "v"],
        vec!["OBJECT", "ENCODING", "b"],
        // A long argument converts even when its field already exists with it.
        vec!["HSET", "c", "f", "v"],
        vec!["HSET", "c", "g", "w", "f", &v65],
        vec!["OBJECT", "ENCODING", "c"],
        vec!["HSET", "new", "f", &v65],
        vec!["OBJECT", "ENCODING", "new"],
        // HSETNX only checks when it writes.
        vec!["HSET", "d", "f", "v"],
        vec!["HSETNX", "d", "f", &v65],
        vec!["OBJECT", "ENCODING", "d"],
        vec!["HSETNX", "d", &v65, "v"],
        vec!["OBJECT", "ENCODING", "d"],
        // HINCRBY / HINCRBYFLOAT check the field they write.
        vec!["HSET", "e", "f", "1"],
        vec!["HINCRBY", "e", &v65, "1"],
        vec!["OBJECT", "ENCODING", "e"],
        vec!["HINCRBYFLOAT", "e2", &v65, "1.5"],
        vec!["OBJECT", "ENCODING", "e2"],
        // Shrinking never converts back.
        vec!["HDEL", "a", "f"],
        vec!["EXISTS", "a"],
        vec!["HSET", "c", "z", "1"],
        vec!["HDEL", "c", "f", "g"],
        vec!["OBJECT", "ENCODING", "c"],
        vec!["HGETALL", "c"],
    ];
    for c in &cases {
        both(&mut b, &mut r, c);
    }

    // Entries: 512 stays packed, 513 converts, in one HSET or one by one.
    for c in [&mut b, &mut r] {
        fill(c, "m", 0, 512);
        fill(c, "one", 0, 511);
    }
    both(&mut b, &mut r, &["OBJECT", "ENCODING", "m"]);
    both(&mut b, &mut r, &["HGETALL", "m"]);
    both(&mut b, &mut r, &["HSET", "m", "f0", "again"]);
    both(&mut b, &mut r, &["OBJECT", "ENCODING", "m"]);
    both(&mut b, &mut r, &["HSET", "m", "f512", "v"]);
    both(&mut b, &mut r, &["OBJECT", "ENCODING", "m"]);
    both(&mut b, &mut r, &["HLEN", "m"]);
    both(&mut b, &mut r, &["HSETNX", "one", "f511", "v"]);
    both(&mut b, &mut r, &["OBJECT", "ENCODING", "one"]);
    both(&mut b, &mut r, &["HSETNX", "one", "last", "v"]);
    both(&mut b, &mut r, &["OBJECT", "ENCODING", "one"]);
    for c in [&mut b, &mut r] {
        fill(c, "many", 0, 1000);
    }
    both(&mut b, &mut r, &["OBJECT", "ENCODING", "many"]);
    both(&mut b, &mut r, &["HLEN", "many"]);
    assert_eq!(getall(&mut b, "many"), getall(&mut r, "many"));
    assert_eq!(getall(&mut b, "m"), getall(&mut r, "m"));

    // CONFIG SET of the thresholds (and of their 6.x aliases).
    same(
        &mut b,
        &mut r,
        "
        HSET small a 1 b 2 c 3
        CONFIG SET hash-max-listpack-entries 2
        OBJECT ENCODING small
        HSETNX small a 9
        OBJECT ENCODING small
        HDEL small c
        OBJECT ENCODING small
        HSET small a 5
        OBJECT ENCODING small
        HSET small2 a 1 b 2
        OBJECT ENCODING small2
        HINCRBY small2 a 1
        OBJECT ENCODING small2
        HSET small2 c 3
        OBJECT ENCODING small2
        HSET small3 a 1 b 2 c 3
        HINCRBY small3 a 1
        OBJECT ENCODING small3
        CONFIG SET hash-max-listpack-entries 0
        HSET zero a 1
        OBJECT ENCODING zero
        CONFIG SET hash-max-ziplist-entries 512
        CONFIG SET hash-max-listpack-value 3
        HSET v a abc
        OBJECT ENCODING v
        HSET v b abcd
        OBJECT ENCODING v
        CONFIG SET hash-max-ziplist-value 0
        HSET v0 a b
        OBJECT ENCODING v0
        CONFIG SET hash-max-listpack-value 64
        HMGET v a b
        ",
    );
}

#[test]
fn big_hashes_match_redis() {
    let (_b, _r, mut b, mut r) = pair(&[]);
    for c in [&mut b, &mut r] {
        fill(c, "h", 0, 2000);
    }
    same(
        &mut b,
        &mut r,
        "
        OBJECT ENCODING h
        HLEN h
        HGET h f1234
        HGET h nofield
        HMGET h f0 f1999 f2000 nofield
        HSTRLEN h f1999
        HEXISTS h f7
        HEXISTS h f2000
        HSET h f1 V1 f2 v2-longer f3 v f2000 new
        HSETNX h f4 x
        HSETNX h f2001 x
        HGET h f1
        HGET h f2
        HGET h f3
        HINCRBY h cnt 7
        HINCRBY h cnt 7
        HINCRBYFLOAT h fl 1.25
        HINCRBY h f5 1
        HINCRBYFLOAT h f5 1
        HDEL h f10 f11 nofield f10
        HLEN h
        ",
    );
    assert_eq!(getall(&mut b, "h"), getall(&mut r, "h"));
    let keys = |c: &mut Raw, cmd: &str| -> BTreeSet<String> {
        parse(&c.cmd(&[cmd, "h"])).items().iter().map(V::text).collect()
    };
    assert_eq!(keys(&mut b, "HKEYS"), keys(&mut r, "HKEYS"));
    let vals = |c: &mut Raw| -> Vec<String> {
        let mut v: Vec<String> = parse(&c.cmd(&["HVALS", "h"])).items().iter().map(V::text).collect();
        v.sort();
        v
    };
    assert_eq!(vals(&mut b), vals(&mut r));

    // Deleting everything removes the key; a hash never exists empty.
    let fields: Vec<String> = keys(&mut b, "HKEYS").into_iter().collect();
    for chunk in fields.chunks(500) {
        let mut args = vec!["HDEL", "h"];
        args.extend(chunk.iter().map(String::as_str));
        let deleted = parse(&b.cmd(&args)).int();
        assert_eq!(deleted as usize, chunk.len());
    }
    assert_eq!(b.cmd(&["EXISTS", "h"]), b":0\r\n");
    assert_eq!(b.cmd(&["HLEN", "h"]), b":0\r\n");
    assert_eq!(b.cmd(&["HGETALL", "h"]), b"*0\r\n");

    // HDEL stops at the field that empties the hash and reports what it deleted.
    for c in [&mut b, &mut r] {
        fill(c, "g", 0, 600);
        let fields: Vec<String> = (0..600).map(|i| format!("f{i}")).collect();
        let mut args = vec!["HDEL", "g"];
        args.extend(fields.iter().map(String::as_str));
        args.push("f0");
        assert_eq!(c.cmd(&args), b":600\r\n");
        assert_eq!(c.cmd(&["EXISTS", "g"]), b":0\r\n");
    }
}

#[test]
fn copy_rename_and_ttl_keep_hashes_intact() {
    let (_b, _r, mut b, mut r) = pair(&[]);
    for c in [&mut b, &mut r] {
        fill(c, "big", 0, 600);
        fill(c, "small", 0, 5);
    }
    same(
        &mut b,
        &mut r,
        "
        COPY big big2
        COPY small small2
        HSET big f0 changed
        HDEL big f1
        HSET small f0 changed
        HGET big2 f0
        HGET big2 f1
        HLEN big2
        HGETALL small2
        OBJECT ENCODING big2
        OBJECT ENCODING small2
        RENAME big2 big3
        HGET big3 f599
        EXPIRE small 1000
        HSET small f9 v
        TTL small
        HDEL small f9
        TTL small
        HSET small f a f1 b f2 c f3 d f4 e f5 f f6 g f7 h f8 i f9 j f10 k
        TTL small
        EXPIRE big 1000
        HSET big f1000 v
        HDEL big f2
        TTL big
        CONFIG SET hash-max-listpack-entries 3
        EXPIRE small2 500
        HSET small2 new v
        OBJECT ENCODING small2
        TTL small2
        ",
    );
    assert_eq!(getall(&mut b, "big3"), getall(&mut r, "big3"));
    assert_eq!(getall(&mut b, "small2"), getall(&mut r, "small2"));
}

#[test]
fn hscan_matches_redis() {
    let (_b, _r, mut b, mut r) = pair(&[]);
    same(
        &mut b,
        &mut r,
        "
        HSCAN nokey 0
        HSCAN nokey 0 BADOPTION
        HSCAN nokey x
        HSET h a 1 b 2 ab 3 ba 4 12 twelve
        HSCAN h 0
        HSCAN h 7
        HSCAN h 0 COUNT 1
        HSCAN h 0 MATCH a*
        HSCAN h 0 match *a COUNT 100
        HSCAN h 0 MATCH 1?
        HSCAN h 0 MATCH *
        HSCAN h 0 MATCH nothing*
        HSCAN h 0 COUNT 0
        HSCAN h 0 COUNT -1
        HSCAN h 0 COUNT x
        HSCAN h 0 COUNT
        HSCAN h 0 MATCH
        HSCAN h 0 TYPE hash
        HSCAN h 0 NOVALUES
        HSCAN h x
        HSCAN h -1
        HSCAN h 18446744073709551616
        HSCAN h +0
        ",
    );
    // A big hash: a full iteration returns everything, with or without COUNT and MATCH.
    for c in [&mut b, &mut r] {
        fill(c, "big", 0, 3000);
    }
    let expected: BTreeMap<String, String> = (0..3000).map(|i| (format!("f{i}"), format!("v{i}"))).collect();
    for extra in [&[][..], &["COUNT", "1"], &["COUNT", "100"], &["COUNT", "100000"]] {
        assert_eq!(hscan_all(&mut b, "big", extra), expected, "{extra:?}");
        assert_eq!(hscan_all(&mut r, "big", extra), expected, "{extra:?}");
    }
    let matching: BTreeMap<String, String> =
        expected.iter().filter(|(k, _)| k.starts_with("f12")).map(|(k, v)| (k.clone(), v.clone())).collect();
    assert_eq!(hscan_all(&mut b, "big", &["MATCH", "f12*"]), matching);
    assert_eq!(hscan_all(&mut r, "big", &["MATCH", "f12*"]), matching);
    // COUNT bounds the work of one call roughly as in Redis (fields and values both count).
    let reply = parse(&b.cmd(&["HSCAN", "big", "0", "COUNT", "20"]));
    let n = reply.items()[1].items().len();
    assert!((20..=80).contains(&n), "{n} items for COUNT 20");
    // Errors on a big hash.
    same(
        &mut b,
        &mut r,
        "
        HSCAN big 0 COUNT 0
        HSCAN big 0 TYPE hash
        HSCAN big abc
        ",
    );
    // Elements present for the whole scan are returned even while the hash grows.
    let mut seen = BTreeSet::new();
    let mut cursor = "0".to_string();
    let mut next = 3000;
    loop {
        let reply = parse(&b.cmd(&["HSCAN", "big", &cursor, "COUNT", "50"]));
        for p in reply.items()[1].items().chunks(2) {
            seen.insert(p[0].text());
        }
        fill(&mut b, "big", next, next + 40);
        next += 40;
        cursor = reply.items()[0].text();
        if cursor == "0" {
            break;
        }
    }
    for k in expected.keys() {
        assert!(seen.contains(k), "HSCAN missed {k}");
    }
}

#[test]
fn hrandfield_matches_redis() {
    let (_b, _r, mut b, mut r) = pair(&[]);
    same(
        &mut b,
        &mut r,
        "
        HRANDFIELD nokey
        HRANDFIELD nokey 5
        HRANDFIELD nokey -5 WITHVALUES
        HRANDFIELD nokey 0
        HRANDFIELD nokey x
        HRANDFIELD nokey 1 WITHVALUES extra
        HSET h a 1 b 2 c 3 d 4 e 5
        HRANDFIELD h x
        HRANDFIELD h 1.5
        HRANDFIELD h -9223372036854775808
        HRANDFIELD h 9223372036854775808
        HRANDFIELD h 1 WITHVALUE
        HRANDFIELD h 1 WITHVALUES extra
        HRANDFIELD h 4611686018427387904 WITHVALUES
        HRANDFIELD h -4611686018427387904 WITHVALUES
        HRANDFIELD h 0
        HRANDFIELD h 0 WITHVALUES
        HRANDFIELD h 5
        HRANDFIELD h 6 WITHVALUES
        HRANDFIELD h 9223372036854775807
        HRANDFIELD h 4611686018427387903 withvalues
        ",
    );
    for c in [&mut b, &mut r] {
        fill(c, "big", 0, 1000);
        c.cmd(&["HSET", "small", "a", "1", "b", "2", "c", "3", "d", "4", "e", "5"]);
    }
    for c in [&mut b, &mut r] {
        for key in ["small", "big"] {
            let all = getall(c, key);
            let size = all.len();
            // No count: one field.
            for _ in 0..20 {
                let f = parse(&c.cmd(&["HRANDFIELD", key])).text();
                assert!(all.contains_key(&f));
            }
            for count in [1usize, 2, 3, 4, 100, 300, 333, 334, 400, 999, 1000, 1001, 5000] {
                // Positive: distinct fields, min(count, size) of them.
                let reply = parse(&c.cmd(&["HRANDFIELD", key, &count.to_string()]));
                let got: Vec<String> = reply.items().iter().map(V::text).collect();
                assert_eq!(got.len(), count.min(size), "{key} {count}");
                assert_eq!(got.iter().collect::<BTreeSet<_>>().len(), got.len(), "repeats: {got:?}");
                assert!(got.iter().all(|f| all.contains_key(f)));
                // With values: pairs that belong to the hash.
                let reply = parse(&c.cmd(&["HRANDFIELD", key, &count.to_string(), "WITHVALUES"]));
                let m = to_map(reply.items());
                assert_eq!(m.len(), count.min(size));
                assert!(m.iter().all(|(f, v)| all.get(f) == Some(v)));
                // Negative: exactly |count|, repeats allowed.
                let reply = parse(&c.cmd(&["HRANDFIELD", key, &format!("-{count}"), "WITHVALUES"]));
                let items = reply.items();
                assert_eq!(items.len(), count * 2);
                for p in items.chunks(2) {
                    assert_eq!(all.get(&p[0].text()), Some(&p[1].text()));
                }
            }
            // A negative count samples with replacement: every field shows up eventually.
            let reply = parse(&c.cmd(&["HRANDFIELD", key, "-20000"]));
            let distinct: BTreeSet<String> = reply.items().iter().map(V::text).collect();
            assert!(distinct.len() >= size.min(900), "{key}: only {} distinct", distinct.len());
        }
    }
    // A packed hash's unique sample comes in hash order.
    let order: Vec<String> = ["a", "b", "c", "d", "e"].iter().map(|s| s.to_string()).collect();
    for _ in 0..20 {
        let got: Vec<String> =
            parse(&b.cmd(&["HRANDFIELD", "small", "3"])).items().iter().map(V::text).collect();
        let pos: Vec<usize> = got.iter().map(|f| order.iter().position(|o| o == f).unwrap()).collect();
        assert!(pos.windows(2).all(|w| w[0] < w[1]), "{got:?}");
    }
}

#[test]
fn hrandfield_huge_negative_count_is_bounded() {
    let brim = Server::start(&[]);
    let mut c = brim.raw();
    c.cmd(&["HSET", "h", "a", "1", "b", "2"]);
    c.cmd(&["CONFIG", "SET", "client-output-buffer-limit", "normal 1mb 0 0"]);
    c.send(b"*4\r\n$10\r\nHRANDFIELD\r\n$1\r\nh\r\n$20\r\n-4611686018427387903\r\n$10\r\nWITHVALUES\r\n");
    assert!(c.is_closed(), "the client overrunning its output buffer is disconnected");
    let mut c = brim.raw();
    assert_eq!(c.cmd(&["HLEN", "h"]), b":2\r\n");
    // Under the limit the reply is complete.
    let reply = parse(&c.cmd(&["HRANDFIELD", "h", "-10000"]));
    assert_eq!(reply.items().len(), 10000);
}

/// RESP3 shapes: HGETALL is a map, HRANDFIELD WITHVALUES an array of pairs, nulls are `_`.
#[test]
fn resp3_replies_match_redis() {
    let (_b, _r, mut b, mut r) = pair(&[]);
    b.cmd(&["HELLO", "3"]);
    r.cmd(&["HELLO", "3"]);
    same(
        &mut b,
        &mut r,
        "
        HGET nokey f
        HGETALL nokey
        HKEYS nokey
        HMGET nokey a b
        HRANDFIELD nokey
        HRANDFIELD nokey 3
        HRANDFIELD nokey 3 WITHVALUES
        HSCAN nokey 0
        HSET h a 1 b 2 c x
        HGETALL h
        HKEYS h
        HVALS h
        HGET h nofield
        HMGET h a nofield
        HRANDFIELD h 0 WITHVALUES
        HRANDFIELD h 3 WITHVALUES
        HRANDFIELD h 10 WITHVALUES
        HRANDFIELD h 10
        HSCAN h 0
        HINCRBYFLOAT h f 1.5
        ",
    );
    let reply = parse(&b.cmd(&["HRANDFIELD", "h", "-5", "WITHVALUES"]));
    assert_eq!(reply.items().len(), 5);
    for p in reply.items() {
        assert_eq!(p.items().len(), 2, "RESP3 pairs are arrays of two");
    }
    let reply = parse(&b.cmd(&["HRANDFIELD", "h", "1", "WITHVALUES"]));
    assert!(matches!(&reply, V::Agg(b'*', v) if v.len() == 1 && v[0].items().len() == 2), "{reply:?}");
    fill(&mut b, "big", 0, 600);
    let reply = parse(&b.cmd(&["HGETALL", "big"]));
    assert!(matches!(&reply, V::Agg(b'%', v) if v.len() == 1200));
    let reply = parse(&b.cmd(&["HRANDFIELD", "big", "10", "WITHVALUES"]));
    assert_eq!(reply.items().len(), 10);
    assert!(reply.items().iter().all(|p| p.items().len() == 2));
}

/// Keyspace hits and misses are counted by the read lookups Redis counts, and only those.
#[test]
fn keyspace_hits_and_misses_match_redis() {
    let (_bs, _rs, mut b, mut r) = pair(&[]);
    same(
        &mut b,
        &mut r,
        "
        HSET h a 1 b 2
        HSETNX h a 1
        HSETNX h c 1
        HGET h a
        HGET nokey a
        HMGET h a b
        HMGET nokey a
        HLEN h
        HLEN nokey
        HSTRLEN h a
        HEXISTS nokey a
        HKEYS h
        HVALS nokey
        HGETALL h
        HINCRBY h n 1
        HINCRBYFLOAT h n 1
        HDEL h c
        HDEL nokey c
        HSCAN h 0
        HSCAN nokey 0
        HSCAN h x
        HSET one x 1
        HRANDFIELD one
        HRANDFIELD one 1 WITHVALUES
        HRANDFIELD nokey 2
        HRANDFIELD h x
        SET s v
        HGET s a
        HSET s a b
        ",
    );
    for field in ["keyspace_hits", "keyspace_misses"] {
        assert_eq!(info_field(&mut b, "stats", field), info_field(&mut r, "stats", field), "{field}");
    }
}

/// Writes that change nothing leave WATCH alone; real changes abort the transaction.
#[test]
fn watch_sees_only_real_changes() {
    let (bs, rs, mut b, mut r) = pair(&[]);
    let mut b2 = bs.raw();
    let mut r2 = rs.raw();
    for (c, other) in [(&mut b, &mut b2), (&mut r, &mut r2)] {
        c.cmd(&["HSET", "h", "a", "1"]);
        fill(c, "big", 0, 600);
        let _ = other;
    }
    let rounds: &[(&str, &[&str])] = &[
        ("h", &["HSETNX", "h", "a", "2"]),
        ("h", &["HDEL", "h", "nofield"]),
        ("h", &["HINCRBY", "h", "a", "x"]),
        ("h", &["HGET", "h", "a"]),
        ("h", &["HSETNX", "h", "b", "2"]),
        ("big", &["HDEL", "big", "nofield"]),
        ("big", &["HSETNX", "big", "f1", "x"]),
        ("big", &["HDEL", "big", "f1"]),
        ("h", &["HSET", "h", "a", "1"]),
        ("h", &["HDEL", "h", "a", "b"]),
    ];
    for (key, cmd) in rounds {
        for (c, other) in [(&mut b, &mut b2), (&mut r, &mut r2)] {
            c.cmd(&["WATCH", key]);
            other.cmd(cmd);
            c.cmd(&["MULTI"]);
            c.cmd(&["PING"]);
        }
        both(&mut b, &mut r, &["EXEC"]);
    }
}

/// Commands queued in MULTI behave the same inside EXEC.
#[test]
fn hashes_inside_multi_match_redis() {
    let (_b, _r, mut b, mut r) = pair(&[]);
    same(
        &mut b,
        &mut r,
        "
        MULTI
        HSET h a 1 b 2
        HINCRBY h a 10
        HINCRBY h b x
        HGETALL h
        HDEL h a b
        EXISTS h
        HSET h f
        EXEC
        ",
    );
}

/// Concurrent clients: read-modify-write commands are atomic.
#[test]
fn concurrent_updates_are_atomic() {
    let brim = Server::start(&[]);
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let port = brim.port;
            thread::spawn(move || {
                let mut c = Raw::connect(port);
                for i in 0..300 {
                    c.cmd(&["HINCRBY", "h", "n", "1"]);
                    c.cmd(&["HINCRBYFLOAT", "h", "x", "0.5"]);
                    c.cmd(&["HSET", "big", &format!("t{t}:{i}"), "v"]);
                    c.cmd(&["HINCRBY", "big", "n", "1"]);
                }
            })
        })
        .collect();
    for t in threads {
        t.join().expect("worker");
    }
    let mut c = brim.raw();
    assert_eq!(c.cmd(&["HGET", "h", "n"]), b"$4\r\n1200\r\n");
    assert_eq!(c.cmd(&["HGET", "h", "x"]), b"$3\r\n600\r\n");
    assert_eq!(c.cmd(&["HGET", "big", "n"]), b"$4\r\n1200\r\n");
    assert_eq!(c.cmd(&["HLEN", "big"]), b":1201\r\n");
    assert_eq!(encoding(&mut c, "big"), "hashtable");
}

/// A random mix of writes and reads on a few keys, with small thresholds so that hashes
/// cross them back and forth: every reply equal to Redis's (hash-table-ordered replies
/// compared as sets), and OBJECT ENCODING equal after every write.
#[test]
fn random_operations_match_redis() {
    let (_b, _r, mut b, mut r) = pair(&[]);
    for c in [&mut b, &mut r] {
        c.cmd(&["CONFIG", "SET", "hash-max-listpack-entries", "8"]);
        c.cmd(&["CONFIG", "SET", "hash-max-listpack-value", "6"]);
    }
    let mut seed: u64 = 0x2545_F491_4F6C_DD1D;
    let mut rand = move |n: u64| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed % n
    };
    let values = ["", "1", "-7", "42", "007", "abc", "abcdef", "abcdefg", "1.5", "99999999999"];
    for step in 0..4000 {
        let key = format!("k{}", rand(4));
        let f1 = format!("f{}", rand(14));
        let f2 = if rand(10) == 0 { "a-long-field".to_string() } else { format!("f{}", rand(14)) };
        let v1 = values[rand(values.len() as u64) as usize];
        let v2 = values[rand(values.len() as u64) as usize];
        let by = ["1", "-3", "100", "x", "0.5", "9223372036854775807"][rand(6) as usize];
        let cmd: Vec<&str> = match rand(13) {
            0 | 1 => vec!["HSET", &key, &f1, v1, &f2, v2],
            2 => vec!["HSETNX", &key, &f1, v1],
            3 | 4 => vec!["HDEL", &key, &f1, &f2],
            5 => vec!["HINCRBY", &key, &f1, by],
            6 => vec!["HINCRBYFLOAT", &key, &f1, by],
            7 => vec!["HGET", &key, &f1],
            8 => vec!["HMGET", &key, &f1, &f2],
            9 => vec!["HSTRLEN", &key, &f1],
            10 => vec!["HEXISTS", &key, &f2],
            11 => vec!["HLEN", &key],
            _ => vec!["EXISTS", &key],
        };
        both(&mut b, &mut r, &cmd);
        both(&mut b, &mut r, &["OBJECT", "ENCODING", &key]);
        if step % 50 == 0 {
            assert_eq!(getall(&mut b, &key), getall(&mut r, &key), "step {step}");
        }
    }
}
