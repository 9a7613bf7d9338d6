"""`gridsim run`: simulate a scenario, write its run folder, print the targets met.

Every stage label and threshold printed comes from the run's summary (`summary["targets"]`,
the scenario's [targets]) through `gridsim.domain.stage_label`: nothing is hard-coded. Each
share is marked against the stage's required share (`gridsim.analysis.metrics` judges it:
met / missed / uncertain / too few to judge). The printed tables are built as DataFrames
first, so `--csv` / `--xlsx` export exactly the numbers printed.
"""

from __future__ import annotations

import argparse
import sys
from contextlib import ExitStack
from pathlib import Path

import pandas as pd

from gridsim.analysis.metrics import MET, MIN_JUDGED, MISSED, TOO_FEW, UNCERTAIN
from gridsim.cli.common import (UsageError, check_export_paths, default_out_dir, export_args, export_tables, mins,
                                pct, print_wrote, run_args, run_overrides, scenario_args)
from gridsim.domain import STAGES, WORK_ORDER_STAGES, stage_label
from gridsim.scenario import Scenario, load_scenario

EPILOG = """examples:
  gridsim run                                   # one day of the built-in Suzhou 2018 baseline
  gridsim run --days 7 --seed 3 --out results/week
  gridsim run scenarios/suzhou_2018_full_build.toml --days 3
  gridsim run --set staff.police_units=800 --set surge.enabled=true
  gridsim run scenarios/validation_mmc.toml --set staff.fulltime_workers=4
  gridsim run results/week/scenario.toml --out results/week_again   # repeat a saved run
  gridsim run --days 2 --csv tables.csv --xlsx tables.xlsx           # the printed tables as files
"""

#: the stages of the by-source / division / category tables
BY_STAGES = ("respond", "on_scene", "register_dispatch", "close")
HOURLY_STAGE = "on_scene"
#: one character after a share in the grouped tables
MARKS = {MET: "+", MISSED: "x", UNCERTAIN: "?"}
LEGEND = (f"marks: + met, x missed, ? uncertain (the 95% interval straddles the required share); "
          f"'too few' = under {MIN_JUDGED} events judged, no verdict")


def register(subparsers) -> None:
    p = subparsers.add_parser("run", help="simulate a scenario and report response times against the targets",
                              epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    scenario_args(p)
    run_args(p)
    p.add_argument("--out", default=None,
                   help="run folder, replaced as a whole (default: results/<scenario name>)")
    export_args(p)
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_run)


def cmd_run(args: argparse.Namespace) -> int:
    from gridsim.results.io import FolderLocked, folder_lock
    from gridsim.results.run import simulate, write_run

    scenario = load_scenario(args.scenario, run_overrides(args))
    check_export_paths(args)
    out = args.out or default_out_dir(scenario.name, f"{scenario.origin.get('name', scenario.path)}: name")
    flag = "--out " if args.out else ""
    check_memory(scenario)
    _check_out(out, flag)
    with ExitStack() as held:
        try:
            held.enter_context(folder_lock(out))     # before the run: a second writer is refused at once
        except FolderLocked as exc:
            raise UsageError(f"{exc}; allowed: wait for it to finish, or another --out DIR") from None
        except OSError as exc:
            raise UsageError(f"{flag}{out}: cannot write there ({exc.strerror or exc}); "
                             f"allowed: a folder you can create and write") from None
        _check_out(out, flag)                        # again, now that no other run can change it
        bar = _progress_bar(scenario.run.days) if sys.stderr.isatty() and not args.quiet else None
        try:
            result = simulate(scenario, progress=bar.update if bar is not None else None)
        finally:
            if bar is not None:
                bar.close()
        paths = write_run(result, scenario, out)
    tables = run_tables(result.summary)
    print_run_summary(result.summary, tables, paths)
    print_wrote(export_tables(list(tables.items()), csv=args.csv, xlsx=args.xlsx))
    return 0


def _check_out(out: str, flag: str) -> None:
    from gridsim.results.run import run_folder_problem
    problem = run_folder_problem(out)
    if problem is not None:
        raise UsageError(f"{flag}{problem}; allowed: a new or empty folder, or an earlier run folder")


def check_memory(scenario: Scenario) -> None:
    """Refuse, before anything is allocated, a run that cannot fit in this machine's memory."""
    from gridsim.results.run import estimate_memory, machine_memory
    have = machine_memory()
    need = estimate_memory(scenario)
    if have is not None and need.bytes > have:
        surge = " (surge included)" if scenario.surge.enabled and scenario.surge.multiplier > 1 else ""
        raise UsageError(f"{scenario.path}: run.days = {scenario.run.days:,}: about {need.events:,.0f} events"
                         f"{surge} would need about {_gib(need.bytes)} of memory; this machine has {_gib(have)}; "
                         f"allowed: fewer days or less demand")


def _gib(n: float) -> str:
    return f"{n / 2 ** 30:,.1f} GiB"


def _progress_bar(days: float):
    """Simulated days done; appears only if the run takes more than two seconds."""
    from tqdm import tqdm
    return tqdm(total=days, unit="day", desc="simulating", delay=2.0, leave=False,
                bar_format="{desc}: {percentage:3.0f}%|{bar}| {n:.1f}/{total} days [{elapsed}<{remaining}]")


# --------------------------------------------------------------------------- the tables

def _percent(v: float | None) -> float | None:
    return None if v is None else 100.0 * v


def _minutes(v: float | str | None) -> float | None:
    """Minutes as a number; a censored percentile ('inf': not reached before the end) is inf."""
    return float("inf") if v == "inf" else v


def _status(r: dict) -> str | None:
    """The verdict of a summary row; rows judged on too few events say so even without one."""
    if r.get("status"):
        return r["status"]
    return TOO_FEW if r["n"] < MIN_JUDGED else None


def _stage_rows(summary: dict) -> pd.DataFrame:
    rows = []
    for stage in STAGES:
        r = summary["stages"].get(stage)
        if r is None:
            continue
        rows.append({"group": "work-order lifecycle" if stage in WORK_ORDER_STAGES else "110 incidents (patrol targets)",
                     "stage": stage_label(stage, summary["targets"]), "n": r["n"],
                     "met %": _percent(r["share"]), "ci low %": _percent(r["ci_low"]),
                     "ci high %": _percent(r["ci_high"]), "required %": _percent(r.get("required")),
                     "verdict": _status(r),
                     **{f"p{q} min": _minutes(r[f"p{q}"]) for q in (50, 90, 95, 99)}})
    return pd.DataFrame(rows)


def _by_rows(summary: dict, key: str) -> pd.DataFrame:
    """One row per value of `key`; per BY_STAGE its share, events judged and verdict; values
    with no judged event on any of the stages are left out (as printed)."""
    table: dict = {}
    for r in summary["by"][key]:
        table.setdefault(r[key], {})[r["stage"]] = r
    rows = []
    for name, per in table.items():
        row = {key: str(name)}
        judged = False
        for s in BY_STAGES:
            label = stage_label(s, summary["targets"])
            r = per.get(s)
            have = r is not None and r["n"] > 0
            judged |= have
            row[f"{label} %"] = _percent(r["share"]) if have else None
            row[f"{label} n"] = r["n"] if have else 0
            row[f"{label} verdict"] = _status(r) if have else None
        if judged:
            rows.append(row)
    return pd.DataFrame(rows)


def _hourly_rows(summary: dict) -> pd.DataFrame:
    rows = sorted((r for r in summary["by"]["hour"] if r["stage"] == HOURLY_STAGE), key=lambda r: r["hour"])
    return pd.DataFrame([{"hour": int(r["hour"]), "share %": _percent(r["share"]), "n": r["n"],
                          "verdict": _status(r)} for r in rows], columns=["hour", "share %", "n", "verdict"])


def _utilisation_rows(summary: dict) -> pd.DataFrame:
    return pd.DataFrame([{"role": role, "responders": u["responders"], "on-duty h": u["on_duty_hours"],
                          "busy h": u["busy_hours"], "busy share %": _percent(u["utilisation"])}
                         for role, u in summary["utilisation"].items()])


def _volume_rows(summary: dict) -> pd.DataFrame:
    vol, q = summary["volumes"], summary["queues"]
    items = [("days", summary["days"]), ("seed", summary["seed"]), ("warm-up h", summary["warmup_hours"]),
             ("events", vol["events_total"]), ("110 incidents", vol["110_incidents"]),
             ("12345 work orders", vol["12345_work_orders"]),
             ("calls resolved on first contact", vol["hotline_first_contact_after_warmup"]),
             ("grid patrol reports", vol["grid_patrol_reports"]), ("open at the end", vol["open_at_end"]),
             ("police queue mean", q["police_mean"]), ("police queue max", q["police_max"]),
             ("grid queue mean", q["grid_mean"]), ("grid queue max", q["grid_max"])]
    return pd.DataFrame(items, columns=["quantity", "value"])


def run_tables(summary: dict) -> dict[str, pd.DataFrame]:
    """The tables `gridsim run` prints, by name, in printed units (percent, minutes, hours)."""
    return {"volumes": _volume_rows(summary), "stages": _stage_rows(summary),
            "by source": _by_rows(summary, "source"), "by division": _by_rows(summary, "division"),
            "by category": _by_rows(summary, "category"), "by hour": _hourly_rows(summary),
            "utilisation": _utilisation_rows(summary)}


# --------------------------------------------------------------------------- printing

def print_run_summary(summary: dict, tables: dict[str, pd.DataFrame], paths: dict[str, Path]) -> None:
    """The compact tables `gridsim run` prints."""
    _print_volumes(summary)
    print()
    _print_stages(tables["stages"])
    for key in ("source", "division", "category"):
        _print_by(tables[f"by {key}"], key, summary)
    _print_hourly(tables["by hour"], summary)
    print(LEGEND)
    print()
    _print_utilisation(tables["utilisation"], summary)
    print()
    print_wrote(paths.values())


def _print_volumes(summary: dict) -> None:
    vol = summary["volumes"]
    print(f"{summary['scenario']}: {summary['days']} day(s), seed {summary['seed']}, warm-up "
          f"{summary['warmup_hours']:g} h excluded; {vol['events_total']:,} events in {summary['wall_seconds']:.1f} s")
    print(f"  counted: {vol['110_incidents']:,} 110 incidents, {vol['12345_work_orders']:,} 12345 work orders "
          f"({vol['hotline_first_contact_after_warmup']:,} more calls resolved on first contact), "
          f"{vol['grid_patrol_reports']:,} hazards found by grid patrols; {vol['open_at_end']:,} still open at the end")
    _print_work_order_side(summary)


def _print_work_order_side(summary: dict) -> None:
    """The call centre, the time to close, the hazards and the deadlines the run cannot judge."""
    h, wo = summary.get("hotline"), summary.get("work_orders")
    if h and h["calls"]:
        print(f"  12345 call centre: {h['calls']:,} calls, answered in {h['answer_wait_mean_s']:.1f} s on average, "
              f"{pct(h['answered_within_30s_share']).strip()} within 30 s; {pct(h['first_contact'] / h['calls']).strip()} resolved "
              f"on the line; {h['to_110']:,} handed to 110, {h['from_110']:,} handed over from 110")
    if not wo:
        return
    close = wo["close_working_days"]
    parts = []
    for src, c in close.items():
        median = "not reached" if c["median"] is None or pd.isna(c["median"]) else f"{c['median']:.2f}"
        parts.append(f"{src} median {median} (restricted mean {c['restricted_mean']:.2f}, {c['open']:,} of "
                     f"{c['orders']:,} open)")
    if parts:
        print(f"  time to close, working days (Kaplan-Meier, open orders censored): {'; '.join(parts)}")
    hz = wo["hazards"]
    if hz["arisen"]:
        lag = "" if hz["discovery_p50_min"] is None else (f"; onset to finding median {hz['discovery_p50_min']:.0f} "
                                                          f"min, p90 {hz['discovery_p90_min']:.0f} min")
        print(f"  hazards: {hz['found']:,} of {hz['arisen']:,} arisen were found by patrols "
              f"({hz['fixed_on_spot']:,} fixed on the spot){lag}")
    for line in wo["deadline_notes"]:
        print(f"  note: {line}")


def _share(v: float | None) -> str:
    return pct(None if v is None or pd.isna(v) else v / 100.0)


def _verdict(status: str | None, required: float | None) -> str:
    if status is None:
        return ""
    if status == TOO_FEW or required is None or pd.isna(required):
        return status
    return f"{status} (need {required:g}%)"


def _print_stages(df: pd.DataFrame) -> None:
    """Each stage: events judged, share met with its CI, the verdict, percentiles."""
    print(f"{'patrol targets (110 incidents)':42s} {'n':>7s} {'met':>6s}  {'95% CI':>15s} "
          f"{'p50':>5s} {'p90':>5s} {'p95':>5s} {'p99':>5s}  verdict  (minutes from the call)")
    lifecycle = False
    for r in df.to_dict(orient="records"):
        if r["group"] == "work-order lifecycle" and not lifecycle:
            print(f"{'work-order lifecycle (12345 + patrol)':42s}")
            lifecycle = True
        if r["verdict"] == TOO_FEW:
            share, ci = f"{'too few to judge':>23s}", ""
        else:
            share = _share(r["met %"])
            ci = "" if pd.isna(r["ci low %"]) else f"[{_share(r['ci low %'])},{_share(r['ci high %'])}]"
            share = f"{share}  {ci:>15s}"
        cells = " ".join(mins(None if pd.isna(r[c]) else ("inf" if r[c] == float("inf") else r[c]))
                         for c in ("p50 min", "p90 min", "p95 min", "p99 min"))
        print(f"  {r['stage']:40s} {r['n']:7,d} {share} {cells}  {_verdict(r['verdict'], r['required %'])}")


def _by_cell(share: float | None, n: int, status: str | None) -> str:
    if not n:
        return f"{'-':>24s}"
    if status == TOO_FEW:
        return f"too few ({n:>6,d})".rjust(24)
    return f"{_share(share)} ({n:>6,d}) {MARKS.get(status, ' ')}".rjust(24)


def _print_by(df: pd.DataFrame, key: str, summary: dict) -> None:
    """Share met (events judged) and mark per value of `key`, for the BY_STAGES."""
    labels = [stage_label(s, summary["targets"]) for s in BY_STAGES]
    print()
    print(f"{'by ' + key:22s} " + " ".join(f"{label:>24s}" for label in labels))
    for r in df.to_dict(orient="records"):
        cells = [_by_cell(r[f"{lb} %"], r[f"{lb} n"], r[f"{lb} verdict"]) for lb in labels]
        print(f"  {r[key]:20s} " + " ".join(cells))


def _print_hourly(df: pd.DataFrame, summary: dict) -> None:
    if df.empty:
        return
    print()
    print(f"by hour of day ({stage_label(HOURLY_STAGE, summary['targets'])}: share, events judged, mark)")
    line = []
    for r in df.to_dict(orient="records"):
        if r["verdict"] == TOO_FEW:
            line.append(f"{r['hour']:02d}h {'too few':>6s} ({r['n']:>5,d})  ")
        else:
            line.append(f"{r['hour']:02d}h {_share(r['share %'])} ({r['n']:>5,d}) {MARKS.get(r['verdict'], ' ')}")
    for i in range(0, len(line), 6):
        print("  " + "  ".join(line[i:i + 6]))


def _print_utilisation(df: pd.DataFrame, summary: dict) -> None:
    print(f"{'utilisation by role':22s} {'responders':>10s} {'on-duty h':>10s} {'busy h':>9s} {'busy share':>10s}")
    for r in df.to_dict(orient="records"):
        print(f"  {r['role']:20s} {r['responders']:10,d} {r['on-duty h']:10,.0f} {r['busy h']:9,.0f} "
              f"{_share(r['busy share %']):>10s}")
    q = summary["queues"]
    print(f"queues (tasks waiting): police mean {q['police_mean']:.2f}, max {q['police_max']}; "
          f"grid mean {q['grid_mean']:.1f}, max {q['grid_max']}")
