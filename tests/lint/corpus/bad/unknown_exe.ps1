# expect: unknown-command 2 sc.exe
sc.exe config docker start= auto
