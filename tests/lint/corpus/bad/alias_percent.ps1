# expect: alias 2 %
$names = Get-Service | % { $_.Name }
