"""The real division outlines on a map: land, Lake Tai, labels, sub-centers by build status.

`draw_outlines(ax, city)` is the one call any map makes to put Suzhou under its data (a city
built without outlines, `city.outlines_file = ""`, gets nothing drawn and False back, so the
caller keeps its own boundaries). `siting_map` is the `gridsim site` figure.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
from matplotlib import patheffects
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import PathPatch
from matplotlib.path import Path as MplPath

from gridsim.domain import BUILT, NOT_STARTED, STATUS_NAMES, UNDER_CONSTRUCTION
from gridsim.viz.style import new_figure, suptitle

LAND_RGBA = (0.97, 0.96, 0.93, 1.0)
WATER_RGBA = (0.78, 0.87, 0.95, 1.0)
EDGE_RGBA = (0.2, 0.2, 0.2, 1.0)
SC_MARKERS = {  # status -> scatter style (matches the markers of viz.maps)
    BUILT: dict(marker="^", c="black", edgecolors="white", linewidths=0.7),
    UNDER_CONSTRUCTION: dict(marker="^", facecolors="white", edgecolors="black", linewidths=1.2),
    NOT_STARTED: dict(marker="^", c="#d00000", edgecolors="white", linewidths=0.7),
}


def _patch(rings: Sequence[np.ndarray], **style) -> PathPatch:
    """One patch of several rings; the even-odd fill makes inner rings holes."""
    verts, codes = [], []
    for r in rings:
        verts.extend(r.tolist() + [r[0].tolist()])
        codes.extend([MplPath.MOVETO] + [MplPath.LINETO] * (len(r) - 1) + [MplPath.CLOSEPOLY])
    return PathPatch(MplPath(np.array(verts), codes), **style)


def draw_outlines(ax, city: Any, labels: bool = True, fill: bool = True, subcenters: bool = True,
                  zorder: float = 1.0) -> bool:
    """Division outlines (labelled at their reference points), the lake, and the sub-centers by
    build status, on axes in the city's km. Returns False (nothing drawn) for a city without
    outlines. `fill=False` draws only edges and water, over a raster already on the axes."""
    out = getattr(city, "outlines", None)
    if out is None:
        return False
    for rings in out.land:
        ax.add_patch(_patch(rings, facecolor=LAND_RGBA if fill else "none", edgecolor=EDGE_RGBA,
                            linewidth=0.9, zorder=zorder + (0 if fill else 4)))
    for ring in out.water:
        ax.add_patch(_patch([ring], facecolor=WATER_RGBA, edgecolor=(0.45, 0.6, 0.75, 1.0), linewidth=0.6,
                            zorder=zorder + 0.5))
    if subcenters:
        for status, style in SC_MARKERS.items():
            sel = city.sc_status == status
            if sel.any():
                ax.scatter(city.sc_x[sel], city.sc_y[sel], s=55, zorder=zorder + 6, **style)
    if labels:
        for d, name in enumerate(out.names):
            ax.text(float(city.div_x[d]), float(city.div_y[d]) + 2.5, name, ha="center", va="bottom",
                    fontsize=9.5, fontweight="bold", color="#111111", zorder=zorder + 8,
                    path_effects=[patheffects.withStroke(linewidth=3.0, foreground="white")])
    allp = np.vstack([r for rings in out.land for r in rings])
    pad = 3.0
    ax.set_xlim(allp[:, 0].min() - pad, allp[:, 0].max() + pad)
    ax.set_ylim(allp[:, 1].min() - pad, allp[:, 1].max() + pad)
    ax.set_aspect("equal")
    ax.set_xlabel("km east")
    ax.set_ylabel("km north")
    return True


def subcenter_legend(city: Any) -> list[Line2D]:
    """Legend handles for the sub-center markers, with counts."""
    out = []
    for status, style in SC_MARKERS.items():
        n = int(np.sum(city.sc_status == status))
        if n:
            face = style.get("c", style.get("facecolors"))
            out.append(Line2D([], [], ls="none", marker="^", mfc=face, mec=style["edgecolors"], ms=8,
                              label=f"sub-center {STATUS_NAMES[status]} ({n})"))
    return out


def siting_map(city: Any, chosen: Sequence[int], covered: np.ndarray, coverage_min: float,
               context: str = "") -> Figure:
    """The siting answer: grids coloured by whether they are covered within T after the
    choice, the chosen sub-centers ringed and numbered in the greedy order."""
    fig = new_figure(9.5, 10.5)
    ax = fig.add_subplot(1, 1, 1)
    draw_outlines(ax, city, subcenters=True)
    cov = np.asarray(covered, dtype=bool)
    ax.scatter(city.grid_x[~cov], city.grid_y[~cov], s=2.5, c="#d8a05a", linewidths=0, zorder=3)
    ax.scatter(city.grid_x[cov], city.grid_y[cov], s=2.5, c="#3b7dbf", linewidths=0, zorder=3)
    for k, s in enumerate(chosen, start=1):
        ax.scatter([city.sc_x[s]], [city.sc_y[s]], s=260, facecolors="none", edgecolors="#c62828",
                   linewidths=2.0, zorder=9)
        ax.text(float(city.sc_x[s]) + 1.6, float(city.sc_y[s]) + 1.2, str(k), color="#c62828", fontsize=9,
                fontweight="bold", zorder=10, path_effects=[patheffects.withStroke(linewidth=2.5, foreground="white")])
    handles = subcenter_legend(city) + [
        Line2D([], [], ls="none", marker="o", mfc="none", mec="#c62828", mew=2, ms=12,
               label=f"chosen to finish ({len(chosen)})"),
        Line2D([], [], ls="none", marker="s", color="#3b7dbf", ms=6, label=f"grid covered within {coverage_min:g} min"),
        Line2D([], [], ls="none", marker="s", color="#d8a05a", ms=6, label="grid not covered"),
    ]
    ax.legend(handles=handles, loc="lower right", fontsize=8.5, framealpha=0.92)
    suptitle(fig, f"Which sub-centers to finish: {len(chosen)} chosen for coverage within {coverage_min:g} min",
             context)
    return fig
