"""``--debug``: flowyard's stdlib ``logging`` records on standard error, with secrets redacted.

The library only logs (``logging.getLogger(__name__)`` in each module) and installs no handler; the CLI
calls :func:`enable_debug_logging` under ``--debug``. Records from flowyard and its backends (every logger
whose name starts ``flowyard``) are shown from DEBUG up; other libraries' from WARNING up.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterable, Mapping
from typing import TextIO

REDACTED = "***"
_SECRET_NAME = re.compile(r"TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIAL|API_KEY|ACCESS_KEY|PRIVATE_KEY", re.IGNORECASE)
_SECRET_SHAPES = [
    re.compile(r"(?i)(\bbearer\s+)[^\s\"',}]+"),
    re.compile(r"(?i)(\bauthorization[\"']?\s*[:=]\s*[\"']?)(?!bearer\b)[^\"'\s,}]+"),
    re.compile(
        r"(?i)(\b[\w-]*(?:token|secret|password|passwd|api[_-]?key|access[_-]?key)[\"']?\s*[:=]\s*[\"']?)"
        r"(?!\*\*\*)[^\"'\s,}&]+"
    ),
]
_MIN_SECRET = 4  # shorter values would redact ordinary words


def secrets_in_environment(environ: Mapping[str, str]) -> set[str]:
    """Values of variables whose names say they hold a secret (``ARGO_TOKEN``, ``AWS_SECRET_ACCESS_KEY``...)."""
    return {v for k, v in environ.items() if _SECRET_NAME.search(k) and len(v) >= _MIN_SECRET}


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` with every known secret value and every token-shaped ``key=value`` replaced by ``***``."""
    for secret in sorted((s for s in secrets if len(s) >= _MIN_SECRET), key=len, reverse=True):
        text = text.replace(secret, REDACTED)
    for shape in _SECRET_SHAPES:
        text = shape.sub(lambda m: m.group(1) + REDACTED, text)
    return text


class RedactingFilter(logging.Filter):
    """Shows flowyard's records (and others' warnings), each rendered once with its secrets redacted."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self.secrets: set[str] = set(secrets)

    def add_secret(self, value: str | None) -> None:
        if value and len(value) >= _MIN_SECRET:
            self.secrets.add(value)

    def filter(self, record: logging.LogRecord) -> bool:
        if not record.name.startswith("flowyard") and record.levelno < logging.WARNING:
            return False
        try:
            record.msg, record.args = redact(record.getMessage(), self.secrets), None
        except Exception:  # noqa: BLE001 - a record whose arguments do not fit its message: logging reports it
            return True
        if record.exc_info and not record.exc_text:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info), self.secrets)
            record.exc_info = None
        return True


def enable_debug_logging(stream: TextIO | None = None, environ: Mapping[str, str] | None = None) -> RedactingFilter:
    """Install the one handler the CLI uses under ``--debug``; returns its filter, to add secrets learnt later."""
    secrets = secrets_in_environment(os.environ if environ is None else environ)
    redacting = RedactingFilter(secrets)
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s", "%H:%M:%S"))
    handler.addFilter(redacting)
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    return redacting
