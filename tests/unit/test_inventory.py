"""winfra.inventory (YAML host files) and inventories/lab.py, inventories/sim.py."""

from __future__ import annotations

import json
import os
import runpy
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from winfra.deploy_settings import SettingsError, settings_for
from winfra.inventory import (
    InventoryError,
    load_yaml_inventory,
    merge_groups,
    user_password_variable,
)

REPO = Path(__file__).resolve().parents[2]
INVENTORIES = REPO / "inventories"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "lab.yml"
    path.write_text(text, encoding="utf-8")
    return path


def error(tmp_path: Path, text: str) -> str:
    path = write(tmp_path, text)
    with pytest.raises(InventoryError) as info:
        load_yaml_inventory(path)
    message = str(info.value)
    assert str(path) in message
    return message


def test_example_file_loads() -> None:
    groups = load_yaml_inventory(INVENTORIES / "lab.example.yml")
    assert list(groups) == ["devboxes", "container_hosts", "windows11"]
    dev = dict(groups["devboxes"])
    assert list(dev) == ["@winrm/dev3.example.lab", "@winrm/dev4.example.lab"]
    assert dev["@winrm/dev3.example.lab"]["wsl_relocations"] == {"Ubuntu-24.04": "E:\\WSL\\Ubuntu-24.04"}
    assert dev["@winrm/dev3.example.lab"]["winrm_transport"] == "ntlm"  # all.vars
    assert dev["@winrm/dev4.example.lab"]["winfra_role"] == "devbox"  # group vars
    ctr = dict(groups["container_hosts"])
    assert ctr["@winrm/ctr3.example.lab"]["docker_daemon_config"]["data-root"] == "D:\\docker"
    # A host in two groups carries the same complete data in both.
    assert groups["windows11"] == [("@winrm/dev3.example.lab", dev["@winrm/dev3.example.lab"])]


def test_precedence_host_vars_beat_every_group(tmp_path: Path) -> None:
    groups = load_yaml_inventory(
        write(
            tmp_path,
            """
all:
  vars: {winrm_port: 1, a: all}
g1:
  vars: {a: g1, b: g1}
  hosts:
    h1.lab: {a: host}
g2:
  vars: {a: g2, b: g2, c: g2}
  hosts: [h1.lab, "@winsim/devbox11"]
""",
        )
    )
    (h1_g1,) = groups["g1"]
    assert h1_g1 == ("@winrm/h1.lab", {"winrm_port": 1, "a": "host", "b": "g2", "c": "g2"})
    assert groups["g2"][0] == h1_g1
    assert groups["g2"][1] == ("@winsim/devbox11", {"winrm_port": 1, "a": "g2", "b": "g2", "c": "g2"})


def test_empty_file_and_empty_group(tmp_path: Path) -> None:
    assert load_yaml_inventory(write(tmp_path, "# nothing\n")) == {}
    assert load_yaml_inventory(write(tmp_path, "devboxes:\n")) == {"devboxes": []}


def test_duplicate_key_names_line(tmp_path: Path) -> None:
    msg = error(tmp_path, "devboxes:\n  hosts:\n    h1.lab:\n      a: 1\n      a: 2\n")
    assert ":5: duplicate key 'a' (first on line 4)" in msg


def test_password_refused_without_echo(tmp_path: Path) -> None:
    msg = error(tmp_path, "devboxes:\n  hosts:\n    h1.lab:\n      winfra_user_password: hunter2-secret\n")
    assert "host 'h1.lab'" in msg and "'winfra_user_password'" in msg and "environment variable" in msg
    assert "hunter2-secret" not in msg
    msg = error(tmp_path, "all:\n  vars:\n    winrm_password: hunter2-secret\n")
    assert "all.vars" in msg and "hunter2-secret" not in msg


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("- a\n- b\n", "top level must be a mapping"),
        ("all:\n  hosts: {h.lab: }\n", "group 'all' may only contain 'vars'"),
        ("bad-name:\n  hosts: {h.lab: }\n", "group name 'bad-name'"),
        ("g:\n  host: {h.lab: }\n", "group 'g': unknown key(s) host"),
        ("g: [h.lab]\n", "group 'g' must be a mapping"),
        ("g:\n  hosts: {'bad host': }\n", "'bad host' is not a valid host name"),
        ("g:\n  hosts: {h.lab: [1, 2]}\n", "host 'h.lab': vars must be a mapping"),
        ("g:\n  hosts: {h.lab: {bad-key: 1}}\n", "host 'h.lab': key 'bad-key' is not a valid host-data name"),
        ("g:\n  vars: {x y: 1}\n", "group 'g' vars: key 'x y'"),
        ("g:\n  hosts: [h.lab, [x]]\n", "hosts as a list must be host names only"),
        ("g: {hosts: {h.lab: {a: [}}\n", "not valid YAML"),
    ],
)
def test_validation_errors(tmp_path: Path, text: str, expected: str) -> None:
    assert expected in error(tmp_path, text)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InventoryError, match="cannot read the inventory file"):
        load_yaml_inventory(tmp_path / "absent.yml")


def test_merge_groups_keeps_shape_and_refuses_duplicates() -> None:
    python = {"devboxes": ([("@winrm/a", {"x": 1})], {"winfra_role": "devbox"}), "other": ["@winrm/b"]}
    merged = merge_groups(python, {"devboxes": [("@winrm/c", {})], "other": [("@winrm/d", {})], "new": []})
    assert merged["devboxes"] == ([("@winrm/a", {"x": 1}), ("@winrm/c", {})], {"winfra_role": "devbox"})
    assert merged["other"] == ["@winrm/b", ("@winrm/d", {})]
    assert merged["new"] == []
    with pytest.raises(InventoryError, match="@winrm/a in YAML group 'devboxes' are already defined"):
        merge_groups(python, {"devboxes": [("@winrm/a", {})]})


def test_user_password_variable() -> None:
    assert user_password_variable("alice") == "WINFRA_USER_PASSWORD_ALICE"
    assert user_password_variable(".\\alice") == "WINFRA_USER_PASSWORD_ALICE"
    assert user_password_variable("CORP\\bob.smith") == "WINFRA_USER_PASSWORD_CORP_BOB_SMITH"


# --- inventories/lab.py ---------------------------------------------------------------------------


def _is_group(key: str, value: Any) -> bool:
    """pyinfra_cli.inventory._is_inventory_group's rule (3.10): no leading underscore, a list of
    hosts or a (hosts, data) tuple, every host a str or a (name, data) tuple.

    Importing pyinfra_cli here would gevent-monkey-patch the whole test process (its package
    __init__ calls monkey.patch_all()), so the rule is restated and checked against pyinfra's
    own predicate in a subprocess by test_group_rule_matches_pyinfra.
    """
    if key.startswith("_"):
        return False
    if isinstance(value, tuple):
        value = value[0]
    if not isinstance(value, list):
        return False
    return all(isinstance(host, (str, tuple)) for host in value)


def groups_of(module_globals: dict[str, Any]) -> dict[str, Any]:
    """The groups pyinfra would read from a Python inventory module."""
    return {k: v for k, v in module_globals.items() if _is_group(k, v)}


def test_group_rule_matches_pyinfra() -> None:
    probe = (
        "import json, runpy, sys\n"
        "from pyinfra_cli.inventory import _is_inventory_group\n"
        "out = {}\n"
        "for path in sys.argv[1:]:\n"
        "    g = runpy.run_path(path)\n"
        "    out[path] = sorted(k for k, v in g.items() if _is_inventory_group(k, v))\n"
        "print(json.dumps(out))\n"
    )
    paths = [str(INVENTORIES / "lab.py"), str(INVENTORIES / "sim.py")]
    result = subprocess.run(
        [sys.executable, "-c", probe, *paths],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "WINFRA_WINRM_PASSWORD": "x"},
    )
    theirs = json.loads(result.stdout.strip().splitlines()[-1])
    for path in paths:
        ours = sorted(groups_of(runpy.run_path(path)))
        assert ours == theirs[path]


def hosts_of(group: Any) -> list[tuple[str, dict[str, Any]]]:
    hosts = group[0] if isinstance(group, tuple) else group
    return [h if isinstance(h, tuple) else (h, {}) for h in hosts]


def host_data(group: Any, entry: tuple[str, dict[str, Any]]) -> dict[str, Any]:
    data = dict(group[1]) if isinstance(group, tuple) else {}
    data.update(entry[1])
    return data


def test_lab_inventory_secrets_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WINFRA_WINRM_PASSWORD", "conn-secret")
    monkeypatch.setenv("WINFRA_USER_PASSWORD_ALICE", "alice-secret")
    monkeypatch.delenv("WINFRA_USER_PASSWORD_BOB", raising=False)
    monkeypatch.delenv("WINFRA_WINRM_USER", raising=False)
    groups = groups_of(runpy.run_path(str(INVENTORIES / "lab.py")))
    assert set(groups) == {"devboxes", "container_hosts"}
    dev = dict(hosts_of(groups["devboxes"]))
    assert set(dev) == {"@winrm/dev1.example.lab", "@winrm/dev2.example.lab"}
    # Passwords are masked Secrets: pyinfra prints and serialises them as *MASKED*.
    assert dev["@winrm/dev1.example.lab"]["winrm_password"].unmask() == "conn-secret"
    assert dev["@winrm/dev1.example.lab"]["winfra_user_password"].unmask() == "alice-secret"
    assert "conn-secret" not in f"{dev['@winrm/dev1.example.lab']}"
    assert dev["@winrm/dev2.example.lab"]["winfra_user_password"] is None
    assert dev["@winrm/dev1.example.lab"]["winrm_ca_trust_path"].endswith("inventories/certs/dev1.cer")
    # No secret literal in the file itself.
    source = (INVENTORIES / "lab.py").read_text(encoding="utf-8")
    assert "conn-secret" not in source and '"winrm_password": "' not in source


def test_lab_inventory_only_fails_on_the_sha256_placeholders(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every lab host's data is valid except the marked sha256 placeholders the user must fill."""
    monkeypatch.setenv("WINFRA_WINRM_PASSWORD", "x")
    monkeypatch.setenv("WINFRA_USER_PASSWORD_ALICE", "x")
    monkeypatch.setenv("WINFRA_USER_PASSWORD_BOB", "x")
    groups = groups_of(runpy.run_path(str(INVENTORIES / "lab.py")))
    seen = 0
    for group_name, group in groups.items():
        for entry in hosts_of(group):
            with pytest.raises(SettingsError) as info:
                settings_for(entry[0], host_data(group, entry), [group_name])
            assert all("sha256" in p and "REPLACE" in p for p in info.value.problems), info.value.problems
            seen += 1
    assert seen == 4


def test_lab_inventory_merges_yaml(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Run a copy of lab.py next to a lab.yml built from the example.
    shutil.copy(INVENTORIES / "lab.py", tmp_path / "lab.py")
    shutil.copy(INVENTORIES / "lab.example.yml", tmp_path / "lab.yml")
    monkeypatch.setenv("WINFRA_USER_PASSWORD_CAROL", "carol-secret")
    monkeypatch.setenv("WINFRA_WINRM_PASSWORD", "admin-secret")
    groups = groups_of(runpy.run_path(str(tmp_path / "lab.py")))
    assert set(groups) == {"devboxes", "container_hosts", "windows11"}
    dev = dict(hosts_of(groups["devboxes"]))
    assert "@winrm/dev3.example.lab" in dev and "@winrm/dev1.example.lab" in dev
    dev3 = host_data(groups["devboxes"], ("@winrm/dev3.example.lab", dev["@winrm/dev3.example.lab"]))
    assert dev3["winfra_user_password"].unmask() == "carol-secret"
    assert dev3["winrm_scheme"] == "https" and dev3["winrm_ca_trust_path"].endswith("certs/dev3.cer")
    assert dev3["wsl_settings"] == {"wsl2": {"memory": "16GB", "processors": 8}}  # host beats group
    assert dev3["docker_desktop_version"]  # group data from lab.py applies to YAML hosts
    ctr = dict(hosts_of(groups["container_hosts"]))
    ctr3 = host_data(groups["container_hosts"], ("@winrm/ctr3.example.lab", ctr["@winrm/ctr3.example.lab"]))
    # A pinned thumbprint replaces the exported certificate, and the connector accepts the pair.
    assert ctr3["winrm_cert_thumbprint"] == "3F2A9C0D41B7E65F08C9A1D2E3F4051627384950"
    assert "winrm_ca_trust_path" not in ctr3
    from pyinfra.api import Config, Inventory, State

    inventory = Inventory(([("@winrm/ctr3.example.lab", ctr3)], {}))
    State(inventory, Config())
    settings = next(iter(inventory)).connector.settings()
    assert settings["cert_thumbprint"] == "3f2a9c0d41b7e65f08c9a1d2e3f4051627384950"


# --- inventories/sim.py ---------------------------------------------------------------------------


def test_sim_inventory_hosts_and_settings() -> None:
    groups = groups_of(runpy.run_path(str(INVENTORIES / "sim.py")))
    names = {entry[0] for group in groups.values() for entry in hosts_of(group)}
    assert {"@winsim/devbox11", "@winsim/devbox10", "@winsim/ctr2022", "@winsim/ctr2025"} <= names
    for group_name, group in groups.items():
        if group_name not in ("devboxes", "container_hosts"):
            continue
        for entry in hosts_of(group):
            data = host_data(group, entry)
            assert data["winsim_profile"]
            settings = settings_for(entry[0], data, [group_name])
            assert settings.role == data["winfra_role"]
            if settings.role == "container_host":
                assert settings.engine_version and settings.engine_sha256
    dev11 = dict(hosts_of(groups["devboxes"]))["@winsim/devbox11"]
    data = host_data(groups["devboxes"], ("@winsim/devbox11", dev11))
    s = settings_for("@winsim/devbox11", data, ["devboxes"])
    assert s.wsl_relocations and all(v.upper().startswith("D:") for v in s.wsl_relocations.values())
    assert s.wsl_settings
    docker_model = pytest.importorskip("winfra.sim.models.docker")
    import hashlib

    ctr = settings_for(
        "@winsim/ctr2022", host_data(groups["container_hosts"], hosts_of(groups["container_hosts"])[0]), []
    )
    # The pinned digest is the digest of the bytes the simulator serves, not a placeholder.
    assert ctr.sim_placeholders == ()
    assert ctr.engine_sha256 == hashlib.sha256(docker_model.engine_zip(ctr.engine_version or "")).hexdigest()
    ctr2025 = dict(hosts_of(groups["container_hosts"]))["@winsim/ctr2025"]
    s = settings_for(
        "@winsim/ctr2025", host_data(groups["container_hosts"], ("@winsim/ctr2025", ctr2025)), []
    )
    assert s.isolation == "hyperv" and "hyper-v" in s.features


def test_secret_is_masked_in_pyinfra_listings() -> None:
    import json

    from winfra.inventory import Secret

    secret = Secret("hunter2-secret")
    data = {"winrm_password": secret}
    # What debug-inventory does with host data (pyinfra_cli.util.json_encode falls back to to_json).
    listed = json.dumps(data, default=lambda o: o.to_json())
    assert "hunter2" not in listed and "*MASKED*" in listed
    assert "hunter2" not in f"{data} {data!r} {secret}"
    assert secret.unmask() == "hunter2-secret"
