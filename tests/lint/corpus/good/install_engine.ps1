# Unpack the static Docker engine and register the service (windows-facts.md C.2).
[CmdletBinding()]
param(
    [Parameter(Mandatory = $true)][string]$InputJson
)
$ErrorActionPreference = 'Stop'
$in = ConvertFrom-Json -InputObject $InputJson
Expand-Archive -LiteralPath $in.zip -DestinationPath $env:ProgramFiles -Force
$dockerd = Join-Path -Path $env:ProgramFiles -ChildPath 'Docker\dockerd.exe'
$service = Get-Service -Name docker -ErrorAction SilentlyContinue
if ($null -eq $service) {
    & $dockerd --register-service --service-name docker
    if ($LASTEXITCODE -ne 0) {
        throw "dockerd --register-service exited with $LASTEXITCODE"
    }
}
& $dockerd --validate --config-file "$env:ProgramData\docker\config\daemon.json" 2>&1 | Out-Null
Start-Service -Name docker
$machinePath = [Environment]::GetEnvironmentVariable('Path', 'Machine')
ConvertTo-Json -InputObject @{ status = (Get-Service -Name docker).Status.ToString(); path = $machinePath } -Compress
