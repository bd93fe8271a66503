//! The geo family, with Redis 7.0.15's semantics, replies and error texts: GEOADD, GEOPOS,
//! GEODIST, GEOHASH, GEOSEARCH, GEOSEARCHSTORE, GEORADIUS, GEORADIUSBYMEMBER and their
//! `_RO` variants.
//!
//! A geo set is a sorted set whose scores are 52-bit geohashes (see [`hash`], a port of
//! Redis's `geohash.c` and `geohash_helper.c`), so it lives in either sorted-set encoding
//! and every ZSET command works on it. GEOADD is ZADD with computed scores
//! (`crate::zsets::add_members`); searches walk the score ranges of the nine geohash cells
//! around the centre exactly as Redis's `georadiusGeneric` does (same cells, same order,
//! same ANY cut-off, same duplicates when a huge radius makes a neighbour equal the centre)
//! and sort with ports of glibc's `qsort` (a stable merge sort) and Redis's `pqsort`, so
//! ties come out in Redis's order. Numbers are printed by the C library as Redis prints
//! them: distances `%.4f`, coordinates `%.17Lf` without trailing zeros.
//!
//! Every command runs under its keys' stripe locks (source and destination together for
//! the STORE forms), so it is atomic.

pub mod hash;

use std::ffi::CStr;

use brim_engine::zset::{cmp_key, ScoreRange, ZRef};
use brim_resp::Reply;

use crate::args::{is, parse_i64, NOT_FLOAT, NOT_INTEGER, SYNTAX, WRONGTYPE};
use crate::ctx::Ctx;
use crate::notify::{class, key_ready, keyspace_event};
use crate::sort::{glibc_qsort, pqsort};
use crate::table::{cmd, Registration};
use crate::zsets::{self, AddError, AddFlags, Lookup};
use hash::{Kind, Shape};

/// The geo family.
pub const COMMANDS: &[Registration] = &[
    cmd("geoadd", geoadd),
    cmd("geopos", geopos),
    cmd("geodist", geodist),
    cmd("geohash", geohash),
    cmd("geosearch", geosearch),
    cmd("geosearchstore", geosearchstore),
    cmd("georadius", georadius),
    cmd("georadius_ro", georadius_ro),
    cmd("georadiusbymember", georadiusbymember),
    cmd("georadiusbymember_ro", georadiusbymember_ro),
];

/// `ERR could not decode requested zset member`.
const NO_MEMBER: &str = "ERR could not decode requested zset member";

// ---------------------------------------------------------------------------------------
// Number formatting through the C library, as Redis does it.
// ---------------------------------------------------------------------------------------

/// `snprintf(fmt, v)` for a format taking one double.
fn c_format(fmt: &CStr, v: f64) -> String {
    let mut buf = vec![0u8; 64];
    loop {
        // SAFETY: `buf` is writable for `buf.len()` bytes; the format takes exactly one
        // double argument.
        let n = unsafe { libc::snprintf(buf.as_mut_ptr().cast(), buf.len(), fmt.as_ptr(), v) };
        let Ok(n) = usize::try_from(n) else { return String::new() };
        if n < buf.len() {
            buf.truncate(n);
            return String::from_utf8_lossy(&buf).into_owned();
        }
        buf.resize(n + 1, 0);
    }
}

/// Redis's `addReplyDoubleDistance` text: `%.4f`.
pub fn distance_text(d: f64) -> String {
    c_format(c"%.4f", d)
}

/// Redis's `ld2string(.., LD_STR_HUMAN)` of a double: `%.17Lf` with trailing zeros (and a
/// trailing dot) removed, `-0` printed as `0`.
pub fn human_text(d: f64) -> String {
    if d.is_infinite() {
        return if d > 0.0 { "inf".into() } else { "-inf".into() };
    }
    let mut s = c_format(c"%.17f", d);
    if s.contains('.') {
        while s.ends_with('0') {
            s.pop();
        }
        if s.ends_with('.') {
            s.pop();
        }
    }
    if s == "-0" {
        s = "0".into();
    }
    s
}

/// Redis's `addReplyHumanLongDouble`: a bulk string in RESP2, a double in RESP3.
fn write_human(out: &mut Reply, d: f64) {
    let text = human_text(d);
    if out.is_resp3() {
        out.raw(b",");
        out.raw(text.as_bytes());
        out.raw(b"\r\n");
    } else {
        out.bulk(text.as_bytes());
    }
}

/// Write a longitude, latitude pair.
fn write_coords(out: &mut Reply, xy: [f64; 2]) {
    out.array(2);
    write_human(out, xy[0]);
    write_human(out, xy[1]);
}

// ---------------------------------------------------------------------------------------
// Argument parsing.
// ---------------------------------------------------------------------------------------

/// Parse a longitude, latitude pair as `extractLongLatOrReply`, writing the error reply on
/// failure.
fn parse_lon_lat(ctx: &mut Ctx, lon: &[u8], lat: &[u8]) -> Option<[f64; 2]> {
    let mut xy = [0.0; 2];
    for (slot, arg) in xy.iter_mut().zip([lon, lat]) {
        match zsets::parse_score(arg) {
            Some(v) => *slot = v,
            None => {
                ctx.error(NOT_FLOAT);
                return None;
            }
        }
    }
    let [x, y] = xy;
    if !(hash::LONG_MIN..=hash::LONG_MAX).contains(&x) || !(hash::LAT_MIN..=hash::LAT_MAX).contains(&y) {
        let msg =
            format!("ERR invalid longitude,latitude pair {},{}", c_format(c"%f", x), c_format(c"%f", y));
        ctx.error(&msg);
        return None;
    }
    Some(xy)
}

/// Meters per unit (`extractUnitOrReply`), writing the error reply on failure.
fn parse_unit(ctx: &mut Ctx, arg: &[u8]) -> Option<f64> {
    let u = crate::args::c_str(arg);
    let f = if is(u, "m") {
        1.0
    } else if is(u, "km") {
        1000.0
    } else if is(u, "ft") {
        0.3048
    } else if is(u, "mi") {
        1609.34
    } else {
        ctx.error("ERR unsupported unit provided. please use M, KM, FT, MI");
        return None;
    };
    Some(f)
}

/// A double argument as `getDoubleFromObjectOrReply` with a custom message.
fn parse_double_or(ctx: &mut Ctx, arg: &[u8], msg: &str) -> Option<f64> {
    let v = zsets::parse_score(arg);
    if v.is_none() {
        ctx.error(msg);
    }
    v
}

/// `extractDistanceOrReply`: radius and meters per unit.
fn parse_radius(ctx: &mut Ctx, radius: &[u8], unit: &[u8]) -> Option<(f64, f64)> {
    let r = parse_double_or(ctx, radius, "ERR need numeric radius")?;
    if r < 0.0 {
        ctx.error("ERR radius cannot be negative");
        return None;
    }
    let conv = parse_unit(ctx, unit)?;
    Some((r, conv))
}

/// `extractBoxOrReply`: width, height and meters per unit.
fn parse_box(ctx: &mut Ctx, w: &[u8], h: &[u8], unit: &[u8]) -> Option<(f64, f64, f64)> {
    let w = parse_double_or(ctx, w, "ERR need numeric width")?;
    let h = parse_double_or(ctx, h, "ERR need numeric height")?;
    if h < 0.0 || w < 0.0 {
        ctx.error("ERR height or width cannot be negative");
        return None;
    }
    let conv = parse_unit(ctx, unit)?;
    Some((w, h, conv))
}

// ---------------------------------------------------------------------------------------
// GEOADD.
// ---------------------------------------------------------------------------------------

/// GEOADD key [NX|XX] [CH] longitude latitude member [...]
fn geoadd(ctx: &mut Ctx, args: &[&[u8]]) {
    let (mut nx, mut xx, mut ch) = (false, false, false);
    let mut i = 2;
    while i < args.len() {
        let a = args[i];
        if zsets::opt(a, "nx") {
            nx = true;
        } else if zsets::opt(a, "xx") {
            xx = true;
        } else if zsets::opt(a, "ch") {
            ch = true;
        } else {
            break;
        }
        i += 1;
    }
    let rest = args.get(i..).unwrap_or_default();
    if rest.len() % 3 != 0 || (xx && nx) {
        ctx.error(SYNTAX);
        return;
    }
    let mut scores = Vec::with_capacity(rest.len() / 3);
    for t in rest.chunks_exact(3) {
        let Some(xy) = parse_lon_lat(ctx, t[0], t[1]) else { return };
        let bits = hash::encode_score(xy[0], xy[1]).unwrap_or(0);
        scores.push((bits as f64, t[2]));
    }
    if scores.is_empty() {
        ctx.error(SYNTAX);
        return;
    }
    let key = args[1];
    let flags = AddFlags { nx, xx, ..AddFlags::default() };
    let db = ctx.db();
    let mut s = db.lock(key);
    let res = zsets::add_members(ctx, &mut s, key, flags, &scores);
    drop(s);
    match res {
        Ok(o) => {
            ctx.out.int((if ch { o.added + o.updated } else { o.added }) as i64);
            zsets::add_notify(ctx, key, flags, &o);
        }
        Err((AddError::WrongType, _)) => ctx.error(WRONGTYPE),
        Err((AddError::Nan, o)) => {
            ctx.error(zsets::NAN_SCORE);
            zsets::add_notify(ctx, key, flags, &o);
        }
    }
}

// ---------------------------------------------------------------------------------------
// GEOPOS, GEODIST, GEOHASH.
// ---------------------------------------------------------------------------------------

/// Run `f` with the geo set at `key` (`None` when missing) after a read lookup, or reply
/// WRONGTYPE.
fn read_geo(ctx: &mut Ctx, key: &[u8], f: impl FnOnce(&mut Ctx, Option<ZRef<'_>>)) {
    let db = ctx.db();
    let mut s = db.lock(key);
    match zsets::lookup_read(ctx, &mut s, key) {
        Lookup::WrongType => ctx.error(WRONGTYPE),
        Lookup::Missing => f(ctx, None),
        Lookup::Found(z) => f(ctx, Some(z)),
    }
}

/// GEOPOS key [member ...]
fn geopos(ctx: &mut Ctx, args: &[&[u8]]) {
    let members = args.get(2..).unwrap_or_default();
    read_geo(ctx, args[1], |ctx, z| {
        ctx.out.array(members.len());
        for m in members {
            match z.and_then(|z| z.score(m)) {
                Some(score) => write_coords(ctx.out, hash::decode_score(score)),
                None => ctx.out.null_array(),
            }
        }
    });
}

/// GEODIST key member1 member2 [M|KM|FT|MI]
fn geodist(ctx: &mut Ctx, args: &[&[u8]]) {
    let mut to_meter = 1.0;
    if args.len() == 5 {
        let Some(u) = parse_unit(ctx, args[4]) else { return };
        to_meter = u;
    } else if args.len() > 5 {
        ctx.error(SYNTAX);
        return;
    }
    let (m1, m2) = (args[2], args[3]);
    read_geo(ctx, args[1], |ctx, z| {
        let Some(z) = z else {
            ctx.out.null();
            return;
        };
        match (z.score(m1), z.score(m2)) {
            (Some(s1), Some(s2)) => {
                let a = hash::decode_score(s1);
                let b = hash::decode_score(s2);
                let d = hash::distance(a[0], a[1], b[0], b[1]) / to_meter;
                ctx.out.bulk(distance_text(d).as_bytes());
            }
            _ => ctx.out.null(),
        }
    });
}

/// GEOHASH key [member ...]
fn geohash(ctx: &mut Ctx, args: &[&[u8]]) {
    let members = args.get(2..).unwrap_or_default();
    read_geo(ctx, args[1], |ctx, z| {
        ctx.out.array(members.len());
        for m in members {
            match z.and_then(|z| z.score(m)) {
                Some(score) => ctx.out.bulk(&hash::standard_geohash(score)),
                None => ctx.out.null(),
            }
        }
    });
}

// ---------------------------------------------------------------------------------------
// Searching.
// ---------------------------------------------------------------------------------------

/// A point found by a search (Redis's `geoPoint`).
#[derive(Debug, Clone, PartialEq)]
pub struct Point {
    /// Decoded longitude.
    pub lon: f64,
    /// Decoded latitude.
    pub lat: f64,
    /// Distance from the centre, in meters (in the query's unit once replied).
    pub dist: f64,
    /// The stored score (the geohash).
    pub score: f64,
    /// The member.
    pub member: Vec<u8>,
}

/// The points of `z` inside `shape`, in Redis's order (cell by cell, ascending scores
/// within a cell). With `limit` > 0 (ANY) it stops as soon as that many were found.
pub fn search(z: ZRef<'_>, shape: &Shape, limit: usize) -> Vec<Point> {
    let cells = hash::areas_by_shape(shape);
    let seq = z.seq();
    let mut out: Vec<Point> = Vec::new();
    let full = |out: &Vec<Point>| !out.is_empty() && limit > 0 && out.len() >= limit;
    let mut last_processed = 0;
    for (i, cell) in cells.iter().enumerate() {
        if cell.is_zero() {
            continue;
        }
        // Redis never compares against the centre cell (`last_processed` 0 is "none").
        if last_processed != 0 && cells.get(last_processed) == Some(cell) {
            continue;
        }
        if full(&out) {
            break;
        }
        let (min, max) = hash::cell_scores(*cell);
        let range = ScoreRange { min, max, minex: false, maxex: true };
        if let Some(first) = seq.first_in_score(&range) {
            seq.walk(first, false, |m, score| {
                if !range.lte_max(score) {
                    return false;
                }
                let xy = hash::decode_score(score);
                if let Some(dist) = hash::within(shape, xy) {
                    out.push(Point { lon: xy[0], lat: xy[1], dist, score, member: m.to_vec() });
                }
                !full(&out)
            });
        }
        last_processed = i;
    }
    out
}

/// Order of results.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Order {
    None,
    Asc,
    Desc,
}

/// Which command variant runs `georadius_generic` (Redis's flags).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Variant {
    /// GEORADIUS[_RO]: centre from arguments 2 and 3.
    Coords { store: bool },
    /// GEORADIUSBYMEMBER[_RO]: centre from a member.
    Member { store: bool },
    /// GEOSEARCH.
    Search,
    /// GEOSEARCHSTORE.
    SearchStore,
}

impl Variant {
    fn accepts_store(self) -> bool {
        matches!(self, Variant::Coords { store: true } | Variant::Member { store: true })
    }

    fn is_search(self) -> bool {
        matches!(self, Variant::Search | Variant::SearchStore)
    }
}

/// Everything a search command asked for.
struct Query<'a> {
    shape: Shape,
    withdist: bool,
    withhash: bool,
    withcoord: bool,
    order: Order,
    any: bool,
    count: i64,
    store: Option<&'a [u8]>,
    storedist: bool,
}

/// Parse the arguments of a search against the source set `z` as `georadiusGeneric` does,
/// in its order, writing the first error reply. `None` after an error.
fn parse_query<'a>(ctx: &mut Ctx, args: &[&'a [u8]], v: Variant, z: Option<ZRef<'_>>) -> Option<Query<'a>> {
    let mut shape = Shape { xy: [0.0; 2], conversion: 0.0, kind: Kind::Circle { radius: 0.0 } };
    let mut store = None;
    let base = match v {
        Variant::Coords { .. } => {
            shape.xy = parse_lon_lat(ctx, args[2], args[3])?;
            let (radius, conv) = parse_radius(ctx, args[4], args[5])?;
            shape.conversion = conv;
            shape.kind = Kind::Circle { radius };
            6
        }
        Variant::Member { .. } => {
            if let Some(z) = z {
                let Some(score) = z.score(args[2]) else {
                    ctx.error(NO_MEMBER);
                    return None;
                };
                shape.xy = hash::decode_score(score);
                let (radius, conv) = parse_radius(ctx, args[3], args[4])?;
                shape.conversion = conv;
                shape.kind = Kind::Circle { radius };
            }
            5
        }
        Variant::Search => 2,
        Variant::SearchStore => {
            store = Some(args[1]);
            3
        }
    };
    let (mut withdist, mut withhash, mut withcoord) = (false, false, false);
    let (mut frommember, mut fromloc, mut byradius, mut bybox) = (false, false, false, false);
    let mut order = Order::None;
    let mut any = false;
    let mut count: i64 = 0;
    let mut storedist = false;
    let opts = args.get(base..).unwrap_or_default();
    let remaining = opts.len();
    let mut i = 0;
    while i < remaining {
        let a = opts[i];
        let o = |w: &str| zsets::opt(a, w);
        if o("withdist") {
            withdist = true;
        } else if o("withhash") {
            withhash = true;
        } else if o("withcoord") {
            withcoord = true;
        } else if o("any") {
            any = true;
        } else if o("asc") {
            order = Order::Asc;
        } else if o("desc") {
            order = Order::Desc;
        } else if o("count") && i + 1 < remaining {
            let Some(n) = parse_i64(opts[i + 1]) else {
                ctx.error(NOT_INTEGER);
                return None;
            };
            if n <= 0 {
                ctx.error("ERR COUNT must be > 0");
                return None;
            }
            count = n;
            i += 1;
        } else if (o("store") || o("storedist")) && i + 1 < remaining && v.accepts_store() {
            store = Some(opts[i + 1]);
            storedist = o("storedist");
            i += 1;
        } else if o("storedist") && v == Variant::SearchStore {
            storedist = true;
        } else if o("frommember") && i + 1 < remaining && v.is_search() && !fromloc {
            if let Some(z) = z {
                let Some(score) = z.score(opts[i + 1]) else {
                    ctx.error(NO_MEMBER);
                    return None;
                };
                shape.xy = hash::decode_score(score);
            }
            frommember = true;
            i += 1;
        } else if o("fromlonlat") && i + 2 < remaining && v.is_search() && !frommember {
            shape.xy = parse_lon_lat(ctx, opts[i + 1], opts[i + 2])?;
            fromloc = true;
            i += 2;
        } else if o("byradius") && i + 2 < remaining && v.is_search() && !bybox {
            let (radius, conv) = parse_radius(ctx, opts[i + 1], opts[i + 2])?;
            shape.conversion = conv;
            shape.kind = Kind::Circle { radius };
            byradius = true;
            i += 2;
        } else if o("bybox") && i + 3 < remaining && v.is_search() && !byradius {
            let (width, height, conv) = parse_box(ctx, opts[i + 1], opts[i + 2], opts[i + 3])?;
            shape.conversion = conv;
            shape.kind = Kind::Rect { width, height };
            bybox = true;
            i += 3;
        } else {
            ctx.error(SYNTAX);
            return None;
        }
        i += 1;
    }
    if store.is_some() && (withdist || withhash || withcoord) {
        let what = if v == Variant::SearchStore { "GEOSEARCHSTORE" } else { "STORE option in GEORADIUS" };
        ctx.error(&format!("ERR {what} is not compatible with WITHDIST, WITHHASH and WITHCOORD options"));
        return None;
    }
    let name = String::from_utf8_lossy(crate::args::c_str(args[0])).into_owned();
    if v.is_search() && !(frommember || fromloc) {
        ctx.error(&format!("ERR exactly one of FROMMEMBER or FROMLONLAT can be specified for {name}"));
        return None;
    }
    if v.is_search() && !(byradius || bybox) {
        ctx.error(&format!("ERR exactly one of BYRADIUS and BYBOX can be specified for {name}"));
        return None;
    }
    if any && count == 0 {
        ctx.error("ERR the ANY argument requires COUNT argument");
        return None;
    }
    Some(Query { shape, withdist, withhash, withcoord, order, any, count, store, storedist })
}

/// Redis's `sort_gp_asc`.
fn cmp_dist(a: &Point, b: &Point) -> i32 {
    if a.dist > b.dist {
        1
    } else if a.dist == b.dist {
        0
    } else {
        -1
    }
}

/// What the search found, ready to reply or store.
struct Found {
    points: Vec<Point>,
    returned: usize,
}

/// Run the search of `q` on `z` and order the results as Redis does.
fn run_query(z: ZRef<'_>, q: &mut Query) -> Found {
    if q.count != 0 && q.order == Order::None && !q.any {
        q.order = Order::Asc;
    }
    let limit = if q.any { usize::try_from(q.count).unwrap_or(usize::MAX) } else { 0 };
    let mut points = search(z, &q.shape, limit);
    let len = points.len();
    let returned = match usize::try_from(q.count) {
        Ok(c) if c != 0 && c < len => c,
        _ => len,
    };
    let cmp: fn(&Point, &Point) -> i32 = match q.order {
        Order::Desc => |a, b| -cmp_dist(a, b),
        _ => cmp_dist,
    };
    if q.order != Order::None {
        if returned == len {
            glibc_qsort(&mut points, cmp);
        } else {
            pqsort(&mut points, cmp, 0, returned as i64 - 1);
        }
    }
    for p in points.iter_mut().take(returned) {
        p.dist /= q.shape.conversion;
    }
    points.truncate(returned);
    Found { points, returned }
}

/// Reply with the points found.
fn write_found(out: &mut Reply, q: &Query, f: &Found) {
    let options = q.withdist as usize + q.withcoord as usize + q.withhash as usize;
    out.array(f.returned);
    for p in &f.points {
        if options > 0 {
            out.array(options + 1);
        }
        out.bulk(&p.member);
        if q.withdist {
            out.bulk(distance_text(p.dist).as_bytes());
        }
        if q.withhash {
            out.int(p.score as i64);
        }
        if q.withcoord {
            write_coords(out, [p.lon, p.lat]);
        }
    }
}

/// The sorted set a STORE search writes: distinct members (Redis would assert on a
/// duplicate), in (score, member) order.
fn store_pairs(f: &Found, storedist: bool) -> Vec<(Vec<u8>, f64)> {
    let mut seen = std::collections::HashSet::with_capacity(f.points.len());
    let mut pairs: Vec<(Vec<u8>, f64)> = f
        .points
        .iter()
        .filter(|p| seen.insert(p.member.as_slice()))
        .map(|p| (p.member.clone(), if storedist { p.dist } else { p.score }))
        .collect();
    pairs.sort_by(|a, b| cmp_key(a.1, &a.0, b.1, &b.0));
    pairs
}

/// Redis's `georadiusGeneric`: the source key is `args[src]`.
fn georadius_generic(ctx: &mut Ctx, args: &[&[u8]], src: usize, v: Variant) {
    let Some(&key) = args.get(src) else {
        ctx.error(SYNTAX);
        return;
    };
    // The destination (if any) is only known after parsing; lock every key the command
    // could write together with the source, so the whole command is atomic.
    let mut keys: Vec<&[u8]> = vec![key];
    if v == Variant::SearchStore {
        keys.push(args[1]);
    }
    if v.accepts_store() {
        let base = if matches!(v, Variant::Coords { .. }) { 6 } else { 5 };
        let opts = args.get(base..).unwrap_or_default();
        for (i, a) in opts.iter().enumerate() {
            if zsets::opt(a, "store") || zsets::opt(a, "storedist") {
                if let Some(k) = opts.get(i + 1) {
                    keys.push(k);
                }
            }
        }
    }
    let db = ctx.db();
    let mut locks = db.lock_keys(keys.iter().copied());
    let src_stripe = locks.stripe(key);
    let z = match zsets::lookup_read(ctx, src_stripe, key) {
        Lookup::WrongType => {
            drop(locks);
            ctx.error(WRONGTYPE);
            return;
        }
        Lookup::Missing => None,
        Lookup::Found(z) => Some(z),
    };
    let Some(mut q) = parse_query(ctx, args, v, z) else { return };
    let Some(z) = z else {
        match q.store {
            Some(dst) => {
                let deleted = locks.stripe(dst).remove(dst, &ctx.acc);
                drop(locks);
                ctx.out.int(0);
                if deleted {
                    keyspace_event(ctx, class::GENERIC, "del", dst);
                }
            }
            None => ctx.out.array(0),
        }
        return;
    };
    let found = run_query(z, &mut q);
    let Some(dst) = q.store else {
        drop(locks);
        write_found(ctx.out, &q, &found);
        return;
    };
    let pairs = store_pairs(&found, q.storedist);
    let deleted = zsets::store(ctx, locks.stripe(dst), dst, &pairs);
    drop(locks);
    ctx.out.int(found.returned as i64);
    if !pairs.is_empty() {
        let event = if v.is_search() { "geosearchstore" } else { "georadiusstore" };
        keyspace_event(ctx, class::ZSET, event, dst);
        key_ready(ctx, dst);
    } else if deleted {
        keyspace_event(ctx, class::GENERIC, "del", dst);
    }
}

/// GEORADIUS key longitude latitude radius unit [options]
fn georadius(ctx: &mut Ctx, args: &[&[u8]]) {
    georadius_generic(ctx, args, 1, Variant::Coords { store: true })
}

/// GEORADIUS_RO key longitude latitude radius unit [options]
fn georadius_ro(ctx: &mut Ctx, args: &[&[u8]]) {
    georadius_generic(ctx, args, 1, Variant::Coords { store: false })
}

/// GEORADIUSBYMEMBER key member radius unit [options]
fn georadiusbymember(ctx: &mut Ctx, args: &[&[u8]]) {
    georadius_generic(ctx, args, 1, Variant::Member { store: true })
}

/// GEORADIUSBYMEMBER_RO key member radius unit [options]
fn georadiusbymember_ro(ctx: &mut Ctx, args: &[&[u8]]) {
    georadius_generic(ctx, args, 1, Variant::Member { store: false })
}

/// GEOSEARCH key FROMMEMBER m | FROMLONLAT lon lat BYRADIUS r unit | BYBOX w h unit [...]
fn geosearch(ctx: &mut Ctx, args: &[&[u8]]) {
    georadius_generic(ctx, args, 1, Variant::Search)
}

/// GEOSEARCHSTORE dst src ... [STOREDIST]
fn geosearchstore(ctx: &mut Ctx, args: &[&[u8]]) {
    georadius_generic(ctx, args, 2, Variant::SearchStore)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_format_trims_zeros() {
        assert_eq!(human_text(13.361389338970184), "13.36138933897018433");
        assert_eq!(human_text(1.5), "1.5");
        assert_eq!(human_text(2.0), "2");
        assert_eq!(human_text(-0.0), "0");
        assert_eq!(distance_text(166274.15156960033), "166274.1516");
        assert_eq!(c_format(c"%f", 181.0), "181.000000");
        assert_eq!(c_format(c"%f", f64::INFINITY), "inf");
        assert_eq!(c_format(c"%f", 1e300).len(), 308);
    }

    #[test]
    fn search_finds_points_in_both_encodings() {
        let mut pairs: Vec<(Vec<u8>, f64)> =
            [("Palermo", 13.361389, 38.115556), ("Catania", 15.087269, 37.502669)]
                .iter()
                .map(|(m, x, y)| (m.as_bytes().to_vec(), hash::encode_score(*x, *y).unwrap_or(0) as f64))
                .collect();
        pairs.sort_by(|a, b| cmp_key(a.1, &a.0, b.1, &b.0));
        let big = brim_engine::zset::ZSet::from_sorted(&pairs);
        let shape = Shape { xy: [15.0, 37.0], conversion: 1000.0, kind: Kind::Circle { radius: 200.0 } };
        let found = search(ZRef::Big(&big), &shape, 0);
        let names: Vec<&[u8]> = found.iter().map(|p| p.member.as_slice()).collect();
        assert_eq!(names, vec![&b"Palermo"[..], b"Catania"]);
        assert_eq!(distance_text(found[0].dist / 1000.0), "190.4424");
        assert_eq!(distance_text(found[1].dist / 1000.0), "56.4413");
        let small = brim_engine::zset::ZSet::from_sorted(&pairs[..1]);
        assert_eq!(search(ZRef::Big(&small), &shape, 0).len(), 1);
        assert_eq!(search(ZRef::Big(&big), &shape, 1).len(), 1);
    }
}
