"""The synthetic city: divisions -> sub-centers -> workstations -> grids, staff, and the graph.

Everything the simulation's hot path needs is precomputed here into flat numpy arrays
(parents, neighbour lists, nearest sub-centers, checkpoints), so that no event ever runs a
graph search. `City.graph()` gives the same hierarchy and adjacency as a networkx graph,
built only when asked for (analysis and tests; the simulation never needs it).

Geometry, with real outlines (`city.outlines_file`, the baseline): coordinates are km on an
equal-area projection (gridsim.geography); grid centroids are drawn from a Clark exponential
density around each division's reference point (dense core, rural rim), kept only where they
fall on the division's land (its outline less Lake Tai), so no grid sits in the lake or in a
neighbour. Without outlines (`city.outlines_file = ""`) each division is a disc of its land
area around its reference point, cut by the multiplicatively weighted Voronoi cells so discs
do not overlap (the model before real geography, kept for other division tables). Grids hold
about equal populations, so dense areas get many small grids.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import networkx as nx
import numpy as np
from scipy.spatial import Delaunay, cKDTree

from gridsim.domain import BUILT, NOT_STARTED, UNDER_CONSTRUCTION
from gridsim.geography import OUTLINES_KEY, Outlines, Projection, load_outlines
from gridsim.scenario import Allocation, Division, Scenario, ScenarioError, Staff
from gridsim.scenario.divisions import locate_divisions

KM_PER_DEG_LAT = 110.57          # geodesy constant (WGS84 near 31 N), not a modelling choice
KM_PER_DEG_LON_EQUATOR = 111.32



@dataclass
class City:
    """A built city: flat arrays indexed by grid / workstation / sub-center / division id."""

    division_names: list[str]
    div_x: np.ndarray
    div_y: np.ndarray
    div_radius: np.ndarray
    div_area: np.ndarray
    div_population: np.ndarray
    div_population_estimated: np.ndarray
    # sub-centers
    sc_div: np.ndarray
    sc_x: np.ndarray
    sc_y: np.ndarray
    sc_status: np.ndarray
    sc_police_units: np.ndarray
    sc_neighbours: np.ndarray          # (S, K) nearest other sub-centers by office distance, -1 pad
    # workstations
    ws_sc: np.ndarray
    ws_x: np.ndarray
    ws_y: np.ndarray
    ws_status: np.ndarray
    # grids
    grid_ws: np.ndarray
    grid_sc: np.ndarray
    grid_div: np.ndarray
    grid_x: np.ndarray
    grid_y: np.ndarray
    grid_population: np.ndarray
    grid_households: np.ndarray
    grid_area: np.ndarray
    grid_urban: np.ndarray
    grid_leaders: np.ndarray
    grid_fulltime: np.ndarray
    grid_parttime: np.ndarray
    # adjacency (CSR, sorted by distance): neighbours of grid g are nbr_idx[nbr_ptr[g]:nbr_ptr[g+1]]
    nbr_ptr: np.ndarray
    nbr_idx: np.ndarray
    nbr_km: np.ndarray
    # cordon checkpoints
    detour_factor: float
    _tree: cKDTree = field(repr=False, default=None)
    police_post_xy: np.ndarray | None = None  # (units, 2) km: posts given by staff.police_posts_file, else drawn
    div_land_area: np.ndarray | None = None   # km2 the grids cover (measured outline land, or the table's)
    outlines: Outlines | None = None          # real boundaries in km, when the scenario has them

    @property
    def n_grids(self) -> int:
        return len(self.grid_x)

    @property
    def n_workstations(self) -> int:
        return len(self.ws_x)

    @property
    def n_subcenters(self) -> int:
        return len(self.sc_x)

    def grid_of(self, x: float, y: float) -> int:
        """The grid whose centroid is nearest to a point (km)."""
        return int(self._tree.query((x, y))[1])

    def graph(self) -> nx.Graph:
        """The hierarchy and grid adjacency as a networkx graph (built on each call: the
        simulation reads the flat arrays, so no build pays for a graph nothing uses)."""
        return build_graph(self)

    def neighbours(self, g: int) -> np.ndarray:
        """Adjacent grids of grid g (Delaunay neighbours), nearest first."""
        return self.nbr_idx[self.nbr_ptr[g]:self.nbr_ptr[g + 1]]

    def road_km(self, x0: float, y0: float, x1: float, y1: float) -> float:
        """Road distance: straight line times the scenario's detour factor."""
        return math.hypot(x1 - x0, y1 - y0) * self.detour_factor

    def division_table(self) -> list[dict]:
        """Per-division counts (the `gridsim city` table), plus a 'Total' row."""
        rows = []
        for d, name in enumerate(self.division_names):
            sc = self.sc_div == d
            ws = sc[self.ws_sc]
            gr = self.grid_div == d
            rows.append(_row(name, self.sc_status[sc], self.ws_status[ws], gr.sum(),
                             self.grid_leaders[gr].sum(), self.grid_fulltime[gr].sum(),
                             self.grid_parttime[gr].sum(), self.sc_police_units[sc].sum(),
                             self.grid_population[gr].sum(), self.div_area[d],
                             bool(self.div_population_estimated[d])))
        rows.append(_row("Total", self.sc_status, self.ws_status, self.n_grids,
                         self.grid_leaders.sum(), self.grid_fulltime.sum(), self.grid_parttime.sum(),
                         self.sc_police_units.sum(), self.grid_population.sum(), self.div_area.sum(),
                         bool(self.div_population_estimated.any())))
        return rows


def _row(name, sc_status, ws_status, grids, leaders, ft, pt, police, pop, area, est) -> dict:
    return {
        "division": name,
        "subcenters_built": int((sc_status == BUILT).sum()),
        "subcenters_under_construction": int((sc_status == UNDER_CONSTRUCTION).sum()),
        "workstations_built": int((ws_status == BUILT).sum()),
        "workstations_under_construction": int((ws_status == UNDER_CONSTRUCTION).sum()),
        "workstations_not_started": int((ws_status == NOT_STARTED).sum()),
        "grids": int(grids),
        "grid_leaders": int(leaders),
        "fulltime_workers": int(ft),
        "parttime_workers": int(pt),
        "police_units": int(police),
        "population": int(round(float(pop))),
        "population_estimated": est,
        "area_km2": round(float(area), 2),
    }


# ----------------------------------------------------------------------------- helpers

def apportion(total: int, weights, minimum=0) -> np.ndarray:
    """Largest-remainder apportionment of `total` by `weights`, each share >= `minimum`.

    `minimum` may be a scalar or an array. Deterministic (ties broken by index).
    """
    w = np.asarray(weights, dtype=float)
    mins = np.broadcast_to(np.asarray(minimum, dtype=np.int64), w.shape).copy()
    if mins.sum() > total:
        raise ValueError(f"cannot apportion {total} with minimums summing to {mins.sum()}")
    fixed = np.zeros(len(w), dtype=bool)
    while True:
        free_total = total - mins[fixed].sum()
        ws = w[~fixed].sum()
        quotas = np.where(fixed, mins, free_total * w / ws if ws > 0 else 0)
        newly = (~fixed) & (quotas < mins)
        if not newly.any():
            break
        fixed |= newly
    out = np.where(fixed, mins, np.floor(quotas)).astype(np.int64)
    rest = total - out.sum()
    if rest > 0:
        rema = np.where(fixed, -1.0, quotas - np.floor(quotas))
        order = np.lexsort((np.arange(len(w)), -rema))
        out[order[:rest]] += 1
    return out


def rcb(idx: np.ndarray, xy: np.ndarray, k: int, sizes=None) -> list[np.ndarray]:
    """Recursive coordinate bisection of points `idx` into k contiguous parts.

    Parts have near-equal point counts (or the counts in `sizes`, which must sum to len(idx)),
    every part has at least one point, and parts are spatially compact.
    """
    n = len(idx)
    if sizes is None:
        base = apportion(n, np.ones(k), 1)
    else:
        base = np.asarray(sizes)
    if k == 1:
        return [idx]
    k1 = k // 2
    n1 = int(base[:k1].sum())
    pts = xy[idx]
    axis = 0 if np.ptp(pts[:, 0]) >= np.ptp(pts[:, 1]) else 1
    order = np.argsort(pts[:, axis], kind="stable")
    left, right = idx[order[:n1]], idx[order[n1:]]
    return rcb(left, xy, k1, base[:k1]) + rcb(right, xy, k - k1, base[k1:])


def _project(divs: list[Division]) -> tuple[np.ndarray, np.ndarray]:
    lat0 = np.mean([d.ref_lat for d in divs])
    lon0 = np.mean([d.ref_lon for d in divs])
    x = np.array([(d.ref_lon - lon0) * KM_PER_DEG_LON_EQUATOR * math.cos(math.radians(lat0)) for d in divs])
    y = np.array([(d.ref_lat - lat0) * KM_PER_DEG_LAT for d in divs])
    return x, y


def project_like_city(scenario: Scenario, city: "City", lat, lon) -> tuple[np.ndarray, np.ndarray]:
    """WGS84 points on the km plane `build_city` used for this scenario (equal-area with real
    outlines, the local equirectangular plane without), e.g. the cordon's exit checkpoints."""
    divs = scenario.divisions
    lat0, lon0 = float(np.mean([d.ref_lat for d in divs])), float(np.mean([d.ref_lon for d in divs]))
    lat, lon = np.asarray(lat, dtype=float), np.asarray(lon, dtype=float)
    if city.outlines is not None:
        return Projection(lat0, lon0)(lat, lon)
    return ((lon - lon0) * KM_PER_DEG_LON_EQUATOR * math.cos(math.radians(lat0)),
            (lat - lat0) * KM_PER_DEG_LAT)


def _sample_division_points(rng: np.random.Generator, d: int, n: int, cx, cy, radius, decay) -> np.ndarray:
    """n points of division d: Clark density around its centre, inside its weighted Voronoi cell."""
    out = np.empty((0, 2))
    b = decay * radius[d]
    tries = 0
    while len(out) < n:
        m = max(64, 3 * (n - len(out)))
        # radial density of a 2-D exponential: r ~ Gamma(2, b), truncated to the disc
        r = rng.gamma(2.0, b, size=m)
        r = r[r <= radius[d]]
        th = rng.uniform(0, 2 * math.pi, size=len(r))
        p = np.column_stack([cx[d] + r * np.cos(th), cy[d] + r * np.sin(th)])
        dist = np.hypot(p[:, None, 0] - cx[None, :], p[:, None, 1] - cy[None, :]) / radius[None, :]
        keep = np.argmin(dist, axis=1) == d
        if tries > 50:           # a division fully shadowed by others: fall back to its own disc
            keep[:] = True
        out = np.vstack([out, p[keep]])
        tries += 1
    return out[:n]


def _sample_in_outline(rng: np.random.Generator, n: int, cx: float, cy: float, decay_km: float,
                       outlines: Outlines, d: int) -> np.ndarray:
    """n points of division d: Clark density around (cx, cy), kept where they fall on its land.

    The density is not truncated at a radius: the outline bounds it, so long divisions
    (Wuzhong around the lake, Wujiang, Changshu) still get grids at their far ends, fewer of them.
    """
    out = np.empty((0, 2))
    for _ in range(200):
        m = max(256, 4 * (n - len(out)))
        r = rng.gamma(2.0, decay_km, size=m)
        th = rng.uniform(0, 2 * math.pi, size=m)
        p = np.column_stack([cx + r * np.cos(th), cy + r * np.sin(th)])
        out = np.vstack([out, p[outlines.contains(d, p)]])
        if len(out) >= n:
            return out[:n]
    raise ValueError(f"division {outlines.names[d]}: could not place {n} grids inside its outline")


def _on_land(x: float, y: float, outlines: Outlines, d: int) -> tuple[float, float]:
    """The point itself when on the division's land, else its nearest outline vertex (a
    reference point in the lake or just across a simplified border)."""
    if outlines.contains(d, np.array([[x, y]]))[0]:
        return x, y
    v = np.vstack(outlines.land[d])
    k = int(np.argmin(np.hypot(v[:, 0] - x, v[:, 1] - y)))
    return float(v[k, 0]), float(v[k, 1])


def _geography(scenario: Scenario) -> tuple[np.ndarray, np.ndarray, np.ndarray, Outlines | None]:
    """Division centres (km), land areas, and the outlines (None: discs, the old projection)."""
    divs = scenario.divisions
    name = scenario.city.outlines_file
    if not name:
        cx, cy = _project(divs)
        return cx, cy, np.array([d.land_area_km2 for d in divs]), None
    label = scenario.origin.get(OUTLINES_KEY, scenario.path)
    path = locate_divisions(name, Path(scenario.folders.get(label, ".")))
    if path is None:
        raise ScenarioError(label, OUTLINES_KEY, "boundary file not found",
                            "a GeoJSON path, relative to the scenario file or a built-in file, or \"\"",
                            name, True)
    proj = Projection(float(np.mean([d.ref_lat for d in divs])), float(np.mean([d.ref_lon for d in divs])))
    outlines = load_outlines(path, [d.name for d in divs], proj)
    x, y = proj(np.array([d.ref_lat for d in divs]), np.array([d.ref_lon for d in divs]))
    centres = np.array([_on_land(float(x[k]), float(y[k]), outlines, k) for k in range(len(divs))])
    return centres[:, 0].copy(), centres[:, 1].copy(), outlines.land_area_km2.copy(), outlines


def _office(members: np.ndarray, xy: np.ndarray, weight: np.ndarray) -> int:
    """The member grid nearest the weighted centre: an office inside the territory."""
    w = weight[members]
    c = (xy[members] * w[:, None]).sum(0) / w.sum()
    return int(members[np.argmin(np.hypot(*(xy[members] - c).T))])


# ----------------------------------------------------------------------------- build

def build_city(scenario: Scenario, seed_seq: np.random.SeedSequence | None = None) -> City:
    """Build the city of a scenario. Same scenario + seed -> identical city."""
    if scenario.layout is not None:          # explicit grids (city.grids_file): built as given
        return city_from_layout(scenario)
    c, s = scenario.city, scenario.staff
    if seed_seq is None:
        seed_seq = np.random.SeedSequence(scenario.run.seed)
    # The city has its own stream, derived from the root seed, independent of replications.
    rng = np.random.default_rng(np.random.SeedSequence(seed_seq.entropy, spawn_key=(0xC17,)))
    divs = scenario.divisions
    nd = len(divs)
    cx, cy, land, outlines = _geography(scenario)
    radius = np.sqrt(land / math.pi)
    pop20 = np.array([d.population_2020 for d in divs])
    pop = pop20 * c.population_total / pop20.sum()

    # --- how many of each unit per division
    sc_per_div = apportion(c.subcenters, [d.towns + d.streets for d in divs], 1)
    ws_per_div = apportion(c.workstations, pop, sc_per_div)
    grids_per_div = apportion(c.grids, pop, ws_per_div)

    # --- grid centroids, populations, areas
    xy_parts, gpop_parts, garea_parts, gdiv_parts = [], [], [], []
    for d in range(nd):
        n = int(grids_per_div[d])
        if outlines is None:
            pts = _sample_division_points(rng, d, n, cx, cy, radius, c.density_decay_fraction)
        else:
            pts = _sample_in_outline(rng, n, cx[d], cy[d], c.density_decay_fraction * radius[d], outlines, d)
        w = rng.lognormal(0.0, c.grid_population_sigma, size=n) if c.grid_population_sigma > 0 else np.ones(n)
        gpop = pop[d] * w / w.sum()
        # area ~ squared distance to the k-th nearest centroid (local spacing), scaled to the land area
        k = min(4, n - 1)
        if k >= 1:
            dk = cKDTree(pts).query(pts, k=k + 1)[0][:, -1]
            a = np.maximum(dk, 1e-3) ** 2
        else:
            a = np.ones(n)
        garea = land[d] * a / a.sum()
        xy_parts.append(pts), gpop_parts.append(gpop), garea_parts.append(garea)
        gdiv_parts.append(np.full(n, d))
    xy = np.vstack(xy_parts)
    grid_pop = np.concatenate(gpop_parts)
    grid_area = np.concatenate(garea_parts)
    grid_div = np.concatenate(gdiv_parts).astype(np.int32)
    G = len(grid_pop)

    # --- nested partition: division grids -> sub-centers -> workstations
    grid_sc = np.empty(G, dtype=np.int32)
    grid_ws = np.empty(G, dtype=np.int32)
    sc_div, ws_sc = [], []
    sc_id = ws_id = 0
    for d in range(nd):
        members = np.flatnonzero(grid_div == d)
        sc_parts = rcb(members, xy, int(sc_per_div[d]))
        ws_counts = apportion(int(ws_per_div[d]), [len(p) for p in sc_parts], 1)
        for part, nws in zip(sc_parts, ws_counts):
            nws = min(int(nws), len(part))
            grid_sc[part] = sc_id
            sc_div.append(d)
            for wpart in rcb(part, xy, nws):
                grid_ws[wpart] = ws_id
                ws_sc.append(sc_id)
                ws_id += 1
            sc_id += 1
    sc_div = np.array(sc_div, dtype=np.int32)
    ws_sc = np.array(ws_sc, dtype=np.int32)
    S, W = len(sc_div), len(ws_sc)
    if W != c.workstations:   # a sub-center with fewer grids than its workstation quota
        raise ValueError(f"built {W} workstations, expected {c.workstations}: too few grids per sub-center")

    sc_office = np.array([_office(np.flatnonzero(grid_sc == i), xy, grid_pop) for i in range(S)])
    ws_office = np.array([_office(np.flatnonzero(grid_ws == j), xy, grid_pop) for j in range(W)])

    # --- build status, drawn by the seed
    sc_status = np.full(S, UNDER_CONSTRUCTION, dtype=np.int8)
    sc_status[rng.permutation(S)[: c.subcenters_built]] = BUILT     # drawn even when ids are given:
    if c.subcenters_built_ids:                                       # the later draws stay the same
        sc_status[:] = UNDER_CONSTRUCTION
        sc_status[list(c.subcenters_built_ids)] = BUILT
    ws_status = np.full(W, NOT_STARTED, dtype=np.int8)
    perm = rng.permutation(W)
    ws_status[perm[: c.workstations_started]] = UNDER_CONSTRUCTION
    ws_status[perm[: c.workstations_built]] = BUILT

    # --- staff: one leader / full-time worker per grid while they last, extras to the most populous
    alloc = scenario.allocation
    unit_of_grid = {"division": grid_div, "subcenter": grid_sc}.get(alloc.per)
    leaders = _grid_staff(s.grid_leaders, alloc.grid_leaders, unit_of_grid, grid_pop, "one_each")
    fulltime = _grid_staff(s.fulltime_workers, alloc.fulltime_workers, unit_of_grid, grid_pop, "one_each")
    parttime = _grid_staff(s.parttime_workers, alloc.parttime_workers, unit_of_grid, grid_pop, "population")
    sc_pop = np.bincount(grid_sc, weights=grid_pop, minlength=S)
    police = _police_units(s, alloc, sc_div, sc_pop)

    # --- adjacency between neighbouring grids (Delaunay), nearest first
    nbr_ptr, nbr_idx, nbr_km = _delaunay_neighbours(xy, scenario.travel.detour_factor)

    # --- sub-center neighbours
    sc_xy = xy[sc_office]
    K = int(min(max(scenario.dispatch.police_neighbour_subcenters, 1), max(S - 1, 1)))
    sc_tree = cKDTree(sc_xy)
    if S > 1:
        sc_nb = sc_tree.query(sc_xy, k=K + 1)[1][:, 1:].reshape(S, K)
    else:
        sc_nb = np.full((1, 1), -1)

    density = grid_pop / grid_area
    city = City(
        division_names=[d.name for d in divs], div_x=cx, div_y=cy, div_radius=radius,
        div_area=np.array([d.area_km2 for d in divs]), div_population=pop,
        div_population_estimated=np.array([d.population_estimated for d in divs]),
        sc_div=sc_div, sc_x=sc_xy[:, 0].copy(), sc_y=sc_xy[:, 1].copy(), sc_status=sc_status,
        sc_police_units=police, sc_neighbours=sc_nb.astype(np.int32),
        ws_sc=ws_sc, ws_x=xy[ws_office, 0].copy(), ws_y=xy[ws_office, 1].copy(), ws_status=ws_status,
        grid_ws=grid_ws, grid_sc=grid_sc, grid_div=grid_div,
        grid_x=xy[:, 0].copy(), grid_y=xy[:, 1].copy(), grid_population=grid_pop,
        grid_households=grid_pop / c.persons_per_household, grid_area=grid_area,
        grid_urban=density >= c.urban_density_min_per_km2,
        grid_leaders=leaders, grid_fulltime=fulltime, grid_parttime=parttime,
        nbr_ptr=nbr_ptr, nbr_idx=nbr_idx, nbr_km=nbr_km,
        detour_factor=scenario.travel.detour_factor,
        div_land_area=land, outlines=outlines,
    )
    city._tree = cKDTree(xy)
    return city


def _grid_staff(total: int, per_unit: tuple[int, ...], unit_of_grid, grid_pop: np.ndarray, rule: str) -> np.ndarray:
    """Staff of one role per grid: city-wide, or within each unit when an allocation is given.

    rule "one_each": one per grid (most populous first) while they last, extras to the most
    populous grids; rule "population": in proportion to population.
    """
    G = len(grid_pop)
    if not per_unit or unit_of_grid is None:
        groups, totals = [np.arange(G)], [total]
    else:
        groups = [np.flatnonzero(unit_of_grid == u) for u in range(len(per_unit))]
        totals = per_unit
    out = np.zeros(G, dtype=np.int32)
    for members, n in zip(groups, totals):
        if len(members) == 0:
            continue
        if rule == "population":
            out[members] = apportion(int(n), grid_pop[members], 0)
        else:
            order = members[np.lexsort((members, -grid_pop[members]))]
            out[members] = 0
            out[order] = _one_each_then_most_populous(int(n), np.arange(len(order)), len(order))
    return out


def _police_units(staff: Staff, alloc: Allocation, sc_div: np.ndarray, sc_pop: np.ndarray) -> np.ndarray:
    """Patrol units per sub-center: by population with a minimum, or as allocated."""
    given = alloc.police_units
    if given and alloc.per == "subcenter":
        return np.asarray(given, dtype=np.int32)
    if given and alloc.per == "division":
        out = np.zeros(len(sc_pop), dtype=np.int32)
        for d, n in enumerate(given):
            members = np.flatnonzero(sc_div == d)
            out[members] = apportion(int(n), sc_pop[members], 0)
        return out
    return apportion(staff.police_units, sc_pop, staff.police_units_min_per_subcenter).astype(np.int32)


def _one_each_then_most_populous(total: int, by_pop: np.ndarray, G: int) -> np.ndarray:
    """One per grid (most populous first while they last), the extras to the most populous grids."""
    out = np.zeros(G, dtype=np.int32)
    base, extra = divmod(int(total), G)
    out += base
    out[by_pop[:extra]] += 1
    return out


def _delaunay_neighbours(xy: np.ndarray, detour: float):
    G = len(xy)
    if G == 1:
        return np.zeros(2, dtype=np.int64), np.zeros(0, dtype=np.int32), np.zeros(0)
    if G < 4:
        pairs = np.array([(i, j) for i in range(G) for j in range(G) if i != j])
    else:
        tri = Delaunay(xy)
        ptr, idx = tri.vertex_neighbor_vertices
        pairs = np.column_stack([np.repeat(np.arange(G), np.diff(ptr)), idx])
    km = np.hypot(*(xy[pairs[:, 0]] - xy[pairs[:, 1]]).T) * detour
    order = np.lexsort((pairs[:, 1], km, pairs[:, 0]))
    pairs, km = pairs[order], km[order]
    counts = np.bincount(pairs[:, 0], minlength=G)
    ptr = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    return ptr, pairs[:, 1].astype(np.int32), km


def build_graph(city: City) -> nx.Graph:
    """Hierarchy (city -> sub-centers -> workstations -> grids) plus grid adjacency, in km."""
    g = nx.Graph()
    det = city.detour_factor
    cxy = (float(np.mean(city.div_x)), float(np.mean(city.div_y)))
    g.add_node("city", kind="city", x=cxy[0], y=cxy[1])
    for i in range(city.n_subcenters):
        g.add_node(f"sc{i}", kind="subcenter", x=float(city.sc_x[i]), y=float(city.sc_y[i]),
                   division=city.division_names[city.sc_div[i]], status=int(city.sc_status[i]))
        g.add_edge("city", f"sc{i}", kind="hierarchy",
                   km=math.hypot(city.sc_x[i] - cxy[0], city.sc_y[i] - cxy[1]) * det)
    for j in range(city.n_workstations):
        p = int(city.ws_sc[j])
        g.add_node(f"ws{j}", kind="workstation", x=float(city.ws_x[j]), y=float(city.ws_y[j]),
                   status=int(city.ws_status[j]))
        g.add_edge(f"sc{p}", f"ws{j}", kind="hierarchy",
                   km=math.hypot(city.ws_x[j] - city.sc_x[p], city.ws_y[j] - city.sc_y[p]) * det)
    gx, gy, gws = city.grid_x, city.grid_y, city.grid_ws
    g.add_nodes_from((f"g{k}", {"kind": "grid", "x": float(gx[k]), "y": float(gy[k])}) for k in range(city.n_grids))
    g.add_edges_from((f"ws{gws[k]}", f"g{k}", {"kind": "hierarchy",
                      "km": math.hypot(gx[k] - city.ws_x[gws[k]], gy[k] - city.ws_y[gws[k]]) * det})
                     for k in range(city.n_grids))
    src = np.repeat(np.arange(city.n_grids), np.diff(city.nbr_ptr))
    g.add_edges_from((f"g{a}", f"g{b}", {"kind": "adjacent", "km": float(km)})
                     for a, b, km in zip(src, city.nbr_idx, city.nbr_km) if a < b)
    return g


def city_from_layout(scenario: Scenario) -> City:
    """The city of an explicit layout (gridsim.scenario.layout): the grids exactly as the table
    gives them, in one division with one sub-center and one workstation (validation checks
    the scenario asks for that), offices at the grid nearest the population-weighted centre,
    staff as [staff] says, and the table's police posts when it has them. Nothing is drawn."""
    c, s, lay = scenario.city, scenario.staff, scenario.layout
    g = lay.grids
    xy = np.column_stack([g.x_km, g.y_km]).astype(float)
    grid_pop = np.array(g.population, dtype=float)
    grid_area = np.array(g.area_km2, dtype=float)
    G = len(xy)
    zeros = np.zeros(G, dtype=np.int32)
    office = _office(np.arange(G), xy, np.maximum(grid_pop, 1e-12))
    centre = (xy * grid_pop[:, None]).sum(0) / grid_pop.sum()
    land = np.array([grid_area.sum()])
    one = np.zeros(1, dtype=np.int32)
    if lay.posts is not None:
        order = np.argsort(lay.posts.subcenter, kind="stable")      # units are numbered by sub-center
        posts = np.column_stack([lay.posts.x_km, lay.posts.y_km])[order].astype(float)
        police = np.bincount(lay.posts.subcenter, minlength=1).astype(np.int32)
    else:
        posts = None
        police = _police_units(s, scenario.allocation, one, np.array([grid_pop.sum()]))
    cx, cy = np.array([centre[0]]), np.array([centre[1]])
    nbr_ptr, nbr_idx, nbr_km = _delaunay_neighbours(xy, scenario.travel.detour_factor)
    d = scenario.divisions[0]
    city = City(
        division_names=[d.name], div_x=cx, div_y=cy, div_radius=np.sqrt(land / math.pi),
        div_area=np.array([d.area_km2]), div_population=np.array([grid_pop.sum()]),
        div_population_estimated=np.array([d.population_estimated]),
        sc_div=one, sc_x=xy[[office], 0].copy(), sc_y=xy[[office], 1].copy(),
        sc_status=np.full(1, BUILT, dtype=np.int8), sc_police_units=police,
        sc_neighbours=np.full((1, 1), -1, dtype=np.int32),
        ws_sc=one, ws_x=xy[[office], 0].copy(), ws_y=xy[[office], 1].copy(),
        ws_status=np.full(1, BUILT, dtype=np.int8),
        grid_ws=zeros, grid_sc=zeros, grid_div=zeros.copy(),
        grid_x=xy[:, 0].copy(), grid_y=xy[:, 1].copy(), grid_population=grid_pop,
        grid_households=grid_pop / c.persons_per_household, grid_area=grid_area,
        grid_urban=grid_pop / grid_area >= c.urban_density_min_per_km2,
        grid_leaders=_grid_staff(s.grid_leaders, (), None, grid_pop, "one_each"),
        grid_fulltime=_grid_staff(s.fulltime_workers, (), None, grid_pop, "one_each"),
        grid_parttime=_grid_staff(s.parttime_workers, (), None, grid_pop, "population"),
        nbr_ptr=nbr_ptr, nbr_idx=nbr_idx, nbr_km=nbr_km,
        detour_factor=scenario.travel.detour_factor,
        police_post_xy=posts, div_land_area=land,
    )
    city._tree = cKDTree(xy)
    return city
