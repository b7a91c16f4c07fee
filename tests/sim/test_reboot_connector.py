"""The @winsim connector end to end: pyinfra -> real WinRM connector -> HTTP/NTLM -> simulator,
including a reboot in the middle of a run (same endpoint port, new boot id) and persistence."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pyinfra.api import Config, Inventory, State
from pyinfra.api.connect import connect_all

from winfra.connectors import winsim
from winfra.sim.models import host as h

FAST = {"boot": {"downtime_s": 0.2, "readiness_delay_s": 0.1}}
READY = (
    "Get-Item -LiteralPath "
    "'HKLM:\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion\\Winlogon\\AutoLogonChecked' "
    "-ErrorAction Stop; 'success-ready'"
)


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("WINSIM_STATE_DIR", str(tmp_path / "state"))
    yield
    winsim.stop_all()
    h.reset(tmp_path / "state")


def connect(name: str, **data: Any) -> Any:
    data.setdefault("winsim_overrides", FAST)
    state = State(Inventory(([(f"@winsim/{name}", data)], {})), Config())
    connect_all(state)
    host = next(iter(state.inventory))
    assert host.connected, f"{name} did not connect"
    return host


def run(host: Any, command: str) -> tuple[bool, list[str], list[str]]:
    ok, output = host.run_shell_command(command)
    return ok, output.stdout_lines, output.stderr_lines


def test_connects_over_ntlm_and_runs_read_only_commands() -> None:
    host = connect("srv", winsim_profile="server2022")
    ok, out, _ = run(host, "Get-Service -Name WinRM | Select-Object -ExpandProperty Status")
    assert ok and out == ["Running"]
    ok, out, err = run(host, "Get-Service -Name docker")
    assert not ok and any("Cannot find any service with service name 'docker'." in line for line in err)
    sim = host.connector.sim
    # Real HTTP with NTLM: the endpoint answered 401 challenges and counted requests.
    assert sim.counters.http_requests > 0 and sim.counters.powershell_launches >= 2
    host.disconnect()


def test_reboot_during_a_run_keeps_the_port_and_changes_the_boot_id() -> None:
    host = connect("box", winsim_profile="win11-devbox")
    served = winsim.serve("box")
    port, sim = served.endpoint.port, served.sim
    first_boot = sim.boot.last_boot_filetime
    assert run(host, READY)[1][-1] == "success-ready"
    # anchors §1.6: delete AutoLogonChecked, schedule the reboot, wait for a new boot id.
    sim.registry.delete_key(h.AUTOLOGON_CHECKED)
    sim.schedule_reboot(0.05)
    deadline = time.time() + 10
    while sim.boot.boot_count < 2 and time.time() < deadline:
        time.sleep(0.02)
    assert sim.boot.boot_count == 2
    assert sim.wait_until_up(5)
    host.disconnect()
    again = connect("box", winsim_profile="win11-devbox")
    assert winsim.serve("box").endpoint.port == port
    deadline = time.time() + 5
    ok, out, _ = run(again, READY)
    while not ok and time.time() < deadline:  # readiness key comes back after the delay
        time.sleep(0.05)
        ok, out, _ = run(again, READY)
    assert ok and out[-1] == "success-ready"
    assert sim.boot.last_boot_filetime > first_boot
    again.disconnect()


def test_profile_overrides_faults_and_bad_data(caplog: pytest.LogCaptureFixture) -> None:
    from pyinfra.api.exceptions import PyinfraError

    host = connect(
        "ov",
        winsim_profile="server2025",
        winsim_overrides={**FAST, "os": {"computer_name": "CTR-25"}},
        winsim_faults=[{"step": "docker_engine:download", "nth": 1}],
    )
    ok, out, _ = run(
        host, "(Get-ItemProperty 'HKLM:\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion').CurrentBuild"
    )
    assert ok and out == ["26100"]
    sim = host.connector.sim
    assert sim.os.computer_name == "CTR-25"
    assert sim.faults.specs == [{"step": "docker_engine:download", "nth": 1}]
    host.disconnect()
    state = State(Inventory(([("@winsim/bad", {"winsim_profile": "nope"})], {})), Config())
    with pytest.raises(PyinfraError):
        connect_all(state)
    assert "host @winsim/bad: winsim_profile 'nope' does not exist; choose one of" in caplog.text


def test_state_persists_between_runs() -> None:
    host = connect("persist", winsim_profile="win11-devbox")
    sim = host.connector.sim
    sim.fs.write_bytes(r"D:\marker.txt", b"from run 1")
    sim.save()
    host.disconnect()
    winsim.stop_all()  # a new pyinfra process: nothing served, state only on disk
    again = connect("persist", winsim_profile="win11-devbox")
    ok, out, _ = run(again, "Get-Content -LiteralPath 'D:\\marker.txt'")
    assert ok and out == ["from run 1"]
    again.disconnect()
