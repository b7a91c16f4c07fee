"""The read-only command interpreter (winfra/sim/shell/interpreter.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from winfra.sim.models import host as h
from winfra.sim.models import wsl
from winfra.sim.models.registry import REG_DWORD, REG_SZ
from winfra.sim.shell.interpreter import interpret

FAST = {"boot": {"downtime_s": 0.05, "readiness_delay_s": 0.01}}


@pytest.fixture
def host(tmp_path: Path) -> h.SimHost:
    return h.SimHost.load("ip", profile="win11-devbox", overrides=FAST, state_dir=tmp_path)


def run(
    host: h.SimHost, script: str, user: str = "winrm-admin", shell: str = "powershell", **env: str
) -> tuple[object, object, int]:
    base = host.user_env(user)
    base.update(env)
    return interpret(host, user, script, base, shell=shell)


def register(
    host: h.SimHost, user: str, name: str, guid: str, *, default: bool = False, flags: int = 15
) -> None:
    """Write a registration the way WSL does (windows-facts A.5)."""
    sid = host.users.require(user).sid
    key = wsl.lxss_path(sid) + "\\" + guid
    host.registry.set_value(key, "DistributionName", name, REG_SZ)
    host.registry.set_value(key, "BasePath", rf"C:\Users\{user}\AppData\Local\wsl\{guid}", REG_SZ)
    host.registry.set_value(key, "VhdFileName", "ext4.vhdx", REG_SZ)
    host.registry.set_value(key, "Flags", flags, REG_DWORD)
    host.registry.set_value(key, "State", 1, REG_DWORD)
    host.registry.set_value(key, "Version", 2, REG_DWORD)
    host.registry.set_value(key, "DefaultUid", 1000, REG_DWORD)
    if default:
        host.registry.set_value(wsl.lxss_path(sid), "DefaultDistribution", guid, REG_SZ)


# --- wsl.exe --------------------------------------------------------------------------------------


def test_wsl_list_verbose_is_utf16le_in_the_documented_format(host: h.SimHost) -> None:
    host.wsl.package = wsl.WslPackage(kind="package", version="2.3.26.0")
    register(host, "dev", "Ubuntu-22.04", "{11111111-1111-1111-1111-111111111111}")
    register(host, "dev", "Ubuntu", "{22222222-2222-2222-2222-222222222222}", default=True)
    register(host, "dev", "legacy", "{33333333-3333-3333-3333-333333333333}", flags=7)
    host.wsl.runtime_for("dev").running_distros.append("Ubuntu")
    out, err, code = run(host, "wsl.exe -l -v", user="dev")
    # windows-facts A.3: "%s %-<maxLen+4>s%-16s%s\n", header with two leading spaces, default first
    # marked "*", VERSION from Flags & 0x8; A.4: UTF-16LE without BOM, CR LF line ends.
    width = len("Ubuntu-22.04") + 4
    expected = (
        f"  {'NAME'.ljust(width)}{'STATE'.ljust(16)}VERSION\r\n"
        f"* {'Ubuntu'.ljust(width)}{'Running'.ljust(16)}2\r\n"
        f"  {'Ubuntu-22.04'.ljust(width)}{'Stopped'.ljust(16)}2\r\n"
        f"  {'legacy'.ljust(width)}{'Stopped'.ljust(16)}1\r\n"
    )
    assert out == expected.encode("utf-16-le")
    assert not out.startswith(b"\xff\xfe")
    assert code == 0 and err == ""
    # WSL_UTF8=1 (exactly "1") switches to UTF-8 (A.4); other values are ignored.
    out8, _, _ = run(host, "wsl.exe -l -v", user="dev", WSL_UTF8="1")
    assert out8 == expected.encode("utf-8")
    out_other, _, _ = run(host, "wsl.exe -l -v", user="dev", WSL_UTF8="true")
    assert out_other == expected.encode("utf-16-le")
    # Set in the same PowerShell command, as winfra does.
    out_ps, _, _ = run(
        host, "$env:WSL_UTF8 = '1'; & 'C:\\Program Files\\WSL\\wsl.exe' --list --verbose", user="dev"
    )
    assert out_ps == expected.encode("utf-8")


def test_wsl_list_quiet_and_localized_list(host: h.SimHost) -> None:
    host.wsl.package = wsl.WslPackage(kind="package", version="2.3.26.0")
    register(host, "dev", "Debian", "{44444444-4444-4444-4444-444444444444}")
    register(host, "dev", "Ubuntu", "{55555555-5555-5555-5555-555555555555}", default=True)
    out, _, code = run(host, "wsl -l -q", user="dev", WSL_UTF8="1")
    assert out == b"Ubuntu\r\nDebian\r\n" and code == 0
    out, _, _ = run(host, "wsl.exe --list", user="dev", WSL_UTF8="1")
    # windows-facts F.2 (en-US).
    assert out.decode() == "Windows Subsystem for Linux Distributions:\r\nUbuntu (Default)\r\nDebian\r\n"


def test_wsl_registrations_are_per_user(host: h.SimHost) -> None:
    # windows-facts A.5/A.7: the WinRM admin sees its own (empty) Lxss key, not dev's distros.
    host.wsl.package = wsl.WslPackage(kind="package", version="2.3.26.0")
    register(host, "dev", "Ubuntu", "{66666666-6666-6666-6666-666666666666}", default=True)
    out, err, code = run(host, "wsl.exe -l -v", user="winrm-admin", shell="cmd", WSL_UTF8="1")
    # A.2 / WslClient.cpp: no distros -> message on stdout without an error-code line, exit -1.
    assert code == -1 and err == ""
    # Under powershell.exe -Command a failing native program makes the process exit 1
    # (PowerShell/PowerShell#13501).
    assert run(host, "wsl.exe -l -v", user="winrm-admin", WSL_UTF8="1")[2] == 1
    assert out.decode().startswith("Windows Subsystem for Linux has no installed distributions.\r\n")
    assert b"Error code" not in out
    out, _, code = run(host, "wsl.exe -l -q", user="winrm-admin")
    assert out == b"" and code == 0


def test_inbox_wsl_ignores_wsl_utf8_and_rejects_version(host: h.SimHost) -> None:
    assert host.wsl.package.kind == "inbox"
    out, _, code = run(host, "wsl --version", shell="cmd", WSL_UTF8="1")
    assert code == -1
    assert out == "Invalid command line option: --version\r\n".encode("utf-16-le")
    # The package path does not exist with inbox WSL.
    _, err, code = run(host, "& 'C:\\Program Files\\WSL\\wsl.exe' -l -v")
    assert code == 1 and "is not recognized" in str(err)


def test_wsl_version_lines(host: h.SimHost) -> None:
    host.wsl.package = wsl.WslPackage(kind="package", version="2.3.26.0", kernel_version="5.15.167.4-1")
    out, _, code = run(host, "wsl.exe --version", WSL_UTF8="1")
    lines = out.decode().split("\r\n")
    # windows-facts F.3: seven lines, the WSL version first and Windows version last.
    assert code == 0 and len([ln for ln in lines if ln]) == 7
    assert lines[0] == "WSL version: 2.3.26.0" and lines[6] == "Windows version: 10.0.22631.4460"


def test_wsl_absent_is_not_recognized(tmp_path: Path) -> None:
    server = h.SimHost.load("srv", profile="server2022", state_dir=tmp_path)
    _, err, code = run(server, "wsl.exe -l -v", user="Administrator")
    assert code == 1 and "The term 'wsl.exe' is not recognized" in str(err)


def test_cmd_line_with_quoted_wsl_path(host: h.SimHost) -> None:
    # testinfra sends raw cmd.exe lines; a quoted path is a program there, not a PowerShell string.
    host.wsl.package = wsl.WslPackage(kind="package", version="2.3.26.0")
    register(host, "dev", "Ubuntu", "{77777777-7777-7777-7777-777777777777}", default=True)
    out, _, code = run(host, '"C:\\Program Files\\WSL\\wsl.exe" -l -q', user="dev")
    assert out == "Ubuntu\r\n".encode("utf-16-le") and code == 0


def test_wsl_output_piped_into_powershell_shows_nuls(host: h.SimHost) -> None:
    # windows-facts A.4: piping UTF-16 output through PowerShell decodes it with the console
    # encoding, so characters come out separated by NULs.
    host.wsl.package = wsl.WslPackage(kind="package", version="2.3.26.0")
    register(host, "dev", "Ubuntu", "{88888888-8888-8888-8888-888888888888}", default=True)
    out, _, _ = run(host, "wsl.exe -l -q | Out-String", user="dev")
    assert "U\x00b\x00u" in str(out)


# --- cmdlets ---------------------------------------------------------------------------------------


def test_get_service_table_json_and_missing(host: h.SimHost) -> None:
    out, err, code = run(host, "Get-Service -Name WinRM")
    assert code == 0 and "Running" in str(out) and "WinRM" in str(out)
    out, _, _ = run(host, "Get-Service winrm | ConvertTo-Json -Compress")
    doc = json.loads(str(out))
    # PS 5.1 serialises enums as numbers (windows-facts D.1): Running = 4, Automatic = 2.
    assert doc["Status"] == 4 and doc["StartType"] == 2 and doc["Name"] == "WinRM"
    out, err, code = run(host, "Get-Service -Name docker")
    assert code == 1 and out == "" and "Cannot find any service with service name 'docker'." in str(err)
    _, err, code = run(host, "Get-Service -Name docker -ErrorAction SilentlyContinue")
    assert err == "" and code == 0


def test_test_path_and_get_content_keep_encoding(host: h.SimHost) -> None:
    host.fs.write_bytes(r"C:\Users\dev\.wslconfig", b"\xef\xbb\xbf[wsl2]\r\nmemory=4GB\r\n")
    assert run(host, "Test-Path -LiteralPath 'C:\\Users\\dev\\.wslconfig' -PathType Leaf")[0] == "True\r\n"
    assert run(host, 'Test-Path "$env:USERPROFILE\\.wslconfig"', user="dev")[0] == "True\r\n"
    assert run(host, "Test-Path C:\\Users\\dev -PathType Leaf")[0] == "False\r\n"
    out, _, code = run(host, "Get-Content -LiteralPath 'C:\\Users\\dev\\.wslconfig'")
    assert out == "[wsl2]\r\nmemory=4GB\r\n" and code == 0  # BOM consumed by the decoder
    out, _, _ = run(host, "Get-Content 'C:\\Users\\dev\\.wslconfig' -Raw | ConvertTo-Json -Compress")
    assert json.loads(str(out)) == "[wsl2]\r\nmemory=4GB\r\n"
    _, err, code = run(host, "Get-Content C:\\nope.txt")
    assert code == 1 and "Cannot find path" in str(err)


def test_registry_reads(host: h.SimHost) -> None:
    out, _, code = run(
        host, "(Get-ItemProperty -Path 'HKLM:\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion').CurrentBuild"
    )
    assert out == "22631\r\n" and code == 0
    out, _, _ = run(host, "(Get-Service WinRM).Status.ToString() -eq 'Running'")
    assert out == "True\r\n"
    out, _, code = run(
        host,
        "Get-ItemProperty 'HKLM:\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion' -Name UBR "
        "| Select-Object -ExpandProperty UBR",
    )
    assert out == "4460\r\n" and code == 0
    out, _, _ = run(
        host,
        "Get-ItemPropertyValue -Path 'HKLM:\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Policies\\System' "
        "-Name LocalAccountTokenFilterPolicy",
    )
    assert out == "1\r\n"
    _, err, code = run(host, "Get-ItemProperty -Path 'HKLM:\\SOFTWARE\\Nope'")
    assert code == 1 and "HKEY_LOCAL_MACHINE\\SOFTWARE\\Nope" in str(err)
    # HKCU is the calling user's hive (windows-facts A.5).
    sid = host.users.require("dev").sid
    host.registry.set_value(f"HKU\\{sid}\\Software\\Winfra", "Marker", "dev-only")
    assert run(host, "Test-Path 'HKCU:\\Software\\Winfra'", user="dev")[0] == "True\r\n"
    assert run(host, "Test-Path 'HKCU:\\Software\\Winfra'", user="winrm-admin")[0] == "False\r\n"


def test_win_reboot_readiness_command(host: h.SimHost) -> None:
    # anchors §1.6 step 5: Get-Item on AutoLogonChecked with -ErrorAction Stop, then a marker.
    cmd = (
        "Get-Item -LiteralPath "
        "'HKLM:\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion\\Winlogon\\AutoLogonChecked' "
        "-ErrorAction Stop; 'success-42'"
    )
    out, _, code = run(host, cmd)
    assert code == 0 and str(out).endswith("success-42\r\n")
    host.registry.delete_key(h.AUTOLOGON_CHECKED)
    out, err, code = run(host, cmd)
    assert code == 1 and "success-42" not in str(out) and "does not exist" in str(err)


def test_optional_features_need_elevation_and_report_states(host: h.SimHost) -> None:
    host.enable_feature("VirtualMachinePlatform")
    out, _, code = run(
        host,
        "Get-WindowsOptionalFeature -Online -FeatureName VirtualMachinePlatform "
        "| Select-Object -ExpandProperty State",
    )
    assert out == "EnablePending\r\n" and code == 0
    out, _, _ = run(host, "Get-WindowsOptionalFeature -Online -FeatureName Nope-Feature")
    assert out == ""  # unknown names return nothing (windows-facts D.1)
    # A UAC-filtered token cannot use DISM (windows-facts A.7).
    host.registry.set_value(h.POLICIES_SYSTEM, "LocalAccountTokenFilterPolicy", 0, REG_DWORD)
    _, err, code = run(host, "Get-WindowsOptionalFeature -Online")
    assert code == 1 and "requires elevation" in str(err)


def test_server_features(tmp_path: Path) -> None:
    server = h.SimHost.load("srv2", profile="server2022", state_dir=tmp_path)
    server.enable_feature("Containers")
    out, _, code = run(
        server, "Get-WindowsFeature -Name Containers | ConvertTo-Json -Compress", user="Administrator"
    )
    doc = json.loads(str(out))
    assert doc["Name"] == "Containers" and doc["Installed"] is False and code == 0
    out, _, _ = run(
        server,
        "Get-WindowsFeature Containers | Select-Object -ExpandProperty InstallState",
        user="Administrator",
    )
    assert out == "InstallPending\r\n"
    # Client SKUs refuse ServerManager cmdlets.
    client = h.SimHost.load("cl", profile="win11-devbox", state_dir=tmp_path)
    _, err, code = run(client, "Get-WindowsFeature")
    assert code == 1 and "client-based operating system" in str(err)


def test_unknown_commands_and_syntax(host: h.SimHost) -> None:
    out, err, code = run(host, "Remove-Item C:\\x")
    assert code == 1 and out == ""
    assert (
        "The term 'Remove-Item' is not recognized as the name of a cmdlet, function, script file, or "
        "operable program." in str(err)
    )
    _, err, code = run(host, "if ($true) { 1 }")
    assert code == 1 and "not recognized" in str(err)
    assert run(host, "exit 7")[2] == 7
    _, err, code = run(host, "Get-Service -Name 'unclosed")
    assert code == 1 and "ParseException" in str(err)


def test_variables_arrays_and_output(host: h.SimHost) -> None:
    out, _, code = run(host, "$x = 'a'\n$y = \"$x-b\"\nWrite-Output $y, 3 | ConvertTo-Json -Compress")
    assert json.loads(str(out)) == ["a-b", 3] and code == 0
    out, _, _ = run(host, "Get-Service | Select-Object -First 1 -Property Name | ConvertTo-Json -Compress")
    assert json.loads(str(out)) == {"Name": "LanmanServer"}


# --- docker ------------------------------------------------------------------------------------------


def install_engine(host: h.SimHost, version: str = "27.3.1", running: bool = True) -> None:
    host.fs.write_bytes(r"C:\Program Files\Docker\docker.exe", b"MZ", make_parents=True)
    host.fs.write_bytes(r"C:\Program Files\Docker\dockerd.exe", b"MZ")
    host.add_to_machine_path(r"C:\Program Files\Docker")
    host.docker.engine.version = version
    host.services.add(
        h.Service(
            "docker",
            "Docker Engine",
            "Running" if running else "Stopped",
            "Automatic",
            r'"C:\Program Files\Docker\dockerd.exe" --run-service',
        )
    )


def test_docker_version_json_and_text(tmp_path: Path) -> None:
    server = h.SimHost.load("dsrv", profile="server2022", state_dir=tmp_path)
    _, err, code = run(server, "docker version", user="Administrator")
    assert code == 1 and "'docker' is not recognized" in str(err)
    install_engine(server)
    out, err, code = run(server, "docker version --format '{{json .}}'", user="Administrator")
    doc = json.loads(out)
    assert code == 0 and doc["Server"]["Version"] == "27.3.1" and doc["Server"]["Os"] == "windows"
    assert doc["Client"]["ApiVersion"] == "1.47"
    out, _, code = run(server, "docker version", user="Administrator")
    assert b"Server: Docker Engine - Community" in out and code == 0
    server.services.get("docker").state = "Stopped"
    out, err, code = run(server, "docker version --format '{{json .}}'", user="Administrator")
    assert code == 1 and json.loads(out)["Server"] is None
    assert b"The system cannot find the file specified." in err


def test_docker_pipe_access_follows_group(tmp_path: Path) -> None:
    # windows-facts C.4: the default pipe admits Administrators; daemon.json "group" adds a group.
    box = h.SimHost.load("dbox", profile="win11-devbox", state_dir=tmp_path)
    install_engine(box)
    _, err, code = run(box, "docker version --format '{{json .}}'", user="dev")
    assert code == 1 and b"Access is denied." in err
    box.users.add_group("docker")
    box.users.add_member("docker", "dev")
    box.fs.write_bytes(r"C:\ProgramData\docker\config\daemon.json", b'{"group":"docker"}', make_parents=True)
    _, _, code = run(box, "docker version --format '{{json .}}'", user="dev")
    assert code == 0


def test_wsl_status_warns_without_vmcompute(host: h.SimHost) -> None:
    host.wsl.package = wsl.WslPackage(kind="package", version="2.3.26.0")
    register(host, "dev", "Ubuntu", "{99999999-9999-9999-9999-999999999999}", default=True)
    out, _, code = run(host, "wsl.exe --status", user="dev", WSL_UTF8="1")
    text = out.decode()
    # windows-facts F.4 lines, then F.8 MessageEnableVirtualization while vmcompute is absent.
    assert code == 0 and text.startswith("Default Distribution: Ubuntu\r\nDefault Version: 2\r\n")
    assert "WSL2 is unable to start since virtualization is not enabled on this machine." in text
    host.enable_feature("VirtualMachinePlatform")
    host.reboot()
    out, _, _ = run(host, "wsl.exe --status", user="dev", WSL_UTF8="1")
    assert "virtualization is not enabled" not in out.decode()


# --- what testinfra's Windows modules run (testinfra/modules/{systeminfo,user,file}.py) ----------


def test_systeminfo_findstr_as_testinfra_reads_it(host: h.SimHost) -> None:
    out, _, code = run(host, 'systeminfo | findstr /B /C:"OS"')
    lines = str(out).split("\r\n")
    assert code == 0 and lines[0] == "OS Name:                   Microsoft Windows 11 Pro"
    assert lines[1] == "OS Version:                10.0.22631 N/A Build 22631"
    assert all(ln.startswith("OS") for ln in lines if ln)
    assert run(host, 'systeminfo | findstr /B /C:"Nothing"')[2] == 1


def test_systeminfo_hyperv_requirements(tmp_path: Path) -> None:
    # windows-facts D.5: four requirement lines, or the hypervisor-detected sentence.
    vm = h.SimHost.load("vm", profile="vm-no-nested", state_dir=tmp_path)
    out = str(run(vm, "systeminfo")[0])
    assert "Hyper-V Requirements:      VM Monitor Mode Extensions: No\r\n" in out
    assert "                           Virtualization Enabled In Firmware: No\r\n" in out
    box = h.SimHost.load("box", profile="win11-devbox", state_dir=tmp_path)
    box.enable_feature("VirtualMachinePlatform")
    box.reboot()
    out = str(run(box, "systeminfo")[0])
    assert "Hyper-V Requirements:      A hypervisor has been detected." in out


def test_net_user_and_localgroup(host: h.SimHost) -> None:
    out, _, code = run(host, "net user winrm-admin")
    line = next(ln for ln in str(out).split("\r\n") if ln.startswith("Local Group Memberships"))
    assert code == 0 and [g.replace("*", "") for g in line.split()[3:]] == ["Administrators"]
    _, err, code = run(host, "net user nobody", shell="cmd")
    assert code == 2 and b"The user name could not be found." in err
    assert run(host, "net user nobody")[2] == 1  # powershell.exe -Command maps it to 1
    out, _, code = run(host, "net localgroup Administrators")
    assert code == 0 and "\r\nwinrm-admin\r\n" in str(out)


def test_get_item_type_checks_and_listing(host: h.SimHost) -> None:
    host.fs.write_bytes(r"C:\data\a.txt", b"abc", make_parents=True)
    assert run(host, "(Get-Item 'C:/data') -is [System.IO.DirectoryInfo]")[0] == "True\r\n"
    assert run(host, "(Get-Item 'C:/data/a.txt') -is [System.IO.FileInfo]")[0] == "True\r\n"
    assert run(host, "(Get-Item 'C:/data/a.txt') -is [System.IO.DirectoryInfo]")[0] == "False\r\n"
    assert run(host, "Get-Item -Path 'C:/data/a.txt' | Select-Object -ExpandProperty Length")[0] == "3\r\n"
    assert run(host, "Get-ChildItem -Path 'C:/data' | Select-Object -ExpandProperty Name")[0] == "a.txt\r\n"
    assert run(host, "cat -- 'C:/data/a.txt'")[0] == "abc\r\n"


# --- what the tests/infra suite runs (tests/infra/infra_checks.py) ---------------------------------


def test_local_accounts(host: h.SimHost) -> None:
    sid = host.users.require("dev").sid
    assert run(host, "(Get-LocalUser -Name 'dev').SID.Value")[0] == sid + "\r\n"
    _, err, code = run(host, "(Get-LocalUser -Name 'nobody').SID.Value")
    assert code == 1 and "User nobody was not found." in str(err) and "UserNotFound" in str(err)
    out = run(host, "Get-LocalGroupMember -Group Administrators | Select-Object -ExpandProperty Name")[0]
    assert out == "WIN11-DEV\\winrm-admin\r\n"


def test_registry_children_piped_into_get_itemproperty(host: h.SimHost) -> None:
    register(host, "dev", "Ubuntu", "{abababab-0000-0000-0000-000000000000}", default=True)
    sid = host.users.require("dev").sid
    key = f"Registry::HKEY_USERS\\{sid}\\Software\\Microsoft\\Windows\\CurrentVersion\\Lxss"
    out, _, code = run(
        host,
        f"Get-ChildItem -LiteralPath '{key}' | Get-ItemProperty "
        "| Select-Object PSChildName,DistributionName,Flags | ConvertTo-Json -Compress",
    )
    assert code == 0
    assert json.loads(str(out)) == {
        "PSChildName": "{abababab-0000-0000-0000-000000000000}",
        "DistributionName": "Ubuntu",
        "Flags": 15,
    }


def test_get_content_encodings(host: h.SimHost) -> None:
    host.fs.write_bytes(r"C:\d.json", b'\xef\xbb\xbf{"k":"\xc3\xa9"}')
    assert run(host, "Get-Content -LiteralPath 'C:\\d.json' -Raw -Encoding UTF8")[0] == '{"k":"é"}\r\n'
    # PS 5.1 -Encoding Byte: one number per byte, so a BOM is visible.
    out = run(host, "Get-Content -LiteralPath 'C:\\d.json' -Encoding Byte -TotalCount 3")[0]
    assert out == "239\r\n187\r\n191\r\n"
    host.fs.write_bytes(r"C:\ansi.txt", b"caf\xe9")
    assert run(host, "Get-Content C:\\ansi.txt")[0] == "café\r\n"  # no BOM: the ANSI code page


def test_other_users_hive_visible_only_while_logged_on(host: h.SimHost) -> None:
    # windows-facts A.5: another user's HKU\<SID> is readable only while that user is logged on.
    sid = host.users.require("dev").sid
    key = f"Registry::HKEY_USERS\\{sid}"
    assert host.users.require("dev").logged_on
    assert run(host, f"Test-Path -LiteralPath '{key}'")[0] == "True\r\n"
    host.users.require("dev").logged_on = False
    assert run(host, f"Test-Path -LiteralPath '{key}'")[0] == "False\r\n"
    # The caller's own hive is always loaded.
    assert run(host, f"Test-Path -LiteralPath '{key}'", user="dev")[0] == "True\r\n"
    assert run(host, "Test-Path -LiteralPath 'HKLM:\\'")[0] == "True\r\n"


def test_where_and_foreach(host: h.SimHost) -> None:
    host.enable_feature("TelnetClient")
    out = run(
        host,
        "Get-WindowsOptionalFeature -Online | Where-Object { $_.State -eq 'Enabled' } "
        "| ForEach-Object { $_.FeatureName }",
    )[0]
    assert out == "TelnetClient\r\n"
    out = run(host, "Get-WindowsOptionalFeature -Online | Where-Object State -eq Enabled | % FeatureName")[0]
    assert out == "TelnetClient\r\n"
    assert (
        run(host, "Get-Service | ? { $_.Name -like 'Win*' } | Select-Object -ExpandProperty Name")[0]
        == "WinRM\r\n"
    )


def test_concurrent_commands_while_state_changes(tmp_path: Path) -> None:
    import threading

    hosts = [h.SimHost.load(f"c{i}", profile="win11-devbox", state_dir=tmp_path) for i in range(2)]
    errors: list[BaseException] = []

    def reader(x: h.SimHost) -> None:
        try:
            for _ in range(40):
                out, err, code = run(x, "Get-Service | Select-Object Name,Status | ConvertTo-Json -Compress")
                assert code == 0 and err == "" and json.loads(str(out))
        except BaseException as exc:  # collected; asserted empty below
            errors.append(exc)

    def writer(x: h.SimHost) -> None:
        for i in range(40):
            with x.transaction():
                x.services.add(h.Service(f"svc{i}", f"Service {i}", "Running", "Manual"))

    threads = [threading.Thread(target=reader, args=(x,)) for x in hosts for _ in range(2)]
    threads += [threading.Thread(target=writer, args=(x,)) for x in hosts]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(hosts[0].services.all()) >= 40
