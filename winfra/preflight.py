"""Preflight: can this Windows host get what the deploy asks for? Pure Python, no host needed.

Each rule reads the :class:`~winfra.facts.windows.WindowsInfo` fact (and, for one rule, the
:class:`~winfra.facts.windows.OptionalFeatures` / ``ServerFeatures`` facts) and returns a
:class:`Problem` naming the setting, the fix and the source of the requirement. The operation
``winfra.operations.windows.requirements`` runs them before any change; deploy code may call
:func:`enforce` directly, which raises :class:`PreflightError`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from pyinfra.api.exceptions import OperationError

from winfra.features import WINDOWS_11_BUILD

GIB = 1024**3

# Windows 10 2004 (build 19041) is the oldest Windows `wsl --install` (and so WSL2 as winfra
# installs it) supports: "You must be running Windows 10 version 2004 and higher (Build 19041
# and higher) or Windows 11" (MicrosoftDocs/WSL:WSL/install.md, "Prerequisites").
WSL2_MIN_BUILD = 19041
# Docker Desktop: Windows 10 22H2 (19045) or Windows 11 23H2 (22631) and later
# (windows-facts.md B.7, docker/docs windows-install.md).
DESKTOP_MIN_WIN10_BUILD = 19045
DESKTOP_MIN_WIN11_BUILD = 22631
# TotalPhysicalMemory is what Windows can use: installed RAM minus firmware and graphics
# reservations. When the installed size is unknown, allow this much below the threshold.
USABLE_MEMORY_SLACK = 0.94

LATFP_KEY = "HKLM\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Policies\\System"
LATFP_FIX = (
    f"from an elevated session on the host run: reg add {LATFP_KEY} /v LocalAccountTokenFilterPolicy "
    "/t REG_DWORD /d 1 /f (or connect as a domain administrator or the built-in Administrator)"
)


@dataclass(frozen=True)
class Wants:
    """What the deploy is about to set up on the host."""

    hyper_v: bool = False
    wsl2: bool = False
    docker_desktop: bool = False
    windows_containers: bool = False
    min_memory_gb: float = 4.0

    @property
    def needs_virtualization(self) -> bool:
        return self.hyper_v or self.wsl2 or self.docker_desktop

    @property
    def anything(self) -> bool:
        return self.needs_virtualization or self.windows_containers


@dataclass(frozen=True)
class Problem:
    rule: str
    message: str
    fix: str
    source: str

    def __str__(self) -> str:
        return f"{self.message}. Fix: {self.fix} [{self.rule}; source: {self.source}]"


def failure_message(host_name: str, problems: list[Problem]) -> str:
    """The report of a failed preflight: one line per problem, each with its fix and source."""
    lines = [f"{host_name}: preflight failed, nothing was changed:"]
    lines.extend(f"  - {p}" for p in problems)
    return "\n".join(lines)


class PreflightError(OperationError):
    """The host cannot get what the deploy asks for; nothing was changed."""

    def __init__(self, host_name: str, problems: list[Problem]) -> None:
        self.host_name = host_name
        self.problems = problems
        super().__init__(failure_message(host_name, problems))


def _windows_hypervisor_features_enabled(features: Mapping[str, Any] | None) -> bool:
    features = features or {}
    optional = features.get("optional") or {}
    server = features.get("server") or {}
    return (
        any(
            optional.get(name) == "Enabled"
            for name in (
                "Microsoft-Hyper-V-All",
                "Microsoft-Hyper-V",
                "VirtualMachinePlatform",
                "HypervisorPlatform",
            )
        )
        or server.get("Hyper-V") == "Installed"
    )


# -- rules ----------------------------------------------------------------------------------
Rule = Callable[[Mapping[str, Any], Wants, Mapping[str, Any] | None], "Problem | None"]


def rule_hyper_v_on_home(
    info: Mapping[str, Any], wants: Wants, features: Mapping[str, Any] | None
) -> Problem | None:
    """Hyper-V and Windows containers need Pro, Enterprise or Education (windows-facts.md D.2,
    D.5, E)."""
    if not info.get("is_home") or not (wants.hyper_v or wants.windows_containers):
        return None
    what = "Hyper-V" if wants.hyper_v else "Windows containers"
    return Problem(
        "hyper_v_on_home",
        f"{what} is not available on {info.get('caption') or 'Windows Home'} (edition {info.get('edition')})",
        "upgrade to Windows Pro, Enterprise or Education, or use WSL2 (VirtualMachinePlatform works on Home)",
        "windows-facts.md D.2, D.5, E",
    )


def rule_docker_desktop_on_server(
    info: Mapping[str, Any], wants: Wants, features: Mapping[str, Any] | None
) -> Problem | None:
    """ "Docker Desktop is not supported on server versions of Windows" (windows-facts.md B.7)."""
    if not wants.docker_desktop or not info.get("is_server"):
        return None
    return Problem(
        "docker_desktop_on_server",
        f"Docker Desktop is not supported on Windows Server ({info.get('caption') or info.get('edition')})",
        "install the native Docker engine on this host instead of Docker Desktop",
        "windows-facts.md B.7; docker/docs windows-install.md",
    )


def rule_build_too_old_for_wsl2(
    info: Mapping[str, Any], wants: Wants, features: Mapping[str, Any] | None
) -> Problem | None:
    build = info.get("build")
    if not wants.wsl2 or build is None or build >= WSL2_MIN_BUILD:
        return None
    return Problem(
        "build_too_old_for_wsl2",
        f"WSL2 needs Windows build {WSL2_MIN_BUILD} or later; this host runs build {build}",
        "update to Windows 10 2004 or later, Windows 11, or Windows Server 2022 or later",
        "MicrosoftDocs/WSL:WSL/install.md (Prerequisites)",
    )


def rule_build_too_old_for_docker_desktop(
    info: Mapping[str, Any], wants: Wants, features: Mapping[str, Any] | None
) -> Problem | None:
    build = info.get("build")
    if not wants.docker_desktop or info.get("is_server") or build is None:
        return None
    if build >= WINDOWS_11_BUILD:
        minimum, name = DESKTOP_MIN_WIN11_BUILD, "Windows 11 23H2"
    else:
        minimum, name = DESKTOP_MIN_WIN10_BUILD, "Windows 10 22H2"
    if build >= minimum:
        return None
    return Problem(
        "build_too_old_for_docker_desktop",
        f"Docker Desktop needs {name} (build {minimum}) or later; this host runs build {build}",
        f"update Windows to {name} or later",
        "windows-facts.md B.7",
    )


def _virtualization_flags(info: Mapping[str, Any]) -> tuple[Any, Any, Any]:
    virt = info.get("virtualization") or {}
    return virt.get("firmware_enabled"), virt.get("vm_monitor_mode"), virt.get("slat")


def _hypervisor_running(info: Mapping[str, Any], features: Mapping[str, Any] | None) -> bool:
    # With a hypervisor running, Win32_Processor's requirement flags read False, so its presence
    # counts as "requirements satisfied" (windows-facts.md D.5, microsoft/WSL#12379). Inside a VM
    # the outer hypervisor is always "present", so there it only counts once Windows' own
    # hypervisor features are enabled (the VM booted them, so nesting works).
    if not info.get("hypervisor_present"):
        return False
    return not info.get("is_vm") or _windows_hypervisor_features_enabled(features)


def rule_virtualization_off_in_firmware(
    info: Mapping[str, Any], wants: Wants, features: Mapping[str, Any] | None
) -> Problem | None:
    """Physical host: VT-x/AMD-V must be on in the firmware, and the CPU must have VM monitor
    mode extensions and SLAT (windows-facts.md D.5, F.8)."""
    if not wants.needs_virtualization or info.get("is_vm") or _hypervisor_running(info, features):
        return None
    firmware, vmx, slat = _virtualization_flags(info)
    if vmx is False or slat is False:
        missing = [n for n, v in (("VM monitor mode extensions", vmx), ("SLAT", slat)) if v is False]
        return Problem(
            "cpu_lacks_virtualization",
            f"the CPU lacks {' and '.join(missing)}, which Hyper-V and WSL2 need",
            "use a 64-bit CPU with Intel VT-x/AMD-V and SLAT (EPT/RVI)",
            "windows-facts.md D.5",
        )
    if firmware is False:
        return Problem(
            "virtualization_off_in_firmware",
            "hardware virtualization is disabled in the firmware (BIOS/UEFI)",
            "enable Intel VT-x / AMD-V (SVM) in the BIOS/UEFI settings and boot again",
            "windows-facts.md D.5, F.8",
        )
    return None


def rule_vm_without_nested_virtualization(
    info: Mapping[str, Any], wants: Wants, features: Mapping[str, Any] | None
) -> Problem | None:
    """A VM needs nested virtualization for Hyper-V, WSL2 and Docker Desktop (windows-facts.md
    D.5, B.7). Without it the guest sees no VM monitor mode extensions."""
    if not wants.needs_virtualization or not info.get("is_vm") or _hypervisor_running(info, features):
        return None
    firmware, vmx, _slat = _virtualization_flags(info)
    if vmx is not False and firmware is not False:
        return None
    return Problem(
        "vm_without_nested_virtualization",
        f"this host is a virtual machine ({info.get('manufacturer')} {info.get('model')}) without nested "
        "virtualization",
        "on the Hyper-V host, with the VM off: Set-VMProcessor -VMName <vm> -ExposeVirtualizationExtensions "
        "$true (VMware: 'Expose hardware assisted virtualization'; Azure: a size with nested virtualization)",
        "windows-facts.md D.5",
    )


def rule_filtered_admin_token(
    info: Mapping[str, Any], wants: Wants, features: Mapping[str, Any] | None
) -> Problem | None:
    """DISM, feature installs and services need the full administrator token; UAC filters a local
    administrator's token over WinRM unless LocalAccountTokenFilterPolicy=1 (windows-facts.md A.7)."""
    if info.get("elevated") is not False:
        return None
    user = str(info.get("winrm_user") or "")
    domain = user.split("\\", 1)[0] if "\\" in user else ""
    local = bool(domain) and domain.upper() == str(info.get("hostname") or "").upper()
    if info.get("local_account_token_filter_policy") != 1 and (local or not domain):
        return Problem(
            "filtered_admin_token",
            f"the WinRM user {user or '(unknown)'} has a filtered (non-elevated) token: "
            "LocalAccountTokenFilterPolicy is not 1",
            LATFP_FIX,
            "windows-facts.md A.7; https://learn.microsoft.com/windows/win32/wmisdk/user-account-control-and-wmi",
        )
    return Problem(
        "filtered_admin_token",
        f"the WinRM user {user or '(unknown)'} is not running with administrator rights",
        "connect as a member of the local Administrators group",
        "windows-facts.md A.7",
    )


def rule_too_little_memory(
    info: Mapping[str, Any], wants: Wants, features: Mapping[str, Any] | None
) -> Problem | None:
    """Hyper-V, Docker Desktop and Hyper-V-isolated containers need at least 4 GB RAM
    (windows-facts.md D.5, B.7)."""
    if not wants.anything:
        return None
    minimum = wants.min_memory_gb * GIB
    installed = info.get("memory_installed_bytes")
    usable = info.get("memory_bytes")
    if installed:
        have, ok = installed, installed >= minimum
    elif usable:
        have, ok = usable, usable >= minimum * USABLE_MEMORY_SLACK
    else:
        return None
    if ok:
        return None
    return Problem(
        "too_little_memory",
        f"the host has {have / GIB:.1f} GiB of RAM; at least {wants.min_memory_gb:g} GiB are needed",
        "give the host more memory",
        "windows-facts.md D.5, B.7",
    )


RULES: tuple[Rule, ...] = (
    rule_filtered_admin_token,
    rule_hyper_v_on_home,
    rule_docker_desktop_on_server,
    rule_build_too_old_for_wsl2,
    rule_build_too_old_for_docker_desktop,
    rule_virtualization_off_in_firmware,
    rule_vm_without_nested_virtualization,
    rule_too_little_memory,
)


def check(info: Mapping[str, Any], wants: Wants, features: Mapping[str, Any] | None = None) -> list[Problem]:
    """Every problem the host has with ``wants`` (empty when it is fine)."""
    problems = []
    for rule in RULES:
        problem = rule(info, wants, features)
        if problem is not None:
            problems.append(problem)
    return problems


def enforce(
    host_name: str, info: Mapping[str, Any], wants: Wants, features: Mapping[str, Any] | None = None
) -> None:
    """Raise :class:`PreflightError` listing every problem, if there is any."""
    problems = check(info, wants, features)
    if problems:
        raise PreflightError(host_name, problems)


def wants_for_features(feature_keys: list[str]) -> Wants:
    """The preflight a ``windows.feature`` call implies (logical keys from winfra.features)."""
    return Wants(
        hyper_v=any(k in ("hyper-v", "hyper-v-platform") for k in feature_keys),
        wsl2="virtual-machine-platform" in feature_keys,
        windows_containers="containers" in feature_keys,
    )
