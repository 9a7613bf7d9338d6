"""The division table: one row per county-level division (name, area, towns, population...).

A scenario names its table in `city.divisions_file`; the city is built division by division
from it, and `surge.divisions` and per-division allocations refer to its rows.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from gridsim.scenario.errors import ScenarioError

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


def _find_divisions_file(name: str, base_dir: Path | None) -> Path | None:
    candidates = [Path(name)]
    if base_dir is not None:
        candidates.append(base_dir / name)
    candidates.append(Path(str(resources.files("gridsim") / "data" / name)))
    for c in candidates:
        if c.exists():
            return c
    return None


def load_divisions(name: str, base_dir: Path | None, label: str) -> tuple[Division, ...]:
    """Read the division table (CSV with '#' comment lines)."""
    path = _find_divisions_file(name, base_dir)
    key = "city.divisions_file"
    if path is None:
        raise ScenarioError(label, key, "division table not found",
                            "a CSV path, relative to the scenario file or a built-in table", name, True)
    lines = [ln for ln in path.read_text(encoding="utf-8").splitlines() if ln.strip() and not ln.startswith("#")]
    reader = csv.DictReader(io.StringIO("\n".join(lines)))
    missing = [c for c in DIVISION_COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        raise ScenarioError(str(path), "", f"missing column '{missing[0]}'", "columns " + ", ".join(DIVISION_COLUMNS))
    out = []
    for i, row in enumerate(reader, start=2):
        try:
            d = Division(
                name=row["name"].strip(), area_km2=float(row["area_km2"]),
                land_area_km2=float(row["land_area_km2"]), towns=int(row["towns"]),
                streets=int(row["streets"]), population_2020=float(row["population_2020"]),
                ref_lat=float(row["ref_lat"]), ref_lon=float(row["ref_lon"]),
                population_estimated=row.get("population_estimated", "0").strip() == "1")
        except (ValueError, TypeError) as exc:
            raise ScenarioError(str(path), f"row {i}", f"bad value ({exc})",
                                "numbers in the numeric columns") from None
        if d.land_area_km2 <= 0 or d.population_2020 <= 0 or d.towns + d.streets <= 0:
            raise ScenarioError(str(path), f"row {i} ({d.name})", "area, population and towns + streets must be > 0")
        out.append(d)
    if not out:
        raise ScenarioError(str(path), "", "no divisions", "at least one data row")
    if len({d.name for d in out}) != len(out):
        raise ScenarioError(str(path), "name", "duplicate division names", "unique names")
    return tuple(out)
