"""The batch summary a planner reads: per-division metrics, pass/fail against the required
share, and the note on results that look backwards because the mix of judged events changed."""

import pandas as pd
import pyarrow.parquet as pq
import pytest

from gridsim.cli.main import main
from gridsim.scenario import ScenarioError
from gridsim.studies.experiment import load_experiment
from gridsim.studies.summary import mix_notes, summarise_runs

from conftest import SCENARIOS

MMC = (SCENARIOS / "validation_mmc.toml").as_posix()
EXP = f"""
name = "{{name}}"
base = "{MMC}"
replications = {{reps}}
days = 2
seed = 3
metrics = {{metrics}}
[set]
"run.warmup_hours" = 6.0
[factors]
"staff.fulltime_workers" = [3, 4]
"""


def _exp(tmp_path, metrics, name="div", reps=2):
    p = tmp_path / f"{name}.toml"
    p.write_text(EXP.format(name=name, reps=reps, metrics=metrics))
    return p


def test_per_division_metrics_come_from_each_runs_division_table(tmp_path, capsys):
    p = _exp(tmp_path, '["register_dispatch.share@Validation", "register_dispatch.n@*", "register_dispatch.share"]')
    exp = load_experiment(p)
    assert exp.metrics == ["register_dispatch.share@Validation", "register_dispatch.n@Validation",
                           "register_dispatch.share"]
    out = tmp_path / "out"
    assert main(["batch", str(p), "--workers", "1", "--quiet", "--out", str(out)]) == 0
    runs = pq.read_table(out / "runs.parquet").to_pandas()
    # one division: its figures are the city's
    assert runs["register_dispatch.share@Validation"].tolist() == runs["register_dispatch.share"].tolist()
    assert (runs["register_dispatch.n@Validation"] > 100).all()
    summary = pd.read_csv(out / "summary.csv")
    assert set(summary["metric"]) == set(exp.metrics)
    assert "register_dispatch.share@Validation" in capsys.readouterr().out


@pytest.mark.parametrize("metric, needle", [
    ('["on_scene.share@Valdation"]', "did you mean 'Validation'"),
    ('["on_scene.p95@Validation"]', "unknown metric"),
    ('["on_scene.share@Kun*"]', "matches no metric"),
])
def test_bad_division_metrics(tmp_path, metric, needle):
    with pytest.raises(ScenarioError, match=needle):
        load_experiment(_exp(tmp_path, metric, name="bad"))


def _runs(variants, shares, ns):
    rows = []
    for v, sh, n in zip(variants, shares, ns):
        for r, (s, k) in enumerate(zip(sh, n)):
            rows.append({"variant": v, "replication": r, "status": "ok", "register_dispatch.share": s,
                         "register_dispatch.n": k})
    return pd.DataFrame(rows)


def test_shares_are_judged_against_the_required_share(tmp_path):
    exp = load_experiment(_exp(tmp_path, '["register_dispatch.share", "util.fulltime"]', reps=3))
    a, b = (v.name for v in exp.variants)
    assert exp.baseline.scenario.targets.register_dispatch_required_share == 0.9
    runs = _runs([a, b], [[0.95, 0.96, 0.97], [0.5, 0.9, 0.99]], [[400, 400, 400], [5, 5, 5]])
    runs["util.fulltime"] = 0.5
    s = summarise_runs(exp, runs).set_index(["metric", "variant"])
    assert s.loc[("register_dispatch.share", a), "verdict"] == "met"
    assert s.loc[("register_dispatch.share", a), "judged"] == 1200
    assert s.loc[("register_dispatch.share", a), "required"] == 0.9
    assert s.loc[("register_dispatch.share", b), "verdict"] == "too few to judge"      # 15 events
    assert s.loc[("util.fulltime", a), "verdict"] == "" or pd.isna(s.loc[("util.fulltime", a), "verdict"])
    runs = _runs([a, b], [[0.5, 0.52, 0.51], [0.85, 0.95, 0.9]], [[400] * 3, [400] * 3])
    runs["util.fulltime"] = 0.5
    s = summarise_runs(exp, runs).set_index(["metric", "variant"])
    assert s.loc[("register_dispatch.share", a), "verdict"] == "missed"
    assert s.loc[("register_dispatch.share", b), "verdict"] == "uncertain"


def test_batch_table_and_csv_mark_the_verdict(tmp_path, capsys):
    p = _exp(tmp_path, '["register_dispatch.share"]', name="verdict")
    out = tmp_path / "out"
    assert main(["batch", str(p), "--workers", "1", "--quiet", "--out", str(out)]) == 0
    summary = pd.read_csv(out / "summary.csv")
    assert set(summary.columns) >= {"required", "judged", "verdict"}
    assert set(summary["verdict"]) <= {"met", "missed", "uncertain", "too few to judge"}
    printed = capsys.readouterr().out
    for v in summary.itertuples():
        word = "MISSED" if v.verdict == "missed" else v.verdict
        assert f"{word} (90%)" in printed


def test_a_pooled_share_that_worsens_only_through_the_mix_gets_a_note(tmp_path):
    """Each source holds its share, but the variant judges many more of the slow source."""
    exp = load_experiment(_exp(tmp_path, '["respond.share"]', name="mix", reps=3))
    a, b = (v.name for v in exp.variants)
    rows = []
    for v, n_grid in ((a, 100), (b, 300)):
        for r in range(3):
            share = (900 * 0.95 + n_grid * 0.10) / (900 + n_grid)
            rows.append({"variant": v, "replication": r, "status": "ok", "respond.share": share + 0.001 * r,
                         "respond.n": 900 + n_grid, "110.respond.share": 0.95 + 0.001 * r, "110.respond.n": 900,
                         "grid.respond.share": 0.10 + 0.002 * r, "grid.respond.n": n_grid,
                         "12345.respond.share": float("nan"), "12345.respond.n": 0,
                         "volume.grid_patrol_reports": 10 * n_grid})
    runs = pd.DataFrame(rows)
    notes = mix_notes(exp, runs, summarise_runs(exp, runs))
    assert len(notes) == 1
    assert "respond.share looks worse for fulltime_workers=4" in notes[0]
    assert "300 grid patrol reports" in notes[0] and "demand grows with staff" in notes[0]
    # when a source itself gets worse, the pooled change is real: no note
    runs.loc[runs["variant"] == b, "110.respond.share"] -= 0.2
    assert mix_notes(exp, runs, summarise_runs(exp, runs)) == []


def test_queues_that_grow_with_grid_staff_get_the_demand_note(tmp_path):
    from gridsim.studies.summary import backwards_notes
    exp = load_experiment(_exp(tmp_path, '["queue.grid_mean"]', name="demand", reps=3))
    a, b = (v.name for v in exp.variants)          # 3 and 4 full-time workers
    runs = pd.DataFrame([{"variant": v, "replication": r, "status": "ok", "queue.grid_mean": q + 0.1 * r,
                          "volume.grid_patrol_reports": reports + r}
                         for v, q, reports in ((a, 10.0, 100), (b, 12.0, 150)) for r in range(3)])
    notes = backwards_notes(exp, runs, summarise_runs(exp, runs))
    assert len(notes) == 1 and "queue.grid_mean rise with more grid staff (fulltime_workers=4)" in notes[0]
    assert "101 -> 151 reports a run" in notes[0]
    # no more reports: no explanation to give
    runs["volume.grid_patrol_reports"] = 100.0
    assert backwards_notes(exp, runs, summarise_runs(exp, runs)) == []


def test_batch_exports_the_summary_table(tmp_path):
    p = _exp(tmp_path, '["register_dispatch.share", "util.fulltime"]', name="export", reps=1)
    out = tmp_path / "out"
    assert main(["batch", str(p), "--workers", "1", "--quiet", "--out", str(out),
                 "--csv", str(tmp_path / "s.csv"), "--xlsx", str(tmp_path / "s.xlsx")]) == 0
    exported = pd.read_csv(tmp_path / "s.csv")
    pd.testing.assert_frame_equal(exported, pd.read_csv(out / "summary.csv"))
    assert set(pd.read_excel(tmp_path / "s.xlsx")["verdict"].dropna()) <= {"met", "missed", "uncertain",
                                                                          "too few to judge"}
