#!/usr/bin/env bash
# Quick start: install (first run) and serve the API + pages on the bundled plans.
# Embedded defaults: plans from ./plans, SQLite file under ./var; no external server needed.
# HOST (127.0.0.1), PORT (8000) and WORKERS (1) choose where and on how many processes
# (python -m coverage.serve: one TCP_NODELAY listener per worker; see its docstring).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export COVERAGE_PLANS_DIR=${COVERAGE_PLANS_DIR:-plans}
exec .venv/bin/python -m coverage.serve "$@"
