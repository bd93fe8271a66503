//! Per-worker statistics: written only by their worker thread (plain load/store, no locked
//! instructions on the hot path) and summed when INFO asks.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

/// Calls and time of one command.
#[derive(Debug, Default)]
pub struct CommandStat {
    pub calls: AtomicU64,
    pub usec: AtomicU64,
    pub rejected: AtomicU64,
    pub failed: AtomicU64,
}

/// One worker's counters.
#[derive(Debug)]
pub struct WorkerStats {
    pub commands_processed: AtomicU64,
    pub keyspace_hits: AtomicU64,
    pub keyspace_misses: AtomicU64,
    pub net_input_bytes: AtomicU64,
    pub net_output_bytes: AtomicU64,
    /// Indexed by command id.
    pub commands: Box<[CommandStat]>,
}

/// Add `n` to a counter only its owner writes.
#[inline]
pub fn bump(c: &AtomicU64, n: u64) {
    c.store(c.load(Relaxed).wrapping_add(n), Relaxed);
}

impl WorkerStats {
    /// Counters for a table of `commands` commands.
    pub fn new(commands: usize) -> Self {
        WorkerStats {
            commands_processed: AtomicU64::new(0),
            keyspace_hits: AtomicU64::new(0),
            keyspace_misses: AtomicU64::new(0),
            net_input_bytes: AtomicU64::new(0),
            net_output_bytes: AtomicU64::new(0),
            commands: (0..commands).map(|_| CommandStat::default()).collect(),
        }
    }

    /// Zero everything (CONFIG RESETSTAT). Racy with the owner by design, as in Redis.
    pub fn reset(&self) {
        for c in [
            &self.commands_processed,
            &self.keyspace_hits,
            &self.keyspace_misses,
            &self.net_input_bytes,
            &self.net_output_bytes,
        ] {
            c.store(0, Relaxed);
        }
        for c in self.commands.iter() {
            for a in [&c.calls, &c.usec, &c.rejected, &c.failed] {
                a.store(0, Relaxed);
            }
        }
    }
}
