"""Unit tests of the agencies on the hand-built tiny city (tests/tiny_city.py).

Travel is 1 minute per km (min_per_km = 1), so every expected time is worked out by hand.
"""

from __future__ import annotations

import math
from types import SimpleNamespace

import mesa
import numpy as np
import pytest

from gridsim.domain import CORESP, FULLTIME, LEADER, P110, POLICE, ROUTINE, URGENT
from gridsim.engine.agencies.command_centre import CommandCentre110
from gridsim.engine.agencies.grid_workforce import GridWorkforce, borrow_lists
from gridsim.engine.agencies.platform import WorkOrderPlatform
from gridsim.engine.agencies.police_fleet import FleetPlan, PoliceFleet
from gridsim.engine.records import EventRecords
from gridsim.engine.scheduler import Scheduler
from gridsim.engine.tasks import Task
from tiny_city import inputs_for, tiny_city

FAR = 1e9


def plan_for(city, posts=None, policy="stay", reserve=0, preempt=False, on_duty=None, radius=FAR,
             min_idle=0, beats=None, dwell=10.0, mpk_urban=1.0, mpk_rural=1.0, neighbours=4):
    """A hand-made fleet plan: units at sub-center offices (or `posts`), one beat grid each
    (or `beats`), all on duty (or `on_duty`: pool -> count), 1 min per km."""
    S, D = city.n_subcenters, len(city.division_names)
    homes = np.concatenate([np.repeat(np.arange(S), city.sc_police_units), np.repeat(S + np.arange(D), reserve)])
    n = len(homes)
    if posts is None:
        posts = [(city.sc_x[h], city.sc_y[h]) if h < S else (city.div_x[h - S], city.div_y[h - S]) for h in homes]
    posts = np.asarray(posts, float)
    beats = beats or [((float(x),), (float(y),)) for x, y in posts]
    rank = np.zeros(n, dtype=np.int64)
    sizes = np.bincount(homes, minlength=S + D)
    for p in range(S + D):
        rank[homes == p] = np.arange(sizes[p])
    counts = np.repeat(sizes[:, None], 24, axis=1)
    for pool, c in (on_duty or {}).items():
        counts[pool] = c
    return FleetPlan(home=homes, post_xy=posts, beat_x=[b[0] for b in beats], beat_y=[b[1] for b in beats],
                     beat_start=np.zeros(n, dtype=np.int64), rank=rank, on_duty_count=counts, n_territories=S,
                     idle_policy=policy, beat_dwell_min=dwell, mpk_urban=(mpk_urban,) * 24, mpk_rural=mpk_rural,
                     dispatch_radius_km=radius, preempt_routine=preempt, neighbour_min_idle=min_idle,
                     neighbour_subcenters=neighbours)


def fleet_on(city, events, **plan_args):
    model, sch = mesa.Model(rng=1), Scheduler()
    inp, rec = inputs_for(city, events), EventRecords(len(events))
    fleet = PoliceFleet(model, sch, city, inp, rec, plan_for(city, **plan_args), 0.0, FAR)
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
    assert rec.travel_min[0] == pytest.approx(0.2)
    assert rec.responder_borrowed[0] == 0
    assert fleet.busy == [False, True, False] and fleet.x[1] == 1.0     # it stays where it finished


def test_rural_grids_and_the_hours_congestion_set_the_speed():
    city = tiny_city()                                    # grids 2 and 3 are rural
    fleet, sch, inp, rec = fleet_on(city, [{"grid": 1}, {"grid": 3}], posts=[(0, 0), (0, 0), (10, 0)],
                                    mpk_urban=2.0, mpk_rural=0.5)
    fleet.request(task(P110, 0, inp, 0.0, 0), 0.0, (0,), ())
    fleet.request(task(P110, 1, inp, 0.0, 1), 0.0, (1,), ())
    assert rec.travel_min[0] == 2.0 and rec.travel_min[1] == 0.5     # 1 km urban, 1 km rural


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


def test_a_unit_beyond_the_dispatch_radius_is_not_sent_as_first_unit():
    city = tiny_city()
    fleet, sch, inp, rec = fleet_on(city, [{"grid": 0}], posts=[(20, 0), (20, 0), (30, 0)], radius=15.0)
    fleet.request(task(P110, 0, inp, 0.0, 0), 0.0, (0,), (1,), True)
    assert math.isnan(rec.t_dispatch[0]) and fleet.queued == 1


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


def test_an_urgent_incident_preempts_a_routine_job_which_is_requeued_with_its_remaining_service():
    city = tiny_city(police=(1, 0))
    events = [{"grid": 0, "service": 30.0, "cat": 1}, {"grid": 1, "service": 10.0}]
    fleet, sch, inp, rec = fleet_on(city, events, preempt=True)
    fleet.request(task(P110, 0, inp, 0.0, 0, prio=ROUTINE), 0.0, (0,), ())
    fleet.request(task(P110, 1, inp, 5.0, 0), 5.0, (0,), ())       # urgent, 5 min into the routine job
    assert rec.t_dispatch[1] == 5.0 and rec.t_arrive[1] == 6.0      # from the routine incident, 1 km away
    assert rec.preempted == {0: 1}
    sch.run([], [], [], horizon=200.0)
    # the unit frees at 16, goes back (1 km) and finishes the remaining 25 minutes
    assert rec.t_dispatch[0] == 0.0                                  # the first dispatch is what is judged
    assert rec.t_done[0] == pytest.approx(16.0 + 1.0 + 25.0)
    assert fleet.queued == 0 and fleet.busy_min[POLICE] == pytest.approx(5.0 + 11.0 + 26.0)


def test_off_duty_units_take_nothing_until_the_shift_starts():
    city = tiny_city()
    fleet, sch, inp, rec = fleet_on(city, [{"grid": 2}])
    fleet.on[POLICE] = False
    fleet.request(task(P110, 0, inp, 0.0, 1), 0.0, (1,), (0,))
    assert fleet.queued == 1
    fleet.schedule_shifts(sch, {POLICE: [(8.0, 20.0)]})
    sch.run([], [], [], horizon=100.0)
    assert rec.t_dispatch[0] == 8.0 and rec.responder_borrowed[0] == 0


def test_the_roster_takes_units_off_and_brings_them_back_on_the_hour():
    city = tiny_city(police=(2, 1))
    on_duty = {0: [1] * 24}
    on_duty[0][1] = 2                                  # sub-center 0: one unit, two from 01:00 to 01:59
    fleet, sch, inp, rec = fleet_on(city, [{"grid": 0}, {"grid": 0}, {"grid": 0}], on_duty=on_duty)
    assert [len(p) for p in fleet.idle[:2]] == [1, 1]
    fleet.schedule_roster(sch)
    fleet.request(task(P110, 0, inp, 0.0, 0), 0.0, (0,), ())
    fleet.request(task(P110, 1, inp, 1.0, 0), 1.0, (0,), ())       # the only unit is busy: it waits
    sch.run([], [], [], horizon=65.0)
    assert rec.t_dispatch[1] == 10.0                                 # unit 0 frees at 10
    assert fleet.duty == [True, True, True]                          # 01:00: the second unit came on
    sch.run_until(70.0)
    fleet.request(task(P110, 2, inp, 70.0, 0), 70.0, (0,), ())
    assert rec.t_dispatch[2] == 70.0 and sum(fleet.busy[:2]) == 1
    sch.run_until(130.0)                                             # 02:00: back to one unit
    assert fleet.duty == [True, False, True] and fleet.idle[0] == [0]


def test_standby_units_are_found_where_their_beat_has_taken_them():
    city = tiny_city(police=(1, 0))
    beats = [((0.0, 1.0), (0.0, 0.0))]                              # grid 0, then grid 1, 10 min each
    fleet, sch, inp, rec = fleet_on(city, [{"grid": 1}], policy="standby", beats=beats, dwell=10.0)
    assert fleet.position(0, 5.0) == (0.0, 0.0) and fleet.position(0, 15.0) == (1.0, 0.0)
    assert fleet.position(0, 25.0) == (0.0, 0.0)                    # the beat is a loop
    fleet.request(task(P110, 0, inp, 12.0, 0), 12.0, (0,), ())
    assert rec.travel_min[0] == 0.0                                  # it was patrolling grid 1
    sch.run([], [], [], horizon=22.0)                                # frees at 22 in grid 1
    # its beat clock says grid 0 by now (22 min: third dwell): it drives back there, 1 km
    assert fleet.position(0, 22.5) == pytest.approx((0.5, 0.0))
    assert fleet.position(0, 23.5) == (0.0, 0.0)


def test_after_a_job_a_standby_unit_drives_back_to_its_beat():
    city = tiny_city(police=(1, 0))
    beats = [((0.0,), (0.0,))]
    fleet, sch, inp, rec = fleet_on(city, [{"grid": 0, "x": 4.0, "y": 0.0, "service": 5.0}], policy="standby",
                                    beats=beats)
    fleet.request(task(P110, 0, inp, 0.0, 0), 0.0, (0,), ())
    sch.run([], [], [], horizon=9.0)                                 # arrives at 4, frees at 9
    assert fleet.position(0, 11.0) == pytest.approx((2.0, 0.0))      # half way back at 1 min per km
    assert fleet.position(0, 13.0) == (0.0, 0.0)


def test_return_to_post_keeps_the_unit_busy_for_the_way_back():
    city = tiny_city(police=(1, 0))
    fleet, sch, inp, rec = fleet_on(city, [{"grid": 1, "service": 10.0}], posts=[(0, 0)], policy="return_to_post")
    fleet.request(task(P110, 0, inp, 0.0, 0), 0.0, (0,), ())
    assert rec.t_done[0] == 11.0
    t_free = sch.heap[0][0]
    assert t_free == 12.0 and (fleet.x[0], fleet.y[0]) == (0.0, 0.0)


def command_centre_on(city, events, patrol_overrides=None, exits=((-3.0, 0.0),), **plan_args):
    fleet, sch, inp, rec = fleet_on(city, events, **plan_args)
    patrol = SimpleNamespace(dispatch_rule="own_first", neighbour_min_idle=plan_args.get("min_idle", 0),
                             cordon_mode="exits", ring_points=4, escape_speed_kmh=60.0)
    for k, v in (patrol_overrides or {}).items():
        setattr(patrol, k, v)
    workforce = _workforce(fleet.model, sch, city, inp, rec)
    cc = CommandCentre110(fleet.model, sch, city, inp, fleet, workforce, patrol, np.asarray(exits, float), 2)
    return cc, fleet, sch, inp, rec


def test_support_is_asked_only_after_the_first_unit_has_assessed_and_comes_from_the_reserve_first():
    city = tiny_city(police=(2, 2))
    events = [{"grid": 0, "cat": 1, "support": 2, "extra": (30.0, 60.0, 3.0, 5.0, 0.0)}]
    cc, fleet, sch, inp, rec = command_centre_on(city, events, posts=[(0, 0), (2, 0), (10, 0), (12, 0), (5, 0)],
                                                 reserve=1)
    cc.on_call(0, 0.0)
    assert rec.t_arrive[0] == 0.0 and 0 not in rec.t_support          # nothing asked yet
    sch.run([], [], [], horizon=100.0)
    # at 3 (arrival 0 + assessment 3): the reserve at (5, 0) and the nearest territory unit (2 km)
    assert rec.t_support == {0: 3.0 + 5.0}


def test_neighbours_lend_support_only_while_they_keep_their_minimum_idle():
    city = tiny_city(police=(1, 2))
    events = [{"grid": 0, "cat": 1, "support": 1, "extra": (30.0, 60.0, 1.0, 5.0, 0.0)}]
    cc, fleet, sch, inp, rec = command_centre_on(city, events, min_idle=2)
    cc.on_call(0, 0.0)
    sch.run([], [], [], horizon=5.0)
    assert rec.t_support == {} and fleet.queued == 1                 # sub-center 1 keeps its two


def test_a_cordon_holds_every_exit_after_the_command_delay():
    city = tiny_city(police=(2, 2))
    events = [{"grid": 0, "cat": 1, "cordon": 1, "extra": (30.0, 60.0, 2.0, 5.0, 0.0)}]
    cc, fleet, sch, inp, rec = command_centre_on(city, events, exits=((-3.0, 0.0), (14.0, 0.0)))
    cc.on_call(0, 0.0)
    sch.run([], [], [], horizon=100.0)
    # ordered at 0 + 2 + 5 = 7: (-3, 0) from (0, 0) 3 km; (14, 0) from (10, 0) 4 km
    assert inp.cor_left[0] == 0 and rec.t_cordon[0] == 7.0 + 4.0 and cc.cordons_ordered == 1


def test_a_ring_cordon_grows_with_the_time_since_the_call():
    city = tiny_city(police=(5, 4))
    events = [{"grid": 0, "cat": 1, "cordon": 1, "extra": (30.0, 60.0, 2.0, 3.0, 0.0)}]
    cc, fleet, sch, inp, rec = command_centre_on(city, events, patrol_overrides={"cordon_mode": "ring"}, exits=())
    cc.on_call(0, 0.0)
    sch.run([], [], [], horizon=100.0)
    # ordered at 5 min: radius 5 km at 60 km/h; four points 5 km from the four idle units at (0, 0)
    assert rec.t_cordon[0] == pytest.approx(5.0 + 5.0)


def test_the_ring_grows_from_the_call_not_from_triage():
    city = tiny_city(police=(5, 4))
    events = [{"grid": 0, "cat": 1, "cordon": 1, "extra": (30.0, 60.0, 2.0, 3.0, -1.0)}]   # called a minute earlier
    cc, fleet, sch, inp, rec = command_centre_on(city, events, patrol_overrides={"cordon_mode": "ring"}, exits=())
    cc.on_call(0, 0.0)
    sch.run([], [], [], horizon=100.0)
    assert rec.t_cordon[0] == pytest.approx(5.0 + 6.0)          # radius 6 km at 5 min after a call at -1


def test_no_neighbours_means_no_borrowing():
    city = tiny_city(police=(1, 1))
    fleet, sch, inp, rec = fleet_on(city, [{"grid": 0}, {"grid": 0}], neighbours=0)
    cc = CommandCentre110(fleet.model, sch, city, inp, fleet, _workforce(fleet.model, sch, city, inp, rec),
                          SimpleNamespace(dispatch_rule="own_first", neighbour_min_idle=0, cordon_mode="exits",
                                          ring_points=4, escape_speed_kmh=60.0), np.zeros((0, 2)), 2)
    cc.on_call(0, 0.0)
    cc.on_call(1, 0.0)
    assert rec.responder_borrowed[0] == 0 and math.isnan(rec.t_dispatch[1]) and fleet.queued == 1


def test_a_category_that_sends_two_units_records_when_the_last_is_on_scene():
    city = tiny_city(police=(2, 1))
    events = [{"grid": 0, "cat": 2}]
    cc, fleet, sch, inp, rec = command_centre_on(city, events, posts=[(0, 0), (3, 0), (10, 0)])
    cc.on_call(0, 0.0)
    assert rec.t_arrive[0] == 0.0 and rec.t_units == {0: 3.0}


def _workforce(model, sch, city, inp, rec, verify=True, radius=2.0):
    wf = GridWorkforce(model, sch, city, inp, rec, [1.0, 1.0, 1.0, 1.0], (FULLTIME, LEADER), (FULLTIME,),
                       radius, 0.0, FAR)
    platform = WorkOrderPlatform(model, sch, inp, rec, verify)      # report-backs go through the platform
    platform.connect(None, wf, None)
    wf.kind_reported = platform.kind_reported
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
    fleet = PoliceFleet(model, sch, city, inp, rec, plan_for(city), 10.0, 25.0)
    fleet.on[POLICE] = True
    fleet.request(Task(P110, 0, 0.0, 0.0, 30.0, URGENT, 0.0, 0), 0.0, (0,), ())
    assert fleet.busy_min[POLICE] == 15.0       # busy 0-30, counted 10-25
