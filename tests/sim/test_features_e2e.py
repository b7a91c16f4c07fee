"""Windows features, preflight and reboots end to end: pyinfra's real State and operation pipeline,
the @winrm connector, the simulator's WinRM endpoint over HTTP + NTLM, the real shell layer and
the script counterparts (winfra/sim/scripts), on the bundled host profiles.

Reboots are fast here: each simulated host goes down for 0.15 s and reaches the logon screen
0.1 s later (``boot`` settings of the profile).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from _winrm_harness import endpoint_host_data, run_steps
from pyinfra.api import State

from winfra.operations import windows
from winfra.sim.models.host import AUTOLOGON_CHECKED, CBS_REBOOT_PENDING, SimHost, reset
from winfra.sim.shell.executor import host_endpoint

FAST_BOOT = {"boot": {"downtime_s": 0.15, "readiness_delay_s": 0.1}}
# Fast polling for the reboot wait (the defaults are 1 s / 5 s for real hosts).
FAST_REBOOT = {"delay": 0, "poll_interval": 0.05, "connect_timeout": 2, "timeout": 30}
# Users and passwords of the bundled profiles (winfra/sim/profiles/*.yml).
ACCOUNTS = {
    "win11-devbox": ("winrm-admin", "Winsim-Adm1n!"),
    "win11-home": ("winrm-admin", "Winsim-Adm1n!"),
    "vm-no-nested": ("winrm-admin", "Winsim-Adm1n!"),
    "server2022": ("Administrator", "Winsim-Srv-Adm1n!"),
}


class Lab:
    """Simulated hosts with their endpoints, and pyinfra runs against them."""

    def __init__(self, tmp_path: Path) -> None:
        self.state_dir = tmp_path / "winsim"
        self.sims: dict[str, SimHost] = {}
        self.endpoints: dict[str, Any] = {}
        self.profiles: dict[str, str] = {}

    def add(self, name: str, profile: str) -> SimHost:
        sim = SimHost.load(name, profile=profile, overrides=FAST_BOOT, state_dir=self.state_dir)
        self.sims[name] = sim
        self.profiles[name] = profile
        self.endpoints[name] = host_endpoint(sim)
        return sim

    def run(self, steps: list[tuple[Any, dict[str, Any]]]) -> State:
        hosts = [
            (f"@winrm/{name}", endpoint_host_data(self.endpoints[name], *ACCOUNTS[self.profiles[name]]))
            for name in self.sims
        ]
        return run_steps(hosts, steps)

    def close(self) -> None:
        for endpoint in self.endpoints.values():
            endpoint.stop()
        reset(self.state_dir)


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[Lab]:
    lab = Lab(tmp_path)
    yield lab
    lab.close()


def failed(state: State) -> set[str]:
    return {h.name for h in state.failed_hosts}


def script_runs(sim: SimHost, name: str) -> int:
    return sim.counters.snapshot()["scripts"].get(name, 0)  # type: ignore[union-attr]


def restarts(sim: SimHost) -> int:
    """Restarts the deploy asked for (``shutdown.exe /r`` runs), checked against the reboots the
    model went through. The model can count one scheduled restart twice when its timer and a
    request's ``advance()`` race (SimHost._timer_fired re-enters reboot() after releasing the
    lock), so the model's own counter is only required to show at least one reboot per restart."""
    issued = script_runs(sim, "restart_computer")
    assert sim.counters.reboots >= issued
    return issued


def state_of(sim: SimHost, name: str) -> str:
    feature = sim.features.get(name)
    assert feature is not None, name
    return feature.state


def devbox_deploy() -> list[tuple[Any, dict[str, Any]]]:
    return [
        (windows.requirements, {"features": ["wsl", "hyper-v"]}),
        (windows.feature, {"features": ["wsl", "hyper-v"]}),
        (windows.reboot_if_needed, FAST_REBOOT),
    ]


def test_fresh_devbox_gets_wsl2_platform_and_hyper_v_with_exactly_one_reboot(lab: Lab) -> None:
    sim = lab.add("devbox", "win11-devbox")
    boot_before = sim.boot.last_boot_filetime

    state = lab.run(devbox_deploy())

    assert failed(state) == set()
    for name in ("VirtualMachinePlatform", "Microsoft-Hyper-V-All", "Microsoft-Hyper-V"):
        assert state_of(sim, name) == "Enabled"
    assert restarts(sim) == 1
    assert sim.boot.last_boot_filetime != boot_before
    assert not sim.registry.key_exists(CBS_REBOOT_PENDING)
    assert sim.registry.key_exists(AUTOLOGON_CHECKED)  # ready after the reboot
    assert sim.hardware.hypervisor_present
    # All features in one DISM call.
    assert script_runs(sim, "set_windows_features") == 1

    # A second run changes nothing and does not reboot; every fact of the three operations (in
    # both of pyinfra's stages) comes from the one get_host_state round trip made at connect.
    changes_before = sim.counters.snapshot()["state_changes"]
    commands_before = sim.counters.snapshot()["commands"]
    state = lab.run(devbox_deploy())
    assert sim.counters.snapshot()["commands"] - commands_before == 1
    assert failed(state) == set()
    assert restarts(sim) == 1
    assert script_runs(sim, "set_windows_features") == 1
    assert script_runs(sim, "restart_computer") == 1
    assert sim.counters.snapshot()["state_changes"] == changes_before


def test_fresh_server_gets_containers_and_hyper_v_roles_with_one_reboot(lab: Lab) -> None:
    sim = lab.add("ws2022", "server2022")
    state = lab.run(
        [
            (windows.requirements, {"features": ["containers", "hyper-v"]}),
            (windows.feature, {"features": ["containers"]}),
            (windows.feature, {"features": ["hyper-v"]}),
            (windows.reboot_if_needed, FAST_REBOOT),
        ]
    )
    assert failed(state) == set()
    assert sim.features.get("Containers", kind="server").state == "Installed"  # type: ignore[union-attr]
    assert sim.features.get("Hyper-V", kind="server").state == "Installed"  # type: ignore[union-attr]
    # -IncludeManagementTools brought the Hyper-V tools along (windows-facts D.3).
    assert sim.features.get("RSAT-Hyper-V-Tools", kind="server").state == "Installed"  # type: ignore[union-attr]
    assert restarts(sim) == 1

    # Second run: the preflight still passes with the hypervisor running (the firmware flag now
    # reads False, windows-facts D.5), nothing changes, no reboot.
    state = lab.run(
        [
            (windows.requirements, {"features": ["containers", "hyper-v"]}),
            (windows.feature, {"features": ["containers", "hyper-v"]}),
            (windows.reboot_if_needed, FAST_REBOOT),
        ]
    )
    assert failed(state) == set()
    assert restarts(sim) == 1


def test_server_containers_only_does_not_touch_hyper_v(lab: Lab) -> None:
    sim = lab.add("ws2022b", "server2022")
    state = lab.run([(windows.feature, {"features": "containers"}), (windows.reboot_if_needed, FAST_REBOOT)])
    assert failed(state) == set()
    assert sim.features.get("Containers", kind="server").state == "Installed"  # type: ignore[union-attr]
    assert sim.features.get("Hyper-V", kind="server").state == "Available"  # type: ignore[union-attr]
    assert restarts(sim) == 1


def test_home_with_hyper_v_fails_preflight_and_changes_nothing_while_others_carry_on(lab: Lab) -> None:
    home = lab.add("home", "win11-home")
    dev = lab.add("dev", "win11-devbox")
    state = lab.run(devbox_deploy())
    assert failed(state) == {"@winrm/home"}
    assert script_runs(home, "set_windows_features") == 0
    assert restarts(home) == 0 and home.counters.reboots == 0
    assert state_of(home, "VirtualMachinePlatform") == "Disabled"
    # The other host went all the way.
    assert state_of(dev, "Microsoft-Hyper-V-All") == "Enabled"
    assert restarts(dev) == 1


def test_vm_without_nested_virtualization_fails_preflight(lab: Lab) -> None:
    sim = lab.add("vm", "vm-no-nested")
    state = lab.run(devbox_deploy())
    assert failed(state) == {"@winrm/vm"}
    assert script_runs(sim, "set_windows_features") == 0
    assert state_of(sim, "VirtualMachinePlatform") == "Disabled"
    assert restarts(sim) == 0 and sim.counters.reboots == 0


def test_connection_dropped_during_the_reboot_wait_is_recovered(lab: Lab) -> None:
    sim = lab.add("flaky", "win11-devbox")

    def drop_second_command_after_boot(host: SimHost) -> None:
        # After the reboot: command 1 is the reconnect's get_host_state, command 2 the first
        # boot-state probe; the endpoint drops that connection without answering.
        host.set_faults([{"drop_connection_at_command": 2}])

    sim.add_reboot_listener(drop_second_command_after_boot)
    state = lab.run(devbox_deploy())
    assert failed(state) == set()
    assert restarts(sim) == 1
    assert [f["fault"] for f in sim.faults.fired] == [{"drop_connection_at_command": 2}]
    assert state_of(sim, "VirtualMachinePlatform") == "Enabled"


def test_host_that_never_comes_back_is_a_clear_per_host_timeout(lab: Lab) -> None:
    sim = lab.add("stuck", "win11-devbox")
    sim.boot.readiness_delay_s = 3600.0  # never reaches the logon screen within the test
    other = lab.add("ok", "win11-devbox")
    steps = [
        (windows.feature, {"features": ["wsl"]}),
        (windows.reboot_if_needed, {**FAST_REBOOT, "timeout": 1.0}),
    ]
    state = lab.run(steps)
    assert failed(state) == {"@winrm/stuck"}
    assert restarts(sim) == 1
    assert restarts(other) == 1
    assert state_of(other, "VirtualMachinePlatform") == "Enabled"


def test_explicit_reboot_waits_for_a_new_boot(lab: Lab) -> None:
    sim = lab.add("plain", "win11-devbox")
    before = sim.boot.last_boot_filetime
    state = lab.run([(windows.reboot, FAST_REBOOT)])
    assert failed(state) == set()
    assert sim.boot.last_boot_filetime != before
    assert restarts(sim) == 1
    assert sim.is_ready()
