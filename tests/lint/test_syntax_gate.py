"""The tree-sitter-pwsh syntax gate (issue 2 §3, testing-without-windows.md §f).

Every script is parsed as shipped, before any encoding (a script nested in a base64 or string
argument is invisible to the parser); every generated command the fixtures record, the wire
bootstrap and prologue, and a rendered invocation of every script are parsed too.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from lint_corpus import REPO, fixture_commands

from winfra.powershell.scripts import all_scripts, render_script
from winfra.powershell.syntax import syntax_errors
from winfra.powershell.wire import BOOTSTRAP, PROLOGUE, with_prologue
from winfra.scripts.lint import SCRIPTS_DIR, embedded_scripts, iter_scripts


def _problems(text: str) -> str:
    return "\n".join(map(str, syntax_errors(text)))


@pytest.mark.parametrize("path", iter_scripts(), ids=lambda p: str(p.relative_to(SCRIPTS_DIR)))
def test_shipped_script_parses(path: Path) -> None:
    raw = path.read_bytes()
    assert not raw.startswith(b"\xef\xbb\xbf"), f"{path.name}: scripts are UTF-8 without BOM"
    text = raw.decode("utf-8")
    assert syntax_errors(text) == [], f"{path.relative_to(REPO)}:\n{_problems(text)}"


@pytest.mark.parametrize("path", iter_scripts(), ids=lambda p: str(p.relative_to(SCRIPTS_DIR)))
def test_scripts_built_in_strings_parse_before_encoding(path: Path) -> None:
    # A script held in a string and base64-encoded for -EncodedCommand is opaque to the outer parse.
    for embedded in embedded_scripts(path.read_text(encoding="utf-8")):
        assert syntax_errors(embedded.text) == [], (
            f"{path.name}:{embedded.line} (${embedded.variable}):\n{_problems(embedded.text)}"
        )


def test_embedded_script_gate_can_fail() -> None:
    outer = (
        '$inner = "if (`$x) { Get-Item $p"\n'
        "$b64 = [Convert]::ToBase64String([Text.Encoding]::Unicode.GetBytes($inner))\n"
    )
    assert syntax_errors(outer) == []  # the outer script is fine...
    [embedded] = embedded_scripts(outer)
    assert embedded.text == "if ($x) { Get-Item winfraValue"
    assert syntax_errors(embedded.text)  # ...the script it encodes is not


def test_script_written_to_a_ps1_file_is_gated_and_other_files_are_not() -> None:
    outer = (
        "$launcherPath = Join-Path $dir 'launcher.ps1'\n"
        "$launcher = @'\nif ($x) {\n'@\n"
        "[System.IO.File]::WriteAllText($launcherPath, $launcher, $utf8)\n"
        "$notes = 'if ('\n"
        "$notesPath = Join-Path $dir 'notes.txt'\n"
        "[System.IO.File]::WriteAllText($notesPath, $notes, $utf8)\n"
    )
    assert syntax_errors(outer) == []
    [embedded] = embedded_scripts(outer)
    assert (embedded.variable, embedded.line, embedded.text) == ("launcher", 3, "if ($x) {")
    assert syntax_errors(embedded.text)


@pytest.mark.parametrize("name", [s.name for s in all_scripts()])
def test_rendered_invocation_parses(name: str) -> None:
    for params in ({}, {"value": "it\u2019s 'quoted' $(not-run) `n \"x\" @{}", "list": [1, None, True]}):
        text = render_script(name, params)
        assert syntax_errors(text) == [], f"render_script({name!r}, {params!r}):\n{_problems(text)}"


@pytest.mark.parametrize(
    "label",
    ["BOOTSTRAP", "PROLOGUE", "with_prologue"],
)
def test_wire_scripts_parse(label: str) -> None:
    text = {
        "BOOTSTRAP": BOOTSTRAP,
        "PROLOGUE": PROLOGUE,
        "with_prologue": with_prologue("Get-Item -LiteralPath 'C:\\x'", env={"A_B": "it's"}, chdir="C:\\a'b"),
    }[label]
    assert syntax_errors(text) == [], f"{label}:\n{_problems(text)}"


_FIXTURES = fixture_commands()


@pytest.mark.parametrize(("label", "command"), _FIXTURES, ids=[label for label, _ in _FIXTURES])
def test_fixture_command_parses(label: str, command: str) -> None:
    assert syntax_errors(command) == [], f"{label}:\n{_problems(command)}"


def test_gate_catches_broken_scripts() -> None:
    # The gate must be able to fail: the classic breakages from testing-without-windows.md §f.
    for broken in ("if ($a) {", "'it\\'s'", "Get-Item 'x' |", "@'\nx\n  '@", "$(Get-Date"):
        assert syntax_errors(broken), broken
