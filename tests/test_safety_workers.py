"""A `kill -9` of `gridsim batch` takes its worker processes and the multiprocessing resource
tracker with it (they used to live on for minutes, 250 MB each, holding the caller's pipes)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import ROOT, SCENARIOS

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs Linux /proc")

LONG = f"""
name = "long"
base = "{(SCENARIOS / 'validation_mmc.toml').as_posix()}"
replications = 4
days = 60
seed = 5
metrics = ["register_dispatch.share"]
"""


def _session_members(sid: int) -> list[int]:
    """Live (not zombie) processes of session `sid`."""
    out = []
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            stat = (d / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        if int(fields[3]) == sid and fields[0] != "Z":
            out.append(int(d.name))
    return out


def test_workers_and_resource_tracker_exit_when_the_batch_is_killed(tmp_path):
    exp = tmp_path / "long.toml"
    exp.write_text(LONG)
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.Popen([sys.executable, "-m", "gridsim", "batch", str(exp), "--workers", "2", "--quiet",
                             "--out", str(tmp_path / "out")], cwd=tmp_path, env=env, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while len(_session_members(proc.pid)) < 3 and time.monotonic() < deadline:   # batch + 2 workers
            assert proc.poll() is None, "the batch ended before its workers started"
            time.sleep(0.05)
        assert len(_session_members(proc.pid)) >= 3, "the workers never started"
        time.sleep(1.0)                                    # workers busy with their first runs
        os.kill(proc.pid, signal.SIGKILL)                  # the batch alone, as `kill -9 PID` does
        proc.wait()
        deadline = time.monotonic() + 5
        while _session_members(proc.pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _session_members(proc.pid) == [], "worker or resource-tracker processes outlived the batch"
    finally:
        for pid in _session_members(proc.pid):              # leave nothing behind if the test fails
            os.kill(pid, signal.SIGKILL)
        if proc.poll() is None:
            proc.kill()
            proc.wait()
