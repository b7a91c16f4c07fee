"""Fault injection seen from pyinfra through the @winsim connector (host data winsim_faults)."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pyinfra.api import Config, Inventory, State
from pyinfra.api.connect import connect_all

from winfra.connectors import winsim
from winfra.sim.models import host as h


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("WINSIM_STATE_DIR", str(tmp_path / "state"))
    yield
    winsim.stop_all()
    h.reset(tmp_path / "state")


def connect(name: str, **data: Any) -> Any:
    state = State(Inventory(([(f"@winsim/{name}", data)], {})), Config())
    connect_all(state)
    host = next(iter(state.inventory))
    assert host.connected
    return host


def test_dropped_connection_is_an_error_and_is_recorded() -> None:
    # Command 1 is get_host_state at connect; command 3 is dropped without an answer.
    host = connect("drop", winsim_profile="server2022", winsim_faults=[{"drop_connection_at_command": 3}])
    ok, _ = host.run_shell_command("Test-Path C:\\Windows")
    assert ok
    with pytest.raises(OSError):
        ok, _ = host.run_shell_command("Test-Path C:\\Users")
        # A connector that turned the drop into a failed result is also acceptable.
        if not ok:
            raise OSError("command failed")
    sim = winsim.serve("drop").sim
    assert [f["command"] for f in sim.faults.fired] == [3]
    assert sim.faults.unfired() == []
    host.disconnect()


def test_step_fault_fails_a_file_download_once() -> None:
    host = connect("step", winsim_profile="win11-devbox", winsim_faults=[{"step": "get_file:read", "nth": 1}])
    sim = winsim.serve("step").sim
    sim.fs.write_bytes(r"C:\ProgramData\data.txt", b"payload")
    sim.save()
    first = io.BytesIO()
    assert not host.get_file("C:\\ProgramData\\data.txt", first)
    second = io.BytesIO()
    assert host.get_file("C:\\ProgramData\\data.txt", second)
    assert second.getvalue() == b"payload"
    assert [f["step"] for f in sim.faults.fired] == ["get_file:read"]
    host.disconnect()


def test_faults_removed_from_host_data_are_gone_next_run() -> None:
    host = connect(
        "gone", winsim_profile="server2022", winsim_faults=[{"step": "acquire:download", "times": 0}]
    )
    assert winsim.serve("gone").sim.faults.specs
    host.disconnect()
    again = connect("gone", winsim_profile="server2022")
    assert winsim.serve("gone").sim.faults.specs == []
    again.disconnect()
