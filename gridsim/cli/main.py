"""The `gridsim` command: parse arguments, call the library, print. No modelling here."""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from typing import Sequence

from gridsim.scenario import ScenarioError, load_scenario

EPILOG_CITY = """examples:
  gridsim city                                  # the built-in Suzhou 2018 baseline
  gridsim city scenarios/suzhou_2018_full_build.toml
  gridsim city --set staff.fulltime_workers=12000 --json
"""


# Modules that add subcommands: each has `register(subparsers)` (keeps this file thin).
SUBCOMMAND_MODULES: tuple[str, ...] = ("gridsim.cli.tune", "gridsim.cli.batch", "gridsim.cli.plot")


class UsageError(Exception):
    """A bad command-line value: printed as one line, exit status 2."""


def _scenario_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("scenario", nargs="?", default=None,
                   help="scenario TOML file or built-in name (default: the built-in suzhou_2018)")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override a scenario key, typed like the file (repeatable), e.g. --set staff.police_units=900")


def _fmt_int(v: int) -> str:
    return f"{v:,}"


def cmd_city(args: argparse.Namespace) -> int:
    from gridsim.city import build_city

    scenario = load_scenario(args.scenario, args.overrides)
    city = build_city(scenario)
    rows = city.division_table()
    if args.json:
        print(json.dumps({"scenario": scenario.name, "seed": scenario["run"]["seed"], "divisions": rows}, indent=2))
        return 0
    cols = [("division", "division", str),
            ("sub-ctr b/uc", None, lambda r: f"{r['subcenters_built']}/{r['subcenters_under_construction']}"),
            ("workstn b/uc/ns", None, lambda r: f"{r['workstations_built']}/{r['workstations_under_construction']}"
                                                f"/{r['workstations_not_started']}"),
            ("grids", "grids", _fmt_int), ("leaders", "grid_leaders", _fmt_int),
            ("full-time", "fulltime_workers", _fmt_int), ("part-time", "parttime_workers", _fmt_int),
            ("police", "police_units", _fmt_int),
            ("population", None, lambda r: _fmt_int(r["population"]) + ("*" if r["population_estimated"] and r["division"] != "Total" else "")),
            ("area km2", "area_km2", lambda v: f"{v:,.1f}")]
    table = []
    for r in rows:
        table.append([f(r[k]) if k else f(r) for _, k, f in cols])
    widths = [max(len(h), *(len(row[i]) for row in table)) for i, (h, _, _) in enumerate(cols)]
    print(f"{scenario.name}: city built from seed {scenario['run']['seed']}")
    print("  ".join(h.ljust(w) if i == 0 else h.rjust(w) for i, ((h, _, _), w) in enumerate(zip(cols, widths))))
    for j, row in enumerate(table):
        if j == len(table) - 1:
            print("-" * (sum(widths) + 2 * (len(widths) - 1)))
        print("  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths))))
    print("b/uc/ns = built / under construction / not started; * population estimated (see divisions table);")
    print("police = patrol units on duty (assumption).")
    return 0


EPILOG_RUN = """examples:
  gridsim run                                   # one day of the built-in Suzhou 2018 baseline
  gridsim run --days 7 --seed 3 --out results/week
  gridsim run scenarios/suzhou_2018_full_build.toml --days 3
  gridsim run --set staff.police_units=800 --set surge.enabled=true
  gridsim run scenarios/validation_mmc.toml --set staff.fulltime_workers=4
"""


def _pct(v) -> str:
    return "   -  " if v is None else f"{100 * v:5.1f}%"


def _mins(v) -> str:
    if v is None:
        return "    -"
    if v == "inf":
        return " >end"
    return f"{v:5.1f}" if v < 1000 else f"{v:5.0f}"


def print_run_summary(summary: dict, paths: dict) -> None:
    """The compact table `gridsim run` prints."""
    vol = summary["volumes"]
    print(f"{summary['scenario']}: {summary['days']} day(s), seed {summary['seed']}, warm-up "
          f"{summary['warmup_hours']:g} h excluded; {vol['events_total']:,} events in {summary['wall_seconds']:.1f} s")
    print(f"  counted: {vol['110_incidents']:,} 110 incidents, {vol['12345_work_orders']:,} 12345 work orders "
          f"({vol['hotline_first_contact_after_warmup']:,} more calls resolved on first contact), "
          f"{vol['grid_patrol_reports']:,} grid patrol reports; {vol['open_at_end']:,} still open at the end")
    print()
    t = summary["targets"]
    labels = {"respond": f"respond & set out <= {t['response_min']:g} min",
              "on_scene": f"on scene <= {t['on_scene_min']:g} min",
              "support": f"regional support <= {t['support_min']:g} min",
              "cordon": f"city-wide cordon <= {t['cordon_min']:g} min",
              "register_dispatch": "work order registered+dispatched in limit",
              "verify": "work order verified in limit",
              "close": "work order closed in limit"}
    print(f"{'target (110 + urgent work orders)':42s} {'n':>7s} {'met':>6s}  {'95% CI':>15s} "
          f"{'p50':>5s} {'p90':>5s} {'p95':>5s} {'p99':>5s}  (minutes from the call)")
    for stage, label in labels.items():
        if stage == "register_dispatch":
            print(f"{'work-order lifecycle (12345 + patrol)':42s}")
        r = summary["stages"].get(stage)
        if r is None:
            continue
        ci = "" if r["ci_low"] is None else f"[{_pct(r['ci_low'])},{_pct(r['ci_high'])}]"
        print(f"  {label:40s} {r['n']:7,d} {_pct(r['share'])}  {ci:>15s} "
              f"{_mins(r['p50'])} {_mins(r['p90'])} {_mins(r['p95'])} {_mins(r['p99'])}")
    _print_by(summary, "source", "by source")
    _print_by(summary, "division", "by division")
    _print_by(summary, "category", "by category")
    _print_hourly(summary)
    print()
    print(f"{'utilisation by role':22s} {'responders':>10s} {'on-duty h':>10s} {'busy h':>9s} {'busy share':>10s}")
    for role, u in summary["utilisation"].items():
        print(f"  {role:20s} {u['responders']:10,d} {u['on_duty_hours']:10,.0f} {u['busy_hours']:9,.0f} "
              f"{_pct(u['utilisation']):>10s}")
    q = summary["queues"]
    print(f"queues (tasks waiting): police mean {q['police_mean']:.2f}, max {q['police_max']}; "
          f"grid mean {q['grid_mean']:.1f}, max {q['grid_max']}")
    print()
    for name, p in paths.items():
        print(f"wrote {p}")


def _print_by(summary: dict, key: str, title: str) -> None:
    rows = summary["by"][key]
    stages = ("respond", "on_scene", "register_dispatch", "close")
    table: dict = {}
    for r in rows:
        table.setdefault(r[key], {})[r["stage"]] = r
    print()
    print(f"{title:22s} " + " ".join(f"{s:>22s}" for s in ("respond <=3", "on scene <=5",
                                                             "WO dispatch in limit", "WO closed in limit")))
    for name, per in table.items():
        cells = []
        for s in stages:
            r = per.get(s)
            if r is None or not r["n"]:
                cells.append(f"{'-':>22s}")
            else:
                cells.append(f"{_pct(r['share'])} ({r['n']:>6,d})".rjust(22) + "")
        if all(c.strip() == "-" for c in cells):
            continue
        print(f"  {str(name):20s} " + " ".join(cells))


def _print_hourly(summary: dict) -> None:
    rows = [r for r in summary["by"]["hour"] if r["stage"] == "on_scene"]
    if not rows:
        return
    print()
    print("by hour of day (on scene <= 5 min: share, events judged)")
    line = []
    for r in sorted(rows, key=lambda r: r["hour"]):
        line.append(f"{int(r['hour']):02d}h {_pct(r['share']).strip():>6s} ({r['n']:,})")
    for i in range(0, len(line), 6):
        print("  " + "   ".join(line[i:i + 6]))


def run_overrides(args: argparse.Namespace) -> list[str]:
    """--set values plus the --days / --seed shortcuts, as scenario overrides."""
    overrides = list(args.overrides)
    if args.days is not None:
        overrides.append(f"run.days={args.days}")
    if args.seed is not None:
        overrides.append(f"run.seed={args.seed}")
    return overrides


def ensure_out_dir(path: str) -> str:
    """Create the output directory before any work, so a bad --out fails in a second, clearly."""
    from pathlib import Path
    try:
        Path(path).mkdir(parents=True, exist_ok=True)
        probe = Path(path) / ".gridsim-write-test"
        probe.write_text("")
        probe.unlink()
    except OSError as exc:
        raise UsageError(f"--out {path}: cannot write there ({exc.strerror}); "
                         "allowed: a directory you can create and write") from None
    return path


def cmd_run(args: argparse.Namespace) -> int:
    from gridsim.results.run import simulate, write_run

    scenario = load_scenario(args.scenario, run_overrides(args))
    out = ensure_out_dir(args.out or f"results/{scenario.name}")
    result = simulate(scenario, progress=sys.stderr.isatty() and not args.quiet)
    paths = write_run(result, scenario, out)
    print_run_summary(result.summary, paths)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="gridsim",
        description="Simulate Suzhou's grid-based social governance: 12345, 110 and grid-patrol events "
                    "routed through sub-centers, workstations and grids, measured against the "
                    "3/5/15/30-minute targets.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="run 'gridsim COMMAND --help' for examples of each command",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    p = sub.add_parser("city", help="build the city and print its divisions, units and staff",
                       epilog=EPILOG_CITY, formatter_class=argparse.RawDescriptionHelpFormatter)
    _scenario_args(p)
    p.add_argument("--json", action="store_true", help="print the table as JSON")
    p.set_defaults(func=cmd_city)

    p = sub.add_parser("run", help="simulate a scenario and report response times against the targets",
                       epilog=EPILOG_RUN, formatter_class=argparse.RawDescriptionHelpFormatter)
    _scenario_args(p)
    p.add_argument("--days", type=int, default=None, help="simulated days (overrides run.days)")
    p.add_argument("--seed", type=int, default=None, help="root seed (overrides run.seed)")
    p.add_argument("--out", default=None, help="output directory (default: results/<scenario name>)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_run)
    for name in SUBCOMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except (ScenarioError, UsageError) as exc:
        print(f"gridsim: error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:         # output piped into `head` and closed: not an error
        import os
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except OSError as exc:          # a file that cannot be read or written: one line, no traceback
        where = f": {exc.filename}" if exc.filename else ""
        print(f"gridsim: error: {exc.strerror or exc}{where}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("gridsim: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
