"""Checks that judge what is enabled, limits of stored values, and messages for keys under a
single value (issue 14, items 6, 8 and 9)."""

import pytest

from gridsim.scenario import ScenarioError, load_scenario

from conftest import ROOT

VALIDATION_TABLE = ROOT / "scenarios/divisions_validation.csv"


def _message(overrides, ref=None) -> str:
    with pytest.raises(ScenarioError) as info:
        load_scenario(ref, overrides)
    return str(info.value)


def test_enabled_surge_starting_after_the_run_is_refused():
    msg = _message(["run.days=2", "surge.enabled=true", "surge.start_hour=48.0"])
    assert msg == ("--set: surge.start_hour = 48.0: the surge starts after the run ends (the run lasts 48 h); "
                   "allowed: < run.days x 24 = 48, or surge.enabled = false")


def test_surge_window_inside_the_run_or_disabled_is_accepted():
    assert load_scenario(None, ["run.days=2", "surge.enabled=true", "surge.start_hour=47.5"]).surge.enabled
    assert not load_scenario(None, ["surge.start_hour=480.0"]).surge.enabled


def test_disabled_surge_default_division_does_not_fail_a_one_division_table(tmp_path):
    """The baseline's disabled surge names 'Wujiang'; a one-division table has no such row."""
    (tmp_path / "one.csv").write_bytes(VALIDATION_TABLE.read_bytes())
    (tmp_path / "one.toml").write_text(
        "extends = 'suzhou_2018'\n[city]\ndivisions_file = 'one.csv'\n"
        "population_total = 1000\nsubcenters = 1\nsubcenters_built = 1\nworkstations = 1\n"
        "workstations_built = 1\nworkstations_started = 1\ngrids = 1\n"
        "[staff]\ngrid_leaders = 0\nfulltime_workers = 3\nparttime_workers = 0\npolice_units = 0\n"
        "police_units_min_per_subcenter = 0\n")
    s = load_scenario(tmp_path / "one.toml")
    assert [d.name for d in s.divisions] == ["Validation"] and s.surge.divisions == ("Wujiang",)
    msg = _message(["surge.enabled=true"], tmp_path / "one.toml")
    assert "surge.divisions = ['Wujiang']: unknown division 'Wujiang'; allowed: Validation" in msg


@pytest.mark.parametrize("seed", [2**63, 2**64 + 5])
def test_seed_that_does_not_fit_64_bit_storage_is_refused(seed):
    msg = _message([f"run.seed={seed}"])
    assert msg == (f"--set: run.seed = {seed}: out of range; allowed: >= 0 and < 2**63 "
                   "(seeds are stored as 64-bit signed integers by numpy and Parquet)")


def test_largest_storable_seed_is_accepted():
    assert load_scenario(None, [f"run.seed={2**63 - 1}"]).run.seed == 2**63 - 1


def test_key_under_a_single_value_says_it_is_not_a_table():
    assert _message(["staff.police_units.x=1"]) == (
        "--set: staff.police_units.x = 1: staff.police_units is a single value, not a table; "
        "allowed: set staff.police_units itself (an integer)")
    assert "staff.police_units is a single value, not a table" in _message(["staff.police_units.x.y=1"])


def test_unknown_key_deeper_down_is_judged_where_it_first_goes_wrong():
    msg = _message(["stafff.police_units=1"])
    assert "stafff.police_units = 1: unknown key (did you mean 'staff.police_units'?)" in msg
    assert "allowed: keys of the top level: " in msg


def test_key_under_a_single_value_in_a_file(tmp_path):
    f = tmp_path / "s.toml"
    f.write_text("extends = 'suzhou_2018'\n[travel.mode]\nx = 1\n")
    assert "travel.mode = {table}: is a table but should be a single value" in _message([], f)
