"""dockerd's daemon.json semantics in the simulator (winfra/sim/models/docker.py), checked against
the controller-side validator and against the PowerShell script the counterparts stand for."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from winfra.sim.models import docker as dm
from winfra.sim.models.host import SimHost, reset
from winfra.sim.scripting import ScriptCall
from winfra.sim.scripts import get_host_state
from winfra.validation.daemon_json import DaemonJsonContext, DaemonJsonError, validate

REPO = Path(__file__).resolve().parent.parent.parent


@pytest.fixture
def sim(tmp_path: Path) -> Any:
    host = SimHost.load("dockerd", profile="server2022", state_dir=tmp_path / "winsim")
    host.features.get("Containers").state = "Installed"
    yield host
    reset(tmp_path / "winsim")


def install(sim: Any, version: str, *flags: str) -> None:
    dm.install_engine_files(sim, version)
    dm.register_service(sim, dm.ENGINE_INSTALL_DIR + r"\dockerd.exe", ["--register-service", *flags])


def start_with(sim: Any, raw: bytes) -> str | None:
    sim.fs.write_bytes(dm.DAEMON_JSON, raw, make_parents=True)
    return dm.start_engine(sim, "docker")


def test_register_service_bakes_flags_into_image_path(sim: Any) -> None:
    install(sim, "27.3.1", "-H", "tcp://0.0.0.0:2375")
    svc = sim.services.get("docker")
    assert svc.image_path == '"C:\\Program Files\\Docker\\dockerd.exe" --run-service -H tcp://0.0.0.0:2375'
    assert svc.start_type == "Automatic" and svc.display_name == "Docker Engine"
    assert dm.service_binary_and_flags(svc.image_path) == (
        dm.ENGINE_INSTALL_DIR + r"\dockerd.exe",
        ["-H", "tcp://0.0.0.0:2375"],
    )
    with pytest.raises(RuntimeError, match="service docker already exists"):
        dm.register_service(sim, dm.ENGINE_INSTALL_DIR + r"\dockerd.exe", [])


@pytest.mark.parametrize(
    ("version", "raw", "error"),
    [
        ("20.10.24", b'\xef\xbb\xbf{"debug": true}', "invalid character 'ï' looking for beginning of value"),
        (
            "20.10.24",
            '{"debug": true}'.encode("utf-16"),
            "invalid character 'ÿ' looking for beginning of value",
        ),
        ("27.3.1", b'\xef\xbb\xbf{"debug": true}', None),
        ("27.3.1", '{"debug": true}'.encode("utf-16"), None),
        ("27.3.1", b"", "unexpected end of JSON input"),
        ("27.3.1", b'{"graph": "D:\\\\d"}', "don't match any configuration option: graph"),
        ("20.10.24", b'{"graph": "D:\\\\d"}', None),
        (
            "27.3.1",
            b'{"default-address-pools": [], "iptables": false}',
            "the following directives don't match any configuration option: default-address-pools, iptables",
        ),
        (
            "27.3.1",
            b'{"debug": "yes"}',
            "cannot unmarshal string into Go struct field Config.debug of type bool",
        ),
        (
            "27.3.1",
            b'{"group": "nosuchgroup"}',
            "failed to load listeners: lookup account nosuchgroup: not found",
        ),
        ("27.3.1", b'{"group": "Administrators"}', None),
    ],
)
def test_dockerd_reads_daemon_json(sim: Any, version: str, raw: bytes, error: str | None) -> None:
    install(sim, version)
    result = start_with(sim, raw)
    if error is None:
        assert result is None and sim.services.get("docker").state == "Running"
    else:
        assert result is not None and error in result
        assert result.startswith(f"unable to configure the Docker daemon with file {dm.DAEMON_JSON}: ") or (
            "lookup account" in error
        )
        assert sim.services.get("docker").state == "Stopped"


def test_flag_and_file_conflict(sim: Any) -> None:
    install(sim, "27.3.1", "-H", "npipe://")
    err = start_with(sim, b'{"hosts": ["tcp://127.0.0.1:2375"]}')
    assert (
        err is not None
        and (
            "the following directives are specified both as a flag and in the configuration file: "
            "hosts: (from flag: [npipe://], from file: [tcp://127.0.0.1:2375])"
        )
        in err
    )


def test_validate_exists_from_23(sim: Any) -> None:
    install(sim, "20.10.24")
    sim.fs.write_bytes(r"C:\t\a.json", b'{"debug": true}', make_parents=True)
    assert dm.validate_config_file(sim, dm.ENGINE_INSTALL_DIR + r"\dockerd.exe", r"C:\t\a.json") == (
        125,
        "unknown flag: --validate",
    )
    dm.install_engine_files(sim, "27.3.1")
    assert dm.validate_config_file(sim, dm.ENGINE_INSTALL_DIR + r"\dockerd.exe", r"C:\t\a.json") == (
        0,
        "configuration OK",
    )


def test_no_containers_feature_no_daemon(sim: Any) -> None:
    sim.features.get("Containers").state = "Available"
    install(sim, "27.3.1")
    assert "ensure the Containers feature is installed" in (dm.start_engine(sim, "docker") or "")


CONFIGS = [
    {"debug": True, "log-level": "warn", "hosts": ["npipe://"]},
    {
        "exec-opts": ["isolation=process"],
        "data-root": "C:\\docker",
        "registry-mirrors": ["https://m.example"],
    },
    {"log-opts": {"max-size": "10m"}, "features": {"buildkit": True}, "dns": ["10.0.0.2"]},
    {"default-address-pools": [{"base": "10.0.0.0/8", "size": 24}]},
    {"userns-remap": "default", "debug": True},
    {"no-such-option": 1},
]


@pytest.mark.parametrize("config", CONFIGS)
def test_validator_and_simulated_dockerd_agree(sim: Any, config: dict[str, Any]) -> None:
    """What the controller accepts, the (independently written) simulated dockerd accepts."""
    install(sim, "27.3.1")
    ctx = DaemonJsonContext(host="h", build=20348, is_server=True, local_groups=["Administrators"])
    try:
        validate(json.dumps(config), ctx)
        controller_ok = True
    except DaemonJsonError:
        controller_ok = False
    assert controller_ok == (start_with(sim, json.dumps(config).encode()) is None)


def test_script_region_and_counterpart_have_the_same_keys(sim: Any) -> None:
    """The #region docker block of get_host_state.ps1 and _state_docker.py emit the same keys."""
    text = (REPO / "winfra/scripts/get_host_state.ps1").read_text("utf-8")
    region = text.split("#region docker", 1)[1].split("#endregion docker", 1)[0]
    ps_keys = set(re.findall(r"^\s+([a-z_0-9]+) = ", region, re.MULTILINE))
    ps_keys |= set(re.findall(r"[@;] ?([a-z_0-9]+) = ", region))
    out = get_host_state.run(ScriptCall(host=sim, params={}, user="Administrator", elevated=True))["docker"]
    sim_keys: set[str] = set()

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            for k, v in value.items():
                sim_keys.add(k)
                walk(v)
        elif isinstance(value, list):
            for v in value:
                walk(v)

    install(sim, "27.3.1")
    sim.fs.write_bytes(dm.DAEMON_JSON, b"{}", make_parents=True)
    dm._write_desktop_install(sim, "4.36.0", dm.DESKTOP_INSTALL_DIR, installing_user="Administrator", args=[])
    out = get_host_state.run(ScriptCall(host=sim, params={}, user="Administrator", elevated=True))["docker"]
    walk(out)
    assert sim_keys - {"desktop", "engine", "local_groups"} <= ps_keys
    assert {
        "version",
        "version_source",
        "users_group",
        "services",
        "binaries",
        "path_name",
        "bom",
    } <= sim_keys


def test_reboot_starts_the_engine_only_with_a_valid_config(sim: Any) -> None:
    install(sim, "27.3.1")
    assert start_with(sim, b'{"debug": true}') is None
    sim.fs.write_bytes(dm.DAEMON_JSON, b'{"iptables": false}')
    dm._register_hooks()
    sim.boot.downtime_s = 0.0
    sim.boot.readiness_delay_s = 0.0
    sim.reboot()
    assert sim.services.get("docker").state == "Stopped"
    assert "iptables" in (sim.docker.engine.last_error or "")
