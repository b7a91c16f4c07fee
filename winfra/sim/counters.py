"""Per-host counters of the simulator: what benchmarks and the acceptance tests read."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field, fields


@dataclass
class Counters:
    http_requests: int = 0
    http_401: int = 0
    bytes_in: int = 0
    bytes_out: int = 0
    shells_created: int = 0
    commands: int = 0
    powershell_launches: int = 0
    # Per script name: how many times a rendered script ran (read and write).
    scripts: dict[str, int] = field(default_factory=dict)
    # Commands whose effect changed host state (write scripts, service restarts...).
    state_changes: int = 0
    reboots: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def add(self, name: str, amount: int = 1) -> None:
        with self._lock:
            setattr(self, name, getattr(self, name) + amount)

    def add_script(self, name: str) -> None:
        with self._lock:
            self.scripts[name] = self.scripts.get(name, 0) + 1

    def snapshot(self) -> dict[str, object]:
        with self._lock:
            return {f.name: _copy(getattr(self, f.name)) for f in fields(self) if f.name != "_lock"}

    def reset(self) -> None:
        fresh = Counters()
        with self._lock:
            for f in fields(self):
                if f.name != "_lock":
                    setattr(self, f.name, getattr(fresh, f.name))


def _copy(value: object) -> object:
    return dict(value) if isinstance(value, dict) else value
