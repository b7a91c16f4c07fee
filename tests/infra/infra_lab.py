"""Pure helpers of the tests/infra conftest: pyinfra inventory files, targets, redaction.

Kept out of ``conftest.py`` so they can be imported and unit-tested (``test_infra_helpers.py``).
"""

from __future__ import annotations

import os
import runpy
import sys
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pyinfra.api import HiddenValue

REPO = Path(__file__).resolve().parents[2]
SIM_PREFIX = "@winsim/"


# --------------------------------------------------------------------------------------------
# Inventory (pyinfra's file format, read without pyinfra state)
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class InventoryHost:
    name: str
    data: dict[str, Any]
    groups: tuple[str, ...]


def load_inventory(path: Path) -> list[InventoryHost]:
    """Hosts of a pyinfra inventory file: every module-level list/tuple not starting with ``_``
    is a group, ``[hosts]`` or ``([hosts], {group data})``; a host is ``"name"`` or
    ``("name", {data})``; host data overrides group data (pyinfra_cli/inventory.py)."""
    if not path.is_file():
        raise FileNotFoundError(f"inventory {path} does not exist")
    cwd = os.getcwd()
    sys.path.insert(0, str(REPO))
    try:
        os.chdir(REPO)
        namespace = runpy.run_path(str(path))
    finally:
        os.chdir(cwd)
        sys.path.remove(str(REPO))
    hosts: dict[str, tuple[dict[str, Any], dict[str, Any], list[str]]] = {}
    for group_name, value in namespace.items():
        if group_name.startswith("_") or not isinstance(value, (list, tuple)):
            continue
        group_data: dict[str, Any] = {}
        members: Any = value
        if isinstance(value, tuple) and len(value) == 2 and isinstance(value[1], dict):
            members, group_data = value
        if not isinstance(members, (list, tuple)):
            continue
        for entry in members:
            if isinstance(entry, str):
                name, data = entry, {}
            elif isinstance(entry, tuple) and len(entry) == 2 and isinstance(entry[0], str):
                name, data = entry[0], dict(entry[1] or {})
            else:
                continue
            gdata, hdata, groups = hosts.setdefault(name, ({}, {}, []))
            gdata.update(group_data)
            hdata.update(data)
            groups.append(group_name)
    return [InventoryHost(n, {**g, **h}, tuple(gr)) for n, (g, h, gr) in hosts.items()]


def match_inventory_host(hostname: str, inventory: list[InventoryHost]) -> InventoryHost | None:
    wanted = hostname.lower()
    for inv in inventory:
        bare = inv.name.split("/", 1)[1] if inv.name.startswith("@") and "/" in inv.name else inv.name
        candidates = {bare.lower(), str(inv.data.get("winrm_hostname") or "").lower()}
        if wanted in candidates:
            return inv
    short = wanted.split(".", 1)[0]
    matches = [inv for inv in inventory if inv.name.split("/", 1)[-1].lower().split(".", 1)[0] == short]
    return matches[0] if len(matches) == 1 else None


@dataclass(frozen=True)
class InfraTarget:
    """One host the suite checks: simulated (``@winsim/<name>``) or real (a ``--hosts`` URL)."""

    id: str
    simulated: bool
    inventory_host: InventoryHost | None
    url: str | None = field(default=None, repr=False)  # real hosts only; holds the password

    @property
    def name(self) -> str:
        return self.inventory_host.name if self.inventory_host else self.id

    @property
    def sim_name(self) -> str:
        return self.name.removeprefix(SIM_PREFIX)


def url_id(url: str) -> str:
    """``winrm://host:port`` without the user and password (a pytest id is printed)."""
    parsed = urllib.parse.urlsplit(url)
    netloc = parsed.netloc.rsplit("@", 1)[-1]
    return f"{parsed.scheme}://{netloc}"


def inventory_secrets(inventory: list[InventoryHost]) -> list[str]:
    found: list[str] = []
    for inv in inventory:
        for key, value in inv.data.items():
            if "password" in key and isinstance(value, HiddenValue):
                value = value.unmask()  # inventories mask passwords (winfra.inventory.Secret)
            if "password" in key and isinstance(value, str) and value:
                found.append(value)
    return found


def redact(text: str, secrets: list[str]) -> str:
    for secret in sorted(set(secrets), key=len, reverse=True):
        text = text.replace(secret, "********")
    return text
