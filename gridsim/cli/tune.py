"""`gridsim tune`: parse, call gridsim.studies.tune, print and write the recommendation."""

from __future__ import annotations

import argparse
import csv
import io
import os
from pathlib import Path

from gridsim.cli.common import (UsageError, check_export_paths, ensure_out_dir, export_args, export_tables, print_wrote,
                                run_args, run_overrides, scenario_args)

EPILOG = """examples:
  # M/M/c check (about 20 s): least c with P(wait <= 5 min) >= 0.8; Erlang C says 4
  gridsim tune scenarios/validation_mmc.toml --target register_dispatch:5:0.8 --vary staff.fulltime_workers
  # least police units so 60 % of 110 incidents are on scene within 5 min (1 day, 2 replications)
  gridsim tune --target on_scene:5:0.60:110 --vary staff.police_units --days 1 --reps 2
  # police units per sub-center so every sub-center answers 97 % of 110 calls within 3 min
  gridsim tune --target respond:3:0.97:110 --vary staff.police_units --per subcenter --reps 2
  # share a fixed total of 900 units among divisions to maximise the worst division
  gridsim tune --target on_scene:5:0.6:110 --vary staff.police_units --per division --total 900

A target must judge events: one whose stage judges none in the scenario (say "respond" where
every work order is routine) is refused (exit 2). When even --max misses a target, the message
says whether the share grew on the way up (raise --max) or not (vary another key instead).
"""


def register(sub) -> None:
    p = sub.add_parser("tune", help="find the least staffing that meets response targets, by simulation",
                       epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    scenario_args(p, "scenario TOML or built-in name (default suzhou_2018)")
    run_args(p, "simulated days per run (overrides run.days)")
    p.add_argument("--target", action="append", required=True, metavar="STAGE:MIN:SHARE[:SOURCE]",
                   help="e.g. on_scene:5:0.90 (stages: respond, on_scene, support, cordon, "
                        "register_dispatch, verify, close; SOURCE 110, 12345 or grid limits which "
                        "events are judged); repeatable, all must be met")
    p.add_argument("--vary", required=True, metavar="KEY", help="numeric scenario key to tune, e.g. staff.fulltime_workers")
    p.add_argument("--per", choices=("division", "subcenter"), default=None, help="allocate the staff among units")
    p.add_argument("--total", type=int, default=None, help="with --per: share this fixed total, maximising the worst unit")
    p.add_argument("--reps", type=int, default=3, help="replications per candidate (default 3)")
    p.add_argument("--budget", type=int, default=200, help="maximum simulation runs (default 200)")
    p.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="parallel runs (default: all cores)")
    p.add_argument("--dask", default=None, metavar="ADDRESS|local",
                   help="run candidates on a Dask scheduler, or a local Dask cluster (pip install -e '.[dask]')")
    p.add_argument("--min", dest="lo", type=float, default=None, help="lower bound of the value (default 0)")
    p.add_argument("--max", dest="hi", type=float, default=None, help="upper bound (default 10x the current value)")
    p.add_argument("--resolution", type=float, default=None, help="stop bisecting below this step")
    p.add_argument("--out", default=None, help="output directory (default results/tune-<scenario>)")
    export_args(p)
    p.set_defaults(func=cmd_tune)


def cmd_tune(args: argparse.Namespace) -> int:
    from gridsim.scenario import load_scenario
    from gridsim.studies.executors import ExecutorError, ExecutorSetupError
    from gridsim.studies.tune import TargetNotJudged, TuneError, parse_target, run_tune

    check_export_paths(args)
    targets = [parse_target(t) for t in args.target]
    overrides = run_overrides(args)
    scenario = load_scenario(args.scenario, overrides)
    if args.reps < 2:
        raise UsageError("--reps must be at least 2 (replications give the confidence interval its width)")
    out = Path(ensure_out_dir(args.out or f"results/tune-{scenario.name}"))
    print(f"tuning {args.vary} on {scenario.name} ({scenario.run.days} day(s), seed "
          f"{scenario.run.seed}, {args.reps} replications per candidate) for: "
          + "; ".join(t.label() for t in targets))
    try:
        res = run_tune(scenario, args.scenario, targets, args.vary, per=args.per, total=args.total,
                       reps=args.reps, budget=args.budget, workers=max(1, min(args.workers, args.reps)),
                       lo_bound=args.lo, hi_bound=args.hi, resolution=args.resolution, dask=args.dask,
                       message=print)
    except TargetNotJudged as exc:
        raise UsageError(str(exc)) from None
    except ExecutorSetupError as exc:
        raise UsageError(str(exc)) from None
    except ExecutorError:
        print("gridsim tune: a worker process died unexpectedly (killed, or out of memory?); nothing was "
              "written: run the command again (--workers 1 runs in this process)")
        return 1
    except TuneError as exc:
        print(f"gridsim tune: {exc}")
        return 1
    paths = _write_outputs(out, args, scenario, overrides, res, targets)
    paths += export_tables(_tables(res, targets, scenario), csv=args.csv, xlsx=args.xlsx)
    _print_result(res, targets, scenario)
    print()
    print_wrote(paths)
    return 0


def _write_outputs(out: Path, args: argparse.Namespace, scenario, overrides: list[str], res, targets) -> list[Path]:
    """recommended.toml (extends the input, sets the staffing found), search_log.csv, tune.json."""
    from gridsim.results.io import atomic_write, write_json
    from gridsim.studies.tune import recommended_toml, result_overrides

    user = {key.strip(): scenario.get(key.strip()) for key, _, _ in (text.partition("=") for text in overrides)}
    paths = [out / "recommended.toml", out / "search_log.csv", out / "tune.json"]
    atomic_write(paths[0], recommended_toml(args.scenario, out, result_overrides(res, user)))
    atomic_write(paths[1], _csv(res.log))
    write_json(paths[2], {"key": res.key, "value": res.value, "per": res.per, "allocation": res.allocation,
                          "targets": _achieved(res, targets), "runs_used": res.runs_used,
                          "analytic_estimate": res.analytic, "sqrt_rule": res.sqrt_rule,
                          "sqrt_rule_meets": res.sqrt_rule_meets, "sqrt_allocation": res.sqrt_allocation,
                          "reps": args.reps, "seed": scenario.run.seed, "days": scenario.run.days})
    return paths


def _achieved(res, targets) -> dict:
    """Per target stage: the share achieved by the recommendation, its CI and what was required."""
    achieved = {}
    for i, t in enumerate(targets):
        _, n, share, lo, hi = res.evaluation.stat(i)
        achieved[t.stage] = {"share": share, "ci_low": lo, "ci_high": hi, "n": n, "required": t.share,
                             "minutes": t.minutes}
    return achieved


def _tables(res, targets, scenario) -> list:
    """The printed tables for --csv / --xlsx: the recommendation per target, the allocation per
    unit (with --per), and the search log."""
    import pandas as pd
    rec = pd.DataFrame([{"key": res.key, "value": res.value, "target": t.spec(), "required": t.share,
                         **dict(zip(("events_met", "events_judged", "share", "ci_low", "ci_high"), res.evaluation.stat(i)))}
                        for i, t in enumerate(targets)])
    tables = [("recommendation", rec)]
    if res.allocation is not None:
        names = unit_names(res, scenario)
        rows = [{res.per: name, "staff": res.allocation[u],
                 "sqrt_rule": res.sqrt_allocation[u] if res.sqrt_allocation else None,
                 **{f"{t.stage}.ci_low": res.evaluation.stat(i, u)[3] for i, t in enumerate(targets)}}
                for u, name in enumerate(names)]
        tables.append(("allocation", pd.DataFrame(rows)))
    tables.append(("search_log", pd.DataFrame(res.log)))
    return tables


def unit_names(res, scenario) -> list[str]:
    """The names of the units an allocation is per: divisions, or sub-center numbers."""
    return ([d.name for d in scenario.divisions] if res.per == "division"
            else [str(i) for i in range(len(res.allocation))])


def _print_result(res, targets, scenario) -> None:
    ev = res.evaluation
    print()
    print(f"recommended {res.key} = {res.value}   ({res.runs_used} simulation runs)")
    for i, t in enumerate(targets):
        _, n, share, lo, hi = ev.stat(i)
        print(f"  {t.label():40s} achieved {share:.1%}  95% CI [{lo:.1%}, {hi:.1%}]  n={n:,}")
    if res.allocation is not None:
        names = unit_names(res, scenario)
        print(f"\n  {res.per:>14s} {'staff':>7s} {'sqrt rule':>9s}  " + "  ".join(f"{t.stage} lower CI" for t in targets))
        for u, name in enumerate(names):
            cells = "  ".join(f"{ev.stat(i, u)[3]:>{len(t.stage) + 9}.1%}" for i, t in enumerate(targets))
            sq = res.sqrt_allocation[u] if res.sqrt_allocation else ""
            print(f"  {name:>14s} {res.allocation[u]:7d} {sq:>9}  {cells}")
    if res.sqrt_rule is not None:
        verdict = "meets" if res.sqrt_rule_meets else "does NOT meet"
        print(f"\nsquare-root staffing rule: {res.key} = {res.sqrt_rule} ({verdict} the targets in simulation); "
              f"Erlang C start: {res.analytic}")


def _csv(log: list[dict]) -> str:
    """The search log as CSV text: step and candidate first, then the other columns sorted."""
    fields = sorted({k for row in log for k in row}, key=lambda k: (k not in ("step", "candidate"), k))
    buf = io.StringIO(newline="")
    w = csv.DictWriter(buf, fieldnames=fields)
    w.writeheader()
    w.writerows(log)
    return buf.getvalue()
