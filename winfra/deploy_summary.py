"""End-of-run summary of ``deploys/docker_host.py``: per host, what changed, reboots, versions.

pyinfra prints one result line per host and operation; after a fleet rollout the question is
"which hosts are done, which failed and why, what runs where". :func:`install` registers a
pyinfra state callback (``BaseStateCallback``, pyinfra/api/state.py) once per run that

* remembers, per host, the first operation that failed and the first error line logged for that
  host (operations log their reason with ``host.log_styled(..., log_func=logger.error)``);
* after the last operation of the run (``operation_end``), or at process exit when every host
  failed (pyinfra then stops with "No hosts remaining!"), prints one block per host::

      --> winfra summary: 3 ok, 1 failed
          [@winsim/devbox11] devbox: ok, 1 reboot
              changed: Windows features; WSL; Docker Desktop; .wslconfig; move WSL distro Ubuntu
              versions: Windows 22631.4460, WSL 2.3.26.0, Docker Desktop 4.37.1, docker CLI 27.3.1
          [@winsim/ctr2025] container_host: FAILED at winfra: preflight
              error: preflight failed, nothing was changed: ...

Data the deploy records in ``host.connector_data`` (it lasts for the run and survives reconnects):
``winfra_summary_role`` (role), ``winfra_versions`` (name -> version, from the verification step),
``winfra_notes`` (list of short remarks). Reboots come from ``winfra_reboots``
(winfra.operations.windows). With environment variable ``WINFRA_SUMMARY_JSON`` set to a path,
the same data is also written there as JSON (tests and ``bench/fleet.py`` read it).
"""

from __future__ import annotations

import atexit
import json
import logging
import os
import re
import threading
from dataclasses import asdict, dataclass, field
from typing import Any

from pyinfra import logger
from pyinfra.api.state import BaseStateCallback, StateStage

ROLE_KEY = "winfra_summary_role"
VERSIONS_KEY = "winfra_versions"
NOTES_KEY = "winfra_notes"
REBOOTS_KEY = "winfra_reboots"  # winfra.operations.windows.REBOOTS
SUMMARY_JSON_ENV = "WINFRA_SUMMARY_JSON"
# Operations whose "commands" only read or report (the deploy's checks); they are not changes.
NOT_CHANGES_PREFIX = ("winfra: verify", "winfra: check")
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


@dataclass
class HostSummary:
    name: str
    role: str | None
    status: str  # "ok" | "failed"
    changed: list[str] = field(default_factory=list)
    reboots: int = 0
    versions: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    failed_at: str | None = None
    error: str | None = None


def _plain(text: str) -> str:
    return _ANSI.sub("", text)


class _ErrorLog(logging.Handler):
    """Keeps the first error line pyinfra logged for each host (``[host] message``)."""

    def __init__(self) -> None:
        super().__init__(level=logging.ERROR)
        self.first: dict[str, str] = {}
        self._lock2 = threading.Lock()

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = _plain(record.getMessage()).strip()
        except Exception:  # a broken record must never break the run
            return
        m = re.match(r"^\[([^\]]+)\]\s*(.*)$", text, re.S)
        if not m:
            return
        name, message = m.group(1), m.group(2).strip()
        if message.startswith("nested "):
            message = message[len("nested ") :]
        if not message or message.startswith("Error: executed"):
            return
        with self._lock2:
            self.first.setdefault(name, message.removeprefix(f"{name}: "))


class _Collector(BaseStateCallback):
    """The state callback: failures as they happen, the summary after the last operation."""

    def __init__(self, state: Any) -> None:
        self.state = state
        self.failed_at: dict[str, str] = {}
        self.errors = _ErrorLog()
        self.printed = False
        logger.addHandler(self.errors)
        atexit.register(self.at_exit)

    # pyinfra calls the callbacks as plain functions with the state first (state.trigger_callbacks).
    def operation_host_error(self, state: Any, host: Any, op_hash: str, *args: Any, **kwargs: Any) -> None:
        names = state.get_op_meta(op_hash).names
        self.failed_at.setdefault(host.name, ", ".join(sorted(names)) or op_hash)

    def operation_end(self, state: Any, op_hash: str) -> None:
        order = state.get_op_order()
        if order and op_hash == order[-1]:
            self.report()

    def at_exit(self) -> None:
        if not self.printed and self.state.current_stage >= StateStage.Execute:
            self.report()

    # -- the summary -------------------------------------------------------------------------------
    def collect(self) -> list[HostSummary]:
        state = self.state
        order = state.get_op_order()
        out: list[HostSummary] = []
        for host in state.inventory:
            if host not in state.activated_hosts and host.name not in self.failed_at:
                # Never connected: pyinfra reported the connection error already.
                out.append(
                    HostSummary(
                        host.name,
                        host.connector_data.get(ROLE_KEY),
                        "failed",
                        failed_at="connect",
                        error=self.errors.first.get(host.name),
                    )
                )
                continue
            changed: list[str] = []
            unfinished: str | None = None
            for op_hash in order:
                op_data = state.ops.get(host, {}).get(op_hash)
                if op_data is None:
                    continue
                meta = op_data.operation_meta
                name = ", ".join(sorted(state.get_op_meta(op_hash).names))
                if not meta.is_complete():
                    unfinished = unfinished or name
                    continue
                if meta.did_change() and not name.startswith(NOT_CHANGES_PREFIX):
                    changed.append(name.removeprefix("winfra: "))
            failed = host in state.failed_hosts or host.name in self.failed_at
            if not failed and unfinished is not None:
                # The run stopped (an exception in an operation aborts every host in pyinfra) or
                # this host left it: it did not get through its operations.
                failed = True
                self.failed_at.setdefault(host.name, f"{unfinished} (not run: the run stopped early)")
            out.append(
                HostSummary(
                    name=host.name,
                    role=host.connector_data.get(ROLE_KEY),
                    status="failed" if failed else "ok",
                    changed=changed,
                    reboots=int(host.connector_data.get(REBOOTS_KEY) or 0),
                    versions=dict(host.connector_data.get(VERSIONS_KEY) or {}),
                    notes=list(host.connector_data.get(NOTES_KEY) or []),
                    failed_at=self.failed_at.get(host.name) if failed else None,
                    error=self.errors.first.get(host.name) if failed else None,
                )
            )
        return out

    def report(self) -> None:
        self.printed = True
        summaries = self.collect()
        for line in format_summary(summaries):
            logger.info(line)
        path = os.environ.get(SUMMARY_JSON_ENV)
        if path:
            with open(path, "w", encoding="utf-8") as fh:
                json.dump([asdict(s) for s in summaries], fh, indent=1)


def format_summary(summaries: list[HostSummary]) -> list[str]:
    """The readable block: a header, then per host a status line and indented details."""
    ok = sum(1 for s in summaries if s.status == "ok")
    failed = len(summaries) - ok
    lines = ["", f"--> winfra summary: {ok} ok, {failed} failed"]
    for s in summaries:
        role = f" {s.role}" if s.role else ""
        if s.status == "ok":
            reboots = f", {s.reboots} reboot{'s' if s.reboots != 1 else ''}" if s.reboots else ", no reboot"
            lines.append(f"[{s.name}]{role}: ok{reboots}")
            lines.append(
                f"    changed: {'; '.join(s.changed) if s.changed else 'nothing (already converged)'}"
            )
        else:
            lines.append(f"[{s.name}]{role}: FAILED at {s.failed_at or 'an unknown step'}")
            if s.error:
                first, *rest = s.error.splitlines()
                lines.append(f"    error: {first}")
                lines.extend(f"           {r.strip()}" for r in rest[:6])
            if s.changed:
                lines.append(f"    changed before the failure: {'; '.join(s.changed)}")
            if s.reboots:
                lines.append(f"    reboots: {s.reboots}")
        if s.versions:
            lines.append("    versions: " + ", ".join(f"{k} {v}" for k, v in s.versions.items()))
        lines.extend(f"    note: {n}" for n in s.notes)
    return lines


def install(state: Any) -> None:
    """Register the summary once for this pyinfra run (the deploy file runs once per host)."""
    for handler in state.callback_handlers:
        if isinstance(handler, _Collector):
            return
    state.add_callback_handler(_Collector(state))


def record_role(host: Any, role: str | None) -> None:
    host.connector_data[ROLE_KEY] = role


def record_versions(host: Any, versions: dict[str, str]) -> None:
    host.connector_data.setdefault(VERSIONS_KEY, {}).update(versions)


def add_note(host: Any, note: str) -> None:
    notes = host.connector_data.setdefault(NOTES_KEY, [])
    if note not in notes:
        notes.append(note)
