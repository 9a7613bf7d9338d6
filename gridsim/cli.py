"""The `gridsim` command: parse arguments, call the library, print. No modelling here."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Sequence

from gridsim.scenario import ScenarioError, load_scenario

EPILOG_CITY = """examples:
  gridsim city                                  # the built-in Suzhou 2018 baseline
  gridsim city scenarios/suzhou_2018_full_build.toml
  gridsim city --set staff.fulltime_workers=12000 --json
"""


class UsageError(Exception):
    """A bad command-line value: printed as one line, exit status 2."""


def _scenario_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("scenario", nargs="?", default=None,
                   help="scenario TOML file or built-in name (default: the built-in suzhou_2018)")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override a scenario key, typed like the file (repeatable), e.g. --set staff.police_units=900")


def _fmt_int(v: int) -> str:
    return f"{v:,}"


def cmd_city(args: argparse.Namespace) -> int:
    from gridsim.city import build_city

    scenario = load_scenario(args.scenario, args.overrides)
    city = build_city(scenario)
    rows = city.division_table()
    if args.json:
        print(json.dumps({"scenario": scenario.name, "seed": scenario["run"]["seed"], "divisions": rows}, indent=2))
        return 0
    cols = [("division", "division", str),
            ("sub-ctr b/uc", None, lambda r: f"{r['subcenters_built']}/{r['subcenters_under_construction']}"),
            ("workstn b/uc/ns", None, lambda r: f"{r['workstations_built']}/{r['workstations_under_construction']}"
                                                f"/{r['workstations_not_started']}"),
            ("grids", "grids", _fmt_int), ("leaders", "grid_leaders", _fmt_int),
            ("full-time", "fulltime_workers", _fmt_int), ("part-time", "parttime_workers", _fmt_int),
            ("police", "police_units", _fmt_int),
            ("population", None, lambda r: _fmt_int(r["population"]) + ("*" if r["population_estimated"] and r["division"] != "Total" else "")),
            ("area km2", "area_km2", lambda v: f"{v:,.1f}")]
    table = []
    for r in rows:
        table.append([f(r[k]) if k else f(r) for _, k, f in cols])
    widths = [max(len(h), *(len(row[i]) for row in table)) for i, (h, _, _) in enumerate(cols)]
    print(f"{scenario.name}: city built from seed {scenario['run']['seed']}")
    print("  ".join(h.ljust(w) if i == 0 else h.rjust(w) for i, ((h, _, _), w) in enumerate(zip(cols, widths))))
    for j, row in enumerate(table):
        if j == len(table) - 1:
            print("-" * (sum(widths) + 2 * (len(widths) - 1)))
        print("  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths))))
    print("b/uc/ns = built / under construction / not started; * population estimated (see divisions table);")
    print("police = patrol units on duty (assumption).")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="gridsim",
        description="Simulate Suzhou's grid-based social governance: 12345, 110 and grid-patrol events "
                    "routed through sub-centers, workstations and grids, measured against the "
                    "3/5/15/30-minute targets.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="run 'gridsim COMMAND --help' for examples of each command",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    p = sub.add_parser("city", help="build the city and print its divisions, units and staff",
                       epilog=EPILOG_CITY, formatter_class=argparse.RawDescriptionHelpFormatter)
    _scenario_args(p)
    p.add_argument("--json", action="store_true", help="print the table as JSON")
    p.set_defaults(func=cmd_city)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except (ScenarioError, UsageError) as exc:
        print(f"gridsim: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("gridsim: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
