"""winfra.deploy_summary: the end-of-run summary's text and its error capture."""

from __future__ import annotations

import logging

from winfra.deploy_summary import HostSummary, _ErrorLog, format_summary


def test_ok_and_failed_hosts_are_readable() -> None:
    lines = format_summary(
        [
            HostSummary(
                "@winsim/devbox11",
                "devbox",
                "ok",
                changed=["Windows features", "WSL"],
                reboots=1,
                versions={"Windows": "22631.4460", "Docker Desktop": "4.37.1"},
                notes=["Docker Desktop's engine is not running: it starts when dev logs on"],
            ),
            HostSummary("@winsim/ctr2022", "container_host", "ok"),
            HostSummary(
                "@winsim/ctr2025",
                "container_host",
                "failed",
                failed_at="winfra: preflight",
                error="preflight failed, nothing was changed:\n  - virtualization is off",
            ),
        ]
    )
    text = "\n".join(lines)
    assert "--> winfra summary: 2 ok, 1 failed" in text
    assert "[@winsim/devbox11] devbox: ok, 1 reboot\n    changed: Windows features; WSL" in text
    assert "versions: Windows 22631.4460, Docker Desktop 4.37.1" in text
    assert "note: Docker Desktop's engine is not running" in text
    assert "[@winsim/ctr2022] container_host: ok, no reboot\n    changed: nothing (already converged)" in text
    assert "[@winsim/ctr2025] container_host: FAILED at winfra: preflight" in text
    assert "error: preflight failed, nothing was changed:" in text
    assert "- virtualization is off" in text


def test_error_log_keeps_the_first_error_per_host_without_colours() -> None:
    handler = _ErrorLog()

    def emit(message: str, level: int = logging.ERROR) -> None:
        handler.handle(logging.LogRecord("pyinfra", level, __file__, 1, message, None, None))

    emit("\x1b[1m[\x1b[0m\x1b[1m@winsim/ctr2025\x1b[0m] \x1b[31m@winsim/ctr2025: preflight failed\x1b[0m")
    emit("[@winsim/ctr2025] Error: executed 0 commands")
    emit("[@winsim/ctr2025] a later error")
    emit("no host prefix here")
    assert handler.first == {"@winsim/ctr2025": "preflight failed"}
