"""Demand generation on the hand-built tiny city: volumes, placement, first contact, streams."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from gridsim.domain import SOURCE_CODE
from gridsim.engine.demand import FROM_12345, FROM_110, generate_demand
from gridsim.engine.model import run_streams
from gridsim.results.run import expected_per_day
from gridsim.scenario import load_scenario
from tiny_city import tiny_city

DAYS = 21            # whole weeks: the day-of-week weights average to one, so per_day x DAYS is the mean
H = DAYS * 1440.0
HAZARDS_PER_100K_DAY = 2000.0     # the tiny city has 4,000 residents: 80 hazards a day


def _spec(*extra: str):
    return load_scenario(None, [f"run.days={DAYS}", "demand.police_per_day=400.0", "demand.hotline_per_day=600.0",
                                f"demand.hazards_per_100k_day={HAZARDS_PER_100K_DAY}", *extra])


@pytest.fixture(scope="module")
def spec():
    return _spec()


def _within_poisson_noise(n: int, expected: float) -> bool:
    return abs(n - expected) < 4.0 * np.sqrt(expected)                      # 4 sigma


@pytest.mark.parametrize("transfers", [(), ("hotline.to_110_share=0.3", "hotline.from_110_share=0.4")],
                         ids=["baseline-transfers", "heavy-transfers"])
def test_volumes_per_source_match_expected_per_day_within_poisson_noise(transfers):
    """110 incidents, 12345 work orders (after first contact and both hand-overs) and hazards:
    the counts the run's memory estimate is built on (expected_per_day) are the ones generated."""
    spec = _spec(*transfers)
    city = tiny_city()
    d = generate_demand(spec, city, run_streams(7, 0), H)
    expected = {k: v * DAYS for k, v in expected_per_day(spec).items()}
    # expected_per_day counts hazards for the scenario's city; the tiny city has its own residents
    expected["grid"] = HAZARDS_PER_100K_DAY * city.grid_population.sum() / 1e5 * DAYS
    for source, mean in expected.items():
        n = int((d.source == SOURCE_CODE[source]).sum())
        assert _within_poisson_noise(n, mean), (source, n, mean)
    assert (np.diff(d.t_call) >= 0).all() and d.t_call.max() < H


def test_transfers_between_the_call_centres(spec):
    """12345 -> 110 hand-overs become 110 incidents (about hotline_per_day x to_110_share) whose
    clock starts at the hand-over; 110 -> 12345 hand-overs file 12345 orders only, timed from
    reaching the 12345 queue; handover_min says how long before that the citizen first called."""
    d = generate_demand(spec, tiny_city(), run_streams(7, 0), H)
    to_110, from_110 = d.transfer == FROM_12345, d.transfer == FROM_110
    assert (d.source[to_110] == SOURCE_CODE["110"]).all() and (d.source[from_110] == SOURCE_CODE["12345"]).all()
    assert _within_poisson_noise(int(to_110.sum()), 600.0 * spec.hotline.to_110_share * DAYS)
    # 110 calls that are not police matters: a share from_110_share of all 110 calls, whose direct
    # part is police_per_day less the police matters 12345 hands over
    hl = spec.hotline
    handed_per_day = (400.0 - 600.0 * hl.to_110_share) / (1.0 - hl.from_110_share) * hl.from_110_share
    assert _within_poisson_noise(int(d.hotline.from_110.sum()), handed_per_day * DAYS)
    assert 0 < from_110.sum() < d.hotline.from_110.sum()                 # some were resolved on the line
    # every hand-over counted in the call statistics is a row, but for those handed over after the end
    assert 0 <= int(d.hotline.to_110.sum()) - int(to_110.sum()) <= 5
    handed = to_110 | from_110
    assert (d.handover_min[handed] > 0).all() and (d.handover_min[~handed] == 0).all()
    assert (d.t_enter[to_110] == d.t_call[to_110]).all()                 # 110 takes it up on receipt
    wo = d.source == SOURCE_CODE["12345"]
    assert (d.t_answer[wo] >= d.t_call[wo]).all() and (d.t_enter[wo] > d.t_answer[wo]).all()   # filed after the talk
    assert np.isnan(d.t_answer[~wo]).all()


def test_first_contact_share_of_hotline_calls(spec):
    """Calls resolved on the line / calls = sum over 12345 categories of share x first_contact_share,
    less the calls handed to 110 before first contact is tried (a binomial share, 4 sigma)."""
    d = generate_demand(spec, tiny_city(), run_streams(7, 0), H)
    calls = int(d.hotline.calls.sum())
    share = d.hotline.first_contact.sum() / calls
    p_fcr = sum(c.share * c.first_contact_share for c in spec.categories_of("12345").values())
    sent_to_110 = d.hotline.to_110.sum() / calls
    p = (1.0 - sent_to_110) * p_fcr
    assert 0.2 < p < 0.8                                                 # the check has room both ways
    assert abs(share - p) < 4.0 * np.sqrt(p * (1 - p) / calls), (share, p)
    # a call resolved on the line files no order: orders = calls - resolved - sent to 110 (less the
    # few handed over from 110 that reach the 12345 queue only after the end)
    orders = int((d.source == SOURCE_CODE["12345"]).sum())
    assert 0 <= calls - int(d.hotline.first_contact.sum()) - int(d.hotline.to_110.sum()) - orders <= 5


def test_first_contact_follows_the_category_shares():
    """Every 12345 category resolved on the line: no 12345 work order at all; none: every call
    that is not a police matter files one."""
    names = list(_spec().categories_of("12345"))
    every = generate_demand(_spec(*[f"categories.{c}.first_contact_share=1.0" for c in names]),
                            tiny_city(), run_streams(7, 0), H)
    assert (every.source == SOURCE_CODE["12345"]).sum() == 0
    assert every.hotline.calls.sum() > 10_000
    none = generate_demand(_spec(*[f"categories.{c}.first_contact_share=0.0" for c in names]),
                           tiny_city(), run_streams(7, 0), H)
    assert none.hotline.first_contact.sum() == 0
    assert (none.source == SOURCE_CODE["12345"]).sum() == none.hotline.calls.sum() - none.hotline.to_110.sum()


def test_events_and_hazards_are_placed_in_proportion_to_population(spec):
    city = dataclasses.replace(tiny_city(), grid_population=np.array([1000.0, 1000.0, 1000.0, 5000.0]))
    d = generate_demand(spec, city, run_streams(7, 0), H)
    for source in ("110", "grid"):
        g = d.grid[d.source == SOURCE_CODE[source]]
        assert len(g) > 1000, source
        share = (g == 3).mean()
        assert abs(share - 5 / 8) < 4.0 * np.sqrt(5 / 8 * 3 / 8 / len(g)), (source, share)


def test_hazards_ignore_staffing_and_calls_ignore_hazards(spec):
    """Common random numbers: hazards are drawn on their own stream, independent of staff, so more
    grid workers change no demand at all; a different hazard rate changes no 110 or 12345 call."""
    base = tiny_city()
    more = dataclasses.replace(base, grid_fulltime=np.array([1, 1, 1, 9]))
    a = generate_demand(spec, base, run_streams(7, 0), H)
    b = generate_demand(spec, more, run_streams(7, 0), H)
    for col in ("t_call", "t_enter", "source", "category", "grid", "x", "y", "t_answer", "transfer"):
        np.testing.assert_array_equal(getattr(a, col), getattr(b, col), err_msg=col)

    fewer = generate_demand(_spec("demand.hazards_per_100k_day=500.0"), base, run_streams(7, 0), H)
    hz = lambda d: d.source == SOURCE_CODE["grid"]                        # noqa: E731
    assert hz(fewer).sum() < 0.5 * hz(a).sum()
    for col in ("t_call", "t_enter", "source", "category", "grid", "x", "y", "t_answer", "transfer"):
        np.testing.assert_array_equal(getattr(a, col)[~hz(a)], getattr(fewer, col)[~hz(fewer)], err_msg=col)
    np.testing.assert_array_equal(a.hotline.calls, fewer.hotline.calls)
    np.testing.assert_array_equal(a.hotline.wait_s_sum, fewer.hotline.wait_s_sum)


def test_same_streams_same_demand(spec):
    a = generate_demand(spec, tiny_city(), run_streams(11, 2), H)
    b = generate_demand(spec, tiny_city(), run_streams(11, 2), H)
    np.testing.assert_array_equal(a.t_call, b.t_call)
    np.testing.assert_array_equal(a.grid, b.grid)
    c = generate_demand(spec, tiny_city(), run_streams(11, 3), H)
    assert len(c) != len(a) or not np.array_equal(c.t_call, a.t_call)
