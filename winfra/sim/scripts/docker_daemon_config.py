"""Counterpart of ``winfra/scripts/docker_daemon_config.ps1``: atomic write, ``dockerd
--validate`` (23.0+), restart only on change, restore and restart when dockerd does not come back.

dockerd's behaviour (what it accepts, its error texts) is in winfra/sim/models/docker.py.
Steps for fault injection: ``docker:validate``, ``docker:restart``.
"""

from __future__ import annotations

import hashlib
from typing import Any

from winfra.sim.models import docker as dm
from winfra.sim.scripting import PowerShellError, ScriptCall
from winfra.sim.scripts.docker_user_config import resolve_profile

dm._register_hooks()


def run(call: ScriptCall) -> Any:
    p = call.params
    host = call.host
    fs = host.fs
    path = str(p.get("path") or "")
    if p["target"] != "engine":
        _sid, profile = resolve_profile(call, str(p["user"]), "docker_daemon_config")
        if not profile:
            raise PowerShellError(
                f"docker_daemon_config: user '{p['user']}' has never logged on (no profile); "
                "Docker Desktop has not run for them yet"
            )
        path = f"{profile}\\.docker\\{p['file_name']}"
    directory = path.rsplit("\\", 1)[0]
    fs.mkdir(directory)
    created = []
    for group in p.get("create_groups") or []:
        if group and host.users.group(group) is None:
            host.users.add_group(group, "Access to the Docker engine named pipe (winfra)")
            created.append(group)
    new = str(p["content"]).encode("utf-8")
    exists = fs.is_file(path)
    previous = hashlib.sha256(fs.read_bytes(path)).hexdigest() if exists else None
    sha = hashlib.sha256(new).hexdigest()
    result: dict[str, Any] = {
        "path": path,
        "changed": False,
        "validated": False,
        "restarted": False,
        "groups_created": created,
        "previous_sha256": previous,
        "sha256": sha,
    }
    if previous == sha:
        return result
    tmp = f"{directory}\\.{path.rsplit(chr(92), 1)[1]}.winfra-tmp"
    fs.write_bytes(tmp, new)
    if p.get("dockerd"):
        call.step("docker:validate")
        code, output = dm.validate_config_file(host, str(p["dockerd"]), tmp)
        if code != 0:
            fs.remove(tmp)
            raise PowerShellError(
                f"dockerd --validate rejected the new daemon.json, nothing was changed: {output}"
            )
        result["validated"] = True
    backup = path + ".winfra-previous"
    if exists:
        # [IO.File]::Replace(tmp, path, backup): the old file becomes the backup atomically.
        fs.move(path, backup, replace=True)
    fs.move(tmp, path, replace=True)
    result["changed"] = True
    service = p.get("service")
    svc = host.services.get(str(service)) if service else None
    if svc is None:
        return result
    start_error = ""
    try:
        call.step("docker:restart")
        dm.stop_engine(host, svc.name)
        start_error = dm.start_engine(host, svc.name) or ""
    except PowerShellError as exc:
        start_error = exc.message
    code, _out = dm.docker_version(host, str(p["docker"]), svc.name)
    if code != 0:
        dockerd_error = host.docker.engine.last_error or start_error
        if exists:
            fs.move(backup, path, replace=True)
        else:
            fs.remove(path)
        dm.stop_engine(host, svc.name)
        again = dm.start_engine(host, svc.name)
        restored = "is running again" if again is None else "did not start either"
        raise PowerShellError(
            "the docker daemon did not come back with the new daemon.json: "
            f"{dockerd_error.strip().rstrip('.')}. "
            f"The previous file was restored and the engine {restored}."
        )
    result["restarted"] = True
    return result
