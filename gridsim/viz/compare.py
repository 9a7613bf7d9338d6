"""Several run or experiment folders side by side: overlaid ECDFs and stage shares with verdicts.

Each run folder is one result; each variant of an experiment folder is one result
("folder/variant"). Results are named alternatives, so the stage shares are named points with
their 95 % intervals (Wilson for a run, Student-t over replications for a variant), coloured
by their verdict against the required share of the first folder's scenario.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import matplotlib
import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from gridsim.analysis.metrics import STATUSES, TOO_FEW, Judgement, judge
from gridsim.domain import ECDF_GRID_MIN, STAGES, TARGET_STAGES, stage_label
from gridsim.results.loaders import ExperimentData, RunData
from gridsim.viz.ecdf import draw_required, finish_ecdf_axis, t_band
from gridsim.viz.labels import STATUS_MARK, STATUS_TEXT, fmt_pct, required_of, target_min
from gridsim.viz.style import (FORMATS, PALETTE, REQUIRED_COLOR, STATUS_COLOR, STYLE, new_figure, no_data, pct_axis,
                               save_figure, suptitle)
from gridsim.viz.variants import variant_judgement


@dataclass
class Result:
    """One compared result: a run, or one variant of an experiment."""

    label: str
    data: RunData | ExperimentData
    variant: str | None = None

    def ecdf(self, stage: str) -> np.ndarray | None:
        """Share reached at each minute of ECDF_GRID_MIN (a variant: mean over replications)."""
        if isinstance(self.data, RunData):
            el = np.sort(self.data.elapsed(stage)["elapsed"].to_numpy(dtype=float))
            return None if not len(el) else np.searchsorted(el, ECDF_GRID_MIN, side="right") / len(el)
        mat = self.data.ecdf_matrix(stage, self.variant)
        return t_band(mat)[0] if len(mat) else None

    def judgement(self, stage: str, targets: dict) -> Judgement:
        if isinstance(self.data, RunData):
            el = self.data.elapsed(stage)
            return judge(int(el["met"].sum()), len(el), required_of(targets, stage))
        return variant_judgement(self.data, self.variant, stage)


def results_of(datas: list[RunData | ExperimentData]) -> list[Result]:
    """Every result of the folders, labelled by folder name (the full path when names repeat)."""
    names = [Path(d.dir).name if d.dir else d.name for d in datas]
    out = []
    for d, name in zip(datas, names):
        if names.count(name) > 1 and d.dir:
            name = str(d.dir)
        if isinstance(d, RunData):
            out.append(Result(name, d))
        else:
            out.extend(Result(f"{name}/{v}", d, v) for v in d.variants)
    return out


def comparison_targets(datas: list[RunData | ExperimentData]) -> dict:
    """The targets every comparison judges by: the first folder's."""
    return datas[0].targets


def compare_ecdf(datas: list[RunData | ExperimentData]) -> Figure:
    """4 panels: each result's ECDF of a target stage overlaid, target and required share drawn."""
    results = results_of(datas)
    targets = comparison_targets(datas)
    with matplotlib.rc_context(STYLE):
        fig = new_figure(12, 8.2)
        for ax, stage in zip(fig.subplots(2, 2).ravel(), TARGET_STAGES):
            target = target_min(targets, stage)
            drawn = 0
            for i, r in enumerate(results):
                y = r.ecdf(stage)
                if y is None:
                    continue
                j = r.judgement(stage, targets)
                ax.plot(ECDF_GRID_MIN, y, color=PALETTE[i % len(PALETTE)], lw=1.6,
                        label=f"{r.label}: {fmt_pct(j.share) if j.status != TOO_FEW else '-'} ({j.status})")
                drawn += 1
            if not drawn:
                no_data(ax)
            finish_ecdf_axis(ax, target, 60.0 if stage == "cordon" else max(2 * target, 30.0))
            draw_required(ax, required_of(targets, stage))
            ax.set_title(STAGES[stage].title, loc="left")
            ax.legend(loc="lower right", fontsize=7.5)
        suptitle(fig, "Time from call to each target stage, compared", f"{len(results)} results from "
                 f"{len(datas)} folders; targets and required shares of {results[0].label}")
    return fig


def compare_stages(datas: list[RunData | ExperimentData]) -> Figure:
    """One panel per stage: each result a named point with its 95 % interval, coloured by verdict."""
    results = results_of(datas)
    targets = comparison_targets(datas)
    stages = list(STAGES)
    with matplotlib.rc_context(STYLE):
        fig = new_figure(max(9.0, 0.9 * len(results) * 4 + 2), 8.6)
        axes = fig.subplots(2, 4).ravel()
        for ax, stage in zip(axes, stages):
            for x, r in enumerate(results):
                j = r.judgement(stage, targets)
                if j.status == TOO_FEW or not np.isfinite(j.share):
                    ax.text(x, 0.5, f"too few to judge ({j.n})", rotation=90, ha="center", va="center", fontsize=7,
                            color=STATUS_COLOR[TOO_FEW])
                    continue
                lo, hi = max(0.0, j.ci_low), min(1.0, j.ci_high)
                ax.errorbar([x], [j.share], yerr=[[max(0.0, j.share - lo)], [max(0.0, hi - j.share)]], fmt="none",
                            ecolor="#333333",
                            capsize=4)
                ax.plot([x], [j.share], ls="", marker=STATUS_MARK[j.status], color=STATUS_COLOR[j.status], ms=8)
            required = required_of(targets, stage)
            ax.axhline(required, color=REQUIRED_COLOR, ls="-.", lw=1.1)
            ax.set_ylim(0, 1.02)
            pct_axis(ax)
            ax.set_xlim(-0.6, len(results) - 0.4)
            ax.set_xticks(range(len(results)), [r.label for r in results], rotation=30, ha="right", fontsize=7.5)
            ax.grid(axis="x", visible=False)
            ax.set_title(stage_label(stage, targets), loc="left", fontsize=9.5)
        axes[-1].set_visible(len(stages) >= len(axes))
        handles = [Line2D([], [], ls="", marker=STATUS_MARK[s], color=STATUS_COLOR[s], ms=7, label=STATUS_TEXT[s])
                   for s in STATUSES] + [Line2D([], [], color=REQUIRED_COLOR, ls="-.", label="required share")]
        fig.legend(handles=handles, loc="outside lower center", ncol=3, fontsize=8)
        suptitle(fig, "Share meeting each stage's limit, compared (whiskers: 95 % CI)",
                 f"{len(results)} results from {len(datas)} folders")
    return fig


COMPARE_FIGURES = {"compare_ecdf": compare_ecdf, "compare_stages": compare_stages}
"""The comparison figures, by file name."""


def save_comparison(datas: list[RunData | ExperimentData], out_dir: str | Path, fmt: str = "png") -> list[Path]:
    """Write `<out_dir>/compare_ecdf.<fmt>` and `<out_dir>/compare_stages.<fmt>`."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; allowed: {', '.join(FORMATS)}")
    return [save_figure(make(datas), Path(out_dir) / f"{name}.{fmt}", fmt) for name, make in COMPARE_FIGURES.items()]
