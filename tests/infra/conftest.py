"""testinfra verification suite for the deployed state of ``deploys/docker_host.py`` (issue 7).

It checks, read-only, what the deploy promises on each host: the Docker service and
``docker version`` (container hosts), Docker Desktop installed (dev boxes), ``daemon.json``
content, the Windows features, the WSL default version, the distro locations and ``.wslconfig``.
Expected values come from the host's inventory data (``docker_daemon_config``,
``docker_isolation``, ``wsl_relocations``, ``wsl_settings``, ...), read through
:func:`winfra.deploy_settings.settings_for` so the defaults are the deploy's.

Two ways to run it
==================

1. Against the simulated lab (CI; no Windows needed)::

       .venv/bin/pytest tests/infra

   Without ``--hosts`` the suite reads the inventory ``inventories/sim.py`` (or
   ``--winfra-inventory``), runs the deploy once per session into a temporary state directory
   (fixture :func:`deployed_sim_lab`: ``pyinfra inventories/sim.py deploys/docker_host.py -y`` as
   a subprocess with ``WINSIM_STATE_DIR`` set), then starts one in-process simulated WinRM
   endpoint per ``@winsim/<name>`` host from that state (127.0.0.1, HTTP, NTLM with message
   encryption) and hands testinfra a ``winrm://user:password@127.0.0.1:<port>?no_ssl=true`` URL
   for each. The test ``test_deploy_succeeded`` reports the deploy's own exit code and output.

   To check a lab you already deployed (state in ``$WINSIM_STATE_DIR`` or ``./.winsim``)
   instead of deploying again::

       .venv/bin/pyinfra inventories/sim.py deploys/docker_host.py -y
       .venv/bin/pytest tests/infra --winsim-existing-state

2. Against real hosts, after running the deploy on them::

       .venv/bin/pytest tests/infra --winfra-inventory=inventories/lab.py \\
           --hosts='winrm://LAB%5Cwinfra-admin:PASSWORD@devbox01.lab.example:5986'

   ``--hosts`` is testinfra's option (comma-separated URLs; user and password are URL-quoted,
   ``%5C`` is the backslash of ``DOMAIN\\user``). testinfra's winrm backend always uses NTLM and
   HTTPS; add ``?no_verify_ssl=true`` for a self-signed listener certificate or ``?no_ssl=true``
   for HTTP (port 5985). ``--winfra-inventory`` supplies each host's data: a URL's host name is
   matched to the inventory host ``@winrm/<name>`` (or its ``winrm_hostname``, or the short name).
   Without it the data-dependent checks are skipped with that reason. The connection account
   must be an elevated administrator (DISM and the ProfileList/HKU reads need the full token:
   windows-facts A.7). Passwords never appear in test ids or messages.

Per-user state (WSL registrations, ``DefaultVersion``, ``.wslconfig``, Desktop's ``daemon.json``)
belongs to the target user ``winfra_user`` (windows-facts A.5, A.7). The checks read it as the
administrator: the profile directory from ProfileList, the WSL registrations from
``HKU\\<SID>\\...\\Lxss`` (only while the user's hive is loaded, i.e. the user is logged on; the
checks skip with that reason otherwise).

Files
=====

* ``infra_checks.py``: the read-only check helpers (PowerShell through ``host.run``, parsers);
* ``infra_lab.py``: inventory loading, ``--hosts`` matching, redaction (pure, unit-tested);
* ``test_docker_host.py``: the deployed-state checks (need the deploy);
* ``test_against_plain_sim.py``: the helpers on fresh simulated hosts (no deploy needed), plus
  the ``--hosts`` mode run in a subprocess against a simulated endpoint;
* ``test_infra_helpers.py``: unit tests of ``infra_lab``.

Every check is written for real Windows PowerShell 5.1. Where the simulator's read-only
interpreter lacks a command, the check xfails on simulated hosts only, naming the missing command
(``infra_checks.simulator_gap``); on a real host it stays a failure.

Fixtures
========

* ``infra_target`` (module-parametrized): one :class:`InfraTarget` per host;
* ``host``: the testinfra host of that target (overrides testinfra's own fixture);
* ``host_settings``: :class:`winfra.deploy_settings.DockerHostSettings` of the target (skips
  without host data);
* ``deployed_sim_lab`` (session): runs the deploy into a temporary ``WINSIM_STATE_DIR``; skips
  when ``deploys/docker_host.py`` does not exist;
* ``sim_lab`` (session): the simulated endpoints (started on first use, stopped at the end).
"""

from __future__ import annotations

import os
import subprocess
import sys
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from infra_lab import (
    REPO,
    SIM_PREFIX,
    InfraTarget,
    inventory_secrets,
    load_inventory,
    match_inventory_host,
    redact,
    url_id,
)
from pyinfra.api import HiddenValue

SIM_INVENTORY = REPO / "inventories" / "sim.py"
DEPLOY = REPO / "deploys" / "docker_host.py"
DEPLOY_TIMEOUT_SEC = 900


# --------------------------------------------------------------------------------------------
# Options
# --------------------------------------------------------------------------------------------


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("winfra-infra", "winfra deployed-state suite (tests/infra)")
    group.addoption(
        "--winfra-inventory",
        action="store",
        default=None,
        help="pyinfra inventory giving host data (default: inventories/sim.py without --hosts)",
    )
    group.addoption(
        "--winsim-existing-state",
        action="store_true",
        default=False,
        help="check the simulated lab already deployed in $WINSIM_STATE_DIR or ./.winsim "
        "instead of running the deploy into a temporary state directory",
    )


# --------------------------------------------------------------------------------------------
# Targets
# --------------------------------------------------------------------------------------------


def _targets(config: pytest.Config) -> list[InfraTarget]:
    cached = getattr(config, "_winfra_infra_targets", None)
    if cached is not None:
        return list(cached)
    hosts_opt = config.getoption("hosts", default=None)
    inventory_opt = config.getoption("--winfra-inventory", default=None)
    targets: list[InfraTarget] = []
    if hosts_opt:
        inventory = load_inventory(Path(inventory_opt)) if inventory_opt else []
        for url in [u.strip() for u in hosts_opt.split(",") if u.strip()]:
            parsed = urllib.parse.urlsplit(url)
            inv = match_inventory_host(parsed.hostname or "", inventory) if inventory else None
            targets.append(InfraTarget(url_id(url), False, inv, url))
    else:
        inventory = load_inventory(Path(inventory_opt) if inventory_opt else SIM_INVENTORY)
        for inv in inventory:
            if inv.name.startswith(SIM_PREFIX):
                targets.append(InfraTarget(inv.name, True, inv))
    config._winfra_infra_targets = targets  # type: ignore[attr-defined]
    return list(targets)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "infra_target" not in metafunc.fixturenames:
        return
    targets = _targets(metafunc.config)
    metafunc.parametrize("infra_target", targets, ids=[t.id for t in targets], scope="module")


# --------------------------------------------------------------------------------------------
# The simulated lab
# --------------------------------------------------------------------------------------------


@dataclass
class DeployRun:
    """The deploy the suite ran (``rc`` None: it was not run, an existing state is checked)."""

    state_dir: Path
    rc: int | None
    output: str


def _pyinfra_command() -> list[str]:
    exe = Path(sys.executable).parent / "pyinfra"
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "pyinfra"]


@pytest.fixture(scope="session")
def deployed_sim_lab(tmp_path_factory: pytest.TempPathFactory, pytestconfig: pytest.Config) -> DeployRun:
    """Run ``pyinfra inventories/sim.py deploys/docker_host.py -y`` once, as a subprocess, into a
    fresh temporary ``WINSIM_STATE_DIR``; the result (exit code, redacted output) is returned so
    each check still runs and ``test_deploy_succeeded`` reports the deploy's own failure."""
    if not DEPLOY.is_file():
        pytest.skip(f"{DEPLOY.relative_to(REPO)} does not exist yet: nothing to verify on the simulated lab")
    inventory_opt = pytestconfig.getoption("--winfra-inventory", default=None)
    inventory_path = Path(inventory_opt).resolve() if inventory_opt else SIM_INVENTORY
    state_dir = tmp_path_factory.mktemp("winsim-deployed")
    env = dict(os.environ, WINSIM_STATE_DIR=str(state_dir))
    inventory_arg = (
        str(inventory_path.relative_to(REPO)) if inventory_path.is_relative_to(REPO) else str(inventory_path)
    )
    cmd = [*_pyinfra_command(), inventory_arg, str(DEPLOY.relative_to(REPO)), "-y"]
    try:
        proc = subprocess.run(
            cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=DEPLOY_TIMEOUT_SEC, check=False
        )
        rc, output = proc.returncode, proc.stdout + proc.stderr
    except subprocess.TimeoutExpired as exc:
        out = exc.stdout.decode() if isinstance(exc.stdout, bytes) else exc.stdout or ""
        rc, output = -1, f"{out}\n(the deploy did not finish within {DEPLOY_TIMEOUT_SEC} s)"
    secrets = inventory_secrets(load_inventory(inventory_path))
    return DeployRun(state_dir, rc, redact(output, secrets))


class SimLab:
    """Endpoints of the simulated hosts in one state directory, started on first use."""

    def __init__(self, state_dir: Path, deploy: DeployRun | None) -> None:
        self.state_dir = state_dir
        self.deploy = deploy
        self._endpoints: dict[str, Any] = {}

    def url(self, target: InfraTarget) -> str:
        """``winrm://user:password@127.0.0.1:port?no_ssl=true`` for a simulated host."""
        from winfra.sim.models.host import SimHost
        from winfra.sim.shell.executor import host_endpoint, host_users

        name = target.sim_name
        data = target.inventory_host.data if target.inventory_host else {}
        root = Path(str(data.get("winsim_state_dir") or self.state_dir))
        try:  # the simulator's directory name for a host (sanitised); the plain name otherwise
            from winfra.sim.models.host import _safe_dir_name as dir_name
        except ImportError:  # pragma: no cover - depends on the simulator's internals

            def dir_name(n: str) -> str:
                return n

        if self.deploy is None and not (root / dir_name(name) / "state.json").is_file():
            pytest.skip(
                f"no simulator state for {target.name} in {self.state_dir}: run "
                "`pyinfra inventories/sim.py deploys/docker_host.py -y` first"
            )
        # With --winsim-existing-state, host data winsim_state_dir wins (as for the @winsim connector).
        state_dir = root if self.deploy is None else self.state_dir
        sim = SimHost.load(
            name,
            profile=data.get("winsim_profile") or "win11-devbox",
            overrides=data.get("winsim_overrides"),
            state_dir=state_dir,
        )
        endpoint = self._endpoints.get(name)
        if endpoint is None:
            endpoint = host_endpoint(sim, port=0)
            self._endpoints[name] = endpoint
        users = host_users(sim)
        user = data.get("winrm_user") or next(iter(users), None)
        if user is None:
            pytest.fail(f"{target.name}: the simulated host admits no WinRM account")
        password = data.get("winrm_password") or users.get(user) or ""
        if isinstance(password, HiddenValue):  # inventories mask passwords (winfra.inventory.Secret)
            password = password.unmask()
        quoted_user = urllib.parse.quote(str(user), safe="")
        quoted_password = urllib.parse.quote(str(password), safe="")
        return f"winrm://{quoted_user}:{quoted_password}@127.0.0.1:{endpoint.port}?no_ssl=true"

    def stop(self) -> None:
        for endpoint in self._endpoints.values():
            endpoint.stop()
        self._endpoints.clear()


@pytest.fixture(scope="session")
def sim_lab(request: pytest.FixtureRequest) -> Iterator[SimLab]:
    """The simulated lab: deployed by :func:`deployed_sim_lab`, or the existing state with
    ``--winsim-existing-state``."""
    if request.config.getoption("--winsim-existing-state", default=False):
        from winfra.sim.models.host import state_root

        lab = SimLab(state_root(None), None)
    else:
        deploy: DeployRun = request.getfixturevalue("deployed_sim_lab")
        lab = SimLab(deploy.state_dir, deploy)
    yield lab
    lab.stop()


# --------------------------------------------------------------------------------------------
# Per-target fixtures
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def host(infra_target: InfraTarget, request: pytest.FixtureRequest) -> Any:
    """The testinfra host of ``infra_target`` (overrides testinfra's ``host`` fixture, whose
    parametrization happens before the simulated endpoints exist)."""
    import testinfra

    if infra_target.simulated:
        lab: SimLab = request.getfixturevalue("sim_lab")
        url = lab.url(infra_target)
    else:
        assert infra_target.url is not None
        url = infra_target.url
    return testinfra.get_host(url)


@pytest.fixture(scope="module")
def host_settings(infra_target: InfraTarget) -> Any:
    """The deploy's view of the target's host data (role, user, expected versions, ...)."""
    from winfra.deploy_settings import SettingsError, settings_for

    inv = infra_target.inventory_host
    if inv is None:
        pytest.skip(
            f"no host data for {infra_target.id}: pass --winfra-inventory=<the inventory the deploy used>"
        )
    try:
        return settings_for(inv.name, inv.data, inv.groups)
    except SettingsError as exc:
        pytest.fail(f"the inventory's host data is not deployable, so there is no expected state:\n{exc}")
