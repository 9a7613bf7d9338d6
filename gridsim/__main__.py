from gridsim.cli import main

raise SystemExit(main())
