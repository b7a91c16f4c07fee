# expect: parameter-set 2 Get-CimInstance
Get-CimInstance -ClassName Win32_Service -Query "SELECT * FROM Win32_Service"
