# revsync: `make demo` runs the whole nightly sync on local emulators; `make test` runs the tests.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
export DAGSTER_HOME ?= $(CURDIR)/.dagster_home

.PHONY: demo test ui ui-test lint bench bench-full clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -c 'import sys; sys.exit("revsync needs Python 3.11+, found " + sys.version.split()[0]) if sys.version_info < (3, 11) else None'
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@

$(DAGSTER_HOME)/dagster.yaml: dagster-instance.yaml
	mkdir -p $(DAGSTER_HOME)
	cp dagster-instance.yaml $@

## Build the demo world on SQLite, start both emulators, run nightly_sync, print a summary.
demo: $(VENV)/.installed $(DAGSTER_HOME)/dagster.yaml
	$(PY) -m orchestration.demo

## Lint, check the layers (lint-imports) and types (mypy), check the Definitions load, then the
## whole test suite (SQLite and PostgreSQL).
test: $(VENV)/.installed $(DAGSTER_HOME)/dagster.yaml
	bash .ci/postgres-up
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports
	$(VENV)/bin/mypy
	REVSYNC_ENV=demo VIRTUAL_ENV=$(CURDIR)/$(VENV) $(VENV)/bin/dg check defs
	$(PY) -m pytest -n 2 --dist loadgroup

## The Dagster UI on http://127.0.0.1:3000: the demo's runs, with both emulators serving the demo's data.
ui: $(VENV)/.installed $(DAGSTER_HOME)/dagster.yaml
	$(PY) -m orchestration.ui

## `make ui`'s stack on free ports, driven by headless Chromium: screenshots in build/ui-screenshots/.
ui-test: $(VENV)/.installed
	$(PY) -m pytest -m ui tests/ui

# The benches also need the `bench` extra (the official Intercom SDK is the push's baseline).
$(VENV)/.bench-installed: $(VENV)/.installed
	$(PY) -m pip install --quiet -e '.[dev,bench]'
	touch $@

## Every benchmark, at sizes that finish in about 10 minutes on a laptop (PostgreSQL for usage and
## nightly), on the emulators (REVSYNC_ENV=demo). The full sizes bench/README.md reports: `make bench-full`, or set the variables below.
REVENUE_ROWS ?= 200000
REVENUE_SAMPLE ?= 10000
PUSH_USERS ?= 2000
PUSH_SDK_USERS ?= 200
STRIPE_USERS ?= 2000
UI_USERS ?= 1000
UI_REPEAT ?= 1
USAGE_EVENTS ?= 1000000
USAGE_USERS ?= 100000
USAGE_REPEATS ?= 1
NIGHTLY_USERS ?= 10000
bench: export REVSYNC_ENV ?= demo
bench: $(VENV)/.bench-installed
	bash .ci/postgres-up
	$(PY) bench/revenue.py --rows $(REVENUE_ROWS) --sample $(REVENUE_SAMPLE)
	$(PY) bench/intercom_push.py --users $(PUSH_USERS) --sdk-users $(PUSH_SDK_USERS)
	$(PY) bench/stripe_ingest.py --users $(STRIPE_USERS)
	$(PY) bench/ui_launch.py --users $(UI_USERS) --repeat $(UI_REPEAT)
	$(PY) bench/usage.py --events $(USAGE_EVENTS) --users $(USAGE_USERS) --repeats $(USAGE_REPEATS)
	$(PY) bench/nightly.py --users $(NIGHTLY_USERS)

## The sizes bench/README.md reports (well over an hour on a 2-core machine).
bench-full:
	$(MAKE) bench REVENUE_ROWS=1000000 REVENUE_SAMPLE=50000 PUSH_USERS=10000 PUSH_SDK_USERS=1000 \
		STRIPE_USERS=20000 UI_REPEAT=3 USAGE_EVENTS=10000000 USAGE_USERS=1000000 USAGE_REPEATS=3 \
		NIGHTLY_USERS=100000

clean:
	rm -rf data $(DAGSTER_HOME)
