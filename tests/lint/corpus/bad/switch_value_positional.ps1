# expect: switch-value 2 Remove-Item
Remove-Item -Path $dir -Recurse $true
