"""``python -m flowyard.step``: run :func:`flowyard.stepimage.step.main`."""

from __future__ import annotations

import sys

from flowyard.stepimage.step import main

sys.exit(main())
