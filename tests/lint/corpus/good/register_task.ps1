# Register a scheduled task that runs at startup as SYSTEM.
[CmdletBinding()]
param(
    [Parameter(Mandatory = $true)][string]$InputJson
)
$ErrorActionPreference = 'Stop'
$in = ConvertFrom-Json -InputObject $InputJson
$action = New-ScheduledTaskAction -Execute 'powershell.exe' -Argument '-NoProfile -File C:\winfra\resume.ps1'
$trigger = New-ScheduledTaskTrigger -AtStartup
$principal = New-ScheduledTaskPrincipal -UserId 'SYSTEM' -LogonType ServiceAccount -RunLevel Highest
$settings = New-ScheduledTaskSettingsSet -AllowStartIfOnBatteries -DontStopIfGoingOnBatteries -StartWhenAvailable
$existing = Get-ScheduledTask -TaskName $in.name -ErrorAction SilentlyContinue
if ($existing) {
    Unregister-ScheduledTask -TaskName $in.name -Confirm:$false
}
$null = Register-ScheduledTask -TaskName $in.name -TaskPath '\winfra\' -Action $action -Trigger $trigger -Principal $principal -Settings $settings -Force
$info = Get-ScheduledTaskInfo -TaskName $in.name -TaskPath '\winfra\'
ConvertTo-Json -InputObject @{ name = $in.name; last_result = $info.LastTaskResult } -Compress
