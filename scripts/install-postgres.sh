#!/usr/bin/env bash
# PostgreSQL server binaries for the PostgreSQL store tests (Debian package `postgresql`); the
# tests start a throwaway server of their own (tests/postgres_server.py) and never use the
# package's cluster. Idempotent: does nothing when initdb exists; installs with apt-get as root;
# otherwise says why it skips (those tests then skip with the same reason, or fail under CI).
set -euo pipefail
if compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || command -v initdb >/dev/null; then
  exit 0
fi
exec bash "$(dirname "$0")/apt-install.sh" postgresql "the PostgreSQL store tests"
