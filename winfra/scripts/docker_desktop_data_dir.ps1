<#
.SYNOPSIS
    Set Docker Desktop's disk image location (customWslDistroDir) for a user whose Desktop has no
    data yet, keeping every other setting.

.DESCRIPTION
    JSON contract.
    Input:  {"user": "<name>", "location": "D:\\docker-data"}
    Output: {"settings_path", "changed": bool, "previous": old value or null}
    Refuses (throws) when a data VHDX exists at the current location: moving existing data is
    Docker Desktop's own job (Settings > Resources > Advanced > Disk image location), which this
    script does not imitate. The file is rewritten atomically as UTF-8 without BOM (Desktop's Go
    reader rejects a BOM).

.NOTES
    winfra-mode: write
    Sources (shared/reference/windows-facts.md): B.5 (settings-store.json, BOM rejected:
    docker/for-win#14950), B.6 (customWslDistroDir, DockerDesktopWSL suffix, default data dir
    %LOCALAPPDATA%\Docker\wsl; moving data by hand breaks Desktop: docker/for-win#13550).
    ConvertTo-Json defaults to depth 2; the settings file is nested, so depth 32 keeps it whole.
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
    throw "docker_desktop_data_dir: no user '$($in.user)' on this host"
}
$entry = Get-ItemProperty -LiteralPath ('HKLM:\SOFTWARE\Microsoft\Windows NT\CurrentVersion\ProfileList\' + $sid) -ErrorAction SilentlyContinue
if ($null -eq $entry -or -not $entry.ProfileImagePath) {
    throw "docker_desktop_data_dir: user '$($in.user)' has never logged on (no profile)"
}
$profileDir = [string]$entry.ProfileImagePath
$roaming = Join-Path -Path $profileDir -ChildPath 'AppData\Roaming\Docker'
$settings = Join-Path -Path $roaming -ChildPath 'settings-store.json'
$legacy = Join-Path -Path $roaming -ChildPath 'settings.json'
if ((-not (Test-Path -LiteralPath $settings -PathType Leaf)) -and (Test-Path -LiteralPath $legacy -PathType Leaf)) {
    $settings = $legacy
}
$data = New-Object -TypeName PSObject
if (Test-Path -LiteralPath $settings -PathType Leaf) {
    $data = ConvertFrom-Json -InputObject ([System.IO.File]::ReadAllText($settings))
}
$previous = $null
if ($data.PSObject.Properties['customWslDistroDir']) {
    $previous = [string]$data.customWslDistroDir
}
$result = [ordered]@{ settings_path = $settings; changed = $false; previous = $previous }
if ($previous -and ($previous.TrimEnd('\') -eq ([string]$in.location).TrimEnd('\'))) {
    ConvertTo-Json -InputObject $result -Compress -Depth 6
    return
}
$dataDir = Join-Path -Path $profileDir -ChildPath 'AppData\Local\Docker\wsl'
if ($previous) {
    # Strings, not Join-Path: Join-Path in 5.1 throws DriveNotFoundException for a drive the host no
    # longer has (https://github.com/osisoft/PI-Security-Audit-Tools/issues/82); an old location
    # on a missing drive holds no data and must not block setting a new one.
    $dataDir = ([string]$previous).TrimEnd('\') + '\DockerDesktopWSL'
}
$vhdx = $dataDir + '\disk\docker_data.vhdx'
if (Test-Path -LiteralPath $vhdx -PathType Leaf) {
    throw "Docker Desktop data already exists at $vhdx; only Docker Desktop moves it: Settings > Resources > Advanced > Disk image location"
}
if ($data.PSObject.Properties['customWslDistroDir']) {
    $data.customWslDistroDir = [string]$in.location
} else {
    $data | Add-Member -MemberType NoteProperty -Name 'customWslDistroDir' -Value ([string]$in.location)
}
if (-not (Test-Path -LiteralPath $roaming -PathType Container)) {
    $null = New-Item -ItemType Directory -Path $roaming -Force
}
$text = ConvertTo-Json -InputObject $data -Depth 32
$tmp = $settings + '.winfra-tmp'
[System.IO.File]::WriteAllText($tmp, $text, (New-Object System.Text.UTF8Encoding $false))
Move-Item -LiteralPath $tmp -Destination $settings -Force
$result.changed = $true
ConvertTo-Json -InputObject $result -Compress -Depth 6
