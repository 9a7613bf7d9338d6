"""`gridsim run` prints every stage label and threshold from the scenario's targets."""

import re

from gridsim.cli.main import main


def test_run_labels_follow_the_scenario_targets(tmp_path, capsys):
    code = main(["run", "--days", "1", "--quiet", "--out", str(tmp_path / "r"),
                 "--set", "targets.on_scene_min=7", "--set", "targets.on_scene_rural_min=12",
                 "--set", "targets.response_min=4"])
    out = capsys.readouterr().out
    assert code == 0
    assert out.count("on scene <= 7 / 12 min") == 5   # urban / rural: stage table, by source/division/category, by hour
    assert out.count("respond <= 4 min") == 4       # stage table, by source/division/category
    assert not re.search(r"<= ?5\b", out) and not re.search(r"<= ?3\b", out) and not re.search(r"/ 10 min", out)
    assert "regional support <= 15 min" in out and "cordon <= 30 min" in out
    assert "WO dispatched in limit" in out
