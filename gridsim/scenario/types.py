"""The typed scenario: one frozen dataclass per table of the schema.

After validation (gridsim.scenario.validate) every table becomes one of these, so code reads
`spec.staff.police_units` instead of `spec["staff"]["police_units"]`, and a misspelt name fails
at once (frozen, slotted classes have no room for a new attribute). Lists become tuples;
tables keyed by role, profile or category become read-only `FrozenMap`s. The field names are
the schema's keys, one for one (tests/test_scenario_types.py checks both ways).

Dataclasses rather than pydantic: validation stays hand-written because its one-line
messages (file, key, value, what is allowed) are the user interface; these classes only
carry values already checked.
"""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Iterator, Mapping
from typing import Any, Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")


class FrozenMap(Mapping[K, V], Generic[K, V]):
    """A read-only mapping (name -> typed value) that hashes and pickles."""

    __slots__ = ("_items",)

    def __init__(self, items: Mapping[K, V] | None = None):
        self._items: dict[K, V] = dict(items or {})

    def __getitem__(self, key: K) -> V:
        return self._items[key]

    def __iter__(self) -> Iterator[K]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __hash__(self) -> int:
        return hash(tuple(self._items.items()))

    def __repr__(self) -> str:
        return f"FrozenMap({self._items!r})"

    def __reduce__(self):
        return (FrozenMap, (self._items,))


_frozen = dataclasses.dataclass(frozen=True, slots=True)


@_frozen
class Distribution:
    """A random duration: family (exponential | lognormal | gamma | fixed), mean and CV."""

    family: str
    mean_min: float
    cv: float


@_frozen
class Run:
    days: int
    warmup_hours: float
    seed: int
    start_weekday: int
    work_order_warmup_hours: float


@_frozen
class Calendar:
    """[calendar]: the date of day 0, the holiday calendar (country code of the `holidays`
    package) and office hours; the work clock (gridsim.engine.workclock) is built from it."""

    start_date: str
    holidays: str
    workday_hours: tuple[float, ...]


@_frozen
class CityPlan:
    """[city]: the division table and what is planned and built (the built city is gridsim.city.City)."""

    divisions_file: str
    population_total: int
    subcenters: int
    subcenters_built: int
    workstations: int
    workstations_built: int
    workstations_started: int
    grids: int
    persons_per_household: float
    grid_population_sigma: float
    density_decay_fraction: float
    urban_density_min_per_km2: float
    grids_file: str
    outlines_file: str
    subcenters_built_ids: tuple[int, ...]


@_frozen
class Staff:
    grid_leaders: int
    fulltime_workers: int
    parttime_workers: int
    police_units: int
    police_units_min_per_subcenter: int
    police_posts_file: str


@_frozen
class Allocation:
    """Explicit head counts per division or sub-center (empty: apportion as [staff] says)."""

    per: str
    fulltime_workers: tuple[int, ...]
    grid_leaders: tuple[int, ...]
    parttime_workers: tuple[int, ...]
    police_units: tuple[int, ...]


@_frozen
class Targets:
    """The patrol-system time targets in minutes (3/5/15/30 in the baseline), and per judged
    stage the share of events that must meet its limit (`<stage>_required_share`)."""

    response_min: float
    on_scene_min: float
    on_scene_rural_min: float
    support_min: float
    cordon_min: float
    respond_required_share: float
    on_scene_required_share: float
    support_required_share: float
    cordon_required_share: float
    register_dispatch_required_share: float
    verify_required_share: float
    close_required_share: float

    def as_dict(self) -> dict[str, float]:
        """Plain dict (summaries store targets this way, keyed like [targets])."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}


@_frozen
class Deadlines:
    register_dispatch_urgent_min: float
    register_dispatch_routine_min: float
    verify_urban_min: float
    verify_rural_min: float
    register_dispatch_clock: str
    verify_clock: str


@_frozen
class Travel:
    mode: str
    detour_factor: float
    speed_kmh: FrozenMap[str, float]


@_frozen
class Shift:
    """On-duty window [start, end] in hours of the day; (0, 0) is off."""

    weekday_hours: tuple[float, ...]
    weekend_hours: tuple[float, ...]


@_frozen
class Profile:
    """Relative arrival rate by hour of day (24) and day of week (7)."""

    hourly: tuple[float, ...]
    daily: tuple[float, ...]


@_frozen
class Demand:
    police_per_day: float
    hotline_per_day: float
    hazards_per_100k_day: float
    profile: FrozenMap[str, Profile]


@_frozen
class Surge:
    enabled: bool
    multiplier: float
    start_hour: float
    duration_hours: float
    divisions: tuple[str, ...]
    sources: tuple[str, ...]


@_frozen
class Dispatch:
    grid_role_order: tuple[str, ...]
    verify_role_order: tuple[str, ...]
    borrow_radius_km: float
    police_neighbour_subcenters: int
    cordon_candidate_subcenters: int
    police_idle_policy: str
    event_spread: str
    verify_work_orders: bool


@_frozen
class Patrol:
    """[patrol]: how the police fleet is rostered, patrols, is dispatched and escalates."""

    roster_hourly: tuple[float, ...]
    unavailable_share: float
    beat_grids: int
    beat_dwell_min: float
    dispatch_rule: str
    dispatch_radius_km: float
    preempt_routine: bool
    reserve_units_per_division: int
    neighbour_min_idle: int
    cordon_mode: str
    exits_file: str
    ring_points: int
    escape_speed_kmh: float
    rural_speed_factor: float
    congestion_hourly: tuple[float, ...]


@_frozen
class Hotline:
    """[hotline]: the 12345 call centre's seat roster, talk time and transfers with 110."""

    seats_hourly: tuple[int, ...]
    greeting_s: float
    to_110_share: float
    from_110_share: float
    talk: Distribution


@_frozen
class Routing:
    """[routing]: dispatchers per office (division centre, built sub-center, built workstation)."""

    division_dispatchers: int
    subcenter_dispatchers: int
    workstation_dispatchers: int
    handling: Distribution


@_frozen
class Department:
    """One responsible department of [departments] (its name is the mapping key); one office per division."""

    categories: tuple[str, ...]
    staff_per_division: int
    duty_staff_per_division: int
    handling: Distribution
    lead: Distribution


@_frozen
class GridPatrol:
    """[grid_patrol]: grid workers' patrol loops and how they find latent hazards."""

    route_points: int
    walk_kmh: float
    detection_radius_m: float
    detection_prob: float
    patrol_share: FrozenMap[str, float]


@_frozen
class Linkage:
    """[linkage]: what a co-responding grid worker changes for the police."""

    assessment_factor: float
    mediation_police_factor: float


@_frozen
class Lifecycle:
    """Work-order step durations outside the queues (patrol-found filing, report-back, verification, closing)."""

    register_patrol: Distribution
    report_back: Distribution
    verify_onsite: Distribution
    close: Distribution


@_frozen
class PoliceSteps:
    """[police]: 110 call-handling step durations."""

    triage: Distribution
    turnout: Distribution
    support_onscene: Distribution
    assessment: Distribution
    cordon_command_delay: Distribution
    cordon_hold: Distribution


@_frozen
class Category:
    """One event category of [categories] (its name is the mapping key)."""

    source: str
    share: float
    urban_weight: float
    priority: str
    support_prob: float
    support_units: int
    cordon_prob: float
    grid_coresponse: bool
    grid_mediation: bool
    police_units: int
    first_contact_share: float
    minor_share: float
    close_deadline_days: float
    close_clock: str


@_frozen
class Sections:
    """Every table of a scenario, typed; gridsim.scenario.Scenario adds where it came from."""

    name: str
    description: str
    run: Run
    calendar: Calendar
    city: CityPlan
    staff: Staff
    allocation: Allocation
    targets: Targets
    deadlines: Deadlines
    travel: Travel
    shifts: FrozenMap[str, Shift]
    demand: Demand
    surge: Surge
    dispatch: Dispatch
    patrol: Patrol
    hotline: Hotline
    routing: Routing
    departments: FrozenMap[str, Department]
    grid_patrol: GridPatrol
    linkage: Linkage
    lifecycle: Lifecycle
    police: PoliceSteps
    categories: FrozenMap[str, Category]
    service: FrozenMap[str, Distribution]


def section_values(data: dict) -> dict[str, Any]:
    """The typed value of every field of `Sections`, from a validated scenario dict."""
    return {f.name: _build(_hints(Sections)[f.name], data[f.name]) for f in dataclasses.fields(Sections)}


def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _build(tp: Any, value: Any) -> Any:
    """A validated TOML value as the type `tp` names (dataclass, FrozenMap, tuple or scalar)."""
    if dataclasses.is_dataclass(tp):
        hints = _hints(tp)
        return tp(**{f.name: _build(hints[f.name], value[f.name]) for f in dataclasses.fields(tp)})
    origin = typing.get_origin(tp)
    if origin is FrozenMap:
        item_type = typing.get_args(tp)[1]
        return FrozenMap({k: _build(item_type, v) for k, v in value.items()})
    if origin is tuple:
        return tuple(value)
    return value
