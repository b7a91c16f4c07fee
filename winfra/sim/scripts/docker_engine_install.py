"""Counterpart of ``winfra/scripts/docker_engine_install.ps1``: install/upgrade the native
engine from the cached zip, register the service without baked flags, verify, roll back.

The zip is a real zip in the host fs (winfra/sim/models/docker.py ``engine_zip``); binaries'
versions are read from their bytes (the simulated version resource). Steps for fault injection:
``docker:expand``, ``docker:stop``, ``docker:register``, ``docker:start`` (a failure there is
caught like the script's ``try { Start-Service }`` and leads to the rollback).
"""

from __future__ import annotations

import io
import zipfile
from typing import Any

from winfra.sim.models import docker as dm
from winfra.sim.models.filesystem import DiskFullError
from winfra.sim.scripting import PowerShellError, ScriptCall

dm._register_hooks()


def run(call: ScriptCall) -> Any:
    try:
        return _run(call)
    except DiskFullError as exc:
        raise PowerShellError(exc.message, category="WriteError", error_id="System.IO.IOException") from exc


def _run(call: ScriptCall) -> Any:
    p = call.params
    host = call.host
    fs = host.fs
    install_dir = str(p["install_dir"]).rstrip("\\")
    name = str(p["service_name"])
    version = str(p["version"])
    zip_path = str(p["zip"])
    if not fs.is_file(zip_path):
        raise PowerShellError(
            f"Cannot find path '{zip_path}' because it does not exist.", category="ObjectNotFound"
        )
    actual = fs.sha256(zip_path)
    if p.get("sha256") and actual != str(p["sha256"]).lower():
        raise PowerShellError(
            f"checksum mismatch for {zip_path}: expected sha256 {p['sha256']}, got {actual}; "
            "nothing was changed"
        )
    call.step("docker:expand")
    try:
        archive = zipfile.ZipFile(io.BytesIO(fs.read_bytes(zip_path)))
    except zipfile.BadZipFile as exc:
        # Expand-Archive on a file that is not a zip.
        raise PowerShellError(
            f'New-Object : Exception calling ".ctor" with "3" argument(s): "End of Central Directory '
            f'record could not be found." ({zip_path})'
        ) from exc
    parent = install_dir.rsplit("\\", 1)[0]
    staging = f"{parent}\\.winfra-docker-{version}"
    if fs.exists(staging):
        fs.rmtree(staging)
    new_files: list[str] = []
    with archive:
        for entry in archive.namelist():
            if entry.endswith("/"):
                continue
            fs.write_bytes(
                f"{staging}\\{entry.replace('/', chr(92))}", archive.read(entry), make_parents=True
            )
            if entry.startswith("docker/") and entry.count("/") == 1:
                new_files.append(entry.split("/", 1)[1])
    staged_dir = f"{staging}\\docker"
    staged_version = dm.file_version(host, f"{staged_dir}\\dockerd.exe")
    if staged_version != version:
        fs.rmtree(staging)
        raise PowerShellError(
            f"the zip contains dockerd {staged_version}, not {version}; nothing was changed"
        )

    dockerd = f"{install_dir}\\dockerd.exe"
    docker = f"{install_dir}\\docker.exe"
    previous = dm.file_version(host, dockerd)
    result: dict[str, Any] = {
        "version": version,
        "previous_version": previous,
        "binaries_changed": False,
        "path_added": False,
        "registered": False,
        "reregistered_from": None,
        "dropped_flags": [],
        "started": False,
        "rolled_back": False,
    }
    svc = host.services.get(name)
    if svc is not None and svc.state != "Stopped":
        call.step("docker:stop")
        dm.stop_engine(host, name)

    rollback = f"{install_dir}\\.winfra-previous"
    swapped: list[str] = []
    if previous != version:
        fs.mkdir(install_dir)
        if fs.exists(rollback):
            fs.rmtree(rollback)
        fs.mkdir(rollback)
        for fname in new_files:
            target = f"{install_dir}\\{fname}"
            if fs.is_file(target):
                fs.move(target, f"{rollback}\\{fname}", replace=True)
            fs.move(f"{staged_dir}\\{fname}", target, replace=True)
            swapped.append(fname)
        result["binaries_changed"] = True
        host.docker.engine.install_dir = install_dir
    fs.rmtree(staging)

    result["path_added"] = host.add_to_machine_path(install_dir)

    if svc is not None:
        old_binary, flags = dm.service_binary_and_flags(svc.image_path)
        if old_binary.rstrip("\\").lower() != dockerd.lower():
            # sc.exe delete, then register again without daemon flags; the old ones are reported.
            host.services.remove(name)
            result["reregistered_from"] = old_binary
            result["dropped_flags"] = flags
            svc = None
    if svc is None:
        call.step("docker:register")
        dm.register_service(host, dockerd, ["--register-service", "--service-name", name])
        result["registered"] = True

    start_error = ""
    try:
        call.step("docker:start")
        start_error = dm.start_engine(host, name) or ""
    except PowerShellError as exc:
        start_error = exc.message
        dm.stop_engine(host, name)
    code, out = dm.docker_version(host, docker, name)
    if code != 0:
        why = f"{start_error} {out}".strip()
        if swapped and previous:
            dm.stop_engine(host, name)
            for fname in swapped:
                saved = f"{rollback}\\{fname}"
                if fs.is_file(saved):
                    fs.move(saved, f"{install_dir}\\{fname}", replace=True)
            again = dm.start_engine(host, name)
            code2, _ = dm.docker_version(host, docker, name)
            back = "is running again" if again is None and code2 == 0 else "did not start either"
            raise PowerShellError(
                f"docker {version} did not answer within {p['timeout_s']} s ({why}); rolled back to "
                f"{previous}, which {back}"
            )
        raise PowerShellError(f"docker {version} did not answer within {p['timeout_s']} s: {why}")
    result["started"] = True
    return result
