"""Simulated wsl.exe semantics (winfra/sim/models/wsl.py), each against its source."""

from __future__ import annotations

from pathlib import Path

from winfra import wsl_output
from winfra.sim.models import host as h
from winfra.sim.models.wsl import WslExe, create_distro, read_marker

FAST_BOOT = {"boot": {"downtime_s": 0.05, "readiness_delay_s": 0.05}}


def make(tmp_path: Path) -> tuple[h.SimHost, WslExe]:
    host = h.SimHost.load(
        "m1",
        overrides={**FAST_BOOT, "wsl": {"package": {"kind": "package", "version": "2.5.10.0"}}},
        state_dir=tmp_path,
    )
    create_distro(host, "dev", "Ubuntu", r"C:\wsl\Ubuntu", marker="u", default=True, default_uid=1000)
    create_distro(host, "dev", "Debian-Long-Name", r"C:\wsl\Debian", marker="d", default_uid=1000)
    return host, WslExe(host, "dev")


def test_list_verbose_follows_the_format_string(tmp_path: Path) -> None:
    # A.3: "%s %-<w>s%-16s%s" with w = max(len("NAME"), longest name) + 4; default first with '*'.
    _, exe = make(tmp_path)
    exe.start("Ubuntu")
    lines = exe.list_verbose().text.splitlines()
    w = len("Debian-Long-Name") + 4
    assert lines[0] == "  " + "NAME".ljust(w) + "STATE".ljust(16) + "VERSION"
    assert lines[1] == "* " + "Ubuntu".ljust(w) + "Running".ljust(16) + "2"
    assert lines[2] == "  " + "Debian-Long-Name".ljust(w) + "Stopped".ljust(16) + "2"
    raw = exe.list_verbose().stdout_bytes(utf8=False)
    assert [d.name for d in wsl_output.parse_list_verbose(raw)] == ["Ubuntu", "Debian-Long-Name"]


def test_errors_are_on_stdout_with_exit_minus_one(tmp_path: Path) -> None:
    # A.2: errors on stdout, "Error code: Wsl/...", exit -1.
    _, exe = make(tmp_path)
    r = exe.terminate("Nope")
    assert r.exit_code == -1
    assert wsl_output.error_code(r.stdout_bytes(utf8=False)) == "Wsl/Service/WSL_E_DISTRO_NOT_FOUND"


def test_unregister_deletes_the_vhd_and_promotes_another_default(tmp_path: Path) -> None:
    # A.6: --unregister deletes the VHD and an empty BasePath; the default moves to another distro.
    host, exe = make(tmp_path)
    assert exe.unregister("Ubuntu").ok
    assert not host.fs.exists(r"C:\wsl\Ubuntu\ext4.vhdx") and not host.fs.exists(r"C:\wsl\Ubuntu")
    assert [d.name for d in exe.distros() if d.is_default] == ["Debian-Long-Name"]


def test_import_gets_a_new_guid_root_user_and_is_not_default(tmp_path: Path) -> None:
    # A.6: a new GUID, DefaultUid 0, not the default; the install directory is created.
    host, exe = make(tmp_path)
    old = exe.find("Ubuntu")
    assert old is not None
    host.fs.mkdir(r"D:\b")
    assert exe.export("Ubuntu", r"D:\b\u.vhdx").ok
    assert exe.unregister("Ubuntu").ok
    assert exe.import_vhd("Ubuntu", r"D:\wsl\Ubuntu", r"D:\b\u.vhdx").ok
    new = exe.find("Ubuntu")
    assert new is not None and new.guid != old.guid and new.default_uid == 0 and not new.is_default
    assert read_marker(host, new.vhd_path) == "u" and read_marker(host, r"D:\b\u.vhdx") == "u"
    assert not exe.import_vhd("Ubuntu", r"D:\x", r"D:\b\u.vhdx").ok  # name in use
    assert not exe.import_vhd("Other", r"D:\wsl\Ubuntu", r"D:\b\u.vhdx").ok  # location in use


def test_import_in_place_adopts_the_file(tmp_path: Path) -> None:
    # A.6: the VHD is adopted, not copied; a later --unregister deletes that file.
    host, exe = make(tmp_path)
    # The export target's directory must exist (the file is created with CreateFile).
    assert not exe.export("Ubuntu", r"D:\keep\ext4.vhdx").ok
    host.fs.mkdir(r"D:\keep")
    assert exe.export("Ubuntu", r"D:\keep\ext4.vhdx").ok
    assert exe.unregister("Ubuntu").ok
    assert exe.import_in_place("Ubuntu", r"D:\keep\ext4.vhdx").ok
    d = exe.find("Ubuntu")
    assert d is not None and d.vhd_path.lower() == r"d:\keep\ext4.vhdx"
    assert exe.unregister("Ubuntu").ok and not host.fs.exists(r"D:\keep\ext4.vhdx")


def test_failed_export_leaves_no_partial_file(tmp_path: Path) -> None:
    # A.6: on failure the partial target file is deleted.
    host, exe = make(tmp_path)
    host.fs.mkdir(r"D:\b")
    host.set_faults([{"disk_full": "D:"}])
    r = exe.export("Ubuntu", r"D:\b\u.vhdx")
    assert not r.ok and not host.fs.exists(r"D:\b\u.vhdx")


def test_manage_move_needs_a_stopped_distro_and_keeps_identity(tmp_path: Path) -> None:
    host, exe = make(tmp_path)
    before = exe.find("Ubuntu")
    exe.start("Ubuntu")
    r = exe.manage_move("Ubuntu", r"D:\wsl\Ubuntu")
    assert r.error_code == "Wsl/Service/MoveDistro/WSL_E_DISTRO_NOT_STOPPED"
    exe.terminate("Ubuntu")
    assert exe.manage_move("Ubuntu", r"D:\wsl\Ubuntu").ok
    after = exe.find("Ubuntu")
    assert after is not None and before is not None
    assert (after.guid, after.is_default, after.default_uid) == (before.guid, True, 1000)
    assert read_marker(host, after.vhd_path) == "u"


def test_starting_wsl2_needs_an_interactive_session(tmp_path: Path) -> None:
    # A.7, microsoft/WSL#8072: CreateVm fails without the user's interactive logon session.
    host, exe = make(tmp_path)
    host.users.require("dev").logged_on = False
    assert exe.start("Ubuntu").error_code == "Wsl/Service/CreateInstance/CreateVm/0x8007023f"


def test_script_steps_match_their_counterparts() -> None:
    """The fault-injection step names a .ps1 reports (`-Step '...'`, `step = '...'`) are the ones its
    counterpart passes to call.step(): a test injecting a fault at a step hits both."""
    import re

    root = Path(__file__).resolve().parents[2] / "winfra"
    for name in ("wsl_relocate", "wsl_user_action"):
        ps = (root / "scripts" / f"{name}.ps1").read_text("utf-8")
        py = (root / "sim" / "scripts" / f"{name}.py").read_text("utf-8")
        ps_steps = set(re.findall(r"(?:-Step|step =) '(wsl:[a-z_]+)'", ps))
        py_steps = set(re.findall(r'"(wsl:[a-z_]+)"', py))
        assert ps_steps and ps_steps == py_steps, name
