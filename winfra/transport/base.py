"""The transport abstraction facts and operations never see directly.

A :class:`PowerShellSession` runs PowerShell scripts on one Windows host and moves files to and
from it. The connector (``winfra.connectors.winrm``) is written against this interface only, so
a PSRP transport (a RunspacePool: no powershell.exe per command, anchors-and-winrm.md §3.1) can
be added later without touching facts or operations.

Errors follow what pyinfra tolerates (pyinfra3-notes.md §1.8): every transport failure is an
:class:`OSError` (``TransportError``) or a :class:`TimeoutError` (``CommandTimeout``); a rejected
login is :class:`AuthenticationFailed` (also an OSError, so it is tolerated outside ``connect()``;
the connector turns it into ``ConnectError`` while connecting).
"""

from __future__ import annotations

import abc
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import BinaryIO


class TransportError(OSError):
    """The host could not be reached or the WinRM service answered with a fault."""


class AuthenticationFailed(TransportError):
    """The server rejected the credentials (HTTP 401). Never carries the password."""


class CommandTimeout(TimeoutError):
    """A command ran longer than its ``_timeout``; it was terminated, the session is usable."""


class TransferError(TransportError):
    """A file transfer failed or its SHA-256 did not match on one end."""


@dataclass(frozen=True)
class Result:
    """Outcome of one command: exit code and decoded output lines (CR stripped, no trailing "")."""

    rc: int
    stdout_lines: list[str]
    stderr_lines: list[str]


@dataclass(frozen=True)
class TransferResult:
    size: int
    sha256: str


@dataclass
class SessionCounters:
    """Client-side counters of one session (what ``bench/`` and the fleet benchmark read)."""

    # Every HTTP request on the wire, including NTLM handshake legs and the empty POST that sets
    # up message encryption.
    http_requests: int = 0
    # WS-Man messages (Create, Command, Send, Receive, Signal, Delete).
    wsman_messages: int = 0
    shells_opened: int = 0
    shells_recycled: int = 0
    commands: int = 0
    powershell_launches: int = 0
    receive_timeouts: int = 0
    # Times the server was found to have lost our connection, login or shell (a reboot or a
    # WinRM service restart): host state may have changed behind our back.
    server_resets: int = 0
    command_timeouts: int = 0
    bytes_sent: int = 0
    bytes_received: int = 0
    files_put: int = 0
    files_got: int = 0
    # Read-mode script results served from the connector's cache (no round trip).
    fact_cache_hits: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def add(self, name: str, amount: int = 1) -> None:
        with self._lock:
            setattr(self, name, getattr(self, name) + amount)

    def snapshot(self) -> dict[str, int]:
        with self._lock:
            return {f.name: getattr(self, f.name) for f in fields(self) if f.name != "_lock"}


class PowerShellSession(abc.ABC):
    """One long-lived PowerShell channel to a host."""

    counters: SessionCounters

    @abc.abstractmethod
    def open(self) -> None:
        """Authenticate and open the channel (a real round trip). Idempotent."""

    @abc.abstractmethod
    def run(
        self,
        script: str,
        stdin: bytes | str | None = None,
        env: Mapping[str, str] | None = None,
        chdir: str | None = None,
        timeout: float | None = None,
        sensitive: bool = False,
    ) -> Result:
        """Run a PowerShell ``script`` and wait for it.

        ``sensitive``: ``script`` or ``env`` holds a secret, which must never reach a process
        command line (it travels on stdin instead: ``winfra.powershell.wire.build``).

        Raises :class:`CommandTimeout` after ``timeout`` seconds (the command is terminated and
        the session stays usable), :class:`TransportError` when the host cannot be reached.
        """

    @abc.abstractmethod
    def put(
        self,
        local_stream: BinaryIO,
        remote_path: str,
        timeout: float | None = None,
    ) -> TransferResult:
        """Upload ``local_stream`` to ``remote_path`` atomically, verifying SHA-256 on both ends."""

    @abc.abstractmethod
    def get(
        self,
        remote_path: str,
        local_stream: BinaryIO,
        timeout: float | None = None,
    ) -> TransferResult:
        """Download ``remote_path`` into ``local_stream``, verifying SHA-256 on both ends."""

    @abc.abstractmethod
    def close(self) -> None:
        """Release the channel; never raises for a dead host."""

    def run_native(
        self, command_line: str, stdin: bytes | None = None, timeout: float | None = None
    ) -> Result:
        """Run a cmd.exe command line without PowerShell (``_shell_executable="cmd"``)."""
        raise NotImplementedError(f"{type(self).__name__} cannot run cmd.exe command lines")

    def set_connect_timeout(self, seconds: float | None) -> None:  # noqa: B027 - optional hook
        """Use a short connect/read timeout (a reboot wait loop), or the normal ones for None."""

    def set_max_envelope_size_kb(self, kb: int | None) -> None:  # noqa: B027 - optional hook
        """The server's MaxEnvelopeSizekb, once known (sizes transfer chunks)."""
