"""The one PowerShell quoting helper.

Every piece of user data that ends up in PowerShell text goes through :func:`ps_quote`
(or travels as JSON inside a value quoted by it). Nothing else in winfra builds PowerShell
literals.

PowerShell single-quoted strings are verbatim: no ``$`` expansion, no backtick escapes.
The only special character is the single quote, which is escaped by doubling it. PowerShell's
tokenizer treats the typographic quotes U+2018, U+2019, U+201A and U+201B as single quotes too
(about_Quoting_Rules; PowerShell tokenizer ``CharExtensions.IsSingleQuote``), so those are
doubled as well, otherwise a value such as ``it\u2019s`` would end the literal early.
"""

from __future__ import annotations

import re

# Characters PowerShell's tokenizer accepts as a single quote.
SINGLE_QUOTES = frozenset("'\u2018\u2019\u201a\u201b")
_QUOTE_RE = re.compile("[" + "".join(sorted(SINGLE_QUOTES)) + "]")


class PowerShellQuotingError(ValueError):
    """A value cannot be expressed as a PowerShell string literal."""


def ps_quote(value: str) -> str:
    """Return ``value`` as a PowerShell single-quoted string literal.

    Raises :class:`PowerShellQuotingError` for a NUL character: a command line is a C string
    on Windows and would be cut at the NUL, so such a value must travel another way.
    """
    if not isinstance(value, str):
        raise PowerShellQuotingError(f"expected a str to quote, got {type(value).__name__}")
    if "\x00" in value:
        raise PowerShellQuotingError("a NUL character cannot be passed in a PowerShell literal")
    return "'" + _QUOTE_RE.sub(r"\g<0>\g<0>", value) + "'"


def ps_unquote(literal: str) -> str:
    """Inverse of :func:`ps_quote`, for a single-quoted literal (used by the simulator)."""
    if len(literal) < 2 or literal[0] not in SINGLE_QUOTES or literal[-1] not in SINGLE_QUOTES:
        raise PowerShellQuotingError(f"not a single-quoted literal: {literal[:40]!r}")
    body = literal[1:-1]
    out: list[str] = []
    pos = 0
    for match in _QUOTE_RE.finditer(body):
        start = match.start()
        if start < pos:
            continue  # the second quote of a pair already taken
        if start + 1 < len(body) and body[start + 1] in SINGLE_QUOTES:
            # Two quotes in a row: "the first is the escape and append the second quote"
            # (PowerShell tokenizer.cs ScanStringLiteral), so a mixed pair such as ' followed by U+2019
            # yields the second character.
            out.append(body[pos:start])
            out.append(body[start + 1])
            pos = start + 2
            continue
        raise PowerShellQuotingError("unescaped single quote inside literal")
    out.append(body[pos:])
    return "".join(out)
