"""A realistic lab inventory for winfra: `pyinfra inventories/lab.py deploys/docker_host.py`.

pyinfra 3 reads every module-level list/tuple whose name does not start with "_" as a group
(pyinfra_cli/inventory.py): ``group = ([("@winrm/host", {host data}), ...], {group data})``.
Host data overrides group data. Helpers and constants here therefore start with "_".

Secrets come from the environment of the pyinfra process, never from files in this repository:
  WINFRA_WINRM_USER          connection account (default LAB\\winfra-admin)
  WINFRA_WINRM_PASSWORD      its password
  WINFRA_USER_PASSWORD_<U>   password of target user <U> (winfra_user), needed only when the
                             target user is not the connection account (e.g. ..._ALICE)

Hosts can also be listed without Python in inventories/lab.yml (format: lab.example.yml);
it is merged in when present. Each host needs the bootstrap script run once
(winfra/scripts/bootstrap/Enable-WinfraRemoting.ps1) and its exported certificate copied to
inventories/certs/<short name>.cer (winrm_ca_trust_path below).

Every host-data key and its default is listed in README.md.
"""

from pathlib import Path

from winfra.inventory import (
    env_password,
    env_secret,
    load_yaml_inventory,
    merge_groups,
    user_password_variable,
)

_HERE = Path(__file__).resolve().parent
_CERTS = _HERE / "certs"

# Pinned artifacts. REPLACE the sha256 placeholders with the digests of the files you tested
# (Docker's release notes, or Get-FileHash -Algorithm SHA256 on a trusted copy). Until then the
# deploy stops each host with "docker_desktop_sha256: ... is not a sha256" before any change.
_DESKTOP_VERSION = "4.37.1"
_DESKTOP_SHA256 = "REPLACE-WITH-THE-SHA256-OF-Docker-Desktop-Installer.exe"
_ENGINE_VERSION = "27.5.1"  # https://download.docker.com/win/static/stable/x86_64/docker-27.5.1.zip
_ENGINE_SHA256 = "REPLACE-WITH-THE-SHA256-OF-docker-27.5.1.zip"


def _connection(short_name: str) -> dict:
    """WinRM connection data shared by every lab host (HTTPS 5986, NTLM, validated certificate)."""
    return {
        "winrm_user": env_secret("WINFRA_WINRM_USER") or "LAB\\winfra-admin",
        "winrm_password": env_password("WINFRA_WINRM_PASSWORD"),
        "winrm_transport": "ntlm",
        "winrm_scheme": "https",
        "winrm_port": 5986,
        "winrm_cert_validation": "validate",
        # The public certificate Enable-WinfraRemoting.ps1 exported on that host. A host given
        # winrm_cert_thumbprint (the Thumbprint the script printed) trusts that pin instead.
        "winrm_ca_trust_path": str(_CERTS / f"{short_name}.cer"),
    }


def _trust(data: dict) -> dict:
    """A pinned thumbprint replaces the exported certificate (the connector accepts one of them)."""
    if data.get("winrm_cert_thumbprint"):
        data.pop("winrm_ca_trust_path", None)
    return data


def _devbox(fqdn: str, user: str, **data: object) -> tuple[str, dict]:
    short = fqdn.split(".", 1)[0]
    host_data = _connection(short)
    host_data.update(
        {
            "winfra_user": user,
            # Only read when `user` differs from the connection account (runas via a scheduled task).
            "winfra_user_password": env_password(user_password_variable(user)),
        }
    )
    host_data.update(data)
    return (f"@winrm/{fqdn}", _trust(host_data))


def _container_host(fqdn: str, **data: object) -> tuple[str, dict]:
    host_data = _connection(fqdn.split(".", 1)[0])
    host_data.update(data)
    return (f"@winrm/{fqdn}", _trust(host_data))


devboxes = (
    [
        # Windows 11 23H2 workstation: WSL2 backend, alice's Ubuntu moved off the system disk
        # (winfra moves distros the user installed; it does not install distros).
        _devbox(
            "dev1.example.lab",
            "alice",
            wsl_relocations={"Ubuntu": "D:\\WSL\\Ubuntu"},
        ),
        # Windows 10 22H2 (build 19045, the minimum Docker Desktop supports): smaller VM.
        _devbox(
            "dev2.example.lab",
            "bob",
            wsl_settings={"wsl2": {"memory": "4GB", "processors": 2, "swap": "1GB"}},
        ),
    ],
    {
        "winfra_role": "devbox",
        "docker_desktop_version": _DESKTOP_VERSION,
        "docker_desktop_sha256": _DESKTOP_SHA256,
        "docker_desktop_backend": "wsl-2",
        "wsl_settings": {
            "wsl2": {"memory": "8GB", "processors": 4, "swap": "2GB"},
            "experimental": {"autoMemoryReclaim": "gradual"},
        },
        "docker_daemon_config": {"log-level": "info"},
        "reboot_policy": "auto",
        "reboot_batch": 1,  # one workstation at a time
    },
)

container_hosts = (
    [
        # Windows Server 2022 (build 20348): process isolation, ltsc2022 images.
        _container_host("ctr1.example.lab"),
        # Windows Server 2025 (build 26100): Hyper-V isolation (runs ltsc2022 and ltsc2025 images).
        _container_host("ctr2.example.lab", docker_isolation="hyperv"),
    ],
    {
        "winfra_role": "container_host",
        "docker_engine_version": _ENGINE_VERSION,
        "docker_engine_sha256": _ENGINE_SHA256,
        "docker_isolation": "process",
        "docker_group": "docker-users",
        "docker_daemon_config": {"data-root": "D:\\docker", "log-level": "info"},
        "reboot_policy": "auto",
        "reboot_batch": 1,  # one container host at a time: the fleet keeps serving while they reboot
        "docker_smoke_test": True,
    },
)


def _with_lab_defaults(name: str, yaml_data: dict) -> tuple[str, dict]:
    """A YAML host gets the same connection data and target-user password as the hosts above."""
    fqdn = name.split("/", 1)[-1]
    data = _connection(fqdn.split(".", 1)[0])
    user = yaml_data.get("winfra_user")
    if isinstance(user, str):
        data["winfra_user_password"] = env_password(user_password_variable(user))
    data.update(yaml_data)  # the YAML file's vars win over these defaults
    return (name, _trust(data))


# Optional YAML host file next to this one (format: inventories/lab.example.yml).
_YAML = _HERE / "lab.yml"
if _YAML.exists():
    _yaml_groups = {
        _group: [_with_lab_defaults(_name, _data) for _name, _data in _entries]
        for _group, _entries in load_yaml_inventory(_YAML).items()
    }
    # Groups only the YAML file defines become module globals too (pyinfra reads them as groups).
    globals().update(merge_groups({"devboxes": devboxes, "container_hosts": container_hosts}, _yaml_groups))
