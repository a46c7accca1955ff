# Two commands: `make demo` runs the product, `make test` passes the suite. Both set up .venv.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export DAGSTER_HOME ?= $(CURDIR)/.dagster_home
# pytest-xdist workers for `make test`: more than the cores, since many tests wait on a
# subprocess (daemon, webserver, run worker) or a socket rather than compute.
# `--dist worksteal` lets idle workers take queued tests, so a slow test does not finish last.
# `make test PYTEST_WORKERS=0` runs the suite in one process.
PYTEST_WORKERS ?= 4

.PHONY: install demo test lint format sandbox bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip uv
	$(BIN)/uv pip install --quiet --python $(BIN)/python -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

demo: install
	$(BIN)/integration-assets demo

test: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/pytest -n $(PYTEST_WORKERS) --dist worksteal

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

sandbox: install
	$(BIN)/integration-assets sandbox

bench: install
	$(BIN)/python bench/sync_throughput.py

clean:
	rm -rf $(VENV) .data .dagster_home .pytest_cache .ruff_cache
