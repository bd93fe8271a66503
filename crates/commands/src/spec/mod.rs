//! Command metadata: name, arity, flags, key specs, ACL categories and documentation of every
//! command, as Redis 7.0 declares them. `generated.rs` holds the data (produced by
//! `scripts/gen-command-spec.py` from Redis 7.0.15's own COMMAND INFO / COMMAND DOCS); the
//! handlers are bound to it by name in `crate::table`.

mod extra;
mod generated;
pub mod reply;

pub use extra::EXTRA_SUBCOMMANDS;
pub use generated::{acl, ACL_CATEGORIES, SPECS};

/// Command flags (Redis's CMD_* flags, named as COMMAND INFO prints them).
pub mod flags {
    pub const WRITE: u64 = 1 << 0;
    pub const READONLY: u64 = 1 << 1;
    pub const DENYOOM: u64 = 1 << 2;
    pub const MODULE: u64 = 1 << 3;
    pub const ADMIN: u64 = 1 << 4;
    pub const PUBSUB: u64 = 1 << 5;
    pub const NOSCRIPT: u64 = 1 << 6;
    pub const BLOCKING: u64 = 1 << 8;
    pub const LOADING: u64 = 1 << 9;
    pub const STALE: u64 = 1 << 10;
    pub const SKIP_MONITOR: u64 = 1 << 11;
    pub const SKIP_SLOWLOG: u64 = 1 << 12;
    pub const ASKING: u64 = 1 << 13;
    pub const FAST: u64 = 1 << 14;
    pub const NO_AUTH: u64 = 1 << 15;
    pub const MAY_REPLICATE: u64 = 1 << 16;
    pub const SENTINEL: u64 = 1 << 17;
    pub const ONLY_SENTINEL: u64 = 1 << 18;
    pub const NO_MANDATORY_KEYS: u64 = 1 << 19;
    pub const PROTECTED: u64 = 1 << 20;
    pub const MODULE_GETKEYS: u64 = 1 << 21;
    pub const MODULE_NO_CLUSTER: u64 = 1 << 22;
    pub const NO_ASYNC_LOADING: u64 = 1 << 23;
    pub const NO_MULTI: u64 = 1 << 24;
    pub const MOVABLE_KEYS: u64 = 1 << 25;
    pub const ALLOW_BUSY: u64 = 1 << 26;
    pub const MODULE_GETCHANNELS: u64 = 1 << 27;
    pub const TOUCHES_ARBITRARY_KEYS: u64 = 1 << 28;
}

/// One command or subcommand.
#[derive(Debug)]
pub struct CommandSpec {
    /// Lower-case name (`get`; for a subcommand just its own part, e.g. `get` under `config`).
    pub name: &'static str,
    /// The container's name for a subcommand (`config`), else `None`.
    pub container: Option<&'static str>,
    /// Redis arity: positive = exact argument count including the name, negative = minimum.
    pub arity: i32,
    /// `flags::*` bits.
    pub flags: u64,
    /// ACL category bits (see the generated module for their names).
    pub acl_categories: u64,
    /// Legacy key range for COMMAND INFO: first key, last key, step.
    pub key_range: (i32, i32, i32),
    /// Key specs as COMMAND INFO prints them.
    pub key_specs: &'static [KeySpec],
    /// Subcommands (for containers like CONFIG, CLIENT).
    pub subcommands: &'static [CommandSpec],
    /// Documentation for COMMAND DOCS.
    pub doc: &'static Doc,
}

impl CommandSpec {
    /// Whether the command has flag `f`.
    pub fn has(&self, f: u64) -> bool {
        self.flags & f != 0
    }

    /// The full name as errors and stats print it: `get`, `config|get`.
    pub fn full_name(&self) -> String {
        match self.container {
            Some(c) => format!("{c}|{}", self.name),
            None => self.name.to_string(),
        }
    }

    /// The subcommand called `name` (any case).
    pub fn subcommand(&self, name: &[u8]) -> Option<&'static CommandSpec> {
        find_in(self.subcommands, name)
    }
}

/// The top-level command called `name` (any case).
pub fn find(name: &[u8]) -> Option<&'static CommandSpec> {
    find_in(SPECS, name)
}

/// Redis's `lookupCommand`: `args[0]` names the command; for a container, `args[1]` (when
/// given) names the subcommand, and an unknown subcommand is `None`.
pub fn lookup(args: &[&[u8]]) -> Option<&'static CommandSpec> {
    let base = find(args.first()?)?;
    match args.get(1) {
        Some(sub) if !base.subcommands.is_empty() => base.subcommand(sub),
        _ => Some(base),
    }
}

/// Binary search of a name-sorted spec slice, ignoring the case of `name`.
fn find_in(specs: &'static [CommandSpec], name: &[u8]) -> Option<&'static CommandSpec> {
    specs
        .binary_search_by(|s| s.name.bytes().cmp(name.iter().map(|b| b.to_ascii_lowercase())))
        .ok()
        .map(|i| &specs[i])
}

/// A key spec (Redis 7 `keySpec`): where keys are and what the command does to them.
#[derive(Debug)]
pub struct KeySpec {
    /// Notes for humans (may be empty).
    pub notes: &'static str,
    /// Key spec flags as COMMAND INFO names them (`RW`, `ACCESS`, ...).
    pub flags: &'static [&'static str],
    /// Where the search for the first key begins.
    pub begin_search: BeginSearch,
    /// How the keys are found from there.
    pub find_keys: FindKeys,
}

/// The begin_search part of a key spec.
#[derive(Debug)]
pub enum BeginSearch {
    /// The key search starts at this argument index.
    Index(i32),
    /// The search starts after this keyword, looked for from `startfrom`.
    Keyword { keyword: &'static str, startfrom: i32 },
    /// Unknown (the command finds its keys itself).
    Unknown,
}

/// The find_keys part of a key spec.
#[derive(Debug)]
pub enum FindKeys {
    /// Keys in a range: `lastkey` relative to the start (-1: last argument), `keystep`,
    /// `limit`.
    Range { lastkey: i32, keystep: i32, limit: i32 },
    /// The number of keys is in an argument.
    Keynum { keynumidx: i32, firstkey: i32, keystep: i32 },
    /// Unknown.
    Unknown,
}

/// COMMAND DOCS data.
#[derive(Debug)]
pub struct Doc {
    pub summary: &'static str,
    pub since: &'static str,
    pub group: &'static str,
    pub complexity: &'static str,
    /// Doc flags as COMMAND DOCS names them (`deprecated`, `syscmd`).
    pub doc_flags: &'static [&'static str],
    pub deprecated_since: &'static str,
    pub replaced_by: &'static str,
    /// (version, description) pairs.
    pub history: &'static [(&'static str, &'static str)],
    /// Command tips (`nondeterministic_output`, `request_policy:all_shards`, ...).
    pub tips: &'static [&'static str],
    pub arguments: &'static [Arg],
}

/// A documented argument.
#[derive(Debug)]
pub struct Arg {
    pub name: &'static str,
    /// `string`, `integer`, `double`, `key`, `pattern`, `unix-time`, `pure-token`, `oneof`, `block`.
    pub kind: &'static str,
    /// Index into the key specs for `key` arguments, else -1.
    pub key_spec_index: i32,
    pub token: &'static str,
    pub summary: &'static str,
    pub since: &'static str,
    pub deprecated_since: &'static str,
    pub display: &'static str,
    /// `optional`, `multiple`, `multiple_token`.
    pub flags: &'static [&'static str],
    pub value: &'static str,
    pub subargs: &'static [Arg],
}
