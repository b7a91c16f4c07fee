# expect: switch-value 2 Restart-Computer
Restart-Computer -Force:'yes'
