"""``flowyard.step``: the step entrypoint's stable name, the one compiled manifests, the local
backend's subprocesses and step images invoke (``python -m flowyard.step``). The code lives in
:mod:`flowyard.stepimage.step`; this package forwards to it (a package, not a module, so that the
code's move stays a rename in git's eyes).
"""

from __future__ import annotations

from typing import Any

from flowyard.stepimage import step as _step


def __getattr__(name: str) -> Any:
    return getattr(_step, name)
