#!/usr/bin/env bash
# Checks the operator page's ES modules with ESLint (from npm, into
# server/web/node_modules, which git ignores and the server never serves):
# every name a module uses is declared or imported, no import lies unused.
set -euo pipefail
cd "$(dirname "$0")/../server/web"
ESLINT_VERSION=9.39.5
GLOBALS_VERSION=16.5.0
if [ "$(node_modules/.bin/eslint --version 2>/dev/null)" != "v$ESLINT_VERSION" ]; then
  echo "== installing eslint $ESLINT_VERSION (npm) into server/web/node_modules"
  rm -rf node_modules
  npm install --no-save --no-package-lock --no-audit --no-fund --silent \
    "eslint@$ESLINT_VERSION" "globals@$GLOBALS_VERSION"
fi
node_modules/.bin/eslint --config eslint.config.mjs js
