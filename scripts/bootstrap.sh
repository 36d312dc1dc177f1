#!/usr/bin/env bash
# Install everything areoscan needs on a fresh Debian machine with Python 3.11, idempotently:
# Debian packages (OpenJPEG for glymur), a virtual environment in .venv, and the package itself.
# Re-running is cheap: a stamp file records the hash of pyproject.toml that was installed.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
venv="${AREOSCAN_VENV:-$root/.venv}"

need_apt=()
for pkg in libopenjp2-7 chromium; do  # chromium: headless smoke test of the survey HTML report
  dpkg -s "$pkg" >/dev/null 2>&1 || need_apt+=("$pkg")
done
if [ "${#need_apt[@]}" -gt 0 ]; then
  echo "bootstrap: installing Debian packages: ${need_apt[*]}" >&2
  sudo_cmd=""
  [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

py="${PYTHON:-python3.11}"
command -v "$py" >/dev/null 2>&1 || py=python3
[ -x "$venv/bin/python" ] || "$py" -m venv "$venv"

stamp="$venv/.areoscan-stamp"
want="$(sha256sum pyproject.toml | cut -d' ' -f1)"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "bootstrap: installing Python packages into $venv (first run takes a few minutes)" >&2
  "$venv/bin/python" -m pip install -q --upgrade pip setuptools wheel
  "$venv/bin/python" -m pip install -q -e ".[dev]"
  echo "$want" > "$stamp"
fi
