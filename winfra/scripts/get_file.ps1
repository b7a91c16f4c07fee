<#
.SYNOPSIS
    Stream a file to stdout as base64 lines, then its SHA-256.
.DESCRIPTION
    Input: {"path": absolute path, "chunk_size": raw bytes per line}.
    Output: one base64 line per chunk of the file, then one JSON line
    {"path": full path, "sha256": hex, "size": bytes}. The file is read once, hashed as it
    streams; the client checks the hash of what it received against that line.
.NOTES
    winfra-mode: read
    One powershell.exe per file instead of one per 512 KiB chunk as in Ansible's fetch
    (anchors-and-winrm.md 1.3). Lines go through [Console]::Out so the JSON line comes last.
#>
[CmdletBinding()]
param(
    [Parameter(Mandatory = $true)][string]$InputJson
)
$ErrorActionPreference = 'Stop'
$in = ConvertFrom-Json -InputObject $InputJson
$chunk = [int]$in.chunk_size
if ($chunk -lt 3) {
    throw "chunk_size must be at least 3, got $chunk."
}
$path = [System.IO.Path]::GetFullPath($in.path)
$sha = [System.Security.Cryptography.SHA256]::Create()
$buffer = New-Object -TypeName byte[] -ArgumentList $chunk
$size = [long]0
$out = [Console]::Out
# Share ReadWrite: files open for writing elsewhere (logs) stay readable, as with Get-Content
$fs = New-Object -TypeName System.IO.FileStream -ArgumentList $path, 'Open', 'Read', 'ReadWrite'
try {
    while (($n = $fs.Read($buffer, 0, $chunk)) -gt 0) {
        $null = $sha.TransformBlock($buffer, 0, $n, $null, 0)
        $out.WriteLine([System.Convert]::ToBase64String($buffer, 0, $n))
        $size += $n
    }
    $null = $sha.TransformFinalBlock($buffer, 0, 0)
} finally {
    $fs.Dispose()
}
$hash = [System.BitConverter]::ToString($sha.Hash).Replace('-', '').ToLowerInvariant()
$out.WriteLine((ConvertTo-Json -InputObject ([ordered]@{ path = $path; sha256 = $hash; size = $size }) -Compress))
