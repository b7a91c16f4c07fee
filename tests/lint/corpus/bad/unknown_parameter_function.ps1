# expect: unknown-parameter 8 Set-Thing
function Set-Thing {
    param(
        [string]$Name
    )
    $Name
}
Set-Thing -Nme 'x'
