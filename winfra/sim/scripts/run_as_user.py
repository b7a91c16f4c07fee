"""Counterpart of ``winfra/scripts/run_as_user.ps1``: run a command as another user (owner: WSL helper).

Mirrors the script's checks in order (windows-facts A.7, anchors-and-winrm 1.5): the account
exists (NTAccount.Translate), has a profile (Win32_UserProfile; never logged on = none), is
logged on when no password is given or the step needs it (an explorer.exe of theirs), the
password is right (Register-ScheduledTask fails with "The user name or password is incorrect."),
then runs the inner command as that user and returns its exit code and base64 output. The scheduled task and
the private output directory are created and removed within the call, as on Windows.

The inner command is what the connector would have run (``wire.with_prologue`` + text): a
rendered winfra script goes to its counterpart with ``ScriptCall.user`` = the target user; any
other text goes to the read-only interpreter. Steps: ``runas:register``, ``runas:start``.
"""

from __future__ import annotations

import base64
import json
import re
import uuid
from typing import Any

from winfra.powershell.quoting import ps_unquote
from winfra.powershell.scripts import load_script, parse_header
from winfra.sim.scripting import PowerShellError, ScriptCall, ScriptExit
from winfra.sim.shell import psoutput
from winfra.sim.shell.executor import missing_directory_error, split_preamble

_LITERAL = r"'(?:[^'\u2018\u2019\u201a\u201b]|['\u2018\u2019\u201a\u201b]{2})*'"
_RENDERED = re.compile(
    rf"\A# winfra-script: [^\n]*\n& \{{\n(?P<body>.*)\}} -InputJson (?P<literal>{_LITERAL})\s*\Z", re.S
)
RUNAS_DIR = r"C:\ProgramData\winfra\runas"
# The wrapper's own task and files are removed again before it returns (winfra/scripts/
# run_as_user.ps1), so the executor does not count it as a state change: run_inner counts the
# change of a write-mode script it runs instead.
COUNTS_OWN_STATE_CHANGES = True


def _b64(text: str) -> str:
    return base64.b64encode(text.encode("utf-8")).decode("ascii")


def run_inner(call: ScriptCall, target: str, script: str) -> tuple[int, str, str]:
    """Run ``script`` as ``target``; ``(exit code, stdout text, stderr text)``."""
    host = call.host
    preamble = split_preamble(script)
    script = preamble.script
    env = {**host.user_env(target), **preamble.env}
    cwd = preamble.cwd
    if cwd is not None and not host.fs.is_dir(cwd):
        return 1, "", missing_directory_error(cwd).message
    token = host.token(target)
    header = parse_header(script)
    if header is None:
        try:
            from winfra.sim.shell.interpreter import interpret
        except ImportError:
            word = script.strip().split()[0] if script.strip() else ""
            return (
                1,
                "",
                f"The term '{word}' is not recognized as the name of a cmdlet, function, script file, "
                "or operable program.",
            )
        try:
            out, err, code = interpret(host, target, script, env, cwd=cwd)
        except PowerShellError as exc:
            return exc.exit_code, "", exc.message
        out_text = out.decode("utf-8", "replace") if isinstance(out, bytes) else out
        err_text = err.decode("utf-8", "replace") if isinstance(err, bytes) else err
        return int(code), out_text, err_text
    m = _RENDERED.match(script)
    shipped = load_script(header.name)
    body = shipped.text if shipped.text.endswith("\n") else shipped.text + "\n"
    if m is None or m["body"] != body or header.sha256 != shipped.sha256:
        return 1, "", f"winsim: rendered script '{header.name}' does not match the shipped script"
    import importlib

    module = importlib.import_module(f"winfra.sim.scripts.{header.name}")
    host.counters.add_script(header.name)
    if header.mode == "write":
        host.counters.add("state_changes")
    params = json.loads(ps_unquote(m["literal"]))
    # RunLevel Highest: an administrator's task gets the full token (no UAC filtering in a task).
    inner = ScriptCall(
        host=host,
        params=params,
        user=host.users.require(target).name,
        elevated=token.is_admin,
        stdin=None,
        step_hook=call.step_hook,
    )
    try:
        result = module.run(inner)
    except ScriptExit as exc:
        out = "".join(line + "\r\n" for line in inner.extra_stdout)
        if exc.output is not None:
            out += psoutput.convert_to_json(exc.output) + "\r\n"
        return exc.code, out, ""
    except PowerShellError as exc:
        # Errors arrive as plain text either way: a child process's stderr is redirected to a
        # file, and the in-process launcher writes each error record's message.
        return exc.exit_code, "".join(line + "\r\n" for line in inner.extra_stdout), exc.message + "\r\n"
    out = "".join(line + "\r\n" for line in inner.extra_stdout) + psoutput.convert_to_json(result) + "\r\n"
    return 0, out, ""


def run(call: ScriptCall) -> Any:
    host = call.host
    p = call.params
    password = (call.stdin or "").rstrip("\r\n") or None
    name = str(p.get("user") or "")
    bare = name.split("\\")[-1].split("@")[0]
    u = host.users.get(bare)
    if u is None:
        raise PowerShellError(
            f"winfra run-as: the user '{name}' does not exist on {host.os.computer_name}. Create the account "
            "or fix the target user."
        )
    qualified = f"{host.os.computer_name}\\{u.name}"
    if not u.has_profile:
        raise PowerShellError(
            f"winfra run-as: the user '{qualified}' has no profile on {host.os.computer_name} "
            "(never logged on). "
            "Log on once as that user, then re-run."
        )
    # A logged-on user's task runs in their session (Interactive logon, password unused); else a
    # batch logon with the stored password (the script's comment gives the sources).
    logon = "interactive"
    if not u.logged_on:
        if password is None:
            raise PowerShellError(
                f"winfra run-as: the user '{qualified}' must be logged on for this step but is not "
                "(no password in host data for an unattended logon). Log on as that user, or put the "
                "password in host data."
            )
        if p.get("require_logged_on"):
            raise PowerShellError(
                f"winfra run-as: the user '{qualified}' must be logged on for this step but is not. Log on "
                "interactively as that user and re-run."
            )
        logon = "password"
    task_dir = RUNAS_DIR + "\\" + uuid.uuid4().hex
    host.fs.mkdir(task_dir)
    try:
        call.step("runas:register")
        if logon == "password" and not host.users.check_password(u.name, password or ""):
            # Register-ScheduledTask with a wrong password: HRESULT 0x8007052E.
            raise PowerShellError(
                f"winfra run-as: could not register a task as '{qualified}': The user name or password is "
                "incorrect. Check the password in host data."
            )
        call.step("runas:start")
        # The task's action is a powershell.exe running the launcher (-File). In-process it runs
        # the inner script itself; otherwise it starts it in another powershell.exe
        # (-EncodedCommand, Start-Process with redirected output): one or two more process
        # launches on a real host (winfra/scripts/run_as_user.ps1).
        host.counters.add("powershell_launches", 1 if p.get("in_process") else 2)
        code, out, err = run_inner(call, u.name, str(p.get("script") or ""))
    finally:
        host.fs.rmtree(task_dir)
    return {
        "user": qualified,
        "sid": u.sid,
        "logon": logon,
        "exit_code": code,
        "stdout": _b64(out),
        "stderr": _b64(err),
    }
