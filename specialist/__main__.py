"""``python -m specialist``: the same command line as the ``specialist`` script."""

import sys

from specialist.cli import main

sys.exit(main())
