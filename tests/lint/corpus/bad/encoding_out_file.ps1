# expect: encoding 2 Out-File
$json | Out-File -FilePath 'C:\ProgramData\docker\config\daemon.json'
