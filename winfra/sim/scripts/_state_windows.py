"""The ``windows`` and ``features`` sections of get_host_state (owner: features issue).

Mirrors the ``#region windows`` and ``#region features`` blocks of
``winfra/scripts/get_host_state.ps1``; each value cites where Windows gets it.
"""

from __future__ import annotations

import datetime as _dt
from typing import Any

from winfra.sim.models.host import (
    ACTIVE_COMPUTER_NAME_KEY,
    AUTOLOGON_CHECKED,
    CBS_REBOOT_PENDING,
    CBS_SERVICING_IN_PROGRESS,
    COMPUTER_NAME_KEY,
    POLICIES_SYSTEM,
    SESSION_MANAGER,
    WU_REBOOT_REQUIRED,
    SimHost,
)
from winfra.sim.scripting import ScriptCall

# The fixed lists get_host_state.ps1 reads (windows-facts.md D.2 names).
OPTIONAL_FEATURES = (
    "Microsoft-Hyper-V-All",
    "Microsoft-Hyper-V",
    "VirtualMachinePlatform",
    "Microsoft-Windows-Subsystem-Linux",
    "Containers",
    "HypervisorPlatform",
)
SERVER_FEATURES = ("Hyper-V", "Containers")
# DISM cmdlets run without an elevated token fail with ERROR_ELEVATION_REQUIRED (740), whose text
# is "The requested operation requires elevation." (https://learn.microsoft.com/windows/win32/debug/
# system-error-codes--500-999-; that DISM surfaces it this way is an assumption).
ELEVATION_REQUIRED = "The requested operation requires elevation."


def iso_o(timestamp: float) -> str:
    """``DateTime.ToUniversalTime().ToString('o')``: 7 fractional digits and ``Z``
    (https://learn.microsoft.com/dotnet/standard/base-types/standard-date-and-time-format-strings#Roundtrip)."""
    moment = _dt.datetime.fromtimestamp(timestamp, _dt.timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond:06d}0Z"


def identity_name(host: SimHost, user: str) -> tuple[str, str | None]:
    """``WindowsIdentity.GetCurrent().Name`` (``HOST\\user`` for a local account) and its SID."""
    account = host.users.get(user)
    if account is None:
        return user, None
    return f"{host.os.computer_name}\\{account.name}", account.sid


def windows_section(call: ScriptCall) -> Any:
    host = call.host
    with host.lock:
        os_info, hw = host.os, host.hardware
        name, sid = identity_name(host, call.user)
        policy = host.registry.get(POLICIES_SYSTEM, "LocalAccountTokenFilterPolicy")
        memory = hw.memory_mb * 1024 * 1024
        return {
            "hostname": os_info.computer_name,
            "caption": os_info.caption,
            "edition": os_info.edition,
            "installation_type": os_info.installation_type,
            # Win32_OperatingSystem.ProductType 1 / 3 (the model knows workstation and server).
            "product_type": os_info.product_type,
            "build": os_info.build,
            "ubr": os_info.ubr,
            "display_version": os_info.display_version,
            "ui_language": os_info.ui_language,
            "manufacturer": hw.manufacturer,
            "model": hw.model,
            # Win32_ComputerSystem.HypervisorPresent reports the CPUID "hypervisor present" bit,
            # which every hypervisor sets for its guests, so a VM always reads True (assumption
            # from the CPUID definition; the model's own flag is Windows' hypervisor running).
            "hypervisor_present": bool(hw.hypervisor_present or hw.is_vm),
            "virtualization": {
                # Reads False while a hypervisor runs (windows-facts.md D.5, microsoft/WSL#12379).
                "firmware_enabled": hw.reported_virtualization_firmware_enabled(),
                "slat": hw.slat,
                "vm_monitor_mode": hw.vm_monitor_mode_extensions,
                "dep": hw.dep,
            },
            "elevated": bool(call.elevated),
            "local_account_token_filter_policy": policy,
            "winrm_user": name,
            "winrm_user_sid": sid,
            # The model has one memory size; TotalPhysicalMemory on real hardware is a little
            # lower (firmware reservations), which the preflight tolerates.
            "memory_bytes": memory,
            "memory_installed_bytes": memory,
            "logical_processors": hw.logical_processors,
            # Reading the WSMan: drive needs an elevated token; the script falls back to 500.
            "max_envelope_size_kb": host.winrm.max_envelope_size_kb if call.elevated else 500,
            "last_boot_time": iso_o(host.boot.last_boot),
            "last_boot_filetime": host.boot.last_boot_filetime,
        }


def reboot_signals(host: SimHost) -> dict[str, Any]:
    """The pending-reboot and readiness signals (windows-facts.md D.4; anchors section 1.6)."""
    reg = host.registry
    renames = [x for x in (reg.get(SESSION_MANAGER, "PendingFileRenameOperations", []) or []) if x]
    active = str(reg.get(ACTIVE_COMPUTER_NAME_KEY, "ComputerName", "") or "")
    upcoming = str(reg.get(COMPUTER_NAME_KEY, "ComputerName", "") or "")
    return {
        "cbs_reboot_pending": reg.key_exists(CBS_REBOOT_PENDING),
        "windows_update_reboot_required": reg.key_exists(WU_REBOOT_REQUIRED),
        "pending_computer_rename": bool(active and upcoming and active.lower() != upcoming.lower()),
        "pending_file_rename_operations": len(renames),
        "servicing_in_progress": bool(reg.get(CBS_SERVICING_IN_PROGRESS, "ServicingInProgress", 0)),
        "autologon_checked": reg.key_exists(AUTOLOGON_CHECKED),
    }


def features_section(call: ScriptCall) -> Any:
    host = call.host
    with host.lock:
        error = None
        optional: dict[str, Any] = dict.fromkeys(OPTIONAL_FEATURES)
        server: dict[str, Any] | None = None
        if host.os.is_server:
            server = dict.fromkeys(SERVER_FEATURES)
        if not call.elevated:
            error = ELEVATION_REQUIRED
        else:
            for name in OPTIONAL_FEATURES:
                feature = host.features.get(name)
                # DISM sees server features too, under the same name (model: one entry for both).
                optional[name] = None if feature is None else feature.dism_state
            if server is not None:
                for name in SERVER_FEATURES:
                    feature = host.features.get(name, kind="server")
                    server[name] = None if feature is None else feature.server_state
        return {"optional": optional, "server": server, "reboot": reboot_signals(host), "error": error}
