//! The replies of the COMMAND family built from the metadata: one COMMAND INFO entry, one
//! COMMAND DOCS entry, and the key positions COMMAND GETKEYS (and anything else that needs
//! the keys of a command line) reports, all as Redis 7.0.15 does (`server.c`
//! `addReplyCommandInfo` / `addReplyCommandDocs`, `db.c` `getKeysFromCommandWithSpecs`).
//!
//! Differences that cannot be avoided: Redis lists subcommands in the (randomly seeded) order
//! of its subcommand dict; here they come sorted by name.

use brim_resp::Reply;

use super::{flags, Arg, BeginSearch, CommandSpec, Doc, FindKeys, KeySpec, ACL_CATEGORIES};

/// COMMAND INFO flag names in the order Redis prints them. `may_replicate`, `sentinel`,
/// `only_sentinel`, `protected` and the module-only internals are hidden, as in Redis.
const FLAG_NAMES: &[(u64, &str)] = &[
    (flags::WRITE, "write"),
    (flags::READONLY, "readonly"),
    (flags::DENYOOM, "denyoom"),
    (flags::MODULE, "module"),
    (flags::ADMIN, "admin"),
    (flags::PUBSUB, "pubsub"),
    (flags::NOSCRIPT, "noscript"),
    (flags::BLOCKING, "blocking"),
    (flags::LOADING, "loading"),
    (flags::STALE, "stale"),
    (flags::SKIP_MONITOR, "skip_monitor"),
    (flags::SKIP_SLOWLOG, "skip_slowlog"),
    (flags::ASKING, "asking"),
    (flags::FAST, "fast"),
    (flags::NO_AUTH, "no_auth"),
    (flags::NO_MANDATORY_KEYS, "no_mandatory_keys"),
    (flags::NO_ASYNC_LOADING, "no_async_loading"),
    (flags::NO_MULTI, "no_multi"),
    (flags::MOVABLE_KEYS, "movablekeys"),
    (flags::ALLOW_BUSY, "allow_busy"),
];

/// The COMMAND GETKEYS error for a command line that names no known command (the caller
/// looks the command up, see [`super::lookup`]).
pub const ERR_INVALID_COMMAND: &str = "Invalid command specified";
/// [`get_keys`]: the command takes no keys at all.
pub const ERR_NO_KEY_ARGS: &str = "The command has no key arguments";
/// [`get_keys`]: the argument count does not satisfy the command's arity.
pub const ERR_BAD_ARITY: &str = "Invalid number of arguments specified for command";
/// [`get_keys`]: no keys found although the command needs some.
pub const ERR_BAD_ARGS: &str = "Invalid arguments specified for command";

// ---------------------------------------------------------------------------------------------
// COMMAND INFO

/// One COMMAND INFO entry: the 10-element array of Redis 7.0 (name, arity, flags, first key,
/// last key, step, ACL categories, tips, key specs, subcommands).
pub fn write_info(out: &mut Reply, spec: &CommandSpec) {
    out.array(10);
    out.bulk(spec.full_name().as_bytes());
    out.int(spec.arity as i64);
    let names: Vec<&str> =
        FLAG_NAMES.iter().filter(|(bit, _)| spec.flags & bit != 0).map(|(_, n)| *n).collect();
    out.set(names.len());
    for n in names {
        out.simple(n);
    }
    out.int(spec.key_range.0 as i64);
    out.int(spec.key_range.1 as i64);
    out.int(spec.key_range.2 as i64);
    let cats: Vec<&str> = ACL_CATEGORIES
        .iter()
        .enumerate()
        .filter(|(i, _)| spec.acl_categories & (1u64 << i) != 0)
        .map(|(_, c)| *c)
        .collect();
    out.set(cats.len());
    for c in cats {
        out.simple(&format!("@{c}"));
    }
    out.set(spec.doc.tips.len());
    for t in spec.doc.tips {
        out.bulk(t.as_bytes());
    }
    out.set(spec.key_specs.len());
    for ks in spec.key_specs {
        write_key_spec(out, ks);
    }
    if spec.subcommands.is_empty() {
        out.set(0);
    } else {
        out.array(spec.subcommands.len());
        for sub in spec.subcommands {
            write_info(out, sub);
        }
    }
}

fn write_key_spec(out: &mut Reply, ks: &KeySpec) {
    out.map(if ks.notes.is_empty() { 3 } else { 4 });
    if !ks.notes.is_empty() {
        out.bulk(b"notes");
        out.bulk(ks.notes.as_bytes());
    }
    out.bulk(b"flags");
    write_status_set(out, ks.flags);
    out.bulk(b"begin_search");
    out.map(2);
    out.bulk(b"type");
    match ks.begin_search {
        BeginSearch::Index(pos) => {
            out.bulk(b"index");
            out.bulk(b"spec");
            out.map(1);
            out.bulk(b"index");
            out.int(pos as i64);
        }
        BeginSearch::Keyword { keyword, startfrom } => {
            out.bulk(b"keyword");
            out.bulk(b"spec");
            out.map(2);
            out.bulk(b"keyword");
            out.bulk(keyword.as_bytes());
            out.bulk(b"startfrom");
            out.int(startfrom as i64);
        }
        BeginSearch::Unknown => {
            out.bulk(b"unknown");
            out.bulk(b"spec");
            out.map(0);
        }
    }
    out.bulk(b"find_keys");
    out.map(2);
    out.bulk(b"type");
    match ks.find_keys {
        FindKeys::Range { lastkey, keystep, limit } => {
            out.bulk(b"range");
            out.bulk(b"spec");
            out.map(3);
            out.bulk(b"lastkey");
            out.int(lastkey as i64);
            out.bulk(b"keystep");
            out.int(keystep as i64);
            out.bulk(b"limit");
            out.int(limit as i64);
        }
        FindKeys::Keynum { keynumidx, firstkey, keystep } => {
            out.bulk(b"keynum");
            out.bulk(b"spec");
            out.map(3);
            out.bulk(b"keynumidx");
            out.int(keynumidx as i64);
            out.bulk(b"firstkey");
            out.int(firstkey as i64);
            out.bulk(b"keystep");
            out.int(keystep as i64);
        }
        FindKeys::Unknown => {
            out.bulk(b"unknown");
            out.bulk(b"spec");
            out.map(0);
        }
    }
}

fn write_status_set(out: &mut Reply, items: &[&str]) {
    out.set(items.len());
    for i in items {
        out.simple(i);
    }
}

// ---------------------------------------------------------------------------------------------
// COMMAND DOCS

/// The value of one COMMAND DOCS map entry (the caller writes the key, the full name): the map
/// of summary, since, group, complexity, doc_flags, deprecated_since, replaced_by, history,
/// arguments and subcommands, leaving out what the command does not have, as Redis does.
pub fn write_docs(out: &mut Reply, spec: &CommandSpec) {
    let d: &Doc = spec.doc;
    let present = |s: &str| !s.is_empty();
    let len = 1
        + present(d.summary) as usize
        + present(d.since) as usize
        + present(d.complexity) as usize
        + !d.doc_flags.is_empty() as usize
        + present(d.deprecated_since) as usize
        + present(d.replaced_by) as usize
        + !d.history.is_empty() as usize
        + !d.arguments.is_empty() as usize
        + !spec.subcommands.is_empty() as usize;
    out.map(len);
    if present(d.summary) {
        out.bulk(b"summary");
        out.bulk(d.summary.as_bytes());
    }
    if present(d.since) {
        out.bulk(b"since");
        out.bulk(d.since.as_bytes());
    }
    out.bulk(b"group");
    out.bulk(d.group.as_bytes());
    if present(d.complexity) {
        out.bulk(b"complexity");
        out.bulk(d.complexity.as_bytes());
    }
    if !d.doc_flags.is_empty() {
        out.bulk(b"doc_flags");
        write_status_set(out, d.doc_flags);
    }
    if present(d.deprecated_since) {
        out.bulk(b"deprecated_since");
        out.bulk(d.deprecated_since.as_bytes());
    }
    if present(d.replaced_by) {
        out.bulk(b"replaced_by");
        out.bulk(d.replaced_by.as_bytes());
    }
    if !d.history.is_empty() {
        out.bulk(b"history");
        out.set(d.history.len());
        for (version, text) in d.history {
            out.array(2);
            out.bulk(version.as_bytes());
            out.bulk(text.as_bytes());
        }
    }
    if !d.arguments.is_empty() {
        out.bulk(b"arguments");
        write_args(out, d.arguments);
    }
    if !spec.subcommands.is_empty() {
        out.bulk(b"subcommands");
        out.map(spec.subcommands.len());
        for sub in spec.subcommands {
            out.bulk(sub.full_name().as_bytes());
            write_docs(out, sub);
        }
    }
}

/// Redis 7.0's `addReplyCommandArgList`. (`display` and `value` are not printed by 7.0.) A
/// `pure-token` argument always has its token, even an empty one (MIGRATE's `empty_string`).
fn write_args(out: &mut Reply, args: &[Arg]) {
    out.array(args.len());
    for a in args {
        let nested = a.kind == "oneof" || a.kind == "block";
        let token = !a.token.is_empty() || a.kind == "pure-token";
        let len = 2
            + (a.key_spec_index != -1) as usize
            + token as usize
            + !a.summary.is_empty() as usize
            + !a.since.is_empty() as usize
            + !a.deprecated_since.is_empty() as usize
            + !a.flags.is_empty() as usize
            + nested as usize;
        out.map(len);
        out.bulk(b"name");
        out.bulk(a.name.as_bytes());
        out.bulk(b"type");
        out.bulk(a.kind.as_bytes());
        if a.key_spec_index != -1 {
            out.bulk(b"key_spec_index");
            out.int(a.key_spec_index as i64);
        }
        if token {
            out.bulk(b"token");
            out.bulk(a.token.as_bytes());
        }
        if !a.summary.is_empty() {
            out.bulk(b"summary");
            out.bulk(a.summary.as_bytes());
        }
        if !a.since.is_empty() {
            out.bulk(b"since");
            out.bulk(a.since.as_bytes());
        }
        if !a.deprecated_since.is_empty() {
            out.bulk(b"deprecated_since");
            out.bulk(a.deprecated_since.as_bytes());
        }
        if !a.flags.is_empty() {
            out.bulk(b"flags");
            write_status_set(out, a.flags);
        }
        if nested {
            out.bulk(b"arguments");
            write_args(out, a.subargs);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Key extraction

/// COMMAND GETKEYS for `spec` (already looked up, e.g. with [`super::lookup`]; an unknown
/// command is [`ERR_INVALID_COMMAND`]): the indexes in `args` (`args[0]` is the command name)
/// of the key arguments, in the order Redis reports them. The error is the message after
/// `ERR `: [`ERR_NO_KEY_ARGS`], [`ERR_BAD_ARITY`] or [`ERR_BAD_ARGS`].
pub fn get_keys(spec: &CommandSpec, args: &[&[u8]]) -> Result<Vec<usize>, &'static str> {
    if !has_keys(spec) {
        return Err(ERR_NO_KEY_ARGS);
    }
    let argc = args.len() as i64;
    let arity = spec.arity as i64;
    if (arity > 0 && arity != argc) || argc < -arity {
        return Err(ERR_BAD_ARITY);
    }
    let keys = key_positions(spec, args);
    if keys.is_empty() && !spec.has(flags::NO_MANDATORY_KEYS) {
        return Err(ERR_BAD_ARGS);
    }
    Ok(keys)
}

/// Whether the command can have key arguments at all (Redis's `doesCommandHaveKeys`).
pub fn has_keys(spec: &CommandSpec) -> bool {
    getkeys_proc(spec).is_some()
        || spec.key_specs.iter().any(|ks| !ks.flags.contains(&"not_key"))
        || (spec.key_specs.is_empty() && spec.key_range.0 > 0)
}

/// The key positions of a command line without any validation (Redis's
/// `getKeysFromCommandWithSpecs`): the key specs when they are complete and their flags
/// fixed, else the command's own key finder (SORT, MIGRATE, numkeys commands on a numkeys
/// Redis's spec parser rejects, ...). An invalid command line gives no keys.
pub fn key_positions(spec: &CommandSpec, args: &[&[u8]]) -> Vec<usize> {
    let has_keyspec = spec.key_specs.iter().any(|ks| !ks.flags.contains(&"not_key"));
    let has_varflags = spec.key_specs.iter().any(|ks| ks.flags.contains(&"variable_flags"));
    if has_keyspec && !has_varflags {
        if let Some(keys) = keys_from_specs(spec, args) {
            return keys;
        }
    }
    if let Some(proc_) = getkeys_proc(spec) {
        return proc_(args);
    }
    if spec.key_specs.is_empty() {
        return keys_from_legacy_range(spec, args);
    }
    Vec::new()
}

/// The key spec that finds the key at `pos` (for COMMAND GETKEYSANDFLAGS); the first spec
/// when the keys come from the command's own key finder.
pub fn key_spec_of(spec: &'static CommandSpec, args: &[&[u8]], pos: usize) -> Option<&'static KeySpec> {
    let found = spec.key_specs.iter().find(|ks| {
        let one = CommandSpec { key_specs: std::slice::from_ref(*ks), ..*spec };
        keys_from_specs(&one, args).is_some_and(|k| k.contains(&pos))
    });
    found.or_else(|| spec.key_specs.first())
}

type GetKeysProc = fn(&[&[u8]]) -> Vec<usize>;

/// The commands that have a `getkeys_proc` in Redis 7.0.15.
fn getkeys_proc(spec: &CommandSpec) -> Option<GetKeysProc> {
    if spec.container.is_some() {
        return None;
    }
    Some(match spec.name {
        "zunion" | "zinter" | "zdiff" | "zintercard" | "sintercard" | "lmpop" | "zmpop" => {
            |a| generic_keys(0, 1, 2, 1, a)
        }
        "zunionstore" | "zinterstore" | "zdiffstore" => |a| generic_keys(1, 2, 3, 1, a),
        "eval" | "evalsha" | "eval_ro" | "evalsha_ro" | "fcall" | "fcall_ro" | "blmpop" | "bzmpop" => {
            |a| generic_keys(0, 2, 3, 1, a)
        }
        "sort" => sort_keys,
        "sort_ro" | "set" | "bitfield" => |_| vec![1],
        "migrate" => migrate_keys,
        "georadius" | "georadiusbymember" => georadius_keys,
        "xread" | "xreadgroup" => xread_keys,
        _ => return None,
    })
}

/// `getKeysUsingKeySpecs` (no partial results, `not_key` specs skipped): `None` when a spec
/// is unknown, incomplete or does not fit the arguments.
fn keys_from_specs(spec: &CommandSpec, args: &[&[u8]]) -> Option<Vec<usize>> {
    let argc = args.len() as i64;
    let mut keys = Vec::new();
    for ks in spec.key_specs {
        if ks.flags.contains(&"not_key") {
            continue;
        }
        let mut first = match ks.begin_search {
            BeginSearch::Index(pos) => pos as i64,
            BeginSearch::Keyword { keyword, startfrom } => {
                let startfrom = startfrom as i64;
                let (start, end) = if startfrom > 0 { (startfrom, argc - 1) } else { (argc + startfrom, 1) };
                let mut found = 0;
                let mut i = start;
                while i != end {
                    if i >= argc || i < 1 {
                        break;
                    }
                    if eq_ci(args[i as usize], keyword.as_bytes()) {
                        found = i + 1;
                        break;
                    }
                    i = if start <= end { i + 1 } else { i - 1 };
                }
                if found == 0 {
                    continue;
                }
                found
            }
            BeginSearch::Unknown => return None,
        };
        let (last, step) = match ks.find_keys {
            FindKeys::Range { lastkey, keystep, limit } => {
                let (lastkey, limit) = (lastkey as i64, limit as i64);
                let last = if lastkey >= 0 {
                    first + lastkey
                } else if limit == 0 {
                    argc + lastkey
                } else {
                    first + ((argc - first) / limit + lastkey)
                };
                (last, keystep as i64)
            }
            FindKeys::Keynum { keynumidx, firstkey, keystep } => {
                let idx = first + keynumidx as i64;
                if keynumidx as i64 >= argc || idx < 0 || idx >= argc {
                    return None;
                }
                let numkeys = string2ll(args[idx as usize]).filter(|n| *n >= 0)?;
                first += firstkey as i64;
                // Redis truncates the count to a C int.
                (first + (numkeys as i32) as i64 - 1, keystep as i64)
            }
            FindKeys::Unknown => return None,
        };
        if last >= argc || last < first || first >= argc {
            return None;
        }
        let mut i = first;
        while i <= last {
            if i >= 0 {
                keys.push(i as usize);
            }
            i += step.max(1);
        }
        if ks.flags.contains(&"incomplete") {
            return None;
        }
    }
    Some(keys)
}

/// `getKeysUsingLegacyRangeSpec`, for specs without key specs.
fn keys_from_legacy_range(spec: &CommandSpec, args: &[&[u8]]) -> Vec<usize> {
    let (first, last, step) = spec.key_range;
    if first <= 0 {
        return Vec::new();
    }
    let argc = args.len() as i64;
    let (first, step) = (first as i64, (step as i64).max(1));
    let last = if last < 0 { argc + last as i64 } else { last as i64 };
    let mut keys = Vec::new();
    let mut j = first;
    while j <= last {
        if j >= argc {
            return Vec::new();
        }
        keys.push(j as usize);
        j += step;
    }
    keys
}

/// `genericGetKeys`: `[storeKey] numkeys key...` commands.
fn generic_keys(store: usize, count_at: usize, first: usize, step: usize, args: &[&[u8]]) -> Vec<usize> {
    let Some(count) = args.get(count_at) else {
        return Vec::new();
    };
    let num = atoi(count) as i64;
    let argc = args.len() as i64;
    if num < 1 || num > (argc - first as i64) / step as i64 {
        return Vec::new();
    }
    let mut keys: Vec<usize> = (0..num as usize).map(|i| first + i * step).collect();
    if store != 0 {
        keys.push(store);
    }
    keys
}

/// `sortGetKeys`: the sorted key and the last `STORE` destination.
fn sort_keys(args: &[&[u8]]) -> Vec<usize> {
    const SKIP: &[(&[u8], usize)] = &[(b"limit", 2), (b"get", 1), (b"by", 1)];
    let mut keys = vec![1];
    let mut store = None;
    let mut i = 2;
    while i < args.len() {
        // Redis checks STORE in the same loop as the options, after LIMIT and before GET/BY.
        for (name, skip) in SKIP {
            if eq_ci(args[i], name) {
                i += skip;
                break;
            } else if eq_ci(args[i], b"store") && i + 1 < args.len() {
                store = Some(i + 1);
                break;
            }
        }
        i += 1;
    }
    keys.extend(store);
    keys
}

/// `migrateGetKeys`: the key argument, or the keys after `KEYS` (which needs an empty key
/// argument).
fn migrate_keys(args: &[&[u8]]) -> Vec<usize> {
    const SKIP: &[(&[u8], usize)] = &[(b"copy", 0), (b"replace", 0), (b"auth", 1), (b"auth2", 2)];
    let (mut first, mut num) = (3, 1);
    if args.len() > 6 {
        let mut i = 6;
        while i < args.len() {
            if eq_ci(args[i], b"keys") {
                // sdslen, not strlen: "\0k" is a key name here.
                if !args[3].is_empty() {
                    return Vec::new();
                }
                first = i + 1;
                num = args.len() - first;
                break;
            }
            if let Some((_, skip)) = SKIP.iter().find(|(name, _)| eq_ci(args[i], name)) {
                i += skip;
            }
            i += 1;
        }
    }
    (first..first + num).collect()
}

/// `georadiusGetKeys`: the key and the last `STORE`/`STOREDIST` destination.
fn georadius_keys(args: &[&[u8]]) -> Vec<usize> {
    let mut stored = None;
    let mut i = 5;
    while i < args.len() {
        if (eq_ci(args[i], b"store") || eq_ci(args[i], b"storedist")) && i + 1 < args.len() {
            stored = Some(i + 1);
            i += 1;
        }
        i += 1;
    }
    let mut keys = vec![1];
    keys.extend(stored);
    keys
}

/// `xreadGetKeys`: the first half of the arguments after `STREAMS`.
fn xread_keys(args: &[&[u8]]) -> Vec<usize> {
    let mut streams = None;
    let mut i = 1;
    while i < args.len() {
        let a = args[i];
        if eq_ci(a, b"block") || eq_ci(a, b"count") {
            i += 1;
        } else if eq_ci(a, b"group") {
            i += 2;
        } else if eq_ci(a, b"noack") {
        } else if eq_ci(a, b"streams") {
            streams = Some(i);
            break;
        } else {
            break;
        }
        i += 1;
    }
    let Some(pos) = streams else {
        return Vec::new();
    };
    let num = args.len() - pos - 1;
    if num == 0 || !num.is_multiple_of(2) {
        return Vec::new();
    }
    (pos + 1..pos + 1 + num / 2).collect()
}

/// The bytes C string functions see (up to the first NUL).
fn c_str(a: &[u8]) -> &[u8] {
    &a[..a.iter().position(|&b| b == 0).unwrap_or(a.len())]
}

/// `strcasecmp(a, b) == 0`.
fn eq_ci(a: &[u8], b: &[u8]) -> bool {
    c_str(a).eq_ignore_ascii_case(c_str(b))
}

/// glibc `atoi`: leading white space, a sign, digits; saturates like `strtol` and then
/// truncates to an int.
fn atoi(a: &[u8]) -> i32 {
    let a = c_str(a);
    let mut i = 0;
    while i < a.len() && matches!(a[i], b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r') {
        i += 1;
    }
    let mut neg = false;
    if i < a.len() && (a[i] == b'+' || a[i] == b'-') {
        neg = a[i] == b'-';
        i += 1;
    }
    let mut v: i64 = 0;
    let mut overflow = false;
    while i < a.len() && a[i].is_ascii_digit() {
        let d = (a[i] - b'0') as i64;
        match v.checked_mul(10).and_then(|v| if neg { v.checked_sub(d) } else { v.checked_add(d) }) {
            Some(n) => v = n,
            None => overflow = true,
        }
        if overflow {
            v = if neg { i64::MIN } else { i64::MAX };
            break;
        }
        i += 1;
    }
    v as i32
}

/// Redis's `string2ll`: a canonical decimal integer (no sign but `-`, no leading zeros or
/// spaces) that fits an i64.
fn string2ll(a: &[u8]) -> Option<i64> {
    if a.is_empty() || a.len() >= 21 {
        return None;
    }
    if a == b"0" {
        return Some(0);
    }
    let (neg, digits) = match a.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, a),
    };
    match digits.first() {
        Some(b'1'..=b'9') => {}
        _ => return None,
    }
    let mut v: u64 = 0;
    for &b in digits {
        if !b.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add((b - b'0') as u64)?;
    }
    if neg {
        if v > (i64::MAX as u64) + 1 {
            return None;
        }
        Some((v as i64).wrapping_neg())
    } else {
        i64::try_from(v).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::{find, lookup, SPECS};

    fn spec(full: &str) -> &'static CommandSpec {
        let parts: Vec<&[u8]> = full.split('|').map(str::as_bytes).collect();
        lookup(&parts).unwrap_or_else(|| panic!("no spec for {full}"))
    }

    fn render(f: fn(&mut Reply, &CommandSpec), spec: &CommandSpec, resp3: bool) -> String {
        let mut out = Reply::new();
        out.set_resp3(resp3);
        f(&mut out, spec);
        String::from_utf8(out.as_bytes().to_vec()).unwrap()
    }

    #[test]
    fn info_matches_redis() {
        for (name, resp2, resp3) in INFO {
            assert_eq!(render(write_info, spec(name), false), *resp2, "{name} RESP2");
            assert_eq!(render(write_info, spec(name), true), *resp3, "{name} RESP3");
        }
    }

    #[test]
    fn docs_matches_redis() {
        for (name, resp2, resp3) in DOCS {
            assert_eq!(render(write_docs, spec(name), false), *resp2, "{name} RESP2");
            assert_eq!(render(write_docs, spec(name), true), *resp3, "{name} RESP3");
        }
    }

    #[test]
    fn getkeys_matches_redis() {
        for (args, want) in GETKEYS {
            let argv: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
            let got = get_keys(lookup(&argv).unwrap(), &argv)
                .map(|idx| idx.iter().map(|&i| args[i]).collect::<Vec<_>>());
            assert_eq!(got.as_deref(), want.as_deref(), "{args:?}");
        }
    }

    #[test]
    fn lookup_and_invalid_command() {
        assert_eq!(lookup(&[b"CONFIG", b"Get"]).unwrap().full_name(), "config|get");
        assert_eq!(lookup(&[b"config"]).unwrap().full_name(), "config");
        assert!(lookup(&[b"config", b"nosub"]).is_none());
        assert!(lookup(&[b"nosuch", b"a"]).is_none());
        assert_eq!(lookup(&[b"GET", b"k"]).unwrap().full_name(), "get");
        assert!(find(b"restore-asking").is_some() && find(b"eval_ro").is_some());
        assert_eq!(get_keys(spec("config"), &[b"config"]), Err(ERR_NO_KEY_ARGS));
    }

    #[test]
    fn table_is_consistent() {
        assert_eq!(ACL_CATEGORIES.len(), 21);
        assert_eq!(SPECS.len(), 240);
        assert!(SPECS.windows(2).all(|w| w[0].name < w[1].name));
        let mut subs = 0;
        for s in SPECS {
            assert!(s.container.is_none());
            assert!(s.subcommands.windows(2).all(|w| w[0].name < w[1].name));
            for sub in s.subcommands {
                subs += 1;
                assert_eq!(sub.container, Some(s.name));
                assert!(sub.subcommands.is_empty());
            }
        }
        assert_eq!(subs, 126);
        let eval = find(b"eval").unwrap();
        assert!(eval.has(flags::MAY_REPLICATE) && eval.has(flags::NO_MANDATORY_KEYS));
        assert!(find(b"debug").unwrap().has(flags::PROTECTED));
        assert!(!find(b"get").unwrap().has(flags::MAY_REPLICATE));
    }

    // Captured from redis-server 7.0.15 (`COMMAND INFO <name>` without the outer `*1`,
    // `COMMAND DOCS <name>` without the outer map header and name), RESP2 then RESP3.
    const INFO: &[(&str, &str, &str)] = &[
        (
            "get",
            "\
            *10\r\n$3\r\nget\r\n:2\r\n*2\r\n+readonly\r\n+fast\r\n:1\r\n:1\r\n:1\r\n*3\r\n+@read\r\n\
            +@string\r\n+@fast\r\n*0\r\n*1\r\n*6\r\n$5\r\nflags\r\n*2\r\n+RO\r\n+access\r\n$12\r\n\
            begin_search\r\n*4\r\n$4\r\ntype\r\n$5\r\nindex\r\n$4\r\nspec\r\n*2\r\n$5\r\nindex\r\n\
            :1\r\n$9\r\nfind_keys\r\n*4\r\n$4\r\ntype\r\n$5\r\nrange\r\n$4\r\nspec\r\n*6\r\n$7\r\n\
            lastkey\r\n:0\r\n$7\r\nkeystep\r\n:1\r\n$5\r\nlimit\r\n:0\r\n*0\r\n\
        ",
            "\
            *10\r\n$3\r\nget\r\n:2\r\n~2\r\n+readonly\r\n+fast\r\n:1\r\n:1\r\n:1\r\n~3\r\n+@read\r\n\
            +@string\r\n+@fast\r\n~0\r\n~1\r\n%3\r\n$5\r\nflags\r\n~2\r\n+RO\r\n+access\r\n$12\r\n\
            begin_search\r\n%2\r\n$4\r\ntype\r\n$5\r\nindex\r\n$4\r\nspec\r\n%1\r\n$5\r\nindex\r\n\
            :1\r\n$9\r\nfind_keys\r\n%2\r\n$4\r\ntype\r\n$5\r\nrange\r\n$4\r\nspec\r\n%3\r\n$7\r\n\
            lastkey\r\n:0\r\n$7\r\nkeystep\r\n:1\r\n$5\r\nlimit\r\n:0\r\n~0\r\n\
        ",
        ),
        (
            "set",
            "\
            *10\r\n$3\r\nset\r\n:-3\r\n*2\r\n+write\r\n+denyoom\r\n:1\r\n:1\r\n:1\r\n*3\r\n\
            +@write\r\n+@string\r\n+@slow\r\n*0\r\n*1\r\n*8\r\n$5\r\nnotes\r\n$48\r\n\
            RW and ACCESS due to the optional `GET` argument\r\n$5\r\nflags\r\n*4\r\n+RW\r\n\
            +access\r\n+update\r\n+variable_flags\r\n$12\r\nbegin_search\r\n*4\r\n$4\r\ntype\r\n\
            $5\r\nindex\r\n$4\r\nspec\r\n*2\r\n$5\r\nindex\r\n:1\r\n$9\r\nfind_keys\r\n*4\r\n$4\r\n\
            type\r\n$5\r\nrange\r\n$4\r\nspec\r\n*6\r\n$7\r\nlastkey\r\n:0\r\n$7\r\nkeystep\r\n\
            :1\r\n$5\r\nlimit\r\n:0\r\n*0\r\n\
        ",
            "\
            *10\r\n$3\r\nset\r\n:-3\r\n~2\r\n+write\r\n+denyoom\r\n:1\r\n:1\r\n:1\r\n~3\r\n\
            +@write\r\n+@string\r\n+@slow\r\n~0\r\n~1\r\n%4\r\n$5\r\nnotes\r\n$48\r\n\
            RW and ACCESS due to the optional `GET` argument\r\n$5\r\nflags\r\n~4\r\n+RW\r\n\
            +access\r\n+update\r\n+variable_flags\r\n$12\r\nbegin_search\r\n%2\r\n$4\r\ntype\r\n\
            $5\r\nindex\r\n$4\r\nspec\r\n%1\r\n$5\r\nindex\r\n:1\r\n$9\r\nfind_keys\r\n%2\r\n$4\r\n\
            type\r\n$5\r\nrange\r\n$4\r\nspec\r\n%3\r\n$7\r\nlastkey\r\n:0\r\n$7\r\nkeystep\r\n\
            :1\r\n$5\r\nlimit\r\n:0\r\n~0\r\n\
        ",
        ),
        (
            "config|get",
            "\
            *10\r\n$10\r\nconfig|get\r\n:-3\r\n*4\r\n+admin\r\n+noscript\r\n+loading\r\n+stale\r\n\
            :0\r\n:0\r\n:0\r\n*3\r\n+@admin\r\n+@slow\r\n+@dangerous\r\n*0\r\n*0\r\n*0\r\n\
        ",
            "\
            *10\r\n$10\r\nconfig|get\r\n:-3\r\n~4\r\n+admin\r\n+noscript\r\n+loading\r\n+stale\r\n\
            :0\r\n:0\r\n:0\r\n~3\r\n+@admin\r\n+@slow\r\n+@dangerous\r\n~0\r\n~0\r\n~0\r\n\
        ",
        ),
        (
            "zunionstore",
            "\
            *10\r\n$11\r\nzunionstore\r\n:-4\r\n*3\r\n+write\r\n+denyoom\r\n+movablekeys\r\n:1\r\n\
            :1\r\n:1\r\n*3\r\n+@write\r\n+@sortedset\r\n+@slow\r\n*0\r\n*2\r\n*6\r\n$5\r\nflags\r\n\
            *2\r\n+OW\r\n+update\r\n$12\r\nbegin_search\r\n*4\r\n$4\r\ntype\r\n$5\r\nindex\r\n$4\r\n\
            spec\r\n*2\r\n$5\r\nindex\r\n:1\r\n$9\r\nfind_keys\r\n*4\r\n$4\r\ntype\r\n$5\r\n\
            range\r\n$4\r\nspec\r\n*6\r\n$7\r\nlastkey\r\n:0\r\n$7\r\nkeystep\r\n:1\r\n$5\r\n\
            limit\r\n:0\r\n*6\r\n$5\r\nflags\r\n*2\r\n+RO\r\n+access\r\n$12\r\nbegin_search\r\n\
            *4\r\n$4\r\ntype\r\n$5\r\nindex\r\n$4\r\nspec\r\n*2\r\n$5\r\nindex\r\n:2\r\n$9\r\n\
            find_keys\r\n*4\r\n$4\r\ntype\r\n$6\r\nkeynum\r\n$4\r\nspec\r\n*6\r\n$9\r\nkeynumidx\r\n\
            :0\r\n$8\r\nfirstkey\r\n:1\r\n$7\r\nkeystep\r\n:1\r\n*0\r\n\
        ",
            "\
            *10\r\n$11\r\nzunionstore\r\n:-4\r\n~3\r\n+write\r\n+denyoom\r\n+movablekeys\r\n:1\r\n\
            :1\r\n:1\r\n~3\r\n+@write\r\n+@sortedset\r\n+@slow\r\n~0\r\n~2\r\n%3\r\n$5\r\nflags\r\n\
            ~2\r\n+OW\r\n+update\r\n$12\r\nbegin_search\r\n%2\r\n$4\r\ntype\r\n$5\r\nindex\r\n$4\r\n\
            spec\r\n%1\r\n$5\r\nindex\r\n:1\r\n$9\r\nfind_keys\r\n%2\r\n$4\r\ntype\r\n$5\r\n\
            range\r\n$4\r\nspec\r\n%3\r\n$7\r\nlastkey\r\n:0\r\n$7\r\nkeystep\r\n:1\r\n$5\r\n\
            limit\r\n:0\r\n%3\r\n$5\r\nflags\r\n~2\r\n+RO\r\n+access\r\n$12\r\nbegin_search\r\n\
            %2\r\n$4\r\ntype\r\n$5\r\nindex\r\n$4\r\nspec\r\n%1\r\n$5\r\nindex\r\n:2\r\n$9\r\n\
            find_keys\r\n%2\r\n$4\r\ntype\r\n$6\r\nkeynum\r\n$4\r\nspec\r\n%3\r\n$9\r\nkeynumidx\r\n\
            :0\r\n$8\r\nfirstkey\r\n:1\r\n$7\r\nkeystep\r\n:1\r\n~0\r\n\
        ",
        ),
        (
            "xread",
            "\
            *10\r\n$5\r\nxread\r\n:-4\r\n*3\r\n+readonly\r\n+blocking\r\n+movablekeys\r\n:0\r\n\
            :0\r\n:0\r\n*4\r\n+@read\r\n+@stream\r\n+@slow\r\n+@blocking\r\n*0\r\n*1\r\n*6\r\n$5\r\n\
            flags\r\n*2\r\n+RO\r\n+access\r\n$12\r\nbegin_search\r\n*4\r\n$4\r\ntype\r\n$7\r\n\
            keyword\r\n$4\r\nspec\r\n*4\r\n$7\r\nkeyword\r\n$7\r\nSTREAMS\r\n$9\r\nstartfrom\r\n\
            :1\r\n$9\r\nfind_keys\r\n*4\r\n$4\r\ntype\r\n$5\r\nrange\r\n$4\r\nspec\r\n*6\r\n$7\r\n\
            lastkey\r\n:-1\r\n$7\r\nkeystep\r\n:1\r\n$5\r\nlimit\r\n:2\r\n*0\r\n\
        ",
            "\
            *10\r\n$5\r\nxread\r\n:-4\r\n~3\r\n+readonly\r\n+blocking\r\n+movablekeys\r\n:0\r\n\
            :0\r\n:0\r\n~4\r\n+@read\r\n+@stream\r\n+@slow\r\n+@blocking\r\n~0\r\n~1\r\n%3\r\n$5\r\n\
            flags\r\n~2\r\n+RO\r\n+access\r\n$12\r\nbegin_search\r\n%2\r\n$4\r\ntype\r\n$7\r\n\
            keyword\r\n$4\r\nspec\r\n%2\r\n$7\r\nkeyword\r\n$7\r\nSTREAMS\r\n$9\r\nstartfrom\r\n\
            :1\r\n$9\r\nfind_keys\r\n%2\r\n$4\r\ntype\r\n$5\r\nrange\r\n$4\r\nspec\r\n%3\r\n$7\r\n\
            lastkey\r\n:-1\r\n$7\r\nkeystep\r\n:1\r\n$5\r\nlimit\r\n:2\r\n~0\r\n\
        ",
        ),
    ];

    const DOCS: &[(&str, &str, &str)] = &[
        (
            "get",
            "\
            *10\r\n$7\r\nsummary\r\n$22\r\nGet the value of a key\r\n$5\r\nsince\r\n$5\r\n1.0.0\r\n\
            $5\r\ngroup\r\n$6\r\nstring\r\n$10\r\ncomplexity\r\n$4\r\nO(1)\r\n$9\r\narguments\r\n\
            *1\r\n*6\r\n$4\r\nname\r\n$3\r\nkey\r\n$4\r\ntype\r\n$3\r\nkey\r\n$14\r\n\
            key_spec_index\r\n:0\r\n\
        ",
            "\
            %5\r\n$7\r\nsummary\r\n$22\r\nGet the value of a key\r\n$5\r\nsince\r\n$5\r\n1.0.0\r\n\
            $5\r\ngroup\r\n$6\r\nstring\r\n$10\r\ncomplexity\r\n$4\r\nO(1)\r\n$9\r\narguments\r\n\
            *1\r\n%3\r\n$4\r\nname\r\n$3\r\nkey\r\n$4\r\ntype\r\n$3\r\nkey\r\n$14\r\n\
            key_spec_index\r\n:0\r\n\
        ",
        ),
        (
            "set",
            "\
            *12\r\n$7\r\nsummary\r\n$29\r\nSet the string value of a key\r\n$5\r\nsince\r\n$5\r\n\
            1.0.0\r\n$5\r\ngroup\r\n$6\r\nstring\r\n$10\r\ncomplexity\r\n$4\r\nO(1)\r\n$7\r\n\
            history\r\n*4\r\n*2\r\n$6\r\n2.6.12\r\n$44\r\n\
            Added the `EX`, `PX`, `NX` and `XX` options.\r\n*2\r\n$5\r\n6.0.0\r\n$27\r\n\
            Added the `KEEPTTL` option.\r\n*2\r\n$5\r\n6.2.0\r\n$42\r\n\
            Added the `GET`, `EXAT` and `PXAT` option.\r\n*2\r\n$5\r\n7.0.0\r\n$55\r\n\
            Allowed the `NX` and `GET` options to be used together.\r\n$9\r\narguments\r\n*5\r\n\
            *6\r\n$4\r\nname\r\n$3\r\nkey\r\n$4\r\ntype\r\n$3\r\nkey\r\n$14\r\nkey_spec_index\r\n\
            :0\r\n*4\r\n$4\r\nname\r\n$5\r\nvalue\r\n$4\r\ntype\r\n$6\r\nstring\r\n*10\r\n$4\r\n\
            name\r\n$9\r\ncondition\r\n$4\r\ntype\r\n$5\r\noneof\r\n$5\r\nsince\r\n$6\r\n2.6.12\r\n\
            $5\r\nflags\r\n*1\r\n+optional\r\n$9\r\narguments\r\n*2\r\n*6\r\n$4\r\nname\r\n$2\r\n\
            nx\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$2\r\nNX\r\n*6\r\n$4\r\nname\r\n\
            $2\r\nxx\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$2\r\nXX\r\n*10\r\n$4\r\n\
            name\r\n$3\r\nget\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$3\r\nGET\r\n\
            $5\r\nsince\r\n$5\r\n6.2.0\r\n$5\r\nflags\r\n*1\r\n+optional\r\n*8\r\n$4\r\nname\r\n\
            $10\r\nexpiration\r\n$4\r\ntype\r\n$5\r\noneof\r\n$5\r\nflags\r\n*1\r\n+optional\r\n\
            $9\r\narguments\r\n*5\r\n*8\r\n$4\r\nname\r\n$7\r\nseconds\r\n$4\r\ntype\r\n$7\r\n\
            integer\r\n$5\r\ntoken\r\n$2\r\nEX\r\n$5\r\nsince\r\n$6\r\n2.6.12\r\n*8\r\n$4\r\n\
            name\r\n$12\r\nmilliseconds\r\n$4\r\ntype\r\n$7\r\ninteger\r\n$5\r\ntoken\r\n$2\r\n\
            PX\r\n$5\r\nsince\r\n$6\r\n2.6.12\r\n*8\r\n$4\r\nname\r\n$17\r\nunix-time-seconds\r\n\
            $4\r\ntype\r\n$9\r\nunix-time\r\n$5\r\ntoken\r\n$4\r\nEXAT\r\n$5\r\nsince\r\n$5\r\n\
            6.2.0\r\n*8\r\n$4\r\nname\r\n$22\r\nunix-time-milliseconds\r\n$4\r\ntype\r\n$9\r\n\
            unix-time\r\n$5\r\ntoken\r\n$4\r\nPXAT\r\n$5\r\nsince\r\n$5\r\n6.2.0\r\n*8\r\n$4\r\n\
            name\r\n$7\r\nkeepttl\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$7\r\n\
            KEEPTTL\r\n$5\r\nsince\r\n$5\r\n6.0.0\r\n\
        ",
            "\
            %6\r\n$7\r\nsummary\r\n$29\r\nSet the string value of a key\r\n$5\r\nsince\r\n$5\r\n\
            1.0.0\r\n$5\r\ngroup\r\n$6\r\nstring\r\n$10\r\ncomplexity\r\n$4\r\nO(1)\r\n$7\r\n\
            history\r\n~4\r\n*2\r\n$6\r\n2.6.12\r\n$44\r\n\
            Added the `EX`, `PX`, `NX` and `XX` options.\r\n*2\r\n$5\r\n6.0.0\r\n$27\r\n\
            Added the `KEEPTTL` option.\r\n*2\r\n$5\r\n6.2.0\r\n$42\r\n\
            Added the `GET`, `EXAT` and `PXAT` option.\r\n*2\r\n$5\r\n7.0.0\r\n$55\r\n\
            Allowed the `NX` and `GET` options to be used together.\r\n$9\r\narguments\r\n*5\r\n\
            %3\r\n$4\r\nname\r\n$3\r\nkey\r\n$4\r\ntype\r\n$3\r\nkey\r\n$14\r\nkey_spec_index\r\n\
            :0\r\n%2\r\n$4\r\nname\r\n$5\r\nvalue\r\n$4\r\ntype\r\n$6\r\nstring\r\n%5\r\n$4\r\n\
            name\r\n$9\r\ncondition\r\n$4\r\ntype\r\n$5\r\noneof\r\n$5\r\nsince\r\n$6\r\n2.6.12\r\n\
            $5\r\nflags\r\n~1\r\n+optional\r\n$9\r\narguments\r\n*2\r\n%3\r\n$4\r\nname\r\n$2\r\n\
            nx\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$2\r\nNX\r\n%3\r\n$4\r\nname\r\n\
            $2\r\nxx\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$2\r\nXX\r\n%5\r\n$4\r\n\
            name\r\n$3\r\nget\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$3\r\nGET\r\n\
            $5\r\nsince\r\n$5\r\n6.2.0\r\n$5\r\nflags\r\n~1\r\n+optional\r\n%4\r\n$4\r\nname\r\n\
            $10\r\nexpiration\r\n$4\r\ntype\r\n$5\r\noneof\r\n$5\r\nflags\r\n~1\r\n+optional\r\n\
            $9\r\narguments\r\n*5\r\n%4\r\n$4\r\nname\r\n$7\r\nseconds\r\n$4\r\ntype\r\n$7\r\n\
            integer\r\n$5\r\ntoken\r\n$2\r\nEX\r\n$5\r\nsince\r\n$6\r\n2.6.12\r\n%4\r\n$4\r\n\
            name\r\n$12\r\nmilliseconds\r\n$4\r\ntype\r\n$7\r\ninteger\r\n$5\r\ntoken\r\n$2\r\n\
            PX\r\n$5\r\nsince\r\n$6\r\n2.6.12\r\n%4\r\n$4\r\nname\r\n$17\r\nunix-time-seconds\r\n\
            $4\r\ntype\r\n$9\r\nunix-time\r\n$5\r\ntoken\r\n$4\r\nEXAT\r\n$5\r\nsince\r\n$5\r\n\
            6.2.0\r\n%4\r\n$4\r\nname\r\n$22\r\nunix-time-milliseconds\r\n$4\r\ntype\r\n$9\r\n\
            unix-time\r\n$5\r\ntoken\r\n$4\r\nPXAT\r\n$5\r\nsince\r\n$5\r\n6.2.0\r\n%4\r\n$4\r\n\
            name\r\n$7\r\nkeepttl\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$7\r\n\
            KEEPTTL\r\n$5\r\nsince\r\n$5\r\n6.0.0\r\n\
        ",
        ),
        (
            "config|get",
            "\
            *12\r\n$7\r\nsummary\r\n$42\r\nGet the values of configuration parameters\r\n$5\r\n\
            since\r\n$5\r\n2.0.0\r\n$5\r\ngroup\r\n$6\r\nserver\r\n$10\r\ncomplexity\r\n$62\r\n\
            O(N) when N is the number of configuration parameters provided\r\n$7\r\nhistory\r\n\
            *1\r\n*2\r\n$5\r\n7.0.0\r\n$65\r\n\
            Added the ability to pass multiple pattern parameters in one call\r\n$9\r\narguments\r\n\
            *1\r\n*8\r\n$4\r\nname\r\n$9\r\nparameter\r\n$4\r\ntype\r\n$5\r\nblock\r\n$5\r\n\
            flags\r\n*1\r\n+multiple\r\n$9\r\narguments\r\n*1\r\n*4\r\n$4\r\nname\r\n$9\r\n\
            parameter\r\n$4\r\ntype\r\n$6\r\nstring\r\n\
        ",
            "\
            %6\r\n$7\r\nsummary\r\n$42\r\nGet the values of configuration parameters\r\n$5\r\n\
            since\r\n$5\r\n2.0.0\r\n$5\r\ngroup\r\n$6\r\nserver\r\n$10\r\ncomplexity\r\n$62\r\n\
            O(N) when N is the number of configuration parameters provided\r\n$7\r\nhistory\r\n\
            ~1\r\n*2\r\n$5\r\n7.0.0\r\n$65\r\n\
            Added the ability to pass multiple pattern parameters in one call\r\n$9\r\narguments\r\n\
            *1\r\n%4\r\n$4\r\nname\r\n$9\r\nparameter\r\n$4\r\ntype\r\n$5\r\nblock\r\n$5\r\n\
            flags\r\n~1\r\n+multiple\r\n$9\r\narguments\r\n*1\r\n%2\r\n$4\r\nname\r\n$9\r\n\
            parameter\r\n$4\r\ntype\r\n$6\r\nstring\r\n\
        ",
        ),
        (
            "zunionstore",
            "\
            *10\r\n$7\r\nsummary\r\n$72\r\n\
            Add multiple sorted sets and store the resulting sorted set in a new key\r\n$5\r\n\
            since\r\n$5\r\n2.0.0\r\n$5\r\ngroup\r\n$10\r\nsorted-set\r\n$10\r\ncomplexity\r\n\
            $140\r\n\
            O(N)+O(M log(M)) with N being the sum of the sizes of the input sorted sets, and M being the number of elements in the resulting sorted set.\r\n\
            $9\r\narguments\r\n*5\r\n*6\r\n$4\r\nname\r\n$11\r\ndestination\r\n$4\r\ntype\r\n$3\r\n\
            key\r\n$14\r\nkey_spec_index\r\n:0\r\n*4\r\n$4\r\nname\r\n$7\r\nnumkeys\r\n$4\r\n\
            type\r\n$7\r\ninteger\r\n*8\r\n$4\r\nname\r\n$3\r\nkey\r\n$4\r\ntype\r\n$3\r\nkey\r\n\
            $14\r\nkey_spec_index\r\n:1\r\n$5\r\nflags\r\n*1\r\n+multiple\r\n*8\r\n$4\r\nname\r\n\
            $6\r\nweight\r\n$4\r\ntype\r\n$7\r\ninteger\r\n$5\r\ntoken\r\n$7\r\nWEIGHTS\r\n$5\r\n\
            flags\r\n*2\r\n+optional\r\n+multiple\r\n*10\r\n$4\r\nname\r\n$9\r\naggregate\r\n$4\r\n\
            type\r\n$5\r\noneof\r\n$5\r\ntoken\r\n$9\r\nAGGREGATE\r\n$5\r\nflags\r\n*1\r\n\
            +optional\r\n$9\r\narguments\r\n*3\r\n*6\r\n$4\r\nname\r\n$3\r\nsum\r\n$4\r\ntype\r\n\
            $10\r\npure-token\r\n$5\r\ntoken\r\n$3\r\nSUM\r\n*6\r\n$4\r\nname\r\n$3\r\nmin\r\n$4\r\n\
            type\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$3\r\nMIN\r\n*6\r\n$4\r\nname\r\n$3\r\n\
            max\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$3\r\nMAX\r\n\
        ",
            "\
            %5\r\n$7\r\nsummary\r\n$72\r\n\
            Add multiple sorted sets and store the resulting sorted set in a new key\r\n$5\r\n\
            since\r\n$5\r\n2.0.0\r\n$5\r\ngroup\r\n$10\r\nsorted-set\r\n$10\r\ncomplexity\r\n\
            $140\r\n\
            O(N)+O(M log(M)) with N being the sum of the sizes of the input sorted sets, and M being the number of elements in the resulting sorted set.\r\n\
            $9\r\narguments\r\n*5\r\n%3\r\n$4\r\nname\r\n$11\r\ndestination\r\n$4\r\ntype\r\n$3\r\n\
            key\r\n$14\r\nkey_spec_index\r\n:0\r\n%2\r\n$4\r\nname\r\n$7\r\nnumkeys\r\n$4\r\n\
            type\r\n$7\r\ninteger\r\n%4\r\n$4\r\nname\r\n$3\r\nkey\r\n$4\r\ntype\r\n$3\r\nkey\r\n\
            $14\r\nkey_spec_index\r\n:1\r\n$5\r\nflags\r\n~1\r\n+multiple\r\n%4\r\n$4\r\nname\r\n\
            $6\r\nweight\r\n$4\r\ntype\r\n$7\r\ninteger\r\n$5\r\ntoken\r\n$7\r\nWEIGHTS\r\n$5\r\n\
            flags\r\n~2\r\n+optional\r\n+multiple\r\n%5\r\n$4\r\nname\r\n$9\r\naggregate\r\n$4\r\n\
            type\r\n$5\r\noneof\r\n$5\r\ntoken\r\n$9\r\nAGGREGATE\r\n$5\r\nflags\r\n~1\r\n\
            +optional\r\n$9\r\narguments\r\n*3\r\n%3\r\n$4\r\nname\r\n$3\r\nsum\r\n$4\r\ntype\r\n\
            $10\r\npure-token\r\n$5\r\ntoken\r\n$3\r\nSUM\r\n%3\r\n$4\r\nname\r\n$3\r\nmin\r\n$4\r\n\
            type\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$3\r\nMIN\r\n%3\r\n$4\r\nname\r\n$3\r\n\
            max\r\n$4\r\ntype\r\n$10\r\npure-token\r\n$5\r\ntoken\r\n$3\r\nMAX\r\n\
        ",
        ),
        (
            "xread",
            "\
            *10\r\n$7\r\nsummary\r\n$129\r\n\
            Return never seen elements in multiple streams, with IDs greater than the ones reported by the caller for each stream. Can block.\r\n\
            $5\r\nsince\r\n$5\r\n5.0.0\r\n$5\r\ngroup\r\n$6\r\nstream\r\n$10\r\ncomplexity\r\n\
            $272\r\n\
            For each stream mentioned: O(N) with N being the number of elements being returned, it means that XREAD-ing with a fixed COUNT is O(1). Note that when the BLOCK option is used, XADD will pay O(M) time in order to serve the M clients blocked on the stream getting new data.\r\n\
            $9\r\narguments\r\n*3\r\n*8\r\n$4\r\nname\r\n$5\r\ncount\r\n$4\r\ntype\r\n$7\r\n\
            integer\r\n$5\r\ntoken\r\n$5\r\nCOUNT\r\n$5\r\nflags\r\n*1\r\n+optional\r\n*8\r\n$4\r\n\
            name\r\n$12\r\nmilliseconds\r\n$4\r\ntype\r\n$7\r\ninteger\r\n$5\r\ntoken\r\n$5\r\n\
            BLOCK\r\n$5\r\nflags\r\n*1\r\n+optional\r\n*8\r\n$4\r\nname\r\n$7\r\nstreams\r\n$4\r\n\
            type\r\n$5\r\nblock\r\n$5\r\ntoken\r\n$7\r\nSTREAMS\r\n$9\r\narguments\r\n*2\r\n*8\r\n\
            $4\r\nname\r\n$3\r\nkey\r\n$4\r\ntype\r\n$3\r\nkey\r\n$14\r\nkey_spec_index\r\n:0\r\n\
            $5\r\nflags\r\n*1\r\n+multiple\r\n*6\r\n$4\r\nname\r\n$2\r\nid\r\n$4\r\ntype\r\n$6\r\n\
            string\r\n$5\r\nflags\r\n*1\r\n+multiple\r\n\
        ",
            "\
            %5\r\n$7\r\nsummary\r\n$129\r\n\
            Return never seen elements in multiple streams, with IDs greater than the ones reported by the caller for each stream. Can block.\r\n\
            $5\r\nsince\r\n$5\r\n5.0.0\r\n$5\r\ngroup\r\n$6\r\nstream\r\n$10\r\ncomplexity\r\n\
            $272\r\n\
            For each stream mentioned: O(N) with N being the number of elements being returned, it means that XREAD-ing with a fixed COUNT is O(1). Note that when the BLOCK option is used, XADD will pay O(M) time in order to serve the M clients blocked on the stream getting new data.\r\n\
            $9\r\narguments\r\n*3\r\n%4\r\n$4\r\nname\r\n$5\r\ncount\r\n$4\r\ntype\r\n$7\r\n\
            integer\r\n$5\r\ntoken\r\n$5\r\nCOUNT\r\n$5\r\nflags\r\n~1\r\n+optional\r\n%4\r\n$4\r\n\
            name\r\n$12\r\nmilliseconds\r\n$4\r\ntype\r\n$7\r\ninteger\r\n$5\r\ntoken\r\n$5\r\n\
            BLOCK\r\n$5\r\nflags\r\n~1\r\n+optional\r\n%4\r\n$4\r\nname\r\n$7\r\nstreams\r\n$4\r\n\
            type\r\n$5\r\nblock\r\n$5\r\ntoken\r\n$7\r\nSTREAMS\r\n$9\r\narguments\r\n*2\r\n%4\r\n\
            $4\r\nname\r\n$3\r\nkey\r\n$4\r\ntype\r\n$3\r\nkey\r\n$14\r\nkey_spec_index\r\n:0\r\n\
            $5\r\nflags\r\n~1\r\n+multiple\r\n%3\r\n$4\r\nname\r\n$2\r\nid\r\n$4\r\ntype\r\n$6\r\n\
            string\r\n$5\r\nflags\r\n~1\r\n+multiple\r\n\
        ",
        ),
    ];

    // `COMMAND GETKEYS ...` on redis-server 7.0.15: the keys, or the error after `ERR `.
    #[allow(clippy::type_complexity)]
    const GETKEYS: &[(&[&str], Result<&[&str], &str>)] = &[
        (&["get", "k"], Ok(&["k"])),
        (&["get", "a", "b"], Err("Invalid number of arguments specified for command")),
        (&["ping", "x"], Err("The command has no key arguments")),
        (&["set", "k", "v", "GET"], Ok(&["k"])),
        (&["mset", "a", "1", "b", "2"], Ok(&["a", "b"])),
        (&["mset", "a", "1", "b"], Ok(&["a", "b"])),
        (&["bitop", "and", "d", "a", "b"], Ok(&["d", "a", "b"])),
        (&["object", "encoding", "k"], Ok(&["k"])),
        (&["memory", "usage", "k"], Ok(&["k"])),
        (&["xinfo", "stream", "s"], Ok(&["s"])),
        (&["lcs", "a", "b"], Ok(&["a", "b"])),
        (&["eval", "s", "2", "a", "b", "c"], Ok(&["a", "b"])),
        (&["eval", "s", "0"], Ok(&[])),
        (&["evalsha", "s", "01", "a"], Ok(&["a"])),
        (&["fcall", "f", "1", "a", "b"], Ok(&["a"])),
        (&["zunionstore", "d", "2", "a", "b", "WEIGHTS", "1", "2"], Ok(&["d", "a", "b"])),
        (&["zunionstore", "d", "1x", "a"], Ok(&["a", "d"])),
        (&["zunion", "3", "a", "b"], Err("Invalid arguments specified for command")),
        (&["zdiffstore", "d", "3", "a", "b"], Err("Invalid arguments specified for command")),
        (&["sintercard", "2", "a", "b", "LIMIT", "1"], Ok(&["a", "b"])),
        (&["lmpop", "2", "a", "b", "LEFT"], Ok(&["a", "b"])),
        (&["blmpop", "0", "2", "a", "b", "LEFT"], Ok(&["a", "b"])),
        (&["bzmpop", "0", "1", "a", "MIN"], Ok(&["a"])),
        (&["sort", "k", "BY", "x", "STORE", "d"], Ok(&["k", "d"])),
        (&["sort", "k", "STORE", "a", "STORE", "b"], Ok(&["k", "b"])),
        (&["sort", "k", "STORE"], Ok(&["k"])),
        (&["sort_ro", "k", "BY", "x"], Ok(&["k"])),
        (&["migrate", "h", "p", "", "0", "5000", "COPY", "AUTH", "keys", "KEYS", "a", "b"], Ok(&["a", "b"])),
        (&["migrate", "h", "p", "k", "0", "5000"], Ok(&["k"])),
        (&["migrate", "h", "p", "", "0", "5000"], Ok(&[""])),
        (
            &["migrate", "h", "p", "k", "0", "5000", "KEYS", "a"],
            Err("Invalid arguments specified for command"),
        ),
        (&["xread", "COUNT", "2", "STREAMS", "a", "b", "1", "2"], Ok(&["a", "b"])),
        (&["xread", "BLOCK", "1", "streams", "streams", "streams", "1", "1"], Ok(&["streams", "streams"])),
        (&["xread", "COUNT", "1", "STREAMS", "a"], Err("Invalid arguments specified for command")),
        (&["xreadgroup", "GROUP", "g", "c", "NOACK", "STREAMS", "a", "0"], Ok(&["a"])),
        (&["georadius", "k", "1", "2", "3", "m", "STORE", "a", "STOREDIST", "b"], Ok(&["k", "a", "b"])),
        (&["georadius", "k", "1", "2", "3", "m", "STORE"], Ok(&["k"])),
        (&["georadiusbymember", "k", "m", "1", "km", "STOREDIST", "x"], Ok(&["k", "x"])),
        (&["publish", "ch", "m"], Err("The command has no key arguments")),
        (&["subscribe", "a"], Err("The command has no key arguments")),
        (&["keys", "*"], Err("The command has no key arguments")),
    ];
}
