<#
.SYNOPSIS
    Write the file arriving on stdin to a path atomically, verifying its SHA-256.
.DESCRIPTION
    Input: {"path": absolute destination, "sha256": expected hex, "size": bytes}.
    Stdin: the file as base64 lines, written to a temp file next to the destination and hashed
    as they arrive. On a match the temp file replaces the destination; otherwise it is deleted
    and the script fails. Output: {"path", "sha256", "size"}.
.NOTES
    winfra-mode: write
    Direct -EncodedCommand, stdin carries the data (anchors-and-winrm.md 1.3). File.Replace:
    https://learn.microsoft.com/dotnet/api/system.io.file.replace
#>
[CmdletBinding()]
param(
    [Parameter(Mandatory = $true)][string]$InputJson
)
$ErrorActionPreference = 'Stop'
$in = ConvertFrom-Json -InputObject $InputJson
$path = [IO.Path]::GetFullPath($in.path)
$dir = [IO.Path]::GetDirectoryName($path)
if (-not [IO.Directory]::Exists($dir)) {
    throw "Cannot upload to '$path': the directory '$dir' does not exist."
}
$tmp = [IO.Path]::Combine($dir, '.' + [IO.Path]::GetFileName($path) + '.' + [guid]::NewGuid().ToString('N') + '.tmp')
$sha = [Security.Cryptography.SHA256]::Create()
$size = [long]0
$fs = New-Object -TypeName IO.FileStream -ArgumentList $tmp, 'CreateNew', 'Write', 'None'
try {
    try {
        while ($null -ne ($line = [Console]::In.ReadLine())) {
            if ($line.Length -gt 0) {
                $b = [Convert]::FromBase64String($line)
                $null = $sha.TransformBlock($b, 0, $b.Length, $null, 0)
                $fs.Write($b, 0, $b.Length)
                $size += $b.Length
            }
        }
        $null = $sha.TransformFinalBlock([byte[]]@(), 0, 0)
    } finally {
        $fs.Dispose()
    }
    $hash = [BitConverter]::ToString($sha.Hash).Replace('-', '').ToLowerInvariant()
    if ($hash -ne $in.sha256 -or $size -ne [long]$in.size) {
        throw "SHA-256 mismatch for '$path': expected $($in.sha256) ($($in.size) bytes), got $hash ($size bytes)."
    }
    if ([IO.File]::Exists($path)) {
        # $null would arrive as "" (PowerShell#11515), an illegal backup path
        [IO.File]::Replace($tmp, $path, [NullString]::Value)
    } else {
        [IO.File]::Move($tmp, $path)
    }
} catch {
    if ([IO.File]::Exists($tmp)) {
        [IO.File]::Delete($tmp)
    }
    throw
}
ConvertTo-Json -InputObject ([ordered]@{ path = $path; sha256 = $hash; size = $size }) -Compress
