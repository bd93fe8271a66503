"""Write throughput while evicting continuously, against write throughput without eviction.

For each server: redis-benchmark SETs 100-byte values to random keys out of 10,000,000 (-r), 50 clients, -P 16.
*Without eviction*: a fresh server with no maxmemory. *Evicting*: a fresh server with `--maxmemory 64mb
--maxmemory-policy allkeys-lru`, first filled past the limit by an unmeasured run of the same benchmark, so that
every measured SET of a new key evicts one. Reported: ops/s both ways and their ratio per server (the target is
Brim's evicting throughput >= 0.9x its non-evicting throughput).
"""

import subprocess

from .harness import best
from .throughput import parse

NAME = "evict-throughput"
ORDER = 35
HELP = "SET ops/s while evicting continuously (maxmemory 64mb allkeys-lru) vs without eviction, per server"

CLIENTS = 50
PIPELINE = 16
KEYSPACE = 10_000_000
VALUE_LEN = 100


def bench(h, srv, requests):
    """One redis-benchmark SET run; returns its parsed result for `set`."""
    threads = max(1, h.cores // 2)
    cmd = [h.redis_benchmark, "-h", "127.0.0.1", "-p", str(srv.port), "-c", str(CLIENTS), "-n", str(requests),
           "-P", str(PIPELINE), "-r", str(KEYSPACE), "-d", str(VALUE_LEN), "-t", "set", "--threads", str(threads)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=1800)
    r = parse(proc.stdout).get("set")
    if r is None or not srv.alive():
        raise RuntimeError(f"{srv.kind}: redis-benchmark failed: {proc.stderr[-300:]}\n{srv.tail_log()}")
    return r


def run(h):
    requests = h.size(ci=20_000, quick=500_000, full=2_000_000)
    maxmemory = h.size(ci=2 << 20, quick=64 << 20, full=64 << 20)
    fill = h.size(ci=40_000, quick=800_000, full=800_000)
    rows = {}
    for rnd, kind in h.rotation(rounds=h.rounds(full=2)):
        cell = rows.setdefault(kind, {"plain": [], "evicting": []})
        h.log(f"evict-throughput round {rnd + 1}: {kind} without eviction")
        with h.start(kind) as srv:
            cell["plain"].append(bench(h, srv, requests))
        h.log(f"evict-throughput round {rnd + 1}: {kind} evicting")
        with h.start(kind, ["--maxmemory", str(maxmemory), "--maxmemory-policy", "allkeys-lru"]) as srv:
            bench(h, srv, fill)
            before = int(srv.info("stats").get("evicted_keys", 0))
            r = bench(h, srv, requests)
            r["evicted_during"] = int(srv.info("stats").get("evicted_keys", 0)) - before
            r["used_memory"] = srv.used_memory()
            cell["evicting"].append(r)
    out = []
    for kind in h.kinds:
        c = rows.get(kind)
        if not c:
            continue
        plain, ev = best(c["plain"], "rps"), best(c["evicting"], "rps")
        out.append({"server": kind, "plain": plain, "evicting": ev, "ratio": ev["rps"] / plain["rps"],
                    "rounds": c})
    data = {"servers": list(h.kinds), "requests": requests, "maxmemory": maxmemory, "clients": CLIENTS,
            "pipeline": PIPELINE, "rows": out}
    _print(data)
    return data


def _print(data):
    print(f"\n== evict-throughput: SET ops/s, {data['clients']} clients, -P {data['pipeline']}, "
          f"maxmemory {data['maxmemory'] >> 20} MB allkeys-lru vs no limit")
    print(f"{'server':<8}{'no eviction':>14}{'evicting':>12}{'ratio':>8}{'evicted during':>16}")
    for r in data["rows"]:
        print(f"{r['server']:<8}{r['plain']['rps']:>14.0f}{r['evicting']['rps']:>12.0f}{r['ratio']:>8.2f}"
              f"{r['evicting'].get('evicted_during', 0):>16,}")


def headline(data):
    """Headline: Brim's evicting/non-evicting write throughput ratio beside Redis's."""
    by = {r["server"]: r for r in data["rows"]}
    if "brim" in by:
        line = f"Writes while evicting: Brim keeps {by['brim']['ratio']:.2f}× its non-evicting SET throughput"
        if "redis" in by:
            line += f" (Redis 7.0: {by['redis']['ratio']:.2f}×)"
        return [line + "."]
    return []


def report(data, rep):
    """Markdown section: ops/s with and without eviction per server."""
    md = [f"redis-benchmark `-t set -d {VALUE_LEN} -r {KEYSPACE:,} -c {data['clients']} -P {data['pipeline']}`, "
          f"{data['requests']:,} requests; *evicting* runs on a server with `--maxmemory "
          f"{data['maxmemory'] >> 20}mb --maxmemory-policy allkeys-lru` already filled past the limit.\n"]
    table = [[r["server"], rep.num(r["plain"]["rps"]), rep.num(r["evicting"]["rps"]), f"{r['ratio']:.2f}",
              f"{r['evicting'].get('evicted_during', 0):,}"] for r in data["rows"]]
    md.append(rep.table(["server", "SET ops/s, no eviction", "SET ops/s, evicting", "ratio", "keys evicted"], table))
    return "\n".join(md)
