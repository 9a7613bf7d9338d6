"""Serving the page: bind the socket first (so a port in use is one clear error before
anything starts), then run Solara's Starlette app on it in this process with uvicorn.

Solara reads its settings from the environment when it is imported, so they are set here,
before the import: production mode, no telemetry (the page talks to this server only), and
the app module. The scenario and an experiment directory reach the page the same way.
"""

from __future__ import annotations

import os
import socket
import warnings

APP_MODULE = "gridsim.viz.dashboard.app"
SCENARIO_ENV = "GRIDSIM_DASHBOARD_SCENARIO"
EXPERIMENT_ENV = "GRIDSIM_DASHBOARD_EXPERIMENT"
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765


def listen(host: str, port: int) -> socket.socket:
    """A bound, listening socket; OSError (e.g. address in use) when it cannot be had."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(128)
    except OSError:
        sock.close()
        raise
    sock.set_inheritable(True)
    return sock


def url(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"http://[{host}]:{port}/" if ":" in host else f"http://{host}:{port}/"


def configure(scenario: str | None, experiment: str | None = None) -> None:
    """Environment for Solara and the page (before solara is imported)."""
    os.environ["SOLARA_APP"] = APP_MODULE
    os.environ["SOLARA_MODE"] = "production"
    os.environ["SOLARA_TELEMETRY_MIXPANEL_ENABLE"] = "False"
    os.environ["SOLARA_CHECK_VERSION"] = "False"
    os.environ[SCENARIO_ENV] = scenario or ""
    os.environ[EXPERIMENT_ENV] = experiment or ""
    # Mesa's SolaraViz trips Solara's rules-of-hooks check on import (harmless, Mesa's code)
    warnings.filterwarnings("ignore", message=".*ComponentsView.*", category=UserWarning)
    # plain http on the loopback: Solara falls back to samesite=lax cookies, which is right here
    warnings.filterwarnings("ignore", message="Cookies with samesite=none", category=UserWarning)


def serve(sock: socket.socket, scenario: str | None, experiment: str | None = None) -> None:
    """Run the dashboard on a bound socket until interrupted."""
    configure(scenario, experiment)
    import uvicorn
    from solara.server import settings

    settings.main.mode = "production"
    settings.telemetry.mixpanel_enable = False
    host, port = sock.getsockname()[:2]
    os.environ["SERVER_NAME"], os.environ["SERVER_PORT"] = str(host), str(port)
    config = uvicorn.Config("solara.server.starlette:app", log_level="warning", lifespan="on")
    uvicorn.Server(config).run(sockets=[sock])
