"""How a PowerShell script becomes a WinRS command line (and, when needed, stdin).

Every command runs Windows PowerShell 5.1 as::

    powershell.exe -NoProfile -NonInteractive -ExecutionPolicy Bypass -EncodedCommand <base64>

``-EncodedCommand`` takes base64 of the UTF-16LE script, an 8/3 expansion. WinRS runs commands
through cmd.exe, whose command line is limited to 8,191 characters, so scripts longer than about
3,000 characters cannot go on the command line (anchors-and-winrm.md §1.4, pywinrm#87/#184).
Those, and every command given stdin, use a fixed bootstrap on the command line and send the
script over stdin instead, as Ansible does (anchors-and-winrm.md §1.1 "Pipelining via stdin").

The stdin framing is two ASCII lines::

    <base64 of the UTF-8 script>\\r\\n
    <base64 of the caller's stdin bytes, or empty>\\r\\n

Base64 keeps the framing independent of the console input code page. The caller's stdin is
exposed to the script as ``$WinfraStdin`` (a string) and piped into it (``$input``).
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass

from winfra.powershell.quoting import ps_quote

POWERSHELL = "powershell.exe"
POWERSHELL_ARGS = ("-NoProfile", "-NonInteractive", "-ExecutionPolicy", "Bypass")
# cmd.exe's limit on a command line (anchors-and-winrm.md §1.4).
CMD_LINE_LIMIT = 8191

# Output as UTF-8 without BOM; progress records would otherwise arrive as CLIXML on stderr
# (anchors-and-winrm.md §3.4, install-docker-ce.ps1 does the same).
# Setting the console encoding throws when no console is attached (a process started by a
# scheduled task, the run-as path); Ansible's bootstrap_wrapper.ps1 guards it the same way.
PROLOGUE = (
    "$ProgressPreference = 'SilentlyContinue'\n"
    "try {\n"
    "    [Console]::OutputEncoding = New-Object -TypeName System.Text.UTF8Encoding -ArgumentList $false\n"
    "} catch {\n"
    "    $null = $_\n"
    "}\n"
)

BOOTSTRAP = (
    "$ErrorActionPreference = 'Stop'\n"
    "$winfraScript = [System.Text.Encoding]::UTF8.GetString("
    "[System.Convert]::FromBase64String([Console]::In.ReadLine()))\n"
    "$winfraStdinLine = [Console]::In.ReadLine()\n"
    "$WinfraStdin = $null\n"
    "if ($winfraStdinLine) {\n"
    "    $WinfraStdin = [System.Text.Encoding]::UTF8.GetString("
    "[System.Convert]::FromBase64String($winfraStdinLine))\n"
    "}\n"
    "$ErrorActionPreference = 'Continue'\n"
    "if ($null -ne $WinfraStdin) {\n"
    "    $WinfraStdin | & ([ScriptBlock]::Create($winfraScript))\n"
    "} else {\n"
    "    & ([ScriptBlock]::Create($winfraScript))\n"
    "}\n"
)


def encode_command(script: str) -> str:
    """Base64 of the UTF-16LE script, as ``powershell.exe -EncodedCommand`` expects."""
    return base64.b64encode(script.encode("utf-16-le")).decode("ascii")


def command_line(script: str) -> str:
    return " ".join((POWERSHELL, *POWERSHELL_ARGS, "-EncodedCommand", encode_command(script)))


def with_prologue(script: str, env: Mapping[str, str] | None = None, chdir: str | None = None) -> str:
    """Prefix ``script`` with the output-encoding prologue, environment and working directory."""
    lines = [PROLOGUE]
    for key, value in (env or {}).items():
        if not key or not all(c.isalnum() or c in "_()" for c in key):
            raise ValueError(f"invalid environment variable name {key!r}")
        lines.append(f"${{env:{key}}} = {ps_quote(str(value))}\n")
    if chdir:
        # -ErrorAction Stop: a missing directory must fail the command, not run it elsewhere.
        lines.append(f"Set-Location -LiteralPath {ps_quote(chdir)} -ErrorAction Stop\n")
    return "".join(lines) + script


@dataclass(frozen=True)
class WireCommand:
    """What is sent to WinRS: the command line, and stdin bytes (or None)."""

    command_line: str
    stdin: bytes | None
    via_stdin: bool


def build(
    script: str,
    stdin: bytes | str | None = None,
    env: Mapping[str, str] | None = None,
    chdir: str | None = None,
    sensitive: bool = False,
) -> WireCommand:
    """Build the WinRS command for ``script`` (see the module docstring for the format).

    ``sensitive``: the script text holds a secret (a pyinfra ``HiddenValue`` in the command or
    in ``_env``). It then always travels on stdin: a process command line is readable by other
    users of the host and is recorded by process-creation auditing (event 4688 "Include command
    line in process creation events",
    learn.microsoft.com/windows-server/identity/ad-ds/manage/component-updates/command-line-process-auditing),
    and ``-EncodedCommand`` is only base64. ARCHITECTURE.md: secrets travel on stdin.
    """
    full = with_prologue(script, env=env, chdir=chdir)
    direct = command_line(full)
    if stdin is None and not sensitive and len(direct) <= CMD_LINE_LIMIT:
        return WireCommand(direct, None, via_stdin=False)
    if isinstance(stdin, str):
        stdin = stdin.encode("utf-8")
    payload = base64.b64encode(full.encode("utf-8")) + b"\r\n"
    payload += (base64.b64encode(stdin) if stdin else b"") + b"\r\n"
    return WireCommand(command_line(BOOTSTRAP), payload, via_stdin=True)
