"""Host profiles: ``winfra/sim/profiles/<name>.yml`` deep-merged with host data ``winsim_overrides``.

A profile is YAML with these top-level keys (all optional except ``os``); mappings keyed by name
so an override can change one entry (lists replace, ``null`` deletes):

``os``          OSInfo fields (edition, caption, product_type, build, ubr, display_version, ...)
``hardware``    Hardware fields
``volumes``     {letter: {total_gb, used_gb, label}}
``users``       {name: {password, groups: [...], has_profile, logged_on, auto_logon, rid}}
``groups``      {name: {description}} extra local groups
``features``    {optional: {Name: State | {state, restart_required, parent, display_name}},
                 server: {...}}
``registry``    list of {path, name, kind, data} (or {path} to create a key)
``services``    {name: {display_name, state, start_type, image_path}}
``files``       {path: text}  (UTF-8, no BOM)
``wsl``         {package: {kind, version, supports_manage_move}}
``docker``      {desktop: {...}, engine: {...}, downloads_dir}
``network``     list of {url, size | text, meta}
``winrm``       WinRMSettings fields
``boot``        {downtime_s, readiness_delay_s}
"""

from __future__ import annotations

import copy
import functools
import time
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from winfra.sim.models.docker import DockerDesktop, DockerEngine
from winfra.sim.models.registry import REG_DWORD, REG_EXPAND_SZ, REG_SZ

if TYPE_CHECKING:
    from winfra.sim.models.host import SimHost

GB = 1024**3


class ProfileError(ValueError):
    """A profile or an override is wrong; the message names the host, the setting and the fix."""


def profile_names() -> list[str]:
    return sorted(
        p.name[:-4] for p in resources.files("winfra.sim.profiles").iterdir() if p.name.endswith(".yml")
    )


@functools.lru_cache(maxsize=32)
def _parse_profile(text: str) -> dict[str, Any]:
    return yaml.safe_load(text) or {}


def load_profile(name: str, overrides: dict[str, Any] | None = None, *, host: str = "?") -> dict[str, Any]:
    """The merged data of profile ``name`` (a bundled name or a path to a .yml file)."""
    from winfra.sim.models.host import deep_merge

    if name.endswith((".yml", ".yaml")) and Path(name).is_file():
        text = Path(name).read_text("utf-8")
    else:
        res = resources.files("winfra.sim.profiles") / f"{name}.yml"
        if not res.is_file():
            raise ProfileError(
                f"host {host}: winsim_profile {name!r} does not exist; choose one of {profile_names()}"
            )
        text = res.read_text("utf-8")
    # Parsed once per text: a 50-host simulated fleet would otherwise parse the same few
    # profiles once per host (bench/fleet.py); callers get their own deep copy to mutate.
    data = copy.deepcopy(_parse_profile(text))
    data.pop("sources", None)
    if overrides:
        if not isinstance(overrides, dict):
            raise ProfileError(
                f"host {host}: winsim_overrides must be a mapping, got {type(overrides).__name__}"
            )
        data = deep_merge(data, overrides)
    data["profile"] = name
    return data


def build_host(host: SimHost, data: dict[str, Any]) -> None:
    """Fill a fresh :class:`SimHost` from merged profile data."""
    from winfra.sim.models import host as h

    where = f"host {host.name} (profile {data.get('profile', '?')})"
    host.profile_name = str(data.get("profile", ""))

    def fields_of(section: str, cls: type, raw: Any) -> Any:
        if raw is None:
            return cls()
        if not isinstance(raw, dict):
            raise ProfileError(f"{where}: {section} must be a mapping")
        known = set(cls.__dataclass_fields__)
        bad = set(raw) - known
        if bad:
            raise ProfileError(f"{where}: unknown {section} setting(s) {sorted(bad)}; known: {sorted(known)}")
        return cls(**raw)

    if "os" not in data:
        raise ProfileError(f"{where}: the profile has no 'os' section")
    host.os = fields_of("os", h.OSInfo, data["os"])
    if host.os.product_type not in ("workstation", "server"):
        raise ProfileError(f"{where}: os.product_type must be workstation or server")
    host.hardware = fields_of("hardware", h.Hardware, data.get("hardware"))
    host.winrm = fields_of("winrm", h.WinRMSettings, data.get("winrm"))
    host.boot = fields_of("boot", h.BootState, data.get("boot"))
    host.users = h.Users(h.machine_sid_for(host.name), host.os.computer_name)

    # Volumes.
    for letter, vol in (data.get("volumes") or {"C": {"total_gb": 127, "used_gb": 30}}).items():
        vol = vol or {}
        host.fs.add_volume(
            str(letter),
            int(vol.get("total_gb", 100) * GB),
            int(vol.get("used_gb", 0) * GB),
            str(vol.get("label", "")),
        )
    if "C" not in host.fs.volumes:
        raise ProfileError(f"{where}: volumes must include C")
    for d in (
        r"C:\Windows\System32",
        r"C:\Program Files",
        r"C:\Program Files (x86)",
        r"C:\ProgramData",
        r"C:\Users\Public",
    ):
        host.fs.mkdir(d)

    # Registry basics mirrored from the OS section (windows-facts E: CurrentBuild; D.4 names).
    reg = host.registry
    cv = h.CURRENT_VERSION
    reg.set_value(cv, "CurrentBuild", str(host.os.build))
    reg.set_value(cv, "CurrentBuildNumber", str(host.os.build))
    reg.set_value(cv, "UBR", host.os.ubr, REG_DWORD)
    reg.set_value(cv, "DisplayVersion", host.os.display_version)
    reg.set_value(cv, "EditionID", host.os.edition)
    reg.set_value(cv, "InstallationType", host.os.installation_type)
    # ProductName keeps saying "Windows 10 ..." on Windows 11 (build >= 22000) for compatibility;
    # the Win32_OperatingSystem caption is right
    # (https://learn.microsoft.com/answers/questions/555857/windows-11-product-name-in-registry,
    # https://github.com/microsoft/WindowsAppSDK/issues/1065).
    product_name = host.os.caption.removeprefix("Microsoft ")
    if not host.os.is_server and host.os.build >= 22000:
        product_name = product_name.replace("Windows 11", "Windows 10", 1)
    reg.set_value(cv, "ProductName", product_name)
    reg.set_value(cv, "CurrentMajorVersionNumber", 10, REG_DWORD)
    reg.set_value(cv, "CurrentMinorVersionNumber", 0, REG_DWORD)
    reg.set_value(h.COMPUTER_NAME_KEY, "ComputerName", host.os.computer_name)
    reg.set_value(h.ACTIVE_COMPUTER_NAME_KEY, "ComputerName", host.os.computer_name)
    reg.create_key(h.WINLOGON)
    reg.create_key(h.AUTOLOGON_CHECKED, volatile=True)
    reg.set_value(h.CBS_SERVICING_IN_PROGRESS, "ServicingInProgress", 0, REG_DWORD)
    reg.set_value(
        h.MACHINE_ENVIRONMENT,
        "Path",
        r"C:\Windows\system32;C:\Windows;C:\Windows\System32\Wbem;C:\Windows\System32\WindowsPowerShell\v1.0\;"
        r"C:\Windows\System32\OpenSSH\\",
        REG_EXPAND_SZ,
    )
    reg.create_key(h.UNINSTALL)
    reg.create_key(h.POLICIES_SYSTEM)
    reg.set_value(h.POLICIES_SYSTEM, "EnableLUA", 1, REG_DWORD)

    # Groups and users.
    for gname, g in (data.get("groups") or {}).items():
        host.users.add_group(str(gname), description=str((g or {}).get("description", "")))
    for uname, u in (data.get("users") or {}).items():
        u = dict(u or {})
        groups = u.pop("groups", [])
        password = u.pop("password", None)
        if not password:
            raise ProfileError(
                f"{where}: users.{uname} needs a password (the simulator authenticates with it)"
            )
        rid = u.pop("rid", None)
        has_profile = bool(u.pop("has_profile", False))
        logged_on = bool(u.pop("logged_on", False))
        try:
            host.users.add_user(str(uname), str(password), rid=rid, **u)
        except TypeError as exc:
            raise ProfileError(f"{where}: users.{uname}: {exc}") from None
        for g in groups:
            if host.users.group(g) is None:
                host.users.add_group(g)
            host.users.add_member(g, str(uname))
        if has_profile or logged_on:
            host.create_profile(str(uname))
        host.users.require(str(uname)).logged_on = logged_on
    if not any(host.users.is_admin(n) for n in host.users.users):
        raise ProfileError(f"{where}: no user is in Administrators; WinRM needs an admin")

    # Features (windows-facts D.2 names; Hyper-V is not on Home: D.2, D.5).
    feats = data.get("features") or {}
    for kind in ("optional", "server"):
        for fname, spec in (feats.get(kind) or {}).items():
            spec = {"state": spec} if isinstance(spec, str) else dict(spec or {})
            try:
                host.features.add(h.Feature(name=str(fname), kind=kind, **spec))
            except (TypeError, h.SimHostError) as exc:
                raise ProfileError(f"{where}: features.{kind}.{fname}: {exc}") from None
    if host.os.is_home and any(f.name.lower().startswith("microsoft-hyper-v") for f in host.features.all()):
        raise ProfileError(
            f"{where}: Hyper-V features do not exist on Home (Core) editions (windows-facts D.2)"
        )
    if host.os.is_server and host.features.all("server") == []:
        raise ProfileError(f"{where}: a server profile needs features.server")

    # Extra registry values.
    for item in data.get("registry") or []:
        if "name" in item:
            reg.set_value(item["path"], item["name"], item.get("data", ""), item.get("kind", REG_SZ))
        else:
            reg.create_key(item["path"], volatile=bool(item.get("volatile")))

    # Services.
    for sname, s in (data.get("services") or {}).items():
        host.services.add(h.Service(name=str(sname), **(s or {})))

    # Files.
    for path, text in (data.get("files") or {}).items():
        host.fs.write_bytes(str(path), str(text).encode("utf-8"), make_parents=True)

    # WSL and Docker.
    wsl = data.get("wsl") or {}
    host.wsl.package = fields_of("wsl.package", h.WslPackage, wsl.get("package"))
    if host.wsl.package.kind not in ("absent", "inbox", "package"):
        raise ProfileError(f"{where}: wsl.package.kind must be absent, inbox or package")
    docker = data.get("docker") or {}
    host.docker.desktop = fields_of("docker.desktop", DockerDesktop, docker.get("desktop"))
    host.docker.engine = fields_of("docker.engine", DockerEngine, docker.get("engine"))
    if docker.get("downloads_dir"):
        host.docker.downloads_dir = str(docker["downloads_dir"])
    for art in data.get("network") or []:
        body = art["text"].encode("utf-8") if "text" in art else None
        host.add_artifact(str(art["url"]), body, size=int(art.get("size", 0)), **dict(art.get("meta") or {}))

    # First boot.
    host._derive_hypervisor()
    host.boot.last_boot = time.time()
    host.boot.boot_count = 1
    host._apply_static_faults()
