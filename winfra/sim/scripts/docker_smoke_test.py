"""Counterpart of ``winfra/scripts/docker_smoke_test.ps1``: ``docker run --rm <image>``.

The container/host build rules and error texts are in winfra/sim/models/docker.py
(``docker_run``, windows-facts E). Step for fault injection: ``docker:run``.
"""

from __future__ import annotations

from typing import Any

from winfra.sim.models import docker as dm
from winfra.sim.scripting import ScriptCall


def run(call: ScriptCall) -> Any:
    p = call.params
    call.step("docker:run")
    code, output = dm.docker_run(call.host, str(p["docker"]), str(p["image"]), p.get("isolation"))
    return {"exit_code": code, "output": output.strip()}
