<#
.SYNOPSIS
    Ask a docker.exe for `docker version` as JSON.

.DESCRIPTION
    JSON contract.
    Input:  {"docker": "<full path of docker.exe>"}
    Output: {"exists": bool, "exit_code": int or null,
             "version": <the document of docker version --format '{{json .}}'> or null,
             "error": <the CLI's stderr> or null}
    When the daemon does not answer, the CLI still prints its Client part and exits 1 with the
    connection error on stderr.

.NOTES
    winfra-mode: read
    Sources: shared/reference/windows-facts.md F.6 (parse docker version --format '{{json .}}',
    not the text), C.4 (the engine's named pipe). Native stderr under 'Stop' throws in Windows
    PowerShell 5.1 when redirected, so the call runs under 'Continue'
    (https://github.com/PowerShell/PowerShell/issues/3996).
#>
[CmdletBinding()]
param(
    [Parameter(Mandatory = $true)][string]$InputJson
)
$ErrorActionPreference = 'Stop'
$in = ConvertFrom-Json -InputObject $InputJson

$result = [ordered]@{ exists = $false; exit_code = $null; version = $null; error = $null }
if (-not (Test-Path -LiteralPath ([string]$in.docker) -PathType Leaf)) {
    $result.error = "$([string]$in.docker) does not exist"
} else {
    $result.exists = $true
    $saved = $ErrorActionPreference
    $ErrorActionPreference = 'Continue'
    try {
        $records = @(& ([string]$in.docker) version --format '{{json .}}' 2>&1)
        $code = $LASTEXITCODE
    } finally {
        $ErrorActionPreference = $saved
    }
    $result.exit_code = $code
    # With 2>&1 stderr lines arrive as ErrorRecords among stdout's strings: keep them apart.
    $stdout = @($records | Where-Object { $_ -isnot [System.Management.Automation.ErrorRecord] } | ForEach-Object { [string]$_ })
    $stderr = @($records | Where-Object { $_ -is [System.Management.Automation.ErrorRecord] } | ForEach-Object { [string]$_ })
    $json = @($stdout | Where-Object { $_.TrimStart().StartsWith('{') } | Select-Object -Last 1)
    if ($json.Count -gt 0) {
        $result.version = ConvertFrom-Json -InputObject $json[0]
    }
    if ($stderr.Count -gt 0) {
        $result.error = ($stderr -join "`n").Trim()
    }
}
ConvertTo-Json -InputObject $result -Compress -Depth 8
