"""Memory per key and per element: strings and each collection type, small and big.

Each dataset is loaded into a fresh server (the servers rotate Brim, Redis, Valkey per dataset). Bytes per
key/element = (after - before) / count, from INFO used_memory and from RSS (/proc VmRSS). The payload line is
what a perfect store would keep (key bytes + value/element bytes, doubles as 8 bytes): the floor.
"""

import time

from . import load

NAME = "memory"
ORDER = 20
HELP = "bytes per key and per element (used_memory and RSS) for strings, lists, hashes, sets, zsets, small and big"

TYPES = ("list", "hash", "set", "zset")
KEY_LEN = 14  # b"key:%010d"
VALUE_LEN = 32


def datasets(h):
    """(name, type, keys, elements per key) for this mode."""
    out = [("string", "string", h.size(ci=5_000, quick=100_000, full=1_000_000), 1)]
    small_keys = h.size(ci=2_000, quick=20_000, full=100_000)
    big_keys, big_elems = h.size(ci=(3, 1_000), quick=(50, 10_000), full=(1_000, 10_000))
    for t in TYPES:
        out.append((f"{t}-small", t, small_keys, 10))
    for t in TYPES:
        out.append((f"{t}-big", t, big_keys, big_elems))
    return out


def payload(typ, elements):
    """Payload bytes per key (key + all elements)."""
    if typ == "string":
        return KEY_LEN + VALUE_LEN
    return KEY_LEN + elements * load.payload_per_element(typ, elements)


def measure(h, srv, typ, keys, elements):
    """Load one dataset into `srv` and return its measurements."""
    time.sleep(0.2)
    base_used, base_rss = srv.used_memory(), srv.rss()
    t0 = time.time()
    with srv.conn() as c:
        if typ == "string":
            n, errors, first = load.strings(c, b"key", keys, VALUE_LEN)
        else:
            n, errors, first = load.collection(c, typ, b"key", keys, elements)
        if errors:
            raise RuntimeError(f"{srv.kind}: {errors} errors loading {typ}: {first}")
        secs = time.time() - t0
        time.sleep(0.5)
        dbsize = c.cmd("DBSIZE")
        enc = c.cmd("OBJECT", "ENCODING", load.key_bytes(b"key", 0))
    used, rss = srv.used_memory(), srv.rss()
    count = keys * elements
    return {
        "keys": keys, "elements": elements, "dbsize": dbsize,
        "encoding": enc.decode() if isinstance(enc, bytes) else str(enc),
        "used_delta": used - base_used, "rss_delta": rss - base_rss, "peak_rss": srv.peak_rss(),
        "used_per_key": (used - base_used) / keys, "rss_per_key": (rss - base_rss) / keys,
        "used_per_element": (used - base_used) / count, "rss_per_element": (rss - base_rss) / count,
        "payload_per_key": payload(typ, elements), "load_seconds": round(secs, 3),
    }


def run(h):
    """Each dataset in a fresh server of each kind, rotating kinds per dataset."""
    rows = []
    for name, typ, keys, elements in datasets(h):
        row = {"dataset": name, "type": typ, "keys": keys, "elements": elements,
               "payload_per_key": payload(typ, elements)}
        for _rnd, kind in h.rotation(rounds=1):
            h.log(f"memory {name}: {kind} ({keys:,} keys x {elements:,})")
            with h.start(kind) as srv:
                row[kind] = measure(h, srv, typ, keys, elements)
        rows.append(row)
    data = {"servers": list(h.kinds), "rows": rows}
    _print(data)
    return data


def _per(row, kind, what):
    c = row.get(kind)
    if not c:
        return None
    return c[f"{what}_per_key"] if row["type"] == "string" else c[f"{what}_per_element"]


def _print(data):
    kinds = data["servers"]
    print("\n== memory: bytes per key (strings) / per element (collections), used_memory (RSS)")
    print(f"{'dataset':<12}{'payload':>9}" + "".join(f"{k:>20}" for k in kinds))
    for r in data["rows"]:
        pl = r["payload_per_key"] if r["type"] == "string" else r["payload_per_key"] / r["elements"]
        line = f"{r['dataset']:<12}{pl:>9.1f}"
        for k in kinds:
            u, s = _per(r, k, "used"), _per(r, k, "rss")
            line += f"{u:>11.1f} ({s:>6.1f})" if u is not None else f"{'-':>20}"
        print(line)


def headline(data):
    """Headline lines: Brim's bytes vs Redis's, small and big."""
    out = []
    groups = {"strings": ["string"], "small collections": [f"{t}-small" for t in TYPES],
              "big collections": [f"{t}-big" for t in TYPES]}
    for label, names in groups.items():
        ratios = [_per(r, "brim", "used") / _per(r, "redis", "used") for r in data["rows"] if r["dataset"] in names
                  and _per(r, "brim", "used") and _per(r, "redis", "used")]
        if ratios:
            span = f"{min(ratios):.2f}×" if len(ratios) == 1 else f"{min(ratios):.2f}–{max(ratios):.2f}×"
            out.append(f"Memory, {label}: Brim uses {span} Redis 7.0's used_memory per "
                       f"{'key' if label == 'strings' else 'element'}.")
    return out


def report(data, rep):
    """Markdown section: per dataset bytes per key/element for each server, ratios to Redis, payload floor."""
    kinds = data["servers"]
    md = ["Each dataset is loaded into a fresh server; bytes = (after − before) / count, from "
          "`INFO used_memory` "
          "and from the process RSS. Strings: `SET key:%010d <32 bytes>` (bytes per key). Collections: keys "
          "`key:%010d`, elements `e%07d` (list RPUSH, set SADD), `f%07d`→`v%07d` (hash HSET), `e%07d` with "
          "an integer score 0, 1, 2, ... (zset ZADD); bytes per element include the key's share. *payload* is "
          "the floor: the key's and the elements' bytes as the client sent them (a zset score as its text). "
          "The encoding column is what "
          "`OBJECT ENCODING` reports on each server.\n"]
    headers = ["dataset", "keys × elements", "payload"] + [f"{k} used" for k in kinds]
    if "redis" in kinds:
        headers += [f"{k} / redis" for k in kinds if k != "redis"]
    headers += [f"{k} RSS" for k in kinds] + ["encoding (" + "/".join(kinds) + ")"]
    table = []
    for r in data["rows"]:
        pl = r["payload_per_key"] if r["type"] == "string" else r["payload_per_key"] / r["elements"]
        line = [r["dataset"], f"{r['keys']:,} × {r['elements']:,}", f"{pl:.1f}"]
        line += [f"{_per(r, k, 'used'):.1f}" if r.get(k) else "–" for k in kinds]
        if "redis" in kinds:
            line += [rep.ratio(_per(r, k, "used"), _per(r, "redis", "used")) for k in kinds if k != "redis"]
        line += [f"{_per(r, k, 'rss'):.1f}" if r.get(k) else "–" for k in kinds]
        line.append("/".join(r[k]["encoding"] if r.get(k) else "–" for k in kinds))
        table.append(line)
    md.append("Bytes per key (string) or per element (collections):\n\n" + rep.table(headers, table))
    labels = [r["dataset"] for r in data["rows"]]
    series = {k: [_per(r, k, "used") or 0 for r in data["rows"]] for k in kinds}
    series["payload"] = [r["payload_per_key"] if r["type"] == "string" else r["payload_per_key"] / r["elements"]
                         for r in data["rows"]]
    md.append(rep.bars("bench-memory", "bytes per key (string) / per element (collections), used_memory", labels,
                       series, ylabel="bytes"))
    return "\n".join(x for x in md if x)
