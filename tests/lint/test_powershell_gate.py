"""The PowerShell 5.1 static gate over everything we ship or generate (issue 8).

Every .ps1 under winfra/scripts (recursively), every command string in the fixtures under
tests/fixtures/{facts,operations}, the wire bootstrap/prologue and a rendered invocation of every
script are linted with winfra.scripts.lint: unknown commands/parameters, switch misuse, parameter
sets, PowerShell 7-only constructs, output hygiene and external-program switches.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from lint_corpus import BAD, GOOD, fixture_commands

from winfra.powershell.scripts import all_scripts, render_script
from winfra.powershell.wire import BOOTSTRAP, PROLOGUE
from winfra.scripts.lint import SCRIPTS_DIR, format_report, iter_scripts, lint_file, lint_text, main


@pytest.mark.parametrize("path", iter_scripts(), ids=lambda p: str(p.relative_to(SCRIPTS_DIR)))
def test_shipped_script_passes_the_lint(path: Path) -> None:
    report = lint_file(path)
    assert report.ok, format_report(report)


@pytest.mark.parametrize("name", [s.name for s in all_scripts()])
def test_rendered_invocation_passes_the_lint(name: str) -> None:
    report = lint_text(render_script(name, {}), f"render_script({name!r})")
    assert report.ok, format_report(report)


def test_wire_scripts_pass_the_lint() -> None:
    for label, text in (("BOOTSTRAP", BOOTSTRAP), ("PROLOGUE", PROLOGUE)):
        report = lint_text(text, label)
        assert report.ok, format_report(report)


_FIXTURES = fixture_commands()


@pytest.mark.parametrize(("label", "command"), _FIXTURES, ids=[label for label, _ in _FIXTURES])
def test_fixture_command_passes_the_lint(label: str, command: str) -> None:
    report = lint_text(command, label)
    assert report.ok, format_report(report)


def test_cli_reports_commands_and_fails_on_violations(capsys: pytest.CaptureFixture[str]) -> None:
    bad = BAD / "switch_value_positional.ps1"
    assert main([str(bad)]) == 1
    out = capsys.readouterr().out
    assert "commands: Remove-Item" in out
    assert "switch_value_positional.ps1:2:" in out
    assert "[switch-value] Remove-Item" in out
    assert main([str(GOOD / "cim_query.ps1")]) == 0
    out = capsys.readouterr().out
    assert "commands: ConvertFrom-Json, Get-CimInstance" in out and "0 violation(s)" in out


def test_cli_lints_fixture_commands(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    facts = tmp_path / "facts" / "windows.Thing"
    facts.mkdir(parents=True)
    (facts / "x.json").write_text('{"command": "Get-Item -Pth x", "output": []}', encoding="utf-8")
    ops = tmp_path / "operations" / "windows.thing"
    ops.mkdir(parents=True)
    (ops / "y.json").write_text(
        '{"commands": ["Get-Item -LiteralPath x", ["_issue_restart", [2, "m"], {}],'
        ' {"script": "get_host_state", "params": {}}, {"script": "no_such_script", "params": {}}]}',
        encoding="utf-8",
    )
    assert main(["--fixtures", str(tmp_path), str(GOOD / "cim_query.ps1")]) == 1
    out = capsys.readouterr().out
    assert "x.json.command:1:10: [unknown-parameter] Get-Item: Get-Item has no parameter -Pth" in out
    assert "y.json.commands[0]: ok" in out
    assert "y.json.commands[1]" not in out  # a Python helper call, not PowerShell
    assert "y.json.commands[2]: ok" in out and "commands: ConvertFrom-Json" in out  # rendered script
    assert "y.json.commands[3]:1:1: [unknown-command] Unrendered-FixtureScript" in out
