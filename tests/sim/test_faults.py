"""Declarative fault injection (host data ``winsim_faults``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from winfra.sim.models import host as h
from winfra.sim.models.faults import FaultError, FaultPlan, FaultPlanError, InstallerExitFault
from winfra.sim.models.filesystem import DiskFullError
from winfra.sim.process import DropConnection
from winfra.sim.scripting import PowerShellError


def load(tmp_path: Path, faults: list[dict[str, object]], profile: str = "win11-devbox") -> h.SimHost:
    return h.SimHost.load("f1", profile=profile, faults=faults, state_dir=tmp_path)


def test_nth_call_fails_once(tmp_path: Path) -> None:
    host = load(tmp_path, [{"step": "wsl:export", "nth": 2, "error": "The system cannot find the path."}])
    host.check_step("wsl:export")
    with pytest.raises(PowerShellError, match="cannot find the path"):
        host.check_step("wsl:export")
    host.check_step("wsl:export")
    assert [f["call"] for f in host.faults.fired] == [2]
    assert host.faults.unfired() == []


def test_always_and_wildcards(tmp_path: Path) -> None:
    host = load(tmp_path, [{"step": "docker:*", "times": "always"}])
    for _ in range(3):
        with pytest.raises(FaultError, match="Injected fault at docker:pull"):
            host.check_step("docker:pull")
    host.check_step("wsl:import")
    assert len(host.faults.fired) == 3


def test_installer_exit_code(tmp_path: Path) -> None:
    host = load(tmp_path, [{"step": "docker_desktop:install", "installer_exit_code": 1603}])
    with pytest.raises(InstallerExitFault) as info:
        host.check_step("docker_desktop:install")
    assert info.value.exit_code == 1603
    host.check_step("docker_desktop:install")  # once by default


def test_drop_connection_at_command(tmp_path: Path) -> None:
    host = load(tmp_path, [{"drop_connection_at_command": 2}])
    host.faults.on_command()
    with pytest.raises(DropConnection):
        host.faults.on_command()
    host.faults.on_command()
    assert host.faults.fired[0]["command"] == 2


def test_disk_full_volume(tmp_path: Path) -> None:
    host = load(tmp_path, [{"disk_full": "D:"}])
    host.fs.write_bytes(r"C:\ok.txt", b"fine")
    assert host.fs.free_bytes("D") == 0
    with pytest.raises(DiskFullError, match="not enough space"):
        host.fs.write_bytes(r"D:\backup.tar", b"x")
    assert host.faults.fired[0]["volume"] == "D:"
    assert host.faults.unfired() == []


def test_virtualization_disabled_keeps_the_hypervisor_off(tmp_path: Path) -> None:
    # windows-facts D.5: virtualization must be enabled in firmware.
    host = load(tmp_path, [{"virtualization_disabled": True}])
    host.enable_feature("VirtualMachinePlatform")
    host.reboot()
    assert not host.hardware.hypervisor_present
    assert host.hardware.hyperv_requirements()["HyperVRequirementVirtualizationFirmwareEnabled"] is False
    assert host.faults.unfired() == []


def test_fired_faults_and_counts_persist_for_the_same_plan(tmp_path: Path) -> None:
    plan = [{"step": "wsl:export", "nth": 1}]
    host = load(tmp_path, plan)
    with pytest.raises(FaultError):
        host.check_step("wsl:export")
    again = h.SimHost.load("f1", faults=plan, state_dir=tmp_path, reload=True)
    again.check_step("wsl:export")  # second run: the once-only fault does not fire again
    assert len(again.faults.fired) == 1
    # A different plan starts over.
    fresh = h.SimHost.load("f1", faults=[{"step": "wsl:export", "nth": 1, "times": 2}], state_dir=tmp_path)
    assert fresh.faults.fired == []
    with pytest.raises(FaultError):
        fresh.check_step("wsl:export")


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"stepp": "x"}, "unknown key"),
        ({"step": "x", "nth": 0}, "nth"),
        ({"step": "x", "disk_full": "D:"}, "exactly one"),
        ({"disk_full": "DD"}, "drive"),
        ({"drop_connection_at_command": "1"}, "integer"),
        ({"step": "x", "times": -1}, "times"),
    ],
)
def test_bad_fault_specs_are_rejected_naming_the_host(spec: dict[str, object], message: str) -> None:
    with pytest.raises(FaultPlanError, match=message) as info:
        FaultPlan.from_specs([spec], host="lab-1")
    assert "host lab-1" in str(info.value)
