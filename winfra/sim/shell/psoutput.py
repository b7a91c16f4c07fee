"""What Windows PowerShell 5.1 writes: ``ConvertTo-Json -Compress`` text, CLIXML error records
on stderr, and console output encoding.

* ``ConvertTo-Json`` in Windows PowerShell 5.1 is built on .NET's ``JavaScriptSerializer``
  (System.Web.Extensions), which escapes ``<``, ``>``, ``&`` and ``'`` as ``\\u003c``,
  ``\\u003e``, ``\\u0026``, ``\\u0027``, writes other non-ASCII characters as they are and
  control characters as ``\\b \\f \\n \\r \\t`` or ``\\u00XX``. ``-Compress`` removes all
  whitespace between tokens. (PowerShell/PowerShell#7693: 5.x returns ``"\\u0027def\\u0027"``
  for ``'def'``; joel74/POSH-LTM-Rest#162 lists ``< > ' &``. PowerShell 6+ no longer escapes.)
* Errors: when its output is redirected (as under WinRS), powershell.exe serialises the error
  stream as ``#< CLIXML`` + ``<Objs Version="1.1.0.1" xmlns=...>`` with one ``<S S="Error">``
  per line and CR LF written as ``_x000D__x000A_`` (anchors-and-winrm.md §3.4; real sample:
  jborean93/pypsrp tests/tests_pypsrp/data/test_sanitise_clixml_with_error.xml).
* Console output is encoded with ``[Console]::OutputEncoding``, i.e. the console code page of the
  WinRS shell (``WINRS_CODEPAGE``, 437 on an en-US host unless the client asks for 65001), unless
  the script sets it (winfra's ``PROLOGUE`` sets UTF-8 without BOM).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any
from xml.sax.saxutils import escape

_JSON_ESCAPES = {
    '"': '\\"',
    "\\": "\\\\",
    "\b": "\\b",
    "\f": "\\f",
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
    "<": "\\u003c",
    ">": "\\u003e",
    "&": "\\u0026",
    "'": "\\u0027",
}


_JSON_PLAIN_RE = re.compile(r'[^\x00-\x1f"\\<>&\']*\Z')


def _json_string(value: str) -> str:
    if _JSON_PLAIN_RE.match(value):
        return '"' + value + '"'  # nothing to escape, the common case
    out = ['"']
    for ch in value:
        esc = _JSON_ESCAPES.get(ch)
        if esc is not None:
            out.append(esc)
        elif ord(ch) < 0x20:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def convert_to_json(value: Any, depth: int = 6) -> str:
    """Serialise ``value`` like ``ConvertTo-Json -Compress -Depth <depth>`` in PowerShell 5.1.

    Past ``depth`` PowerShell writes the nested object's ``ToString()``; for a hashtable or array
    that is its type name, which is what this does (about_ConvertTo-Json, -Depth).
    """
    return _to_json(value, depth)


def _to_json(value: Any, depth: int) -> str:
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            # JavaScriptSerializer writes NaN/Infinity as strings.
            return _json_string("NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity"))
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return repr(value).replace("e+", "E+").replace("e-", "E-")
    if isinstance(value, str):
        return _json_string(value)
    if isinstance(value, Mapping):
        if depth < 0:
            return _json_string("System.Collections.Hashtable")
        items = ",".join(f"{_json_string(str(k))}:{_to_json(v, depth - 1)}" for k, v in value.items())
        return "{" + items + "}"
    if isinstance(value, list | tuple | set | frozenset):
        if depth < 0:
            return _json_string("System.Object[]")
        return "[" + ",".join(_to_json(v, depth - 1) for v in value) + "]"
    return _json_string(str(value))


def clixml_escape(text: str) -> str:
    """XML-escape and write CR, LF, TAB and other control characters as ``_xHHHH_`` (MS-PSRP
    2.2.5.3.2; a literal ``_x`` is escaped as ``_x005F_x``)."""
    out = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == "_" and text.startswith("_x", i):
            out.append("_x005F_")
            i += 1
            continue
        if ord(ch) < 0x20 or 0xFFFE <= ord(ch) <= 0xFFFF:
            out.append(f"_x{ord(ch):04X}_")
        else:
            out.append(escape(ch))
        i += 1
    return "".join(out)


def error_record_lines(
    message: str, *, category: str = "NotSpecified", error_id: str = "RuntimeException", target: str = ""
) -> list[str]:
    """The lines powershell.exe prints for an error record: the message, then CategoryInfo and
    FullyQualifiedErrorId (format of the pypsrp sample cited in the module docstring)."""
    exception = error_id.split(",", 1)[0] if error_id else "RuntimeException"
    lines = message.replace("\r\n", "\n").split("\n")
    lines.append(f"    + CategoryInfo          : {category}: ({target}:String) [], {exception}")
    lines.append(f"    + FullyQualifiedErrorId : {error_id}")
    lines.append(" ")
    return lines


def clixml_errors(records: list[list[str]]) -> str:
    """``#< CLIXML`` document holding the given error records (each a list of lines)."""
    parts = ['#< CLIXML\r\n<Objs Version="1.1.0.1" xmlns="http://schemas.microsoft.com/powershell/2004/04">']
    for lines in records:
        for line in lines:
            parts.append(f'<S S="Error">{clixml_escape(line + chr(13) + chr(10))}</S>')
    parts.append("</Objs>")
    return "".join(parts)


def not_recognized_lines(name: str, line: str) -> list[str]:
    """The CommandNotFoundException record for an unknown command, as in the pypsrp sample."""
    message = (
        f"{name} : The term '{name}' is not recognized as the name of a cmdlet, function, script file, or "
        "operable program. Check the spelling of the name, or if a path was included, verify that the path "
        "is correct and try again."
    )
    lines = [message, "At line:1 char:1", f"+ {line}", "+ " + "~" * max(1, len(name))]
    lines.append(
        f"    + CategoryInfo          : ObjectNotFound: ({name}:String) [], CommandNotFoundException"
    )
    lines.append("    + FullyQualifiedErrorId : CommandNotFoundException")
    lines.append(" ")
    return lines


def console_encode(text: str, codepage: int) -> bytes:
    """Encode console output in a code page; unmappable characters become ``?`` as the console
    does with a lossy OEM code page."""
    if codepage == 65001:
        return text.encode("utf-8")
    try:
        return text.encode(f"cp{codepage}", errors="replace")
    except LookupError:
        return text.encode("cp437", errors="replace")
