//! The list family (LPUSH, RPUSH, LPUSHX, RPUSHX, LPOP, RPOP, LLEN, LRANGE, LINDEX, LSET,
//! LINSERT, LREM, LTRIM, LPOS, LMOVE, RPOPLPUSH, LMPOP): differential tests against the real
//! Redis 7.0 (every reply compared byte for byte, errors, RESP3 shapes and OBJECT ENCODING
//! included), big lists under several `list-max-listpack-size` settings (so Brim's inline
//! and chunked forms and the conversions between them are all exercised), random operation
//! sequences, keyspace statistics, WATCH signalling, TTL preservation and bounded replies.

mod common;

use common::{assert_same, info_i64 as info_field, pair, same, Raw, Server};

/// Send one command given as owned strings to both servers and compare the replies.
fn same_owned(b: &mut Raw, r: &mut Raw, args: &[String]) {
    let a: Vec<&str> = args.iter().map(String::as_str).collect();
    assert_same(b, r, &[&a]);
}

/// A small deterministic generator (no external crates needed).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        self.0 >> 33
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

const WRONG_ARITY: &str = "
    LPUSH k
    RPUSH k
    LPUSHX k
    RPUSHX k
    LPOP
    RPOP
    LPOP k 1 2
    RPOP k 1 2
    LLEN
    LLEN k extra
    LRANGE k 0
    LRANGE k 0 1 2
    LINDEX k
    LINDEX k 0 1
    LSET k 0
    LSET k 0 v extra
    LINSERT k BEFORE p
    LINSERT k BEFORE p v extra
    LREM k 0
    LREM k 0 v extra
    LTRIM k 0
    LTRIM k 0 1 2
    LPOS k
    LMOVE a b LEFT
    LMOVE a b LEFT RIGHT extra
    RPOPLPUSH a
    RPOPLPUSH a b c
    LMPOP 1 k
    LMPOP
";

#[test]
fn wrong_arity_matches_redis() {
    let (_b, _r, mut b, mut r) = pair(&[]);
    same(&mut b, &mut r, WRONG_ARITY);
}

const PUSH_POP: &str = "
    LPUSH l a
    LPUSH l b c d
    RPUSH l x y z
    LRANGE l 0 -1
    LLEN l
    OBJECT ENCODING l
    TYPE l
    LPUSHX nokey a
    RPUSHX nokey a b
    EXISTS nokey
    LPUSHX l front
    RPUSHX l back back2
    LRANGE l 0 -1
    LPOP l
    RPOP l
    LPOP l 2
    RPOP l 2
    LPOP l 0
    RPOP l 0
    LPOP l -1
    RPOP l -1
    LPOP l abc
    LPOP l 1.5
    LPOP nokey
    RPOP nokey
    LPOP nokey 0
    LPOP nokey 3
    RPOP nokey -1
    LRANGE l 0 -1
    LPOP l 100
    EXISTS l
    LPOP l
    RPUSH l 1 2 3
    RPOP l 100
    EXISTS l
    # Integers, and strings that only look like them.
    RPUSH n 1 -1 007 0 -0 12 +12 9223372036854775807 -9223372036854775808 9223372036854775808 1.5 100000 -40000 2147483648 ''
    LRANGE n 0 -1
    LINDEX n 2
    LINDEX n -1
    LPOS n 12
    LPOS n 012
    LPOS n 007
    LPOS n 9223372036854775807
    LREM n 0 -0
    LRANGE n 0 -1
    # Wrong types.
    SET s v
    LPUSH s a
    RPUSH s a
    LPUSHX s a
    RPUSHX s a
    LPOP s
    RPOP s 2
    LPOP s -1
    LLEN s
    LRANGE s 0 -1
    LRANGE s a b
    LINDEX s 0
    LINDEX s abc
    LSET s 0 v
    LSET s abc v
    LINSERT s BEFORE a b
    LINSERT s MIDDLE a b
    LREM s 0 a
    LREM s abc a
    LTRIM s 0 1
    LTRIM s a 1
    LPOS s a
    LPOS s a RANK 0
    LMOVE s d LEFT RIGHT
    LMOVE s d UP RIGHT
    RPOPLPUSH s d
    LMPOP 1 s LEFT
    LMPOP 2 nokey s RIGHT COUNT 3
    GET s
";

#[test]
fn push_pop_and_wrong_types_match_redis() {
    let (_b, _r, mut b, mut r) = pair(&[]);
    same(&mut b, &mut r, PUSH_POP);
}

const READS: &str = "
    LLEN nokey
    LRANGE nokey 0 -1
    LRANGE nokey a b
    LINDEX nokey 0
    LINDEX nokey abc
    RPUSH l a b c d e f g
    LLEN l
    LRANGE l 0 -1
    LRANGE l 0 0
    LRANGE l -1 -1
    LRANGE l -3 -1
    LRANGE l 2 4
    LRANGE l 4 2
    LRANGE l -100 100
    LRANGE l 7 10
    LRANGE l 6 10
    LRANGE l -8 -8
    LRANGE l 0 -8
    LRANGE l 0 10000000000
    LRANGE l -9223372036854775808 9223372036854775807
    LRANGE l 9223372036854775807 -9223372036854775808
    LRANGE l 0 9223372036854775808
    LRANGE l 0 1.0
    LRANGE l x 1
    LINDEX l 0
    LINDEX l 6
    LINDEX l 7
    LINDEX l -1
    LINDEX l -7
    LINDEX l -8
    LINDEX l 9223372036854775807
    LINDEX l -9223372036854775808
    LINDEX l 1.5
    LINDEX l ''
";

#[test]
fn reads_match_redis() {
    let (_b, _r, mut b, mut r) = pair(&[]);
    same(&mut b, &mut r, READS);
}

const CHANGES: &str = "
    LSET nokey 0 x
    LSET nokey abc x
    RPUSH l a b c d e
    LSET l 0 A
    LSET l -1 E
    LSET l 5 x
    LSET l -6 x
    LSET l abc x
    LSET l 2 123
    LRANGE l 0 -1
    LINSERT nokey BEFORE a x
    LINSERT l BEFORE a x
    LINSERT l AFTER E y
    LINSERT l before 123 z
    LINSERT l after 123 w
    LINSERT l AFTER missing x
    LINSERT l MIDDLE a x
    LINSERT l BEFORE 0123 x
    LRANGE l 0 -1
    LREM nokey 0 a
    LREM l abc a
    RPUSH r a b a c a d a
    LREM r 2 a
    LRANGE r 0 -1
    LREM r -1 a
    LRANGE r 0 -1
    LREM r 0 a
    LRANGE r 0 -1
    LREM r 0 zzz
    LREM r -9223372036854775808 b
    LRANGE r 0 -1
    LREM r 0 c
    LREM r 0 d
    EXISTS r
    LTRIM nokey 0 1
    LTRIM nokey a 1
    RPUSH t a b c d e f g h
    LTRIM t 1 -2
    LRANGE t 0 -1
    LTRIM t 0 100
    LRANGE t 0 -1
    LTRIM t -3 -1
    LRANGE t 0 -1
    LTRIM t 0 -1
    LTRIM t 5 10
    EXISTS t
    RPUSH t a b c
    LTRIM t 2 1
    EXISTS t
    RPUSH t a b c
    LTRIM t -100 -50
    EXISTS t
    RPUSH t a b c
    LTRIM t 0 0
    LRANGE t 0 -1
";

#[test]
fn lset_linsert_lrem_ltrim_match_redis() {
    let (_b, _r, mut b, mut r) = pair(&[]);
    same(&mut b, &mut r, CHANGES);
}

const LPOS: &str = "
    LPOS nokey a
    LPOS nokey a COUNT 0
    LPOS nokey a RANK 0
    RPUSH l a b c 1 2 3 c c a
    LPOS l a
    LPOS l c
    LPOS l zz
    LPOS l zz COUNT 0
    LPOS l c RANK 2
    LPOS l c RANK -1
    LPOS l c RANK -2
    LPOS l c RANK 4
    LPOS l c RANK -4
    LPOS l c COUNT 0
    LPOS l c COUNT 2
    LPOS l c COUNT 1
    LPOS l c RANK 2 COUNT 0
    LPOS l c RANK -1 COUNT 2
    LPOS l c RANK -2 COUNT 0
    LPOS l c MAXLEN 3
    LPOS l c MAXLEN 4
    LPOS l c COUNT 0 MAXLEN 7
    LPOS l c RANK -1 MAXLEN 1
    LPOS l c RANK -1 MAXLEN 4 COUNT 0
    LPOS l 1
    LPOS l 01
    LPOS l c RANK 0
    LPOS l c RANK abc
    LPOS l c RANK
    LPOS l c COUNT -1
    LPOS l c COUNT abc
    LPOS l c MAXLEN -1
    LPOS l c MAXLEN abc
    LPOS l c FOO 1
    LPOS l c rank 1 rank 2
    LPOS l c COUNT 1 COUNT 0
    LPOS l a RANK -9223372036854775808
    LPOS l a RANK -9223372036854775808 COUNT 1
    LPOS l a RANK -9223372036854775808 COUNT 0
    LPOS l a RANK 9223372036854775807
    LPOS l a RANK 9223372036854775807 COUNT 0
    LPOS l a COUNT 9223372036854775807 MAXLEN 9223372036854775807
";

#[test]
fn lpos_matches_redis() {
    let (_b, _r, mut b, mut r) = pair(&[]);
    same(&mut b, &mut r, LPOS);
}

const MOVES: &str = "
    LMOVE nokey d LEFT RIGHT
    RPOPLPUSH nokey d
    EXISTS d
    RPUSH s a b c
    LMOVE s d LEFT RIGHT
    LMOVE s d RIGHT LEFT
    LMOVE s d left left
    LMOVE s d Right Right
    LRANGE d 0 -1
    EXISTS s
    RPUSH s 1 2 3
    RPOPLPUSH s d
    RPOPLPUSH s d
    LRANGE d 0 -1
    LRANGE s 0 -1
    # The same key rotates.
    RPUSH rot a b c d
    RPOPLPUSH rot rot
    LMOVE rot rot LEFT RIGHT
    LMOVE rot rot LEFT LEFT
    LMOVE rot rot RIGHT RIGHT
    LRANGE rot 0 -1
    RPUSH one x
    RPOPLPUSH one one
    LMOVE one one LEFT RIGHT
    LRANGE one 0 -1
    # Destination of another type: the source is left alone.
    SET str v
    LMOVE s str LEFT RIGHT
    RPOPLPUSH s str
    LRANGE s 0 -1
    LMOVE s d MIDDLE LEFT
    LMOVE s d LEFT MIDDLE
    # LMPOP.
    LMPOP 1 nokey LEFT
    LMPOP 2 nokey nokey2 RIGHT COUNT 5
    RPUSH m1 a b c d e
    RPUSH m2 1 2
    LMPOP 2 nokey m1 LEFT
    LMPOP 2 m1 m2 RIGHT COUNT 2
    LMPOP 2 m2 m1 LEFT COUNT 10
    EXISTS m2
    LMPOP 3 nokey m2 m1 right count 1
    LMPOP 1 m1 LEFT COUNT 100
    EXISTS m1
    LMPOP 0 m1 LEFT
    LMPOP -1 m1 LEFT
    LMPOP abc m1 LEFT
    LMPOP 5 m1 LEFT
    LMPOP 9223372036854775807 m1 LEFT
    LMPOP 1 m1 MIDDLE
    LMPOP 1 m1 LEFT COUNT
    LMPOP 1 m1 LEFT COUNT 0
    LMPOP 1 m1 LEFT COUNT -1
    LMPOP 1 m1 LEFT COUNT abc
    LMPOP 1 m1 LEFT COUNT 1 COUNT 2
    LMPOP 1 m1 LEFT FOO 1
    LMPOP 2 str m1 LEFT
    LMPOP 1 m1 LEFT COUNT 9223372036854775807
";

#[test]
fn lmove_rpoplpush_lmpop_match_redis() {
    let (_b, _r, mut b, mut r) = pair(&[]);
    same(&mut b, &mut r, MOVES);
}

#[test]
fn resp3_replies_match_redis() {
    let (_b, _r, mut b, mut r) = pair(&[]);
    b.cmd(&["HELLO", "3"]);
    r.cmd(&["HELLO", "3"]);
    same(
        &mut b,
        &mut r,
        "
        LPOP nokey
        LPOP nokey 2
        RPOP nokey 0
        LINDEX nokey 0
        LRANGE nokey 0 -1
        LPOS nokey a
        LPOS nokey a COUNT 0
        LMOVE nokey d LEFT LEFT
        RPOPLPUSH nokey d
        LMPOP 1 nokey LEFT
        RPUSH l a b c
        LPOS l z
        LPOS l z COUNT 0
        LINDEX l 10
        LPOP l 0
        LPOP l 2
        LMPOP 1 l RIGHT COUNT 3
        ",
    );
}

/// Every list is `quicklist` in Redis 7.0, whatever its size or the configured node size.
#[test]
fn encodings_match_redis_at_every_threshold() {
    let (_b, _r, mut b, mut r) = pair(&[]);
    for fill in ["-2", "-1", "-5", "1", "3", "0", "128"] {
        same_owned(
            &mut b,
            &mut r,
            &["CONFIG".into(), "SET".into(), "list-max-listpack-size".into(), fill.into()],
        );
        same(&mut b, &mut r, "DEL l\nRPUSH l a\nOBJECT ENCODING l");
        // Grow past one node by bytes and by count, then shrink back.
        for i in 0..200 {
            let v = format!("{i:0>60}");
            same_owned(&mut b, &mut r, &["RPUSH".into(), "l".into(), v]);
            if i % 25 == 0 {
                same(&mut b, &mut r, "OBJECT ENCODING l\nLLEN l");
            }
        }
        same(&mut b, &mut r, "OBJECT ENCODING l\nLTRIM l 0 1\nOBJECT ENCODING l\nLRANGE l 0 -1");
        same(&mut b, &mut r, "RPOP l\nOBJECT ENCODING l\nRPOP l\nEXISTS l\nOBJECT ENCODING l");
    }
    // A single element bigger than a node.
    let big = "x".repeat(20_000);
    same_owned(&mut b, &mut r, &["RPUSH".into(), "big".into(), big.clone()]);
    same_owned(&mut b, &mut r, &["RPUSH".into(), "big".into(), "small".into(), big]);
    same(&mut b, &mut r, "OBJECT ENCODING big\nLLEN big\nLINDEX big 1\nLPOS big small\nLRANGE big 1 1");
    same(&mut b, &mut r, "CONFIG GET list-max-listpack-size\nCONFIG GET list-max-ziplist-size");
    same(&mut b, &mut r, "CONFIG SET list-compress-depth 1\nCONFIG GET list-compress-depth");
}

/// Load the same big list into both servers, then compare a battery of reads and changes
/// that cross chunk boundaries.
fn big_list_battery(fill: &str, depth: &str) {
    let (_b, _r, mut b, mut r) = pair(&["--list-max-listpack-size", fill, "--list-compress-depth", depth]);
    let mut rng = Lcg(fill.len() as u64 * 7919 + 3);
    for batch in 0..20 {
        let mut cmd = vec![if batch % 2 == 0 { "RPUSH" } else { "LPUSH" }.to_string(), "big".to_string()];
        for i in 0..250 {
            let v = match rng.below(4) {
                0 => (rng.below(100_000) as i64 - 50_000).to_string(),
                1 => format!("e{}", rng.below(50)),
                2 => "y".repeat(rng.below(300) as usize),
                _ => format!("item:{batch}:{i}"),
            };
            cmd.push(v);
        }
        same_owned(&mut b, &mut r, &cmd);
    }
    same(
        &mut b,
        &mut r,
        "LLEN big\nOBJECT ENCODING big\nLRANGE big 0 -1\nLRANGE big 1234 2345\nLRANGE big -700 -650",
    );
    for i in [0i64, 1, 17, 999, 2500, 4998, 4999, 5000, -1, -2, -2500, -5000, -5001] {
        same_owned(&mut b, &mut r, &["LINDEX".into(), "big".into(), i.to_string()]);
    }
    for v in ["e1", "e7", "e49", "0", "12", "missing"] {
        for opts in [
            &[][..],
            &["RANK", "-1"],
            &["RANK", "3"],
            &["COUNT", "0"],
            &["RANK", "-2", "COUNT", "5"],
            &["MAXLEN", "1000", "COUNT", "0"],
        ] {
            let mut c = vec!["LPOS".to_string(), "big".to_string(), v.to_string()];
            c.extend(opts.iter().map(|s| s.to_string()));
            same_owned(&mut b, &mut r, &c);
        }
    }
    for _ in 0..50 {
        let i = rng.below(5200) as i64 - 100;
        let v =
            if rng.below(2) == 0 { "z".repeat(rng.below(500) as usize) } else { rng.below(1000).to_string() };
        same_owned(&mut b, &mut r, &["LSET".into(), "big".into(), i.to_string(), v]);
    }
    for _ in 0..50 {
        let pivot = format!("e{}", rng.below(60));
        let side = if rng.below(2) == 0 { "BEFORE" } else { "AFTER" };
        let v = "w".repeat(rng.below(100) as usize);
        same_owned(&mut b, &mut r, &["LINSERT".into(), "big".into(), side.into(), pivot, v]);
    }
    same(&mut b, &mut r, "LRANGE big 0 -1");
    for (n, v) in [("2", "e3"), ("-3", "e4"), ("0", "e5"), ("0", "yyy"), ("-100", "e6"), ("0", "")] {
        same_owned(&mut b, &mut r, &["LREM".into(), "big".into(), n.into(), v.into()]);
    }
    same(&mut b, &mut r, "LRANGE big 0 -1\nLLEN big");
    same(&mut b, &mut r, "LPOP big 300\nRPOP big 300\nLPOP big\nRPOP big\nLLEN big");
    same(&mut b, &mut r, "LMOVE big big LEFT RIGHT\nRPOPLPUSH big other\nLMPOP 2 other big LEFT COUNT 7");
    same(&mut b, &mut r, "LTRIM big 100 -100\nLLEN big\nLRANGE big 0 -1\nLTRIM big 10 20\nLRANGE big 0 -1");
    same(&mut b, &mut r, "OBJECT ENCODING big\nRPUSH big a b c\nLRANGE big 0 -1\nLPOP big 100\nEXISTS big");
}

#[test]
fn big_lists_match_redis_default_fill() {
    big_list_battery("-2", "0");
}

#[test]
fn big_lists_match_redis_small_nodes() {
    big_list_battery("-1", "3");
}

#[test]
fn big_lists_match_redis_count_limited_nodes() {
    big_list_battery("5", "1");
}

#[test]
fn big_lists_match_redis_one_element_nodes() {
    big_list_battery("1", "0");
}

/// Random mixes of every command on a few keys, compared reply by reply, with a node size
/// small enough for lists to move between inline and chunked forms often.
#[test]
fn random_operations_match_redis() {
    for (seed, fill) in [(1u64, "-1"), (2, "4"), (3, "-2")] {
        let (_b, _r, mut b, mut r) = pair(&["--list-max-listpack-size", fill]);
        let mut rng = Lcg(seed);
        let keys = ["a", "b", "c"];
        for step in 0..1500 {
            let k = keys[rng.below(3) as usize].to_string();
            let k2 = keys[rng.below(3) as usize].to_string();
            let val = |rng: &mut Lcg| match rng.below(3) {
                0 => format!("v{}", rng.below(8)),
                1 => rng.below(20).to_string(),
                _ => "p".repeat(rng.below(3000) as usize),
            };
            let idx = |rng: &mut Lcg| (rng.below(60) as i64 - 30).to_string();
            let end = |rng: &mut Lcg| if rng.below(2) == 0 { "LEFT" } else { "RIGHT" }.to_string();
            let cmd: Vec<String> = match rng.below(16) {
                0 | 1 => {
                    let mut c = vec!["RPUSH".into(), k];
                    for _ in 0..=rng.below(20) {
                        c.push(val(&mut rng));
                    }
                    c
                }
                2 | 3 => {
                    let mut c = vec!["LPUSH".into(), k];
                    for _ in 0..=rng.below(20) {
                        c.push(val(&mut rng));
                    }
                    c
                }
                4 => vec!["LPOP".into(), k, rng.below(5).to_string()],
                5 => vec!["RPOP".into(), k],
                6 => vec!["LRANGE".into(), k, idx(&mut rng), idx(&mut rng)],
                7 => vec!["LINDEX".into(), k, idx(&mut rng)],
                8 => vec!["LSET".into(), k, idx(&mut rng), val(&mut rng)],
                9 => vec![
                    "LINSERT".into(),
                    k,
                    if rng.below(2) == 0 { "BEFORE" } else { "AFTER" }.into(),
                    val(&mut rng),
                    val(&mut rng),
                ],
                10 => vec!["LREM".into(), k, (rng.below(5) as i64 - 2).to_string(), val(&mut rng)],
                11 => vec!["LTRIM".into(), k, idx(&mut rng), idx(&mut rng)],
                12 => vec![
                    "LPOS".into(),
                    k,
                    val(&mut rng),
                    "RANK".into(),
                    (rng.below(5) as i64 - 2).max(1).to_string(),
                    "COUNT".into(),
                    rng.below(3).to_string(),
                ],
                13 => vec!["LMOVE".into(), k, k2, end(&mut rng), end(&mut rng)],
                14 => vec![
                    "LMPOP".into(),
                    "2".into(),
                    k,
                    k2,
                    end(&mut rng),
                    "COUNT".into(),
                    (1 + rng.below(4)).to_string(),
                ],
                _ => vec!["LLEN".into(), k],
            };
            same_owned(&mut b, &mut r, &cmd);
            if step % 100 == 0 {
                for k in keys {
                    same(&mut b, &mut r, &format!("LRANGE {k} 0 -1\nEXISTS {k}"));
                }
            }
        }
    }
}

#[test]
fn keyspace_hits_and_misses_match_redis() {
    let (_b, _r, mut b, mut r) = pair(&[]);
    same(
        &mut b,
        &mut r,
        "
        LLEN nokey
        LRANGE nokey 0 1
        LINDEX nokey 0
        LPOS nokey a
        LPUSH l a b
        LPUSHX nokey a
        LLEN l
        LRANGE l 0 -1
        LINDEX l 0
        LPOS l a
        LPOP l
        LSET l 0 x
        LINSERT l BEFORE x y
        LREM l 0 y
        LTRIM l 0 -1
        LMOVE l l2 LEFT LEFT
        LMPOP 2 l l2 LEFT
        RPOPLPUSH nokey l
        LPOP nokey
        ",
    );
    for field in ["keyspace_hits", "keyspace_misses"] {
        assert_eq!(info_field(&mut b, "stats", field), info_field(&mut r, "stats", field), "{field}");
    }
}

/// Commands that change nothing do not touch WATCHed keys; LTRIM always does (as in Redis).
#[test]
fn watch_signalling_matches_redis() {
    let (bs, rs, mut b, mut r) = pair(&[]);
    let (mut b2, mut r2) = (bs.raw(), rs.raw());
    let cases: &[(&[&str], &str)] = &[
        (&["LINSERT", "w", "BEFORE", "nopivot", "x"], "no pivot"),
        (&["LREM", "w", "0", "nomatch"], "no match"),
        (&["LPOP", "w", "0"], "count 0"),
        (&["LPOS", "w", "a"], "read"),
        (&["LSET", "w", "100", "x"], "out of range"),
        (&["LTRIM", "w", "0", "-1"], "no-op trim"),
        (&["LREM", "w", "1", "a"], "removal"),
        (&["LINSERT", "w", "AFTER", "a", "x"], "insert"),
        (&["LMOVE", "w", "w", "LEFT", "RIGHT"], "rotation"),
        (&["RPUSHX", "w", "x"], "pushx"),
    ];
    for (cmd, what) in cases {
        for (c, other) in [(&mut b, &mut b2), (&mut r, &mut r2)] {
            c.cmd(&["DEL", "w"]);
            c.cmd(&["RPUSH", "w", "a", "b", "a"]);
            c.cmd(&["WATCH", "w"]);
            other.cmd(cmd);
            c.cmd(&["MULTI"]);
            c.cmd(&["PING"]);
        }
        let (got, want) = (b.cmd(&["EXEC"]), r.cmd(&["EXEC"]));
        assert_eq!(String::from_utf8_lossy(&got), String::from_utf8_lossy(&want), "{what}");
    }
}

/// Changes keep the key's TTL, including a rotation of a one-element list; a list that is
/// emptied loses its key (and so its TTL).
#[test]
fn ttl_is_kept_by_changes() {
    let (_b, _r, mut b, mut r) = pair(&[]);
    same(
        &mut b,
        &mut r,
        "
        RPUSH l a
        EXPIRE l 1000
        RPUSH l b c
        LPOP l
        LSET l 0 x
        LINSERT l AFTER x y
        LREM l 1 y
        LTRIM l 0 -1
        RPOPLPUSH l l
        TTL l
        LMOVE l l LEFT RIGHT
        TTL l
        LPOP l 10
        RPUSH l a
        TTL l
        ",
    );
    // A list converted to its chunked form and back keeps its TTL too.
    let big: Vec<String> = (0..3000).map(|i| format!("element-{i}")).collect();
    let mut cmd = vec!["RPUSH".to_string(), "l".to_string()];
    cmd.extend(big);
    same(&mut b, &mut r, "EXPIRE l 1000");
    same_owned(&mut b, &mut r, &cmd);
    same(&mut b, &mut r, "TTL l\nLTRIM l 0 2\nTTL l\nLRANGE l 0 -1");
}

/// Replies are bounded by what exists, whatever numbers the client sends.
#[test]
fn huge_client_numbers_stay_bounded() {
    let brim = Server::start(&[]);
    let mut b = brim.raw();
    b.cmd(&["RPUSH", "l", "a", "b", "c"]);
    assert_eq!(b.cmd_str(&["LRANGE", "l", "0", "10000000000"]), "*3\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n");
    assert_eq!(b.cmd_str(&["LRANGE", "l", "-9223372036854775808", "9223372036854775807"]).len(), 25);
    assert_eq!(b.cmd_str(&["LPOS", "l", "a", "COUNT", "0", "MAXLEN", "9223372036854775807"]), "*1\r\n:0\r\n");
    assert_eq!(b.cmd_str(&["LMPOP", "1", "l", "RIGHT", "COUNT", "9223372036854775807"]).len(), 36);
    b.cmd(&["RPUSH", "l", "a", "b", "c"]);
    assert_eq!(b.cmd_str(&["LPOP", "l", "9223372036854775807"]), "*3\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n");
    assert_eq!(b.cmd_str(&["EXISTS", "l"]), ":0\r\n");
    assert_eq!(b.cmd_str(&["PING"]), "+PONG\r\n");
}

#[test]
fn lists_inside_multi_match_redis() {
    let (_b, _r, mut b, mut r) = pair(&[]);
    same(
        &mut b,
        &mut r,
        "
        MULTI
        RPUSH l a b c
        LPOP l
        LMOVE l l2 RIGHT LEFT
        LRANGE l2 0 -1
        LPOP l 5
        EXISTS l
        EXEC
        ",
    );
}
