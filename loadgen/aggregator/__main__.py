"""``python -m loadgen.aggregator aggregator|keys``: the same as mcp-loadgen's."""

import sys

from loadgen.aggregator.cli import main

sys.exit(main())
