"""Counterpart of ``winfra/scripts/acquire_file.ps1``: fetch into the cache and verify SHA-256.

Downloads and UNC copies come from the simulated network (``host.docker.network``,
winfra/sim/models/docker.py). Steps for fault injection: ``acquire:download``,
``acquire:copy``, ``acquire:stage``.
"""

from __future__ import annotations

from typing import Any

from winfra.sim.models.filesystem import DiskFullError
from winfra.sim.scripting import PowerShellError, ScriptCall

# Same wording as acquire_file.ps1's catch around Copy-Item.
SECOND_HOP_HINT = (
    "(copying from a share in a WinRM session is a second hop: the share must be readable without your "
    "credentials, e.g. by the computer account or Everyone, or use CredSSP/Kerberos delegation, an https "
    "mirror or a controller-side file)"
)


def run(call: ScriptCall) -> Any:
    p = call.params
    host = call.host
    fs = host.fs
    dest = str(p["dest"])
    expected = str(p["sha256"]).lower() if p.get("sha256") else None
    if p["kind"] == "prepare":
        fs.mkdir(dest.rsplit("\\", 1)[0])
        return {"path": dest, "sha256": None, "size": None, "action": "prepared"}
    if not expected and not p.get("allow_unverified"):
        raise PowerShellError(
            f"acquire_file: no sha256 for {p.get('source')} and allow_unverified is not set"
        )
    parent = dest.rsplit("\\", 1)[0]
    try:
        fs.mkdir(parent)
        if expected and fs.is_file(dest):
            have = fs.sha256(dest)
            if have == expected:
                if p["kind"] == "staged" and fs.is_file(str(p["source"])):
                    fs.remove(str(p["source"]))
                return {"path": dest, "sha256": have, "size": fs.size(dest), "action": "cached"}
            # A cached file with the wrong hash is never reused.
            fs.remove(dest)
        tmp = dest + ".partial"
        if fs.exists(tmp):
            fs.remove(tmp)
        kind = p["kind"]
        if kind == "https":
            call.step("acquire:download")
            art = host.docker.network.get(str(p["source"]))
            if art is None:
                # Invoke-WebRequest on an HTTP 404 (WebException text, PS 5.1).
                raise PowerShellError(
                    "The remote server returned an error: (404) Not Found.",
                    category="InvalidOperation",
                    error_id="WebCmdletWebResponseException,Microsoft.PowerShell.Commands.InvokeWebRequestCommand",
                )
            fs.write_bytes(tmp, art.body())
            action = "downloaded"
        elif kind == "unc":
            call.step("acquire:copy")
            art = host.docker.network.get(str(p["source"]))
            if art is None:
                raise PowerShellError(
                    f"Cannot find path '{p['source']}' because it does not exist. {SECOND_HOP_HINT}",
                    category="ObjectNotFound",
                    error_id="PathNotFound,Microsoft.PowerShell.Commands.CopyItemCommand",
                )
            fs.write_bytes(tmp, art.body())
            action = "copied"
        elif kind == "staged":
            call.step("acquire:stage")
            src = str(p["source"])
            if not fs.is_file(src):
                raise PowerShellError(
                    f"Cannot find path '{src}' because it does not exist.",
                    category="ObjectNotFound",
                    error_id="PathNotFound,Microsoft.PowerShell.Commands.MoveItemCommand",
                )
            fs.move(src, tmp, replace=True)
            action = "uploaded"
        else:
            raise PowerShellError(f"acquire_file: unknown source kind '{kind}'")
        actual = fs.sha256(tmp)
        if expected and actual != expected:
            fs.remove(tmp)
            raise PowerShellError(
                f"checksum mismatch for {p['source']}: expected sha256 {expected}, got {actual}; "
                "the downloaded file was deleted"
            )
        fs.move(tmp, dest, replace=True)
        return {"path": dest, "sha256": actual, "size": fs.size(dest), "action": action}
    except DiskFullError as exc:
        raise PowerShellError(exc.message, category="WriteError", error_id="System.IO.IOException") from exc
