#!/usr/bin/env bash
# Measures the real club-agent binary idle and connected to a real server:
# resident memory (VmRSS) and CPU over a window, from /proc. Linux only.
# Usage: scripts/agent-footprint.sh [seconds]   (default 60)
set -euo pipefail
cd "$(dirname "$0")/.."
window=${1:-60}
cargo build --release -q -p club-server -p club-agent
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT

port=$((20000 + RANDOM % 20000))
./target/release/club-server --listen 127.0.0.1:$port --database "$work/club.db" \
  --owner-password footprint-1 > "$work/server.log" 2>&1 &
until grep -q "listening" "$work/server.log" 2>/dev/null; do sleep 0.1; done

api=http://127.0.0.1:$port/api/v1
token=$(curl -s "$api/auth/login" -H 'content-type: application/json' \
  -d '{"login":"owner","password":"footprint-1"}' | sed 's/.*"token":"\([^"]*\)".*/\1/')
auth="Authorization: Bearer $token"
zone=$(curl -s "$api/zones" -H "$auth" -H 'content-type: application/json' -d '{"name":"Z"}' | sed 's/.*"id":\([0-9]*\).*/\1/')
code=$(curl -s "$api/devices" -H "$auth" -H 'content-type: application/json' \
  -d "{\"name\":\"PC\",\"zone_id\":$zone,\"x\":0,\"y\":0}" | sed 's/.*"enrollment_code":"\([^"]*\)".*/\1/')
./target/release/club-agent enroll --server "http://127.0.0.1:$port" --code "$code" --state-dir "$work/agent" >/dev/null
RUST_LOG=warn ./target/release/club-agent run --state-dir "$work/agent" --ui-listen 127.0.0.1:0 &
agent=$!
until ./target/release/club-agent status --state-dir "$work/agent" 2>/dev/null | grep -q '"connected":true'; do sleep 0.2; done

ticks=$(getconf CLK_TCK)
cpu() { awk '{print $14 + $15}' "/proc/$agent/stat"; }
before=$(cpu)
sleep "$window"
after=$(cpu)
rss=$(awk '/VmRSS/ {print $2}' "/proc/$agent/status")
hwm=$(awk '/VmHWM/ {print $2}' "/proc/$agent/status")
pct=$(awk -v a="$after" -v b="$before" -v t="$ticks" -v w="$window" 'BEGIN { printf "%.3f", (a - b) / t / w * 100 }')
echo "club-agent idle, connected, ${window}s window:"
echo "  RSS ${rss} KiB (peak ${hwm} KiB)"
echo "  CPU ${pct} % of one core ($((after - before)) ticks of 1/${ticks} s)"
