"""`python -m agiletoolbox` runs the command line."""

from agiletoolbox.cli import main

raise SystemExit(main())
