"""Grid patrol loops and the latent hazards on them: geometry only, no simulation state.

Routes. Each grid's patrol route is a closed loop through `route_points` waypoints drawn
uniformly on the disc of the grid's area around its centre (grid_x, grid_y; radius
sqrt(grid_area / pi)), visited in nearest-neighbour order from the first point and closed back
to it; its length is L_g km. A patrolling worker walks the loop at walk_kmh, so its position at
minute t is the point at arc length (phase + walk_kmh / 60 * t) mod L_g, with a phase per worker
(drawn uniformly on [0, L_g)). Waypoints come from a dedicated generator: the same seed gives
the same routes.

Hazards. Latent hazards arise around the clock as a Poisson process: demand.hazards_per_100k_day
per 100,000 residents a day, split over the grid categories by their shares, placed in grids by
population x the category's urban_weight (urban grids), at a uniform point of the grid's disc; a
surge on source "grid" multiplies (or thins) the rate in its divisions and window.

Detection geometry. passes_per_loop(h) is the number of separate times the closed route enters
the disc of detection_radius around the hazard: 0 when the route never comes that close (patrols
never find it), 1 when the whole loop lies inside the disc. The agency
(gridsim.engine.agencies.grid_patrols) turns passes into discovery times.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from dataclasses import dataclass

import numpy as np

from gridsim.city import City
from gridsim.domain import GRID_ROLES, ROLES
from gridsim.scenario import Scenario


@dataclass(frozen=True)
class PatrolParams:
    """The [grid_patrol] keys of a scenario, in the units the engine uses (hazards themselves are
    demand: gridsim.engine.demand draws them with every other source's events)."""

    route_points: int
    walk_kmh: float
    detection_radius_km: float
    detection_prob: float
    patrol_share: tuple[float, ...]            # per role code (police 0): share of idle on-duty time on the route

    @classmethod
    def from_scenario(cls, spec: Scenario) -> "PatrolParams":
        gp = spec.grid_patrol
        return cls(
            route_points=int(gp.route_points), walk_kmh=float(gp.walk_kmh),
            detection_radius_km=float(gp.detection_radius_m) / 1000.0, detection_prob=float(gp.detection_prob),
            patrol_share=tuple(float(gp.patrol_share.get(r, 0.0)) if r in GRID_ROLES else 0.0 for r in ROLES))


class PatrolRoutes:
    """Every grid's closed patrol loop: waypoints (G, n + 1) with the first repeated at the end,
    cumulative arc length (G, n + 1) and loop length L (G,), km."""

    def __init__(self, wx: np.ndarray, wy: np.ndarray, walk_kmh: float):
        wx, wy = np.asarray(wx, float), np.asarray(wy, float)
        self.wx = np.concatenate([wx, wx[:, :1]], axis=1)       # closed: back to the first waypoint
        self.wy = np.concatenate([wy, wy[:, :1]], axis=1)
        seg = np.hypot(np.diff(self.wx, axis=1), np.diff(self.wy, axis=1))
        self.cum = np.concatenate([np.zeros((len(wx), 1)), np.cumsum(seg, axis=1)], axis=1)
        self.length = self.cum[:, -1].copy()
        self._seg_dx, self._seg_dy = np.diff(self.wx, axis=1), np.diff(self.wy, axis=1)
        self._seg_a = self._seg_dx ** 2 + self._seg_dy ** 2
        self.km_per_min = walk_kmh / 60.0
        self.stride = self.wx.shape[1]
        # flat Python lists: position() is called on the dispatch hot path
        self._x, self._y, self._cum = self.wx.ravel().tolist(), self.wy.ravel().tolist(), self.cum.ravel().tolist()
        self._len = self.length.tolist()

    def __len__(self) -> int:
        return len(self.length)

    def position(self, g: int, phase: float, t: float) -> tuple[float, float]:
        """Where a worker of grid g with this phase (km along the loop at t = 0) is at minute t."""
        L = self._len[g]
        base = g * self.stride
        if L <= 0.0:
            return self._x[base], self._y[base]
        s = (phase + self.km_per_min * t) % L
        cum = self._cum
        i = bisect_right(cum, s, base, base + self.stride - 1) - 1
        seg = cum[i + 1] - cum[i]
        f = (s - cum[i]) / seg if seg > 0.0 else 0.0
        x, y = self._x, self._y
        return x[i] + f * (x[i + 1] - x[i]), y[i] + f * (y[i + 1] - y[i])

    def positions(self, grids: np.ndarray, phases: np.ndarray, t: float) -> tuple[np.ndarray, np.ndarray]:
        """position() for many workers at once (same minute t)."""
        grids = np.asarray(grids, dtype=np.int64)
        L = self.length[grids]
        s = np.where(L > 0, np.mod(np.asarray(phases, float) + self.km_per_min * t, np.where(L > 0, L, 1.0)), 0.0)
        cum = self.cum[grids]
        i = np.clip((cum[:, 1:-1] <= s[:, None]).sum(axis=1), 0, self.stride - 2)
        rows = np.arange(len(grids))
        seg = cum[rows, i + 1] - cum[rows, i]
        f = np.where(seg > 0, (s - cum[rows, i]) / np.where(seg > 0, seg, 1.0), 0.0)
        wx, wy = self.wx[grids], self.wy[grids]
        return (wx[rows, i] + f * (wx[rows, i + 1] - wx[rows, i]),
                wy[rows, i] + f * (wy[rows, i + 1] - wy[rows, i]))

    def phases(self, rng: np.random.Generator, homes: np.ndarray) -> np.ndarray:
        """A phase per worker (home grid `homes[w]`): uniform on its loop."""
        return rng.random(len(homes)) * self.length[np.asarray(homes, dtype=np.int64)]

    def passes_per_loop(self, grids: np.ndarray, x: np.ndarray, y: np.ndarray, radius_km: float) -> np.ndarray:
        """Separate entries of each hazard's grid loop into the disc of radius_km around (x, y):
        0 = never that close; 1 when the whole loop is inside. Vectorised over hazards.

        Segment i (start S, vector D) is f(s) = |S + s D - H|^2 - r^2 = a s^2 + b s + c on [0, 1].
        It enters the disc when it starts outside (c > 0) and either ends inside (a + b + c <= 0)
        or dips in between (the closest point is inside the segment, 0 < -b < 2a, and within r:
        b^2 >= 4ac). No square roots; a segment meets a disc in one interval, so one entry at most."""
        grids = np.asarray(grids, dtype=np.int64)
        x, y = np.asarray(x, float), np.asarray(y, float)
        out = np.zeros(len(grids), dtype=np.int32)
        for lo in range(0, len(grids), 20_000):          # bounded memory: (chunk, n) arrays
            sl = slice(lo, lo + 20_000)
            out[sl] = self._passes(grids[sl], x[sl], y[sl], radius_km)
        return out

    def _passes(self, g: np.ndarray, hx: np.ndarray, hy: np.ndarray, rho: float) -> np.ndarray:
        dx, dy, a = self._seg_dx[g], self._seg_dy[g], self._seg_a[g]
        ex = self.wx[g, :-1] - hx[:, None]
        ey = self.wy[g, :-1] - hy[:, None]
        b = 2.0 * (dx * ex + dy * ey)
        c = ex * ex + ey * ey - rho * rho
        outside = c > 0.0
        dips = (b < 0.0) & (-b < 2.0 * a) & (b * b >= 4.0 * a * c)
        entries = (outside & ((a + b + c <= 0.0) | dips)).sum(axis=1)
        return np.where(outside.any(axis=1), entries, 1).astype(np.int32)     # all inside: one pass a loop


def build_routes(city: City, route_points: int, walk_kmh: float, rng: np.random.Generator) -> PatrolRoutes:
    """Each grid's loop: route_points uniform points on the grid's disc, nearest-neighbour order."""
    G, n = city.n_grids, int(route_points)
    radius = np.sqrt(np.asarray(city.grid_area, float) / np.pi)
    r = radius[:, None] * np.sqrt(rng.random((G, n)))
    th = rng.random((G, n)) * 2.0 * np.pi
    px = city.grid_x[:, None] + r * np.cos(th)
    py = city.grid_y[:, None] + r * np.sin(th)
    rows = np.arange(G)
    order = np.zeros((G, n), dtype=np.int64)
    visited = np.zeros((G, n), dtype=bool)
    visited[:, 0] = True
    cur = np.zeros(G, dtype=np.int64)
    for step in range(1, n):
        d = (px - px[rows, cur][:, None]) ** 2 + (py - py[rows, cur][:, None]) ** 2
        d[visited] = np.inf
        cur = d.argmin(axis=1)
        visited[rows, cur] = True
        order[:, step] = cur
    return PatrolRoutes(np.take_along_axis(px, order, 1), np.take_along_axis(py, order, 1), walk_kmh)


def exposure_needed(E: np.ndarray, passes: np.ndarray, loop_km: np.ndarray, walk_kmh: float,
                    detection_prob: float) -> np.ndarray:
    """Patrol worker-minutes (share-weighted) a hazard needs before a pass notices it:
    W = E x 60 L / (walk_kmh x passes x detection_prob), E ~ Exp(1); +inf when it cannot be seen."""
    rate = np.asarray(passes, float) * detection_prob * walk_kmh / 60.0
    with np.errstate(divide="ignore", invalid="ignore"):
        w = np.asarray(E, float) * np.asarray(loop_km, float) / rate
    return np.where((rate > 0) & (np.asarray(loop_km) > 0), w, math.inf)
