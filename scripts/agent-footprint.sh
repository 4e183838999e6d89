#!/usr/bin/env bash
# Measures the real release binaries against a real server, from /proc:
# resident memory (VmRSS) and CPU over a window of each state.
#  1. club-agent alone, idle and connected (no display);
#  2. on an Xvfb display at 1920x1080 (when Xvfb is installed): club-lock
#     and the daemon while locked, then both while the player plays;
#  3. the same under the service set-up (packaging/linux): the daemon with
#     no lock screen of its own, club-lock started apart, as its user unit.
# Linux only. Usage: scripts/agent-footprint.sh [seconds]   (default 60)
set -euo pipefail
cd "$(dirname "$0")/.."
window=${1:-60}
cargo build --release -q -p club-server -p club-agent -p club-lock
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
bin=./target/release

port=$((20000 + RANDOM % 20000))
$bin/club-server --listen 127.0.0.1:$port --database "$work/club.db" \
  --owner-password footprint-1 > "$work/server.log" 2>&1 &
until grep -q "listening" "$work/server.log" 2>/dev/null; do sleep 0.1; done

api=http://127.0.0.1:$port/api/v1
post() { curl -s "$api$1" -H "Authorization: Bearer $token" -H 'content-type: application/json' -d "$2"; }
id() { sed 's/.*"id":\([0-9]*\).*/\1/'; }
token=$(curl -s "$api/auth/login" -H 'content-type: application/json' \
  -d '{"login":"owner","password":"footprint-1"}' | sed 's/.*"token":"\([^"]*\)".*/\1/')
zone=$(post /zones '{"name":"Z"}' | id)

ticks=$(getconf CLK_TCK)
cpu() { awk '{print $14 + $15}' "/proc/$1/stat"; }
rss() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }
# measure LABEL PID...: RSS and CPU of each PID over one window.
measure() {
  local label=$1; shift
  local before=() i=0 p
  for p in "$@"; do before+=("$(cpu "$p")"); done
  sleep "$window"
  echo "$label, ${window}s window:"
  for p in "$@"; do
    local after; after=$(cpu "$p")
    local pct; pct=$(awk -v a="$after" -v b="${before[$i]}" -v t="$ticks" -v w="$window" 'BEGIN { printf "%.3f", (a - b) / t / w * 100 }')
    echo "  $(tr -d '\0' < "/proc/$p/comm") (pid $p): RSS $(rss "$p") KiB; CPU ${pct} % of one core ($((after - ${before[$i]})) ticks of 1/${ticks} s)"
    i=$((i + 1))
  done
}
# enrolled DIR NAME: a new PC, enrolled into DIR.
enrolled() {
  local code
  code=$(post /devices "{\"name\":\"$2\",\"zone_id\":$zone,\"x\":0,\"y\":0}" | sed 's/.*"enrollment_code":"\([^"]*\)".*/\1/')
  $bin/club-agent enroll --server "http://127.0.0.1:$port" --code "$code" --state-dir "$1" >/dev/null
  grep -o '"device_id": *[0-9]*' "$1/enrollment.json" | grep -o '[0-9]*$'
}
# connected DIR [PATTERN]: until the agent in DIR is connected (and its
# status also matches PATTERN, e.g. '"locked":false').
connected() {
  local st
  until st=$($bin/club-agent status --state-dir "$1" 2>/dev/null) &&
    grep -q '"connected":true' <<<"$st" && grep -q "${2:-.}" <<<"$st"; do sleep 0.2; done
}

# 1. The daemon alone.
enrolled "$work/agent" PC-1 >/dev/null
RUST_LOG=warn $bin/club-agent run --state-dir "$work/agent" --ui-listen 127.0.0.1:0 --lock-screen none &
agent=$!
connected "$work/agent"
measure "club-agent idle, connected, no display" "$agent"
kill "$agent"

# 2. On a display: locked, then playing.
if ! command -v Xvfb >/dev/null; then
  echo "(Xvfb is not installed: no lock-screen figures)"
  exit 0
fi
Xvfb -displayfd 3 -nolisten tcp -screen 0 1920x1080x24 3> "$work/display" 2>/dev/null &
until [ -s "$work/display" ]; do sleep 0.1; done
display=$(cat "$work/display")
device=$(enrolled "$work/agent2" PC-2)
DISPLAY=":$display" RUST_LOG=warn $bin/club-agent run --state-dir "$work/agent2" --ui-listen 127.0.0.1:0 \
  --lock-screen "$bin/club-lock" &
agent=$!
connected "$work/agent2"
until lock=$(pgrep -P "$agent" club-lock); do sleep 0.1; done
measure "locked, the lock screen on a 1920x1080 display" "$lock" "$agent"

client=$(post /clients '{"name":"Footprint","phone":"+1 555 0199"}' | id)
post "/clients/$client/top-ups" '{"amount":100000,"method":"cash"}' >/dev/null
tariff=$(post /tariffs '{"name":"1 h","duration_seconds":3600,"price":100,"refund_policy":"keep_balance"}' | id)
session=$(post /sessions "{\"client_id\":$client,\"device_id\":$device,\"tariff_id\":$tariff}" | id)
post "/sessions/$session/start" '{}' >/dev/null
connected "$work/agent2" '"locked":false'
measure "playing (unlocked): no lock window, no grab" "$agent" "$lock"
post "/sessions/$session/end" '{}' >/dev/null
kill "$agent"

# 3. The service set-up (packaging/linux): the daemon as the system unit
#    runs it (no lock screen of its own, a channel for the player's, and
#    the restart command for it), club-lock as the user unit runs it.
device=$(enrolled "$work/agent3" PC-3)
RUST_LOG=warn $bin/club-agent run --state-dir "$work/agent3" --ui-listen 127.0.0.1:0 \
  --lock-channel "$work/agent3/lock.sock" --lock-screen none --lock-screen-restart-cmd true &
agent=$!
connected "$work/agent3"
DISPLAY=":$display" $bin/club-lock --socket "$work/agent3/lock.sock" &
lock=$!
measure "service set-up, locked: the daemon and the user unit's lock screen" "$lock" "$agent"
session=$(post /sessions "{\"client_id\":$client,\"device_id\":$device,\"tariff_id\":$tariff}" | id)
post "/sessions/$session/start" '{}' >/dev/null
connected "$work/agent3" '"locked":false'
measure "service set-up, playing" "$agent" "$lock"
