# Docker Desktop and WSL MSI installs, group membership, a reboot (windows-facts.md A.1, B.1, B.4).
[CmdletBinding()]
param(
    [Parameter(Mandatory = $true)][string]$InputJson
)
$ErrorActionPreference = 'Stop'
$in = ConvertFrom-Json -InputObject $InputJson
$installer = Join-Path -Path $env:TEMP -ChildPath 'Docker Desktop Installer.exe'
$proc = Start-Process -FilePath $installer -ArgumentList 'install', '--quiet', '--accept-license', '--backend=wsl-2' -Wait -PassThru
& $installer install --quiet --accept-license --always-run-service
msiexec.exe /i $in.wsl_msi /quiet /norestart /L*V "$env:TEMP\wsl-install.log"
net.exe localgroup docker-users $in.user /add
dism.exe /Online /Enable-Feature /FeatureName:VirtualMachinePlatform /All /NoRestart
if ($in.reboot) {
    shutdown.exe /r /t 5 /c 'winfra: reboot to finish feature installation'
}
ConvertTo-Json -InputObject @{ exit_code = $proc.ExitCode } -Compress
