"""``python -m dmilib.book PROFILE --out DIR``: run every chapter with a profile."""

import sys

from .runner import main

sys.exit(main())
