# The two commands a user needs: `make run` and `make test`. Everything else is for developers.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test check install bench clean

# The core's hot path is compiled in place (setup.py): rebuild when its source changes, so what runs is what is read.
CORE_SOURCES := $(shell find otel_errors -name '*.py')

$(STAMP): pyproject.toml setup.py $(CORE_SOURCES)
	@$(PYTHON) -c 'import sys; sys.exit("otel-errors needs Python 3.11+") if sys.version_info < (3, 11) else None'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/otel-errors serve

test: $(STAMP)
	$(BIN)/python -m pytest -q

# Lint, format and types, outside the tests (CI runs it first).
check: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	PATH="$(abspath $(BIN)):$$PATH" tools/typecheck.sh

bench: $(STAMP)
	$(BIN)/python bench/ingest.py

clean:
	rm -rf $(VENV) build dist *.egg-info
	find . -path ./$(VENV) -prune -o -name '*.so' -print | xargs rm -f
