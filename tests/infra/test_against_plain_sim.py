"""The suite's plumbing on fresh simulated hosts, no deploy needed (issue 7).

Each check helper of ``infra_checks`` runs through testinfra's unmodified ``winrm://`` backend
(pywinrm, NTLM with message encryption, cmd.exe + powershell.exe -EncodedCommand) against a
simulated host whose state the test knows from the model, so the helpers are proven before the
deploy exists: the Docker service is absent, features are Available/Disabled, daemon.json is
missing; then the test changes the model (a daemon.json with a BOM, WSL registrations, the WSL
package) and the helpers must see exactly that.
"""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import infra_checks as ic
import pytest
import testinfra

from winfra.powershell.wire import PROLOGUE


class PlainSim:
    """A fresh simulated host, its endpoint and the testinfra host connected to it."""

    def __init__(self, sim: Any, endpoint: Any, host: Any, user: str) -> None:
        self.sim = sim
        self.endpoint = endpoint
        self.host = host
        self.user = user


def _start(state_dir: Path, name: str, profile: str, user: str) -> PlainSim:
    from winfra.sim.models.host import SimHost
    from winfra.sim.shell.executor import host_endpoint, host_users

    sim = SimHost.load(name, profile=profile, state_dir=state_dir)
    endpoint = host_endpoint(sim, port=0)
    password = host_users(sim)[user]
    url = (
        f"winrm://{urllib.parse.quote(user, safe='')}:{urllib.parse.quote(password, safe='')}"
        f"@127.0.0.1:{endpoint.port}?no_ssl=true"
    )
    return PlainSim(sim, endpoint, testinfra.get_host(url), user)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PlainSim]:
    """A fresh Windows Server 2022 (profile server2022), connected as its Administrator."""
    from winfra.sim.models.host import reset

    state_dir = tmp_path_factory.mktemp("plain-server")
    lab = _start(state_dir, "plain-srv", "server2022", "Administrator")
    yield lab
    lab.endpoint.stop()
    reset(state_dir)


@pytest.fixture(scope="module")
def devbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PlainSim]:
    """A fresh Windows 11 dev box (profile win11-devbox), connected as winrm-admin."""
    from winfra.sim.models.host import reset

    state_dir = tmp_path_factory.mktemp("plain-devbox")
    lab = _start(state_dir, "plain-dev", "win11-devbox", "winrm-admin")
    yield lab
    lab.endpoint.stop()
    reset(state_dir)


# --------------------------------------------------------------------------------------------
# Pure parts
# --------------------------------------------------------------------------------------------


def test_command_line_is_encoded_powershell_with_prologue() -> None:
    line = ic.powershell_command("Test-Path -LiteralPath 'C:\\x'")
    words = line.split(" ")
    assert words[0] == "powershell.exe" and "-NonInteractive" in words and "-NoProfile" in words
    script = base64.b64decode(words[-1]).decode("utf-16-le")
    assert script == PROLOGUE + "Test-Path -LiteralPath 'C:\\x'"
    # Nothing cmd.exe would interpret reaches it: no quotes, %, &, |, <, > on the line.
    assert not set(line) & set('"%&|<>^')


def test_clixml_errors_are_decoded() -> None:
    stderr = (
        '#< CLIXML\r\n<Objs Version="1.1.0.1" xmlns="http://schemas.microsoft.com/powershell/2004/04">'
        '<S S="Error">Get-Thing : it&apos;s &lt;bad&gt;_x000D__x000A_</S>'
        '<S S="Error">+ CategoryInfo : x_x000D__x000A_</S></Objs>'
    )
    assert ic.clixml_errors(stderr) == "Get-Thing : it's <bad>\r\n+ CategoryInfo : x\r\n"
    assert ic.clixml_errors("plain text") == "plain text"


def _wsl_table(rows: list[tuple[str, str, str, int]]) -> str:
    # wsl.exe's format "%s %-<maxLen+4>s%-16s%s\n" (windows-facts A.3).
    width = max(len("NAME"), *(len(r[1]) for r in rows)) + 4
    lines = [f"  {'NAME'.ljust(width)}{'STATE'.ljust(16)}VERSION"]
    lines += [f"{mark} {name.ljust(width)}{state.ljust(16)}{ver}" for mark, name, state, ver in rows]
    return "\r\n".join(lines) + "\r\n"


@pytest.mark.parametrize(
    "encode",
    [
        lambda t: t.encode("utf-16-le"),  # default wsl.exe output (A.4)
        lambda t: t.replace("\r\n", "\r\r\n").encode("utf-16-le"),  # CR CR LF seen in the wild (A.4)
        lambda t: t.encode("utf-8"),  # WSL_UTF8=1
        lambda t: b"\xff\xfe" + t.encode("utf-16-le"),
    ],
    ids=["utf16", "utf16-crcrlf", "utf8", "utf16-bom"],
)
def test_wsl_list_verbose_parser(encode: Any) -> None:
    rows = [
        ("*", "Ubuntu", "Running", 2),
        (" ", "docker-desktop", "Stopped", 2),
        (" ", "Old Distro", "Stopped", 1),
    ]
    entries = ic.parse_wsl_list_verbose(ic.decode_wsl_output(encode(_wsl_table(rows))))
    assert [(e.default, e.name, e.state, e.version) for e in entries] == [
        (mark == "*", name, state, ver) for mark, name, state, ver in rows
    ]


def test_wsl_list_verbose_parser_rejects_messages() -> None:
    text = "Windows Subsystem for Linux has no installed distributions.\r\n"
    with pytest.raises(ic.UnexpectedOutput):
        ic.parse_wsl_list_verbose(ic.decode_wsl_output(text.encode("utf-16-le")))


def test_wslconfig_parser_and_values() -> None:
    parsed = ic.parse_wslconfig(
        '# managed\n[WSL2]\nMemory=8GB\nprocessors = 4 # cores\nkernel="C:\\\\k #1"\n'
        "localhostForwarding=TRUE\n[experimental]\nautoMemoryReclaim=gradual\n"
    )
    assert parsed == {
        "wsl2": {"memory": "8GB", "processors": "4", "kernel": "C:\\\\k #1", "localhostforwarding": "TRUE"},
        "experimental": {"automemoryreclaim": "gradual"},
    }
    assert ic.wslconfig_value_matches("8GB", "8192MB")
    assert not ic.wslconfig_value_matches("8GB", "8gb")  # suffix match is case-sensitive (A.8)
    assert ic.wslconfig_value_matches(True, "TRUE") and ic.wslconfig_value_matches(False, "0")
    assert not ic.wslconfig_value_matches(True, "yes")
    assert ic.wslconfig_value_matches(4, "4") and not ic.wslconfig_value_matches(4, "8")
    with pytest.raises(ic.UnexpectedOutput):
        ic.parse_wslconfig("memory=8GB\n")


# --------------------------------------------------------------------------------------------
# A fresh Windows Server 2022
# --------------------------------------------------------------------------------------------


def test_simulator_gap_xfails_only_on_simulated_hosts() -> None:
    gap = ic.UnexpectedOutput("Get-Thing printed ['x']")
    with pytest.raises(pytest.xfail.Exception, match="needs Get-Thing"):
        with ic.simulator_gap(True, "Get-Thing"):
            raise gap
    with pytest.raises(ic.UnexpectedOutput):
        with ic.simulator_gap(False, "Get-Thing"):
            raise gap
    # A plain wrong value is a failure on a simulated host too.
    with pytest.raises(AssertionError, match="wrong"):
        with ic.simulator_gap(True, "Get-Thing"):
            raise AssertionError("wrong value")


def test_server_services(server: PlainSim) -> None:
    assert ic.service(server.host, "docker") is None
    winrm = ic.service(server.host, "WinRM")
    assert winrm == ic.ServiceState("WinRM", "Running", "Automatic")
    with pytest.raises(ValueError):
        ic.service(server.host, "dock*")


def test_server_features_available(server: PlainSim) -> None:
    for name in ("Containers", "Hyper-V"):
        expected = server.sim.features.get(name).server_state
        assert expected == "Available"
        assert ic.server_feature_state(server.host, name) == expected
    assert ic.server_feature_state(server.host, "No-Such-Feature") is None
    assert ic.optional_feature_state(server.host, "No-Such-Feature") is None


def test_server_build_from_registry(server: PlainSim) -> None:
    assert ic.os_build(server.host) == server.sim.os.build


def test_server_no_daemon_json_no_docker(server: PlainSim) -> None:
    assert ic.is_file(server.host, ic.ENGINE_DAEMON_JSON) is False
    assert ic.read_text(server.host, ic.ENGINE_DAEMON_JSON) is None
    assert ic.is_dir(server.host, "C:\\Windows") is True
    dv = ic.docker_version(server.host, "C:\\Program Files\\Docker\\docker.exe")
    assert dv.rc != 0 and dv.server is None
    assert ic.registry_values(server.host, ic.DESKTOP_UNINSTALL_KEY, ["DisplayVersion"]) is None


def test_quoting_keeps_hostile_paths_literal(server: PlainSim) -> None:
    # A quote, $ and ; inside a value stay data (ps_quote); cmd.exe never sees the script.
    hostile = "C:\\ProgramData\\it's $env:TEMP; exit 7 %PATH% (x).json"
    assert ic.is_file(server.host, hostile) is False
    server.sim.fs.write_bytes(hostile, b'{"a": 1}', make_parents=True)
    assert ic.read_text(server.host, hostile) == '{"a": 1}'


def test_server_daemon_json_content_and_bom(server: PlainSim) -> None:
    doc = {"log-level": "info", "group": "docker-users", "exec-opts": ["isolation=process"]}
    server.sim.fs.write_bytes(ic.ENGINE_DAEMON_JSON, json.dumps(doc).encode(), make_parents=True)
    assert json.loads(ic.read_text(server.host, ic.ENGINE_DAEMON_JSON) or "") == doc
    assert ic.head_bytes(server.host, ic.ENGINE_DAEMON_JSON) == b'{"l'
    server.sim.fs.write_bytes(ic.ENGINE_DAEMON_JSON, b"\xef\xbb\xbf" + json.dumps(doc).encode())
    # -Encoding UTF8 drops the BOM from the text; the byte check still sees it.
    assert json.loads(ic.read_text(server.host, ic.ENGINE_DAEMON_JSON) or "") == doc
    assert ic.head_bytes(server.host, ic.ENGINE_DAEMON_JSON) == b"\xef\xbb\xbf"


def test_server_local_accounts(server: PlainSim) -> None:
    admin = server.sim.users.require("Administrator")
    assert ic.local_user_sid(server.host, "Administrator") == admin.sid
    assert ic.local_user_sid(server.host, "nobody-here") is None
    assert ic.profile_dir(server.host, admin.sid) == admin.profile_path
    members = ic.local_group_members(server.host, "Administrators")
    assert members is not None and any(m.lower().endswith("\\administrator") for m in members)
    assert ic.local_group_members(server.host, "no-such-group") is None


# --------------------------------------------------------------------------------------------
# A fresh Windows 11 dev box
# --------------------------------------------------------------------------------------------


def test_devbox_features_disabled(devbox: PlainSim) -> None:
    for name in ("VirtualMachinePlatform", "Microsoft-Hyper-V-All", "Containers"):
        assert ic.optional_feature_state(devbox.host, name) == devbox.sim.features.get(name).dism_state
        assert ic.optional_feature_state(devbox.host, name) == "Disabled"
    assert ic.os_build(devbox.host) == devbox.sim.os.build


def test_devbox_wsl_registrations_of_target_user(devbox: PlainSim) -> None:
    from winfra.sim.models.registry import REG_DWORD

    dev = devbox.sim.users.require("dev")
    assert ic.local_user_sid(devbox.host, "dev") == dev.sid
    assert ic.account_sid(devbox.host, ".\\dev") == dev.sid
    assert ic.account_sid(devbox.host, "nobody") is None
    assert ic.user_hive_loaded(devbox.host, dev.sid) is True
    assert ic.profile_dir(devbox.host, dev.sid) == dev.profile_path
    assert ic.registry_values(devbox.host, ic.lxss_key(dev.sid), ["DefaultVersion"]) is None
    # Register two distros the way WSL does (windows-facts A.5): one moved to D:, one WSL1.
    lxss = f"HKU\\{dev.sid}\\{ic.LXSS_SUBKEY}"
    reg = devbox.sim.registry
    with devbox.sim.lock:
        reg.set_value(lxss, "DefaultVersion", 2, REG_DWORD)
        for guid, name, base, flags in (
            ("{11111111-2222-3333-4444-555555555555}", "Ubuntu", "\\\\?\\D:\\WSL\\Ubuntu", 15),
            ("{66666666-7777-8888-9999-000000000000}", "Legacy", "C:\\WSL\\Legacy", 7),
        ):
            reg.set_value(f"{lxss}\\{guid}", "DistributionName", name)
            reg.set_value(f"{lxss}\\{guid}", "BasePath", base)
            reg.set_value(f"{lxss}\\{guid}", "VhdFileName", "ext4.vhdx")
            reg.set_value(f"{lxss}\\{guid}", "Flags", flags, REG_DWORD)
        devbox.sim.fs.write_bytes("D:\\WSL\\Ubuntu\\ext4.vhdx", b"vhdx", make_parents=True)
    assert ic.registry_values(devbox.host, ic.lxss_key(dev.sid), ["DefaultVersion"]) == {"DefaultVersion": 2}
    regs = {r.name: r for r in ic.wsl_registrations(devbox.host, dev.sid)}
    assert set(regs) == {"Ubuntu", "Legacy"}
    assert regs["Ubuntu"].wsl_version == 2 and regs["Legacy"].wsl_version == 1
    assert regs["Ubuntu"].normalized_base_path == ic.normalize_windows_path("D:\\WSL\\Ubuntu\\")
    assert ic.is_file(devbox.host, "D:\\WSL\\Ubuntu\\ext4.vhdx") is True


def test_devbox_wsl_list_as_connection_user(devbox: PlainSim) -> None:
    from winfra.sim.models.registry import REG_DWORD

    # Inbox WSL only: the package's wsl.exe does not exist.
    assert devbox.sim.wsl.package.kind != "package"
    listing = ic.wsl_list_verbose(devbox.host)
    assert listing.rc != 0 and listing.entries is None
    assert ic.wsl_package_version(devbox.host)[:2] == (1, None)
    # With the WSL package and one WSL2 distro registered for the connection account.
    admin = devbox.sim.users.require("winrm-admin")
    lxss = f"HKU\\{admin.sid}\\{ic.LXSS_SUBKEY}"
    with devbox.sim.lock:
        devbox.sim.wsl.package.kind = "package"
        guid = "{aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee}"
        devbox.sim.registry.set_value(lxss, "DefaultDistribution", guid)
        devbox.sim.registry.set_value(f"{lxss}\\{guid}", "DistributionName", "Ubuntu-24.04")
        devbox.sim.registry.set_value(f"{lxss}\\{guid}", "BasePath", "C:\\WSL\\U")
        devbox.sim.registry.set_value(f"{lxss}\\{guid}", "Flags", 15, REG_DWORD)
        devbox.sim.registry.set_value(f"{lxss}\\{guid}", "State", 1, REG_DWORD)
    listing = ic.wsl_list_verbose(devbox.host)
    assert listing.rc == 0, listing.text
    assert listing.entries == [ic.WslListEntry("Ubuntu-24.04", "Stopped", 2, True)]
    rc, version, text = ic.wsl_package_version(devbox.host)
    assert rc == 0 and version == (devbox.sim.wsl.package.version or "2.0.0.0"), text


# --------------------------------------------------------------------------------------------
# The real-host mode (--hosts), pointed at a simulated endpoint
# --------------------------------------------------------------------------------------------


def test_hosts_option_mode(tmp_path: Path) -> None:
    """``pytest tests/infra --hosts=winrm://... --winfra-inventory=...`` (the real-host mode) runs
    the deployed-state checks on the URL's host with the inventory's data, and the password
    appears nowhere in the output."""
    from winfra.sim.models.host import reset

    lab = _start(tmp_path / "state", "hosts-mode", "server2022", "Administrator")
    try:
        password = lab.sim.users.require("Administrator").password
        inventory = tmp_path / "inventory.py"
        inventory.write_text(
            "container_hosts = (\n"
            "    [('@winrm/127.0.0.1', {'docker_isolation': 'hyperv'})],\n"
            "    {'winfra_role': 'container_host', 'docker_engine_version': '27.5.1',\n"
            "     'docker_engine_sha256': '" + "0" * 64 + "'},\n"
            ")\n"
        )
        url = (
            f"winrm://Administrator:{urllib.parse.quote(password, safe='')}@127.0.0.1:{lab.endpoint.port}"
            "?no_ssl=true"
        )
        proc = subprocess.run(
            [
                sys.executable, "-m", "pytest", str(Path(__file__).with_name("test_docker_host.py")),
                "-q", "-rA", "-p", "no:cacheprovider", f"--hosts={url}", f"--winfra-inventory={inventory}",
            ],
            cwd=Path(__file__).resolve().parents[2], capture_output=True, text=True, timeout=300, check=False,
        )  # fmt: skip
    finally:
        lab.endpoint.stop()
        reset(tmp_path / "state")
    out = proc.stdout + proc.stderr
    assert password not in out and urllib.parse.quote(password, safe="") not in out
    assert f"test_docker_service_running[winrm://127.0.0.1:{lab.endpoint.port}]" in out
    assert "there is no 'docker' service" in out
    assert "{'Containers': 'Available', 'Hyper-V': 'Available'}" in out
    assert "SKIPPED" in out and "the suite did not run the deploy" in out
    assert proc.returncode == 1, out[-2000:]
