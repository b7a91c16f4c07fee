"""Shared pytest fixtures.

Fixtures prefixed ``sim_endpoint`` belong to the simulator's WinRM endpoint (winfra.sim.protocol,
winfra.sim.shell); add other groups with their own prefix.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest


@pytest.fixture
def sim_endpoint_host(tmp_path: Path) -> Any:
    """A fresh simulated Windows Server 2022 host whose state lives under ``tmp_path``."""
    from winfra.sim.models.host import SimHost, reset

    state_dir = tmp_path / "winsim"
    host = SimHost.load("sim-endpoint-host", profile="server2022", state_dir=state_dir)
    yield host
    reset(state_dir)


@pytest.fixture
def sim_endpoint(sim_endpoint_host: Any) -> Iterator[Any]:
    """A started WinRMEndpoint serving :func:`sim_endpoint_host` on 127.0.0.1 (HTTP, NTLM)."""
    from winfra.sim.shell.executor import host_endpoint

    endpoint = host_endpoint(sim_endpoint_host)
    yield endpoint
    endpoint.stop()


@pytest.fixture
def sim_endpoint_factory() -> Iterator[Callable[..., Any]]:
    """``make(executor, users, **kwargs)`` starts a WinRMEndpoint; all are stopped afterwards."""
    from winfra.sim.protocol import WinRMEndpoint

    started: list[WinRMEndpoint] = []

    def make(executor: Any, users: dict[str, str] | None = None, **kwargs: Any) -> WinRMEndpoint:
        endpoint = WinRMEndpoint(executor, users or {"vagrant": "vagrant"}, **kwargs).start()
        started.append(endpoint)
        return endpoint

    yield make
    for endpoint in started:
        endpoint.stop()
