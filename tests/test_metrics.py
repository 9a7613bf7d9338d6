"""Stage statistics on small hand-made event tables with answers worked out by hand."""

import math

import numpy as np
import pandas as pd
import pytest

from gridsim.analysis.metrics import (MIN_JUDGED, STAGES, STATUSES, _group_percentiles, deadline_coverage, judge, mean_ci,
                                     judge_replications, paired_difference_ci, required_key, stage_elapsed, stage_table, stage_table_by,
                                     verdict, wilson_interval)
from gridsim.scenario import ScenarioError, Targets, load_scenario

NAN = math.nan
INF = math.inf
MINUTES = {"response_min": 3, "on_scene_min": 5, "support_min": 15, "cordon_min": 30}
TARGETS = MINUTES | {required_key(stage): 0.9 for stage in STAGES}
HORIZON = 1000.0
WARMUP = 100.0
TIMES = ["t_call", "t_ready", "t_dispatch", "t_arrive", "t_done", "t_support", "t_cordon", "t_report",
         "t_verify", "t_close", "t_coarrive"]


def make(rows: list[dict]) -> pd.DataFrame:
    """An events table with the records' columns; unspecified fields take neutral defaults."""
    base = {"source": "110", "category": "theft", "priority": "urgent", "grid_id": 0, "workstation_id": 0,
            "subcenter_id": 0, "division": "Gusu", "urban": True, "handled_level": "police",
            "needs_support": 0, "needs_cordon": 0, "responder_role": "", "responder_borrowed": False,
            "coresponder_role": "", "due_register_dispatch": NAN, "due_verify": NAN,
            "due_close": NAN, "open": False, **{t: NAN for t in TIMES}}
    df = pd.DataFrame([{**base, **_due(r)} for r in rows])
    return df.astype({"event_id": "int64", "grid_id": "int32", "workstation_id": "int32", "subcenter_id": "int32",
                      "needs_support": "int8", "needs_cordon": "int8", "urban": bool, "open": bool})


def _due(row: dict) -> dict:
    """A work-order row's limits (minutes after its reference: register-dispatch, verify, close)
    as the table's absolute due times."""
    row = dict(row)
    limits = row.pop("limits", None)
    if limits is not None:
        rd, verify, close = limits
        row["due_register_dispatch"] = row["t_call"] + rd
        row["due_verify"] = row.get("t_report", NAN) + verify
        row["due_close"] = row["t_call"] + close
    return row


WO = {"limits": (30.0, 60.0, 240.0), "handled_level": "workstation"}
URGENT_WO = {**WO, "limits": (10.0, 60.0, 240.0)}

# Each row's comment says what it tests; the expected counts below follow from these alone.
ROWS = [
    # 110 in time to respond (2), late on scene (6)
    dict(event_id=1, t_call=200, t_dispatch=202, t_arrive=206, t_close=230),
    # late to respond (4), on scene exactly at the limit (5: met), support in 12 (met)
    dict(event_id=2, t_call=300, t_dispatch=304, t_arrive=305, needs_support=2, t_support=312, t_close=320),
    # called during the warm-up: would be met everywhere, must not count
    dict(event_id=3, t_call=50, t_dispatch=51, t_arrive=52, t_close=60),
    # open at the end, nothing reached, 10 min old: respond and on-scene already failed (censored misses)
    dict(event_id=4, t_call=990, open=True, division="Wuzhong"),
    # open at the end, 2 min old: cannot be judged yet, excluded
    dict(event_id=5, t_call=998, open=True),
    # closed without a dispatch (e.g. cancelled): the stages did not happen, excluded
    dict(event_id=6, t_call=400, t_close=410),
    # routine hotline order: respond does not apply; register-dispatch 20 <= 30 met, verify 100 > 60 missed
    dict(event_id=7, source="12345", priority="routine", category="noise", t_call=500, t_dispatch=520,
         t_report=600, t_verify=700, t_close=710, **WO),
    # urgent grid report, never reported back and still open: verify excluded (no t_report), close already failed
    dict(event_id=8, source="grid", category="hazard", t_call=600, t_dispatch=602, t_arrive=610, open=True,
         division="Wuzhong", **URGENT_WO),
    # routine order still waiting for dispatch after 100 min: register-dispatch failed, close not judgeable yet
    dict(event_id=9, source="12345", priority="routine", category="noise", t_call=900, open=True,
         division="Wuzhong", **WO),
    # 110 needing a cordon (35 > 30) and support never completed 300 min on: censored support miss
    dict(event_id=10, t_call=700, t_dispatch=701, t_arrive=703, needs_support=1, needs_cordon=3, t_cordon=735,
         open=True, division="Wuzhong"),
    # urgent hotline order, all within its deadlines, late against the patrol targets; closed at 890
    # but due at 1040, after the horizon: its close is NOT judged (only quick closers could be)
    dict(event_id=11, source="12345", t_call=800, t_dispatch=805, t_arrive=815, t_report=850, t_verify=880,
         t_close=890, division="Wuzhong", **URGENT_WO),
    # urgent hotline order, dispatched after 15 against its own 10-min deadline (row 7 met with 20 vs 30)
    dict(event_id=12, source="12345", t_call=820, t_dispatch=835, t_arrive=840, t_close=900, **URGENT_WO),
]

EXPECTED = {            # stage: (n, met)
    "respond": (4, 2), "on_scene": (4, 2), "support": (2, 1), "cordon": (1, 0),   # patrol targets: 110 only
    "register_dispatch": (5, 3), "verify": (2, 1), "close": (2, 1),   # close: rows 7 (met) and 8 (open, due 840)
}


@pytest.fixture
def events():
    return make(ROWS)


def test_counts_and_shares(events):
    table = stage_table(events, TARGETS, HORIZON, WARMUP)
    assert list(table) == list(STAGES)
    for stage, (n, met) in EXPECTED.items():
        assert (table[stage]["n"], table[stage]["met"]) == (n, met), stage
        assert table[stage]["share"] == pytest.approx(met / n)
        lo, hi = wilson_interval(met, n)
        assert (table[stage]["ci_low"], table[stage]["ci_high"]) == pytest.approx((lo, hi))
    assert table["respond"]["limit_min"] == 3.0 and table["cordon"]["limit_min"] == 30.0
    assert table["register_dispatch"]["limit_min"] is None


def test_typed_targets_judge_like_the_plain_mapping(events):
    limits = TARGETS | {"on_scene_rural_min": 5}
    typed = stage_table(events, Targets(**limits), HORIZON, WARMUP)
    assert typed == stage_table(events, limits, HORIZON, WARMUP)
    tighter = stage_table(events, Targets(**(limits | {"response_min": 1})), HORIZON, WARMUP)
    assert tighter["respond"]["limit_min"] == 1.0 and tighter["respond"]["met"] < typed["respond"]["met"]


def test_percentiles_keep_censored_misses_infinite(events):
    table = stage_table(events, TARGETS, HORIZON, WARMUP)
    # respond elapsed (110 rows only): 1, 2, 4, inf
    assert table["respond"]["p50"] == 3.0
    assert table["respond"]["p90"] == INF and table["respond"]["p99"] == INF
    # close elapsed of the cohort due inside the run: 210 (row 7), inf (row 8) -> p50 between them is inf
    assert table["close"]["p50"] == INF
    assert stage_elapsed(events, "close", TARGETS, HORIZON, WARMUP)["elapsed"].tolist() == [210.0, INF]


def test_warmup_and_horizon_change_what_is_judged(events):
    no_warmup = stage_table(events, TARGETS, HORIZON, 0.0)
    assert (no_warmup["respond"]["n"], no_warmup["respond"]["met"]) == (5, 3)   # row 3 now counts
    # a longer run: row 5 (998) is 7 min old and has failed respond and on-scene too; row 9's close
    # (due 900 + 240 <= 1200) has failed as well, rows 11 and 12 (due 1040, 1060) now join the cohort, met
    later = stage_table(events, TARGETS, 1200.0, WARMUP)
    assert (later["respond"]["n"], later["respond"]["met"]) == (5, 2)
    assert later["close"]["n"] == 5 and later["close"]["met"] == 3


def test_on_scene_is_judged_against_the_rural_limit_in_rural_grids():
    rows = [dict(event_id=1, t_call=200, t_dispatch=201, t_arrive=206, t_close=230),                 # urban 6 > 5
            dict(event_id=2, t_call=300, t_dispatch=301, t_arrive=308, t_close=330, urban=False),    # rural 8 <= 10
            dict(event_id=3, t_call=400, t_dispatch=401, t_arrive=412, t_close=430, urban=False),    # rural 12 > 10
            dict(event_id=4, source="12345", t_call=500, t_dispatch=501, t_arrive=502, t_close=530, **WO)]
    events = make(rows)
    table = stage_table(events, TARGETS | {"on_scene_rural_min": 10}, HORIZON, WARMUP)
    assert (table["on_scene"]["n"], table["on_scene"]["met"]) == (3, 1)    # the urgent work order is not judged
    el = stage_elapsed(events, "on_scene", TARGETS | {"on_scene_rural_min": 10}, HORIZON, WARMUP)
    assert el["limit"].tolist() == [5.0, 10.0, 10.0]
    same = stage_table(events, TARGETS, HORIZON, WARMUP)                      # no rural key: one limit
    assert (same["on_scene"]["n"], same["on_scene"]["met"]) == (3, 0) and same["on_scene"]["limit_min"] == 5.0


def test_stage_that_does_not_apply_has_nan_share(events):
    no_cordon = events[events["needs_cordon"] == 0]
    table = stage_table(no_cordon, TARGETS, HORIZON, WARMUP)
    assert table["cordon"]["n"] == 0 and table["cordon"]["met"] == 0
    assert math.isnan(table["cordon"]["share"]) and math.isnan(table["cordon"]["p50"])
    assert math.isnan(table["cordon"]["ci_low"])


def test_stage_elapsed_rows(events):
    rd = stage_elapsed(events, "register_dispatch", TARGETS, HORIZON, WARMUP)
    assert rd["event_id"].tolist() == [7, 8, 9, 11, 12]
    assert rd["elapsed"].tolist() == [20.0, 2.0, INF, 5.0, 15.0]
    assert rd["met"].tolist() == [True, True, False, True, False]
    assert rd["limit"].tolist() == [30.0, 10.0, 30.0, 10.0, 10.0]
    verify = stage_elapsed(events, "verify", TARGETS, HORIZON, WARMUP)
    assert verify["event_id"].tolist() == [7, 11]                 # rows without t_report left out
    assert verify["elapsed"].tolist() == [100.0, 30.0]
    with pytest.raises(ValueError):
        stage_elapsed(events, "teleport", TARGETS, HORIZON, WARMUP)


def test_close_is_judged_on_the_cohort_due_inside_the_run():
    # three orders closed quickly but due after the horizon, one due inside the run and closed
    # late, one due inside and still open: the old rule (judge what has closed) said 4 of 5 met
    rows = [dict(event_id=i, source="12345", t_call=500 + i, t_dispatch=501 + i, t_close=520 + i,
                 due_close=2000.0 + i) for i in range(3)]
    rows += [dict(event_id=3, source="12345", t_call=200, t_dispatch=201, t_close=700, due_close=600.0),
             dict(event_id=4, source="grid", t_call=300, t_dispatch=301, open=True, due_close=900.0)]
    events = make(rows)
    close = stage_table(events, TARGETS, HORIZON, WARMUP)["close"]
    assert (close["n"], close["met"]) == (2, 0)
    judged = stage_elapsed(events, "close", TARGETS, HORIZON, WARMUP)
    assert judged["event_id"].tolist() == [3, 4]
    assert judged["elapsed"].tolist() == [500.0, INF]            # the open one is a censored miss
    assert judged["limit"].tolist() == [400.0, 600.0]            # due - t_call
    # a run long enough for all five to fall due judges the quick ones too
    later = stage_table(events, TARGETS, 2100.0, WARMUP)["close"]
    assert (later["n"], later["met"]) == (5, 3)


def test_work_orders_are_met_by_their_absolute_due_time():
    # two orders closed 3 days after the call: one due in 2 calendar days (missed), one on a
    # working clock whose due falls after a weekend, 4 days on (met): no fixed limit can say both
    day = 1440.0
    rows = [dict(event_id=1, source="12345", t_call=day, t_close=4 * day, due_close=3 * day),
            dict(event_id=2, source="12345", t_call=day, t_close=4 * day, due_close=5 * day)]
    judged = stage_elapsed(make(rows), "close", TARGETS, 10 * day, 0.0)
    assert judged["met"].tolist() == [False, True]
    assert judged["elapsed"].tolist() == [3 * day, 3 * day]


def test_work_order_warmup_is_its_own():
    rows = [dict(event_id=1, t_call=200, t_dispatch=201, t_arrive=203),
            dict(event_id=2, source="12345", t_call=300, t_dispatch=305, t_close=400, due_register_dispatch=330.0,
                 due_close=600.0),
            dict(event_id=3, source="12345", t_call=800, t_dispatch=850, t_close=900, due_register_dispatch=830.0,
                 due_close=990.0)]
    events = make(rows)
    same = stage_table(events, TARGETS, HORIZON, WARMUP)
    assert same["register_dispatch"]["n"] == 2 and same["respond"]["n"] == 1
    later = stage_table(events, TARGETS, HORIZON, WARMUP, work_order_warmup_min=500.0)
    assert (later["register_dispatch"]["n"], later["register_dispatch"]["met"]) == (1, 0)
    assert (later["close"]["n"], later["close"]["met"]) == (1, 1)
    assert later["respond"] == same["respond"]                    # target stages keep warmup_min
    by = stage_table_by(events, "source", TARGETS, HORIZON, WARMUP, work_order_warmup_min=500.0)
    assert by.set_index(["source", "stage"]).loc[("12345", "register_dispatch"), "n"] == 1
    el = stage_elapsed(events, "register_dispatch", TARGETS, HORIZON, WARMUP, work_order_warmup_min=500.0)
    assert el["event_id"].tolist() == [3]


def test_categorical_columns_give_the_same_answer(events):
    cat = events.astype({"source": "category", "priority": "category", "division": "category",
                         "category": "category"})
    a, b = stage_table(cat, TARGETS, HORIZON, WARMUP), stage_table(events, TARGETS, HORIZON, WARMUP)
    for stage in STAGES:
        assert (a[stage]["n"], a[stage]["met"]) == (b[stage]["n"], b[stage]["met"])
    by = stage_table_by(cat, "division", TARGETS, HORIZON, WARMUP)
    assert set(by["division"]) == {"Gusu", "Wuzhong"}


def test_by_division_splits_the_totals(events):
    by = stage_table_by(events, "division", TARGETS, HORIZON, WARMUP)
    assert list(by.columns) == ["division", "stage", "n", "met", "share", "ci_low", "ci_high",
                                "p50", "p90", "p95", "p99", "required", "status"]
    assert len(by) == 2 * len(STAGES)                  # rectangular: every division x every stage
    assert by["division"].tolist()[:len(STAGES)] == ["Gusu"] * len(STAGES)
    assert by["stage"].tolist()[:len(STAGES)] == list(STAGES)
    row = by.set_index(["division", "stage"])
    assert (row.loc[("Gusu", "respond"), "n"], row.loc[("Gusu", "respond"), "met"]) == (2, 1)
    assert (row.loc[("Wuzhong", "respond"), "n"], row.loc[("Wuzhong", "respond"), "met"]) == (2, 1)
    assert row.loc[("Gusu", "cordon"), "n"] == 0 and math.isnan(row.loc[("Gusu", "cordon"), "share"])
    totals = by.groupby("stage")[["n", "met"]].sum()
    for stage, (n, met) in EXPECTED.items():
        assert (totals.loc[stage, "n"], totals.loc[stage, "met"]) == (n, met)


def test_by_hour(events):
    by = stage_table_by(events, "hour", TARGETS, HORIZON, WARMUP)
    # t_call 200 -> hour 3 ... 990, 998 -> 16; the warm-up row (t_call 50, hour 0) is gone
    assert sorted(set(by["hour"])) == [3, 5, 6, 8, 10, 11, 13, 15, 16]
    row = by[by["stage"] == "respond"].set_index("hour")
    assert (row.loc[16, "n"], row.loc[16, "met"]) == (1, 0)        # row 4 misses, row 5 not judged
    assert (row.loc[13, "n"], row.loc[13, "met"]) == (0, 0)        # rows 11 and 12 are work orders
    assert (row.loc[3, "n"], row.loc[3, "met"]) == (1, 1)
    # hours wrap at midnight: 1470 min is 00:30 of day 2
    wrap = make([dict(event_id=1, t_call=30, t_dispatch=31), dict(event_id=2, t_call=1470, t_dispatch=1480),
                 dict(event_id=3, t_call=1530, t_dispatch=1531)])
    w = stage_table_by(wrap, "hour", TARGETS, 3000.0, 0.0)
    w = w[w["stage"] == "respond"].set_index("hour")
    assert w.index.tolist() == [0, 1]
    assert (w.loc[0, "n"], w.loc[0, "met"]) == (2, 1) and (w.loc[1, "n"], w.loc[1, "met"]) == (1, 1)
    with pytest.raises(ValueError):
        stage_table_by(events, "weekday", TARGETS, HORIZON, WARMUP)


def test_group_percentiles_match_numpy_and_handle_inf():
    rng = np.random.default_rng(5)
    codes = rng.integers(0, 4, 500)
    values = rng.exponential(3.0, 500)
    got = _group_percentiles(codes, values, 5)
    for g in range(4):
        assert got[g] == pytest.approx(np.percentile(values[codes == g], [50, 90, 95, 99]))
    assert np.isnan(got[4]).all()                      # empty group
    # 10 values, last one inf: p50 finite, p90 (h = 8.1) between 9 and inf -> inf; numpy would give nan
    v = np.array([1, 2, 3, 4, 5, 6, 7, 8, 9, INF])
    p = _group_percentiles(np.zeros(10, dtype=np.int64), v, 1)[0]
    assert p[0] == 5.5 and p[1] == INF and p[3] == INF
    # exactly on a finite value next to inf stays finite: 5 values, p50 sits on the 3rd
    p = _group_percentiles(np.zeros(5, dtype=np.int64), np.array([1.0, 2.0, 3.0, INF, INF]), 1, [50, 75])[0]
    assert p.tolist() == [3.0, INF]
    # between two infs (inf - inf would be nan): still inf
    p = _group_percentiles(np.zeros(4, dtype=np.int64), np.array([1.0, INF, INF, INF]), 1, [90])[0]
    assert p.tolist() == [INF]


def test_wilson_interval_hand_value():
    # 8 of 10, z = 1.96: centre (0.8 + 0.19208) / 1.38416, half 1.96 / 1.38416 * sqrt(0.016 + 0.009604)
    lo, hi = wilson_interval(8, 10, z=1.96)
    assert lo == pytest.approx((0.99208 - 1.96 * math.sqrt(0.025604)) / 1.38416, abs=1e-9)
    assert hi == pytest.approx((0.99208 + 1.96 * math.sqrt(0.025604)) / 1.38416, abs=1e-9)
    assert (round(lo, 4), round(hi, 4)) == (0.4902, 0.9433)     # the published table value
    lo, hi = wilson_interval(0, 10)
    assert lo == 0.0 and 0.27 < hi < 0.28
    assert all(math.isnan(x) for x in wilson_interval(0, 0))


def test_mean_ci_and_paired_difference():
    # 1..5: mean 3, s = sqrt(2.5), t(0.975, 4) = 2.776445
    m, lo, hi = mean_ci([1, 2, 3, 4, 5])
    half = 2.776445 * math.sqrt(2.5) / math.sqrt(5)
    assert (m, lo, hi) == pytest.approx((3.0, 3.0 - half, 3.0 + half), abs=1e-5)
    m, lo, hi = mean_ci([7.5])
    assert m == 7.5 and math.isnan(lo) and math.isnan(hi)
    # differences 1, 2, 1: mean 4/3, s = sqrt(1/3), t(0.975, 2) = 4.302653
    m, lo, hi = paired_difference_ci([10, 12, 11], [11, 14, 12])
    half = 4.302653 * math.sqrt(1 / 3) / math.sqrt(3)
    assert (m, lo, hi) == pytest.approx((4 / 3, 4 / 3 - half, 4 / 3 + half), abs=1e-5)
    with pytest.raises(ValueError):
        paired_difference_ci([1, 2], [1, 2, 3])


# --- pass or fail ---------------------------------------------------------------------------

def test_judge_uses_the_whole_interval():
    assert judge(1000, 1000, 0.9).status == "met"
    assert judge(950, 1000, 0.9).status == "met"           # interval about 0.935-0.961
    assert judge(85, 100, 0.9).status == "uncertain"       # share below 0.9, interval 0.77-0.91 straddles it
    assert judge(95, 100, 0.9).status == "uncertain"       # share above 0.9, interval 0.89-0.98 straddles it
    assert judge(850, 1000, 0.9).status == "missed"        # interval about 0.83-0.87
    j = judge(27, 30, 0.9)
    assert (j.share, j.n, j.required) == (0.9, 30, 0.9) and (j.ci_low, j.ci_high) == pytest.approx(wilson_interval(27, 30))


def test_too_few_to_judge_below_the_minimum_whatever_the_share():
    assert MIN_JUDGED == 30
    assert judge(MIN_JUDGED - 1, MIN_JUDGED - 1, 0.5).status == "too few to judge"
    assert judge(0, MIN_JUDGED - 1, 0.9).status == "too few to judge"
    assert judge(MIN_JUDGED, MIN_JUDGED, 0.5).status == "met"
    nothing = judge(0, 0, 0.9)
    assert nothing.status == "too few to judge" and math.isnan(nothing.share)
    assert judge(5, 10, 0.9, min_n=5).status == "missed"


def test_verdict_boundaries_and_arrays():
    assert verdict(0.9, 0.95, 100, 0.9) == "met"             # lower bound exactly on the requirement
    assert verdict(0.85, 0.9, 100, 0.9) == "uncertain"       # upper bound exactly on it: not below
    out = verdict(np.array([0.95, 0.5, NAN, 0.8]), np.array([0.99, 0.6, NAN, 0.95]), np.array([100, 100, 0, 40]), 0.9)
    assert list(out) == ["met", "missed", "too few to judge", "uncertain"]
    assert set(out) <= set(STATUSES)
    with pytest.raises(ValueError):
        judge(5, 10, 0.0)
    with pytest.raises(ValueError):
        verdict(0.5, 0.6, 100, NAN)


def test_stage_rows_carry_required_and_status(events):
    table = stage_table(events, TARGETS, HORIZON, WARMUP)
    for stage in STAGES:
        assert table[stage]["required"] == 0.9
        assert table[stage]["status"] == "too few to judge"   # hand-made table: a handful of events
    big = make([dict(event_id=i, t_call=200 + i, t_dispatch=201 + i, t_arrive=203 + i + (i % 10 == 0) * 9)
                for i in range(200)])
    strict = TARGETS | {"on_scene_required_share": 0.95}
    rows = stage_table(big, strict, 1000.0, 0.0)
    assert rows["respond"]["status"] == "met"               # 200 / 200 in 1 min
    assert rows["on_scene"]["share"] == 0.9 and rows["on_scene"]["status"] == "missed"
    assert stage_table(big, TARGETS, 1000.0, 0.0)["on_scene"]["status"] == "uncertain"
    old = stage_table(big, MINUTES, 1000.0, 0.0)              # a summary from before required shares
    assert old["respond"]["required"] is None and old["respond"]["status"] is None
    by = stage_table_by(big, "division", strict, 1000.0, 0.0).set_index("stage")
    assert by.loc["on_scene", "status"] == "missed" and by.loc["respond", "required"] == 0.9


def test_required_share_is_a_scenario_key_in_range():
    spec = load_scenario(None)
    assert {required_key(s) for s in STAGES} <= set(spec.targets.as_dict())
    assert load_scenario(None, ["targets.close_required_share=1.0"]).targets.close_required_share == 1.0
    for bad in ("0", "1.5", "-0.1"):
        with pytest.raises(ScenarioError, match="on_scene_required_share"):
            load_scenario(None, [f"targets.on_scene_required_share={bad}"])


def test_judge_replications_uses_the_spread_of_replications():
    steady = judge_replications([0.95, 0.96, 0.94, 0.95], [500, 500, 500, 500], 0.9)
    assert steady.status == "met" and steady.n == 2000 and steady.share == pytest.approx(0.95)
    noisy = judge_replications([0.99, 0.80, 0.99, 0.85], [500] * 4, 0.9)
    assert noisy.status == "uncertain" and 0.0 <= noisy.ci_low and noisy.ci_high <= 1.0
    assert judge_replications([0.5, 0.55, 0.52], [100] * 3, 0.9).status == "missed"
    one = judge_replications([0.97, NAN], [1000, 0], 0.9)            # the empty replication is left out
    assert (one.status, one.n) == ("met", 1000) and one.ci_low == pytest.approx(wilson_interval(970, 1000)[0])
    assert judge_replications([1.0, 1.0], [10, 10], 0.9).status == "too few to judge"
    assert judge_replications([NAN], [0], 0.9).status == "too few to judge"


def test_deadline_coverage_warns_when_the_run_is_too_short():
    day = 1440.0
    # a 1-day run, no warm-up: 24 orders an hour apart, dispatch due in 30 min, close in 3 days
    rows = [dict(event_id=i, source="12345", t_call=60.0 * i, t_dispatch=60.0 * i + 5,
                 due_register_dispatch=60.0 * i + 30, due_close=60.0 * i + 3 * day, open=True) for i in range(24)]
    events = make(rows)
    assert deadline_coverage(events, day, 0.0) == [
        "close: 0 of 24 orders have their deadline inside this 1-day run; judge it on runs of at least 6 days "
        "(longest deadline 3.0 days)"]
    # the default work-order warm-up of a day leaves nothing to judge in a 1-day run
    assert deadline_coverage(events, day, day) == [
        "register_dispatch: no order is called after the 24 h warm-up of this 1-day run; judge it on runs of at "
        "least 2 days (longest deadline 30 min)",
        "close: no order is called after the 24 h warm-up of this 1-day run; judge it on runs of at least 7 days "
        "(longest deadline 3.0 days)"]
    assert deadline_coverage(events, 7 * day, 0.0) == []          # every deadline inside a week
    # most orders due inside, but a whole category with a long deadline none: its absence is said
    slow = make(rows + [dict(event_id=100 + i, source="12345", category="facilities", t_call=60.0 * i,
                             due_close=60.0 * i + 19 * day, open=True) for i in range(3)])
    assert deadline_coverage(slow, 7 * day, 0.0) == [
        "close: no order of facilities has its deadline inside this 7-day run, so the judged share leaves them "
        "out; judge it on runs of at least 38 days (longest deadline 19.0 days)"]
    assert deadline_coverage(events.iloc[:0], day, 0.0) == []     # no work orders: nothing to say
