"""The deployed state of ``deploys/docker_host.py``, checked read-only on each host (issue 7).

Hosts, credentials and the two ways to run this module (simulated lab / real hosts): see the
docstring of ``tests/infra/conftest.py``. Expected values come from the host data through
:func:`winfra.deploy_settings.settings_for` (fixture ``host_settings``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import infra_checks as ic
import pytest

from winfra.deploy_settings import same_account

# Feature names per platform (windows-facts C.3, D.2; winfra.operations.windows.feature maps the
# deploy's "wsl"/"hyper-v"/"containers" the same way).
WSL2_CLIENT_FEATURES = ("VirtualMachinePlatform",)
WSL1_COMPONENT = "Microsoft-Windows-Subsystem-Linux"  # also enabled before Windows 11 (A.1)
WINDOWS_11_FIRST_BUILD = 22000
HYPERV_CLIENT_FEATURES = ("Microsoft-Hyper-V-All", "Containers")


def _role(settings: Any, role: str) -> None:
    if settings.role != role:
        pytest.skip(f"{settings.host_name} is a {settings.role}, this check is for a {role}")


# --------------------------------------------------------------------------------------------
# The deploy itself (simulated lab only)
# --------------------------------------------------------------------------------------------


def test_deploy_succeeded(request: pytest.FixtureRequest) -> None:
    """The deploy the suite ran on the simulated lab exited 0 (its output is shown otherwise)."""
    config = request.config
    if config.getoption("hosts", default=None) or config.getoption("--winsim-existing-state", default=False):
        pytest.skip("the suite did not run the deploy (real hosts or --winsim-existing-state)")
    deploy = request.getfixturevalue("deployed_sim_lab")
    tail = "\n".join(deploy.output.splitlines()[-60:])
    assert deploy.rc == 0, f"pyinfra deploy exited {deploy.rc}; last lines of its output:\n{tail}"


# --------------------------------------------------------------------------------------------
# Container hosts: Windows Server with the static Docker engine
# --------------------------------------------------------------------------------------------


def test_container_host_features(host: Any, host_settings: Any) -> None:
    """Containers is installed, and Hyper-V too with docker_isolation: hyperv (C.3, D.3)."""
    _role(host_settings, "container_host")
    wanted = ["Containers"] + (["Hyper-V"] if host_settings.isolation == "hyperv" else [])
    states = {name: ic.server_feature_state(host, name) for name in wanted}
    assert states == {name: "Installed" for name in wanted}, (
        f"{host_settings.host_name}: Server features {states} (InstallPending means the reboot is missing)"
    )


def test_docker_service_running(host: Any, host_settings: Any) -> None:
    """The engine's service (``dockerd --register-service``: name docker, Automatic, C.2) runs."""
    _role(host_settings, "container_host")
    svc = ic.service(host, "docker")
    assert svc is not None, f"{host_settings.host_name}: there is no 'docker' service"
    assert (svc.status, svc.start_type) == ("Running", "Automatic"), f"{host_settings.host_name}: {svc}"


def test_docker_version_answers(host: Any, host_settings: Any) -> None:
    """``docker version`` reaches the daemon, which is the pinned engine version on Windows."""
    _role(host_settings, "container_host")
    docker_exe = host_settings.engine_install_dir.rstrip("\\") + "\\docker.exe"
    dv = ic.docker_version(host, docker_exe)
    assert dv.rc == 0 and dv.server is not None, (
        f"{host_settings.host_name}: `{docker_exe} version` got no answer from the daemon "
        f"(exit {dv.rc}): {dv.errors.strip()}"
    )
    assert dv.server.get("Os") == "windows", dv.server
    if host_settings.engine_version:
        assert dv.server.get("Version") == host_settings.engine_version, (
            f"{host_settings.host_name}: engine {dv.server.get('Version')}, "
            f"docker_engine_version is {host_settings.engine_version}"
        )


def test_docker_group(host: Any, host_settings: Any, infra_target: Any) -> None:
    """The ``docker_group`` local group exists (daemon.json ``group`` must resolve at dockerd
    startup: C.4) and holds every ``docker_group_members`` account."""
    _role(host_settings, "container_host")
    group = host_settings.docker_group
    if not group:
        pytest.skip(f"{host_settings.host_name}: docker_group is empty (only Administrators use the pipe)")
    with ic.simulator_gap(infra_target.simulated, "Get-LocalGroupMember -Group <name> | Select-Object Name"):
        members = ic.local_group_members(host, group)
    assert members is not None, f"{host_settings.host_name}: local group {group} does not exist"
    short = {m.split("\\", 1)[-1].lower() for m in members}
    missing = [m for m in host_settings.docker_group_members if m.split("\\", 1)[-1].lower() not in short]
    assert not missing, f"{host_settings.host_name}: {missing} not in {group} (members: {members})"


def test_engine_daemon_json(host: Any, host_settings: Any, infra_target: Any) -> None:
    """``C:\\ProgramData\\docker\\config\\daemon.json`` holds docker_daemon_config (and the
    deploy's defaults: group, exec-opts isolation) as JSON without a BOM (C.4)."""
    _role(host_settings, "container_host")
    expected = {**host_settings.daemon_defaults, **host_settings.daemon_config}
    _check_daemon_json(host, host_settings, infra_target, ic.ENGINE_DAEMON_JSON, expected)


def _check_daemon_json(host: Any, settings: Any, target: Any, path: str, expected: dict[str, Any]) -> None:
    text = ic.read_text(host, path)
    assert text is not None, f"{settings.host_name}: {path} does not exist"
    try:
        actual = json.loads(text)
    except ValueError as exc:
        raise AssertionError(f"{settings.host_name}: {path} is not JSON ({exc}):\n{text[:400]}") from None
    assert isinstance(actual, dict), f"{settings.host_name}: {path} is not a JSON object"
    wrong = {k: actual.get(k, "<missing>") for k, v in expected.items() if actual.get(k) != v}
    assert not wrong, (
        f"{settings.host_name}: {path} differs from the host data: {wrong} (expected {expected})"
    )
    # A BOM breaks dockerd < 23.0 and Docker Desktop's Go readers (C.4, B.5).
    with ic.simulator_gap(target.simulated, "Get-Content -Encoding Byte -TotalCount 3 (one byte per line)"):
        head = ic.head_bytes(host, path, 3)
    assert not head.startswith((b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")), f"{path} starts with a BOM"


# --------------------------------------------------------------------------------------------
# Dev boxes: WSL2 + Docker Desktop for the target user
# --------------------------------------------------------------------------------------------


def test_devbox_features(host: Any, host_settings: Any) -> None:
    """WSL2 backend: VirtualMachinePlatform (plus the WSL component before Windows 11, as
    ``wsl --install`` does: A.1); Hyper-V backend: Microsoft-Hyper-V-All and Containers (B.7)."""
    _role(host_settings, "devbox")
    if host_settings.desktop_backend == "hyper-v":
        wanted = list(HYPERV_CLIENT_FEATURES)
    else:
        wanted = list(WSL2_CLIENT_FEATURES)
        build = ic.os_build(host)
        if build is not None and build < WINDOWS_11_FIRST_BUILD:
            wanted.append(WSL1_COMPONENT)
    states = {name: ic.optional_feature_state(host, name) for name in wanted}
    assert states == {name: "Enabled" for name in wanted}, (
        f"{host_settings.host_name}: optional features {states} (EnablePending means the reboot is missing)"
    )


def test_docker_desktop_installed(host: Any, host_settings: Any) -> None:
    """Docker Desktop's uninstall entry carries the pinned version (B.3) and its service exists (B.4)."""
    _role(host_settings, "devbox")
    entry = ic.registry_values(host, ic.DESKTOP_UNINSTALL_KEY, ["DisplayName", "DisplayVersion"])
    assert entry is not None, f"{host_settings.host_name}: Docker Desktop is not installed (no uninstall key)"
    if host_settings.desktop_version:
        assert entry["DisplayVersion"] == host_settings.desktop_version, (
            f"{host_settings.host_name}: Docker Desktop {entry['DisplayVersion']}, "
            f"docker_desktop_version is {host_settings.desktop_version}"
        )
    assert ic.service(host, "com.docker.service") is not None, "com.docker.service is missing"


def test_wsl_package_installed(host: Any, host_settings: Any) -> None:
    """WSL2 dev boxes have the WSL package (``C:\\Program Files\\WSL\\wsl.exe``, which answers
    ``--version``; inbox WSL does not: A.1, A.7), at the pinned wsl_version when one is set."""
    _role(host_settings, "devbox")
    if host_settings.desktop_backend != "wsl-2":
        pytest.skip(
            f"{host_settings.host_name}: Docker Desktop uses the Hyper-V backend, WSL is not required"
        )
    # Calling the package's wsl.exe by path proves it exists (cmd.exe: "not recognized", exit 1).
    rc, version, text = ic.wsl_package_version(host)
    assert rc == 0 and version, (
        f"{host_settings.host_name}: {ic.PACKAGE_WSL_EXE} --version exited {rc}: {text.strip()}"
    )
    if host_settings.wsl_version:
        assert version == host_settings.wsl_version, (
            f"{host_settings.host_name}: WSL {version}, wsl_version is {host_settings.wsl_version}"
        )


@dataclass(frozen=True)
class TargetUser:
    name: str
    sid: str
    profile: str | None
    hive_loaded: bool


@pytest.fixture(scope="module")
def target_user(host: Any, host_settings: Any, infra_target: Any) -> TargetUser:
    """The dev box's target user (``winfra_user``): SID, profile directory, hive loaded or not."""
    _role(host_settings, "devbox")
    user = host_settings.user
    if not user:
        pytest.skip(f"{host_settings.host_name}: no target user (winfra_user / winrm_user)")
    with ic.simulator_gap(infra_target.simulated, "Get-LocalUser -Name <user> with .SID.Value"):
        sid = ic.account_sid(host, user)
    assert sid is not None, f"{host_settings.host_name}: the target user {user} does not exist"
    return TargetUser(user, sid, ic.profile_dir(host, sid), ic.user_hive_loaded(host, sid))


def _require_hive(settings: Any, tu: TargetUser) -> None:
    if not tu.hive_loaded:
        pytest.skip(
            f"{settings.host_name}: the registry hive of {tu.name} is not loaded (the user is not logged "
            "on), so their WSL registrations cannot be read; log on as that user and run again"
        )


def test_wsl_default_version_is_2(host: Any, host_settings: Any, target_user: TargetUser) -> None:
    """The target user's ``Lxss\\DefaultVersion`` is 2, or absent (new distros default to 2: A.5)."""
    _require_hive(host_settings, target_user)
    values = ic.registry_values(host, ic.lxss_key(target_user.sid), ["DefaultVersion"])
    version = (values or {}).get("DefaultVersion")
    assert version in (None, 2), (
        f"{host_settings.host_name}: {target_user.name}'s WSL DefaultVersion is {version}"
    )


def test_wsl_distros(host: Any, host_settings: Any, infra_target: Any, target_user: TargetUser) -> None:
    """Every distro in wsl_distros / wsl_relocations is registered for the target user as WSL2,
    relocated ones under their location, with the VHD where BasePath says (A.5, A.6)."""
    wanted = list(dict.fromkeys([*host_settings.wsl_distros, *host_settings.wsl_relocations]))
    if not wanted:
        pytest.skip(f"{host_settings.host_name}: no wsl_distros or wsl_relocations in the host data")
    _require_hive(host_settings, target_user)
    with ic.simulator_gap(
        infra_target.simulated,
        "Get-ChildItem -LiteralPath <registry key> | Get-ItemProperty (pipeline by PSPath)",
    ):
        regs = {r.name.lower(): r for r in ic.wsl_registrations(host, target_user.sid)}
    problems = []
    for distro in wanted:
        reg = regs.get(distro.lower())
        if reg is None:
            problems.append(f"{distro}: not registered for {target_user.name} (found {sorted(regs)})")
            continue
        if reg.wsl_version != 2:
            problems.append(f"{distro}: WSL version {reg.wsl_version} (Flags {reg.flags})")
        location = host_settings.wsl_relocations.get(distro)
        if location is not None and reg.normalized_base_path != ic.normalize_windows_path(location):
            problems.append(f"{distro}: BasePath {reg.base_path}, wsl_relocations asks for {location}")
        vhd = reg.base_path.removeprefix("\\\\?\\").rstrip("\\") + "\\" + reg.vhd_file_name
        if not ic.is_file(host, vhd):
            problems.append(f"{distro}: no VHD at {vhd}")
    assert not problems, f"{host_settings.host_name}: " + "; ".join(problems)


def test_wsl_list_as_connection_user(host: Any, host_settings: Any) -> None:
    """When the target user is the connection account, ``wsl.exe -l -v`` lists the distros as
    WSL2 (A.3; distros are per user, so another account would see its own: A.7)."""
    _role(host_settings, "devbox")
    if not same_account(host_settings.user, host_settings.connection_user):
        pytest.skip("wsl.exe lists the connection account's distros, not the target user's")
    wanted = list(dict.fromkeys([*host_settings.wsl_distros, *host_settings.wsl_relocations]))
    if not wanted:
        pytest.skip("no wsl_distros or wsl_relocations in the host data")
    listing = ic.wsl_list_verbose(host)
    assert listing.entries is not None, f"wsl.exe -l -v exited {listing.rc}: {listing.text.strip()}"
    versions = {e.name.lower(): e.version for e in listing.entries}
    assert {d: versions.get(d.lower()) for d in wanted} == {d: 2 for d in wanted}, listing.text


def test_wslconfig(host: Any, host_settings: Any, target_user: TargetUser) -> None:
    """``%UserProfile%\\.wslconfig`` of the target user carries every wsl_settings value (A.8)."""
    if not host_settings.wsl_settings:
        pytest.skip(f"{host_settings.host_name}: no wsl_settings, the deploy leaves .wslconfig alone")
    assert target_user.profile, f"{target_user.name} has no profile (never logged on)"
    path = target_user.profile.rstrip("\\") + "\\.wslconfig"
    text = ic.read_text(host, path)
    assert text is not None, f"{host_settings.host_name}: {path} does not exist"
    parsed = ic.parse_wslconfig(text)
    wrong = {}
    for section, values in host_settings.wsl_settings.items():
        for key, value in values.items():
            actual = parsed.get(section.lower(), {}).get(key.lower())
            if actual is None or not ic.wslconfig_value_matches(value, actual):
                wrong[f"{section}.{key}"] = (value, actual)
    assert not wrong, f"{host_settings.host_name}: {path} (expected, found): {wrong}\n{text}"


def test_desktop_daemon_json(
    host: Any, host_settings: Any, infra_target: Any, target_user: TargetUser
) -> None:
    """Docker Desktop's Linux-engine config ``%UserProfile%\\.docker\\daemon.json`` (B.5) holds
    docker_daemon_config."""
    if not host_settings.daemon_config:
        pytest.skip(f"{host_settings.host_name}: no docker_daemon_config for the dev box")
    assert target_user.profile, f"{target_user.name} has no profile (never logged on)"
    path = target_user.profile.rstrip("\\") + "\\.docker\\daemon.json"
    expected = {**host_settings.daemon_defaults, **host_settings.daemon_config}
    _check_daemon_json(host, host_settings, infra_target, path, expected)
