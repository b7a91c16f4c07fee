"""The Windows features winfra manages, the names users may give them, and how each maps to an
optional feature (client and Server, DISM) or a server role (ServerManager) on a given host.

Pure Python: used by ``winfra.operations.windows.feature`` and the preflight before anything
touches a host.

Sources: feature names and where they exist, windows-facts.md D.2. Hyper-V on a client is the
``Microsoft-Hyper-V-All`` tree (platform and tools, D.2) plus ``Microsoft-Hyper-V`` itself, the
name Microsoft's install instructions enable with ``-All`` ("Install Hyper-V on Windows",
https://learn.microsoft.com/virtualization/hyper-v-on-windows/quick-start/enable-hyper-v), so
both are asked for in the one DISM call. Hyper-V on a server is the
``Hyper-V`` role installed with ``-IncludeManagementTools`` (D.3); ``Containers`` is an optional
feature on a client and a role on Server (D.2); ``wsl --install`` enables VirtualMachinePlatform,
and the Microsoft-Windows-Subsystem-Linux component only on Windows older than Windows 11
(build 22000) or with ``--enable-wsl1`` (A.1, microsoft/WSL src/windows/common/WslInstall.cpp).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

OPTIONAL = "optional"
ROLE = "role"
Kind = Literal["optional", "role"]

# Windows 11 starts at build 22000 (windows-facts.md E).
WINDOWS_11_BUILD = 22000


class FeatureNameError(ValueError):
    """A feature name winfra does not know."""


@dataclass(frozen=True)
class FeatureTarget:
    """One thing to enable on one host: an optional feature or a server role."""

    kind: Kind
    name: str
    # The logical feature it came from ("hyper-v", "containers", ...), for messages and rules.
    feature: str


@dataclass(frozen=True)
class LogicalFeature:
    key: str
    description: str
    client: tuple[str, ...]  # optional feature(s) on a client
    server: tuple[Kind, str] | None  # what it is on Windows Server
    available_on_home: bool


FEATURES: dict[str, LogicalFeature] = {
    f.key: f
    for f in (
        LogicalFeature(
            "hyper-v",
            "Hyper-V (platform and tools)",
            ("Microsoft-Hyper-V-All", "Microsoft-Hyper-V"),
            (ROLE, "Hyper-V"),
            False,
        ),
        LogicalFeature(
            "hyper-v-platform", "Hyper-V platform only", ("Microsoft-Hyper-V",), (ROLE, "Hyper-V"), False
        ),
        LogicalFeature("containers", "Windows containers", ("Containers",), (ROLE, "Containers"), False),
        LogicalFeature(
            "virtual-machine-platform",
            "Virtual Machine Platform (WSL2)",
            ("VirtualMachinePlatform",),
            (OPTIONAL, "VirtualMachinePlatform"),
            True,
        ),
        LogicalFeature(
            "wsl-component",
            "Windows Subsystem for Linux optional component",
            ("Microsoft-Windows-Subsystem-Linux",),
            (OPTIONAL, "Microsoft-Windows-Subsystem-Linux"),
            True,
        ),
        LogicalFeature(
            "hypervisor-platform",
            "Windows Hypervisor Platform API",
            ("HypervisorPlatform",),
            (OPTIONAL, "HypervisorPlatform"),
            True,
        ),
    )
}

# Accepted spellings (case-insensitive) -> logical feature keys. "wsl"/"wsl2" is special: it
# expands by build (see expand_aliases).
ALIASES: dict[str, tuple[str, ...]] = {
    "hyper-v": ("hyper-v",),
    "hyperv": ("hyper-v",),
    "microsoft-hyper-v-all": ("hyper-v",),
    "microsoft-hyper-v": ("hyper-v-platform",),
    "containers": ("containers",),
    "virtualmachineplatform": ("virtual-machine-platform",),
    "virtual-machine-platform": ("virtual-machine-platform",),
    "vmp": ("virtual-machine-platform",),
    "microsoft-windows-subsystem-linux": ("wsl-component",),
    "wsl1": ("wsl-component",),
    "hypervisorplatform": ("hypervisor-platform",),
    "hypervisor-platform": ("hypervisor-platform",),
    "whp": ("hypervisor-platform",),
}
WSL_ALIASES = ("wsl", "wsl2")


def known_names() -> list[str]:
    """Every feature name :func:`expand_aliases` accepts, for error messages."""
    return sorted([*ALIASES, *WSL_ALIASES])


def expand_aliases(names: Iterable[str], build: int | None) -> list[str]:
    """Logical feature keys for user-given ``names``, in order, without duplicates.

    Raises :class:`FeatureNameError` for a name winfra does not know.
    """
    keys: list[str] = []
    unknown: list[str] = []
    for raw in names:
        if not isinstance(raw, str) or not raw.strip():
            unknown.append(repr(raw))
            continue
        name = raw.strip().lower()
        if name in WSL_ALIASES:
            expanded: tuple[str, ...] = ("virtual-machine-platform",)
            if build is not None and build < WINDOWS_11_BUILD:
                expanded = ("virtual-machine-platform", "wsl-component")
        elif name in ALIASES:
            expanded = ALIASES[name]
        else:
            unknown.append(repr(raw))
            continue
        keys.extend(k for k in expanded if k not in keys)
    if unknown:
        raise FeatureNameError(
            f"unknown Windows feature {', '.join(unknown)}; winfra manages: {', '.join(known_names())}"
        )
    return keys


def resolve(names: Iterable[str] | str, info: Mapping[str, Any]) -> list[FeatureTarget]:
    """Map user-given feature names to what must be enabled on the host ``info`` describes
    (the :class:`~winfra.facts.windows.WindowsInfo` fact): optional features on a client,
    roles or optional features on Windows Server."""
    if isinstance(names, str):
        names = [names]
    keys = expand_aliases(names, info.get("build"))
    is_server = bool(info.get("is_server"))
    targets: list[FeatureTarget] = []
    for key in keys:
        feature = FEATURES[key]
        if is_server and feature.server is not None:
            wanted = [feature.server]
        else:
            wanted = [(OPTIONAL, name) for name in feature.client]
        for kind, name in wanted:
            if all((t.kind, t.name) != (kind, name) for t in targets):
                targets.append(FeatureTarget(kind, name, key))
    return targets
