#!/usr/bin/env bash
# The README's test command: installs what it needs, then lints, validates and tests.
set -euo pipefail
cd "$(dirname "$0")/.."
# the tests build the marts on Spark too (the engine-parity test): install that extra
bash scripts/bootstrap.sh dev,spark
export PATH="$PWD/.venv/bin:$PATH"

echo "== dbt parse (the manifest Dagster loads)"
dbt parse --quiet --project-dir dbt_project --profiles-dir dbt_project

echo "== ruff"
ruff check .
ruff format --check .

echo "== dagster definitions validate"
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
GROWTH_HOME="$scratch" DAGSTER_HOME="$scratch" dagster definitions validate -w workspace.yaml

echo "== pytest"
python -m pytest -q -n auto --durations=15 "$@"
