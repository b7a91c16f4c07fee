# expect: ambiguous-parameter 2 Get-ChildItem
Get-ChildItem -Path $env:TEMP -F
