"""Turn Windows hosts into Docker hosts: `pyinfra inventories/lab.py deploys/docker_host.py`.

DRAFT (issue 7, helper H8): the flow, the settings and the failure handling are final; the calls
into winfra.operations.docker use the names proposed below and are reconciled by the lead with
the Docker helper's module (see ``_DOCKER_OPS``).

Role (host data ``winfra_role``, or the group ``devboxes`` / ``container_hosts``):

* devbox: WSL2 + Docker Desktop for the target user ``winfra_user`` (Windows 10/11).
* container_host: the native Docker engine (Windows Server), Windows containers.

Flow per host, every setting from host data with a documented default (winfra.deploy_settings,
docs/README-draft.md "Inventory data reference"):

1. settings + preflight: bad or missing host data (a sha256, the target user's password, a
   Linux-only daemon key...) and hosts that cannot get what the role needs (Home edition, old
   build, virtualization off, filtered admin token...) fail *that host* before any change;
   the other hosts carry on.
2. Windows features (one DISM / Install-WindowsFeature call).
3. At most one reboot, only when this run needs it (``reboot_policy``; ``reboot_batch`` caps how
   many hosts reboot at once: one value per run, the smallest positive one among the hosts,
   because pyinfra runs an operation with one parallelism). With ``reboot_policy: never`` a
   needed reboot stops the host.
4. WSL + Docker Desktop (dev box) or the pinned engine zip + service (container host).
5. Configuration: ``.wslconfig`` (templates/wslconfig.j2) and ``daemon.json``
   (templates/daemon.json.j2), both validated on the controller first.
6. WSL distros: install the listed ones, move them (``wsl_relocations``).
7. Verification: ``docker version``; a smoke-test container with ``docker_smoke_test: true``.
"""

from __future__ import annotations

from typing import Any

from pyinfra import host, logger
from pyinfra.operations import python

from winfra.deploy_settings import DockerHostSettings, SettingsError, common_reboot_batch, settings_for
from winfra.operations import windows, wsl

try:  # the Docker helper's module; optional until it lands
    from winfra.operations import docker
except ImportError:  # pragma: no cover - depends on the tree state
    docker = None  # type: ignore[assignment]

# Proposed names/arguments of the Docker operations this deploy needs (lead: reconcile).
_DOCKER_OPS = {
    "desktop_installed": "version, source, sha256, backend, user",
    "engine_installed": "version, source, sha256, install_dir",
    "daemon_config": "config, defaults, target ('engine' | 'desktop' | 'desktop-windows'), user",
    "group_members": "group, members",
    "verified": "smoke_test, image, user",
}


def _fail(state: Any, host: Any, message: str) -> bool:
    """A step that fails only this host (returning False fails the command, pyinfra drops the host)."""
    host.log_styled(message, fg="red", log_func=logger.error)
    return False


def _stop_if_reboot_pending(state: Any, host: Any) -> bool:
    """reboot_policy: never. A reboot this deploy needs is pending: stop this host with the fix."""
    from winfra.facts.windows import PendingReboot

    pending = host.get_fact(PendingReboot) or {}
    why = [f"{name} is {st}" for name, st in (pending.get("pending_features") or {}).items()]
    if pending.get("cbs_reboot_pending"):
        why.append("CBS RebootPending is set")
    if not why:
        return True
    return _fail(
        state,
        host,
        f"{host.name}: a reboot is needed ({'; '.join(why)}) and host data reboot_policy is 'never'. "
        "Fix: reboot the host yourself and run the deploy again, or set reboot_policy: auto.",
    )


def _load_settings() -> DockerHostSettings | None:
    try:
        return settings_for(host.name, host.data.dict(), host.groups)
    except SettingsError as exc:
        python.call(name="winfra: check host data", function=_fail, message=str(exc))
        return None


def _docker_op(name: str) -> Any:
    op = getattr(docker, name, None) if docker is not None else None
    if op is None:
        python.call(
            name=f"winfra: docker.{name}",
            function=_fail,
            message=f"{host.name}: winfra.operations.docker.{name}({_DOCKER_OPS[name]}) is not available yet",
        )
    return op


def _run_reboot_batch() -> int:
    """The one reboot_batch of this run (pyinfra needs the same ``_parallel`` on every host)."""
    return common_reboot_batch(h.data.get("reboot_batch") for h in host.inventory)


def _preflight_and_features(s: DockerHostSettings) -> None:
    devbox = s.role == "devbox"
    windows.requirements(
        name="winfra: preflight",
        wsl2=devbox and s.desktop_backend == "wsl-2",
        docker_desktop=devbox,
        hyper_v=("hyper-v" in s.features),
        windows_containers=not devbox,
        features=list(s.features),
    )
    windows.feature(name="winfra: Windows features", features=list(s.features))
    if s.reboot_policy == "auto":
        windows.reboot_if_needed(
            name="winfra: reboot if needed (at most once)",
            timeout=s.reboot_timeout_sec,
            _parallel=_run_reboot_batch(),  # 0 = pyinfra's global parallelism (no extra cap)
        )
    else:
        python.call(name="winfra: reboot pending? (reboot_policy: never)", function=_stop_if_reboot_pending)


def _devbox(s: DockerHostSettings) -> None:
    wsl.installed(
        name="winfra: WSL",
        source=s.wsl_msi_url,
        sha256=s.wsl_msi_sha256,
        version=s.wsl_version,
        user=s.user,
    )
    # Installing WSL may enable VirtualMachinePlatform; still at most one reboot per run.
    if s.reboot_policy == "auto":
        windows.reboot_if_needed(
            name="winfra: reboot if WSL needs it", timeout=s.reboot_timeout_sec, _parallel=_run_reboot_batch()
        )

    op = _docker_op("desktop_installed")
    if op is not None:
        op(
            name="winfra: Docker Desktop",
            version=s.desktop_version,
            source=s.desktop_url,
            sha256=s.desktop_sha256,
            backend=s.desktop_backend,
            user=s.user,
        )

    if s.wsl_settings:
        wsl.config(name="winfra: .wslconfig", user=s.user, settings=s.wsl_settings)
    if s.daemon_config:
        op = _docker_op("daemon_config")
        if op is not None:
            op(
                name="winfra: Docker Desktop daemon.json",
                config=s.daemon_config,
                defaults=s.daemon_defaults,
                target="desktop",
                user=s.user,
            )

    distro_installed = getattr(wsl, "distro_installed", None)
    if s.wsl_distros and distro_installed is None:
        python.call(
            name="winfra: WSL distros",
            function=_fail,
            message=f"{host.name}: winfra.operations.wsl.distro_installed is not available yet",
        )
    elif s.wsl_distros:
        # host.loop keeps the operation order consistent between hosts with different lists.
        for distro in host.loop(s.wsl_distros):
            distro_installed(name=f"winfra: WSL distro {distro}", distro=distro, user=s.user)
    for distro, location in host.loop(s.wsl_relocations.items()):
        # The op's first parameter is called `name`, like pyinfra's global op-name argument: pass
        # the distro positionally (pyinfra takes the keyword `name` as the op's display name).
        wsl.distro_location(distro, location, user=s.user, name=f"winfra: move WSL distro {distro}")


def _container_host(s: DockerHostSettings) -> None:
    op = _docker_op("engine_installed")
    if op is not None:
        op(
            name="winfra: Docker engine",
            version=s.engine_version,
            source=s.effective_engine_url,
            sha256=s.engine_sha256,
            install_dir=s.engine_install_dir,
        )
    if s.docker_group:
        op = _docker_op("group_members")
        if op is not None:
            op(
                name=f"winfra: {s.docker_group} group",
                group=s.docker_group,
                members=list(s.docker_group_members),
            )
    op = _docker_op("daemon_config")
    if op is not None:
        op(name="winfra: daemon.json", config=s.daemon_config, defaults=s.daemon_defaults, target="engine")


def _verify(s: DockerHostSettings) -> None:
    op = _docker_op("verified")
    if op is not None:
        op(
            name="winfra: verify Docker",
            smoke_test=s.smoke_test,
            image=s.smoke_test_image,
            user=s.user if s.role == "devbox" else None,
        )


settings = _load_settings()
if settings is not None:
    if settings.sim_placeholders:
        logger.warning(
            f"{host.name}: {', '.join(settings.sim_placeholders)} still hold the simulator placeholder "
            "'winsim:auto'; the download check uses the simulator's digest"
        )
    _preflight_and_features(settings)
    if settings.role == "devbox":
        _devbox(settings)
    else:
        _container_host(settings)
    _verify(settings)
