"""``python -m producers.camera``: see :mod:`producers.camera.cli`."""

import sys

from producers.camera.cli import main

sys.exit(main())
