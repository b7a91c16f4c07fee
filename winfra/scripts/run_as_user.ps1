<#
.SYNOPSIS
    Run a PowerShell script as another local or domain user through a one-off scheduled task.

.DESCRIPTION
    JSON contract.
    Input:
      user             - the target user ("name", "DOMAIN\name" or ".\name")
      script           - the PowerShell text to run as that user (UTF-8)
      timeout_seconds  - how long to wait for it (default 600)
      require_logged_on - true when the step needs the user's interactive logon session
      in_process       - true: the task's own powershell.exe runs the script (for a rendered
                         winfra script, whose output is PowerShell objects: one process launch
                         fewer); false or absent: a child powershell.exe with redirected
                         output runs it, so a native program's output bytes arrive unchanged
    Stdin ($WinfraStdin): the user's password, or nothing. While the user is logged on the task
      runs in their session (LogonType Interactive, password unused); otherwise it needs the
      password (LogonType Password, a batch logon).
    Output: {"user": "<DOMAIN\name>", "sid": "...", "logon": "password|interactive",
             "exit_code": N, "stdout": "<base64 of the UTF-8 stdout bytes>",
             "stderr": "<base64 of the stderr bytes>"}
    Terminating errors (exit 1): the user does not exist; the user has no profile (never logged
    on); the user is not logged on although the step needs it; the task could not be registered
    (wrong password); the timeout expired.

.NOTES
    winfra-mode: write
    Why a scheduled task: WSL distros, .wslconfig and Docker Desktop's distros live in the target
    user's profile and HKCU (windows-facts A.5, A.7, A.8, B.6); a WinRM network logon sees the
    WinRM user's hive only. Ansible documents the scheduled task as the way around WinRM's
    network-logon restrictions (anchors-and-winrm 1.5); windows-facts A.7 lists
    Register-ScheduledTask -User -Password -RunLevel Highest, or LogonType Interactive when the
    user is logged on. A user who never logged on has no profile and no HKCU (A.7, WSL#8072).
    LocalSystem is refused by winfra.runas before this script runs (WSL as SYSTEM is unsupported,
    WSL#11280).
    Output is collected through files in a fresh directory whose ACL grants only SYSTEM,
    Administrators and the target user (the task's own account must write there); the task and
    the directory are deleted afterwards whatever happens.
    The inner script is read back as UTF-8 explicitly because powershell.exe 5.1 reads a .ps1
    without BOM in the ANSI code page (about_Character_Encoding). In-process, the launcher calls
    inner.ps1 as a script instead, so that `exit N` in it ends only that script and sets
    $LASTEXITCODE for the launcher (about_Language_Keywords, "Exit", 5.1: "the exit statement
    sets the value of the $LASTEXITCODE variable"; an `exit` inside a script block passes up to
    the script file that holds it, engine/ScriptCommandProcessor.cs in PowerShell/PowerShell);
    that inner.ps1 is the one file written with a UTF-8 BOM, the only way 5.1 reads a script
    file as UTF-8, and an `exit 0` after the script gives a normal end the exit code 0, as
    powershell.exe -File does ("If the script has no exit
    statement, the exit code is always 0 when the script completes without error or 1 when the
    script terminates from an unhandled exception", same page). Warnings go to stdout as
    "WARNING: " lines, where a redirected powershell.exe 5.1 writes them too
    (PowerShell/PowerShell#13080); information, verbose and debug records go to the task's
    hidden console. Under `2>&1` a native program's stderr lines become error records, which
    stop a script whose $ErrorActionPreference is Stop: a script run in-process must capture a
    native program's stderr itself (the shipped scripts use Process.Start or lower the
    preference around their own `2>&1`).
    ScheduledTasks cmdlets: https://learn.microsoft.com/powershell/module/scheduledtasks/
#>
[CmdletBinding()]
param(
    [Parameter(Mandatory = $true)][string]$InputJson
)
$ErrorActionPreference = 'Stop'
$in = ConvertFrom-Json -InputObject $InputJson

$timeout = 600
if ($in.timeout_seconds) {
    $timeout = [int]$in.timeout_seconds
}
$password = $null
if ($WinfraStdin) {
    $password = ([string]$WinfraStdin).TrimEnd("`r", "`n")
}

# -- resolve the user --------------------------------------------------------------------------
$userName = [string]$in.user
if ($userName.StartsWith('.\')) {
    $userName = $env:COMPUTERNAME + $userName.Substring(1)
}
try {
    $account = New-Object System.Security.Principal.NTAccount -ArgumentList $userName
    $sid = $account.Translate([System.Security.Principal.SecurityIdentifier]).Value
    $qualified = (New-Object System.Security.Principal.SecurityIdentifier -ArgumentList $sid).Translate(
        [System.Security.Principal.NTAccount]).Value
}
catch {
    throw "winfra run-as: the user '$($in.user)' does not exist on $env:COMPUTERNAME. Create the account or fix the target user."
}

# -- the user's profile: no profile means never logged on, so no HKCU and no WSL state (A.7) ----
$userProfile = Get-CimInstance -ClassName Win32_UserProfile -Filter "SID = '$sid'"
if ($null -eq $userProfile) {
    throw "winfra run-as: the user '$qualified' has no profile on $env:COMPUTERNAME (never logged on). Log on once as that user, then re-run."
}

# -- is the user logged on? (an explorer.exe owned by their SID) ---------------------------------
$loggedOn = $false
foreach ($proc in @(Get-CimInstance -ClassName Win32_Process -Filter "Name = 'explorer.exe'")) {
    try {
        $owner = Invoke-CimMethod -InputObject $proc -MethodName GetOwnerSid
    }
    catch {
        # The process ended between the query and the call (a user logging off): not a session.
        continue
    }
    if ($owner.Sid -eq $sid) {
        $loggedOn = $true
    }
}
# A logged-on user's task runs in their interactive session (LogonType Interactive, no password
# needed): WSL2 needs that session to start its VM (A.7, WSL#8072). Otherwise a stored-password
# task runs as a batch logon, which needs "Log on as a batch job" (SeBatchLogonRight; on clients
# only Administrators have it by default:
# https://learn.microsoft.com/windows/win32/taskschd/security-contexts-for-running-tasks,
# https://learn.microsoft.com/windows/security/threat-protection/security-policy-settings/log-on-as-a-batch-job).
$logon = 'interactive'
if (-not $loggedOn) {
    if ($null -eq $password) {
        throw "winfra run-as: the user '$qualified' must be logged on for this step but is not (no password in host data for an unattended logon). Log on as that user, or put the password in host data."
    }
    if ([bool]$in.require_logged_on) {
        throw "winfra run-as: the user '$qualified' must be logged on for this step but is not. Log on interactively as that user and re-run."
    }
    $logon = 'password'
}

# -- a private directory for the script and its output -------------------------------------------
$id = [guid]::NewGuid().ToString('N')
$root = Join-Path $env:ProgramData 'winfra\runas'
$dir = Join-Path $root $id
$null = New-Item -ItemType Directory -Path $dir -Force
$acl = New-Object System.Security.AccessControl.DirectorySecurity
$acl.SetAccessRuleProtection($true, $false)
$inherit = [System.Security.AccessControl.InheritanceFlags]'ContainerInherit, ObjectInherit'
$noProp = [System.Security.AccessControl.PropagationFlags]::None
$allow = [System.Security.AccessControl.AccessControlType]::Allow
foreach ($trustee in @('S-1-5-18', 'S-1-5-32-544', $sid)) {
    $ident = New-Object System.Security.Principal.SecurityIdentifier -ArgumentList $trustee
    $rule = New-Object System.Security.AccessControl.FileSystemAccessRule -ArgumentList $ident, 'FullControl', $inherit, $noProp, $allow
    $acl.AddAccessRule($rule)
}
Set-Acl -LiteralPath $dir -AclObject $acl

$utf8 = New-Object System.Text.UTF8Encoding -ArgumentList $false
# The task's process may have no console, where setting the console encoding throws (the same
# guard as winfra.powershell.wire.PROLOGUE; Ansible's bootstrap_wrapper.ps1 does the same).
$prologue = "`$ProgressPreference = 'SilentlyContinue'`ntry {`n    [Console]::OutputEncoding = New-Object -TypeName System.Text.UTF8Encoding -ArgumentList `$false`n} catch {`n    `$null = `$_`n}`n"
$psExe = Join-Path $env:SystemRoot 'System32\WindowsPowerShell\v1.0\powershell.exe'
$innerPath = Join-Path $dir 'inner.ps1'
if ([bool]$in.in_process) {
    [System.IO.File]::WriteAllText($innerPath, $prologue + [string]$in.script + "`nexit 0`n", (New-Object System.Text.UTF8Encoding -ArgumentList $true))
    # The launcher (the task's action) runs inner.ps1 in its own process and sorts what it emits:
    # error records to stderr, warnings and output to stdout. It writes the exit code last,
    # through a rename, so rc.txt appears only when everything else is written. Single-quoted:
    # nothing in it is expanded here; it finds its files through $PSScriptRoot. Its variables
    # are prefixed: inner.ps1 runs in a child scope and could otherwise read them.
    $launcher = @'
$ErrorActionPreference = 'Continue'
$winfraUtf8 = New-Object -TypeName System.Text.UTF8Encoding -ArgumentList $false
$winfraStdout = New-Object -TypeName System.Text.StringBuilder
$winfraStderr = New-Object -TypeName System.Text.StringBuilder
$winfraRc = 255
try {
    & (Join-Path -Path $PSScriptRoot -ChildPath 'inner.ps1') 2>&1 3>&1 | ForEach-Object -Process {
        if ($_ -is [System.Management.Automation.ErrorRecord]) {
            $null = $winfraStderr.Append($_.ToString()).Append("`r`n")
        }
        elseif ($_ -is [System.Management.Automation.WarningRecord]) {
            $null = $winfraStdout.Append('WARNING: ').Append($_.Message).Append("`r`n")
        }
        elseif ($_ -is [string]) {
            $null = $winfraStdout.Append($_).Append("`r`n")
        }
        else {
            $null = $winfraStdout.Append(($_ | Out-String))
        }
    }
    $winfraRc = $LASTEXITCODE
}
catch {
    $null = $winfraStderr.Append($_.ToString()).Append("`r`n")
    $winfraRc = 1
}
[System.IO.File]::WriteAllText((Join-Path -Path $PSScriptRoot -ChildPath 'stdout.txt'), $winfraStdout.ToString(), $winfraUtf8)
[System.IO.File]::WriteAllText((Join-Path -Path $PSScriptRoot -ChildPath 'stderr.txt'), $winfraStderr.ToString(), $winfraUtf8)
[System.IO.File]::WriteAllText((Join-Path -Path $PSScriptRoot -ChildPath 'rc.tmp'), [string]$winfraRc)
Move-Item -LiteralPath (Join-Path -Path $PSScriptRoot -ChildPath 'rc.tmp') -Destination (Join-Path -Path $PSScriptRoot -ChildPath 'rc.txt')
'@
}
else {
    [System.IO.File]::WriteAllText($innerPath, $prologue + [string]$in.script, $utf8)
    # The inner bootstrap reads the script as UTF-8 and runs it; `exit N` inside sets the exit code.
    $q = $dir.Replace("'", "''")
    $inner = "`$ErrorActionPreference = 'Continue'`n& ([ScriptBlock]::Create([System.IO.File]::ReadAllText('$q\inner.ps1', [System.Text.Encoding]::UTF8)))`n"
    $innerEncoded = [Convert]::ToBase64String([System.Text.Encoding]::Unicode.GetBytes($inner))
    # The launcher (the task's action) starts the inner process with redirected output, then writes
    # its exit code last, through a rename, so rc.txt appears only when everything else is written.
    $launcher = @"
`$ErrorActionPreference = 'Stop'
`$rc = 255
try {
    `$p = Start-Process -FilePath '$psExe' -ArgumentList '-NoProfile -NonInteractive -ExecutionPolicy Bypass -EncodedCommand $innerEncoded' -RedirectStandardOutput '$q\stdout.txt' -RedirectStandardError '$q\stderr.txt' -NoNewWindow -PassThru
    `$null = `$p.Handle
    `$p.WaitForExit()
    `$rc = `$p.ExitCode
}
catch {
    [System.IO.File]::WriteAllText('$q\launch-error.txt', `$_.Exception.Message)
}
[System.IO.File]::WriteAllText('$q\rc.tmp', [string]`$rc)
Move-Item -LiteralPath '$q\rc.tmp' -Destination '$q\rc.txt'
"@
}
# Either launcher is ASCII (a GUID path under ProgramData, base64), so -File reads it correctly
# whatever the ANSI code page; a file keeps the task's argument line short.
$launcherPath = Join-Path $dir 'launcher.ps1'
[System.IO.File]::WriteAllText($launcherPath, $launcher, $utf8)

$taskName = "winfra-runas-$id"
$taskPath = '\winfra\'
try {
    $action = New-ScheduledTaskAction -Execute $psExe -Argument "-NoProfile -NonInteractive -ExecutionPolicy Bypass -WindowStyle Hidden -File `"$launcherPath`""
    $settings = New-ScheduledTaskSettingsSet -AllowStartIfOnBatteries -DontStopIfGoingOnBatteries -ExecutionTimeLimit (New-TimeSpan -Seconds ($timeout + 60))
    try {
        if ($logon -eq 'password') {
            $null = Register-ScheduledTask -TaskName $taskName -TaskPath $taskPath -Action $action -Settings $settings -User $qualified -Password $password -RunLevel Highest -Force
        }
        else {
            $principal = New-ScheduledTaskPrincipal -UserId $qualified -LogonType Interactive -RunLevel Highest
            $null = Register-ScheduledTask -TaskName $taskName -TaskPath $taskPath -Action $action -Settings $settings -Principal $principal -Force
        }
    }
    catch {
        # The message may name the account but never holds the password.
        throw "winfra run-as: could not register a task as '$qualified': $($_.Exception.Message) Check the password in host data."
    }
    Start-ScheduledTask -TaskName $taskName -TaskPath $taskPath
    $rcFile = Join-Path $dir 'rc.txt'
    $deadline = (Get-Date).AddSeconds($timeout)
    while (-not (Test-Path -LiteralPath $rcFile)) {
        if ((Get-Date) -gt $deadline) {
            Stop-ScheduledTask -TaskName $taskName -TaskPath $taskPath -ErrorAction SilentlyContinue
            throw "winfra run-as: the command run as '$qualified' did not finish within $timeout seconds. Raise _timeout or check the host."
        }
        $task = Get-ScheduledTask -TaskName $taskName -TaskPath $taskPath
        $info = Get-ScheduledTaskInfo -InputObject $task
        # 267011 (0x41303): the task has not run yet; 267009 (0x41301): it is running.
        if ($task.State.ToString() -eq 'Ready' -and $info.LastTaskResult -ne 267011 -and $info.LastTaskResult -ne 267009 -and -not (Test-Path -LiteralPath $rcFile)) {
            Start-Sleep -Milliseconds 500
            if (-not (Test-Path -LiteralPath $rcFile)) {
                # 0x80070569 ERROR_LOGON_TYPE_NOT_GRANTED: no "Log on as a batch job" right.
                if ($info.LastTaskResult -eq -2147023511 -or $info.LastTaskResult -eq 2147943785) {
                    throw "winfra run-as: '$qualified' may not log on as a batch job (SeBatchLogonRight), so a task with its password cannot start. Log on as that user (winfra then uses their session), or grant 'Log on as a batch job'."
                }
                throw "winfra run-as: the task for '$qualified' ended without a result (last result 0x$('{0:X8}' -f $info.LastTaskResult))."
            }
        }
        Start-Sleep -Milliseconds 200
    }
    $launchError = Join-Path $dir 'launch-error.txt'
    if (Test-Path -LiteralPath $launchError) {
        throw "winfra run-as: could not start PowerShell as '$qualified': $([System.IO.File]::ReadAllText($launchError))"
    }
    $exitCode = [int]([System.IO.File]::ReadAllText($rcFile).Trim())
    $stdoutBytes = New-Object byte[] 0
    $stderrBytes = New-Object byte[] 0
    if (Test-Path -LiteralPath (Join-Path $dir 'stdout.txt')) {
        $stdoutBytes = [System.IO.File]::ReadAllBytes((Join-Path $dir 'stdout.txt'))
    }
    if (Test-Path -LiteralPath (Join-Path $dir 'stderr.txt')) {
        $stderrBytes = [System.IO.File]::ReadAllBytes((Join-Path $dir 'stderr.txt'))
    }
    $result = [ordered]@{
        user      = $qualified
        sid       = $sid
        logon     = $logon
        exit_code = $exitCode
        stdout    = [Convert]::ToBase64String($stdoutBytes)
        stderr    = [Convert]::ToBase64String($stderrBytes)
    }
    ConvertTo-Json -InputObject $result -Compress -Depth 6
}
finally {
    Unregister-ScheduledTask -TaskName $taskName -TaskPath $taskPath -Confirm:$false -ErrorAction SilentlyContinue
    Remove-Item -LiteralPath $dir -Recurse -Force -ErrorAction SilentlyContinue
}
