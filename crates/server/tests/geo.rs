//! The geo family (GEOADD, GEOPOS, GEODIST, GEOHASH, GEOSEARCH, GEOSEARCHSTORE, GEORADIUS,
//! GEORADIUSBYMEMBER and the `_RO` variants): differential tests against the real Redis 7.0
//! (replies compared byte for byte: coordinates, distances, hashes, orderings, errors,
//! RESP3), in both sorted-set encodings, plus long randomized runs of searches (circles and
//! boxes of every size, near the poles and the antimeridian, COUNT, ANY, ASC, DESC, STORE,
//! STOREDIST) over random points and over ties (points at the same place), the keyspace
//! events, and the wake-up of a client blocked on a STORE destination.

mod common;

use common::{assert_same, encode, pair, same, Raw};

/// Send a command with binary-safe arguments and read the reply.
fn cmd(raw: &mut Raw, args: &[String]) -> Vec<u8> {
    let a: Vec<&[u8]> = args.iter().map(|s| s.as_bytes()).collect();
    raw.send(&encode(&a));
    raw.read_reply()
}

/// Run `args` on both servers and compare.
fn both(b: &mut Raw, r: &mut Raw, args: &[String]) {
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

    fn uniform(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (self.next() >> 11) as f64 / (1u64 << 53) as f64 * (hi - lo)
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[(self.next() % items.len() as u64) as usize]
    }
}

fn s(v: &[&str]) -> Vec<String> {
    v.iter().map(|x| x.to_string()).collect()
}

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

const SICILY: &str = "
    geoadd Sicily 13.361389 38.115556 Palermo 15.087269 37.502669 Catania
    zrange Sicily 0 -1 withscores
    object encoding Sicily
    geopos Sicily Palermo Catania nope
    geopos Sicily
    geopos nokey a b
    geodist Sicily Palermo Catania
    geodist Sicily Palermo Catania km
    geodist Sicily Palermo Catania KM
    geodist Sicily Palermo Catania mi
    geodist Sicily Palermo Catania ft
    geodist Sicily Palermo Catania M
    geodist Sicily Palermo Palermo
    geodist Sicily Palermo Catania xx
    geodist Sicily Palermo Catania km extra
    geodist nokey Palermo Catania
    geodist nokey Palermo Catania xx
    geodist Sicily Palermo nope
    geodist Sicily nope nope2
    geohash Sicily Palermo Catania nope
    geohash Sicily
    geohash nokey a
    georadius Sicily 15 37 200 km
    georadius Sicily 15 37 200 km withdist withcoord withhash
    georadius Sicily 15 37 200 km WITHDIST ASC
    georadius Sicily 15 37 200 km WITHDIST DESC
    georadius Sicily 15 37 200 km count 1
    georadius Sicily 15 37 200 km count 1 desc
    georadius Sicily 15 37 200 km count 1 any
    georadius Sicily 15 37 200 km count 5 any asc
    georadius Sicily 15 37 100 km
    georadius Sicily 15 37 0 km
    georadius Sicily 15 37 200 mi withdist
    georadius Sicily 15 37 200000 ft withdist
    georadius Sicily 15 37 200000 m withdist
    georadius_ro Sicily 15 37 200 km withdist withcoord
    georadiusbymember Sicily Palermo 200 km withdist withcoord withhash
    georadiusbymember Sicily Catania 100 km withdist
    georadiusbymember_ro Sicily Palermo 200 km desc withdist
    geosearch Sicily FROMLONLAT 15 37 BYRADIUS 200 km ASC WITHDIST WITHCOORD WITHHASH
    geosearch Sicily FROMMEMBER Palermo BYBOX 400 400 km DESC WITHDIST
    geosearch Sicily FROMMEMBER Palermo BYBOX 400 40 km WITHDIST
    geosearch Sicily fromlonlat 15 37 bybox 400 400 km count 1 withcoord
    geosearch Sicily frommember Catania byradius 1 m
    geosearch Sicily frommember Catania frommember Palermo byradius 1 m
    geosearch nokey frommember x byradius 1 km
    geosearch nokey fromlonlat 1 1 bybox 1 1 km withdist
    georadius nokey 15 37 200 km
    georadiusbymember nokey x 200 km
    georadiusbymember nokey x notanumber km
";

#[test]
fn sicily_in_both_encodings() {
    let (_bs, _rs, mut b, mut r) = pair(&[]);
    same_both_encodings(&mut b, &mut r, SICILY);
}

#[test]
fn resp3_replies() {
    let (_bs, _rs, mut b, mut r) = pair(&[]);
    let script = "
        geoadd Sicily 13.361389 38.115556 Palermo 15.087269 37.502669 Catania
        geopos Sicily Palermo nope Catania
        geohash Sicily Palermo nope
        geodist Sicily Palermo Catania
        geodist Sicily Palermo nope
        geodist nokey a b
        georadius Sicily 15 37 200 km withdist withcoord withhash
        geosearch Sicily FROMLONLAT 15 37 BYRADIUS 200 km ASC WITHCOORD
        georadiusbymember Sicily Palermo 200 km withdist withcoord withhash desc
        geosearch nokey FROMLONLAT 15 37 BYRADIUS 200 km
    ";
    // Client ids differ: switch both without comparing HELLO's reply.
    b.cmd(&["hello", "3"]);
    r.cmd(&["hello", "3"]);
    same_both_encodings(&mut b, &mut r, script);
}

#[test]
fn geoadd_options_and_errors() {
    let (_bs, _rs, mut b, mut r) = pair(&[]);
    let script = "
        geoadd g 1 1 a
        geoadd g 181 0 x
        geoadd g -181 0 x
        geoadd g 0 86 x
        geoadd g 0 -85.06 x
        geoadd g inf 0 x
        geoadd g -inf 0 x
        geoadd g 0 inf x
        geoadd g 1e300 0 x
        geoadd g abc 0 x
        geoadd g 0 abc x
        geoadd g nan 0 x
        geoadd g 1e400 0 x
        geoadd g 0x10 0 hex
        geoadd g 1 2
        geoadd g 1 2 a 3
        geoadd g nx xx 1 2 x
        geoadd g xx nx 1 2 x
        geoadd g ch ch ch
        geoadd g nx nx nx
        geoadd g gt 1 2 x
        geoadd g lt 1 2
        geoadd g incr 1 2 x
        geoadd g ch 1 1 a 2 2 b
        geoadd g ch 1 1 a 2 2.5 b 3 3 c
        geoadd g 1 1 a 9 9 b 3 3 c
        geoadd g xx 5 5 a 6 6 new
        geoadd g xx ch 5 5 a 6 6 new
        geoadd g nx 7 7 a 8 8 new
        geoadd g nx ch 7 7 a 8 8 new2
        geoadd g ch xx nx 1 1 a
        geoadd g 1 1 dup 2 2 dup 3 3 dup
        geoadd g 180 85.05112878 e1 -180 -85.05112878 e2 180 -85.05112878 e3 -180 85.05112878 e4
        geoadd g 0 0 zero -0 -0 negzero
        zrange g 0 -1 withscores
        geopos g a b c new new2 dup e1 e2 e3 e4 zero negzero hex
        geohash g a b c new new2 dup e1 e2 e3 e4 zero negzero hex
        geodist g e1 e2
        geodist g e1 e4
        geodist g zero negzero
        geoadd g xx 1 1 nosuch
        zcard g
        geoadd newkey xx 1 1 a
        exists newkey
        set str x
        geoadd str 1 1 a
        geoadd str 181 1 a
        geopos str a
        geohash str a
        geodist str a b
        georadius str 1 1 1 km
        georadius str 181 1 1 km
        georadiusbymember str a 1 km
        geosearch str frommember a byradius 1 km
        geosearchstore dst str frommember a byradius 1 km
        geosearchstore str g frommember a byradius 1 km
        type str
        zrange str 0 -1
    ";
    same_both_encodings(&mut b, &mut r, script);
}

#[test]
fn search_argument_errors() {
    let (_bs, _rs, mut b, mut r) = pair(&[]);
    let script = "
        geoadd g 13.361389 38.115556 Palermo 15.087269 37.502669 Catania
        georadius g 15 37 -1 km
        georadius g 15 37 x km
        georadius g 15 37 1 kmx
        georadius g 15 37 1 KM
        georadius g 200 37 1 km
        georadius g 15 37 1 km count
        georadius g 15 37 1 km count 0
        georadius g 15 37 1 km count -3
        georadius g 15 37 1 km count x
        georadius g 15 37 1 km any
        georadius g 15 37 1 km withdist bogus
        georadius g 15 37 1 km store
        georadius g 15 37 1 km store dst withdist
        georadius g 15 37 1 km storedist dst withhash
        georadius g 15 37 1 km withcoord storedist dst
        georadius g 15 37 1 km frommember Palermo
        georadius g 15 37 1 km byradius 1 km
        georadius_ro g 15 37 1 km store dst
        georadius_ro g 15 37 1 km storedist dst
        georadiusbymember g nope 1 km
        georadiusbymember g Palermo -1 km
        georadiusbymember g Palermo 1 furlong
        georadiusbymember_ro g Palermo 1 km store x
        geosearch g fromlonlat 15 37
        geosearch g byradius 1 km
        geosearch g
        geosearch g frommember
        geosearch g frommember Palermo byradius 1
        geosearch g frommember nope byradius 1 km
        geosearch g fromlonlat 15 byradius 1 km
        geosearch g fromlonlat 15 91 byradius 1 km
        geosearch g fromlonlat x 37 byradius 1 km
        geosearch g frommember Palermo fromlonlat 15 37 byradius 1 km
        geosearch g fromlonlat 15 37 frommember Palermo byradius 1 km
        geosearch g frommember Palermo byradius 1 km bybox 1 1 km
        geosearch g frommember Palermo bybox 1 1 km byradius 1 km
        geosearch g frommember Palermo bybox -1 1 km
        geosearch g frommember Palermo bybox 1 -1 km
        geosearch g frommember Palermo bybox x 1 km
        geosearch g frommember Palermo bybox 1 x km
        geosearch g frommember Palermo bybox 1 1 parsec
        geosearch g frommember Palermo bybox 1 1
        geosearch g frommember Palermo byradius -1 km
        geosearch g frommember Palermo byradius x km
        geosearch g frommember Palermo byradius 1 km store dst
        geosearch g frommember Palermo byradius 1 km storedist
        geosearch g frommember Palermo byradius 1 km any
        geosearch g frommember Palermo byradius 1 km count 0
        GEOSEARCH g frommember Palermo
        GeoSearch g byradius 1 km
        geosearchstore dst g frommember Palermo
        geosearchstore dst g byradius 1 km
        geosearchstore dst g frommember Palermo byradius 1 km withdist
        geosearchstore dst g frommember Palermo byradius 1 km withcoord
        geosearchstore dst g frommember Palermo byradius 1 km store x
        geosearchstore dst g frommember Palermo byradius 1 km storedist x
        geosearch g frommember Palermo byradius 1 km withdist withdist asc desc asc
    ";
    same_both_encodings(&mut b, &mut r, script);
}

#[test]
fn store_and_storedist() {
    let (_bs, _rs, mut b, mut r) = pair(&[]);
    let script = "
        geoadd g 13.361389 38.115556 Palermo 15.087269 37.502669 Catania 13.5 38 x 14 37.8 y
        georadius g 15 37 200 km store dst
        zrange dst 0 -1 withscores
        object encoding dst
        georadius g 15 37 200 km storedist dst
        zrange dst 0 -1 withscores
        georadius g 15 37 200 km store dst count 2 desc
        zrange dst 0 -1 withscores
        georadius g 15 37 200 km storedist dst store dst2
        zrange dst2 0 -1 withscores
        exists dst
        georadiusbymember g Palermo 50 km storedist dst
        zrange dst 0 -1 withscores
        geosearchstore dst g fromlonlat 15 37 byradius 200 km
        zrange dst 0 -1 withscores
        geosearchstore dst g fromlonlat 15 37 byradius 200 km storedist count 3
        zrange dst 0 -1 withscores
        geosearchstore dst g fromlonlat 15 37 bybox 400 400 km storedist desc
        zrange dst 0 -1 withscores
        set dst string
        expire dst 100
        geosearchstore dst g frommember Palermo byradius 10 km
        ttl dst
        type dst
        zrange dst 0 -1 withscores
        geosearchstore dst g fromlonlat 0 0 byradius 1 km
        exists dst
        geosearchstore dst g fromlonlat 0 0 byradius 1 km
        geosearchstore dst nokey fromlonlat 0 0 byradius 1 km
        georadius g 0 0 1 km store dst
        georadius nokey 0 0 1 km store g
        exists g
        geoadd g 1 1 a
        georadiusbymember nokey a 1 km store g
        exists g
        geosearchstore g g fromlonlat 1 1 byradius 1 km
        zrange g 0 -1 withscores
        geosearchstore g g fromlonlat 1 1 byradius 1 km storedist
        zrange g 0 -1 withscores
    ";
    same_both_encodings(&mut b, &mut r, script);
    // A stored result takes the encoding its size calls for.
    same(&mut b, &mut r, "flushall");
    let mut args = s(&["geoadd", "big"]);
    for i in 0..300 {
        args.push(format!("{:.6}", 10.0 + i as f64 * 0.001));
        args.push("40".into());
        args.push(format!("m{i}"));
    }
    both(&mut b, &mut r, &args);
    same(
        &mut b,
        &mut r,
        "
        object encoding big
        geosearchstore d1 big fromlonlat 10 40 byradius 1 km
        object encoding d1
        geosearchstore d2 big fromlonlat 10 40 byradius 100 km
        object encoding d2
        zrange d2 0 5 withscores
        config set zset-max-listpack-entries 5
        geosearchstore d1 big fromlonlat 10 40 byradius 1 km
        object encoding d1
        config set zset-max-listpack-value 1
        geosearchstore d1 big fromlonlat 10 40 byradius 0.2 km
        object encoding d1
        ",
    );
}

#[test]
fn points_at_the_edges() {
    let (_bs, _rs, mut b, mut r) = pair(&[]);
    let script = "
        geoadd g 180 85.05112878 ne -180 -85.05112878 sw 180 -85.05112878 se -180 85.05112878 nw 0 0 o
        geoadd g 179.9999 0 east -179.9999 0 west 0 85 north 0 -85 south
        georadius g 180 0 100 km withdist withcoord
        georadius g -180 0 100 km withdist withcoord
        georadius g 0 85.05112878 1000 km withdist withcoord
        georadius g 0 -85.05112878 1000 km withdist withcoord
        georadius g 0 0 20000 km withdist asc
        georadius g 0 0 5000 km withdist asc
        georadius g 100 10 15000 km withdist desc
        geosearch g fromlonlat 180 85.05112878 bybox 40000 40000 km withdist withcoord asc
        geosearch g fromlonlat 0 0 bybox 0 0 km withdist
        geosearch g frommember o byradius 0 m withdist withhash
        geosearch g fromlonlat 0 0 bybox 100000 100000 km asc
        zadd weird -1 neg 0 zero 1e300 huge -1e300 nhuge inf pinf -inf ninf 9007199254740993 odd 1.5 frac
        geopos weird neg zero huge nhuge pinf ninf odd frac
        geohash weird neg zero huge nhuge pinf ninf odd frac
        geodist weird neg huge
        georadius weird 0 0 20000 km withcoord withhash withdist
        geosearch weird frommember neg byradius 100000 km withcoord withhash withdist
    ";
    same_both_encodings(&mut b, &mut r, script);
}

/// Random points, random searches of every kind, compared reply by reply.
fn random_run(b: &mut Raw, r: &mut Raw, seed: u64, points: usize, queries: usize) {
    let mut rng = Rng(seed);
    same(b, r, "flushall");
    for chunk in (0..points).collect::<Vec<_>>().chunks(100) {
        let mut args = s(&["geoadd", "pts"]);
        for &i in chunk {
            let (lon, lat) = match i % 4 {
                0 => (rng.uniform(10.0, 11.0), rng.uniform(40.0, 41.0)),
                1 => (rng.uniform(-180.0, 180.0), rng.uniform(80.0, 85.05)),
                2 => (rng.uniform(179.0, 180.0), rng.uniform(-85.05, 85.05)),
                _ => (rng.uniform(-180.0, 180.0), rng.uniform(-85.05, 85.05)),
            };
            args.push(format!("{lon:.6}"));
            args.push(format!("{lat:.6}"));
            args.push(format!("m{i}"));
        }
        both(b, r, &args);
    }
    // Ties: many members at one spot and at a second one nearby.
    let mut args = s(&["geoadd", "pts"]);
    for i in 0..20 {
        args.extend([10.5.to_string(), 40.5.to_string(), format!("t{i}")]);
        args.extend(["10.5001".to_string(), 40.5.to_string(), format!("u{i}")]);
    }
    both(b, r, &args);
    let radii = ["0", "1", "10", "50", "100", "500", "1000", "5000", "10000", "20000", "50000"];
    let units = ["km", "m", "mi", "ft"];
    let opts: &[&[&str]] = &[
        &[],
        &["ASC"],
        &["DESC"],
        &["COUNT", "5"],
        &["COUNT", "3", "DESC"],
        &["COUNT", "30"],
        &["COUNT", "7", "ANY"],
        &["COUNT", "2", "ANY", "ASC"],
    ];
    for q in 0..queries {
        let (lon, lat) = match q % 3 {
            0 => (rng.uniform(10.0, 11.0), rng.uniform(40.0, 41.0)),
            1 => (rng.uniform(-180.0, 180.0), rng.uniform(-85.05, 85.05)),
            _ => (10.5, 40.5),
        };
        let (lon, lat) = (format!("{lon:.5}"), format!("{lat:.5}"));
        let rad = rng.pick(&radii);
        let unit = rng.pick(&units);
        let o: Vec<String> = s(opts[(rng.next() % opts.len() as u64) as usize]);
        let mut a = s(&["georadius", "pts", &lon, &lat, rad, unit, "withdist", "withhash", "withcoord"]);
        a.extend(o.iter().cloned());
        both(b, r, &a);
        let (w, h) = (rng.pick(&radii), rng.pick(&radii));
        let mut a =
            s(&["geosearch", "pts", "fromlonlat", &lon, &lat, "bybox", w, h, unit, "withdist", "withcoord"]);
        a.extend(o.iter().cloned());
        both(b, r, &a);
        let member = format!("m{}", rng.next() % points as u64);
        let mut a = s(&["geosearch", "pts", "frommember", &member, "byradius", rad, unit, "withdist"]);
        a.extend(o.iter().cloned());
        both(b, r, &a);
        let mut a = s(&["georadius", "pts", &lon, &lat, rad, unit, "storedist", "sd"]);
        a.extend(o.iter().filter(|x| *x != "ANY").cloned());
        both(b, r, &a);
        both(b, r, &s(&["zrange", "sd", "0", "-1", "withscores"]));
        let other = format!("m{}", rng.next() % points as u64);
        both(b, r, &s(&["geodist", "pts", &member, &other, unit]));
        both(b, r, &s(&["geopos", "pts", &member, &other]));
        both(b, r, &s(&["geohash", "pts", &member, &other]));
    }
}

#[test]
fn random_searches_big_encoding() {
    let (_bs, _rs, mut b, mut r) = pair(&[]);
    random_run(&mut b, &mut r, 0x9E3779B97F4A7C15, 2000, 300);
}

#[test]
fn random_searches_small_encoding() {
    let (_bs, _rs, mut b, mut r) = pair(&[]);
    random_run(&mut b, &mut r, 12345, 100, 200);
    same(&mut b, &mut r, "object encoding pts");
}

#[test]
fn geo_sets_are_sorted_sets() {
    let (_bs, _rs, mut b, mut r) = pair(&[]);
    let script = "
        geoadd g 13.361389 38.115556 Palermo 15.087269 37.502669 Catania
        type g
        zcard g
        zscore g Palermo
        zrem g Palermo
        geopos g Palermo Catania
        zadd g 3479099956230698 Palermo
        geopos g Palermo
        zrem g Palermo Catania
        exists g
        geoadd g 1 1 a
        zincrby g 1 a
        geopos g a
    ";
    same_both_encodings(&mut b, &mut r, script);
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
    c.cmd(&["geoadd", "marker", "1", "1", "m"]);
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
        geoadd g 13.361389 38.115556 Palermo 15.087269 37.502669 Catania
        geoadd g 13.361389 38.115556 Palermo
        geoadd g xx 1 1 nosuch
        geoadd g ch 1 1 Palermo
        georadius g 15 37 200 km store dst
        georadius g 15 37 200 km storedist dst
        geosearchstore dst2 g fromlonlat 15 37 byradius 200 km
        geosearchstore dst2 g fromlonlat 0 0 byradius 1 km
        geosearchstore dst2 g fromlonlat 0 0 byradius 1 km
        georadius nokey 0 0 1 km store dst
        geosearch g fromlonlat 15 37 byradius 200 km
    ";
    let brim = common::Server::start(&[]);
    let redis = common::Server::redis(&[]);
    assert_eq!(events(&brim, script), events(&redis, script));
}

#[test]
fn stored_results_wake_blocked_clients() {
    for server in [common::Server::start(&[]), common::Server::redis(&[])] {
        let mut c = server.raw();
        c.cmd(&["geoadd", "g", "13.361389", "38.115556", "Palermo", "15.087269", "37.502669", "Catania"]);
        let mut blocked = server.raw();
        blocked.send(&encode(&[b"bzpopmin", b"dst", b"5"]));
        std::thread::sleep(std::time::Duration::from_millis(200));
        assert_eq!(
            c.cmd_str(&[
                "geosearchstore",
                "dst",
                "g",
                "fromlonlat",
                "15",
                "37",
                "byradius",
                "200",
                "km",
                "storedist"
            ]),
            ":2\r\n"
        );
        assert_eq!(
            String::from_utf8_lossy(&blocked.read_reply()),
            "*3\r\n$3\r\ndst\r\n$7\r\nCatania\r\n$18\r\n56.441257870158204\r\n"
        );
    }
}
