"""Counterpart of ``winfra/scripts/restart_computer.ps1``: delete AutoLogonChecked and schedule
``shutdown.exe /r /t <delay>`` (anchors-and-winrm.md section 1.6, win_reboot).

rc 1190 ("A system shutdown has already been scheduled.") makes the script abort the scheduled
one (``shutdown /a``) and retry once, as win_reboot does. Without the shutdown privilege
(a non-elevated token) shutdown.exe fails with "Access is denied.(5)" and rc 5 (assumption: the
Win32 ERROR_ACCESS_DENIED text as shutdown.exe prints it).
"""

from __future__ import annotations

from typing import Any

from winfra.sim.models.host import AUTOLOGON_CHECKED, RebootAlreadyScheduled
from winfra.sim.scripting import ScriptCall


def run(call: ScriptCall) -> Any:
    host = call.host
    delay = max(0, int(call.params.get("delay") or 0))
    with host.lock:
        host.registry.delete_key(AUTOLOGON_CHECKED)
    if not call.elevated:
        return {"rc": 5, "output": "Access is denied.(5)", "aborted_previous": False, "in_progress": False}
    call.step("restart_computer:shutdown")
    aborted = False
    try:
        host.schedule_reboot(float(delay))
    except RebootAlreadyScheduled:
        host.abort_reboot()
        aborted = True
        host.schedule_reboot(float(delay))
    return {"rc": 0, "output": "", "aborted_previous": aborted, "in_progress": False}
