"""An experiment's variants in figures: their order and their colours.

When the variants sweep a numeric factor (one distinct value each), they are ordered by it
and coloured along a sequential colour map, so the legend reads as the sweep does.
"""

from __future__ import annotations

from typing import Any

import matplotlib
import numpy as np
import pandas as pd

from gridsim.analysis.metrics import Judgement, judge_replications
from gridsim.results.loaders import ExperimentData
from gridsim.viz.labels import required_of
from gridsim.viz.style import PALETTE


def sweep_values(exp: ExperimentData) -> dict[str, float] | None:
    """Each variant's value of the first numeric factor, when the variants are a sweep of it
    (one distinct value per variant); else None."""
    nf = exp.numeric_factors
    if not nf:
        return None
    vals = {v: pd.to_numeric(exp.variant_rows(v)[nf[0]], errors="coerce").mean() for v in exp.variants}
    if any(not np.isfinite(x) for x in vals.values()) or len(set(vals.values())) != len(vals):
        return None
    return vals


def variant_order(exp: ExperimentData) -> list[str]:
    """Variants sorted by the swept factor when they are a sweep, else in file order."""
    vals = sweep_values(exp)
    return sorted(exp.variants, key=lambda v: vals[v]) if vals else exp.variants


def variant_colors(exp: ExperimentData) -> dict[str, Any]:
    """Sequential colours along a swept factor (3+ variants), else the palette."""
    variants = exp.variants
    if sweep_values(exp) is not None and len(variants) > 2:
        order = variant_order(exp)
        cmap = matplotlib.colormaps["viridis"]
        return {v: cmap(0.05 + 0.85 * i / max(1, len(order) - 1)) for i, v in enumerate(order)}
    return {v: PALETTE[i % len(PALETTE)] for i, v in enumerate(variants)}


def variant_judgement(exp: ExperimentData, variant: str, stage: str, column: str | None = None) -> Judgement:
    """A variant's verdict on a stage (`<stage>.share` over its replications, or `column`,
    e.g. `110.on_scene.share`) against the scenario's required share."""
    rows = exp.variant_rows(variant)
    col = column or f"{stage}.share"
    n_col = col[:-len("share")] + "n"
    shares = pd.to_numeric(rows[col], errors="coerce") if col in rows else pd.Series(dtype=float)
    ns = pd.to_numeric(rows[n_col], errors="coerce") if n_col in rows else pd.Series(np.nan, index=shares.index)
    return judge_replications(shares.to_numpy(float), ns.to_numpy(float), required_of(exp.targets, stage))
