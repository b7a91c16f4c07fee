"""Adversarial tests of the one PowerShell quoting helper (winfra.powershell.quoting).

Each quoted value must parse with tree-sitter-pwsh as exactly ONE string literal spanning the
whole quoted text, and decode back (ps_unquote, which follows PowerShell's tokenizer: two quotes
in a row are an escape for the second) to the original value.
"""

from __future__ import annotations

import pytest

from winfra.powershell.quoting import SINGLE_QUOTES, PowerShellQuotingError, ps_quote, ps_unquote
from winfra.powershell.syntax import parse, syntax_errors

ADVERSARIAL = [
    "",
    "plain",
    "it's",
    "''",
    "'",
    "'; Remove-Item -Recurse C:\\ ; '",
    "a\u2018b",  # left single quotation mark
    "a\u2019b",  # right single quotation mark (a word processor's apostrophe)
    "a\u201ab",  # single low-9 quotation mark
    "a\u201bb",  # single high-reversed-9 quotation mark
    "\u2019\u2019'\u2018",
    "'\u2019",
    "`n`t``",
    "$(Remove-Item C:\\)",
    "$env:USERPROFILE and ${env:PATH}",
    "@(1,2) @{a=1}",
    '"double" "quotes"',
    "line1\nline2\r\nline3",
    "trailing backslash \\",
    "C:\\Program Files\\Docker\\Docker Desktop.exe",
    "ünïcödé ✓ 日本語 😀",
    "tab\there",
    "# not a comment",
    "<# not a block comment #>",
    "@'\nnot a here-string\n'@",
    "x" * 5000,
]


def _literals(source: str) -> list[tuple[int, int, str]]:
    """(start byte, end byte, text) of every string_literal node in ``source``."""
    found: list[tuple[int, int, str]] = []
    stack = [parse(source).root_node]
    while stack:
        node = stack.pop()
        if node.type == "string_literal":
            found.append((node.start_byte, node.end_byte, (node.text or b"").decode("utf-8")))
            continue
        stack.extend(node.children)
    return found


@pytest.mark.parametrize("value", ADVERSARIAL)
def test_quoted_value_is_one_literal_that_round_trips(value: str) -> None:
    quoted = ps_quote(value)
    source = f"$x = {quoted}\n"
    assert syntax_errors(source) == []
    literals = _literals(source)
    assert len(literals) == 1, literals
    start, end, text = literals[0]
    prefix = len(b"$x = ")
    assert (start, end) == (prefix, prefix + len(quoted.encode("utf-8")))
    assert text == quoted
    assert ps_unquote(quoted) == value


@pytest.mark.parametrize("value", ADVERSARIAL)
def test_quoted_value_as_command_argument(value: str) -> None:
    # The shape the scripts use: a literal as a parameter value, followed by more code.
    source = f"Write-Output -InputObject {ps_quote(value)}; $after = 1\n"
    assert syntax_errors(source) == []
    assert [t for _, _, t in _literals(source)] == [ps_quote(value)]


def test_every_quote_character_is_doubled() -> None:
    for quote in SINGLE_QUOTES:
        assert ps_quote(f"a{quote}b") == f"'a{quote}{quote}b'"


def test_typographic_quote_would_end_a_naively_quoted_literal() -> None:
    # Doubling only ASCII quotes leaves a lone U+2019, which PowerShell takes as the end of the
    # literal: the value would be cut and the rest run as code. ps_unquote models that.
    naive = "'" + "it\u2019s; Stop-Computer".replace("'", "''") + "'"
    with pytest.raises(PowerShellQuotingError):
        ps_unquote(naive)
    assert ps_unquote(ps_quote("it\u2019s; Stop-Computer")) == "it\u2019s; Stop-Computer"


def test_mixed_quote_pair_yields_the_second_character() -> None:
    # PowerShell tokenizer.cs ScanStringLiteral: "the first is the escape and append the second".
    assert ps_unquote("'a'\u2019b'") == "a\u2019b"
    assert ps_unquote("'a\u2019'b'") == "a'b"


@pytest.mark.parametrize("value", ["\x00", "a\x00b", "\x00'"])
def test_nul_is_refused(value: str) -> None:
    with pytest.raises(PowerShellQuotingError, match="NUL"):
        ps_quote(value)


@pytest.mark.parametrize("value", [None, 1, b"bytes", ["x"]])
def test_non_strings_are_refused(value: object) -> None:
    with pytest.raises(PowerShellQuotingError):
        ps_quote(value)  # type: ignore[arg-type]


@pytest.mark.parametrize("literal", ["", "'", "abc", "'unterminated", "'a'b'"])
def test_unquote_rejects_what_is_not_one_literal(literal: str) -> None:
    with pytest.raises(PowerShellQuotingError):
        ps_unquote(literal)


def _reference_unquote(body: str) -> str | None:
    """The tokenizer's rule, one character at a time: a quote must be followed by another."""
    out, i = [], 0
    while i < len(body):
        if body[i] in SINGLE_QUOTES:
            if i + 1 < len(body) and body[i + 1] in SINGLE_QUOTES:
                out.append(body[i + 1])
                i += 2
                continue
            return None
        out.append(body[i])
        i += 1
    return "".join(out)


def test_quote_and_unquote_agree_with_the_reference_on_random_text() -> None:
    import random

    rnd = random.Random(20261202)
    alphabet = 'ab $`"\\\n' + "".join(sorted(SINGLE_QUOTES))
    for _ in range(5000):
        value = "".join(rnd.choice(alphabet) for _ in range(rnd.randint(0, 24)))
        assert ps_unquote(ps_quote(value)) == value
        expected = _reference_unquote(value)  # the raw text as a literal's body: often malformed
        if expected is None:
            with pytest.raises(PowerShellQuotingError):
                ps_unquote("'" + value + "'")
        else:
            assert ps_unquote("'" + value + "'") == expected
