"""What the pyinfra-style fixture tests of the facts and operations share.

* :class:`State`: pyinfra-testing's FakeState without its Inventory (building one loads every
  registered connector entry point, which would tie these pure tests to the connectors' imports).
* :func:`rendered_script`: a command rendered by ``render_script`` as it appears in a fixture,
  ``{"script": name, "params": {...}}``, after checking the text is exactly that rendering.
"""

from __future__ import annotations

import json
from typing import Any

from pyinfra.api import Config
from pyinfra_testing.util import FakeState

from winfra.powershell.quoting import ps_unquote
from winfra.powershell.scripts import parse_header, render_script


class State(FakeState):
    """FakeState without an Inventory."""

    def __init__(self) -> None:
        self.inventory = None
        self.config = Config()


def rendered_script(text: str) -> dict[str, Any] | None:
    """``{"script", "params"}`` for a rendered script invocation, or None for any other command."""
    header = parse_header(text)
    if header is None:
        return None
    params = json.loads(ps_unquote(text.rsplit("} -InputJson ", 1)[1]))
    # The text is exactly what render_script makes of these params (no other formatting).
    assert text == render_script(header.name, params)
    return {"script": header.name, "params": params}
