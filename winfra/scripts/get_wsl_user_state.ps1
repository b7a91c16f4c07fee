<#
.SYNOPSIS
    Read one user's WSL state: registrations, running state, .wslconfig and relocation journals.

.DESCRIPTION
    JSON contract. Runs AS the target user (winfra.runas, _su_user) or as the WinRM user.
    Input: {"user": "<expected user name>"} (checked against the identity the script runs as).
    Output:
      {"user": "DOMAIN\name", "sid": "...", "profile": "C:\Users\name",
       "local_app_data": "...",
       "default_distribution": "{GUID}" | null, "default_version": 1 | 2 | null,
       "distros": [{"guid", "name", "base_path", "vhd_file_name", "flags", "default_uid",
                    "state", "version", "vhd_path", "vhd_exists", "vhd_size"}],
       "list": {"exit_code": N, "stdout": "<base64 of raw wsl.exe -l -v bytes>"} | null,
       "wslconfig": {"path": "...", "exists": bool, "content": "<text>" | null, "bom": bool},
       "journals": [<relocation journal objects>]}

.NOTES
    winfra-mode: read
    Registrations: HKCU\Software\Microsoft\Windows\CurrentVersion\Lxss, per user; Flags 0x8 =
    WSL2, VHD = BasePath\VhdFileName, Version is the filesystem layout, not WSL1/2
    (windows-facts A.5). The running state and the default marker come from `wsl -l -v`, whose
    header and states are not localized (A.3); its raw bytes are returned for the controller's
    parser (winfra.wsl_output) because they may be UTF-16LE even with WSL_UTF8=1 (A.4).
    wsl.exe is called from C:\Program Files\WSL when present (System32 stub fails from session
    0, A.7). .wslconfig lives in the user's profile (A.8). LocalSystem is refused (A.7, WSL#11280).
#>
[CmdletBinding()]
param(
    [Parameter(Mandatory = $true)][string]$InputJson
)
$ErrorActionPreference = 'Stop'
$in = ConvertFrom-Json -InputObject $InputJson

function Invoke-WinfraWsl {
    param(
        [Parameter(Mandatory = $true)][string]$Exe,
        [Parameter(Mandatory = $true)][string]$Arguments
    )
    $psi = New-Object System.Diagnostics.ProcessStartInfo
    $psi.FileName = $Exe
    $psi.Arguments = $Arguments
    $psi.UseShellExecute = $false
    $psi.RedirectStandardOutput = $true
    $psi.RedirectStandardError = $true
    $psi.EnvironmentVariables['WSL_UTF8'] = '1'
    $proc = [System.Diagnostics.Process]::Start($psi)
    $errTask = $proc.StandardError.ReadToEndAsync()
    $ms = New-Object System.IO.MemoryStream
    $proc.StandardOutput.BaseStream.CopyTo($ms)
    $proc.WaitForExit()
    $null = $errTask.Result
    return [ordered]@{ exit_code = $proc.ExitCode; stdout = [Convert]::ToBase64String($ms.ToArray()) }
}

$identity = [System.Security.Principal.WindowsIdentity]::GetCurrent()
$sid = $identity.User.Value
if ($sid -eq 'S-1-5-18') {
    throw 'winfra: refusing to read WSL state as LocalSystem (unsupported by WSL, microsoft/WSL#11280). Give the target user.'
}
$expected = [string]$in.user
if ($expected) {
    $bare = $expected.Split('\')[-1].Split('@')[0]
    if ($identity.Name.Split('\')[-1] -ne $bare) {
        throw "winfra: this script runs as '$($identity.Name)', not as the target user '$expected'."
    }
}

$lxssPath = 'HKCU:\Software\Microsoft\Windows\CurrentVersion\Lxss'
$result = [ordered]@{
    user                 = $identity.Name
    sid                  = $sid
    profile              = $env:USERPROFILE
    local_app_data       = $env:LOCALAPPDATA
    default_distribution = $null
    default_version      = $null
    distros              = @()
    list                 = $null
    wslconfig            = $null
    journals             = @()
}
$distros = New-Object System.Collections.ArrayList
if (Test-Path -LiteralPath $lxssPath) {
    $lxss = Get-ItemProperty -LiteralPath $lxssPath
    if ($null -ne $lxss.PSObject.Properties['DefaultDistribution']) {
        $result['default_distribution'] = [string]$lxss.DefaultDistribution
    }
    if ($null -ne $lxss.PSObject.Properties['DefaultVersion']) {
        $result['default_version'] = [int]$lxss.DefaultVersion
    }
    foreach ($key in @(Get-ChildItem -LiteralPath $lxssPath)) {
        $p = Get-ItemProperty -LiteralPath $key.PSPath
        if ($null -eq $p.PSObject.Properties['DistributionName']) {
            continue
        }
        $vhdName = 'ext4.vhdx'
        if ($null -ne $p.PSObject.Properties['VhdFileName']) {
            $vhdName = [string]$p.VhdFileName
        }
        $flags = 0
        if ($null -ne $p.PSObject.Properties['Flags']) {
            $flags = [int]$p.Flags
        }
        $base = [string]$p.BasePath
        $plain = $base
        if ($plain.StartsWith('\\?\')) {
            $plain = $plain.Substring(4)
        }
        # A.5: WSL2 keeps BasePath\VhdFileName, WSL1 a rootfs directory. [IO.Path]::Combine, not
        # Join-Path: Join-Path resolves the drive and throws "Cannot find drive" when BasePath is
        # on a drive that is not mounted (PowerShell/PowerShell#4386), which would fail the whole
        # read for one stale registration. No BasePath (a half-registered distro) means no VHD.
        $vhdPath = $null
        $vhdExists = $false
        if ($plain) {
            $vhdChild = 'rootfs'
            if ($flags -band 8) {
                $vhdChild = $vhdName
            }
            try {
                $vhdPath = [System.IO.Path]::Combine($plain, $vhdChild)
                $vhdExists = Test-Path -LiteralPath $vhdPath
            }
            catch {
                # Characters a path cannot hold: reported as a missing VHD, never as a failed read.
                $vhdExists = $false
            }
        }
        $vhdSize = $null
        if ($vhdExists -and ($flags -band 8)) {
            $vhdSize = (Get-Item -LiteralPath $vhdPath).Length
        }
        $uid = 0
        if ($null -ne $p.PSObject.Properties['DefaultUid']) {
            $uid = [int]$p.DefaultUid
        }
        $st = 1
        if ($null -ne $p.PSObject.Properties['State']) {
            $st = [int]$p.State
        }
        $ver = $null
        if ($null -ne $p.PSObject.Properties['Version']) {
            $ver = [int]$p.Version
        }
        $null = $distros.Add([ordered]@{
                guid          = $key.PSChildName
                name          = [string]$p.DistributionName
                base_path     = $base
                vhd_file_name = $vhdName
                flags         = $flags
                default_uid   = $uid
                state         = $st
                version       = $ver
                vhd_path      = $vhdPath
                vhd_exists    = [bool]$vhdExists
                vhd_size      = $vhdSize
            })
    }
}
$result['distros'] = @($distros)

$wslExe = Join-Path $env:ProgramFiles 'WSL\wsl.exe'
if (-not (Test-Path -LiteralPath $wslExe)) {
    $wslExe = Join-Path $env:SystemRoot 'System32\wsl.exe'
}
if ($distros.Count -gt 0 -and (Test-Path -LiteralPath $wslExe)) {
    $result['list'] = Invoke-WinfraWsl -Exe $wslExe -Arguments '--list --verbose'
}

$configPath = Join-Path $env:USERPROFILE '.wslconfig'
$config = [ordered]@{ path = $configPath; exists = $false; content = $null; bom = $false }
if (Test-Path -LiteralPath $configPath -PathType Leaf) {
    $bytes = [System.IO.File]::ReadAllBytes($configPath)
    $config['exists'] = $true
    $config['bom'] = ($bytes.Length -ge 3 -and $bytes[0] -eq 0xEF -and $bytes[1] -eq 0xBB -and $bytes[2] -eq 0xBF)
    $config['content'] = (New-Object System.Text.UTF8Encoding -ArgumentList $false).GetString($bytes).TrimStart([char]0xFEFF)
}
$result['wslconfig'] = $config

$journalDir = Join-Path $env:LOCALAPPDATA 'winfra'
$journals = New-Object System.Collections.ArrayList
if (Test-Path -LiteralPath $journalDir) {
    foreach ($file in @(Get-ChildItem -LiteralPath $journalDir -Filter 'wsl-relocate-*.json' -File)) {
        $null = $journals.Add((ConvertFrom-Json -InputObject ([System.IO.File]::ReadAllText($file.FullName))))
    }
}
$result['journals'] = @($journals)

ConvertTo-Json -InputObject $result -Compress -Depth 6
