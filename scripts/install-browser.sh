#!/usr/bin/env bash
# Headless Chromium for tests/test_browser.py (Debian package `chromium`, driven by Playwright
# through executable_path, so Playwright's own browser download is never needed).
# Idempotent: does nothing when /usr/bin/chromium exists; installs it with apt-get as root;
# otherwise says why it skips (the browser test then skips with the same reason).
set -euo pipefail
if [ -x /usr/bin/chromium ]; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "install-browser: /usr/bin/chromium is missing and this is not root; skipping" \
       "(run 'sudo apt-get install -y chromium' to enable tests/test_browser.py)" >&2
  exit 0
fi
if ! command -v apt-get >/dev/null; then
  echo "install-browser: /usr/bin/chromium is missing and there is no apt-get; skipping" >&2
  exit 0
fi
echo "install-browser: installing chromium with apt-get (a few minutes the first time)" >&2
export DEBIAN_FRONTEND=noninteractive
if ! { apt-get update -qq && apt-get install -y -qq chromium >/dev/null; }; then
  echo "install-browser: apt-get could not install chromium; tests/test_browser.py will skip" >&2
fi
