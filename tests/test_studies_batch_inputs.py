"""What a batch reads: data files in the fingerprint, relative paths against the experiment file,
and the command-line overrides (--set, --days, --replications)."""

import shutil
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from gridsim.cli.main import main
from gridsim.studies.experiment import load_experiment

from conftest import SCENARIOS

EXP = """
name = "{name}"
base = "scen.toml"
replications = {reps}
days = 1
seed = 5
metrics = ["register_dispatch.share", "util.fulltime"]
[set]
"run.warmup_hours" = 6.0
{extra}
[factors]
"staff.fulltime_workers" = [3, 4]
"""


def _project(tmp_path: Path, name: str = "data", reps: int = 1, extra: str = "") -> Path:
    """An experiment folder: the M/M/c scenario and its division table beside the experiment file."""
    d = tmp_path / "project"
    d.mkdir()
    shutil.copy(SCENARIOS / "validation_mmc.toml", d / "scen.toml")
    shutil.copy(SCENARIOS / "divisions_validation.csv", d / "divisions_validation.csv")
    p = d / f"{name}.toml"
    p.write_text(EXP.format(name=name, reps=reps, extra=extra))
    return p


def _snapshot(root: Path) -> dict[str, bytes]:
    return {str(f.relative_to(root)): f.read_bytes() for f in sorted(root.rglob("*")) if f.is_file()}


def test_resume_after_the_division_table_changed_is_refused(tmp_path, capsys):
    p = _project(tmp_path)
    out = tmp_path / "out"
    assert main(["batch", str(p), "--workers", "1", "--quiet", "--out", str(out)]) == 0
    before = _snapshot(out)
    csv = p.parent / "divisions_validation.csv"
    csv.write_text(csv.read_text().replace(",1000,0,", ",2000,0,"))     # population 1000 -> 2000
    capsys.readouterr()
    assert main(["batch", str(p), "--workers", "1", "--quiet", "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "changed" in err and "--force" in err
    assert _snapshot(out) == before                      # nothing written


def test_experiment_overrides_resolve_against_the_experiment_file(tmp_path, monkeypatch):
    p = _project(tmp_path, extra='"city.divisions_file" = "tables/mine.csv"')
    (p.parent / "tables").mkdir()
    shutil.copy(p.parent / "divisions_validation.csv", p.parent / "tables" / "mine.csv")
    elsewhere = tmp_path / "elsewhere"
    (elsewhere / "tables").mkdir(parents=True)           # a decoy in the working folder
    decoy = (p.parent / "divisions_validation.csv").read_text().replace("Validation,", "Decoy,")
    (elsewhere / "tables" / "mine.csv").write_text(decoy)
    monkeypatch.chdir(elsewhere)
    exp = load_experiment(p)
    for v in exp.variants:
        assert [d.name for d in v.scenario.divisions] == ["Validation"]
        assert Path(v.scenario.data_files[0].path) == (p.parent / "tables" / "mine.csv").resolve()


# ------------------------------------------------------------------------------ command-line overrides

def test_set_days_and_replications_from_the_command_line(tmp_path, capsys):
    p = _project(tmp_path, name="cli", reps=1)
    out = tmp_path / "out"
    args = ["batch", str(p), "--workers", "1", "--quiet", "--out", str(out)]
    assert main(args + ["--set", "service.hotline_help.mean_min=6.0", "--days", "2"]) == 0
    runs = pq.read_table(out / "runs.parquet").to_pandas()
    assert len(runs) == 2 and (runs["replication"] == 0).all()
    exp = load_experiment(p, overrides=["service.hotline_help.mean_min=6.0"], days=2)
    assert all(v.scenario.service["hotline_help"].mean_min == 6.0 and v.scenario.run.days == 2 for v in exp.variants)
    assert "mean_min = 6.0" in (out / "scenarios" / "fulltime_workers=3.toml").read_text()
    # the overrides are part of the fingerprint: the same store without them is refused
    capsys.readouterr()
    assert main(args + ["--days", "2"]) == 2
    assert "--force" in capsys.readouterr().err
    # more replications extend the store: replication 0 is kept, replication 1 is added
    before = (out / "runs" / "fulltime_workers=3" / "rep0" / "row.json").read_bytes()
    assert main(args + ["--set", "service.hotline_help.mean_min=6.0", "--days", "2", "--replications", "2"]) == 0
    runs = pq.read_table(out / "runs.parquet").to_pandas()
    assert sorted(runs["replication"]) == [0, 0, 1, 1]
    assert (out / "runs" / "fulltime_workers=3" / "rep0" / "row.json").read_bytes() == before


@pytest.mark.parametrize("args, needle", [
    (["--set", "staff.fulltime_workers=5"], "varies this key"),
    (["--set", "run.days=3"], "--days"),
    (["--set", "staff.nobody=3"], "unknown key"),
    (["--days", "0"], "--days"),
    (["--replications", "0"], "--replications"),
])
def test_bad_command_line_overrides_are_one_line(tmp_path, capsys, args, needle):
    p = _project(tmp_path, name="badcli")
    out = tmp_path / "out"
    assert main(["batch", str(p), "--workers", "1", "--quiet", "--out", str(out)] + args) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and needle in err and not out.exists()


def test_an_absurd_number_of_runs_is_refused_at_once(tmp_path, capsys):
    p = _project(tmp_path, name="huge", reps=100_000_000)
    out = tmp_path / "out"
    assert main(["batch", str(p), "--workers", "1", "--quiet", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "200,000,000 runs" in err and "--max-runs" in err and not out.exists()
    # a factor grid is counted before it is built
    grid = p.parent / "grid.toml"
    grid.write_text(EXP.format(name="grid", reps=1, extra="").replace(
        '"staff.fulltime_workers" = [3, 4]', f'"staff.fulltime_workers" = {list(range(1, 100))}\n'
        f'"demand.hotline_per_day" = {[float(x) for x in range(1, 200)]}'))
    assert main(["batch", str(grid), "--workers", "1", "--quiet", "--out", str(out)]) == 2
    assert "19,701 runs" in capsys.readouterr().err
    # the limit can be raised on purpose
    exp = load_experiment(p, replications=6000, max_runs=12_000)
    assert exp.n_runs == 12_000


def test_binary_experiment_file_is_one_line(tmp_path, capsys):
    p = tmp_path / "bin.toml"
    p.write_bytes(b"\xff\xfe\x00name = 1\x00")
    assert main(["batch", str(p), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "UTF-8" in err
