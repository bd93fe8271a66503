"""Fragmentation after churn: how far RSS stays above `maxmemory` once a full cache has had half its keys
deleted and been refilled with bigger values.

Each server starts with `--maxmemory 64mb --maxmemory-policy allkeys-lru`. Phases, one pipelined client:
1. *fill*: SET `key:%010d` with 100-byte values, in batches, until the server starts evicting (`evicted_keys`
   moves): the cache is at maxmemory;
2. *delete*: DEL half of those keys, chosen at random (seeded, the same keys for every server);
3. *refill*: SET `new:%010d` with 200-byte values until eviction starts again, then a further fixed number of
   such writes (`EXTRA_WRITES`), so the freed holes of the small size class meet allocations of a bigger one.
Then (after a pause for the servers' cron to refresh their allocator statistics) INFO memory's
`mem_fragmentation_ratio` (RSS / used_memory), `used_memory`, the RSS (/proc VmRSS), the RSS above the empty
server's RSS (measured right after start) against maxmemory (the target: Brim <= 1.10x), the peak RSS (VmHWM)
the same way, and the RSS after `MEMORY PURGE` (what the allocator gives back when asked).
"""

import random
import time

from . import load

NAME = "frag"
ORDER = 32
HELP = ("maxmemory 64mb allkeys-lru: fill with 100-byte values, DEL half at random, refill with 200-byte values "
        "past eviction: mem_fragmentation_ratio, used_memory, RSS above empty vs maxmemory")

SMALL, BIG = 100, 200
TARGET = 1.10


def stat(srv, field, section="stats"):
    """One integer field of INFO <section>."""
    return int(srv.info(section).get(field, 0))


def fill_until_eviction(h, srv, c, prefix, value_len, start, batch, max_keys, deadline):
    """SET <prefix>:%010d (value_len bytes) from `start` in batches until `evicted_keys` moves (or
    `max_keys` / the deadline). Returns the next index."""
    before = stat(srv, "evicted_keys")
    i = start
    while i - start < max_keys and time.time() < deadline:
        n, errors, first = load.strings(c, prefix, batch, value_len, start=i)
        if errors:
            raise RuntimeError(f"{srv.kind}: {errors} errors writing {prefix!r}: {first}")
        i += n
        if stat(srv, "evicted_keys") > before:
            return i
    raise RuntimeError(f"{srv.kind}: no eviction after {i - start:,} writes of {value_len} bytes")


def delete_half(c, keys, seed=7):
    """DEL a seeded random half of `key:%010d` for indexes 0..keys; returns how many existed."""
    victims = random.Random(seed).sample(range(keys), keys // 2)
    keys_of = (load.key_bytes(b"key", i) for i in victims)
    cmds = (b"*2\r\n$3\r\nDEL\r\n$%d\r\n%s\r\n" % (len(k), k) for k in keys_of)
    n, errors, first = load.pipelined(c, cmds)
    if errors:
        raise RuntimeError(f"DEL errors: {first}")
    return n


def snapshot(srv, c):
    """Keys, used_memory and RSS now."""
    return {"keys": c.cmd("DBSIZE"), "used_memory": srv.used_memory(), "rss": srv.rss()}


def measure(h, kind, maxmemory, extra_writes):
    """One server through fill, delete and refill; returns its figures."""
    batch = h.size(ci=500, quick=5_000, full=5_000)
    max_keys = maxmemory // 16
    with h.start(kind, ["--maxmemory", str(maxmemory), "--maxmemory-policy", "allkeys-lru"]) as srv:
        time.sleep(0.3)
        empty_rss = srv.rss()
        deadline = time.time() + h.size(ci=60, quick=300, full=300)
        with srv.conn() as c:
            filled = fill_until_eviction(h, srv, c, b"key", SMALL, 0, batch, max_keys, deadline)
            after_fill = snapshot(srv, c)
            delete_half(c, filled)
            after_del = snapshot(srv, c)
            evicted_before = stat(srv, "evicted_keys")
            refilled = fill_until_eviction(h, srv, c, b"new", BIG, 0, batch, max_keys, deadline)
            n, errors, first = load.strings(c, b"new", extra_writes, BIG, start=refilled)
            if errors:
                raise RuntimeError(f"{kind}: {errors} errors in the extra writes: {first}")
            time.sleep(1.0)  # let the cron refresh the allocator and RSS figures INFO reports
            mem = srv.info("memory")
            end = snapshot(srv, c)
            peak = srv.peak_rss()
            c.cmd("MEMORY", "PURGE")
            time.sleep(0.3)
            purged_rss = srv.rss()
        evicted = stat(srv, "evicted_keys")
    used = end["used_memory"]
    return {
        "empty_rss": empty_rss, "fill_writes": filled, "after_fill": after_fill, "after_delete": after_del,
        "refill_writes": refilled + n, "evicted_in_refill": evicted - evicted_before, "end": end,
        "mem_fragmentation_ratio": float(mem.get("mem_fragmentation_ratio", 0) or 0),
        "allocator_frag_ratio": float(mem.get("allocator_frag_ratio", 0) or 0),
        "info_rss": int(mem.get("used_memory_rss", 0) or 0),
        "rss_over_used": end["rss"] / max(1, used),
        "rss_above_empty_over_maxmemory": (end["rss"] - empty_rss) / maxmemory,
        "peak_rss": peak, "peak_above_empty_over_maxmemory": (peak - empty_rss) / maxmemory,
        "purged_rss": purged_rss, "purged_above_empty_over_maxmemory": (purged_rss - empty_rss) / maxmemory,
    }


def run(h):
    """Every server once (or --rounds times, A/B/A/B), the same keys deleted for all."""
    maxmemory = h.size(ci=4 << 20, quick=64 << 20, full=64 << 20)
    extra_writes = h.size(ci=10_000, quick=200_000, full=200_000)
    rounds = {}
    for rnd, kind in h.rotation(rounds=h.rounds(full=1)):
        h.log(f"frag round {rnd + 1}: {kind}")
        rounds.setdefault(kind, []).append(measure(h, kind, maxmemory, extra_writes))
    rows = []
    for kind in h.kinds:
        results = rounds.get(kind)
        if results:
            by = sorted(results, key=lambda r: r["rss_above_empty_over_maxmemory"])
            rows.append({"server": kind, **by[len(by) // 2], "rounds": results})
    data = {"servers": list(h.kinds), "maxmemory": maxmemory, "small": SMALL, "big": BIG,
            "extra_writes": extra_writes, "target": TARGET, "rows": rows}
    _print(data)
    return data


def _print(data):
    print(f"\n== frag: maxmemory {data['maxmemory'] >> 20} MB allkeys-lru, fill with {data['small']}-byte values, "
          f"DEL half, refill with {data['big']}-byte values + {data['extra_writes']:,} writes")
    print(f"{'server':<8}{'keys':>10}{'used MB':>9}{'RSS MB':>9}{'frag ratio':>11}{'RSS-empty/max':>15}"
          f"{'peak/max':>10}{'purged/max':>12}")
    for r in data["rows"]:
        e = r["end"]
        print(f"{r['server']:<8}{e['keys']:>10,}{e['used_memory'] / 1048576:>9.1f}{e['rss'] / 1048576:>9.1f}"
              f"{r['mem_fragmentation_ratio']:>11.2f}{r['rss_above_empty_over_maxmemory']:>15.3f}"
              f"{r['peak_above_empty_over_maxmemory']:>10.3f}{r['purged_above_empty_over_maxmemory']:>12.3f}")


def headline(data):
    """Headline: Brim's RSS above empty against maxmemory after churn, beside Redis's."""
    by = {r["server"]: r for r in data["rows"]}
    b = by.get("brim")
    if not b:
        return []
    line = (f"Fragmentation after churn (64 MB): Brim's RSS above empty is "
            f"{b['rss_above_empty_over_maxmemory']:.2f}× maxmemory (target ≤ {data['target']:.2f}×), "
            f"mem_fragmentation_ratio {b['mem_fragmentation_ratio']:.2f}")
    r = by.get("redis")
    if r:
        line += (f"; Redis 7.0 {r['rss_above_empty_over_maxmemory']:.2f}× and "
                 f"{r['mem_fragmentation_ratio']:.2f}")
    return [line + "."]


def report(data, rep):
    """Markdown section: per server, the state after each phase and the RSS against maxmemory."""
    mm = data["maxmemory"]
    md = [f"`--maxmemory {mm >> 20}mb --maxmemory-policy allkeys-lru`, one pipelined client: SET `key:%010d` "
          f"with {data['small']}-byte values until eviction starts, DEL a random half of them (the same keys for "
          f"every server), then SET `new:%010d` with {data['big']}-byte values until eviction starts again and "
          f"{data['extra_writes']:,} writes more. *RSS − empty*: VmRSS at the end minus the RSS of the freshly "
          "started server, ÷ maxmemory (target for Brim ≤ "
          f"{data['target']:.2f}×); *peak*: VmHWM the same way; *after PURGE*: the RSS once `MEMORY PURGE` "
          "returned the allocator's free pages. *frag ratio*: INFO's `mem_fragmentation_ratio`.\n"]
    table = []
    for r in data["rows"]:
        f, d, e = r["after_fill"], r["after_delete"], r["end"]
        table.append([r["server"], f"{f['keys']:,} / {rep.mib(f['rss'])}", f"{d['keys']:,} / {rep.mib(d['rss'])}",
                      f"{e['keys']:,}", rep.mib(e["used_memory"]), rep.mib(e["rss"]),
                      f"{r['mem_fragmentation_ratio']:.2f}", f"{r['rss_above_empty_over_maxmemory']:.3f}",
                      f"{r['peak_above_empty_over_maxmemory']:.3f}", f"{r['purged_above_empty_over_maxmemory']:.3f}"])
    md.append(rep.table(["server", "filled: keys / RSS", "after DEL: keys / RSS", "keys at end", "used_memory",
                         "RSS", "frag ratio", "RSS − empty ÷ maxmemory", "peak ÷ maxmemory",
                         "after PURGE ÷ maxmemory"], table))
    labels = ["RSS − empty", "peak − empty", "after PURGE"]
    series = {r["server"]: [r["rss_above_empty_over_maxmemory"], r["peak_above_empty_over_maxmemory"],
                            r["purged_above_empty_over_maxmemory"]] for r in data["rows"]}
    md.append(rep.bars("bench-frag", "RSS above the empty server ÷ maxmemory after churn", labels, series,
                       ylabel="× maxmemory"))
    return "\n".join(x for x in md if x)
