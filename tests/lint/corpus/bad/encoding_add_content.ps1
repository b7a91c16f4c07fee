# expect: encoding 2 Add-Content
Add-Content -Path $log -Value 'step done'
