"""Counterpart of ``winfra/scripts/docker_desktop_settings.ps1``: Desktop's data location."""

from __future__ import annotations

from typing import Any

from winfra.sim.scripting import ScriptCall
from winfra.sim.scripts._docker_desktop_paths import data_dir, desktop_paths


def run(call: ScriptCall) -> Any:
    user = str(call.params["user"])
    paths = desktop_paths(call, user, "docker_desktop_settings")
    out: dict[str, Any] = {
        "user": user,
        "profile": paths["profile"],
        "settings_path": paths["settings_path"],
        "settings_exists": paths["settings_exists"],
        "custom_dir": paths["custom_dir"],
        "settings_error": paths["error"],
        "data_dir": None,
        "data_vhdx": None,
        "data_exists": False,
    }
    if paths["profile"]:
        directory = data_dir(paths["profile"], paths["custom_dir"])
        out["data_dir"] = directory
        out["data_vhdx"] = f"{directory}\\disk\\docker_data.vhdx"
        out["data_exists"] = call.host.fs.is_file(out["data_vhdx"])
    return out
