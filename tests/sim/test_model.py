"""Unit tests of the simulator's host model (winfra/sim/models). Each test names its source."""

from __future__ import annotations

import hashlib
import tracemalloc
from pathlib import Path

import pytest

from winfra.sim.models import host as h
from winfra.sim.models.filesystem import DISK_FULL_MESSAGE, DiskFullError, normalize_path
from winfra.sim.models.registry import REG_BINARY, REG_DWORD, REG_MULTI_SZ, Registry, normalize_key

FAST_BOOT = {"boot": {"downtime_s": 0.05, "readiness_delay_s": 0.05}}


def load(tmp_path: Path, profile: str = "win11-devbox", name: str = "h1", **overrides: object) -> h.SimHost:
    return h.SimHost.load(name, profile=profile, overrides={**FAST_BOOT, **overrides}, state_dir=tmp_path)


# --- registry ------------------------------------------------------------------------------------


def test_registry_paths_are_case_insensitive_and_accept_powershell_forms() -> None:
    reg = Registry()
    reg.set_value(r"HKLM:\SOFTWARE\Foo", "Bar", 1, REG_DWORD)
    assert reg.get(r"HKEY_LOCAL_MACHINE\software\foo", "bar") == 1
    assert reg.get(r"Registry::HKLM\SOFTWARE\FOO", "BAR") == 1
    # The key keeps the case it was created with.
    assert reg.get_key(r"hklm\software\foo").path == r"HKLM\SOFTWARE\Foo"


def test_hkcu_resolves_to_the_users_hive_and_needs_a_sid() -> None:
    # windows-facts A.5: the Lxss key is per user (HKCU of the caller = HKU\<SID>).
    assert (
        normalize_key(r"HKCU:\Software\X", sid="S-1-5-21-1-2-3-1001") == r"HKU\S-1-5-21-1-2-3-1001\Software\X"
    )
    with pytest.raises(ValueError, match="SID"):
        normalize_key(r"HKCU:\Software\X")


def test_registry_value_types_are_checked() -> None:
    reg = Registry()
    with pytest.raises(TypeError):
        reg.set_value(r"HKLM\X", "d", "1", REG_DWORD)
    reg.set_value(r"HKLM\X", "m", ["a", "b"], REG_MULTI_SZ)
    reg.set_value(r"HKLM\X", "b", b"\x00\xff", REG_BINARY)
    # Negative DWORDs are stored as unsigned two's complement, as reg.exe shows them.
    reg.set_value(r"HKLM\X", "neg", -1, REG_DWORD)
    again = Registry.from_json(reg.to_json())
    assert again.get(r"HKLM\X", "m") == ["a", "b"]
    assert again.get(r"HKLM\X", "b") == b"\x00\xff"
    assert again.get(r"HKLM\X", "neg") == 0xFFFFFFFF


def test_subkeys_and_recursive_delete() -> None:
    reg = Registry()
    reg.create_key(r"HKLM\A\B\C")
    reg.create_key(r"HKLM\A\D")
    assert sorted(reg.subkeys(r"HKLM\A")) == ["B", "D"]
    assert reg.delete_key(r"HKLM\A\B")
    assert not reg.key_exists(r"HKLM\A\B\C")
    assert reg.key_exists(r"HKLM\A\D")


# --- file system ---------------------------------------------------------------------------------


def test_paths_are_case_insensitive_and_bytes_exact(tmp_path: Path) -> None:
    host = load(tmp_path)
    bom_json = b'\xef\xbb\xbf{"a":1}'  # windows-facts C.4: a BOM is content and must survive
    host.fs.write_bytes(r"C:\ProgramData\docker\config\daemon.json", bom_json, make_parents=True)
    assert host.fs.read_bytes(r"c:/programdata/DOCKER/config/DAEMON.JSON") == bom_json
    assert host.fs.exists(r"\\?\C:\ProgramData\docker\config\daemon.json")
    assert host.fs.size(r"C:\ProgramData\docker\config\daemon.json") == len(bom_json)
    assert host.fs.sha256(r"C:\ProgramData\docker\config\daemon.json") == hashlib.sha256(bom_json).hexdigest()
    assert normalize_path(r"C:\Users\dev\..\dev\.\x\\") == r"C:\Users\dev\x"


def test_disk_full_mirrors_windows(tmp_path: Path) -> None:
    # ERROR_DISK_FULL 112 / HRESULT 0x80070070 "There is not enough space on the disk."
    host = load(tmp_path, volumes={"D": {"total_gb": 1, "used_gb": 1}})
    free_before = host.fs.free_bytes("D")
    with pytest.raises(DiskFullError) as info:
        host.fs.write_bytes(r"D:\big.bin", b"x" * 10)
    assert info.value.hresult == 0x80070070
    assert str(DISK_FULL_MESSAGE) in str(info.value)
    assert not host.fs.exists(r"D:\big.bin")
    assert host.fs.free_bytes("D") == free_before


def test_failed_overwrite_keeps_old_content(tmp_path: Path) -> None:
    host = load(tmp_path)
    host.fs.write_bytes(r"C:\x.txt", b"old")
    with pytest.raises(RuntimeError), host.fs.open_write(r"C:\x.txt") as out:
        out.write(b"new partial")
        raise RuntimeError("writer died")
    assert host.fs.read_bytes(r"C:\x.txt") == b"old"


def test_100mb_file_streams_through_a_blob_with_bounded_memory(tmp_path: Path) -> None:
    host = load(tmp_path)
    chunk = bytes(range(256)) * 4096  # 1 MiB
    digest = hashlib.sha256()
    tracemalloc.start()
    with host.fs.open_write(r"D:\wsl\ext4.vhdx", make_parents=True) as out:
        for _ in range(100):
            out.write(chunk)
            digest.update(chunk)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < 16 * 1024 * 1024
    entry = host.fs.entry(r"D:\wsl\ext4.vhdx")
    assert entry.blob is not None and entry.size == 100 * len(chunk)
    assert (host.dir / "blobs" / entry.blob).stat().st_size == entry.size
    assert host.fs.sha256(r"D:\WSL\EXT4.VHDX") == digest.hexdigest()


def test_move_across_volumes_accounts_space_and_is_atomic(tmp_path: Path) -> None:
    host = load(tmp_path)
    host.fs.write_bytes(r"C:\a\f.bin", b"1234", make_parents=True)
    c_free, d_free = host.fs.free_bytes("C"), host.fs.free_bytes("D")
    host.fs.mkdir(r"D:\b")
    host.fs.move(r"C:\a", r"D:\b\a")
    assert host.fs.read_bytes(r"D:\b\a\f.bin") == b"1234"
    assert not host.fs.exists(r"C:\a\f.bin")
    assert host.fs.free_bytes("C") == c_free + 4 and host.fs.free_bytes("D") == d_free - 4
    host.fs.write_bytes(r"D:\new.txt", b"new")
    host.fs.write_bytes(r"D:\cur.txt", b"cur")
    host.fs.replace(r"D:\new.txt", r"D:\cur.txt")
    assert host.fs.read_bytes(r"D:\cur.txt") == b"new" and not host.fs.exists(r"D:\new.txt")


# --- users and tokens ----------------------------------------------------------------------------


def test_uac_remote_restrictions(tmp_path: Path) -> None:
    # windows-facts A.7: a local non-RID-500 admin over WinRM is filtered unless
    # LocalAccountTokenFilterPolicy=1; the built-in Administrator is not.
    host = load(tmp_path)
    assert host.token("winrm-admin").elevated
    host.registry.set_value(h.POLICIES_SYSTEM, "LocalAccountTokenFilterPolicy", 0, REG_DWORD)
    token = host.token("WIN11-DEV\\winrm-admin")
    assert token.is_admin and not token.elevated
    assert not host.token("dev").is_admin
    server = load(tmp_path, "server2022", name="srv")
    assert server.users.require("Administrator").rid == 500
    assert server.token("Administrator").elevated


def test_user_profiles_and_hives(tmp_path: Path) -> None:
    host = load(tmp_path)
    u = host.users.add_user("newbie", "pw-1234567")
    # windows-facts A.7: a user who never logged on has no profile/HKCU.
    with pytest.raises(h.SimHostError, match="never logged on"):
        host.user_hive("newbie")
    host.logon_interactive("newbie")
    assert host.user_hive("newbie") == f"HKU\\{u.sid}"
    assert host.fs.is_dir(r"C:\Users\newbie\AppData\Local")
    assert u.rid == 1003 and u.logged_on
    assert "password" not in repr(u) and "pw-1234567" not in repr(u)


# --- features, hypervisor, pending reboot ----------------------------------------------------------


def test_home_has_no_hyperv_and_rejects_it_in_overrides(tmp_path: Path) -> None:
    # windows-facts D.2: Hyper-V is not available on Home; VirtualMachinePlatform is.
    host = load(tmp_path, "win11-home")
    assert host.os.is_home and host.features.get("VirtualMachinePlatform") is not None
    with pytest.raises(h.FeatureError, match="Feature name Microsoft-Hyper-V-All is unknown"):
        host.enable_feature("Microsoft-Hyper-V-All")
    from winfra.sim.models.profile import ProfileError

    with pytest.raises(ProfileError, match="Home"):
        load(tmp_path, "win11-home", name="h2", features={"optional": {"Microsoft-Hyper-V": "Disabled"}})


def test_enable_feature_sets_pending_state_and_cbs_key(tmp_path: Path) -> None:
    # windows-facts D.1 (EnablePending), D.4 (CBS RebootPending key).
    host = load(tmp_path)
    assert host.enable_feature("VirtualMachinePlatform") is True
    assert host.features.get("virtualmachineplatform").state == "EnablePending"
    assert host.registry.key_exists(h.CBS_REBOOT_PENDING)
    assert host.pending_reboot()["cbs"] and host.reboot_pending()
    # Second request before the reboot: no change, no restart needed (anchors §1.7).
    assert host.enable_feature("VirtualMachinePlatform") is False
    # A feature that needs no restart is Enabled at once.
    assert host.enable_feature("TelnetClient") is False
    assert host.features.get("TelnetClient").state == "Enabled"


def test_parent_features_need_all(tmp_path: Path) -> None:
    host = load(tmp_path)
    with pytest.raises(h.FeatureError, match="parent features"):
        host.enable_feature("Microsoft-Hyper-V-Hypervisor")
    assert host.enable_feature("Microsoft-Hyper-V-Hypervisor", all_parents=True)
    assert host.features.get("Microsoft-Hyper-V").state == "EnablePending"
    assert host.features.get("Microsoft-Hyper-V-All").state == "EnablePending"


def test_reboot_applies_features_and_starts_the_hypervisor(tmp_path: Path) -> None:
    host = load(tmp_path)
    host.enable_feature("VirtualMachinePlatform")
    assert not host.hardware.hypervisor_present
    assert host.hardware.reported_virtualization_firmware_enabled()
    host.reboot()
    assert host.features.get("VirtualMachinePlatform").state == "Enabled"
    assert not host.registry.key_exists(h.CBS_REBOOT_PENDING)
    assert host.hardware.hypervisor_present
    # windows-facts D.5: VirtualizationFirmwareEnabled reads False while a hypervisor runs,
    # and the Get-ComputerInfo requirement fields are null.
    assert host.hardware.reported_virtualization_firmware_enabled() is False
    assert host.hardware.hyperv_requirements()["HyperVisorPresent"] is True
    assert host.hardware.hyperv_requirements()["HyperVRequirementVMMonitorModeExtensions"] is None


def test_vm_without_nested_virtualization_never_gets_a_hypervisor(tmp_path: Path) -> None:
    # windows-facts D.5: nested virtualization must be exposed to the VM.
    host = load(tmp_path, "vm-no-nested")
    assert host.enable_feature("VirtualMachinePlatform")
    host.reboot()
    assert host.features.get("VirtualMachinePlatform").state == "Enabled"
    assert not host.hardware.hypervisor_present
    assert host.hardware.hyperv_requirements()["HyperVRequirementVMMonitorModeExtensions"] is False


def test_server_features_use_server_state_names(tmp_path: Path) -> None:
    # windows-facts D.3: InstallState Installed/Available/InstallPending.
    host = load(tmp_path, "server2022", name="srv")
    assert host.enable_feature("Containers") is True
    f = host.features.get("Containers")
    assert f.state == "InstallPending" and f.dism_state == "EnablePending"
    host.reboot()
    assert f.state == "Installed" and f.dism_state == "Enabled"
    assert not host.hardware.hypervisor_present  # Containers alone starts no hypervisor


def test_server_hyperv_prerequisite_fails_without_virtualization(tmp_path: Path) -> None:
    # windows-facts D.3 failure message.
    host = load(tmp_path, "server2022", name="srv", hardware={"nested_virtualization_exposed": False})
    with pytest.raises(h.FeatureError, match="does not have required virtualization capabilities"):
        host.enable_feature("Hyper-V")
    assert host.features.get("Hyper-V").state == "Available"


def test_rename_is_pending_until_reboot(tmp_path: Path) -> None:
    # windows-facts D.4: ActiveComputerName != ComputerName means a rename is pending.
    host = load(tmp_path)
    assert host.set_computer_name("NEWNAME")
    assert host.pending_reboot()["computer_rename"] and host.os.computer_name == "WIN11-DEV"
    host.reboot()
    assert host.os.computer_name == "NEWNAME" and not host.pending_reboot()["computer_rename"]


def test_machine_path(tmp_path: Path) -> None:
    host = load(tmp_path)
    assert host.add_to_machine_path(r"C:\Program Files\Docker")
    assert not host.add_to_machine_path("c:\\program files\\docker\\")
    assert host.machine_path().endswith(r";C:\Program Files\Docker")
    assert host.user_env("dev")["PATH"] == host.machine_path()


def test_services_start_by_start_type_at_boot(tmp_path: Path) -> None:
    host = load(tmp_path)
    # Not named "docker": the Docker area's boot hook (registered once any test imports it) rightly
    # leaves a docker service whose dockerd.exe is missing stopped, which is not what this tests.
    host.services.add(
        h.Service("AutoSvc", "Automatic service", "Stopped", "Automatic", r"C:\Windows\System32\svchost.exe")
    )
    host.services.add(h.Service("manual1", state="Running", start_type="Manual"))
    host.reboot()
    assert host.services.get("AUTOSVC").state == "Running"
    assert host.services.get("manual1").state == "Stopped"
    with pytest.raises(h.SimHostError, match="already exists"):
        host.services.add(h.Service("autosvc"))


def test_hypervisor_features_bring_the_compute_services(tmp_path: Path) -> None:
    # windows-facts A.1: wsl.exe detects VirtualMachinePlatform through the HNS/vmcompute services.
    host = load(tmp_path)
    assert host.services.get("vmcompute") is None
    host.enable_feature("VirtualMachinePlatform")
    host.reboot()
    assert host.services.get("vmcompute").start_type == "Manual"  # trigger-started on demand
    assert host.services.get("hns") is not None


def test_chunked_write_uses_exactly_the_free_space(tmp_path: Path) -> None:
    host = load(tmp_path)
    vol = host.fs.volumes["D"]
    vol.used_bytes = vol.total_bytes - 100  # 100 bytes free
    with host.fs.open_write(r"D:\fits.bin") as out:
        out.write(b"x" * 60)
        out.write(b"y" * 40)
    assert host.fs.free_bytes("D") == 0 and host.fs.size(r"D:\fits.bin") == 100
    with pytest.raises(DiskFullError):
        host.fs.write_bytes(r"D:\one-more.bin", b"z")


def test_sparse_vhd_keeps_size_marker_and_space_accounting(tmp_path: Path) -> None:
    host = load(tmp_path, volumes={"D": {"total_gb": 4, "used_gb": 0}})
    vhd = r"C:\Users\dev\AppData\Local\wsl\{x}\ext4.vhdx"
    host.fs.write_sparse(vhd, 6 * 1024**3, b"MARKER-1", make_parents=True)
    assert host.fs.size(vhd) == 6 * 1024**3
    with host.fs.open_read(vhd) as fh:
        assert fh.read(10) == b"MARKER-1\x00\x00"
    # A 6 GiB VHD does not fit on a 4 GiB D: (windows-facts A.6: the target needs the VHD's size).
    host.fs.mkdir(r"D:\WSL")
    with pytest.raises(DiskFullError):
        host.fs.move(vhd, r"D:\WSL\ext4.vhdx")
    assert host.fs.exists(vhd)
    host.fs.copy(vhd, r"C:\backup.vhdx")
    host.save()
    again = h.SimHost.load("h1", state_dir=tmp_path, reload=True)
    assert again.fs.entry(r"C:\backup.vhdx").sparse
    with again.fs.open_read(r"C:\backup.vhdx") as fh:
        assert fh.read(8) == b"MARKER-1"


def test_users_and_groups_share_the_rid_pool(tmp_path: Path) -> None:
    host = load(tmp_path)
    g = host.users.add_group("docker-users")
    u = host.users.add_user("later", "pw-later-1")
    assert g.sid != u.sid and int(u.sid.rsplit("-", 1)[1]) == int(g.sid.rsplit("-", 1)[1]) + 1
    # Built-in groups keep their well-known SIDs.
    assert host.users.group("Administrators").sid == "S-1-5-32-544"


# --- secrets: no password in the saved state (security rule) ------------------------------------


def test_saved_state_holds_no_password_only_the_nt_hash(tmp_path: Path) -> None:
    # The SAM keeps the NT hash (NTOWFv1), never the password; NTLM needs nothing else (MS-NLMP
    # 3.3.1). A target user's password must not land in .winsim/.
    host = load(tmp_path)
    dev = host.users.require("dev")
    assert dev.password and dev.nt_hash == h.nt_hash(dev.password)
    added = host.users.add_user("target", "Tgt-Secret-Pw-77")
    host.save()
    on_disk = "\n".join(p.read_text("utf-8", errors="replace") for p in tmp_path.rglob("*") if p.is_file())
    for secret in (dev.password, "Tgt-Secret-Pw-77"):
        assert secret not in on_disk
    assert added.nt_hash in on_disk
    assert "Tgt-Secret-Pw-77" not in repr(added) and added.nt_hash not in repr(added)
    # Reloaded: the declared (profile) password is known again, the undeclared one is not, and
    # both still authenticate against their hash.
    again = h.SimHost.load("h1", profile="win11-devbox", state_dir=tmp_path, reload=True)
    assert again.users.require("dev").password == dev.password
    assert again.users.require("target").password == ""
    assert again.users.check_password("target", "Tgt-Secret-Pw-77")
    assert not again.users.check_password("target", "wrong")


def test_endpoint_authenticates_reloaded_accounts_without_their_password(tmp_path: Path) -> None:
    import winrm

    from winfra.sim.shell.executor import host_endpoint

    host = load(tmp_path)
    host.users.add_user("target", "Tgt-Secret-Pw-77")
    host.users.add_member("Administrators", "target")
    host.save()
    again = h.SimHost.load("h1", state_dir=tmp_path, reload=True)
    endpoint = host_endpoint(again, port=0)
    try:
        ntlm_file = Path(endpoint._users.ntlm_file).read_text("utf-8")
        assert "Tgt-Secret-Pw-77" not in ntlm_file and "target" in ntlm_file
        session = winrm.Session(endpoint.url, auth=("target", "Tgt-Secret-Pw-77"), transport="ntlm")
        assert session.run_cmd("hostname").status_code == 0
        bad = winrm.Session(endpoint.url, auth=("target", "nope"), transport="ntlm")
        with pytest.raises(winrm.exceptions.InvalidCredentialsError):
            bad.run_cmd("hostname")
    finally:
        endpoint.stop()
        again.close()
