<#
.SYNOPSIS
    Which engine the caller's Docker Desktop runs (linux or windows), if it runs.

.DESCRIPTION
    JSON contract. Run as the Desktop user (Desktop runs in their interactive session).
    Input:  {"docker": "<Desktop's docker.exe>"}
    Output: {"running": bool, "os_type": "linux" | "windows" | null, "error": text or null}

.NOTES
    winfra-mode: read
    Sources (shared/reference/windows-facts.md): B.6 (verify the active engine with
    docker info --format '{{.OSType}}'), B.8 (Desktop runs only in the user's interactive
    session; without it the CLI cannot reach the engine). Native stderr under 'Stop'
    (https://github.com/PowerShell/PowerShell/issues/3996).
#>
[CmdletBinding()]
param(
    [Parameter(Mandatory = $true)][string]$InputJson
)
$ErrorActionPreference = 'Stop'
$in = ConvertFrom-Json -InputObject $InputJson

$result = [ordered]@{ running = $false; os_type = $null; error = $null }
$saved = $ErrorActionPreference
$ErrorActionPreference = 'Continue'
try {
    $lines = @(& ([string]$in.docker) info --format '{{.OSType}}' 2>&1 | ForEach-Object { [string]$_ })
    $code = $LASTEXITCODE
} finally {
    $ErrorActionPreference = $saved
}
$text = ($lines -join "`n").Trim()
if ($code -eq 0 -and ($text -eq 'linux' -or $text -eq 'windows')) {
    $result.running = $true
    $result.os_type = $text
} else {
    $result.error = $text
}
ConvertTo-Json -InputObject $result -Compress -Depth 6
