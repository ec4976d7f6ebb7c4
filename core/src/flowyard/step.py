"""``python -m flowyard.step``: the step entrypoint's stable name, the one compiled manifests, the
local backend's subprocesses and step images invoke. The code lives in :mod:`flowyard.stepimage.step`;
this module forwards to it.
"""

from __future__ import annotations

import sys
from typing import Any

from flowyard.stepimage import step as _step


def __getattr__(name: str) -> Any:
    return getattr(_step, name)


if __name__ == "__main__":
    sys.exit(_step.main())
