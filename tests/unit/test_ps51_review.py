"""Windows PowerShell 5.1 run-time traps found by review in the shipped scripts (reviewer R1).

No PowerShell runs here, so each trap is pinned two ways where possible: a structural check of
the script (tree-sitter-pwsh) that fails on the buggy form, and, where the fix changes what the
script reports, a check of the simulator counterpart. Test names carry their area (windows,
features, reboot, wsl, runas, bootstrap) so ``pytest -k <area>`` selects them.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from tree_sitter import Node

from winfra.powershell.syntax import parse
from winfra.sim.models import host as h
from winfra.sim.models.wsl import create_distro
from winfra.sim.scripting import PowerShellError, ScriptCall
from winfra.sim.scripts import wsl_relocate, wsl_user_action

SCRIPTS = Path(__file__).resolve().parents[2] / "winfra" / "scripts"
FAST_BOOT = {"boot": {"downtime_s": 0.05, "readiness_delay_s": 0.05}}


def text_of(name: str) -> str:
    return (SCRIPTS / name).read_text(encoding="utf-8")


def walk(node: Node) -> Iterator[Node]:
    yield node
    for child in node.children:
        yield from walk(child)


def commands(source: str) -> list[tuple[str, Node]]:
    """(command name as written, node) for every command in ``source``."""
    found = []
    for node in walk(parse(source).root_node):
        if node.type != "command":
            continue
        name = next((c for c in node.children if c.type in ("command_name", "command_name_expr")), None)
        if name is not None:
            found.append(((name.text or b"").decode(), node))
    return found


def ancestors(node: Node) -> Iterator[Node]:
    parent = node.parent
    while parent is not None:
        yield parent
        parent = parent.parent


def enclosing_if_conditions(node: Node) -> list[str]:
    """Condition texts of the if statements whose then-block holds ``node``."""
    conditions = []
    child = node
    for parent in ancestors(node):
        if parent.type == "if_statement" and child.type == "statement_block":
            kids = parent.children
            cond = next((k for k in kids[: kids.index(child)] if k.type not in ("if", "(", ")")), None)
            conditions.append((cond.text or b"").decode() if cond is not None else "")
        child = parent
    return conditions


def inside_try(node: Node) -> bool:
    child = node
    for parent in ancestors(node):
        if parent.type == "try_statement" and child.type == "statement_block":
            return True
        child = parent
    return False


def node_text(node: Node) -> str:
    return (node.text or b"").decode()


# -- windows / features / reboot ------------------------------------------------------------------


def test_features_change_cmdlets_keep_warnings_off_stdout() -> None:
    # Enable-WindowsOptionalFeature -NoRestart warns "Restart is suppressed because NoRestart is
    # specified." (ChrisTitusTech/winutil#265) and powershell.exe writes warnings to stdout
    # (PowerShell/PowerShell#13080): without -WarningAction the JSON is not the only thing there.
    changers = {
        "enable-windowsoptionalfeature",
        "disable-windowsoptionalfeature",
        "install-windowsfeature",
        "uninstall-windowsfeature",
    }
    found = [(n, node) for n, node in commands(text_of("set_windows_features.ps1")) if n.lower() in changers]
    assert len(found) == 6
    for name, node in found:
        assert "-WarningAction SilentlyContinue" in node_text(node), name


def test_windows_features_unknown_name_is_a_state_not_a_query_error() -> None:
    # "Feature name X is unknown." is 0x800F080C (windows-facts F.5): a Home edition without
    # Hyper-V must read null for it, not set features.error (which fails the host as "could not
    # read the state").
    source = text_of("get_host_state.ps1")
    region = source[source.index("#region features") : source.index("#endregion features")]
    assert hex(-2146498548 & 0xFFFFFFFF) == "0x800f080c"
    catch = region[region.index("} catch {") : region.index("# Server roles")]
    assert "$_.Exception.HResult -ne -2146498548" in catch
    assert "$featError = $_.Exception.Message" in catch


def test_reboot_comment_is_only_passed_when_not_empty() -> None:
    # PS 5.1 drops an empty string argument to a native program (PowerShell/PowerShell#6280), so
    # `/c ''` would reach shutdown.exe as a bare /c.
    calls = [node for name, node in commands(text_of("restart_computer.ps1")) if name == "$shutdown"]
    with_comment = [node for node in calls if " /c " in node_text(node)]
    without_comment = [node for node in calls if " /r " in node_text(node) and " /c " not in node_text(node)]
    assert with_comment and without_comment
    for node in with_comment:
        assert "$message" in enclosing_if_conditions(node)


def test_reboot_comment_trailing_backslash_is_doubled_when_quoted() -> None:
    # PS 5.1 quotes an argument with whitespace without escaping (PowerShell/PowerShell#14747):
    # a trailing backslash would escape the closing quote. The script doubles the trailing run;
    # this is the same replacement in Python, applied to what PS 5.1 then puts on the command line.
    source = text_of("restart_computer.ps1")
    assert "$message -match '\\s' -and $message.EndsWith('\\')" in source
    assert "$message -replace '(\\\\+)$', '$1$1'" in source
    message = "winfra restart in C:\\temp\\"
    fixed = re.sub(r"(\\+)$", lambda m: m.group(1) * 2, message)
    command_line = f'/c "{fixed}"'
    # MSVCRT rule: 2n backslashes before a quote are n backslashes and the quote ends the argument.
    assert command_line.endswith('\\\\"') and not command_line.endswith('\\\\\\"')


# -- wsl -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("script", ["get_wsl_user_state.ps1", "wsl_relocate.ps1", "wsl_user_action.ps1"])
def test_wsl_join_path_only_on_environment_paths(script: str) -> None:
    # Join-Path resolves the drive and throws "Cannot find drive" for one that is not mounted
    # (PowerShell/PowerShell#4386): registry BasePaths and the move target go through
    # [IO.Path]::Combine. wsl_user_action's set_version still joins the distro's own BasePath
    # (the drive of a distro being converted exists), so only environment paths are allowed
    # in the two scripts that enumerate every registration.
    joins = [node for name, node in commands(text_of(script)) if name.lower() == "join-path"]
    for node in joins:
        first = node_text(node).split()[1]
        if script == "wsl_user_action.ps1" and first == "$base":
            continue
        assert first.startswith("$env:"), node_text(node)


def test_wsl_relocate_empty_base_path_never_reaches_test_path() -> None:
    # Test-Path -LiteralPath '' throws (the parameter refuses an empty string).
    source = text_of("wsl_relocate.ps1")
    assert "$vhdWhereRegistered = [bool]$d.vhd_path -and (Test-Path -LiteralPath $d.vhd_path)" in source
    assert "Test-Path -LiteralPath $d.vhd_path)" not in source.replace(
        "[bool]$d.vhd_path -and (Test-Path -LiteralPath $d.vhd_path)", ""
    )


def test_wsl_write_config_compares_bytes_case_sensitively() -> None:
    source = text_of("wsl_user_action.ps1")
    branch = source[source.index("'write_config' {") : source.index("'shutdown' {")]
    assert "::ReadAllText(" not in branch  # it strips a BOM
    assert re.search(r"-(ne|eq)\s+\$text", branch) is None  # -ne/-eq ignore case
    assert "-ceq" in branch and "ReadAllBytes" in branch


def _wsl_host(tmp_path: Path) -> h.SimHost:
    host = h.SimHost.load(
        "m1",
        overrides={**FAST_BOOT, "wsl": {"package": {"kind": "package", "version": "2.5.10.0"}}},
        state_dir=tmp_path,
    )
    create_distro(host, "dev", "Ubuntu", r"C:\wsl\Ubuntu", marker="u", default=True, default_uid=1000)
    return host


def _write_config(host: h.SimHost, content: str) -> dict:
    call = ScriptCall(
        host=host,
        params={"user": "dev", "action": "write_config", "content": content},
        user="dev",
        elevated=False,
    )
    return wsl_user_action.run(call)


def test_wsl_write_config_rewrites_a_bom_and_a_change_of_case(tmp_path: Path) -> None:
    host = _wsl_host(tmp_path)
    text = "[wsl2]\nmemory=8GB\n"
    path = host.user_env("dev")["USERPROFILE"] + "\\.wslconfig"
    host.fs.write_bytes(path, b"\xef\xbb\xbf" + text.encode())
    # Same text behind a BOM: the controller asks for this rewrite to drop the BOM.
    assert _write_config(host, text)["changed"] is True
    assert host.fs.read_bytes(path) == text.encode()
    assert _write_config(host, text)["changed"] is False
    # A change of case only is a change.
    assert _write_config(host, text.replace("8GB", "8gb"))["changed"] is True
    assert host.fs.read_bytes(path) == b"[wsl2]\nmemory=8gb\n"


def test_wsl_relocate_to_a_drive_that_does_not_exist_is_a_clear_error(tmp_path: Path) -> None:
    host = _wsl_host(tmp_path)
    host.users.require("dev").logged_on = True
    assert "Q" not in host.fs.volumes
    call = ScriptCall(
        host=host,
        params={"name": "Ubuntu", "location": r"Q:\wsl\Ubuntu", "use_manage_move": False},
        user="dev",
        elevated=False,
    )
    with pytest.raises(PowerShellError) as err:
        wsl_relocate.run(call)
    assert "drive Q: does not exist" in err.value.message and "Nothing was changed" in err.value.message
    assert host.fs.exists(r"C:\wsl\Ubuntu\ext4.vhdx")


# -- runas -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("script", ["run_as_user.ps1", "wsl_relocate.ps1"])
def test_runas_owner_lookup_survives_an_exited_explorer(script: str) -> None:
    # An explorer.exe that exits between Get-CimInstance and Invoke-CimMethod makes the call fail,
    # which under $ErrorActionPreference = 'Stop' would abort the script.
    calls = [node for name, node in commands(text_of(script)) if name == "Invoke-CimMethod"]
    assert calls
    for node in calls:
        assert "GetOwnerSid" in node_text(node)
        assert inside_try(node), node_text(node)


# -- bootstrap -------------------------------------------------------------------------------------


def test_bootstrap_whatif_does_not_read_wsman_while_winrm_is_stopped() -> None:
    # The WSMan: drive fails while WinRM is stopped (0x80338012, microsoft/navcontainerhelper#3518);
    # under -WhatIf step 1 does not start it.
    source = text_of("bootstrap/Enable-WinfraRemoting.ps1")
    found = commands(source)
    listener_reads = [node for name, node in found if name == "Get-HttpsListener"]
    assert listener_reads
    for node in listener_reads:
        assert "$WsmanReadable" in enclosing_if_conditions(node)
    setting = source[
        source.index("function Set-ServiceSettingFalse") : source.index("function ConvertTo-PemText")
    ]
    assert setting.index("if (-not $WsmanReadable)") < setting.index("(Get-Item -Path $Path).Value")
    assert source.index("$WsmanReadable = ") < source.index("Set-ServiceSettingFalse -Path")


def test_bootstrap_pem_comparison_is_case_sensitive() -> None:
    source = text_of("bootstrap/Enable-WinfraRemoting.ps1")
    assert "$existing -cne $pem" in source
    assert "$existing -ne $pem" not in source


def _msvcrt_split(command_line: str) -> list[str]:
    """Split a command line the way the MSVCRT/CommandLineToArgvW rules do
    (https://learn.microsoft.com/cpp/c-language/parsing-c-command-line-arguments)."""
    args: list[str] = []
    current: list[str] = []
    in_quotes = False
    have_arg = False
    i = 0
    while i < len(command_line):
        c = command_line[i]
        if c == "\\":
            n = 0
            while i < len(command_line) and command_line[i] == "\\":
                n += 1
                i += 1
            if i < len(command_line) and command_line[i] == '"':
                current.append("\\" * (n // 2))
                if n % 2:
                    current.append('"')
                    i += 1
            else:
                current.append("\\" * n)
            have_arg = True
            continue
        if c == '"':
            in_quotes = not in_quotes
            have_arg = True
        elif c in " \t" and not in_quotes:
            if have_arg:
                args.append("".join(current))
                current, have_arg = [], False
        else:
            current.append(c)
            have_arg = True
        i += 1
    if have_arg:
        args.append("".join(current))
    return args


def test_wsl_relocate_arguments_survive_the_msvcrt_command_line_rules() -> None:
    # Format-WinfraArg builds ProcessStartInfo.Arguments: quotes around whitespace, and the
    # trailing backslashes doubled so they do not escape the closing quote.
    source = text_of("wsl_relocate.ps1")
    func = source[source.index("function Format-WinfraArg") : source.index("function Invoke-WinfraWsl")]
    assert "if ($Value -match '\\s')" in func
    assert "($Value -replace '(\\\\+)$', '$1$1')" in func

    def format_arg(value: str) -> str:
        if re.search(r"\s", value):
            return '"' + re.sub(r"(\\+)$", r"\1\1", value) + '"'
        return value

    values = [
        "--import",
        "Ubuntu",
        "C:\\Users\\John Smith\\AppData\\Local\\wsl\\",
        "D:\\wsl dir\\backup.vhdx",
        "E:\\plain\\",
        "--vhd",
    ]
    assert _msvcrt_split(" ".join(format_arg(v) for v in values)) == values
