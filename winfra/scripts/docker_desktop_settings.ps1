<#
.SYNOPSIS
    Read where a user's Docker Desktop keeps its WSL data (customWslDistroDir) and whether data
    already exists there.

.DESCRIPTION
    JSON contract.
    Input:  {"user": "<name>"}
    Output: {"user", "profile": dir or null, "settings_path": path or null, "settings_exists": bool,
             "custom_dir": "<customWslDistroDir>" or null, "settings_error": text or null,
             "data_dir": "<where the data VHDX lives now>", "data_vhdx": path,
             "data_exists": bool}

.NOTES
    winfra-mode: read
    Sources (shared/reference/windows-facts.md):
    * B.5: settings in %APPDATA%\Docker\settings-store.json (older: settings.json).
    * B.6: 4.30+ keep data in %LOCALAPPDATA%\Docker\wsl (disk\docker_data.vhdx); the setting
      customWslDistroDir ("Disk image location") moves it and Desktop appends DockerDesktopWSL
      (docker/for-win#13408, #13345).
    * ProfileList\<SID>\ProfileImagePath is the user's profile directory.
#>
[CmdletBinding()]
param(
    [Parameter(Mandatory = $true)][string]$InputJson
)
$ErrorActionPreference = 'Stop'
$in = ConvertFrom-Json -InputObject $InputJson

try {
    $sid = (New-Object System.Security.Principal.NTAccount([string]$in.user)).Translate([System.Security.Principal.SecurityIdentifier]).Value
} catch {
    throw "docker_desktop_settings: no user '$($in.user)' on this host"
}
$entry = Get-ItemProperty -LiteralPath ('HKLM:\SOFTWARE\Microsoft\Windows NT\CurrentVersion\ProfileList\' + $sid) -ErrorAction SilentlyContinue
$result = [ordered]@{
    user = [string]$in.user
    profile = $null
    settings_path = $null
    settings_exists = $false
    custom_dir = $null
    settings_error = $null
    data_dir = $null
    data_vhdx = $null
    data_exists = $false
}
if ($null -ne $entry -and $entry.ProfileImagePath) {
    $profileDir = [string]$entry.ProfileImagePath
    $result.profile = $profileDir
    $roaming = Join-Path -Path $profileDir -ChildPath 'AppData\Roaming\Docker'
    $settings = Join-Path -Path $roaming -ChildPath 'settings-store.json'
    if (-not (Test-Path -LiteralPath $settings -PathType Leaf)) {
        $legacy = Join-Path -Path $roaming -ChildPath 'settings.json'
        if (Test-Path -LiteralPath $legacy -PathType Leaf) {
            $settings = $legacy
        }
    }
    $result.settings_path = $settings
    if (Test-Path -LiteralPath $settings -PathType Leaf) {
        $result.settings_exists = $true
        try {
            $text = [System.IO.File]::ReadAllText($settings)
            $data = ConvertFrom-Json -InputObject $text
            if ($null -ne $data -and $data.customWslDistroDir) {
                $result.custom_dir = [string]$data.customWslDistroDir
            }
        } catch {
            $result.settings_error = $_.Exception.Message
        }
    }
    $dataDir = Join-Path -Path $profileDir -ChildPath 'AppData\Local\Docker\wsl'
    if ($result.custom_dir) {
        # Strings, not Join-Path: Join-Path in 5.1 throws DriveNotFoundException when the
        # setting names a drive this host does not have (e.g. a removed D:), and that must read as
        # "no data there", not fail every fact (https://github.com/osisoft/PI-Security-Audit-Tools/issues/82).
        $dataDir = ([string]$result.custom_dir).TrimEnd('\') + '\DockerDesktopWSL'
    }
    $result.data_dir = $dataDir
    $result.data_vhdx = $dataDir + '\disk\docker_data.vhdx'
    $result.data_exists = Test-Path -LiteralPath $result.data_vhdx -PathType Leaf
}
ConvertTo-Json -InputObject $result -Compress -Depth 6
