#!/usr/bin/env bash
# Runs every Clubhall test: formatting, lints, unit tests, API tests against
# a real server, the property test and the durability test. On a fresh
# machine it installs what the tests need first.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! cargo nextest --version >/dev/null 2>&1; then
  echo "== installing cargo-nextest"
  cargo install cargo-nextest --locked
fi

echo "== cargo fmt --check"
cargo fmt --all -- --check
echo "== cargo clippy"
cargo clippy --workspace --all-targets -- -D warnings
echo "== tests"
cargo nextest run --workspace --no-fail-fast "$@"
