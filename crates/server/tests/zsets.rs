//! The sorted set family (ZADD, ZINCRBY, ZREM, ZCARD, ZSCORE, ZMSCORE, ZRANK, ZREVRANK,
//! ZRANGE and its relatives, ZRANGESTORE, ZCOUNT, ZLEXCOUNT, ZREMRANGEBY*, ZPOPMIN, ZPOPMAX,
//! ZMPOP, ZRANDMEMBER, ZUNION/ZINTER/ZDIFF and their STORE forms, ZINTERCARD, ZSCAN):
//! differential tests against the real Redis 7.0 (replies compared byte for byte, OBJECT
//! ENCODING included) in both encodings (`listpack` and, with
//! `zset-max-listpack-entries 0`, `skiplist`), a long randomized differential run, plus
//! checks of what cannot be compared directly (random replies, hashtable-ordered ZSCAN,
//! memory per element, atomicity).

mod common;

use std::collections::{BTreeMap, HashSet};
use std::thread;

use common::{assert_same, encode, info_i64 as info_field, pair, same, Raw};

/// Run `script` once with small sets packed (`listpack`) and once with every sorted set in
/// the big encoding (`skiplist`).
fn same_both_encodings(b: &mut Raw, r: &mut Raw, script: &str) {
    for entries in ["128", "0"] {
        same(b, r, "flushall");
        assert_same(b, r, &[&["config", "set", "zset-max-listpack-entries", entries]]);
        same(b, r, script);
    }
    assert_same(b, r, &[&["config", "set", "zset-max-listpack-entries", "128"]]);
}

/// The bulk strings of a (possibly nested) reply, in order.
fn bulks(reply: &[u8]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut pos = 0;
    while pos < reply.len() {
        let end = reply[pos..].windows(2).position(|w| w == b"\r\n").expect("CRLF") + pos;
        let head = &reply[pos..end];
        pos = end + 2;
        if head[0] == b'$' || head[0] == b',' {
            if head[0] == b',' {
                out.push(head[1..].to_vec());
                continue;
            }
            let n: i64 = String::from_utf8_lossy(&head[1..]).parse().expect("bulk length");
            if n >= 0 {
                out.push(reply[pos..pos + n as usize].to_vec());
                pos += n as usize + 2;
            }
        }
    }
    out
}

/// Send commands pipelined in batches and read (and drop) their replies.
fn pipeline(raw: &mut Raw, cmds: &[Vec<Vec<u8>>]) {
    for chunk in cmds.chunks(500) {
        let mut buf = Vec::new();
        for c in chunk {
            let args: Vec<&[u8]> = c.iter().map(|a| a.as_slice()).collect();
            buf.extend_from_slice(&encode(&args));
        }
        raw.send(&buf);
        for _ in chunk {
            raw.read_reply();
        }
    }
}

const ADD_AND_READ: &str = "
    zadd z 1 a 2 b 3 c
    zadd z 1.5 a 10 d
    zadd z ch 1.5 a 11 d 12 e
    zadd z nx 100 a 200 f
    zadd z xx 100 a 200 g
    zadd z gt 50 a 1 b
    zadd z lt 50 a 1 b
    zadd z gt ch 60 a 1 b
    zadd z NX XX 1 a
    zadd z nx gt 1 a
    zadd z lt nx 1 a
    zadd z gt lt 1 a
    zadd z incr 1 a 2 b
    zadd z incr 5 a
    zadd z incr nx 5 a
    zadd z incr xx 5 zz
    zadd z incr gt -100 a
    zadd z xx ch incr 1 a
    zadd z
    zadd z 1
    zadd z 1 a 2
    zadd z nx
    zadd z abc a
    zadd z 1 a abc b
    zadd z nan a
    zadd z inf x
    zadd z incr -inf x
    zadd z -inf y
    zadd z 0x10 hex
    zadd z 1e400 big
    zadd z 1e-400 small
    zadd z 1e-310 tiny
    zadd z +1.5e3 exp
    zadd z .5 dot
    zadd z 5. dot2
    zadd z -0 negzero
    zadd z 1 dup 2 dup 3 dup
    zscore z dup
    zscore z x
    zscore z y
    zscore z tiny
    zscore z hex
    zscore z negzero
    zscore z nosuch
    zscore nokey a
    zrange z 0 -1 withscores
    zincrby z 1.1 a
    zincrby z -1.1 a
    zincrby z 1 new
    zincrby z abc a
    zincrby z nx a
    zincrby z inf x
    zincrby z -inf y
    zscore z x
    zcard z
    zcard nokey
    zrem z a b nosuch
    zrem z nosuch
    zrem nokey a
    zmscore z c d nosuch
    zmscore nokey a b
    zrank z c
    zrank z nosuch
    zrevrank z c
    zrank nokey a
    zrevrank nokey a
    zadd zd 1.1 a 2.2 b 1e20 c 1e-5 d 123456789012345678 e 4611686018427387904 f 9223372036854775807 g
    zrange zd 0 -1 withscores
    zincrby zd 0.1 a
    zincrby zd 0.2 a
    zscore zd a
    object encoding zd
    set str v
    zadd str 1 a
    zadd str abc a
    zadd str nx xx 1 a
    zincrby str 1 a
    zcard str
    zscore str a
    zmscore str a
    zrem str a
    zrank str a
    zrevrank str a
    type z
";

#[test]
fn add_update_and_point_reads() {
    let (_bs, _rs, mut b, mut r) = pair(&[]);
    same_both_encodings(&mut b, &mut r, ADD_AND_READ);
}

const RANGES: &str = "
    zadd z 1 a 2 b 3 c 4 d 5 e 5 f 5 g 6 h
    zrange z 0 -1
    zrange z 2 4 withscores
    zrange z -3 -1
    zrange z -100 100
    zrange z 5 2
    zrange z 100 200
    zrange z 0 -1 rev
    zrange z 0 2 rev withscores
    zrange z 0 9223372036854775807
    zrange z -9223372036854775808 9223372036854775807
    zrevrange z 0 2 withscores
    zrevrange z -2 -1
    zrevrange z 0 1 rev
    zrange z 0 1 limit 0 1
    zrange z 0 1 limit 0 -1
    zrange z 0 1 limit 1
    zrange z 0 1 limit a b
    zrange z a 1
    zrange z 0 1.5
    zrange z 0 1 foo
    zrange z 0 1 withscores withscores
    zrange z 1 5 byscore
    zrange z (1 5 byscore
    zrange z (1 (5 byscore withscores
    zrange z -inf +inf byscore
    zrange z +inf -inf byscore
    zrange z +inf -inf byscore rev
    zrange z 5 2 byscore rev withscores
    zrange z (5 (2 byscore rev
    zrange z -inf +inf byscore limit 2 3
    zrange z -inf +inf byscore limit 2 -1
    zrange z -inf +inf byscore limit -1 3
    zrange z -inf +inf byscore limit 100 3
    zrange z -inf +inf byscore limit 7 3
    zrange z -inf +inf byscore limit 0 0
    zrange z -inf +inf byscore limit 9223372036854775807 1
    zrange z +inf -inf byscore rev limit 1 2
    zrange z abc 1 byscore
    zrange z 1 nan byscore
    zrange z 1 ( byscore
    zrange z (5 (5 byscore
    zrange z 5 5 byscore
    zrange z 1 5 byscore byscore
    zrange z 1 5 byscore bylex
    zrange z 1 5 rev rev
    zrange z - + bylex
    zrange z - + bylex withscores
    zrange z [a [c bylex
    zrangebyscore z 1 3
    zrangebyscore z 1 3 withscores limit 1 1
    zrangebyscore z 1 3 byscore
    zrangebyscore z 1 3 rev
    zrangebyscore z 1e400 -1e400
    zrangebyscore z -1e400 1e400 withscores
    zrevrangebyscore z 3 1
    zrevrangebyscore z 3 1 withscores limit 1 5
    zrevrangebyscore z (3 1
    zrevrangebyscore z 1 3
    zrangebyscore nokey 1 3
    zrevrangebyscore nokey 1 3
    zcount z 1 3
    zcount z (1 3
    zcount z -inf +inf
    zcount z 3 1
    zcount z (5 5
    zcount z a b
    zcount nokey 1 2
    zadd z2 0 a 0 b 0 c 0 d 0 e 0 f 0 g
    zrangebylex z2 - +
    zrangebylex z2 [b [d
    zrangebylex z2 (b (d
    zrangebylex z2 (b + limit 1 2
    zrangebylex z2 - + limit -1 2
    zrangebylex z2 - + limit 2 -1
    zrangebylex z2 - + limit 100 2
    zrevrangebylex z2 + -
    zrevrangebylex z2 [d [b
    zrevrangebylex z2 + - limit 1 2
    zrangebylex z2 b d
    zrangebylex z2 [b d
    zrangebylex z2 +b -
    zrangebylex z2 + -
    zrangebylex z2 - -
    zrangebylex z2 [d [b
    zrangebylex z2 [b (b
    zrangebylex z2 - + withscores
    zlexcount z2 - +
    zlexcount z2 [b (e
    zlexcount z2 (b [b
    zlexcount z2 a b
    zlexcount nokey - +
    zrange z2 [b [d bylex rev
    zrange z2 [d [b bylex rev
    zrange z2 [d [b bylex rev limit 1 1
    zrangebylex z - +
    zrangebylex z [b [f
    zlexcount z [b [f
    set str v
    zrange str 0 1
    zrange str 0 1 byscore
    zrangebyscore str 1 2
    zrangebylex str - +
    zcount str 1 2
    zlexcount str - +
";

#[test]
fn ranges_by_rank_score_and_lex() {
    let (_bs, _rs, mut b, mut r) = pair(&[]);
    same_both_encodings(&mut b, &mut r, RANGES);
}

const STORES: &str = "
    zadd z 1 a 2 b 3 c 4 d 5 e 5 f 5 g 6 h
    zadd z2 0 a 0 b 0 c 0 d 0 e 0 f 0 g
    zrangestore dst z 0 -1
    zrange dst 0 -1 withscores
    object encoding dst
    zrangestore dst z 2 1
    exists dst
    zrangestore dst z 1 3 byscore limit 1 1
    zrange dst 0 -1 withscores
    zrangestore dst z 3 1 byscore rev
    zrange dst 0 -1 withscores
    zrangestore dst z 0 2 rev
    zrange dst 0 -1 withscores
    zrangestore dst nokey 0 -1
    exists dst
    set str v
    zrangestore dst str 0 -1
    zrangestore dst z 0 -1 withscores
    zrangestore dst z 0 -1 limit 0 1
    zrangestore dst z2 [b [d bylex
    zrange dst 0 -1
    zrangestore dst z2 [d [b bylex rev limit 1 5
    zrange dst 0 -1
    set dst x
    expire dst 100
    zrangestore dst z 0 1
    ttl dst
    type dst
    zrangestore z z 0 2
    zrange z 0 -1 withscores
    zrangestore str z 0 0
    type str
";

#[test]
fn zrangestore() {
    let (_bs, _rs, mut b, mut r) = pair(&[]);
    same_both_encodings(&mut b, &mut r, STORES);
}

const REMOVALS_AND_POPS: &str = "
    zadd z 1 a 2 b 3 c 4 d 5 e 5 f 5 g 6 h
    zremrangebyrank z 0 1
    zrange z 0 -1
    zremrangebyrank z -2 -1
    zrange z 0 -1
    zremrangebyrank z 5 1
    zremrangebyrank z 100 200
    zremrangebyrank z a 1
    zremrangebyrank z -9223372036854775808 -9223372036854775808
    zremrangebyscore z (3 5
    zrange z 0 -1 withscores
    zremrangebyscore z abc 1
    zremrangebyscore z 10 1
    zremrangebyscore z -inf +inf
    exists z
    zadd z2 0 a 0 b 0 c 0 d 0 e
    zremrangebylex z2 [b (d
    zrange z2 0 -1
    zremrangebylex z2 b d
    zremrangebylex z2 [e [a
    zremrangebylex z2 - +
    exists z2
    zremrangebylex nokey - +
    zremrangebyscore nokey 1 2
    zremrangebyrank nokey 0 1
    set str v
    zremrangebyrank str 0 1
    zremrangebyscore str 0 1
    zremrangebylex str - +
    zremrangebyrank str a 1
    zremrangebyscore str a 1
    zadd p 1 a 2 b 3 c 4 d
    zpopmin p
    zpopmax p
    zpopmin p 0
    zpopmin p -1
    zpopmin p abc
    zpopmin p 1 2
    zpopmin p 10
    exists p
    zpopmin p
    zpopmin p 3
    zpopmax p 0
    zpopmax str
    zpopmin str 0
    zadd p 1 a 2 b 3 c 4 d
    zpopmax p 2
    zmpop 1 p min
    zmpop 1 p max count 10
    zmpop 1 p min
    zmpop 2 nokey p min
    zadd p 1 a 2 b
    zmpop 2 nokey p MIN count 1
    zmpop 2 str p min
    zmpop 2 nokey str min
    zmpop 0 p min
    zmpop -1 p min
    zmpop abc p min
    zmpop 1 p
    zmpop 1 p foo
    zmpop 1 p min count
    zmpop 1 p min count 0
    zmpop 1 p min count -1
    zmpop 1 p min count abc
    zmpop 1 p min count 1 count 2
    zmpop 1 p min foo
    zmpop 5 p min
    zmpop 9223372036854775807 p min
    zmpop 1 p max count 9223372036854775807
    exists p
";

#[test]
fn removals_and_pops() {
    let (_bs, _rs, mut b, mut r) = pair(&[]);
    same_both_encodings(&mut b, &mut r, REMOVALS_AND_POPS);
}

const SET_OPERATIONS: &str = "
    zadd a 1 x 2 y 3 z
    zadd b 10 y 20 z 30 w
    sadd s y w q
    sadd si 1 2 3
    zadd ni 5 1 6 2 7 9
    zunion 2 a b
    zunion 2 a b withscores
    zunion 3 a b s withscores
    zunion 2 a b weights 2 3 withscores
    zunion 2 a b weights 2 withscores
    zunion 2 a b weights 2 x withscores
    zunion 2 a b weights 1 nan
    zunion 2 a b aggregate min withscores
    zunion 2 a b aggregate max withscores
    zunion 2 a b AGGREGATE SUM WITHSCORES
    zunion 2 a b aggregate foo
    zunion 2 a b aggregate
    zunion 2 a b withscores weights 1 1 aggregate sum
    zunion 0 a
    zunion -1 a
    zunion abc a
    zunion 3 a b
    zunion 2 a nokey withscores
    zunion 2 a b limit 1
    zinter 2 a b withscores
    zinter 3 a b s withscores
    zinter 2 a b weights 2 3 aggregate max withscores
    zinter 2 a nokey
    zinter 2 si ni withscores
    zinter 2 ni si withscores
    zunion 2 si ni withscores
    zinter 2 a a withscores
    zunion 2 a a withscores
    zdiff 2 a b withscores
    zdiff 2 b a
    zdiff 2 a a
    zdiff 1 a withscores
    zdiff 2 a b weights 1 2
    zdiff 2 a b aggregate sum
    zdiff 2 nokey a
    zdiff 2 s a withscores
    zdiff 3 a s b withscores
    zintercard 2 a b
    zintercard 2 a b limit 1
    zintercard 2 a b limit 0
    zintercard 2 a b limit -1
    zintercard 2 a b limit abc
    zintercard 2 a b withscores
    zintercard 1 nokey
    zintercard 0 a
    zintercard 2 a s
    zunionstore d 2 a b
    zrange d 0 -1 withscores
    object encoding d
    zunionstore d 2 a b withscores
    zinterstore d 2 a b weights 1 -1
    zrange d 0 -1 withscores
    zinterstore d 2 a nokey
    exists d
    zdiffstore d 2 a b
    zrange d 0 -1 withscores
    zdiffstore d 2 a a
    exists d
    zdiffstore d 0 a
    zinterstore str 1 a
    type str
    zunionstore a 2 a b
    zrange a 0 -1 withscores
    zunion 2 a b weights inf 0 withscores
    zunion 2 a b weights inf -inf withscores
    zadd ia inf x -inf y
    zadd ib -inf x inf y
    zunion 2 ia ib withscores
    zinter 2 ia ib withscores
    zinter 2 ia ib aggregate min withscores
    zinter 2 ia ib aggregate max withscores
    zunion 2 ia ib weights 0 1 withscores
    zinter 2 ia ib weights 0 0 withscores
    set str v
    zunion 1 str
    zinter 2 nokey str
    zunion 2 str a weights x
    zdiff 2 a str
    zunionstore d 2 a str
    zintercard 2 a str
";

#[test]
fn union_inter_diff() {
    let (_bs, _rs, mut b, mut r) = pair(&[]);
    same_both_encodings(&mut b, &mut r, SET_OPERATIONS);
}

const EDGES: &str = "
    zadd z 1 10 1 9 1 010 1 -1 1 -0 1 9223372036854775808 1 -9223372036854775808 1 a
    zrange z 0 -1 withscores
    zrangebylex z - +
    zrangebylex z [1 [9
    zscore z 010
    zrem z 010
    zrange z 0 -1
    zadd w 1 a
    expire w 100
    zadd w 2 b
    ttl w
    zrem w a
    ttl w
    zrangestore w w 0 -1
    ttl w
    zrange w 0 -1 withscores
    zunionstore w 1 w
    zrange w 0 -1 withscores
    zadd f 0.1 a 0.2 b
    zincrby f 0.2 a
    zscore f a
    zadd f 1e300 c
    zincrby f 1e300 c
    zincrby f inf c
    zincrby f -inf c
    zscore f c
    zadd f -inf d
    zincrby f inf d
    zadd f incr inf d
    zadd f incr -inf d
    zunion 2 f f withscores
    zrangebyscore f -inf -inf withscores
    zrangebyscore f (-inf +inf withscores
    zrangebyscore f -inf (+inf withscores
    zadd g 1 a 1 b 1 c
    zrangebyscore g 1 1
    zrangebyscore g (1 1
    zrangebyscore g 1 (1
    zcount g (1 1
    zrangebyscore g 1 1 limit 1 1
    zrangebyscore g 1 1 limit 1 9223372036854775807
    zrangebyscore g 1 1 limit -9223372036854775808 -9223372036854775808
    zremrangebyrank g -9223372036854775808 9223372036854775807
    exists g
";

#[test]
fn edge_cases() {
    let (_bs, _rs, mut b, mut r) = pair(&[]);
    same_both_encodings(&mut b, &mut r, EDGES);
    // Arguments the whitespace-split scripts cannot carry.
    for entries in ["128", "0"] {
        assert_same(&mut b, &mut r, &[&["config", "set", "zset-max-listpack-entries", entries]]);
        assert_same(
            &mut b,
            &mut r,
            &[
                &["del", "e"],
                &["zadd", "e", "0", "", "0", "a b", "0", "x\0y", "0", "\u{e9}"],
                &["zrange", "e", "0", "-1", "withscores"],
                &["zscore", "e", ""],
                &["zscore", "e", "x\0y"],
                &["zrank", "e", "a b"],
                &["zrangebylex", "e", "[", "+"],
                &["zrangebylex", "e", "(", "[x"],
                &["zrangebylex", "e", "[x\0y", "+"],
                &["zrangebylex", "e", "+\0junk", "-"],
                &["zrangebyscore", "e", "(", "2\0junk"],
                &["zrangebyscore", "e", "", "+inf"],
                &["zrangebyscore", "e", " 1", "+inf"],
                &["zadd", "e", "1\0", "x"],
                &["zadd", "e", " 1", "x"],
                &["zadd", "e", "nx\0z", "5", "nx-member"],
                &["zrem", "e", "", "x\0y"],
                &["zrange", "e", "0", "-1", "withscores"],
            ],
        );
    }
}

const RESP3: &str = "
    zadd z 1 a 2 b 3 c
    zrange z 0 -1 withscores
    zrange z 0 -1
    zrangebyscore z -inf +inf withscores limit 0 2
    zrevrange z 0 -1 withscores
    zscore z a
    zscore z nosuch
    zscore nokey a
    zmscore z a nosuch
    zrank z a
    zrank z nosuch
    zincrby z 1 a
    zadd z incr 1 a
    zadd z incr xx 1 nosuch
    zpopmin z
    zpopmin z 1
    zpopmax z 5
    zadd z 1 a 2 b 3 c
    zmpop 1 z min count 2
    zmpop 1 nokey min
    zrandmember z 5 withscores
    zrandmember z 5
    zrandmember nokey
    zrandmember nokey 1
    zunion 1 z withscores
    zunion 1 z
    zinter 1 z withscores
    zdiff 1 z withscores
    zpopmin nokey
    zpopmin nokey 2
";

#[test]
fn resp3_shapes() {
    let (_bs, _rs, mut b, mut r) = pair(&[]);
    b.cmd(&["HELLO", "3"]);
    r.cmd(&["HELLO", "3"]);
    same_both_encodings(&mut b, &mut r, RESP3);
    same(&mut b, &mut r, "flushall\nzadd z 1 a 2 b 3 c\nzscan z 0");
}

#[test]
fn encoding_conversions() {
    let (_bs, _rs, mut b, mut r) = pair(&[]);
    let members = |n: usize| (0..n).map(|i| format!("{i} m{i}")).collect::<Vec<_>>().join(" ");
    let long64 = "x".repeat(64);
    let long65 = "y".repeat(65);
    let script = format!(
        "
        zadd e {m128}
        object encoding e
        zadd e 200 m200
        object encoding e
        zrem e m200 m1 m2 m3
        object encoding e
        zremrangebyrank e 0 100
        object encoding e
        zadd v 1 {long64}
        object encoding v
        zadd v 2 {long65}
        object encoding v
        zadd v2 1 {long65}
        object encoding v2
        zadd v3 1 a
        zincrby v3 1 {long65}
        object encoding v3
        zadd e2 {m129}
        object encoding e2
        zrangestore d e2 0 10
        object encoding d
        zrangestore d e2 0 -1
        object encoding d
        zunionstore d 1 e2
        object encoding d
        zunionstore d 1 v
        object encoding d
        zinterstore d 2 e2 e2
        object encoding d
        zrange d 0 -1 withscores
        zdiffstore d 2 e2 e
        object encoding d
        config set zset-max-listpack-entries 4
        zadd small 1 a 2 b 3 c 4 d
        object encoding small
        zadd small 5 e
        object encoding small
        zadd s2 1 a 2 b 3 c 4 d 5 e
        object encoding s2
        zrangestore d s2 0 3
        object encoding d
        zrangestore d s2 0 -1
        object encoding d
        zadd s3 xx 1 a
        exists s3
        config set zset-max-listpack-entries 0
        zadd z0 1 a
        object encoding z0
        zunionstore d 1 z0
        object encoding d
        config set zset-max-listpack-entries 128
        config set zset-max-listpack-value 0
        zadd zv 1 a
        object encoding zv
        zadd zv1 1 10
        object encoding zv1
        config set zset-max-listpack-value 64
        zunionstore d 1 zv
        object encoding d
        ",
        m128 = members(128),
        m129 = members(129),
    );
    same(&mut b, &mut r, "flushall");
    same(&mut b, &mut r, &script);
}

const BIG_SCRIPT_TAIL: &str = "
    object encoding big
    zrange big 0 20 withscores
    zrange big -20 -1 withscores
    zrange big 0 20 rev withscores
    zrangebyscore big 10 12 withscores
    zrangebyscore big (10 12 withscores limit 5 7
    zrevrangebyscore big 12 (10 withscores limit 5 7
    zcount big 10 12
    zcount big (10 (12
    zrank big m500
    zrevrank big m500
    zscore big m500
    zrem big m500 m501 nosuch
    zcard big
    zincrby big 100 m1
    zrange big -3 -1 withscores
    zadd big gt 0 m2
    zadd big lt ch 0 m2 0 m3
    zrange big 0 5 withscores
    zremrangebyrank big 0 9
    zcard big
    zremrangebyscore big (20 30
    zcard big
    zrange big 100 110 withscores
    zpopmin big 3
    zpopmax big 3
    zmpop 1 big max count 2
    zunion 2 big e withscores
    zinter 2 big e withscores
    zdiff 2 e big withscores
    zunionstore d 2 big e
    object encoding d
    zrange d 0 -1 withscores
    zrangebylex lex [b [d
    zrangebylex lex (b1 (c limit 2 5
    zrevrangebylex lex [d [b limit 2 5
    zlexcount lex [b [d
    zlexcount lex - +
    zremrangebylex lex [c (d
    zcard lex
    zrandmember big 10000 withscores
    zrangestore d big 5 (10 byscore
    zrange d 0 -1 withscores
    zrange big 0 -1 withscores
";

#[test]
fn big_sets() {
    let (_bs, _rs, mut b, mut r) = pair(&[]);
    let big: Vec<String> = (0..1000).map(|i| format!("{} m{i}", i % 50)).collect();
    let lex: Vec<String> = (0..300).map(|i| format!("0 {}{i}", (b'a' + (i % 26) as u8) as char)).collect();
    let e: Vec<String> = (0..100).map(|i| format!("{i} m{}", i * 7)).collect();
    let script = format!(
        "flushall\nzadd big {}\nzadd lex {}\nzadd e {}\n{BIG_SCRIPT_TAIL}",
        big.join(" "),
        lex.join(" "),
        e.join(" ")
    );
    same(&mut b, &mut r, &script);
}

/// A tiny deterministic PRNG for the randomized run.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        self.0 >> 33
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// Thousands of random commands on a few keys whose sets cross the (lowered) listpack
/// thresholds back and forth, every reply compared with Redis. `ZSEED` and `ZROUNDS` in
/// the environment pick another seed and length (for soak runs).
#[test]
fn randomized_against_redis() {
    let (_bs, _rs, mut b, mut r) = pair(&[]);
    same(&mut b, &mut r, "config set zset-max-listpack-entries 24\nconfig set zset-max-listpack-value 12");
    let seed: u64 = std::env::var("ZSEED").ok().and_then(|v| v.parse().ok()).unwrap_or(0x5eed);
    let mut rng = Lcg(seed);
    let keys = ["k1", "k2", "k3"];
    for round in 0..std::env::var("ZROUNDS").ok().and_then(|v| v.parse().ok()).unwrap_or(4000u64) {
        let key = keys[rng.below(3) as usize];
        let other = keys[rng.below(3) as usize];
        let member = |rng: &mut Lcg| match rng.below(4) {
            0 => format!("{}", rng.below(60)),
            1 => format!("m{}", rng.below(60)),
            2 => format!("long-member-{}", rng.below(20)),
            _ => ["a", "b", "c", "-1", "010"][rng.below(5) as usize].to_string(),
        };
        let score = |rng: &mut Lcg| match rng.below(5) {
            0 => format!("{}", rng.below(10)),
            1 => format!("{}.5", rng.below(10) as i64 - 5),
            2 => ["-inf", "+inf", "0", "-0", "1e-3"][rng.below(5) as usize].to_string(),
            _ => format!("{}", rng.below(1000) as f64 / 7.0),
        };
        let bound = |rng: &mut Lcg| {
            let v = score(rng);
            if rng.below(3) == 0 {
                format!("({v}")
            } else {
                v
            }
        };
        let lex = |rng: &mut Lcg| match rng.below(4) {
            0 => "-".to_string(),
            1 => "+".to_string(),
            2 => format!("[{}", member(rng)),
            _ => format!("({}", member(rng)),
        };
        let cmd: Vec<String> = match rng.below(22) {
            0..=4 => {
                let mut c = vec!["zadd".to_string(), key.to_string()];
                for o in ["nx", "xx", "gt", "lt", "ch"] {
                    if rng.below(8) == 0 {
                        c.push(o.to_string());
                    }
                }
                for _ in 0..1 + rng.below(6) {
                    c.push(score(&mut rng));
                    c.push(member(&mut rng));
                }
                c
            }
            5 => vec!["zincrby".into(), key.into(), score(&mut rng), member(&mut rng)],
            6 => vec!["zrem".into(), key.into(), member(&mut rng), member(&mut rng)],
            7 => vec!["zrange".into(), key.into(), "0".into(), "-1".into(), "withscores".into()],
            8 => {
                let (a, z) = (rng.below(30) as i64 - 15, rng.below(30) as i64 - 15);
                vec!["zrange".into(), key.into(), a.to_string(), z.to_string(), "rev".into()]
            }
            9 => {
                let mut c = vec!["zrangebyscore".into(), key.into(), bound(&mut rng), bound(&mut rng)];
                if rng.below(2) == 0 {
                    c.extend([
                        "limit".into(),
                        rng.below(5).to_string(),
                        (rng.below(6) as i64 - 1).to_string(),
                    ]);
                }
                c.push("withscores".into());
                c
            }
            10 => vec![
                "zrevrangebyscore".into(),
                key.into(),
                bound(&mut rng),
                bound(&mut rng),
                "withscores".into(),
            ],
            11 => vec!["zcount".into(), key.into(), bound(&mut rng), bound(&mut rng)],
            12 => vec!["zrank".into(), key.into(), member(&mut rng)],
            13 => vec![
                "zremrangebyrank".into(),
                key.into(),
                rng.below(10).to_string(),
                rng.below(10).to_string(),
            ],
            14 => vec!["zremrangebyscore".into(), key.into(), bound(&mut rng), bound(&mut rng)],
            15 => vec!["zpopmin".into(), key.into(), rng.below(3).to_string()],
            16 => vec!["zpopmax".into(), key.into()],
            17 => {
                let op = ["zunionstore", "zinterstore", "zdiffstore"][rng.below(3) as usize];
                vec![op.into(), "dst".into(), "2".into(), key.into(), other.into()]
            }
            18 => vec!["zrange".into(), "dst".into(), "0".into(), "-1".into(), "withscores".into()],
            19 => vec![
                "zrangestore".into(),
                other.into(),
                key.into(),
                bound(&mut rng),
                bound(&mut rng),
                "byscore".into(),
            ],
            20 => vec!["zcard".into(), key.into()],
            _ => {
                // Lex ranges only mean something over equal scores: on a set of its own.
                let mut c = vec!["zrangebylex".into(), "lexset".into(), lex(&mut rng), lex(&mut rng)];
                if rng.below(3) == 0 {
                    c = vec!["zlexcount".into(), "lexset".into(), lex(&mut rng), lex(&mut rng)];
                } else if rng.below(4) == 0 {
                    let m = member(&mut rng);
                    c = vec!["zadd".into(), "lexset".into(), "0".into(), m];
                }
                c
            }
        };
        let args: Vec<&str> = cmd.iter().map(String::as_str).collect();
        let want = r.cmd(&args);
        let got = b.cmd(&args);
        assert_eq!(String::from_utf8_lossy(&got), String::from_utf8_lossy(&want), "round {round}: {args:?}");
        if round.is_multiple_of(50) {
            for k in keys {
                assert_same(&mut b, &mut r, &[&["object", "encoding", k]]);
            }
        }
    }
}

#[test]
fn zscan_of_packed_sets_matches_and_big_sets_are_covered() {
    let (_bs, _rs, mut b, mut r) = pair(&[]);
    same(
        &mut b,
        &mut r,
        "
        flushall
        zadd r 1 a 2 b 3 c 1.5 d 1e20 e -0 f
        zscan r 0
        zscan r 0 count 1
        zscan r 0 match a*
        zscan r 0 MATCH ? COUNT 100
        zscan r 0 match
        zscan r 0 count 0
        zscan r 0 count abc
        zscan r 0 type zset
        zscan r 0 novalues
        zscan r abc
        zscan r -1
        zscan nokey 0
        zscan nokey 0 count 0
        set str v
        zscan str 0
        zscan str 0 count 0
        zscan str abc
        ",
    );
    // A big set: a full iteration returns every member exactly with its score.
    let mut cmds = Vec::new();
    let mut want = BTreeMap::new();
    for i in 0..3000 {
        let m = format!("member:{i}");
        let s = (i % 97) as f64 / 4.0;
        want.insert(m.clone().into_bytes(), format!("{s}"));
        cmds.push(vec![b"zadd".to_vec(), b"big".to_vec(), format!("{s}").into_bytes(), m.into_bytes()]);
    }
    pipeline(&mut b, &cmds);
    for count in ["10", "1000"] {
        let mut cursor = "0".to_string();
        let mut got = BTreeMap::new();
        let mut rounds = 0;
        loop {
            let reply = b.cmd(&["zscan", "big", &cursor, "count", count]);
            let items = bulks(&reply);
            cursor = String::from_utf8(items[0].clone()).expect("cursor");
            for pair in items[1..].chunks(2) {
                got.insert(pair[0].clone(), String::from_utf8(pair[1].clone()).expect("score"));
            }
            rounds += 1;
            if cursor == "0" {
                break;
            }
        }
        assert_eq!(got, want, "count {count}");
        assert!(rounds > 1);
    }
    let reply = b.cmd(&["zscan", "big", "0", "match", "member:1?", "count", "100000"]);
    let items = bulks(&reply);
    assert_eq!(items[0], b"0");
    let names: HashSet<Vec<u8>> = items[1..].chunks(2).map(|p| p[0].clone()).collect();
    assert_eq!(names.len(), 10);
}

#[test]
fn zrandmember_is_random_but_well_formed() {
    let (_bs, _rs, mut b, mut r) = pair(&[]);
    for entries in ["128", "0"] {
        same(&mut b, &mut r, "flushall");
        assert_same(&mut b, &mut r, &[&["config", "set", "zset-max-listpack-entries", entries]]);
        same(
            &mut b,
            &mut r,
            "
            zadd r 1 a 2 b 3 c 4 d 5 e
            zrandmember r 5
            zrandmember r 50 withscores
            zrandmember r -9223372036854775808
            zrandmember r -4611686018427387904 withscores
            zrandmember r 4611686018427387904 withscores
            zrandmember r 1 withscore
            zrandmember r 1 withscores x
            zrandmember r abc
            zrandmember r 0
            zrandmember r 0 withscores
            zrandmember r -0
            zrandmember nokey
            zrandmember nokey 5
            zrandmember nokey 5 withscores
            set str v
            zrandmember str
            zrandmember str 3
            zrandmember str 0
            ",
        );
        let scores: BTreeMap<&str, &str> =
            [("a", "1"), ("b", "2"), ("c", "3"), ("d", "4"), ("e", "5")].into();
        for _ in 0..30 {
            let one = bulks(&b.cmd(&["zrandmember", "r"]));
            assert!(scores.contains_key(std::str::from_utf8(&one[0]).expect("utf8")));
            let distinct = bulks(&b.cmd(&["zrandmember", "r", "3", "withscores"]));
            assert_eq!(distinct.len(), 6);
            let names: HashSet<&[u8]> = distinct.chunks(2).map(|p| p[0].as_slice()).collect();
            assert_eq!(names.len(), 3);
            for p in distinct.chunks(2) {
                let m = std::str::from_utf8(&p[0]).expect("utf8");
                assert_eq!(scores[m].as_bytes(), p[1].as_slice());
            }
            let rep = bulks(&b.cmd(&["zrandmember", "r", "-20"]));
            assert_eq!(rep.len(), 20);
            assert!(rep.iter().all(|m| scores.contains_key(std::str::from_utf8(m).expect("utf8"))));
        }
        // All five members turn up in a long run with repetitions.
        let many: HashSet<Vec<u8>> = bulks(&b.cmd(&["zrandmember", "r", "-2000"])).into_iter().collect();
        assert_eq!(many.len(), 5);
        // Brim bounds a negative count instead of building an unbounded reply.
        let err = b.cmd_str(&["zrandmember", "r", "-100000000"]);
        assert!(err.starts_with("-ERR value is out of range"), "{err}");
    }
    // A big set: distinct members for a count near the size and a small one.
    let cmds: Vec<Vec<Vec<u8>>> = (0..500)
        .map(|i| {
            vec![b"zadd".to_vec(), b"big".to_vec(), i.to_string().into_bytes(), format!("m{i}").into_bytes()]
        })
        .collect();
    pipeline(&mut b, &cmds);
    for count in ["400", "20"] {
        let got = bulks(&b.cmd(&["zrandmember", "big", count]));
        let set: HashSet<Vec<u8>> = got.iter().cloned().collect();
        assert_eq!(set.len(), got.len());
        assert_eq!(got.len(), count.parse::<usize>().expect("count"));
    }
}

#[test]
fn keyspace_hits_and_misses_match_redis() {
    let (_bs, _rs, mut b, mut r) = pair(&[]);
    let script = "
        zadd z 1 a 2 b
        set str v
        zscore z a
        zscore nokey a
        zrange z 0 -1
        zrange nokey 0 -1
        zrangestore d z 0 -1
        zrangestore d nokey 0 -1
        zcard z
        zcard nokey
        zcount z 0 10
        zmscore nokey a
        zrank z a
        zrandmember z 10
        zrandmember nokey 2
        zunion 3 z nokey str
        zunionstore d 2 z nokey
        zintercard 2 z nokey
        zscan z 0
        zadd z 3 c
        zrem z c
        zpopmin nokey
        zincrby z 1 a
        zremrangebyrank z 5 6
        zmpop 2 nokey z min
    ";
    same(&mut b, &mut r, "config resetstat");
    same(&mut b, &mut r, script);
    for field in ["keyspace_hits", "keyspace_misses"] {
        assert_eq!(info_field(&mut b, "stats", field), info_field(&mut r, "stats", field), "{field}");
    }
}

#[test]
fn watch_sees_only_real_changes() {
    let (_bs, _rs, mut b, mut r) = pair(&[]);
    let script = "
        zadd z 1 a 2 b
        watch z
        zadd z nx 5 a
        zadd z xx 1 nosuch
        zadd z 1 a
        zrem z nosuch
        zremrangebyscore z 10 20
        zincrby z 0 a
        multi
        ping
        exec
        watch z
        zadd z 3 a
        multi
        ping
        exec
        watch z
        zrangestore z nokey 0 -1
        multi
        ping
        exec
        zadd p 1 a
        watch p
        zpopmin p 0
        zremrangebyrank p 5 6
        multi
        ping
        exec
        watch p
        zpopmin p
        multi
        ping
        exec
    ";
    same(&mut b, &mut r, script);
}

/// Keyspace events, compared with Redis's in order, through a pattern subscription.
#[test]
fn keyspace_events_match_redis() {
    let (bs, rs, mut b, mut r) = pair(&[]);
    same(&mut b, &mut r, "config set notify-keyspace-events KEA");
    let mut bsub = bs.raw();
    let mut rsub = rs.raw();
    for s in [&mut bsub, &mut rsub] {
        s.cmd(&["psubscribe", "__keyevent@0__:*"]);
    }
    same(
        &mut b,
        &mut r,
        "
        zadd z 1 a 2 b 3 c
        zadd z nx 1 a
        zadd z incr 1 a
        zincrby z 1 b
        zrem z nosuch
        zrem z c
        zremrangebyscore z 100 200
        zremrangebyrank z 0 0
        zadd z 0 x 0 y
        zremrangebylex z [x [x
        zpopmin z
        zpopmax z 5
        zadd z 1 a 2 b
        zmpop 1 z max count 5
        zadd s 1 a 2 b
        zrangestore d s 0 0
        zrangestore d nokey 0 -1
        zunionstore d 1 s
        zinterstore d 2 s nokey
        zdiffstore d 1 s
        zpopmin s 10
        publish __keyevent@0__:zz-end x
        ",
    );
    let drain = |s: &mut Raw| {
        let mut events = Vec::new();
        loop {
            let msg = bulks(&s.read_reply());
            let channel = String::from_utf8_lossy(&msg[2]).into_owned();
            if channel.ends_with("zz-end") {
                return events;
            }
            events.push(format!("{channel} {}", String::from_utf8_lossy(&msg[3])));
        }
    };
    let got = drain(&mut bsub);
    let want = drain(&mut rsub);
    assert_eq!(got, want);
    assert!(got.len() > 15, "{got:?}");
}

/// Concurrent ZINCRBY on one key from several clients: no increment is lost.
#[test]
fn concurrent_increments_are_atomic() {
    let (bs, _rs, _b, _r) = pair(&[]);
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let mut c = bs.raw();
            thread::spawn(move || {
                for i in 0..300 {
                    c.cmd(&["zincrby", "hot", "1", &format!("m{}", i % 3)]);
                    c.cmd(&["zadd", "hot", "1", &format!("t{t}-{i}")]);
                }
            })
        })
        .collect();
    for th in threads {
        th.join().expect("thread");
    }
    let mut c = bs.raw();
    assert_eq!(c.cmd_str(&["zcard", "hot"]), ":1203\r\n");
    let total: f64 = ["m0", "m1", "m2"]
        .iter()
        .map(|m| bulks(&c.cmd(&["zscore", "hot", m]))[0].iter().map(|&x| x as char).collect::<String>())
        .map(|s| s.parse::<f64>().expect("score"))
        .sum();
    assert_eq!(total, 1200.0);
    assert_eq!(c.cmd_str(&["object", "encoding", "hot"]), "$8\r\nskiplist\r\n");
}

/// Bytes per element (INFO used_memory deltas): Brim must stay under 0.8x Redis for many
/// small sorted sets and for a few big ones.
#[test]
fn memory_per_element_beats_redis() {
    let (_bs, _rs, mut b, mut r) = pair(&[]);
    let small: Vec<Vec<Vec<u8>>> = (0..3000)
        .map(|k| {
            let mut c = vec![b"zadd".to_vec(), format!("zs:{k:08}").into_bytes()];
            for i in 0..10 {
                c.push(format!("{}", k * 10 + i).into_bytes());
                c.push(format!("member:{i:04}").into_bytes());
            }
            c
        })
        .collect();
    let big: Vec<Vec<Vec<u8>>> = (0..5)
        .flat_map(|k| {
            (0..40).map(move |chunk| {
                let mut c = vec![b"zadd".to_vec(), format!("zb:{k}").into_bytes()];
                for i in chunk * 100..(chunk + 1) * 100 {
                    c.push(format!("{}.5", i * 7 % 1000).into_bytes());
                    c.push(format!("member:{i:06}").into_bytes());
                }
                c
            })
        })
        .collect();
    for (name, cmds, elems) in [("small", &small, 30_000.0), ("big", &big, 20_000.0)] {
        let mut per = Vec::new();
        for raw in [&mut b, &mut r] {
            raw.cmd(&["flushall"]);
            let before = info_field(raw, "memory", "used_memory");
            pipeline(raw, cmds);
            let after = info_field(raw, "memory", "used_memory");
            per.push((after - before) as f64 / elems);
        }
        let (brim, redis) = (per[0], per[1]);
        eprintln!("{name}: brim {brim:.1} vs redis {redis:.1} bytes per element ({:.2}x)", brim / redis);
        assert!(brim <= 0.8 * redis, "{name}: brim {brim:.1} vs redis {redis:.1} bytes per element");
    }
}
