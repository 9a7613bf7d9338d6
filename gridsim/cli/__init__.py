"""The command line: the only layer that prints. `gridsim.cli.main` is the entry point."""

from gridsim.cli.main import main

__all__ = ["main"]
