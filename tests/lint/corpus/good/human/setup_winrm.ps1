# lint-contract: human
# Run by a person at an elevated console to prepare WinRM; Write-Host is fine here.
#Requires -RunAsAdministrator
$ErrorActionPreference = 'Stop'
Write-Host 'Enabling WinRM...' -ForegroundColor Cyan
Enable-PSRemoting -SkipNetworkProfileCheck -Force
Set-Item -Path 'WSMan:\localhost\Client\TrustedHosts' -Value '10.0.0.*' -Force
New-NetFirewallRule -DisplayName 'WinRM HTTP' -Direction Inbound -Protocol TCP -LocalPort 5985 -Action Allow | Out-Null
Restart-Service -Name WinRM
Write-Host ('Done on {0}' -f $env:COMPUTERNAME)
