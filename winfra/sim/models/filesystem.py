"""The simulated file system: case-insensitive Windows paths over volumes with free space.

* Paths are case-insensitive and case-preserving (NTFS default;
  https://learn.microsoft.com/windows/wsl/case-sensitivity). ``C:/x``, ``c:\\X\\`` and
  ``\\\\?\\C:\\x`` name the same file (windows-facts A.5 notes the ``\\\\?\\`` prefix in BasePath).
* File contents are kept byte for byte (a BOM is content: windows-facts C.4, B.5).
* Small files live in the state JSON; files larger than :data:`INLINE_LIMIT` are blobs under
  ``<state dir>/blobs/`` and are streamed with :meth:`FileSystem.open_write` /
  :meth:`FileSystem.open_read`, so a 100 MB VHD costs bounded memory.
* Writing past a volume's free space raises :class:`DiskFullError` with Windows' text "There is not
  enough space on the disk." (ERROR_DISK_FULL = 112, HRESULT 0x80070070;
  https://learn.microsoft.com/windows/win32/debug/system-error-codes--0-499-).
* :meth:`FileSystem.move` / :meth:`FileSystem.replace` are atomic (MoveFileEx semantics: the target
  either keeps its old bytes or has the new ones;
  https://learn.microsoft.com/windows/win32/api/winbase/nf-winbase-movefileexw).
"""

from __future__ import annotations

import base64
import hashlib
import os
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

INLINE_LIMIT = 64 * 1024
DISK_FULL_MESSAGE = "There is not enough space on the disk."
ERROR_DISK_FULL = 112
HRESULT_DISK_FULL = 0x80070070


class DiskFullError(OSError):
    """Writing past a volume's free space (ERROR_DISK_FULL, 0x80070070)."""

    def __init__(self, path: str) -> None:
        super().__init__(ERROR_DISK_FULL, DISK_FULL_MESSAGE, path)
        self.hresult = HRESULT_DISK_FULL
        self.message = DISK_FULL_MESSAGE


class SimFileNotFoundError(FileNotFoundError):
    """A path does not exist (PowerShell: "Cannot find path '<p>' because it does not exist.")."""

    def __init__(self, path: str) -> None:
        super().__init__(2, f"Cannot find path '{path}' because it does not exist.", path)


class SimFileExistsError(FileExistsError):
    def __init__(self, path: str) -> None:
        super().__init__(183, "Cannot create a file when that file already exists.", path)


@dataclass
class Volume:
    """A drive letter. ``used_bytes`` includes what the OS itself occupies (from the profile)."""

    letter: str  # "C"
    total_bytes: int
    used_bytes: int = 0
    label: str = ""
    filesystem: str = "NTFS"
    # Set by the fault plan ({"disk_full": "D:"}): every growing write fails.
    forced_full: bool = False

    @property
    def free_bytes(self) -> int:
        if self.forced_full:
            return 0
        return max(0, self.total_bytes - self.used_bytes)


@dataclass
class FileEntry:
    path: str  # canonical, original case: "C:\\Users\\dev\\.wslconfig"
    is_dir: bool
    size: int = 0
    data: bytes | None = None  # inline content
    blob: str | None = None  # blob file name under <state dir>/blobs
    mtime: float = 0.0
    # A sparse file: ``data`` holds its first bytes, the rest up to ``size`` reads as zeros
    # (a VHD with a realistic size and a small content marker; NTFS sparse files:
    # https://learn.microsoft.com/windows/win32/fileio/sparse-files).
    sparse: bool = False


def normalize_path(path: str) -> str:
    """Canonical absolute Windows path ``X:\\a\\b`` (original case, no trailing backslash).

    Accepts ``/`` separators, the ``\\\\?\\`` long-path prefix, ``.``/``..`` components and a
    ``FileSystem::`` provider prefix. Raises ValueError for relative or UNC paths: the model has
    no current directory, and UNC paths are the simulated network (``models.docker``).
    """
    p = path.strip().replace("/", "\\")
    if p.lower().startswith("microsoft.powershell.core\\filesystem::"):
        p = p.split("::", 1)[1]
    elif p.lower().startswith("filesystem::"):
        p = p.split("::", 1)[1]
    if p.startswith("\\\\?\\") or p.startswith("\\??\\"):
        p = p[4:]
    if p.startswith("\\\\"):
        raise ValueError(f"UNC path {path!r} is not on a local volume")
    if len(p) < 2 or p[1] != ":" or not p[0].isalpha():
        raise ValueError(f"path {path!r} is not an absolute Windows path")
    parts: list[str] = []
    for part in p[2:].split("\\"):
        if part in ("", "."):
            continue
        if part == "..":
            if parts:
                parts.pop()
            continue
        # Windows strips trailing dots and spaces from path components.
        parts.append(part.rstrip(" ."))
    return "\\".join([p[0].upper() + ":", *parts]) if parts else p[0].upper() + ":\\"


def parent_of(canon: str) -> str | None:
    if canon.endswith(":\\"):
        return None
    head = canon.rsplit("\\", 1)[0]
    return head + "\\" if head.endswith(":") else head


class FileSystem:
    """Files and directories of one host. The host lock serialises mutations."""

    def __init__(self, blob_dir: Path) -> None:
        self.blob_dir = blob_dir
        self.volumes: dict[str, Volume] = {}
        self._entries: dict[str, FileEntry] = {}
        # Called with the drive letter when a write fails for lack of space (fault bookkeeping).
        self.on_disk_full: Callable[[str], None] | None = None

    # -- volumes ----------------------------------------------------------------------------
    def add_volume(self, letter: str, total_bytes: int, used_bytes: int = 0, label: str = "") -> Volume:
        letter = letter.rstrip(":\\").upper()
        vol = Volume(letter, int(total_bytes), int(used_bytes), label)
        self.volumes[letter] = vol
        root = f"{letter}:\\"
        self._entries.setdefault(root.lower(), FileEntry(root, True, mtime=time.time()))
        return vol

    def volume_of(self, path: str) -> Volume:
        canon = normalize_path(path)
        vol = self.volumes.get(canon[0])
        if vol is None:
            # Windows: "Cannot find drive. A drive with the name 'Q' does not exist."
            raise SimFileNotFoundError(canon)
        return vol

    def free_bytes(self, letter: str) -> int:
        return self.volumes[letter.rstrip(":\\").upper()].free_bytes

    # -- queries ----------------------------------------------------------------------------
    def _get(self, path: str) -> FileEntry | None:
        return self._entries.get(normalize_path(path).lower())

    def exists(self, path: str) -> bool:
        try:
            return self._get(path) is not None
        except ValueError:
            return False

    def is_dir(self, path: str) -> bool:
        entry = self._get(path)
        return bool(entry and entry.is_dir)

    def is_file(self, path: str) -> bool:
        entry = self._get(path)
        return bool(entry and not entry.is_dir)

    def entry(self, path: str) -> FileEntry:
        entry = self._get(path)
        if entry is None:
            raise SimFileNotFoundError(normalize_path(path))
        return entry

    def size(self, path: str) -> int:
        return self.entry(path).size

    def listdir(self, path: str) -> list[str]:
        """Names of the direct children of a directory."""
        canon = normalize_path(path)
        if not self.is_dir(canon):
            raise SimFileNotFoundError(canon)
        prefix = canon.lower().rstrip("\\") + "\\"
        return [
            e.path[len(prefix) :]
            for low, e in self._entries.items()
            if low.startswith(prefix) and "\\" not in low[len(prefix) :] and low != prefix
        ]

    def walk_files(self, path: str) -> list[str]:
        """Canonical paths of every file under a directory (recursively)."""
        prefix = normalize_path(path).lower().rstrip("\\") + "\\"
        return [e.path for low, e in self._entries.items() if low.startswith(prefix) and not e.is_dir]

    # -- directories ------------------------------------------------------------------------
    def mkdir(self, path: str, *, parents: bool = True, exist_ok: bool = True) -> None:
        canon = normalize_path(path)
        self.volume_of(canon)
        existing = self._entries.get(canon.lower())
        if existing is not None:
            if not existing.is_dir:
                raise SimFileExistsError(canon)
            if not exist_ok:
                raise SimFileExistsError(canon)
            return
        parent = parent_of(canon)
        if parent is not None and not self.is_dir(parent):
            if not parents:
                raise SimFileNotFoundError(parent)
            self.mkdir(parent, parents=True)
        self._entries[canon.lower()] = FileEntry(canon, True, mtime=time.time())

    # -- file content -----------------------------------------------------------------------
    def read_bytes(self, path: str) -> bytes:
        entry = self.entry(path)
        if entry.is_dir:
            raise IsADirectoryError(21, f"Access to the path '{entry.path}' is denied.", entry.path)
        if entry.blob is not None:
            return (self.blob_dir / entry.blob).read_bytes()
        if entry.sparse:
            head = entry.data or b""
            return head + bytes(max(0, entry.size - len(head)))
        return entry.data or b""

    def write_sparse(self, path: str, size: int, head: bytes = b"", *, make_parents: bool = False) -> None:
        """Create or overwrite a file of ``size`` bytes whose content is ``head`` then zeros.

        The volume is charged the full ``size`` (the simulator has no allocation units), so moves
        and copies of a large VHD hit "not enough space" like the real file would."""
        if len(head) > INLINE_LIMIT or len(head) > size:
            raise ValueError("a sparse file's head must fit inline and within its size")
        canon = normalize_path(path)
        vol = self.volume_of(canon)
        parent = parent_of(canon)
        if parent is not None and not self.is_dir(parent):
            if not make_parents:
                raise SimFileNotFoundError(parent)
            self.mkdir(parent)
        old = self._entries.get(canon.lower())
        if old is not None and old.is_dir:
            raise IsADirectoryError(21, f"Access to the path '{canon}' is denied.", canon)
        if size > vol.free_bytes:
            if self.on_disk_full:
                self.on_disk_full(vol.letter)
            raise DiskFullError(canon)
        if old is not None:
            self._drop(old)
        vol.used_bytes += size
        path_case = old.path if old is not None else canon
        self._entries[path_case.lower()] = FileEntry(
            path_case, False, size, data=bytes(head), mtime=time.time(), sparse=True
        )

    def write_bytes(self, path: str, data: bytes, *, make_parents: bool = False) -> None:
        """Create or overwrite a file with exactly ``data`` (atomic: all or nothing)."""
        with self.open_write(path, make_parents=make_parents) as out:
            out.write(data)

    @contextmanager
    def open_write(self, path: str, *, make_parents: bool = False) -> Iterator[_Writer]:
        """Stream a new version of a file. Space is checked chunk by chunk; on any error the old
        content stays (the writer targets a temp blob that replaces the file on success)."""
        canon = normalize_path(path)
        vol = self.volume_of(canon)
        parent = parent_of(canon)
        if parent is not None and not self.is_dir(parent):
            if not make_parents:
                raise SimFileNotFoundError(parent)
            self.mkdir(parent)
        old = self._entries.get(canon.lower())
        if old is not None and old.is_dir:
            raise IsADirectoryError(21, f"Access to the path '{canon}' is denied.", canon)
        writer = _Writer(self, canon, vol, old.size if old else 0)
        try:
            yield writer
        except BaseException:
            writer.discard()
            raise
        writer.commit()

    @contextmanager
    def open_read(self, path: str) -> Iterator[BinaryIO]:
        import io

        entry = self.entry(path)
        if entry.is_dir:
            raise IsADirectoryError(21, f"Access to the path '{entry.path}' is denied.", entry.path)
        if entry.blob is not None:
            with open(self.blob_dir / entry.blob, "rb") as fh:
                yield fh
        elif entry.sparse:
            yield _SparseReader(entry.data or b"", entry.size)  # type: ignore[misc]
        else:
            yield io.BytesIO(entry.data or b"")

    def sha256(self, path: str) -> str:
        """Lower-case hex SHA-256 (``Get-FileHash`` prints upper case; compare case-insensitively)."""
        digest = hashlib.sha256()
        with self.open_read(path) as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                digest.update(chunk)
        return digest.hexdigest()

    # -- removal, move, copy ----------------------------------------------------------------
    def remove(self, path: str) -> None:
        entry = self.entry(path)
        if entry.is_dir:
            if self.listdir(entry.path):
                raise OSError(145, "The directory is not empty.", entry.path)
        self._drop(entry)

    def rmtree(self, path: str) -> None:
        canon = normalize_path(path)
        prefix = canon.lower().rstrip("\\") + "\\"
        for low in [k for k in self._entries if k.startswith(prefix)]:
            self._drop(self._entries[low])
        if canon.lower() in self._entries:
            self._drop(self._entries[canon.lower()])

    def _drop(self, entry: FileEntry) -> None:
        self._entries.pop(entry.path.lower(), None)
        if not entry.is_dir:
            vol = self.volumes.get(entry.path[0])
            if vol is not None:
                vol.used_bytes = max(0, vol.used_bytes - entry.size)
            if entry.blob is not None:
                (self.blob_dir / entry.blob).unlink(missing_ok=True)

    def move(self, src: str, dst: str, *, replace: bool = False) -> None:
        """Move a file or directory tree. Same volume: a rename. Across volumes: the target
        volume must have room (MOVEFILE_COPY_ALLOWED copies, then deletes the source)."""
        s = self.entry(src)
        d = normalize_path(dst)
        if d.lower() == s.path.lower():
            return
        target = self._entries.get(d.lower())
        if target is not None:
            if not replace or target.is_dir:
                raise SimFileExistsError(d)
        parent = parent_of(d)
        if parent is not None and not self.is_dir(parent):
            raise SimFileNotFoundError(parent)
        dvol = self.volume_of(d)
        moving = [s] if not s.is_dir else [s, *(self.entry(p) for p in self._tree(s.path))]
        if dvol.letter != s.path[0]:
            need = sum(e.size for e in moving if not e.is_dir) - (target.size if target else 0)
            if need > dvol.free_bytes:
                if self.on_disk_full:
                    self.on_disk_full(dvol.letter)
                raise DiskFullError(d)
        if target is not None:
            self._drop(target)
        svol = self.volumes[s.path[0]]
        old_prefix_len = len(s.path)
        for e in moving:
            new_path = d + e.path[old_prefix_len:]
            self._entries.pop(e.path.lower())
            if not e.is_dir and dvol is not svol:
                svol.used_bytes = max(0, svol.used_bytes - e.size)
                dvol.used_bytes += e.size
            e.path = new_path
            self._entries[new_path.lower()] = e

    def replace(self, src: str, dst: str) -> None:
        """Atomically replace ``dst`` with ``src`` (``[IO.File]::Replace`` / ``Move-Item -Force``)."""
        self.move(src, dst, replace=True)

    def copy(self, src: str, dst: str, *, overwrite: bool = True) -> None:
        s = self.entry(src)
        if s.is_dir:
            raise IsADirectoryError(21, f"Access to the path '{s.path}' is denied.", s.path)
        if not overwrite and self.exists(dst):
            raise SimFileExistsError(normalize_path(dst))
        if s.sparse:
            self.write_sparse(dst, s.size, s.data or b"")
            return
        with self.open_read(s.path) as fh, self.open_write(dst) as out:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                out.write(chunk)

    def _tree(self, canon: str) -> list[str]:
        prefix = canon.lower().rstrip("\\") + "\\"
        return [e.path for low, e in self._entries.items() if low.startswith(prefix)]

    # -- persistence ------------------------------------------------------------------------
    def to_json(self) -> dict[str, Any]:
        return {
            "volumes": [
                {
                    "letter": v.letter,
                    "total_bytes": v.total_bytes,
                    "used_bytes": v.used_bytes,
                    "label": v.label,
                    "filesystem": v.filesystem,
                }
                for v in self.volumes.values()
            ],
            "entries": [
                {
                    "path": e.path,
                    "is_dir": e.is_dir,
                    "size": e.size,
                    "mtime": e.mtime,
                    **({"blob": e.blob} if e.blob else {}),
                    **({"data": base64.b64encode(e.data).decode()} if e.data else {}),
                    **({"sparse": True} if e.sparse else {}),
                }
                for e in self._entries.values()
            ],
        }

    @classmethod
    def from_json(cls, raw: dict[str, Any], blob_dir: Path) -> FileSystem:
        fs = cls(blob_dir)
        for v in raw.get("volumes", []):
            vol = Volume(v["letter"], v["total_bytes"], v.get("used_bytes", 0), v.get("label", ""))
            vol.filesystem = v.get("filesystem", "NTFS")
            fs.volumes[vol.letter] = vol
        for e in raw.get("entries", []):
            data = base64.b64decode(e["data"]) if "data" in e else None
            entry = FileEntry(
                e["path"], e["is_dir"], e.get("size", 0), data, e.get("blob"), e.get("mtime", 0)
            )
            entry.sparse = bool(e.get("sparse"))
            if not entry.is_dir and entry.data is None and entry.blob is None:
                entry.data = b""
            fs._entries[entry.path.lower()] = entry
        return fs


class _SparseReader:
    """Reads a sparse file: its head, then zeros up to its size."""

    def __init__(self, head: bytes, size: int) -> None:
        self._head = head
        self._size = size
        self._pos = 0

    def read(self, n: int = -1) -> bytes:
        remaining = self._size - self._pos
        if remaining <= 0:
            return b""
        n = remaining if n is None or n < 0 else min(n, remaining)
        start = self._pos
        self._pos += n
        head_part = self._head[start : start + n] if start < len(self._head) else b""
        return head_part + bytes(n - len(head_part))

    def __enter__(self) -> _SparseReader:
        return self

    def __exit__(self, *exc: object) -> None:
        return None


class _Writer:
    """A streaming writer returned by :meth:`FileSystem.open_write`."""

    def __init__(self, fs: FileSystem, canon: str, vol: Volume, old_size: int) -> None:
        self._fs = fs
        self._canon = canon
        self._vol = vol
        self._old_size = old_size
        self._buf = bytearray()
        self._blob_name: str | None = None
        self._blob_fh: BinaryIO | None = None
        self.size = 0

    def write(self, data: bytes) -> int:
        # The old content is freed only when the new one commits, as with a temp-file replace.
        # used_bytes already includes what this writer wrote so far.
        if len(data) > self._vol.free_bytes:
            if self._fs.on_disk_full:
                self._fs.on_disk_full(self._vol.letter)
            raise DiskFullError(self._canon)
        self._vol.used_bytes += len(data)
        self.size += len(data)
        if self._blob_fh is None and len(self._buf) + len(data) <= INLINE_LIMIT:
            self._buf += data
            return len(data)
        if self._blob_fh is None:
            self._fs.blob_dir.mkdir(parents=True, exist_ok=True)
            self._blob_name = uuid.uuid4().hex
            self._blob_fh = open(self._fs.blob_dir / self._blob_name, "wb")
            self._blob_fh.write(self._buf)
            self._buf = bytearray()
        self._blob_fh.write(data)
        return len(data)

    def discard(self) -> None:
        self._vol.used_bytes = max(0, self._vol.used_bytes - self.size)
        if self._blob_fh is not None:
            self._blob_fh.close()
            assert self._blob_name is not None
            (self._fs.blob_dir / self._blob_name).unlink(missing_ok=True)

    def commit(self) -> None:
        if self._blob_fh is not None:
            self._blob_fh.flush()
            os.fsync(self._blob_fh.fileno())
            self._blob_fh.close()
        old = self._fs._entries.get(self._canon.lower())
        if old is not None:
            self._fs._drop(old)
            path = old.path  # keep the case the file was created with (NTFS)
        else:
            path = self._canon
        entry = FileEntry(
            path,
            False,
            self.size,
            data=None if self._blob_name else bytes(self._buf),
            blob=self._blob_name,
            mtime=time.time(),
        )
        self._fs._entries[path.lower()] = entry
