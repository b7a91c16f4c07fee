"""Read-only checks of a Windows host through testinfra's ``winrm://`` backend (tests/infra).

testinfra's winrm backend (testing-without-windows.md §e; testinfra/backend/winrm.py) sends every
``host.run()`` as a WinRS command in a fresh shell, which Windows runs through ``cmd.exe``. Its
Windows modules do not help here: ``WindowsService`` sends a bare ``Get-Service ...`` to cmd.exe
(cmd does not know the cmdlet), and ``WindowsFile`` puts ``'%s'`` inside ``\\"...\\"`` while the
backend's ``_quote`` double-quotes any argument with a space or other unsafe character, which
breaks paths such as ``C:\\Program Files\\...``. So these helpers build the command line themselves:

* every PowerShell text runs as ``powershell.exe -NoProfile -NonInteractive -ExecutionPolicy
  Bypass -EncodedCommand <base64 UTF-16LE>`` (:func:`winfra.powershell.wire.command_line`):
  nothing in the script is seen by cmd.exe (no ``%VAR%`` expansion, no quoting rules), and the
  script is Windows PowerShell 5.1 syntax;
* the script starts with winfra's prologue (:data:`winfra.powershell.wire.PROLOGUE`), which sets
  ``[Console]::OutputEncoding`` to UTF-8 so non-ASCII text survives (anchors-and-winrm.md §3.4);
* every value put into a script goes through :func:`winfra.powershell.quoting.ps_quote`;
* structured results come from ``ConvertTo-Json -Compress``. PS 5.1 serialises enums as numbers
  (windows-facts D.1), so enum-valued properties are either mapped from their documented numbers
  (ServiceControllerStatus, ServiceStartMode) or printed by name through ``Select-Object
  -ExpandProperty`` (Out-Default prints an enum's name), never from an undocumented number;
* ``wsl.exe`` output is bytes: UTF-16LE without BOM unless ``WSL_UTF8=1`` with the Store/MSI WSL,
  sometimes CR CR LF (windows-facts A.4); :func:`decode_wsl_output` handles all of them.

Everything here is read-only: it can run against a production host.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from winfra.powershell.quoting import ps_quote
from winfra.powershell.wire import command_line, with_prologue

# System.ServiceProcess.ServiceControllerStatus and ServiceStartMode numbers (documented:
# https://learn.microsoft.com/dotnet/api/system.serviceprocess.servicecontrollerstatus,
# https://learn.microsoft.com/dotnet/api/system.serviceprocess.servicestartmode).
SERVICE_STATUS = {1: "Stopped", 2: "StartPending", 3: "StopPending", 4: "Running", 5: "ContinuePending",
                  6: "PausePending", 7: "Paused"}  # fmt: skip
SERVICE_START_MODE = {0: "Boot", 1: "System", 2: "Automatic", 3: "Manual", 4: "Disabled"}

# Where things live on Windows.
ENGINE_DAEMON_JSON = r"C:\ProgramData\docker\config\daemon.json"  # windows-facts C.4
DESKTOP_UNINSTALL_KEY = r"HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\Uninstall\Docker Desktop"  # B.3
PROFILE_LIST_KEY = r"HKLM:\SOFTWARE\Microsoft\Windows NT\CurrentVersion\ProfileList"
LXSS_SUBKEY = r"Software\Microsoft\Windows\CurrentVersion\Lxss"  # windows-facts A.5 (per user)
# WSL 2.x installs here; call it by path over WinRM (windows-facts A.7, microsoft/WSL#9231).
PACKAGE_WSL_EXE = r"C:\Program Files\WSL\wsl.exe"


class UnexpectedOutput(AssertionError):
    """A command answered, but not in the shape the check needs (stdout/stderr summarised)."""


@dataclass(frozen=True)
class PSResult:
    """One powershell.exe run: exit code, stdout text, and the error stream as plain text."""

    script: str
    rc: int
    stdout: str
    errors: str

    def describe(self) -> str:
        return (
            f"exit code {self.rc}\n--- script ---\n{self.script}\n--- stdout ---\n{self.stdout.strip()}"
            f"\n--- errors ---\n{self.errors.strip()}"
        )


# --------------------------------------------------------------------------------------------
# Running PowerShell through testinfra
# --------------------------------------------------------------------------------------------


def powershell_command(script: str, env: dict[str, str] | None = None) -> str:
    """The WinRS command line that runs ``script`` (with winfra's prologue and ``env``)."""
    return command_line(with_prologue(script, env=env))


def clixml_errors(stderr: str) -> str:
    """The text of the error records in powershell.exe's CLIXML stderr (``#< CLIXML`` then
    ``<S S="Error">`` lines with ``_x000D__x000A_`` escapes), or the text itself when it is not
    CLIXML (anchors-and-winrm.md §3.4)."""
    if "#< CLIXML" not in stderr:
        return stderr
    parts = re.findall(r'<S S="Error">(.*?)</S>', stderr, re.S)
    text = "".join(parts)
    text = re.sub(r"_x([0-9A-Fa-f]{4})_", lambda m: chr(int(m.group(1), 16)), text)
    for entity, char in (("&lt;", "<"), ("&gt;", ">"), ("&quot;", '"'), ("&apos;", "'"), ("&amp;", "&")):
        text = text.replace(entity, char)
    return text


def run_ps(host: Any, script: str, env: dict[str, str] | None = None) -> PSResult:
    """Run a read-only PowerShell script on a testinfra ``host``; never raises for an exit code."""
    result = host.run(powershell_command(script, env))
    stdout = result.stdout_bytes.decode("utf-8", errors="replace")
    stderr = result.stderr_bytes.decode("utf-8", errors="replace")
    return PSResult(script, int(result.rc), stdout, clixml_errors(stderr))


def ps_ok(host: Any, script: str, env: dict[str, str] | None = None) -> PSResult:
    """:func:`run_ps`, asserting exit code 0."""
    res = run_ps(host, script, env)
    if res.rc != 0:
        raise AssertionError(f"PowerShell failed on the host:\n{res.describe()}")
    return res


def ps_json(host: Any, script: str) -> Any:
    """Run ``script`` (which ends in ``ConvertTo-Json``) and parse its output; ``None`` when the
    pipeline produced nothing (ConvertTo-Json writes nothing for no input)."""
    res = ps_ok(host, script)
    text = res.stdout.strip()
    if not text:
        return None
    try:
        return json.loads(text)
    except ValueError:
        raise UnexpectedOutput(f"expected JSON from ConvertTo-Json:\n{res.describe()}") from None


def as_list(value: Any) -> list[Any]:
    """ConvertTo-Json writes one object for one input and an array for several."""
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def ps_lines(host: Any, script: str) -> list[str]:
    """Non-empty stdout lines of a successful run, stripped."""
    return [ln.strip() for ln in ps_ok(host, script).stdout.splitlines() if ln.strip()]


# --------------------------------------------------------------------------------------------
# Services and features
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ServiceState:
    name: str
    status: str
    start_type: str


def _enum_name(value: Any, names: dict[int, str]) -> str:
    if isinstance(value, int) and not isinstance(value, bool):
        return names.get(value, str(value))
    return str(value)


def service(host: Any, name: str) -> ServiceState | None:
    """The service ``name`` (exact name, no wildcards), or None when it does not exist."""
    if any(c in name for c in "*?["):
        raise ValueError(f"service name {name!r}: wildcards are not allowed here")
    data = ps_json(
        host,
        f"Get-Service -Name {ps_quote(name)} -ErrorAction SilentlyContinue"
        " | Select-Object Name,Status,StartType | ConvertTo-Json -Compress",
    )
    items = as_list(data)
    if not items:
        return None
    item = items[0]
    return ServiceState(
        str(item.get("Name")),
        _enum_name(item.get("Status"), SERVICE_STATUS),
        _enum_name(item.get("StartType"), SERVICE_START_MODE),
    )


def optional_feature_state(host: Any, name: str) -> str | None:
    """``State`` of a DISM optional feature by name (``Enabled``, ``Disabled``, ``EnablePending``,
    ...: windows-facts D.1), or None when the name is unknown to this Windows build. Needs an
    elevated connection (DISM)."""
    res = run_ps(
        host,
        f"Get-WindowsOptionalFeature -Online -FeatureName {ps_quote(name)}"
        " | Select-Object -ExpandProperty State",
    )
    lines = [ln.strip() for ln in res.stdout.splitlines() if ln.strip()]
    if res.rc == 0:
        return lines[0] if lines else None
    if "is unknown" in res.errors:
        # Some builds throw "Feature name X is unknown." instead of returning nothing (D.1).
        return None
    raise AssertionError(f"Get-WindowsOptionalFeature failed:\n{res.describe()}")


def server_feature_state(host: Any, name: str) -> str | None:
    """``InstallState`` of a Server role/feature (``Installed``, ``Available``, ``InstallPending``,
    ``Removed``: windows-facts D.3), or None when the name is unknown."""
    lines = ps_lines(
        host, f"Get-WindowsFeature -Name {ps_quote(name)} | Select-Object -ExpandProperty InstallState"
    )
    return lines[0] if lines else None


def os_build(host: Any) -> int | None:
    """``CurrentBuildNumber`` from the registry (a plain REG_SZ; locale independent)."""
    data = ps_json(
        host,
        r"Get-ItemProperty -LiteralPath 'HKLM:\SOFTWARE\Microsoft\Windows NT\CurrentVersion'"
        " | Select-Object CurrentBuildNumber,ProductName | ConvertTo-Json -Compress",
    )
    value = (data or {}).get("CurrentBuildNumber")
    return int(value) if value not in (None, "") else None


# --------------------------------------------------------------------------------------------
# Files and registry
# --------------------------------------------------------------------------------------------


def is_file(host: Any, path: str) -> bool:
    lines = ps_lines(host, f"Test-Path -LiteralPath {ps_quote(path)} -PathType Leaf")
    if lines not in (["True"], ["False"]):
        raise UnexpectedOutput(f"Test-Path printed {lines!r} for {path}")
    return lines == ["True"]


def is_dir(host: Any, path: str) -> bool:
    lines = ps_lines(host, f"Test-Path -LiteralPath {ps_quote(path)} -PathType Container")
    if lines not in (["True"], ["False"]):
        raise UnexpectedOutput(f"Test-Path printed {lines!r} for {path}")
    return lines == ["True"]


def read_text(host: Any, path: str) -> str | None:
    """The text of a UTF-8 file (a BOM is dropped), or None when there is no such file.

    ``-Encoding UTF8`` because Windows PowerShell 5.1 reads BOM-less files as the ANSI code page
    otherwise (about_Character_Encoding)."""
    if not is_file(host, path):
        return None
    res = ps_ok(host, f"Get-Content -LiteralPath {ps_quote(path)} -Raw -Encoding UTF8")
    # Out-Default ends the string with CR LF; the file's own line ends are kept as they are.
    return res.stdout[:-2] if res.stdout.endswith("\r\n") else res.stdout


def head_bytes(host: Any, path: str, count: int = 3) -> bytes:
    """The first ``count`` bytes of a file (PS 5.1 ``Get-Content -Encoding Byte -TotalCount``
    prints one decimal number per byte)."""
    lines = ps_lines(
        host, f"Get-Content -LiteralPath {ps_quote(path)} -Encoding Byte -TotalCount {int(count)}"
    )
    if not all(re.fullmatch(r"\d{1,3}", ln) and int(ln) < 256 for ln in lines) or len(lines) > count:
        raise UnexpectedOutput(
            f"Get-Content -Encoding Byte -TotalCount {count} printed {lines[:5]!r} for {path}, "
            "not byte values"
        )
    return bytes(int(ln) for ln in lines)


def registry_values(host: Any, key: str, names: list[str]) -> dict[str, Any] | None:
    """Selected values of a registry key (missing values are None), or None when the key does
    not exist. ``key`` is a PowerShell path (``HKLM:\\...`` or ``Registry::HKEY_USERS\\...``)."""
    exists = ps_lines(host, f"Test-Path -LiteralPath {ps_quote(key)}")
    if exists != ["True"]:
        if exists != ["False"]:
            raise UnexpectedOutput(f"Test-Path printed {exists!r} for {key}")
        return None
    props = ",".join(names)
    if not re.fullmatch(r"[A-Za-z0-9_,]+", props):
        raise ValueError(f"registry value names {names!r}: letters, digits and _ only")
    data = ps_json(
        host,
        f"Get-ItemProperty -LiteralPath {ps_quote(key)} | Select-Object {props} | ConvertTo-Json -Compress",
    )
    return {n: (data or {}).get(n) for n in names}


# --------------------------------------------------------------------------------------------
# Local users and their profile (per-user state: windows-facts A.5, A.7, A.8, B.5)
# --------------------------------------------------------------------------------------------


def local_user_sid(host: Any, user: str) -> str | None:
    """SID of a local account (``Get-LocalUser``, Microsoft.PowerShell.LocalAccounts, PS 5.1 on
    Windows 10 / Server 2016 and later), or None when there is no such user."""
    res = run_ps(host, f"(Get-LocalUser -Name {ps_quote(user)}).SID.Value")
    lines = [ln.strip() for ln in res.stdout.splitlines() if ln.strip()]
    if res.rc == 0 and len(lines) == 1 and re.fullmatch(r"S-1-[0-9-]+", lines[0]):
        return lines[0]
    if res.rc != 0 and "was not found" in res.errors:  # UserNotFound,...GetLocalUserCommand
        return None
    raise UnexpectedOutput(f"expected a SID from Get-LocalUser:\n{res.describe()}")


def account_sid(host: Any, account: str) -> str | None:
    """SID of ``user``, ``.\\user`` or ``DOMAIN\\user``: local accounts through
    :func:`local_user_sid`, domain accounts through ``NTAccount.Translate`` (which throws
    IdentityNotMappedException for an unknown name:
    https://learn.microsoft.com/dotnet/api/system.security.principal.ntaccount.translate)."""
    domain, _, name = account.rpartition("\\")
    if not domain or domain == ".":
        return local_user_sid(host, name)
    res = run_ps(
        host,
        f"(New-Object System.Security.Principal.NTAccount({ps_quote(domain)}, {ps_quote(name)}))"
        ".Translate([System.Security.Principal.SecurityIdentifier]).Value",
    )
    lines = [ln.strip() for ln in res.stdout.splitlines() if ln.strip()]
    if res.rc == 0 and len(lines) == 1 and re.fullmatch(r"S-1-[0-9-]+", lines[0]):
        return lines[0]
    if "could not be translated" in res.errors:
        return None
    raise UnexpectedOutput(f"expected a SID from NTAccount.Translate:\n{res.describe()}")


def profile_dir(host: Any, sid: str) -> str | None:
    """The user's profile directory from ProfileList (None when they never logged on)."""
    values = registry_values(host, f"{PROFILE_LIST_KEY}\\{sid}", ["ProfileImagePath"])
    path = (values or {}).get("ProfileImagePath")
    return str(path) if path else None


def user_hive_loaded(host: Any, sid: str) -> bool:
    """``HKU\\<SID>`` exists only while the user's hive is loaded (logged on, or a process runs
    as them): windows-facts A.5. Its ``Software`` key is tested: every loaded NTUSER hive has one
    (and the simulator models the hive by its keys, not by an explicit root)."""
    hive = "Registry::HKEY_USERS\\" + sid + "\\Software"
    return ps_lines(host, f"Test-Path -LiteralPath {ps_quote(hive)}") == ["True"]


def lxss_key(sid: str) -> str:
    return f"Registry::HKEY_USERS\\{sid}\\{LXSS_SUBKEY}"


@dataclass(frozen=True)
class WslRegistration:
    """One ``Lxss\\{GUID}`` registration (windows-facts A.5)."""

    guid: str
    name: str
    base_path: str
    vhd_file_name: str
    flags: int | None

    @property
    def wsl_version(self) -> int | None:
        # Flags & 0x8 (VM_MODE) = WSL2; registry "Version" is the filesystem layout (A.5).
        return None if self.flags is None else (2 if self.flags & 0x8 else 1)

    @property
    def normalized_base_path(self) -> str:
        return normalize_windows_path(self.base_path)


def normalize_windows_path(path: str) -> str:
    """Case-folded, backslashes, no ``\\\\?\\`` prefix (BasePath may carry it: A.5), no trailing
    separator."""
    p = path.replace("/", "\\")
    if p.startswith("\\\\?\\"):
        p = p[4:]
    return p.rstrip("\\").lower()


def wsl_registrations(host: Any, sid: str) -> list[WslRegistration]:
    """The user's WSL registrations from ``HKU\\<SID>\\...\\Lxss\\{GUID}`` (read as an admin while
    the hive is loaded; the locale-independent alternative to ``wsl -l``: windows-facts A.5)."""
    key = lxss_key(sid)
    exists = ps_lines(host, f"Test-Path -LiteralPath {ps_quote(key)}")
    if exists == ["False"]:
        return []
    data = ps_json(
        host,
        f"Get-ChildItem -LiteralPath {ps_quote(key)} | Get-ItemProperty"
        " | Select-Object PSChildName,DistributionName,BasePath,VhdFileName,Flags | ConvertTo-Json -Compress",
    )
    out = []
    for item in as_list(data):
        if not isinstance(item, dict) or not item.get("DistributionName"):
            continue  # e.g. the volatile InstallStatus subkey has no registration values
        flags = item.get("Flags")
        out.append(
            WslRegistration(
                str(item.get("PSChildName") or ""),
                str(item["DistributionName"]),
                str(item.get("BasePath") or ""),
                str(item.get("VhdFileName") or "ext4.vhdx"),
                int(flags) if isinstance(flags, int) else None,
            )
        )
    return out


def local_group_members(host: Any, group: str) -> list[str] | None:
    """Names (``COMPUTER\\user`` / ``DOMAIN\\user``) of a local group's members, or None when the
    group does not exist (``Get-LocalGroupMember``, PS 5.1 LocalAccounts module)."""
    res = run_ps(
        host,
        f"Get-LocalGroupMember -Group {ps_quote(group)} | Select-Object Name,ObjectClass"
        " | ConvertTo-Json -Compress",
    )
    if res.rc != 0:
        if "was not found" in res.errors:  # GroupNotFound,...GetLocalGroupMemberCommand
            return None
        raise AssertionError(f"Get-LocalGroupMember failed:\n{res.describe()}")
    text = res.stdout.strip()
    try:
        items = as_list(json.loads(text)) if text else []
    except ValueError:
        raise UnexpectedOutput(f"expected JSON from ConvertTo-Json:\n{res.describe()}") from None
    return [str(i.get("Name")) for i in items if isinstance(i, dict)]


# --------------------------------------------------------------------------------------------
# Docker
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DockerVersion:
    rc: int
    client: dict[str, Any] | None
    server: dict[str, Any] | None
    errors: str


def docker_version(host: Any, docker_exe: str = "docker") -> DockerVersion:
    """``docker version --format '{{json .}}'`` (windows-facts F.6 parser advice). The CLI prints
    the Client block and ``"Server": null`` and exits 1 when the daemon does not answer."""
    res = run_ps(host, f"& {ps_quote(docker_exe)} version --format {ps_quote('{{json .}}')}")
    text = res.stdout.strip()
    doc: dict[str, Any] = {}
    if text:
        try:
            doc = json.loads(text.splitlines()[0])
        except ValueError:
            raise UnexpectedOutput(f"docker version --format did not print JSON:\n{res.describe()}") from None
    return DockerVersion(res.rc, doc.get("Client"), doc.get("Server"), res.errors)


# --------------------------------------------------------------------------------------------
# wsl.exe
# --------------------------------------------------------------------------------------------


def decode_wsl_output(data: bytes) -> str:
    """Text of wsl.exe output bytes (windows-facts A.4): UTF-16LE when NULs sit at odd offsets
    (inbox WSL ignores WSL_UTF8), else UTF-8; a BOM is dropped; CR CR LF and CR LF become LF."""
    if data[:2] in (b"\xff\xfe",):
        data = data[2:]
        text = data.decode("utf-16-le", errors="replace")
    elif len(data) >= 2 and data[1:2] == b"\x00":
        text = data.decode("utf-16-le", errors="replace")
    else:
        text = data.decode("utf-8-sig", errors="replace")
    return re.sub(r"\r*\n", "\n", text)


@dataclass(frozen=True)
class WslListEntry:
    name: str
    state: str
    version: int
    default: bool


def parse_wsl_list_verbose(text: str) -> list[WslListEntry]:
    """Rows of ``wsl -l -v`` (format ``"%s %-<n>s%-16s%s"`` with an English, non-localized header
    and states: windows-facts A.3). Raises :class:`UnexpectedOutput` for anything else."""
    lines = [ln.rstrip() for ln in text.split("\n") if ln.strip()]
    if not lines or not re.fullmatch(r"\s*NAME\s+STATE\s+VERSION", lines[0]):
        raise UnexpectedOutput(f"not `wsl -l -v` output: {text[:200]!r}")
    out = []
    for ln in lines[1:]:
        m = re.fullmatch(r"([* ]) (\S.*?)\s+(\S+)\s+([12])", ln)
        if m is None:
            raise UnexpectedOutput(f"unexpected `wsl -l -v` row: {ln!r}")
        out.append(WslListEntry(m.group(2), m.group(3), int(m.group(4)), m.group(1) == "*"))
    return out


@dataclass(frozen=True)
class WslList:
    rc: int
    text: str
    entries: list[WslListEntry] | None  # None: wsl.exe printed a message instead of the table


def wsl_list_verbose(host: Any, wsl_exe: str = PACKAGE_WSL_EXE) -> WslList:
    """``wsl.exe -l -v`` as the connected user (distros are per user: windows-facts A.7), run
    directly through cmd.exe so the bytes arrive as wsl.exe wrote them."""
    result = host.run(f'"{wsl_exe}" -l -v')
    text = decode_wsl_output(result.stdout_bytes)
    if int(result.rc) == 0:
        return WslList(0, text, parse_wsl_list_verbose(text))
    return WslList(int(result.rc), text, None)


def wsl_package_version(host: Any, wsl_exe: str = PACKAGE_WSL_EXE) -> tuple[int, str | None, str]:
    """``(exit code, WSL version, text)`` of ``wsl.exe --version``. The output is localized, so
    the version is taken by line position (line 1) as the token after the last ``:``; inbox
    WSL rejects ``--version`` (windows-facts A.1, A.3, F.3)."""
    result = host.run(f'"{wsl_exe}" --version')
    text = decode_wsl_output(result.stdout_bytes)
    lines = [ln.strip() for ln in text.split("\n") if ln.strip()]
    version = None
    if int(result.rc) == 0 and lines and ":" in lines[0]:
        version = lines[0].rsplit(":", 1)[1].strip() or None
    return int(result.rc), version, text


# --------------------------------------------------------------------------------------------
# .wslconfig
# --------------------------------------------------------------------------------------------


def parse_wslconfig(text: str) -> dict[str, dict[str, str]]:
    """``.wslconfig`` as ``{section: {key: value}}`` with section and key names lower-cased
    (case-insensitive INI; ``#`` comments outside quotes; quotes stripped: windows-facts A.8)."""
    out: dict[str, dict[str, str]] = {}
    section: str | None = None
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        m = re.fullmatch(r"\[([^\]]+)\]", line)
        if m:
            section = m.group(1).strip().lower()
            out.setdefault(section, {})
            continue
        if "=" not in line or section is None:
            raise UnexpectedOutput(f".wslconfig line outside a section or without '=': {raw!r}")
        key, value = line.split("=", 1)
        value = value.strip()
        if value.startswith('"') and value.endswith('"') and len(value) >= 2:
            value = value[1:-1]
        else:
            value = value.split("#", 1)[0].strip()
        out[section][key.strip().lower()] = value
    return out


_SIZE_UNITS = {"": 1, "B": 1, "K": 1024, "KB": 1024, "M": 1024**2, "MB": 1024**2, "G": 1024**3,
               "GB": 1024**3, "T": 1024**4, "TB": 1024**4}  # fmt: skip


def wslconfig_value_matches(expected: Any, actual: str) -> bool:
    """Whether a ``.wslconfig`` value means ``expected`` the way WSL reads it (A.8): booleans
    true/false/1/0 case-insensitive; sizes compared in bytes (binary multiples, case-sensitive
    suffix); numbers as integers; other strings exactly."""
    if isinstance(expected, bool):
        return actual.lower() in (("true", "1") if expected else ("false", "0"))
    if isinstance(expected, int):
        return actual.strip() == str(expected)
    exp = str(expected)
    size_e = re.fullmatch(r"(\d+)(B|K|KB|M|MB|G|GB|T|TB)?", exp)
    size_a = re.fullmatch(r"(\d+)(B|K|KB|M|MB|G|GB|T|TB)?", actual)
    if size_e and size_a and size_e.group(2):
        want = int(size_e.group(1)) * _SIZE_UNITS[size_e.group(2) or ""]
        return want == int(size_a.group(1)) * _SIZE_UNITS[size_a.group(2) or ""]
    return actual == exp


# --------------------------------------------------------------------------------------------
# Simulator gaps
# --------------------------------------------------------------------------------------------


@contextmanager
def simulator_gap(simulated: bool, need: str) -> Iterator[None]:
    """Run a check that is written for real Windows. On a simulated host, a command the winsim
    interpreter does not model (PowerShell's "is not recognized" error, or output of the wrong
    shape) makes the test xfail naming ``need`` (what the interpreter must add), instead of
    bending the check to the simulator. On a real host every failure stays a failure."""
    try:
        yield
    except AssertionError as exc:
        text = str(exc)
        if simulated and (isinstance(exc, UnexpectedOutput) or "is not recognized as the name of" in text):
            import pytest

            first = next((ln for ln in text.splitlines() if "not recognized" in ln), text.splitlines()[0])
            pytest.xfail(f"winsim interpreter gap: needs {need} ({first.strip()[:160]})")
        raise
