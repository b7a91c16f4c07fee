"""Rendering the Jinja2 templates winfra ships (``templates/``) or a deploy brings.

A relative template path is looked up in the caller's directories, then the current directory,
then the repository root, so ``templates/wslconfig.j2`` works from any working directory.
Undefined variables are errors (StrictUndefined): a typo in a template must not render an empty
setting into a config file.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import jinja2

REPO_ROOT = Path(__file__).resolve().parent.parent


def find_template(template: str | Path, search_dirs: Iterable[str | Path] = ()) -> Path:
    """The template file; raises :class:`FileNotFoundError` naming every place looked in."""
    path = Path(template)
    if path.is_absolute():
        if path.is_file():
            return path
        raise FileNotFoundError(f"template {path} does not exist")
    candidates = [Path(d) / path for d in search_dirs] + [Path.cwd() / path, REPO_ROOT / path]
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    tried = ", ".join(str(c) for c in candidates)
    raise FileNotFoundError(f"template {path} not found (looked in {tried})")


@functools.cache
def _environment(directory: str) -> jinja2.Environment:
    # One environment per template directory, so each template is compiled once per process and
    # not once per host: Jinja2 caches compiled templates per environment and recompiles one
    # whose file changed (auto_reload, the default).
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(directory),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,
    )


def render_template(path: Path, variables: dict[str, Any]) -> str:
    """Render the template file ``path`` with ``variables`` (no HTML escaping, newline kept)."""
    return _environment(str(path.parent)).get_template(path.name).render(**variables)
