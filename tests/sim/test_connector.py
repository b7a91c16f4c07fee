"""The @winrm connector through pyinfra's real Inventory/State, against the simulator's WinRM
endpoint over real HTTP with NTLM message encryption (tests/sim/_winrm_harness.py)."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from _winrm_harness import PASSWORD, SimTarget, connected, make_state, scripted
from pyinfra.api import StringCommand
from pyinfra.api.connect import connect_all

from winfra.connectors.winrm import COUNTERS_KEY, HOST_INFO_KEY
from winfra.facts.host import HostState
from winfra.powershell.scripts import render_script
from winfra.transport.base import SessionCounters


@pytest.fixture
def target(tmp_path: Path) -> Iterator[SimTarget]:
    t = SimTarget(tmp_path)
    yield t
    t.close()


def counters(host) -> SessionCounters:
    value = host.connector_data[COUNTERS_KEY]
    assert isinstance(value, SessionCounters)
    return value


def test_connect_runs_host_state_and_primes_the_fact_cache(target: SimTarget) -> None:
    with connected(target) as host:
        snap = counters(host).snapshot()
        assert snap["shells_opened"] == 1 and snap["commands"] == 1
        assert host.connector_data[HOST_INFO_KEY] is not None
        # The batched host-state fact is served from the cache primed by connect().
        state = host.get_fact(HostState)
        assert set(state) >= {"windows", "features", "wsl", "docker"}
        assert counters(host).snapshot()["commands"] == 1
        assert counters(host).snapshot()["fact_cache_hits"] == 1
        assert target.sim.counters.snapshot()["scripts"].get("get_host_state") == 1


def test_output_non_ascii_stderr_and_exit_codes(target: SimTarget) -> None:
    with connected(target) as host:
        ok, out = host.run_shell_command(scripted(stdout=["héllo wörld ✓ 日本", "", "last"], rc=0))
        assert ok
        assert out.stdout_lines == ["héllo wörld ✓ 日本", "", "last"]
        assert out.stderr_lines == []

        ok, out = host.run_shell_command(scripted(stdout=["partial"], stderr=["Something failed: ü"], rc=3))
        assert not ok
        assert out.stdout_lines == ["partial"]
        assert out.stderr_lines == ["Something failed: ü"]

        ok, _ = host.run_shell_command(scripted(rc=3), _success_exit_codes=[0, 3])
        assert ok
        ok, _ = host.run_shell_command(scripted(rc=0), _success_exit_codes=[3010])
        assert not ok


def test_string_command_and_hidden_env_values(target: SimTarget) -> None:
    from pyinfra.api import HiddenValue

    target.sim.fs.mkdir("C:\\Users\\O'Neil Data")
    with connected(target) as host:
        command = StringCommand(scripted(echo=True))
        ok, out = host.run_shell_command(
            command,
            _env={"WINFRA_A": "it's $(x) `n", "WINFRA_SECRET": HiddenValue("s3cr3t")},
            _chdir="C:\\Users\\O'Neil Data",
        )
        assert ok, out.stderr
        seen = json.loads(out.stdout_lines[-1])
        assert seen["env"] == {"WINFRA_A": "it's $(x) `n", "WINFRA_SECRET": "s3cr3t"}
        assert seen["cwd"] == "C:\\Users\\O'Neil Data"
        assert seen["stdin"] is None


def test_chdir_to_a_missing_directory_fails_the_command(target: SimTarget) -> None:
    with connected(target) as host:
        ok, out = host.run_shell_command(scripted(echo=True), _chdir="C:\\No Such Dir")
        assert not ok
        assert "Cannot find path 'C:\\No Such Dir' because it does not exist." in out.stderr
        assert out.stdout_lines == []


def test_stdin(target: SimTarget) -> None:
    with connected(target) as host:
        ok, out = host.run_shell_command(scripted(echo=True), _stdin="line one\nzwei: ä")
        assert ok, out.stderr
        assert json.loads(out.stdout_lines[-1])["stdin"] == "line one\nzwei: ä"


def test_200kb_script_travels_over_stdin(target: SimTarget) -> None:
    script = scripted(echo=True, padding=200_000)
    assert len(script) > 200_000
    with connected(target) as host:
        before = counters(host).snapshot()
        ok, out = host.run_shell_command(script)
        assert ok, out.stderr
        seen = json.loads(out.stdout_lines[-1])
        assert seen["script_length"] == len(script)
        import hashlib

        assert seen["script_sha256"] == hashlib.sha256(script.encode()).hexdigest()
        after = counters(host).snapshot()
        assert after["commands"] - before["commands"] == 1
        assert after["powershell_launches"] - before["powershell_launches"] == 1


def test_three_http_requests_per_short_command(target: SimTarget) -> None:
    with connected(target) as host:
        before = counters(host).snapshot()
        for i in range(10):
            ok, _ = host.run_shell_command(scripted(stdout=[str(i)]))
            assert ok
        after = counters(host).snapshot()
        assert after["http_requests"] - before["http_requests"] == 30
        assert after["commands"] - before["commands"] == 10


def test_timeout_terminates_and_the_host_stays_usable(target: SimTarget) -> None:
    with connected(target) as host:
        with pytest.raises(TimeoutError):
            host.run_shell_command(scripted(sleep=30, stdout=["never"]), _timeout=1)
        assert counters(host).snapshot()["command_timeouts"] == 1
        ok, out = host.run_shell_command(scripted(stdout=["after"]))
        assert ok and out.stdout_lines == ["after"]


def test_long_command_survives_receive_operation_timeouts(target: SimTarget) -> None:
    # winrm_operation_timeout_sec=1: each Receive long-poll ends with the OperationTimeout fault,
    # which is retried silently until the command finishes.
    with connected(target, winrm_operation_timeout_sec=1, winrm_read_timeout_sec=5) as host:
        ok, out = host.run_shell_command(scripted(sleep=2.5, stdout=["done"]))
        assert ok and out.stdout_lines == ["done"]
        assert counters(host).snapshot()["receive_timeouts"] >= 1


def test_shell_recreated_after_the_server_dropped_it(target: SimTarget) -> None:
    with connected(target) as host:
        target.endpoint.reset_shells()  # the WinRM service forgot every shell
        ok, out = host.run_shell_command(scripted(stdout=["again"]))
        assert ok and out.stdout_lines == ["again"]
        snap = counters(host).snapshot()
        assert snap["shells_opened"] == 2
        assert target.endpoint.shell_count == 1


def test_shell_recreated_after_the_quota_fault(target: SimTarget) -> None:
    # MaxConcurrentOperationsPerUser: the shell counts 1, each Command 1, Signal gives nothing back.
    target.endpoint.max_operations_per_user = 4
    with connected(target) as host:  # shell (1) + get_host_state (2)
        results = [host.run_shell_command(scripted(stdout=[str(i)])) for i in range(5)]
        assert [out.stdout_lines for _, out in results] == [[str(i)] for i in range(5)]
        assert all(ok for ok, _ in results)
        assert counters(host).snapshot()["shells_opened"] >= 2


def test_shell_recycled_before_the_quota(target: SimTarget) -> None:
    target.endpoint.max_operations_per_user = 1000
    with connected(target) as host:
        host.connector._session.recycle_after = 3
        for i in range(7):
            ok, _ = host.run_shell_command(scripted(stdout=[str(i)]))
            assert ok
        snap = counters(host).snapshot()
        assert snap["shells_recycled"] == 2
        assert target.endpoint.shell_count == 1  # old shells were deleted, not leaked


def test_command_that_may_have_run_is_not_retried(target: SimTarget) -> None:
    with connected(target) as host:
        # The endpoint drops the connection while serving the next Command: it may have started,
        # so the connector reports an error instead of running it again.
        # A new fault plan counts commands from zero.
        target.sim.set_faults([{"drop_connection_at_command": 1}])
        with pytest.raises(OSError):
            host.run_shell_command(scripted(stdout=["x"]))
        assert target.sim.faults.unfired() == []
        assert target.sim.faults.commands == 1  # exactly one Command reached the host: no retry
        ok, out = host.run_shell_command(scripted(stdout=["next works"]))
        assert ok and out.stdout_lines == ["next works"]


def test_fact_cache_is_dropped_by_other_commands(target: SimTarget) -> None:
    with connected(target) as host:
        read = render_script("get_host_state", {})
        host.run_shell_command(read)
        host.run_shell_command(read)
        assert target.sim.counters.snapshot()["scripts"]["get_host_state"] == 1
        host.run_shell_command(scripted(stdout=["change"]))
        host.run_shell_command(read)
        host.run_shell_command(read)
        assert target.sim.counters.snapshot()["scripts"]["get_host_state"] == 2


def test_escalation_and_unknown_shells_are_refused(target: SimTarget) -> None:
    with connected(target) as host:
        before = counters(host).snapshot()["commands"]
        ok, out = host.run_shell_command("whoami", _sudo=True)
        assert not ok and "_sudo" in out.stderr
        ok, out = host.run_shell_command("ls", _shell_executable="bash")
        assert not ok and "bash" in out.stderr
        assert counters(host).snapshot()["commands"] == before


def test_cmd_shell(target: SimTarget) -> None:
    with connected(target) as host:
        ok, out = host.run_shell_command("echo hello", _shell_executable="cmd")
        assert ok, out.stderr
        assert out.stdout_lines == ["hello"]


def test_wrong_password_is_a_connect_error_without_the_password(
    target: SimTarget, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    wrong = "Wr0ng-Pa55word-XYZ"
    state = make_state(target.host_data(winrm_password=wrong))
    host = next(iter(state.inventory))
    host.connect()
    assert not host.connected
    text = caplog.text
    assert "rejected the credentials" in text
    assert "Administrator" in text
    assert wrong not in text and PASSWORD not in text


def test_password_from_cli_fallback(target: SimTarget) -> None:
    data = target.host_data()
    del data["winrm_user"], data["winrm_password"]
    data.update(ssh_user="Administrator", ssh_password=PASSWORD)
    state = make_state(data)
    connect_all(state)
    host = next(iter(state.inventory))
    assert host.connected
    host.disconnect()


@pytest.mark.parametrize(
    ("extra", "needle"),
    [
        ({"winrm_transport": "basic"}, "Basic authentication over plain http"),
        ({"winrm_message_encryption": "never"}, "unencrypted"),
        ({"winrm_read_timeout_sec": 10, "winrm_operation_timeout_sec": 10}, "must be greater"),
    ],
)
def test_insecure_or_invalid_settings_are_refused(
    target: SimTarget, caplog: pytest.LogCaptureFixture, extra: dict, needle: str
) -> None:
    state = make_state(target.host_data(**extra))
    host = next(iter(state.inventory))
    host.connect()
    assert not host.connected
    assert needle in caplog.text
    assert target.sim.counters.snapshot()["http_requests"] == 0  # refused before any traffic


def test_disconnect_deletes_the_shell_and_tolerates_a_dead_host(target: SimTarget) -> None:
    with connected(target) as host:
        assert target.endpoint.shell_count == 1
        host.disconnect()
        assert target.endpoint.shell_count == 0
        host.connect()
        assert host.connected
        target.endpoint.stop()
        host.disconnect()  # must not raise


def test_next_command_after_a_reboot_reconnects_transparently(target: SimTarget) -> None:
    # The host rebooted between two commands (connections dropped, shells gone, the NTLM
    # context lost): the next command cannot have run anywhere, so it runs on a new connection
    # and a new shell.
    target.sim.boot.downtime_s = 0.0
    with connected(target) as host:
        ok, _ = host.run_shell_command(scripted(stdout=["before"]))
        assert ok
        target.sim.reboot()
        ok, out = host.run_shell_command(scripted(stdout=["after reboot"]))
        assert ok, out.stderr
        assert out.stdout_lines == ["after reboot"]
        assert counters(host).snapshot()["shells_opened"] == 2


def test_cached_reads_are_dropped_when_the_host_rebooted_behind_our_back(target: SimTarget) -> None:
    # connect() primed the cache with get_host_state; the host then rebooted (say, Windows
    # Update). The next command reconnects transparently, and the old read must not be reused.
    target.sim.boot.downtime_s = 0.0
    read = render_script("get_host_state", {})
    with connected(target) as host:
        host.run_shell_command(read)
        assert target.sim.counters.snapshot()["scripts"]["get_host_state"] == 1  # from the cache
        target.sim.reboot()
        ok, out = host.run_shell_command(render_script("get_boot_state", {"nonce": "n1"}))
        assert ok, out.stderr
        assert counters(host).snapshot()["server_resets"] >= 1
        host.run_shell_command(read)
        assert target.sim.counters.snapshot()["scripts"]["get_host_state"] == 2


def test_hidden_values_travel_on_stdin_not_on_the_command_line(
    target: SimTarget, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture
) -> None:
    from pyinfra.api import HiddenValue

    caplog.set_level(logging.DEBUG)
    with connected(target) as host:
        before = counters(host).snapshot()["http_requests"]
        ok, out = host.run_shell_command(
            StringCommand(scripted(echo=True) + "\n#", HiddenValue("t0ken-in-command")),
            _env={"WINFRA_SECRET": HiddenValue("s3cr3t")},
            print_input=True,
        )
        assert ok, out.stderr
        assert json.loads(out.stdout_lines[-1])["env"] == {"WINFRA_SECRET": "s3cr3t"}
        # Command + Send (the script, off the command line) + Receive + Signal.
        assert counters(host).snapshot()["http_requests"] - before == 4
    shown = caplog.text + capsys.readouterr().err
    assert "s3cr3t" not in shown and "t0ken-in-command" not in shown


def test_reboot_during_a_command_fails_it_and_the_next_one_works(target: SimTarget) -> None:
    import threading

    target.sim.boot.downtime_s = 0.0
    with connected(target) as host:
        timer = threading.Timer(0.5, target.sim.reboot)
        timer.start()
        try:
            # The command may have run (partly): it is reported as failed, never re-run.
            with pytest.raises(OSError):
                host.run_shell_command(scripted(sleep=5, stdout=["never printed"]))
        finally:
            timer.join()
        ok, out = host.run_shell_command(scripted(stdout=["back"]))
        assert ok and out.stdout_lines == ["back"]
        assert [spec.get("sleep") for spec in target.executor.ran] == [5, None]  # not re-run


def test_reconnect_loop_during_a_reboot_with_a_short_connect_timeout(target: SimTarget) -> None:
    # What the reboot operation does: disconnect, then connect() in a loop with
    # winfra_connect_timeout set, until the host answers again with a new boot.
    import time

    target.sim.boot.downtime_s = 1.0
    with connected(target) as host:
        host.connector_data["winfra_connect_timeout"] = 1
        target.sim.reboot()
        host.disconnect()
        started = time.monotonic()
        host.connect(show_errors=False)
        assert not host.connected  # down: refused at once, not after the 30 s read timeout
        assert time.monotonic() - started < 2
        deadline = time.monotonic() + 10
        while not host.connected and time.monotonic() < deadline:
            time.sleep(0.2)
            host.connect(show_errors=False)
        assert host.connected
        del host.connector_data["winfra_connect_timeout"]
        ok, out = host.run_shell_command(scripted(stdout=["up again"]))
        assert ok and out.stdout_lines == ["up again"]


@pytest.fixture
def tls_target(tmp_path: Path) -> Iterator[SimTarget]:
    t = SimTarget(tmp_path, name="h1-tls", tls=True)
    yield t
    t.close()


def test_https_with_certificate_validation(tls_target: SimTarget) -> None:
    assert tls_target.endpoint.ca_path is not None
    with connected(
        tls_target, winrm_scheme="https", winrm_ca_trust_path=str(tls_target.endpoint.ca_path)
    ) as host:
        ok, out = host.run_shell_command(scripted(stdout=["over tls"]))
        assert ok and out.stdout_lines == ["over tls"]


def _thumbprints(target: SimTarget) -> tuple[str, str]:
    """The SHA-1 thumbprint and SHA-256 fingerprint of the certificate the endpoint presents."""
    import hashlib
    import ssl
    from urllib.parse import urlsplit

    url = urlsplit(target.endpoint.url)
    der = ssl.PEM_cert_to_DER_cert(ssl.get_server_certificate((url.hostname or "", url.port or 0)))
    return hashlib.sha1(der).hexdigest().upper(), hashlib.sha256(der).hexdigest()


def test_https_with_a_pinned_thumbprint_needs_no_ca(
    tls_target: SimTarget, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    # No CA anywhere: the system store does not know the simulator's CA, and none is given.
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    sha1, sha256 = _thumbprints(tls_target)
    for pin in (sha1, ":".join(sha256[i : i + 2] for i in range(0, 64, 2))):
        with connected(tls_target, winrm_scheme="https", winrm_cert_thumbprint=pin) as host:
            ok, out = host.run_shell_command(scripted(stdout=["pinned"]))
            assert ok and out.stdout_lines == ["pinned"]
    wrong = ("0" if sha1[0] != "0" else "1") + sha1[1:]
    state = make_state(tls_target.host_data(winrm_scheme="https", winrm_cert_thumbprint=wrong))
    host = next(iter(state.inventory))
    host.connect()
    assert not host.connected
    assert "ingerprint" in caplog.text, caplog.text[-2000:]


def test_https_with_an_untrusted_certificate_is_refused(
    tls_target: SimTarget, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Validation against the system CAs only: the simulator's self-made CA is not among them.
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    state = make_state(tls_target.host_data(winrm_scheme="https"))
    host = next(iter(state.inventory))
    host.connect()
    assert not host.connected
    assert "TLS error" in caplog.text or "CERTIFICATE_VERIFY_FAILED" in caplog.text
    ok_state = make_state(tls_target.host_data(winrm_scheme="https", winrm_cert_validation="ignore"))
    ok_host = next(iter(ok_state.inventory))
    ok_host.connect()
    assert ok_host.connected
    ok_host.disconnect()


def test_su_user_runs_as_the_target_user_without_leaking_the_password(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    target = SimTarget(tmp_path, name="h1-runas", profile="win11-devbox")
    dev_password = target.sim.users.require("dev").password
    # Not logged on: the task needs a password logon (a logged-on user's task runs interactively
    # and ignores the password, winfra/sim/scripts/run_as_user.py).
    target.sim.users.require("dev").logged_on = False
    try:
        with connected(target) as host:
            ok, out = host.run_shell_command(
                'Write-Output "$env:USERNAME $env:WINFRA_X"',
                _su_user="dev",
                _su_password=dev_password,
                _env={"WINFRA_X": "through-runas"},
            )
            assert ok, out.stderr
            assert out.stdout_lines == ["dev through-runas"]
            ok, out = host.run_shell_command("Write-Output x", _su_user="dev", _su_password="wrong-Pa55!")
            assert not ok
            assert "user name or password is incorrect" in out.stderr
            # A missing _chdir fails the command as the target user too (Set-Location -ErrorAction Stop).
            ok, out = host.run_shell_command(
                "Write-Output x", _su_user="dev", _su_password=dev_password, _chdir="C:\\No Such Dir"
            )
            assert not ok and out.stdout_lines == []
            assert "Cannot find path 'C:\\No Such Dir' because it does not exist." in out.stderr
    finally:
        target.close()
    assert dev_password not in caplog.text and "wrong-Pa55!" not in caplog.text
