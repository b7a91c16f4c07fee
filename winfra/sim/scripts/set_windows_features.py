"""Counterpart of ``winfra/scripts/set_windows_features.ps1``: one DISM call for the optional
features, one ``Install-WindowsFeature`` call for the roles, then re-read states and exit 3010
when a reboot is needed.

Behaviour and sources (shared/reference/windows-facts.md):

* ``Enable-WindowsOptionalFeature -All`` enables parents too (D.1); an unknown name fails the
  whole call with "Feature name X is unknown." (F.5); RestartNeeded comes from the feature's
  RestartRequired, and CBS RebootPending is created when a reboot is needed (D.4, the model's
  ``SimHost.enable_feature``).
* ``DisabledWithPayloadRemoved`` / ``Removed`` needs ``-Source`` or Windows Update (D.1); here a
  source works when it is ``windows-update`` or a path that exists on the simulated disk.
* ``Install-WindowsFeature -IncludeManagementTools`` also installs the role's tools
  (``-IncludeManagementTools adds RSAT-Hyper-V-Tools``, D.2/D.3); the Hyper-V role fails its
  prerequisite check without virtualization (D.3 message, raised by the model).
* DISM without an elevated token fails with "The requested operation requires elevation."
  (see ``_state_windows.ELEVATION_REQUIRED``).
"""

from __future__ import annotations

from typing import Any

from winfra.sim.models.host import CBS_REBOOT_PENDING, FeatureError, SimHost
from winfra.sim.scripting import PowerShellError, ScriptCall, ScriptExit
from winfra.sim.scripts._state_windows import ELEVATION_REQUIRED

# Management tools Install-WindowsFeature -IncludeManagementTools adds per role (D.2/D.3).
MANAGEMENT_TOOLS = {"hyper-v": ("RSAT-Hyper-V-Tools", "Hyper-V-PowerShell")}
EXIT_REBOOT_REQUIRED = 3010


def _source_available(host: SimHost, source: str | None) -> bool:
    if not source:
        return False
    if source == "windows-update":
        return True
    try:
        return bool(host.fs.exists(source))
    except Exception:  # a malformed path is simply not a usable source
        return False


def _restore_payload(host: SimHost, name: str, source: str | None) -> None:
    """With a usable source, a removed payload becomes installable again (D.1)."""
    feature = host.features.get(name)
    if feature is None or feature.state not in ("DisabledWithPayloadRemoved", "Removed"):
        return
    if _source_available(host, source):
        feature.state = "Disabled" if feature.kind == "optional" else "Available"


def _enable_optional(call: ScriptCall, names: list[str], present: bool, source: str | None) -> bool:
    host = call.host
    call.step("set_windows_features:dism")
    for name in names:
        if host.features.get(name) is None:
            # Checked for all names first: DISM rejects the whole call (F.5).
            raise PowerShellError(
                f"Feature name {name} is unknown.",
                error_id="Microsoft.Dism.Commands.EnableWindowsOptionalFeatureCommand",
            )
    restart = False
    for name in names:
        try:
            if present:
                _restore_payload(host, name, source)
                restart = host.enable_feature(name, all_parents=True) or restart
            else:
                restart = host.disable_feature(name) or restart
        except FeatureError as exc:
            raise PowerShellError(
                exc.message, error_id="Microsoft.Dism.Commands.EnableWindowsOptionalFeatureCommand"
            ) from exc
    return restart


def _install_roles(call: ScriptCall, names: list[str], present: bool, source: str | None) -> tuple[bool, str]:
    host = call.host
    call.step("set_windows_features:install_windowsfeature")
    for name in names:
        if host.features.get(name, kind="server") is None:
            raise PowerShellError(
                f"ArgumentNotValid: The role, role service, or feature name is not valid: '{name}'. "
                "The name was not found.",
                error_id="NameDoesNotExist,Microsoft.Windows.ServerManager.Commands.AddWindowsFeatureCommand",
                category="InvalidArgument",
            )
    restart = False
    changed = False
    for name in names:
        feature = host.features.get(name, kind="server")
        assert feature is not None
        before = feature.state
        try:
            if present:
                _restore_payload(host, name, source)
                restart = host.enable_feature(name) or restart
                for tool in MANAGEMENT_TOOLS.get(name.lower(), ()):
                    if host.features.get(tool, kind="server") is not None:
                        restart = host.enable_feature(tool) or restart
            else:
                restart = host.disable_feature(name) or restart
        except FeatureError as exc:
            raise PowerShellError(
                exc.message,
                error_id=f"{exc.error_id},Microsoft.Windows.ServerManager.Commands.AddWindowsFeatureCommand",
            ) from exc
        changed = changed or feature.state != before
    # FeatureOperationResult.ExitCode names (D.3).
    code = "SuccessRestartRequired" if restart else ("Success" if changed else "NoChangeNeeded")
    return restart, code


def run(call: ScriptCall) -> Any:
    host = call.host
    params = call.params
    present = bool(params.get("present", True))
    optional = [str(n) for n in (params.get("optional") or []) if n]
    roles = [str(n) for n in (params.get("roles") or []) if n]
    source = params.get("source") or None
    if (optional or roles) and not call.elevated:
        raise PowerShellError(
            ELEVATION_REQUIRED, error_id="Microsoft.Dism.Commands.EnableWindowsOptionalFeatureCommand"
        )
    with host.lock:
        restart = False
        role_exit_code = None
        if optional:
            restart = _enable_optional(call, optional, present, source) or restart
        if roles:
            role_restart, role_exit_code = _install_roles(call, roles, present, source)
            restart = role_restart or restart
        optional_states = {}
        for name in optional:
            feature = host.features.get(name)
            optional_states[name] = feature.dism_state if feature else None
        role_states = {}
        for name in roles:
            feature = host.features.get(name, kind="server")
            role_states[name] = feature.server_state if feature else None
        pending = any(str(s).endswith("Pending") for s in [*optional_states.values(), *role_states.values()])
        cbs = host.registry.key_exists(CBS_REBOOT_PENDING)
        restart = restart or pending or cbs
        output = {
            "restart_needed": restart,
            "optional": optional_states,
            "roles": role_states,
            "cbs_reboot_pending": cbs,
            "role_exit_code": role_exit_code,
        }
    if restart:
        raise ScriptExit(EXIT_REBOOT_REQUIRED, output)
    return output
