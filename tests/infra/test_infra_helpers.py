"""Unit tests of the suite's pure helpers (tests/infra/infra_lab.py): inventory files, host
matching for ``--hosts``, test ids and redaction."""

from __future__ import annotations

from pathlib import Path

import pytest
from infra_lab import (
    REPO,
    InventoryHost,
    inventory_secrets,
    load_inventory,
    match_inventory_host,
    redact,
    url_id,
)


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "inventory.py"
    path.write_text(text)
    return path


def test_load_inventory_groups_and_precedence(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "_HIDDEN = ['@winrm/nope']\n"
        "_shared = {'docker_group': 'g1'}\n"
        "container_hosts = (\n"
        "    [('@winrm/a.lab', {'docker_group': 'host-wins'}), '@winrm/b.lab'],\n"
        "    dict(_shared, winfra_role='container_host'),\n"
        ")\n"
        "special = ['@winrm/b.lab']\n"
        "NOT_A_GROUP = 'text'\n",
    )
    hosts = {h.name: h for h in load_inventory(path)}
    assert set(hosts) == {"@winrm/a.lab", "@winrm/b.lab"}
    assert hosts["@winrm/a.lab"].data == {"docker_group": "host-wins", "winfra_role": "container_host"}
    assert hosts["@winrm/b.lab"].data == {"docker_group": "g1", "winfra_role": "container_host"}
    assert hosts["@winrm/b.lab"].groups == ("container_hosts", "special")
    with pytest.raises(FileNotFoundError):
        load_inventory(tmp_path / "missing.py")


def test_sim_inventory_lists_simulated_hosts() -> None:
    hosts = load_inventory(REPO / "inventories" / "sim.py")
    sim = [h for h in hosts if h.name.startswith("@winsim/")]
    assert sim, "inventories/sim.py has no @winsim/<name> host"
    assert all(h.data.get("winsim_profile") for h in sim)


def test_match_inventory_host() -> None:
    inv = [
        InventoryHost("@winrm/devbox01.lab.example", {}, ()),
        InventoryHost("@winrm/ctr", {"winrm_hostname": "10.0.0.5"}, ()),
        InventoryHost("@winrm/web.a.example", {}, ()),
        InventoryHost("@winrm/web.b.example", {}, ()),
    ]
    assert match_inventory_host("DEVBOX01.lab.example", inv) is inv[0]
    assert match_inventory_host("devbox01", inv) is inv[0]  # short name, unique
    assert match_inventory_host("10.0.0.5", inv) is inv[1]  # winrm_hostname
    assert match_inventory_host("web", inv) is None  # ambiguous short name
    assert match_inventory_host("other", inv) is None


def test_url_id_drops_credentials() -> None:
    url = "winrm://LAB%5Cadmin:S3cr%40t@host.lab:5986?no_verify_ssl=true"
    assert url_id(url) == "winrm://host.lab:5986"


def test_redaction() -> None:
    inv = [InventoryHost("@winsim/x", {"winrm_password": "pw-1", "winfra_user_password": "pw-12"}, ())]
    secrets = inventory_secrets(inv)
    assert sorted(secrets) == ["pw-1", "pw-12"]
    assert redact("a pw-12 b pw-1 c", secrets) == "a ******** b ******** c"
