"""The simulated WinRM listener, driven by UNMODIFIED third-party clients: pywinrm, pypsrp and
testinfra. Auth (Basic, NTLM with MS-WSMV encryption, HTTPS), keep-alive and the faults Windows
sends. A small echo executor stands in for the shell layer here (tests/sim/test_shell.py covers
the real one)."""

from __future__ import annotations

import base64
import http.client
import socket
import threading
import time
from typing import Any

import pytest
import requests
import winrm
from winrm.exceptions import InvalidCredentialsError, WinRMTransportError, WSManFaultError

from winfra.sim.process import DropConnection, ShellContext
from winfra.sim.shell.process import ProcessIO, ThreadProcess

USER, PASSWORD = "vagrant", "Vagrant-Pa55"


class EchoExecutor:
    """``echo:<command line>`` on stdout, ``err:<stdin>`` on stderr, exit code 7.

    ``slow <seconds>`` sleeps first; ``drop`` raises DropConnection; ``cat`` echoes stdin.
    """

    def __init__(self) -> None:
        self.started: list[tuple[ShellContext, str, list[str]]] = []
        self.terminated = 0

    def start(self, shell: ShellContext, command: str, arguments: list[str]) -> ThreadProcess:
        self.started.append((shell, command, arguments))
        if command == "drop":
            raise DropConnection("injected")
        line = " ".join([command, *arguments])

        def target(io: ProcessIO) -> int:
            if command == "slow":
                time.sleep(float(arguments[0]))
            if command == "cat":
                data = io.read()
                io.finish(data, b"", 0)
                return 0
            if command == "forever":
                io.read()
                return 0
            if command == "dropmid":
                raise DropConnection("injected while running")
            io.finish(f"echo:{line}".encode(), b"err", 7)
            return 7

        return ThreadProcess(target)


@pytest.fixture
def echo() -> EchoExecutor:
    return EchoExecutor()


def _session(endpoint: Any, transport: str = "ntlm", password: str = PASSWORD, **kw: Any) -> winrm.Session:
    return winrm.Session(endpoint.url, auth=(USER, password), transport=transport, **kw)


# --- pywinrm ------------------------------------------------------------------------------------


def test_pywinrm_basic_over_http_when_allow_unencrypted(sim_endpoint_factory, echo) -> None:
    ep = sim_endpoint_factory(echo, {USER: PASSWORD}, allow_unencrypted=True)
    result = _session(ep, "basic").run_cmd("ipconfig", ["/all"])
    assert (result.status_code, result.std_out, result.std_err) == (7, b"echo:ipconfig /all", b"err")
    assert ep.counters.shells_created == 1 and ep.counters.commands == 1


def test_basic_over_http_is_refused_without_allow_unencrypted(sim_endpoint_factory, echo) -> None:
    ep = sim_endpoint_factory(echo, {USER: PASSWORD})
    with pytest.raises(InvalidCredentialsError):
        _session(ep, "basic").run_cmd("hostname")
    assert echo.started == []
    assert ep.counters.http_401 >= 1


def test_basic_refused_when_disabled(sim_endpoint_factory, echo) -> None:
    ep = sim_endpoint_factory(echo, {USER: PASSWORD}, allow_unencrypted=True, allow_basic=False)
    with pytest.raises(InvalidCredentialsError):
        _session(ep, "basic").run_cmd("hostname")


def test_pywinrm_ntlm_with_message_encryption(sim_endpoint_factory, echo) -> None:
    ep = sim_endpoint_factory(echo, {USER: PASSWORD})
    session = _session(ep)
    result = session.run_cmd("ipconfig", ["/all"])
    assert (result.status_code, result.std_out) == (7, b"echo:ipconfig /all")
    ps = session.run_ps("Get-Date")
    assert ps.status_code == 7
    encoded = base64.b64encode("Get-Date".encode("utf-16-le")).decode()
    assert ps.std_out == f"echo:powershell -encodedcommand {encoded}".encode()
    # The shell carried pywinrm's options: code page 437, profile loaded.
    shell = echo.started[0][0]
    assert (shell.user, shell.codepage, shell.no_profile) == (USER, 437, False)


def test_ntlm_accepts_domain_forms_of_the_user(sim_endpoint_factory, echo) -> None:
    ep = sim_endpoint_factory(echo, {USER: PASSWORD}, machine_name="WIN-SIM")
    for name in (f".\\{USER}", f"WIN-SIM\\{USER}", USER.upper()):
        result = winrm.Session(ep.url, auth=(name, PASSWORD), transport="ntlm").run_cmd("x")
        assert result.status_code == 7
    assert {s.user for s, _c, _a in echo.started} == {USER}


def test_unencrypted_ntlm_body_over_http_gets_500(sim_endpoint_factory, echo) -> None:
    # AllowUnencrypted=false: Windows answers an unsealed body with HTTP 500 (diyan/pywinrm#129).
    ep = sim_endpoint_factory(echo, {USER: PASSWORD})
    session = _session(ep, message_encryption="never")
    with pytest.raises(WinRMTransportError) as info:
        session.run_cmd("hostname")
    assert info.value.code == 500
    assert echo.started == []


def test_wrong_password_is_invalid_credentials(sim_endpoint_factory, echo) -> None:
    ep = sim_endpoint_factory(echo, {USER: PASSWORD})
    with pytest.raises(InvalidCredentialsError) as info:
        _session(ep, password="wrong").run_cmd("hostname")
    assert PASSWORD not in str(info.value)
    assert echo.started == []


def test_users_callable_is_reread(sim_endpoint_factory, echo) -> None:
    users = {USER: "old-password"}
    ep = sim_endpoint_factory(echo, lambda: users)
    assert _session(ep, password="old-password").run_cmd("x").status_code == 7
    users[USER] = PASSWORD
    with pytest.raises(InvalidCredentialsError):
        _session(ep, password="old-password").run_cmd("x")
    assert _session(ep).run_cmd("x").status_code == 7


@pytest.mark.parametrize("transport", ["ntlm", "basic"])
def test_https_with_generated_certificate_validated(sim_endpoint_factory, echo, transport: str) -> None:
    ep = sim_endpoint_factory(echo, {USER: PASSWORD}, tls=True)
    assert ep.url.startswith("https://") and ep.ca_path is not None and ep.ca_path.is_file()
    session = _session(ep, transport, server_cert_validation="validate", ca_trust_path=str(ep.ca_path))
    assert session.run_cmd("hostname").std_out == b"echo:hostname"


def test_https_certificate_is_not_trusted_without_the_ca(sim_endpoint_factory, echo) -> None:
    ep = sim_endpoint_factory(echo, {USER: PASSWORD}, tls=True)
    with pytest.raises(requests.exceptions.SSLError):
        _session(ep, "basic", server_cert_validation="validate", ca_trust_path=None).run_cmd("hostname")


def test_send_stdin_chunks_with_end(sim_endpoint_factory, echo) -> None:
    ep = sim_endpoint_factory(echo, {USER: PASSWORD})
    protocol = _session(ep).protocol
    shell_id = protocol.open_shell()
    command_id = protocol.run_command(shell_id, "cat")
    protocol.send_command_input(shell_id, command_id, b"line 1\r\n", end=False)
    protocol.send_command_input(shell_id, command_id, b"line 2\r\n", end=True)
    out, err, rc = protocol.get_command_output(shell_id, command_id)
    assert (out, err, rc) == (b"line 1\r\nline 2\r\n", b"", 0)
    protocol.cleanup_command(shell_id, command_id)
    protocol.close_shell(shell_id)
    assert ep.shell_count == 0


def test_shell_options_environment_and_working_directory(sim_endpoint_factory, echo) -> None:
    ep = sim_endpoint_factory(echo, {USER: PASSWORD})
    protocol = _session(ep).protocol
    shell_id = protocol.open_shell(
        env_vars={"WINFRA_A": "1", "B<&>": "x&y"},
        working_directory="C:\\Temp",
        codepage=65001,
        noprofile=True,
    )
    command_id = protocol.run_command(shell_id, "x")
    protocol.get_command_output(shell_id, command_id)
    shell = echo.started[0][0]
    assert shell.env == {"WINFRA_A": "1", "B<&>": "x&y"}
    assert (shell.working_directory, shell.codepage, shell.no_profile) == ("C:\\Temp", 65001, True)


# --- faults -------------------------------------------------------------------------------------


def test_operation_timeout_is_retried_by_pywinrm(sim_endpoint_factory, echo) -> None:
    ep = sim_endpoint_factory(echo, {USER: PASSWORD})
    session = _session(ep, operation_timeout_sec=1, read_timeout_sec=3)
    before = ep.counters.http_requests
    result = session.run_cmd("slow", ["2.5"])
    assert (result.status_code, result.std_out) == (7, b"echo:slow 2.5")
    # Create, Command, >= 3 Receives (two w:TimedOut faults), Signal, Delete, plus NTLM legs.
    assert ep.counters.http_requests - before >= 7


def test_operation_timeout_fault_shape(sim_endpoint_factory, echo) -> None:
    ep = sim_endpoint_factory(echo, {USER: PASSWORD}, allow_unencrypted=True)
    protocol = _session(ep, "basic", operation_timeout_sec=1, read_timeout_sec=3).protocol
    shell_id = protocol.open_shell()
    command_id = protocol.run_command(shell_id, "forever")
    from winrm.exceptions import WinRMOperationTimeoutError

    with pytest.raises(WinRMOperationTimeoutError):
        protocol._raw_get_command_output(shell_id, command_id)
    protocol.cleanup_command(shell_id, command_id)
    protocol.close_shell(shell_id)


def test_unknown_shell_fault(sim_endpoint_factory, echo) -> None:
    ep = sim_endpoint_factory(echo, {USER: PASSWORD})
    protocol = _session(ep).protocol
    with pytest.raises(WSManFaultError) as info:
        protocol.run_command("5A4E6F6E-0000-0000-0000-000000000000", "hostname")
    fault = info.value
    assert (fault.code, fault.fault_code, fault.fault_subcode) == (500, "s:Sender", "w:InvalidSelectors")
    assert fault.wsman_fault_code == 2150858843
    assert "5A4E6F6E-0000-0000-0000-000000000000" in fault.response
    assert "shell was not found" in fault.response


def test_unknown_command_after_terminate(sim_endpoint_factory, echo) -> None:
    ep = sim_endpoint_factory(echo, {USER: PASSWORD})
    protocol = _session(ep).protocol
    shell_id = protocol.open_shell()
    command_id = protocol.run_command(shell_id, "x")
    protocol.get_command_output(shell_id, command_id)
    protocol.cleanup_command(shell_id, command_id)
    with pytest.raises(WSManFaultError) as info:
        protocol.get_command_output(shell_id, command_id)
    assert info.value.wsman_fault_code == 2150858843
    assert "command identifier that does not exist" in info.value.response


def test_quota_max_operations_terminate_does_not_give_back(sim_endpoint_factory, echo) -> None:
    # MS-WSMV <118>: Signal terminate on a text shell does not decrement the counter.
    ep = sim_endpoint_factory(echo, {USER: PASSWORD}, max_operations_per_user=4)
    protocol = _session(ep).protocol
    shell_id = protocol.open_shell()
    for _ in range(3):  # the shell is one operation, so three commands fit
        command_id = protocol.run_command(shell_id, "x")
        protocol.get_command_output(shell_id, command_id)
        protocol.cleanup_command(shell_id, command_id)
    with pytest.raises(WSManFaultError) as info:
        protocol.run_command(shell_id, "x")
    fault = info.value
    assert fault.wsman_fault_code == 2150859174 == 0x803381A6
    assert fault.fault_subcode == "w:QuotaLimit"
    assert "maximum number of 4 concurrent operations" in fault.reason
    # Recreating the shell (what Ansible does, ansible/ansible#83656) recovers.
    protocol.close_shell(shell_id, close_session=False)
    new_shell = protocol.open_shell()
    assert protocol.get_command_output(new_shell, protocol.run_command(new_shell, "x"))[2] == 7


def test_quota_max_shells_per_user(sim_endpoint_factory, echo) -> None:
    ep = sim_endpoint_factory(echo, {USER: PASSWORD}, max_shells_per_user=2)
    protocol = _session(ep).protocol
    protocol.open_shell()
    protocol.open_shell()
    with pytest.raises(WSManFaultError) as info:
        protocol.open_shell()
    assert info.value.wsman_fault_code == 2150859173


def test_envelope_larger_than_max_envelope_size_is_413(sim_endpoint_factory, echo) -> None:
    ep = sim_endpoint_factory(echo, {USER: PASSWORD}, max_envelope_kb=8)
    protocol = _session(ep).protocol
    shell_id = protocol.open_shell()
    with pytest.raises(WinRMTransportError) as info:
        protocol.run_command(shell_id, "echo", ["x" * 10_000])
    assert info.value.code == 413
    assert echo.started == []
    assert protocol.get_command_output(shell_id, protocol.run_command(shell_id, "small"))[2] == 7


def test_receive_response_respects_client_max_envelope_size(sim_endpoint_factory) -> None:
    big = b"A" * 400_000

    class Big:
        def start(self, shell: ShellContext, command: str, arguments: list[str]) -> ThreadProcess:
            return ThreadProcess(lambda io: io.finish(big, b"", 0))

    ep = sim_endpoint_factory(Big(), {USER: PASSWORD})
    before = ep.counters.http_requests
    result = _session(ep).run_cmd("big")
    assert result.std_out == big
    # 153,600-byte envelopes hold ~113 KB of output each: at least 4 Receives.
    assert ep.counters.http_requests - before >= 2 + 4 + 2


def test_drop_connection_closes_without_reply(sim_endpoint_factory, echo) -> None:
    ep = sim_endpoint_factory(echo, {USER: PASSWORD})
    protocol = _session(ep).protocol
    shell_id = protocol.open_shell()
    with pytest.raises(requests.exceptions.ConnectionError):
        protocol.run_command(shell_id, "drop")


def test_unavailable_host_closes_connections(sim_endpoint_factory, echo) -> None:
    up = threading.Event()
    up.set()
    ep = sim_endpoint_factory(echo, {USER: PASSWORD}, availability=up.is_set)
    assert _session(ep).run_cmd("x").status_code == 7
    up.clear()
    with pytest.raises(requests.exceptions.ConnectionError):
        _session(ep).run_cmd("x")
    up.set()
    assert _session(ep).run_cmd("x").status_code == 7


def test_drop_all_connections(sim_endpoint_factory, echo) -> None:
    ep = sim_endpoint_factory(echo, {USER: PASSWORD}, allow_unencrypted=True)
    conn = http.client.HTTPConnection("127.0.0.1", ep.port, timeout=5)
    conn.request("POST", "/wsman", body=b"", headers={"Content-Length": "0"})
    conn.getresponse().read()
    deadline = time.time() + 2
    while not ep._connections and time.time() < deadline:
        time.sleep(0.01)
    ep.drop_all_connections()
    with pytest.raises((http.client.RemoteDisconnected, ConnectionError, OSError)):
        conn.request("POST", "/wsman", body=b"", headers={"Content-Length": "0"})
        conn.getresponse()


# --- HTTP behaviour -----------------------------------------------------------------------------


def test_401_has_content_length_and_keeps_the_connection(sim_endpoint_factory, echo) -> None:
    ep = sim_endpoint_factory(echo, {USER: PASSWORD})
    conn = http.client.HTTPConnection("127.0.0.1", ep.port, timeout=5)
    for _ in range(2):
        conn.request("POST", "/wsman", body=b"<x/>", headers={"Content-Type": "application/soap+xml"})
        resp = conn.getresponse()
        assert resp.status == 401
        assert resp.getheader("Content-Length") == "0"
        assert "Negotiate" in resp.getheader("WWW-Authenticate")
        assert resp.getheader("Server") == "Microsoft-HTTPAPI/2.0"
        resp.read()
    conn.close()
    assert ep.connections_total == 1
    assert ep.counters.http_401 == 2


def test_keep_alive_one_tcp_connection_for_a_whole_command(sim_endpoint_factory, echo) -> None:
    ep = sim_endpoint_factory(echo, {USER: PASSWORD})
    protocol = _session(ep).protocol
    for _ in range(3):
        shell_id = protocol.open_shell()
        command_id = protocol.run_command(shell_id, "x")
        protocol.get_command_output(shell_id, command_id)
        protocol.cleanup_command(shell_id, command_id)
        protocol.close_shell(shell_id, close_session=False)
    assert ep.connections_total == 1
    assert ep.counters.http_requests >= 3 * 5


def test_wrong_path_is_404(sim_endpoint_factory, echo) -> None:
    ep = sim_endpoint_factory(echo, {USER: PASSWORD})
    with socket.create_connection(("127.0.0.1", ep.port), timeout=5) as sock:
        sock.sendall(b"POST /other HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n")
        assert sock.recv(100).startswith(b"HTTP/1.1 404")


# --- pypsrp and testinfra -----------------------------------------------------------------------


def test_pypsrp_winrs_process_with_ntlm_encryption(sim_endpoint_factory, echo) -> None:
    from pypsrp.shell import Process, SignalCode, WinRS
    from pypsrp.wsman import WSMan

    ep = sim_endpoint_factory(echo, {USER: PASSWORD})
    wsman = WSMan(
        "127.0.0.1",
        port=ep.port,
        username=USER,
        password=PASSWORD,
        ssl=False,
        auth="ntlm",
        encryption="always",
    )
    with wsman, WinRS(wsman) as shell:
        process = Process(shell, "cmd.exe", ["/c", "echo", "hi"])
        process.invoke()
        process.signal(SignalCode.CTRL_C)
        assert (process.rc, process.stdout, process.stderr) == (7, b"echo:cmd.exe /c echo hi", b"err")
        cat = Process(shell, "cat")
        cat.begin_invoke()
        cat.send(b"from pypsrp\r\n", end=True)
        cat.end_invoke()
        assert (cat.rc, cat.stdout) == (0, b"from pypsrp\r\n")


def test_pypsrp_over_https_with_basic(sim_endpoint_factory, echo) -> None:
    from pypsrp.shell import Process, WinRS
    from pypsrp.wsman import WSMan

    ep = sim_endpoint_factory(echo, {USER: PASSWORD}, tls=True)
    wsman = WSMan(
        "127.0.0.1",
        port=ep.port,
        username=USER,
        password=PASSWORD,
        ssl=True,
        auth="basic",
        cert_validation=str(ep.ca_path),
    )
    with wsman, WinRS(wsman) as shell:
        process = Process(shell, "whoami")
        process.invoke()
        assert process.stdout == b"echo:whoami"


def test_testinfra_winrm_backend(sim_endpoint) -> None:
    import testinfra

    host = sim_endpoint.executor.host
    admin = host.users.require("Administrator")
    from urllib.parse import quote

    url = f"winrm://{admin.name}:{quote(admin.password, safe='')}@127.0.0.1:{sim_endpoint.port}?no_ssl=true"
    target = testinfra.get_host(url)
    result = target.run("hostname")
    assert (result.rc, result.stdout) == (0, host.os.computer_name + "\r\n")
    assert target.run("uname -s").rc == 1  # testinfra's Windows detection (systeminfo.py)


def test_unsupported_resource_uri_is_action_not_supported(sim_endpoint_factory, echo) -> None:
    ep = sim_endpoint_factory(echo, {USER: PASSWORD}, allow_unencrypted=True)
    body = (
        '<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" '
        'xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing" '
        'xmlns:w="http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd"><s:Header>'
        "<a:Action>http://schemas.xmlsoap.org/ws/2004/09/transfer/Create</a:Action>"
        "<a:MessageID>uuid:11111111-2222-3333-4444-555555555555</a:MessageID>"
        "<w:ResourceURI>http://schemas.microsoft.com/powershell/Microsoft.PowerShell</w:ResourceURI>"
        "</s:Header><s:Body/></s:Envelope>"
    )
    resp = requests.post(ep.url, data=body, auth=(USER, PASSWORD), timeout=10)
    assert resp.status_code == 500
    assert 'Code="2150858771"' in resp.text and "a:ActionNotSupported" in resp.text
    assert "<a:RelatesTo>uuid:11111111-2222-3333-4444-555555555555</a:RelatesTo>" in resp.text


def test_reboot_listener_is_removed_on_stop(sim_endpoint_host) -> None:
    from winfra.sim.shell.executor import host_endpoint

    before = len(sim_endpoint_host._reboot_listeners)
    endpoint = host_endpoint(sim_endpoint_host)
    assert len(sim_endpoint_host._reboot_listeners) == before + 1
    endpoint.stop()
    assert len(sim_endpoint_host._reboot_listeners) == before


def test_drop_connection_raised_by_a_running_process(sim_endpoint_factory, echo) -> None:
    ep = sim_endpoint_factory(echo, {USER: PASSWORD})
    protocol = _session(ep).protocol
    shell_id = protocol.open_shell()
    command_id = protocol.run_command(shell_id, "dropmid")
    with pytest.raises(requests.exceptions.ConnectionError):
        protocol.get_command_output(shell_id, command_id)


def test_idle_shells_are_deleted(sim_endpoint_factory, echo) -> None:
    ep = sim_endpoint_factory(echo, {USER: PASSWORD}, max_shells_per_user=1, idle_timeout_s=0.2)
    protocol = _session(ep).protocol
    old = protocol.open_shell()
    time.sleep(0.3)
    new = protocol.open_shell()  # the idle shell no longer counts against MaxShellsPerUser
    with pytest.raises(WSManFaultError) as info:
        protocol.run_command(old, "x")
    assert "shell was not found" in info.value.response
    assert protocol.get_command_output(new, protocol.run_command(new, "x"))[2] == 7


def test_reply_latency_has_no_nagle_delay(sim_endpoint_factory, echo) -> None:
    # Headers and body in one write plus TCP_NODELAY: without them every reply waited for the
    # client's delayed ACK (~40 ms), i.e. ~130 ms per command instead of a few ms.
    ep = sim_endpoint_factory(echo, {USER: PASSWORD})
    protocol = _session(ep).protocol
    shell_id = protocol.open_shell()
    start = time.perf_counter()
    for _ in range(20):
        command_id = protocol.run_command(shell_id, "x")
        protocol.get_command_output(shell_id, command_id)
        protocol.cleanup_command(shell_id, command_id)
    assert time.perf_counter() - start < 2.0


def test_pypsrp_default_negotiate_auth_spnego_wrapped(sim_endpoint_factory, echo) -> None:
    # pypsrp's default auth="negotiate" sends SPNEGO-wrapped NTLM and checks the server's final
    # mechListMIC token, which must come back on the successful reply.
    from pypsrp.shell import Process, WinRS
    from pypsrp.wsman import WSMan

    ep = sim_endpoint_factory(echo, {USER: PASSWORD})
    wsman = WSMan("127.0.0.1", port=ep.port, username=USER, password=PASSWORD, ssl=False)
    with wsman, WinRS(wsman) as shell:
        process = Process(shell, "whoami")
        process.invoke()
        assert (process.rc, process.stdout) == (7, b"echo:whoami")


def test_garbled_auth_token_is_401_not_a_crash(sim_endpoint_factory, echo) -> None:
    ep = sim_endpoint_factory(echo, {USER: PASSWORD})
    conn = http.client.HTTPConnection("127.0.0.1", ep.port, timeout=5)
    for token in ("TlRMTVNTUAADAAAA", "YIIBBgYGKwYBBQUCoIH7"):  # truncated NTLM / SPNEGO
        conn.request("POST", "/wsman", body=b"", headers={"Authorization": f"Negotiate {token}"})
        resp = conn.getresponse()
        resp.read()
        assert resp.status == 401
