<#
.SYNOPSIS
    Fetch an installer into winfra's cache on the host and verify its SHA-256.

.DESCRIPTION
    JSON contract.
    Input:
      kind              "https" (download on the host), "unc" (copy from a share), "staged"
                        (a file the controller uploaded next to dest; it is verified and moved)
                        or "prepare" (only create dest's directory, before an upload)
      source            the https URL, the UNC path, or the staged file's path
      dest              the cache path, e.g. C:\ProgramData\winfra\cache\<sha256>\<name>
      sha256            expected SHA-256 (hex, any case), or null when allow_unverified
      allow_unverified  true to accept a file without a checksum (never reused from the cache)
    Output: {"path": dest, "sha256": "<lower hex>", "size": <bytes>,
             "action": "cached"|"downloaded"|"copied"|"uploaded"|"prepared"}
    A file already in the cache with the expected hash is reused without any transfer. A cached
    file with another hash is deleted and fetched again. A fetched file whose hash differs is
    deleted and the script fails with "checksum mismatch".

.NOTES
    winfra-mode: write
    Sources:
    * Windows PowerShell 5.1 negotiates TLS 1.0/1.1 by default on .NET Framework 4.x; TLS 1.2 must
      be enabled through ServicePointManager.SecurityProtocol:
      https://learn.microsoft.com/dotnet/framework/network-programming/tls
    * Invoke-WebRequest -UseBasicParsing avoids the Internet Explorer engine (absent on Server
      Core and in non-interactive sessions); the progress bar slows downloads by orders of
      magnitude, so $ProgressPreference is SilentlyContinue:
      https://learn.microsoft.com/powershell/module/microsoft.powershell.utility/invoke-webrequest?view=powershell-5.1
      and shared/reference/anchors-and-winrm.md 2.3 (install-docker-ce suppresses progress).
    * Get-FileHash -Algorithm SHA256 prints upper-case hex:
      https://learn.microsoft.com/powershell/module/microsoft.powershell.utility/get-filehash?view=powershell-5.1
    * Checksum-gated, cached downloads: shared/reference/anchors-and-winrm.md section 5 "Adopt" 5.
    * The second hop: a WinRM (NTLM or plain Kerberos) session has no credentials for a file server
      (https://learn.microsoft.com/powershell/scripting/security/remoting/ps-remoting-second-hop).
#>
[CmdletBinding()]
param(
    [Parameter(Mandatory = $true)][string]$InputJson
)
$ErrorActionPreference = 'Stop'
$in = ConvertFrom-Json -InputObject $InputJson

$dest = [string]$in.dest
$expected = $null
if ($in.sha256) {
    $expected = ([string]$in.sha256).ToLowerInvariant()
}
if ($in.kind -eq 'prepare') {
    # Before an upload: put_file needs the destination directory to exist.
    $prepareDir = Split-Path -Path $dest -Parent
    if (-not (Test-Path -LiteralPath $prepareDir -PathType Container)) {
        $null = New-Item -ItemType Directory -Path $prepareDir -Force
    }
    $result = [ordered]@{ path = $dest; sha256 = $null; size = $null; action = 'prepared' }
    ConvertTo-Json -InputObject $result -Compress -Depth 6
    return
}
if ((-not $expected) -and (-not $in.allow_unverified)) {
    throw "acquire_file: no sha256 for $($in.source) and allow_unverified is not set"
}

function Get-Sha256 {
    param(
        [string]$Path
    )
    return (Get-FileHash -LiteralPath $Path -Algorithm SHA256).Hash.ToLowerInvariant()
}

$dir = Split-Path -Path $dest -Parent
if (-not (Test-Path -LiteralPath $dir -PathType Container)) {
    $null = New-Item -ItemType Directory -Path $dir -Force
}

if ($expected -and (Test-Path -LiteralPath $dest -PathType Leaf)) {
    $have = Get-Sha256 -Path $dest
    if ($have -eq $expected) {
        if ($in.kind -eq 'staged') {
            Remove-Item -LiteralPath ([string]$in.source) -Force -ErrorAction SilentlyContinue
        }
        $size = (Get-Item -LiteralPath $dest).Length
        $result = [ordered]@{ path = $dest; sha256 = $have; size = $size; action = 'cached' }
        ConvertTo-Json -InputObject $result -Compress -Depth 6
        return
    }
    # A cached file with the wrong hash is corrupt or was tampered with: never reuse it.
    Remove-Item -LiteralPath $dest -Force
}

$tmp = $dest + '.partial'
if (Test-Path -LiteralPath $tmp) {
    Remove-Item -LiteralPath $tmp -Force
}
$action = ''
switch ([string]$in.kind)
{
    'https' {
        [Net.ServicePointManager]::SecurityProtocol = [Net.ServicePointManager]::SecurityProtocol -bor [Net.SecurityProtocolType]::Tls12
        $ProgressPreference = 'SilentlyContinue'
        Invoke-WebRequest -UseBasicParsing -Uri ([string]$in.source) -OutFile $tmp
        $action = 'downloaded'
    }
    'unc' {
        try {
            Copy-Item -LiteralPath ([string]$in.source) -Destination $tmp -Force
        } catch {
            # A WinRM logon cannot pass the caller's credentials on to a file server (the "second
            # hop"), so a share readable by the user interactively may be unreadable here.
            throw "$($_.Exception.Message) (copying from a share in a WinRM session is a second hop: the share must be readable without your credentials, e.g. by the computer account or Everyone, or use CredSSP/Kerberos delegation, an https mirror or a controller-side file)"
        }
        $action = 'copied'
    }
    'staged' {
        Move-Item -LiteralPath ([string]$in.source) -Destination $tmp -Force
        $action = 'uploaded'
    }
    default {
        throw "acquire_file: unknown source kind '$($in.kind)'"
    }
}

$actual = Get-Sha256 -Path $tmp
if ($expected -and ($actual -ne $expected)) {
    Remove-Item -LiteralPath $tmp -Force
    throw "checksum mismatch for $($in.source): expected sha256 $expected, got $actual; the downloaded file was deleted"
}
Move-Item -LiteralPath $tmp -Destination $dest -Force
$size = (Get-Item -LiteralPath $dest).Length
$result = [ordered]@{ path = $dest; sha256 = $actual; size = $size; action = $action }
ConvertTo-Json -InputObject $result -Compress -Depth 6
