"""Counterpart of ``winfra/scripts/wsl_user_action.ps1`` (owner: WSL helper).

Actions: set_default_version (HKCU Lxss DefaultVersion, windows-facts A.1/A.5), write_config
(%UserProfile%\\.wslconfig, UTF-8 without BOM, atomic; then wsl --shutdown, A.8), shutdown,
set_version (free space checked first; the conversion writes the new disk next to the old, A.1).
Steps: wsl:set_default_version, wsl:shutdown, wsl:set_version.
"""

from __future__ import annotations

from typing import Any

from winfra.sim.models.filesystem import DiskFullError, normalize_path
from winfra.sim.models.wsl import lxss_path
from winfra.sim.scripting import PowerShellError, ScriptCall
from winfra.sim.scripts._wsl_common import check_identity, run_wsl, wsl_for


def _check(result: Any, call: ScriptCall, what: str) -> None:
    if not result.ok:
        raise PowerShellError(
            f"winfra: wsl.exe {what} failed for {call.user} (exit {result.exit_code}, {result.error_code})."
        )


def run(call: ScriptCall) -> Any:
    check_identity(call)
    host = call.host
    p = call.params
    action = str(p.get("action"))
    steps: list[dict[str, Any]] = []
    out: dict[str, Any] = {"action": action, "changed": False, "steps": steps}
    u = host.users.require(call.user)
    if action == "set_default_version":
        version = int(p["version"])
        current = host.registry.get(lxss_path(u.sid), "DefaultVersion")
        if current != version:
            exe = wsl_for(call)
            _check(run_wsl(call, steps, "wsl:set_default_version", exe.set_default_version, version), call,
                   "--set-default-version")  # fmt: skip
            out["changed"] = True
    elif action == "write_config":
        path = host.user_env(u.name)["USERPROFILE"] + "\\.wslconfig"
        text = str(p.get("content") or "")
        # The script compares bytes (case-sensitively, BOM included): a BOM or a change of case
        # alone is a change (PowerShell's -ne on strings ignores case: about_Comparison_Operators).
        old = host.fs.read_bytes(path) if host.fs.is_file(path) else None
        out["path"] = path
        out["shutdown"] = False
        if old != text.encode("utf-8"):
            tmp = path + ".winfra-tmp"
            try:
                host.fs.write_bytes(tmp, text.encode("utf-8"))
            except DiskFullError as exc:
                raise PowerShellError(
                    f'Exception calling "WriteAllText" with "3" argument(s): "{exc.strerror}"'
                ) from exc
            host.fs.replace(tmp, path)
            out["changed"] = True
            if p.get("shutdown"):
                exe = wsl_for(call)
                _check(run_wsl(call, steps, "wsl:shutdown", exe.shutdown), call, "--shutdown")
                out["shutdown"] = True
    elif action == "shutdown":
        exe = wsl_for(call)
        _check(run_wsl(call, steps, "wsl:shutdown", exe.shutdown), call, "--shutdown")
        out["changed"] = True
    elif action == "set_version":
        name = str(p["name"])
        version = int(p["version"])
        exe = wsl_for(call)
        d = exe.find(name)
        if d is None:
            raise PowerShellError(f"winfra: there is no WSL distro named '{name}' for {u.name}.")
        if d.wsl_version != version:
            fs = host.fs
            src = d.vhd_path
            if fs.is_dir(src):
                size = sum(fs.size(f) for f in fs.walk_files(src))
            else:
                size = fs.size(src) if fs.exists(src) else 0
            margin = int(p.get("margin_bytes", 1024**3))
            base = normalize_path(d.base_path)
            free = fs.free_bytes(base[0])
            if free < size + margin:
                raise PowerShellError(
                    f"winfra: not enough free space on {base[:2]} to convert '{name}' to WSL{version}: "
                    f"need {size + margin} bytes, have {free}. Free space first; nothing was changed."
                )
            _check(run_wsl(call, steps, "wsl:set_version", exe.set_version, d.name, version), call,
                   "--set-version")  # fmt: skip
            out["changed"] = True
    else:
        raise PowerShellError(f"winfra: unknown action '{action}'.")
    return out
