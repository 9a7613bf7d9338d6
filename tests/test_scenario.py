"""Scenario loading, extends, overrides and the bad-input table."""

import subprocess
import sys
import textwrap

import pytest

from gridsim.scenario import ScenarioError, load_scenario

from conftest import ROOT, SCENARIOS


def test_builtin_loads_with_source_counts():
    s = load_scenario()
    assert s.name == "suzhou_2018"
    assert s.get("city.grids") == 8820
    assert s.get("city.subcenters") == 104 and s.get("city.subcenters_built") == 71
    assert s.get("city.workstations") == 2236 and s.get("city.workstations_built") == 1803
    assert s.get("city.workstations_started") == 1803 + 430
    assert (s.get("staff.grid_leaders"), s.get("staff.fulltime_workers"), s.get("staff.parttime_workers")) == (9604, 9316, 63563)
    assert [s.get(f"targets.{k}") for k in ("response_min", "on_scene_min", "support_min", "cordon_min")] == [3, 5, 15, 30]
    assert len(s.divisions) == 10


def test_scenarios_folder_baseline_is_the_packaged_one():
    assert (SCENARIOS / "suzhou_2018.toml").read_bytes() == (ROOT / "gridsim/data/suzhou_2018.toml").read_bytes()


def test_every_default_says_source_or_assumption():
    """Every key line of the baseline carries a comment naming 'source' or 'assumption'
    (or continues a commented block/table that does)."""
    text = (ROOT / "gridsim/data/suzhou_2018.toml").read_text()
    block_ok = False
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped:
            block_ok = False
            continue
        if stripped.startswith("#"):
            block_ok = block_ok or "source" in stripped.lower() or "assumption" in stripped.lower()
            continue
        if stripped.startswith("["):
            block_ok = block_ok or "source" in stripped.lower() or "assumption" in stripped.lower()
            continue
        key = stripped.split("=")[0].strip()
        if key in ("name", "description", "family", "cv", "mean_min", "weekend_hours", "daily",
                   "hourly", "source", "share", "priority", "support_prob", "support_units",
                   "cordon_prob", "police_units", "grid_coresponse",
                   "fulltime", "leader", "parttime", "enabled", "duration_hours", "divisions",
                   "sources", "start_hour", "urban_weight", "seed", "mode", "police", "weekday_hours"):
            continue   # fields of documented tables (the table's comment block cites them)
        assert block_ok or "source" in line.lower() or "assumption" in line.lower(), line


def test_extends_and_override():
    s = load_scenario(SCENARIOS / "suzhou_2018_full_build.toml", ["staff.police_units=900", "travel.mode=zero"])
    assert s.get("city.subcenters_built") == 104 and s.get("city.workstations_built") == 2236
    assert s.get("staff.police_units") == 900
    assert s.get("travel.mode") == "zero"
    assert s.get("city.grids") == 8820            # inherited
    assert s.origin["staff.police_units"] == "--set"


def test_int_accepted_where_float_expected():
    s = load_scenario(None, ["demand.police_per_day=10000"])
    assert s.get("demand.police_per_day") == 10000.0 and isinstance(s.get("demand.police_per_day"), float)


_FIREWORKS = """
    extends = "suzhou_2018"
    [categories.fireworks]
    source = "110"
    share = 0.001
    urban_weight = 1.0
    priority = "urgent"
    support_prob = 0.0
    support_units = 0
    cordon_prob = 0.0
    grid_coresponse = false
    grid_mediation = false
    police_units = 1
    first_contact_share = 0.0
    minor_share = 0.0
    close_deadline_days = 1.0
    close_clock = "calendar"
    [categories.police_other]
    share = 0.050
    [service.fireworks]
    family = "gamma"
    mean_min = 15.0
    cv = 0.5
"""


def test_new_category_can_be_added(tmp_path):
    f = tmp_path / "newcat.toml"
    f.write_text(textwrap.dedent(_FIREWORKS))
    s = load_scenario(f)
    assert "fireworks" in s.categories_of("110")
    assert s.categories["fireworks"].close_clock == "calendar"


def _noise_category(department_line: str) -> str:
    """A new 12345 category (enquiry's share moves to it) and, when given, a department line."""
    base = load_scenario()
    enquiry = base.categories["enquiry"].share
    return textwrap.dedent(f"""
        extends = "suzhou_2018"
        [categories.noise]
        source = "12345"
        share = 0.02
        urban_weight = 1.0
        priority = "routine"
        support_prob = 0.0
        support_units = 0
        cordon_prob = 0.0
        grid_coresponse = false
        grid_mediation = false
        police_units = 0
        first_contact_share = 0.4
        minor_share = 0.5
        close_deadline_days = 5.0
        close_clock = "working"
        [categories.enquiry]
        share = {enquiry - 0.02:.6f}
        [service.noise]
        family = "gamma"
        mean_min = 30.0
        cv = 0.5
    """) + department_line


def test_new_work_order_category_needs_a_department(tmp_path):
    """A 12345 category a department does not handle is refused by name; listed in one, it loads."""
    f = tmp_path / "noise.toml"
    f.write_text(_noise_category(""))
    with pytest.raises(ScenarioError) as info:
        load_scenario(f)
    assert "categories.noise.minor_share" in str(info.value) and "handled by no department" in str(info.value)
    handled = list(load_scenario().departments["urban_management"].categories) + ["noise"]
    f.write_text(_noise_category(f"[departments.urban_management]\ncategories = {handled!r}\n"))
    s = load_scenario(f)
    assert "noise" in s.categories_of("12345") and "noise" in s.departments["urban_management"].categories
    assert s.categories["noise"].close_deadline_days == 5.0


def test_resolved_scenario_round_trips(tmp_path):
    s = load_scenario(SCENARIOS / "suzhou_2018_full_build.toml", ["staff.police_units=900"])
    out = tmp_path / "resolved.toml"
    out.write_text(s.to_toml())
    again = load_scenario(out)
    assert again.data | {"extends": None} == s.data | {"extends": None}


BAD = [
    # (file body or None, overrides, expected message fragments)
    (None, ["staff.fulltme_workers=3"], ["staff.fulltme_workers", "unknown key", "did you mean 'staff.fulltime_workers'"]),
    (None, ["staff.police_units=-5"], ["staff.police_units = -5", "out of range", ">= 0"]),
    (None, ["city.subcenters_built=105"], ["city.subcenters_built = 105", "more built than planned", "<= city.subcenters (104)"]),
    (None, ["city.workstations_built=2234"], ["city.workstations_built", "more built than started"]),
    (None, ["city.workstations_started=2300"], ["city.workstations_started", "more started than planned"]),
    (None, ["city.grids=2000"], ["city.grids = 2000", "fewer grids than workstations", ">= city.workstations (2236)"]),
    (None, ["categories.crime.share=0.5"], ["categories.crime.share = 0.5", "sum to", "within 1e-6"]),
    (None, ["run.days='ten'"], ["run.days = 'ten'", "wrong type", "an integer"]),
    (None, ["travel.mode=teleport"], ["travel.mode = 'teleport'", "'road' or 'zero'"]),
    (None, ["service.crime.family=weibull"], ["service.crime.family", "exponential, lognormal, gamma, fixed"]),
    (None, ["categories.dispute.support_prob=1.5"], ["categories.dispute.support_prob = 1.5", "probability"]),
    (None, ["shifts.fulltime.weekday_hours=[18.0, 8.0]"], ["shifts.fulltime.weekday_hours", "start <= end"]),
    (None, ["demand.profile.police.hourly=[1.0, 2.0]"], ["demand.profile.police.hourly", "24 non-negative"]),
    (None, ["surge.enabled=true", "surge.divisions=['Wujaing']"], ["surge.divisions", "unknown division 'Wujaing'", "did you mean 'Wujiang'"]),
    (None, ["dispatch.grid_role_order=['fulltime', 'mayor']"], ["dispatch.grid_role_order", "distinct roles"]),
    (None, ["staff.police_units=100"], ["staff.police_units = 100", "per-sub-center minimum"]),
    (None, ["run.warmup_hours=30.0"], ["run.warmup_hours", "warm-up covers the whole run"]),
    (None, ["staff"], ["expected KEY=VALUE"]),
    (None, ["allocation.per=division", "allocation.police_units=[1040]"], ["allocation.police_units", "has 1 values for 10 divisions"]),
    (None, ["allocation.per=division", "allocation.police_units=[100,100,100,100,100,100,100,100,100,100]"],
     ["allocation.police_units", "sums to 1000 but staff.police_units is 1040"]),
    (None, ["allocation.police_units=[1040]"], ["allocation.police_units", "needs allocation.per"]),
    (None, ["allocation.fulltime_workers=[1.5]"], ["allocation.fulltime_workers", "non-negative integers"]),
    ("extends = 'suzhou_2018'\n[run]\nday = 3\n", [], ["run.day", "unknown key", "did you mean 'run.days'"]),
    ("extends = 'suzhou_2019'\n", [], ["extends = 'suzhou_2019'", "no such scenario"]),
    # issue 11's keys: clocks, shares, rosters, offices, the work calendar, patrols; removed keys point to their heirs
    (None, ["categories.enquiry.close_clock=lunar"], ["categories.enquiry.close_clock = 'lunar'", "'calendar'", "'working'"]),
    (None, ["deadlines.verify_clock=solar"], ["deadlines.verify_clock = 'solar'", "out of range", "'working'"]),
    (None, ["categories.enquiry.first_contact_share=1.5"], ["categories.enquiry.first_contact_share = 1.5", "probability"]),
    (None, ["categories.sanitation.minor_share=-0.1"], ["categories.sanitation.minor_share = -0.1", "probability"]),
    (None, ["hotline.seats_hourly=[1,2]"], ["hotline.seats_hourly", "24 non-negative integers"]),
    (None, ["routing.division_dispatchers=0"], ["routing.division_dispatchers = 0", ">= 1"]),
    (None, ["calendar.workday_hours=[17.5,8.5]"], ["calendar.workday_hours", "0 <= start < end <= 24"]),
    (None, ["grid_patrol.detection_prob=1.2"], ["grid_patrol.detection_prob = 1.2", "probability"]),
    (None, ["categories.crime.close_deadline_h=24.0"], ["categories.crime.close_deadline_h", "unknown key",
                                                        "did you mean 'categories.crime.close_deadline_days'"]),
    (None, ["demand.patrol_reports_per_hour=1.0"], ["demand.patrol_reports_per_hour", "unknown key", "hazards_per_100k_day"]),
    (None, ["demand.hotline_first_contact_share=0.5"], ["demand.hotline_first_contact_share", "unknown key"]),
    (None, ["lifecycle.hop_subcenter.mean_min=3.0"], ["lifecycle.hop_subcenter", "unknown key"]),
    ("extends = 'suzhou_2018'\n[run\ndays = 3\n", [], ["not valid TOML"]),
    ("extends = 'suzhou_2018'\n[staff]\nfulltime_workers = 9316.5\n", [], ["staff.fulltime_workers = 9316.5", "wrong type"]),
    ("extends = 'suzhou_2018'\n[city]\ndivisions_file = 'nowhere.csv'\n", [], ["city.divisions_file", "not found"]),
    ("extends = 'suzhou_2018'\n[categories.newcat]\nsource = '110'\nshare = 0.0\n", [], ["categories.newcat", "missing key 'urban_weight'"]),
]


@pytest.mark.parametrize("body,overrides,fragments", BAD, ids=[f"bad{i}" for i in range(len(BAD))])
def test_bad_input_gives_one_clear_message(tmp_path, body, overrides, fragments):
    ref = None
    if body is not None:
        ref = tmp_path / "bad.toml"
        ref.write_text(body)
    with pytest.raises(ScenarioError) as info:
        load_scenario(ref, overrides)
    msg = str(info.value)
    for frag in fragments:
        assert frag in msg, (frag, msg)
    # names the file it came from
    assert (str(ref) if ref else "--set") in msg or "suzhou_2018.toml" in msg


def test_cli_bad_input_exit_2_no_traceback(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("extends = 'suzhou_2018'\n[staff]\nparttime_workers = -1\n")
    r = subprocess.run([sys.executable, "-m", "gridsim", "city", str(bad)], capture_output=True, text=True)
    assert r.returncode == 2
    assert "Traceback" not in r.stderr
    assert f"{bad}: staff.parttime_workers = -1: out of range; allowed: >= 0" in r.stderr
