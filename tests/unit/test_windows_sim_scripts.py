"""The simulator counterparts of the features/reboot scripts, called directly on a model host
(no WinRM): get_host_state's windows/features sections, set_windows_features, get_boot_state,
restart_computer."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from winfra.facts.windows import OptionalFeatures, PendingReboot, ServerFeatures, WindowsInfo
from winfra.sim.models.host import AUTOLOGON_CHECKED, CBS_REBOOT_PENDING, SESSION_MANAGER, SimHost
from winfra.sim.models.registry import REG_MULTI_SZ
from winfra.sim.scripting import PowerShellError, ScriptCall, ScriptExit
from winfra.sim.scripts import get_boot_state, get_host_state, restart_computer, set_windows_features

FAST_BOOT = {"boot": {"downtime_s": 0.05, "readiness_delay_s": 0.05}}


def load(tmp_path: Path, profile: str = "win11-devbox", **overrides: object) -> SimHost:
    return SimHost.load(profile, profile=profile, overrides={**FAST_BOOT, **overrides}, state_dir=tmp_path)


def call(sim: SimHost, params: dict | None = None, *, elevated: bool = True) -> ScriptCall:
    user = "Administrator" if sim.os.is_server else "winrm-admin"
    return ScriptCall(host=sim, params=params or {}, user=user, elevated=elevated)


def host_state_line(sim: SimHost, *, elevated: bool = True) -> list[str]:
    return [json.dumps(get_host_state.run(call(sim, elevated=elevated)))]


def enable(sim: SimHost, **params: object) -> tuple[int, dict]:
    try:
        return 0, set_windows_features.run(call(sim, {"present": True, "source": None, **params}))
    except ScriptExit as done:
        return done.code, done.output


def test_windows_section_reads_the_model(tmp_path: Path) -> None:
    info = WindowsInfo().process(host_state_line(load(tmp_path, "vm-no-nested")))
    assert (
        info["build"] == 22631 and info["edition"] == "Professional" and info["product_type"] == "workstation"
    )
    assert info["is_vm"] and info["hypervisor_present"]  # a guest sees its host's hypervisor
    assert info["virtualization"]["vm_monitor_mode"] is False
    assert info["winrm_user"] == "WIN11-VM\\winrm-admin"
    assert info["memory_installed_bytes"] == 8192 * 1024**2
    assert info["last_boot_time"].endswith("Z") and len(info["last_boot_time"].split(".")[1]) == 8


def test_features_need_an_elevated_token(tmp_path: Path) -> None:
    sim = load(tmp_path)
    line = host_state_line(sim, elevated=False)
    assert set(OptionalFeatures().process(line).values()) == {None}
    assert json.loads(line[0])["features"]["error"] == "The requested operation requires elevation."
    assert WindowsInfo().process(line)["max_envelope_size_kb"] == 500
    with pytest.raises(PowerShellError, match="requires elevation"):
        set_windows_features.run(
            call(sim, {"present": True, "optional": ["VirtualMachinePlatform"]}, elevated=False)
        )


def test_enable_several_in_one_call_exits_3010_and_sets_cbs(tmp_path: Path) -> None:
    sim = load(tmp_path)
    code, out = enable(sim, optional=["VirtualMachinePlatform", "Microsoft-Hyper-V-All"], roles=[])
    assert code == 3010
    assert out["optional"] == {
        "VirtualMachinePlatform": "EnablePending",
        "Microsoft-Hyper-V-All": "EnablePending",
    }
    assert out["cbs_reboot_pending"] and sim.registry.key_exists(CBS_REBOOT_PENDING)
    pending = PendingReboot().process(host_state_line(sim))
    assert pending["pending"] and set(pending["pending_features"]) == {
        "VirtualMachinePlatform",
        "Microsoft-Hyper-V-All",
    }


def test_unknown_feature_rejects_the_whole_call(tmp_path: Path) -> None:
    sim = load(tmp_path)
    with pytest.raises(PowerShellError, match=r"Feature name Nope is unknown\."):
        enable(sim, optional=["VirtualMachinePlatform", "Nope"])
    assert sim.features.get("VirtualMachinePlatform").state == "Disabled"  # type: ignore[union-attr]


def test_removed_payload_needs_a_source(tmp_path: Path) -> None:
    sim = load(tmp_path, features={"optional": {"Containers": {"state": "DisabledWithPayloadRemoved"}}})
    with pytest.raises(PowerShellError, match="source files could not be found"):
        enable(sim, optional=["Containers"])
    sim.fs.mkdir(r"D:\sxs")
    code, out = enable(sim, optional=["Containers"], source=r"D:\sxs")
    assert (code, out["optional"]) == (3010, {"Containers": "EnablePending"})


def test_server_roles_with_management_tools(tmp_path: Path) -> None:
    sim = load(tmp_path, "server2022")
    code, out = enable(sim, optional=[], roles=["Hyper-V", "Containers"])
    assert code == 3010 and out["role_exit_code"] == "SuccessRestartRequired"
    assert out["roles"] == {"Hyper-V": "InstallPending", "Containers": "InstallPending"}
    assert sim.features.get("Hyper-V-PowerShell", kind="server").state == "Installed"  # type: ignore[union-attr]
    assert ServerFeatures().process(host_state_line(sim)) == {
        "Hyper-V": "InstallPending",
        "Containers": "InstallPending",
    }


def test_hyper_v_role_prerequisite_check_fails_without_nested_virtualization(tmp_path: Path) -> None:
    sim = load(tmp_path, "server2022", hardware={"nested_virtualization_exposed": False})
    with pytest.raises(PowerShellError, match="prerequisite check for the Hyper-V feature failed"):
        enable(sim, roles=["Hyper-V"])


def test_noisy_file_renames_are_reported_apart(tmp_path: Path) -> None:
    sim = load(tmp_path)
    sim.registry.set_value(
        SESSION_MANAGER, "PendingFileRenameOperations", [r"\??\C:\a.tmp", ""], REG_MULTI_SZ
    )
    pending = PendingReboot().process(host_state_line(sim))
    assert pending["pending"] is False and pending["noisy"] == ["PendingFileRenameOperations"]


def test_restart_deletes_autologon_checked_and_retries_after_1190(tmp_path: Path) -> None:
    sim = load(tmp_path)
    before = get_boot_state.run(call(sim, {"nonce": "n1"}))
    assert before["nonce"] == "n1" and before["autologon_checked"]
    sim.schedule_reboot(600)  # someone else's shutdown /r /t 600 is pending: rc 1190 first
    out = restart_computer.run(call(sim, {"delay": 0, "message": "m"}))
    assert out == {"rc": 0, "output": "", "aborted_previous": True, "in_progress": False}
    assert sim.wait_until_up(2.0)
    deadline = time.time() + 2
    while not sim.is_ready() and time.time() < deadline:
        time.sleep(0.01)
    after = get_boot_state.run(call(sim, {"nonce": "n2"}))
    assert after["last_boot_filetime"] != before["last_boot_filetime"]
    assert after["autologon_checked"] and sim.registry.key_exists(AUTOLOGON_CHECKED)
    assert sim.counters.reboots == 1


def test_restart_without_elevation_is_access_denied(tmp_path: Path) -> None:
    sim = load(tmp_path)
    out = restart_computer.run(call(sim, {"delay": 0, "message": "m"}, elevated=False))
    assert out["rc"] == 5
    assert sim.boot.scheduled_for is None
