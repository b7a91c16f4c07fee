"""Bundled host profiles load and can be overridden per host (``winsim_overrides``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from winfra.sim.models import host as h
from winfra.sim.models.profile import ProfileError, load_profile, profile_names

# windows-facts E (build numbers) and F.3 (Windows 10 22H2 = 19045).
EXPECTED = {
    "win11-devbox": (22631, "Professional", "workstation"),
    "win10-devbox": (19045, "Professional", "workstation"),
    "win11-home": (22631, "Core", "workstation"),
    "server2019": (17763, "ServerDatacenter", "server"),
    "server2022": (20348, "ServerDatacenter", "server"),
    "server2025": (26100, "ServerDatacenter", "server"),
    "vm-no-nested": (22631, "Professional", "workstation"),
}


def test_all_required_profiles_exist() -> None:
    assert set(EXPECTED) <= set(profile_names())


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_profile_builds_a_consistent_host(name: str, tmp_path: Path) -> None:
    host = h.SimHost.load(name, profile=name, state_dir=tmp_path)
    build, edition, ptype = EXPECTED[name]
    assert (host.os.build, host.os.edition, host.os.product_type) == (build, edition, ptype)
    assert host.registry.get(h.CURRENT_VERSION, "CurrentBuild") == str(build)
    assert host.registry.key_exists(h.AUTOLOGON_CHECKED)
    assert not host.reboot_pending()
    admins = [u for u in host.users.users.values() if host.users.is_admin(u.name)]
    assert admins and all(u.password for u in admins)
    assert any(host.token(u.name).elevated for u in admins)
    assert host.services.get("WinRM").state == "Running"
    assert not host.hardware.hypervisor_present
    names = {f.name for f in host.features.all()}
    if ptype == "workstation":
        # D.2: dev boxes have a separate interactive user and a D: volume.
        assert "D" in host.fs.volumes
        assert any(u.logged_on and not host.users.is_admin(u.name) for u in host.users.users.values())
        assert {"VirtualMachinePlatform", "Microsoft-Windows-Subsystem-Linux"} <= names
        assert ("Microsoft-Hyper-V-All" in names) == (edition != "Core")
    else:
        assert {"Containers", "Hyper-V"} <= {f.name for f in host.features.all("server")}


def test_overrides_deep_merge(tmp_path: Path) -> None:
    data = load_profile(
        "win11-devbox",
        {"os": {"computer_name": "LAB-7"}, "features": {"optional": {"VirtualMachinePlatform": "Enabled"}}},
    )
    assert data["os"]["build"] == 22631 and data["os"]["computer_name"] == "LAB-7"
    assert data["features"]["optional"]["VirtualMachinePlatform"] == "Enabled"
    assert data["features"]["optional"]["Containers"]["state"] == "Disabled"
    host = h.SimHost.load(
        "ov",
        profile="win11-devbox",
        overrides={
            "features": {"optional": {"VirtualMachinePlatform": "Enabled"}},
            "volumes": {"D": None},
            "network": [{"url": "https://example.test/a.zip", "text": "zipbytes", "meta": {"kind": "x"}}],
        },
        state_dir=tmp_path,
    )
    # An Enabled hypervisor feature in the profile means the hypervisor is running at first boot.
    assert host.hardware.hypervisor_present
    assert "D" not in host.fs.volumes
    assert host.docker.network.get("https://example.test/a.zip").body() == b"zipbytes"


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"os": {"buildd": 1}}, "unknown os setting"),
        ({"users": {"x": {"groups": ["Users"]}}}, "needs a password"),
        ({"features": {"optional": {"VirtualMachinePlatform": "On"}}}, "is not one of"),
        ({"wsl": {"package": {"kind": "store"}}}, "absent, inbox or package"),
        ("nope", "must be a mapping"),
    ],
)
def test_bad_overrides_name_the_host_and_setting(overrides: object, message: str, tmp_path: Path) -> None:
    with pytest.raises(ProfileError, match=message) as info:
        h.SimHost.load("lab-9", profile="win11-devbox", overrides=overrides, state_dir=tmp_path)  # type: ignore[arg-type]
    assert "lab-9" in str(info.value)


def test_unknown_profile_lists_the_choices(tmp_path: Path) -> None:
    with pytest.raises(ProfileError, match="win11-devbox"):
        h.SimHost.load("x", profile="win12", state_dir=tmp_path)


def test_windows_11_registry_product_name_says_windows_10(tmp_path: Path) -> None:
    # learn.microsoft.com/answers/questions/555857: ProductName stays "Windows 10 ..." on 11.
    host = h.SimHost.load("pn", profile="win11-devbox", state_dir=tmp_path)
    assert host.registry.get(h.CURRENT_VERSION, "ProductName") == "Windows 10 Pro"
    assert host.os.caption == "Microsoft Windows 11 Pro"
    server = h.SimHost.load("pn2", profile="server2025", state_dir=tmp_path)
    assert server.registry.get(h.CURRENT_VERSION, "ProductName") == "Windows Server 2025 Datacenter"
