# expect: write-host 9 Write-Host
# lint-contract: json
[CmdletBinding()]
param(
    [Parameter(Mandatory = $true)][string]$InputJson
)
$ErrorActionPreference = 'Stop'
$in = ConvertFrom-Json -InputObject $InputJson
Write-Host 'starting'
ConvertTo-Json -InputObject @{ ok = $true } -Compress
