"""WSL state of a simulated host.

Owner after initial version: WSL helper.

* The WSL package: absent, the inbox component (System32 wsl.exe, no ``--version``: windows-facts
  A.1, F.3), or the Store/MSI package installed under ``C:\\Program Files\\WSL`` (A.7).
* Registrations live in the user's Lxss registry key, not here (windows-facts A.5):
  ``HKU\\<SID>\\Software\\Microsoft\\Windows\\CurrentVersion\\Lxss\\{GUID}`` with DistributionName,
  BasePath, VhdFileName, Flags (0x8 = WSL2), DefaultUid, State, Version; ``DefaultDistribution``
  and ``DefaultVersion`` on the Lxss key. :func:`list_distributions` reads them.
* VHDs are files in the host file system (``BasePath\\VhdFileName``) with a size and a small
  content marker so tests can prove that data survived a move.
* Runtime (which distros run, whether the utility VM runs) is per user (A.7: distros are per user).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from winfra.sim.models.host import SimHost

LXSS_KEY = r"Software\Microsoft\Windows\CurrentVersion\Lxss"
# Flags (windows-facts A.5): 0x1 interop, 0x2 append Windows PATH, 0x4 drive mounting, 0x8 VM mode.
FLAG_VM_MODE = 0x8
FLAGS_WSL1 = 0x7
FLAGS_WSL2 = 0xF
# LxssDistributionState (windows-facts A.5, wslservice.idl).
STATE_NAMES = {
    1: "Installed",
    2: "Running",
    3: "Installing",
    4: "Uninstalling",
    5: "Converting",
    6: "Exporting",
}
PACKAGE_WSL_EXE = r"C:\Program Files\WSL\wsl.exe"
INBOX_WSL_EXE = r"C:\Windows\System32\wsl.exe"


@dataclass
class WslPackage:
    kind: str = "absent"  # absent | inbox | package
    version: str | None = None  # e.g. "2.3.26.0" for kind=package
    kernel_version: str | None = None
    # `wsl --manage --move` needs WSL 2.5+ (windows-facts A.6 gap 1: feature-detect it).
    supports_manage_move: bool = False


@dataclass
class WslUserRuntime:
    running_distros: list[str] = field(default_factory=list)
    vm_running: bool = False


@dataclass
class WslState:
    package: WslPackage = field(default_factory=WslPackage)
    # lower-case user name -> runtime
    runtime: dict[str, WslUserRuntime] = field(default_factory=dict)

    def runtime_for(self, user: str) -> WslUserRuntime:
        return self.runtime.setdefault(user.lower(), WslUserRuntime())

    def shutdown_all(self) -> None:
        """A reboot (or ``wsl --shutdown`` for everyone) stops every VM and distro."""
        for rt in self.runtime.values():
            rt.running_distros.clear()
            rt.vm_running = False

    def to_json(self) -> dict[str, Any]:
        return {
            "package": vars(self.package).copy(),
            "runtime": {u: vars(rt).copy() for u, rt in self.runtime.items()},
        }

    @classmethod
    def from_json(cls, raw: dict[str, Any] | None) -> WslState:
        raw = raw or {}
        state = cls(package=WslPackage(**raw.get("package", {})))
        for user, rt in raw.get("runtime", {}).items():
            state.runtime[user] = WslUserRuntime(
                running_distros=list(rt.get("running_distros", [])), vm_running=bool(rt.get("vm_running"))
            )
        return state


@dataclass
class WslDistro:
    guid: str  # with braces
    name: str
    base_path: str
    vhd_file_name: str
    flags: int
    default_uid: int
    state: int
    version: int  # filesystem layout version (A.5), NOT WSL1/2
    is_default: bool = False

    @property
    def wsl_version(self) -> int:
        return 2 if self.flags & FLAG_VM_MODE else 1

    @property
    def vhd_path(self) -> str:
        base = self.base_path
        if base.startswith("\\\\?\\"):
            base = base[4:]
        return base.rstrip("\\") + "\\" + (self.vhd_file_name if self.wsl_version == 2 else "rootfs")


def lxss_path(sid: str) -> str:
    return f"HKU\\{sid}\\{LXSS_KEY}"


def list_distributions(host: SimHost, user: str) -> list[WslDistro]:
    """Registrations of ``user`` from their Lxss key, default first (A.3: sorted default first),
    then in registration order."""
    u = host.users.get(user)
    if u is None or not host.registry.key_exists(lxss_path(u.sid)):
        return []
    key = lxss_path(u.sid)
    default = str(host.registry.get(key, "DefaultDistribution", "") or "").lower()
    out: list[WslDistro] = []
    for guid in host.registry.subkeys(key):
        sub = f"{key}\\{guid}"
        name = host.registry.get(sub, "DistributionName")
        if not name:
            continue  # e.g. the volatile InstallStatus key
        out.append(
            WslDistro(
                guid=guid,
                name=str(name),
                base_path=str(host.registry.get(sub, "BasePath", "")),
                vhd_file_name=str(host.registry.get(sub, "VhdFileName", "ext4.vhdx")),
                flags=int(host.registry.get(sub, "Flags", FLAGS_WSL2)),
                default_uid=int(host.registry.get(sub, "DefaultUid", 0)),
                state=int(host.registry.get(sub, "State", 1)),
                version=int(host.registry.get(sub, "Version", 2)),
                is_default=guid.lower() == default,
            )
        )
    out.sort(key=lambda d: not d.is_default)
    return out
