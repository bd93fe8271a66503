//! The HyperLogLog family (PFADD, PFCOUNT, PFMERGE, PFDEBUG, PFSELFTEST): differential
//! tests against the real Redis 7.0. HLLs are strings in Redis's own representation, so the
//! tests compare not only the replies but the stored bytes (GET) after every kind of update,
//! sparse and dense, with several `hll-sparse-max-bytes`; the counts from 1 to 100,000
//! elements; payloads moved between the two servers; and corrupted payloads.

mod common;

use common::{assert_same, encode, pair, same, Raw};

/// Send a command with binary arguments; the raw reply.
fn cmdb(raw: &mut Raw, args: &[&[u8]]) -> Vec<u8> {
    raw.send(&encode(args));
    raw.read_reply()
}

/// The payload of a bulk reply.
fn bulk(reply: &[u8]) -> Vec<u8> {
    assert_eq!(reply.first(), Some(&b'$'), "not a bulk reply: {:?}", String::from_utf8_lossy(reply));
    let nl = reply.iter().position(|&c| c == b'\n').expect("bulk header");
    reply[nl + 1..reply.len() - 2].to_vec()
}

/// GET `key` on both servers; the bytes must be equal. Returns them.
fn same_bytes(b: &mut Raw, r: &mut Raw, key: &str) -> Vec<u8> {
    let want = bulk(&r.cmd(&["GET", key]));
    let got = bulk(&b.cmd(&["GET", key]));
    assert_eq!(got.len(), want.len(), "length of {key}");
    if let Some(i) = (0..got.len()).find(|&i| got[i] != want[i]) {
        panic!(
            "{key} differs at byte {i} of {}: brim {:02x?} redis {:02x?}",
            got.len(),
            &got[i..],
            &want[i..]
        );
    }
    got
}

/// PFADD `elements` to `key` in one command on both servers; replies compared.
fn pfadd(b: &mut Raw, r: &mut Raw, key: &str, elements: &[String]) {
    let mut args: Vec<&[u8]> = vec![b"PFADD", key.as_bytes()];
    args.extend(elements.iter().map(|e| e.as_bytes()));
    let want = cmdb(r, &args);
    let got = cmdb(b, &args);
    assert_eq!(got, want, "PFADD {key} ({} elements)", elements.len());
}

fn elements(prefix: &str, range: std::ops::Range<u64>) -> Vec<String> {
    range.map(|i| format!("{prefix}{i}")).collect()
}

const WRONG_ARITY: &str = "
    PFADD
    PFCOUNT
    PFMERGE
    PFDEBUG
    PFDEBUG getreg
    PFDEBUG getreg k extra
    PFSELFTEST extra
";

#[test]
fn wrong_arity_matches_redis() {
    let (_b, _r, mut b, mut r) = pair(&[]);
    same(&mut b, &mut r, WRONG_ARITY);
}

const BASICS: &str = "
    PFCOUNT nokey
    PFADD h
    EXISTS h
    PFCOUNT h
    PFADD h
    PFADD h a b c
    PFADD h a b c
    PFADD h a
    PFCOUNT h
    GET h
    PFCOUNT h
    GET h
    OBJECT ENCODING h
    PFADD h2 x y
    PFCOUNT h h2
    PFCOUNT h nokey h2
    PFCOUNT nokey nokey2
    TYPE h
    STRLEN h
    # Wrong types and strings that are not HLLs.
    RPUSH l a
    PFADD l a
    PFCOUNT l
    PFCOUNT h l
    PFMERGE l h
    PFMERGE h l
    PFDEBUG encoding l
    SET s hello
    PFADD s a
    PFCOUNT s
    PFCOUNT h s
    PFMERGE d h s
    EXISTS d
    SET n 12345
    PFADD n a
    PFCOUNT n
    SET hy HYLL
    PFCOUNT hy
    SET hy2 HYLLxxxxxxxxxxxxxxxxxx
    PFCOUNT hy2
    PFDEBUG encoding hy2
    # Debugging.
    PFDEBUG encoding h
    PFDEBUG decode h
    PFDEBUG foo h
    PFDEBUG encoding nokey
    PFDEBUG foo nokey
    PFDEBUG todense h
    PFDEBUG encoding h
    PFDEBUG todense h
    PFDEBUG decode h
    PFCOUNT h
    GET h
    PFDEBUG decode h2
    PFDEBUG getreg h2
    PFDEBUG encoding h2
    GET h2
    # TTL survives updates.
    PFADD t a
    EXPIRE t 100
    PFADD t b c d
    PFCOUNT t
    PFMERGE t h
    TTL t
";

#[test]
fn basics_match_redis() {
    let (_b, _r, mut b, mut r) = pair(&[]);
    same(&mut b, &mut r, BASICS);
}

#[test]
fn stored_bytes_match_redis_while_growing_sparse_then_dense() {
    let (_b, _r, mut b, mut r) = pair(&[]);
    let mut n = 0u64;
    let mut round = 0u64;
    // One element at a time while sparse (every opcode split and merge), then in batches.
    while n < 3000 {
        let step = if n < 600 { 1 } else { 37 };
        pfadd(&mut b, &mut r, "h", &elements("e", n..n + step));
        n += step;
        round += 1;
        if n < 600 || round.is_multiple_of(5) {
            same_bytes(&mut b, &mut r, "h");
        }
        if round.is_multiple_of(97) {
            assert_same(&mut b, &mut r, &[&["PFCOUNT", "h"], &["PFDEBUG", "ENCODING", "h"]]);
            same_bytes(&mut b, &mut r, "h");
        }
    }
    assert_same(&mut b, &mut r, &[&["PFDEBUG", "ENCODING", "h"], &["PFCOUNT", "h"]]);
    let dense = same_bytes(&mut b, &mut r, "h");
    assert_eq!(dense.len(), 12304);
    assert_eq!(dense[4], 0, "dense by now");
    // Elements of every length (all MurmurHash tail cases), binary ones included.
    let mut odd: Vec<Vec<u8>> = (0..40).map(|n| (0..n).map(|i| (i * 37 + n) as u8).collect()).collect();
    odd.push(vec![0; 100]);
    for e in &odd {
        let want = cmdb(&mut r, &[b"PFADD", b"odd", e]);
        assert_eq!(cmdb(&mut b, &[b"PFADD", b"odd", e]), want);
    }
    same_bytes(&mut b, &mut r, "odd");
    assert_same(&mut b, &mut r, &[&["PFCOUNT", "odd"]]);
}

#[test]
fn counts_match_redis_from_1_to_100k() {
    let (_b, _r, mut b, mut r) = pair(&[]);
    let mut n = 0u64;
    let mut next_check = 1u64;
    while n < 100_000 {
        let step = if n < 1000 {
            1
        } else if n < 10_000 {
            50
        } else {
            1000
        };
        pfadd(&mut b, &mut r, "h", &elements("item:", n..n + step));
        n += step;
        if n >= next_check {
            assert_same(&mut b, &mut r, &[&["PFCOUNT", "h"]]);
            next_check = n + n / 20 + 1;
        }
    }
    assert_same(&mut b, &mut r, &[&["PFCOUNT", "h"], &["PFCOUNT", "h"]]);
    same_bytes(&mut b, &mut r, "h");
}

#[test]
fn sparse_max_bytes_controls_promotion_like_redis() {
    for max in ["0", "30", "100", "500", "8000"] {
        let (_b, _r, mut b, mut r) = pair(&["--hll-sparse-max-bytes", max]);
        for i in 0..300u64 {
            pfadd(&mut b, &mut r, "h", &elements("v", i * 3..i * 3 + 3));
            if i % 15 == 0 {
                same_bytes(&mut b, &mut r, "h");
                assert_same(&mut b, &mut r, &[&["PFDEBUG", "ENCODING", "h"]]);
            }
        }
        assert_same(&mut b, &mut r, &[&["PFCOUNT", "h"]]);
        same_bytes(&mut b, &mut r, "h");
    }
    // Changed at run time.
    let (_b, _r, mut b, mut r) = pair(&[]);
    pfadd(&mut b, &mut r, "h", &elements("w", 0..20));
    assert_same(&mut b, &mut r, &[&["CONFIG", "SET", "hll-sparse-max-bytes", "40"]]);
    pfadd(&mut b, &mut r, "h", &elements("w", 20..23));
    assert_same(&mut b, &mut r, &[&["PFDEBUG", "ENCODING", "h"]]);
    same_bytes(&mut b, &mut r, "h");
}

#[test]
fn pfmerge_matches_redis() {
    let (_b, _r, mut b, mut r) = pair(&[]);
    pfadd(&mut b, &mut r, "s1", &elements("a", 0..40));
    pfadd(&mut b, &mut r, "s2", &elements("a", 20..90));
    pfadd(&mut b, &mut r, "d1", &elements("b", 0..5000));
    pfadd(&mut b, &mut r, "d2", &elements("a", 0..3000));
    same(
        &mut b,
        &mut r,
        "
        PFMERGE m1 s1 s2
        PFCOUNT m1
        PFDEBUG ENCODING m1
        PFCOUNT s1 s2
        PFMERGE m2 s1 d1
        PFCOUNT m2
        PFDEBUG ENCODING m2
        PFMERGE m3 d1 d2 s1 s2 nokey
        PFCOUNT m3
        PFCOUNT d1 d2 s1 s2
        PFMERGE m4
        EXISTS m4
        PFCOUNT m4
        PFMERGE m5 nokey
        PFCOUNT m5
        PFMERGE s1 s2
        PFCOUNT s1
        PFMERGE s1 s1
        PFMERGE d2 s1
        PFCOUNT d2
        SET t x
        PFMERGE t s1
        PFADD t2 a
        EXPIRE t2 100
        PFMERGE t2 d1
        TTL t2
    ",
    );
    for k in ["m1", "m2", "m3", "m4", "m5", "s1", "d2", "t2"] {
        same_bytes(&mut b, &mut r, k);
    }
}

#[test]
fn payloads_move_between_redis_and_brim() {
    let (_b, _r, mut b, mut r) = pair(&[]);
    for (key, n) in [("small", 7u64), ("mid", 400), ("big", 20_000)] {
        let els = elements(key, 0..n);
        for chunk in els.chunks(1000) {
            let mut args: Vec<&[u8]> = vec![b"PFADD", key.as_bytes()];
            args.extend(chunk.iter().map(|e| e.as_bytes()));
            cmdb(&mut r, &args);
        }
        // Redis -> Brim.
        let payload = bulk(&r.cmd(&["GET", key]));
        assert_eq!(cmdb(&mut b, &[b"SET", key.as_bytes(), &payload]), b"+OK\r\n");
        assert_same(&mut b, &mut r, &[&["PFCOUNT", key], &["PFDEBUG", "ENCODING", key]]);
        pfadd(&mut b, &mut r, key, &elements("more", 0..50));
        same_bytes(&mut b, &mut r, key);
        assert_same(&mut b, &mut r, &[&["PFCOUNT", key]]);
        // Brim -> Redis.
        let copy = format!("{key}-copy");
        let payload = bulk(&b.cmd(&["GET", key]));
        cmdb(&mut r, &[b"SET", copy.as_bytes(), &payload]);
        cmdb(&mut b, &[b"SET", copy.as_bytes(), &payload]);
        assert_same(&mut b, &mut r, &[&["PFCOUNT", &copy], &["PFCOUNT", key, &copy, "small"]]);
    }
}

/// Store the same (binary) payload on both servers.
fn set_both(b: &mut Raw, r: &mut Raw, key: &str, v: &[u8]) {
    assert_eq!(cmdb(b, &[b"SET", key.as_bytes(), v]), cmdb(r, &[b"SET", key.as_bytes(), v]));
}

#[test]
fn corrupted_payloads_are_rejected_like_redis() {
    let (_b, _r, mut b, mut r) = pair(&[]);
    let hdr = b"HYLL\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x80".to_vec();
    let cases: Vec<(&str, Vec<u8>)> = vec![
        // Sparse bodies covering too few or too many registers.
        ("short", [hdr.clone(), vec![0x7f, 0xf0]].concat()),
        ("long", [hdr.clone(), vec![0x7f, 0xff, 0x00]].concat()),
        ("empty", hdr.clone()),
        ("half", [hdr.clone(), vec![0x7f]].concat()),
        ("valover", [hdr.clone(), vec![0x7f, 0xfe, 0x83]].concat()),
        ("valok", [hdr.clone(), vec![0x7f, 0xfe, 0x80]].concat()),
        ("zeros", [hdr.clone(), vec![0x3f; 256]].concat()),
        ("xzero1", [hdr.clone(), vec![0x40, 0x00, 0x7f, 0xfe]].concat()),
        // A valid cached cardinality on a broken body is returned as is.
        ("cached", [b"HYLL\x01\x00\x00\x00\x2a\x00\x00\x00\x00\x00\x00\x00".to_vec(), vec![0x00]].concat()),
        // Dense of the wrong length, unknown encoding, bad magic, too short.
        ("dense", [b"HYLL\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x80".to_vec(), vec![0; 100]].concat()),
        (
            "enc2",
            [b"HYLL\x02\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x80".to_vec(), vec![0x7f, 0xff]].concat(),
        ),
        (
            "magic",
            [b"HYLX\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x80".to_vec(), vec![0x7f, 0xff]].concat(),
        ),
        ("tiny", b"HYLL\x01".to_vec()),
    ];
    for (key, v) in &cases {
        set_both(&mut b, &mut r, key, v);
        let k = key.to_string();
        assert_same(
            &mut b,
            &mut r,
            &[
                &["PFCOUNT", &k],
                &["PFCOUNT", &k, "nokey"],
                &["PFDEBUG", "ENCODING", &k],
                &["PFDEBUG", "DECODE", &k],
                &["PFMERGE", "dst", &k],
                &["PFMERGE", &k, "nokey"],
            ],
        );
        same_bytes(&mut b, &mut r, key);
        set_both(&mut b, &mut r, key, v);
        assert_same(&mut b, &mut r, &[&["PFADD", &k, "a", "b", "c", "d", "e", "f", "g"]]);
        same_bytes(&mut b, &mut r, key);
        set_both(&mut b, &mut r, key, v);
        assert_same(&mut b, &mut r, &[&["PFDEBUG", "TODENSE", &k]]);
        same_bytes(&mut b, &mut r, key);
        set_both(&mut b, &mut r, key, v);
        assert_same(&mut b, &mut r, &[&["PFDEBUG", "GETREG", &k], &["PFCOUNT", &k]]);
        same_bytes(&mut b, &mut r, key);
    }
}

#[test]
fn random_workload_matches_redis() {
    let (_b, _r, mut b, mut r) = pair(&["--hll-sparse-max-bytes", "600"]);
    let mut x = 0x4411_2233_5566_7788u64;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    for round in 0..300 {
        let key = format!("h{}", next() % 4);
        match next() % 6 {
            0..=2 => {
                let n = next() % 30;
                let els: Vec<String> = (0..n).map(|_| format!("{}", next() % 5000)).collect();
                pfadd(&mut b, &mut r, &key, &els);
            }
            3 => assert_same(&mut b, &mut r, &[&["PFCOUNT", &key]]),
            4 => {
                let other = format!("h{}", next() % 4);
                assert_same(&mut b, &mut r, &[&["PFMERGE", &key, &other], &["PFCOUNT", &key, &other]]);
            }
            _ => assert_same(&mut b, &mut r, &[&["PFCOUNT", "h0", "h1", "h2", "h3"]]),
        }
        if round % 10 == 0 {
            for k in 0..4 {
                let key = format!("h{k}");
                if b.cmd_str(&["EXISTS", &key]) == ":1\r\n" {
                    same_bytes(&mut b, &mut r, &key);
                }
            }
        }
    }
}

#[test]
fn resp3_and_selftest() {
    let (_b, _r, mut b, mut r) = pair(&[]);
    b.cmd(&["HELLO", "3"]);
    r.cmd(&["HELLO", "3"]);
    same(
        &mut b,
        &mut r,
        "
        PFADD h a b c
        PFCOUNT h
        PFDEBUG ENCODING h
        PFDEBUG DECODE h
        PFMERGE h2 h
        PFDEBUG TODENSE h
        PFCOUNT h h2
    ",
    );
    assert_eq!(b.cmd_str(&["PFSELFTEST"]), "+OK\r\n");
}

#[test]
fn keyspace_hits_and_misses_match_redis() {
    let (_b, _r, mut b, mut r) = pair(&[]);
    same(
        &mut b,
        &mut r,
        "
        PFADD h a
        PFADD nope
        PFCOUNT h
        PFCOUNT missing
        PFCOUNT h missing
        PFMERGE h missing
        PFMERGE dest h missing
        PFDEBUG encoding h
        PFDEBUG encoding missing
    ",
    );
    let info = |raw: &mut Raw, f: &str| -> String {
        let text = raw.cmd_str(&["INFO", "stats"]);
        text.lines().find(|l| l.starts_with(f)).unwrap_or_default().to_string()
    };
    for f in ["keyspace_hits:", "keyspace_misses:"] {
        assert_eq!(info(&mut b, f), info(&mut r, f));
    }
}
