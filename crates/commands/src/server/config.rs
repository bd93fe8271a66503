//! CONFIG GET, SET, RESETSTAT, REWRITE and HELP, on top of `brim_config`.

use std::sync::atomic::Ordering::Relaxed;

use brim_config::SetContext;

use super::{is_local_client, LOGLEVEL_HOOK};
use crate::args::SYNTAX;
use crate::ctx::Ctx;

/// CONFIG GET pattern [pattern ...]: a map of matching names to values.
pub(super) fn get(ctx: &mut Ctx, args: &[&[u8]]) {
    let pairs = ctx.shared.config.get(&args[2..]);
    ctx.out.map(pairs.len());
    for (name, value) in &pairs {
        ctx.out.bulk(name.as_bytes());
        ctx.out.bulk(value.as_bytes());
    }
}

/// CONFIG SET name value [name value ...], all or nothing.
pub(super) fn set(ctx: &mut Ctx, args: &[&[u8]]) {
    if !args.len().is_multiple_of(2) {
        ctx.error(SYNTAX);
        return;
    }
    let pairs: Vec<(&[u8], &[u8])> = args[2..].chunks_exact(2).map(|p| (p[0], p[1])).collect();
    let set_ctx = SetContext { local_client: is_local_client(ctx), loading: false };
    match ctx.shared.config.set_with(&pairs, set_ctx) {
        Ok(changed) => {
            apply_side_effects(ctx, &changed);
            ctx.out.ok();
        }
        Err(e) => ctx.error(&e),
    }
}

/// What changing a directive does beyond storing its value.
fn apply_side_effects(ctx: &Ctx, changed: &[&'static str]) {
    for name in changed {
        match *name {
            "loglevel" => {
                if let Some(hook) = LOGLEVEL_HOOK.get() {
                    hook(ctx.shared.config.loglevel().as_str());
                }
            }
            "lazyfree-lazy-server-del" | "lazyfree-lazy-expire" => super::sync_lazyfree_config(ctx.shared),
            "appendonly" => crate::persistence::aof::config_changed(ctx.shared),
            "jemalloc-bg-thread" => {
                brim_engine::evict::allocator::set_background_thread(ctx.shared.config.jemalloc_bg_thread());
            }
            // Idle clients look at their deadline again now, not at their next request.
            "timeout" => ctx.shared.clients.lock().values().for_each(|h| h.wake.notify_one()),
            _ => {}
        }
    }
}

/// CONFIG RESETSTAT: zero the statistics INFO reports (commandstats, errorstats, stats
/// counters). The slow log is left alone, as in Redis.
pub(super) fn resetstat(ctx: &mut Ctx, _args: &[&[u8]]) {
    reset_stats(ctx.shared);
    ctx.out.ok();
}

/// Zero every statistic CONFIG RESETSTAT resets.
fn reset_stats(shared: &crate::shared::Shared) {
    for w in shared.workers.lock().iter() {
        w.reset();
    }
    let s = &shared.stats;
    for c in [
        &s.total_connections_received,
        &s.rejected_connections,
        &s.evicted_keys,
        &s.evicted_clients,
        &s.total_error_replies,
        &s.unexpected_error_replies,
        &s.hot_key_client_moves,
        &s.balance_client_moves,
    ] {
        c.store(0, Relaxed);
    }
    s.errorstats.lock().clear();
    brim_engine::stripe::EXPIRED_KEYS.store(0, Relaxed);
    brim_engine::lazyfree::reset_stats();
    crate::memory::reset_stats();
    brim_engine::expire::STATS.reset();
    super::info::reset_instantaneous_metrics();
}

/// CONFIG REWRITE.
pub(super) fn rewrite(ctx: &mut Ctx, _args: &[&[u8]]) {
    match ctx.shared.config.rewrite() {
        Ok(()) => ctx.out.ok(),
        Err(e) => ctx.error(&e),
    }
}

/// CONFIG HELP.
pub(super) fn help(ctx: &mut Ctx, _args: &[&[u8]]) {
    ctx.help(
        "CONFIG",
        &[
            "GET <pattern>",
            "    Return parameters matching the glob-like <pattern> and their values.",
            "SET <directive> <value>",
            "    Set the configuration <directive> to <value>.",
            "RESETSTAT",
            "    Reset statistics reported by the INFO command.",
            "REWRITE",
            "    Rewrite the configuration file.",
        ],
    );
}
