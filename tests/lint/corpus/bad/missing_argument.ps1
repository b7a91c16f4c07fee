# expect: missing-argument 2 Get-Item
Get-Item -LiteralPath -Force
