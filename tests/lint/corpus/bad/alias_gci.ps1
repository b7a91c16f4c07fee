# expect: alias 2 gci
$items = gci -Path $env:TEMP
