//! Keyspace notifications (`notify-keyspace-events`): commands report what they did to a
//! key; subscribers of `__keyspace@<db>__:<key>` (message: the event) and
//! `__keyevent@<db>__:<event>` (message: the key) hear it, as Redis's notifyKeyspaceEvent.
//!
//! Commands call [`keyspace_event`] after each change, with the event name Redis emits
//! (`set`, `del`, `expire`, `lpush`, `hset`, `rename_from`, ...) and its class. With
//! notifications off (the default) that is one relaxed load.
//!
//! Two kinds of event happen inside the engine rather than in a command: `expired` (a lookup
//! found a key past its time and deleted it) and `new` (a key was created). When the
//! configuration asks for them, the engine logs them per thread
//! ([`brim_engine::expire::set_event_log`], kept in step with the configuration before each
//! command by [`sync_engine_log`]); they are published before the command's own next event
//! and after the command at the latest ([`flush_engine_events`]), which keeps Redis's order
//! (`expired` and `new` before the `set` that caused them). Keys reclaimed by the active
//! expiry cycle are published by it through [`keyspace_event_db`].
//!
//! `keymiss` (class `m`, not part of `A`) is fired by every read lookup that finds nothing
//! (`Ctx::hit_or_miss`, as Redis's lookupKeyRead); it is kept per thread ([`key_miss`]) and
//! published with the engine's events, after the `expired` of the same lookup.
//!
//! A client subscribed to its own events gets them in its reply where the command reports
//! them (RESP3), as Redis writes them into the client's buffer at that moment.

pub use brim_config::notify as class;

use brim_engine::expire::{KeyEvent, KeyEventKind};

use crate::ctx::Ctx;
use crate::pubsub::Own;
use crate::shared::Shared;

/// Report event `event` of class `class` (a `class::*` bit) on `key` in the client's
/// database. One relaxed load when notifications are off.
pub fn keyspace_event(ctx: &mut Ctx, class: u32, event: &str, key: &[u8]) {
    let db = ctx.client.db;
    keyspace_event_in(ctx, db, class, event, key);
}

/// [`keyspace_event`] for a key in database `db`, which need not be the client's (MOVE's
/// `move_to`, COPY's `copy_to`); the calling client hears its own events before its reply,
/// as in Redis.
pub fn keyspace_event_in(ctx: &mut Ctx, db: usize, class: u32, event: &str, key: &[u8]) {
    let flags = ctx.shared.config.notify_keyspace_events();
    if flags == 0 {
        return;
    }
    flush_engine_events(ctx);
    if flags & class == 0 {
        return;
    }
    let mut own = Own { id: ctx.client.handle.id, out: &mut *ctx.out };
    publish(ctx.shared, flags, db, event, key, Some(&mut own));
}

/// Report an event that happened outside any client's command (active expiry, eviction),
/// in database `db`.
pub fn keyspace_event_db(shared: &Shared, db: usize, class: u32, event: &str, key: &[u8]) {
    let flags = shared.config.notify_keyspace_events();
    if flags & class == 0 {
        return;
    }
    publish(shared, flags, db, event, key, None);
}

/// Whether the configuration wants `expired` events at all (active expiry then hands over
/// the keys it reclaims).
pub fn wants_expired(shared: &Shared) -> bool {
    wants(shared.config.notify_keyspace_events(), class::EXPIRED)
}

fn wants(flags: u32, class: u32) -> bool {
    flags & class != 0 && flags & (class::KEYSPACE | class::KEYEVENT) != 0
}

/// Have the engine log exactly the events the configuration asks for (called before each
/// command; two relaxed loads when nothing changed).
#[inline]
pub fn sync_engine_log(shared: &Shared) {
    let flags = shared.config.notify_keyspace_events();
    brim_engine::expire::set_event_log(
        wants(flags, class::EXPIRED) || crate::propagate::is_on(),
        wants(flags, class::NEW),
    );
}

/// Most `keymiss` events a thread holds before its command publishes them.
const MISS_CAP: usize = 1 << 16;

thread_local! {
    /// `keymiss` events of the running command, `(db, key)`, oldest first.
    static MISSES: std::cell::RefCell<Vec<(usize, Box<[u8]>)>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Report a read lookup of `key` in database `db` that found nothing (Redis's `keymiss`,
/// class `m`). Lookups hold stripe locks, so the event is kept and published with the
/// engine's events ([`flush_engine_events`]): after any `expired` of the same lookup, before
/// the command's own events. One relaxed load when `m` is off.
pub fn key_miss(shared: &Shared, db: usize, key: &[u8]) {
    if !wants(shared.config.notify_keyspace_events(), class::KEY_MISS) || !shared.pubsub.has_listeners() {
        return;
    }
    let _ = MISSES.try_with(|m| {
        if let Ok(mut m) = m.try_borrow_mut() {
            if m.len() < MISS_CAP {
                m.push((db, key.into()));
            }
        }
    });
}

fn take_misses() -> Vec<(usize, Box<[u8]>)> {
    MISSES
        .try_with(|m| m.try_borrow_mut().map(|mut m| std::mem::take(&mut *m)).unwrap_or_default())
        .unwrap_or_default()
}

/// Publish the `keymiss` events kept by [`key_miss`].
fn flush_misses(ctx: &mut Ctx) {
    let misses = take_misses();
    if misses.is_empty() {
        return;
    }
    let flags = ctx.shared.config.notify_keyspace_events();
    for (db, key) in misses {
        let mut own = Own { id: ctx.client.handle.id, out: &mut *ctx.out };
        publish(ctx.shared, flags, db, "keymiss", &key, Some(&mut own));
    }
}

/// Publish the events the engine logged on this thread during the current command
/// (lazily expired keys, new keys), in the order they happened, then the `keymiss` events.
pub fn flush_engine_events(ctx: &mut Ctx) {
    publish_engine_events(ctx);
    flush_misses(ctx);
}

fn publish_engine_events(ctx: &mut Ctx) {
    if !brim_engine::expire::has_events() {
        return;
    }
    let mut events: Vec<KeyEvent> = Vec::new();
    brim_engine::expire::take_events(&mut events);
    let flags = ctx.shared.config.notify_keyspace_events();
    for ev in events {
        let (class, name) = match ev.kind {
            KeyEventKind::Expired => (class::EXPIRED, "expired"),
            KeyEventKind::New => (class::NEW, "new"),
        };
        if ev.kind == KeyEventKind::Expired && crate::propagate::is_on() {
            // The append-only file logs the deletion (Redis's propagateDeletion).
            let db = ctx.shared.stripe_map.db_of(ev.stripe).unwrap_or(ctx.client.db);
            crate::propagate::expired(ctx.shared, db, &ev.key);
        }
        if flags & class == 0 {
            continue;
        }
        let db = ctx.shared.stripe_map.db_of(ev.stripe).unwrap_or(ctx.client.db);
        let mut own = Own { id: ctx.client.handle.id, out: &mut *ctx.out };
        publish(ctx.shared, flags, db, name, &ev.key, Some(&mut own));
    }
}

fn publish(shared: &Shared, flags: u32, db: usize, event: &str, key: &[u8], mut own: Option<&mut Own>) {
    if !shared.pubsub.has_listeners() {
        return;
    }
    if flags & class::KEYSPACE != 0 {
        let mut chan = Vec::with_capacity(key.len() + 20);
        chan.extend_from_slice(b"__keyspace@");
        chan.extend_from_slice(db.to_string().as_bytes());
        chan.extend_from_slice(b"__:");
        chan.extend_from_slice(key);
        shared.pubsub.publish(shared, false, &chan, event.as_bytes(), own.as_deref_mut());
    }
    if flags & class::KEYEVENT != 0 {
        let chan = format!("__keyevent@{db}__:{event}");
        shared.pubsub.publish(shared, false, chan.as_bytes(), key, own);
    }
}

/// Report that `key` may now serve clients blocked on it (after LPUSH, ZADD, LMOVE's
/// destination, ...). Blocking commands wake here: the clients waiting on the key are
/// served once the current command (or EXEC) is over (`crate::blocking::serve_ready`). One
/// relaxed load when nobody is blocked.
pub fn key_ready(ctx: &Ctx, key: &[u8]) {
    crate::blocking::signal_ready(ctx.shared, ctx.client.db, key);
}
