# expect: unknown-parameter 3 Enable-WindowsOptionalFeature
$p = @{ Online = $true; FeatureName = 'Containers'; NoReboot = $true }
Enable-WindowsOptionalFeature @p
