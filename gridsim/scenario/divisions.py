"""The division table: one row per county-level division (name, area, towns, population...).

A scenario names its table in `city.divisions_file`; the city is built division by division
from it, and `surge.divisions` and per-division allocations refer to its rows.
"""

from __future__ import annotations

import csv
import hashlib
import io
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from gridsim.scenario.errors import ScenarioError
from gridsim.scenario.schema import read_text

DIVISION_COLUMNS = ("name", "area_km2", "land_area_km2", "towns", "streets", "population_2020",
                    "ref_lat", "ref_lon")


@dataclass(frozen=True, slots=True)
class Division:
    """One county-level division row of the division table."""

    name: str
    area_km2: float
    land_area_km2: float
    towns: int
    streets: int
    population_2020: float
    ref_lat: float
    ref_lon: float
    population_estimated: bool = False


@dataclass(frozen=True, slots=True)
class DataFile:
    """A data file a scenario read: the key that named it, where it was found, its sha256."""

    key: str
    path: str
    sha256: str


def builtin_data_dir() -> Path:
    """The package's data folder: built-in scenarios and tables."""
    return Path(str(resources.files("gridsim") / "data"))


def locate_divisions(name: str, folder: Path) -> Path | None:
    """The division table `name`: an absolute path, a path relative to `folder` (the folder of
    the file that named it), or a built-in table; never the current directory by accident."""
    p = Path(name)
    candidates = [p] if p.is_absolute() else [folder / p, builtin_data_dir() / p]
    return next((c for c in candidates if c.is_file()), None)


def read_data_file(name: str, folder: Path, label: str, key: str, what: str) -> tuple[str, DataFile, str]:
    """Locate and read a data file that `label` names as `name` under `key`: its text, the
    `DataFile` record (for the fingerprint) and the path to name in messages."""
    path = locate_divisions(name, folder)
    if path is None:
        raise ScenarioError(label, key, f"{what} not found",
                            "a CSV path, relative to the scenario file or a built-in table", name, True)
    text = read_text(path, str(path), f"a CSV {what}")
    return text, DataFile(key, str(path.resolve()), hashlib.sha256(text.encode("utf-8")).hexdigest()), str(path)


def csv_rows(text: str, label: str, columns: tuple[str, ...], allowed: str) -> list[dict]:
    """The rows of a CSV text with '#' comment lines, after checking it has `columns`."""
    lines = [ln for ln in text.splitlines() if ln.strip() and not ln.startswith("#")]
    try:
        reader = csv.DictReader(io.StringIO("\n".join(lines)))
        fieldnames = reader.fieldnames or []
        rows = list(reader)
    except csv.Error as exc:
        raise ScenarioError(label, "", f"not a readable CSV table ({exc})", allowed) from None
    missing = [c for c in columns if c not in fieldnames]
    if missing:
        raise ScenarioError(label, "", f"missing column '{missing[0]}'", "columns " + ", ".join(columns))
    return rows


def load_divisions(name: str, folder: Path, label: str) -> tuple[tuple[Division, ...], DataFile]:
    """Read the division table (CSV with '#' comment lines) that `label` names as `name`."""
    text, source, where = read_data_file(name, folder, label, "city.divisions_file", "division table")
    return parse_divisions(text, where), source


def parse_divisions(text: str, label: str) -> tuple[Division, ...]:
    """The rows of a division table's text; `label` names the file in messages."""
    rows = csv_rows(text, label, DIVISION_COLUMNS, "a CSV division table")
    out = []
    for i, row in enumerate(rows, start=2):
        try:
            d = Division(
                name=row["name"].strip(), area_km2=float(row["area_km2"]),
                land_area_km2=float(row["land_area_km2"]), towns=int(row["towns"]),
                streets=int(row["streets"]), population_2020=float(row["population_2020"]),
                ref_lat=float(row["ref_lat"]), ref_lon=float(row["ref_lon"]),
                population_estimated=(row.get("population_estimated") or "0").strip() == "1")
        except (ValueError, TypeError, AttributeError) as exc:
            raise ScenarioError(label, f"row {i}", f"bad value ({exc})",
                                "numbers in the numeric columns") from None
        if d.land_area_km2 <= 0 or d.population_2020 <= 0 or d.towns + d.streets <= 0:
            raise ScenarioError(label, f"row {i} ({d.name})", "area, population and towns + streets must be > 0")
        out.append(d)
    if not out:
        raise ScenarioError(label, "", "no divisions", "at least one data row")
    if len({d.name for d in out}) != len(out):
        raise ScenarioError(label, "name", "duplicate division names", "unique names")
    return tuple(out)
