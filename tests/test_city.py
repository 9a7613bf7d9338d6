"""The synthetic city: exact source counts, nesting, build status, staff, geometry, speed."""

import json
import subprocess
import sys
import time

import numpy as np
import pytest

from gridsim.city import apportion, build_city, rcb
from gridsim.domain import BUILT, NOT_STARTED, UNDER_CONSTRUCTION
from gridsim.scenario import load_scenario

from conftest import SCENARIOS


def test_exact_totals_and_nesting(baseline_city):
    c = baseline_city
    assert (c.n_subcenters, c.n_workstations, c.n_grids) == (104, 2236, 8820)
    # every grid in one workstation, every workstation in one sub-center, every sub-center in one division
    assert c.grid_ws.min() == 0 and c.grid_ws.max() == 2235
    assert len(np.unique(c.grid_ws)) == 2236            # no empty workstation
    assert len(np.unique(c.ws_sc)) == 104               # no empty sub-center
    assert np.array_equal(c.grid_sc, c.ws_sc[c.grid_ws])
    assert np.array_equal(c.grid_div, c.sc_div[c.grid_sc])
    assert len(np.unique(c.sc_div)) == 10


def test_build_status_counts(baseline_city):
    c = baseline_city
    assert (c.sc_status == BUILT).sum() == 71 and (c.sc_status == UNDER_CONSTRUCTION).sum() == 33
    assert (c.ws_status == BUILT).sum() == 1803
    assert (c.ws_status == UNDER_CONSTRUCTION).sum() == 430
    assert (c.ws_status == NOT_STARTED).sum() == 3


def test_staff_constraints(baseline_city):
    c = baseline_city
    assert c.grid_leaders.sum() == 9604 and c.grid_fulltime.sum() == 9316 and c.grid_parttime.sum() == 63563
    assert c.grid_leaders.min() >= 1 and c.grid_fulltime.min() >= 1
    # the extras went to the most populous grids
    order = np.argsort(-c.grid_population, kind="stable")
    assert c.grid_leaders[order[: 9604 - 8820]].min() == 2 and c.grid_leaders[order[9604 - 8820:]].max() == 1
    assert c.grid_fulltime[order[: 9316 - 8820]].min() == 2 and c.grid_fulltime[order[9316 - 8820:]].max() == 1
    # part-time workers follow population (largest remainder: within one of the exact quota)
    quota = 63563 * c.grid_population / c.grid_population.sum()
    assert np.abs(c.grid_parttime - quota).max() < 1.0
    assert c.sc_police_units.sum() == 1040 and c.sc_police_units.min() >= 2


def test_population_and_areas(baseline_city):
    c = baseline_city
    assert c.grid_population.sum() == pytest.approx(10721700)
    s = load_scenario()
    for d, div in enumerate(s.divisions):
        # grids cover the division's land as measured on its real outline (less Lake Tai)
        assert c.grid_area[c.grid_div == d].sum() == pytest.approx(c.div_land_area[d])
        # grids per division follow population (within one of the quota)
        quota = 8820 * c.div_population[d] / c.div_population.sum()
        assert abs((c.grid_div == d).sum() - quota) <= 1
    # dense urban grids are small: Gusu's median grid is much smaller than Wuzhong's
    gusu, wuzhong = c.division_names.index("Gusu"), c.division_names.index("Wuzhong")
    # (x3 since the real outlines: Wuzhong's land is its dense lakeside strip by the seat, ~3.7x in the baseline)
    assert np.median(c.grid_area[c.grid_div == gusu]) * 3 < np.median(c.grid_area[c.grid_div == wuzhong])
    assert 0.2 < c.grid_urban.mean() < 0.95


def test_offices_inside_their_territory(baseline_city):
    c = baseline_city
    for j in range(0, c.n_workstations, 97):
        g = c.grid_of(c.ws_x[j], c.ws_y[j])
        assert c.grid_ws[g] == j
    for i in range(c.n_subcenters):
        g = c.grid_of(c.sc_x[i], c.sc_y[i])
        assert c.grid_sc[g] == i


def test_queries_and_graph(baseline_city):
    c = baseline_city
    g = 123
    assert c.grid_of(c.grid_x[g], c.grid_y[g]) == g
    nb = c.neighbours(g)
    assert len(nb) >= 2 and g not in nb
    d = [c.road_km(c.grid_x[g], c.grid_y[g], c.grid_x[h], c.grid_y[h]) for h in nb]
    assert d == sorted(d)                                   # nearest first
    G = c.graph()
    assert G.number_of_nodes() == 1 + 104 + 2236 + 8820
    hier = sum(1 for _, _, k in G.edges(data="kind") if k == "hierarchy")
    assert hier == 104 + 2236 + 8820                          # a tree
    assert G.has_edge(f"ws{c.grid_ws[g]}", f"g{g}")
    assert all(G.has_edge(f"g{g}", f"g{h}") for h in nb)
    import networkx as nx
    assert nx.is_connected(G)


def test_same_seed_same_city_other_seed_other_city():
    s = load_scenario()
    a, b = build_city(s), build_city(s)
    assert np.array_equal(a.grid_x, b.grid_x) and np.array_equal(a.ws_status, b.ws_status)
    c = build_city(load_scenario(None, ["run.seed=7"]))
    assert not np.array_equal(a.grid_x, c.grid_x)
    assert (c.ws_status == BUILT).sum() == 1803


def test_full_build_is_the_same_city_all_built():
    full = build_city(load_scenario(SCENARIOS / "suzhou_2018_full_build.toml"))
    base = build_city(load_scenario())
    assert (full.sc_status == BUILT).all() and (full.ws_status == BUILT).all()
    assert np.array_equal(full.grid_x, base.grid_x)


def test_fewer_fulltime_workers_than_grids_go_to_most_populous():
    c = build_city(load_scenario(None, ["staff.fulltime_workers=4658"]))
    assert c.grid_fulltime.sum() == 4658 and c.grid_fulltime.max() == 1
    order = np.argsort(-c.grid_population, kind="stable")
    assert c.grid_fulltime[order[:4658]].all()


def test_build_is_fast():
    s = load_scenario()
    t = time.perf_counter()
    build_city(s)
    assert time.perf_counter() - t < 5.0


def test_apportion_and_rcb():
    assert apportion(10, [1, 1, 1]).tolist() == [4, 3, 3]
    assert apportion(10, [100, 1, 1], 2).tolist() == [6, 2, 2]
    pts = np.random.default_rng(1).uniform(size=(101, 2))
    parts = rcb(np.arange(101), pts, 7)
    assert sorted(len(p) for p in parts) == [14, 14, 14, 14, 15, 15, 15]
    assert sorted(np.concatenate(parts).tolist()) == list(range(101))


def test_cli_city_prints_totals():
    r = subprocess.run([sys.executable, "-m", "gridsim", "city"], capture_output=True, text=True, cwd="/")
    assert r.returncode == 0, r.stderr
    total = [ln for ln in r.stdout.splitlines() if ln.startswith("Total")][0].split()
    assert total[1:9] == ["71/33", "1803/430/3", "8,820", "9,604", "9,316", "63,563", "1,040", "10,721,700"]
    r = subprocess.run([sys.executable, "-m", "gridsim", "city", "--json"], capture_output=True, text=True)
    rows = json.loads(r.stdout)["divisions"]
    assert rows[-1]["grids"] == 8820 and len(rows) == 11


def test_explicit_allocation_by_division_and_subcenter():
    per_div = [500, 1500, 700, 600, 800, 1100, 1200, 1000, 1400, 516]
    c = build_city(load_scenario(None, ["allocation.per=division", f"allocation.fulltime_workers={per_div}"]))
    got = [int(c.grid_fulltime[c.grid_div == d].sum()) for d in range(10)]
    assert got == per_div
    # within a division: one per grid, most populous first, while they last
    gusu = c.grid_div == 0
    order = np.argsort(-c.grid_population[gusu], kind="stable")
    assert c.grid_fulltime[gusu][order[:500]].min() == 1 and c.grid_fulltime[gusu][order[500:]].max() == 0
    units = [10] * 104
    units[0] = 10 + 1040 - 1040
    c2 = build_city(load_scenario(None, ["allocation.per=subcenter", f"allocation.police_units={units}"]))
    assert c2.sc_police_units.tolist() == units
