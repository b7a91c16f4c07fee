"""Fixture tests for winfra.facts.windows and winfra.operations.windows, in pyinfra's style.

pyinfra-testing's ``make_fact_tests``/``make_operation_tests`` compare a fact's command string
verbatim, but our commands are whole rendered scripts (kilobytes, with the script's sha256), so a
fixture would have to repeat the script. This harness keeps pyinfra's fixture layout and its
``FakeState``/``FakeHost`` (pyinfra3-notes.md section 3.1/3.2) and represents a rendered script
as ``{"script": name, "params": {...}}`` after checking that re-rendering gives the exact text.

Fact fixture (``tests/fixtures/facts/windows.<Fact>/*.json``)::

    {"command": {"script": "get_host_state", "params": {}},
     "output": [stdout lines] | {a JSON document printed as one line},
     "base": "<tests/fixtures/host_states/NAME.json>", "overrides": {...}  # instead of output
     "fact": expected}

Operation fixture (``tests/fixtures/operations/windows.<op>/*.json``)::

    {"args": [...], "kwargs": {...},
     "base": "win11_pro", "overrides": {"windows": {...}, "features": {...}},  # -> facts
     "facts": {"windows.WindowsInfo": ...},            # explicit facts win over base
     "connector_data": {...},                          # before (lists become sets)
     "commands": [{"script": ..., "params": ..., "_success_exit_codes": [...]}, [func, args, kwargs]],
     "noop_description": "...",
     "connector_data_after": {...},                    # subset check, sets compared as sorted lists
     "exception": {"name": "...", "message_contains": "..."}}
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from _fixture_harness import State, rendered_script
from pyinfra.api import FunctionCommand, StringCommand
from pyinfra.context import ctx_host, ctx_state
from pyinfra_testing.util import create_host

from winfra.facts import windows as facts
from winfra.facts.host import HostState
from winfra.operations import windows as ops

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


def deep_merge(base: Any, override: Any) -> Any:
    if isinstance(base, dict) and isinstance(override, dict):
        out = dict(base)
        for key, value in override.items():
            out[key] = deep_merge(base.get(key), value) if key in base else copy.deepcopy(value)
        return out
    return copy.deepcopy(override)


def host_state(data: dict[str, Any]) -> dict[str, Any]:
    base = json.loads((FIXTURES / "host_states" / f"{data['base']}.json").read_text("utf-8"))
    base.pop("_comment", None)
    return deep_merge(base, data.get("overrides") or {})


def facts_from_state(state: dict[str, Any]) -> dict[str, Any]:
    line = [json.dumps(state)]
    views = {
        f"windows.{cls.__name__}": cls().process(line)
        for cls in (
            facts.WindowsInfo,
            facts.OptionalFeatures,
            facts.ServerFeatures,
            facts.PendingReboot,
            facts.LastBootTime,
        )
    }
    return {"host.HostState": HostState().process(line), **views}


def describe_command(command: Any) -> Any:
    if isinstance(command, str):
        command = StringCommand(command.strip())
    if isinstance(command, FunctionCommand):
        return [command.function.__name__, list(command.args), dict(command.kwargs)]
    assert isinstance(command, StringCommand), f"unexpected command {command!r}"
    text = command.get_raw_value()
    described: dict[str, Any] = rendered_script(text) or {"command": text}
    described.update(command.connector_arguments)
    return described


def jsonable(value: Any) -> Any:
    if isinstance(value, set):
        return sorted(value)
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    return value


def fixture_files(kind: str, name: str) -> list[Path]:
    return sorted((FIXTURES / kind / name).glob("*.json"))


FACT_CASES = [
    pytest.param(cls, path, id=f"{cls.__name__}/{path.stem}")
    for cls in (
        facts.WindowsInfo,
        facts.OptionalFeatures,
        facts.ServerFeatures,
        facts.PendingReboot,
        facts.LastBootTime,
    )
    for path in fixture_files("facts", f"windows.{cls.__name__}")
]


@pytest.mark.parametrize(("fact_cls", "path"), FACT_CASES)
def test_fact_fixture(fact_cls: type, path: Path) -> None:
    data = json.loads(path.read_text("utf-8"))
    fact = fact_cls()
    assert describe_command(StringCommand(fact.command())) == data["command"]
    if "base" in data:
        output = [json.dumps(host_state(data))]
    else:
        output = data["output"]
        if isinstance(output, dict):
            output = [json.dumps(output)]
    got = json.loads(json.dumps(fact.process(output), default=lambda o: o.isoformat()))
    assert got == data["fact"]


OPERATION_CASES = [
    pytest.param(op, path, id=f"{op}/{path.stem}")
    for op in ("feature", "reboot", "reboot_if_needed", "requirements")
    for path in fixture_files("operations", f"windows.{op}")
]


@pytest.mark.parametrize(("op_name", "path"), OPERATION_CASES)
def test_operation_fixture(op_name: str, path: Path) -> None:
    data = json.loads(path.read_text("utf-8"))
    fact_data = facts_from_state(host_state(data)) if "base" in data else {}
    fact_data.update(data.get("facts") or {})
    state = State()
    host = create_host(state, facts=fact_data)
    host.name = "testhost"
    for key, value in (data.get("connector_data") or {}).items():
        host.connector_data[key] = set(value) if isinstance(value, list) else value
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
    for key, expected in (data.get("connector_data_after") or {}).items():
        assert jsonable(host.connector_data.get(key)) == expected, key


def test_every_fixture_directory_is_collected() -> None:
    # A fixture directory named after a fact or op that does not exist would silently test nothing.
    known = {f"windows.{c}" for c in ("WindowsInfo", "OptionalFeatures", "ServerFeatures", "PendingReboot")}
    known |= {"windows.LastBootTime"}
    known |= {f"windows.{o}" for o in ("feature", "reboot", "reboot_if_needed", "requirements")}
    present = {p.name for kind in ("facts", "operations") for p in (FIXTURES / kind).glob("windows.*")}
    assert present <= known
    assert len(FACT_CASES) >= 5 and len(OPERATION_CASES) >= 10
