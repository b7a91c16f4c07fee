# expect: unknown-command 2 Get-Frobnicator
Get-Frobnicator -Name 'x'
