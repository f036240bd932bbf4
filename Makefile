# Two entry points: `make run` starts the bot, `make test` runs every check.
# Both create .venv and install the project into it first.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PG_TEST_URL ?= postgresql://postgres@127.0.0.1:5432/test

.PHONY: install run test test-sqlite test-postgres lint

$(BIN)/o2c: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[test]"
	touch $(BIN)/o2c

install: $(BIN)/o2c

run: install
	$(BIN)/o2c run

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

test-sqlite: install
	O2C_TEST_DATABASE_URL= $(BIN)/pytest

test-postgres: install
	O2C_TEST_DATABASE_URL=$(PG_TEST_URL) $(BIN)/pytest

test: lint test-sqlite test-postgres
