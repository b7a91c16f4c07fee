"""Generate winfra/scripts/signatures.json from Microsoft's published cmdlet reference.

Sources (public markdown, one file per cmdlet, with a SYNTAX section and a yaml block per parameter):

* MicrosoftDocs/PowerShell-Docs, ``reference/5.1/<Module>/<Cmdlet>.md`` (Windows PowerShell 5.1:
  Microsoft.PowerShell.Core/Management/Utility/Security/Diagnostics, CimCmdlets, Microsoft.PowerShell.Archive,
  Microsoft.PowerShell.LocalAccounts) and ``reference/5.1/Microsoft.PowerShell.Core/About/
  about_CommonParameters.md`` (the common parameters and their aliases);
* MicrosoftDocs/windows-powershell-docs, ``docset/winserver2022-ps/<module>/<Cmdlet>.md`` (DISM,
  ServerManager, ScheduledTasks, BitsTransfer, Hyper-V, NetSecurity, PKI);
* the providers' about pages in PowerShell-Docs (``about_<Name>_Provider.md``, section "Dynamic
  parameters"): parameters a provider adds to the item cmdlets on its drives.

Bring both repositories here first (the search tool's ``fetch``), then run::

    .venv/bin/python tools/gen_signatures.py \\
        --ps-docs /work/.mirror/MicrosoftDocs+PowerShell-Docs/repo \\
        --win-docs /work/.mirror/MicrosoftDocs+windows-powershell-docs/repo

The repositories are read with ``git`` at their HEAD commit, which is recorded in the output. Only
signature data is kept (names, aliases, switch flag, parameter sets, positions, accepted values),
never documentation text. External executables are described by hand in ``EXTERNALS`` below, each
with the public command reference it comes from.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
from pathlib import Path
from typing import Any

import yaml

PS_DOCS_REPO = "MicrosoftDocs/PowerShell-Docs"
WIN_DOCS_REPO = "MicrosoftDocs/windows-powershell-docs"

# (repository key, folder inside the repository, module name as Windows reports it)
MODULES: list[tuple[str, str, str]] = [
    ("ps", "reference/5.1/Microsoft.PowerShell.Core", "Microsoft.PowerShell.Core"),
    ("ps", "reference/5.1/Microsoft.PowerShell.Management", "Microsoft.PowerShell.Management"),
    ("ps", "reference/5.1/Microsoft.PowerShell.Utility", "Microsoft.PowerShell.Utility"),
    ("ps", "reference/5.1/Microsoft.PowerShell.Security", "Microsoft.PowerShell.Security"),
    ("ps", "reference/5.1/Microsoft.PowerShell.Diagnostics", "Microsoft.PowerShell.Diagnostics"),
    ("ps", "reference/5.1/CimCmdlets", "CimCmdlets"),
    ("ps", "reference/5.1/Microsoft.PowerShell.Archive", "Microsoft.PowerShell.Archive"),
    ("ps", "reference/5.1/Microsoft.PowerShell.LocalAccounts", "Microsoft.PowerShell.LocalAccounts"),
    ("win", "docset/winserver2022-ps/DISM", "Dism"),
    ("win", "docset/winserver2022-ps/ServerManager", "ServerManager"),
    ("win", "docset/winserver2022-ps/ScheduledTasks", "ScheduledTasks"),
    ("win", "docset/winserver2022-ps/BitsTransfer", "BitsTransfer"),
    # Not in issue 8's list, but a Docker host script may reasonably need them (firewall rule
    # for the engine's TCP port, Hyper-V host checks); they cost nothing to carry.
    ("win", "docset/winserver2022-ps/Hyper-V", "Hyper-V"),
    ("win", "docset/winserver2022-ps/NetSecurity", "NetSecurity"),
    # New-SelfSignedCertificate (the WinRM HTTPS bootstrap).
    ("win", "docset/winserver2022-ps/pki", "PKI"),
]

# Providers add dynamic parameters to the item cmdlets on their drives (New-Item -Address on
# WSMan:, Get-ChildItem -CodeSigningCert on Cert:, ...). The cmdlet pages list only some of them;
# each provider's about page has a "Dynamic parameters" section naming the cmdlets supported.
PROVIDER_DOCS = [
    "reference/5.1/Microsoft.PowerShell.Core/About/about_FileSystem_Provider.md",
    "reference/5.1/Microsoft.PowerShell.Core/About/about_Registry_Provider.md",
    "reference/5.1/Microsoft.PowerShell.Security/About/about_Certificate_Provider.md",
    "reference/5.1/Microsoft.WSMan.Management/About/about_WSMan_Provider.md",
]

COMMON_PARAMETERS_DOC = "reference/5.1/Microsoft.PowerShell.Core/About/about_CommonParameters.md"
# Added in PowerShell 7.4 (about_CommonParameters, "-ProgressAction"): not a 5.1 common parameter.
NOT_IN_51_COMMON = {"ProgressAction"}
# about_CommonParameters has no yaml block for these two; their aliases are the ones PowerShell
# defines in CommonParameters.cs (iv, pv) and the doc text lists them in the parameter table.
COMMON_FALLBACK = {
    "InformationVariable": {"aliases": ["iv"], "switch": False, "type": "String"},
    "PipelineVariable": {"aliases": ["pv"], "switch": False, "type": "String"},
}

# Parameters declared ValueFromRemainingArguments in PowerShell's source (the markdown reference
# does not carry that attribute): several positional words all bind to this one parameter.
# PowerShell/PowerShell src/Microsoft.PowerShell.Commands.Utility/commands/utility/WriteConsoleCmdlet.cs
# (Write-Host -Object) and Write.cs (Write-Output -InputObject).
REMAINING_ARGUMENTS = {"Write-Host": "Object", "Write-Output": "InputObject"}

LEARN = "https://learn.microsoft.com"

# External programs our scripts may call, with the switches their documentation lists.
# style "slash": Windows-style /Switch or /Switch:value, case-insensitive.
# style "gnu": --long[=value] / -s, case-sensitive; "subcommands" are the first bare words.
EXTERNALS: dict[str, dict[str, Any]] = {
    "dism.exe": {
        "style": "slash",
        "switches": [
            # DISM global options
            "/Online",
            "/Image",
            "/WinDir",
            "/SysDriveDir",
            "/LogPath",
            "/LogLevel",
            "/Quiet",
            "/NoRestart",
            "/ScratchDir",
            "/English",
            "/Format",
            "/Get-Help",
            "/?",
            # Operating-system package servicing options
            "/Get-Features",
            "/Get-FeatureInfo",
            "/Enable-Feature",
            "/Disable-Feature",
            "/FeatureName",
            "/PackageName",
            "/PackagePath",
            "/All",
            "/Source",
            "/LimitAccess",
            "/Remove",
            "/Get-Packages",
            "/Get-PackageInfo",
            "/Add-Package",
            "/Remove-Package",
            "/IgnoreCheck",
            "/PreventPending",
            "/Cleanup-Image",
            "/CheckHealth",
            "/ScanHealth",
            "/RestoreHealth",
            "/StartComponentCleanup",
            "/ResetBase",
            # Capabilities
            "/Get-Capabilities",
            "/Get-CapabilityInfo",
            "/Add-Capability",
            "/Remove-Capability",
            "/CapabilityName",
        ],
        "sources": [
            f"{LEARN}/windows-hardware/manufacture/desktop/dism-operating-system-package-servicing-command-line-options",
            f"{LEARN}/windows-hardware/manufacture/desktop/dism-image-management-command-line-options-s14",
            f"{LEARN}/windows-hardware/manufacture/desktop/dism-capabilities-package-servicing-command-line-options",
            "shared/reference/windows-facts.md D.1 (dism /online /enable-feature /featurename:X /all)",
        ],
    },
    "wsl.exe": {
        "style": "gnu",
        "switches": [
            "--install",
            "--enable-wsl1",
            "--fixed-vhd",
            "--from-file",
            "--legacy",
            "--location",
            "--name",
            "--no-distribution",
            "--no-launch",
            "-n",
            "--version",
            "--vhd-size",
            "--web-download",
            "--inbox",
            "--prompt-before-exit",
            "--update",
            "--pre-release",
            "--set-default-version",
            "--status",
            "-v",
            "--list",
            "-l",
            "--all",
            "--running",
            "--quiet",
            "-q",
            "--verbose",
            "--online",
            "-o",
            "--export",
            "--format",
            "--vhd",
            "--import",
            "--import-in-place",
            "--unregister",
            "--manage",
            "--move",
            "--set-sparse",
            "-s",
            "--set-default-user",
            "--resize",
            "--shutdown",
            "--force",
            "--terminate",
            "-t",
            "--set-default",
            "--set-version",
            "--mount",
            "--unmount",
            "--uninstall",
            "--distribution",
            "-d",
            "--user",
            "-u",
            "--exec",
            "-e",
            "--cd",
            "--shell-type",
            "--system",
            "--debug-shell",
            "--help",
        ],
        "sources": [
            "microsoft/WSL@3e27a6a5:localization/strings/en-US/Resources.resw (MessageWslUsage); "
            "src/windows/inc/wsl.h — shared/reference/windows-facts.md A.1",
            "https://learn.microsoft.com/windows/wsl/basic-commands",
        ],
    },
    "dockerd.exe": {
        "style": "gnu",
        "switches": [
            "--register-service",
            "--unregister-service",
            "--service-name",
            "--run-service",
            "--validate",
            "--config-file",
            "--data-root",
            "--exec-root",
            "--debug",
            "-D",
            "--host",
            "-H",
            "--group",
            "-G",
            "--log-level",
            "-l",
            "--pidfile",
            "-p",
            "--tls",
            "--tlscacert",
            "--tlscert",
            "--tlskey",
            "--tlsverify",
            "--version",
            "-v",
            "--help",
            "--experimental",
            "--exec-opt",
            "--insecure-registry",
            "--registry-mirror",
            "--storage-opt",
            "--label",
            "--mtu",
            "--dns",
            "--bridge",
            "-b",
            "--fixed-cidr",
        ],
        "sources": [
            "moby/moby cmd/dockerd/service_windows.go — shared/reference/windows-facts.md C.2",
            "https://docs.docker.com/reference/cli/dockerd/ — shared/reference/windows-facts.md C.4",
        ],
    },
    "docker.exe": {
        "style": "gnu",
        "subcommands": [
            "version",
            "info",
            "run",
            "pull",
            "images",
            "image",
            "ps",
            "container",
            "network",
            "volume",
            "system",
            "context",
            "desktop",
            "login",
            "logout",
            "inspect",
            "rm",
            "rmi",
            "stop",
            "start",
            "exec",
            "logs",
            "engine",
            "ls",
            "use",
            "create",
            "prune",
        ],
        "switches": [
            "--format",
            "-f",
            "--rm",
            "--name",
            "-d",
            "--detach",
            "-i",
            "-t",
            "--isolation",
            "-e",
            "--env",
            "-p",
            "--publish",
            "-v",
            "--volume",
            "--quiet",
            "-q",
            "--all",
            "-a",
            "--host",
            "-H",
            "--context",
            "-c",
            "--config",
            "--debug",
            "-D",
            "--log-level",
            "-l",
            "--tls",
            "--tlsverify",
            "--tlscacert",
            "--tlscert",
            "--tlskey",
            "--version",
            "--help",
            "--platform",
            "--force",
            "--no-trunc",
            "--pull",
            "--entrypoint",
            "-w",
            "--workdir",
            "--user",
            "-u",
            "--timeout",
        ],
        "sources": [
            "https://docs.docker.com/reference/cli/docker/",
            "https://docs.docker.com/reference/cli/docker/desktop/ (docker desktop engine ls|use) — "
            "shared/reference/windows-facts.md B.6",
        ],
    },
    "shutdown.exe": {
        "style": "slash",
        "switches": [
            "/i",
            "/l",
            "/s",
            "/sg",
            "/r",
            "/g",
            "/a",
            "/p",
            "/h",
            "/e",
            "/o",
            "/hybrid",
            "/fw",
            "/f",
            "/m",
            "/t",
            "/d",
            "/c",
            "/?",
        ],
        "sources": [f"{LEARN}/windows-server/administration/windows-commands/shutdown"],
    },
    "msiexec.exe": {
        "style": "slash",
        "switches": [
            "/i",
            "/a",
            "/ju",
            "/jm",
            "/x",
            "/uninstall",
            "/package",
            "/quiet",
            "/passive",
            "/qn",
            "/qn+",
            "/qb",
            "/qb+",
            "/qb-",
            "/qr",
            "/qf",
            "/q",
            "/norestart",
            "/promptrestart",
            "/forcerestart",
            "/l",
            "/log",
            "/f",
            "/update",
            "/?",
            "/help",
        ],
        # /L takes mode letters glued to it (/L*V, /Lv, /L*v+); accept them as one family.
        "prefix_switches": ["/l"],
        "sources": [
            f"{LEARN}/windows-server/administration/windows-commands/msiexec",
            f"{LEARN}/windows/win32/msi/command-line-options",
        ],
    },
    "net.exe": {
        "style": "slash",
        "subcommands": ["localgroup", "user", "start", "stop", "group"],
        "switches": [
            "/add",
            "/delete",
            "/comment",
            "/domain",
            "/active",
            "/expires",
            "/passwordchg",
            "/passwordreq",
            "/y",
            "/yes",
            "/?",
        ],
        "sources": [
            "https://learn.microsoft.com/previous-versions/windows/it-pro/windows-server-2012-r2-and-2012/"
            "cc725622(v=ws.11) (net localgroup)",
            "shared/reference/windows-facts.md B.4 (net localgroup docker-users <user> /add)",
        ],
    },
    "schtasks.exe": {
        "style": "slash",
        "switches": [
            "/create",
            "/delete",
            "/query",
            "/change",
            "/run",
            "/end",
            "/tn",
            "/tr",
            "/sc",
            "/mo",
            "/d",
            "/m",
            "/i",
            "/st",
            "/sd",
            "/ed",
            "/et",
            "/du",
            "/k",
            "/ru",
            "/rp",
            "/rl",
            "/f",
            "/z",
            "/xml",
            "/v1",
            "/it",
            "/np",
            "/fo",
            "/nh",
            "/v",
            "/s",
            "/u",
            "/p",
            "/hresult",
            "/?",
        ],
        "sources": [f"{LEARN}/windows-server/administration/windows-commands/schtasks"],
    },
    "Docker Desktop Installer.exe": {
        "style": "gnu",
        "subcommands": ["install", "uninstall"],
        "switches": [
            "--quiet",
            "--accept-license",
            "--installation-dir",
            "--backend",
            "--always-run-service",
            "--allowed-org",
            "--admin-settings",
            "--no-windows-containers",
            "--proxy-http-mode",
            "--override-proxy-http",
            "--override-proxy-https",
            "--override-proxy-exclude",
            "--override-proxy-pac",
            "--override-proxy-embedded-pac",
            "--proxy-enable-kerberosntlm",
            "--hyper-v-default-data-root",
            "--windows-containers-default-data-root",
            "--wsl-default-data-root",
            "--user",
            "-keep-data",
        ],
        "sources": [
            "docker/docs content/manuals/desktop/setup/install/windows-install.md 'Installer flags' — "
            "shared/reference/windows-facts.md B.1",
            "https://docs.docker.com/desktop/setup/install/windows-install/",
        ],
    },
}


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True).stdout


def split_list(value: str) -> list[str]:
    return [v.strip() for v in value.split(",") if v.strip()]


FRONT_RE = re.compile(r"\A---\n(.*?)\n---\n", re.DOTALL)
SET_HEADING_RE = re.compile(r"^###\s+(.+?)\s*$")
PARAM_HEADING_RE = re.compile(r"^###\s+-(\w+)\s*$")
YAML_BLOCK_RE = re.compile(r"```yaml\n(.*?)```", re.DOTALL)


def parse_front_matter(text: str) -> tuple[dict[str, str], list[str]]:
    text = text.lstrip("\ufeff")
    match = FRONT_RE.match(text)
    if not match:
        return {}, []
    fields: dict[str, str] = {}
    aliases: list[str] = []
    in_aliases = False
    for line in match.group(1).splitlines():
        if in_aliases and line.strip().startswith("- "):
            aliases.append(line.strip()[2:].strip())
            continue
        in_aliases = False
        key, _, value = line.partition(":")
        if key.strip() == "aliases":
            in_aliases = True
            continue
        fields[key.strip()] = value.strip()
    return fields, aliases


def section(text: str, name: str) -> str:
    match = re.search(rf"^## {name}\s*$(.*?)(?=^## |\Z)", text, re.MULTILINE | re.DOTALL)
    return match.group(1) if match else ""


def parse_syntax(text: str) -> tuple[list[str], str | None]:
    """Parameter set names (in order) and the default set from the SYNTAX section."""
    sets: list[str] = []
    default: str | None = None
    for line in section(text, "SYNTAX").splitlines():
        match = SET_HEADING_RE.match(line)
        if not match:
            continue
        heading = match.group(1)
        # "Path (Default) - FileSystem provider": the provider suffix only says which provider
        # adds the dynamic parameters; the set is the same.
        heading = re.sub(r"\s+-\s+.*providers?$", "", heading, flags=re.IGNORECASE)
        is_default = "(Default)" in heading
        name = heading.replace("(Default)", "").strip()
        if name and name not in sets:
            sets.append(name)
        if is_default:
            default = name
    return sets, default


def parse_yaml_block(block: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for line in block.splitlines():
        key, sep, value = line.partition(":")
        if sep:
            out[key.strip()] = value.strip()
    return out


def platyps2_fields(block: str, entry: dict[str, Any]) -> dict[str, str]:
    """Map a PlatyPS 2024-05-01 yaml block onto the classic field names."""
    data = yaml.safe_load(block) or {}
    sets = data.get("ParameterSets") or [{"Name": "(All)"}]
    positions = {str(s.get("Position", "Named")) for s in sets}
    if any(s.get("ValueFromRemainingArguments") for s in sets):
        entry["remaining_arguments"] = True
    return {
        "Type": str(data.get("Type", "")),
        "Aliases": ", ".join(data.get("Aliases") or []),
        "Parameter Sets": ", ".join(str(s.get("Name")) for s in sets),
        "Position": positions.pop() if len(positions) == 1 else "Named",
        "Required": "True" if any(s.get("IsRequired") for s in sets) else "False",
        "Accepted values": ", ".join(str(v) for v in data.get("AcceptedValues") or []),
    }


def parse_parameters(text: str) -> dict[str, dict[str, Any]]:
    params: dict[str, dict[str, Any]] = {}
    body = section(text, "PARAMETERS")
    chunks = re.split(r"^(?=### )", body, flags=re.MULTILINE)
    for chunk in chunks:
        first = chunk.split("\n", 1)[0]
        match = PARAM_HEADING_RE.match(first)
        if not match:
            continue
        name = match.group(1)
        entry: dict[str, Any] = {"aliases": [], "switch": False, "type": "", "sets": [], "positions": {}}
        mandatory_in: list[str] = []
        for block in YAML_BLOCK_RE.findall(chunk):
            if re.search(r"^ParameterSets:", block, re.MULTILINE):
                # PlatyPS schema 2024-05-01 (a few newer pages): real yaml with a list of sets.
                fields = platyps2_fields(block, entry)
            else:
                fields = parse_yaml_block(block)
            ptype = fields.get("Type", "")
            entry["type"] = entry["type"] or ptype.rsplit(".", 1)[-1]
            if ptype.endswith("SwitchParameter"):
                entry["switch"] = True
            for alias in split_list(fields.get("Aliases", "")):
                if alias not in entry["aliases"]:
                    entry["aliases"].append(alias)
            sets = split_list(fields.get("Parameter Sets", "(All)")) or ["(All)"]
            for set_name in sets:
                if set_name not in entry["sets"]:
                    entry["sets"].append(set_name)
            position = fields.get("Position", "Named")
            if position.isdigit():
                for set_name in sets:
                    entry["positions"][set_name] = int(position)
            if fields.get("Required", "False").startswith("True"):
                mandatory_in.extend(s for s in sets if s not in mandatory_in)
            accepted = split_list(fields.get("Accepted values", ""))
            if accepted:
                entry["accepted_values"] = accepted
        if entry["sets"] == [] or "(All)" in entry["sets"]:
            entry["sets"] = ["(All)"]
        if mandatory_in:
            entry["mandatory_in"] = mandatory_in
        if not entry["positions"]:
            del entry["positions"]
        params[name] = entry
    return params


def parse_cmdlet(text: str) -> dict[str, Any] | None:
    text = text.lstrip("\ufeff")
    front, cmd_aliases = parse_front_matter(text)
    title = front.get("title", "")
    if not re.fullmatch(r"[A-Za-z]+-[A-Za-z0-9]+", title):
        return None
    sets, default = parse_syntax(text)
    params = parse_parameters(text)
    for entry in params.values():
        # Set names in a yaml block that no SYNTAX heading has (doc inconsistencies); kept so the
        # lint can treat such a parameter leniently instead of inventing an incompatibility.
        unknown = [s for s in entry["sets"] if s != "(All)" and sets and s not in sets]
        if unknown:
            entry["unlisted_sets"] = unknown
    out: dict[str, Any] = {"parameter_sets": sets, "parameters": params}
    if default:
        out["default_set"] = default
    if cmd_aliases:
        out["aliases"] = cmd_aliases
    remaining = [name for name, entry in params.items() if entry.pop("remaining_arguments", False)]
    if remaining:
        out["remaining_arguments"] = remaining[0]
    elif title in REMAINING_ARGUMENTS:
        out["remaining_arguments"] = REMAINING_ARGUMENTS[title]
    return out


def parse_common(ps_repo: Path) -> dict[str, dict[str, Any]]:
    text = git(ps_repo, "show", f"HEAD:{COMMON_PARAMETERS_DOC}")
    common: dict[str, dict[str, Any]] = {}
    for chunk in re.split(r"^(?=### )", text, flags=re.MULTILINE):
        match = PARAM_HEADING_RE.match(chunk.split("\n", 1)[0])
        if not match or match.group(1) in NOT_IN_51_COMMON:
            continue
        name = match.group(1)
        blocks = YAML_BLOCK_RE.findall(chunk)
        if not blocks:
            if name in COMMON_FALLBACK:
                common[name] = dict(COMMON_FALLBACK[name])
            continue
        fields = parse_yaml_block(blocks[0])
        entry: dict[str, Any] = {
            "aliases": split_list(fields.get("Aliases", "")),
            "switch": fields.get("Type", "").endswith("SwitchParameter"),
            "type": fields.get("Type", ""),
        }
        accepted = split_list(fields.get("Accepted values", ""))
        if accepted:
            entry["accepted_values"] = accepted
        common[name] = entry
    for name, entry in COMMON_FALLBACK.items():
        common.setdefault(name, dict(entry))
    return common


VERB_NOUN_RE = re.compile(r"\b([A-Z][a-z]+-[A-Z][A-Za-z]+)\b")


def parse_provider_parameters(ps_repo: Path) -> dict[str, dict[str, Any]]:
    """cmdlet -> {parameter: {type, switch, provider}} from the providers' about pages."""
    out: dict[str, dict[str, Any]] = {}
    for doc in PROVIDER_DOCS:
        text = git(ps_repo, "show", f"HEAD:{doc}")
        provider = re.search(r"about_(\w+)_Provider", doc).group(1)  # type: ignore[union-attr]
        body = section(text, "Dynamic parameters")
        for chunk in re.split(r"^(?=### )", body, flags=re.MULTILINE):
            match = re.match(r"^### (\w+)(?: \([^)]*\))? \\?<([^>\\]*)\\?>", chunk)
            if not match:
                continue
            name, ptype = match.group(1), match.group(2)
            supported = re.split(r"^#{3,4} Cmdlets [Ss]upported\s*$", chunk, maxsplit=1, flags=re.MULTILINE)
            if len(supported) == 2:
                cmdlets = VERB_NOUN_RE.findall(supported[1])
            else:
                cmdlets = re.findall(r"\[([A-Z][a-z]+-[A-Z][A-Za-z]+)\]", chunk)
            for cmdlet in dict.fromkeys(cmdlets):
                out.setdefault(cmdlet, {})[name] = {
                    "type": ptype.rsplit(".", 1)[-1],
                    "switch": ptype.endswith("SwitchParameter"),
                    "provider": provider,
                }
    return out


def generate(ps_repo: Path, win_repo: Path) -> dict[str, Any]:
    repos = {"ps": ps_repo, "win": win_repo}
    names = {"ps": PS_DOCS_REPO, "win": WIN_DOCS_REPO}
    commits = {key: git(path, "rev-parse", "HEAD").strip() for key, path in repos.items()}
    cmdlets: dict[str, Any] = {}
    aliases: dict[str, str] = {}
    for key, folder, module in MODULES:
        repo = repos[key]
        listing = git(repo, "ls-tree", "--name-only", f"HEAD:{folder}").split()
        for file_name in sorted(listing):
            if not file_name.endswith(".md"):
                continue
            text = git(repo, "show", f"HEAD:{folder}/{file_name}")
            parsed = parse_cmdlet(text)
            if parsed is None:
                continue
            name = file_name[:-3]
            parsed["module"] = module
            parsed["source"] = f"{names[key]}@{commits[key][:12]}:{folder}/{file_name}"
            cmdlets[name] = parsed
            for alias in parsed.get("aliases", []):
                aliases[alias.lower()] = name
    for cmdlet, dynamic in parse_provider_parameters(ps_repo).items():
        if cmdlet not in cmdlets:
            continue
        params = cmdlets[cmdlet]["parameters"]
        for pname, info in dynamic.items():
            if pname not in params:
                params[pname] = {
                    "aliases": [],
                    "switch": info["switch"],
                    "type": info["type"],
                    "sets": ["(All)"],
                    "provider": info["provider"],
                }
    return {
        "generated_by": "tools/gen_signatures.py",
        "sources": [{"repository": names[k], "commit": commits[k]} for k in ("ps", "win")],
        "powershell_version": "5.1",
        "common_parameters": parse_common(ps_repo),
        "aliases": dict(sorted(aliases.items())),
        "cmdlets": dict(sorted(cmdlets.items(), key=lambda kv: kv[0].lower())),
        "externals": EXTERNALS,
    }


def dump(data: dict[str, Any]) -> str:
    """JSON with one line per cmdlet, common parameter and external: small, diffable, greppable."""
    lines = ["{"]
    keys = list(data)
    for i, key in enumerate(keys):
        value = data[key]
        comma = "," if i < len(keys) - 1 else ""
        if key in ("cmdlets", "common_parameters", "externals"):
            lines.append(f"{json.dumps(key)}: {{")
            items = list(value.items())
            for j, (name, entry) in enumerate(items):
                inner = "," if j < len(items) - 1 else ""
                lines.append(f" {json.dumps(name)}: {json.dumps(entry, separators=(',', ':'))}{inner}")
            lines.append("}" + comma)
        else:
            lines.append(f"{json.dumps(key)}: {json.dumps(value)}{comma}")
    lines.append("}")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument(
        "--ps-docs", type=Path, default=Path("/work/.mirror/MicrosoftDocs+PowerShell-Docs/repo")
    )
    parser.add_argument(
        "--win-docs", type=Path, default=Path("/work/.mirror/MicrosoftDocs+windows-powershell-docs/repo")
    )
    default_out = Path(__file__).resolve().parent.parent / "winfra" / "scripts" / "signatures.json"
    parser.add_argument("--output", type=Path, default=default_out)
    args = parser.parse_args()
    data = generate(args.ps_docs, args.win_docs)
    args.output.write_text(dump(data), encoding="utf-8")
    print(f"{args.output}: {len(data['cmdlets'])} cmdlets, {len(data['aliases'])} aliases")


if __name__ == "__main__":
    main()
