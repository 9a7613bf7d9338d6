"""What every command shares: the usage error, scenario arguments, the output directory check,
number formatting and the table printer. Command modules import this, never `cli.main`."""

from __future__ import annotations

import argparse
import math
from pathlib import Path
from typing import Any, Callable, Sequence


class UsageError(Exception):
    """A bad command-line value: printed as one line, exit status 2."""


# --------------------------------------------------------------------------- arguments

def scenario_args(p: argparse.ArgumentParser, help_text: str | None = None) -> None:
    """The positional scenario and repeatable --set KEY=VALUE."""
    p.add_argument("scenario", nargs="?", default=None,
                   help=help_text or "scenario TOML file or built-in name (default: the built-in suzhou_2018)")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override a scenario key, typed like the file (repeatable), e.g. --set staff.police_units=900")


def run_args(p: argparse.ArgumentParser, days_help: str = "simulated days (overrides run.days)") -> None:
    """--days and --seed: shortcuts for --set run.days / run.seed."""
    p.add_argument("--days", type=int, default=None, help=days_help)
    p.add_argument("--seed", type=int, default=None, help="root seed (overrides run.seed)")


def run_overrides(args: argparse.Namespace) -> list[str]:
    """--set values plus the --days / --seed shortcuts, as scenario overrides."""
    overrides = list(args.overrides)
    if args.days is not None:
        overrides.append(f"run.days={args.days}")
    if args.seed is not None:
        overrides.append(f"run.seed={args.seed}")
    return overrides


def ensure_out_dir(path: str) -> str:
    """Create the output directory before any work, so a bad --out fails in a second, clearly."""
    try:
        Path(path).mkdir(parents=True, exist_ok=True)
        probe = Path(path) / ".gridsim-write-test"
        probe.write_text("")
        probe.unlink()
    except OSError as exc:
        raise UsageError(f"--out {path}: cannot write there ({exc.strerror}); "
                         "allowed: a directory you can create and write") from None
    return path


# --------------------------------------------------------------------------- numbers

def fmt_int(v: int) -> str:
    """1,234"""
    return f"{v:,}"


def pct(v: float | None) -> str:
    """A share as ' 93.4%' (6 wide); '   -  ' when there is none."""
    return "   -  " if v is None else f"{100 * v:5.1f}%"


def mins(v: float | str | None) -> str:
    """Minutes, 5 wide: ' 12.3', '12345', ' >end' (censored: not reached before the end)."""
    if v is None:
        return "    -"
    if v == "inf":
        return " >end"
    return f"{v:5.1f}" if v < 1000 else f"{v:5.0f}"


def hms(s: float) -> str:
    """Seconds as h:mm:ss."""
    s = int(round(s))
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}"


def decimals_for(values: Sequence[float | None]) -> int:
    """Decimals for a metric's numbers, from the size of its means: 1,234 / 123.4 / 12.34 / 0.123."""
    finite = [abs(v) for v in values if v is not None and math.isfinite(v)]
    mag = max(finite) if finite else 1.0
    return 0 if mag >= 1000 else 1 if mag >= 100 else 2 if mag >= 1 else 3


def number(v: float | None, share: bool, signed: bool = False, decimals: int = 2) -> str:
    """A mean or difference: shares as percent (signed: percentage points), others with separators."""
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "-"
    if math.isinf(v):
        return ("+" if signed and v > 0 else "") + ("inf" if v > 0 else "-inf")
    if share:
        return f"{100 * v:+.1f}" if signed else f"{100 * v:.1f}%"
    return f"{v:+,.{decimals}f}" if signed else f"{v:,.{decimals}f}"


def interval(lo: float | None, hi: float | None, share: bool, signed: bool = False, decimals: int = 2) -> str:
    """'[lo, hi]' formatted like `number`; empty when there is no interval."""
    if lo is None or (isinstance(lo, float) and math.isnan(lo)):
        return ""
    return f"[{number(lo, share, signed, decimals)}, {number(hi, share, signed, decimals)}]"


# --------------------------------------------------------------------------- tables

Column = tuple[str, Callable[[Any], str]]
"""A table column: its heading and how to format a row's cell."""


def print_table(columns: Sequence[Column], rows: Sequence[Any], rule_before_last: bool = False) -> None:
    """Columns sized to fit; the first left-aligned, the rest right-aligned; optionally a rule
    above the last row (a total)."""
    table = [[fmt(r) for _, fmt in columns] for r in rows]
    widths = [max(len(h), *(len(row[i]) for row in table)) for i, (h, _) in enumerate(columns)]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths)))

    print(line([h for h, _ in columns]))
    for j, row in enumerate(table):
        if rule_before_last and j == len(table) - 1:
            print("-" * (sum(widths) + 2 * (len(widths) - 1)))
        print(line(row))


def print_wrote(paths: Sequence[Any]) -> None:
    """The files a command wrote, one 'wrote PATH' line each."""
    for p in paths:
        print(f"wrote {p}")
