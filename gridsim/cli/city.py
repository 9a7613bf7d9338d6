"""`gridsim city`: build the city and print its divisions, units and staff."""

from __future__ import annotations

import argparse
import json

from gridsim.cli.common import (check_export_paths, export_args, export_tables, fmt_int, print_table, print_wrote,
                                scenario_args)
from gridsim.scenario import load_scenario

EPILOG = """examples:
  gridsim city                                  # the built-in Suzhou 2018 baseline
  gridsim city scenarios/suzhou_2018_full_build.toml
  gridsim city --set staff.fulltime_workers=12000 --json
  gridsim city --csv city.csv --xlsx city.xlsx  # the table as files too
"""


def _population(r: dict) -> str:
    estimated = r["population_estimated"] and r["division"] != "Total"
    return fmt_int(r["population"]) + ("*" if estimated else "")


COLUMNS = [
    ("division", lambda r: str(r["division"])),
    ("sub-ctr b/uc", lambda r: f"{r['subcenters_built']}/{r['subcenters_under_construction']}"),
    ("workstn b/uc/ns", lambda r: f"{r['workstations_built']}/{r['workstations_under_construction']}"
                                  f"/{r['workstations_not_started']}"),
    ("grids", lambda r: fmt_int(r["grids"])),
    ("leaders", lambda r: fmt_int(r["grid_leaders"])),
    ("full-time", lambda r: fmt_int(r["fulltime_workers"])),
    ("part-time", lambda r: fmt_int(r["parttime_workers"])),
    ("police", lambda r: fmt_int(r["police_units"])),
    ("population", _population),
    ("area km2", lambda r: f"{r['area_km2']:,.1f}"),
]


def register(subparsers) -> None:
    p = subparsers.add_parser("city", help="build the city and print its divisions, units and staff",
                              epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    scenario_args(p)
    p.add_argument("--json", action="store_true", help="print the table as JSON")
    export_args(p)
    p.set_defaults(func=cmd_city)


def cmd_city(args: argparse.Namespace) -> int:
    from gridsim.city import build_city      # here, not at the top: `gridsim --help` stays fast

    scenario = load_scenario(args.scenario, args.overrides)
    check_export_paths(args)
    rows = build_city(scenario).division_table()
    seed = scenario.run.seed
    if args.json:
        print(json.dumps({"scenario": scenario.name, "seed": seed, "divisions": rows}, indent=2))
        _export(rows, args)
        return 0
    print(f"{scenario.name}: city built from seed {seed}")
    print_table(COLUMNS, rows, rule_before_last=True)
    print("b/uc/ns = built / under construction / not started; * population estimated (see divisions table);")
    print("police = patrol units on duty (assumption).")
    _export(rows, args)
    return 0


def _export(rows: list[dict], args: argparse.Namespace) -> None:
    """--csv / --xlsx: the division table with the printed numbers, one column per field."""
    if args.csv or args.xlsx:
        import pandas as pd
        print_wrote(export_tables([("divisions", pd.DataFrame(rows))], csv=args.csv, xlsx=args.xlsx))
