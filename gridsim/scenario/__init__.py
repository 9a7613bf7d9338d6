"""Scenario files: load TOML, resolve `extends`, apply `--set` overrides, validate, type.

The built-in baseline (`gridsim/data/suzhou_2018.toml`) is the schema: every key a scenario
may set exists there, with its type. Values are checked against range rules before anything
runs, and every failure is a `ScenarioError` naming the file, the key, the value and what is
allowed, so the CLI can print one line and exit with status 2. A loaded `Scenario` exposes
its tables as frozen dataclasses (gridsim.scenario.types).

    errors     ScenarioError, the one-line message
    schema     the built-in baseline as schema; key lookup and unknown-key messages
    divisions  the division table (CSV)
    types      the typed tables
    validate   types, completeness, ranges, consistency
    load       reading, extends, --set, and the Scenario itself
"""

from gridsim.domain import GRID_ROLES, PRIORITIES, ROLES, SOURCES  # re-exported for older callers
from gridsim.scenario.divisions import DIVISION_COLUMNS, Division, load_divisions
from gridsim.scenario.errors import ScenarioError
from gridsim.scenario.load import Scenario, load_scenario
from gridsim.scenario.schema import BUILTIN_NAME, builtin_path
from gridsim.scenario.types import (Allocation, Category, CityPlan, Deadlines, Demand, Dispatch,
                                    Distribution, FrozenMap, Lifecycle, PoliceSteps, Profile, Run,
                                    Sections, Shift, Staff, Surge, Targets, Travel)

__all__ = [
    "BUILTIN_NAME", "DIVISION_COLUMNS", "GRID_ROLES", "PRIORITIES", "ROLES", "SOURCES",
    "Allocation", "Category", "CityPlan", "Deadlines", "Demand", "Dispatch", "Distribution",
    "Division", "FrozenMap", "Lifecycle", "PoliceSteps", "Profile", "Run", "Scenario",
    "ScenarioError", "Sections", "Shift", "Staff", "Surge", "Targets", "Travel",
    "builtin_path", "load_divisions", "load_scenario",
]
