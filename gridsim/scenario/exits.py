"""City exit checkpoints: where a city-wide encirclement must be held (`patrol.exits_file`).

A CSV with columns name, lat, lon (WGS84 degrees; '#' comment lines allowed), resolved like
the division table: relative to the scenario file that names it, or a built-in table. The
city projects the points to its km plane; each exit must fall within the city's extent.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from gridsim.scenario.divisions import DataFile, csv_rows, read_data_file
from gridsim.scenario.errors import ScenarioError

EXIT_COLUMNS = ("name", "lat", "lon")
KEY = "patrol.exits_file"


@dataclass(frozen=True, slots=True)
class Exit:
    """One road exit of the city: a checkpoint a cordon must hold."""

    name: str
    lat: float
    lon: float


def load_exits(name: str, folder: Path, label: str) -> tuple[tuple[Exit, ...], DataFile]:
    """Read the exits table that `label` names as `name`."""
    text, source, where = read_data_file(name, folder, label, KEY, "exits table")
    return parse_exits(text, where), source


def parse_exits(text: str, label: str) -> tuple[Exit, ...]:
    rows = csv_rows(text, label, EXIT_COLUMNS, "columns " + ", ".join(EXIT_COLUMNS))
    out = []
    for i, row in enumerate(rows, start=2):
        try:
            e = Exit(name=(row["name"] or "").strip(), lat=float(row["lat"]), lon=float(row["lon"]))
        except (TypeError, ValueError) as exc:
            raise ScenarioError(label, f"row {i}", f"bad coordinate ({exc})", "lat and lon in degrees") from None
        if not (math.isfinite(e.lat) and math.isfinite(e.lon) and -90 <= e.lat <= 90 and -180 <= e.lon <= 180):
            raise ScenarioError(label, f"row {i} ({e.name})", "coordinates out of range",
                                "lat in [-90, 90], lon in [-180, 180] (WGS84 degrees)")
        out.append(e)
    if not out:
        raise ScenarioError(label, "", "no exits", "at least one data row")
    return tuple(out)
