"""The contract of a script counterpart: ``winfra/sim/scripts/<name>.py`` for each
``winfra/scripts/<name>.ps1``.

A counterpart module exposes::

    def run(call: ScriptCall) -> Any

``run`` receives the parsed ``-InputJson`` parameters and returns the JSON-able value the real
script writes to stdout (the dispatcher serialises it the way ``ConvertTo-Json -Compress`` does).
It mutates ``call.host`` (the model) exactly as the real script would change Windows, and must
follow a sourced fact for every behaviour (cite it in the module).

Failures are raised, never printed:

* :class:`PowerShellError` for a terminating error (the real script's ``throw`` or a cmdlet
  error under ``$ErrorActionPreference = 'Stop'``): the dispatcher writes it as a CLIXML error
  record on stderr and exits 1, as ``powershell.exe -EncodedCommand`` does;
* :class:`ScriptExit` when the real script calls ``exit <code>`` after writing its JSON.

Before each external step that can fail on a real host (``dism.exe``, ``wsl.exe --export``, an
installer, a download) a counterpart calls ``call.step("<script>:<step>")``: that is where
declarative fault injection (host data ``winsim_faults``) hooks in, so a test can fail the Nth
call of that step, drop the connection, or fill a disk.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from winfra.sim.models.host import SimHost


class PowerShellError(Exception):
    """A terminating PowerShell error, rendered as an ErrorRecord on stderr (exit 1)."""

    def __init__(
        self,
        message: str,
        *,
        category: str = "NotSpecified",
        error_id: str = "RuntimeException",
        exit_code: int = 1,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.category = category
        self.error_id = error_id
        self.exit_code = exit_code


class ScriptExit(Exception):
    """The script wrote ``output`` (JSON-able, may be None) and then called ``exit <code>``."""

    def __init__(self, code: int, output: Any = None) -> None:
        super().__init__(f"exit {code}")
        self.code = code
        self.output = output


@dataclass
class ScriptCall:
    host: SimHost
    params: dict[str, Any]
    # The account the script runs as: the WinRM user, or the run-as target user.
    user: str
    elevated: bool
    # $WinfraStdin, when the command was given stdin.
    stdin: str | None = None
    # Set by the dispatcher: checks fault injection for a named step.
    step_hook: Callable[[str], None] | None = field(default=None, repr=False)
    # Extra stdout lines a script writes before its JSON (rare; e.g. a native tool's echo).
    extra_stdout: list[str] = field(default_factory=list)

    def step(self, name: str) -> None:
        if self.step_hook is not None:
            self.step_hook(name)
