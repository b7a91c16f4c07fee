"""Helpers shared by the WSL script counterparts (owner: WSL helper).

:func:`run_wsl` is the counterpart of the ``Invoke-WinfraWsl`` function of the WSL scripts: it
calls ``call.step(<step>)`` first (fault injection, winfra/sim/scripting.py), turns an injected
step failure into a failed wsl.exe run (exit -1 with a ``Wsl/...`` code on stdout, as wsl.exe
reports errors: windows-facts A.2), records the step like the script's ``$script:steps`` list, and
runs the simulated wsl.exe (:mod:`winfra.sim.models.wsl`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from winfra.sim.models.faults import FaultError
from winfra.sim.models.wsl import WslExe, WslRun, fault_failure
from winfra.sim.scripting import PowerShellError, ScriptCall

# Well-known SID of LocalSystem (https://learn.microsoft.com/windows/win32/secauthz/well-known-sids).
SYSTEM_SID = "S-1-5-18"


def wsl_for(call: ScriptCall) -> WslExe:
    """wsl.exe for the user the script runs as. A missing wsl.exe fails like Process.Start does."""
    host = call.host
    if host.wsl.package.kind == "absent":
        raise PowerShellError(
            'Exception calling "Start" with "1" argument(s): "The system cannot find the file specified"',
            category="NotSpecified",
            error_id="Win32Exception",
        )
    return WslExe(host, call.user)


def check_identity(call: ScriptCall) -> None:
    """The scripts refuse LocalSystem and a user other than the expected target (windows-facts A.7)."""
    u = call.host.users.get(call.user)
    if u is None or call.user.lower() in ("system", "nt authority\\system"):
        raise PowerShellError(
            "winfra: refusing to run WSL as LocalSystem (unsupported, microsoft/WSL#11280)."
        )
    expected = str(call.params.get("user") or "")
    if expected:
        bare = expected.split("\\")[-1].split("@")[0]
        if bare.lower() != u.name.lower():
            raise PowerShellError(
                f"winfra: this script runs as '{call.host.os.computer_name}\\{u.name}', not as the "
                f"target user '{expected}'."
            )


def run_wsl(
    call: ScriptCall,
    steps: list[dict[str, Any]] | None,
    step: str,
    action: Callable[..., WslRun],
    *args: Any,
    **kwargs: Any,
) -> WslRun:
    try:
        call.step(step)
        result = action(*args, **kwargs)
    except FaultError as exc:
        if "E_ACCESSDENIED" in exc.message and step == "wsl:manage_move":
            # microsoft/WSL#40716: the VHD moves, then the call fails and BasePath stays stale.
            result = action(*args, access_denied_after_move=True, **kwargs)
        else:
            result = fault_failure(exc.message)
    if steps is not None:
        steps.append({"step": step, "exit_code": result.exit_code, "error_code": result.error_code})
    return result
