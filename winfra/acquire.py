"""Installer acquisition shared by the Docker and WSL operations.

An installer comes from one of three places, all verified by SHA-256 before use:

* an ``https://`` URL: downloaded on the host itself (TLS 1.2 forced on Windows PowerShell 5.1,
  progress output suppressed; ``winfra/scripts/acquire_file.ps1``);
* a UNC path (``\\\\server\\share\\file.exe``): copied on the host. A WinRM session cannot pass
  the caller's credentials on to the file server (the "second hop",
  https://learn.microsoft.com/powershell/scripting/security/remoting/ps-remoting-second-hop), so
  the share must be readable by the host's computer account or anonymously, or use CredSSP;
* a file on the controller: uploaded with the connector's ``put_file`` (pyinfra
  ``FileUploadCommand``), only when the host's cache does not already hold it.

Files land in a content-addressed cache on the host, ``C:\\ProgramData\\winfra\\cache\\<sha256>\\
<name>``, so a later run (or another operation needing the same file) reuses them without any
transfer. A checksum mismatch deletes the file and fails. ``sha256`` is required; without it
``allow_unverified=True`` must be passed, which warns and never reuses a cached copy. Plain
``http://`` is refused: an unauthenticated download of something that runs elevated.

Why not install-docker-ce's way: it scrapes an HTML index, downloads without any checksum and
copies into System32 (shared/reference/anchors-and-winrm.md 2.3, 5 "Beat" 7: support pinned URLs,
internal mirrors and offline/SMB sources).

Usage inside an operation (``acquire`` is a generator that returns the cache path)::

    path = yield from acquire(source, sha256, setting="source")
"""

from __future__ import annotations

import hashlib
import logging
import ntpath
import posixpath
import re
from collections.abc import Generator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal
from urllib.parse import unquote, urlsplit

from pyinfra.api import FileUploadCommand, StringCommand
from pyinfra.api.exceptions import OperationValueError

from winfra.facts.host import JsonScriptFact
from winfra.powershell.scripts import render_script

logger = logging.getLogger("winfra.acquire")

CACHE_DIR = r"C:\ProgramData\winfra\cache"
SHA256_RE = re.compile(r"^[0-9a-fA-F]{64}$")
# Characters Windows forbids in a file name
# (https://learn.microsoft.com/windows/win32/fileio/naming-a-file#naming-conventions).
_BAD_NAME = re.compile(r'[<>:"/\\|?*\x00-\x1f]')

SourceKind = Literal["https", "unc", "local"]


class AcquireError(OperationValueError):
    """Bad acquisition input, raised before anything touches the host."""


@dataclass(frozen=True)
class Source:
    kind: SourceKind
    location: str  # URL, UNC path, or absolute local path on the controller
    file_name: str


def parse_source(source: str, *, host_name: str, setting: str, file_name: str | None = None) -> Source:
    """Classify ``source``; raise :class:`AcquireError` naming the host, the setting and the fix."""
    where = f"{host_name}: {setting}={source!r}"
    if not isinstance(source, str) or not source.strip():
        raise AcquireError(
            f"{where}: give an https URL, a UNC path (\\\\server\\share\\file) or a local file"
        )
    s = source.strip()
    lower = s.lower()
    if lower.startswith("http://"):
        raise AcquireError(
            f"{where}: plain http is refused (the file runs elevated on the host); use an https URL, "
            "a UNC path or a file on the controller"
        )
    if lower.startswith("https://"):
        parts = urlsplit(s)
        if not parts.netloc:
            raise AcquireError(f"{where}: the URL has no host name")
        if parts.username or parts.password:
            raise AcquireError(f"{where}: credentials in the URL would be logged; use a UNC path or a mirror")
        name = file_name or unquote(posixpath.basename(parts.path))
        return Source("https", s, _check_name(name, where))
    if re.match(r"^[a-z][a-z0-9+.-]*://", lower):
        raise AcquireError(f"{where}: only https URLs, UNC paths and controller-side files are supported")
    if s.startswith("\\\\") or s.startswith("//"):
        unc = s.replace("/", "\\")
        if len([p for p in unc.split("\\") if p]) < 3:
            raise AcquireError(f"{where}: a UNC source needs \\\\server\\share\\path\\file")
        return Source("unc", unc, _check_name(file_name or ntpath.basename(unc), where))
    if re.match(r"^[A-Za-z]:[\\/]", s):
        raise AcquireError(
            f"{where}: this looks like a path on the Windows host; winfra only fetches installers from "
            "https, UNC or the controller"
        )
    local = Path(s).expanduser()
    if not local.is_file():
        raise AcquireError(f"{where}: no such file on the controller ({local.resolve()})")
    return Source("local", str(local.resolve()), _check_name(file_name or local.name, where))


def _check_name(name: str, where: str) -> str:
    if not name or name in (".", "..") or _BAD_NAME.search(name):
        raise AcquireError(f"{where}: cannot derive a valid Windows file name ({name!r}); pass file_name=")
    return name


def check_sha256(sha256: str | None, *, allow_unverified: bool, host_name: str, setting: str) -> str | None:
    """Normalise ``sha256`` (lower hex) or refuse; ``None`` only with ``allow_unverified``."""
    if sha256:
        if not isinstance(sha256, str) or not SHA256_RE.match(sha256.strip()):
            raise AcquireError(
                f"{host_name}: sha256={sha256!r} (for {setting}) is not a SHA-256 (64 hex digits); copy it "
                "from the publisher's release notes or run Get-FileHash on a trusted copy"
            )
        return sha256.strip().lower()
    if not allow_unverified:
        raise AcquireError(
            f"{host_name}: {setting} has no sha256; pass sha256='<64 hex digits>' "
            "(the publisher's checksum), "
            "or allow_unverified=True to install an unverified file"
        )
    logger.warning(
        "%s: %s is installed WITHOUT checksum verification (allow_unverified=True)", host_name, setting
    )
    return None


def cache_path(src: Source, sha256: str | None, cache_dir: str = CACHE_DIR) -> str:
    """Where the file lives on the host: by content hash, or by source for unverified files."""
    if sha256:
        return ntpath.join(cache_dir, sha256, src.file_name)
    key = hashlib.sha256(src.location.encode("utf-8")).hexdigest()[:16]
    return ntpath.join(cache_dir, "unverified", key, src.file_name)


def local_sha256(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


class CachedFile(JsonScriptFact[dict]):
    """Whether ``path`` is in the host's installer cache: ``{path, exists, size, sha256}``."""

    def command(self, path: str) -> str:
        return render_script("cached_file", {"path": path})


def check_input(
    source: str,
    sha256: str | None,
    *,
    allow_unverified: bool,
    setting: str = "source",
    file_name: str | None = None,
) -> tuple[Source, str | None]:
    """Validate an acquisition's input (operations call this before their first yield)."""
    from pyinfra.context import host

    expected = check_sha256(sha256, allow_unverified=allow_unverified, host_name=host.name, setting=setting)
    return parse_source(source, host_name=host.name, setting=setting, file_name=file_name), expected


def acquire(
    source: str,
    sha256: str | None,
    *,
    allow_unverified: bool = False,
    file_name: str | None = None,
    cache_dir: str = CACHE_DIR,
    setting: str = "source",
) -> Generator[Any, Any, str]:
    """Yield the commands that put ``source`` into the host cache; return its host path.

    Input errors raise before the first yield, so nothing reaches the host.
    """
    from pyinfra.context import host

    src, expected = check_input(
        source, sha256, allow_unverified=allow_unverified, setting=setting, file_name=file_name
    )
    dest = cache_path(src, expected, cache_dir)
    params: dict[str, Any] = {
        "kind": src.kind,
        "source": src.location,
        "dest": dest,
        "sha256": expected,
        "allow_unverified": bool(allow_unverified),
    }
    if src.kind == "local":
        if expected:
            actual = local_sha256(src.location)
            if actual != expected:
                # Fail on the controller: no point uploading a file we already know is wrong.
                raise AcquireError(
                    f"{host.name}: checksum mismatch for {src.location}: expected sha256 {expected}, "
                    f"got {actual}; nothing was uploaded"
                )
            cached = host.get_fact(CachedFile, path=dest)
            if cached and cached.get("exists") and (cached.get("sha256") or "").lower() == expected:
                logger.info(f"{host.print_prefix}{src.file_name} is already in the host cache ({dest})")
                return dest
        staged = dest + ".upload"
        # put_file needs the directory to exist (winfra/scripts/put_file.ps1).
        yield StringCommand(render_script("acquire_file", {**params, "kind": "prepare"}))
        yield FileUploadCommand(src.location, staged)
        params["kind"] = "staged"
        params["source"] = staged
    yield StringCommand(render_script("acquire_file", params))
    return dest
