"""Host data -> validated settings for ``deploys/docker_host.py`` (pure Python, no pyinfra state).

Every setting the Docker-host deploy reads comes from pyinfra host data (inventory host data,
group data, ``--data``), has a documented default here, and is checked BEFORE the deploy touches
any host: a missing sha256, a target user without a password, a Linux-only daemon key or a bad
relocation path is a :class:`SettingsError` naming the host, the host-data key and the fix.

All problems of a host are collected and reported together, so one run shows every fix to make.
Secret values (``winfra_user_password``) never appear in messages or in ``repr()``.

The reference table of these keys is in README.md ("Inventory data reference"); keep
the two in sync.
"""

from __future__ import annotations

import difflib
import functools
import json
import re
import weakref
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from pyinfra.api import HiddenValue

Role = Literal["devbox", "container_host"]
ROLES: tuple[str, ...] = ("devbox", "container_host")

# Groups that imply a role when ``winfra_role`` is not set (inventories/lab.py, inventories/sim.py).
ROLE_GROUPS: dict[str, str] = {"devboxes": "devbox", "container_hosts": "container_host"}

# Placeholder for a sha256 the simulator computes from its synthetic artifacts. Accepted only for
# simulated (@winsim/...) hosts; the lead resolves it to the real digest before any download.
SIM_AUTO_SHA256 = "winsim:auto"

# Docker Desktop's "latest" download (windows-facts.md B.1). Pinning a version means pinning the
# sha256 too; with this URL the check fails loudly as soon as Docker publishes a newer build,
# which is the safe failure. Use the versioned URL (.../amd64/<build>/Docker%20Desktop%20Installer.exe)
# for a stable pin.
DEFAULT_DESKTOP_URL = "https://desktop.docker.com/win/main/amd64/Docker%20Desktop%20Installer.exe"
# Static engine zips (windows-facts.md C.2, docker/docs engine/install/binaries.md).
ENGINE_URL_PATTERN = "https://download.docker.com/win/static/stable/x86_64/docker-{version}.zip"
# Where the static zip's docker\ folder is expanded (binaries.md: Expand-Archive -> $Env:ProgramFiles).
DEFAULT_ENGINE_INSTALL_DIR = r"C:\Program Files\Docker"
# Templates the deploy renders (relative to the working directory or the repository root).
DAEMON_TEMPLATE = "templates/daemon.json.j2"
WSLCONFIG_TEMPLATE = "templates/wslconfig.j2"
# Docker Desktop's own group; its installer creates it and its pipe admits it (windows-facts.md B.4).
DESKTOP_GROUP = "docker-users"

DESKTOP_BACKENDS = ("wsl-2", "hyper-v")  # installer --backend values (windows-facts.md B.1)
ISOLATIONS = ("process", "hyperv")  # windows-facts.md E
REBOOT_POLICIES = ("auto", "never")

# Keys this module owns. Unknown keys with one of the prefixes below are reported as typos.
KNOWN_KEYS: frozenset[str] = frozenset(
    {
        "winfra_role",
        "winfra_user",
        "winfra_user_password",
        "wsl_msi_url",
        "wsl_msi_sha256",
        "wsl_version",
        "wsl_settings",
        "wsl_distros",
        "wsl_relocations",
        "docker_desktop_version",
        "docker_desktop_url",
        "docker_desktop_sha256",
        "docker_desktop_backend",
        "docker_engine_version",
        "docker_engine_url",
        "docker_engine_sha256",
        "docker_engine_install_dir",
        "docker_daemon_config",
        "docker_group",
        "docker_group_members",
        "docker_isolation",
        "docker_smoke_test",
        "docker_smoke_test_image",
        "reboot_policy",
        "reboot_batch",
        "reboot_timeout_sec",
    }
)
CHECKED_PREFIXES: tuple[str, ...] = ("winfra_", "wsl_", "docker_", "reboot_")

_SHA256 = re.compile(r"^[0-9a-fA-F]{64}$")
_VERSION = re.compile(r"^\d+(\.\d+){1,3}$")
# Docker Desktop and engine pins: exactly X.Y.Z, as winfra.operations.docker requires
# (``_check_version``: a floating or partial version makes runs unrepeatable).
_DOCKER_VERSION = re.compile(r"^\d+\.\d+\.\d+$")
# An absolute local Windows path: drive letter, colon, backslash. WSL relocation targets and the
# engine directory must be local (a VHDX cannot live on a UNC share: windows-facts.md A.6).
_WINDOWS_ABS = re.compile(r"^[A-Za-z]:\\")
# Local account names: no "/\[]:;|=,+*?<>@ (learn.microsoft.com "User name" rules); we allow
# DOMAIN\user and .\user forms, so the backslash is handled separately.
_ACCOUNT_PART = re.compile(r'^[^"/\\\[\]:;|=,+*?<>@]+$')


class SettingsError(ValueError):
    """Host data that the Docker-host deploy cannot use. ``problems`` lists every finding."""

    def __init__(self, host_name: str, problems: list[str]) -> None:
        self.host_name = host_name
        self.problems = list(problems)
        lines = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(f"{host_name}: {len(self.problems)} problem(s) in host data:\n{lines}")


@dataclass(frozen=True)
class DockerHostSettings:
    """Validated settings of one host. Field comments give the host-data key and default."""

    host_name: str
    role: Role  # winfra_role; default from group devboxes/container_hosts
    # Target user of per-user work (WSL, .wslconfig, Docker Desktop). winfra_user; default: winrm_user.
    user: str | None
    # winfra_user_password; required only when user differs from the connection user (runas).
    user_password: str | None = field(repr=False, compare=False)
    connection_user: str | None = None  # winrm_user (read only, to decide whether runas is needed)
    # WSL (dev boxes). No MSI URL: `wsl --install --no-distribution` (windows-facts.md A.1).
    wsl_msi_url: str | None = None  # wsl_msi_url
    wsl_msi_sha256: str | None = None  # wsl_msi_sha256, required with wsl_msi_url
    wsl_version: str | None = None  # wsl_version: expected `wsl --version` WSL version
    wsl_settings: dict[str, dict[str, Any]] = field(default_factory=dict)  # wsl_settings
    wsl_distros: tuple[str, ...] = ()  # wsl_distros: distros to install (wsl --install -d)
    wsl_relocations: dict[str, str] = field(default_factory=dict)  # wsl_relocations {distro: dir}
    # Docker Desktop (dev boxes).
    desktop_version: str | None = None  # docker_desktop_version (expected DisplayVersion)
    desktop_url: str = DEFAULT_DESKTOP_URL  # docker_desktop_url
    desktop_sha256: str | None = None  # docker_desktop_sha256 (required on dev boxes)
    desktop_backend: str = "wsl-2"  # docker_desktop_backend: wsl-2 | hyper-v
    # Native engine (container hosts).
    engine_version: str | None = None  # docker_engine_version (required on container hosts)
    engine_url: str | None = None  # docker_engine_url; default ENGINE_URL_PATTERN
    engine_sha256: str | None = None  # docker_engine_sha256 (required on container hosts)
    engine_install_dir: str = DEFAULT_ENGINE_INSTALL_DIR  # docker_engine_install_dir
    # daemon.json
    daemon_config: dict[str, Any] = field(default_factory=dict)  # docker_daemon_config
    docker_group: str | None = None  # docker_group; container hosts: docker-users; "" = none
    docker_group_members: tuple[str, ...] = ()  # docker_group_members
    isolation: str | None = None  # docker_isolation; container hosts: process
    # Reboots and verification.
    reboot_policy: str = "auto"  # reboot_policy: auto (at most one reboot) | never
    reboot_batch: int = 0  # reboot_batch: hosts rebooting at once, 0 = no limit
    reboot_timeout_sec: int = 900  # reboot_timeout_sec
    smoke_test: bool = False  # docker_smoke_test
    smoke_test_image: str | None = None  # docker_smoke_test_image; None = pick from host build
    sim_placeholders: tuple[str, ...] = ()  # keys holding SIM_AUTO_SHA256, for the lead to resolve

    @property
    def needs_runas(self) -> bool:
        """True when per-user work must run as another user (scheduled task, winfra.runas)."""
        return self.user is not None and not same_account(self.user, self.connection_user)

    @property
    def features(self) -> tuple[str, ...]:
        """Feature names for ``winfra.operations.windows.feature`` (it maps them per platform).

        Dev box, WSL2 backend: ``wsl`` (VirtualMachinePlatform, plus the WSL component before
        Windows 11, as ``wsl --install`` does: windows-facts.md A.1, D.2). Hyper-V backend:
        ``hyper-v`` and ``containers`` (B.7). Container host: ``containers``, plus ``hyper-v``
        (the Server role) for hyperv isolation (C.3).
        """
        if self.role == "devbox":
            return ("hyper-v", "containers") if self.desktop_backend == "hyper-v" else ("wsl",)
        return ("containers", "hyper-v") if self.isolation == "hyperv" else ("containers",)

    @property
    def daemon_defaults(self) -> dict[str, Any]:
        """Values templates/daemon.json.j2 uses where docker_daemon_config does not set the key."""
        defaults: dict[str, Any] = {}
        if self.role == "container_host":
            if self.docker_group:
                defaults["group"] = self.docker_group
            if self.isolation:
                defaults["exec-opts"] = [f"isolation={self.isolation}"]
        return defaults

    @property
    def effective_engine_url(self) -> str | None:
        if self.engine_url:
            return self.engine_url
        if self.engine_version:
            return ENGINE_URL_PATTERN.format(version=self.engine_version)
        return None


def same_account(a: str | None, b: str | None) -> bool:
    """Whether two account names denote the same local account: case-insensitive, ``.\\`` ignored.

    ``HOST\\alice`` and ``alice`` are NOT treated as equal: a domain account and a local one with
    the same short name are different principals.
    """
    if a is None or b is None:
        return False

    def norm(name: str) -> str:
        name = name.strip()
        if name.startswith(".\\"):
            name = name[2:]
        return name.casefold()

    return norm(a) == norm(b)


def _is_sim_host(host_name: str) -> bool:
    return host_name.startswith("@winsim/")


class _Checker:
    """Collects problems for one host; every message names the key and the fix."""

    def __init__(self, host_name: str, data: Mapping[str, Any]) -> None:
        self.host_name = host_name
        self.data = data
        self.problems: list[str] = []
        self.placeholders: list[str] = []

    def problem(self, key: str, what: str, fix: str) -> None:
        self.problems.append(f"host data '{key}': {what}. Fix: {fix}")

    def get(self, key: str, default: Any = None) -> Any:
        value = self.data.get(key, default)
        return default if value is None else value

    def string(self, key: str, default: str | None = None) -> str | None:
        value = self.get(key, default)
        if value is None:
            return None
        if not isinstance(value, str):
            self.problem(key, f"expected a string, got {type(value).__name__}", f"set {key} to a string")
            return default
        return value

    def choice(self, key: str, choices: Iterable[str], default: str | None) -> str | None:
        value = self.string(key, default)
        choices = tuple(choices)
        if value is not None and value not in choices:
            self.problem(key, f"{value!r} is not one of {', '.join(choices)}", f"set {key} to one of them")
            return default
        return value

    def integer(self, key: str, default: int, minimum: int) -> int:
        value = self.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int):
            self.problem(key, f"expected an integer, got {value!r}", f"set {key} to an integer >= {minimum}")
            return default
        if value < minimum:
            self.problem(key, f"{value} is below {minimum}", f"set {key} to an integer >= {minimum}")
            return default
        return value

    def boolean(self, key: str, default: bool) -> bool:
        value = self.get(key, default)
        if not isinstance(value, bool):
            self.problem(key, f"expected true or false, got {value!r}", f"set {key} to True or False")
            return default
        return value

    def version(self, key: str, pattern: re.Pattern[str] = _VERSION, example: str = "2.3.26.0") -> str | None:
        value = self.string(key)
        if value is not None and not pattern.match(value.strip()):
            self.problem(
                key, f"{value!r} is not a pinned version like {example}", f"set {key} to e.g. '{example}'"
            )
            return None
        return value.strip() if value is not None else None

    def sha256(self, key: str, required_because: str | None) -> str | None:
        value = self.string(key)
        if value is None:
            if required_because:
                self.problem(
                    key,
                    f"missing; it is required because {required_because}",
                    f"set {key} to the 64-hex-digit sha256 of the exact file (e.g. from the release notes, "
                    "or `Get-FileHash -Algorithm SHA256` on a trusted copy)",
                )
            return None
        if value == SIM_AUTO_SHA256:
            if _is_sim_host(self.host_name):
                self.placeholders.append(key)
                return value
            self.problem(
                key,
                f"{SIM_AUTO_SHA256!r} is a placeholder for simulated hosts only",
                f"set {key} to the real sha256 of the file",
            )
            return None
        if not _SHA256.match(value):
            self.problem(key, f"{value!r} is not a sha256 (64 hex digits)", f"set {key} to the file's sha256")
            return None
        return value.lower()

    def url(self, key: str, default: str | None = None) -> str | None:
        value = self.string(key, default)
        if (
            value is not None
            and not value.startswith(("https://", "http://", "file://"))
            and not (_is_sim_host(self.host_name) and value.startswith("winsim:"))
        ):
            self.problem(key, f"{value!r} is not an http(s) or file URL", f"set {key} to a download URL")
            return default
        return value

    def windows_path(self, key: str, value: Any, label: str) -> str | None:
        if not isinstance(value, str) or not _WINDOWS_ABS.match(value):
            self.problem(
                key,
                f"{label} {value!r} is not an absolute local Windows path",
                "use a path like D:\\WSL\\Ubuntu (a drive letter, a colon, a backslash)",
            )
            return None
        if any(ch in value for ch in '"<>|?*') or ":" in value[2:]:
            self.problem(
                key,
                f"{label} {value!r} contains characters Windows does not allow in paths",
                'remove " < > | ? * and extra colons',
            )
            return None
        return value.rstrip("\\") if len(value) > 3 else value

    def account(self, key: str, value: str) -> bool:
        parts = value.split("\\")
        if len(parts) > 2 or not all(parts) or not all(_ACCOUNT_PART.match(p) for p in parts):
            self.problem(
                key, f"{value!r} is not a valid account name", "use 'user', '.\\user' or 'DOMAIN\\user'"
            )
            return False
        return True


def _role(check: _Checker, groups: Iterable[str]) -> Role | None:
    explicit = check.choice("winfra_role", ROLES, None)
    if explicit is not None:
        return explicit  # type: ignore[return-value]
    implied = sorted({ROLE_GROUPS[g] for g in groups if g in ROLE_GROUPS})
    if len(implied) == 1:
        return implied[0]  # type: ignore[return-value]
    if len(implied) > 1:
        check.problem(
            "winfra_role",
            "the host is in both the devboxes and container_hosts groups",
            "set winfra_role to devbox or container_host for this host",
        )
    elif check.data.get("winfra_role") is None:
        check.problem(
            "winfra_role",
            "missing and the host is in neither the devboxes nor the container_hosts group",
            "set winfra_role: devbox or winfra_role: container_host, or put the host in one of those groups",
        )
    return None


def _wsl_settings(check: _Checker) -> dict[str, dict[str, Any]]:
    raw = check.get("wsl_settings", {})
    if not isinstance(raw, Mapping):
        check.problem(
            "wsl_settings",
            f"expected a mapping section -> key -> value, got {type(raw).__name__}",
            "write it as {'wsl2': {'memory': '8GB'}}",
        )
        return {}
    result: dict[str, dict[str, Any]] = {}
    for section, keys in raw.items():
        if not isinstance(section, str) or not isinstance(keys, Mapping):
            check.problem(
                "wsl_settings",
                f"section {section!r} must map to a mapping of key -> value",
                "write it as {'wsl2': {'memory': '8GB'}}",
            )
            continue
        clean: dict[str, Any] = {}
        for key, value in keys.items():
            if not isinstance(key, str) or not key or "=" in key or "\n" in key:
                check.problem(
                    "wsl_settings",
                    f"[{section}] key {key!r} is not a valid .wslconfig key",
                    "use the key names from wsl-config.md, e.g. memory, processors",
                )
                continue
            if value is not None and not isinstance(value, (str, int, float, list, tuple)):
                check.problem(
                    "wsl_settings",
                    f"[{section}] {key} has a value of type {type(value).__name__}",
                    "use a string, number, boolean or list",
                )
                continue
            clean[key] = list(value) if isinstance(value, tuple) else value
        result[section] = clean
    return result


def _check_wslconfig(check: _Checker, settings: dict[str, dict[str, Any]]) -> None:
    """WSL's own parser rules (winfra.validation.wslconfig), as ``wsl.config`` applies them."""
    from winfra.validation.wslconfig import WslConfigError, validate_settings

    try:
        validate_settings(settings, check.host_name)
    except WslConfigError as exc:
        for line in str(exc).splitlines():
            check.problem(
                "wsl_settings", line.removeprefix(f"{check.host_name}: ").strip(), "see wsl-config.md"
            )


def _relocations(check: _Checker) -> dict[str, str]:
    raw = check.get("wsl_relocations", {})
    if not isinstance(raw, Mapping):
        check.problem(
            "wsl_relocations",
            f"expected a mapping distro -> directory, got {type(raw).__name__}",
            "write it as {'Ubuntu': 'D:\\\\WSL\\\\Ubuntu'}",
        )
        return {}
    result: dict[str, str] = {}
    seen: dict[str, str] = {}
    for distro, location in raw.items():
        if not isinstance(distro, str) or not distro.strip():
            check.problem(
                "wsl_relocations", f"distro name {distro!r} is empty or not a string", "name the distro"
            )
            continue
        if distro.casefold().startswith("docker-desktop"):
            # Moving Docker Desktop's own distros by export/import breaks Desktop (windows-facts.md B.6).
            check.problem(
                "wsl_relocations",
                f"{distro!r} belongs to Docker Desktop and must not be moved with wsl --manage/--import",
                "remove it; move Desktop's data with the Desktop setting customWslDistroDir instead",
            )
            continue
        path = check.windows_path("wsl_relocations", location, f"location of {distro!r}")
        if path is None:
            continue
        if re.fullmatch(r"[A-Za-z]:\\?", path) or any(p in (".", "..") for p in path.split("\\")):
            # A bare drive fails in wsl ("Failed to attach disk E:ext4.vhdx", microsoft/WSL#449,
            # as winfra.operations.wsl.check_location notes); . and .. make the target ambiguous.
            check.problem(
                "wsl_relocations",
                f"location of {distro!r} {location!r} is a bare drive or contains . or ..",
                f"use a directory such as {path[:2]}\\WSL\\{distro}",
            )
            continue
        other = seen.get(path.casefold())
        if other is not None:
            check.problem(
                "wsl_relocations",
                f"{distro!r} and {other!r} both go to {path!r}",
                "give each distro its own directory",
            )
            continue
        seen[path.casefold()] = distro
        result[distro] = path
    return result


def _daemon_config(check: _Checker) -> dict[str, Any]:
    raw = check.get("docker_daemon_config", {})
    if not isinstance(raw, Mapping):
        check.problem(
            "docker_daemon_config",
            f"expected a mapping of daemon.json keys, got {type(raw).__name__}",
            "write it as {'log-level': 'info'}",
        )
        return {}
    return {str(k): v for k, v in raw.items()}


@functools.lru_cache(maxsize=64)
def _render_daemon_json(config_json: str, defaults_json: str) -> str:
    from winfra.validation.daemon_json import render

    return render(DAEMON_TEMPLATE, json.loads(config_json), json.loads(defaults_json))


def _check_daemon_json(check: _Checker, settings: DockerHostSettings) -> None:
    """Render templates/daemon.json.j2 and validate it as far as the controller can.

    The host-independent checks of ``winfra.validation.daemon_json`` (unknown and Linux-only keys,
    value types, data-root shape) run here so that a bad ``docker_daemon_config`` stops this host
    before any change; the host-dependent ones (build, existing groups, the service's flags) run
    again in ``docker.daemon_config`` with the host's facts.
    """
    if settings.role == "devbox" and not settings.daemon_config:
        return  # dev boxes: the file is managed only when docker_daemon_config is set
    from winfra.validation.daemon_json import DaemonJsonContext, DaemonJsonError, validate

    try:
        # Hosts of a fleet usually share one config: render it once (jinja2 compiles per call).
        text = _render_daemon_json(
            json.dumps(settings.daemon_config, sort_keys=True),
            json.dumps(settings.daemon_defaults, sort_keys=True),
        )
    except Exception as exc:  # jinja2 or JSON errors from a value the template cannot render
        check.problem("docker_daemon_config", f"{DAEMON_TEMPLATE} does not render: {exc}", "fix the value")
        return
    ctx = DaemonJsonContext(
        host=check.host_name,
        target="engine" if settings.role == "container_host" else "desktop",
        is_server=settings.role == "container_host" or None,
        local_groups=None,
        create_group=True,
    )
    try:
        validate(text, ctx)
    except DaemonJsonError as exc:
        for problem in exc.problems:
            check.problem("docker_daemon_config", problem, "change or remove that key")


def _string_list(check: _Checker, key: str) -> tuple[str, ...]:
    raw = check.get(key, [])
    if isinstance(raw, str) or not isinstance(raw, (list, tuple)) or not all(isinstance(x, str) for x in raw):
        check.problem(
            key, f"expected a list of strings, got {raw!r}", f"write {key} as a list, e.g. ['Ubuntu']"
        )
        return ()
    return tuple(raw)


def _unknown_keys(check: _Checker) -> None:
    for key in check.data:
        if isinstance(key, str) and key.startswith(CHECKED_PREFIXES) and key not in KNOWN_KEYS:
            close = difflib.get_close_matches(key, sorted(KNOWN_KEYS), n=1)
            hint = f"did you mean {close[0]}?" if close else "see README.md for the known keys"
            check.problem(key, "unknown setting", hint)


def role_for(data: Mapping[str, Any], groups: Iterable[str] = ()) -> str | None:
    """The host's role without validating anything else (None when unset or ambiguous).

    Cheap enough to call for every host of a large inventory (the deploy does, per host, to find
    the ``reboot_batch`` of a role).
    """
    explicit = data.get("winfra_role")
    if explicit is not None:
        return explicit if explicit in ROLES else None
    implied = {ROLE_GROUPS[g] for g in groups if g in ROLE_GROUPS}
    return implied.pop() if len(implied) == 1 else None


def settings_for(host_name: str, data: Mapping[str, Any], groups: Iterable[str] = ()) -> DockerHostSettings:
    """Validate one host's data and return its settings, or raise :class:`SettingsError`.

    + host_name: the pyinfra host name (``@winrm/dev1.example.lab``, ``@winsim/devbox11``)
    + data: the host's data as a mapping (``host.data.dict()`` or a plain dict)
    + groups: the host's inventory groups; ``devboxes``/``container_hosts`` imply the role

    Example::

        settings = settings_for(host.name, host.data.dict(), host.groups)
        if settings.role == "devbox": ...
    """
    check = _Checker(host_name, data)
    _unknown_keys(check)
    role = _role(check, groups)

    connection_user = check.string("winrm_user")
    user = check.string("winfra_user", connection_user)
    if user is not None and not check.account("winfra_user", user):
        user = None
    password = data.get("winfra_user_password")
    if password is not None and not isinstance(password, (str, HiddenValue)):
        # Never echo the value: it is a secret.
        check.problem("winfra_user_password", "expected a string", "set it from an environment variable")
        password = None

    isolation = check.choice("docker_isolation", ISOLATIONS, "process" if role == "container_host" else None)
    desktop_backend = check.choice("docker_desktop_backend", DESKTOP_BACKENDS, "wsl-2") or "wsl-2"
    wsl_settings = _wsl_settings(check)
    if wsl_settings:
        _check_wslconfig(check, wsl_settings)
    relocations = _relocations(check)
    distros = _string_list(check, "wsl_distros")
    if distros:
        # winfra.operations.wsl has no operation that installs a distro (only installed, config,
        # distro_version, distro_location), so the deploy cannot honour this key.
        check.problem(
            "wsl_distros",
            f"installing distros ({', '.join(distros)}) is not supported yet",
            "remove wsl_distros; install a distro as the target user (wsl --install -d Ubuntu) and list "
            "it in wsl_relocations to move it",
        )
        distros = ()
    group_members = _string_list(check, "docker_group_members")
    wsl_msi_url = check.url("wsl_msi_url")
    wsl_msi_sha256 = check.sha256("wsl_msi_sha256", "wsl_msi_url is set" if wsl_msi_url else None)
    desktop_url = check.url("docker_desktop_url", DEFAULT_DESKTOP_URL) or DEFAULT_DESKTOP_URL
    engine_version = check.version("docker_engine_version", _DOCKER_VERSION, "27.5.1")
    desktop_version = check.version("docker_desktop_version", _DOCKER_VERSION, "4.37.1")
    engine_url = check.url("docker_engine_url")
    engine_dir = check.get("docker_engine_install_dir", DEFAULT_ENGINE_INSTALL_DIR)
    engine_dir = (
        check.windows_path("docker_engine_install_dir", engine_dir, "directory") or DEFAULT_ENGINE_INSTALL_DIR
    )

    desktop_sha256: str | None = None
    engine_sha256: str | None = None
    if role == "devbox":
        desktop_sha256 = check.sha256(
            "docker_desktop_sha256", "dev boxes install Docker Desktop from a download"
        )
        if desktop_version is None and data.get("docker_desktop_version") is None:
            check.problem(
                "docker_desktop_version",
                "missing; dev boxes pin the Docker Desktop version the installer contains",
                "set docker_desktop_version, e.g. '4.37.1' (Docker Desktop release notes)",
            )
        if user is None:
            check.problem(
                "winfra_user",
                "missing (and winrm_user is not set either); WSL, .wslconfig and Docker Desktop are per user",
                "set winfra_user to the account that will use Docker on this dev box",
            )
        elif not same_account(user, connection_user) and not password:
            check.problem(
                "winfra_user_password",
                f"missing; the target user {user!r} differs from the connection user "
                f"{connection_user!r}, so per-user steps run as {user!r} through a scheduled task",
                "export the password in an environment variable and read it in the inventory "
                "(see inventories/lab.py), or set winfra_user to the connection user",
            )
    elif role == "container_host":
        if engine_version is None and data.get("docker_engine_version") is None:
            check.problem(
                "docker_engine_version",
                "missing; container hosts pin the engine version",
                "set docker_engine_version, e.g. '27.5.1' (see https://download.docker.com/win/static/stable/x86_64/)",
            )
        engine_sha256 = check.sha256("docker_engine_sha256", "container hosts install the engine from a zip")
        if group_members:
            # winfra.operations.docker has no operation that adds members to a local group on a
            # container host yet (docker.desktop does it for docker-users on dev boxes only).
            check.problem(
                "docker_group_members",
                "adding accounts to docker_group is not supported on container hosts yet",
                "remove it and add the accounts yourself (Add-LocalGroupMember -Group docker-users "
                "-Member <account>), or connect as an administrator",
            )
        for key in ("wsl_settings", "wsl_relocations", "docker_desktop_sha256", "docker_desktop_version"):
            if data.get(key):
                check.problem(
                    key,
                    "set on a container host, where it is not used (WSL and Docker Desktop "
                    "are dev-box settings)",
                    f"remove {key} or set winfra_role: devbox",
                )

    docker_group_raw = data.get("docker_group")
    if role == "devbox" and docker_group_raw not in (None, "", DESKTOP_GROUP):
        check.problem(
            "docker_group",
            f"{docker_group_raw!r} on a dev box: Docker Desktop always uses its own {DESKTOP_GROUP!r} group",
            "remove docker_group for dev boxes (docker_group_members are added to docker-users)",
        )
    if docker_group_raw is None or role == "devbox":
        docker_group = DESKTOP_GROUP if role == "container_host" else None
    elif isinstance(docker_group_raw, str):
        docker_group = docker_group_raw or None
        if docker_group is not None:
            check.account("docker_group", docker_group)
    else:
        check.problem(
            "docker_group", f"expected a group name, got {docker_group_raw!r}", "set docker_group to a string"
        )
        docker_group = None

    settings = DockerHostSettings(
        host_name=host_name,
        role=role or "devbox",
        user=user,
        user_password=password,
        connection_user=connection_user,
        wsl_msi_url=wsl_msi_url,
        wsl_msi_sha256=wsl_msi_sha256,
        wsl_version=check.version("wsl_version"),
        wsl_settings=wsl_settings,
        wsl_distros=distros,
        wsl_relocations=relocations,
        desktop_version=desktop_version,
        desktop_url=desktop_url,
        desktop_sha256=desktop_sha256,
        desktop_backend=desktop_backend,
        engine_version=engine_version,
        engine_url=engine_url,
        engine_sha256=engine_sha256,
        engine_install_dir=engine_dir,
        daemon_config=_daemon_config(check),
        docker_group=docker_group,
        docker_group_members=group_members,
        isolation=isolation,
        reboot_policy=check.choice("reboot_policy", REBOOT_POLICIES, "auto") or "auto",
        reboot_batch=check.integer("reboot_batch", 0, 0),
        reboot_timeout_sec=check.integer("reboot_timeout_sec", 900, 60),
        smoke_test=check.boolean("docker_smoke_test", False),
        smoke_test_image=check.string("docker_smoke_test_image"),
        sim_placeholders=tuple(check.placeholders),
    )
    if role is not None:
        _check_daemon_json(check, settings)
    if check.problems or role is None:
        raise SettingsError(host_name, check.problems)
    return settings


def common_reboot_batch(values: Iterable[Any]) -> int:
    """One ``reboot_batch`` for the whole run: the smallest positive value among the hosts, else 0.

    pyinfra executes one operation with one parallelism for all hosts and refuses differing
    values ("Cannot have different values for `_parallel`", pyinfra/api/operation.py
    ``ensure_shared_op_meta``), so the deploy passes the same ``_parallel`` to every host's
    reboot step. The most cautious setting wins. Values that are not positive integers are
    ignored here (their host fails its own settings check).

    + values: ``reboot_batch`` of every host in the inventory (None when unset)
    """
    positive = [v for v in values if isinstance(v, int) and not isinstance(v, bool) and v > 0]
    return min(positive) if positive else 0


# inventory -> role -> reboot_batch. pyinfra runs the deploy file once per host (in fresh
# globals), so the cache lives here: recomputing from every host's data for every host costs
# O(hosts^2) host-data lookups (bench/fleet.py, 50 hosts).
_REBOOT_BATCHES: weakref.WeakKeyDictionary[Any, dict[str, int]] = weakref.WeakKeyDictionary()


def reboot_batches(inventory: Any) -> dict[str, int]:
    """``{role: reboot_batch}`` for an inventory: :func:`common_reboot_batch` over each role's hosts.

    ``role_for`` does not validate: a host with bad data contributes its value but stops at its
    settings check before the reboot step (``common_reboot_batch`` ignores non-integers).

    + inventory: pyinfra's Inventory (iterates its hosts; each has ``data`` and ``groups``)
    """
    cached = _REBOOT_BATCHES.get(inventory)
    if cached is None:
        values: dict[str, list[Any]] = {}
        for other in inventory:
            role = role_for({"winfra_role": other.data.get("winfra_role")}, other.groups)
            values.setdefault(str(role), []).append(other.data.get("reboot_batch"))
        cached = {name: common_reboot_batch(batch) for name, batch in values.items()}
        _REBOOT_BATCHES[inventory] = cached
    return cached
