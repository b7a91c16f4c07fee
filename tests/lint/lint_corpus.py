"""Shared helpers for the lint tests: the corpus folders and their header conventions.

A corpus script may start with comment lines the tests read (the linter itself ignores them):

* ``# expect: <rule> <line> <command>``: a violation the script must produce (one line each);
* ``# lint-contract: json`` / ``human``: lint as a JSON-contract script or as a human-run one
  (default: good corpus ``json`` unless under ``human/``; bad corpus ``human``).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
GOOD = HERE / "corpus" / "good"
BAD = HERE / "corpus" / "bad"
REPO = HERE.parent.parent
FIXTURE_ROOTS = [REPO / "tests" / "fixtures" / "facts", REPO / "tests" / "fixtures" / "operations"]

_EXPECT_RE = re.compile(r"^# expect: (?P<rule>[a-z0-9-]+) (?P<line>\d+) (?P<command>.+?)\s*$", re.MULTILINE)
_CONTRACT_RE = re.compile(r"^# lint-contract: (json|human)\s*$", re.MULTILINE)


@dataclass(frozen=True)
class Expected:
    rule: str
    line: int
    command: str


def expectations(text: str) -> list[Expected]:
    return [Expected(m["rule"], int(m["line"]), m["command"]) for m in _EXPECT_RE.finditer(text)]


def contract(path: Path, text: str, default: bool) -> bool:
    match = _CONTRACT_RE.search(text)
    if match:
        return match.group(1) == "json"
    return default


def good_scripts() -> list[Path]:
    return sorted(GOOD.rglob("*.ps1"))


def bad_scripts() -> list[Path]:
    return sorted(BAD.rglob("*.ps1"))


def fixture_commands() -> list[tuple[str, str]]:
    """(label, command) from every fixture JSON under tests/fixtures/{facts,operations}."""
    from winfra.scripts.lint import fixture_commands as collect

    out: list[tuple[str, str]] = []
    for root in FIXTURE_ROOTS:
        if root.is_dir():
            out.extend(
                (str(Path(label).relative_to(REPO)) if label.startswith(str(REPO)) else label, cmd)
                for label, cmd in collect(root)
            )
    return out


def fixture_files() -> list[Path]:
    files: list[Path] = []
    for root in FIXTURE_ROOTS:
        if root.is_dir():
            files.extend(sorted(root.rglob("*.json")))
    return files


def load_json(path: Path) -> object:
    return json.loads(path.read_text(encoding="utf-8"))
