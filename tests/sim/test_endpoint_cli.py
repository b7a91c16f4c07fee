"""``python -m winfra.sim serve|counters|reset`` (winfra/sim/__main__.py)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import winrm


def _run(state: Path, *args: str) -> str:
    out = subprocess.run(
        [sys.executable, "-m", "winfra.sim", "--state-dir", str(state), *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return out.stdout


def test_serve_prints_url_and_account_then_counters_and_reset(tmp_path: Path) -> None:
    state = tmp_path / "state"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "winfra.sim",
            "--state-dir",
            str(state),
            "serve",
            "--profile",
            "server2022",
            "--name",
            "clihost",
            "--show-password",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        lines: dict[str, str] = {}
        assert proc.stdout is not None
        while "auth" not in lines:
            line = proc.stdout.readline()
            assert line, proc.stderr.read() if proc.stderr else ""
            key, _, value = line.partition(": ")
            lines[key] = value.strip()
        url = lines["URL"]
        assert url.startswith("http://127.0.0.1:") and url.endswith("/wsman")
        user, _, password = lines["user"].partition(" password: ")
        result = winrm.Session(url, auth=(user, password), transport="ntlm").run_cmd("hostname")
        assert result.status_code == 0 and result.std_out.strip()
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=30)
    counters = json.loads(_run(state, "counters"))
    assert counters["clihost"]["commands"] == 1 and counters["clihost"]["shells_created"] == 1
    assert "removed: clihost" in _run(state, "reset")
    assert json.loads(_run(state, "counters")) == {}


def test_serve_hides_the_password_by_default(tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "winfra.sim",
            "--state-dir",
            str(tmp_path),
            "serve",
            "--profile",
            "server2022",
        ],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert proc.stdout is not None
        text = ""
        while "auth:" not in text:
            line = proc.stdout.readline()
            assert line
            text += line
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=30)
    assert "user: Administrator password: (see the profile" in text
    assert "Winsim" not in text.split("user:", 1)[1]
