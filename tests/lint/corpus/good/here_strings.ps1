# Here-strings, the -f operator and an ASCII file written with an explicit encoding.
[CmdletBinding()]
param(
    [Parameter(Mandatory = $true)][string]$InputJson
)
$ErrorActionPreference = 'Stop'
$in = ConvertFrom-Json -InputObject $InputJson
$template = @'
[wsl2]
memory={0}
processors={1}
'@
$note = @"
Generated for $($in.user) on $(Get-Date -Format 'yyyy-MM-dd').
"@
$text = $template -f $in.memory, $in.processors
$path = Join-Path -Path $env:TEMP -ChildPath 'winfra-note.txt'
$note | Out-File -FilePath $path -Encoding ascii
Add-Content -Path $path -Value $text -Encoding ascii
Set-Content -LiteralPath "$path.bak" -Value $text -Encoding ascii -NoNewline
switch ($in.mode) {
    'strict' { $level = 2 }
    'loose' { $level = 1 }
    default { $level = 0 }
}
ConvertTo-Json -InputObject @{ level = $level; length = $text.Length } -Compress
