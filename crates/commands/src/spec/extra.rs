//! Commands that Redis 7.0.15 lacks but that clients send to a Redis 7 server, declared by
//! hand as Redis 7.2 declares them: `CLIENT SETINFO` (redis-py sends it on connect) and
//! `CLIENT NO-TOUCH`.

use super::acl;
use super::flags::{LOADING, NOSCRIPT, STALE};
use super::{CommandSpec, Doc};

const fn doc(summary: &'static str) -> Doc {
    Doc {
        summary,
        since: "7.2.0",
        group: "connection",
        complexity: "O(1)",
        doc_flags: &[],
        deprecated_since: "",
        replaced_by: "",
        history: &[],
        tips: &[],
        arguments: &[],
    }
}

static D_SETINFO: Doc = doc("Sets information specific to the client or connection.");
static D_NO_TOUCH: Doc =
    doc("Controls whether commands sent by the client affect the LRU/LFU of accessed keys.");

/// Subcommands added after Redis 7.0.
pub static EXTRA_SUBCOMMANDS: &[CommandSpec] = &[
    CommandSpec {
        name: "setinfo",
        container: Some("client"),
        arity: 4,
        flags: NOSCRIPT | LOADING | STALE,
        acl_categories: acl::SLOW | acl::CONNECTION,
        key_range: (0, 0, 0),
        key_specs: &[],
        subcommands: &[],
        doc: &D_SETINFO,
    },
    CommandSpec {
        name: "no-touch",
        container: Some("client"),
        arity: 3,
        flags: NOSCRIPT | LOADING | STALE,
        acl_categories: acl::SLOW | acl::CONNECTION,
        key_range: (0, 0, 0),
        key_specs: &[],
        subcommands: &[],
        doc: &D_NO_TOUCH,
    },
];
