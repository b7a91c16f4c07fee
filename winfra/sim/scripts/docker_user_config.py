"""Counterpart of ``winfra/scripts/docker_user_config.ps1``: a user's Desktop daemon file.

The profile directory comes from ProfileList (written by the model when a user first logs on),
as on Windows (windows-facts B.5 for the file names).
"""

from __future__ import annotations

import hashlib
from typing import Any

from winfra.sim.models.host import PROFILE_LIST
from winfra.sim.scripting import PowerShellError, ScriptCall


def resolve_profile(call: ScriptCall, user: str, script: str) -> tuple[str, str | None]:
    """(SID, profile dir or None) of ``user``; unknown users fail like NTAccount.Translate."""
    u = call.host.users.get(user)
    if u is None:
        raise PowerShellError(f"{script}: no user '{user}' on this host")
    profile = call.host.registry.get(f"{PROFILE_LIST}\\{u.sid}", "ProfileImagePath")
    return u.sid, (str(profile) if profile else None)


def run(call: ScriptCall) -> Any:
    host = call.host
    user = str(call.params["user"])
    sid, profile = resolve_profile(call, user, "docker_user_config")
    out: dict[str, Any] = {
        "user": user,
        "sid": sid,
        "profile": profile,
        "path": None,
        "exists": False,
        "bom": False,
        "content": None,
        "sha256": None,
    }
    if profile:
        path = f"{profile}\\.docker\\{call.params['file_name']}"
        out["path"] = path
        if host.fs.is_file(path):
            raw = host.fs.read_bytes(path)
            out.update(
                exists=True,
                bom=raw.startswith(b"\xef\xbb\xbf"),
                content=raw.decode("utf-8", errors="replace"),
                sha256=hashlib.sha256(raw).hexdigest(),
            )
    return out
