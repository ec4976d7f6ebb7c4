"""The one error the Argo compiler raises: the IR asks for something it cannot write."""

from __future__ import annotations


class CompileError(Exception):
    """The IR asks for something this compiler cannot write (the gate should have refused it)."""
