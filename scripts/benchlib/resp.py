"""A minimal blocking RESP2 client for the harness (no dependency on redis-py)."""

import socket


class RespError(Exception):
    """An error reply (-ERR ...) from the server; str(e) is the text without the leading '-'."""


class Conn:
    """One connection to 127.0.0.1:port. `cmd(*args)` sends one command and returns the decoded reply:
    str for simple strings, bytes for bulk strings, int, list, None for nil; error replies are returned
    as RespError instances (not raised) so callers can record the exact error text."""

    def __init__(self, port, timeout=60.0):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = bytearray()

    def close(self):
        """Close the connection."""
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    @staticmethod
    def encode(args):
        """RESP multibulk encoding of one command."""
        out = bytearray(b"*%d\r\n" % len(args))
        for a in args:
            if isinstance(a, str):
                a = a.encode()
            elif isinstance(a, (int, float)):
                a = str(a).encode()
            out += b"$%d\r\n%s\r\n" % (len(a), a)
        return bytes(out)

    def cmd(self, *args):
        """Send one command, return its reply."""
        self.sock.sendall(self.encode(args))
        return self.read()

    def pipeline(self, commands):
        """Send many commands at once, return their replies in order."""
        self.sock.sendall(b"".join(self.encode(c) for c in commands))
        return [self.read() for _ in commands]

    def send_raw(self, data):
        """Send pre-encoded bytes (see benchlib.load for bulk loading)."""
        self.sock.sendall(data)

    def _fill(self):
        chunk = self.sock.recv(1 << 20)
        if not chunk:
            raise ConnectionError("server closed the connection")
        self.buf += chunk

    def _line(self):
        while True:
            i = self.buf.find(b"\r\n")
            if i >= 0:
                line = bytes(self.buf[:i])
                del self.buf[: i + 2]
                return line
            self._fill()

    def read(self):
        """Read and decode one reply."""
        line = self._line()
        t, rest = line[:1], line[1:]
        if t == b"+":
            return rest.decode()
        if t == b"-":
            return RespError(rest.decode())
        if t == b":":
            return int(rest)
        if t == b"$":
            n = int(rest)
            if n < 0:
                return None
            while len(self.buf) < n + 2:
                self._fill()
            data = bytes(self.buf[:n])
            del self.buf[: n + 2]
            return data
        if t == b"*":
            n = int(rest)
            if n < 0:
                return None
            return [self.read() for _ in range(n)]
        raise ConnectionError(f"unexpected reply line {line[:80]!r}")

    def skip_replies(self, count):
        """Read and discard `count` single-line replies (+OK, :n, -ERR), as loaders get; returns how many
        of them were errors, and the first error text."""
        errors, first = 0, None
        got = 0
        while got < count:
            while True:
                i = self.buf.find(b"\r\n")
                if i < 0:
                    break
                if self.buf[:1] == b"-":
                    errors += 1
                    if first is None:
                        first = bytes(self.buf[1:i]).decode(errors="replace")
                del self.buf[: i + 2]
                got += 1
                if got == count:
                    break
            if got < count:
                self._fill()
        return errors, first


def info(port, section="memory"):
    """INFO <section> of the server on `port` as a dict of strings."""
    with Conn(port) as c:
        text = c.cmd("INFO", section)
    if isinstance(text, RespError) or text is None:
        return {}
    fields = {}
    for line in text.decode(errors="replace").splitlines():
        if ":" in line and not line.startswith("#"):
            k, v = line.split(":", 1)
            fields[k] = v.strip()
    return fields
