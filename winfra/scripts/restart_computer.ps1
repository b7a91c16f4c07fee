<#
.SYNOPSIS
    Schedule a restart with shutdown.exe the way Ansible's win_reboot does.

.DESCRIPTION
    JSON contract.
    Input: {"delay": seconds before the restart (0-315360000), "message": comment (max 512 chars)}
    Output: {"rc": shutdown.exe exit code, "output": its combined output,
             "aborted_previous": bool (a scheduled shutdown was aborted and the restart retried),
             "in_progress": bool (rc 1115: a shutdown is already under way; just wait)}
    Deletes HKLM:\SOFTWARE\Microsoft\Windows NT\CurrentVersion\Winlogon\AutoLogonChecked first:
    LogonUI recreates that volatile key when the rebooted host reaches the logon screen, which is
    the readiness signal the controller waits for.

.NOTES
    winfra-mode: write
    Sources: anchors-and-winrm.md section 1.6 (win_reboot: delete AutoLogonChecked, then
    shutdown.exe /r /t <delay> /c <msg>; rc 1190 "A system shutdown has already been scheduled"
    -> shutdown /a and retry once; rc 1115 "A system shutdown is in progress" -> wait);
    https://learn.microsoft.com/windows-server/administration/windows-commands/shutdown
    (/t max 315360000, /c max 512 characters).
#>
[CmdletBinding()]
param(
    [Parameter(Mandatory = $true)][string]$InputJson
)
$ErrorActionPreference = 'Stop'
$in = ConvertFrom-Json -InputObject $InputJson
$delay = [int]$in.delay
$message = [string]$in.message
$autoLogonKey = 'HKLM:\SOFTWARE\Microsoft\Windows NT\CurrentVersion\Winlogon\AutoLogonChecked'
if (Test-Path -LiteralPath $autoLogonKey) {
    Remove-Item -LiteralPath $autoLogonKey -Recurse -Force
}
$shutdown = Join-Path -Path $env:SystemRoot -ChildPath 'System32\shutdown.exe'
# Windows PowerShell 5.1 native argument passing: an empty string argument is dropped
# (PowerShell/PowerShell#6280, #14747), so `/c ''` would reach shutdown.exe as a bare /c and fail;
# the comment is left out instead. An argument holding whitespace is wrapped in double quotes
# without escaping (#14747), so a trailing backslash would escape the closing quote: double the
# trailing backslashes (MSVCRT command-line rules read 2n backslashes before a quote as n).
if ($message -match '\s' -and $message.EndsWith('\')) {
    $message = $message -replace '(\\+)$', '$1$1'
}
function Invoke-WinfraShutdown {
    if ($message) {
        & $shutdown /r /t $delay /c $message 2>&1 | ForEach-Object { "$_" }
    } else {
        & $shutdown /r /t $delay 2>&1 | ForEach-Object { "$_" }
    }
}
# A native command's stderr under 'Stop' would become a terminating error in PS 5.1.
$ErrorActionPreference = 'Continue'
$output = @(Invoke-WinfraShutdown)
$rc = $LASTEXITCODE
$aborted = $false
if ($rc -eq 1190) {
    $null = & $shutdown /a 2>&1
    $aborted = $true
    $output = @(Invoke-WinfraShutdown)
    $rc = $LASTEXITCODE
}
$ErrorActionPreference = 'Stop'
$out = [ordered]@{
    rc = $rc
    output = ($output -join "`n")
    aborted_previous = $aborted
    in_progress = ($rc -eq 1115)
}
ConvertTo-Json -InputObject $out -Compress
