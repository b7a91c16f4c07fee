"""Docker state of a simulated host, and dockerd's / the installers' semantics.

Owner after initial version: Docker helper.

Sources: ``windows-facts`` = /work/shared/reference/windows-facts.md.

* Docker Desktop (dev boxes): installed through :func:`run_desktop_installer`, which writes what
  the real installer leaves behind and what winfra detects: the uninstall key
  ``HKLM\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Uninstall\\Docker Desktop``
  (DisplayVersion, InstallLocation; windows-facts B.3), ``Docker Desktop.exe`` with a version
  resource, the ``docker-users`` group with the installing user in it and ``com.docker.service``
  (B.4), and the admin install log (B.2). Exit codes: 0, 3 = already installed (B.2), and any
  code injected with a fault (``installer_exit_code``: 1603, 3010, ...).
* The native engine (servers): ``docker.exe``/``dockerd.exe`` are files in the host fs whose bytes
  carry a version marker (the simulated version resource: moby embeds one,
  ``cli/winresources/dockerd``); the ``docker`` service's ImagePath bakes in the registration
  flags (windows-facts C.2); ``daemon.json`` is read the way dockerd reads it
  (:func:`read_daemon_config`, windows-facts C.4).
* Artifacts: a ``docker-<ver>.zip`` is a real zip (``docker/docker.exe``, ``docker/dockerd.exe``,
  ``docker/docker-proxy.exe``) and ``Docker Desktop Installer.exe`` a synthetic executable; both
  are deterministic bytes, so their SHA-256 is real and stable (:func:`engine_zip`,
  :func:`desktop_installer`, :func:`add_engine_release`, :func:`add_desktop_release`).
* The simulated network: artifacts reachable by https URL or UNC path (profile ``network`` /
  ``winsim_overrides`` / :meth:`SimHost.add_artifact`).

:class:`DockerDesktop` / :class:`DockerEngine` summarise the state for profiles; a profile that
declares an installed version gets matching files, key and service through :func:`materialize`.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import time
import zipfile
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from winfra.sim.models.host import SimHost

DESKTOP_UNINSTALL_KEY = r"HKLM\SOFTWARE\Microsoft\Windows\CurrentVersion\Uninstall\Docker Desktop"
DESKTOP_INSTALL_DIR = r"C:\Program Files\Docker\Docker"
ENGINE_INSTALL_DIR = r"C:\Program Files\Docker"
DAEMON_JSON = r"C:\ProgramData\docker\config\daemon.json"
# windows-facts B.2: admin installs log here (docs troubleshooting page; unverified on a host).
DESKTOP_ADMIN_LOG = r"C:\ProgramData\DockerDesktop\install-log-admin.txt"
DESKTOP_SERVICE = "com.docker.service"
DOCKER_USERS = "docker-users"
# windows-facts C.4: the default named pipe.
ENGINE_PIPE = r"//./pipe/docker_engine"


@dataclass
class DockerDesktop:
    installed_version: str | None = None
    install_dir: str = DESKTOP_INSTALL_DIR
    # "linux" (default after install) or "windows" containers (windows-facts B.6)
    engine_mode: str = "linux"
    running: bool = False


@dataclass
class DockerEngine:
    # Version of the binaries in install_dir (None: not installed).
    version: str | None = None
    install_dir: str = ENGINE_INSTALL_DIR
    service_name: str = "docker"
    # The error the daemon last failed to start with (None: running or never started).
    last_error: str | None = None
    # The configuration the running daemon loaded (None while stopped).
    running_config: dict[str, Any] | None = None


# =============================================================================================
# Synthetic binaries and artifacts
# =============================================================================================

_PE_MARKER = b"WINSIM-PE "


def synthetic_exe(name: str, version: str, **meta: Any) -> bytes:
    """Deterministic bytes standing for an executable: an ``MZ`` header, a JSON marker line (the
    simulated version resource) and filler, so different versions hash differently."""
    marker = json.dumps({"name": name, "version": version, **meta}, sort_keys=True).encode()
    seed = hashlib.sha256(marker).digest()
    return b"MZ" + b"\0" * 62 + b"\n" + _PE_MARKER + marker + b"\n" + seed * 32


def exe_info(data: bytes) -> dict[str, Any] | None:
    """The marker of a synthetic executable (its "version resource"), or None."""
    start = data.find(_PE_MARKER)
    if start < 0:
        return None
    end = data.find(b"\n", start)
    try:
        return json.loads(data[start + len(_PE_MARKER) : end])
    except ValueError:
        return None


def _version_tuple(version: str | None) -> tuple[int, ...]:
    m = re.match(r"^\s*v?(\d+)\.(\d+)(?:\.(\d+))?", version or "")
    return tuple(int(x) for x in m.groups(default="0")) if m else (0, 0, 0)


def engine_zip(version: str) -> bytes:
    """``docker-<version>.zip`` as download.docker.com ships it: a ``docker\\`` folder with
    ``docker.exe``, ``dockerd.exe`` and (newer releases) ``docker-proxy.exe`` (windows-facts C.2).
    Fixed timestamps make the bytes, and so the SHA-256, deterministic."""
    buf = io.BytesIO()
    names = ["docker.exe", "dockerd.exe"]
    if _version_tuple(version) >= (25, 0, 0):
        names.append("docker-proxy.exe")
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name in names:
            info = zipfile.ZipInfo(f"docker/{name}", date_time=(2024, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, synthetic_exe(name, version))
    return buf.getvalue()


def desktop_installer(version: str, build: int | None = None) -> bytes:
    return synthetic_exe(
        "Docker Desktop Installer.exe", version, kind="docker-desktop-installer", build=build or 0
    )


def engine_url(version: str) -> str:
    # windows-facts C.2: https://download.docker.com/win/static/stable/x86_64/docker-<X.Y.Z>.zip
    return f"https://download.docker.com/win/static/stable/x86_64/docker-{version}.zip"


def desktop_url(build: int | str) -> str:
    # windows-facts B.1: versioned URL pattern.
    return f"https://desktop.docker.com/win/main/amd64/{build}/Docker%20Desktop%20Installer.exe"


@dataclass
class Artifact:
    """One downloadable thing: inline bytes, a synthetic Docker release (``meta.kind``), or a
    synthetic body of ``size`` bytes."""

    url: str
    data: bytes | None = None
    size: int = 0
    # What the artifact is: {"kind": "docker-static-zip", "version": "27.3.1"} or
    # {"kind": "docker-desktop-installer", "version": "4.36.0", "build": 175267}.
    meta: dict[str, Any] = field(default_factory=dict)

    def body(self) -> bytes:
        if self.data is not None:
            return self.data
        kind = self.meta.get("kind")
        if kind == "docker-static-zip":
            return engine_zip(str(self.meta["version"]))
        if kind == "docker-desktop-installer":
            return desktop_installer(str(self.meta["version"]), self.meta.get("build"))
        # Deterministic filler so checksums are stable across runs.
        seed = hashlib.sha256(self.url.encode()).digest()
        reps = self.size // len(seed) + 1
        return (seed * reps)[: self.size]

    def sha256(self) -> str:
        return hashlib.sha256(self.body()).hexdigest()


@dataclass
class SimNetwork:
    """URL / UNC path -> artifact. Lookups are case-insensitive for UNC paths only."""

    artifacts: dict[str, Artifact] = field(default_factory=dict)

    def add(self, artifact: Artifact) -> None:
        self.artifacts[_key(artifact.url)] = artifact

    def get(self, url: str) -> Artifact | None:
        return self.artifacts.get(_key(url))


def _key(url: str) -> str:
    return url.lower() if url.startswith("\\\\") else url


def add_engine_release(host: SimHost, version: str, url: str | None = None) -> Artifact:
    """Publish ``docker-<version>.zip`` on the simulated network; returns it (``.sha256()``)."""
    return host.add_artifact(url or engine_url(version), kind="docker-static-zip", version=version)


def add_desktop_release(host: SimHost, version: str, build: int = 0, url: str | None = None) -> Artifact:
    return host.add_artifact(
        url or desktop_url(build or version), kind="docker-desktop-installer", version=version, build=build
    )


@dataclass
class DockerState:
    desktop: DockerDesktop = field(default_factory=DockerDesktop)
    engine: DockerEngine = field(default_factory=DockerEngine)
    downloads_dir: str = r"C:\ProgramData\winfra\downloads"
    network: SimNetwork = field(default_factory=SimNetwork)
    # Application event log entries written by dockerd (windows-facts C.2: a non-interactive
    # dockerd logs to the Application Event Log), newest last.
    events: list[dict[str, Any]] = field(default_factory=list)
    # Profiles that declare installed versions were turned into files (see materialize()).
    materialized: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "desktop": vars(self.desktop).copy(),
            "engine": vars(self.engine).copy(),
            "downloads_dir": self.downloads_dir,
            "events": self.events[-50:],
            "materialized": self.materialized,
            "network": [
                {
                    "url": a.url,
                    "size": a.size,
                    "meta": a.meta,
                    **({"data_hex": a.data.hex()} if a.data is not None else {}),
                }
                for a in self.network.artifacts.values()
            ],
        }

    @classmethod
    def from_json(cls, raw: dict[str, Any] | None) -> DockerState:
        raw = raw or {}
        state = cls(
            desktop=DockerDesktop(**raw.get("desktop", {})),
            engine=DockerEngine(**raw.get("engine", {})),
            downloads_dir=raw.get("downloads_dir", r"C:\ProgramData\winfra\downloads"),
            events=list(raw.get("events", [])),
            materialized=bool(raw.get("materialized", False)),
        )
        for a in raw.get("network", []):
            data = bytes.fromhex(a["data_hex"]) if "data_hex" in a else None
            if data is None and "data" in a:
                data = str(a["data"]).encode()
            size = len(data) if data is not None else int(a.get("size", 0))
            state.network.add(Artifact(a["url"], data, size, dict(a.get("meta", {}))))
        return state


# =============================================================================================
# Files and versions
# =============================================================================================


def file_version(host: SimHost, path: str) -> str | None:
    """``(Get-Item path).VersionInfo.ProductVersion`` of a synthetic executable (None: no file)."""
    if not host.fs.is_file(path):
        return None
    info = exe_info(host.fs.read_bytes(path))
    return str(info["version"]) if info else ""


def split_command_line(command_line: str) -> list[str]:
    """Split an ImagePath the way CommandLineToArgvW does for the common cases (quoted first
    token, space-separated arguments, double quotes group)."""
    out: list[str] = []
    cur: list[str] = []
    quoted = False
    has_token = False
    for ch in command_line.strip():
        if ch == '"':
            quoted = not quoted
            has_token = True
        elif ch == " " and not quoted:
            if has_token:
                out.append("".join(cur))
                cur = []
                has_token = False
        else:
            cur.append(ch)
            has_token = True
    if has_token:
        out.append("".join(cur))
    return out


def _escape_arg(arg: str) -> str:
    # Go's syscall.EscapeArg (used by golang.org/x/sys/windows/svc/mgr CreateService to build
    # BinaryPathName): quote only when the argument has a space or tab.
    return f'"{arg}"' if (" " in arg or "\t" in arg or not arg) else arg


def install_engine_files(host: SimHost, version: str, install_dir: str = ENGINE_INSTALL_DIR) -> None:
    """Put the binaries of ``version`` into ``install_dir`` (test and profile setup)."""
    with zipfile.ZipFile(io.BytesIO(engine_zip(version))) as zf:
        for name in zf.namelist():
            host.fs.write_bytes(f"{install_dir}\\{name.split('/', 1)[1]}", zf.read(name), make_parents=True)
    host.docker.engine.version = version
    host.docker.engine.install_dir = install_dir


# =============================================================================================
# dockerd: service registration, configuration, start
# =============================================================================================


def register_service(host: SimHost, dockerd_path: str, args: list[str]) -> str:
    """``dockerd --register-service [args]``: create the service with ImagePath = the dockerd
    path, ``--run-service`` and every other argument given (windows-facts C.2; moby
    cmd/dockerd/service_windows.go registerService). Start type Automatic, DisplayName
    "Docker Engine". Returns the service name. Raises RuntimeError if it exists."""
    from winfra.sim.models.host import Service

    name = "docker"
    rest = [a for a in args if a not in ("--register-service", "--unregister-service")]
    for i, a in enumerate(rest):
        if a == "--service-name" and i + 1 < len(rest):
            name = rest[i + 1]
        elif a.startswith("--service-name="):
            name = a.split("=", 1)[1]
    if host.services.get(name) is not None:
        # moby: "service %s already exists"
        raise RuntimeError(f"service {name} already exists")
    image_path = " ".join(_escape_arg(a) for a in [dockerd_path, "--run-service", *rest])
    host.services.add(
        Service(
            name=name,
            display_name="Docker Engine",
            state="Stopped",
            start_type="Automatic",
            image_path=image_path,
        )
    )
    host.docker.engine.service_name = name
    _log_event(host, name, "Information", f"Registered service {name} ({image_path})")
    return name


def service_binary_and_flags(image_path: str) -> tuple[str, list[str]]:
    """The dockerd path of an ImagePath and the daemon flags baked into it (without
    ``--run-service`` and ``--service-name <n>``)."""
    argv = split_command_line(image_path)
    if not argv:
        return "", []
    flags: list[str] = []
    skip = False
    for a in argv[1:]:
        if skip:
            skip = False
            continue
        if a == "--run-service":
            continue
        if a == "--service-name":
            skip = True
            continue
        if a.startswith("--service-name="):
            continue
        flags.append(a)
    return argv[0], flags


# Keys a Windows dockerd accepts in daemon.json. Independent of winfra.validation's table on
# purpose: this is dockerd's behaviour, from docker/cli docs/reference/dockerd.md "On Windows"
# sample and windows-facts C.4; Linux-only keys are unknown here (for-win#14411 error).
WINDOWS_DOCKERD_KEYS = frozenset(
    {
        "allow-nondistributable-artifacts", "authorization-plugins", "bridge", "builder", "containerd",
        "containerd-namespace", "containerd-plugin-namespace", "data-root", "debug", "default-runtime",
        "default-shm-size", "dns", "dns-opts", "dns-search", "exec-opts", "exec-root", "experimental",
        "features", "fixed-cidr", "group", "hosts", "insecure-registries", "labels", "live-restore",
        "log-driver", "log-format", "log-level", "log-opts", "max-concurrent-downloads",
        "max-concurrent-uploads", "max-download-attempts", "mtu", "pidfile", "proxies", "raw-logs",
        "registry-mirrors", "shutdown-timeout", "storage-driver", "storage-opts",
        "swarm-default-advertise-addr", "tls", "tlscacert", "tlscert", "tlskey", "tlsverify",
    }
)  # fmt: skip
_LEGACY_KEYS = frozenset({"graph", "cluster-store", "cluster-advertise", "cluster-store-opts"})
_BOOL_KEYS = {"debug", "experimental", "raw-logs", "tls", "tlsverify", "live-restore"}
_FLAG_KEYS = {"-H": "hosts", "--host": "hosts", "-G": "group", "--group": "group", "-D": "debug"}


def _flag_values(flags: list[str]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    i = 0
    while i < len(flags):
        tok = flags[i]
        i += 1
        name, eq, value = tok.partition("=")
        if not name.startswith("-"):
            continue
        if not eq and name not in ("-D", "--debug") and i < len(flags) and not flags[i].startswith("-"):
            value = flags[i]
            i += 1
        key = _FLAG_KEYS.get(name, name.lstrip("-"))
        out.setdefault(key, []).append(value or "true")
    return out


def read_daemon_config(
    host: SimHost, config_path: str, engine_version: str | None, flags: list[str]
) -> tuple[dict[str, Any] | None, str | None]:
    """Load ``daemon.json`` as dockerd does; return (config, None) or (None, dockerd's error).

    * a missing file is an empty configuration;
    * before Engine 23.0 a UTF-8 BOM fails with "invalid character 'ï' looking for beginning of
      value" and a UTF-16 BOM with 'ÿ'/'þ'; 23.0+ accepts both (windows-facts C.4, moby#44777,
      moby#44790);
    * unknown keys: "the following directives don't match any configuration option: <keys>";
    * a key that is also a flag: "the following directives are specified both as a flag and in
      the configuration file: hosts: (from flag: [...], from file: [...])" (C.4);
    * every message is wrapped as "unable to configure the Docker daemon with file <path>: ..."
      (C.4 / for-win#14411 wording).
    """
    prefix = f"unable to configure the Docker daemon with file {config_path}: "
    if not host.fs.is_file(config_path):
        return {}, None
    raw = host.fs.read_bytes(config_path)
    modern = _version_tuple(engine_version) >= (23, 0, 0)
    if raw.startswith(b"\xef\xbb\xbf"):
        if not modern:
            return None, prefix + "invalid character 'ï' looking for beginning of value"
        raw = raw[3:]
    elif raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        if not modern:
            ch = "ÿ" if raw.startswith(b"\xff") else "þ"
            return None, prefix + f"invalid character '{ch}' looking for beginning of value"
        raw = raw.decode("utf-16").encode("utf-8")
    text = raw.decode("utf-8", errors="replace")
    if not text.strip():
        # Go's encoding/json on empty input.
        return None, prefix + "unexpected end of JSON input"
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        # Go reports "invalid character 'x' ..."; the simulator keeps Python's position detail.
        bad = text[exc.pos] if exc.pos < len(text) else ""
        return None, prefix + f"invalid character '{bad}' ({exc.msg} at offset {exc.pos})"
    if not isinstance(data, dict):
        return None, prefix + "json: cannot unmarshal array into Go value of type map[string]interface {}"
    # Options removed in Engine 23.0 (docker/cli docs/deprecated.md: --graph, cluster-store,
    # cluster-advertise) are still known to older engines.
    legacy = _LEGACY_KEYS if not modern else frozenset()
    unknown = [k for k in data if k not in WINDOWS_DOCKERD_KEYS and k not in legacy]
    if unknown:
        return None, prefix + "the following directives don't match any configuration option: " + ", ".join(
            unknown
        )
    baked = _flag_values(flags)
    conflicts = []
    for key in data:
        if key in baked:
            file_val = data[key] if isinstance(data[key], list) else [data[key]]
            conflicts.append(
                f"{key}: (from flag: [{' '.join(baked[key])}], from file: [{' '.join(map(str, file_val))}])"
            )
    if conflicts:
        return None, (
            prefix
            + "the following directives are specified both as a flag and in the configuration file: "
            + ", ".join(conflicts)
        )
    for key in _BOOL_KEYS & set(data):
        if not isinstance(data[key], bool):
            go_type = {"str": "string", "int": "number", "float": "number"}.get(
                type(data[key]).__name__, "value"
            )
            return (
                None,
                prefix + f"json: cannot unmarshal {go_type} into Go struct field Config.{key} of type bool",
            )
    return data, None


def _resolve_groups(host: SimHost, group: str) -> str | None:
    """dockerd resolves the pipe's group to a SID at startup; go-winio's error for a name that
    does not resolve is "lookup account <name>: not found" (microsoft/go-winio sd.go
    AccountLookupError; windows-facts C.4)."""
    for name in [g.strip() for g in group.split(",") if g.strip()]:
        if host.users.group(name) is None and host.users.get(name) is None:
            return f"lookup account {name}: not found"
    return None


def validate_config_file(host: SimHost, dockerd_path: str, config_path: str) -> tuple[int, str]:
    """``dockerd --validate --config-file <path>``: exists from Engine 23.0 (moby#42393) and prints
    "configuration OK" (exit 0) or the error dockerd would give (exit 1). Older engines do not
    know the flag: "unknown flag: --validate" (cobra/pflag wording), exit 125."""
    version = file_version(host, dockerd_path)
    if version is None:
        return (
            1,
            _not_recognized(dockerd_path),
        )
    if _version_tuple(version) < (23, 0, 0):
        return 125, "unknown flag: --validate"
    _cfg, err = read_daemon_config(host, config_path, version, [])
    if err:
        return 1, err
    return 0, "configuration OK"


def _not_recognized(term: str) -> str:
    # PowerShell's CommandNotFoundException text (docs/ARCHITECTURE.md "Simulator").
    return (
        f"The term '{term}' is not recognized as the name of a cmdlet, function, script file, "
        "or operable program."
    )


def _log_event(host: SimHost, source: str, level: str, message: str) -> None:
    host.docker.events.append({"time": time.time(), "source": source, "level": level, "message": message})
    del host.docker.events[:-50]


def start_engine(host: SimHost, service_name: str = "docker") -> str | None:
    """Start the dockerd service: the daemon reads its configuration and either runs or exits.

    Returns None when it runs, else dockerd's error (also logged to the simulated Application
    event log, windows-facts C.2). The service ends Stopped on failure (the SCM's recovery
    restarts hit the same error, C.2 "restart after 60 s, twice").
    """
    svc = host.services.get(service_name)
    if svc is None:
        raise RuntimeError(f"Cannot find any service with service name '{service_name}'.")
    exe, flags = service_binary_and_flags(svc.image_path)
    version = file_version(host, exe)
    if version is None:
        err = f"The system cannot find the file specified. ({exe})"
    elif not host.features.is_enabled("Containers"):
        # The HNS service comes with the Containers feature; dockerd checks for it first
        # (MicrosoftDocs/Virtualization-Documentation#1270, docker/for-win#10644).
        err = (
            "failed to start daemon: a required service is not installed, ensure the Containers feature "
            "is installed: failed to open service hns: The specified service does not exist as an "
            "installed service."
        )
    else:
        config_path = DAEMON_JSON
        for i, a in enumerate(flags):
            if a == "--config-file" and i + 1 < len(flags):
                config_path = flags[i + 1]
        cfg, err = read_daemon_config(host, config_path, version, flags)
        if err is None and cfg is not None and cfg.get("data-root"):
            # dockerd creates its root directory at startup; a path on a volume the host does not
            # have fails there (wording: Go's os.MkdirAll error with the Win32 text of
            # ERROR_PATH_NOT_FOUND; the exact prefix is an assumption).
            root = str(cfg["data-root"])
            try:
                host.fs.volume_of(root)
                host.fs.mkdir(root)
            except (OSError, ValueError):
                err = f"failed to start daemon: mkdir {root}: The system cannot find the path specified."
        if err is None and cfg is not None:
            group = cfg.get("group") or ",".join(_flag_values(flags).get("group", []))
            if group:
                err = _resolve_groups(host, str(group))
                if err:
                    err = f"failed to load listeners: {err}"
    if err:
        svc.state = "Stopped"
        host.docker.engine.last_error = err
        host.docker.engine.running_config = None
        _log_event(host, service_name, "Error", err)
        return err
    svc.state = "Running"
    host.docker.engine.last_error = None
    host.docker.engine.running_config = cfg
    host.docker.engine.version = version
    _log_event(host, service_name, "Information", "API listen on " + ENGINE_PIPE)
    return None


def stop_engine(host: SimHost, service_name: str = "docker") -> None:
    svc = host.services.get(service_name)
    if svc is not None:
        svc.state = "Stopped"
    host.docker.engine.running_config = None


def docker_version(
    host: SimHost, docker_exe: str, service_name: str = "docker"
) -> tuple[int, dict[str, Any] | str]:
    """``docker version --format '{{json .}}'`` against the local engine: (0, data) or (1, error).
    The error when the daemon is down is the client's "error during connect" on the named pipe
    (windows-facts C.4 default pipe)."""
    client = file_version(host, docker_exe)
    if client is None:
        return (
            1,
            _not_recognized(docker_exe),
        )
    svc = host.services.get(service_name)
    if svc is None or svc.state != "Running":
        return 1, (
            f"error during connect: this error may indicate that the docker daemon is not running: Get "
            f'"http://%2F%2F.%2Fpipe%2Fdocker_engine/v1.24/version": open {ENGINE_PIPE}: The system '
            "cannot find the file specified."
        )
    exe, _ = service_binary_and_flags(svc.image_path)
    server = file_version(host, exe) or ""
    return 0, {
        "Client": {"Version": client, "Os": "windows", "Arch": "amd64"},
        "Server": {
            "Version": server,
            "Os": "windows",
            "Arch": "amd64",
            "Components": [{"Name": "Engine", "Version": server}],
        },
    }


def engine_boot_hook(host: SimHost) -> None:
    """At boot the SCM starts Automatic services; dockerd then reads its configuration, so a bad
    daemon.json leaves it stopped (the model's generic boot marks every Automatic service
    Running)."""
    for svc in host.services.all():
        if "dockerd" in svc.image_path.lower() and svc.start_type == "Automatic":
            start_engine(host, svc.name)
    host.docker.desktop.running = False


def materialize(host: SimHost) -> None:
    """Turn versions a profile declares into files, keys and services (once per host)."""
    if host.docker.materialized:
        return
    host.docker.materialized = True
    eng = host.docker.engine
    if eng.version and file_version(host, f"{eng.install_dir}\\dockerd.exe") is None:
        install_engine_files(host, eng.version, eng.install_dir)
        if host.services.get(eng.service_name) is None:
            register_service(host, f"{eng.install_dir}\\dockerd.exe", ["--service-name", eng.service_name])
        start_engine(host, eng.service_name)
    desk = host.docker.desktop
    if desk.installed_version and not host.registry.key_exists(DESKTOP_UNINSTALL_KEY):
        _write_desktop_install(host, desk.installed_version, desk.install_dir, installing_user=None, args=[])


# =============================================================================================
# Docker Desktop installer
# =============================================================================================


def _write_desktop_install(
    host: SimHost, version: str, install_dir: str, *, installing_user: str | None, args: list[str]
) -> None:
    from winfra.sim.models.host import Service
    from winfra.sim.models.registry import REG_SZ

    host.fs.write_bytes(
        f"{install_dir}\\Docker Desktop.exe", synthetic_exe("Docker Desktop.exe", version), make_parents=True
    )
    host.fs.write_bytes(
        f"{install_dir}\\resources\\bin\\docker.exe", synthetic_exe("docker.exe", version), make_parents=True
    )
    host.fs.write_bytes(
        f"{install_dir}\\Docker Desktop Installer.exe", desktop_installer(version), make_parents=True
    )
    # windows-facts B.3: DisplayName, DisplayVersion, InstallLocation.
    host.registry.set_value(DESKTOP_UNINSTALL_KEY, "DisplayName", "Docker Desktop", REG_SZ)
    host.registry.set_value(DESKTOP_UNINSTALL_KEY, "DisplayVersion", version, REG_SZ)
    host.registry.set_value(DESKTOP_UNINSTALL_KEY, "InstallLocation", install_dir, REG_SZ)
    host.registry.set_value(DESKTOP_UNINSTALL_KEY, "Publisher", "Docker Inc.", REG_SZ)
    # windows-facts B.4: the installer creates docker-users and adds the installing user.
    if host.users.group(DOCKER_USERS) is None:
        host.users.add_group(DOCKER_USERS, "Users of Docker Desktop")
    if installing_user and host.users.get(installing_user) is not None:
        host.users.add_member(DOCKER_USERS, installing_user)
    # windows-facts B.1: --always-run-service starts com.docker.service and makes it Automatic.
    always = "--always-run-service" in args
    svc = host.services.get(DESKTOP_SERVICE)
    if svc is None:
        svc = host.services.add(
            Service(
                name=DESKTOP_SERVICE,
                display_name="Docker Desktop Service",
                start_type="Manual",
                image_path=f'"{install_dir}\\com.docker.service"',
            )
        )
    if always:
        svc.start_type = "Automatic"
        svc.state = "Running"
    host.docker.desktop.installed_version = version
    host.docker.desktop.install_dir = install_dir
    # windows-facts B.7: Desktop does not start after installation.
    host.docker.desktop.running = False


def run_desktop_installer(
    host: SimHost, installer_path: str, args: list[str], *, installing_user: str, exit_code: int | None = None
) -> int:
    """Run ``"Docker Desktop Installer.exe" <args>`` and return its exit code.

    ``exit_code`` is an injected code (fault ``installer_exit_code``): 3010 installs and asks for
    a reboot (the Windows Installer convention, ERROR_SUCCESS_REBOOT_REQUIRED), any other
    non-zero fails without installing and logs the failure (windows-facts B.2).
    """
    from winfra.sim.models.host import SESSION_MANAGER
    from winfra.sim.models.registry import REG_MULTI_SZ

    log: list[str] = [f"Installing with args: {' '.join(args)}"]
    info = exe_info(host.fs.read_bytes(installer_path)) if host.fs.is_file(installer_path) else None
    if info is None or info.get("kind") != "docker-desktop-installer":
        log.append("Failed to unpack the installer: the file is not a Docker Desktop installer")
        _write_log(host, log)
        return 1
    if not args or args[0] != "install":
        # windows-facts B.1: without the install subcommand the installer starts its GUI.
        log.append("No 'install' subcommand: GUI mode, which a non-interactive session cannot show")
        _write_log(host, log)
        return 1
    version = str(info["version"])
    install_dir = DESKTOP_INSTALL_DIR
    for a in args:
        if a.startswith("--installation-dir="):
            install_dir = a.split("=", 1)[1].rstrip("\\")
    if exit_code not in (None, 0, 3010):
        log.append(f"Installation failed: exit code {exit_code} (injected)")
        log.append("System.InvalidOperationException: the installation did not complete")
        _write_log(host, log)
        return exit_code
    installed = host.registry.get(DESKTOP_UNINSTALL_KEY, "DisplayVersion")
    if installed == version and host.fs.is_file(f"{install_dir}\\Docker Desktop.exe"):
        # windows-facts B.2: 3 = already installed.
        log.append(f"Docker Desktop {version} is already installed")
        _write_log(host, log)
        return 3
    for a in args:
        if a.startswith("--wsl-default-data-root="):
            host.extra.setdefault("docker", {})["wsl_default_data_root"] = a.split("=", 1)[1]
    _write_desktop_install(host, version, install_dir, installing_user=installing_user, args=args)
    log.append(f"Installation succeeded: Docker Desktop {version} in {install_dir}")
    _write_log(host, log)
    if exit_code == 3010:
        pending = list(host.registry.get(SESSION_MANAGER, "PendingFileRenameOperations", []) or [])
        pending += [f"\\??\\{install_dir}\\resources\\pending.dll", ""]
        host.registry.set_value(SESSION_MANAGER, "PendingFileRenameOperations", pending, REG_MULTI_SZ)
        return 3010
    return 0


def _write_log(host: SimHost, lines: list[str]) -> None:
    text = "\r\n".join(f"[{time.strftime('%Y-%m-%dT%H:%M:%S')}] {line}" for line in lines) + "\r\n"
    old = host.fs.read_bytes(DESKTOP_ADMIN_LOG) if host.fs.is_file(DESKTOP_ADMIN_LOG) else b""
    host.fs.write_bytes(DESKTOP_ADMIN_LOG, old + text.encode("utf-8"), make_parents=True)


def _register_hooks() -> None:
    from winfra.sim.models.host import register_boot_hook

    register_boot_hook(engine_boot_hook)


# =============================================================================================
# docker run (Windows containers)
# =============================================================================================

# Image tags -> Windows build (windows-facts E; nanoserver's 17763 tag is "1809").
_TAG_BUILDS = {"ltsc2025": 26100, "ltsc2022": 20348, "ltsc2019": 17763, "1809": 17763, "ltsc2016": 14393}
# windows-facts E, verbatim from version-compatibility.md.
MISMATCH_ERROR = (
    "docker: Error response from daemon: container {cid} encountered an error during CreateContainer: "
    "failure in a Windows system call: The operating system of the container does not match the "
    "operating system of the host. (0xc0370101)"
)
HELLO_OUTPUT = (
    "\nHello from Docker!\nThis message shows that your installation appears to be working correctly.\n"
)


def image_build(image: str) -> int | None:
    tag = image.rsplit(":", 1)[1] if ":" in image.rsplit("/", 1)[-1] else "latest"
    for key, build in _TAG_BUILDS.items():
        if tag.endswith(key):
            return build
    return None


def docker_run(host: SimHost, docker_exe: str, image: str, isolation: str | None) -> tuple[int, str]:
    """``docker run --rm [--isolation=X] <image>`` against the native engine.

    Process isolation needs the image build to equal the host build, except that Windows 11 and
    Windows Server 2025 hosts also run ltsc2022 images; Hyper-V isolation runs images up to the
    host build and needs the Hyper-V feature (windows-facts E)."""
    code, info = docker_version(host, docker_exe, host.docker.engine.service_name)
    if code != 0:
        return 1, str(info)
    host_build = host.os.build
    img = image_build(image)
    if img is None:
        return 125, f"docker: Error response from daemon: manifest for {image} not found: manifest unknown."
    cfg = host.docker.engine.running_config or {}
    default = "process" if host.os.is_server else "hyperv"
    for opt in cfg.get("exec-opts") or []:
        if str(opt).lower().startswith("isolation="):
            default = str(opt).split("=", 1)[1].lower()
    iso = (isolation or default).lower()
    cid = hashlib.sha256(f"{image}{time.time()}".encode()).hexdigest()
    if iso == "hyperv":
        if not host.features.is_enabled("Microsoft-Hyper-V") and not host.features.is_enabled("Hyper-V"):
            return (
                125,
                "docker: Error response from daemon: hcs::CreateComputeSystem: The request is not supported.",
            )
        ok = img <= host_build
    else:
        ok = img == host_build or (
            img == 20348 and (host_build >= 26100 or (not host.os.is_server and host_build >= 22000))
        )
    if not ok:
        return 125, MISMATCH_ERROR.format(cid=cid)
    return 0, HELLO_OUTPUT


# =============================================================================================
# Docker Desktop's engine (Linux / Windows containers)
# =============================================================================================

# windows-facts B.6: the Desktop CLI's "docker desktop engine use" arrived around 4.37.
DESKTOP_ENGINE_CLI_MIN = (4, 37, 0)


def desktop_engine_error(host: SimHost, docker_exe: str) -> str | None:
    """Why Desktop's CLI cannot reach an engine, or None. Desktop runs only in a user's
    interactive session and never starts by itself after install (windows-facts B.7, B.8); the
    pipe name of Desktop's Linux engine (dockerDesktopLinuxEngine) is an assumption."""
    if not host.fs.is_file(docker_exe):
        return _not_recognized(docker_exe)
    desk = host.docker.desktop
    if not desk.installed_version or not desk.running:
        pipe = "dockerDesktopLinuxEngine" if desk.engine_mode == "linux" else "dockerDesktopWindowsEngine"
        return (
            "error during connect: this error may indicate that the docker daemon is not running: Get "
            f'"http://%2F%2F.%2Fpipe%2F{pipe}/v1.47/info": open //./pipe/{pipe}: The system cannot find the '
            "file specified."
        )
    return None


def switch_desktop_engine(host: SimHost, engine: str) -> tuple[str, str]:
    """Switch the running Desktop to ``engine``; returns (method, error or ""). The Windows engine
    needs the Containers and Hyper-V features: Desktop reports "Containers feature disabled"
    otherwise (docker/for-win#14001)."""
    desk = host.docker.desktop
    method = (
        "docker desktop engine use"
        if _version_tuple(desk.installed_version) >= DESKTOP_ENGINE_CLI_MIN
        else f"DockerCli.exe -Switch{engine.capitalize()}Engine"
    )
    if engine == "windows" and not (
        host.features.is_enabled("Containers") and host.features.is_enabled("Microsoft-Hyper-V")
    ):
        return method, "Containers feature disabled. Enable it by using PowerShell script"
    desk.engine_mode = engine
    return method, ""
