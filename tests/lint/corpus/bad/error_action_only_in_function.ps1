# expect: error-action 1 $ErrorActionPreference
# lint-contract: json
function Invoke-Step {
    $ErrorActionPreference = 'Stop'
    Get-Item -LiteralPath 'C:\x'
}
Invoke-Step
