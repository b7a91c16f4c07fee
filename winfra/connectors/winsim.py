"""The ``@winsim`` connector: a simulated Windows host in this process, reached over real WinRM.

Inventory: ``"@winsim/<name>"`` with host data

* ``winsim_profile``: profile name (``winfra/sim/profiles/<name>.yml``, default ``win11-devbox``)
  or a path to a ``.yml`` file;
* ``winsim_overrides``: a mapping deep-merged over the profile (used only when the host has no
  saved state yet: a second run sees the first run's effects; ``python -m winfra.sim reset``
  starts over);
* ``winsim_faults``: the fault plan (``winfra.sim.models.faults``);
* ``winsim_state_dir``: where state lives (default ``$WINSIM_STATE_DIR`` or ``./.winsim``);
* the ``winrm_*`` keys of :mod:`winfra.connectors.winrm` for the account to log in as. Without
  ``winrm_user``, the first administrator the profile defines is used with its password.

For each host the connector loads the :class:`~winfra.sim.models.host.SimHost`, starts a
:class:`~winfra.sim.protocol.WinRMEndpoint` on 127.0.0.1 (port chosen by the OS) serving it, and
then connects exactly like ``@winrm`` does: it *is* the real :class:`WinRMConnector`, over HTTP
with NTLM and message encryption. Endpoints live in a module-level registry for the life of the
process, so a simulated reboot during a run keeps the same port and a reconnect finds the host
again.
"""

from __future__ import annotations

import atexit
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from pyinfra.api.exceptions import ConnectError, InventoryError
from pyinfra.connectors.base import DataMeta

from winfra.connectors.winrm import WINRM_DATA_META, WinRMConnector, WinRMConnectorData
from winfra.sim.models.faults import FaultPlanError
from winfra.sim.models.host import SimHost, SimHostError, state_root
from winfra.sim.models.profile import ProfileError

PREFIX = "@winsim/"


class WinSimConnectorData(WinRMConnectorData, total=False):
    winsim_profile: str
    winsim_overrides: dict
    winsim_faults: list
    winsim_state_dir: str


WINSIM_DATA_META: dict[str, DataMeta] = {
    **WINRM_DATA_META,
    "winsim_profile": DataMeta(
        "Simulator profile (winfra/sim/profiles/<name>.yml) or a .yml path", "win11-devbox"
    ),
    "winsim_overrides": DataMeta("Mapping deep-merged over the profile when the host is first created"),
    "winsim_faults": DataMeta("Fault plan: list of fault mappings (winfra/sim/models/faults.py)"),
    "winsim_state_dir": DataMeta("Directory of simulator state (default $WINSIM_STATE_DIR or ./.winsim)"),
}


@dataclass
class _Served:
    sim: SimHost
    endpoint: Any  # winfra.sim.protocol.WinRMEndpoint


# (state dir, host name) -> the running simulated host and its endpoint, for the whole process.
_SERVED: dict[tuple[str, str], _Served] = {}
_SERVED_LOCK = threading.Lock()


def serve(
    name: str,
    *,
    profile: str | None = None,
    overrides: dict[str, Any] | None = None,
    faults: list[dict[str, Any]] | None = None,
    state_dir: str | os.PathLike[str] | None = None,
) -> _Served:
    """The simulated host ``name`` and its running endpoint (started on first use)."""
    from winfra.sim.shell.executor import host_endpoint

    root = state_root(state_dir)
    key = (str(root), name.lower())
    with _SERVED_LOCK:
        served = _SERVED.get(key)
        sim = SimHost.load(name, profile=profile, overrides=overrides, faults=faults, state_dir=root)
        if served is not None and served.sim is sim:
            return served
        if served is not None:  # the state was reset underneath us: serve the new instance
            served.endpoint.stop()
        served = _Served(sim, host_endpoint(sim, port=0))
        _SERVED[key] = served
        return served


def stop_all() -> None:
    """Stop every endpoint this process started (tests; also run at interpreter exit)."""
    with _SERVED_LOCK:
        served = list(_SERVED.values())
        _SERVED.clear()

    # Each endpoint's shutdown waits for its serve loop to notice (up to one poll interval):
    # stop them side by side so a 50-host lab does not wait 50 intervals at exit.
    def stop_one(s: _Served) -> None:
        s.endpoint.stop()
        s.sim.close()

    threads = [threading.Thread(target=stop_one, args=(s,), daemon=True) for s in served]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


atexit.register(stop_all)


class WinSimConnector(WinRMConnector):
    """Simulated Windows hosts (winfra.sim) reached through the real WinRM connector."""

    handles_execution = True
    data_cls = WinSimConnectorData
    data_meta = WINSIM_DATA_META

    @staticmethod
    def make_names_data(name: str | None = None) -> Iterator[tuple[str, dict, list[str]]]:
        if not name:
            raise InventoryError("No simulated host name given: write @winsim/<name>")
        yield f"{PREFIX}{name}", {}, []

    @property
    def sim_name(self) -> str:
        return str(self.host.name).removeprefix(PREFIX)

    def _serve(self) -> _Served:
        where = f"host {self.host.name}"
        overrides = self.data.get("winsim_overrides")
        faults = self.data.get("winsim_faults")
        if overrides is not None and not isinstance(overrides, dict):
            raise ConnectError(f"{where}: winsim_overrides must be a mapping, got {type(overrides).__name__}")
        if faults is not None and not isinstance(faults, list):
            raise ConnectError(
                f"{where}: winsim_faults must be a list of mappings, got {type(faults).__name__}"
            )
        try:
            return serve(
                self.sim_name,
                profile=self.data.get("winsim_profile") or "win11-devbox",
                overrides=overrides,
                # Host data declares the plan: no winsim_faults means no faults this run.
                faults=faults if faults is not None else [],
                state_dir=self.data.get("winsim_state_dir"),
            )
        except (ProfileError, FaultPlanError, SimHostError) as exc:
            # These messages already name the host (by its simulator name) and the setting.
            text = str(exc).replace(f"host {self.sim_name}", f"host {self.host.name}", 1)
            raise ConnectError(text if str(self.host.name) in text else f"{where}: {text}") from None

    def connect(self) -> None:
        served = self._serve()
        sim = served.sim
        # Point the real WinRM connector at the in-process endpoint: plain HTTP on loopback with
        # NTLM, whose message encryption protects the bodies (anchors-and-winrm.md §3.5).
        self.data["winrm_hostname"] = "127.0.0.1"
        self.data["winrm_port"] = int(served.endpoint.port)
        self.data["winrm_scheme"] = "http"
        if not self.data.get("winrm_transport"):
            self.data["winrm_transport"] = "ntlm"
        if not self.data.get("winrm_user") and not self.host.data.get("ssh_user"):
            with sim.lock:
                admin = next((u for u in sim.users.users.values() if sim.users.is_admin(u.name)), None)
            if admin is not None:
                self.data["winrm_user"] = admin.name
                # The model knows the password only while it matches the declared profile/overrides
                # (the saved state holds hashes only); without it, connect() fails with a clear
                # "winrm_password missing" error rather than sending an empty password.
                if not self.data.get("winrm_password") and admin.password:
                    self.data["winrm_password"] = admin.password
        super().connect()

    @property
    def sim(self) -> SimHost:
        """The simulated host behind this connection (tests inspect and change it)."""
        return self._serve().sim
