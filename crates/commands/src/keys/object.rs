//! OBJECT ENCODING | FREQ | IDLETIME | REFCOUNT | HELP.

use brim_engine::{EntryRef, StrRef, ValueRef};

use crate::ctx::Ctx;

use super::db;

/// Refcount Redis reports for its shared objects (OBJ_SHARED_REFCOUNT = INT_MAX).
const SHARED_REFCOUNT: i64 = i32::MAX as i64;
/// Redis shares the integers `0..OBJ_SHARED_INTEGERS`.
const SHARED_INTEGERS: i64 = 10_000;

/// Look up the key of an OBJECT subcommand without touching it (a keyspace hit or miss, as
/// Redis's objectCommandLookup) and compute the reply from it; a missing key replies null.
fn with_key<T>(ctx: &mut Ctx, key: &[u8], f: impl FnOnce(EntryRef<'_>) -> T) -> Option<T> {
    let acc = ctx.acc.no_touch();
    let found = db(ctx).lock(key).get(key, &acc).map(f);
    ctx.count_hit_or_miss(found.is_some());
    if found.is_none() {
        ctx.out.null();
    }
    found
}

/// OBJECT ENCODING key
pub(super) fn encoding(ctx: &mut Ctx, args: &[&[u8]]) {
    if let Some(enc) = with_key(ctx, args[2], |e| e.encoding()) {
        ctx.out.bulk(enc.as_bytes());
    }
}

/// OBJECT REFCOUNT key. Redis shares one object for each integer 0..9999 (refcount
/// INT_MAX) unless maxmemory is set with an LRU or LFU policy; every other value has a
/// refcount of 1. Brim decides from the current configuration.
pub(super) fn refcount(ctx: &mut Ctx, args: &[&[u8]]) {
    let Some(small_int) = with_key(
        ctx,
        args[2],
        |e| matches!(e.value(), ValueRef::Str(StrRef::Int(n)) if (0..SHARED_INTEGERS).contains(&n)),
    ) else {
        return;
    };
    let config = &ctx.shared.config;
    let policy = config.maxmemory_policy().as_str();
    let per_key_access = policy.ends_with("-lru") || policy.ends_with("-lfu") || policy.ends_with("-lrm");
    let shared = small_int && (config.maxmemory() == 0 || !per_key_access);
    ctx.out.int(if shared { SHARED_REFCOUNT } else { 1 });
}

/// OBJECT IDLETIME key (seconds since the last access; refused under an LFU policy).
pub(super) fn idletime(ctx: &mut Ctx, args: &[&[u8]]) {
    let Some(data) = with_key(ctx, args[2], |e| e.access_data()) else { return };
    if ctx.shared.config.maxmemory_policy().is_lfu() {
        ctx.error(
            "ERR An LFU maxmemory policy is selected, idle time not tracked. Please note that \
             when switching between policies at runtime LRU and LFU data will take some time \
             to adjust.",
        );
        return;
    }
    let secs = ctx.acc.idle_ms(data) / 1000;
    ctx.out.int(secs as i64);
}

/// OBJECT FREQ key (the decayed LFU counter; refused unless an LFU policy is selected).
pub(super) fn freq(ctx: &mut Ctx, args: &[&[u8]]) {
    let Some(data) = with_key(ctx, args[2], |e| e.access_data()) else { return };
    let config = &ctx.shared.config;
    if !config.maxmemory_policy().is_lfu() {
        ctx.error(
            "ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please \
             note that when switching between policies at runtime LRU and LFU data will take \
             some time to adjust.",
        );
        return;
    }
    let decay = u32::try_from(config.lfu_decay_time()).unwrap_or(u32::MAX);
    let counter = ctx.acc.lfu_decayed(data, decay);
    ctx.out.int(counter as i64);
}

const HELP: &[&str] = &[
    "ENCODING <key>",
    "    Return the kind of internal representation used in order to store the value",
    "    associated with a <key>.",
    "FREQ <key>",
    "    Return the access frequency index of the <key>. The returned integer is",
    "    proportional to the logarithm of the recent access frequency of the key.",
    "IDLETIME <key>",
    "    Return the idle time of the <key>, that is the approximated number of",
    "    seconds elapsed since the last access to the key.",
    "REFCOUNT <key>",
    "    Return the number of references of the value associated with the specified",
    "    <key>.",
];

/// OBJECT HELP
pub(super) fn help(ctx: &mut Ctx, _args: &[&[u8]]) {
    ctx.help("OBJECT", HELP);
}
