#!/usr/bin/env bash
# Quick start: install (first run) and serve the API + pages on the bundled plans.
# Embedded defaults: plans from ./plans, SQLite file under ./var; no external server needed.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export COVERAGE_PLANS_DIR=${COVERAGE_PLANS_DIR:-plans}
exec .venv/bin/uvicorn coverage.web:app --host "${HOST:-127.0.0.1}" --port "${PORT:-8000}"
