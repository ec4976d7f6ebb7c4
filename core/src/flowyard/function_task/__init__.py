"""The stable name of :mod:`flowyard.stepimage.function_task`: compiled kubeflow components import
``run_function_task`` from here (``from flowyard.function_task import run_function_task``), so it
stays importable as long as packages compiled with it may run (a package, not a module, so that
the code's move stays a rename in git's eyes)."""

from __future__ import annotations

from typing import Any

from flowyard.stepimage import function_task as _function_task
from flowyard.stepimage.function_task import RECORDS_ENV, run_function_task

__all__ = ["RECORDS_ENV", "run_function_task"]


def __getattr__(name: str) -> Any:
    return getattr(_function_task, name)
