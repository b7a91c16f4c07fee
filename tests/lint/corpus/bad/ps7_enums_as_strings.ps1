# expect: ps7-only 2 ConvertTo-Json
ConvertTo-Json -InputObject $state -Compress -EnumsAsStrings
