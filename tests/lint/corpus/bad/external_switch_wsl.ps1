# expect: external-switch 2 wsl.exe
wsl.exe --install --no-distro
