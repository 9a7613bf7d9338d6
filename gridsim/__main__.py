"""`python -m gridsim`: the same command as the `gridsim` console script."""

from gridsim.cli import main

raise SystemExit(main())
