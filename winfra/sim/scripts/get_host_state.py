"""Counterpart of ``winfra/scripts/get_host_state.ps1``: the batched host-state read.

Each section is produced by the module that owns that area, mirroring the script's regions.
"""

from __future__ import annotations

from typing import Any

from winfra.sim.scripting import ScriptCall


def run(call: ScriptCall) -> Any:
    # Imported here so each area module can grow without import cycles with the model.
    from winfra.sim.scripts import _state_docker, _state_windows, _state_wsl

    return {
        "windows": _state_windows.windows_section(call),
        "features": _state_windows.features_section(call),
        "wsl": _state_wsl.wsl_section(call),
        "docker": _state_docker.docker_section(call),
    }
