"""Docker end to end: pyinfra's real State and operation pipeline, the @winrm connector, the
simulator's WinRM endpoint over HTTP + NTLM, the shell layer and the script counterparts
(winfra/sim/scripts/docker_*.py, acquire_file.py) on the bundled host profiles.

dockerd's behaviour (daemon.json parsing and its error texts, --validate from 23.0, the service's
baked flags) and the installers are modelled in winfra/sim/models/docker.py; artifacts are real
zips / synthetic executables with real SHA-256s published on the simulated network.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from _winrm_harness import endpoint_host_data, run_steps
from pyinfra.api import State

from winfra.operations import docker
from winfra.powershell.scripts import load_script
from winfra.sim.models import docker as dm
from winfra.sim.models.host import SimHost, reset
from winfra.sim.shell.executor import host_endpoint

FAST_BOOT = {"boot": {"downtime_s": 0.15, "readiness_delay_s": 0.1}}
FAST_REBOOT = {"delay": 0, "poll_interval": 0.05, "connect_timeout": 2, "timeout": 30}
ACCOUNTS = {
    "win11-devbox": ("winrm-admin", "Winsim-Adm1n!"),
    "server2022": ("Administrator", "Winsim-Srv-Adm1n!"),
}
ENGINE_DIR = r"C:\Program Files\Docker"
# A dev box ready for Desktop's WSL 2 backend (windows-facts.md B.7: VMP on, WSL 2.1.5+).
WSL_READY = {
    "features": {"optional": {"VirtualMachinePlatform": {"state": "Enabled"}}},
    "wsl": {"package": {"kind": "package", "version": "2.3.26.0"}},
}


class Lab:
    def __init__(self, tmp_path: Path) -> None:
        self.state_dir = tmp_path / "winsim"
        self.sims: dict[str, SimHost] = {}
        self.endpoints: dict[str, Any] = {}
        self.profiles: dict[str, str] = {}

    def add(self, name: str, profile: str, overrides: dict[str, Any] | None = None) -> SimHost:
        merged = dict(FAST_BOOT)
        merged.update(overrides or {})
        sim = SimHost.load(name, profile=profile, overrides=merged, state_dir=self.state_dir)
        self.sims[name] = sim
        self.profiles[name] = profile
        self.endpoints[name] = host_endpoint(sim)
        return sim

    def run(self, steps: list[tuple[Any, dict[str, Any]]], **config: Any) -> State:
        hosts = [
            (f"@winrm/{name}", endpoint_host_data(self.endpoints[name], *ACCOUNTS[self.profiles[name]]))
            for name in self.sims
        ]
        return run_steps(hosts, steps, **config)

    def close(self) -> None:
        for endpoint in self.endpoints.values():
            endpoint.stop()
        reset(self.state_dir)


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[Lab]:
    lab = Lab(tmp_path)
    yield lab
    lab.close()


def failed(state: State) -> set[str]:
    return {h.name for h in state.failed_hosts}


def writes(sim: SimHost) -> dict[str, int]:
    """How often each write-mode script ran (run_as_user is the run-as transport, not a change)."""
    scripts = sim.counters.snapshot()["scripts"]
    assert isinstance(scripts, dict)
    return {k: v for k, v in scripts.items() if k != "run_as_user" and load_script(k).mode == "write"}


def engine_op(art: dm.Artifact, version: str, **kw: Any) -> tuple[Any, dict[str, Any]]:
    return (
        docker.engine,
        {
            "version": version,
            "source": art.url,
            "sha256": art.sha256(),
            "timeout": 10,
            "reboot_options": FAST_REBOOT,
            **kw,
        },
    )


def dockerd_version(sim: SimHost) -> str | None:
    return dm.file_version(sim, ENGINE_DIR + r"\dockerd.exe")


# =============================================================================================
# server2022: the native engine
# =============================================================================================


def test_fresh_install_then_rerun_changes_nothing(lab: Lab) -> None:
    sim = lab.add("srv", "server2022")
    art = dm.add_engine_release(sim, "27.3.1")
    steps = [engine_op(art, "27.3.1"), (docker.daemon_config, {"config": {"group": "docker-users"}})]

    state = lab.run(steps)

    assert failed(state) == set()
    assert sim.features.get("Containers").state == "Installed"  # type: ignore[union-attr]
    assert sim.counters.reboots == 1  # the Containers feature needed one
    assert dockerd_version(sim) == "27.3.1"
    svc = sim.services.get("docker")
    assert svc is not None and svc.state == "Running" and svc.start_type == "Automatic"
    # Registered by dockerd itself, no daemon flags baked in (windows-facts C.2).
    assert svc.image_path == f'"{ENGINE_DIR}\\dockerd.exe" --run-service --service-name docker'
    assert ENGINE_DIR in sim.machine_path().split(";")
    # daemon.json: UTF-8 without BOM, the group created first, the engine restarted with it.
    raw = sim.fs.read_bytes(dm.DAEMON_JSON)
    assert not raw.startswith(b"\xef\xbb\xbf")
    assert json.loads(raw) == {"group": "docker-users"}
    assert sim.users.group("docker-users") is not None
    assert sim.docker.engine.running_config == {"group": "docker-users"}
    # The zip sits verified in the content-addressed cache.
    assert sim.fs.sha256(rf"C:\ProgramData\winfra\cache\{art.sha256()}\docker-27.3.1.zip") == art.sha256()

    before = writes(sim)
    changes = sim.counters.snapshot()["state_changes"]
    state = lab.run(steps)
    assert failed(state) == set()
    assert writes(sim) == before  # no write script ran again
    assert sim.counters.snapshot()["state_changes"] == changes
    assert sim.counters.reboots == 1


def test_upgrade_keeps_previous_binaries_and_config(lab: Lab) -> None:
    sim = lab.add("srv", "server2022")
    old = dm.add_engine_release(sim, "26.1.4")
    new = dm.add_engine_release(sim, "27.3.1")
    lab.run([engine_op(old, "26.1.4"), (docker.daemon_config, {"config": {"log-level": "warn"}})])
    assert dockerd_version(sim) == "26.1.4"

    state = lab.run([engine_op(new, "27.3.1")])

    assert failed(state) == set()
    assert dockerd_version(sim) == "27.3.1"
    assert dm.file_version(sim, ENGINE_DIR + r"\.winfra-previous\dockerd.exe") == "26.1.4"
    assert sim.services.get("docker").state == "Running"  # type: ignore[union-attr]
    assert sim.docker.engine.running_config == {"log-level": "warn"}
    assert sim.machine_path().split(";").count(ENGINE_DIR) == 1


def test_upgrade_that_does_not_start_rolls_back(lab: Lab) -> None:
    sim = lab.add("srv", "server2022")
    old = dm.add_engine_release(sim, "20.10.24")
    new = dm.add_engine_release(sim, "27.3.1")
    lab.run([engine_op(old, "20.10.24")])
    # A daemon.json 20.10 accepts but 23.0+ does not ("graph" was removed in 23.0).
    sim.fs.write_bytes(dm.DAEMON_JSON, b'{"graph": "C:\\\\docker"}', make_parents=True)

    state = lab.run([engine_op(new, "27.3.1")])

    assert failed(state) == {"@winrm/srv"}
    assert dockerd_version(sim) == "20.10.24"  # rolled back
    assert sim.services.get("docker").state == "Running"  # type: ignore[union-attr]
    assert "graph" in (sim.docker.engine.running_config or {})


def test_bad_daemon_json_is_rolled_back_with_the_daemon_still_running(lab: Lab) -> None:
    sim = lab.add("srv", "server2022", {"volumes": {"D": {"total_gb": 50, "used_gb": 1}}})
    art = dm.add_engine_release(sim, "27.3.1")
    lab.run([engine_op(art, "27.3.1"), (docker.daemon_config, {"config": {"log-level": "info"}})])
    good = sim.fs.read_bytes(dm.DAEMON_JSON)

    # Valid JSON and valid keys (so the controller and dockerd --validate accept it), but the
    # daemon cannot start: data-root on a drive the host does not have.
    state = lab.run([(docker.daemon_config, {"config": {"log-level": "info", "data-root": "Q:\\docker"}})])

    assert failed(state) == {"@winrm/srv"}
    assert sim.fs.read_bytes(dm.DAEMON_JSON) == good
    assert sim.services.get("docker").state == "Running"  # type: ignore[union-attr]
    assert sim.docker.engine.running_config == {"log-level": "info"}
    assert any("Q:\\docker" in e["message"] for e in sim.docker.events if e["level"] == "Error")


def test_checksum_mismatch_deletes_the_download_and_changes_nothing(
    lab: Lab, caplog: pytest.LogCaptureFixture
) -> None:
    sim = lab.add("srv", "server2022", {"features": {"server": {"Containers": {"state": "Installed"}}}})
    art = dm.add_engine_release(sim, "27.3.1")
    wrong = "0" * 64

    state = lab.run(
        [(docker.engine, {"version": "27.3.1", "source": art.url, "sha256": wrong, "timeout": 10})]
    )

    assert failed(state) == {"@winrm/srv"}
    assert dockerd_version(sim) is None
    assert sim.services.get("docker") is None
    assert not sim.fs.exists(rf"C:\ProgramData\winfra\cache\{wrong}\docker-27.3.1.zip")
    assert not sim.fs.exists(rf"C:\ProgramData\winfra\cache\{wrong}\docker-27.3.1.zip.partial")
    assert f"checksum mismatch for {art.url}: expected sha256 {wrong}, got {art.sha256()}" in caplog.text


def test_linux_only_key_refused_before_any_change(lab: Lab) -> None:
    sim = lab.add("srv", "server2022")
    art = dm.add_engine_release(sim, "27.3.1")
    lab.run([engine_op(art, "27.3.1")])
    before = writes(sim)

    with pytest.raises(
        Exception, match="Linux-only keys the Windows engine does not accept: default-address-pools"
    ):
        lab.run(
            [
                (
                    docker.daemon_config,
                    {"config": {"default-address-pools": [{"base": "10.0.0.0/8", "size": 24}]}},
                )
            ]
        )

    assert writes(sim) == before
    assert not sim.fs.exists(dm.DAEMON_JSON)


def test_hosts_flag_conflict_is_refused_naming_both(lab: Lab, caplog: pytest.LogCaptureFixture) -> None:
    sim = lab.add("srv", "server2022")
    art = dm.add_engine_release(sim, "27.3.1")
    lab.run([engine_op(art, "27.3.1")])
    # As install-docker-ce or a hand registration leaves it: -H baked into the ImagePath.
    svc = sim.services.get("docker")
    assert svc is not None
    svc.image_path += " -H npipe:// -H tcp://0.0.0.0:2375"
    sim.save()

    before = writes(sim)
    caplog.clear()

    state = lab.run([(docker.daemon_config, {"config": {"hosts": ["npipe://"]}})])

    assert failed(state) == {"@winrm/srv"}
    errors = [r.getMessage() for r in caplog.records if r.levelname == "ERROR"]
    assert any("'hosts' is set both in daemon.json and as a flag" in m for m in errors)
    assert any("tcp://0.0.0.0:2375" in m and "from file: ['npipe://']" in m for m in errors)
    assert not sim.fs.exists(dm.DAEMON_JSON)
    assert writes(sim) == before
    assert sim.services.get("docker").state == "Running"  # type: ignore[union-attr]


# =============================================================================================
# win11-devbox: Docker Desktop
# =============================================================================================


def desktop_op(art: dm.Artifact, version: str, **kw: Any) -> tuple[Any, dict[str, Any]]:
    return (docker.desktop, {"version": version, "source": art.url, "sha256": art.sha256(), **kw})


def test_desktop_install_upgrade_and_docker_users(lab: Lab) -> None:
    sim = lab.add("dev", "win11-devbox", WSL_READY)
    v1 = dm.add_desktop_release(sim, "4.36.0", 175267)
    v2 = dm.add_desktop_release(sim, "4.37.1", 178610)

    state = lab.run([desktop_op(v1, "4.36.0", users=["dev"])])

    assert failed(state) == set()
    assert sim.registry.get(dm.DESKTOP_UNINSTALL_KEY, "DisplayVersion") == "4.36.0"
    assert sim.users.is_member("dev", "docker-users")
    assert sim.users.is_member("winrm-admin", "docker-users")  # the installing user (B.4)
    assert sim.docker.desktop.running is False  # never pretends to start Desktop
    log = sim.fs.read_bytes(dm.DESKTOP_ADMIN_LOG).decode()
    assert "--accept-license" in log and "--backend=wsl-2" in log

    before = writes(sim)
    state = lab.run([desktop_op(v1, "4.36.0", users=["dev"])])
    assert failed(state) == set()
    assert writes(sim) == before

    state = lab.run([desktop_op(v2, "4.37.1", users=["dev"])])
    assert failed(state) == set()
    assert sim.registry.get(dm.DESKTOP_UNINSTALL_KEY, "DisplayVersion") == "4.37.1"


def test_desktop_installer_failure_reports_the_log(lab: Lab) -> None:
    sim = lab.add("dev", "win11-devbox", WSL_READY)
    sim.set_faults([{"step": "docker:desktop_install", "installer_exit_code": 1603}])
    art = dm.add_desktop_release(sim, "4.36.0", 175267)

    state = lab.run([desktop_op(art, "4.36.0")])

    assert failed(state) == {"@winrm/dev"}
    assert sim.registry.get(dm.DESKTOP_UNINSTALL_KEY, "DisplayVersion") is None
    assert sim.faults.unfired() == []


def test_desktop_refused_without_wsl2_and_on_server(lab: Lab) -> None:
    dev = lab.add("dev", "win11-devbox")  # VirtualMachinePlatform disabled, inbox WSL
    srv = lab.add("srv", "server2022")
    for sim in (dev, srv):
        dm.add_desktop_release(sim, "4.36.0", 175267)
    art = dev.docker.network.get(dm.desktop_url(175267))
    assert art is not None

    state = lab.run([desktop_op(art, "4.36.0")])

    assert failed(state) == {"@winrm/dev", "@winrm/srv"}
    for sim in (dev, srv):
        assert sim.registry.get(dm.DESKTOP_UNINSTALL_KEY, "DisplayVersion") is None
        assert "docker_desktop_install" not in writes(sim)
        assert "acquire_file" not in writes(sim)


# =============================================================================================
# acquisition sources, Desktop daemon files, old engines, smoke test
# =============================================================================================


def test_controller_file_and_unc_sources_are_verified_and_cached(lab: Lab, tmp_path: Path) -> None:
    sim = lab.add("srv", "server2022", {"features": {"server": {"Containers": {"state": "Installed"}}}})
    local = tmp_path / "docker-27.3.1.zip"
    local.write_bytes(dm.engine_zip("27.3.1"))
    art = dm.add_engine_release(sim, "27.3.1")  # same bytes, to compare the hash
    cache = rf"C:\ProgramData\winfra\cache\{art.sha256()}\docker-27.3.1.zip"

    state = lab.run(
        [(docker.engine, {"version": "27.3.1", "source": str(local), "sha256": art.sha256(), "timeout": 10})]
    )

    assert failed(state) == set()
    assert dockerd_version(sim) == "27.3.1"
    assert sim.fs.sha256(cache) == art.sha256()
    assert not sim.fs.exists(cache + ".upload")

    # A 28.0.1 zip on a share: copied on the host, no upload.
    unc = r"\\fileserver\mirror\docker\docker-28.0.1.zip"
    share = dm.add_engine_release(sim, "28.0.1", url=unc)
    uploads = sim.counters.snapshot()["scripts"].get("put_file", 0)
    state = lab.run(
        [(docker.engine, {"version": "28.0.1", "source": unc, "sha256": share.sha256(), "timeout": 10})]
    )
    assert failed(state) == set()
    assert dockerd_version(sim) == "28.0.1"
    assert sim.counters.snapshot()["scripts"].get("put_file", 0) == uploads


def test_bom_file_on_an_old_engine_is_rewritten_without_bom(lab: Lab) -> None:
    sim = lab.add("srv", "server2022", {"features": {"server": {"Containers": {"state": "Installed"}}}})
    art = dm.add_engine_release(sim, "20.10.24")
    lab.run([engine_op(art, "20.10.24")])
    # What Set-Content -Encoding UTF8 writes on PS 5.1 (windows-facts C.4 "BOM trap").
    sim.fs.write_bytes(dm.DAEMON_JSON, b'\xef\xbb\xbf{"log-level": "info"}', make_parents=True)
    assert dm.start_engine(sim, "docker") is not None  # 20.10 refuses the BOM
    assert "invalid character 'ï'" in (sim.docker.engine.last_error or "")
    sim.save()

    state = lab.run([(docker.daemon_config, {"config": {"log-level": "info"}})])

    assert failed(state) == set()
    raw = sim.fs.read_bytes(dm.DAEMON_JSON)
    assert raw.startswith(b"{") and json.loads(raw) == {"log-level": "info"}
    assert sim.services.get("docker").state == "Running"  # type: ignore[union-attr]


def test_desktop_daemon_json_in_the_users_profile(lab: Lab) -> None:
    sim = lab.add("dev", "win11-devbox", WSL_READY)
    art = dm.add_desktop_release(sim, "4.36.0", 175267)
    config = {
        "builder": {"gc": {"defaultKeepStorage": "20GB", "enabled": True}},
        "features": {"buildkit": True},
    }
    steps = [
        desktop_op(art, "4.36.0", users=["dev"]),
        (docker.daemon_config, {"config": config, "target": "desktop", "user": "dev"}),
    ]

    state = lab.run(steps)

    assert failed(state) == set()
    raw = sim.fs.read_bytes(r"C:\Users\dev\.docker\daemon.json")
    assert not raw.startswith(b"\xef\xbb\xbf") and json.loads(raw) == config
    before = writes(sim)
    assert failed(lab.run(steps)) == set()
    assert writes(sim) == before


def test_smoke_test_matches_the_host_and_explains_a_mismatch(
    lab: Lab, caplog: pytest.LogCaptureFixture
) -> None:
    sim = lab.add("srv", "server2022", {"features": {"server": {"Containers": {"state": "Installed"}}}})
    art = dm.add_engine_release(sim, "27.3.1")
    lab.run([engine_op(art, "27.3.1")])

    state = lab.run([(docker.smoke_test, {})])
    assert failed(state) == set()

    caplog.clear()
    state = lab.run(
        [(docker.smoke_test, {"image": "hello-world:nanoserver-ltsc2025", "isolation": "process"})]
    )
    assert failed(state) == {"@winrm/srv"}
    assert "does not match this host (build 20348; error 0xc0370101)" in caplog.text
    assert "ltsc2022 (process)" in caplog.text


def test_install_docker_ce_host_is_migrated_not_skipped(lab: Lab, caplog: pytest.LogCaptureFixture) -> None:
    """install-docker-ce.ps1's layout (windows-facts C.1): dockerd 20.10 in System32, -H flags baked
    into the service, daemon.json written with a BOM. winfra does not skip because a docker
    service exists: it installs the pinned engine, re-registers without flags and says so."""
    sim = lab.add("srv", "server2022", {"features": {"server": {"Containers": {"state": "Installed"}}}})
    dm.install_engine_files(sim, "20.10.24", r"C:\Windows\System32")
    dm.register_service(sim, r"C:\Windows\System32\dockerd.exe", ["--register-service", "-H", "npipe://"])
    sim.fs.write_bytes(dm.DAEMON_JSON, b'\xef\xbb\xbf{"hosts": ["npipe://"]}', make_parents=True)
    assert "invalid character" in (dm.start_engine(sim, "docker") or "")
    sim.save()
    art = dm.add_engine_release(sim, "27.3.1")
    steps = [engine_op(art, "27.3.1"), (docker.daemon_config, {"config": {"hosts": ["npipe://"]}})]

    state = lab.run(steps)

    assert failed(state) == set()
    svc = sim.services.get("docker")
    assert svc is not None and svc.state == "Running"
    assert svc.image_path == f'"{ENGINE_DIR}\\dockerd.exe" --run-service --service-name docker'
    assert "dropped the flags it had baked in: -H npipe://" in caplog.text
    assert sim.fs.read_bytes(dm.DAEMON_JSON) == b'{\n  "hosts": [\n    "npipe://"\n  ]\n}\n'
    before = writes(sim)
    assert failed(lab.run(steps)) == set()
    assert writes(sim) == before


def test_desktop_installer_3010_is_success_with_a_reboot_note(
    lab: Lab, caplog: pytest.LogCaptureFixture
) -> None:
    sim = lab.add("dev", "win11-devbox", WSL_READY)
    sim.set_faults([{"step": "docker:desktop_install", "installer_exit_code": 3010}])
    art = dm.add_desktop_release(sim, "4.36.0", 175267)

    state = lab.run([desktop_op(art, "4.36.0", users=["dev"])])

    assert failed(state) == set()
    assert sim.registry.get(dm.DESKTOP_UNINSTALL_KEY, "DisplayVersion") == "4.36.0"
    assert "the installer asks for a reboot (exit 3010)" in caplog.text
    assert "added dev to docker-users; they must sign out and in" in caplog.text
    assert sim.faults.unfired() == []


def test_desktop_data_location_by_documented_means_only(lab: Lab, caplog: pytest.LogCaptureFixture) -> None:
    sim = lab.add("dev", "win11-devbox", WSL_READY)
    art = dm.add_desktop_release(sim, "4.36.0", 175267)
    move = (docker.desktop_data_location, {"location": "D:\\docker-data", "user": "dev"})
    settings = r"C:\Users\dev\AppData\Roaming\Docker\settings-store.json"
    # Desktop's own settings survive the edit.
    sim.fs.write_bytes(settings, b'{"autoStart": false, "wslEngineEnabled": true}', make_parents=True)

    state = lab.run([desktop_op(art, "4.36.0", users=["dev"]), move])

    assert failed(state) == set()
    assert json.loads(sim.fs.read_bytes(settings)) == {
        "autoStart": False,
        "wslEngineEnabled": True,
        "customWslDistroDir": "D:\\docker-data",
    }
    before = writes(sim)
    assert failed(lab.run([move])) == set()
    assert writes(sim) == before

    # Desktop ran and has data now: moving it again is Desktop's job, not winfra's.
    sim.fs.write_bytes(r"D:\docker-data\DockerDesktopWSL\disk\docker_data.vhdx", b"data", make_parents=True)
    caplog.clear()
    state = lab.run([(docker.desktop_data_location, {"location": "D:\\docker-data2", "user": "dev"})])
    assert failed(state) == {"@winrm/dev"}
    assert "Only Docker Desktop moves it" in caplog.text
    assert json.loads(sim.fs.read_bytes(settings))["customWslDistroDir"] == "D:\\docker-data"


def test_desktop_engine_switch_needs_desktop_running_in_the_session(
    lab: Lab, caplog: pytest.LogCaptureFixture
) -> None:
    ready = {
        **WSL_READY,
        "features": {
            "optional": {
                "VirtualMachinePlatform": {"state": "Enabled"},
                "Containers": {"state": "Enabled"},
                "Microsoft-Hyper-V-All": {"state": "Enabled"},
                "Microsoft-Hyper-V": {"state": "Enabled"},
            }
        },
    }
    sim = lab.add("dev", "win11-devbox", ready)
    art = dm.add_desktop_release(sim, "4.37.1", 178610)
    switch = (docker.desktop_engine, {"engine": "windows", "user": "dev"})

    state = lab.run([desktop_op(art, "4.37.1", users=["dev"]), switch])
    assert failed(state) == {"@winrm/dev"}  # installed, but Desktop only starts at dev's logon
    assert "is not running in dev's session" in caplog.text
    assert sim.docker.desktop.engine_mode == "linux"

    sim.docker.desktop.running = True  # dev logged on and Desktop started
    sim.save()
    state = lab.run([switch])
    assert failed(state) == set()
    assert sim.docker.desktop.engine_mode == "windows"
    before = writes(sim)
    assert failed(lab.run([switch])) == set()
    assert writes(sim) == before
