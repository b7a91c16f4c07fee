<#
.SYNOPSIS
    Install or upgrade the native Docker engine from a verified static zip, register its service
    without baked flags, and roll back if the new engine does not answer.

.DESCRIPTION
    JSON contract.
    Input:
      zip           path of docker-<version>.zip in winfra's cache (already verified)
      sha256        its SHA-256 (checked again here, the file may have changed since)
      version       the engine version the zip must contain
      install_dir   e.g. C:\Program Files\Docker
      service_name  e.g. docker
      timeout_s     how long to wait for "docker version"
    Output: {"version", "previous_version", "binaries_changed", "path_added", "registered",
             "reregistered_from", "dropped_flags": [...], "started", "rolled_back": false}
    Steps: verify the zip; unpack to a staging dir next to install_dir and check the staged
    dockerd.exe's version; stop the service; move the current binaries to
    <install_dir>\.winfra-previous (rollback copy) and move the new ones in; add install_dir to
    the machine PATH once; register the service if missing, re-register it when its binary path
    differs (flags the old registration baked in are dropped and reported: move them to
    daemon.json); start; wait for "docker version".
    If the engine does not answer within timeout_s, the previous binaries are restored, the
    service is started again and the script fails with the error.

.NOTES
    winfra-mode: write
    Sources (shared/reference/windows-facts.md unless noted):
    * C.2: zip layout (docker\docker.exe, dockerd.exe, docker-proxy.exe); Expand-Archive into
      Program Files; PATH must include it; "dockerd --register-service" creates the service with
      ImagePath = dockerd path + --run-service + every flag given (flags are baked in); a
      different binary path needs unregistering first.
    * C.1 / anchors-and-winrm.md 2.3: install-docker-ce skips when a service named docker exists
      (never upgrades) and waits for "docker version"; winfra upgrades and rolls back instead.
    * dockerd.exe carries a version resource (moby cli/winresources/dockerd).
    * Machine PATH is REG_EXPAND_SZ under HKLM\SYSTEM\CurrentControlSet\Control\Session Manager\
      Environment; reading it with DoNotExpandEnvironmentNames keeps %SystemRoot% entries intact
      (https://learn.microsoft.com/dotnet/api/microsoft.win32.registryvalueoptions).
    * sc.exe delete removes a service registration
      (https://learn.microsoft.com/windows-server/administration/windows-commands/sc-delete).
    * Expand-Archive's progress bar is suppressed (anchors-and-winrm.md 2.3).
    * Stop-Service/Start-Service print "WARNING: Waiting for service ..." on powershell.exe's
      stdout, next to the JSON (https://github.com/PowerShell/PowerShell/issues/7989), hence
      -WarningAction SilentlyContinue. Expand-Archive's value is discarded ($null =) so no
      module version can add objects to stdout.
    * Native stderr under 'Stop' with 2>&1 (https://github.com/PowerShell/PowerShell/issues/3996).
#>
[CmdletBinding()]
param(
    [Parameter(Mandatory = $true)][string]$InputJson
)
$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
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

function Wait-Docker {
    param(
        [string]$Docker,
        [int]$TimeoutSeconds
    )
    $deadline = (Get-Date).AddSeconds($TimeoutSeconds)
    while ($true) {
        $r = Invoke-Native -FilePath $Docker -Arguments @('version', '--format', '{{.Server.Version}}')
        if ($r.ExitCode -eq 0) {
            return [pscustomobject]@{ Ok = $true; Output = $r.Output }
        }
        if ((Get-Date) -ge $deadline) {
            return [pscustomobject]@{ Ok = $false; Output = $r.Output }
        }
        Start-Sleep -Seconds 1
    }
}

function Get-DockerdVersion {
    param(
        [string]$Path
    )
    # The version resource moby embeds (cli/winresources/dockerd), reduced to X.Y.Z; when it is
    # missing, "dockerd --version" prints "Docker version X.Y.Z, build ...".
    $text = [string](Get-Item -LiteralPath $Path).VersionInfo.ProductVersion
    if ($text -match '(\d+\.\d+\.\d+)') {
        return $Matches[1]
    }
    $r = Invoke-Native -FilePath $Path -Arguments @('--version')
    if ($r.Output -match '(\d+\.\d+\.\d+)') {
        return $Matches[1]
    }
    return ''
}

function Split-CommandLine {
    param(
        [string]$CommandLine
    )
    # An ImagePath as argv by the MS C runtime rules, the same split as
    # winfra.facts.docker.split_command_line, so script and fact agree on binary and flags: blanks
    # outside quotes separate arguments; argv[0] ends at its closing quote, its backslashes are
    # literal; elsewhere 2n backslashes before a quote give n and the quote toggles quoting, 2n+1
    # give n and a literal quote (https://learn.microsoft.com/cpp/c-language/parsing-c-command-line-arguments).
    $argv = New-Object -TypeName 'System.Collections.Generic.List[string]'
    $cur = New-Object -TypeName System.Text.StringBuilder
    $text = $CommandLine.Trim()
    $quoted = $false
    $hasToken = $false
    $i = 0
    while ($i -lt $text.Length) {
        $ch = $text[$i]
        if (($ch -eq [char]'\') -and ($argv.Count -gt 0)) {
            $end = $i
            while (($end -lt $text.Length) -and ($text[$end] -eq [char]'\')) {
                $end++
            }
            $count = $end - $i
            if (($end -lt $text.Length) -and ($text[$end] -eq [char]'"')) {
                $null = $cur.Append('\' * [int][Math]::Floor($count / 2))
                if (($count % 2) -eq 1) {
                    $null = $cur.Append('"')
                    $end++
                }
            } else {
                $null = $cur.Append('\' * $count)
            }
            $hasToken = $true
            $i = $end
            continue
        }
        if ($ch -eq [char]'"') {
            $quoted = -not $quoted
            $hasToken = $true
        } elseif ((($ch -eq [char]' ') -or ($ch -eq [char]"`t")) -and (-not $quoted)) {
            if ($hasToken) {
                $argv.Add($cur.ToString())
                $null = $cur.Clear()
                $hasToken = $false
            }
        } else {
            $null = $cur.Append($ch)
            $hasToken = $true
        }
        $i++
    }
    if ($hasToken) {
        $argv.Add($cur.ToString())
    }
    return , $argv.ToArray()
}

$installDir = ([string]$in.install_dir).TrimEnd('\')
$serviceName = [string]$in.service_name
$zip = [string]$in.zip
if ($in.sha256) {
    $actual = (Get-FileHash -LiteralPath $zip -Algorithm SHA256).Hash.ToLowerInvariant()
    if ($actual -ne ([string]$in.sha256).ToLowerInvariant()) {
        throw "checksum mismatch for $zip`: expected sha256 $($in.sha256), got $actual; nothing was changed"
    }
}

# Unpack next to the install dir (same volume, so the swap below is a rename).
$parent = Split-Path -Path $installDir -Parent
$staging = Join-Path -Path $parent -ChildPath ('.winfra-docker-' + $in.version)
if (Test-Path -LiteralPath $staging) {
    Remove-Item -LiteralPath $staging -Recurse -Force
}
$null = Expand-Archive -LiteralPath $zip -DestinationPath $staging -Force
$stagedDir = Join-Path -Path $staging -ChildPath 'docker'
$stagedVersion = Get-DockerdVersion -Path (Join-Path -Path $stagedDir -ChildPath 'dockerd.exe')
if ($stagedVersion -ne [string]$in.version) {
    Remove-Item -LiteralPath $staging -Recurse -Force
    throw "the zip contains dockerd $stagedVersion, not $($in.version); nothing was changed"
}
$newFiles = @(Get-ChildItem -LiteralPath $stagedDir -File | ForEach-Object { $_.Name })

$dockerd = Join-Path -Path $installDir -ChildPath 'dockerd.exe'
$docker = Join-Path -Path $installDir -ChildPath 'docker.exe'
$previousVersion = $null
if (Test-Path -LiteralPath $dockerd -PathType Leaf) {
    $previousVersion = Get-DockerdVersion -Path $dockerd
}
$result = [ordered]@{
    version = [string]$in.version
    previous_version = $previousVersion
    binaries_changed = $false
    path_added = $false
    registered = $false
    reregistered_from = $null
    dropped_flags = @()
    started = $false
    rolled_back = $false
}

$svc = Get-CimInstance -ClassName Win32_Service -Filter ("Name='" + $serviceName + "'")
if ($null -ne $svc -and $svc.State -ne 'Stopped') {
    Stop-Service -Name $serviceName -Force -WarningAction SilentlyContinue
}

# Swap the binaries, keeping the previous ones for rollback.
$rollback = Join-Path -Path $installDir -ChildPath '.winfra-previous'
$swapped = @()
if ($previousVersion -ne [string]$in.version) {
    if (-not (Test-Path -LiteralPath $installDir -PathType Container)) {
        $null = New-Item -ItemType Directory -Path $installDir -Force
    }
    if (Test-Path -LiteralPath $rollback) {
        Remove-Item -LiteralPath $rollback -Recurse -Force
    }
    $null = New-Item -ItemType Directory -Path $rollback -Force
    foreach ($name in $newFiles) {
        $target = Join-Path -Path $installDir -ChildPath $name
        if (Test-Path -LiteralPath $target -PathType Leaf) {
            Move-Item -LiteralPath $target -Destination (Join-Path -Path $rollback -ChildPath $name) -Force
        }
        Move-Item -LiteralPath (Join-Path -Path $stagedDir -ChildPath $name) -Destination $target -Force
        $swapped += $name
    }
    $result.binaries_changed = $true
}
Remove-Item -LiteralPath $staging -Recurse -Force

# Machine PATH, once.
$envKey = Get-Item -LiteralPath 'HKLM:\SYSTEM\CurrentControlSet\Control\Session Manager\Environment'
$machinePath = [string]$envKey.GetValue('Path', '', 'DoNotExpandEnvironmentNames')
$entries = @($machinePath -split ';' | Where-Object { $_ })
$present = @($entries | Where-Object { $_.TrimEnd('\') -eq $installDir }).Count -gt 0
if (-not $present) {
    $newPath = (@($entries) + $installDir) -join ';'
    Set-ItemProperty -LiteralPath 'HKLM:\SYSTEM\CurrentControlSet\Control\Session Manager\Environment' -Name 'Path' -Value $newPath -Type ExpandString
    $result.path_added = $true
}

# Service registration: dockerd --register-service with no daemon flags (configuration belongs in
# daemon.json, where it is validated); a different binary path means unregister first. Flags an
# old registration baked in are dropped and reported, so the caller can move them to daemon.json.
if ($null -ne $svc) {
    $argv = @(Split-CommandLine -CommandLine ([string]$svc.PathName))
    $oldBinary = ''
    if ($argv.Count -gt 0) {
        $oldBinary = $argv[0]
    }
    # An unquoted ImagePath with a space reads as a different binary (as in the fact), so such a
    # registration is replaced by a quoted one.
    if ($oldBinary.TrimEnd('\') -ne $dockerd) {
        $dropped = @()
        $skip = $false
        foreach ($arg in @($argv | Select-Object -Skip 1)) {
            if ($skip) {
                $skip = $false
            } elseif ($arg -eq '--service-name') {
                $skip = $true
            } elseif (($arg -ne '--run-service') -and (-not $arg.StartsWith('--service-name='))) {
                $dropped += $arg
            }
        }
        $del = Invoke-Native -FilePath 'sc.exe' -Arguments @('delete', $serviceName)
        if ($del.ExitCode -ne 0) {
            throw "could not unregister service $serviceName ($oldBinary): $($del.Output)"
        }
        $result.reregistered_from = $oldBinary
        $result.dropped_flags = $dropped
        $svc = $null
    }
}
if ($null -eq $svc) {
    # dockerd --register-service creates the service and then the event log source
    # HKLM\...\EventLog\Application\<name>; the source is created with x/sys eventlog.Install, which
    # fails with "<key> registry key already exists". sc.exe delete (above, or by hand earlier)
    # leaves that key behind (only "dockerd --unregister-service" removes it), so a stale key is
    # removed here while no service owns it (moby cmd/dockerd/service_windows.go registerService /
    # unregisterService; golang.org/x/sys windows/svc/eventlog/install.go).
    $eventSource = 'HKLM:\SYSTEM\CurrentControlSet\Services\EventLog\Application\' + $serviceName
    if (Test-Path -LiteralPath $eventSource) {
        Remove-Item -LiteralPath $eventSource -Recurse -Force
    }
    $regArgs = @('--register-service', '--service-name', $serviceName)
    $reg = Invoke-Native -FilePath $dockerd -Arguments $regArgs
    if ($reg.ExitCode -ne 0) {
        throw "dockerd --register-service failed: $($reg.Output)"
    }
    $result.registered = $true
}

# Start and verify; roll back to the previous binaries when the new engine does not answer.
$startError = ''
try {
    Start-Service -Name $serviceName -WarningAction SilentlyContinue
} catch {
    $startError = $_.Exception.Message
}
$wait = Wait-Docker -Docker $docker -TimeoutSeconds ([int]$in.timeout_s)
if (-not $wait.Ok) {
    $why = $wait.Output
    if ($startError) {
        $why = $startError + ' ' + $why
    }
    if ($swapped.Count -gt 0 -and $previousVersion) {
        Stop-Service -Name $serviceName -Force -ErrorAction SilentlyContinue -WarningAction SilentlyContinue
        foreach ($name in $swapped) {
            $saved = Join-Path -Path $rollback -ChildPath $name
            if (Test-Path -LiteralPath $saved -PathType Leaf) {
                Move-Item -LiteralPath $saved -Destination (Join-Path -Path $installDir -ChildPath $name) -Force
            }
        }
        $back = 'is running again'
        try {
            Start-Service -Name $serviceName -WarningAction SilentlyContinue
        } catch {
            $back = 'did not start either'
        }
        $again = Wait-Docker -Docker $docker -TimeoutSeconds ([int]$in.timeout_s)
        if (-not $again.Ok) {
            $back = 'did not start either'
        }
        throw "docker $($in.version) did not answer within $($in.timeout_s) s ($why); rolled back to $previousVersion, which $back"
    }
    throw "docker $($in.version) did not answer within $($in.timeout_s) s: $why"
}
$result.started = $true
ConvertTo-Json -InputObject $result -Compress -Depth 6
