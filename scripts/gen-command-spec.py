#!/usr/bin/env python3
"""Generate crates/commands/src/spec/generated.rs from a real Redis 7.0.15.

Usage: scripts/gen-command-spec.py [--redis-server PATH] [--out FILE] [--allow-other-version]

The script starts its own redis-server on a free loopback port (no persistence), reads
COMMAND INFO and COMMAND DOCS for every command and subcommand over RESP3, probes the two
command flags COMMAND INFO hides but that change behaviour (`may_replicate`, `protected`, see
`probe_hidden_flags`), stops the server and writes the Rust data file.

Only the Python standard library is used.
"""

import argparse
import os
import select
import shutil
import socket
import subprocess
import tempfile
import time

EXPECTED_VERSION = "7.0.15"
HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_OUT = os.path.join(HERE, "..", "crates", "commands", "src", "spec", "generated.rs")

# Redis's ACLCommandCategories, in order: bit i of `acl_categories` is entry i.
ACL_CATEGORIES = [
    "keyspace", "read", "write", "set", "sortedset", "list", "hash", "string", "bitmap",
    "hyperloglog", "geo", "stream", "pubsub", "admin", "fast", "slow", "blocking", "dangerous",
    "connection", "transaction", "scripting",
]

# COMMAND INFO flag names (in the order Redis prints them) -> `flags::` constant.
VISIBLE_FLAGS = [
    ("write", "WRITE"), ("readonly", "READONLY"), ("denyoom", "DENYOOM"), ("module", "MODULE"),
    ("admin", "ADMIN"), ("pubsub", "PUBSUB"), ("noscript", "NOSCRIPT"),
    ("blocking", "BLOCKING"), ("loading", "LOADING"), ("stale", "STALE"),
    ("skip_monitor", "SKIP_MONITOR"), ("skip_slowlog", "SKIP_SLOWLOG"), ("asking", "ASKING"),
    ("fast", "FAST"), ("no_auth", "NO_AUTH"), ("no_mandatory_keys", "NO_MANDATORY_KEYS"),
    ("no_async_loading", "NO_ASYNC_LOADING"), ("no_multi", "NO_MULTI"),
    ("movablekeys", "MOVABLE_KEYS"), ("allow_busy", "ALLOW_BUSY"),
]
FLAG_CONST = dict(VISIBLE_FLAGS)
FLAG_ORDER = [name for name, _ in VISIBLE_FLAGS]

DOC_KEYS = ["summary", "since", "group", "complexity", "doc_flags", "deprecated_since",
            "replaced_by", "history", "arguments", "subcommands"]
ARG_KEYS = ["name", "type", "key_spec_index", "token", "summary", "since", "deprecated_since",
            "display", "flags", "value", "arguments"]

# Commands the MULTI probe must not queue (they act immediately inside MULTI).
NOT_QUEUEABLE = {"multi", "exec", "discard", "watch", "quit", "reset"}


# ---------------------------------------------------------------------------------------------
# A minimal RESP3 client.

class Status(str):
    """A simple-string reply (kept apart from bulk strings for checking)."""


class RespError(Exception):
    pass


def encode(args):
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        if isinstance(a, str):
            a = a.encode()
        out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(out)


class Conn:
    def __init__(self, port, resp3=True):
        self.sock = socket.create_connection(("127.0.0.1", port))
        self.f = self.sock.makefile("rb")
        if resp3:
            self.call("HELLO", "3")

    def send(self, *args):
        self.sock.sendall(encode(args))

    def call(self, *args):
        self.send(*args)
        return self.read()

    def read(self, raise_errors=True):
        line = self.f.readline()
        if not line.endswith(b"\r\n"):
            raise RespError("connection closed")
        t, body = line[:1], line[1:-2]
        if t == b"+":
            return Status(body.decode())
        if t == b"-":
            err = RespError(body.decode())
            if raise_errors:
                raise err
            return err
        if t == b":":
            return int(body)
        if t == b"_":
            return None
        if t in (b"$", b"=", b"!"):
            n = int(body)
            if n < 0:
                return None
            data = self.f.read(n + 2)[:-2]
            return data.decode()
        if t in (b"*", b"~", b">"):
            n = int(body)
            if n < 0:
                return None
            return [self.read(raise_errors) for _ in range(n)]
        if t == b"%":
            n = int(body)
            out = {}
            for _ in range(n):
                k = self.read(raise_errors)
                out[k] = self.read(raise_errors)
            return out
        if t == b",":
            return float(body)
        if t == b"#":
            return body == b"t"
        raise RespError("unexpected reply type %r" % line)

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


# ---------------------------------------------------------------------------------------------
# Server lifecycle.

def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(binary):
    port = free_port()
    workdir = tempfile.mkdtemp(prefix="gen-command-spec-")
    proc = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
         "--dir", workdir, "--daemonize", "no", "--logfile", os.path.join(workdir, "log")],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 10
    while True:
        try:
            c = Conn(port, resp3=False)
            if c.call("PING") == "PONG":
                c.close()
                return proc, port, workdir
        except (OSError, RespError):
            pass
        if proc.poll() is not None or time.time() > deadline:
            proc.kill()
            raise SystemExit("redis-server did not start")
        time.sleep(0.05)


def stop_server(proc, workdir):
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    shutil.rmtree(workdir, ignore_errors=True)


# ---------------------------------------------------------------------------------------------
# Reading the metadata.

def collect_info(conn):
    """COMMAND INFO for every command -> {fullname: info list}, subcommands flattened too."""
    out = {}

    def walk(entry):
        out[entry[0]] = entry
        for sub in entry[9]:
            walk(sub)

    for entry in conn.call("COMMAND", "INFO"):
        walk(entry)
    return out


def collect_docs(conn):
    out = {}

    def walk(name, doc):
        out[name] = doc
        for sub_name, sub_doc in doc.get("subcommands", {}).items():
            walk(sub_name, sub_doc)

    for name, doc in conn.call("COMMAND", "DOCS").items():
        walk(name, doc)
    return out


def probe_hidden_flags(port, infos):
    """Find the commands with the flags COMMAND INFO hides: `protected` and `may_replicate`.

    Each command is queued in its own MULTI (with dummy arguments satisfying its arity), then
    the transaction is made to abort by queueing an unknown command, so nothing ever runs.
    - A protected command (enable-debug-command / enable-module-command are `no` by default)
      is refused while queueing with "... command not allowed. If the ...".
    - Under CLIENT PAUSE WRITE, EXEC is postponed when any queued command is WRITE or
      MAY_REPLICATE; for a non-write command a postponed EXEC means MAY_REPLICATE.
    """
    protected, may_replicate = set(), set()
    probes = []
    for full, info in sorted(infos.items()):
        if info[9]:  # containers are never run themselves
            continue
        if full in NOT_QUEUEABLE or "no_multi" in info[2]:
            continue
        parts = full.split("|")
        arity = info[1]
        n = arity if arity > 0 else -arity
        args = parts + ["0"] * max(0, n - len(parts))
        c = Conn(port, resp3=False)
        c.call("MULTI")
        c.send(*args)
        r = c.read(raise_errors=False)
        if isinstance(r, RespError):
            msg = str(r)
            if "command not allowed. If the" in msg:
                protected.add(full)
            else:
                raise SystemExit("probe of %s failed: %s" % (full, msg))
            c.close()
            continue
        c.send("GEN-COMMAND-SPEC-NO-SUCH-COMMAND")
        c.read(raise_errors=False)
        probes.append((full, info, c))
    pauser = Conn(port, resp3=False)
    pauser.call("CLIENT", "PAUSE", "60000", "WRITE")
    try:
        for _, _, c in probes:
            c.send("EXEC")
        time.sleep(0.5)
        for full, info, c in probes:
            blocked = not select.select([c.sock], [], [], 0)[0]
            if blocked and "write" not in info[2]:
                may_replicate.add(full)
            if not blocked and "write" in info[2]:
                raise SystemExit("write command %s was not paused" % full)
    finally:
        pauser.call("CLIENT", "UNPAUSE")
    for _, _, c in probes:
        r = c.read(raise_errors=False)
        if not (isinstance(r, RespError) and str(r).startswith("EXECABORT")):
            raise SystemExit("unexpected EXEC reply %r" % (r,))
        c.close()
    pauser.close()
    return protected, may_replicate


# ---------------------------------------------------------------------------------------------
# Rust output.

def rs(s):
    """A Rust string literal."""
    out = ['"']
    for ch in s:
        if ch == "\\":
            out.append("\\\\")
        elif ch == '"':
            out.append('\\"')
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\r":
            out.append("\\r")
        elif ch == "\t":
            out.append("\\t")
        elif ord(ch) < 0x20 or ord(ch) == 0x7f:
            out.append("\\u{%x}" % ord(ch))
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def rs_strs(items):
    return "&[" + ", ".join(rs(x) for x in items) + "]"


def ident(full):
    return "".join(c if c.isalnum() else "_" for c in full.upper())


def check_order(seen, order, what):
    idx = [order.index(x) for x in seen]
    if idx != sorted(idx):
        raise SystemExit("%s printed out of the expected order: %r" % (what, seen))


def flags_expr(info, hidden):
    names = list(info[2])
    for n in names:
        if n not in FLAG_CONST:
            raise SystemExit("unknown command flag %r in %s" % (n, info[0]))
    check_order(names, FLAG_ORDER, "flags of " + info[0])
    consts = [FLAG_CONST[n] for n in names] + hidden
    return " | ".join(consts) if consts else "0"


def acl_expr(info):
    cats = []
    for c in info[6]:
        if not c.startswith("@") or c[1:] not in ACL_CATEGORIES:
            raise SystemExit("unknown ACL category %r in %s" % (c, info[0]))
        cats.append(c[1:])
    check_order(cats, ACL_CATEGORIES, "ACL categories of " + info[0])
    return " | ".join("acl::" + c.upper() for c in cats) if cats else "0"


def key_spec_expr(spec, full):
    extra = set(spec) - {"notes", "flags", "begin_search", "find_keys"}
    if extra:
        raise SystemExit("unknown key spec fields %r in %s" % (extra, full))
    bs, fk = spec["begin_search"], spec["find_keys"]
    if bs["type"] == "index":
        bse = "BeginSearch::Index(%d)" % bs["spec"]["index"]
    elif bs["type"] == "keyword":
        bse = "BeginSearch::Keyword { keyword: %s, startfrom: %d }" % (
            rs(bs["spec"]["keyword"]), bs["spec"]["startfrom"])
    elif bs["type"] == "unknown":
        bse = "BeginSearch::Unknown"
    else:
        raise SystemExit("unknown begin_search %r in %s" % (bs, full))
    if fk["type"] == "range":
        s = fk["spec"]
        fke = "FindKeys::Range { lastkey: %d, keystep: %d, limit: %d }" % (
            s["lastkey"], s["keystep"], s["limit"])
    elif fk["type"] == "keynum":
        s = fk["spec"]
        fke = "FindKeys::Keynum { keynumidx: %d, firstkey: %d, keystep: %d }" % (
            s["keynumidx"], s["firstkey"], s["keystep"])
    elif fk["type"] == "unknown":
        fke = "FindKeys::Unknown"
    else:
        raise SystemExit("unknown find_keys %r in %s" % (fk, full))
    return "ks(%s, %s, %s, %s)" % (rs(spec.get("notes", "")), rs_strs(spec["flags"]), bse, fke)


class Emitter:
    def __init__(self, infos, docs, protected, may_replicate):
        self.infos, self.docs = infos, docs
        self.protected, self.may_replicate = protected, may_replicate
        self.arg_flag_consts = {}
        self.doc_statics = []
        self.idents = {}
        self.modifiers = set()

    def flag_slice(self, flags):
        key = tuple(flags)
        if not key:
            return "&[]"
        if key not in self.arg_flag_consts:
            self.arg_flag_consts[key] = "_".join(f.upper() for f in key)
        return self.arg_flag_consts[key]

    def args_expr(self, args, indent, full):
        if not args:
            return "&[]"
        lines = ["&["]
        for a in args:
            lines.append(" " * (indent + 4) + self.arg_expr(a, indent + 4, full) + ",")
        lines.append(" " * indent + "]")
        return "\n".join(lines)

    def arg_expr(self, a, indent, full):
        keys = list(a)
        for k in keys:
            if k not in ARG_KEYS:
                raise SystemExit("unknown argument field %r in %s" % (k, full))
        check_order(keys, ARG_KEYS, "argument fields of " + full)
        sub = a.get("arguments")
        if a["type"] in ("oneof", "block"):
            if sub is None:
                raise SystemExit("%s: %s argument without arguments" % (full, a["type"]))
        elif sub is not None:
            raise SystemExit("%s: %s argument with arguments" % (full, a["type"]))
        # The data model has no "absent" token apart from "": a pure-token argument always
        # prints its token (MIGRATE's `empty_string` has token ""), others only when non-empty.
        if a["type"] == "pure-token" and "token" not in a:
            raise SystemExit("%s: pure-token argument %s without a token" % (full, a["name"]))
        if a["type"] != "pure-token" and a.get("token") == "":
            raise SystemExit("%s: empty token on %s" % (full, a["name"]))
        e = "a(%s, %s, %d, %s, %s, %s)" % (
            rs(a["name"]), rs(a["type"]), a.get("key_spec_index", -1), rs(a.get("token", "")),
            self.flag_slice(a.get("flags", [])), self.args_expr(sub or [], indent, full))
        for k, m in (("summary", "summary"), ("since", "since"),
                     ("deprecated_since", "deprecated_since"), ("display", "display"),
                     ("value", "value")):
            if k in a:
                if a[k] == "":
                    raise SystemExit("%s: empty %s" % (full, k))
                e += ".%s(%s)" % (m, rs(a[k]))
                self.modifiers.add(m)
        return e

    def doc_static(self, full):
        d = self.docs[full]
        keys = list(d)
        for k in keys:
            if k not in DOC_KEYS:
                raise SystemExit("unknown doc field %r in %s" % (k, full))
        check_order(keys, DOC_KEYS, "doc fields of " + full)
        for k in ("summary", "since", "complexity", "deprecated_since", "replaced_by"):
            if k in d and d[k] == "":
                raise SystemExit("%s: empty %s" % (full, k))
        if "history" in d and not d["history"]:
            raise SystemExit("%s: empty history" % full)
        if "arguments" in d and not d["arguments"]:
            raise SystemExit("%s: empty arguments" % full)
        name = "D_" + ident(full)
        if name in self.idents:
            raise SystemExit("identifier clash: %s and %s" % (full, self.idents[name]))
        self.idents[name] = full
        tips = self.infos[full][7]
        hist = "&[" + ", ".join("(%s, %s)" % (rs(v), rs(t)) for v, t in d.get("history", [])) + "]"
        lines = ["#[rustfmt::skip]", "static %s: Doc = Doc {" % name]
        lines.append("    summary: %s," % rs(d.get("summary", "")))
        lines.append("    since: %s," % rs(d.get("since", "")))
        lines.append("    group: %s," % rs(d["group"]))
        lines.append("    complexity: %s," % rs(d.get("complexity", "")))
        lines.append("    doc_flags: %s," % rs_strs(d.get("doc_flags", [])))
        lines.append("    deprecated_since: %s," % rs(d.get("deprecated_since", "")))
        lines.append("    replaced_by: %s," % rs(d.get("replaced_by", "")))
        lines.append("    history: %s," % hist)
        lines.append("    tips: %s," % rs_strs(tips))
        lines.append("    arguments: %s," % self.args_expr(d.get("arguments", []), 4, full))
        lines.append("};")
        self.doc_statics.append("\n".join(lines))
        return name

    def spec_expr(self, full, indent):
        info = self.infos[full]
        if info[0] != full:
            raise SystemExit("name mismatch %s" % full)
        if full not in self.docs:
            raise SystemExit("no docs for %s" % full)
        if "|" in full:
            container, name = full.split("|", 1)
            cont = "Some(%s)" % rs(container)
        else:
            name, cont = full, "None"
        hidden = []
        if full in self.may_replicate:
            hidden.append("MAY_REPLICATE")
        if full in self.protected:
            hidden.append("PROTECTED")
        doc = self.doc_static(full)
        key_specs = info[8]
        ks = "&[" + ", ".join(key_spec_expr(s, full) for s in key_specs) + "]"
        subs = sorted(s[0] for s in info[9])
        if set(subs) != set(self.docs[full].get("subcommands", {})):
            raise SystemExit("INFO and DOCS disagree on the subcommands of %s" % full)
        if subs:
            inner = "\n".join(" " * (indent + 8) + self.spec_expr(s, indent + 8) + ","
                              for s in subs)
            sube = "&[\n%s\n%s]" % (inner, " " * (indent + 4))
        else:
            sube = "&[]"
        return ("CommandSpec { name: %s, container: %s, arity: %d, flags: %s, acl_categories: %s, "
                "key_range: (%d, %d, %d), key_specs: %s, subcommands: %s, doc: &%s }") % (
            rs(name), cont, info[1], flags_expr(info, hidden), acl_expr(info),
            info[3], info[4], info[5], ks, sube, doc)

    def render(self, version):
        tops = sorted(n for n in self.infos if "|" not in n)
        specs = "\n".join("    " + self.spec_expr(n, 0) + "," for n in tops)
        out = []
        out.append("//! Generated by scripts/gen-command-spec.py from Redis %s. Do not edit." % version)
        out.append("//!")
        out.append("//! %d commands, %d subcommands. Flags COMMAND INFO hides, probed by the script:"
                   % (len(tops), len(self.infos) - len(tops)))
        out.append("//! `MAY_REPLICATE`: %s." % ", ".join(sorted(self.may_replicate)))
        out.append("//! `PROTECTED`: %s." % ", ".join(sorted(self.protected)))
        out.append("//! `SENTINEL` / `ONLY_SENTINEL` are not set (no sentinel mode).")
        out.append("")
        out.append("use super::flags::*;")
        out.append("use super::{Arg, BeginSearch, CommandSpec, Doc, FindKeys, KeySpec};")
        out.append("")
        out.append("/// ACL category names (without `@`), in Redis's order: bit `i` of")
        out.append("/// `CommandSpec::acl_categories` is `ACL_CATEGORIES[i]`.")
        out.append("pub static ACL_CATEGORIES: &[&str] = &[")
        for c in ACL_CATEGORIES:
            out.append("    %s," % rs(c))
        out.append("];")
        out.append("")
        out.append("/// ACL category bits for `CommandSpec::acl_categories`.")
        out.append("pub mod acl {")
        for i, c in enumerate(ACL_CATEGORIES):
            out.append("    pub const %s: u64 = 1 << %d;" % (c.upper(), i))
        out.append("}")
        out.append("")
        out.append("/// Every command Redis %s declares, sorted by name; subcommands sorted by name." % version)
        out.append("#[rustfmt::skip]")
        out.append("pub static SPECS: &[CommandSpec] = &[")
        out.append(specs)
        out.append("];")
        out.append("")
        out.append(HELPERS)
        methods = [m for m in MODIFIERS if m in self.modifiers]
        if methods:
            out.append("impl Arg {")
            out.append("\n".join(
                "    const fn %s(self, %s: &'static str) -> Arg {\n        Arg { %s, ..self }\n    }"
                % (m, m, m) for m in methods))
            out.append("}")
            out.append("")
        for key, name in sorted(self.arg_flag_consts.items(), key=lambda kv: kv[1]):
            out.append("const %s: &[&str] = %s;" % (name, rs_strs(key)))
        out.append("")
        out.append("\n\n".join(self.doc_statics))
        return "\n".join(out) + "\n"


HELPERS = '''\
const fn ks(
    notes: &'static str,
    flags: &'static [&'static str],
    begin_search: BeginSearch,
    find_keys: FindKeys,
) -> KeySpec {
    KeySpec { notes, flags, begin_search, find_keys }
}

const fn a(
    name: &'static str,
    kind: &'static str,
    key_spec_index: i32,
    token: &'static str,
    flags: &'static [&'static str],
    subargs: &'static [Arg],
) -> Arg {
    Arg {
        name,
        kind,
        key_spec_index,
        token,
        summary: "",
        since: "",
        deprecated_since: "",
        display: "",
        flags,
        value: "",
        subargs,
    }
}
'''

# Builder methods for the optional `Arg` fields (only the ones used are emitted).
MODIFIERS = ["summary", "since", "deprecated_since", "display", "value"]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--redis-server", default="redis-server")
    ap.add_argument("--out", default=DEFAULT_OUT)
    ap.add_argument("--allow-other-version", action="store_true")
    opts = ap.parse_args()

    binary = shutil.which(opts.redis_server) or opts.redis_server
    proc, port, workdir = start_server(binary)
    try:
        conn = Conn(port)
        version = conn.call("HELLO", "3")["version"]
        if version != EXPECTED_VERSION and not opts.allow_other_version:
            raise SystemExit("redis-server is %s, expected %s" % (version, EXPECTED_VERSION))
        infos = collect_info(conn)
        docs = collect_docs(conn)
        protected, may_replicate = probe_hidden_flags(port, infos)
        conn.close()
    finally:
        stop_server(proc, workdir)

    text = Emitter(infos, docs, protected, may_replicate).render(version)
    with open(opts.out, "w") as f:
        f.write(text)
    print("wrote %s: %d commands and subcommands (may_replicate: %s; protected: %s)" % (
        os.path.normpath(opts.out), len(infos), " ".join(sorted(may_replicate)),
        " ".join(sorted(protected))))


if __name__ == "__main__":
    main()
