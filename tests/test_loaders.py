"""gridsim.results.loaders: telling run and experiment directories apart, reading them with the
results codec, and refusing an experiment store written on another ECDF grid."""

from __future__ import annotations

import math
import shutil

import numpy as np
import pandas as pd
import pytest

from gridsim.domain import ECDF_GRID_MIN
from gridsim.scenario import builtin_path, load_scenario
from gridsim.results import loaders
from gridsim.results.io import write_json, write_parquet

GRID = len(ECDF_GRID_MIN)


def _runs(ecdf_rows: list) -> pd.DataFrame:
    n = len(ecdf_rows)
    return pd.DataFrame({"experiment": ["e"] * n, "variant": ["a"] * n, "replication": list(range(n)),
                         "seed": [1] * n, "status": ["ok"] * n, "on_scene.share": [0.5] * n,
                         "110.on_scene.share": [0.4] * n, "util.police": [0.3] * n, "queue.grid_mean": [1.0] * n,
                         "staff.police_units": [100 + 10 * i for i in range(n)], "ecdf.on_scene": ecdf_rows})


def test_not_a_results_dir(tmp_path):
    assert loaders.detect_kind(tmp_path) is None
    with pytest.raises(loaders.NotAResultsDir, match="neither a run directory"):
        loaders.load_results(tmp_path)
    with pytest.raises(loaders.NotAResultsDir, match="does not exist"):
        loaders.load_results(tmp_path / "nope")


def test_ecdf_matrix_skips_runs_without_data_only():
    full = list(np.linspace(0, 1, GRID))
    exp = loaders.ExperimentData(runs=_runs([full, None, [math.nan] * GRID, full]))
    mat = exp.ecdf_matrix("on_scene")
    assert mat.shape == (2, GRID) and np.allclose(mat[0], full)
    assert exp.ecdf_matrix("cordon").shape == (0, GRID)          # no column: no curve, no error


def test_store_on_another_grid_fails_loudly(tmp_path):
    exp = loaders.ExperimentData(runs=_runs([[0.1] * GRID, [0.2] * (GRID - 20)]))
    with pytest.raises(loaders.IncompatibleResults, match=f"has {GRID - 20} points; this gridsim reads {GRID}"):
        exp.ecdf_matrix("on_scene")
    write_parquet(exp.runs, tmp_path / "runs.parquet")
    with pytest.raises(loaders.NotAResultsDir, match="ecdf.on_scene of run 1"):   # the CLI's one-line error
        loaders.load_results(tmp_path)


def test_factors_are_dotted_columns_that_are_not_metrics():
    exp = loaders.ExperimentData(runs=_runs([None, None]))
    assert exp.factors == ["staff.police_units"] and exp.numeric_factors == ["staff.police_units"]
    assert loaders.ecdf_column("on_scene") == "ecdf.on_scene"


def test_run_directory_read_with_the_codec(tmp_path):
    write_parquet(pd.DataFrame({"event_id": [0, 1]}), tmp_path / "events.parquet")
    targets = {"response_min": 4, "on_scene_min": 7, "support_min": 20, "cordon_min": 45}
    write_json(tmp_path / "summary.json", {"scenario": "mine", "targets": targets, "horizon_min": 2880.0,
                                           "warmup_hours": 6, "days": 2, "seed": 11,
                                           "stages": {"cordon": {"p99": math.inf, "share": math.nan}}})
    scen = load_scenario(None)                  # a run folder is self-contained: scenario and its data files
    (tmp_path / "scenario.toml").write_text(scen.to_toml())
    for data_file in builtin_path().parent.iterdir():    # the built-in data files it names
        if data_file.is_file() and data_file.suffix != ".toml":
            shutil.copy(data_file, tmp_path / data_file.name)
    run = loaders.load_results(tmp_path)
    assert isinstance(run, loaders.RunData) and loaders.detect_kind(tmp_path) == "run"
    assert run.targets == targets                       # the run's own targets, not the scenario's
    assert (run.horizon_min, run.warmup_min, run.days, run.seed, run.name) == (2880.0, 360.0, 2.0, 11, "mine")
    assert run.summary["stages"]["cordon"] == {"p99": "inf", "share": None}   # as written; decode_number reads it
