# The two commands a user types are `make demo` and `make test`; every target creates or
# refreshes .venv from pyproject.toml when needed.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: demo test lint typecheck serve bench soak schema clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip setuptools wheel
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

demo: $(STAMP)
	$(BIN)/crmkpi demo

serve: $(STAMP)
	$(BIN)/crmkpi serve

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check core api connectors
	$(BIN)/mypy

typecheck: lint

test: lint
	$(BIN)/python -m pytest

bench: $(STAMP)
	$(BIN)/python -m bench

soak: $(STAMP)
	CRMKPI_SOAK=1 $(BIN)/python -m pytest -m slow tests

schema: $(STAMP)
	$(BIN)/crmkpi schema > schema.graphql

clean:
	rm -rf $(VENV) var/.demo .mypy_cache .ruff_cache .pytest_cache
