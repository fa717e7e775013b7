#!/usr/bin/env bash
# Browser tests drive Debian's Chromium through Playwright (a browser download is not possible here).
set -eu
if [ -x /usr/bin/chromium ]; then
  exit 0
fi
SUDO=""
if [ "$(id -u)" != "0" ]; then
  if command -v sudo >/dev/null && sudo -n true 2>/dev/null; then SUDO="sudo -n"; else
    echo "Chromium is missing. Install it with: sudo apt-get install chromium chromium-driver" >&2
    exit 1
  fi
fi
if ! command -v apt-get >/dev/null; then
  echo "Chromium is missing and this is not a Debian system: install Chromium at /usr/bin/chromium." >&2
  exit 1
fi
echo "Installing Chromium for the browser tests (Debian packages chromium, chromium-driver)..."
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium chromium-driver >/dev/null
/usr/bin/chromium --version
