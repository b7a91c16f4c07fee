"""Counterpart of ``winfra/scripts/docker_desktop_engine.ps1``: switch Desktop's engine.
Step for fault injection: ``docker:desktop_engine``."""

from __future__ import annotations

from typing import Any

from winfra.sim.models import docker as dm
from winfra.sim.scripting import PowerShellError, ScriptCall


def run(call: ScriptCall) -> Any:
    p = call.params
    host = call.host
    want = str(p["engine"])
    error = dm.desktop_engine_error(host, str(p["docker"]))
    if error:
        raise PowerShellError(
            f"Docker Desktop is not running in this user's session ({error}); it starts at their next "
            "interactive logon"
        )
    previous = host.docker.desktop.engine_mode
    result: dict[str, Any] = {"previous": previous, "engine": want, "changed": False, "method": None}
    if previous == want:
        return result
    call.step("docker:desktop_engine")
    method, failure = dm.switch_desktop_engine(host, want)
    result["method"] = method
    if failure:
        raise PowerShellError(
            f"Docker Desktop did not switch to the {want} engine within {p['timeout_s']} s: {failure}"
        )
    result["changed"] = True
    return result
