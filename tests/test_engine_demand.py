"""Demand generation on the hand-built tiny city: volumes, placement, first contact, streams."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from gridsim.domain import SOURCE_CODE
from gridsim.engine.demand import generate_demand, hourly_rate
from gridsim.engine.model import run_streams
from gridsim.scenario import load_scenario
from tiny_city import tiny_city

DAYS = 20
H = DAYS * 1440.0


@pytest.fixture(scope="module")
def spec():
    return load_scenario(None, [f"run.days={DAYS}", "demand.police_per_day=400.0", "demand.hotline_per_day=600.0"])


def test_volumes_match_the_rate_profile_within_poisson_noise(spec):
    d = generate_demand(spec, tiny_city(), run_streams(7, 0), H)
    for source, profile, per_day in (("110", "police", 400.0), ("12345", "hotline", 600.0)):
        expected = hourly_rate(spec, profile, per_day, int(H // 60)).sum()
        if source == "12345":
            expected *= 1.0 - spec.demand.hotline_first_contact_share
        n = int((d.source == SOURCE_CODE[source]).sum())
        assert abs(n - expected) < 4.0 * np.sqrt(expected), (source, n, expected)   # 4 sigma
    assert (np.diff(d.t_call) >= 0).all() and d.t_call.max() < H


def test_first_contact_share_of_hotline_calls(spec):
    d = generate_demand(spec, tiny_city(), run_streams(7, 0), H)
    share = d.first_contact_per_hour.sum() / d.hotline_calls
    p = spec.demand.hotline_first_contact_share
    assert abs(share - p) < 4.0 * np.sqrt(p * (1 - p) / d.hotline_calls)


def test_events_are_placed_in_proportion_to_population(spec):
    city = dataclasses.replace(tiny_city(), grid_population=np.array([1000.0, 1000.0, 1000.0, 5000.0]))
    d = generate_demand(spec, city, run_streams(7, 0), H)
    police = d.grid[d.source == SOURCE_CODE["110"]]
    share = (police == 3).mean()
    assert abs(share - 5 / 8) < 4.0 * np.sqrt(5 / 8 * 3 / 8 / len(police))


def test_patrol_reports_follow_the_workers_and_leave_calls_unchanged(spec):
    base = tiny_city()
    more = dataclasses.replace(base, grid_fulltime=np.array([1, 1, 1, 9]))
    a = generate_demand(spec, base, run_streams(7, 0), H)
    b = generate_demand(spec, more, run_streams(7, 0), H)
    calls = lambda d: d.t_call[d.source != SOURCE_CODE["grid"]]   # noqa: E731
    np.testing.assert_array_equal(calls(a), calls(b))            # common random numbers
    grid_b = b.grid[b.source == SOURCE_CODE["grid"]]
    assert (b.source == SOURCE_CODE["grid"]).sum() > (a.source == SOURCE_CODE["grid"]).sum()
    assert (grid_b == 3).mean() > 0.5                              # the grid with 9 full-time workers


def test_same_streams_same_demand(spec):
    a = generate_demand(spec, tiny_city(), run_streams(11, 2), H)
    b = generate_demand(spec, tiny_city(), run_streams(11, 2), H)
    np.testing.assert_array_equal(a.t_call, b.t_call)
    np.testing.assert_array_equal(a.grid, b.grid)
    c = generate_demand(spec, tiny_city(), run_streams(11, 3), H)
    assert len(c) != len(a) or not np.array_equal(c.t_call, a.t_call)
