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
# pyproject.toml and this script decide what is installed, and how
stamp=".venv/.installed-$(cat pyproject.toml scripts/bootstrap.sh | sha256sum | cut -c1-16)"
# the stamp lists the extras installed for this pyproject.toml, one per line
if [ -f "$stamp" ] && [ -z "$(comm -23 <(tr , '\n' <<<"$EXTRAS" | sort -u) <(sort -u "$stamp"))" ]; then
  exit 0
fi
[ -f "$stamp" ] && EXTRAS="$EXTRAS,$(paste -sd, "$stamp")"

echo "Setting up .venv (first run only) ..." >&2
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
# uv resolves and installs the stack in seconds; plain pip is the fallback. Bytecode is
# compiled at install (pip's default, not uv's): where PYTHONDONTWRITEBYTECODE is set, every
# process would otherwise compile dagster, dbt and great-expectations from source again, some
# 9 s of each run and of each dbt invocation.
if .venv/bin/python -m pip install --quiet --disable-pip-version-check uv 2>/dev/null \
   && .venv/bin/uv pip install --quiet --compile-bytecode --python .venv/bin/python \
        -e ".[$EXTRAS]"; then
  :
else
  .venv/bin/python -m pip install --quiet --disable-pip-version-check -e ".[$EXTRAS]"
fi
rm -f .venv/.installed-*
tr , '\n' <<<"$EXTRAS" | sort -u >"$stamp"
echo "Installed into .venv (extras: $EXTRAS)." >&2
