"""Statistics from the per-event records table (`events.parquet`), never from a live model.

Working on saved tables keeps analysis reproducible and lets replications run elsewhere; this
module therefore does not import the simulation. Everything is vectorised: tables can hold
ten million rows.

Stages
------
Each stage judges elapsed = end - reference, on the events it applies to:

    stage               elapsed               judged against                   applies to
    respond             t_dispatch - t_call   targets.response_min (3)         "110" incidents
    on_scene            t_arrive - t_call     targets.on_scene_min (5; rural   "110" incidents
                                              grids on_scene_rural_min, 10)
    support             t_support - t_call    targets.support_min (15)         needs_support > 0
    cordon              t_cordon - t_call     targets.cordon_min (30)          needs_cordon > 0
    register_dispatch   t_dispatch - t_call   due_register_dispatch            work orders
    verify              t_verify - t_report   due_verify                       work orders with a t_report
    close               t_close - t_call      due_close                        work orders

Work orders are events with source "12345" or "grid". A target stage is *met* when elapsed <=
its limit. A work-order stage is met when its end time <= the row's due time: an ABSOLUTE
time (minutes from the run start) at which the limit runs out, already converted from the
limit's own clock (working days skip nights, weekends and holidays), NaN where no limit
applies. Elapsed stays calendar minutes (end - reference) for the percentiles.

Which rows are judged
---------------------
- Warm-up: rows with t_call < warmup_min (or NaN t_call) are excluded from every statistic;
  work-order stages skip orders called before `work_order_warmup_min` instead (by default the
  same as warmup_min; scenarios set a day, since deadlines run for days).
- Target stages: an applicable row whose end time is known is judged on it. End time NaN on
  an open event (not closed by the run's end, `open` True): censored. If horizon_min -
  reference > limit it has already failed: a MISS with elapsed +inf. Otherwise it cannot be
  judged yet and is excluded. End time NaN on a closed event (`open` False): the stage did not
  happen; excluded.
- Work-order stages judge the COHORT whose due time falls inside the run (due <= horizon_min)
  and nothing else: met when end <= due; end NaN on an open row is a censored miss (elapsed
  +inf); end NaN on a closed row (the stage did not happen) is excluded. Rows due after the
  horizon are not judged even when already done: only the quick ones could be, and judging
  them alone would report the share of fast orders, not of all orders (biased towards 100 %).
  `gridsim.analysis.survival` estimates time to close using every row, open ones censored.

Per stage: n (judged rows), met, share = met / n (NaN when n == 0), its 95 % Wilson score
interval, and percentiles p50/p90/p95/p99 of elapsed (linear interpolation, as numpy's
default). Censored misses are +inf, so a high percentile can be inf: that is honest, all we
know of those times is that they exceed the limit, so no finite number would be true.

Pass or fail: the judging rule
------------------------------
Each stage has a required share, `[targets].<stage>_required_share` (0.9 in the baseline).
`judge(met, n, required)` gives one of four verdicts:

    "too few to judge"  n < MIN_JUDGED (30) judged events: no verdict, whatever the share
    "met"               the whole 95 % Wilson interval is at or above the requirement
    "missed"            the whole interval is below it
    "uncertain"         the interval straddles it: more events (days, replications) decide

The interval, not the point share, decides, so a planner is never told "met" on a share that
could as well be under the requirement. The Wilson interval treats events as independent;
events in one run share queues, so the interval is, if anything, too narrow: pool
replications before trusting a verdict near the line. Over replications,
`judge_replications` applies the same rule to the mean share's Student-t interval (the
replications' spread is the honest noise); `verdict(ci_low, ci_high, n, required)` is the rule
on any given interval.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterable, Mapping, Union

import numpy as np
import pandas as pd
from scipy import stats

from gridsim.domain import PERCENTILES, STAGES, WORK_ORDER_SOURCES, WORK_ORDER_STAGES, Stage
from gridsim.scenario import Targets

BY_COLUMNS = ("division", "category", "source", "priority", "hour")
Z95 = 1.959964
MIN_JUDGED = 30
"""Fewer judged events than this give "too few to judge", never met or missed."""
MET, MISSED, UNCERTAIN, TOO_FEW = "met", "missed", "uncertain", "too few to judge"
STATUSES = (MET, MISSED, UNCERTAIN, TOO_FEW)

TargetLimits = Union[Mapping[str, float], Targets]
"""The scenario's [targets]: the typed table, or a plain mapping (summaries store a dict)."""


# --- judging -------------------------------------------------------------------------------

def need_columns(events: pd.DataFrame, columns: Iterable[str]) -> None:
    """KeyError naming the columns an events table lacks (a table from another gridsim version)."""
    missing = [c for c in columns if c not in events.columns]
    if missing:
        raise KeyError(f"events table lacks column(s) {', '.join(missing)}")


def _stage(name: str) -> Stage:
    try:
        return STAGES[name]
    except KeyError:
        raise ValueError(f"unknown stage {name!r}; allowed: {', '.join(STAGES)}") from None


def _base_masks(events: pd.DataFrame, warmup_min: float, work_order_warmup_min: float | None
                ) -> dict[str, np.ndarray]:
    """Per stage, the rows that count at all: called at or after the stage's warm-up (target
    stages `warmup_min`; work-order stages `work_order_warmup_min`, default `warmup_min`)."""
    need_columns(events, ["t_call"])
    t_call = events["t_call"].to_numpy(dtype=np.float64)
    wo_warmup = warmup_min if work_order_warmup_min is None else work_order_warmup_min
    target, work_order = t_call >= warmup_min, t_call >= wo_warmup
    return {name: (target if s.is_target else work_order) for name, s in STAGES.items()}


def applies_to(events: pd.DataFrame, stage: str) -> np.ndarray:
    """Rows a stage applies to, before warm-up and censoring: 110 incidents for respond and on
    scene, rows needing support or a cordon for those, work orders for the work-order stages."""
    name = _stage(stage).name
    if name in ("respond", "on_scene"):      # the patrol targets judge 110 incidents only
        need_columns(events, ["source"])
        return (events["source"] == "110").to_numpy(bool)
    if name == "support":
        need_columns(events, ["needs_support"])
        return events["needs_support"].to_numpy() > 0
    if name == "cordon":
        need_columns(events, ["needs_cordon"])
        return events["needs_cordon"].to_numpy() > 0
    need_columns(events, ["source"])
    return events["source"].isin(WORK_ORDER_SOURCES).to_numpy(bool)


RURAL_TARGET_KEY = {name: s.rural_target_key for name, s in STAGES.items() if s.rural_target_key}
"""Stages whose target is longer in rural grids: stage -> the [targets] key of the rural limit."""

def due_column(stage: str) -> str:
    """The events-table column holding a work-order stage's absolute due time (minutes from the run start)."""
    st = _stage(stage)
    if st.due_column is None:
        raise ValueError(f"stage {stage!r} is judged against a target, not a due time; "
                         f"work-order stages: {', '.join(WORK_ORDER_STAGES)}")
    return st.due_column


def _limit(events: pd.DataFrame, stage: Stage, targets: TargetLimits) -> tuple[np.ndarray | float, float | None]:
    """A target stage's (limit per row or scalar, scalar limit for the table or None for per-row limits)."""
    if isinstance(targets, Targets):
        targets = targets.as_dict()
    if stage.target_key not in targets:
        raise KeyError(f"targets lacks {stage.target_key!r} (needed for stage {stage.name!r})")
    lim = float(targets[stage.target_key])
    rural = targets.get(stage.rural_target_key) if stage.rural_target_key else None
    if rural is not None and "urban" in events.columns and float(rural) != lim:
        # per-row: the national 110 rule gives rural grids a longer limit
        return np.where(events["urban"].to_numpy(bool), lim, float(rural)), None
    return lim, lim


def _judge(events: pd.DataFrame, stage: Stage, targets: TargetLimits, horizon_min: float, base: np.ndarray
           ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Judged-row mask, and for the judged rows: elapsed (inf = censored miss), met, limit
    (minutes; for work orders the row's own due - reference)."""
    need_columns(events, [stage.reference, stage.end, "open"])
    ref = events[stage.reference].to_numpy(dtype=np.float64)
    end = events[stage.end].to_numpy(dtype=np.float64)
    is_open = events["open"].to_numpy(dtype=bool)
    reached = ~np.isnan(end)
    if stage.is_target:
        limit, _ = _limit(events, stage, targets)
        limit = np.broadcast_to(np.asarray(limit, dtype=np.float64), ref.shape)
        candidate = base & applies_to(events, stage.name) & ~np.isnan(ref)
        with np.errstate(invalid="ignore"):
            failed_already = is_open & ~reached & (horizon_min - ref > limit)
        judged = candidate & (reached | failed_already)
        elapsed = np.where(reached[judged], end[judged] - ref[judged], np.inf)
        return judged, elapsed, elapsed <= limit[judged], limit[judged]
    column = due_column(stage.name)
    need_columns(events, [column])
    due = events[column].to_numpy(dtype=np.float64)
    with np.errstate(invalid="ignore"):
        cohort = base & applies_to(events, stage.name) & ~np.isnan(ref) & (due <= horizon_min)   # NaN due: never
    judged = cohort & (reached | is_open)
    elapsed = np.where(reached[judged], end[judged] - ref[judged], np.inf)
    with np.errstate(invalid="ignore"):
        met = reached[judged] & (end[judged] <= due[judged])
    return judged, elapsed, met, due[judged] - ref[judged]


# --- pass or fail ---------------------------------------------------------------------------

def required_key(stage: str) -> str:
    """The [targets] key holding a stage's required share: 'on_scene_required_share'."""
    return f"{_stage(stage).name}_required_share"


def required_share(targets: TargetLimits, stage: str) -> float | None:
    """The stage's required share from the scenario's targets; None when the targets predate
    required shares (a summary written before they were scenario keys)."""
    key = required_key(stage)
    if isinstance(targets, Targets):
        return float(getattr(targets, key))
    value = targets.get(key) if isinstance(targets, Mapping) else None
    return None if value is None else float(value)


@dataclass(frozen=True)
class Judgement:
    """The verdict on one share: status (one of STATUSES), the share and its 95 % interval."""

    status: str
    share: float
    ci_low: float
    ci_high: float
    n: int
    required: float

    @property
    def met(self) -> bool:
        return self.status == MET


def verdict(ci_low, ci_high, n, required, min_n: int = MIN_JUDGED):
    """The judging rule on given intervals (scalars or arrays): see the module docstring.

    Returns a status string for scalars, an object array of them for arrays. A NaN interval
    (no judged events) is "too few to judge", since n is then below `min_n`.
    """
    lo = np.asarray(ci_low, dtype=np.float64)
    hi = np.asarray(ci_high, dtype=np.float64)
    nn = np.asarray(n, dtype=np.float64)
    req = np.asarray(required, dtype=np.float64)
    if np.isnan(req).any():
        raise ValueError("a required share is needed to judge (got NaN)")
    with np.errstate(invalid="ignore"):
        out = np.where(nn < min_n, TOO_FEW,
                       np.where(lo >= req, MET, np.where(hi < req, MISSED, UNCERTAIN))).astype(object)
    return str(out.item()) if out.ndim == 0 else out


def judge(met: int, n: int, required: float, min_n: int = MIN_JUDGED) -> Judgement:
    """Judge `met` of `n` events against a required share (e.g. 0.9) with the Wilson interval.

    >>> judge(95, 100, 0.9).status, judge(50, 100, 0.9).status, judge(10, 10, 0.9).status
    ('uncertain', 'missed', 'too few to judge')
    """
    if not 0.0 < required <= 1.0:
        raise ValueError(f"required share must be in (0, 1], got {required!r}")
    lo, hi = wilson_interval(int(met), int(n))
    share = met / n if n else math.nan
    return Judgement(verdict(lo, hi, n, required, min_n), share, lo, hi, int(n), float(required))


def judge_replications(shares: Iterable[float], ns: Iterable[float], required: float,
                       min_n: int = MIN_JUDGED) -> Judgement:
    """Judge a share over replications: the mean share with its Student-t interval when two or
    more replications judged events (their spread is the honest noise), else the one
    replication's Wilson interval. n is the events judged over all replications; replications
    that judged nothing (share NaN) are left out. The interval is clipped to 0-100 %.
    """
    if not 0.0 < required <= 1.0:
        raise ValueError(f"required share must be in (0, 1], got {required!r}")
    sh = np.asarray(list(shares) if not isinstance(shares, (np.ndarray, pd.Series)) else shares, dtype=np.float64)
    nn = np.asarray(list(ns) if not isinstance(ns, (np.ndarray, pd.Series)) else ns, dtype=np.float64)
    have = ~np.isnan(sh) & (np.nan_to_num(nn) > 0)
    sh, nn = sh[have], nn[have]
    total = int(nn.sum())
    if len(sh) >= 2:
        m, lo, hi = mean_ci(sh)
        lo, hi = max(0.0, lo), min(1.0, hi)
        return Judgement(verdict(lo, hi, total, required, min_n), m, lo, hi, total, float(required))
    if len(sh) == 1:
        return judge(int(round(sh[0] * nn[0])), int(nn[0]), required, min_n)
    return Judgement(TOO_FEW, math.nan, math.nan, math.nan, 0, float(required))


# --- summary arithmetic --------------------------------------------------------------------

def _wilson(k: np.ndarray, n: np.ndarray, z: float) -> tuple[np.ndarray, np.ndarray]:
    k = np.asarray(k, dtype=np.float64)
    n = np.asarray(n, dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = k / n
        z2 = z * z
        denom = 1.0 + z2 / n
        centre = (p + z2 / (2.0 * n)) / denom
        half = z / denom * np.sqrt(p * (1.0 - p) / n + z2 / (4.0 * n * n))
    return np.clip(centre - half, 0.0, 1.0), np.clip(centre + half, 0.0, 1.0)


def wilson_interval(k: int, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval for k successes in n trials: sane at shares near 0 or 1 and small n.

    (nan, nan) when n == 0.
    """
    if n < 0 or k < 0 or k > n:
        raise ValueError(f"need 0 <= k <= n, got k={k}, n={n}")
    if n == 0:
        return math.nan, math.nan
    lo, hi = _wilson(np.array([k]), np.array([n]), z)
    return float(lo[0]), float(hi[0])


def _group_percentiles(codes: np.ndarray, values: np.ndarray, n_groups: int,
                       qs: Iterable[float] = PERCENTILES) -> np.ndarray:
    """Linear-interpolated percentiles per group, (n_groups, len(qs)), inf-safe, NaN for empty groups.

    numpy's own percentile turns inf into NaN when it interpolates next to an infinite value
    (inf * 0); here a percentile whose upper neighbour is inf is inf unless it sits exactly on a
    finite value.
    """
    qs = list(qs)
    out = np.full((n_groups, len(qs)), np.nan)
    if len(values) == 0:
        return out
    if n_groups == 1:
        sv = np.sort(values)
    else:   # sort by value, then stably by group (radix sort on small ints): much faster than lexsort
        by_value = np.argsort(values)
        small = codes.astype(np.int16 if n_groups < 2 ** 15 else np.int64)
        sv = values[by_value[np.argsort(small[by_value], kind="stable")]]
    counts = np.bincount(codes, minlength=n_groups)
    starts = np.cumsum(counts) - counts
    has = counts > 0
    cnt, st = counts[has], starts[has]
    for j, q in enumerate(qs):
        h = (cnt - 1) * (q / 100.0)
        lo = np.floor(h).astype(np.int64)
        hi = np.ceil(h).astype(np.int64)
        frac = h - lo
        a, b = sv[st + lo], sv[st + hi]
        with np.errstate(invalid="ignore"):
            interp = np.where(np.isinf(b), np.inf, a + frac * (b - a))
        out[has, j] = np.where(frac == 0, a, interp)
    return out


def _summarise(codes: np.ndarray, elapsed: np.ndarray, met: np.ndarray, n_groups: int) -> dict[str, np.ndarray]:
    n = np.bincount(codes, minlength=n_groups)
    k = np.bincount(codes[met], minlength=n_groups).astype(np.int64)
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(n > 0, k / np.maximum(n, 1), np.nan)
    lo, hi = _wilson(k, n, Z95)
    pct = _group_percentiles(codes, elapsed, n_groups)
    out = {"n": n.astype(np.int64), "met": k, "share": share, "ci_low": lo, "ci_high": hi}
    for j, q in enumerate(PERCENTILES):
        out[f"p{q}"] = pct[:, j]
    return out


# --- public tables -------------------------------------------------------------------------

def stage_table(events: pd.DataFrame, targets: TargetLimits, horizon_min: float, warmup_min: float = 0.0,
                work_order_warmup_min: float | None = None) -> dict[str, dict]:
    """Per stage: n, met, share, ci_low, ci_high, p50, p90, p95, p99, limit_min, required, status.

    Every stage appears, with share NaN when nothing was judged; limit_min is None for stages
    with per-row limits (the work-order deadlines). `required` is the stage's required share
    and `status` its verdict by `judge` (both None when the targets carry no required shares).
    Work-order stages skip orders called before `work_order_warmup_min` (default: warmup_min).
    """
    bases = _base_masks(events, warmup_min, work_order_warmup_min)
    table: dict[str, dict] = {}
    for name, stage in STAGES.items():
        _, elapsed, met, _ = _judge(events, stage, targets, horizon_min, bases[name])
        s = _summarise(np.zeros(len(elapsed), dtype=np.int64), elapsed, met, 1)
        row = {key: (int(v[0]) if key in ("n", "met") else float(v[0])) for key, v in s.items()}
        row["limit_min"] = _limit(events, stage, targets)[1] if stage.is_target else None
        req = required_share(targets, name)
        row["required"] = req
        row["status"] = None if req is None else verdict(row["ci_low"], row["ci_high"], row["n"], req)
        table[name] = row
    return table


def _group_keys(events: pd.DataFrame, by: str) -> pd.Series:
    if by not in BY_COLUMNS:
        raise ValueError(f"cannot group by {by!r}; allowed: {', '.join(BY_COLUMNS)}")
    if by == "hour":
        t = events["t_call"].to_numpy(dtype=np.float64)
        return pd.Series(np.floor(t / 60.0) % 24, index=events.index)   # NaN t_call stays NaN
    need_columns(events, [by])
    return events[by]


def stage_table_by(events: pd.DataFrame, by: str, targets: TargetLimits, horizon_min: float,
                   warmup_min: float = 0.0, work_order_warmup_min: float | None = None) -> pd.DataFrame:
    """Long table: one row per (value of `by`, stage), columns [by, stage, n, met, share, ci_low,
    ci_high, p50, p90, p95, p99, required, status] (required and status as in `stage_table`).

    `by` is "division", "category", "source", "priority" or "hour" (hour of day of t_call,
    floor(t_call / 60) % 24). The table is rectangular over the `by` values seen after the
    warm-up: a stage that does not apply to a group still has its row, with n 0 and share NaN.
    Rows whose `by` value is missing are left out.
    """
    bases = _base_masks(events, warmup_min, work_order_warmup_min)
    keys = _group_keys(events, by)
    codes_all, uniques = pd.factorize(keys, sort=True)
    if by == "hour":
        uniques = np.asarray(uniques, dtype=np.int64)
    else:
        uniques = np.asarray(uniques, dtype=object)
    bases = {name: b & (codes_all >= 0) for name, b in bases.items()}
    # keep only groups seen after a warm-up, renumbered 0..g-1 in sorted order
    seen = np.zeros(len(uniques), dtype=bool)
    for b in bases.values():
        seen[codes_all[b]] = True
    remap = np.cumsum(seen) - 1
    groups = uniques[seen]
    g = len(groups)
    parts = []
    for name, stage in STAGES.items():
        judged, elapsed, met, _ = _judge(events, stage, targets, horizon_min, bases[name])
        s = _summarise(remap[codes_all[judged]], elapsed, met, g)
        req = required_share(targets, name)
        status = (np.full(g, None, dtype=object) if req is None
                  else np.asarray(verdict(s["ci_low"], s["ci_high"], s["n"], req), dtype=object).reshape(g))
        part = pd.DataFrame({by: groups, "stage": name, **s, "required": req, "status": status})
        parts.append(part)
    columns = ([by, "stage", "n", "met", "share", "ci_low", "ci_high"] + [f"p{q}" for q in PERCENTILES]
               + ["required", "status"])
    out = pd.concat(parts, ignore_index=True)
    # parts are stage-major; reorder to group-major with stages in STAGES order
    order = np.arange(len(out)).reshape(len(STAGES), g).T.ravel()
    return out.iloc[order].reset_index(drop=True)[columns]


def stage_elapsed(events: pd.DataFrame, stage: str, targets: TargetLimits, horizon_min: float,
                  warmup_min: float = 0.0, work_order_warmup_min: float | None = None) -> pd.DataFrame:
    """The judged rows of one stage: event_id, elapsed (min, inf = censored miss), met, limit
    (min; a work order's own due - reference).

    Rows keep the table's order; this is what distribution plots and percentile checks use.
    """
    st = _stage(stage)
    need_columns(events, ["event_id"])
    base = _base_masks(events, warmup_min, work_order_warmup_min)[st.name]
    judged, elapsed, met, lim = _judge(events, st, targets, horizon_min, base)
    return pd.DataFrame({"event_id": events["event_id"].to_numpy()[judged], "elapsed": elapsed,
                         "met": met, "limit": lim})


# --- is the run long enough? -------------------------------------------------------------

def _duration_text(minutes: float) -> str:
    """'30 min', '4.0 h', '3.0 days': a deadline in the unit a reader thinks of it in."""
    if minutes < 120.0:
        return f"{minutes:.0f} min"
    if minutes < 2 * 1440.0:
        return f"{minutes / 60.0:.1f} h"
    return f"{minutes / 1440.0:.1f} days"


def deadline_coverage(events: pd.DataFrame, horizon_min: float, warmup_min: float) -> list[str]:
    """One line per work-order stage the run is too short to judge: none of the orders called
    after the warm-up (`warmup_min`: the work-order warm-up) falls due inside the run, fewer
    than half do, or whole categories (their deadlines the longest) have none due inside, so
    the judged share speaks for the quick categories only. The line suggests a run length at
    which half would fall due for a steady stream of orders with the longest deadline seen (D
    calendar days after the reference): the warm-up plus 2 D. Stages without any deadline in
    the table say nothing.
    """
    need_columns(events, ["t_call"])
    t_call = events["t_call"].to_numpy(dtype=np.float64)
    days = horizon_min / 1440.0
    lines = []
    for name in WORK_ORDER_STAGES:
        stage = STAGES[name]
        need_columns(events, [stage.reference, due_column(name)])
        ref = events[stage.reference].to_numpy(dtype=np.float64)
        due = events[due_column(name)].to_numpy(dtype=np.float64)
        has = applies_to(events, name) & ~np.isnan(ref) & ~np.isnan(due)
        if not has.any():
            continue
        longest = float(np.max(due[has] - ref[has]))
        cohort = has & (t_call >= warmup_min)
        due_inside = cohort & (due <= horizon_min)
        n, inside = int(cohort.sum()), int(due_inside.sum())
        run_days = math.ceil((warmup_min + 2.0 * longest) / 1440.0 - 1e-9)
        advice = (f"judge it on runs of at least {run_days} day{'s' * (run_days != 1)} "
                  f"(longest deadline {_duration_text(longest)})")
        if n == 0 or 2 * inside < n:
            what = (f"no order is called after the {warmup_min / 60.0:g} h warm-up of this {days:g}-day run"
                    if n == 0 else f"{inside:,} of {n:,} orders have their deadline inside this {days:g}-day run")
            lines.append(f"{name}: {what}; {advice}")
        elif "category" in events.columns:
            cat = events["category"]          # codes, not strings: a year has millions of rows
            codes = cat.cat.codes.to_numpy() if isinstance(cat.dtype, pd.CategoricalDtype) else \
                pd.factorize(cat)[0]
            names = list(cat.cat.categories) if isinstance(cat.dtype, pd.CategoricalDtype) else \
                list(pd.factorize(cat)[1])
            left_out = sorted(str(names[c]) for c in set(np.unique(codes[cohort])) - set(np.unique(codes[due_inside])))
            if left_out:
                lines.append(f"{name}: no order of {', '.join(left_out)} has its deadline inside this "
                             f"{days:g}-day run, so the judged share leaves them out; {advice}")
    return lines


# --- replications --------------------------------------------------------------------------

def mean_ci(values: Iterable[float], level: float = 0.95) -> tuple[float, float, float]:
    """(mean, low, high) with a Student-t interval: replications are few, so not a normal one.

    One value gives (v, nan, nan); none gives (nan, nan, nan). NaN values are not dropped: a
    replication without a number makes the summary NaN rather than quietly optimistic.
    """
    x = np.asarray(list(values) if not isinstance(values, (np.ndarray, pd.Series)) else values,
                   dtype=np.float64).ravel()
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must be in (0, 1), got {level!r}")
    if len(x) == 0:
        return math.nan, math.nan, math.nan
    m = float(np.mean(x))
    if len(x) == 1:
        return m, math.nan, math.nan
    with np.errstate(invalid="ignore"):
        half = float(stats.t.ppf(0.5 + level / 2.0, len(x) - 1) * np.std(x, ddof=1) / math.sqrt(len(x)))
    return m, m - half, m + half


def paired_difference_ci(a: Iterable[float], b: Iterable[float], level: float = 0.95
                         ) -> tuple[float, float, float]:
    """Mean of b - a with a t interval, pairing replication i of a with replication i of b.

    Pairing (common random numbers: same seed per replication) removes the shared noise, so
    the interval is much narrower than comparing two separate means.
    """
    xa = np.asarray(list(a) if not isinstance(a, (np.ndarray, pd.Series)) else a, dtype=np.float64).ravel()
    xb = np.asarray(list(b) if not isinstance(b, (np.ndarray, pd.Series)) else b, dtype=np.float64).ravel()
    if len(xa) != len(xb):
        raise ValueError(f"paired samples need equal lengths, got {len(xa)} and {len(xb)}")
    return mean_ci(xb - xa, level)
