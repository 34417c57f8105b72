# agentical-repo — every target installs what it needs first (idempotent).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
AGENTICAL_DB_URL ?= surrealkv://.data/agentical
export AGENTICAL_DB_URL

.PHONY: install test lint demo fastapi-example bench schema status verify up down test-container clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e ".[embedded,cli,dev]"
	touch $(STAMP)

install: $(STAMP)

test: install
	$(BIN)/python -m agentical_repo.testing
	$(BIN)/python -m pytest --cov=agentical_repo --cov-report=term --cov-fail-under=90 -q

# The suite's ws:// subset a second time, through the loopback bridge (an embedded engine
# behind a loopback bridge, not a server): docs/transports.md says what each file covers.
WS_TESTS ?= tests/integration/test_database.py tests/integration/test_transaction.py \
	tests/integration/test_concurrency.py tests/integration/test_error_mapping.py \
	tests/integration/test_access_control.py tests/integration/security \
	tests/integration/repositories/test_base_repository.py tests/integration/repositories/test_tools.py \
	tests/integration/repositories/test_users.py
.PHONY: test-ws
test-ws: install
	PYTHONPATH=tests $(BIN)/python -m ws_bridge --durable -- $(BIN)/python -m pytest -q -p no:cacheprovider -rs $(WS_TESTS)

lint: install
	$(BIN)/ruff check agentical_repo tests benchmarks examples
	$(BIN)/ruff format --check agentical_repo tests benchmarks examples
	$(BIN)/mypy --strict agentical_repo examples benchmarks tests
	$(BIN)/lint-imports
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --site-dir site

demo: install
	$(BIN)/python examples/demo.py --url "$(AGENTICAL_DB_URL)" $(DEMO_ARGS)

fastapi-example: install
	$(BIN)/uvicorn examples.fastapi_app:app --port $(or $(PORT),8000)

bench: install
	$(BIN)/python benchmarks/bench.py $(BENCH_ARGS)
	$(BIN)/python benchmarks/bench_ws.py $(BENCH_WS_ARGS)
	$(BIN)/python benchmarks/bench_memory.py $(BENCH_MEMORY_ARGS)
	$(BIN)/python benchmarks/bench_bulk.py $(BENCH_BULK_ARGS)
	$(BIN)/python benchmarks/targets.py

schema: install
	$(BIN)/agentical-repo schema apply --url "$(AGENTICAL_DB_URL)"

status: install
	$(BIN)/agentical-repo schema status --url "$(AGENTICAL_DB_URL)"

verify: install
	$(BIN)/agentical-repo schema verify --url "$(AGENTICAL_DB_URL)"

up:
	docker compose up -d --wait surrealdb

down:
	docker compose down

test-container: install
	AGENTICAL_TEST_CONTAINER=1 $(BIN)/python -m pytest -q

# Mutation testing of the core modules (mutation/gate.py, docs/testing.md): every mutant by
# default; MUTATION_ARGS="--sample 240" runs the fixed seeded sample CI runs.
.PHONY: mutation
mutation: install
	$(BIN)/python mutation/gate.py $(MUTATION_ARGS)

clean:
	rm -rf .data dist build .pytest_cache .mypy_cache .ruff_cache .coverage
