#!/usr/bin/env bash
# Installs the Clubhall agent on a Linux gaming PC in one command: copies
# club-agent and club-lock, installs the services (the daemon as root's
# system service, restarted whenever it ends; the lock screen as a user
# service in the player's session), enrolls the PC with its one-time code,
# and starts it. The desk's answer to "add PC" gives the exact command:
#
#   sudo ./install-agent.sh --server http://10.0.0.2:8080 --code K7Q2M9XW4P [--server-cert-sha256 HEX]
#
# Options: --player USER (the account that plays; default "player"),
# --bin-dir DIR (where club-agent and club-lock are; default: beside this
# script), --root DIR (install under DIR and start nothing: for images and
# tests).
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
server="" code="" pin="" player="player" bin_dir="$here" root=""
while [ $# -gt 0 ]; do
  case "$1" in
    --server) server="$2"; shift 2 ;;
    --code) code="$2"; shift 2 ;;
    --server-cert-sha256) pin="$2"; shift 2 ;;
    --player) player="$2"; shift 2 ;;
    --bin-dir) bin_dir="$2"; shift 2 ;;
    --root) root="$2"; shift 2 ;;
    -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
    *) echo "install-agent.sh: unknown option $1 (try --help)" >&2; exit 2 ;;
  esac
done
[ -n "$server" ] && [ -n "$code" ] || { echo "install-agent.sh: --server and --code are required" >&2; exit 2; }
if [ -z "$root" ] && [ "$(id -u)" -ne 0 ]; then
  echo "install-agent.sh: run it as root (sudo): the agent is a system service" >&2
  exit 1
fi
for b in club-agent club-lock; do
  [ -x "$bin_dir/$b" ] || { echo "install-agent.sh: $bin_dir/$b is missing (--bin-dir)" >&2; exit 1; }
done
id "$player" >/dev/null 2>&1 || { echo "install-agent.sh: no account named $player (--player)" >&2; exit 1; }

echo "== binaries"
install -d "$root/usr/local/bin"
install -m 0755 "$bin_dir/club-agent" "$bin_dir/club-lock" "$root/usr/local/bin/"

echo "== enrolling this PC with $server"
state="$root/var/lib/club-agent"
install -d -m 0700 "$state"
args=(enroll --server "$server" --code "$code" --state-dir "$state")
[ -n "$pin" ] && args+=(--server-cert-sha256 "$pin")
"$root/usr/local/bin/club-agent" "${args[@]}"

echo "== services"
# The units (built into club-agent from this directory), enabled and
# started; under --root only written.
args=(service install --player "$player")
[ -n "$root" ] && args+=(--root "$root")
"$root/usr/local/bin/club-agent" "${args[@]}"

echo "== the player's account ($player)"
if id -nG "$player" | tr ' ' '\n' | grep -qxE 'sudo|wheel|admin|adm'; then
  echo "WARNING: $player is an administrator (sudo/wheel): make it a standard account," >&2
  echo "         or the player can stop the agent: gpasswd -d $player sudo" >&2
fi
cat <<MSG
Recommended, by hand (they depend on the desktop):
  - log $player in automatically (LightDM: autologin-user=$player in
    /etc/lightdm/lightdm.conf.d/50-clubhall.conf; GDM: AutomaticLogin=$player
    under [daemon] in /etc/gdm3/daemon.conf);
  - no terminal or system settings in the player's menu;
  - the PC's firmware: boot from the disk only, with a password.
Done: the PC shows the lock screen until the desk starts a session.
MSG
