<#
.SYNOPSIS
    Read a user's Docker Desktop daemon configuration file.

.DESCRIPTION
    JSON contract.
    Input:  {"user": "<local or DOMAIN\user name>", "file_name": "daemon.json" | "windows-daemon.json"}
    Output: {"user", "sid", "profile": "<profile dir>" or null, "path": "<profile>\.docker\<file_name>" or null,
             "exists": bool, "bom": bool, "content": "<text>" or null, "sha256": "<lower hex>" or null}
    profile is null when the user has never logged on (no ProfileList entry yet).

.NOTES
    winfra-mode: read
    Sources:
    * Docker Desktop reads %USERPROFILE%\.docker\daemon.json (Linux engine) and
      windows-daemon.json (Windows containers): shared/reference/windows-facts.md B.5.
    * A user's profile directory is ProfileImagePath under
      HKLM\SOFTWARE\Microsoft\Windows NT\CurrentVersion\ProfileList\<SID>
      (https://learn.microsoft.com/windows/win32/shell/knownfolderid, "User profiles" registry).
    * NTAccount.Translate resolves a name to a SID and throws IdentityNotMappedException for an
      unknown name (https://learn.microsoft.com/dotnet/api/system.security.principal.ntaccount.translate).
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
    throw "docker_user_config: no user '$($in.user)' on this host"
}
$profileKey = 'HKLM:\SOFTWARE\Microsoft\Windows NT\CurrentVersion\ProfileList\' + $sid
$profileDir = $null
$entry = Get-ItemProperty -LiteralPath $profileKey -ErrorAction SilentlyContinue
if ($null -ne $entry -and $entry.ProfileImagePath) {
    $profileDir = [string]$entry.ProfileImagePath
}
$result = [ordered]@{
    user = [string]$in.user
    sid = $sid
    profile = $profileDir
    path = $null
    exists = $false
    bom = $false
    content = $null
    sha256 = $null
}
if ($profileDir) {
    $path = Join-Path -Path (Join-Path -Path $profileDir -ChildPath '.docker') -ChildPath ([string]$in.file_name)
    $result.path = $path
    if (Test-Path -LiteralPath $path -PathType Leaf) {
        $bytes = [System.IO.File]::ReadAllBytes($path)
        $result.exists = $true
        $result.bom = ($bytes.Length -ge 3 -and $bytes[0] -eq 0xEF -and $bytes[1] -eq 0xBB -and $bytes[2] -eq 0xBF)
        $result.content = (New-Object System.Text.UTF8Encoding $false).GetString($bytes)
        $sha = [System.Security.Cryptography.SHA256]::Create()
        $result.sha256 = ([System.BitConverter]::ToString($sha.ComputeHash($bytes)) -replace '-', '').ToLowerInvariant()
    }
}
ConvertTo-Json -InputObject $result -Compress -Depth 6
