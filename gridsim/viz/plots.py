"""Figures from saved results: a run directory or an experiment directory, never a live model.

A *run directory* (`gridsim run --out DIR`) holds `events.parquet`, `summary.json` and the
resolved `scenario.toml`; an *experiment directory* (`gridsim batch`) holds `runs.parquet`
(one row per run, see `ExperimentData`), `summary.csv`, the experiment file and the resolved
scenarios. `load_results` tells them apart by which files exist.

Every figure function takes data (a `RunData` / `ExperimentData`, or plain tables) and returns
a `matplotlib.figure.Figure`; nothing here touches pyplot's global state, so figures are
garbage-collected and the Agg renderer is used for PNG output. `save_figures` writes
`DIR/figures/<kind>.<fmt>`.

Figure kinds (KINDS):
    ecdf         time to respond / on scene / regional support / cordon, target lines
    hist         on-scene time by event category (runs)
    divisions    share meeting each target by division, 95 % Wilson CI (runs)
    hourly       volume and on-scene share by hour of day (runs)
    map          grids coloured by a per-grid metric, units by build status (runs)
    staffing     metrics against a swept numeric factor, mean and 95 % CI (experiments)
    utilisation  busy share by role and hour (runs) / by role and variant (experiments)
"""

from __future__ import annotations

import json
import math
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

import matplotlib
import numpy as np
import pandas as pd
from matplotlib import patheffects
from matplotlib.colors import Normalize
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import FuncFormatter, MaxNLocator, PercentFormatter
from scipy import stats as sps

from gridsim.analysis.metrics import STAGES, _group_percentiles, mean_ci, stage_elapsed, stage_table, stage_table_by
from gridsim.scenario import SOURCES, Scenario, load_scenario

TARGET_STAGES = ("respond", "on_scene", "support", "cordon")
PCT_STATS = ("p50", "p90", "p95", "p99")
ALL_STAGES = tuple(STAGES)
ROLES = ("police", "fulltime", "leader", "parttime")
SOURCES = ("110", "12345", "grid")
KINDS = ("ecdf", "hist", "divisions", "hourly", "map", "staffing", "utilisation")
RUN_KINDS = ("ecdf", "hist", "divisions", "hourly", "map", "utilisation")
EXPERIMENT_KINDS = ("ecdf", "staffing", "utilisation")
FORMATS = ("png", "svg", "pdf")
ECDF_GRID = np.round(np.arange(0.0, 60.0 + 1e-9, 0.5), 10)   # the runs.parquet `ecdf.<stage>` grid (min)

TARGET_KEY = {"respond": "response_min", "on_scene": "on_scene_min", "support": "support_min",
              "cordon": "cordon_min"}
STAGE_TITLE = {
    "respond": "Respond: call to unit dispatched",
    "on_scene": "On scene: call to first unit arriving",
    "support": "Regional support: call to last support unit on scene",
    "cordon": "City-wide cordon: call to last checkpoint reached",
    "register_dispatch": "Work order registered and dispatched",
    "verify": "Work order verified on site",
    "close": "Work order closed",
}
STAGE_SHORT = {"respond": "respond", "on_scene": "on scene", "support": "regional support",
               "cordon": "cordon", "register_dispatch": "WO dispatched", "verify": "WO verified",
               "close": "WO closed"}
ROLE_LABEL = {"police": "police patrol units", "fulltime": "full-time grid workers",
              "leader": "grid leaders", "parttime": "part-time grid workers"}
SOURCE_LABEL = {"110": "110 police incidents", "12345": "12345 work orders", "grid": "grid patrol reports"}

# One style for every figure: applied with rc_context while a figure is built.
PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22",
           "#7f7f7f", "#d62728"]
ROLE_COLOR = {"police": "#1f4e9c", "fulltime": "#2a9d3f", "leader": "#e08214", "parttime": "#8e5db5"}
SOURCE_COLOR = {"110": "#1f4e9c", "12345": "#e08214", "grid": "#2a9d3f"}
TARGET_COLOR = "#c62828"
REF_COLOR = "#555555"
STYLE = {
    "font.size": 9.5,
    "axes.titlesize": 10.5,
    "axes.titleweight": "bold",
    "axes.labelsize": 9.5,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.color": "#e3e3e3",
    "grid.linewidth": 0.7,
    "axes.axisbelow": True,
    "legend.frameon": False,
    "legend.fontsize": 8.5,
    "figure.titlesize": 12.5,
    "figure.titleweight": "bold",
    "xtick.labelsize": 8.5,
    "ytick.labelsize": 8.5,
    "axes.prop_cycle": matplotlib.cycler(color=PALETTE),
    "svg.fonttype": "none",
}
DPI = 130
MAP_METRICS_HELP = ("<stage>_<stat> with stage in " + ", ".join(ALL_STAGES) +
                    " and stat in share, p50, p90, p95, p99, n; or volume (events per day)")

CAPTIONS = {
    "ecdf": "Cumulative share of judged events reached within x minutes of the call, per target stage "
            "(respond: unit dispatched; on scene: first unit arrives; regional support: last support unit "
            "on scene; cordon: last checkpoint reached). The dashed red line is the scenario's target; the "
            "share meeting it is annotated. Events after the warm-up only; events still open past their "
            "target at the end of the run count as misses (the curve stays below 100 %). For experiments: "
            "mean curve per variant with a 95 % t-interval band over replications.",
    "hist": "On-scene time (call to first unit on scene) by event category, for the categories the "
            "on-scene target applies to (all 110 incidents and urgent work orders). Bars: share of the "
            "category's judged events per 1-minute bin; dashed red line: the target. Events beyond the "
            "axis or never reached are counted in each panel's note.",
    "divisions": "Share of events meeting each target by division with 95 % Wilson intervals; the grey "
                 "dashed line is the city-wide share. n = events judged.",
    "hourly": "Top: events per day by hour of day of the call and source (after warm-up, divided by the "
              "number of counted days of that hour). Bottom: share on scene within the target by hour of "
              "day with 95 % Wilson intervals; grey dashed line: the whole-run share.",
    "map": "Every grid at its centroid, marker area about the grid's area, coloured by the chosen per-grid "
           "metric (grey: no events judged there). Triangles: sub-centers; small marks: workstations, by "
           "build status. Planar km around Suzhou's reference point.",
    "staffing": "Each metric against a swept numeric factor: mean over replications (points) with a 95 % "
                "t-interval band. Top row: share meeting the target (dotted: 90 %); bottom row: 90th "
                "percentile time with the target (dashed red): where p90 falls below the target, 90 % of "
                "events meet it.",
    "utilisation": "Runs: (a) busy share by role and hour of day from the events table: minutes each role "
                   "spent as first responder (dispatch to end of on-scene handling) divided by the role's "
                   "on-duty minutes in that hour (scenario shifts); hours when a role is off duty are blank. "
                   "Whole-run busy share over all tasks (incl. verification, co-response, support) as the "
                   "model counted it is marked at the right. (b) The model's hourly samples from "
                   "summary.json: responders busy and tasks waiting. Experiments: whole-run busy share by "
                   "role per variant, mean and 95 % CI over replications (runs.parquet has no hourly data).",
}


class NotAResultsDir(ValueError):
    """The directory is neither a run nor an experiment directory."""


class NotApplicable(ValueError):
    """The figure kind does not apply to this directory's data."""


# ============================================================================== data

@dataclass
class RunData:
    """One run: its events table, summary.json and resolved scenario."""

    events: pd.DataFrame
    summary: dict
    scenario: Scenario
    dir: Path | None = None

    @classmethod
    def load(cls, path: str | Path) -> "RunData":
        p = Path(path)
        events = pd.read_parquet(p / "events.parquet")
        summary = json.loads((p / "summary.json").read_text(encoding="utf-8"))
        scen_path = p / "scenario.toml"
        scenario = load_resolved_scenario(scen_path) if scen_path.exists() else load_scenario(None)
        return cls(events=events, summary=summary, scenario=scenario, dir=p)

    @classmethod
    def from_result(cls, result: Any, scenario: Scenario) -> "RunData":
        """From a `gridsim.results.run.RunResult` in memory (no files needed)."""
        return cls(events=result.events, summary=result.summary, scenario=scenario)

    @property
    def kind(self) -> str:
        return "run"

    @property
    def targets(self) -> dict:
        return dict(self.summary.get("targets") or self.scenario["targets"])

    @property
    def horizon_min(self) -> float:
        return float(self.summary.get("horizon_min") or self.scenario["run"]["days"] * 1440.0)

    @property
    def warmup_min(self) -> float:
        return float(self.summary.get("warmup_hours", self.scenario["run"]["warmup_hours"])) * 60.0

    @property
    def days(self) -> float:
        return float(self.summary.get("days", self.scenario["run"]["days"]))

    @property
    def name(self) -> str:
        return str(self.summary.get("scenario") or self.scenario.name)

    @property
    def context(self) -> str:
        """What the title says about the run: scenario, days, warm-up, seed."""
        wh = self.warmup_min / 60.0
        return (f"{self.name}, {_days(self.days)} (first {wh:g} h excluded), "
                f"seed {self.summary.get('seed', self.scenario['run']['seed'])}")

    def elapsed(self, stage: str) -> pd.DataFrame:
        return stage_elapsed(self.events, stage, self.targets, self.horizon_min, self.warmup_min)


@dataclass
class ExperimentData:
    """An experiment's runs.parquet (one row per run), with its experiment file and a scenario.

    runs.parquet columns: experiment, variant, replication, seed, status ("ok" | "failed"),
    error, wall_s; one column per swept factor named by its dotted scenario key; per stage
    `<stage>.n/.share/.ci_low/.ci_high/.p50/.p90/.p95/.p99`; `util.<role>`; `volume.<key>`;
    `queue.<key>`; `ecdf.<stage>` (list of shares on the 0, 0.5, ..., 60 min grid).
    """

    runs: pd.DataFrame
    dir: Path | None = None
    config: dict = field(default_factory=dict)
    config_path: Path | None = None
    scenario: Scenario | None = None
    summary_table: pd.DataFrame | None = None

    @classmethod
    def load(cls, path: str | Path) -> "ExperimentData":
        p = Path(path)
        runs = pd.read_parquet(p / "runs.parquet")
        tomls = sorted(p.glob("*.toml")) + sorted(p.glob("scenarios/*.toml"))
        config, config_path = {}, None
        for f in ([p / "experiment.toml"] if (p / "experiment.toml").is_file() else []) + tomls:
            try:
                raw = tomllib.loads(f.read_text(encoding="utf-8"))
            except (OSError, tomllib.TOMLDecodeError):
                continue
            if "targets" not in raw:
                config, config_path = raw, f
                break
        scenario = None
        first = str(runs["variant"].iloc[0]) if "variant" in runs.columns and len(runs) else None
        candidates = ([p / "scenarios" / f"{first}.toml"] if first else []) + tomls
        for f in candidates:
            if f.is_file() and f != config_path:
                try:
                    scenario = load_resolved_scenario(f)
                    break
                except Exception:       # not a scenario: try the next file
                    continue
        summary = None
        if (p / "summary.csv").exists():
            try:
                summary = pd.read_csv(p / "summary.csv")
            except Exception:
                summary = None
        return cls(runs=runs, dir=p, config=config, config_path=config_path, scenario=scenario,
                   summary_table=summary)

    @property
    def kind(self) -> str:
        return "experiment"

    @property
    def ok(self) -> pd.DataFrame:
        if "status" not in self.runs.columns:
            return self.runs
        return self.runs[self.runs["status"] == "ok"]

    @property
    def name(self) -> str:
        if "experiment" in self.runs.columns and len(self.runs):
            return str(self.runs["experiment"].iloc[0])
        for k in ("name", "experiment"):
            if isinstance(self.config.get(k), str):
                return self.config[k]
        return self.dir.name if self.dir else "experiment"

    @property
    def factors(self) -> list[str]:
        """Swept factors: dotted columns that are not metrics (their first part is a scenario section)."""
        metric_prefixes = set(ALL_STAGES) | set(SOURCES) | {"util", "volume", "queue", "ecdf"}
        return [c for c in self.runs.columns if "." in c and c.split(".")[0] not in metric_prefixes]

    @property
    def numeric_factors(self) -> list[str]:
        out = []
        for c in self.factors:
            v = pd.to_numeric(self.ok[c], errors="coerce") if c in self.ok else pd.Series(dtype=float)
            if len(v) and v.notna().all() and v.nunique() >= 2 and not pd.api.types.is_bool_dtype(self.ok[c]):
                out.append(c)
        return out

    @property
    def variants(self) -> list[str]:
        """Variant names in the order they first appear."""
        if "variant" not in self.runs.columns:
            return ["all"]
        return list(dict.fromkeys(self.runs["variant"].astype(str)))

    def variant_rows(self, variant: str) -> pd.DataFrame:
        ok = self.ok
        if "variant" not in ok.columns:
            return ok
        return ok[ok["variant"].astype(str) == variant]

    @property
    def targets(self) -> dict:
        if self.scenario is not None:
            return dict(self.scenario["targets"])
        return dict(load_scenario(None)["targets"])

    @property
    def days(self) -> float | None:
        for c in ("run.days", "days"):
            if c in self.ok.columns and self.ok[c].nunique() == 1:
                return float(self.ok[c].iloc[0])
        found = _find_key(self.config, "days")
        if isinstance(found, (int, float)):
            return float(found)
        if self.scenario is not None:
            return float(self.scenario["run"]["days"])
        return None

    @property
    def replications(self) -> int:
        if "replication" in self.ok.columns and len(self.ok):
            return int(self.ok["replication"].nunique())
        return len(self.ok)

    @property
    def context(self) -> str:
        parts = [f"experiment {self.name}", f"{len(self.variants)} variant(s) x {self.replications} replication(s)"]
        if self.days is not None:
            parts.append(_days(self.days))
        seeds = sorted(set(self.ok["seed"].dropna().astype(int))) if "seed" in self.ok.columns else []
        root = _find_key(self.config, "seed")
        if isinstance(root, int):
            parts.append(f"seed {root}")
        elif len(seeds) == 1:
            parts.append(f"seed {seeds[0]}")
        elif seeds:
            parts.append(f"seeds {seeds[0]}..{seeds[-1]}")
        return ", ".join(parts)


def load_resolved_scenario(path: str | Path) -> Scenario:
    """A resolved scenario.toml; one written by an older gridsim (keys missing that the schema
    has since gained) is read on top of the built-in defaults instead of being refused."""
    try:
        return load_scenario(path)
    except Exception as exc:
        if "missing" not in str(exc):
            raise
    raw = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    raw.pop("extends", None)
    base = load_scenario(None)
    leaves = {}

    def walk(d: dict, prefix: str) -> None:
        for k, v in d.items():
            if isinstance(v, dict):
                walk(v, f"{prefix}{k}.")
            else:
                leaves[f"{prefix}{k}"] = v
    walk(raw, "")
    scen = base.copy_with(leaves, origin=str(path))
    scen.path = str(path)
    return scen


def _find_key(d: Any, key: str) -> Any:
    """First value of `key` in a nested dict (top level first)."""
    if not isinstance(d, dict):
        return None
    if key in d:
        return d[key]
    for v in d.values():
        found = _find_key(v, key)
        if found is not None:
            return found
    return None


def _days(d: float) -> str:
    return f"{d:g} day" + ("" if d == 1 else "s")


def detect_kind(path: str | Path) -> str | None:
    """'experiment' (runs.parquet), 'run' (events.parquet + summary.json) or None."""
    p = Path(path)
    if (p / "runs.parquet").is_file():
        return "experiment"
    if (p / "events.parquet").is_file() and (p / "summary.json").is_file():
        return "run"
    return None


def load_results(path: str | Path) -> RunData | ExperimentData:
    """Load a run or experiment directory; NotAResultsDir if it is neither."""
    p = Path(path)
    kind = detect_kind(p)
    if kind is None:
        what = "does not exist" if not p.exists() else "is neither a run directory (events.parquet + summary.json) " \
                                                       "nor an experiment directory (runs.parquet)"
        raise NotAResultsDir(f"{path}: {what}")
    return RunData.load(p) if kind == "run" else ExperimentData.load(p)


def kinds_for(data: RunData | ExperimentData) -> tuple[str, ...]:
    """The figure kinds that apply to this data (what `gridsim plot DIR` makes by default)."""
    if isinstance(data, RunData):
        return RUN_KINDS
    kinds = ["ecdf"]
    if data.numeric_factors:
        kinds.append("staffing")
    if any(f"util.{r}" in data.runs.columns for r in ROLES):
        kinds.append("utilisation")
    return tuple(kinds)


# ============================================================================== helpers

def _figure(w: float, h: float) -> Figure:
    return Figure(figsize=(w, h), layout="constrained")


def _title(fig: Figure, what: str, context: str) -> None:
    fig.suptitle(f"{what}\n{context}", fontsize=12)


def _pct_axis(ax, axis: str = "y") -> None:
    fmt = PercentFormatter(1.0, decimals=0)
    (ax.yaxis if axis == "y" else ax.xaxis).set_major_formatter(fmt)


def _fmt_pct(v: float, digits: int = 1) -> str:
    return "-" if v is None or not np.isfinite(v) else f"{100 * v:.{digits}f}%"


def _nice_ceil(x: float, step: float = 5.0) -> float:
    return step * math.ceil(x / step - 1e-9)


def _no_data(ax, text: str = "no events judged") -> None:
    ax.text(0.5, 0.5, text, transform=ax.transAxes, ha="center", va="center", color="#888888", fontsize=10)


def _target(targets: dict, stage: str) -> float:
    return float(targets[TARGET_KEY[stage]])


def _ecdf_xmax(target: float, q97: float) -> float:
    """Panel width: at least 2x the target, enough to show 97 % of events, at most 60 min."""
    hi = q97 if np.isfinite(q97) else 60.0
    return float(min(60.0, max(2.0 * target, _nice_ceil(hi * 1.05))))


def _hour_exposure(horizon_min: float, warmup_min: float) -> np.ndarray:
    """Counted days of each hour of day (0-23) in [warm-up, horizon): the divisor for per-day volumes."""
    out = np.zeros(24)
    for d in range(int(math.ceil(horizon_min / 1440.0))):
        for h in range(24):
            a = d * 1440.0 + h * 60.0
            out[h] += max(0.0, min(a + 60.0, horizon_min) - max(a, warmup_min)) / 60.0
    return out


def _t_band(mat: np.ndarray, level: float = 0.95) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Column-wise mean and t-interval over rows (replications); NaN band for one row."""
    mat = np.asarray(mat, dtype=float)
    n = mat.shape[0]
    m = np.nanmean(mat, axis=0) if n else np.full(mat.shape[1], np.nan)
    if n < 2:
        return m, np.full_like(m, np.nan), np.full_like(m, np.nan)
    half = sps.t.ppf(0.5 + level / 2.0, n - 1) * np.std(mat, axis=0, ddof=1) / math.sqrt(n)
    return m, m - half, m + half


def _ecdf_matrix(rows: pd.DataFrame, col: str) -> np.ndarray:
    """(replications, 121) array of a runs.parquet `ecdf.<stage>` list column; rows without data dropped."""
    out = []
    for v in rows[col] if col in rows.columns else []:
        if v is None:
            continue
        a = np.asarray(v, dtype=float)
        if a.shape == ECDF_GRID.shape and np.isfinite(a).any():
            out.append(a)
    return np.vstack(out) if out else np.empty((0, len(ECDF_GRID)))


def _sweep_values(exp: ExperimentData) -> dict[str, float] | None:
    """Each variant's value of the first numeric factor, when the variants are a sweep of it
    (one distinct value per variant); else None."""
    nf = exp.numeric_factors
    if not nf:
        return None
    vals = {v: pd.to_numeric(exp.variant_rows(v)[nf[0]], errors="coerce").mean() for v in exp.variants}
    if any(not np.isfinite(x) for x in vals.values()) or len(set(vals.values())) != len(vals):
        return None
    return vals


def _variant_order(exp: ExperimentData) -> list[str]:
    """Variants sorted by the swept factor when they are a sweep, else in file order."""
    vals = _sweep_values(exp)
    return sorted(exp.variants, key=lambda v: vals[v]) if vals else exp.variants


def _variant_colors(exp: ExperimentData) -> dict[str, Any]:
    """Sequential colours along a swept factor (3+ variants), else the palette."""
    variants = exp.variants
    if _sweep_values(exp) is not None and len(variants) > 2:
        order = _variant_order(exp)
        cmap = matplotlib.colormaps["viridis"]
        return {v: cmap(0.05 + 0.85 * i / max(1, len(order) - 1)) for i, v in enumerate(order)}
    return {v: PALETTE[i % len(PALETTE)] for i, v in enumerate(variants)}


def _key_note(dotted: str) -> str:
    """The built-in scenario's comment for a key, first clause only (used for axis labels)."""
    from gridsim.viz.report import scenario_notes     # local import: report imports this module
    from gridsim.scenario import builtin_path
    try:
        note = scenario_notes(builtin_path()).get(dotted, "")
    except OSError:
        note = ""
    return note.split(";")[0].strip()


# ============================================================================== ecdf

def ecdf_run(run: RunData) -> Figure:
    """4 panels: ECDF of time to respond / on scene / support / cordon, target lines and shares."""
    with matplotlib.rc_context(STYLE):
        fig = _figure(12, 7.6)
        axes = fig.subplots(2, 2)
        for ax, stage in zip(axes.ravel(), TARGET_STAGES):
            target = _target(run.targets, stage)
            el = run.elapsed(stage)["elapsed"].to_numpy(dtype=float)
            n = len(el)
            ax.set_title(STAGE_TITLE[stage], loc="left")
            if n == 0:
                xmax = 2 * target
                _no_data(ax)
            else:
                fin = np.sort(el[np.isfinite(el)])
                q97 = np.quantile(el, 0.97, method="lower") if np.isfinite(np.quantile(el, 0.97, method="lower")) else np.inf
                xmax = _ecdf_xmax(target, q97)
                y = np.arange(1, len(fin) + 1) / n
                xs = np.r_[0.0, fin, max(xmax, fin[-1] if len(fin) else 0.0)]
                ys = np.r_[0.0, y, y[-1] if len(y) else 0.0]
                ax.step(xs, ys, where="post", color=PALETTE[0], lw=1.8, label="events judged")
                share = float(np.mean(el <= target))
                _annotate_share(ax, target, share, n, xmax)
                censored = int(np.sum(~np.isfinite(el)))
                beyond = int(np.sum(np.isfinite(el) & (el > xmax)))
                notes = []
                if beyond:
                    notes.append(f"{_fmt_pct(beyond / n)} take longer than {xmax:g} min")
                if censored:
                    notes.append(f"{_fmt_pct(censored / n)} not reached by the end of the run")
                if notes:
                    ax.text(0.98, 0.04, "\n".join(notes), transform=ax.transAxes, ha="right", va="bottom",
                            fontsize=8, color="#444444")
            _finish_ecdf_axis(ax, target, xmax)
        _title(fig, "Time from call to each target stage (cumulative share of events)", run.context)
    return fig


def _finish_ecdf_axis(ax, target: float, xmax: float) -> None:
    """Target line, limits and labels shared by the run and experiment ECDF panels."""
    ax.axvline(target, color=TARGET_COLOR, ls="--", lw=1.4, label=f"target {target:g} min")
    ax.set_xlim(0, xmax)
    ax.set_ylim(0, 1.02)
    _pct_axis(ax)
    ax.set_xlabel("minutes from the call")
    ax.set_ylabel("share of events reached")


def _annotate_share(ax, target: float, share: float, n: int, xmax: float) -> None:
    ax.plot([0, target], [share, share], color=TARGET_COLOR, lw=0.8, ls=":")
    ax.plot([target], [share], "o", color=TARGET_COLOR, ms=5, zorder=5)
    right = target < 0.6 * xmax
    ax.annotate(f"{_fmt_pct(share)} within {target:g} min\n(n = {n:,})", xy=(target, share),
                xytext=(8 if right else -8, -4 if share > 0.5 else 10), textcoords="offset points",
                ha="left" if right else "right", va="top" if share > 0.5 else "bottom",
                fontsize=9, color=TARGET_COLOR, fontweight="bold",
                path_effects=[patheffects.withStroke(linewidth=3, foreground="white")])


def ecdf_experiment(exp: ExperimentData) -> Figure:
    """4 panels: per variant the mean ECDF over replications with a 95 % CI band, target lines."""
    colors = _variant_colors(exp)
    legend_order = _variant_order(exp)
    targets = exp.targets
    with matplotlib.rc_context(STYLE):
        fig = _figure(12, 8.2)
        axes = fig.subplots(2, 2)
        for ax, stage in zip(axes.ravel(), TARGET_STAGES):
            target = _target(targets, stage)
            ax.set_title(STAGE_TITLE[stage], loc="left")
            xmax = 2 * target
            drawn = 0
            for v in exp.variants:
                rows = exp.variant_rows(v)
                mat = _ecdf_matrix(rows, f"ecdf.{stage}")
                if len(mat) == 0:
                    continue
                m, lo, hi = _t_band(mat)
                reach = np.nonzero(m >= 0.97)[0]
                xmax = max(xmax, _ecdf_xmax(target, ECDF_GRID[reach[0]] if len(reach) else np.inf))
                share_col = f"{stage}.share"
                share = float(pd.to_numeric(rows[share_col], errors="coerce").mean()) if share_col in rows \
                    else float(np.interp(target, ECDF_GRID, m))
                ax.plot(ECDF_GRID, m, color=colors[v], lw=1.7, label=f"{v}: {_fmt_pct(share)}")
                if np.isfinite(lo).any():
                    ax.fill_between(ECDF_GRID, np.clip(lo, 0, 1), np.clip(hi, 0, 1),
                                    color=colors[v], alpha=0.18, lw=0)
                drawn += 1
            if not drawn:
                _no_data(ax)
            _finish_ecdf_axis(ax, target, xmax)
            if drawn:
                handles, labels = ax.get_legend_handles_labels()
                first = {lab.split(": ")[0]: i for i, lab in enumerate(labels)}
                order = [i for i, lab in enumerate(labels) if lab.startswith("target")] + \
                        [first[v] for v in legend_order if v in first]
                ax.legend([handles[i] for i in order], [labels[i] for i in order],
                          title=f"variant: share within {target:g} min", loc="lower right", fontsize=8,
                          title_fontsize=8)
        _title(fig, "Time from call to each target stage, per variant (mean, band: 95 % CI over replications)",
               exp.context)
    return fig


# ============================================================================== hist

def hist_run(run: RunData, bin_min: float = 1.0) -> Figure:
    """Histograms of on-scene time by event category (small multiples), target line."""
    target = _target(run.targets, "on_scene")
    el = run.elapsed("on_scene")
    cats = run.events.set_index("event_id").loc[el["event_id"], ["category", "source"]]
    el = el.assign(category=cats["category"].astype(str).to_numpy(), source=cats["source"].astype(str).to_numpy())
    order = [c for c in pd.unique(run.events["category"].astype(str)) if (el["category"] == c).any()]
    # order: by source then volume
    order.sort(key=lambda c: (SOURCES.index(el.loc[el["category"] == c, "source"].iloc[0])
                              if el.loc[el["category"] == c, "source"].iloc[0] in SOURCES else 9,
                              -int((el["category"] == c).sum())))
    fin = el["elapsed"].to_numpy()
    q = np.quantile(fin, 0.95) if len(fin) else np.inf
    xmax = float(min(60.0, max(4 * target, _nice_ceil(q if np.isfinite(q) else 60.0, 10))))
    bins = np.arange(0, xmax + bin_min / 2, bin_min)
    ncol = 4 if len(order) > 6 else 3
    nrow = max(1, math.ceil(len(order) / ncol))
    with matplotlib.rc_context(STYLE):
        fig = _figure(3.4 * ncol, 2.5 * nrow + 1.0)
        axes = np.atleast_1d(fig.subplots(nrow, ncol, sharex=True, sharey=True)).ravel()
        for ax, cat in zip(axes, order):
            sub = el[el["category"] == cat]
            x = sub["elapsed"].to_numpy()
            n = len(x)
            src = sub["source"].iloc[0]
            w = np.full(n, 1.0 / n)
            ax.hist(np.clip(x[np.isfinite(x)], 0, None), bins=bins, weights=w[np.isfinite(x)],
                    color=SOURCE_COLOR.get(src, PALETTE[0]), alpha=0.85)
            ax.axvline(target, color=TARGET_COLOR, ls="--", lw=1.3)
            share = float(np.mean(x <= target))
            ax.set_title(f"{cat} ({src})", loc="left", fontsize=9.5)
            over = int(np.sum(x > xmax))
            note = f"n = {n:,}\n{_fmt_pct(share)} within {target:g} min"
            if over:
                note += f"\n{_fmt_pct(over / n)} beyond {xmax:g} min"
            ax.text(0.97, 0.95, note, transform=ax.transAxes, ha="right", va="top", fontsize=8,
                    path_effects=[patheffects.withStroke(linewidth=3, foreground="white")])
        for ax in axes[len(order):]:
            ax.set_visible(False)
        for ax in axes[:len(order)]:
            _pct_axis(ax)
            ax.tick_params(labelbottom=True)
        for i in range(nrow):
            axes[i * ncol].set_ylabel(f"share per {bin_min:g}-min bin")
        for ax in axes[:len(order)][-ncol:]:
            ax.set_xlabel("on-scene time (min from the call)")
        ax0 = axes[0]
        ax0.set_xlim(0, xmax)
        handles = [Line2D([], [], color=TARGET_COLOR, ls="--", label=f"target {target:g} min")] + \
                  [Line2D([], [], color=SOURCE_COLOR[s], lw=6, label=SOURCE_LABEL[s]) for s in SOURCES
                   if (el["source"] == s).any()]
        fig.legend(handles=handles, loc="outside lower center", ncol=len(handles))
        _title(fig, "On-scene time by event category (110 incidents and urgent work orders)", run.context)
    if not order:
        with matplotlib.rc_context(STYLE):
            _no_data(axes[0])
    return fig


# ============================================================================== divisions

def divisions_run(run: RunData) -> Figure:
    """Share meeting each target by division, bars with 95 % Wilson CI, city-wide reference line."""
    tab = stage_table_by(run.events, "division", run.targets, run.horizon_min, run.warmup_min)
    city = stage_table(run.events, run.targets, run.horizon_min, run.warmup_min)
    divs = [d.name for d in run.scenario.divisions] or list(pd.unique(tab["division"]))
    divs = [d for d in divs if d in set(tab["division"].astype(str))]
    with matplotlib.rc_context(STYLE):
        fig = _figure(14, 0.42 * len(divs) + 2.4)
        axes = fig.subplots(1, 4, sharey=True)
        yy = np.arange(len(divs))
        for ax, stage in zip(axes, TARGET_STAGES):
            target = _target(run.targets, stage)
            t = tab[tab["stage"] == stage].set_index(tab[tab["stage"] == stage]["division"].astype(str)).reindex(divs)
            share = t["share"].to_numpy(dtype=float)
            lo = t["ci_low"].to_numpy(dtype=float)
            hi = t["ci_high"].to_numpy(dtype=float)
            n = t["n"].fillna(0).to_numpy(dtype=int)
            ok = n > 0
            ax.barh(yy[ok], share[ok], color=PALETTE[0], alpha=0.8, height=0.65)
            err = np.clip([share[ok] - lo[ok], hi[ok] - share[ok]], 0, None)   # rounding at 0 % / 100 %
            ax.errorbar(share[ok], yy[ok], xerr=err, fmt="none",
                        ecolor="#222222", elinewidth=1, capsize=2.5)
            cs = city[stage]["share"]
            sub = "no events judged"
            if cs is not None and np.isfinite(cs):
                ax.axvline(cs, color=REF_COLOR, ls="--", lw=1.1)
                sub = f"city-wide (dashed): {_fmt_pct(cs)} of {city[stage]['n']:,}"
            for y, k, s in zip(yy, n, share):
                ax.text(1.03, y, f"n={k:,}" if k else "no events", va="center", ha="left", fontsize=7.5,
                        color="#444444", transform=ax.get_yaxis_transform())
            ax.set_xlim(0, 1.0)
            _pct_axis(ax, "x")
            ax.set_title(f"{STAGE_SHORT[stage]} <= {target:g} min\n", loc="left")
            ax.text(0, 1.01, sub, transform=ax.transAxes, fontsize=8, color="#444444", va="bottom")
            ax.set_xlabel("share of events meeting the target")
            ax.grid(axis="y", visible=False)
        axes[0].set_yticks(yy, divs)
        axes[0].invert_yaxis()
        _title(fig, "Share meeting each target by division (bars: share, whiskers: 95 % Wilson CI)", run.context)
    return fig


# ============================================================================== hourly

def hourly_run(run: RunData) -> Figure:
    """Events per day and on-scene share by hour of day (two panels)."""
    ev = run.events
    t = ev["t_call"].to_numpy(dtype=float)
    counted = t >= run.warmup_min
    hour = (np.floor(t[counted] / 60.0) % 24).astype(int)
    src = ev["source"].astype(str).to_numpy()[counted]
    expo = _hour_exposure(run.horizon_min, run.warmup_min)
    target = _target(run.targets, "on_scene")
    tab = stage_table_by(ev, "hour", run.targets, run.horizon_min, run.warmup_min)
    tab = tab[tab["stage"] == "on_scene"].set_index("hour").reindex(range(24))
    overall = stage_table(ev, run.targets, run.horizon_min, run.warmup_min)["on_scene"]["share"]
    hours = np.arange(24)
    with matplotlib.rc_context(STYLE):
        fig = _figure(11, 7.4)
        ax1, ax2 = fig.subplots(2, 1, sharex=True, height_ratios=[1.1, 1])
        bottom = np.zeros(24)
        for s in SOURCES:
            cnt = np.bincount(hour[src == s], minlength=24).astype(float)
            with np.errstate(invalid="ignore", divide="ignore"):
                per_day = np.where(expo > 0, cnt / np.maximum(expo, 1e-12), np.nan)
            ax1.bar(hours + 0.5, per_day, width=0.85, bottom=bottom, color=SOURCE_COLOR[s], label=SOURCE_LABEL[s])
            bottom = bottom + np.nan_to_num(per_day)
        ax1.set_ylabel("events per day (in that hour)")
        ax1.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}"))
        ax1.legend(loc="upper left", ncol=1)
        ax1.set_title("Volume by hour of day of the call", loc="left")
        share = tab["share"].to_numpy(dtype=float)
        lo, hi = tab["ci_low"].to_numpy(dtype=float), tab["ci_high"].to_numpy(dtype=float)
        ax2.fill_between(np.r_[hours, 24], np.r_[lo, lo[-1]], np.r_[hi, hi[-1]], step="post",
                         color=PALETTE[0], alpha=0.2, lw=0, label="95 % Wilson CI")
        ax2.step(np.r_[hours, 24], np.r_[share, share[-1]], where="post", color=PALETTE[0], lw=1.8,
                 label=f"share on scene within {target:g} min")
        if overall is not None and np.isfinite(overall):
            ax2.axhline(overall, color=REF_COLOR, ls="--", lw=1.1, label=f"whole run {_fmt_pct(overall)}")
        ax2.set_ylim(0, 1.0)
        _pct_axis(ax2)
        ax2.set_ylabel(f"share on scene <= {target:g} min")
        ax2.set_title(f"On-scene target ({target:g} min) by hour of day", loc="left")
        ax2.legend(loc="lower left", ncol=3)
        ax2.set_xlim(0, 24)
        ax2.set_xticks(range(0, 25, 2), [f"{h:02d}:00" for h in range(0, 25, 2)])
        ax2.set_xlabel("hour of day of the call (local time)")
        _title(fig, "Volume and on-scene target by hour of day", run.context)
    return fig


# ============================================================================== map

POOL_LEVELS = {"grid": "grid_id", "workstation": "workstation_id", "subcenter": "subcenter_id"}
POOL_MIN_MEDIAN_N = 10     # "auto" pools grids until the median unit has at least this many events


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
    stage, stat = _split_metric(metric)
    el = run.elapsed(stage)
    uid = ev.set_index("event_id").loc[el["event_id"], col].to_numpy()
    n = np.bincount(uid, minlength=n_units)
    if stat == "n":
        return n.astype(float), n, f"{STAGE_SHORT[stage]}: events judged"
    if stat == "share":
        met = np.bincount(uid, weights=el["met"].to_numpy(dtype=float), minlength=n_units)
        with np.errstate(invalid="ignore", divide="ignore"):
            v = np.where(n > 0, met / np.maximum(n, 1), np.nan)
        lim = f" <= {_target(run.targets, stage):g} min" if stage in TARGET_KEY else " within its limit"
        return v, n, f"share {STAGE_SHORT[stage]}{lim}"
    q = int(stat[1:])
    vals = _group_percentiles(uid, el["elapsed"].to_numpy(dtype=float), n_units, (q,))[:, 0]
    return vals, n, f"{stat} {STAGE_SHORT[stage]} time (min from the call)"


def grid_metric(run: RunData, metric: str, n_grids: int) -> tuple[np.ndarray, np.ndarray, str]:
    """Per-grid values of a map metric, events judged per grid, label (see `unit_metric`)."""
    return unit_metric(run, metric, "grid", n_grids)


def _split_metric(metric: str) -> tuple[str, str]:
    for stage in sorted(ALL_STAGES, key=len, reverse=True):
        if metric.startswith(stage + "_"):
            stat = metric[len(stage) + 1:]
            if stat in ("share", "p50", "p90", "p95", "p99", "n"):
                return stage, stat
    raise ValueError(f"unknown map metric {metric!r}; allowed: {MAP_METRICS_HELP}")


def check_map_metric(metric: str) -> None:
    if metric != "volume":
        _split_metric(metric)


def _split_cmap(target: float, vmax: float):
    """Linear colour scale 0..vmax that turns from blue to yellow-red exactly at the target."""
    from matplotlib.colors import ListedColormap
    base = matplotlib.colormaps["RdYlBu_r"]
    n = 256
    k = int(round(n * min(max(target / vmax, 0.05), 0.95)))
    cmap = ListedColormap(np.vstack([base(np.linspace(0.0, 0.38, k)), base(np.linspace(0.55, 1.0, n - k))]))
    return cmap


def _raster(city: Any, res_km: float) -> tuple[np.ndarray, np.ndarray, tuple[float, float, float, float]]:
    """Nearest grid of every pixel (a Voronoi picture of the grids), -1 outside the city."""
    from scipy.spatial import cKDTree
    x, y = city.grid_x, city.grid_y
    x0, x1, y0, y1 = x.min() - 3, x.max() + 3, y.min() - 3, y.max() + 3
    nx_, ny_ = int(math.ceil((x1 - x0) / res_km)), int(math.ceil((y1 - y0) / res_km))
    px = x0 + (np.arange(nx_) + 0.5) * res_km
    py = y0 + (np.arange(ny_) + 0.5) * res_km
    gx, gy = np.meshgrid(px, py)
    d, idx = cKDTree(np.c_[x, y]).query(np.c_[gx.ravel(), gy.ravel()])
    radius = np.maximum(2.6 * np.sqrt(city.grid_area / np.pi), 1.2)     # km: keeps the city's outline
    inside = d <= radius[idx]
    idx = np.where(inside, idx, -1).reshape(ny_, nx_)
    return idx, d.reshape(ny_, nx_), (x0, x0 + nx_ * res_km, y0, y0 + ny_ * res_km)


def map_run(run: RunData, metric: str = "on_scene_p90", city: Any = None, pool: str = "auto") -> Figure:
    """The city: every grid coloured by a metric; sub-centers and workstations by build status.

    `pool`: compute percentiles and shares per "grid", "workstation" or "subcenter" (each grid
    shows its unit's value), or "auto": per grid when the median grid has at least
    POOL_MIN_MEDIAN_N judged events, else the smallest unit that has (a p90 of three events
    is just their maximum). Volumes and counts are always per grid.
    """
    from gridsim.city import BUILT, NOT_STARTED, UNDER_CONSTRUCTION, build_city
    check_map_metric(metric)
    if city is None:
        city = build_city(run.scenario)
    G = city.n_grids
    stage, stat = (None, "volume") if metric == "volume" else _split_metric(metric)
    grid_unit = {"grid": np.arange(G), "workstation": city.grid_ws, "subcenter": city.grid_sc}
    n_units = {"grid": G, "workstation": city.n_workstations, "subcenter": city.n_subcenters}
    levels = ["grid"] if stat in ("volume", "n") else (["grid", "workstation", "subcenter"] if pool == "auto"
                                                      else [pool])
    for level in levels:
        uvals, un, label = unit_metric(run, metric, level, n_units[level])
        med = float(np.median(un[un > 0])) if (un > 0).any() else 0.0
        if med >= POOL_MIN_MEDIAN_N:
            break
    vals = uvals[grid_unit[level]]
    n = un[grid_unit[level]]
    has = n > 0 if stat != "volume" else np.ones(G, dtype=bool)
    extend = "neither"
    cb_format = None
    if stat in ("p50", "p90", "p95", "p99"):
        target = _target(run.targets, stage) if stage in TARGET_KEY else None
        fin = uvals[(un > 0) & np.isfinite(uvals)]
        hi = float(np.quantile(fin, 0.95)) if len(fin) else 1.0
        if target is not None:
            vmax = float(max(2.0 * target, min(_nice_ceil(hi), 6.0 * target)))
            cmap = _split_cmap(target, vmax)
        else:
            vmax = float(max(1.0, _nice_ceil(hi)))
            cmap = matplotlib.colormaps["magma_r"].copy()
        cmap = cmap.with_extremes(over="#4a0010")
        norm = Normalize(0.0, vmax)
        extend = "max" if (uvals[un > 0] > vmax).any() else "neither"
    elif stat == "share":
        target = None
        norm = Normalize(0.0, 1.0)
        cmap = matplotlib.colormaps["RdYlBu"].copy()
        cb_format = PercentFormatter(1.0, decimals=0)
    else:
        target = None
        fin = vals[has]
        vmax = max(float(np.quantile(fin, 0.99)) if len(fin) else 1.0, 1e-9)
        norm = Normalize(0.0, vmax)
        cmap = matplotlib.colormaps["viridis"].copy()
        cmap = cmap.with_extremes(over="#fde725")
        extend = "max" if (fin > vmax).any() else "neither"
    idx, _, extent = _raster(city, res_km=0.2)
    inside = idx >= 0
    gi = np.where(inside, idx, 0)
    rgba = cmap(norm(np.where(np.isinf(vals), np.inf, vals)[gi]))
    rgba[inside & ~has[gi]] = (0.85, 0.85, 0.85, 1.0)
    rgba[~inside] = (1.0, 1.0, 1.0, 0.0)
    # division boundaries: pixels whose right or upper neighbour lies in another division (or outside)
    div = np.where(inside, city.grid_div[gi], -1)
    edge = np.zeros_like(inside)
    edge[:, :-1] |= div[:, :-1] != div[:, 1:]
    edge[:-1, :] |= div[:-1, :] != div[1:, :]
    edge[:, 1:] |= div[:, 1:] != div[:, :-1]
    edge[1:, :] |= div[1:, :] != div[:-1, :]
    edge &= inside
    rgba[edge] = (0.15, 0.15, 0.15, 1.0)
    x, y = city.grid_x, city.grid_y
    span_x, span_y = extent[1] - extent[0], extent[3] - extent[2]
    with matplotlib.rc_context(STYLE):
        w = 11.0
        fig = _figure(w, (w - 1.9) * span_y / span_x + 1.9)
        ax = fig.add_subplot()
        ax.imshow(rgba, origin="lower", extent=extent, interpolation="nearest", zorder=1)
        ax.set_aspect("equal")
        ax.grid(False)
        from matplotlib.cm import ScalarMappable
        sm = ScalarMappable(norm=norm, cmap=cmap)
        cb = fig.colorbar(sm, ax=ax, shrink=0.75, extend=extend, pad=0.01, format=cb_format)
        cb.set_label(label)
        if target is not None:
            cb.ax.axhline(target, color="black", lw=2)
            ticks = [t for t in cb.get_ticks() if 0 <= t <= norm.vmax and abs(t - target) > 0.04 * norm.vmax]
            cb.set_ticks(sorted(ticks + [target]),
                         labels=[f"{t:g} (target)" if t == target else f"{t:g}" for t in sorted(ticks + [target])])
        ws, scs = city.ws_status, city.sc_status
        ax.scatter(city.ws_x[ws == BUILT], city.ws_y[ws == BUILT], s=2, c="#222222", alpha=0.5,
                   linewidths=0, zorder=3)
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
        for d, name in enumerate(city.division_names):
            gd = city.grid_div == d
            if gd.any():
                ax.text(float(np.median(x[gd])), float(np.median(y[gd])), name, ha="center", va="center",
                        fontsize=10.5, fontweight="bold", color="#111111", zorder=8,
                        path_effects=[patheffects.withStroke(linewidth=3.5, foreground="white")])

        def cnt(a, v):
            return int(np.sum(a == v))
        handles = [
            Line2D([], [], ls="", marker="^", color="black", mec="white", ms=8,
                   label=f"sub-center built ({cnt(scs, BUILT)})"),
            Line2D([], [], ls="", marker="^", mfc="white", mec="black", ms=8,
                   label=f"sub-center under construction ({cnt(scs, UNDER_CONSTRUCTION)})"),
            Line2D([], [], ls="", marker="^", color="#d00000", ms=8,
                   label=f"sub-center not started ({cnt(scs, NOT_STARTED)})"),
            Line2D([], [], ls="", marker=".", color="#222222", ms=4,
                   label=f"workstation built ({cnt(ws, BUILT):,})"),
            Line2D([], [], ls="", marker="o", mfc="none", mec="#222222", ms=4,
                   label=f"workstation under construction ({cnt(ws, UNDER_CONSTRUCTION)})"),
            Line2D([], [], ls="", marker="X", color="#d00000", mec="white", ms=8,
                   label=f"workstation not started ({cnt(ws, NOT_STARTED)})"),
            Line2D([], [], ls="", marker="s", color="#d9d9d9", ms=8,
                   label=f"grid without events judged ({int((~has).sum()):,})"),
            Line2D([], [], color="#262626", lw=1.5, label="division boundary"),
        ]
        handles = [h for h in handles if not h.get_label().endswith(" (0)")]
        fig.legend(handles=handles, loc="outside lower center", ncol=4, fontsize=8)
        ax.set_xlabel("east (km)")
        ax.set_ylabel("north (km)")
        if stat in ("volume", "n"):
            note = f"per grid ({G:,} grids)"
        else:
            note = f"{'per grid' if level == 'grid' else 'per ' + level + ' (each grid shows its ' + level + ')'}; " \
                   f"median {med:.0f} event(s) judged per {level}"
            if level != "grid":
                note += f" (per grid too few for a stable {stat})" if stat != "share" else " (per grid too few)"
        ax.set_title(note, loc="left", fontsize=8.5, fontweight="normal", color="#444444")
        _title(fig, f"Map: {label}", run.context)
    return fig


# ============================================================================== staffing

def staffing_metrics(exp: ExperimentData) -> list[str]:
    """Default panels: each target's share and p90, then the experiment file's own `metrics`."""
    cols = [f"{s}.share" for s in TARGET_STAGES] + [f"{s}.p90" for s in TARGET_STAGES]
    chosen = exp.config.get("metrics") if isinstance(exp.config.get("metrics"), list) else []
    for m in chosen:
        if isinstance(m, str) and m in exp.runs.columns and m not in cols:
            cols.append(m)
    return [c for c in cols if c in exp.runs.columns]


def _factor_label(value) -> str:
    """A factor value as a group label: lists and missing values (a variant that does not set
    the key) included."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if isinstance(value, (list, tuple, np.ndarray)):
        return "[" + ", ".join(map(str, value)) + "]"
    return str(value)


def staffing_experiment(exp: ExperimentData, factor: str | None = None, metric: str | None = None) -> Figure:
    """Metrics against a swept numeric factor: mean and 95 % CI over replications, target lines.

    Default panels (`staffing_metrics`): share meeting each target and its p90 time with the
    target line, then the metrics the experiment file keeps. With `metric` (a runs.parquet
    column such as `on_scene.p90` or `util.fulltime`), that one metric.
    """
    nf = exp.numeric_factors
    if not nf:
        raise NotApplicable("staffing: the experiment sweeps no numeric factor")
    factor = factor or nf[0]
    ok = exp.ok.copy()
    ok["_x"] = pd.to_numeric(ok[factor], errors="coerce")
    # a second dimension only if it varies at a fixed x (factors that move with x are not one)
    labels = {f: ok[f].map(_factor_label) for f in exp.factors if f != factor}
    others = [f for f, lab in labels.items() if lab.groupby(ok["_x"]).nunique().max() > 1]
    ok["_group"] = pd.DataFrame({f: labels[f] for f in others}).agg(", ".join, axis=1) if others else ""
    groups = list(dict.fromkeys(ok["_group"]))
    if metric is not None:
        panels = [resolve_metric_column(metric, ok.columns)]
    else:
        panels = staffing_metrics(exp)
    ncol = min(4, len(panels))
    nrow = math.ceil(len(panels) / ncol)
    xlabel = factor
    note = _key_note(factor)
    if note:
        xlabel = f"{factor}  ({note})"
    with matplotlib.rc_context(STYLE):
        fig = _figure(max(6.0, 3.6 * ncol), 3.2 * nrow + 1.4)
        axes = fig.subplots(nrow, ncol, squeeze=False).ravel()
        for ax, col in zip(axes, panels):
            _staffing_panel(ax, ok, col, groups, others, exp.targets)
            xs = np.unique(ok["_x"].dropna())
            if len(xs) <= 6:
                ax.set_xticks(xs)
            else:
                ax.xaxis.set_major_locator(MaxNLocator(5))
            ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}" if abs(v) >= 100 else f"{v:g}"))
        for ax in axes[len(panels):]:
            ax.set_visible(False)
        fig.supxlabel(xlabel, fontsize=9.5)
        if len(groups) > 1:
            handles, labels = axes[0].get_legend_handles_labels()
            fig.legend(handles, labels, loc="outside right upper", title=", ".join(others), title_fontsize=8.5)
        _title(fig, f"Metrics against {factor} (mean over replications, band: 95 % CI)", exp.context)
    return fig


def resolve_metric_column(metric: str, columns: Iterable[str]) -> str:
    """A runs.parquet metric column from `on_scene.p90` or the map-style `on_scene_p90`."""
    columns = list(columns)
    if metric in columns:
        return metric
    for stage in sorted(ALL_STAGES, key=len, reverse=True):
        if metric.startswith(stage + "_") and f"{stage}.{metric[len(stage) + 1:]}" in columns:
            return f"{stage}.{metric[len(stage) + 1:]}"
    for prefix in ("util", "volume", "queue"):
        if metric.startswith(prefix + "_") and f"{prefix}.{metric[len(prefix) + 1:]}" in columns:
            return f"{prefix}.{metric[len(prefix) + 1:]}"
    return _metric_column(metric, columns)


def _metric_column(metric: str, columns: Iterable[str]) -> str:
    cols = [c for c in columns if c.split(".")[0] in set(ALL_STAGES) | {"util", "volume", "queue"}]
    raise ValueError(f"unknown metric {metric!r} for an experiment; allowed: runs.parquet columns such as "
                     + ", ".join(cols[:12]) + (" ..." if len(cols) > 12 else ""))


def _staffing_panel(ax, ok: pd.DataFrame, col: str, groups: list[str], others: list[str], targets: dict) -> None:
    head, _, rest = col.partition(".")
    source = head if head in SOURCES and rest else None      # per-source metric, e.g. 110.on_scene.share
    stage, _, stat = rest.partition(".") if source else (head, None, rest)
    is_share = stat in ("share", "ci_low", "ci_high") or col.startswith("util.")
    target = _target(targets, stage) if stage in TARGET_KEY else None
    infinite_any = False
    dropped = 0
    for k, g in enumerate(groups):
        sub = ok[ok["_group"] == g]
        xs, ms, los, his = [], [], [], []
        for xv, rows in sub.groupby("_x", sort=True):
            v = pd.to_numeric(rows[col], errors="coerce").to_numpy(dtype=float)
            if np.isinf(v).any():
                infinite_any = True
            dropped += int(np.isnan(v).sum())      # a replication with no event judged has no value
            m, lo, hi = mean_ci(v[~np.isnan(v)])
            xs.append(xv)
            ms.append(m)
            los.append(lo if np.isfinite(lo) else m)
            his.append(hi if np.isfinite(hi) else m)
        xs, ms, los, his = map(lambda a: np.asarray(a, dtype=float), (xs, ms, los, his))
        color = PALETTE[k % len(PALETTE)]
        fin = np.isfinite(ms)
        if is_share:                       # a t-interval can pass 0 % or 100 %; a share cannot
            los, his = np.clip(los, 0, 1), np.clip(his, 0, 1)
        ax.fill_between(xs[fin], los[fin], his[fin], color=color, alpha=0.2, lw=0)
        ax.plot(xs[fin], ms[fin], "o-", color=color, lw=1.6, ms=4, label=g or None)
        if target is not None and stat in PCT_STATS and fin.sum() >= 1:
            _mark_crossing(ax, xs[fin], ms[fin], target, color)
    if stage in TARGET_KEY:
        title = f"{STAGE_SHORT[stage]} <= {target:g} min" if stat == "share" else f"{STAGE_SHORT[stage]}: {stat}"
    elif stage in STAGES:
        title = f"{STAGE_SHORT[stage]} in limit" if stat == "share" else f"{STAGE_SHORT[stage]}: {stat}"
    elif stage == "util":
        title = f"busy share: {ROLE_LABEL.get(stat, stat)}"
    else:
        title = col
    if source:
        title = f"{source} only: {title}"
    ax.set_title(title, loc="left")
    if is_share:
        if col.startswith("util."):
            ax.set_ylim(0, min(1.02, max(0.1, ax.get_ylim()[1] * 1.15)))
        else:
            ax.set_ylim(0, 1.02)
        _pct_axis(ax)
        ax.set_ylabel("busy share of on-duty time" if col.startswith("util.") else
                      "share meeting the target" if stage in TARGET_KEY else "share within its limit")
        if stat == "share" and stage in TARGET_KEY:
            ax.axhline(0.9, color=REF_COLOR, ls=":", lw=1)
            ax.text(ax.get_xlim()[0], 0.9, " 90 %", va="bottom", ha="left", fontsize=7.5, color=REF_COLOR)
    elif stat in PCT_STATS:
        ax.set_ylabel(f"{stat} time from the call (min)" if stage in ("respond", "on_scene", "support", "cordon",
                                                                     "register_dispatch", "close")
                      else f"{stat} time (min)")
        lo, hi = ax.get_ylim()
        if target is not None:
            hi = max(hi, target * 1.15)
            ax.axhline(target, color=TARGET_COLOR, ls="--", lw=1.3)
            ax.text(1.0, target, f"target {target:g} min ", color=TARGET_COLOR, fontsize=8, ha="right",
                    va="bottom", transform=ax.get_yaxis_transform())
        ax.set_ylim(0, hi)
    else:
        ax.set_ylabel({"queue": "tasks waiting", "volume": "events"}.get(stage, col))
        ax.set_ylim(bottom=0)
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}" if abs(v) >= 100 else f"{v:g}"))
    notes = []
    if infinite_any:
        notes.append("some replications: beyond the end of the run (not plotted)")
    if dropped:
        notes.append(f"{dropped} replication(s) with no event judged left out")
    if notes:
        ax.text(0.02, 0.02, "\n".join(notes), transform=ax.transAxes, fontsize=7.5, va="bottom", color="#444444")


def _mark_crossing(ax, xs: np.ndarray, ms: np.ndarray, target: float, color) -> None:
    """Where the mean curve first drops to the target (linear interpolation), a dotted vertical line."""
    order = np.argsort(xs)
    xs, ms = xs[order], ms[order]
    below = ms <= target
    if not below.any() or below.all():
        return
    j = int(np.argmax(below))
    if j == 0:
        return
    x0, x1, y0, y1 = xs[j - 1], xs[j], ms[j - 1], ms[j]
    xc = x0 + (y0 - target) / (y0 - y1) * (x1 - x0) if y0 != y1 else x1
    ax.axvline(xc, color=color, ls=":", lw=1)
    ax.annotate(f"~{xc:,.0f}" if abs(xc) >= 100 else f"~{xc:.3g}", xy=(xc, target), xytext=(3, 6),
                textcoords="offset points", fontsize=8, color=color)


# ============================================================================== utilisation

def _busy_integral(starts: np.ndarray, ends: np.ndarray, t: np.ndarray) -> np.ndarray:
    """F(t) = total busy time of the intervals [starts, ends) before t, vectorised over t."""
    s = np.sort(starts)
    e = np.sort(ends)
    cs = np.r_[0.0, np.cumsum(s)]
    ce = np.r_[0.0, np.cumsum(e)]
    ks = np.searchsorted(s, t, side="left")
    ke = np.searchsorted(e, t, side="left")
    return (ks * t - cs[ks]) - (ke * t - ce[ke])


def role_hourly_busy(run: RunData) -> pd.DataFrame:
    """Busy share by role and hour of day from the events table (first-responder jobs).

    Busy minutes: t_dispatch .. t_done of each event's first responder (t_done missing: busy to
    the end of the run), inside each hour after the warm-up, divided by on-duty responder
    minutes of that role in that hour (scenario shifts x responders). Columns: hour, role,
    busy_min, on_duty_min, share (NaN when the role is off duty all that hour).
    """
    from gridsim.engine.shifts import on_duty_minutes, shift_intervals
    ev = run.events
    H, W = run.horizon_min, run.warmup_min
    edges = np.arange(0.0, H + 60.0, 60.0)
    edges = np.clip(edges, 0, H)
    lo_edges = np.maximum(edges[:-1], W)
    hi_edges = np.maximum(edges[1:], W)
    hod = (np.arange(len(edges) - 1) % 24)
    util = run.summary.get("utilisation", {})
    role = ev["responder_role"].astype(str).to_numpy()
    t0 = ev["t_dispatch"].to_numpy(dtype=float)
    t1 = ev["t_done"].to_numpy(dtype=float)
    rows = []
    for r in ROLES:
        m = (role == r) & np.isfinite(t0)
        s = t0[m]
        e = np.where(np.isfinite(t1[m]), t1[m], H)
        e = np.maximum(e, s)
        busy = _busy_integral(s, e, hi_edges) - _busy_integral(s, e, lo_edges)
        count = (util.get(r) or {}).get("responders") or 0
        ivs = shift_intervals(run.scenario, r, H)
        duty = np.array([on_duty_minutes(ivs, a, b) for a, b in zip(lo_edges, hi_edges)]) * count
        for h in range(24):
            sel = hod == h
            b, d = float(busy[sel].sum()), float(duty[sel].sum())
            rows.append({"hour": h, "role": r, "busy_min": b, "on_duty_min": d,
                         "share": b / d if d > 0 else np.nan})
    return pd.DataFrame(rows)


def utilisation_run(run: RunData) -> Figure:
    """(a) busy share by role and hour of day from events; (b) the model's hourly samples."""
    tab = role_hourly_busy(run)
    util = run.summary.get("utilisation", {})
    hm = run.summary.get("hourly_model") or {}
    with matplotlib.rc_context(STYLE):
        fig = _figure(11.5, 8.2)
        ax1, ax2 = fig.subplots(2, 1, height_ratios=[1.15, 1])
        hours = np.arange(25)
        top = 0.0
        for r in ROLES:
            t = tab[tab["role"] == r].sort_values("hour")
            sh = t["share"].to_numpy(dtype=float)
            top = max(top, np.nanmax(sh) if np.isfinite(sh).any() else 0)
            ax1.step(hours, np.r_[sh, sh[-1]], where="post", color=ROLE_COLOR[r], lw=1.8,
                     label=f"{ROLE_LABEL[r]} ({(util.get(r) or {}).get('responders', 0):,})")
            whole = (util.get(r) or {}).get("utilisation")
            if whole is not None:
                ax1.plot([24.15], [whole], marker="<", color=ROLE_COLOR[r], ms=8, clip_on=False)
                top = max(top, whole)
        ax1.set_xlim(0, 24)
        ax1.set_ylim(0, min(1.0, max(0.1, top * 1.15)))
        _pct_axis(ax1)
        ax1.set_xticks(range(0, 25, 2), [f"{h:02d}:00" for h in range(0, 25, 2)])
        ax1.set_xlabel("hour of day")
        ax1.set_ylabel("busy share of on-duty responders")
        ax1.set_title("(a) Busy share by role and hour of day: first-responder jobs (events table)", loc="left")
        h1 = ax1.get_legend_handles_labels()
        h1[0].append(Line2D([], [], ls="", marker="<", color="#444444", ms=7))
        h1[1].append("whole run, all tasks (model, summary.json)")
        ax1.legend(*h1, loc="upper left", ncol=3, fontsize=8)
        if hm:
            n = len(next(iter(hm.values())))
            x = np.arange(n)        # one sample per simulated hour, from t = 0
            for key, label, color, ls in (("busy_police", "police units busy", ROLE_COLOR["police"], "-"),
                                          ("busy_grid_workers", "grid workers busy", ROLE_COLOR["fulltime"], "-"),
                                          ("police_queue", "110 tasks waiting for a unit", ROLE_COLOR["police"], "--"),
                                          ("grid_queue", "grid tasks waiting for a worker", ROLE_COLOR["fulltime"], "--")):
                if key in hm:
                    ax2.plot(x, np.asarray(hm[key], dtype=float), color=color, ls=ls, lw=1.5, label=label)
            ax2.axvspan(0, run.warmup_min / 60.0, color="#bbbbbb", alpha=0.35, lw=0, label="warm-up (excluded)")
            ax2.set_xlim(0, max(1, n - 1))
            ax2.set_xlabel("hours since the start of the run (day 1 starts 00:00)")
            ax2.set_ylabel("responders / tasks (count)")
            ax2.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}"))
            ax2.xaxis.set_major_locator(MaxNLocator(integer=True, nbins=12))
            ax2.legend(loc="upper left", ncol=3, fontsize=8)
        else:
            _no_data(ax2, "no hourly samples in summary.json")
        ax2.set_title("(b) Model samples each hour: responders busy and tasks waiting", loc="left")
        _title(fig, "Utilisation by role", run.context)
    return fig


def utilisation_experiment(exp: ExperimentData) -> Figure:
    """Whole-run busy share by role per variant, mean and 95 % CI over replications."""
    colors = _variant_colors(exp)
    roles = [r for r in ROLES if f"util.{r}" in exp.runs.columns]
    if not roles:
        raise NotApplicable("utilisation: runs.parquet has no util.<role> columns")
    variants = _variant_order(exp)
    with matplotlib.rc_context(STYLE):
        fig = _figure(max(8.0, 1.0 + 0.35 * len(variants) * len(roles)), 5.2)
        ax = fig.add_subplot()
        width = 0.8 / len(variants)
        for i, v in enumerate(variants):
            rows = exp.variant_rows(v)
            ms, errs = [], [[], []]
            for r in roles:
                m, lo, hi = mean_ci(pd.to_numeric(rows[f"util.{r}"], errors="coerce").to_numpy(dtype=float))
                ms.append(m)
                errs[0].append(max(0.0, m - lo) if np.isfinite(lo) else 0)
                errs[1].append(max(0.0, hi - m) if np.isfinite(hi) else 0)
            xs = np.arange(len(roles)) - 0.4 + width * (i + 0.5)
            ax.bar(xs, ms, width=width * 0.92, color=colors[v], label=v)
            ax.errorbar(xs, ms, yerr=errs, fmt="none", ecolor="#222222", elinewidth=1, capsize=2)
        ax.set_xticks(np.arange(len(roles)), [ROLE_LABEL[r] for r in roles])
        ax.set_ylabel("busy share of on-duty time (whole run)")
        _pct_axis(ax)
        ax.set_ylim(bottom=0)
        ax.grid(axis="x", visible=False)
        ax.legend(title="variant", loc="upper right", ncol=max(1, math.ceil(len(variants) / 8)))
        ax.set_title("All tasks, after warm-up; whiskers: 95 % CI over replications", loc="left",
                     fontweight="normal", fontsize=9)
        _title(fig, "Utilisation by role and variant", exp.context)
    return fig


# ============================================================================== dispatch

def make_figure(data: RunData | ExperimentData, kind: str, metric: str | None = None, city: Any = None) -> Figure:
    """One figure of a kind; NotApplicable when the kind does not apply to this directory."""
    if kind not in KINDS:
        raise ValueError(f"unknown figure kind {kind!r}; allowed: {', '.join(KINDS)}")
    if isinstance(data, RunData):
        if kind == "ecdf":
            return ecdf_run(data)
        if kind == "hist":
            return hist_run(data)
        if kind == "divisions":
            return divisions_run(data)
        if kind == "hourly":
            return hourly_run(data)
        if kind == "map":
            return map_run(data, metric or "on_scene_p90", city=city)
        if kind == "utilisation":
            return utilisation_run(data)
        raise NotApplicable(f"figure {kind!r} needs an experiment directory (runs.parquet); "
                            f"this is a run directory")
    if kind == "ecdf":
        return ecdf_experiment(data)
    if kind == "staffing":
        return staffing_experiment(data, metric=metric)
    if kind == "utilisation":
        return utilisation_experiment(data)
    raise NotApplicable(f"figure {kind!r} needs a run directory (events.parquet); this is an experiment "
                        f"directory (its runs.parquet has no per-event data)")


def save_figure(fig: Figure, path: str | Path, fmt: str | None = None) -> Path:
    """Save without the matplotlib version/URL metadata (keeps reports free of external links)."""
    path = Path(path)
    fmt = fmt or path.suffix.lstrip(".")
    meta = {"png": {"Software": None}, "svg": {"Date": None}, "pdf": {"Creator": None, "Producer": None}}
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    fig.savefig(tmp, format=fmt, dpi=DPI, metadata=meta.get(fmt))
    tmp.replace(path)
    return path


def save_figures(data: RunData | ExperimentData, kinds: Iterable[str] | None = None, fmt: str = "png",
                 metric: str | None = None, out_dir: str | Path | None = None) -> list[Path]:
    """Write `<out_dir or DIR/figures>/<kind>.<fmt>` for each kind (default: all that apply)."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; allowed: {', '.join(FORMATS)}")
    kinds = list(kinds) if kinds else list(kinds_for(data))
    out = Path(out_dir) if out_dir is not None else Path(data.dir) / "figures"
    paths = []
    city = None
    for kind in kinds:
        if kind == "map" and isinstance(data, RunData) and city is None:
            from gridsim.city import build_city
            city = build_city(data.scenario)
        fig = make_figure(data, kind, metric=metric, city=city)
        paths.append(save_figure(fig, out / f"{kind}.{fmt}", fmt))
    return paths
