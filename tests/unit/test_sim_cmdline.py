"""Command-line parsing of the simulated cmd.exe / powershell.exe (winfra.sim.shell.cmdline)."""

from __future__ import annotations

import base64

import pytest

from winfra.powershell import wire
from winfra.sim.shell.cmdline import (
    PowerShellCommandLineError,
    expand_cmd_vars,
    first_token,
    parse_powershell_args,
    program_name,
    split_args,
    strip_cmd_c,
)


@pytest.mark.parametrize(
    ("line", "argv"),
    [
        ("a b  c", ["a", "b", "c"]),
        ('"a b" c', ["a b", "c"]),
        (r'a\\"b c"', ["a\\b c"]),  # 2n backslashes + quote: n backslashes, quote delimits
        (r"a\"b", ['a"b']),  # 2n+1: literal quote
        (r"C:\path\ x", ["C:\\path\\", "x"]),  # backslashes not before a quote are literal
        ('"a""b"', ['a"b']),  # "" inside quotes
        ("", []),
        ("  -Command  \"Test-Path 'C:\\x y'\"", ["-Command", "Test-Path 'C:\\x y'"]),
    ],
)
def test_split_args_follows_the_c_runtime(line: str, argv: list[str]) -> None:
    assert split_args(line) == argv


def test_first_token_and_program_name() -> None:
    assert first_token('"C:\\Program Files\\x.exe" -a') == ("C:\\Program Files\\x.exe", " -a")
    assert first_token("powershell.exe -NoP") == ("powershell.exe", " -NoP")
    assert program_name(r"C:\Windows\System32\WindowsPowerShell\v1.0\PowerShell.EXE") == "powershell"
    assert program_name("CMD") == "cmd"


def test_cmd_variable_expansion_is_case_insensitive_and_keeps_unknown() -> None:
    env = {"COMPUTERNAME": "WS2022", "PROCESSOR_ARCHITECTURE": "AMD64"}
    assert expand_cmd_vars("echo %computername% %Processor_Architecture% %NOPE%", env) == (
        "echo WS2022 AMD64 %NOPE%"
    )


def test_strip_cmd_c_outer_quotes() -> None:
    assert strip_cmd_c('"echo hi"') == "echo hi"
    assert strip_cmd_c('"a" "b"') == '"a" "b"'


def _enc(script: str) -> str:
    return base64.b64encode(script.encode("utf-16-le")).decode()


@pytest.mark.parametrize(
    "switch", ["-EncodedCommand", "-enc", "-ec", "-e", "/EnC", "--encodedcommand", "-ENCODED"]
)
def test_encoded_command_abbreviations(switch: str) -> None:
    inv = parse_powershell_args([switch, _enc("Get-Date")])
    assert inv.encoded and inv.command == "Get-Date"


def test_ex_is_execution_policy_not_encoded_command() -> None:
    inv = parse_powershell_args(["-ex", "Bypass", "-e", _enc("1")])
    assert inv.execution_policy == "Bypass" and inv.command == "1"
    inv = parse_powershell_args(["-ep", "RemoteSigned", "-c", "2"])
    assert inv.execution_policy == "RemoteSigned" and inv.command == "2"


def test_winfra_wire_command_line_round_trips() -> None:
    line = wire.command_line("Write-Output 'é'")
    argv = split_args(line)
    assert program_name(argv[0]) == "powershell"
    inv = parse_powershell_args(argv[1:])
    assert inv.no_profile and inv.non_interactive and inv.execution_policy == "Bypass"
    assert inv.command == "Write-Output 'é'"


def test_command_takes_the_rest_of_the_line() -> None:
    inv = parse_powershell_args(["-NoProfile", "-Command", "Test-Path", "'C:\\x'", "-PathType", "Leaf"])
    assert inv.command == "Test-Path 'C:\\x' -PathType Leaf" and not inv.encoded
    assert parse_powershell_args(["-Command", "-"]).command_from_stdin


def test_first_unknown_parameter_starts_the_command() -> None:
    inv = parse_powershell_args(["-NoLogo", "Get-Item", "x"])
    assert inv.command == "Get-Item x"
    inv = parse_powershell_args(["-Bogus", "1"])
    assert inv.command == "-Bogus 1"


def test_too_short_abbreviation_is_not_a_switch() -> None:
    # NoProfile needs at least "nop": "-no" is unknown and starts the command text.
    assert parse_powershell_args(["-no", "x"]).command == "-no x"
    assert parse_powershell_args(["-nop", "-noni", "x"]).no_profile


def test_bad_encoded_command_is_an_error() -> None:
    with pytest.raises(PowerShellCommandLineError):
        parse_powershell_args(["-enc", "%%%notbase64"])
    with pytest.raises(PowerShellCommandLineError):
        parse_powershell_args(["-EncodedCommand"])


def test_cmd_operators_and_redirections() -> None:
    from winfra.sim.shell.cmdline import split_cmd_operators, strip_redirections

    assert split_cmd_operators("echo out && echo err>&2 && exit 1") == [
        (None, "echo out "),
        ("&&", " echo err>&2 "),
        ("&&", " exit 1"),
    ]
    assert split_cmd_operators('echo "a && b" & echo c || x ^& y') == [
        (None, 'echo "a && b" '),
        ("&", " echo c "),
        ("||", " x ^& y"),
    ]
    assert strip_redirections("echo err>&2 ") == ("echo err ", {1: "2"})
    assert strip_redirections("echo a 2>&1") == ("echo a ", {2: "1"})
    assert strip_redirections("hostname 2>nul") == ("hostname ", {2: "nul"})
    assert strip_redirections('powershell -c "1 2>&1 >nul"') == ('powershell -c "1 2>&1 >nul"', {})
