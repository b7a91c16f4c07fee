"""Counterpart of ``winfra/scripts/put_file.ps1``: write stdin's base64 lines to a file atomically.

Streaming: the shell layer calls :func:`run_stream` with the command's stdin as an iterator of
lines (the real script reads them with ``[Console]::In.ReadLine()``), so a 100 MB upload never
sits in memory; the bytes go through the model's streaming writer (``FileSystem.open_write``),
which spills to a blob file past 64 KiB.

Behaviour mirrored from the real script:

* the destination's directory must exist, else "Cannot upload to '<path>': the directory '<dir>'
  does not exist.";
* the data goes to a temp file ``.<name>.<guid>.tmp`` next to the destination, hashed with
  SHA-256 as it arrives; a hash or size mismatch deletes the temp file and fails;
* on a match the temp file replaces the destination atomically (``[IO.File]::Replace`` /
  ``[IO.File]::Move``; MoveFileEx semantics, modelled by ``FileSystem.replace``); Replace gets
  ``[NullString]::Value`` as its backup name, because PowerShell passes ``$null`` to a .NET string
  parameter as "" (https://github.com/PowerShell/PowerShell/issues/11515) and File.Replace rejects
  an empty path ("The path is not of a legal form");
* ``[Console]::In`` is free for the script: powershell.exe drains redirected stdin into the
  pipeline only when the -Command text uses the automatic input variable (PowerShell
  ConsoleHost.cs, "Detect if they're using input", in the initial-command path), which neither
  the script nor ``wire.BOOTSTRAP`` does (tests/unit/test_script_contract.py checks it);
* ``[Convert]::FromBase64String`` ignores whitespace and rejects other non-base64 characters
  with a FormatException (https://learn.microsoft.com/dotnet/api/system.convert.frombase64string);
* a full volume fails the write with "There is not enough space on the disk." (ERROR_DISK_FULL,
  modelled by the file system).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import uuid
from collections.abc import Callable, Iterable
from typing import Any

from winfra.sim.models.filesystem import DiskFullError, normalize_path, parent_of
from winfra.sim.scripting import PowerShellError, ScriptCall

_BASE64_ERROR = (
    'Exception calling "FromBase64String" with "1" argument(s): "The input is not a valid Base-64 string '
    "as it contains a non-base 64 character, more than two padding characters, or an illegal character "
    'among the padding characters. "'
)


def run(call: ScriptCall) -> Any:
    """Non-streaming entry point: the whole stdin is in ``call.stdin``."""
    return run_stream(call, (call.stdin or "").splitlines(), lambda _line: None)


def run_stream(call: ScriptCall, stdin_lines: Iterable[str], write_stdout: Callable[[str], None]) -> Any:
    host = call.host
    raw_path = str(call.params.get("path", ""))
    expected = str(call.params.get("sha256", "")).lower()
    expected_size = int(call.params.get("size", -1))
    try:
        path = normalize_path(raw_path)
    except ValueError as exc:
        raise PowerShellError(
            f'Exception calling "GetFullPath" with "1" argument(s): "{exc}"', error_id="ArgumentException"
        ) from None
    directory = parent_of(path) or path
    with host.lock:
        if not host.fs.is_dir(directory):
            raise PowerShellError(f"Cannot upload to '{path}': the directory '{directory}' does not exist.")
    name = path.rsplit("\\", 1)[-1]
    temp = f"{directory.rstrip(chr(92))}\\.{name}.{uuid.uuid4().hex}.tmp"
    call.step("put_file:write")
    digest = hashlib.sha256()
    size = 0
    try:
        with host.lock:
            writer_cm = host.fs.open_write(temp)
            writer = writer_cm.__enter__()
        try:
            for line in stdin_lines:
                text = "".join(line.split())
                if not text:
                    continue
                try:
                    data = base64.b64decode(text, validate=True)
                except (binascii.Error, ValueError):
                    raise PowerShellError(_BASE64_ERROR, error_id="FormatException") from None
                digest.update(data)
                with host.lock:
                    writer.write(data)
                size += len(data)
            actual = digest.hexdigest()
            if actual != expected or size != expected_size:
                raise PowerShellError(
                    f"SHA-256 mismatch for '{path}': expected {expected} ({expected_size} bytes), "
                    f"got {actual} ({size} bytes)."
                )
        except BaseException as exc:
            with host.lock:
                # The script's catch block deletes the temp file.
                writer_cm.__exit__(type(exc), exc, exc.__traceback__)
            raise
        with host.lock:
            writer_cm.__exit__(None, None, None)
            existed = host.fs.is_file(path)
            try:
                host.fs.replace(temp, path)
            except OSError as exc:
                # The script's catch block deletes the temp file, then rethrows the .NET error.
                if host.fs.exists(temp):
                    host.fs.remove(temp)
                call_text = (
                    'Exception calling "Replace" with "3"' if existed else 'Exception calling "Move" with "2"'
                )
                raise PowerShellError(
                    f'{call_text} argument(s): "{exc.strerror}"',
                    error_id="IOException",
                ) from None
    except DiskFullError as exc:
        raise PowerShellError(
            f'Exception calling "Write" with "3" argument(s): "{exc.message}"', error_id="IOException"
        ) from None
    return {"path": path, "sha256": digest.hexdigest(), "size": size}
