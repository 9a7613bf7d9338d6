"""An explicit city layout: grid coordinates and populations, and police posts, from CSV tables.

A scenario normally lets `gridsim.city` place grids and posts at random; with
`city.grids_file` (and optionally `staff.police_posts_file`) it gives them instead, so a test
or a planner controls the geometry exactly (the hypercube validation needs posts with a fixed
nearest-unit order). The tables are read and checked here, when the scenario is loaded, so a
bad row stops the run before anything is written; `gridsim.city.city_from_layout` builds
the city from them.

    grids: grid (a name), x_km, y_km (km, any flat frame), population (residents: 110 and
           12345 calls are placed in proportion to it), area_km2 (optional; default: the
           division's land area shared equally)
    posts: unit (a name), x_km, y_km (km, same frame), subcenter (sub-center id, 0-based)
"""

from __future__ import annotations

import csv
import hashlib
import io
import math
from dataclasses import dataclass
from pathlib import Path

from gridsim.scenario.divisions import DataFile, Division, locate_divisions
from gridsim.scenario.errors import ScenarioError
from gridsim.scenario.schema import read_text
from gridsim.scenario.types import Sections

GRID_COLUMNS = ("grid", "x_km", "y_km", "population")
GRID_OPTIONAL = ("area_km2",)
POST_COLUMNS = ("unit", "x_km", "y_km", "subcenter")
GRIDS_KEY, POSTS_KEY = "city.grids_file", "staff.police_posts_file"


@dataclass(frozen=True, slots=True)
class GridTable:
    """The grids as given, in file order (grid id = row number from 0)."""

    names: tuple[str, ...]
    x_km: tuple[float, ...]
    y_km: tuple[float, ...]
    population: tuple[float, ...]
    area_km2: tuple[float, ...]


@dataclass(frozen=True, slots=True)
class PostTable:
    """The police posts as given: one row per unit, in file order."""

    units: tuple[str, ...]
    x_km: tuple[float, ...]
    y_km: tuple[float, ...]
    subcenter: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class Layout:
    """What a scenario fixes of its city's geometry (posts are optional)."""

    grids: GridTable
    posts: PostTable | None

    def extent(self) -> tuple[float, float, float, float]:
        """(x_min, x_max, y_min, y_max) km: the grid centroids' box widened by the largest grid
        radius (a grid of area A is taken as a disc of radius sqrt(A / pi))."""
        g = self.grids
        pad = max(math.sqrt(a / math.pi) for a in g.area_km2)
        return min(g.x_km) - pad, max(g.x_km) + pad, min(g.y_km) - pad, max(g.y_km) + pad


def _rows(text: str, label: str, required: tuple[str, ...], optional: tuple[str, ...]) -> list[dict]:
    """The rows of a CSV table with '#' comment lines; every column known, every required one there."""
    lines = [ln for ln in text.splitlines() if ln.strip() and not ln.startswith("#")]
    try:
        reader = csv.DictReader(io.StringIO("\n".join(lines)), skipinitialspace=True)
        fields = [f.strip() for f in (reader.fieldnames or [])]
        rows = list(reader)
    except csv.Error as exc:
        raise ScenarioError(label, "", f"not a readable CSV table ({exc})") from None
    allowed = "columns " + ", ".join(required + tuple(f"{c} (optional)" for c in optional))
    unknown = [f for f in fields if f not in required + optional]
    if unknown:
        raise ScenarioError(label, "", f"unknown column '{unknown[0]}'", allowed)
    missing = [c for c in required if c not in fields]
    if missing:
        raise ScenarioError(label, "", f"missing column '{missing[0]}'", allowed)
    if not rows:
        raise ScenarioError(label, "", "no rows", "at least one data row")
    out = []
    for i, row in enumerate(rows, start=1):
        row = {(k or "").strip(): v for k, v in row.items()}
        if None in row.values() or "" in row:
            raise ScenarioError(label, f"data row {i}", f"has {len([v for v in row.values() if v is not None])} "
                                f"values for {len(fields)} columns", "one value per column")
        out.append({k: v.strip() for k, v in row.items()})
    return out


def _number(row: dict, col: str, label: str, i: int, ok=lambda v: True, allowed: str = "a finite number") -> float:
    try:
        v = float(row[col])
    except ValueError:
        v = math.nan
    if not math.isfinite(v) or not ok(v):
        raise ScenarioError(label, f"data row {i} ({col})", "bad value", allowed, row[col], True)
    return v


def _unique(names: list[str], label: str, col: str) -> None:
    seen = set()
    for i, n in enumerate(names, start=1):
        if not n or n in seen:
            raise ScenarioError(label, f"data row {i} ({col})", "empty or repeated name", f"a unique {col} name",
                                n, True)
        seen.add(n)


def parse_grids(text: str, label: str, land_area_km2: float) -> GridTable:
    """The grids table's text; grids without an area share `land_area_km2` equally."""
    rows = _rows(text, label, GRID_COLUMNS, GRID_OPTIONAL)
    _unique([r["grid"] for r in rows], label, "grid")
    x = [_number(r, "x_km", label, i) for i, r in enumerate(rows, 1)]
    y = [_number(r, "y_km", label, i) for i, r in enumerate(rows, 1)]
    pop = [_number(r, "population", label, i, lambda v: v >= 0, "a number >= 0") for i, r in enumerate(rows, 1)]
    if sum(pop) <= 0:
        raise ScenarioError(label, "population", "all zero", "at least one grid with population > 0")
    if "area_km2" in rows[0]:
        area = [_number(r, "area_km2", label, i, lambda v: v > 0, "a number > 0") for i, r in enumerate(rows, 1)]
    else:
        area = [land_area_km2 / len(rows)] * len(rows)
    if len(set(zip(x, y))) < len(rows):
        raise ScenarioError(label, "x_km, y_km", "two grids at the same point", "distinct grid centroids")
    return GridTable(tuple(r["grid"] for r in rows), tuple(x), tuple(y), tuple(pop), tuple(area))


def parse_posts(text: str, label: str) -> PostTable:
    """The police posts table's text."""
    rows = _rows(text, label, POST_COLUMNS, ())
    _unique([r["unit"] for r in rows], label, "unit")
    x = [_number(r, "x_km", label, i) for i, r in enumerate(rows, 1)]
    y = [_number(r, "y_km", label, i) for i, r in enumerate(rows, 1)]
    sc = [_number(r, "subcenter", label, i, lambda v: v >= 0 and v.is_integer(), "a sub-center id (integer >= 0)")
          for i, r in enumerate(rows, 1)]
    return PostTable(tuple(r["unit"] for r in rows), tuple(x), tuple(y), tuple(int(v) for v in sc))


def _read(name: str, key: str, origin: dict, folders: dict, scenario_label: str) -> tuple[str, str, DataFile]:
    """A table named by `key`, found relative to the file that set the key (else a built-in)."""
    set_by = origin.get(key, scenario_label)
    path = locate_divisions(name, Path(folders.get(set_by, ".")))
    if path is None:
        raise ScenarioError(set_by, key, "table not found", "a CSV path, relative to the scenario file", name, True)
    text = read_text(path, str(path), "a CSV table")
    return text, str(path), DataFile(key, str(path.resolve()), hashlib.sha256(text.encode("utf-8")).hexdigest())


def load_layout(spec: Sections, divisions: tuple[Division, ...], origin: dict, folders: dict,
                scenario_label: str) -> tuple[Layout | None, tuple[DataFile, ...]]:
    """The scenario's explicit layout (None when `city.grids_file` is empty) and the files read.

    The keys themselves are checked in gridsim.scenario.validate (one division, one
    sub-center, counts matching the tables); this reads the tables and checks their rows and
    that every post is a known sub-center's, inside the city.
    """
    grids_file, posts_file = spec.city.grids_file, spec.staff.police_posts_file
    if not grids_file:
        return None, ()
    text, label, grid_src = _read(grids_file, GRIDS_KEY, origin, folders, scenario_label)
    grids = parse_grids(text, label, sum(d.land_area_km2 for d in divisions))
    files = [grid_src]
    posts = None
    if posts_file:
        text, label, post_src = _read(posts_file, POSTS_KEY, origin, folders, scenario_label)
        posts = parse_posts(text, label)
        files.append(post_src)
    layout = Layout(grids, posts)
    _check_layout(layout, spec, origin, scenario_label, label if posts else "")
    return layout, tuple(files)


def _check_layout(layout: Layout, spec: Sections, origin: dict, scenario_label: str, posts_label: str) -> None:
    def err(key: str, problem: str, allowed: str, value) -> ScenarioError:
        return ScenarioError(origin.get(key, scenario_label), key, problem, allowed, value, True)

    n_grids = len(layout.grids.names)
    if spec.city.grids != n_grids:
        raise err("city.grids", f"city.grids_file has {n_grids} grids", f"city.grids = {n_grids}", spec.city.grids)
    posts = layout.posts
    if posts is None:
        return
    if spec.staff.police_units != len(posts.units):
        raise err("staff.police_units", f"staff.police_posts_file has {len(posts.units)} posts",
                  f"staff.police_units = {len(posts.units)}", spec.staff.police_units)
    x0, x1, y0, y1 = layout.extent()
    for i, (u, x, y, s) in enumerate(zip(posts.units, posts.x_km, posts.y_km, posts.subcenter), start=1):
        if s >= spec.city.subcenters:
            raise ScenarioError(posts_label, f"data row {i} ({u}) subcenter", "unknown sub-center",
                                f"ids 0 to {spec.city.subcenters - 1} (city.subcenters = {spec.city.subcenters})",
                                s, True)
        if not (x0 <= x <= x1 and y0 <= y <= y1):
            raise ScenarioError(posts_label, f"data row {i} ({u}) x_km, y_km", f"post at ({x:g}, {y:g}) is "
                                "outside the city", f"x_km in [{x0:.3f}, {x1:.3f}] and y_km in [{y0:.3f}, {y1:.3f}] "
                                "(the grids' extent)")
