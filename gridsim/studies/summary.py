"""An experiment's summary: per variant and metric, the mean over replications and the paired
difference against the baseline, each with a 95 % Student-t confidence interval; each share
judged against the stage's required share (met / missed / uncertain / too few to judge); and
notes on results that look backwards because the mix of judged events changed."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from gridsim.analysis.metrics import judge_replications, mean_ci, paired_difference_ci, required_share
from gridsim.domain import SOURCES, STAGES
from gridsim.studies.columns import DIVISION_SEP
from gridsim.studies.experiment import Experiment, Variant

SUMMARY_COLUMNS = ("experiment", "variant", "metric", "n", "mean", "ci_low", "ci_high", "baseline",
                   "n_pairs", "diff", "diff_ci_low", "diff_ci_high", "required", "judged", "verdict")
SOURCE_NAMES = {"110": "110 incidents", "12345": "12345 work orders", "grid": "grid patrol reports"}


def summarise_runs(exp: Experiment, runs: pd.DataFrame, metrics: list[str] | None = None) -> pd.DataFrame:
    """Per variant and kept metric: mean and 95% Student-t CI over the successful replications,
    the paired difference (variant - baseline) over replications where both succeeded, and for
    a share its verdict against the required share (`metrics.judge_replications`)."""
    metrics = list(exp.metrics if metrics is None else metrics)
    base = exp.baseline.name
    ok = runs[runs["status"] == "ok"] if len(runs) else runs
    out = []
    for m in metrics:
        series = _series_by_variant(exp, ok, m)
        judged = _series_by_variant(exp, ok, share_count_column(m)) if share_stage(m) else None
        for v in exp.variants:
            s = series[v.name].sort_index()
            mean, lo, hi = mean_ci(s.to_numpy())
            row = {"experiment": exp.name, "variant": v.name, "metric": m, "n": len(s), "mean": mean,
                   "ci_low": lo, "ci_high": hi, "baseline": base, "n_pairs": math.nan, "diff": math.nan,
                   "diff_ci_low": math.nan, "diff_ci_high": math.nan, "required": math.nan,
                   "judged": math.nan, "verdict": ""}
            if v.name != base:
                reps = sorted(set(series[base].index) & set(s.index))
                d, dlo, dhi = paired_difference_ci(series[base].loc[reps].to_numpy(), s.loc[reps].to_numpy())
                row.update(n_pairs=len(reps), diff=d, diff_ci_low=dlo, diff_ci_high=dhi)
            if judged is not None:
                row.update(_verdict(v, m, s, judged[v.name].reindex(s.index)))
            out.append(row)
    df = pd.DataFrame(out, columns=list(SUMMARY_COLUMNS))
    df["n_pairs"] = df["n_pairs"].astype("Int64")
    df["judged"] = df["judged"].astype("Int64")
    return df


def share_stage(metric: str) -> str | None:
    """The stage a share metric judges ('110.on_scene.share@Kunshan' -> 'on_scene'); None otherwise."""
    name = metric.partition(DIVISION_SEP)[0].split(".")
    return name[-2] if len(name) >= 2 and name[-1] == "share" and name[-2] in STAGES else None


def share_count_column(metric: str) -> str:
    """The column counting the events a share metric judged: '<...>.share[@d]' -> '<...>.n[@d]'."""
    name, sep, division = metric.partition(DIVISION_SEP)
    return name[: -len("share")] + "n" + sep + division


def _verdict(v: Variant, metric: str, shares: pd.Series, counts: pd.Series) -> dict:
    required = required_share(v.scenario.targets, share_stage(metric))
    if required is None:
        return {}
    j = judge_replications(shares.to_numpy(), counts.to_numpy(), required)
    return {"required": required, "judged": j.n, "verdict": j.status}


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


# --------------------------------------------------------------------------- backwards-looking results

def _worse(field: str, lo: float, hi: float) -> bool:
    """A paired difference that is significantly worse: a lower share, or a longer time."""
    return (hi < 0) if field == "share" else (lo > 0)


FIELD_WORDS = {"share": "share within the limit", "p50": "median", "p90": "90th percentile"}


def _fmt(field: str, value: float) -> str:
    return f"{100 * value:.1f} %" if field == "share" else f"{value:.1f} min"


def mix_notes(exp: Experiment, runs: pd.DataFrame, summary: pd.DataFrame) -> list[str]:
    """Explanations for pooled stage metrics that get worse while no source does on its own.

    A city-wide share or percentile pools 110 incidents and work orders: when a variant changes
    how many events of one source are judged (more full-time workers file more grid patrol
    reports), the pooled figure moves with the mix even though each source's own figure holds
    or improves. One note per metric, with the numbers of the variant that moved it most.
    """
    ok = runs[runs["status"] == "ok"] if len(runs) else runs
    base = exp.baseline.name
    notes = []
    for metric in exp.metrics:
        stage, _, field = metric.partition(".")
        if stage not in STAGES or field not in ("share", "p50", "p90"):
            continue
        rows = summary[(summary["metric"] == metric) & (summary["variant"] != base)]
        moved = [r for r in rows.itertuples(index=False)
                 if _worse(field, r.diff_ci_low, r.diff_ci_high) and not _any_source_worse(exp, ok, stage, field, r.variant)]
        if moved:
            worst = max(moved, key=lambda r: abs(r.diff))
            notes.append(_mix_note(exp, ok, metric, stage, field, [r.variant for r in moved], worst.variant))
    return notes


def _source_series(exp: Experiment, ok: pd.DataFrame, column: str, variant: str) -> pd.Series:
    return _series_by_variant(exp, ok, column)[variant]


def _any_source_worse(exp: Experiment, ok: pd.DataFrame, stage: str, field: str, variant: str) -> bool:
    base = exp.baseline.name
    for src in SOURCES:
        col = f"{src}.{stage}.{field}"
        a, b = _source_series(exp, ok, col, base), _source_series(exp, ok, col, variant)
        reps = sorted(set(a.dropna().index) & set(b.dropna().index))
        if len(reps) >= 2:
            _, lo, hi = paired_difference_ci(a.loc[reps].to_numpy(), b.loc[reps].to_numpy())
            if _worse(field, lo, hi):
                return True
    return False


def _mean(exp: Experiment, ok: pd.DataFrame, column: str, variant: str) -> float:
    s = _source_series(exp, ok, column, variant)
    return float(s.mean()) if len(s) else math.nan


def _mix_note(exp: Experiment, ok: pd.DataFrame, metric: str, stage: str, field: str, variants: list[str],
              worst: str) -> str:
    base = exp.baseline.name
    n = {src: (_mean(exp, ok, f"{src}.{stage}.n", base), _mean(exp, ok, f"{src}.{stage}.n", worst)) for src in SOURCES}
    grown = max(SOURCES, key=lambda s: (n[s][1] - n[s][0]) if np.isfinite(n[s][1] - n[s][0]) else -math.inf)
    others = [s for s in SOURCES if s != grown and n[s][1] > 0]
    value = {s: _mean(exp, ok, f"{s}.{stage}.{field}", worst) for s in SOURCES}
    text = (f"{metric} looks worse for {', '.join(variants)} although no source got worse on its own: the mix "
            f"of judged events changed. At {worst}, {n[grown][1]:,.0f} {SOURCE_NAMES[grown]} a run are judged on "
            f"{stage} ({n[grown][0]:,.0f} at the baseline), and their {FIELD_WORDS[field]} is {_fmt(field, value[grown])} "
            f"(" + "; ".join(f"{SOURCE_NAMES[s]}: {_fmt(field, value[s])}" for s in others)
            + "), so the pooled figure moves while each source's own holds or improves.")
    reports = ("volume.grid_patrol_reports" in ok.columns and grown == "grid"
               and _mean(exp, ok, "volume.grid_patrol_reports", worst) > _mean(exp, ok, "volume.grid_patrol_reports", base))
    if reports and _more_grid_staff(exp, worst):
        text += (f" More workers on patrol find more of the latent hazards within the run, so demand grows with staff "
                 f"({_mean(exp, ok, 'volume.grid_patrol_reports', base):,.0f} -> "
                 f"{_mean(exp, ok, 'volume.grid_patrol_reports', worst):,.0f} reports a run). "
                 f"Judge a source alone with {'/'.join(f'{s}.{stage}.{field}' for s in SOURCES)}.")
    return text


LOAD_METRICS = ("queue.grid_mean", "queue.grid_max", "volume.open_at_end", "volume.events_after_warmup",
                "volume.events_total")


def demand_notes(exp: Experiment, runs: pd.DataFrame, summary: pd.DataFrame) -> list[str]:
    """Explanations for queues and open work that grow with grid staff: more workers on patrol find
    more of the latent hazards within the run, so more staff means more filed work (the model's
    mechanism, not a fault)."""
    ok = runs[runs["status"] == "ok"] if len(runs) else runs
    col = "volume.grid_patrol_reports"
    if col not in ok.columns:
        return []
    base = exp.baseline.name
    rows = summary[summary["metric"].isin(LOAD_METRICS) & (summary["variant"] != base)]
    grew = {v.name: _more_grid_staff(exp, v.name) and _mean(exp, ok, col, v.name) > _mean(exp, ok, col, base)
            for v in exp.variants}
    up = rows[(rows["diff_ci_low"] > 0).to_numpy(bool) & rows["variant"].map(grew).to_numpy(bool)]
    if up.empty:
        return []
    variants = list(dict.fromkeys(up["variant"]))
    most = max(variants, key=lambda v: _mean(exp, ok, col, v))
    return [f"{', '.join(dict.fromkeys(up['metric']))} rise with more grid staff ({', '.join(variants)}): the "
            f"workers on patrol find more of the latent hazards, so demand grows with staff ({_mean(exp, ok, col, base):,.0f} "
            f"-> {_mean(exp, ok, col, most):,.0f} reports a run at {most}), and the extra reports wait in the same "
            f"queues. Judge the service by shares and times per source (e.g. grid.register_dispatch.share), "
            f"not by queue lengths or open counts."]


def backwards_notes(exp: Experiment, runs: pd.DataFrame, summary: pd.DataFrame) -> list[str]:
    """Every explanation the summary needs: mix changes in pooled metrics, demand that grows with staff."""
    return mix_notes(exp, runs, summary) + demand_notes(exp, runs, summary)


def _more_grid_staff(exp: Experiment, variant: str) -> bool:
    """The variant has more grid staff (full-time, part-time workers or leaders) than the baseline."""
    a, b = exp.baseline.scenario.staff, exp.variant(variant).scenario.staff
    return any(getattr(b, k) > getattr(a, k) for k in ("fulltime_workers", "parttime_workers", "grid_leaders"))
