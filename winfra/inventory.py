"""Inventory helpers: an Ansible-minded YAML host file for pyinfra Python inventories.

pyinfra 3 reads a Python inventory's module-level lists/tuples as groups: ``group = [hosts]`` or
``group = ([hosts], {group data})``, each host a name or ``(name, {host data})``
(pyinfra_cli/inventory.py ``_is_inventory_group`` and ``make_inventory_from_files``).
``inventories/lab.py`` keeps its groups in Python and merges in an optional YAML file,
so a lab can list its machines without writing Python::

    all:                      # optional: vars for every host of this file
      vars:
        winrm_transport: ntlm
    devboxes:                 # a group
      vars:                   # optional: group vars
        docker_desktop_version: "4.37.1"
      hosts:                  # host name -> host vars (or nothing)
        dev3.example.lab:
          winfra_user: carol
        dev4.example.lab:

A host name without a connector prefix becomes ``@winrm/<name>``. Vars merge as
all.vars < group vars < host vars into each host's data (pyinfra's own precedence for host data
over group data). Passwords are refused in the file: secrets come from environment variables
(see ``env_secret`` and inventories/lab.py).

Every error names the file and the group, host or key at fault (and the line, where the YAML
parser or a duplicate key gives one).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from pyinfra.api import HiddenValue

HostEntry = tuple[str, dict[str, Any]]

# Group names become Python names in pyinfra's inventory, host-data keys become attributes of
# host.data: both must be Python-style names.
_PYTHON_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# DNS names, IPv4 and IPv6 literals; anything with an explicit connector (@name/arg) is kept as is.
_HOST_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.\-:]*$")
_SECRET_KEY = re.compile(r"(password|passwd|secret|token)$", re.IGNORECASE)
_GROUP_KEYS = frozenset({"vars", "hosts"})
DEFAULT_CONNECTOR = "@winrm"


class InventoryError(ValueError):
    """A YAML inventory that cannot be used; the message names file, line, host and key."""


class _UniqueKeyLoader(yaml.SafeLoader):
    """SafeLoader that refuses duplicate mapping keys (PyYAML silently keeps the last one)."""


def _construct_mapping(
    loader: _UniqueKeyLoader, node: yaml.MappingNode, deep: bool = False
) -> dict[Any, Any]:
    seen: dict[Any, int] = {}
    for key_node, _value_node in node.value:
        key = loader.construct_object(key_node, deep=deep)
        try:
            hash(key)
        except TypeError:
            raise InventoryError(
                f"{loader.name}:{key_node.start_mark.line + 1}: a mapping key must be a plain value"
            ) from None
        if key in seen:
            raise InventoryError(
                f"{loader.name}:{key_node.start_mark.line + 1}: duplicate key {key!r} "
                f"(first on line {seen[key]}); remove one of them"
            )
        seen[key] = key_node.start_mark.line + 1
    return loader.construct_mapping_plain(node, deep=deep)


_UniqueKeyLoader.construct_mapping_plain = yaml.SafeLoader.construct_mapping  # type: ignore[attr-defined]
_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


class Secret(HiddenValue):
    """A password in host data: masked wherever pyinfra prints or serialises host data.

    pyinfra masks a :class:`HiddenValue` in its printed output, and ``debug-inventory`` (JSON)
    serialises values it does not know through their ``to_json()``: without it a password would
    either be printed in clear (as a plain str) or crash the listing. The connector and
    ``winfra.target_user`` unmask it where the password is used.
    """

    def to_json(self) -> str:
        return str(self.masked_value)


def env_password(variable: str) -> Secret | None:
    """The password in environment variable ``variable`` as a :class:`Secret`, or None when unset."""
    value = env_secret(variable)
    return Secret(value) if value else None


def env_secret(variable: str) -> str | None:
    """The value of environment variable ``variable``, or None when unset or empty.

    Secrets never live in inventory files: the inventory reads them from the environment of the
    ``pyinfra`` process (export them from a password manager, CI secret store, ...).
    """
    value = os.environ.get(variable)
    return value or None


def user_password_variable(user: str) -> str:
    """Environment variable holding the password of target user ``user``.

    ``alice`` -> ``WINFRA_USER_PASSWORD_ALICE``;
    ``CORP\\bob.smith`` -> ``WINFRA_USER_PASSWORD_CORP_BOB_SMITH``.
    """
    return "WINFRA_USER_PASSWORD_" + re.sub(r"[^A-Za-z0-9]", "_", user.removeprefix(".\\")).upper()


def host_name(name: str) -> str:
    """Inventory name for a YAML host: ``@winrm/<name>`` unless it already names a connector."""
    return name if name.startswith("@") else f"{DEFAULT_CONNECTOR}/{name}"


def _check_vars(path: Path, where: str, raw: Any) -> dict[str, Any]:
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        raise InventoryError(
            f"{path}: {where}: vars must be a mapping of key: value, got {type(raw).__name__}"
        )
    result: dict[str, Any] = {}
    for key, value in raw.items():
        if not isinstance(key, str) or not _PYTHON_NAME.match(key):
            raise InventoryError(
                f"{path}: {where}: key {key!r} is not a valid host-data name (letters, digits, underscore)"
            )
        if _SECRET_KEY.search(key) and value is not None:
            # Never echo the value.
            raise InventoryError(
                f"{path}: {where}: key {key!r} holds a secret; secrets must not be stored in inventory "
                "files. "
                f"Fix: remove it and export it as an environment variable (inventories/lab.py reads "
                f"WINFRA_WINRM_PASSWORD and WINFRA_USER_PASSWORD_<USER>)"
            )
        result[key] = value
    return result


def load_yaml_inventory(path: str | os.PathLike[str]) -> dict[str, list[HostEntry]]:
    """Load an Ansible-minded YAML host file: ``{group: [(inventory name, host data), ...]}``.

    + path: the YAML file (``inventories/lab.yml``)

    Group ``all`` may only carry ``vars``; its vars apply to every host in the file. A host may
    appear in several groups; its data then merges in file order (pyinfra does the same).

    Example::

        for group, hosts in load_yaml_inventory("inventories/lab.yml").items():
            print(group, [name for name, _ in hosts])
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InventoryError(f"{path}: cannot read the inventory file: {exc.strerror or exc}") from exc
    loader = _UniqueKeyLoader(text)
    loader.name = str(path)
    try:
        document = loader.get_single_data()
    except yaml.YAMLError as exc:
        raise InventoryError(f"{path}: not valid YAML: {exc}") from exc
    finally:
        loader.dispose()

    if document is None:
        return {}
    if not isinstance(document, Mapping):
        raise InventoryError(
            f"{path}: the top level must be a mapping of group names, got {type(document).__name__}"
        )

    global_vars: dict[str, Any] = {}
    all_section = document.get("all")
    if all_section is not None:
        if not isinstance(all_section, Mapping) or set(all_section) - {"vars"}:
            raise InventoryError(
                f"{path}: group 'all' may only contain 'vars' (list hosts under a named group)"
            )
        global_vars = _check_vars(path, "all.vars", all_section.get("vars"))

    groups: dict[str, list[str]] = {}
    group_layers: dict[str, list[dict[str, Any]]] = {}
    host_layers: dict[str, list[dict[str, Any]]] = {}
    for group, section in document.items():
        if group == "all":
            continue
        if not isinstance(group, str) or not _PYTHON_NAME.match(group):
            raise InventoryError(
                f"{path}: group name {group!r} must be a Python-style name (letters, digits, underscore)"
            )
        if section is None:
            section = {}
        if not isinstance(section, Mapping):
            raise InventoryError(f"{path}: group {group!r} must be a mapping with 'vars' and/or 'hosts'")
        unknown = sorted(str(k) for k in section if k not in _GROUP_KEYS)
        if unknown:
            raise InventoryError(
                f"{path}: group {group!r}: unknown key(s) {', '.join(unknown)}; "
                "a group has only 'vars' and 'hosts' "
                "(host vars go under hosts: <name>:)"
            )
        group_vars = _check_vars(path, f"group {group!r} vars", section.get("vars"))
        hosts_raw = section.get("hosts") or {}
        if isinstance(hosts_raw, list):
            if not all(isinstance(h, str) for h in hosts_raw):
                raise InventoryError(f"{path}: group {group!r}: hosts as a list must be host names only")
            hosts_raw = dict.fromkeys(hosts_raw)
        if not isinstance(hosts_raw, Mapping):
            raise InventoryError(f"{path}: group {group!r}: hosts must be a mapping of host name -> vars")
        members: list[str] = []
        for name, host_vars in hosts_raw.items():
            if not isinstance(name, str) or not (name.startswith("@") or _HOST_NAME.match(name)):
                raise InventoryError(f"{path}: group {group!r}: {name!r} is not a valid host name")
            full = host_name(name)
            members.append(full)
            group_layers.setdefault(full, []).append(group_vars)
            host_layers.setdefault(full, []).append(
                _check_vars(path, f"group {group!r} host {name!r}", host_vars)
            )
        groups[group] = members

    # Ansible-like precedence for a host listed in several groups: all.vars < every group's vars
    # (file order) < every host-vars block (file order). Each group entry of the host carries the
    # same complete data, so pyinfra's per-entry merge cannot let group vars beat host vars.
    final: dict[str, dict[str, Any]] = {}
    for full, layers in group_layers.items():
        data = dict(global_vars)
        for layer in layers:
            data.update(layer)
        for layer in host_layers[full]:
            data.update(layer)
        final[full] = data
    return {group: [(full, dict(final[full])) for full in members] for group, members in groups.items()}


def merge_groups(python_groups: dict[str, Any], yaml_groups: Mapping[str, list[HostEntry]]) -> dict[str, Any]:
    """Add YAML hosts to Python inventory groups, keeping each group's ``(hosts, data)`` shape.

    A YAML host that the Python inventory already lists is an error (which definition would win
    is not obvious). Groups only in the YAML file are returned as plain host lists.
    """
    known: set[str] = set()
    for value in python_groups.values():
        hosts = value[0] if isinstance(value, tuple) else value
        known.update(h[0] if isinstance(h, tuple) else h for h in hosts)
    merged = dict(python_groups)
    for group, entries in yaml_groups.items():
        duplicates = sorted(name for name, _ in entries if name in known)
        if duplicates:
            raise InventoryError(
                f"host(s) {', '.join(duplicates)} in YAML group {group!r} are already defined in the Python "
                "inventory; define each host in one place"
            )
        current = merged.get(group)
        if current is None:
            merged[group] = list(entries)
        elif isinstance(current, tuple):
            merged[group] = (list(current[0]) + list(entries), current[1])
        else:
            merged[group] = list(current) + list(entries)
    return merged
