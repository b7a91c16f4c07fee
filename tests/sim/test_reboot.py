"""Reboot and persistence round trips of the host model (anchors §1.6, windows-facts D.4)."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from winfra.sim.models import host as h

FAST_BOOT = {"boot": {"downtime_s": 0.15, "readiness_delay_s": 0.1}}


def load(tmp_path: Path, name: str = "r1", profile: str = "win11-devbox", **kw: object) -> h.SimHost:
    return h.SimHost.load(name, profile=profile, overrides=FAST_BOOT, state_dir=tmp_path, **kw)


def test_scheduled_reboot_changes_boot_id_drops_listeners_and_restores_readiness(tmp_path: Path) -> None:
    host = load(tmp_path)
    first_id = host.boot.last_boot_filetime
    notified = threading.Event()
    seen: dict[str, bool] = {}

    def listener(x: h.SimHost) -> None:
        # Observed at the moment the host goes down (the endpoint drops its connections here).
        seen["up"] = x.is_up()
        seen["ready_key"] = x.registry.key_exists(h.AUTOLOGON_CHECKED)
        notified.set()

    host.add_reboot_listener(listener)
    # anchors §1.6 step 2: win_reboot deletes AutoLogonChecked, then runs shutdown /r /t N.
    assert host.registry.delete_key(h.AUTOLOGON_CHECKED)
    host.schedule_reboot(0.05)
    with pytest.raises(h.RebootAlreadyScheduled) as info:
        host.schedule_reboot(5)
    assert info.value.exit_code == 1190
    assert notified.wait(5.0), "reboot listener was not called by the timer"
    assert seen == {"up": False, "ready_key": False}
    assert host.wait_until_up(5.0)
    # Step 4: the boot id (LastBootUpTime.ToFileTime()) differs.
    assert host.boot.last_boot_filetime > first_id
    assert host.boot.boot_count == 2
    # Step 5: the volatile key comes back only after the readiness delay, after the host is up.
    deadline = time.time() + 5
    while not host.is_ready() and time.time() < deadline:
        time.sleep(0.02)
    assert host.registry.key_exists(h.AUTOLOGON_CHECKED)
    assert host.counters.reboots == 1


def test_abort_cancels_a_scheduled_reboot(tmp_path: Path) -> None:
    host = load(tmp_path)
    host.schedule_reboot(5.0)
    assert host.abort_reboot()  # shutdown /a
    assert host._timer is None and host.boot.scheduled_for is None
    assert host.boot.boot_count == 1 and host.is_up()
    assert not host.abort_reboot()
    host.schedule_reboot(5.0)  # a new schedule is accepted after the abort (no rc 1190)
    host.abort_reboot()


def test_filetime_matches_the_windows_epoch(tmp_path: Path) -> None:
    host = load(tmp_path)
    host.boot.last_boot = 0.0  # 1970-01-01 = 116444736000000000 in FILETIME
    assert host.boot.last_boot_filetime == 116444736000000000
    assert host.boot.last_boot_iso.startswith("1970-01-01T00:00:00")


def test_reboot_stops_wsl_and_ends_sessions_except_auto_logon(tmp_path: Path) -> None:
    host = load(tmp_path)
    rt = host.wsl.runtime_for("dev")
    rt.running_distros.append("Ubuntu")
    rt.vm_running = True
    host.logon_interactive("winrm-admin")
    host.reboot()
    assert host.wsl.runtime_for("dev").running_distros == [] and not host.wsl.runtime_for("dev").vm_running
    assert host.users.require("dev").logged_on  # auto_logon
    assert not host.users.require("winrm-admin").logged_on


def test_boot_hooks_run_at_each_boot(tmp_path: Path) -> None:
    host = load(tmp_path)
    seen: list[int] = []

    def hook(x: h.SimHost) -> None:
        seen.append(x.boot.boot_count)

    h.register_boot_hook(hook)
    try:
        host.reboot()
        host.reboot()
    finally:
        h.BOOT_HOOKS.remove(hook)
    assert seen == [2, 3]


def test_state_survives_a_new_process(tmp_path: Path) -> None:
    host = load(tmp_path)
    host.enable_feature("VirtualMachinePlatform")
    host.fs.write_bytes(r"D:\data\marker.txt", b"\xef\xbb\xbfkeep me", make_parents=True)
    host.users.add_group("docker-users")
    host.users.add_member("docker-users", "dev")
    host.save()
    again = load(tmp_path, reload=True)
    assert again is not host
    assert again.features.get("VirtualMachinePlatform").state == "EnablePending"
    assert again.registry.key_exists(h.CBS_REBOOT_PENDING)
    assert again.fs.read_bytes(r"d:\DATA\marker.txt") == b"\xef\xbb\xbfkeep me"
    assert again.users.is_member("dev", "docker-users")
    # The live instance is shared within a process (a reboot keeps the same object).
    assert load(tmp_path) is again


def test_saved_state_wins_over_profile_and_reset_clears(tmp_path: Path) -> None:
    host = load(tmp_path)
    host.set_computer_name("RENAMED")
    host.reboot()
    assert load(tmp_path, profile="server2022", reload=True).os.computer_name == "RENAMED"
    assert h.reset(tmp_path) == ["r1"]
    assert not (tmp_path / "r1").exists()
    assert load(tmp_path).os.computer_name == "WIN11-DEV"


def test_pending_reboot_persisted_across_processes_fires_on_load(tmp_path: Path) -> None:
    host = load(tmp_path)
    host.schedule_reboot(0.05)
    host.close()  # the process ends before the timer fires
    time.sleep(0.1)
    again = load(tmp_path, reload=True)
    assert again.boot.boot_count == 2 and again.boot.scheduled_for is None


def test_state_dir_from_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WINSIM_STATE_DIR", str(tmp_path / "envdir"))
    host = h.SimHost.load("envhost", overrides=FAST_BOOT)
    assert (tmp_path / "envdir" / "envhost" / "state.json").is_file()
    assert host.dir == (tmp_path / "envdir" / "envhost").resolve()
    h.reset()


def test_concurrent_mutations_are_serialised(tmp_path: Path) -> None:
    host = load(tmp_path)

    def worker(i: int) -> None:
        for j in range(50):
            with host.transaction():
                host.registry.set_value(rf"HKLM\SOFTWARE\T\{i}", str(j), j, h.REG_DWORD)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(host.registry.subkeys(r"HKLM\SOFTWARE\T")) == 4
    assert host.counters.state_changes == 200
    assert load(tmp_path, reload=True).registry.get(r"HKLM\SOFTWARE\T\3", "49") == 49
