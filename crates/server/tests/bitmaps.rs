//! The bitmap family (SETBIT, GETBIT, BITCOUNT, BITPOS, BITOP, BITFIELD, BITFIELD_RO):
//! differential tests against the real Redis 7.0 — every reply compared byte for byte,
//! errors, OBJECT ENCODING, the stored bytes (GET) and RESP3 included — plus randomized
//! differential runs over binary strings and checks of what cannot be compared directly.

mod common;

use common::{assert_same, encode, info_i64 as info_field, pair, same, Raw, Server};

/// Send a command with binary arguments; the raw reply.
fn cmdb(raw: &mut Raw, args: &[&[u8]]) -> Vec<u8> {
    raw.send(&encode(args));
    raw.read_reply()
}

/// The same binary command on both servers, replies compared.
fn same_b(b: &mut Raw, r: &mut Raw, args: &[&[u8]]) {
    let want = cmdb(r, args);
    let got = cmdb(b, args);
    let show: Vec<String> = args.iter().map(|a| String::from_utf8_lossy(a).into_owned()).collect();
    assert_eq!(String::from_utf8_lossy(&got), String::from_utf8_lossy(&want), "command {show:?}");
}

/// A small deterministic generator for the randomized runs.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    fn range(&mut self, lo: i64, hi: i64) -> i64 {
        lo + self.below((hi - lo + 1) as u64) as i64
    }

    /// Bytes biased towards runs of 0x00 and 0xff, where BITPOS has its edge cases.
    fn bytes(&mut self, max_len: u64) -> Vec<u8> {
        let n = self.below(max_len + 1);
        (0..n)
            .map(|_| match self.below(4) {
                0 => 0,
                1 => 0xff,
                _ => self.next() as u8,
            })
            .collect()
    }
}

const WRONG_ARITY: &str = "
    SETBIT k 1
    SETBIT k 1 1 1
    GETBIT k
    GETBIT k 1 2
    BITCOUNT
    BITPOS k
    BITOP AND d
    BITOP
    BITFIELD
    BITFIELD_RO
";

#[test]
fn wrong_arity_matches_redis() {
    let (_b, _r, mut b, mut r) = pair(&[]);
    same(&mut b, &mut r, WRONG_ARITY);
}

const SETBIT_GETBIT: &str = "
    SETBIT k 7 1
    GET k
    OBJECT ENCODING k
    SETBIT k 7 1
    SETBIT k 7 0
    GET k
    GETBIT k 7
    SETBIT k 100 1
    STRLEN k
    GETBIT k 100
    GETBIT k 101
    GETBIT k 100000
    GETBIT nokey 0
    GETBIT nokey 4294967295
    SETBIT k 0 2
    SETBIT k 0 -1
    SETBIT k 0 a
    SETBIT k 0 01
    SETBIT k 0 +1
    SETBIT k -1 1
    SETBIT k a 1
    SETBIT k 1.5 1
    SETBIT k 4294967296 1
    SETBIT k 18446744073709551616 1
    GETBIT k -1
    GETBIT k 4294967296
    GETBIT k x
    # Integer-encoded and embstr strings read as their text and become raw when written.
    SET n 123
    OBJECT ENCODING n
    GETBIT n 2
    GETBIT n 3
    GETBIT n 7
    GETBIT n 8
    GETBIT n 23
    GETBIT n 24
    SETBIT n 0 0
    OBJECT ENCODING n
    GET n
    SET n -5
    SETBIT n 20 1
    GET n
    SET e hello
    OBJECT ENCODING e
    SETBIT e 0 0
    OBJECT ENCODING e
    SETBIT e 3 1
    GET e
    # Values crossing the 44-byte and 512-byte boundaries stay raw.
    SETBIT big 351 1
    OBJECT ENCODING big
    STRLEN big
    SETBIT big 352 1
    OBJECT ENCODING big
    STRLEN big
    SETBIT big 4095 1
    OBJECT ENCODING big
    SETBIT big 4096 1
    OBJECT ENCODING big
    STRLEN big
    GET big
    SETBIT big 80000 1
    STRLEN big
    BITCOUNT big
    # Wrong type.
    RPUSH l a
    SETBIT l 0 1
    GETBIT l 0
    SETBIT l 0 5
    GETBIT l -1
    # TTL survives SETBIT.
    SET t abc EX 100
    SETBIT t 1000 1
    TTL t
";

#[test]
fn setbit_getbit_match_redis() {
    let (_b, _r, mut b, mut r) = pair(&[]);
    same(&mut b, &mut r, SETBIT_GETBIT);
}

#[test]
fn setbit_offset_limit_follows_proto_max_bulk_len() {
    let (_b, _r, mut b, mut r) = pair(&[]);
    same(
        &mut b,
        &mut r,
        "
        CONFIG SET proto-max-bulk-len 1000000
        SETBIT k 8000000 1
        SETBIT k 7999999 1
        STRLEN k
        BITFIELD k SET u8 7999992 1
        BITFIELD k SET u8 7999993 1
        BITFIELD k GET u8 #999999
        BITFIELD k GET u8 #1000000
        BITFIELD k GET i64 #124999
        BITFIELD k GET i64 #125000
        BITFIELD k GET i64 #9223372036854775807
        BITFIELD k GET i64 #-9223372036854775808
        GETBIT k 8000000
    ",
    );
}

const BITCOUNT_BITPOS: &str = "
    BITCOUNT nokey
    BITCOUNT nokey 0
    BITCOUNT nokey a b
    BITCOUNT nokey 0 1 foo
    BITPOS nokey 1
    BITPOS nokey 0
    BITPOS nokey 1 a
    BITPOS nokey 2
    BITPOS nokey a
    SET s foobar
    BITCOUNT s
    BITCOUNT s 0
    BITCOUNT s 0 0
    BITCOUNT s 1 1
    BITCOUNT s 0 -1
    BITCOUNT s -1 -5
    BITCOUNT s -1 -5 foo
    BITCOUNT s -5 -1
    BITCOUNT s 5 1
    BITCOUNT s a 1
    BITCOUNT s 1 a
    BITCOUNT s 0 1 foo
    BITCOUNT s 0 1 BYTE
    BITCOUNT s 0 1 byte
    BITCOUNT s 5 30 BIT
    BITCOUNT s 5 30 bit
    BITCOUNT s 0 -1 bit
    BITCOUNT s -9 -2 BIT
    BITCOUNT s 0 1000 BIT
    BITCOUNT s -1000 1000 BIT
    BITCOUNT s 9223372036854775807 9223372036854775807
    BITCOUNT s -9223372036854775808 9223372036854775807 BIT
    BITCOUNT s 0 1 bit extra
    BITPOS s 0
    BITPOS s 1
    BITPOS s 2
    BITPOS s -1
    BITPOS s 1 2
    BITPOS s 1 -1
    BITPOS s 0 a
    BITPOS s 0 0 a
    BITPOS s 0 a 1 foo
    BITPOS s 0 0 a foo
    BITPOS s 0 0 1 foo
    BITPOS s 0 0 1 bit extra
    BITPOS s 1 7 15 BIT
    BITPOS s 0 7 15 BIT
    BITPOS s 1 0 -1 BIT
    BITPOS s 0 9 9 bit
    BITPOS s 1 9 9 bit
    BITPOS s 1 3 1
    BITPOS s 1 -3 -100
    SET n 12
    BITCOUNT n
    BITPOS n 1
    BITPOS n 0 1
    RPUSH l a
    BITCOUNT l
    BITPOS l 1
    BITCOUNT l 0 1
    BITPOS l 2
";

#[test]
fn bitcount_bitpos_match_redis() {
    let (_b, _r, mut b, mut r) = pair(&[]);
    same(&mut b, &mut r, BITCOUNT_BITPOS);
    // Real binary values and the empty string.
    for v in [&b"\xff\xf0\x00"[..], b"\x00\x00\x01", b"\xff\xff\xff\xff\xff\xff\xff\xff\xff", b""] {
        same_b(&mut b, &mut r, &[b"SET", b"bin", v]);
        for args in [
            &["BITPOS", "bin", "0"][..],
            &["BITPOS", "bin", "1"],
            &["BITPOS", "bin", "0", "0"],
            &["BITPOS", "bin", "1", "1"],
            &["BITPOS", "bin", "0", "0", "-1"],
            &["BITPOS", "bin", "0", "1", "-1", "BIT"],
            &["BITPOS", "bin", "0", "12", "23", "BIT"],
            &["BITPOS", "bin", "1", "12", "23", "BIT"],
            &["BITCOUNT", "bin"],
            &["BITCOUNT", "bin", "0", "0"],
            &["BITCOUNT", "bin", "3", "17", "BIT"],
        ] {
            assert_same(&mut b, &mut r, &[args]);
        }
    }
}

#[test]
fn bitcount_bitpos_random_ranges_match_redis() {
    let (_b, _r, mut b, mut r) = pair(&[]);
    let mut rng = Rng(0x5eed_1234_abcd_0001);
    for round in 0..150 {
        let v = rng.bytes(if round % 10 == 0 { 70 } else { 12 });
        same_b(&mut b, &mut r, &[b"SET", b"k", &v]);
        let n = v.len() as i64;
        for _ in 0..12 {
            let lim = n * 8 + 20;
            let (s, e) = (rng.range(-lim, lim), rng.range(-lim, lim));
            let (s, e) = (s.to_string(), e.to_string());
            let bit = if rng.below(2) == 0 { "0" } else { "1" };
            let unit = ["BIT", "BYTE", "bit"][rng.below(3) as usize];
            for args in [
                &["BITCOUNT", "k", &s, &e][..],
                &["BITCOUNT", "k", &s, &e, unit],
                &["BITPOS", "k", bit],
                &["BITPOS", "k", bit, &s],
                &["BITPOS", "k", bit, &s, &e],
                &["BITPOS", "k", bit, &s, &e, unit],
            ] {
                assert_same(&mut b, &mut r, &[args]);
            }
        }
    }
}

const BITOP: &str = "
    BITOP foo d a
    BITOP andx d a
    BITOP NOT d a b
    BITOP NOT d
    BITOP and d nokey
    EXISTS d
    SET d old
    BITOP or d nokey nokey2
    EXISTS d
    SET a foobar
    SET b abcdef
    SET c zz
    BITOP AND d a b
    GET d
    OBJECT ENCODING d
    BITOP OR d a b c
    GET d
    BITOP XOR d a b c
    GET d
    BITOP NOT d a
    GET d
    BITOP not d c
    GET d
    BITOP AND d a nokey
    GET d
    BITOP OR d nokey c
    GET d
    BITOP and\0junk d a b
    GET d
    # Dest is overwritten whatever it held, and loses its TTL.
    SET d v EX 100
    BITOP OR d a
    TTL d
    RPUSH l x
    BITOP OR l a
    TYPE l
    BITOP OR d a l
    BITOP OR d l a
    GET d
    # Integer-encoded sources read as text.
    SET n 1234
    BITOP XOR d n a
    GET d
    # Dest as source.
    BITOP OR a a c
    GET a
    # Long values (fast paths in Redis).
    SETBIT long1 1000 1
    SETBIT long2 999 1
    SETBIT long2 3000 1
    BITOP OR d long1 long2
    BITCOUNT d
    STRLEN d
    OBJECT ENCODING d
    BITOP AND d long1 long2
    BITCOUNT d
    STRLEN d
";

#[test]
fn bitop_matches_redis() {
    let (_b, _r, mut b, mut r) = pair(&[]);
    same(&mut b, &mut r, BITOP);
    let mut rng = Rng(0xb170_9e11);
    for _ in 0..60 {
        let n = rng.below(4) + 1;
        let mut keys = Vec::new();
        for i in 0..n {
            let key = format!("src{i}");
            if rng.below(5) == 0 {
                assert_same(&mut b, &mut r, &[&["DEL", &key]]);
            } else {
                let v = rng.bytes(80);
                same_b(&mut b, &mut r, &[b"SET", key.as_bytes(), &v]);
            }
            keys.push(key);
        }
        for op in ["AND", "OR", "XOR", "NOT"] {
            let mut args: Vec<&str> = vec!["BITOP", op, "dst"];
            if op == "NOT" {
                args.push(&keys[0]);
            } else {
                args.extend(keys.iter().map(String::as_str));
            }
            assert_same(&mut b, &mut r, &[&args, &["GET", "dst"], &["EXISTS", "dst"]]);
        }
    }
}

const BITFIELD: &str = "
    BITFIELD k
    BITFIELD k GET
    BITFIELD k GET u8
    BITFIELD k FOO u8 0
    BITFIELD k SET u8 0
    BITFIELD k INCRBY u8 0
    BITFIELD k OVERFLOW
    BITFIELD k OVERFLOW foo
    BITFIELD k OVERFLOW sat GET u8
    BITFIELD k GET u64 0
    BITFIELD k GET i65 0
    BITFIELD k GET i0 0
    BITFIELD k GET I8 0
    BITFIELD k GET U8 0
    BITFIELD k GET x8 0
    BITFIELD k GET u 0
    BITFIELD k GET i+8 0
    BITFIELD k GET i08 0
    BITFIELD k GET u8 -1
    BITFIELD k GET u8 a
    BITFIELD k GET u8 #a
    BITFIELD k GET u8 #-1
    BITFIELD k GET u8 ##1
    BITFIELD k SET u8 0 a
    BITFIELD k SET u8 0 1.5
    BITFIELD k INCRBY u8 0 a
    BITFIELD k SET u8 0 1 GET u8 a
    EXISTS k
    BITFIELD k GET u8 0 GET i8 0
    EXISTS k
    BITFIELD k SET u8 0 255 GET u8 0 GET i8 0
    GET k
    OBJECT ENCODING k
    BITFIELD k SET i5 100 -3 GET i5 100 GET u5 100
    BITFIELD k INCRBY u2 100 1 INCRBY u2 100 1 INCRBY u2 100 1 INCRBY u2 100 1
    BITFIELD k OVERFLOW SAT INCRBY u2 100 1 INCRBY u2 100 1 INCRBY u2 100 -10
    BITFIELD k OVERFLOW FAIL INCRBY u2 100 1 INCRBY u2 100 1 INCRBY u2 100 1 INCRBY u2 100 -10
    BITFIELD k OVERFLOW WRAP INCRBY i8 0 100 INCRBY i8 0 100 INCRBY i8 0 -300
    BITFIELD k OVERFLOW SAT INCRBY i8 0 100 INCRBY i8 0 100 INCRBY i8 0 -300 INCRBY i8 0 -300
    BITFIELD k OVERFLOW FAIL INCRBY i8 0 100 INCRBY i8 0 100 OVERFLOW WRAP INCRBY i8 0 100
    BITFIELD k SET u8 #1 200 GET u8 #1 GET u8 8 GET u16 #0 GET u16 4
    BITFIELD k SET i64 #2 -9223372036854775808 GET i64 #2 INCRBY i64 #2 -1
    BITFIELD k OVERFLOW SAT INCRBY i64 #2 -1 INCRBY i64 #2 9223372036854775807 INCRBY i64 #2 1
    BITFIELD k OVERFLOW FAIL SET i64 #2 5 INCRBY i64 #2 9223372036854775807 INCRBY i64 #2 1
    BITFIELD k SET u63 #3 9223372036854775807 GET u63 #3 INCRBY u63 #3 1 GET u63 #3
    BITFIELD k OVERFLOW SAT SET u63 #3 -1 GET u63 #3 SET u4 0 -1 SET i4 0 100 GET i4 0
    BITFIELD k OVERFLOW FAIL SET u4 0 16 SET u4 0 15 SET i4 0 8 SET i4 0 -8 SET i4 0 -9
    BITFIELD k SET u1 0 2 SET i1 0 -1 GET i1 0 GET u1 0 SET i1 0 1 GET i1 0
    BITFIELD k GET u8 100000
    BITFIELD k GET i64 1000 GET u63 1001 GET u1 7
    GET k
    STRLEN k
    BITFIELD k INCRBY u8 1000 5 GET u8 1000
    STRLEN k
    OBJECT ENCODING k
    # Read-only variant.
    BITFIELD_RO k GET u8 0 GET i64 #5
    BITFIELD_RO k GET u8 0 SET u8 0 1
    BITFIELD_RO k INCRBY u8 0 1
    BITFIELD_RO k SET u8 0 a
    BITFIELD_RO k OVERFLOW SAT
    BITFIELD_RO nokey GET u8 0
    EXISTS nokey
    BITFIELD_RO k FOO
    # A missing key: reads give zeros, writes create it (even when they all fail).
    BITFIELD nk1 GET i8 0
    EXISTS nk1
    BITFIELD nk1 OVERFLOW FAIL INCRBY u8 0 300
    EXISTS nk1
    GET nk1
    BITFIELD nk2 SET u4 #100 7
    STRLEN nk2
    # Int-encoded strings.
    SET n 1234
    BITFIELD n GET u8 0 GET u8 8 GET u32 0 GET u8 32
    BITFIELD_RO n GET i16 #1
    BITFIELD n INCRBY u8 0 1
    GET n
    OBJECT ENCODING n
    SET e hello
    BITFIELD e GET u8 0
    OBJECT ENCODING e
    BITFIELD e SET u8 0 104
    OBJECT ENCODING e
    # Wrong types.
    RPUSH l a
    BITFIELD l GET u8 0
    BITFIELD_RO l GET u8 0
    BITFIELD l SET u8 0 1
    BITFIELD l SET u8 0 a
    # TTL survives.
    SET t abc EX 100
    BITFIELD t SET u8 #20 1
    TTL t
";

#[test]
fn bitfield_matches_redis() {
    let (_b, _r, mut b, mut r) = pair(&[]);
    same(&mut b, &mut r, BITFIELD);
}

#[test]
fn bitfield_random_operations_match_redis() {
    let (_b, _r, mut b, mut r) = pair(&[]);
    let mut rng = Rng(0xb17f_1e1d_0042);
    for round in 0..200 {
        if round % 25 == 0 {
            let v = rng.bytes(20);
            same_b(&mut b, &mut r, &[b"SET", b"k", &v]);
        }
        let mut args: Vec<String> = vec!["BITFIELD".into(), "k".into()];
        for _ in 0..rng.range(1, 6) {
            match rng.below(8) {
                0 => {
                    args.push("OVERFLOW".into());
                    args.push(["WRAP", "SAT", "FAIL"][rng.below(3) as usize].into());
                }
                op => {
                    let signed = rng.below(2) == 0;
                    let bits = if signed { rng.range(1, 64) } else { rng.range(1, 63) };
                    let ty = format!("{}{}", if signed { "i" } else { "u" }, bits);
                    let off = if rng.below(4) == 0 {
                        format!("#{}", rng.below(8))
                    } else {
                        rng.below(200).to_string()
                    };
                    let value = match rng.below(4) {
                        0 => (rng.next() as i64).to_string(),
                        1 => rng.range(-300, 300).to_string(),
                        2 => ["9223372036854775807", "-9223372036854775808", "-1", "0"]
                            [rng.below(4) as usize]
                            .to_string(),
                        _ => rng.range(-(1 << 20), 1 << 20).to_string(),
                    };
                    let name = ["GET", "SET", "INCRBY"][(op % 3) as usize];
                    args.push(name.into());
                    args.push(ty);
                    args.push(off);
                    if name != "GET" {
                        args.push(value);
                    }
                }
            }
        }
        let a: Vec<&str> = args.iter().map(String::as_str).collect();
        assert_same(&mut b, &mut r, &[&a, &["GET", "k"]]);
        let mut ro = a.clone();
        ro[0] = "BITFIELD_RO";
        assert_same(&mut b, &mut r, &[&ro]);
    }
}

#[test]
fn random_setbit_sequences_store_the_same_bytes() {
    let (_b, _r, mut b, mut r) = pair(&[]);
    let mut rng = Rng(0x005e_7b17);
    for i in 0..400 {
        let key = format!("k{}", rng.below(5));
        let off = if i % 50 == 0 { rng.below(40_000) } else { rng.below(700) };
        let v = rng.below(2).to_string();
        assert_same(
            &mut b,
            &mut r,
            &[&["SETBIT", &key, &off.to_string(), &v], &["GETBIT", &key, &off.to_string()]],
        );
    }
    for k in 0..5 {
        let key = format!("k{k}");
        assert_same(
            &mut b,
            &mut r,
            &[&["GET", &key], &["BITCOUNT", &key], &["OBJECT", "ENCODING", &key], &["BITPOS", &key, "0"]],
        );
    }
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
        SETBIT k 3 1
        GETBIT k 3
        BITCOUNT k
        BITPOS k 1
        BITOP NOT d k
        BITFIELD k OVERFLOW FAIL INCRBY u2 0 5 GET u8 0 SET i8 0 -1
        BITFIELD_RO k GET u8 0
        BITFIELD_RO k SET u8 0 1
        BITFIELD nokey GET u8 0
    ",
    );
}

#[test]
fn keyspace_hits_and_misses_match_redis() {
    let (_b, _r, mut b, mut r) = pair(&[]);
    let script: &[&[&str]] = &[
        &["SET", "s", "abc"],
        &["GETBIT", "s", "1"],
        &["GETBIT", "nokey", "1"],
        &["GETBIT", "s", "x"],
        &["SETBIT", "s", "1", "1"],
        &["SETBIT", "new", "1", "1"],
        &["BITCOUNT", "s"],
        &["BITCOUNT", "nokey"],
        &["BITPOS", "s", "1"],
        &["BITPOS", "nokey", "1"],
        &["BITPOS", "s", "5"],
        &["BITOP", "AND", "d", "s", "nokey", "new"],
        &["BITFIELD", "s", "GET", "u8", "0"],
        &["BITFIELD", "nokey", "GET", "u8", "0"],
        &["BITFIELD", "s", "SET", "u8", "0", "1"],
        &["BITFIELD_RO", "s", "GET", "u8", "0"],
    ];
    for c in script {
        assert_same(&mut b, &mut r, &[c]);
    }
    for f in ["keyspace_hits", "keyspace_misses"] {
        assert_eq!(info_field(&mut b, "stats", f), info_field(&mut r, "stats", f), "{f}");
    }
}

/// A SETBIT or BITFIELD that changes nothing does not touch the key: a WATCH on it holds,
/// as in Redis 7.0 (which only bumps `dirty` and signals the key on a real change).
#[test]
fn no_op_writes_leave_watchers_alone() {
    let brim = Server::start(&[]);
    let redis = Server::redis(&[]);
    for server in [&brim, &redis] {
        let mut a = server.raw();
        let mut other = server.raw();
        a.cmd(&["SETBIT", "k", "100", "1"]);
        a.cmd(&["WATCH", "k"]);
        other.cmd(&["SETBIT", "k", "100", "1"]);
        other.cmd(&["SETBIT", "k", "3", "0"]);
        other.cmd(&["BITFIELD", "k", "SET", "u8", "0", "0", "OVERFLOW", "FAIL", "INCRBY", "u8", "0", "300"]);
        other.cmd(&["GETBIT", "k", "100"]);
        a.cmd(&["MULTI"]);
        a.cmd(&["PING"]);
        assert_eq!(a.cmd_str(&["EXEC"]), "*1\r\n+PONG\r\n", "port {}", server.port);
        a.cmd(&["WATCH", "k"]);
        other.cmd(&["SETBIT", "k", "3", "1"]);
        a.cmd(&["MULTI"]);
        a.cmd(&["PING"]);
        assert_eq!(a.cmd_str(&["EXEC"]), "*-1\r\n", "port {}", server.port);
    }
}
