# expect: ps7-only 2 Set-Content
Set-Content -LiteralPath $path -Value $bytes -AsByteStream
