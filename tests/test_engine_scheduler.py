"""The scheduler: time order, FIFO ties, handler registry, arrivals merged with timed events."""

import heapq
import random

import pytest

from gridsim.engine.scheduler import Scheduler


def _drain(s: Scheduler) -> list[tuple]:
    return [heapq.heappop(s.heap) for _ in range(len(s))]


def test_pops_in_time_order_with_fifo_ties():
    s = Scheduler()
    kind = s.register("k", lambda a, t, b: None)
    rnd = random.Random(3)
    items = [(rnd.choice([1.0, 2.0, 2.0, 3.5]), i) for i in range(200)]
    for t, i in items:
        s.push(t, kind, i)
    out = _drain(s)
    assert [e[0] for e in out] == sorted(t for t, _ in items)
    for t in (1.0, 2.0, 3.5):                      # equal times come out in insertion order
        ids = [e[3] for e in out if e[0] == t]
        assert ids == sorted(ids)
    assert s.peek_time() == float("inf")


def test_payloads_never_compared():
    s = Scheduler()
    s.push(1.0, 0, {"a": 1}, object())
    s.push(1.0, 0, {"b": 2}, object())   # dicts/objects are not orderable: seq must decide
    assert heapq.heappop(s.heap)[3] == {"a": 1}


def test_each_kind_goes_to_its_own_handler_and_names_are_unique():
    s = Scheduler()
    seen = []
    a = s.register("agency_a.free", lambda x, t, y: seen.append(("a", x, t)))
    b = s.register("agency_b.free", lambda x, t, y: seen.append(("b", x, t)))
    assert (a, b) == (0, 1)
    with pytest.raises(ValueError, match="already registered"):
        s.register("agency_a.free", lambda x, t, y: None)
    s.push(2.0, b, "second")
    s.push(1.0, a, "first")
    s.run([], [], [], horizon=10.0)
    assert seen == [("a", "first", 1.0), ("b", "second", 2.0)]
    assert s.events_processed == 2


def test_arrivals_merge_with_timed_events_and_timed_go_first_on_ties():
    s = Scheduler()
    log = []
    kind = s.register("timed", lambda a, t, b: log.append(("timed", a, t)))
    s.register_arrivals(0, lambda e, t: log.append(("police", e, t)))
    s.register_arrivals(1, lambda e, t: log.append(("hotline", e, t)))
    with pytest.raises(ValueError):
        s.register_arrivals(1, lambda e, t: None)
    t_ready = [5.0, 1.0, 3.0, 12.0]
    source = [0, 1, 0, 1]
    order = [1, 2, 0, 3]                      # sorted by t_ready
    s.push(3.0, kind, "x")                    # same time as arrival 2: the timed event goes first
    s.push(11.0, kind, "after")
    s.run(order, t_ready, source, horizon=10.0)
    assert log == [("hotline", 1, 1.0), ("timed", "x", 3.0), ("police", 2, 3.0), ("police", 0, 5.0)]
    assert s.events_processed == 4            # nothing past the horizon is handled


def test_handlers_may_schedule_more_events():
    s = Scheduler()
    times = []

    def tick(n, t, _):
        times.append(t)
        if n:
            s.push(t + 1.5, kind, n - 1)
    kind = s.register("tick", tick)
    s.push(0.0, kind, 3)
    s.run([], [], [], horizon=100.0)
    assert times == [0.0, 1.5, 3.0, 4.5]


def test_an_arrival_from_an_unhandled_source_is_an_error():
    s = Scheduler()
    s.register_arrivals(0, lambda e, t: None)
    with pytest.raises(RuntimeError, match="no agency handles"):
        s.run([0], [1.0], [2], horizon=5.0)
