"""Run a command as another Windows user (pyinfra's ``_su_user``/``_su_password``).

WSL distros, ``.wslconfig`` and Docker Desktop's distros belong to a *target user*, who is not
necessarily the WinRM user (windows-facts A.5, A.7, A.8, B.6). The connector calls
:func:`run_as_user_command` to wrap a PowerShell command in the shipped ``run_as_user`` script,
which runs it through a one-off scheduled task as that user and collects its output, and
:func:`parse_run_as_output` to unwrap the result::

    script, stdin = run_as_user_command(command_text, user, password, timeout)
    # run `script` (a rendered write-mode script) with `stdin` as the connector's _stdin
    exit_code, stdout_lines, stderr_lines = parse_run_as_output(outer_stdout_lines)

The password travels on stdin only (``$WinfraStdin``), never in the script text or its params
(docs/ARCHITECTURE.md "Scripts"). While the target user is logged on, the task runs in their
session (interactive logon; WSL2 needs that session to start its VM, windows-facts A.7); otherwise
it needs the password (a batch logon, which needs "Log on as a batch job"). The script fails with
a clear message when the user does not exist, has no profile (never logged on), or is not logged
on and no password is known.
"""

from __future__ import annotations

import base64
import binascii
import json
import re

from winfra.powershell.scripts import render_script
from winfra.transport.clixml import decode_stderr, split_lines

SCRIPT_NAME = "run_as_user"
DEFAULT_TIMEOUT = 600

# LocalSystem in its spellings: WSL as SYSTEM is unsupported "by design" (windows-facts A.7,
# https://github.com/microsoft/WSL/issues/11280), and a target user is a person's account.
_SYSTEM_NAMES = {
    "system",
    "localsystem",
    "nt authority\\system",
    "nt-autorität\\system",
    "s-1-5-18",
    ".\\system",
}
_SERVICE_ACCOUNTS = {"nt authority\\localservice", "nt authority\\networkservice", "s-1-5-19", "s-1-5-20"}
_USER_RE = re.compile(r"^(?:[A-Za-z0-9._-]+\\|\.\\)?[^\\/\"\[\]:;|=,+*?<>]{1,104}$")


class RunAsError(ValueError):
    """A run-as request that is refused before anything reaches the host."""


def check_target_user(user: str) -> str:
    """Validate a target user name; returns it stripped. Refuses SYSTEM and service accounts."""
    if not isinstance(user, str) or not user.strip():
        raise RunAsError("run-as: the target user is empty; set user= or the WinRM user")
    name = user.strip()
    lowered = name.lower()
    if lowered in _SYSTEM_NAMES or lowered.endswith("\\system") or lowered in _SERVICE_ACCOUNTS:
        raise RunAsError(
            f"run-as: refusing to run as {name!r}: WSL and per-user state are not supported for "
            "LocalSystem or service accounts (microsoft/WSL#11280). Use the person's account."
        )
    if not _USER_RE.match(name):
        raise RunAsError(
            f"run-as: {name!r} is not a valid Windows user name (use name, DOMAIN\\name or .\\name)"
        )
    return name


def run_as_user_command(
    command_text: str,
    user: str,
    password: str | None,
    timeout: int | None,
    *,
    require_logged_on: bool = False,
    in_process: bool = False,
) -> tuple[str, bytes]:
    """The wrapper script (rendered ``run_as_user``) and the stdin bytes to send with it.

    ``command_text`` is the PowerShell text to run as ``user``; ``password`` (or None for an
    interactive logon of a logged-on user) goes on stdin only. ``timeout`` is in seconds.
    ``in_process``: the scheduled task's own powershell.exe runs the command, one process launch
    fewer than the default child powershell.exe. Only for a rendered winfra script: its output is
    PowerShell objects, whereas a native program's raw output bytes (wsl.exe's UTF-16LE) arrive
    unchanged only from a child process whose stdout is the redirected file. A script run
    in-process must capture a native program's stderr itself: under the launcher's ``2>&1`` each
    such line is an error record, which stops a script whose ``$ErrorActionPreference`` is Stop.
    """
    name = check_target_user(user)
    if not isinstance(command_text, str) or not command_text.strip():
        raise RunAsError("run-as: empty command")
    if timeout is not None and (not isinstance(timeout, int) or timeout <= 0):
        raise RunAsError(f"run-as: timeout must be a positive number of seconds, got {timeout!r}")
    params = {
        "user": name,
        "script": command_text,
        "timeout_seconds": int(timeout or DEFAULT_TIMEOUT),
        "require_logged_on": bool(require_logged_on),
        "in_process": bool(in_process),
    }
    if password is not None and ("\r" in password or "\n" in password):
        raise RunAsError(
            f"run-as: the password for {name!r} contains a line break, which Windows logons refuse"
        )
    script = render_script(SCRIPT_NAME, params)
    stdin = password.encode("utf-8") if password else b""
    return script, stdin


def _decode_stream(b64: str) -> str:
    try:
        raw = base64.b64decode(b64 or "", validate=True)
    except (binascii.Error, ValueError) as exc:
        raise RunAsError(f"run-as: malformed output from {SCRIPT_NAME}: {exc}") from exc
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    return raw.decode("utf-8", errors="replace")


def _lines(text: str) -> list[str]:
    # The same rules as every other command's output: CR (also a lone one) stripped, no
    # trailing empty line (winfra.transport.clixml.split_lines).
    return split_lines(text)


def parse_run_as_output(stdout_lines: list[str]) -> tuple[int, list[str], list[str]]:
    """``(inner exit code, inner stdout lines, inner stderr lines)`` from the wrapper's stdout."""
    for line in reversed(stdout_lines):
        text = line.strip()
        if not text.startswith("{"):
            continue
        try:
            data = json.loads(text)
        except json.JSONDecodeError:
            continue
        if isinstance(data, dict) and "exit_code" in data and "stdout" in data:
            if not (
                isinstance(data["exit_code"], int)
                and isinstance(data["stdout"], str)
                and isinstance(data.get("stderr", ""), (str, type(None)))
            ):
                # A TypeError/ValueError here would escape to pyinfra and abort the whole run.
                raise RunAsError(f"run-as: malformed result document from {SCRIPT_NAME}: {text[:200]!r}")
            return (
                int(data["exit_code"]),
                _lines(_decode_stream(data["stdout"])),
                # The inner powershell.exe's stderr was redirected to a file, so its errors may be
                # CLIXML like any other command's (anchors-and-winrm.md §3.4).
                decode_stderr(_decode_stream(data.get("stderr", ""))),
            )
    shown = " | ".join(stdout_lines)[:200]
    raise RunAsError(f"run-as: {SCRIPT_NAME} printed no result document: {shown!r}")
