"""Run folders: replaced as a whole (a kill leaves the complete old or new run, never a mix),
locked against a second writer, self-contained (rerun and plot from the folder alone), and
never written outside the intended folder."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import ROOT, SCENARIOS
from gridsim.cli.main import main
from gridsim.results import loaders
from gridsim.results.io import folder_lock, lock_path

MMC = (SCENARIOS / "validation_mmc.toml").as_posix()
ENV = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def run(out: Path, *extra: str) -> int:
    return main(["run", MMC, "--quiet", "--out", str(out), *extra])


def days_of(folder: Path) -> int:
    return json.loads((folder / "summary.json").read_text())["days"]


def siblings(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.parent.iterdir() if p.name.startswith(f".{folder.name}.")
                  and p != lock_path(folder))


# Run `gridsim run` in a subprocess that stops for good right after writing the new
# events.parquet (a slow disk, a big run), so it can be killed mid-write.
STALL = """
import sys, time
from pathlib import Path
import gridsim.results.run as rr
real = rr.write_parquet
def stalled(df, path):
    real(df, path)
    Path(sys.argv[1]).write_text("events written")
    time.sleep(120)
rr.write_parquet = stalled
from gridsim.cli.main import main
main(sys.argv[2:])
"""


def test_kill_mid_write_leaves_the_complete_old_run_then_the_complete_new_one(tmp_path):
    out = tmp_path / "r"
    assert run(out, "--days", "2") == 0
    (out / "figures").mkdir()
    (out / "figures" / "ecdf.png").write_bytes(b"old figure")
    (out / "report.html").write_text("old report")
    old_events = sha(out / "events.parquet")
    flag = tmp_path / "flag"
    proc = subprocess.Popen([sys.executable, "-c", STALL, str(flag), "run", MMC, "--days", "3", "--quiet",
                             "--out", str(out)], cwd=tmp_path, env=ENV,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while not flag.exists() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        assert flag.exists(), "the run never reached its write"
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait()
    # the complete old run: its events, summary and figures, nothing of the new one
    assert sha(out / "events.parquet") == old_events and days_of(out) == 2
    assert (out / "figures" / "ecdf.png").exists() and loaders.load_results(out).days == 2
    # the next run clears the killed one's leftovers and replaces the folder as a whole
    assert run(out, "--days", "3") == 0
    assert days_of(out) == 3 and sha(out / "events.parquet") != old_events
    assert not (out / "figures").exists() and not (out / "report.html").exists()
    assert siblings(out) == []
    names = {p.name for p in out.iterdir()}
    assert {"divisions_validation.csv", "events.parquet", "scenario.toml", "summary.json"} <= names
    assert all(p.is_file() for p in out.iterdir())


def test_a_second_writer_is_refused_in_one_line(tmp_path, capsys):
    out = tmp_path / "r"
    holder = subprocess.Popen([sys.executable, "-c", "import sys, time\n"
                               "from gridsim.results.io import folder_lock\n"
                               f"with folder_lock({str(out)!r}):\n"
                               "    print('locked', flush=True)\n"
                               "    time.sleep(60)\n"], env=ENV, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        assert run(out, "--days", "2") == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "another gridsim process is writing" in err
        assert not out.exists()
    finally:
        holder.kill()
        holder.wait()
    with folder_lock(out):            # the lock died with its holder
        pass


def test_the_saved_folder_reruns_and_plots_on_its_own(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)       # nothing of scenarios/ is reachable from here
    first = tmp_path / "first"
    assert run(first, "--days", "2") == 0
    saved = (first / "scenario.toml").read_text()
    assert 'divisions_file = "divisions_validation.csv"' in saved
    assert (first / "divisions_validation.csv").read_bytes() == (SCENARIOS / "divisions_validation.csv").read_bytes()
    assert main(["run", str(first / "scenario.toml"), "--quiet", "--out", str(tmp_path / "again")]) == 0
    assert sha(tmp_path / "again" / "events.parquet") == sha(first / "events.parquet")
    data = loaders.load_results(first)
    assert [d.name for d in data.scenario.divisions] == [d.name for d in loaders.load_results(tmp_path / "again")
                                                         .scenario.divisions]
    assert len(data.scenario.divisions) == 1


def test_a_folder_lacking_what_it_needs_is_refused(tmp_path, capsys):
    out = tmp_path / "r"
    assert run(out, "--days", "2") == 0
    (out / "divisions_validation.csv").unlink()
    with pytest.raises(loaders.NotAResultsDir, match="divisions_validation.csv"):
        loaders.load_results(out)
    (out / "scenario.toml").unlink()
    with pytest.raises(loaders.NotAResultsDir, match="no scenario.toml"):
        loaders.load_results(out)
    capsys.readouterr()
    assert main(["plot", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no scenario.toml" in err
    assert not (out / "figures").exists()


def test_a_folder_naming_a_built_in_table_it_does_not_hold_is_refused(tmp_path):
    out = tmp_path / "r"
    assert main(["run", "--days", "1", "--quiet", "--out", str(out), "--set", "staff.police_units=900"]) == 0
    (out / "divisions_suzhou.csv").unlink()   # an older folder: it named the built-in table without a copy
    with pytest.raises(loaders.NotAResultsDir, match="divisions_suzhou.csv.*not in"):
        loaders.load_results(out)


@pytest.mark.parametrize("name", ["../../x", "", "a/b", ".."])
def test_a_name_that_would_leave_results_is_refused(tmp_path, monkeypatch, capsys, name):
    work = tmp_path / "a" / "b"
    work.mkdir(parents=True)
    monkeypatch.chdir(work)
    assert main(["run", MMC, "--days", "2", "--quiet", "--set", f'name="{name}"']) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "name" in err
    assert sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*")) == ["a", "a/b"]


def test_a_batch_store_or_a_foreign_folder_is_not_a_run_folder(tmp_path, capsys):
    store = tmp_path / "store"
    (store / "runs").mkdir(parents=True)
    (store / "fingerprint.json").write_text("{}")
    assert run(store, "--days", "2") == 2
    assert "batch results store" in capsys.readouterr().err
    assert sorted(p.name for p in store.iterdir()) == ["fingerprint.json", "runs"]
    mine = tmp_path / "documents"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep me")
    assert run(mine, "--days", "2") == 2
    assert "not a run folder" in capsys.readouterr().err
    assert [p.name for p in mine.iterdir()] == ["notes.txt"]


@pytest.mark.parametrize("exchange", [True, False])
def test_leftovers_of_killed_writers_are_cleared_and_a_cut_swap_undone(tmp_path, monkeypatch, exchange):
    from gridsim.results import io
    if not exchange:                                   # systems without renameat2: two renames
        monkeypatch.setattr(io, "_exchange", lambda a, b: False)
    folder = tmp_path / "r"
    parked = tmp_path / ".r.abcdefgh.previous"          # a swap killed between its two renames
    parked.mkdir()
    (parked / "summary.json").write_text("old")
    (tmp_path / ".r.ijklmnop.partial").mkdir()          # a writer killed mid-write
    (tmp_path / ".r.b.ijklmnop.partial").mkdir()        # folder "r.b" being written: not ours
    io.remove_stale_folders(folder)
    assert (folder / "summary.json").read_text() == "old"
    with io.staged_folder(folder) as staging:
        (staging / "summary.json").write_text("new")
    assert [p.name for p in folder.iterdir()] == ["summary.json"] and (folder / "summary.json").read_text() == "new"
    assert sorted(p.name for p in tmp_path.iterdir()) == [".r.b.ijklmnop.partial", ".r.lock", "r"]
    with pytest.raises(RuntimeError):                   # a failed write leaves the folder as it was
        with io.staged_folder(folder) as staging:
            (staging / "summary.json").write_text("half")
            raise RuntimeError("disk full")
    assert (folder / "summary.json").read_text() == "new" and len(list(tmp_path.iterdir())) == 3
