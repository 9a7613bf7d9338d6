"""Grid-police linkage with an effect (issue 11 item 6), on the hand-built tiny city.

A co-responding grid worker on scene before the first police unit reports the scene (the
unit's assessment is shortened); on a mediating category a worker on scene before the unit
would leave takes the incident over and the unit is released early. Travel is 1 min per km.
"""

from __future__ import annotations

from types import SimpleNamespace

import mesa
import numpy as np
import pytest

from gridsim.domain import FULLTIME, POLICE, ROUTINE, SOURCE_CODE, URGENT
from gridsim.engine.agencies.command_centre import CommandCentre110
from gridsim.engine.agencies.police_fleet import Linkage, PoliceFleet, plan_linkage
from gridsim.engine.records import SPARSE_COLUMNS, TIME_COLUMNS, EventRecords
from gridsim.engine.scheduler import Scheduler
from gridsim.scenario import load_scenario
from test_engine_agencies import FAR, _workforce, plan_for
from tiny_city import inputs_for, tiny_city

PATROL = SimpleNamespace(dispatch_rule="own_first", neighbour_min_idle=0, cordon_mode="exits", ring_points=4,
                         escape_speed_kmh=60.0)


def link(assessment=0.5, mediation=0.5, mediates=(True, False, False), assessment_min=3.0) -> Linkage:
    """Linkage rules for the tiny inputs' categories: 0 (urgent, co-response), 1, 2."""
    return Linkage(assessment_factor=assessment, mediation_police_factor=mediation, mediates=mediates,
                   assessment_min=assessment_min)


def centre_on(city, events, linkage, posts, reserve=0):
    """The command centre, the fleet (all on duty) and the grid workforce on the tiny city."""
    model, sch = mesa.Model(rng=1), Scheduler()
    inp, rec = inputs_for(city, events), EventRecords(len(events))
    fleet = PoliceFleet(model, sch, city, inp, rec, plan_for(city, posts=posts, reserve=reserve), 0.0, FAR,
                        linkage=linkage)
    fleet.on[POLICE] = True
    workforce = _workforce(model, sch, city, inp, rec)
    cc = CommandCentre110(model, sch, city, inp, fleet, workforce, PATROL, np.asarray([(-3.0, 0.0)]), 2)
    return cc, fleet, workforce, sch, inp, rec


@pytest.mark.parametrize("linkage, assessed, t_support", [(None, 1.5 + 4.0, 10.0), (link(), 1.5 + 2.0, 8.0)])
def test_a_worker_first_on_scene_reports_it_and_the_assessment_is_shortened(linkage, assessed, t_support):
    city = tiny_city(police=(2, 1))
    # the grid-1 worker is at the incident (on scene at 0); the unit drives 1 km after a 0.5 min turnout
    events = [{"grid": 1, "cat": 0, "turnout": 0.5, "support": 1, "extra": (30.0, 60.0, 4.0, 5.0, 0.0)}]
    cc, fleet, wf, sch, inp, rec = centre_on(city, events, linkage, posts=[(0, 0), (0, 0), (10, 0), (5, 0)],
                                             reserve=1)
    cc.on_call(0, 0.0)
    assert rec.t_coarrive[0] == 0.0 and rec.t_arrive[0] == 1.5
    assert [item[0] for item in sch.heap if item[2] == cc.kind_assessed] == [assessed]
    sch.run([], [], [], horizon=100.0)
    # support from the reserve at (5, 0): assessed + 0.5 turnout + 4 km
    assert rec.t_support == {0: t_support}
    assert rec.scene_reported == {0: 1.5}         # the worker was there 1.5 min before the unit
    assert rec.police_released == {}              # an escalating incident stays with the police


def test_a_mediating_worker_takes_over_and_the_unit_is_released_early():
    city = tiny_city(police=(2, 1))
    events = [{"grid": 1, "cat": 0, "turnout": 0.5, "service": 20.0}]
    cc, fleet, wf, sch, inp, rec = centre_on(city, events, link(), posts=[(0, 0), (0, 0), (10, 0)])
    cc.on_call(0, 0.0)
    # unit on scene at 1.5; it stays max(assessment 3 x 0.5, service 20 x 0.5) = 10 min, not 20
    assert rec.police_released == {0: 10.0} and rec.scene_reported == {0: 1.5}
    assert rec.t_done[0] == 21.5 and rec.t_close[0] == 21.5     # the incident's own end: the worker closes it
    sch.run_until(11.4)
    assert fleet.busy_by_role[POLICE] == 1
    sch.run_until(11.6)
    assert fleet.busy_by_role[POLICE] == 0 and fleet.busy_min[POLICE] == 11.5
    assert wf.busy_by_role[FULLTIME] == 1                       # the worker stays the full service
    sch.run_until(30.0)
    assert wf.busy_min[FULLTIME] == 20.0


def test_the_unit_hands_over_only_when_the_worker_is_there():
    city = tiny_city(police=(2, 1))
    # the incident is 3 km from the grid-1 worker; the unit is already there
    events = [{"grid": 1, "x": 4.0, "cat": 0, "service": 10.0}]
    cc, fleet, wf, sch, inp, rec = centre_on(city, events, link(mediation=0.2, assessment_min=1.0),
                                             posts=[(4, 0), (0, 0), (10, 0)])
    cc.on_call(0, 0.0)
    assert rec.t_arrive[0] == 0.0 and rec.t_coarrive[0] == 3.0
    assert rec.scene_reported == {}                             # the police were first
    assert rec.police_released == {0: 7.0}                      # leaves at 3 (the worker), not at 2
    assert [item[0] for item in sch.heap if item[2] == fleet.kind_free] == [3.0]


def test_no_hand_over_when_the_worker_comes_after_the_unit_would_leave_or_the_category_does_not_mediate():
    city = tiny_city(police=(2, 1))
    events = [{"grid": 1, "x": 4.0, "cat": 0, "service": 2.0},      # worker at 3, unit done at 2
              {"grid": 0, "cat": 0, "service": 20.0}]              # worker first, but no mediation
    cc, fleet, wf, sch, inp, rec = centre_on(city, events, link(mediates=(False, False, False)),
                                             posts=[(4, 0), (3, 0), (10, 0)])
    cc.on_call(0, 0.0)
    cc.on_call(1, 0.0)
    assert rec.police_released == {} and rec.scene_reported == {1: 3.0}
    sch.run([], [], [], horizon=100.0)
    assert fleet.busy_min[POLICE] == 2.0 + 3.0 + 20.0


def test_a_pre_empted_mediated_job_loses_its_hand_over_and_closes_when_the_police_finish():
    city = tiny_city(police=(1, 0))
    events = [{"grid": 1, "cat": 0, "service": 20.0}, {"grid": 0, "cat": 1, "service": 5.0}]
    cc, fleet, wf, sch, inp, rec = centre_on(city, events, link(), posts=[(0, 0)])
    fleet.preempt = True
    inp.cat_prio[0], inp.cat_prio[1] = ROUTINE, URGENT          # a routine category that mediates; an urgent one
    cc.on_call(0, 0.0)
    assert rec.police_released == {0: 10.0}                        # on scene at 1, would leave at 1 + 10
    cc.on_call(1, 4.0)                                              # urgent: takes the unit at 4
    # busy 0-4 on the first job, then 1 km and 5 min on the urgent one
    assert rec.police_released == {} and fleet.busy_min[POLICE] == 4.0 + 1.0 + 5.0
    sch.run([], [], [], horizon=100.0)
    # free at 10, back 1 km: on scene at 11 with 21 - 4 = 17 min left, as without a worker
    assert rec.t_done[0] == 28.0 and rec.t_close[0] == 28.0


def _random_day(n: int = 150, seed: int = 7) -> list[dict]:
    rng = np.random.default_rng(seed)
    events = []
    for _ in range(n):
        g = int(rng.integers(0, 4))
        ev = {"grid": g, "x": float([0.0, 1.0, 10.0, 11.0][g] + rng.uniform(-2, 2)), "cat": int(rng.integers(0, 3)),
              "service": float(rng.exponential(15.0)), "turnout": float(rng.uniform(0, 2))}
        if rng.random() < 0.2:
            ev["support"] = 1
            ev["extra"] = (float(rng.uniform(10, 40)), 60.0, float(rng.uniform(1, 8)), 5.0, 0.0)
        events.append(ev)
    return events


def _run_day(linkage):
    city = tiny_city(police=(2, 1))
    events = _random_day()
    cc, fleet, wf, sch, inp, rec = centre_on(city, events, linkage, posts=[(0, 0), (1, 0), (10, 0), (5, 0)],
                                             reserve=1)
    t_ready = np.sort(np.random.default_rng(3).uniform(0, 1440, len(events))).tolist()
    sch.run(list(range(len(events))), t_ready, [SOURCE_CODE["110"]] * len(events), horizon=3000.0)
    return rec, fleet


def _fingerprint(rec: EventRecords) -> dict:
    out = {c: getattr(rec, c).tobytes() for c in TIME_COLUMNS + ["responder_role", "coresponder_role",
                                                                  "responder_borrowed", "travel_min"]}
    out.update({c: getattr(rec, c) for c in SPARSE_COLUMNS})
    return out


def test_factors_of_one_change_no_record_and_no_busy_minute():
    rec0, fleet0 = _run_day(None)
    rec1, fleet1 = _run_day(link(1.0, 1.0))
    rec5, fleet5 = _run_day(link(0.5, 0.5))
    assert len(rec1.scene_reported) > 20 and rec1.police_released == {}
    assert _fingerprint(rec1) == _fingerprint(rec0) and fleet1.busy_min == fleet0.busy_min
    # the defaults do change them: earlier support, police released, fewer busy minutes
    assert len(rec5.police_released) > 20 and _fingerprint(rec5) != _fingerprint(rec0)
    assert fleet5.busy_min[POLICE] < fleet0.busy_min[POLICE]


def test_the_scenario_sets_the_linkage_rules_per_category():
    spec = load_scenario()
    names = list(spec.categories)
    lk = plan_linkage(spec, names)
    assert (lk.assessment_factor, lk.mediation_police_factor) == (0.5, 0.5)
    assert [n for n, m in zip(names, lk.mediates) if m] == ["dispute"]
    assert lk.assessment_min == spec.police.assessment.mean_min
