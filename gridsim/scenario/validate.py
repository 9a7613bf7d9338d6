"""Validation of a resolved scenario dict: types, completeness, ranges and consistency.

Each check raises a ScenarioError naming the file that set the key (from `origin`), the key,
the value and what is allowed. Types and completeness are judged against the schema (the
built-in baseline); ranges by the rules below; consistency across keys and against the
division table on the typed sections, once every single value is known to be sound.
"""

from __future__ import annotations

import datetime
import difflib
import math
from typing import Any, Callable, Sequence

from gridsim.domain import GRID_ROLES, PRIORITIES, SOURCES, STAGES
from gridsim.scenario.calendar import covered_years
from gridsim.scenario.divisions import Division
from gridsim.scenario.errors import ScenarioError
from gridsim.scenario.schema import (BUILTIN_NAME, OPEN_TABLES, all_keys, leaf_items, template_for, type_name,
                                     unknown_key)
from gridsim.scenario.types import Sections

FAMILIES = ("exponential", "lognormal", "gamma", "fixed")


def _coerce(value: Any, tmpl: Any, label: str, key: str) -> Any:
    """Check the value has the template's type; ints are accepted where numbers are."""
    bad = ScenarioError(label, key, "wrong type", type_name(tmpl), value, True)
    if isinstance(tmpl, bool):
        if not isinstance(value, bool):
            raise bad
        return value
    if isinstance(tmpl, int):
        if isinstance(value, bool) or not isinstance(value, int):
            if isinstance(value, float) and value.is_integer():
                return int(value)
            raise bad
        return value
    if isinstance(tmpl, float):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise bad
        if not math.isfinite(float(value)):
            raise ScenarioError(label, key, "must be finite", "a finite number", value, True)
        return float(value)
    if isinstance(tmpl, str):
        if type(value) is datetime.date:     # a bare TOML date (start_date = 2018-03-05) is the date's text
            return value.isoformat()
        if not isinstance(value, str):
            raise bad
        return value
    if isinstance(tmpl, list):
        if not isinstance(value, list):
            raise bad
        if tmpl:
            return [_coerce(v, tmpl[0], label, key) for v in value]
        return value
    return value


def check_schema(data: dict, schema: dict, origin: dict, label: str) -> None:
    """Every key known and of the schema's type, and every key of the schema set."""
    for key in ("run", "city", "staff", "targets"):
        if key not in data:
            raise ScenarioError(label, key, "missing section", f"a [{key}] table (or extends = '{BUILTIN_NAME}')")
    check_types(data, schema, origin)
    missing = [k for k in all_keys(schema) if template_for(data, k.split(".")) is None
               and not any(k.startswith(t + ".") for t in OPEN_TABLES)]
    if missing:
        raise ScenarioError(label, missing[0], "missing key", f"set it (or extends = '{BUILTIN_NAME}')")


def check_types(data: dict, schema: dict, origin: dict, prefix: str = "") -> None:
    """Every key is in the schema and has its type (ints become floats where numbers are asked)."""
    for k, v in list(data.items()):
        dotted = f"{prefix}{k}"
        if dotted == "extends":
            continue
        tmpl = template_for(schema, dotted.split("."))
        label = origin.get(dotted, "<scenario>")
        if tmpl is None:
            unknown_key(label, dotted, schema, v)
        if isinstance(tmpl, dict):
            if not isinstance(v, dict):
                raise ScenarioError(label, dotted, "should be a table", "a table of "
                                    + ", ".join(tmpl), v, True)
            # every field of an open-table child must be present
            missing = [f for f in tmpl if f not in v]
            if missing:
                present = [origin[f"{dotted}.{f}"] for f in v if f"{dotted}.{f}" in origin]
                raise ScenarioError(present[0] if present else label, dotted,
                                    f"missing key '{missing[0]}'", "all of " + ", ".join(tmpl))
            check_types(v, schema, origin, dotted + ".")
        else:
            data[k] = _coerce(v, tmpl, label, dotted)


Rule = Callable[[Any], bool]


CLOCKS = ("calendar", "working")
clocks_allowed = "'calendar' (round the clock) or 'working' (calendar.workday_hours on working days)"


def _is_iso_date(v: str) -> bool:
    try:
        datetime.date.fromisoformat(v)
    except ValueError:
        return False
    return len(v) == 10


def _range_rules() -> list[tuple[str, Rule, str]]:
    """(key pattern, predicate, allowed) for single values; '*' matches one open-table child."""
    nonneg = (lambda v: v >= 0, ">= 0")
    pos = (lambda v: v > 0, "> 0")
    prob = (lambda v: 0.0 <= v <= 1.0, "a probability between 0 and 1")
    counts = (lambda v: all(isinstance(x, int) and not isinstance(x, bool) and x >= 0 for x in v),
              "a list of non-negative integers, one per unit")
    hours = (lambda v: len(v) == 2 and 0 <= v[0] <= v[1] <= 24, "[start, end] with 0 <= start <= end <= 24")
    rules = [
        ("run.days", *pos), ("run.warmup_hours", *nonneg),
        ("run.seed", lambda v: 0 <= v < 2**63,
         ">= 0 and < 2**63 (seeds are stored as 64-bit signed integers by numpy and Parquet)"),
        ("run.start_weekday", lambda v: 0 <= v <= 6, "0 (Monday) to 6 (Sunday)"),
        ("city.subcenters", lambda v: v >= 1, ">= 1"), ("city.workstations", lambda v: v >= 1, ">= 1"),
        ("city.grids", lambda v: v >= 1, ">= 1"),
        ("city.subcenters_built", *nonneg), ("city.workstations_built", *nonneg),
        ("city.workstations_started", *nonneg), ("city.population_total", *pos),
        ("city.persons_per_household", *pos), ("city.grid_population_sigma", *nonneg),
        ("city.density_decay_fraction", *pos), ("city.urban_density_min_per_km2", *nonneg),
        ("city.grids_file", lambda v: v == "" or v.endswith(".csv"), "'' (not used) or a .csv table"),
        ("staff.police_posts_file", lambda v: v == "" or v.endswith(".csv"), "'' (not used) or a .csv table"),
        ("city.subcenters_built_ids", lambda v: all(isinstance(x, int) and not isinstance(x, bool) and x >= 0 for x in v)
         and len(set(v)) == len(v), "a list of distinct sub-center ids (integers >= 0)"),
        ("staff.grid_leaders", *nonneg), ("staff.fulltime_workers", *nonneg),
        ("staff.parttime_workers", *nonneg), ("staff.police_units", *nonneg),
        ("staff.police_units_min_per_subcenter", *nonneg),
        ("targets.*", *pos),
        *((f"deadlines.{k}", *pos) for k in ("register_dispatch_urgent_min", "register_dispatch_routine_min",
                                             "verify_urban_min", "verify_rural_min")),
        *((f"deadlines.{k}", lambda v: v in CLOCKS, clocks_allowed) for k in ("register_dispatch_clock", "verify_clock")),
        ("run.work_order_warmup_hours", *nonneg),
        ("calendar.start_date", _is_iso_date, "a date written YYYY-MM-DD (e.g. \"2018-03-05\")"),
        ("calendar.holidays", lambda v: len(v) >= 2, "a country code of the `holidays` package (e.g. \"CN\")"),
        ("calendar.workday_hours", lambda v: len(v) == 2 and 0 <= v[0] < v[1] <= 24,
         "[start, end] with 0 <= start < end <= 24"),
        ("hotline.seats_hourly", lambda v: len(v) == 24 and all(isinstance(x, int) and not isinstance(x, bool) and x >= 0
                                                                  for x in v),
         "24 non-negative integers (call-taker seats on duty in hours 0-23)"),
        ("hotline.greeting_s", lambda v: 0.0 <= v <= 300.0, "0 to 300 seconds"),
        ("hotline.to_110_share", *prob), ("hotline.from_110_share", lambda v: 0.0 <= v < 1.0,
                                           "a share from 0 up to (not including) 1"),
        ("routing.division_dispatchers", lambda v: v >= 1, ">= 1 (the division centre handles unbuilt sub-centers' orders)"),
        ("routing.subcenter_dispatchers", lambda v: v >= 1, ">= 1"),
        ("routing.workstation_dispatchers", lambda v: v >= 1, ">= 1"),
        ("departments.*.staff_per_division", *nonneg), ("departments.*.duty_staff_per_division", *nonneg),
        ("grid_patrol.route_points", lambda v: 3 <= v <= 64, "3 to 64"), ("grid_patrol.walk_kmh", *pos),
        ("grid_patrol.detection_radius_m", *pos), ("grid_patrol.detection_prob", *prob),
        ("grid_patrol.patrol_share.*", *prob),
        ("linkage.assessment_factor", *prob), ("linkage.mediation_police_factor", *prob),
        *((f"targets.{stage}_required_share", lambda v: 0.0 < v <= 1.0,
           "a share above 0 and at most 1 (e.g. 0.9: 90 % of judged events within the limit)")
          for stage in STAGES),
        ("travel.mode", lambda v: v in ("road", "zero"), "'road' or 'zero'"),
        ("travel.detour_factor", lambda v: v >= 1.0, ">= 1 (road distance is never shorter than straight)"),
        ("travel.speed_kmh.*", *pos),
        ("shifts.*.weekday_hours", *hours), ("shifts.*.weekend_hours", *hours),
        ("demand.police_per_day", *nonneg), ("demand.hotline_per_day", *nonneg),
        ("demand.hazards_per_100k_day", *nonneg),
        ("demand.profile.*.hourly", lambda v: len(v) == 24 and min(v) >= 0 and sum(v) > 0,
         "24 non-negative weights (hours 0-23), not all zero"),
        ("demand.profile.*.daily", lambda v: len(v) == 7 and min(v) >= 0 and sum(v) > 0,
         "7 non-negative weights (Monday-Sunday), not all zero"),
        ("surge.multiplier", *nonneg), ("surge.start_hour", *nonneg), ("surge.duration_hours", *nonneg),
        ("surge.sources", lambda v: all(s in SOURCES for s in v), "a list drawn from " + ", ".join(SOURCES)),
        ("dispatch.grid_role_order", lambda v: len(v) > 0 and len(set(v)) == len(v) and all(r in GRID_ROLES for r in v),
         "distinct roles from " + ", ".join(GRID_ROLES)),
        ("dispatch.verify_role_order", lambda v: len(v) > 0 and len(set(v)) == len(v) and all(r in GRID_ROLES for r in v),
         "distinct roles from " + ", ".join(GRID_ROLES)),
        ("dispatch.borrow_radius_km", *nonneg),
        ("dispatch.police_neighbour_subcenters", *nonneg),
        ("dispatch.cordon_candidate_subcenters", lambda v: v >= 1, ">= 1"),
        ("dispatch.police_idle_policy", lambda v: v in ("standby", "return_to_post", "stay"),
         "'standby' (patrol the beat), 'return_to_post' or 'stay'"),
        ("patrol.roster_hourly", lambda v: len(v) == 24 and all(0.0 <= x <= 1.0 for x in v),
         "24 shares between 0 and 1 (hours 0-23) of each territory's units on duty"),
        ("patrol.unavailable_share", lambda v: 0.0 <= v < 1.0, "a share from 0 up to (not including) 1"),
        ("patrol.beat_grids", lambda v: v >= 1, ">= 1"), ("patrol.beat_dwell_min", *pos),
        ("patrol.dispatch_rule", lambda v: v in ("own_first", "nearest"), "'own_first' or 'nearest'"),
        ("patrol.dispatch_radius_km", *pos),
        ("patrol.reserve_units_per_division", *nonneg), ("patrol.neighbour_min_idle", *nonneg),
        ("patrol.cordon_mode", lambda v: v in ("exits", "ring"), "'exits' (patrol.exits_file) or 'ring'"),
        ("patrol.ring_points", lambda v: 1 <= v <= 100, "1 to 100"), ("patrol.escape_speed_kmh", *pos),
        ("patrol.rural_speed_factor", *pos),
        ("patrol.congestion_hourly", lambda v: len(v) == 24 and all(x > 0 for x in v),
         "24 positive speed multipliers (hours 0-23)"),
        ("dispatch.event_spread", lambda v: v in ("grid", "centroid"), "'grid' or 'centroid'"),
        ("categories.*.source", lambda v: v in SOURCES, "one of " + ", ".join(f"'{s}'" for s in SOURCES)),
        ("categories.*.share", *prob),
        ("categories.*.priority", lambda v: v in PRIORITIES, "'urgent' or 'routine'"),
        ("categories.*.support_prob", *prob), ("categories.*.cordon_prob", *prob),
        ("categories.*.support_units", *nonneg),
        ("categories.*.police_units", *nonneg),
        ("categories.*.close_deadline_days", *pos),
        ("categories.*.close_clock", lambda v: v in CLOCKS, clocks_allowed),
        ("categories.*.first_contact_share", *prob), ("categories.*.minor_share", *prob),
 ("categories.*.urban_weight", *nonneg),
        ("allocation.per", lambda v: v in ("none", "division", "subcenter"), "'none', 'division' or 'subcenter'"),
        ("allocation.fulltime_workers", *counts), ("allocation.grid_leaders", *counts),
        ("allocation.parttime_workers", *counts), ("allocation.police_units", *counts),
    ]
    for table in ("lifecycle.*", "police.*", "service.*", "hotline.talk", "routing.handling",
                  "departments.*.handling", "departments.*.lead"):
        rules += [
            (f"{table}.family", lambda v: v in FAMILIES, "one of " + ", ".join(FAMILIES)),
            (f"{table}.mean_min", *nonneg), (f"{table}.cv", *pos),
        ]
    return rules


def _match(pattern: str, key: str) -> bool:
    p, k = pattern.split("."), key.split(".")
    return len(p) == len(k) and all(a == "*" or a == b for a, b in zip(p, k))


def check_ranges(data: dict, origin: dict) -> None:
    """Every single value within its range rule."""
    rules = _range_rules()
    for key, value in leaf_items(data):
        for pattern, ok, allowed in rules:
            if _match(pattern, key) and not ok(value):
                raise ScenarioError(origin.get(key, "<scenario>"), key, "out of range", allowed, value, True)


def _raw(data: dict, dotted: str) -> Any:
    node: Any = data
    for part in dotted.split("."):
        node = node[part]
    return node


def check_consistency(spec: Sections, data: dict, origin: dict, divisions: Sequence[Division]) -> None:
    """Keys that constrain each other, and references to the division table.

    `spec` is the typed scenario; `data` is the same scenario as written, for the values
    quoted in messages (lists shown as the user wrote them).
    """
    def err(key: str, problem: str, allowed: str) -> ScenarioError:
        return ScenarioError(origin.get(key, "<scenario>"), key, problem, allowed, _raw(data, key), True)

    c, s, run = spec.city, spec.staff, spec.run
    if c.subcenters_built > c.subcenters:
        raise err("city.subcenters_built", "more built than planned", f"<= city.subcenters ({c.subcenters})")
    if c.subcenters_built_ids and len(c.subcenters_built_ids) != c.subcenters_built:
        raise err("city.subcenters_built_ids", f"{len(c.subcenters_built_ids)} ids but city.subcenters_built = "
                  f"{c.subcenters_built}", "exactly city.subcenters_built ids, or [] to draw them by the seed")
    if c.subcenters_built_ids and max(c.subcenters_built_ids) >= c.subcenters:
        raise err("city.subcenters_built_ids", f"id {max(c.subcenters_built_ids)} does not exist",
                  f"ids from 0 to city.subcenters - 1 = {c.subcenters - 1}")
    if c.workstations_started > c.workstations:
        raise err("city.workstations_started", "more started than planned", f"<= city.workstations ({c.workstations})")
    if c.workstations_built > c.workstations_started:
        raise err("city.workstations_built", "more built than started (built + under construction)",
                  f"<= city.workstations_started ({c.workstations_started})")
    if c.workstations < c.subcenters:
        raise err("city.workstations", "fewer workstations than sub-centers (each sub-center needs one)",
                  f">= city.subcenters ({c.subcenters})")
    if c.grids < c.workstations:
        raise err("city.grids", "fewer grids than workstations (each workstation needs one)",
                  f">= city.workstations ({c.workstations})")
    if c.subcenters < len(divisions):
        raise err("city.subcenters", "fewer sub-centers than divisions (each division needs one)",
                  f">= {len(divisions)} (rows of {c.divisions_file})")
    if s.police_units < s.police_units_min_per_subcenter * c.subcenters:
        raise err("staff.police_units", "fewer than the per-sub-center minimum allows",
                  f">= staff.police_units_min_per_subcenter x city.subcenters = "
                  f"{s.police_units_min_per_subcenter * c.subcenters}")
    if run.warmup_hours >= 24 * run.days:
        raise err("run.warmup_hours", "warm-up covers the whole run", f"< run.days x 24 = {24 * run.days}")
    _check_allocation(spec, len(divisions), err)
    _check_layout_keys(spec, len(divisions), err)
    _check_categories(spec, origin)
    _check_calendar(spec, err)
    _check_hotline(spec, err)
    _check_departments(spec, err)
    if spec.surge.enabled:
        _check_surge(spec, data, origin, divisions)


def _check_surge(spec: Sections, data: dict, origin: dict, divisions: Sequence[Division]) -> None:
    """An enabled surge must strike inside the run, in divisions of the table. A disabled
    surge is not judged: its defaults need not fit the scenario's division table."""
    hours = 24 * spec.run.days
    if spec.surge.start_hour >= hours:
        key = "surge.start_hour"
        raise ScenarioError(origin.get(key, "<scenario>"), key, f"the surge starts after the run ends "
                            f"(the run lasts {hours} h)", f"< run.days x 24 = {hours}, or surge.enabled = false",
                            data["surge"]["start_hour"], True)
    names = {d.name for d in divisions}
    for d in spec.surge.divisions:
        if d not in names:
            close = difflib.get_close_matches(d, sorted(names), n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            raise ScenarioError(origin.get("surge.divisions", "<scenario>"), "surge.divisions",
                                f"unknown division '{d}'{hint}", ", ".join(sorted(names)),
                                data["surge"]["divisions"], True)


def _check_layout_keys(spec: Sections, n_divisions: int, err: Callable[[str, str, str], ScenarioError]) -> None:
    """An explicit grids table builds one division with one sub-center and one workstation
    (its rows are checked when it is read, gridsim.scenario.layout); posts need the table."""
    c = spec.city
    if spec.staff.police_posts_file and not c.grids_file:
        raise err("staff.police_posts_file", "posts need explicit grids (their coordinates share its frame)",
                  "'' or set city.grids_file too")
    if not c.grids_file:
        return
    one = "1 with city.grids_file (the table builds one division, sub-center and workstation)"
    if n_divisions != 1:
        raise err("city.divisions_file", f"has {n_divisions} divisions", "a one-row division table " + one[1:])
    for key in ("subcenters", "subcenters_built", "workstations", "workstations_started", "workstations_built"):
        if getattr(c, key) != 1:
            raise err(f"city.{key}", "must be 1 with explicit grids", one)
    if spec.allocation.per != "none":
        raise err("allocation.per", "explicit grids take staff as [staff] says", "'none' with city.grids_file")


def _check_allocation(spec: Sections, n_divisions: int, err: Callable[[str, str, str], ScenarioError]) -> None:
    alloc = spec.allocation
    units = {"division": n_divisions, "subcenter": spec.city.subcenters}.get(alloc.per)
    for key_name in ("fulltime_workers", "grid_leaders", "parttime_workers", "police_units"):
        values = getattr(alloc, key_name)
        key = f"allocation.{key_name}"
        if not values:
            continue
        if units is None:
            raise err(key, "a per-unit allocation needs allocation.per", "'division' or 'subcenter', or an empty list")
        if len(values) != units:
            raise err(key, f"has {len(values)} values for {units} {alloc.per}s", f"exactly {units} values")
        staffed = getattr(spec.staff, key_name)
        if sum(values) != staffed:
            raise err(key, f"sums to {sum(values)} but staff.{key_name} is {staffed}", f"values summing to staff.{key_name}")


def _check_categories(spec: Sections, origin: dict) -> None:
    cats, service = spec.categories, spec.service
    for src in SOURCES:
        shares = [v.share for v in cats.values() if v.source == src]
        if not shares:
            raise ScenarioError(origin.get("categories", "<scenario>"), "categories",
                                f"no category has source '{src}'", "at least one category per source")
        total = math.fsum(shares)
        if abs(total - 1.0) > 1e-6:
            names = [k for k, v in cats.items() if v.source == src]
            # blame the share set last: a --set override, else the most derived file
            ranked = sorted(names, key=lambda n: _origin_rank(origin.get(f"categories.{n}.share", "")))
            name = ranked[-1]
            key = f"categories.{name}.share"
            raise ScenarioError(origin.get(key, "<scenario>"), key,
                                f"shares of source '{src}' categories ({', '.join(names)}) sum to {total:.6g}",
                                "shares that sum to 1 within 1e-6", cats[name].share, True)
    for name, cat in cats.items():
        if cat.source != "110":
            for key in ("support_prob", "cordon_prob"):
                value = getattr(cat, key)
                if value != 0:
                    k = f"categories.{name}.{key}"
                    raise ScenarioError(origin.get(k, "<scenario>"), k, "regional support and cordons are police "
                                        "operations", "0 for categories whose source is not '110'", value, True)
        elif cat.share > 0 and cat.police_units < 1 and spec.staff.police_units > 0:
            k = f"categories.{name}.police_units"
            raise ScenarioError(origin.get(k, "<scenario>"), k, "a 110 category must send at least one unit",
                                ">= 1 for categories whose source is '110'", cat.police_units, True)
    if spec.patrol.cordon_mode == "exits" and not spec.patrol.exits_file:
        k = "patrol.exits_file"
        raise ScenarioError(origin.get(k, "<scenario>"), k, "cordon_mode 'exits' needs the city's exit checkpoints",
                            "a CSV of exits (name, lat, lon), or patrol.cordon_mode = 'ring'", "", True)
    for name in cats:
        if name not in service:
            raise ScenarioError(origin.get(f"categories.{name}.source", "<scenario>"), f"service.{name}",
                                f"category '{name}' has no service-time table",
                                f"a [service.{name}] table with family, mean_min, cv")
    for name in service:
        if name not in cats:
            raise ScenarioError(origin.get(f"service.{name}.family", "<scenario>"), f"service.{name}",
                                f"no category '{name}'", "service tables for the categories: " + ", ".join(cats))


def _check_calendar(spec: Sections, err: Callable[[str, str, str], ScenarioError]) -> None:
    """Day 0's date agrees with run.start_weekday, and the holiday calendar knows the run's years."""
    import holidays          # imported here: only validation and the work clock need it

    start = datetime.date.fromisoformat(spec.calendar.start_date)
    if start.weekday() != spec.run.start_weekday:
        day = start.strftime("%A")
        raise err("calendar.start_date", f"is a {day} but run.start_weekday = {spec.run.start_weekday}",
                  f"a date whose weekday is run.start_weekday (0 = Monday), or run.start_weekday = {start.weekday()}")
    code = spec.calendar.holidays
    try:
        calendar = holidays.country_holidays(code)
    except NotImplementedError:
        raise err("calendar.holidays", f"no holiday calendar for country '{code}'",
                  "a country code of the `holidays` package, e.g. 'CN'") from None
    lo, hi = covered_years(calendar)
    try:
        last_year = (start + datetime.timedelta(days=spec.run.days - 1)).year
    except OverflowError:
        last_year = 10 ** 9
    if start.year < lo or last_year > hi:
        shown = "beyond 9999" if last_year == 10 ** 9 else str(last_year)
        raise err("calendar.start_date", f"the run ({start.year} to {shown}) falls outside the years whose "
                  f"'{code}' working-day schedule the holidays package knows", f"dates in {lo}-{hi} "
                  f"(a shorter run.days, or an earlier start)")


WORK_CLOCK_MARGIN_DAYS = 120
"""Calendar days the work clock reaches beyond the run (deadlines of orders filed on its last
day fall after the horizon: 13 working days plus holidays fit easily)."""


def _check_hotline(spec: Sections, err: Callable[[str, str, str], ScenarioError]) -> None:
    h, d = spec.hotline, spec.demand
    if d.hotline_per_day > 0 and sum(h.seats_hourly) == 0:
        raise err("hotline.seats_hourly", "no call-taker seat is on duty in any hour, so no 12345 call is ever "
                  "answered", "at least one seat in some hour (or demand.hotline_per_day = 0)")
    if d.hotline_per_day * h.to_110_share > d.police_per_day:
        raise err("hotline.to_110_share", f"sends {d.hotline_per_day * h.to_110_share:.0f} calls a day to 110, more "
                  f"than demand.police_per_day ({d.police_per_day:g}) valid incidents in all",
                  "a share that leaves demand.police_per_day >= hotline_per_day x to_110_share")


def _check_departments(spec: Sections, err: Callable[[str, str, str], ScenarioError]) -> None:
    """Every work-order category has exactly one department, staffed for what it must handle."""
    cats = spec.categories
    owner: dict[str, str] = {}
    for dept, dep in spec.departments.items():
        key = f"departments.{dept}.categories"
        for c in dep.categories:
            if c not in cats:
                close = difflib.get_close_matches(c, sorted(cats), n=1)
                hint = f" (did you mean '{close[0]}'?)" if close else ""
                raise err(key, f"unknown category '{c}'{hint}", "work-order categories: " + ", ".join(
                    k for k, v in cats.items() if v.source != "110"))
            if cats[c].source == "110":
                raise err(key, f"'{c}' is a 110 category (the police handle it)", "12345 and grid categories")
            if c in owner:
                raise err(key, f"'{c}' is already handled by department '{owner[c]}'",
                          "each work-order category in exactly one department")
            owner[c] = dept
        if dep.categories and dep.staff_per_division < 1:
            raise err(f"departments.{dept}.staff_per_division", f"no staff, but it must handle "
                      f"{', '.join(dep.categories)}", ">= 1 case handler per division office")
        urgent = [c for c in dep.categories if cats[c].priority == "urgent" and cats[c].minor_share < 1]
        if urgent and dep.duty_staff_per_division < 1:
            raise err(f"departments.{dept}.duty_staff_per_division", f"nobody on the duty roster, but urgent "
                      f"orders ({', '.join(urgent)}) go to it round the clock", ">= 1")
    for name, cat in cats.items():
        if cat.source != "110" and name not in owner and cat.minor_share < 1:
            raise err(f"categories.{name}.minor_share", f"work-order category '{name}' is handled by no department",
                      "list it in one department's categories (or minor_share = 1: grid workers resolve all of them)")


def _origin_rank(label: str) -> int:
    if label == "--set":
        return 2
    return 0 if label.endswith(f"{BUILTIN_NAME}.toml") else 1
