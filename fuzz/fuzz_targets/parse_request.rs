//! Feeds arbitrary bytes through the request parser in reads of varying sizes, exactly as a
//! connection does (append to the query buffer, parse until more bytes are needed, drop
//! what was consumed), and checks that the result never depends on how the bytes were
//! split: the commands and the final error must equal those of one parse over all bytes.
//!
//! Input layout: byte 0 selects the limits, byte 1 seeds the read sizes, the rest is the
//! byte stream sent by the client.
//!
//! Run with `cargo +nightly fuzz run parse_request` from the repository root.

#![no_main]

use brim_resp::parse::INLINE_MAX_SIZE;
use brim_resp::{Args, ParseLimits, Parser, ProtoError};
use libfuzzer_sys::fuzz_target;

#[derive(Debug, PartialEq, Eq)]
enum Event {
    Command(Vec<Vec<u8>>),
    Error(ProtoError),
}

/// Parse all of `stream` at once.
fn one_shot(stream: &[u8], limits: &ParseLimits) -> Vec<Event> {
    let mut parser = Parser::new();
    let mut args = Args::new();
    let mut events = Vec::new();
    let mut start = 0;
    loop {
        let buf = &stream[start..];
        match parser.parse(buf, limits, &mut args) {
            Ok(Some(n)) => {
                assert!(n > 0 && n <= buf.len(), "consumed {n} of {}", buf.len());
                events.push(Event::Command(args.iter(buf).map(<[u8]>::to_vec).collect()));
                start += n;
            }
            Ok(None) => return events,
            Err(e) => {
                assert!(e.message().starts_with("Protocol error: "));
                events.push(Event::Error(e));
                return events;
            }
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let (Some(&mode), Some(&seed)) = (data.first(), data.get(1)) else {
        return;
    };
    let stream = &data[2..];
    let limits = ParseLimits {
        max_bulk_len: if mode & 1 == 0 { 512 * 1024 * 1024 } else { u64::from(mode >> 2) },
        authenticated: mode & 2 == 0,
    };
    let expected = one_shot(stream, &limits);

    // The connection: a query buffer that grows by one read at a time.
    let mut parser = Parser::new();
    let mut args = Args::new();
    let mut querybuf: Vec<u8> = Vec::new();
    let mut events = Vec::new();
    let mut fed = 0;
    let mut rng = u32::from(seed) | 1;
    'conn: while fed < stream.len() {
        // xorshift: read sizes from 1 byte to 64 bytes, sometimes everything left.
        rng ^= rng << 13;
        rng ^= rng >> 17;
        rng ^= rng << 5;
        let want = if rng % 8 == 0 { stream.len() } else { (rng % 64) as usize + 1 };
        let take = want.min(stream.len() - fed);
        querybuf.extend_from_slice(&stream[fed..fed + take]);
        fed += take;
        loop {
            match parser.parse(&querybuf, &limits, &mut args) {
                Ok(Some(n)) => {
                    assert!(n > 0 && n <= querybuf.len());
                    events.push(Event::Command(args.iter(&querybuf).map(<[u8]>::to_vec).collect()));
                    querybuf.drain(..n);
                }
                Ok(None) => {
                    if let Some(end) = parser.pending_bulk_end() {
                        assert!(end > querybuf.len());
                    }
                    break;
                }
                Err(e) => {
                    events.push(Event::Error(e));
                    break 'conn;
                }
            }
        }
    }
    // Past 64 KiB the outcome legitimately depends on read sizes, as in Redis: a line
    // whose end arrives late is "too big" when more than 64 KiB were buffered without it.
    if stream.len() <= INLINE_MAX_SIZE {
        assert_eq!(events, expected);
    }
});
