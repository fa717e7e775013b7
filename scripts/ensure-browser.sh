#!/usr/bin/env bash
# Browser tests drive Debian's Chromium through Playwright (a browser download is not possible here).
set -eu
if [ -x /usr/bin/chromium ]; then
  exit 0
fi
bash "$(dirname "$0")/apt-install.sh" "Chromium for the browser tests" chromium chromium-driver
/usr/bin/chromium --version
