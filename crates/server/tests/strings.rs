//! The strings family (GET, SET and its options, SETNX, SETEX, PSETEX, GETSET, GETDEL, GETEX,
//! MGET, MSET, MSETNX, APPEND, STRLEN, GETRANGE, SUBSTR, SETRANGE, INCR, DECR, INCRBY, DECRBY,
//! INCRBYFLOAT, LCS): differential tests against the real Redis 7.0 (every reply compared
//! byte for byte, OBJECT ENCODING included), plus targeted checks of what cannot be compared
//! directly (TTL ranges, expiry timing, keyspace hit/miss counters, atomicity under
//! concurrency).

mod common;

use std::thread;
use std::time::Duration;

use common::{assert_same, info_i64 as info_field, pair, same, Raw, Server};

/// The integer in a `:n` reply.
fn int(reply: &[u8]) -> i64 {
    let s = String::from_utf8_lossy(reply);
    assert!(s.starts_with(':'), "not an integer reply: {s:?}");
    s[1..].trim_end().parse().expect("integer reply")
}

// Every command with too few or too many arguments.
const WRONG_ARITY: &str = "
    GET
    GET k extra
    SET k
    SETNX k
    SETNX k v extra
    SETEX k 10
    SETEX k 10 v extra
    PSETEX k 10
    GETSET k
    GETSET k v extra
    GETDEL
    GETDEL k extra
    GETEX
    MGET
    MSET
    MSET k
    MSET k v k2
    MSETNX
    MSETNX k
    MSETNX k v k2
    APPEND k
    APPEND k v extra
    STRLEN
    STRLEN k extra
    GETRANGE k 0
    GETRANGE k 0 1 2
    SUBSTR k 0
    SETRANGE k 0
    SETRANGE k 0 v extra
    INCR
    INCR k extra
    DECR
    INCRBY k
    INCRBY k 1 2
    DECRBY k
    INCRBYFLOAT k
    INCRBYFLOAT k 1 2
    LCS k
";

#[test]
fn wrong_arity_matches_redis() {
    let (_b, _r, mut b, mut r) = pair(&[]);
    same(&mut b, &mut r, WRONG_ARITY);
}

const SET_OPTIONS: &str = "
    GET nokey
    SET k v
    GET k
    OBJECT ENCODING k
    SET k v extra
    SET k v2 NX
    GET k
    SET k v3 XX
    GET k
    SET nk v XX
    GET nk
    SET nk v nx
    SET nk v2 nx
    GET nk
    SET k v NX XX
    SET k v XX NX
    SET k v nx nx
    SET k v xx xx
    SET k v4 GET
    SET k v5 get GET
    GET k
    SET nk2 v GET
    GET nk2
    SET k v6 NX GET
    GET k
    SET missing v XX GET
    GET missing
    SET missing2 v NX GET
    GET missing2
    SET k v7 XX GET
    GET k
    # Expire options and their validation.
    SET k v EX
    SET k v PX
    SET k v EXAT
    SET k v PXAT
    SET k v EX 0
    SET k v EX -1
    SET k v EX abc
    SET k v EX 1.5
    SET k v EX 01
    SET k v EX +1
    SET k v EX 9223372036854775807
    SET k v EX 9223372036854776
    SET k v EX 9223372036854775
    SET k v PX 9223372036854775807
    SET k v PX 9223372036854775000
    SET k v PX 0
    SET k v PX -100
    SET k v EXAT 0
    SET k v EXAT -1
    SET k v PXAT -5
    SET k v PXAT 0
    SET k v EXAT 9223372036854776
    SET k v EX 100 PX 100
    SET k v EX 100 EXAT 100
    SET k v EX 100 PXAT 100
    SET k v PX 100 EX 100
    SET k v PX 100 PXAT 100
    SET k v EXAT 100 PXAT 100
    SET k v PXAT 100 EX 100
    SET k v KEEPTTL EX 100
    SET k v EX 100 KEEPTTL
    SET k v PX 100 keepttl
    SET k v PERSIST
    SET k v FOO
    SET k v EX 100 FOO
    SET k v NX EX
    GET k
    SET k v EX 100 EX 200
    TTL k
    SET k v ex 300 ex abc
    TTL k
    SET k v KEEPTTL
    TTL k
    SET k w keepttl get
    TTL k
    GET k
    SET k v
    TTL k
    SET k v ex 100 nx
    TTL k
    SET k v2 ex 200 xx get
    TTL k
    SET k v3 px 500000 xx
    TTL k
    SET k v4 PXAT 9999999999999
    SET k v5 EXAT 9999999999
    GET k
    # An absolute time in the past: the key is set and expires at once.
    SET k v EXAT 1
    GET k
    SET k v PXAT 1 GET
    GET k
    SET k v XX
    GET k
    # Encodings chosen for client strings.
    SET n 12345
    OBJECT ENCODING n
    GET n
    SET n -9223372036854775808
    OBJECT ENCODING n
    SET n 9223372036854775807
    OBJECT ENCODING n
    SET n 9223372036854775808
    OBJECT ENCODING n
    SET n 12345678901234567890123
    OBJECT ENCODING n
    SET n 0123
    OBJECT ENCODING n
    SET n -0
    OBJECT ENCODING n
    SET n 0
    OBJECT ENCODING n
    SET n 1.5
    OBJECT ENCODING n
    SET n 12345678901234567890123456789012345678901234
    OBJECT ENCODING n
    SET n 123456789012345678901234567890123456789012345
    OBJECT ENCODING n
    GET n
";

#[test]
fn set_options_and_validation_match_redis() {
    let (_b, _r, mut b, mut r) = pair(&[]);
    same(&mut b, &mut r, SET_OPTIONS);
    // Arguments the whitespace splitter cannot express.
    let cases: &[&[&str]] = &[
        &["SET", "e", ""],
        &["GET", "e"],
        &["OBJECT", "ENCODING", "e"],
        &["SET", "", "empty key"],
        &["GET", ""],
        &["SET", "sp", " 12"],
        &["OBJECT", "ENCODING", "sp"],
        &["SET", "k", "v", "nx\0junk"],
        &["SET", "k", "v", "EX", "100\0"],
        &["SET", "k", "v", "EX", " 100"],
        &["SET", "bin", "a\0b\r\nc"],
        &["GET", "bin"],
    ];
    assert_same(&mut b, &mut r, cases);
}

const SET_VARIANTS: &str = "
    SETNX k v
    SETNX k v2
    GET k
    OBJECT ENCODING k
    SETNX n 42
    OBJECT ENCODING n
    SETEX k 100 v
    TTL k
    GET k
    SETEX k 0 v
    SETEX k -10 v
    SETEX k abc v
    SETEX k 9223372036854775807 v
    SETEX k 9223372036854775 v
    GET k
    SETEX n 100 123
    OBJECT ENCODING n
    PSETEX k 100000 v2
    TTL k
    GET k
    PSETEX k 0 v
    PSETEX k -1 v
    PSETEX k 1.5 v
    PSETEX k 9223372036854775807 v
    PSETEX p 1 v
    # GETSET returns the old value, sets the new one and clears the TTL.
    SETEX g 100 old
    GETSET g new
    TTL g
    GET g
    GETSET nog v
    GET nog
    GETSET g 77
    OBJECT ENCODING g
    GETSET g 12345678901234567890123456789012345678901234567890
    OBJECT ENCODING g
    # GETDEL.
    SET d v
    GETDEL d
    GETDEL d
    GET d
    SET d 10
    GETDEL d
    GETDEL nokey
";

#[test]
fn setnx_setex_psetex_getset_getdel_match_redis() {
    let (_b, _r, mut b, mut r) = pair(&[]);
    same(&mut b, &mut r, SET_VARIANTS);
}

const GETEX: &str = "
    GETEX nokey
    GETEX nokey EX 100
    GETEX nokey EX -1
    GETEX nokey FOO
    SET k v
    GETEX k
    TTL k
    GETEX k EX 100
    TTL k
    GETEX k PX 200000
    TTL k
    GETEX k EXAT 9999999999
    GETEX k PERSIST
    TTL k
    GETEX k persist
    TTL k
    GETEX k EX 100
    GETEX k ex 200 ex 300
    TTL k
    GETEX k EX 0
    GETEX k EX -1
    GETEX k EX abc
    GETEX k PX 0
    GETEX k EXAT 0
    GETEX k PXAT -1
    GETEX k EX 9223372036854775807
    GETEX k EX 9223372036854775
    GETEX k PX 9223372036854775807
    TTL k
    GETEX k EX
    GETEX k PX 100 EX 100
    GETEX k PERSIST EX 100
    GETEX k EX 100 PERSIST
    GETEX k EXAT 100 PXAT 100
    GETEX k NX
    GETEX k XX
    GETEX k GET
    GETEX k KEEPTTL
    GETEX k FOO
    TTL k
    # An absolute time in the past deletes the key (after replying with the value).
    GETEX k EXAT 1
    GET k
    SET k 123
    GETEX k PXAT 1
    GET k
    SET k 123
    GETEX k PX 100000
    OBJECT ENCODING k
    GETEX k PERSIST
    TTL k
";

#[test]
fn getex_matches_redis() {
    let (_b, _r, mut b, mut r) = pair(&[]);
    same(&mut b, &mut r, GETEX);
}

const MULTI_KEY: &str = "
    MGET a b c
    MSET a 1 b 2 c 3
    MGET a b c d
    MGET a a a
    OBJECT ENCODING a
    MSET a x
    MGET a b
    MSET a 1 b
    MSET a 1 a 2 a 3
    GET a
    MSETNX a 1 z 2
    GET z
    MSETNX y 1 z 2
    MGET y z
    MSETNX y 1
    MSETNX w 1 w 2
    GET w
    MSETNX q 1 r
    SETEX t 100 v
    MSET t v2
    TTL t
    MSET big 123456789012345678901234567890123456789012345 n 17
    OBJECT ENCODING big
    OBJECT ENCODING n
";

#[test]
fn mget_mset_msetnx_match_redis() {
    let (_b, _r, mut b, mut r) = pair(&[]);
    same(&mut b, &mut r, MULTI_KEY);
    // Many keys at once (spread over many stripes).
    let mut mset: Vec<String> = vec!["MSET".into()];
    let mut mget: Vec<String> = vec!["MGET".into()];
    for i in 0..300 {
        mset.push(format!("key:{i}"));
        mset.push(format!("value-{i}"));
        mget.push(format!("key:{}", i * 2));
    }
    let mset: Vec<&str> = mset.iter().map(String::as_str).collect();
    let mget: Vec<&str> = mget.iter().map(String::as_str).collect();
    assert_same(&mut b, &mut r, &[&mset, &mget]);
}

const APPEND_STRLEN: &str = "
    STRLEN nokey
    APPEND k hello
    OBJECT ENCODING k
    APPEND k world
    GET k
    STRLEN k
    OBJECT ENCODING k
    APPEND n 123
    OBJECT ENCODING n
    STRLEN n
    APPEND n 4
    OBJECT ENCODING n
    GET n
    INCR n
    OBJECT ENCODING n
    SET m 99
    STRLEN m
    SET m -9223372036854775808
    STRLEN m
    SETEX t 100 abc
    APPEND t def
    TTL t
    GET t
    APPEND long 123456789012345678901234567890123456789012345
    OBJECT ENCODING long
";

#[test]
fn append_strlen_match_redis() {
    let (_b, _r, mut b, mut r) = pair(&[]);
    same(&mut b, &mut r, APPEND_STRLEN);
    let cases: &[&[&str]] = &[
        // Appending nothing still turns the value into `raw`.
        &["SET", "i", "42"],
        &["APPEND", "i", ""],
        &["OBJECT", "ENCODING", "i"],
        &["GET", "i"],
        &["APPEND", "fresh", ""],
        &["OBJECT", "ENCODING", "fresh"],
        &["STRLEN", "fresh"],
        &["APPEND", "bin", "a\0b"],
        &["APPEND", "bin", "\r\n"],
        &["GET", "bin"],
        &["STRLEN", "bin"],
    ];
    assert_same(&mut b, &mut r, cases);
}

const RANGES: &str = "
    GETRANGE nokey 0 -1
    SUBSTR nokey 0 -1
    GETRANGE nokey a b
    SET k Hello,World
    GETRANGE k 0 4
    GETRANGE k -5 -1
    GETRANGE k 0 -1
    GETRANGE k 0 100
    GETRANGE k 5 1
    GETRANGE k -1 -5
    GETRANGE k -100 -50
    GETRANGE k -100 3
    GETRANGE k 3 -100
    GETRANGE k 11 20
    GETRANGE k 10 10
    GETRANGE k 0 9223372036854775807
    GETRANGE k -9223372036854775808 -1
    GETRANGE k -9223372036854775808 9223372036854775807
    GETRANGE k 9223372036854775807 -9223372036854775808
    GETRANGE k 0 a
    GETRANGE k a 0
    GETRANGE k 1.5 2
    GETRANGE k 0 9223372036854775808
    SUBSTR k 1 3
    SUBSTR k -3 -1
    SET n 1234567
    GETRANGE n 1 3
    GETRANGE n -2 -1
    OBJECT ENCODING n
    SET n -42
    GETRANGE n 0 0
    # SETRANGE.
    SETRANGE k 0 J
    GET k
    OBJECT ENCODING k
    SETRANGE k 6 there
    GET k
    SETRANGE k 20 !
    GET k
    STRLEN k
    SETRANGE k -1 x
    SETRANGE k a x
    SETRANGE k 1.5 x
    SETRANGE new 5 abc
    GET new
    OBJECT ENCODING new
    SETRANGE new2 0 x
    OBJECT ENCODING new2
    SETRANGE n 1 9
    GET n
    OBJECT ENCODING n
    SET i 12345
    SETRANGE i 0 9
    OBJECT ENCODING i
    GET i
    SETEX t 100 abc
    SETRANGE t 1 X
    TTL t
    GET t
    SETRANGE k 536870912 x
    SETRANGE k 536870911 xy
    SETRANGE k 9223372036854775807 x
    SETRANGE k 9223372036854775808 x
    SETRANGE big 536870912 x
    GET big
    SETRANGE pad 100000 x
    STRLEN pad
    GETRANGE pad 99995 100005
";

#[test]
fn getrange_setrange_match_redis() {
    let (_b, _r, mut b, mut r) = pair(&[]);
    same(&mut b, &mut r, RANGES);
    let cases: &[&[&str]] = &[
        // Setting nothing: a missing key stays missing, an existing one keeps its encoding.
        &["SETRANGE", "nothing", "0", ""],
        &["SETRANGE", "nothing", "536870912", ""],
        &["SETRANGE", "nothing", "9223372036854775807", ""],
        &["GET", "nothing"],
        &["SET", "int", "123"],
        &["SETRANGE", "int", "10", ""],
        &["SETRANGE", "int", "9223372036854775807", ""],
        &["OBJECT", "ENCODING", "int"],
        &["SETRANGE", "int", "-1", ""],
        &["SETRANGE", "bin", "2", "\0\r\n"],
        &["GET", "bin"],
        &["GETRANGE", "bin", "0", "-1"],
        &["SET", "empty", ""],
        &["GETRANGE", "empty", "0", "-1"],
        &["GETRANGE", "empty", "0", "0"],
        &["GETRANGE", "empty", "-1", "-1"],
        &["SETRANGE", "empty", "2", "ab"],
        &["GET", "empty"],
    ];
    assert_same(&mut b, &mut r, cases);
    // The zero padding is real.
    let got = b.cmd(&["GET", "pad"]);
    assert_eq!(got.len(), "$100001\r\n".len() + 100_001 + 2);
    assert!(got[9..9 + 100_000].iter().all(|&c| c == 0));
}

const COUNTERS: &str = "
    INCR c
    INCR c
    OBJECT ENCODING c
    DECR c
    DECR c
    DECR c
    GET c
    INCRBY c 100
    INCRBY c -200
    DECRBY c 50
    DECRBY c -1000
    OBJECT ENCODING c
    INCRBY c abc
    INCRBY c 1.5
    INCRBY c 01
    INCRBY c 9223372036854775808
    DECRBY c -9223372036854775808
    DECRBY c 9223372036854775807
    DECRBY c abc
    GET c
    SET c 9223372036854775806
    INCR c
    INCR c
    INCRBY c 0
    GET c
    SET c -9223372036854775807
    DECR c
    DECR c
    DECRBY c 1
    INCRBY c -1
    INCRBY c 9223372036854775807
    INCRBY c 9223372036854775807
    SET c abc
    INCR c
    DECR c
    INCRBY c 1
    DECRBY c 1
    SET c 1.5
    INCR c
    SET c 0123
    INCR c
    SET c 12345678901234567890
    INCR c
    SET c 12345
    APPEND c 6
    OBJECT ENCODING c
    INCR c
    OBJECT ENCODING c
    SET c 1
    INCRBYFLOAT c 1
    OBJECT ENCODING c
    INCR c
    OBJECT ENCODING c
    SETEX t 100 10
    INCR t
    TTL t
    INCRBY t 5
    DECR t
    TTL t
    INCRBY new -5
    DECRBY new2 -5
    DECR new3
    MGET new new2 new3
";

#[test]
fn incr_decr_match_redis() {
    let (_b, _r, mut b, mut r) = pair(&[]);
    same(&mut b, &mut r, COUNTERS);
    let cases: &[&[&str]] = &[
        &["SET", "s", " 1"],
        &["INCR", "s"],
        &["SET", "s", "1 "],
        &["INCR", "s"],
        &["SET", "s", ""],
        &["INCR", "s"],
        &["INCRBY", "s2", " 1"],
        &["INCRBY", "s2", ""],
        &["SET", "s", "1\0"],
        &["INCR", "s"],
    ];
    assert_same(&mut b, &mut r, cases);
}

const FLOATS: &str = "
    INCRBYFLOAT f 10.5
    OBJECT ENCODING f
    INCRBYFLOAT f 0.1
    INCRBYFLOAT f -5
    INCRBYFLOAT f 1e3
    INCRBYFLOAT f 5.0e-3
    INCRBYFLOAT f -1005.605
    GET f
    OBJECT ENCODING f
    SET f 10.50
    INCRBYFLOAT f 0.1
    SET f 5.0e3
    INCRBYFLOAT f 2.0e2
    SET f 3
    INCRBYFLOAT f 1.1
    OBJECT ENCODING f
    SET f 1
    INCRBYFLOAT f 0
    OBJECT ENCODING f
    INCRBYFLOAT f abc
    INCRBYFLOAT f nan
    INCRBYFLOAT f NaN
    INCRBYFLOAT f inf
    INCRBYFLOAT f -inf
    INCRBYFLOAT f +inf
    INCRBYFLOAT f infinity
    INCRBYFLOAT f 1e5000
    INCRBYFLOAT f 1e-5000
    INCRBYFLOAT f 1e-4940
    INCRBYFLOAT f 0x10
    INCRBYFLOAT f 1.
    INCRBYFLOAT f .5
    INCRBYFLOAT f +1
    INCRBYFLOAT f 1e
    INCRBYFLOAT f --1
    GET f
    INCRBYFLOAT g 1.1e4932
    INCRBYFLOAT g 1.1e4932
    INCRBYFLOAT h 1e4000
    STRLEN h
    INCRBYFLOAT z -0.000000000000000000001
    GET z
    INCRBYFLOAT z 0.1
    INCRBYFLOAT z 0.2
    INCRBYFLOAT tiny 0.00000000000000001
    INCRBYFLOAT tiny2 0.000000000000000001
    INCRBYFLOAT neg -3.75
    INCRBYFLOAT neg 3.75
    INCRBYFLOAT i 9223372036854775807
    INCRBYFLOAT i 1
    INCRBYFLOAT j 123456789012345678901234567890
    OBJECT ENCODING j
    INCRBYFLOAT j 0.5
    INCRBYFLOAT k 12345678901234567890123456789012345678901234
    OBJECT ENCODING k
    SET bad abc
    INCRBYFLOAT bad 1
    INCRBYFLOAT bad x
    SET bad 1e5000
    INCRBYFLOAT bad 1
    SET n 7
    INCRBYFLOAT n 0.5
    OBJECT ENCODING n
    SETEX t 100 1.5
    INCRBYFLOAT t 1
    TTL t
    SET x 1.5
    INCRBYFLOAT x -1.5
    OBJECT ENCODING x
";

#[test]
fn incrbyfloat_matches_redis() {
    let (_b, _r, mut b, mut r) = pair(&[]);
    same(&mut b, &mut r, FLOATS);
    let cases: &[&[&str]] = &[
        &["INCRBYFLOAT", "s", " 1"],
        &["INCRBYFLOAT", "s", "1 "],
        &["INCRBYFLOAT", "s", ""],
        &["INCRBYFLOAT", "s", "1\0junk"],
        &["GET", "s"],
        &["SET", "v", "2.5\0x"],
        &["INCRBYFLOAT", "v", "1"],
        &["SET", "v", " 2.5"],
        &["INCRBYFLOAT", "v", "1"],
        &["SET", "v", ""],
        &["INCRBYFLOAT", "v", "1"],
    ];
    assert_same(&mut b, &mut r, cases);
    // Operands of 5 KiB or more are refused; just below is accepted.
    let long_ok = format!("1.{}", "0".repeat(5 * 1024 - 3));
    let long_bad = format!("1.{}", "0".repeat(5 * 1024 - 2));
    assert_same(
        &mut b,
        &mut r,
        &[&["INCRBYFLOAT", "l", &long_ok], &["INCRBYFLOAT", "l", &long_bad], &["GET", "l"]],
    );
    // A spread of sums, formatted through long double exactly as Redis does.
    let mut x: u64 = 0x2545_F491_4F6C_DD1D;
    for i in 0..200 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let mantissa = (x % 2_000_000) as i64 - 1_000_000;
        let exp = (x >> 32) % 12;
        let incr = format!("{mantissa}e-{exp}");
        let key = format!("acc{}", i % 7);
        assert_same(&mut b, &mut r, &[&["INCRBYFLOAT", &key, &incr]]);
    }
}

const LCS: &str = "
    MSET key1 ohmytext key2 mynewtext
    LCS key1 key2
    LCS key1 key2 LEN
    LCS key1 key2 IDX
    LCS key1 key2 IDX MINMATCHLEN 4
    LCS key1 key2 IDX MINMATCHLEN 4 WITHMATCHLEN
    LCS key1 key2 idx withmatchlen
    LCS key1 key2 IDX MINMATCHLEN -5
    LCS key1 key2 IDX MINMATCHLEN 100
    LCS key1 key2 LEN IDX
    LCS key1 key2 IDX LEN
    LCS key1 key2 LEN LEN
    LCS key1 key2 WITHMATCHLEN
    LCS key1 key2 LEN WITHMATCHLEN
    LCS key1 key2 MINMATCHLEN
    LCS key1 key2 MINMATCHLEN abc
    LCS key1 key2 MINMATCHLEN 1.5
    LCS key1 key2 FOO
    LCS key1 nokey
    LCS nokey key1
    LCS nokey nokey2
    LCS nokey nokey2 LEN
    LCS nokey nokey2 IDX
    LCS key1 key1
    LCS key1 key1 IDX WITHMATCHLEN
    SET n1 1234567
    SET n2 34512
    LCS n1 n2
    LCS n1 n2 IDX WITHMATCHLEN
    MSET a ABCBDAB b BDCABA
    LCS a b
    LCS a b IDX WITHMATCHLEN
    LCS b a IDX
    MSET x aaaa y aa
    LCS x y IDX WITHMATCHLEN
    MSET p abc q xyz
    LCS p q
    LCS p q IDX
    LCS p q LEN
";

#[test]
fn lcs_matches_redis() {
    let (_b, _r, mut b, mut r) = pair(&[]);
    same(&mut b, &mut r, LCS);
    // Pseudo-random strings over a small alphabet: many ranges to emit.
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut gen = |n: usize| -> String {
        (0..n)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                b"ACGT"[(x % 4) as usize] as char
            })
            .collect()
    };
    for (la, lb) in [(300, 250), (1, 200), (64, 64), (500, 17)] {
        let (sa, sb) = (gen(la), gen(lb));
        assert_same(
            &mut b,
            &mut r,
            &[
                &["MSET", "ra", &sa, "rb", &sb],
                &["LCS", "ra", "rb"],
                &["LCS", "ra", "rb", "LEN"],
                &["LCS", "ra", "rb", "IDX"],
                &["LCS", "ra", "rb", "IDX", "MINMATCHLEN", "3", "WITHMATCHLEN"],
                &["LCS", "rb", "ra", "IDX", "WITHMATCHLEN"],
            ],
        );
    }
    let cases: &[&[&str]] = &[
        &["SET", "bin1", "a\0b\r\nc"],
        &["SET", "bin2", "\0\r\nc"],
        &["LCS", "bin1", "bin2"],
        &["LCS", "bin1", "bin2", "IDX", "WITHMATCHLEN"],
        &["SET", "e", ""],
        &["LCS", "e", "bin1"],
        &["LCS", "e", "bin1", "IDX"],
        &["LCS", "bin1", "bin2", "idx\0x"],
    ];
    assert_same(&mut b, &mut r, cases);
}

/// The size limits, with proto-max-bulk-len at its 1 MB minimum so they are cheap to reach.
#[test]
fn size_limits_match_redis() {
    let (_b, _r, mut b, mut r) = pair(&["--proto-max-bulk-len", "1mb"]);
    let just_under_lcs = "x".repeat(500);
    let over_lcs = "y".repeat(600);
    let cases: &[&[&str]] = &[
        &["SETRANGE", "s", "1048575", "x"],
        &["STRLEN", "s"],
        &["SETRANGE", "s", "1048576", "x"],
        &["SETRANGE", "s", "1048575", "xy"],
        &["SETRANGE", "s", "1048576", ""],
        &["APPEND", "s", "x"],
        &["APPEND", "s", ""],
        &["STRLEN", "s"],
        &["SETRANGE", "new", "1048576", "x"],
        &["SETRANGE", "new", "1048575", "xy"],
        &["SET", "a", "abc"],
        &["SETRANGE", "a", "1048574", "xy"],
        &["SETRANGE", "a", "1048574", "xyz"],
        &["SET", "a", &"a".repeat(1000)],
        &["APPEND", "a", &"b".repeat(1_047_576)],
        &["APPEND", "a", "c"],
        &["STRLEN", "a"],
        &["MSET", "l1", &just_under_lcs, "l2", &just_under_lcs],
        &["LCS", "l1", "l2", "LEN"],
        &["MSET", "l3", &over_lcs, "l4", &over_lcs],
        &["LCS", "l3", "l4"],
        &["LCS", "l3", "l4", "LEN"],
        &["LCS", "l3", "nokey"],
        &["LCS", "l3", "l3", "LEN", "IDX"],
    ];
    assert_same(&mut b, &mut r, cases);
}

/// Replies in RESP3: nulls, and LCS IDX's map.
#[test]
fn resp3_replies_match_redis() {
    let (_b, _r, mut b, mut r) = pair(&[]);
    b.cmd(&["HELLO", "3"]);
    r.cmd(&["HELLO", "3"]);
    same(
        &mut b,
        &mut r,
        "
        GET nokey
        SET k v
        MGET k nokey k
        SET k v2 GET
        SET nk v GET
        SET k v NX
        GETEX nokey
        GETDEL nokey
        GETSET nokey2 v
        INCRBYFLOAT f 1.5
        MSET key1 ohmytext key2 mynewtext
        LCS key1 key2 IDX MINMATCHLEN 2 WITHMATCHLEN
        LCS key1 key2 IDX
        LCS nokey key1 IDX
        GETRANGE nokey 0 1
        ",
    );
}

/// TTL effects, checked with ranges; the same checks run against Redis to validate them.
#[test]
fn ttl_effects() {
    let brim = Server::start(&[]);
    let redis = Server::redis(&[]);
    for server in [&brim, &redis] {
        let mut c = server.raw();
        let pttl = |c: &mut Raw, k: &str| int(&c.cmd(&["PTTL", k]));
        c.cmd(&["SET", "k", "v", "EX", "100"]);
        let t = pttl(&mut c, "k");
        assert!((99_000..=100_000).contains(&t), "EX 100 gave PTTL {t}");
        c.cmd(&["SET", "k", "v", "PX", "5000"]);
        let t = pttl(&mut c, "k");
        assert!((4_000..=5_000).contains(&t), "PX 5000 gave PTTL {t}");
        c.cmd(&["SET", "k", "w", "KEEPTTL"]);
        let t = pttl(&mut c, "k");
        assert!((4_000..=5_000).contains(&t), "KEEPTTL gave PTTL {t}");
        c.cmd(&["SET", "k", "w"]);
        assert_eq!(pttl(&mut c, "k"), -1, "plain SET clears the TTL");
        let now_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or(0);
        let at = (now_ms + 60_000).to_string();
        c.cmd(&["SET", "k", "v", "PXAT", &at]);
        let t = pttl(&mut c, "k");
        assert!((58_000..=60_000).contains(&t), "PXAT +60s gave PTTL {t}");
        let at_s = (now_ms / 1000 + 60).to_string();
        c.cmd(&["SET", "k", "v", "EXAT", &at_s]);
        let t = pttl(&mut c, "k");
        assert!((58_000..=60_000).contains(&t), "EXAT +60s gave PTTL {t}");
        c.cmd(&["SETEX", "k", "50", "v"]);
        let t = pttl(&mut c, "k");
        assert!((49_000..=50_000).contains(&t), "SETEX 50 gave PTTL {t}");
        c.cmd(&["PSETEX", "k", "7000", "v"]);
        let t = pttl(&mut c, "k");
        assert!((6_000..=7_000).contains(&t), "PSETEX 7000 gave PTTL {t}");
        // Modifications keep the TTL.
        for cmd in [
            &["APPEND", "k", "x"][..],
            &["SETRANGE", "k", "0", "y"],
            &["SET", "k", "5", "KEEPTTL"],
            &["INCR", "k"],
            &["INCRBY", "k", "3"],
            &["DECR", "k"],
            &["INCRBYFLOAT", "k", "0.5"],
        ] {
            c.cmd(cmd);
            let t = pttl(&mut c, "k");
            assert!((5_000..=7_000).contains(&t), "{cmd:?} left PTTL {t}");
        }
        // GETSET, MSET clear it.
        c.cmd(&["GETSET", "k", "v"]);
        assert_eq!(pttl(&mut c, "k"), -1);
        c.cmd(&["SETEX", "k", "50", "v"]);
        c.cmd(&["MSET", "k", "v"]);
        assert_eq!(pttl(&mut c, "k"), -1);
        // GETEX sets and removes it.
        assert_eq!(c.cmd(&["GETEX", "k", "PX", "9000"]), b"$1\r\nv\r\n");
        let t = pttl(&mut c, "k");
        assert!((8_000..=9_000).contains(&t), "GETEX PX 9000 gave PTTL {t}");
        c.cmd(&["GETEX", "k", "PERSIST"]);
        assert_eq!(pttl(&mut c, "k"), -1);
        // Keys with a short TTL really go away.
        c.cmd(&["SET", "short", "v", "PX", "50"]);
        c.cmd(&["PSETEX", "short2", "50", "v"]);
        c.cmd(&["SET", "short3", "v"]);
        c.cmd(&["GETEX", "short3", "PX", "50"]);
        assert_eq!(c.cmd(&["GET", "short"]), b"$1\r\nv\r\n");
        thread::sleep(Duration::from_millis(120));
        for k in ["short", "short2", "short3"] {
            assert_eq!(c.cmd(&["GET", k]), b"$-1\r\n", "{k} should have expired");
        }
        // NX treats an expired key as missing.
        c.cmd(&["SET", "e", "old", "PX", "30"]);
        thread::sleep(Duration::from_millis(60));
        assert_eq!(c.cmd(&["SET", "e", "new", "NX"]), b"+OK\r\n");
        assert_eq!(c.cmd(&["INCR", "e2"]), b":1\r\n");
        c.cmd(&["SET", "e3", "5", "PX", "30"]);
        thread::sleep(Duration::from_millis(60));
        assert_eq!(c.cmd(&["INCR", "e3"]), b":1\r\n", "INCR on an expired key starts at 0");
        assert_eq!(int(&c.cmd(&["PTTL", "e3"])), -1);
    }
}

/// Keyspace hits and misses are counted by the read lookups Redis counts, and only those.
#[test]
fn keyspace_hits_and_misses_match_redis() {
    let (_bs, _rs, mut b, mut r) = pair(&[]);
    let script = "
        SET a 1
        SET b hello
        GET a
        GET nokey
        MGET a b nokey nokey2
        SET a 2 GET
        SET nokey3 2 GET
        SET a 3 NX
        GETEX a
        GETEX nokey
        GETSET a 4
        GETSET nokey4 4
        GETDEL nokey4
        GETDEL nokey5
        STRLEN b
        STRLEN nokey
        GETRANGE b 0 1
        GETRANGE nokey 0 1
        GETRANGE b x 1
        SUBSTR b 0 1
        LCS a b
        LCS a nokey
        INCR counter
        INCRBY counter 5
        INCRBYFLOAT counter 1.5
        APPEND b x
        SETRANGE b 0 y
        MSETNX a 1 z 1
        SETNX a 1
        SETEX a 100 v
    ";
    same(&mut b, &mut r, script);
    for field in ["keyspace_hits", "keyspace_misses"] {
        assert_eq!(info_field(&mut b, "stats", field), info_field(&mut r, "stats", field), "{field}");
    }
}

/// Concurrent clients: read-modify-write commands are atomic, and MSET / MSETNX are atomic
/// across stripes.
#[test]
fn concurrent_updates_are_atomic() {
    let brim = Server::start(&[]);
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let port = brim.port;
            thread::spawn(move || {
                let mut c = Raw::connect(port);
                for i in 0..300 {
                    c.cmd(&["INCR", "counter"]);
                    c.cmd(&["INCRBYFLOAT", "fcounter", "0.5"]);
                    c.cmd(&["APPEND", "log", "x"]);
                    c.cmd(&["SETRANGE", "range", &(t * 300 + i).to_string(), "y"]);
                }
            })
        })
        .collect();
    for t in threads {
        t.join().expect("worker");
    }
    let mut c = brim.raw();
    assert_eq!(c.cmd(&["GET", "counter"]), b"$4\r\n1200\r\n");
    assert_eq!(c.cmd(&["GET", "fcounter"]), b"$3\r\n600\r\n");
    assert_eq!(c.cmd(&["STRLEN", "log"]), b":1200\r\n");
    let range = c.cmd(&["GET", "range"]);
    assert_eq!(range.len(), "$1200\r\n".len() + 1200 + 2);
    assert!(range[7..7 + 1200].iter().all(|&b| b == b'y'), "every SETRANGE byte landed");

    // MSETNX: for each round exactly one of the racing clients wins, and wins for all keys.
    for round in 0..20 {
        let keys: Vec<String> = (0..6).map(|k| format!("r{round}:k{k}")).collect();
        let racers: Vec<_> = (0..4)
            .map(|t| {
                let port = brim.port;
                let keys = keys.clone();
                thread::spawn(move || {
                    let mut c = Raw::connect(port);
                    let v = format!("t{t}");
                    let mut args = vec!["MSETNX"];
                    for k in &keys {
                        args.push(k);
                        args.push(&v);
                    }
                    int(&c.cmd(&args))
                })
            })
            .collect();
        let wins: i64 = racers.into_iter().map(|h| h.join().expect("racer")).sum();
        assert_eq!(wins, 1, "round {round}");
        let mut args = vec!["MGET"];
        args.extend(keys.iter().map(String::as_str));
        let all = c.cmd_str(&args);
        let values: Vec<&str> = all.lines().filter(|l| l.starts_with('t')).collect();
        assert_eq!(values.len(), 6, "{all}");
        assert!(values.iter().all(|v| *v == values[0]), "mixed MSETNX winners: {all}");
    }

    // MSET vs MGET: a reader never sees a half-applied MSET.
    let writer = {
        let port = brim.port;
        thread::spawn(move || {
            let mut c = Raw::connect(port);
            for i in 0..500 {
                let v = i.to_string();
                c.cmd(&["MSET", "pa", &v, "pb", &v, "pc", &v, "pd", &v]);
            }
        })
    };
    let mut reader = brim.raw();
    while !writer.is_finished() {
        let reply = reader.cmd_str(&["MGET", "pa", "pb", "pc", "pd"]);
        let values: Vec<&str> = reply.lines().skip(1).filter(|l| !l.starts_with('$')).collect();
        assert!(values.windows(2).all(|w| w[0] == w[1]), "torn MSET: {reply}");
    }
    writer.join().expect("writer");
}

/// Commands queued in MULTI behave the same inside EXEC.
#[test]
fn strings_inside_multi_match_redis() {
    let (_b, _r, mut b, mut r) = pair(&[]);
    same(
        &mut b,
        &mut r,
        "
        MULTI
        SET k 10
        INCRBY k 5
        INCRBYFLOAT k 0.25
        APPEND k x
        GETRANGE k 0 1
        SET k v EX 0
        MSET a 1 b
        LCS k a
        EXEC
        GET k
        ",
    );
}
