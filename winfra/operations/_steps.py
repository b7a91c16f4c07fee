"""Steps the winfra operations share: failing one host, and running a shipped script from a step.

A host-specific problem (Windows Home, a missing feature, a failed install) must fail only that
host: the operation yields a :func:`fail_host` step, which logs the problem and reports failure
when the step runs, so pyinfra removes that host from the run and the others carry on.
"""

from __future__ import annotations

from typing import Any

from pyinfra import logger
from pyinfra.api import FunctionCommand, StringCommand

from winfra.powershell.scripts import render_script, script_result


def log_host_error(host: Any, message: str) -> None:
    """Log ``message`` as this host's error (in red, as pyinfra shows failures)."""
    # pyinfra prefixes the log line with the host name already: do not print it twice.
    host.log_styled(message.removeprefix(f"{host.name}: "), fg="red", log_func=logger.error)


def _host_error(state: Any, host: Any, message: str) -> bool:
    log_host_error(host, message)
    return False


def fail_host(message: str) -> FunctionCommand:
    """A step that fails this host (and only this host) with ``message``."""
    return FunctionCommand(_host_error, (message,), {})


def run_script(
    host: Any, script: str, params: dict[str, Any], *, timeout: float | None = None
) -> tuple[bool, Any, list[str]]:
    """Run shipped ``script`` from inside a step: ``(success, its JSON result or None, stderr lines)``."""
    arguments: dict[str, Any] = {"print_output": False, "print_input": False}
    if timeout:
        arguments["_timeout"] = timeout
    ok, output = host.run_shell_command(StringCommand(render_script(script, params)), **arguments)
    return bool(ok), script_result(output.stdout_lines), list(output.stderr_lines)
