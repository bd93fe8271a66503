//! The slow log: commands that took longer than `slowlog-log-slower-than` microseconds.

use std::collections::VecDeque;

/// Most arguments kept per entry (Redis's SLOWLOG_ENTRY_MAX_ARGC).
const MAX_ARGC: usize = 32;
/// Longest argument kept (Redis's SLOWLOG_ENTRY_MAX_STRING).
const MAX_STRING: usize = 128;

/// One slow command.
#[derive(Debug, Clone)]
pub struct SlowEntry {
    pub id: u64,
    pub time_s: i64,
    pub duration_us: u64,
    pub args: Vec<Vec<u8>>,
    pub peer: String,
    pub name: Vec<u8>,
}

/// The log, newest first.
#[derive(Debug, Default)]
pub struct Slowlog {
    pub entries: VecDeque<SlowEntry>,
    pub next_id: u64,
}

impl Slowlog {
    /// Record a command, trimming its arguments as Redis does, keeping at most `max_len`.
    pub fn push(
        &mut self,
        args: &[&[u8]],
        duration_us: u64,
        time_s: i64,
        peer: String,
        name: Vec<u8>,
        max_len: usize,
    ) {
        let mut kept: Vec<Vec<u8>> = Vec::with_capacity(args.len().min(MAX_ARGC));
        for (i, a) in args.iter().enumerate() {
            if i == MAX_ARGC - 1 && args.len() > MAX_ARGC {
                kept.push(format!("... ({} more arguments)", args.len() - MAX_ARGC + 1).into_bytes());
                break;
            }
            if a.len() > MAX_STRING {
                let mut v = a[..MAX_STRING].to_vec();
                v.extend_from_slice(format!("... ({} more bytes)", a.len() - MAX_STRING).as_bytes());
                kept.push(v);
            } else {
                kept.push(a.to_vec());
            }
        }
        self.entries.push_front(SlowEntry { id: self.next_id, time_s, duration_us, args: kept, peer, name });
        self.next_id += 1;
        self.entries.truncate(max_len);
    }
}
