# expect: external-switch 3 dockerd.exe
$dockerd = Join-Path -Path $env:ProgramFiles -ChildPath 'Docker\dockerd.exe'
& $dockerd --register-service --servicename docker
