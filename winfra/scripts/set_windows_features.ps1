<#
.SYNOPSIS
    Enable (or disable) several Windows optional features and server roles in one DISM call each.

.DESCRIPTION
    JSON contract.
    Input: {"present": true|false,
            "optional": [optional feature names],   # Enable-/Disable-WindowsOptionalFeature
            "roles": [server role names],            # Install-/Uninstall-WindowsFeature
            "source": null | "windows-update" | "<path to a Windows image or SxS folder>"}
    Output: {"restart_needed": bool, "optional": {name: State}, "roles": {name: InstallState},
             "cbs_reboot_pending": bool, "role_exit_code": ExitCode name or null}
    The states are re-read after the change. Exit code 3010 (ERROR_SUCCESS_REBOOT_REQUIRED, the
    code dism.exe uses) after the JSON when a reboot is needed: RestartNeeded said so, a feature
    is now EnablePending/DisablePending/InstallPending/UninstallPending, or the CBS RebootPending
    key exists. RestartNeeded False alone is not trusted (canonical/multipass#3090).

.NOTES
    winfra-mode: write
    Sources (shared/reference/windows-facts.md): D.1 Enable-WindowsOptionalFeature -Online -All
    -NoRestart (never without -NoRestart remotely: crc-org/crc#2436), -Source / -LimitAccess,
    State names; D.3 Install-WindowsFeature -IncludeManagementTools without -Restart, its
    RestartNeeded (No/Yes/Maybe) and ExitCode; D.4 CBS RebootPending. PS 5.1 ConvertTo-Json
    writes enums as numbers, so every enum goes through ToString() (D.1).
    Every change cmdlet runs with -WarningAction SilentlyContinue: Enable-WindowsOptionalFeature
    -NoRestart warns "Restart is suppressed because NoRestart is specified." and
    Install-WindowsFeature warns that a restart is needed (ChrisTitusTech/winutil#265 shows the
    first), and powershell.exe writes the warning stream to stdout, in front of the JSON
    (PowerShell/PowerShell#13080: "Write-Warning writes to stdout, not stderror"). The reboot
    need is read from the result objects and states instead.
#>
[CmdletBinding()]
param(
    [Parameter(Mandatory = $true)][string]$InputJson
)
$ErrorActionPreference = 'Stop'
$in = ConvertFrom-Json -InputObject $InputJson
$present = [bool]$in.present
$optional = @($in.optional | Where-Object { $_ })
$roles = @($in.roles | Where-Object { $_ })
# "windows-update" lets DISM fetch a removed payload from Windows Update; a path is used alone
# (-LimitAccess keeps DISM from contacting Windows Update, D.1).
$sourcePath = $null
if ($in.source -and [string]$in.source -ne 'windows-update') {
    $sourcePath = [string]$in.source
}
$restartNeeded = $false
$roleExitCode = $null

if ($optional.Count -gt 0) {
    if ($present) {
        if ($null -ne $sourcePath) {
            $result = Enable-WindowsOptionalFeature -Online -FeatureName $optional -All -NoRestart -Source $sourcePath -LimitAccess -WarningAction SilentlyContinue
        } else {
            $result = Enable-WindowsOptionalFeature -Online -FeatureName $optional -All -NoRestart -WarningAction SilentlyContinue
        }
    } else {
        $result = Disable-WindowsOptionalFeature -Online -FeatureName $optional -NoRestart -WarningAction SilentlyContinue
    }
    if (@($result | Where-Object { $_.RestartNeeded }).Count -gt 0) {
        $restartNeeded = $true
    }
}

if ($roles.Count -gt 0) {
    if ($present) {
        if ($null -ne $sourcePath) {
            $result = Install-WindowsFeature -Name $roles -IncludeManagementTools -Source $sourcePath -WarningAction SilentlyContinue
        } else {
            $result = Install-WindowsFeature -Name $roles -IncludeManagementTools -WarningAction SilentlyContinue
        }
    } else {
        $result = Uninstall-WindowsFeature -Name $roles -IncludeManagementTools -WarningAction SilentlyContinue
    }
    $roleExitCode = $result.ExitCode.ToString()
    if (-not $result.Success) {
        throw "Install-WindowsFeature failed for $($roles -join ', '): exit code $roleExitCode."
    }
    if ($result.RestartNeeded.ToString() -eq 'Yes') {
        $restartNeeded = $true
    }
}

# Re-read what the change left behind.
$optionalStates = [ordered]@{}
foreach ($name in $optional) {
    $state = (Get-WindowsOptionalFeature -Online -FeatureName $name).State.ToString()
    $optionalStates[$name] = $state
    if ($state -like '*Pending') {
        $restartNeeded = $true
    }
}
$roleStates = [ordered]@{}
if ($roles.Count -gt 0) {
    foreach ($item in @(Get-WindowsFeature -Name $roles)) {
        $state = $item.InstallState.ToString()
        $roleStates[$item.Name] = $state
        if ($state -like '*Pending') {
            $restartNeeded = $true
        }
    }
}
$cbs = Test-Path -LiteralPath 'HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\Component Based Servicing\RebootPending'
if ($cbs) {
    $restartNeeded = $true
}
$out = [ordered]@{
    restart_needed = $restartNeeded
    optional = $optionalStates
    roles = $roleStates
    cbs_reboot_pending = $cbs
    role_exit_code = $roleExitCode
}
ConvertTo-Json -InputObject $out -Compress -Depth 6
if ($restartNeeded) {
    exit 3010
}
