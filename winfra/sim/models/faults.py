"""Declarative fault injection, per host, from host data ``winsim_faults`` (a list of dicts).

Supported entries (anything else is rejected when the host loads, naming the entry):

``{"step": "wsl:export", "nth": 1, "times": 1, "error": "..."}``
    Fail the ``nth`` call (1-based, default 1) of a script step (``ScriptCall.step(name)``,
    ``winfra/sim/scripting.py``) ``times`` times in a row (default 1; ``"always"`` or 0 means
    every call from the nth on). The step raises a terminating PowerShell error with ``error``
    (default "Injected fault at <step>"). ``step`` may use ``fnmatch`` wildcards.
``{"step": "docker:desktop_install", "installer_exit_code": 1603, "nth": 1, "times": 1}``
    The installer run by that step exits with this code: :meth:`FaultPlan.check` raises
    :class:`InstallerExitFault`, which the counterpart turns into the installer's exit code.
``{"drop_connection_at_command": N}``
    The endpoint drops the TCP connection while serving the Nth command of this host (1-based,
    counted over the host's lifetime in the state dir) without answering.
``{"disk_full": "D:"}``
    Volume D: has no free space: every write that grows it fails with "There is not enough
    space on the disk." (0x80070070).
``{"virtualization_disabled": true}``
    Virtualization is off in firmware (windows-facts D.5): the hypervisor never starts.

Every fault that fires is appended to :attr:`FaultPlan.fired` (persisted with the host), so a
test can assert that each injected failure was actually exercised.
"""

from __future__ import annotations

import fnmatch
import time
from dataclasses import dataclass, field
from typing import Any

from winfra.sim.process import DropConnection
from winfra.sim.scripting import PowerShellError

_KNOWN_KEYS = {
    "step",
    "nth",
    "times",
    "error",
    "error_id",
    "category",
    "installer_exit_code",
    "drop_connection_at_command",
    "disk_full",
    "virtualization_disabled",
}


class FaultError(PowerShellError):
    """An injected step failure (a terminating PowerShell error)."""


class InstallerExitFault(Exception):
    """An injected installer exit code; the counterpart reports it as the installer's exit."""

    def __init__(self, step: str, exit_code: int) -> None:
        super().__init__(f"injected installer exit code {exit_code} at {step}")
        self.step = step
        self.exit_code = exit_code


class FaultPlanError(ValueError):
    """A ``winsim_faults`` entry is malformed (raised at load, before anything runs)."""


@dataclass
class FaultPlan:
    specs: list[dict[str, Any]] = field(default_factory=list)
    # Calls seen so far per step name, and commands seen by the host.
    step_calls: dict[str, int] = field(default_factory=dict)
    commands: int = 0
    fired: list[dict[str, Any]] = field(default_factory=list)

    @classmethod
    def from_specs(cls, specs: list[dict[str, Any]] | None, *, host: str = "?") -> FaultPlan:
        plan = cls(specs=[dict(s) for s in (specs or [])])
        plan.validate(host)
        return plan

    def validate(self, host: str = "?") -> None:
        for i, spec in enumerate(self.specs):
            where = f"host {host}: winsim_faults[{i}] = {spec!r}"
            if not isinstance(spec, dict):
                raise FaultPlanError(f"{where}: each fault must be a mapping")
            unknown = set(spec) - _KNOWN_KEYS
            if unknown:
                raise FaultPlanError(
                    f"{where}: unknown key(s) {sorted(unknown)}; known: {sorted(_KNOWN_KEYS)}"
                )
            kinds = [
                k for k in ("drop_connection_at_command", "disk_full", "virtualization_disabled") if k in spec
            ]
            if "step" in spec:
                kinds.append("step")
            if len(kinds) != 1:
                raise FaultPlanError(
                    f"{where}: give exactly one of step, drop_connection_at_command, disk_full, "
                    "virtualization_disabled"
                )
            nth = spec.get("nth", 1)
            if not isinstance(nth, int) or nth < 1:
                raise FaultPlanError(f"{where}: nth must be an integer >= 1")
            times = spec.get("times", 1)
            if times != "always" and (not isinstance(times, int) or times < 0):
                raise FaultPlanError(f"{where}: times must be an integer >= 0 or 'always'")
            if "drop_connection_at_command" in spec:
                n = spec["drop_connection_at_command"]
                if not isinstance(n, int) or n < 1:
                    raise FaultPlanError(f"{where}: drop_connection_at_command must be an integer >= 1")
            if "disk_full" in spec:
                letter = str(spec["disk_full"]).rstrip(":\\")
                if len(letter) != 1 or not letter.isalpha():
                    raise FaultPlanError(f"{where}: disk_full must be a drive such as 'D:'")
            if "installer_exit_code" in spec and not isinstance(spec["installer_exit_code"], int):
                raise FaultPlanError(f"{where}: installer_exit_code must be an integer")

    # -- firing -------------------------------------------------------------------------------
    def _record(self, spec: dict[str, Any], **detail: Any) -> None:
        self.fired.append({"fault": dict(spec), "at": time.time(), **detail})

    def check(self, step: str) -> None:
        """Count one call of ``step`` and raise the configured failure if one matches.

        Raises :class:`FaultError` (a PowerShellError) or :class:`InstallerExitFault`.
        """
        n = self.step_calls.get(step, 0) + 1
        self.step_calls[step] = n
        for spec in self.specs:
            pattern = spec.get("step")
            if pattern is None or not fnmatch.fnmatchcase(step, pattern):
                continue
            nth = spec.get("nth", 1)
            times = spec.get("times", 1)
            last = None if times in ("always", 0) else nth + times - 1
            if n < nth or (last is not None and n > last):
                continue
            self._record(spec, step=step, call=n)
            if "installer_exit_code" in spec:
                raise InstallerExitFault(step, int(spec["installer_exit_code"]))
            raise FaultError(
                str(spec.get("error") or f"Injected fault at {step}"),
                error_id=str(spec.get("error_id", "WinsimInjectedFault")),
                category=str(spec.get("category", "NotSpecified")),
            )

    def on_command(self) -> None:
        """Count one command of this host; raise DropConnection when a fault targets it."""
        self.commands += 1
        for spec in self.specs:
            if spec.get("drop_connection_at_command") == self.commands:
                self._record(spec, command=self.commands)
                raise DropConnection(f"injected: drop connection at command {self.commands}")

    def disk_full_letters(self) -> set[str]:
        return {str(s["disk_full"]).rstrip(":\\").upper() for s in self.specs if "disk_full" in s}

    def disk_full_hit(self, letter: str) -> None:
        """Record that a write failed on a volume made full by a fault (once per volume)."""
        for spec in self.specs:
            if str(spec.get("disk_full", "")).rstrip(":\\").upper() == letter.upper():
                if not any(f["fault"] == spec for f in self.fired):
                    self._record(spec, volume=letter.upper() + ":")

    def virtualization_disabled(self) -> bool:
        return any(s.get("virtualization_disabled") for s in self.specs)

    def unfired(self) -> list[dict[str, Any]]:
        """Specs that never fired (a test asserts this is empty)."""
        fired = [f["fault"] for f in self.fired]
        return [s for s in self.specs if s not in fired]

    # -- persistence ------------------------------------------------------------------------
    def to_json(self) -> dict[str, Any]:
        return {
            "specs": self.specs,
            "step_calls": self.step_calls,
            "commands": self.commands,
            "fired": self.fired,
        }

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> FaultPlan:
        return cls(
            specs=list(raw.get("specs", [])),
            step_calls=dict(raw.get("step_calls", {})),
            commands=int(raw.get("commands", 0)),
            fired=list(raw.get("fired", [])),
        )
