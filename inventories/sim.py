"""The simulated lab: `pyinfra inventories/sim.py deploys/docker_host.py` (no Windows needed).

Each ``@winsim/<name>`` host is a simulated Windows machine (winfra.sim) built from the profile
in ``winsim_profile`` (winfra/sim/profiles/<profile>.yml) deep-merged with ``winsim_overrides``,
and reached over real WinRM/HTTP on 127.0.0.1 by the @winsim connector. The deploy settings are
the same keys as in inventories/lab.py (README.md, "Inventory data reference").

Downloads: the simulator serves the pinned artifacts from its simulated network (``network`` in
``winsim_overrides``). Their bytes are synthetic but deterministic (winfra.sim.models.docker), so
the sha256 pinned below is computed from those bytes, exactly as a real lab pins the digest of
the real file. If that module's API is unavailable the placeholder ``winsim:auto`` is used, which
winfra.deploy_settings accepts for @winsim hosts only and reports in ``sim_placeholders``.

Starting state beyond the profiles: devbox11's user ``dev`` already has an Ubuntu distro on C:
(the usual situation: the developer installed it; winfra moves it to D:). Profiles cannot
describe WSL distros yet, so :func:`_seed_distro` creates it with the simulator's own helper
when the pyinfra CLI first creates the simulated host (saved state is never touched again).

Fleet benchmarks: with ``WINFRA_SIM_FLEET=N`` the lab has N hosts cycling the four kinds
(``devbox11-1``, ``ctr2022-2``, ``devbox10-3``, ``ctr2025-4``, ...): bench/fleet.py.

The smoke test is off (it runs a container on every run): add ``--data docker_smoke_test=true``.

Credentials: the simulated accounts and their (synthetic) passwords are defined by the profiles;
they are read from there rather than repeated here. WINSIM_* environment variables override them.
"""

import functools
import os
from typing import Any

from winfra.deploy_settings import SIM_AUTO_SHA256
from winfra.inventory import Secret

_DESKTOP_VERSION = "4.37.1"
_DESKTOP_BUILD = 178610
_ENGINE_VERSION = "27.5.1"


def _artifact(url: str, **meta: Any) -> tuple[dict[str, Any], str]:
    """A simulated-network entry for ``winsim_overrides`` and the sha256 of its bytes."""
    entry: dict[str, Any] = {"url": url, "meta": meta}
    try:
        from winfra.sim.models.docker import Artifact

        return entry, Artifact(url, None, 0, dict(meta)).sha256()
    except (ImportError, AttributeError, TypeError, KeyError):  # simulator API changed or absent
        return entry, SIM_AUTO_SHA256


def _desktop_url(build: int) -> str:
    # Versioned Docker Desktop URL pattern (windows-facts.md B.1).
    return f"https://desktop.docker.com/win/main/amd64/{build}/Docker%20Desktop%20Installer.exe"


def _engine_url(version: str) -> str:
    # Static engine zip URL pattern (windows-facts.md C.2).
    return f"https://download.docker.com/win/static/stable/x86_64/docker-{version}.zip"


_DESKTOP_ARTIFACT, _DESKTOP_SHA256 = _artifact(
    _desktop_url(_DESKTOP_BUILD),
    kind="docker-desktop-installer",
    version=_DESKTOP_VERSION,
    build=_DESKTOP_BUILD,
)
_ENGINE_ARTIFACT, _ENGINE_SHA256 = _artifact(
    _engine_url(_ENGINE_VERSION), kind="docker-static-zip", version=_ENGINE_VERSION
)


def _account(profile: str, user: str) -> tuple[str, str | None]:
    """``(user, password)`` of a simulated account, from its profile (env WINSIM_PASSWORD_<USER> wins)."""
    env = os.environ.get("WINSIM_PASSWORD_" + user.upper().replace("-", "_"))
    if env:
        return user, env
    return user, _profile_password(profile, user)


@functools.cache
def _profile_password(profile: str, user: str) -> str | None:
    # Cached: parsing a profile's YAML costs ~15 ms, and a large simulated fleet
    # (WINFRA_SIM_FLEET) would parse the same few profiles once per host and account.
    try:
        from winfra.sim.models.profile import load_profile

        users = load_profile(profile).get("users") or {}
        password = (users.get(user) or {}).get("password")
        return str(password) if password is not None else None
    except (ImportError, ValueError, OSError):
        return None


def _seed_distro(name: str, profile: str, overrides: dict[str, Any], user: str, distro: str) -> None:
    """Give a NEW simulated host ``user``'s ``distro`` in the default WSL location (A.5 layout).

    Skipped when the host already has saved state (a second run must see the first run's
    effects), when the simulator's API is not there, and outside the pyinfra CLI: reading this
    inventory for its data (tests, tools) must not create simulator state.
    """
    import pyinfra

    if not pyinfra.is_cli:
        return
    try:
        from winfra.sim.models.host import SimHost, _safe_dir_name, state_root
        from winfra.sim.models.wsl import create_distro
    except ImportError:
        return
    if (state_root(None) / _safe_dir_name(name) / "state.json").is_file():
        return
    sim = SimHost.load(name, profile=profile, overrides=overrides)
    create_distro(
        sim,
        user,
        distro,
        f"C:\\Users\\{user}\\AppData\\Local\\wsl\\{distro}",
        marker=f"{distro} of {user} on {name}",
        size=256 * 1024,
        default=True,
    )


def _sim_host(
    name: str, profile: str, connect_as: str, overrides: dict[str, Any], **data: Any
) -> tuple[str, dict]:
    user, password = _account(profile, connect_as)
    host_data: dict[str, Any] = {
        "winsim_profile": profile,
        "winsim_overrides": overrides,
        "winrm_user": user,
        "winrm_password": Secret(password) if password else None,
        "winrm_transport": "ntlm",
    }
    if "winfra_user" in data:
        _, user_password = _account(profile, str(data["winfra_user"]))
        host_data["winfra_user_password"] = Secret(user_password) if user_password else None
    host_data.update(data)
    return (f"@winsim/{name}", host_data)


def _devbox11(name: str) -> tuple[str, dict]:
    """Windows 11 23H2 dev box: WSL2 + Docker Desktop, a .wslconfig, the user's Ubuntu moved to D:."""
    overrides: dict[str, Any] = {"network": [_DESKTOP_ARTIFACT]}
    _seed_distro(name, "win11-devbox", overrides, "dev", "Ubuntu")
    return _sim_host(
        name,
        "win11-devbox",
        "winrm-admin",
        overrides,
        winfra_user="dev",
        wsl_relocations={"Ubuntu": "D:\\WSL\\Ubuntu"},
        wsl_settings={
            "wsl2": {"memory": "8GB", "processors": 4, "swap": "2GB", "localhostForwarding": True},
            "experimental": {"autoMemoryReclaim": "gradual"},
        },
    )


def _devbox10(name: str) -> tuple[str, dict]:
    """Windows 10 22H2 dev box: the same stack with WSL's defaults (no .wslconfig managed)."""
    return _sim_host(name, "win10-devbox", "winrm-admin", {"network": [_DESKTOP_ARTIFACT]}, winfra_user="dev")


def _ctr2022(name: str) -> tuple[str, dict]:
    """Windows Server 2022: process isolation (the Server default), engine pinned."""
    return _sim_host(
        name, "server2022", "Administrator", {"network": [_ENGINE_ARTIFACT]}, docker_isolation="process"
    )


def _ctr2025(name: str) -> tuple[str, dict]:
    """Windows Server 2025: Hyper-V isolation (adds the Hyper-V role, windows-facts.md C.3)."""
    return _sim_host(
        name, "server2025", "Administrator", {"network": [_ENGINE_ARTIFACT]}, docker_isolation="hyperv"
    )


# WINFRA_SIM_FLEET=N (bench/fleet.py): N hosts cycling the four kinds, named <kind>-<i>.
_KINDS = [("devbox11", _devbox11, True), ("ctr2022", _ctr2022, False), ("devbox10", _devbox10, True),
          ("ctr2025", _ctr2025, False)]  # fmt: skip
_FLEET = int(os.environ.get("WINFRA_SIM_FLEET") or 0)
if _FLEET > 0:
    _PICKED = [(f"{_KINDS[i % 4][0]}-{i + 1}", _KINDS[i % 4][1], _KINDS[i % 4][2]) for i in range(_FLEET)]
else:
    _PICKED = [(kind, make, is_devbox) for kind, make, is_devbox in _KINDS]

# The smoke test (docker_smoke_test) runs a container on every run, so it is off here: ask for it
# with `pyinfra -y inventories/sim.py deploys/docker_host.py --data docker_smoke_test=true`.
devboxes = (
    [make(name) for name, make, is_devbox in _PICKED if is_devbox],
    {
        "winfra_role": "devbox",
        "docker_desktop_version": _DESKTOP_VERSION,
        "docker_desktop_url": _desktop_url(_DESKTOP_BUILD),
        "docker_desktop_sha256": _DESKTOP_SHA256,
        "docker_desktop_backend": "wsl-2",
        "reboot_policy": "auto",
        "reboot_batch": 0,
    },
)

container_hosts = (
    [make(name) for name, make, is_devbox in _PICKED if not is_devbox],
    {
        "winfra_role": "container_host",
        "docker_engine_version": _ENGINE_VERSION,
        "docker_engine_url": _engine_url(_ENGINE_VERSION),
        "docker_engine_sha256": _ENGINE_SHA256,
        "docker_group": "docker-users",
        "docker_daemon_config": {"log-level": "info"},
        "reboot_policy": "auto",
        "reboot_batch": 0,
    },
)
