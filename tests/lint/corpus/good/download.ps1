# Download a file with a checksum check; progress off so nothing reaches stderr as CLIXML.
[CmdletBinding()]
param(
    [Parameter(Mandatory = $true)][string]$InputJson
)
$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
$in = ConvertFrom-Json -InputObject $InputJson
[Net.ServicePointManager]::SecurityProtocol = [Net.SecurityProtocolType]::Tls12
$tmp = [System.IO.Path]::GetTempFileName()
try {
    Invoke-WebRequest -Uri $in.url -OutFile $tmp -UseBasicParsing -TimeoutSec 600
    $actual = (Get-FileHash -Path $tmp -Algorithm SHA256).Hash
    if ($actual -ne $in.sha256) {
        throw ('checksum mismatch: expected {0}, got {1}' -f $in.sha256, $actual)
    }
    Move-Item -Path $tmp -Destination $in.dest -Force
    $ok = $true
} catch [System.Net.WebException] {
    $ok = $false
    $message = $_.Exception.Message
} finally {
    if (Test-Path -LiteralPath $tmp) {
        Remove-Item -LiteralPath $tmp -Force
    }
}
ConvertTo-Json -InputObject @{ ok = $ok; error = $message } -Compress
