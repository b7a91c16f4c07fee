"""WSL facts: the installation (host-wide) and one target user's distros and ``.wslconfig``.

* :class:`WslInstallation` is the ``wsl`` section of the batched ``get_host_state`` read.
* :class:`WslDistros` and :class:`WslConfig` are views of ``get_wsl_user_state``, which must run
  AS the target user (distros and ``.wslconfig`` are per user: windows-facts A.5, A.7, A.8).
  Both render the same command for a user, so the connector's read cache makes them one round
  trip. Pass the run-as arguments from :func:`winfra.target_user.resolve_target_user`::

      user, su = resolve_target_user(host, user)
      distros = host.get_fact(WslDistros, user=user, **su)
"""

from __future__ import annotations

import base64
from typing import Any

from pyinfra.api import FactBase
from pyinfra.api.exceptions import FactProcessError

from winfra import wsl_output
from winfra.facts.host import HostStateFact, parse_json_output
from winfra.powershell.scripts import render_script
from winfra.validation.wslconfig import parse_wslconfig

USER_STATE_SCRIPT = "get_wsl_user_state"
# windows-facts A.5: Flags bit 0x8 (VM_MODE) means WSL2; registry `Version` is the layout version.
FLAG_VM_MODE = 0x8
# LxssDistributionState (windows-facts A.5, wslservice.idl).
REGISTRY_STATES = {
    0: "Invalid",
    1: "Installed",
    2: "Running",
    3: "Installing",
    4: "Uninstalling",
    5: "Converting",
    6: "Exporting",
}


class WslInstallation(HostStateFact[dict]):
    """The WSL installation::

    {"kind": "absent" | "inbox" | "package", "path": str | None,
     "version": "2.3.26.0" | None,       # file version of C:\\Program Files\\WSL\\wsl.exe
     "supports_manage_move": bool}       # `wsl --help` lists --manage ... --move
    """

    section = "wsl"

    def process_section(self, section: Any) -> dict:
        section = section or {}
        return {
            "kind": section.get("kind") or "absent",
            "path": section.get("path"),
            "version": section.get("version"),
            "supports_manage_move": bool(section.get("supports_manage_move")),
        }


class _WslUserState(FactBase[dict]):
    """Base of the views of ``get_wsl_user_state`` (one round trip per user and state change)."""

    abstract = True

    def command(self, user: str) -> str:
        return render_script(USER_STATE_SCRIPT, {"user": user})

    def state(self, output: list[str]) -> dict:
        data = parse_json_output(output, type(self).__name__)
        if not isinstance(data, dict):
            raise FactProcessError(f"{type(self).__name__}: expected an object, got {type(data).__name__}")
        return data


def distros_from_state(data: dict) -> list[dict]:
    """Merge the registry registrations with ``wsl -l -v`` (state, default marker)."""
    listed: dict[str, wsl_output.ListedDistro] = {}
    raw_list = data.get("list")
    if raw_list and raw_list.get("stdout"):
        raw = base64.b64decode(raw_list["stdout"])
        try:
            listed = {d.name: d for d in wsl_output.parse_list_verbose(raw)}
        except wsl_output.WslOutputError:
            listed = {}
    default_guid = str(data.get("default_distribution") or "").lower()
    marked_default = next((d.name for d in listed.values() if d.is_default), None)
    out: list[dict] = []
    for reg in data.get("distros") or []:
        flags = int(reg.get("flags") or 0)
        name = str(reg.get("name"))
        row = listed.get(name)
        if row is not None:
            state = row.state
        else:
            state = REGISTRY_STATES.get(int(reg.get("state") or 1), "Installed")
            state = "Stopped" if state == "Installed" else state
        # The `*` marker is missing on WSL 2.4.4 (WSL#12302): fall back to DefaultDistribution.
        is_default = (
            (name == marked_default) if marked_default else str(reg.get("guid", "")).lower() == default_guid
        )
        out.append(
            {
                "name": name,
                "guid": reg.get("guid"),
                "state": state,
                "version": 2 if flags & FLAG_VM_MODE else 1,
                "base_path": reg.get("base_path"),
                "vhd_path": reg.get("vhd_path"),
                "vhd_exists": bool(reg.get("vhd_exists")),
                "vhd_size": reg.get("vhd_size"),
                "is_default": is_default,
                "default_uid": int(reg.get("default_uid") or 0),
            }
        )
    out.sort(key=lambda d: (not d["is_default"], d["name"].lower()))
    return out


def find_distro(distros: list[dict], name: str) -> dict | None:
    """The distro called ``name`` in a :class:`WslDistros` list, matched case-insensitively."""
    return next((d for d in distros if d["name"].lower() == name.lower()), None)


class WslDistros(_WslUserState):
    """The target user's distros, default first::

        [{"name", "guid", "state" ("Running", "Stopped", ...), "version" (1 | 2), "base_path",
          "vhd_path", "vhd_exists", "vhd_size", "is_default", "default_uid"}]

    Plus, for operations that resume interrupted work, :meth:`WslDistros.journals`.
    """

    @staticmethod
    def default() -> list:
        return []

    def process(self, output: list[str]) -> list[dict]:
        return distros_from_state(self.state(output))


class WslUserInfo(_WslUserState):
    """Who the per-user script ran as, and the user's WSL defaults::

    {"user": "HOST\\name", "sid": str, "profile": str,
     "default_version": 1 | 2 | None,        # HKCU Lxss DefaultVersion (None: new distros get 2)
     "default_distribution": "{GUID}" | None}
    """

    def process(self, output: list[str]) -> dict:
        data = self.state(output)
        return {
            "user": data.get("user"),
            "sid": data.get("sid"),
            "profile": data.get("profile"),
            "default_version": data.get("default_version"),
            "default_distribution": data.get("default_distribution"),
        }


class WslRelocationJournals(_WslUserState):
    """Relocation journals left by an interrupted ``wsl_relocate`` run: ``{distro name: journal}``."""

    @staticmethod
    def default() -> dict:
        return {}

    def process(self, output: list[str]) -> dict:
        journals = self.state(output).get("journals") or []
        return {str(j.get("name")): j for j in journals if isinstance(j, dict)}


class WslConfig(_WslUserState):
    """The target user's ``%UserProfile%\\.wslconfig``::

        {"path": str, "exists": bool, "content": str | None, "bom": bool,
         "settings": {section: {key: value}}, "problems": [str]}

    ``settings`` is parsed by WSL's rules (winfra.validation.wslconfig); ``problems`` lists lines
    WSL would skip.
    """

    def process(self, output: list[str]) -> dict:
        data = self.state(output)
        config = data.get("wslconfig") or {}
        content = config.get("content")
        settings: dict[str, dict[str, str]] = {}
        problems: list[str] = []
        if content:
            settings, found = parse_wslconfig(content)
            problems = [f"{p.setting}: {p.message}" for p in found]
        return {
            "path": config.get("path") or "",
            "exists": bool(config.get("exists")),
            "content": content,
            "bom": bool(config.get("bom")),
            "settings": settings,
            "problems": problems,
        }
