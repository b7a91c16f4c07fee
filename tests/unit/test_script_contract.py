"""Every shipped script keeps the script contract (docs/ARCHITECTURE.md "Scripts").

* UTF-8 without BOM, parses with tree-sitter-pwsh;
* comment-based help with .SYNOPSIS, .DESCRIPTION and .NOTES holding the winfra-mode line;
* ``[CmdletBinding()]`` and the single ``$InputJson`` parameter;
* a simulator counterpart ``winfra/sim/scripts/<name>.py`` exposing ``run`` or ``run_stream``.
"""

from __future__ import annotations

import importlib
import re

import pytest

from winfra.powershell.scripts import SCRIPTS_DIR, all_scripts, load_script, render_script
from winfra.powershell.syntax import syntax_errors

SCRIPT_NAMES = sorted(p.stem for p in SCRIPTS_DIR.glob("*.ps1"))


def test_there_are_scripts() -> None:
    assert len(SCRIPT_NAMES) >= 10
    assert {s.name for s in all_scripts()} == set(SCRIPT_NAMES)


@pytest.mark.parametrize("name", SCRIPT_NAMES)
def test_script_encoding_and_syntax(name: str) -> None:
    raw = (SCRIPTS_DIR / f"{name}.ps1").read_bytes()
    assert not raw.startswith(b"\xef\xbb\xbf"), "scripts are UTF-8 without BOM"
    text = raw.decode("utf-8")
    assert syntax_errors(text) == []


@pytest.mark.parametrize("name", SCRIPT_NAMES)
def test_script_help_and_parameters(name: str) -> None:
    script = load_script(name)
    help_block = re.search(r"<#(.*?)#>", script.text, re.S)
    assert help_block, "comment-based help is missing"
    for section in (".SYNOPSIS", ".DESCRIPTION", ".NOTES"):
        assert section in help_block.group(1), f"comment-based help lacks {section}"
    assert "winfra-mode:" in help_block.group(1)
    assert re.search(r"^\[CmdletBinding\(\)\]\s*$", script.text, re.M)
    assert re.search(r"\[Parameter\(Mandatory = \$true\)\]\s*\[string\]\s*\$InputJson", script.text)


@pytest.mark.parametrize("name", SCRIPT_NAMES)
def test_script_has_simulator_counterpart(name: str) -> None:
    module = importlib.import_module(f"winfra.sim.scripts.{name}")
    assert callable(getattr(module, "run", None)) or callable(getattr(module, "run_stream", None)), (
        f"winfra/sim/scripts/{name}.py must implement run(call) or run_stream(call, ...)"
    )


@pytest.mark.parametrize("name", SCRIPT_NAMES)
def test_rendered_invocation_parses(name: str) -> None:
    hostile = {"value": "it's $(Remove-Item C:\\) `n \u2019; exit 1 #", "list": ["a'b", "\u00e9"]}
    assert syntax_errors(render_script(name, hostile)) == []


# -- Windows PowerShell 5.1 run-time traps the simulator cannot show (review R3) ---------------

_SERVICE_CMDLET = re.compile(r"^\s*[^#\n]*\b(Restart|Start|Stop)-Service\b[^\n]*$", re.M)


@pytest.mark.parametrize("name", SCRIPT_NAMES)
def test_service_cmdlets_keep_waiting_warnings_off_stdout(name: str) -> None:
    """Start/Stop/Restart-Service write "WARNING: Waiting for service ..." every few seconds and
    powershell.exe prints warnings on stdout next to the JSON (PowerShell/PowerShell#7989)."""
    text = re.sub(r"<#.*?#>", "", load_script(name).text, flags=re.S)
    for match in _SERVICE_CMDLET.finditer(text):
        assert "-WarningAction" in match.group(0), f"{name}: {match.group(0).strip()}"


def test_desktop_installer_arguments_survive_quoting() -> None:
    """docker_desktop_install.ps1 quotes Start-Process arguments with the MS C runtime rules;
    the counterpart mirrors that quoting and the installer's parsing, so what the installer reads
    is what the operation passed (paths ending in a backslash, JSON with quotes, blanks)."""
    from winfra.sim.scripts.docker_desktop_install import installer_command_line, parse_command_line

    args = [
        "install",
        "--quiet",
        r"--installation-dir=C:\Program Files\Docker\Docker",
        r"--wsl-default-data-root=D:\docker data\\",
        '--admin-settings={"configurationFileVersion": 2, "exposeDockerAPIOnTCP2375": {"locked": true}}',
        r'--odd=a\"b\\"c',
        "",
    ]
    line = installer_command_line(args)
    assert parse_command_line(line) == args
    # The quoting the script used before (quotes around blanks only) loses the trailing backslash
    # and the JSON's quotes.
    naive = " ".join(f'"{a}"' if " " in a else a for a in args)
    assert parse_command_line(naive) != args
    # The .ps1 implements the same two substitutions.
    text = load_script("docker_desktop_install").text
    assert """-replace '(\\\\*)"', '$1$1\\"'""" in text
    assert "-replace '(\\\\+)$', '$1$1'" in text


def _code(text: str) -> str:
    """Script text without comments (help blocks and line comments)."""
    text = re.sub(r"<#.*?#>", "", text, flags=re.S)
    return re.sub(r"(?m)(^|\s)#.*$", r"\1", text)


@pytest.mark.parametrize("name", SCRIPT_NAMES)
def test_scripts_leave_stdin_to_console_in(name: str) -> None:
    """powershell.exe drains redirected stdin into the pipeline when the -Command text uses the
    automatic input variable (PowerShell ConsoleHost.cs, "Detect if they're using input"); then
    [Console]::In.ReadLine() in put_file.ps1 and in wire.BOOTSTRAP would race the host for lines."""
    assert not re.search(r"\$input\b", _code(load_script(name).text), re.I)


def test_bootstrap_leaves_stdin_to_console_in() -> None:
    from winfra.powershell.wire import BOOTSTRAP

    assert not re.search(r"\$input\b", BOOTSTRAP, re.I)
    assert "[Console]::In.ReadLine()" in BOOTSTRAP


@pytest.mark.parametrize("name", SCRIPT_NAMES)
def test_no_null_for_a_dotnet_path_argument(name: str) -> None:
    """PowerShell passes $null to a .NET string parameter as "" (PowerShell/PowerShell#11515):
    File.Replace(src, dst, $null) fails with "The path is not of a legal form"."""
    for call in re.findall(r"::(?:Replace|Move|Copy)\(([^)]*)\)", _code(load_script(name).text)):
        assert "$null" not in call, f"{name}: {call}"
