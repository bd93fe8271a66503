//! KEYS and SCAN.

use brim_glob::glob_match;

use crate::args::{is, parse_cursor, parse_i64, NOT_INTEGER, SYNTAX};
use crate::ctx::Ctx;

use super::db;

/// Whether `key` matches `pattern`; `*` matches everything, even the empty key (Redis
/// skips the matcher for it).
fn matches(pattern: &[u8], key: &[u8]) -> bool {
    pattern == b"*" || glob_match(pattern, key, false)
}

/// KEYS pattern (exclusive, so the reply is a consistent snapshot as in Redis).
pub(super) fn keys(ctx: &mut Ctx, args: &[&[u8]]) {
    let pattern = args[1];
    let acc = ctx.acc.no_touch();
    let db = db(ctx);
    let at = ctx.out.begin_deferred();
    let mut n = 0usize;
    for i in 0..db.stripe_count() {
        let stripe = db.lock_stripe(i);
        stripe.for_each(&acc, |e| {
            if matches(pattern, e.key()) {
                ctx.out.bulk(e.key());
                n += 1;
            }
        });
    }
    ctx.out.end_deferred(at, brim_resp::Aggregate::Array, n);
}

/// SCAN cursor [MATCH pattern] [COUNT count] [TYPE type]
pub(super) fn scan(ctx: &mut Ctx, args: &[&[u8]]) {
    let Some(cursor) = parse_cursor(args[1]) else {
        ctx.error("ERR invalid cursor");
        return;
    };
    let mut count: i64 = 10;
    let mut pattern: Option<&[u8]> = None;
    let mut type_name: Option<&[u8]> = None;
    let mut i = 2;
    while i < args.len() {
        let left = args.len() - i;
        if is(args[i], "count") && left >= 2 {
            let Some(c) = parse_i64(args[i + 1]) else {
                ctx.error(NOT_INTEGER);
                return;
            };
            if c < 1 {
                ctx.error(SYNTAX);
                return;
            }
            count = c;
        } else if is(args[i], "match") && left >= 2 {
            pattern = Some(args[i + 1]).filter(|p| *p != b"*");
        } else if is(args[i], "type") && left >= 2 {
            type_name = Some(args[i + 1]);
        } else {
            ctx.error(SYNTAX);
            return;
        }
        i += 2;
    }
    let acc = ctx.acc.no_touch();
    let db = db(ctx);
    let mut found: Vec<Vec<u8>> = Vec::new();
    let mut type_checks = 0usize;
    let next = db.scan(cursor, usize::try_from(count).unwrap_or(usize::MAX), &acc, |e| {
        if pattern.is_some_and(|p| !glob_match(p, e.key(), false)) {
            return;
        }
        if let Some(t) = type_name {
            type_checks += 1;
            if !e.value_type().name().as_bytes().eq_ignore_ascii_case(t) {
                return;
            }
        }
        found.push(e.key().to_vec());
    });
    // Redis looks each candidate up to check its type (a keyspace hit).
    for _ in 0..type_checks {
        ctx.count_hit_or_miss(true);
    }
    ctx.out.array(2);
    ctx.out.bulk(next.to_string().as_bytes());
    ctx.out.array(found.len());
    for k in &found {
        ctx.out.bulk(k);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn star_matches_the_empty_key() {
        assert!(matches(b"*", b""));
        assert!(!matches(b"?", b""));
        assert!(matches(b"", b""));
        assert!(matches(b"a*", b"abc"));
    }
}
