#!/usr/bin/env bash
# Install everything (idempotent), then lint, type-check and run the whole test suite.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
bash scripts/bootstrap.sh
venv="${AREOSCAN_VENV:-$root/.venv}"
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-2}"
echo "== ruff" && "$venv/bin/ruff" check src tests benchmarks
echo "== mypy" && "$venv/bin/mypy" src/areoscan
echo "== pytest" && "$venv/bin/python" -m pytest "$@"
