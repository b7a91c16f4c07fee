"""Counterpart of ``winfra/scripts/wsl_install.ps1`` (owner: WSL helper).

* msi: ``msiexec /i <msi> /quiet /norestart`` puts the package under C:\\Program Files\\WSL
  (windows-facts A.1); exit 3010/1641 mean a reboot is needed (MSI error codes). The package
  version comes from the MSI name (``wsl.<version>.x64.msi``, the GitHub release asset name).
  Step ``wsl:msi_install`` (an ``installer_exit_code`` fault sets msiexec's exit code).
* wsl: ``wsl --install --no-distribution`` enables VirtualMachinePlatform with
  ``dism /NoRestart`` (A.1, WslInstall.cpp) and installs the package; it exits 0 even when a
  reboot is needed, so the reboot need is read from CBS RebootPending and the feature state (D.4).
  Step ``wsl:install``.
`wsl --manage --move` appears in WSL 2.5+ (MicrosoftDocs/WSL disk-space.md; A.6 gap 1).
"""

from __future__ import annotations

import re
from typing import Any

from winfra.sim.models.faults import InstallerExitFault
from winfra.sim.models.host import CBS_REBOOT_PENDING
from winfra.sim.scripting import PowerShellError, ScriptCall

DEFAULT_PACKAGE_VERSION = "2.5.10.0"
_MSI_VERSION = re.compile(r"wsl\.(\d+\.\d+\.\d+(?:\.\d+)?)\.", re.I)


def _supports_manage_move(version: str) -> bool:
    parts = [int(x) for x in version.split(".")[:2]]
    return parts >= [2, 5]


def run(call: ScriptCall) -> Any:
    host = call.host
    p = call.params
    if not call.elevated:
        raise PowerShellError(
            "winfra: installing WSL needs an elevated administrator token; over WinRM a local admin other "
            "than Administrator needs LocalAccountTokenFilterPolicy=1 (windows-facts A.7)."
        )
    method = str(p.get("method"))
    out: dict[str, Any] = {"method": method, "exit_code": None, "error_code": None, "reboot_required": False,
                           "version": None}  # fmt: skip
    pkg = host.wsl.package
    if method == "msi":
        msi = str(p.get("msi_path") or "")
        if not host.fs.is_file(msi):
            raise PowerShellError(f"winfra: the WSL MSI {msi} is not on the host.")
        try:
            call.step("wsl:msi_install")
            code = 0
        except InstallerExitFault as exc:
            code = exc.exit_code
        out["exit_code"] = code
        if code in (3010, 1641):
            out["reboot_required"] = True
        elif code != 0:
            raise PowerShellError(
                f"winfra: msiexec /i {msi} failed with exit code {code} "
                "(see https://learn.microsoft.com/windows/win32/msi/error-codes)."
            )
        match = _MSI_VERSION.search(msi.rsplit("\\", 1)[-1])
        pkg.kind = "package"
        pkg.version = match.group(1) if match else DEFAULT_PACKAGE_VERSION
        if pkg.version.count(".") == 2:
            pkg.version += ".0"
    elif method == "wsl":
        call.step("wsl:install")
        host.enable_feature("VirtualMachinePlatform")
        had_package = pkg.kind == "package" and bool(pkg.version)
        pkg.kind = "package"
        pkg.version = pkg.version if had_package else DEFAULT_PACKAGE_VERSION
        out["exit_code"] = 0
    else:
        raise PowerShellError(f"winfra: unknown install method '{method}'.")
    pkg.supports_manage_move = _supports_manage_move(pkg.version or "0.0")
    if host.registry.key_exists(CBS_REBOOT_PENDING):
        out["reboot_required"] = True
    for name in ("VirtualMachinePlatform", "Microsoft-Windows-Subsystem-Linux"):
        f = host.features.get(name)
        if f is not None and f.pending:
            out["reboot_required"] = True
    out["version"] = pkg.version
    return out
