"""`python -m assistant` runs the same command line as `grounding`."""

from assistant.cli import main

raise SystemExit(main())
