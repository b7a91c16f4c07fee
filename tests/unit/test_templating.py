"""winfra.templating: lookup, strict rendering, and a template cache that never serves a stale file."""

from __future__ import annotations

import os
from pathlib import Path

import jinja2
import pytest

from winfra.templating import find_template, render_template


def test_renders_with_strict_undefined_and_keeps_the_trailing_newline(tmp_path: Path) -> None:
    path = tmp_path / "t.j2"
    path.write_text("a={{ a }}\n", "utf-8")
    assert render_template(path, {"a": "<x>"}) == "a=<x>\n"
    with pytest.raises(jinja2.UndefinedError):
        render_template(path, {})


def test_an_edited_template_is_rendered_anew(tmp_path: Path) -> None:
    path = tmp_path / "t.j2"
    path.write_text("one {{ v }}", "utf-8")
    assert render_template(path, {"v": 1}) == "one 1"
    path.write_text("two {{ v }}", "utf-8")
    # Jinja2 compares the file's mtime with the compiled template's; make the edit visible to it.
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 2_000_000_000))
    assert render_template(path, {"v": 2}) == "two 2"


def test_find_template_names_every_place_it_looked(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=str(tmp_path)):
        find_template("missing.j2", [tmp_path])
    assert find_template("templates/daemon.json.j2").name == "daemon.json.j2"
