"""Kaplan-Meier curves against hand-computed product limits and the plain ECDF."""

import math

import numpy as np
import pandas as pd
import pytest

from gridsim.analysis.metrics import stage_table
from gridsim.analysis.survival import DISCOVERY, km_curve, km_curves, product_limit, share_within_deadline

NAN = math.nan
TARGETS = {"response_min": 3, "on_scene_min": 5, "support_min": 15, "cordon_min": 30}


def orders(rows: list[dict]) -> pd.DataFrame:
    """Work orders (12345 unless said): t_call, t_close (NaN and open when still open), due_close."""
    base = {"source": "12345", "category": "noise", "t_call": 0.0, "t_close": NAN, "t_onset": NAN,
            "t_dispatch": NAN, "t_report": NAN, "t_verify": NAN, "due_register_dispatch": NAN, "due_verify": NAN,
            "due_close": NAN, "wd_to_close": NAN, "t_arrive": NAN, "t_support": NAN, "t_cordon": NAN,
            "needs_support": 0, "needs_cordon": 0}
    df = pd.DataFrame([{**base, **r} for r in rows])
    df["open"] = df["t_close"].isna()
    return df


def test_product_limit_by_hand_with_censoring():
    # six orders, horizon 10: closed after 1, 2, 2, 4; open since 7 (3 at the horizon) and 5 (5)
    events = orders([dict(t_call=0, t_close=1), dict(t_call=0, t_close=2), dict(t_call=3, t_close=5),
                     dict(t_call=7), dict(t_call=1, t_close=5), dict(t_call=5)])
    km = km_curve(events, "close", horizon_min=10.0)
    # S(1) = 5/6; S(2) = 5/6 * 3/5 = 1/2; 3 censored; S(4) = 1/2 * (1 - 1/2) = 1/4; 5 censored
    assert km.times.tolist() == [1.0, 2.0, 3.0, 4.0, 5.0]
    assert km.survival == pytest.approx([5 / 6, 1 / 2, 1 / 2, 1 / 4, 1 / 4])
    assert (km.n, km.n_censored) == (6, 2) and km.at_risk.tolist() == [6, 5, 3, 2, 1]
    assert km.median == 2.0 and km.median_reached
    # area under the steps up to the longest follow-up (5): 1 + 5/6 + 2 * 1/2 + 1/4
    assert km.tau == 5.0 and km.restricted_mean == pytest.approx(1 + 5 / 6 + 1 + 1 / 4)
    # Greenwood at t = 1: S^2 * 1 / (6 * 5); linear 95 % interval, clipped to [0, 1]
    half = 1.959964 * (5 / 6) * math.sqrt(1 / 30)
    assert km.ci_low[0] == pytest.approx(5 / 6 - half, abs=1e-5) and km.ci_high[0] == 1.0
    assert km.at(0.5) == 1.0 and km.at(4.0) == 0.25 and km.at(100.0) == 0.25


def test_without_censoring_km_is_one_minus_the_ecdf():
    rng = np.random.default_rng(11)
    d = np.round(rng.exponential(30.0, 200), 1)
    km = product_limit(d, np.ones(len(d), dtype=bool))
    ecdf = np.searchsorted(np.sort(d), km.times, side="right") / len(d)
    assert km.survival == pytest.approx(1.0 - ecdf)
    assert km.n_censored == 0 and km.median == pytest.approx(np.quantile(d, 0.5, method="inverted_cdf"))
    assert km.restricted_mean == pytest.approx(d.mean())           # nothing censored: the plain mean


def test_median_not_reached_when_most_are_open():
    events = orders([dict(t_call=0, t_close=60)] + [dict(t_call=float(i)) for i in range(5)])
    km = km_curve(events, "close", horizon_min=1440.0)
    assert math.isnan(km.median) and not km.median_reached
    assert km.survival[-1] == pytest.approx(5 / 6)
    empty = km_curve(events.iloc[:0], "close", horizon_min=1440.0)
    assert empty.n == 0 and math.isnan(empty.at(1.0))


def test_rows_by_source_warmup_and_closed_without_the_step():
    events = orders([dict(t_call=100, t_close=160), dict(t_call=200, source="grid", t_close=260),
                     dict(t_call=50, t_close=51),                                  # before the warm-up
                     dict(t_call=300, source="110", t_close=310),                   # not a work order
                     dict(t_call=400, source="grid")])                              # open at 1000: 600
    curves = km_curves(events, "close", 1000.0, by="source", warmup_min=60.0)
    assert list(curves) == ["12345", "grid"]
    assert curves["12345"].times.tolist() == [60.0] and curves["12345"].n == 1
    assert curves["grid"].times.tolist() == [60.0, 600.0] and curves["grid"].n_censored == 1
    # verify: an order never reported back has no reference; a closed one without t_verify is out
    ver = orders([dict(t_call=0, t_report=10, t_verify=30, t_close=40), dict(t_call=0, t_report=10, t_close=20),
                  dict(t_call=0, t_report=20)])
    km = km_curve(ver, "verify", 100.0)
    assert (km.n, km.n_censored) == (2, 1) and km.times.tolist() == [20.0, 80.0]


def test_time_to_discovery_censors_hazards_not_found():
    hazards = orders([dict(source="grid", t_onset=0, t_call=120, t_close=200),
                      dict(source="grid", t_onset=100, t_call=400, t_close=500),
                      dict(source="grid", t_onset=600, t_call=NAN)])                 # still latent at 1000
    hazards["open"] = [False, False, True]
    km = km_curve(hazards, DISCOVERY, 1000.0)
    assert km.times.tolist() == [120.0, 300.0, 400.0] and km.n_censored == 1
    assert km.survival == pytest.approx([2 / 3, 1 / 3, 1 / 3])


def test_working_clock_reads_working_days():
    events = orders([dict(t_call=0, t_close=4000, wd_to_close=1.5), dict(t_call=0, wd_to_close=3.0),
                     dict(t_call=0, t_close=900, wd_to_close=0.5)])
    km = km_curve(events, "close", 5000.0, clock="working")
    assert km.unit == "working days" and km.times.tolist() == [0.5, 1.5, 3.0]
    assert km.survival == pytest.approx([2 / 3, 1 / 3, 1 / 3])
    with pytest.raises(ValueError, match="working clock"):
        km_curve(events, DISCOVERY, 5000.0, clock="working")
    with pytest.raises(ValueError, match="clock"):
        km_curve(events, "close", 5000.0, clock="lunar")


def test_share_within_deadline_uses_orders_not_yet_due():
    day = 1440.0
    # complete cohort (all due inside the run): the KM share equals the judged share
    done = orders([dict(t_call=0, t_close=0.5 * day, due_close=day), dict(t_call=0, t_close=2 * day, due_close=day),
                   dict(t_call=0, t_close=0.2 * day, due_close=3 * day), dict(t_call=0, due_close=2 * day)])
    judged = stage_table(done, TARGETS, 4 * day)["close"]
    est = share_within_deadline(done, "close", 4 * day)
    assert est.share == pytest.approx(judged["met"] / judged["n"]) == pytest.approx(0.5)
    # a short run: nobody is due yet, so nothing is judged, and no order has been followed up to its
    # deadline: KM cannot say either (not extrapolated)
    short = orders([dict(t_call=0, t_close=0.2 * day, due_close=2 * day)] +
                   [dict(t_call=0, due_close=5 * day) for _ in range(3)])
    assert stage_table(short, TARGETS, day)["close"]["n"] == 0
    est = share_within_deadline(short, "close", day)
    assert math.isnan(est.share) and est.not_reached == ("noise",) and est.n_censored == 3


def test_share_within_deadline_by_category_uses_orders_not_yet_due():
    day = 1440.0
    # hazards (1-day deadline) called over 2 days: those called late are not due at the 2-day horizon,
    # but KM counts them at risk until then; enquiries (3-day deadline) are never followed that far
    rows = [dict(category="hazard", t_call=0.0, t_close=0.5 * day, due_close=day),
            dict(category="hazard", t_call=0.0, t_close=1.5 * day, due_close=day),      # late
            dict(category="hazard", t_call=0.5 * day, t_close=0.7 * day, due_close=1.5 * day),
            dict(category="hazard", t_call=1.5 * day, due_close=2.5 * day),             # open, not yet due
            dict(category="enquiry", t_call=0.0, t_close=0.1 * day, due_close=3 * day),
            dict(category="enquiry", t_call=0.0, due_close=3 * day)]
    events = orders(rows)
    both = share_within_deadline(events, "close", 2 * day)
    assert math.isnan(both.share) and both.not_reached == ("enquiry",)
    hazards = share_within_deadline(events[events["category"] == "hazard"], "close", 2 * day)
    # u (elapsed in deadlines): 0.5 done, 1.5 done late, 0.2 done, 0.5 censored. At 0.2: 4 at risk, 1 done;
    # at 0.5: 3 at risk (a censoring at an event time counts as still at risk), 1 done: S(1) = 3/4 * 2/3
    assert hazards.share == pytest.approx(0.5) and hazards.not_reached == ()
    # Greenwood: S^2 (1 / (4 * 3) + 1 / (3 * 2)) = 1/4 * 1/4
    assert hazards.ci_high - hazards.share == pytest.approx(1.959964 * 0.25, abs=1e-5)
