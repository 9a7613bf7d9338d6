"""The typed scenario: fields match the schema key for key, values are frozen, all pickles."""

import dataclasses
import pickle
import typing

import pytest

from gridsim.scenario import (Category, Distribution, FrozenMap, Scenario, Sections, Targets,
                              load_scenario)
from gridsim.scenario.schema import OPEN_TABLES, schema


def _field_types(cls) -> dict:
    hints = typing.get_type_hints(cls)
    return {f.name: hints[f.name] for f in dataclasses.fields(cls)}


def _mismatches(cls, table: dict, where: str) -> list[str]:
    """Every difference between a dataclass and a schema table, recursing into sub-tables."""
    types = _field_types(cls)
    out = [f"{where}.{k}: in the schema, not in {cls.__name__}" for k in table if k not in types]
    out += [f"{where}.{k}: in {cls.__name__}, not in the schema" for k in types if k not in table]
    for key, tp in types.items():
        if key not in table:
            continue
        value, here = table[key], f"{where}.{key}".lstrip(".")
        if dataclasses.is_dataclass(tp):
            out += _mismatches(tp, value, here)
        elif typing.get_origin(tp) is FrozenMap:
            item = typing.get_args(tp)[1]
            if not isinstance(value, dict):
                out.append(f"{here}: a mapping in the types, a single value in the schema")
            elif dataclasses.is_dataclass(item):
                for child, sub in value.items():
                    out += _mismatches(item, sub, f"{here}.{child}")
            elif any(isinstance(v, dict) for v in value.values()):
                out.append(f"{here}: a mapping of single values in the types, of tables in the schema")
        elif isinstance(value, dict):
            out.append(f"{here}: a table in the schema, a single value in {cls.__name__}")
        elif isinstance(value, list) and typing.get_origin(tp) is not tuple:
            out.append(f"{here}: a list in the schema, not a tuple in {cls.__name__}")
    return out


def test_types_match_the_schema_key_for_key():
    assert _mismatches(Sections, schema(), "") == []


def test_drift_check_can_fail():
    """A key added to the schema, or a field the schema lacks, is reported."""
    tree = {k: v for k, v in schema().items()}
    tree["run"] = dict(tree["run"], hours=1)
    tree["staff"] = {k: v for k, v in tree["staff"].items() if k != "police_units"}
    found = _mismatches(Sections, tree, "")
    assert "run.hours: in the schema, not in Run" in found
    assert "staff.police_units: in Staff, not in the schema" in found


def test_open_tables_are_mappings():
    hints = typing.get_type_hints(Sections)
    for table in OPEN_TABLES:
        assert typing.get_origin(hints[table]) is FrozenMap


@pytest.fixture(scope="module")
def spec() -> Scenario:
    return load_scenario()


def test_attributes_read_the_validated_values(spec):
    assert spec.run.days == 1 and spec.run.seed == 2018
    assert spec.staff.police_units == 1040
    limits = {k: v for k, v in spec.targets.as_dict().items() if k.endswith("_min")}
    assert limits == {"response_min": 3, "on_scene_min": 5, "on_scene_rural_min": 10, "support_min": 15, "cordon_min": 30}
    assert spec.travel.speed_kmh["police"] == 30.0
    assert spec.shifts["police"].weekday_hours == (0.0, 24.0)
    assert len(spec.demand.profile["hotline"].hourly) == 24
    assert spec.demand.hazards_per_100k_day == spec.get("demand.hazards_per_100k_day") > 0
    assert spec.lifecycle.report_back == Distribution(**spec.get("lifecycle.report_back"))
    assert spec.run.work_order_warmup_hours == 24.0
    # issue 11's sections: the work calendar, the call centre, the offices, the departments, patrols, linkage
    assert (spec.calendar.start_date, spec.calendar.holidays, spec.calendar.workday_hours) == ("2018-03-05", "CN", (8.5, 17.5))
    seats = spec.hotline.seats_hourly
    assert isinstance(seats, tuple) and len(seats) == 24 and all(type(n) is int for n in seats)
    assert list(seats) == spec.get("hotline.seats_hourly")
    assert spec.hotline.talk == Distribution(**spec.get("hotline.talk"))
    assert spec.routing.handling == Distribution(**spec.get("routing.handling"))
    assert spec.routing.division_dispatchers == spec.get("routing.division_dispatchers") >= 1
    assert isinstance(spec.departments, FrozenMap) and "housing" in spec.departments
    housing = spec.departments["housing"]
    assert housing.categories == tuple(spec.get("departments.housing.categories"))
    assert housing.lead == Distribution(**spec.get("departments.housing.lead"))
    assert spec.grid_patrol.patrol_share["parttime"] == spec.get("grid_patrol.patrol_share.parttime")
    assert spec.linkage.assessment_factor == spec.get("linkage.assessment_factor")
    assert (spec.deadlines.register_dispatch_clock, spec.deadlines.verify_clock) == ("calendar", "working")
    enquiry = spec.categories["enquiry"]
    assert (enquiry.close_clock, enquiry.close_deadline_days) == ("working", spec.get("categories.enquiry.close_deadline_days"))
    assert enquiry.first_contact_share == spec.get("categories.enquiry.first_contact_share")
    assert spec.categories["dispute"].grid_mediation is True
    assert spec.police.triage.family == "lognormal"
    assert spec.categories["crime"].priority == "urgent"
    assert isinstance(spec.service["crime"], Distribution)
    assert spec.surge.divisions == ("Wujiang",) and spec.dispatch.grid_role_order == ("fulltime", "leader", "parttime")
    assert spec.allocation.police_units == ()
    with pytest.raises(TypeError):
        spec["run"]                                     # sections are attributes, not string keys


def test_categories_of_a_source(spec):
    police = spec.categories_of("110")
    assert list(police) == ["crime", "dispute", "traffic", "police_help", "police_other"]
    assert all(isinstance(c, Category) and c.source == "110" for c in police.values())
    assert len(spec.categories_of()) == len(spec.categories)


def test_misspelt_attribute_fails_at_once(spec):
    with pytest.raises(AttributeError):
        spec.staff.police_unit                                   # noqa: B018
    with pytest.raises(AttributeError):
        spec.rn                                                  # noqa: B018
    with pytest.raises(dataclasses.FrozenInstanceError):
        spec.staff.police_units = 5
    with pytest.raises((AttributeError, TypeError)):
        spec.staff.police_unit = 5                               # frozen and slotted: no new names
    with pytest.raises(TypeError):
        spec.travel.speed_kmh["police"] = 99.0
    with pytest.raises(TypeError):
        spec.categories["crime"] = None


def test_everything_pickles(spec):
    again = pickle.loads(pickle.dumps(spec))
    assert again == spec
    assert again.categories["crime"] == spec.categories["crime"]
    assert again.travel.speed_kmh == spec.travel.speed_kmh
    assert isinstance(again.shifts, FrozenMap) and again.divisions == spec.divisions
    assert hash(again.targets) == hash(spec.targets)


def test_targets_as_dict_follows_its_fields():
    names = [f.name for f in dataclasses.fields(Targets)]
    t = Targets(*[float(i) for i in range(len(names))])
    assert t.as_dict() == {name: float(i) for i, name in enumerate(names)}


def test_copy_with_gives_new_typed_values(spec):
    other = spec.copy_with({"staff.police_units": 900, "surge.divisions": ["Kunshan"]})
    assert other.staff.police_units == 900 and other.surge.divisions == ("Kunshan",)
    assert spec.staff.police_units == 1040
