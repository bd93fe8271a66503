"""Write throughput while evicting continuously, against write throughput without eviction.

For each server: redis-benchmark SETs 100-byte values to random keys out of 10,000,000 (-r), 50 clients, -P 16.
*Without eviction*: a fresh server with no maxmemory. *Evicting*: a fresh server with `--maxmemory 64mb
--maxmemory-policy allkeys-lru`, first filled past the limit by an unmeasured run of the same benchmark, so that
every measured SET of a new key evicts one. Reported: ops/s both ways and their ratio per server (the target is
Brim's evicting throughput >= 0.9x its non-evicting throughput), at -P 16 and at -P 1 (a quarter of the requests).
Beside the ops/s, the server's own CPU time per SET (user + system, from /proc/<pid>/stat, over the measured run)
and its ratio: on a shared machine the ops/s swing with the neighbours' load, the CPU cost per request much less.
"""

import subprocess

from .harness import best, cpu_seconds, median
from .throughput import parse

NAME = "evict-throughput"
ORDER = 35
HELP = "SET ops/s while evicting continuously (maxmemory 64mb allkeys-lru) vs without eviction, per server"

CLIENTS = 50
PIPELINE = 16
#: Pipeline depths measured (the first is the headline's).
PIPELINES = (16, 1)
KEYSPACE = 10_000_000
VALUE_LEN = 100


def bench(h, srv, requests, pipeline=PIPELINE):
    """One redis-benchmark SET run; returns its parsed result for `set`, with the server's CPU microseconds per
    request (`cpu_us_per_op`)."""
    threads = max(1, h.cores // 2)
    cmd = [h.redis_benchmark, "-h", "127.0.0.1", "-p", str(srv.port), "-c", str(CLIENTS), "-n", str(requests),
           "-P", str(pipeline), "-r", str(KEYSPACE), "-d", str(VALUE_LEN), "-t", "set", "--threads", str(threads)]
    cpu0 = cpu_seconds(srv.proc.pid)
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=1800)
    cpu = cpu_seconds(srv.proc.pid) - cpu0
    r = parse(proc.stdout).get("set")
    if r is None or not srv.alive():
        raise RuntimeError(f"{srv.kind}: redis-benchmark failed: {proc.stderr[-300:]}\n{srv.tail_log()}")
    r["cpu_us_per_op"] = cpu * 1e6 / requests
    return r


def run(h):
    requests = h.size(ci=20_000, quick=500_000, full=2_000_000)
    # CI: a few MB above the server's own start-up memory and 50 clients' buffers.
    maxmemory = h.size(ci=4 << 20, quick=64 << 20, full=64 << 20)
    fill = h.size(ci=60_000, quick=800_000, full=800_000)
    pipelines = PIPELINES[:1] if h.ci else PIPELINES
    rows = {}
    for rnd, kind in h.rotation(rounds=h.rounds(full=2)):
        for pipeline in pipelines:
            n = requests if pipeline == PIPELINE else requests // 4
            cell = rows.setdefault((kind, pipeline), {"plain": [], "evicting": []})
            h.log(f"evict-throughput round {rnd + 1}: {kind} -P {pipeline} without eviction")
            with h.start(kind) as srv:
                cell["plain"].append(bench(h, srv, n, pipeline))
            h.log(f"evict-throughput round {rnd + 1}: {kind} -P {pipeline} evicting")
            with h.start(kind, ["--maxmemory", str(maxmemory), "--maxmemory-policy", "allkeys-lru"]) as srv:
                bench(h, srv, fill)
                before = int(srv.info("stats").get("evicted_keys", 0))
                r = bench(h, srv, n, pipeline)
                r["evicted_during"] = int(srv.info("stats").get("evicted_keys", 0)) - before
                r["used_memory"] = srv.used_memory()
                cell["evicting"].append(r)
    out = []
    for pipeline in pipelines:
        for kind in h.kinds:
            c = rows.get((kind, pipeline))
            if not c:
                continue
            plain, ev = best(c["plain"], "rps"), best(c["evicting"], "rps")
            cpu_plain = median([r.get("cpu_us_per_op") for r in c["plain"]])
            cpu_ev = median([r.get("cpu_us_per_op") for r in c["evicting"]])
            out.append({"server": kind, "pipeline": pipeline, "plain": plain, "evicting": ev,
                        "ratio": ev["rps"] / plain["rps"], "cpu_us_plain": cpu_plain, "cpu_us_evicting": cpu_ev,
                        "cpu_ratio": cpu_plain / cpu_ev if cpu_plain and cpu_ev else None, "rounds": c})
    data = {"servers": list(h.kinds), "requests": requests, "maxmemory": maxmemory, "clients": CLIENTS,
            "pipeline": PIPELINE, "pipelines": list(pipelines), "rows": out}
    _print(data)
    return data


def _cpu(x):
    return "–" if x is None else f"{x:.2f}"


def _print(data):
    print(f"\n== evict-throughput: SET ops/s, {data['clients']} clients, "
          f"maxmemory {data['maxmemory'] >> 20} MB allkeys-lru vs no limit; server CPU µs per SET")
    print(f"{'server':<8}{'-P':>4}{'no eviction':>14}{'evicting':>12}{'ratio':>8}{'CPU µs plain':>14}"
          f"{'evicting':>10}{'ratio':>8}{'evicted during':>16}")
    for r in data["rows"]:
        print(f"{r['server']:<8}{r.get('pipeline', data['pipeline']):>4}{r['plain']['rps']:>14.0f}"
              f"{r['evicting']['rps']:>12.0f}{r['ratio']:>8.2f}{_cpu(r.get('cpu_us_plain')):>14}"
              f"{_cpu(r.get('cpu_us_evicting')):>10}{_cpu(r.get('cpu_ratio')):>8}"
              f"{r['evicting'].get('evicted_during', 0):>16,}")


def _headline_rows(data):
    """The rows at the headline pipeline depth, by server."""
    return {r["server"]: r for r in data["rows"] if r.get("pipeline", data["pipeline"]) == data["pipeline"]}


def headline(data):
    """Headline: Brim's evicting/non-evicting write throughput ratio beside Redis's."""
    by = _headline_rows(data)
    if "brim" in by:
        b = by["brim"]
        line = f"Writes while evicting: Brim keeps {b['ratio']:.2f}× its non-evicting SET throughput"
        if b.get("cpu_ratio"):
            line += f" ({b['cpu_ratio']:.2f}× by CPU time per SET)"
        if "redis" in by:
            line += f" (Redis 7.0: {by['redis']['ratio']:.2f}×)"
        return [line + "."]
    return []


def report(data, rep):
    """Markdown section: ops/s and CPU time per SET with and without eviction, per server and pipeline depth."""
    md = [f"redis-benchmark `-t set -d {VALUE_LEN} -r {KEYSPACE:,} -c {data['clients']}`, {data['requests']:,} "
          "requests at -P 16 (a quarter at -P 1); *evicting* runs on a server with `--maxmemory "
          f"{data['maxmemory'] >> 20}mb --maxmemory-policy allkeys-lru` already filled past the limit. *CPU µs/SET*: "
          "the server's user + system time over the run ÷ requests (median of the rounds); its ratio is the "
          "throughput ratio a CPU-bound server would show, steadier than ops/s on a shared machine.\n"]
    table = [[r["server"], r.get("pipeline", data["pipeline"]), rep.num(r["plain"]["rps"]),
              rep.num(r["evicting"]["rps"]), f"{r['ratio']:.2f}", _cpu(r.get("cpu_us_plain")),
              _cpu(r.get("cpu_us_evicting")), _cpu(r.get("cpu_ratio")),
              f"{r['evicting'].get('evicted_during', 0):,}"] for r in data["rows"]]
    md.append(rep.table(["server", "-P", "SET ops/s, no eviction", "SET ops/s, evicting", "ratio",
                         "CPU µs/SET, no eviction", "CPU µs/SET, evicting", "CPU ratio", "keys evicted"], table))
    return "\n".join(md)
