# expect: external-switch 2 dism.exe
dism.exe /Online /Enable-Feature /FeatureName:Containers /Reboot
