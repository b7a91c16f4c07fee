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
    $records = @(& ([string]$in.docker) info --format '{{.OSType}}' 2>&1)
    $code = $LASTEXITCODE
} finally {
    $ErrorActionPreference = $saved
}
# With 2>&1, stderr lines arrive as ErrorRecords among stdout's strings; the engine name is read
# from stdout alone, so a CLI warning on stderr ("WARNING: Error loading config file ...") does
# not hide a running engine.
$stdout = (@($records | Where-Object { $_ -isnot [System.Management.Automation.ErrorRecord] } | ForEach-Object { [string]$_ }) -join "`n").Trim()
$text = (@($records | ForEach-Object { [string]$_ }) -join "`n").Trim()
if ($code -eq 0 -and ($stdout -eq 'linux' -or $stdout -eq 'windows')) {
    $result.running = $true
    $result.os_type = $stdout
} else {
    $result.error = $text
}
ConvertTo-Json -InputObject $result -Compress -Depth 6
