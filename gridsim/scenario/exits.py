"""City exit checkpoints: where a city-wide encirclement must be held (`patrol.exits_file`).

A CSV with columns name, lat, lon (WGS84 degrees; '#' comment lines allowed), resolved like
the division table: relative to the scenario file that names it, or a built-in table. The
city projects the points to its km plane; each exit must fall within the city's extent.
"""

from __future__ import annotations

import csv
import hashlib
import io
import math
from dataclasses import dataclass
from pathlib import Path

from gridsim.scenario.divisions import DataFile
from gridsim.scenario.divisions import locate_divisions as locate_data_file
from gridsim.scenario.errors import ScenarioError
from gridsim.scenario.schema import read_text

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
    path = locate_data_file(name, folder)
    if path is None:
        raise ScenarioError(label, KEY, "exits table not found",
                            "a CSV path, relative to the scenario file or a built-in table", name, True)
    text = read_text(path, str(path), "a CSV table of exits (name, lat, lon)")
    source = DataFile(KEY, str(path.resolve()), hashlib.sha256(text.encode("utf-8")).hexdigest())
    return parse_exits(text, str(path)), source


def parse_exits(text: str, label: str) -> tuple[Exit, ...]:
    lines = [ln for ln in text.splitlines() if ln.strip() and not ln.startswith("#")]
    try:
        reader = csv.DictReader(io.StringIO("\n".join(lines)))
        fieldnames = reader.fieldnames or []
        rows = list(reader)
    except csv.Error as exc:
        raise ScenarioError(label, "", f"not a readable CSV table ({exc})", "columns " + ", ".join(EXIT_COLUMNS)) from None
    missing = [c for c in EXIT_COLUMNS if c not in fieldnames]
    if missing:
        raise ScenarioError(label, "", f"missing column '{missing[0]}'", "columns " + ", ".join(EXIT_COLUMNS))
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
