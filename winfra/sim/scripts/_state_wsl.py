"""The ``wsl`` section of get_host_state (owner: WSL helper); mirrors the ``#region wsl`` block.

kind/path from which wsl.exe exists (windows-facts A.7, A.1), version = the package wsl.exe file
version (A.3), supports_manage_move = `wsl --help` lists --manage/--move (A.6, feature-detected).
"""

from __future__ import annotations

from typing import Any

from winfra.sim.models.wsl import INBOX_WSL_EXE, PACKAGE_WSL_EXE
from winfra.sim.scripting import ScriptCall


def wsl_section(call: ScriptCall) -> Any:
    pkg = call.host.wsl.package
    if pkg.kind == "package":
        return {
            "kind": "package",
            "path": PACKAGE_WSL_EXE,
            "version": pkg.version,
            "supports_manage_move": bool(pkg.supports_manage_move),
        }
    if pkg.kind == "inbox":
        return {"kind": "inbox", "path": INBOX_WSL_EXE, "version": None, "supports_manage_move": False}
    return {"kind": "absent", "path": None, "version": None, "supports_manage_move": False}
