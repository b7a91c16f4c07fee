"""Counterpart of ``winfra/scripts/docker_version.ps1``.

The docker CLI itself is modelled once, in the read-only interpreter (``docker version``:
winfra/sim/shell/interpreter.py, from the engine and Desktop state of winfra/sim/models/docker.py);
this counterpart runs it the way the script does and shapes the answer the script's way: stdout's
JSON document, stderr apart, the CLI's own exit code.
"""

from __future__ import annotations

import json
from typing import Any

from winfra.sim.scripting import ScriptCall


def run(call: ScriptCall) -> Any:
    from winfra.sim.shell.interpreter import interpret

    docker = str(call.params["docker"])
    result: dict[str, Any] = {"exists": False, "exit_code": None, "version": None, "error": None}
    if not call.host.fs.is_file(docker):
        result["error"] = f"{docker} does not exist"
        return result
    result["exists"] = True
    out, err, code = interpret(
        call.host, call.user, f'"{docker}" version --format "{{{{json .}}}}"', {}, shell="cmd"
    )
    stdout = out.decode("utf-8", "replace") if isinstance(out, bytes) else out
    stderr = err.decode("utf-8", "replace") if isinstance(err, bytes) else err
    result["exit_code"] = int(code)
    lines = [line for line in stdout.splitlines() if line.lstrip().startswith("{")]
    if lines:
        result["version"] = json.loads(lines[-1])
    if stderr.strip():
        result["error"] = stderr.strip()
    return result
