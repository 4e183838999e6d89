#!/usr/bin/env bash
# Runs every Clubhall test: formatting, lints, unit tests, API and agent
# tests against a real server, the property test, the durability test, the
# browser tests in headless Chromium, the lock screen on a real X display
# (Xvfb), the operator page's modules (ESLint), and the Windows build of the
# agent and the lock screen. On a fresh machine it installs
# what the tests need first.
set -euo pipefail
cd "$(dirname "$0")/.."

./scripts/install-test-deps.sh

# A CI run builds once from scratch: incremental caches would only take disk.
if [ -n "${CI:-}" ]; then export CARGO_INCREMENTAL=0; fi
report_disk() { echo "== disk: target $(du -sh "${CARGO_TARGET_DIR:-target}" 2>/dev/null | cut -f1), free $(df -h --output=avail . | tail -1 | tr -d ' ')"; }
trap report_disk EXIT

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
cargo nextest run --workspace --no-fail-fast "$@"
echo "== schemathesis: the API against its OpenAPI document"
./scripts/schemathesis.sh
