# The two commands of the README: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
HOST   ?= 127.0.0.1
PORT   ?= 8000

.PHONY: run test lint types unit venv clean peers

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

# The benchmark replay's own package (AgentDojo's suites and checks), for its tests; not needed to run.
TEST_STAMP := $(VENV)/.installed-test
$(TEST_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[dev,agentdojo]'
	touch $(TEST_STAMP)

venv: $(STAMP)

# Prepare the embedded SQLite store (migrations, first admin key, demo data) and serve on HOST:PORT.
run: $(STAMP)
	mkdir -p var
	$(BIN)/agentgov db upgrade
	$(BIN)/agentgov demo load --if-empty
	$(BIN)/agentgov serve --host $(HOST) --port $(PORT)

lint: $(STAMP)
	$(BIN)/ruff check src tests bench examples
	$(BIN)/ruff format --check src tests bench examples

types: $(STAMP)
	$(BIN)/mypy

# Reference MCP servers from npm, the gateway tests' real peers (the tests also install them when absent).
peers:
	npm ci --prefix tests/peers --no-audit --no-fund

unit: $(TEST_STAMP)
	$(BIN)/pytest -q

test: lint types unit

clean:
	rm -rf $(VENV) var/*.db var/*.db-wal var/*.db-shm
