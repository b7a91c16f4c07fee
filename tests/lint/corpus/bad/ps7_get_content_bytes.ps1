# expect: ps7-only 2 Get-Content
$bytes = Get-Content -LiteralPath $path -AsByteStream -Raw
