"""Decode the CLIXML that powershell.exe writes to stderr into readable error lines.

When stderr is redirected, powershell.exe serialises its non-output streams as
``#< CLIXML`` followed by one or more ``<Objs>`` documents: error text as ``<S S="Error">``
fragments, progress records as ``<Obj S="progress">``, warnings/verbose/debug as ``<S S="...">``
(anchors-and-winrm.md §3.4). Following Ansible's ``_parse_clixml`` (same section) we:

* read every ``<Objs>`` block, not only the first (several appear when a nested powershell
  writes its own CLIXML, ansible/ansible#69550);
* keep only ``S="Error"`` records, dropping progress noise such as "Preparing modules for first
  use." (ansible/ansible#13331, #72991);
* decode every ``_xHHHH_`` escape as UTF-16 code units, so a surrogate pair written as
  ``_xD83D__xDE00_`` becomes one character (MS-PSRP 2.2.5.3.2 "Encoding strings").

Text outside the CLIXML blocks (a native tool writing plain stderr) is kept as is.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

CLIXML_MARKER = "#< CLIXML"
_OBJS_RE = re.compile(r"<Objs\b.*?</Objs>", re.DOTALL)
_ESCAPES_RE = re.compile(r"(?:_x[0-9A-Fa-f]{4}_)+")


def decode_escapes(text: str) -> str:
    """Decode runs of ``_xHHHH_`` escapes as UTF-16-BE code units (surrogate pairs joined)."""

    def _run(match: re.Match[str]) -> str:
        units = bytes.fromhex(
            "".join(match.group(0)[i + 2 : i + 6] for i in range(0, len(match.group(0)), 7))
        )
        # A lone surrogate cannot be represented; show U+FFFD rather than failing.
        return units.decode("utf-16-be", errors="replace")

    return _ESCAPES_RE.sub(_run, text)


def _error_text(objs_xml: str) -> str | None:
    """Concatenated error text of one ``<Objs>`` block, or None when it does not parse."""
    try:
        root = ET.fromstring(objs_xml)
    except ET.ParseError:
        return None
    parts: list[str] = []
    for element in root.iter():
        # The namespace is http://schemas.microsoft.com/powershell/2004/04; match the local name.
        if element.tag.rsplit("}", 1)[-1] == "S" and element.get("S") == "Error":
            parts.append(decode_escapes(element.text or ""))
    return "".join(parts)


def split_lines(text: str) -> list[str]:
    """Split output text into lines: CRLF/CR stripped, no trailing empty line."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    while lines and lines[-1] == "":
        lines.pop()
    return lines


def decode_stderr(text: str) -> list[str]:
    """Turn raw stderr text (possibly CLIXML) into the lines a user should see."""
    if CLIXML_MARKER not in text and "<Objs" not in text:
        return split_lines(text)
    out: list[str] = []
    position = 0
    for match in _OBJS_RE.finditer(text):
        out.extend(_plain_lines(text[position : match.start()]))
        errors = _error_text(match.group(0))
        if errors is None:
            # Not parseable: show it raw rather than lose an error message.
            out.extend(split_lines(match.group(0)))
        else:
            out.extend(split_lines(errors))
        position = match.end()
    out.extend(_plain_lines(text[position:]))
    # PowerShell pads a formatted error record with blank lines; they carry nothing.
    while out and not out[-1].strip():
        out.pop()
    return out


def _plain_lines(text: str) -> list[str]:
    return [line for line in split_lines(text) if line.strip() and line.strip() != CLIXML_MARKER]
