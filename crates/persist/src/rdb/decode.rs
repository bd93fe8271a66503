//! Reading RDB data: a checksumming byte source, the primitive encodings, every value type
//! Redis 2.6 to 7.2 writes, and the record stream of a whole file.
//!
//! Nothing read from the input sizes an allocation beyond what the input actually holds:
//! strings are read in bounded steps, collection lengths only cap initial reservations,
//! and LZF lengths are checked against the compressed size.

use std::io::Read;

use brim_engine::packed::Elem;

use super::{container, corrupt, opcodes, types, Error, Result, Value, RDB_MAX_READ_VERSION};
use crate::{crc64::crc64, intset, listpack, lzf, ziplist};

/// Largest initial reservation made from a length read from the input.
const RESERVE_MAX: usize = 1 << 12;
/// Bytes read per step for long strings.
const STEP: usize = 1 << 20;

/// A byte source that keeps the CRC-64 of everything read.
pub struct Input<R> {
    r: R,
    crc: u64,
    pos: u64,
}

impl<R: Read> Input<R> {
    /// Read from `r`.
    pub fn new(r: R) -> Self {
        Input { r, crc: 0, pos: 0 }
    }

    /// CRC-64 of the bytes read so far.
    pub fn crc(&self) -> u64 {
        self.crc
    }

    /// Bytes read so far.
    pub fn pos(&self) -> u64 {
        self.pos
    }

    /// Read exactly `buf.len()` bytes.
    pub fn fill(&mut self, buf: &mut [u8]) -> Result<()> {
        self.r.read_exact(buf)?;
        self.crc = crc64(self.crc, buf);
        self.pos += buf.len() as u64;
        Ok(())
    }

    /// One byte.
    pub fn u8(&mut self) -> Result<u8> {
        let mut b = [0u8; 1];
        self.fill(&mut b)?;
        Ok(b[0])
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N]> {
        let mut b = [0u8; N];
        self.fill(&mut b)?;
        Ok(b)
    }

    /// `n` bytes, read in bounded steps (a corrupt length fails at the end of the input
    /// instead of allocating it).
    pub fn bytes(&mut self, n: u64) -> Result<Vec<u8>> {
        let n = usize::try_from(n).map_err(|_| Error("string too long".into()))?;
        let mut out = Vec::with_capacity(n.min(STEP));
        while out.len() < n {
            let start = out.len();
            let step = (n - start).min(STEP);
            out.resize(start + step, 0);
            self.fill(&mut out[start..])?;
        }
        Ok(out)
    }

    /// A length, or an encoded-string marker: `(value, is_encoding)`.
    fn len_or_enc(&mut self) -> Result<(u64, bool)> {
        let b = self.u8()?;
        match b >> 6 {
            0 => Ok(((b & 0x3F) as u64, false)),
            1 => Ok(((((b & 0x3F) as u64) << 8) | self.u8()? as u64, false)),
            2 => match b {
                0x80 => Ok((u32::from_be_bytes(self.array()?) as u64, false)),
                0x81 => Ok((u64::from_be_bytes(self.array()?), false)),
                _ => corrupt(&format!("Unknown length encoding {b} in rdbLoadLen()")),
            },
            _ => Ok(((b & 0x3F) as u64, true)),
        }
    }

    /// A length.
    pub fn length(&mut self) -> Result<u64> {
        match self.len_or_enc()? {
            (n, false) => Ok(n),
            _ => corrupt("unexpected encoded length"),
        }
    }

    /// A string in any of its encodings.
    pub fn string(&mut self) -> Result<Vec<u8>> {
        let (n, enc) = self.len_or_enc()?;
        if !enc {
            return self.bytes(n);
        }
        match n {
            0 => Ok((self.u8()? as i8).to_string().into_bytes()),
            1 => Ok(i16::from_le_bytes(self.array()?).to_string().into_bytes()),
            2 => Ok(i32::from_le_bytes(self.array()?).to_string().into_bytes()),
            3 => {
                let clen = self.length()?;
                let len = self.length()?;
                // LZF expands at most 132-fold (a 2-byte reference yields up to 264 bytes).
                if len > clen.saturating_mul(132).saturating_add(64) {
                    return corrupt("Invalid LZF compressed string");
                }
                let c = self.bytes(clen)?;
                match lzf::decompress(&c, len as usize) {
                    Some(v) => Ok(v),
                    None => corrupt("Invalid LZF compressed string"),
                }
            }
            _ => corrupt(&format!("Unknown RDB string encoding type {n}")),
        }
    }

    /// A score of the old ZSET type: a length byte (253 NaN, 254 +inf, 255 -inf) then text.
    pub fn double_str(&mut self) -> Result<f64> {
        match self.u8()? {
            253 => Ok(f64::NAN),
            254 => Ok(f64::INFINITY),
            255 => Ok(f64::NEG_INFINITY),
            n => {
                let b = self.bytes(n as u64)?;
                parse_score(&b).map_or_else(|| corrupt("bad double value"), Ok)
            }
        }
    }

    /// A binary double.
    pub fn double_bin(&mut self) -> Result<f64> {
        Ok(f64::from_le_bytes(self.array()?))
    }

    /// A little-endian i64 (EXPIRETIME_MS).
    pub fn i64_le(&mut self) -> Result<i64> {
        Ok(i64::from_le_bytes(self.array()?))
    }

    /// A little-endian i32 (EXPIRETIME).
    pub fn i32_le(&mut self) -> Result<i32> {
        Ok(i32::from_le_bytes(self.array()?))
    }

    /// A little-endian u64 (the checksum).
    pub fn u64_le(&mut self) -> Result<u64> {
        Ok(u64::from_le_bytes(self.array()?))
    }
}

/// Parse a score as strtod would (listpack/ziplist scores, old ZSET scores).
pub fn parse_score(b: &[u8]) -> Option<f64> {
    let s = std::str::from_utf8(b).ok()?;
    let v: f64 = s.trim().parse().ok()?;
    (!v.is_nan()).then_some(v)
}

fn elem_score(e: &Elem) -> Option<f64> {
    match e {
        Elem::Int(n) => Some(*n as f64),
        Elem::Double(d) => Some(*d),
        Elem::Bytes(b) => parse_score(b),
    }
}

fn cap(n: u64) -> usize {
    (n as usize).min(RESERVE_MAX)
}

fn pairs<T>(items: Vec<Elem>, mut second: impl FnMut(&Elem) -> Option<T>) -> Result<Vec<(Vec<u8>, T)>> {
    if !items.len().is_multiple_of(2) {
        return corrupt("odd number of elements in a pair encoding");
    }
    let mut out = Vec::with_capacity(items.len() / 2);
    for p in items.chunks_exact(2) {
        match second(&p[1]) {
            Some(v) => out.push((p[0].to_vec(), v)),
            None => return corrupt("bad pair value"),
        }
    }
    Ok(out)
}

fn listpack_of(blob: &[u8], what: &str) -> Result<Vec<Vec<u8>>> {
    match listpack::entries(blob) {
        Some(v) => Ok(v.iter().map(|e| e.to_vec()).collect()),
        None => corrupt(&format!("{what} listpack integrity check failed")),
    }
}

/// Read the value of type `t` (after its key).
pub fn read_value<R: Read>(inp: &mut Input<R>, t: u8) -> Result<Value> {
    Ok(match t {
        types::STRING => Value::Str(inp.string()?),
        types::LIST | types::SET => {
            let n = inp.length()?;
            let mut v = Vec::with_capacity(cap(n));
            for _ in 0..n {
                v.push(inp.string()?);
            }
            if t == types::LIST {
                Value::List(v)
            } else {
                Value::Set(v)
            }
        }
        types::ZSET | types::ZSET_2 => {
            let n = inp.length()?;
            let mut v = Vec::with_capacity(cap(n));
            for _ in 0..n {
                let m = inp.string()?;
                let s = if t == types::ZSET { inp.double_str()? } else { inp.double_bin()? };
                if s.is_nan() {
                    return corrupt("Zset with NAN score detected");
                }
                v.push((m, s));
            }
            Value::ZSet(v)
        }
        types::HASH => {
            let n = inp.length()?;
            let mut v = Vec::with_capacity(cap(n));
            for _ in 0..n {
                let f = inp.string()?;
                v.push((f, inp.string()?));
            }
            Value::Hash(v)
        }
        types::LIST_QUICKLIST | types::LIST_QUICKLIST_2 => {
            let nodes = inp.length()?;
            let mut v = Vec::new();
            for _ in 0..nodes {
                let kind = if t == types::LIST_QUICKLIST_2 { inp.length()? } else { container::PACKED };
                let blob = inp.string()?;
                match kind {
                    container::PLAIN => v.push(blob),
                    container::PACKED if t == types::LIST_QUICKLIST => match ziplist::entries(&blob) {
                        Some(items) => v.extend(items.iter().map(|e| e.to_vec())),
                        None => return corrupt("Ziplist integrity check failed."),
                    },
                    container::PACKED => v.extend(listpack_of(&blob, "Quicklist")?),
                    _ => return corrupt(&format!("Quicklist integrity check failed: container {kind}")),
                }
            }
            Value::List(v)
        }
        types::LIST_ZIPLIST | types::HASH_ZIPLIST | types::ZSET_ZIPLIST => {
            let blob = inp.string()?;
            let Some(items) = ziplist::entries(&blob) else {
                return corrupt("Ziplist integrity check failed.");
            };
            match t {
                types::LIST_ZIPLIST => Value::List(items.iter().map(|e| e.to_vec()).collect()),
                types::HASH_ZIPLIST => Value::Hash(pairs(items, |e| Some(e.to_vec()))?),
                _ => Value::ZSet(pairs(items, elem_score)?),
            }
        }
        types::HASH_LISTPACK | types::ZSET_LISTPACK | types::SET_LISTPACK => {
            let blob = inp.string()?;
            let Some(items) = listpack::entries(&blob) else {
                return corrupt("Listpack integrity check failed.");
            };
            match t {
                types::HASH_LISTPACK => Value::Hash(pairs(items, |e| Some(e.to_vec()))?),
                types::ZSET_LISTPACK => Value::ZSet(pairs(items, elem_score)?),
                _ => Value::Set(items.iter().map(|e| e.to_vec()).collect()),
            }
        }
        types::SET_INTSET => {
            let blob = inp.string()?;
            match intset::decode(&blob) {
                Some(v) => Value::Set(v.iter().map(|n| n.to_string().into_bytes()).collect()),
                None => return corrupt("Intset integrity check failed."),
            }
        }
        types::HASH_ZIPMAP => {
            return Err(Error(
                "Can't load a zipmap-encoded hash (written by Redis before 2.6): not supported".into(),
            ))
        }
        types::STREAM_LISTPACKS | types::STREAM_LISTPACKS_2 | types::STREAM_LISTPACKS_3 => {
            return Err(Error("Can't load a stream: Brim does not support the stream type".into()))
        }
        types::MODULE_PRE_GA | types::MODULE_2 => {
            return Err(Error("Can't load a module value: Brim does not support modules".into()))
        }
        _ => return corrupt(&format!("Unknown RDB encoding type {t}")),
    })
}

/// One record of an RDB file.
#[derive(Debug)]
pub enum Record {
    /// An AUX field.
    Aux(Vec<u8>, Vec<u8>),
    /// SELECTDB.
    SelectDb(u64),
    /// RESIZEDB: keys and keys with an expire (hints).
    ResizeDb(u64, u64),
    /// A function library (Brim has no functions: the caller decides what to do).
    Function(Vec<u8>),
    /// A key.
    Entry(Entry),
    /// The end (checksum verified).
    Eof,
}

/// A key read from an RDB file.
#[derive(Debug)]
pub struct Entry {
    /// The key.
    pub key: Vec<u8>,
    /// Its value.
    pub value: Value,
    /// Absolute expire time, unix ms.
    pub expire_ms: Option<i64>,
    /// LRU idle time in seconds (IDLE).
    pub idle_s: Option<u64>,
    /// LFU counter (FREQ).
    pub freq: Option<u8>,
}

/// Reads the records of an RDB file.
pub struct Reader<R> {
    inp: Input<R>,
    version: u16,
    verify: bool,
}

impl<R: Read> Reader<R> {
    /// Read the header from `r`; `verify` checks the final checksum (`rdbchecksum`).
    pub fn new(r: R, verify: bool) -> Result<Self> {
        let mut inp = Input::new(r);
        let mut magic = [0u8; 9];
        inp.fill(&mut magic)?;
        if &magic[..5] != b"REDIS" {
            return Err(Error("Wrong signature trying to load DB from file".into()));
        }
        let version = std::str::from_utf8(&magic[5..]).ok().and_then(|s| s.parse::<u16>().ok()).unwrap_or(0);
        if !(1..=RDB_MAX_READ_VERSION).contains(&version) {
            return Err(Error(format!("Can't handle RDB format version {version}")));
        }
        Ok(Reader { inp, version, verify })
    }

    /// The file's RDB version.
    pub fn version(&self) -> u16 {
        self.version
    }

    /// Bytes read so far.
    pub fn pos(&self) -> u64 {
        self.inp.pos()
    }

    /// The next record.
    pub fn next_record(&mut self) -> Result<Record> {
        let mut expire_ms = None;
        let mut idle_s = None;
        let mut freq = None;
        loop {
            let t = self.inp.u8()?;
            match t {
                opcodes::EXPIRETIME_MS => expire_ms = Some(self.inp.i64_le()?),
                opcodes::EXPIRETIME => expire_ms = Some(self.inp.i32_le()? as i64 * 1000),
                opcodes::IDLE => idle_s = Some(self.inp.length()?),
                opcodes::FREQ => freq = Some(self.inp.u8()?),
                opcodes::AUX => {
                    let k = self.inp.string()?;
                    let v = self.inp.string()?;
                    return Ok(Record::Aux(k, v));
                }
                opcodes::SELECTDB => return Ok(Record::SelectDb(self.inp.length()?)),
                opcodes::RESIZEDB => {
                    let a = self.inp.length()?;
                    let b = self.inp.length()?;
                    return Ok(Record::ResizeDb(a, b));
                }
                opcodes::FUNCTION2 => return Ok(Record::Function(self.inp.string()?)),
                opcodes::FUNCTION_PRE_GA => {
                    return Err(Error("Pre-release function format not supported.".into()))
                }
                opcodes::MODULE_AUX => {
                    return Err(Error(
                        "Can't load module auxiliary data: Brim does not support modules".into(),
                    ))
                }
                opcodes::EOF => {
                    if self.version >= 5 {
                        let expected = self.inp.crc();
                        let stored = self.inp.u64_le()?;
                        if self.verify && stored != 0 && stored != expected {
                            return Err(Error(format!(
                                "Wrong RDB checksum expected: ({stored:x}) got: ({expected:x}). Aborting now."
                            )));
                        }
                    }
                    return Ok(Record::Eof);
                }
                t => {
                    let key = self.inp.string()?;
                    let value = read_value(&mut self.inp, t)?;
                    return Ok(Record::Entry(Entry { key, value, expire_ms, idle_s, freq }));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crc64::crc64;
    use crate::rdb::encode::{write_len, write_string};
    use crate::rdb::Value;

    /// A ziplist of `items` as Redis before 7.0 builds it.
    fn ziplist(items: &[&[u8]]) -> Vec<u8> {
        let mut body = Vec::new();
        let mut prev = 0usize;
        let mut tail = 10;
        for it in items {
            let start = body.len();
            tail = 10 + start;
            if prev < 254 {
                body.push(prev as u8);
            } else {
                body.push(0xFE);
                body.extend_from_slice(&(prev as u32).to_le_bytes());
            }
            match std::str::from_utf8(it).ok().and_then(|s| s.parse::<i64>().ok()) {
                Some(v) if (0..=12).contains(&v) => body.push(0xF1 + v as u8),
                Some(v) if i16::try_from(v).is_ok() => {
                    body.push(0xC0);
                    body.extend_from_slice(&(v as i16).to_le_bytes());
                }
                Some(v) => {
                    body.push(0xE0);
                    body.extend_from_slice(&v.to_le_bytes());
                }
                None if it.len() < 64 => {
                    body.push(it.len() as u8);
                    body.extend_from_slice(it);
                }
                None => {
                    body.push(0x40 | (it.len() >> 8) as u8);
                    body.push(it.len() as u8);
                    body.extend_from_slice(it);
                }
            }
            prev = body.len() - start;
        }
        let mut zl = Vec::new();
        zl.extend_from_slice(&((10 + body.len() + 1) as u32).to_le_bytes());
        zl.extend_from_slice(&(tail as u32).to_le_bytes());
        zl.extend_from_slice(&(items.len() as u16).to_le_bytes());
        zl.extend_from_slice(&body);
        zl.push(0xFF);
        zl
    }

    fn lp(items: &[&[u8]]) -> Vec<u8> {
        let mut w = listpack::Writer::new();
        for it in items {
            w.push_str(it);
        }
        w.finish()
    }

    fn finish(mut f: Vec<u8>) -> Vec<u8> {
        f.push(opcodes::EOF);
        let crc = crc64(0, &f);
        f.extend_from_slice(&crc.to_le_bytes());
        f
    }

    fn key(f: &mut Vec<u8>, t: u8, k: &str) {
        f.push(t);
        write_string(f, k.as_bytes(), false);
    }

    fn read_all(bytes: &[u8]) -> Result<Vec<Entry>> {
        let mut r = Reader::new(bytes, true)?;
        let mut out = Vec::new();
        loop {
            match r.next_record()? {
                Record::Eof => return Ok(out),
                Record::Entry(e) => out.push(e),
                _ => {}
            }
        }
    }

    fn strings(v: &[&str]) -> Vec<Vec<u8>> {
        v.iter().map(|s| s.as_bytes().to_vec()).collect()
    }

    #[test]
    fn reads_the_old_types_redis_6_and_earlier_write() {
        let mut f = b"REDIS0009".to_vec();
        f.push(opcodes::AUX);
        write_string(&mut f, b"redis-ver", false);
        write_string(&mut f, b"6.2.0", false);
        f.push(opcodes::SELECTDB);
        write_len(&mut f, 0);
        f.push(opcodes::RESIZEDB);
        write_len(&mut f, 9);
        write_len(&mut f, 1);
        // EXPIRETIME in seconds, then an LZF string.
        f.push(opcodes::EXPIRETIME);
        f.extend_from_slice(&2_000_000_000i32.to_le_bytes());
        key(&mut f, types::STRING, "str");
        write_string(&mut f, &[b'z'; 300], true);
        // Plain list, old ZSET with string scores.
        key(&mut f, types::LIST, "list");
        write_len(&mut f, 3);
        for s in ["a", "12", "c"] {
            write_string(&mut f, s.as_bytes(), false);
        }
        key(&mut f, types::ZSET, "zset");
        write_len(&mut f, 3);
        write_string(&mut f, b"m1", false);
        f.push(3);
        f.extend_from_slice(b"1.5");
        write_string(&mut f, b"m2", false);
        f.push(254);
        write_string(&mut f, b"m3", false);
        f.push(255);
        // Ziplist-encoded list, sorted set and hash; a quicklist of ziplists.
        key(&mut f, types::LIST_ZIPLIST, "zl");
        write_string(&mut f, &ziplist(&[b"x", b"7", b"-300", b"99999999999"]), false);
        key(&mut f, types::ZSET_ZIPLIST, "zz");
        write_string(&mut f, &ziplist(&[b"a", b"1", b"b", b"2.5"]), false);
        key(&mut f, types::HASH_ZIPLIST, "zh");
        let long = vec![b'v'; 100];
        write_string(&mut f, &ziplist(&[b"f", &long, b"g", b"3"]), false);
        key(&mut f, types::LIST_QUICKLIST, "ql");
        write_len(&mut f, 2);
        write_string(&mut f, &ziplist(&[b"1", b"2"]), false);
        write_string(&mut f, &ziplist(&[b"three"]), true);
        // IDLE and FREQ before a plain hash and a plain set.
        f.push(opcodes::IDLE);
        write_len(&mut f, 1234);
        key(&mut f, types::HASH, "hash");
        write_len(&mut f, 1);
        write_string(&mut f, b"k", false);
        write_string(&mut f, b"v", false);
        f.push(opcodes::FREQ);
        f.push(9);
        key(&mut f, types::SET, "set");
        write_len(&mut f, 2);
        write_string(&mut f, b"1", false);
        write_string(&mut f, b"x", false);
        let f = finish(f);
        let e = read_all(&f).unwrap();
        assert_eq!(e.len(), 9);
        assert_eq!(e[0].expire_ms, Some(2_000_000_000_000));
        assert_eq!(e[0].value, Value::Str(vec![b'z'; 300]));
        assert_eq!(e[1].value, Value::List(strings(&["a", "12", "c"])));
        assert_eq!(
            e[2].value,
            Value::ZSet(vec![
                (b"m1".to_vec(), 1.5),
                (b"m2".to_vec(), f64::INFINITY),
                (b"m3".to_vec(), f64::NEG_INFINITY)
            ])
        );
        assert_eq!(e[3].value, Value::List(strings(&["x", "7", "-300", "99999999999"])));
        assert_eq!(e[4].value, Value::ZSet(vec![(b"a".to_vec(), 1.0), (b"b".to_vec(), 2.5)]));
        assert_eq!(
            e[5].value,
            Value::Hash(vec![(b"f".to_vec(), long.clone()), (b"g".to_vec(), b"3".to_vec())])
        );
        assert_eq!(e[6].value, Value::List(strings(&["1", "2", "three"])));
        assert_eq!((e[7].idle_s, e[7].freq), (Some(1234), None));
        assert_eq!((e[8].idle_s, e[8].freq), (None, Some(9)));
        assert_eq!(e[8].value, Value::Set(strings(&["1", "x"])));
        // The checksum covers everything.
        let mut bad = f.clone();
        bad[40] ^= 1;
        assert!(read_all(&bad).is_err());
    }

    #[test]
    fn reads_redis_7_2_types() {
        let mut f = b"REDIS0011".to_vec();
        f.push(opcodes::SELECTDB);
        write_len(&mut f, 0);
        key(&mut f, types::SET_LISTPACK, "s");
        write_string(&mut f, &lp(&[b"a", b"5", b"b"]), false);
        key(&mut f, types::LIST_QUICKLIST_2, "l");
        write_len(&mut f, 2);
        write_len(&mut f, container::PLAIN);
        write_string(&mut f, &[b'p'; 50], true);
        write_len(&mut f, container::PACKED);
        write_string(&mut f, &lp(&[b"x", b"-1"]), false);
        key(&mut f, types::HASH_LISTPACK, "h");
        write_string(&mut f, &lp(&[b"f", b"1"]), false);
        key(&mut f, types::ZSET_LISTPACK, "z");
        write_string(&mut f, &lp(&[b"m", b"3.25", b"n", b"4"]), false);
        key(&mut f, types::SET_INTSET, "i");
        write_string(&mut f, &crate::intset::encode(&[-1, 70000]), false);
        let f = finish(f);
        let e = read_all(&f).unwrap();
        assert_eq!(e[0].value, Value::Set(strings(&["a", "5", "b"])));
        let mut l = vec![vec![b'p'; 50]];
        l.extend(strings(&["x", "-1"]));
        assert_eq!(e[1].value, Value::List(l));
        assert_eq!(e[2].value, Value::Hash(vec![(b"f".to_vec(), b"1".to_vec())]));
        assert_eq!(e[3].value, Value::ZSet(vec![(b"m".to_vec(), 3.25), (b"n".to_vec(), 4.0)]));
        assert_eq!(e[4].value, Value::Set(strings(&["-1", "70000"])));
    }

    #[test]
    fn refuses_what_it_cannot_load() {
        for (t, what) in [
            (types::STREAM_LISTPACKS_2, "stream"),
            (types::MODULE_2, "module"),
            (types::HASH_ZIPMAP, "zipmap"),
        ] {
            let mut f = b"REDIS0010".to_vec();
            key(&mut f, t, "k");
            let err = read_all(&finish(f)).unwrap_err();
            assert!(err.0.contains(what), "{err}");
        }
        assert!(read_all(b"REDIS0012").unwrap_err().0.contains("version 12"));
        assert!(read_all(b"RUBIS0010").unwrap_err().0.contains("signature"));
        // A huge length does not allocate: it fails at the end of the input.
        let mut f = b"REDIS0010".to_vec();
        key(&mut f, types::STRING, "k");
        f.push(0x81);
        f.extend_from_slice(&(1u64 << 60).to_be_bytes());
        assert!(read_all(&f).is_err());
        let mut f = b"REDIS0010".to_vec();
        key(&mut f, types::LIST, "k");
        f.push(0x81);
        f.extend_from_slice(&(1u64 << 62).to_be_bytes());
        assert!(read_all(&f).is_err());
        // An LZF string claiming an absurd expansion.
        let mut f = b"REDIS0010".to_vec();
        key(&mut f, types::STRING, "k");
        f.push(0xC3);
        write_len(&mut f, 2);
        write_len(&mut f, 1 << 40);
        f.extend_from_slice(&[0, b'a']);
        assert!(read_all(&f).is_err());
    }

    #[test]
    fn garbage_never_panics() {
        let mut seed = 0x1234_5678_9abc_def0u64;
        for n in 0..2000 {
            let mut f = b"REDIS0010".to_vec();
            for _ in 0..(n % 64) {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                f.push(seed as u8);
            }
            let _ = read_all(&f);
            let _ = crate::dump::parse(&f[9..]);
        }
    }
}
