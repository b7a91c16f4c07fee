#Requires -Version 5.1
#Requires -RunAsAdministrator
<#
.SYNOPSIS
Prepares a Windows host for winfra: an HTTPS WinRM listener (TCP 5986) with a trusted
certificate, a firewall rule, Basic auth and unencrypted traffic switched off.

.DESCRIPTION
Run this once on every host winfra manages, by hand in an elevated Windows PowerShell 5.1, or as a
Group Policy computer startup script. It is idempotent: every step first reads the current state
(Get-Service, Get-ChildItem Cert:/WSMan:, Get-NetFirewallRule, Get-ItemProperty) and changes
only what differs, so running it again reports "no change" and touches nothing. -WhatIf shows
what it would change.

Steps:
  1. The WinRM service is set to start automatically and is started.
  2. Certificate: the one named by -CertificateThumbprint (it must be in Cert:\LocalMachine\My
     with a private key), else the certificate of an existing HTTPS listener when still valid,
     else a valid self-signed certificate this script created earlier (FriendlyName
     "winfra WinRM HTTPS"), else a new self-signed one from New-SelfSignedCertificate for
     -DnsName.
  3. The HTTPS listener on all addresses (-Address *) uses that certificate: created with
     New-Item WSMan:\localhost\Listener when absent, its CertificateThumbprint updated when it
     points at another certificate.
  4. WinRM service settings Auth\Basic and AllowUnencrypted are set to false explicitly.
     winfra authenticates with NTLM or Kerberos over HTTPS; Basic sends the password in every
     request and unencrypted WinRM exposes the commands (anchors-and-winrm.md 3.5).
  5. An inbound firewall rule "winfra-WinRM-HTTPS-In" for TCP -Port is added when no rule with
     that name exists.
  6. Optional (-EnableLocalAccountTokenFilterPolicy): LocalAccountTokenFilterPolicy = 1.
  7. The certificate's public part is written in PEM (Base64) form to -ExportPath. Copy that file
     to the controller and set host data winrm_ca_trust_path to it, so winfra validates the
     host's certificate (winrm_cert_validation: validate, the default).

The HTTP listener (5985), if one exists, is left alone: remove it yourself once HTTPS works
(Remove-Item WSMan:\localhost\Listener\<name> -Recurse).

Output: one object with Thumbprint, NotAfter, DnsNames, ListenerPort, ExportPath and Changes
(the list of changes made; empty when the host was already configured).

.PARAMETER DnsName
Names the self-signed certificate is issued for (its Subject Alternative Names). Use the names
winfra connects to (the name after @winrm/ in the inventory, or winrm_hostname). Default: the
computer name and, when the host is in a domain, its FQDN. Ignored with -CertificateThumbprint.

.PARAMETER CertificateThumbprint
Use this existing certificate (for example one issued by your CA) instead of a self-signed one.
It must be in Cert:\LocalMachine\My, have a private key and not be expired.

.PARAMETER Port
TCP port of the HTTPS listener and of the firewall rule. Default 5986, the WinRM HTTPS port.

.PARAMETER ExportPath
Where to write the certificate's public part (PEM). Default: winfra-winrm-<COMPUTERNAME>.cer in
the current directory. The file holds no private key.

.PARAMETER ValidityYears
Lifetime of a new self-signed certificate, in years (default 5).

.PARAMETER FirewallRemoteAddress
Remote addresses allowed by the firewall rule (default Any). Restrict it to your controller, for
example 10.0.0.5 or 10.0.0.0/24. Only used when the rule is created.

.PARAMETER FirewallProfile
Firewall profiles of the rule: Any (default), or a list such as Domain, Private. Only used when
the rule is created.

.PARAMETER EnableLocalAccountTokenFilterPolicy
Set HKLM\SOFTWARE\Microsoft\Windows\CurrentVersion\Policies\System\LocalAccountTokenFilterPolicy
to 1. Needed only when winfra connects with a LOCAL (non-domain) account that is a member of
Administrators but is not the built-in Administrator: by default UAC gives such an account a
filtered, non-elevated token over the network, and DISM, feature installs and service changes
fail with "access denied". Domain accounts in Administrators and the built-in Administrator
(RID 500) get a full token without it.
SECURITY TRADE-OFF: with the value at 1, every local administrator account becomes usable as a
full administrator from the network. A stolen local admin password or NTLM hash is then enough
to take over the machine remotely, which is how attackers move laterally between machines that
share a local admin password. Prefer a domain account, or the built-in Administrator with a
unique password per machine (Windows LAPS), and use this switch only in a lab.
Sources: https://learn.microsoft.com/windows/win32/wmisdk/user-account-control-and-wmi and
https://learn.microsoft.com/windows/win32/winrm/authentication-for-remote-connections
(windows-facts.md A.7).

.EXAMPLE
PS C:\> .\Enable-WinfraRemoting.ps1
Creates (or reuses) a self-signed certificate for this computer's names, the HTTPS listener on
5986 and the firewall rule, and writes .\winfra-winrm-<COMPUTERNAME>.cer.

.EXAMPLE
PS C:\> .\Enable-WinfraRemoting.ps1 -DnsName dev1.example.lab, dev1 -ExportPath \\fileserver\winfra\dev1.cer -FirewallRemoteAddress 10.0.0.5
Issues the certificate for the names winfra uses, publishes its public part on a share, and
allows WinRM/HTTPS only from the controller at 10.0.0.5.

.EXAMPLE
PS C:\> .\Enable-WinfraRemoting.ps1 -CertificateThumbprint 0123456789ABCDEF0123456789ABCDEF01234567
Uses a certificate from your CA (already in Cert:\LocalMachine\My). With a CA certificate the
controller can trust your CA instead of each host's file.

.EXAMPLE
PS C:\> .\Enable-WinfraRemoting.ps1 -EnableLocalAccountTokenFilterPolicy -WhatIf
Shows what would change, including the UAC remote-restriction opt-out, without changing anything.

.NOTES
Windows PowerShell 5.1, elevated. Not run by winfra itself (it is not one of the JSON-contract
scripts in winfra/scripts/). Sources:
  * Listener, quickconfig and firewall: Microsoft Learn "Installation and configuration for
    Windows Remote Management"
    https://learn.microsoft.com/windows/win32/winrm/installation-and-configuration-for-windows-remote-management
    (no listener exists by default; winrm quickconfig -transport:https creates one; listeners
    live under winrm/config/Listener, i.e. WSMan:\localhost\Listener).
  * New-Item WSMan:\localhost\Listener dynamic parameters Address, Transport, CertificateThumbPrint,
    HostName, Port, Enabled: Microsoft.WSMan.Management.WSManProvidersListenerParameters
    https://learn.microsoft.com/dotnet/api/microsoft.wsman.management.wsmanproviderslistenerparameters
    and about_WSMan_Provider
    https://learn.microsoft.com/powershell/module/microsoft.wsman.management/about/about_wsman_provider
  * New-SelfSignedCertificate -CertStoreLocation Cert:\LocalMachine\My -DnsName:
    https://learn.microsoft.com/powershell/module/pki/new-selfsignedcertificate
  * Service Auth\Basic and AllowUnencrypted: [MS-WSMV] 3.1.4.1.29.2 (config/service/auth)
    https://learn.microsoft.com/openspecs/windows_protocols/ms-wsmv/a1e78297-ed05-483f-ae6c-289abcfed306
    and the Ansible WinRM guide (anchors-and-winrm.md 3.5: use NTLM/Kerberos over HTTPS, keep
    Basic and unencrypted off).
  * New-NetFirewallRule / Get-NetFirewallRule -Name:
    https://learn.microsoft.com/powershell/module/netsecurity/new-netfirewallrule
  * LocalAccountTokenFilterPolicy: windows-facts.md A.7.
#>
[CmdletBinding(SupportsShouldProcess = $true)]
param(
    [string[]]$DnsName,
    [string]$CertificateThumbprint,
    [ValidateRange(1, 65535)]
    [int]$Port = 5986,
    [string]$ExportPath,
    [ValidateRange(1, 20)]
    [int]$ValidityYears = 5,
    [string[]]$FirewallRemoteAddress = @('Any'),
    [string[]]$FirewallProfile = @('Any'),
    [switch]$EnableLocalAccountTokenFilterPolicy
)

Set-StrictMode -Version Latest
$ErrorActionPreference = 'Stop'

$FriendlyName = 'winfra WinRM HTTPS'
$FirewallRuleName = 'winfra-WinRM-HTTPS-In'
$PolicyKey = 'HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\Policies\System'
$Changes = New-Object System.Collections.Generic.List[string]

function Get-DefaultDnsName {
    # The computer name, plus the FQDN when the host has a DNS domain (domain members).
    $names = New-Object System.Collections.Generic.List[string]
    $names.Add($env:COMPUTERNAME)
    $system = Get-CimInstance -ClassName Win32_ComputerSystem
    if ($system.PartOfDomain -and $system.Domain) {
        $names.Add(('{0}.{1}' -f $env:COMPUTERNAME, $system.Domain))
    }
    return , $names.ToArray()
}

function Test-UsableCertificate {
    param(
        $Certificate
    )
    # Usable for the listener: still valid for 30 days and has a private key (the listener
    # needs the key for TLS).
    if ($null -eq $Certificate) {
        return $false
    }
    return ($Certificate.HasPrivateKey -and $Certificate.NotAfter -gt (Get-Date).AddDays(30))
}

function Get-HttpsListener {
    # WSMan:\localhost\Listener\<Listener_NNN> items carry Keys such as 'Transport=HTTPS'.
    $found = @(Get-ChildItem -Path WSMan:\localhost\Listener | Where-Object { $_.Keys -contains 'Transport=HTTPS' })
    if ($found.Count -eq 0) {
        return $null
    }
    return $found[0]
}

function Get-ListenerSetting {
    param(
        [string]$ListenerName,
        [string]$Setting
    )
    $item = Get-ChildItem -Path ('WSMan:\localhost\Listener\{0}' -f $ListenerName) | Where-Object { $_.Name -eq $Setting }
    if ($null -eq $item) {
        return $null
    }
    return [string]$item.Value
}

function Set-ServiceSettingFalse {
    param(
        [string]$Path
    )
    if (-not $WsmanReadable) {
        # Only under -WhatIf (step 1 starts WinRM otherwise): the value cannot be read, so only
        # say what would run.
        $null = $PSCmdlet.ShouldProcess($Path, 'Set to false')
        $Changes.Add(('{0}: (unknown while WinRM is stopped) -> false' -f $Path))
        return
    }
    # WSMan leaf values are strings ("true"/"false"); only write when not already false.
    $current = [string](Get-Item -Path $Path).Value
    if ($current -ne 'false') {
        if ($PSCmdlet.ShouldProcess($Path, 'Set to false')) {
            Set-Item -Path $Path -Value $false -Force
        }
        $Changes.Add(('{0}: {1} -> false' -f $Path, $current))
    }
}

function ConvertTo-PemText {
    param(
        [byte[]]$Bytes
    )
    # PEM: Base64 in 64-character lines between BEGIN/END CERTIFICATE markers (RFC 7468).
    $base64 = [System.Convert]::ToBase64String($Bytes)
    $lines = New-Object System.Collections.Generic.List[string]
    $lines.Add('-----BEGIN CERTIFICATE-----')
    for ($i = 0; $i -lt $base64.Length; $i += 64) {
        $lines.Add($base64.Substring($i, [System.Math]::Min(64, $base64.Length - $i)))
    }
    $lines.Add('-----END CERTIFICATE-----')
    return (($lines.ToArray() -join "`n") + "`n")
}

# 1. WinRM service: automatic start, running.
$service = Get-Service -Name WinRM
if ($service.StartType -ne 'Automatic') {
    if ($PSCmdlet.ShouldProcess('WinRM service', 'Set startup type Automatic')) {
        Set-Service -Name WinRM -StartupType Automatic
    }
    $Changes.Add(('WinRM service startup type: {0} -> Automatic' -f $service.StartType.ToString()))
}
if ($service.Status -ne 'Running') {
    if ($PSCmdlet.ShouldProcess('WinRM service', 'Start')) {
        Start-Service -Name WinRM
    }
    $Changes.Add('WinRM service started')
}

# The WSMan: drive is served by the WinRM service: while it is stopped every read fails with
# 0x80338012 "The client cannot connect to the destination specified in the request"
# (microsoft/navcontainerhelper#3518, Azure/azure-devtestlab#402 on a clean Windows 10, where
# WinRM is not started by default). Step 1 starts it, except under -WhatIf: then there is no
# listener to read yet, and the WSMan: steps are reported as what would be done.
$WsmanReadable = ((Get-Service -Name WinRM).Status -eq 'Running')

# 2. The certificate.
if (-not $DnsName) {
    $DnsName = Get-DefaultDnsName
}
$listener = $null
if ($WsmanReadable) {
    $listener = Get-HttpsListener
}
$listenerThumbprint = $null
if ($null -ne $listener) {
    $listenerThumbprint = Get-ListenerSetting -ListenerName $listener.Name -Setting 'CertificateThumbprint'
}

$certificate = $null
if ($CertificateThumbprint) {
    $wanted = ($CertificateThumbprint -replace '[^0-9A-Fa-f]', '').ToUpperInvariant()
    $certificate = Get-ChildItem -Path Cert:\LocalMachine\My | Where-Object { $_.Thumbprint -eq $wanted } | Select-Object -First 1
    if (-not (Test-UsableCertificate -Certificate $certificate)) {
        throw ('Certificate {0} is not in Cert:\LocalMachine\My, has no private key, or expires within 30 days. Fix: import the certificate with its private key into the local machine store, or omit -CertificateThumbprint to use a self-signed one.' -f $wanted)
    }
}
if ($null -eq $certificate -and $listenerThumbprint) {
    $current = Get-ChildItem -Path Cert:\LocalMachine\My | Where-Object { $_.Thumbprint -eq $listenerThumbprint } | Select-Object -First 1
    if (Test-UsableCertificate -Certificate $current) {
        $certificate = $current
        Write-Verbose ('Reusing the HTTPS listener certificate {0}' -f $current.Thumbprint)
    }
}
if ($null -eq $certificate) {
    $previous = Get-ChildItem -Path Cert:\LocalMachine\My |
        Where-Object { $_.FriendlyName -eq $FriendlyName -and (Test-UsableCertificate -Certificate $_) } |
        Sort-Object -Property NotAfter -Descending |
        Select-Object -First 1
    if ($null -ne $previous) {
        $certificate = $previous
        Write-Verbose ('Reusing the winfra self-signed certificate {0}' -f $previous.Thumbprint)
    }
}
if ($null -eq $certificate) {
    if ($PSCmdlet.ShouldProcess(($DnsName -join ', '), 'Create a self-signed certificate in Cert:\LocalMachine\My')) {
        $certificate = New-SelfSignedCertificate -CertStoreLocation Cert:\LocalMachine\My -DnsName $DnsName -FriendlyName $FriendlyName -NotAfter (Get-Date).AddYears($ValidityYears)
    }
    $Changes.Add(('self-signed certificate created for {0}' -f ($DnsName -join ', ')))
}
$thumbprint = $null
if ($null -ne $certificate) {
    $thumbprint = $certificate.Thumbprint
}

# 3. The HTTPS listener.
if ($null -eq $listener) {
    if ($PSCmdlet.ShouldProcess(('WSMan:\localhost\Listener (HTTPS, port {0})' -f $Port), 'Create')) {
        New-Item -Path WSMan:\localhost\Listener -Transport HTTPS -Address * -CertificateThumbPrint $thumbprint -Port $Port -Force | Out-Null
    }
    $Changes.Add(('HTTPS listener created on port {0}' -f $Port))
}
else {
    if ($thumbprint -and $listenerThumbprint -ne $thumbprint) {
        $path = 'WSMan:\localhost\Listener\{0}\CertificateThumbprint' -f $listener.Name
        if ($PSCmdlet.ShouldProcess($path, ('Set to {0}' -f $thumbprint))) {
            Set-Item -Path $path -Value $thumbprint -Force
        }
        $Changes.Add(('HTTPS listener certificate: {0} -> {1}' -f $listenerThumbprint, $thumbprint))
    }
    $listenerPort = Get-ListenerSetting -ListenerName $listener.Name -Setting 'Port'
    if ($listenerPort -ne [string]$Port) {
        $path = 'WSMan:\localhost\Listener\{0}\Port' -f $listener.Name
        if ($PSCmdlet.ShouldProcess($path, ('Set to {0}' -f $Port))) {
            Set-Item -Path $path -Value $Port -Force
        }
        $Changes.Add(('HTTPS listener port: {0} -> {1}' -f $listenerPort, $Port))
    }
}

# 4. Basic auth and unencrypted traffic off (explicitly, whatever the current default).
Set-ServiceSettingFalse -Path WSMan:\localhost\Service\Auth\Basic
Set-ServiceSettingFalse -Path WSMan:\localhost\Service\AllowUnencrypted

# 5. Firewall rule, only when absent (an administrator's edits to it are kept).
$rule = Get-NetFirewallRule -Name $FirewallRuleName -ErrorAction SilentlyContinue
if ($null -eq $rule) {
    if ($PSCmdlet.ShouldProcess($FirewallRuleName, ('Allow inbound TCP {0}' -f $Port))) {
        New-NetFirewallRule -Name $FirewallRuleName -DisplayName ('winfra: Windows Remote Management (HTTPS-In, TCP {0})' -f $Port) -Direction Inbound -Protocol TCP -LocalPort $Port -Action Allow -Profile ($FirewallProfile -join ',') -RemoteAddress $FirewallRemoteAddress | Out-Null
    }
    $Changes.Add(('firewall rule {0} added for TCP {1}' -f $FirewallRuleName, $Port))
}

# 6. Optional UAC remote restriction opt-out for local administrator accounts.
if ($EnableLocalAccountTokenFilterPolicy) {
    $currentPolicy = $null
    $properties = Get-ItemProperty -Path $PolicyKey -ErrorAction SilentlyContinue
    if ($null -ne $properties -and ($properties.PSObject.Properties.Name -contains 'LocalAccountTokenFilterPolicy')) {
        $currentPolicy = $properties.LocalAccountTokenFilterPolicy
    }
    if ($currentPolicy -ne 1) {
        if ($PSCmdlet.ShouldProcess($PolicyKey, 'Set LocalAccountTokenFilterPolicy = 1 (DWORD)')) {
            New-ItemProperty -Path $PolicyKey -Name LocalAccountTokenFilterPolicy -PropertyType DWord -Value 1 -Force | Out-Null
        }
        $Changes.Add('LocalAccountTokenFilterPolicy set to 1 (local administrators get a full token over the network)')
    }
}

# 7. Export the public certificate (PEM) for the controller's winrm_ca_trust_path.
if (-not $ExportPath) {
    $ExportPath = Join-Path -Path (Get-Location).ProviderPath -ChildPath ('winfra-winrm-{0}.cer' -f $env:COMPUTERNAME)
}
if ($null -ne $certificate) {
    $pem = ConvertTo-PemText -Bytes $certificate.RawData
    $existing = $null
    if (Test-Path -LiteralPath $ExportPath -PathType Leaf) {
        $existing = [System.IO.File]::ReadAllText($ExportPath)
    }
    # -cne: -ne ignores case, and Base64 is case-sensitive.
    if ($existing -cne $pem) {
        if ($PSCmdlet.ShouldProcess($ExportPath, 'Write the public certificate (PEM)')) {
            # UTF-8 without BOM, written to a temporary file first, then moved into place.
            $tmp = '{0}.tmp-{1}' -f $ExportPath, [System.Guid]::NewGuid().ToString('N')
            [System.IO.File]::WriteAllText($tmp, $pem, (New-Object System.Text.UTF8Encoding $false))
            Move-Item -LiteralPath $tmp -Destination $ExportPath -Force
        }
        $Changes.Add(('public certificate written to {0}' -f $ExportPath))
    }
}

$summary = [PSCustomObject]@{
    Thumbprint   = $thumbprint
    NotAfter     = $(if ($null -ne $certificate) { $certificate.NotAfter } else { $null })
    DnsNames     = $(if ($null -ne $certificate) { @($certificate.DnsNameList | ForEach-Object { $_.Unicode }) } else { $DnsName })
    ListenerPort = $Port
    ExportPath   = $ExportPath
    Changes      = $Changes.ToArray()
}
Write-Output $summary
if ($Changes.Count -eq 0) {
    Write-Verbose 'No change: the host was already configured for winfra.'
}
