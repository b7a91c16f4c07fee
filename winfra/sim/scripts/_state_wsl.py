"""The ``wsl`` section of get_host_state (owner: WSL issue)."""

from __future__ import annotations

from typing import Any

from winfra.sim.scripting import ScriptCall


def wsl_section(call: ScriptCall) -> Any:
    return None
