"""WSL end to end against the simulator: the script counterparts on the host model, with fault
injection at every step of a relocation, and per-user runs through the run-as wrapper.

Layer: these tests drive the counterparts (``winfra/sim/scripts/*.py``) through ``ScriptCall``
exactly as the simulator's dispatcher does (same params, same step hook, same user), so every
recovery path of ``wsl_relocate`` is exercised on the model. The over-the-wire variant (pyinfra +
@winsim connector + NTLM) is at the end of the file.

Invariants after every scenario (windows-facts A.6 "Safe order"): the distro's content marker
survived, it is registered exactly once, the default distro and default UID are what they were,
and a re-run converges (no change, no journal, no stray backup).
"""

from __future__ import annotations

import base64
import importlib
import json
from pathlib import Path
from typing import Any

import pytest

from winfra import runas, wsl_output
from winfra.facts.wsl import distros_from_state
from winfra.powershell.quoting import ps_unquote
from winfra.powershell.scripts import parse_header, render_script
from winfra.sim.models import host as h
from winfra.sim.models.wsl import WslExe, create_distro, read_marker, vhd_bytes
from winfra.sim.process import DropConnection
from winfra.sim.scripting import PowerShellError, ScriptCall

FAST_BOOT = {"boot": {"downtime_s": 0.05, "readiness_delay_s": 0.05}}
USER = "dev"
ADMIN = "winrm-admin"
ORIGINAL = r"C:\Users\dev\AppData\Local\wsl\Ubuntu"
TARGET = r"D:\wsl\Ubuntu"
MARKER = "ubuntu-data-7f3a"


def make_host(tmp_path: Path, *, manage_move: bool = False, version: str = "2.4.4.0") -> h.SimHost:
    host = h.SimHost.load(
        "wsl1",
        overrides={**FAST_BOOT, "wsl": {"package": {"kind": "package", "version": version,
                                                    "supports_manage_move": manage_move}}},
        state_dir=tmp_path,
    )  # fmt: skip
    create_distro(
        host, USER, "Ubuntu", ORIGINAL, marker=MARKER, size=64 * 1024, default=True, default_uid=1000
    )
    create_distro(
        host, USER, "Debian", r"C:\Users\dev\AppData\Local\wsl\Debian", marker="debian", default_uid=1000
    )
    return host


def call(host: h.SimHost, script: str, params: dict[str, Any], *, user: str = USER, hook: Any = None) -> Any:
    module = importlib.import_module(f"winfra.sim.scripts.{script}")
    c = ScriptCall(host=host, params=params, user=user, elevated=True, step_hook=hook or host.check_step)
    with host.lock:
        try:
            return module.run(c)
        finally:
            host.save()


def relocate(host: h.SimHost, *, manage_move: bool = False, keep: bool = False, hook: Any = None) -> Any:
    params = {"name": "Ubuntu", "location": TARGET, "keep_backup": keep, "use_manage_move": manage_move,
              "margin_bytes": 1024}  # fmt: skip
    return call(host, "wsl_relocate", params, hook=hook)


def assert_intact(host: h.SimHost, *, where: str) -> None:
    exe = WslExe(host, USER)
    matches = [d for d in exe.distros() if d.name == "Ubuntu"]
    assert len(matches) == 1, f"Ubuntu registered {len(matches)} times"
    d = matches[0]
    assert d.base_path.rstrip("\\").lower() == where.lower()
    assert read_marker(host, d.vhd_path) == MARKER
    assert d.is_default, "Ubuntu is no longer the default distro"
    assert d.default_uid == 1000, "default user not restored"
    assert read_marker(host, r"C:\Users\dev\AppData\Local\wsl\Debian\ext4.vhdx") == "debian"


def assert_clean(host: h.SimHost) -> None:
    assert not host.fs.exists(r"D:\wsl\winfra-backup-Ubuntu.vhdx")
    assert not host.fs.exists(r"C:\Users\dev\AppData\Local\winfra\wsl-relocate-Ubuntu.json")


def assert_converges(host: h.SimHost, *, manage_move: bool = False) -> None:
    again = relocate(host, manage_move=manage_move)
    assert again["changed"] is False and again["steps"] == []
    assert_intact(host, where=TARGET)
    assert_clean(host)


# --- happy paths ---------------------------------------------------------------------------------


def test_export_import_moves_and_restores_default_and_user(tmp_path: Path) -> None:
    host = make_host(tmp_path)
    out = relocate(host)
    assert out["changed"] and out["method"] == "export_import"
    steps = [s["step"] for s in out["steps"]]
    assert steps[:5] == ["wsl:terminate", "wsl:export", "wsl:list_running", "wsl:unregister", "wsl:import"]
    assert "wsl:set_default" in steps and "wsl:set_default_user" in steps
    assert_intact(host, where=TARGET)
    assert_clean(host)
    assert not host.fs.exists(ORIGINAL + r"\ext4.vhdx")
    assert_converges(host)


def test_keep_backup_keeps_a_verified_copy(tmp_path: Path) -> None:
    host = make_host(tmp_path)
    out = relocate(host, keep=True)
    assert out["backup_kept"]
    assert read_marker(host, r"D:\wsl\winfra-backup-Ubuntu.vhdx") == MARKER


def test_manage_move_keeps_guid(tmp_path: Path) -> None:
    host = make_host(tmp_path, manage_move=True, version="2.5.10.0")
    guid = WslExe(host, USER).find("Ubuntu").guid  # type: ignore[union-attr]
    out = relocate(host, manage_move=True)
    assert out["method"] == "manage_move"
    assert [s["step"] for s in out["steps"]] == [
        "wsl:terminate",
        "wsl:manage_move",
        "wsl:verify",
        "wsl:terminate",
    ]
    assert WslExe(host, USER).find("Ubuntu").guid == guid  # type: ignore[union-attr]
    assert_intact(host, where=TARGET)
    assert_converges(host, manage_move=True)


# --- faults at every step --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("step", "nth"),
    [("wsl:terminate", 1), ("wsl:export", 1), ("wsl:unregister", 1)],
)
def test_failure_before_data_moves_changes_nothing(tmp_path: Path, step: str, nth: int) -> None:
    host = make_host(tmp_path)
    host.set_faults([{"step": step, "nth": nth, "error": "Catastrophic failure Wsl/Service/E_FAIL"}])
    with pytest.raises(PowerShellError, match=r"nothing was changed|unchanged"):
        relocate(host)
    assert host.faults.unfired() == []
    assert_intact(host, where=ORIGINAL)
    assert_clean(host)
    host.set_faults([])
    relocate(host)
    assert_intact(host, where=TARGET)
    assert_converges(host)


@pytest.mark.parametrize("step", ["wsl:import", "wsl:verify"])
def test_failure_after_unregister_rolls_back_from_the_export(tmp_path: Path, step: str) -> None:
    host = make_host(tmp_path)
    host.set_faults([{"step": step, "nth": 1, "error": "Wsl/Service/RegisterDistro/E_FAIL"}])
    with pytest.raises(PowerShellError, match="rolled back"):
        relocate(host)
    assert host.faults.unfired() == []
    assert_intact(host, where=ORIGINAL)
    assert_clean(host)
    host.set_faults([])
    relocate(host)
    assert_converges(host)


def test_rollback_failing_too_keeps_backup_and_journal_then_next_run_finishes(tmp_path: Path) -> None:
    host = make_host(tmp_path)
    host.set_faults([{"step": "wsl:import", "nth": 1, "times": 2, "error": "Wsl/Service/E_FAIL"}])
    with pytest.raises(PowerShellError, match=r"CRITICAL.*data is safe in"):
        relocate(host)
    assert read_marker(host, r"D:\wsl\winfra-backup-Ubuntu.vhdx") == MARKER
    assert WslExe(host, USER).find("Ubuntu") is None
    host.set_faults([])
    out = relocate(host)
    assert out["method"] == "resume"
    assert_intact(host, where=TARGET)
    assert_converges(host)


def test_connection_drop_after_unregister_is_finished_by_the_next_run(tmp_path: Path) -> None:
    host = make_host(tmp_path)

    def hook(step: str) -> None:
        if step == "wsl:import":
            raise DropConnection("injected: the session died after unregister")
        host.check_step(step)

    with pytest.raises(DropConnection):
        relocate(host, hook=hook)
    # The distro is unregistered and only the verified export holds the data.
    assert WslExe(host, USER).find("Ubuntu") is None
    assert read_marker(host, r"D:\wsl\winfra-backup-Ubuntu.vhdx") == MARKER
    state = call(host, "get_wsl_user_state", {"user": USER})
    assert state["journals"][0]["phase"] == "unregistered"
    out = relocate(host)
    assert out["changed"] and out["method"] == "resume"
    assert_intact(host, where=TARGET)
    assert_converges(host)


def test_connection_drop_after_import_finishes_bookkeeping(tmp_path: Path) -> None:
    host = make_host(tmp_path)

    def hook(step: str) -> None:
        if step == "wsl:verify":
            raise DropConnection("injected")
        host.check_step(step)

    with pytest.raises(DropConnection):
        relocate(host, hook=hook)
    out = relocate(host)
    assert out["method"] == "resume"
    assert_intact(host, where=TARGET)
    assert_converges(host)


def test_disk_full_is_refused_by_the_preflight(tmp_path: Path) -> None:
    host = make_host(tmp_path)
    host.set_faults([{"disk_full": "D:"}])
    with pytest.raises(PowerShellError, match=r"not enough free space on D:.*nothing was changed"):
        relocate(host)
    assert_intact(host, where=ORIGINAL)
    assert_clean(host)


def test_disk_filling_up_during_import_rolls_back(tmp_path: Path) -> None:
    host = make_host(tmp_path)
    real = host.check_step

    def hook(step: str) -> None:
        real(step)
        if step == "wsl:import" and host.faults.step_calls.get(step) == 1:
            host.fs.volumes["D"].forced_full = True  # something else filled D: meanwhile

    with pytest.raises(PowerShellError, match="rolled back"):
        relocate(host, hook=hook)
    host.fs.volumes["D"].forced_full = False
    assert_intact(host, where=ORIGINAL)
    relocate(host)
    assert_converges(host)


def test_target_user_not_logged_on_is_refused_before_any_change(tmp_path: Path) -> None:
    host = make_host(tmp_path)
    with host.lock:
        host.users.require(USER).logged_on = False
    with pytest.raises(PowerShellError, match="must be logged on for this step but is not"):
        relocate(host)
    with host.lock:
        host.users.require(USER).logged_on = True
    assert_intact(host, where=ORIGINAL)
    assert_clean(host)


def test_manage_move_access_denied_is_repaired(tmp_path: Path) -> None:
    # microsoft/WSL#40716: "Access is denied. Error code: Wsl/Service/MoveDistro/E_ACCESSDENIED";
    # the VHD was moved but BasePath was not updated.
    host = make_host(tmp_path, manage_move=True, version="2.7.7.0")
    host.set_faults(
        [{"step": "wsl:manage_move", "error": "Access is denied. Wsl/Service/MoveDistro/E_ACCESSDENIED"}]
    )
    out = relocate(host, manage_move=True)
    assert any(s["error_code"] == "Wsl/Service/MoveDistro/E_ACCESSDENIED" for s in out["steps"])
    assert "wsl:repair_base_path" in [s["step"] for s in out["steps"]]
    assert_intact(host, where=TARGET)
    assert_converges(host, manage_move=True)


def test_half_done_manage_move_found_later_is_repaired(tmp_path: Path) -> None:
    host = make_host(tmp_path, manage_move=True, version="2.7.7.0")
    with host.lock:
        WslExe(host, USER).manage_move("Ubuntu", TARGET, access_denied_after_move=True)
    out = relocate(host, manage_move=True)
    assert out["method"] == "repair_base_path"
    assert_intact(host, where=TARGET)


BACKUP = r"D:\wsl\winfra-backup-Ubuntu.vhdx"
JOURNAL = r"C:\Users\dev\AppData\Local\winfra\wsl-relocate-Ubuntu.json"


def test_backup_path_adopted_by_import_in_place_is_never_deleted(tmp_path: Path) -> None:
    # After a CRITICAL failure a user following the FAQ recipe may `wsl --import-in-place` the
    # backup file itself: it is then a LIVE VHD (A.6: adopted, not copied). A later run must not
    # delete or overwrite it as a stale backup.
    host = make_host(tmp_path)
    with host.lock:
        host.fs.mkdir(r"D:\wsl")
        host.fs.write_bytes(BACKUP, vhd_bytes("alpine-data"))
        assert WslExe(host, USER).import_in_place("Alpine", BACKUP).ok
        host.save()
    with pytest.raises(PowerShellError, match=r"live VHD of distro 'Alpine'.*Nothing was changed"):
        relocate(host)
    assert read_marker(host, BACKUP) == "alpine-data"
    assert_intact(host, where=ORIGINAL)
    assert not host.fs.exists(JOURNAL)


def test_recreated_distro_does_not_destroy_the_export_of_an_interrupted_move(tmp_path: Path) -> None:
    host = make_host(tmp_path)

    def hook(step: str) -> None:
        if step == "wsl:import":
            raise DropConnection("injected: the session died after unregister")
        host.check_step(step)

    with pytest.raises(DropConnection):
        relocate(host, hook=hook)
    # The user sees Ubuntu gone and installs a fresh one under the same name.
    create_distro(host, USER, "Ubuntu", r"C:\Users\dev\AppData\Local\wsl\Fresh", marker="fresh")
    with pytest.raises(PowerShellError, match=r"interrupted move of 'Ubuntu' left its verified export"):
        relocate(host)
    # The export is the only copy of the old data: still there, still the old data.
    assert read_marker(host, BACKUP) == MARKER
    assert host.fs.exists(JOURNAL)
    fresh = WslExe(host, USER).find("Ubuntu")
    assert fresh is not None and read_marker(host, fresh.vhd_path) == "fresh"


def test_unregister_cut_short_after_deleting_the_vhd_is_finished_by_the_next_run(tmp_path: Path) -> None:
    # LxssUserSessionImpl::UnregisterDistribution deletes the VHD, then the key on scope exit: a
    # power cut in between leaves a registration without its VHD.
    host = make_host(tmp_path)

    def hook(step: str) -> None:
        if step == "wsl:unregister":
            host.fs.remove(ORIGINAL + r"\ext4.vhdx")
            raise DropConnection("injected: power cut inside wsl --unregister")
        host.check_step(step)

    with pytest.raises(DropConnection):
        relocate(host, hook=hook)
    assert WslExe(host, USER).find("Ubuntu") is not None
    assert read_marker(host, BACKUP) == MARKER
    out = relocate(host)
    assert out["changed"] and out["method"] == "resume"
    assert_intact(host, where=TARGET)
    assert_converges(host)


def test_unregister_failing_after_deleting_the_vhd_keeps_the_export(tmp_path: Path) -> None:
    host = make_host(tmp_path)
    host.set_faults([{"step": "wsl:unregister", "nth": 1, "error": "Wsl/Service/E_FAIL"}])

    def hook(step: str) -> None:
        if step == "wsl:unregister" and host.fs.exists(ORIGINAL + r"\ext4.vhdx"):
            host.fs.remove(ORIGINAL + r"\ext4.vhdx")  # deleted, then the call failed
        host.check_step(step)

    with pytest.raises(PowerShellError, match=r"after its VHD was deleted; the data is safe in"):
        relocate(host, hook=hook)
    assert read_marker(host, BACKUP) == MARKER
    host.set_faults([])
    out = relocate(host)
    assert out["method"] == "resume"
    assert_intact(host, where=TARGET)
    assert_converges(host)


def test_rollback_that_does_not_start_keeps_the_export_and_the_next_run_restores_identity(
    tmp_path: Path,
) -> None:
    host = make_host(tmp_path)
    # The copy at the target does not start, nor does the rolled-back copy.
    host.set_faults([{"step": "wsl:verify", "nth": 1, "times": 2, "error": "Wsl/Service/E_FAIL"}])
    with pytest.raises(PowerShellError, match=r"CRITICAL.*does not start either"):
        relocate(host)
    assert read_marker(host, BACKUP) == MARKER
    ubuntu = WslExe(host, USER).find("Ubuntu")
    assert ubuntu is not None and ubuntu.default_uid == 0  # a re-import resets DefaultUid (A.6)
    host.set_faults([])
    out = relocate(host)
    assert out["changed"] and out["method"] == "export_import"
    # The identity recorded before the first attempt is restored, not the re-import's uid 0.
    assert_intact(host, where=TARGET)
    assert_converges(host)


def test_distro_started_after_its_export_is_not_unregistered(tmp_path: Path, monkeypatch: Any) -> None:
    # The export locks the distro only while it runs (_ConversionBegin); if something starts it
    # and writes after the export, the unregister would destroy those writes.
    host = make_host(tmp_path)
    real_export = WslExe.export

    def export(self: WslExe, name: str, path: str, vhd: bool = True) -> Any:
        result = real_export(self, name, path, vhd)
        assert self.start(name).ok  # a terminal or Docker Desktop's integration starts it
        self.host.fs.write_bytes(ORIGINAL + r"\ext4.vhdx", vhd_bytes("written-after-export", 64 * 1024))
        return result

    monkeypatch.setattr(WslExe, "export", export)
    with pytest.raises(PowerShellError, match=r"started again after its export.*nothing was changed"):
        relocate(host)
    assert read_marker(host, ORIGINAL + r"\ext4.vhdx") == "written-after-export"
    assert not host.fs.exists(BACKUP) and not host.fs.exists(JOURNAL)
    monkeypatch.undo()
    with host.lock:
        WslExe(host, USER).terminate("Ubuntu")
    assert relocate(host)["changed"]
    moved = WslExe(host, USER).find("Ubuntu")
    assert moved is not None and read_marker(host, moved.vhd_path) == "written-after-export"


def test_manage_move_cut_short_mid_copy_is_finished_by_the_next_run(tmp_path: Path) -> None:
    host = make_host(tmp_path, manage_move=True, version="2.5.10.0")

    def hook(step: str) -> None:
        if step == "wsl:manage_move":
            host.fs.mkdir(TARGET)
            host.fs.write_bytes(TARGET + r"\ext4.vhdx", b"partial copy")
            raise DropConnection("injected: power cut while MoveFileEx copies across volumes")
        host.check_step(step)

    with pytest.raises(DropConnection):
        relocate(host, manage_move=True, hook=hook)
    assert_intact(host, where=ORIGINAL)
    out = relocate(host, manage_move=True)
    assert out["changed"] and "wsl:remove_partial_move" in [s["step"] for s in out["steps"]]
    assert_intact(host, where=TARGET)
    assert_converges(host, manage_move=True)


def test_foreign_file_at_the_target_is_never_deleted(tmp_path: Path) -> None:
    host = make_host(tmp_path, manage_move=True, version="2.5.10.0")
    with host.lock:
        host.fs.mkdir(TARGET)
        host.fs.write_bytes(TARGET + r"\ext4.vhdx", vhd_bytes("someone-elses"))
        host.save()
    with pytest.raises(PowerShellError, match="already exists and belongs to no registration"):
        relocate(host, manage_move=True)
    assert read_marker(host, TARGET + r"\ext4.vhdx") == "someone-elses"


def test_resume_without_the_export_never_unregisters_the_moved_distro(tmp_path: Path) -> None:
    # A run died between deleting the backup and deleting the journal; the next run's start check
    # fails (here: the user logged off, CreateVm 0x8007023f). Rolling back would unregister the
    # only copy and then find no export to import.
    host = make_host(tmp_path)

    def hook(step: str) -> None:
        if step == "wsl:verify":
            raise DropConnection("injected")
        host.check_step(step)

    with pytest.raises(DropConnection):
        relocate(host, hook=hook)
    with host.lock:
        host.fs.remove(BACKUP)
        host.users.require(USER).logged_on = False
        host.save()
    with pytest.raises(PowerShellError, match="is left registered as it is"):
        relocate(host)
    moved = WslExe(host, USER).find("Ubuntu")
    assert moved is not None and read_marker(host, moved.vhd_path) == MARKER
    with host.lock:
        host.users.require(USER).logged_on = True
    out = relocate(host)
    assert out["method"] == "resume"
    assert_intact(host, where=TARGET)
    assert_converges(host)


def test_unverified_export_is_never_imported(tmp_path: Path) -> None:
    host = make_host(tmp_path)

    def hook(step: str) -> None:
        if step == "wsl:export":
            host.fs.mkdir(r"D:\wsl")
            host.fs.write_bytes(BACKUP, b"partial")
            raise DropConnection("injected: power cut during the export")
        host.check_step(step)

    with pytest.raises(DropConnection):
        relocate(host, hook=hook)
    with host.lock:
        WslExe(host, USER).unregister("Ubuntu")  # by hand, while the journal says 'started'
        host.save()
    with pytest.raises(PowerShellError, match="no WSL distro named 'Ubuntu'"):
        relocate(host)
    assert WslExe(host, USER).find("Ubuntu") is None


def test_refusals(tmp_path: Path) -> None:
    host = make_host(tmp_path)
    create_distro(host, USER, "Legacy", r"C:\wsl\Legacy", marker="legacy", wsl_version=1)
    params = {"location": TARGET, "keep_backup": False, "use_manage_move": False, "margin_bytes": 0}
    with pytest.raises(PowerShellError, match="WSL1"):
        call(host, "wsl_relocate", {**params, "name": "Legacy"})
    with pytest.raises(PowerShellError, match="Docker Desktop"):
        call(host, "wsl_relocate", {**params, "name": "docker-desktop"})
    with pytest.raises(PowerShellError, match="bare drive"):
        call(host, "wsl_relocate", {**params, "name": "Ubuntu", "location": "E:"})
    with pytest.raises(PowerShellError, match="already the location of distro 'Debian'"):
        call(
            host,
            "wsl_relocate",
            {**params, "name": "Ubuntu", "location": r"C:\Users\dev\AppData\Local\wsl\Debian"},
        )
    assert_intact(host, where=ORIGINAL)


# --- per-user state, run-as --------------------------------------------------------------------


def test_user_state_is_per_user_and_parsed_by_the_controller_parsers(tmp_path: Path) -> None:
    host = make_host(tmp_path)
    mine = call(host, "get_wsl_user_state", {"user": USER})
    raw = base64.b64decode(mine["list"]["stdout"])
    # The package wsl.exe honours WSL_UTF8=1 (A.4): UTF-8, CRLF.
    assert b"\x00" not in raw and b"\r\n" in raw
    rows = wsl_output.parse_list_verbose(raw)
    assert [(r.name, r.is_default) for r in rows] == [("Ubuntu", True), ("Debian", False)]
    distros = distros_from_state(mine)
    assert distros[0]["name"] == "Ubuntu" and distros[0]["vhd_size"] == 64 * 1024
    admin = call(host, "get_wsl_user_state", {"user": ADMIN}, user=ADMIN)
    assert admin["distros"] == [] and admin["list"] is None
    with pytest.raises(PowerShellError, match="not as the target user"):
        call(host, "get_wsl_user_state", {"user": USER}, user=ADMIN)


def test_inbox_wsl_output_is_utf16(tmp_path: Path) -> None:
    host = make_host(tmp_path)
    host.wsl.package.kind = "inbox"
    raw = base64.b64decode(call(host, "get_wsl_user_state", {"user": USER})["list"]["stdout"])
    assert raw[1] == 0
    assert [r.name for r in wsl_output.parse_list_verbose(raw)] == ["Ubuntu", "Debian"]


def run_as(
    host: h.SimHost, inner: str, user: str, password: str | None, *, in_process: bool = False
) -> tuple[int, list[str], list[str]]:
    script, stdin = runas.run_as_user_command(inner, user, password, 60, in_process=in_process)
    assert password is None or password not in script
    module = importlib.import_module("winfra.sim.scripts.run_as_user")
    assert parse_header(script).name == "run_as_user"  # type: ignore[union-attr]
    match = module._RENDERED.match(script)
    assert match is not None
    params = json.loads(ps_unquote(match["literal"]))
    c = ScriptCall(host=host, params=params, user=ADMIN, elevated=True, stdin=stdin.decode() or None,
                   step_hook=host.check_step)  # fmt: skip
    with host.lock:
        out = module.run(c)
    return runas.parse_run_as_output([json.dumps(out)])


def test_run_as_task_runs_a_rendered_script_in_its_own_process(tmp_path: Path) -> None:
    host = make_host(tmp_path)
    read = render_script("get_wsl_user_state", {"user": USER})
    for in_process, task_launches in ((True, 1), (False, 2)):
        before = host.counters.powershell_launches
        rc, _, err = run_as(host, read, USER, None, in_process=in_process)
        assert rc == 0, err
        # The wrapper's own launch is counted by the shell layer, not here: only the task's.
        assert host.counters.powershell_launches - before == task_launches


def test_run_as_target_user_reads_their_distros(tmp_path: Path) -> None:
    host = make_host(tmp_path)
    rc, out, err = run_as(host, render_script("get_wsl_user_state", {"user": USER}), USER, "Winsim-D3v-User!")
    assert rc == 0, err
    state = json.loads("\n".join(out))
    assert [d["name"] for d in distros_from_state(state)] == ["Ubuntu", "Debian"]
    # Interactive logon (no password) works while dev is logged on.
    rc, out, _ = run_as(host, render_script("get_wsl_user_state", {"user": USER}), USER, None)
    assert rc == 0


def test_run_as_relocates_for_the_target_user(tmp_path: Path) -> None:
    host = make_host(tmp_path)
    inner = render_script(
        "wsl_relocate",
        {
            "name": "Ubuntu",
            "location": TARGET,
            "keep_backup": False,
            "use_manage_move": False,
            "margin_bytes": 0,
        },
    )
    rc, out, err = run_as(host, inner, USER, "Winsim-D3v-User!")
    assert rc == 0, err
    assert json.loads(out[-1])["changed"] is True
    assert_intact(host, where=TARGET)


def test_run_as_clear_errors(tmp_path: Path) -> None:
    host = make_host(tmp_path)
    inner = render_script("get_wsl_user_state", {"user": "nobody"})
    with pytest.raises(PowerShellError, match="does not exist"):
        run_as(host, inner, "nobody", "Some-Secret-1")
    with host.lock:
        host.users.add_user("newbie", "N3wbie-Pass!")
    with pytest.raises(PowerShellError, match=r"no profile.*never logged on"):
        run_as(host, inner, "newbie", "N3wbie-Pass!")
    with host.lock:
        host.create_profile("newbie")
    with pytest.raises(PowerShellError, match="must be logged on for this step but is not"):
        run_as(host, inner, "newbie", None)
    with host.lock:
        host.users.require(USER).logged_on = False
    with pytest.raises(PowerShellError, match="password is incorrect") as info:
        run_as(host, inner, USER, "wrong-secret-123")
    assert "wrong-secret-123" not in str(info.value)
    # Logged off with the right password: a batch logon runs the read.
    rc, _, err = run_as(host, render_script("get_wsl_user_state", {"user": USER}), USER, "Winsim-D3v-User!")
    assert rc == 0, err
    with pytest.raises(runas.RunAsError, match="LocalSystem"):
        runas.run_as_user_command(inner, "NT AUTHORITY\\SYSTEM", None, 60)


def test_inner_failure_exit_code_and_stderr_come_back(tmp_path: Path) -> None:
    host = make_host(tmp_path)
    inner = render_script(
        "wsl_user_action", {"user": USER, "action": "set_version", "name": "Nope", "version": 2}
    )
    rc, out, err = run_as(host, inner, USER, "Winsim-D3v-User!")
    assert rc == 1 and out == [] and any("no WSL distro named 'Nope'" in line for line in err)


def test_user_actions_config_default_version_and_set_version(tmp_path: Path) -> None:
    host = make_host(tmp_path)
    with host.lock:
        WslExe(host, USER).start("Ubuntu")
    write = {"user": USER, "action": "write_config", "content": "[wsl2]\nmemory=4GB\n", "shutdown": True}
    out = call(host, "wsl_user_action", write)
    assert out["changed"] and out["shutdown"]
    assert host.fs.read_bytes(r"C:\Users\dev\.wslconfig") == b"[wsl2]\nmemory=4GB\n"
    assert host.wsl.runtime_for(USER).running_distros == []
    again = call(host, "wsl_user_action", write)
    assert again["changed"] is False and again["steps"] == []
    out = call(host, "wsl_user_action", {"user": USER, "action": "set_default_version", "version": 1})
    assert out["changed"]
    assert call(host, "get_wsl_user_state", {"user": USER})["default_version"] == 1
    create_distro(host, USER, "Legacy", r"D:\wsl\Legacy", marker="legacy-data", wsl_version=1)
    convert = {"user": USER, "action": "set_version", "name": "Legacy", "version": 2, "margin_bytes": 0}
    out = call(host, "wsl_user_action", convert)
    assert out["changed"]
    legacy = WslExe(host, USER).find("Legacy")
    assert (
        legacy is not None and legacy.wsl_version == 2 and read_marker(host, legacy.vhd_path) == "legacy-data"
    )
    create_distro(host, USER, "Legacy2", r"D:\wsl\Legacy2", marker="l2", wsl_version=1)
    host.set_faults([{"disk_full": "D:"}])
    with pytest.raises(PowerShellError, match="not enough free space on D:"):
        call(
            host, "wsl_user_action", {"user": USER, "action": "set_version", "name": "Legacy2", "version": 2}
        )
    assert WslExe(host, USER).find("Legacy2").wsl_version == 1  # type: ignore[union-attr]


# --- over the wire: pyinfra State + @winrm connector + simulator endpoint (HTTP, NTLM) ----------


class WireLab:
    """One simulated dev box behind a real WinRM endpoint; pyinfra runs as winrm-admin while the
    target user is dev (host data winfra_user / winfra_user_password)."""

    def __init__(self, tmp_path: Path, *, manage_move: bool = False) -> None:
        from winfra.sim.shell.executor import host_endpoint

        self.tmp_path = tmp_path
        self.sim = make_host(
            tmp_path, manage_move=manage_move, version="2.5.10.0" if manage_move else "2.4.4.0"
        )
        self.endpoint = host_endpoint(self.sim)

    def run(self, steps: list[tuple[Any, dict[str, Any]]]) -> Any:
        from _winrm_harness import endpoint_host_data, run_steps

        data = endpoint_host_data(
            self.endpoint, ADMIN, "Winsim-Adm1n!", winfra_user=USER, winfra_user_password="Winsim-D3v-User!"
        )
        return run_steps([("@winrm/wsl1", data)], steps)

    def close(self) -> None:
        self.endpoint.stop()


@pytest.fixture
def wire(tmp_path: Path) -> Any:
    lab = WireLab(tmp_path)
    yield lab
    lab.close()


def changed(state: Any) -> bool:
    host = next(iter(state.inventory))
    return any(data.operation_meta.did_change() for data in state.ops[host].values())


def test_wire_relocation_as_target_user_with_export_failure_then_rerun(wire: WireLab) -> None:
    from winfra.operations import wsl as ops

    step = [(ops.distro_location, {"distro": "Ubuntu", "location": TARGET})]
    wire.sim.set_faults([{"step": "wsl:export", "error": "Wsl/Service/E_FAIL"}])
    state = wire.run(step)
    assert {h.name for h in state.failed_hosts} == {"@winrm/wsl1"}
    assert_intact(wire.sim, where=ORIGINAL)
    wire.sim.set_faults([])
    state = wire.run(step)
    assert not state.failed_hosts and changed(state)
    assert_intact(wire.sim, where=TARGET)
    assert_clean(wire.sim)
    snapshot = wire.sim.counters.snapshot()
    before = dict(snapshot["scripts"])  # type: ignore[arg-type]
    launches = snapshot["powershell_launches"]
    state = wire.run(step)
    assert not state.failed_hosts and not changed(state)
    snapshot = wire.sim.counters.snapshot()
    after = snapshot["scripts"]
    delta = {k: v - before.get(k, 0) for k, v in after.items() if v != before.get(k, 0)}  # type: ignore[union-attr]
    # A converged run: the host state at connect, and ONE run-as round trip whose read result
    # serves both per-user facts (journals, distros) in both pyinfra passes (connector read cache).
    assert delta == {"get_host_state": 1, "run_as_user": 1, "get_wsl_user_state": 1}
    # powershell.exe: get_host_state, the run-as wrapper, and the task that runs the read in its
    # own process (a rendered script needs no child process).
    assert snapshot["powershell_launches"] - launches == 3  # type: ignore[operator]


def test_wire_config_version_and_default_as_target_user(wire: WireLab) -> None:
    from winfra.operations import wsl as ops

    create_distro(wire.sim, USER, "Legacy", r"D:\wsl\Legacy", marker="legacy-data", wsl_version=1)
    steps = [
        (ops.installed, {"default_version": 2}),
        (ops.config, {"settings": {"wsl2": {"memory": "8GB", "swapFile": r"D:\wsl\swap.vhdx"}}}),
        (ops.distro_version, {"distro": "Legacy", "version": 2}),
    ]
    state = wire.run(steps)
    assert not state.failed_hosts
    text = wire.sim.fs.read_bytes(r"C:\Users\dev\.wslconfig").decode("utf-8")
    assert "memory=8GB" in text and "swapFile=D:\\\\wsl\\\\swap.vhdx" in text
    assert not wire.sim.fs.exists(r"C:\Users\winrm-admin\.wslconfig")
    legacy = WslExe(wire.sim, USER).find("Legacy")
    assert (
        legacy is not None
        and legacy.wsl_version == 2
        and read_marker(wire.sim, legacy.vhd_path) == "legacy-data"
    )
    state = wire.run(steps)
    assert not state.failed_hosts and not changed(state)


def test_wire_installed_from_pinned_msi_updates_package(wire: WireLab) -> None:
    import hashlib

    from winfra.operations import wsl as ops

    url = "https://github.com/microsoft/WSL/releases/download/2.5.10/wsl.2.5.10.0.x64.msi"
    body = b"MSI-winsim-wsl-2.5.10.0" * 100
    wire.sim.add_artifact(url, body)
    step = [
        (ops.installed, {"source": url, "sha256": hashlib.sha256(body).hexdigest(), "version": "2.5.10.0"})
    ]
    state = wire.run(step)
    assert not state.failed_hosts
    pkg = wire.sim.wsl.package
    assert (pkg.kind, pkg.version, pkg.supports_manage_move) == ("package", "2.5.10.0", True)
    assert wire.sim.counters.snapshot()["scripts"].get("wsl_install") == 1  # type: ignore[union-attr]
    state = wire.run(step)
    assert not state.failed_hosts and not changed(state)
    assert wire.sim.counters.snapshot()["scripts"].get("wsl_install") == 1  # type: ignore[union-attr]


def test_wire_install_failure_exit_code(wire: WireLab) -> None:
    import hashlib

    from winfra.operations import wsl as ops

    url = "https://github.com/microsoft/WSL/releases/download/2.5.10/wsl.2.5.10.0.x64.msi"
    body = b"MSI" * 10
    wire.sim.add_artifact(url, body)
    wire.sim.set_faults([{"step": "wsl:msi_install", "installer_exit_code": 1603}])
    state = wire.run(
        [(ops.installed, {"source": url, "sha256": hashlib.sha256(body).hexdigest(), "version": "2.5.10.0"})]
    )
    assert {h.name for h in state.failed_hosts} == {"@winrm/wsl1"}
    assert wire.sim.wsl.package.version == "2.4.4.0"


def test_wire_next_run_finishes_a_move_interrupted_after_unregister(wire: WireLab) -> None:
    from winfra.operations import wsl as ops

    def hook(step: str) -> None:
        if step == "wsl:import":
            raise DropConnection("injected: power cut after unregister")
        wire.sim.check_step(step)

    with pytest.raises(DropConnection):
        relocate(wire.sim, hook=hook)
    assert WslExe(wire.sim, USER).find("Ubuntu") is None
    state = wire.run([(ops.distro_location, {"distro": "Ubuntu", "location": TARGET})])
    assert not state.failed_hosts and changed(state)
    assert_intact(wire.sim, where=TARGET)
    assert_clean(wire.sim)


def test_wire_wsl_install_then_one_reboot_for_virtual_machine_platform(tmp_path: Path) -> None:
    from winfra.operations import windows
    from winfra.operations import wsl as ops

    lab = WireLab(tmp_path)
    try:
        lab.sim.wsl.package.kind = "inbox"
        lab.sim.save()
        fast = {"delay": 0, "poll_interval": 0.05, "connect_timeout": 2, "timeout": 30}
        state = lab.run([(ops.installed, {"default_version": 2}), (windows.reboot_if_needed, fast)])
        assert not state.failed_hosts
        assert lab.sim.wsl.package.kind == "package"
        assert lab.sim.features.get("VirtualMachinePlatform").state == "Enabled"  # type: ignore[union-attr]
        assert lab.sim.boot.boot_count == 2
        state = lab.run([(ops.installed, {"default_version": 2}), (windows.reboot_if_needed, fast)])
        assert not state.failed_hosts and not changed(state) and lab.sim.boot.boot_count == 2
    finally:
        lab.close()


def test_wire_manage_move_access_denied_and_disk_full(tmp_path: Path) -> None:
    from winfra.operations import wsl as ops

    lab = WireLab(tmp_path, manage_move=True)
    try:
        step = [(ops.distro_location, {"distro": "Ubuntu", "location": TARGET})]
        lab.sim.set_faults([{"disk_full": "D:"}])
        state = lab.run(step)
        assert {h.name for h in state.failed_hosts} == {"@winrm/wsl1"}
        assert_intact(lab.sim, where=ORIGINAL)
        lab.sim.set_faults(
            [{"step": "wsl:manage_move", "error": "Access is denied. Wsl/Service/MoveDistro/E_ACCESSDENIED"}]
        )
        state = lab.run(step)
        assert not state.failed_hosts and changed(state)
        assert lab.sim.faults.unfired() == []
        assert_intact(lab.sim, where=TARGET)
        state = lab.run(step)
        assert not state.failed_hosts and not changed(state)
    finally:
        lab.close()


def test_run_as_plain_command_goes_to_the_interpreter_as_the_target_user(tmp_path: Path) -> None:
    host = make_host(tmp_path)
    rc, out, err = run_as(
        host, "$env:WSL_UTF8 = '1'\n& 'C:\\Program Files\\WSL\\wsl.exe' -l -v\n", USER, None
    )
    assert rc == 0, err
    assert [r.name for r in wsl_output.parse_list_verbose(out)] == ["Ubuntu", "Debian"]


def test_winsim_inventory_relocates_for_the_profile_user(tmp_path: Path) -> None:
    """The demo path: an @winsim/<name> host without winrm_user (the connector logs in as the
    profile's administrator); the WSL target user comes from winfra_user."""
    from pyinfra.api import Config, Inventory, State
    from pyinfra.api.connect import connect_all
    from pyinfra.api.operation import add_op
    from pyinfra.api.operations import run_ops

    from winfra.connectors import winsim
    from winfra.operations import wsl as ops

    state_dir = str(tmp_path / "winsim")
    overrides = {**FAST_BOOT, "wsl": {"package": {"kind": "package", "version": "2.5.10.0"}}}
    served = winsim.serve("wsldemo", overrides=overrides, state_dir=state_dir)
    try:
        create_distro(served.sim, USER, "Ubuntu", ORIGINAL, marker=MARKER, default=True, default_uid=1000)
        data = {
            "winsim_state_dir": state_dir,
            "winfra_user": USER,
            "winfra_user_password": "Winsim-D3v-User!",
        }
        state = State(Inventory(([("@winsim/wsldemo", data)], {})), Config())
        connect_all(state)
        add_op(state, ops.distro_location, "Ubuntu", TARGET)
        run_ops(state)
        assert not state.failed_hosts
        d = WslExe(served.sim, USER).find("Ubuntu")
        assert (
            d is not None
            and d.base_path.lower() == TARGET.lower()
            and read_marker(served.sim, d.vhd_path) == MARKER
        )
        assert served.sim.counters.snapshot()["scripts"].get("run_as_user", 0) >= 2  # type: ignore[union-attr]
        for host in state.inventory:
            host.disconnect()
    finally:
        # Stop only this test's endpoint (others in the process may be serving).
        with winsim._SERVED_LOCK:
            for key in [k for k, v in winsim._SERVED.items() if v is served]:
                del winsim._SERVED[key]
        served.endpoint.stop()
        served.sim.close()
