# Server roles and the docker-users group, with splatting.
[CmdletBinding()]
param(
    [Parameter(Mandatory = $true)][string]$InputJson
)
$ErrorActionPreference = 'Stop'
$in = ConvertFrom-Json -InputObject $InputJson
$featureArgs = @{
    Name = @('Containers', 'Hyper-V')
    IncludeManagementTools = $true
    WarningAction = 'SilentlyContinue'
}
$result = Install-WindowsFeature @featureArgs
$group = Get-LocalGroup -Name 'docker-users' -ErrorAction SilentlyContinue
if (-not $group) {
    $group = New-LocalGroup -Name 'docker-users' -Description 'Users allowed to use the Docker engine'
}
$members = @(Get-LocalGroupMember -Group 'docker-users' | ForEach-Object { $_.Name })
if ($members -notcontains $in.user) {
    Add-LocalGroupMember -Group 'docker-users' -Member $in.user
}
$out = @{
    success = [bool]$result.Success
    restart = $result.RestartNeeded.ToString()
    exit_code = $result.ExitCode.ToString()
}
ConvertTo-Json -InputObject $out -Compress
