"""The live page's figures, drawn from a `Snapshot`: the city map, the live ECDFs against the
targets, and queues and utilisation by role over time.

Small, fast figures (an hour of simulated time must render within 2 s on two cores): grids
are one scatter layer, responders two more, no rasters. Figures are built outside pyplot
(`gridsim.viz.style.new_figure`), so nothing global is touched and they are garbage-collected.
"""

from __future__ import annotations

from typing import Callable

import matplotlib
import numpy as np
from matplotlib.figure import Figure

from gridsim.city import City
from gridsim.domain import BUILT, NOT_STARTED, ROLE_LABEL, ROLES, STAGES, STATUS_NAMES, UNDER_CONSTRUCTION, stage_label
from gridsim.viz.dashboard.live import Snapshot, StageLive, clock_text
from gridsim.viz.style import PALETTE, ROLE_COLOR, STYLE

DPI = 72
BUSY_COLOR = "#d62728"
IDLE_COLOR = "#1f4e9c"
WORKER_COLOR = "#e08214"
STATUS_MARKER = {BUILT: ("s", "black", "black"), UNDER_CONSTRUCTION: ("s", "none", "black"),
                 NOT_STARTED: ("x", "black", "black")}


def plain_figure(w: float, h: float) -> Figure:
    """A figure with axes placed by hand: constrained layout would cost half the render time."""
    return Figure(figsize=(w, h), dpi=DPI)


# ============================================================================== grid metrics

def _events_per_grid(snap: Snapshot, city: City) -> tuple[np.ndarray, str]:
    g = snap.events["grid_id"].to_numpy()
    return np.bincount(g, minlength=city.n_grids).astype(float), "events so far per grid"


def _open_per_grid(snap: Snapshot, city: City) -> tuple[np.ndarray, str]:
    ev = snap.events
    g = ev["grid_id"].to_numpy()[ev["open"].to_numpy()]
    return np.bincount(g, minlength=city.n_grids).astype(float), "events open now per grid"


def _stage_share_by_subcenter(stage: str) -> Callable[[Snapshot, City], tuple[np.ndarray, str]]:
    """Share met per sub-center territory (grids alone have too few events early in a run)."""
    def metric(snap: Snapshot, city: City) -> tuple[np.ndarray, str]:
        live = snap.stages[stage]
        ids = snap.events["event_id"].to_numpy()
        sc_of_event = snap.events["subcenter_id"].to_numpy()
        judged = live.event_ids
        sc = sc_of_event[np.searchsorted(ids, judged)]
        n = np.bincount(sc, minlength=city.n_subcenters)
        k = np.bincount(sc, weights=live.met_mask, minlength=city.n_subcenters)
        with np.errstate(invalid="ignore", divide="ignore"):
            share = np.where(n > 0, k / np.maximum(n, 1), np.nan)
        return share[city.grid_sc], f"share {stage_label(stage, {STAGES[stage].target_key: live.limit_min})} (by sub-center)"
    return metric


GRID_METRICS: dict[str, Callable[[Snapshot, City], tuple[np.ndarray, str]]] = {
    "events so far": _events_per_grid,
    "open events": _open_per_grid,
    "respond within target": _stage_share_by_subcenter("respond"),
    "on scene within target": _stage_share_by_subcenter("on_scene"),
}
"""Map colourings the page offers (label -> per-grid values and a colour-bar label)."""


# ============================================================================== the map

def draw_outlines(ax, city: City) -> bool:
    """Division outlines and lakes when the city has real geography; False when it has none."""
    if city.outlines is None:
        return False
    for rings in city.outlines.land:
        for ring in rings:
            ax.plot(ring[:, 0], ring[:, 1], color="#555555", lw=0.6, zorder=1)
    for ring in city.outlines.water:
        ax.fill(ring[:, 0], ring[:, 1], color="#cfe3f3", lw=0, zorder=0)
    return True


def city_map(snap: Snapshot, city: City, metric: str) -> Figure:
    """Grids coloured by a metric, sub-centers by build status, police units (busy in red)
    and busy grid workers, at the snapshot's clock."""
    values, label = GRID_METRICS[metric](snap, city)
    with matplotlib.rc_context(STYLE):
        fig = plain_figure(6.4, 5.0)
        ax = fig.add_axes((0.1, 0.08, 0.72, 0.86))
        drawn = draw_outlines(ax, city)
        share = "share" in label
        cmap = matplotlib.colormaps["RdYlGn" if share else "viridis"].with_extremes(bad="#dddddd")
        vmax = 1.0 if share else max(1.0, float(np.nanmax(values)) if np.isfinite(values).any() else 1.0)
        sc = ax.scatter(city.grid_x, city.grid_y, c=np.ma.masked_invalid(values), s=2.5, cmap=cmap,
                        vmin=0.0, vmax=vmax, linewidths=0, zorder=2)
        cb = fig.colorbar(sc, cax=fig.add_axes((0.86, 0.2, 0.025, 0.6)))
        cb.set_label(label)
        if share:
            cb.formatter = matplotlib.ticker.PercentFormatter(1.0, decimals=0)
        for status, (marker, face, edge) in STATUS_MARKER.items():
            m = city.sc_status == status
            if m.any():
                ax.scatter(city.sc_x[m], city.sc_y[m], marker=marker, s=22, facecolors=face, edgecolors=edge,
                           linewidths=0.8, zorder=4, label=f"sub-center {STATUS_NAMES[status]}")
        xy, busy = snap.police_xy, snap.police_busy
        if len(xy):
            ax.scatter(xy[~busy, 0], xy[~busy, 1], s=3, color=IDLE_COLOR, zorder=3, label="police unit idle")
            ax.scatter(xy[busy, 0], xy[busy, 1], s=5, color=BUSY_COLOR, zorder=5, label="police unit busy")
        w = snap.workers_busy_xy
        ax.scatter(w[:, 0], w[:, 1], s=1.2, color=WORKER_COLOR, alpha=0.6, zorder=5, label="grid worker busy")
        ax.set_aspect("equal")
        ax.set_xlabel("km east")
        ax.set_ylabel("km north")
        ax.grid(False)
        ax.set_title(f"{clock_text(snap.clock_min)}: {metric}" + ("" if drawn else " (no division outlines)"))
        ax.legend(loc="lower left", fontsize=7, markerscale=2, frameon=True, framealpha=0.8)
    return fig


# ============================================================================== ECDFs

def ecdf_points(elapsed: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Step points of the empirical CDF; events not reached (inf) keep the curve below 100 %."""
    n = elapsed.size
    x = np.sort(elapsed[np.isfinite(elapsed)])
    return x, np.arange(1, x.size + 1) / max(n, 1)


def share_text(live: StageLive) -> str:
    """'93.4% met [92.1%, 94.5%], n = 1,802'"""
    if live.n == 0:
        return "none decided yet"
    lo, hi = live.interval
    return f"{100 * live.share:.1f}% met [{100 * lo:.1f}%, {100 * hi:.1f}%], n = {live.n:,}"


def live_ecdfs(snap: Snapshot) -> Figure:
    """Share of decided events reached within x minutes, one curve per target stage, each
    target as a dashed line of the curve's colour; the legend gives share met and interval."""
    with matplotlib.rc_context(STYLE):
        fig = plain_figure(6.4, 4.4)
        ax = fig.add_axes((0.1, 0.12, 0.86, 0.78))
        xmax = 60.0
        for i, (stage, live) in enumerate(snap.stages.items()):
            color = PALETTE[i]
            x, y = ecdf_points(live.elapsed)
            label = f"{stage_label(stage, {STAGES[stage].target_key: live.limit_min})}: {share_text(live)}"
            if x.size:
                ax.step(np.r_[0.0, x, xmax], np.r_[0.0, y, y[-1]], where="post", color=color, lw=1.5, label=label)
            else:
                ax.plot([], [], color=color, label=label)
            ax.axvline(live.limit_min, color=color, ls="--", lw=1)
        ax.set_xlim(0, xmax)
        ax.set_ylim(0, 1.02)
        ax.yaxis.set_major_formatter(matplotlib.ticker.PercentFormatter(1.0, decimals=0))
        ax.set_xlabel("minutes from the call")
        ax.set_ylabel("share reached")
        ax.legend(fontsize=7.5, loc="lower right")
        ax.set_title(f"Response times so far ({clock_text(snap.clock_min)}), decided events; dashed: targets",
                     fontsize=9.5)
    return fig


# ============================================================================== queues and utilisation

def queues_and_utilisation(snap: Snapshot) -> Figure:
    """Tasks waiting (police, grid) and busy share by role, one point per simulated hour."""
    h = snap.hourly
    with matplotlib.rc_context(STYLE):
        fig = plain_figure(6.4, 4.4)
        fig.subplots_adjust(left=0.11, right=0.97, top=0.9, bottom=0.11, hspace=0.12)
        ax_q, ax_u = fig.subplots(2, 1, sharex=True)
        ax_q.plot(h["hour"], h["police_queue"], color=ROLE_COLOR["police"], marker=".", label="police tasks waiting")
        ax_q.plot(h["hour"], h["grid_queue"], color=ROLE_COLOR["fulltime"], marker=".", label="grid tasks waiting")
        ax_q.set_ylabel("tasks waiting")
        ax_q.legend(fontsize=7.5, loc="upper left")
        for role in ROLES:
            ax_u.plot(h["hour"], h[f"util.{role}"], color=ROLE_COLOR[role], marker=".", label=ROLE_LABEL[role])
        ax_u.set_ylim(0, 1.02)
        ax_u.yaxis.set_major_formatter(matplotlib.ticker.PercentFormatter(1.0, decimals=0))
        ax_u.set_ylabel("busy share (on duty)")
        ax_u.set_xlabel("simulated hour")
        ax_u.set_xlim(0, max(1.0, snap.horizon_min / 60.0))
        ax_u.legend(fontsize=7, loc="upper left", ncol=2)
        fig.suptitle(f"Queues and utilisation by role, hourly ({clock_text(snap.clock_min)})", fontsize=10)
    return fig
