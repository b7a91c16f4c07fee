# expect: error-action 1 $ErrorActionPreference
# lint-contract: json
[CmdletBinding()]
param(
    [Parameter(Mandatory = $true)][string]$InputJson
)
$in = ConvertFrom-Json -InputObject $InputJson
ConvertTo-Json -InputObject @{ ok = $true } -Compress
