# Two entry points: `make demo` and `make test`. Both create .venv when absent and are idempotent.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
PACKAGES := kpi_core connectors writeback partnerkpi

.PHONY: demo test lint typecheck pytest bench clean chromium postgres conformance-clients

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e '.[dev,bench,postgres]'
	@touch $(STAMP)

demo: $(STAMP)
	$(BIN)/partnerkpi demo

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy $(PACKAGES)

# The HTML report's browser test renders in Debian's headless Chromium.
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "installing Debian's chromium for the HTML report test"; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) || \
	  (sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null); }

# The state tests run on SQLite and on PostgreSQL: on the server PARTNERKPI_TEST_POSTGRES_URL names, else on
# a throwaway cluster of Debian's PostgreSQL that the tests start and remove (tests/postgres_server.py).
postgres:
	@[ -n "$$PARTNERKPI_TEST_POSTGRES_URL" ] || command -v initdb >/dev/null 2>&1 || \
	  ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || { \
	  echo "installing Debian's postgresql for the state tests"; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null) || \
	  (sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null); }

# The conformance suite's third-party clients (tests/conformance/requirements/*.txt), each in a venv of its
# own under ${PARTNERKPI_CONFORMANCE_CACHE:-~/.cache/partnerkpi/conformance}; built once, then reused.
conformance-clients: $(STAMP)
	$(BIN)/python -m tests.conformance.clients

pytest: $(STAMP) chromium postgres conformance-clients
	$(BIN)/python -m pytest -q

test: lint typecheck pytest

# Every benchmark, in sequence (about 25 minutes on 2 cores); JSON results in bench/results/, the summary
# table printed at the end (docs/performance.md carries it).
bench: $(STAMP)
	$(BIN)/python -m bench.kpi_compute
	$(BIN)/python -m bench.kpi_from_mirror
	$(BIN)/python -m bench.api_calls
	$(BIN)/python -m bench.rate_limit
	$(BIN)/python -m bench.throughput
	$(BIN)/python -m bench.summary

clean:
	rm -rf $(VENV) build *.egg-info .mypy_cache .pytest_cache .ruff_cache
