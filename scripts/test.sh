#!/usr/bin/env bash
# The whole test suite: unit tests (tests/) and co-simulation (rtl_tests/).
# Installs what it needs first (scripts/setup.sh). Extra arguments go to pytest; the
# tests run on every core (pytest-xdist, -n auto; add -n 0 to run them in one process).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
./scripts/setup.sh
echo "test: ruff"
.venv/bin/ruff check .
echo "test: pytest"
exec .venv/bin/python -m pytest -n auto "$@"
