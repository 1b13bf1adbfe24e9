# llmrelay: every target creates .venv itself on first use.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
PORT ?= 3000
export PYTHONPATH := $(CURDIR)/layers/llmrelay:$(CURDIR)/functions/chat

.PHONY: venv dev test lint typecheck validate build bench clean

venv: $(STAMP)

$(STAMP): pyproject.toml layers/llmrelay/requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@

## make dev: the gateway on http://127.0.0.1:$(PORT) (function URL + Runtime API emulator)
dev: venv
	$(PY) -m llmrelay.local dev --port $(PORT)

## make test: the whole suite, with the package's coverage
test: venv
	rm -f .coverage .coverage.*
	$(PY) -m coverage run -m pytest $(PYTEST_ARGS)
	$(PY) -m coverage combine --quiet
	$(PY) -m coverage report

lint: venv
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy

validate: venv
	$(PY) -m cfnlint template.yaml

build: venv
	$(VENV)/bin/sam build

bench: venv
	$(PY) -m llmrelay.bench

clean:
	rm -rf $(VENV) .aws-sam .coverage .coverage.* .mypy_cache .ruff_cache .pytest_cache
