<#
.SYNOPSIS
Installs the Clubhall agent on a Windows gaming PC in one command.

.DESCRIPTION
Copies club-agent.exe and club-lock.exe to Program Files, enrolls the PC
with its one-time code, installs and starts the club-agent service
(LocalSystem, automatic start, restarted on any failure; it shows the lock
screen in the player's session), and applies the recommended settings for
the player's account: a standard account, signed in automatically, with
Task Manager, the registry editor and the command prompt disabled by
policy, and no user switching. The desk's answer to "add PC" gives the
exact command. Run it in an elevated PowerShell, beside the two .exe files:

  powershell -ExecutionPolicy Bypass -File .\install-agent.ps1 -Server http://10.0.0.2:8080 -Code K7Q2M9XW4P

.PARAMETER Server
The club server, e.g. http://10.0.0.2:8080 or https://10.0.0.2:8443.
.PARAMETER Code
The one-time enrollment code the desk was given.
.PARAMETER ServerCertSha256
For an https:// server: the SHA-256 of its certificate, shown with the code.
.PARAMETER Player
The account that plays (default "player"); made as a standard account when missing.
.PARAMETER PlayerPassword
The player's password, for automatic sign-in. Without it the account has
none (the club's PCs are its own; the lock screen is the gate).
.PARAMETER BinDir
Where club-agent.exe and club-lock.exe are (default: beside this script).
.PARAMETER InstallDir
Where they are installed (default: C:\Program Files\Clubhall).
.PARAMETER NoPlayerPolicies
Leave the player's account, automatic sign-in and policies as they are.
#>
[CmdletBinding()]
param(
    [Parameter(Mandatory = $true)][string]$Server,
    [Parameter(Mandatory = $true)][string]$Code,
    [string]$ServerCertSha256 = "",
    [string]$Player = "player",
    [string]$PlayerPassword = "",
    [string]$BinDir = $PSScriptRoot,
    [string]$InstallDir = (Join-Path $env:ProgramFiles "Clubhall"),
    [switch]$NoPlayerPolicies
)
$ErrorActionPreference = "Stop"

$me = [Security.Principal.WindowsPrincipal][Security.Principal.WindowsIdentity]::GetCurrent()
if (-not $me.IsInRole([Security.Principal.WindowsBuiltInRole]::Administrator)) {
    throw "Run this in an elevated PowerShell (Run as administrator): the agent is a system service."
}
foreach ($exe in "club-agent.exe", "club-lock.exe") {
    if (-not (Test-Path (Join-Path $BinDir $exe))) {
        throw "$exe is missing in $BinDir (-BinDir)"
    }
}

function Invoke-Agent {
    & (Join-Path $InstallDir "club-agent.exe") @args
    if ($LASTEXITCODE -ne 0) { throw "club-agent $($args -join ' ') failed ($LASTEXITCODE)" }
}

Write-Host "== binaries -> $InstallDir"
$existing = Get-Service -Name "club-agent" -ErrorAction SilentlyContinue
if ($existing -and $existing.Status -ne "Stopped") {
    # A running agent holds its .exe; the service is re-registered below.
    Invoke-Agent service stop
}
New-Item -ItemType Directory -Force -Path $InstallDir | Out-Null
Copy-Item -Force (Join-Path $BinDir "club-agent.exe"), (Join-Path $BinDir "club-lock.exe") $InstallDir

Write-Host "== enrolling this PC with $Server"
$enroll = @("enroll", "--server", $Server, "--code", $Code)
if ($ServerCertSha256) { $enroll += @("--server-cert-sha256", $ServerCertSha256) }
Invoke-Agent @enroll

Write-Host "== the club-agent service"
Invoke-Agent service install
Invoke-Agent service start

if ($NoPlayerPolicies) {
    Write-Host "Done (player settings left as they are)."
    exit 0
}

Write-Host "== the player's account ($Player)"
$account = Get-LocalUser -Name $Player -ErrorAction SilentlyContinue
if (-not $account) {
    if ($PlayerPassword) {
        $secure = ConvertTo-SecureString $PlayerPassword -AsPlainText -Force
        New-LocalUser -Name $Player -Password $secure -PasswordNeverExpires -UserMayNotChangePassword `
            -Description "Clubhall player" | Out-Null
    } else {
        New-LocalUser -Name $Player -NoPassword -UserMayNotChangePassword `
            -Description "Clubhall player" | Out-Null
    }
    Add-LocalGroupMember -SID "S-1-5-32-545" -Member $Player   # Users
    Write-Host "made $Player, a standard account"
}
$admins = Get-LocalGroupMember -SID "S-1-5-32-544" | Where-Object { $_.Name -like "*\$Player" }
if ($admins) {
    Write-Warning "$Player is an administrator: the player could stop the service. Make it a standard account:"
    Write-Warning "  Remove-LocalGroupMember -SID S-1-5-32-544 -Member $Player"
}

# Automatic sign-in of the player (Winlogon). The password is kept as
# Windows keeps it for this setting; Sysinternals Autologon stores it
# encrypted instead, if the club prefers.
$winlogon = "HKLM:\SOFTWARE\Microsoft\Windows NT\CurrentVersion\Winlogon"
Set-ItemProperty $winlogon -Name AutoAdminLogon -Value "1"
Set-ItemProperty $winlogon -Name DefaultUserName -Value $Player
Set-ItemProperty $winlogon -Name DefaultDomainName -Value $env:COMPUTERNAME
Set-ItemProperty $winlogon -Name DefaultPassword -Value $PlayerPassword

# No switching to another account from the player's session.
$machine = "HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\Policies\System"
New-Item -Force -Path $machine | Out-Null
Set-ItemProperty $machine -Name HideFastUserSwitching -Value 1 -Type DWord

# The player's own policies: no Task Manager (also gone from Ctrl+Alt+Del),
# no registry editor, no command prompt. Written into the player's hive if
# the profile exists, and into the default profile's for a profile still
# to be made at the first sign-in.
function Set-PlayerPolicies([string]$root) {
    $system = "$root\Software\Microsoft\Windows\CurrentVersion\Policies\System"
    New-Item -Force -Path $system | Out-Null
    Set-ItemProperty $system -Name DisableTaskMgr -Value 1 -Type DWord
    Set-ItemProperty $system -Name DisableRegistryTools -Value 1 -Type DWord
    $cmd = "$root\Software\Policies\Microsoft\Windows\System"
    New-Item -Force -Path $cmd | Out-Null
    Set-ItemProperty $cmd -Name DisableCMD -Value 1 -Type DWord
}
function Set-HivePolicies([string]$hiveFile, [string]$name) {
    if (-not (Test-Path $hiveFile)) { return $false }
    reg.exe load "HKU\$name" $hiveFile | Out-Null
    if ($LASTEXITCODE -ne 0) { return $false }
    try { Set-PlayerPolicies "Registry::HKEY_USERS\$name" }
    finally {
        [GC]::Collect()
        reg.exe unload "HKU\$name" | Out-Null
    }
    return $true
}
$sid = (Get-LocalUser -Name $Player).SID.Value
if (Test-Path "Registry::HKEY_USERS\$sid") {
    Set-PlayerPolicies "Registry::HKEY_USERS\$sid"   # signed in now
} else {
    $profilePath = (Get-CimInstance Win32_UserProfile | Where-Object { $_.SID -eq $sid }).LocalPath
    if ($profilePath) { Set-HivePolicies (Join-Path $profilePath "NTUSER.DAT") "ClubhallPlayer" | Out-Null }
}
Set-HivePolicies (Join-Path $env:SystemDrive "Users\Default\NTUSER.DAT") "ClubhallDefault" | Out-Null

Write-Host @"
Done: the PC shows the lock screen until the desk starts a session.
Recommended, by hand:
  - the firmware (BIOS/UEFI): boot from the disk only, with a password;
  - Settings > Accounts: no other account a player knows the password of;
  - sign out and back in (or restart) so that $Player's session starts with the lock screen.
"@
