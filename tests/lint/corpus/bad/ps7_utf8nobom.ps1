# expect: ps7-only 2 Set-Content
Set-Content -LiteralPath $path -Value $json -Encoding utf8NoBOM
