# expect: ps7-only 2 ConvertFrom-Json
$in = ConvertFrom-Json -InputObject $InputJson -AsHashtable
