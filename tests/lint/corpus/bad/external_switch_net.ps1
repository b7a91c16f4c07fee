# expect: external-switch 2 net.exe
net.exe localgroups docker-users bob /add
