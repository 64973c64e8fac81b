# `make run` starts the service; `make test` runs the test suite.
# Both create .venv with $(PYTHON) (3.11 or newer) on first use.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 3000

.PHONY: run test migrate clean

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

clean:
	rm -rf $(VENV) build *.egg-info
