//! What a handler gets: the shared state, its client, the reply writer, and the time.

use brim_engine::{Access, Db};
use brim_resp::Reply;

use crate::client::Client;
use crate::shared::Shared;
use crate::stats::{bump, WorkerStats};

/// The context of one command execution.
pub struct Ctx<'a> {
    /// Server-wide state.
    pub shared: &'a Shared,
    /// The calling client.
    pub client: &'a mut Client,
    /// Where the reply goes.
    pub out: &'a mut Reply,
    /// The command's time and touch mode.
    pub acc: Access,
    /// The worker's counters.
    pub worker: &'a WorkerStats,
}

impl<'a> Ctx<'a> {
    /// The client's selected database (borrowed from the shared state, not from `self`, so
    /// a locked stripe can be held while writing the reply).
    pub fn db(&self) -> &'a Db {
        self.shared.keyspace.db(self.client.db)
    }

    /// The command's time, unix ms.
    pub fn now_ms(&self) -> i64 {
        self.acc.now_ms
    }

    /// Count a read lookup of `key` as a keyspace hit or miss (INFO stats); a miss also
    /// fires the `keymiss` event (class `m`), as Redis's lookupKeyRead.
    pub fn hit_or_miss(&self, key: &[u8], hit: bool) {
        self.count_hit_or_miss(hit);
        if !hit {
            crate::notify::key_miss(self.shared, self.client.db, key);
        }
    }

    /// Count a keyspace hit or miss without any event (lookups Redis makes with
    /// LOOKUP_NONOTIFY: OBJECT, SCAN's type checks).
    pub fn count_hit_or_miss(&self, hit: bool) {
        let c = if hit { &self.worker.keyspace_hits } else { &self.worker.keyspace_misses };
        bump(c, 1);
    }

    /// Reply with an error.
    pub fn error(&mut self, msg: &str) {
        self.out.error(msg);
    }

    /// Reply to `<CONTAINER> HELP` as Redis's addReplyHelp: a title line, `lines`, then
    /// the HELP entry itself, all as status strings.
    pub fn help(&mut self, container: &str, lines: &[&str]) {
        self.out.array(lines.len() + 3);
        self.out.simple(&format!("{container} <subcommand> [<arg> [value] [opt] ...]. Subcommands are:"));
        for l in lines {
            self.out.simple(l);
        }
        self.out.simple("HELP");
        self.out.simple("    Prints this help.");
    }
}
