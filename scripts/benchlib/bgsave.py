"""BGSAVE under a write load: how much memory a snapshot costs each server, how long it takes, and what it does
to the writers' latency.

Each server starts with `--dir <its tmpdir> --dbfilename dump.rdb` and is loaded with N strings `key:%012d`
(100-byte values; the keys redis-benchmark's `-r N` writes): 10,000,000 in full mode (about 2 GB of Redis's
used_memory, the issue's size), 300,000 under
--quick, 20,000 under --ci. Then used_memory and RSS are recorded, a quiet write load sizes the runs
(redis-benchmark `-t set -r N -d 100 -c 50 -P 1`), and a first BGSAVE without load gives the snapshot's length.
The measured run: the same write load, sized to outlast that snapshot, in the background; once its 50 clients
are connected, BGSAVE, and RSS / used_memory sampled every 50 ms until INFO persistence says
`rdb_bgsave_in_progress:0` (bounded by a timeout). Last, the same write load (same request count) without BGSAVE,
sampled the same way, as the control.

Memory: Redis and Valkey fork for BGSAVE, so the child's memory is not in the parent's RSS. Every sample reads
the server's process tree (/proc/<pid>/task/*/children, recursively): the *sum of the RSS* of the server and its
children (naive: the child's RSS counts the pages it still shares with the parent) and, for each child, its
Private_Dirty from /proc/<child>/smaps_rollup: the pages the fork duplicated by copy-on-write (the parent wrote
them after the fork, the child keeps the old copy) plus what the child allocated itself. The *extra memory* of
the snapshot is, per sample, (server RSS - server RSS before BGSAVE) + the children's Private_Dirty, and the
peak of it is reported, absolute and as a fraction of the dataset's used_memory. Brim snapshots in a thread,
without fork, so its own RSS growth is the whole cost. The INFO field rdb_last_cow_size (Redis: the child's
COW estimate; Brim: its snapshot buffer's peak) is kept beside it.
"""

import os
import subprocess
import time

from .load import pipelined
from .throughput import parse

NAME = "bgsave"
ORDER = 55
HELP = ("BGSAVE of ~2 GB of 100-byte strings under a redis-benchmark SET load: peak extra memory (RSS of the "
        "process tree, fork COW) vs used_memory, snapshot time, SET p99 with and without the snapshot")

VALUE_LEN = 100
CLIENTS = 50
SAMPLE_EVERY = 0.05


def _bulk(b):
    return b"$%d\r\n%s\r\n" % (len(b), b)


def _load(conn, count):
    """SET key:%012d <100 bytes> for count keys (the names redis-benchmark's `-r count` writes)."""
    value = _bulk(b"v" * VALUE_LEN)
    n, errors, first = pipelined(conn, (b"*3\r\n$3\r\nSET\r\n" + _bulk(b"key:%012d" % i) + value
                                        for i in range(count)), batch=5000)
    if errors:
        raise RuntimeError(f"SET failed during the load: {first}")
    return n


# ---- the process tree's memory ----

def _children(pid):
    """Every descendant pid of `pid` (from /proc/<pid>/task/*/children, recursively)."""
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        try:
            tasks = os.listdir(f"/proc/{p}/task")
        except OSError:
            continue
        for t in tasks:
            try:
                with open(f"/proc/{p}/task/{t}/children") as f:
                    kids = [int(x) for x in f.read().split()]
            except OSError:
                continue
            out += kids
            todo += kids
    return out


def _field(path, name):
    """A `Name:   123 kB` field of a /proc file in bytes (0 when the process is gone)."""
    try:
        with open(path) as f:
            for line in f:
                if line.startswith(name + ":"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def tree_memory(pid):
    """(server RSS, sum of the children's RSS, sum of the children's Private_Dirty, number of children)."""
    kids = _children(pid)
    rss = _field(f"/proc/{pid}/status", "VmRSS")
    kid_rss = sum(_field(f"/proc/{k}/status", "VmRSS") for k in kids)
    kid_dirty = sum(_field(f"/proc/{k}/smaps_rollup", "Private_Dirty") for k in kids)
    return rss, kid_rss, kid_dirty, len(kids)


# ---- redis-benchmark ----

def _bench(h, srv, keys, requests):
    cmd = [h.redis_benchmark, "-h", "127.0.0.1", "-p", str(srv.port), "-t", "set", "-r", str(keys),
           "-d", str(VALUE_LEN), "-c", str(CLIENTS), "-n", str(requests), "-P", "1"]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _finish(proc, timeout):
    """redis-benchmark's SET summary, or None when it had to be killed at the time limit."""
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        return None
    r = parse(out).get("set")
    if r is None:
        raise RuntimeError(f"redis-benchmark failed: {err[-300:]}")
    return r


def _wait_clients(srv, deadline):
    """Wait until redis-benchmark's clients are connected (so BGSAVE lands inside the load)."""
    while time.time() < deadline:
        if int(srv.info("clients").get("connected_clients", 0)) >= CLIENTS:
            return
        time.sleep(0.01)


def _bgsave(c):
    r = c.cmd("BGSAVE")
    if isinstance(r, Exception) or "started" not in str(r).lower():
        raise RuntimeError(f"BGSAVE: {r}")


def _sample(srv, t0, pre_rss, stop, timeout):
    """Sample the tree's memory and used_memory every 50 ms until stop() or the timeout; returns the samples
    [(t, server_rss, children_rss, children_private_dirty, children, used_memory)]."""
    out = []
    deadline = time.time() + timeout
    while True:
        now = time.time()
        rss, kid_rss, kid_dirty, kids = tree_memory(srv.proc.pid)
        used = srv.used_memory()
        out.append((round(now - t0, 3), rss, kid_rss, kid_dirty, kids, used))
        if stop() or now > deadline:
            return out, now > deadline
        time.sleep(max(0.0, SAMPLE_EVERY - (time.time() - now)))


def _summary(samples, pre_rss, used):
    extra = [(s[1] - pre_rss) + s[3] for s in samples]
    tree = [s[1] + s[2] - pre_rss for s in samples]
    own = [s[1] - pre_rss for s in samples]
    return {
        "peak_extra": max(extra), "peak_extra_over_used": max(extra) / used,
        "peak_tree_rss_above_pre": max(tree), "peak_tree_rss_over_used": max(tree) / used,
        "peak_server_rss_above_pre": max(own),
        "peak_child_private_dirty": max(s[3] for s in samples),
        "peak_used_memory": max(s[5] for s in samples),
        "children_seen": max(s[4] for s in samples),
    }


def one(h, kind, keys):
    """One server: load, size the write load, the measured BGSAVE under load, the control run."""
    timeout = h.size(ci=60.0, quick=120.0, full=600.0)
    with h.start(kind, ["--dbfilename", "dump.rdb"]) as srv:
        c = srv.conn(timeout=timeout)
        t = time.time()
        _load(c, keys)
        load_s = time.time() - t
        time.sleep(0.5)
        used = srv.used_memory()
        rss = srv.rss()
        h.log(f"bgsave: {kind} loaded {keys:,} keys in {load_s:.1f}s: used_memory {used:,} RSS {rss:,}")

        # The write load's rate, and the snapshot's length without load, to size the measured runs.
        probe = _finish(_bench(h, srv, keys, h.size(ci=5_000, quick=50_000, full=100_000)), timeout)
        if probe is None:
            raise RuntimeError("the sizing write load did not finish in time")
        t = time.time()
        _bgsave(c)
        while srv.info("persistence").get("rdb_bgsave_in_progress") != "0" and time.time() < t + timeout:
            time.sleep(0.02)
        idle_snapshot_s = time.time() - t
        time.sleep(0.5)
        requests = int(max(h.size(ci=2_000, quick=10_000, full=20_000),
                           probe["rps"] * (idle_snapshot_s * 1.2 + 0.2)))
        h.log(f"bgsave: {kind} idle snapshot {idle_snapshot_s:.2f}s, SET {probe['rps']:,.0f}/s: "
              f"{requests:,} requests per run")

        # The measured run: BGSAVE once the write load's clients are connected.
        pre_used = srv.used_memory()
        bench = _bench(h, srv, keys, requests)
        _wait_clients(srv, time.time() + 10)
        pre_rss = srv.rss()
        t0 = time.time()
        _bgsave(c)
        samples, timed_out = _sample(
            srv, t0, pre_rss, lambda: srv.info("persistence").get("rdb_bgsave_in_progress") == "0", timeout)
        snapshot_s = time.time() - t0
        loaded = _finish(bench, timeout)
        pers = srv.info("persistence")
        rdb = os.path.join(srv.dir, "dump.rdb")
        rdb_bytes = os.path.getsize(rdb) if os.path.exists(rdb) else None
        time.sleep(0.5)

        # The control: the same write load without BGSAVE, sampled the same way.
        ctl_pre = srv.rss()
        bench = _bench(h, srv, keys, requests)
        t1 = time.time()
        ctl_samples, _ = _sample(srv, t1, ctl_pre, lambda: bench.poll() is not None, timeout)
        quiet = _finish(bench, timeout)
        c.close()
        row = {
            "server": kind, "keys": keys, "load_s": round(load_s, 2),
            "used_memory": used, "rss": rss, "pre_used_memory": pre_used, "pre_rss": pre_rss,
            "snapshot_s": round(snapshot_s, 3), "idle_snapshot_s": round(idle_snapshot_s, 3),
            "rdb_last_bgsave_time_sec": int(pers.get("rdb_last_bgsave_time_sec", -1)),
            "rdb_last_bgsave_status": pers.get("rdb_last_bgsave_status"),
            "rdb_last_cow_size": int(pers.get("rdb_last_cow_size", 0)),
            "rdb_bytes": rdb_bytes, "timed_out": timed_out, "requests": requests,
            "set_rps_probe": probe["rps"], "set_bgsave": loaded, "set_quiet": quiet,
            "control_peak_rss_above_pre": max(s[1] for s in ctl_samples) - ctl_pre,
            "series": {"t": [s[0] for s in samples], "rss": [s[1] for s in samples],
                       "child_rss": [s[2] for s in samples], "child_dirty": [s[3] for s in samples],
                       "used": [s[5] for s in samples]},
        }
        row.update(_summary(samples, pre_rss, used))
        if loaded is None:
            h.log(f"bgsave: {kind}: the write load hit its time limit during the snapshot")
        return row


def run(h):
    keys = h.size(ci=20_000, quick=300_000, full=10_000_000)
    rows = []
    for _rnd, kind in h.rotation(rounds=1):
        h.log(f"bgsave: {kind}")
        rows.append(one(h, kind, keys))
    data = {"servers": list(h.kinds), "keys": keys, "value_len": VALUE_LEN, "clients": CLIENTS, "rows": rows}
    _print(data)
    return data


def _p99(r):
    return "–" if not r else f"{r['p99_ms']:.3f}"


def _worst(r):
    return "–" if not r or "max_ms" not in r else f"{r['max_ms']:.1f}"


def _print(data):
    print(f"\n== bgsave: {data['keys']:,} keys, {data['value_len']}-byte values, SET load -c {data['clients']} -P 1")
    print(f"{'server':<8}{'used MiB':>10}{'extra MiB':>11}{'/used':>7}{'tree RSS+':>11}{'child dirty':>13}"
          f"{'snap s':>8}{'p99 snap':>10}{'p99 quiet':>11}{'worst snap':>12}")
    for r in data["rows"]:
        print(f"{r['server']:<8}{r['used_memory'] / 1048576:>10.1f}{r['peak_extra'] / 1048576:>11.1f}"
              f"{r['peak_extra_over_used']:>7.3f}{r['peak_tree_rss_above_pre'] / 1048576:>11.1f}"
              f"{r['peak_child_private_dirty'] / 1048576:>13.1f}{r['snapshot_s']:>8.2f}"
              f"{_p99(r['set_bgsave']):>10}{_p99(r['set_quiet']):>11}{_worst(r['set_bgsave']):>12}")


def headline(data):
    """Headline: Brim's snapshot memory cost and latency beside Redis's."""
    by = {r["server"]: r for r in data["rows"]}
    b = by.get("brim")
    if not b:
        return []
    line = (f"BGSAVE of {data['keys']:,} keys ({b['used_memory'] / (1 << 20):,.0f} MiB used_memory) under a SET "
            f"load: Brim's peak extra memory {b['peak_extra'] / (1 << 20):,.1f} MiB "
            f"({b['peak_extra_over_used']:.1%} of the dataset), snapshot {b['snapshot_s']:.2f} s, SET p99 "
            f"{_p99(b['set_bgsave'])} ms vs {_p99(b['set_quiet'])} ms without it")
    r = by.get("redis")
    if r:
        line += (f" (Redis 7.0: {r['peak_extra'] / (1 << 20):,.1f} MiB, {r['peak_extra_over_used']:.1%}, "
                 f"{r['snapshot_s']:.2f} s, p99 {_p99(r['set_bgsave'])} vs {_p99(r['set_quiet'])} ms)")
    return [line + "."]


def report(data, rep):
    """Markdown section (the table and plot are drawn by benchlib.report.bgsave_section)."""
    from .report import bgsave_section
    return bgsave_section(data, rep)
