"""Pure parsers for wsl.exe output (no I/O), tested on real captures (tests/data/wsl/).

Rules, all from shared/reference/windows-facts.md:

* wsl.exe writes UTF-16LE without BOM unless ``WSL_UTF8=1`` is set, and inbox wsl.exe ignores
  that variable (A.4), so bytes holding NULs are decoded as UTF-16LE whatever was asked for.
* Lines end in CRLF and sometimes CR CR LF (A.4, tailscale/tailscale#3170): split on ``\\r*\\n``.
* Only output that is not localized is parsed: ``-l -v`` (header words and states are hard-coded
  English, A.3), ``-l -q`` (names only, A.3), and the ``Error code: Wsl/...`` token (A.2).
  ``--version`` is localized, so it is read by line position and the token after the last colon
  (A.3); message text is never interpreted.
* Errors arrive on stdout with exit code -1 (0xFFFFFFFF as unsigned, A.2).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# wsl.exe's failure exit code, signed and as a 32-bit unsigned reader sees it (A.2).
WSL_FAILURE_EXIT_CODES = (-1, 0xFFFFFFFF)

# States printed by `-l -v`: hard-coded English in WslClient.cpp (A.3).
LIST_STATES = ("Running", "Stopped", "Installing", "Uninstalling", "Converting", "Exporting")

# The error token is the last path of the `Error code:` line, e.g.
# `Wsl/Service/MoveDistro/WSL_E_DISTRO_NOT_STOPPED` (A.2). The label "Error code" may be
# localized, so the token itself is matched.
_ERROR_CODE_RE = re.compile(r"(?:^|\s)(Wsl/[A-Za-z0-9_./-]+)\s*$")
_LINE_SPLIT_RE = re.compile(r"\r*\n")
_VERSION_TOKEN_RE = re.compile(r"^\d+(?:\.\d+)+")


class WslOutputError(ValueError):
    """wsl.exe output that does not have the expected shape."""


def decode_output(data: bytes | str) -> str:
    """Decode wsl.exe stdout/stderr bytes to text (A.4 steps 2-3).

    NUL bytes at odd offsets mean UTF-16LE (inbox WSL ignores ``WSL_UTF8``); otherwise UTF-8.
    A leading BOM of either encoding is dropped.
    """
    if isinstance(data, str):
        text = data
    else:
        if data.startswith(b"\xff\xfe"):
            text = data[2:].decode("utf-16-le", errors="replace")
        elif _looks_utf16le(data):
            text = data.decode("utf-16-le", errors="replace")
        else:
            text = data.decode("utf-8", errors="replace")
    # Stray NULs survive when UTF-16 output was already decoded as 8-bit text upstream
    # (PowerShell pipes native output through [Console]::OutputEncoding, A.4).
    text = text.replace("\x00", "")
    return text.lstrip("\ufeff")


def _looks_utf16le(data: bytes) -> bool:
    if len(data) < 2:
        return False
    odd = data[1::2]
    # ASCII-range UTF-16LE text has a NUL in (nearly) every odd position.
    return odd.count(0) >= max(1, len(odd) // 2)


def split_lines(text: str) -> list[str]:
    """Split on ``\\r*\\n`` (CR CR LF included) and strip trailing spaces; drop a final empty line."""
    lines = [line.rstrip() for line in _LINE_SPLIT_RE.split(text)]
    while lines and lines[-1] == "":
        lines.pop()
    return lines


def output_lines(data: bytes | str | list[str]) -> list[str]:
    """Normalise bytes, text or already-split lines into clean lines."""
    if isinstance(data, list):
        return split_lines("\n".join(decode_output(line) for line in data))
    return split_lines(decode_output(data))


def error_code(data: bytes | str | list[str]) -> str | None:
    """The ``Wsl/...`` error code of a failed wsl.exe call, or None (A.2)."""
    for line in reversed(output_lines(data)):
        match = _ERROR_CODE_RE.search(line)
        if match:
            return match.group(1)
    return None


def error_name(code: str | None) -> str | None:
    """The last component of an error code: ``WSL_E_DISTRO_NOT_STOPPED``, ``E_ACCESSDENIED``."""
    if not code:
        return None
    return code.rsplit("/", 1)[-1]


def _list_output_lines(data: bytes | str | list[str], command: str) -> list[str] | None:
    """The lines of a ``wsl -l`` listing; None when the user has no distros.

    "No installed distributions" (``WSL_E_DEFAULT_DISTRO_NOT_FOUND``, A.2) is a valid state; any
    other error code raises :class:`WslOutputError`.
    """
    lines = output_lines(data)
    code = error_code(lines)
    if code is None:
        return lines
    if error_name(code) == "WSL_E_DEFAULT_DISTRO_NOT_FOUND":
        return None
    raise WslOutputError(f"{command} failed: {code}")


@dataclass(frozen=True)
class ListedDistro:
    """One row of ``wsl -l -v``."""

    name: str
    state: str
    version: int
    is_default: bool


def parse_list_verbose(data: bytes | str | list[str]) -> list[ListedDistro]:
    """Parse ``wsl -l -v``.

    Format (WslClient.cpp, A.3): ``"%s %-<w>s%-16s%s"`` with a first column of ``*`` for the
    default distro or a space; header ``  NAME  STATE  VERSION``. Distro names cannot hold
    spaces, so a row is split on whitespace. WSL 2.4.4 printed no ``*`` (WSL#12302): then no row
    is the default and callers fall back to the registry's ``DefaultDistribution``.

    "No installed distributions" (``WSL_E_DEFAULT_DISTRO_NOT_FOUND``, A.2) is a valid state and
    gives ``[]``; any other error output raises :class:`WslOutputError`.
    """
    lines = _list_output_lines(data, "wsl -l -v")
    if lines is None:
        return []
    header_at = None
    for index, line in enumerate(lines):
        words = line.split()
        if words == ["NAME", "STATE", "VERSION"]:
            header_at = index
            break
    if header_at is None:
        if not any(line.strip() for line in lines):
            return []
        raise WslOutputError(f"wsl -l -v: no NAME/STATE/VERSION header in {lines[:3]!r}")
    distros: list[ListedDistro] = []
    for line in lines[header_at + 1 :]:
        if not line.strip():
            continue
        is_default = line.startswith("*")
        words = (line[1:] if is_default else line).split()
        if len(words) != 3 or words[1] not in LIST_STATES or words[2] not in ("1", "2"):
            raise WslOutputError(f"wsl -l -v: unexpected row {line!r}")
        distros.append(
            ListedDistro(name=words[0], state=words[1], version=int(words[2]), is_default=is_default)
        )
    return distros


def parse_list_quiet(data: bytes | str | list[str]) -> list[str]:
    """Parse ``wsl -l -q``: one name per line, no header, no marker (A.3).

    Empty output means no distros (``-q`` prints nothing then, A.2).
    """
    lines = _list_output_lines(data, "wsl -l -q")
    if lines is None:
        return []
    names = [line.strip() for line in lines if line.strip()]
    for name in names:
        if any(c.isspace() for c in name):
            raise WslOutputError(f"wsl -l -q: {name!r} is not a distro name (localized output?)")
    return names


@dataclass(frozen=True)
class WslVersionInfo:
    """``wsl --version``, read by line position (A.3): localized labels are never read."""

    wsl: str
    kernel: str | None
    wslg: str | None
    msrdc: str | None
    direct3d: str | None
    dxcore: str | None
    windows: str | None


_VERSION_FIELDS = ("wsl", "kernel", "wslg", "msrdc", "direct3d", "dxcore", "windows")


def parse_version(data: bytes | str | list[str]) -> WslVersionInfo | None:
    """Parse ``wsl --version``; None for inbox wsl.exe, which rejects the option (WSL#11941).

    Line N (1-based) is WSL, kernel, WSLg, MSRDC, Direct3D, DXCore, Windows; the value is the
    token after the last colon (ASCII or full-width, for CJK locales). Line 1 must hold a
    dotted version number, which also tells the inbox usage text apart without reading it.
    """
    lines = [line for line in output_lines(data) if line.strip()]
    values: list[str | None] = []
    for line in lines[: len(_VERSION_FIELDS)]:
        cut = max(line.rfind(":"), line.rfind("\uff1a"))
        values.append(line[cut + 1 :].strip() if cut >= 0 else None)
    if not values or not values[0] or not _VERSION_TOKEN_RE.match(values[0]):
        return None
    values += [None] * (len(_VERSION_FIELDS) - len(values))
    return WslVersionInfo(**dict(zip(_VERSION_FIELDS, values, strict=True)))  # type: ignore[arg-type]


def supports_manage_move(help_data: bytes | str | list[str]) -> bool:
    """Whether ``wsl --help`` lists ``--manage`` with its ``--move`` option.

    The version that introduced ``--manage --move`` is not pinned by a primary source, so it is
    feature-detected (windows-facts A.6, Gaps 1). Option names are not localized.
    """
    text = "\n".join(output_lines(help_data))
    return re.search(r"(?<![\w-])--manage(?![\w-])", text) is not None and (
        re.search(r"(?<![\w-])--move(?![\w-])", text) is not None
    )


def default_from_list(distros: list[ListedDistro]) -> str | None:
    """The default distro marked with ``*``, if any (none on WSL 2.4.4, WSL#12302)."""
    for distro in distros:
        if distro.is_default:
            return distro.name
    return None
