#!/usr/bin/env bash
# Runs every Clubhall test: formatting, lints, unit tests, API and agent
# tests against a real server, the property test, the durability test, the
# browser tests in headless Chromium, the lock screen on a real X display
# (Xvfb), the operator page's modules (ESLint), and the Windows build of the
# agent and the lock screen; then every test of a server again on a
# throw-away PostgreSQL cluster. On a fresh machine it installs what the
# tests need first.
set -euo pipefail
cd "$(dirname "$0")/.."

./scripts/install-test-deps.sh

# A CI run builds once from scratch: incremental caches would only take disk.
if [ -n "${CI:-}" ]; then export CARGO_INCREMENTAL=0; fi
report_disk() { echo "== disk: target $(du -sh "${CARGO_TARGET_DIR:-target}" 2>/dev/null | cut -f1), free $(df -h --output=avail . | tail -1 | tr -d ' ')"; }
pg_dir=""
finish() {
  if [ -n "$pg_dir" ]; then
    ./scripts/pg-cluster.sh stop "$pg_dir" || true
    rm -rf "$pg_dir"
  fi
  report_disk
}
trap finish EXIT

echo "== cargo fmt --check"
cargo fmt --all -- --check
echo "== cargo clippy"
cargo clippy --workspace --all-targets -- -D warnings
echo "== eslint: the operator page's modules"
./scripts/lint-web.sh
echo "== the server without the demo agents (it does not need club-agent)"
cargo clippy -p club-server --no-default-features -- -D warnings
echo "== Windows: club-agent and club-lock for x86_64-pc-windows-gnu (built, not run)"
cargo clippy --target x86_64-pc-windows-gnu -p club-agent -p club-lock -- -D warnings
cargo build --target x86_64-pc-windows-gnu -p club-agent -p club-lock --bins
echo "== binaries (the CLI tests run the real club-agent, the lock tests club-lock)"
cargo build --workspace --bins
echo "== tests"
# tests/tests/postgres.rs is for the PostgreSQL pass below.
cargo nextest run --workspace --no-fail-fast -E 'not binary(postgres)' "$@"
echo "== tests on PostgreSQL: every test of a server again, each on a new database of a throw-away cluster"
pg_dir=$(mktemp -d "${TMPDIR:-/tmp}/clubhall-pg.XXXXXX")
pg_port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
./scripts/pg-cluster.sh start "$pg_dir" "$pg_port" fast
# The lock screen, the Windows build and the packaging do not touch a
# database; club-bench's own unit tests neither.
CLUBHALL_TEST_POSTGRES="postgres://clubhall@127.0.0.1:$pg_port" \
  cargo nextest run -p club-tests --no-fail-fast \
  -E 'not (binary(lock_screen) | binary(windows_build) | binary(packaging) | kind(bin))' "$@"
echo "== schemathesis: the API against its OpenAPI document"
./scripts/schemathesis.sh
echo "== schemathesis again, the server on PostgreSQL"
psql -q -h 127.0.0.1 -p "$pg_port" -U clubhall -d postgres -c "CREATE DATABASE fuzz"
CLUBHALL_FUZZ_DATABASE="postgres://clubhall@127.0.0.1:$pg_port/fuzz" ./scripts/schemathesis.sh
