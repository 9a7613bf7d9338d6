"""Bad police inputs: one clear line, exit status 2, nothing written."""

from __future__ import annotations

import subprocess
import sys

ROSTER_ZERO_AT_3 = "[0.7, 0.7, 0.65, 0.0" + ", 1.0" * 20 + "]"


def _run(tmp_path, *sets):
    out = tmp_path / "out"
    args = [sys.executable, "-m", "gridsim", "run", "--quiet", "--out", str(out)]
    for s in sets:
        args += ["--set", s]
    proc = subprocess.run(args, capture_output=True, text=True, timeout=300)
    return proc, out


def test_an_exit_checkpoint_outside_the_city_is_refused(tmp_path):
    exits = tmp_path / "exits.csv"
    exits.write_text("name,lat,lon\nlake shore,31.3,120.6\nswapped,120.6,31.3\n")
    proc, out = _run(tmp_path, f"patrol.exits_file={exits}")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "out of range" in proc.stderr and "row 3" in proc.stderr        # lat 120.6 is no latitude
    exits.write_text("name,lat,lon\nlake shore,31.3,120.6\nfar,31.3,122.6\n")
    proc, out = _run(tmp_path, f"patrol.exits_file={exits}")
    assert proc.returncode == 2 and "far" in proc.stderr and "outside the city's extent" in proc.stderr
    assert not out.exists()


def test_a_roster_that_leaves_a_territory_without_units_and_no_neighbours_is_refused(tmp_path):
    proc, out = _run(tmp_path, "dispatch.police_neighbour_subcenters=0", f"patrol.roster_hourly={ROSTER_ZERO_AT_3}")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "patrol.roster_hourly" in proc.stderr and "03:00" in proc.stderr
    assert not out.exists()


def test_bad_patrol_values_are_refused_with_what_is_allowed(tmp_path):
    for setting, allowed in (("patrol.dispatch_rule=closest", "'own_first' or 'nearest'"),
                             ("patrol.cordon_mode=everywhere", "'exits'"),
                             ("patrol.unavailable_share=1.0", "up to (not including) 1"),
                             ("dispatch.police_idle_policy=wander", "'standby'")):
        proc, out = _run(tmp_path, setting)
        assert proc.returncode == 2 and allowed in proc.stderr, (setting, proc.stderr)
        assert not out.exists()
