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
  map          the city, grids coloured by --metric (runs; default on_scene_p90); experiments:
               change of a per-division metric from the baseline variant (default on_scene_share)
  staffing     metrics per variant: named points, 95% CI, required share, verdict (experiments)
  utilisation  busy share by role and hour (runs) or by role and variant (experiments)

DIR is a run directory (gridsim run --out DIR: events.parquet, summary.json, scenario.toml)
or an experiment directory (gridsim batch: runs.parquet). Figures go to DIR/figures/KIND.FORMAT
(maps: map_METRIC.FORMAT). Several DIRs: compare_ecdf and compare_stages in --out FOLDER.
Every share is judged against the scenario's required share ([targets] STAGE_required_share):
met, missed, uncertain (the 95% interval straddles it) or too few to judge (< 30 events).

examples:
  gridsim run --days 2 --out results/two_days && gridsim plot results/two_days
  gridsim plot results/two_days --kind ecdf --kind map --format svg
  gridsim plot results/two_days --kind map --metric respond_p90
  gridsim plot results/staffing_sweep                   # ecdf, staffing, utilisation
  gridsim plot results/staffing_sweep --kind staffing --metric util.fulltime
  gridsim plot results/two_days results/buildout --out results/compare   # side by side
"""

EPILOG_REPORT = """DIR is a run or experiment directory; writes DIR/report.html: first a summary of what passed and
failed, then every figure (embedded PNG), summary tables, and the scenario's parameters with their
sources (docs/sources.md). No server, no external files, no timestamp: the same folder gives the
same file. Several DIRs: one report comparing them, written to --out.

examples:
  gridsim report results/two_days
  gridsim report results/staffing_sweep --out /tmp/staffing.html
  gridsim report results/two_days results/buildout --out results/compare.html
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
    elif "map" in kinds and "staffing" not in kinds:
        try:
            check_map_metric(metric.replace(".", "_"))
        except ValueError as exc:
            raise UsageError(f"--metric: {exc}") from None
    elif "staffing" in kinds:
        from gridsim.viz.staffing import resolve_metric_column
        try:
            resolve_metric_column(metric, data.runs.columns)
        except ValueError as exc:
            raise UsageError(f"--metric: {exc}") from None


def _compare_out(args: argparse.Namespace, what: str) -> str:
    """Several folders: the comparison needs --out (it belongs to none of them)."""
    if not args.out:
        raise UsageError(f"{len(args.dirs)} folders given: say where the comparison goes with --out {what}")
    return args.out


def cmd_plot(args: argparse.Namespace) -> int:
    from gridsim.viz.figures import kinds_for, save_figures
    from gridsim.viz.style import NotApplicable
    if len(args.dirs) > 1:
        from gridsim.viz.compare import save_comparison
        out = _compare_out(args, "FOLDER")
        if args.kinds or args.metric:
            raise UsageError("--kind and --metric apply to one folder; several folders give the comparison figures "
                             "(compare_ecdf, compare_stages)")
        datas = [_data(d) for d in args.dirs]
        print_wrote(save_comparison(datas, out, fmt=args.format))
        return 0
    args.dir = args.dirs[0]
    data = _data(args.dir)
    kinds = list(dict.fromkeys(args.kinds)) if args.kinds else list(kinds_for(data))
    _check_metric(data, args.metric, kinds)
    try:
        paths = save_figures(data, kinds, fmt=args.format, metric=args.metric, out_dir=args.out)
    except NotApplicable as exc:
        raise UsageError(f"--kind: {exc}") from None
    print_wrote(paths)
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from gridsim.viz.report import write_comparison_report, write_report
    if len(args.dirs) > 1:
        out = _compare_out(args, "FILE.html")
        for d in args.dirs:
            _data(d)                      # refuse a bad folder before writing anything
        print_wrote([write_comparison_report(args.dirs, out)])
        return 0
    args.dir = args.dirs[0]
    data = _data(args.dir)
    _check_metric(data, args.metric, ["map", "staffing"])
    path = write_report(args.dir, out=args.out, metric=args.metric)
    print_wrote([path])
    return 0


def register(subparsers) -> None:
    p = subparsers.add_parser("plot", help="figures of a run or experiment directory (DIR/figures/)",
                              epilog=EPILOG_PLOT, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("dirs", metavar="DIR", nargs="+",
                   help="a run directory (events.parquet) or experiment directory (runs.parquet); several: "
                        "compare them (needs --out)")
    p.add_argument("--out", default=None, metavar="FOLDER",
                   help="where the figures go (default DIR/figures; required with several DIRs)")
    p.add_argument("--kind", dest="kinds", action="extend", nargs="+", choices=KINDS, metavar="KIND",
                   help=f"figure(s) to make (repeatable): {', '.join(KINDS)}; default: every one that applies")
    p.add_argument("--format", default="png", choices=FORMATS, help="file format (default png)")
    p.add_argument("--metric", default=None,
                   help=f"map: {MAP_METRICS_HELP} (default on_scene_p90); staffing: a runs.parquet column "
                        f"such as on_scene.p90 or util.fulltime (default: every target's share and p90)")
    p.set_defaults(func=cmd_plot)

    p = subparsers.add_parser("report", help="write DIR/report.html: figures, tables, parameters and sources",
                              epilog=EPILOG_REPORT, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("dirs", metavar="DIR", nargs="+",
                   help="a run directory or experiment directory; several: one report comparing them (needs --out)")
    p.add_argument("--out", default=None, help="output file (default DIR/report.html; required with several DIRs)")
    p.add_argument("--metric", default=None, help="metric of the map / staffing figure, as for gridsim plot")
    p.set_defaults(func=cmd_report)
