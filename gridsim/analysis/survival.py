"""Kaplan-Meier curves of time to close (and time to discovery), open orders censored at the horizon.

Deadlines of days cannot be judged on the orders that have already closed: in a short run
only the quick ones have. The product-limit (Kaplan-Meier) estimator uses every order: a
closed one contributes its time to close, an open one the fact that it took longer than its
age at the end of the run (right-censored at horizon - reference). The estimate is scipy's
(`scipy.stats.ecdf` on `scipy.stats.CensoredData`), with its 95 % pointwise interval
(Greenwood's variance; undefined, NaN, where the curve reaches 0).

What is measured (`what`):
- a stage name of gridsim.domain.STAGES: its reference and end columns on the rows the stage
  applies to (close: t_call -> t_close on work orders), rows called at or after `warmup_min`;
- a pair of columns (reference, end), e.g. DISCOVERY = (t_onset, t_call): when a latent hazard
  arose to when a patrol found it; rows with a reference at or after `warmup_min`.
A row whose end is NaN is censored when it is open at the end of the run and left out when it
is closed (the step did not happen, e.g. no verification). clock="working" reads durations
from the table's `wd_to_close` (working days to close, or to the horizon when open) and
applies to time to close only.

Censoring assumes an open order would close like the closed orders of its age: true when the
closing process does not depend on when in the run an order was called. Curves by source or
category (`km_curves`) make that more plausible than one curve over everything.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Union

import numpy as np
import pandas as pd
from scipy import stats

from gridsim.analysis.metrics import Z95, applies_to, due_column, need_columns
from gridsim.domain import STAGES

DISCOVERY = ("t_onset", "t_call")
"""Time to discovery: a latent hazard's onset to a patrol finding it (the hazard's t_call)."""
CLOCKS = ("calendar", "working")
WORKING_DAYS_COLUMN = "wd_to_close"
UNIT = {"calendar": "min", "working": "working days"}
Measured = Union[str, tuple[str, str]]
"""A stage name or a (reference, end) pair of columns."""


@dataclass(frozen=True)
class SurvivalCurve:
    """A Kaplan-Meier curve: survival[i] = share not yet done just after times[i].

    times are the distinct observed durations (events and censorings) in `unit`, at_risk[i] the
    rows still not done and not censored just before times[i] (the tail, where few remain, is
    noisy: one late order can take the curve to 0); median is NaN
    when the curve never drops to 0.5 ("not reached": more than half still open at the
    longest follow-up). restricted_mean is the area under the curve up to `tau`, the longest
    follow-up (the oldest row's duration): the mean time counting everything longer as tau, a
    lower bound on the true mean while the curve is above 0 at tau.
    """

    times: np.ndarray
    survival: np.ndarray
    ci_low: np.ndarray
    ci_high: np.ndarray
    at_risk: np.ndarray
    n: int
    n_censored: int
    median: float
    restricted_mean: float
    tau: float
    unit: str

    @property
    def median_reached(self) -> bool:
        return not math.isnan(self.median)

    def at(self, t: float) -> float:
        """Survival at time t (1 before the first time; NaN for an empty curve)."""
        if self.n == 0:
            return math.nan
        i = int(np.searchsorted(self.times, t, side="right")) - 1
        return 1.0 if i < 0 else float(self.survival[i])


@dataclass(frozen=True)
class ShareWithin:
    """The share done within its own deadline, estimated from Kaplan-Meier curves by stratum.

    share is NaN when a stratum's deadline lies beyond every one of its orders' follow-up
    (`not_reached` names those strata): the run is too short to say anything about them.
    """

    share: float
    ci_low: float
    ci_high: float
    n: int
    n_censored: int
    not_reached: tuple[str, ...] = ()


def product_limit(durations: np.ndarray, observed: np.ndarray, unit: str = "min") -> SurvivalCurve:
    """The Kaplan-Meier curve of durations, `observed` False for right-censored ones."""
    d = np.asarray(durations, dtype=np.float64)
    obs = np.asarray(observed, dtype=bool)
    if d.shape != obs.shape:
        raise ValueError(f"durations and observed differ in length ({len(d)} vs {len(obs)})")
    if np.isnan(d).any() or (d < 0).any():
        raise ValueError("durations must be known and non-negative")
    n, n_cens = len(d), int((~obs).sum())
    if n == 0:
        empty = np.empty(0)
        return SurvivalCurve(empty, empty, empty, empty, empty.astype(np.int64), 0, 0, math.nan, math.nan, math.nan,
                             unit)
    data = stats.CensoredData(uncensored=d[obs], right=d[~obs]) if n_cens else d
    sf = stats.ecdf(data).sf
    times, surv = np.asarray(sf.quantiles, dtype=np.float64), np.asarray(sf.probabilities, dtype=np.float64)
    if obs.any():
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)    # "undefined at some observations": S = 0
            ci = sf.confidence_interval(0.95)
        low, high = np.asarray(ci.low.probabilities, dtype=np.float64), np.asarray(ci.high.probabilities, dtype=np.float64)
    else:                                       # nothing happened: the curve stays at 1, no interval
        low, high = np.full_like(surv, np.nan), np.full_like(surv, np.nan)
    below = np.flatnonzero(surv <= 0.5)
    median = float(times[below[0]]) if len(below) else math.nan
    tau = float(d.max())
    edges = np.r_[0.0, times]
    steps = np.r_[1.0, surv]
    widths = np.diff(np.r_[edges, tau])
    rmst = float(np.sum(steps * np.clip(widths, 0.0, None)))
    at_risk = n - np.searchsorted(np.sort(d), times, side="left")
    return SurvivalCurve(times, surv, low, high, at_risk, n, n_cens, median, rmst, tau, unit)


def durations(events: pd.DataFrame, what: Measured, horizon_min: float, clock: str = "calendar",
              warmup_min: float = 0.0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(row mask, durations, observed) of the rows measured; see the module docstring."""
    if clock not in CLOCKS:
        raise ValueError(f"unknown clock {clock!r}; allowed: {', '.join(CLOCKS)}")
    if isinstance(what, str):
        if what not in STAGES:
            raise ValueError(f"unknown stage {what!r}; allowed: {', '.join(STAGES)} or a (reference, end) pair")
        stage = STAGES[what]
        ref_col, end_col = stage.reference, stage.end
        need_columns(events, ["t_call"])
        rows = applies_to(events, what) & (events["t_call"].to_numpy(np.float64) >= warmup_min)
    else:
        ref_col, end_col = what
        need_columns(events, [ref_col])
        rows = events[ref_col].to_numpy(np.float64) >= warmup_min
    need_columns(events, [ref_col, end_col, "open"])
    ref = events[ref_col].to_numpy(np.float64)
    end = events[end_col].to_numpy(np.float64)
    observed = ~np.isnan(end)
    rows = rows & ~np.isnan(ref) & (observed | events["open"].to_numpy(bool))
    if clock == "working":
        if (ref_col, end_col) != (STAGES["close"].reference, STAGES["close"].end):
            raise ValueError(f"the working clock measures time to close only ({WORKING_DAYS_COLUMN}); "
                             f"got {ref_col} -> {end_col}")
        need_columns(events, [WORKING_DAYS_COLUMN])
        dur = events[WORKING_DAYS_COLUMN].to_numpy(np.float64)[rows]
    else:
        dur = np.where(observed[rows], end[rows], horizon_min) - ref[rows]
    return rows, np.maximum(dur, 0.0), observed[rows]


def km_curve(events: pd.DataFrame, what: Measured, horizon_min: float, clock: str = "calendar",
             warmup_min: float = 0.0) -> SurvivalCurve:
    """The Kaplan-Meier curve of a stage (e.g. "close") or a (reference, end) pair such as
    DISCOVERY, open rows censored at the horizon; minutes, or working days on clock="working"."""
    _, dur, obs = durations(events, what, horizon_min, clock, warmup_min)
    return product_limit(dur, obs, UNIT[clock])


def km_curves(events: pd.DataFrame, what: Measured, horizon_min: float, by: str, clock: str = "calendar",
              warmup_min: float = 0.0) -> dict[str, SurvivalCurve]:
    """One curve per value of the column `by` (e.g. "source", "category"), in sorted order;
    values with no measured row are left out."""
    need_columns(events, [by])
    rows, dur, obs = durations(events, what, horizon_min, clock, warmup_min)
    keys = events[by].astype(str).to_numpy()[rows]
    return {k: product_limit(dur[keys == k], obs[keys == k], UNIT[clock]) for k in sorted(set(keys))}


def _done_by_one(u: np.ndarray, observed: np.ndarray) -> tuple[float, float] | None:
    """(1 - S(1), its Greenwood variance) of durations in deadlines; None when no order was
    followed up to its deadline (the curve stops before 1)."""
    if len(u) == 0 or u.max() < 1.0:
        return None
    s = product_limit(u, observed).at(1.0)
    times, d = np.unique(u[observed & (u <= 1.0)], return_counts=True)
    at_risk = len(u) - np.searchsorted(np.sort(u), times, side="left")
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = d / (at_risk * (at_risk - d))
    var = 0.0 if s == 0.0 else s * s * float(np.sum(terms))
    return 1.0 - s, var


def share_within_deadline(events: pd.DataFrame, stage: str, horizon_min: float, warmup_min: float = 0.0,
                          strata: str | None = "category") -> ShareWithin:
    """The share of a work-order stage done by its due time, from EVERY order, incomplete
    cohorts included. Within each stratum (category: one deadline rule), Kaplan-Meier on time
    measured in deadlines, u = elapsed / (due - reference), open orders censored at (horizon -
    reference) / (due - reference), gives 1 - S(1); the strata are weighted by their orders, with
    a Greenwood-variance 95 % interval. A stratum none of whose orders was followed up to its
    deadline cannot be estimated, and then neither can the share (NaN, `not_reached`): pooling
    across deadlines would let the short-deadline categories speak for the long ones. On a
    cohort whose due times all fall inside the run this equals the judged share of
    `gridsim.analysis.metrics`; in a short run it also uses the orders not yet due, under the
    censoring assumption of the module docstring.
    """
    column = due_column(stage)
    need_columns(events, [column] + ([strata] if strata else []))
    rows, dur, obs = durations(events, stage, horizon_min, "calendar", warmup_min)
    ref = events[STAGES[stage].reference].to_numpy(np.float64)[rows]
    limit = events[column].to_numpy(np.float64)[rows] - ref
    keys = events[strata].astype(str).to_numpy()[rows] if strata else np.full(len(ref), "")
    keep = limit > 0                                      # NaN (no deadline) and nonsense are out
    u, obs, keys = dur[keep] / limit[keep], obs[keep], keys[keep]
    n, n_cens = len(u), int((~obs).sum())
    if n == 0:
        return ShareWithin(math.nan, math.nan, math.nan, 0, 0)
    share, var, missing = 0.0, 0.0, []
    for key in sorted(set(keys)):
        mine = keys == key
        got = _done_by_one(u[mine], obs[mine])
        if got is None:
            missing.append(key)
            continue
        w = mine.sum() / n
        share, var = share + w * got[0], var + w * w * got[1]
    if missing:
        return ShareWithin(math.nan, math.nan, math.nan, n, n_cens, tuple(missing))
    half = Z95 * math.sqrt(var)
    return ShareWithin(float(share), max(0.0, float(share - half)), min(1.0, float(share + half)), n, n_cens)
