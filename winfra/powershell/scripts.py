"""Shipped PowerShell scripts and how an invocation of one is rendered.

Every script lives in ``winfra/scripts/<name>.ps1`` and follows one contract:

* comment-based help (``<# .SYNOPSIS ... #>``) whose ``.NOTES`` section holds a line
  ``winfra-mode: read`` (the script only reads host state) or ``winfra-mode: write``;
* ``[CmdletBinding()] param([Parameter(Mandatory = $true)][string]$InputJson)``: the only input
  is one JSON document;
* one JSON document on stdout (``ConvertTo-Json -Compress``) and nothing else; errors are
  terminating (``$ErrorActionPreference = 'Stop'``) and end up on stderr with a non-zero exit.

An invocation is rendered as::

    # winfra-script: <name> mode=<read|write> sha256=<sha256 of the .ps1 bytes>
    & {
    <the .ps1 text, verbatim>
    } -InputJson '<parameters as JSON, quoted with ps_quote>'

User data therefore never becomes script text: it is one JSON value inside one literal made by
the one quoting helper. The header line lets the connector cache read-mode results and lets the
simulator dispatch to the script's counterpart after checking the body is the shipped file.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Literal

from winfra.powershell.quoting import PowerShellQuotingError, ps_quote, ps_unquote

SCRIPTS_DIR = Path(__file__).resolve().parent.parent / "scripts"
HEADER_PREFIX = "# winfra-script: "
HEADER_RE = re.compile(
    r"^# winfra-script: (?P<name>[a-z0-9_]+) mode=(?P<mode>read|write) sha256=(?P<sha256>[0-9a-f]{64})$"
)
_MODE_RE = re.compile(r"^\s*winfra-mode:\s*(read|write)\s*$", re.MULTILINE)

Mode = Literal["read", "write"]


class ScriptError(ValueError):
    """A shipped script is missing or breaks the script contract."""


@dataclass(frozen=True)
class Script:
    name: str
    text: str
    mode: Mode
    sha256: str

    @property
    def path(self) -> Path:
        return SCRIPTS_DIR / f"{self.name}.ps1"


@cache
def load_script(name: str) -> Script:
    """Load ``winfra/scripts/<name>.ps1`` and read its contract metadata."""
    if not re.fullmatch(r"[a-z0-9_]+", name):
        raise ScriptError(f"invalid script name {name!r}")
    path = SCRIPTS_DIR / f"{name}.ps1"
    if not path.is_file():
        raise ScriptError(f"no shipped script {path.name}")
    raw = path.read_bytes()
    if raw.startswith(b"\xef\xbb\xbf"):
        raise ScriptError(f"{path.name} starts with a BOM; scripts are UTF-8 without BOM")
    text = raw.decode("utf-8").replace("\r\n", "\n")
    match = _MODE_RE.search(text)
    if not match:
        raise ScriptError(f"{path.name} has no 'winfra-mode: read|write' line in its .NOTES help")
    return Script(name=name, text=text, mode=match.group(1), sha256=hashlib.sha256(raw).hexdigest())  # type: ignore[arg-type]


def all_scripts() -> list[Script]:
    return [load_script(p.stem) for p in sorted(SCRIPTS_DIR.glob("*.ps1"))]


def to_json(params: Mapping[str, Any]) -> str:
    return json.dumps(dict(params), ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def _invocation_prefix(script: Script) -> str:
    """A rendered invocation up to its JSON literal: the header, then the body in ``& { }``."""
    body = script.text if script.text.endswith("\n") else script.text + "\n"
    header = f"{HEADER_PREFIX}{script.name} mode={script.mode} sha256={script.sha256}"
    return f"{header}\n& {{\n{body}}} -InputJson "


def render_script(name: str, params: Mapping[str, Any] | None = None) -> str:
    """Render the PowerShell text that runs shipped script ``name`` with ``params``."""
    return _invocation_prefix(load_script(name)) + ps_quote(to_json(params or {}))


def script_result(stdout_lines: list[str]) -> Any:
    """The JSON document a script printed: its last stdout line, parsed; None when there is none.

    A script prints one ``ConvertTo-Json -Compress`` line (the contract above); reading the last
    line keeps a stray line an external program wrote before it from hiding the result.
    """
    text = "\n".join(stdout_lines).strip()
    if not text:
        return None
    try:
        return json.loads(text.splitlines()[-1])
    except json.JSONDecodeError:
        return None


@dataclass(frozen=True)
class ScriptHeader:
    name: str
    mode: Mode
    sha256: str


def parse_header(command_text: str) -> ScriptHeader | None:
    """Return the script header of a rendered invocation, or None for any other command."""
    first_line = command_text.lstrip().split("\n", 1)[0].rstrip("\r")
    match = HEADER_RE.match(first_line)
    if not match:
        return None
    return ScriptHeader(match["name"], match["mode"], match["sha256"])  # type: ignore[arg-type]


def rendered_script(command_text: str) -> Script | None:
    """The shipped script when ``command_text`` is exactly a rendered invocation of it, else None.

    The header alone is not trusted: text that merely starts with a header (a rendered
    invocation followed by more commands, or an edited body) is some other command.
    """
    header = parse_header(command_text)
    if header is None:
        return None
    try:
        script = load_script(header.name)
    except ScriptError:
        return None
    if script.mode != header.mode or script.sha256 != header.sha256:
        return None
    prefix = _invocation_prefix(script)
    text = command_text.lstrip()
    if not text.startswith(prefix):
        return None
    try:
        # Nothing but the one quoted JSON literal may follow (ps_unquote refuses anything else).
        ps_unquote(text[len(prefix) :])
    except PowerShellQuotingError:
        return None
    return script


def is_read_only(command_text: str) -> bool:
    """True when ``command_text`` is exactly a rendered invocation of a shipped read-mode script.

    A cached result must never stand in for anything else, nor may anything else leave stale
    reads in the cache (:func:`rendered_script`).
    """
    script = rendered_script(command_text)
    return script is not None and script.mode == "read"
