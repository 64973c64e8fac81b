# `make run` starts the service; `make test` runs the test suite;
# `make bench` measures it under load (docs/benchmarks.md).
# All three create .venv with $(PYTHON) (3.11 or newer) on first use.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 3000
# Phone counts that `make bench` seeds, and where it writes its results.
SIZES ?= 1000,100000,1000000
BENCH_JSON ?= bench/results.json
BENCH_ARGS ?=

.PHONY: run test bench wrk migrate clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: $(BIN)/python setup.cfg pyproject.toml
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

migrate: $(VENV)/.installed
	$(BIN)/flask --app app db upgrade
	$(BIN)/flask --app app clients bootstrap

run: migrate
	HOST=$(HOST) PORT=$(PORT) $(BIN)/gunicorn -c gunicorn.conf.py wsgi:app

# The suite runs twice: on SQLite files, then on temporary PostgreSQL
# databases on 127.0.0.1:5432 (skipped with a reason when none answers,
# failed instead when PHONES_REQUIRE_POSTGRES=1).
test: $(VENV)/.installed-test
	$(BIN)/pytest
	PHONES_TEST_DATABASE=postgresql $(BIN)/pytest

bench: $(VENV)/.installed wrk
	$(BIN)/python -m bench.run --sizes $(SIZES) --json $(BENCH_JSON) $(BENCH_ARGS)

# wrk is the load generator: Debian's package, installed here when running as
# root, otherwise named for the user to install.
wrk:
	@if ! command -v wrk >/dev/null 2>&1; then \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
			apt-get install -y wrk || { apt-get update && apt-get install -y wrk; }; \
		else \
			echo "wrk is not installed: install it, e.g. 'sudo apt-get install wrk'" >&2; \
			exit 1; \
		fi; \
	fi

clean:
	rm -rf $(VENV) build *.egg-info
