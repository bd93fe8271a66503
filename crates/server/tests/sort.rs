//! SORT and SORT_RO: differential tests against the real Redis 7.0 (replies compared byte
//! for byte) on lists, sets and sorted sets in both encodings: numeric and ALPHA sorting,
//! ASC/DESC, LIMIT edge cases, BY with string keys, hash fields, missing keys and constant
//! patterns (no sorting: native order, DESC, LIMIT), GET patterns (`#`, hash fields,
//! missing keys), STORE (list results, empty results deleting the key), the errors, the
//! special cases (a packed sorted set becomes a skiplist, an unsorted set is sorted ALPHA
//! when stored), randomized runs of BY + LIMIT (Redis's partial quicksort) with ties, the
//! keyspace hits and misses of pattern lookups, the keyspace events, and the wake-up of a
//! client blocked on a STORE destination.

mod common;

use common::{assert_same, encode, info_i64 as info_field, pair, same, Raw};

/// Send a command with binary-safe arguments and read the reply.
fn cmd(raw: &mut Raw, args: &[&[u8]]) -> Vec<u8> {
    raw.send(&encode(args));
    raw.read_reply()
}

/// Run `args` on both servers and compare.
fn both(b: &mut Raw, r: &mut Raw, args: &[&[u8]]) {
    let want = cmd(r, args);
    let got = cmd(b, args);
    assert_eq!(String::from_utf8_lossy(&got), String::from_utf8_lossy(&want), "command {args:?}");
}

/// A small deterministic generator (xorshift64*).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545F4914F6CDD1D)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

const WEIGHTS: &str = "
    rpush l 3 1 2 10 1.5 -2 2
    set w_3 10
    set w_1 9
    set w_2 8
    set w_10 7
    set w_1.5 6
    set w_-2 6
    hset h_3 f 0 name c
    hset h_1 f 3 name a
    hset h_2 f 1 name b
    hset h_10 f 4 name j
    hset h_1.5 f 2 name aa
    hset h_-2 f 0 name z
    set o_3 obj3
    set o_1 obj1
    set o_2 obj2
    set o_10 obj10
";

const LIST_SCRIPT: &str = "
    sort l
    sort l desc
    sort l alpha
    sort l alpha desc
    sort l asc desc asc
    sort l limit 1 3
    sort l limit -1 3
    sort l limit 5 100
    sort l limit 100 1
    sort l limit 0 0
    sort l limit 0 -5
    sort l limit 2 -1
    sort l limit 6 1
    sort l limit 7 1
    sort l limit 9223372036854775807 9223372036854775807
    sort l limit -9223372036854775808 3
    sort l limit x 1
    sort l limit 1 x
    sort l limit 1
    sort l desc limit 1 3 alpha
    sort l by nosort
    sort l by nosort desc
    sort l by nosort limit 2 3
    sort l by nosort limit 2 3 desc
    sort l by nosort limit 20 3
    sort l by nosort limit 0 0
    sort l by nosort limit -5 2 desc
    sort l by nosort get # get o_*
    sort l by w_*
    sort l by w_* desc
    sort l by w_* limit 1 2
    sort l by w_* limit 0 3 desc
    sort l by w_* get # get o_* get h_*->name get h_*->f get nokey_*
    sort l by h_*->f
    sort l by h_*->f limit 1 2
    sort l by h_*->f alpha limit 1 3
    sort l by h_*->name alpha
    sort l by h_*->name alpha desc
    sort l by h_*->name
    sort l by h_*->nofield
    sort l by o_*
    sort l by o_* alpha
    sort l by missing_*
    sort l by missing_* alpha desc
    sort l by missing_* limit 1 3
    sort l by w_* by nosort
    sort l by nosort by w_*
    sort l get #
    sort l get nostar
    sort l get h_*->
    sort l get h_*-
    sort l get *->f
    sort l get h_*->f->x
    sort l get o_*_suffix
    sort l get w_* get w_*
    SORT l BY W_* GET # LIMIT 0 2 DESC ALPHA
    sort l by w_* get h_*
    sort l by h_* get o_*->f
    sort_ro l
    sort_ro l by w_* get # get h_*->name limit 1 3 desc
    sort_ro l store x
    sort l foo
    sort l store
    sort l by
    sort l get
    sort nokey
    sort nokey by w_* get #
    sort nokey limit 0 1
    sort nokey by nosort desc
";

const STORE_SCRIPT: &str = "
    sort l store dst
    lrange dst 0 -1
    type dst
    object encoding dst
    sort l desc limit 1 2 store dst
    lrange dst 0 -1
    sort l by w_* get o_* get nokey store dst
    lrange dst 0 -1
    sort l by nosort get # get h_*->name store dst
    lrange dst 0 -1
    set dst string
    expire dst 100
    sort l store dst
    ttl dst
    lrange dst 0 -1
    sort nokey store dst
    exists dst
    sort nokey store dst
    sort l limit 0 0 store dst
    exists dst
    sort l store l
    lrange l 0 -1
    sort_ro l
";

#[test]
fn lists() {
    let (_bs, _rs, mut b, mut r) = pair(&[]);
    same(&mut b, &mut r, WEIGHTS);
    same(&mut b, &mut r, LIST_SCRIPT);
    same(&mut b, &mut r, STORE_SCRIPT);
    // The same on a list stored as several chunks.
    same(&mut b, &mut r, "flushall");
    assert_same(&mut b, &mut r, &[&["config", "set", "list-max-listpack-size", "2"]]);
    same(&mut b, &mut r, WEIGHTS);
    same(&mut b, &mut r, LIST_SCRIPT);
    same(&mut b, &mut r, STORE_SCRIPT);
}

#[test]
fn resp3() {
    let (_bs, _rs, mut b, mut r) = pair(&[]);
    b.cmd(&["hello", "3"]);
    r.cmd(&["hello", "3"]);
    same(&mut b, &mut r, WEIGHTS);
    same(
        &mut b,
        &mut r,
        "
        sort l by w_* get # get nokey_* get h_*->name
        sort l store dst
        sort nokey
        sort l limit 0 0
        ",
    );
}

#[test]
fn wrong_types_and_conversion_errors() {
    let (_bs, _rs, mut b, mut r) = pair(&[]);
    let script = "
        set s1 x
        sort s1
        sort s1 store d
        sort s1 by nosort
        sort_ro s1
        hset hh a 1
        sort hh
        pfadd hll a
        sort hll
        rpush bad 1 x 3
        sort bad
        sort bad alpha
        sort bad desc
        sort bad store dd
        exists dd
        sort bad by nosort
        sort bad limit 0 1
        rpush nans nan 1
        sort nans
        rpush nums 5 0x10 inf -inf 1e2 -0 +3 .5 5.
        sort nums
        sort nums desc
        sort nums limit 1 4
        rpush ws 1 2 3
        set wt_1 abc
        set wt_2 2
        sort ws by wt_*
        sort ws by wt_* alpha
        sort ws by wt_* desc alpha
        set wt_1 nan
        sort ws by wt_*
        set wt_1 1e400
        sort ws by wt_*
        rpush empty x
        set we_x ''
        sort empty by we_*
    ";
    same(&mut b, &mut r, script);
    // Weights with spaces and NUL bytes, as C's strtod and strcoll see them.
    for args in [
        &[&b"rpush"[..], b"sp", b" 5", b"3\x00junk", b"\t2", b"1 "][..],
        &[b"sort", b"sp"],
        &[b"rpush", b"alp", b"b\x00z", b"b\x00a", b"a", b"B", b"b", b"ab", b"aa", b""],
        &[b"sort", b"alp", b"alpha"],
        &[b"sort", b"alp", b"alpha", b"desc"],
        &[b"sort", b"alp", b"alpha", b"store", b"x"],
        &[b"lrange", b"x", b"0", b"-1"],
        &[b"sort", b"alp", b"by", b"no\x00*star"],
        &[b"sort", b"alp", b"get", b"#\x00x"],
        &[b"sort", b"alp", b"by", b"nosort", b"get", b"k_*\x00x"],
        &[b"set", b"k_a", b"va"],
        &[b"sort", b"alp", b"alpha", b"get", b"k_*\x00x", b"get", b"k_*"],
        &[b"sort", b"alp", b"alp\x00ha"],
    ] {
        both(&mut b, &mut r, args);
    }
}

#[test]
fn sets() {
    let (_bs, _rs, mut b, mut r) = pair(&[]);
    let script = "
        sadd si 5 3 100 -7 0 42
        object encoding si
        sort si
        sort si desc
        sort si alpha
        sort si limit 1 3
        sort si by nosort
        sort si by nosort desc limit 1 2
        sort si by nosort store x
        lrange x 0 -1
        sort si by nosort get # get w_*
        set w_5 1
        set w_3 2
        set w_100 0
        sort si by w_*
        sort si by w_* get # get w_* limit 2 3
        sadd ss b a c 10 9 aa
        sort ss alpha
        sort ss alpha desc limit 1 2
        sort ss alpha store x
        lrange x 0 -1
        sort ss by nosort store x
        lrange x 0 -1
        sort ss by nosort alpha store x
        sort ss
        sort ss by w_*
    ";
    same(&mut b, &mut r, script);
    // (`sort ss by w_* alpha` is left out: all weights tie, and Redis then keeps its
    // hashtable's order, which is unspecified.)
    // A big integer set (hashtable in Redis too).
    let mut args: Vec<Vec<u8>> = vec![b"sadd".to_vec(), b"big".to_vec()];
    args.extend((0..700).map(|i| ((i * 7919) % 1000).to_string().into_bytes()));
    let a: Vec<&[u8]> = args.iter().map(|v| v.as_slice()).collect();
    both(&mut b, &mut r, &a);
    same(
        &mut b,
        &mut r,
        "
        object encoding big
        sort big
        sort big desc limit 10 20
        sort big alpha limit 0 30
        sort big by nosort store bs
        lrange bs 0 20
        ",
    );
}

#[test]
fn sorted_sets() {
    let (_bs, _rs, mut b, mut r) = pair(&[]);
    let script = "
        zadd z 3 c 1 a 2 b 5 e 4 d 0 x0
        object encoding z
        sort z by nosort
        object encoding z
        sort z by nosort desc
        sort z by nosort limit 1 2
        sort z by nosort limit 1 2 desc
        sort z by nosort limit 10 2
        sort z by nosort limit 0 0
        sort z by nosort limit -3 2 desc
        sort z by nosort get # get w_*
        sort z alpha
        sort z alpha desc limit 0 3
        sort z
        set w_a 3
        set w_b 1
        set w_c 2
        sort z by w_*
        sort z by w_* desc get #
        sort z by w_* limit 1 3
        sort z by nosort store zs
        lrange zs 0 -1
        zadd zn 3 30 1 10 2 -20 7 7
        sort_ro zn
        object encoding zn
        sort zn desc
        sort zn by nosort
        zadd zn 9 new
        object encoding zn
        zrange zn 0 -1 withscores
    ";
    same(&mut b, &mut r, script);
    same(&mut b, &mut r, "flushall");
    assert_same(&mut b, &mut r, &[&["config", "set", "zset-max-listpack-entries", "0"]]);
    same(&mut b, &mut r, script);
}

#[test]
fn random_by_and_limit() {
    let (_bs, _rs, mut b, mut r) = pair(&[]);
    let mut rng = Rng(0x5EED);
    let mut cmds: Vec<Vec<Vec<u8>>> = Vec::new();
    for i in 0..300 {
        cmds.push(vec![b"rpush".to_vec(), b"big".to_vec(), rng.below(50).to_string().into_bytes()]);
        cmds.push(vec![
            b"set".to_vec(),
            format!("wt_{i}").into_bytes(),
            rng.below(10).to_string().into_bytes(),
        ]);
    }
    for i in 0..50 {
        let v: &[u8] = match rng.below(4) {
            0 => b"x",
            1 => b"y",
            2 => b"z",
            _ => b"",
        };
        cmds.push(vec![b"hset".to_vec(), format!("hw_{i}").into_bytes(), b"f".to_vec(), v.to_vec()]);
    }
    for c in &cmds {
        let a: Vec<&[u8]> = c.iter().map(|v| v.as_slice()).collect();
        both(&mut b, &mut r, &a);
    }
    for _ in 0..150 {
        let start = (rng.below(325) as i64 - 5).to_string();
        let count = (rng.below(323) as i64 - 3).to_string();
        let desc: &[&[u8]] = if rng.below(2) == 0 { &[] } else { &[b"desc"] };
        let (s, c) = (start.as_bytes(), count.as_bytes());
        for base in [
            &[&b"sort"[..], b"big", b"by", b"wt_*", b"limit", s, c][..],
            &[b"sort", b"big", b"by", b"hw_*->f", b"alpha", b"limit", s, c],
            &[b"sort", b"big", b"by", b"hw_*->f", b"limit", s, c, b"get", b"#", b"get", b"hw_*->f"],
            &[b"sort", b"big", b"limit", s, c],
            &[b"sort", b"big", b"alpha", b"limit", s, c],
            &[b"sort", b"big", b"by", b"const", b"limit", s, c],
        ] {
            let mut a = base.to_vec();
            a.extend_from_slice(desc);
            both(&mut b, &mut r, &a);
        }
    }
}

#[test]
fn keyspace_hits_and_misses() {
    let (_bs, _rs, mut b, mut r) = pair(&[]);
    same(&mut b, &mut r, WEIGHTS);
    same(
        &mut b,
        &mut r,
        "
        config resetstat
        sort l by w_* get # get o_* get h_*->name get nokey_*
        sort l by nosort get o_*
        sort nokey
        sort l store dst
        ",
    );
    for f in ["keyspace_hits", "keyspace_misses"] {
        assert_eq!(info_field(&mut b, "stats", f), info_field(&mut r, "stats", f), "{f}");
    }
}

/// The keyspace notifications `commands` cause (every event, as `__keyevent@*` messages),
/// up to a final marker command.
fn events(server: &common::Server, commands: &str) -> Vec<Vec<u8>> {
    let mut c = server.raw();
    c.cmd(&["config", "set", "notify-keyspace-events", "KEA"]);
    let mut sub = server.raw();
    sub.cmd(&["psubscribe", "__keyevent@0__:*"]);
    for line in commands.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let args: Vec<&str> = line.split_whitespace().collect();
        c.cmd(&args);
    }
    c.cmd(&["rpush", "marker", "m"]);
    let mut got = Vec::new();
    loop {
        let m = sub.read_reply();
        if m.ends_with(b"$6\r\nmarker\r\n") {
            return got;
        }
        got.push(m);
    }
}

#[test]
fn keyspace_events_match() {
    let script = "
        rpush l 3 1 2
        sort l
        sort l store dst
        sort l store dst
        sort nokey store dst
        sort nokey store dst
        sort l limit 0 0 store l2
        sadd s b a
        sort s by nosort store dst
    ";
    let brim = common::Server::start(&[]);
    let redis = common::Server::redis(&[]);
    assert_eq!(events(&brim, script), events(&redis, script));
}

#[test]
fn stored_results_wake_blocked_clients() {
    for server in [common::Server::start(&[]), common::Server::redis(&[])] {
        let mut c = server.raw();
        c.cmd(&["rpush", "l", "3", "1", "2"]);
        let mut blocked = server.raw();
        blocked.send(&encode(&[b"blpop", b"dst", b"5"]));
        std::thread::sleep(std::time::Duration::from_millis(200));
        assert_eq!(c.cmd_str(&["sort", "l", "store", "dst"]), ":3\r\n");
        assert_eq!(String::from_utf8_lossy(&blocked.read_reply()), "*2\r\n$3\r\ndst\r\n$1\r\n1\r\n");
    }
}
