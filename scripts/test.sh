#!/usr/bin/env bash
# The whole test suite: install (first run), lint, then every test. .ci/run calls exactly this.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/install-browser.sh
bash scripts/install-postgres.sh
.venv/bin/ruff check src tests scripts
.venv/bin/python -m pytest -q "$@"
