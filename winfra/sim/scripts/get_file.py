"""Counterpart of ``winfra/scripts/get_file.ps1``: stream a file as base64 lines, then its hash.

:func:`run_stream` reads the model's file through ``FileSystem.open_read`` chunk by chunk and
hands each base64 line to ``write_stdout`` as it goes, so a 100 MB download costs bounded memory
in the simulator too. It returns the trailer (``{"path", "sha256", "size"}``), which the
dispatcher writes as the last stdout line, as the real script's final ``WriteLine`` does.

Errors mirror .NET's ``FileStream`` constructor called through ``New-Object``
(https://learn.microsoft.com/dotnet/api/system.io.filestream.-ctor): a missing file is
"Could not find file '<path>'.", a directory "Access to the path '<path>' is denied.".
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable, Iterable
from typing import Any

from winfra.sim.models.filesystem import SimFileNotFoundError, normalize_path
from winfra.sim.scripting import PowerShellError, ScriptCall


def _ctor_error(message: str, error_id: str) -> PowerShellError:
    return PowerShellError(
        f'Exception calling ".ctor" with "4" argument(s): "{message}"',
        error_id=error_id,
        category="InvalidOperation",
    )


def run(call: ScriptCall) -> Any:
    """Non-streaming entry point: collects the lines and returns them with the trailer."""
    lines: list[str] = []
    trailer = run_stream(call, (), lines.append)
    return {"lines": lines, "trailer": trailer}


def run_stream(call: ScriptCall, stdin_lines: Iterable[str], write_stdout: Callable[[str], None]) -> Any:
    host = call.host
    chunk = int(call.params.get("chunk_size", 0))
    if chunk < 3:
        raise PowerShellError(f"chunk_size must be at least 3, got {chunk}.")
    raw_path = str(call.params.get("path", ""))
    try:
        path = normalize_path(raw_path)
    except ValueError as exc:
        raise PowerShellError(
            f'Exception calling "GetFullPath" with "1" argument(s): "{exc}"', error_id="ArgumentException"
        ) from None
    with host.lock:
        try:
            entry = host.fs.entry(path)
        except SimFileNotFoundError:
            raise _ctor_error(f"Could not find file '{path}'.", "FileNotFoundException") from None
        if entry.is_dir:
            raise _ctor_error(f"Access to the path '{path}' is denied.", "UnauthorizedAccessException")
        path = entry.path
        reader_cm = host.fs.open_read(path)
        reader = reader_cm.__enter__()
    call.step("get_file:read")
    digest = hashlib.sha256()
    size = 0
    try:
        while data := reader.read(chunk):
            digest.update(data)
            size += len(data)
            write_stdout(base64.b64encode(data).decode("ascii"))
    finally:
        reader_cm.__exit__(None, None, None)
    return {"path": path, "sha256": digest.hexdigest(), "size": size}
