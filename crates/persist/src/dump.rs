//! DUMP / RESTORE payloads, as Redis makes them: the value's RDB type byte and body, the
//! RDB version (2 bytes, little endian), then the CRC-64 of everything before it (8 bytes,
//! little endian).

use brim_engine::ValueRef;

use crate::crc64::crc64;
use crate::rdb::decode::{read_value, Input};
use crate::rdb::encode::{type_of, write_value, Options};
use crate::rdb::{Result, Value, RDB_MAX_READ_VERSION, RDB_VERSION};

/// The payload DUMP replies with for `v`.
pub fn create(v: &ValueRef, opts: &Options) -> Result<Vec<u8>> {
    let mut buf = vec![type_of(v)];
    write_value(&mut buf, v, opts)?;
    buf.extend_from_slice(&RDB_VERSION.to_le_bytes());
    let crc = crc64(0, &buf);
    buf.extend_from_slice(&crc.to_le_bytes());
    Ok(buf)
}

/// Whether the payload's footer is acceptable (Redis's verifyDumpPayload): at least 10
/// bytes, an RDB version Brim reads (up to 11, Redis 7.2's), and a matching CRC-64.
pub fn verify(payload: &[u8]) -> bool {
    if payload.len() < 10 {
        return false;
    }
    let n = payload.len();
    let ver = u16::from_le_bytes([payload[n - 10], payload[n - 9]]);
    if ver > RDB_MAX_READ_VERSION {
        return false;
    }
    let mut stored = [0u8; 8];
    stored.copy_from_slice(&payload[n - 8..]);
    crc64(0, &payload[..n - 8]) == u64::from_le_bytes(stored)
}

/// Decode a verified payload's value.
pub fn parse(payload: &[u8]) -> Result<Value> {
    let body = &payload[..payload.len().saturating_sub(10)];
    let mut inp = Input::new(body);
    let t = inp.u8()?;
    read_value(&mut inp, t)
}

#[cfg(test)]
mod tests {
    use super::*;
    use brim_engine::StrRef;

    #[test]
    fn string_payload_matches_redis() {
        // redis-cli DUMP of SET k hello (Redis 7.0): "\x00\x05hello\n\x00" + CRC.
        let p = create(&ValueRef::Str(StrRef::Bytes(b"hello")), &Options::default()).unwrap();
        assert_eq!(&p[..9], b"\x00\x05hello\x0a\x00");
        assert_eq!(p.len(), 17);
        assert!(verify(&p));
        assert_eq!(parse(&p).unwrap(), Value::Str(b"hello".to_vec()));
        let mut bad = p.clone();
        bad[3] ^= 1;
        assert!(!verify(&bad));
        let mut newer = p[..p.len() - 8].to_vec();
        newer[7] = 12;
        let crc = crc64(0, &newer);
        newer.extend_from_slice(&crc.to_le_bytes());
        assert!(!verify(&newer), "version 12 is refused");
        assert!(!verify(b"short"));
    }

    #[test]
    fn int_payload() {
        let p = create(&ValueRef::Str(StrRef::Int(-5)), &Options::default()).unwrap();
        assert_eq!(&p[..3], &[0, 0xC0, 0xFB]);
        assert_eq!(parse(&p).unwrap(), Value::Str(b"-5".to_vec()));
    }
}
