//! Client eviction (`maxmemory-clients`, Redis 7.0's `evictClients`) and the per-client
//! memory accounting it rests on.
//!
//! Every connection measures what it holds ([`Usage`]: query buffer, output buffers and
//! messages queued for it, MULTI queue, WATCHed keys, subscriptions, the client structs)
//! and [`publish`]es it after every read, write and command. Publishing stores CLIENT LIST's
//! `tot-mem` and moves two server-wide sums ([`ClientsMemory`]) by the change, so the check
//! is O(1) whatever the number of connections:
//! - `total`: the memory of every client (Redis's `stat_clients_type_memory` of normal plus
//!   pub/sub clients: Brim has no replica or master clients), compared with the
//!   `maxmemory-clients` limit by [`evict_if_over`];
//! - `output`: reply bytes waiting to be written, which the key eviction check leaves out
//!   ([`crate::memory::mem_not_counted_for_evict`]): a client that does not read its `KEYS *`
//!   replies must not make the server evict the dataset (Redis counts them; Brim bounds them
//!   with `client-output-buffer-limit`, `maxmemory-clients` and its read pause instead).
//!
//! Only when the sum is at or over the limit are the clients scanned: the biggest evictable
//! ones (not `CLIENT NO-EVICT`, Redis's `clientEvictionAllowed`) are closed, biggest first,
//! until the sum is under the limit. Each eviction counts in `evicted_clients`, is logged
//! (`Evicting client: id=...`) and closes the connection with its pending replies dropped.
//! As in Redis the limit is at least 128 KiB, a percentage is of `maxmemory` (none without
//! it), and NO-EVICT clients count in the sum but are never chosen.

use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering::Relaxed};
use std::sync::Arc;

use brim_config::MaxmemoryClients;
use parking_lot::Mutex;

use crate::client::{Client, ClientHandle, WatchedKey};
use crate::shared::{unix_ms, Shared};

/// The client structures every connection holds whatever it does.
pub const CLIENT_STRUCT_BYTES: usize = std::mem::size_of::<Client>() + std::mem::size_of::<ClientHandle>();
/// Estimated cost of one subscription (its name in the client's set and in the registry).
const SUBSCRIPTION_BYTES: usize = 64;
/// Redis's floor for `maxmemory-clients`, so a bad setting cannot cut every client off.
const MIN_LIMIT: u64 = 128 * 1024;
/// After a scan found nothing evictable while over the limit, the next one waits this long.
const FUTILE_RETRY_MS: i64 = 10;

/// What one connection holds, as its connection task measures it.
#[derive(Debug, Default, Clone, Copy)]
pub struct Usage {
    /// Query buffer allocation.
    pub query: usize,
    /// Output allocations: the reply buffers plus messages queued for the client.
    pub output: usize,
    /// The output allocations while some reply waits to be written, else 0 (left out of the
    /// key eviction check).
    pub unwritten: usize,
    /// MULTI queue and WATCHed keys.
    pub multi: usize,
}

impl Usage {
    /// The client's whole memory (CLIENT LIST `tot-mem`).
    pub fn total(&self, h: &ClientHandle) -> usize {
        let subs = h.pubsub.channels() + h.pubsub.patterns() + h.pubsub.shard();
        CLIENT_STRUCT_BYTES + self.query + self.output + self.multi + subs * SUBSCRIPTION_BYTES
    }
}

/// What one client currently contributes to the server-wide sums (lives in its handle).
#[derive(Debug, Default)]
pub struct Counted {
    total: AtomicUsize,
    output: AtomicUsize,
}

/// Server-wide sums of what the clients hold (lives in [`Shared`]).
#[derive(Debug, Default)]
pub struct ClientsMemory {
    total: AtomicI64,
    output: AtomicI64,
    /// Held by the one thread choosing clients to evict.
    scanning: Mutex<()>,
    /// Unix ms before which no new scan starts (set after a futile one).
    quiet_until_ms: AtomicI64,
}

impl ClientsMemory {
    /// Memory of every counted client.
    pub fn total(&self) -> u64 {
        self.total.load(Relaxed).max(0) as u64
    }

    /// Reply bytes waiting to be written, over every client.
    pub fn output(&self) -> u64 {
        self.output.load(Relaxed).max(0) as u64
    }
}

/// Set one client's contribution to `new`, moving `sum` by the change.
fn contribute(sum: &AtomicI64, mine: &AtomicUsize, new: usize) {
    let old = mine.swap(new, Relaxed);
    if old != new {
        sum.fetch_add(new as i64 - old as i64, Relaxed);
    }
}

/// Record what the client behind `h` holds now (its `tot-mem` and its share of the sums).
/// A client already being closed counts for nothing.
pub fn publish(shared: &Shared, h: &ClientHandle, usage: &Usage) {
    let total = usage.total(h);
    h.tot_mem.store(total, Relaxed);
    if h.killed.load(Relaxed) {
        retract(shared, h);
        return;
    }
    let sums = &shared.clients_memory;
    contribute(&sums.total, &h.counted.total, total);
    contribute(&sums.output, &h.counted.output, usage.unwritten);
    if h.killed.load(Relaxed) {
        // Closed meanwhile (evicted or killed): its memory is on its way out.
        retract(shared, h);
    }
}

/// Take the client behind `h` out of the sums (it is closing).
pub fn retract(shared: &Shared, h: &ClientHandle) {
    let sums = &shared.clients_memory;
    contribute(&sums.total, &h.counted.total, 0);
    contribute(&sums.output, &h.counted.output, 0);
}

/// Redis's getClientEvictionLimit: the `maxmemory-clients` limit in bytes (a percentage is
/// of `maxmemory`), at least 128 KiB; 0 when client eviction is off.
pub fn limit(shared: &Shared) -> u64 {
    let bytes = match shared.config.maxmemory_clients() {
        MaxmemoryClients::Bytes(b) => b,
        MaxmemoryClients::Percent(p) => {
            (shared.config.maxmemory() as f64 * p as f64 / 100.0).min(u64::MAX as f64) as u64
        }
    };
    if bytes == 0 {
        0
    } else {
        bytes.max(MIN_LIMIT)
    }
}

/// Whether a client may be chosen for eviction (Redis's clientEvictionAllowed).
fn evictable(h: &ClientHandle) -> bool {
    !h.no_evict.load(Relaxed) && !h.killed.load(Relaxed)
}

/// The evictable clients, biggest first.
fn candidates(shared: &Shared) -> Vec<(usize, Arc<ClientHandle>)> {
    let mut v: Vec<(usize, Arc<ClientHandle>)> = shared
        .clients
        .lock()
        .values()
        .filter(|h| evictable(h))
        .map(|h| (h.counted.total.load(Relaxed), h.clone()))
        .filter(|(mem, _)| *mem > 0)
        .collect();
    v.sort_unstable_by_key(|e| std::cmp::Reverse(e.0));
    v
}

fn log(warning: bool, msg: &str) {
    match crate::persistence::LOG_HOOK.get() {
        Some(f) => f(warning, msg),
        None => eprintln!("{msg}"),
    }
}

/// Close `h` for client eviction: count it, log it, and take its memory out of the sum at
/// once (its connection frees it when it notices).
fn evict(shared: &Shared, h: &ClientHandle) {
    log(
        false,
        &format!(
            "Evicting client: id={} addr={} laddr={} fd={} tot-mem={} qbuf={} obl={}",
            h.id,
            h.addr,
            h.laddr,
            h.fd,
            h.tot_mem.load(Relaxed),
            h.qbuf.load(Relaxed),
            h.obl.load(Relaxed)
        ),
    );
    h.kill();
    retract(shared, h);
    shared.stats.evicted_clients.fetch_add(1, Relaxed);
}

/// Redis's evictClients: while the clients' memory is at or over the `maxmemory-clients`
/// limit, close the biggest evictable client. Cheap (a few atomic loads) when under the limit
/// or when client eviction is off; returns how many clients were evicted.
pub fn evict_if_over(shared: &Shared) -> usize {
    let sums = &shared.clients_memory;
    let limit = limit(shared);
    if limit == 0 || sums.total() < limit {
        return 0;
    }
    let now = unix_ms();
    if now < sums.quiet_until_ms.load(Relaxed) {
        return 0;
    }
    // Another thread is choosing: it will bring the sum down.
    let Some(_scan) = sums.scanning.try_lock() else { return 0 };
    let mut evicted = 0;
    for (_, h) in candidates(shared) {
        if sums.total() < limit {
            break;
        }
        evict(shared, &h);
        evicted += 1;
    }
    if sums.total() >= limit {
        log(true, "Over client maxmemory after evicting all evictable clients");
        sums.quiet_until_ms.store(now + FUTILE_RETRY_MS, Relaxed);
    }
    evicted
}

/// The memory of a MULTI queue and of WATCHed keys, kept up to date in O(1) amortized per
/// call while commands are queued (the queue only grows until EXEC/DISCARD replace it).
#[derive(Debug, Default)]
pub struct MultiMemory {
    /// Address of the queue's first command, to notice a new transaction.
    first: usize,
    /// Commands already measured.
    measured: usize,
    /// Their bytes.
    bytes: usize,
}

/// One queued command's memory, as CLIENT LIST's `multi-mem` counts it.
pub fn queued_command_bytes(argv: &[Vec<u8>]) -> usize {
    std::mem::size_of::<Vec<Vec<u8>>>()
        + argv.iter().map(|a| a.len() + std::mem::size_of::<Vec<u8>>()).sum::<usize>()
}

impl MultiMemory {
    /// The memory `client` holds in its MULTI queue and WATCHed keys.
    pub fn measure(&mut self, client: &Client) -> usize {
        let watched = client.watched.len() * std::mem::size_of::<WatchedKey>();
        let Some(queue) = client.multi.as_ref() else {
            *self = MultiMemory::default();
            return watched;
        };
        let first = queue.first().map_or(0, |argv| argv.as_ptr() as usize);
        if first != self.first || queue.len() < self.measured {
            *self = MultiMemory { first, measured: 0, bytes: 0 };
        }
        for argv in queue.iter().skip(self.measured) {
            self.bytes += queued_command_bytes(argv);
        }
        self.measured = queue.len();
        self.bytes + watched
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use brim_config::Config;

    fn shared_with(pairs: &[(&str, &str)]) -> Shared {
        let config = Config::new();
        for (k, v) in pairs {
            config.set(&[(k.as_bytes(), v.as_bytes())]).expect("config set");
        }
        Shared::new(Arc::new(config), String::new())
    }

    /// A registered client holding `query` bytes of query buffer.
    fn client_holding(shared: &Shared, query: usize, no_evict: bool) -> Arc<ClientHandle> {
        let id = shared.next_client_id.fetch_add(1, Relaxed);
        let (h, _rx) = ClientHandle::new(id, format!("127.0.0.1:{id}"), "127.0.0.1:6379".into(), 8, false, 0);
        h.no_evict.store(no_evict, Relaxed);
        shared.add_client(h.clone());
        publish(shared, &h, &Usage { query, ..Usage::default() });
        h
    }

    #[test]
    fn limit_is_bytes_or_a_share_of_maxmemory_with_a_floor() {
        assert_eq!(limit(&shared_with(&[])), 0);
        assert_eq!(limit(&shared_with(&[("maxmemory-clients", "1mb")])), 1 << 20);
        assert_eq!(limit(&shared_with(&[("maxmemory-clients", "1000")])), MIN_LIMIT);
        assert_eq!(limit(&shared_with(&[("maxmemory-clients", "10%")])), 0);
        let s = shared_with(&[("maxmemory-clients", "10%"), ("maxmemory", "100mb")]);
        assert_eq!(limit(&s), 10 << 20);
    }

    #[test]
    fn the_biggest_evictable_clients_go_until_under_the_limit() {
        let s = shared_with(&[("maxmemory-clients", "10mb")]);
        let small = client_holding(&s, 1 << 20, false);
        let big = client_holding(&s, 6 << 20, false);
        let bigger = client_holding(&s, 7 << 20, false);
        let kept = client_holding(&s, 8 << 20, true);
        assert_eq!(evict_if_over(&s), 2);
        assert!(bigger.killed.load(Relaxed) && big.killed.load(Relaxed));
        assert!(!small.killed.load(Relaxed) && !kept.killed.load(Relaxed));
        assert_eq!(s.stats.evicted_clients.load(Relaxed), 2);
        assert_eq!(s.clients_memory.total() as usize, 9 * (1 << 20) + 2 * CLIENT_STRUCT_BYTES);
        assert_eq!(evict_if_over(&s), 0);
        // Disconnecting takes a client out of the sums.
        s.remove_client(small.id);
        s.remove_client(kept.id);
        assert_eq!(s.clients_memory.total(), 0);
    }

    #[test]
    fn contributions_move_the_sum_by_their_change() {
        let sum = AtomicI64::new(0);
        let (a, b) = (AtomicUsize::new(0), AtomicUsize::new(0));
        contribute(&sum, &a, 100);
        contribute(&sum, &b, 50);
        contribute(&sum, &a, 30);
        assert_eq!(sum.load(Relaxed), 80);
        contribute(&sum, &a, 0);
        contribute(&sum, &b, 0);
        assert_eq!(sum.load(Relaxed), 0);
    }

    #[test]
    fn queued_command_bytes_counts_arguments_and_vectors() {
        let argv = vec![b"SET".to_vec(), b"k".to_vec(), b"v".to_vec()];
        assert_eq!(queued_command_bytes(&argv), 24 + 3 + 1 + 1 + 3 * 24);
    }
}
