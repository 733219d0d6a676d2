# The two commands a user types are `make demo` and `make test`; every target creates or
# refreshes .venv from pyproject.toml when needed.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
# The typed-client generator has its own virtualenv: it needs graphql-core 3.2, the server 3.3.
CODEGEN := .venv-codegen/.stamp
CLIENT_DIR := examples/typed_client

.PHONY: demo test lint typecheck serve bench soak schema client clean

# The dashboard's browser test drives Debian's Chromium (never a downloaded browser build).
CHROMIUM := /usr/bin/chromium

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip setuptools wheel
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@# Tests start their own PostgreSQL from the server binaries; without any, from a wheel.
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null || \
		$(BIN)/python -m pip install --quiet 'pgserver>=0.1.4'
	@touch $(STAMP)

demo: $(STAMP)
	$(BIN)/crmkpi demo

serve: $(STAMP)
	$(BIN)/crmkpi serve

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check core api connectors examples
	$(BIN)/mypy

typecheck: lint

# Four processes (pytest-xdist) on two cores: most end-to-end tests wait on simulators,
# CLI subprocesses and PostgreSQL rather than compute. Each starts its own PostgreSQL
# and SQLite databases. Work stealing: a process that runs out of tests takes some of
# another's, instead of idling while one process works through a queue of long syncs.
test: lint $(CHROMIUM) $(CODEGEN)
	$(BIN)/python -m pytest -n 4 --dist worksteal

# A file target: nothing to do (and nothing printed) once Chromium is installed.
$(CHROMIUM):
	@if [ "$$(id -u)" != 0 ]; then \
		echo "The browser test needs Chromium: sudo apt-get install --no-install-recommends chromium" >&2; \
		exit 1; \
	fi
	@echo "Installing Debian's chromium for the dashboard browser test..."
	@apt-get update -qq >/dev/null
	@DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null

$(CODEGEN): $(CLIENT_DIR)/requirements-codegen.txt
	@test -x .venv-codegen/bin/python || $(PYTHON) -m venv .venv-codegen
	.venv-codegen/bin/python -m pip install --quiet -r $(CLIENT_DIR)/requirements-codegen.txt
	@touch $(CODEGEN)

# Regenerate the typed client example from schema.graphql (tests fail while it is stale).
client: $(CODEGEN)
	cd $(CLIENT_DIR) && PATH="$(CURDIR)/.venv-codegen/bin:$$PATH" ../../.venv-codegen/bin/ariadne-codegen --config codegen.toml

bench: $(STAMP)
	$(BIN)/python -m bench

# The slow reliability tests: 10 minutes of API load while syncing (CRMKPI_SOAK_SECONDS), on
# SQLite and PostgreSQL side by side, 20 SIGKILLs, faults over many seeds.
soak: $(STAMP)
	CRMKPI_SOAK=1 $(BIN)/python -m pytest -n 2 -m slow tests

schema: $(STAMP)
	$(BIN)/crmkpi schema > schema.graphql
	$(BIN)/crmkpi catalogue > docs/kpis.md

clean:
	rm -rf $(VENV) .venv-codegen var/.demo .mypy_cache .ruff_cache .pytest_cache
