"""The ``windows`` and ``features`` sections of get_host_state (owner: features issue)."""

from __future__ import annotations

from typing import Any

from winfra.sim.scripting import ScriptCall


def windows_section(call: ScriptCall) -> Any:
    return None


def features_section(call: ScriptCall) -> Any:
    return None
