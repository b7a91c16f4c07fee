"""Counterpart of ``winfra/scripts/docker_desktop_install.ps1``: the Desktop installer and
docker-users membership.

The installer's behaviour (files, uninstall key, docker-users, exit codes 0/3 and injected
ones) is in winfra/sim/models/docker.py ``run_desktop_installer``. Step for fault injection:
``docker:desktop_install`` (a fault with ``installer_exit_code`` sets the exit code, e.g. 1603 or
3010).
"""

from __future__ import annotations

import re
from typing import Any

from winfra.sim.models import docker as dm
from winfra.sim.models.faults import InstallerExitFault
from winfra.sim.scripting import PowerShellError, ScriptCall

dm._register_hooks()


def installer_command_line(args: list[str]) -> str:
    """The argument string docker_desktop_install.ps1 hands to Start-Process: each argument
    quoted for the MS C runtime parser (an argument with a blank or a quote goes in quotes, an
    embedded quote becomes \\", backslashes before a quote or the closing quote are doubled;
    https://learn.microsoft.com/cpp/c-language/parsing-c-command-line-arguments)."""
    out = []
    for text in args:
        if not text or re.search(r'[\s"]', text):
            text = re.sub(r'(\\*)"', r'\1\1\\"', text)
            text = re.sub(r"(\\+)$", r"\1\1", text)
            text = f'"{text}"'
        out.append(text)
    return " ".join(out)


def parse_command_line(line: str) -> list[str]:
    """argv as the installer's runtime reads ``line`` (the MS C runtime rules: 2n backslashes and
    a quote give n backslashes and toggle quoting, 2n+1 give n backslashes and a literal quote,
    other backslashes are literal; blanks outside quotes separate arguments)."""
    argv: list[str] = []
    cur: list[str] = []
    quoted = False
    has_token = False
    i = 0
    while i < len(line):
        ch = line[i]
        if ch == "\\":
            j = i
            while j < len(line) and line[j] == "\\":
                j += 1
            count = j - i
            if j < len(line) and line[j] == '"':
                cur.append("\\" * (count // 2))
                if count % 2:
                    cur.append('"')
                    j += 1
            else:
                cur.append("\\" * count)
            has_token = True
            i = j
            continue
        if ch == '"':
            quoted = not quoted
            has_token = True
        elif ch in " \t" and not quoted:
            if has_token:
                argv.append("".join(cur))
                cur, has_token = [], False
        else:
            cur.append(ch)
            has_token = True
        i += 1
    if has_token:
        argv.append("".join(cur))
    return argv


def run(call: ScriptCall) -> Any:
    p = call.params
    host = call.host
    fs = host.fs
    result: dict[str, Any] = {"exit_code": None, "result": None, "version": None, "users_added": []}
    if p.get("installer"):
        installer = str(p["installer"])
        if not fs.is_file(installer):
            raise PowerShellError(f"Cannot find path '{installer}' because it does not exist.")
        actual = fs.sha256(installer)
        if p.get("sha256") and actual != str(p["sha256"]).lower():
            raise PowerShellError(
                f"checksum mismatch for {installer}: expected sha256 {p['sha256']}, got {actual}; "
                "nothing was run"
            )
        injected = None
        try:
            call.step("docker:desktop_install")
        except InstallerExitFault as exc:
            injected = exc.exit_code
        code = dm.run_desktop_installer(
            host,
            installer,
            # What the real installer receives after the script's quoting and its own parsing.
            parse_command_line(installer_command_line([str(a) for a in p.get("args") or []])),
            installing_user=call.user,
            exit_code=injected,
        )
        result["exit_code"] = code
        if code == 0:
            result["result"] = "installed"
        elif code == 3:
            result["result"] = "already_installed"
        elif code == 3010:
            result["result"] = "reboot_required"
        else:
            tail = ""
            if fs.is_file(dm.DESKTOP_ADMIN_LOG):
                lines = fs.read_bytes(dm.DESKTOP_ADMIN_LOG).decode("utf-8", "replace").splitlines()
                tail = "\n".join(lines[-15:])
            raise PowerShellError(
                f"Docker Desktop installer exited with code {code}. Last lines of the install log:\n{tail}"
            )
    version = host.registry.get(dm.DESKTOP_UNINSTALL_KEY, "DisplayVersion")
    result["version"] = str(version) if version else None
    users = [str(u) for u in p.get("users") or [] if u]
    if users:
        if host.users.group(dm.DOCKER_USERS) is None:
            raise PowerShellError(
                "the local group docker-users does not exist: Docker Desktop is not installed on this host"
            )
        for user in users:
            if host.users.get(user) is None:
                # Add-LocalGroupMember: PrincipalNotFound.
                raise PowerShellError(
                    f"Principal {user} was not found.",
                    category="ObjectNotFound",
                    error_id="PrincipalNotFound,Microsoft.PowerShell.Commands.AddLocalGroupMemberCommand",
                )
            if host.users.add_member(dm.DOCKER_USERS, user):
                result["users_added"].append(user)
    return result
