# The two commands of the README, plus conveniences. Each installs what it needs first.
.PHONY: demo test install ui lint clean

demo: install
	.venv/bin/growth demo

test:
	bash scripts/test.sh

install:
	bash scripts/bootstrap.sh

ui: install
	.venv/bin/growth ui

lint: install
	.venv/bin/ruff check . && .venv/bin/ruff format --check .

clean:
	rm -rf .growth dbt_project/target dbt_project/logs .pytest_cache
