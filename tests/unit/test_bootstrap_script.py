"""winfra/scripts/bootstrap/Enable-WinfraRemoting.ps1: static checks (no PowerShell here).

It parses with tree-sitter-pwsh, declares its parameters and help, never enables Basic auth or
unencrypted WinRM, and is idempotent by construction: every state-changing command sits inside a
``$PSCmdlet.ShouldProcess`` guard that itself sits inside a check of the current state.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from tree_sitter import Node

from winfra.powershell.scripts import all_scripts
from winfra.powershell.syntax import parse, syntax_errors

SCRIPT = (
    Path(__file__).resolve().parents[2] / "winfra" / "scripts" / "bootstrap" / "Enable-WinfraRemoting.ps1"
)

# Commands that change the host. Each must be guarded (see test_every_change_is_guarded).
MUTATING = {
    "new-item",
    "set-item",
    "remove-item",
    "set-service",
    "start-service",
    "restart-service",
    "new-selfsignedcertificate",
    "new-netfirewallrule",
    "set-netfirewallrule",
    "new-itemproperty",
    "set-itemproperty",
    "move-item",
    "set-serviceSettingfalse".lower(),
}


@pytest.fixture(scope="module")
def text() -> str:
    raw = SCRIPT.read_bytes()
    assert not raw.startswith(b"\xef\xbb\xbf"), "UTF-8 without BOM"
    return raw.decode("utf-8")


@pytest.fixture(scope="module")
def root(text: str) -> Node:
    return parse(text).root_node


def walk(node: Node):
    yield node
    for child in node.children:
        yield from walk(child)


def command_name(node: Node) -> str | None:
    for child in node.children:
        if child.type == "command_name":
            return (child.text or b"").decode()
    return None


def if_conditions(node: Node) -> list[str]:
    """Conditions of the if statements that enclose ``node`` (innermost first)."""
    conditions: list[str] = []
    parent = node.parent
    child = node
    while parent is not None:
        if parent.type == "if_statement" and child.type == "statement_block":
            # The condition is the pipeline between the parentheses before this block.
            kids = parent.children
            idx = kids.index(child) if child in kids else -1
            cond = next((k for k in reversed(kids[: max(idx, 0)]) if k.type not in ("(", ")", "if")), None)
            conditions.append((cond.text or b"").decode() if cond is not None else "")
        if parent.type == "else_clause" and child.type == "statement_block":
            outer = parent.parent
            if outer is not None and outer.type == "if_statement":
                cond = next((k for k in outer.children if k.type not in ("if", "(", ")")), None)
                conditions.append("not " + ((cond.text or b"").decode() if cond is not None else ""))
        child, parent = parent, parent.parent
    return conditions


def test_parses_cleanly(text: str) -> None:
    assert syntax_errors(text) == []


def test_not_a_json_contract_script() -> None:
    assert "Enable-WinfraRemoting" not in {s.name for s in all_scripts()}


def test_strict_mode_stop_and_no_write_host(text: str, root: Node) -> None:
    assert re.search(r"^Set-StrictMode -Version Latest$", text, re.M)
    assert re.search(r"^\$ErrorActionPreference = 'Stop'$", text, re.M)
    names = {(command_name(n) or "").lower() for n in walk(root) if n.type == "command"}
    assert "write-host" not in names
    assert "write-output" in names
    # Windows PowerShell 5.1 only: none of the PowerShell 7 operators.
    code = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith(("#", ".")))
    assert "??" not in code and "&&" not in code and "||" not in code


def test_parameters_and_help(text: str, root: Node) -> None:
    top = [n for n in root.children if n.type == "param_block"]
    assert len(top) == 1
    block = (top[0].text or b"").decode()
    assert "SupportsShouldProcess = $true" in block
    params = re.findall(r"\$(\w+)", block)
    assert params == [
        "true",  # SupportsShouldProcess = $true
        "DnsName",
        "CertificateThumbprint",
        "Port",
        "ExportPath",
        "ValidityYears",
        "FirewallRemoteAddress",
        "FirewallProfile",
        "EnableLocalAccountTokenFilterPolicy",
    ]
    assert "[switch]$EnableLocalAccountTokenFilterPolicy" in block
    assert "[int]$Port = 5986" in block
    help_text = text[: text.index("[CmdletBinding")]
    for section in (".SYNOPSIS", ".DESCRIPTION", ".EXAMPLE", ".NOTES"):
        assert section in help_text
    for name in params[1:]:
        assert f".PARAMETER {name}" in help_text, name
    # The switch's help spells out the security trade-off.
    lat = help_text[help_text.index(".PARAMETER EnableLocalAccountTokenFilterPolicy") :]
    assert "SECURITY TRADE-OFF" in lat and "laterally" in lat
    # Sources for the listener commands are cited.
    assert "installation-and-configuration-for-windows-remote-management" in help_text
    assert "wsmanproviderslistenerparameters" in help_text


def test_listener_and_certificate_commands(root: Node) -> None:
    commands = [(command_name(n) or "", (n.text or b"").decode()) for n in walk(root) if n.type == "command"]
    new_items = [t for name, t in commands if name == "New-Item"]
    assert len(new_items) == 1
    assert "WSMan:\\localhost\\Listener" in new_items[0] and "-Transport HTTPS" in new_items[0]
    assert "-CertificateThumbPrint $thumbprint" in new_items[0] and "-Port $Port" in new_items[0]
    certs = [t for name, t in commands if name == "New-SelfSignedCertificate"]
    assert (
        len(certs) == 1
        and "-CertStoreLocation Cert:\\LocalMachine\\My" in certs[0]
        and "-DnsName" in certs[0]
    )
    rules = [t for name, t in commands if name == "New-NetFirewallRule"]
    assert len(rules) == 1 and "-LocalPort $Port" in rules[0] and "-Direction Inbound" in rules[0]


def test_basic_and_unencrypted_only_ever_set_false(text: str, root: Node) -> None:
    lowered = text.lower()
    # No route that turns them on: no quickconfig/Enable-PSRemoting, no winrm set with true.
    assert "enable-psremoting" not in lowered
    assert 'basic="true"' not in lowered and 'allowunencrypted="true"' not in lowered
    calls = [(n.text or b"").decode() for n in walk(root) if n.type == "command"]
    falses = [c for c in calls if c.startswith("Set-ServiceSettingFalse")]
    assert sorted(falses) == [
        "Set-ServiceSettingFalse -Path WSMan:\\localhost\\Service\\AllowUnencrypted",
        "Set-ServiceSettingFalse -Path WSMan:\\localhost\\Service\\Auth\\Basic",
    ]
    # Every Set-Item writes either $false (the helper), a thumbprint or a port; never $true.
    for call in calls:
        if call.startswith("Set-Item"):
            assert "$true" not in call
            assert re.search(r"-Value \$(false|thumbprint|Port)\b", call), call


def test_every_change_is_guarded(root: Node) -> None:
    """Idempotent by construction: state check outside, ShouldProcess inside, then the change."""
    changes = []
    for node in walk(root):
        name = None
        if node.type == "command":
            name = (command_name(node) or "").lower()
        elif node.type == "invokation_expression" and b"WriteAllText" in (node.text or b""):
            name = "writealltext"
        if name in MUTATING or name == "writealltext":
            changes.append((name, node))
    assert len(changes) >= 10
    for name, node in changes:
        if name == "set-servicesettingfalse":
            continue  # the helper guards its own Set-Item, which is checked like every other change
        conditions = if_conditions(node)
        text = (node.text or b"").decode()[:60]
        assert conditions, f"{name} is not inside any if: {text}"
        assert "$PSCmdlet.ShouldProcess" in conditions[0], f"{name} lacks a ShouldProcess guard: {text}"
        assert len(conditions) >= 2, f"{name} has no state check around its ShouldProcess: {text}"
        assert "ShouldProcess" not in conditions[1], f"{name}: the outer guard must check state: {text}"


def test_get_checks_precede_changes(text: str) -> None:
    # Each area reads state with a Get- before changing it (in the code, after the help block).
    text = text[text.index("[CmdletBinding") :]
    for reader, writer in (
        ("Get-Service -Name WinRM", "Set-Service -Name WinRM"),
        ("Get-ChildItem -Path WSMan:\\localhost\\Listener", "New-Item -Path WSMan:\\localhost\\Listener"),
        ("Get-NetFirewallRule -Name $FirewallRuleName", "New-NetFirewallRule"),
        ("Get-ItemProperty -Path $PolicyKey", "New-ItemProperty -Path $PolicyKey"),
        ("(Get-Item -Path $Path).Value", "Set-Item -Path $Path -Value $false"),
        ("Get-ChildItem -Path Cert:\\LocalMachine\\My", "New-SelfSignedCertificate"),
    ):
        assert reader in text and writer in text
        assert text.index(reader) < text.index(writer), (reader, writer)


def test_token_filter_policy_only_with_switch(root: Node) -> None:
    for node in walk(root):
        if node.type == "command" and command_name(node) == "New-ItemProperty":
            conditions = if_conditions(node)
            assert conditions[-1] == "$EnableLocalAccountTokenFilterPolicy"
            text = (node.text or b"").decode()
            assert "-Name LocalAccountTokenFilterPolicy" in text and "-PropertyType DWord -Value 1" in text
            break
    else:
        pytest.fail("no New-ItemProperty for LocalAccountTokenFilterPolicy")


def test_signature_lint_passes() -> None:
    lint = pytest.importorskip("winfra.scripts.lint")
    report = lint.lint_file(SCRIPT, json_contract=False)
    assert not report.violations, lint.format_report(report)
