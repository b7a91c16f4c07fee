"""The WinRS command-line wire format (winfra.powershell.wire; anchors-and-winrm.md §1.1, §1.4)."""

from __future__ import annotations

import base64

import pytest

from winfra.powershell import wire
from winfra.powershell.syntax import syntax_errors


def _decode_command_line(line: str) -> str:
    parts = line.split(" ")
    assert parts[:5] == ["powershell.exe", "-NoProfile", "-NonInteractive", "-ExecutionPolicy", "Bypass"]
    assert parts[5] == "-EncodedCommand"
    return base64.b64decode(parts[6]).decode("utf-16-le")


def test_short_script_goes_on_the_command_line() -> None:
    command = wire.build("Get-Date")
    assert not command.via_stdin and command.stdin is None
    text = _decode_command_line(command.command_line)
    assert text == wire.PROLOGUE + "Get-Date"
    assert syntax_errors(text) == []


def test_env_and_chdir_are_quoted_assignments() -> None:
    env = {"WINFRA_X": "it's $(evil) `n", "Path": "C:\\a;C:\\b"}
    text = _decode_command_line(wire.build("Get-Location", env=env, chdir="C:\\Users\\o'neil").command_line)
    assert "${env:WINFRA_X} = 'it''s $(evil) `n'\n" in text
    assert "${env:Path} = 'C:\\a;C:\\b'\n" in text
    assert "Set-Location -LiteralPath 'C:\\Users\\o''neil' -ErrorAction Stop\n" in text
    assert text.endswith("Get-Location")
    assert syntax_errors(text) == []


@pytest.mark.parametrize("name", ["", "A B", "X;Y", "A=B", "$x", "a-b"])
def test_bad_env_names_are_refused(name: str) -> None:
    with pytest.raises(ValueError, match="environment variable name"):
        wire.build("Get-Date", env={name: "v"})


def test_limit_is_respected_at_the_boundary() -> None:
    # The longest script that still fits: every direct command line is within cmd.exe's limit.
    script = "#" * 2000
    while len(wire.command_line(wire.with_prologue(script))) <= wire.CMD_LINE_LIMIT:
        script += "#"
    too_long = wire.build(script)
    fits = wire.build(script[:-1])
    assert too_long.via_stdin and not fits.via_stdin
    assert len(fits.command_line) <= wire.CMD_LINE_LIMIT


def test_200kb_script_goes_over_stdin() -> None:
    script = "# " + "x" * 200_000 + "\nWrite-Output 'done ✓'"
    command = wire.build(script)
    assert command.via_stdin
    assert len(command.command_line) <= wire.CMD_LINE_LIMIT
    assert _decode_command_line(command.command_line) == wire.BOOTSTRAP
    first, second, rest = command.stdin.split(b"\r\n")
    assert rest == b"" and second == b""
    assert base64.b64decode(first).decode("utf-8") == wire.PROLOGUE + script


def test_stdin_forces_the_bootstrap_and_travels_base64() -> None:
    command = wire.build("$WinfraStdin", stdin="pässwörd\nline2")
    assert command.via_stdin
    first, second, _ = command.stdin.split(b"\r\n")
    assert base64.b64decode(second).decode("utf-8") == "pässwörd\nline2"
    assert base64.b64decode(first).decode("utf-8").endswith("$WinfraStdin")


def test_bootstrap_is_valid_powershell_and_short() -> None:
    assert syntax_errors(wire.BOOTSTRAP) == []
    assert syntax_errors(wire.PROLOGUE) == []
    assert len(wire.command_line(wire.BOOTSTRAP)) < 3000


def test_a_sensitive_script_never_goes_on_the_command_line() -> None:
    # A secret in the script text (a HiddenValue in _env or in the command) would be readable
    # in the process command line and in process-creation audit events: stdin only.
    command = wire.build("Get-Date", env={"TOKEN": "s3cr3t-value"}, sensitive=True)
    assert command.via_stdin
    assert _decode_command_line(command.command_line) == wire.BOOTSTRAP
    first, second, _ = command.stdin.split(b"\r\n")
    assert "s3cr3t-value" in base64.b64decode(first).decode("utf-8") and second == b""
    assert not wire.build("Get-Date", env={"TOKEN": "plain"}).via_stdin
