# expect: ps7-only 2 &&
wsl.exe --update && wsl.exe --shutdown
