"""Fixture tests for winfra.facts.wsl and winfra.operations.wsl, in pyinfra's style.

Same layout as tests/unit/test_windows_fixtures.py (pyinfra3-notes.md 3.1/3.2): a rendered script
is written as ``{"script": name, "params": {...}}`` (re-rendering must give the exact text),
connector arguments sit next to it, and ``_su_password`` shows as ``"<hidden>"`` so no fixture
compares a secret. Operation fixtures add ``"data"`` (host data: winrm_user, winfra_user,
winfra_user_password, wsl_settings).

Fact fixture (``tests/fixtures/facts/wsl.<Fact>/*.json``)::

    {"arg": [...], "command": {"script", "params"}, "output": {JSON document} | [lines], "fact": ...}
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from _fixture_harness import State, rendered_script
from pyinfra.api import FunctionCommand, StringCommand
from pyinfra.context import ctx_host, ctx_state
from pyinfra_testing.util import create_host

from winfra.facts import wsl as facts
from winfra.operations import wsl as ops
from winfra.target_user import target_user_arguments

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
FACTS = ("WslInstallation", "WslDistros", "WslConfig", "WslUserInfo")
OPERATIONS = ("installed", "config", "distro_version", "distro_location")


def describe_command(command: Any) -> Any:
    if isinstance(command, str):
        command = StringCommand(command.strip())
    if isinstance(command, FunctionCommand):
        return [command.function.__name__, list(command.args), dict(command.kwargs)]
    assert isinstance(command, StringCommand), f"unexpected command {command!r}"
    text = command.get_raw_value()
    described = rendered_script(text)
    assert described is not None, text[:80]
    for key, value in command.connector_arguments.items():
        described[key] = "<hidden>" if key == "_su_password" else value
    return described


def files(kind: str, name: str) -> list[Path]:
    return sorted((FIXTURES / kind / name).glob("*.json"))


FACT_CASES = [
    pytest.param(name, path, id=f"{name}/{path.stem}")
    for name in FACTS
    for path in files("facts", f"wsl.{name}")
]


@pytest.mark.parametrize(("fact_name", "path"), FACT_CASES)
def test_fact_fixture(fact_name: str, path: Path) -> None:
    data = json.loads(path.read_text("utf-8"))
    fact = getattr(facts, fact_name)()
    assert describe_command(StringCommand(fact.command(*data.get("arg", [])))) == data["command"]
    output = data["output"]
    if isinstance(output, dict):
        output = [json.dumps(output)]
    assert json.loads(json.dumps(fact.process(output))) == data["fact"]


OPERATION_CASES = [
    pytest.param(op, path, id=f"{op}/{path.stem}")
    for op in OPERATIONS
    for path in files("operations", f"wsl.{op}")
]


@pytest.mark.parametrize(("op_name", "path"), OPERATION_CASES)
def test_operation_fixture(op_name: str, path: Path) -> None:
    data = json.loads(path.read_text("utf-8"))
    state = State()
    host = create_host(state, facts=data.get("facts") or {}, data=data.get("data") or {})
    host.name = "testhost"
    secret = (data.get("data") or {}).get("winfra_user_password")
    op = getattr(ops, op_name)
    with ctx_state.use(state), ctx_host.use(host):
        if "exception" in data:
            with pytest.raises(Exception) as info:
                list(op._inner(*data.get("args", []), **data.get("kwargs", {})))
            assert type(info.value).__name__ == data["exception"]["name"]
            assert data["exception"]["message_contains"] in str(info.value)
            assert not secret or secret not in str(info.value)
            return
        commands = [describe_command(c) for c in op._inner(*data.get("args", []), **data.get("kwargs", {}))]
    assert commands == data["commands"]
    if not commands or "noop_description" in data:
        assert host.noop_description == data["noop_description"]
    for key, expected in (data.get("connector_data_after") or {}).items():
        value = host.connector_data.get(key)
        assert (sorted(value) if isinstance(value, set) else value) == expected, key
    if secret:
        for command in commands:
            assert secret not in json.dumps(command if isinstance(command, list) else command["params"])


def test_password_travels_only_as_connector_argument() -> None:
    state = State()
    data = {"winrm_user": "winrm-admin", "winfra_user": "dev", "winfra_user_password": "fixture-secret"}
    host = create_host(state, facts={"wsl.WslDistros": {"user=dev": []}}, data=data)
    with ctx_state.use(state), ctx_host.use(host):
        user, su = target_user_arguments(host, None)
        # The password is a pyinfra HiddenValue (masked in -v output); the connector unmasks it.
        password = su.pop("_su_password")
        assert (user, su) == ("dev", {"_su_user": "dev"})
        assert password.unmask() == "fixture-secret"
        # The WinRM user itself needs no run-as; another user without a configured password gets none.
        assert target_user_arguments(host, "WINRM-ADMIN") == ("WINRM-ADMIN", {})
        assert target_user_arguments(host, "other") == ("other", {"_su_user": "other"})


def test_every_fixture_directory_is_collected() -> None:
    known = {f"wsl.{n}" for n in (*FACTS, *OPERATIONS)}
    present = {p.name for kind in ("facts", "operations") for p in (FIXTURES / kind).glob("wsl.*")}
    assert present <= known
    assert len(FACT_CASES) >= 8 and len(OPERATION_CASES) >= 25


def test_config_diff_shows_the_ini_diff(caplog: pytest.LogCaptureFixture) -> None:
    state = State()
    state.config.DIFF = True
    current = {
        "path": r"C:\Users\dev\.wslconfig",
        "exists": True,
        "content": "[wsl2]\r\nmemory=4GB\r\n",
        "bom": False,
    }
    host = create_host(state, facts={"wsl.WslConfig": {"user=dev": current}}, data={"winrm_user": "dev"})
    host.name = "testhost"
    with ctx_state.use(state), ctx_host.use(host), caplog.at_level("INFO"):
        commands = list(ops.config._inner(settings={"wsl2": {"memory": "8GB"}}))
    assert len(commands) == 1
    text = caplog.text
    assert "Will update .wslconfig of dev" in text
    assert "-memory=4GB" in text and "+memory=8GB" in text
    assert "Docker Desktop" in text  # the shutdown warning names what else stops


def test_docker_desktop_data_only_with_the_internal_override() -> None:
    distros = [
        {"name": "docker-desktop-data", "guid": "{g}", "state": "Stopped", "version": 2,
         "base_path": r"C:\Users\dev\AppData\Local\Docker\wsl\data", "vhd_path": "x", "vhd_exists": True,
         "vhd_size": 1, "is_default": False, "default_uid": 0},
    ]  # fmt: skip
    facts_ = {
        "wsl.WslDistros": {"user=dev": distros},
        "wsl.WslRelocationJournals": {"user=dev": {}},
        "wsl.WslInstallation": {"kind": "package", "supports_manage_move": False},
    }
    state = State()
    host = create_host(state, facts=facts_, data={"winrm_user": "dev"})
    host.name = "testhost"
    with ctx_state.use(state), ctx_host.use(host):
        [command] = list(
            ops.distro_location._inner("docker-desktop-data", r"D:\docker-data", allow_docker_desktop=True)
        )
        assert describe_command(command)["params"]["allow_docker_desktop_data"] is True
        with pytest.raises(Exception, match="desktop_data_location"):
            list(ops.distro_location._inner("docker-desktop", r"D:\dd", allow_docker_desktop=True))


def test_winrm_user_from_host_state_when_not_in_host_data() -> None:
    state = State()
    host_state = {"windows": {"winrm_user": "WIN11-DEV\\winrm-admin"}}
    host = create_host(state, facts={"host.HostState": host_state}, data={"winfra_user": "dev"})
    with ctx_state.use(state), ctx_host.use(host):
        assert target_user_arguments(host, None) == ("dev", {"_su_user": "dev"})
        assert target_user_arguments(host, "winrm-admin") == ("winrm-admin", {})
