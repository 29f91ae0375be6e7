# cenflow: `make run` starts the service on embedded defaults, `make test` runs every check.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
DATA_DIR ?= ./var

.PHONY: run test lint typecheck unit system-deps bench constraints clean help

help:
	@echo "make run        install (first time) and start cenflow serve with data in $(DATA_DIR)"
	@echo "make test       install test dependencies, then ruff, mypy and pytest"
	@echo "make bench      run the benchmarks under bench/ (prints ratios against peers)"
	@echo "make constraints  re-pin constraints.txt after changing pyproject.toml"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(VENV)/.installed-run: pyproject.toml constraints.txt setup.py src/cenflow/flow/_speedups.c | $(BIN)/python
	$(BIN)/pip install -q -c constraints.txt -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml constraints.txt setup.py src/cenflow/flow/_speedups.c | $(BIN)/python
	$(BIN)/pip install -q -c constraints.txt -e '.[test]'
	touch $@ $(VENV)/.installed-run

$(VENV)/.installed-bench: pyproject.toml constraints.txt $(VENV)/.installed-test
	$(BIN)/pip install -q -c constraints.txt -e '.[test,bench]'
	touch $@

run: $(VENV)/.installed-run
	$(BIN)/cenflow serve --data-dir $(DATA_DIR) --log-format text

system-deps:
	./scripts/system-deps.sh

lint: $(VENV)/.installed-test
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

typecheck: $(VENV)/.installed-test
	$(BIN)/mypy

unit: $(VENV)/.installed-test
	$(BIN)/pytest -q

test: system-deps lint typecheck unit

bench: $(VENV)/.installed-bench system-deps
	$(BIN)/python bench/api.py
	$(BIN)/python bench/authz.py
	$(BIN)/python bench/collector.py

constraints: | $(BIN)/python
	$(BIN)/pip install -q -e '.[test,bench]'
	( echo "# Pinned versions of every Python package cenflow, its tests and benchmarks install."; \
	  echo "# Regenerate with \`make constraints\` after changing dependencies in pyproject.toml."; \
	  $(BIN)/pip freeze --exclude-editable ) > constraints.txt

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache build src/cenflow/flow/_speedups.*.so
