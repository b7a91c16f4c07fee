"""Counterpart of ``winfra/scripts/docker_desktop_engine_state.ps1`` (model:
winfra/sim/models/docker.py ``desktop_engine_error``)."""

from __future__ import annotations

from typing import Any

from winfra.sim.models import docker as dm
from winfra.sim.scripting import ScriptCall


def run(call: ScriptCall) -> Any:
    error = dm.desktop_engine_error(call.host, str(call.params["docker"]))
    if error:
        return {"running": False, "os_type": None, "error": error}
    return {"running": True, "os_type": call.host.docker.desktop.engine_mode, "error": None}
