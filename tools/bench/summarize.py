#!/usr/bin/env python3
"""tools/bench/summarize.py RESULTS_DIR [more dirs...] : markdown summary of run.sh results.

Reads results.tsv (one row per wrk run) and machine.tsv from each directory (rows of several runs
are pooled: medians over repetitions of the same cell). Prints:
  - the machine facts,
  - every cell: rps, p50/p90/p99, errors, CPU per request of the server process tree, the
    gateway's own CPU per request (for P402 with the in-process mock: launcher CPU minus the mock's
    CPU/request measured in the `direct` row of the same cell), cores used, background load,
  - overhead of each gateway vs `direct` (latency at 1 connection and at the paced rate, p99 at 16,
    CPU) and throughput ratios,
  - the targets of design/BRIEF.md and where P402 stands.
A row with errors > 0 is invalid (shown, never used in comparisons); a row with bg_cores > 0.2 was
measured while other processes were busy: it is dropped when the same cell has a clean repetition,
else used and marked as contaminated.
Standard library only.
"""
import csv
import glob
import os
import statistics as st
import sys
from collections import defaultdict

BG_LIMIT = 0.2
ORDER = ["direct", "proxy", "portkey", "p402", "p402-split"]
GATEWAYS = ["proxy", "portkey", "p402", "p402-split"]
PIPELINES = ["p402", "p402-split"]  # judged against the BRIEF.md targets
LABEL = {
    "direct": "direct (mock)",
    "proxy": "proxy (nginx)",
    "portkey": "portkey",
    "p402": "p402 (launcher, full pipeline)",
    "p402-split": "p402-split (3 processes)",
}


def load(dirs):
    rows, machine = [], {}
    for d in dirs:
        with open(f"{d}/results.tsv") as f:
            rows += list(csv.DictReader(f, delimiter="\t"))
        try:
            with open(f"{d}/machine.tsv") as f:
                for line in f:
                    k, _, v = line.rstrip("\n").partition("\t")
                    machine.setdefault(k, v)
        except FileNotFoundError:
            pass
    return rows, machine


def num(v):
    try:
        return float(v)
    except (TypeError, ValueError):
        return None


def med(values):
    v = [x for x in values if x is not None]
    return st.median(v) if v else None


def fmt(v, spec, dash="–"):
    return dash if v is None else format(v, spec)


class Cell:
    """Medians over the repetitions of one (mode, target, variant, conns, paced) cell."""

    def __init__(self, rows):
        self.rows = rows
        valid = [r for r in rows if int(r["errors"]) == 0]
        clean = [r for r in valid if float(r["bg_cores"]) <= BG_LIMIT]
        self.invalid = len(rows) - len(valid)
        # Repetitions measured on a busy box are dropped when a clean one exists (as perf-rig).
        use = clean or valid or rows
        self.dropped = len(valid) - len(clean) if clean else 0
        self.valid = bool(valid)
        self.n = len(use)
        g = lambda k: med(num(r[k]) for r in use)
        self.rps, self.p50, self.p90, self.p99 = g("rps"), g("p50_ms"), g("p90_ms"), g("p99_ms")
        self.cpu, self.cores, self.bg = g("sut_cpu_us_per_req"), g("sut_cores"), g("bg_cores")
        self.mock_cpu = g("mock_cpu_us_per_req")
        self.errors = max(int(r["errors"]) for r in rows)
        self.mock_in_sut = any(r["mock_in_sut"] == "1" for r in use)
        self.rps_min = min(num(r["rps"]) for r in use)
        self.rps_max = max(num(r["rps"]) for r in use)
        self.own_cpu = None  # filled in once the direct cell is known


def main():
    dirs = sys.argv[1:] or ["."]
    rows, machine = load(dirs)
    groups = defaultdict(list)
    for r in rows:
        mode = r["tag"].rsplit("-r", 1)[0] if "-r" in r["tag"] else r["tag"]
        groups[(mode, r["target"], r["variant"], int(r["conns"]), int(r["paced_rps"]))].append(r)
    cells = {k: Cell(v) for k, v in groups.items()}
    for (mode, target, variant, c, rate), cell in cells.items():
        if target == "direct":
            cell.own_cpu = cell.cpu
        elif cell.mock_in_sut:
            d = cells.get((mode, "direct", variant, c, rate))
            if d and cell.cpu is not None and d.cpu is not None:
                cell.own_cpu = cell.cpu - d.cpu
        else:
            cell.own_cpu = cell.cpu

    out = []
    p = out.append
    p("## Machine and run\n")
    p("| fact | value |\n|---|---|")
    for k, v in machine.items():
        p(f"| {k} | {v} |")

    modes = sorted({k[0] for k in cells})
    targets = sorted({k[1] for k in cells}, key=lambda t: (ORDER.index(t) if t in ORDER else 99, t))
    for mode in modes:
        p(f"\n## Results ({mode})\n")
        p("Closed loop (conns = requests in flight) and paced cells (`@N/s`: a fixed offered rate). "
          "CPU = user+sys of the server's whole process tree per completed request; "
          "own CPU = the gateway alone (for p402 with the in-process mock: launcher minus the "
          "mock's CPU/request of the `direct` row). bg = cores used by other processes on the box "
          f"during the run (> {BG_LIMIT} = contaminated).\n")
        p("| target | variant | load | n | rps | p50 ms | p90 ms | p99 ms | errors | CPU µs/req | "
          "own CPU µs/req | cores | bg cores |")
        p("|---|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|")
        for t in targets:
            for key in sorted((k for k in cells if k[0] == mode and k[1] == t),
                              key=lambda k: (k[2], k[4] != 0, k[3], k[4])):
                _, _, variant, c, rate = key
                x = cells[key]
                what = f"{c} conns" if rate == 0 else f"@{rate}/s ({c} conns)"
                rps = f"{x.rps:,.0f}"
                if x.n > 1:
                    rps += f" ({x.rps_min:,.0f}–{x.rps_max:,.0f})"
                n = f"{x.n}" + (f" (+{x.dropped} busy)" if x.dropped else "")
                err = str(x.errors) + ("" if x.errors == 0 else " **INVALID**")
                bg = fmt(x.bg, ".2f") + (" ⚠" if (x.bg or 0) > BG_LIMIT else "")
                p(f"| {LABEL.get(t, t)} | {variant} | {what} | {n} | {rps} | {fmt(x.p50, '.3f')} | "
                  f"{fmt(x.p90, '.3f')} | {fmt(x.p99, '.3f')} | {err} | {fmt(x.cpu, '.1f')} | "
                  f"{fmt(x.own_cpu, '.1f')} | {fmt(x.cores, '.2f')} | {bg} |")
        for t in ORDER:
            if t not in targets and t == "p402":
                p(f"| {LABEL[t]} | – | – | – | pending | | | | | | | | |")

        p(f"\n## Overhead vs direct ({mode})\n")
        p("+latency = gateway − direct at the same load; rps ratio = gateway rps / direct rps at "
          "the same connection count; own CPU at 16 connections.\n")
        p("| target | variant | +p50 ms @1 | +p99 ms @1 | +p50 ms @paced | +p99 ms @paced | "
          "+p99 ms @16 | own CPU µs/req @16 | rps @16 | rps @64 | ÷ direct @64 | ÷ proxy @64 |")
        p("|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|")
        rates = sorted({k[4] for k in cells if k[0] == mode and k[4]})
        rate = rates[0] if rates else None
        paced_conns = {k[4]: k[3] for k in cells if k[0] == mode and k[4]}

        def get(t, v, c, r=0):
            x = cells.get((mode, t, v, c, r))
            return x if x is not None and x.valid else None

        def diff(t, v, c, attr, r=0):
            a, b = get(t, v, c, r), get("direct", v, c, r)
            if a is None or b is None or getattr(a, attr) is None or getattr(b, attr) is None:
                return None
            return getattr(a, attr) - getattr(b, attr)

        variants = sorted({k[2] for k in cells if k[0] == mode})
        for t in GATEWAYS:
            for v in variants:
                if not any(k[0] == mode and k[1] == t and k[2] == v for k in cells):
                    if t == "p402":
                        p(f"| {LABEL[t]} | {v} | pending | | | | | | | | | |")
                    continue
                pc = paced_conns.get(rate)
                g16, g64, d64 = get(t, v, 16), get(t, v, 64), get("direct", v, 64)
                x64 = get("proxy", v, 64)
                ratio = (g64.rps / d64.rps) if g64 and d64 else None
                pratio = (g64.rps / x64.rps) if g64 and x64 and t != "proxy" else None
                p(f"| {LABEL[t]} | {v} | {fmt(diff(t, v, 1, 'p50'), '+.3f')} | "
                  f"{fmt(diff(t, v, 1, 'p99'), '+.3f')} | "
                  f"{fmt(diff(t, v, pc, 'p50', rate) if rate else None, '+.3f')} | "
                  f"{fmt(diff(t, v, pc, 'p99', rate) if rate else None, '+.3f')} | "
                  f"{fmt(diff(t, v, 16, 'p99'), '+.3f')} | "
                  f"{fmt(g16.own_cpu if g16 else None, '.1f')} | "
                  f"{fmt(g16.rps if g16 else None, ',.0f')} | {fmt(g64.rps if g64 else None, ',.0f')} | "
                  f"{fmt(ratio, '.2f')} | {fmt(pratio, '.2f')} |")

        # Targets (design/BRIEF.md "Non-functional targets"), judged on the non-streaming variant.
        p(f"\n## Targets ({mode}, json variant)\n")
        p("| target (BRIEF.md) | pipeline | measured | status |\n|---|---|---|---|")
        v = "json"
        pk = max((x.rps for x in (get("portkey", v, 16), get("portkey", v, 64)) if x), default=None)
        for t in PIPELINES:
            have = any(k[0] == mode and k[1] == t and k[2] == v for k in cells)
            if not have and t != "p402":
                continue

            def status(value, ok):
                if not have:
                    return "pending"
                if value is None:
                    return "not measured"
                return "met" if ok(value) else "**not met**"

            d16 = diff(t, v, 16, "p99")
            p(f"| p99 overhead at 16 connections ≤ 1 ms | {t} | {fmt(d16, '+.3f')} ms | "
              f"{status(d16, lambda x: x <= 1.0)} |")
            best = max((x.rps for x in (get(t, v, 16), get(t, v, 64)) if x), default=None)
            p(f"| full pipeline ≥ 11,000 rps | {t} | {fmt(best, ',.0f')} rps (best of 16/64 conns) | "
              f"{status(best, lambda x: x >= 11000)} |")
            if rate:
                pc = paced_conns.get(rate)
                a50, a99 = diff(t, v, pc, "p50", rate), diff(t, v, pc, "p99", rate)
                both = None if a50 is None or a99 is None else (a50, a99)
                got = get(t, v, pc, rate)
                p(f"| overhead p50 ≤ 0.5 ms, p99 ≤ 1 ms at {rate:,} req/s | {t} | "
                  f"p50 {fmt(a50, '+.3f')} ms, p99 {fmt(a99, '+.3f')} ms "
                  f"(achieved {fmt(got.rps if got else None, ',.0f')} req/s) | "
                  f"{status(both, lambda x: x[0] <= 0.5 and x[1] <= 1.0)} |")
            if pk:
                ratio = best / pk if best else None
                p(f"| throughput ≥ 10× Portkey | {t} | {fmt(ratio, '.1f')}× ({fmt(best, ',.0f')} vs "
                  f"{pk:,.0f} rps) | {status(ratio, lambda x: x >= 10)} |")
            else:
                p(f"| throughput ≥ 10× Portkey | {t} | Portkey not measured (WITH_PORTKEY=1) | – |")

    # CPU by process/thread name (raw/<target>-json-<tag>-c16.threads.tsv, written by run.sh).
    shown = False
    for d in dirs:
        for t in PIPELINES:
            for f in sorted(glob.glob(f"{d}/raw/{t}-json-*-c16.threads.tsv"))[:1]:
                lines = [l.rstrip("\n").split("\t") for l in open(f) if l.strip()]
                if not lines:
                    continue
                if not shown:
                    p("\n## Where P402 spends its CPU (json, 16 connections)\n")
                    p("CPU µs per request by process/thread name over the run (threads with the same "
                      "name summed; unnamed threads carry the process name; with the in-process "
                      "mock its io thread is among the `p402/p402` threads).\n")
                    shown = True
                total = sum(float(l[2]) for l in lines)
                p(f"`{os.path.basename(f)}` (total {total:.0f} µs/req):\n")
                p("| process/thread | threads | µs/req | share |\n|---|--:|--:|--:|")
                for name, n, us in lines:
                    p(f"| {name} | {n} | {float(us):.1f} | {100 * float(us) / total:.0f}% |")
                p("")

    bad = [k for k, x in cells.items() if x.invalid]
    dirty = [k for k, x in cells.items() if (x.bg or 0) > BG_LIMIT]
    p("\n## Validity\n")
    p(f"- cells with errors (invalid, excluded from comparisons): {len(bad)}"
      + ("" if not bad else " — " + ", ".join(f"{k[1]}/{k[2]}/c{k[3]}" for k in bad)))
    p(f"- cells measured while other processes used > {BG_LIMIT} cores: {len(dirty)} of {len(cells)}"
      + ("" if not dirty else " (max bg " + f"{max(cells[k].bg for k in dirty):.2f} cores)"))
    print("\n".join(out))


if __name__ == "__main__":
    main()
