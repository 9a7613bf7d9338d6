"""The siting planner: the MILP equals brute force, greedy order with its bound, the written
scenario runs and builds the chosen sub-centers, bad input fails in one line with nothing written."""

import itertools
import numpy as np
import pytest
import scipy.sparse as sp

from gridsim.city import build_city
from gridsim.domain import BUILT
from gridsim.scenario import load_scenario
from gridsim.studies.siting import (SitingProblem, built_overrides, finish_order, random_choice,
                                    siting_problem, solve_mclp)


def _random_problem(seed, grids=40, cands=8):
    rng = np.random.default_rng(seed)
    covers = sp.csr_matrix((rng.random((grids, cands)) < 0.15).astype(np.int8))
    return SitingProblem(demand=rng.gamma(1.0, 3.0, grids), covers=covers, base_covered=rng.random(grids) < 0.2,
                         candidates=np.arange(100, 100 + cands), coverage_min=10.0)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_milp_equals_brute_force(seed):
    p = _random_problem(seed)
    for k in range(1, 5):
        best = max(p.covered_demand(list(c)) for c in itertools.combinations(range(8), k))
        chosen, covered = solve_mclp(p, k)
        assert len(chosen) == k
        assert covered == pytest.approx(best, rel=1e-9)
        assert p.covered_demand(chosen) == pytest.approx(covered)


def test_greedy_order_never_beats_the_milp():
    p = _random_problem(7)
    order = finish_order(p)
    assert sorted(s.subcenter for s in order) == list(range(100, 108))
    assert order[0].gap == pytest.approx(0.0)       # one site: greedy is optimal
    for s in order:
        assert s.covered_optimal >= s.covered_greedy - 1e-9 and s.gap >= 0
    covered = [s.covered_greedy for s in order]
    assert covered == sorted(covered)


def test_budget_out_of_range_is_refused():
    with pytest.raises(ValueError, match="between 0 and the 8"):
        solve_mclp(_random_problem(1), 9)


def test_baseline_instance(baseline_city):
    s = load_scenario()
    p = siting_problem(s, baseline_city, 15.0)
    assert len(p.candidates) == 33 and (baseline_city.sc_status[p.candidates] != BUILT).all()
    chosen, covered = solve_mclp(p, 3)
    rand = random_choice(p, 3, s.run.seed)
    assert covered >= p.covered_demand(rand) and covered > p.covered_demand([])
    # demand: dispatched 12345 orders plus patrol reports, about 12,000 a day (README, facts)
    assert 9000 < p.demand.sum() < 15000


def test_built_ids_build_exactly_those(baseline_city):
    s = load_scenario()
    add = np.flatnonzero(baseline_city.sc_status != BUILT)[:4]
    keys = built_overrides(baseline_city, add)
    assert keys["city.subcenters_built"] == 75
    c2 = build_city(s.copy_with(keys))
    assert set(np.flatnonzero(c2.sc_status == BUILT)) == set(keys["city.subcenters_built_ids"])
    # same grids, same workstation statuses: only the chosen sub-centers changed
    assert np.array_equal(c2.grid_x, baseline_city.grid_x)
    assert np.array_equal(c2.ws_status, baseline_city.ws_status)


SMALL = ["run.warmup_hours=2", "city.subcenters=30", "city.subcenters_built=20", "city.workstations=60",
         "city.workstations_built=50", "city.workstations_started=58", "city.grids=600",
         "staff.fulltime_workers=600", "staff.grid_leaders=600", "staff.parttime_workers=1200",
         "staff.police_units=150", "demand.police_per_day=800", "demand.hotline_per_day=1600"]
"""A small Suzhou (30 sub-centers, 600 grids, inside the real outlines) keeps the command test fast."""


def _site(tmp_path, monkeypatch, *args):
    from gridsim.cli.main import main
    monkeypatch.chdir(tmp_path)
    return main(["site", *args])


def test_site_command_writes_a_scenario_that_runs(tmp_path, monkeypatch, capsys):
    out = tmp_path / "s"
    sets = [a for kv in SMALL for a in ("--set", kv)]
    code = _site(tmp_path, monkeypatch, "--coverage-min", "15", "--subcenters", "2", "--replications", "2",
                 "--days", "1", *sets, "--out", str(out))
    assert code == 0, capsys.readouterr().err
    for f in ("sited.toml", "sites.csv", "order.csv", "siting.csv", "siting_map.png"):
        assert (out / f).is_file()
    s = load_scenario(out / "sited.toml")
    assert s.city.subcenters_built == 22 and s.run.warmup_hours == 2.0 and s.city.grids == 600
    c = build_city(s)
    chosen = [int(line.split(",")[0]) for line in (out / "sites.csv").read_text().splitlines()[1:]]
    assert len(chosen) == 2 and all(c.sc_status[i] == BUILT for i in chosen)
    assert len((out / "order.csv").read_text().splitlines()) == 1 + 10     # all 10 candidates in order
    table = (out / "siting.csv").read_text()
    assert "chosen" in table and "random" in table and "current" in table
    from gridsim.results.run import simulate
    assert simulate(s, keep_hourly=False).summary["volumes"]["events_total"] > 0     # the written scenario runs


def test_site_division_limits_the_candidates(baseline_city):
    s = load_scenario()
    wj = baseline_city.division_names.index("Wujiang")
    p = siting_problem(s, baseline_city, 15.0, divisions=[wj])
    assert len(p.candidates) >= 1 and (baseline_city.sc_div[p.candidates] == wj).all()


@pytest.mark.parametrize("args, message", [
    (["--coverage-min", "0", "--subcenters", "2"], "--coverage-min 0: must be > 0"),
    (["--coverage-min", "15", "--subcenters", "40"], "only 33 unbuilt sub-centers"),
    (["--coverage-min", "15", "--subcenters", "2", "--division", "Atlantis"], "unknown division"),
    (["--coverage-min", "15", "--subcenters", "2", "--set", "city.outlines_file=bad.geojson"], "not valid JSON"),
])
def test_bad_input_one_line_exit_2_nothing_written(tmp_path, monkeypatch, capsys, args, message):
    (tmp_path / "bad.geojson").write_text("{oops")
    assert _site(tmp_path, monkeypatch, *args, "--out", str(tmp_path / "o")) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and "Traceback" not in err
    assert not (tmp_path / "o").exists()
