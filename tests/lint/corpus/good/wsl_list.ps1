# List WSL distributions; wsl.exe writes UTF-16LE (windows-facts.md A.4).
[CmdletBinding()]
param(
    [Parameter(Mandatory = $true)][string]$InputJson
)
$ErrorActionPreference = 'Stop'
$null = ConvertFrom-Json -InputObject $InputJson
$previous = [Console]::OutputEncoding
[Console]::OutputEncoding = [System.Text.Encoding]::Unicode
try {
    $lines = @(wsl.exe --list --verbose)
    $code = $LASTEXITCODE
} finally {
    [Console]::OutputEncoding = $previous
}
$distros = @()
foreach ($line in $lines | Select-Object -Skip 1) {
    $parts = -split ($line -replace '^\*', '').Trim()
    if ($parts.Count -lt 3) {
        continue
    }
    $distros += @{ name = $parts[0]; state = $parts[1]; version = [int]$parts[2] }
}
ConvertTo-Json -InputObject @{ exit_code = $code; distros = $distros } -Compress -Depth 4
