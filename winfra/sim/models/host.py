"""The state of one simulated Windows host (moto's "models"): :class:`SimHost`.

State only, no protocol and no PowerShell. Script counterparts (``winfra/sim/scripts``) and the
read-only interpreter (``winfra/sim/shell/interpreter.py``) read and change it; the WinRM
endpoint asks :meth:`SimHost.is_up` and listens for reboots. Every behaviour cites its source:
``windows-facts`` = /work/shared/reference/windows-facts.md, ``anchors`` =
/work/shared/reference/anchors-and-winrm.md.

Sections (attributes of :class:`SimHost`):

``os`` (:class:`OSInfo`), ``hardware`` (:class:`Hardware`), ``users`` (:class:`Users`),
``features`` (:class:`Features`), ``registry`` (:class:`~winfra.sim.models.registry.Registry`),
``fs`` (:class:`~winfra.sim.models.filesystem.FileSystem`), ``services`` (:class:`Services`),
``boot`` (:class:`BootState`), ``wsl`` (:class:`~winfra.sim.models.wsl.WslState`),
``docker`` (:class:`~winfra.sim.models.docker.DockerState`), ``winrm`` (:class:`WinRMSettings`),
``faults`` (:class:`~winfra.sim.models.faults.FaultPlan`), ``counters``
(:class:`~winfra.sim.counters.Counters`, not persisted).

Concurrency: the endpoint runs commands in threads. Take ``with host.lock:`` around any
read-modify-write of several fields (it is re-entrant); :meth:`SimHost.save` takes it itself.

Lifecycle: :meth:`SimHost.load` (from ``<state dir>/<name>/state.json`` if present, else from a
profile plus overrides), :meth:`SimHost.save` after a state change (the shell layer calls it after
each command that is not read-only), :func:`reset` to forget everything.
"""

from __future__ import annotations

import copy
import datetime as _dt
import hashlib
import hmac
import json
import logging
import os
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from winfra.sim.counters import Counters
from winfra.sim.models.docker import Artifact, DockerState
from winfra.sim.models.faults import FaultPlan
from winfra.sim.models.filesystem import FileSystem
from winfra.sim.models.registry import REG_DWORD, REG_EXPAND_SZ, REG_SZ, Registry
from winfra.sim.models.wsl import WslPackage, WslState

log = logging.getLogger(__name__)

STATE_VERSION = 1
DEFAULT_STATE_DIR = ".winsim"

# --- registry paths the model keeps in sync (each cites its source) ----------------------------
# windows-facts D.4 (ComputerManagementDsc DSC_PendingReboot): key exists => reboot pending.
CBS_REBOOT_PENDING = r"HKLM\SOFTWARE\Microsoft\Windows\CurrentVersion\Component Based Servicing\RebootPending"
WU_REBOOT_REQUIRED = (
    r"HKLM\SOFTWARE\Microsoft\Windows\CurrentVersion\WindowsUpdate\Auto Update\RebootRequired"
)
SESSION_MANAGER = r"HKLM\SYSTEM\CurrentControlSet\Control\Session Manager"
COMPUTER_NAME_KEY = r"HKLM\SYSTEM\CurrentControlSet\Control\ComputerName\ComputerName"
ACTIVE_COMPUTER_NAME_KEY = r"HKLM\SYSTEM\CurrentControlSet\Control\ComputerName\ActiveComputerName"
# anchors §1.6 step 6: win_updates waits until ServicingInProgress is 0 or 1.
CBS_SERVICING_IN_PROGRESS = (
    r"HKLM\SOFTWARE\Microsoft\Windows\CurrentVersion\Component Based Servicing\Interface"
)
# anchors §1.6 step 5: volatile key LogonUI recreates when the logon screen is about to show.
WINLOGON = r"HKLM\SOFTWARE\Microsoft\Windows NT\CurrentVersion\Winlogon"
AUTOLOGON_CHECKED = WINLOGON + r"\AutoLogonChecked"
# windows-facts A.7 (UAC remote restrictions).
POLICIES_SYSTEM = r"HKLM\SOFTWARE\Microsoft\Windows\CurrentVersion\Policies\System"
# Machine PATH (https://learn.microsoft.com/windows/win32/procthread/environment-variables).
MACHINE_ENVIRONMENT = SESSION_MANAGER + r"\Environment"
# windows-facts E: CurrentBuild etc. read from here to pick container image tags.
CURRENT_VERSION = r"HKLM\SOFTWARE\Microsoft\Windows NT\CurrentVersion"
UNINSTALL = r"HKLM\SOFTWARE\Microsoft\Windows\CurrentVersion\Uninstall"
PROFILE_LIST = r"HKLM\SOFTWARE\Microsoft\Windows NT\CurrentVersion\ProfileList"

# Well-known SIDs (https://learn.microsoft.com/windows/win32/secauthz/well-known-sids).
WELL_KNOWN_GROUPS = {
    "Administrators": "S-1-5-32-544",
    "Users": "S-1-5-32-545",
    "Remote Management Users": "S-1-5-32-580",
    "Hyper-V Administrators": "S-1-5-32-578",
}
# Seconds between 1601-01-01 (FILETIME epoch) and 1970-01-01.
_FILETIME_EPOCH_DELTA = 11644473600


class SimHostError(Exception):
    """A misuse of the model or a bad profile/override (names the host and the setting)."""


class FeatureError(Exception):
    """A DISM/ServerManager failure; ``message`` is the text the cmdlet prints (windows-facts F.5, D.3)."""

    def __init__(self, message: str, *, hresult: int | None = None, error_id: str = "DismException") -> None:
        super().__init__(message)
        self.message = message
        self.hresult = hresult
        self.error_id = error_id


class RebootAlreadyScheduled(Exception):
    """``shutdown /r`` while one is scheduled: rc 1190 "A system shutdown has already been
    scheduled." (anchors §1.6 step 2)."""

    exit_code = 1190


# =============================================================================================
# Sections
# =============================================================================================


@dataclass
class OSInfo:
    """What ``Win32_OperatingSystem`` and ``HKLM\\...\\Windows NT\\CurrentVersion`` report."""

    # EditionID: Professional, Core (= Home), Enterprise, Education, ServerStandard, ServerDatacenter.
    edition: str = "Professional"
    caption: str = "Microsoft Windows 11 Pro"
    product_type: str = "workstation"  # workstation | server (Win32_OperatingSystem.ProductType 1 / 3)
    installation_type: str = "Client"  # Client | Server | Server Core
    version: str = "10.0"
    build: int = 22631  # windows-facts E
    ubr: int = 0
    display_version: str = "23H2"
    ui_language: str = "en-US"
    computer_name: str = "WINSIM"
    # Set by a rename; applied at reboot (windows-facts D.4: ActiveComputerName != ComputerName).
    pending_computer_name: str | None = None
    system_drive: str = "C:"
    architecture: str = "64-bit"

    @property
    def is_server(self) -> bool:
        return self.product_type == "server"

    @property
    def is_home(self) -> bool:
        # Hyper-V is not available on Home (windows-facts D.2, D.5).
        return self.edition.lower().startswith("core")

    @property
    def full_version(self) -> str:
        return f"{self.version}.{self.build}.{self.ubr}"


@dataclass
class Hardware:
    """CPU/firmware facts (windows-facts D.5) and size."""

    vm_monitor_mode_extensions: bool = True
    virtualization_firmware_enabled: bool = True
    slat: bool = True
    dep: bool = True
    is_vm: bool = False
    # A VM only runs a hypervisor inside when its host exposes virtualization extensions (D.5).
    nested_virtualization_exposed: bool = False
    memory_mb: int = 16384
    logical_processors: int = 8
    manufacturer: str = "Winsim"
    model: str = "Simulated PC"
    # Derived at boot (SimHost.reboot / SimHost._derive_hypervisor): True when a hypervisor-backed
    # feature is Enabled and virtualization is usable.
    hypervisor_present: bool = False

    def virtualization_usable(self) -> bool:
        """The four Hyper-V requirements (D.5), and nested virtualization when this is a VM."""
        base = (
            self.vm_monitor_mode_extensions
            and self.virtualization_firmware_enabled
            and self.slat
            and self.dep
        )
        return base and (not self.is_vm or self.nested_virtualization_exposed)

    def reported_virtualization_firmware_enabled(self) -> bool:
        """Win32_Processor.VirtualizationFirmwareEnabled reads False while a hypervisor runs
        (windows-facts D.5, https://github.com/microsoft/WSL/issues/12379)."""
        return False if self.hypervisor_present else self.virtualization_firmware_enabled

    def hyperv_requirements(self) -> dict[str, bool | None]:
        """``Get-ComputerInfo -Property HyperV*`` shape: requirement fields are null while a
        hypervisor is present (windows-facts D.5)."""
        if self.hypervisor_present:
            return {
                "HyperVisorPresent": True,
                "HyperVRequirementDataExecutionPreventionAvailable": None,
                "HyperVRequirementSecondLevelAddressTranslation": None,
                "HyperVRequirementVirtualizationFirmwareEnabled": None,
                "HyperVRequirementVMMonitorModeExtensions": None,
            }
        return {
            "HyperVisorPresent": False,
            "HyperVRequirementDataExecutionPreventionAvailable": self.dep,
            "HyperVRequirementSecondLevelAddressTranslation": self.slat,
            "HyperVRequirementVirtualizationFirmwareEnabled": self.virtualization_firmware_enabled,
            "HyperVRequirementVMMonitorModeExtensions": self.vm_monitor_mode_extensions,
        }


def nt_hash(password: str) -> str:
    """The NT one-way function (MD4 of the UTF-16LE password, MS-NLMP 3.3.1 NTOWFv1) as upper-case
    hex: what the SAM stores instead of the password, and all an NTLM acceptor needs (pyspnego
    reads it from the smbpasswd-format line of NTLM_USER_FILE)."""
    from spnego._ntlm_raw.crypto import ntowfv1

    return ntowfv1(password).hex().upper()


@dataclass
class LocalUser:
    name: str
    sid: str
    # The account's password, in memory only: it is never written to .winsim/ (to_json drops it;
    # like the SAM the state keeps ``nt_hash``). After a reload it is known again only when the
    # declared profile/overrides give a password with the same hash (SimHost.load). Never logged:
    # repr hides it.
    password: str = field(repr=False, default="")
    # NTOWFv1 of the password (hex); the authentication secret the endpoint and logons check.
    nt_hash: str = field(repr=False, default="")
    full_name: str = ""
    enabled: bool = True
    # A user who never logged on has no profile and no HKU hive (windows-facts A.7).
    has_profile: bool = False
    # Has an interactive logon session now (WSL's CreateVm needs one: windows-facts A.7, WSL#8072).
    logged_on: bool = False
    # Logged on again automatically after each boot (Winlogon AutoAdminLogon); lab dev boxes use it.
    auto_logon: bool = False

    def __post_init__(self) -> None:
        if self.password and not self.nt_hash:
            self.nt_hash = nt_hash(self.password)

    def set_password(self, password: str) -> None:
        self.password = password
        self.nt_hash = nt_hash(password) if password else ""

    def to_json(self) -> dict[str, Any]:
        """The persisted form: everything but the password (security rule: no secrets in .winsim/)."""
        raw = asdict(self)
        raw.pop("password", None)
        return raw

    @property
    def rid(self) -> int:
        return int(self.sid.rsplit("-", 1)[1])

    @property
    def profile_path(self) -> str:
        return f"C:\\Users\\{self.name}"


@dataclass
class LocalGroup:
    name: str
    sid: str
    members: list[str] = field(default_factory=list)  # user names
    description: str = ""


@dataclass
class Token:
    """The access token a logon gets (windows-facts A.7)."""

    user: str
    sid: str
    is_admin: bool  # member of Administrators
    elevated: bool  # full token (not UAC-filtered)


class Users:
    """Local users and groups. Names are case-insensitive; ``HOST\\name``, ``.\\name`` and
    ``name@host`` forms are accepted."""

    def __init__(self, machine_sid: str, computer_name: str) -> None:
        self.machine_sid = machine_sid
        self.computer_name = computer_name
        self.users: dict[str, LocalUser] = {}
        self.groups: dict[str, LocalGroup] = {}
        for name, sid in WELL_KNOWN_GROUPS.items():
            self.groups[name.lower()] = LocalGroup(name, sid)

    @staticmethod
    def bare_name(name: str) -> str:
        if "\\" in name:
            name = name.split("\\", 1)[1]
        if "@" in name:
            name = name.split("@", 1)[0]
        return name

    def get(self, name: str) -> LocalUser | None:
        return self.users.get(self.bare_name(name).lower())

    def require(self, name: str) -> LocalUser:
        user = self.get(name)
        if user is None:
            raise SimHostError(f"host {self.computer_name}: no local user {name!r}")
        return user

    def by_sid(self, sid: str) -> LocalUser | None:
        return next((u for u in self.users.values() if u.sid.lower() == sid.lower()), None)

    def next_rid(self) -> int:
        """The next relative ID: local users and local groups share one pool that starts after
        1000 (https://learn.microsoft.com/windows/win32/secauthz/well-known-sids)."""
        rids = [u.rid for u in self.users.values()]
        rids += [
            int(g.sid.rsplit("-", 1)[1])
            for g in self.groups.values()
            if g.sid.startswith(self.machine_sid + "-")
        ]
        return max([1000, *rids]) + 1

    def add_user(self, name: str, password: str, *, rid: int | None = None, **fields: Any) -> LocalUser:
        if self.get(name) is not None:
            # New-LocalUser: "User <name> already exists." (UserExistsException).
            raise SimHostError(f"User {name} already exists.")
        sid = f"{self.machine_sid}-{rid if rid is not None else self.next_rid()}"
        user = LocalUser(name=name, sid=sid, password=password, **fields)
        self.users[name.lower()] = user
        return user

    def remove_user(self, name: str) -> None:
        user = self.require(name)
        del self.users[user.name.lower()]
        for g in self.groups.values():
            g.members = [m for m in g.members if m.lower() != user.name.lower()]

    def group(self, name: str) -> LocalGroup | None:
        return self.groups.get(self.bare_name(name).lower())

    def add_group(self, name: str, description: str = "") -> LocalGroup:
        if self.group(name) is not None:
            raise SimHostError(f"Group {name} already exists.")
        group = LocalGroup(name, f"{self.machine_sid}-{self.next_rid()}", description=description)
        self.groups[name.lower()] = group
        return group

    def add_member(self, group: str, user: str) -> bool:
        """Add ``user`` to ``group``; False when already a member."""
        g = self.group(group)
        if g is None:
            raise SimHostError(f"Group {group} was not found.")
        u = self.require(user)
        if any(m.lower() == u.name.lower() for m in g.members):
            return False
        g.members.append(u.name)
        return True

    def remove_member(self, group: str, user: str) -> bool:
        g = self.group(group)
        if g is None:
            raise SimHostError(f"Group {group} was not found.")
        before = len(g.members)
        g.members = [m for m in g.members if m.lower() != self.bare_name(user).lower()]
        return len(g.members) != before

    def is_member(self, user: str, group: str) -> bool:
        g = self.group(group)
        return bool(g) and any(m.lower() == self.bare_name(user).lower() for m in g.members)

    def groups_of(self, user: str) -> list[str]:
        return [g.name for g in self.groups.values() if self.is_member(user, g.name)]

    def is_admin(self, user: str) -> bool:
        return self.is_member(user, "Administrators")

    def check_password(self, user: str, password: str) -> bool:
        u = self.get(user)
        return bool(u and u.enabled and u.nt_hash and hmac.compare_digest(u.nt_hash, nt_hash(password)))

    def restore_passwords(self, declared: dict[str, str]) -> None:
        """Know the in-memory password again for each account whose declared password (profile +
        overrides) still matches the stored hash (a password changed on the host stays unknown)."""
        for name, password in declared.items():
            u = self.get(name)
            if u is not None and not u.password and password and u.nt_hash == nt_hash(password):
                u.password = password

    def to_json(self) -> dict[str, Any]:
        return {
            "machine_sid": self.machine_sid,
            "users": [u.to_json() for u in self.users.values()],
            "groups": [asdict(g) for g in self.groups.values()],
        }

    @classmethod
    def from_json(cls, raw: dict[str, Any], computer_name: str) -> Users:
        users = cls(raw["machine_sid"], computer_name)
        users.groups = {}
        for g in raw.get("groups", []):
            users.groups[g["name"].lower()] = LocalGroup(**g)
        for u in raw.get("users", []):
            # State written before passwords were dropped from it still has "password": hash it.
            users.users[u["name"].lower()] = LocalUser(**u)
        return users


# Feature state names (windows-facts D.1 for optional features, D.3 for server features).
OPTIONAL_STATES = ("Enabled", "Disabled", "EnablePending", "DisablePending", "DisabledWithPayloadRemoved")
SERVER_STATES = ("Installed", "Available", "InstallPending", "UninstallPending", "Removed")
# Features whose enabling starts the hypervisor at the next boot (windows-facts D.2, D.5; WSL2 needs
# VirtualMachinePlatform: A.1). "Containers" alone does not (process isolation on Server: E).
HYPERVISOR_FEATURES = (
    "Microsoft-Hyper-V",
    "Microsoft-Hyper-V-All",
    "Microsoft-Hyper-V-Hypervisor",
    "VirtualMachinePlatform",
    "HypervisorPlatform",
    "Hyper-V",
)


# Server InstallState <-> DISM State (same component, two views: windows-facts D.1, D.3).
_SERVER_TO_DISM = {
    "Installed": "Enabled",
    "Available": "Disabled",
    "InstallPending": "EnablePending",
    "UninstallPending": "DisablePending",
    "Removed": "DisabledWithPayloadRemoved",
}
_DISM_TO_SERVER = {v: k for k, v in _SERVER_TO_DISM.items()}


@dataclass
class Feature:
    name: str
    kind: str  # "optional" (DISM) | "server" (ServerManager)
    state: str
    display_name: str = ""
    # Get-WindowsOptionalFeature RestartRequired: Possible | Required | No (windows-facts D.1).
    restart_required: str = "Possible"
    # Parent feature (enable needs it, or -All) — e.g. Microsoft-Hyper-V under Microsoft-Hyper-V-All.
    parent: str | None = None

    @property
    def needs_reboot(self) -> bool:
        return self.restart_required != "No"

    @property
    def enabled(self) -> bool:
        return self.state in ("Enabled", "Installed")

    @property
    def pending(self) -> bool:
        return self.state.endswith("Pending")

    @property
    def dism_state(self) -> str:
        """The state as ``Get-WindowsOptionalFeature`` names it (DISM sees server features too)."""
        return _SERVER_TO_DISM.get(self.state, self.state)

    @property
    def server_state(self) -> str:
        """The state as ``Get-WindowsFeature`` InstallState names it (windows-facts D.3)."""
        return _DISM_TO_SERVER.get(self.state, self.state)


class Features:
    """Optional features (client and server DISM) and server roles/features."""

    def __init__(self) -> None:
        self._items: dict[str, Feature] = {}

    def add(self, feature: Feature) -> Feature:
        allowed = OPTIONAL_STATES if feature.kind == "optional" else SERVER_STATES
        if feature.state not in allowed:
            raise SimHostError(f"feature {feature.name}: state {feature.state!r} is not one of {allowed}")
        self._items[feature.name.lower()] = feature
        return feature

    def get(self, name: str, kind: str | None = None) -> Feature | None:
        f = self._items.get(name.lower())
        return f if f is not None and (kind is None or f.kind == kind) else None

    def all(self, kind: str | None = None) -> list[Feature]:
        return [f for f in self._items.values() if kind is None or f.kind == kind]

    def is_enabled(self, name: str) -> bool:
        f = self.get(name)
        return bool(f and f.enabled)

    def request_enable(self, name: str, *, all_parents: bool = False) -> bool:
        """Request enabling; returns True when a reboot is needed to finish (the *Pending state).

        Unknown names fail like ``Enable-WindowsOptionalFeature``: "Feature name X is unknown."
        (windows-facts F.5, HRESULT 0x800f080c from D.1); ``DisabledWithPayloadRemoved`` needs a
        source (D.1) and fails here. A feature whose parent is disabled needs ``-All`` (D.1).
        Already Enabled/EnablePending: no change, returns False (a second run before the reboot
        reports no reboot needed: anchors §1.7 win_optional_feature).
        """
        f = self.get(name)
        if f is None:
            raise FeatureError(f"Feature name {name} is unknown.", hresult=0x800F080C)
        changed = False
        if f.parent:
            parent = self.get(f.parent)
            if (
                parent is not None
                and not parent.enabled
                and parent.state not in ("EnablePending", "InstallPending")
            ):
                if not all_parents:
                    # DISM: "One or several parent features are disabled so current feature can
                    # not be enabled." (error 0x800f0922-class; assumption, no capture in sources).
                    raise FeatureError(
                        "One or several parent features are disabled so current feature can not be enabled.",
                        hresult=0x800F0922,
                    )
                changed = self.request_enable(parent.name, all_parents=True) or changed
        if f.state in ("Enabled", "Installed", "EnablePending", "InstallPending"):
            return changed
        if f.state == "DisabledWithPayloadRemoved":
            # windows-facts D.1: needs -Source or Windows Update; the simulator has neither.
            raise FeatureError(
                f"The source files could not be found for feature {f.name}.", hresult=0x800F081F
            )
        if f.state == "Removed":
            raise FeatureError(
                f"The source files could not be found for feature {f.name}.", hresult=0x800F081F
            )
        if f.state == "DisablePending":
            f.state = "Enabled"  # cancels the pending disable (assumption: no source found)
            return changed
        if f.state == "UninstallPending":
            f.state = "Installed"
            return changed
        if f.needs_reboot:
            f.state = "EnablePending" if f.kind == "optional" else "InstallPending"
            return True
        f.state = "Enabled" if f.kind == "optional" else "Installed"
        return changed

    def request_disable(self, name: str) -> bool:
        """Request disabling; True when a reboot is needed (the DisablePending state, D.1)."""
        f = self.get(name)
        if f is None:
            raise FeatureError(f"Feature name {name} is unknown.", hresult=0x800F080C)
        if f.state in ("Disabled", "Available", "DisablePending", "UninstallPending", "Removed"):
            return False
        if f.state == "DisabledWithPayloadRemoved":
            return False
        if f.state in ("EnablePending", "InstallPending"):
            f.state = "Disabled" if f.kind == "optional" else "Available"
            return False
        if f.needs_reboot:
            f.state = "DisablePending" if f.kind == "optional" else "UninstallPending"
            return True
        f.state = "Disabled" if f.kind == "optional" else "Available"
        return False

    def any_pending(self) -> bool:
        return any(f.pending for f in self._items.values())

    def apply_pending(self) -> list[str]:
        """What a reboot does: pending states become final (D.1, D.3). Returns the names changed."""
        final = {
            "EnablePending": "Enabled",
            "DisablePending": "Disabled",
            "InstallPending": "Installed",
            "UninstallPending": "Available",
        }
        changed = []
        for f in self._items.values():
            if f.state in final:
                f.state = final[f.state]
                changed.append(f.name)
        return changed

    def to_json(self) -> list[dict[str, Any]]:
        return [asdict(f) for f in self._items.values()]

    @classmethod
    def from_json(cls, raw: list[dict[str, Any]]) -> Features:
        feats = cls()
        for f in raw:
            feats.add(Feature(**f))
        return feats


# ServiceControllerStatus / ServiceStartMode names as Get-Service prints them
# (https://learn.microsoft.com/dotnet/api/system.serviceprocess.servicecontrollerstatus).
SERVICE_STATES = (
    "Stopped",
    "StartPending",
    "StopPending",
    "Running",
    "ContinuePending",
    "PausePending",
    "Paused",
)
START_TYPES = ("Boot", "System", "Automatic", "Manual", "Disabled")


@dataclass
class Service:
    name: str
    display_name: str = ""
    state: str = "Stopped"
    start_type: str = "Manual"
    # Full command line of the binary (ImagePath), e.g. dockerd's baked flags (windows-facts C.2).
    image_path: str = ""
    account: str = "LocalSystem"
    description: str = ""


class Services:
    def __init__(self) -> None:
        self._items: dict[str, Service] = {}

    def get(self, name: str) -> Service | None:
        return self._items.get(name.lower())

    def all(self) -> list[Service]:
        return list(self._items.values())

    def add(self, service: Service) -> Service:
        if service.state not in SERVICE_STATES or service.start_type not in START_TYPES:
            raise SimHostError(f"service {service.name}: bad state {service.state!r} or start type")
        if self.get(service.name) is not None:
            # sc.exe create / New-Service on an existing name: ERROR_SERVICE_EXISTS (1073).
            raise SimHostError(f"The specified service already exists. ({service.name})")
        self._items[service.name.lower()] = service
        return service

    def remove(self, name: str) -> bool:
        return self._items.pop(name.lower(), None) is not None

    def to_json(self) -> list[dict[str, Any]]:
        return [asdict(s) for s in self._items.values()]

    @classmethod
    def from_json(cls, raw: list[dict[str, Any]]) -> Services:
        services = cls()
        for s in raw:
            services._items[s["name"].lower()] = Service(**s)
        return services


@dataclass
class BootState:
    """Boot identity and the simulated reboot timeline (anchors §1.6)."""

    last_boot: float = 0.0  # unix time the host last came up
    boot_count: int = 1
    # While time.time() < down_until the host is "rebooting": the endpoint refuses connections.
    down_until: float = 0.0
    # When LogonUI recreates AutoLogonChecked after the last boot (0: done).
    ready_at: float = 0.0
    # A reboot scheduled by shutdown.exe /r /t N (unix time), or None.
    scheduled_for: float | None = None
    downtime_s: float = 0.3
    readiness_delay_s: float = 0.2

    @property
    def last_boot_filetime(self) -> int:
        """``LastBootUpTime.ToFileTime()``: 100 ns ticks since 1601-01-01 UTC (anchors §1.6 step 1)."""
        return round((self.last_boot + _FILETIME_EPOCH_DELTA) * 10_000_000)

    @property
    def last_boot_iso(self) -> str:
        return _dt.datetime.fromtimestamp(self.last_boot, _dt.timezone.utc).isoformat()


@dataclass
class WinRMSettings:
    """WinRM service configuration (anchors §3 quotas table)."""

    max_envelope_size_kb: int = 500
    max_concurrent_operations_per_user: int = 1500
    max_shells_per_user: int = 30
    max_timeout_ms: int = 60000
    allow_unencrypted: bool = False
    auth_basic: bool = False
    auth_negotiate: bool = True
    # Groups whose members may connect (the default RootSDDL grants Administrators and
    # Remote Management Users; https://learn.microsoft.com/windows/win32/winrm/authentication-for-remote-connections).
    allowed_groups: list[str] = field(default_factory=lambda: ["Administrators", "Remote Management Users"])
    listeners: list[dict[str, Any]] = field(
        default_factory=lambda: [{"transport": "HTTP", "address": "*", "port": 5985}]
    )


# Callables run at the end of every boot, after the model's own boot steps. Area owners (Docker:
# start the engine only with a valid daemon.json) register here; each gets the host, lock held.
BOOT_HOOKS: list[Callable[[SimHost], None]] = []


def register_boot_hook(hook: Callable[[SimHost], None]) -> Callable[[SimHost], None]:
    if hook not in BOOT_HOOKS:
        BOOT_HOOKS.append(hook)
    return hook


# =============================================================================================
# The host
# =============================================================================================

_LOADED: dict[tuple[str, str], SimHost] = {}
_LOADED_LOCK = threading.Lock()


def state_root(state_dir: str | os.PathLike[str] | None = None) -> Path:
    """``state_dir``, else ``$WINSIM_STATE_DIR``, else ``./.winsim``."""
    return Path(state_dir or os.environ.get("WINSIM_STATE_DIR") or DEFAULT_STATE_DIR).resolve()


def reset(state_dir: str | os.PathLike[str] | None = None, name: str | None = None) -> list[str]:
    """Forget simulated hosts (all, or just ``name``): delete their state directories and drop
    them from this process's cache. Returns the names removed (``python -m winfra.sim reset``)."""
    root = state_root(state_dir)
    removed: list[str] = []
    with _LOADED_LOCK:
        for key in [k for k in _LOADED if k[0] == str(root) and (name is None or k[1] == name.lower())]:
            _LOADED.pop(key).close()
    if root.is_dir():
        for child in sorted(root.iterdir()):
            if child.is_dir() and (name is None or child.name.lower() == name.lower()):
                shutil.rmtree(child)
                removed.append(child.name)
    return removed


class SimHost:
    """One simulated Windows host. Build with :meth:`load` (or :meth:`from_profile` in unit tests)."""

    def __init__(self, name: str, host_dir: Path) -> None:
        self.name = name
        self.dir = host_dir
        self.lock = threading.RLock()
        self.profile_name: str = ""
        self.os = OSInfo()
        self.hardware = Hardware()
        self.users = Users("S-1-5-21-1-2-3", name)
        self.features = Features()
        self.registry = Registry()
        self.fs = FileSystem(host_dir / "blobs")
        self.services = Services()
        self.boot = BootState(last_boot=time.time())
        self.wsl = WslState()
        self.docker = DockerState()
        self.winrm = WinRMSettings()
        self.faults = FaultPlan()
        self.counters = Counters()
        # Free-form JSON-able state for area owners that need more than the sections above
        # (key it by area, e.g. extra["docker"]); persisted as is.
        self.extra: dict[str, Any] = {}
        self._reboot_listeners: list[Callable[[SimHost], None]] = []
        self._timer: threading.Timer | None = None
        self.fs.on_disk_full = self._disk_full_hit

    # -- construction -----------------------------------------------------------------------
    @classmethod
    def load(
        cls,
        name: str,
        *,
        profile: str | None = None,
        overrides: dict[str, Any] | None = None,
        faults: list[dict[str, Any]] | None = None,
        state_dir: str | os.PathLike[str] | None = None,
        reload: bool = False,
    ) -> SimHost:
        """The host ``name``: this process's live instance, else its saved state, else a new
        host built from ``profile`` (default ``win11-devbox``) deep-merged with ``overrides``.

        Saved state wins over ``profile``/``overrides`` (a second run sees the first run's
        effects; :func:`reset` to start over). ``faults`` (host data ``winsim_faults``) replace
        the fault plan; its counters survive when the list is unchanged. ``reload`` re-reads the
        saved state instead of returning the live instance (persistence tests).
        """
        root = state_root(state_dir)
        key = (str(root), name.lower())
        created = False
        with _LOADED_LOCK:
            host = None if reload else _LOADED.get(key)
            if host is None:
                host_dir = root / _safe_dir_name(name)
                state_file = host_dir / "state.json"
                if state_file.is_file():
                    host = cls._from_state(name, host_dir, json.loads(state_file.read_text("utf-8")))
                    host._restore_declared_passwords(profile or host.profile_name, overrides)
                    if profile and host.profile_name and profile != host.profile_name:
                        log.warning(
                            "host %s: saved state (profile %s) in %s wins over profile %s; run "
                            "`python -m winfra.sim reset` to rebuild it",
                            name,
                            host.profile_name,
                            host_dir,
                            profile,
                        )
                else:
                    from winfra.sim.models.profile import load_profile

                    data = load_profile(profile or "win11-devbox", overrides, host=name)
                    host = cls.from_profile(name, data, host_dir=host_dir)
                    created = True
                old = _LOADED.get(key)
                if old is not None and old is not host:
                    old.close()
                _LOADED[key] = host
        with host.lock:
            changed = host.set_faults(faults) if faults is not None else False
            # Serialising a host is not free (a 50-host lab loads 50): save what is new only.
            if host.advance() or changed or created:
                host.save()
        return host

    @classmethod
    def from_profile(cls, name: str, data: dict[str, Any], *, host_dir: Path) -> SimHost:
        """Build a fresh host from merged profile data (see ``winfra/sim/profiles/*.yml``)."""
        from winfra.sim.models.profile import build_host

        host = cls(name, host_dir)
        build_host(host, data)
        return host

    @classmethod
    def _from_state(cls, name: str, host_dir: Path, raw: dict[str, Any]) -> SimHost:
        if raw.get("version") != STATE_VERSION:
            raise SimHostError(
                f"host {name}: state in {host_dir} has version {raw.get('version')}, expected "
                f"{STATE_VERSION}; run `python -m winfra.sim reset`"
            )
        host = cls(name, host_dir)
        host.profile_name = raw.get("profile", "")
        host.os = OSInfo(**raw["os"])
        host.hardware = Hardware(**raw["hardware"])
        host.users = Users.from_json(raw["users"], host.os.computer_name)
        host.features = Features.from_json(raw["features"])
        host.registry = Registry.from_json(raw["registry"])
        host.fs = FileSystem.from_json(raw["fs"], host_dir / "blobs")
        host.fs.on_disk_full = host._disk_full_hit
        host.services = Services.from_json(raw["services"])
        host.boot = BootState(**raw["boot"])
        host.wsl = WslState.from_json(raw.get("wsl"))
        host.docker = DockerState.from_json(raw.get("docker"))
        host.winrm = WinRMSettings(**raw["winrm"])
        host.faults = FaultPlan.from_json(raw.get("faults", {}))
        host.extra = raw.get("extra", {})
        host._apply_static_faults()
        return host

    def _restore_declared_passwords(self, profile: str, overrides: dict[str, Any] | None) -> None:
        """Passwords are not in the saved state; take them from the declared profile + overrides
        (the same source the first run built the accounts from) where the hash still matches."""
        if not profile:
            return
        from winfra.sim.models.profile import ProfileError, load_profile

        try:
            data = load_profile(profile, overrides, host=self.name)
        except (ProfileError, OSError, ValueError):
            return
        declared = {
            str(n): str((u or {}).get("password") or "")
            for n, u in (data.get("users") or {}).items()
            if isinstance(u, dict) or u is None
        }
        self.users.restore_passwords(declared)

    def to_json(self) -> dict[str, Any]:
        with self.lock:
            return {
                "version": STATE_VERSION,
                "name": self.name,
                "profile": self.profile_name,
                "os": asdict(self.os),
                "hardware": asdict(self.hardware),
                "users": self.users.to_json(),
                "features": self.features.to_json(),
                "registry": self.registry.to_json(),
                "fs": self.fs.to_json(),
                "services": self.services.to_json(),
                "boot": asdict(self.boot),
                "wsl": self.wsl.to_json(),
                "docker": self.docker.to_json(),
                "winrm": asdict(self.winrm),
                "faults": self.faults.to_json(),
                "extra": self.extra,
            }

    def save(self) -> None:
        """Write ``<state dir>/<name>/state.json`` atomically (temp file, then replace)."""
        with self.lock:
            self.dir.mkdir(parents=True, exist_ok=True)
            text = json.dumps(self.to_json(), indent=1, sort_keys=False)
            tmp = self.dir / f"state.json.{os.getpid()}.{threading.get_ident()}.tmp"
            tmp.write_text(text, "utf-8")
            os.replace(tmp, self.dir / "state.json")

    def close(self) -> None:
        """Cancel a pending reboot timer (the process is done with this instance)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    @contextmanager
    def transaction(self) -> Iterator[SimHost]:
        """``with host.transaction():`` holds the lock, counts a state change and saves after."""
        with self.lock:
            yield self
            self.counters.add("state_changes")
            self.save()

    # -- faults -----------------------------------------------------------------------------
    def set_faults(self, specs: list[dict[str, Any]]) -> bool:
        """Install a fault plan; False when it is the plan already in place."""
        with self.lock:
            new = FaultPlan.from_specs(specs, host=self.name)
            if new.specs == self.faults.specs:
                return False  # keep counters and the fired log across runs with the same plan
            self.faults = new
            self._apply_static_faults()
            return True

    def _apply_static_faults(self) -> None:
        full = self.faults.disk_full_letters()
        for letter, vol in self.fs.volumes.items():
            vol.forced_full = letter in full
        if self.faults.virtualization_disabled():
            self.hardware.virtualization_firmware_enabled = False
            spec = next(s for s in self.faults.specs if s.get("virtualization_disabled"))
            if not any(f["fault"] == spec for f in self.faults.fired):
                self.faults._record(spec, effect="virtualization disabled in firmware")

    def _disk_full_hit(self, letter: str) -> None:
        self.faults.disk_full_hit(letter)

    def check_step(self, step: str) -> None:
        """Fault hook for ``ScriptCall.step`` (the dispatcher wires ``call.step_hook`` to this)."""
        with self.lock:
            try:
                self.faults.check(step)
            finally:
                # Step counts only matter to a fault plan (a new plan starts its own counts,
                # set_faults): without one, skip the save per step.
                if self.faults.specs:
                    self.save()

    # -- identity and tokens ----------------------------------------------------------------
    def token(self, user: str) -> Token:
        """The token a network (WinRM) logon of ``user`` gets (windows-facts A.7): a local
        administrator other than RID 500 is UAC-filtered unless LocalAccountTokenFilterPolicy=1;
        the built-in Administrator (RID 500) is elevated unless FilterAdministratorToken=1."""
        u = self.users.require(user)
        admin = self.users.is_admin(u.name)
        if not admin:
            return Token(u.name, u.sid, False, False)
        if u.rid == 500:
            elevated = self.registry.get(POLICIES_SYSTEM, "FilterAdministratorToken", 0) != 1
        else:
            elevated = self.registry.get(POLICIES_SYSTEM, "LocalAccountTokenFilterPolicy", 0) == 1
        return Token(u.name, u.sid, True, elevated)

    def can_connect_winrm(self, user: str) -> bool:
        """Member of a group WinRM admits (WinRMSettings.allowed_groups)."""
        return any(self.users.is_member(user, g) for g in self.winrm.allowed_groups)

    def user_hive(self, user: str) -> str:
        """``HKU\\<SID>`` of a user; raises when they have no profile (windows-facts A.7: a user who
        never logged on has no HKCU)."""
        u = self.users.require(user)
        if not u.has_profile:
            raise SimHostError(f"host {self.name}: user {u.name} has never logged on and has no profile")
        return f"HKU\\{u.sid}"

    def create_profile(self, user: str) -> None:
        """First logon: profile directory, NTUSER hive, ProfileList entry, AppData folders."""
        with self.lock:
            u = self.users.require(user)
            if u.has_profile:
                return
            for sub in ("", "\\AppData\\Local", "\\AppData\\Roaming", "\\Documents", "\\Downloads"):
                self.fs.mkdir(u.profile_path + sub)
            self.registry.create_key(f"HKU\\{u.sid}\\Software\\Microsoft\\Windows\\CurrentVersion")
            self.registry.set_value(
                f"HKU\\{u.sid}\\Environment", "TEMP", r"%USERPROFILE%\AppData\Local\Temp", REG_EXPAND_SZ
            )
            self.registry.set_value(
                f"{PROFILE_LIST}\\{u.sid}", "ProfileImagePath", u.profile_path, REG_EXPAND_SZ
            )
            self.fs.mkdir(u.profile_path + "\\AppData\\Local\\Temp")
            u.has_profile = True

    def logon_interactive(self, user: str) -> None:
        with self.lock:
            self.create_profile(user)
            self.users.require(user).logged_on = True

    def user_env(self, user: str) -> dict[str, str]:
        """Environment variables a process of ``user`` starts with (the basics scripts use)."""
        u = self.users.require(user)
        home = u.profile_path
        return {
            "USERNAME": u.name,
            "USERDOMAIN": self.os.computer_name,
            "COMPUTERNAME": self.os.computer_name,
            "USERPROFILE": home,
            "HOMEDRIVE": "C:",
            "HOMEPATH": home[2:],
            "APPDATA": home + r"\AppData\Roaming",
            "LOCALAPPDATA": home + r"\AppData\Local",
            "TEMP": home + r"\AppData\Local\Temp",
            "TMP": home + r"\AppData\Local\Temp",
            "ProgramData": r"C:\ProgramData",
            "ProgramFiles": r"C:\Program Files",
            "ProgramFiles(x86)": r"C:\Program Files (x86)",
            "SystemRoot": r"C:\Windows",
            "windir": r"C:\Windows",
            "SystemDrive": "C:",
            "PUBLIC": r"C:\Users\Public",
            "PATH": self.machine_path(),
            "PSModulePath": r"C:\Windows\system32\WindowsPowerShell\v1.0\Modules",
        }

    # -- machine PATH ----------------------------------------------------------------------
    def machine_path(self) -> str:
        return str(self.registry.get(MACHINE_ENVIRONMENT, "Path", ""))

    def add_to_machine_path(self, directory: str) -> bool:
        """Append a directory to the machine PATH unless present (case-insensitive, ignoring a
        trailing backslash). Returns True when changed."""
        with self.lock:
            current = self.machine_path()
            parts = [p for p in current.split(";") if p]
            if any(p.rstrip("\\").lower() == directory.rstrip("\\").lower() for p in parts):
                return False
            parts.append(directory)
            self.registry.set_value(MACHINE_ENVIRONMENT, "Path", ";".join(parts), REG_EXPAND_SZ)
            return True

    # -- features and pending reboot ---------------------------------------------------------
    def enable_feature(self, name: str, *, all_parents: bool = False) -> bool:
        """Enable an optional feature or install a server feature (its ``kind`` decides the state
        names) the way DISM / ``Install-WindowsFeature`` do. On Server, DISM and ServerManager
        manage the same features, so one entry serves both cmdlet families.

        Returns RestartNeeded. When a reboot is needed the CBS ``RebootPending`` key is created
        (windows-facts D.4). The ``Hyper-V`` role fails its prerequisite check without the CPU
        capabilities (D.3 message).
        """
        with self.lock:
            f = self.features.get(name)
            if f is not None and f.kind == "server" and f.name.lower() == "hyper-v":
                if not self.hardware.virtualization_usable():
                    raise FeatureError(
                        "A prerequisite check for the Hyper-V feature failed. 1. Hyper-V cannot be "
                        "installed: The processor does not have required virtualization capabilities.",
                        error_id="Alteration_PrerequisiteCheck_Failed",
                    )
            # Assumption (unsourced): on a client, DISM enables Microsoft-Hyper-V*/VirtualMachinePlatform
            # even when the CPU or firmware cannot run a hypervisor; the failure only shows after the
            # reboot (no hypervisor: windows-facts D.5, WSL's 0x80370102 in F.8). DISM's own refusal
            # for CPUs without SLAT/VT-x is not modelled (no verbatim capture in the sources).
            restart = self.features.request_enable(name, all_parents=all_parents)
            if restart:
                self.registry.create_key(CBS_REBOOT_PENDING)
            return restart

    def disable_feature(self, name: str) -> bool:
        with self.lock:
            restart = self.features.request_disable(name)
            if restart:
                self.registry.create_key(CBS_REBOOT_PENDING)
            return restart

    def set_computer_name(self, new_name: str) -> bool:
        """``Rename-Computer``: the new name takes effect at reboot; until then
        ActiveComputerName differs from ComputerName (windows-facts D.4)."""
        with self.lock:
            if new_name.lower() == self.os.computer_name.lower() and self.os.pending_computer_name is None:
                return False
            self.os.pending_computer_name = (
                None if new_name.lower() == self.os.computer_name.lower() else new_name
            )
            self.registry.set_value(COMPUTER_NAME_KEY, "ComputerName", new_name)
            return True

    def pending_reboot(self) -> dict[str, bool]:
        """The D.4 indicators as booleans (what get_host_state reports)."""
        pfro = self.registry.get(SESSION_MANAGER, "PendingFileRenameOperations", [])
        return {
            "cbs": self.registry.key_exists(CBS_REBOOT_PENDING),
            "windows_update": self.registry.key_exists(WU_REBOOT_REQUIRED),
            "pending_file_rename": bool(pfro),
            "computer_rename": str(self.registry.get(ACTIVE_COMPUTER_NAME_KEY, "ComputerName", "")).lower()
            != str(self.registry.get(COMPUTER_NAME_KEY, "ComputerName", "")).lower(),
            "features": self.features.any_pending(),
        }

    def reboot_pending(self) -> bool:
        return any(self.pending_reboot().values())

    # -- boot -----------------------------------------------------------------------------------
    def add_reboot_listener(self, listener: Callable[[SimHost], None]) -> None:
        """``listener(host)`` is called (without the lock) when the host goes down for a reboot;
        the endpoint drops its connections (``WinRMEndpoint.drop_all_connections``)."""
        if listener not in self._reboot_listeners:
            self._reboot_listeners.append(listener)

    def remove_reboot_listener(self, listener: Callable[[SimHost], None]) -> None:
        if listener in self._reboot_listeners:
            self._reboot_listeners.remove(listener)

    def schedule_reboot(self, delay_s: float = 0.0) -> None:
        """``shutdown.exe /r /t <delay>``. Raises :class:`RebootAlreadyScheduled` (rc 1190) when
        one is pending (anchors §1.6 step 2). The reboot happens on a timer (so connections drop
        even when nobody polls) or at the next :meth:`advance` after the time passed."""
        with self.lock:
            if self.boot.scheduled_for is not None:
                raise RebootAlreadyScheduled("A system shutdown has already been scheduled.")
            self.boot.scheduled_for = time.time() + max(0.0, delay_s)
            self.save()
            self._start_timer(max(0.0, delay_s))

    def abort_reboot(self) -> bool:
        """``shutdown.exe /a``; False when nothing was scheduled (rc 1116 on Windows)."""
        with self.lock:
            if self.boot.scheduled_for is None:
                return False
            self.boot.scheduled_for = None
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
            self.save()
            return True

    def _start_timer(self, delay: float) -> None:
        if self._timer is not None:
            self._timer.cancel()
        timer = threading.Timer(delay, self._timer_fired)
        timer.daemon = True
        self._timer = timer
        timer.start()

    def _timer_fired(self) -> None:
        # Decide and reboot under one hold of the (re-entrant) lock: otherwise an advance() in
        # between could run the same scheduled restart a second time.
        with self.lock:
            self._timer = None
            if self.boot.scheduled_for is not None and time.time() >= self.boot.scheduled_for - 0.001:
                self.reboot()

    def reboot(self) -> None:
        """Restart now: apply what waits for a reboot, start a new boot, notify listeners.

        * pending features become final and the CBS RebootPending key goes (D.1, D.3, D.4);
        * a pending rename is applied (D.4), PendingFileRenameOperations and the WU key cleared;
        * volatile keys vanish (AutoLogonChecked: recreated ``readiness_delay_s`` after the host is
          back, anchors §1.6 step 5);
        * the hypervisor starts when a hypervisor feature is Enabled and the hardware allows it
          (D.5);
        * WSL VMs and distros stop; Automatic services run, others stop; interactive sessions end
          except auto-logon users; then :data:`BOOT_HOOKS` run;
        * ``last_boot`` changes (the boot id of anchors §1.6 step 1) and ``boot_count`` grows.
        """
        with self.lock:
            now = time.time()
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
            self.boot.scheduled_for = None
            self.features.apply_pending()
            self.registry.delete_key(CBS_REBOOT_PENDING)
            self.registry.delete_key(WU_REBOOT_REQUIRED)
            self.registry.delete_value(SESSION_MANAGER, "PendingFileRenameOperations")
            if self.os.pending_computer_name:
                self.os.computer_name = self.os.pending_computer_name
                self.users.computer_name = self.os.computer_name
            self.os.pending_computer_name = None
            self.registry.set_value(ACTIVE_COMPUTER_NAME_KEY, "ComputerName", self.os.computer_name)
            self.registry.set_value(COMPUTER_NAME_KEY, "ComputerName", self.os.computer_name)
            self.registry.drop_volatile()
            self._derive_hypervisor()
            self.wsl.shutdown_all()
            # The SCM starts Automatic (and Boot/System) services at boot
            # (https://learn.microsoft.com/windows/win32/services/automatically-starting-services).
            # Assumption (unsourced): every such service starts; a missing or failing binary is
            # modelled only for dockerd (BOOT_HOOKS, winfra.sim.models.docker.engine_boot_hook).
            for svc in self.services.all():
                svc.state = "Running" if svc.start_type in ("Automatic", "Boot", "System") else "Stopped"
            for u in self.users.users.values():
                u.logged_on = u.auto_logon and u.has_profile
            self.boot.boot_count += 1
            self.boot.down_until = now + self.boot.downtime_s
            # The boot time is when the machine came back, so it differs from the previous one.
            self.boot.last_boot = max(self.boot.down_until, self.boot.last_boot + 1e-3)
            self.boot.ready_at = self.boot.down_until + self.boot.readiness_delay_s
            for hook in list(BOOT_HOOKS):
                hook(self)
            self.counters.add("reboots")
            self.save()
            listeners = list(self._reboot_listeners)
        for listener in listeners:
            listener(self)

    def _derive_hypervisor(self) -> None:
        on = any(self.features.is_enabled(n) for n in HYPERVISOR_FEATURES)
        self.hardware.hypervisor_present = bool(on and self.hardware.virtualization_usable())
        # The Host Compute Service and Host Network Service come with VirtualMachinePlatform,
        # Hyper-V and Containers; wsl.exe detects VMP through them (windows-facts A.1) and
        # `wsl --status` warns when vmcompute is missing (microsoft/WSL WslClient.cpp Status()).
        if any(self.features.is_enabled(n) for n in (*HYPERVISOR_FEATURES, "Containers")):
            for name, display in (
                ("vmcompute", "Hyper-V Host Compute Service"),
                ("hns", "Host Network Service"),
            ):
                if self.services.get(name) is None:
                    self.services.add(
                        Service(
                            name,
                            display,
                            "Running",
                            "Manual",
                            r"C:\Windows\system32\vmcompute.exe"
                            if name == "vmcompute"
                            else r"C:\Windows\system32\svchost.exe -k NetSvcs -p",
                        )
                    )

    def advance(self) -> bool:
        """Apply what time has made due: a scheduled reboot, the readiness key. The endpoint
        calls :meth:`is_up` (which calls this) before serving each request. True when anything
        changed."""
        changed = False
        with self.lock:
            now = time.time()
            if self.boot.scheduled_for is not None and now >= self.boot.scheduled_for:
                self.reboot()
                now = time.time()
                changed = True
            if self.boot.ready_at and now >= self.boot.ready_at:
                self.registry.create_key(AUTOLOGON_CHECKED, volatile=True)
                self.boot.ready_at = 0.0
                changed = True
        return changed

    def is_up(self) -> bool:
        """False while the host is rebooting (``boot.downtime_s`` after :meth:`reboot`)."""
        self.advance()
        return time.time() >= self.boot.down_until

    def is_ready(self) -> bool:
        """Up and the logon screen reached (AutoLogonChecked exists: anchors §1.6 step 5)."""
        return self.is_up() and self.registry.key_exists(AUTOLOGON_CHECKED)

    def wait_until_up(self, timeout: float = 10.0) -> bool:
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.is_up():
                return True
            time.sleep(0.02)
        return self.is_up()

    # -- network (simulated downloads) ------------------------------------------------------
    def add_artifact(self, url: str, data: bytes | None = None, *, size: int = 0, **meta: Any) -> Artifact:
        """Declare a downloadable https URL or UNC path (tests and profiles)."""
        art = Artifact(url, data, len(data) if data is not None else size, meta)
        with self.lock:
            self.docker.network.add(art)
        return art


def _safe_dir_name(name: str) -> str:
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in name)
    if safe != name:
        safe += "-" + hashlib.sha256(name.encode()).hexdigest()[:8]
    return safe


def machine_sid_for(name: str) -> str:
    """A stable machine SID per host name (S-1-5-21-a-b-c; the three sub-authorities are random
    per installation on Windows: https://learn.microsoft.com/windows/win32/secauthz/well-known-sids)."""
    digest = hashlib.sha256(name.lower().encode()).digest()
    subs = [int.from_bytes(digest[i : i + 4], "little") for i in (0, 4, 8)]
    return "S-1-5-21-" + "-".join(str(s) for s in subs)


def deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """Dicts merge recursively; anything else in ``override`` replaces; ``None`` deletes a key."""
    out = copy.deepcopy(base)
    for k, v in override.items():
        if v is None:
            out.pop(k, None)
        elif isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = deep_merge(out[k], v)
        else:
            out[k] = copy.deepcopy(v)
    return out


__all__ = [
    "ACTIVE_COMPUTER_NAME_KEY",
    "AUTOLOGON_CHECKED",
    "BOOT_HOOKS",
    "CBS_REBOOT_PENDING",
    "COMPUTER_NAME_KEY",
    "CURRENT_VERSION",
    "MACHINE_ENVIRONMENT",
    "POLICIES_SYSTEM",
    "REG_DWORD",
    "REG_SZ",
    "SESSION_MANAGER",
    "UNINSTALL",
    "BootState",
    "Feature",
    "FeatureError",
    "Features",
    "Hardware",
    "LocalGroup",
    "LocalUser",
    "OSInfo",
    "RebootAlreadyScheduled",
    "Service",
    "Services",
    "SimHost",
    "SimHostError",
    "Token",
    "Users",
    "WinRMSettings",
    "WslPackage",
    "deep_merge",
    "machine_sid_for",
    "nt_hash",
    "register_boot_hook",
    "reset",
    "state_root",
]
