"""Counterpart of ``winfra/scripts/get_wsl_user_state.ps1``: one user's WSL state (owner: WSL helper).

Reads the user's Lxss key (windows-facts A.5), runs the simulated ``wsl -l -v`` for the raw bytes
(UTF-8 with the package wsl.exe, UTF-16LE with inbox, A.4), the user's .wslconfig (A.8) and the
relocation journals the relocate counterpart writes.
"""

from __future__ import annotations

import base64
import json
from typing import Any

from winfra.sim.models.wsl import WslExe, list_distributions, lxss_path
from winfra.sim.scripting import ScriptCall
from winfra.sim.scripts._wsl_common import check_identity


def journal_dir(call: ScriptCall) -> str:
    return call.host.user_env(call.user)["LOCALAPPDATA"] + "\\winfra"


def run(call: ScriptCall) -> Any:
    check_identity(call)
    host = call.host
    u = host.users.require(call.user)
    env = host.user_env(u.name)
    key = lxss_path(u.sid)
    reg = host.registry
    distros = []
    for d in list_distributions(host, u.name):
        vhd_exists = host.fs.exists(d.vhd_path)
        distros.append(
            {
                "guid": d.guid,
                "name": d.name,
                "base_path": d.base_path,
                "vhd_file_name": d.vhd_file_name,
                "flags": d.flags,
                "default_uid": d.default_uid,
                "state": d.state,
                "version": d.version,
                "vhd_path": d.vhd_path,
                "vhd_exists": vhd_exists,
                "vhd_size": host.fs.size(d.vhd_path) if vhd_exists and d.wsl_version == 2 else None,
            }
        )
    default_version = reg.get(key, "DefaultVersion")
    listing = None
    if distros and host.wsl.package.kind != "absent":
        exe = WslExe(host, u.name)
        result = exe.list_verbose()
        raw = result.stdout_bytes(utf8=exe.utf8_capable)
        listing = {"exit_code": result.exit_code, "stdout": base64.b64encode(raw).decode("ascii")}
    config_path = env["USERPROFILE"] + "\\.wslconfig"
    config: dict[str, Any] = {"path": config_path, "exists": False, "content": None, "bom": False}
    if host.fs.is_file(config_path):
        data = host.fs.read_bytes(config_path)
        config["exists"] = True
        config["bom"] = data.startswith(b"\xef\xbb\xbf")
        config["content"] = data.decode("utf-8", errors="replace").lstrip("\ufeff")
    journals = []
    jdir = journal_dir(call)
    if host.fs.is_dir(jdir):
        for name in host.fs.listdir(jdir):
            if name.lower().startswith("wsl-relocate-") and name.lower().endswith(".json"):
                journals.append(json.loads(host.fs.read_bytes(jdir + "\\" + name).decode("utf-8")))
    return {
        "user": f"{host.os.computer_name}\\{u.name}",
        "sid": u.sid,
        "profile": env["USERPROFILE"],
        "local_app_data": env["LOCALAPPDATA"],
        "default_distribution": reg.get(key, "DefaultDistribution"),
        "default_version": int(default_version) if default_version is not None else None,
        "distros": distros,
        "list": listing,
        "wslconfig": config,
        "journals": journals,
    }
