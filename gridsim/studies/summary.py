"""An experiment's summary: per variant and metric, the mean over replications and the paired
difference against the baseline, each with a 95 % Student-t confidence interval."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from gridsim.analysis.metrics import mean_ci, paired_difference_ci
from gridsim.studies.experiment import Experiment

SUMMARY_COLUMNS = ("experiment", "variant", "metric", "n", "mean", "ci_low", "ci_high", "baseline",
                   "n_pairs", "diff", "diff_ci_low", "diff_ci_high")


def summarise_runs(exp: Experiment, runs: pd.DataFrame, metrics: list[str] | None = None) -> pd.DataFrame:
    """Per variant and kept metric: mean and 95% Student-t CI over the successful replications,
    and the paired difference (variant - baseline) over replications where both succeeded."""
    metrics = list(exp.metrics if metrics is None else metrics)
    base = exp.baseline.name
    ok = runs[runs["status"] == "ok"] if len(runs) else runs
    out = []
    for m in metrics:
        series = _series_by_variant(exp, ok, m)
        for v in exp.variants:
            s = series[v.name].sort_index()
            mean, lo, hi = mean_ci(s.to_numpy())
            row = {"experiment": exp.name, "variant": v.name, "metric": m, "n": len(s), "mean": mean,
                   "ci_low": lo, "ci_high": hi, "baseline": base, "n_pairs": math.nan, "diff": math.nan,
                   "diff_ci_low": math.nan, "diff_ci_high": math.nan}
            if v.name != base:
                reps = sorted(set(series[base].index) & set(s.index))
                d, dlo, dhi = paired_difference_ci(series[base].loc[reps].to_numpy(), s.loc[reps].to_numpy())
                row.update(n_pairs=len(reps), diff=d, diff_ci_low=dlo, diff_ci_high=dhi)
            out.append(row)
    df = pd.DataFrame(out, columns=list(SUMMARY_COLUMNS))
    df["n_pairs"] = df["n_pairs"].astype("Int64")
    return df


def _series_by_variant(exp: Experiment, ok: pd.DataFrame, metric: str) -> dict[str, pd.Series]:
    """One metric of the successful runs, per variant, indexed by replication (for pairing)."""
    series = {}
    for v in exp.variants:
        if metric in ok.columns:
            sel = ok[ok["variant"] == v.name]
            series[v.name] = pd.Series(sel[metric].to_numpy(np.float64), index=sel["replication"].to_numpy())
        else:
            series[v.name] = pd.Series([], dtype=np.float64)
    return series
