//! DEBUG HELP, SLEEP, OBJECT and SET-ACTIVE-EXPIRE.
//!
//! DEBUG runs with the whole keyspace to itself, so DEBUG SLEEP stalls every client as it
//! does in Redis.

use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;

use brim_engine::{StrRef, ValueRef};

use super::{is_local_client, subcommand_syntax_error};
use crate::args::is;
use crate::ctx::Ctx;

/// The error for DEBUG when `enable-debug-command` does not allow this client.
const NOT_ALLOWED: &str =
    "ERR DEBUG command not allowed. If the enable-debug-command option is set to \"local\", \
     you can run it from a local connection, otherwise you need to set this option in the \
     configuration file, and then restart the server.";

/// DEBUG subcommand [args].
pub(super) fn debug(ctx: &mut Ctx, args: &[&[u8]]) {
    if !ctx.shared.config.enable_debug_command().allows(is_local_client(ctx)) {
        ctx.error(NOT_ALLOWED);
        return;
    }
    let sub = args[1];
    match args.len() {
        2 if is(sub, "help") => help(ctx),
        3 if is(sub, "sleep") => {
            let micros = (strtod_prefix(args[2]) * 1_000_000.0) as i64;
            if micros > 0 {
                std::thread::sleep(Duration::from_micros(micros as u64));
            }
            ctx.out.ok();
        }
        3 if is(sub, "object") => object(ctx, args[2]),
        3 if is(sub, "set-active-expire") => {
            ctx.shared.active_expire.store(atoi_prefix(args[2]) != 0, Relaxed);
            ctx.out.ok();
        }
        _ => subcommand_syntax_error(ctx, "DEBUG", sub),
    }
}

/// C's `strtod` on the longest decimal prefix (leading spaces skipped; no number gives 0;
/// infinities and NaN give 0 too, as a sleep of those makes no sense).
fn strtod_prefix(arg: &[u8]) -> f64 {
    let start = arg.iter().position(|c| !c.is_ascii_whitespace()).unwrap_or(arg.len());
    let b = &arg[start..];
    let digits = |from: usize| from + b[from..].iter().take_while(|c| c.is_ascii_digit()).count();
    let mut end = if matches!(b.first(), Some(b'+' | b'-')) { 1 } else { 0 };
    let int_end = digits(end);
    let mut mantissa = int_end > end;
    end = int_end;
    if b.get(end) == Some(&b'.') {
        let frac_end = digits(end + 1);
        mantissa |= frac_end > end + 1;
        end = frac_end;
    }
    if !mantissa {
        return 0.0;
    }
    if matches!(b.get(end), Some(b'e' | b'E')) {
        let sign = if matches!(b.get(end + 1), Some(b'+' | b'-')) { 1 } else { 0 };
        let exp_end = digits(end + 1 + sign);
        if exp_end > end + 1 + sign {
            end = exp_end;
        }
    }
    let v = std::str::from_utf8(&b[..end]).ok().and_then(|t| t.parse::<f64>().ok()).unwrap_or(0.0);
    if v.is_finite() {
        v
    } else {
        0.0
    }
}

/// C's `atoi`: optional spaces and sign, then the digits that follow (saturating).
fn atoi_prefix(arg: &[u8]) -> i64 {
    let mut i = 0;
    while i < arg.len() && arg[i].is_ascii_whitespace() {
        i += 1;
    }
    let neg = match arg.get(i) {
        Some(b'-') => {
            i += 1;
            true
        }
        Some(b'+') => {
            i += 1;
            false
        }
        _ => false,
    };
    let mut v: i64 = 0;
    while let Some(d) = arg.get(i).filter(|c| c.is_ascii_digit()) {
        v = v.saturating_mul(10).saturating_add((d - b'0') as i64);
        i += 1;
    }
    if neg {
        -v
    } else {
        v
    }
}

/// Redis's OBJ_SHARED_INTEGERS: integers below this may be shared objects.
const SHARED_INTEGERS: i64 = 10_000;

fn object(ctx: &mut Ctx, key: &[u8]) {
    let acc = ctx.acc.no_touch();
    let cfg = &ctx.shared.config;
    // Redis shares small integers unless an LRU/LFU maxmemory policy needs per-key data.
    let policy = cfg.maxmemory_policy();
    let lru_or_lfu = policy.is_lfu() || policy.as_str().ends_with("-lru");
    let shares_integers = cfg.maxmemory() == 0 || !lru_or_lfu;
    let compression = cfg.rdbcompression();
    let db = ctx.shared.keyspace.db(ctx.client.db);
    let mut stripe = db.lock(key);
    let line = match stripe.get(key, &acc) {
        None => None,
        Some(e) => {
            let (refcount, serialized) = match e.value() {
                ValueRef::Str(StrRef::Int(n)) => {
                    let shared = shares_integers && (0..SHARED_INTEGERS).contains(&n);
                    (if shared { i32::MAX } else { 1 }, saved_int_len(n))
                }
                ValueRef::Str(StrRef::Bytes(b)) => (1, saved_string_len(b, compression)),
                // Collections: their RDB size comes with the persistence work; report their
                // memory until then.
                ValueRef::Obj(o) => (1, o.memory_usage()),
                ValueRef::Packed(_, b) => (1, b.len()),
            };
            let lru = e.access_data();
            Some(format!(
                "Value at:{:p} refcount:{refcount} encoding:{} serializedlength:{serialized} lru:{lru} lru_seconds_idle:{}",
                e.key().as_ptr(),
                e.encoding(),
                acc.idle_ms(lru) / 1000
            ))
        }
    };
    drop(stripe);
    match line {
        Some(l) => ctx.out.simple(&l),
        None => ctx.error("ERR no such key"),
    }
}

fn help(ctx: &mut Ctx) {
    ctx.help("DEBUG", HELP);
}

/// Bytes rdbSaveLen takes for `len`.
fn saved_len_len(len: usize) -> usize {
    if len < 1 << 6 {
        1
    } else if len < 1 << 14 {
        2
    } else if len as u64 <= u32::MAX as u64 {
        5
    } else {
        9
    }
}

/// Bytes rdbEncodeInteger takes for `n`, or `None` if it does not fit in 32 bits.
fn encoded_int_len(n: i64) -> Option<usize> {
    if (-(1 << 7)..1 << 7).contains(&n) {
        Some(2)
    } else if (-(1 << 15)..1 << 15).contains(&n) {
        Some(3)
    } else if (-(1i64 << 31)..1i64 << 31).contains(&n) {
        Some(5)
    } else {
        None
    }
}

/// RDB length of an integer-encoded string (rdbSaveLongLongAsStringObject).
fn saved_int_len(n: i64) -> usize {
    encoded_int_len(n).unwrap_or_else(|| {
        let digits = brim_engine::value::int_len(n);
        saved_len_len(digits) + digits
    })
}

/// RDB length of a string (rdbSaveRawString): small integers encoded, long strings LZF
/// compressed when that saves space and `rdbcompression` is on, else raw.
fn saved_string_len(s: &[u8], compression: bool) -> usize {
    if s.len() <= 11 {
        if let Some(n) = brim_engine::value::parse_i64_strict(s) {
            if let Some(l) = encoded_int_len(n) {
                return l;
            }
        }
    }
    if compression && s.len() > 20 {
        let clen = lzf_compressed_len(s, s.len() - 4);
        if clen > 0 {
            return 1 + saved_len_len(clen) + saved_len_len(s.len()) + clen;
        }
    }
    saved_len_len(s.len()) + s.len()
}

const HLOG: u32 = 16;
const HSIZE: usize = 1 << HLOG;
const MAX_LIT: usize = 1 << 5;
const MAX_OFF: usize = 1 << 13;
const MAX_REF: usize = (1 << 8) + (1 << 3);

#[inline]
fn lzf_idx(h: u32) -> usize {
    ((h >> (3 * 8 - HLOG)).wrapping_sub(h.wrapping_mul(5)) as usize) & (HSIZE - 1)
}

/// The size Redis's `lzf_compress` (liblzf 3.6 as bundled with Redis: HLOG 16, VERY_FAST)
/// would produce for `input` into an `out_len`-byte buffer, or 0 when it does not fit.
/// Only the length is computed; nothing is written.
pub fn lzf_compressed_len(input: &[u8], out_len: usize) -> usize {
    let in_end = input.len();
    if in_end == 0 || out_len == 0 {
        return 0;
    }
    let out_end = out_len;
    let mut htab = vec![usize::MAX; HSIZE];
    let mut ip = 0usize;
    let mut op = 1usize; // start run
    let mut lit = 0usize;
    let at = |i: usize| input.get(i).copied().unwrap_or(0) as u32;
    let mut hval: u32 = (at(0) << 8) | at(1);
    while ip + 2 < in_end {
        hval = (hval << 8) | at(ip + 2);
        let slot = lzf_idx(hval);
        let r = htab[slot];
        htab[slot] = ip;
        let is_match = r != usize::MAX
            && r < ip
            && ip - r - 1 < MAX_OFF
            && r > 0
            && input[r] == input[ip]
            && input[r + 1] == input[ip + 1]
            && input[r + 2] == input[ip + 2];
        if is_match {
            let mut len = 2usize;
            let maxlen = (in_end - ip - len).min(MAX_REF);
            // A fast conservative bound first, then the exact one.
            if op + 3 + 1 >= out_end && op - (lit == 0) as usize + 3 + 1 >= out_end {
                return 0;
            }
            op -= (lit == 0) as usize; // stop run, undo it if empty
            'measure: {
                if maxlen > 16 {
                    for _ in 0..16 {
                        len += 1;
                        if input[r + len] != input[ip + len] {
                            break 'measure;
                        }
                    }
                }
                loop {
                    len += 1;
                    if !(len < maxlen && input[r + len] == input[ip + len]) {
                        break;
                    }
                }
            }
            len -= 2; // now #octets - 1
            ip += 1;
            op += if len < 7 { 1 } else { 2 };
            op += 1; // low byte of the offset
            lit = 0;
            op += 1; // start run
            ip += len + 1;
            if ip + 2 >= in_end {
                break;
            }
            ip -= 2;
            hval = (at(ip) << 8) | at(ip + 1);
            hval = (hval << 8) | at(ip + 2);
            htab[lzf_idx(hval)] = ip;
            ip += 1;
            hval = (hval << 8) | at(ip + 2);
            htab[lzf_idx(hval)] = ip;
            ip += 1;
        } else {
            if op >= out_end {
                return 0;
            }
            lit += 1;
            op += 1;
            ip += 1;
            if lit == MAX_LIT {
                lit = 0;
                op += 1;
            }
        }
    }
    if op + 3 > out_end {
        return 0;
    }
    while ip < in_end {
        lit += 1;
        op += 1;
        ip += 1;
        if lit == MAX_LIT {
            lit = 0;
            op += 1;
        }
    }
    op - (lit == 0) as usize
}

/// DEBUG HELP, as Redis 7.0.15 prints it.
const HELP: &[&str] = &[
    "AOF-FLUSH-SLEEP <microsec>",
    "    Server will sleep before flushing the AOF, this is used for testing.",
    "ASSERT",
    "    Crash by assertion failed.",
    "CHANGE-REPL-ID",
    "    Change the replication IDs of the instance.",
    "    Dangerous: should be used only for testing the replication subsystem.",
    "CONFIG-REWRITE-FORCE-ALL",
    "    Like CONFIG REWRITE but writes all configuration options, including",
    "    keywords not listed in original configuration file or default values.",
    "CRASH-AND-RECOVER [<milliseconds>]",
    "    Hard crash and restart after a <milliseconds> delay (default 0).",
    "DIGEST",
    "    Output a hex signature representing the current DB content.",
    "DIGEST-VALUE <key> [<key> ...]",
    "    Output a hex signature of the values of all the specified keys.",
    "ERROR <string>",
    "    Return a Redis protocol error with <string> as message. Useful for clients",
    "    unit tests to simulate Redis errors.",
    "LEAK <string>",
    "    Create a memory leak of the input string.",
    "LOG <message>",
    "    Write <message> to the server log.",
    "HTSTATS <dbid>",
    "    Return hash table statistics of the specified Redis database.",
    "HTSTATS-KEY <key>",
    "    Like HTSTATS but for the hash table stored at <key>'s value.",
    "LOADAOF",
    "    Flush the AOF buffers on disk and reload the AOF in memory.",
    "REPLICATE <string>",
    "    Replicates the provided string to replicas, allowing data divergence.",
    "MALLCTL <key> [<val>]",
    "    Get or set a malloc tuning integer.",
    "MALLCTL-STR <key> [<val>]",
    "    Get or set a malloc tuning string.",
    "OBJECT <key>",
    "    Show low level info about `key` and associated value.",
    "DROP-CLUSTER-PACKET-FILTER <packet-type>",
    "    Drop all packets that match the filtered type. Set to -1 allow all packets.",
    "OOM",
    "    Crash the server simulating an out-of-memory error.",
    "PANIC",
    "    Crash the server simulating a panic.",
    "POPULATE <count> [<prefix>] [<size>]",
    "    Create <count> string keys named key:<num>. If <prefix> is specified then",
    "    it is used instead of the 'key' prefix. These are not propagated to",
    "    replicas. Cluster slots are not respected so keys not belonging to the",
    "    current node can be created in cluster mode.",
    "PROTOCOL <type>",
    "    Reply with a test value of the specified type. <type> can be: string,",
    "    integer, double, bignum, null, array, set, map, attrib, push, verbatim,",
    "    true, false.",
    "RELOAD [option ...]",
    "    Save the RDB on disk and reload it back to memory. Valid <option> values:",
    "    * MERGE: conflicting keys will be loaded from RDB.",
    "    * NOFLUSH: the existing database will not be removed before load, but",
    "      conflicting keys will generate an exception and kill the server.",
    "    * NOSAVE: the database will be loaded from an existing RDB file.",
    "    Examples:",
    "    * DEBUG RELOAD: verify that the server is able to persist, flush and reload",
    "      the database.",
    "    * DEBUG RELOAD NOSAVE: replace the current database with the contents of an",
    "      existing RDB file.",
    "    * DEBUG RELOAD NOSAVE NOFLUSH MERGE: add the contents of an existing RDB",
    "      file to the database.",
    "RESTART [<milliseconds>]",
    "    Graceful restart: save config, db, restart after a <milliseconds> delay (default 0).",
    "SDSLEN <key>",
    "    Show low level SDS string info representing `key` and value.",
    "SEGFAULT",
    "    Crash the server with sigsegv.",
    "SET-ACTIVE-EXPIRE <0|1>",
    "    Setting it to 0 disables expiring keys in background when they are not",
    "    accessed (otherwise the Redis behavior). Setting it to 1 reenables back the",
    "    default.",
    "QUICKLIST-PACKED-THRESHOLD <size>",
    "    Sets the threshold for elements to be inserted as plain vs packed nodes",
    "    Default value is 1GB, allows values up to 4GB. Setting to 0 restores to default.",
    "SET-SKIP-CHECKSUM-VALIDATION <0|1>",
    "    Enables or disables checksum checks for RDB files and RESTORE's payload.",
    "SLEEP <seconds>",
    "    Stop the server for <seconds>. Decimals allowed.",
    "STRINGMATCH-TEST",
    "    Run a fuzz tester against the stringmatchlen() function.",
    "STRUCTSIZE",
    "    Return the size of different Redis core C structures.",
    "LISTPACK <key>",
    "    Show low level info about the listpack encoding of <key>.",
    "QUICKLIST <key> [<0|1>]",
    "    Show low level info about the quicklist encoding of <key>.",
    "    The optional argument (0 by default) sets the level of detail",
    "CLIENT-EVICTION",
    "    Show low level client eviction pools info (maxmemory-clients).",
    "PAUSE-CRON <0|1>",
    "    Stop periodic cron job processing.",
    "REPLYBUFFER PEAK-RESET-TIME <NEVER||RESET|time>",
    "    Sets the time (in milliseconds) to wait between client reply buffer peak resets.",
    "    In case NEVER is provided the last observed peak will never be reset",
    "    In case RESET is provided the peak reset time will be restored to the default value",
    "REPLYBUFFER RESIZING <0|1>",
    "    Enable or disable the reply buffer resize cron job",
    "CLUSTERLINK KILL <to|from|all> <node-id>",
    "    Kills the link based on the direction to/from (both) with the provided node.",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn c_number_prefixes() {
        assert_eq!(strtod_prefix(b"0.5"), 0.5);
        assert_eq!(strtod_prefix(b"  2x"), 2.0);
        assert_eq!(strtod_prefix(b"a"), 0.0);
        assert_eq!(strtod_prefix(b"-1"), -1.0);
        assert_eq!(strtod_prefix(b"1e3"), 1000.0);
        assert_eq!(strtod_prefix(b".5s"), 0.5);
        assert_eq!(strtod_prefix(b"3.e"), 3.0);
        assert_eq!(strtod_prefix(b"2e+"), 2.0);
        assert_eq!(strtod_prefix(b"-."), 0.0);
        assert_eq!(strtod_prefix(b"1e999"), 0.0);
        assert_eq!(strtod_prefix(&[b'1'; 100_000]), 0.0);
        assert_eq!(atoi_prefix(b"2"), 2);
        assert_eq!(atoi_prefix(b" -7abc"), -7);
        assert_eq!(atoi_prefix(b"a"), 0);
        assert_eq!(atoi_prefix(b"99999999999999999999999"), i64::MAX);
    }

    #[test]
    fn serialized_lengths_match_redis() {
        // Values observed from Redis 7.0.15's DEBUG OBJECT.
        assert_eq!(saved_string_len(b"hello", true), 6);
        assert_eq!(saved_int_len(123), 2);
        assert_eq!(saved_string_len(&[b'a'; 61], true), 12);
        assert_eq!(saved_int_len(1000), 3);
        assert_eq!(saved_int_len(100_000), 5);
        assert_eq!(saved_int_len(i64::MAX), 20);
        assert_eq!(saved_string_len(b"-5", true), 2);
        assert_eq!(saved_string_len(&[b'a'; 61], false), 62);
        let cases: Vec<(Vec<u8>, usize)> = vec![
            (b"a".repeat(25), 12),
            (b"abc".repeat(10), 14),
            (b"abcd".repeat(30), 16),
            (b"hello world, hello world, hello world!!".to_vec(), 24),
            (b"The quick brown fox jumps over the lazy dog".to_vec(), 44),
            (b"0123456789".repeat(5), 21),
            (b"x".repeat(21), 9),
            (b"ab".repeat(11), 10),
            (b"abcdefghijklmnopqrstuvwxyz".to_vec(), 27),
            (b"abcdefghijklmnopqrstuvwxyzabcdefghij".to_vec(), 37),
            ((0..300).map(|i| b'A' + (i * 7 % 26) as u8).collect(), 40),
            ((0..500u32).map(|i| b'A' + (i * i % 26) as u8).collect(), 41),
            (b"abcabcab".repeat(3), 18),
            (b"aaaabaaaab".repeat(3), 17),
            (b"12345678901".to_vec(), 12),
            (b"123456789012".to_vec(), 13),
            (b"-2147483648".to_vec(), 5),
            (b"2147483648".to_vec(), 11),
            (b"-129".to_vec(), 3),
            (b"32767".to_vec(), 3),
            (b"32768".to_vec(), 5),
            (b"ecceadbabacdbdeaebabdcbdbabeed".to_vec(), 31),
        ];
        for (s, want) in cases {
            assert_eq!(saved_string_len(&s, true), want, "{}", String::from_utf8_lossy(&s));
        }
    }
}
