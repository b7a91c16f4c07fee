"""The cmdlet/exe signature table (winfra/scripts/signatures.json) and its generator (issue 8)."""

from __future__ import annotations

import importlib.util
import re
import subprocess
from pathlib import Path

import pytest
from lint_corpus import REPO

from winfra.scripts.lint import signatures

ISSUE_MODULES = {
    "Microsoft.PowerShell.Management",
    "Microsoft.PowerShell.Utility",
    "Microsoft.PowerShell.Security",
    "CimCmdlets",
    "Dism",
    "ServerManager",
    "ScheduledTasks",
    "BitsTransfer",
    "Microsoft.PowerShell.Archive",
    "Microsoft.PowerShell.LocalAccounts",
}
EXTERNALS = {
    "dism.exe",
    "wsl.exe",
    "dockerd.exe",
    "docker.exe",
    "shutdown.exe",
    "msiexec.exe",
    "net.exe",
    "schtasks.exe",
    "Docker Desktop Installer.exe",
}


def test_sources_are_recorded_with_commits() -> None:
    sources = {s["repository"]: s["commit"] for s in signatures()["sources"]}
    assert set(sources) == {"MicrosoftDocs/PowerShell-Docs", "MicrosoftDocs/windows-powershell-docs"}
    assert all(re.fullmatch(r"[0-9a-f]{40}", c) for c in sources.values())
    assert signatures()["generated_by"] == "tools/gen_signatures.py"


def test_every_issue_module_is_covered() -> None:
    modules = {c["module"] for c in signatures()["cmdlets"].values()}
    assert ISSUE_MODULES <= modules
    for name in (
        "Enable-WindowsOptionalFeature",
        "Get-WindowsOptionalFeature",
        "Install-WindowsFeature",
        "Get-WindowsFeature",
        "Register-ScheduledTask",
        "Start-BitsTransfer",
        "Expand-Archive",
        "Add-LocalGroupMember",
        "Get-CimInstance",
        "Get-Acl",
        "ConvertTo-Json",
        "ForEach-Object",
        "Write-Host",
    ):
        assert name in signatures()["cmdlets"], name


def test_each_cmdlet_cites_its_reference_page() -> None:
    for name, entry in signatures()["cmdlets"].items():
        assert entry["source"].endswith(f"/{name}.md"), name
        assert entry["source"].split("@", 1)[0] in {
            "MicrosoftDocs/PowerShell-Docs",
            "MicrosoftDocs/windows-powershell-docs",
        }


def test_parameter_facts_match_the_reference() -> None:
    cmdlets = signatures()["cmdlets"]
    set_content = cmdlets["Set-Content"]["parameters"]
    assert set_content["Force"]["switch"] is True
    assert set_content["Value"]["switch"] is False
    assert "UTF8" in set_content["Encoding"]["accepted_values"]
    assert not any(v.lower() == "utf8nobom" for v in set_content["Encoding"]["accepted_values"])
    assert "PSPath" in set_content["LiteralPath"]["aliases"]
    assert cmdlets["Set-Content"]["parameter_sets"] == ["Path", "LiteralPath"]
    assert "AsHashtable" not in cmdlets["ConvertFrom-Json"]["parameters"]
    assert "EnumsAsStrings" not in cmdlets["ConvertTo-Json"]["parameters"]
    assert "Parallel" not in cmdlets["ForEach-Object"]["parameters"]
    enable = cmdlets["Enable-WindowsOptionalFeature"]["parameters"]
    assert enable["Online"]["switch"] and enable["Online"]["sets"] == ["Online"]
    assert enable["NoRestart"]["switch"] and enable["All"]["switch"]
    assert signatures()["aliases"]["gci"] == "Get-ChildItem"
    assert signatures()["aliases"]["%"] == "ForEach-Object"
    assert cmdlets["Write-Output"]["remaining_arguments"] == "InputObject"
    common = signatures()["common_parameters"]
    assert common["ErrorAction"]["aliases"] == ["ea"]
    assert "ProgressAction" not in common  # PowerShell 7.4+


def test_externals_have_switches_and_sources() -> None:
    externals = signatures()["externals"]
    assert EXTERNALS <= set(externals)
    for name, spec in externals.items():
        assert spec["style"] in ("slash", "gnu"), name
        assert spec["switches"] and spec["sources"], name
    assert {
        "--register-service",
        "--unregister-service",
        "--service-name",
        "--run-service",
        "--validate",
        "--config-file",
    } <= set(externals["dockerd.exe"]["switches"])
    assert {"/r", "/t", "/c", "/a", "/f"} <= set(externals["shutdown.exe"]["switches"])
    assert {"/i", "/x", "/quiet", "/qn", "/norestart"} <= set(externals["msiexec.exe"]["switches"])


_MIRRORS = (
    Path("/work/.mirror/MicrosoftDocs+PowerShell-Docs/repo"),
    Path("/work/.mirror/MicrosoftDocs+windows-powershell-docs/repo"),
)


@pytest.mark.skipif(not all(p.is_dir() for p in _MIRRORS), reason="docs repositories not fetched here")
def test_generator_reproduces_the_committed_table(tmp_path: Path) -> None:
    heads = [
        subprocess.run(
            ["git", "-C", str(p), "rev-parse", "HEAD"], capture_output=True, text=True, check=True
        ).stdout.strip()
        for p in _MIRRORS
    ]
    recorded = [s["commit"] for s in signatures()["sources"]]
    if heads != recorded:
        pytest.skip("the fetched docs are at other commits than the ones recorded")
    spec = importlib.util.spec_from_file_location("gen_signatures", REPO / "tools" / "gen_signatures.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    regenerated = module.dump(module.generate(*_MIRRORS))
    assert regenerated == (REPO / "winfra" / "scripts" / "signatures.json").read_text(encoding="utf-8")
