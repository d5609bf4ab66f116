# Watchkeeper — two commands: `make run` and `make test`.
PYTHON ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin
# Two workers on the two cores; the suite is written for parallel runs (own databases per worker).
PYTEST_ARGS ?= -n 2
export WATCHKEEPER_DATABASE_URL ?= sqlite:///./watchkeeper.db

.PHONY: run test install install-test system-deps lint schema clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

install: $(BIN)/python
	$(BIN)/pip install --quiet -e .

install-test: $(BIN)/python
	$(BIN)/pip install --quiet -e '.[test]'

## Start Watchkeeper on http://127.0.0.1:8080 with SQLite and the example configuration.
run: install
	$(BIN)/watchkeeper serve --config examples/watchkeeper.yaml

## Install what the tests need (Debian packages too, when root) and run the whole suite.
test: install-test system-deps
	$(BIN)/lint-imports --config pyproject.toml
	$(BIN)/python -m pytest $(PYTEST_ARGS)

system-deps:
	@bash scripts/system-deps.sh

schema: install
	$(BIN)/watchkeeper schema > docs/schema/watchkeeper.schema.json

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info src/*.egg-info
