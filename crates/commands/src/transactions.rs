//! Transactions: MULTI, EXEC, DISCARD, WATCH, UNWATCH.
//!
//! EXEC runs with the keyspace gate held exclusively, so no other worker runs a command
//! while the queued commands execute. WATCH registers the client's flag with the stripe of
//! each key; any change to the key (or its expiry, a FLUSH, SWAPDB) sets it.

use std::sync::atomic::Ordering::Relaxed;

use crate::client::{Client, WatchedKey};
use crate::ctx::Ctx;
use crate::dispatch::{call, over_maxmemory, resolve, OOM_ERROR};
use crate::shared::Shared;
use crate::spec::flags;
use crate::table::{cmd, exclusive, Registration};

/// The transactions family.
pub const COMMANDS: &[Registration] = &[
    cmd("multi", multi),
    exclusive("exec", exec),
    cmd("discard", discard),
    cmd("watch", watch),
    cmd("unwatch", unwatch),
];

fn multi(ctx: &mut Ctx, _args: &[&[u8]]) {
    if ctx.client.multi.is_some() {
        ctx.error("ERR MULTI calls can not be nested");
        return;
    }
    ctx.client.multi = Some(Vec::new());
    ctx.client.multi_error = false;
    ctx.client.handle.multi.store(0, Relaxed);
    ctx.out.ok();
}

/// Leave MULTI state, dropping the queue and all WATCHes.
pub fn discard_transaction(shared: &Shared, client: &mut Client) {
    client.multi = None;
    client.multi_error = false;
    client.handle.multi.store(-1, Relaxed);
    unwatch_all(shared, client);
}

fn discard(ctx: &mut Ctx, _args: &[&[u8]]) {
    if ctx.client.multi.is_none() {
        ctx.error("ERR DISCARD without MULTI");
        return;
    }
    discard_transaction(ctx.shared, ctx.client);
    ctx.out.ok();
}

fn watched_key_changed(ctx: &Ctx) -> bool {
    if ctx.client.watch_flag.load(Relaxed) {
        return true;
    }
    ctx.client.watched.iter().any(|w| {
        !w.expired_at_watch
            && ctx.shared.keyspace.db(w.db).lock(&w.key).is_logically_expired(&w.key, &ctx.acc)
    })
}

fn exec(ctx: &mut Ctx, _args: &[&[u8]]) {
    let Some(queue) = ctx.client.multi.take() else {
        ctx.error("ERR EXEC without MULTI");
        return;
    };
    if ctx.client.multi_error {
        discard_transaction(ctx.shared, ctx.client);
        ctx.error("EXECABORT Transaction discarded because of previous errors.");
        return;
    }
    if watched_key_changed(ctx) {
        discard_transaction(ctx.shared, ctx.client);
        ctx.out.null_array();
        return;
    }
    let shared = ctx.shared;
    let denyoom = queue.iter().any(|q| {
        let argv: Vec<&[u8]> = q.iter().map(|a| a.as_slice()).collect();
        shared.table.get(argv[0]).is_some_and(|c| c.spec.has(flags::DENYOOM))
    });
    if denyoom && over_maxmemory(shared) {
        discard_transaction(shared, ctx.client);
        ctx.error(&format!("EXECABORT Transaction discarded because of: {OOM_ERROR}"));
        return;
    }
    unwatch_all(shared, ctx.client);
    ctx.client.handle.multi.store(-1, Relaxed);
    ctx.client.in_exec = true;
    ctx.client.frozen_now = Some(ctx.acc.now_ms);
    ctx.out.array(queue.len());
    for q in &queue {
        let argv: Vec<&[u8]> = q.iter().map(|a| a.as_slice()).collect();
        if let Ok(c) = resolve(shared, ctx.out, &argv) {
            call(shared, ctx.worker, ctx.client, ctx.out, c, &argv, false);
        }
    }
    ctx.client.in_exec = false;
    ctx.client.frozen_now = None;
    ctx.client.multi_error = false;
}

fn watch(ctx: &mut Ctx, args: &[&[u8]]) {
    if ctx.client.multi.is_some() {
        ctx.error("ERR WATCH inside MULTI is not allowed");
        return;
    }
    let dbi = ctx.client.db;
    for key in &args[1..] {
        if ctx.client.watched.iter().any(|w| w.db == dbi && w.key == *key) {
            continue;
        }
        let mut s = ctx.shared.keyspace.db(dbi).lock(key);
        s.watch(key, &ctx.client.watch_flag);
        let expired = s.is_logically_expired(key, &ctx.acc);
        drop(s);
        ctx.client.watched.push(WatchedKey { db: dbi, key: key.to_vec(), expired_at_watch: expired });
    }
    ctx.out.ok();
}

fn unwatch(ctx: &mut Ctx, _args: &[&[u8]]) {
    unwatch_all(ctx.shared, ctx.client);
    ctx.out.ok();
}

/// Drop every WATCH of `client`.
pub fn unwatch_all(shared: &Shared, client: &mut Client) {
    for w in client.watched.drain(..) {
        shared.keyspace.db(w.db).lock(&w.key).unwatch(&w.key, &client.watch_flag);
    }
    client.watch_flag.store(false, Relaxed);
}
