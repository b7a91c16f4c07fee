<#
.SYNOPSIS
    Write a validated daemon.json atomically and restart the engine only when it changed,
    restoring the previous file if the daemon does not come back.

.DESCRIPTION
    JSON contract.
    Input:
      target          "engine" | "desktop" | "desktop-windows"
      path            engine: the daemon.json path (C:\ProgramData\docker\config\daemon.json)
      user            desktop targets: the user whose %USERPROFILE%\.docker holds the file
      file_name       desktop targets: "daemon.json" | "windows-daemon.json"
      content         the new file text (written as UTF-8 without BOM)
      create_groups   local groups to create first (the pipe's "group" must resolve)
      dockerd         path of dockerd.exe used for "--validate" (null: no host-side validation)
      service         engine service to restart when the file changed (null: no restart)
      docker          path of docker.exe used to wait for the daemon
      timeout_s       how long to wait for "docker version" after a restart
    Output: {"path", "changed", "validated", "restarted", "groups_created": [...],
             "previous_sha256", "sha256"}
    Failure: dockerd --validate rejects the file (nothing changed), or the daemon does not come
    back after the restart; then the previous file is restored, the service restarted and the
    script fails with dockerd's error.

.NOTES
    winfra-mode: write
    Sources (shared/reference/windows-facts.md):
    * C.4: path; UTF-8 without BOM ("BOM trap": engines before 23.0 fail on a BOM);
      "dockerd --validate --config-file" exists from Engine 23.0 (moby#42393) and prints the same
      error dockerd would; "group" must resolve at startup, so it is created first
      (configure-docker-daemon.md: net localgroup docker /add).
    * C.2: a non-interactive dockerd logs to the Application event log under the service name.
    * B.5: Docker Desktop reads %USERPROFILE%\.docker\daemon.json and windows-daemon.json and
      applies them when its engine restarts; an empty file crash-loops it (for-win#14700).
    * [IO.File]::Replace swaps the file atomically and keeps a backup
      (https://learn.microsoft.com/dotnet/api/system.io.file.replace).
    * Restart-Service/Start-Service/Stop-Service write "WARNING: Waiting for service ... to start..."
      every few seconds, and powershell.exe prints the warning stream on stdout next to the JSON
      (https://github.com/PowerShell/PowerShell/issues/7989), hence -WarningAction SilentlyContinue.
    * Windows PowerShell 5.1 turns native stderr into terminating errors under
      $ErrorActionPreference = 'Stop' when redirected with 2>&1, so native calls run with
      'Continue' (https://github.com/PowerShell/PowerShell/issues/3996).
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
        $lines = @(& $FilePath @Arguments 2>&1 | ForEach-Object { [string]$_ })
        $code = $LASTEXITCODE
    } finally {
        $ErrorActionPreference = $saved
    }
    return [pscustomobject]@{ ExitCode = $code; Output = ($lines -join "`n").Trim() }
}

function Get-BytesSha256 {
    param(
        [byte[]]$Bytes
    )
    $sha = [System.Security.Cryptography.SHA256]::Create()
    return ([System.BitConverter]::ToString($sha.ComputeHash($Bytes)) -replace '-', '').ToLowerInvariant()
}

function Wait-Docker {
    param(
        [string]$Docker,
        [int]$TimeoutSeconds
    )
    $deadline = (Get-Date).AddSeconds($TimeoutSeconds)
    $last = ''
    while ($true) {
        $r = Invoke-Native -FilePath $Docker -Arguments @('version', '--format', '{{.Server.Version}}')
        if ($r.ExitCode -eq 0) {
            return [pscustomobject]@{ Ok = $true; Output = $r.Output }
        }
        $last = $r.Output
        if ((Get-Date) -ge $deadline) {
            return [pscustomobject]@{ Ok = $false; Output = $last }
        }
        Start-Sleep -Seconds 1
    }
}

function Get-DockerdError {
    param(
        [string]$Service,
        [datetime]$Since
    )
    try {
        $events = @(Get-WinEvent -FilterHashtable @{ LogName = 'Application'; ProviderName = $Service; StartTime = $Since; Level = 2 } -MaxEvents 3 -ErrorAction Stop)
        if ($events.Count -gt 0) {
            return [string]$events[0].Message
        }
    } catch {
        return ''
    }
    return ''
}

# Where the file goes.
$path = [string]$in.path
if ($in.target -ne 'engine') {
    try {
        $sid = (New-Object System.Security.Principal.NTAccount([string]$in.user)).Translate([System.Security.Principal.SecurityIdentifier]).Value
    } catch {
        throw "docker_daemon_config: no user '$($in.user)' on this host"
    }
    $entry = Get-ItemProperty -LiteralPath ('HKLM:\SOFTWARE\Microsoft\Windows NT\CurrentVersion\ProfileList\' + $sid) -ErrorAction SilentlyContinue
    if ($null -eq $entry -or -not $entry.ProfileImagePath) {
        throw "docker_daemon_config: user '$($in.user)' has never logged on (no profile); Docker Desktop has not run for them yet"
    }
    $path = Join-Path -Path (Join-Path -Path ([string]$entry.ProfileImagePath) -ChildPath '.docker') -ChildPath ([string]$in.file_name)
}
$dir = Split-Path -Path $path -Parent
if (-not (Test-Path -LiteralPath $dir -PathType Container)) {
    $null = New-Item -ItemType Directory -Path $dir -Force
}

$groupsCreated = @()
foreach ($group in @($in.create_groups)) {
    if ($group -and ($null -eq (Get-LocalGroup -Name $group -ErrorAction SilentlyContinue))) {
        $null = New-LocalGroup -Name $group -Description 'Access to the Docker engine named pipe (winfra)'
        $groupsCreated += [string]$group
    }
}

$newBytes = (New-Object System.Text.UTF8Encoding $false).GetBytes([string]$in.content)
$newSha = Get-BytesSha256 -Bytes $newBytes
$previousSha = $null
$exists = Test-Path -LiteralPath $path -PathType Leaf
if ($exists) {
    $previousSha = Get-BytesSha256 -Bytes ([System.IO.File]::ReadAllBytes($path))
}
$result = [ordered]@{
    path = $path
    changed = $false
    validated = $false
    restarted = $false
    groups_created = $groupsCreated
    previous_sha256 = $previousSha
    sha256 = $newSha
}
if ($previousSha -eq $newSha) {
    ConvertTo-Json -InputObject $result -Compress -Depth 6
    return
}

$tmp = Join-Path -Path $dir -ChildPath ('.' + (Split-Path -Path $path -Leaf) + '.winfra-tmp')
[System.IO.File]::WriteAllBytes($tmp, $newBytes)
if ($in.dockerd) {
    $check = Invoke-Native -FilePath ([string]$in.dockerd) -Arguments @('--validate', '--config-file', $tmp)
    if ($check.ExitCode -ne 0) {
        Remove-Item -LiteralPath $tmp -Force
        throw "dockerd --validate rejected the new daemon.json, nothing was changed: $($check.Output)"
    }
    $result.validated = $true
}
$backup = $path + '.winfra-previous'
if ($exists) {
    [System.IO.File]::Replace($tmp, $path, $backup)
} else {
    Move-Item -LiteralPath $tmp -Destination $path -Force
}
$result.changed = $true

$svc = $null
if ($in.service) {
    $svc = Get-Service -Name ([string]$in.service) -ErrorAction SilentlyContinue
}
if ($null -ne $svc) {
    $since = Get-Date
    $startError = ''
    try {
        Restart-Service -Name $svc.Name -Force -WarningAction SilentlyContinue
    } catch {
        $startError = $_.Exception.Message
    }
    $wait = Wait-Docker -Docker ([string]$in.docker) -TimeoutSeconds ([int]$in.timeout_s)
    if (-not $wait.Ok) {
        $dockerdError = Get-DockerdError -Service $svc.Name -Since $since
        if (-not $dockerdError) {
            $dockerdError = $startError
        }
        if ($exists) {
            Move-Item -LiteralPath $backup -Destination $path -Force
        } else {
            Remove-Item -LiteralPath $path -Force
        }
        $restored = 'is running again'
        try {
            Restart-Service -Name $svc.Name -Force -WarningAction SilentlyContinue
        } catch {
            $restored = 'did not start either'
        }
        $again = Wait-Docker -Docker ([string]$in.docker) -TimeoutSeconds ([int]$in.timeout_s)
        if (-not $again.Ok) {
            $restored = 'did not start either'
        }
        throw "the docker daemon did not come back with the new daemon.json: $($dockerdError.Trim().TrimEnd('.')). The previous file was restored and the engine $restored."
    }
    $result.restarted = $true
}
ConvertTo-Json -InputObject $result -Compress -Depth 6
