"""The batched host-state fact every cheap fact is a view of.

All cheap facts render the same ``get_host_state`` invocation. The connector caches read-mode
script results for the run (dropping the cache on any state-changing command), so however many
of these facts an operation asks for, the host pays one round trip and one powershell.exe per
state change (docs/ARCHITECTURE.md "Facts and the round-trip budget").
"""

from __future__ import annotations

import json
from typing import Any, Generic, TypeVar

from pyinfra.api import FactBase
from pyinfra.api.exceptions import FactProcessError

from winfra.powershell.scripts import render_script

T = TypeVar("T")


def parse_json_output(output: list[str], fact_name: str) -> Any:
    """Parse a script's stdout lines as one JSON document, with a clear error otherwise."""
    text = "\n".join(output).strip()
    if not text:
        raise FactProcessError(f"{fact_name}: the script printed nothing")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise FactProcessError(f"{fact_name}: the script did not print JSON ({exc}): {text[:200]!r}") from exc


class JsonScriptFact(FactBase[T], Generic[T]):
    """Base of the facts that run their own read script and return its JSON document as is."""

    abstract = True

    def process(self, output: list[str]) -> T:
        return parse_json_output(output, type(self).__name__)


class HostStateFact(FactBase[T], Generic[T]):
    """Base of the facts that are one section of ``get_host_state``'s output."""

    abstract = True
    # The section of get_host_state's output this fact reads.
    section: str = ""

    def command(self) -> str:
        return render_script("get_host_state", {})

    def process(self, output: list[str]) -> T:
        data = parse_json_output(output, type(self).__name__)
        return self.process_section(data.get(self.section))

    def process_section(self, section: Any) -> T:
        """This fact's value from its section of the output (None when the section is missing)."""
        return section


class HostState(HostStateFact[dict]):
    """The whole batched host state (every section), for callers that want all of it."""

    def process(self, output: list[str]) -> dict:
        return parse_json_output(output, "HostState")
