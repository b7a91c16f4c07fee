"""Golden shapes: our endpoint against recordings of a real Windows Server 2016.

``tests/data/pypsrp/*.yml`` are request/response recordings from jborean93/pypsrp
(``tests/tests_pypsrp/responses``, MIT, licence text beside them; testing-without-windows.md §c).
Each recorded request is replayed to our endpoint (ids rewritten to the ones our endpoint handed
out), with a scripted executor that produces the recorded command's output. For every message:

* the HTTP status matches (200, or the recorded ``transport_error`` 500);
* the response parses to the same result: Receive → (stdout, stderr, done, exit code), fault →
  (SOAP code, subcode, WSManFault Code), Create → a ShellId selector, Command → a CommandId;
* the XML has the same shape: the same set of element paths with the same attribute names
  (Windows' per-request ``p:ActivityId`` header aside).

The first recordings also replay unchanged through pywinrm's parser as a sanity check of the data.
"""

from __future__ import annotations

import base64
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml

from winfra.sim.process import ReceiveChunk, ShellContext

DATA = Path(__file__).resolve().parent.parent / "data" / "pypsrp"
NS = {
    "s": "http://www.w3.org/2003/05/soap-envelope",
    "rsp": "http://schemas.microsoft.com/wbem/wsman/1/windows/shell",
    "w": "http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd",
    "f": "http://schemas.microsoft.com/wbem/wsman/1/wsmanfault",
}
RECORDINGS = sorted(p.name for p in DATA.glob("test_winrs_*.yml"))
USER, PASSWORD = "vagrant", "vagrant-golden"


def _messages(name: str) -> list[dict[str, Any]]:
    return yaml.safe_load((DATA / name).read_text("utf-8"))["messages"]


def _action(xml: str) -> str:
    match = re.search(r"Action[^>]*>([^<]+)<", xml)
    assert match is not None
    return match.group(1).rsplit("/", 1)[1]


def _receive_result(xml: str) -> tuple[bytes, bytes, bool, int | None]:
    root = ET.fromstring(xml)
    out = err = b""
    for stream in root.iterfind(".//rsp:ReceiveResponse/rsp:Stream", NS):
        data = base64.b64decode(stream.text or "")
        if stream.get("Name") == "stdout":
            out += data
        else:
            err += data
    state = root.find(".//rsp:CommandState", NS)
    done = state is not None and state.get("State", "").endswith("/Done")
    code = root.findtext(".//rsp:ExitCode", namespaces=NS)
    return out, err, done, int(code) if code is not None else None


def _result(action: str, xml: str) -> Any:
    root = ET.fromstring(xml)
    fault = root.find(".//s:Fault", NS)
    if fault is not None:
        wsman = fault.find(".//f:WSManFault", NS)
        return (
            "fault",
            fault.findtext("s:Code/s:Value", namespaces=NS),
            fault.findtext("s:Code/s:Subcode/s:Value", namespaces=NS),
            wsman.get("Code") if wsman is not None else None,
        )
    if action == "Receive":
        return _receive_result(xml)
    if action == "Create":
        return ("shell", root.find(".//w:Selector[@Name='ShellId']", NS) is not None)
    if action == "Command":
        return ("command", bool(root.findtext(".//rsp:CommandId", namespaces=NS)))
    return (action, None)


def _shape(xml: str) -> set[tuple[str, frozenset[str]]]:
    root = ET.fromstring(xml)
    shape: set[tuple[str, frozenset[str]]] = set()

    def walk(element: ET.Element, prefix: str) -> None:
        path = f"{prefix}/{element.tag}"
        if element.tag.endswith("}ActivityId"):  # per-request diagnostics id Windows adds sometimes
            return
        shape.add((path, frozenset(element.attrib)))
        for child in element:
            walk(child, path)

    walk(root, "")
    return shape


class _ScriptedProcess:
    """Answers each Receive with the next recorded event: output, or nothing (a time-out)."""

    def __init__(self, events: list[ReceiveChunk | None]) -> None:
        self.events = list(events)
        self.stdin = b""

    def write_stdin(self, data: bytes, end: bool) -> None:
        self.stdin += data

    def receive(self, timeout: float) -> ReceiveChunk | None:
        return self.events.pop(0) if self.events else None

    def terminate(self) -> None:
        pass


class _RecordedExecutor:
    """Plays back what the recording shows for its one command, Receive by Receive."""

    def __init__(self, messages: list[dict[str, Any]]) -> None:
        self.events: list[ReceiveChunk | None] = []
        for message in messages:
            if _action(message["request"]) != "Receive" or "CommandId=" not in message["request"]:
                continue
            if "w:TimedOut" in message["response"]:
                self.events.append(None)
            elif "Fault" not in message["response"]:
                out, err, done, rc = _receive_result(message["response"])
                self.events.append(ReceiveChunk(out, err, done, rc))
        self.started: list[tuple[str, list[str]]] = []

    def start(
        self, shell: ShellContext, command: str, arguments: list[str], *, skip_cmd_shell: bool = False
    ) -> _ScriptedProcess:
        if skip_cmd_shell and not re.match(r"^[A-Za-z]:\\", command):
            raise FileNotFoundError(command)  # HostExecutor's rule (tests/sim/test_shell.py)
        self.started.append((command, arguments))
        return _ScriptedProcess(self.events)


def _replay(name: str, endpoint_factory: Any, executor: Any = None) -> list[tuple[dict[str, Any], int, str]]:
    messages = _messages(name)
    executor = executor if executor is not None else _RecordedExecutor(messages)
    ep = endpoint_factory(executor, {USER: PASSWORD}, allow_unencrypted=True)
    session = requests.Session()
    session.auth = (USER, PASSWORD)
    ids: dict[str, str] = {}
    replies = []
    for message in messages:
        request = message["request"]
        for theirs, ours in ids.items():
            request = request.replace(theirs, ours)
        # Recorded long polls waited 20 s; the scripted process answers at once anyway.
        request = re.sub(r"OperationTimeout>PT\d+S<", "OperationTimeout>PT1S<", request)
        resp = session.post(
            ep.url, data=request.encode(), headers={"Content-Type": "application/soap+xml;charset=UTF-8"}
        )
        text = resp.content.decode("utf-8")
        recorded = message["response"]
        action = _action(message["request"])
        if action == "Create" and resp.status_code == 200:
            theirs = re.search(r'Name="ShellId">([^<]+)<', recorded).group(1)  # type: ignore[union-attr]
            ids[theirs] = re.search(r'Name="ShellId">([^<]+)<', text).group(1)  # type: ignore[union-attr]
        if action == "Command" and resp.status_code == 200:
            theirs = re.search(r"CommandId>([^<]+)<", recorded).group(1)  # type: ignore[union-attr]
            ids[theirs] = re.search(r"CommandId>([^<]+)<", text).group(1)  # type: ignore[union-attr]
        replies.append((message, resp.status_code, text))
    return replies


@pytest.mark.parametrize("name", RECORDINGS)
def test_endpoint_matches_windows_recording(name: str, sim_endpoint_factory: Any) -> None:
    assert RECORDINGS, "recordings missing"
    for message, status, text in _replay(name, sim_endpoint_factory):
        action = _action(message["request"])
        recorded = message["response"]
        expected_status = message.get("transport_error", {}).get("code", 200)
        assert status == expected_status, (name, action, text[:500])
        assert _result(action, text) == _result(action, recorded), (name, action)
        assert _shape(text) == _shape(recorded), (name, action, _shape(text) ^ _shape(recorded))


def test_recorded_send_delivered_stdin(sim_endpoint_factory: Any) -> None:
    replies = _replay("test_winrs_send.yml", sim_endpoint_factory)
    assert [_action(m["request"]) for m, _s, _t in replies] == [
        "Create",
        "Command",
        "Send",
        "Send",
        "Receive",
        "Signal",
        "Delete",
    ]


def test_recordings_replay_through_pywinrm() -> None:
    """The data itself is what pywinrm expects (testing-without-windows.md §c, verified there)."""
    from winrm.protocol import Protocol

    class Replay:
        def __init__(self, messages: list[dict[str, Any]]) -> None:
            self.messages = list(messages)

        def send_message(self, message: str) -> bytes:
            from winrm.exceptions import WinRMTransportError

            entry = self.messages.pop(0)
            msg_id = re.search(r"MessageID>([^<]+)<", message).group(1)  # type: ignore[union-attr]
            response = re.sub(r"RelatesTo>[^<]+<", f"RelatesTo>{msg_id}<", entry["response"])
            if "transport_error" in entry:
                raise WinRMTransportError("http", entry["transport_error"]["code"], response)
            return response.encode()

    results = {}
    for name in ("test_winrs_standard.yml", "test_winrs_stderr_rc.yml", "test_winrs_operation_timeout.yml"):
        protocol = Protocol("http://recorded/wsman", username="u", password="p")
        protocol.transport = Replay(_messages(name))  # type: ignore[assignment]
        shell_id = protocol.open_shell()
        command_id = protocol.run_command(shell_id, "cmd.exe", ["/c", "echo", "hi"])
        results[name] = protocol.get_command_output(shell_id, command_id)
    assert results["test_winrs_standard.yml"] == (b"hi\r\n", b"", 0)
    assert results["test_winrs_stderr_rc.yml"] == (b"out \r\n", b"err \r\n", 1)
    assert results["test_winrs_operation_timeout.yml"][2] == 0


@pytest.mark.parametrize("name", ["test_winrs_standard.yml", "test_winrs_stderr_rc.yml"])
def test_real_shell_layer_reproduces_recorded_cmd_output(
    name: str, sim_endpoint_factory: Any, sim_endpoint_host: Any
) -> None:
    """No scripting: the simulator's own cmd.exe layer runs the recorded command lines
    (``cmd.exe /c echo hi``; ``cmd.exe /c echo out && echo err>&2 && exit 1``) and must print
    exactly what Windows printed, trailing spaces included."""
    from winfra.sim.shell.executor import HostExecutor

    replies = _replay(name, sim_endpoint_factory, HostExecutor(sim_endpoint_host))
    for message, status, text in replies:
        if _action(message["request"]) == "Receive":
            assert status == 200
            assert _receive_result(text) == _receive_result(message["response"])
