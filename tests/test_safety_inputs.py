"""Damaged results files and runs too big for the machine: one clear line, exit status 2, no
traceback, nothing written (a batch resume rebuilds a damaged runs.parquet from its runs)."""

from __future__ import annotations

import pandas as pd
import pytest

from conftest import SCENARIOS
from gridsim.cli.main import main
from gridsim.results.run import BASE_BYTES, BYTES_PER_EVENT, estimate_memory, expected_events, machine_memory
from gridsim.scenario import load_scenario

MMC = (SCENARIOS / "validation_mmc.toml").as_posix()
EXPERIMENT = f"""
name = "tiny"
base = "{MMC}"
replications = 1
days = 2
seed = 3
metrics = ["register_dispatch.share"]
"""


def one_line_error(capsys, *needles: str) -> str:
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    for needle in needles:
        assert needle in err, err
    return err


def truncate(path, keep: float = 0.5) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("run") / "r"
    assert main(["run", MMC, "--days", "2", "--quiet", "--out", str(d)]) == 0
    return d


@pytest.mark.parametrize("damaged", ["events.parquet", "summary.json"])
@pytest.mark.parametrize("command", ["plot", "report"])
def test_a_truncated_run_file_is_one_line(run_dir, tmp_path, capsys, damaged, command):
    d = tmp_path / "copy"
    d.mkdir()
    for f in run_dir.iterdir():
        (d / f.name).write_bytes(f.read_bytes())
    truncate(d / damaged)
    capsys.readouterr()
    assert main([command, str(d)]) == 2
    one_line_error(capsys, damaged, "damaged or truncated")
    assert not (d / "figures").exists() and not (d / "report.html").exists()


def test_files_of_two_runs_are_refused(run_dir, tmp_path, capsys):
    other = tmp_path / "other"
    assert main(["run", MMC, "--days", "3", "--quiet", "--out", str(other)]) == 0
    (other / "summary.json").write_bytes((run_dir / "summary.json").read_bytes())
    capsys.readouterr()
    assert main(["plot", str(other)]) == 2
    one_line_error(capsys, "different runs")


def test_a_truncated_runs_parquet(tmp_path, capsys):
    exp = tmp_path / "tiny.toml"
    exp.write_text(EXPERIMENT)
    out = tmp_path / "store"
    assert main(["batch", str(exp), "--workers", "1", "--quiet", "--out", str(out)]) == 0
    whole = pd.read_parquet(out / "runs.parquet")
    truncate(out / "runs.parquet")
    capsys.readouterr()
    assert main(["plot", str(out)]) == 2
    one_line_error(capsys, "runs.parquet", "damaged or truncated")
    # a resume has every run committed: it rebuilds runs.parquet from them
    assert main(["batch", str(exp), "--resume", "--quiet", "--out", str(out)]) == 0
    pd.testing.assert_frame_equal(pd.read_parquet(out / "runs.parquet").drop(columns="wall_s"),
                                  whole.drop(columns="wall_s"))


YEAR_EVENTS = 9_154_927
"""Rows of the baseline year (365 days, seed 2018, replication 0), counted from its generated
demand after issue 11: 110 incidents, 12345 work orders and latent hazards."""


def test_the_estimate_follows_the_measured_year():
    year = load_scenario(None, ["run.days=365"])
    assert expected_events(year) == pytest.approx(YEAR_EVENTS, rel=0.005)
    # the year's peak memory is re-measured after issue 11; until then the estimate is held to its
    # own arithmetic on the measured events (BYTES_PER_EVENT was fitted on the 2018 model's year)
    assert estimate_memory(year).bytes == pytest.approx(BASE_BYTES + BYTES_PER_EVENT * YEAR_EVENTS, rel=0.005)
    day = estimate_memory(load_scenario(None, ["run.days=1"]))
    assert day.bytes == BASE_BYTES + BYTES_PER_EVENT * day.events


def test_a_run_past_the_holiday_calendar_is_refused_before_the_memory_check(tmp_path, capsys):
    """A billion days would also exceed the memory; the calendar refuses it first, in one line."""
    out = tmp_path / "big"
    assert main(["run", "--quiet", "--out", str(out), "--days", "1000000000"]) == 2
    one_line_error(capsys, "calendar.start_date", "holidays package", "a shorter run.days")
    assert not out.exists()


@pytest.mark.parametrize("args", [["--days", "3000"],        # 2018-03-05 + 3000 days: within 2026, 77 M events
                                  ["--set", "surge.enabled=true", "--set", "surge.multiplier=1e6"]])
def test_a_run_bigger_than_the_machine_is_refused_before_it_starts(tmp_path, capsys, args):
    scenario = load_scenario(None, ["surge.enabled=true", "surge.multiplier=1e6"] if "--set" in args
                             else [f"run.days={args[1]}"])
    if machine_memory() is None or estimate_memory(scenario).bytes <= machine_memory():
        pytest.skip("this machine could hold the run")
    out = tmp_path / "big"
    assert main(["run", "--quiet", "--out", str(out), *args]) == 2
    one_line_error(capsys, "GiB of memory; this machine has", "events")
    assert not out.exists()
