<#
.SYNOPSIS
    Report whether a file is in winfra's installer cache and its SHA-256.

.DESCRIPTION
    JSON contract.
    Input:  {"path": "<cache path>"}
    Output: {"path": path, "exists": bool, "size": <bytes or null>, "sha256": "<lower hex>" or null}
    Used before uploading a controller-side installer, so a file already cached is not sent again.

.NOTES
    winfra-mode: read
    Sources: Get-FileHash prints upper-case hex
    (https://learn.microsoft.com/powershell/module/microsoft.powershell.utility/get-filehash?view=powershell-5.1).
#>
[CmdletBinding()]
param(
    [Parameter(Mandatory = $true)][string]$InputJson
)
$ErrorActionPreference = 'Stop'
$in = ConvertFrom-Json -InputObject $InputJson
$path = [string]$in.path
$result = [ordered]@{ path = $path; exists = $false; size = $null; sha256 = $null }
if (Test-Path -LiteralPath $path -PathType Leaf) {
    $result.exists = $true
    $result.size = (Get-Item -LiteralPath $path).Length
    $result.sha256 = (Get-FileHash -LiteralPath $path -Algorithm SHA256).Hash.ToLowerInvariant()
}
ConvertTo-Json -InputObject $result -Compress -Depth 6
