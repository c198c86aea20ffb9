# revsync: `make demo` runs the whole nightly sync on local emulators; `make test` runs the tests.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
export DAGSTER_HOME ?= $(CURDIR)/.dagster_home

.PHONY: demo test ui ui-test lint bench clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -c 'import sys; sys.exit("revsync needs Python 3.11+, found " + sys.version.split()[0]) if sys.version_info < (3, 11) else None'
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@

$(DAGSTER_HOME)/dagster.yaml:
	mkdir -p $(DAGSTER_HOME)
	cp dagster.yaml $@

## Build the demo world on SQLite, start both emulators, run nightly_sync, print a summary.
demo: $(VENV)/.installed $(DAGSTER_HOME)/dagster.yaml
	$(PY) -m orchestration.demo

## Lint, check the Definitions load, then the whole test suite (SQLite and PostgreSQL).
test: $(VENV)/.installed $(DAGSTER_HOME)/dagster.yaml
	bash .ci/postgres-up
	$(VENV)/bin/ruff check .
	$(VENV)/bin/dg check defs
	$(PY) -m pytest -n 2 --dist loadgroup

## The Dagster UI on http://127.0.0.1:3000: the demo's runs, with both emulators serving the demo's data.
ui: $(VENV)/.installed $(DAGSTER_HOME)/dagster.yaml
	$(PY) -m orchestration.ui

## `make ui`'s stack on free ports, driven by headless Chromium: screenshots in build/ui-screenshots/.
ui-test: $(VENV)/.installed
	$(PY) -m pytest -m ui tests/ui

bench: $(VENV)/.installed
	$(PY) bench/revenue.py
	$(PY) bench/intercom_push.py
	$(PY) bench/ui_launch.py

clean:
	rm -rf data $(DAGSTER_HOME)
