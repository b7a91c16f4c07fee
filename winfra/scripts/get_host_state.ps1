<#
.SYNOPSIS
    Read every cheap host fact winfra needs in one PowerShell process.

.DESCRIPTION
    JSON contract.
    Input: {} (no keys).
    Output: one object with a section per area, each owned by one part of winfra:
      windows  - OS, hardware and token facts (winfra.facts.windows)
      features - optional features / server roles by name, and the pending-reboot reasons
      wsl      - the WSL installation (winfra.facts.wsl.WslInstallation)
      docker   - Docker Desktop and the native engine (winfra.facts.docker)
    Each section is filled in its own region below.

.NOTES
    winfra-mode: read
    Batched on purpose: WinRM round trips and powershell.exe starts are winfra's cost unit
    (shared/reference/anchors-and-winrm.md section 0), and pyinfra 3 does not cache facts
    (shared/reference/pyinfra3-notes.md section 2.2).
#>
[CmdletBinding()]
param(
    [Parameter(Mandatory = $true)][string]$InputJson
)
$ErrorActionPreference = 'Stop'
$null = ConvertFrom-Json -InputObject $InputJson
$state = [ordered]@{}

#region windows
$state['windows'] = $null
#endregion windows

#region features
$state['features'] = $null
#endregion features

#region wsl
$state['wsl'] = $null
#endregion wsl

#region docker
$state['docker'] = $null
#endregion docker

ConvertTo-Json -InputObject $state -Compress -Depth 6
