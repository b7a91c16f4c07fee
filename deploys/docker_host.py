"""Turn Windows hosts into Docker hosts: `pyinfra inventories/lab.py deploys/docker_host.py`.

Role (host data ``winfra_role``, or the group ``devboxes`` / ``container_hosts``):

* devbox: WSL2 + Docker Desktop for the target user ``winfra_user`` (Windows 10/11).
* container_host: the native Docker engine (Windows Server), Windows containers.

Flow per host; every setting comes from host data with a documented default
(winfra/deploy_settings.py, README.md "Inventory data reference"):

1. Settings and preflight: bad or missing host data (a sha256, the target user's password, an
   unknown daemon.json key...) and hosts that cannot get what the role needs (Home edition, old
   build, virtualization off, filtered admin token...) fail *that host* before any change; the
   other hosts carry on.
2. Windows features (one DISM / Install-WindowsFeature call).
3. At most one reboot, only when this run needs it (``reboot_policy``). ``reboot_batch`` caps
   how many hosts of a role reboot at once: pyinfra runs one operation with one ``_parallel``,
   so each role's reboot step uses the smallest positive value among that role's hosts. With
   ``reboot_policy: never`` a needed reboot stops the host with the fix.
4. WSL + Docker Desktop (dev box) or the pinned engine zip + service (container host).
5. Configuration: ``.wslconfig`` (templates/wslconfig.j2) and ``daemon.json``
   (templates/daemon.json.j2), validated on the controller first. ``--diff`` shows their diffs.
6. WSL distro relocation (``wsl_relocations``), each after a check step that fails only this
   host when the distro is missing, WSL1 or the target is taken.
7. Verification: the pinned versions and ``docker version``; on container hosts a smoke-test
   container with ``docker_smoke_test: true`` (Desktop's engine runs only in the user's session,
   so dev boxes skip it with a note).

At the end a per-host summary (winfra.deploy_summary): what changed, reboots, versions, and for
a failed host the step and the reason. ``--dry`` lists the planned changes without the summary.

Note for operation authors: with ``-y`` pyinfra runs operation bodies during execution, where an
exception aborts the whole run for every host. Host-dependent problems are therefore reported
by a failing step (the host leaves the run); this deploy checks host data up front so that the
operations' argument checks cannot trip on one host's data.
"""

from __future__ import annotations

import inspect
import ntpath
import os
from typing import Any

from pyinfra import host, logger, state
from pyinfra.api import FunctionCommand, operation

from winfra import deploy_summary
from winfra.deploy_settings import (
    DAEMON_TEMPLATE,
    WSLCONFIG_TEMPLATE,
    DockerHostSettings,
    SettingsError,
    reboot_batches,
    settings_for,
)
from winfra.operations import docker, windows, wsl
from winfra.operations._steps import fail_host


def _fail(state: Any, host: Any, message: str) -> bool:
    """A step that fails only this host (returning False fails the command, pyinfra drops the host)."""
    host.log_styled(message, fg="red", log_func=logger.error)
    return False


@operation(is_idempotent=False)
def _checked(message: str):
    """
    Fail this host with ``message`` (settings or pending-reboot problems).

    + message: what is wrong and how to fix it.
    """
    if not host.state.is_executing:
        # Visible in --dry as well; during execution the failing step removes the host.
        logger.error(f"{host.print_prefix}{message}")
    yield FunctionCommand(_fail, (message,), {})


def _load_settings() -> DockerHostSettings | None:
    try:
        return settings_for(host.name, host.data.dict(), host.groups)
    except SettingsError as exc:
        deploy_summary.record_role(host, host.data.get("winfra_role"))
        _checked(name="winfra: check host data", message=str(exc))
        return None


def _role_reboot_batch(role: str) -> int:
    """The ``reboot_batch`` of this role's reboot step (one ``_parallel`` per operation)."""
    return reboot_batches(host.inventory).get(role, 0)


# ---------------------------------------------------------------------------------------------
# 1-3: preflight, features, at most one reboot
# ---------------------------------------------------------------------------------------------


def _pending_reboot_problem() -> str | None:
    """reboot_policy: never. Why this host must stop (a reboot this deploy needs is pending)."""
    from winfra.facts.windows import PendingReboot

    pending = host.get_fact(PendingReboot) or {}
    why = [f"{name} is {st}" for name, st in (pending.get("pending_features") or {}).items()]
    if pending.get("cbs_reboot_pending"):
        why.append("CBS RebootPending is set")
    if not why:
        return None
    return (
        f"{host.name}: a reboot is needed ({'; '.join(why)}) and host data reboot_policy is 'never'. "
        "Fix: reboot the host yourself and run the deploy again, or set reboot_policy: auto."
    )


def _reboot_step(s: DockerHostSettings, name: str) -> None:
    if s.reboot_policy == "auto":
        windows.reboot_if_needed(
            name=name,
            timeout=s.reboot_timeout_sec,
            _parallel=_role_reboot_batch(s.role),  # 0 = pyinfra's own parallelism
        )
    else:
        _no_reboot_pending(name="winfra: check that no reboot is pending (reboot_policy: never)")


@operation()
def _no_reboot_pending():
    """
    reboot_policy: never. Fail this host when a reboot is pending: reads only, so a host with
    nothing pending is "no change".
    """
    if not host.state.is_executing:
        host.noop("a pending reboot is checked when the deploy runs")
        return
    problem = _pending_reboot_problem()
    if problem:
        yield fail_host(problem)
        return
    host.noop("no reboot is pending")


def _preflight_and_features(s: DockerHostSettings) -> None:
    devbox = s.role == "devbox"
    windows.requirements(
        name="winfra: preflight",
        wsl2=devbox and s.desktop_backend == "wsl-2",
        docker_desktop=devbox,
        hyper_v="hyper-v" in s.features,
        windows_containers=not devbox,
        features=list(s.features),
    )
    windows.feature(name="winfra: Windows features", features=list(s.features))


# ---------------------------------------------------------------------------------------------
# 4-6: dev box
# ---------------------------------------------------------------------------------------------


def _devbox(s: DockerHostSettings) -> None:
    _reboot_step(s, "winfra: reboot if needed (dev box, at most once)")
    wsl.installed(
        name="winfra: WSL",
        source=s.wsl_msi_url,
        sha256=s.wsl_msi_sha256,
        version=s.wsl_version,
        user=s.user,
    )
    users = [s.user, *s.docker_group_members] if s.user else list(s.docker_group_members)
    docker.desktop(
        name="winfra: Docker Desktop",
        version=s.desktop_version,
        source=s.desktop_url,
        sha256=s.desktop_sha256,
        backend=s.desktop_backend,
        users=users,
    )
    if s.wsl_settings:
        wsl.config(
            name="winfra: .wslconfig", user=s.user, template=WSLCONFIG_TEMPLATE, settings=s.wsl_settings
        )
    if s.daemon_config:
        docker.daemon_config(
            name="winfra: Docker Desktop daemon.json",
            template=DAEMON_TEMPLATE,
            config=s.daemon_config,
            defaults=s.daemon_defaults,
            target="desktop",
            user=s.user,
        )
    # host.loop keeps the operation order consistent between hosts with different lists.
    for distro, location in host.loop(sorted(s.wsl_relocations.items())):
        _relocatable(name=f"winfra: check WSL distro {distro}", distro=distro, location=location, user=s.user)
        wsl.distro_location(
            name=f"winfra: move WSL distro {distro}", distro=distro, location=location, user=s.user
        )


def _relocation_problem(distro: str, location: str, user: str | None) -> str | None:
    """Why ``wsl.distro_location`` would refuse the move on this host, or None.

    That operation refuses a missing or WSL1 distro or a target used by another distro with a
    failing step; checking the same facts first (the same per-user read, so the connector's cache
    answers the operation's own read) names the host-data key and the fix in the summary.
    """
    from winfra.facts.wsl import WslDistros, WslRelocationJournals, find_distro
    from winfra.target_user import resolve_target_user
    from winfra.windows_paths import normalize_windows_path

    user_name, su = resolve_target_user(host, user)
    journals = host.get_fact(WslRelocationJournals, user=user_name, **su)
    if any(str(name).lower() == distro.lower() for name in journals):
        return None  # an interrupted move: the operation finishes or rolls it back
    distros = host.get_fact(WslDistros, user=user_name, **su)
    current = find_distro(distros, distro)
    if current is None:
        names = ", ".join(d["name"] for d in distros) or "none"
        return (
            f"{user_name} has no WSL distro named {distro!r} (they have: {names}). Fix: install it as "
            f"{user_name} (wsl --install -d {distro}) or remove it from wsl_relocations"
        )
    if current["version"] != 2:
        return f"{distro} is a WSL1 distro and only WSL2 disks can move. Fix: wsl --set-version {distro} 2"
    target = normalize_windows_path(location)
    other = next(
        (
            d["name"]
            for d in distros
            if d["name"] != current["name"] and normalize_windows_path(d["base_path"]) == target
        ),
        None,
    )
    if other:
        return f"{location} is the location of distro {other}. Fix: choose another directory"
    return None


@operation()
def _relocatable(distro: str, location: str, user: str | None):
    """
    Check that a distro can be moved: reads only, so a movable distro is "no change".

    + distro: the distro to move.
    + location: where it goes.
    + user: the target user.
    """
    if not host.state.is_executing:
        host.noop(f"{distro} is checked when the deploy runs")
        return
    problem = _relocation_problem(distro, location, user)
    if problem:
        yield fail_host(f"{host.name}: host data 'wsl_relocations': {problem}")
        return
    host.noop(f"{distro} can move to {location}")


# ---------------------------------------------------------------------------------------------
# 4-5: container host
# ---------------------------------------------------------------------------------------------


def _container_host(s: DockerHostSettings) -> None:
    _reboot_step(s, "winfra: reboot if needed (container host, at most once)")
    docker.engine(
        name="winfra: Docker engine",
        version=s.engine_version,
        source=s.effective_engine_url,
        sha256=s.engine_sha256,
        install_dir=s.engine_install_dir,
        isolation=s.isolation or "process",
        # Used only if the features still need a restart here (the reboot step above did it).
        reboot_options={"timeout": s.reboot_timeout_sec},
    )
    docker.daemon_config(
        name="winfra: daemon.json",
        template=DAEMON_TEMPLATE,
        config=s.daemon_config,
        defaults=s.daemon_defaults,
        target="engine",
    )


# ---------------------------------------------------------------------------------------------
# 7: verification
# ---------------------------------------------------------------------------------------------


def _verification_problem(s: DockerHostSettings) -> str | None:
    """Why this host fails verification, or None: the pinned versions from the facts, and on a
    container host ``docker version`` against the engine (a read-mode script, so a healthy host
    costs no state change and a converged run stays "no change")."""
    from winfra.facts.docker import DockerDesktop, DockerEngine, DockerVersion
    from winfra.facts.windows import WindowsInfo
    from winfra.facts.wsl import WslInstallation

    info = host.get_fact(WindowsInfo) or {}
    versions: dict[str, str] = {"Windows": f"{info.get('build')}.{info.get('ubr')}"}
    if s.role == "container_host":
        engine = host.get_fact(DockerEngine)
        svc = DockerEngine.service(engine, "docker")
        if svc is None or svc.get("state") != "Running":
            deploy_summary.record_versions(host, versions)
            return (
                f"{host.name}: verification: the docker service is "
                f"{'not registered' if svc is None else svc.get('state')}. Fix: look at the engine's event "
                "log (Get-WinEvent -ProviderName docker) and run the deploy again"
            )
        docker_exe = ntpath.join(ntpath.dirname(svc["binary"]) or s.engine_install_dir, "docker.exe")
    else:
        wsl_inst = host.get_fact(WslInstallation)
        versions["WSL"] = str(wsl_inst.get("version") or wsl_inst.get("kind"))
        desk = host.get_fact(DockerDesktop)
        versions["Docker Desktop"] = str(desk.get("version"))
        if desk.get("version") != s.desktop_version:
            deploy_summary.record_versions(host, versions)
            return (
                f"{host.name}: verification: Docker Desktop {desk.get('version')} is installed, host data "
                f"docker_desktop_version pins {s.desktop_version}"
            )
        if not desk.get("exe_exists"):
            deploy_summary.record_versions(host, versions)
            return (
                f"{host.name}: verification: Docker Desktop {desk.get('version')} is registered but "
                f"Docker Desktop.exe is missing from {desk.get('install_dir')}. Fix: repair or reinstall "
                "Docker Desktop (remove it, then run the deploy again)"
            )
        deploy_summary.record_versions(host, versions)
        # Desktop's engine runs only in the user's interactive session (windows-facts.md B.7, B.8):
        # over WinRM `docker version` can only show the client, so it is not run on dev boxes.
        deploy_summary.add_note(
            host,
            f"Docker Desktop starts when {s.user} logs on; its engine runs only in that session, "
            "so it is not checked over WinRM",
        )
        return None

    answer = host.get_fact(DockerVersion, docker=docker_exe)
    doc = answer.get("version") or {}
    error = (answer.get("error") or "").strip()
    client = doc.get("Client") or {}
    server = doc.get("Server") or {}
    if client.get("Version"):
        versions["docker CLI"] = str(client["Version"])
    if server.get("Version"):
        versions["engine"] = str(server["Version"])
    deploy_summary.record_versions(host, versions)

    if server.get("Version") != s.engine_version:
        reason = (
            f"the engine answers with version {server['Version']}"
            if server.get("Version")
            else f"the engine does not answer: {error.splitlines()[-1] if error else 'no output'}"
        )
        return (
            f"{host.name}: verification: `docker version` failed ({reason}); host data "
            f"docker_engine_version pins {s.engine_version}"
        )
    return None


@operation()
def _verified(settings: DockerHostSettings):
    """
    Verify Docker on this host: reads only, so a healthy host is "no change".

    + settings: the host's validated settings.
    """
    if not host.state.is_executing:
        host.noop("Docker is verified when the deploy runs")
        return
    problem = _verification_problem(settings)
    if problem:
        yield fail_host(problem)
        return
    host.noop("docker version answers with the pinned versions")


def _verification(s: DockerHostSettings) -> None:
    _verified(name="winfra: verify Docker (docker version)", settings=s)
    if s.smoke_test and s.role == "container_host":
        docker.smoke_test(
            name="winfra: verify Docker (smoke test)",
            image=s.smoke_test_image,
            isolation=s.isolation,
            docker=ntpath.join(s.engine_install_dir, "docker.exe"),
        )
    elif s.smoke_test:
        # Desktop's engine runs only in the user's session (windows-facts.md B.8): no container
        # can be started over WinRM on a dev box.
        deploy_summary.add_note(host, "docker_smoke_test is skipped on dev boxes (Desktop runs per session)")


# ---------------------------------------------------------------------------------------------
# The deploy
# ---------------------------------------------------------------------------------------------


def _speed_up_operation_order() -> None:
    """Make pyinfra's per-operation ``inspect.stack()`` cheap for frames of this file.

    pyinfra orders operations by the call stack (``get_operation_order_from_stack``, which calls
    ``inspect.stack()`` for every operation call of every host). For a frame whose file belongs to
    no module, as this exec'd deploy file, CPython's ``inspect.getmodule`` re-scans all of
    ``sys.modules`` each time. Registering the file under a module name that does not exist gives
    the same answer (no module) from the cache: with 50 hosts it halves the time pyinfra spends
    loading this deploy (0.7 s to 0.35 s, bench/fleet.py).
    """
    path = globals().get("__file__")
    if path:
        inspect.modulesbyfile.setdefault(os.path.abspath(path), "__winfra_docker_host_deploy__")


_speed_up_operation_order()
deploy_summary.install(state)
settings = _load_settings()
if settings is not None:
    deploy_summary.record_role(host, settings.role)
    if settings.sim_placeholders:
        logger.warning(
            f"{host.name}: {', '.join(settings.sim_placeholders)} still hold the simulator placeholder "
            "'winsim:auto'"
        )
    _preflight_and_features(settings)
    if settings.role == "devbox":
        _devbox(settings)
    else:
        _container_host(settings)
    _verification(settings)
