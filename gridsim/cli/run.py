"""`gridsim run`: simulate a scenario, write its results, print the targets met.

Every stage label and threshold printed comes from the run's summary (`summary["targets"]`,
the scenario's [targets]) through `gridsim.domain.stage_label`: nothing is hard-coded.
"""

from __future__ import annotations

import argparse
import sys

from gridsim.cli.common import ensure_out_dir, mins, pct, print_wrote, run_args, run_overrides, scenario_args
from gridsim.domain import STAGES, WORK_ORDER_STAGES, stage_label
from gridsim.scenario import load_scenario

EPILOG = """examples:
  gridsim run                                   # one day of the built-in Suzhou 2018 baseline
  gridsim run --days 7 --seed 3 --out results/week
  gridsim run scenarios/suzhou_2018_full_build.toml --days 3
  gridsim run --set staff.police_units=800 --set surge.enabled=true
  gridsim run scenarios/validation_mmc.toml --set staff.fulltime_workers=4
"""

#: the stages of the by-source / division / category tables
BY_STAGES = ("respond", "on_scene", "register_dispatch", "close")
HOURLY_STAGE = "on_scene"


def register(subparsers) -> None:
    p = subparsers.add_parser("run", help="simulate a scenario and report response times against the targets",
                              epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    scenario_args(p)
    run_args(p)
    p.add_argument("--out", default=None, help="output directory (default: results/<scenario name>)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_run)


def cmd_run(args: argparse.Namespace) -> int:
    from gridsim.results.run import simulate, write_run

    scenario = load_scenario(args.scenario, run_overrides(args))
    out = ensure_out_dir(args.out or f"results/{scenario.name}")
    bar = _progress_bar(scenario.run.days) if sys.stderr.isatty() and not args.quiet else None
    try:
        result = simulate(scenario, progress=bar.update if bar is not None else None)
    finally:
        if bar is not None:
            bar.close()
    paths = write_run(result, scenario, out)
    print_run_summary(result.summary, paths)
    return 0


def _progress_bar(days: float):
    """Simulated days done; appears only if the run takes more than two seconds."""
    from tqdm import tqdm
    return tqdm(total=days, unit="day", desc="simulating", delay=2.0, leave=False,
                bar_format="{desc}: {percentage:3.0f}%|{bar}| {n:.1f}/{total} days [{elapsed}<{remaining}]")


# --------------------------------------------------------------------------- the summary

def print_run_summary(summary: dict, paths: dict) -> None:
    """The compact tables `gridsim run` prints."""
    _print_volumes(summary)
    print()
    _print_stages(summary)
    for key, title in (("source", "by source"), ("division", "by division"), ("category", "by category")):
        _print_by(summary, key, title)
    _print_hourly(summary)
    print()
    _print_utilisation(summary)
    print()
    print_wrote(paths.values())


def _print_volumes(summary: dict) -> None:
    vol = summary["volumes"]
    print(f"{summary['scenario']}: {summary['days']} day(s), seed {summary['seed']}, warm-up "
          f"{summary['warmup_hours']:g} h excluded; {vol['events_total']:,} events in {summary['wall_seconds']:.1f} s")
    print(f"  counted: {vol['110_incidents']:,} 110 incidents, {vol['12345_work_orders']:,} 12345 work orders "
          f"({vol['hotline_first_contact_after_warmup']:,} more calls resolved on first contact), "
          f"{vol['grid_patrol_reports']:,} grid patrol reports; {vol['open_at_end']:,} still open at the end")


def _print_stages(summary: dict) -> None:
    """Each stage: events judged, share met with its CI, percentiles."""
    print(f"{'target (110 + urgent work orders)':42s} {'n':>7s} {'met':>6s}  {'95% CI':>15s} "
          f"{'p50':>5s} {'p90':>5s} {'p95':>5s} {'p99':>5s}  (minutes from the call)")
    for stage in STAGES:
        if stage == WORK_ORDER_STAGES[0]:
            print(f"{'work-order lifecycle (12345 + patrol)':42s}")
        r = summary["stages"].get(stage)
        if r is None:
            continue
        label = stage_label(stage, summary["targets"])
        ci = "" if r["ci_low"] is None else f"[{pct(r['ci_low'])},{pct(r['ci_high'])}]"
        print(f"  {label:40s} {r['n']:7,d} {pct(r['share'])}  {ci:>15s} "
              f"{mins(r['p50'])} {mins(r['p90'])} {mins(r['p95'])} {mins(r['p99'])}")


def _print_by(summary: dict, key: str, title: str) -> None:
    """Share met (events judged) per value of `key`, for the BY_STAGES; rows with none are skipped."""
    table: dict = {}
    for r in summary["by"][key]:
        table.setdefault(r[key], {})[r["stage"]] = r
    print()
    print(f"{title:22s} " + " ".join(f"{stage_label(s, summary['targets']):>22s}" for s in BY_STAGES))
    for name, per in table.items():
        cells = []
        for s in BY_STAGES:
            r = per.get(s)
            if r is None or not r["n"]:
                cells.append(f"{'-':>22s}")
            else:
                cells.append(f"{pct(r['share'])} ({r['n']:>6,d})".rjust(22))
        if all(c.strip() == "-" for c in cells):
            continue
        print(f"  {str(name):20s} " + " ".join(cells))


def _print_hourly(summary: dict) -> None:
    rows = [r for r in summary["by"]["hour"] if r["stage"] == HOURLY_STAGE]
    if not rows:
        return
    print()
    print(f"by hour of day ({stage_label(HOURLY_STAGE, summary['targets'])}: share, events judged)")
    line = []
    for r in sorted(rows, key=lambda r: r["hour"]):
        line.append(f"{int(r['hour']):02d}h {pct(r['share']).strip():>6s} ({r['n']:,})")
    for i in range(0, len(line), 6):
        print("  " + "   ".join(line[i:i + 6]))


def _print_utilisation(summary: dict) -> None:
    print(f"{'utilisation by role':22s} {'responders':>10s} {'on-duty h':>10s} {'busy h':>9s} {'busy share':>10s}")
    for role, u in summary["utilisation"].items():
        print(f"  {role:20s} {u['responders']:10,d} {u['on_duty_hours']:10,.0f} {u['busy_hours']:9,.0f} "
              f"{pct(u['utilisation']):>10s}")
    q = summary["queues"]
    print(f"queues (tasks waiting): police mean {q['police_mean']:.2f}, max {q['police_max']}; "
          f"grid mean {q['grid_mean']:.1f}, max {q['grid_max']}")
