"""Counterpart of ``winfra/scripts/wsl_relocate.ps1`` (owner: WSL helper).

Mirrors the script step by step (same order, same journal, same messages); the wsl.exe semantics
are :mod:`winfra.sim.models.wsl` (windows-facts A.6, WSL#40716, WSL#449). Steps for fault
injection: ``wsl:terminate``, ``wsl:manage_move``, ``wsl:export``, ``wsl:list_running``,
``wsl:unregister``, ``wsl:import``, ``wsl:verify``, ``wsl:set_default``. A ``DropConnection`` raised
by a step hook kills the script where it stands (as a dropped session or a power cut would),
leaving the journal for the next run.
"""

from __future__ import annotations

import json
from typing import Any

from winfra.sim.models.registry import REG_DWORD, REG_SZ
from winfra.sim.models.wsl import WslExe, WslRun
from winfra.sim.scripting import PowerShellError, ScriptCall
from winfra.sim.scripts._wsl_common import check_identity, run_wsl, wsl_for


def _strip(path: str) -> str:
    return path[4:] if path.startswith("\\\\?\\") else path


def _norm(path: str | None) -> str:
    if not path:
        return ""
    p = path[4:] if path.startswith("\\\\?\\") else path
    return p.rstrip("\\").lower()


class _Relocation:
    def __init__(self, call: ScriptCall) -> None:
        self.call = call
        self.host = call.host
        self.fs = call.host.fs
        self.exe: WslExe = wsl_for(call)
        self.steps: list[dict[str, Any]] = []
        u = self.host.users.require(call.user)
        self.local_app_data = self.host.user_env(u.name)["LOCALAPPDATA"]

    # -- helpers mirroring the script's functions -------------------------------------------------
    def wsl(self, step: str, action: Any, *args: Any) -> WslRun:
        return run_wsl(self.call, self.steps, step, action, *args)

    def distro(self, name: str) -> Any:
        # PowerShell -eq compares strings case-insensitively, as the script does.
        found = [d for d in self.exe.distros() if d.name.lower() == name.lower()]
        if len(found) > 1:
            raise PowerShellError(
                f"winfra: '{name}' is registered {len(found)} times for {self.call.user}; fix the "
                "registrations by hand."
            )
        return found[0] if found else None

    def save_journal(self, journal: dict[str, Any]) -> None:
        tmp = self.journal_path + ".tmp"
        self.fs.write_bytes(
            tmp, json.dumps(journal, separators=(",", ":")).encode("utf-8"), make_parents=True
        )
        self.fs.replace(tmp, self.journal_path)

    def remove_journal(self) -> None:
        if self.fs.exists(self.journal_path):
            self.fs.remove(self.journal_path)

    def restore_identity(self, journal: dict[str, Any]) -> None:
        d = self.distro(journal["name"])
        if d is None:
            raise PowerShellError(f"winfra: '{journal['name']}' vanished while restoring its settings.")
        default = str(self.host.registry.get(self.exe.key, "DefaultDistribution", "") or "")
        if journal.get("was_default") and default != d.guid:
            r = self.wsl("wsl:set_default", self.exe.set_default, journal["name"])
            if not r.ok:
                raise PowerShellError(
                    f"winfra: could not make '{journal['name']}' the default distro again ({r.error_code}); "
                    f"run: wsl --set-default {journal['name']}"
                )
        if d.default_uid != int(journal["default_uid"]):
            self.steps.append({"step": "wsl:set_default_user", "exit_code": 0, "error_code": None})
            self.host.registry.set_value(
                f"{self.exe.key}\\{d.guid}", "DefaultUid", int(journal["default_uid"]), REG_DWORD
            )

    def starts(self, name: str) -> WslRun:
        r = self.wsl("wsl:verify", self.exe.start, name)
        self.wsl("wsl:terminate", self.exe.terminate, name)
        return r

    def import_from_backup(self, name: str, location: str, backup: str) -> WslRun:
        return self.wsl("wsl:import", self.exe.import_vhd, name, location, backup)

    def rollback(self, journal: dict[str, Any], why: str) -> None:
        # Without the export there is nothing to roll back to: unregistering would delete the only copy.
        if not (journal.get("backup") and self.fs.exists(journal["backup"])):
            raise PowerShellError(
                f"winfra: {why}; the export {journal.get('backup')} is gone, so '{journal['name']}' is left "
                f"registered as it is (journal {self.journal_path})."
            )
        if self.distro(journal["name"]) is not None:
            self.wsl("wsl:unregister", self.exe.unregister, journal["name"])
        r = self.import_from_backup(journal["name"], journal["from"], journal["backup"])
        if not r.ok:
            raise PowerShellError(
                f"winfra: CRITICAL: {why}, and re-importing '{journal['name']}' at {journal['from']} failed "
                f"too ({r.error_code}). The data is safe in {journal['backup']} (journal "
                f"{self.journal_path}); run: wsl --import {journal['name']} {journal['from']} "
                f"{journal['backup']} --vhd"
            )
        # The re-import has a new GUID: record it (phase rolled_back) before anything else.
        back = self.distro(journal["name"])
        journal["guid"] = back.guid
        journal["phase"] = "rolled_back"
        self.save_journal(journal)
        # The backup goes only once the re-imported copy is verified to start (A.6 safe order).
        s = self.starts(journal["name"])
        if not s.ok:
            raise PowerShellError(
                f"winfra: CRITICAL: {why}, and '{journal['name']}' re-imported at {journal['from']} does not "
                f"start either ({s.error_code}). The backup {journal['backup']} and the journal "
                f"{self.journal_path} are kept."
            )
        self.restore_identity(journal)
        self.fs.remove(journal["backup"])
        self.remove_journal()
        raise PowerShellError(
            f"winfra: {why}; rolled back: '{journal['name']}' is registered again at {journal['from']} "
            "with its data, default status and default user."
        )

    # -- the script body -------------------------------------------------------------------------
    def run(self) -> dict[str, Any]:
        p = self.call.params
        fs = self.fs
        name = str(p["name"])
        if not name or not all(c.isalnum() or c in "._-" for c in name):
            raise PowerShellError(f"winfra: '{name}' is not a WSL distro name.")
        docker_data_ok = bool(p.get("allow_docker_desktop_data")) and name.lower() == "docker-desktop-data"
        if name.lower().startswith("docker-desktop") and not docker_data_ok:
            raise PowerShellError(
                f"winfra: '{name}' belongs to Docker Desktop; move it with docker.desktop_data_location "
                "(windows-facts B.6)."
            )
        target = str(p["location"])
        if target.startswith("\\\\?\\"):
            target = target[4:]
        target = target.rstrip("\\")
        if not (len(target) > 3 and target[0].isalpha() and target[1:3] == ":\\" and target[3] != "\\"):
            raise PowerShellError(
                f"winfra: location '{p['location']}' must be an absolute directory such as D:\\wsl\\{name} "
                "(a bare drive fails: WSL#449)."
            )
        keep = bool(p.get("keep_backup"))
        margin = int(p["margin_bytes"]) if p.get("margin_bytes") is not None else 1024**3
        backup = str(p.get("backup_path") or "") or (
            target.rsplit("\\", 1)[0] + f"\\winfra-backup-{name}.vhdx"
        )
        self.journal_path = self.local_app_data + f"\\winfra\\wsl-relocate-{name}.json"
        journal: dict[str, Any] | None = None
        if fs.is_file(self.journal_path):
            journal = json.loads(fs.read_bytes(self.journal_path).decode("utf-8"))
        result: dict[str, Any] = {
            "changed": False,
            "method": "none",
            "name": name,
            "from": None,
            "to": target,
            "backup": None,
            "backup_kept": False,
            "steps": self.steps,
        }

        d = self.distro(name)

        # A backup path must never name live data: --import-in-place adopts a .vhdx and
        # --unregister deletes it (A.6); the import writes <location>\ext4.vhdx.
        backup_paths = [backup] + ([str(journal["backup"])] if journal and journal.get("backup") else [])
        for b in backup_paths:
            if _norm(b.rsplit("\\", 1)[0]) == _norm(target):
                raise PowerShellError(
                    f"winfra: the backup {b} lies in the target directory {target}; choose a backup_path "
                    "outside it. Nothing was changed."
                )
            for other in self.exe.distros():
                if _norm(other.vhd_path) == _norm(b):
                    raise PowerShellError(
                        f"winfra: the backup path {b} is the live VHD of distro '{other.name}' (adopted with "
                        "--import-in-place, windows-facts A.6); deleting or overwriting it would destroy "
                        "that distro. Choose another backup_path or move that distro first. Nothing was "
                        "changed."
                    )

        # A verified backup (phase exported or later) of ANOTHER registration of this name is the
        # only copy of the old data: never start a new move over it.
        if (
            d is not None
            and journal is not None
            and journal.get("backup")
            and journal.get("phase") != "started"
            and d.guid != journal.get("guid")
            and _norm(d.base_path) != _norm(journal.get("to"))
            and fs.exists(journal["backup"])
        ):
            raise PowerShellError(
                f"winfra: an interrupted move of '{name}' left its verified export at {journal['backup']} "
                f"(journal {self.journal_path}), but another '{name}' is registered now at "
                f"{_strip(d.base_path)}. Nothing was changed. Import the export under another name (wsl "
                f"--import <name> <dir> {journal['backup']} --vhd) or, if that registration is the "
                "restored distro, delete the journal; then re-run."
            )

        # An unregister cut short after it deleted the VHD (the key goes last: LxssUserSession.cpp
        # UnregisterDistribution): finish it, then resume from the verified export.
        if (
            d is not None
            and journal is not None
            and journal.get("backup")
            and journal.get("phase") in ("exported", "unregistered")
            and d.guid == journal.get("guid")
            and not fs.exists(d.vhd_path)
            and fs.exists(journal["backup"])
        ):
            r = self.wsl("wsl:unregister", self.exe.unregister, name)
            if not r.ok and self.distro(name) is not None:
                raise PowerShellError(
                    f"winfra: finishing the interrupted unregister of '{name}' failed ({r.error_code}); its "
                    f"data is safe in {journal['backup']} (journal {self.journal_path}). Re-run, or: wsl "
                    f"--unregister {name}; wsl --import {name} {journal['to']} {journal['backup']} --vhd"
                )
            journal["phase"] = "unregistered"
            self.save_journal(journal)
            d = None

        if d is None:
            # Only an export that was verified (phase exported or later) may be imported.
            if (
                journal is not None
                and journal.get("backup")
                and journal.get("phase") != "started"
                and fs.exists(journal["backup"])
            ):
                result.update({"from": journal["from"], "backup": journal["backup"], "method": "resume"})
                r = self.import_from_backup(name, journal["to"], journal["backup"])
                if not r.ok:
                    self.rollback(
                        journal, f"finishing the interrupted move of '{name}' failed ({r.error_code})"
                    )
                journal["phase"] = "imported"
                self.save_journal(journal)
                d = self.distro(name)
            else:
                raise PowerShellError(f"winfra: there is no WSL distro named '{name}' for {self.call.user}.")

        base = d.base_path[4:] if d.base_path.startswith("\\\\?\\") else d.base_path
        if _norm(base) == _norm(target):
            if journal is not None:
                result.update({"from": journal["from"], "backup": journal.get("backup"), "method": "resume"})
                r = self.starts(name)
                if not r.ok:
                    if not journal.get("backup"):
                        raise PowerShellError(
                            f"winfra: '{name}' is at {target} but does not start ({r.error_code}); "
                            f"journal kept at {self.journal_path}."
                        )
                    self.rollback(journal, f"'{name}' does not start at {target} ({r.error_code})")
                self.restore_identity(journal)
                if journal.get("backup") and fs.exists(journal["backup"]):
                    if keep:
                        result["backup_kept"] = True
                    else:
                        fs.remove(journal["backup"])
                self.remove_journal()
                result["changed"] = True
            return result

        moved_vhd = target + "\\" + d.vhd_file_name
        if d.wsl_version == 2 and not fs.exists(d.vhd_path) and fs.exists(moved_vhd):
            # WSL#40716: the VHD is at the target but BasePath still names the old directory.
            result.update({"from": base, "method": "repair_base_path"})
            self.steps.append({"step": "wsl:repair_base_path", "exit_code": 0, "error_code": None})
            self.host.registry.set_value(f"{self.exe.key}\\{d.guid}", "BasePath", target, REG_SZ)
            r = self.starts(name)
            if not r.ok:
                raise PowerShellError(
                    f"winfra: '{name}' was repaired to BasePath {target} (its VHD is there, WSL#40716) but "
                    f"does not start ({r.error_code})."
                )
            self.remove_journal()
            result["changed"] = True
            return result

        result["from"] = base
        if d.wsl_version != 2:
            raise PowerShellError(
                f"winfra: '{name}' is a WSL1 distro; convert it first with wsl.distro_version(version=2) "
                "(export --format vhd and --manage --move are WSL2 only, A.6)."
            )
        for other in self.exe.distros():
            if other.name.lower() != name.lower() and _norm(other.base_path) == _norm(target):
                raise PowerShellError(
                    f"winfra: {target} is already the location of distro '{other.name}'; "
                    "choose another directory."
                )
        if (
            fs.exists(moved_vhd)
            and fs.exists(d.vhd_path)
            and journal is not None
            and journal.get("method") == "manage_move"
            and journal.get("guid") == d.guid
        ):
            # Our --manage --move cut short mid-copy (MoveFileEx COPY_ALLOWED, A.6): the registration
            # names the intact source, the copy at the target is that run's leftover.
            self.steps.append({"step": "wsl:remove_partial_move", "exit_code": 0, "error_code": None})
            fs.remove(moved_vhd)
        if fs.exists(moved_vhd):
            raise PowerShellError(
                f"winfra: {moved_vhd} already exists and belongs to no registration of '{name}'; "
                "remove it or "
                "choose another directory."
            )
        if not fs.exists(d.vhd_path):
            raise PowerShellError(
                f"winfra: the VHD of '{name}' is missing at {d.vhd_path} and not at {moved_vhd}; repair the "
                "registration by hand."
            )
        user = self.host.users.require(self.call.user)
        if not user.logged_on:
            # WSL2 needs the user's interactive session to start its VM (A.7, WSL#8072).
            raise PowerShellError(
                f"winfra: {user.name} must be logged on for this step but is not (WSL2 needs the user's "
                f"interactive session to start the distro, microsoft/WSL#8072). Log on as {user.name} and "
                "re-run; nothing was changed."
            )
        vhd_size = fs.size(d.vhd_path)
        need: dict[str, int] = {target[0].upper(): vhd_size + margin}
        if not p.get("use_manage_move"):
            bdrive = backup[0].upper()
            need[bdrive] = need.get(bdrive, margin) + vhd_size
        for drive, amount in need.items():
            if drive not in fs.volumes:
                # The script checks Get-PSDrive first: Join-Path/Get-PSDrive on a drive that is not
                # mounted throw "Cannot find drive" (PowerShell/PowerShell#4386).
                raise PowerShellError(
                    f"winfra: drive {drive}: does not exist on {self.host.os.computer_name}, so '{name}' "
                    f"cannot move to {target}; choose a location on a mounted local drive. "
                    "Nothing was changed."
                )
            free = fs.free_bytes(drive)
            if free < amount:
                raise PowerShellError(
                    f"winfra: not enough free space on {drive}: to move '{name}': need {amount} bytes (VHD "
                    f"{vhd_size} + backup + margin), have {free}. Free space or choose another location; "
                    "nothing was changed."
                )

        default_guid = str(self.host.registry.get(self.exe.key, "DefaultDistribution", "") or "")
        was_default = default_guid == d.guid
        default_uid = d.default_uid
        if journal is not None and journal.get("guid") == d.guid:
            # Restarting after an interruption or a rollback: restore the identity recorded first.
            was_default = bool(journal.get("was_default"))
            default_uid = int(journal["default_uid"])
        journal = {
            "name": name,
            "guid": d.guid,
            "from": base,
            "to": target,
            "backup": backup,
            "was_default": was_default,
            "default_uid": default_uid,
            "method": "export_import",
            "phase": "started",
        }
        if p.get("use_manage_move"):
            journal["method"] = "manage_move"
            journal["backup"] = None
        self.save_journal(journal)

        r = self.wsl("wsl:terminate", self.exe.terminate, name)
        if not r.ok:
            self.remove_journal()
            raise PowerShellError(f"winfra: could not stop '{name}' ({r.error_code}); nothing was changed.")

        if p.get("use_manage_move"):
            result["method"] = "manage_move"
            r = self.wsl("wsl:manage_move", self.exe.manage_move, name, target)
            if not r.ok:
                now = self.distro(name)
                if now is not None and not fs.exists(now.vhd_path) and fs.exists(moved_vhd):
                    self.steps.append({"step": "wsl:repair_base_path", "exit_code": 0, "error_code": None})
                    self.host.registry.set_value(f"{self.exe.key}\\{now.guid}", "BasePath", target, REG_SZ)
                else:
                    self.remove_journal()
                    raise PowerShellError(
                        f"winfra: wsl --manage --move of '{name}' failed ({r.error_code}); the distro is "
                        f"unchanged at {base}."
                    )
            r = self.starts(name)
            if not r.ok:
                raise PowerShellError(
                    f"winfra: '{name}' was moved to {target} but does not start ({r.error_code}); "
                    "journal kept "
                    f"at {self.journal_path}."
                )
            self.remove_journal()
            result["changed"] = True
            return result

        result["method"] = "export_import"
        result["backup"] = backup
        fs.mkdir(backup.rsplit("\\", 1)[0])
        if fs.exists(backup):
            fs.remove(backup)
        r = self.wsl("wsl:export", self.exe.export, name, backup, True)
        if not r.ok:
            if fs.exists(backup):
                fs.remove(backup)
            self.remove_journal()
            raise PowerShellError(
                f"winfra: exporting '{name}' to {backup} failed ({r.error_code}); nothing was changed."
            )
        backup_size = fs.size(backup) if fs.exists(backup) else 0
        if backup_size <= 0 or backup_size < vhd_size / 2:
            if fs.exists(backup):
                fs.remove(backup)
            self.remove_journal()
            raise PowerShellError(
                f"winfra: the export of '{name}' is implausible ({backup_size} bytes for a "
                f"{vhd_size}-byte VHD); "
                "nothing was changed."
            )
        # Anything may start the distro once the export released it (_ConversionBegin locks it only
        # during the export); the unregister would lose its writes since (LxssUserSession.cpp).
        r = self.wsl("wsl:list_running", self.exe.list_running_quiet)
        running_again = [
            n for n in (line.strip() for line in r.text.splitlines()) if n.lower() == name.lower()
        ]
        if not r.ok or running_again:
            fs.remove(backup)
            self.remove_journal()
            raise PowerShellError(
                f"winfra: '{name}' was started again after its export (or its state could not be read: "
                f"{r.error_code}); nothing was changed. Stop what starts it and re-run."
            )
        journal["phase"] = "exported"
        self.save_journal(journal)

        r = self.wsl("wsl:unregister", self.exe.unregister, name)
        still = self.distro(name) if not r.ok else None
        if still is not None and not fs.exists(still.vhd_path):
            # The export is the only copy: unregister deletes the VHD before the key.
            raise PowerShellError(
                f"winfra: unregistering '{name}' failed ({r.error_code}) after its VHD was deleted; the data "
                f"is safe in {backup} (journal {self.journal_path}). Re-run to finish the move."
            )
        if still is not None:
            fs.remove(backup)
            self.remove_journal()
            raise PowerShellError(
                f"winfra: unregistering '{name}' failed ({r.error_code}); the distro is unchanged at {base}."
            )
        journal["phase"] = "unregistered"
        self.save_journal(journal)

        r = self.import_from_backup(name, target, backup)
        if not r.ok:
            self.rollback(journal, f"importing '{name}' at {target} failed ({r.error_code})")
        journal["phase"] = "imported"
        self.save_journal(journal)

        r = self.starts(name)
        if not r.ok:
            self.rollback(journal, f"'{name}' does not start at {target} ({r.error_code})")
        self.restore_identity(journal)
        if keep:
            result["backup_kept"] = True
        else:
            fs.remove(backup)
        self.remove_journal()
        result["changed"] = True
        return result


def run(call: ScriptCall) -> Any:
    check_identity(call)
    return _Relocation(call).run()
