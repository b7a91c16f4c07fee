# expect: external-switch 2 shutdown.exe
shutdown.exe /r /t 0 /force
