<#
.SYNOPSIS
    Move a WSL2 distro's VHD to another directory without losing data, resuming or rolling back
    an interrupted move.

.DESCRIPTION
    JSON contract. Runs AS the target user (distros are per user, windows-facts A.5, A.7).
    Input:
      name            - distro name (never docker-desktop*, checked by the controller too)
      location        - absolute target directory, e.g. "D:\wsl\Ubuntu"
      backup_path     - where the export goes (a .vhdx path); default: next to the location
      keep_backup     - keep the export after a successful move
      use_manage_move - `wsl --manage <d> --move` is available (feature-detected from --help)
      margin_bytes    - free space to leave on the target volume beyond what the move needs
      allow_docker_desktop_data - docker.desktop_data_location moves the pre-4.30
                        docker-desktop-data distro (Desktop stopped); other docker-desktop* never
    Output: {"changed": bool, "method": "none|manage_move|export_import|repair_base_path|resume",
             "name", "from", "to", "backup", "backup_kept": bool, "steps": [..]}
    A failure throws (exit 1) after recovering: the message says whether the distro is intact at
    its original location, or where the backup and the journal were kept.

.NOTES
    winfra-mode: write
    Safe order (windows-facts A.6, MicrosoftDocs/WSL faq "move them from one drive to another"):
    terminate; export --format vhd (WSL2 only; a failed export deletes its partial file); verify
    the export; only then unregister (which deletes the VHD); import --vhd (copies the VHD into
    the install location, new GUID: DefaultUid resets to 0 and the default distro moves
    elsewhere); verify the distro starts; restore the default distro and the default UID
    (registry DefaultUid, A.5/A.6); delete the export.
    `--manage --move` (A.6) keeps GUID, default and user, needs the distro stopped, and has a known
    failure where the VHD moved but BasePath did not (WSL#40716, E_ACCESSDENIED): detected by
    looking where the .vhdx is, repaired by writing BasePath as that issue's reporter did.
    A bare drive such as "E:" gives "Failed to attach disk 'E:ext4.vhdx'" (WSL#449), so the
    location must have a directory component.
    A journal (%LOCALAPPDATA%\winfra\wsl-relocate-<name>.json) records the phase so the next run
    finishes or rolls back an interrupted move.
    wsl.exe errors arrive on stdout with exit -1; only the `Wsl/...` error code is read (A.2).
    wsl.exe is C:\Program Files\WSL\wsl.exe when present (A.7); WSL_UTF8=1 is set and UTF-16LE
    output is still recognised (A.4).
#>
[CmdletBinding()]
param(
    [Parameter(Mandatory = $true)][string]$InputJson
)
$ErrorActionPreference = 'Stop'
$in = ConvertFrom-Json -InputObject $InputJson

$script:steps = New-Object System.Collections.ArrayList
$lxssPath = 'HKCU:\Software\Microsoft\Windows\CurrentVersion\Lxss'
$wslExe = Join-Path $env:ProgramFiles 'WSL\wsl.exe'
if (-not (Test-Path -LiteralPath $wslExe)) {
    $wslExe = Join-Path $env:SystemRoot 'System32\wsl.exe'
}

function Format-WinfraArg {
    # One argument of ProcessStartInfo.Arguments, parsed by the MSVCRT rules: whitespace needs
    # quotes, and backslashes before the closing quote are doubled (2n backslashes + quote = n
    # backslashes, end of argument), else "D:\wsl dir\" would swallow the quote and the next
    # argument (https://learn.microsoft.com/cpp/c-language/parsing-c-command-line-arguments).
    # A Windows path never holds a double quote; distro names are checked before any call.
    param([Parameter(Mandatory = $true)][string]$Value)
    if ($Value -match '\s') {
        return '"' + ($Value -replace '(\\+)$', '$1$1') + '"'
    }
    return $Value
}

function Invoke-WinfraWsl {
    param(
        [Parameter(Mandatory = $true)][string]$Step,
        [Parameter(Mandatory = $true)][string[]]$Arguments
    )
    $psi = New-Object System.Diagnostics.ProcessStartInfo
    $psi.FileName = $wslExe
    $psi.Arguments = (($Arguments | ForEach-Object { Format-WinfraArg -Value $_ }) -join ' ')
    $psi.UseShellExecute = $false
    $psi.RedirectStandardOutput = $true
    $psi.RedirectStandardError = $true
    $psi.EnvironmentVariables['WSL_UTF8'] = '1'
    $proc = [System.Diagnostics.Process]::Start($psi)
    $errTask = $proc.StandardError.ReadToEndAsync()
    $ms = New-Object System.IO.MemoryStream
    $proc.StandardOutput.BaseStream.CopyTo($ms)
    $proc.WaitForExit()
    $bytes = $ms.ToArray()
    $text = [System.Text.Encoding]::UTF8.GetString($bytes)
    if ($bytes.Length -gt 1 -and $bytes[1] -eq 0) {
        $text = [System.Text.Encoding]::Unicode.GetString($bytes)
    }
    $text = ($text + "`n" + $errTask.Result).Replace([string][char]0, '')
    $code = $null
    $m = [regex]::Match($text, '(?m)(Wsl/[A-Za-z0-9_./-]+)\s*$')
    if ($m.Success) {
        $code = $m.Groups[1].Value
    }
    $null = $script:steps.Add([ordered]@{ step = $Step; exit_code = $proc.ExitCode; error_code = $code })
    return [ordered]@{ ok = ($proc.ExitCode -eq 0); exit_code = $proc.ExitCode; error_code = $code; text = $text }
}

function Join-WinfraPath {
    # [IO.Path]::Combine, not Join-Path: Join-Path resolves the drive and throws "Cannot find
    # drive. A drive with the name 'X' does not exist." for a drive that is not mounted
    # (PowerShell/PowerShell#4386). Registrations of other distros may name such a drive (a
    # detached disk), and the target may be on one: neither may abort the move with that message.
    param([string]$Base, [string]$Child)
    if (-not $Base) {
        return ''
    }
    return [System.IO.Path]::Combine($Base, $Child)
}

function Get-WinfraNormPath {
    param([string]$Path)
    if (-not $Path) {
        return ''
    }
    $p = $Path
    if ($p.StartsWith('\\?\')) {
        $p = $p.Substring(4)
    }
    return $p.TrimEnd('\').ToLowerInvariant()
}

function Get-WinfraDistros {
    $list = New-Object System.Collections.ArrayList
    if (-not (Test-Path -LiteralPath $lxssPath)) {
        return , $list
    }
    foreach ($key in @(Get-ChildItem -LiteralPath $lxssPath)) {
        $p = Get-ItemProperty -LiteralPath $key.PSPath
        if ($null -eq $p.PSObject.Properties['DistributionName']) {
            continue
        }
        $vhdName = 'ext4.vhdx'
        if ($null -ne $p.PSObject.Properties['VhdFileName']) {
            $vhdName = [string]$p.VhdFileName
        }
        $base = [string]$p.BasePath
        $plain = $base
        if ($plain.StartsWith('\\?\')) {
            $plain = $plain.Substring(4)
        }
        $uid = 0
        if ($null -ne $p.PSObject.Properties['DefaultUid']) {
            $uid = [int]$p.DefaultUid
        }
        $null = $list.Add([pscustomobject]@{
                guid     = $key.PSChildName
                key      = $key.PSPath
                name     = [string]$p.DistributionName
                base     = $plain
                vhd_name = $vhdName
                vhd_path = (Join-WinfraPath -Base $plain -Child $vhdName)
                flags    = [int]$p.Flags
                uid      = $uid
            })
    }
    return , $list
}

function Get-WinfraDistro {
    param([Parameter(Mandatory = $true)][string]$Name)
    $found = @(Get-WinfraDistros | ForEach-Object { $_ } | Where-Object { $_.name -eq $Name })
    if ($found.Count -gt 1) {
        throw "winfra: '$Name' is registered $($found.Count) times for $env:USERNAME; fix the registrations by hand."
    }
    if ($found.Count -eq 0) {
        return $null
    }
    return $found[0]
}

function Get-WinfraDefaultGuid {
    if (-not (Test-Path -LiteralPath $lxssPath)) {
        return $null
    }
    $lxss = Get-ItemProperty -LiteralPath $lxssPath
    if ($null -eq $lxss.PSObject.Properties['DefaultDistribution']) {
        return $null
    }
    return [string]$lxss.DefaultDistribution
}

function Save-WinfraJournal {
    param([Parameter(Mandatory = $true)]$Journal)
    $dir = Split-Path -Parent $journalPath
    if (-not (Test-Path -LiteralPath $dir)) {
        $null = New-Item -ItemType Directory -Path $dir -Force
    }
    $tmp = $journalPath + '.tmp'
    [System.IO.File]::WriteAllText($tmp, (ConvertTo-Json -InputObject $Journal -Compress -Depth 6), (New-Object System.Text.UTF8Encoding -ArgumentList $false))
    Move-Item -LiteralPath $tmp -Destination $journalPath -Force
}

function Remove-WinfraJournal {
    if (Test-Path -LiteralPath $journalPath) {
        Remove-Item -LiteralPath $journalPath -Force
    }
}

function Restore-WinfraIdentity {
    # A re-import gets a new GUID: DefaultUid resets to 0 and it is no longer the default (A.6).
    param([Parameter(Mandatory = $true)]$Journal)
    $d = Get-WinfraDistro -Name $Journal.name
    if ($null -eq $d) {
        throw "winfra: '$($Journal.name)' vanished while restoring its settings."
    }
    if ($Journal.was_default -and (Get-WinfraDefaultGuid) -ne $d.guid) {
        $r = Invoke-WinfraWsl -Step 'wsl:set_default' -Arguments @('--set-default', $Journal.name)
        if (-not $r.ok) {
            throw "winfra: could not make '$($Journal.name)' the default distro again ($($r.error_code)); run: wsl --set-default $($Journal.name)"
        }
    }
    if ($d.uid -ne [int]$Journal.default_uid) {
        $null = $script:steps.Add([ordered]@{ step = 'wsl:set_default_user'; exit_code = 0; error_code = $null })
        Set-ItemProperty -LiteralPath $d.key -Name 'DefaultUid' -Value ([int]$Journal.default_uid) -Type DWord
    }
}

function Test-WinfraStarts {
    param([Parameter(Mandatory = $true)][string]$Name)
    $r = Invoke-WinfraWsl -Step 'wsl:verify' -Arguments @('--distribution', $Name, '--exec', '/bin/true')
    $null = Invoke-WinfraWsl -Step 'wsl:terminate' -Arguments @('--terminate', $Name)
    return $r
}

function Import-WinfraFromBackup {
    # --import --vhd copies the export into the install location (A.1, A.6).
    param(
        [Parameter(Mandatory = $true)][string]$Name,
        [Parameter(Mandatory = $true)][string]$Location,
        [Parameter(Mandatory = $true)][string]$Backup
    )
    return Invoke-WinfraWsl -Step 'wsl:import' -Arguments @('--import', $Name, $Location, $Backup, '--vhd')
}

function Invoke-WinfraRollback {
    # Put the distro back where it was, from the verified export.
    param([Parameter(Mandatory = $true)]$Journal, [Parameter(Mandatory = $true)][string]$Why)
    # Without the export there is nothing to roll back to: unregistering would delete the only copy
    # (A.6), e.g. when a run died between deleting the backup and deleting the journal.
    if (-not ($Journal.backup -and (Test-Path -LiteralPath $Journal.backup))) {
        throw "winfra: $Why; the export $($Journal.backup) is gone, so '$($Journal.name)' is left registered as it is (journal $journalPath)."
    }
    $now = Get-WinfraDistro -Name $Journal.name
    if ($null -ne $now) {
        $null = Invoke-WinfraWsl -Step 'wsl:unregister' -Arguments @('--unregister', $Journal.name)
    }
    $r = Import-WinfraFromBackup -Name $Journal.name -Location $Journal.from -Backup $Journal.backup
    if (-not $r.ok) {
        throw "winfra: CRITICAL: $Why, and re-importing '$($Journal.name)' at $($Journal.from) failed too ($($r.error_code)). The data is safe in $($Journal.backup) (journal $journalPath); run: wsl --import $($Journal.name) $($Journal.from) $($Journal.backup) --vhd"
    }
    # The re-import has a new GUID: record it, so the next run knows this registration holds the
    # backup's data (phase rolled_back) if this run dies before the backup is deleted.
    $back = Get-WinfraDistro -Name $Journal.name
    $Journal.guid = $back.guid
    $Journal.phase = 'rolled_back'
    Save-WinfraJournal -Journal $Journal
    # The backup is deleted only once the re-imported copy is verified to start (A.6 safe order).
    $s = Test-WinfraStarts -Name $Journal.name
    if (-not $s.ok) {
        throw "winfra: CRITICAL: $Why, and '$($Journal.name)' re-imported at $($Journal.from) does not start either ($($s.error_code)). The backup $($Journal.backup) and the journal $journalPath are kept."
    }
    Restore-WinfraIdentity -Journal $Journal
    Remove-Item -LiteralPath $Journal.backup -Force
    Remove-WinfraJournal
    throw "winfra: $Why; rolled back: '$($Journal.name)' is registered again at $($Journal.from) with its data, default status and default user."
}

# -- input ---------------------------------------------------------------------------------------
$name = [string]$in.name
if ($name -notmatch '^[A-Za-z0-9._-]+$') {
    throw "winfra: '$name' is not a WSL distro name."
}
$dockerDataAllowed = [bool]$in.allow_docker_desktop_data -and $name.ToLowerInvariant() -eq 'docker-desktop-data'
if ($name.ToLowerInvariant().StartsWith('docker-desktop') -and -not $dockerDataAllowed) {
    throw "winfra: '$name' belongs to Docker Desktop; move it with docker.desktop_data_location (windows-facts B.6)."
}
$target = [string]$in.location
if ($target.StartsWith('\\?\')) {
    $target = $target.Substring(4)
}
$target = $target.TrimEnd('\')
if ($target -notmatch '^[A-Za-z]:\\[^\\]') {
    throw "winfra: location '$($in.location)' must be an absolute directory such as D:\wsl\$name (a bare drive fails: WSL#449)."
}
$keep = [bool]$in.keep_backup
$margin = [long]1073741824
if ($null -ne $in.margin_bytes) {
    $margin = [long]$in.margin_bytes
}
$backup = [string]$in.backup_path
if (-not $backup) {
    $backup = Join-WinfraPath -Base ([System.IO.Path]::GetDirectoryName($target)) -Child ("winfra-backup-$name.vhdx")
}
$journalPath = Join-Path $env:LOCALAPPDATA ("winfra\wsl-relocate-$name.json")
$journal = $null
if (Test-Path -LiteralPath $journalPath) {
    $journal = ConvertFrom-Json -InputObject ([System.IO.File]::ReadAllText($journalPath))
}
$result = [ordered]@{
    changed     = $false
    method      = 'none'
    name        = $name
    from        = $null
    to          = $target
    backup      = $null
    backup_kept = $false
    steps       = $script:steps
}

$d = Get-WinfraDistro -Name $name

# -- a backup path must never name live data -----------------------------------------------------
# --import-in-place adopts a .vhdx where it lies and --unregister deletes it (windows-facts A.6):
# a backup path that is some registration's VHD (e.g. the backup adopted by hand after a failed
# move) would be deleted or overwritten below. The import writes <location>\ext4.vhdx (A.6), so
# the backup may not live in the target directory either.
$backupPaths = @($backup)
if ($null -ne $journal -and $journal.backup) {
    $backupPaths += [string]$journal.backup
}
foreach ($b in $backupPaths) {
    $nb = Get-WinfraNormPath $b
    if ((Get-WinfraNormPath ([System.IO.Path]::GetDirectoryName($b))) -eq (Get-WinfraNormPath $target)) {
        throw "winfra: the backup $b lies in the target directory $target; choose a backup_path outside it. Nothing was changed."
    }
    foreach ($other in @(Get-WinfraDistros | ForEach-Object { $_ })) {
        if ((Get-WinfraNormPath $other.vhd_path) -eq $nb) {
            throw "winfra: the backup path $b is the live VHD of distro '$($other.name)' (adopted with --import-in-place, windows-facts A.6); deleting or overwriting it would destroy that distro. Choose another backup_path or move that distro first. Nothing was changed."
        }
    }
}

# A journal whose verified backup (phase exported or later) belongs to ANOTHER registration of the
# same name (the user re-created the distro after an interrupted move) holds the only copy of the
# old data: never delete it by starting a new move.
if ($null -ne $d -and $null -ne $journal -and $journal.backup -and $journal.phase -ne 'started' -and $d.guid -ne $journal.guid -and (Get-WinfraNormPath $d.base) -ne (Get-WinfraNormPath $journal.to) -and (Test-Path -LiteralPath $journal.backup)) {
    throw "winfra: an interrupted move of '$name' left its verified export at $($journal.backup) (journal $journalPath), but another '$name' is registered now at $($d.base). Nothing was changed. Import the export under another name (wsl --import <name> <dir> $($journal.backup) --vhd) or, if that registration is the restored distro, delete the journal; then re-run."
}

# An unregister cut short after it deleted the VHD: the key is deleted last (scope exit in
# LxssUserSessionImpl::UnregisterDistribution, microsoft/WSL src/windows/service/exe/
# LxssUserSession.cpp), so the registration remains without its VHD. The verified export holds
# the data: finish the unregister, then resume from the export below.
if ($null -ne $d -and $null -ne $journal -and $journal.backup -and ($journal.phase -eq 'exported' -or $journal.phase -eq 'unregistered') -and $d.guid -eq $journal.guid -and -not ([bool]$d.vhd_path -and (Test-Path -LiteralPath $d.vhd_path)) -and (Test-Path -LiteralPath $journal.backup)) {
    $r = Invoke-WinfraWsl -Step 'wsl:unregister' -Arguments @('--unregister', $name)
    if (-not $r.ok -and $null -ne (Get-WinfraDistro -Name $name)) {
        throw "winfra: finishing the interrupted unregister of '$name' failed ($($r.error_code)); its data is safe in $($journal.backup) (journal $journalPath). Re-run, or: wsl --unregister $name; wsl --import $name $($journal.to) $($journal.backup) --vhd"
    }
    $journal.phase = 'unregistered'
    Save-WinfraJournal -Journal $journal
    $d = $null
}

# -- resume an interrupted move ------------------------------------------------------------------
if ($null -eq $d) {
    # Only an export that was verified (phase exported or later) may be imported.
    if ($null -ne $journal -and $journal.backup -and $journal.phase -ne 'started' -and (Test-Path -LiteralPath $journal.backup)) {
        # Interrupted after unregister: finish the move from the verified export.
        $result['from'] = $journal.from
        $result['backup'] = $journal.backup
        $result['method'] = 'resume'
        $r = Import-WinfraFromBackup -Name $name -Location $journal.to -Backup $journal.backup
        if (-not $r.ok) {
            Invoke-WinfraRollback -Journal $journal -Why "finishing the interrupted move of '$name' failed ($($r.error_code))"
        }
        $journal.phase = 'imported'
        Save-WinfraJournal -Journal $journal
        $d = Get-WinfraDistro -Name $name
    }
    else {
        throw "winfra: there is no WSL distro named '$name' for $env:USERNAME."
    }
}

if ((Get-WinfraNormPath $d.base) -eq (Get-WinfraNormPath $target)) {
    if ($null -ne $journal) {
        # The move itself completed before an interruption: finish the bookkeeping.
        $result['from'] = $journal.from
        $result['backup'] = $journal.backup
        $result['method'] = 'resume'
        $r = Test-WinfraStarts -Name $name
        if (-not $r.ok) {
            if (-not $journal.backup) {
                throw "winfra: '$name' is at $target but does not start ($($r.error_code)); journal kept at $journalPath."
            }
            Invoke-WinfraRollback -Journal $journal -Why "'$name' does not start at $target ($($r.error_code))"
        }
        Restore-WinfraIdentity -Journal $journal
        if ($journal.backup -and (Test-Path -LiteralPath $journal.backup)) {
            if ($keep) {
                $result['backup_kept'] = $true
            }
            else {
                Remove-Item -LiteralPath $journal.backup -Force
            }
        }
        Remove-WinfraJournal
        $result['changed'] = $true
    }
    ConvertTo-Json -InputObject $result -Compress -Depth 6
    exit 0
}

# -- a half-done --manage --move: the VHD moved, BasePath did not (WSL#40716) --------------------
$movedVhd = Join-WinfraPath -Base $target -Child $d.vhd_name
# Test-Path -LiteralPath '' throws (the parameter refuses an empty string): a registration without
# BasePath has no VHD where it says.
$vhdWhereRegistered = [bool]$d.vhd_path -and (Test-Path -LiteralPath $d.vhd_path)
if (($d.flags -band 8) -and -not $vhdWhereRegistered -and (Test-Path -LiteralPath $movedVhd)) {
    $result['from'] = $d.base
    $result['method'] = 'repair_base_path'
    $null = $script:steps.Add([ordered]@{ step = 'wsl:repair_base_path'; exit_code = 0; error_code = $null })
    Set-ItemProperty -LiteralPath $d.key -Name 'BasePath' -Value $target
    $r = Test-WinfraStarts -Name $name
    if (-not $r.ok) {
        throw "winfra: '$name' was repaired to BasePath $target (its VHD is there, WSL#40716) but does not start ($($r.error_code))."
    }
    Remove-WinfraJournal
    $result['changed'] = $true
    ConvertTo-Json -InputObject $result -Compress -Depth 6
    exit 0
}

# -- refusals and preflight ----------------------------------------------------------------------
$result['from'] = $d.base
if (-not ($d.flags -band 8)) {
    throw "winfra: '$name' is a WSL1 distro; convert it first with wsl.distro_version(version=2) (export --format vhd and --manage --move are WSL2 only, A.6)."
}
foreach ($other in @(Get-WinfraDistros | ForEach-Object { $_ })) {
    if ($other.name -ne $name -and (Get-WinfraNormPath $other.base) -eq (Get-WinfraNormPath $target)) {
        throw "winfra: $target is already the location of distro '$($other.name)'; choose another directory."
    }
}
if ((Test-Path -LiteralPath $movedVhd) -and $vhdWhereRegistered -and $null -ne $journal -and $journal.method -eq 'manage_move' -and $journal.guid -eq $d.guid) {
    # Our own --manage --move was cut short while copying across volumes (MoveFileEx with
    # MOVEFILE_COPY_ALLOWED copies, then deletes the source; windows-facts A.6): the registration
    # still names the intact source, so the copy at the target is a leftover of that run.
    $null = $script:steps.Add([ordered]@{ step = 'wsl:remove_partial_move'; exit_code = 0; error_code = $null })
    Remove-Item -LiteralPath $movedVhd -Force
}
if (Test-Path -LiteralPath $movedVhd) {
    throw "winfra: $movedVhd already exists and belongs to no registration of '$name'; remove it or choose another directory."
}
if (-not $vhdWhereRegistered) {
    throw "winfra: the VHD of '$name' is missing at $($d.vhd_path) and not at $movedVhd; repair the registration by hand."
}
# WSL2 cannot start its VM without the user's interactive logon session (CreateVm 0x8007023f,
# windows-facts A.7, microsoft/WSL#8072), and the move is verified by starting the distro.
$mySid = [System.Security.Principal.WindowsIdentity]::GetCurrent().User.Value
$hasSession = $false
foreach ($proc in @(Get-CimInstance -ClassName Win32_Process -Filter "Name = 'explorer.exe'")) {
    try {
        $owner = Invoke-CimMethod -InputObject $proc -MethodName GetOwnerSid
    }
    catch {
        # The process ended between the query and the call (another user logging off): not ours.
        continue
    }
    if ($owner.Sid -eq $mySid) {
        $hasSession = $true
    }
}
if (-not $hasSession) {
    throw "winfra: $env:USERNAME must be logged on for this step but is not (WSL2 needs the user's interactive session to start the distro, microsoft/WSL#8072). Log on as $env:USERNAME and re-run; nothing was changed."
}
$vhdSize = (Get-Item -LiteralPath $d.vhd_path).Length
$targetDrive = $target.Substring(0, 1)
$need = @{}
$need[$targetDrive] = $vhdSize + $margin
if (-not $in.use_manage_move) {
    $backupDrive = $backup.Substring(0, 1)
    if ($need.ContainsKey($backupDrive)) {
        $need[$backupDrive] = $need[$backupDrive] + $vhdSize
    }
    else {
        $need[$backupDrive] = $vhdSize + $margin
    }
}
foreach ($drive in $need.Keys) {
    # Get-PSDrive would throw "Cannot find drive" with no hint of what to do.
    $psDrive = Get-PSDrive -Name $drive -PSProvider FileSystem -ErrorAction SilentlyContinue
    if ($null -eq $psDrive) {
        throw "winfra: drive ${drive}: does not exist on $env:COMPUTERNAME, so '$name' cannot move to $target; choose a location on a mounted local drive. Nothing was changed."
    }
    $free = $psDrive.Free
    if ($free -lt $need[$drive]) {
        throw "winfra: not enough free space on ${drive}: to move '$name': need $($need[$drive]) bytes (VHD $vhdSize + backup + margin), have $free. Free space or choose another location; nothing was changed."
    }
}

$defaultGuid = Get-WinfraDefaultGuid
$wasDefault = ($defaultGuid -eq $d.guid)
$defaultUid = $d.uid
if ($null -ne $journal -and $journal.guid -eq $d.guid) {
    # Restarting after an interruption or a rollback (whose re-import reset DefaultUid and the
    # default, A.6): the identity to restore is the one recorded before the first attempt.
    $wasDefault = [bool]$journal.was_default
    $defaultUid = [int]$journal.default_uid
}
$journal = [pscustomobject]@{
    name        = $name
    guid        = $d.guid
    from        = $d.base
    to          = $target
    backup      = $backup
    was_default = $wasDefault
    default_uid = $defaultUid
    method      = 'export_import'
    phase       = 'started'
}
if ($in.use_manage_move) {
    $journal.method = 'manage_move'
    $journal.backup = $null
}
Save-WinfraJournal -Journal $journal

$r = Invoke-WinfraWsl -Step 'wsl:terminate' -Arguments @('--terminate', $name)
if (-not $r.ok) {
    Remove-WinfraJournal
    throw "winfra: could not stop '$name' ($($r.error_code)); nothing was changed."
}

if ($in.use_manage_move) {
    $result['method'] = 'manage_move'
    $parent = Split-Path -Parent $target
    if (-not (Test-Path -LiteralPath $parent)) {
        $null = New-Item -ItemType Directory -Path $parent -Force
    }
    $r = Invoke-WinfraWsl -Step 'wsl:manage_move' -Arguments @('--manage', $name, '--move', $target)
    if (-not $r.ok) {
        $now = Get-WinfraDistro -Name $name
        if ($null -ne $now -and -not ([bool]$now.vhd_path -and (Test-Path -LiteralPath $now.vhd_path)) -and (Test-Path -LiteralPath $movedVhd)) {
            # WSL#40716: the VHD is at the target but BasePath still names the old directory.
            $null = $script:steps.Add([ordered]@{ step = 'wsl:repair_base_path'; exit_code = 0; error_code = $null })
            Set-ItemProperty -LiteralPath $now.key -Name 'BasePath' -Value $target
        }
        else {
            Remove-WinfraJournal
            throw "winfra: wsl --manage --move of '$name' failed ($($r.error_code)); the distro is unchanged at $($d.base)."
        }
    }
    $r = Test-WinfraStarts -Name $name
    if (-not $r.ok) {
        throw "winfra: '$name' was moved to $target but does not start ($($r.error_code)); journal kept at $journalPath."
    }
    Remove-WinfraJournal
    $result['changed'] = $true
    ConvertTo-Json -InputObject $result -Compress -Depth 6
    exit 0
}

# -- export, verify, unregister, import, verify, restore ------------------------------------------
$result['method'] = 'export_import'
$result['backup'] = $backup
$backupDir = Split-Path -Parent $backup
if (-not (Test-Path -LiteralPath $backupDir)) {
    $null = New-Item -ItemType Directory -Path $backupDir -Force
}
if (Test-Path -LiteralPath $backup) {
    Remove-Item -LiteralPath $backup -Force
}
$r = Invoke-WinfraWsl -Step 'wsl:export' -Arguments @('--export', $name, $backup, '--format', 'vhd')
if (-not $r.ok) {
    # A failed export deletes its partial file (A.6); make sure, then leave everything as it was.
    if (Test-Path -LiteralPath $backup) {
        Remove-Item -LiteralPath $backup -Force
    }
    Remove-WinfraJournal
    throw "winfra: exporting '$name' to $backup failed ($($r.error_code)); nothing was changed."
}
$backupSize = 0
if (Test-Path -LiteralPath $backup) {
    $backupSize = (Get-Item -LiteralPath $backup).Length
}
# An exported VHD is a copy of the VHD file: anything much smaller is not a complete export.
if ($backupSize -le 0 -or $backupSize -lt ($vhdSize / 2)) {
    if (Test-Path -LiteralPath $backup) {
        Remove-Item -LiteralPath $backup -Force
    }
    Remove-WinfraJournal
    throw "winfra: the export of '$name' is implausible ($backupSize bytes for a $vhdSize-byte VHD); nothing was changed."
}
# The export terminated and locked the distro (LxssUserSessionImpl::_ConversionBegin, microsoft/WSL
# src/windows/service/exe/LxssUserSession.cpp), but once it finished anything may start it again
# (a terminal, Docker Desktop's WSL integration). The unregister terminates it and deletes its VHD,
# so whatever it wrote since the export would be lost: check right before, and give up if it runs.
# `wsl -l --running -q` prints the running names, nothing and exit 0 when none (windows-facts A.2).
$r = Invoke-WinfraWsl -Step 'wsl:list_running' -Arguments @('--list', '--running', '--quiet')
$runningAgain = @(($r.text -split '\r?\n') | ForEach-Object { $_.Trim() } | Where-Object { $_ -eq $name })
if (-not $r.ok -or $runningAgain.Count -gt 0) {
    Remove-Item -LiteralPath $backup -Force
    Remove-WinfraJournal
    throw "winfra: '$name' was started again after its export (or its state could not be read: $($r.error_code)); nothing was changed. Stop what starts it and re-run."
}
$journal.phase = 'exported'
Save-WinfraJournal -Journal $journal

$r = Invoke-WinfraWsl -Step 'wsl:unregister' -Arguments @('--unregister', $name)
if (-not $r.ok) {
    $still = Get-WinfraDistro -Name $name
    if ($null -ne $still) {
        # The export is the only copy unless the registered VHD is still there: unregister deletes
        # the VHD before the key (LxssUserSession.cpp UnregisterDistribution).
        if (-not ([bool]$still.vhd_path -and (Test-Path -LiteralPath $still.vhd_path))) {
            throw "winfra: unregistering '$name' failed ($($r.error_code)) after its VHD was deleted; the data is safe in $backup (journal $journalPath). Re-run to finish the move."
        }
        Remove-Item -LiteralPath $backup -Force
        Remove-WinfraJournal
        throw "winfra: unregistering '$name' failed ($($r.error_code)); the distro is unchanged at $($d.base)."
    }
}
$journal.phase = 'unregistered'
Save-WinfraJournal -Journal $journal

$r = Import-WinfraFromBackup -Name $name -Location $target -Backup $backup
if (-not $r.ok) {
    Invoke-WinfraRollback -Journal $journal -Why "importing '$name' at $target failed ($($r.error_code))"
}
$journal.phase = 'imported'
Save-WinfraJournal -Journal $journal

$r = Test-WinfraStarts -Name $name
if (-not $r.ok) {
    Invoke-WinfraRollback -Journal $journal -Why "'$name' does not start at $target ($($r.error_code))"
}
Restore-WinfraIdentity -Journal $journal
if ($keep) {
    $result['backup_kept'] = $true
}
else {
    Remove-Item -LiteralPath $backup -Force
}
Remove-WinfraJournal
$result['changed'] = $true
ConvertTo-Json -InputObject $result -Compress -Depth 6
