#!/usr/bin/env bash
# apt-install.sh PACKAGE WHAT: install a Debian package a test needs, with apt-get as root;
# otherwise say why it skips (WHAT then skips with the same reason). Never fails the caller.
set -euo pipefail
package=$1 what=$2
if [ "$(id -u)" -ne 0 ]; then
  echo "apt-install: $package is missing and this is not root; skipping" \
       "(run 'sudo apt-get install -y $package' to enable $what)" >&2
  exit 0
fi
if ! command -v apt-get >/dev/null; then
  echo "apt-install: $package is missing and there is no apt-get; skipping $what" >&2
  exit 0
fi
echo "apt-install: installing $package with apt-get (a few minutes the first time)" >&2
export DEBIAN_FRONTEND=noninteractive
if ! { apt-get update -qq && apt-get install -y -qq "$package" >/dev/null; }; then
  echo "apt-install: apt-get could not install $package; $what will skip" >&2
fi
