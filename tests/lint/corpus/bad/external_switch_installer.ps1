# expect: external-switch 3 Docker Desktop Installer.exe
$installer = Join-Path -Path $env:TEMP -ChildPath 'Docker Desktop Installer.exe'
Start-Process -FilePath $installer -ArgumentList 'install', '--quiet', '--accept-licence' -Wait
