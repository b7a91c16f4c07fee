# expect: encoding 2 Set-Content
Set-Content -LiteralPath 'C:\ProgramData\docker\config\daemon.json' -Value $json
