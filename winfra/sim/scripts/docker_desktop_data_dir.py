"""Counterpart of ``winfra/scripts/docker_desktop_data_dir.ps1``: set customWslDistroDir when
Desktop has no data yet (windows-facts B.5, B.6). Step for fault injection:
``docker:desktop_settings``."""

from __future__ import annotations

import json
from typing import Any

from winfra.sim.scripting import PowerShellError, ScriptCall
from winfra.sim.scripts._docker_desktop_paths import data_dir, desktop_paths


def run(call: ScriptCall) -> Any:
    user = str(call.params["user"])
    location = str(call.params["location"])
    paths = desktop_paths(call, user, "docker_desktop_data_dir")
    if not paths["profile"]:
        raise PowerShellError(f"docker_desktop_data_dir: user '{user}' has never logged on (no profile)")
    if paths["error"]:
        raise PowerShellError(paths["error"])
    previous = paths["custom_dir"]
    result = {"settings_path": paths["settings_path"], "changed": False, "previous": previous}
    if previous and previous.rstrip("\\").lower() == location.rstrip("\\").lower():
        return result
    vhdx = f"{data_dir(paths['profile'], previous)}\\disk\\docker_data.vhdx"
    if call.host.fs.is_file(vhdx):
        raise PowerShellError(
            f"Docker Desktop data already exists at {vhdx}; only Docker Desktop moves it: Settings > "
            "Resources > Advanced > Disk image location"
        )
    call.step("docker:desktop_settings")
    data = dict(paths["data"] or {})
    data["customWslDistroDir"] = location
    # ConvertTo-Json's layout differs; the content (UTF-8 without BOM) is what matters.
    call.host.fs.write_bytes(
        paths["settings_path"], json.dumps(data, indent=4).encode("utf-8"), make_parents=True
    )
    result["changed"] = True
    return result
