#!/usr/bin/env bash
# Installs what the tests need and a fresh machine lacks: cargo-nextest;
# systemd-analyze to check the service units; Debian's Chromium with its
# chromedriver for the browser tests; Xvfb, xdotool, x11-utils and
# ImageMagick for the lock screen on a real X display; mingw-w64 and Rust's x86_64-pc-windows-gnu target to build the
# agent and the lock screen for Windows; Python's venv and schemathesis
# (from PyPI, into target/schemathesis-venv) for the API fuzzing run; Node.js
# and npm for ESLint on the operator page (scripts/lint-web.sh installs it);
# Prometheus's promtool to check the server's /metrics; PostgreSQL, for the
# tests' second pass on a throw-away cluster (scripts/pg-cluster.sh).
set -euo pipefail

if ! cargo nextest --version >/dev/null 2>&1; then
  echo "== installing cargo-nextest"
  cargo install cargo-nextest --locked
fi

need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v chromedriver >/dev/null 2>&1 || need+=(chromium-driver)
[ -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || need+=(fonts-dejavu-core)
command -v Xvfb >/dev/null 2>&1 || need+=(xvfb)
command -v xdotool >/dev/null 2>&1 || need+=(xdotool)
command -v xwininfo >/dev/null 2>&1 || need+=(x11-utils)
command -v import >/dev/null 2>&1 || need+=(imagemagick)
command -v x86_64-w64-mingw32-gcc >/dev/null 2>&1 || need+=(gcc-mingw-w64-x86-64)
[ -x /usr/bin/python3 ] || need+=(python3)
command -v systemd-analyze >/dev/null 2>&1 || need+=(systemd)
command -v strip >/dev/null 2>&1 || need+=(binutils)
python3 -c 'import ensurepip' >/dev/null 2>&1 || need+=(python3-venv)
command -v node >/dev/null 2>&1 || need+=(nodejs)
command -v npm >/dev/null 2>&1 || need+=(npm)
command -v promtool >/dev/null 2>&1 || need+=(prometheus)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need+=(postgresql)
if [ ${#need[@]} -gt 0 ]; then
  echo "== installing Debian packages: ${need[*]}"
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
  # The tests make their own clusters: Debian's default one is not needed.
  if [ ! -e /etc/postgresql-common/createcluster.conf ]; then
    $sudo mkdir -p /etc/postgresql-common
    echo "create_main_cluster = false" | $sudo tee /etc/postgresql-common/createcluster.conf >/dev/null
  fi
  $sudo apt-get update -q
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q "${need[@]}"
fi

if ! rustup target list --installed | grep -qx x86_64-pc-windows-gnu; then
  echo "== adding the Rust target x86_64-pc-windows-gnu"
  rustup target add x86_64-pc-windows-gnu
fi

SCHEMATHESIS_VERSION=4.32.5
venv="${CARGO_TARGET_DIR:-target}/schemathesis-venv"
if [ "$("$venv/bin/schemathesis" --version 2>/dev/null)" != "schemathesis, version $SCHEMATHESIS_VERSION" ]; then
  echo "== installing schemathesis $SCHEMATHESIS_VERSION (PyPI) into $venv"
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION"
fi
