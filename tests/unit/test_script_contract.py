"""Every shipped script keeps the script contract (docs/ARCHITECTURE.md "Scripts").

* UTF-8 without BOM, parses with tree-sitter-pwsh;
* comment-based help with .SYNOPSIS, .DESCRIPTION and .NOTES holding the winfra-mode line;
* ``[CmdletBinding()]`` and the single ``$InputJson`` parameter;
* a simulator counterpart ``winfra/sim/scripts/<name>.py`` exposing ``run`` or ``run_stream``.
"""

from __future__ import annotations

import importlib
import re

import pytest

from winfra.powershell.scripts import SCRIPTS_DIR, all_scripts, load_script, render_script
from winfra.powershell.syntax import syntax_errors

SCRIPT_NAMES = sorted(p.stem for p in SCRIPTS_DIR.glob("*.ps1"))


def test_there_are_scripts() -> None:
    assert len(SCRIPT_NAMES) >= 10
    assert {s.name for s in all_scripts()} == set(SCRIPT_NAMES)


@pytest.mark.parametrize("name", SCRIPT_NAMES)
def test_script_encoding_and_syntax(name: str) -> None:
    raw = (SCRIPTS_DIR / f"{name}.ps1").read_bytes()
    assert not raw.startswith(b"\xef\xbb\xbf"), "scripts are UTF-8 without BOM"
    text = raw.decode("utf-8")
    assert syntax_errors(text) == []


@pytest.mark.parametrize("name", SCRIPT_NAMES)
def test_script_help_and_parameters(name: str) -> None:
    script = load_script(name)
    help_block = re.search(r"<#(.*?)#>", script.text, re.S)
    assert help_block, "comment-based help is missing"
    for section in (".SYNOPSIS", ".DESCRIPTION", ".NOTES"):
        assert section in help_block.group(1), f"comment-based help lacks {section}"
    assert "winfra-mode:" in help_block.group(1)
    assert re.search(r"^\[CmdletBinding\(\)\]\s*$", script.text, re.M)
    assert re.search(r"\[Parameter\(Mandatory = \$true\)\]\s*\[string\]\s*\$InputJson", script.text)


@pytest.mark.parametrize("name", SCRIPT_NAMES)
def test_script_has_simulator_counterpart(name: str) -> None:
    module = importlib.import_module(f"winfra.sim.scripts.{name}")
    assert callable(getattr(module, "run", None)) or callable(getattr(module, "run_stream", None)), (
        f"winfra/sim/scripts/{name}.py must implement run(call) or run_stream(call, ...)"
    )


@pytest.mark.parametrize("name", SCRIPT_NAMES)
def test_rendered_invocation_parses(name: str) -> None:
    hostile = {"value": "it's $(Remove-Item C:\\) `n \u2019; exit 1 #", "list": ["a'b", "\u00e9"]}
    assert syntax_errors(render_script(name, hostile)) == []
