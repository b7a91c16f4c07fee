"""The interpreter reached the way testinfra's winrm backend reaches a host: a raw WinRS command
(through cmd.exe) over HTTP with NTLM and message encryption (testinfra/backend/winrm.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import winrm.protocol

from winfra.connectors import winsim
from winfra.sim.models import host as h
from winfra.sim.models import wsl
from winfra.sim.models.registry import REG_DWORD, REG_SZ


@pytest.fixture
def served(tmp_path: Path) -> Iterator[winsim._Served]:
    s = winsim.serve("ti", profile="win11-devbox", state_dir=tmp_path)
    yield s
    winsim.stop_all()
    h.reset(tmp_path)


def run(
    served: winsim._Served, user: str, password: str, command: str, args: list[str]
) -> tuple[bytes, bytes, int]:
    p = winrm.protocol.Protocol(
        endpoint=f"http://127.0.0.1:{served.endpoint.port}/wsman",
        transport="ntlm",
        username=user,
        password=password,
        message_encryption="always",
    )
    shell = p.open_shell()
    try:
        cid = p.run_command(shell, command, args)
        out, err, rc = p.get_command_output(shell, cid)
        p.cleanup_command(shell, cid)
    finally:
        p.close_shell(shell)
    return out, err, rc


def test_wsl_list_over_winrm_is_raw_utf16le(served: winsim._Served) -> None:
    sim = served.sim
    with sim.lock:
        sim.wsl.package = wsl.WslPackage(kind="package", version="2.3.26.0")
        # The WinRM account's own Lxss key (windows-facts A.5: registrations are per user).
        key = wsl.lxss_path(sim.users.require("winrm-admin").sid)
        sim.registry.set_value(
            key + "\\{aaaaaaaa-0000-0000-0000-000000000001}", "DistributionName", "Ubuntu", REG_SZ
        )
        sim.registry.set_value(key + "\\{aaaaaaaa-0000-0000-0000-000000000001}", "Flags", 15, REG_DWORD)
        sim.registry.set_value(key, "DefaultDistribution", "{aaaaaaaa-0000-0000-0000-000000000001}", REG_SZ)
    password = sim.users.require("winrm-admin").password
    out, err, rc = run(served, "winrm-admin", password, "wsl.exe", ["-l", "-v"])
    expected = "  NAME      STATE           VERSION\r\n* Ubuntu    Stopped         2\r\n"
    assert rc == 0 and err == b""
    assert out == expected.encode("utf-16-le")
    out, _, rc = run(served, "winrm-admin", password, '"C:\\Program Files\\WSL\\wsl.exe"', ["-l", "-q"])
    assert out == "Ubuntu\r\n".encode("utf-16-le") and rc == 0


def test_no_distros_exit_code_over_winrm(served: winsim._Served) -> None:
    sim = served.sim
    with sim.lock:
        sim.wsl.package = wsl.WslPackage(kind="package", version="2.3.26.0")
    password = sim.users.require("winrm-admin").password
    # A quoted program path is unambiguously a cmd.exe line, so wsl.exe's own exit code comes back.
    out, _, rc = run(served, "winrm-admin", password, '"C:\\Program Files\\WSL\\wsl.exe"', ["-l", "-v"])
    # wsl.exe exits -1 (windows-facts A.2); WinRS reports the process exit code.
    assert rc in (-1, 4294967295)
    assert out.decode("utf-16-le").startswith("Windows Subsystem for Linux has no installed distributions.")
