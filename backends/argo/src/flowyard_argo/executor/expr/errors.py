"""The two ways an expression goes wrong: it cannot run here (refused by name) or expr itself fails it."""

from __future__ import annotations


class ExprError(ValueError):
    """expr-lang failed the expression (compile or run): the message as expr words it."""


class ExprRefused(ExprError):
    """The expression uses a part of expr-lang (or sprig) this executor does not implement: named, never guessed."""
