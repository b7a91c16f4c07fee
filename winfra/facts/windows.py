"""Windows host facts: OS and hardware, optional features / server roles, pending reboots.

Every fact here is a view of the ``windows`` and ``features`` sections of the batched
``get_host_state`` script (docs/ARCHITECTURE.md "Facts and the round-trip budget"): however many
of them an operation reads, the host pays one round trip per state change.

Derived values (``is_vm``, ``is_home``, the pending-reboot reasons) are computed here, in Python,
so the rules are unit-testable without a host and the PowerShell stays a plain reader.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone
from typing import Any

from winfra.facts.host import HostStateFact

# DISM feature states (windows-facts.md D.1). Anything else (Superseded, PartiallyInstalled, an
# unknown future value) counts as "not enabled".
FEATURE_ENABLED = "Enabled"
FEATURE_ENABLE_PENDING = "EnablePending"
FEATURE_DISABLE_PENDING = "DisablePending"
FEATURE_PAYLOAD_REMOVED = "DisabledWithPayloadRemoved"
# ServerManager InstallState values (windows-facts.md D.3).
ROLE_INSTALLED = "Installed"
ROLE_INSTALL_PENDING = "InstallPending"
ROLE_REMOVED = "Removed"

# Home editions: EditionID Core, CoreN, CoreSingleLanguage, CoreCountrySpecific (the registry
# value HKLM\SOFTWARE\Microsoft\Windows NT\CurrentVersion\EditionID; "Core" is Home, e.g.
# Bionic-OSE/BioniDKU modules/lib/GetEdition.ps1). Hyper-V and Windows containers are not
# available there (windows-facts.md D.2, E).
_HOME_EDITION = re.compile(r"^Core(N|SingleLanguage|CountrySpecific)?$", re.IGNORECASE)

# Win32_ComputerSystem Manufacturer/Model values of common hypervisors' guests. A hypervisor
# being *present* does not mean the host is a VM: Windows with Hyper-V, VBS or WSL2 runs its own
# hypervisor under the root partition (windows-facts.md D.5), so the VM test uses the firmware
# identity instead. Values: Hyper-V "Microsoft Corporation"/"Virtual Machine", VMware
# "VMware, Inc."/"VMware Virtual Platform" or "VMware7,1", VirtualBox "innotek GmbH"/"VirtualBox",
# QEMU/KVM "QEMU", Xen "Xen"/"HVM domU", Parallels "Parallels ...", EC2 "Amazon EC2",
# GCE "Google"/"Google Compute Engine".
_VM_MODEL = re.compile(r"virtual machine|vmware|virtualbox|kvm|qemu|hvm domu|parallels|bochs", re.I)
_VM_MANUFACTURER = re.compile(r"^(vmware|innotek|qemu|xen|parallels|amazon ec2|google|red hat)", re.I)


def is_home_edition(edition: str | None) -> bool:
    return bool(edition) and bool(_HOME_EDITION.match(edition or ""))


def is_server_product(product_type: str | None) -> bool:
    """Whether ``Win32_OperatingSystem.ProductType`` (as get_host_state names it) is a Server SKU:
    2 domain controller or 3 server, not 1 workstation
    (https://learn.microsoft.com/windows/win32/cimwin32prov/win32-operatingsystem)."""
    return product_type in ("server", "domain_controller")


def looks_like_vm(manufacturer: str | None, model: str | None) -> bool:
    return bool(_VM_MODEL.search(model or "")) or bool(_VM_MANUFACTURER.match(manufacturer or ""))


def parse_windows_time(value: str | None) -> datetime | None:
    """Parse ``DateTime.ToString('o')`` (7 fractional digits, ``Z`` or an offset) as aware UTC."""
    if not value:
        return None
    match = re.match(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)?$", value.strip())
    if not match:
        return None
    base, fraction, zone = match.groups()
    micro = (fraction or "0")[:6].ljust(6, "0")
    zone = "+00:00" if zone in (None, "Z") else zone
    return datetime.fromisoformat(f"{base}.{micro}{zone}").astimezone(timezone.utc)


def normalize_windows_info(section: Any) -> dict[str, Any]:
    """The ``windows`` section plus derived keys: ``is_server``, ``is_home``, ``is_vm``."""
    info: dict[str, Any] = dict(section or {})
    if not info:
        return info
    info.setdefault("max_envelope_size_kb", 500)
    info["is_server"] = is_server_product(info.get("product_type"))
    info["is_home"] = not info["is_server"] and is_home_edition(info.get("edition"))
    info["is_vm"] = looks_like_vm(info.get("manufacturer"), info.get("model"))
    return info


class WindowsInfo(HostStateFact[dict]):
    """OS, hardware and token facts of a Windows host.

    Keys (from ``get_host_state.ps1``'s ``windows`` region): ``hostname``, ``caption``,
    ``edition`` (EditionID), ``installation_type``, ``product_type`` (``workstation``,
    ``domain_controller`` or ``server``), ``build``, ``ubr``, ``display_version``,
    ``ui_language``, ``manufacturer``, ``model``, ``hypervisor_present``, ``virtualization``
    (``firmware_enabled``, ``slat``, ``vm_monitor_mode``, ``dep``), ``elevated``,
    ``local_account_token_filter_policy``, ``winrm_user``, ``winrm_user_sid``, ``memory_bytes``,
    ``memory_installed_bytes``, ``logical_processors``, ``max_envelope_size_kb``,
    ``last_boot_time``, ``last_boot_filetime``; derived: ``is_server``, ``is_home``, ``is_vm``.

    The connector reads ``hostname``, ``build``, ``elevated`` and ``max_envelope_size_kb``.
    """

    section = "windows"

    @staticmethod
    def default() -> dict:
        return {}

    def process_section(self, section: Any) -> dict:
        return normalize_windows_info(section)


class _FeatureStates(HostStateFact[dict]):
    """Base of the views of one part (``key``) of the ``features`` section: name -> state."""

    abstract = True
    section = "features"
    key: str = ""

    @staticmethod
    def default() -> dict:
        return {}

    def process_section(self, section: Any) -> dict:
        return dict((section or {}).get(self.key) or {})


class OptionalFeatures(_FeatureStates):
    """State of the optional features winfra manages, by name (``Enabled``, ``Disabled``,
    ``EnablePending``, ``DisabledWithPayloadRemoved``...), ``None`` when this edition lacks it.

    Only a fixed list is read (``Microsoft-Hyper-V-All``, ``Microsoft-Hyper-V``,
    ``VirtualMachinePlatform``, ``Microsoft-Windows-Subsystem-Linux``, ``Containers``,
    ``HypervisorPlatform``): reading the whole catalogue takes seconds (windows-facts.md D.1).
    """

    key = "optional"


class ServerFeatures(_FeatureStates):
    """InstallState of the server roles winfra manages (``Hyper-V``, ``Containers``): ``Installed``,
    ``Available``, ``Removed`` or ``InstallPending``. Empty on a client (no ServerManager)."""

    key = "server"


def pending_reboot_from_section(section: Any) -> dict[str, Any]:
    """Reduce the ``features`` section to the pending-reboot verdict.

    ``reasons`` are the signals that mean Windows really waits for a restart (windows-facts.md
    D.4): CBS RebootPending, Windows Update RebootRequired, a pending computer rename, and
    features in EnablePending / DisablePending / InstallPending. ``noisy`` holds
    PendingFileRenameOperations, which many installers set and which alone never justifies a
    reboot (ansible/ansible#63595; anchors-and-winrm.md section 5 "Beat" item 4).
    """
    section = section or {}
    raw = section.get("reboot") or {}
    reasons: list[str] = []
    if raw.get("cbs_reboot_pending"):
        reasons.append("CBS RebootPending")
    if raw.get("windows_update_reboot_required"):
        reasons.append("Windows Update RebootRequired")
    if raw.get("pending_computer_rename"):
        reasons.append("computer rename pending")
    pending_features: dict[str, str] = {}
    for name, state in (section.get("optional") or {}).items():
        if state in (FEATURE_ENABLE_PENDING, FEATURE_DISABLE_PENDING):
            pending_features[name] = state
    for name, state in (section.get("server") or {}).items():
        if state == ROLE_INSTALL_PENDING:
            pending_features[name] = state
    reasons.extend(f"feature {name} is {state}" for name, state in pending_features.items())
    noisy: list[str] = []
    if raw.get("pending_file_rename_operations"):
        noisy.append("PendingFileRenameOperations")
    return {
        "pending": bool(reasons),
        "reasons": reasons,
        "noisy": noisy,
        "cbs_reboot_pending": bool(raw.get("cbs_reboot_pending")),
        "pending_features": pending_features,
        "servicing_in_progress": bool(raw.get("servicing_in_progress")),
        "autologon_checked": bool(raw.get("autologon_checked")),
    }


class PendingReboot(HostStateFact[dict]):
    """Why Windows waits for a restart: ``{"pending", "reasons", "noisy", "cbs_reboot_pending",
    "pending_features", "servicing_in_progress", "autologon_checked"}``.

    ``pending`` is False when only the noisy PendingFileRenameOperations signal is set.
    """

    section = "features"

    @staticmethod
    def default() -> dict:
        return pending_reboot_from_section(None)

    def process_section(self, section: Any) -> dict:
        return pending_reboot_from_section(section)


class LastBootTime(HostStateFact["datetime | None"]):
    """When Windows last booted (``Win32_OperatingSystem.LastBootUpTime``), as aware UTC."""

    section = "windows"

    def process_section(self, section: Any) -> datetime | None:
        return parse_windows_time((section or {}).get("last_boot_time"))
