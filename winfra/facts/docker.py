"""Docker facts: Docker Desktop, the native engine, container image compatibility, and the
per-user Docker Desktop daemon configuration files.

``DockerDesktop``, ``DockerEngine`` and ``ContainerCompatibility`` are views of the batched
``get_host_state`` read (one round trip per state change; docs/ARCHITECTURE.md "Facts and the
round-trip budget"). ``DockerUserConfig`` runs its own read script because it reads a user's
profile.

Sources: shared/reference/windows-facts.md B.3 (Desktop version detection), B.4 (docker-users),
C.2 (flags baked into the service's ImagePath), C.4 (daemon.json path, BOM), E (compatibility).
"""

from __future__ import annotations

import re
from typing import Any

from winfra.facts.host import HostStateFact, JsonScriptFact
from winfra.facts.windows import is_server_product
from winfra.powershell.scripts import render_script
from winfra.validation.daemon_json import read_existing


def split_command_line(command_line: str, *, program_name: bool = True) -> list[str]:
    """Split a command line (a service ImagePath) into argv, by the Microsoft C runtime rules
    (https://learn.microsoft.com/cpp/c-language/parsing-c-command-line-arguments).

    Blanks outside quotes separate arguments. The program name (argv[0]; pass
    ``program_name=False`` for a line of arguments only) ends at the closing quote and its
    backslashes are literal. Elsewhere 2n backslashes before a quote give n backslashes and the
    quote toggles quoting; 2n+1 give n backslashes and a literal quote; other backslashes are
    literal.
    """
    text = (command_line or "").strip()
    out: list[str] = []
    cur: list[str] = []
    quoted = False
    has_token = False
    i = 0
    while i < len(text):
        char = text[i]
        if char == "\\" and (out or not program_name):
            end = i
            while end < len(text) and text[end] == "\\":
                end += 1
            count = end - i
            if end < len(text) and text[end] == '"':
                cur.append("\\" * (count // 2))
                if count % 2:
                    cur.append('"')
                    end += 1
            else:
                cur.append("\\" * count)
            has_token = True
            i = end
            continue
        if char == '"':
            quoted = not quoted
            has_token = True
        elif char in " \t" and not quoted:
            if has_token:
                out.append("".join(cur))
                cur, has_token = [], False
        else:
            cur.append(char)
            has_token = True
        i += 1
    if has_token:
        out.append("".join(cur))
    return out


def service_flags(image_path: str) -> tuple[str, list[str]]:
    """(dockerd path, daemon flags baked into the ImagePath) without ``--run-service`` and
    ``--service-name <name>`` (what ``dockerd --register-service`` adds itself: windows-facts C.2)."""
    argv = split_command_line(image_path)
    if not argv:
        return "", []
    flags: list[str] = []
    skip = False
    for arg in argv[1:]:
        if skip:
            skip = False
        elif arg == "--run-service" or arg.startswith("--service-name="):
            continue
        elif arg == "--service-name":
            skip = True
        else:
            flags.append(arg)
    return argv[0], flags


def norm_version(value: Any) -> str | None:
    """X.Y.Z out of a version resource ("27.3.1", "27.3.1.0", "v27.3.1"); None when absent."""
    if not value:
        return None
    match = re.search(r"(\d+\.\d+\.\d+)", str(value))
    return match.group(1) if match else str(value)


class DockerDesktop(HostStateFact[dict]):
    """Docker Desktop on this host.

    Returns ``{"installed", "version", "version_source" ("uninstall_key" | "file_version"),
    "install_dir", "service" ({"status", "start_type"} of com.docker.service or None),
    "users_group" ({"name", "members": ["HOST\\\\user", ...]} or None), "local_groups"}``.
    """

    section = "docker"

    def process_section(self, section: Any) -> dict:
        section = section or {}
        desktop = dict(section.get("desktop") or {})
        version = norm_version(desktop.get("version"))
        return {
            "installed": bool(version),
            "version": version,
            "version_source": desktop.get("version_source"),
            "install_dir": desktop.get("install_dir"),
            "exe_exists": bool(desktop.get("exe_exists")),
            "service": desktop.get("service"),
            "users_group": desktop.get("users_group"),
            "local_groups": list(section.get("local_groups") or []),
        }


class DockerEngine(HostStateFact[dict]):
    """The native Docker engine (Windows Server).

    Returns ``{"installed", "version", "binaries": {path: version}, "services": [{"name",
    "state", "start_mode", "path_name", "binary", "flags", "binary_version"}], "machine_path":
    [...], "config": {"path", "exists", "bom", "content", "sha256", "data", "parse_error"},
    "local_groups"}``. ``version`` is the version of the dockerd.exe the ``docker`` service runs,
    else of ``C:\\Program Files\\Docker\\dockerd.exe``.
    """

    section = "docker"

    def process_section(self, section: Any) -> dict:
        section = section or {}
        engine = dict(section.get("engine") or {})
        binaries = {b["path"]: norm_version(b.get("version")) for b in engine.get("binaries") or []}
        lower = {p.lower(): v for p, v in binaries.items()}
        services = []
        for svc in engine.get("services") or []:
            exe, flags = service_flags(svc.get("path_name") or "")
            services.append(
                {
                    "name": svc.get("name"),
                    "state": svc.get("state"),
                    "start_mode": svc.get("start_mode"),
                    "path_name": svc.get("path_name"),
                    "binary": exe,
                    "flags": flags,
                    "binary_version": lower.get(exe.lower()),
                }
            )
        version = None
        for svc in services:
            if svc["binary_version"]:
                version = svc["binary_version"]
                break
        if version is None:
            version = lower.get(r"c:\program files\docker\dockerd.exe")
        config = dict(engine.get("config") or {})
        data, error = None, None
        if config.get("exists"):
            data, _bom, error = read_existing(config.get("content") or "")
        config["data"] = data
        config["parse_error"] = error
        return {
            "installed": bool(version),
            "version": version,
            "binaries": binaries,
            "services": services,
            "machine_path": [p for p in (engine.get("machine_path") or "").split(";") if p],
            "config": config,
            "local_groups": list(section.get("local_groups") or []),
        }

    @staticmethod
    def service(engine: dict, name: str) -> dict | None:
        """The service called ``name`` in a DockerEngine value; the SCM compares service names without
        case (https://learn.microsoft.com/windows/win32/api/winsvc/nf-winsvc-createservicew)."""
        return next(
            (s for s in engine.get("services") or [] if (s["name"] or "").lower() == name.lower()), None
        )


# -- Windows container image compatibility (windows-facts E) --------------------------------------

# Base-image builds and their tags. nanoserver has no "ltsc2019" tag; its 17763 tag is "1809"
# (https://mcr.microsoft.com/product/windows/nanoserver/tags; hello-world mirrors nanoserver tags).
IMAGE_BUILDS = {26100: "ltsc2025", 20348: "ltsc2022", 17763: "ltsc2019", 14393: "ltsc2016"}
NANOSERVER_TAGS = {"ltsc2025": "ltsc2025", "ltsc2022": "ltsc2022", "ltsc2019": "1809"}
COMPAT_SOURCE = (
    "MicrosoftDocs/Virtualization-Documentation:virtualization/windowscontainers/deploy-containers/"
    "version-compatibility.md (ms.date 2025-01-23), via shared/reference/windows-facts.md E"
)


def compatibility(build: int, is_server: bool) -> list[dict[str, Any]]:
    """Microsoft's table (windows-facts E): which image builds run on this host, and how."""
    rows: dict[int, tuple[bool, bool]] = {}  # image build -> (process, hyperv)
    if is_server:
        if build >= 26100:
            rows = {26100: (True, True), 20348: (True, True), 17763: (False, True), 14393: (False, True)}
        elif build >= 20348:
            rows = {20348: (True, True), 17763: (False, True), 14393: (False, True)}
        elif build >= 17763:
            rows = {17763: (True, True), 14393: (False, True)}
        elif build >= 14393:
            rows = {14393: (True, True)}
    elif build >= 22000:  # Windows 11
        rows = {20348: (True, True), 17763: (False, True), 14393: (False, True)}
        if build >= 26100:  # "only from 24H2"
            rows[26100] = (True, True)
    elif build >= 17763:  # Windows 10 (table: WS2019 and WS2016 images, Hyper-V only)
        rows = {17763: (False, True), 14393: (False, True)}
    out = []
    for img_build in sorted(rows, reverse=True):
        process, hyperv = rows[img_build]
        tag = IMAGE_BUILDS[img_build]
        out.append(
            {
                "tag": tag,
                "build": img_build,
                "process": process,
                "hyperv": hyperv,
                "nanoserver_tag": NANOSERVER_TAGS.get(tag),
            }
        )
    return out


class ContainerCompatibility(HostStateFact[dict]):
    """Which Windows base-image tags this host can run, with which isolation (windows-facts E).

    Returns ``{"build", "is_server", "default_isolation", "images": [{"tag", "build", "process",
    "hyperv", "nanoserver_tag"}], "process_tag", "smoke_test_image", "source"}``.
    ``process_tag`` is the newest tag usable with process isolation (None when none is).
    """

    section = "windows"

    def process_section(self, section: Any) -> dict:
        win = section or {}
        build = int(win.get("build") or 0)
        is_server = is_server_product(win.get("product_type"))
        images = compatibility(build, is_server)
        process_tag = next((i["tag"] for i in images if i["process"] and i["nanoserver_tag"]), None)
        smoke_tag = process_tag or next(
            (i["tag"] for i in images if i["hyperv"] and i["nanoserver_tag"]), None
        )
        return {
            "build": build,
            "is_server": is_server,
            # windows-facts E: Server defaults to process isolation, Windows 10/11 to hyperv.
            "default_isolation": "process" if is_server else "hyperv",
            "images": images,
            "process_tag": process_tag,
            "smoke_test_image": f"hello-world:nanoserver-{NANOSERVER_TAGS[smoke_tag]}" if smoke_tag else None,
            "source": COMPAT_SOURCE,
        }


# -- per-user Docker Desktop config files ----------------------------------------------------------


class DockerUserConfig(JsonScriptFact[dict]):
    """A user's Docker Desktop daemon file: ``%USERPROFILE%\\.docker\\daemon.json`` (Linux
    engine) or ``windows-daemon.json`` (Windows containers) (windows-facts B.5).

    Returns ``{"user", "profile", "path", "exists", "bom", "content", "sha256"}``; ``profile``
    is None when the user has never logged on (no profile directory yet).
    """

    def command(self, user: str, file_name: str) -> str:
        return render_script("docker_user_config", {"user": user, "file_name": file_name})


class DockerDesktopSettings(JsonScriptFact[dict]):
    """Where a user's Docker Desktop keeps its WSL data (windows-facts B.5, B.6).

    Returns ``{"user", "profile", "settings_path", "settings_exists", "custom_dir"
    (customWslDistroDir or None), "settings_error", "data_dir", "data_vhdx", "data_exists"}``.
    """

    def command(self, user: str) -> str:
        return render_script("docker_desktop_settings", {"user": user})


class DockerDesktopEngine(JsonScriptFact[dict]):
    """The engine the target user's running Docker Desktop serves (windows-facts B.6, B.8).

    Run as that user (``_su_user``). Returns ``{"running": bool, "os_type": "linux" | "windows"
    | None, "error": text or None}``; ``running`` is False when Desktop is not running in their
    session.
    """

    def command(self, docker: str) -> str:
        return render_script("docker_desktop_engine_state", {"docker": docker})


class DockerVersion(JsonScriptFact[dict]):
    """``docker version --format '{{json .}}'`` from a given docker.exe (windows-facts F.6: parse
    the JSON, not the text).

    Returns ``{"exists": bool, "exit_code": int | None, "version": {"Client": {...}, "Server":
    {...} | None} | None, "error": stderr text or None}``. A read: the connector caches it for the
    run, so verifying a converged host costs no state change.
    """

    def command(self, docker: str) -> str:
        return render_script("docker_version", {"docker": docker})
