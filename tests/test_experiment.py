"""Batch experiments: spec validation, common random numbers, executors agree, kill-and-resume,
failed runs, summary statistics, the store's fingerprint, the command line."""

import json
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from scipy import stats

from gridsim.cli.main import main
from gridsim.domain import ECDF_GRID_MIN
from gridsim.studies import runs as ex
from gridsim.studies.batch import run_batch
from gridsim.studies.columns import DIVISION_BASES, METRIC_NAMES
from gridsim.studies.executors import ProcessExecutor, SerialExecutor
from gridsim.studies.experiment import load_experiment
from gridsim.studies.runs import execute_run
from gridsim.studies.summary import summarise_runs
from gridsim.scenario import ScenarioError

from conftest import ROOT, SCENARIOS

MMC = (SCENARIOS / "validation_mmc.toml").as_posix()
# M/M/c in one grid: fast (a few thousand events per run); rho = 0.8 at 3 workers
SMALL = f"""
name = "{{name}}"
base = "{MMC}"
replications = {{reps}}
days = 3
seed = 11
metrics = ["register_dispatch.share", "register_dispatch.p90", "util.fulltime", "queue.grid_mean"]
[set]
"run.warmup_hours" = 12.0
[factors]
"staff.fulltime_workers" = [3, 4]
"""


def write_exp(tmp_path: Path, name: str = "small", reps: int = 2, text: str | None = None) -> Path:
    p = tmp_path / f"{name}.toml"
    p.write_text(text if text is not None else SMALL.format(name=name, reps=reps))
    return p


def runs_frame(path: Path) -> pd.DataFrame:
    df = pq.read_table(path).to_pandas().drop(columns=["wall_s"])
    for c in [c for c in df.columns if c.startswith("ecdf.")]:
        df[c] = df[c].map(lambda a: None if a is None else tuple(np.asarray(a).tolist()))
    return df


def assert_same_runs(a: Path, b: Path) -> None:
    pd.testing.assert_frame_equal(runs_frame(a), runs_frame(b))


# ------------------------------------------------------------------------------------- spec

def test_metric_names_match_a_real_run(tmp_path):
    """The metric constants (used to validate `metrics`) are exactly what a run produces."""
    exp = load_experiment(write_exp(tmp_path, "m", 1))
    out = execute_run(ex.plan_runs(exp)[0])
    assert out["row"]["status"] == "ok", out["row"]["error"]
    names = list(out["row"]["metrics"])
    assert [n for n in names if "@" not in n] == list(METRIC_NAMES)
    assert {n for n in names if "@" in n} == {f"{b}@{d.name}" for b in DIVISION_BASES for d in exp.base.divisions}
    assert len(ECDF_GRID_MIN) == 121 and ECDF_GRID_MIN[0] == 0.0 and ECDF_GRID_MIN[-1] == 60.0
    for stage, values in out["row"]["ecdf"].items():
        assert len(values) == 121
        if not math.isnan(values[0]):
            assert np.all(np.diff(values) >= 0) and 0 <= values[0] <= values[-1] <= 1


def test_example_experiments_load():
    """The shipped experiments validate and have the advertised shape."""
    sweep = load_experiment(ROOT / "experiments" / "staffing_sweep.toml")
    assert [v.factors["staff.fulltime_workers"] for v in sweep.variants] == [9316, 4658, 6987, 13974, 18632]
    assert sweep.factor_keys == ["staff.fulltime_workers"]
    build = load_experiment(ROOT / "experiments" / "buildout.toml")
    assert len(build.variants) == 2
    full = build.variants[1].scenario.city
    assert (full.subcenters_built, full.workstations_built, full.workstations_started) == (104, 2236, 2236)
    assert "city.subcenters_built" in build.factor_keys
    surge = load_experiment(ROOT / "experiments" / "surge.toml")
    assert not surge.baseline.scenario.surge.enabled
    assert surge.variants[1].scenario.surge.enabled
    assert len(surge.variants[1].scenario.surge.divisions) == 1
    for e in (sweep, build, surge):
        assert e.n_runs * e.days <= 60     # at most ~75 s of runs per core at 2.5 s per simulated day


BAD = [
    ("replicatons = 2\n", "replicatons", "did you mean 'replications'"),
    ("replications = 0\n", "replications", "an integer >= 1"),
    ("replications = 2\n[factors]\n\"staff.fulltme_workers\" = [3, 4]\n", "staff.fulltme_workers",
     "did you mean 'staff.fulltime_workers'"),
    ("replications = 2\n[factors]\n\"staff.fulltime_workers\" = [3, -1]\n", "staff.fulltime_workers", "out of range"),
    ("replications = 2\n[factors]\n\"staff.fulltime_workers\" = 3\n", "factors.staff.fulltime_workers",
     "non-empty list"),
    ("replications = 2\n[factors]\n\"run.seed\" = [1, 2]\n", "run.seed", "experiment's `seed`"),
    ("replications = 2\nmetrics = [\"on_scene.shar\"]\n", "metrics", "did you mean 'on_scene.share'"),
    ("replications = 2\n[factors]\n\"staff.fulltime_workers\" = [3]\n[[variants]]\nname = \"a\"\n", "factors",
     "not both"),
    ("replications = 2\n[[variants]]\nname = \"a\"\n[[variants]]\nname = \"a\"\n", "variants[1].name", "duplicate"),
    ("replications = 2\n[[variants]]\nname = \"a/b\"\n", "variants[0].name", "directory name"),
    ("replications = 2\n[[variants]]\nname = \"a\"\nscenario = \"nowhere.toml\"\n", "variants[0].scenario",
     "no such scenario"),
    ("replications = 2\n[[variants]]\nname = \"a\"\n[variants.set]\n\"surge.enabled\" = true\n"
     "\"surge.divisions\" = [\"Kunshn\"]\n",
     "surge.divisions", "unknown division 'Kunshn'"),
    ("replications = [2\n", "", "not valid TOML"),
]


@pytest.mark.parametrize("body,key,needle", BAD)
def test_bad_experiment_files_give_one_clear_line(tmp_path, capsys, body, key, needle):
    text = (f'base = "{MMC}"\n' if "base" not in body else "") + body
    p = write_exp(tmp_path, "bad", text=text)
    with pytest.raises(ScenarioError):
        load_experiment(p)
    assert main(["batch", str(p), "--workers", "1", "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    assert err.startswith(f"gridsim: error: {p}") and key in err and needle in err, err
    assert not (tmp_path / "out").exists()


def test_metric_patterns_expand_in_order(tmp_path):
    p = write_exp(tmp_path, "pat", text=SMALL.format(name="pat", reps=1).replace(
        'metrics = ["register_dispatch.share", "register_dispatch.p90", "util.fulltime", "queue.grid_mean"]',
        'metrics = ["util.*", "on_scene.share", "util.police"]'))
    assert load_experiment(p).metrics == ["util.police", "util.fulltime", "util.leader", "util.parttime",
                                          "on_scene.share"]


def test_missing_experiment_file(tmp_path, capsys):
    assert main(["batch", str(tmp_path / "nope.toml")]) == 2
    assert "file not found" in capsys.readouterr().err


def test_variants_with_a_scenario_get_factor_columns(tmp_path):
    (tmp_path / "more.toml").write_text(f'extends = "{MMC}"\n[staff]\nfulltime_workers = 5\n')
    p = write_exp(tmp_path, "vars", text=f"""
base = "{MMC}"
replications = 1
days = 2
[set]
"run.warmup_hours" = 1.0
[[variants]]
name = "baseline"
[[variants]]
name = "more_staff"
scenario = "more.toml"
[[variants]]
name = "busier"
[variants.set]
demand.hotline_per_day = 300.0
""")
    exp = load_experiment(p)
    assert exp.factor_keys == ["staff.fulltime_workers", "demand.hotline_per_day"]   # in order of appearance
    assert [v.factors for v in exp.variants] == [
        {"demand.hotline_per_day": 288.0, "staff.fulltime_workers": 3},
        {"demand.hotline_per_day": 288.0, "staff.fulltime_workers": 5},
        {"demand.hotline_per_day": 300.0, "staff.fulltime_workers": 3}]
    assert all(v.scenario.run.warmup_hours == 1.0 and v.scenario.run.days == 2 for v in exp.variants)


# ------------------------------------------------------------------------------------- seeds

def test_common_random_numbers_and_recorded_seeds(tmp_path):
    """Replication r of every variant sees the same calls; replications differ."""
    exp = load_experiment(write_exp(tmp_path, "crn", reps=2))
    report = run_batch(exp, tmp_path / "out", SerialExecutor(), keep_events=True)
    runs = report.runs
    assert len(runs) == 4 and (runs["status"] == "ok").all()
    assert (runs["seed"] == 11).all() and sorted(runs["replication"]) == [0, 0, 1, 1]
    calls = {}
    for v in exp.variants:
        for r in range(2):
            ev = pd.read_parquet(tmp_path / "out" / "runs" / v.name / f"rep{r}" / "events.parquet")
            calls[v.name, r] = ev[["t_call", "source", "category", "grid_id"]].reset_index(drop=True)
            summary = json.loads((tmp_path / "out" / "runs" / v.name / f"rep{r}" / "summary.json").read_text())
            assert summary["seed"] == 11 and summary["replication"] == r
    a, b = (v.name for v in exp.variants)
    for r in range(2):
        pd.testing.assert_frame_equal(calls[a, r], calls[b, r])
    assert not np.array_equal(calls[a, 0]["t_call"].to_numpy()[:50], calls[a, 1]["t_call"].to_numpy()[:50])
    # the service times differ between variants only through the queue: more staff, less waiting
    util = runs.set_index(["variant", "replication"])["util.fulltime"]
    assert (util[b] < util[a]).all()


# ------------------------------------------------------------------------------------- executors

def test_serial_processes_and_dask_give_identical_runs(tmp_path):
    pytest.importorskip("distributed")
    from gridsim.studies.executors import DaskExecutor
    exp = load_experiment(write_exp(tmp_path, "same", reps=2))
    run_batch(exp, tmp_path / "serial", SerialExecutor())
    run_batch(exp, tmp_path / "procs", ProcessExecutor(2))
    run_batch(exp, tmp_path / "dask", DaskExecutor("local", 2))
    assert_same_runs(tmp_path / "serial" / "runs.parquet", tmp_path / "procs" / "runs.parquet")
    assert_same_runs(tmp_path / "serial" / "runs.parquet", tmp_path / "dask" / "runs.parquet")
    df = pq.read_table(tmp_path / "serial" / "runs.parquet")
    assert df.schema.field("ecdf.on_scene").type.value_type == "double"
    assert df.schema.field("staff.fulltime_workers").type == "int64"


def test_missing_dask_is_a_clear_error(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)     # import distributed -> ImportError
    p = write_exp(tmp_path, "nodask")
    assert main(["batch", str(p), "--dask", "local", "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "pip install" in err and "[dask]" in err and "Traceback" not in err


# ------------------------------------------------------------------------------------- store

KILL = f"""
name = "killme"
base = "{MMC}"
replications = 6
days = 40
seed = 5
[set]
"run.warmup_hours" = 12.0
"demand.hotline_per_day" = 1440.0
[factors]
"staff.fulltime_workers" = [15, 16]
"""


def _rows(out: Path) -> list[Path]:
    return sorted(out.glob("runs/*/rep*/row.json"))


def test_sigkill_then_resume_gives_the_uninterrupted_result(tmp_path):
    p = write_exp(tmp_path, "killme", text=KILL)
    killed = tmp_path / "killed"
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.Popen([sys.executable, "-m", "gridsim", "batch", str(p), "--workers", "2", "--quiet",
                             "--out", str(killed)], cwd=tmp_path, env=env, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while len(_rows(killed)) < 2 and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.005)
        os.killpg(proc.pid, signal.SIGKILL)          # the batch and its workers, mid-way
    finally:
        proc.wait()
    committed = _rows(killed)
    assert 2 <= len(committed) < 12, "the batch should have been killed mid-way"
    for f in committed:                               # every committed row is whole
        assert json.loads(f.read_text())["status"] == "ok"
    assert main(["batch", str(p), "--workers", "1", "--quiet", "--out", str(killed)]) == 0
    main(["batch", str(p), "--workers", "1", "--quiet", "--out", str(tmp_path / "whole")])
    runs = runs_frame(killed / "runs.parquet")
    assert len(runs) == 12 and not runs.duplicated(["variant", "replication"]).any()
    assert_same_runs(killed / "runs.parquet", tmp_path / "whole" / "runs.parquet")
    assert pd.read_csv(killed / "summary.csv").equals(pd.read_csv(tmp_path / "whole" / "summary.csv"))


def test_rerun_of_a_finished_experiment_does_no_work(tmp_path, capsys, monkeypatch):
    p = write_exp(tmp_path, "again")
    out = tmp_path / "out"
    assert main(["batch", str(p), "--workers", "1", "--quiet", "--out", str(out)]) == 0
    stamp = (out / "runs.parquet").stat().st_mtime_ns
    assert (out / "experiment.toml").read_text() == p.read_text()
    for v in load_experiment(p).variants:
        assert (out / "scenarios" / f"{v.name}.toml").exists()
    capsys.readouterr()
    monkeypatch.setattr(ex, "simulate", lambda *a, **k: pytest.fail("re-run simulated"))
    assert main(["batch", str(p), "--resume", "--quiet", "--out", str(out)]) == 0
    assert "nothing to run" in capsys.readouterr().out
    assert (out / "runs.parquet").stat().st_mtime_ns == stamp


def test_failed_run_is_recorded_reported_and_retried(tmp_path, capsys, monkeypatch):
    p = write_exp(tmp_path, "fails", reps=2)
    out = tmp_path / "out"
    real = ex.simulate

    def flaky(scenario, replication=0, **kw):
        if scenario.staff.fulltime_workers == 4 and replication == 1:
            raise RuntimeError("dispatcher lost its way")
        return real(scenario, replication=replication, **kw)

    monkeypatch.setattr(ex, "simulate", flaky)
    assert main(["batch", str(p), "--workers", "1", "--quiet", "--out", str(out)]) == 1
    captured = capsys.readouterr()
    assert "1 failed" in captured.out and "dispatcher lost its way" in captured.out
    runs = pq.read_table(out / "runs.parquet").to_pandas()
    assert len(runs) == 4
    bad = runs[runs["status"] == "failed"]
    assert len(bad) == 1 and bad.iloc[0]["variant"] == "fulltime_workers=4" and bad.iloc[0]["replication"] == 1
    assert "RuntimeError: dispatcher lost its way" in bad.iloc[0]["error"]
    assert math.isnan(bad.iloc[0]["register_dispatch.share"]) and bad.iloc[0]["ecdf.respond"] is None
    assert (runs.loc[runs["status"] == "ok", "error"] == "").all()
    summary = pd.read_csv(out / "summary.csv")
    row = summary[(summary.variant == "fulltime_workers=4") & (summary.metric == "util.fulltime")].iloc[0]
    assert row["n"] == 1 and row["n_pairs"] == 1
    # the failure stays recorded (exit 1) until retried
    assert main(["batch", str(p), "--quiet", "--out", str(out)]) == 1
    monkeypatch.setattr(ex, "simulate", real)
    assert main(["batch", str(p), "--workers", "1", "--quiet", "--retry-failed", "--out", str(out)]) == 0
    assert (pq.read_table(out / "runs.parquet").to_pandas()["status"] == "ok").all()


def test_changed_experiment_is_refused_unless_forced(tmp_path, capsys):
    p = write_exp(tmp_path, "changed")
    out = tmp_path / "out"
    assert main(["batch", str(p), "--workers", "1", "--quiet", "--out", str(out)]) == 0
    p.write_text(p.read_text().replace("seed = 11", "seed = 12"))
    capsys.readouterr()
    assert main(["batch", str(p), "--workers", "1", "--quiet", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "--force" in err and "new `name`" in err and len(err.strip().splitlines()) == 1
    assert main(["batch", str(p), "--workers", "1", "--quiet", "--force", "--out", str(out)]) == 0
    assert (pq.read_table(out / "runs.parquet").to_pandas()["seed"] == 12).all()
    assert "seed = 12" in (out / "experiment.toml").read_text()


def test_store_refuses_a_foreign_directory(tmp_path, capsys):
    p = write_exp(tmp_path, "foreign")
    out = tmp_path / "mine"
    out.mkdir()
    (out / "thesis.docx").write_text("precious")
    assert main(["batch", str(p), "--workers", "1", "--out", str(out)]) == 2
    assert "not a gridsim batch store" in capsys.readouterr().err
    assert (out / "thesis.docx").read_text() == "precious"


# ------------------------------------------------------------------------------------- summary

def test_summary_mean_ci_and_paired_difference_on_known_data(tmp_path):
    exp = load_experiment(write_exp(tmp_path, "ci", reps=4))
    a, b = (v.name for v in exp.variants)
    runs = pd.DataFrame({
        "variant": [a] * 4 + [b] * 4, "replication": [0, 1, 2, 3] * 2, "status": ["ok"] * 7 + ["failed"],
        "util.fulltime": [0.5, 0.6, 0.7, 0.8, 0.6, 0.8, 0.9, np.nan]})
    s = summarise_runs(exp, runs, ["util.fulltime"]).set_index("variant")
    t3, t2 = stats.t.ppf(0.975, 3), stats.t.ppf(0.975, 2)
    half = t3 * np.std([0.5, 0.6, 0.7, 0.8], ddof=1) / 2
    assert s.loc[a, "n"] == 4 and s.loc[a, "mean"] == pytest.approx(0.65)
    assert (s.loc[a, "ci_low"], s.loc[a, "ci_high"]) == pytest.approx((0.65 - half, 0.65 + half))
    assert math.isnan(s.loc[a, "diff"])
    # b failed in replication 3: pairs are replications 0-2, differences 0.1, 0.2, 0.2
    d = np.array([0.1, 0.2, 0.2])
    dhalf = t2 * d.std(ddof=1) / math.sqrt(3)
    assert s.loc[b, "n"] == 3 and s.loc[b, "n_pairs"] == 3
    assert s.loc[b, "diff"] == pytest.approx(d.mean())
    assert (s.loc[b, "diff_ci_low"], s.loc[b, "diff_ci_high"]) == pytest.approx((d.mean() - dhalf, d.mean() + dhalf))
    # the paired interval is much tighter than the two separate ones
    assert s.loc[b, "diff_ci_high"] - s.loc[b, "diff_ci_low"] < s.loc[a, "ci_high"] - s.loc[a, "ci_low"]


def test_batch_help_shows_examples(capsys):
    with pytest.raises(SystemExit):
        main(["batch", "--help"])
    out = capsys.readouterr().out
    assert "examples:" in out and "--dask local" in out and "--keep-events" in out


def test_per_source_metrics_judge_one_source_only():
    """110.on_scene.share is the 110 incidents alone (the patrol targets judge nothing else);
    register_dispatch splits into its two work-order sources."""
    from gridsim.studies.columns import flatten_summary
    from gridsim.results.run import simulate
    from gridsim.scenario import load_scenario
    s = load_scenario(None, ["run.days=1"])
    res = simulate(s, keep_hourly=False)
    flat = flatten_summary(res.summary)
    ev = res.events
    police = ev[(ev.source == "110") & (ev.t_call >= 240) & ev.t_arrive.notna()]
    assert flat["110.on_scene.n"] >= len(police)
    limit = police.urban.map({True: 5.0, False: 10.0}).astype(float)
    assert flat["110.on_scene.share"] == pytest.approx(((police.t_arrive - police.t_call) <= limit).sum()
                                                      / flat["110.on_scene.n"])
    assert flat["110.on_scene.share"] == flat["on_scene.share"]
    assert math.isnan(flat["12345.on_scene.share"])                   # work orders are not judged on scene
    assert math.isnan(flat["110.register_dispatch.share"])          # no such step for 110
    assert flat["12345.register_dispatch.n"] + flat["grid.register_dispatch.n"] == flat["register_dispatch.n"]


def test_work_order_metrics_come_from_the_run_summary():
    """wo.<key>: the answer queue, hazards and the time to close, as the run itself reports them."""
    from gridsim.studies.columns import flatten_summary
    from gridsim.results.run import simulate
    from gridsim.scenario import load_scenario
    res = simulate(load_scenario(None, ["run.days=2"]), keep_hourly=False)
    flat, sm = flatten_summary(res.summary), res.summary
    h = sm["hotline"]
    assert flat["wo.answer_wait_mean_s"] == pytest.approx(h["answer_wait_mean_s"]) and 0 < h["answer_wait_mean_s"] < 60
    assert flat["wo.first_contact_share"] == pytest.approx(h["first_contact"] / h["calls"])
    ev = res.events
    found = ev[(ev.source == "grid") & (ev.t_onset >= 1440) & ev.t_call.notna()]
    assert flat["wo.hazards_found"] == len(found) > 0
    assert flat["wo.discovery_p50_min"] == pytest.approx((found.t_call - found.t_onset).median())
    assert flat["wo.close_wd_mean_12345"] == pytest.approx(sm["work_orders"]["close_working_days"]["12345"]["restricted_mean"])
