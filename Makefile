# llmrelay: every target creates .venv itself on first use.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
PORT ?= 3000
export PYTHONPATH := $(CURDIR)/layers/llmrelay:$(CURDIR)/functions/chat

SAM_VENV ?= .venv-sam
SAM := $(SAM_VENV)/bin/sam
SAM_STAMP := $(SAM_VENV)/.installed-stamp
# aws-sam-cli pins boto3, click and pydantic below the project's pins: it gets its own venv.
SAM_CLI_VERSION := 1.170.0
export SAM_CLI_TELEMETRY := 0

.PHONY: venv dev test lint validate build deploy bench clean

venv: $(STAMP)

$(STAMP): pyproject.toml layers/llmrelay/requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev,bench]'
	touch $@

## make dev: the gateway on http://127.0.0.1:$(PORT) (function URL + Runtime API emulator)
# The echo provider pauses between words so that the stream is visible; set 0 for full speed.
dev: venv
	LLMRELAY_ECHO_DELAY_MS=$${LLMRELAY_ECHO_DELAY_MS:-80} $(PY) -m llmrelay.local dev --port $(PORT)

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

$(SAM_STAMP):
	$(PYTHON) -m venv $(SAM_VENV)
	$(SAM_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(SAM_VENV)/bin/python -m pip install --quiet aws-sam-cli==$(SAM_CLI_VERSION)
	touch $@

## make validate: cfn-lint (informational checks too), then SAM's own validation; offline
validate: venv $(SAM_STAMP)
	$(VENV)/bin/cfn-lint --include-checks I -- template.yaml
	$(SAM) validate --lint

## make build: the layer (arm64 wheels via pip --platform, no Docker) and the function
build: venv $(SAM_STAMP)
	$(SAM) build

deploy: build
	$(SAM) deploy

## make bench: SDK direct vs llmrelay (emulator + runtime + function) vs FastAPI, side by side
bench: venv
	$(PY) -m bench $(BENCH_ARGS)

clean:
	rm -rf $(VENV) $(SAM_VENV) .aws-sam .coverage .coverage.* .mypy_cache .ruff_cache .pytest_cache
