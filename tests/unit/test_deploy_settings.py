"""winfra.deploy_settings: host data -> DockerHostSettings, with clear errors before any change."""

from __future__ import annotations

from typing import Any

import pytest

from winfra.deploy_settings import (
    DEFAULT_DESKTOP_URL,
    SIM_AUTO_SHA256,
    SettingsError,
    common_reboot_batch,
    same_account,
    settings_for,
)

SHA_A = "a" * 64
SHA_B = "B" * 64
SECRET = "S3cr3t-never-shown!"


def devbox(**extra: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "winrm_user": "admin",
        "docker_desktop_sha256": SHA_A,
        "docker_desktop_version": "4.37.1",
    }
    data.update(extra)
    return data


def ctr(**extra: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "winrm_user": "admin",
        "docker_engine_version": "27.5.1",
        "docker_engine_sha256": SHA_B,
    }
    data.update(extra)
    return data


def problems(host: str, data: dict[str, Any], groups: tuple[str, ...] = ()) -> list[str]:
    with pytest.raises(SettingsError) as info:
        settings_for(host, data, groups)
    assert info.value.host_name == host
    assert str(info.value).startswith(f"{host}: ")
    return info.value.problems


def test_devbox_defaults_from_group() -> None:
    s = settings_for("@winrm/dev1.example.lab", devbox(), ["devboxes"])
    assert s.role == "devbox"
    assert s.user == "admin" and not s.needs_runas
    assert s.desktop_url == DEFAULT_DESKTOP_URL
    assert s.desktop_sha256 == SHA_A
    assert s.desktop_backend == "wsl-2"
    assert s.features == ("wsl",)
    assert s.daemon_defaults == {}
    assert s.reboot_policy == "auto" and s.reboot_batch == 0 and s.reboot_timeout_sec == 900
    assert s.smoke_test is False and s.isolation is None


def test_container_host_defaults() -> None:
    s = settings_for("@winrm/ctr1.example.lab", ctr(), ["container_hosts"])
    assert s.role == "container_host"
    assert s.isolation == "process"
    assert s.features == ("containers",)
    assert s.engine_sha256 == SHA_B.lower()
    assert s.effective_engine_url == "https://download.docker.com/win/static/stable/x86_64/docker-27.5.1.zip"
    assert s.engine_install_dir == r"C:\Program Files\Docker"
    assert s.daemon_defaults == {"group": "docker-users", "exec-opts": ["isolation=process"]}


def test_hyperv_isolation_adds_hyperv_feature_and_explicit_role_wins() -> None:
    s = settings_for("h", ctr(winfra_role="container_host", docker_isolation="hyperv"), ["devboxes"])
    assert s.features == ("containers", "hyper-v")
    assert s.daemon_defaults["exec-opts"] == ["isolation=hyperv"]


def test_hyperv_desktop_backend_features() -> None:
    s = settings_for("h", devbox(docker_desktop_backend="hyper-v"), ["devboxes"])
    assert s.features == ("hyper-v", "containers")


def test_docker_group_empty_string_disables_group_default() -> None:
    s = settings_for("h", ctr(docker_group=""), ["container_hosts"])
    assert "group" not in s.daemon_defaults


def test_missing_role_is_an_error_naming_key_and_fix() -> None:
    (msg,) = problems("@winrm/x", devbox())
    assert "winfra_role" in msg and "Fix:" in msg and "devboxes" in msg


def test_both_role_groups_is_ambiguous() -> None:
    msgs = problems("h", devbox(), ("devboxes", "container_hosts"))
    assert any("both" in m and "winfra_role" in m for m in msgs)


def test_devbox_requires_desktop_sha256_and_version() -> None:
    msgs = problems("@winrm/dev1", {"winrm_user": "admin"}, ("devboxes",))
    assert len(msgs) == 2
    assert "docker_desktop_sha256" in msgs[0] and "Get-FileHash" in msgs[0]
    assert "docker_desktop_version" in msgs[1] and "4.37.1" in msgs[1]


def test_docker_versions_are_exact_pins() -> None:
    msgs = problems("h", devbox(docker_desktop_version="4.37"), ("devboxes",))
    assert "'4.37' is not a pinned version like 4.37.1" in msgs[0]
    s = settings_for("h", devbox(wsl_version="2.3.26.0"), ("devboxes",))
    assert s.wsl_version == "2.3.26.0"


def test_container_host_requires_version_and_sha256() -> None:
    msgs = problems("@winrm/ctr", {"winrm_user": "admin"}, ("container_hosts",))
    joined = "\n".join(msgs)
    assert "docker_engine_version" in joined and "docker_engine_sha256" in joined
    assert len(msgs) == 2


def test_bad_sha256_and_bad_version() -> None:
    msgs = problems(
        "h", ctr(docker_engine_sha256="abc", docker_engine_version="latest"), ("container_hosts",)
    )
    joined = "\n".join(msgs)
    assert "'abc' is not a sha256" in joined
    assert "'latest' is not a pinned version like 27.5.1" in joined


def test_other_target_user_needs_password_and_password_never_leaks() -> None:
    msgs = problems("@winrm/dev1", devbox(winfra_user="alice"), ("devboxes",))
    assert len(msgs) == 1 and "winfra_user_password" in msgs[0] and "'alice'" in msgs[0]

    s = settings_for("@winrm/dev1", devbox(winfra_user="alice", winfra_user_password=SECRET), ("devboxes",))
    assert s.needs_runas and s.user_password == SECRET
    assert SECRET not in repr(s)

    # A non-string password is reported without echoing the value.
    with pytest.raises(SettingsError) as info:
        settings_for("h", devbox(winfra_user="alice", winfra_user_password=12345678), ("devboxes",))
    assert "12345678" not in str(info.value)


def test_same_user_spelled_differently_needs_no_password() -> None:
    s = settings_for("h", devbox(winfra_user=".\\ADMIN"), ("devboxes",))
    assert not s.needs_runas
    assert same_account("Admin", ".\\admin")
    assert not same_account("CORP\\admin", "admin")
    assert not same_account(None, "admin")


def test_devbox_without_any_user() -> None:
    msgs = problems("h", {"docker_desktop_sha256": SHA_A}, ("devboxes",))
    assert any("winfra_user" in m and "per user" in m for m in msgs)


def test_relocations_validated() -> None:
    s = settings_for("h", devbox(wsl_relocations={"Ubuntu": "D:\\WSL\\Ubuntu\\"}), ("devboxes",))
    assert s.wsl_relocations == {"Ubuntu": "D:\\WSL\\Ubuntu"}

    msgs = problems(
        "h",
        devbox(
            wsl_relocations={
                "docker-desktop": "D:\\dd",
                "Debian": "relative\\path",
                "Ubuntu": "\\\\server\\share\\u",
                "A": "E:\\same",
                "B": "e:\\SAME",
                "C": "F:\\",
                "D": "F:\\x\\..\\y",
            }
        ),
        ("devboxes",),
    )
    joined = "\n".join(msgs)
    assert "'docker-desktop' belongs to Docker Desktop" in joined
    assert "'relative\\\\path' is not an absolute local Windows path" in joined
    assert "server" in joined  # the UNC path is rejected too
    assert "'B' and 'A' both go to" in joined or "'A' and 'B' both go to" in joined
    assert "'C' 'F:\\\\' is a bare drive" in joined and "use a directory such as F:\\WSL\\C" in joined
    assert "location of 'D'" in joined
    assert len(msgs) == 6


def test_wsl_settings_shape() -> None:
    s = settings_for("h", devbox(wsl_settings={"wsl2": {"memory": "8GB", "swap": None}}), ("devboxes",))
    assert s.wsl_settings == {"wsl2": {"memory": "8GB", "swap": None}}
    msgs = problems("h", devbox(wsl_settings={"wsl2": "memory=8GB"}), ("devboxes",))
    assert "section 'wsl2'" in msgs[0]
    msgs = problems("h", devbox(wsl_settings={"wsl2": {"a=b": 1, "x": {"nested": 1}}}), ("devboxes",))
    assert len(msgs) == 2


def test_wsl_keys_on_container_host_are_errors() -> None:
    msgs = problems("h", ctr(wsl_relocations={"Ubuntu": "D:\\u"}), ("container_hosts",))
    assert any("wsl_relocations" in m and "container host" in m for m in msgs)


def test_linux_only_daemon_keys_rejected() -> None:
    msgs = problems(
        "h", ctr(docker_daemon_config={"default-address-pools": [], "debug": True}), ("container_hosts",)
    )
    assert "default-address-pools" in msgs[0]


def test_unknown_key_suggests_close_match() -> None:
    msgs = problems("h", devbox(docker_desktop_sha265=SHA_A), ("devboxes",))
    assert "docker_desktop_sha265" in msgs[0] and "did you mean docker_desktop_sha256" in msgs[0]


def test_choices_and_integers() -> None:
    msgs = problems(
        "h",
        ctr(reboot_policy="sometimes", reboot_batch=-1, reboot_timeout_sec=True, docker_isolation="vm"),
        ("container_hosts",),
    )
    joined = "\n".join(msgs)
    assert "'sometimes' is not one of auto, never" in joined
    assert "reboot_batch" in joined and "reboot_timeout_sec" in joined
    assert "'vm' is not one of process, hyperv" in joined


def test_sim_placeholder_only_for_winsim_hosts() -> None:
    s = settings_for("@winsim/devbox11", devbox(docker_desktop_sha256=SIM_AUTO_SHA256), ("devboxes",))
    assert s.sim_placeholders == ("docker_desktop_sha256",)
    msgs = problems("@winrm/dev1", devbox(docker_desktop_sha256=SIM_AUTO_SHA256), ("devboxes",))
    assert "simulated hosts only" in msgs[0]


def test_msi_url_requires_sha256() -> None:
    msgs = problems("h", devbox(wsl_msi_url="https://example.invalid/wsl.msi"), ("devboxes",))
    assert "wsl_msi_sha256" in msgs[0] and "wsl_msi_url is set" in msgs[0]


def test_all_problems_reported_together() -> None:
    msgs = problems("h", {"winfra_role": "devbox", "reboot_batch": "x", "docker_desktop_backend": "kvm"})
    assert len(msgs) >= 4  # sha256, user, reboot_batch, backend


def test_common_reboot_batch() -> None:
    assert common_reboot_batch([None, 0, 0]) == 0
    assert common_reboot_batch([0, 3, None, 2, "x", True, -1]) == 2
    assert common_reboot_batch([]) == 0


def test_wsl_distros_is_refused_with_the_way_out() -> None:
    msgs = problems("h", devbox(wsl_distros=["Ubuntu"]), ("devboxes",))
    assert len(msgs) == 1 and "wsl_distros" in msgs[0] and "wsl --install -d Ubuntu" in msgs[0]


def test_group_members_on_container_host_and_group_on_devbox() -> None:
    msgs = problems("h", ctr(docker_group_members=["alice"]), ("container_hosts",))
    assert "docker_group_members" in msgs[0] and "Add-LocalGroupMember" in msgs[0]
    msgs = problems("h", devbox(docker_group="docker"), ("devboxes",))
    assert "docker_group" in msgs[0] and "docker-users" in msgs[0]
    s = settings_for("h", devbox(docker_group_members=["alice"]), ("devboxes",))
    assert s.docker_group is None and s.docker_group_members == ("alice",)


def test_daemon_config_validated_against_the_target_engine() -> None:
    msgs = problems(
        "h", ctr(docker_daemon_config={"log-level": "info", "no-such-key": 1}), ("container_hosts",)
    )
    assert any("no-such-key" in m for m in msgs)
    msgs = problems("h", ctr(docker_daemon_config={"debug": "yes"}), ("container_hosts",))
    assert any("debug" in m for m in msgs)
    # Docker Desktop's Linux engine accepts Linux keys.
    s = settings_for("h", devbox(docker_daemon_config={"default-address-pools": []}), ("devboxes",))
    assert "default-address-pools" in s.daemon_config


def test_wsl_settings_checked_by_wsl_rules() -> None:
    msgs = problems("h", devbox(wsl_settings={"wsl2": {"memory": "1.5GB"}}), ("devboxes",))
    assert any("wsl_settings" in m and "memory" in m for m in msgs)


def test_role_for_is_the_cheap_role_lookup() -> None:
    from winfra.deploy_settings import role_for

    assert role_for({}, ["devboxes"]) == "devbox"
    assert role_for({"winfra_role": "container_host"}, ["devboxes"]) == "container_host"
    assert role_for({"winfra_role": "kvm"}, []) is None
    assert role_for({}, ["devboxes", "container_hosts"]) is None


def test_reboot_batches_per_role_are_computed_once_per_inventory() -> None:
    from types import SimpleNamespace

    from winfra.deploy_settings import reboot_batches

    class Inventory:
        """Stands in for pyinfra's Inventory: iterable hosts, hashable, weak-referenceable."""

        def __init__(self, hosts: list[SimpleNamespace]) -> None:
            self.hosts = list(hosts)

        def __iter__(self):  # type: ignore[no-untyped-def]
            return iter(self.hosts)

        def append(self, other: SimpleNamespace) -> None:
            self.hosts.append(other)

    def h(role: str | None, batch: object, groups: tuple[str, ...] = ()) -> SimpleNamespace:
        return SimpleNamespace(data={"winfra_role": role, "reboot_batch": batch}, groups=groups)

    inventory = Inventory(
        [
            h("container_host", 3),
            h("container_host", 2),
            h(None, 5, ("container_hosts",)),
            h("devbox", None),
            h("devbox", "x"),  # not an integer: ignored (that host fails its own check)
        ]
    )
    assert reboot_batches(inventory) == {"container_host": 2, "devbox": 0}
    inventory.append(h("container_host", 1))
    # Cached for the inventory: pyinfra runs the deploy per host against one complete inventory.
    assert reboot_batches(inventory)["container_host"] == 2
    assert reboot_batches(Inventory(inventory))["container_host"] == 1
