"""The simulated WinRM service: WS-Management/WinRS over HTTP(S) (see :mod:`.server`)."""

from winfra.sim.protocol.server import WinRMEndpoint

__all__ = ["WinRMEndpoint"]
