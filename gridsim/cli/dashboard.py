"""`gridsim dashboard`: serve the interactive page (Mesa SolaraViz) for a scenario.

Loopback only unless --host says otherwise. The scenario is checked and the port bound
before the server starts, so a bad scenario or a port in use is one line and exit status 2.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys

from gridsim.cli.common import UsageError
from gridsim.scenario import load_scenario

EPILOG = """examples:
  gridsim dashboard                                  # the built-in baseline on http://127.0.0.1:8765/
  gridsim dashboard scenarios/suzhou_2018_full_build.toml --port 8800
  gridsim dashboard --experiment results/buildout    # the comparison page opens this experiment
  gridsim dashboard --host 0.0.0.0                   # reachable from other machines: explicit only
needs the dashboard extra: pip install -e ".[dashboard]"
"""


def register(subparsers) -> None:
    from gridsim.viz.dashboard.server import DEFAULT_HOST, DEFAULT_PORT
    p = subparsers.add_parser("dashboard", help="interactive web page: step the model, move staff, compare variants",
                              epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("scenario", nargs="?", default=None,
                   help="scenario TOML file or built-in name (default: the built-in suzhou_2018)")
    p.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"port to listen on (default {DEFAULT_PORT})")
    p.add_argument("--host", default=DEFAULT_HOST,
                   help=f"address to listen on (default {DEFAULT_HOST}, this machine only)")
    p.add_argument("--experiment", default=None, metavar="DIR",
                   help="experiment directory the comparison page opens first")
    p.set_defaults(func=cmd_dashboard)


def cmd_dashboard(args: argparse.Namespace) -> int:
    from gridsim.viz.dashboard import server

    load_scenario(args.scenario)                    # a bad scenario fails here, in one line
    if not 0 <= args.port <= 65535:
        raise UsageError(f"--port {args.port}: out of range; allowed: 0 to 65535")
    missing = [name for name in ("solara", "altair", "uvicorn") if importlib.util.find_spec(name) is None]
    if missing:
        raise UsageError(f"the dashboard needs {', '.join(missing)}: pip install -e \".[dashboard]\"")
    try:
        sock = server.listen(args.host, args.port)
    except OSError as exc:
        raise UsageError(f"--port {args.port}: cannot listen on {args.host}:{args.port} "
                         f"({exc.strerror or exc}); allowed: a free port, or another --port") from None
    print(f"gridsim dashboard: serving {server.url(sock)} (Ctrl-C stops)", flush=True)
    try:
        server.serve(sock, args.scenario, args.experiment)
    finally:
        sock.close()
    print("gridsim dashboard: stopped", file=sys.stderr)
    return 0
