"""A small hand-built city for unit tests of the engine: one division, two sub-centers, four grids.

    sub-center 0 (office at 0,0)        sub-center 1 (office at 10,0)
      workstation 0: grids 0 (0,0), 1 (1,0)    workstation 1: grids 2 (10,0), 3 (11,0)

Police: two units at sub-center 0, one at sub-center 1 (each sub-center neighbours the other).
Grid staff: one full-time worker and one leader per grid, no part-time workers. Coordinates in
km; two cordon checkpoints on the division's rim. Tests build agencies on it directly, with
hand-written per-event inputs, so every expected time can be worked out by hand.
"""

from __future__ import annotations

import numpy as np

from gridsim.city import City
from gridsim.domain import BUILT, ROUTINE, URGENT
from gridsim.engine.inputs import RunInputs, as_array


def tiny_city(police=(2, 1), ws_built=(True, True)) -> City:
    i = lambda *v: np.array(v, dtype=np.int64)      # noqa: E731
    f = lambda *v: np.array(v, dtype=float)          # noqa: E731
    return City(
        division_names=["Only"], div_x=f(5.0), div_y=f(0.0), div_radius=f(8.0), div_area=f(200.0),
        div_population=f(4000.0), div_population_estimated=np.array([False]),
        sc_div=i(0, 0), sc_x=f(0.0, 10.0), sc_y=f(0.0, 0.0), sc_status=i(BUILT, BUILT),
        sc_police_units=i(*police), sc_neighbours=np.array([[1], [0]]),
        ws_sc=i(0, 1), ws_x=f(0.0, 10.0), ws_y=f(0.0, 0.0),
        ws_status=i(*[BUILT if b else 0 for b in ws_built]),
        grid_ws=i(0, 0, 1, 1), grid_sc=i(0, 0, 1, 1), grid_div=i(0, 0, 0, 0),
        grid_x=f(0.0, 1.0, 10.0, 11.0), grid_y=f(0.0, 0.0, 0.0, 0.0),
        grid_population=f(1000, 1000, 1000, 1000), grid_households=f(400, 400, 400, 400),
        grid_area=f(1.0, 1.0, 1.0, 1.0), grid_urban=np.array([True, True, False, False]),
        grid_leaders=i(1, 1, 1, 1), grid_fulltime=i(1, 1, 1, 1), grid_parttime=i(0, 0, 0, 0),
        nbr_ptr=i(0, 1, 3, 5, 6), nbr_idx=i(1, 0, 2, 1, 3, 2), nbr_km=f(1, 1, 9, 9, 1, 1),
        detour_factor=1.0,
    )


def inputs_for(city: City, events: list[dict]) -> RunInputs:
    """Per-event inputs from dicts with keys grid, x, y (default: the grid centroid), service,
    turnout, report_back, verify_dur, close_delay, support (units), cordon (points), minor (1: a grid
    worker's, 0: department 0's), route_first / route_second, dept_work / dept_lead, file_delay, extra
    ((support on-scene, hold, assessment, cordon command delay) minutes), cat (index into the two
    test categories: 0 urgent with co-response, 1 routine without; 2 urgent, two units)."""
    def col(key, default, code):
        return as_array([e.get(key, default) for e in events], code)
    grids = [e["grid"] for e in events]
    return RunInputs(
        grid=as_array(grids, "i"), cat=col("cat", 1, "h"),
        x=as_array([e.get("x", city.grid_x[g]) for e, g in zip(events, grids)], "f"),
        y=as_array([e.get("y", city.grid_y[g]) for e, g in zip(events, grids)], "f"),
        service=col("service", 10.0, "f"), turnout=col("turnout", 0.0, "f"),
        report_back=col("report_back", 5.0, "f"), verify_dur=col("verify_dur", 2.0, "f"),
        close_delay=col("close_delay", 1.0, "f"), sup_left=col("support", 0, "b"), cor_left=col("cordon", 0, "b"),
        minor=col("minor", 1, "b"), route_first=col("route_first", 0.0, "f"), route_second=col("route_second", 0.0, "f"),
        dept_work=col("dept_work", 0.0, "f"), dept_lead=col("dept_lead", 0.0, "f"), file_delay=col("file_delay", 0.0, "f"),
        cat_dept=[-1, 0, 0],
        extra={k: e["extra"] for k, e in enumerate(events) if "extra" in e},
        cat_prio=[URGENT, ROUTINE, URGENT], cat_coresp=[True, False, False], cat_units=[1, 1, 2],
        urban=as_array([bool(city.grid_urban[g]) for g in grids], "b"),
        grid_sc=city.grid_sc.tolist(), grid_div=city.grid_div.tolist(),
        grid_origin=[None if city.ws_status[city.grid_ws[g]] == BUILT else (float(city.sc_x[city.grid_sc[g]]), 0.0)
                     for g in range(city.n_grids)],
    )
