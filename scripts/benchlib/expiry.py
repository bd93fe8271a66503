"""A wave of expiring keys that nobody touches: how soon each server reclaims them and gives memory back.

For each server: 100,000 keys without TTL (`key:%012d`, 32-byte values, the keys redis-benchmark's GET
`-r 100000` reads), then 500,000 keys `vol:%010d` with 32-byte values and `PX` uniformly random in 1000-3000 ms,
then nothing touches them. For 12 s after the load, DBSIZE is sampled every 50 ms and used_memory and RSS every
250 ms. Reported: how long after their deadline on paper 50%, 90% and 99% of the volatile keys are gone (the time
DBSIZE falls to 100,000 + 1% of 500,000, interpolated between samples, minus the time by which 99% of the
deadlines had passed; the target for Brim is <= 0.25 s), used_memory and RSS at the
end against the 100,000-key baseline (targets: within 1% and 10%), the expiry cycle's CPU
(`expire_cycle_cpu_milliseconds`), and redis-benchmark's GET p99 (50 clients) while the wave runs against the
same before it.
"""

import math
import random
import subprocess
import time

from .load import pipelined
from .throughput import parse

NAME = "expiry"
ORDER = 45
HELP = "500k keys with PX 1-3 s + 100k persistent, untouched: reclaim lag, memory/RSS back to baseline, GET p99"

VALUE_LEN = 32
PX_MIN, PX_MAX = 1000, 3000
WINDOW = 12.0
DBSIZE_EVERY = 0.05
MEMORY_EVERY = 0.25
CLIENTS = 50


def _bulk(b):
    return b"$%d\r\n%s\r\n" % (len(b), b)


def _load_persistent(conn, count):
    value = _bulk(b"p" * VALUE_LEN)
    return pipelined(conn, (b"*3\r\n$3\r\nSET\r\n" + _bulk(b"key:%012d" % i) + value for i in range(count)))


def _load_volatile(conn, count, seed=7):
    """SET vol:%010d <value> PX <random 1000-3000>, in batches; returns each key's deadline (unix s) on paper,
    taken as the middle of its batch's round trip plus its PX."""
    rng = random.Random(seed)
    value = _bulk(b"v" * VALUE_LEN)
    deadlines = []
    batch = 5000
    for start in range(0, count, batch):
        n = min(batch, count - start)
        pxs = [rng.randint(PX_MIN, PX_MAX) for _ in range(n)]
        data = b"".join(b"*5\r\n$3\r\nSET\r\n" + _bulk(b"vol:%010d" % (start + i)) + value + b"$2\r\nPX\r\n"
                        + _bulk(b"%d" % px) for i, px in enumerate(pxs))
        t0 = time.time()
        conn.send_raw(data)
        errors, first = conn.skip_replies(n)
        t1 = time.time()
        if errors:
            raise RuntimeError(f"SET ... PX failed: {first}")
        mid = (t0 + t1) / 2
        deadlines += [mid + px / 1000.0 for px in pxs]
    return deadlines


def _benchmark(h, srv, requests):
    cmd = [h.redis_benchmark, "-h", "127.0.0.1", "-p", str(srv.port), "-c", str(CLIENTS), "-n", str(requests),
           "-r", "100000", "-t", "get"]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _finish(proc):
    out, err = proc.communicate(timeout=600)
    r = parse(out).get("get")
    if r is None:
        raise RuntimeError(f"redis-benchmark failed: {err[-300:]}")
    return r


def _crossing(samples, level):
    """First time (interpolated) at which the sampled count falls to `level` or below; None if never."""
    prev = None
    for t, n in samples:
        if n <= level:
            if prev is None or prev[1] == n:
                return t
            (t0, n0) = prev
            return t0 + (t - t0) * (n0 - level) / (n0 - n)
        prev = (t, n)
    return None


def _paper(deadlines, share):
    """The time by which `share` of the deadlines have passed."""
    d = sorted(deadlines)
    return d[max(0, math.ceil(share * len(d)) - 1)]


def one(h, kind, persistent, volatile):
    with h.start(kind) as srv:
        c = srv.conn()
        _load_persistent(c, persistent)
        # GET latency without the wave, sized to last about as long as the wave will.
        quiet = _finish(_benchmark(h, srv, h.size(ci=5_000, quick=100_000, full=300_000)))
        time.sleep(1.0)
        base_used, base_rss = srv.used_memory(), srv.rss()
        h.log(f"expiry: {kind} baseline used_memory {base_used:,} RSS {base_rss:,}; loading {volatile:,} keys")
        t_load = time.time()
        deadlines = _load_volatile(c, volatile)
        t_loaded = time.time()
        requests = int(max(1000, quiet["rps"] * 3.5)) if not h.ci else 5_000
        bench = _benchmark(h, srv, requests)
        counts, memory = [], []
        next_mem = time.time()
        while time.time() < t_loaded + WINDOW:
            now = time.time()
            counts.append((now, c.cmd("DBSIZE") - persistent))
            if now >= next_mem:
                memory.append((now, srv.used_memory(), srv.rss()))
                next_mem += MEMORY_EVERY
            time.sleep(max(0.0, DBSIZE_EVERY - (time.time() - now)))
        wave = _finish(bench)
        stats = srv.info("stats")
        end_used, end_rss = memory[-1][1], memory[-1][2]
        lags = {}
        for share in (0.5, 0.9, 0.99):
            left = volatile * (1 - share)
            actual = _crossing(counts, left)
            lags[f"p{int(share * 100)}"] = None if actual is None else actual - _paper(deadlines, share)
        gone = _crossing(counts, 0)
        c.close()
        return {
            "server": kind,
            "load_s": t_loaded - t_load,
            "lag_s": lags,
            "all_gone_after_last_deadline_s": None if gone is None else gone - max(deadlines),
            "base_used": base_used, "end_used": end_used, "used_ratio": end_used / base_used,
            "base_rss": base_rss, "end_rss": end_rss, "rss_ratio": end_rss / base_rss,
            "peak_used": max(m[1] for m in memory), "peak_rss": max(m[2] for m in memory),
            "expire_cycle_cpu_ms": int(stats.get("expire_cycle_cpu_milliseconds", 0)),
            "expired_keys": int(stats.get("expired_keys", 0)),
            "time_cap_reached": int(stats.get("expired_time_cap_reached_count", 0)),
            "get_quiet": quiet, "get_wave": wave,
            "series": {"t": [round(t - t_load, 3) for t, _ in counts], "volatile": [n for _, n in counts],
                       "mt": [round(t - t_load, 3) for t, _, _ in memory], "used": [u for _, u, _ in memory],
                       "rss": [r for _, _, r in memory]},
        }


def run(h):
    persistent = h.size(ci=2_000, quick=100_000, full=100_000)
    volatile = h.size(ci=10_000, quick=500_000, full=500_000)
    rows = []
    for rnd, kind in h.rotation(rounds=1):
        h.log(f"expiry: {kind}")
        rows.append(one(h, kind, persistent, volatile))
    data = {"servers": list(h.kinds), "persistent": persistent, "volatile": volatile, "value_len": VALUE_LEN,
            "px": [PX_MIN, PX_MAX], "rows": rows}
    _print(data)
    return data


def _s(x):
    return "–" if x is None else f"{x:.3f}"


def _print(data):
    print(f"\n== expiry: {data['volatile']:,} keys PX {data['px'][0]}-{data['px'][1]} ms + {data['persistent']:,} "
          "persistent, untouched")
    print(f"{'server':<8}{'lag p50':>9}{'lag p90':>9}{'lag p99':>9}{'all gone':>10}{'used/base':>11}{'RSS/base':>10}"
          f"{'cycle CPU ms':>14}{'GET p99 quiet':>15}{'GET p99 wave':>14}")
    for r in data["rows"]:
        lg = r["lag_s"]
        print(f"{r['server']:<8}{_s(lg['p50']):>9}{_s(lg['p90']):>9}{_s(lg['p99']):>9}"
              f"{_s(r['all_gone_after_last_deadline_s']):>10}{r['used_ratio']:>11.4f}{r['rss_ratio']:>10.3f}"
              f"{r['expire_cycle_cpu_ms']:>14}{r['get_quiet']['p99_ms']:>15.3f}{r['get_wave']['p99_ms']:>14.3f}")


def headline(data):
    """Headline: Brim's 99% reclaim lag and memory return beside Redis's."""
    by = {r["server"]: r for r in data["rows"]}
    b = by.get("brim")
    if not b or b["lag_s"]["p99"] is None:
        return []
    line = (f"Expiry: 99% of {data['volatile']:,} untouched volatile keys gone {b['lag_s']['p99']:.2f} s after their "
            f"deadline, used_memory back to {b['used_ratio']:.3f}× the baseline")
    r = by.get("redis")
    if r and r["lag_s"]["p99"] is not None:
        line += f" (Redis 7.0: {r['lag_s']['p99']:.2f} s, {r['used_ratio']:.3f}×)"
    return [line + "."]


def report(data, rep):
    """Markdown section: reclaim lags, memory at the end, cycle CPU, GET p99, and the DBSIZE curve."""
    md = [f"{data['persistent']:,} persistent keys, then {data['volatile']:,} keys with `PX` uniformly "
          f"{data['px'][0]}–{data['px'][1]} ms ({data['value_len']}-byte values), untouched. *Lag*: time between the "
          "moment a share of the deadlines had passed on paper and the moment DBSIZE showed that share gone. "
          "*used/base*, *RSS/base*: at the end of the 12 s window against the persistent-keys-only baseline. "
          f"GET p99: redis-benchmark `-t get -r 100000 -c {CLIENTS}` before the wave and during it.\n"]
    rows = []
    for r in data["rows"]:
        lg = r["lag_s"]
        rows.append([r["server"], _s(lg["p50"]), _s(lg["p90"]), _s(lg["p99"]),
                     _s(r["all_gone_after_last_deadline_s"]), f"{r['used_ratio']:.4f}", f"{r['rss_ratio']:.3f}",
                     str(r["expire_cycle_cpu_ms"]), f"{r['get_quiet']['p99_ms']:.3f}",
                     f"{r['get_wave']['p99_ms']:.3f}"])
    md.append(rep.table(["server", "lag 50% (s)", "lag 90% (s)", "lag 99% (s)", "all gone after last deadline (s)",
                         "used/base", "RSS/base", "cycle CPU (ms)", "GET p99 quiet (ms)", "GET p99 wave (ms)"],
                        rows))
    series = {r["server"]: (r["series"]["t"], r["series"]["volatile"]) for r in data["rows"]}
    md.append(rep.lines("expiry-dbsize", "Volatile keys left (DBSIZE - persistent)", series,
                        xlabel="seconds since the load started", ylabel="keys"))
    return "\n".join(md)
