"""The tree-sitter-pwsh syntax gate (testing-without-windows.md §f).

tree-sitter-pwsh 0.38.1 flags broken quotes, braces, here-strings and pipes. It does not check
command or parameter names (that is `winfra.scripts.lint`), and a script nested inside a string
argument is invisible to it, so inner scripts are parsed before they are encoded.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import tree_sitter_pwsh
from tree_sitter import Language, Parser, Tree


@cache
def parser() -> Parser:
    return Parser(Language(tree_sitter_pwsh.language()))


def parse(source: str) -> Tree:
    return parser().parse(source.encode("utf-8"))


@dataclass(frozen=True)
class SyntaxProblem:
    kind: str  # "ERROR" or "MISSING <type>"
    line: int  # 1-based
    column: int  # 1-based
    text: str

    def __str__(self) -> str:
        return f"{self.line}:{self.column}: {self.kind} near {self.text!r}"


def syntax_errors(source: str) -> list[SyntaxProblem]:
    """Every ERROR or MISSING node in ``source``; empty when it parses cleanly."""
    tree = parse(source)
    if not tree.root_node.has_error:
        return []
    problems: list[SyntaxProblem] = []
    stack = [tree.root_node]
    while stack:
        node = stack.pop()
        if node.is_error or node.is_missing:
            kind = "ERROR" if node.is_error else f"MISSING {node.type}"
            text = (node.text or b"").decode("utf-8", errors="replace")[:40]
            problems.append(SyntaxProblem(kind, node.start_point[0] + 1, node.start_point[1] + 1, text))
        if node.has_error:
            stack.extend(node.children)
    return sorted(problems, key=lambda p: (p.line, p.column))
