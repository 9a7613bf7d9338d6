"""Bad work-order input (issue 11 constraints): a department without staff for a category it must
handle, a category no department handles, a seat roster with no seat, a calendar the holidays
package does not cover, a date that is not the run's start weekday. One line naming the file and
key, exit status 2 from the command line, nothing written."""

import pytest

from gridsim.cli.main import main
from gridsim.scenario import ScenarioError, load_scenario


def _message(overrides) -> ScenarioError:
    with pytest.raises(ScenarioError) as info:
        load_scenario(None, overrides)
    return info.value


def test_a_department_with_no_staff_for_its_categories():
    err = _message(["departments.housing.staff_per_division=0"])
    assert err.key == "departments.housing.staff_per_division"
    assert "no staff, but it must handle facilities" in err.problem


def test_urgent_categories_need_someone_on_the_duty_roster():
    err = _message(["departments.emergency_management.duty_staff_per_division=0"])
    assert err.key == "departments.emergency_management.duty_staff_per_division"
    assert "safety_hazard" in err.problem and "round the clock" in err.problem


def test_a_category_handled_by_no_department():
    err = _message(["departments.housing.categories=[]"])
    assert err.key == "categories.facilities.minor_share"
    assert err.problem == "work-order category 'facilities' is handled by no department"


def test_a_category_in_two_departments_or_unknown_or_a_police_one():
    assert "already handled by department 'urban_management'" in _message(
        ["departments.housing.categories=['facilities', 'sanitation']"]).problem
    assert "unknown category 'facilites' (did you mean 'facilities'?)" in _message(
        ["departments.housing.categories=['facilites']"]).problem
    assert "is a 110 category" in _message(["departments.housing.categories=['facilities', 'crime']"]).problem


def test_a_seat_roster_with_no_seat_on_duty():
    err = _message(["hotline.seats_hourly=" + str([0] * 24)])
    assert err.key == "hotline.seats_hourly" and "no call-taker seat" in err.problem


def test_a_calendar_year_the_holidays_package_has_no_schedule_for():
    err = _message(["calendar.start_date=2031-03-03"])          # a Monday, like run.start_weekday
    assert err.key == "calendar.start_date" and "working-day schedule" in err.problem
    assert "allowed: dates in 2001-" in str(err)


def test_an_unknown_holiday_country_and_a_date_on_the_wrong_weekday():
    assert _message(["calendar.holidays=XX"]).problem == "no holiday calendar for country 'XX'"
    err = _message(["calendar.start_date=2018-03-06"])
    assert err.problem == "is a Tuesday but run.start_weekday = 0"


@pytest.mark.parametrize("override", ["departments.housing.staff_per_division=0", "calendar.start_date=2031-03-03",
                                      "hotline.seats_hourly=" + str([0] * 24)])
def test_the_command_line_refuses_in_one_line_and_writes_nothing(tmp_path, capsys, override):
    out = tmp_path / "run"
    assert main(["run", "--quiet", "--out", str(out), "--set", override]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("gridsim: error: --set: ")
    assert not out.exists()
