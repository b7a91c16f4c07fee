<#
.SYNOPSIS
    Run the Docker Desktop installer silently and manage docker-users membership.

.DESCRIPTION
    JSON contract.
    Input:
      installer   path of "Docker Desktop Installer.exe" in winfra's cache, or null to only
                  manage group membership
      sha256      its SHA-256 (checked again here)
      args        installer arguments, starting with "install" (e.g. install --quiet
                  --accept-license --backend=wsl-2)
      users       accounts to add to the local group docker-users
    Output: {"exit_code": int or null, "result": "installed"|"already_installed"|"reboot_required"|null,
             "version": "<DisplayVersion after>" or null, "users_added": [...]}
    Any other installer exit code fails with the tail of the installer log.

.NOTES
    winfra-mode: write
    Sources (shared/reference/windows-facts.md):
    * B.1: the "install" subcommand is required with flags; flags --quiet, --accept-license,
      --backend, --installation-dir, --always-run-service, --wsl-default-data-root, ...
    * B.2: exit codes 0 = success, 3 = already installed; others are failures; logs in
      C:\ProgramData\DockerDesktop\install-log-admin.txt (admin installs) and
      %LOCALAPPDATA%\Docker\install-log.txt. 3010 is the Windows Installer "success, reboot
      required" code (ERROR_SUCCESS_REBOOT_REQUIRED,
      https://learn.microsoft.com/windows/win32/msi/error-codes), tolerated by the Chocolatey
      package (anchors-and-winrm.md 2.1).
    * B.3: DisplayVersion under the uninstall key.
    * B.4: docker-users; members must sign out and in for the membership to apply.
    * Start-Process -ArgumentList joins arguments with spaces without quoting them, so an
      argument with a space is quoted here (https://github.com/PowerShell/PowerShell/issues/5576),
      with the MS C runtime rules for backslashes and quotes
      (https://learn.microsoft.com/cpp/c-language/parsing-c-command-line-arguments).
    * Add-LocalGroupMember fails with MemberExists for a member already in the group
      (https://learn.microsoft.com/powershell/module/microsoft.powershell.localaccounts/add-localgroupmember?view=powershell-5.1).
#>
[CmdletBinding()]
param(
    [Parameter(Mandatory = $true)][string]$InputJson
)
$ErrorActionPreference = 'Stop'
$in = ConvertFrom-Json -InputObject $InputJson

$uninstallKey = 'HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\Uninstall\Docker Desktop'
$result = [ordered]@{ exit_code = $null; result = $null; version = $null; users_added = @() }

if ($in.installer) {
    $installer = [string]$in.installer
    if ($in.sha256) {
        $actual = (Get-FileHash -LiteralPath $installer -Algorithm SHA256).Hash.ToLowerInvariant()
        if ($actual -ne ([string]$in.sha256).ToLowerInvariant()) {
            throw "checksum mismatch for $installer`: expected sha256 $($in.sha256), got $actual; nothing was run"
        }
    }
    # Start-Process joins -ArgumentList with spaces as is, so each argument is quoted here for the
    # installer's (MS C runtime / CommandLineToArgvW) parser: an argument with a blank or a quote
    # goes in quotes, an embedded quote becomes \" and the backslashes before a quote, or before
    # the closing quote, are doubled. Quoting by hand without that breaks a path ending in "\"
    # ("C:\dir\" reads as C:\dir" ...) and any value holding quotes, such as JSON.
    $quoted = @()
    foreach ($arg in @($in.args)) {
        $text = [string]$arg
        if (($text.Length -eq 0) -or ($text -match '[\s"]')) {
            $text = '"' + (($text -replace '(\\*)"', '$1$1\"') -replace '(\\+)$', '$1$1') + '"'
        }
        $quoted += $text
    }
    # Wait for the installer process only: Start-Process -Wait also waits for every child it
    # leaves running (PowerShell/PowerShell#15555). Touching .Handle keeps ExitCode readable after
    # the process exits.
    $process = Start-Process -FilePath $installer -ArgumentList $quoted -PassThru -NoNewWindow
    $null = $process.Handle
    $process.WaitForExit()
    $code = [int]$process.ExitCode
    $result.exit_code = $code
    if ($code -eq 0) {
        $result.result = 'installed'
    } elseif ($code -eq 3) {
        $result.result = 'already_installed'
    } elseif ($code -eq 3010) {
        $result.result = 'reboot_required'
    } else {
        $tail = ''
        $logs = @(
            (Join-Path -Path $env:ProgramData -ChildPath 'DockerDesktop\install-log-admin.txt'),
            (Join-Path -Path $env:LOCALAPPDATA -ChildPath 'Docker\install-log.txt')
        )
        foreach ($log in $logs) {
            if (Test-Path -LiteralPath $log -PathType Leaf) {
                $tail = (Get-Content -LiteralPath $log -Tail 15) -join "`n"
                break
            }
        }
        throw "Docker Desktop installer exited with code $code. Last lines of the install log:`n$tail"
    }
}

$key = Get-ItemProperty -LiteralPath $uninstallKey -ErrorAction SilentlyContinue
if ($null -ne $key) {
    $result.version = [string]$key.DisplayVersion
}

$users = @($in.users | Where-Object { $_ })
if ($users.Count -gt 0) {
    if ($null -eq (Get-LocalGroup -Name 'docker-users' -ErrorAction SilentlyContinue)) {
        throw "the local group docker-users does not exist: Docker Desktop is not installed on this host"
    }
    foreach ($user in $users) {
        try {
            Add-LocalGroupMember -Group 'docker-users' -Member ([string]$user)
            $result.users_added += [string]$user
        } catch {
            if ($_.FullyQualifiedErrorId -notlike 'MemberExists*') {
                throw
            }
        }
    }
}
ConvertTo-Json -InputObject $result -Compress -Depth 6
