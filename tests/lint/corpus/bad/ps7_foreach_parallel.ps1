# expect: ps7-only 3 ForEach-Object
# expect: ps7-only 3 ForEach-Object
$results = $names | ForEach-Object -Parallel { $_.Length } -ThrottleLimit 4
