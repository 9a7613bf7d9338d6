"""Unit tests of the agencies on the hand-built tiny city (tests/tiny_city.py).

Travel is 1 minute per km (min_per_km = 1), so every expected time is worked out by hand.
"""

from __future__ import annotations

import math

import mesa
import numpy as np
import pytest

from gridsim.domain import CORESP, FULLTIME, LEADER, P110, POLICE, ROUTINE, URGENT
from gridsim.engine.agencies.command_centre import CommandCentre110
from gridsim.engine.agencies.grid_workforce import GridWorkforce, borrow_lists
from gridsim.engine.agencies.police_fleet import PoliceFleet
from gridsim.engine.records import EventRecords
from gridsim.engine.scheduler import Scheduler
from gridsim.engine.tasks import Task
from tiny_city import inputs_for, tiny_city

FAR = 1e9


def fleet_on(city, events, posts=None, return_to_post=False):
    model, sch = mesa.Model(rng=1), Scheduler()
    inp, rec = inputs_for(city, events), EventRecords(len(events))
    homes = np.repeat(np.arange(city.n_subcenters), city.sc_police_units)
    posts = np.column_stack([city.sc_x[homes], city.sc_y[homes]]) if posts is None else np.asarray(posts, float)
    fleet = PoliceFleet(model, sch, city, inp, rec, posts, 1.0, return_to_post, 0.0, FAR)
    fleet.on[POLICE] = True
    return fleet, sch, inp, rec


def task(kind, e, inp, t, home, prio=URGENT, service=None):
    return Task(kind, e, inp.x[e], inp.y[e], inp.service[e] if service is None else service, prio, t, home)


def test_nearest_idle_unit_of_the_first_pool_answers():
    city = tiny_city()
    fleet, sch, inp, rec = fleet_on(city, [{"grid": 1, "turnout": 0.5}], posts=[(0, 0), (0.8, 0), (10, 0)])
    fleet.request(task(P110, 0, inp, 2.0, 0), 2.0, (0,), (1,))
    assert rec.t_dispatch[0] == 2.5                       # turnout
    assert rec.t_arrive[0] == pytest.approx(2.5 + 0.2)    # 0.2 km from unit 1's post
    assert rec.responder_borrowed[0] == 0
    assert fleet.busy == [False, True, False] and fleet.x[1] == 1.0     # it stays where it finished


def test_busy_territory_borrows_a_neighbour_then_queues_and_the_first_free_unit_takes_it():
    city = tiny_city()
    events = [{"grid": 0, "service": s} for s in (10.0, 20.0, 30.0, 5.0)]
    fleet, sch, inp, rec = fleet_on(city, events)
    for e in range(4):
        fleet.request(task(P110, e, inp, 0.0, 0), 0.0, (0,), (1,))
    assert rec.responder_borrowed[2] == 1 and rec.t_arrive[2] == 10.0    # the unit from 10 km away
    assert math.isnan(rec.t_dispatch[3]) and fleet.queued == 1
    sch.run([], [], [], horizon=100.0)
    assert rec.t_dispatch[3] == 10.0              # unit 0 frees at 10 and takes the queued incident
    assert fleet.queued == 0 and fleet.busy == [False, False, False]


def test_urgent_waits_less_than_routine_and_fcfs_within_priority():
    city = tiny_city(police=(1, 0))
    events = [{"grid": 0, "service": 10.0}] * 4
    fleet, sch, inp, rec = fleet_on(city, events)
    fleet.request(task(P110, 0, inp, 0.0, 0), 0.0, (0,), ())
    fleet.request(task(P110, 1, inp, 1.0, 0, prio=ROUTINE), 1.0, (0,), ())
    fleet.request(task(P110, 2, inp, 2.0, 0), 2.0, (0,), ())
    fleet.request(task(P110, 3, inp, 3.0, 0), 3.0, (0,), ())
    sch.run([], [], [], horizon=100.0)
    assert [rec.t_dispatch[e] for e in range(4)] == [0.0, 30.0, 10.0, 20.0]


def test_off_duty_units_take_nothing_until_the_shift_starts():
    city = tiny_city()
    fleet, sch, inp, rec = fleet_on(city, [{"grid": 2}])
    fleet.on[POLICE] = False
    fleet.request(task(P110, 0, inp, 0.0, 1), 0.0, (1,), (0,))
    assert fleet.queued == 1
    fleet.schedule_shifts(sch, {POLICE: [(8.0, 20.0)]})
    sch.run([], [], [], horizon=100.0)
    assert rec.t_dispatch[0] == 8.0 and rec.responder_borrowed[0] == 0


def test_return_to_post_keeps_the_unit_busy_for_the_way_back():
    city = tiny_city(police=(1, 0))
    fleet, sch, inp, rec = fleet_on(city, [{"grid": 1, "service": 10.0}], posts=[(0, 0)], return_to_post=True)
    fleet.request(task(P110, 0, inp, 0.0, 0), 0.0, (0,), ())
    assert rec.t_done[0] == 11.0
    t_free = sch.heap[0][0]
    assert t_free == 12.0 and (fleet.x[0], fleet.y[0]) == (0.0, 0.0)


def test_support_completes_when_the_last_unit_arrives_and_cordon_uses_the_nearest_checkpoints():
    city = tiny_city(police=(2, 2))
    events = [{"grid": 0, "cat": 1, "support": 2, "cordon": 1, "extra": (30.0, 60.0)}]
    fleet, sch, inp, rec = fleet_on(city, events, posts=[(0, 0), (2, 0), (10, 0), (12, 0)])
    model = fleet.model
    workforce = _workforce(model, sch, city, inp, rec)
    cc = CommandCentre110(model, sch, city, inp, fleet, workforce)
    cc.on_call(0, 0.0)
    # first unit: unit 0 at the incident; support: units 1 (2 km) and 2 (10 km) -> last at 10
    assert rec.t_arrive[0] == 0.0 and rec.t_support[0] == 10.0
    # one checkpoint: the nearer one at (-3, 0), reached by unit 3 (15 km away; the only idle unit)
    assert rec.t_cordon[0] == 15.0 and inp.cor_left[0] == 0


def _workforce(model, sch, city, inp, rec, verify=True, radius=2.0):
    wf = GridWorkforce(model, sch, city, inp, rec, [1.0, 1.0, 1.0, 1.0], (FULLTIME, LEADER), (FULLTIME,),
                       verify, radius, 0.0, FAR)
    wf.on = [True] * 4
    return wf


def test_work_orders_go_by_role_order_then_borrow_within_the_workstation_then_queue():
    city = tiny_city()
    model, sch = mesa.Model(rng=1), Scheduler()
    events = [{"grid": 0, "service": 10.0}] * 5
    inp, rec = inputs_for(city, events), EventRecords(5)
    wf = _workforce(model, sch, city, inp, rec)
    for e in range(5):
        wf.dispatch_work_order(e, 0.0)
    roles = [rec.responder_role[e] for e in range(5)]
    assert roles[:4] == [FULLTIME, LEADER, FULLTIME, LEADER] and roles[4] == -1
    assert [rec.responder_borrowed[e] for e in range(4)] == [0, 0, 1, 1]
    assert rec.t_arrive[2] == 1.0          # the borrowed worker comes 1 km from grid 1
    assert wf.queued == 1
    assert borrow_lists(city, 0.5) == [(), (), (), ()]


def test_report_back_then_verification_by_the_grids_own_worker_then_close():
    city = tiny_city()
    model, sch = mesa.Model(rng=1), Scheduler()
    inp = inputs_for(city, [{"grid": 3, "service": 10.0, "report_back": 5.0, "verify_dur": 2.0, "close_delay": 1.0}])
    rec = EventRecords(1)
    wf = _workforce(model, sch, city, inp, rec)
    wf.dispatch_work_order(0, 0.0)
    sch.run([], [], [], horizon=100.0)
    assert (rec.t_done[0], rec.t_report[0]) == (10.0, 15.0)
    assert rec.t_verify[0] == 17.0 and rec.t_close[0] == 18.0   # own full-time worker, free again at 10


def test_unbuilt_workstation_sends_its_worker_from_the_sub_center_office():
    city = tiny_city(ws_built=(True, False))
    model, sch = mesa.Model(rng=1), Scheduler()
    inp, rec = inputs_for(city, [{"grid": 3}]), EventRecords(1)
    wf = _workforce(model, sch, city, inp, rec)
    wf.dispatch_work_order(0, 0.0)
    assert rec.t_arrive[0] == 1.0             # from the office at (10, 0), not the grid centroid


def test_coresponse_joins_only_a_free_worker_and_never_queues():
    city = tiny_city()
    model, sch = mesa.Model(rng=1), Scheduler()
    inp, rec = inputs_for(city, [{"grid": 2, "cat": 0}] * 4), EventRecords(4)
    wf = _workforce(model, sch, city, inp, rec)
    for e in range(4):
        wf.coresponse(Task(CORESP, e, inp.x[e], inp.y[e], 10.0, URGENT, 0.0, 2), 0.0)
    assert [rec.coresponder_role[e] for e in range(4)] == [FULLTIME, LEADER, FULLTIME, LEADER]
    wf.coresponse(Task(CORESP, 0, 10.0, 0.0, 10.0, URGENT, 0.0, 2), 0.0)
    assert wf.queued == 0


def test_waiting_work_is_taken_when_the_shift_starts():
    city = tiny_city()
    model, sch = mesa.Model(rng=1), Scheduler()
    inp, rec = inputs_for(city, [{"grid": 0}]), EventRecords(1)
    wf = _workforce(model, sch, city, inp, rec)
    wf.on = [False] * 4
    wf.dispatch_work_order(0, 0.0)
    assert wf.queued == 1
    wf.schedule_shifts(sch, {LEADER: [(30.0, 60.0)]})
    sch.run([], [], [], horizon=100.0)
    assert rec.t_dispatch[0] == 30.0 and rec.responder_role[0] == LEADER


def test_busy_minutes_count_only_inside_the_measured_window():
    city = tiny_city(police=(1, 0))
    model, sch = mesa.Model(rng=1), Scheduler()
    inp, rec = inputs_for(city, [{"grid": 0, "service": 30.0}]), EventRecords(1)
    homes = np.zeros(1, dtype=int)
    fleet = PoliceFleet(model, sch, city, inp, rec, np.zeros((1, 2)), 1.0, False, 10.0, 25.0)
    fleet.on[POLICE] = True
    fleet.request(Task(P110, 0, 0.0, 0.0, 30.0, URGENT, 0.0, int(homes[0])), 0.0, (0,), ())
    assert fleet.busy_min[POLICE] == 15.0       # busy 0-30, counted 10-25
