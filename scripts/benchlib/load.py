"""Fast pipelined loaders: pre-encoded RESP sent in big batches over one connection, replies counted."""

from .resp import Conn


def key_bytes(prefix, i):
    """The key name used by the loaders: b"<prefix>:%010d"."""
    return b"%s:%010d" % (prefix, i)


def _bulk(b):
    return b"$%d\r\n%s\r\n" % (len(b), b)


def pipelined(conn: Conn, commands, batch=2000):
    """Send encoded commands (an iterable of bytes) in batches of `batch`, reading one single-line reply each.
    Returns (count, errors, first_error)."""
    buf, n, total, errors, first = [], 0, 0, 0, None
    for c in commands:
        buf.append(c)
        n += 1
        if n == batch:
            conn.send_raw(b"".join(buf))
            e, f = conn.skip_replies(n)
            errors, first, total = errors + e, first or f, total + n
            buf, n = [], 0
    if n:
        conn.send_raw(b"".join(buf))
        e, f = conn.skip_replies(n)
        errors, first, total = errors + e, first or f, total + n
    return total, errors, first


def strings(conn, prefix, count, value_len, start=0, extra=()):
    """SET <prefix>:%010d <value_len bytes> [extra...] for count keys. Returns (count, errors, first_error)."""
    value = _bulk(b"v" * value_len)
    tail = b"".join(_bulk(str(a).encode()) for a in extra)
    head = b"*%d\r\n$3\r\nSET\r\n" % (3 + len(extra))
    keys = range(start, start + count)
    return pipelined(conn, (head + _bulk(key_bytes(prefix, i)) + value + tail for i in keys))


def collection(conn, kind, prefix, keys, elements, chunk=100):
    """Fill `keys` keys of a collection type with `elements` elements each, `chunk` elements per command:
    list: RPUSH e%07d; set: SADD e%07d; hash: HSET f%07d v%07d; zset: ZADD <i> e%07d. The element bytes are the
    same for every key (each key holds its own copy), so the command bodies are encoded once."""
    bodies = []
    for start in range(0, elements, chunk):
        idx = range(start, min(start + chunk, elements))
        if kind == "list":
            name, args = b"RPUSH", [b"e%07d" % i for i in idx]
        elif kind == "set":
            name, args = b"SADD", [b"e%07d" % i for i in idx]
        elif kind == "hash":
            name, args = b"HSET", [x for i in idx for x in (b"f%07d" % i, b"v%07d" % i)]
        elif kind == "zset":
            name, args = b"ZADD", [x for i in idx for x in (b"%d" % i, b"e%07d" % i)]
        else:
            raise ValueError(kind)
        bodies.append((len(args) + 2, _bulk(name), b"".join(_bulk(a) for a in args)))

    def gen():
        for k in range(keys):
            key = _bulk(key_bytes(prefix, k))
            for argc, name, body in bodies:
                yield b"*%d\r\n" % argc + name + key + body

    return pipelined(conn, gen(), batch=max(1, min(2000, 200_000 // max(1, chunk))))


def payload_per_element(kind, elements):
    """Average payload bytes per element for collection(): the bytes a client sent for it (member, field and
    value, or member and the score's text), what a perfect store would have to keep."""
    if kind in ("list", "set"):
        return 8.0
    if kind == "hash":
        return 16.0
    if kind == "zset":
        return 8 + sum(len(b"%d" % i) for i in range(elements)) / max(1, elements)
    raise ValueError(kind)
