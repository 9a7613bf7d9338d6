"""The 12345 answer queue: when each call is picked up by a call-taker on an hourly roster.

Every call of a run (12345 calls and 110 calls transferred in) is drawn before the event loop
starts and nothing in the loop feeds back into the answer queue, so the queue is solved in one
pass up front rather than as scheduler events. The rules:

- seat i is on duty during hour h iff i < seats_hourly[h % 24] (t = 0 is midnight);
- calls are answered first come, first served, each at the earliest time at or after its
  arrival when an on-duty seat is free; a seat only starts a call while it is on duty;
- of the seats free at that moment, the call goes to the one that has waited longest (free and
  on duty the longest; ties to the lowest seat number): longest-idle routing, as call-centre
  switches do;
- a seat whose hour ends mid-call finishes the call and leaves afterwards; a seat coming back
  on duty is free from the start of its hour (or the end of its last call, if later).

A year is about 11 M calls: the pass is one compiled loop (numba) over a binary heap of the
on-duty seats keyed by (free from, seat), rebuilt only at the hours when the roster changes.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

HOURS_PER_DAY = 24
ANSWER_LIMIT_S = 30.0
"""The answer norm calls are counted against (95.25 % answered within 30 s, Jiangsu 2024, facts.md)."""


def answer_calls(t_arrive: np.ndarray, talk_min: np.ndarray, seats_hourly, horizon: float = math.inf) -> np.ndarray:
    """Answer time (min) of each call, in the input order; NaN when not answered before `horizon`.

    t_arrive: call arrival times (min from the run start, any order); talk_min: how long each
    call holds its seat (talk + filing, min); seats_hourly: 24 seats-on-duty counts by hour of day.
    """
    t = np.asarray(t_arrive, dtype=np.float64)
    talk = np.asarray(talk_min, dtype=np.float64)
    seats = check_roster(seats_hourly)
    if t.shape != talk.shape or t.ndim != 1:
        raise ValueError(f"t_arrive and talk_min must be 1-d arrays of one length, got {t.shape} and {talk.shape}")
    if len(t) and not (np.isfinite(t).all() and np.isfinite(talk).all() and t.min() >= 0 and talk.min() >= 0):
        raise ValueError("arrival and talk times must be finite and >= 0")
    in_order = len(t) < 2 or bool((t[1:] >= t[:-1]).all())
    order = None if in_order else np.argsort(t, kind="stable")
    t_sorted, talk_sorted = (t, talk) if order is None else (t[order], talk[order])
    answered = _answer_pass(t_sorted, talk_sorted, seats, float(horizon))
    if order is None:
        return answered
    out = np.empty_like(answered)
    out[order] = answered
    return out


def check_roster(seats_hourly) -> np.ndarray:
    """The roster as 24 int64 seat counts; ValueError unless 24 whole numbers >= 0, one of them > 0."""
    seats = np.asarray(seats_hourly)
    if seats.shape != (HOURS_PER_DAY,):
        raise ValueError(f"seats_hourly must have {HOURS_PER_DAY} values (one per hour of day), got shape {seats.shape}")
    if not np.isfinite(seats.astype(float)).all() or (seats != np.round(seats)).any() or seats.min() < 0:
        raise ValueError("seats_hourly must be whole numbers >= 0")
    if seats.max() < 1:
        raise ValueError("seats_hourly has no seat on duty in any hour")
    return seats.astype(np.int64)


# cache=True keeps the machine code on disk: only the first process on a machine compiles.
@njit(cache=True)
def _answer_pass(t, talk, seats, horizon):
    """FCFS answer times for calls sorted by arrival (see the module docstring for the rules)."""
    n = len(t)
    out = np.full(n, np.nan)
    c_max = 0
    for h in range(HOURS_PER_DAY):
        c_max = max(c_max, seats[h])
    heap_free = np.empty(c_max)                 # on-duty seats, heap ordered by (free from, seat)
    heap_seat = np.empty(c_max, dtype=np.int64)
    free_from = np.zeros(c_max)                 # each seat's last call end (kept while off duty)
    c = seats[0]
    for i in range(c):
        heap_free[i] = 0.0
        heap_seat[i] = i
    hour = 0
    change = _next_change(seats, hour, c)       # next hour the roster changes (-1: never)
    h_end = math.inf if change < 0 else change * 60.0
    for k in range(n):
        a = t[k]
        while True:
            answer = math.inf if c == 0 else max(a, heap_free[0])
            if answer < h_end:
                break
            if h_end >= horizon:
                return out
            hour = change
            c_new = seats[hour % HOURS_PER_DAY]
            start = hour * 60.0
            for j in range(c):                          # seats leaving finish their call first
                free_from[heap_seat[j]] = heap_free[j]
            for s in range(c_new):                      # the on-duty seats are 0 .. c_new - 1
                heap_free[s] = max(free_from[s], start) if s >= c else free_from[s]
                heap_seat[s] = s
            c = c_new
            for j in range(c // 2 - 1, -1, -1):
                _sift_down(heap_free, heap_seat, j, c)
            change = _next_change(seats, hour, c)
            h_end = math.inf if change < 0 else change * 60.0
        if answer >= horizon:
            return out
        out[k] = answer
        heap_free[0] = answer + talk[k]                  # the longest-idle seat takes the call
        _sift_down(heap_free, heap_seat, 0, c)
    return out


@njit(cache=True)
def _next_change(seats, hour, c):
    """First hour after `hour` whose seat count differs from c, or -1 if the roster is flat."""
    for j in range(1, HOURS_PER_DAY + 1):
        if seats[(hour + j) % HOURS_PER_DAY] != c:
            return hour + j
    return -1


@njit(cache=True)
def _sift_down(free, seat, j, size):
    """Restore the (free from, seat) min-heap below position j."""
    f, s = free[j], seat[j]
    while True:
        child = 2 * j + 1
        if child >= size:
            break
        right = child + 1
        if right < size and (free[right] < free[child] or (free[right] == free[child] and seat[right] < seat[child])):
            child = right
        if free[child] < f or (free[child] == f and seat[child] < s):
            free[j], seat[j] = free[child], seat[child]
            j = child
        else:
            break
    free[j], seat[j] = f, s
