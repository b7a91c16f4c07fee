"""Unit tests of the @winrm connector with a stub transport (no network): settings validation,
argument handling, the fact cache, run-as wiring and error mapping. The same behaviours run
end to end against the simulator in tests/sim/test_connector*.py."""

from __future__ import annotations

import io
import logging
from typing import Any, get_type_hints

import pytest
from pyinfra.api import Config, HiddenValue, Inventory, State, StringCommand
from pyinfra.api.exceptions import ConnectError, InventoryError

from winfra.connectors import winrm as winrm_mod
from winfra.connectors.winrm import COUNTERS_KEY, HOST_INFO_KEY, WinRMConnector
from winfra.powershell.scripts import render_script
from winfra.transport.base import AuthenticationFailed, Result, SessionCounters, TransferError, TransferResult

SECRET = "S3cret-Passw0rd!"


class FakeSession:
    """Records what the connector asks of the transport."""

    instances: list[FakeSession] = []
    fail_open: BaseException | None = None
    host_state = '{"windows":{"hostname":"WIN1","build":20348,"elevated":true,"max_envelope_size_kb":300}}'

    def __init__(self, endpoint: str, **kwargs: Any) -> None:
        self.endpoint = endpoint
        self.kwargs = kwargs
        self.counters = kwargs.get("counters") or SessionCounters()
        self.runs: list[dict[str, Any]] = []
        self.executed: list[tuple[str, Any, Any]] = []
        self.closed = False
        self.connect_timeout: float | None = None
        self.max_envelope_kb: int | None = None
        self.results: list[Result] = []
        FakeSession.instances.append(self)

    def open(self) -> None:
        if FakeSession.fail_open is not None:
            raise FakeSession.fail_open

    def set_connect_timeout(self, seconds: float | None) -> None:
        self.connect_timeout = seconds

    def set_max_envelope_size_kb(self, kb: int | None) -> None:
        self.max_envelope_kb = kb

    def run(
        self,
        script: str,
        stdin: Any = None,
        env: Any = None,
        chdir: Any = None,
        timeout: Any = None,
        sensitive: bool = False,
    ) -> Result:
        self.runs.append({"script": script, "stdin": stdin, "env": env, "chdir": chdir, "timeout": timeout})
        if sensitive:
            self.runs[-1]["sensitive"] = True
        if script.startswith("# winfra-script: get_host_state"):
            return Result(0, [self.host_state], [])
        if self.results:
            return self.results.pop(0)
        return Result(0, ["ok"], [])

    def run_native(self, command_line: str, stdin: Any = None, timeout: Any = None) -> Result:
        self.executed.append((command_line, stdin, timeout))
        return Result(0, ["cmd out"], [])

    def put(self, stream: Any, remote: str, timeout: Any = None) -> TransferResult:
        data = stream.read()
        self.runs.append({"put": remote, "data": data})
        return TransferResult(len(data), "0" * 64)

    def get(self, remote: str, stream: Any, timeout: Any = None) -> TransferResult:
        stream.write(b"remote bytes")
        return TransferResult(12, "0" * 64)

    def close(self) -> None:
        self.closed = True


@pytest.fixture(autouse=True)
def fake_session(monkeypatch: pytest.MonkeyPatch) -> type[FakeSession]:
    FakeSession.instances = []
    FakeSession.fail_open = None
    monkeypatch.setattr(winrm_mod, "WinRSSession", FakeSession)
    return FakeSession


@pytest.fixture
def make_host():
    def make(name: str = "@winrm/win1", override: dict | None = None, **data: Any) -> Any:
        base = {"winrm_user": "admin", "winrm_password": SECRET}
        base.update(data)
        # None means "unset" here (pyinfra type-checks present keys).
        base = {k: v for k, v in base.items() if v is not None}
        inventory = Inventory(([(name, base)], {}), override_data=override or {})
        state = State(inventory, Config())
        return next(iter(state.inventory))

    return make


def connector_of(host: Any) -> WinRMConnector:
    assert isinstance(host.connector, WinRMConnector)
    return host.connector


# -- inventory and data --------------------------------------------------------------------------


def test_make_names_data() -> None:
    assert list(WinRMConnector.make_names_data("10.0.0.5")) == [
        ("@winrm/10.0.0.5", {"winrm_hostname": "10.0.0.5"}, [])
    ]
    with pytest.raises(InventoryError):
        list(WinRMConnector.make_names_data(None))


def test_every_data_key_has_meta() -> None:
    keys = set(get_type_hints(WinRMConnector.data_cls))
    assert keys == set(WinRMConnector.data_meta)
    assert all(meta.description for meta in WinRMConnector.data_meta.values())


def test_default_settings(make_host) -> None:
    settings = connector_of(make_host()).settings()
    assert settings["endpoint"] == "https://win1:5986/wsman"
    assert settings["auth"] == "ntlm" and settings["cert_validation"] == "validate"
    assert (settings["read_timeout"], settings["operation_timeout"]) == (30, 20)
    assert settings["message_encryption"] == "auto"


def test_http_port_and_ipv6(make_host) -> None:
    settings = connector_of(make_host("@winrm/fe80::1", winrm_scheme="http")).settings()
    assert settings["endpoint"] == "http://[fe80::1]:5985/wsman"


@pytest.mark.parametrize("transport", ["ntlm", "kerberos", "credssp"])
def test_http_requires_message_encryption_instead_of_a_silent_downgrade(make_host, transport: str) -> None:
    # pywinrm's "auto" falls back to plain text when the auth library cannot seal messages;
    # over http without the opt-out we ask for "always", so that case fails to connect.
    settings = connector_of(make_host(winrm_scheme="http", winrm_transport=transport)).settings()
    assert settings["message_encryption"] == "always"
    opted_out = connector_of(
        make_host(winrm_scheme="http", winrm_transport=transport, winrm_allow_insecure=True)
    ).settings()
    assert opted_out["message_encryption"] == "auto"
    # Over https the TLS channel protects the messages; "auto" (no double encryption) stays.
    assert connector_of(make_host(winrm_transport=transport)).settings()["message_encryption"] == "auto"


def test_cli_user_password_port_fallback(make_host) -> None:
    settings = connector_of(
        make_host(
            winrm_user=None,
            winrm_password=None,
            override={
                "ssh_user": "cliuser",
                "ssh_password": "clipw",
                "ssh_port": 15986,
            },
        )
    ).settings()
    assert (settings["username"], settings["password"]) == ("cliuser", "clipw")
    assert settings["endpoint"].endswith(":15986/wsman")


def test_winrm_keys_win_over_cli_fallback(make_host) -> None:
    settings = connector_of(make_host(winrm_port=1234, override={"ssh_port": 22, "ssh_user": "x"})).settings()
    assert settings["endpoint"] == "https://win1:1234/wsman" and settings["username"] == "admin"


@pytest.mark.parametrize(
    ("data", "needle"),
    [
        ({"winrm_scheme": "http", "winrm_transport": "basic"}, "Basic authentication over plain http"),
        ({"winrm_scheme": "http", "winrm_message_encryption": "never"}, "unencrypted"),
        (
            {
                "winrm_scheme": "http",
                "winrm_transport": "certificate",
                "winrm_cert_pem": "/etc/hostname",
                "winrm_cert_key_pem": "/etc/hostname",
            },
            "needs https",
        ),
        ({"winrm_transport": "plaintext"}, "winrm_transport must be one of"),
        ({"winrm_scheme": "ftp"}, "winrm_scheme"),
        ({"winrm_cert_validation": "maybe"}, "winrm_cert_validation"),
        ({"winrm_message_encryption": "sometimes"}, "winrm_message_encryption"),
        ({"winrm_read_timeout_sec": 20}, "must be greater"),
        ({"winrm_operation_timeout_sec": 0}, "operation_timeout_sec"),
        ({"winrm_transport": "certificate"}, "needs winrm_cert_pem"),
        (
            {
                "winrm_transport": "certificate",
                "winrm_cert_pem": "/no/such.pem",
                "winrm_cert_key_pem": "/no/k.pem",
            },
            "does not exist",
        ),
        ({"winrm_user": None}, "no user"),
        ({"winrm_password": None}, "no password"),
        ({"winrm_ca_trust_path": "/no/such/ca.pem"}, "winrm_ca_trust_path"),
        ({"winrm_port": 0}, "winrm_port"),
        ({"winrm_cert_thumbprint": "12:34"}, "40 hex digits"),
        ({"winrm_cert_thumbprint": "g" * 40}, "40 hex digits"),
        ({"winrm_cert_thumbprint": "a" * 40, "winrm_scheme": "http"}, "needs winrm_scheme='https'"),
        ({"winrm_cert_thumbprint": "a" * 40, "winrm_cert_validation": "ignore"}, "trusts one certificate"),
    ],
)
def test_bad_settings_fail_connect_before_any_traffic(make_host, data: dict, needle: str) -> None:
    host = make_host(**data)
    with pytest.raises(ConnectError) as info:
        connector_of(host).connect()
    message = str(info.value)
    assert needle in message
    assert "@winrm/win1" in message  # names the host
    assert SECRET not in message
    assert FakeSession.instances == []


def test_thumbprint_is_normalised_and_passed_to_the_session(make_host) -> None:
    pin = "AB:CD " + "0" * 36
    connector_of(make_host(winrm_cert_thumbprint=pin)).connect()
    assert FakeSession.instances[0].kwargs["cert_thumbprint"] == "abcd" + "0" * 36
    assert FakeSession.instances[0].kwargs["cert_validation"] == "validate"


def test_https_help_explains_the_fix(make_host) -> None:
    with pytest.raises(ConnectError) as info:
        connector_of(make_host(winrm_scheme="http", winrm_transport="basic")).connect()
    assert "HTTPS listener" in str(info.value) and "winrm_allow_insecure" in str(info.value)


def test_allow_insecure_lets_basic_over_http_through(make_host) -> None:
    connector = connector_of(
        make_host(winrm_scheme="http", winrm_transport="basic", winrm_allow_insecure=True)
    )
    connector.connect()
    assert FakeSession.instances[0].kwargs["auth"] == "basic"


def test_kerberos_needs_no_password(make_host) -> None:
    connector_of(make_host(winrm_transport="kerberos", winrm_password=None)).settings()


def test_hidden_password_is_unmasked_for_the_transport(make_host) -> None:
    settings = connector_of(make_host(winrm_password=HiddenValue(SECRET))).settings()
    assert settings["password"] == SECRET


# -- connect ------------------------------------------------------------------------------------


def test_connect_primes_cache_and_reads_host_info(make_host) -> None:
    host = make_host()
    connector = connector_of(host)
    connector.connect()
    session = FakeSession.instances[0]
    assert host.connector_data[HOST_INFO_KEY] == {
        "hostname": "WIN1",
        "build": 20348,
        "elevated": True,
        "max_envelope_size_kb": 300,
    }
    assert session.max_envelope_kb == 300
    assert isinstance(host.connector_data[COUNTERS_KEY], SessionCounters)
    ok, _ = connector.run_shell_command(render_script("get_host_state", {}))
    assert ok and len(session.runs) == 1  # served from the cache primed by connect()


def test_connect_tolerates_a_null_windows_section(make_host, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(FakeSession, "host_state", '{"windows":null,"features":null}')
    host = make_host()
    connector_of(host).connect()
    assert host.connector_data[HOST_INFO_KEY] == {}


def test_auth_failure_is_connect_error_without_password(make_host, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    FakeSession.fail_open = AuthenticationFailed("win1: the server rejected the credentials (HTTP 401)")
    host = make_host()
    with pytest.raises(ConnectError) as info:
        connector_of(host).connect()
    assert "rejected the credentials of user 'admin'" in str(info.value)
    assert SECRET not in str(info.value) and SECRET not in caplog.text
    assert FakeSession.instances[0].closed


def test_transport_failure_is_connect_error(make_host) -> None:
    FakeSession.fail_open = ConnectionRefusedError(111, "Connection refused")
    with pytest.raises(ConnectError, match="Could not connect to https://win1:5986/wsman"):
        connector_of(make_host()).connect()


def test_connect_timeout_from_connector_data(make_host) -> None:
    host = make_host()
    host.connector_data["winfra_connect_timeout"] = 2
    connector = connector_of(host)
    connector.connect()
    assert FakeSession.instances[0].connect_timeout == 2.0
    host.connector_data.pop("winfra_connect_timeout")
    connector.run_shell_command("x")
    assert FakeSession.instances[0].connect_timeout is None


# -- commands -----------------------------------------------------------------------------------


def connected(make_host, **data: Any) -> tuple[Any, WinRMConnector, FakeSession]:
    host = make_host(**data)
    connector = connector_of(host)
    connector.connect()
    return host, connector, FakeSession.instances[-1]


def test_arguments_reach_the_transport(make_host) -> None:
    _, connector, session = connected(make_host)
    command = StringCommand("Write-Output", HiddenValue("hidden-token"))
    ok, out = connector.run_shell_command(
        command,
        _env={"A": "1", "B": HiddenValue("masked")},
        _chdir="C:\\x",
        _timeout=7,
        _stdin=["l1", "l2"],
        _success_exit_codes=[0],
        _shell_executable="sh",
    )
    assert ok and out.stdout_lines == ["ok"]
    run = session.runs[-1]
    assert run == {
        "script": "Write-Output hidden-token",
        "stdin": "l1\nl2",
        "env": {"A": "1", "B": "masked"},
        "chdir": "C:\\x",
        "timeout": 7,
        "sensitive": True,
    }


@pytest.mark.parametrize(
    ("extra", "needle"),
    [
        ({"_env": {"A B": "1"}}, "invalid environment variable name 'A B'"),
        ({"_env": {"A": "x\x00y"}}, "NUL"),
        ({"_chdir": "C:\\a\x00"}, "NUL"),
        ({"_env": {"A B": "1"}, "_su_user": "dev"}, "invalid environment variable name"),
    ],
)
def test_bad_env_or_chdir_fails_the_command_not_the_run(make_host, extra: dict, needle: str) -> None:
    # A ValueError reaching pyinfra would abort every host's run (pyinfra3-notes.md §1.8).
    _, connector, session = connected(make_host)
    before = len(session.runs)
    ok, out = connector.run_shell_command("Write-Output x", **extra)
    assert not ok and needle in out.stderr and "_env/_chdir" in out.stderr
    assert len(session.runs) == before


def test_hidden_values_mark_the_command_sensitive(make_host) -> None:
    # Secrets must not reach the powershell.exe command line (wire.build sends them on stdin).
    _, connector, session = connected(make_host)
    connector.run_shell_command(StringCommand("Write-Output", HiddenValue("hidden-token")))
    assert session.runs[-1].get("sensitive") is True
    connector.run_shell_command("Write-Output x", _env={"K": HiddenValue("v")})
    assert session.runs[-1].get("sensitive") is True
    connector.run_shell_command(StringCommand("Write-Output", "plain"), _env={"K": "v"})
    assert "sensitive" not in session.runs[-1]


def test_print_input_shows_the_masked_command(make_host, capsys: pytest.CaptureFixture) -> None:
    _, connector, _ = connected(make_host)
    connector.run_shell_command(StringCommand("Write-Output", HiddenValue("hidden-token")), print_input=True)
    err = capsys.readouterr().err
    assert "Write-Output" in err and "hidden-token" not in err


def test_success_exit_codes(make_host) -> None:
    _, connector, session = connected(make_host)
    session.results = [Result(3010, [], ["reboot required"]), Result(3010, [], [])]
    ok, out = connector.run_shell_command("x")
    assert not ok and out.stderr_lines == ["reboot required"]
    ok, _ = connector.run_shell_command("x", _success_exit_codes=[0, 3010])
    assert ok


@pytest.mark.parametrize("arg", ["_sudo", "_doas", "_dzdo", "_use_sudo_login"])
def test_escalation_is_refused(make_host, arg: str) -> None:
    _, connector, session = connected(make_host)
    before = len(session.runs)
    ok, out = connector.run_shell_command("x", **{arg: True})
    assert not ok and arg in out.stderr and "_su_user" in out.stderr
    assert len(session.runs) == before


def test_unknown_shell_is_refused_and_powershell_names_accepted(make_host) -> None:
    _, connector, _ = connected(make_host)
    ok, out = connector.run_shell_command("x", _shell_executable="zsh")
    assert not ok and "zsh" in out.stderr
    for name in (None, "sh", "ps", "powershell"):
        assert connector.run_shell_command("x", _shell_executable=name)[0]


def test_cmd_runs_directly_without_powershell(make_host) -> None:
    _, connector, session = connected(make_host)
    ok, out = connector.run_shell_command("ver", _shell_executable="cmd", _stdin="in")
    assert ok and out.stdout_lines == ["cmd out"]
    assert session.executed[-1] == ("ver", b"in", None)
    ok, out = connector.run_shell_command("ver", _shell_executable="cmd", _env={"A": "1"})
    assert not ok and "_env" in out.stderr


def test_fact_cache_rules(make_host) -> None:
    _, connector, session = connected(make_host)
    read = render_script("get_host_state", {})
    connector.run_shell_command(read)
    assert len(session.runs) == 1  # primed at connect
    connector.run_shell_command(read, _env={"X": "1"})  # different environment: not the same read
    assert len(session.runs) == 2
    connector.run_shell_command("Restart-Service docker")  # anything else clears the cache
    connector.run_shell_command(read)
    assert len(session.runs) == 4
    connector.run_shell_command(read)
    assert len(session.runs) == 4
    connector.put_file(io.BytesIO(b"x"), "C:\\x")  # an upload clears it too
    connector.run_shell_command(read)
    assert len(session.runs) == 6
    connector.connect()  # so does a reconnect (which primes it again)
    connector.run_shell_command(read)
    assert FakeSession.instances[-1].runs[-1]["script"] == read


def test_a_transparent_reconnect_drops_the_cached_reads(make_host) -> None:
    # The transport reopens its connection/shell when the server lost them (a reboot, a WinRM
    # restart); reads cached before that may describe a host that has changed since.
    _, connector, session = connected(make_host)
    host_state = render_script("get_host_state", {})
    other_read = render_script("get_boot_state", {"nonce": "n1"})
    original_run = session.run

    def run_after_a_server_reset(*args: Any, **kwargs: Any) -> Result:
        session.counters.add("server_resets")
        return original_run(*args, **kwargs)

    session.run = run_after_a_server_reset  # type: ignore[method-assign]
    connector.run_shell_command(other_read)  # a read-mode miss, during which the server reset
    session.run = original_run  # type: ignore[method-assign]
    connector.run_shell_command(host_state)
    assert [r["script"] for r in session.runs].count(host_state) == 2  # not served from the cache
    connector.run_shell_command(other_read)
    assert [r["script"] for r in session.runs].count(other_read) == 1  # read after the reset: cached


def test_only_an_exact_rendered_read_script_is_cached(make_host) -> None:
    # A read-mode header is not enough: text appended after the rendered read (or an edited
    # body) may change the host, so it runs every time and drops the cached reads.
    from winfra.powershell.scripts import is_read_only

    read = render_script("get_host_state", {})
    boot = render_script("get_boot_state", {"nonce": "it's"})
    assert is_read_only(read) and is_read_only(boot)
    appended = read + "\nRemove-Item -LiteralPath 'C:\\x'"
    edited = read.replace("& {\n", "& {\nStop-Service docker\n", 1)
    smuggled = boot[: boot.rindex("'")] + "'; Stop-Service docker; 'x'"
    assert not any(is_read_only(text) for text in (appended, edited, smuggled))
    assert not is_read_only(render_script("put_file", {"path": "C:\\x", "sha256": "0" * 64, "size": 0}))

    _, connector, session = connected(make_host)
    connector.run_shell_command(appended)
    connector.run_shell_command(appended)
    assert [r["script"] for r in session.runs].count(appended) == 2
    connector.run_shell_command(read)  # the appended command dropped the cache primed at connect
    assert [r["script"] for r in session.runs].count(read) == 2


def test_a_read_that_misses_keeps_the_other_cached_reads(make_host) -> None:
    _, connector, session = connected(make_host)
    host_state = render_script("get_host_state", {})
    other_read = render_script("get_boot_state", {"nonce": "n1"})
    connector.run_shell_command(other_read)  # a miss: runs, and must not drop host_state
    assert len(session.runs) == 2
    connector.run_shell_command(host_state)
    connector.run_shell_command(other_read)
    assert len(session.runs) == 2


def test_failed_reads_are_not_cached(make_host) -> None:
    _, connector, session = connected(make_host)
    connector.run_shell_command("x")  # clear
    read = render_script("get_host_state", {})
    session.host_state_backup = FakeSession.host_state
    session.runs.clear()
    original = session.run

    def failing(script: str, **kw: Any) -> Result:
        session.runs.append({"script": script})
        return Result(1, [], ["boom"])

    session.run = failing  # type: ignore[method-assign]
    connector.run_shell_command(read)
    connector.run_shell_command(read)
    assert len(session.runs) == 2
    session.run = original  # type: ignore[method-assign]


def test_su_user_goes_through_runas(make_host, monkeypatch: pytest.MonkeyPatch) -> None:
    from winfra import runas

    seen: dict[str, Any] = {}

    def fake_run_as(
        command_text: str, user: str, password: str | None, timeout: int | None, *, in_process: bool
    ) -> tuple[str, bytes]:
        seen.update(
            command_text=command_text, user=user, password=password, timeout=timeout, in_process=in_process
        )
        return "WRAPPER", b"pw-on-stdin"

    monkeypatch.setattr(runas, "run_as_user_command", fake_run_as)
    monkeypatch.setattr(runas, "parse_run_as_output", lambda lines: (5, ["inner out"], ["inner err"]))
    _, connector, session = connected(make_host)
    ok, out = connector.run_shell_command(
        "Get-ChildItem", _su_user="dev", _su_password=HiddenValue("devpw"), _env={"K": "v"}, _timeout=9.5
    )
    assert not ok and out.stdout_lines == ["inner out"] and out.stderr_lines == ["inner err"]
    assert seen["user"] == "dev" and seen["password"] == "devpw" and seen["timeout"] == 10
    assert seen["command_text"].endswith("Get-ChildItem") and "${env:K} = 'v'" in seen["command_text"]
    assert session.runs[-1]["script"] == "WRAPPER" and session.runs[-1]["stdin"] == b"pw-on-stdin"
    # Any command but a rendered winfra script keeps its own process, so native output stays raw.
    assert seen["in_process"] is False
    rendered = render_script("get_wsl_user_state", {"user": "dev"})
    connector.run_shell_command(rendered, _su_user="dev")
    assert seen["in_process"] is True
    connector.run_shell_command(rendered + "\nRemove-Item C:\\x", _su_user="dev")
    assert seen["in_process"] is False
    ok, out = connector.run_shell_command("x", _su_user="dev", _stdin="data")
    assert not ok and "_stdin" in out.stderr


def test_su_user_output_is_decoded_like_any_other(make_host) -> None:
    # The inner process's stderr (redirected to a file by run_as_user.ps1) may be CLIXML, and
    # its lines may end in a lone CR: the result must look like a normal command's.
    import base64
    import json

    clixml = (
        '#< CLIXML\r\n<Objs Version="1.1.0.1" xmlns="http://schemas.microsoft.com/powershell/2004/04">'
        '<S S="Error">Access is denied._x000D__x000A_</S></Objs>'
    )
    doc = {
        "exit_code": 1,
        "stdout": base64.b64encode(b"one\r\ntwo\r").decode(),
        "stderr": base64.b64encode(clixml.encode()).decode(),
    }
    _, connector, session = connected(make_host)
    session.results = [Result(0, [json.dumps(doc)], [])]
    ok, out = connector.run_shell_command("x", _su_user="dev", _su_password="pw")
    assert not ok
    assert out.stdout_lines == ["one", "two"]
    assert out.stderr_lines == ["Access is denied."]


def test_su_user_timeout_leaves_the_wrapper_time_to_clean_up(make_host) -> None:
    # The wrapper enforces _timeout on the task and then unregisters it; the outer WinRS command
    # must outlive it, or the task (with the stored password) and the inner script would remain.
    _, connector, session = connected(make_host)
    session.results = [
        Result(
            1,
            [],
            ["winfra run-as: the command run as 'WIN1\\dev' did not finish within 5 seconds. Raise _timeout"],
        )
    ]
    with pytest.raises(TimeoutError, match="did not finish within 5 seconds"):
        connector.run_shell_command("Start-Sleep 60", _su_user="dev", _su_password="pw", _timeout=5)
    assert session.runs[-1]["timeout"] == 5 + winrm_mod.RUNAS_CLEANUP_GRACE
    assert '"timeout_seconds":5,' in session.runs[-1]["script"]  # the task itself gets _timeout
    ok, _ = connector.run_shell_command("Write-Output x")  # the host stays usable
    assert ok


def test_su_user_malformed_wrapper_output_fails_the_command_not_the_run(make_host) -> None:
    _, connector, session = connected(make_host)
    session.results = [Result(0, ['{"exit_code": null, "stdout": 5}'], [])]
    ok, out = connector.run_shell_command("x", _su_user="dev", _su_password="pw")
    assert not ok and "malformed result document" in out.stderr


def test_su_user_refusal_from_runas_is_reported(make_host) -> None:
    _, connector, _ = connected(make_host)
    ok, out = connector.run_shell_command("x", _su_user="SYSTEM")
    assert not ok and "SYSTEM" in out.stderr


def test_put_and_get(make_host, tmp_path) -> None:
    _, connector, session = connected(make_host)
    assert connector.put_file(io.StringIO("text ä"), "C:\\t.txt")
    assert session.runs[-1] == {"put": "C:\\t.txt", "data": "text ä".encode()}
    target = tmp_path / "out.bin"
    assert connector.get_file("C:\\t.txt", str(target))
    assert target.read_bytes() == b"remote bytes"


def test_transfer_errors_return_false(
    make_host, tmp_path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    _, connector, session = connected(make_host)

    def bad_get(remote: str, stream: Any, timeout: Any = None) -> TransferResult:
        stream.write(b"partial")
        raise TransferError("win1: download of C:\\t.txt: SHA-256 mismatch")

    monkeypatch.setattr(session, "get", bad_get)
    target = tmp_path / "out.bin"
    assert not connector.get_file("C:\\t.txt", str(target))
    assert not target.exists() and list(tmp_path.iterdir()) == []
    assert "SHA-256 mismatch" in caplog.text


def test_downloads_to_one_path_use_partial_files_of_their_own(make_host, tmp_path, monkeypatch) -> None:
    _, connector, session = connected(make_host)
    target = tmp_path / "out.bin"
    seen: list[str] = []

    def get(remote: str, stream: Any, timeout: Any = None) -> TransferResult:
        # Another host's download to the same path is under way: its partial file exists.
        (tmp_path / "out.bin.other.winfra-partial").write_bytes(b"other host")
        seen.extend(p.name for p in tmp_path.glob("out.bin.*.winfra-partial") if ".other." not in p.name)
        stream.write(b"mine")
        return TransferResult(size=4, sha256="x")

    monkeypatch.setattr(session, "get", get)
    assert connector.get_file("C:\\t.txt", str(target)) and connector.get_file("C:\\t.txt", str(target))
    assert target.read_bytes() == b"mine"
    assert len(seen) == 2 and seen[0] != seen[1]  # one partial file of its own per download
    assert (tmp_path / "out.bin.other.winfra-partial").read_bytes() == b"other host"


def test_disconnect_closes_the_session(make_host) -> None:
    _, connector, session = connected(make_host)
    connector.disconnect()
    assert session.closed
    with pytest.raises(OSError):
        connector.run_shell_command("x")
