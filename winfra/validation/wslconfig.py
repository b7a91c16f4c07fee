""".wslconfig validation by WSL's own parser rules, controller side, before anything touches a host.

WSL skips an unknown key or a malformed line with a warning on stderr and applies the rest
(windows-facts A.8, microsoft/WSL src/shared/configfile/configfile.cpp), so a typo silently
leaves a default in place. winfra refuses such a file instead. Rules (all A.8):

* INI sections and keys, names case-insensitive; ``#`` starts a comment unless quoted; values
  may be quoted (quotes stripped).
* Backslash escapes ``\\\\``, ``\\"``, ``\\b``, ``\\n``, ``\\t`` and a trailing ``\\`` (continuation);
  any other escape (``C:\\Users``) makes WSL ignore the line, so Windows paths need doubled
  backslashes (wsl-config.md).
* Booleans: ``true``/``false``/``1``/``0``, case-insensitive.
* Sizes: an integer plus an optional case-sensitive suffix ``B``, ``K``/``KB``, ``M``/``MB``,
  ``G``/``GB``, ``T``/``TB`` (stringshared.h ParseMemorySize): ``1.5GB`` and ``4gb`` are invalid.
* ``networkingMode``: ``none``, ``nat``, ``bridged``, ``mirrored``, ``virtioproxy``.
* ``experimental.sparseVhd=true`` is refused: WSL force-disables it for potential data
  corruption (WslCoreFilesystem.cpp).
"""

from __future__ import annotations

import difflib
import ipaddress
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

SIZE_RE = re.compile(r"^[0-9]+(B|K|KB|M|MB|G|GB|T|TB)?$")
BOOLEANS = {"true", "false", "1", "0"}
NETWORKING_MODES = ("none", "nat", "bridged", "mirrored", "virtioproxy")
AUTO_MEMORY_RECLAIM = ("disabled", "gradual", "dropCache")
VALID_ESCAPES = {"\\", '"', "b", "n", "t"}


class WslConfigError(ValueError):
    """A .wslconfig setting WSL would ignore or that winfra refuses; the message names the fix."""


@dataclass(frozen=True)
class Problem:
    setting: str  # "wsl2.memory", or "line 3" for a malformed line
    message: str
    fix: str

    def render(self, host: str) -> str:
        return f"{host}: .wslconfig {self.setting}: {self.message}. Fix: {self.fix}"


def _is_int(value: str) -> bool:
    return re.fullmatch(r"[0-9]+", value) is not None


def _check_size(value: str) -> tuple[str, str] | None:
    if SIZE_RE.match(value):
        return None
    return (
        f"invalid memory string {value!r} (WSL accepts an integer and a case-sensitive suffix "
        "B, K, KB, M, MB, G, GB, T, TB; no decimals)",
        "write a whole number with an upper-case suffix, e.g. 4GB or 1536MB",
    )


def _check_bool(value: str) -> tuple[str, str] | None:
    if value.lower() in BOOLEANS:
        return None
    return (f"invalid boolean {value!r}", "use true or false")


def _check_int(value: str) -> tuple[str, str] | None:
    if _is_int(value):
        return None
    return (f"{value!r} is not a non-negative integer", "write a whole number, e.g. 4")


def _check_ms(value: str) -> tuple[str, str] | None:
    if _is_int(value):
        return None
    return (
        f"{value!r} is not a duration in milliseconds",
        "write a whole number of milliseconds, e.g. 60000",
    )


def _check_path(value: str) -> tuple[str, str] | None:
    # The escape rule itself is checked on the raw line; here: an absolute Windows path.
    if re.match(r"^(?:[A-Za-z]:\\|\\\\)", value) or "%" in value:
        return None
    return (f"{value!r} is not an absolute Windows path", "write a full path such as C:\\\\wsl\\\\kernel")


def _check_string(value: str) -> tuple[str, str] | None:
    return None


def _enum(choices: tuple[str, ...]) -> Callable[[str], tuple[str, str] | None]:
    def check(value: str) -> tuple[str, str] | None:
        if value.lower() in {c.lower() for c in choices}:
            return None
        return (f"{value!r} is not one of {', '.join(choices)}", f"use one of {', '.join(choices)}")

    return check


def _check_ipv4(value: str) -> tuple[str, str] | None:
    try:
        ipaddress.IPv4Address(value)
    except ValueError:
        return (f"{value!r} is not an IPv4 address", "write a dotted IPv4 address such as 10.255.255.254")
    return None


def _check_ports(value: str) -> tuple[str, str] | None:
    parts = [p.strip() for p in value.split(",")] if value else []
    if all(_is_int(p) and 0 < int(p) < 65536 for p in parts):
        return None
    return (f"{value!r} is not a comma-separated list of ports", "write ports such as 3000,9000")


def _check_sparse(value: str) -> tuple[str, str] | None:
    bad = _check_bool(value)
    if bad:
        return bad
    if value.lower() in ("true", "1"):
        return (
            "sparse VHDs are refused as unsafe (WSL force-disables them for potential data corruption)",
            "remove experimental.sparseVhd or set it to false",
        )
    return None


Checker = Callable[[str], "tuple[str, str] | None"]

# Known keys with their canonical spelling and type (windows-facts A.8 key table, from
# microsoft/WSL src/windows/common/WslCoreConfig.cpp and MicrosoftDocs/WSL wsl-config.md).
KNOWN_KEYS: dict[str, dict[str, Checker]] = {
    "wsl2": {
        "kernel": _check_path,
        "kernelCommandLine": _check_string,
        "kernelModules": _check_path,
        "memory": _check_size,
        "processors": _check_int,
        "swap": _check_size,
        "swapFile": _check_path,
        "localhostForwarding": _check_bool,
        "nestedVirtualization": _check_bool,
        "vmIdleTimeout": _check_ms,
        "guiApplications": _check_bool,
        "gpuSupport": _check_bool,
        "debugConsole": _check_bool,
        "safeMode": _check_bool,
        "dnsProxy": _check_bool,
        "networkingMode": _enum(NETWORKING_MODES),
        "firewall": _check_bool,
        "dnsTunneling": _check_bool,
        "autoProxy": _check_bool,
        "defaultVhdSize": _check_size,
        "maxCrashDumpCount": _check_int,
        "kernelBootTimeout": _check_ms,
        "distributionStartTimeout": _check_ms,
        "vmSwitch": _check_string,
        "macAddress": _check_string,
        "dhcp": _check_bool,
        "dhcpTimeout": _check_ms,
        "ipv6": _check_bool,
        "hostFileSystemAccess": _check_bool,
        "mountDeviceTimeout": _check_ms,
        "hardwarePerformanceCounters": _check_bool,
        "virtio9p": _check_bool,
        "virtiofs": _check_bool,
        "loadDefaultKernelModules": _check_bool,
        "loadKernelModules": _check_string,
        "isolateDistroCgroup": _check_bool,
        "earlyBootLogging": _check_bool,
        "telemetry": _check_bool,
        "crashDumpFolder": _check_path,
        "systemDistro": _check_path,
        "debugConsoleLogFile": _check_path,
        "kernelDebugPort": _check_int,
    },
    "general": {
        "distributionInstallPath": _check_path,
        "instanceIdleTimeout": _check_ms,
    },
    "experimental": {
        "autoMemoryReclaim": _enum(AUTO_MEMORY_RECLAIM),
        "sparseVhd": _check_sparse,
        "bestEffortDnsParsing": _check_bool,
        "dnsTunnelingIpAddress": _check_ipv4,
        "initialAutoProxyTimeout": _check_ms,
        "ignoredPorts": _check_ports,
        "hostAddressLoopback": _check_bool,
        # Older location of these keys, still read by WSL (A.8).
        "networkingMode": _enum(NETWORKING_MODES),
        "dnsTunneling": _check_bool,
        "firewall": _check_bool,
        "autoProxy": _check_bool,
    },
}
_SECTIONS = {name.lower(): name for name in KNOWN_KEYS}
_KEYS = {section: {k.lower(): k for k in keys} for section, keys in KNOWN_KEYS.items()}
PATH_KEYS = {
    (section, key)
    for section, keys in KNOWN_KEYS.items()
    for key, check in keys.items()
    if check is _check_path
}


def canonical_setting(section: str, key: str) -> tuple[str, str] | None:
    """``(section, key)`` with WSL's canonical spelling, or None when WSL does not know it."""
    sec = _SECTIONS.get(section.lower())
    if sec is None:
        return None
    canon = _KEYS[sec].get(key.lower())
    return (sec, canon) if canon else None


def _unknown_key_problem(section: str, key: str) -> Problem:
    sec = _SECTIONS.get(section.lower())
    if sec is None:
        return Problem(
            f"[{section}]",
            "unknown section (WSL skips it with a warning)",
            f"use one of {', '.join('[' + s + ']' for s in KNOWN_KEYS)}",
        )
    lowered = {k.lower(): k for k in KNOWN_KEYS[sec]}
    close = difflib.get_close_matches(key.lower(), list(lowered), n=1, cutoff=0.7)
    hint = (
        f"did you mean {lowered[close[0]]}?"
        if close
        else f"see the [{sec}] keys in WSL's wsl-config documentation"
    )
    return Problem(f"{sec}.{key}", "unknown key (WSL ignores it with a warning)", hint)


def unescape_value(raw: str) -> tuple[str, str | None]:
    """Apply WSL's value rules to the text after ``=``: quotes, comments, escapes.

    Returns ``(value, error)``; ``error`` names the first invalid escape.
    """
    out: list[str] = []
    in_quotes = False
    i = 0
    text = raw.strip()
    while i < len(text):
        char = text[i]
        if char == '"':
            in_quotes = not in_quotes
            i += 1
            continue
        if char == "#" and not in_quotes:
            break
        if char == "\\":
            if i + 1 >= len(text):
                # Line continuation: legal, nothing follows on this line.
                break
            nxt = text[i + 1]
            if nxt not in VALID_ESCAPES:
                return "".join(out), f"\\{nxt}"
            out.append({"\\": "\\", '"': '"', "b": "\b", "n": "\n", "t": "\t"}[nxt])
            i += 2
            continue
        out.append(char)
        i += 1
    return "".join(out).strip(), None


def escape_value(value: str) -> str:
    """Escape a value for .wslconfig: double backslashes and escape quotes (A.8 template advice)."""
    return value.replace("\\", "\\\\").replace('"', '\\"')


def check_setting(section: str, key: str, value: str) -> Problem | None:
    """Check one (already unescaped) value."""
    canon = canonical_setting(section, key)
    if canon is None:
        return _unknown_key_problem(section, key)
    sec, name = canon
    bad = KNOWN_KEYS[sec][name](value)
    if bad is None:
        return None
    return Problem(f"{sec}.{name}", bad[0], bad[1])


def parse_wslconfig(text: str) -> tuple[dict[str, dict[str, str]], list[Problem]]:
    """Parse .wslconfig text as WSL does: ``({section: {key: value}}, problems)``.

    Section and key names keep WSL's canonical spelling when known, the file's otherwise.
    """
    data: dict[str, dict[str, str]] = {}
    problems: list[Problem] = []
    section: str | None = None
    seen: set[tuple[str, str]] = set()
    for number, line in enumerate(text.lstrip("\ufeff").splitlines(), start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        header = re.fullmatch(r"\[\s*([^\]]*?)\s*\](?:\s*#.*)?", stripped)
        if header:
            name = header.group(1)
            section = _SECTIONS.get(name.lower(), name)
            data.setdefault(section, {})
            if name.lower() not in _SECTIONS:
                problems.append(_unknown_key_problem(name, ""))
            continue
        if "=" not in stripped:
            problems.append(Problem(f"line {number}", f"{stripped!r} is not key=value", "write key=value"))
            continue
        key, raw = stripped.split("=", 1)
        key = key.strip()
        if section is None:
            problems.append(
                Problem(f"line {number}", f"{key} is outside any section", "put it under [wsl2] or [general]")
            )
            continue
        value, bad_escape = unescape_value(raw)
        canon = canonical_setting(section, key)
        setting = f"{canon[0]}.{canon[1]}" if canon else f"{section}.{key}"
        if bad_escape:
            problems.append(
                Problem(
                    setting,
                    f"invalid escape {bad_escape} in '{raw.strip()}' (WSL ignores the whole line)",
                    "double every backslash in Windows paths, e.g. C:\\\\Users\\\\me",
                )
            )
            continue
        if section.lower() not in _SECTIONS:
            continue  # already reported once for the section header
        if canon and (canon[0], canon[1]) in seen:
            problems.append(Problem(setting, "set more than once", "keep one line per setting"))
        problem = check_setting(section, key, value)
        if problem:
            problems.append(problem)
        if canon:
            seen.add(canon)
            data.setdefault(canon[0], {})[canon[1]] = value
        else:
            data.setdefault(section, {})[key] = value
    return data, problems


def format_value(section: str, key: str, value: Any) -> str:
    """A Python value as .wslconfig text: booleans lower case, paths with escaped backslashes."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, (list, tuple)):
        # Lists (experimental.ignoredPorts) are comma-separated, as templates/wslconfig.j2 writes them.
        return ",".join(format_value(section, key, item) for item in value)
    if not isinstance(value, str):
        raise WslConfigError(
            f"{section}.{key}: expected a string, number or boolean, got {type(value).__name__}"
        )
    canon = canonical_setting(section, key)
    if canon in PATH_KEYS or "\\" in value or '"' in value:
        return escape_value(value)
    return value


def normalize_settings(settings: Mapping[str, Mapping[str, Any]] | None) -> dict[str, dict[str, str]]:
    """``settings`` (section -> key -> value) with canonical names and values as .wslconfig text."""
    out: dict[str, dict[str, str]] = {}
    for section, keys in (settings or {}).items():
        if not isinstance(keys, Mapping):
            raise WslConfigError(
                f"[{section}]: expected a mapping of key -> value, got {type(keys).__name__}"
            )
        for key, value in keys.items():
            if value is None:
                continue  # emit only keys that are set (A.8 template advice)
            canon = canonical_setting(str(section), str(key))
            sec, name = canon if canon else (str(section), str(key))
            out.setdefault(sec, {})[name] = format_value(sec, name, value)
    return out


def validate_settings(
    settings: Mapping[str, Mapping[str, Any]] | None, host: str
) -> dict[str, dict[str, str]]:
    """Validate a ``settings`` mapping; return it normalised, or raise one error listing all problems."""
    normalized = normalize_settings(settings)
    problems: list[Problem] = []
    for section, keys in normalized.items():
        for key, text in keys.items():
            value, bad_escape = unescape_value(text)
            if bad_escape:
                problems.append(
                    Problem(f"{section}.{key}", f"invalid escape {bad_escape}", "double backslashes")
                )
                continue
            problem = check_setting(section, key, value)
            if problem:
                problems.append(problem)
    raise_problems(problems, host)
    return normalized


def validate_text(text: str, host: str) -> dict[str, dict[str, str]]:
    """Validate rendered .wslconfig text line by line; return the parsed settings."""
    data, problems = parse_wslconfig(text)
    raise_problems(problems, host)
    return data


def raise_problems(problems: list[Problem], host: str) -> None:
    if problems:
        raise WslConfigError("\n".join(p.render(host) for p in problems))


def render_wslconfig(settings: Mapping[str, Mapping[str, str]]) -> str:
    """Render normalised settings as INI text (used when no template is given)."""
    lines: list[str] = ["# Managed by winfra; changes take effect after `wsl --shutdown`."]
    for section in sorted(settings, key=lambda s: list(KNOWN_KEYS).index(s) if s in KNOWN_KEYS else 99):
        keys = settings[section]
        if not keys:
            continue
        lines.append(f"[{section}]")
        lines.extend(f"{key}={value}" for key, value in keys.items())
    return "\n".join(lines) + "\n"
