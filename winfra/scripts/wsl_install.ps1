<#
.SYNOPSIS
    Install or update WSL: a pinned MSI already on the host, or `wsl --install --no-distribution`.

.DESCRIPTION
    JSON contract. Runs as the WinRM user, which must hold an elevated token.
    Input: {"method": "msi" | "wsl", "msi_path": "C:\...\wsl.x64.msi" (method msi)}
    Output: {"method", "exit_code": N, "error_code": "Wsl/..." | null,
             "reboot_required": bool, "version": "<file version of the package wsl.exe>" | null}
    A failed install throws (exit 1) with the installer's exit code.

.NOTES
    winfra-mode: write
    MSI: `msiexec /i wsl.<ver>.x64.msi /quiet /norestart` (windows-facts A.1; docker/docs
    windows-install.md "Install WSL via the MSI package"); exit 3010 means success with a reboot
    required, 1641 a reboot was started (https://learn.microsoft.com/windows/win32/msi/error-codes).
    `wsl --install --no-distribution` must run elevated (it would re-launch itself with a UAC
    prompt nobody can answer, A.1) and exits 0 even when a reboot is required, so the reboot need
    is read from the CBS RebootPending key and the VirtualMachinePlatform feature state
    (windows-facts A.1, D.4). wsl.exe: Program Files first (A.7), WSL_UTF8=1 (A.4).
#>
[CmdletBinding()]
param(
    [Parameter(Mandatory = $true)][string]$InputJson
)
$ErrorActionPreference = 'Stop'
$in = ConvertFrom-Json -InputObject $InputJson

$principal = New-Object System.Security.Principal.WindowsPrincipal -ArgumentList ([System.Security.Principal.WindowsIdentity]::GetCurrent())
if (-not $principal.IsInRole([System.Security.Principal.WindowsBuiltInRole]::Administrator)) {
    throw 'winfra: installing WSL needs an elevated administrator token; over WinRM a local admin other than Administrator needs LocalAccountTokenFilterPolicy=1 (windows-facts A.7).'
}

$result = [ordered]@{ method = [string]$in.method; exit_code = $null; error_code = $null; reboot_required = $false; version = $null }
$packageExe = Join-Path $env:ProgramFiles 'WSL\wsl.exe'
switch ([string]$in.method) {
    'msi' {
        $msi = [string]$in.msi_path
        if (-not (Test-Path -LiteralPath $msi -PathType Leaf)) {
            throw "winfra: the WSL MSI $msi is not on the host."
        }
        $p = Start-Process -FilePath 'msiexec.exe' -ArgumentList @('/i', ('"' + $msi + '"'), '/quiet', '/norestart') -Wait -PassThru
        $result['exit_code'] = $p.ExitCode
        if ($p.ExitCode -eq 3010 -or $p.ExitCode -eq 1641) {
            $result['reboot_required'] = $true
        }
        elseif ($p.ExitCode -ne 0) {
            throw "winfra: msiexec /i $msi failed with exit code $($p.ExitCode) (see https://learn.microsoft.com/windows/win32/msi/error-codes)."
        }
    }
    'wsl' {
        $exe = $packageExe
        if (-not (Test-Path -LiteralPath $exe)) {
            $exe = Join-Path $env:SystemRoot 'System32\wsl.exe'
        }
        $psi = New-Object System.Diagnostics.ProcessStartInfo
        $psi.FileName = $exe
        $psi.Arguments = '--install --no-distribution'
        $psi.UseShellExecute = $false
        $psi.RedirectStandardOutput = $true
        $psi.RedirectStandardError = $true
        $psi.EnvironmentVariables['WSL_UTF8'] = '1'
        $proc = [System.Diagnostics.Process]::Start($psi)
        $errTask = $proc.StandardError.ReadToEndAsync()
        $ms = New-Object System.IO.MemoryStream
        $proc.StandardOutput.BaseStream.CopyTo($ms)
        $proc.WaitForExit()
        $bytes = $ms.ToArray()
        $text = [System.Text.Encoding]::UTF8.GetString($bytes)
        if ($bytes.Length -gt 1 -and $bytes[1] -eq 0) {
            $text = [System.Text.Encoding]::Unicode.GetString($bytes)
        }
        $text = ($text + "`n" + $errTask.Result).Replace([string][char]0, '')
        $m = [regex]::Match($text, '(?m)(Wsl/[A-Za-z0-9_./-]+)\s*$')
        if ($m.Success) {
            $result['error_code'] = $m.Groups[1].Value
        }
        $result['exit_code'] = $proc.ExitCode
        if ($proc.ExitCode -ne 0) {
            throw "winfra: wsl --install --no-distribution failed (exit $($proc.ExitCode), $($result['error_code']))."
        }
    }
    default {
        throw "winfra: unknown install method '$($in.method)'."
    }
}
# D.4: CBS RebootPending, or a WSL-related feature waiting for a reboot (A.1: exit 0 tells nothing).
if (Test-Path -LiteralPath 'HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\Component Based Servicing\RebootPending') {
    $result['reboot_required'] = $true
}
foreach ($feature in @('VirtualMachinePlatform', 'Microsoft-Windows-Subsystem-Linux')) {
    try {
        $f = Get-WindowsOptionalFeature -Online -FeatureName $feature
    }
    catch {
        # "Feature name ... is unknown" (windows-facts F.5) on an edition without it.
        $f = $null
    }
    if ($null -ne $f -and $f.State.ToString() -like '*Pending') {
        $result['reboot_required'] = $true
    }
}
if (Test-Path -LiteralPath $packageExe) {
    $v = (Get-Item -LiteralPath $packageExe).VersionInfo
    $result['version'] = '{0}.{1}.{2}.{3}' -f $v.FileMajorPart, $v.FileMinorPart, $v.FileBuildPart, $v.FilePrivatePart
}
ConvertTo-Json -InputObject $result -Compress -Depth 6
