"""One look for every figure, and the way figures reach the disk.

Figures are built with `new_figure` inside `matplotlib.rc_context(STYLE)`; nothing touches
pyplot's global state, so figures are garbage-collected and the Agg renderer draws them.
`save_figure` writes through `gridsim.results.io.atomic_write_with` (a reader never sees half
a file) and without matplotlib's version/URL metadata (reports stay free of external links).
"""

from __future__ import annotations

import base64
import io
import math
from pathlib import Path

import matplotlib
from matplotlib.figure import Figure
from matplotlib.ticker import PercentFormatter

from gridsim.results.io import atomic_write_with

PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22",
           "#7f7f7f", "#d62728"]
ROLE_COLOR = {"police": "#1f4e9c", "fulltime": "#2a9d3f", "leader": "#e08214", "parttime": "#8e5db5"}
SOURCE_COLOR = {"110": "#1f4e9c", "12345": "#e08214", "grid": "#2a9d3f"}
TARGET_COLOR = "#c62828"
REQUIRED_COLOR = "#6a1b9a"
"""The required share (a horizontal line on share axes, the centre of diverging map scales)."""
STATUS_COLOR = {"met": "#1b7837", "missed": "#c51b7d", "uncertain": "#e08214", "too few to judge": "#8c8c8c"}
"""One colour per verdict of gridsim.analysis.metrics.judge (colour-blind-safe green / magenta)."""
REF_COLOR = "#555555"
NOTE_COLOR = "#444444"
STYLE = {
    "font.size": 9.5,
    "axes.titlesize": 10.5,
    "axes.titleweight": "bold",
    "axes.labelsize": 9.5,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.color": "#e3e3e3",
    "grid.linewidth": 0.7,
    "axes.axisbelow": True,
    "legend.frameon": False,
    "legend.fontsize": 8.5,
    "figure.titlesize": 12.5,
    "figure.titleweight": "bold",
    "xtick.labelsize": 8.5,
    "ytick.labelsize": 8.5,
    "axes.prop_cycle": matplotlib.cycler(color=PALETTE),
    "svg.fonttype": "none",
}
DPI = 130
REPORT_DPI = 110
FORMATS = ("png", "svg", "pdf")
_NO_METADATA = {"png": {"Software": None}, "svg": {"Date": None}, "pdf": {"Creator": None, "Producer": None}}


class NotApplicable(ValueError):
    """The figure kind does not apply to this directory's data."""


def new_figure(w: float, h: float) -> Figure:
    """A figure outside pyplot (inches), laid out by matplotlib's constrained layout."""
    return Figure(figsize=(w, h), layout="constrained")


def suptitle(fig: Figure, what: str, context: str) -> None:
    """Two-line title: what the figure shows, then which data (see labels.context)."""
    fig.suptitle(f"{what}\n{context}", fontsize=12)


def pct_axis(ax, axis: str = "y") -> None:
    fmt = PercentFormatter(1.0, decimals=0)
    (ax.yaxis if axis == "y" else ax.xaxis).set_major_formatter(fmt)


def no_data(ax, text: str = "no events judged") -> None:
    ax.text(0.5, 0.5, text, transform=ax.transAxes, ha="center", va="center", color="#888888", fontsize=10)


def nice_ceil(x: float, step: float = 5.0) -> float:
    """The next multiple of `step` at or above x (axis limits)."""
    return step * math.ceil(x / step - 1e-9)


def save_figure(fig: Figure, path: str | Path, fmt: str | None = None) -> Path:
    """Write a figure atomically, without matplotlib's version/URL metadata."""
    path = Path(path)
    fmt = fmt or path.suffix.lstrip(".")
    path.parent.mkdir(parents=True, exist_ok=True)
    return atomic_write_with(path, lambda tmp: fig.savefig(tmp, format=fmt, dpi=DPI, metadata=_NO_METADATA.get(fmt)))


def png_data_uri(fig: Figure, dpi: int = REPORT_DPI) -> str:
    """A figure as a base64 PNG data URI (no metadata: no version strings or URLs inside)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, metadata=_NO_METADATA["png"])
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")
