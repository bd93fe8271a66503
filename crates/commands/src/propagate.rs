//! What a command logs to the append-only file: its "replication form", as Redis 7.0's
//! `call()` / `alsoPropagate()` decide it.
//!
//! By default a command flagged `write` that changed the dataset (the engine's per-thread
//! modification counter, [`brim_engine::stripe::thread_modifications`], moved while it ran)
//! is logged as it came. Commands whose effect depends on when or how they ran give their
//! deterministic form instead through [`replace`] (EXPIRE → PEXPIREAT, INCRBYFLOAT → SET
//! ... KEEPTTL, BLPOP → LPOP, ...: logged only if the command changed something, as Redis's
//! rewriteClientCommandVector), or log other commands unconditionally ([`also`], Redis's
//! alsoPropagate) and nothing for themselves ([`suppress`]; SPOP → SREM per member). Keys
//! removed behind a command's back are logged as `DEL` (or `UNLINK` with the lazy-free
//! option), as Redis 7.0 does: lazily expired keys at once ([`expired`]), keys reclaimed by
//! the active expiry cycle or evicted through [`deleted_later`] + [`flush_deleted`].
//!
//! A unit of work ([`begin`] / [`end`], around the handler in `dispatch::call`) collects the
//! forms of the command and of the commands it runs (EXEC); at the end of the outermost
//! unit they are appended to the AOF buffer, inside `MULTI` … `EXEC` when there is more
//! than one, with `SELECT` where the database changes (`crate::persistence::aof`).
//!
//! Ordering: Brim runs commands on several threads, but the file must list changes in the
//! order they happened to each key. While the AOF is on, every command runs holding one
//! re-entrant lock ([`begin`]), taken after the keyspace gate and before any stripe lock;
//! its forms are appended before the lock is released. When the AOF is off that costs one
//! relaxed load per command.

use std::cell::RefCell;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};

use parking_lot::{ReentrantMutex, ReentrantMutexGuard};

use crate::shared::{unix_ms, Shared};
use crate::spec::flags;
use crate::table::Command;

/// Commands are logged (the AOF is open).
static ON: AtomicBool = AtomicBool::new(false);

/// Held by a command (and by whoever logs deletions) while the AOF is on.
static ORDER: ReentrantMutex<()> = parking_lot::const_reentrant_mutex(());

/// One command to log: its database and its arguments.
pub type Op = (usize, Vec<Vec<u8>>);

#[derive(Default)]
struct Local {
    /// Units open on this thread (EXEC nests the commands it runs).
    depth: u32,
    /// The running command's rewritten form ([`replace`]).
    rewritten: Option<Vec<Vec<u8>>>,
    /// Not to be logged itself ([`suppress`]).
    suppressed: bool,
    /// Commands it logs besides ([`also`]).
    extra: Vec<Vec<Vec<u8>>>,
    /// The forms gathered by the outermost unit so far.
    ops: Vec<Op>,
    /// Keys deleted behind commands' backs, to log by [`flush_deleted`]: (db, key, lazy).
    deleted: Vec<(usize, Vec<u8>, bool)>,
}

thread_local! {
    static LOCAL: RefCell<Local> = RefCell::new(Local::default());
}

/// Whether commands are logged now.
#[inline]
pub fn is_on() -> bool {
    ON.load(Relaxed)
}

/// Start or stop logging (by `crate::persistence::aof`, holding [`order`]).
pub fn set_on(on: bool) {
    ON.store(on, Relaxed);
}

/// The ordering lock, for code that changes the keyspace outside of `dispatch::call`
/// (served blocked clients) or switches AOF files.
pub fn order() -> ReentrantMutexGuard<'static, ()> {
    // Stripes are locked under it: a stripe kept from the last command goes first.
    brim_engine::release_kept();
    ORDER.lock()
}

/// An open unit of work (see [`begin`]).
pub struct Unit {
    guard: Option<ReentrantMutexGuard<'static, ()>>,
    mods: u64,
    saved: Option<Saved>,
}

type Saved = (Option<Vec<Vec<u8>>>, bool, Vec<Vec<Vec<u8>>>);

/// Open a unit around a command: takes the ordering lock when the AOF is on.
#[inline]
pub fn begin() -> Unit {
    if !is_on() {
        return Unit { guard: None, mods: 0, saved: None };
    }
    let guard = order();
    let saved = LOCAL.with(|l| {
        let mut l = l.borrow_mut();
        l.depth += 1;
        (l.rewritten.take(), std::mem::take(&mut l.suppressed), std::mem::take(&mut l.extra))
    });
    Unit { guard: Some(guard), mods: brim_engine::stripe::thread_modifications(), saved: Some(saved) }
}

/// Close the unit of command `cmd` (`args`, run in database `db`): gather its forms and, for
/// the outermost unit, append everything gathered to the AOF.
pub fn end(unit: Unit, shared: &Shared, db: usize, cmd: &Command, args: &[&[u8]]) {
    let Some(guard) = unit.guard else { return };
    let changed = brim_engine::stripe::thread_modifications() != unit.mods;
    let ops = LOCAL.with(|l| {
        let mut l = l.borrow_mut();
        let rewritten = l.rewritten.take();
        let suppressed = std::mem::take(&mut l.suppressed);
        let extra = std::mem::take(&mut l.extra);
        l.ops.extend(extra.into_iter().map(|a| (db, a)));
        if !suppressed && cmd.spec.has(flags::WRITE) && (changed || always_logged(cmd)) {
            let argv = rewritten.unwrap_or_else(|| args.iter().map(|a| a.to_vec()).collect());
            l.ops.push((db, argv));
        }
        if let Some((r, s, e)) = unit.saved {
            l.rewritten = r;
            l.suppressed = s;
            l.extra = e;
        }
        l.depth = l.depth.saturating_sub(1);
        if l.depth == 0 {
            std::mem::take(&mut l.ops)
        } else {
            Vec::new()
        }
    });
    if !ops.is_empty() {
        crate::persistence::aof::feed(shared, &ops);
    }
    drop(guard);
}

/// Commands Redis logs even when they changed nothing (forceCommandPropagation).
fn always_logged(cmd: &Command) -> bool {
    cmd.spec.container.is_none() && matches!(cmd.spec.name, "flushall" | "flushdb" | "swapdb")
}

/// Log `argv` instead of the running command, if it changed the dataset (Redis's
/// rewriteClientCommandVector). No effect while the AOF is off.
pub fn replace<A: AsRef<[u8]>>(argv: &[A]) {
    if is_on() {
        let v = argv.iter().map(|a| a.as_ref().to_vec()).collect();
        LOCAL.with(|l| l.borrow_mut().rewritten = Some(v));
    }
}

/// Log `argv` (in the running command's database) whether or not the command changed
/// anything, before the command's own form (Redis's alsoPropagate).
pub fn also<A: AsRef<[u8]>>(argv: &[A]) {
    if is_on() {
        let v = argv.iter().map(|a| a.as_ref().to_vec()).collect();
        LOCAL.with(|l| l.borrow_mut().extra.push(v));
    }
}

/// Log nothing for the running command itself (what it logs through [`also`] stays).
pub fn suppress() {
    if is_on() {
        LOCAL.with(|l| l.borrow_mut().suppressed = true);
    }
}

/// The deletion command Redis logs for a key removed behind a command's back.
fn del_name(lazy: bool) -> &'static [u8] {
    if lazy {
        b"UNLINK"
    } else {
        b"DEL"
    }
}

/// A lookup found `key` of `db` past its time and deleted it (the running command holds
/// the ordering lock): log `DEL` (`UNLINK` with `lazyfree-lazy-expire`) now, before the
/// command's own forms and outside its transaction, as Redis 7.0 does.
pub fn expired(shared: &Shared, db: usize, key: &[u8]) {
    if !is_on() {
        return;
    }
    let argv = vec![del_name(shared.config.lazyfree_lazy_expire()).to_vec(), key.to_vec()];
    crate::persistence::aof::feed(shared, &[(db, argv)]);
}

/// `key` of `db` was deleted by the active expiry cycle (`evicted`: by eviction) on this
/// thread without the ordering lock: remember it for [`flush_deleted`].
pub fn deleted_later(shared: &Shared, db: usize, key: &[u8], evicted: bool) {
    if !is_on() {
        return;
    }
    let lazy =
        if evicted { shared.config.lazyfree_lazy_eviction() } else { shared.config.lazyfree_lazy_expire() };
    LOCAL.with(|l| l.borrow_mut().deleted.push((db, key.to_vec(), lazy)));
}

/// Log the deletions remembered by [`deleted_later`], under the ordering lock. A key that
/// exists again was re-created by a command already logged after the deletion: its `DEL`
/// is left out. Call with no stripe lock held.
pub fn flush_deleted(shared: &Shared) {
    let keys = LOCAL.with(|l| std::mem::take(&mut l.borrow_mut().deleted));
    if keys.is_empty() || !is_on() {
        return;
    }
    let _order = order();
    let acc = brim_engine::Access::at(unix_ms()).no_touch();
    let mut ops = Vec::with_capacity(keys.len());
    for (db, key, lazy) in keys {
        if shared.keyspace.db(db).lock(&key).exists(&key, &acc) {
            continue;
        }
        ops.push((db, vec![del_name(lazy).to_vec(), key]));
    }
    for op in ops {
        crate::persistence::aof::feed(shared, std::slice::from_ref(&op));
    }
}

/// Log the running command as `DEL key` (`UNLINK` with `lazyfree-lazy-expire`): a
/// command that deleted the key by giving it a time in the past (EXPIRE, GETEX, SET EX).
pub fn replace_with_del(shared: &Shared, key: &[u8]) {
    if is_on() {
        replace(&[del_name(shared.config.lazyfree_lazy_expire()), key]);
    }
}

/// Log the running command as `PEXPIREAT key when_ms` (an expire time made absolute).
pub fn replace_with_pexpireat(key: &[u8], when_ms: i64) {
    if is_on() {
        replace(&[&b"PEXPIREAT"[..], key, when_ms.to_string().as_bytes()]);
    }
}

/// The elements of the last array or set reply in `tail` (reply bytes a command wrote, maybe
/// after push messages): what SPOP with a count popped, for its SREM forms.
pub fn reply_items(tail: &[u8]) -> Vec<Vec<u8>> {
    let mut items = Vec::new();
    let mut pos = 0;
    while pos < tail.len() {
        let collect = matches!(tail[pos], b'*' | b'~');
        let mut got = Vec::new();
        match frame(tail, pos, if collect { Some(&mut got) } else { None }) {
            Some(next) => pos = next,
            None => break,
        }
        if collect {
            items = got;
        }
    }
    items
}

/// Skip the RESP frame at `pos` (returning the offset after it); with `out`, collect the
/// bulk and integer elements of an aggregate frame.
fn frame(buf: &[u8], pos: usize, mut out: Option<&mut Vec<Vec<u8>>>) -> Option<usize> {
    let rest = buf.get(pos..)?;
    let eol = rest.windows(2).position(|w| w == b"\r\n")?;
    let head = rest.first()?;
    let n: i64 = std::str::from_utf8(rest.get(1..eol)?).ok()?.parse().ok().unwrap_or(-1);
    let mut at = pos + eol + 2;
    match head {
        b'$' | b'=' | b'!' if n >= 0 => {
            let end = at.checked_add(n as usize)?;
            let body = buf.get(at..end)?;
            if let Some(o) = out.as_deref_mut() {
                o.push(body.to_vec());
            }
            Some(end + 2)
        }
        b'*' | b'~' | b'>' | b'%' | b'|' if n >= 0 => {
            let k = if matches!(head, b'%' | b'|') { 2 * n } else { n };
            for _ in 0..k.min(1 << 24) {
                let elem_out = if *head == b'>' { None } else { out.as_deref_mut() };
                at = frame(buf, at, elem_out)?;
            }
            Some(at)
        }
        b':' => {
            if let Some(o) = out {
                o.push(rest.get(1..eol)?.to_vec());
            }
            Some(at)
        }
        _ => Some(at),
    }
}

/// Log `argv` in database `db` now, for a change made outside of a command's unit (a
/// blocked client served): the caller holds [`order`] across the change and this call.
pub fn log_now<A: AsRef<[u8]>>(shared: &Shared, db: usize, argv: &[A]) {
    if is_on() {
        let v = argv.iter().map(|a| a.as_ref().to_vec()).collect();
        crate::persistence::aof::feed(shared, &[(db, v)]);
    }
}

/// `name key [count]`: the form Redis 7.0 logs a pop in (LMPOP, BLPOP, BLMPOP → LPOP /
/// RPOP; ZMPOP, BZPOPMIN, BZMPOP → ZPOPMIN / ZPOPMAX).
pub fn pop_form(name: &str, key: &[u8], count: Option<usize>) -> Vec<Vec<u8>> {
    let mut v = vec![name.as_bytes().to_vec(), key.to_vec()];
    v.extend(count.map(|n| n.to_string().into_bytes()));
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reply_items_reads_the_last_aggregate_after_pushes() {
        assert_eq!(reply_items(b"*2\r\n$1\r\na\r\n:7\r\n"), vec![b"a".to_vec(), b"7".to_vec()]);
        let resp3 = b">3\r\n$7\r\nmessage\r\n$1\r\nc\r\n$4\r\nspop\r\n~1\r\n$2\r\nxy\r\n";
        assert_eq!(reply_items(resp3), vec![b"xy".to_vec()]);
        assert!(reply_items(b"-WRONGTYPE x\r\n").is_empty());
        assert!(reply_items(b"*3\r\n$1\r\na\r\n$5\r\nab").len() <= 1);
    }
}
