# Read OS and hardware facts over CIM.
[CmdletBinding()]
param(
    [Parameter(Mandatory = $true)][string]$InputJson
)
$ErrorActionPreference = 'Stop'
$null = ConvertFrom-Json -InputObject $InputJson
$os = Get-CimInstance -ClassName Win32_OperatingSystem
$cpu = @(Get-CimInstance -ClassName Win32_Processor) | Select-Object -First 1
$memory = (Get-CimInstance -ClassName Win32_PhysicalMemory | Measure-Object -Property Capacity -Sum).Sum
$disks = Get-CimInstance -ClassName Win32_LogicalDisk -Filter 'DriveType = 3' |
    Sort-Object -Property DeviceID |
    ForEach-Object { @{ id = $_.DeviceID; free = $_.FreeSpace } }
$out = [ordered]@{
    caption = $os.Caption
    build = [int]$os.BuildNumber
    last_boot = $os.LastBootUpTime.ToUniversalTime().ToString('o')
    vmx = [bool]$cpu.VirtualizationFirmwareEnabled
    memory = $memory
    disks = @($disks)
}
ConvertTo-Json -InputObject $out -Compress -Depth 6
