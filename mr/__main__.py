from mr.cli import main

raise SystemExit(main())
