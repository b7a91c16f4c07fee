"""The contract between the WinRS endpoint (protocol) and what runs in a shell.

The endpoint knows nothing of PowerShell or of the host model. For each WinRS ``Command`` it
asks a :class:`CommandExecutor` for a :class:`SimProcess`, feeds it the ``Send`` stdin chunks,
polls it on ``Receive``, and kills it on ``Signal`` (terminate) or shell ``Delete``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol


@dataclass
class ShellContext:
    """What a WinRS shell knows: who opened it and with which options (MS-WSMV 2.2.4.37)."""

    shell_id: str
    user: str
    env: dict[str, str] = field(default_factory=dict)
    working_directory: str | None = None
    codepage: int = 437
    no_profile: bool = False


@dataclass
class ReceiveChunk:
    stdout: bytes = b""
    stderr: bytes = b""
    done: bool = False
    exit_code: int | None = None


class SimProcess(Protocol):
    def write_stdin(self, data: bytes, end: bool) -> None:
        """Deliver one ``Send`` chunk; ``end`` closes stdin."""

    def receive(self, timeout: float) -> ReceiveChunk | None:
        """Output produced since the last call, waiting at most ``timeout`` seconds.

        Returns None when nothing arrived within the timeout (the endpoint then answers with
        the OperationTimeout fault, as Windows does for a long-poll Receive).
        """

    def terminate(self) -> None:
        """Stop the process (``Signal`` terminate, or the shell was deleted)."""


class CommandExecutor(Protocol):
    def start(self, shell: ShellContext, command: str, arguments: list[str]) -> SimProcess:
        """Start ``command`` with ``arguments`` (``rsp:Command`` / ``rsp:Arguments``)."""


class DropConnection(Exception):
    """Raised by an executor or process to make the endpoint drop the TCP connection without
    answering (fault injection "drop the connection during command N", or a reboot)."""
