"""``python -m dmilib`` is the ``dmilib`` command."""

import sys

from .cli import main

sys.exit(main())
