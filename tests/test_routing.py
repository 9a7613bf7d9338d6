"""Dispatcher offices: FCFS queues with c dispatchers (Erlang C), the steps an order takes, and
unbuilt levels whose work the level above does with its own staff."""

from __future__ import annotations

import mesa
import numpy as np
import pytest
from tiny_city import tiny_city

from gridsim.analysis.theory import mmc_mean_wait
from gridsim.domain import HANDLED_LEVELS, SOURCE_CODE
from gridsim.engine.agencies.routing import RoutingNetwork
from gridsim.engine.scheduler import Scheduler

COUNTS = {"division": 3, "subcenter": 2, "workstation": 1}


def network(city, n, counts=COUNTS, warm=0.0, horizon=1e9):
    sch = Scheduler()
    routed: dict[int, tuple[float, str]] = {}
    net = RoutingNetwork(mesa.Model(), sch, city, counts, warm, horizon,
                         lambda e, t, level: routed.__setitem__(e, (t, HANDLED_LEVELS[level])), n)
    return sch, net, routed


def run_orders(sch, net, orders):
    """orders: (t, grid, minor, from_workstation, first_min, second_min) in time order."""
    def arrive(e, t):
        _, g, minor, from_ws, h1, h2 = orders[e]
        net.route(e, t, g, minor, from_ws, h1, h2)
    sch.register_arrivals(SOURCE_CODE["12345"], arrive)
    n = len(orders)
    sch.run(list(range(n)), [o[0] for o in orders], [SOURCE_CODE["12345"]] * n, 1e12)


def test_minor_12345_order_goes_subcenter_then_workstation_department_matter_stops_at_subcenter():
    sch, net, routed = network(tiny_city(), 2)
    run_orders(sch, net, [(0.0, 2, True, False, 5.0, 7.0), (1.0, 3, False, False, 4.0, 100.0)])
    assert routed[0] == (12.0, "workstation")
    assert routed[1] == (5.0, "subcenter")               # the sub-center's 2 dispatchers: no wait
    assert list(net.handled_level) == [HANDLED_LEVELS.index("workstation"), HANDLED_LEVELS.index("subcenter")]


def test_unbuilt_workstation_orders_take_two_steps_at_the_subcenter_office():
    city = tiny_city(ws_built=(False, True))
    counts = {"division": 1, "subcenter": 1, "workstation": 1}
    sch, net, routed = network(city, 2, counts)
    # both for grid 0 (its workstation is not built): the sub-center's one dispatcher does both steps
    run_orders(sch, net, [(0.0, 0, True, False, 5.0, 7.0), (0.0, 1, True, False, 3.0, 2.0)])
    assert routed[0] == (5.0 + 3.0 + 7.0, "subcenter")   # its 2nd step queues behind order 1's 1st step
    assert routed[1] == (5.0 + 3.0 + 7.0 + 2.0, "subcenter")
    sc0 = net.grid_sc_office[0]
    assert net.grid_ws_office[0] == sc0 and net.busy_min[sc0] == pytest.approx(17.0)
    assert net.max_queue[sc0] == 1


def test_unbuilt_subcenter_work_is_done_by_the_division_centre():
    city = tiny_city()
    city.sc_status[1] = 0
    sch, net, routed = network(city, 3)
    run_orders(sch, net, [(0.0, 2, False, False, 4.0, 0.0),       # department matter: division only
                          (0.0, 2, True, False, 4.0, 6.0),        # minor: division, then workstation 1
                          (0.0, 3, False, True, 2.0, 9.0)])       # patrol-found department matter: ws 1, then up
    assert routed[0] == (4.0, "division")
    assert routed[1] == (10.0, "workstation")
    assert routed[2] == (11.0, "division")        # ws 1 at 0-2 (before order 1 reaches it), division 2-11
    assert net.n_offices == 1 + 1 + 2


def test_one_office_matches_erlang_c_at_exponential_handling():
    """M/M/c: c = 3 dispatchers, load 0.75 per dispatcher; the mean wait of 60,000 orders after
    a 2,000-minute warm-up is within 10 % of Erlang C (seed fixed; its standard error is ~3 %)."""
    c, mean_h, rho = 3, 4.0, 0.75
    lam = rho * c / mean_h
    rng = np.random.default_rng(11)
    n = 62_000
    t = np.cumsum(rng.exponential(1.0 / lam, n))
    h = rng.exponential(mean_h, n)
    warm = 2_000.0
    sch, net, routed = network(tiny_city(), n, {"division": 1, "subcenter": c, "workstation": 1},
                               warm=warm, horizon=float(t[-1]))
    run_orders(sch, net, [(float(t[i]), 0, False, False, float(h[i]), 0.0) for i in range(n)])
    office = net.grid_sc_office[0]
    measured = net.wait_min[office] / net.orders[office]
    expected = mmc_mean_wait(c, lam, 1.0 / mean_h)
    assert measured == pytest.approx(expected, rel=0.10)
    assert net.busy_min[office] / (c * (t[-1] - warm)) == pytest.approx(rho, abs=0.02)
    stats = net.level_stats()["subcenter"]            # the tiny city's two sub-centers, one of them idle
    assert stats["offices"] == 2 and stats["busy_share"] == pytest.approx(rho / 2, abs=0.01)
    assert stats["mean_wait_min"] == pytest.approx(measured)
    assert len(routed) == n


def test_waiting_counts_orders_not_yet_started():
    sch, net, _ = network(tiny_city(), 3, {"division": 1, "subcenter": 1, "workstation": 1})
    for e in range(3):
        net.route(e, 0.0, 0, False, False, 10.0, 0.0)
    assert net.waiting(0.0) == 2 and net.waiting(10.0) == 1 and net.waiting(20.0) == 0
