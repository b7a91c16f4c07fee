"""WSL operations, all for a *target user* (``user=``; default host data ``winfra_user``, else the
WinRM user). Distros, ``.wslconfig`` and the default version live in that user's profile and
HKCU (windows-facts A.5, A.7, A.8); when the target user is not the WinRM user every per-user
command runs as them through ``winfra.runas`` (pyinfra ``_su_user``/``_su_password``, password
from host data ``winfra_user_password``).

Operations:

* :func:`installed` - WSL installed (pinned MSI or ``wsl --install --no-distribution``) and the
  user's default version set.
* :func:`config` - the user's ``.wslconfig`` rendered from ``templates/wslconfig.j2``, validated
  by WSL's own parser rules, written atomically, ``wsl --shutdown`` when it changed.
* :func:`distro_version` - a distro converted between WSL1 and WSL2.
* :func:`distro_location` - a WSL2 distro's VHD moved to another directory without data loss.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Generator
from typing import Any

from pyinfra import host, logger, state
from pyinfra.api import FunctionCommand, StringCommand, operation
from pyinfra.api.exceptions import OperationValueError

from winfra.acquire import SHA256_RE, acquire, check_input
from winfra.facts.windows import PendingReboot
from winfra.facts.wsl import (
    WslConfig,
    WslDistros,
    WslInstallation,
    WslRelocationJournals,
    WslUserInfo,
    find_distro,
)
from winfra.operations._steps import fail_host
from winfra.operations.windows import FEATURES_REQUIRED, run_record
from winfra.powershell.scripts import render_script
from winfra.target_user import resolve_target_user
from winfra.templating import find_template, render_template
from winfra.validation.wslconfig import WslConfigError, validate_settings, validate_text
from winfra.windows_paths import clean_windows_path, normalize_windows_path

_DISTRO_NAME = re.compile(r"^[A-Za-z0-9._-]+$")
_ABS_DIR = re.compile(r"^[A-Za-z]:\\[^\\]")
# Free space the relocation leaves on the target volume beyond what it needs.
RELOCATE_MARGIN_BYTES = 1024**3
# The relocation copies a VHD twice (export, import): give it time.
RELOCATE_TIMEOUT = 3600


def _distro_name(name: str, setting: str = "name") -> str:
    if not isinstance(name, str) or not _DISTRO_NAME.match(name):
        raise OperationValueError(
            f"{host.name}: {setting}={name!r} is not a WSL distro name (letters, digits, '.', '_', '-')"
        )
    return name


# =============================================================================================
# wsl.installed
# =============================================================================================


@operation()
def installed(
    default_version: int = 2,
    source: str | None = None,
    sha256: str | None = None,
    user: str | None = None,
    version: str | None = None,
) -> Generator[Any, Any, None]:
    """
    Install or update WSL, and set the target user's default WSL version.

    + default_version: 1 or 2, written for the target user (``wsl --set-default-version``).
    + source: a pinned WSL MSI (https URL, UNC path or controller file, via ``winfra.acquire``);
      without it ``wsl --install --no-distribution`` installs the package.
    + sha256: SHA-256 of the MSI; required with ``source``.
    + user: target user (default host data ``winfra_user``, else the WinRM user).
    + version: the package version the MSI installs (e.g. ``2.3.26.0``); with it an installed
      package of another version is updated, without it any installed package counts as present.

    Installing runs elevated as the WinRM user. ``wsl --install`` exits 0 even when a reboot is
    needed (windows-facts A.1), so the pending reboot is read from CBS and the feature state;
    ``windows.reboot_if_needed()`` afterwards restarts when VirtualMachinePlatform is pending.

    **Example:**

    .. code:: python

        wsl.installed(source="https://github.com/microsoft/WSL/releases/download/2.3.26/wsl.2.3.26.0.x64.msi",
                      sha256="<64 hex>", version="2.3.26.0")
    """
    if default_version not in (1, 2):
        raise OperationValueError(f"{host.name}: default_version={default_version!r}: use 1 or 2")
    if source is not None:
        if not (isinstance(sha256, str) and SHA256_RE.match(sha256)):
            raise OperationValueError(
                f"{host.name}: source={source!r} needs sha256= (64 hex digits of the MSI) so the file is "
                "verified"
            )
        # A bad source (plain http, a missing controller file) must fail before any fact is read.
        check_input(source, sha256, allow_unverified=False, setting="source")
    name, su = resolve_target_user(host, user)
    inst = host.get_fact(WslInstallation)
    kind = inst["kind"]
    needs_install = kind != "package" or (
        source is not None and version is not None and inst["version"] != version
    )

    if needs_install:
        if source is not None:
            msi = yield from acquire(source, sha256, setting="source")
            yield StringCommand(
                render_script("wsl_install", {"method": "msi", "msi_path": msi}), _timeout=1800
            )
        else:
            yield StringCommand(render_script("wsl_install", {"method": "wsl"}), _timeout=1800)
        # `wsl --install` enables VirtualMachinePlatform with dism /NoRestart (A.1): the deploy
        # needs it, so windows.reboot_if_needed() restarts when it is pending.
        run_record(FEATURES_REQUIRED).update({"VirtualMachinePlatform"})
        yield FunctionCommand(_report_reboot_need, (), {})
    else:
        host.noop(f"WSL {inst['version'] + ' ' if inst['version'] else ''}is installed ({kind})")

    # HKCU Lxss DefaultVersion; when absent new distros get WSL2 (windows-facts A.5).
    info = host.get_fact(WslUserInfo, user=name, **su)
    effective = info.get("default_version") or 2
    if effective == default_version and not needs_install:
        host.noop(f"default WSL version of {name} is already {default_version}")
        return
    yield StringCommand(
        render_script(
            "wsl_user_action", {"user": name, "action": "set_default_version", "version": default_version}
        ),
        **su,
    )


def _report_reboot_need(state: Any, host: Any) -> bool:
    """After an install: say whether Windows now waits for a restart (CBS RebootPending or a WSL
    feature in a *Pending state, windows-facts A.1/D.4), since wsl.exe exits 0 either way."""
    pending = host.get_fact(PendingReboot)
    why = [
        f"{name} is {st}"
        for name, st in (pending.get("pending_features") or {}).items()
        if name in ("VirtualMachinePlatform", "Microsoft-Windows-Subsystem-Linux")
    ]
    if pending.get("cbs_reboot_pending"):
        why.append("CBS RebootPending is set")
    if why:
        logger.warning(
            f"{host.print_prefix}WSL needs a restart before it works ({'; '.join(why)}); "
            "windows.reboot_if_needed() restarts it"
        )
    return True


# =============================================================================================
# wsl.config
# =============================================================================================


def _render_template(template: str, settings: dict[str, Any]) -> str:
    try:
        path = find_template(template)
    except FileNotFoundError as exc:
        raise OperationValueError(f"{host.name}: template={template!r} does not exist ({exc})") from exc
    return render_template(path, {"settings": settings})


@operation()
def config(
    user: str | None = None,
    template: str = "templates/wslconfig.j2",
    settings: dict[str, dict[str, Any]] | None = None,
    shutdown_on_change: bool = True,
) -> Generator[Any, Any, None]:
    """
    Manage the target user's ``%UserProfile%\\.wslconfig`` (global WSL2 VM settings).

    + user: target user (default host data ``winfra_user``, else the WinRM user).
    + template: jinja2 template rendered with ``settings`` (default ``templates/wslconfig.j2``).
    + settings: section -> key -> value (default host data ``wsl_settings``), e.g.
      ``{"wsl2": {"memory": "8GB", "processors": 4}}``. Paths are plain Windows paths (the
      template doubles backslashes).
    + shutdown_on_change: run ``wsl --shutdown`` as the user when the file changed; settings only
      apply after the VM stops (windows-facts A.8). This also stops Docker Desktop.

    Every setting is checked by WSL's parser rules before anything touches the host (unknown
    keys, sizes such as ``1.5GB`` or ``4gb``, booleans, unescaped backslashes, networkingMode,
    ``sparseVhd`` refused as unsafe); the rendered file is checked again line by line. The file
    is written UTF-8 without BOM through a temp file. ``--diff`` shows the INI diff.

    **Example:**

    .. code:: python

        wsl.config(settings={"wsl2": {"memory": "8GB", "swap": "2GB"},
                             "experimental": {"autoMemoryReclaim": "gradual"}})
    """
    if settings is None:
        settings = host.data.get("wsl_settings") or {}
    if not isinstance(settings, dict):
        raise OperationValueError(f"{host.name}: settings must be a mapping of section -> key -> value")
    try:
        validate_settings(settings, host.name)
    except WslConfigError as exc:
        raise OperationValueError(str(exc)) from exc
    rendered = _render_template(template, settings)
    try:
        validate_text(rendered, host.name)
    except WslConfigError as exc:
        raise OperationValueError(f"{exc}\n{host.name}: (in the text rendered from {template})") from exc

    name, su = resolve_target_user(host, user)
    current = host.get_fact(WslConfig, user=name, **su)
    old = current.get("content") if current.get("exists") else None
    if old is not None and old.replace("\r\n", "\n") == rendered and not current.get("bom"):
        host.noop(f".wslconfig of {name} is up to date")
        return

    if state.config.DIFF:
        logger.info(
            f"{host.print_prefix}Will {'update' if old is not None else 'create'} .wslconfig of {name}"
        )
        for line in difflib.unified_diff(
            (old or "").replace("\r\n", "\n").splitlines(),
            rendered.splitlines(),
            "before",
            "after",
            lineterm="",
        ):
            logger.info("  %s", line)
    if shutdown_on_change:
        logger.warning(
            f"{host.print_prefix}.wslconfig of {name} changes: `wsl --shutdown` will stop all of {name}'s "
            "WSL distros, including Docker Desktop's (docker-desktop), so running containers stop"
        )
    yield StringCommand(
        render_script(
            "wsl_user_action",
            {
                "user": name,
                "action": "write_config",
                "content": rendered,
                "shutdown": bool(shutdown_on_change),
            },
        ),
        **su,
    )


# =============================================================================================
# wsl.distro_version
# =============================================================================================


@operation()
def distro_version(distro: str, version: int = 2, user: str | None = None) -> Generator[Any, Any, None]:
    """
    Convert a distro between WSL1 and WSL2 (``wsl --set-version``).

    + distro: the distro's name (pyinfra reserves ``name=`` for the operation's own name).
    + version: 1 or 2.
    + user: target user (default host data ``winfra_user``, else the WinRM user).

    The host checks free space on the distro's volume first (the conversion writes a new VHD or
    rootfs next to the old one). Nothing happens when the distro already has that version.

    **Example:**

    .. code:: python

        wsl.distro_version(distro="Ubuntu", version=2)
    """
    name = _distro_name(distro, "distro")
    if version not in (1, 2):
        raise OperationValueError(f"{host.name}: version={version!r}: use 1 or 2")
    user_name, su = resolve_target_user(host, user)
    distros = host.get_fact(WslDistros, user=user_name, **su)
    current = find_distro(distros, name)
    if current is None:
        # Host state, not a deploy mistake: fail this host only (raising here during execution
        # would abort the run for every host).
        yield fail_host(f"{host.name}: {user_name} has no WSL distro named {name!r}")
        return
    if current["version"] == version:
        host.noop(f"{name} of {user_name} is already WSL{version}")
        return
    yield StringCommand(
        render_script(
            "wsl_user_action",
            {
                "user": user_name,
                "action": "set_version",
                "name": current["name"],
                "version": version,
                "margin_bytes": RELOCATE_MARGIN_BYTES,
            },
        ),
        _timeout=RELOCATE_TIMEOUT,
        **su,
    )


# =============================================================================================
# wsl.distro_location
# =============================================================================================


def check_location(location: str, host_name: str, name: str) -> str:
    """An absolute directory with at least one component below the drive, normalised for WSL."""
    if not isinstance(location, str) or not location.strip():
        raise OperationValueError(f"{host_name}: location must be a directory such as D:\\wsl\\{name}")
    loc = clean_windows_path(location)
    if loc.startswith("\\\\"):
        raise OperationValueError(
            f"{host_name}: location={location!r}: a VHD cannot live on a network share; use a local "
            f"directory such as D:\\wsl\\{name}"
        )
    if re.fullmatch(r"[A-Za-z]:\\?", loc):
        raise OperationValueError(
            f"{host_name}: location={location!r} is a bare drive (wsl fails with 'Failed to attach disk "
            f"E:ext4.vhdx', microsoft/WSL#449); use a directory such as {loc[:2]}\\wsl\\{name}"
        )
    if not _ABS_DIR.match(loc):
        raise OperationValueError(
            f"{host_name}: location={location!r} is not an absolute Windows directory; "
            f"use e.g. D:\\wsl\\{name}"
        )
    if any(part in (".", "..") for part in loc.split("\\")):
        raise OperationValueError(f"{host_name}: location={location!r}: write the path without . or ..")
    return loc.rstrip("\\")


@operation()
def distro_location(
    distro: str,
    location: str,
    user: str | None = None,
    keep_backup: bool = False,
    allow_docker_desktop: bool = False,
) -> Generator[Any, Any, None]:
    """
    Move a WSL2 distro's virtual disk to ``location`` without losing data.

    + distro: the distro's name (not ``docker-desktop*``: use ``docker.desktop_data_location``).
    + location: absolute target directory, e.g. ``D:\\wsl\\Ubuntu`` (not a bare drive).
    + user: target user (default host data ``winfra_user``, else the WinRM user).
    + keep_backup: keep the exported VHD next to the location after a successful move.
    + allow_docker_desktop: internal, for ``docker.desktop_data_location`` only: allows the
      pre-4.30 ``docker-desktop-data`` distro (Docker Desktop stopped). ``docker-desktop`` itself is
      never moved (windows-facts B.6, docker/for-win#13550).

    Runs one script on the host (``wsl_relocate.ps1``, one round trip) as the target user:
    preflight (free space for the VHD, the backup and a margin), then ``wsl --manage --move``
    when this WSL has it, else terminate, export ``--format vhd``, verify the export, unregister,
    import, verify the distro starts, restore the default distro and default user, delete the
    export. Every failure rolls back to the original location from the export; an interrupted
    move (journal on the host) is finished on the next run, and a half-done ``--manage --move``
    (VHD moved, BasePath stale: microsoft/WSL#40716) is repaired.

    **Example:**

    .. code:: python

        wsl.distro_location(distro="Ubuntu", location="D:\\\\wsl\\\\Ubuntu")
    """
    name = _distro_name(distro, "distro")
    if name.lower().startswith("docker-desktop") and not (
        allow_docker_desktop and name.lower() == "docker-desktop-data"
    ):
        raise OperationValueError(
            f"{host.name}: {name} belongs to Docker Desktop, which undoes or breaks a manual move "
            "(docker/for-win#13550, windows-facts B.6); move it with docker.desktop_data_location"
        )
    target = check_location(location, host.name, name)
    user_name, su = resolve_target_user(host, user)

    journals = host.get_fact(WslRelocationJournals, user=user_name, **su)
    distros = host.get_fact(WslDistros, user=user_name, **su)
    current = find_distro(distros, name)
    journal = journals.get(name)

    if journal is None:
        if current is None:
            yield fail_host(f"{host.name}: {user_name} has no WSL distro named {name!r}")
            return
        if (
            normalize_windows_path(current["base_path"]) == normalize_windows_path(target)
            and current["vhd_exists"]
        ):
            host.noop(f"{name} of {user_name} is already at {target}")
            return
        if current["version"] != 2:
            yield fail_host(
                f"{host.name}: {name} is a WSL1 distro; convert it first with "
                f"wsl.distro_version(distro={name!r}, version=2)"
            )
            return
        for other in distros:
            if other["name"] != current["name"] and normalize_windows_path(other["base_path"]) == (
                normalize_windows_path(target)
            ):
                yield fail_host(
                    f"{host.name}: {target} is the location of distro {other['name']}; "
                    "choose another directory"
                )
                return
    else:
        logger.warning(
            f"{host.print_prefix}an interrupted move of {name} was found (phase {journal.get('phase')}); "
            "finishing or rolling it back"
        )

    inst = host.get_fact(WslInstallation)
    yield StringCommand(
        render_script(
            "wsl_relocate",
            {
                "name": current["name"] if current else name,
                "location": target,
                "keep_backup": bool(keep_backup),
                "allow_docker_desktop_data": bool(allow_docker_desktop),
                "use_manage_move": bool(inst.get("supports_manage_move")),
                "margin_bytes": RELOCATE_MARGIN_BYTES,
            },
        ),
        _timeout=RELOCATE_TIMEOUT,
        **su,
    )


__all__ = ["check_location", "config", "distro_location", "distro_version", "installed"]
