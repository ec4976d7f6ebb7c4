"""Masking secrets: what flowyard shows of a secret is ``***``, and only a value long enough to mask.

:func:`redact` masks text, :func:`redact_value` JSON values; :func:`short_secrets` says which secrets are
too short to mask without rewriting unrelated text.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

# A secret shorter than this is refused before a run starts: masking a short value would rewrite
# text that merely contains it (a secret "x" turned "extra-diamond" into "e***tra-diamond"), and a
# short value is guessed anyway. GitLab CI asks the same of masked variables (8 characters or more).
MIN_SECRET_LENGTH = 8


def redact(text: str, secret_values: Sequence[str]) -> str:
    """Replace every secret value in ``text`` with ``***``: logs, messages and JSON never show one."""
    for value in sorted((v for v in secret_values if v), key=len, reverse=True):
        text = text.replace(value, "***")
    return text


def redact_value(value: Any, secret_values: Sequence[str]) -> Any:
    """:func:`redact` through a JSON value: its strings, and the keys of its objects."""
    if isinstance(value, str):
        return redact(value, secret_values)
    if isinstance(value, list):
        return [redact_value(v, secret_values) for v in value]
    if isinstance(value, dict):
        return {redact(str(k), secret_values): redact_value(v, secret_values) for k, v in value.items()}
    return value


def short_secrets(secrets: Iterable[Any], environ: Mapping[str, str]) -> list[str]:
    """The environment variables among ``secrets`` (each with ``env``) set to a value too short to mask."""
    return sorted({s.env for s in secrets if 0 < len(environ.get(s.env) or "") < MIN_SECRET_LENGTH})


__all__ = ["MIN_SECRET_LENGTH", "redact", "redact_value", "short_secrets"]
