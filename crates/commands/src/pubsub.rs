//! Pub/Sub: SUBSCRIBE, UNSUBSCRIBE, PSUBSCRIBE, PUNSUBSCRIBE, PUBLISH, SSUBSCRIBE,
//! SUNSUBSCRIBE, SPUBLISH and PUBSUB, the registry of subscriptions they share with keyspace
//! notifications, and the output-buffer limits that keep slow subscribers from growing
//! memory without bound.
//!
//! - The registry maps channels (and, separately, shard channels) to their subscribers in
//!   [`SHARDS`] shards, each behind a mutex, and patterns to theirs behind a read-write lock.
//! - A publish holds its channel's shard lock while it hands the message to every channel
//!   and pattern subscriber, so two messages published to one channel reach every
//!   subscriber, on any worker thread, in the same order.
//! - A subscriber on another connection gets the message through its
//!   [`ClientHandle::send`] queue. The publishing client's own subscriptions are written
//!   straight into its reply, where Redis writes them (before PUBLISH's `:n`, or wherever a
//!   command reports its keyspace event), unless pushes are already queued for it: then the
//!   message queues behind them, to keep the channel's order.
//! - After queueing, the subscriber's outstanding output (queued pushes plus what its
//!   connection has not written yet) is checked against `client-output-buffer-limit` for its
//!   class; over the hard limit, or over the soft one for longer than allowed, the client is
//!   closed, as Redis does.
//! - Each client's own subscriptions live in its handle ([`ClientSubs`]): counts readable
//!   from any thread (CLIENT LIST, the subscribed-mode check) and the sets themselves.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::sync::Arc;

use brim_config::ClientClass;
use brim_resp::Reply;
use parking_lot::{Mutex, RwLock};

use crate::client::ClientHandle;
use crate::ctx::Ctx;
use crate::shared::{unix_ms, Shared};
use crate::table::{cmd, Registration};

/// The pub/sub family.
pub const COMMANDS: &[Registration] = &[
    cmd("subscribe", subscribe),
    cmd("unsubscribe", unsubscribe),
    cmd("psubscribe", psubscribe),
    cmd("punsubscribe", punsubscribe),
    cmd("ssubscribe", ssubscribe),
    cmd("sunsubscribe", sunsubscribe),
    cmd("publish", publish),
    cmd("spublish", spublish),
    cmd("pubsub|channels", pubsub_channels),
    cmd("pubsub|numsub", pubsub_numsub),
    cmd("pubsub|numpat", pubsub_numpat),
    cmd("pubsub|shardchannels", pubsub_shardchannels),
    cmd("pubsub|shardnumsub", pubsub_shardnumsub),
    cmd("pubsub|help", pubsub_help),
];

/// Shards of the channel registry.
pub const SHARDS: usize = 64;

/// The three kinds of subscription.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// SUBSCRIBE channels.
    Channel,
    /// PSUBSCRIBE patterns.
    Pattern,
    /// SSUBSCRIBE shard channels.
    Shard,
}

impl Kind {
    fn subscribe_word(self) -> &'static [u8] {
        match self {
            Kind::Channel => b"subscribe",
            Kind::Pattern => b"psubscribe",
            Kind::Shard => b"ssubscribe",
        }
    }

    fn unsubscribe_word(self) -> &'static [u8] {
        match self {
            Kind::Channel => b"unsubscribe",
            Kind::Pattern => b"punsubscribe",
            Kind::Shard => b"sunsubscribe",
        }
    }
}

// ---------------------------------------------------------------------------------------
// One client's subscriptions
// ---------------------------------------------------------------------------------------

#[derive(Debug, Default)]
struct SubSets {
    /// Insertion counter: mass unsubscribes go in subscription order.
    seq: u64,
    channels: HashMap<Box<[u8]>, u64>,
    patterns: HashMap<Box<[u8]>, u64>,
    shard: HashMap<Box<[u8]>, u64>,
}

impl SubSets {
    fn set(&mut self, kind: Kind) -> &mut HashMap<Box<[u8]>, u64> {
        match kind {
            Kind::Channel => &mut self.channels,
            Kind::Pattern => &mut self.patterns,
            Kind::Shard => &mut self.shard,
        }
    }
}

/// A client's subscriptions, kept in its [`ClientHandle`]. Only the client's own connection
/// changes them; counts can be read from anywhere.
#[derive(Debug, Default)]
pub struct ClientSubs {
    channels: AtomicUsize,
    patterns: AtomicUsize,
    shard: AtomicUsize,
    sets: Mutex<SubSets>,
}

impl ClientSubs {
    /// Channels subscribed (CLIENT LIST `sub=`).
    pub fn channels(&self) -> usize {
        self.channels.load(Relaxed)
    }

    /// Patterns subscribed (`psub=`).
    pub fn patterns(&self) -> usize {
        self.patterns.load(Relaxed)
    }

    /// Shard channels subscribed (`ssub=`).
    pub fn shard(&self) -> usize {
        self.shard.load(Relaxed)
    }

    /// Whether the client has any subscription (Redis's CLIENT_PUBSUB flag).
    #[inline]
    pub fn any(&self) -> bool {
        self.channels.load(Relaxed) + self.patterns.load(Relaxed) + self.shard.load(Relaxed) > 0
    }

    fn counter(&self, kind: Kind) -> &AtomicUsize {
        match kind {
            Kind::Channel => &self.channels,
            Kind::Pattern => &self.patterns,
            Kind::Shard => &self.shard,
        }
    }

    /// The count Redis reports after a (un)subscribe of `kind`: channels plus patterns, or
    /// shard channels.
    fn reported(&self, kind: Kind) -> usize {
        match kind {
            Kind::Channel | Kind::Pattern => self.channels() + self.patterns(),
            Kind::Shard => self.shard(),
        }
    }

    fn add(&self, kind: Kind, name: &[u8]) -> bool {
        let mut sets = self.sets.lock();
        sets.seq += 1;
        let seq = sets.seq;
        let set = sets.set(kind);
        if set.contains_key(name) {
            return false;
        }
        set.insert(name.into(), seq);
        self.counter(kind).store(set.len(), Relaxed);
        true
    }

    fn remove(&self, kind: Kind, name: &[u8]) -> bool {
        let mut sets = self.sets.lock();
        let set = sets.set(kind);
        let removed = set.remove(name).is_some();
        self.counter(kind).store(set.len(), Relaxed);
        removed
    }

    /// Every name of `kind`, in subscription order.
    fn names(&self, kind: Kind) -> Vec<Box<[u8]>> {
        let mut sets = self.sets.lock();
        let mut all: Vec<(u64, Box<[u8]>)> = sets.set(kind).iter().map(|(k, &s)| (s, k.clone())).collect();
        all.sort_unstable_by_key(|(s, _)| *s);
        all.into_iter().map(|(_, k)| k).collect()
    }
}

// ---------------------------------------------------------------------------------------
// The registry
// ---------------------------------------------------------------------------------------

type Subscribers = Vec<Arc<ClientHandle>>;

#[derive(Default)]
struct Shard {
    channels: HashMap<Box<[u8]>, Subscribers>,
    sharded: HashMap<Box<[u8]>, Subscribers>,
}

impl Shard {
    fn map(&mut self, kind: Kind) -> &mut HashMap<Box<[u8]>, Subscribers> {
        match kind {
            Kind::Shard => &mut self.sharded,
            _ => &mut self.channels,
        }
    }
}

/// Every subscription of the server.
pub struct Registry {
    shards: Box<[Mutex<Shard>]>,
    patterns: RwLock<HashMap<Box<[u8]>, Subscribers>>,
    channels: AtomicUsize,
    npatterns: AtomicUsize,
    shard_channels: AtomicUsize,
}

impl Default for Registry {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registry")
            .field("channels", &self.channel_count())
            .field("patterns", &self.pattern_count())
            .field("shard_channels", &self.shard_channel_count())
            .finish()
    }
}

/// The publishing client, when it may be one of the subscribers: its own messages go
/// straight into its reply.
pub struct Own<'a> {
    /// Its id.
    pub id: u64,
    /// Its reply buffer.
    pub out: &'a mut Reply,
}

impl Registry {
    /// An empty registry.
    pub fn new() -> Self {
        Registry {
            shards: (0..SHARDS).map(|_| Mutex::new(Shard::default())).collect(),
            patterns: RwLock::new(HashMap::new()),
            channels: AtomicUsize::new(0),
            npatterns: AtomicUsize::new(0),
            shard_channels: AtomicUsize::new(0),
        }
    }

    /// Channels with at least one subscriber (INFO `pubsub_channels`).
    pub fn channel_count(&self) -> usize {
        self.channels.load(Relaxed)
    }

    /// Patterns with at least one subscriber (INFO `pubsub_patterns`, PUBSUB NUMPAT).
    pub fn pattern_count(&self) -> usize {
        self.npatterns.load(Relaxed)
    }

    /// Shard channels with at least one subscriber (INFO `pubsubshard_channels`).
    pub fn shard_channel_count(&self) -> usize {
        self.shard_channels.load(Relaxed)
    }

    /// Whether a message on a (non-shard) channel could reach anybody.
    #[inline]
    pub fn has_listeners(&self) -> bool {
        self.channels.load(Relaxed) + self.npatterns.load(Relaxed) > 0
    }

    fn shard_of(&self, channel: &[u8]) -> &Mutex<Shard> {
        let h = brim_engine::hash_key(channel);
        &self.shards[(h >> 58) as usize % SHARDS]
    }

    fn count_of(&self, kind: Kind) -> &AtomicUsize {
        match kind {
            Kind::Channel => &self.channels,
            Kind::Pattern => &self.npatterns,
            Kind::Shard => &self.shard_channels,
        }
    }

    fn add(&self, kind: Kind, name: &[u8], h: &Arc<ClientHandle>) {
        if kind == Kind::Pattern {
            let mut p = self.patterns.write();
            let subs = p.entry(name.into()).or_default();
            subs.push(h.clone());
            self.npatterns.store(p.len(), Relaxed);
            return;
        }
        let mut shard = self.shard_of(name).lock();
        let map = shard.map(kind);
        match map.get_mut(name) {
            Some(subs) => subs.push(h.clone()),
            None => {
                map.insert(name.into(), vec![h.clone()]);
                self.count_of(kind).fetch_add(1, Relaxed);
            }
        }
    }

    fn remove(&self, kind: Kind, name: &[u8], id: u64) {
        let gone = |subs: &mut Subscribers| {
            if let Some(i) = subs.iter().position(|s| s.id == id) {
                subs.swap_remove(i);
            }
            subs.is_empty()
        };
        if kind == Kind::Pattern {
            let mut p = self.patterns.write();
            if p.get_mut(name).is_some_and(gone) {
                p.remove(name);
            }
            self.npatterns.store(p.len(), Relaxed);
            return;
        }
        let mut shard = self.shard_of(name).lock();
        let map = shard.map(kind);
        if map.get_mut(name).is_some_and(gone) {
            map.remove(name);
            self.count_of(kind).fetch_sub(1, Relaxed);
        }
    }

    /// Subscribers of a channel (or shard channel) `name`.
    pub fn subscribers(&self, kind: Kind, name: &[u8]) -> usize {
        if kind == Kind::Pattern {
            return self.patterns.read().get(name).map_or(0, |s| s.len());
        }
        self.shard_of(name).lock().map(kind).get(name).map_or(0, |s| s.len())
    }

    /// Channels (or shard channels) with subscribers that match `pattern` (all without one).
    pub fn channels_matching(&self, kind: Kind, pattern: Option<&[u8]>) -> Vec<Box<[u8]>> {
        let mut out = Vec::new();
        for shard in self.shards.iter() {
            let mut shard = shard.lock();
            for name in shard.map(kind).keys() {
                if pattern.is_none_or(|p| brim_glob::glob_match(p, name, false)) {
                    out.push(name.clone());
                }
            }
        }
        out
    }

    /// Deliver `message` on `channel` (a shard channel with `sharded`) to its subscribers and,
    /// for ordinary channels, to the subscribers of every matching pattern. Returns the number
    /// of deliveries (a client subscribed both ways counts twice, as in Redis).
    pub fn publish(
        &self,
        shared: &Shared,
        sharded: bool,
        channel: &[u8],
        message: &[u8],
        mut own: Option<&mut Own>,
    ) -> usize {
        let kind = if sharded { Kind::Shard } else { Kind::Channel };
        let mut receivers = 0;
        let mut shard = self.shard_of(channel).lock();
        if let Some(subs) = shard.map(kind).get(channel) {
            let word: &[u8] = if sharded { b"smessage" } else { b"message" };
            let frame = encode(&[word, channel, message]);
            for h in subs {
                deliver(shared, h, &frame, own.as_deref_mut());
                receivers += 1;
            }
        }
        if !sharded && self.npatterns.load(Relaxed) > 0 {
            let patterns = self.patterns.read();
            for (pattern, subs) in patterns.iter() {
                if !brim_glob::glob_match(pattern, channel, false) {
                    continue;
                }
                let frame = encode(&[b"pmessage", pattern, channel, message]);
                for h in subs {
                    deliver(shared, h, &frame, own.as_deref_mut());
                    receivers += 1;
                }
            }
        }
        drop(shard);
        receivers
    }
}

/// A RESP2 array of bulk strings (a RESP3 push is the same with `>` for `*`).
fn encode(parts: &[&[u8]]) -> Vec<u8> {
    let mut v = Vec::with_capacity(16 + parts.iter().map(|p| p.len() + 16).sum::<usize>());
    v.push(b'*');
    v.extend_from_slice(parts.len().to_string().as_bytes());
    v.extend_from_slice(b"\r\n");
    for p in parts {
        v.push(b'$');
        v.extend_from_slice(p.len().to_string().as_bytes());
        v.extend_from_slice(b"\r\n");
        v.extend_from_slice(p);
        v.extend_from_slice(b"\r\n");
    }
    v
}

fn deliver(shared: &Shared, h: &Arc<ClientHandle>, frame: &[u8], own: Option<&mut Own>) {
    if let Some(own) = own {
        if own.id == h.id && h.queued.load(Relaxed) == 0 {
            let start = own.out.len();
            own.out.raw(frame);
            if own.out.is_resp3() {
                own.out.buffer_mut()[start] = b'>';
            }
            return;
        }
    }
    if h.killed.load(Relaxed) {
        return;
    }
    let mut bytes = frame.to_vec();
    if h.resp.load(Relaxed) == 3 {
        bytes[0] = b'>';
    }
    h.send(bytes);
    check_output_limits(shared, h, 0);
}

// ---------------------------------------------------------------------------------------
// Output buffer limits
// ---------------------------------------------------------------------------------------

/// The `client-output-buffer-limit` class of a client: `pubsub` while it has subscriptions,
/// `normal` otherwise (MONITOR clients too, as in Redis).
pub fn client_class(h: &ClientHandle) -> ClientClass {
    if h.pubsub.any() {
        ClientClass::Pubsub
    } else {
        ClientClass::Normal
    }
}

/// Bytes waiting to be written to a client: pushes queued for its connection plus what the
/// connection holds unwritten (`obl`).
pub fn output_bytes(h: &ClientHandle) -> usize {
    h.queued.load(Relaxed) + h.obl.load(Relaxed)
}

/// Redis's checkClientOutputBufferLimits, with `extra` bytes about to be added: whether the
/// client's outstanding output is over the hard limit of its class, or has been over the
/// soft limit for more than its seconds (the first time it is seen over, the clock starts).
/// A client over a limit is marked killed and its connection woken; returns whether it was.
pub fn check_output_limits(shared: &Shared, h: &ClientHandle, extra: usize) -> bool {
    let limit = shared.config.client_output_buffer_limit(client_class(h));
    if limit.hard == 0 && limit.soft == 0 {
        return false;
    }
    let used = (output_bytes(h) + extra) as u64;
    let hard = limit.hard > 0 && used >= limit.hard;
    let mut soft = limit.soft > 0 && used >= limit.soft;
    if soft {
        let now = unix_ms() / 1000;
        let since = h.obuf_soft_since.load(Relaxed);
        if since == 0 {
            h.obuf_soft_since.store(now, Relaxed);
            soft = false;
        } else if now - since <= limit.soft_seconds as i64 {
            soft = false;
        }
    } else if h.obuf_soft_since.load(Relaxed) != 0 {
        h.obuf_soft_since.store(0, Relaxed);
    }
    if hard || soft {
        h.kill();
        return true;
    }
    false
}

// ---------------------------------------------------------------------------------------
// Commands
// ---------------------------------------------------------------------------------------

fn write_confirmation(out: &mut Reply, word: &[u8], name: Option<&[u8]>, count: usize) {
    out.push(3);
    out.bulk(word);
    match name {
        Some(n) => out.bulk(n),
        None => out.null(),
    }
    out.int(count as i64);
}

fn subscribe_generic(ctx: &mut Ctx, args: &[&[u8]], kind: Kind) {
    let deny_word = match kind {
        Kind::Channel => None,
        Kind::Pattern => None,
        Kind::Shard => Some("SSUBSCRIBE"),
    };
    // Redis refuses SSUBSCRIBE from a client that may not block (inside EXEC); SUBSCRIBE and
    // PSUBSCRIBE stay allowed there for backward compatibility.
    if let (Some(word), true) = (deny_word, ctx.client.in_exec) {
        ctx.error(&format!("ERR {word} isn't allowed for a DENY BLOCKING client"));
        return;
    }
    let h = ctx.client.handle.clone();
    for &name in &args[1..] {
        if h.pubsub.add(kind, name) {
            ctx.shared.pubsub.add(kind, name, &h);
        }
        write_confirmation(ctx.out, kind.subscribe_word(), Some(name), h.pubsub.reported(kind));
    }
}

fn unsubscribe_generic(ctx: &mut Ctx, args: &[&[u8]], kind: Kind) {
    let h = ctx.client.handle.clone();
    if args.len() > 1 {
        for &name in &args[1..] {
            if h.pubsub.remove(kind, name) {
                ctx.shared.pubsub.remove(kind, name, h.id);
            }
            write_confirmation(ctx.out, kind.unsubscribe_word(), Some(name), h.pubsub.reported(kind));
        }
        return;
    }
    let names = h.pubsub.names(kind);
    if names.is_empty() {
        write_confirmation(ctx.out, kind.unsubscribe_word(), None, h.pubsub.reported(kind));
    }
    for name in names {
        if h.pubsub.remove(kind, &name) {
            ctx.shared.pubsub.remove(kind, &name, h.id);
        }
        write_confirmation(ctx.out, kind.unsubscribe_word(), Some(&name), h.pubsub.reported(kind));
    }
}

/// Drop every subscription of `h` without telling it (disconnect, RESET).
pub fn unsubscribe_all(shared: &Shared, h: &ClientHandle) {
    if !h.pubsub.any() {
        return;
    }
    for kind in [Kind::Channel, Kind::Pattern, Kind::Shard] {
        for name in h.pubsub.names(kind) {
            if h.pubsub.remove(kind, &name) {
                shared.pubsub.remove(kind, &name, h.id);
            }
        }
    }
}

fn subscribe(ctx: &mut Ctx, args: &[&[u8]]) {
    subscribe_generic(ctx, args, Kind::Channel);
}

fn psubscribe(ctx: &mut Ctx, args: &[&[u8]]) {
    subscribe_generic(ctx, args, Kind::Pattern);
}

fn ssubscribe(ctx: &mut Ctx, args: &[&[u8]]) {
    subscribe_generic(ctx, args, Kind::Shard);
}

fn unsubscribe(ctx: &mut Ctx, args: &[&[u8]]) {
    unsubscribe_generic(ctx, args, Kind::Channel);
}

fn punsubscribe(ctx: &mut Ctx, args: &[&[u8]]) {
    unsubscribe_generic(ctx, args, Kind::Pattern);
}

fn sunsubscribe(ctx: &mut Ctx, args: &[&[u8]]) {
    unsubscribe_generic(ctx, args, Kind::Shard);
}

fn publish_generic(ctx: &mut Ctx, args: &[&[u8]], sharded: bool) {
    let mut own = Own { id: ctx.client.handle.id, out: &mut *ctx.out };
    let n = ctx.shared.pubsub.publish(ctx.shared, sharded, args[1], args[2], Some(&mut own));
    ctx.out.int(n as i64);
}

fn publish(ctx: &mut Ctx, args: &[&[u8]]) {
    publish_generic(ctx, args, false);
}

fn spublish(ctx: &mut Ctx, args: &[&[u8]]) {
    publish_generic(ctx, args, true);
}

fn channel_list(ctx: &mut Ctx, args: &[&[u8]], kind: Kind) {
    if args.len() > 3 {
        crate::server::subcommand_syntax_error(ctx, "PUBSUB", args[1]);
        return;
    }
    let names = ctx.shared.pubsub.channels_matching(kind, args.get(2).copied());
    ctx.out.array(names.len());
    for n in names {
        ctx.out.bulk(&n);
    }
}

fn numsub(ctx: &mut Ctx, args: &[&[u8]], kind: Kind) {
    ctx.out.array((args.len() - 2) * 2);
    for &name in &args[2..] {
        ctx.out.bulk(name);
        ctx.out.int(ctx.shared.pubsub.subscribers(kind, name) as i64);
    }
}

fn pubsub_channels(ctx: &mut Ctx, args: &[&[u8]]) {
    channel_list(ctx, args, Kind::Channel);
}

fn pubsub_shardchannels(ctx: &mut Ctx, args: &[&[u8]]) {
    channel_list(ctx, args, Kind::Shard);
}

fn pubsub_numsub(ctx: &mut Ctx, args: &[&[u8]]) {
    numsub(ctx, args, Kind::Channel);
}

fn pubsub_shardnumsub(ctx: &mut Ctx, args: &[&[u8]]) {
    numsub(ctx, args, Kind::Shard);
}

fn pubsub_numpat(ctx: &mut Ctx, _args: &[&[u8]]) {
    ctx.out.int(ctx.shared.pubsub.pattern_count() as i64);
}

const HELP: &[&str] = &[
    "CHANNELS [<pattern>]",
    "    Return the currently active channels matching a <pattern> (default: '*').",
    "NUMPAT",
    "    Return number of subscriptions to patterns.",
    "NUMSUB [<channel> ...]",
    "    Return the number of subscribers for the specified channels, excluding",
    "    pattern subscriptions(default: no channels).",
    "SHARDCHANNELS [<pattern>]",
    "    Return the currently active shard level channels matching a <pattern> (default: '*').",
    "SHARDNUMSUB [<shardchannel> ...]",
    "    Return the number of subscribers for the specified shard level channel(s)",
];

fn pubsub_help(ctx: &mut Ctx, _args: &[&[u8]]) {
    ctx.help("PUBSUB", HELP);
}

/// Whether `name` (a top-level command) may run while a RESP2 client is subscribed.
pub fn allowed_when_subscribed(name: &str) -> bool {
    matches!(
        name,
        "ping"
            | "subscribe"
            | "ssubscribe"
            | "unsubscribe"
            | "sunsubscribe"
            | "psubscribe"
            | "punsubscribe"
            | "quit"
            | "reset"
    )
}

/// The reason a subscribed RESP2 client may not run a command (without the error code:
/// Redis replies `ERR <reason>`, or `EXECABORT Transaction discarded because of: <reason>`
/// to EXEC).
pub fn subscribed_mode_error(full_name: &str) -> String {
    format!(
        "Can't execute '{full_name}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are \
         allowed in this context"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_are_resp_arrays_of_bulks() {
        assert_eq!(
            encode(&[b"message", b"ch", b"hello"]),
            b"*3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$5\r\nhello\r\n"
        );
        assert_eq!(
            encode(&[b"pmessage", b"c*", b"ch", b""]),
            b"*4\r\n$8\r\npmessage\r\n$2\r\nc*\r\n$2\r\nch\r\n$0\r\n\r\n"
        );
    }

    #[test]
    fn client_sets_keep_subscription_order_and_counts() {
        let s = ClientSubs::default();
        assert!(!s.any());
        assert!(s.add(Kind::Channel, b"b"));
        assert!(s.add(Kind::Channel, b"a"));
        assert!(!s.add(Kind::Channel, b"b"));
        assert!(s.add(Kind::Pattern, b"p*"));
        assert!(s.add(Kind::Shard, b"s"));
        assert_eq!((s.channels(), s.patterns(), s.shard()), (2, 1, 1));
        assert_eq!(s.reported(Kind::Channel), 3);
        assert_eq!(s.reported(Kind::Shard), 1);
        assert_eq!(s.names(Kind::Channel), vec![Box::from(&b"b"[..]), Box::from(&b"a"[..])]);
        assert!(s.remove(Kind::Channel, b"b"));
        assert!(!s.remove(Kind::Channel, b"b"));
        assert!(s.remove(Kind::Channel, b"a"));
        assert!(s.remove(Kind::Pattern, b"p*"));
        assert!(s.any());
        assert!(s.remove(Kind::Shard, b"s"));
        assert!(!s.any());
    }

    #[test]
    fn subscribed_mode_allows_only_the_pubsub_commands() {
        for ok in ["ping", "subscribe", "punsubscribe", "quit", "reset", "ssubscribe"] {
            assert!(allowed_when_subscribed(ok));
        }
        for no in ["get", "publish", "pubsub", "hello", "client"] {
            assert!(!allowed_when_subscribed(no));
        }
    }
}
