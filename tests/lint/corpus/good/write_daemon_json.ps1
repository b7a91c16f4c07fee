# Write daemon.json atomically as UTF-8 without BOM (windows-facts.md C.4 "BOM trap").
[CmdletBinding()]
param(
    [Parameter(Mandatory = $true)][string]$InputJson
)
$ErrorActionPreference = 'Stop'
$in = ConvertFrom-Json -InputObject $InputJson
$dir = Join-Path -Path $env:ProgramData -ChildPath 'docker\config'
if (-not (Test-Path -LiteralPath $dir -PathType Container)) {
    $null = New-Item -ItemType Directory -Path $dir -Force
}
$target = Join-Path -Path $dir -ChildPath 'daemon.json'
$tmp = "$target.winfra-tmp"
$utf8 = New-Object -TypeName System.Text.UTF8Encoding -ArgumentList $false
[System.IO.File]::WriteAllText($tmp, [string]$in.content, $utf8)
if (Test-Path -LiteralPath $target) {
    [System.IO.File]::Replace($tmp, $target, $null)
} else {
    Move-Item -LiteralPath $tmp -Destination $target -Force
}
$hash = (Get-FileHash -LiteralPath $target -Algorithm SHA256).Hash.ToLowerInvariant()
ConvertTo-Json -InputObject @{ path = $target; sha256 = $hash } -Compress
