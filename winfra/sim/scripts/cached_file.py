"""Counterpart of ``winfra/scripts/cached_file.ps1``: is a file in the installer cache."""

from __future__ import annotations

from typing import Any

from winfra.sim.scripting import ScriptCall


def run(call: ScriptCall) -> Any:
    fs = call.host.fs
    path = str(call.params["path"])
    if not fs.is_file(path):
        return {"path": path, "exists": False, "size": None, "sha256": None}
    return {"path": path, "exists": True, "size": fs.size(path), "sha256": fs.sha256(path)}
