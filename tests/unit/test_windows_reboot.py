"""The controller side of windows.reboot without a host: the wait loop's backoff, readiness and
timeout, the connect-timeout override, and how restart_computer's return codes are handled
(anchors-and-winrm.md section 1.6)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from pyinfra.api.exceptions import ConnectError
from pyinfra.connectors.util import CommandOutput, OutputLine

from winfra.operations import windows as ops
from winfra.powershell.scripts import parse_header


class FakeHost:
    """Just what the reboot steps use of a pyinfra Host."""

    def __init__(self, connect_failures: int = 0) -> None:
        self.name = "win-1"
        self.print_prefix = "[win-1] "
        self.connector_data: dict[str, Any] = {ops.CONNECT_TIMEOUT: 30}
        self.connected = True
        self.connect_failures = connect_failures
        self.connect_timeouts: list[Any] = []
        self.errors: list[str] = []
        self.commands: list[str] = []
        self.respond: Callable[[str, dict[str, Any]], tuple[bool, dict[str, Any]]] = lambda s, p: (True, {})

    def connect(
        self, reason: str | None = None, show_errors: bool = True, raise_exceptions: bool = False
    ) -> None:
        self.connect_timeouts.append(self.connector_data.get(ops.CONNECT_TIMEOUT))
        if self.connect_failures > 0:
            self.connect_failures -= 1
            raise ConnectError("connection refused")
        self.connected = True

    def disconnect(self) -> None:
        self.connected = False

    def log_styled(self, message: str, **kwargs: Any) -> None:
        self.errors.append(message)

    def run_shell_command(self, command: Any, **kwargs: Any) -> tuple[bool, CommandOutput]:
        text = command.get_raw_value()
        header = parse_header(text)
        assert header is not None
        params = json.loads(text.rsplit("} -InputJson ", 1)[1][1:-1].replace("''", "'"))
        self.commands.append(header.name)
        ok, data = self.respond(header.name, params)
        return ok, CommandOutput([OutputLine("stdout", json.dumps(data))])


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    recorded: list[float] = []
    monkeypatch.setattr(ops.gevent, "sleep", recorded.append)
    return recorded


def boot_states(*states: dict[str, Any]) -> Callable[[str, dict[str, Any]], tuple[bool, dict[str, Any]]]:
    queue = list(states)

    def respond(script: str, params: dict[str, Any]) -> tuple[bool, dict[str, Any]]:
        assert script == "get_boot_state"
        state = queue.pop(0) if len(queue) > 1 else queue[0]
        return True, {"nonce": params["nonce"], "servicing_in_progress": False, **state}

    return respond


def test_waits_for_a_new_boot_then_the_logon_screen_with_capped_backoff(sleeps: list[float]) -> None:
    host = FakeHost(connect_failures=6)
    host.connector_data[ops.REBOOT_RECORD] = {"boot_before": 100}
    host.respond = boot_states(
        {"last_boot_filetime": 200, "autologon_checked": False},
        {"last_boot_filetime": 200, "autologon_checked": True},
    )
    assert ops._wait_for_reboot(None, host, timeout=60, connect_timeout=3, poll_interval=1.0) is True
    # Six refused connections: 2, 4, 8, then capped at 12 (plus up to one interval of jitter).
    backoff = sleeps[:6]
    for got, base in zip(backoff, [2, 4, 8, 12, 12, 12], strict=True):
        assert base <= got <= base + 1.0
    assert sleeps[6] == 1.0  # up but AutoLogonChecked not back yet: poll at the interval
    assert host.connect_timeouts == [3] * 7  # the short timeout while waiting
    assert host.connector_data[ops.CONNECT_TIMEOUT] == 30  # and the deploy's value afterwards
    assert host.commands == ["get_boot_state", "get_boot_state"]


def test_an_unchanged_boot_time_means_not_rebooted_yet(sleeps: list[float]) -> None:
    host = FakeHost()
    host.connector_data[ops.REBOOT_RECORD] = {"boot_before": 100}
    host.respond = boot_states(
        {"last_boot_filetime": 100, "autologon_checked": True},
        {"last_boot_filetime": 100, "autologon_checked": True},
        {"last_boot_filetime": 300, "autologon_checked": True},
    )
    assert ops._wait_for_reboot(None, host, timeout=60, connect_timeout=3, poll_interval=0.5)
    assert sleeps == [0.5, 0.5]


def test_servicing_in_progress_is_not_ready(sleeps: list[float]) -> None:
    host = FakeHost()
    host.connector_data[ops.REBOOT_RECORD] = {"boot_before": 1}
    states = iter([True, False])

    def respond(script: str, params: dict[str, Any]) -> tuple[bool, dict[str, Any]]:
        return True, {
            "nonce": params["nonce"],
            "last_boot_filetime": 2,
            "autologon_checked": True,
            "servicing_in_progress": next(states),
        }

    host.respond = respond
    assert ops._wait_for_reboot(None, host, timeout=60, connect_timeout=3, poll_interval=0.25)
    assert sleeps == [0.25]


def test_a_probe_whose_nonce_does_not_match_does_not_count(sleeps: list[float]) -> None:
    host = FakeHost()
    host.connector_data[ops.REBOOT_RECORD] = {"boot_before": 1}
    answers = iter(["stale", None])

    def respond(script: str, params: dict[str, Any]) -> tuple[bool, dict[str, Any]]:
        nonce = next(answers) or params["nonce"]
        return True, {"nonce": nonce, "last_boot_filetime": 2, "autologon_checked": True}

    host.respond = respond
    assert ops._wait_for_reboot(None, host, timeout=60, connect_timeout=3, poll_interval=1.0)
    assert len(sleeps) == 1 and 2 <= sleeps[0] <= 3  # treated as a failed try


def test_timeout_is_a_timeout_error_naming_the_host_and_what_it_waited_for(
    sleeps: list[float], monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = iter(range(0, 1000, 10))
    monkeypatch.setattr(ops.time, "monotonic", lambda: float(next(clock)))
    host = FakeHost()
    host.connector_data[ops.REBOOT_RECORD] = {"boot_before": 1}
    host.respond = boot_states({"last_boot_filetime": 2, "autologon_checked": False})
    with pytest.raises(ops.RebootTimeoutError) as caught:
        ops._wait_for_reboot(None, host, timeout=35, connect_timeout=3, poll_interval=1.0)
    assert isinstance(caught.value, TimeoutError)
    message = str(caught.value)
    assert message.startswith("win-1: not back from the reboot after 35s (up but not ready")
    assert "AutoLogonChecked" in message
    assert host.errors == [message]
    assert host.connector_data[ops.CONNECT_TIMEOUT] == 30


def restart_host(rc: int | None = None, exc: Exception | None = None) -> FakeHost:
    host = FakeHost()

    def respond(script: str, params: dict[str, Any]) -> tuple[bool, dict[str, Any]]:
        assert script == "restart_computer" and params == {"delay": 2, "message": "m"}
        if exc is not None:
            raise exc
        return True, {"rc": rc, "output": "text", "aborted_previous": False, "in_progress": rc == 1115}

    host.respond = respond
    return host


def test_restart_success_counts_the_reboot() -> None:
    host = restart_host(rc=0)
    assert ops._issue_restart(None, host, 2, "m") is True
    assert host.connector_data[ops.REBOOTS] == 1


def test_restart_rc_1115_means_a_shutdown_is_under_way() -> None:
    assert ops._issue_restart(None, restart_host(rc=1115), 2, "m") is True


def test_restart_failure_fails_the_host_with_the_rc() -> None:
    host = restart_host(rc=5)
    assert ops._issue_restart(None, host, 2, "m") is False
    assert host.errors == ["win-1: shutdown.exe /r failed with rc 5: text"]


def test_connection_lost_while_scheduling_means_the_host_went_down() -> None:
    host = restart_host(exc=ConnectionResetError("reset by peer"))
    assert ops._issue_restart(None, host, 2, "m") is True


def test_capture_boot_time_retries_then_records(sleeps: list[float]) -> None:
    host = FakeHost()
    calls = iter([OSError("broken pipe"), None])

    def respond(script: str, params: dict[str, Any]) -> tuple[bool, dict[str, Any]]:
        error = next(calls)
        if error:
            raise error
        return True, {"nonce": params["nonce"], "last_boot_filetime": 42, "autologon_checked": True}

    host.respond = respond
    assert ops._capture_boot_time(None, host) is True
    assert host.connector_data[ops.REBOOT_RECORD] == {"boot_before": 42}
    assert len(sleeps) == 1
