"""Windows path spelling, for comparing paths on the controller.

Windows accepts ``/`` as a separator, prefixes long paths with ``\\\\?\\`` (the registry's
``BasePath`` of a WSL distro may carry it, windows-facts A.5) and compares paths without
regard to case, so two spellings of one directory must compare equal before winfra decides that
nothing needs to change.
"""

from __future__ import annotations

LONG_PATH_PREFIX = "\\\\?\\"


def clean_windows_path(path: str) -> str:
    """``path`` stripped, with backslashes only and without the ``\\\\?\\`` long-path prefix."""
    cleaned = path.strip().replace("/", "\\")
    return cleaned.removeprefix(LONG_PATH_PREFIX)


def normalize_windows_path(path: str | None) -> str:
    """Path for comparisons: cleaned, no trailing backslash, lower case; "" for no path."""
    if not path:
        return ""
    return clean_windows_path(path).rstrip("\\").lower()
