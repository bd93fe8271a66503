//! Keyspace notifications (`notify-keyspace-events`): commands report what they did to a
//! key; subscribers of `__keyspace@<db>__:<key>` and `__keyevent@<db>__:<event>` hear it.
//!
//! Commands call [`keyspace_event`] after each change, with the event name Redis emits
//! (`set`, `del`, `expire`, `lpush`, `hset`, `rename_from`, ...) and its class.

pub use brim_config::notify as class;

use crate::ctx::Ctx;

/// Report event `event` of class `class` (a `class::*` bit) on `key` in the client's
/// database. Cheap when notifications are off.
pub fn keyspace_event(ctx: &Ctx, class: u32, event: &str, key: &[u8]) {
    // Delivery arrives with pub/sub; until then events are dropped here.
    let _ = (ctx, class, event, key);
}

/// Report that `key` may now serve clients blocked on it (after LPUSH, ZADD, LMOVE's
/// destination, ...). Blocking commands wake here.
pub fn key_ready(ctx: &Ctx, key: &[u8]) {
    // Blocking commands arrive later; until then nobody waits.
    let _ = (ctx, key);
}
