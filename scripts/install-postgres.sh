#!/usr/bin/env bash
# PostgreSQL server binaries for the PostgreSQL store tests (Debian package `postgresql`); the
# tests start a throwaway server of their own (tests/postgres_server.py) and never use the
# package's cluster. Idempotent: does nothing when initdb exists; installs with apt-get as root;
# otherwise says why it skips (those tests then skip with the same reason, or fail under CI).
set -euo pipefail
if compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || command -v initdb >/dev/null; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "install-postgres: PostgreSQL is missing and this is not root; skipping" \
       "(run 'sudo apt-get install -y postgresql' to run the PostgreSQL store tests)" >&2
  exit 0
fi
if ! command -v apt-get >/dev/null; then
  echo "install-postgres: PostgreSQL is missing and there is no apt-get; skipping" >&2
  exit 0
fi
echo "install-postgres: installing postgresql with apt-get" >&2
export DEBIAN_FRONTEND=noninteractive
if ! { apt-get update -qq && apt-get install -y -qq postgresql >/dev/null; }; then
  echo "install-postgres: apt-get could not install postgresql; the PostgreSQL tests will skip" >&2
fi
