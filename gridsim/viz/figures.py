"""The figure registry: which kinds exist, which apply to a directory's data, and making and saving them.

Every figure function takes data (a `RunData` / `ExperimentData` from gridsim.results.loaders)
and returns a `matplotlib.figure.Figure`. `save_figures` writes `DIR/figures/<kind>.<fmt>`
(maps: `map_<metric>.<fmt>`, one file per metric).

Figure kinds (KINDS):
    ecdf         time to respond / on scene / regional support / cordon, target lines
    hist         on-scene time by event category (runs)
    divisions    share meeting each target by division, 95 % Wilson CI (runs)
    hourly       volume and on-scene share by hour of day (runs)
    map          grids coloured by a per-grid metric, units by build status (runs); the change of a
                 per-division metric from the baseline variant (experiments with <stage>.<field>@<division>)
    staffing     metrics per variant: named points, 95 % CI, required share and verdict (experiments)
    utilisation  busy share by role and hour (runs) / by role and variant (experiments)
    survival     Kaplan-Meier time to close by source and category, deadline markers; time to discovery (runs)
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Iterable

from matplotlib.figure import Figure

from gridsim.city import build_city
from gridsim.domain import ROLES
from gridsim.results.loaders import ExperimentData, RunData
from gridsim.viz.divisions import divisions_run
from gridsim.viz.ecdf import ecdf_experiment, ecdf_run
from gridsim.viz.histograms import hist_run
from gridsim.viz.hourly import hourly_run
from gridsim.viz.maps import DIVISION_SEP, map_experiment, map_run
from gridsim.viz.staffing import staffing_experiment
from gridsim.viz.style import FORMATS, NotApplicable, save_figure
from gridsim.viz.survival import survival_run
from gridsim.viz.utilisation import utilisation_experiment, utilisation_run

DEFAULT_MAP_METRIC = "on_scene_p90"
DEFAULT_EXPERIMENT_MAP_METRIC = "on_scene_share"
Maker = Callable[[Any, "str | None", Any], Figure]
"""(data, metric, city) -> Figure"""

RUN_FIGURES: dict[str, Maker] = {
    "ecdf": lambda run, metric, city: ecdf_run(run),
    "hist": lambda run, metric, city: hist_run(run),
    "divisions": lambda run, metric, city: divisions_run(run),
    "hourly": lambda run, metric, city: hourly_run(run),
    "map": lambda run, metric, city: map_run(run, metric or DEFAULT_MAP_METRIC, city=city),
    "utilisation": lambda run, metric, city: utilisation_run(run),
    "survival": lambda run, metric, city: survival_run(run),
}
EXPERIMENT_FIGURES: dict[str, Maker] = {
    "ecdf": lambda exp, metric, city: ecdf_experiment(exp),
    "staffing": lambda exp, metric, city: staffing_experiment(exp, metric=metric),
    "utilisation": lambda exp, metric, city: utilisation_experiment(exp),
    "map": lambda exp, metric, city: map_experiment(exp, metric or DEFAULT_EXPERIMENT_MAP_METRIC, city=city),
}
KINDS = ("ecdf", "hist", "divisions", "hourly", "map", "staffing", "utilisation", "survival")
RUN_KINDS = tuple(RUN_FIGURES)
EXPERIMENT_KINDS = tuple(EXPERIMENT_FIGURES)


def kinds_for(data: RunData | ExperimentData) -> tuple[str, ...]:
    """The figure kinds that apply to this data (what `gridsim plot DIR` makes by default)."""
    if isinstance(data, RunData):
        return RUN_KINDS
    kinds = ["ecdf"]
    if len(data.ok):
        kinds.append("staffing")
    if any(f"util.{r}" in data.runs.columns for r in ROLES):
        kinds.append("utilisation")
    if len(data.variants) > 1 and any(DIVISION_SEP in c for c in data.runs.columns):
        kinds.append("map")
    return tuple(kinds)


def needs_city(data: RunData | ExperimentData, kind: str) -> bool:
    """The map of a run draws the city (built once for several figures by the caller)."""
    return kind == "map" and isinstance(data, RunData)


def make_figure(data: RunData | ExperimentData, kind: str, metric: str | None = None, city: Any = None) -> Figure:
    """One figure of a kind; NotApplicable when the kind does not apply to this directory."""
    if kind not in KINDS:
        raise ValueError(f"unknown figure kind {kind!r}; allowed: {', '.join(KINDS)}")
    if isinstance(data, RunData):
        if kind not in RUN_FIGURES:
            raise NotApplicable(f"figure {kind!r} needs an experiment directory (runs.parquet); "
                                f"this is a run directory")
        return RUN_FIGURES[kind](data, metric, city)
    if kind not in EXPERIMENT_FIGURES:
        raise NotApplicable(f"figure {kind!r} needs a run directory (events.parquet); this is an experiment "
                            f"directory (its runs.parquet has no per-event data)")
    return EXPERIMENT_FIGURES[kind](data, metric, city)


def save_figures(data: RunData | ExperimentData, kinds: Iterable[str] | None = None, fmt: str = "png",
                 metric: str | None = None, out_dir: str | Path | None = None) -> list[Path]:
    """Write `<out_dir or DIR/figures>/<figure_stem>.<fmt>` for each kind (default: all that apply)."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; allowed: {', '.join(FORMATS)}")
    kinds = list(kinds) if kinds else list(kinds_for(data))
    out = Path(out_dir) if out_dir is not None else Path(data.dir) / "figures"
    paths = []
    city = None
    for kind in kinds:
        if needs_city(data, kind) and city is None:
            city = build_city(data.scenario)
        fig = make_figure(data, kind, metric=metric, city=city)
        paths.append(save_figure(fig, out / f"{figure_stem(data, kind, metric)}.{fmt}", fmt))
    return paths


def figure_stem(data: RunData | ExperimentData, kind: str, metric: str | None = None) -> str:
    """The file name of a figure without its suffix: the kind, and for maps the metric too
    (`map_on_scene_p90`), so maps of different metrics never overwrite each other."""
    if kind == "map":
        default = DEFAULT_MAP_METRIC if isinstance(data, RunData) else DEFAULT_EXPERIMENT_MAP_METRIC
        return f"map_{(metric or default).replace('.', '_')}"
    return kind
