"""`gridsim batch`: run an experiment (variants x replications), resumably, and print its summary."""

from __future__ import annotations

import argparse
import math
import sys
import textwrap
import time
from pathlib import Path

from gridsim.cli.common import (UsageError, check_export_paths, decimals_for, export_args, export_tables, hms,
                                interval, number, print_wrote)

EPILOG_BATCH = """examples:
  gridsim batch experiments/staffing_sweep.toml               # all cores, results/staffing_sweep/
  gridsim batch experiments/buildout.toml --workers 1         # serially, in this process
  gridsim batch experiments/surge.toml --dask local           # a local Dask cluster
  gridsim batch experiments/surge.toml --dask tcp://10.0.0.5:8786   # a running Dask scheduler
  gridsim batch experiments/staffing_sweep.toml --resume      # finish an interrupted batch
  gridsim batch experiments/buildout.toml --keep-events --out results/buildout_events
  gridsim batch experiments/surge.toml --set staff.police_units=1300 --days 1 --out results/surge_1300
  gridsim batch experiments/staffing_sweep.toml --replications 10   # 5 more replications in the same store

Re-running the same command skips the runs already committed to the store (a finished
experiment does no work). Exit status: 0 all runs ok, 1 some run failed, 2 bad input.
"""


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "batch", help="run an experiment: scenario variants x replications, in parallel, resumable",
        description="Run every (variant, replication) of an experiment file, commit each finished run "
                    "to results/NAME/, and print per variant the mean and 95% CI of the kept metrics "
                    "and the paired difference against the first (baseline) variant.",
        epilog=EPILOG_BATCH, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("experiment", help="experiment TOML file (e.g. experiments/staffing_sweep.toml)")
    p.add_argument("--workers", type=int, default=None, metavar="N",
                   help="local worker processes (default: all cores; 1 = serially in this process); "
                        "with --dask local, the number of Dask workers")
    p.add_argument("--dask", default=None, metavar="ADDRESS",
                   help="run on Dask: 'local' starts a local cluster, tcp://host:8786 connects to a "
                        "running scheduler (needs the dask extra)")
    p.add_argument("--out", default=None, metavar="DIR",
                   help="results directory (default: results/<experiment name>)")
    p.add_argument("--resume", action="store_true",
                   help="complete the missing runs of an existing store (what re-running does anyway)")
    p.add_argument("--force", action="store_true",
                   help="discard the runs already in the store (also those of a changed experiment file) "
                        "and start again")
    p.add_argument("--retry-failed", action="store_true", help="run again the runs recorded as failed")
    p.add_argument("--keep-events", action="store_true",
                   help="also write each run's events.parquet and summary.json under runs/<variant>/rep<r>/")
    p.add_argument("--quiet", action="store_true", help="plain log lines instead of a progress bar")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override a scenario key in every variant (repeatable; part of the store's "
                        "fingerprint, so give a new --out to keep the runs without it)")
    p.add_argument("--days", type=int, default=None, help="simulated days per run (overrides the file's days)")
    p.add_argument("--replications", type=int, default=None, metavar="N",
                   help="replications per variant (overrides the file's; more extend an existing store)")
    p.add_argument("--max-runs", type=int, default=None, metavar="N",
                   help="allow an experiment of more than 10,000 runs (default limit: 10,000)")
    export_args(p)
    p.set_defaults(func=cmd_batch)


# ------------------------------------------------------------------------------ progress

class BarReporter:
    """A tqdm bar: runs done, failures, elapsed and ETA."""

    def __init__(self):
        self.bar = None
        self.failed = 0

    def start(self, exp, todo: int, done: int, executor) -> None:
        from tqdm import tqdm
        self.bar = tqdm(total=todo, unit="run", desc=exp.name, dynamic_ncols=True, file=sys.stderr,
                        bar_format="{desc}: {percentage:3.0f}%|{bar}| {n_fmt}/{total_fmt} runs, "
                                   "{postfix} [{elapsed}<{remaining}]")
        self.bar.set_postfix_str("0 failed", refresh=False)

    def advance(self, row: dict) -> None:
        if row["status"] != "ok":
            self.failed += 1
            self.bar.write(f"run failed: {row['variant']} rep {row['replication']}: {row['error']}", file=sys.stderr)
        self.bar.set_postfix_str(f"{self.failed} failed", refresh=False)
        self.bar.update(1)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


class LogReporter:
    """One plain line per finished run, with failures and an ETA (for logs and --quiet)."""

    def __init__(self, stream=None):
        self.stream = stream or sys.stderr
        self.t0 = 0.0
        self.todo = self.n = self.failed = 0

    def start(self, exp, todo: int, done: int, executor) -> None:
        self.t0, self.todo = time.monotonic(), todo

    def advance(self, row: dict) -> None:
        self.n += 1
        self.failed += row["status"] != "ok"
        elapsed = time.monotonic() - self.t0
        eta = elapsed / self.n * (self.todo - self.n)
        what = f"ok in {row['wall_s']:.1f} s" if row["status"] == "ok" else f"FAILED: {row['error']}"
        print(f"[{self.n}/{self.todo}] {row['variant']} rep {row['replication']}: {what} "
              f"({self.failed} failed, elapsed {hms(elapsed)}, eta {hms(eta)})", file=self.stream, flush=True)

    def close(self) -> None:
        pass


# ------------------------------------------------------------------------------ summary table

def _is_share(metric: str) -> bool:
    return metric.split("@")[0].split(".")[-1] in ("share", "ci_low", "ci_high") or metric.startswith("util.")


def verdict_text(status: str, required: float) -> str:
    """A share's verdict against its required share, for the table: 'met (90%)', 'MISSED (90%)'."""
    if not isinstance(status, str) or not status:
        return ""
    word = {"missed": "MISSED"}.get(status, status)
    return word if status == "too few to judge" else f"{word} ({100 * required:.0f}%)"


def format_summary(exp, summary) -> str:
    """The summary as a text table: per metric, per variant the mean [95% CI] over replications and
    the paired difference against the baseline [95% CI] (percentage points for shares)."""
    width = max([len(v.name) for v in exp.variants] + [24]) + 2
    lines = [f"{'metric / variant':{width}s} {'n':>3s} {'mean':>9s} {'95% CI':>21s}   "
             f"{'vs ' + exp.baseline.name[:30]:>12s} {'95% CI':>21s}   required share"]
    for metric, part in summary.groupby("metric", sort=False):
        share = _is_share(metric)
        dec = decimals_for(part["mean"].tolist())
        unit = "  (difference in percentage points)" if share else ""
        lines.append(f"{metric}{unit}")
        for r in part.itertuples(index=False):
            diff = "(baseline)" if r.variant == exp.baseline.name else number(r.diff, share, True, dec)
            judged = verdict_text(getattr(r, "verdict", ""), getattr(r, "required", math.nan))
            lines.append((f"  {r.variant:{width - 2}s} {r.n:3d} {number(r.mean, share, False, dec):>9s} "
                          f"{interval(r.ci_low, r.ci_high, share, False, dec):>21s}   {diff:>12s} "
                          f"{interval(r.diff_ci_low, r.diff_ci_high, share, True, dec):>21s}   {judged}").rstrip())
    return "\n".join(lines)


# ------------------------------------------------------------------------------ command

def cmd_batch(args: argparse.Namespace) -> int:
    from gridsim.studies.batch import run_batch
    from gridsim.studies.executors import ExecutorError, ExecutorSetupError, make_executor
    from gridsim.studies.experiment import MAX_RUNS, default_out_dir, load_experiment

    _check_args(args)
    check_export_paths(args)
    exp = load_experiment(args.experiment, overrides=args.overrides, days=args.days,
                          replications=args.replications,
                          max_runs=args.max_runs if args.max_runs is not None else MAX_RUNS)
    try:
        executor = make_executor(args.workers, args.dask)
    except ExecutorSetupError as exc:
        raise UsageError(str(exc)) from None
    out = Path(args.out) if args.out else default_out_dir(exp)
    print(f"{exp.name}: {len(exp.variants)} variant(s) x {exp.replications} replication(s) = {exp.n_runs} runs "
          f"of {exp.days} day(s), seed {exp.seed}; store {out}/", flush=True)
    reporter = Announce(LogReporter() if args.quiet or not sys.stderr.isatty() else BarReporter())
    try:
        report = run_batch(exp, out, executor, force=args.force, keep_events=args.keep_events,
                           retry_failed=args.retry_failed, reporter=reporter)
    except ExecutorSetupError as exc:
        raise UsageError(str(exc)) from None
    except ExecutorError as exc:
        print(f"gridsim: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"gridsim: interrupted; the runs committed so far are kept in {out}/ (runs.parquet and "
              f"summary.csv cover them): run the same command again to resume", file=sys.stderr)
        return 130
    _print_report(exp, report, args)
    return 1 if len(report.failed) else 0


def _check_args(args: argparse.Namespace) -> None:
    if args.max_runs is not None and args.max_runs < 1:
        raise UsageError(f"--max-runs {args.max_runs}: must be >= 1")
    if args.workers is not None and args.workers < 1:
        raise UsageError(f"--workers {args.workers}: must be >= 1")
    if args.resume and args.force:
        raise UsageError("--resume and --force contradict each other: --force discards the runs --resume "
                         "would complete")
    if args.dask and args.dask != "local" and args.workers is not None:
        raise UsageError("--workers applies to local processes or --dask local; the workers of a running "
                         "Dask scheduler are its own")


class Announce:
    """Says where the work goes (only when there is work), then hands progress to `reporter`."""

    def __init__(self, reporter):
        self.reporter = reporter

    def start(self, exp, todo: int, done: int, executor) -> None:
        print(f"running {todo} of {exp.n_runs} runs {executor.describe()}", flush=True)
        self.reporter.start(exp, todo, done, executor)

    def advance(self, row: dict) -> None:
        self.reporter.advance(row)

    def close(self) -> None:
        self.reporter.close()


def _print_notes(exp, report) -> None:
    """What the verdicts mean, and why a result may look backwards (the mix of judged events)."""
    from gridsim.studies.summary import backwards_notes
    if "verdict" in report.summary.columns and (report.summary["verdict"].fillna("") != "").any():
        print("\nrequired share: met / MISSED when the whole 95% CI is above / below the [targets] "
              "<stage>_required_share; uncertain when it straddles it; too few to judge under 30 events")
    for note in backwards_notes(exp, report.runs, report.summary):
        print()
        print(textwrap.fill("note: " + note, width=100, subsequent_indent="  "))


def _print_report(exp, report, args: argparse.Namespace) -> None:
    """The summary table, the count of runs ok and failed, the failures, the files written."""
    if report.ran == 0:
        print(f"nothing to run: all {report.planned} runs are already in {report.store}/ "
              f"(--force starts again{', --retry-failed re-runs the failed ones' if len(report.failed) else ''})")
    print()
    print(format_summary(exp, report.summary))
    _print_notes(exp, report)
    print()
    ok = int((report.runs["status"] == "ok").sum()) if len(report.runs) else 0
    print(f"{ok} of {report.planned} runs ok, {len(report.failed)} failed"
          f"{f' ({report.ran} run now)' if report.ran else ''}")
    if len(report.failed):
        print("failed runs (see the error column of runs.parquet; --retry-failed runs them again):")
        for r in report.failed.head(10).itertuples(index=False):
            print(f"  {r.variant} rep {r.replication}: {r.error}")
        if len(report.failed) > 10:
            print(f"  ... and {len(report.failed) - 10} more")
    wrote = [report.store / "runs.parquet", report.store / "summary.csv"] if report.wrote_outputs else []
    print_wrote(wrote + export_tables([("summary", report.summary)], csv=args.csv, xlsx=args.xlsx))
