"""Windows command lines as cmd.exe and powershell.exe read them.

* WinRS joins ``rsp:Command`` and the ``rsp:Arguments`` with spaces and, unless the client set
  ``WINRS_SKIP_CMD_SHELL``, runs the result through ``cmd.exe /c`` (anchors-and-winrm.md §1.4).
* Program arguments are split the way the Microsoft C runtime (``CommandLineToArgvW``) does:
  whitespace separates, double quotes group, ``2n`` backslashes before a quote give ``n``
  backslashes and a quote delimiter, ``2n+1`` give ``n`` and a literal quote, and ``""`` inside a
  quoted run is a literal quote ("Parsing C++ command-line arguments",
  https://learn.microsoft.com/cpp/cpp/main-function-command-line-args).
* powershell.exe parameters are matched case-insensitively by unambiguous prefix with a minimum
  length per parameter, ``-`` ``--`` or ``/`` in front, and the first unknown token starts the
  command text (Windows PowerShell's ``CommandLineParameterParser.ParseHelper``/``MatchSwitch``
  in the PowerShell repository's ConsoleHost; about_PowerShell_exe:
  https://learn.microsoft.com/powershell/module/microsoft.powershell.core/about/about_powershell_exe).
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass, field

_WS = " \t"
# Runs of characters that each rule below copies one by one: taken in one step for speed (a
# powershell.exe -EncodedCommand line is thousands of such characters).
_ARGV_PLAIN_RE = re.compile(r'[^ \t"\\]+')
_CMD_PLAIN_RE = re.compile(r'[^"&|^]+')


def split_args(line: str) -> list[str]:
    """Split a command line into argv like ``CommandLineToArgvW`` (see module docstring)."""
    args: list[str] = []
    i, n = 0, len(line)
    while True:
        while i < n and line[i] in _WS:
            i += 1
        if i >= n:
            return args
        current: list[str] = []
        in_quotes = False
        while i < n:
            plain = _ARGV_PLAIN_RE.match(line, i)
            if plain:
                current.append(plain.group(0))
                i = plain.end()
                continue
            ch = line[i]
            if ch == "\\":
                start = i
                while i < n and line[i] == "\\":
                    i += 1
                count = i - start
                if i < n and line[i] == '"':
                    current.append("\\" * (count // 2))
                    if count % 2:
                        current.append('"')
                        i += 1
                else:
                    current.append("\\" * count)
                continue
            if ch == '"':
                if in_quotes and i + 1 < n and line[i + 1] == '"':
                    current.append('"')
                    i += 2
                    continue
                in_quotes = not in_quotes
                i += 1
                continue
            if ch in _WS and not in_quotes:
                break
            current.append(ch)
            i += 1
        args.append("".join(current))


def first_token(line: str) -> tuple[str, str]:
    """The program token of a command line (quotes removed) and the raw rest of the line."""
    line = line.lstrip(_WS)
    if line.startswith('"'):
        end = line.find('"', 1)
        if end == -1:
            return line[1:], ""
        return line[1:end], line[end + 1 :]
    match = re.match(r"[^\s]+", line)
    token = match.group(0) if match else ""
    return token, line[len(token) :]


def program_name(token: str) -> str:
    """``C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe`` → ``powershell``."""
    base = re.split(r"[\\/]", token)[-1].lower()
    for ext in (".exe", ".com", ".bat", ".cmd"):
        if base.endswith(ext):
            return base[: -len(ext)]
    return base


def expand_cmd_vars(line: str, env: dict[str, str]) -> str:
    """cmd.exe ``%NAME%`` expansion: case-insensitive; an undefined variable stays as written
    (cmd /? "Environment variable substitution"; on a command line, not in a batch file)."""
    lowered = {k.lower(): v for k, v in env.items()}

    def repl(match: re.Match[str]) -> str:
        value = lowered.get(match.group(1).lower())
        return value if value is not None else match.group(0)

    return re.sub(r"%([^%\s=][^%=]*)%", repl, line)


def strip_cmd_c(rest: str) -> str:
    """What ``cmd.exe /c <rest>`` runs: with more than one quote pair, or special characters,
    cmd keeps the line; when the line starts with a quote and ends with one and the old
    behaviour applies, it strips the outer pair (cmd /? "If /C or /K is specified ...")."""
    text = rest.lstrip(_WS)
    core = text.rstrip(_WS)
    if core.startswith('"') and core.endswith('"') and core.count('"') == 2 and len(core) >= 2:
        return core[1:-1]
    # Trailing spaces stay: they are part of the command ("echo out " prints "out ").
    return text


def split_cmd_operators(line: str) -> list[tuple[str | None, str]]:
    """Split a cmd.exe line at unquoted ``&&``, ``||`` and ``&`` into ``(operator before, segment)``
    pairs (cmd /? "&&", "||", "&"; ``^`` escapes the next character, double quotes protect). Pipes
    are left alone."""
    parts: list[tuple[str | None, str]] = []
    current: list[str] = []
    op: str | None = None
    in_quotes = False
    i = 0
    while i < len(line):
        plain = _CMD_PLAIN_RE.match(line, i)
        if plain:
            current.append(plain.group(0))
            i = plain.end()
            continue
        ch = line[i]
        if ch == "^" and not in_quotes and i + 1 < len(line):
            current.append(line[i : i + 2])
            i += 2
            continue
        if ch == '"':
            in_quotes = not in_quotes
        elif not in_quotes and ch in "&|" and line.startswith(ch * 2, i):
            parts.append((op, "".join(current)))
            op, current = ch * 2, []
            i += 2
            continue
        elif not in_quotes and ch == "&" and not (current and current[-1].endswith(">")):
            parts.append((op, "".join(current)))
            op, current = "&", []
            i += 1
            continue
        current.append(ch)
        i += 1
    parts.append((op, "".join(current)))
    return parts


_REDIRECT_RE = re.compile(r"(?i)(?:(?<=\s)(?P<fd>[12]))?>(?:&(?P<to>[12])|\s*(?P<nul>nul)\b)")


def strip_redirections(segment: str) -> tuple[str, dict[int, str]]:
    """Remove ``>&2``, ``1>&2``, ``2>&1``, ``>nul``, ``2>nul`` from a command; return it and the
    redirections as ``{fd: "1" | "2" | "nul"}`` (cmd /? redirection, "Using command redirection
    operators": https://learn.microsoft.com/previous-versions/windows/it-pro/windows-xp/bb490982(v=technet.10)).
    Other redirections (files) are left in place."""
    redirs: dict[int, str] = {}

    def take(match: re.Match[str]) -> str:
        if segment.count('"', 0, match.start()) % 2:
            return match.group(0)  # inside double quotes: not a redirection
        fd = int(match["fd"] or 1)
        redirs[fd] = match["to"] or "nul"
        return ""

    # Spaces around a removed redirection stay: cmd's echo prints them ("echo a 2>&1" writes "a ").
    return _REDIRECT_RE.sub(take, segment), redirs


# --- powershell.exe -------------------------------------------------------------------------

# (full name, smallest unambiguous prefix, takes a value) in the order Windows PowerShell 5.1
# tries them; "e" reaches EncodedCommand because ExecutionPolicy needs "ex".
_PS_SWITCHES: list[tuple[str, str, bool]] = [
    ("help", "h", False),
    ("?", "?", False),
    ("noexit", "noe", False),
    ("importsystemmodules", "imp", False),
    ("noprofile", "nop", False),
    ("nologo", "nol", False),
    ("noninteractive", "noni", False),
    ("socketservermode", "so", False),
    ("servermode", "s", False),
    ("namedpipeservermode", "nam", False),
    ("configurationname", "config", True),
    ("command", "c", False),
    ("windowstyle", "w", True),
    ("file", "f", False),
    ("outputformat", "o", True),
    ("of", "o", True),
    ("inputformat", "i", True),
    ("if", "i", True),
    ("executionpolicy", "ex", True),
    ("ep", "ep", True),
    ("encodedcommand", "e", False),
    ("ec", "e", False),
    ("encodedarguments", "encodeda", True),
    ("ea", "ea", True),
    ("sta", "s", False),
    ("mta", "mta", False),
    ("version", "v", True),
    ("psconsolefile", "psconsolefile", True),
]
_CANONICAL = {
    "of": "outputformat",
    "if": "inputformat",
    "ep": "executionpolicy",
    "ec": "encodedcommand",
    "ea": "encodedarguments",
}


class PowerShellCommandLineError(ValueError):
    """powershell.exe rejected its command line (it prints the message and exits 64)."""


@dataclass
class PowerShellInvocation:
    """What a ``powershell.exe`` command line asks for."""

    switches: dict[str, str | bool] = field(default_factory=dict)
    command: str | None = None  # script text (decoded for -EncodedCommand)
    encoded: bool = False
    file: str | None = None
    command_from_stdin: bool = False

    @property
    def no_profile(self) -> bool:
        return bool(self.switches.get("noprofile"))

    @property
    def non_interactive(self) -> bool:
        return bool(self.switches.get("noninteractive"))

    @property
    def execution_policy(self) -> str | None:
        value = self.switches.get("executionpolicy")
        return value if isinstance(value, str) else None


def _match_switch(key: str, name: str, minimum: str) -> bool:
    return name.startswith(key) and len(key) >= len(minimum)


def parse_powershell_args(args: list[str]) -> PowerShellInvocation:
    """Parse powershell.exe's argv (without the program itself)."""
    inv = PowerShellInvocation()
    i = 0
    while i < len(args):
        raw = args[i].strip()
        if not raw:
            i += 1
            continue
        if raw[0] not in "-/\u2013\u2014\u2015":
            inv.command = " ".join(args[i:])
            return inv
        key = raw[1:].lower()
        if key.startswith(("-", "\u2013", "\u2014", "\u2015")):
            key = key[1:]
        matched = next(
            (
                (name, takes)
                for name, minimum, takes in _PS_SWITCHES
                if key and _match_switch(key, name, minimum)
            ),
            None,
        )
        if matched is None:
            # "The first parameter we fail to recognize marks the beginning of the command".
            inv.command = " ".join(args[i:])
            return inv
        name, takes_value = matched
        name = _CANONICAL.get(name, name)
        if name == "command":
            rest = args[i + 1 :]
            if not rest:
                raise PowerShellCommandLineError("Missing command after -Command.")
            if rest == ["-"]:
                inv.command_from_stdin = True
            else:
                inv.command = " ".join(rest)
            return inv
        if name == "encodedcommand":
            if i + 1 >= len(args):
                raise PowerShellCommandLineError("Missing command after -EncodedCommand.")
            try:
                inv.command = base64.b64decode(args[i + 1], validate=False).decode("utf-16-le")
            except (ValueError, UnicodeDecodeError) as exc:
                raise PowerShellCommandLineError(
                    "Cannot process the command because the value specified with -EncodedCommand is not "
                    "properly encoded. The value must be Base64 encoded."
                ) from exc
            inv.encoded = True
            i += 2
            continue
        if name == "file":
            if i + 1 >= len(args):
                raise PowerShellCommandLineError("Missing file after -File.")
            inv.file = args[i + 1]
            return inv
        if takes_value:
            if i + 1 >= len(args):
                raise PowerShellCommandLineError(f"Missing value after -{name}.")
            inv.switches[name] = args[i + 1]
            i += 2
            continue
        inv.switches[name] = True
        i += 1
    return inv
