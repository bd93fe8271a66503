"""Throughput and latency: redis-benchmark against each server and against the null RESP server.

redis-benchmark (Redis 7.0.15's) runs the tests below with 50 clients at -P 1 and -P 16, random keys from
100,000 (-r), `--threads` = half the cores (the other half serves). Reported per test: ops/s, p50, p99
(redis-benchmark's own summary), p99.9 (the first point of its percentile distribution at or above 99.9%) and the
server's CPU time per request (user + system from /proc/<pid>/stat over the test, setup requests such as
lrange's LPUSH included): on a shared 2-core machine ops/s swing with the neighbours, CPU per request much less.
The null server (benches/nullserver) answers without a keyspace: the line that loopback I/O and the client
allow on this machine, which no server can beat.
"""

import re
import subprocess

from .harness import cpu_seconds, median

NAME = "throughput"
ORDER = 10
HELP = "redis-benchmark ops/s and p50/p99/p99.9 for 11 commands at -P 1 and -P 16, 50 clients, plus a null server"

TESTS = "ping,set,get,incr,mset,lpush,rpop,sadd,hset,zadd,lrange_100"
PIPELINES = (1, 16)
CLIENTS = 50


def _name(title):
    # "LRANGE_100 (first 100 elements)" -> lrange_100, "MSET (10 keys)" -> mset, "PING_INLINE" -> ping_inline
    if "needed to benchmark" in title:
        return None
    return title.split(" ")[0].lower()


def parse(out):
    """Parse redis-benchmark's full (non-CSV) output: {test: {rps, avg_ms, p50_ms, p99_ms, p999_ms, max_ms}}."""
    out = out.replace("\r", "\n")
    results = {}
    blocks = re.split(r"^====== (.+?) ======$", out, flags=re.M)
    for title, body in zip(blocks[1::2], blocks[2::2]):
        name = _name(title.strip())
        if name is None:
            continue
        r = {}
        m = re.search(r"throughput summary: ([\d.]+) requests per second", body)
        if m:
            r["rps"] = float(m.group(1))
        m = re.search(r"avg\s+min\s+p50\s+p95\s+p99\s+max\s*\n\s*" + r"\s+".join([r"([\d.]+)"] * 6), body)
        if m:
            avg, _mn, p50, _p95, p99, mx = (float(x) for x in m.groups())
            r.update(avg_ms=avg, p50_ms=p50, p99_ms=p99, max_ms=mx)
        dist = body.split("Latency by percentile distribution:", 1)
        if len(dist) == 2:
            for line in dist[1].splitlines():
                m = re.match(r"\s*([\d.]+)% <= ([\d.]+) milliseconds", line)
                if m and float(m.group(1)) >= 99.9:
                    r["p999_ms"] = float(m.group(2))
                    break
        if "rps" in r:
            results[name] = r
    return results


def run(h):
    """Every server (and the null server) in A/B/A/B rotation; each round runs both pipeline depths."""
    requests = {1: h.size(ci=2_000, quick=30_000, full=150_000),
                16: h.size(ci=10_000, quick=150_000, full=750_000)}
    threads = max(1, h.cores // 2)
    kinds = list(h.kinds) + (["null"] if h.bins.get("null") else [])
    runs = []
    for rnd, kind in h.rotation(rounds=h.rounds(full=2), kinds=kinds):
        with h.start(kind) as srv:
            for p in PIPELINES:
                h.log(f"throughput round {rnd + 1}: {kind} -P {p}")
                for t in TESTS.split(","):
                    cmd = [h.redis_benchmark, "-h", "127.0.0.1", "-p", str(srv.port), "-c", str(CLIENTS),
                           "-n", str(requests[p]), "-P", str(p), "-r", "100000", "-t", t,
                           "--threads", str(threads)]
                    cpu0 = cpu_seconds(srv.proc.pid)
                    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=1800)
                    cpu = cpu_seconds(srv.proc.pid) - cpu0
                    parsed = parse(proc.stdout)
                    if not parsed:
                        raise RuntimeError(f"redis-benchmark gave nothing for {kind}: {proc.stderr[-500:]}")
                    # Every test block the run printed (setup ones included) served `-n` requests.
                    served = requests[p] * max(1, len(re.findall(r"^====== .+ ======$", proc.stdout, re.M)))
                    for test, r in parsed.items():
                        runs.append(dict(r, round=rnd, server=kind, pipeline=p, test=test,
                                         cpu_us=cpu * 1e6 / served))
                    if not srv.alive():
                        raise RuntimeError(f"{kind} died during redis-benchmark:\n{srv.tail_log()}")
    # Per (test, pipeline, server): the best round (its latencies with it) and every round's ops/s.
    summary = {}
    for r in runs:
        row = summary.setdefault(f"{r['test']}/P{r['pipeline']}", {"test": r["test"], "pipeline": r["pipeline"]})
        cell = row.setdefault(r["server"], {"rounds_rps": [], "rounds_cpu_us": []})
        cell["rounds_rps"].append(r["rps"])
        if r.get("cpu_us"):
            cell["rounds_cpu_us"].append(r["cpu_us"])
        if r["rps"] >= cell.get("rps", 0):
            cell.update({k: r[k] for k in ("rps", "p50_ms", "p99_ms", "p999_ms") if k in r})
    for row in summary.values():
        for kind in kinds:
            if kind in row:
                row[kind]["median_rps"] = median(row[kind]["rounds_rps"])
                row[kind]["cpu_us"] = median(row[kind]["rounds_cpu_us"])
    rows = sorted(summary.values(), key=lambda r: (r["pipeline"], TESTS.split(",").index(_base(r["test"]))))
    data = {"clients": CLIENTS, "threads": threads, "requests": {str(p): n for p, n in requests.items()},
            "servers": kinds, "rows": rows, "runs": runs}
    _print(data)
    return data


def _base(test):
    return "ping" if test.startswith("ping") else test


def _print(data):
    kinds = data["servers"]
    print(f"\n== throughput (redis-benchmark, {data['clients']} clients, ops/s of the best round; x = / Redis)")
    head = f"{'test':<12}{'-P':>4}" + "".join(f"{k:>12}" for k in kinds)
    cpu_kinds = [k for k in kinds if k != "null"]
    print(head + ("   brim p99 ms" if "brim" in kinds else "") + "".join(f"{k + ' µs':>12}" for k in cpu_kinds))
    for r in data["rows"]:
        line = f"{r['test']:<12}{r['pipeline']:>4}"
        for k in kinds:
            line += f"{r[k]['rps']:>12.0f}" if k in r else f"{'-':>12}"
        if "brim" in r:
            line += f"{r['brim'].get('p99_ms', 0):>14.3f}"
        for k in cpu_kinds:
            line += f"{_cpu(r.get(k, {}).get('cpu_us')):>12}"
        print(line)


def _cpu(x):
    return "–" if not x else f"{x:.2f}"


def headline(data):
    """One-line summary for the report's headline list."""
    out = []
    for p in PIPELINES:
        ratios = [r["brim"]["rps"] / r["redis"]["rps"] for r in data["rows"]
                  if r["pipeline"] == p and "brim" in r and "redis" in r and r["redis"]["rps"]]
        if ratios:
            geo = _geomean(ratios)
            cpu = _geomean([r["redis"].get("cpu_us", 0) / r["brim"]["cpu_us"] for r in data["rows"]
                            if r["pipeline"] == p and r.get("brim", {}).get("cpu_us") and "redis" in r])
            extra = f"; Redis's server CPU per request ÷ Brim's: {cpu:.2f}" if cpu else ""
            out.append(f"Throughput at -P {p}: Brim {geo:.2f}× Redis 7.0 ops/s (geometric mean over "
                       f"{len(ratios)} redis-benchmark tests{extra}).")
    return out


def report(data, rep):
    """Markdown section: one table per pipeline depth, ratios to Redis, and a bar plot of ops/s."""
    kinds = [k for k in data["servers"]]
    md = [f"redis-benchmark with {data['clients']} clients, `--threads {data['threads']}`, `-r 100000`; requests "
          f"per test: {data['requests']['1']:,} at -P 1, {data['requests']['16']:,} at -P 16. Each server ran "
          "in every round (A/B/A/B order); the tables show the best round's ops/s (every round is in the JSON, "
          "and the drift table below sums them up) and that round's latencies in ms. `null` is the null RESP "
          "server (benches/nullserver): it parses each command and answers without any keyspace, the "
          "physical limit of loopback I/O plus redis-benchmark on this machine (its LRANGE reply is an empty "
          "array, so lrange_100 is no limit there). At -P 1 on this 2-core VM the round trip is dominated by "
          "waking the other process up, and a single-threaded null server does not beat the real servers "
          "there; at -P 16 it is the ceiling.\n"]
    for p in PIPELINES:
        rows = [r for r in data["rows"] if r["pipeline"] == p]
        if not rows:
            continue
        headers = ["test"] + [f"{k} ops/s" for k in kinds]
        if "redis" in kinds:
            headers += [f"{k} / redis" for k in kinds if k != "redis"]
        headers += [f"{k} p50/p99/p99.9 ms" for k in kinds if k != "null"]
        headers += [f"{k} CPU µs/request" for k in kinds if k != "null"]
        table = []
        for r in rows:
            line = [r["test"]] + [rep.num(r[k]["rps"]) if k in r else "–" for k in kinds]
            if "redis" in kinds:
                line += [rep.ratio(r.get(k, {}).get("rps"), r.get("redis", {}).get("rps")) for k in kinds
                         if k != "redis"]
            for k in kinds:
                if k == "null":
                    continue
                c = r.get(k)
                lat = ("p50_ms", "p99_ms", "p999_ms")
                line.append("–" if not c else "/".join(f"{c.get(x, 0):.3f}" for x in lat))
            line += [_cpu(r.get(k, {}).get("cpu_us")) for k in kinds if k != "null"]
            table.append(line)
        md.append(f"**-P {p}**\n\n" + rep.table(headers, table))
        md.append(rep.bars(f"bench-throughput-p{p}", f"ops/s per command, -P {p}, {data['clients']} clients",
                           [r["test"] for r in rows],
                           {k: [r.get(k, {}).get("rps", 0) for r in rows] for k in kinds}, ylabel="ops/s"))
    md.append(_drift(data, rep))
    return "\n".join(x for x in md if x)


def _geomean(xs):
    xs = [x for x in xs if x]
    if not xs:
        return None
    g = 1.0
    for x in xs:
        g *= x
    return g ** (1 / len(xs))


def _drift(data, rep):
    """Per round and server, the geometric mean ops/s over all tests: rounds that differ show drift."""
    runs = data.get("runs", [])
    rounds = sorted({r["round"] for r in runs})
    kinds = data["servers"]
    table = []
    for p in PIPELINES:
        for rnd in rounds:
            line = [f"-P {p}, round {rnd + 1}"]
            for k in kinds:
                g = _geomean([r["rps"] for r in runs if r["round"] == rnd and r["server"] == k
                              and r["pipeline"] == p])
                line.append(rep.num(g))
            table.append(line)
    if not table:
        return ""
    return ("Drift check: geometric mean ops/s over all tests, per round (A/B/A/B order, so a machine that "
            "slowed down shows in every server's row of that round):\n\n"
            + rep.table(["round"] + list(kinds), table))
