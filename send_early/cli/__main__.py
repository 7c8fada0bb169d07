"""``python -m send_early.cli``: the ``send-early`` command."""

import sys

from . import main

sys.exit(main())
