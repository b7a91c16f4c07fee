"""Fixture tests for winfra.facts.docker and winfra.operations.docker, in pyinfra's style.

Same layout and conventions as tests/unit/test_windows_fixtures.py (rendered scripts appear as
``{"script": name, "params": {...}}`` after checking that re-rendering gives the exact text;
``FunctionCommand`` as ``[function name, args, kwargs]``), with two differences:

* ``overrides`` replace whole sections of the base host state (``{"docker": {...}}``), since a
  docker section is one coherent capture (they come from the simulator's counterpart of the
  ``#region docker`` block, winfra/sim/scripts/_state_docker.py);
* operation fixtures may give ``local_files`` (name -> text) written to a temp dir, and
  ``{LOCAL}`` in args/kwargs/commands stands for that dir.

Fact fixture (``tests/fixtures/facts/docker.<Fact>/*.json``)::

    {"command": {"script": ..., "params": ...}, "base": NAME, "overrides": {...}, "fact": expected}
      or "output": {...} instead of base/overrides; "command_kwargs" for a fact taking arguments

Operation fixture (``tests/fixtures/operations/docker.<op>/*.json``)::

    {"args": [...], "kwargs": {...}, "base": NAME, "overrides": {...}, "facts": {...}, "host_data": {...},
     "executing": bool (pyinfra's execution stage rather than the prepare stage),
     "commands": [...], "noop_description": "...", "exception": {"name", "message_contains"}}
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from _fixture_harness import State, rendered_script
from pyinfra.api import FileUploadCommand, FunctionCommand, StringCommand
from pyinfra.context import ctx_host, ctx_state
from pyinfra_testing.util import create_host

from winfra.facts import docker as facts
from winfra.facts import windows as wfacts
from winfra.facts.wsl import WslInstallation
from winfra.operations import docker as ops
from winfra.powershell.scripts import parse_header

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


def host_state(data: dict[str, Any]) -> dict[str, Any]:
    state = json.loads((FIXTURES / "host_states" / f"{data['base']}.json").read_text("utf-8"))
    state.pop("_comment", None)
    state.update(data.get("overrides") or {})
    return state


def facts_from_state(state: dict[str, Any]) -> dict[str, Any]:
    line = [json.dumps(state)]
    classes = (
        wfacts.WindowsInfo,
        wfacts.OptionalFeatures,
        wfacts.ServerFeatures,
        wfacts.PendingReboot,
        facts.DockerEngine,
        facts.DockerDesktop,
        facts.ContainerCompatibility,
    )
    out = {f"{cls.__module__.rsplit('.', 1)[1]}.{cls.__name__}": cls().process(line) for cls in classes}
    out["wsl.WslInstallation"] = WslInstallation().process(line)
    return out


def describe_command(command: Any) -> Any:
    if isinstance(command, str):
        command = StringCommand(command.strip())
    if isinstance(command, FunctionCommand):
        args = [describe_command(StringCommand(a)) if _is_script(a) else a for a in command.args]
        return [command.function.__name__, args, dict(command.kwargs)]
    if isinstance(command, FileUploadCommand):
        return ["upload", str(command.src), str(command.dest)]
    assert isinstance(command, StringCommand), f"unexpected command {command!r}"
    text = command.get_raw_value()
    described: dict[str, Any] = rendered_script(text) or {"command": text}
    described.update(command.connector_arguments)
    return described


def _is_script(value: Any) -> bool:
    return isinstance(value, str) and parse_header(value) is not None


def substitute(value: Any, local: str) -> Any:
    if isinstance(value, str):
        return value.replace("{LOCAL}", local)
    if isinstance(value, list):
        return [substitute(v, local) for v in value]
    if isinstance(value, dict):
        return {k: substitute(v, local) for k, v in value.items()}
    return value


def fixture_files(kind: str, name: str) -> list[Path]:
    return sorted((FIXTURES / kind / name).glob("*.json"))


FACTS = ("DockerEngine", "DockerDesktop", "ContainerCompatibility", "DockerVersion")
FACT_CASES = [
    pytest.param(name, path, id=f"{name}/{path.stem}")
    for name in FACTS
    for path in fixture_files("facts", f"docker.{name}")
]


@pytest.mark.parametrize(("fact_name", "path"), FACT_CASES)
def test_fact_fixture(fact_name: str, path: Path) -> None:
    data = json.loads(path.read_text("utf-8"))
    fact = getattr(facts, fact_name)()
    command = fact.command(**(data.get("command_kwargs") or {}))
    assert describe_command(StringCommand(command)) == data["command"]
    output = [json.dumps(host_state(data))] if "base" in data else [json.dumps(data["output"])]
    assert json.loads(json.dumps(fact.process(output))) == data["fact"]


OPS = ("engine", "daemon_config", "desktop", "desktop_data_location", "desktop_engine", "smoke_test")
OPERATION_CASES = [
    pytest.param(op, path, id=f"{op}/{path.stem}")
    for op in OPS
    for path in fixture_files("operations", f"docker.{op}")
]


@pytest.mark.parametrize(("op_name", "path"), OPERATION_CASES)
def test_operation_fixture(op_name: str, path: Path, tmp_path: Path) -> None:
    data = substitute(json.loads(path.read_text("utf-8")), str(tmp_path))
    for name, text in (data.get("local_files") or {}).items():
        (tmp_path / name).write_text(text, "utf-8")
    fact_data = facts_from_state(host_state(data)) if "base" in data else {}
    fact_data.update(data.get("facts") or {})
    state = State()
    state.is_executing = bool(data.get("executing"))
    host = create_host(state, facts=fact_data, data=data.get("host_data") or {})
    host.name = "testhost"
    op = getattr(ops, op_name)
    with ctx_state.use(state), ctx_host.use(host):
        if "exception" in data:
            with pytest.raises(Exception) as info:
                list(op._inner(*data.get("args", []), **data.get("kwargs", {})))
            assert type(info.value).__name__ == data["exception"]["name"]
            assert data["exception"]["message_contains"] in str(info.value)
            return
        commands = [describe_command(c) for c in op._inner(*data.get("args", []), **data.get("kwargs", {}))]
    assert commands == data["commands"]
    if not commands or "noop_description" in data:
        assert host.noop_description == data["noop_description"]


def test_every_fixture_directory_is_collected() -> None:
    known = {f"docker.{n}" for n in (*FACTS, *OPS)}
    present = {p.name for kind in ("facts", "operations") for p in (FIXTURES / kind).glob("docker.*")}
    assert present <= known
    assert len(FACT_CASES) >= 10


def test_diff_shows_a_key_level_json_diff(caplog: pytest.LogCaptureFixture) -> None:
    data = json.loads(
        (FIXTURES / "operations/docker.daemon_config/engine_write_validated_and_restarted.json").read_text()
    )
    state = State()
    state.config.DIFF = True
    host = create_host(state, facts=facts_from_state(host_state(data)))
    host.name = "testhost"
    with ctx_state.use(state), ctx_host.use(host), caplog.at_level("INFO"):
        list(ops.daemon_config._inner(**data["kwargs"]))
    assert '+ log-level: "warn"' in caplog.text
    assert "group" not in caplog.text.split("daemon.json diff", 1)[1]  # unchanged keys are not listed
