"""Regular expressions from users, compiled only when they cannot backtrack catastrophically.

Patterns are parsed with Python's own regex parser and refused when a repeated group contains
another variable-length repeat (or alternatives that can start alike) that no delimiter bounds.
"""

from __future__ import annotations

import re
from typing import Any

from app.errors import SecurityError, ToolInputError

MAX_PATTERN_CHARS = 1_000

_CLASS_ESCAPES = {
    "CATEGORY_DIGIT": r"\d", "CATEGORY_NOT_DIGIT": r"\D", "CATEGORY_SPACE": r"\s",
    "CATEGORY_NOT_SPACE": r"\S", "CATEGORY_WORD": r"\w", "CATEGORY_NOT_WORD": r"\W",
}  # fmt: skip
_PROBE = [chr(c) for c in range(0x250)] + ["€", "中", "😀"]


def _char_class(items: list[Any]) -> str | None:
    """A one-character regex equivalent to a parsed sequence, or None when it is not one char."""
    if len(items) != 1:
        return None
    op, av = items[0]
    name = str(op)
    if name == "LITERAL":
        return re.escape(chr(av))
    if name == "NOT_LITERAL":
        return "[^" + re.escape(chr(av)) + "]"
    if name == "ANY":
        return "."
    if name != "IN":
        return None
    parts = []
    for sub_op, sub_av in av:
        sub = str(sub_op)
        if sub == "NEGATE":
            parts.insert(0, "^")
        elif sub == "LITERAL":
            parts.append(re.escape(chr(sub_av)))
        elif sub == "RANGE":
            parts.append(re.escape(chr(sub_av[0])) + "-" + re.escape(chr(sub_av[1])))
        elif sub == "CATEGORY" and str(sub_av) in _CLASS_ESCAPES:
            parts.append(_CLASS_ESCAPES[str(sub_av)])
        else:
            return None
    return "[" + "".join(parts) + "]"


def _overlap(a: str | None, b: str | None, flags: int) -> bool:
    if a is None or b is None:
        return True  # unknown shapes count as overlapping: refuse rather than hang
    return any(re.fullmatch(a, c, flags) and re.fullmatch(b, c, flags) for c in _PROBE)


def _flatten(items: list[Any]) -> list[Any]:
    out: list[Any] = []
    for op, av in items:
        if str(op) == "SUBPATTERN":
            out.extend(_flatten(list(av[3])))
        else:
            out.append((op, av))
    return out


def _single_char(item: Any) -> str | None:
    """The character class a sequence item starts with, when it is one char or a 1+ repeat."""
    if str(item[0]) in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT") and item[1][0] >= 1:
        return _char_class(list(item[1][2]))
    return _char_class([item])


def _repeat_problem(body: list[Any], outer_unbounded: bool, flags: int, wrap: bool) -> str | None:
    """Why a repeated body is ambiguous, or None. A variable repeat inside is fine only when a
    following character it cannot match (e.g. the `.` in `(\\w+\\.)+`) forces where it ends."""
    from re._constants import MAXREPEAT  # the parser's own constants (CPython 3.11+)

    seq = _flatten(body)
    for i, (op, av) in enumerate(seq):
        name = str(op)
        if name in ("MAX_REPEAT", "MIN_REPEAT") and av[0] != av[1]:
            if not (outer_unbounded or av[1] == MAXREPEAT):
                continue
            nxt = seq[i + 1] if i + 1 < len(seq) else (seq[0] if wrap and i else None)
            sep = _single_char(nxt) if nxt else None
            if sep is None or _overlap(_char_class(list(av[2])), sep, flags):
                return "a quantified group contains another quantifier"
        elif name == "BRANCH":
            firsts = [_char_class(_flatten(list(b))[:1]) for b in av[1]]
            if outer_unbounded and any(
                _overlap(x, y, flags) for j, x in enumerate(firsts) for y in firsts[j + 1 :]
            ):
                return "a quantified group has alternatives that can match the same text"
            if any(_repeat_problem(list(b), outer_unbounded, flags, False) for b in av[1]):
                return "a quantified group contains another quantifier"
    return None


def _unsafe_regex(items: list[Any], flags: int) -> str | None:
    from re._constants import MAXREPEAT

    for op, av in items:
        name = str(op)
        if name in ("MAX_REPEAT", "MIN_REPEAT"):
            body = list(av[2])
            if av[1] > 1 and (problem := _repeat_problem(body, av[1] == MAXREPEAT, flags, True)):
                return problem
            children = [body]
        elif name == "SUBPATTERN":
            children = [list(av[3])]
        elif name == "BRANCH":
            children = [list(b) for b in av[1]]
        elif name in ("ASSERT", "ASSERT_NOT"):
            children = [list(av[1])]
        else:  # possessive repeats and atomic groups never backtrack
            children = []
        for child in children:
            if problem := _unsafe_regex(child, flags):
                return problem
    return None


def compile_safe_regex(pattern: str) -> re.Pattern[str]:
    """Compile a user pattern, refusing long ones and ones prone to catastrophic backtracking."""
    from re import _parser  # type: ignore[attr-defined]

    if len(pattern) > MAX_PATTERN_CHARS:
        raise ToolInputError(f"pattern longer than {MAX_PATTERN_CHARS} characters")
    try:
        compiled = re.compile(pattern)
        problem = _unsafe_regex(list(_parser.parse(pattern, compiled.flags)), compiled.flags)
    except re.error as exc:
        raise ToolInputError(f"invalid regular expression: {exc}") from None
    if problem:
        raise SecurityError(
            f"pattern {pattern!r} refused: {problem}, which can take exponential time",
            hint="Make repeats unambiguous: `[\\w.]+` instead of `(\\w+\\.?)+`, or use a "
            "possessive quantifier `\\w++` / atomic group `(?>...)`.",
        )
    return compiled
