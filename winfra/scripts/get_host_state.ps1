<#
.SYNOPSIS
    Read every cheap host fact winfra needs in one PowerShell process.

.DESCRIPTION
    JSON contract.
    Input: {} (no keys).
    Output: one object with a section per area, each owned by one part of winfra:
      windows  - OS, hardware and token facts (winfra.facts.windows)
      features - optional features / server roles by name, and the pending-reboot reasons
      wsl      - the WSL installation (winfra.facts.wsl.WslInstallation)
      docker   - Docker Desktop and the native engine (winfra.facts.docker)
    Each section is filled in its own region below.

.NOTES
    winfra-mode: read
    Batched on purpose: WinRM round trips and powershell.exe starts are winfra's cost unit
    (shared/reference/anchors-and-winrm.md section 0), and pyinfra 3 does not cache facts
    (shared/reference/pyinfra3-notes.md section 2.2).
#>
[CmdletBinding()]
param(
    [Parameter(Mandatory = $true)][string]$InputJson
)
$ErrorActionPreference = 'Stop'
$null = ConvertFrom-Json -InputObject $InputJson
$state = [ordered]@{}

#region windows
# Owner: features issue (winfra.facts.windows.WindowsInfo / LastBootTime). Cheap reads only:
# the registry, four CIM classes and the process token. Get-ComputerInfo is not used: it takes
# 10-30 s (shared/reference/windows-facts.md D.5).
$winCv = Get-ItemProperty -LiteralPath 'HKLM:\SOFTWARE\Microsoft\Windows NT\CurrentVersion'
# ProductType 1 = workstation, 2 = domain controller, 3 = server
# (https://learn.microsoft.com/windows/win32/cimwin32prov/win32-operatingsystem).
$winOs = Get-CimInstance -ClassName Win32_OperatingSystem
$winCs = Get-CimInstance -ClassName Win32_ComputerSystem
# The Hyper-V requirement flags (windows-facts.md D.5: cheaper than Get-ComputerInfo).
# VirtualizationFirmwareEnabled reads False while a hypervisor runs (microsoft/WSL#12379).
$winCpu = @(Get-CimInstance -ClassName Win32_Processor) | Select-Object -First 1
$winInstalled = $null
try {
    $winInstalled = (@(Get-CimInstance -ClassName Win32_PhysicalMemory) | Measure-Object -Property Capacity -Sum).Sum
} catch {
    $winInstalled = $null
}
# IsInRole(Administrator) is False for the filtered token UAC gives a local administrator over
# WinRM unless LocalAccountTokenFilterPolicy = 1 (windows-facts.md A.7).
$winIdentity = [System.Security.Principal.WindowsIdentity]::GetCurrent()
$winPrincipal = New-Object -TypeName System.Security.Principal.WindowsPrincipal -ArgumentList $winIdentity
$winElevated = $winPrincipal.IsInRole([System.Security.Principal.WindowsBuiltInRole]::Administrator)
$winPolicyKey = 'HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\Policies\System'
$winPolicy = Get-ItemProperty -LiteralPath $winPolicyKey -ErrorAction SilentlyContinue
$winFilterPolicy = $null
if ($null -ne $winPolicy -and $null -ne $winPolicy.LocalAccountTokenFilterPolicy) {
    $winFilterPolicy = [int]$winPolicy.LocalAccountTokenFilterPolicy
}
# The connector sizes its messages from this (anchors-and-winrm.md section 3.3); reading the
# WSMan: drive needs an elevated token, 500 is the default since Windows Server 2012.
$winEnvelope = 500
try {
    $winEnvelope = [int](Get-Item -Path 'WSMan:\localhost\MaxEnvelopeSizekb' -ErrorAction Stop).Value
} catch {
    $winEnvelope = 500
}
# DisplayVersion exists from 20H2; ReleaseId before it.
$winDisplayVersion = $winCv.DisplayVersion
if (-not $winDisplayVersion) {
    $winDisplayVersion = $winCv.ReleaseId
}
$winProductTypes = @{ 1 = 'workstation'; 2 = 'domain_controller'; 3 = 'server' }
$winBoot = $winOs.LastBootUpTime
$state['windows'] = [ordered]@{
    hostname = $env:COMPUTERNAME
    caption = [string]$winOs.Caption
    edition = [string]$winCv.EditionID
    installation_type = [string]$winCv.InstallationType
    product_type = $winProductTypes[[int]$winOs.ProductType]
    build = [int]$winCv.CurrentBuildNumber
    ubr = $winCv.UBR
    display_version = [string]$winDisplayVersion
    ui_language = [System.Globalization.CultureInfo]::CurrentUICulture.Name
    manufacturer = [string]$winCs.Manufacturer
    model = [string]$winCs.Model
    hypervisor_present = [bool]$winCs.HypervisorPresent
    virtualization = [ordered]@{
        firmware_enabled = $winCpu.VirtualizationFirmwareEnabled
        slat = $winCpu.SecondLevelAddressTranslationExtensions
        vm_monitor_mode = $winCpu.VMMonitorModeExtensions
        dep = $winOs.DataExecutionPrevention_Available
    }
    elevated = [bool]$winElevated
    local_account_token_filter_policy = $winFilterPolicy
    winrm_user = $winIdentity.Name
    winrm_user_sid = $winIdentity.User.Value
    memory_bytes = $winCs.TotalPhysicalMemory
    memory_installed_bytes = $winInstalled
    logical_processors = $winCs.NumberOfLogicalProcessors
    max_envelope_size_kb = $winEnvelope
    last_boot_time = $winBoot.ToUniversalTime().ToString('o')
    last_boot_filetime = $winBoot.ToFileTime()
}
#endregion windows

#region features
# Owner: features issue (winfra.facts.windows.OptionalFeatures / ServerFeatures / PendingReboot).
# Only the features winfra manages are read, one DISM query each: Get-WindowsOptionalFeature
# without -FeatureName enumerates the whole catalogue and takes seconds, and its -FeatureName
# takes one name (windows-facts.md D.1). A name this edition lacks reads as null (D.1: unknown
# names return nothing on some builds and throw on others). DISM needs an elevated token; without
# one every state is null and 'error' says why, so the token facts still reach the preflight.
# Enums go through ToString(): PS 5.1 ConvertTo-Json writes them as numbers (D.1).
$featOptionalNames = @(
    'Microsoft-Hyper-V-All', 'Microsoft-Hyper-V', 'VirtualMachinePlatform',
    'Microsoft-Windows-Subsystem-Linux', 'Containers', 'HypervisorPlatform'
)
$featError = $null
$featOptional = [ordered]@{}
foreach ($featName in $featOptionalNames) {
    $featOptional[$featName] = $null
    try {
        $featItem = Get-WindowsOptionalFeature -Online -FeatureName $featName -ErrorAction Stop
        if ($null -ne $featItem) {
            $featOptional[$featName] = $featItem.State.ToString()
        }
    } catch {
        # 0x800F080C is "Feature name X is unknown." (windows-facts F.5, microsoft/WSL#5635):
        # the name does not exist on this edition (Hyper-V on Home), which is a state (null),
        # not a failed query. Only other failures (no elevation, DISM broken) set 'error'.
        if ($_.Exception.HResult -ne -2146498548 -and $null -eq $featError) {
            $featError = $_.Exception.Message
        }
    }
}
# Server roles: InstallState Installed / Available / Removed / InstallPending (D.3).
$featServer = $null
if ([int]$winOs.ProductType -ne 1) {
    $featServer = [ordered]@{ 'Hyper-V' = $null; 'Containers' = $null }
    try {
        foreach ($featItem in @(Get-WindowsFeature -Name 'Hyper-V', 'Containers' -ErrorAction Stop)) {
            $featServer[$featItem.Name] = $featItem.InstallState.ToString()
        }
    } catch {
        if ($null -eq $featError) {
            $featError = $_.Exception.Message
        }
    }
}
# Pending-reboot signals (D.4, after dsccommunity DSC_PendingReboot). PendingFileRenameOperations
# is reported but is noisy (ansible/ansible#63595). AutoLogonChecked (volatile, recreated by
# LogonUI) and CBS ServicingInProgress tell whether a rebooted host is ready (anchors section 1.6).
$featCbsKey = 'HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\Component Based Servicing'
$featSessionManager = Get-ItemProperty -LiteralPath 'HKLM:\SYSTEM\CurrentControlSet\Control\Session Manager' -Name 'PendingFileRenameOperations' -ErrorAction SilentlyContinue
$featRenames = @()
if ($null -ne $featSessionManager) {
    $featRenames = @($featSessionManager.PendingFileRenameOperations | Where-Object { $_ })
}
$featNames = 'HKLM:\SYSTEM\CurrentControlSet\Control\ComputerName'
$featActiveName = (Get-ItemProperty -LiteralPath "$featNames\ActiveComputerName" -ErrorAction SilentlyContinue).ComputerName
$featNextName = (Get-ItemProperty -LiteralPath "$featNames\ComputerName" -ErrorAction SilentlyContinue).ComputerName
$featServicing = (Get-ItemProperty -LiteralPath "$featCbsKey\Interface" -Name 'ServicingInProgress' -ErrorAction SilentlyContinue).ServicingInProgress
$state['features'] = [ordered]@{
    optional = $featOptional
    server = $featServer
    reboot = [ordered]@{
        cbs_reboot_pending = Test-Path -LiteralPath "$featCbsKey\RebootPending"
        windows_update_reboot_required = Test-Path -LiteralPath 'HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\WindowsUpdate\Auto Update\RebootRequired'
        pending_computer_rename = [bool]($featActiveName -and $featNextName -and $featActiveName -ne $featNextName)
        pending_file_rename_operations = $featRenames.Count
        servicing_in_progress = [bool]$featServicing
        autologon_checked = Test-Path -LiteralPath 'HKLM:\SOFTWARE\Microsoft\Windows NT\CurrentVersion\Winlogon\AutoLogonChecked'
    }
    error = $featError
}
#endregion features

#region wsl
# The WSL installation (winfra.facts.wsl.WslInstallation). Per-user state (distros, .wslconfig)
# is read by get_wsl_user_state.ps1 as the target user instead (windows-facts A.5, A.7).
# kind: 'package' when C:\Program Files\WSL\wsl.exe exists (the MSI/Store package; call it
# directly, the System32 stub fails from session 0: windows-facts A.7, WSL#9231); 'inbox' when
# only System32\wsl.exe exists (pre-Store WSL, rejects --version: A.1, F.3); else 'absent'.
# version: the file version of the package's wsl.exe (A.3: the System32 stub keeps 10.0.x).
# supports_manage_move: `wsl --help` lists --manage and --move (the version that added it is
# not pinned by a source, so feature-detect: A.6, Gaps 1). Option names are not localized.
$wslSection = [ordered]@{
    kind                 = 'absent'
    path                 = $null
    version              = $null
    supports_manage_move = $false
}
$wslPackageExe = Join-Path $env:ProgramFiles 'WSL\wsl.exe'
$wslInboxExe = Join-Path $env:SystemRoot 'System32\wsl.exe'
if (Test-Path -LiteralPath $wslPackageExe -PathType Leaf) {
    $wslSection['kind'] = 'package'
    $wslSection['path'] = $wslPackageExe
    $wslVer = (Get-Item -LiteralPath $wslPackageExe).VersionInfo
    $wslSection['version'] = '{0}.{1}.{2}.{3}' -f $wslVer.FileMajorPart, $wslVer.FileMinorPart, $wslVer.FileBuildPart, $wslVer.FilePrivatePart
    try {
        $wslPsi = New-Object System.Diagnostics.ProcessStartInfo
        $wslPsi.FileName = $wslPackageExe
        $wslPsi.Arguments = '--help'
        $wslPsi.UseShellExecute = $false
        $wslPsi.RedirectStandardOutput = $true
        $wslPsi.RedirectStandardError = $true
        # A.4: ask for UTF-8; the bytes are still checked for UTF-16LE below.
        $wslPsi.EnvironmentVariables['WSL_UTF8'] = '1'
        $wslProc = [System.Diagnostics.Process]::Start($wslPsi)
        $wslErrTask = $wslProc.StandardError.ReadToEndAsync()
        $wslOut = New-Object System.IO.MemoryStream
        $wslProc.StandardOutput.BaseStream.CopyTo($wslOut)
        $wslProc.WaitForExit()
        $wslBytes = $wslOut.ToArray()
        $wslText = [System.Text.Encoding]::UTF8.GetString($wslBytes)
        if ($wslBytes.Length -gt 1 -and $wslBytes[1] -eq 0) {
            $wslText = [System.Text.Encoding]::Unicode.GetString($wslBytes)
        }
        $wslText = ($wslText + $wslErrTask.Result).Replace([string][char]0, '')
        $wslSection['supports_manage_move'] = ($wslText -match '(?<![\w-])--manage(?![\w-])') -and ($wslText -match '(?<![\w-])--move(?![\w-])')
    }
    catch {
        $wslSection['supports_manage_move'] = $false
    }
}
elseif (Test-Path -LiteralPath $wslInboxExe -PathType Leaf) {
    $wslSection['kind'] = 'inbox'
    $wslSection['path'] = $wslInboxExe
}
$state['wsl'] = $wslSection
#endregion wsl

#region docker
# Owner: Docker issue (winfra.facts.docker.DockerDesktop / DockerEngine / ContainerCompatibility).
# Cheap reads only: two registry keys, one filtered CIM query, file version resources and one
# small file. Variables are prefixed $dk so the regions cannot collide.
# Docker Desktop: the uninstall key's DisplayVersion/InstallLocation, else the file version of
# "Docker Desktop.exe" (windows-facts.md B.3); com.docker.service (B.4).
$dkUninstall = Get-ItemProperty -LiteralPath 'HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\Uninstall\Docker Desktop' -ErrorAction SilentlyContinue
$dkDesktopDir = 'C:\Program Files\Docker\Docker'
if ($null -ne $dkUninstall -and $dkUninstall.InstallLocation) {
    $dkDesktopDir = ([string]$dkUninstall.InstallLocation).TrimEnd('\')
}
$dkDesktopExe = Join-Path -Path $dkDesktopDir -ChildPath 'Docker Desktop.exe'
$dkDesktopVersion = $null
$dkDesktopSource = $null
if ($null -ne $dkUninstall -and $dkUninstall.DisplayVersion) {
    $dkDesktopVersion = [string]$dkUninstall.DisplayVersion
    $dkDesktopSource = 'uninstall_key'
} elseif (Test-Path -LiteralPath $dkDesktopExe -PathType Leaf) {
    $dkDesktopVersion = [string](Get-Item -LiteralPath $dkDesktopExe).VersionInfo.ProductVersion
    $dkDesktopSource = 'file_version'
}
$dkDesktopSvc = Get-Service -Name 'com.docker.service' -ErrorAction SilentlyContinue
$dkDesktopService = $null
if ($null -ne $dkDesktopSvc) {
    $dkDesktopService = [ordered]@{
        status = $dkDesktopSvc.Status.ToString()
        start_type = $dkDesktopSvc.StartType.ToString()
    }
}
# docker-users members through ADSI: Get-LocalGroupMember fails on a group holding an orphaned
# SID (https://github.com/PowerShell/PowerShell/issues/2996). AdsPath is WinNT://DOMAIN/HOST/user
# for local accounts and WinNT://DOMAIN/user for domain accounts.
$dkGroups = @(Get-LocalGroup | ForEach-Object { $_.Name })
$dkUsersGroup = $null
if ($dkGroups -contains 'docker-users') {
    $dkMembers = @()
    try {
        $dkAdsi = [ADSI]"WinNT://$env:COMPUTERNAME/docker-users,group"
        foreach ($dkMember in @($dkAdsi.psbase.Invoke('Members'))) {
            $dkPath = [string]$dkMember.GetType().InvokeMember('AdsPath', 'GetProperty', $null, $dkMember, $null)
            $dkParts = @($dkPath -replace '^WinNT://', '' -split '/')
            if ($dkParts.Count -ge 2) {
                $dkMembers += ($dkParts[$dkParts.Count - 2] + '\' + $dkParts[$dkParts.Count - 1])
            }
        }
    } catch {
        # Unknown membership reads as null, never as "empty".
        $dkMembers = $null
    }
    $dkUsersGroup = [ordered]@{ name = 'docker-users'; members = $dkMembers }
}
# Native engine: every service whose binary is a dockerd.exe, with the raw ImagePath (flags baked
# in by "dockerd --register-service", windows-facts.md C.2; the controller splits it).
$dkServices = @()
foreach ($dkSvc in @(Get-CimInstance -ClassName Win32_Service -Filter "PathName LIKE '%dockerd%'")) {
    $dkServices += [ordered]@{
        name = [string]$dkSvc.Name
        state = [string]$dkSvc.State
        start_mode = [string]$dkSvc.StartMode
        path_name = [string]$dkSvc.PathName
    }
}
# Versions of the dockerd.exe/docker.exe found in the default install dir, the service binaries'
# dirs and the machine PATH. moby embeds a version resource in dockerd.exe
# (moby cli/winresources/dockerd), so VersionInfo.ProductVersion needs no process start.
# Paths are put together as strings and probed with Test-Path -LiteralPath inside
# try/catch: Join-Path in 5.1 throws DriveNotFoundException for a drive the host does not have
# (https://github.com/osisoft/PI-Security-Audit-Tools/issues/82), and one stale service or PATH
# entry must not fail every fact of the run. Dirs are compared without case, as Windows does.
$dkDirs = New-Object -TypeName 'System.Collections.Generic.List[string]'
$dkDirs.Add('C:\Program Files\Docker')
foreach ($dkSvc in $dkServices) {
    $dkRaw = $dkSvc.path_name.Trim()
    $dkExe = @($dkRaw -split ' ')[0]
    if ($dkRaw.StartsWith('"') -and ($dkRaw.IndexOf('"', 1) -gt 0)) {
        $dkExe = $dkRaw.Substring(1, $dkRaw.IndexOf('"', 1) - 1)
    }
    try {
        $dkDirs.Add([System.IO.Path]::GetDirectoryName($dkExe))
    } catch {
        # An ImagePath that is not a path names no docker dir.
        $null = $dkExe
    }
}
$dkMachinePath = [string](Get-Item -LiteralPath 'HKLM:\SYSTEM\CurrentControlSet\Control\Session Manager\Environment').GetValue('Path', '', 'DoNotExpandEnvironmentNames')
foreach ($dkEntry in @($dkMachinePath -split ';')) {
    try {
        # REG_EXPAND_SZ entries such as %ProgramFiles%\Docker are expanded before probing.
        $dkExpanded = [Environment]::ExpandEnvironmentVariables($dkEntry).TrimEnd('\')
        if ($dkExpanded -and (Test-Path -LiteralPath ($dkExpanded + '\dockerd.exe') -PathType Leaf)) {
            $dkDirs.Add($dkExpanded)
        }
    } catch {
        # A PATH entry with characters a path cannot hold is not a docker dir.
        $null = $dkEntry
    }
}
$dkBinaries = @()
$dkSeen = New-Object -TypeName 'System.Collections.Generic.HashSet[string]' -ArgumentList ([System.StringComparer]::OrdinalIgnoreCase)
foreach ($dkDir in $dkDirs) {
    if ((-not $dkDir) -or (-not $dkSeen.Add($dkDir.TrimEnd('\')))) {
        continue
    }
    foreach ($dkName in @('dockerd.exe', 'docker.exe')) {
        try {
            $dkFile = $dkDir.TrimEnd('\') + '\' + $dkName
            if (Test-Path -LiteralPath $dkFile -PathType Leaf) {
                $dkBinaries += [ordered]@{
                    path = $dkFile
                    version = [string](Get-Item -LiteralPath $dkFile).VersionInfo.ProductVersion
                }
            }
        } catch {
            # An unreadable dir (missing drive, no access) holds no binary we can report.
            $null = $dkFile
        }
    }
}
# daemon.json (windows-facts.md C.4): raw content and whether it starts with a BOM, which engines
# before 23.0 reject ("invalid character 'ï' looking for beginning of value").
$dkConfigPath = Join-Path -Path $env:ProgramData -ChildPath 'docker\config\daemon.json'
$dkConfig = [ordered]@{ path = $dkConfigPath; exists = $false; bom = $false; content = $null; sha256 = $null }
if (Test-Path -LiteralPath $dkConfigPath -PathType Leaf) {
    $dkBytes = [System.IO.File]::ReadAllBytes($dkConfigPath)
    $dkConfig.exists = $true
    $dkConfig.bom = ($dkBytes.Length -ge 3 -and $dkBytes[0] -eq 0xEF -and $dkBytes[1] -eq 0xBB -and $dkBytes[2] -eq 0xBF)
    $dkConfig.content = (New-Object System.Text.UTF8Encoding $false).GetString($dkBytes)
    $dkSha = [System.Security.Cryptography.SHA256]::Create()
    $dkConfig.sha256 = ([System.BitConverter]::ToString($dkSha.ComputeHash($dkBytes)) -replace '-', '').ToLowerInvariant()
}
$state['docker'] = [ordered]@{
    desktop = [ordered]@{
        version = $dkDesktopVersion
        version_source = $dkDesktopSource
        install_dir = $dkDesktopDir
        exe_exists = (Test-Path -LiteralPath $dkDesktopExe -PathType Leaf)
        service = $dkDesktopService
        users_group = $dkUsersGroup
    }
    engine = [ordered]@{
        services = $dkServices
        binaries = $dkBinaries
        machine_path = $dkMachinePath
        config = $dkConfig
    }
    local_groups = $dkGroups
}
#endregion docker

ConvertTo-Json -InputObject $state -Compress -Depth 6
