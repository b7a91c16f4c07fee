"""File-transfer throughput of the WinRS transport against the in-process simulator.

Uploads and downloads one file (default 50 MB) over HTTP with NTLM message encryption (what a
lab host without an HTTPS listener uses), through ``WinRSSession.put``/``get``: one
powershell.exe per file, base64 lines on stdin/stdout, SHA-256 verified on both ends. The
session is set up as the connector's ``connect()`` does it (shell, get_host_state, the server's
MaxEnvelopeSizekb).

    .venv/bin/python bench/transfer.py [--mb 50]

Target (issue 2): >= 20 MB/s upload with SHA-256 verification. For scale: Ansible's win_copy
reached 22 MB/s over HTTPS on a LAN (anchors-and-winrm.md §3.6).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import tempfile
import time
from pathlib import Path

from winfra.facts.host import HostState
from winfra.sim.models.host import SimHost, reset
from winfra.sim.shell.executor import host_endpoint
from winfra.transport.winrs import WinRSSession


def write_file(path: Path, size: int) -> str:
    digest = hashlib.sha256()
    block = os.urandom(1 << 20)
    with open(path, "wb") as fh:
        written = 0
        while written < size:
            chunk = written.to_bytes(8, "little") + block[8 : min(1 << 20, size - written)]
            fh.write(chunk)
            digest.update(chunk)
            written += len(chunk)
    return digest.hexdigest()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mb", type=int, default=50, help="file size in MB (default 50)")
    args = parser.parse_args()
    size = args.mb * 1024 * 1024
    with tempfile.TemporaryDirectory(prefix="winfra-bench-") as tmp:
        tmp_path = Path(tmp)
        sim = SimHost.load("bench-transfer", profile="server2022", state_dir=tmp_path / "winsim")
        endpoint = host_endpoint(sim)
        try:
            session = WinRSSession(
                endpoint.url,
                username="Administrator",
                password="Winsim-Srv-Adm1n!",  # the simulator profile's account
                auth="ntlm",
                message_encryption="always",
                label="bench",
            )
            session.open()
            state = session.run(HostState().command())
            windows = (json.loads("\n".join(state.stdout_lines)) or {}).get("windows") or {}
            session.set_max_envelope_size_kb(windows.get("max_envelope_size_kb"))

            src = tmp_path / "payload.bin"
            expected = write_file(src, size)
            remote = "C:\\Users\\Administrator\\Documents\\payload.bin"
            before = session.counters.snapshot()
            started = time.perf_counter()
            with open(src, "rb") as fh:
                up = session.put(fh, remote)
            upload_s = time.perf_counter() - started
            mid = session.counters.snapshot()
            back = tmp_path / "payload.back"
            started = time.perf_counter()
            with open(back, "wb") as fh:
                down = session.get(remote, fh)
            download_s = time.perf_counter() - started
            after = session.counters.snapshot()
            session.close()
        finally:
            endpoint.stop()
            reset(tmp_path / "winsim")
    assert up.sha256 == expected == down.sha256, "hash mismatch"
    mb = size / 1e6
    print(f"file: {args.mb} MiB ({size} bytes), NTLM + message encryption over HTTP, SHA-256 verified")
    print(f"max envelope: {windows.get('max_envelope_size_kb') or 'unknown (500 assumed)'} KB")
    print(
        f"upload:   {mb / upload_s:6.1f} MB/s  ({upload_s:.2f} s, "
        f"{mid['http_requests'] - before['http_requests']} HTTP requests, "
        f"{mid['powershell_launches'] - before['powershell_launches']} powershell.exe)"
    )
    print(
        f"download: {mb / download_s:6.1f} MB/s  ({download_s:.2f} s, "
        f"{after['http_requests'] - mid['http_requests']} HTTP requests, "
        f"{after['powershell_launches'] - mid['powershell_launches']} powershell.exe)"
    )


if __name__ == "__main__":
    main()
