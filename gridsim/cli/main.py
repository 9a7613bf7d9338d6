"""The `gridsim` command: the parser and the error policy. Each command lives in its own module
(city, run, batch, plot, tune) with `register(subparsers)`; they are imported here by name, so
the import graph shows them, and none of them imports this module."""

from __future__ import annotations

import argparse
import os
import sys
from typing import Sequence

from gridsim.cli import batch, city, dashboard, plot, run, site, tune
from gridsim.cli.common import UsageError
from gridsim.scenario import ScenarioError

#: the commands, in the order `gridsim --help` lists them
COMMANDS = (city, run, tune, batch, plot, site, dashboard)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="gridsim",
        description="Simulate Suzhou's grid-based social governance: 12345, 110 and grid-patrol events "
                    "routed through sub-centers, workstations and grids, measured against the "
                    "response targets of the scenario.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="run 'gridsim COMMAND --help' for examples of each command",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for command in COMMANDS:
        command.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except (ScenarioError, UsageError) as exc:
        print(f"gridsim: error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:         # output piped into `head` and closed: not an error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except OSError as exc:          # a file that cannot be read or written: one line, no traceback
        where = f": {exc.filename}" if exc.filename else ""
        print(f"gridsim: error: {exc.strerror or exc}{where}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("gridsim: interrupted", file=sys.stderr)
        return 130
