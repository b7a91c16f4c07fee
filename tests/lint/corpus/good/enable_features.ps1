# Enable the Windows features a Docker host needs, report state as JSON.
# windows-facts.md D.1: -NoRestart always over WinRM; enums through .ToString() (PS 5.1).
[CmdletBinding()]
param(
    [Parameter(Mandatory = $true)][string]$InputJson
)
$ErrorActionPreference = 'Stop'
$in = ConvertFrom-Json -InputObject $InputJson
$results = @()
foreach ($name in @($in.features)) {
    $feature = Get-WindowsOptionalFeature -Online -FeatureName $name
    if ($null -eq $feature) {
        throw "Feature name $name is unknown."
    }
    $restart = $false
    if ($feature.State.ToString() -ne 'Enabled') {
        $op = Enable-WindowsOptionalFeature -Online -FeatureName $name -All -NoRestart -WarningAction SilentlyContinue
        $restart = [bool]$op.RestartNeeded
    }
    $results += [ordered]@{
        name = $feature.FeatureName
        state = $feature.State.ToString()
        restart_needed = $restart
    }
}
ConvertTo-Json -InputObject @{ features = $results } -Compress -Depth 6
