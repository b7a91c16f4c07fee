"""Counterpart of ``winfra/scripts/get_boot_state.ps1``: boot id and readiness (anchors §1.6)."""

from __future__ import annotations

from typing import Any

from winfra.sim.scripting import ScriptCall
from winfra.sim.scripts._state_windows import iso_o, reboot_signals


def run(call: ScriptCall) -> Any:
    host = call.host
    with host.lock:
        signals = reboot_signals(host)
        return {
            "nonce": str(call.params.get("nonce") or ""),
            "last_boot_filetime": host.boot.last_boot_filetime,
            "last_boot_time": iso_o(host.boot.last_boot),
            "autologon_checked": signals["autologon_checked"],
            "servicing_in_progress": signals["servicing_in_progress"],
        }
