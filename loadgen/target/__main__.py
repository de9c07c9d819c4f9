"""``python -m loadgen.target``: run the demo MCP target."""

import sys

from loadgen.target.cli import main

sys.exit(main())
