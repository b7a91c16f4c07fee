<#
.SYNOPSIS
    Read the boot identity and readiness of a Windows host (used while waiting for a reboot).

.DESCRIPTION
    JSON contract.
    Input: {"nonce": any string}. The nonce is echoed back: a PowerShell that fails but exits 0
    cannot pass for an answer, and each probe is a distinct command, so no result cache can
    answer a later probe with an earlier one.
    Output: {"nonce": the input nonce, "last_boot_filetime": LastBootUpTime.ToFileTime(),
             "last_boot_time": ISO 8601 UTC, "autologon_checked": bool,
             "servicing_in_progress": bool}

.NOTES
    winfra-mode: read
    Sources: anchors-and-winrm.md section 1.6 (win_reboot): the boot id is
    (Get-CimInstance Win32_OperatingSystem).LastBootUpTime.ToFileTime(); the host is ready when
    the volatile key Winlogon\AutoLogonChecked exists again (LogonUI recreates it when the logon
    screen is about to show); CBS Interface\ServicingInProgress non-zero means servicing still runs.
#>
[CmdletBinding()]
param(
    [Parameter(Mandatory = $true)][string]$InputJson
)
$ErrorActionPreference = 'Stop'
$in = ConvertFrom-Json -InputObject $InputJson
$boot = (Get-CimInstance -ClassName Win32_OperatingSystem).LastBootUpTime
$cbsInterface = 'HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\Component Based Servicing\Interface'
$servicing = (Get-ItemProperty -LiteralPath $cbsInterface -Name 'ServicingInProgress' -ErrorAction SilentlyContinue).ServicingInProgress
$out = [ordered]@{
    nonce = [string]$in.nonce
    last_boot_filetime = $boot.ToFileTime()
    last_boot_time = $boot.ToUniversalTime().ToString('o')
    autologon_checked = Test-Path -LiteralPath 'HKLM:\SOFTWARE\Microsoft\Windows NT\CurrentVersion\Winlogon\AutoLogonChecked'
    servicing_in_progress = [bool]$servicing
}
ConvertTo-Json -InputObject $out -Compress
