"""Docker on Windows: Docker Desktop on dev boxes, the native engine on Windows Server, a
validated ``daemon.json``, and Windows-container helpers.

Operations:

* :func:`engine` - the native engine from a pinned, checksummed static zip: Containers (and
  Hyper-V) feature, binaries in ``install_dir`` on the machine PATH, the service registered
  without baked flags, upgrades with rollback. Never "skip because a docker service exists".
* :func:`daemon_config` - render ``templates/daemon.json.j2``, validate it on the controller
  against the host (``winfra.validation.daemon_json``), write it atomically without BOM, run
  ``dockerd --validate`` (23.0+), restart only on change, restore the old file if dockerd does
  not come back. ``--diff`` shows a JSON diff.
* :func:`desktop` - Docker Desktop from a pinned installer: install, upgrade, docker-users.
* :func:`desktop_data_location` - Docker Desktop's WSL data location by documented means only:
  the old ``docker-desktop-data`` distro through the data-safe WSL relocation, the 4.30+ layout
  through Desktop's ``customWslDistroDir`` setting while it has no data yet.
* :func:`desktop_engine` - switch a user's running Docker Desktop to the Linux or Windows engine.
* :func:`smoke_test` - run the nanoserver hello-world matched to the host build.

Installers come through :mod:`winfra.acquire` (https, UNC or a controller file; sha256 required).
Why not Chocolatey or install-docker-ce.ps1: they never upgrade, do not verify downloads or
blindly rewrite daemon.json (shared/reference/anchors-and-winrm.md 2.1-2.4, 5 "Beat" 5-7).
"""

from __future__ import annotations

import dataclasses
import ntpath
import re
from collections.abc import Generator, Iterable
from typing import Any

from pyinfra import host, logger, state
from pyinfra.api import FunctionCommand, StringCommand, operation
from pyinfra.api.exceptions import OperationValueError

from winfra.acquire import acquire, check_input
from winfra.facts.docker import (
    ContainerCompatibility,
    DockerDesktop,
    DockerDesktopEngine,
    DockerDesktopSettings,
    DockerEngine,
    DockerUserConfig,
)
from winfra.facts.windows import FEATURE_ENABLED, OptionalFeatures, WindowsInfo
from winfra.facts.wsl import WslDistros, WslInstallation, find_distro
from winfra.operations import windows as windows_ops
from winfra.operations import wsl as wsl_ops
from winfra.operations._steps import fail_host, log_host_error, run_script
from winfra.powershell.scripts import render_script
from winfra.target_user import account_key, resolve_target_user
from winfra.transport.clixml import decode_stderr
from winfra.validation.daemon_json import (
    DESKTOP_FILE_NAMES,
    ENGINE_CONFIG_PATH,
    TARGETS,
    DaemonJsonContext,
    DaemonJsonError,
    json_diff,
    parse_existing,
    render,
    validate,
    version_tuple,
)

VERSION_RE = re.compile(r"^\d+\.\d+\.\d+$")
SERVICE_NAME_RE = re.compile(r"^[A-Za-z0-9_.-]{1,80}$")
_ABS_DIR = re.compile(r"^[A-Za-z]:\\[^<>:\"/|?*\x00-\x1f]+$")
DESKTOP_BACKENDS = ("wsl-2", "hyper-v", "windows")
# windows-facts.md B.7: the WSL backend needs WSL 2.1.5 or later.
DESKTOP_MIN_WSL = (2, 1, 5)
DOCKER_USERS = "docker-users"


class DockerOperationError(OperationValueError):
    """A deploy mistake found before anything touched the host."""


# =============================================================================================
# helpers
# =============================================================================================


def _error_text(stderr_lines: list[str]) -> str:
    """The message of a PowerShell error record, without its position lines ("At line:", "+ ").

    The connector decodes CLIXML already; ``decode_stderr`` also covers output that reached us
    raw (anchors-and-winrm.md section 3.4).
    """
    lines = [
        ln
        for ln in decode_stderr("\n".join(stderr_lines))
        if ln.strip() and not ln.lstrip().startswith(("+ ", "At line:"))
    ]
    return "\n".join(lines).strip() or "(no error text)"


def _run_script(
    state: Any, host: Any, script: str, params: dict[str, Any], timeout: float, what: str
) -> bool:
    """Run a shipped write script, log its JSON summary, fail the host with its error."""
    ok, result, stderr = run_script(host, script, params, timeout=timeout)
    if not ok:
        log_host_error(host, f"{what} failed: {_error_text(stderr)}")
        return False
    data = result if isinstance(result, dict) else {}
    for line in _summarise(script, data, host):
        # Lines that ask the user to act are warnings; the rest is information.
        if line.startswith("!"):
            logger.warning(f"{host.print_prefix}{line[1:]}")
        else:
            logger.info(f"{host.print_prefix}{line}")
    results = host.connector_data.setdefault("winfra_docker_results", {})
    results[script] = data
    return True


def _summarise(script: str, data: dict[str, Any], host: Any) -> list[str]:
    """Human lines for a script's JSON result; a leading "!" marks a line that needs action."""
    out: list[str] = []
    if script == "docker_engine_install":
        prev = data.get("previous_version")
        out.append(
            f"docker engine {data.get('version')} running"
            + (
                f" (upgraded from {prev}; previous binaries kept in .winfra-previous)"
                if prev and data.get("binaries_changed")
                else ""
            )
        )
        if data.get("reregistered_from"):
            out.append(
                ("!" if data.get("dropped_flags") else "")
                + f"service re-registered: the old binary was {data['reregistered_from']}"
                + (
                    f"; dropped the flags it had baked in: {' '.join(data['dropped_flags'])} (put them in "
                    "daemon.json with docker.daemon_config: -H -> hosts, -G -> group, ...)"
                    if data.get("dropped_flags")
                    else ""
                )
            )
        if data.get("path_added"):
            out.append("install dir added to the machine PATH (new sessions see it)")
    elif script == "docker_daemon_config":
        if data.get("groups_created"):
            out.append(f"created local group(s) {', '.join(data['groups_created'])}")
        out.append(
            f"{data.get('path')}: "
            + ("written" if data.get("changed") else "unchanged")
            + (", validated by dockerd" if data.get("validated") else "")
            + (", engine restarted and answering" if data.get("restarted") else "")
        )
    elif script == "docker_desktop_data_dir":
        if data.get("changed"):
            out.append(
                f"customWslDistroDir set in {data.get('settings_path')}: Docker Desktop creates its data "
                "there at its next start"
            )
    elif script == "docker_desktop_install":
        result = data.get("result")
        if result == "reboot_required":
            out.append(
                "!Docker Desktop installed; the installer asks for a reboot (exit 3010): run windows.reboot()"
            )
            host.connector_data["winfra_reboot_required_by"] = "Docker Desktop installer (3010)"
        elif result:
            out.append(f"Docker Desktop {data.get('version')}: {result.replace('_', ' ')}")
        if result:
            out.append(
                "Docker Desktop was not started: it starts at the user's next interactive logon "
                "(windows-facts.md B.7, B.8)"
            )
        if data.get("users_added"):
            out.append(
                f"!added {', '.join(data['users_added'])} to {DOCKER_USERS}; they must sign out and in "
                "for it to apply (windows-facts.md B.4)"
            )
    return out


def _check_version(version: Any, setting: str) -> str:
    if not isinstance(version, str) or not VERSION_RE.match(version.strip()):
        raise DockerOperationError(
            f"{host.name}: {setting}={version!r} is not a pinned version; give X.Y.Z, e.g. '27.3.1' "
            "(a floating 'latest' makes runs unrepeatable)"
        )
    return version.strip()


def _check_dir(path: Any, setting: str) -> str:
    if not isinstance(path, str) or not _ABS_DIR.match(path.strip().rstrip("\\")):
        raise DockerOperationError(
            f"{host.name}: {setting}={path!r} must be an absolute local directory such as "
            r"'C:\Program Files\Docker'"
        )
    return path.strip().rstrip("\\")


def _check_timeout(timeout: Any) -> int:
    if not isinstance(timeout, int) or timeout < 5:
        raise DockerOperationError(
            f"{host.name}: timeout={timeout!r} must be an integer of at least 5 seconds"
        )
    return timeout


def _features_not_enabled(names: tuple[str, ...]) -> list[str]:
    """Which of the optional features ``names`` are not ``Enabled`` on this host."""
    optional = host.get_fact(OptionalFeatures) or {}
    return [name for name in names if optional.get(name) != FEATURE_ENABLED]


# =============================================================================================
# docker.engine
# =============================================================================================


@operation()
def engine(
    version: str,
    source: str,
    sha256: str | None = None,
    install_dir: str = r"C:\Program Files\Docker",
    service_name: str = "docker",
    isolation: str = "process",
    allow_unverified: bool = False,
    timeout: int = 120,
    reboot_options: dict[str, Any] | None = None,
) -> Generator[Any, Any, None]:
    """
    Install or upgrade the native Docker engine (Windows containers) from a static zip.

    + version: the engine version the zip contains, X.Y.Z (e.g. ``27.3.1``).
    + source: the zip: an https URL (e.g.
      ``https://download.docker.com/win/static/stable/x86_64/docker-27.3.1.zip``), a UNC path
      or a file on the controller.
    + sha256: the zip's SHA-256 (required unless ``allow_unverified=True``).
    + install_dir: where docker.exe/dockerd.exe go; added to the machine PATH once.
    + service_name: the Windows service dockerd registers as.
    + isolation: ``process`` (Containers feature) or ``hyperv`` (Containers and Hyper-V).
    + allow_unverified: accept a zip without a checksum (warns).
    + timeout: seconds to wait for ``docker version`` after (re)starting the engine.
    + reboot_options: keyword arguments for ``windows.reboot_if_needed`` (``timeout``, ``delay``,
      ``connect_timeout``, ``poll_interval``) when the features need a restart.

    Ensures the features through ``windows.feature`` and reboots through
    ``windows.reboot_if_needed`` when they are pending. Registers the service with
    ``dockerd --register-service`` and no daemon flags (configuration belongs in daemon.json:
    ``docker.daemon_config``), re-registers it when its binary path differs. An upgrade stops the
    service, keeps the previous binaries in ``<install_dir>\\.winfra-previous``, swaps in the
    new ones, starts, waits for ``docker version`` and rolls back on failure.

    **Example:**

    .. code:: python

        docker.engine(
            version="27.3.1",
            source="https://download.docker.com/win/static/stable/x86_64/docker-27.3.1.zip",
            sha256="<sha256 from your mirror or the release notes>",
        )
    """
    version = _check_version(version, "version")
    install_dir = _check_dir(install_dir, "install_dir")
    if not isinstance(service_name, str) or not SERVICE_NAME_RE.match(service_name):
        raise DockerOperationError(
            f"{host.name}: service_name={service_name!r} is not a valid service name; use 1 to 80 letters, "
            "digits, '_', '.' or '-' (default 'docker')"
        )
    if isolation not in ("process", "hyperv"):
        raise DockerOperationError(f"{host.name}: isolation={isolation!r} must be 'process' or 'hyperv'")
    _check_timeout(timeout)
    allowed = {"timeout", "delay", "connect_timeout", "poll_interval"}
    if reboot_options is not None and (not isinstance(reboot_options, dict) or set(reboot_options) - allowed):
        raise DockerOperationError(
            f"{host.name}: reboot_options={reboot_options!r} may only set {', '.join(sorted(allowed))}"
        )

    # Bad source/sha256 must fail before the feature step changes anything.
    _source, expected = check_input(
        source, sha256, allow_unverified=allow_unverified, file_name=f"docker-{version}.zip"
    )

    info = host.get_fact(WindowsInfo)
    if info.get("is_home"):
        yield fail_host(
            f"{host.name}: Windows containers do not run on {info.get('caption') or 'Windows Home'}; "
            "use Pro, Enterprise or Windows Server [windows-facts.md E]"
        )
        return
    build = int(info.get("build") or 0)
    if isolation == "process" and not info.get("is_server") and build < 17763:
        yield fail_host(
            f"{host.name}: isolation='process' on a Windows client needs build 17763+ (this host: {build}); "
            "pass isolation='hyperv' [windows-facts.md E]"
        )
        return

    features = ["containers"] + (["hyper-v"] if isolation == "hyperv" else [])
    yield from windows_ops.feature._inner(features=features)
    yield from windows_ops.reboot_if_needed._inner(features=features, **(reboot_options or {}))

    eng = host.get_fact(DockerEngine)
    dockerd = ntpath.join(install_dir, "dockerd.exe")
    svc = DockerEngine.service(eng, service_name)
    have = {p.lower(): v for p, v in eng["binaries"].items()}.get(dockerd.lower())
    on_path = any(p.rstrip("\\").lower() == install_dir.lower() for p in eng["machine_path"])
    registered_here = svc is not None and (svc["binary"] or "").lower() == dockerd.lower()
    if have == version and registered_here and on_path and svc["state"] == "Running":
        host.noop(
            f"docker engine {version} is installed in {install_dir} and the {service_name} service is running"
        )
        return
    if have and have != version:
        logger.info(f"{host.print_prefix}upgrading docker engine {have} -> {version}")
    if svc is not None and not registered_here:
        logger.warning(
            f"{host.print_prefix}service {service_name} runs {svc['binary']}; it will be re-registered for "
            f"{dockerd} without daemon flags"
            + (f" (dropping {' '.join(svc['flags'])}: move them to daemon.json)" if svc["flags"] else "")
        )

    # The cache name is fixed: Expand-Archive only accepts a .zip name, whatever the URL looks like.
    zip_path = yield from acquire(
        source,
        expected,
        allow_unverified=allow_unverified,
        file_name=f"docker-{version}.zip",
        setting="source",
    )
    yield FunctionCommand(
        _run_script,
        (
            "docker_engine_install",
            {
                "zip": zip_path,
                "sha256": expected,
                "version": version,
                "install_dir": install_dir,
                "service_name": service_name,
                "timeout_s": timeout,
            },
            timeout * 2 + 120,
            f"docker engine {version}",
        ),
        {},
    )


# =============================================================================================
# docker.daemon_config
# =============================================================================================


def _render_config(template: str | None, config: Any, defaults: Any) -> str:
    if config is not None and not isinstance(config, dict):
        raise DockerOperationError(
            f"{host.name}: config must be a dict of daemon.json settings, got {type(config).__name__}"
        )
    if defaults is not None and not isinstance(defaults, dict):
        raise DockerOperationError(f"{host.name}: defaults must be a dict, got {type(defaults).__name__}")
    try:
        return render(
            template,
            config or {},
            defaults or {},
            search_dirs=[state.cwd] if getattr(state, "cwd", None) else [],
        )
    except FileNotFoundError as exc:
        raise DockerOperationError(f"{host.name}: {exc}") from exc
    except Exception as exc:  # jinja2 errors: undefined variable, syntax
        raise DockerOperationError(f"{host.name}: daemon.json template {template}: {exc}") from exc


@operation()
def daemon_config(
    template: str | None = "templates/daemon.json.j2",
    config: dict[str, Any] | None = None,
    target: str = "engine",
    user: str | None = None,
    create_group: bool = True,
    defaults: dict[str, Any] | None = None,
    timeout: int = 60,
) -> Generator[Any, Any, None]:
    """
    Manage ``daemon.json``: validated on the controller, written atomically without BOM, applied
    only when it changed, rolled back when dockerd does not come back.

    + template: Jinja2 template (variables ``config`` and ``defaults``); None renders ``config``.
    + config: daemon settings as dockerd spells them, e.g. ``{"group": "docker-users"}``.
    + target: ``engine`` (C:\\ProgramData\\docker\\config\\daemon.json, native engine),
      ``desktop`` (the user's ``.docker\\daemon.json``, Docker Desktop's Linux engine) or
      ``desktop-windows`` (the user's ``.docker\\windows-daemon.json``, Desktop's Windows engine).
    + user: the user whose profile holds the file (desktop targets only).
    + create_group: create the local group named by ``group`` when it does not exist (dockerd
      fails to start when it does not resolve); False makes a missing group an error.
    + defaults: settings used where ``config`` does not set the key.
    + timeout: seconds to wait for ``docker version`` after the restart.

    Validation (before anything runs): every key and value type against the Windows option table,
    Linux-only keys, isolation against the host build, data-root, the group, and keys also baked
    into the service's flags (``winfra/validation/daemon_json.py``). On the host: ``dockerd
    --validate`` when the engine is 23.0+, atomic replace, restart only on change, and if the
    daemon does not answer the previous file is restored and the engine restarted. Desktop targets
    are not restarted: Desktop applies them when its engine restarts. ``--diff`` prints a
    key-level JSON diff.

    **Example:**

    .. code:: python

        docker.daemon_config(config={"group": "docker-users", "log-level": "warn"})
    """
    if target not in TARGETS:
        raise DockerOperationError(f"{host.name}: target={target!r} must be one of {', '.join(TARGETS)}")
    if target == "engine" and user is not None:
        raise DockerOperationError(
            f"{host.name}: user= is only for the desktop targets; the engine file is machine-wide"
        )
    if target != "engine" and not (isinstance(user, str) and user.strip()):
        raise DockerOperationError(
            f"{host.name}: target={target!r} needs user= (whose %USERPROFILE%\\.docker to write)"
        )
    _check_timeout(timeout)
    text = _render_config(template, config, defaults)

    info = host.get_fact(WindowsInfo)
    ctx = DaemonJsonContext(
        host=host.name,
        target=target,  # type: ignore[arg-type]
        build=info.get("build"),
        is_server=info.get("is_server"),
        create_group=bool(create_group),
    )
    params: dict[str, Any] = {"target": target, "path": None, "user": None, "file_name": None}
    if target == "engine":
        eng = host.get_fact(DockerEngine)
        svc = DockerEngine.service(eng, "docker") or (eng["services"][0] if eng["services"] else None)
        ctx.engine_version = eng.get("version")
        ctx.service_flags = list(svc["flags"]) if svc else []
        ctx.local_groups = eng.get("local_groups")
        current = eng["config"]
        params["path"] = current.get("path") or ENGINE_CONFIG_PATH
        dockerd = svc["binary"] if svc else None
        modern = (version_tuple(ctx.engine_version) or (0,)) >= (23, 0, 0)
        params["dockerd"] = dockerd if (dockerd and modern) else None
        params["service"] = svc["name"] if svc else None
        params["docker"] = ntpath.join(ntpath.dirname(dockerd), "docker.exe") if dockerd else None
    else:
        desk = host.get_fact(DockerDesktop)
        ctx.local_groups = desk.get("local_groups")
        file_name = DESKTOP_FILE_NAMES[target]
        current = host.get_fact(DockerUserConfig, user=user, file_name=file_name)
        params.update(user=user, file_name=file_name, dockerd=None, service=None, docker=None)

    # Problems that do not depend on what is on the host right now (keys, types, Linux-only keys,
    # isolation vs build) stop the deploy before anything runs.
    static = dataclasses.replace(ctx, service_flags=[], local_groups=None)
    try:
        validate(text, static)
    except DaemonJsonError as exc:
        if getattr(state, "is_executing", False):
            # Raising while executing would abort the run for every host (pyinfra does not
            # catch it); fail only this host. While preparing, raising stops before any change.
            yield fail_host(str(exc))
            return
        raise DockerOperationError(str(exc)) from exc
    # Problems that depend on the host's current state (flags baked into the service, a missing
    # group) may be fixed by an earlier operation of this deploy (docker.engine re-registers the
    # service), and pyinfra evaluates every operation against the pre-run state first. So: a
    # warning while pyinfra prepares, a failure of this host when the operation runs.
    try:
        result = validate(text, ctx)
    except DaemonJsonError as exc:
        if not getattr(state, "is_executing", False):
            logger.warning(
                f"{host.print_prefix}{exc}\n(checked again when the operation runs: an earlier operation "
                "may change this)"
            )
            result = validate(text, static)
        else:
            yield fail_host(str(exc))
            return
    for warning in result.warnings:
        logger.warning(f"{host.print_prefix}daemon.json: {warning}")

    old_data, bom = parse_existing(current.get("content") if current.get("exists") else None)
    where = current.get("path") or params["path"] or f"{user}'s .docker\\{params['file_name']}"
    if current.get("exists") and old_data == result.data and not bom and not result.groups_to_create:
        host.noop(f"{where} already has these settings")
        return
    if getattr(state.config, "DIFF", False):
        diff = json_diff(old_data, result.data) or ["(same settings; rewritten without the BOM)"]
        logger.info(f"{host.print_prefix}daemon.json diff ({where}):\n    " + "\n    ".join(diff))
    if bom:
        logger.warning(f"{host.print_prefix}{where} starts with a BOM; it is rewritten without one")
    params.update(content=result.text, create_groups=result.groups_to_create, timeout_s=timeout)
    yield FunctionCommand(
        _run_script,
        ("docker_daemon_config", params, timeout * 3 + 60, f"daemon.json ({target})"),
        {},
    )


# =============================================================================================
# docker.desktop
# =============================================================================================


@operation()
def desktop(
    version: str,
    source: str,
    sha256: str | None = None,
    backend: str = "wsl-2",
    installation_dir: str | None = None,
    wsl_data_root: str | None = None,
    windows_containers_data_root: str | None = None,
    always_run_service: bool = False,
    users: Iterable[str] = (),
    allow_unverified: bool = False,
    timeout: int = 1800,
) -> Generator[Any, Any, None]:
    """
    Install or upgrade Docker Desktop on a Windows 10/11 dev box, and grant users access.

    + version: the Desktop version the installer contains, X.Y.Z (e.g. ``4.36.0``).
    + source: the installer: an https URL (e.g. a versioned
      ``https://desktop.docker.com/win/main/amd64/<build>/Docker%20Desktop%20Installer.exe``),
      a UNC path or a file on the controller.
    + sha256: the installer's SHA-256 (required unless ``allow_unverified=True``).
    + backend: ``wsl-2`` (default), ``hyper-v`` or ``windows``.
    + installation_dir: ``--installation-dir`` (default ``C:\\Program Files\\Docker\\Docker``).
    + wsl_data_root: ``--wsl-default-data-root`` (first install only).
    + windows_containers_data_root: ``--windows-containers-default-data-root``.
    + always_run_service: ``--always-run-service`` (com.docker.service Automatic, no UAC prompt).
    + users: accounts to add to ``docker-users`` (they must sign out and in).
    + allow_unverified: accept an installer without a checksum (warns).
    + timeout: seconds the installer may take.

    Runs ``"Docker Desktop Installer.exe" install --quiet --accept-license --backend=...``; exit 0
    is success, 3 already installed, 3010 success with a reboot needed, anything else fails with
    the tail of the install log. Upgrades when the installed version differs. Refuses Windows
    Server, the WSL 2 backend without WSL 2 ready (VirtualMachinePlatform enabled, WSL 2.1.5+)
    and the Hyper-V/Windows backends on Home (windows-facts.md B.7). Desktop is not started: it
    starts at the user's next interactive logon (B.8).

    **Example:**

    .. code:: python

        docker.desktop(version="4.36.0", source="https://desktop.docker.com/win/main/amd64/175267/"
                       "Docker%20Desktop%20Installer.exe", sha256="<sha256>", users=["dev"])
    """
    version = _check_version(version, "version")
    _check_timeout(timeout)
    if backend not in DESKTOP_BACKENDS:
        raise DockerOperationError(
            f"{host.name}: backend={backend!r} must be one of {', '.join(DESKTOP_BACKENDS)}"
        )
    if installation_dir is not None:
        installation_dir = _check_dir(installation_dir, "installation_dir")
    for setting, value in (
        ("wsl_data_root", wsl_data_root),
        ("windows_containers_data_root", windows_containers_data_root),
    ):
        if value is not None:
            _check_dir(value, setting)
    if isinstance(users, str):
        users = [users]
    users = [u.strip() for u in users if isinstance(u, str) and u.strip()]
    _source, expected = check_input(
        source, sha256, allow_unverified=allow_unverified, file_name="Docker Desktop Installer.exe"
    )

    info = host.get_fact(WindowsInfo)
    if info.get("is_server"):
        yield fail_host(
            f"{host.name}: Docker Desktop is not supported on {info.get('caption') or 'Windows Server'} "
            '("not supported on server versions of Windows", windows-facts.md B.7). Use docker.engine '
            "for the native engine instead"
        )
        return
    if info.get("is_home") and backend != "wsl-2":
        yield fail_host(
            f"{host.name}: backend={backend!r} needs Hyper-V / Windows containers, which "
            f"{info.get('caption') or 'Windows Home'} does not have; use backend='wsl-2' "
            "[windows-facts.md B.7]"
        )
        return
    if backend in ("hyper-v", "windows"):
        # windows-facts.md B.7: the Hyper-V backend (and Windows containers) need the Hyper-V and
        # Containers features.
        off = _features_not_enabled(("Microsoft-Hyper-V", "Containers"))
        if off:
            yield fail_host(
                f"{host.name}: backend={backend!r} needs the {' and '.join(off)} feature(s) enabled; run "
                "windows.feature(features=['hyper-v', 'containers']) and windows.reboot_if_needed() first "
                "[windows-facts.md B.7]"
            )
            return
    if backend == "wsl-2":
        problem = _wsl2_not_ready()
        if problem:
            yield fail_host(f"{host.name}: Docker Desktop's WSL 2 backend needs WSL 2 ready: {problem}")
            return

    desk = host.get_fact(DockerDesktop)
    members = {account_key(m) for m in ((desk.get("users_group") or {}).get("members") or [])}
    missing_users = [u for u in users if account_key(u) not in members]
    install = desk.get("version") != version
    if not install and not missing_users:
        host.noop(
            f"Docker Desktop {version} is installed"
            + (f"; {', '.join(users)} in {DOCKER_USERS}" if users else "")
        )
        return

    params: dict[str, Any] = {"installer": None, "sha256": None, "args": [], "users": missing_users}
    if install:
        if desk.get("version"):
            logger.info(f"{host.print_prefix}upgrading Docker Desktop {desk['version']} -> {version}")
            if wsl_data_root:
                logger.warning(
                    f"{host.print_prefix}wsl_data_root only applies to a first install; use "
                    "docker.desktop_data_location to move existing data"
                )
        args = ["install", "--quiet", "--accept-license", f"--backend={backend}"]
        if installation_dir:
            args.append(f"--installation-dir={installation_dir}")
        if wsl_data_root and not desk.get("version"):
            args.append(f"--wsl-default-data-root={wsl_data_root}")
        if windows_containers_data_root:
            args.append(f"--windows-containers-default-data-root={windows_containers_data_root}")
        if always_run_service:
            args.append("--always-run-service")
        path = yield from acquire(
            source,
            expected,
            allow_unverified=allow_unverified,
            file_name="Docker Desktop Installer.exe",
            setting="source",
        )
        params.update(installer=path, sha256=expected, args=args)
    yield FunctionCommand(
        _run_script, ("docker_desktop_install", params, timeout + 60, f"Docker Desktop {version}"), {}
    )


def _wsl2_not_ready() -> str | None:
    optional = host.get_fact(OptionalFeatures) or {}
    vmp = optional.get("VirtualMachinePlatform")
    if vmp != FEATURE_ENABLED:
        return (
            f"the VirtualMachinePlatform feature is {vmp or 'missing'}; run "
            "windows.feature(features=['wsl']) "
            "and windows.reboot_if_needed() first"
        )
    wsl = host.get_fact(WslInstallation)
    if wsl.get("kind") != "package":
        return "the WSL package is not installed; run wsl.installed() first"
    have = version_tuple(wsl.get("version"))
    if have is not None and have < DESKTOP_MIN_WSL:
        return (
            f"WSL {wsl.get('version')} is older than 2.1.5 (windows-facts.md B.7); "
            "update it with wsl.installed()"
        )
    return None


# =============================================================================================
# docker.desktop_data_location
# =============================================================================================


@operation()
def desktop_data_location(location: str, user: str) -> Generator[Any, Any, None]:
    """
    Put Docker Desktop's WSL data (images, volumes) at ``location``, by documented means only.

    + location: absolute directory, e.g. ``D:\\docker-data``.
    + user: the Desktop user whose data moves (Desktop keeps it per user).

    Desktop must be stopped. Old layout (Desktop up to 4.29: a ``docker-desktop-data`` distro):
    that distro is relocated with the data-safe WSL relocation (``wsl.distro_location``). 4.30+
    layout (one ``docker-desktop`` distro plus a data VHDX): Desktop's own setting
    ``customWslDistroDir`` ("Disk image location") is set in the user's settings-store.json, only
    while Desktop has no data yet (a fresh install that never ran); existing data is moved only by
    Desktop itself (Settings > Resources > Advanced), so that case is refused with the steps. The
    ``docker-desktop`` distro itself is never moved (windows-facts.md B.6; docker/for-win#13550).
    For a first install, ``docker.desktop(wsl_data_root=...)`` does the same at install time.

    **Example:**

    .. code:: python

        docker.desktop_data_location(location="D:\\\\docker-data", user="dev")
    """
    if not isinstance(user, str) or not user.strip():
        raise DockerOperationError(
            f"{host.name}: desktop_data_location needs user= (whose Desktop data to move)"
        )
    target = wsl_ops.check_location(location, host.name, "docker-desktop-data")
    user_name, su = resolve_target_user(host, user, DockerOperationError)
    desk = host.get_fact(DockerDesktop)
    if not desk.get("installed"):
        yield fail_host(
            f"{host.name}: Docker Desktop is not installed; install it with "
            f"docker.desktop(wsl_data_root={target!r}) to put its data there from the start"
        )
        return
    distros = host.get_fact(WslDistros, user=user_name, **su)
    data = find_distro(distros, "docker-desktop-data")
    running = [
        d["name"]
        for d in distros
        if d["name"].lower().startswith("docker-desktop") and d.get("state") == "Running"
    ]
    if running:
        yield fail_host(
            f"{host.name}: Docker Desktop is running for {user_name} ({', '.join(running)} running); quit "
            "Docker Desktop first (a move while it runs corrupts the data, windows-facts.md B.6)"
        )
        return
    if data is not None:
        # The data-safe relocation (export/import or --manage --move, verified, rolled back on failure).
        yield from wsl_ops.distro_location._inner(
            distro=data["name"], location=target, user=user_name, allow_docker_desktop=True
        )
        return

    settings = host.get_fact(DockerDesktopSettings, user=user_name)
    current = (settings.get("custom_dir") or "").rstrip("\\")
    if current.lower() == target.lower():
        host.noop(f"{user_name}'s Docker Desktop disk image location is already {target}")
        return
    if settings.get("settings_error"):
        yield fail_host(
            f"{host.name}: {settings.get('settings_path')} is not valid JSON ({settings['settings_error']}); "
            "Docker Desktop rewrites it at its next start, then run again"
        )
        return
    if settings.get("data_exists"):
        yield fail_host(
            f"{host.name}: {user_name}'s Docker Desktop (4.30+ layout) already has data in "
            f"{settings.get('data_vhdx')}. Only Docker Desktop moves it: Settings > Resources > Advanced > "
            f"Disk image location = {target} (customWslDistroDir; windows-facts.md B.6, "
            "docker/for-win#13408). winfra does not move it by hand (docker/for-win#13550)"
        )
        return
    yield FunctionCommand(
        _run_script,
        (
            "docker_desktop_data_dir",
            {"user": user_name, "location": target},
            120,
            "Docker Desktop data location",
        ),
        {},
    )


# =============================================================================================
# docker.desktop_engine
# =============================================================================================


@operation()
def desktop_engine(engine: str, user: str, timeout: int = 120) -> Generator[Any, Any, None]:
    """
    Switch a user's Docker Desktop to the Linux or the Windows containers engine.

    + engine: ``linux`` or ``windows``.
    + user: the Desktop user; the switch runs as them, in their session (host data
      ``winfra_user_password`` when it is not the WinRM user, as for the WSL operations).
    + timeout: seconds for the switch.

    Desktop must be running in that user's interactive session: it never starts over WinRM
    (windows-facts.md B.8), so a host where it is not running fails with that explanation. The
    Windows engine needs the Containers and Hyper-V features (windows-facts.md B.7, C.3). Uses
    ``docker desktop engine use`` (Desktop 4.37+) or ``DockerCli.exe -SwitchWindowsEngine``
    (B.6), then waits for ``docker info`` to report the new OSType.

    **Example:**

    .. code:: python

        docker.desktop_engine(engine="windows", user="dev")
    """
    if engine not in ("linux", "windows"):
        raise DockerOperationError(f"{host.name}: engine={engine!r} must be 'linux' or 'windows'")
    if not isinstance(user, str) or not user.strip():
        raise DockerOperationError(
            f"{host.name}: desktop_engine needs user= (whose Docker Desktop to switch)"
        )
    _check_timeout(timeout)
    user_name, su = resolve_target_user(host, user, DockerOperationError)
    desk = host.get_fact(DockerDesktop)
    if not desk.get("installed"):
        yield fail_host(f"{host.name}: Docker Desktop is not installed; install it with docker.desktop first")
        return
    if engine == "windows":
        off = _features_not_enabled(("Containers", "Microsoft-Hyper-V"))
        if off:
            yield fail_host(
                f"{host.name}: Docker Desktop's Windows engine needs the {' and '.join(off)} feature(s); run "
                "windows.feature(features=['containers', 'hyper-v']) and windows.reboot_if_needed() first "
                "[windows-facts.md B.7, C.3]"
            )
            return
    install_dir = desk.get("install_dir") or r"C:\Program Files\Docker\Docker"
    docker_exe = ntpath.join(install_dir, "resources", "bin", "docker.exe")
    current = host.get_fact(DockerDesktopEngine, docker=docker_exe, **su)
    if not current.get("running"):
        yield fail_host(
            f"{host.name}: Docker Desktop is not running in {user_name}'s session, so its engine cannot be "
            "switched; Desktop starts at the user's next interactive logon (windows-facts.md B.8). "
            f"Run again once it runs ({current.get('error') or 'no answer'})"
        )
        return
    if current.get("os_type") == engine:
        host.noop(f"{user_name}'s Docker Desktop already runs the {engine} engine")
        return
    params = {
        "engine": engine,
        "docker": docker_exe,
        "docker_cli": ntpath.join(install_dir, "DockerCli.exe"),
        "timeout_s": timeout,
    }
    yield StringCommand(render_script("docker_desktop_engine", params), _timeout=timeout * 2 + 60, **su)


# =============================================================================================
# docker.smoke_test
# =============================================================================================


@operation(is_idempotent=False)
def smoke_test(
    image: str | None = None, isolation: str | None = None, docker: str | None = None, timeout: int = 600
) -> Generator[Any, Any, None]:
    """
    Run a Windows container matched to the host build, and explain a mismatch.

    + image: the image to run; default ``hello-world:nanoserver-<tag>`` for this host's build
      (``ContainerCompatibility``, Microsoft's table in windows-facts.md E).
    + isolation: ``process`` or ``hyperv``; default the engine's.
    + docker: path of docker.exe (default: the engine's install dir, else ``docker`` on PATH).
    + timeout: seconds for the pull and run.

    Errors are explained, not dumped: 0xc0370101 (the image's Windows build does not match the
    host) names the tags that fit; "linux only supports 'default'" means the engine is Docker
    Desktop's Linux engine.

    **Example:**

    .. code:: python

        docker.smoke_test()
    """
    _check_timeout(timeout)
    if isolation not in (None, "process", "hyperv"):
        raise DockerOperationError(f"{host.name}: isolation={isolation!r} must be 'process' or 'hyperv'")
    compat = host.get_fact(ContainerCompatibility)
    image = image or compat.get("smoke_test_image")
    if not image:
        yield fail_host(
            f"{host.name}: no Windows base image runs on build {compat.get('build')} [windows-facts.md E]"
        )
        return
    if docker is None:
        eng = host.get_fact(DockerEngine)
        svc = DockerEngine.service(eng, "docker")
        docker = ntpath.join(ntpath.dirname(svc["binary"]), "docker.exe") if svc else "docker"
    params = {"docker": docker, "image": image, "isolation": isolation, "timeout_s": timeout}
    facts = {"build": compat.get("build"), "images": [dict(i) for i in compat.get("images") or []]}
    yield FunctionCommand(_smoke, (params, facts), {})


def _smoke(state: Any, host: Any, params: dict[str, Any], compat: dict[str, Any]) -> bool:
    ok, result, stderr = run_script(host, "docker_smoke_test", params, timeout=params["timeout_s"] + 60)
    data = result if isinstance(result, dict) else {}
    if ok and data.get("exit_code") == 0:
        logger.info(f"{host.print_prefix}{params['image']} ran: Windows containers work")
        return True
    detail = data.get("output") or _error_text(stderr)
    log_host_error(host, f"smoke test failed: {explain_container_error(detail, compat)}")
    return False


def explain_container_error(output: str, compat: dict[str, Any]) -> str:
    """Turn the two classic Windows-container failures into advice (windows-facts.md E)."""
    if "0xc0370101" in output.lower() or "does not match the operating system of the host" in output:
        fits = [
            f"{i['tag']} ({'process' if i['process'] else 'hyperv only'})" for i in compat.get("images", [])
        ]
        return (
            f"the image's Windows build does not match this host (build {compat.get('build')}; "
            "error 0xc0370101). "
            f"Use a tag built for it: {', '.join(fits) or 'none'}, or run with --isolation=hyperv "
            "[windows-facts.md E]"
        )
    if "linux only supports 'default'" in output:
        return (
            "the engine is Docker Desktop's Linux engine, which has no Windows isolation ('linux only "
            "supports 'default''). Switch Desktop to Windows containers or target the native engine "
            "[windows-facts.md E, B.6]"
        )
    return output.strip()[-800:]
