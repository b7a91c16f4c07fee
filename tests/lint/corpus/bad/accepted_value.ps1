# expect: accepted-value 2 Out-File
'x' | Out-File -FilePath 'C:\x.txt' -Encoding utf16
