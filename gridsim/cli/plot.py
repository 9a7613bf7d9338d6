"""`gridsim plot` and `gridsim report`: figures and a self-contained HTML report of saved results."""

from __future__ import annotations

import argparse

from gridsim.cli.common import UsageError, print_wrote
from gridsim.viz.figures import KINDS
from gridsim.viz.maps import MAP_METRICS_HELP
from gridsim.viz.style import FORMATS

EPILOG_PLOT = """figure kinds:
  ecdf         time to respond / be on scene / complete support / complete a cordon, target lines
  hist         on-scene time by event category (runs)
  divisions    share meeting each target by division, 95% CI (runs)
  hourly       volume and on-scene share by hour of day (runs)
  map          the city, grids coloured by --metric (runs; default on_scene_p90)
  staffing     each target against a swept numeric factor, mean and 95% CI (experiments)
  utilisation  busy share by role and hour (runs) or by role and variant (experiments)

DIR is a run directory (gridsim run --out DIR: events.parquet, summary.json, scenario.toml)
or an experiment directory (gridsim batch: runs.parquet). Figures go to DIR/figures/KIND.FORMAT.

examples:
  gridsim run --days 2 --out results/two_days && gridsim plot results/two_days
  gridsim plot results/two_days --kind ecdf --kind map --format svg
  gridsim plot results/two_days --kind map --metric respond_p90
  gridsim plot results/staffing_sweep                   # ecdf, staffing, utilisation
  gridsim plot results/staffing_sweep --kind staffing --metric util.fulltime
"""

EPILOG_REPORT = """DIR is a run or experiment directory; writes DIR/report.html: every figure (embedded PNG),
summary tables, and the scenario's parameters with their sources. No server, no external files.

examples:
  gridsim report results/two_days
  gridsim report results/staffing_sweep --out /tmp/staffing.html
"""


def _data(path: str):
    from gridsim.results.loaders import NotAResultsDir, load_results
    try:
        return load_results(path)
    except NotAResultsDir as exc:
        raise UsageError(str(exc)) from None


def _check_metric(data, metric: str | None, kinds: list[str]) -> None:
    from gridsim.results.loaders import RunData
    from gridsim.viz.maps import check_map_metric
    if metric is None:
        return
    if isinstance(data, RunData):
        try:
            check_map_metric(metric)
        except ValueError as exc:
            raise UsageError(f"--metric: {exc}") from None
    elif "staffing" in kinds:
        from gridsim.viz.staffing import resolve_metric_column
        try:
            resolve_metric_column(metric, data.runs.columns)
        except ValueError as exc:
            raise UsageError(f"--metric: {exc}") from None


def cmd_plot(args: argparse.Namespace) -> int:
    from gridsim.viz.figures import kinds_for, save_figures
    from gridsim.viz.style import NotApplicable
    data = _data(args.dir)
    kinds = list(dict.fromkeys(args.kinds)) if args.kinds else list(kinds_for(data))
    _check_metric(data, args.metric, kinds)
    try:
        paths = save_figures(data, kinds, fmt=args.format, metric=args.metric)
    except NotApplicable as exc:
        raise UsageError(f"--kind: {exc}") from None
    print_wrote(paths)
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from gridsim.viz.report import write_report
    data = _data(args.dir)
    _check_metric(data, args.metric, ["map", "staffing"])
    path = write_report(args.dir, out=args.out, metric=args.metric)
    print_wrote([path])
    return 0


def register(subparsers) -> None:
    p = subparsers.add_parser("plot", help="figures of a run or experiment directory (DIR/figures/)",
                              epilog=EPILOG_PLOT, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("dir", metavar="DIR", help="a run directory (events.parquet) or experiment directory (runs.parquet)")
    p.add_argument("--kind", dest="kinds", action="extend", nargs="+", choices=KINDS, metavar="KIND",
                   help=f"figure(s) to make (repeatable): {', '.join(KINDS)}; default: every one that applies")
    p.add_argument("--format", default="png", choices=FORMATS, help="file format (default png)")
    p.add_argument("--metric", default=None,
                   help=f"map: {MAP_METRICS_HELP} (default on_scene_p90); staffing: a runs.parquet column "
                        f"such as on_scene.p90 or util.fulltime (default: every target's share and p90)")
    p.set_defaults(func=cmd_plot)

    p = subparsers.add_parser("report", help="write DIR/report.html: figures, tables, parameters and sources",
                              epilog=EPILOG_REPORT, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("dir", metavar="DIR", help="a run directory or experiment directory")
    p.add_argument("--out", default=None, help="output file (default DIR/report.html)")
    p.add_argument("--metric", default=None, help="metric of the map / staffing figure, as for gridsim plot")
    p.set_defaults(func=cmd_report)
