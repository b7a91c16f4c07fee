"""Run the pyinfra CLI in a child process against simulated hosts and collect the simulator's counters.

The ``@winsim`` connector serves each simulated host inside the pyinfra process, so the
simulator's counters (``winfra/sim/counters.py``: HTTP requests, commands, powershell.exe
launches, scripts by name, state changes, reboots) live in that process and are not persisted.
The child started here is the ordinary CLI (``pyinfra_cli.main.main``) plus one exit hook that
writes every served host's counters to a JSON file before the connector stops its endpoints.

    python bench/simrun.py --counters-out counters.json -- -y inventories/sim.py deploys/docker_host.py

Used by ``bench/fleet.py`` and ``tests/sim/test_acceptance.py``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

_STARTED = time.monotonic()
REPO = Path(__file__).resolve().parent.parent
SUMMARY_JSON_ENV = "WINFRA_SUMMARY_JSON"  # winfra.deploy_summary.SUMMARY_JSON_ENV
RUN_TIME_KEY = "__run_s__"


@dataclass
class RunResult:
    returncode: int
    stdout: str
    stderr: str
    # Wall time of the child process, and from its start to the pyinfra CLI's exit (without the
    # @winsim connector stopping its in-process endpoints at interpreter exit).
    wall_s: float
    run_s: float | None = None
    # simulated host name (e.g. "devbox11") -> Counters.snapshot()
    counters: dict[str, dict[str, Any]] = field(default_factory=dict)
    # winfra.deploy_summary.HostSummary as dicts, when the deploy wrote one
    summary: list[dict[str, Any]] | None = None

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


def run_pyinfra(
    args: list[str],
    *,
    state_dir: str | os.PathLike[str],
    workdir: str | os.PathLike[str] | None = None,
    env: dict[str, str] | None = None,
    timeout: float = 600,
) -> RunResult:
    """Run ``pyinfra <args>`` in a child process with ``WINSIM_STATE_DIR=state_dir``."""
    out_dir = Path(state_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    counters_path = out_dir / f"counters.{os.getpid()}.{time.monotonic_ns()}.json"
    summary_path = counters_path.with_suffix(".summary.json")
    child_env = dict(os.environ)
    child_env.update(env or {})
    child_env["WINSIM_STATE_DIR"] = str(state_dir)
    child_env[SUMMARY_JSON_ENV] = str(summary_path)
    child_env.setdefault("PYTHONUNBUFFERED", "1")
    cmd = [sys.executable, str(Path(__file__).resolve()), "--counters-out", str(counters_path), "--", *args]
    started = time.monotonic()
    proc = subprocess.run(
        cmd,
        cwd=str(workdir or REPO),
        env=child_env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    wall = time.monotonic() - started
    counters: dict[str, dict[str, Any]] = {}
    run_s = None
    if counters_path.is_file():
        counters = json.loads(counters_path.read_text("utf-8"))
        run_s = counters.pop(RUN_TIME_KEY, None)
        counters_path.unlink()
    summary = None
    if summary_path.is_file():
        summary = json.loads(summary_path.read_text("utf-8"))
        summary_path.unlink()
    return RunResult(proc.returncode, proc.stdout, proc.stderr, wall, run_s, counters, summary)


def _child(counters_out: str, pyinfra_args: list[str], started: float) -> None:
    import atexit

    # pyinfra_cli monkey-patches the standard library for gevent when imported (pyinfra_cli/__init__.py);
    # it must come before anything imports threading/socket/ssl, as it does under the pyinfra script.
    import pyinfra_cli  # noqa: F401

    # Import the connector next: it registers its own exit hook that stops the endpoints, and
    # exit hooks run last-registered-first, so ours (registered after) sees the live hosts.
    from winfra.connectors import winsim

    def dump() -> None:
        data: dict[str, Any] = {}
        for (_root, _name), served in list(winsim._SERVED.items()):
            data[served.sim.name] = served.sim.counters.snapshot()
        # Seconds from the start of this process (imports included) to the CLI's exit, before the
        # connector stops the simulated endpoints (teardown only the simulator has: RunResult.run_s).
        data[RUN_TIME_KEY] = time.monotonic() - started
        Path(counters_out).write_text(json.dumps(data, indent=1, sort_keys=True), "utf-8")

    atexit.register(dump)
    from pyinfra_cli.main import main

    sys.argv = ["pyinfra", *pyinfra_args]
    sys.exit(main())


if __name__ == "__main__":
    argv = sys.argv[1:]
    if len(argv) < 3 or argv[0] != "--counters-out" or argv[2] != "--":
        sys.exit("usage: simrun.py --counters-out FILE -- <pyinfra arguments>")
    _child(argv[1], argv[3:], _STARTED)
