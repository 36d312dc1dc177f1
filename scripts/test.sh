#!/usr/bin/env bash
# Install everything (idempotent), then lint (ruff check + format), check the import layers
# (import-linter contract in pyproject.toml), type-check and run the whole test suite.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
bash scripts/bootstrap.sh
venv="${AREOSCAN_VENV:-$root/.venv}"
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-2}"
echo "== ruff" && "$venv/bin/ruff" check src tests benchmarks
echo "== ruff format" && "$venv/bin/ruff" format --check src tests benchmarks
echo "== import layers" && "$venv/bin/lint-imports"
echo "== mypy" && "$venv/bin/mypy" src/areoscan
echo "== pytest" && "$venv/bin/python" -m pytest "$@"
