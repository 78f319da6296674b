#!/usr/bin/env bash
# Headless Chromium for tests/test_browser.py (Debian package `chromium`, driven by Playwright
# through executable_path, so Playwright's own browser download is never needed).
# Idempotent: does nothing when /usr/bin/chromium exists; installs it with apt-get as root;
# otherwise says why it skips (the browser test then skips with the same reason).
set -euo pipefail
if [ -x /usr/bin/chromium ]; then
  exit 0
fi
exec bash "$(dirname "$0")/apt-install.sh" chromium tests/test_browser.py
