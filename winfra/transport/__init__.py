"""How winfra reaches a Windows host: the :class:`PowerShellSession` abstraction (base.py) and
its WinRS implementation on pywinrm (winrs.py), plus CLIXML stderr decoding (clixml.py)."""

from winfra.transport.base import (
    AuthenticationFailed,
    CommandTimeout,
    PowerShellSession,
    Result,
    SessionCounters,
    TransferError,
    TransferResult,
    TransportError,
)
from winfra.transport.winrs import TransportConfigError, WinRSSession

__all__ = [
    "AuthenticationFailed",
    "CommandTimeout",
    "PowerShellSession",
    "Result",
    "SessionCounters",
    "TransferError",
    "TransferResult",
    "TransportConfigError",
    "TransportError",
    "WinRSSession",
]
