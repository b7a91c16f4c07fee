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

wsl.exe semantics (:class:`WslExe`, added by the WSL helper):
Simulated ``wsl.exe`` semantics for one user (owner: WSL helper).

Registrations live in the user's Lxss key (:mod:`winfra.sim.models.wsl`, windows-facts A.5); a
VHD is a file at ``BasePath\\VhdFileName`` whose bytes start with :data:`VHD_MAGIC` and carry a
content marker, so tests prove data survived a move. Behaviour, each from windows-facts:

* output: UTF-16LE without BOM, or UTF-8 when ``WSL_UTF8=1`` and the package (not inbox) wsl.exe
  runs (A.4); CRLF line ends; errors on stdout as ``<message>`` + ``Error code: Wsl/...``, exit -1
  (A.2);
* ``-l -v``: ``"%s %-<w>s%-16s%s"`` with ``w = max(4, longest name) + 4``, header ``NAME STATE
  VERSION``, default first with ``*`` (A.3); no distros: WSL_E_DEFAULT_DISTRO_NOT_FOUND (A.2);
* ``--export --format vhd``: WSL2 only; a failure deletes the partial file (A.6);
* ``--import ... --vhd``: copies the VHD into the install location (created if missing); new
  GUID, DefaultUid 0, not the default (A.6); name or location in use is an error;
* ``--import-in-place``: adopts the file (A.6);
* ``--unregister``: deletes the VHD and an empty BasePath; the default moves to another distro
  (A.6, LpCodes/Moving-WSL-Distribution-to-Another-Drive#4);
* ``--manage --move``: distro must be stopped, WSL2 only, target not in use; keeps GUID, default
  and user (A.6); the WSL#40716 failure (VHD moved, BasePath stale, E_ACCESSDENIED) is reproduced
  when an injected fault's text names E_ACCESSDENIED;
* starting a distro needs the user's interactive logon session (CreateVm 0x8007023f, A.7
  WSL#8072) and the VHD file.

Error codes marked "assumed" have no verbatim public capture; the scripts only compare them
with success, never parse their text.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from winfra.sim.models.filesystem import DiskFullError, normalize_path, parent_of
from winfra.sim.models.registry import REG_DWORD, REG_SZ

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


# =============================================================================================
# wsl.exe semantics (WSL helper)
# =============================================================================================
VHD_MAGIC = b"WINSIM-VHDX\n"
ROOTFS_MARKER_FILE = "winsim-marker"
FAILURE = -1  # A.2

# A.2, F.8 and the issues cited there.
E_NOT_FOUND = ("There is no distribution with the supplied name.", "Wsl/Service/WSL_E_DISTRO_NOT_FOUND")
# Text: windows-facts A.2 plus the instructions that follow it (MicrosoftDocs/WSL#2137, WSL 2.4.11);
# code line as in https://github.com/microsoft/WSL/issues/9338 and /11881 (`wsl -l`, `wsl`).
E_NO_DISTROS = (
    "Windows Subsystem for Linux has no installed distributions.\n"
    "You can resolve this by installing a distribution with the instructions below:\n"
    "\n"
    "Use 'wsl.exe --list --online' to list available distributions\n"
    "and 'wsl.exe --install <Distro>' to install.",
    "Wsl/WSL_E_DEFAULT_DISTRO_NOT_FOUND",
)
E_NOT_STOPPED = (
    "The operation could not be completed because the vhdx is currently in use. To force WSL to stop use: "
    "wsl.exe --shutdown",
    "Wsl/Service/MoveDistro/WSL_E_DISTRO_NOT_STOPPED",
)
E_ACCESS_DENIED = ("Access is denied.", "Wsl/Service/MoveDistro/E_ACCESSDENIED")
# Assumed codes (messages from Resources.resw as quoted in windows-facts A.6).
E_NAME_EXISTS = (
    "A distribution with the supplied name already exists. Use --name to choose a different name.",
    "Wsl/Service/RegisterDistro/ERROR_ALREADY_EXISTS",
)
E_PATH_IN_USE = (
    "The supplied install location is already in use.",
    "Wsl/Service/RegisterDistro/ERROR_FILE_EXISTS",
)
E_WSL2_NEEDED = ("This operation is only supported by WSL2.", "Wsl/Service/WSL_E_WSL2_NEEDED")
E_DISK_FULL = ("There is not enough space on the disk.", "Wsl/Service/ERROR_DISK_FULL")
# Assumption (unsourced): the message text. windows-facts A.7 (WSL#8072) gives only the code
# 0x8007023f; the text below is Windows' ERROR_NO_SUCH_LOGON_SESSION (0x80070520) wording, seen with
# `wsl --install` in https://github.com/microsoft/WSL/issues/9521. Scripts compare the exit code only.
E_NO_LOGON = (
    "A specified logon session does not exist. It may already have been terminated.",
    "Wsl/Service/CreateInstance/CreateVm/0x8007023f",
)
E_VHD_MISSING = (
    "The system cannot find the file specified.",
    "Wsl/Service/CreateInstance/MountDisk/HCS/ERROR_FILE_NOT_FOUND",
)
E_FILE_MISSING = ("The system cannot find the file specified.", "Wsl/Service/ERROR_FILE_NOT_FOUND")


@dataclass
class WslRun:
    """One wsl.exe run: exit code and the text it printed (encoded by :meth:`stdout_bytes`)."""

    exit_code: int
    text: str = ""
    error_code: str | None = None

    @property
    def ok(self) -> bool:
        return self.exit_code == 0

    def stdout_bytes(self, *, utf8: bool) -> bytes:
        body = self.text.replace("\r\n", "\n").replace("\n", "\r\n")
        return body.encode("utf-8" if utf8 else "utf-16-le")


def ok(text: str = "") -> WslRun:
    return WslRun(0, text)


def fail(error: tuple[str, str]) -> WslRun:
    message, code = error
    return WslRun(FAILURE, f"{message}\nError code: {code}\n", code)


def fault_failure(fault: str) -> WslRun:
    """An injected step failure as wsl.exe reports it: the fault text names the code if it has one."""
    code = next((w for w in fault.split() if w.startswith("Wsl/")), "Wsl/Service/E_FAIL")
    message = " ".join(w for w in fault.split() if not w.startswith("Wsl/")) or "Catastrophic failure"
    return WslRun(FAILURE, f"{message}\nError code: {code}\n", code)


def vhd_bytes(marker: str, size: int = 4096) -> bytes:
    head = VHD_MAGIC + marker.encode("utf-8") + b"\n"
    return head + b"\0" * max(0, size - len(head))


def read_marker(host: SimHost, path: str) -> str | None:
    """The content marker of a VHD file (or of a WSL1 rootfs directory), None if absent."""
    fs = host.fs
    if fs.is_dir(path):
        marker = path.rstrip("\\") + "\\" + ROOTFS_MARKER_FILE
        return fs.read_bytes(marker).decode("utf-8") if fs.is_file(marker) else None
    if not fs.is_file(path):
        return None
    with fs.open_read(path) as fh:
        head = fh.read(len(VHD_MAGIC) + 512)
    if not head.startswith(VHD_MAGIC):
        return None
    return head[len(VHD_MAGIC) :].split(b"\n", 1)[0].decode("utf-8")


class WslExe:
    """wsl.exe as ``user`` on ``host``. Call with the host lock held (counterparts do)."""

    def __init__(self, host: SimHost, user: str) -> None:
        self.host = host
        u = host.users.require(user)
        self.user = u
        self.key = lxss_path(u.sid)

    # -- helpers ----------------------------------------------------------------------------
    @property
    def installed(self) -> bool:
        return self.host.wsl.package.kind != "absent"

    @property
    def utf8_capable(self) -> bool:
        # Inbox wsl.exe ignores WSL_UTF8 (A.4).
        return self.host.wsl.package.kind == "package"

    def distros(self) -> list[WslDistro]:
        return list_distributions(self.host, self.user.name)

    def find(self, name: str) -> WslDistro | None:
        # Distro names compare case-insensitively in WSL (DistributionRegistration lookup).
        return next((d for d in self.distros() if d.name.lower() == name.lower()), None)

    def _running(self) -> list[str]:
        return self.host.wsl.runtime_for(self.user.name).running_distros

    def is_running(self, name: str) -> bool:
        return any(n.lower() == name.lower() for n in self._running())

    def _stop(self, name: str) -> None:
        rt = self.host.wsl.runtime_for(self.user.name)
        rt.running_distros[:] = [n for n in rt.running_distros if n.lower() != name.lower()]

    def _sub(self, d: WslDistro) -> str:
        return f"{self.key}\\{d.guid}"

    def _location_in_use(self, location: str, *, except_guid: str | None = None) -> WslDistro | None:
        want = normalize_path(location).lower()
        for d in self.distros():
            if d.guid != except_guid and normalize_path(d.base_path).lower() == want:
                return d
        return None

    def _default_guid(self) -> str:
        return str(self.host.registry.get(self.key, "DefaultDistribution", "") or "")

    def register(
        self,
        name: str,
        base_path: str,
        *,
        vhd_file_name: str = "ext4.vhdx",
        wsl_version: int = 2,
        default_uid: int = 0,
        guid: str | None = None,
    ) -> WslDistro:
        """Write a registration (what RegisterDistribution stores, A.5)."""
        reg = self.host.registry
        guid = guid or "{" + str(uuid.uuid4()) + "}"
        sub = f"{self.key}\\{guid}"
        reg.set_value(sub, "DistributionName", name, REG_SZ)
        reg.set_value(sub, "BasePath", normalize_path(base_path), REG_SZ)
        reg.set_value(sub, "VhdFileName", vhd_file_name, REG_SZ)
        reg.set_value(sub, "Flags", FLAGS_WSL2 if wsl_version == 2 else FLAGS_WSL1, REG_DWORD)
        reg.set_value(sub, "DefaultUid", default_uid, REG_DWORD)
        reg.set_value(sub, "State", 1, REG_DWORD)
        reg.set_value(sub, "Version", 2, REG_DWORD)
        # Assumption (unsourced): with no (valid) default, the newly registered distro becomes the
        # default; with one, it does not (windows-facts A.6: an imported distro "is no longer the
        # default"). Consistent with A.6's unregister auto-promotion, not verified in code.
        if not self._default_guid() or self.find_guid(self._default_guid()) is None:
            reg.set_value(self.key, "DefaultDistribution", guid, REG_SZ)
        found = self.find_guid(guid)
        assert found is not None
        return found

    def find_guid(self, guid: str) -> WslDistro | None:
        return next((d for d in self.distros() if d.guid.lower() == guid.lower()), None)

    # -- commands -----------------------------------------------------------------------------
    def list_verbose(self) -> WslRun:
        distros = self.distros()
        if not distros:
            return fail(E_NO_DISTROS)
        width = max(4, *(len(d.name) for d in distros)) + 4
        lines = [f"  {'NAME':<{width}}{'STATE':<16}VERSION"]
        for d in distros:
            mark = "*" if d.is_default else " "
            st = "Running" if self.is_running(d.name) else "Stopped"
            lines.append(f"{mark} {d.name:<{width}}{st:<16}{d.wsl_version}")
        return ok("\n".join(lines) + "\n")

    def list_quiet(self) -> WslRun:
        return ok("".join(d.name + "\n" for d in self.distros()))

    def list_running_quiet(self) -> WslRun:
        """``-l --running -q``: running names, one a line; nothing and exit 0 when none (A.2)."""
        return ok("".join(d.name + "\n" for d in self.distros() if self.is_running(d.name)))

    def terminate(self, name: str) -> WslRun:
        if self.find(name) is None:
            return fail(E_NOT_FOUND)
        self._stop(name)
        return ok("The operation completed successfully.\n")

    def shutdown(self) -> WslRun:
        rt = self.host.wsl.runtime_for(self.user.name)
        rt.running_distros.clear()
        rt.vm_running = False
        return ok()

    def start(self, name: str) -> WslRun:
        """``wsl -d <name> --exec /bin/true``."""
        d = self.find(name)
        if d is None:
            return fail(E_NOT_FOUND)
        if d.wsl_version == 2 and not self.user.logged_on:
            return fail(E_NO_LOGON)
        if not self.host.fs.exists(d.vhd_path):
            return fail(E_VHD_MISSING)
        if read_marker(self.host, d.vhd_path) is None:
            return fail(E_VHD_MISSING)
        if not self.is_running(d.name):
            self._running().append(d.name)
        if d.wsl_version == 2:
            self.host.wsl.runtime_for(self.user.name).vm_running = True
        return ok()

    def set_default(self, name: str) -> WslRun:
        d = self.find(name)
        if d is None:
            return fail(E_NOT_FOUND)
        self.host.registry.set_value(self.key, "DefaultDistribution", d.guid, REG_SZ)
        return ok("The operation completed successfully.\n")

    def set_default_version(self, version: int) -> WslRun:
        # Registry effect: windows-facts A.1/A.5. Output text: assumption (unsourced); 2021 builds
        # printed only the "key differences with WSL 2" pointer (microsoft/WSL#7004, Spanish).
        self.host.registry.set_value(self.key, "DefaultVersion", int(version), REG_DWORD)
        return ok("The operation completed successfully.\n")

    def export(self, name: str, path: str, vhd: bool = True) -> WslRun:
        d = self.find(name)
        if d is None:
            return fail(E_NOT_FOUND)
        if vhd and d.wsl_version != 2:
            return fail(E_WSL2_NEEDED)
        fs = self.host.fs
        if not fs.exists(d.vhd_path):
            return fail(E_VHD_MISSING)
        try:
            # A failed export deletes its partial file (A.6): open_write discards on error.
            fs.copy(d.vhd_path, path)
        except DiskFullError:
            return fail(E_DISK_FULL)
        except FileNotFoundError:
            return fail(E_FILE_MISSING)
        return ok("Export in progress, this may take a few minutes.\nThe operation completed successfully.\n")

    def unregister(self, name: str) -> WslRun:
        d = self.find(name)
        if d is None:
            return fail(E_NOT_FOUND)
        fs = self.host.fs
        self._stop(d.name)
        target = d.vhd_path
        if fs.is_dir(target):
            fs.rmtree(target)
        elif fs.exists(target):
            fs.remove(target)
        base = normalize_path(d.base_path)
        if fs.is_dir(base) and not fs.listdir(base):
            fs.rmtree(base)
        was_default = d.is_default
        self.host.registry.delete_key(self._sub(d))
        if was_default:
            rest = self.distros()
            if rest:
                self.host.registry.set_value(self.key, "DefaultDistribution", rest[0].guid, REG_SZ)
            else:
                self.host.registry.delete_value(self.key, "DefaultDistribution")
        return ok("Unregistering.\nThe operation completed successfully.\n")

    def import_vhd(self, name: str, location: str, file: str) -> WslRun:
        """``--import <name> <location> <file> --vhd``: copy the VHD into the location (A.6)."""
        if self.find(name) is not None:
            return fail(E_NAME_EXISTS)
        if self._location_in_use(location) is not None:
            return fail(E_PATH_IN_USE)
        fs = self.host.fs
        if not fs.is_file(file):
            return fail(E_FILE_MISSING)
        loc = normalize_path(location)
        created = not fs.is_dir(loc)
        target = loc + "\\ext4.vhdx"
        try:
            fs.mkdir(loc)
            fs.copy(file, target)
        except DiskFullError:
            if created and fs.is_dir(loc) and not fs.listdir(loc):
                fs.rmtree(loc)
            return fail(E_DISK_FULL)
        self.register(name, loc, wsl_version=2, default_uid=0)
        return ok("Import in progress, this may take a few minutes.\nThe operation completed successfully.\n")

    def import_in_place(self, name: str, file: str) -> WslRun:
        """``--import-in-place``: adopt the .vhdx where it is; always WSL2, DefaultUid 0 (A.6)."""
        if self.find(name) is not None:
            return fail(E_NAME_EXISTS)
        fs = self.host.fs
        if not fs.is_file(file):
            return fail(E_FILE_MISSING)
        canon = normalize_path(file)
        base = parent_of(canon) or canon[:3]
        if self._location_in_use(base) is not None:
            return fail(E_PATH_IN_USE)
        self.register(name, base, vhd_file_name=canon.rsplit("\\", 1)[1], wsl_version=2, default_uid=0)
        return ok("The operation completed successfully.\n")

    def manage_move(self, name: str, location: str, *, access_denied_after_move: bool = False) -> WslRun:
        """``--manage <name> --move <location>`` (A.6)."""
        d = self.find(name)
        if d is None:
            return fail(E_NOT_FOUND)
        if self.is_running(d.name):
            return fail(E_NOT_STOPPED)
        if d.wsl_version != 2:
            return fail(E_WSL2_NEEDED)
        if self._location_in_use(location, except_guid=d.guid) is not None:
            return fail(E_PATH_IN_USE)
        fs = self.host.fs
        loc = normalize_path(location)
        target = loc + "\\" + d.vhd_file_name
        try:
            fs.mkdir(loc)
            fs.move(d.vhd_path, target)
        except DiskFullError:
            return fail(E_DISK_FULL)
        if access_denied_after_move:
            # microsoft/WSL#40716: the file moved, BasePath was not updated.
            return fail(E_ACCESS_DENIED)
        self.host.registry.set_value(self._sub(d), "BasePath", loc, REG_SZ)
        return ok("The operation completed successfully.\n")

    def set_version(self, name: str, version: int) -> WslRun:
        """``--set-version``: WSL1 rootfs <-> WSL2 VHD in BasePath (A.1, A.5)."""
        d = self.find(name)
        if d is None:
            return fail(E_NOT_FOUND)
        if d.wsl_version == version:
            # Assumption (unsourced): text and exit 0; no capture found (real WSL may exit -1 with
            # WSL_E_VM_MODE_INVALID_STATE). Scripts check the version before converting.
            return ok("The distribution is already the requested version.\n")
        fs = self.host.fs
        base = normalize_path(d.base_path)
        marker = read_marker(self.host, d.vhd_path) or ""
        self._stop(d.name)
        try:
            if version == 2:
                vhd = base + "\\" + d.vhd_file_name
                fs.write_bytes(vhd, vhd_bytes(marker))
                fs.rmtree(base + "\\rootfs")
            else:
                fs.mkdir(base + "\\rootfs")
                fs.write_bytes(base + "\\rootfs\\" + ROOTFS_MARKER_FILE, marker.encode("utf-8"))
                fs.remove(d.vhd_path)
        except DiskFullError:
            return fail(E_DISK_FULL)
        flags = d.flags | FLAG_VM_MODE if version == 2 else d.flags & ~FLAG_VM_MODE
        self.host.registry.set_value(self._sub(d), "Flags", flags, REG_DWORD)
        return ok(
            "Conversion in progress, this may take a few minutes.\nThe operation completed successfully.\n"
        )


def create_distro(
    host: SimHost,
    user: str,
    name: str,
    base_path: str,
    *,
    marker: str,
    size: int = 4096,
    wsl_version: int = 2,
    default_uid: int = 1000,
    default: bool = False,
) -> WslDistro:
    """Test/profile helper: a registered distro with a VHD (or rootfs) holding ``marker``."""
    with host.lock:
        host.create_profile(user)
        exe = WslExe(host, user)
        base = normalize_path(base_path)
        host.fs.mkdir(base)
        if wsl_version == 2:
            host.fs.write_bytes(base + "\\ext4.vhdx", vhd_bytes(marker, size))
        else:
            host.fs.mkdir(base + "\\rootfs")
            host.fs.write_bytes(base + "\\rootfs\\" + ROOTFS_MARKER_FILE, marker.encode("utf-8"))
        exe.register(name, base, wsl_version=wsl_version, default_uid=default_uid)
        if default:
            exe.set_default(name)
        host.save()
        found = exe.find(name)
        assert found is not None
        return found
