"""A cache under maxmemory: how many keys each server holds in 64 MB, how often it hits, and how far its RSS
goes above the limit.

Each server starts empty with `--maxmemory 64mb --maxmemory-policy <policy>`. One pipelined client sends a
Zipf(0.99) stream of GETs over a universe of 2,000,000 keys `key:%d` (rank 1 is the hottest), and SETs a
100-byte value for every GET that missed (the classic cache-aside loop), in batches of 1,000 GETs: first a
warm-up stream (3,000,000 requests in full mode, which fills the cache and starts evicting), then the measured
stream (another 3,000,000), each bounded by 120 s. Reported: keys held at the end (DBSIZE), the hit ratio of
the measured stream (steady state) and of the warm-up, evicted keys, and the peak RSS above the empty
server's RSS (VmHWM minus the RSS right after start) against maxmemory.

`BENCH_CACHE_POLICIES=allkeys-lru[,allkeys-lfu...]` in the environment runs only those policies.
"""

import bisect
import itertools
import os
import random
import time

from .harness import best

NAME = "cache"
ORDER = 30
HELP = ("maxmemory 64mb cache, Zipf(0.99) GETs over 2,000,000 keys with SET on miss, per policy "
        "(allkeys-lru/lfu/random): keys held, hit ratio, peak RSS above empty vs maxmemory")

POLICIES = ("allkeys-lru", "allkeys-lfu", "allkeys-random")
VALUE_LEN = 100
ZIPF_S = 0.99
BATCH = 1000
TIME_LIMIT = 120.0


def zipf_ranks(universe, count, seed=1):
    """`count` key indexes in 0..universe, Zipf(ZIPF_S)-distributed (index 0 the most popular)."""
    try:
        import numpy as np
        w = np.arange(1, universe + 1, dtype=np.float64) ** -ZIPF_S
        cdf = np.cumsum(w)
        cdf /= cdf[-1]
        rng = np.random.default_rng(seed)
        return np.searchsorted(cdf, rng.random(count)).tolist()
    except ImportError:
        cdf = list(itertools.accumulate(k ** -ZIPF_S for k in range(1, universe + 1)))
        total = cdf[-1]
        rng = random.Random(seed)
        return [min(bisect.bisect_left(cdf, rng.random() * total), universe - 1) for _ in range(count)]


def workload(srv, stream, deadline):
    """Run the GET / SET-on-miss loop; returns (requests, hits, second_half_requests, second_half_hits)."""
    value = b"$%d\r\n%s\r\n" % (VALUE_LEN, b"v" * VALUE_LEN)
    half = len(stream) // 2
    done = hits = late = late_hits = 0
    with srv.conn() as c:
        for start in range(0, len(stream), BATCH):
            keys = [b"key:%d" % k for k in stream[start:start + BATCH]]
            c.send_raw(b"".join(b"*2\r\n$3\r\nGET\r\n$%d\r\n%s\r\n" % (len(k), k) for k in keys))
            missed = []
            for i, k in enumerate(keys):
                hit = c.read() is not None
                hits += hit
                if start + i >= half:
                    late += 1
                    late_hits += hit
                if not hit:
                    missed.append(k)
            if missed:
                c.send_raw(b"".join(b"*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n%s" % (len(k), k, value) for k in missed))
                c.skip_replies(len(missed))
            done += len(keys)
            if time.time() > deadline:
                break
    return done, hits, late, late_hits


def measure(h, kind, policy, maxmemory, warmup, stream):
    """One server, one policy: the warm-up, the measured cache loop, and what it left behind."""
    limit = h.size(ci=30.0, quick=60.0, full=TIME_LIMIT)
    with h.start(kind, ["--maxmemory", str(maxmemory), "--maxmemory-policy", policy]) as srv:
        time.sleep(0.3)
        empty_rss = srv.rss()
        w_done, w_hits, _, _ = workload(srv, warmup, time.time() + limit)
        t0 = time.time()
        done, hits, late, late_hits = workload(srv, stream, t0 + limit)
        secs = time.time() - t0
        time.sleep(0.3)
        with srv.conn() as c:
            dbsize = c.cmd("DBSIZE")
        mem, stats = srv.info("memory"), srv.info("stats")
        peak = srv.peak_rss()
        return {
            "requests": done, "seconds": round(secs, 2), "keys_held": dbsize,
            "hit_ratio": hits / max(1, done), "hit_ratio_second_half": late_hits / max(1, late),
            "warmup_requests": w_done, "warmup_hit_ratio": w_hits / max(1, w_done),
            "evicted_keys": int(stats.get("evicted_keys", 0)), "used_memory": int(mem.get("used_memory", 0)),
            "empty_rss": empty_rss, "peak_rss": peak, "peak_rss_above_empty": peak - empty_rss,
            "peak_over_maxmemory": (peak - empty_rss) / maxmemory,
        }


def policies():
    """The policies to run: POLICIES, or those named in $BENCH_CACHE_POLICIES (comma-separated)."""
    wanted = [p.strip() for p in os.environ.get("BENCH_CACHE_POLICIES", "").split(",") if p.strip()]
    unknown = [p for p in wanted if p not in POLICIES]
    if unknown:
        raise ValueError(f"BENCH_CACHE_POLICIES: unknown {unknown}; choose from {', '.join(POLICIES)}")
    return tuple(wanted) or POLICIES


def run(h):
    """Every policy on every server (A/B/A/B per policy), the same request stream for all."""
    universe = h.size(ci=50_000, quick=2_000_000, full=2_000_000)
    requests = h.size(ci=30_000, quick=1_000_000, full=3_000_000)
    maxmemory = h.size(ci=2 << 20, quick=64 << 20, full=64 << 20)
    h.log(f"cache: generating 2 x {requests:,} Zipf({ZIPF_S}) requests over {universe:,} keys")
    both = zipf_ranks(universe, 2 * requests)
    warmup, stream = both[:requests], both[requests:]
    rows = []
    for policy in policies():
        row = {"policy": policy}
        for _rnd, kind in h.rotation(rounds=1):
            h.log(f"cache {policy}: {kind}")
            row.setdefault("rounds", {}).setdefault(kind, []).append(
                measure(h, kind, policy, maxmemory, warmup, stream))
        for kind, results in row["rounds"].items():
            row[kind] = best(results, "hit_ratio")
        rows.append(row)
    data = {"servers": list(h.kinds), "universe": universe, "requests": requests, "maxmemory": maxmemory,
            "value_len": VALUE_LEN, "zipf_s": ZIPF_S, "rows": rows}
    _print(data)
    return data


def _print(data):
    print(f"\n== cache: maxmemory {data['maxmemory'] >> 20} MB, {data['requests']:,} warm-up then "
          f"{data['requests']:,} measured Zipf({data['zipf_s']}) GETs over {data['universe']:,} keys, SET "
          f"{data['value_len']}-byte values on miss")
    print(f"{'policy':<16}{'server':<8}{'keys held':>11}{'hit ratio':>11}{'warm-up':>9}{'evicted':>11}"
          f"{'peak RSS-empty':>16}{'/maxmemory':>12}")
    for r in data["rows"]:
        for k in data["servers"]:
            m = r.get(k)
            if m:
                print(f"{r['policy']:<16}{k:<8}{m['keys_held']:>11,}{m['hit_ratio']:>11.3f}{m['warmup_hit_ratio']:>9.3f}"
                      f"{m['evicted_keys']:>11,}{m['peak_rss_above_empty'] / 1048576:>14.1f}MB"
                      f"{m['peak_over_maxmemory']:>12.3f}")


def headline(data):
    """Headline lines: keys held and warm hit ratio, Brim vs Redis, for LRU and LFU."""
    out = []
    for r in data["rows"]:
        b, d = r.get("brim"), r.get("redis")
        if b and d and r["policy"] in ("allkeys-lru", "allkeys-lfu"):
            out.append(f"Cache ({r['policy']}, 64 MB): Brim holds {b['keys_held']:,} keys and hits "
                       f"{b['hit_ratio']:.1%}, Redis 7.0 {d['keys_held']:,} and {d['hit_ratio']:.1%}; "
                       f"Brim's peak RSS above empty is {b['peak_over_maxmemory']:.2f}× maxmemory.")
    return out


def report(data, rep):
    """Markdown section: per policy and server, keys held, hit ratios, evictions, RSS against maxmemory."""
    kinds = data["servers"]
    md = [f"`--maxmemory {data['maxmemory'] >> 20}mb`, one pipelined client: GETs of keys `key:%d` drawn from "
          f"Zipf({data['zipf_s']}) over {data['universe']:,} keys, and a SET of a {data['value_len']}-byte value "
          f"after every miss (batches of {BATCH} GETs): {data['requests']:,} requests to warm up, then "
          f"{data['requests']:,} measured (*hit ratio*; the warm-up's is beside it). *peak RSS* is VmHWM minus "
          "the RSS of the freshly started server.\n"]
    headers = ["policy", "server", "keys held", "hit ratio", "warm-up", "evicted", "peak RSS − empty", "÷ maxmemory"]
    table = []
    for r in data["rows"]:
        for k in kinds:
            m = r.get(k)
            if m:
                table.append([r["policy"], k, f"{m['keys_held']:,}", f"{m['hit_ratio']:.3f}",
                              f"{m['warmup_hit_ratio']:.3f}", f"{m['evicted_keys']:,}",
                              f"{m['peak_rss_above_empty'] / 1048576:.1f} MB", f"{m['peak_over_maxmemory']:.3f}"])
    md.append(rep.table(headers, table))
    labels = [r["policy"] for r in data["rows"]]
    series = {k: [(r.get(k) or {}).get("keys_held", 0) for r in data["rows"]] for k in kinds}
    md.append(rep.bars("bench-cache-keys", "keys held in 64 MB", labels, series, ylabel="keys"))
    return "\n".join(x for x in md if x)
