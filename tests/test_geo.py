"""Real geography: the equal-area projection, point in polygon, the shipped outlines, the
boundary-file errors, and grids placed on the land of their own division."""

import json
import math

import numpy as np
import pytest

from gridsim.city import build_city
from gridsim.geography import Projection, load_outlines, points_in_rings, ring_area
from gridsim.scenario import ScenarioError, load_scenario

YEARBOOK = {"Gusu": 83.42, "Xiangcheng": 489.96, "Huqiu": 332.37, "SIP": 278.19, "Wujiang": 1237.44,
            "Changshu": 1276.32, "Zhangjiagang": 986.73, "Kunshan": 931.51, "Taicang": 809.93,
            "Wuzhong": 2231.46}


def _ellipsoid_band_area(lat1, lat2, dlon_deg):
    """Exact area (km2) of a lat/lon box on the WGS84 ellipsoid (authalic formula)."""
    from gridsim.geography import _QP, _q, AUTHALIC_RADIUS_KM
    q1, q2 = _q(np.sin(np.radians(lat1))), _q(np.sin(np.radians(lat2)))
    return AUTHALIC_RADIUS_KM ** 2 * math.radians(dlon_deg) * (q2 - q1) / _QP


def test_projection_is_equal_area():
    proj = Projection(31.4, 120.7)
    lat = np.concatenate([np.full(200, 30.8), np.linspace(30.8, 32.0, 200), np.full(200, 32.0),
                          np.linspace(32.0, 30.8, 200)])
    lon = np.concatenate([np.linspace(120.0, 121.3, 200), np.full(200, 121.3), np.linspace(121.3, 120.0, 200),
                          np.full(200, 120.0)])
    x, y = proj(lat, lon)
    exact = _ellipsoid_band_area(30.8, 32.0, 1.3)
    assert ring_area(np.column_stack([x, y])) == pytest.approx(exact, rel=2e-4)
    assert proj(31.4, 120.7)[0] == pytest.approx(0.0, abs=1e-9)


def test_points_in_rings_even_odd():
    outer = np.array([[0, 0], [10, 0], [10, 10], [0, 10]], dtype=float)
    hole = np.array([[4, 4], [6, 4], [6, 6], [4, 6]], dtype=float)
    pts = np.array([[1, 1], [5, 5], [11, 5], [9.9, 9.9]])
    assert points_in_rings(pts, [outer, hole]).tolist() == [True, False, False, True]


def test_shipped_outlines_match_the_yearbook(baseline_city):
    c = baseline_city
    out = c.outlines
    assert out is not None and out.names == tuple(c.division_names)
    for d, name in enumerate(out.names):
        if name == "Wuzhong":          # outline holds most of its Lake Tai water; the SIP is carved out
            assert out.outline_area_km2[d] == pytest.approx(2231.46, rel=0.02)
            assert 550 < out.land_area_km2[d] < 800        # facts.md: land about 770
        elif name == "Huqiu":          # 337 km2 once its exclave is given to SIP (the adcode outline is 408)
            assert out.outline_area_km2[d] == pytest.approx(332.37, rel=0.02)
        else:
            assert out.outline_area_km2[d] == pytest.approx(YEARBOOK[name], rel=0.025)
    assert out.outline_area_km2[out.names.index("SIP")] == pytest.approx(278.19, abs=0.5)
    assert np.allclose(c.div_land_area, out.land_area_km2)
    assert len(out.water) >= 1


def test_grids_on_their_own_division_land_and_not_in_the_lake(baseline_city):
    c = baseline_city
    xy = np.column_stack([c.grid_x, c.grid_y])
    for d in range(len(c.division_names)):
        sel = c.grid_div == d
        assert c.outlines.contains(d, xy[sel]).all()
        others = [k for k in range(len(c.division_names)) if k != d]
        assert not any(c.outlines.contains(k, xy[sel]).any() for k in others)
    assert not points_in_rings(xy, list(c.outlines.water)).any()
    # densest around the seat: Gusu's grids are within its small outline, Wujiang's centre is denser than its rim
    wj = c.division_names.index("Wujiang")
    r = np.hypot(c.grid_x[c.grid_div == wj] - c.div_x[wj], c.grid_y[c.grid_div == wj] - c.div_y[wj])
    assert np.median(r) < 0.5 * r.max()


def test_grid_areas_sum_to_measured_land(baseline_city):
    c = baseline_city
    for d in range(len(c.division_names)):
        assert c.grid_area[c.grid_div == d].sum() == pytest.approx(c.div_land_area[d])


def test_no_outlines_gives_the_disc_city():
    s = load_scenario(None, ['city.outlines_file=""'])
    c = build_city(s)
    assert c.outlines is None and c.n_grids == 8820
    assert np.allclose(c.div_land_area, [d.land_area_km2 for d in s.divisions])


def _write(tmp_path, doc) -> str:
    p = tmp_path / "outlines.geojson"
    p.write_text(doc if isinstance(doc, str) else json.dumps(doc), encoding="utf-8")
    return str(p)


def _square(name, x0=120.5, y0=31.3, kind="division"):
    ring = [[x0, y0], [x0 + 0.1, y0], [x0 + 0.1, y0 + 0.1], [x0, y0 + 0.1], [x0, y0]]
    return {"type": "Feature", "properties": {"name": name, "kind": kind},
            "geometry": {"type": "Polygon", "coordinates": [ring]}}


@pytest.mark.parametrize("doc, message", [
    ("{not json", "not valid JSON"),
    ({"type": "FeatureCollection"}, "no 'features' list"),
    ({"features": [_square("A")]}, "no outline for division 'B'"),
    ({"features": [_square("A"), _square("B"), _square("Atlantis")]}, "unknown division 'Atlantis'"),
    ({"features": [_square("A"), {"type": "Feature", "properties": {"name": "B"},
                                  "geometry": {"type": "Point", "coordinates": [1, 2]}}]}, "not a Polygon"),
    ({"features": [_square("A"), {"type": "Feature", "properties": {"name": "B"},
                                  "geometry": {"type": "Polygon", "coordinates": [[[1, 2], [3]]]}}]}, "ring"),
])
def test_bad_boundary_files_fail_in_one_line(tmp_path, doc, message):
    with pytest.raises(ScenarioError) as exc:
        load_outlines(_write(tmp_path, doc), ["A", "B"], Projection(31.3, 120.5))
    assert message in str(exc.value) and "\n" not in str(exc.value)


def test_small_outline_file_builds(tmp_path):
    path = _write(tmp_path, {"features": [_square("A"), _square("B", 120.6), _square("Lake", 120.7, kind="water")]})
    out = load_outlines(path, ["A", "B"], Projection(31.35, 120.6))
    # a 0.1 x 0.1 degree square at 31.3 N: about 11.1 km x 9.5 km
    assert out.land_area_km2 == pytest.approx([105.6, 105.6], rel=0.01) and len(out.water) == 1
