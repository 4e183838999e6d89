#!/usr/bin/env bash
# Runs every Clubhall test: formatting, lints, unit tests, API and agent
# tests against a real server, the property test, the durability test and
# the browser tests in headless Chromium. On a fresh machine it installs
# what the tests need first.
set -euo pipefail
cd "$(dirname "$0")/.."

./scripts/install-test-deps.sh

echo "== cargo fmt --check"
cargo fmt --all -- --check
echo "== cargo clippy"
cargo clippy --workspace --all-targets -- -D warnings
echo "== binaries (the CLI tests run the real club-agent)"
cargo build --workspace --bins
echo "== tests"
cargo nextest run --workspace --no-fail-fast "$@"
