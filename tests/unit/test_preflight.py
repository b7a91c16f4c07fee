"""winfra.preflight: one test per rule (fires, and stays quiet on the passing side), plus the
feature-name mapping of winfra.features the preflight and windows.feature share."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from pyinfra.api.exceptions import OperationError

from winfra import preflight
from winfra.facts.windows import is_home_edition, looks_like_vm, normalize_windows_info, parse_windows_time
from winfra.features import FeatureNameError, expand_aliases, resolve
from winfra.preflight import PreflightError, Wants, check, enforce

GIB = 1024**3

PRO = normalize_windows_info(
    {
        "hostname": "DEV",
        "caption": "Microsoft Windows 11 Pro",
        "edition": "Professional",
        "product_type": "workstation",
        "build": 22631,
        "manufacturer": "LENOVO",
        "model": "20XW",
        "hypervisor_present": False,
        "virtualization": {"firmware_enabled": True, "slat": True, "vm_monitor_mode": True, "dep": True},
        "elevated": True,
        "local_account_token_filter_policy": 1,
        "winrm_user": "DEV\\admin",
        "memory_bytes": 16 * GIB - 300 * 1024**2,
        "memory_installed_bytes": 16 * GIB,
    }
)
SERVER = normalize_windows_info(
    {
        **PRO,
        "caption": "Microsoft Windows Server 2022 Standard",
        "edition": "ServerStandard",
        "product_type": "server",
        "build": 20348,
    }
)
EVERYTHING = Wants(hyper_v=True, wsl2=True, docker_desktop=True, windows_containers=True)


def host(base: dict[str, Any] = PRO, **changes: Any) -> dict[str, Any]:
    raw = copy.deepcopy(base)
    virt = changes.pop("virtualization", None)
    raw.update(changes)
    if virt:
        raw["virtualization"] = {**raw["virtualization"], **virt}
    return normalize_windows_info(raw)


def rules(info: dict[str, Any], wants: Wants, features: dict[str, Any] | None = None) -> list[str]:
    return [p.rule for p in check(info, wants, features)]


def test_a_capable_pro_workstation_passes_everything() -> None:
    assert check(PRO, EVERYTHING) == []


# -- filtered admin token (windows-facts A.7) ------------------------------------------------
def test_filtered_token_of_a_local_admin_names_the_policy_and_the_fix() -> None:
    info = host(elevated=False, local_account_token_filter_policy=None)
    [problem] = check(info, Wants())
    assert problem.rule == "filtered_admin_token"
    assert "LocalAccountTokenFilterPolicy" in problem.message
    assert "reg add" in problem.fix and "/d 1" in problem.fix
    assert "A.7" in problem.source


def test_not_elevated_despite_the_policy_means_not_an_admin() -> None:
    [problem] = check(host(elevated=False, local_account_token_filter_policy=1), Wants())
    assert problem.rule == "filtered_admin_token"
    assert "Administrators" in problem.fix


def test_elevation_unknown_is_not_a_problem() -> None:
    assert rules(host(elevated=None), Wants()) == []


# -- Hyper-V / containers on Home (D.2, D.5, E) ----------------------------------------------
@pytest.mark.parametrize("edition", ["Core", "CoreN", "CoreSingleLanguage", "CoreCountrySpecific"])
def test_hyper_v_on_home_fails(edition: str) -> None:
    info = host(edition=edition, caption="Microsoft Windows 11 Home")
    assert rules(info, Wants(hyper_v=True)) == ["hyper_v_on_home"]
    assert rules(info, Wants(windows_containers=True)) == ["hyper_v_on_home"]


def test_wsl2_on_home_is_fine() -> None:
    assert rules(host(edition="Core"), Wants(wsl2=True)) == []


def test_home_detection_does_not_catch_pro_or_server_core_installations() -> None:
    assert not is_home_edition("Professional")
    assert not is_home_edition("ServerDatacenterCor")
    assert not host(SERVER, edition="ServerDatacenter", installation_type="Server Core")["is_home"]


# -- Docker Desktop on Server (B.7) ----------------------------------------------------------
def test_docker_desktop_on_server_fails_and_points_to_the_engine() -> None:
    [problem] = check(SERVER, Wants(docker_desktop=True))
    assert problem.rule == "docker_desktop_on_server"
    assert "native Docker engine" in problem.fix


def test_windows_containers_on_server_are_fine() -> None:
    assert rules(SERVER, Wants(windows_containers=True, hyper_v=True)) == []


# -- builds (MicrosoftDocs/WSL install.md; B.7) ----------------------------------------------
@pytest.mark.parametrize(("build", "ok"), [(18363, False), (19040, False), (19041, True), (22631, True)])
def test_wsl2_minimum_build(build: int, ok: bool) -> None:
    assert rules(host(build=build), Wants(wsl2=True)) == ([] if ok else ["build_too_old_for_wsl2"])


def test_server_2019_is_too_old_for_wsl2() -> None:
    assert rules(host(SERVER, build=17763), Wants(wsl2=True)) == ["build_too_old_for_wsl2"]


@pytest.mark.parametrize(
    ("build", "ok"),
    [(19044, False), (19045, True), (22000, False), (22621, False), (22631, True), (26100, True)],
)
def test_docker_desktop_minimum_build(build: int, ok: bool) -> None:
    expected = [] if ok else ["build_too_old_for_docker_desktop"]
    assert rules(host(build=build), Wants(docker_desktop=True)) == expected


# -- virtualization (D.5) --------------------------------------------------------------------
def test_virtualization_off_in_firmware() -> None:
    info = host(virtualization={"firmware_enabled": False})
    [problem] = check(info, Wants(wsl2=True))
    assert problem.rule == "virtualization_off_in_firmware"
    assert "BIOS/UEFI" in problem.fix


def test_firmware_flag_reads_false_while_a_hypervisor_runs_and_that_is_fine() -> None:
    # VirtualizationFirmwareEnabled is False under a running hypervisor (microsoft/WSL#12379).
    info = host(hypervisor_present=True, virtualization={"firmware_enabled": False, "vm_monitor_mode": False})
    assert rules(info, Wants(hyper_v=True, wsl2=True)) == []


def test_cpu_without_slat() -> None:
    assert rules(host(virtualization={"slat": False}), Wants(hyper_v=True)) == ["cpu_lacks_virtualization"]


def test_virtualization_rules_only_apply_when_needed() -> None:
    info = host(virtualization={"firmware_enabled": False})
    assert rules(info, Wants(windows_containers=True)) == []


# -- VM without nested virtualization (D.5) --------------------------------------------------
NO_NESTED = dict(
    manufacturer="Microsoft Corporation",
    model="Virtual Machine",
    hypervisor_present=True,  # every guest sees its host's hypervisor
    virtualization={"firmware_enabled": False, "vm_monitor_mode": False},
)


def test_vm_without_nested_virtualization_fails_with_the_hyper_v_host_fix() -> None:
    [problem] = check(host(**NO_NESTED), Wants(wsl2=True))
    assert problem.rule == "vm_without_nested_virtualization"
    assert "ExposeVirtualizationExtensions" in problem.fix


def test_vm_with_nested_virtualization_passes() -> None:
    info = host(manufacturer="Microsoft Corporation", model="Virtual Machine", hypervisor_present=True)
    assert info["is_vm"]
    assert rules(info, Wants(hyper_v=True, wsl2=True)) == []


def test_vm_whose_own_hypervisor_already_runs_passes() -> None:
    features = {"optional": {"VirtualMachinePlatform": "Enabled"}}
    assert rules(host(**NO_NESTED), Wants(wsl2=True), features) == []
    assert rules(
        host(**NO_NESTED), Wants(wsl2=True), {"optional": {"VirtualMachinePlatform": "EnablePending"}}
    ) == ["vm_without_nested_virtualization"]


@pytest.mark.parametrize(
    ("manufacturer", "model", "vm"),
    [
        ("Microsoft Corporation", "Virtual Machine", True),
        ("Microsoft Corporation", "Surface Laptop 5", False),
        ("VMware, Inc.", "VMware7,1", True),
        ("innotek GmbH", "VirtualBox", True),
        ("QEMU", "Standard PC (Q35 + ICH9, 2009)", True),
        ("Amazon EC2", "m5.large", True),
        ("Dell Inc.", "Precision 5570", False),
    ],
)
def test_vm_detection(manufacturer: str, model: str, vm: bool) -> None:
    assert looks_like_vm(manufacturer, model) is vm


# -- memory (D.5, B.7) -----------------------------------------------------------------------
def test_too_little_memory() -> None:
    info = host(memory_installed_bytes=2 * GIB, memory_bytes=2 * GIB - 100 * 1024**2)
    [problem] = check(info, Wants(wsl2=True))
    assert problem.rule == "too_little_memory"
    assert "2.0 GiB" in problem.message


def test_exactly_4_gb_installed_passes_although_windows_reports_less() -> None:
    info = host(memory_installed_bytes=4 * GIB, memory_bytes=4 * GIB - 200 * 1024**2)
    assert rules(info, Wants(hyper_v=True)) == []
    # Without the installed size, usable memory a little under 4 GiB still passes.
    assert (
        rules(host(memory_installed_bytes=None, memory_bytes=4 * GIB - 200 * 1024**2), Wants(hyper_v=True))
        == []
    )
    assert rules(host(memory_installed_bytes=None, memory_bytes=3 * GIB), Wants(hyper_v=True)) == [
        "too_little_memory"
    ]


def test_memory_threshold_is_configurable() -> None:
    assert rules(PRO, Wants(wsl2=True, min_memory_gb=32)) == ["too_little_memory"]


# -- the error ---------------------------------------------------------------------------------
def test_enforce_raises_one_error_naming_the_host_and_every_problem() -> None:
    info = host(edition="Core", build=18363, elevated=False, local_account_token_filter_policy=0)
    with pytest.raises(PreflightError) as caught:
        enforce("laptop-7", info, Wants(hyper_v=True, wsl2=True))
    err = caught.value
    assert isinstance(err, OperationError)
    assert err.host_name == "laptop-7"
    assert [p.rule for p in err.problems] == [
        "filtered_admin_token",
        "hyper_v_on_home",
        "build_too_old_for_wsl2",
    ]
    text = str(err)
    assert text.startswith("laptop-7: preflight failed, nothing was changed:")
    assert all(p.fix in text for p in err.problems)


def test_enforce_is_silent_when_fine() -> None:
    enforce("dev", PRO, EVERYTHING)


def test_every_rule_cites_a_source() -> None:
    worst = host(
        edition="Core",
        product_type="server",
        build=17000,
        elevated=False,
        memory_installed_bytes=GIB,
        virtualization={"firmware_enabled": False},
    )
    for rule in preflight.RULES:
        assert rule.__doc__ or rule.__name__ in (
            "rule_build_too_old_for_wsl2",
            "rule_build_too_old_for_docker_desktop",
        )
    assert all(p.source for p in check(worst, EVERYTHING))


def test_wants_for_features() -> None:
    wants = preflight.wants_for_features(expand_aliases(["wsl", "hyper-v", "containers"], 22631))
    assert (wants.hyper_v, wants.wsl2, wants.windows_containers, wants.docker_desktop) == (
        True,
        True,
        True,
        False,
    )


# -- feature names -------------------------------------------------------------------------------
def test_hyper_v_maps_by_product_type() -> None:
    assert [(t.kind, t.name) for t in resolve("Hyper-V", PRO)] == [
        ("optional", "Microsoft-Hyper-V-All"),
        ("optional", "Microsoft-Hyper-V"),
    ]
    assert [(t.kind, t.name) for t in resolve(["hyper-v", "containers"], SERVER)] == [
        ("role", "Hyper-V"),
        ("role", "Containers"),
    ]


def test_wsl_follows_wsl_install_by_build() -> None:
    assert [t.name for t in resolve("wsl", PRO)] == ["VirtualMachinePlatform"]
    win10 = host(build=19045)
    assert [t.name for t in resolve("wsl2", win10)] == [
        "VirtualMachinePlatform",
        "Microsoft-Windows-Subsystem-Linux",
    ]


def test_duplicates_collapse() -> None:
    assert [t.name for t in resolve(["vmp", "VirtualMachinePlatform", "wsl"], PRO)] == [
        "VirtualMachinePlatform"
    ]


def test_unknown_names_are_listed_with_the_known_ones() -> None:
    with pytest.raises(FeatureNameError, match="'Hyper-X', 'IIS'") as caught:
        expand_aliases(["wsl", "Hyper-X", "IIS"], None)
    assert "hyper-v" in str(caught.value)


def test_windows_time_parsing() -> None:
    parsed = parse_windows_time("2026-11-25T07:12:03.4567891Z")
    assert parsed is not None and parsed.isoformat() == "2026-11-25T07:12:03.456789+00:00"
    assert parse_windows_time("not a time") is None
    assert parse_windows_time(None) is None
