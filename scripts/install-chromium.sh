#!/usr/bin/env bash
# Installs headless Chromium for the Web UI browser test (test/ui/web-ui.browser.test.ts), from Debian's
# `chromium` package. Idempotent: does nothing when /usr/bin/chromium already exists. Works as root, or
# through sudo otherwise. playwright-core (an npm devDependency) drives it; no browser is downloaded by npm.
set -euo pipefail

CHROMIUM=/usr/bin/chromium
if [ -x "$CHROMIUM" ]; then
  echo "install-chromium: $CHROMIUM is already installed"
  exit 0
fi

if [ "$(id -u)" -eq 0 ]; then
  SUDO=()
elif command -v sudo >/dev/null 2>&1; then
  SUDO=(sudo)
else
  echo "install-chromium: $CHROMIUM is missing and this is not root and there is no sudo; install the Debian package 'chromium' as root" >&2
  exit 1
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "install-chromium: apt-get not found; install Chromium so that $CHROMIUM exists (Debian/Ubuntu package 'chromium')" >&2
  exit 1
fi

echo "install-chromium: installing the Debian package 'chromium' (about a minute)…"
"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium
if [ ! -x "$CHROMIUM" ]; then
  echo "install-chromium: the package installed but $CHROMIUM does not exist" >&2
  exit 1
fi
echo "install-chromium: $("$CHROMIUM" --version 2>/dev/null || echo "$CHROMIUM installed")"
