"""Brim's benchmark harness: `scripts/bench` is the entry point, each scenario is one module here.

Adding a scenario = adding one file `scripts/benchlib/<name>.py` that defines:

    NAME = "expiry"                 # selectable with `scripts/bench --scenario expiry`
    ORDER = 40                      # position in the run and in the report (lower first)
    HELP = "one line for --help"
    def run(h): ...                 # h: benchlib.harness.Harness; returns a JSON-able dict
    def report(data, rep): ...      # optional; data is what run() returned, rep: benchlib.report.Report;
                                    # returns the markdown section (rep.plot(...) makes PNGs under docs/)

Nothing else has to be edited: modules with NAME and run() are discovered by `scenarios()`.
Inside run(): size by `h.size(ci=..., quick=..., full=...)`, start servers only through
`for rnd, kind in h.rotation(): with h.start(kind, ...) as srv:` (one server at a time, A/B/A/B order,
Brim only under --ci), talk to them with `srv.conn()` (benchlib.resp) or `srv.info()`, measure RSS with
`srv.rss()` / `srv.peak_rss()`, and log progress with `h.log(...)`. Shared helpers: benchlib.load
(pipelined loaders), benchlib.servers (processes, peers' installation), benchlib.machine.
"""

import importlib
import pkgutil


def scenarios():
    """Every scenario module of this package, by NAME, in ORDER."""
    found = {}
    for m in pkgutil.iter_modules(__path__):
        if m.name.startswith("_"):
            continue
        mod = importlib.import_module(f"{__name__}.{m.name}")
        if hasattr(mod, "NAME") and callable(getattr(mod, "run", None)):
            found[mod.NAME] = mod
    return dict(sorted(found.items(), key=lambda kv: (getattr(kv[1], "ORDER", 100), kv[0])))
