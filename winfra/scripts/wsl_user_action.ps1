<#
.SYNOPSIS
    Change one user's WSL settings: default version, .wslconfig, shutdown, a distro's WSL version.

.DESCRIPTION
    JSON contract. Runs AS the target user (winfra.runas, _su_user), or as the WinRM user when
    that is the target user.
    Input: {"user": "<expected user>", "action": "<action>", ...}
      set_default_version  {"version": 1|2}
      write_config         {"content": "<.wslconfig text>", "shutdown": bool}
      shutdown             {}
      set_version          {"name": "<distro>", "version": 1|2, "margin_bytes": N}
    Output: {"action": "...", "changed": bool, "steps": [{"step", "exit_code", "error_code"}], ...}
      write_config adds "path" and "shutdown" (whether wsl --shutdown ran).
    wsl.exe failures throw (exit 1) naming the `Wsl/...` error code.

.NOTES
    winfra-mode: write
    --set-default-version writes HKCU Lxss DefaultVersion (windows-facts A.1, A.5).
    .wslconfig: %UserProfile%\.wslconfig of the user running WSL, UTF-8 (A.8); written without BOM
    through a temp file and a rename (docs/ARCHITECTURE.md). It takes effect after
    `wsl --shutdown`, which also stops Docker Desktop's distros (A.8, B.6).
    --set-version <d> 2 converts a WSL1 rootfs into a VHD in BasePath (A.1, A.5): free space of
    at least the rootfs size is checked first.
    wsl.exe: C:\Program Files\WSL\wsl.exe when present (A.7), WSL_UTF8=1 with a UTF-16LE check
    (A.4), errors on stdout with exit -1 and only the `Wsl/...` code read (A.2).
#>
[CmdletBinding()]
param(
    [Parameter(Mandatory = $true)][string]$InputJson
)
$ErrorActionPreference = 'Stop'
$in = ConvertFrom-Json -InputObject $InputJson

$script:steps = New-Object System.Collections.ArrayList
$wslExe = Join-Path $env:ProgramFiles 'WSL\wsl.exe'
if (-not (Test-Path -LiteralPath $wslExe)) {
    $wslExe = Join-Path $env:SystemRoot 'System32\wsl.exe'
}

function Invoke-WinfraWsl {
    param(
        [Parameter(Mandatory = $true)][string]$Step,
        [Parameter(Mandatory = $true)][string[]]$Arguments
    )
    $psi = New-Object System.Diagnostics.ProcessStartInfo
    $psi.FileName = $wslExe
    $psi.Arguments = ($Arguments -join ' ')
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
    $code = $null
    $m = [regex]::Match($text, '(?m)(Wsl/[A-Za-z0-9_./-]+)\s*$')
    if ($m.Success) {
        $code = $m.Groups[1].Value
    }
    $null = $script:steps.Add([ordered]@{ step = $Step; exit_code = $proc.ExitCode; error_code = $code })
    if ($proc.ExitCode -ne 0) {
        throw "winfra: wsl.exe $($Arguments[0]) failed for $env:USERNAME (exit $($proc.ExitCode), $code)."
    }
}

$identity = [System.Security.Principal.WindowsIdentity]::GetCurrent()
if ($identity.User.Value -eq 'S-1-5-18') {
    throw 'winfra: refusing to run WSL as LocalSystem (unsupported, microsoft/WSL#11280).'
}
$expected = [string]$in.user
if ($expected -and $identity.Name.Split('\')[-1] -ne $expected.Split('\')[-1].Split('@')[0]) {
    throw "winfra: this script runs as '$($identity.Name)', not as the target user '$expected'."
}

$result = [ordered]@{ action = [string]$in.action; changed = $false; steps = $script:steps }
$lxssPath = 'HKCU:\Software\Microsoft\Windows\CurrentVersion\Lxss'
switch ([string]$in.action) {
    'set_default_version' {
        $version = [int]$in.version
        $current = $null
        if (Test-Path -LiteralPath $lxssPath) {
            $lxss = Get-ItemProperty -LiteralPath $lxssPath
            if ($null -ne $lxss.PSObject.Properties['DefaultVersion']) {
                $current = [int]$lxss.DefaultVersion
            }
        }
        if ($current -ne $version) {
            Invoke-WinfraWsl -Step 'wsl:set_default_version' -Arguments @('--set-default-version', [string]$version)
            $result['changed'] = $true
        }
    }
    'write_config' {
        $path = Join-Path $env:USERPROFILE '.wslconfig'
        $text = [string]$in.content
        $utf8 = New-Object System.Text.UTF8Encoding -ArgumentList $false
        # Compare bytes, not strings: PowerShell's -ne on strings ignores case (about_Comparison_Operators),
        # so a change of case only ("memory=4gb" -> "4GB", a path) would never be written; and
        # ReadAllText strips a BOM, so a file that differs only by its BOM would keep it although the
        # controller asks for this rewrite to remove it (winfra.operations.wsl.config).
        $same = $false
        if (Test-Path -LiteralPath $path -PathType Leaf) {
            $oldBytes = [System.IO.File]::ReadAllBytes($path)
            $same = [Convert]::ToBase64String($oldBytes) -ceq [Convert]::ToBase64String($utf8.GetBytes($text))
        }
        $result['path'] = $path
        $result['shutdown'] = $false
        if (-not $same) {
            $tmp = $path + '.winfra-tmp'
            [System.IO.File]::WriteAllText($tmp, $text, $utf8)
            Move-Item -LiteralPath $tmp -Destination $path -Force
            $result['changed'] = $true
            if ($in.shutdown) {
                Invoke-WinfraWsl -Step 'wsl:shutdown' -Arguments @('--shutdown')
                $result['shutdown'] = $true
            }
        }
    }
    'shutdown' {
        Invoke-WinfraWsl -Step 'wsl:shutdown' -Arguments @('--shutdown')
        $result['changed'] = $true
    }
    'set_version' {
        $name = [string]$in.name
        if ($name -notmatch '^[A-Za-z0-9._-]+$') {
            throw "winfra: '$name' is not a WSL distro name."
        }
        $version = [int]$in.version
        $key = $null
        if (Test-Path -LiteralPath $lxssPath) {
            foreach ($k in @(Get-ChildItem -LiteralPath $lxssPath)) {
                $p = Get-ItemProperty -LiteralPath $k.PSPath
                if ($null -ne $p.PSObject.Properties['DistributionName'] -and [string]$p.DistributionName -eq $name) {
                    $key = $p
                }
            }
        }
        if ($null -eq $key) {
            throw "winfra: there is no WSL distro named '$name' for $env:USERNAME."
        }
        $isTwo = [bool]([int]$key.Flags -band 8)
        $current = 1
        if ($isTwo) {
            $current = 2
        }
        if ($current -ne $version) {
            $base = [string]$key.BasePath
            if ($base.StartsWith('\\?\')) {
                $base = $base.Substring(4)
            }
            $size = [long]0
            $src = Join-Path $base 'rootfs'
            if ($isTwo) {
                $src = Join-Path $base ([string]$key.VhdFileName)
            }
            foreach ($f in @(Get-ChildItem -LiteralPath $src -Recurse -File -Force -ErrorAction SilentlyContinue)) {
                $size = $size + $f.Length
            }
            if (Test-Path -LiteralPath $src -PathType Leaf) {
                $size = (Get-Item -LiteralPath $src).Length
            }
            $margin = [long]1073741824
            if ($null -ne $in.margin_bytes) {
                $margin = [long]$in.margin_bytes
            }
            $free = (Get-PSDrive -Name $base.Substring(0, 1) -PSProvider FileSystem).Free
            if ($free -lt ($size + $margin)) {
                throw "winfra: not enough free space on $($base.Substring(0, 2)) to convert '$name' to WSL$($version): need $($size + $margin) bytes, have $free. Free space first; nothing was changed."
            }
            Invoke-WinfraWsl -Step 'wsl:set_version' -Arguments @('--set-version', $name, [string]$version)
            $result['changed'] = $true
        }
    }
    default {
        throw "winfra: unknown action '$($in.action)'."
    }
}
ConvertTo-Json -InputObject $result -Compress -Depth 6
