"""The ``docker`` section of get_host_state (owner: Docker issue).

Mirrors the ``#region docker`` block of ``winfra/scripts/get_host_state.ps1`` field for field,
reading the model the way the script reads Windows: the uninstall key and file version for
Docker Desktop (windows-facts B.3), ``docker-users`` members (B.4), services whose binary is a
dockerd.exe with their raw ImagePath (C.2), binary version resources, the machine PATH and
``daemon.json`` bytes (C.4).
"""

from __future__ import annotations

import hashlib
from typing import Any

from winfra.sim.models import docker as dm
from winfra.sim.scripting import ScriptCall

dm._register_hooks()

# Win32_Service.State / StartMode spellings (https://learn.microsoft.com/windows/win32/cimwin32prov/win32-service).
_CIM_START_MODE = {
    "Automatic": "Auto",
    "Manual": "Manual",
    "Disabled": "Disabled",
    "Boot": "Boot",
    "System": "System",
}


def docker_section(call: ScriptCall) -> Any:
    host = call.host
    with host.lock:
        dm.materialize(host)
        return {
            "desktop": _desktop(host),
            "engine": _engine(host),
            "local_groups": [g.name for g in host.users.groups.values()],
        }


def _desktop(host: Any) -> dict[str, Any]:
    reg = host.registry
    install_dir = str(
        reg.get(dm.DESKTOP_UNINSTALL_KEY, "InstallLocation", "") or dm.DESKTOP_INSTALL_DIR
    ).rstrip("\\")
    exe = f"{install_dir}\\Docker Desktop.exe"
    version = reg.get(dm.DESKTOP_UNINSTALL_KEY, "DisplayVersion")
    source = "uninstall_key" if version else None
    if not version and host.fs.is_file(exe):
        version = dm.file_version(host, exe)
        source = "file_version"
    svc = host.services.get(dm.DESKTOP_SERVICE)
    group = host.users.group(dm.DOCKER_USERS)
    return {
        "version": version or None,
        "version_source": source,
        "install_dir": install_dir,
        "exe_exists": host.fs.is_file(exe),
        "service": {"status": svc.state, "start_type": svc.start_type} if svc else None,
        "users_group": (
            {"name": group.name, "members": [f"{host.os.computer_name}\\{m}" for m in group.members]}
            if group
            else None
        ),
    }


def _engine(host: Any) -> dict[str, Any]:
    services = [
        {
            "name": s.name,
            "state": s.state,
            "start_mode": _CIM_START_MODE.get(s.start_type, s.start_type),
            "path_name": s.image_path,
        }
        for s in host.services.all()
        if "dockerd" in s.image_path.lower()
    ]
    dirs = [dm.ENGINE_INSTALL_DIR]
    for s in services:
        exe, _ = dm.service_binary_and_flags(s["path_name"])
        dirs.append(exe.rsplit("\\", 1)[0])
    machine_path = host.machine_path()
    for entry in machine_path.split(";"):
        if entry and host.fs.is_file(entry.rstrip("\\") + "\\dockerd.exe"):
            dirs.append(entry.rstrip("\\"))
    binaries = []
    seen: set[str] = set()
    for d in dirs:
        if d.lower() in seen:
            continue
        seen.add(d.lower())
        for name in ("dockerd.exe", "docker.exe"):
            path = f"{d}\\{name}"
            if host.fs.is_file(path):
                binaries.append({"path": path, "version": dm.file_version(host, path)})
    cfg: dict[str, Any] = {
        "path": dm.DAEMON_JSON,
        "exists": False,
        "bom": False,
        "content": None,
        "sha256": None,
    }
    if host.fs.is_file(dm.DAEMON_JSON):
        raw = host.fs.read_bytes(dm.DAEMON_JSON)
        cfg.update(
            exists=True,
            bom=raw.startswith(b"\xef\xbb\xbf"),
            content=raw.decode("utf-8", errors="replace"),
            sha256=hashlib.sha256(raw).hexdigest(),
        )
    return {"services": services, "binaries": binaries, "machine_path": machine_path, "config": cfg}
