# Two commands a newcomer needs: `make demo` and `make test`. Everything else is installed here.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PYTEST_ARGS ?=

.PHONY: install demo lint test bench-quick clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

install: $(VENV)/.installed

# The bot on the embedded SQLite database with a demo retailer, tried in the terminal console
# (frontline-console, from the `local` extra that `dev` pulls in), while the demo web shop sends live
# events through the tracking API (--live-shop).
demo: install
	$(BIN)/frontline migrate
	$(BIN)/frontline demo
	$(BIN)/frontline-console --live-shop

# The gate on the basics: ruff's lint rules and mypy (strict on store/ and handlers/), both configured in
# pyproject.toml; any finding fails the target.
lint: install
	$(BIN)/ruff check --quiet .
	$(BIN)/mypy

# Lint and types first (seconds, so a finding fails fast), then every test, on SQLite and on a
# throwaway PostgreSQL cluster (started when PostgreSQL is installed).
test: lint
	tests/with_postgres.sh $(BIN)/pytest -q -n 2 $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis .mypy_cache .ruff_cache frontline.db frontline.db-wal frontline.db-shm
