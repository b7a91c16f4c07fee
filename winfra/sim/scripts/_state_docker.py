"""The ``docker`` section of get_host_state (owner: Docker issue)."""

from __future__ import annotations

from typing import Any

from winfra.sim.scripting import ScriptCall


def docker_section(call: ScriptCall) -> Any:
    return None
