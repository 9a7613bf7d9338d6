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
