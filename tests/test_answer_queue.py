"""The 12345 answer queue (gridsim.engine.answer_queue) and the hotline centre's call statistics.

The queue is checked three ways: against Erlang C (constant seats, Poisson calls, exponential
talk), on hand-built calls whose answer times follow from the roster rules by hand, and against
a slow reference written straight from the rules on random small rosters.
"""

from __future__ import annotations

import math

import mesa
import numpy as np
import pytest

from gridsim.analysis.theory import erlang_c, mmc_mean_wait, mmc_wait_cdf
from gridsim.engine.agencies.hotline_centre import HotlineCentre
from gridsim.engine.answer_queue import answer_calls, check_roster
from gridsim.engine.demand import HotlineCalls
from gridsim.engine.scheduler import Scheduler


def roster(*pairs: tuple[int, int]) -> list[int]:
    """24 seat counts from (first hour, seats) pairs, each holding until the next pair."""
    out, marks = [], dict(pairs)
    seats = 0
    for h in range(24):
        seats = marks.get(h, seats)
        out.append(seats)
    return out


# ------------------------------------------------------------------ theory
def test_constant_seats_agree_with_erlang_c():
    """M/M/5 at 70 % load, 400,000 calls (fixed seed): mean wait within 5 %, P(wait) within 2 %,
    P(wait <= 0.5 min) within 0.01 of Erlang C."""
    c, lam, mu, n = 5, 3.5, 1.0, 400_000
    rng = np.random.default_rng(0)
    t = np.cumsum(rng.exponential(1 / lam, n))
    wait = answer_calls(t, rng.exponential(1 / mu, n), [c] * 24) - t
    assert wait.mean() == pytest.approx(mmc_mean_wait(c, lam, mu), rel=0.05)
    assert (wait > 0).mean() == pytest.approx(erlang_c(c, lam / mu), rel=0.02)
    assert (wait <= 0.5).mean() == pytest.approx(mmc_wait_cdf(0.5, c, lam, mu), abs=0.01)


# ------------------------------------------------------------------ the rules by hand
def test_one_then_two_seats():
    """Hour 0 has one seat, later hours two: seat 1 starts at minute 60 and takes the first caller
    still waiting then."""
    seats = roster((0, 1), (1, 2))
    t = [0.0, 10.0, 20.0, 30.0, 65.0]
    talk = [50.0, 5.0, 30.0, 10.0, 1.0]
    # seat 0: call 0 at 0-50, call 1 at 50-55, call 2 at 55-85; seat 1 on duty at 60: call 3
    # at 60-70; call 4 waits for the first free seat, seat 1 at 70
    assert answer_calls(t, talk, seats).tolist() == [0.0, 50.0, 55.0, 60.0, 70.0]


def test_seat_going_off_duty_finishes_its_call_and_takes_no_more():
    """Two seats in hour 0, one after: seat 1's call runs past minute 60, then seat 1 is gone."""
    seats = roster((0, 2), (1, 1))
    t = [0.0, 1.0, 50.0, 61.0]
    talk = [100.0, 2.0, 30.0, 1.0]
    # call 2 goes to seat 1 (idle since 3) and runs to 80; call 3 waits for seat 0 at 100, not 80
    assert answer_calls(t, talk, seats).tolist() == [0.0, 1.0, 50.0, 100.0]


def test_call_goes_to_the_longest_idle_seat():
    """Seat 1 has been idle longer than seat 0, so it takes call 2 and seat 0 stays free for
    call 3 after seat 1 goes off duty (lowest-seat-first would answer call 3 at 65)."""
    seats = roster((0, 2), (1, 1))
    t = [0.0, 1.0, 10.0, 61.0]
    talk = [5.0, 1.0, 55.0, 1.0]
    assert answer_calls(t, talk, seats).tolist() == [0.0, 1.0, 10.0, 61.0]


def test_call_when_no_seat_is_on_duty_waits_for_the_next_on_duty_hour():
    seats = roster((0, 0), (8, 3), (20, 0))
    t = [120.0, 479.0, 21 * 60.0 + 5.0]
    out = answer_calls(t, [1.0, 1.0, 1.0], seats)
    assert out.tolist() == [480.0, 480.0, 1440.0 + 480.0]   # the last one waits for the next morning


def test_calls_not_answered_before_the_horizon_are_nan():
    out = answer_calls([10.0, 20.0, 30.0], [15.0, 15.0, 15.0], [1] * 24, horizon=40.0)
    assert out[:2].tolist() == [10.0, 25.0] and math.isnan(out[2])


def test_input_order_does_not_matter():
    rng = np.random.default_rng(3)
    t = rng.random(2_000) * 2 * 1440
    talk = rng.exponential(8.0, len(t))
    seats = rng.integers(0, 6, 24)
    seats[5] = 6
    perm = rng.permutation(len(t))
    assert np.array_equal(answer_calls(t[perm], talk[perm], seats), answer_calls(t, talk, seats)[perm])


# ------------------------------------------------------------------ reference from the rules
def _on_duty(i: int, t: float, seats) -> bool:
    return i < seats[int(t // 60) % 24]


def _next_on_duty(i: int, t: float, seats) -> float:
    if _on_duty(i, t, seats):
        return t
    hour = int(t // 60) + 1
    return next((hour + k) * 60.0 for k in range(24) if i < seats[(hour + k) % 24])


def _spell_start(i: int, t: float, seats) -> float:
    """Start of seat i's unbroken on-duty spell containing t (not before the run start)."""
    hour = int(t // 60)
    while hour > 0 and i < seats[(hour - 1) % 24]:
        hour -= 1
    return hour * 60.0


def reference_answers(t, talk, seats) -> list[float]:
    """The rules written out: each call in arrival order starts at the earliest time an on-duty
    seat is free; of the seats free then, the one idle longest (ties: lowest number) takes it."""
    free = [0.0] * max(seats)
    out = []
    for a, d in zip(t, talk):
        start = [_next_on_duty(i, max(a, f), seats) for i, f in enumerate(free)]
        when = min(start)
        idle_since = [(max(free[i], _spell_start(i, when, seats)), i) for i in range(len(free)) if start[i] == when]
        seat = min(idle_since)[1]
        out.append(when)
        free[seat] = when + d
    return out


@pytest.mark.parametrize("seed", range(25))
def test_agrees_with_the_rules_written_out(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 250))
    seats = rng.integers(0, 5, 24)
    seats[rng.integers(24)] = 4
    t = np.sort(rng.random(n) * 3 * 1440)
    talk = rng.exponential(float(rng.choice([2.0, 30.0, 150.0])), n)
    assert answer_calls(t, talk, seats).tolist() == reference_answers(t.tolist(), talk.tolist(), seats.tolist())


# ------------------------------------------------------------------ bad input
@pytest.mark.parametrize("seats, message", [
    ([3] * 23, "24 values"),
    ([3] * 23 + [-1], "whole numbers >= 0"),
    ([3] * 23 + [1.5], "whole numbers >= 0"),
    ([0] * 24, "no seat on duty"),
])
def test_bad_roster_is_refused(seats, message):
    with pytest.raises(ValueError, match=message):
        check_roster(seats)


def test_mismatched_or_negative_times_are_refused():
    with pytest.raises(ValueError, match="one length"):
        answer_calls([1.0, 2.0], [1.0], [1] * 24)
    with pytest.raises(ValueError, match=">= 0"):
        answer_calls([1.0, 2.0], [1.0, -1.0], [1] * 24)


# ------------------------------------------------------------------ the centre's statistics
def test_centre_reports_the_measured_window_by_hour_of_day():
    hours = 48
    calls = np.zeros(hours, dtype=np.int64)
    calls[[3, 4, 27]] = [10, 20, 40]
    wait = np.zeros(hours)
    wait[[3, 4, 27]] = [100.0, 400.0, 200.0]
    within = np.zeros(hours, dtype=np.int64)
    within[[3, 4, 27]] = [10, 15, 36]
    ones = (calls > 0).astype(np.int64)
    log = []
    centre = HotlineCentre(mesa.Model(), Scheduler(), HotlineCalls(
        calls=calls, wait_s_sum=wait, within_30s=within, first_contact=2 * ones, to_110=ones,
        from_110=3 * ones, wait_s_max=wait / 2), hand_over=lambda e, t: log.append((e, t)))
    s = centre.stats(warmup_min=4 * 60.0)                     # hour 3 is warm-up
    assert s["calls"] == 60
    assert s["answer_wait_mean_s"] == pytest.approx(600.0 / 60)
    assert s["answered_within_30s_share"] == pytest.approx(51 / 60)
    assert s["answer_wait_max_s"] == 200.0
    assert (s["first_contact"], s["to_110"], s["from_110"]) == (4, 2, 6)
    by = s["by_hour_of_day"]
    assert by["calls"][3] == 40 and by["calls"][4] == 20 and sum(by["calls"]) == 60
    assert by["answer_wait_mean_s"][3] == pytest.approx(5.0) and by["answer_wait_mean_s"][0] is None
    assert by["answered_within_30s_share"][4] == pytest.approx(0.75)
    assert centre.stats(warmup_min=0.0)["calls"] == 70
    centre.on_routed_order(7, 12.5)
    assert log == [(7, 12.5)]
