#!/usr/bin/env bash
# Creates .venv and installs the project with the extras asked for (default: dev tools) on a
# fresh machine; a no-op when pyproject.toml has not changed since those extras were installed.
#   bash scripts/bootstrap.sh            # the embedded default (DuckDB)
#   bash scripts/bootstrap.sh dev,spark  # plus the Spark engine (what the tests need)
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
  echo "Python 3.11 or newer is required ($PYTHON is $("$PYTHON" --version 2>&1))." >&2
  exit 1
fi

EXTRAS=${1:-dev}
stamp=".venv/.installed-$(sha256sum pyproject.toml | cut -c1-16)"
# the stamp lists the extras installed for this pyproject.toml, one per line
if [ -f "$stamp" ] && [ -z "$(comm -23 <(tr , '\n' <<<"$EXTRAS" | sort -u) <(sort -u "$stamp"))" ]; then
  exit 0
fi
[ -f "$stamp" ] && EXTRAS="$EXTRAS,$(paste -sd, "$stamp")"

echo "Setting up .venv (first run only) ..." >&2
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
# uv resolves and installs the stack in seconds; plain pip is the fallback.
if .venv/bin/python -m pip install --quiet --disable-pip-version-check uv 2>/dev/null \
   && .venv/bin/uv pip install --quiet --python .venv/bin/python -e ".[$EXTRAS]"; then
  :
else
  .venv/bin/python -m pip install --quiet --disable-pip-version-check -e ".[$EXTRAS]"
fi
rm -f .venv/.installed-*
tr , '\n' <<<"$EXTRAS" | sort -u >"$stamp"
echo "Installed into .venv (extras: $EXTRAS)." >&2
