# expect: unknown-parameter 2 Get-ChildItem
Get-ChildItem -Path $env:TEMP -Recursive
