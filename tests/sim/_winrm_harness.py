"""Test harness for the @winrm connector against the simulator over real HTTP + NTLM.

A simulated host (``winfra.sim.models.host.SimHost``) is served by the simulator's WinRM endpoint
(``winfra.sim.protocol.WinRMEndpoint``) with the real shell layer (``HostExecutor``: cmd.exe and
powershell.exe decoding, the stdin bootstrap, rendered-script dispatch). Only the last step, the
interpreter for ad-hoc PowerShell, is replaced for these tests by :class:`ScriptedExecutor`,
which understands scripts whose first line is ``#winfra-test {json}``:

* ``stdout``: lines to print; ``stderr``: lines written as one CLIXML error record;
* ``rc``: exit code; ``sleep``: seconds to run first (stops early when terminated);
* ``echo``: print one JSON line with what the process received: the ``WINFRA_*`` environment,
  the working directory, ``$WinfraStdin``, and the script's length and SHA-256.

Everything else (get_host_state at connect, put_file/get_file) runs the real counterparts.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from pyinfra.api import Config, Inventory, State
from pyinfra.api.connect import connect_all
from pyinfra.api.exceptions import PyinfraError
from pyinfra.api.operation import add_op
from pyinfra.api.operations import run_ops

from winfra.sim.models.host import SimHost, reset
from winfra.sim.protocol import WinRMEndpoint
from winfra.sim.shell import psoutput
from winfra.sim.shell.executor import HostExecutor, host_users
from winfra.sim.shell.process import ProcessIO

MARKER = "#winfra-test "
ADMIN = "Administrator"
PASSWORD = "Winsim-Srv-Adm1n!"  # winfra/sim/profiles/server2022.yml


def scripted(**spec: Any) -> str:
    """A PowerShell comment line the scripted executor understands (plus optional padding)."""
    padding = spec.pop("padding", 0)
    text = MARKER + json.dumps(spec, ensure_ascii=False)
    if padding:
        text += "\n" + ("# padding line ............................................\n" * (padding // 60 + 1))
    return text


class ScriptedExecutor(HostExecutor):
    """The real HostExecutor with a scripted interpreter for ``#winfra-test`` scripts."""

    def __init__(self, host: SimHost) -> None:
        super().__init__(host)
        # Every #winfra-test spec that started, in order (to prove a command ran exactly once).
        self.ran: list[dict[str, Any]] = []

    def _interpret(
        self,
        shell: Any,
        script: str,
        env: dict[str, str],
        cwd: str | None,
        winfra_stdin: str | None,
        io: ProcessIO,
        codepage: int,
    ) -> int:
        first = script.split("\n", 1)[0]
        if not first.startswith(MARKER):
            return super()._interpret(shell, script, env, cwd, winfra_stdin, io, codepage)
        spec = json.loads(first[len(MARKER) :])
        self.ran.append(spec)
        deadline = time.monotonic() + float(spec.get("sleep", 0))
        while time.monotonic() < deadline:
            if io._p._terminated:  # Signal terminate arrived
                return 1
            time.sleep(0.02)
        lines = list(spec.get("stdout", []))
        if spec.get("echo"):
            lines.append(
                json.dumps(
                    {
                        "env": {k: v for k, v in env.items() if k.startswith("WINFRA_")},
                        "cwd": cwd,
                        "stdin": winfra_stdin,
                        "script_length": len(script),
                        "script_sha256": hashlib.sha256(script.encode("utf-8")).hexdigest(),
                    },
                    ensure_ascii=False,
                )
            )
        stdout = "".join(line + "\r\n" for line in lines)
        stderr = b""
        if spec.get("stderr"):
            stderr = psoutput.console_encode(psoutput.clixml_errors([list(spec["stderr"])]), codepage)
        rc = int(spec.get("rc", 0))
        io.finish(psoutput.console_encode(stdout, codepage), stderr, rc)
        return rc


class SimTarget:
    """A simulated host, its endpoint and the pyinfra host data to reach it."""

    def __init__(
        self, tmp_path: Path, name: str = "h1-target", profile: str = "server2022", **endpoint_kwargs: Any
    ) -> None:
        self.state_dir = tmp_path / "winsim"
        self.sim = SimHost.load(name, profile=profile, state_dir=self.state_dir)
        self.admin = next(u.name for u in self.sim.users.users.values() if self.sim.users.is_admin(u.name))
        self.password = self.sim.users.require(self.admin).password
        self.executor = ScriptedExecutor(self.sim)
        settings = self.sim.winrm
        kwargs: dict[str, Any] = {
            "allow_unencrypted": settings.allow_unencrypted,
            "allow_basic": settings.auth_basic,
            "max_envelope_kb": settings.max_envelope_size_kb,
            "max_operations_per_user": settings.max_concurrent_operations_per_user,
            "max_shells_per_user": settings.max_shells_per_user,
            "availability": self.sim.is_up,
            "counters": self.sim.counters,
            "machine_name": self.sim.os.computer_name,
        }
        kwargs.update(endpoint_kwargs)
        self.endpoint = WinRMEndpoint(self.executor, lambda: host_users(self.sim), **kwargs).start()
        # As host_endpoint() wires it: a reboot drops every connection and forgets every shell.
        self._on_reboot = lambda _host: (self.endpoint.drop_all_connections(), self.endpoint.reset_shells())
        self.sim.add_reboot_listener(self._on_reboot)

    def host_data(self, **extra: Any) -> dict[str, Any]:
        return endpoint_host_data(self.endpoint, self.admin, self.password, **extra)

    def close(self) -> None:
        self.sim.remove_reboot_listener(self._on_reboot)
        self.endpoint.stop()
        reset(self.state_dir)


def endpoint_host_data(endpoint: Any, user: str, password: str | None, **extra: Any) -> dict[str, Any]:
    """pyinfra host data that reaches a simulator endpoint over HTTP with NTLM."""
    data: dict[str, Any] = {
        "winrm_hostname": "127.0.0.1",
        "winrm_port": endpoint.port,
        "winrm_scheme": "http",
        "winrm_user": user,
        "winrm_password": password,
    }
    data.update(extra)
    return data


def run_steps(
    hosts: list[tuple[str, dict[str, Any]]], steps: list[tuple[Any, dict[str, Any]]], **config: Any
) -> State:
    """One in-process pyinfra run: connect ``hosts``, add ``steps`` (operation, kwargs), run them,
    disconnect. Returns the State; the tests read ``failed_hosts`` and the simulated hosts."""
    state = State(Inventory((hosts, {})), Config(**config))
    connect_all(state)
    # An operation refusing its arguments raises from add_op: that reaches the test as is.
    for op, kwargs in steps:
        add_op(state, op, **kwargs)
    try:
        run_ops(state)
    except PyinfraError as exc:
        # pyinfra stops the run once every host failed; the tests look at failed_hosts.
        assert str(exc) == "No hosts remaining!"
    for host in state.inventory:
        if host.connected:
            host.disconnect()
    return state


def make_state(host_data: dict[str, Any], name: str = "@winrm/127.0.0.1") -> State:
    inventory = Inventory(([(name, host_data)], {}))
    return State(inventory, Config())


@contextmanager
def connected(target: SimTarget, **extra: Any) -> Iterator[Any]:
    """A connected pyinfra Host for ``target`` (disconnected afterwards)."""
    state = make_state(target.host_data(**extra))
    connect_all(state)
    host = next(iter(state.inventory))
    assert host.connected, "the host did not connect"
    try:
        yield host
    finally:
        host.disconnect()
