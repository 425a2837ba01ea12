#!/bin/sh
# Installs Debian's Chromium for the browser tests (test/browser), only if it is missing.
# The tests drive it with playwright-core; no browser is ever downloaded by npm/playwright.
set -eu
CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
if [ -x "$CHROMIUM" ]; then
  echo "chromium: $("$CHROMIUM" --version 2>/dev/null || echo present)"
  exit 0
fi
sh "$(dirname "$0")/apt-install.sh" chromium
"$CHROMIUM" --version
