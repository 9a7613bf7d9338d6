"""What every command shares: the usage error, scenario arguments, the output directory check,
number formatting, the table printer and the table export (--csv / --xlsx). Command modules
import this, never `cli.main`."""

from __future__ import annotations

import argparse
import importlib.util
import math
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Sequence, Union

if TYPE_CHECKING:
    import pandas as pd


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


def default_out_dir(name: str, what: str = "name", prefix: str = "") -> str:
    """results/<prefix><name>, refusing a name that is not one plain folder name (empty, '..', a
    path, hidden): it comes from a file or --set and must not steer writes elsewhere. `what`
    says where it was set ("FILE: name")."""
    text = str(name)
    bad = (not text.strip() or text in (".", "..") or text.startswith(".") or re.search(r"[/\\\x00]", text)
           or Path(text).name != text)
    if bad:
        raise UsageError(f"{what} = {text!r}: not usable as the folder name under results/; allowed: "
                         f"a plain name (no '/', '\\', leading '.', not empty), or give --out DIR")
    return f"results/{prefix}{text}"


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


# --------------------------------------------------------------------------- export

TableData = Union["pd.DataFrame", tuple[Sequence[Sequence[Any]], Sequence[str]]]
"""A table to export: a DataFrame, or (rows, headers)."""
NamedTable = tuple[str, TableData]
"""A table with its name (the CSV `table` column, the Excel sheet name)."""


def export_args(p: argparse.ArgumentParser) -> None:
    """--csv PATH and --xlsx PATH: the printed tables as files."""
    p.add_argument("--csv", default=None, metavar="PATH",
                   help="also write the printed tables to a CSV file (several tables: stacked, a 'table' column first)")
    p.add_argument("--xlsx", default=None, metavar="PATH",
                   help="also write the printed tables to an Excel workbook, one sheet per table")


def check_export_paths(args: argparse.Namespace) -> None:
    """Refuse an unusable --csv / --xlsx before any work is done."""
    for flag, suffix in (("csv", ".csv"), ("xlsx", ".xlsx")):
        path = getattr(args, flag, None)
        if path is None:
            continue
        p = Path(path)
        if p.suffix.lower() != suffix:
            raise UsageError(f"--{flag} {path}: the file name must end in {suffix}")
        if p.is_dir():
            raise UsageError(f"--{flag} {path}: is a folder; allowed: a file name ending in {suffix}")
        if not p.parent.is_dir():
            raise UsageError(f"--{flag} {path}: no folder {p.parent}; allowed: a file in an existing folder")
    if getattr(args, "xlsx", None) is not None and importlib.util.find_spec("openpyxl") is None:
        raise UsageError("--xlsx needs openpyxl (pandas writes .xlsx through it): pip install openpyxl")


def _frame(table: TableData) -> "pd.DataFrame":
    import pandas as pd
    if isinstance(table, pd.DataFrame):
        return table.reset_index(drop=True)
    rows, headers = table
    return pd.DataFrame([list(r) for r in rows], columns=list(headers))


def _sheet_names(names: Sequence[str]) -> list[str]:
    """Excel sheet names: at most 31 characters, none of []:*?/\\, unique."""
    out: list[str] = []
    for name in names:
        base = re.sub(r"[\[\]:*?/\\]", "_", name)[:31] or "table"
        cand, k = base, 1
        while cand.lower() in (o.lower() for o in out):
            k += 1
            cand = f"{base[:28]}_{k}"
        out.append(cand)
    return out


def export_tables(tables: Sequence[NamedTable], csv: str | None = None, xlsx: str | None = None) -> list[Path]:
    """Write named tables to a CSV file and/or an Excel workbook, atomically; returns the files.

    CSV: one table as it is; several stacked into one file with a leading `table` column (the
    union of their columns, empty where a table has no such column). Excel (openpyxl): one
    sheet per table. The numbers are the table's values, unrounded: the printed tables round them.
    """
    import pandas as pd
    from gridsim.results.io import atomic_write, atomic_write_with

    frames = [(name, _frame(t)) for name, t in tables]
    written: list[Path] = []
    if csv is not None:
        if len(frames) == 1:
            out = frames[0][1]
        else:
            out = pd.concat([f.assign(table=name)[["table", *f.columns]] for name, f in frames], ignore_index=True)
        written.append(atomic_write(csv, out.to_csv(index=False)))
    if xlsx is not None:
        def write(tmp: Path) -> None:
            with pd.ExcelWriter(tmp, engine="openpyxl") as xw:
                for sheet, (_, f) in zip(_sheet_names([n for n, _ in frames]), frames):
                    f.to_excel(xw, sheet_name=sheet, index=False)
        written.append(atomic_write_with(xlsx, write))
    return written
