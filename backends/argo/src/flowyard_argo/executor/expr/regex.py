"""``matches``: Go's RE2 ``regexp.MatchString`` (expr ``vm/vm.go`` ``OpMatches``) on Python's ``re``.

The pattern is rewritten where the two read the same text differently (``$`` is end-of-text in RE2 but also
before a final newline in Python; ``\\s`` has no ``\\v`` in RE2; ``\\d``, ``\\w``, ``\\b`` are ASCII in RE2), and
refused by name where Python would accept what RE2 rejects or means otherwise (backreferences, lookaround, atomic
groups, possessive quantifiers, ``\\Z``, Unicode classes ``\\p``, POSIX classes, ``\\Q...\\E``, ``{,n}``).
"""

from __future__ import annotations

import functools
import re

from flowyard_argo.executor.expr.errors import ExprError, ExprRefused

_REFUSED_GROUPS = {
    "(?=": "lookahead",
    "(?!": "negative lookahead",
    "(?<=": "lookbehind",
    "(?<!": "negative lookbehind",
    "(?>": "atomic groups",
    "(?P=": "named backreferences",
    "(?#": "comments",
    "(?<": "named groups written (?<name>) (write (?P<name>))",
    "(?U": "the ungreedy flag",
}


@functools.lru_cache(maxsize=256)
def compile_re2(pattern: str) -> re.Pattern[str]:
    """A Python pattern that matches what RE2 matches for ``pattern``; ``ExprRefused`` where that cannot be."""
    out: list[str] = []
    in_class = False
    multiline = bool(re.match(r"\(\?[a-zA-Z]*m", pattern))
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\" and i + 1 < len(pattern):
            out.append(_escape(pattern[i + 1], in_class))
            i += 2
            continue
        if not in_class:
            for prefix, what in _REFUSED_GROUPS.items():
                if pattern.startswith(prefix, i) and not pattern.startswith("(?P<", i):
                    raise ExprRefused(f"regular expression {what} (Go's RE2 has none)")
            if ch in "*+?}" and pattern[i + 1 : i + 2] == "+":
                raise ExprRefused("regular expression possessive quantifiers (Go's RE2 has none)")
            if pattern.startswith("{,", i):
                raise ExprRefused("regular expression '{,n}' (RE2 reads it as text, Python as a repeat)")
        if ch == "[" and not in_class:
            in_class = True
            if pattern.startswith("[[:", i) or pattern.startswith("[^[:", i):
                raise ExprRefused("regular expression POSIX classes [[:name:]]")
            out.append(ch)
            i += 1
            if pattern[i : i + 1] == "^":
                out.append("^")
                i += 1
            if pattern[i : i + 1] == "]":
                out.append("\\]")
                i += 1
            continue
        if ch == "]" and in_class:
            in_class = False
        elif ch == "[" and in_class:
            out.append("\\[")
            i += 1
            continue
        elif ch == "$" and not in_class and not multiline:
            out.append(r"(?!(?s:.))")
            i += 1
            continue
        out.append(ch)
        i += 1
    try:
        return re.compile("".join(out), re.ASCII)
    except re.error as e:
        raise ExprError(f"error parsing regexp: {e}: `{pattern}`") from None


def _escape(ch: str, in_class: bool) -> str:
    if ch.isdigit() and ch != "0":
        raise ExprRefused("regular expression backreferences (Go's RE2 has none)")
    if ch in "pP":
        raise ExprRefused("regular expression Unicode classes \\p{...}")
    if ch == "z" and not in_class:
        return "\\Z"
    if ch in "QEZzCGXKR":
        raise ExprRefused(f"regular expression escape \\{ch}")
    if ch == "s":
        return "\\t\\n\\f\\r " if in_class else "[\\t\\n\\f\\r ]"
    if ch == "S":
        if in_class:
            raise ExprRefused("regular expression \\S inside a class")
        return "[^\\t\\n\\f\\r ]"
    return "\\" + ch


def matches(text: str, pattern: str) -> bool:
    return compile_re2(pattern).search(text) is not None
