"""HTTP requests and latency per short command on an open WinRS shell (in-process simulator).

After ``connect()`` (one shell, get_host_state), every short command should cost exactly
Command + Receive + Signal = 3 HTTP requests and one powershell.exe (anchors-and-winrm.md §3.1;
pywinrm's ``Session.run_ps`` costs 5 plus a fresh TCP connection and NTLM handshake per call).

    .venv/bin/python bench/commands.py [--commands 100]

Target (issue 2): <= 3 HTTP requests per short command after connect.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from winfra.facts.host import HostState
from winfra.sim.models.host import SimHost, reset
from winfra.sim.shell.executor import host_endpoint
from winfra.transport.winrs import WinRSSession


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--commands", type=int, default=100, help="short commands to run (default 100)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="winfra-bench-") as tmp:
        state_dir = Path(tmp) / "winsim"
        sim = SimHost.load("bench-commands", profile="server2022", state_dir=state_dir)
        endpoint = host_endpoint(sim)
        try:
            session = WinRSSession(
                endpoint.url,
                username="Administrator",
                password="Winsim-Srv-Adm1n!",  # the simulator profile's account
                auth="ntlm",
                label="bench",
            )
            started = time.perf_counter()
            session.open()
            result = session.run(HostState().command())
            connect_s = time.perf_counter() - started
            assert result.rc == 0, result.stderr_lines
            at_connect = session.counters.snapshot()

            started = time.perf_counter()
            for i in range(args.commands):
                result = session.run(f"Write-Output 'ping {i}'")
                assert result.rc == 0 and result.stdout_lines == [f"ping {i}"], result
            elapsed = time.perf_counter() - started
            after = session.counters.snapshot()
            session.close()
        finally:
            endpoint.stop()
            reset(state_dir)
    n = args.commands
    requests = after["http_requests"] - at_connect["http_requests"]
    print(
        f"connect: {at_connect['http_requests']} HTTP requests "
        f"(NTLM handshake + encryption setup, Create, get_host_state), {connect_s * 1000:.0f} ms"
    )
    print(f"short commands: {n}, NTLM + message encryption over HTTP")
    print(f"HTTP requests per short command after connect: {requests / n:.2f}")
    print(f"WS-Man messages per command: {(after['wsman_messages'] - at_connect['wsman_messages']) / n:.2f}")
    launches = after["powershell_launches"] - at_connect["powershell_launches"]
    print(f"powershell.exe per command: {launches / n:.2f}")
    print(f"shells opened in total: {after['shells_opened']}")
    print(f"mean latency per command (simulator, loopback): {elapsed / n * 1000:.1f} ms")


if __name__ == "__main__":
    main()
