"""winfra.pyinfra_speedups: pyinfra's global-argument table, computed once, same answers."""

from __future__ import annotations

from typing import get_type_hints

import pytest
from pyinfra.api import arguments, facts

import winfra.connectors.winrm  # noqa: F401  (installs the cache, as pyinfra's loading does)
from winfra import pyinfra_speedups


def test_cached_table_is_pyinfras_own_and_each_caller_gets_a_fresh_list() -> None:
    expected = list(get_type_hints(arguments.AllArguments).items())
    first = arguments.all_global_arguments()
    assert first == expected and "_sudo" in dict(first)
    first.clear()  # a caller that mutates its list must not change anyone else's
    assert arguments.all_global_arguments() == expected
    assert facts.all_global_arguments is arguments.all_global_arguments


def test_install_is_idempotent() -> None:
    installed = arguments.all_global_arguments
    pyinfra_speedups.install()
    assert arguments.all_global_arguments is installed


def test_pop_global_arguments_still_pops_and_defaults() -> None:
    from pyinfra.api import Config, Inventory, State

    inventory = Inventory((["somehost"], {}))
    state = State(inventory, Config())
    host = inventory.get_host("somehost")
    kwargs = {"_sudo": True, "_timeout": 5, "other": 1}
    popped, found = arguments.pop_global_arguments(state, host, kwargs)
    assert popped["_sudo"] is True and popped["_timeout"] == 5 and popped["_su_user"] is None
    assert kwargs == {"other": 1} and set(found) == {"_sudo", "_timeout"}


def test_connector_table_is_pyinfras_own_and_a_fresh_dict() -> None:
    from pyinfra.api import connectors, inventory

    expected = connectors.get_all_connectors()
    first = inventory.get_all_connectors()
    assert first == expected and {"winrm", "winsim", "ssh", "local"} <= set(first)
    first.clear()
    assert inventory.get_all_connectors() == expected


def test_an_inventory_of_winrm_hosts_still_resolves_connectors_and_refuses_unknown_ones() -> None:
    from pyinfra.api import Inventory
    from pyinfra.api.exceptions import NoConnectorError

    inv = Inventory((["@winrm/a.example", "@winrm/b.example"], {}))
    assert [h.connector_cls.__name__ for h in inv] == ["WinRMConnector", "WinRMConnector"]
    with pytest.raises(NoConnectorError):
        Inventory((["@nosuchconnector/x"], {}))
