<#
.SYNOPSIS
    Switch the caller's running Docker Desktop to the Linux or the Windows engine.

.DESCRIPTION
    JSON contract. Run as the Desktop user, while Desktop runs in their session.
    Input:  {"engine": "linux" | "windows", "docker": "<Desktop's docker.exe>",
             "docker_cli": "<install dir>\DockerCli.exe", "timeout_s": 120}
    Output: {"previous": "linux" | "windows", "engine": ..., "changed": bool, "method": text}
    Uses "docker desktop engine use <engine>" (Desktop CLI, 4.37+) and falls back to
    DockerCli.exe -SwitchLinuxEngine / -SwitchWindowsEngine; then waits until
    docker info reports the new OSType.

.NOTES
    winfra-mode: write
    Sources (shared/reference/windows-facts.md B.6): docker desktop engine use linux|windows
    (docker/docs desktop-cli.md), DockerCli.exe -SwitchDaemon/-SwitchLinuxEngine/
    -SwitchWindowsEngine, which can hang (docker/for-win#6098), hence the bounded wait;
    verify with docker info --format '{{.OSType}}'. Native stderr under 'Stop'
    (https://github.com/PowerShell/PowerShell/issues/3996).
#>
[CmdletBinding()]
param(
    [Parameter(Mandatory = $true)][string]$InputJson
)
$ErrorActionPreference = 'Stop'
$in = ConvertFrom-Json -InputObject $InputJson

function Invoke-Native {
    param(
        [string]$FilePath,
        [string[]]$Arguments
    )
    $saved = $ErrorActionPreference
    $ErrorActionPreference = 'Continue'
    try {
        $records = @(& $FilePath @Arguments 2>&1)
        $code = $LASTEXITCODE
    } finally {
        $ErrorActionPreference = $saved
    }
    # With 2>&1, stderr lines arrive as ErrorRecords among stdout's strings. The engine name is
    # read from stdout alone: a CLI warning on stderr (e.g. "WARNING: Error loading config file")
    # must not turn "linux" into "linux`nWARNING: ...".
    $stdout = @($records | Where-Object { $_ -isnot [System.Management.Automation.ErrorRecord] } | ForEach-Object { [string]$_ })
    $all = @($records | ForEach-Object { [string]$_ })
    return [pscustomobject]@{ ExitCode = $code; Stdout = ($stdout -join "`n").Trim(); Output = ($all -join "`n").Trim() }
}

$docker = [string]$in.docker
$want = [string]$in.engine
$now = Invoke-Native -FilePath $docker -Arguments @('info', '--format', '{{.OSType}}')
if ($now.ExitCode -ne 0) {
    throw "Docker Desktop is not running in this user's session ($($now.Output)); it starts at their next interactive logon"
}
$result = [ordered]@{ previous = $now.Stdout; engine = $want; changed = $false; method = $null }
if ($now.Stdout -eq $want) {
    ConvertTo-Json -InputObject $result -Compress -Depth 6
    return
}
$use = Invoke-Native -FilePath $docker -Arguments @('desktop', 'engine', 'use', $want)
$result.method = 'docker desktop engine use'
if ($use.ExitCode -ne 0) {
    $switch = '-SwitchLinuxEngine'
    if ($want -eq 'windows') {
        $switch = '-SwitchWindowsEngine'
    }
    $process = Start-Process -FilePath ([string]$in.docker_cli) -ArgumentList $switch -PassThru -NoNewWindow
    if (-not $process.WaitForExit(1000 * [int]$in.timeout_s)) {
        throw "DockerCli.exe $switch did not finish within $($in.timeout_s) s (docker/for-win#6098)"
    }
    $result.method = "DockerCli.exe $switch"
}
$deadline = (Get-Date).AddSeconds([int]$in.timeout_s)
while ($true) {
    $check = Invoke-Native -FilePath $docker -Arguments @('info', '--format', '{{.OSType}}')
    if ($check.ExitCode -eq 0 -and $check.Stdout -eq $want) {
        break
    }
    if ((Get-Date) -ge $deadline) {
        throw "Docker Desktop did not switch to the $want engine within $($in.timeout_s) s: $($check.Output)"
    }
    Start-Sleep -Seconds 2
}
$result.changed = $true
ConvertTo-Json -InputObject $result -Compress -Depth 6
