"""What runs inside a simulated WinRS shell (winfra.sim.shell.executor): cmd.exe built-ins,
powershell.exe decoding, the winfra stdin bootstrap, rendered-script dispatch, output encodings,
CLIXML errors, streaming counterparts and fault injection. Most tests drive the HostExecutor
directly; the last ones go through the real endpoint with pywinrm."""

from __future__ import annotations

import base64
import hashlib
import json
import subprocess
import sys
import textwrap
import time
import types
from collections.abc import Iterator
from typing import Any

import pytest
import requests
import winrm

from winfra.powershell import scripts as ps_scripts
from winfra.powershell import wire
from winfra.sim.process import DropConnection, ShellContext
from winfra.sim.scripting import PowerShellError, ScriptCall, ScriptExit
from winfra.sim.shell import executor as executor_mod
from winfra.sim.shell.executor import HostExecutor
from winfra.sim.shell.process import PIPE_BUFFER
from winfra.transport.clixml import CLIXML_MARKER


def run(
    executor: HostExecutor,
    line: str,
    stdin: bytes | None = None,
    *,
    codepage: int = 437,
    user: str = "Administrator",
) -> tuple[bytes, bytes, int]:
    shell = ShellContext("SHELL-1", user, codepage=codepage)
    proc = executor.start(shell, line, [])
    if stdin is not None:
        proc.write_stdin(stdin, True)
    out, err = b"", b""
    while True:
        chunk = proc.receive(10)
        assert chunk is not None, "the process produced nothing within 10 s"
        out += chunk.stdout
        err += chunk.stderr
        if chunk.done:
            assert chunk.exit_code is not None
            return out, err, chunk.exit_code


@pytest.fixture
def executor(sim_endpoint_host: Any) -> HostExecutor:
    return HostExecutor(sim_endpoint_host)


# --- fake scripts (a shipped .ps1 + its counterpart), installed for one test ---------------------


@pytest.fixture
def fake_script(monkeypatch: pytest.MonkeyPatch) -> Any:
    """``install(name, module_attrs, mode="read")`` registers a shipped script ``name`` and its
    counterpart module ``winfra.sim.scripts.<name>`` for this test only."""

    real_load = ps_scripts.load_script

    def install(name: str, attrs: dict[str, Any], mode: str = "read") -> ps_scripts.Script:
        text = f"<# .NOTES winfra-mode: {mode} #>\nparam(\n    [string]$InputJson\n)\n'{name}'\n"
        digest = hashlib.sha256(text.encode()).hexdigest()
        script = ps_scripts.Script(name, text, mode, digest)  # type: ignore[arg-type]

        def load(n: str) -> ps_scripts.Script:
            return script if n == name else real_load(n)

        monkeypatch.setattr(ps_scripts, "load_script", load)
        monkeypatch.setattr(executor_mod, "load_script", load)
        module = types.ModuleType(f"winfra.sim.scripts.{name}")
        for key, value in attrs.items():
            setattr(module, key, value)
        monkeypatch.setitem(sys.modules, f"winfra.sim.scripts.{name}", module)
        return script

    return install


# --- cmd.exe ------------------------------------------------------------------------------------


def test_cmd_builtins(executor: HostExecutor) -> None:
    host = executor.host
    name = host.os.computer_name
    assert run(executor, "hostname") == (f"{name}\r\n".encode(), b"", 0)
    assert run(executor, "whoami") == (f"{name}\\administrator\r\n".lower().encode(), b"", 0)
    out, _, rc = run(executor, "ver")
    assert rc == 0 and out == f"\r\nMicrosoft Windows [Version {host.os.full_version}]\r\n".encode()
    assert run(executor, "echo hello world") == (b"hello world\r\n", b"", 0)
    assert run(executor, 'cmd.exe /c "echo %COMPUTERNAME%"') == (f"{name}\r\n".encode(), b"", 0)
    assert run(executor, "cmd /c exit /b 3") == (b"", b"", 3)
    assert run(executor, "echo %NO_SUCH_VAR%")[0] == b"%NO_SUCH_VAR%\r\n"


def test_cmd_unknown_command(executor: HostExecutor) -> None:
    out, err, rc = run(executor, "uname -s")
    assert (out, rc) == (b"", 1)
    expected = b"'uname' is not recognized as an internal or external command,\r\n"
    assert err == expected + b"operable program or batch file.\r\n"
    assert executor.host.counters.powershell_launches == 0


# --- powershell.exe -----------------------------------------------------------------------------


def test_powershell_unknown_command_is_command_not_found(executor: HostExecutor) -> None:
    line = wire.command_line(wire.with_prologue("Get-WinsimNoSuchThing -Name x"))
    out, err, rc = run(executor, line)
    assert rc == 1 and out == b""
    assert err.startswith(b"#< CLIXML\r\n")
    text = winrm.Session._clean_error_msg(winrm.Session.__new__(winrm.Session), err).decode()
    assert "The term 'Get-WinsimNoSuchThing' is not recognized as the name of a cmdlet" in text
    assert executor.host.counters.powershell_launches == 1


def test_powershell_path_and_case_variants_count_launches(executor: HostExecutor) -> None:
    encoded = wire.encode_command("Get-WinsimNoSuchThing")
    for line in (
        f"PowerShell -NoP -NonI -ec {encoded}",
        f'"C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe" -enc {encoded}',
        f"cmd.exe /c powershell.exe -EncodedCommand {encoded}",
    ):
        assert run(executor, line)[2] == 1
    assert executor.host.counters.powershell_launches == 3


def _get_host_state_direct(executor: HostExecutor, codepage: int = 437) -> tuple[bytes, bytes, int]:
    text = wire.with_prologue(ps_scripts.render_script("get_host_state", {}))
    return run(executor, wire.command_line(text), codepage=codepage)


def test_rendered_script_dispatch_direct_and_via_bootstrap(executor: HostExecutor) -> None:
    from winfra.sim.scripts import get_host_state

    expected = get_host_state.run(ScriptCall(executor.host, {}, "Administrator", True))
    out, err, rc = _get_host_state_direct(executor)
    assert (err, rc) == (b"", 0)
    assert out.endswith(b"\r\n") and json.loads(out) == json.loads(json.dumps(expected))
    built = wire.build(ps_scripts.render_script("get_host_state", {}), stdin="unused")
    assert built.via_stdin
    out2, err2, rc2 = run(executor, built.command_line, built.stdin)
    assert (out2, err2, rc2) == (out, b"", 0)
    assert executor.host.counters.scripts["get_host_state"] == 2
    assert executor.host.counters.state_changes == 0  # read mode


def test_bootstrap_exposes_stdin_and_env_and_prologue_utf8(executor: HostExecutor, fake_script: Any) -> None:
    seen: dict[str, Any] = {}

    def fake_run(call: ScriptCall) -> Any:
        seen["call"] = call
        return {"stdin": call.stdin, "params": call.params, "text": "é<>"}

    fake_script("fake_echo", {"run": fake_run}, mode="write")
    rendered = ps_scripts.render_script("fake_echo", {"path": "C:\\it's"})
    executor.host.fs.mkdir("C:\\Temp")
    built = wire.build(rendered, stdin="sécret\nline2", env={"WINFRA_X": "1"}, chdir="C:\\Temp")
    out, err, rc = run(executor, built.command_line, built.stdin)
    assert (err, rc) == (b"", 0)
    # PROLOGUE: UTF-8 output; JSON escaped the PS 5.1 way.
    expected = '{"stdin":"sécret\\nline2","params":{"path":"C:\\\\it\\u0027s"},'
    assert out == (expected + '"text":"é\\u003c\\u003e"}\r\n').encode()
    call = seen["call"]
    assert (call.user, call.elevated) == ("Administrator", True)
    assert executor.host.counters.state_changes == 1  # write mode


def test_without_prologue_output_uses_the_shell_code_page(executor: HostExecutor, fake_script: Any) -> None:
    fake_script("fake_cp", {"run": lambda call: "é"})
    line = wire.command_line(ps_scripts.render_script("fake_cp", {}))
    assert run(executor, line, codepage=437)[0] == b'"\x82"\r\n'
    assert run(executor, line, codepage=65001)[0] == '"é"\r\n'.encode()


def test_powershell_error_becomes_clixml_exit_1(executor: HostExecutor, fake_script: Any) -> None:
    def fail(call: ScriptCall) -> Any:
        raise PowerShellError(
            "Cannot find path 'C:\\nope' because it does not exist.",
            category="ObjectNotFound",
            error_id="PathNotFound,Microsoft.PowerShell.Commands.GetItemCommand",
        )

    fake_script("fake_fail", {"run": fail})
    out, err, rc = run(
        executor, wire.command_line(wire.with_prologue(ps_scripts.render_script("fake_fail", {})))
    )
    assert (out, rc) == (b"", 1)
    assert err.decode().startswith(CLIXML_MARKER + '\r\n<Objs Version="1.1.0.1"')
    from winfra.transport import clixml

    text = clixml.decode_escapes(err.decode())
    assert "Cannot find path 'C:\\nope' because it does not exist.\r\n" in text
    assert "+ FullyQualifiedErrorId : PathNotFound,Microsoft.PowerShell.Commands.GetItemCommand" in text


def test_script_exit_writes_json_then_exits(executor: HostExecutor, fake_script: Any) -> None:
    def exit_3010(call: ScriptCall) -> Any:
        call.extra_stdout.append("native tool says hi")
        raise ScriptExit(3010, {"restart": True})

    fake_script("fake_exit", {"run": exit_3010})
    out, err, rc = run(
        executor, wire.command_line(wire.with_prologue(ps_scripts.render_script("fake_exit", {})))
    )
    assert (out, err, rc) == (b'native tool says hi\r\n{"restart":true}\r\n', b"", 3010)


def test_tampered_script_body_is_refused(executor: HostExecutor) -> None:
    rendered = ps_scripts.render_script("get_host_state", {})
    tampered = rendered.replace(
        "$state = [ordered]@{}", "$state = [ordered]@{}; Remove-Item C:\\ -Recurse", 1
    )
    assert tampered != rendered
    out, err, rc = run(executor, wire.command_line(wire.with_prologue(tampered)))
    assert rc == 1 and out == b""
    assert b"does not match the shipped winfra/scripts/get_host_state.ps1" in err
    assert "get_host_state" not in executor.host.counters.scripts


def test_streaming_counterpart_reads_lines_and_writes_with_bounded_buffer(
    executor: HostExecutor, fake_script: Any
) -> None:
    def run_stream(call: ScriptCall, stdin_lines: Iterator[str], write_stdout: Any) -> Any:
        count = 0
        for line in stdin_lines:
            count += 1
            write_stdout(line.upper())
        for _ in range(60):
            write_stdout("x" * 100_000)  # 6 MB: more than the pipe holds
        return {"lines": count, "stdin": call.stdin}

    fake_script("fake_stream", {"run_stream": run_stream, "run": None})
    built = wire.build(ps_scripts.render_script("fake_stream", {}), stdin="first")
    shell = ShellContext("S", "Administrator", codepage=437)
    proc = executor.start(shell, built.command_line, [])
    proc.write_stdin(built.stdin + b"abc\r\n", False)
    proc.write_stdin(b"def\r\n", True)
    time.sleep(0.3)
    # Nobody received yet: the writer is blocked on the full pipe.
    assert len(proc._out) <= PIPE_BUFFER + 100_002
    out = b""
    while True:
        chunk = proc.receive(10)
        assert chunk is not None
        assert len(chunk.stdout) <= PIPE_BUFFER + 100_002
        out += chunk.stdout
        if chunk.done:
            break
    lines = out.split(b"\r\n")
    assert lines[:2] == [b"ABC", b"DEF"]
    assert json.loads(lines[-2]) == {"lines": 2, "stdin": "first"}
    assert chunk.exit_code == 0


def test_step_fault_injection(executor: HostExecutor, fake_script: Any) -> None:
    def stepping(call: ScriptCall) -> Any:
        call.step("fake_step:install")
        return "installed"

    fake_script("fake_step", {"run": stepping}, mode="write")
    executor.host.set_faults([{"step": "fake_step:install", "nth": 2, "error": "The installer failed."}])
    line = wire.command_line(wire.with_prologue(ps_scripts.render_script("fake_step", {})))
    assert run(executor, line) == (b'"installed"\r\n', b"", 0)
    _out, err, rc = run(executor, line)
    assert rc == 1 and b"The installer failed." in err
    assert executor.host.faults.unfired() == []


def test_drop_connection_at_command(executor: HostExecutor) -> None:
    executor.host.set_faults([{"drop_connection_at_command": 2}])
    assert run(executor, "hostname")[2] == 0
    with pytest.raises(DropConnection):
        run(executor, "hostname")
    assert run(executor, "hostname")[2] == 0


def test_terminate_stops_a_process_blocked_on_stdin(executor: HostExecutor) -> None:
    built = wire.build(ps_scripts.render_script("get_host_state", {}), stdin="x")
    proc = executor.start(ShellContext("S", "Administrator"), built.command_line, [])
    assert proc.receive(0.2) is None  # waiting for the bootstrap lines
    proc.terminate()
    chunk = proc.receive(1)
    assert chunk is not None and chunk.done and chunk.exit_code == 1


# --- through the endpoint -----------------------------------------------------------------------


def _admin_session(endpoint: Any) -> winrm.Session:
    admin = endpoint.executor.host.users.require("Administrator")
    return winrm.Session(endpoint.url, auth=(admin.name, admin.password), transport="ntlm")


def test_endpoint_runs_rendered_script_with_pywinrm(sim_endpoint: Any) -> None:
    session = _admin_session(sim_endpoint)
    built = wire.build(ps_scripts.render_script("get_host_state", {}))
    protocol = session.protocol
    shell_id = protocol.open_shell(codepage=65001)
    command_id = protocol.run_command(shell_id, built.command_line)
    if built.stdin is not None:
        protocol.send_command_input(shell_id, command_id, built.stdin, end=True)
    out, err, rc = protocol.get_command_output(shell_id, command_id)
    protocol.cleanup_command(shell_id, command_id)
    protocol.close_shell(shell_id)
    assert (err, rc) == (b"", 0)
    assert set(json.loads(out)) >= {"windows", "features", "wsl", "docker"}
    counters = sim_endpoint.counters.snapshot()
    assert counters["powershell_launches"] == 1 and counters["scripts"] == {"get_host_state": 1}


def test_endpoint_drops_the_connection_for_an_injected_fault(sim_endpoint: Any) -> None:
    sim_endpoint.executor.host.set_faults([{"drop_connection_at_command": 1}])
    with pytest.raises(requests.exceptions.ConnectionError):
        _admin_session(sim_endpoint).run_cmd("hostname")
    assert _admin_session(sim_endpoint).run_cmd("hostname").status_code == 0


def test_reboot_drops_connections_and_the_host_comes_back(sim_endpoint: Any) -> None:
    host = sim_endpoint.executor.host
    session = _admin_session(sim_endpoint)
    assert session.run_cmd("hostname").status_code == 0
    host.reboot()
    with pytest.raises(requests.exceptions.ConnectionError):
        _admin_session(sim_endpoint).run_cmd("hostname")
    assert host.wait_until_up(5)
    assert _admin_session(sim_endpoint).run_cmd("hostname").std_out == f"{host.os.computer_name}\r\n".encode()


def test_endpoint_works_under_gevent_monkey_patching(tmp_path: Any) -> None:
    # pyinfra's CLI monkey-patches everything and the embedded simulator runs in-process.
    code = textwrap.dedent(
        """
        from gevent import monkey
        monkey.patch_all()
        import json, sys
        import winrm
        from winfra.sim.models.host import SimHost
        from winfra.sim.shell.executor import host_endpoint
        from winfra.powershell import scripts, wire
        host = SimHost.load("gevent-host", profile="server2022", state_dir=sys.argv[1])
        ep = host_endpoint(host)
        admin = host.users.require("Administrator")
        s = winrm.Session(ep.url, auth=(admin.name, admin.password), transport="ntlm")
        r = s.run_cmd("hostname")
        built = wire.build(scripts.render_script("get_host_state", {}))
        p = s.protocol
        sh = p.open_shell()
        cid = p.run_command(sh, built.command_line)
        if built.stdin:
            p.send_command_input(sh, cid, built.stdin, end=True)
        out, err, rc = p.get_command_output(sh, cid)
        ep.stop()
        print(json.dumps([r.status_code, r.std_out.decode(), rc, sorted(json.loads(out))]))
        """
    )
    proc = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path / "state")], capture_output=True, text=True, timeout=90
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    status, out, rc, keys = json.loads(proc.stdout.strip().splitlines()[-1])
    assert status == 0 and out.strip() and rc == 0 and "windows" in keys


def test_base64_helpers_agree_with_wire() -> None:
    # The bootstrap framing the shell reads is the one wire.build writes.
    built = wire.build("Get-Date", stdin=b"\x00\x01")
    first, second, rest = built.stdin.split(b"\r\n")
    assert base64.b64decode(first).decode().endswith("Get-Date") and base64.b64decode(second) == b"\x00\x01"
    assert rest == b""


def test_user_not_admitted_by_winrm_gets_access_denied(sim_endpoint: Any) -> None:
    from winrm.exceptions import InvalidCredentialsError, WSManFaultError

    host = sim_endpoint.executor.host
    with host.lock:
        host.users.add_user("plainuser", "Plain-Us3r-Pw")
    with pytest.raises(WSManFaultError) as info:
        winrm.Session(sim_endpoint.url, auth=("plainuser", "Plain-Us3r-Pw"), transport="ntlm").run_cmd(
            "hostname"
        )
    assert (info.value.code, info.value.fault_subcode) == (500, "w:AccessDenied")
    with pytest.raises(InvalidCredentialsError):
        winrm.Session(sim_endpoint.url, auth=("plainuser", "wrong"), transport="ntlm").run_cmd("hostname")
    with host.lock:
        host.users.add_member("Remote Management Users", "plainuser")
    result = winrm.Session(sim_endpoint.url, auth=("plainuser", "Plain-Us3r-Pw"), transport="ntlm").run_cmd(
        "whoami"
    )
    assert result.std_out == f"{host.os.computer_name}\\plainuser\r\n".lower().encode()


def test_skip_cmd_shell_needs_a_full_path(executor: HostExecutor) -> None:
    shell = ShellContext("S", "Administrator")
    with pytest.raises(FileNotFoundError):
        executor.start(shell, "powershell.exe", ["-enc", wire.encode_command("x")], skip_cmd_shell=True)
    with pytest.raises(FileNotFoundError):
        executor.start(shell, "echo", ["hi"], skip_cmd_shell=True)
    proc = executor.start(shell, r"C:\Windows\System32\hostname.exe", [], skip_cmd_shell=True)
    chunk = proc.receive(5)
    assert chunk is not None and chunk.stdout == f"{executor.host.os.computer_name}\r\n".encode()
    # cmd.exe started directly still expands the variables of the command it runs.
    proc = executor.start(
        shell, r"C:\Windows\System32\cmd.exe", ["/c", "echo", "%COMPUTERNAME%"], skip_cmd_shell=True
    )
    chunk = proc.receive(5)
    assert chunk is not None and chunk.stdout == f"{executor.host.os.computer_name}\r\n".encode()


def test_skip_cmd_shell_through_pypsrp(sim_endpoint: Any) -> None:
    from pypsrp.exceptions import WSManFaultError
    from pypsrp.shell import Process, WinRS
    from pypsrp.wsman import WSMan

    host = sim_endpoint.executor.host
    admin = host.users.require("Administrator")
    wsman = WSMan(
        "127.0.0.1", port=sim_endpoint.port, username=admin.name, password=admin.password, ssl=False
    )
    with wsman, WinRS(wsman) as shell:
        with pytest.raises(WSManFaultError) as info:
            Process(shell, "hostname.exe", no_shell=True).invoke()
        assert info.value.code == 2147942402
        process = Process(shell, r"C:\Windows\System32\hostname.exe", no_shell=True)
        process.invoke()
        assert process.stdout == f"{host.os.computer_name}\r\n".encode()
