"""One test per .wslconfig rule (windows-facts A.8; microsoft/WSL configfile.cpp, stringshared.h)."""

from __future__ import annotations

import pytest

from winfra.validation import wslconfig
from winfra.validation.wslconfig import WslConfigError


def errors(text: str) -> list[str]:
    _, problems = wslconfig.parse_wslconfig(text)
    return [p.render("win1") for p in problems]


def test_valid_file_parses_to_canonical_names() -> None:
    data, problems = wslconfig.parse_wslconfig(
        "# comment\n[WSL2]\nMemory=4GB\nprocessors = 2\nkernel=C:\\\\wsl\\\\kernel\n"
        "networkingMode=mirrored\n[experimental]\nautoMemoryReclaim=gradual\n"
    )
    assert problems == []
    assert data == {
        "wsl2": {
            "memory": "4GB",
            "processors": "2",
            "kernel": "C:\\wsl\\kernel",
            "networkingMode": "mirrored",
        },
        "experimental": {"autoMemoryReclaim": "gradual"},
    }


def test_unknown_section() -> None:
    [msg] = errors("[wsl]\nmemory=4GB\n")
    assert "[wsl]" in msg and "unknown section" in msg and "[wsl2]" in msg


def test_unknown_key_names_setting_and_suggests() -> None:
    [msg] = errors("[wsl2]\nmemmory=4GB\n")
    assert msg.startswith("win1: .wslconfig wsl2.memmory: unknown key") and "memory" in msg


def test_key_outside_section() -> None:
    [msg] = errors("memory=4GB\n")
    assert "outside any section" in msg


def test_malformed_line() -> None:
    [msg] = errors("[wsl2]\nmemory 4GB\n")
    assert "not key=value" in msg


@pytest.mark.parametrize(
    "value", ["4GB", "4G", "512MB", "512M", "1TB", "1T", "1024K", "1024KB", "1073741824", "8B"]
)
def test_size_accepts_integer_and_case_sensitive_suffix(value: str) -> None:
    assert errors(f"[wsl2]\nmemory={value}\n") == []


@pytest.mark.parametrize("value", ["1.5GB", "4gb", "4Gb", "4 GB", "GB", "-1GB", "4GiB"])
def test_size_rejects_decimals_lowercase_and_junk(value: str) -> None:
    [msg] = errors(f"[wsl2]\nmemory={value}\n")
    assert "wsl2.memory" in msg and "invalid memory string" in msg and "Fix:" in msg


@pytest.mark.parametrize("value", ["true", "FALSE", "1", "0", "True"])
def test_boolean_accepted(value: str) -> None:
    assert errors(f"[wsl2]\nlocalhostForwarding={value}\n") == []


@pytest.mark.parametrize("value", ["yes", "on", "enabled", "2"])
def test_boolean_rejected(value: str) -> None:
    [msg] = errors(f"[wsl2]\nguiApplications={value}\n")
    assert "invalid boolean" in msg and "true or false" in msg


def test_path_with_single_backslashes_is_an_invalid_escape() -> None:
    [msg] = errors("[wsl2]\nkernel=C:\\Users\\me\\kernel\n")
    assert "invalid escape \\U" in msg and "double every backslash" in msg


def test_path_with_escaped_backslashes_is_fine_and_unescaped() -> None:
    data, problems = wslconfig.parse_wslconfig("[wsl2]\nswapFile=C:\\\\Temp\\\\swap.vhdx\n")
    assert problems == [] and data["wsl2"]["swapFile"] == "C:\\Temp\\swap.vhdx"


def test_relative_path_rejected() -> None:
    [msg] = errors("[wsl2]\nkernel=kernel\\\\bzImage\n")
    assert "not an absolute Windows path" in msg


@pytest.mark.parametrize("mode", ["none", "nat", "bridged", "mirrored", "virtioproxy"])
def test_networking_mode_values(mode: str) -> None:
    assert errors(f"[wsl2]\nnetworkingMode={mode}\n") == []


def test_networking_mode_unknown_value() -> None:
    [msg] = errors("[wsl2]\nnetworkingMode=host\n")
    assert "wsl2.networkingMode" in msg and "mirrored" in msg


def test_sparse_vhd_true_is_refused_as_unsafe() -> None:
    [msg] = errors("[experimental]\nsparseVhd=true\n")
    assert "unsafe" in msg and "experimental.sparseVhd" in msg
    assert errors("[experimental]\nsparseVhd=false\n") == []


def test_integer_keys() -> None:
    assert errors("[wsl2]\nprocessors=4\nvmIdleTimeout=60000\n") == []
    [msg] = errors("[wsl2]\nprocessors=four\n")
    assert "wsl2.processors" in msg


def test_comment_and_quotes() -> None:
    data, problems = wslconfig.parse_wslconfig(
        '[wsl2]\nkernelCommandLine="a # b" # trailing\nmemory=2GB # two\n'
    )
    assert problems == []
    assert data["wsl2"] == {"kernelCommandLine": "a # b", "memory": "2GB"}


def test_duplicate_setting() -> None:
    [msg] = errors("[wsl2]\nmemory=2GB\nMEMORY=4GB\n")
    assert "more than once" in msg


def test_experimental_ipv4_and_ports() -> None:
    assert errors("[experimental]\ndnsTunnelingIpAddress=10.255.255.254\nignoredPorts=3000,9000\n") == []
    msgs = errors("[experimental]\ndnsTunnelingIpAddress=10.0.0\nignoredPorts=3000;9000\n")
    assert len(msgs) == 2


def test_validate_settings_formats_and_escapes() -> None:
    out = wslconfig.validate_settings(
        {"wsl2": {"memory": "4GB", "kernel": "C:\\wsl\\kernel", "guiApplications": False, "swap": None}},
        "win1",
    )
    assert out == {"wsl2": {"memory": "4GB", "kernel": "C:\\\\wsl\\\\kernel", "guiApplications": "false"}}
    text = wslconfig.render_wslconfig(out)
    assert wslconfig.validate_text(text, "win1")["wsl2"]["kernel"] == "C:\\wsl\\kernel"


def test_validate_settings_lists_every_problem_with_host() -> None:
    with pytest.raises(WslConfigError) as info:
        wslconfig.validate_settings({"wsl2": {"memory": "1.5GB", "swap": "4gb"}, "wls2": {"x": 1}}, "win1")
    lines = str(info.value).splitlines()
    assert len(lines) == 3 and all(line.startswith("win1: .wslconfig ") for line in lines)


def test_list_values_are_comma_separated() -> None:
    out = wslconfig.validate_settings({"experimental": {"ignoredPorts": [3000, 9000]}}, "win1")
    assert out == {"experimental": {"ignoredPorts": "3000,9000"}}
    with pytest.raises(WslConfigError, match="ignoredPorts"):
        wslconfig.validate_settings({"experimental": {"ignoredPorts": [3000, "x"]}}, "win1")
