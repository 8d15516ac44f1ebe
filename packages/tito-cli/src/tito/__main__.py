"""`python -m tito` runs the same command line as the `tito` script."""

from tito.cli import main

raise SystemExit(main())
