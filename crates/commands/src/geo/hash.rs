//! The geohash math of Redis 7.0.15 (`geohash.c`, `geohash_helper.c`), ported operation
//! for operation so that scores, decoded coordinates, search areas and distances are the
//! same doubles Redis computes (x86-64 SSE2 doubles, glibc's `sin`/`cos`/`asin`/`sqrt`,
//! which is what Rust's `f64` methods call on Linux).
//!
//! A point is stored as a sorted-set score: its longitude and latitude each quantized to
//! 26 bits over `-180..180` and `-85.05112878..85.05112878` (the Web Mercator limits) and
//! interleaved, latitude in the even bits, longitude in the odd ones (52 bits). Decoding
//! gives the centre of the cell.

/// Bits of precision per coordinate of a stored point.
pub const STEP_MAX: u8 = 26;
/// Smallest latitude a point can have.
pub const LAT_MIN: f64 = -85.05112878;
/// Largest latitude a point can have.
pub const LAT_MAX: f64 = 85.05112878;
/// Smallest longitude.
pub const LONG_MIN: f64 = -180.0;
/// Largest longitude.
pub const LONG_MAX: f64 = 180.0;
/// Earth's quadratic mean radius for WGS-84, as Redis uses it.
pub const EARTH_RADIUS_IN_METERS: f64 = 6372797.560856;
/// Half the equator's length in Web Mercator meters.
const MERCATOR_MAX: f64 = 20037726.37;
/// `M_PI / 180.0`.
const D_R: f64 = std::f64::consts::PI / 180.0;

/// A geohash: `step` bits per coordinate, interleaved in `bits`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct HashBits {
    /// The interleaved bits.
    pub bits: u64,
    /// Bits per coordinate (0 marks an excluded neighbour).
    pub step: u8,
}

impl HashBits {
    /// Redis's `HASHISZERO`.
    pub fn is_zero(&self) -> bool {
        self.bits == 0 && self.step == 0
    }
}

/// A coordinate interval.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Range {
    /// Lower end.
    pub min: f64,
    /// Upper end.
    pub max: f64,
}

/// The cell a geohash stands for.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Area {
    /// Longitudes of the cell.
    pub longitude: Range,
    /// Latitudes of the cell.
    pub latitude: Range,
}

/// The shape of a search.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Kind {
    /// BYRADIUS: a radius, in the query's unit.
    Circle {
        /// Radius.
        radius: f64,
    },
    /// BYBOX: width and height, in the query's unit.
    Rect {
        /// Width.
        width: f64,
        /// Height.
        height: f64,
    },
}

/// A search area: centre, shape and unit (Redis's `GeoShape`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Shape {
    /// Longitude, latitude of the centre.
    pub xy: [f64; 2],
    /// Meters per unit of the shape's sizes.
    pub conversion: f64,
    /// Circle or box.
    pub kind: Kind,
}

/// The nine cells a search covers: the centre's cell and its neighbours (zero where Redis
/// excludes one), in Redis's order: centre, N, S, E, W, NE, NW, SE, SW.
pub type Cells = [HashBits; 9];

fn interleave64(xlo: u32, ylo: u32) -> u64 {
    const B: [u64; 5] =
        [0x5555555555555555, 0x3333333333333333, 0x0F0F0F0F0F0F0F0F, 0x00FF00FF00FF00FF, 0x0000FFFF0000FFFF];
    const S: [u32; 5] = [1, 2, 4, 8, 16];
    let mut x = xlo as u64;
    let mut y = ylo as u64;
    for i in (0..5).rev() {
        x = (x | (x << S[i])) & B[i];
        y = (y | (y << S[i])) & B[i];
    }
    x | (y << 1)
}

fn deinterleave64(interleaved: u64) -> u64 {
    const B: [u64; 6] = [
        0x5555555555555555,
        0x3333333333333333,
        0x0F0F0F0F0F0F0F0F,
        0x00FF00FF00FF00FF,
        0x0000FFFF0000FFFF,
        0x00000000FFFFFFFF,
    ];
    const S: [u32; 6] = [0, 1, 2, 4, 8, 16];
    let mut x = interleaved;
    let mut y = interleaved >> 1;
    for i in 0..6 {
        x = (x | (x >> S[i])) & B[i];
        y = (y | (y >> S[i])) & B[i];
    }
    x | (y << 32)
}

/// The Mercator-limited ranges (`geohashGetCoordRange`).
pub fn coord_range() -> (Range, Range) {
    (Range { min: LONG_MIN, max: LONG_MAX }, Range { min: LAT_MIN, max: LAT_MAX })
}

/// C's conversion of a double in `0..=2^32` to `uint32_t` (truncation).
fn to_u32(v: f64) -> u32 {
    v as u32
}

/// `geohashEncode`: `None` where Redis returns 0.
pub fn encode(
    long_range: Range,
    lat_range: Range,
    longitude: f64,
    latitude: f64,
    step: u8,
) -> Option<HashBits> {
    if step > 32 || step == 0 {
        return None;
    }
    let zero = |r: Range| r.max == 0.0 && r.min == 0.0;
    if zero(lat_range) || zero(long_range) {
        return None;
    }
    if !(LONG_MIN..=LONG_MAX).contains(&longitude) || !(LAT_MIN..=LAT_MAX).contains(&latitude) {
        return None;
    }
    if latitude < lat_range.min
        || latitude > lat_range.max
        || longitude < long_range.min
        || longitude > long_range.max
    {
        return None;
    }
    let mut lat_offset = (latitude - lat_range.min) / (lat_range.max - lat_range.min);
    let mut long_offset = (longitude - long_range.min) / (long_range.max - long_range.min);
    let scale = (1u64 << step) as f64;
    lat_offset *= scale;
    long_offset *= scale;
    Some(HashBits { bits: interleave64(to_u32(lat_offset), to_u32(long_offset)), step })
}

/// `geohashEncodeWGS84`.
pub fn encode_wgs84(longitude: f64, latitude: f64, step: u8) -> Option<HashBits> {
    let (lo, la) = coord_range();
    encode(lo, la, longitude, latitude, step)
}

/// `geohashDecode`: the cell of `hash`.
pub fn decode(long_range: Range, lat_range: Range, hash: HashBits) -> Option<Area> {
    let zero = |r: Range| r.max == 0.0 && r.min == 0.0;
    if hash.is_zero() || zero(lat_range) || zero(long_range) {
        return None;
    }
    let step = hash.step as u32;
    let hash_sep = deinterleave64(hash.bits);
    let lat_scale = lat_range.max - lat_range.min;
    let long_scale = long_range.max - long_range.min;
    let ilato = hash_sep as u32;
    let ilono = (hash_sep >> 32) as u32;
    let div = (1u64.checked_shl(step).unwrap_or(0)) as f64;
    Some(Area {
        latitude: Range {
            min: lat_range.min + (ilato as f64 * 1.0 / div) * lat_scale,
            max: lat_range.min + (ilato.wrapping_add(1) as f64 * 1.0 / div) * lat_scale,
        },
        longitude: Range {
            min: long_range.min + (ilono as f64 * 1.0 / div) * long_scale,
            max: long_range.min + (ilono.wrapping_add(1) as f64 * 1.0 / div) * long_scale,
        },
    })
}

/// `geohashDecodeAreaToLongLat`: the centre of a cell, clamped to the limits.
fn area_center(area: &Area) -> [f64; 2] {
    // C's `if (x > MAX) x = MAX; if (x < MIN) x = MIN;` (NaN stays NaN, as with clamp).
    let x = ((area.longitude.min + area.longitude.max) / 2.0).clamp(LONG_MIN, LONG_MAX);
    let y = ((area.latitude.min + area.latitude.max) / 2.0).clamp(LAT_MIN, LAT_MAX);
    [x, y]
}

/// What x86-64 code compiled by GCC gives for C's `(uint64_t)d`.
pub fn c_double_to_u64(d: f64) -> u64 {
    const TWO63: f64 = 9_223_372_036_854_775_808.0;
    // cvttsd2si: truncation, 0x8000000000000000 when out of range or NaN.
    let cvtt = |v: f64| -> u64 {
        if v.is_nan() || !(-TWO63..TWO63).contains(&v) {
            1 << 63
        } else {
            v as i64 as u64
        }
    };
    if d < TWO63 {
        cvtt(d)
    } else {
        cvtt(d - TWO63) ^ (1 << 63)
    }
}

/// Redis's `decodeGeohash`: the longitude and latitude a sorted-set score stands for.
pub fn decode_score(score: f64) -> [f64; 2] {
    let (lo, la) = coord_range();
    let hash = HashBits { bits: c_double_to_u64(score), step: STEP_MAX };
    match decode(lo, la, hash) {
        Some(a) => area_center(&a),
        None => [0.0, 0.0],
    }
}

/// The score GEOADD stores for a point (`geohashEncodeWGS84` at 26 bits, aligned to 52).
pub fn encode_score(longitude: f64, latitude: f64) -> Option<u64> {
    encode_wgs84(longitude, latitude, STEP_MAX).map(align52)
}

/// `geohashAlign52Bits`.
pub fn align52(hash: HashBits) -> u64 {
    hash.bits.checked_shl(52u32.wrapping_sub(hash.step as u32 * 2)).unwrap_or(0)
}

/// GEOHASH's 11-character standard geohash of a score (re-encoded over -90..90).
pub fn standard_geohash(score: f64) -> [u8; 11] {
    const ALPHABET: &[u8; 32] = b"0123456789bcdefghjkmnpqrstuvwxyz";
    let xy = decode_score(score);
    let bits = encode(Range { min: -180.0, max: 180.0 }, Range { min: -90.0, max: 90.0 }, xy[0], xy[1], 26)
        .map_or(0, |h| h.bits);
    let mut buf = [b'0'; 11];
    for (i, c) in buf.iter_mut().enumerate().take(10) {
        let idx = (bits >> (52 - (i + 1) * 5)) & 0x1f;
        *c = ALPHABET[idx as usize];
    }
    buf
}

fn move_x(hash: &mut HashBits, d: i8) {
    if d == 0 {
        return;
    }
    let shift = 64 - hash.step as u32 * 2;
    let mut x = hash.bits & 0xaaaaaaaaaaaaaaaa;
    let y = hash.bits & 0x5555555555555555;
    let zz = 0x5555555555555555u64 >> shift;
    if d > 0 {
        x = x.wrapping_add(zz.wrapping_add(1));
    } else {
        x |= zz;
        x = x.wrapping_sub(zz.wrapping_add(1));
    }
    x &= 0xaaaaaaaaaaaaaaaau64 >> shift;
    hash.bits = x | y;
}

fn move_y(hash: &mut HashBits, d: i8) {
    if d == 0 {
        return;
    }
    let shift = 64 - hash.step as u32 * 2;
    let x = hash.bits & 0xaaaaaaaaaaaaaaaa;
    let mut y = hash.bits & 0x5555555555555555;
    let zz = 0xaaaaaaaaaaaaaaaau64 >> shift;
    if d > 0 {
        y = y.wrapping_add(zz.wrapping_add(1));
    } else {
        y |= zz;
        y = y.wrapping_sub(zz.wrapping_add(1));
    }
    y &= 0x5555555555555555u64 >> shift;
    hash.bits = x | y;
}

/// The eight neighbours of a cell: N, S, E, W, NE, NW, SE, SW.
fn neighbors(hash: &HashBits) -> [HashBits; 8] {
    let at = |dx: i8, dy: i8| {
        let mut h = *hash;
        move_x(&mut h, dx);
        move_y(&mut h, dy);
        h
    };
    [at(0, 1), at(0, -1), at(1, 0), at(-1, 0), at(1, 1), at(-1, 1), at(1, -1), at(-1, -1)]
}

const N: usize = 0;
const S: usize = 1;
const E: usize = 2;
const W: usize = 3;
const NE: usize = 4;
const NW: usize = 5;
const SE: usize = 6;
const SW: usize = 7;

fn deg_rad(ang: f64) -> f64 {
    ang * D_R
}

fn rad_deg(ang: f64) -> f64 {
    ang / D_R
}

/// `geohashEstimateStepsByRadius`.
pub fn estimate_steps_by_radius(mut range_meters: f64, lat: f64) -> u8 {
    if range_meters == 0.0 {
        return 26;
    }
    let mut step: i32 = 1;
    while range_meters < MERCATOR_MAX {
        range_meters *= 2.0;
        step += 1;
    }
    step -= 2;
    if !(-66.0..=66.0).contains(&lat) {
        step -= 1;
        if !(-80.0..=80.0).contains(&lat) {
            step -= 1;
        }
    }
    step.clamp(1, 26) as u8
}

/// `geohashBoundingBox`: min longitude, min latitude, max longitude, max latitude.
pub fn bounding_box(shape: &Shape) -> [f64; 4] {
    let [longitude, latitude] = shape.xy;
    let (height, width) = match shape.kind {
        Kind::Circle { radius } => (shape.conversion * radius, shape.conversion * radius),
        Kind::Rect { width, height } => (shape.conversion * (height / 2.0), shape.conversion * (width / 2.0)),
    };
    let lat_delta = rad_deg(height / EARTH_RADIUS_IN_METERS);
    let long_delta_top = rad_deg(width / EARTH_RADIUS_IN_METERS / deg_rad(latitude + lat_delta).cos());
    let long_delta_bottom = rad_deg(width / EARTH_RADIUS_IN_METERS / deg_rad(latitude - lat_delta).cos());
    let southern = latitude < 0.0;
    [
        if southern { longitude - long_delta_bottom } else { longitude - long_delta_top },
        latitude - lat_delta,
        if southern { longitude + long_delta_bottom } else { longitude + long_delta_top },
        latitude + lat_delta,
    ]
}

/// `geohashCalculateAreasByShapeWGS84`: the cells to search for `shape`.
pub fn areas_by_shape(shape: &Shape) -> Cells {
    let [min_lon, min_lat, max_lon, max_lat] = bounding_box(shape);
    let [longitude, latitude] = shape.xy;
    let mut radius_meters = match shape.kind {
        Kind::Circle { radius } => radius,
        Kind::Rect { width, height } => {
            ((width / 2.0) * (width / 2.0) + (height / 2.0) * (height / 2.0)).sqrt()
        }
    };
    radius_meters *= shape.conversion;

    let mut steps = estimate_steps_by_radius(radius_meters, latitude);
    let (long_range, lat_range) = coord_range();
    let locate = |steps: u8| {
        let hash = encode(long_range, lat_range, longitude, latitude, steps)
            .unwrap_or(HashBits { bits: 0, step: steps });
        let nb = neighbors(&hash);
        let area = decode(long_range, lat_range, hash).unwrap_or_default();
        (hash, nb, area)
    };
    let (mut hash, mut nb, mut area) = locate(steps);

    let dec = |h: HashBits| decode(long_range, lat_range, h).unwrap_or_default();
    let (north, south, east, west) = (dec(nb[N]), dec(nb[S]), dec(nb[E]), dec(nb[W]));
    let decrease_step = north.latitude.max < max_lat
        || south.latitude.min > min_lat
        || east.longitude.max < max_lon
        || west.longitude.min > min_lon;

    if steps > 1 && decrease_step {
        steps -= 1;
        (hash, nb, area) = locate(steps);
    }

    if steps >= 2 {
        let zero = HashBits::default();
        if area.latitude.min < min_lat {
            nb[S] = zero;
            nb[SW] = zero;
            nb[SE] = zero;
        }
        if area.latitude.max > max_lat {
            nb[N] = zero;
            nb[NE] = zero;
            nb[NW] = zero;
        }
        if area.longitude.min < min_lon {
            nb[W] = zero;
            nb[SW] = zero;
            nb[NW] = zero;
        }
        if area.longitude.max > max_lon {
            nb[E] = zero;
            nb[SE] = zero;
            nb[NE] = zero;
        }
    }
    [hash, nb[N], nb[S], nb[E], nb[W], nb[NE], nb[NW], nb[SE], nb[SW]]
}

/// The score interval `[min, max)` of the points inside a cell (`scoresOfGeoHashBox`).
pub fn cell_scores(hash: HashBits) -> (f64, f64) {
    let min = align52(hash);
    let max = align52(HashBits { bits: hash.bits.wrapping_add(1), step: hash.step });
    (min as f64, max as f64)
}

/// `geohashGetLatDistance`.
fn lat_distance(lat1d: f64, lat2d: f64) -> f64 {
    EARTH_RADIUS_IN_METERS * (deg_rad(lat2d) - deg_rad(lat1d)).abs()
}

/// `geohashGetDistance`: the haversine distance in meters.
pub fn distance(lon1d: f64, lat1d: f64, lon2d: f64, lat2d: f64) -> f64 {
    let lon1r = deg_rad(lon1d);
    let lon2r = deg_rad(lon2d);
    let v = ((lon2r - lon1r) / 2.0).sin();
    if v == 0.0 {
        return lat_distance(lat1d, lat2d);
    }
    let lat1r = deg_rad(lat1d);
    let lat2r = deg_rad(lat2d);
    let u = ((lat2r - lat1r) / 2.0).sin();
    let a = u * u + lat1r.cos() * lat2r.cos() * v * v;
    2.0 * EARTH_RADIUS_IN_METERS * a.sqrt().asin()
}

/// `geoWithinShape` for a decoded point `xy`: its distance from the centre in meters when
/// it lies inside the shape.
pub fn within(shape: &Shape, xy: [f64; 2]) -> Option<f64> {
    let [x1, y1] = shape.xy;
    let [x2, y2] = xy;
    match shape.kind {
        Kind::Circle { radius } => {
            let d = distance(x1, y1, x2, y2);
            (d <= radius * shape.conversion).then_some(d)
        }
        Kind::Rect { width, height } => {
            let width_m = width * shape.conversion;
            let height_m = height * shape.conversion;
            if lat_distance(y2, y1) > height_m / 2.0 {
                return None;
            }
            if distance(x2, y2, x1, y2) > width_m / 2.0 {
                return None;
            }
            Some(distance(x1, y1, x2, y2))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interleave_roundtrips() {
        for (a, b) in [(0u32, 0u32), (1, 0), (0, 1), (0x3FFFFFF, 0x1234567), (0xFFFFFFFF, 0xFFFFFFFF)] {
            let i = interleave64(a, b);
            let d = deinterleave64(i);
            assert_eq!(d as u32, a);
            assert_eq!((d >> 32) as u32, b);
        }
    }

    #[test]
    fn scores_match_redis() {
        // GEOADD Sicily 13.361389 38.115556 "Palermo" 15.087269 37.502669 "Catania"
        assert_eq!(encode_score(13.361389, 38.115556), Some(3479099956230698));
        assert_eq!(encode_score(15.087269, 37.502669), Some(3479447370796909));
        assert_eq!(encode_score(181.0, 0.0), None);
        assert_eq!(encode_score(0.0, 85.06), None);
        let xy = decode_score(3479099956230698.0);
        assert!((xy[0] - 13.361389).abs() < 1e-5 && (xy[1] - 38.115556).abs() < 1e-5);
        assert_eq!(&standard_geohash(3479099956230698.0), b"sqc8b49rny0");
        assert_eq!(&standard_geohash(3479447370796909.0), b"sqdtr74hyu0");
    }

    #[test]
    fn distance_matches_redis() {
        // GEODIST Sicily Palermo Catania = 166274.1516 m.
        let a = decode_score(3479099956230698.0);
        let b = decode_score(3479447370796909.0);
        let d = distance(a[0], a[1], b[0], b[1]);
        assert_eq!(format!("{d:.4}"), "166274.1516");
        assert_eq!(distance(10.0, 20.0, 10.0, 20.0), 0.0);
    }

    #[test]
    fn double_to_u64_follows_gcc() {
        assert_eq!(c_double_to_u64(5.0), 5);
        assert_eq!(c_double_to_u64(-1.0), u64::MAX);
        assert_eq!(c_double_to_u64(1e300), 0);
        assert_eq!(c_double_to_u64(-1e300), 1 << 63);
        assert_eq!(c_double_to_u64(f64::INFINITY), 0);
        assert_eq!(c_double_to_u64(9_223_372_036_854_775_808.0), 1 << 63);
        assert_eq!(c_double_to_u64(1.8e19), 18_000_000_000_000_000_000);
    }

    #[test]
    fn steps_and_cells() {
        assert_eq!(estimate_steps_by_radius(0.0, 0.0), 26);
        assert_eq!(estimate_steps_by_radius(100.0, 0.0), 17);
        assert_eq!(estimate_steps_by_radius(100.0, 70.0), 16);
        assert_eq!(estimate_steps_by_radius(100.0, -85.0), 15);
        assert_eq!(estimate_steps_by_radius(1e8, 0.0), 1);
        let shape = Shape { xy: [15.0, 37.0], conversion: 1000.0, kind: Kind::Circle { radius: 200.0 } };
        let cells = areas_by_shape(&shape);
        assert!(!cells[0].is_zero());
        for c in cells.iter().filter(|c| !c.is_zero()) {
            let (min, max) = cell_scores(*c);
            assert!(min < max);
        }
    }
}
