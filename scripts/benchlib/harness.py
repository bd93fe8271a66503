"""The object every scenario's run(h) receives: run mode and sizes, the servers to compare, A/B/A/B rotation."""

import os
import sys
import time

from .servers import Server


class Harness:
    """Run-wide settings shared by the scenarios.

    mode: "ci" (Brim only, tiny sizes, no installs, no plots), "quick" (smoke sizes, one round) or "full".
    bins: kind -> binary path for the servers found ("brim", "redis", "valkey", "null").
    kinds: the servers to compare, in rotation order (Brim first).
    """

    def __init__(self, mode, bins, kinds, rounds=None, redis_benchmark="redis-benchmark"):
        self.mode = mode
        self.quick = mode != "full"
        self.ci = mode == "ci"
        self.bins = bins
        self.kinds = [k for k in kinds if bins.get(k)]
        self.rounds_override = rounds
        self.redis_benchmark = redis_benchmark
        self.cores = os.cpu_count() or 1
        self.t0 = time.time()

    def size(self, ci, quick, full):
        """Pick the size for this mode."""
        return {"ci": ci, "quick": quick, "full": full}[self.mode]

    def rounds(self, full=2):
        """Rounds of the A/B/A/B rotation: 1 under --quick/--ci, `full` otherwise, or --rounds."""
        if self.rounds_override:
            return self.rounds_override
        return 1 if self.quick else full

    def rotation(self, rounds=None, kinds=None):
        """Yield (round, kind) in A/B/A/B order: Brim, Redis, Valkey, Brim, Redis, Valkey, ...; the caller
        starts (and stops) one server per step, so two servers never run at once."""
        kinds = [k for k in (kinds or self.kinds) if self.bins.get(k)]
        for r in range(rounds if rounds is not None else self.rounds()):
            for k in kinds:
                yield r, k

    def start(self, kind, extra=()):
        """A Server for `kind` with the common settings plus `extra` args (e.g. ["--maxmemory", "64mb"]);
        use it as a context manager: `with h.start(kind) as srv:`."""
        return Server(kind, self.bins[kind], extra)

    def log(self, msg):
        """Progress line on stderr with the elapsed time."""
        print(f"[{time.time() - self.t0:7.1f}s] {msg}", file=sys.stderr, flush=True)


def best(values, key, higher_is_better=True):
    """The best of several rounds' result dicts by `key` (rounds are kept in the JSON too)."""
    vals = [v for v in values if v is not None and v.get(key) is not None]
    if not vals:
        return None
    return (max if higher_is_better else min)(vals, key=lambda v: v[key])


def median(xs):
    """Median of a non-empty list of numbers (None when empty)."""
    xs = sorted(x for x in xs if x is not None)
    if not xs:
        return None
    n = len(xs)
    return xs[n // 2] if n % 2 else (xs[n // 2 - 1] + xs[n // 2]) / 2


def cpu_seconds(pid):
    """User + system CPU time of a process so far, in seconds (0 when unknown)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return 0.0
