"""Docker Desktop's per-user paths, shared by the settings counterparts (windows-facts B.5, B.6)."""

from __future__ import annotations

import json
from typing import Any

from winfra.sim.scripting import ScriptCall
from winfra.sim.scripts.docker_user_config import resolve_profile


def desktop_paths(call: ScriptCall, user: str, script: str) -> dict[str, Any]:
    """{"profile", "settings_path", "settings_exists", "data": parsed settings or None,
    "error", "custom_dir"} for ``user`` (profile None when they never logged on)."""
    fs = call.host.fs
    _sid, profile = resolve_profile(call, user, script)
    out: dict[str, Any] = {
        "profile": profile,
        "settings_path": None,
        "settings_exists": False,
        "data": None,
        "error": None,
        "custom_dir": None,
    }
    if not profile:
        return out
    roaming = f"{profile}\\AppData\\Roaming\\Docker"
    settings = f"{roaming}\\settings-store.json"
    if not fs.is_file(settings) and fs.is_file(f"{roaming}\\settings.json"):
        settings = f"{roaming}\\settings.json"
    out["settings_path"] = settings
    if fs.is_file(settings):
        out["settings_exists"] = True
        try:
            data = json.loads(fs.read_bytes(settings).decode("utf-8"))
            out["data"] = data if isinstance(data, dict) else {}
            if out["data"].get("customWslDistroDir"):
                out["custom_dir"] = str(out["data"]["customWslDistroDir"])
        except ValueError as exc:
            # ConvertFrom-Json's error on invalid JSON (PS 5.1 wording differs; assumption).
            out["error"] = f"Invalid JSON primitive: {exc}"
    return out


def data_dir(profile: str, custom_dir: str | None) -> str:
    # windows-facts B.6: default %LOCALAPPDATA%\Docker\wsl; a custom dir gets DockerDesktopWSL.
    return (
        f"{custom_dir.rstrip(chr(92))}\\DockerDesktopWSL"
        if custom_dir
        else f"{profile}\\AppData\\Local\\Docker\\wsl"
    )
