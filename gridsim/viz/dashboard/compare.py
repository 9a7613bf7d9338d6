"""The second page: a finished experiment directory, its variants side by side.

Everything is read through `gridsim.results.loaders` (the experiment's runs.parquet, and the
per-run events tables when the batch ran with --keep-events). The first variant is the
baseline: differences are paired by replication (common random numbers), as `gridsim batch`
reports them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from gridsim.analysis.metrics import mean_ci, paired_difference_ci
from gridsim.city import City, build_city
from gridsim.domain import ECDF_GRID_MIN, STAGES, TARGET_STAGES, stage_label
from gridsim.results.io import read_json
from gridsim.results.loaders import (ExperimentData, NotAResultsDir, RunData, detect_kind, load_resolved_scenario,
                                     load_results)
from gridsim.viz.dashboard.panels import DPI, draw_outlines
from gridsim.viz.style import PALETTE, STYLE, TARGET_COLOR, new_figure

MAP_STAGE = "on_scene"


def open_experiment(path: str | Path) -> "Comparison":
    """The comparison of an experiment directory; NotAResultsDir (one line) for anything else."""
    data = load_results(str(path).strip())
    if not isinstance(data, ExperimentData):
        raise NotAResultsDir(f"{path}: is a run directory, not an experiment directory (runs.parquet)")
    if not data.variants or data.ok.empty:
        raise NotAResultsDir(f"{path}: the experiment has no successful runs")
    return Comparison(data)


@dataclass
class Comparison:
    """An experiment's variants against its first variant (the baseline)."""

    data: ExperimentData

    @property
    def variants(self) -> list[str]:
        return self.data.variants

    @property
    def baseline(self) -> str:
        return self.variants[0]

    def ecdf(self, stage: str, variant: str) -> np.ndarray:
        """Mean share reached by each minute of ECDF_GRID_MIN over the variant's replications."""
        m = self.data.ecdf_matrix(stage, variant)
        return m.mean(axis=0) if len(m) else np.full(ECDF_GRID_MIN.shape, np.nan)

    def _shares(self, stage: str, variant: str) -> pd.Series:
        rows = self.data.variant_rows(variant)
        col = f"{stage}.share"
        return (rows.set_index("replication")[col].astype(float).sort_index() if col in rows.columns
                else pd.Series(dtype=float))

    def shares(self, stage: str) -> pd.DataFrame:
        """Per variant: mean share met over replications and its 95 % t interval."""
        out = [(v, *mean_ci(self._shares(stage, v))) for v in self.variants]
        return pd.DataFrame(out, columns=["variant", "share", "low", "high"])

    def differences(self, stage: str) -> pd.DataFrame:
        """Per variant but the baseline: share met minus the baseline's, paired by replication."""
        base = self._shares(stage, self.baseline)
        out = []
        for v in self.variants[1:]:
            s = self._shares(stage, v)
            common = base.index.intersection(s.index)
            out.append((v, *paired_difference_ci(base[common], s[common])))
        return pd.DataFrame(out, columns=["variant", "difference", "low", "high"])

    def run_dirs(self, variant: str) -> list[Path]:
        """The variant's kept run directories (runs/<variant>/rep<r>/, written by --keep-events)."""
        if self.data.dir is None:
            return []
        return [d for d in sorted((self.data.dir / "runs" / variant).glob("rep*")) if detect_kind(d) == "run"]

    def kept_run(self, variant: str, folder: Path) -> RunData:
        """A kept run of the store: its events and summary, judged with its variant's resolved
        scenario (scenarios/<variant>.toml: kept run folders carry no scenario.toml of their own)."""
        scen = self.data.dir / "scenarios" / f"{variant}.toml"
        scenario = load_resolved_scenario(scen) if scen.is_file() else self.data.scenario
        return RunData(events=pd.read_parquet(folder / "events.parquet"), summary=read_json(folder / "summary.json"),
                       scenario=scenario, dir=folder)

    def subcenter_shares(self, variant: str, stage: str = MAP_STAGE) -> tuple[np.ndarray, np.ndarray] | None:
        """(met, judged) per sub-center, pooled over the variant's kept runs; None without them."""
        dirs = self.run_dirs(variant)
        if not dirs:
            return None
        met = judged = None
        for d in dirs:
            run = self.kept_run(variant, d)
            rows = run.elapsed(stage)
            sc = run.events["subcenter_id"].to_numpy()[rows["event_id"].to_numpy()]
            size = int(run.events["subcenter_id"].max()) + 1
            k = np.bincount(sc, weights=rows["met"].to_numpy(dtype=float), minlength=size)
            n = np.bincount(sc, minlength=size).astype(float)
            met, judged = (k, n) if met is None else (met + k, judged + n)
        return met, judged

    def difference_map_values(self, variant: str, stage: str = MAP_STAGE) -> np.ndarray | None:
        """Per sub-center: the variant's share met minus the baseline's (NaN where either judged
        nothing); None when the runs' events were not kept."""
        a, b = self.subcenter_shares(self.baseline, stage), self.subcenter_shares(variant, stage)
        if a is None or b is None:
            return None
        size = max(len(a[0]), len(b[0]))
        (ka, na), (kb, nb) = ([np.pad(x, (0, size - len(x))) for x in pair] for pair in (a, b))
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where((na > 0) & (nb > 0), kb / nb - ka / na, np.nan)

    def city(self) -> City | None:
        scen = self.data.scenario
        return build_city(scen) if scen is not None else None


# ============================================================================== figures

def _pct(ax, axis: str = "y") -> None:
    getattr(ax, f"{axis}axis").set_major_formatter(matplotlib.ticker.PercentFormatter(1.0, decimals=0))


def variant_ecdfs(cmp: Comparison) -> Figure:
    """One panel per target stage, one curve per variant (mean over replications)."""
    targets = cmp.data.targets
    with matplotlib.rc_context(STYLE):
        fig = new_figure(7.2, 4.8)
        fig.set_dpi(DPI)
        for ax, stage in zip(fig.subplots(2, 2).ravel(), TARGET_STAGES):
            for i, v in enumerate(cmp.variants):
                ax.plot(ECDF_GRID_MIN, cmp.ecdf(stage, v), color=PALETTE[i % len(PALETTE)], lw=1.3, label=v)
            ax.axvline(targets[STAGES[stage].target_key], color=TARGET_COLOR, ls="--", lw=1)
            ax.set_ylim(0, 1.02)
            _pct(ax)
            ax.set_title(stage_label(stage, targets), fontsize=9)
            ax.set_xlabel("minutes from the call", fontsize=8)
        fig.axes[0].legend(fontsize=7)
        fig.suptitle(f"{cmp.data.name}: response-time ECDFs by variant (mean of {cmp.data.replications} "
                     "replications)", fontsize=10)
    return fig


def shares_and_differences(cmp: Comparison) -> Figure:
    """Left: share met per stage and variant with 95 % intervals; right: the difference from
    the baseline, paired by replication."""
    stages = list(TARGET_STAGES)
    targets = cmp.data.targets
    with matplotlib.rc_context(STYLE):
        fig = new_figure(7.2, 3.8)
        fig.set_dpi(DPI)
        ax_s, ax_d = fig.subplots(1, 2)
        width = 0.8 / max(1, len(cmp.variants))
        for i, v in enumerate(cmp.variants):
            for j, stage in enumerate(stages):
                row = cmp.shares(stage).iloc[i]
                err = np.array([[row.share - row.low], [row.high - row.share]])
                ax_s.errorbar(j + (i - (len(cmp.variants) - 1) / 2) * width, row.share,
                              yerr=None if np.isnan(err).any() else err, fmt="o", color=PALETTE[i % len(PALETTE)],
                              capsize=3, label=v if j == 0 else None)
        ax_s.set_xticks(range(len(stages)), [stage_label(s, targets) for s in stages], rotation=20, fontsize=7.5)
        ax_s.set_ylim(0, 1.02)
        _pct(ax_s)
        ax_s.set_title("share met (95% CI over replications)", fontsize=9)
        ax_s.legend(fontsize=7)
        for i, v in enumerate(cmp.variants[1:], start=1):
            for j, stage in enumerate(stages):
                row = cmp.differences(stage).iloc[i - 1]
                err = np.array([[row.difference - row.low], [row.high - row.difference]])
                ax_d.errorbar(j + (i - len(cmp.variants) / 2) * width, row.difference,
                              yerr=None if np.isnan(err).any() else err, fmt="o", color=PALETTE[i % len(PALETTE)],
                              capsize=3, label=v if j == 0 else None)
        ax_d.axhline(0, color="#555555", lw=0.8)
        ax_d.set_xticks(range(len(stages)), [stage_label(s, targets) for s in stages], rotation=20, fontsize=7.5)
        ax_d.yaxis.set_major_formatter(matplotlib.ticker.PercentFormatter(1.0, decimals=1))
        ax_d.set_title(f"difference from {cmp.baseline} (paired)", fontsize=9)
        if len(cmp.variants) > 1:
            ax_d.legend(fontsize=7)
    return fig


def difference_map(cmp: Comparison, variant: str, city: City, stage: str = MAP_STAGE) -> Figure | None:
    """Grids coloured by their sub-center's change in share met against the baseline; None
    when the experiment kept no events (gridsim batch --keep-events)."""
    values = cmp.difference_map_values(variant, stage)
    if values is None:
        return None
    per_grid = np.full(city.n_grids, np.nan)
    ok = city.grid_sc < len(values)
    per_grid[ok] = values[city.grid_sc[ok]]
    lim = max(0.05, float(np.nanmax(np.abs(per_grid))) if np.isfinite(per_grid).any() else 0.05)
    with matplotlib.rc_context(STYLE):
        fig = new_figure(6.4, 5.4)
        fig.set_dpi(DPI)
        ax = fig.add_subplot()
        draw_outlines(ax, city)
        cmap = matplotlib.colormaps["RdBu"].with_extremes(bad="#dddddd")
        sc = ax.scatter(city.grid_x, city.grid_y, c=np.ma.masked_invalid(per_grid), s=2.5, cmap=cmap,
                        vmin=-lim, vmax=lim, linewidths=0)
        cb = fig.colorbar(sc, ax=ax, shrink=0.7)
        cb.formatter = matplotlib.ticker.PercentFormatter(1.0, decimals=0)
        cb.set_label(f"{variant} minus {cmp.baseline}, share {stage_label(stage, cmp.data.targets)}")
        ax.set_aspect("equal")
        ax.grid(False)
        ax.set_title(f"Difference map by sub-center: {variant} vs {cmp.baseline}", fontsize=10)
    return fig
