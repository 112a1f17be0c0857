#!/usr/bin/env bash
# Creates .venv and installs the project (with dev tools) on a fresh machine; a no-op when
# pyproject.toml has not changed since the last install.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
  echo "Python 3.11 or newer is required ($PYTHON is $("$PYTHON" --version 2>&1))." >&2
  exit 1
fi

stamp=".venv/.installed-$(sha256sum pyproject.toml | cut -c1-16)"
if [ -f "$stamp" ]; then
  exit 0
fi

echo "Setting up .venv (first run only) ..." >&2
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
# uv resolves and installs the stack in seconds; plain pip is the fallback.
if .venv/bin/python -m pip install --quiet --disable-pip-version-check uv 2>/dev/null \
   && .venv/bin/uv pip install --quiet --python .venv/bin/python -e ".[dev]"; then
  :
else
  .venv/bin/python -m pip install --quiet --disable-pip-version-check -e ".[dev]"
fi
rm -f .venv/.installed-*
touch "$stamp"
echo "Installed into .venv." >&2
