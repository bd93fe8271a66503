"""docs/benchmarks.md and its PNG plots, regenerated from the run's JSON (docs/benchmarks.json).

Scenario modules get a Report in their report(data, rep) and return a markdown section; rep.table(),
rep.bars(), rep.lines() and the number formatters keep every section in the same style. Plots use
matplotlib (installed with pip when missing); without it the tables are still written.
"""

import os
import subprocess
import sys

from .servers import ROOT

DOCS = os.path.join(ROOT, "docs")
COLORS = {"brim": "#d9480f", "redis": "#c92a2a", "valkey": "#1864ab", "null": "#868e96", "payload": "#2b8a3e"}
_PALETTE = ["#5f3dc4", "#e67700", "#0b7285", "#862e9c", "#495057"]
COLORS["redis"] = "#495057"
COLORS["brim"] = "#e8590c"


def _matplotlib(install):
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        if not install:
            return None
        print("installing matplotlib (pip)", file=sys.stderr, flush=True)
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", "matplotlib"])
        try:
            import matplotlib  # noqa: F401,F811
        except ImportError:
            return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


class Report:
    """Helpers for one regeneration of docs/benchmarks.md; plots go to `out_dir` when `plots` is true."""

    def __init__(self, out_dir=DOCS, plots=True, install=True):
        self.out_dir = out_dir
        self.plt = _matplotlib(install) if plots else None
        self.images = []

    # ---- text ----
    @staticmethod
    def num(x, digits=0):
        """A number with thousands separators ("–" for None)."""
        if x is None:
            return "–"
        return f"{x:,.{digits}f}"

    @staticmethod
    def ratio(x, ref):
        """x / ref as "0.83×" ("–" when either is missing or ref is 0)."""
        if x is None or not ref:
            return "–"
        return f"{x / ref:.2f}×"

    @staticmethod
    def mib(b):
        """Bytes as MiB with one decimal."""
        return "–" if b is None else f"{b / (1 << 20):,.1f} MiB"

    @staticmethod
    def table(headers, rows):
        """A markdown table (first column left-aligned, the rest right-aligned)."""
        out = ["| " + " | ".join(str(h) for h in headers) + " |",
               "|" + "|".join([" --- "] + [" ---: "] * (len(headers) - 1)) + "|"]
        for r in rows:
            out.append("| " + " | ".join(str(c) for c in r) + " |")
        return "\n".join(out) + "\n"

    # ---- plots ----
    def _color(self, name, i):
        return COLORS.get(name, _PALETTE[i % len(_PALETTE)])

    def _save(self, fig, name, title):
        path = os.path.join(self.out_dir, name + ".png")
        os.makedirs(self.out_dir, exist_ok=True)
        fig.savefig(path, dpi=110, bbox_inches="tight")
        self.plt.close(fig)
        self.images.append(path)
        return f"\n![{title}]({name}.png)\n"

    def bars(self, name, title, labels, series, ylabel="", log=False):
        """Grouped bar chart: one group per label, one bar per series (dict name -> values). Writes
        <out_dir>/<name>.png and returns the markdown image line ("" without matplotlib)."""
        if self.plt is None or not labels or not series:
            return ""
        plt = self.plt
        n = len(series)
        width = 0.8 / n
        fig, ax = plt.subplots(figsize=(max(7.0, 0.55 * len(labels) * n ** 0.5 + 3), 4.2))
        for i, (sname, vals) in enumerate(series.items()):
            xs = [j + (i - (n - 1) / 2) * width for j in range(len(labels))]
            ax.bar(xs, [v or 0 for v in vals], width, label=sname, color=self._color(sname, i))
        ax.set_xticks(range(len(labels)))
        ax.set_xticklabels(labels, rotation=30, ha="right")
        ax.set_ylabel(ylabel)
        ax.set_title(title)
        if log:
            ax.set_yscale("log")
        ax.grid(axis="y", alpha=0.3)
        ax.legend(fontsize=8)
        return self._save(fig, name, title)

    def lines(self, name, title, series, xlabel="", ylabel="", hlines=None):
        """Line chart: series is a dict name -> (xs, ys); hlines a dict label -> y. Returns the image line."""
        if self.plt is None or not series:
            return ""
        plt = self.plt
        fig, ax = plt.subplots(figsize=(7.5, 4.2))
        for i, (sname, (xs, ys)) in enumerate(series.items()):
            ax.plot(xs, ys, label=sname, color=self._color(sname.split(" ")[0], i), linewidth=1.6)
        for i, (label, y) in enumerate((hlines or {}).items()):
            ax.axhline(y, linestyle="--", linewidth=1, color=_PALETTE[(i + 2) % len(_PALETTE)], label=label)
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        ax.set_title(title)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
        return self._save(fig, name, title)


def _cache_hit_ratio(data, rep):
    """The issue's "hit ratio per policy" plot from the cache scenario's rows."""
    rows = [r for r in data.get("rows", []) if "policy" in r]
    kinds = [k for k in data.get("servers", []) if any(isinstance(r.get(k), dict) for r in rows)]
    if not rows or not kinds:
        return ""
    series = {k: [(r.get(k) or {}).get("hit_ratio", 0) for r in rows] for k in kinds}
    return rep.bars("bench-cache-hit-ratio", "hit ratio per eviction policy",
                    [r["policy"] for r in rows], series, ylabel="hit ratio")


def _expiry_memory(data, rep):
    """The issue's "memory over time in the expiry wave" plot from the expiry scenario's series."""
    series = {}
    for r in data.get("rows", []):
        s = r.get("series", {})
        if s.get("mt") and s.get("used"):
            series[f"{r.get('server')} used_memory"] = (s["mt"], [u / (1 << 20) for u in s["used"]])
    if not series:
        return ""
    return rep.lines("bench-expiry-memory", "used_memory during the expiry wave", series,
                     xlabel="seconds since the load started", ylabel="MiB")


def bgsave_section(data, rep):
    """The bgsave scenario's section: per server, the dataset, the snapshot's peak extra memory (fork COW
    included), its length, and the SET p99 with and without it; plus the memory-over-time plot."""
    def p99(r):
        return "–" if not r else f"{r['p99_ms']:.3f}"

    def worst(r):
        return "–" if not r or "max_ms" not in r else f"{r['max_ms']:.1f}"

    md = [f"{data['keys']:,} strings `key:%012d` with {data['value_len']}-byte values, then redis-benchmark "
          f"`-t set -r {data['keys']} -d {data['value_len']} -c {data['clients']} -P 1` in the background and "
          "BGSAVE once its clients are connected; RSS and used_memory sampled every 50 ms until "
          "`rdb_bgsave_in_progress:0`. *extra memory*: peak of (server RSS − its RSS just before BGSAVE) + the "
          "forked children's Private_Dirty (/proc/<child>/smaps_rollup: the pages copy-on-write duplicated), "
          "÷ the dataset's used_memory. *tree RSS*: the naive sum of the RSS of the server and its children "
          "above the same baseline (the child's RSS counts the pages it shares with the parent). *control*: "
          "the server's RSS growth under the same write load without BGSAVE. *snapshot*: measured from BGSAVE "
          "to `rdb_bgsave_in_progress:0` (`rdb_last_bgsave_time_sec` beside it). SET p99 during the snapshot "
          "vs the same request count without it; *worst*: the slowest single SET during the snapshot.\n"]
    rows = []
    for r in data["rows"]:
        rows.append([r["server"], rep.mib(r["used_memory"]), rep.mib(r["pre_rss"]), rep.mib(r["peak_extra"]),
                     f"{r['peak_extra_over_used']:.3f}", rep.mib(r["peak_tree_rss_above_pre"]),
                     rep.mib(r["peak_child_private_dirty"]), rep.mib(r.get("rdb_last_cow_size")),
                     rep.mib(r["control_peak_rss_above_pre"]),
                     f"{r['snapshot_s']:.2f} ({r['rdb_last_bgsave_time_sec']})",
                     f"{r['set_rps_probe']:,.0f}", p99(r["set_bgsave"]), p99(r["set_quiet"]),
                     worst(r["set_bgsave"])])
    md.append(rep.table(["server", "used_memory", "RSS before", "extra memory", "÷ used", "tree RSS +",
                         "child Private_Dirty", "rdb_last_cow_size", "control RSS +", "snapshot s (INFO)",
                         "SET/s", "SET p99 snapshot (ms)", "SET p99 quiet (ms)", "worst SET snapshot (ms)"],
                        rows))
    series = {}
    for r in data["rows"]:
        s = r.get("series", {})
        if s.get("t"):
            series[f"{r['server']} extra"] = (s["t"], [(a - r["pre_rss"] + d) / (1 << 20)
                                                      for a, d in zip(s["rss"], s["child_dirty"])])
    md.append(rep.lines("bench-bgsave-memory", "extra memory during BGSAVE (RSS growth + child COW)", series,
                        xlabel="seconds since BGSAVE", ylabel="MiB"))
    return "\n".join(x for x in md if x)


#: Plots the issue asks for that a scenario's own report() does not draw: (scenario, function).
EXTRAS = [("cache", _cache_hit_ratio), ("expiry", _expiry_memory)]


def render(results, scenarios, out_dir=DOCS, plots=True, install=True):
    """The whole docs/benchmarks.md text from a results dict (see scripts/bench), writing the plots."""
    rep = Report(out_dir, plots=plots, install=install)
    m = results.get("machine", {})
    v = results.get("versions", {})
    md = ["# Benchmarks: Brim beside Redis 7.0 and Valkey 8.1", "",
          f"Generated by `scripts/bench --report` on {results.get('date', '?')} "
          f"(mode: {results.get('mode', '?')}); "
          "regenerate with the same command (a full run takes 15–30 minutes on 2 cores; `--scenario NAME` "
          "reruns one scenario and keeps the others from `docs/benchmarks.json`). Every server ran on the same "
          "machine, one at a time, on a loopback port, with the same settings (`--save '' --appendonly no`, "
          "defaults otherwise), in A/B/A/B order.", "",
          "## Machine and versions", "",
          rep.table(["", "value"], [
              ["CPU", f"{m.get('cores', '?')} cores, {m.get('cpu', '?')}"],
              ["memory", f"{m.get('memory_bytes', 0) / (1 << 30):.1f} GiB"],
              ["kernel", m.get("kernel", "?")], ["OS", m.get("os", "?")],
          ] + [[k, val] for k, val in v.items()])]
    heads = []
    for name, mod in scenarios.items():
        data = results.get("scenarios", {}).get(name)
        if data and hasattr(mod, "headline") and "error" not in data:
            try:
                heads += mod.headline(data)
            except Exception as e:  # a scenario's bad data must not lose the rest of the report
                heads.append(f"({name}: headline failed: {e})")
    if heads:
        md += ["## Headline", ""] + [f"- {x}" for x in heads] + [""]
    for name, mod in scenarios.items():
        data = results.get("scenarios", {}).get(name)
        if data is None:
            continue
        meta = data.get("_meta", {})
        md += [f"## {name}", "", f"*{getattr(mod, 'HELP', '')}* — measured {meta.get('date', '?')}, "
               f"mode {meta.get('mode', '?')}, {meta.get('seconds', 0):.0f} s.", ""]
        if "error" in data:
            md += [f"This scenario failed: `{data['error']}`", ""]
        elif hasattr(mod, "report"):
            try:
                md += [mod.report(data, rep), ""]
            except Exception as e:
                md += [f"(report failed: {e})", ""]
            for scen, extra in EXTRAS:
                if scen == name:
                    try:
                        md += [extra(data, rep), ""]
                    except Exception as e:
                        md += [f"(plot failed: {e})", ""]
    return "\n".join(md).rstrip() + "\n", rep.images
