"""Explicit city layouts (city.grids_file, staff.police_posts_file): the city is built exactly
from the tables, the fleet stands at the given posts, and bad tables are one clear error."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from gridsim.city import build_city
from gridsim.cli.main import main
from gridsim.engine.model import CityModel
from gridsim.scenario import ScenarioError, load_scenario

SCENARIOS = Path(__file__).resolve().parent.parent / "scenarios"
NAME = "validation_hypercube"


@pytest.fixture
def folder(tmp_path) -> Path:
    """A copy of the validation scenario and its tables, to spoil one at a time."""
    for p in SCENARIOS.glob(f"{NAME}*"):
        shutil.copy(p, tmp_path / p.name)
    shutil.copy(SCENARIOS / "divisions_validation.csv", tmp_path)
    return tmp_path


def _rewrite(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))


def test_city_is_built_from_the_tables():
    spec = load_scenario(SCENARIOS / f"{NAME}.toml")
    city = build_city(spec)
    assert city.n_grids == 8 and city.n_subcenters == 1 and city.n_workstations == 1
    assert city.grid_x.tolist() == [0.2, 1.9, 3.7, 0.4, 2.3, 3.6, 1.1, 3.1]
    assert city.grid_y.tolist() == [0.3, 0.4, 0.2, 1.8, 2.1, 1.7, 3.4, 3.6]
    assert city.grid_population.tolist() == [1800, 700, 1200, 400, 1500, 900, 600, 1000]
    assert city.sc_police_units.tolist() == [5]
    assert city.police_post_xy.tolist() == [[0.5, 0.6], [3.3, 0.5], [2.0, 1.6], [0.7, 2.9], [3.4, 3.2]]
    # the same city whatever the seed: nothing is drawn
    other = build_city(load_scenario(SCENARIOS / f"{NAME}.toml", ["run.seed=7"]))
    assert np.array_equal(other.grid_x, city.grid_x) and np.array_equal(other.police_post_xy, city.police_post_xy)
    # the fleet stands at the given posts, not at posts drawn by population
    model = CityModel(spec, city=city)
    fleet = model.police_fleet
    assert [(fleet.x[u], fleet.y[u]) for u in range(len(fleet))] == [tuple(p) for p in city.police_post_xy]
    model.release()


def test_baseline_has_no_layout_and_the_tables_enter_the_fingerprint(folder):
    assert load_scenario().layout is None
    spec = load_scenario(folder / f"{NAME}.toml")
    keys = [f.key for f in spec.data_files]
    assert "city.grids_file" in keys and "staff.police_posts_file" in keys
    before = spec.fingerprint()
    _rewrite(folder / f"{NAME}_posts.csv", "p4,3.40,3.20,0", "p4,3.40,3.10,0")
    assert load_scenario(folder / f"{NAME}.toml").fingerprint() != before


@pytest.mark.parametrize("table,old,new,message", [
    ("posts", "p4,3.40,3.20,0", "p4,9.40,3.20,0", "post at (9.4, 3.2) is outside the city"),
    ("posts", "p4,3.40,3.20,0", "p4,3.40,north,0", "data row 5 (y_km)"),
    ("posts", "p4,3.40,3.20,0", "p4,3.40,nan,0", "bad value"),
    ("posts", "p4,3.40,3.20,0", "p4,3.40,3.20,1", "unknown sub-center"),
    ("posts", "p4,3.40,3.20,0", "p3,3.40,3.20,0", "empty or repeated name"),
    ("posts", "unit,x_km,y_km,subcenter", "unit,x_km,y_km,station", "unknown column 'station'"),
    ("grids", "grid,x_km,y_km,population,area_km2", "grid,x_km,y_km,pop,area_km2", "unknown column 'pop'"),
    ("grids", "g7,3.10,3.60,1000,0.5", "g7,3.10,3.60,-5,0.5", "data row 8 (population)"),
    ("grids", "g7,3.10,3.60,1000,0.5", "g7,0.20,0.30,1000,0.5", "two grids at the same point"),
    ("grids", "g7,3.10,3.60,1000,0.5", "g7,3.10,3.60", "has 3 values for 5 columns"),
])
def test_bad_tables_are_one_clear_error(folder, table, old, new, message):
    path = folder / f"{NAME}_{table}.csv"
    _rewrite(path, old, new)
    with pytest.raises(ScenarioError) as exc:
        load_scenario(folder / f"{NAME}.toml")
    assert message in str(exc.value) and str(path) in str(exc.value)


@pytest.mark.parametrize("overrides,message", [
    (["city.grids=9"], "city.grids = 9: city.grids_file has 8 grids"),
    (["staff.police_units=4"], "staff.police_posts_file has 5 posts"),
    (["city.workstations=2", "city.workstations_started=2"], "city.workstations = 2: must be 1 with explicit grids"),
    (["city.grids_file=''"], "posts need explicit grids"),
    (["city.grids_file=missing.csv"], "table not found"),
    (["staff.police_posts_file=posts.txt"], "'' (not used) or a .csv table"),
])
def test_keys_that_do_not_fit_the_tables_are_refused(folder, overrides, message):
    with pytest.raises(ScenarioError) as exc:
        load_scenario(folder / f"{NAME}.toml", overrides)
    assert message in str(exc.value)


def test_cli_refuses_a_bad_post_with_status_2_and_writes_nothing(folder, capsys):
    _rewrite(folder / f"{NAME}_posts.csv", "p0,0.50,0.60,0", "p0,-7.00,0.60,0")
    out = folder / "run"
    code = main(["run", str(folder / f"{NAME}.toml"), "--days", "1", "--quiet", "--out", str(out)])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert len(err.splitlines()) == 1 and "outside the city" in err and "Traceback" not in err
    assert not out.exists() or not any(out.iterdir())
