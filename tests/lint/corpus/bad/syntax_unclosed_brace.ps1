# expect: syntax 3 -
if ($true) {
    Get-Item -Path 'C:\x'
