"""OOM behaviour under `maxmemory-policy noeviction`: which commands are refused, the exact error, recovery.

Each server starts without a limit; maxmemory is then set to its own idle used_memory + a fixed room (so every
server gets the same room for data), and 100-byte strings are written until the first error. Then maxmemory is
lowered to half the memory in use (firmly over the limit, so the answers do not depend on a reply buffer freed
a moment before) and a fixed list of commands is probed: writes that may grow memory must be refused with
Redis's OOM error; reads, DEL and EXPIRE must still work. Then every key is DELeted and a SET must succeed
again."""

import time

from . import load
from .resp import RespError

NAME = "oom"
ORDER = 35
HELP = "noeviction at maxmemory: refused commands and their exact error, keys held, recovery after DEL"

VALUE_LEN = 100

#: (label, command) probed once the server refuses writes; "k0" is an existing key.
PROBES = [
    ("SET new", ["SET", "oom:new", "x"]),
    ("SET existing", ["SET", load.key_bytes(b"oom", 0), "x"]),
    ("APPEND", ["APPEND", load.key_bytes(b"oom", 0), "x"]),
    ("INCR", ["INCR", "oom:counter"]),
    ("LPUSH", ["LPUSH", "oom:list", "a"]),
    ("SADD", ["SADD", "oom:set", "a"]),
    ("HSET", ["HSET", "oom:hash", "f", "v"]),
    ("ZADD", ["ZADD", "oom:zset", "1", "a"]),
    ("SETEX", ["SETEX", "oom:ex", "100", "x"]),
    ("EXPIRE", ["EXPIRE", load.key_bytes(b"oom", 1), "1000"]),
    ("GET", ["GET", load.key_bytes(b"oom", 2)]),
    ("EXISTS", ["EXISTS", load.key_bytes(b"oom", 2)]),
    ("DEL", ["DEL", load.key_bytes(b"oom", 3)]),
    ("MULTI/SET/EXEC", None),
]


def _show(r):
    if isinstance(r, RespError):
        return "-" + str(r)
    if isinstance(r, bytes):
        return repr(r.decode(errors="replace"))
    if isinstance(r, list):
        return "[" + ", ".join(_show(x) for x in r) + "]"
    return str(r)


def _short(shown):
    """A long bulk reply as its first bytes and its length, for the table."""
    if len(shown) > 24 and shown[:1] in "'\"":
        return f"{shown[:9]}…{shown[0]} ({len(shown) - 2} bytes)"
    return shown


def run(h):
    """Fill each server to its limit, probe, recover."""
    over = h.size(ci=2 << 20, quick=8 << 20, full=32 << 20)
    rows = {}
    for _rnd, kind in h.rotation(rounds=1):
        h.log(f"oom: {kind}")
        with h.start(kind) as srv, srv.conn() as c:
            time.sleep(0.2)
            base = srv.used_memory()
            limit = base + over
            c.cmd("CONFIG", "SET", "maxmemory-policy", "noeviction")
            c.cmd("CONFIG", "SET", "maxmemory", limit)
            held, error = 0, None
            batch = 500
            while error is None and held < 10_000_000:
                _n, errors, first = load.strings(c, b"oom", batch, VALUE_LEN, start=held)
                held += batch - errors
                if errors:
                    error = first
            used_at_oom = srv.used_memory()
            # Probe firmly over the limit: right at it, a reply buffer freed a moment ago decides the answer.
            c.cmd("CONFIG", "SET", "maxmemory", max(1, used_at_oom // 2))
            probes = {}
            for label, cmd in PROBES:
                if cmd is None:
                    c.cmd("MULTI")
                    queued = c.cmd("SET", "oom:multi", "x")
                    probes[label] = _show(queued) + " / " + _show(c.cmd("EXEC"))
                else:
                    probes[label] = _show(c.cmd(*cmd))
            c.cmd("CONFIG", "SET", "maxmemory", limit)
            t0 = time.time()
            for start in range(0, held + 1000, 1000):
                dels = [b"*%d\r\n$3\r\nDEL\r\n" % 1001]
                dels += [b"$14\r\n%s\r\n" % load.key_bytes(b"oom", i) for i in range(start, start + 1000)]
                load.pipelined(c, [b"".join(dels)])
            recovered = c.cmd("SET", "oom:after", "x")
            while recovered != "OK" and time.time() - t0 < 10:
                time.sleep(0.05)
                recovered = c.cmd("SET", "oom:after", "x")
            rows[kind] = {
                "baseline_used": base, "maxmemory": limit, "keys_held": held, "used_at_oom": used_at_oom,
                "peak_rss": srv.peak_rss(), "first_error": error, "probes": probes,
                "recovered": recovered == "OK", "recovery_seconds": round(time.time() - t0, 4),
                "used_after_del": srv.used_memory(),
            }
    data = {"servers": list(h.kinds), "room_bytes": over, "value_len": VALUE_LEN, "rows": rows}
    print(f"\n== oom (noeviction, maxmemory = baseline + {over >> 20} MiB, {VALUE_LEN}-byte strings)")
    for kind, r in rows.items():
        print(f"{kind:<8} keys held {r['keys_held']:>9,}  error: {r['first_error']}  recovered: {r['recovered']}")
    return data


def headline(data):
    """Whether Brim refuses exactly what Redis refuses, with the same error."""
    rows = data["rows"]
    if "brim" not in rows or "redis" not in rows:
        return []
    same = [k for k in rows["redis"]["probes"] if rows["brim"]["probes"].get(k) == rows["redis"]["probes"][k]]
    held = rows["brim"]["keys_held"] / max(1, rows["redis"]["keys_held"])
    total = len(rows["redis"]["probes"])
    return [f"OOM under noeviction: Brim's replies match Redis 7.0's for {len(same)}/{total} "
            f"probed commands; in the same room it holds {held:.2f}× as many keys before refusing writes."]


def report(data, rep):
    """Markdown: keys held per server, the error, and the probe table side by side."""
    rows = data["rows"]
    kinds = [k for k in data["servers"] if k in rows]
    md = [f"Each server gets maxmemory = its own idle `used_memory` + {data['room_bytes'] >> 20} MiB with "
          f"`noeviction`, then `SET oom:%010d <{data['value_len']} bytes>` until the first error. Then "
          "maxmemory is lowered to half the memory in use (firmly over the limit) and each command below is "
          "sent once; afterwards the limit is restored, every key is deleted with `DEL`, and a `SET` must work "
          "again (retried for up to 10 s; the time it took is shown).\n"]
    md.append(rep.table(["", *kinds], [
        ["keys held"] + [rep.num(rows[k]["keys_held"]) for k in kinds],
        ["used_memory at OOM"] + [rep.mib(rows[k]["used_at_oom"]) for k in kinds],
        ["maxmemory"] + [rep.mib(rows[k]["maxmemory"]) for k in kinds],
        ["peak RSS"] + [rep.mib(rows[k]["peak_rss"]) for k in kinds],
        ["first error"] + [f"`{rows[k]['first_error']}`" for k in kinds],
        ["SET after DEL of all keys"] + [f"OK after {rows[k]['recovery_seconds'] * 1000:.0f} ms"
                                          if rows[k]["recovered"] else "still refused after 10 s" for k in kinds],
    ]))
    labels = list(rows[kinds[0]]["probes"]) if kinds else []
    table = []
    for label in labels:
        line = [label] + [f"`{_short(rows[k]['probes'].get(label, '–'))}`" for k in kinds]
        if "redis" in rows and "brim" in rows:
            same = rows["brim"]["probes"].get(label) == rows["redis"]["probes"].get(label)
            line.append("yes" if same else "**no**")
        table.append(line)
    md.append("Replies once full:\n\n" + rep.table(["command", *kinds] + (["brim = redis"] if "redis" in rows and
                                                                             "brim" in rows else []), table))
    return "\n".join(md)
