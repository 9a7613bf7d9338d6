"""The city map: every grid coloured by a per-grid metric, sub-centers and workstations by build status.

A metric is `<stage>_<stat>` (stat in share, p50, p90, p95, p99, n) or `volume`. Percentiles
and shares are pooled per workstation or sub-center when grids have too few events for a
stable value (`map_run`'s `pool`). Grids are drawn as a raster of nearest-grid pixels.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import matplotlib
import numpy as np
from matplotlib.path import Path as MplPath
import pandas as pd
from matplotlib import patheffects
from matplotlib.cm import ScalarMappable
from matplotlib.colors import Colormap, ListedColormap, Normalize, TwoSlopeNorm
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import FuncFormatter, PercentFormatter
from scipy.spatial import cKDTree

from gridsim.analysis.metrics import _group_percentiles
from gridsim.city import build_city
from gridsim.domain import BUILT, NOT_STARTED, STAGES, STATUS_NAMES, UNDER_CONSTRUCTION, stage_label
from gridsim.results.loaders import PERCENTILE_FIELDS, ExperimentData, RunData
from gridsim.scenario import load_scenario
from gridsim.viz.outlines import draw_outlines
from gridsim.viz.labels import context, required_of, target_min
from gridsim.viz.style import STYLE, NotApplicable, new_figure, nice_ceil, suptitle

MAP_STATS = ("share",) + PERCENTILE_FIELDS + ("n",)
MAP_METRICS_HELP = ("<stage>_<stat> with stage in " + ", ".join(STAGES) +
                    " and stat in " + ", ".join(MAP_STATS) + "; or volume (events per day)")
POOL_LEVELS = {"grid": "grid_id", "workstation": "workstation_id", "subcenter": "subcenter_id"}
POOL_MIN_MEDIAN_N = 10     # "auto" pools grids until the median unit has at least this many events
RASTER_KM = 0.2
NO_EVENTS_RGBA = (0.85, 0.85, 0.85, 1.0)
BOUNDARY_RGBA = (0.15, 0.15, 0.15, 1.0)


# ============================================================================== metrics

def split_metric(metric: str) -> tuple[str, str]:
    """('on_scene', 'p90') from 'on_scene_p90'; ValueError naming the allowed metrics."""
    for stage in sorted(STAGES, key=len, reverse=True):
        if metric.startswith(stage + "_"):
            stat = metric[len(stage) + 1:]
            if stat in MAP_STATS:
                return stage, stat
    raise ValueError(f"unknown map metric {metric!r}; allowed: {MAP_METRICS_HELP}")


def check_map_metric(metric: str) -> None:
    if metric != "volume":
        split_metric(metric)


def unit_metric(run: RunData, metric: str, level: str, n_units: int) -> tuple[np.ndarray, np.ndarray, str]:
    """Per-unit values of a metric (unit = grid, workstation or sub-center, by id), the events
    judged per unit, and a label with units.

    metric: `<stage>_<stat>` (stat in share, p50, p90, p95, p99, n) or `volume` (events per day,
    after warm-up, all sources).
    """
    ev = run.events
    col = POOL_LEVELS[level]
    if metric == "volume":
        t = ev["t_call"].to_numpy(dtype=float)
        g = ev[col].to_numpy()[t >= run.warmup_min]
        days = (run.horizon_min - run.warmup_min) / 1440.0
        cnt = np.bincount(g, minlength=n_units).astype(float)
        return cnt / days, np.bincount(g, minlength=n_units), "events per day (all sources)"
    stage, stat = split_metric(metric)
    short = STAGES[stage].short
    el = run.elapsed(stage)
    uid = ev.set_index("event_id").loc[el["event_id"], col].to_numpy()
    n = np.bincount(uid, minlength=n_units)
    if stat == "n":
        return n.astype(float), n, f"{short}: events judged"
    if stat == "share":
        met = np.bincount(uid, weights=el["met"].to_numpy(dtype=float), minlength=n_units)
        with np.errstate(invalid="ignore", divide="ignore"):
            v = np.where(n > 0, met / np.maximum(n, 1), np.nan)
        label = stage_label(stage, run.targets) if STAGES[stage].is_target else f"{short} within its limit"
        return v, n, f"share {label}"
    q = int(stat[1:])
    vals = _group_percentiles(uid, el["elapsed"].to_numpy(dtype=float), n_units, (q,))[:, 0]
    return vals, n, f"{stat} {short} time (min from the call)"


def grid_metric(run: RunData, metric: str, n_grids: int) -> tuple[np.ndarray, np.ndarray, str]:
    """Per-grid values of a map metric, events judged per grid, label (see `unit_metric`)."""
    return unit_metric(run, metric, "grid", n_grids)


@dataclass
class GridValues:
    """A metric as each grid shows it, and the pooling level it was computed at."""

    vals: np.ndarray        # per grid (its unit's value)
    has: np.ndarray         # per grid: any event judged (always true for volume)
    unit_vals: np.ndarray   # per unit
    unit_n: np.ndarray      # per unit: events judged
    label: str
    level: str
    median_n: float


def pooled_values(run: RunData, city: Any, metric: str, stat: str, pool: str) -> GridValues:
    """The metric per grid, pooled up to the smallest level whose median unit has enough events."""
    grid_unit = {"grid": np.arange(city.n_grids), "workstation": city.grid_ws, "subcenter": city.grid_sc}
    n_units = {"grid": city.n_grids, "workstation": city.n_workstations, "subcenter": city.n_subcenters}
    levels = ["grid"] if stat in ("volume", "n") else (["grid", "workstation", "subcenter"] if pool == "auto"
                                                      else [pool])
    for level in levels:
        uvals, un, label = unit_metric(run, metric, level, n_units[level])
        med = float(np.median(un[un > 0])) if (un > 0).any() else 0.0
        if med >= POOL_MIN_MEDIAN_N:
            break
    n = un[grid_unit[level]]
    has = n > 0 if stat != "volume" else np.ones(city.n_grids, dtype=bool)
    return GridValues(uvals[grid_unit[level]], has, uvals, un, label, level, med)


# ============================================================================== colours

@dataclass
class ColorScale:
    norm: Normalize
    cmap: Colormap
    extend: str = "neither"
    target: float | None = None
    tick_format: Any = None
    required: float | None = None


def split_cmap(target: float, vmax: float) -> Colormap:
    """Linear colour scale 0..vmax that turns from blue to yellow-red exactly at the target."""
    base = matplotlib.colormaps["RdYlBu_r"]
    n = 256
    k = int(round(n * min(max(target / vmax, 0.05), 0.95)))
    return ListedColormap(np.vstack([base(np.linspace(0.0, 0.38, k)), base(np.linspace(0.55, 1.0, n - k))]))


def color_scale(gv: GridValues, stage: str | None, stat: str, targets: dict) -> ColorScale:
    """Times: split at the target (or magma without one); shares: 0-100 %, diverging around the
    stage's required share (red below it, blue above); counts: 0 to the 99th percentile."""
    uvals, un = gv.unit_vals, gv.unit_n
    if stat in PERCENTILE_FIELDS:
        target = target_min(targets, stage) if STAGES[stage].is_target else None
        fin = uvals[(un > 0) & np.isfinite(uvals)]
        hi = float(np.quantile(fin, 0.95)) if len(fin) else 1.0
        if target is not None:
            vmax = float(max(2.0 * target, min(nice_ceil(hi), 6.0 * target)))
            cmap = split_cmap(target, vmax)
        else:
            vmax = float(max(1.0, nice_ceil(hi)))
            cmap = matplotlib.colormaps["magma_r"].copy()
        return ColorScale(Normalize(0.0, vmax), cmap.with_extremes(over="#4a0010"),
                          "max" if (uvals[un > 0] > vmax).any() else "neither", target)
    if stat == "share":
        required = required_of(targets, stage)
        return ColorScale(TwoSlopeNorm(vcenter=required, vmin=0.0, vmax=1.0), matplotlib.colormaps["RdBu"].copy(),
                          tick_format=PercentFormatter(1.0, decimals=0), required=required)
    fin = gv.vals[gv.has]
    vmax = max(float(np.quantile(fin, 0.99)) if len(fin) else 1.0, 1e-9)
    return ColorScale(Normalize(0.0, vmax), matplotlib.colormaps["viridis"].copy().with_extremes(over="#fde725"),
                      "max" if (fin > vmax).any() else "neither")


# ============================================================================== raster

def raster(city: Any, res_km: float) -> tuple[np.ndarray, np.ndarray, tuple[float, float, float, float]]:
    """Nearest grid of every pixel (a Voronoi picture of the grids), -1 outside the city."""
    x, y = city.grid_x, city.grid_y
    x0, x1, y0, y1 = x.min() - 3, x.max() + 3, y.min() - 3, y.max() + 3
    nx_, ny_ = int(math.ceil((x1 - x0) / res_km)), int(math.ceil((y1 - y0) / res_km))
    px = x0 + (np.arange(nx_) + 0.5) * res_km
    py = y0 + (np.arange(ny_) + 0.5) * res_km
    gx, gy = np.meshgrid(px, py)
    d, idx = cKDTree(np.c_[x, y]).query(np.c_[gx.ravel(), gy.ravel()])
    radius = np.maximum(2.6 * np.sqrt(city.grid_area / np.pi), 1.2)     # km: keeps the city's outline
    inside = d <= radius[idx]
    outlines = getattr(city, "outlines", None)
    if outlines is not None:          # real boundaries: colour only the divisions' land
        pts = np.c_[gx.ravel(), gy.ravel()]
        on_land = np.zeros(len(pts), dtype=bool)
        for rings in outlines.land:   # even-odd over outer rings and holes, by matplotlib's C point test
            cand = np.flatnonzero(inside & ~on_land)
            hit = np.zeros(len(cand), dtype=bool)
            for ring in rings:
                hit ^= MplPath(ring).contains_points(pts[cand])
            on_land[cand] = hit
        inside &= on_land
    idx = np.where(inside, idx, -1).reshape(ny_, nx_)
    return idx, d.reshape(ny_, nx_), (x0, x0 + nx_ * res_km, y0, y0 + ny_ * res_km)


def _division_edges(city: Any, gi: np.ndarray, inside: np.ndarray) -> np.ndarray:
    """Pixels whose neighbour to any side lies in another division (or outside the city)."""
    div = np.where(inside, city.grid_div[gi], -1)
    edge = np.zeros_like(inside)
    edge[:, :-1] |= div[:, :-1] != div[:, 1:]
    edge[:-1, :] |= div[:-1, :] != div[1:, :]
    edge[:, 1:] |= div[:, 1:] != div[:, :-1]
    edge[1:, :] |= div[1:, :] != div[:-1, :]
    return edge & inside


def grid_image(city: Any, gv: GridValues, scale: ColorScale) -> tuple[np.ndarray, tuple[float, float, float, float]]:
    """RGBA pixels: grid colours, grey for grids without events, dark division boundaries."""
    idx, _, extent = raster(city, res_km=RASTER_KM)
    inside = idx >= 0
    gi = np.where(inside, idx, 0)
    rgba = scale.cmap(scale.norm(np.where(np.isinf(gv.vals), np.inf, gv.vals)[gi]))
    rgba[inside & ~gv.has[gi]] = NO_EVENTS_RGBA
    rgba[~inside] = (1.0, 1.0, 1.0, 0.0)
    if getattr(city, "outlines", None) is None:     # with real outlines those are drawn as lines instead
        rgba[_division_edges(city, gi, inside)] = BOUNDARY_RGBA
    return rgba, extent


# ============================================================================== drawing

def _colorbar(fig: Figure, ax, scale: ColorScale, label: str) -> None:
    sm = ScalarMappable(norm=scale.norm, cmap=scale.cmap)
    cb = fig.colorbar(sm, ax=ax, shrink=0.75, extend=scale.extend, pad=0.01, format=scale.tick_format)
    cb.set_label(label)
    if scale.required is not None:
        cb.ax.axhline(scale.required, color="black", lw=2)
        ticks = sorted([t for t in (0.0, 0.25, 0.5, 0.75, 1.0) if abs(t - scale.required) >= 0.06]
                       + [scale.required])
        cb.set_ticks(ticks, labels=[f"{100 * t:.0f}% (required)" if t == scale.required else f"{100 * t:.0f}%"
                                    for t in ticks])
    target = scale.target
    if target is not None:
        cb.ax.axhline(target, color="black", lw=2)
        vmax = scale.norm.vmax
        ticks = sorted([t for t in cb.get_ticks() if 0 <= t <= vmax and abs(t - target) > 0.04 * vmax] + [target])
        cb.set_ticks(ticks, labels=[f"{t:g} (target)" if t == target else f"{t:g}" for t in ticks])


def _units(ax, city: Any) -> None:
    """Workstations and sub-centers, marked by build status."""
    ws, scs = city.ws_status, city.sc_status
    ax.scatter(city.ws_x[ws == BUILT], city.ws_y[ws == BUILT], s=2, c="#222222", alpha=0.5, linewidths=0, zorder=3)
    ax.scatter(city.ws_x[ws == UNDER_CONSTRUCTION], city.ws_y[ws == UNDER_CONSTRUCTION], s=10,
               facecolors="none", edgecolors="#222222", linewidths=0.6, zorder=3)
    ax.scatter(city.ws_x[ws == NOT_STARTED], city.ws_y[ws == NOT_STARTED], s=50, marker="X",
               c="#d00000", edgecolors="white", linewidths=0.6, zorder=5)
    ax.scatter(city.sc_x[scs == BUILT], city.sc_y[scs == BUILT], s=60, marker="^", c="black",
               edgecolors="white", linewidths=0.7, zorder=6)
    ax.scatter(city.sc_x[scs == UNDER_CONSTRUCTION], city.sc_y[scs == UNDER_CONSTRUCTION], s=60,
               marker="^", facecolors="white", edgecolors="black", linewidths=1.2, zorder=6)
    ax.scatter(city.sc_x[scs == NOT_STARTED], city.sc_y[scs == NOT_STARTED], s=70, marker="^",
               c="#d00000", edgecolors="white", linewidths=0.7, zorder=6)


def _division_names(ax, city: Any) -> None:
    for d, name in enumerate(city.division_names):
        gd = city.grid_div == d
        if gd.any():
            ax.text(float(np.median(city.grid_x[gd])), float(np.median(city.grid_y[gd])), name, ha="center",
                    va="center", fontsize=10.5, fontweight="bold", color="#111111", zorder=8,
                    path_effects=[patheffects.withStroke(linewidth=3.5, foreground="white")])


def _legend(fig: Figure, city: Any, has: np.ndarray) -> None:
    """Marker legend with counts; kinds with none in this city are left out."""
    ws, scs = city.ws_status, city.sc_status
    n_ws = {status: int(np.sum(ws == status)) for status in STATUS_NAMES}
    n_sc = {status: int(np.sum(scs == status)) for status in STATUS_NAMES}
    markers = [  # label, count, marker style (as drawn by _units)
        (f"sub-center {STATUS_NAMES[BUILT]}", n_sc[BUILT], dict(marker="^", color="black", mec="white", ms=8)),
        (f"sub-center {STATUS_NAMES[UNDER_CONSTRUCTION]}", n_sc[UNDER_CONSTRUCTION],
         dict(marker="^", mfc="white", mec="black", ms=8)),
        (f"sub-center {STATUS_NAMES[NOT_STARTED]}", n_sc[NOT_STARTED], dict(marker="^", color="#d00000", ms=8)),
        (f"workstation {STATUS_NAMES[BUILT]}", n_ws[BUILT], dict(marker=".", color="#222222", ms=4)),
        (f"workstation {STATUS_NAMES[UNDER_CONSTRUCTION]}", n_ws[UNDER_CONSTRUCTION],
         dict(marker="o", mfc="none", mec="#222222", ms=4)),
        (f"workstation {STATUS_NAMES[NOT_STARTED]}", n_ws[NOT_STARTED],
         dict(marker="X", color="#d00000", mec="white", ms=8)),
        ("grid without events judged", int((~has).sum()), dict(marker="s", color="#d9d9d9", ms=8)),
    ]
    handles = [Line2D([], [], ls="", label=f"{label} ({n:,})", **style) for label, n, style in markers if n] + \
              [Line2D([], [], color="#262626", lw=1.5, label="division boundary")]
    fig.legend(handles=handles, loc="outside lower center", ncol=4, fontsize=8)


def _pooling_note(gv: GridValues, stat: str, n_grids: int) -> str:
    if stat in ("volume", "n"):
        return f"per grid ({n_grids:,} grids)"
    level = gv.level
    where = "per grid" if level == "grid" else f"per {level} (each grid shows its {level})"
    note = f"{where}; median {gv.median_n:.0f} event(s) judged per {level}"
    if level != "grid":
        note += f" (per grid too few for a stable {stat})" if stat != "share" else " (per grid too few)"
    return note


def map_run(run: RunData, metric: str = "on_scene_p90", city: Any = None, pool: str = "auto") -> Figure:
    """The city: every grid coloured by a metric; sub-centers and workstations by build status.

    `pool`: compute percentiles and shares per "grid", "workstation" or "subcenter" (each grid
    shows its unit's value), or "auto": per grid when the median grid has at least
    POOL_MIN_MEDIAN_N judged events, else the smallest unit that has (a p90 of three events
    is just their maximum). Volumes and counts are always per grid.
    """
    check_map_metric(metric)
    if city is None:
        city = build_city(run.scenario)
    stage, stat = (None, "volume") if metric == "volume" else split_metric(metric)
    gv = pooled_values(run, city, metric, stat, pool)
    scale = color_scale(gv, stage, stat, run.targets)
    rgba, extent = grid_image(city, gv, scale)
    span_x, span_y = extent[1] - extent[0], extent[3] - extent[2]
    with matplotlib.rc_context(STYLE):
        w = 11.0
        fig = new_figure(w, (w - 1.9) * span_y / span_x + 1.9)
        ax = fig.add_subplot()
        ax.imshow(rgba, origin="lower", extent=extent, interpolation="nearest", zorder=1)
        draw_outlines(ax, city, fill=False, labels=False, subcenters=False)   # the real boundaries and the lake
        ax.set_aspect("equal")
        ax.grid(False)
        _colorbar(fig, ax, scale, gv.label)
        _units(ax, city)
        _division_names(ax, city)
        _legend(fig, city, gv.has)
        ax.set_xlabel("east (km)")
        ax.set_ylabel("north (km)")
        ax.set_title(_pooling_note(gv, stat, city.n_grids), loc="left", fontsize=8.5, fontweight="normal",
                     color="#444444")
        suptitle(fig, f"Map: {gv.label}", context(run))
    return fig


# ============================================================================== experiments: difference maps

DIVISION_SEP = "@"
"""runs.parquet names a per-division metric `<stage>.<field>@<division>` (gridsim.studies.columns)."""


def division_means(exp: ExperimentData, metric: str) -> tuple[dict[str, dict[str, float]], str]:
    """Per variant, per division: the mean over replications of a per-division metric
    (`on_scene_share` or `on_scene.share`, read from the `<stage>.<field>@<division>` columns)."""
    stage, stat = split_metric(metric.replace(".", "_"))
    base = f"{stage}.{stat}{DIVISION_SEP}"
    cols = [c for c in exp.runs.columns if c.startswith(base)]
    if not cols:
        raise NotApplicable(f"map: {exp.name} kept no per-division {stage}.{stat}; add \"{stage}.{stat}@*\" to the "
                            f"experiment's metrics (or list one division, e.g. \"{stage}.{stat}@Kunshan\") and run it")
    out = {}
    for v in exp.variants:
        rows = exp.variant_rows(v)
        out[v] = {c[len(base):]: float(np.nanmean(pd.to_numeric(rows[c], errors="coerce").to_numpy(float)))
                  if len(rows) and pd.to_numeric(rows[c], errors="coerce").notna().any() else np.nan for c in cols}
    return out, f"{stage}.{stat}"


def map_experiment(exp: ExperimentData, metric: str = "on_scene_share", city: Any = None) -> Figure:
    """One map per non-baseline variant: each division coloured by the difference of its mean
    per-division metric from the baseline variant's (the first), on a diverging scale centred
    on no change; blue is better (a higher share, a shorter time)."""
    means, col = division_means(exp, metric)
    variants = exp.variants
    if len(variants) < 2:
        raise NotApplicable("map: a difference map needs a baseline and at least one other variant")
    if city is None:
        city = build_city(exp.scenario if exp.scenario is not None else load_scenario(None))
    stage, stat = split_metric(metric.replace(".", "_"))
    better_up = stat == "share"
    base = means[variants[0]]
    diffs = {v: np.array([means[v].get(name, np.nan) - base.get(name, np.nan) for name in city.division_names])
             for v in variants[1:]}
    finite = np.concatenate([d[np.isfinite(d)] for d in diffs.values()]) if diffs else np.array([])
    span = float(np.max(np.abs(finite))) if len(finite) and np.max(np.abs(finite)) > 0 else (0.01 if better_up else 1.0)
    cmap = matplotlib.colormaps["RdBu" if better_up else "RdBu_r"].copy()
    norm = TwoSlopeNorm(vcenter=0.0, vmin=-span, vmax=span)
    unit = "percentage points" if better_up else "min"
    with matplotlib.rc_context(STYLE):
        fig = new_figure(7.0 * len(diffs) + 1.5, 7.5)
        axes = np.atleast_1d(fig.subplots(1, len(diffs)))
        for ax, (v, d) in zip(axes, diffs.items()):
            grid_vals = d[city.grid_div]
            gv = GridValues(grid_vals, np.isfinite(grid_vals), d, np.isfinite(d).astype(int), col, "division", 0.0)
            rgba, extent = grid_image(city, gv, ColorScale(norm, cmap))
            ax.imshow(rgba, origin="lower", extent=extent, interpolation="nearest")
            draw_outlines(ax, city, fill=False, labels=False, subcenters=False)
            ax.set_aspect("equal")
            ax.grid(False)
            _division_names(ax, city)
            ax.set_title(f"{v} minus {variants[0]}", loc="left")
            ax.set_xlabel("east (km)")
        axes[0].set_ylabel("north (km)")
        cb = fig.colorbar(ScalarMappable(norm=norm, cmap=cmap), ax=list(axes), shrink=0.7, pad=0.01)
        if better_up:
            cb.ax.yaxis.set_major_formatter(FuncFormatter(lambda x, _: f"{100 * x:+.1f}"))
        cb.set_label(f"difference in mean {col} per division ({unit}; blue: better)")
        suptitle(fig, f"Map: change in {col} by division against the baseline variant {variants[0]}", context(exp))
    return fig
