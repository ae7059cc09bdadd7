"""``python -m fastoptim.demo``: see :func:`fastoptim.demo.cli.main`."""

import sys

from .cli import main

sys.exit(main())
