<#
.SYNOPSIS
    Run one Windows container (docker run --rm) to prove the engine works.

.DESCRIPTION
    JSON contract.
    Input:  {"docker": "<path of docker.exe>", "image": "hello-world:nanoserver-ltsc2022",
             "isolation": "process" | "hyperv" | null, "timeout_s": 600}
    Output: {"exit_code": int, "output": "<docker's stdout and stderr>"}
    The script itself succeeds when docker ran; the controller reads exit_code and explains the
    known failures (windows-facts.md E: 0xc0370101 build mismatch, "linux only supports
    'default'" on a Linux engine).

.NOTES
    winfra-mode: write
    Pulls an image, so it changes host state. Sources: windows-facts.md E (docker run
    --isolation=process|hyperv; image tags per host build); native stderr under 'Stop'
    (https://github.com/PowerShell/PowerShell/issues/3996).
#>
[CmdletBinding()]
param(
    [Parameter(Mandatory = $true)][string]$InputJson
)
$ErrorActionPreference = 'Stop'
$in = ConvertFrom-Json -InputObject $InputJson

$runArgs = @('run', '--rm')
if ($in.isolation) {
    $runArgs += ('--isolation=' + [string]$in.isolation)
}
$runArgs += [string]$in.image
$saved = $ErrorActionPreference
$ErrorActionPreference = 'Continue'
try {
    $lines = @(& ([string]$in.docker) @runArgs 2>&1 | ForEach-Object { [string]$_ })
    $code = $LASTEXITCODE
} finally {
    $ErrorActionPreference = $saved
}
$result = [ordered]@{ exit_code = $code; output = ($lines -join "`n").Trim() }
ConvertTo-Json -InputObject $result -Compress -Depth 6
