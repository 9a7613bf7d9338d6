from gridsim.cli.main import main

raise SystemExit(main())
